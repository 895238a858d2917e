// Accuracy of one device against a reference device on the same graph, weights and input: per output and per layer.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "measure/accuracy.hpp"
#include "session/model_session.hpp"

namespace zoo::runner {

struct LayerAgreement {
    std::string layer;
    std::string op;
    Shape shape;
    Agreement agreement;
};

struct ComparisonResult {
    std::vector<Agreement> outputs;       // one per graph output
    std::vector<LayerAgreement> layers;   // every node both devices captured, worst PCC first (empty unless asked)
};

// Runs `inputs` (one run's argument list) through both compiled setups (which must come from the same ModelSetup)
// and compares.
// With per_layer, both run in capture mode and every node present in both is compared.
Result<ComparisonResult> compare_devices(CompiledSetup& device, CompiledSetup& reference, const std::vector<Tensor>& inputs,
                                         bool per_layer);

// Where a non-finite value first appears: the input itself, else the first node (in graph order, so every earlier
// node, hence all of this node's inputs, held finite values) whose captured output holds a NaN or an Inf. Runs
// `inputs` once in capture mode. Empty when every captured value is finite or the device captures nothing.
struct NonFiniteOrigin {
    std::string layer;    // node name; empty when the input itself is non-finite
    std::string op;
    int64_t element = 0;  // flat index into that node's output (or the input)
    bool nan = true;      // NaN, else +-Inf
    std::string describe() const;
};
Result<std::optional<NonFiniteOrigin>> first_non_finite_layer(CompiledSetup& device, const std::vector<Tensor>& inputs);

std::string format_layer_table(const std::vector<LayerAgreement>& layers, size_t limit);

}  // namespace zoo::runner
