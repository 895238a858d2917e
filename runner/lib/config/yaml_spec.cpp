#include "config/yaml_spec.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>

#include "core/limits.hpp"
#include <sstream>

namespace zoo::runner {

namespace {

std::string where(const std::string& origin, const YAML::Mark& mark) {
    if (mark.is_null()) return origin;
    return origin + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

// yaml-cpp shares an aliased node instead of copying it, so a few hundred bytes of nested aliases ("billion laughs")
// describe billions of nodes; converting them would exhaust memory. Nodes are counted as they are converted (every
// alias expanded) and the nesting is bounded, so neither memory nor the recursion grows with hostile input.
struct Budget {
    int64_t nodes = 0;
};

Result<SpecValue> convert(const YAML::Node& node, const std::string& origin, Budget& budget, int64_t depth) {
    const std::string source = where(origin, node.Mark());
    if (++budget.nodes > limits().yaml_nodes)
        return Status::error(source + ": the document has more than " + std::to_string(limits().yaml_nodes) +
                             " nodes after expanding aliases " + limit_hint("yaml_nodes"));
    if (depth > limits().yaml_depth)
        return Status::error(source + ": the document nests deeper than " + std::to_string(limits().yaml_depth) + " levels " +
                             limit_hint("yaml_depth"));
    switch (node.Type()) {
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            return SpecValue::scalar("", source);
        case YAML::NodeType::Scalar:
            return SpecValue::scalar(node.Scalar(), source);
        case YAML::NodeType::Sequence: {
            SpecValue list = SpecValue::list(source);
            for (const auto& item : node) {
                ZOO_ASSIGN_OR_RETURN(SpecValue v, convert(item, origin, budget, depth + 1));
                list.push_back(std::move(v));
            }
            return list;
        }
        case YAML::NodeType::Map: {
            SpecValue map = SpecValue::map(source);
            for (const auto& kv : node) {
                if (!kv.first.IsScalar())
                    return Status::error(where(origin, kv.first.Mark()) + ": map keys must be plain names");
                const std::string key = kv.first.Scalar();
                if (map.find(key) != nullptr)
                    return Status::error(where(origin, kv.first.Mark()) + ": key '" + key + "' appears twice");
                ZOO_ASSIGN_OR_RETURN(SpecValue v, convert(kv.second, origin, budget, depth + 1));
                map.set(key, std::move(v));
            }
            return map;
        }
    }
    return Status::error(source + ": unsupported YAML node");
}

}  // namespace

Result<SpecValue> parse_yaml_spec(const std::string& text, const std::string& origin) {
    try {
        YAML::Node root = YAML::Load(text);
        Budget budget;
        return convert(root, origin, budget, 0);
    } catch (const YAML::Exception& e) {
        return Status::error(where(origin, e.mark) + ": invalid YAML: " + e.msg);
    } catch (const std::exception& e) {
        return Status::error(origin + ": cannot read the YAML: " + e.what());
    }
}

Result<SpecValue> load_yaml_spec(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::error(path + ": cannot open file");
    std::stringstream ss;
    ss << in.rdbuf();
    ZOO_ASSIGN_OR_RETURN(SpecValue root, parse_yaml_spec(ss.str(), path));
    if (root.kind() != SpecValue::Kind::Map)
        return Status::error(path + ": expected a YAML map at the top level, found " + root.describe());
    return root;
}

Result<SetOverride> parse_set_argument(const std::string& argument) {
    size_t eq = argument.find('=');
    if (eq == std::string::npos || eq == 0)
        return Status::error("--set " + argument + ": expected key=value (e.g. --set width_mult=0.75)");
    return SetOverride{argument.substr(0, eq), argument.substr(eq + 1), "--set " + argument};
}

Result<SpecValue> override_value(const SetOverride& set) {
    ZOO_ASSIGN_OR_RETURN(SpecValue v, parse_yaml_spec(set.value, set.origin));
    // Sources point at the command line, not at a line of a file.
    if (v.kind() == SpecValue::Kind::Scalar) return SpecValue::scalar(v.text(), set.origin);
    return v;
}

}  // namespace zoo::runner
