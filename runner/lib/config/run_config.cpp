#include "config/run_config.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <iomanip>
#include <sstream>

namespace zoo::runner {

const std::vector<std::string>& layer_config_keys() {
    static const std::vector<std::string> keys{"dtype",
                                               "weights_dtype",
                                               "math_fidelity",
                                               "fp32_dest_acc",
                                               "packer_l1_acc",
                                               "math_approx",
                                               "shard_layout",
                                               "act_block_h",
                                               "core_grid",
                                               "deallocate_activation",
                                               "output_memory",
                                               "output_layout",
                                               "fuse_activation",
                                               "composite_activation",
                                               "pool_as_reduction",
                                               "enable_act_double_buffer",
                                               "enable_weights_double_buffer",
                                               "enable_split_reader",
                                               "reshard_if_not_optimal",
                                               "convert_output"};
    return keys;
}

namespace {

bool is_layer_key(const std::string& key) {
    const auto& keys = layer_config_keys();
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

std::string joined_keys() {
    std::string out;
    for (const auto& k : layer_config_keys()) out += (out.empty() ? "" : ", ") + k;
    return out;
}

Status check_layer_keys(const SpecValue& map, const std::vector<std::string>& extra) {
    std::vector<std::string> allowed = layer_config_keys();
    allowed.insert(allowed.end(), extra.begin(), extra.end());
    return map.check_keys(allowed);
}

Status bad_value(const SpecValue& v, const std::string& key, const std::string& expected) {
    return Status::error(v.source() + ": '" + key + "' must be " + expected + ", found " + v.describe());
}

// The boolean program options, by key (null for other keys); Config is LayerConfig or const LayerConfig.
template <class Config>
auto flag_field(Config& c, const std::string& key) -> decltype(&c.fuse_activation) {
    if (key == "fuse_activation") return &c.fuse_activation;
    if (key == "composite_activation") return &c.composite_activation;
    if (key == "pool_as_reduction") return &c.pool_as_reduction;
    if (key == "enable_act_double_buffer") return &c.enable_act_double_buffer;
    if (key == "enable_weights_double_buffer") return &c.enable_weights_double_buffer;
    if (key == "enable_split_reader") return &c.enable_split_reader;
    if (key == "reshard_if_not_optimal") return &c.reshard_if_not_optimal;
    return nullptr;
}

std::string config_cell(const LayerConfig& c, const std::string& key) {
    if (key == "dtype") return data_format_name(c.dtype);
    if (key == "weights_dtype") return data_format_name(c.weights_dtype);
    if (key == "math_fidelity") return math_fidelity_name(c.math_fidelity);
    if (key == "fp32_dest_acc") return c.fp32_dest_acc ? "on" : "off";
    if (key == "packer_l1_acc") return c.packer_l1_acc ? "on" : "off";
    if (key == "math_approx") return c.math_approx ? "on" : "off";
    if (key == "shard_layout") return shard_layout_name(c.shard_layout);
    if (key == "act_block_h") return c.act_block_h ? std::to_string(c.act_block_h) : "auto";
    if (key == "core_grid") return c.core_grid.x ? std::to_string(c.core_grid.x) + "x" + std::to_string(c.core_grid.y) : "auto";
    if (key == "deallocate_activation") return c.deallocate_activation ? "yes" : "no";
    if (key == "output_memory") return output_memory_name(c.output_memory);
    if (key == "output_layout") return tensor_layout_name(c.output_layout);
    if (const bool* flag = flag_field(c, key)) return *flag ? "on" : "off";
    if (key == "convert_output") {
        std::string out;
        for (ConvertOp op : c.convert_output) out += (out.empty() ? "" : ">") + std::string(convert_op_name(op));
        return out.empty() ? "-" : out;
    }
    return "?";
}

}  // namespace

Status apply_layer_setting(LayerConfig& c, const std::string& key, const SpecValue& v) {
    if (key == "dtype" || key == "weights_dtype") {
        DataFormat f;
        if (v.kind() != SpecValue::Kind::Scalar || !data_format_from_name(v.text(), f))
            return bad_value(v, key, "one of float32, bfloat16, bfloat8_b, bfloat4_b");
        (key == "dtype" ? c.dtype : c.weights_dtype) = f;
    } else if (key == "math_fidelity") {
        if (v.kind() != SpecValue::Kind::Scalar || !math_fidelity_from_name(v.text(), c.math_fidelity))
            return bad_value(v, key, "one of LoFi, HiFi2, HiFi3, HiFi4");
    } else if (key == "fp32_dest_acc" || key == "packer_l1_acc" || key == "math_approx" || key == "deallocate_activation") {
        auto b = v.as_bool();
        if (!b) return bad_value(v, key, "true or false");
        bool& field = key == "fp32_dest_acc"   ? c.fp32_dest_acc
                      : key == "packer_l1_acc" ? c.packer_l1_acc
                      : key == "math_approx"   ? c.math_approx
                                               : c.deallocate_activation;
        field = *b;
    } else if (bool* flag = flag_field(c, key)) {
        auto b = v.as_bool();
        if (!b) return bad_value(v, key, "true or false");
        *flag = *b;
    } else if (key == "output_memory") {
        if (v.kind() != SpecValue::Kind::Scalar || !output_memory_from_name(v.text(), c.output_memory))
            return bad_value(v, key, "one of auto, L1_SHARDED, L1_INTERLEAVED, DRAM_INTERLEAVED");
    } else if (key == "output_layout") {
        if (v.kind() != SpecValue::Kind::Scalar || !tensor_layout_from_name(v.text(), c.output_layout))
            return bad_value(v, key, "TILE or ROW_MAJOR");
    } else if (key == "convert_output") {
        // A list of conversion ops, or one name; [] clears.
        std::vector<ConvertOp> ops;
        const std::string expected =
            "a list of sharded_to_interleaved, interleaved_to_sharded, to_row_major, to_tile, reshape";
        if (v.kind() == SpecValue::Kind::List) {
            for (const auto& item : v.items()) {
                ConvertOp op;
                if (item.kind() != SpecValue::Kind::Scalar || !convert_op_from_name(item.text(), op))
                    return bad_value(item, key, expected);
                ops.push_back(op);
            }
        } else {
            ConvertOp op;
            if (v.kind() != SpecValue::Kind::Scalar || !convert_op_from_name(v.text(), op)) return bad_value(v, key, expected);
            ops.push_back(op);
        }
        c.convert_output = std::move(ops);
    } else if (key == "shard_layout") {
        if (v.kind() != SpecValue::Kind::Scalar || !shard_layout_from_name(v.text(), c.shard_layout))
            return bad_value(v, key, "one of auto, INTERLEAVED, HEIGHT_SHARDED, WIDTH_SHARDED, BLOCK_SHARDED");
    } else if (key == "act_block_h") {
        auto n = v.as_int();
        if (!n || *n < 0 || *n % 32 != 0) return bad_value(v, key, "0 (auto) or a positive multiple of 32");
        // Bounded before the cast to int: 4294967328 would otherwise silently become 32.
        if (*n > (int64_t{1} << 20)) return bad_value(v, key, "at most 1048576 rows");
        c.act_block_h = static_cast<int>(*n);
    } else if (key == "core_grid") {
        // [x, y] or "XxY"
        int64_t xy[2] = {0, 0};
        bool ok = false;
        if (v.kind() == SpecValue::Kind::List && v.items().size() == 2) {
            auto x = v.items()[0].as_int(), y = v.items()[1].as_int();
            ok = x && y;
            if (ok) xy[0] = *x, xy[1] = *y;
        } else if (v.kind() == SpecValue::Kind::Scalar) {
            ok = std::sscanf(v.text().c_str(), "%ldx%ld", &xy[0], &xy[1]) == 2;
        }
        if (!ok || xy[0] <= 0 || xy[1] <= 0 || xy[0] > 64 || xy[1] > 64)
            return bad_value(v, key, "[x, y] or XxY with positive core counts");
        c.core_grid = {static_cast<int>(xy[0]), static_cast<int>(xy[1])};
    } else {
        return Status::error(v.source() + ": unknown layer setting '" + key + "' (accepted: " + joined_keys() + ")");
    }
    return Status::ok();
}

// The device's L1_SMALL region (ttnn.open_device(l1_small_size=...)): bytes, a positive multiple of 32.
Result<int64_t> l1_small_size_of(const SpecValue& v) {
    auto n = v.as_int();
    if (!n || *n <= 0 || *n % 32 != 0 || *n > (int64_t{1} << 30))
        return bad_value(v, "l1_small_size", "a positive number of bytes, a multiple of 32 (e.g. 8192, 32768)");
    return *n;
}

Result<RunConfig> load_run_config(const std::string& path) {
    ZOO_ASSIGN_OR_RETURN(SpecValue root, load_yaml_spec(path));
    ZOO_TRY(root.check_keys({"name", "description", "device", "batch", "l1_small_size", "defaults", "layers"}));
    RunConfig config;
    config.path = path;
    if (const SpecValue* b = root.find("batch")) {
        auto n = b->as_int();
        if (!n || *n <= 0) return bad_value(*b, "batch", "a positive integer");
        config.batch = *n;
    }
    if (const SpecValue* l1 = root.find("l1_small_size")) {
        ZOO_ASSIGN_OR_RETURN(config.l1_small_size, l1_small_size_of(*l1));
    }
    if (const SpecValue* d = root.find("defaults")) {
        ZOO_TRY(check_layer_keys(*d, {}));
        LayerConfig probe;
        for (const auto& [k, v] : d->entries()) ZOO_TRY(apply_layer_setting(probe, k, v));
        config.defaults = *d;
    }
    if (const SpecValue* layers = root.find("layers")) {
        if (layers->kind() != SpecValue::Kind::List)
            return bad_value(*layers, "layers", "a list of {match: PATTERN, [op: OP], key: value...}");
        for (const auto& item : layers->items()) {
            ZOO_TRY(check_layer_keys(item, {"match", "op"}));
            LayerRule rule;
            rule.source = item.source();
            ZOO_ASSIGN_OR_RETURN(const SpecValue* match, item.get("match"));
            ZOO_ASSIGN_OR_RETURN(rule.pattern, match->as_string());
            if (const SpecValue* op = item.find("op")) {
                OpKind kind;
                if (op->kind() != SpecValue::Kind::Scalar || !op_from_name(op->text(), kind))
                    return bad_value(*op, "op", "an op name such as conv2d, linear, add");
                rule.op = kind;
            }
            rule.settings = SpecValue::map(item.source());
            LayerConfig probe;
            for (const auto& [k, v] : item.entries()) {
                if (k == "match" || k == "op") continue;
                ZOO_TRY(apply_layer_setting(probe, k, v));
                rule.settings.set(k, v);
            }
            config.rules.push_back(std::move(rule));
        }
    }
    return config;
}

Result<bool> apply_config_override(RunConfig& config, const SetOverride& set) {
    if (set.key == "l1_small_size") {
        ZOO_ASSIGN_OR_RETURN(SpecValue value, override_value(set));
        ZOO_ASSIGN_OR_RETURN(config.l1_small_size, l1_small_size_of(value));
        return true;
    }
    std::string key = set.key;
    std::string pattern;
    if (size_t colon = key.rfind(':'); colon != std::string::npos) {
        pattern = key.substr(0, colon);
        key = key.substr(colon + 1);
        if (!is_layer_key(key))
            return Status::error(set.origin + ": unknown layer setting '" + key + "' (accepted: " + joined_keys() + ")");
    }
    if (!is_layer_key(key)) return false;
    ZOO_ASSIGN_OR_RETURN(SpecValue value, override_value(set));
    LayerConfig probe;
    ZOO_TRY(apply_layer_setting(probe, key, value));
    if (pattern.empty()) {
        config.defaults.set(key, value);
    } else {
        LayerRule rule;
        rule.pattern = pattern;
        rule.source = set.origin;
        rule.settings = SpecValue::map(set.origin);
        rule.settings.set(key, value);
        config.rules.push_back(std::move(rule));
    }
    return true;
}

Result<ResolvedConfigs> resolve_layer_configs(const Graph& graph, const LayerConfig& device_defaults, const RunConfig& config) {
    LayerConfig base = device_defaults;
    for (const auto& [k, v] : config.defaults.entries()) ZOO_TRY(apply_layer_setting(base, k, v));
    ResolvedConfigs resolved;
    resolved.per_node.assign(graph.nodes.size(), base);
    for (const auto& rule : config.rules) {
        int matched = 0;
        for (size_t i = 0; i < graph.nodes.size(); ++i) {
            const Node& n = graph.nodes[i];
            if (rule.op && n.op != *rule.op) continue;
            if (fnmatch(rule.pattern.c_str(), n.name.c_str(), 0) != 0) continue;
            ++matched;
            for (const auto& [k, v] : rule.settings.entries()) ZOO_TRY(apply_layer_setting(resolved.per_node[i], k, v));
        }
        if (matched == 0)
            resolved.warnings.push_back(rule.source + ": pattern '" + rule.pattern + "'" +
                                        (rule.op ? std::string(" (op ") + op_name(*rule.op) + ")" : "") +
                                        " matches no layer of " + graph.name);
    }
    return resolved;
}

std::string format_config_table(const Graph& graph, const std::vector<LayerConfig>& configs) {
    std::vector<std::string> header{"layer", "op", "output"};
    for (const auto& k : layer_config_keys()) header.push_back(k);
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        const Node& n = graph.nodes[i];
        std::vector<std::string> row{n.name, op_name(n.op), shape_to_string(n.output_shape)};
        for (const auto& k : layer_config_keys()) row.push_back(config_cell(configs[i], k));
        rows.push_back(std::move(row));
    }
    std::vector<size_t> width(header.size());
    for (size_t c = 0; c < header.size(); ++c) {
        width[c] = header[c].size();
        for (const auto& r : rows) width[c] = std::max(width[c], r[c].size());
    }
    std::ostringstream out;
    auto line = [&](const std::vector<std::string>& cells) {
        for (size_t c = 0; c < cells.size(); ++c)
            out << std::left << std::setw(static_cast<int>(width[c])) << cells[c] << (c + 1 < cells.size() ? "  " : "\n");
    };
    line(header);
    for (const auto& r : rows) line(r);
    return out.str();
}

}  // namespace zoo::runner
