// The Wormhole card the emulator models, typed. Every number comes from a yaml/devices/*.yaml file (schema in
// yaml/devices/README.md) where it sits next to its source; nothing here is a hardware literal.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <iterator>
#include <string>

#include "zoo/activation.hpp"
#include "config/layer_config.hpp"
#include "zoo/spec_value.hpp"
#include "zoo/status.hpp"

namespace zoo::wormhole {

struct WormholeHardware {
    std::string name;         // "wormhole_n150"
    std::string description;

    struct Chip {
        int64_t chips = 0;
        int64_t tensix_on_die = 0;
        int64_t tensix_enabled = 0;
        double ai_clock_hz = 0;
    } chip;

    struct Grid {
        int worker_x = 0;  // TT-NN compute grid (columns)
        int worker_y = 0;  // rows
        int dispatch_rows = 0;
        int cores() const { return worker_x * worker_y; }
    } grid;

    // Per-core L1 layout the emulator uses:
    //   [0, reserved_base)                       firmware (never allocatable)
    //   [reserved_base, bytes - l1_small)        circular buffers grow up from reserved_base, L1 buffers down from the top
    //   [bytes - l1_small, bytes)                L1_SMALL (conv / halo config tensors)
    struct L1 {
        int64_t bytes_per_core = 0;
        int64_t sram_banks_per_core = 0;
        int64_t sram_bank_bits_per_cycle = 0;
        int64_t reserved_base = 0;
        int64_t l1_small_bytes = 0;
        int64_t alignment = 0;
        int64_t allocatable() const { return bytes_per_core - reserved_base; }         // CBs + buffers + L1_SMALL
        int64_t buffer_region_end() const { return bytes_per_core - l1_small_bytes; }  // top of the L1 buffer region
        int64_t buffer_region_bytes() const { return buffer_region_end() - reserved_base; }
    } l1;

    struct Dram {
        int64_t channels = 0;
        int64_t bytes_per_channel = 0;
        int64_t banks = 0;
        int64_t channel_bus_bits = 0;
        double channel_transfers_per_s = 0;
        double channel_bytes_per_s = 0;
        double peak_bytes_per_s = 0;
        double achievable_bytes_per_s = 0;
        double achievable_one_noc_bytes_per_s = 0;
        double op_model_bytes_per_s = 0;
        int64_t total_bytes() const { return channels * bytes_per_channel; }
        int64_t bank_bytes() const { return total_bytes() / banks; }
    } dram;

    struct Noc {
        int64_t count = 0;
        int64_t flit_bits = 0;
        int64_t flits_per_cycle_per_link = 0;
        double bytes_per_s_per_hop = 0;
        int64_t router_hop_cycles = 0;
        int64_t max_packet_bytes = 0;
    } noc;

    struct Tile {
        int64_t height = 0;
        int64_t width = 0;
        int64_t face_height = 0;
        int64_t face_width = 0;
        int64_t bfp_datums_per_exponent = 0;
        std::array<int64_t, 4> bytes{};  // indexed by zoo::DataFormat
        int64_t elements() const { return height * width; }
    } tile;

    // TT-NN conv2d channel alignment for row-major inputs (tiled inputs align to tile.width).
    struct Conv2d {
        int64_t channel_align_row_major_interleaved = 0;
        int64_t channel_align_row_major_sharded = 0;
    } conv2d;

    struct Compute {
        int64_t fpu_macs_per_cycle = 0;
        int64_t fpu_flops_per_cycle = 0;
        int64_t fpu_min_rows_per_cycle = 0;
        std::array<int64_t, 4> tile_matmul_cycles{};  // indexed by MathFidelity
        int64_t eltwise_cycles_per_tile_per_phase = 0;
        int64_t sfpu_lanes = 0;
        int64_t sfpu_instructions_per_cycle = 0;
        int64_t sfpu_passes_per_tile = 0;
        double gapool_flops_per_s_isa = 0;
        double gapool_flops_per_s_tech_report = 0;
        int64_t dst_bf16_tiles = 0;
        int64_t dst_fp32_tiles = 0;
        int64_t unpack_units = 0;
        int64_t unpack_bits_per_cycle_each = 0;
        int64_t pack_units = 0;
        int64_t pack_bits_per_cycle_each = 0;
        double peak_fp8_flops_per_s = 0;
        double peak_blockfp8_flops_per_s = 0;
        double peak_fp16_flops_per_s = 0;
        double achieved_gemm_flops_per_s = 0;
        double achieved_gemm_efficiency = 0;
    } compute;

    struct DataMovement {
        double dram_bytes_per_s_per_core = 0;
        double l1_read_bytes_per_s_per_core = 0;
        double l1_write_bytes_per_s_per_core = 0;
        int64_t dram_latency_cycles = 0;
        int64_t l1_read_latency_cycles = 0;
        int64_t l1_write_latency_cycles = 0;
        int64_t local_latency_cycles = 0;
    } data_movement;

    // Performance model constants that the reference does not publish (assumed or calibrated; see the YAML sources).
    struct Perf {
        // SFPU instructions per pass of each SDK activation, indexed by ActivationId (keyed by activation name in the
        // YAML; every activation must have one), and of softmax.
        std::array<int64_t, std::size(kAllActivations)> sfpu_activation{};
        int64_t sfpu_softmax = 0;
        int64_t sfpu(ActivationId a) const { return sfpu_activation[static_cast<size_t>(a)]; }
        int64_t op_launch_cycles = 0;
        int64_t conv_setup_cycles = 0;
        int64_t noc_request_issue_cycles = 0;
        int64_t fw_overhead_cycles = 0;
        int64_t halo_setup_cycles = 0;            // fixed cost of a halo op beyond the launch (its config tables)
        double single_buffer_stall_fraction = 0;  // share of the shorter of reader / compute not hidden without a
                                                  // double-buffered CB (1 = fully serial)
        double split_reader_efficiency = 0;       // share of a second reader RISC's work that shortens the gather
    } perf;

    // Host side of the card: PCIe transfers, dispatch, trace replay, program compile.
    struct Host {
        double pcie_h2d_bytes_per_s = 0;
        double pcie_d2h_bytes_per_s = 0;
        double pcie_latency_ns = 0;
        double host_dispatch_ns_per_op = 0;
        double trace_op_to_op_ns = 0;
        double trace_launch_ns = 0;
        double program_compile_ns = 0;
    } host;

    // Dotted key ("l1.bytes_per_core") -> the `source:` text of that number in the YAML, for reports.
    std::map<std::string, std::string> sources;

    int64_t tile_bytes(DataFormat f) const { return tile.bytes[static_cast<size_t>(f)]; }
    // Bytes of one element in a ROW_MAJOR tensor: block-float formats cannot be row-major on the card, so they are
    // held as bfloat16 there (reference s3: bfp exists only as tiles).
    int64_t row_major_element_bytes(DataFormat f) const;
    static bool is_block_float(DataFormat f) { return f == DataFormat::BFloat8_b || f == DataFormat::BFloat4_b; }
};

// Reads a device description (the root map of yaml/devices/<card>.yaml, as the runner hands it to configure()).
// Unknown keys, missing keys, numbers without a source and impossible values (non-positive sizes, a reserved base
// beyond L1, L1_SMALL that leaves no buffer space, ...) are errors naming the offending value's file:line:column.
Result<WormholeHardware> parse_hardware(const SpecValue& root);

}  // namespace zoo::wormhole
