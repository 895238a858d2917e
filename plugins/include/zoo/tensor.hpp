// Host tensors as they cross between the runner, models and devices.
// Values are always float32 on the host; `element_type` records what the file stored (an int64 counter such as
// BatchNorm's num_batches_tracked is carried as float so the loader can account for every entry of a state_dict).
#pragma once

#include <cstdint>
#include <map>
#include <numeric>
#include <string>
#include <vector>

namespace zoo {

enum class ElementType : uint8_t { Float32, Float16, BFloat16, Float64, Int64, Int32, Int8, UInt8, Bool };

const char* element_type_name(ElementType t);

using Shape = std::vector<int64_t>;

inline int64_t shape_numel(const Shape& shape) {
    return std::accumulate(shape.begin(), shape.end(), int64_t{1}, [](int64_t a, int64_t b) { return a * b; });
}

// "[1, 3, 224, 224]"
std::string shape_to_string(const Shape& shape);

struct Tensor {
    Shape shape;
    std::vector<float> data;  // row-major (C order), shape_numel(shape) elements
    ElementType element_type = ElementType::Float32;

    Tensor() = default;
    explicit Tensor(Shape s) : shape(std::move(s)), data(static_cast<size_t>(shape_numel(shape)), 0.0f) {}
    Tensor(Shape s, std::vector<float> d) : shape(std::move(s)), data(std::move(d)) {}

    int64_t numel() const { return shape_numel(shape); }
    int64_t dim(size_t i) const { return shape.at(i); }
    size_t rank() const { return shape.size(); }
};

// Parameters keyed by torchvision state_dict names ("features.4.block.2.fc1.weight").
using WeightMap = std::map<std::string, Tensor>;

}  // namespace zoo
