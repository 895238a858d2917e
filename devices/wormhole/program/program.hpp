// The device program of a compiled model: the graph lowered ONCE, at compile, into the ordered list of device ops the
// card runs, named as tt-metal's profiler names them (Conv2d, Halo, Matmul, BinaryNg, Unary, Pool2D, Reshard,
// ShardedToInterleaved, InterleavedToSharded, Tilize, Untilize, Reshape, ...). Every op carries its input and output
// tensors (shape, layout, dtype, memory: L1 / DRAM, interleaved or sharded with the shard spec), its cores and its
// program config (conv sharding, circular buffers, L1_SMALL config tensors, DRAM weights).
//
// Everything downstream reads this program and nothing else decides: the numerics execute its ops in order, the
// memory plan allocates and frees along it, the perf model costs each op, and the ops report has one row per op.
//
// Lowering rules (what ttnn does, as the tt-metal models call it):
//   * A sliding-window conv is Halo (gather the padded input rows each core reads) + Conv2d; a 1x1 stride-1 unpadded
//     conv is a Matmul. An input sharded differently from the conv's own choice is resharded first (Reshard), unless
//     the conv keeps the input's core split (reshard_if_not_optimal off, the ttnn default).
//   * An activation right after a conv that is its only reader runs inside the conv (fuse_activation, default on);
//     otherwise it is a Unary op. hardswish / hardsigmoid / silu are one Unary op, or with composite_activation the
//     ops a composite runs (hardsigmoid: add 3, relu6, multiply by 1/6; hardswish: hardsigmoid, then multiply by x;
//     silu: sigmoid, then multiply by x).
//   * An eltwise op reading two full-size tensors sharded differently reshards the second one first.
//   * The host's image is written to DRAM and moved into L1 as the first conv reads it (a Reshard of the input).
//   * A layer's `convert_output` list appends conversion ops after it (ShardedToInterleaved, InterleavedToSharded,
//     Untilize, Tilize, Reshape); later readers read the converted tensor. A Reshape that ttnn makes a view (a
//     ROW_MAJOR tensor, or tiles that line up) is no op: the card runs nothing and its profiler lists no row.
//   * Flatten of [N, C, 1, 1] and Dropout are views (no op); a spatial Flatten is a Reshape.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "memory/hardware.hpp"
#include "memory/sharding.hpp"
#include "zoo/graph.hpp"
#include "config/layer_config.hpp"

namespace zoo::wormhole {

enum class BufferKind : uint8_t { Host, L1Sharded, L1Interleaved, DramInterleaved };

// Where one tensor lives. 2D view: rows = N*H*W (or N), cols = C (or features).
struct TensorPlacement {
    BufferKind kind = BufferKind::Host;
    ShardLayout layout = ShardLayout::Interleaved;  // the sharding of L1Sharded tensors
    int cores = 0;                                  // cores holding shards (banks for interleaved)
    CoreRange range;
    int64_t rows = 0, cols = 0;          // logical 2D shape
    int64_t shard_h = 0, shard_w = 0;    // per-core shard (sharded), or the padded whole tensor (interleaved)
    DataFormat dtype = DataFormat::BFloat16;  // as stored (row-major bfp is stored as bfloat16)
    bool row_major = false;
    int64_t bytes_per_bank = 0;

