#include "config/yaml_spec.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

namespace zoo::runner {

namespace {

std::string where(const std::string& origin, const YAML::Mark& mark) {
    if (mark.is_null()) return origin;
    return origin + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

Result<SpecValue> convert(const YAML::Node& node, const std::string& origin) {
    const std::string source = where(origin, node.Mark());
    switch (node.Type()) {
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            return SpecValue::scalar("", source);
        case YAML::NodeType::Scalar:
            return SpecValue::scalar(node.Scalar(), source);
        case YAML::NodeType::Sequence: {
            SpecValue list = SpecValue::list(source);
            for (const auto& item : node) {
                ZOO_ASSIGN_OR_RETURN(SpecValue v, convert(item, origin));
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
                ZOO_ASSIGN_OR_RETURN(SpecValue v, convert(kv.second, origin));
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
        return convert(root, origin);
    } catch (const YAML::Exception& e) {
        return Status::error(where(origin, e.mark) + ": invalid YAML: " + e.msg);
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
