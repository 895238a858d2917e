// The resolved, typed per-layer configuration a device receives (the runner alone reads YAML).
// One LayerConfig per graph node, resolved as: device defaults < run-config defaults < ordered pattern overrides.
#pragma once

#include <cstdint>
#include <string>

namespace zoo {

enum class DataFormat : uint8_t { Float32, BFloat16, BFloat8_b, BFloat4_b };
enum class MathFidelity : uint8_t { LoFi, HiFi2, HiFi3, HiFi4 };
enum class ShardLayout : uint8_t { Auto, Interleaved, HeightSharded, WidthSharded, BlockSharded };

const char* data_format_name(DataFormat f);      // "bfloat16", "bfloat8_b", ...
const char* math_fidelity_name(MathFidelity f);  // "LoFi", "HiFi4", ...
const char* shard_layout_name(ShardLayout s);    // "auto", "HEIGHT_SHARDED", ...
bool data_format_from_name(const std::string& text, DataFormat& out);
bool math_fidelity_from_name(const std::string& text, MathFidelity& out);
bool shard_layout_from_name(const std::string& text, ShardLayout& out);

struct CoreGrid {
    int x = 0;  // 0 = let the device choose
    int y = 0;
};

struct LayerConfig {
    DataFormat dtype = DataFormat::Float32;          // activations written by the layer
    DataFormat weights_dtype = DataFormat::Float32;
    MathFidelity math_fidelity = MathFidelity::HiFi4;
    bool fp32_dest_acc = true;
    bool packer_l1_acc = false;
    bool math_approx = false;
    ShardLayout shard_layout = ShardLayout::Auto;
    int act_block_h = 0;  // rows per activation block, multiple of 32; 0 = whole per-core height
    CoreGrid core_grid;
    bool deallocate_activation = false;
};

}  // namespace zoo
