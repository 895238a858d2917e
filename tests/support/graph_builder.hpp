// Builds test graphs node by node with seeded random weights (uniform, scaled per parameter role), so a test states
// its network in a few lines. Shared by the cpu device tests and the conformance suite.
#pragma once

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

}  // namespace zoo_test
