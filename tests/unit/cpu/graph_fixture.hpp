// A small MobileNet-like graph built with GraphBuilder (every op of the list), random weights, and a naive per-op
// evaluator in double precision over NCHW tensors to check the device against.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "graph_builder.hpp"
#include "reference_ops.hpp"
#include "zoo/graph.hpp"
#include "zoo/tensor.hpp"

namespace zoo_test {

// conv-bn-relu6 stem, depthwise + hardswish, squeeze-excite (GAP -> conv -> relu -> conv -> hardsigmoid -> mul),
// projection + residual add, 1x1 expansion + hardswish, GAP, flatten, linear, dropout, softmax; a second graph
// output (the logits). mul_scale_first swaps the Mul's operand order.
inline GraphBuilder make_small_net(int64_t batch, bool mul_scale_first = false) {
    GraphBuilder b;
    int x = b.input("input", {batch, 3, 17, 14});
    int stem = b.conv("features.0.0", x, 3, 16, 3, 2, 1, 1, false);
    int bn = b.bn("features.0.1", stem, 16);
    int r6 = b.op("features.0.2", zoo::OpKind::Relu6, {bn});
    int dw = b.conv("features.1.dw", r6, 16, 16, 3, 1, 1, 16, true);
    int hs = b.op("features.1.hs", zoo::OpKind::Hardswish, {dw});
    int gap = b.op("features.1.se.avgpool", zoo::OpKind::GlobalAvgPool, {hs});
    int fc1 = b.conv("features.1.se.fc1", gap, 16, 8, 1, 1, 0, 1, true);
    int relu = b.op("features.1.se.relu", zoo::OpKind::Relu, {fc1});
    int fc2 = b.conv("features.1.se.fc2", relu, 8, 16, 1, 1, 0, 1, true);
    int hsig = b.op("features.1.se.scale", zoo::OpKind::Hardsigmoid, {fc2});
    int mul = mul_scale_first ? b.op("features.1.se.mul", zoo::OpKind::Mul, {hsig, hs})
                              : b.op("features.1.se.mul", zoo::OpKind::Mul, {hs, hsig});
    int proj = b.conv("features.1.project", mul, 16, 16, 1, 1, 0, 1, true);
    int add = b.op("features.1.add", zoo::OpKind::Add, {proj, r6});
    int dw5 = b.conv("features.2.dw", add, 16, 16, 5, 2, 2, 16, true);
    int exp = b.conv("features.2.expand", dw5, 16, 36, 1, 1, 0, 1, true);
    int hs2 = b.op("features.2.hs", zoo::OpKind::Hardswish, {exp});
    int grp = b.conv("features.3.grouped", hs2, 36, 24, 3, 1, 2, 3, true, 2);
    int gap2 = b.op("avgpool", zoo::OpKind::GlobalAvgPool, {grp});
    int flat = b.op("flatten", zoo::OpKind::Flatten, {gap2}, zoo::FlattenAttrs{1});
    int fc = b.linear("classifier.0", flat, 24, 20);
    int hs3 = b.op("classifier.1", zoo::OpKind::Hardswish, {fc});
    int drop = b.op("classifier.2", zoo::OpKind::Dropout, {hs3}, zoo::DropoutAttrs{0.2});
    int logits = b.linear("classifier.3", drop, 20, 10);
    int sm = b.op("softmax", zoo::OpKind::Softmax, {logits}, zoo::SoftmaxAttrs{-1});
    b.graph.outputs = {sm, logits};
    return b;
}

struct RefValue {
    zoo::Shape shape;
    std::vector<double> data;
};

// Evaluates every node naively (double precision, NCHW). Keys are node names.
std::map<std::string, RefValue> evaluate_reference(const zoo::Graph& graph, const zoo::WeightMap& weights,
                                                   const std::vector<zoo::Tensor>& inputs);

}  // namespace zoo_test
