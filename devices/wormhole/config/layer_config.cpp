#include "config/layer_config.hpp"

#include <array>
#include <utility>
#include <variant>

namespace zoo::wormhole {
namespace {

template <class E, size_t N>
using NameTable = std::array<std::pair<E, const char*>, N>;

constexpr NameTable<MathFidelity, 4> k_fidelities{{
    {MathFidelity::LoFi, "LoFi"},
    {MathFidelity::HiFi2, "HiFi2"},
    {MathFidelity::HiFi3, "HiFi3"},
    {MathFidelity::HiFi4, "HiFi4"},
}};
constexpr NameTable<ShardLayout, 5> k_layouts{{
    {ShardLayout::Auto, "auto"},
    {ShardLayout::Interleaved, "INTERLEAVED"},
    {ShardLayout::HeightSharded, "HEIGHT_SHARDED"},
    {ShardLayout::WidthSharded, "WIDTH_SHARDED"},
    {ShardLayout::BlockSharded, "BLOCK_SHARDED"},
}};
constexpr NameTable<OutputMemory, 4> k_memories{{
    {OutputMemory::Auto, "auto"},
    {OutputMemory::L1Sharded, "L1_SHARDED"},
    {OutputMemory::L1Interleaved, "L1_INTERLEAVED"},
    {OutputMemory::DramInterleaved, "DRAM_INTERLEAVED"},
}};
constexpr NameTable<TensorLayout, 2> k_tensor_layouts{{
    {TensorLayout::Tile, "TILE"},
    {TensorLayout::RowMajor, "ROW_MAJOR"},
}};
constexpr NameTable<ConvertOp, 5> k_converts{{
    {ConvertOp::ShardedToInterleaved, "sharded_to_interleaved"},
    {ConvertOp::InterleavedToSharded, "interleaved_to_sharded"},
    {ConvertOp::ToRowMajor, "to_row_major"},
    {ConvertOp::ToTile, "to_tile"},
    {ConvertOp::Reshape, "reshape"},
}};

// The name table of each enum an option may hold.
constexpr const auto& names_of(MathFidelity) { return k_fidelities; }
constexpr const auto& names_of(ShardLayout) { return k_layouts; }
constexpr const auto& names_of(OutputMemory) { return k_memories; }
constexpr const auto& names_of(TensorLayout) { return k_tensor_layouts; }
constexpr const auto& names_of(ConvertOp) { return k_converts; }

template <class E>
const char* name_of(E value) {
    for (const auto& [e, text] : names_of(value))
        if (e == value) return text;
    return "unknown";
}

template <class E>
bool from_name(const std::string& text, E& out) {
    for (const auto& [e, name] : names_of(E{})) {
        if (text == name) {
            out = e;
            return true;
        }
    }
    return false;
}

template <class E>
std::vector<std::string> all_names() {
    std::vector<std::string> out;
    for (const auto& entry : names_of(E{})) out.emplace_back(entry.second);
    return out;
}

using Config = WormholeLayerConfig;
// The member an option sets; its type decides the option's type.
using Field = std::variant<bool Config::*, int Config::*, MathFidelity Config::*, ShardLayout Config::*,
                           OutputMemory Config::*, TensorLayout Config::*, CoreGrid Config::*,
                           std::vector<ConvertOp> Config::*>;

struct OptionRow {
    const char* name;
    Field field;
    const char* doc;
};

// Every option of this device, once: its key, the member it sets and what it does (tt-metal's names for each).
const std::vector<OptionRow>& option_rows() {
    static const std::vector<OptionRow> rows{
        {"math_fidelity", &Config::math_fidelity, "FPU multiplier passes: LoFi 1, HiFi2 2, HiFi3 3, HiFi4 4 (compute kernel config)"},
        {"fp32_dest_acc", &Config::fp32_dest_acc, "Dst accumulates in fp32 instead of bf16 (fp32_dest_acc_en)"},
        {"packer_l1_acc", &Config::packer_l1_acc, "the packer accumulates K blocks in L1 (packer_l1_acc)"},
        {"math_approx", &Config::math_approx, "SFPU approximations (math_approx_mode)"},
        {"shard_layout", &Config::shard_layout, "conv sharding (Conv2dConfig.shard_layout); auto = the conv's own choice"},
        {"act_block_h", &Config::act_block_h, "activation block rows, a multiple of 32 (act_block_h_override); 0 = whole shard"},
        {"core_grid", &Config::core_grid, "cores the layer runs on, [x, y] or XxY; auto = the device's choice"},
        {"deallocate_activation", &Config::deallocate_activation, "free the conv's input once read (Conv2dConfig.deallocate_activation)"},
        {"output_memory", &Config::output_memory, "where the op writes its output (memory_config); auto = where the op leaves it"},
        {"output_layout", &Config::output_layout, "layout of the op's output (TILE or ROW_MAJOR)"},
        {"fuse_activation", &Config::fuse_activation, "an activation after a conv runs inside it (conv2d's activation argument)"},
        {"composite_activation", &Config::composite_activation, "hardswish / hardsigmoid / silu as the composite of simpler ops"},
        {"pool_as_reduction", &Config::pool_as_reduction, "global average pool as ttnn.global_avg_pool2d's reduction"},
        {"enable_act_double_buffer", &Config::enable_act_double_buffer, "double-buffered activation CB (Conv2dConfig)"},
        {"enable_weights_double_buffer", &Config::enable_weights_double_buffer, "double-buffered weights CB (Conv2dConfig)"},
        {"enable_split_reader", &Config::enable_split_reader, "activation reads split over both data-movement RISCs (Conv2dConfig)"},
        {"reshard_if_not_optimal", &Config::reshard_if_not_optimal, "reshard an input the conv would shard otherwise (Conv2dConfig)"},
        {"enable_activation_reuse", &Config::enable_activation_reuse,
         "later output rows of an activation block reuse the gathered kernel rows (Conv2dConfig; HEIGHT-sharded convs)"},
        {"convert_output", &Config::convert_output, "conversion ops run after the layer, in order (ttnn.sharded_to_interleaved, ...)"},
    };
    return rows;
}

// The spec of one row: type and choices from the member, default from the card's default config.
LayerOptionSpec spec_of(const OptionRow& row, const Config& defaults) {
    LayerOptionSpec spec;
    spec.name = row.name;
    spec.doc = row.doc;
    std::visit(
        [&](auto member) {
            using T = std::decay_t<decltype(defaults.*member)>;
            const T& value = defaults.*member;
            if constexpr (std::is_same_v<T, bool>) {
                spec.type = LayerOptionSpec::Type::Flag;
                spec.default_value = value ? "on" : "off";
            } else if constexpr (std::is_same_v<T, int>) {
                // act_block_h: rows of tiles (32), bounded so that no value wraps when held as int.
                spec.type = LayerOptionSpec::Type::Integer;
                spec.multiple_of = 32;
                spec.max = int64_t{1} << 20;
                spec.default_value = std::to_string(value);
            } else if constexpr (std::is_same_v<T, CoreGrid>) {
                // At most 64 cores per side: more than any Tenstorrent grid, small enough to catch a typo.
                spec.type = LayerOptionSpec::Type::Grid;
                spec.min = 1;
                spec.max = 64;
                spec.default_value = value.x ? std::to_string(value.x) + "x" + std::to_string(value.y) : "auto";
            } else if constexpr (std::is_same_v<T, std::vector<ConvertOp>>) {
                spec.type = LayerOptionSpec::Type::ChoiceList;
                spec.choices = all_names<ConvertOp>();
                for (ConvertOp op : value) spec.default_value += (spec.default_value.empty() ? "" : ",") + std::string(name_of(op));
            } else {
                spec.type = LayerOptionSpec::Type::Choice;
                spec.choices = all_names<T>();
                spec.default_value = name_of(value);
            }
        },
        row.field);
    return spec;
}

// Reads one checked option into its member.
Status read_option(const OptionRow& row, const LayerOptions& options, Config& out) {
    return std::visit(
        [&](auto member) -> Status {
            using T = std::decay_t<decltype(out.*member)>;
            if constexpr (std::is_same_v<T, bool>) {
                ZOO_ASSIGN_OR_RETURN(out.*member, options.flag(row.name));
            } else if constexpr (std::is_same_v<T, int>) {
                ZOO_ASSIGN_OR_RETURN(int64_t n, options.integer(row.name));
                out.*member = static_cast<int>(n);  // checked against the spec's max
            } else if constexpr (std::is_same_v<T, CoreGrid>) {
                ZOO_ASSIGN_OR_RETURN(auto xy, options.grid(row.name));
                out.*member = {static_cast<int>(xy.first), static_cast<int>(xy.second)};
            } else if constexpr (std::is_same_v<T, std::vector<ConvertOp>>) {
                ZOO_ASSIGN_OR_RETURN(auto names, options.choice_list(row.name));
                T ops(names.size());
                for (size_t i = 0; i < names.size(); ++i)
                    if (!from_name(names[i], ops[i])) return Status::error(std::string(row.name) + ": unknown op " + names[i]);
                out.*member = std::move(ops);
            } else {
                ZOO_ASSIGN_OR_RETURN(std::string name, options.choice(row.name));
                if (!from_name(name, out.*member)) return Status::error(std::string(row.name) + ": unknown value " + name);
            }
            return Status::ok();
        },
        row.field);
}

}  // namespace

const char* math_fidelity_name(MathFidelity f) { return name_of(f); }
const char* shard_layout_name(ShardLayout s) { return name_of(s); }
const char* output_memory_name(OutputMemory m) { return name_of(m); }
const char* tensor_layout_name(TensorLayout l) { return name_of(l); }
const char* convert_op_name(ConvertOp c) { return name_of(c); }

WormholeLayerConfig card_default_config() {
    WormholeLayerConfig c;
    c.dtype = DataFormat::BFloat16;
    c.weights_dtype = DataFormat::BFloat16;
    c.math_fidelity = MathFidelity::HiFi4;
    c.fp32_dest_acc = false;
    c.packer_l1_acc = false;
    c.math_approx = true;
    c.shard_layout = ShardLayout::Auto;
    return c;
}

const std::vector<LayerOptionSpec>& layer_option_specs() {
    static const std::vector<LayerOptionSpec> specs = [] {
        const Config defaults = card_default_config();
        std::vector<LayerOptionSpec> out;
        for (const auto& row : option_rows()) out.push_back(spec_of(row, defaults));
        return out;
    }();
    return specs;
}

LayerConfig layer_config_defaults() {
    const Config card = card_default_config();
    LayerConfig c;
    c.dtype = card.dtype;
    c.weights_dtype = card.weights_dtype;
    c.options = LayerOptions::defaults(layer_option_specs());
    return c;
}

Result<WormholeLayerConfig> read_layer_config(const LayerConfig& config) {
    WormholeLayerConfig out = card_default_config();
    out.dtype = config.dtype;
    out.weights_dtype = config.weights_dtype;
    // Checked again here, against this device's own specs: the runner checks, but an SDK user may call compile()
    // directly, and a value out of range (act_block_h 4294967328) must not wrap into a valid one.
    const auto& rows = option_rows();
    const auto& specs = layer_option_specs();
    for (size_t i = 0; i < rows.size(); ++i) {
        const SpecValue* value = config.options.find(rows[i].name);
        if (!value) continue;
        ZOO_TRY(check_layer_option(specs[i], *value));
        ZOO_TRY(read_option(rows[i], config.options, out));
    }
    return out;
}

}  // namespace zoo::wormhole
