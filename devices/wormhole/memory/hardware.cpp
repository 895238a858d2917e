#include "memory/hardware.hpp"

#include <cmath>
#include <limits>

namespace zoo::wormhole {

int64_t WormholeHardware::row_major_element_bytes(DataFormat f) const {
    const DataFormat held = is_block_float(f) ? DataFormat::BFloat16 : f;
    return tile_bytes(held) / tile.elements();
}

namespace {

// Walks the YAML tree; every number is a map {value, source[, unit][, note]} and its source is recorded.
class Reader {
public:
    explicit Reader(WormholeHardware& hw) : m_hw(hw) {}

    Result<const SpecValue*> section(const SpecValue& parent, const std::string& key,
                                     const std::vector<std::string>& keys) {
        ZOO_ASSIGN_OR_RETURN(const SpecValue* s, parent.get(key));
        if (s->kind() != SpecValue::Kind::Map)
            return Status::error(s->source() + ": '" + key + "' must be a map, found " + s->describe());
        ZOO_TRY(s->check_keys(keys));
        return s;
    }

    // Integers: `min` is the smallest accepted value.
    Status integer(const SpecValue& sec, const std::string& path, const std::string& key, int64_t& out, int64_t min) {
        const SpecValue* v = nullptr;
        ZOO_TRY(entry(sec, path, key, v));
        auto r = v->as_int();
        if (!r) {
            // Accept integral numbers written in exponent form ("1.0e9").
            auto d = v->as_double();
            if (!d || std::floor(*d) != *d || std::fabs(*d) > 9.0e18) return r.status();
            out = static_cast<int64_t>(*d);
        } else {
            out = *r;
        }
        if (out < min)
            return Status::error(v->source() + ": " + path + "." + key + " must be >= " + std::to_string(min) +
                                 ", found " + v->text());
        return Status::ok();
    }
    Status integer(const SpecValue& sec, const std::string& path, const std::string& key, int& out, int64_t min) {
        int64_t wide = 0;
        ZOO_TRY(integer(sec, path, key, wide, min));
        if (wide > std::numeric_limits<int>::max())
            return Status::error(sec.source() + ": " + path + "." + key + " is too large");
        out = static_cast<int>(wide);
        return Status::ok();
    }
    // Real numbers that must be > 0 (and <= max when given).
    Status positive(const SpecValue& sec, const std::string& path, const std::string& key, double& out,
                    double max = std::numeric_limits<double>::infinity()) {
        const SpecValue* v = nullptr;
        ZOO_TRY(entry(sec, path, key, v));
        ZOO_ASSIGN_OR_RETURN(out, v->as_double());
        if (!(out > 0) || out > max)
            return Status::error(v->source() + ": " + path + "." + key + " must be > 0" +
                                 (std::isinf(max) ? std::string() : " and <= " + std::to_string(max)) + ", found " +
                                 v->text());
        return Status::ok();
    }

private:
    Status entry(const SpecValue& sec, const std::string& path, const std::string& key, const SpecValue*& value) {
        ZOO_ASSIGN_OR_RETURN(const SpecValue* e, sec.get(key));
        if (e->kind() != SpecValue::Kind::Map)
            return Status::error(e->source() + ": " + path + "." + key +
                                 " must be {value: ..., source: \"...\"}, found " + e->describe());
        ZOO_TRY(e->check_keys({"value", "source", "unit", "note"}));
        ZOO_ASSIGN_OR_RETURN(const SpecValue* src, e->get("source"));
        ZOO_ASSIGN_OR_RETURN(std::string src_text, src->as_string());
        if (src_text.empty()) return Status::error(src->source() + ": " + path + "." + key + " has an empty source");
        ZOO_ASSIGN_OR_RETURN(value, e->get("value"));
        m_hw.sources[path + "." + key] = src_text;
        return Status::ok();
    }

