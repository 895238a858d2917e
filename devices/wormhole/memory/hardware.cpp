#include "memory/hardware.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <variant>
#include <vector>

namespace zoo::wormhole {

int64_t WormholeHardware::row_major_element_bytes(DataFormat f) const {
    const DataFormat held = is_block_float(f) ? DataFormat::BFloat16 : f;
    return tile_bytes(held) / tile.elements();
}

namespace {

// One row of the key table (hardware.hpp), bound to its section's struct.
template <class Section>
struct KeyRow {
    std::variant<int64_t Section::*, int Section::*, double Section::*> member;
    const char* sub;  // "" = the section itself
    const char* key;
    double lowest, highest;
    const char* doc;
};

#define ZOO_WH_ROW__(type, member, sub, key, lowest, highest, doc) {&S::member, sub, key, lowest, highest, doc},
template <class S>
using Rows = std::vector<KeyRow<S>>;
using Hw = WormholeHardware;
// The rows of each section; `S` names the section's struct inside each expansion.
#define ZOO_WH_ROWS__(Struct, LIST) \
    [] {                            \
        using S = Struct;           \
        return Rows<S>{LIST(ZOO_WH_ROW__)}; \
    }()
const Rows<Hw::Chip>& chip_rows() { static const auto r = ZOO_WH_ROWS__(Hw::Chip, ZOO_WH_CHIP_KEYS); return r; }
const Rows<Hw::Grid>& grid_rows() { static const auto r = ZOO_WH_ROWS__(Hw::Grid, ZOO_WH_GRID_KEYS); return r; }
const Rows<Hw::L1>& l1_rows() { static const auto r = ZOO_WH_ROWS__(Hw::L1, ZOO_WH_L1_KEYS); return r; }
const Rows<Hw::Dram>& dram_rows() { static const auto r = ZOO_WH_ROWS__(Hw::Dram, ZOO_WH_DRAM_KEYS); return r; }
const Rows<Hw::Noc>& noc_rows() { static const auto r = ZOO_WH_ROWS__(Hw::Noc, ZOO_WH_NOC_KEYS); return r; }
const Rows<Hw::Tile>& tile_rows() { static const auto r = ZOO_WH_ROWS__(Hw::Tile, ZOO_WH_TILE_KEYS); return r; }
const Rows<Hw::Conv2d>& conv2d_rows() { static const auto r = ZOO_WH_ROWS__(Hw::Conv2d, ZOO_WH_CONV2D_KEYS); return r; }
const Rows<Hw::Compute>& compute_rows() { static const auto r = ZOO_WH_ROWS__(Hw::Compute, ZOO_WH_COMPUTE_KEYS); return r; }
const Rows<Hw::DataMovement>& data_movement_rows() {
    static const auto r = ZOO_WH_ROWS__(Hw::DataMovement, ZOO_WH_DATA_MOVEMENT_KEYS);
    return r;
}
const Rows<Hw::Perf>& perf_rows() { static const auto r = ZOO_WH_ROWS__(Hw::Perf, ZOO_WH_PERF_KEYS); return r; }
const Rows<Hw::Host>& host_rows() { static const auto r = ZOO_WH_ROWS__(Hw::Host, ZOO_WH_HOST_KEYS); return r; }
#undef ZOO_WH_ROWS__
#undef ZOO_WH_ROW__

// Keys read by hand (not rows): per data format, per fidelity, per activation. Listed so the accepted keys and the
// schema include them.
struct HandKey {
    const char* section;
    const char* sub;
    const char* key;
    const char* doc;
};
const std::vector<HandKey>& hand_keys() {
    static const std::vector<HandKey> keys{
        {"tile", "", "bytes", "{float32, bfloat16, bfloat8_b, bfloat4_b}: bytes of one tile (shards, CBs, row-major sizes)"},
        {"compute", "fpu", "tile_matmul_cycles", "{LoFi, HiFi2, HiFi3, HiFi4}: cycles of one 32x32x32 tile matmul"},
        {"perf", "", "sfpu_instructions_per_pass", "{each SDK activation, softmax}: SFPU instructions per pass"},
    };
    return keys;
}

// A number as errors and the schema state it: integral values in full (1099511627776, not 1.09951e+12).
std::string number_text(double v) {
    if (std::floor(v) == v && std::fabs(v) < 9.0e15) return std::to_string(static_cast<int64_t>(v));
    std::ostringstream out;
    out << v;
    return out.str();
}

// The accepted range of a number, as errors and the schema state it: ">= 1 and <= 64" (integers), "> 0" (reals).
std::string range_text(bool is_real, double lowest, double highest) {
    return (is_real ? "> " : ">= ") + number_text(lowest) +
           (highest < ZOO_WH_NO_LIMIT ? " and <= " + number_text(highest) : "");
}

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

