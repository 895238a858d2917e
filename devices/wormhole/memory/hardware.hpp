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

// The key table: one row per number of yaml/devices/wormhole_*.yaml. From it come the struct fields below, the
// parser's accepted keys and bounds (hardware.cpp), and the schema table of yaml/devices/README.md
// (hardware_schema_markdown; a test keeps the README equal to it). A row is
//   X(C++ type, member, YAML subsection ("" = the section itself), YAML key, lowest, highest, what it is used for)
// Integers must lie in [lowest, highest]; reals in (lowest, highest]. Numbers read by hand (per data format, per
// fidelity, per activation) and checks across keys are in hardware.cpp.
#define ZOO_WH_NO_LIMIT 9.0e18
// Sizes are bounded (1 TiB) so that products of them (tile elements, L1 regions, DRAM capacity) cannot overflow.
#define ZOO_WH_MAX_BYTES 1099511627776.0
#define ZOO_WH_CHIP_KEYS(X)                                                                                    \
    X(int64_t, chips, "", "chips", 1, 64, "chips on the card; a batch is split over them (data parallel)")       \
    X(int64_t, tensix_enabled, "", "tensix_enabled", 1, 4096, "Tensix cores per chip; the grid must fit") \
    X(double, ai_clock_hz, "", "ai_clock_hz", 0, ZOO_WH_NO_LIMIT, "cycles to time")
#define ZOO_WH_GRID_KEYS(X)                                                                                    \
    X(int, worker_x, "", "worker_x", 1, 64, "columns of TT-NN's compute grid")                                  \
    X(int, worker_y, "", "worker_y", 1, 64, "rows of TT-NN's compute grid")                                     \
    X(int, dispatch_rows, "", "dispatch_rows", 0, 64, "rows of cores kept for dispatch (not in the grid)")
#define ZOO_WH_L1_KEYS(X)                                                                                      \
    X(int64_t, bytes_per_core, "", "bytes_per_core", 1, ZOO_WH_MAX_BYTES, "L1 per core: the allocator's range")   \
    X(int64_t, reserved_base, "", "reserved_base_bytes", 0, ZOO_WH_MAX_BYTES, "firmware's L1, never allocatable") \
    X(int64_t, l1_small_bytes, "", "l1_small_bytes", 0, ZOO_WH_MAX_BYTES, "default L1_SMALL (conv config tensors)") \
    X(int64_t, alignment, "", "alignment_bytes", 1, ZOO_WH_MAX_BYTES, "L1 buffer and CB alignment")
#define ZOO_WH_DRAM_KEYS(X)                                                                                    \
    X(int64_t, channels, "", "channels", 1, 1024, "DRAM capacity (channels x bytes_per_channel)")     \
    X(int64_t, bytes_per_channel, "", "bytes_per_channel", 1, ZOO_WH_MAX_BYTES, "DRAM capacity")                  \
    X(int64_t, banks, "", "banks", 1, 1024, "interleaving of DRAM buffers (capacity per bank)")       \
    X(double, peak_bytes_per_s, "", "peak_bytes_per_s", 0, ZOO_WH_NO_LIMIT, "bound of the rates below")          \
    X(double, achievable_bytes_per_s, "", "achievable_bytes_per_s", 0, ZOO_WH_NO_LIMIT, "DRAM traffic of ops")     \
    X(double, op_model_bytes_per_s, "", "op_model_bytes_per_s", 0, ZOO_WH_NO_LIMIT, "DRAM-bound op time (matmul)")
#define ZOO_WH_NOC_KEYS(X)                                                                                     \
    X(int64_t, count, "", "count", 1, 16, "NoCs: readers and writers use one each")                 \
    X(int64_t, max_packet_bytes, "", "max_packet_bytes", 1, ZOO_WH_MAX_BYTES, "bytes per NoC transfer")
