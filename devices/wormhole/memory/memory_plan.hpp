// Whole-graph memory planning for the Wormhole emulator: where every activation lives (sharded / interleaved L1,
// DRAM), the circular buffers each op needs, and an execution-order simulation of the per-core L1 allocator that
// fails exactly where and how the card would (out-of-memory messages of reference s5, with the layer appended).
//
// Lifetimes (our rule, documented because ttnn leaves it to the Python program):
//   * An op's output is allocated while its inputs are still live (plus the op's temporaries: the halo output of a
//     sliding-window conv, a reshard copy when the input's sharding differs from what the op runs with).
//   * Without deallocate_activation a tensor is freed after the op that FOLLOWS its last reader: in the tt-metal
//     models the Python variable holding it is rebound only by the next statement, so the buffer outlives its last
//     reader by one op (e.g. `out = conv(x); out = relu6(out)`). Graph outputs are never freed.
//   * deallocate_activation on op R frees R's activation input (input 0) as soon as R has consumed it: for a
//     sliding-window conv right after its halo step, before R's output is allocated (as ttnn.conv2d does); for any
//     other op right after R. When a later op still reads that tensor the flag is ignored with a warning (on the
//     card the later reader would read a freed buffer).
//   * Activations directly after a conv that is their only reader are fused into the conv (ttnn.conv2d's activation
//     argument): no buffer of their own. PlanOptions::fuse_activations = false models separate ttnn.relu6 ops.
//   * Flatten and Dropout are views (no buffer).
//   * Conv/halo config tensors (reader indices, halo tables) go to L1_SMALL for the duration of their op.
//   * Weights and biases are interleaved in DRAM for the whole run (tile layout, weights_dtype).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "memory/hardware.hpp"
#include "memory/l1_allocator.hpp"
#include "memory/sharding.hpp"
#include "zoo/graph.hpp"
#include "zoo/layer_config.hpp"

namespace zoo::wormhole {

enum class BufferKind : uint8_t { None, L1Sharded, L1Interleaved, DramInterleaved };

// Where one tensor lives. 2D view: rows = N*H*W (or N), cols = C (or features).
struct TensorPlacement {
    BufferKind kind = BufferKind::None;
    ShardLayout layout = ShardLayout::Interleaved;  // the sharding of L1Sharded tensors
    int cores = 0;                                  // cores holding shards (banks for interleaved)
    CoreRange range;
    int64_t rows = 0, cols = 0;          // logical 2D shape
    int64_t shard_h = 0, shard_w = 0;    // per-core shard (sharded), or the padded whole tensor (interleaved)
    DataFormat dtype = DataFormat::BFloat16;  // as stored (row-major bfp is stored as bfloat16)
    bool row_major = false;
    int64_t bytes_per_bank = 0;

    bool same_distribution(const TensorPlacement& o) const {
        return kind == o.kind && layout == o.layout && cores == o.cores && shard_h == o.shard_h && shard_w == o.shard_w;
    }
    std::string describe() const;  // "HEIGHT 64c 1984x32 bfloat8_b", "L1 interleaved 64b 32x1280 bfloat8_b"
};

struct CircularBufferPlan {
    std::string name;  // "act", "act_row_major", "weights", "bias", "partials", "output", ...
    int64_t tiles = 0;
    int64_t tile_bytes = 0;
    int64_t bytes = 0;  // static L1 bytes per core (aligned)
};

struct LiveBuffer {
    std::string name;  // tensor (node name) or temporary ("features.1.conv.0.0:halo")
    int64_t address = 0;
    int64_t bytes_per_core = 0;
};

struct LayerMemory {
    int node = -1;
    std::string name;
    std::string op;
    bool fused_or_view = false;  // no op on the card (fused activation, view)
    TensorPlacement output;
    std::optional<ConvSharding> conv;  // convs only
    std::vector<CircularBufferPlan> cbs;
    int64_t cb_bytes = 0;        // static CB region per core
    int64_t l1_small_bytes = 0;  // config tensors per core
    int64_t buffer_bytes = 0;    // L1 buffers allocated per core at the op's peak (inputs, output, temporaries)
    int64_t peak_l1_per_core = 0;  // buffer_bytes + cb_bytes
    std::vector<LiveBuffer> live;  // the buffers counted in buffer_bytes
    std::vector<std::string> warnings;
};

struct MemoryPlan {
    std::vector<LayerMemory> layers;  // one per graph node, graph order
    int64_t peak_l1_per_core = 0;
    std::string peak_layer;
    int64_t l1_buffer_region_bytes = 0;   // per core
    int64_t dram_weight_bytes_per_bank = 0;
    int dram_banks = 0;
    std::vector<std::string> warnings;  // every layer's warnings, prefixed with the layer name
};

struct PlanOptions {
    bool fuse_activations = true;
};

// graph: shapes inferred, batch set (output_shape of every node). configs: one per node (graph.nodes indexing).
// Fails with the card's out-of-memory / circular-buffer message followed by " (layer <name>)", or an error naming
// the layer and the broken rule for a config the card would refuse.
Result<MemoryPlan> plan_memory(const Graph& graph, const std::vector<LayerConfig>& configs, const WormholeHardware& hw,
                               const PlanOptions& options = {});

// A fixed-width table: layer, op, layout, cores, shard shape, CB bytes, L1_SMALL bytes, L1 peak per core.
std::string format_memory_plan(const MemoryPlan& plan, bool include_views = false);

}  // namespace zoo::wormhole
