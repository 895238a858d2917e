#include "zoo/graph.hpp"

#include <array>
#include <cmath>
#include <set>
#include <sstream>
#include <unordered_map>

namespace zoo {

namespace {

struct OpTraits {
    const char* name;
    int arity;
};

constexpr OpTraits k_op_traits[] = {
#define ZOO_OP_TRAITS__(op, attrs, text, arity) {text, arity},
    ZOO_OP_LIST(ZOO_OP_TRAITS__)
#undef ZOO_OP_TRAITS__
};

bool attrs_match_op(const Node& node) {
    switch (node.op) {
#define ZOO_OP_ATTR_CHECK__(op, attr_type, text, arity) \
    case OpKind::op: return std::holds_alternative<attr_type>(node.attrs);
        ZOO_OP_LIST(ZOO_OP_ATTR_CHECK__)
#undef ZOO_OP_ATTR_CHECK__
    }
    return false;
}

Status node_error(const Node& node, const std::string& what) {
    return Status::error("node '" + node.name + "' (" + op_name(node.op) + "): " + what);
}

// Numpy-style broadcasting of two shapes; false when incompatible.
bool broadcast_shapes(const Shape& a, const Shape& b, Shape& out) {
    size_t rank = std::max(a.size(), b.size());
    out.assign(rank, 1);
    for (size_t i = 0; i < rank; ++i) {
        int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        if (da != db && da != 1 && db != 1) return false;
        out[i] = da == 1 ? db : da;
    }
    return true;
}

Status check_param(const Node& node, const std::string& role, const Shape& expected) {
    const ParamSpec* p = node.param(role);
    if (p == nullptr) return node_error(node, "missing parameter '" + role + "'");
    if (p->shape != expected)
        return node_error(node, "parameter '" + p->key + "' has shape " + shape_to_string(p->shape) + ", the attributes imply " +
                                    shape_to_string(expected));
    return Status::ok();
}

// torch's pool2d_shape_check on the attributes alone (the input size is checked in infer_shapes).
Status verify_pool_window(const Node& node, const std::array<int64_t, 2>& kernel, const std::array<int64_t, 2>& stride,
                          const std::array<int64_t, 2>& padding, const std::array<int64_t, 2>& dilation) {
    for (int i = 0; i < 2; ++i) {
        if (kernel[i] <= 0 || stride[i] <= 0 || dilation[i] <= 0 || padding[i] < 0)
            return node_error(node, "kernel, stride and dilation must be positive and padding non-negative, found kernel [" +
                                        std::to_string(kernel[0]) + ", " + std::to_string(kernel[1]) + "], stride [" +
                                        std::to_string(stride[0]) + ", " + std::to_string(stride[1]) + "], padding [" +
                                        std::to_string(padding[0]) + ", " + std::to_string(padding[1]) + "], dilation [" +
                                        std::to_string(dilation[0]) + ", " + std::to_string(dilation[1]) + "]");
        if (padding[i] > kernel[i] / 2)
            return node_error(node, std::string("padding ") + (i == 0 ? "h" : "w") + " = " + std::to_string(padding[i]) +
                                        " is more than half the kernel " + (i == 0 ? "h" : "w") + " = " +
                                        std::to_string(kernel[i]) + " (torch refuses it: pad should be at most half of "
                                        "kernel size)");
    }
    return Status::ok();
}

Status verify_attrs(const Node& node) {
    switch (node.op) {
        case OpKind::Input: {
            const auto& a = node.attr<InputAttrs>();
            if (a.shape.size() != 4) return node_error(node, "input shape must be [N, C, H, W], found " + shape_to_string(a.shape));
            for (int64_t d : a.shape)
                if (d <= 0) return node_error(node, "input dimensions must be positive, found " + shape_to_string(a.shape));
            return Status::ok();
        }
        case OpKind::Conv2d: {
            const auto& a = node.attr<Conv2dAttrs>();
            if (a.in_channels <= 0 || a.out_channels <= 0) return node_error(node, "channel counts must be positive");
            if (a.groups <= 0 || a.in_channels % a.groups || a.out_channels % a.groups)
                return node_error(node, "groups=" + std::to_string(a.groups) + " must divide in_channels=" +
                                            std::to_string(a.in_channels) + " and out_channels=" + std::to_string(a.out_channels));
            for (int i = 0; i < 2; ++i) {
                if (a.kernel[i] <= 0 || a.stride[i] <= 0 || a.dilation[i] <= 0 || a.padding[i] < 0)
                    return node_error(node, "kernel, stride and dilation must be positive and padding non-negative");
            }
            ZOO_TRY(check_param(node, "weight",
                                {a.out_channels, a.in_channels / a.groups, a.kernel[0], a.kernel[1]}));
            if (a.has_bias) ZOO_TRY(check_param(node, "bias", {a.out_channels}));
            return Status::ok();
        }
        case OpKind::BatchNorm: {
            const auto& a = node.attr<BatchNormAttrs>();
            if (a.channels <= 0) return node_error(node, "channels must be positive");
            if (!(a.eps > 0)) return node_error(node, "eps must be positive");
            for (const char* role : {"weight", "bias", "running_mean", "running_var"})
                ZOO_TRY(check_param(node, role, {a.channels}));
            return Status::ok();
        }
        case OpKind::Linear: {
            const auto& a = node.attr<LinearAttrs>();
            if (a.in_features <= 0 || a.out_features <= 0) return node_error(node, "feature counts must be positive");
            ZOO_TRY(check_param(node, "weight", {a.out_features, a.in_features}));
            if (a.has_bias) ZOO_TRY(check_param(node, "bias", {a.out_features}));
            return Status::ok();
        }
        case OpKind::Dropout: {
            double p = node.attr<DropoutAttrs>().p;
            if (!(p >= 0 && p < 1)) return node_error(node, "dropout probability must be in [0, 1)");
            return Status::ok();
        }
        case OpKind::Flatten:
            if (node.attr<FlattenAttrs>().start_dim < 0) return node_error(node, "start_dim must be non-negative");
            return Status::ok();
        case OpKind::MaxPool2d: {
            const auto& a = node.attr<MaxPool2dAttrs>();
            return verify_pool_window(node, a.kernel, a.stride, a.padding, a.dilation);
        }
        case OpKind::AvgPool2d: {
            const auto& a = node.attr<AvgPool2dAttrs>();
            return verify_pool_window(node, a.kernel, a.stride, a.padding, {1, 1});
        }
        // No attribute that can be out of range (softmax's axis is checked against the rank in infer_shapes).
#define ZOO_VERIFY_ACTIVATION__(name, text, category) case OpKind::name:
        ZOO_ACTIVATION_LIST(ZOO_VERIFY_ACTIVATION__)
#undef ZOO_VERIFY_ACTIVATION__
        case OpKind::Add:
        case OpKind::Mul:
        case OpKind::GlobalAvgPool:
        case OpKind::Softmax:
            return Status::ok();
    }
    return node_error(node, "op kind outside ZOO_OP_LIST");
}

Result<Shape> pool_output_shape(const Node& n, const Shape& x, const std::array<int64_t, 2>& kernel,
                                const std::array<int64_t, 2>& stride, const std::array<int64_t, 2>& padding,
                                const std::array<int64_t, 2>& dilation, bool ceil_mode) {
    if (x.size() != 4) return node_error(n, "expects [N, C, H, W], found " + shape_to_string(x));
    Shape out{x[0], x[1], 0, 0};
    for (int i = 0; i < 2; ++i) out[2 + i] = pool_output_size(x[2 + i], kernel[i], stride[i], padding[i], dilation[i], ceil_mode);
    if (out[2] < 1 || out[3] < 1)
        return node_error(n, "input " + shape_to_string(x) + " gives output " + shape_to_string(out) +
                                 ": the (dilated) window is larger than the padded input");
    return out;
}

}  // namespace

int64_t pool_output_size(int64_t input, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation, bool ceil_mode) {
    const int64_t span = input + 2 * padding - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
    // Floor division (torch's div_rtn): span may be negative for a window larger than the padded input.
    const int64_t floor_div = span >= 0 ? span / stride : -((-span + stride - 1) / stride);
    int64_t size = floor_div + 1;
    if (ceil_mode && (size - 1) * stride >= input + padding) --size;
    return size;
}

bool is_known_op(OpKind op) {
    switch (op) {
#define ZOO_KNOWN_OP__(name, attrs, text, arity) case OpKind::name:
        ZOO_OP_LIST(ZOO_KNOWN_OP__)
#undef ZOO_KNOWN_OP__
        return true;
    }
    return false;
}

const char* op_name(OpKind op) { return k_op_traits[static_cast<int>(op)].name; }
int op_arity(OpKind op) { return k_op_traits[static_cast<int>(op)].arity; }

bool op_from_name(const std::string& text, OpKind& out) {
    for (size_t i = 0; i < std::size(k_op_traits); ++i) {
        if (text == k_op_traits[i].name) {
            out = static_cast<OpKind>(i);
            return true;
        }
    }
    return false;
}

const ParamSpec* Node::param(const std::string& role) const {
    for (const auto& p : params)
        if (p.role == role) return &p;
    return nullptr;
}

int Graph::add_node(Node node) {
    nodes.push_back(std::move(node));
    return static_cast<int>(nodes.size()) - 1;
}

int Graph::find(const std::string& node_name) const {
    for (size_t i = 0; i < nodes.size(); ++i)
        if (nodes[i].name == node_name) return static_cast<int>(i);
    return -1;
}

std::vector<int> Graph::input_nodes() const {
    std::vector<int> result;
    for (size_t i = 0; i < nodes.size(); ++i)
        if (nodes[i].op == OpKind::Input) result.push_back(static_cast<int>(i));
    return result;
}

std::vector<int> Graph::use_counts() const {
    std::vector<int> counts(nodes.size(), 0);
    for (const auto& n : nodes)
        for (int i : n.inputs) ++counts.at(i);
    for (int o : outputs) ++counts.at(o);
    return counts;
}

void Graph::set_batch(int64_t batch) {
    for (auto& n : nodes)
        if (n.op == OpKind::Input) n.attr<InputAttrs>().shape.at(0) = batch;
}

Status Graph::verify() const {
    if (nodes.empty()) return Status::error("graph '" + name + "' has no nodes");
    if (outputs.empty()) return Status::error("graph '" + name + "' has no outputs");
    std::set<std::string> names;
    for (size_t i = 0; i < nodes.size(); ++i) {
        const Node& n = nodes[i];
        if (n.name.empty()) return Status::error("node #" + std::to_string(i) + " (" + op_name(n.op) + ") has no name");
        if (!names.insert(n.name).second) return node_error(n, "name is used by more than one node");
        if (!attrs_match_op(n)) return node_error(n, "attributes are not of this op's attribute type");
        if (static_cast<int>(n.inputs.size()) != op_arity(n.op))
            return node_error(n, "expects " + std::to_string(op_arity(n.op)) + " inputs, has " + std::to_string(n.inputs.size()));
        for (int in : n.inputs) {
            if (in < 0 || in >= static_cast<int>(i))
                return node_error(n, "input index " + std::to_string(in) + " does not name an earlier node (graph must be in topological order)");
        }
        std::set<std::string> roles;
        for (const auto& p : n.params) {
            if (!roles.insert(p.role).second) return node_error(n, "parameter role '" + p.role + "' appears twice");
            if (p.key.empty()) return node_error(n, "parameter '" + p.role + "' has no key");
        }
        ZOO_TRY(verify_attrs(n));
    }
    for (int o : outputs) {
        if (o < 0 || o >= static_cast<int>(nodes.size()))
            return Status::error("graph '" + name + "': output index " + std::to_string(o) + " is out of range");
    }
    return Status::ok();
}

Status Graph::infer_shapes() {
    ZOO_TRY(verify());
    for (auto& n : nodes) {
        auto in_shape = [&](size_t k) -> const Shape& { return nodes[n.inputs[k]].output_shape; };
        switch (n.op) {
            case OpKind::Input:
                n.output_shape = n.attr<InputAttrs>().shape;
                break;
            case OpKind::Conv2d: {
                const auto& a = n.attr<Conv2dAttrs>();
                const Shape& x = in_shape(0);
                if (x.size() != 4 || x[1] != a.in_channels)
                    return node_error(n, "expects input [N, " + std::to_string(a.in_channels) + ", H, W], found " + shape_to_string(x));
                Shape out{x[0], a.out_channels, 0, 0};
                for (int i = 0; i < 2; ++i) {
                    int64_t span = x[2 + i] + 2 * a.padding[i] - a.dilation[i] * (a.kernel[i] - 1) - 1;
                    if (span < 0)
                        return node_error(n, "input " + shape_to_string(x) + " is smaller than the dilated kernel");
                    out[2 + i] = span / a.stride[i] + 1;
                }
                n.output_shape = out;
                break;
            }
            case OpKind::BatchNorm: {
                const Shape& x = in_shape(0);
                if (x.size() < 2 || x[1] != n.attr<BatchNormAttrs>().channels)
                    return node_error(n, "expects " + std::to_string(n.attr<BatchNormAttrs>().channels) +
                                             " channels in dim 1, found " + shape_to_string(x));
                n.output_shape = x;
                break;
            }
#define ZOO_ACTIVATION_CASE__(name, text, category) case OpKind::name:
            ZOO_ACTIVATION_LIST(ZOO_ACTIVATION_CASE__)
#undef ZOO_ACTIVATION_CASE__
            case OpKind::Dropout:
                n.output_shape = in_shape(0);
                break;
            case OpKind::Softmax: {
                const Shape& x = in_shape(0);
                int64_t axis = n.attr<SoftmaxAttrs>().axis;
                int64_t rank = static_cast<int64_t>(x.size());
                if (axis < -rank || axis >= rank)
                    return node_error(n, "axis " + std::to_string(axis) + " is out of range for " + shape_to_string(x));
                n.output_shape = x;
                break;
            }
            case OpKind::Add:
            case OpKind::Mul: {
                Shape out;
                if (!broadcast_shapes(in_shape(0), in_shape(1), out))
                    return node_error(n, "cannot broadcast " + shape_to_string(in_shape(0)) + " with " + shape_to_string(in_shape(1)));
                n.output_shape = out;
                break;
            }
            case OpKind::GlobalAvgPool: {
                const Shape& x = in_shape(0);
                if (x.size() != 4) return node_error(n, "expects [N, C, H, W], found " + shape_to_string(x));
                n.output_shape = {x[0], x[1], 1, 1};
                break;
            }
            case OpKind::MaxPool2d: {
                const auto& a = n.attr<MaxPool2dAttrs>();
                ZOO_ASSIGN_OR_RETURN(n.output_shape, pool_output_shape(n, in_shape(0), a.kernel, a.stride, a.padding,
                                                                       a.dilation, a.ceil_mode));
                break;
            }
            case OpKind::AvgPool2d: {
                const auto& a = n.attr<AvgPool2dAttrs>();
                ZOO_ASSIGN_OR_RETURN(n.output_shape,
                                     pool_output_shape(n, in_shape(0), a.kernel, a.stride, a.padding, {1, 1}, a.ceil_mode));
                break;
            }
            case OpKind::Flatten: {
                const Shape& x = in_shape(0);
                size_t start = static_cast<size_t>(n.attr<FlattenAttrs>().start_dim);
                if (start >= x.size()) return node_error(n, "start_dim is beyond the rank of " + shape_to_string(x));
                Shape out(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(start));
                out.push_back(shape_numel(Shape(x.begin() + static_cast<std::ptrdiff_t>(start), x.end())));
                n.output_shape = out;
                break;
            }
            case OpKind::Linear: {
                const Shape& x = in_shape(0);
                const auto& a = n.attr<LinearAttrs>();
                if (x.empty() || x.back() != a.in_features)
                    return node_error(n, "expects last dimension " + std::to_string(a.in_features) + ", found " + shape_to_string(x));
                Shape out = x;
                out.back() = a.out_features;
                n.output_shape = out;
                break;
            }
        }
    }
    return Status::ok();
}

std::vector<ParamSpec> Graph::expected_params() const {
    std::vector<ParamSpec> all;
    for (const auto& n : nodes)
        for (const auto& p : n.params) all.push_back(p);
    return all;
}

int64_t Graph::mac_count() const {
    int64_t macs = 0;
    for (const Node& n : nodes) {
        if (n.op == OpKind::Conv2d) {
            const auto& a = n.attr<Conv2dAttrs>();
            macs += shape_numel(n.output_shape) * (a.in_channels / a.groups) * a.kernel[0] * a.kernel[1];
        } else if (n.op == OpKind::Linear) {
            const auto& a = n.attr<LinearAttrs>();
            macs += shape_numel(n.output_shape) * a.in_features;
        }
    }
    return macs;
}

int64_t Graph::parameter_count() const {
    int64_t count = 0;
    for (const auto& p : expected_params())
        if (!p.buffer) count += shape_numel(p.shape);
    return count;
}

Status check_weights(const Graph& graph, const WeightMap& weights) {
    std::ostringstream problems;
    int count = 0;
    std::set<std::string> expected_keys;
    for (const auto& p : graph.expected_params()) {
        expected_keys.insert(p.key);
        auto it = weights.find(p.key);
        if (it == weights.end()) {
            problems << "\n  missing tensor '" << p.key << "' (expected shape " << shape_to_string(p.shape) << ")";
            ++count;
        } else if (it->second.shape != p.shape) {
            problems << "\n  tensor '" << p.key << "' has shape " << shape_to_string(it->second.shape) << ", expected "
                     << shape_to_string(p.shape);
            ++count;
        }
    }
    for (const auto& [key, tensor] : weights) {
        if (!expected_keys.count(key)) {
            problems << "\n  unexpected tensor '" << key << "' (shape " << shape_to_string(tensor.shape) << ")";
            ++count;
        }
    }
    if (count == 0) return Status::ok();
    return Status::error(std::to_string(count) + " weight problem(s) for model '" + graph.name + "':" + problems.str());
}

Status check_inputs(const Graph& graph, const std::vector<Tensor>& inputs) {
    const std::vector<int> input_nodes = graph.input_nodes();
    if (inputs.size() != input_nodes.size())
        return Status::error("expected " + std::to_string(input_nodes.size()) + " input tensor(s), found " +
                             std::to_string(inputs.size()));
    for (size_t k = 0; k < inputs.size(); ++k) {
        const Node& n = graph.nodes[static_cast<size_t>(input_nodes[k])];
        const std::string which = "input " + std::to_string(k) + " ('" + n.name + "')";
        if (inputs[k].shape != n.output_shape)
            return Status::error(which + ": expected shape " + shape_to_string(n.output_shape) + ", found " +
                                 shape_to_string(inputs[k].shape));
        if (static_cast<int64_t>(inputs[k].data.size()) != inputs[k].numel())
            return Status::error(which + " holds " + std::to_string(inputs[k].data.size()) + " values for shape " +
                                 shape_to_string(inputs[k].shape));
    }
    return Status::ok();
}

Status check_node_weights(const Graph& graph, const WeightMap& weights) {
    for (const Node& n : graph.nodes)
        for (const ParamSpec& p : n.params) {
            if (!p.used) continue;
            auto it = weights.find(p.key);
            if (it == weights.end()) return node_error(n, "weight '" + p.key + "' is missing");
            if (static_cast<int64_t>(it->second.data.size()) != shape_numel(p.shape))
                return node_error(n, "weight '" + p.key + "' has " + std::to_string(it->second.data.size()) +
                                         " values, expected " + std::to_string(shape_numel(p.shape)) + " " +
                                         shape_to_string(p.shape));
        }
    return Status::ok();
}

Status fold_batchnorm(Graph& graph, WeightMap& weights) {
    std::vector<int> uses = graph.use_counts();
    std::vector<int> remap(graph.nodes.size());
    std::vector<Node> kept;
    kept.reserve(graph.nodes.size());
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        Node& n = graph.nodes[i];
        bool foldable = false;
        if (n.op == OpKind::BatchNorm) {
            int src = n.inputs[0];
            foldable = graph.nodes[src].op == OpKind::Conv2d && uses[src] == 1;
        }
        if (!foldable) {
            for (int& in : n.inputs) in = remap[in];
            remap[i] = static_cast<int>(kept.size());
            kept.push_back(std::move(n));
            continue;
        }
        Node& conv = kept[remap[n.inputs[0]]];
        auto& ca = conv.attr<Conv2dAttrs>();
        const auto& ba = n.attr<BatchNormAttrs>();
        auto tensor = [&](const std::string& role) -> Result<const Tensor*> {
            const ParamSpec* p = role.rfind("bn:", 0) == 0 ? n.param(role.substr(3)) : conv.param(role);
            auto it = weights.find(p->key);
            if (it == weights.end()) return Status::error("fold_batchnorm: missing tensor '" + p->key + "'");
            return &it->second;
        };
        ZOO_ASSIGN_OR_RETURN(const Tensor* gamma, tensor("bn:weight"));
        ZOO_ASSIGN_OR_RETURN(const Tensor* beta, tensor("bn:bias"));
        ZOO_ASSIGN_OR_RETURN(const Tensor* mean, tensor("bn:running_mean"));
        ZOO_ASSIGN_OR_RETURN(const Tensor* var, tensor("bn:running_var"));
        ZOO_ASSIGN_OR_RETURN(const Tensor* w, tensor("weight"));
        const Tensor* old_bias = nullptr;
        if (ca.has_bias) {
            ZOO_ASSIGN_OR_RETURN(old_bias, tensor("bias"));
        }

        const int64_t out_c = ca.out_channels;
        const int64_t per_out = w->numel() / out_c;
        Tensor folded_w(w->shape);
        Tensor folded_b(Shape{out_c});
        for (int64_t o = 0; o < out_c; ++o) {
            // Double precision so folding adds no error beyond the final rounding to float.
            const double scale = batchnorm_scale(gamma->data[o], var->data[o], ba.eps);
            for (int64_t k = 0; k < per_out; ++k)
                folded_w.data[o * per_out + k] = static_cast<float>(w->data[o * per_out + k] * scale);
            double b = old_bias ? old_bias->data[o] : 0.0;
            folded_b.data[o] = static_cast<float>((b - mean->data[o]) * scale + beta->data[o]);
        }
        std::string weight_key = conv.param("weight")->key;
        std::string bias_key = ca.has_bias ? conv.param("bias")->key : conv.name + ".bias";
        weights[weight_key] = std::move(folded_w);
        weights[bias_key] = std::move(folded_b);
        if (!ca.has_bias) {
            ca.has_bias = true;
            conv.params.push_back(ParamSpec{"bias", bias_key, {out_c}, true});
        }
        remap[i] = remap[n.inputs[0]];
    }
    for (int& o : graph.outputs) o = remap[o];
    graph.nodes = std::move(kept);
    return graph.verify();
}

}  // namespace zoo
