// A graph compiled for the emulated Wormhole: every op runs as the card runs it, on the card's number formats.
//   - activations are channels-last; each layer writes its output in its LayerConfig.dtype (bf16 / bfloat8_b /
//     bfloat4_b blocks of 16 values along channels, like a tile's face rows), so the next layer reads what the card
//     would have stored;
//   - weights are quantised on the host to weights_dtype in the card's weight-matrix layout ([K, N] tiles: blocks of
//     16 output channels), BatchNorm folded in first, as tt-metal does;
//   - matmuls and convolutions multiply at the layer's math fidelity (activations in SrcB, weights in SrcA) and, with
//     fp32_dest_acc off, accumulate in a bf16 Dst that is rounded after every 16-wide K step;
//   - eltwise multiply honours fidelity, add does not; SFPU activations compute in fp32 and store in the layer dtype;
//     hardswish is composed as x * hardsigmoid(x) with the intermediate stored in the layer dtype.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "memory/memory_plan.hpp"
#include "perf/perf_model.hpp"
#include "zoo/device_plugin.hpp"

namespace zoo::wormhole {

class EmulatedStep;
class BufferPool;

class EmulatedModel final : public CompiledModel {
public:
    static Result<std::unique_ptr<EmulatedModel>> build(const Graph& graph, const WeightMap& weights,
                                                        const std::vector<LayerConfig>& configs, MemoryPlan plan,
                                                        const WormholeHardware& hw, int threads);
    ~EmulatedModel() override;

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
               std::map<std::string, Tensor>* captured) noexcept override;
    std::vector<DeviceMetric> metrics() const noexcept override;
    std::vector<std::string> table_names() const noexcept override;
    Result<std::string> table(const std::string& name) const noexcept override;
    // The perf model's kernel duration of every device op (modelled, not measured), named after graph nodes; halo and
    // reshard ops carry the node they feed.
    std::vector<OpTiming> last_timings() const noexcept override;
    const PerfReport& perf() const { return m_perf; }

private:
    EmulatedModel() = default;
    Status run_impl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs, std::map<std::string, Tensor>* captured);

    Graph m_graph;
    std::vector<LayerConfig> m_configs;
    MemoryPlan m_plan;
    std::vector<std::unique_ptr<EmulatedStep>> m_steps;  // one per node, graph order
    std::vector<int> m_last_use;                         // step index after which a node's value may be freed
    int m_threads = 0;
    std::unique_ptr<BufferPool> m_pool;
    PerfReport m_perf;
};

}  // namespace zoo::wormhole
