// The host's data flow for one model on one device: table + overrides -> graph -> weights -> per-layer configs ->
// compiled model. Used by the CLI, by tests and by any C++ program that wants to run a zoo model.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/run_config.hpp"
#include "plugins/plugin_loader.hpp"
#include "zoo/device_plugin.hpp"
#include "zoo/graph.hpp"
#include "zoo/model_plugin.hpp"

namespace zoo::runner {

struct SessionOptions {
    std::string model;                 // plugin name: "mobilenetv3"
    std::string variant;               // empty = the plugin's first variant
    std::string device;                // plugin name: "cpu"
    std::string run_config;            // path of a yaml/configs file, empty for none
    std::vector<std::string> sets;     // "key=value" overrides of the model table or the layer configs
    std::string weights;               // .pth / .safetensors; empty = seeded random weights
    uint64_t seed = 0;                 // for random weights
    int64_t batch = 0;                 // 0 = the run config's batch, else 1
    int threads = 0;                   // 0 = all hardware threads
    std::string hardware;              // device description YAML; empty = yaml/devices/<device's table>.yaml
};

// A model built for a batch, with its weights, ready to compile on any device.
struct ModelSetup {
    std::shared_ptr<ModelPlugin> plugin;
    std::string variant;
    std::string table_path;
    SpecValue spec;          // table with --set overrides applied
    Graph graph;             // as the model plugin built it (BatchNorm unfolded), batch set, shapes inferred
    WeightMap weights;       // keyed like graph.expected_params()
    bool random_weights = false;
    RunConfig run_config;    // with --set layer overrides applied
    int64_t batch = 1;
    double load_ms = 0;      // plugin + table + graph + weights
};

// A setup compiled on one device.
struct CompiledSetup {
    std::shared_ptr<DevicePlugin> device;
    std::string device_name;
    Graph graph;                       // what the device compiled (BatchNorm folded when the device asks)
    ResolvedConfigs configs;           // per node of `graph`
    std::shared_ptr<CompiledModel> compiled;
    double compile_ms = 0;
};

Result<ModelSetup> prepare_model(const PluginRegistry& registry, const SessionOptions& options);
// The file a model's variant table is loaded from: yaml/models/<table>.yaml of the data folder, else beside the plugin.
std::string model_table_path(const PluginRegistry& registry, const std::string& model, const std::string& table);
// Creates a device and, when it reads a hardware description, loads and applies it: `hardware_file`, or
// yaml/devices/<hardware_table()>.yaml when empty.
Result<std::shared_ptr<DevicePlugin>> open_device(const PluginRegistry& registry, const std::string& name,
                                                  const std::string& hardware_file = "");

// Places the setup on a device (BatchNorm folding when it asks, per-layer configs, supports() for every node) and,
// unless `compile` is false (--dump-config), compiles it.
Result<CompiledSetup> compile_on_device(const PluginRegistry& registry, const ModelSetup& setup, const std::string& device_name,
                                        int threads, bool compile = true, const std::string& hardware_file = "");

// Seeded random weights with torchvision's initialisation (kaiming-normal fan-out convs, N(0, 0.01) linears, unit
// BatchNorm, zero biases): deterministic for a seed, meaningless as predictions.
WeightMap random_weights(const Graph& graph, uint64_t seed);

// Input shape [batch, C, H, W] the graph expects.
Shape input_shape(const Graph& graph);

}  // namespace zoo::runner