#define ZOO_WH_TILE_KEYS(X)                                                                                    \
    X(int64_t, height, "", "height", 1, 1024, "tile rows: shard and CB sizes, padding")               \
    X(int64_t, width, "", "width", 1, 1024, "tile columns: shard and CB sizes, channel padding")      \
    X(int64_t, face_height, "", "face_height", 1, 1024, "face rows (must divide the tile)")           \
    X(int64_t, face_width, "", "face_width", 1, 1024, "face columns (must divide the tile)") \
    X(int64_t, bfp_datums_per_exponent, "", "bfp_datums_per_exponent", 1, 1024, "bfp block size (the quantizer's)")
#define ZOO_WH_CONV2D_KEYS(X)                                                                                  \
    X(int64_t, channel_align_row_major_interleaved, "", "channel_align_row_major_interleaved", 1, ZOO_WH_NO_LIMIT, \
      "conv input channel padding, row-major interleaved")                                                     \
    X(int64_t, channel_align_row_major_sharded, "", "channel_align_row_major_sharded", 1, ZOO_WH_NO_LIMIT,       \
      "conv input channel padding, row-major sharded")                                                         \
    X(int64_t, pool_tiles_per_reduction, "", "pool_tiles_per_reduction", 1, 1024,                              \
      "channel tiles a pool reader gathers per stick and barrier")
#define ZOO_WH_COMPUTE_KEYS(X)                                                                                 \
    X(int64_t, fpu_flops_per_cycle, "fpu", "flops_per_cycle", 1, ZOO_WH_NO_LIMIT, "FPU peak: eltwise and reduction ops") \
    X(int64_t, fpu_k_per_step, "fpu", "k_per_step", 1, ZOO_WH_NO_LIMIT,                                         \
      "K values per matrix-unit step; a bf16 Dst (fp32_dest_acc off) rounds after each")                      \
    X(int64_t, eltwise_cycles_per_tile_per_phase, "fpu", "eltwise_cycles_per_tile_per_phase", 1, ZOO_WH_NO_LIMIT, \
      "FPU eltwise cost per tile and fidelity phase")                                                          \
    X(int64_t, sfpu_instructions_per_cycle, "sfpu", "instructions_per_cycle", 1, ZOO_WH_NO_LIMIT, "SFPU op cost")  \
    X(int64_t, sfpu_passes_per_tile, "sfpu", "passes_per_tile", 1, ZOO_WH_NO_LIMIT, "SFPU passes over one tile")   \
    X(double, gapool_flops_per_s_tech_report, "gapool", "flops_per_s_tech_report", 0, ZOO_WH_NO_LIMIT,            \
      "global average pool rate")                                                                              \
    X(int64_t, unpack_bytes_per_cycle_each, "unpack", "bytes_per_cycle_each", 1, ZOO_WH_NO_LIMIT,              \
      "one unpacker's rate (SrcA or SrcB)")                                                                    \
    X(int64_t, unpack_joint_bytes_per_cycle, "unpack", "joint_bytes_per_cycle", 1, ZOO_WH_NO_LIMIT,            \
      "both unpackers together (their shared L1 ports)")                                                       \
    X(int64_t, pack_units, "pack", "units", 1, ZOO_WH_NO_LIMIT, "packer bandwidth")                              \
    X(int64_t, pack_bits_per_cycle_each, "pack", "bits_per_cycle_each", 1, ZOO_WH_NO_LIMIT, "packer bandwidth")
#define ZOO_WH_DATA_MOVEMENT_KEYS(X)                                                                           \
    X(double, dram_bytes_per_s_per_core, "", "dram_bytes_per_s_per_core", 0, ZOO_WH_NO_LIMIT, "a core's DRAM reads") \
    X(double, l1_read_bytes_per_s_per_core, "", "l1_read_bytes_per_s_per_core", 0, ZOO_WH_NO_LIMIT,            \
      "a core's L1 / NoC reads")                                                                               \
    X(double, l1_write_bytes_per_s_per_core, "", "l1_write_bytes_per_s_per_core", 0, ZOO_WH_NO_LIMIT,          \
      "a core's L1 / NoC writes")                                                                              \
    X(int64_t, dram_latency_cycles, "", "dram_latency_cycles", 0, ZOO_WH_NO_LIMIT, "first byte of a DRAM read")  \
    X(int64_t, l1_read_latency_cycles, "", "l1_read_latency_cycles", 0, ZOO_WH_NO_LIMIT, "first byte of an L1 read") \
    X(int64_t, local_l1_read_latency_cycles, "", "local_l1_read_latency_cycles", 0, ZOO_WH_NO_LIMIT,            \
      "first byte of a read of the core's own L1 (im2col and pool gathers)")                                   \
    X(int64_t, l1_write_latency_cycles, "", "l1_write_latency_cycles", 0, ZOO_WH_NO_LIMIT, "an L1 write's latency")
