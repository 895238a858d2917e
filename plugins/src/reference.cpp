#include "zoo/reference.hpp"

#include <algorithm>
#include <cmath>
#include <exception>

#include "zoo/activation.hpp"

namespace zoo {

namespace {

Status node_failure(const Node& node, const std::string& what) {
    const std::string op = is_known_op(node.op) ? op_name(node.op) : "op outside ZOO_OP_LIST";
    return Status::error("reference: node '" + node.name + "' (" + op + "): " + what);
}

template <class F>
Status elementwise(const Tensor& x, Tensor& y, F f) {
    for (size_t e = 0; e < y.data.size(); ++e) y.data[e] = static_cast<float>(f(static_cast<double>(x.data[e])));
    return Status::ok();
}

const Tensor* find_param(const Node& node, const WeightMap& weights, const std::string& role) {
    const ParamSpec* spec = node.param(role);
    if (!spec) return nullptr;
    auto it = weights.find(spec->key);
    return it == weights.end() ? nullptr : &it->second;
}

Status require_param(const Node& node, const WeightMap& weights, const std::string& role, const Tensor*& out) {
    out = find_param(node, weights, role);
    if (!out) {
        const ParamSpec* spec = node.param(role);
        return node_failure(node, "missing parameter '" + (spec ? spec->key : node.name + "." + role) + "'");
    }
    return Status::ok();
}

void conv2d(const Node& node, const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& y) {
    const auto& a = node.attr<Conv2dAttrs>();
    const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
    const int64_t oc_count = y.dim(1), oh = y.dim(2), ow = y.dim(3);
    const int64_t cig = c / a.groups, cog = oc_count / a.groups;
    const int64_t kh = a.kernel[0], kw = a.kernel[1];
    for (int64_t b = 0; b < n; ++b)
        for (int64_t oc = 0; oc < oc_count; ++oc) {
            const int64_t first_ic = (oc / cog) * cig;
            for (int64_t oy = 0; oy < oh; ++oy)
                for (int64_t ox = 0; ox < ow; ++ox) {
                    double acc = bias ? bias->data[static_cast<size_t>(oc)] : 0.0;
                    for (int64_t ic = 0; ic < cig; ++ic)
                        for (int64_t ky = 0; ky < kh; ++ky) {
                            const int64_t iy = oy * a.stride[0] - a.padding[0] + ky * a.dilation[0];
                            if (iy < 0 || iy >= h) continue;
                            for (int64_t kx = 0; kx < kw; ++kx) {
                                const int64_t ix = ox * a.stride[1] - a.padding[1] + kx * a.dilation[1];
                                if (ix < 0 || ix >= w) continue;
                                acc += static_cast<double>(x.data[static_cast<size_t>(((b * c + first_ic + ic) * h + iy) * w + ix)]) *
                                       weight.data[static_cast<size_t>(((oc * cig + ic) * kh + ky) * kw + kx)];
                            }
                        }
                    y.data[static_cast<size_t>(((b * oc_count + oc) * oh + oy) * ow + ox)] = static_cast<float>(acc);
                }
        }
}

// Right-aligned (numpy / torch) broadcasting: the flat index into `s` of the output element `flat` of shape `os`.
size_t broadcast_index(const Shape& os, const Shape& s, int64_t flat) {
    int64_t idx = 0, stride = 1;
    for (size_t k = 0; k < os.size(); ++k) {
        const size_t od = os.size() - 1 - k;
        const int64_t coord = flat % os[od];
        flat /= os[od];
        if (k < s.size()) {
            const size_t sd = s.size() - 1 - k;
            if (s[sd] != 1) idx += coord * stride;
            stride *= s[sd];
        }
    }
    return static_cast<size_t>(idx);
}

void softmax(int64_t axis, const Tensor& x, Tensor& y) {
    const Shape& s = x.shape;
    if (axis < 0) axis += static_cast<int64_t>(s.size());
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= s[static_cast<size_t>(d)];
    for (size_t d = static_cast<size_t>(axis) + 1; d < s.size(); ++d) inner *= s[d];
    const int64_t len = s[static_cast<size_t>(axis)];
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t q = 0; q < inner; ++q) {
            auto at = [&](int64_t k) { return static_cast<size_t>((o * len + k) * inner + q); };
            double peak = -INFINITY, sum = 0;
            for (int64_t k = 0; k < len; ++k) peak = std::max(peak, static_cast<double>(x.data[at(k)]));
            for (int64_t k = 0; k < len; ++k) sum += std::exp(x.data[at(k)] - peak);
            for (int64_t k = 0; k < len; ++k) y.data[at(k)] = static_cast<float>(std::exp(x.data[at(k)] - peak) / sum);
        }
}

// torch's max_pool2d: the largest value of the window's in-input elements (padding is -inf), a NaN propagating as
// in ATen's kernel.
void max_pool2d(const MaxPool2dAttrs& a, const Tensor& x, Tensor& y) {
    const int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
    for (int64_t p = 0; p < planes; ++p)
        for (int64_t oy = 0; oy < oh; ++oy)
            for (int64_t ox = 0; ox < ow; ++ox) {
                double best = -INFINITY;
                for (int64_t ky = 0; ky < a.kernel[0]; ++ky) {
                    const int64_t iy = oy * a.stride[0] - a.padding[0] + ky * a.dilation[0];
                    if (iy < 0 || iy >= h) continue;
                    for (int64_t kx = 0; kx < a.kernel[1]; ++kx) {
                        const int64_t ix = ox * a.stride[1] - a.padding[1] + kx * a.dilation[1];
                        if (ix < 0 || ix >= w) continue;
                        const double v = x.data[static_cast<size_t>((p * h + iy) * w + ix)];
                        if (v > best || std::isnan(v)) best = v;
                        if (std::isnan(best)) break;
                    }
                }
                y.data[static_cast<size_t>((p * oh + oy) * ow + ox)] = static_cast<float>(best);
            }
}

// torch's avg_pool2d: the window sum over the divisor avg_pool_span gives; a window with no input element is 0.
void avg_pool2d(const AvgPool2dAttrs& a, const Tensor& x, Tensor& y) {
    const int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
    for (int64_t p = 0; p < planes; ++p)
        for (int64_t oy = 0; oy < oh; ++oy) {
            const PoolSpan sy = avg_pool_span(oy, h, a.kernel[0], a.stride[0], a.padding[0]);
            for (int64_t ox = 0; ox < ow; ++ox) {
                const PoolSpan sx = avg_pool_span(ox, w, a.kernel[1], a.stride[1], a.padding[1]);
                double sum = 0;
                for (int64_t iy = sy.begin; iy < sy.end; ++iy)
                    for (int64_t ix = sx.begin; ix < sx.end; ++ix) sum += x.data[static_cast<size_t>((p * h + iy) * w + ix)];
                const int64_t count = a.count_include_pad ? sy.padded * sx.padded : (sy.end - sy.begin) * (sx.end - sx.begin);
                const bool empty = sy.begin >= sy.end || sx.begin >= sx.end;
                y.data[static_cast<size_t>((p * oh + oy) * ow + ox)] =
                    empty ? 0.0f : static_cast<float>(sum / static_cast<double>(count));
            }
        }
}

Status compute(const Node& node, const std::vector<const Tensor*>& in, const WeightMap& weights, Tensor& out) {
    switch (node.op) {
        case OpKind::Input: return node_failure(node, "an Input has no computation; its value is given");
        case OpKind::Conv2d: {
            const Tensor* weight = nullptr;
            ZOO_TRY(require_param(node, weights, "weight", weight));
            const Tensor* bias = nullptr;
            if (node.attr<Conv2dAttrs>().has_bias) ZOO_TRY(require_param(node, weights, "bias", bias));
            conv2d(node, *in[0], *weight, bias, out);
            return Status::ok();
        }
        case OpKind::BatchNorm: {
            const Tensor *gamma, *beta, *mean, *var;
            ZOO_TRY(require_param(node, weights, "weight", gamma));
            ZOO_TRY(require_param(node, weights, "bias", beta));
            ZOO_TRY(require_param(node, weights, "running_mean", mean));
            ZOO_TRY(require_param(node, weights, "running_var", var));
            const double eps = node.attr<BatchNormAttrs>().eps;
            const int64_t c = in[0]->dim(1), inner = in[0]->numel() / (in[0]->dim(0) * c);
            for (int64_t e = 0; e < out.numel(); ++e) {
                const size_t ch = static_cast<size_t>((e / inner) % c);
                const double x = in[0]->data[static_cast<size_t>(e)];
                out.data[static_cast<size_t>(e)] =
                    static_cast<float>((x - mean->data[ch]) * batchnorm_scale(gamma->data[ch], var->data[ch], eps) +
                                       beta->data[ch]);
            }
            return Status::ok();
        }
        // Every activation through its one definition (zoo/activation.hpp).
#define ZOO_REFERENCE_ACTIVATION__(name, text, category) case OpKind::name:
        ZOO_ACTIVATION_LIST(ZOO_REFERENCE_ACTIVATION__)
#undef ZOO_REFERENCE_ACTIVATION__
            return elementwise(*in[0], out, [&](double x) { return activation_reference(node.op, static_cast<float>(x)); });
        case OpKind::Add:
        case OpKind::Mul:
            for (int64_t e = 0; e < out.numel(); ++e) {
                const double x = in[0]->data[broadcast_index(out.shape, in[0]->shape, e)];
                const double y = in[1]->data[broadcast_index(out.shape, in[1]->shape, e)];
                out.data[static_cast<size_t>(e)] = static_cast<float>(node.op == OpKind::Add ? x + y : x * y);
            }
            return Status::ok();
        case OpKind::GlobalAvgPool: {
            const int64_t planes = in[0]->dim(0) * in[0]->dim(1), hw = in[0]->dim(2) * in[0]->dim(3);
            for (int64_t p = 0; p < planes; ++p) {
                double acc = 0;
                for (int64_t q = 0; q < hw; ++q) acc += in[0]->data[static_cast<size_t>(p * hw + q)];
                out.data[static_cast<size_t>(p)] = static_cast<float>(acc / static_cast<double>(hw));
            }
            return Status::ok();
        }
        case OpKind::MaxPool2d: max_pool2d(node.attr<MaxPool2dAttrs>(), *in[0], out); return Status::ok();
        case OpKind::AvgPool2d: avg_pool2d(node.attr<AvgPool2dAttrs>(), *in[0], out); return Status::ok();
        case OpKind::Flatten:
        case OpKind::Dropout:  // identity at inference
            out.data = in[0]->data;
            return Status::ok();
        case OpKind::Linear: {
            const auto& a = node.attr<LinearAttrs>();
            const Tensor* weight = nullptr;
            ZOO_TRY(require_param(node, weights, "weight", weight));
            const Tensor* bias = nullptr;
            if (a.has_bias) ZOO_TRY(require_param(node, weights, "bias", bias));
            const int64_t rows = in[0]->numel() / a.in_features;
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t o = 0; o < a.out_features; ++o) {
                    double acc = bias ? bias->data[static_cast<size_t>(o)] : 0.0;
                    for (int64_t k = 0; k < a.in_features; ++k)
                        acc += static_cast<double>(in[0]->data[static_cast<size_t>(r * a.in_features + k)]) *
                               weight->data[static_cast<size_t>(o * a.in_features + k)];
                    out.data[static_cast<size_t>(r * a.out_features + o)] = static_cast<float>(acc);
                }
            return Status::ok();
        }
        case OpKind::Softmax: softmax(node.attr<SoftmaxAttrs>().axis, *in[0], out); return Status::ok();
    }
    return node_failure(node, "op kind " + std::to_string(static_cast<int>(node.op)) + " is not in ZOO_OP_LIST");
}

}  // namespace

