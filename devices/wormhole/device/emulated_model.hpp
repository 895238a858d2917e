// A graph compiled for the emulated Wormhole: the device program (program/program.hpp) executed op by op as the card
// runs it, on the card's number formats. Data-movement ops (reshard, halo, interleave conversions, untilize) keep the
// value they move; compute ops:
//   - activations are channels-last; each layer writes its output in its WormholeLayerConfig.dtype (bf16 / bfloat8_b /
//     bfloat4_b blocks of 16 values along channels, like a tile's face rows), so the next layer reads what the card
//     would have stored;
//   - weights are quantised on the host to weights_dtype in the card's weight-matrix layout ([K, N] tiles: blocks of
//     16 output channels), BatchNorm folded in first, as tt-metal does;
//   - matmuls and convolutions multiply at the layer's math fidelity (activations in SrcB, weights in SrcA) and, with
//     fp32_dest_acc off, accumulate in a bf16 Dst that is rounded after every 16-wide K step;
//   - eltwise multiply honours fidelity, add does not; SFPU activations compute in fp32 and store in the layer dtype
//     (a fused activation on the op's result as Dst holds it, packed once after it; a composite activation stores
//     every step).
#pragma once

#include <tbb/task_arena.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "memory/memory_plan.hpp"
#include "perf/perf_model.hpp"
#include "program/program.hpp"
#include "zoo/device_plugin.hpp"

namespace zoo::wormhole {

class EmulatedStep;
class BufferPool;
struct Value;

class EmulatedModel final : public CompiledModel {
public:
    // graph: the whole batch (numerics); chip_graph: one chip's share, the graph the program was lowered from.
    static Result<std::unique_ptr<EmulatedModel>> build(const Graph& graph, const Graph& chip_graph, const WeightMap& weights,
                                                        Program program,
                                                        MemoryPlan plan, const WormholeHardware& hw, int threads);
    ~EmulatedModel() override;

    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
               std::map<std::string, Tensor>* captured) noexcept override;
    std::vector<DeviceMetric> metrics() const noexcept override;
    std::vector<std::string> table_names() const noexcept override;
    Result<std::string> table(const std::string& name) const noexcept override;
    // The perf model's kernel duration of every program op (modelled, not measured), named after its output tensor
    // (the node's name for its own op; "<node>:halo", "<node>:reshard", "<node>:to_row_major", ... for the others).
    std::vector<OpTiming> last_timings() const noexcept override;
    const PerfReport& perf() const { return m_perf; }
    const Program& program() const { return m_program; }

private:
    EmulatedModel() = default;
    Status run_impl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs, std::map<std::string, Tensor>* captured);
    struct Executor;
    struct ImageCopy;
    Status build_per_image(const WeightMap& weights, const WormholeHardware& hw);
    Status run_per_image(const std::vector<Tensor>& inputs, std::vector<std::shared_ptr<Value>>& values);
    Status convert_inputs(const Executor& ex, const std::vector<const float*>& data, std::vector<std::shared_ptr<Value>>& values) const;
    Status run_ops(const Executor& ex, std::vector<std::shared_ptr<Value>>& values, size_t begin, size_t end,
                   std::map<std::string, Tensor>* captured) const;

    struct Capture {
        int node = -1;
        bool before_fused_activation = false;
    };
    Graph m_graph;
    Program m_program;
    MemoryPlan m_plan;
    std::vector<std::unique_ptr<EmulatedStep>> m_steps;  // one per program op; null: the op moves its input unchanged
    std::vector<std::unique_ptr<EmulatedStep>> m_fused;  // per op: the activation fused into it, or null
    std::vector<std::vector<Capture>> m_captures;        // per op: nodes whose value it writes
    std::vector<int> m_last_use;                         // per tensor: op after which its value may be freed
    std::unique_ptr<tbb::task_arena> m_arena;  // run() executes in it: `threads` of build(), 0 = all
    std::unique_ptr<BufferPool> m_pool;
    std::vector<float> m_input_staging;  // an input's planes rounded to its format before the layout change
    std::vector<bool> m_planar_input;    // per program input: kept as NCHW planes (Value::planar)
    // Batches run image by image up to op m_cut (-1: never), on m_copies (one per thread), then batched; see
    // run_per_image. m_image_graph is the graph at batch 1, whose shapes the copies' values take.
    int m_cut = -1;
    Graph m_image_graph;
    std::vector<std::unique_ptr<ImageCopy>> m_copies;
    PerfReport m_perf;
};

}  // namespace zoo::wormhole