    // Integers in [lowest, highest].
    Status integer(const SpecValue& sec, const std::string& path, const std::string& key, int64_t& out,
                   double lowest, double highest = ZOO_WH_NO_LIMIT) {
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
        if (static_cast<double>(out) < lowest || static_cast<double>(out) > highest)
            return Status::error(v->source() + ": " + path + "." + key + " must be " +
                                 range_text(false, lowest, highest) + ", found " + v->text());
        return Status::ok();
    }
    Status integer(const SpecValue& sec, const std::string& path, const std::string& key, int& out, double lowest,
                   double highest) {
        int64_t wide = 0;
        ZOO_TRY(integer(sec, path, key, wide, lowest, std::min(highest, double(std::numeric_limits<int>::max()))));
        out = static_cast<int>(wide);
        return Status::ok();
    }
    // Reals in (lowest, highest].
    Status real(const SpecValue& sec, const std::string& path, const std::string& key, double& out, double lowest,
                double highest) {
        const SpecValue* v = nullptr;
        ZOO_TRY(entry(sec, path, key, v));
        ZOO_ASSIGN_OR_RETURN(out, v->as_double());
        if (!(out > lowest) || out > highest)
            return Status::error(v->source() + ": " + path + "." + key + " must be " +
                                 range_text(true, lowest, highest) + ", found " + v->text());
        return Status::ok();
    }

    // A section read by its key table: the keys of its rows, subsections and hand-read keys are the accepted ones.
    template <class S>
    Result<const SpecValue*> table_section(const SpecValue& root, const std::string& name, const Rows<S>& rows, S& out) {
        ZOO_ASSIGN_OR_RETURN(const SpecValue* s, section(root, name, keys_of(name, "", rows)));
        std::vector<std::string> subs;
        for (const auto& row : rows)
            if (*row.sub && std::find(subs.begin(), subs.end(), row.sub) == subs.end()) subs.push_back(row.sub);
        for (const auto& sub : subs) {
            ZOO_ASSIGN_OR_RETURN(const SpecValue* part, section(*s, sub, keys_of(name, sub, rows)));
            ZOO_TRY(read_rows(*part, name + "." + sub, sub, rows, out));
        }
        ZOO_TRY(read_rows(*s, name, "", rows, out));
        return s;
    }

private:
    template <class S>
    static std::vector<std::string> keys_of(const std::string& section, const std::string& sub, const Rows<S>& rows) {
        std::vector<std::string> keys;
        for (const auto& row : rows) {
            if (row.sub == sub) keys.emplace_back(row.key);
            if (sub.empty() && *row.sub && std::find(keys.begin(), keys.end(), row.sub) == keys.end())
                keys.emplace_back(row.sub);
        }
        for (const auto& h : hand_keys())
            if (h.section == section && h.sub == sub) keys.emplace_back(h.key);
        return keys;
    }