Status reference_node(const Node& node, const std::vector<const Tensor*>& inputs, const WeightMap& weights, Tensor& out) {
    try {
        // op_arity() indexes the op table: a value outside ZOO_OP_LIST must be refused before it (UBSan caught the
        // out-of-bounds read in the ASan stage).
        if (!is_known_op(node.op))
            return node_failure(node, "op kind " + std::to_string(static_cast<int>(node.op)) + " is not in ZOO_OP_LIST");
        if (static_cast<int>(inputs.size()) != op_arity(node.op))
            return node_failure(node, "expected " + std::to_string(op_arity(node.op)) + " inputs, got " +
                                          std::to_string(inputs.size()));
        for (const Tensor* t : inputs)
            if (!t || static_cast<int64_t>(t->data.size()) != t->numel())
                return node_failure(node, "an input tensor's data does not match its shape");
        if (node.output_shape.empty()) return node_failure(node, "output shape not inferred (call Graph::infer_shapes)");
        out = Tensor(node.output_shape);
        return compute(node, inputs, weights, out);
    } catch (const std::exception& e) {
        return node_failure(node, e.what());
    }
}

Status reference_run(const Graph& graph, const WeightMap& weights, const std::vector<Tensor>& inputs,
                     std::vector<Tensor>& outputs, std::map<std::string, Tensor>* captured) {
    const std::vector<int> input_nodes = graph.input_nodes();
    if (inputs.size() != input_nodes.size())
        return Status::error("reference: the graph has " + std::to_string(input_nodes.size()) + " inputs, got " +
                             std::to_string(inputs.size()));
    std::vector<Tensor> values(graph.nodes.size());
    size_t next_input = 0;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        const Node& node = graph.nodes[i];
        if (node.op == OpKind::Input) {
            const Tensor& given = inputs[next_input++];
            if (given.shape != node.output_shape || static_cast<int64_t>(given.data.size()) != given.numel())
                return Status::error("reference: input '" + node.name + "' expected " + shape_to_string(node.output_shape) +
                                     ", got " + shape_to_string(given.shape) + " with " +
                                     std::to_string(given.data.size()) + " values");
            values[i] = given;
        } else {
            std::vector<const Tensor*> args;
            for (int k : node.inputs) args.push_back(&values[static_cast<size_t>(k)]);
            ZOO_TRY(reference_node(node, args, weights, values[i]));
        }
        if (captured) (*captured)[node.name] = values[i];
    }
    outputs.clear();
    for (int o : graph.outputs) outputs.push_back(values[static_cast<size_t>(o)]);
    return Status::ok();
}

}  // namespace zoo
