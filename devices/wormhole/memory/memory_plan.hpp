// Memory planning of a device program: an execution-order simulation of the card's allocators along the program's
// ops (per-core L1 buffers, L1_SMALL config tensors, DRAM), failing exactly where and how the card would
// (the out-of-memory messages of tt-metal's allocator, tt_metal/impl/allocator, with the layer appended). Placements, circular buffers and config tensors
// are the program's decisions (program/program.hpp); this file only decides lifetimes and addresses.
//
// Lifetimes (our rule, documented because ttnn leaves it to the Python program):
//   * An op's output is allocated while its inputs are still live.
//   * A tensor made inside one ttnn call (a conv's halo output, its resharded input, an eltwise op's resharded
//     operand) is freed right after the op that reads it.
//   * Any other tensor is a Python value: without deallocate_activation it is freed after the op that FOLLOWS its last
//     reader (the variable holding it is rebound only by the next statement, e.g. `out = conv(x); out = relu6(out)`).
//     Graph outputs are never freed.
//   * deallocate_activation on a layer frees its activation input as soon as its first step that consumed it has run
//     (a sliding-window conv: right after its halo step, before the conv's output is allocated, as ttnn.conv2d does).
//   * Config tensors go to L1_SMALL for the duration of their op; weights sit interleaved in DRAM for the whole run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "memory/hardware.hpp"
#include "memory/l1_allocator.hpp"
#include "program/program.hpp"

namespace zoo::wormhole {

struct LiveBuffer {
    std::string name;  // tensor name ("features.1.conv.0.0", "features.1.conv.0.0:halo")
    int64_t address = 0;
    int64_t bytes_per_core = 0;
};

// L1 while one program op runs.
struct OpMemory {
    int op = -1;
    int64_t buffer_bytes = 0;      // L1 buffers allocated per core during the op (inputs, output, temporaries)
    int64_t peak_l1_per_core = 0;  // buffer_bytes + the op's circular buffers
    std::vector<LiveBuffer> live;  // the buffers counted in buffer_bytes
};

// A graph node's summary: its own op's output and program config, and its ops' peak.
struct LayerMemory {
    int node = -1;
    std::string name;
    std::string op;
    bool fused_or_view = false;  // no op of its own on the card (fused activation, view)
    TensorPlacement output;      // what the node's own op wrote
    std::optional<ConvSharding> conv;  // convs only
    std::vector<CircularBufferPlan> cbs;
    int64_t cb_bytes = 0;
    int64_t l1_small_bytes = 0;
    int64_t buffer_bytes = 0;      // during the node's own op
    int64_t peak_l1_per_core = 0;  // the largest over the node's ops
    std::vector<LiveBuffer> live;  // during the node's own op
    std::vector<std::string> warnings;
};

struct MemoryPlan {
    std::vector<OpMemory> ops;        // one per program op
    std::vector<LayerMemory> layers;  // one per graph node, graph order
    int64_t peak_l1_per_core = 0;
    std::string peak_layer;
    int64_t l1_buffer_region_bytes = 0;  // per core
    int64_t dram_weight_bytes_per_bank = 0;
    int dram_banks = 0;
    std::vector<std::string> warnings;  // the program's warnings
};

// Fails with the card's out-of-memory / circular-buffer message followed by " (layer <name>)".
Result<MemoryPlan> plan_memory(const Graph& graph, const Program& program, const WormholeHardware& hw);
// Lowers then plans (tests, tools).
Result<MemoryPlan> plan_memory(const Graph& graph, const std::vector<WormholeLayerConfig>& configs, const WormholeHardware& hw);

// A fixed-width table, one row per program op: op, tensor, layout, cores, shard shape, CB bytes, L1_SMALL, L1 peak.
std::string format_memory_plan(const Program& program, const MemoryPlan& plan);

}  // namespace zoo::wormhole
