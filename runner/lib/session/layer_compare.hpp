// Accuracy of one device against a reference device on the same graph, weights and input: per output and per layer.
#pragma once

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

// Runs `input` through both compiled setups (which must come from the same ModelSetup) and compares.
// With per_layer, both run in capture mode and every node present in both is compared.
Result<ComparisonResult> compare_devices(CompiledSetup& device, CompiledSetup& reference, const Tensor& input, bool per_layer);

std::string format_layer_table(const std::vector<LayerAgreement>& layers, size_t limit);

}  // namespace zoo::runner
