#include "config/run_config.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <iomanip>
#include <map>
#include <sstream>

namespace zoo::runner {

namespace {

bool is_common_key(const std::string& key) {
    const auto& keys = common_layer_keys();
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

bool is_layer_key(const std::string& key, const LayerOptionCatalog& known) {
    return is_common_key(key) || find_layer_option(known, key) != nullptr;
}

std::string accepted_keys(const std::vector<LayerOptionSpec>& options) {
    std::vector<std::string> names = common_layer_keys();
    for (const auto& o : options)
        if (std::find(names.begin(), names.end(), o.name) == names.end()) names.push_back(o.name);
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

Status bad_value(const SpecValue& v, const std::string& key, const std::string& expected) {
    return Status::error(StatusCode::InvalidArgument,
                         v.source() + ": '" + key + "' must be " + expected + ", found " + v.describe());
}

Status unknown_setting(const SpecValue& v, const std::string& key, const LayerOptionCatalog& known) {
    return Status::error(StatusCode::InvalidArgument,
                         v.source() + ": unknown layer setting '" + key + "' (accepted: " + accepted_keys(known) + ")");
}

// A common key applied to a config.
Status apply_common_key(LayerConfig& c, const std::string& key, const SpecValue& v) {
    DataFormat f;
    if (v.kind() != SpecValue::Kind::Scalar || !data_format_from_name(v.text(), f))
        return bad_value(v, key, "one of float32, bfloat16, bfloat8_b, bfloat4_b");
    (key == "dtype" ? c.dtype : c.weights_dtype) = f;
    return Status::ok();
}

// A setting checked against what any device accepts, as the run config is read.
Status check_setting(const std::string& key, const SpecValue& v, const LayerOptionCatalog& known) {
    if (is_common_key(key)) {
        LayerConfig probe;
        return apply_common_key(probe, key, v);
    }
    // Valid when any device that declares the option accepts it; else the first declaration's refusal.
    Status first = unknown_setting(v, key, known);
    bool declared = false;
    for (const auto& spec : known) {
        if (spec.name != key) continue;
        Status s = check_layer_option(spec, v);
        if (s) return s;
        if (!declared) first = s;
        declared = true;
    }
    return first;
}

// The settings of one rule (or of the defaults) that `device` takes, each checked once against its declaration;
// options it does not declare are noted in `ignored` (key -> where the first such setting was written).
Result<SpecValue> settings_for(const SpecValue& settings, const DeviceLayerOptions& device,
                               std::map<std::string, std::string>& ignored) {
    SpecValue kept = SpecValue::map(settings.source());
    for (const auto& [key, v] : settings.entries()) {
        if (is_common_key(key)) {
            LayerConfig probe;
            ZOO_TRY(apply_common_key(probe, key, v));
        } else if (const LayerOptionSpec* spec = find_layer_option(device.options, key)) {
            ZOO_TRY(check_layer_option(*spec, v));
        } else {
            ignored.emplace(key, v.source());
            continue;
        }
        kept.set(key, v);
    }
    return kept;
}

// Settings from settings_for applied to one node's config.
Status apply_settings(LayerConfig& c, const SpecValue& kept) {
    for (const auto& [key, v] : kept.entries()) {
        if (is_common_key(key))
            ZOO_TRY(apply_common_key(c, key, v));
        else
            c.options.set(key, v);
    }
    return Status::ok();
}

std::string config_cell(const std::vector<LayerOptionSpec>& options, const LayerConfig& c, const std::string& key) {
    if (key == "dtype") return data_format_name(c.dtype);
    if (key == "weights_dtype") return data_format_name(c.weights_dtype);
    const LayerOptionSpec* spec = find_layer_option(options, key);
    const SpecValue* value = c.options.find(key);
    return spec && value ? layer_option_text(*spec, *value) : "-";
}

}  // namespace

// The device's L1_SMALL region (ttnn.open_device(l1_small_size=...)): bytes, a positive multiple of 32.
Result<int64_t> l1_small_size_of(const SpecValue& v) {
    auto n = v.as_int();
    if (!n || *n <= 0 || *n % 32 != 0 || *n > (int64_t{1} << 30))
        return bad_value(v, "l1_small_size", "a positive number of bytes, a multiple of 32 (e.g. 8192, 32768)");
    return *n;
}

Result<RunConfig> load_run_config(const std::string& path, const LayerOptionCatalog& known) {
    ZOO_ASSIGN_OR_RETURN(SpecValue root, load_yaml_spec(path));
    ZOO_TRY(root.check_keys({"name", "description", "device", "batch", "l1_small_size", "defaults", "layers"}));
    RunConfig config;
    config.path = path;
    if (const SpecValue* d = root.find("device")) {
        if (d->kind() != SpecValue::Kind::Scalar) return bad_value(*d, "device", "a device name (e.g. wormhole, cpu)");
        config.device = d->text();
    }
    if (const SpecValue* b = root.find("batch")) {
        auto n = b->as_int();
        if (!n || *n <= 0) return bad_value(*b, "batch", "a positive integer");
        config.batch = *n;
    }
    if (const SpecValue* l1 = root.find("l1_small_size")) {
        ZOO_ASSIGN_OR_RETURN(config.l1_small_size, l1_small_size_of(*l1));
    }
    if (const SpecValue* d = root.find("defaults")) {
        if (d->kind() != SpecValue::Kind::Map) return bad_value(*d, "defaults", "a map of layer settings");
        for (const auto& [k, v] : d->entries()) ZOO_TRY(check_setting(k, v, known));
        config.defaults = *d;
    }
    if (const SpecValue* layers = root.find("layers")) {
        if (layers->kind() != SpecValue::Kind::List)
            return bad_value(*layers, "layers", "a list of {match: PATTERN, [op: OP], key: value...}");
        for (const auto& item : layers->items()) {
            if (item.kind() != SpecValue::Kind::Map)
                return bad_value(item, "layers", "a list of {match: PATTERN, [op: OP], key: value...}");
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
            for (const auto& [k, v] : item.entries()) {
                if (k == "match" || k == "op") continue;
                ZOO_TRY(check_setting(k, v, known));
                rule.settings.set(k, v);
            }
            config.rules.push_back(std::move(rule));
        }
    }
    return config;
}

Result<bool> apply_config_override(RunConfig& config, const SetOverride& set, const LayerOptionCatalog& known) {
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
        if (!is_layer_key(key, known))
            return Status::error(StatusCode::InvalidArgument,
                                 set.origin + ": unknown layer setting '" + key + "' (accepted: " + accepted_keys(known) + ")");
    }
    if (!is_layer_key(key, known)) return false;
    ZOO_ASSIGN_OR_RETURN(SpecValue value, override_value(set));
    ZOO_TRY(check_setting(key, value, known));
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

Result<ResolvedConfigs> resolve_layer_configs(const Graph& graph, const DeviceLayerOptions& device, const RunConfig& config) {
    // Options the device's default config leaves out take their declared defaults; declaration order is kept.
    LayerConfig base = device.defaults;
    base.options = LayerOptions::defaults(device.options);
    for (const auto& [key, value] : device.defaults.options.entries()) base.options.set(key, value);
    std::map<std::string, std::string> ignored;
    ZOO_ASSIGN_OR_RETURN(const SpecValue defaults, settings_for(config.defaults, device, ignored));
    ZOO_TRY(apply_settings(base, defaults));
    ResolvedConfigs resolved;
    // A note, not an error: a config's layer settings may still apply to another device.
    if (!config.device.empty() && config.device != device.device_name)
        resolved.warnings.push_back(config.path + " was written for device '" + config.device + "', running on '" +
                                    device.device_name + "'");
    resolved.per_node.assign(graph.nodes.size(), base);
    for (const auto& rule : config.rules) {
        ZOO_ASSIGN_OR_RETURN(const SpecValue kept, settings_for(rule.settings, device, ignored));
        int matched = 0;
        for (size_t i = 0; i < graph.nodes.size(); ++i) {
            const Node& n = graph.nodes[i];
            if (rule.op && n.op != *rule.op) continue;
            if (fnmatch(rule.pattern.c_str(), n.name.c_str(), 0) != 0) continue;
            ++matched;
            ZOO_TRY(apply_settings(resolved.per_node[i], kept));
        }
        if (matched == 0)
            resolved.warnings.push_back(rule.source + ": pattern '" + rule.pattern + "'" +
                                        (rule.op ? std::string(" (op ") + op_name(*rule.op) + ")" : "") +
                                        " matches no layer of " + graph.name);
    }
    // One line for all of them: a config written for another device names many of its options.
    if (!ignored.empty()) {
        std::string own;
        for (const auto& o : device.options) own += (own.empty() ? "" : ", ") + o.name;
        std::string list;
        for (const auto& [key, source] : ignored) list += (list.empty() ? "" : ", ") + ("'" + key + "' at " + source);
        resolved.warnings.push_back("device '" + device.device_name + "' ignores settings of options it does not have (its own: " +
                                    (own.empty() ? std::string("none") : own) + "): " + list);
    }
    return resolved;
}

std::string format_config_table(const Graph& graph, const std::vector<LayerOptionSpec>& options,
                                const std::vector<LayerConfig>& configs) {
    std::vector<std::string> keys = common_layer_keys();
    for (const auto& o : options) keys.push_back(o.name);
    std::vector<std::string> header{"layer", "op", "output"};
    header.insert(header.end(), keys.begin(), keys.end());
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        const Node& n = graph.nodes[i];
        std::vector<std::string> row{n.name, op_name(n.op), shape_to_string(n.output_shape)};
        for (const auto& k : keys) row.push_back(config_cell(options, configs[i], k));
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

std::string format_option_declarations(const std::string& device_name, const std::vector<LayerOptionSpec>& options) {
    std::ostringstream out;
    out << "Layer settings on " << device_name << ": the common keys dtype and weights_dtype (one of float32, bfloat16, "
        << "bfloat8_b, bfloat4_b)";
    if (options.empty()) return out.str() + "; the device declares no options of its own.\n";
    out << ", and the options the device declares:\n";
    size_t width = 0;
    for (const auto& o : options) width = std::max(width, o.name.size());
    for (const auto& o : options)
        out << "  " << std::left << std::setw(static_cast<int>(width)) << o.name << "  " << o.doc << "\n"
            << "  " << std::string(width, ' ') << "  " << describe_expected(o) << "; default "
            << (o.default_value.empty() ? "none" : o.default_value) << "\n";
    return out.str();
}

}  // namespace zoo::runner
