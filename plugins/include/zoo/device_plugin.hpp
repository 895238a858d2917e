// Device plugins compile a Graph with its weights and per-node LayerConfigs into something that runs.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "zoo/graph.hpp"
#include "zoo/layer_config.hpp"
#include "zoo/spec_value.hpp"
#include "zoo/status.hpp"
#include "zoo/tensor.hpp"

namespace zoo {

// How close a device's value of one op comes to the SDK's fp32 reference (zoo/reference.hpp) under the device's
// default layer config: max |device - reference| <= rel_tolerance * max |reference|, and PCC >= min_pcc (tt-metal's
// comparison). The conformance suite (tests/conformance) holds every device to what it declares here.
struct NumericTolerance {
    double rel_tolerance = 1e-5;
    double min_pcc = 0.99999;
};

struct DeviceInfo {
    std::string description;        // "fp32 reference on the host CPU (8 threads)"
    bool wants_folded_batchnorm = true;  // the runner folds BatchNorm into convs before compile when true
    NumericTolerance tolerance;     // per op, against zoo::reference_node
};

struct CompileOptions {
    int threads = 0;  // 0 = all hardware threads
    // Bytes of a device's small L1 region for op config tensors (Tenstorrent: ttnn.open_device(l1_small_size=...));
    // 0 = the device's default. Devices without such a region ignore it.
    int64_t l1_small_size = 0;
};

// Timing of one device op from the last run, for per-layer profiles.
struct OpTiming {
    std::string node_name;
    std::string op_type;
    double duration_ns = 0;  // measured host time (CPU) or modelled kernel time (emulators)
    bool modelled = false;
};

// A named number a device reports about a compiled model ("peak_l1_per_core", "device_fps").
struct DeviceMetric {
    std::string name;   // snake_case, stable: reports and sweeps key on it
    double value = 0;
    std::string unit;   // "B", "samples/s", "ns", ...
    std::string description;
};

// Thread safety: run() may not be called concurrently on one object; distinct objects are independent.
// Ownership: the host owns it and keeps the device plugin (hence its library) alive while it lives.
class CompiledModel {
public:
    virtual ~CompiledModel() = default;

    // inputs: one tensor per graph Input node, in graph order, shapes as compiled. outputs: one per graph output.
    // When `captured` is non-null, also fills it with every node's value (NCHW or [N, F]) keyed by node name.
    virtual Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
                       std::map<std::string, Tensor>* captured = nullptr) noexcept = 0;

    // Per-op timings of the most recent run (empty when the device does not time ops).
    virtual std::vector<OpTiming> last_timings() const noexcept { return {}; }

    // Numbers the device knows about this compiled model (memory use, modelled performance). Optional.
    virtual std::vector<DeviceMetric> metrics() const noexcept { return {}; }

    // Per-layer tables the device can produce, as CSV text with a header row: e.g. "memory" (the L1 plan) or "ops"
    // (a device perf report). Optional; table() of an unknown name is an error listing the known ones.
    virtual std::vector<std::string> table_names() const noexcept { return {}; }
    virtual Result<std::string> table(const std::string& name) const noexcept {
        return Status::error("this device produces no table '" + name + "'");
    }
};

// Thread safety: info/layer_options/supports/default_layer_config are const and thread-safe; compile may be called concurrently.
class DevicePlugin {
public:
    virtual ~DevicePlugin() = default;

    virtual DeviceInfo info() const noexcept = 0;

    // The hardware description this device reads: the runner loads yaml/devices/<name>.yaml (or the file given with
    // --hardware) and passes it to configure() before anything else. Empty = the device needs none.
    virtual std::string hardware_table() const noexcept { return ""; }
    // Called once, before probe/supports/compile, when hardware_table() is not empty. Errors name the spec value's
    // source (file:line:column). Not thread-safe: the host calls it before sharing the object.
    virtual Status configure(const SpecValue& hardware) noexcept { return Status::ok(); }

    // Whether the device is usable on this host at all (e.g. a driver is present). Error text says why not.
    virtual Status probe() const noexcept { return Status::ok(); }

    // The per-layer options this device reads besides the common keys (zoo/layer_config.hpp), in the order
    // --dump-config shows them. The runner refuses a setting this device does not declare or of the wrong type, so
    // supports() and compile() only see values that passed check_layer_option.
    virtual std::vector<LayerOptionSpec> layer_options() const noexcept { return {}; }

    // The config every node starts from before run-config defaults and overrides are applied. Options it leaves out
    // take the default_value of their layer_options() spec.
    virtual LayerConfig default_layer_config() const noexcept { return {}; }

    // Whether the device runs `node` under `config`; the error text says what is refused and why.
    virtual Status supports(const Node& node, const LayerConfig& config) const noexcept = 0;

    // graph: verified, shapes inferred, batch set. configs: one per node (same indexing as graph.nodes).
    // The device may refuse (e.g. out of memory), naming the layer and the limit.
    virtual Result<std::unique_ptr<CompiledModel>> compile(const Graph& graph, const WeightMap& weights,
                                                           const std::vector<LayerConfig>& configs,
                                                           const CompileOptions& options) const noexcept = 0;

    // Joins any threads the plugin started. Called by the host before the library may be unloaded.
    virtual void shutdown() noexcept {}
};

}  // namespace zoo
