#include "blocks/mobilenet_blocks.hpp"

#include <algorithm>

namespace zoo::models {

int64_t make_divisible(double v, int64_t divisor) {
    // int(v + divisor / 2) // divisor * divisor, as Python computes it for positive v.
    int64_t rounded = static_cast<int64_t>(v + static_cast<double>(divisor) / 2.0) / divisor * divisor;
    int64_t result = std::max(divisor, rounded);
    if (static_cast<double>(result) < 0.9 * v) result += divisor;
    return result;
}

int GraphBuilder::add(Node node, int64_t channels) {
    int index = m_graph.add_node(std::move(node));
    m_channels.resize(static_cast<size_t>(index) + 1, 0);
    m_channels[static_cast<size_t>(index)] = channels;
    return index;
}

int64_t GraphBuilder::channels(int node) const { return m_channels.at(static_cast<size_t>(node)); }

int GraphBuilder::input(const std::string& name, Shape shape) {
    Node n;
    n.name = name;
    n.op = OpKind::Input;
    int64_t c = shape.at(1);
    n.attrs = InputAttrs{std::move(shape)};
    return add(std::move(n), c);
}

int GraphBuilder::conv(const std::string& name, int in, const Conv2dAttrs& attrs) {
    Node n;
    n.name = name;
    n.op = OpKind::Conv2d;
    n.inputs = {in};
    n.attrs = attrs;
    n.params.push_back({"weight", name + ".weight",
                        {attrs.out_channels, attrs.in_channels / attrs.groups, attrs.kernel[0], attrs.kernel[1]}});
    if (attrs.has_bias) n.params.push_back({"bias", name + ".bias", {attrs.out_channels}});
    return add(std::move(n), attrs.out_channels);
}

int GraphBuilder::batchnorm(const std::string& name, int in, int64_t channels, double eps) {
    Node n;
    n.name = name;
    n.op = OpKind::BatchNorm;
    n.inputs = {in};
    n.attrs = BatchNormAttrs{channels, eps};
    for (const char* role : {"weight", "bias"}) n.params.push_back({role, name + "." + role, {channels}});
    for (const char* role : {"running_mean", "running_var"}) n.params.push_back({role, name + "." + role, {channels}, true, true});
    n.params.push_back({"num_batches_tracked", name + ".num_batches_tracked", {}, false, true});
    return add(std::move(n), channels);
}

int GraphBuilder::unary(const std::string& name, int in, OpKind op) {
    Node n;
    n.name = name;
    n.op = op;
    n.inputs = {in};
    return add(std::move(n), channels(in));
}

int GraphBuilder::activation(const std::string& name, int in, Activation act) {
    return act.id ? unary(name, in, op_of(*act.id)) : in;
}

int GraphBuilder::binary(const std::string& name, int a, int b, OpKind op) {
    Node n;
    n.name = name;
    n.op = op;
    n.inputs = {a, b};
    return add(std::move(n), std::max(channels(a), channels(b)));
}

int GraphBuilder::global_avg_pool(const std::string& name, int in) { return unary(name, in, OpKind::GlobalAvgPool); }

int GraphBuilder::max_pool2d(const std::string& name, int in, const MaxPool2dAttrs& attrs) {
    Node n;
    n.name = name;
    n.op = OpKind::MaxPool2d;
    n.inputs = {in};
    n.attrs = attrs;
    return add(std::move(n), channels(in));
}

int GraphBuilder::avg_pool2d(const std::string& name, int in, const AvgPool2dAttrs& attrs) {
    Node n;
    n.name = name;
    n.op = OpKind::AvgPool2d;
    n.inputs = {in};
    n.attrs = attrs;
    return add(std::move(n), channels(in));
}

int GraphBuilder::flatten(const std::string& name, int in) {
    Node n;
    n.name = name;
    n.op = OpKind::Flatten;
    n.inputs = {in};
    n.attrs = FlattenAttrs{1};
    return add(std::move(n), channels(in));
}

int GraphBuilder::linear(const std::string& name, int in, int64_t in_features, int64_t out_features) {
    Node n;
    n.name = name;
    n.op = OpKind::Linear;
    n.inputs = {in};
    n.attrs = LinearAttrs{in_features, out_features, true};
    n.params.push_back({"weight", name + ".weight", {out_features, in_features}});
    n.params.push_back({"bias", name + ".bias", {out_features}});
    return add(std::move(n), out_features);
}

int GraphBuilder::dropout(const std::string& name, int in, double p) {
    Node n;
    n.name = name;
    n.op = OpKind::Dropout;
    n.inputs = {in};
    n.attrs = DropoutAttrs{p};
    return add(std::move(n), channels(in));
}

namespace {
Conv2dAttrs conv_attrs(int64_t in_c, int64_t out_c, int64_t kernel, int64_t stride, int64_t dilation, int64_t groups,
                       bool bias) {
    Conv2dAttrs a;
    a.in_channels = in_c;
    a.out_channels = out_c;
    a.kernel = {kernel, kernel};
    a.stride = {stride, stride};
    int64_t pad = (kernel - 1) / 2 * dilation;
    a.padding = {pad, pad};
    a.dilation = {dilation, dilation};
    a.groups = groups;
    a.has_bias = bias;
    return a;
}
}  // namespace

int conv_bn_act(GraphBuilder& b, const std::string& prefix, int in, const ConvBnActSpec& spec) {
    int x = b.conv(prefix + ".0", in,
                   conv_attrs(b.channels(in), spec.out_channels, spec.kernel, spec.stride, spec.dilation, spec.groups, false));
    x = b.batchnorm(prefix + ".1", x, spec.out_channels, spec.bn_eps);
    return b.activation(prefix + ".2", x, spec.act);
}

int squeeze_excite(GraphBuilder& b, const std::string& prefix, int in, const SqueezeExciteSpec& spec) {
    int64_t channels = b.channels(in);
    int s = b.global_avg_pool(prefix + ".avgpool", in);
    s = b.conv(prefix + ".fc1", s, conv_attrs(channels, spec.squeeze_channels, 1, 1, 1, 1, true));
    s = b.activation(prefix + ".activation", s, spec.activation);
    s = b.conv(prefix + ".fc2", s, conv_attrs(spec.squeeze_channels, channels, 1, 1, 1, 1, true));
    s = b.activation(prefix + ".scale_activation", s, spec.scale_activation);
    return b.binary(prefix, s, in, OpKind::Mul);
}

int inverted_residual(GraphBuilder& b, const std::string& prefix, int in, const InvertedResidualSpec& spec) {
    const int64_t in_channels = b.channels(in);
    const std::string base = prefix + "." + spec.container + ".";
    int layer = 0;
    int x = in;
    if (spec.expand) {
        x = conv_bn_act(b, base + std::to_string(layer++), x,
                        {spec.expanded_channels, 1, 1, 1, 1, spec.act, spec.bn_eps});
    }
    const int64_t dw_stride = spec.dilation > 1 ? 1 : spec.stride;
    x = conv_bn_act(b, base + std::to_string(layer++), x,
                    {spec.expanded_channels, spec.kernel, dw_stride, spec.dilation, spec.expanded_channels, spec.act,
                     spec.bn_eps});
    if (spec.squeeze_excite) {
        SqueezeExciteSpec se = spec.se;
        if (se.squeeze_channels == 0) se.squeeze_channels = make_divisible(static_cast<double>(spec.expanded_channels / 4), 8);
        x = squeeze_excite(b, base + std::to_string(layer++), x, se);
    }
    if (spec.flat_projection) {
        x = b.conv(base + std::to_string(layer), x, conv_attrs(spec.expanded_channels, spec.out_channels, 1, 1, 1, 1, false));
        x = b.batchnorm(base + std::to_string(layer + 1), x, spec.out_channels, spec.bn_eps);
    } else {
        x = conv_bn_act(b, base + std::to_string(layer), x, {spec.out_channels, 1, 1, 1, 1, Activation::None, spec.bn_eps});
    }
    if (spec.stride == 1 && in_channels == spec.out_channels) x = b.binary(prefix, x, in, OpKind::Add);
    return x;
}

int classifier_head(GraphBuilder& b, int in, const ClassifierHeadSpec& spec) {
    int x = b.flatten("flatten", b.global_avg_pool("avgpool", in));
    int64_t features = b.channels(in);
    int module = 0;
    if (spec.hidden > 0) {
        x = b.linear("classifier." + std::to_string(module++), x, features, spec.hidden);
        x = b.activation("classifier." + std::to_string(module++), x, spec.activation);
        features = spec.hidden;
    }
    x = b.dropout("classifier." + std::to_string(module++), x, spec.dropout);
    return b.linear("classifier." + std::to_string(module), x, features, spec.num_classes);
}

}  // namespace zoo::models