    bool in_l1() const { return kind == BufferKind::L1Sharded || kind == BufferKind::L1Interleaved; }
    bool same_distribution(const TensorPlacement& o) const {
        return kind == o.kind && layout == o.layout && cores == o.cores && shard_h == o.shard_h && shard_w == o.shard_w;
    }
    int64_t total_bytes() const { return bytes_per_bank * (cores > 0 ? cores : 1); }
    std::string describe() const;  // "HEIGHT 64c 1984x32 bfloat8_b", "L1 interleaved 64b 32x1280 bfloat8_b"
};

struct CircularBufferPlan {
    std::string name;  // "act", "act_row_major", "weights", "bias", "partials", "output", ...
    int64_t tiles = 0;
    int64_t tile_bytes = 0;
    int64_t bytes = 0;  // static L1 bytes per core (aligned)
};

// A parameter an op keeps in DRAM for the whole run (tile layout, weights_dtype, interleaved over the banks).
struct DramWeight {
    std::string name;
    int64_t bytes_per_bank = 0;
};

// Device ops, with the op code tt-metal's profiler prints (device_op_code_name).
#define ZOO_WH_DEVICE_OP_LIST(X)                                                \
    X(Reshard, "ReshardDeviceOperation")                                        \
    X(InterleavedToSharded, "InterleavedToShardedDeviceOperation")              \
    X(ShardedToInterleaved, "ShardedToInterleavedDeviceOperation")              \
    X(Halo, "HaloDeviceOperation")                                              \
    X(Conv2d, "Conv2dDeviceOperation")                                          \
    X(Matmul, "MatmulDeviceOperation")                                          \
    X(BinaryNg, "BinaryNgDeviceOperation")                                      \
    X(Unary, "UnaryDeviceOperation")                                            \
    X(BatchNorm, "BatchNormOperation")                                          \
    X(Pool2D, "Pool2D")                                                         \
    X(Reduce, "ReduceDeviceOperation")                                          \
    X(Softmax, "SoftmaxDeviceOperation")                                        \
    X(Tilize, "TilizeWithValPaddingDeviceOperation")                            \
    X(Untilize, "UntilizeWithUnpaddingDeviceOperation")                         \
    X(Reshape, "ReshapeViewDeviceOperation")                                    \
    X(Move, "MoveDeviceOperation")

enum class DeviceOpCode : uint8_t {
#define ZOO_WH_OP_ENUM__(name, text) name,
    ZOO_WH_DEVICE_OP_LIST(ZOO_WH_OP_ENUM__)
#undef ZOO_WH_OP_ENUM__
};
const char* device_op_code_name(DeviceOpCode code);  // "Conv2dDeviceOperation", ...

// What a Unary op (or the activation fused into a conv) computes on the SFPU: one of the SDK's activations (in list
// order after None) or a scalar step of a composite.
enum class UnaryFunction : uint8_t {
    None,
#define ZOO_WH_UNARY_ENUM__(name, text, category) name,
    ZOO_ACTIVATION_LIST(ZOO_WH_UNARY_ENUM__)
#undef ZOO_WH_UNARY_ENUM__
    AddScalar,
    MulScalar
};
// tt-metal's UnaryOpType name: the activation's name in capitals ("RELU6", "HARDSWISH", "SILU"), "ADD_UNARY_SFPU", ...
const char* unary_function_name(UnaryFunction f);
UnaryFunction unary_of(ActivationId a);
bool is_activation_function(UnaryFunction f);
ActivationId activation_of(UnaryFunction f);  // precondition is_activation_function(f)

enum class EltwiseFunction : uint8_t { Add, Mul };

// A linear's matmul program config, in tiles.
struct MatmulBlocking {
    int grid_x = 0, grid_y = 0;     // cores along N and along M
    int64_t per_core_m = 0, per_core_n = 0;
    int64_t in0_block_w = 0;        // K tiles per step
    int64_t k_tiles = 0;
};

struct ProgramTensor {
    std::string name;           // the node's name for its own value; "<node>:halo", "<node>:to_row_major", ...
    TensorPlacement placement;
    int producer = -1;          // op index; -1 = written by the host
    // Created and consumed inside one ttnn call (halo output, a conv's resharded input): freed right after its
    // reader. Other tensors are Python values, freed after the op that follows their last reader.
    bool internal = false;
    int node = -1;              // graph node whose value this is (-1 for internal tensors)
};

struct DeviceOp {
    DeviceOpCode code = DeviceOpCode::Unary;
    int node = -1;                // graph node the op implements or serves
    std::vector<int> inputs;      // tensor ids; the activation first
    int output = -1;              // tensor id
    WormholeLayerConfig config;           // the node's resolved config
    int cores = 0;                // cores the program runs on
    CoreRange range;
    std::string parallelization;  // "HEIGHT_SHARDED", "INTERLEAVED", a matmul program config name
    std::string attributes;       // key=value;... for the report
    UnaryFunction unary = UnaryFunction::None;   // Unary ops, and the activation fused into Conv2d / Matmul
    float scalar = 0;                            // AddScalar / MulScalar
    EltwiseFunction eltwise = EltwiseFunction::Add;  // BinaryNg
    bool broadcast = false;                      // BinaryNg: the second input broadcasts ([N, C, 1, 1])
    std::optional<ConvGeometry> geometry;        // Halo, Conv2d, conv-as-Matmul
    std::optional<ConvSharding> conv;            // the conv's program config
    MatmulBlocking matmul;                       // linear Matmul: its program config
    int fused_node = -1;                         // the activation node fused into this conv (-1 none)
    std::vector<CircularBufferPlan> cbs;
    int64_t cb_bytes = 0;         // static CB region per core
    int64_t l1_small_bytes = 0;   // config tensors per core (L1_SMALL), for the op's duration
    std::vector<DramWeight> weights;
    // deallocate_activation: this op frees the node's activation input once it has run.
    int frees_tensor = -1;
    std::vector<std::string> warnings;
};

struct Program {
    int64_t batch = 1;
    std::vector<ProgramTensor> tensors;
    std::vector<DeviceOp> ops;
    std::vector<int> node_value;   // graph node -> tensor holding its value for later readers (after conversions)
    std::vector<int> node_output;  // graph node -> tensor its own op wrote (before conversions; the value a capture
                                   // of a fused conv takes before its activation is the conv op's output)
    std::vector<int> input_tensors;  // host-written tensors, in graph input order
    std::vector<std::string> warnings;  // every op's warnings, prefixed with the layer name

    const ProgramTensor& tensor(int id) const { return tensors[static_cast<size_t>(id)]; }
    const TensorPlacement& placement(int id) const { return tensors[static_cast<size_t>(id)].placement; }
};

// graph: shapes inferred, batch set; configs: one per node. Fails with an error naming the layer and the broken rule
// for a config the card would refuse (a conversion of a tensor that is not in the form it converts from, a sharding
// the grid cannot hold). Memory limits are the memory plan's business (plan_memory on the program).
Result<Program> lower_program(const Graph& graph, const std::vector<WormholeLayerConfig>& configs, const WormholeHardware& hw);

}  // namespace zoo::wormhole
