// What the perf-model tests share: the build's plugins, and a model compiled on the wormhole emulator through the
// runner's session API (as `runner run` does), with its metrics by name.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "session/model_session.hpp"

namespace zoo::wormhole::test {

inline const runner::PluginRegistry& plugins() {
    static runner::PluginRegistry r = runner::PluginRegistry::discover({std::string(ZOO_BUILD_DIR) + "/lib/zoo"});
    return r;
}

struct Compiled {
    runner::CompiledSetup setup;
    std::map<std::string, double> metrics;
};

// config: a yaml/configs/ name ("" = none); batch 0 = the config's; hardware: a yaml/devices/ name ("" = n150).
inline Result<Compiled> compile_wormhole(const std::string& model, const std::string& variant, const std::string& config,
                                         int64_t batch, const std::vector<std::string>& sets = {},
                                         const std::string& hardware = "") {
    runner::SessionOptions so;
    so.model = model;
    so.variant = variant;
    so.device = "wormhole";
    so.run_config = config.empty() ? "" : std::string(ZOO_SOURCE_DIR) + "/yaml/configs/" + config + ".yaml";
    so.batch = batch;
    so.sets = sets;
    so.threads = 2;
    ZOO_ASSIGN_OR_RETURN(auto setup, runner::prepare_model(plugins(), so));
    const std::string hw = hardware.empty() ? "" : std::string(ZOO_SOURCE_DIR) + "/yaml/devices/" + hardware + ".yaml";
    ZOO_ASSIGN_OR_RETURN(auto compiled, runner::compile_on_device(plugins(), setup, "wormhole", 2, true, hw));
    Compiled c{std::move(compiled), {}};
    for (const auto& m : c.setup.compiled->metrics()) c.metrics[m.name] = m.value;
    return c;
}

}  // namespace zoo::wormhole::test
