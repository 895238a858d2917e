// Logits -> probabilities -> top-k with class names.
#pragma once

#include <string>
#include <vector>

#include "zoo/tensor.hpp"
#include "zoo/status.hpp"

namespace zoo::runner {

struct Prediction {
    int class_index = 0;
    std::string label;
    float probability = 0;
    float logit = 0;
};

// One line per class, in index order. The bundled file has the 1000 ImageNet-1k names.
Result<std::vector<std::string>> load_class_names(const std::string& path);

// Top-k of one row of logits [N, classes] after a numerically stable softmax. Labels "class <i>" when no name is known.
std::vector<Prediction> top_k(const Tensor& logits, int64_t row, int k, const std::vector<std::string>& names);

}  // namespace zoo::runner
