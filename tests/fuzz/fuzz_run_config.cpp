// Run configs (runner --config): YAML plus the per-layer settings. load_run_config reads a path, so each input is
// written to one file per process first. The options are one of each type a device may declare, so every
// validator of zoo/layer_config.hpp sees the fuzzed values.
#include <unistd.h>

#include <fstream>
#include <string>

#include "config/run_config.hpp"

namespace {
zoo::runner::LayerOptionCatalog one_option_of_each_type() {
    using Type = zoo::LayerOptionSpec::Type;
    zoo::runner::LayerOptionCatalog out(5);
    out[0].name = "flag", out[0].type = Type::Flag, out[0].default_value = "off";
    out[1].name = "rows", out[1].type = Type::Integer, out[1].multiple_of = 32, out[1].default_value = "0";
    out[2].name = "mode", out[2].type = Type::Choice, out[2].choices = {"a", "b"}, out[2].default_value = "a";
    out[3].name = "steps", out[3].type = Type::ChoiceList, out[3].choices = {"a", "b"};
    out[4].name = "grid", out[4].type = Type::Grid, out[4].min = 1, out[4].max = 64, out[4].default_value = "auto";
    return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const zoo::runner::LayerOptionCatalog options = one_option_of_each_type();
    static const std::string path = "/tmp/zoo_fuzz_run_config_" + std::to_string(::getpid()) + ".yaml";
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    (void)zoo::runner::load_run_config(path, options);
    return 0;
}