#define ZOO_WH_PERF_KEYS(X)                                                                                    \
    X(int64_t, op_launch_cycles, "", "op_launch_cycles", 0, ZOO_WH_NO_LIMIT, "fixed cost of every device op")    \
    X(int64_t, conv_setup_cycles, "", "conv_setup_cycles", 0, ZOO_WH_NO_LIMIT, "a conv's fixed cost beyond launch") \
    X(int64_t, noc_request_issue_cycles, "", "noc_request_issue_cycles", 0, ZOO_WH_NO_LIMIT,                    \
      "a reader's cost per NoC request")                                                                       \
    X(int64_t, fw_overhead_cycles, "", "fw_overhead_cycles", 0, ZOO_WH_NO_LIMIT, "firmware cost per op")         \
    X(int64_t, halo_setup_cycles, "", "halo_setup_cycles", 0, ZOO_WH_NO_LIMIT, "a halo op's config tables")      \
    X(int64_t, pool_stick_tile_cycles, "", "pool_stick_tile_cycles", 0, ZOO_WH_NO_LIMIT,                        \
      "a windowed pool's compute per output stick and channel tile")                                           \
    X(double, single_buffer_stall_fraction, "", "single_buffer_stall_fraction", 0, 1,                          \
      "share of the shorter of reader / compute not hidden without a double-buffered CB (1 = fully serial)")   \
    X(double, split_reader_efficiency, "", "split_reader_efficiency", 0, 1,                                    \
      "share of a second reader RISC's work that shortens the gather")
#define ZOO_WH_HOST_KEYS(X)                                                                                    \
    X(double, pcie_h2d_bytes_per_s, "", "pcie_h2d_bytes_per_s", 0, ZOO_WH_NO_LIMIT, "input upload")              \
    X(double, pcie_d2h_bytes_per_s, "", "pcie_d2h_bytes_per_s", 0, ZOO_WH_NO_LIMIT, "output read-back")          \
    X(double, pcie_latency_ns, "", "pcie_latency_ns", 0, ZOO_WH_NO_LIMIT, "per transfer")                        \
    X(double, host_dispatch_ns_per_op, "", "host_dispatch_ns_per_op", 0, ZOO_WH_NO_LIMIT, "eager dispatch per op") \
    X(double, trace_op_to_op_ns, "", "trace_op_to_op_ns", 0, ZOO_WH_NO_LIMIT, "gap between traced ops")          \
    X(double, trace_launch_ns, "", "trace_launch_ns", 0, ZOO_WH_NO_LIMIT, "replaying a trace")                   \
    X(double, program_compile_ns, "", "program_compile_ns", 0, ZOO_WH_NO_LIMIT, "first-run program compile")

#define ZOO_WH_FIELD__(type, member, sub, key, lowest, highest, doc) type member = 0;

struct WormholeHardware {
    std::string name;         // "wormhole_n150"
    std::string description;

    struct Chip {
        ZOO_WH_CHIP_KEYS(ZOO_WH_FIELD__)
    } chip;

    struct Grid {
        ZOO_WH_GRID_KEYS(ZOO_WH_FIELD__)
        int cores() const { return worker_x * worker_y; }
    } grid;

