// The per-layer config of the Wormhole emulator: the common keys plus the options a tt-metal model sets per op
// (ttnn.Conv2dConfig, compute kernel config, memory configs, the conversion ops written between ops). This device
// declares them (layer_option_specs: what --dump-config lists and the runner checks) and reads the checked values
// into a WormholeLayerConfig (read_layer_config), from one table in layer_config.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "zoo/layer_config.hpp"

namespace zoo::wormhole {

enum class MathFidelity : uint8_t { LoFi, HiFi2, HiFi3, HiFi4 };
enum class ShardLayout : uint8_t { Auto, Interleaved, HeightSharded, WidthSharded, BlockSharded };
// Where a layer writes its output. Auto: where the op naturally leaves it (a conv: sharded like the conv; an eltwise
// op: like its input; pool / linear / softmax: L1 interleaved).
enum class OutputMemory : uint8_t { Auto, L1Sharded, L1Interleaved, DramInterleaved };
enum class TensorLayout : uint8_t { Tile, RowMajor };
// Conversion ops a program runs after a layer, in order (what a tt-metal model writes between its ops:
// ttnn.sharded_to_interleaved, ttnn.interleaved_to_sharded, ttnn.to_layout, ttnn.reshape).
enum class ConvertOp : uint8_t { ShardedToInterleaved, InterleavedToSharded, ToRowMajor, ToTile, Reshape };

const char* math_fidelity_name(MathFidelity f);  // "LoFi", "HiFi4", ...
const char* shard_layout_name(ShardLayout s);    // "auto", "HEIGHT_SHARDED", ...
const char* output_memory_name(OutputMemory m);  // "auto", "L1_SHARDED", "L1_INTERLEAVED", "DRAM_INTERLEAVED"
const char* tensor_layout_name(TensorLayout l);  // "TILE", "ROW_MAJOR"
const char* convert_op_name(ConvertOp c);        // "sharded_to_interleaved", "to_row_major", ...

struct CoreGrid {
    int x = 0;  // 0 = let the device choose
    int y = 0;
};

struct WormholeLayerConfig {
    DataFormat dtype = DataFormat::Float32;  // activations written by the layer
    DataFormat weights_dtype = DataFormat::Float32;
    MathFidelity math_fidelity = MathFidelity::HiFi4;
    bool fp32_dest_acc = true;
    bool packer_l1_acc = false;
    bool math_approx = false;
    ShardLayout shard_layout = ShardLayout::Auto;
    int act_block_h = 0;  // rows per activation block, multiple of 32; 0 = whole per-core height
    CoreGrid core_grid;
    bool deallocate_activation = false;
    // Output placement and layout of the layer's own op (ttnn's memory_config / output layout arguments).
    OutputMemory output_memory = OutputMemory::Auto;
    TensorLayout output_layout = TensorLayout::Tile;
    // An activation right after a conv runs inside the conv (ttnn.conv2d's activation argument) unless false.
    bool fuse_activation = true;
    // hardswish / hardsigmoid as the composite of simpler ops (hardsigmoid then multiply; add, relu6, multiply)
    // instead of one SFPU op.
    bool composite_activation = false;
    // A global average pool as ttnn.global_avg_pool2d runs it (a sum over H*W scaled by 1/(H*W): one reduction op)
    // instead of ttnn.avg_pool2d / adaptive_avg_pool2d (a pool op).
    bool pool_as_reduction = false;
    // Conv2d program options (ttnn Conv2dConfig): double-buffered activation / weight CBs, the activation reader
    // split over both data-movement RISCs, resharding an input whose sharding is not the conv's own choice.
    bool enable_act_double_buffer = false;
    bool enable_weights_double_buffer = false;
    bool enable_split_reader = false;
    bool reshard_if_not_optimal = false;
    // Conv2dConfig.enable_activation_reuse: a HEIGHT-sharded sliding-window conv gathers all kernel rows only for the
    // first output image row of an activation block; each later row reuses them and reads just its new kernel row.
    // K is one block (the full inner dim) and the split reader is on.
    bool enable_activation_reuse = false;
    std::vector<ConvertOp> convert_output;  // run after the layer, in order
};

// ttnn's defaults for a layer: bfloat16 activations and weights, HiFi4, bf16 Dst (fp32_dest_acc off), no packer L1
// accumulation, SFPU approximations on; the sharding is chosen per layer.
WormholeLayerConfig card_default_config();

// What the device declares (DevicePlugin::layer_options), defaults taken from card_default_config().
const std::vector<LayerOptionSpec>& layer_option_specs();
// card_default_config() as the SDK's LayerConfig (DevicePlugin::default_layer_config).
LayerConfig layer_config_defaults();
// A resolved LayerConfig read into this device's struct; options it leaves out keep card_default_config()'s values.
Result<WormholeLayerConfig> read_layer_config(const LayerConfig& config);

}  // namespace zoo::wormhole
