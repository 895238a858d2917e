// Run configs (yaml/configs/*.yaml): per-layer dtype, math fidelity and sharding, resolved into one typed
// zoo::LayerConfig per graph node as device defaults < run-config defaults < --set defaults < ordered layer overrides
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
    std::optional<int64_t> batch;
    std::optional<int64_t> l1_small_size;  // device option (bytes of L1_SMALL); unset = the device's default
    SpecValue defaults = SpecValue::map("(no run config)");
    std::vector<LayerRule> rules;
};

// The layer-config keys, in the order --dump-config prints them.
const std::vector<std::string>& layer_config_keys();

Result<RunConfig> load_run_config(const std::string& path);

// Adds --set overrides that name layer-config keys: "dtype=bfloat16" changes the defaults, "PATTERN:key=value"
// appends a rule. Returns false (no error) for keys that are not layer-config keys so the caller can try elsewhere.
Result<bool> apply_config_override(RunConfig& config, const SetOverride& set);

// Applies one key to a config; errors name the value's source, the key, what was expected and what was found.
Status apply_layer_setting(LayerConfig& config, const std::string& key, const SpecValue& value);

struct ResolvedConfigs {
    std::vector<LayerConfig> per_node;  // indexed like graph.nodes
    std::vector<std::string> warnings;  // e.g. a rule that matched no node
};
Result<ResolvedConfigs> resolve_layer_configs(const Graph& graph, const LayerConfig& device_defaults, const RunConfig& config);

// A fixed-width table: node, op, output shape, then every layer-config key.
std::string format_config_table(const Graph& graph, const std::vector<LayerConfig>& configs);

}  // namespace zoo::runner
