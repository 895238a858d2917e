// YAML -> SpecValue (model tables, hardware descriptions, run configs and --set values all go through it).
#include <string>

#include "config/yaml_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    (void)zoo::runner::parse_yaml_spec(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
    return 0;
}
