// Naive per-op evaluation used by the graph tests (independent of the device's kernels and layouts).
#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "graph_fixture.hpp"

namespace zoo_test {

namespace {

const zoo::Tensor& weight(const zoo::Node& n, const zoo::WeightMap& w, const std::string& role) {
    return w.at(n.param(role)->key);
}

}  // namespace

std::map<std::string, RefValue> evaluate_reference(const zoo::Graph& graph, const zoo::WeightMap& weights,
                                                   const std::vector<zoo::Tensor>& inputs) {
    std::vector<RefValue> vals(graph.nodes.size());
    std::map<std::string, RefValue> by_name;
    size_t next_input = 0;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        const zoo::Node& n = graph.nodes[i];
        RefValue& out = vals[i];
        out.shape = n.output_shape;
        out.data.assign(static_cast<size_t>(zoo::shape_numel(out.shape)), 0.0);
        auto in = [&](size_t k) -> const RefValue& { return vals[static_cast<size_t>(n.inputs[k])]; };
        switch (n.op) {
            case zoo::OpKind::Input: out.data = to_double(inputs.at(next_input++).data); break;
            case zoo::OpKind::Conv2d: {
                const auto& a = n.attr<zoo::Conv2dAttrs>();
                const zoo::Shape& s = in(0).shape;
                RefConv p{s[0], s[1], s[2], s[3], a.out_channels, a.kernel[0], a.kernel[1], a.stride[0], a.stride[1],
                          a.padding[0], a.padding[1], a.dilation[0], a.dilation[1], a.groups};
                const std::vector<float>* bias = a.has_bias ? &weight(n, weights, "bias").data : nullptr;
                out.data = ref_conv(p, in(0).data, weight(n, weights, "weight").data, bias);
                break;
            }
            case zoo::OpKind::BatchNorm: {
                const auto& a = n.attr<zoo::BatchNormAttrs>();
                const auto& s = in(0).shape;
                const int64_t c = s[1], inner = zoo::shape_numel(s) / (s[0] * c);
                const auto &w = weight(n, weights, "weight").data, &b = weight(n, weights, "bias").data;
                const auto &m = weight(n, weights, "running_mean").data, &v = weight(n, weights, "running_var").data;
                for (size_t e = 0; e < out.data.size(); ++e) {
                    size_t ch = static_cast<size_t>((static_cast<int64_t>(e) / inner) % c);
                    out.data[e] = (in(0).data[e] - m[ch]) / std::sqrt(static_cast<double>(v[ch]) + a.eps) * w[ch] + b[ch];
                }
                break;
            }
            case zoo::OpKind::Relu:
            case zoo::OpKind::Relu6:
            case zoo::OpKind::Hardswish:
            case zoo::OpKind::Hardsigmoid:
                for (size_t e = 0; e < out.data.size(); ++e) out.data[e] = ref_act(zoo::op_name(n.op), in(0).data[e]);
                break;
            case zoo::OpKind::Add:
            case zoo::OpKind::Mul: {
                // Right-aligned broadcasting over the output shape.
                const auto& os = out.shape;
                auto index_in = [&](const zoo::Shape& s, int64_t flat) {
                    int64_t idx = 0, stride = 1;
                    for (size_t k = 0; k < os.size(); ++k) {
                        size_t od = os.size() - 1 - k;
                        int64_t coord = flat % os[od];
                        flat /= os[od];
                        if (k < s.size()) {
                            size_t sd = s.size() - 1 - k;
                            if (s[sd] != 1) idx += coord * stride;
                            stride *= s[sd];
                        }
                    }
                    return static_cast<size_t>(idx);
                };
                for (size_t e = 0; e < out.data.size(); ++e) {
                    double x = in(0).data[index_in(in(0).shape, static_cast<int64_t>(e))];
                    double y = in(1).data[index_in(in(1).shape, static_cast<int64_t>(e))];
                    out.data[e] = n.op == zoo::OpKind::Add ? x + y : x * y;
                }
                break;
            }
            case zoo::OpKind::GlobalAvgPool: {
                const auto& s = in(0).shape;
                const int64_t hw = s[2] * s[3];
                for (int64_t q = 0; q < s[0] * s[1]; ++q) {
                    double acc = 0;
                    for (int64_t p = 0; p < hw; ++p) acc += in(0).data[static_cast<size_t>(q * hw + p)];
                    out.data[static_cast<size_t>(q)] = acc / static_cast<double>(hw);
                }
                break;
            }
            // Pools written from torch's documentation (nn.MaxPool2d / nn.AvgPool2d) rather than the SDK's helpers: a
            // window over the zero- (avg) or -inf- (max) padded input; ceil_mode windows may hang past the padding,
            // and an avg window's divisor counts the padding it covers (never past it) or, without
            // count_include_pad, only the input elements.
            case zoo::OpKind::MaxPool2d:
            case zoo::OpKind::AvgPool2d: {
                const bool is_max = n.op == zoo::OpKind::MaxPool2d;
                std::array<int64_t, 2> k, st, pad, dil{1, 1};
                bool include_pad = true;
                if (is_max) {
                    const auto& a = n.attr<zoo::MaxPool2dAttrs>();
                    k = a.kernel, st = a.stride, pad = a.padding, dil = a.dilation;
                } else {
                    const auto& a = n.attr<zoo::AvgPool2dAttrs>();
                    k = a.kernel, st = a.stride, pad = a.padding, include_pad = a.count_include_pad;
                }
                const auto& s = in(0).shape;
                const int64_t h = s[2], w = s[3], oh = out.shape[2], ow = out.shape[3];
                for (int64_t q = 0; q < s[0] * s[1]; ++q)
                    for (int64_t oy = 0; oy < oh; ++oy)
                        for (int64_t ox = 0; ox < ow; ++ox) {
                            double best = -INFINITY, sum = 0;
                            int64_t inside = 0, covered = 0;
                            for (int64_t ky = 0; ky < k[0]; ++ky)
                                for (int64_t kx = 0; kx < k[1]; ++kx) {
                                    const int64_t iy = oy * st[0] - pad[0] + ky * dil[0];
                                    const int64_t ix = ox * st[1] - pad[1] + kx * dil[1];
                                    if (iy < h + pad[0] && ix < w + pad[1]) ++covered;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                    const double v = in(0).data[static_cast<size_t>((q * h + iy) * w + ix)];
                                    best = std::max(best, v);
                                    sum += v;
                                    ++inside;
                                }
                            out.data[static_cast<size_t>((q * oh + oy) * ow + ox)] =
                                is_max ? best : sum / static_cast<double>(include_pad ? covered : inside);
                        }
                break;
            }
            case zoo::OpKind::Flatten:
            case zoo::OpKind::Dropout: out.data = in(0).data; break;
            case zoo::OpKind::Linear: {
                const auto& a = n.attr<zoo::LinearAttrs>();
                const auto& w = weight(n, weights, "weight").data;
                const auto& b = weight(n, weights, "bias").data;
                const int64_t rows = zoo::shape_numel(in(0).shape) / a.in_features;
                for (int64_t r = 0; r < rows; ++r)
                    for (int64_t o = 0; o < a.out_features; ++o) {
                        double acc = b[static_cast<size_t>(o)];
                        for (int64_t k = 0; k < a.in_features; ++k)
                            acc += in(0).data[static_cast<size_t>(r * a.in_features + k)] * w[static_cast<size_t>(o * a.in_features + k)];
                        out.data[static_cast<size_t>(r * a.out_features + o)] = acc;
                    }
                break;
            }
            case zoo::OpKind::Softmax: {
                const auto& s = out.shape;
                int64_t axis = n.attr<zoo::SoftmaxAttrs>().axis;
                if (axis < 0) axis += static_cast<int64_t>(s.size());
                int64_t outer = 1, inner = 1;
                for (int64_t d = 0; d < axis; ++d) outer *= s[static_cast<size_t>(d)];
                for (size_t d = static_cast<size_t>(axis) + 1; d < s.size(); ++d) inner *= s[d];
                const int64_t len = s[static_cast<size_t>(axis)];
                for (int64_t o = 0; o < outer; ++o)
                    for (int64_t q = 0; q < inner; ++q) {
                        double mx = -1e300, sum = 0;
                        for (int64_t k = 0; k < len; ++k) mx = std::max(mx, in(0).data[static_cast<size_t>((o * len + k) * inner + q)]);
                        for (int64_t k = 0; k < len; ++k) sum += std::exp(in(0).data[static_cast<size_t>((o * len + k) * inner + q)] - mx);
                        for (int64_t k = 0; k < len; ++k) {
                            size_t e = static_cast<size_t>((o * len + k) * inner + q);
                            out.data[e] = std::exp(in(0).data[e] - mx) / sum;
                        }
                    }
                break;
            }
        }
        by_name[n.name] = out;
    }
    return by_name;
}

}  // namespace zoo_test
