// A small MobileNet-like graph built with zoo::Graph (every op of the list), random weights, and a naive per-op
// evaluator in double precision over NCHW tensors to check the device against.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "reference_ops.hpp"
#include "zoo/graph.hpp"
#include "zoo/tensor.hpp"

namespace zoo_test {

class GraphBuilder {
public:
    zoo::Graph graph;
    zoo::WeightMap weights;

    int input(const std::string& name, zoo::Shape shape) {
        zoo::Node n;
        n.name = name;
        n.op = zoo::OpKind::Input;
        n.attrs = zoo::InputAttrs{std::move(shape)};
        return graph.add_node(std::move(n));
    }
    int conv(const std::string& name, int in, int64_t cin, int64_t cout, int64_t k, int64_t stride, int64_t pad,
             int64_t groups, bool bias, int64_t dil = 1) {
        zoo::Conv2dAttrs a;
        a.in_channels = cin;
        a.out_channels = cout;
        a.kernel = {k, k};
        a.stride = {stride, stride};
        a.padding = {pad, pad};
        a.dilation = {dil, dil};
        a.groups = groups;
        a.has_bias = bias;
        zoo::Node n = node(name, zoo::OpKind::Conv2d, {in}, a);
        param(n, "weight", {cout, cin / groups, k, k}, 0.5f);
        if (bias) param(n, "bias", {cout}, 0.2f);
        return graph.add_node(std::move(n));
    }
    int bn(const std::string& name, int in, int64_t c) {
        zoo::Node n = node(name, zoo::OpKind::BatchNorm, {in}, zoo::BatchNormAttrs{c, 1e-3});
        param(n, "weight", {c}, 1.0f);
        param(n, "bias", {c}, 0.5f);
        param(n, "running_mean", {c}, 0.3f);
        param(n, "running_var", {c}, 0.0f, 0.5f, 1.5f);
        zoo::ParamSpec nbt{"num_batches_tracked", name + ".num_batches_tracked", {}, false};
        n.params.push_back(nbt);
        weights[nbt.key] = zoo::Tensor(zoo::Shape{});
        return graph.add_node(std::move(n));
    }
    int linear(const std::string& name, int in, int64_t fin, int64_t fout) {
        zoo::Node n = node(name, zoo::OpKind::Linear, {in}, zoo::LinearAttrs{fin, fout, true});
        param(n, "weight", {fout, fin}, 0.3f);
        param(n, "bias", {fout}, 0.1f);
        return graph.add_node(std::move(n));
    }
    int op(const std::string& name, zoo::OpKind kind, std::vector<int> inputs, zoo::OpAttrs attrs = zoo::NoAttrs{}) {
        return graph.add_node(node(name, kind, std::move(inputs), std::move(attrs)));
    }

private:
    static zoo::Node node(const std::string& name, zoo::OpKind kind, std::vector<int> inputs, zoo::OpAttrs attrs) {
        zoo::Node n;
        n.name = name;
        n.op = kind;
        n.inputs = std::move(inputs);
        n.attrs = std::move(attrs);
        return n;
    }
    void param(zoo::Node& n, const std::string& role, zoo::Shape shape, float scale, float lo = -1.0f, float hi = 1.0f) {
        zoo::ParamSpec p{role, n.name + "." + role, shape, true};
        std::vector<float> v = random_vector(static_cast<size_t>(zoo::shape_numel(shape)), m_seed++, lo, hi);
        if (scale != 0.0f)
            for (float& x : v) x *= scale;
        weights[p.key] = zoo::Tensor(shape, std::move(v));
        n.params.push_back(std::move(p));
    }
    uint32_t m_seed = 100;
};

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
