// Run configs (yaml/configs/*.yaml): per-layer settings (the common keys dtype / weights_dtype and the options a
// device declares: math fidelity, sharding, ...), resolved into one zoo::LayerConfig per graph node as device defaults < run-config defaults < --set defaults < ordered layer overrides
// (last match wins) < --set pattern overrides.
//
//   batch: 10                        # optional default batch
//   l1_small_size: 8192              # optional device option: bytes of the L1_SMALL region
//   defaults: {dtype: bfloat8_b, math_fidelity: LoFi}
//   layers:
//     - match: "features.1[0-6].conv.2"   # glob on node names
//       op: conv2d                         # optional: only nodes of this op
//       shard_layout: HEIGHT_SHARDED
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/yaml_spec.hpp"
#include "zoo/graph.hpp"
#include "zoo/layer_config.hpp"
#include "zoo/spec_value.hpp"

namespace zoo::runner {

struct LayerRule {
    std::string pattern;
    std::optional<OpKind> op;
    SpecValue settings;  // map of layer-config keys
    std::string source;
};

struct RunConfig {
    std::string path;  // empty when none was given
    std::string device;  // the device the config was written for (its `device:` key); empty when it names none
    std::optional<int64_t> batch;
    std::optional<int64_t> l1_small_size;  // device option (bytes of L1_SMALL); unset = the device's default
    SpecValue defaults = SpecValue::map("(no run config)");
    std::vector<LayerRule> rules;
};

// The layer options the runner accepts in run configs and --set: those the device plugins declare
// (DevicePlugin::layer_options); a name several devices declare appears once per device. Common keys are not in it.
using LayerOptionCatalog = std::vector<LayerOptionSpec>;

// Every setting must be a common key or an option of `known`, with a value of its type; errors name file:line.
Result<RunConfig> load_run_config(const std::string& path, const LayerOptionCatalog& known);

// Adds --set overrides that name layer settings: "dtype=bfloat16" changes the defaults, "PATTERN:key=value" appends a
// rule. Returns false (no error) for keys that are neither common keys nor in `known`, so the caller can try elsewhere.
Result<bool> apply_config_override(RunConfig& config, const SetOverride& set, const LayerOptionCatalog& known);

// The device a config is resolved for: its name (for messages), what it declares and the config it starts from.
struct DeviceLayerOptions {
    std::string device_name;
    std::vector<LayerOptionSpec> options;
    LayerConfig defaults;
};

struct ResolvedConfigs {
    std::vector<LayerConfig> per_node;  // indexed like graph.nodes
    std::vector<std::string> warnings;  // e.g. a rule that matched no node, a setting this device does not have
};
// Settings of options the device does not declare (another device's options) are left out, with one warning for all.
Result<ResolvedConfigs> resolve_layer_configs(const Graph& graph, const DeviceLayerOptions& device, const RunConfig& config);

// A fixed-width table: node, op, output shape, the common keys, then each option the device declares.
std::string format_config_table(const Graph& graph, const std::vector<LayerOptionSpec>& options,
                                const std::vector<LayerConfig>& configs);

// What a device declares, one option per line: name, expected values, default and doc (--dump-config's legend).
std::string format_option_declarations(const std::string& device_name, const std::vector<LayerOptionSpec>& options);

}  // namespace zoo::runner
