// YAML -> zoo::SpecValue, keeping file:line:column for every value; --set overrides on top.
#pragma once

#include <string>
#include <vector>

#include "zoo/spec_value.hpp"

namespace zoo::runner {

// Parses a YAML file. Syntax errors come back as "<file>:<line>:<column>: <what the parser expected>".
Result<SpecValue> load_yaml_spec(const std::string& path);
// Parses YAML text; `origin` names it in sources and errors.
Result<SpecValue> parse_yaml_spec(const std::string& text, const std::string& origin);

struct SetOverride {
    std::string key;    // may be dotted ("layers.features.0.0.dtype" style keys are interpreted by the caller)
    std::string value;  // YAML text ("0.75", "[192, 256]", "true")
    std::string origin; // "--set width_mult=0.75"
};
// Splits "key=value"; error when '=' or the key is missing.
Result<SetOverride> parse_set_argument(const std::string& argument);

// The value of an override as a SpecValue (parsed as YAML so lists work), sourced to the override's text.
Result<SpecValue> override_value(const SetOverride& set);

}  // namespace zoo::runner
