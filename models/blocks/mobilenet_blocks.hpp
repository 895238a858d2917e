// The building blocks MobileNetV2 and V3 share, emitting graph nodes named like torchvision's modules so that node
// names are state_dict prefixes ("features.4.block.2.fc1").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "zoo/graph.hpp"

namespace zoo::models {

// torchvision's _make_divisible: nearest multiple of `divisor`, never below `divisor` nor more than 10% below v.
int64_t make_divisible(double v, int64_t divisor = 8);

// The activation of a block: none, or any SDK activation (zoo/activation.hpp), so a new activation needs no change here.
// ReLU / ReLU6 / Hardswish are the spellings the MobileNet plugins were written with.
struct Activation {
    std::optional<ActivationId> id;
    constexpr Activation() = default;
    constexpr Activation(ActivationId a) : id(a) {}  // NOLINT: implicit, so ActivationId::Silu can be passed directly
    static const Activation None, ReLU, ReLU6, Hardswish;
};
inline constexpr Activation Activation::None{};
inline constexpr Activation Activation::ReLU{ActivationId::Relu};
inline constexpr Activation Activation::ReLU6{ActivationId::Relu6};
inline constexpr Activation Activation::Hardswish{ActivationId::Hardswish};

// Appends nodes to a graph; each call returns the index of the node whose output is the block's output.
class GraphBuilder {
public:
    explicit GraphBuilder(Graph& graph) : m_graph(graph) {}

    int input(const std::string& name, Shape shape);
    int conv(const std::string& name, int in, const Conv2dAttrs& attrs);
    int batchnorm(const std::string& name, int in, int64_t channels, double eps);
    int activation(const std::string& name, int in, Activation act);  // returns `in` for Activation::None
    int unary(const std::string& name, int in, OpKind op);
    int binary(const std::string& name, int a, int b, OpKind op);
    int global_avg_pool(const std::string& name, int in);
    int max_pool2d(const std::string& name, int in, const MaxPool2dAttrs& attrs);
    int avg_pool2d(const std::string& name, int in, const AvgPool2dAttrs& attrs);
    int flatten(const std::string& name, int in);
    int linear(const std::string& name, int in, int64_t in_features, int64_t out_features);
    int dropout(const std::string& name, int in, double p);
    void output(int node) { m_graph.outputs.push_back(node); }

    int64_t channels(int node) const;  // channel count a node produces, tracked while building

private:
    int add(Node node, int64_t channels);
    Graph& m_graph;
    std::vector<int64_t> m_channels;
};

// torchvision's Conv2dNormActivation: <prefix>.0 conv (no bias, padding (k-1)/2*dilation), <prefix>.1 BatchNorm,
// <prefix>.2 activation (absent when Activation::None).
struct ConvBnActSpec {
    int64_t out_channels = 0;
    int64_t kernel = 1;
    int64_t stride = 1;
    int64_t dilation = 1;
    int64_t groups = 1;
    Activation act = Activation::None;
    double bn_eps = 1e-5;
};
int conv_bn_act(GraphBuilder& b, const std::string& prefix, int in, const ConvBnActSpec& spec);

// torchvision's SqueezeExcitation: <prefix>.avgpool, .fc1 (1x1 conv with bias), .activation, .fc2, .scale_activation,
// and the multiply named <prefix> (the module's output). MobileNetV3 uses ReLU + Hardsigmoid, EfficientNet SiLU + Sigmoid.
struct SqueezeExciteSpec {
    int64_t squeeze_channels = 0;
    Activation activation = Activation::ReLU;
    Activation scale_activation{ActivationId::Hardsigmoid};
};
int squeeze_excite(GraphBuilder& b, const std::string& prefix, int in, const SqueezeExciteSpec& spec);

// One inverted residual block, V2 or V3 style, or EfficientNet's MBConv (V3-style naming, its stochastic depth being the
// identity at inference).
struct InvertedResidualSpec {
    int64_t expanded_channels = 0;
    int64_t out_channels = 0;
    int64_t kernel = 3;
    int64_t stride = 1;    // as configured in the table
    int64_t dilation = 1;  // a dilated block runs its depthwise conv with stride 1 (torchvision V3)
    bool expand = true;    // whether a 1x1 expansion conv exists
    bool squeeze_excite = false;
    // The squeeze-excite's width and activations. squeeze_channels 0 is MobileNetV3's make_divisible(expanded / 4, 8);
    // EfficientNet's MBConv passes max(1, in / 4) with SiLU and Sigmoid.
    SqueezeExciteSpec se;
    Activation act = Activation::ReLU6;
    double bn_eps = 1e-5;
    // Naming: V2 keeps its layers in "conv" and its projection as a bare conv + BN (conv.N, conv.N+1);
    // V3 keeps them in "block" and its projection as a Conv2dNormActivation without activation (block.N.0, block.N.1).
    const char* container = "block";
    bool flat_projection = false;
};
// The residual add (named <prefix>, the module's output) exists iff the configured stride is 1 and in == out.
int inverted_residual(GraphBuilder& b, const std::string& prefix, int in, const InvertedResidualSpec& spec);

// torchvision's classifier heads: avgpool, flatten, then classifier.0.. in order: [Linear(hidden), activation,]
// Dropout, Linear(num_classes). MobileNetV3 has the hidden layer; V2 and EfficientNet (hidden 0) do not.
struct ClassifierHeadSpec {
    int64_t hidden = 0;
    Activation activation = Activation::None;
    double dropout = 0.2;
    int64_t num_classes = 1000;
};
int classifier_head(GraphBuilder& b, int in, const ClassifierHeadSpec& spec);

}  // namespace zoo::models