    template <class S>
    Status read_rows(const SpecValue& sec, const std::string& path, const std::string& sub, const Rows<S>& rows, S& out) {
        for (const auto& row : rows) {
            if (row.sub != sub) continue;
            ZOO_TRY(std::visit(
                [&](auto member) -> Status {
                    auto& field = out.*member;
                    if constexpr (std::is_same_v<std::decay_t<decltype(field)>, double>)
                        return real(sec, path, row.key, field, row.lowest, row.highest);
                    else
                        return integer(sec, path, row.key, field, row.lowest, row.highest);
                },
                row.member));
        }
        return Status::ok();
    }

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

// Checks across keys of one section, after its rows are read.
Status check_chip_and_grid(const SpecValue& grid, const WormholeHardware& hw) {
    const int64_t used = static_cast<int64_t>(hw.grid.worker_x) * (hw.grid.worker_y + hw.grid.dispatch_rows);
    if (used > hw.chip.tensix_enabled * hw.chip.chips)
        return Status::error(grid.source() + ": the grid (" + std::to_string(hw.grid.worker_x) + " x (" +
                             std::to_string(hw.grid.worker_y) + " + " + std::to_string(hw.grid.dispatch_rows) +
                             " dispatch rows)) needs more Tensix cores than chip.tensix_enabled");
    return Status::ok();
}

Status check_l1(const SpecValue& s, const WormholeHardware::L1& l1) {
    if (l1.buffer_region_bytes() <= 0)
        return Status::error(s.source() + ": l1.reserved_base_bytes (" + std::to_string(l1.reserved_base) +
                             ") + l1.l1_small_bytes (" + std::to_string(l1.l1_small_bytes) +
                             ") leave no L1 for buffers out of l1.bytes_per_core (" + std::to_string(l1.bytes_per_core) + ")");
    if (l1.reserved_base % l1.alignment != 0 || l1.l1_small_bytes % l1.alignment != 0 || l1.bytes_per_core % l1.alignment != 0)
        return Status::error(s.source() + ": l1 sizes must be multiples of l1.alignment_bytes (" +
                             std::to_string(l1.alignment) + ")");
    return Status::ok();
}

Status check_dram(const SpecValue& s, const WormholeHardware::Dram& d) {
    for (const auto& [key, rate] : {std::pair<const char*, double>{"achievable_bytes_per_s", d.achievable_bytes_per_s},
                                    {"op_model_bytes_per_s", d.op_model_bytes_per_s}})
        if (rate > d.peak_bytes_per_s)
            return Status::error(s.find(key)->source() + ": dram." + key + " must be <= dram.peak_bytes_per_s (" +
                                 number_text(d.peak_bytes_per_s) + "), found " + number_text(rate));
    return Status::ok();
}

// tile.bytes, after the tile's rows: one size per data format, row-major sizes integral.
Status read_tile_bytes(Reader& r, const SpecValue& s, WormholeHardware::Tile& t) {
    if (t.height % t.face_height != 0 || t.width % t.face_width != 0)
        return Status::error(s.source() + ": tile faces must divide the tile");
    ZOO_ASSIGN_OR_RETURN(const SpecValue* b, r.section(s, "bytes", {"float32", "bfloat16", "bfloat8_b", "bfloat4_b"}));
    for (DataFormat f : {DataFormat::Float32, DataFormat::BFloat16, DataFormat::BFloat8_b, DataFormat::BFloat4_b})
        ZOO_TRY(r.integer(*b, "tile.bytes", data_format_name(f), t.bytes[static_cast<size_t>(f)], 1, ZOO_WH_MAX_BYTES));
    // Row-major element sizes are derived from whole tiles; they must come out integral.
    for (DataFormat f : {DataFormat::Float32, DataFormat::BFloat16})
        if (t.bytes[static_cast<size_t>(f)] % t.elements() != 0)
            return Status::error(b->source() + ": tile.bytes." + data_format_name(f) +
                                 " must be a whole number of bytes per element of a " + std::to_string(t.height) + "x" +
                                 std::to_string(t.width) + " tile");
    return Status::ok();
}

Status read_tile_matmul_cycles(Reader& r, const SpecValue& compute, WormholeHardware::Compute& c) {
    ZOO_ASSIGN_OR_RETURN(const SpecValue* fpu, compute.get("fpu"));
    ZOO_ASSIGN_OR_RETURN(const SpecValue* tm, r.section(*fpu, "tile_matmul_cycles", {"LoFi", "HiFi2", "HiFi3", "HiFi4"}));
    for (MathFidelity f : {MathFidelity::LoFi, MathFidelity::HiFi2, MathFidelity::HiFi3, MathFidelity::HiFi4})
        ZOO_TRY(r.integer(*tm, "compute.fpu.tile_matmul_cycles", math_fidelity_name(f),
                          c.tile_matmul_cycles[static_cast<size_t>(f)], 1));
    return Status::ok();
}

// One entry per SDK activation (by its name) plus softmax: an activation the table does not cost is an error naming
// it, so a new activation is never modelled as free.
Status read_sfpu_instructions(Reader& r, const SpecValue& perf, WormholeHardware::Perf& p) {
    std::vector<std::string> sfpu_keys{"softmax"};
    for (ActivationId a : kAllActivations) sfpu_keys.push_back(activation_name(a));
    ZOO_ASSIGN_OR_RETURN(const SpecValue* sf, r.section(perf, "sfpu_instructions_per_pass", sfpu_keys));
    const std::string sp = "perf.sfpu_instructions_per_pass";
    for (ActivationId a : kAllActivations) {
        if (!sf->find(activation_name(a)))
            return Status::error(sf->source() + ": " + sp + " has no entry for activation '" + activation_name(a) +
                                 "' (every activation the SDK defines needs its SFPU instruction count)");
        ZOO_TRY(r.integer(*sf, sp, activation_name(a), p.sfpu_activation[static_cast<size_t>(a)], 1));
    }
    return r.integer(*sf, sp, "softmax", p.sfpu_softmax, 1);
}

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
    ZOO_TRY(r.table_section(root, "chip", chip_rows(), hw.chip).status());
    ZOO_ASSIGN_OR_RETURN(const SpecValue* grid, r.table_section(root, "grid", grid_rows(), hw.grid));
    ZOO_TRY(check_chip_and_grid(*grid, hw));
    ZOO_ASSIGN_OR_RETURN(const SpecValue* l1, r.table_section(root, "l1", l1_rows(), hw.l1));
    ZOO_TRY(check_l1(*l1, hw.l1));
    ZOO_ASSIGN_OR_RETURN(const SpecValue* dram, r.table_section(root, "dram", dram_rows(), hw.dram));
    ZOO_TRY(check_dram(*dram, hw.dram));
    ZOO_TRY(r.table_section(root, "noc", noc_rows(), hw.noc).status());
    ZOO_ASSIGN_OR_RETURN(const SpecValue* tile, r.table_section(root, "tile", tile_rows(), hw.tile));
    ZOO_TRY(read_tile_bytes(r, *tile, hw.tile));
    ZOO_TRY(r.table_section(root, "conv2d", conv2d_rows(), hw.conv2d).status());
    ZOO_ASSIGN_OR_RETURN(const SpecValue* compute, r.table_section(root, "compute", compute_rows(), hw.compute));
    ZOO_TRY(read_tile_matmul_cycles(r, *compute, hw.compute));
    ZOO_TRY(r.table_section(root, "data_movement", data_movement_rows(), hw.data_movement).status());
    ZOO_ASSIGN_OR_RETURN(const SpecValue* perf, r.table_section(root, "perf", perf_rows(), hw.perf));
    ZOO_TRY(read_sfpu_instructions(r, *perf, hw.perf));
    ZOO_TRY(r.table_section(root, "host", host_rows(), hw.host).status());
    return Status::ok();
}

// Markdown rows of one section's table, then its hand-read keys.
template <class S>
void schema_rows(std::ostringstream& out, const std::string& section, const Rows<S>& rows) {
    for (const auto& row : rows) {
        const bool is_real = std::holds_alternative<double S::*>(row.member);
        out << "| `" << section << "." << (*row.sub ? std::string(row.sub) + "." : "") << row.key << "` | "
            << (is_real ? "real " : "integer ") << range_text(is_real, row.lowest, row.highest) << " | " << row.doc
            << " |\n";
    }
    for (const auto& h : hand_keys())
        if (h.section == section)
            out << "| `" << section << "." << (*h.sub ? std::string(h.sub) + "." : "") << h.key << "` | map | " << h.doc
                << " |\n";
}

}  // namespace

std::string hardware_schema_markdown() {
    std::ostringstream out;
    out << "| key | value | used for |\n|---|---|---|\n";
    schema_rows(out, "chip", chip_rows());
    schema_rows(out, "grid", grid_rows());
    schema_rows(out, "l1", l1_rows());
    schema_rows(out, "dram", dram_rows());
    schema_rows(out, "noc", noc_rows());
    schema_rows(out, "tile", tile_rows());
    schema_rows(out, "conv2d", conv2d_rows());
    schema_rows(out, "compute", compute_rows());
    schema_rows(out, "data_movement", data_movement_rows());
    schema_rows(out, "perf", perf_rows());
    schema_rows(out, "host", host_rows());
    return out.str();
}

Result<WormholeHardware> parse_hardware(const SpecValue& root) {
    WormholeHardware hw;
    ZOO_TRY(parse_into(root, hw));
    return hw;
}

}  // namespace zoo::wormhole
