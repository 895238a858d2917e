// Typed reads of the architecture spec (a zoo::SpecValue tree the runner built from YAML), with defaults and errors
// that name the file and line of the offending value.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "zoo/spec_value.hpp"

namespace zoo::models {

Result<int64_t> read_int(const SpecValue& map, const std::string& key, int64_t fallback, int64_t min_value);
Result<double> read_positive_double(const SpecValue& map, const std::string& key, double fallback);
Result<double> read_probability(const SpecValue& map, const std::string& key, double fallback);
Result<bool> read_bool(const SpecValue& map, const std::string& key, bool fallback);

// Input resolution: [H, W], "HxW" or a single integer for square inputs. Fallback 224x224.
Result<std::array<int64_t, 2>> read_resolution(const SpecValue& map);

// The keys every classifier table reads the same way: input resolution and channels, classes, width multiplier,
// classifier dropout and BatchNorm eps (whose default differs by family: MobileNetV3 and EfficientNet differ from V2).
struct ClassifierSpec {
    std::array<int64_t, 2> resolution{224, 224};
    int64_t in_channels = 3;
    int64_t num_classes = 1000;
    double width_mult = 1.0;
    double dropout = 0.2;
    double bn_eps = 1e-5;
};
Result<ClassifierSpec> read_classifier_spec(const SpecValue& map, double default_bn_eps);

// A list of rows (each a list) with exactly `columns` entries: the layer tables of the papers.
Result<const SpecValue*> read_table(const SpecValue& map, const std::string& key, size_t columns);

}  // namespace zoo::models