    WormholeHardware& m_hw;
};

Status parse_into(const SpecValue& root, WormholeHardware& hw) {
    if (root.kind() != SpecValue::Kind::Map)
        return Status::error(root.source() + ": a device description must be a map, found " + root.describe());
    ZOO_TRY(root.check_keys({"name", "description", "chip", "grid", "l1", "dram", "noc", "tile", "conv2d", "compute",
                             "data_movement", "perf", "host"}));
    Reader r(hw);
    ZOO_ASSIGN_OR_RETURN(const SpecValue* name, root.get("name"));
    ZOO_ASSIGN_OR_RETURN(hw.name, name->as_string());
    if (const SpecValue* d = root.find("description")) {
        ZOO_ASSIGN_OR_RETURN(hw.description, d->as_string());
    }

    {
        ZOO_ASSIGN_OR_RETURN(const SpecValue* s, r.section(root, "chip", {"chips", "tensix_on_die", "tensix_enabled", "ai_clock_hz"}));
        ZOO_TRY(r.integer(*s, "chip", "chips", hw.chip.chips, 1));
        ZOO_TRY(r.integer(*s, "chip", "tensix_on_die", hw.chip.tensix_on_die, 1));
        ZOO_TRY(r.integer(*s, "chip", "tensix_enabled", hw.chip.tensix_enabled, 1));
        ZOO_TRY(r.positive(*s, "chip", "ai_clock_hz", hw.chip.ai_clock_hz));
        if (hw.chip.tensix_enabled > hw.chip.tensix_on_die)
            return Status::error(s->source() + ": chip.tensix_enabled (" + std::to_string(hw.chip.tensix_enabled) +
                                 ") exceeds chip.tensix_on_die (" + std::to_string(hw.chip.tensix_on_die) + ")");
    }
    {
        ZOO_ASSIGN_OR_RETURN(const SpecValue* s, r.section(root, "grid", {"worker_x", "worker_y", "dispatch_rows"}));
        ZOO_TRY(r.integer(*s, "grid", "worker_x", hw.grid.worker_x, 1));
        ZOO_TRY(r.integer(*s, "grid", "worker_y", hw.grid.worker_y, 1));
        ZOO_TRY(r.integer(*s, "grid", "dispatch_rows", hw.grid.dispatch_rows, 0));
        const int64_t used = static_cast<int64_t>(hw.grid.worker_x) * (hw.grid.worker_y + hw.grid.dispatch_rows);
        if (used > hw.chip.tensix_enabled * hw.chip.chips)
            return Status::error(s->source() + ": the grid (" + std::to_string(hw.grid.worker_x) + " x (" +
                                 std::to_string(hw.grid.worker_y) + " + " + std::to_string(hw.grid.dispatch_rows) +
                                 " dispatch rows)) needs more Tensix cores than chip.tensix_enabled");
    }
    {
        ZOO_ASSIGN_OR_RETURN(const SpecValue* s,
                             r.section(root, "l1", {"bytes_per_core", "sram_banks_per_core", "sram_bank_bits_per_cycle",
                                                    "reserved_base_bytes", "l1_small_bytes", "alignment_bytes"}));
        ZOO_TRY(r.integer(*s, "l1", "bytes_per_core", hw.l1.bytes_per_core, 1));
        ZOO_TRY(r.integer(*s, "l1", "sram_banks_per_core", hw.l1.sram_banks_per_core, 1));
        ZOO_TRY(r.integer(*s, "l1", "sram_bank_bits_per_cycle", hw.l1.sram_bank_bits_per_cycle, 1));
        ZOO_TRY(r.integer(*s, "l1", "reserved_base_bytes", hw.l1.reserved_base, 0));
        ZOO_TRY(r.integer(*s, "l1", "l1_small_bytes", hw.l1.l1_small_bytes, 0));
        ZOO_TRY(r.integer(*s, "l1", "alignment_bytes", hw.l1.alignment, 1));
        if (hw.l1.buffer_region_bytes() <= 0)
            return Status::error(s->source() + ": l1.reserved_base_bytes (" + std::to_string(hw.l1.reserved_base) +
                                 ") + l1.l1_small_bytes (" + std::to_string(hw.l1.l1_small_bytes) +
                                 ") leave no L1 for buffers out of l1.bytes_per_core (" +
                                 std::to_string(hw.l1.bytes_per_core) + ")");
        if (hw.l1.reserved_base % hw.l1.alignment != 0 || hw.l1.l1_small_bytes % hw.l1.alignment != 0 ||
            hw.l1.bytes_per_core % hw.l1.alignment != 0)
            return Status::error(s->source() + ": l1 sizes must be multiples of l1.alignment_bytes (" +
                                 std::to_string(hw.l1.alignment) + ")");
    }
    {
        ZOO_ASSIGN_OR_RETURN(const SpecValue* s,
                             r.section(root, "dram", {"channels", "bytes_per_channel", "banks", "channel_bus_bits",
                                                      "channel_transfers_per_s", "channel_bytes_per_s", "peak_bytes_per_s",
                                                      "achievable_bytes_per_s", "achievable_one_noc_bytes_per_s",
                                                      "op_model_bytes_per_s"}));
        auto& d = hw.dram;
        ZOO_TRY(r.integer(*s, "dram", "channels", d.channels, 1));
        ZOO_TRY(r.integer(*s, "dram", "bytes_per_channel", d.bytes_per_channel, 1));
        ZOO_TRY(r.integer(*s, "dram", "banks", d.banks, 1));
        ZOO_TRY(r.integer(*s, "dram", "channel_bus_bits", d.channel_bus_bits, 1));
        ZOO_TRY(r.positive(*s, "dram", "channel_transfers_per_s", d.channel_transfers_per_s));
        ZOO_TRY(r.positive(*s, "dram", "channel_bytes_per_s", d.channel_bytes_per_s));
        ZOO_TRY(r.positive(*s, "dram", "peak_bytes_per_s", d.peak_bytes_per_s));
        ZOO_TRY(r.positive(*s, "dram", "achievable_bytes_per_s", d.achievable_bytes_per_s, d.peak_bytes_per_s));
        ZOO_TRY(r.positive(*s, "dram", "achievable_one_noc_bytes_per_s", d.achievable_one_noc_bytes_per_s, d.peak_bytes_per_s));
        ZOO_TRY(r.positive(*s, "dram", "op_model_bytes_per_s", d.op_model_bytes_per_s, d.peak_bytes_per_s));
    }
    {
        ZOO_ASSIGN_OR_RETURN(const SpecValue* s,
                             r.section(root, "noc", {"count", "flit_bits", "flits_per_cycle_per_link", "bytes_per_s_per_hop",
                                                     "router_hop_cycles", "max_packet_bytes"}));
        ZOO_TRY(r.integer(*s, "noc", "count", hw.noc.count, 1));
        ZOO_TRY(r.integer(*s, "noc", "flit_bits", hw.noc.flit_bits, 1));
        ZOO_TRY(r.integer(*s, "noc", "flits_per_cycle_per_link", hw.noc.flits_per_cycle_per_link, 1));
        ZOO_TRY(r.positive(*s, "noc", "bytes_per_s_per_hop", hw.noc.bytes_per_s_per_hop));
        ZOO_TRY(r.integer(*s, "noc", "router_hop_cycles", hw.noc.router_hop_cycles, 0));
        ZOO_TRY(r.integer(*s, "noc", "max_packet_bytes", hw.noc.max_packet_bytes, 1));
    }
    {
        ZOO_ASSIGN_OR_RETURN(const SpecValue* s, r.section(root, "tile", {"height", "width", "face_height", "face_width",
                                                                          "bfp_datums_per_exponent", "bytes"}));
        auto& t = hw.tile;
        ZOO_TRY(r.integer(*s, "tile", "height", t.height, 1));
        ZOO_TRY(r.integer(*s, "tile", "width", t.width, 1));
        ZOO_TRY(r.integer(*s, "tile", "face_height", t.face_height, 1));
        ZOO_TRY(r.integer(*s, "tile", "face_width", t.face_width, 1));
        ZOO_TRY(r.integer(*s, "tile", "bfp_datums_per_exponent", t.bfp_datums_per_exponent, 1));
        if (t.height % t.face_height != 0 || t.width % t.face_width != 0)
            return Status::error(s->source() + ": tile faces must divide the tile");
        ZOO_ASSIGN_OR_RETURN(const SpecValue* b, r.section(*s, "bytes", {"float32", "bfloat16", "bfloat8_b", "bfloat4_b"}));
        for (DataFormat f : {DataFormat::Float32, DataFormat::BFloat16, DataFormat::BFloat8_b, DataFormat::BFloat4_b})
            ZOO_TRY(r.integer(*b, "tile.bytes", data_format_name(f), t.bytes[static_cast<size_t>(f)], 1));
        // Row-major element sizes are derived from whole tiles; they must come out integral.
        for (DataFormat f : {DataFormat::Float32, DataFormat::BFloat16})
            if (t.bytes[static_cast<size_t>(f)] % t.elements() != 0)
                return Status::error(b->source() + ": tile.bytes." + data_format_name(f) +
                                     " must be a whole number of bytes per element of a " + std::to_string(t.height) +
                                     "x" + std::to_string(t.width) + " tile");
    }
    {
        ZOO_ASSIGN_OR_RETURN(const SpecValue* s, r.section(root, "conv2d", {"channel_align_row_major_interleaved",
                                                                            "channel_align_row_major_sharded"}));
        ZOO_TRY(r.integer(*s, "conv2d", "channel_align_row_major_interleaved",
                          hw.conv2d.channel_align_row_major_interleaved, 1));
        ZOO_TRY(r.integer(*s, "conv2d", "channel_align_row_major_sharded", hw.conv2d.channel_align_row_major_sharded, 1));
    }
    {
        ZOO_ASSIGN_OR_RETURN(const SpecValue* s, r.section(root, "compute", {"fpu", "sfpu", "gapool", "dst", "unpack", "pack",
                                                                             "peak_card_flops_per_s", "achieved_gemm_flops_per_s",
                                                                             "achieved_gemm_efficiency"}));
        auto& c = hw.compute;
        ZOO_ASSIGN_OR_RETURN(const SpecValue* fpu, r.section(*s, "fpu", {"macs_per_cycle", "flops_per_cycle", "min_rows_per_cycle",
                                                                        "tile_matmul_cycles",
                                                                        "eltwise_cycles_per_tile_per_phase"}));
        ZOO_TRY(r.integer(*fpu, "compute.fpu", "macs_per_cycle", c.fpu_macs_per_cycle, 1));
        ZOO_TRY(r.integer(*fpu, "compute.fpu", "flops_per_cycle", c.fpu_flops_per_cycle, 1));
        ZOO_TRY(r.integer(*fpu, "compute.fpu", "min_rows_per_cycle", c.fpu_min_rows_per_cycle, 1));
        ZOO_TRY(r.integer(*fpu, "compute.fpu", "eltwise_cycles_per_tile_per_phase", c.eltwise_cycles_per_tile_per_phase, 1));
        ZOO_ASSIGN_OR_RETURN(const SpecValue* tm, r.section(*fpu, "tile_matmul_cycles", {"LoFi", "HiFi2", "HiFi3", "HiFi4"}));
        for (MathFidelity f : {MathFidelity::LoFi, MathFidelity::HiFi2, MathFidelity::HiFi3, MathFidelity::HiFi4})
            ZOO_TRY(r.integer(*tm, "compute.fpu.tile_matmul_cycles", math_fidelity_name(f),
                              c.tile_matmul_cycles[static_cast<size_t>(f)], 1));
        ZOO_ASSIGN_OR_RETURN(const SpecValue* sf, r.section(*s, "sfpu", {"lanes", "instructions_per_cycle", "passes_per_tile"}));
        ZOO_TRY(r.integer(*sf, "compute.sfpu", "lanes", c.sfpu_lanes, 1));
        ZOO_TRY(r.integer(*sf, "compute.sfpu", "instructions_per_cycle", c.sfpu_instructions_per_cycle, 1));
        ZOO_TRY(r.integer(*sf, "compute.sfpu", "passes_per_tile", c.sfpu_passes_per_tile, 1));
        ZOO_ASSIGN_OR_RETURN(const SpecValue* gp, r.section(*s, "gapool", {"flops_per_s_isa", "flops_per_s_tech_report"}));
        ZOO_TRY(r.positive(*gp, "compute.gapool", "flops_per_s_isa", c.gapool_flops_per_s_isa));
        ZOO_TRY(r.positive(*gp, "compute.gapool", "flops_per_s_tech_report", c.gapool_flops_per_s_tech_report));
        ZOO_ASSIGN_OR_RETURN(const SpecValue* dst, r.section(*s, "dst", {"bf16_tiles", "fp32_tiles"}));
        ZOO_TRY(r.integer(*dst, "compute.dst", "bf16_tiles", c.dst_bf16_tiles, 1));
        ZOO_TRY(r.integer(*dst, "compute.dst", "fp32_tiles", c.dst_fp32_tiles, 1));
        ZOO_ASSIGN_OR_RETURN(const SpecValue* up, r.section(*s, "unpack", {"units", "bits_per_cycle_each"}));
        ZOO_TRY(r.integer(*up, "compute.unpack", "units", c.unpack_units, 1));
        ZOO_TRY(r.integer(*up, "compute.unpack", "bits_per_cycle_each", c.unpack_bits_per_cycle_each, 1));
        ZOO_ASSIGN_OR_RETURN(const SpecValue* pk, r.section(*s, "pack", {"units", "bits_per_cycle_each"}));
        ZOO_TRY(r.integer(*pk, "compute.pack", "units", c.pack_units, 1));
        ZOO_TRY(r.integer(*pk, "compute.pack", "bits_per_cycle_each", c.pack_bits_per_cycle_each, 1));
        ZOO_ASSIGN_OR_RETURN(const SpecValue* pf, r.section(*s, "peak_card_flops_per_s", {"fp8", "blockfp8", "fp16"}));
        ZOO_TRY(r.positive(*pf, "compute.peak_card_flops_per_s", "fp8", c.peak_fp8_flops_per_s));
        ZOO_TRY(r.positive(*pf, "compute.peak_card_flops_per_s", "blockfp8", c.peak_blockfp8_flops_per_s));
        ZOO_TRY(r.positive(*pf, "compute.peak_card_flops_per_s", "fp16", c.peak_fp16_flops_per_s));
        ZOO_TRY(r.positive(*s, "compute", "achieved_gemm_flops_per_s", c.achieved_gemm_flops_per_s));
        ZOO_TRY(r.positive(*s, "compute", "achieved_gemm_efficiency", c.achieved_gemm_efficiency, 1.0));
    }
    {
        ZOO_ASSIGN_OR_RETURN(const SpecValue* s,
                             r.section(root, "data_movement",
                                       {"dram_bytes_per_s_per_core", "l1_read_bytes_per_s_per_core",
                                        "l1_write_bytes_per_s_per_core", "dram_latency_cycles", "l1_read_latency_cycles",
                                        "l1_write_latency_cycles", "local_latency_cycles"}));
        auto& m = hw.data_movement;
        ZOO_TRY(r.positive(*s, "data_movement", "dram_bytes_per_s_per_core", m.dram_bytes_per_s_per_core));
        ZOO_TRY(r.positive(*s, "data_movement", "l1_read_bytes_per_s_per_core", m.l1_read_bytes_per_s_per_core));
        ZOO_TRY(r.positive(*s, "data_movement", "l1_write_bytes_per_s_per_core", m.l1_write_bytes_per_s_per_core));
        ZOO_TRY(r.integer(*s, "data_movement", "dram_latency_cycles", m.dram_latency_cycles, 0));
        ZOO_TRY(r.integer(*s, "data_movement", "l1_read_latency_cycles", m.l1_read_latency_cycles, 0));
        ZOO_TRY(r.integer(*s, "data_movement", "l1_write_latency_cycles", m.l1_write_latency_cycles, 0));
        ZOO_TRY(r.integer(*s, "data_movement", "local_latency_cycles", m.local_latency_cycles, 0));
    }
    {
        ZOO_ASSIGN_OR_RETURN(const SpecValue* s,
                             r.section(root, "perf", {"sfpu_instructions_per_pass", "op_launch_cycles", "conv_setup_cycles",
                                                      "noc_request_issue_cycles", "fw_overhead_cycles",
                                                      "halo_setup_cycles", "single_buffer_stall_fraction",
                                                      "split_reader_efficiency"}));
        auto& p = hw.perf;
        // One entry per SDK activation (by its name) plus softmax: an activation the table does not cost is an error
        // naming it, so a new activation is never modelled as free.
        std::vector<std::string> sfpu_keys{"softmax"};
        for (ActivationId a : kAllActivations) sfpu_keys.push_back(activation_name(a));
        ZOO_ASSIGN_OR_RETURN(const SpecValue* sf, r.section(*s, "sfpu_instructions_per_pass", sfpu_keys));
        const std::string sp = "perf.sfpu_instructions_per_pass";
        for (ActivationId a : kAllActivations) {
            if (!sf->find(activation_name(a)))
                return Status::error(sf->source() + ": " + sp + " has no entry for activation '" + activation_name(a) +
                                     "' (every activation the SDK defines needs its SFPU instruction count)");
            ZOO_TRY(r.integer(*sf, sp, activation_name(a), p.sfpu_activation[static_cast<size_t>(a)], 1));
        }
        ZOO_TRY(r.integer(*sf, sp, "softmax", p.sfpu_softmax, 1));
        ZOO_TRY(r.integer(*s, "perf", "op_launch_cycles", p.op_launch_cycles, 0));
        ZOO_TRY(r.integer(*s, "perf", "conv_setup_cycles", p.conv_setup_cycles, 0));
        ZOO_TRY(r.integer(*s, "perf", "noc_request_issue_cycles", p.noc_request_issue_cycles, 0));
        ZOO_TRY(r.integer(*s, "perf", "fw_overhead_cycles", p.fw_overhead_cycles, 0));
        ZOO_TRY(r.integer(*s, "perf", "halo_setup_cycles", p.halo_setup_cycles, 0));
        ZOO_TRY(r.positive(*s, "perf", "single_buffer_stall_fraction", p.single_buffer_stall_fraction, 1.0));
        ZOO_TRY(r.positive(*s, "perf", "split_reader_efficiency", p.split_reader_efficiency, 1.0));
    }
    {
        ZOO_ASSIGN_OR_RETURN(const SpecValue* s,
                             r.section(root, "host", {"pcie_h2d_bytes_per_s", "pcie_d2h_bytes_per_s", "pcie_latency_ns",
                                                      "host_dispatch_ns_per_op", "trace_op_to_op_ns", "trace_launch_ns",
                                                      "program_compile_ns"}));
        auto& h = hw.host;
        ZOO_TRY(r.positive(*s, "host", "pcie_h2d_bytes_per_s", h.pcie_h2d_bytes_per_s));
        ZOO_TRY(r.positive(*s, "host", "pcie_d2h_bytes_per_s", h.pcie_d2h_bytes_per_s));
        ZOO_TRY(r.positive(*s, "host", "pcie_latency_ns", h.pcie_latency_ns));
        ZOO_TRY(r.positive(*s, "host", "host_dispatch_ns_per_op", h.host_dispatch_ns_per_op));
        ZOO_TRY(r.positive(*s, "host", "trace_op_to_op_ns", h.trace_op_to_op_ns));
        ZOO_TRY(r.positive(*s, "host", "trace_launch_ns", h.trace_launch_ns));
        ZOO_TRY(r.positive(*s, "host", "program_compile_ns", h.program_compile_ns));
    }
    return Status::ok();
}

}  // namespace

Result<WormholeHardware> parse_hardware(const SpecValue& root) {
    WormholeHardware hw;
    ZOO_TRY(parse_into(root, hw));
    return hw;
}

}  // namespace zoo::wormhole
