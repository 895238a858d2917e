#include "output/predictions.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>

namespace zoo::runner {

Result<std::vector<std::string>> load_class_names(const std::string& path) {
    std::ifstream in(path);
    if (!in) return Status::error(path + ": cannot open the class-name file");
    std::vector<std::string> names;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        names.push_back(line);
    }
    return names;
}

std::vector<Prediction> top_k(const Tensor& logits, int64_t row, int k, const std::vector<std::string>& names) {
    const int64_t classes = logits.shape.back();
    const float* x = logits.data.data() + row * classes;
    const float max_logit = *std::max_element(x, x + classes);
    double sum = 0;
    for (int64_t i = 0; i < classes; ++i) sum += std::exp(static_cast<double>(x[i] - max_logit));
    std::vector<int> order(static_cast<size_t>(classes));
    std::iota(order.begin(), order.end(), 0);
    k = static_cast<int>(std::min<int64_t>(k, classes));
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) { return x[a] > x[b]; });
    std::vector<Prediction> out;
    for (int i = 0; i < k; ++i) {
        Prediction p;
        p.class_index = order[static_cast<size_t>(i)];
        p.logit = x[p.class_index];
        p.probability = static_cast<float>(std::exp(static_cast<double>(p.logit - max_logit)) / sum);
        p.label = static_cast<size_t>(p.class_index) < names.size() ? names[static_cast<size_t>(p.class_index)]
                                                                    : "class " + std::to_string(p.class_index);
        out.push_back(p);
    }
    return out;
}

}  // namespace zoo::runner
