#include "zoo/layer_config.hpp"

#include <array>
#include <utility>

namespace zoo {
namespace {

constexpr std::array<std::pair<DataFormat, const char*>, 4> k_formats{{
    {DataFormat::Float32, "float32"},
    {DataFormat::BFloat16, "bfloat16"},
    {DataFormat::BFloat8_b, "bfloat8_b"},
    {DataFormat::BFloat4_b, "bfloat4_b"},
}};
constexpr std::array<std::pair<MathFidelity, const char*>, 4> k_fidelities{{
    {MathFidelity::LoFi, "LoFi"},
    {MathFidelity::HiFi2, "HiFi2"},
    {MathFidelity::HiFi3, "HiFi3"},
    {MathFidelity::HiFi4, "HiFi4"},
}};
constexpr std::array<std::pair<ShardLayout, const char*>, 5> k_layouts{{
    {ShardLayout::Auto, "auto"},
    {ShardLayout::Interleaved, "INTERLEAVED"},
    {ShardLayout::HeightSharded, "HEIGHT_SHARDED"},
    {ShardLayout::WidthSharded, "WIDTH_SHARDED"},
    {ShardLayout::BlockSharded, "BLOCK_SHARDED"},
}};

constexpr std::array<std::pair<OutputMemory, const char*>, 4> k_memories{{
    {OutputMemory::Auto, "auto"},
    {OutputMemory::L1Sharded, "L1_SHARDED"},
    {OutputMemory::L1Interleaved, "L1_INTERLEAVED"},
    {OutputMemory::DramInterleaved, "DRAM_INTERLEAVED"},
}};
constexpr std::array<std::pair<TensorLayout, const char*>, 2> k_tensor_layouts{{
    {TensorLayout::Tile, "TILE"},
    {TensorLayout::RowMajor, "ROW_MAJOR"},
}};
constexpr std::array<std::pair<ConvertOp, const char*>, 5> k_converts{{
    {ConvertOp::ShardedToInterleaved, "sharded_to_interleaved"},
    {ConvertOp::InterleavedToSharded, "interleaved_to_sharded"},
    {ConvertOp::ToRowMajor, "to_row_major"},
    {ConvertOp::ToTile, "to_tile"},
    {ConvertOp::Reshape, "reshape"},
}};

template <class E, size_t N>
const char* name_of(const std::array<std::pair<E, const char*>, N>& table, E value) {
    for (const auto& [e, text] : table)
        if (e == value) return text;
    return "unknown";
}

template <class E, size_t N>
bool parse(const std::array<std::pair<E, const char*>, N>& table, const std::string& text, E& out) {
    for (const auto& [e, name] : table) {
        if (text == name) {
            out = e;
            return true;
        }
    }
    return false;
}

}  // namespace

const char* data_format_name(DataFormat f) { return name_of(k_formats, f); }
const char* math_fidelity_name(MathFidelity f) { return name_of(k_fidelities, f); }
const char* shard_layout_name(ShardLayout s) { return name_of(k_layouts, s); }
const char* output_memory_name(OutputMemory m) { return name_of(k_memories, m); }
const char* tensor_layout_name(TensorLayout l) { return name_of(k_tensor_layouts, l); }
const char* convert_op_name(ConvertOp c) { return name_of(k_converts, c); }
bool output_memory_from_name(const std::string& text, OutputMemory& out) { return parse(k_memories, text, out); }
bool tensor_layout_from_name(const std::string& text, TensorLayout& out) { return parse(k_tensor_layouts, text, out); }
bool convert_op_from_name(const std::string& text, ConvertOp& out) { return parse(k_converts, text, out); }
bool data_format_from_name(const std::string& text, DataFormat& out) { return parse(k_formats, text, out); }
bool math_fidelity_from_name(const std::string& text, MathFidelity& out) { return parse(k_fidelities, text, out); }
bool shard_layout_from_name(const std::string& text, ShardLayout& out) { return parse(k_layouts, text, out); }

}  // namespace zoo
