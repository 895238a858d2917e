// Analytical performance model of the emulated Wormhole: one row per device op, as tt-metal's ops perf report has.
//
// Every op runs on the cores the memory plan gives it (its sharding); its kernel duration is
//     overhead + max(compute, data movement)
// where
//   compute        the busiest core's compute pipeline: max(FPU + SFPU cycles, unpack bytes / unpack rate,
//                  pack bytes / pack rate). FPU: tile matmuls x cycles per tile at the op's math fidelity (dense convs,
//                  matmuls); per-tap eltwise multiply-accumulate for depthwise convs (kh*kw taps per output tile,
//                  never a dense K); eltwise tiles x cycles x fidelity phases (multiply only). SFPU: tiles x passes x
//                  instructions per pass of the activation.
//   data movement  the busiest core's reader / writer: NoC transactions x max(issue cost, bytes / per-core rate) +
//                  one latency, and DRAM traffic at max(per-core rate of the reading cores, card-wide achievable rate).
//   overhead       program launch (+ conv / halo set-up): fixed cycles per op.
// A conv's stages (activation reader, compute, weight writer) hide behind each other through their CBs when those are
// double-buffered (enable_act_double_buffer / enable_weights_double_buffer); otherwise a share of the shorter stage
// (perf.single_buffer_stall_fraction) adds to the longer. The row's BOUND is the largest of the three terms. Every
// program op is one row (halo, reshard, the host input's DRAM -> L1 move, conversions included). Constants: WormholeHardware (yaml/devices/wormhole_n150.yaml, each with its source).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "memory/hardware.hpp"
#include "program/program.hpp"
#include "zoo/graph.hpp"
#include "config/layer_config.hpp"

namespace zoo::wormhole {

enum class PerfBound : uint8_t { Compute, Bandwidth, Overhead };
const char* perf_bound_name(PerfBound b);  // "compute", "bandwidth", "overhead"

// A tensor as tt-metal's report describes it: [W, Z, Y, X], layout, dtype, memory.
struct PerfTensor {
    int64_t w = 1, z = 1, y = 1, x = 1;
    std::string layout;    // "TILE" / "ROW_MAJOR"
    std::string dtype;     // "BFLOAT8_B", ...
    std::string memory;    // "DEV_0_L1_HEIGHT_SHARDED", "DEV_0_DRAM_INTERLEAVED", ...
    int64_t bytes = 0;     // whole tensor as stored
};

struct PerfOp {
    std::string node_name;   // graph node the op belongs to (halo / reshard / conversion ops: the layer they serve)
    std::string output_name; // the program tensor it writes ("<node>", "<node>:halo", "<node>:to_row_major", ...)
    std::string op_code;     // "Conv2dDeviceOperation", "HaloDeviceOperation", ...
    std::string attributes;  // free text, key=value pairs
    std::string math_fidelity;
    std::string parallelization;
    int cores = 0;
    std::vector<PerfTensor> inputs;
    PerfTensor output;
    double overhead_ns = 0, compute_ns = 0, bandwidth_ns = 0;
    double kernel_ns = 0;       // overhead + max(compute, bandwidth)
    double fw_ns = 0;           // kernel + firmware start/stop
    double host_ns = 0;         // eager host dispatch of this op
    double op_to_op_ns = 0;     // gap before this op in trace replay (0 for the first)
    double pm_compute_ns = 0;   // ideal FPU time (tt-metal OpPerformanceModel style)
    double pm_bandwidth_ns = 0; // ideal DRAM-rate time of all tensors
    double dram_bytes = 0;
    double flops = 0;
    PerfBound bound = PerfBound::Overhead;
};

struct PerfReport {
    int64_t batch = 1;                 // all chips together
    int64_t chips = 1;                 // data parallel: one program per chip, batch / chips samples each
    double dram_peak_bytes_per_s = 0;  // for the DRAM BW UTIL column
    std::vector<PerfOp> ops;
    double device_kernel_ns = 0;   // sum of kernel durations
    double device_fps = 0;         // batch / device_kernel_ns
    double op_to_op_ns = 0;        // sum of trace op-to-op gaps
    double host_dispatch_ns = 0;   // sum of eager dispatch
    double pcie_in_ns = 0, pcie_out_ns = 0;
    double trace_launch_ns = 0;
    double batch_ns_plain = 0, batch_ns_trace = 0, batch_ns_trace_2cq = 0;
    double e2e_fps_plain = 0, e2e_fps_trace = 0, e2e_fps_trace_2cq = 0;
    int unique_programs = 0;
    double compile_ns = 0;         // modelled first run: program compiles + one eager run
};

// One PerfOp per program op, in program order. graph: the one the program was lowered from.
Result<PerfReport> model_performance(const Graph& graph, const Program& program, const WormholeHardware& hw);

// tt-metal ops_perf_results columns (tt_metal/tools/profiler/process_ops_logs.py) + BOUND; RFC 4180 quoting.
std::string perf_ops_csv(const PerfReport& report);
// Chrome trace-format JSON: one trace + 2CQ batch (device ops, host trace launch, PCIe writes/reads) and the same
// batch dispatched eagerly (host dispatch track).
std::string perf_trace_json(const PerfReport& report);

}  // namespace zoo::wormhole
