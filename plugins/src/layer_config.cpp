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
bool data_format_from_name(const std::string& text, DataFormat& out) { return parse(k_formats, text, out); }
bool math_fidelity_from_name(const std::string& text, MathFidelity& out) { return parse(k_fidelities, text, out); }
bool shard_layout_from_name(const std::string& text, ShardLayout& out) { return parse(k_layouts, text, out); }

}  // namespace zoo
