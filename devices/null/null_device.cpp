// The null device: a complete device plugin that runs every op through the SDK's fp32 reference implementation
// (zoo/reference.hpp). It is slow on purpose and written to be read and copied: every method of the DevicePlugin and
// CompiledModel interfaces is implemented here with the contract it must keep (see zoo/device_plugin.hpp).
//
// To start a new device: copy devices/null to devices/<name>, rename the classes and the plugin name below, then
// replace NullCompiledModel::run_node with your computation op by op. Ops you do not implement yet: decline them in
// supports() (the runner then names the layer and your reason), keep the rest. The conformance suite checks your
// device against the reference within the tolerance you declare in info().
#include <chrono>
#include <string>

#include "zoo/plugin_export.hpp"
#include "zoo/reference.hpp"

namespace zoo::null_device {

namespace {

// What compile() hands out. It owns a copy of the graph and weights, so it outlives the caller's objects.
// Thread safety (as the interface documents): run() is not called concurrently on one object; it keeps no state
// between runs except the timings of the last one.
class NullCompiledModel final : public CompiledModel {
public:
    NullCompiledModel(Graph graph, WeightMap weights) : m_graph(std::move(graph)), m_weights(std::move(weights)) {}

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
               std::map<std::string, Tensor>* captured) noexcept override {
        // Nothing may throw across the plugin boundary: status_guard turns an exception into a Status.
        return status_guard("null: run", [&]() -> Status {
            // Wrong inputs are the caller's error, reported with what was expected and what was found.
            ZOO_TRY(check_inputs(m_graph, inputs).with_context("null"));
            std::vector<Tensor> values(m_graph.nodes.size());
            std::vector<OpTiming> timings;
            size_t next_input = 0;
            for (size_t i = 0; i < m_graph.nodes.size(); ++i) {
                const Node& node = m_graph.nodes[i];
                if (node.op == OpKind::Input) {
                    values[i] = inputs[next_input++];
                } else {
                    const auto start = std::chrono::steady_clock::now();
                    ZOO_TRY(run_node(node, values, values[i]));
                    const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
                    timings.push_back({node.name, op_name(node.op), took.count(), /*modelled=*/false});
                }
                if (captured) (*captured)[node.name] = values[i];
            }
            outputs.clear();
            for (int o : m_graph.outputs) outputs.push_back(values[static_cast<size_t>(o)]);
            m_timings = std::move(timings);
            return Status::ok();
        });
    }

    std::vector<OpTiming> last_timings() const noexcept override { return m_timings; }

private:
    // The one place a real device differs: compute `node` from the values of its inputs.
    Status run_node(const Node& node, const std::vector<Tensor>& values, Tensor& out) const {
        std::vector<const Tensor*> args;
        for (int k : node.inputs) args.push_back(&values[static_cast<size_t>(k)]);
        return reference_node(node, args, m_weights, out);
    }

    Graph m_graph;
    WeightMap m_weights;
    std::vector<OpTiming> m_timings;
};

}  // namespace

// The plugin object. The host creates one per process; info/supports/default_layer_config must be thread-safe
// (they are: no state), compile may be called concurrently (it is: it only reads its arguments).
class NullDevice final : public DevicePlugin {
public:
    DeviceInfo info() const noexcept override {
        DeviceInfo info;
        info.description = "SDK fp32 reference, one op at a time (the template device: copy devices/null)";
        // The reference runs BatchNorm as it is; a device that folds it into convs says true and the runner folds.
        info.wants_folded_batchnorm = false;
        // It is the reference, so it matches it to the last bit; declared loosely enough for float rounding.
        info.tolerance = {1e-6, 0.999999};
        return info;
    }

    // Options of its own (a fidelity, a tiling) a device declares with layer_options(): name, type, default, doc.
    // The runner then checks every setting against them and passes the values in config.options; the device reads
    // them once at compile into its own struct (devices/wormhole/config/layer_config.cpp does it from one table).
    //
    // The null device computes every op in fp32 and has no options: it declines a config it would silently ignore,
    // so a run never reports numbers for formats it did not use.
    Status supports(const Node& node, const LayerConfig& config) const noexcept override {
        if (config.dtype != DataFormat::Float32 || config.weights_dtype != DataFormat::Float32)
            return Status::error("null: computes in float32 only; layer '" + node.name + "' asks for dtype " +
                                 data_format_name(config.dtype) + ", weights " + data_format_name(config.weights_dtype));
        // Exhaustive over the op list (no default): a new op in ZOO_OP_LIST makes the compiler point here.
        switch (node.op) {
#define ZOO_NULL_SUPPORTED__(name, attrs, text, arity) case OpKind::name:
            ZOO_OP_LIST(ZOO_NULL_SUPPORTED__)
#undef ZOO_NULL_SUPPORTED__
            return Status::ok();
        }
        return Status::error("null: layer '" + node.name + "' has an op outside ZOO_OP_LIST");
    }

    // compile: check what the host passed, refuse what cannot run (naming the layer), and copy what run() needs.
    Result<std::unique_ptr<CompiledModel>> compile(const Graph& graph, const WeightMap& weights,
                                                   const std::vector<LayerConfig>& configs,
                                                   const CompileOptions& /*options: no threads, no L1*/) const noexcept override {
        return status_guard("null: compile", [&]() -> Result<std::unique_ptr<CompiledModel>> {
            if (!configs.empty() && configs.size() != graph.nodes.size())
                return Status::error("null: got " + std::to_string(configs.size()) + " layer configs for " +
                                     std::to_string(graph.nodes.size()) + " nodes");
            ZOO_TRY(graph.verify());
            for (size_t i = 0; i < graph.nodes.size() && !configs.empty(); ++i) ZOO_TRY(supports(graph.nodes[i], configs[i]));
            ZOO_TRY(check_node_weights(graph, weights).with_context("null"));
            return std::unique_ptr<CompiledModel>(new NullCompiledModel(graph, weights));
        });
    }
};

}  // namespace zoo::null_device

ZOO_DEVICE_PLUGIN(zoo::null_device::NullDevice, "null", "1.0.0", "SDK fp32 reference (template device)")