    // Per-core L1 layout the emulator uses:
    //   [0, reserved_base)                       firmware (never allocatable)
    //   [reserved_base, bytes - l1_small)        circular buffers grow up from reserved_base, L1 buffers down from the top
    //   [bytes - l1_small, bytes)                L1_SMALL (conv / halo config tensors)
    struct L1 {
        ZOO_WH_L1_KEYS(ZOO_WH_FIELD__)
        int64_t allocatable() const { return bytes_per_core - reserved_base; }         // CBs + buffers + L1_SMALL
        int64_t buffer_region_end() const { return bytes_per_core - l1_small_bytes; }  // top of the L1 buffer region
        int64_t buffer_region_bytes() const { return buffer_region_end() - reserved_base; }
    } l1;

    struct Dram {
        ZOO_WH_DRAM_KEYS(ZOO_WH_FIELD__)
        int64_t total_bytes() const { return channels * bytes_per_channel; }
        int64_t bank_bytes() const { return total_bytes() / banks; }
    } dram;

    struct Noc {
        ZOO_WH_NOC_KEYS(ZOO_WH_FIELD__)
    } noc;

    struct Tile {
        ZOO_WH_TILE_KEYS(ZOO_WH_FIELD__)
        std::array<int64_t, 4> bytes{};  // tile.bytes.<format>, indexed by zoo::DataFormat
        int64_t elements() const { return height * width; }
    } tile;

    // TT-NN conv2d channel alignment for row-major inputs (tiled inputs align to tile.width).
    struct Conv2d {
        ZOO_WH_CONV2D_KEYS(ZOO_WH_FIELD__)
    } conv2d;

    struct Compute {
        ZOO_WH_COMPUTE_KEYS(ZOO_WH_FIELD__)
        std::array<int64_t, 4> tile_matmul_cycles{};  // compute.fpu.tile_matmul_cycles.<fidelity>, by MathFidelity
    } compute;

    struct DataMovement {
        ZOO_WH_DATA_MOVEMENT_KEYS(ZOO_WH_FIELD__)
    } data_movement;

    // Performance model constants that the reference does not publish (assumed or calibrated; see the YAML sources).
    struct Perf {
        ZOO_WH_PERF_KEYS(ZOO_WH_FIELD__)
        // perf.sfpu_instructions_per_pass.<activation>: SFPU instructions per pass of each SDK activation, indexed by
        // ActivationId (every activation must have one), and of softmax.
        std::array<int64_t, std::size(kAllActivations)> sfpu_activation{};
        int64_t sfpu_softmax = 0;
        int64_t sfpu(ActivationId a) const { return sfpu_activation[static_cast<size_t>(a)]; }
    } perf;

    // Host side of the card: PCIe transfers, dispatch, trace replay, program compile.
    struct Host {
        ZOO_WH_HOST_KEYS(ZOO_WH_FIELD__)
    } host;

    // Dotted key ("l1.bytes_per_core") -> the `source:` text of that number in the YAML, for reports.
    std::map<std::string, std::string> sources;

    int64_t tile_bytes(DataFormat f) const { return tile.bytes[static_cast<size_t>(f)]; }
    // Bytes of one element in a ROW_MAJOR tensor: block-float formats cannot be row-major on the card, so they are
    // held as bfloat16 there (tt-metal tech_reports/tensor_layouts/tensor_layouts.md: bfp exists only as tiles).
    int64_t row_major_element_bytes(DataFormat f) const;
    static bool is_block_float(DataFormat f) { return f == DataFormat::BFloat8_b || f == DataFormat::BFloat4_b; }
};

// Reads a device description (the root map of yaml/devices/<card>.yaml, as the runner hands it to configure()).
// Unknown keys, missing keys, numbers without a source and impossible values (non-positive sizes, a reserved base
// beyond L1, L1_SMALL that leaves no buffer space, ...) are errors naming the offending value's file:line:column.
Result<WormholeHardware> parse_hardware(const SpecValue& root);

// The schema of a description, generated from the key table: one markdown row per key (yaml/devices/README.md).
std::string hardware_schema_markdown();

}  // namespace zoo::wormhole
