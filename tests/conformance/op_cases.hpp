// The graphs the conformance suite runs on every device: one per op (or op variant a device may implement
// separately, such as depthwise or strided convolutions), each as small as the op allows, plus one network using
// every op together. Inputs and weights are seeded, so every device sees the same numbers.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "graph_builder.hpp"

namespace zoo_conformance {

struct OpCase {
    std::string name;                        // test name: "conv2d_depthwise_3x3"
    std::function<zoo_test::GraphBuilder()> build;
    float input_range = 1.0f;                // inputs uniform in [-range, range]
};

std::vector<OpCase> op_cases();

}  // namespace zoo_conformance
