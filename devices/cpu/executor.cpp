// How a graph runs on the CPU:
// - Layout: rank-4 values are stored NHWC with channels padded to 16 ("spatial"); other ranks as rows of the last
//   dimension, padded the same way. Inputs are converted at entry, outputs and captured values at exit.
// - Steps: one kernel call each. The fast plan fuses a Conv2d/Linear with a following activation and with a residual
//   Add when each intermediate has exactly one reader, and a pointwise expansion larger than L2 with the depthwise
//   conv that alone reads it (kernels' run_expand_depthwise); the fused step runs where the last fused node stood. Dropout
//   and memory-preserving Flatten are aliases (no step). The capture plan (built on first use) runs every node alone
//   so each node's own value can be copied out.
// - Memory: buffers are assigned once per plan by liveness (greedy best fit) and reused across runs.
// - Batch: a batch of several images runs image by image through a batch-1 copy of the model (one copy per thread,
//   the threads splitting the images), when every node's value is per image. One image's activations fit in L2
//   where a whole batch's stream from memory, and a thread working on its own image never waits for the other.
//   The tail after the last node with more than 7x7 pixels per image (the 7x7 layers, pooling, classifier) runs
//   batched: per image it would stream their weights (MBs, past L2) once per image. The full-batch plan is built
//   only when per-layer values are captured.
// - Stem: a graph input whose every reader is a convolution NchwStemConv takes stays in the caller's NCHW tensor
//   (layout `nchw`, no buffer, no conversion): the stem reads the planes directly.
#include "executor.hpp"
#include "zoo/tsan.hpp"

#include <tbb/info.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>

#include "kernels/common.hpp"
#include "kernels/conv.hpp"
#include "kernels/dense_ops.hpp"
#include "kernels/eltwise.hpp"
#include "kernels/gemm.hpp"
#include "kernels/parallel.hpp"
#include "stem_conv.hpp"

namespace zoo::cpu {

using namespace ::zoo::kernels;  // the SDK's fp32 kernels

namespace {

struct Layout {
    Shape shape;
    bool spatial = false;  // rank 4, stored [n, h, w, cp]
    int64_t n = 1, h = 1, w = 1;
    int64_t rows = 1;  // spatial: n * h * w; otherwise numel / c
    int64_t c = 1, cp = kChannelAlign;
    bool nchw = false;  // a graph input kept dense in the caller's tensor (see "Stem" above)
    int64_t floats() const { return nchw ? shape_numel(shape) : rows * cp; }
};

Layout make_layout(const Shape& shape) {
    Layout l;
    l.shape = shape;
    if (shape.size() == 4) {
        l.spatial = true;
        l.n = shape[0];
        l.c = shape[1];
        l.h = shape[2];
        l.w = shape[3];
        l.rows = l.n * l.h * l.w;
    } else if (!shape.empty()) {
        l.c = shape.back();
        l.rows = l.c > 0 ? shape_numel(shape) / l.c : 0;
        l.n = l.rows;
    }
    l.cp = padded_channels(std::max<int64_t>(l.c, 1));
    return l;
}

// Same bytes for the same logical elements (so a reshape between them is free).
bool same_memory(const Layout& a, const Layout& b) {
    if (a.rows != b.rows || a.c != b.c) return false;
    if (a.spatial && b.spatial) return a.shape == b.shape;
    if (a.spatial) return a.h * a.w == 1;
    if (b.spatial) return b.h * b.w == 1;
    return true;
}

void to_dense(const Layout& l, const float* src, float* dst) {
    if (l.nchw) {
        std::memcpy(dst, src, static_cast<size_t>(l.floats()) * sizeof(float));
    } else if (l.spatial) {
        nhwc_to_nchw(src, dst, l.n, l.c, l.h * l.w, l.cp);
    } else {
        for (int64_t r = 0; r < l.rows; ++r) std::memcpy(dst + r * l.c, src + r * l.cp, static_cast<size_t>(l.c) * sizeof(float));
    }
}

void from_dense(const Layout& l, const float* src, float* dst) {
    if (l.spatial) {
        nchw_to_nhwc(src, dst, l.n, l.c, l.h * l.w, l.cp);
    } else {
        for (int64_t r = 0; r < l.rows; ++r) {
            std::memcpy(dst + r * l.cp, src + r * l.c, static_cast<size_t>(l.c) * sizeof(float));
            std::memset(dst + r * l.cp + l.c, 0, static_cast<size_t>(l.cp - l.c) * sizeof(float));
        }
    }
}

Act act_of(OpKind op) { return is_activation(op) ? act_for(activation_of(op)) : Act::None; }

Status node_error(const Node& n, const std::string& what) {
    return Status::error("cpu: node '" + n.name + "' (" + op_name(n.op) + "): " + what);
}

// Weights of one node, prepared once and shared by both plans.
struct Prepared {
    std::unique_ptr<ConvKernel> conv;
    std::unique_ptr<NchwStemConv> stem;  // instead of conv when the input stays NCHW
    PackedB linear_b;
    AlignedBuffer bias;  // padded, zero past the real channels
    std::vector<float> dense_weight, dense_bias;  // linear fallback on a non-row input
    AlignedBuffer bn_mean, bn_scale, bn_shift;   // padded per-channel affine
};

class Plan;
struct StepContext {
    Plan& plan;
};

struct Step {
    std::string name;     // first node of the step
    std::string op_type;  // "conv2d+hardswish+add"
    int last_node = -1;   // the node whose value the step writes
    std::vector<int> reads;  // nodes whose values the step reads
    int64_t scratch = 0;     // floats of scratch the step needs
    std::function<void(StepContext&)> fn;
};

class Plan {
public:
    std::vector<Step> steps;
    std::vector<int> root;                    // node -> node that owns its storage (aliases resolve to their source)
    std::vector<int> buffer_of_node;          // node (root) -> buffer index, -1 when not materialised
    std::vector<std::vector<int>> available;  // step -> nodes whose value is complete after it (for capture)
    std::vector<int> input_ready;             // nodes complete after the input conversion
    std::vector<AlignedBuffer> buffers;
    AlignedBuffer scratch;
    std::vector<float*> bound;  // node (root) -> the caller's tensor for NCHW inputs, set per run; null otherwise

    float* ptr(int node) {
        const size_t r = static_cast<size_t>(root[static_cast<size_t>(node)]);
        if (bound[r]) return bound[r];
        return buffers[static_cast<size_t>(buffer_of_node[r])].data();
    }
};

class CpuModel final : public CompiledModel {
public:
    // split: allow the image-by-image batch split (off for its own parts).
    Status build(const Graph& graph, const WeightMap& weights, int threads, bool split = true);
    Status run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
               std::map<std::string, Tensor>* captured) noexcept override;
    std::vector<OpTiming> last_timings() const noexcept override {
        try {
            return m_timings;
        } catch (...) {
            return {};
        }
    }

private:
    Status build_full(const WeightMap& weights);
    Status build_per_image(const WeightMap& weights, int threads);
    Status run_per_image(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs);
    Status prepare_node(int index, const WeightMap& weights);
    bool stem_reads_only(int input) const;
    bool expands_into_depthwise(int expand, int dw) const;
    int clean_cut(int64_t pixels) const;
    Status make_plan(bool fused, Plan& plan) const;
    // make_plan's steps, in order.
    void resolve_aliases(Plan& plan) const;
    Status make_steps(bool fused, Plan& plan) const;
    void assign_buffers(Plan& plan) const;
    void mark_available(Plan& plan) const;
    Status make_step(int head, const std::vector<int>& group, Step& step) const;
    // make_step's op cases: each sets the step's kernel call (and scratch) for the chain's head `n`, writing the value
    // of the chain's last node `last`, whose layout is `out`.
    void dense_step(const Node& n, int last, const Layout& out, Step& step,
                    std::function<void(const std::vector<float*>&, float*)> body) const;
    static Status conv_step(const Prepared* prep, int in0, int last, Act act, int residual, Step& step);
    Status linear_step(const Node& n, const Prepared* prep, int in0, int last, const Layout& out, Act act, int residual,
                       Step& step) const;
    Status batchnorm_step(const Node& n, const Prepared* prep, int in0, int last, const Layout& out, Step& step) const;
    Status binary_step(const Node& n, int last, const Layout& out, Step& step) const;
    Status pool_step(const Node& n, int in0, int last, const Layout& out, Step& step) const;
    Status flatten_step(int in0, int last, const Layout& out, Step& step) const;
    Status softmax_step(const Node& n, int in0, int last, const Layout& out, Step& step) const;
    void execute(Plan& plan, const std::vector<Tensor>& inputs, std::map<std::string, Tensor>* captured);

    Graph m_graph;
    std::vector<Layout> m_layouts;
    std::vector<std::vector<int>> m_readers;
    std::vector<bool> m_is_output;
    std::vector<int> m_input_nodes;
    std::vector<std::unique_ptr<Prepared>> m_prepared;
    Plan m_fast;
    std::optional<Plan> m_capture;
    std::unique_ptr<tbb::task_arena> m_arena;
    std::vector<OpTiming> m_timings;
    // Batch split (see "Batch" above): one single-thread batch-1 model per thread, their inputs and outputs. The
    // full-batch plan (m_fast) is then built on the first capture, from m_weights (the caller's map, which the
    // device contract keeps alive only during compile: so it is copied).
    std::vector<std::unique_ptr<CpuModel>> m_per_image;
    std::vector<std::vector<Tensor>> m_image_in, m_image_out;
    std::unique_ptr<CpuModel> m_tail;    // the batched tail, or null when the copies run the whole graph
    std::vector<Tensor> m_tail_in;       // its input: the head's last value for every image
    std::optional<WeightMap> m_weights;
    bool m_full_built = false;
};

Result<const Tensor*> find_weight(const Node& n, const WeightMap& weights, const std::string& role, int64_t numel) {
    const ParamSpec* p = n.param(role);
    if (p == nullptr) return node_error(n, "has no parameter '" + role + "'");
    auto it = weights.find(p->key);
    if (it == weights.end()) return node_error(n, "weight '" + p->key + "' is missing");
    if (it->second.numel() != numel || static_cast<int64_t>(it->second.data.size()) != numel)
        return node_error(n, "weight '" + p->key + "' has " + std::to_string(it->second.data.size()) +
                                 " values, expected " + std::to_string(numel));
    return &it->second;
}

AlignedBuffer padded_copy(const float* src, int64_t count, int64_t padded) {
    AlignedBuffer b(static_cast<size_t>(padded + PackedB::kPanelWidth));
    if (src) std::memcpy(b.data(), src, static_cast<size_t>(count) * sizeof(float));
    return b;
}

Status CpuModel::prepare_node(int index, const WeightMap& weights) {
    const Node& n = m_graph.nodes[static_cast<size_t>(index)];
    auto prep = std::make_unique<Prepared>();
    switch (n.op) {
        case OpKind::Conv2d: {
            const auto& a = n.attr<Conv2dAttrs>();
            const Layout& in = m_layouts[static_cast<size_t>(n.inputs[0])];
            if (!in.spatial) return node_error(n, "expects a 4-D input, found " + shape_to_string(in.shape));
            if (a.groups <= 0 || a.in_channels % a.groups || a.out_channels % a.groups)
                return node_error(n, "channels are not divisible by groups");
            const ConvParams p = ConvParams::from(a, in.n, in.h, in.w);
            ZOO_ASSIGN_OR_RETURN(const Tensor* w,
                                 find_weight(n, weights, "weight", a.out_channels * (a.in_channels / a.groups) * p.kh * p.kw));
            const float* bias = nullptr;
            if (a.has_bias) {
                ZOO_ASSIGN_OR_RETURN(const Tensor* b, find_weight(n, weights, "bias", a.out_channels));
                bias = b->data.data();
            }
            if (in.nchw)
                prep->stem = std::make_unique<NchwStemConv>(p, w->data.data(), bias);
            else
                prep->conv = std::make_unique<ConvKernel>(p, w->data.data(), bias);
            break;
        }
        case OpKind::Linear: {
            const auto& a = n.attr<LinearAttrs>();
            ZOO_ASSIGN_OR_RETURN(const Tensor* w, find_weight(n, weights, "weight", a.out_features * a.in_features));
            const float* bias = nullptr;
            if (a.has_bias) {
                ZOO_ASSIGN_OR_RETURN(const Tensor* b, find_weight(n, weights, "bias", a.out_features));
                bias = b->data.data();
            }
            if (m_layouts[static_cast<size_t>(n.inputs[0])].spatial) {
                prep->dense_weight = w->data;
                if (bias) prep->dense_bias.assign(bias, bias + a.out_features);
            } else {
                prep->linear_b = pack_b(w->data.data(), a.in_features, a.out_features, 1, a.in_features);
                prep->bias = padded_copy(bias, a.out_features, padded_channels(a.out_features));
            }
            break;
        }
        case OpKind::BatchNorm: {
            const auto& a = n.attr<BatchNormAttrs>();
            const int64_t c = a.channels, cp = padded_channels(c);
            ZOO_ASSIGN_OR_RETURN(const Tensor* w, find_weight(n, weights, "weight", c));
            ZOO_ASSIGN_OR_RETURN(const Tensor* b, find_weight(n, weights, "bias", c));
            ZOO_ASSIGN_OR_RETURN(const Tensor* mean, find_weight(n, weights, "running_mean", c));
            ZOO_ASSIGN_OR_RETURN(const Tensor* var, find_weight(n, weights, "running_var", c));
            std::vector<float> scale(static_cast<size_t>(c));
            for (int64_t i = 0; i < c; ++i)
                scale[static_cast<size_t>(i)] = static_cast<float>(
                    batchnorm_scale(w->data[static_cast<size_t>(i)], var->data[static_cast<size_t>(i)], a.eps));
            prep->bn_mean = padded_copy(mean->data.data(), c, cp);
            prep->bn_scale = padded_copy(scale.data(), c, cp);
            prep->bn_shift = padded_copy(b->data.data(), c, cp);
            break;
        }
        // Ops without weights: nothing to prepare.
        case OpKind::Input:
#define ZOO_CPU_NO_WEIGHTS_ACTIVATION__(name, text, category) case OpKind::name:
        ZOO_ACTIVATION_LIST(ZOO_CPU_NO_WEIGHTS_ACTIVATION__)
#undef ZOO_CPU_NO_WEIGHTS_ACTIVATION__
        case OpKind::Add:
        case OpKind::Mul:
        case OpKind::GlobalAvgPool:
        case OpKind::MaxPool2d:
        case OpKind::AvgPool2d:
        case OpKind::Flatten:
        case OpKind::Dropout:
        case OpKind::Softmax:
            break;
    }
    m_prepared[static_cast<size_t>(index)] = std::move(prep);
    return Status::ok();
}

// Builds the step computing `group` (a chain head -> [activation] -> [depthwise conv -> [activation]] -> [add])
// whose first node is `head`.
Status CpuModel::make_step(int head, const std::vector<int>& group, Step& step) const {
    const Node& n = m_graph.nodes[static_cast<size_t>(head)];
    const int last = group.back();
    step.name = n.name;
    step.op_type = op_name(n.op);
    step.last_node = last;
    Act act = Act::None;
    Act expand_act = Act::None;  // with a second conv (an expansion into its depthwise conv): the first one's
    int second_conv = -1;
    int residual = -1;
    for (size_t k = 1; k < group.size(); ++k) {
        const Node& f = m_graph.nodes[static_cast<size_t>(group[k])];
        step.op_type += std::string("+") + op_name(f.op);
        if (is_activation(f.op)) act = act_of(f.op);
        if (f.op == OpKind::Conv2d) {
            second_conv = group[k];
            expand_act = std::exchange(act, Act::None);
        }
        if (f.op == OpKind::Add) residual = f.inputs[0] == group[k - 1] ? f.inputs[1] : f.inputs[0];
    }
    const Prepared* prep = m_prepared[static_cast<size_t>(head)].get();
    const Layout& out = m_layouts[static_cast<size_t>(last)];
    const int in0 = n.inputs.empty() ? -1 : n.inputs[0];
    step.reads = n.inputs;
    if (residual >= 0) step.reads.push_back(residual);

    switch (n.op) {
        case OpKind::Input:
        case OpKind::Dropout:
            return node_error(n, "internal: no step for this op");
        case OpKind::Conv2d:
            if (second_conv >= 0) {
                const ConvKernel* expand = prep->conv.get();
                const ConvKernel* dw = m_prepared[static_cast<size_t>(second_conv)]->conv.get();
                step.fn = [expand, expand_act, dw, in0, last, act, residual](StepContext& ctx) {
                    run_expand_depthwise(*expand, expand_act, *dw, act, ctx.plan.ptr(in0), ctx.plan.ptr(last),
                                         residual >= 0 ? ctx.plan.ptr(residual) : nullptr);
                };
                return Status::ok();
            }
            return conv_step(prep, in0, last, act, residual, step);
        case OpKind::Linear:
            return linear_step(n, prep, in0, last, out, act, residual, step);
        case OpKind::BatchNorm:
            return batchnorm_step(n, prep, in0, last, out, step);
#define ZOO_CPU_ACTIVATION_CASE__(name, text, category) case OpKind::name:
            ZOO_ACTIVATION_LIST(ZOO_CPU_ACTIVATION_CASE__)
#undef ZOO_CPU_ACTIVATION_CASE__
        {
            const int64_t count = out.floats();
            const Act a = act_of(n.op);
            step.fn = [count, a, in0, last](StepContext& ctx) { activation(ctx.plan.ptr(in0), ctx.plan.ptr(last), count, a); };
            return Status::ok();
        }
        case OpKind::Add:
        case OpKind::Mul:
            return binary_step(n, last, out, step);
        case OpKind::GlobalAvgPool: {
            const Layout& in = m_layouts[static_cast<size_t>(in0)];
            const int64_t batch = in.n, hw = in.h * in.w, cp = in.cp;
            step.fn = [batch, hw, cp, in0, last](StepContext& ctx) {
                global_avg_pool(ctx.plan.ptr(in0), ctx.plan.ptr(last), batch, hw, cp);
            };
            return Status::ok();
        }
        case OpKind::MaxPool2d:
        case OpKind::AvgPool2d:
            return pool_step(n, in0, last, out, step);
        case OpKind::Flatten:
            return flatten_step(in0, last, out, step);
        case OpKind::Softmax:
            return softmax_step(n, in0, last, out, step);
    }
    return node_error(n, "unsupported op");
}

// Runs a dense (plain NCHW) implementation: inputs converted into scratch, output converted back.
void CpuModel::dense_step(const Node& n, int last, const Layout& out, Step& step,
                          std::function<void(const std::vector<float*>&, float*)> body) const {
    std::vector<int> ins = n.inputs;
    std::vector<Layout> in_layouts;
    int64_t total = 0;
    for (int i : ins) {
        in_layouts.push_back(m_layouts[static_cast<size_t>(i)]);
        total += shape_numel(in_layouts.back().shape);
    }
    total += shape_numel(out.shape);
    step.scratch = total;
    step.op_type += " (dense)";
    step.fn = [ins, in_layouts, out, last, body](StepContext& ctx) {
        float* s = ctx.plan.scratch.data();
        std::vector<float*> dense_in;
        for (size_t k = 0; k < ins.size(); ++k) {
            to_dense(in_layouts[k], ctx.plan.ptr(ins[k]), s);
            dense_in.push_back(s);
            s += shape_numel(in_layouts[k].shape);
        }
        body(dense_in, s);
        from_dense(out, s, ctx.plan.ptr(last));
    };
}

Status CpuModel::conv_step(const Prepared* prep, int in0, int last, Act act, int residual, Step& step) {
    if (const NchwStemConv* stem = prep->stem.get()) {
        step.fn = [stem, in0, last, act, residual](StepContext& ctx) {
            stem->run(ctx.plan.ptr(in0), ctx.plan.ptr(last), act, residual >= 0 ? ctx.plan.ptr(residual) : nullptr);
        };
        return Status::ok();
    }
    const ConvKernel* conv = prep->conv.get();
    step.scratch = conv->scratch_floats();
    step.fn = [conv, in0, last, act, residual](StepContext& ctx) {
        conv->run(ctx.plan.ptr(in0), ctx.plan.ptr(last), act, residual >= 0 ? ctx.plan.ptr(residual) : nullptr,
                  ctx.plan.scratch.data());
    };
    return Status::ok();
}

Status CpuModel::linear_step(const Node& n, const Prepared* prep, int in0, int last, const Layout& out, Act act,
                             int residual, Step& step) const {
    const Layout& in = m_layouts[static_cast<size_t>(in0)];
    const auto& a = n.attr<LinearAttrs>();
    if (in.spatial) {
        const int64_t in_f = a.in_features, out_f = a.out_features;
        const int64_t rows = shape_numel(in.shape) / std::max<int64_t>(in_f, 1);
        dense_step(n, last, out, step, [prep, in_f, out_f, rows](const std::vector<float*>& x, float* y) {
            dense::linear(x[0], rows, in_f, prep->dense_weight.data(),
                          prep->dense_bias.empty() ? nullptr : prep->dense_bias.data(), out_f, y);
        });
        return Status::ok();
    }
    const PackedB* b = &prep->linear_b;
    const float* bias = prep->bias.data();
    const int64_t rows = in.rows, lda = in.cp, cp = out.cp;
    step.fn = [b, bias, rows, lda, cp, in0, last, act, residual](StepContext& ctx) {
        gemm(rows, ctx.plan.ptr(in0), lda, *b, ctx.plan.ptr(last), cp, cp,
             GemmEpilogue{bias, act, residual >= 0 ? ctx.plan.ptr(residual) : nullptr, cp});
    };
    return Status::ok();
}

Status CpuModel::batchnorm_step(const Node& n, const Prepared* prep, int in0, int last, const Layout& out,
                                Step& step) const {
    const Layout& in = m_layouts[static_cast<size_t>(in0)];
    if (in.spatial || in.shape.size() == 2) {
        const int64_t rows = in.rows, cp = in.cp;
        step.fn = [prep, rows, cp, in0, last](StepContext& ctx) {
            channel_affine(ctx.plan.ptr(in0), ctx.plan.ptr(last), rows, cp, prep->bn_mean.data(),
                           prep->bn_scale.data(), prep->bn_shift.data());
        };
    } else {
        const Shape shape = in.shape;
        dense_step(n, last, out, step, [prep, shape](const std::vector<float*>& x, float* y) {
            dense::channel_affine(x[0], shape, prep->bn_mean.data(), prep->bn_scale.data(), prep->bn_shift.data(), y);
        });
    }
    return Status::ok();
}

Status CpuModel::binary_step(const Node& n, int last, const Layout& out, Step& step) const {
    const bool is_add = n.op == OpKind::Add;
    const Layout& la = m_layouts[static_cast<size_t>(n.inputs[0])];
    const Layout& lb = m_layouts[static_cast<size_t>(n.inputs[1])];
    const bool fast = la.shape.size() == out.shape.size() && lb.shape.size() == out.shape.size() &&
                      la.spatial == out.spatial && out.shape.size() <= 4 && !out.shape.empty();
    if (!fast) {
        const Shape sa = la.shape, sb = lb.shape, so = out.shape;
        dense_step(n, last, out, step, [is_add, sa, sb, so](const std::vector<float*>& x, float* y) {
            dense::binary(is_add, x[0], sa, x[1], sb, y, so);
        });
        return Status::ok();
    }
    // View every operand as [d0, d1, d2, channels]: spatial (n, h, w); rows: leading dims padded with 1s.
    auto view_dims = [](const Layout& l) {
        std::array<int64_t, 3> d{1, 1, 1};
        if (l.spatial) {
            d = {l.n, l.h, l.w};
        } else {
            const size_t lead = l.shape.size() - 1;
            for (size_t k = 0; k < lead; ++k) d[3 - lead + k] = l.shape[k];
        }
        return d;
    };
    const std::array<int64_t, 3> od = view_dims(out);
    auto operand_strides = [&](const Layout& l) {
        std::array<int64_t, 3> d = view_dims(l), s{0, 0, 0};
        int64_t stride = l.cp;
        for (int k = 2; k >= 0; --k) {
            s[static_cast<size_t>(k)] = (d[static_cast<size_t>(k)] == 1 && od[static_cast<size_t>(k)] != 1) ? 0 : stride;
            stride *= d[static_cast<size_t>(k)];
        }
        return s;
    };
    const std::array<int64_t, 3> sa = operand_strides(la), sb = operand_strides(lb);
    const bool ba = la.c == 1 && out.c != 1, bb = lb.c == 1 && out.c != 1;
    const int i0 = n.inputs[0], i1 = n.inputs[1];
    const int64_t cp = out.cp;
    step.fn = [=](StepContext& ctx) {
        binary(is_add ? BinaryOp::Add : BinaryOp::Mul, BinaryOperand{ctx.plan.ptr(i0), sa, ba},
               BinaryOperand{ctx.plan.ptr(i1), sb, bb}, ctx.plan.ptr(last), od, cp);
    };
    return Status::ok();
}

Status CpuModel::pool_step(const Node& n, int in0, int last, const Layout& out, Step& step) const {
    const Layout& in = m_layouts[static_cast<size_t>(in0)];
    const PoolShape shape{in.n, in.h, in.w, in.cp, out.h, out.w};
    if (n.op == OpKind::MaxPool2d) {
        const MaxPool2dAttrs a = n.attr<MaxPool2dAttrs>();
        step.fn = [shape, a, in0, last](StepContext& ctx) { max_pool2d(ctx.plan.ptr(in0), ctx.plan.ptr(last), shape, a); };
    } else {
        const AvgPool2dAttrs a = n.attr<AvgPool2dAttrs>();
        step.fn = [shape, a, in0, last](StepContext& ctx) { avg_pool2d(ctx.plan.ptr(in0), ctx.plan.ptr(last), shape, a); };
    }
    return Status::ok();
}

Status CpuModel::flatten_step(int in0, int last, const Layout& out, Step& step) const {
    // A flatten that moves data: the dense NCHW order of input and output is the same, so convert through it.
    const Layout in = m_layouts[static_cast<size_t>(in0)];
    const int64_t numel = shape_numel(in.shape);
    step.scratch = numel;
    step.op_type = "flatten";
    step.fn = [in, out, in0, last](StepContext& ctx) {
        to_dense(in, ctx.plan.ptr(in0), ctx.plan.scratch.data());
        from_dense(out, ctx.plan.scratch.data(), ctx.plan.ptr(last));
    };
    return Status::ok();
}

Status CpuModel::softmax_step(const Node& n, int in0, int last, const Layout& out, Step& step) const {
    const int64_t rank = static_cast<int64_t>(out.shape.size());
    int64_t axis = n.attr<SoftmaxAttrs>().axis;
    if (axis < 0) axis += rank;
    if ((out.spatial && axis == 1) || (!out.spatial && axis == rank - 1)) {
        const int64_t rows = out.rows, c = out.c, cp = out.cp;
        step.fn = [rows, c, cp, in0, last](StepContext& ctx) {
            softmax_rows(ctx.plan.ptr(in0), ctx.plan.ptr(last), rows, c, cp);
        };
    } else {
        const Shape shape = out.shape;
        dense_step(n, last, out, step, [shape, axis](const std::vector<float*>& x, float* y) {
            dense::softmax(x[0], shape, axis, y);
        });
    }
    return Status::ok();
}

Status CpuModel::make_plan(bool fused, Plan& plan) const {
    resolve_aliases(plan);
    ZOO_TRY(make_steps(fused, plan));
    assign_buffers(plan);
    mark_available(plan);
    return Status::ok();
}

// plan.root: node -> the node that owns its storage. Dropout and a Flatten that keeps the bytes alias their input.
void CpuModel::resolve_aliases(Plan& plan) const {
    const size_t count = m_graph.nodes.size();
    plan.root.resize(count);
    for (size_t i = 0; i < count; ++i) {
        const Node& n = m_graph.nodes[i];
        plan.root[i] = static_cast<int>(i);
        const bool alias = n.op == OpKind::Dropout ||
                           (n.op == OpKind::Flatten && same_memory(m_layouts[static_cast<size_t>(n.inputs[0])], m_layouts[i]));
        if (alias) plan.root[i] = plan.root[static_cast<size_t>(n.inputs[0])];
    }
}

Status CpuModel::make_steps(bool fused, Plan& plan) const {
    const size_t count = m_graph.nodes.size();
    // Group nodes into steps. A node joins the chain of its sole reader when that is safe.
    std::vector<int> step_at(count, -1);  // node -> index into `groups` of the chain ending at it
    std::vector<std::vector<int>> groups;
    std::vector<bool> taken(count, false);
    auto sole_reader = [&](int node) -> int {
        if (m_is_output[static_cast<size_t>(node)] || m_readers[static_cast<size_t>(node)].size() != 1) return -1;
        return m_readers[static_cast<size_t>(node)][0];
    };
    const std::vector<int> uses = m_graph.use_counts();
    for (size_t i = 0; i < count; ++i) {
        const Node& n = m_graph.nodes[i];
        if (taken[i] || n.op == OpKind::Input || plan.root[i] != static_cast<int>(i)) continue;
        std::vector<int> group{static_cast<int>(i)};
        const bool fusable_head =
            n.op == OpKind::Conv2d || (n.op == OpKind::Linear && !m_layouts[static_cast<size_t>(n.inputs[0])].spatial);
        if (fused && fusable_head) {
            int r = fusable_activation(m_graph, group.back(), uses);
            if (r >= 0) group.push_back(r);
            // An expansion read only by its depthwise conv runs into it (run_expand_depthwise), with that conv's
            // activation: the expanded tensor never exists whole.
            r = sole_reader(group.back());
            if (r >= 0 && !taken[static_cast<size_t>(r)] && expands_into_depthwise(static_cast<int>(i), r)) {
                group.push_back(r);
                r = fusable_activation(m_graph, r, uses);
                if (r >= 0) group.push_back(r);
            }
            r = sole_reader(group.back());
            // An Add of two convs each read only by it (ResNet's conv3 + downsample) joins the first conv's chain only.
            if (r >= 0 && !taken[static_cast<size_t>(r)] && m_graph.nodes[static_cast<size_t>(r)].op == OpKind::Add) {
                const Node& add = m_graph.nodes[static_cast<size_t>(r)];
                const int other = add.inputs[0] == group.back() ? add.inputs[1] : add.inputs[0];
                if (other != group.back() && m_layouts[static_cast<size_t>(other)].shape == add.output_shape &&
                    m_layouts[static_cast<size_t>(group.back())].shape == add.output_shape)
                    group.push_back(r);
            }
        }
        for (int g : group) taken[static_cast<size_t>(g)] = true;
        step_at[static_cast<size_t>(group.back())] = static_cast<int>(groups.size());
        groups.push_back(std::move(group));
    }

    // Steps in the order of their last node (every input of a chain precedes its last node).
    plan.steps.clear();
    for (size_t i = 0; i < count; ++i) {
        if (step_at[i] < 0) continue;
        const std::vector<int>& group = groups[static_cast<size_t>(step_at[i])];
        Step step;
        ZOO_TRY(make_step(group.front(), group, step));
        plan.steps.push_back(std::move(step));
    }
    return Status::ok();
}

void CpuModel::assign_buffers(Plan& plan) const {
    const size_t count = m_graph.nodes.size();
    // Liveness: a root is defined by the step writing it (inputs before step 0) and read until its last reader.
    const int never = -2, forever = std::numeric_limits<int>::max();
    std::vector<int> def(count, never), last_use(count, never);
    for (int node : m_input_nodes) def[static_cast<size_t>(node)] = -1;
    for (size_t s = 0; s < plan.steps.size(); ++s) {
        def[static_cast<size_t>(plan.steps[s].last_node)] = static_cast<int>(s);
        for (int r : plan.steps[s].reads) {
            int root = plan.root[static_cast<size_t>(r)];
            last_use[static_cast<size_t>(root)] = std::max(last_use[static_cast<size_t>(root)], static_cast<int>(s));
        }
    }
    for (int o : m_graph.outputs) last_use[static_cast<size_t>(plan.root[static_cast<size_t>(o)])] = forever;

    // Greedy best-fit assignment of roots to buffers, in definition order.
    plan.buffer_of_node.assign(count, -1);
    std::vector<int64_t> capacity;
    std::vector<int> free_list;
    auto acquire = [&](int node) {
        const int64_t need = m_layouts[static_cast<size_t>(node)].floats();
        int best = -1;
        for (int b : free_list)
            if (capacity[static_cast<size_t>(b)] >= need && (best < 0 || capacity[static_cast<size_t>(b)] < capacity[static_cast<size_t>(best)])) best = b;
        if (best < 0)
            for (int b : free_list)
                if (best < 0 || capacity[static_cast<size_t>(b)] > capacity[static_cast<size_t>(best)]) best = b;
        if (best < 0) {
            best = static_cast<int>(capacity.size());
            capacity.push_back(0);
        } else {
            free_list.erase(std::find(free_list.begin(), free_list.end(), best));
        }
        capacity[static_cast<size_t>(best)] = std::max(capacity[static_cast<size_t>(best)], need);
        plan.buffer_of_node[static_cast<size_t>(node)] = best;
    };
    auto release_dead = [&](int step) {
        for (size_t i = 0; i < count; ++i)
            if (plan.buffer_of_node[i] >= 0 && def[i] <= step && last_use[i] <= step && last_use[i] != forever &&
                std::find(free_list.begin(), free_list.end(), plan.buffer_of_node[i]) == free_list.end() &&
                def[i] != never) {
                free_list.push_back(plan.buffer_of_node[i]);
                def[i] = never;  // released once
            }
    };
    for (int node : m_input_nodes)
        if (!m_layouts[static_cast<size_t>(node)].nchw) acquire(node);  // NCHW inputs live in the caller's tensor
    plan.bound.assign(count, nullptr);
    release_dead(-1);
    for (size_t s = 0; s < plan.steps.size(); ++s) {
        acquire(plan.steps[s].last_node);
        release_dead(static_cast<int>(s));
    }
    plan.buffers.clear();
    for (int64_t cap : capacity) plan.buffers.emplace_back(static_cast<size_t>(std::max<int64_t>(cap, 1)));
    int64_t scratch = 1;
    for (const Step& s : plan.steps) scratch = std::max(scratch, s.scratch);
    plan.scratch.resize(static_cast<size_t>(scratch));
}

// Which node values are complete after each step (a root's aliases become readable with it).
void CpuModel::mark_available(Plan& plan) const {
    const size_t count = m_graph.nodes.size();
    plan.available.assign(plan.steps.size(), {});
    plan.input_ready.clear();
    std::vector<int> producer(count, -1);
    for (size_t s = 0; s < plan.steps.size(); ++s) producer[static_cast<size_t>(plan.steps[s].last_node)] = static_cast<int>(s);
    for (size_t i = 0; i < count; ++i) {
        const int r = plan.root[i];
        if (m_graph.nodes[static_cast<size_t>(r)].op == OpKind::Input)
            plan.input_ready.push_back(static_cast<int>(i));
        else if (producer[static_cast<size_t>(r)] >= 0)
            plan.available[static_cast<size_t>(producer[static_cast<size_t>(r)])].push_back(static_cast<int>(i));
    }
}

// Whether conv `expand` can run straight into its reader `dw` (see run_expand_depthwise).
bool CpuModel::expands_into_depthwise(int expand, int dw) const {
    const Node& d = m_graph.nodes[static_cast<size_t>(dw)];
    if (m_graph.nodes[static_cast<size_t>(expand)].op != OpKind::Conv2d || d.op != OpKind::Conv2d || d.inputs.size() != 1) return false;
    const ConvKernel* e = m_prepared[static_cast<size_t>(expand)]->conv.get();
    const ConvKernel* k = m_prepared[static_cast<size_t>(dw)]->conv.get();
    return e && k && expand_depthwise_suits(*e, *k) && expand_depthwise_pays(*k);
}

// Whether every reader of graph input `input` is a convolution NchwStemConv handles on its first operand (and the
// input is not itself an output), so the input can stay in the caller's NCHW tensor.
bool CpuModel::stem_reads_only(int input) const {
    const Layout& l = m_layouts[static_cast<size_t>(input)];
    if (!l.spatial || m_is_output[static_cast<size_t>(input)] || m_readers[static_cast<size_t>(input)].empty()) return false;
    for (int r : m_readers[static_cast<size_t>(input)]) {
        const Node& n = m_graph.nodes[static_cast<size_t>(r)];
        if (n.op != OpKind::Conv2d || n.inputs.size() != 1 || n.inputs[0] != input) return false;
        if (!NchwStemConv::suits(ConvParams::from(n.attr<Conv2dAttrs>(), l.n, l.h, l.w))) return false;
    }
    return true;
}

Status CpuModel::build(const Graph& graph, const WeightMap& weights, int threads, bool split) {
    m_graph = graph;
    const size_t count = m_graph.nodes.size();
    m_layouts.resize(count);
    m_readers.assign(count, {});
    m_is_output.assign(count, false);
    m_prepared.resize(count);
    for (size_t i = 0; i < count; ++i) {
        const Node& n = m_graph.nodes[i];
        if (n.output_shape.empty()) return node_error(n, "has no inferred output shape (run Graph::infer_shapes first)");
        for (int in : n.inputs) {
            if (in < 0 || static_cast<size_t>(in) >= i) return node_error(n, "inputs are not in topological order");
            m_readers[static_cast<size_t>(in)].push_back(static_cast<int>(i));
        }
        m_layouts[i] = make_layout(n.output_shape);
        if (n.op == OpKind::Input) m_input_nodes.push_back(static_cast<int>(i));
    }
    for (int o : m_graph.outputs) {
        if (o < 0 || static_cast<size_t>(o) >= count) return Status::error("cpu: graph output index out of range");
        m_is_output[static_cast<size_t>(o)] = true;
    }
    for (int node : m_input_nodes) m_layouts[static_cast<size_t>(node)].nchw = stem_reads_only(node);
    m_arena = std::make_unique<tbb::task_arena>(threads);
    const int64_t batch = m_input_nodes.size() == 1 ? m_layouts[static_cast<size_t>(m_input_nodes[0])].n : 1;
    bool per_image = split && batch > 1;
    for (const Node& n : m_graph.nodes) {
        per_image = per_image && !n.output_shape.empty() && n.output_shape[0] == batch;
        if (n.op == OpKind::Softmax) {
            const int64_t axis = n.attr<SoftmaxAttrs>().axis;
            per_image = per_image && axis != 0 && axis != -static_cast<int64_t>(n.output_shape.size());
        }
    }
    if (per_image) return build_per_image(weights, threads);
    return build_full(weights);
}

Status CpuModel::build_full(const WeightMap& weights) {
    for (size_t i = 0; i < m_graph.nodes.size(); ++i) ZOO_TRY(prepare_node(static_cast<int>(i), weights));
    ZOO_TRY(make_plan(true, m_fast));
    m_full_built = true;
    return Status::ok();
}

Status CpuModel::build_per_image(const WeightMap& weights, int threads) {
    const int count = static_cast<int>(m_graph.nodes.size());
    const int64_t batch = m_layouts[static_cast<size_t>(m_input_nodes[0])].n;
    // The cut: the last node with more than kTailPixels pixels per image, else the last with more than one. Past
    // it (7x7 and smaller in these models) a layer's weights outweigh one image's activations, so the tail runs
    // batched and reads each weight once per batch, not once per image. The tail must read nothing before the cut
    // and hold every graph output; otherwise the copies run the whole graph.
    constexpr int64_t kTailPixels = 7 * 7;
    int cut = clean_cut(kTailPixels);
    if (cut < 0) cut = clean_cut(1);
    const bool tail = cut >= 0;

    Graph single = m_graph;
    if (tail) {
        Graph rest;
        rest.name = m_graph.name + " (tail)";
        Node input;
        input.name = m_graph.nodes[static_cast<size_t>(cut)].name;  // the tail's input is the cut's value
        input.op = OpKind::Input;
        input.attrs = InputAttrs{m_graph.nodes[static_cast<size_t>(cut)].output_shape};
        rest.nodes.push_back(std::move(input));
        for (int i = cut + 1; i < count; ++i) {
            Node n = m_graph.nodes[static_cast<size_t>(i)];
            for (int& in : n.inputs) in -= cut;
            rest.nodes.push_back(std::move(n));
        }
        for (int o : m_graph.outputs) rest.outputs.push_back(o - cut);
        ZOO_TRY(rest.infer_shapes());
        m_tail = std::make_unique<CpuModel>();
        ZOO_TRY(m_tail->build(rest, weights, threads, false));
        m_tail_in.assign(1, Tensor(rest.nodes[0].output_shape));
        single.nodes.resize(static_cast<size_t>(cut + 1));
        single.outputs = {cut};
    }
    for (Node& n : single.nodes)
        if (n.op == OpKind::Input) std::get<InputAttrs>(n.attrs).shape[0] = 1;
    ZOO_TRY(single.infer_shapes());
    const int copies = static_cast<int>(std::min<int64_t>(threads, batch));
    for (int k = 0; k < copies; ++k) {
        auto model = std::make_unique<CpuModel>();
        ZOO_TRY(model->build(single, weights, 1, false));
        m_per_image.push_back(std::move(model));
    }
    m_image_in.assign(static_cast<size_t>(copies), {});
    m_image_out.assign(static_cast<size_t>(copies), {});
    for (auto& in : m_image_in)
        for (int node : m_input_nodes) {
            Shape shape = m_layouts[static_cast<size_t>(node)].shape;
            shape[0] = 1;
            in.emplace_back(shape);
        }
    m_weights = weights;
    return Status::ok();
}

// The last node with more than `pixels` pixels per image, when the nodes after it read nothing before it and hold
// every graph output (so they can run as a graph of their own); -1 otherwise.
int CpuModel::clean_cut(int64_t pixels) const {
    const int count = static_cast<int>(m_graph.nodes.size());
    int cut = -1;
    for (int i = 0; i < count; ++i) {
        const Layout& l = m_layouts[static_cast<size_t>(i)];
        if (l.spatial && l.h * l.w > pixels) cut = i;
    }
    if (cut < 0 || cut + 1 >= count || m_is_output[static_cast<size_t>(cut)]) return -1;
    for (int i = cut + 1; i < count; ++i)
        for (int in : m_graph.nodes[static_cast<size_t>(i)].inputs)
            if (in < cut) return -1;
    for (int o : m_graph.outputs)
        if (o <= cut) return -1;
    return cut;
}

// Image i of the batch on model copy i % copies; each copy's thread copies its image in and its logits out.
Status CpuModel::run_per_image(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) {
    const int64_t batch = inputs[0].shape[0];
    const size_t copies = m_per_image.size();
    outputs.resize(m_graph.outputs.size());
    for (size_t k = 0; k < m_graph.outputs.size(); ++k) {
        const Shape& shape = m_graph.nodes[static_cast<size_t>(m_graph.outputs[k])].output_shape;
        if (outputs[k].shape != shape || outputs[k].data.size() != static_cast<size_t>(shape_numel(shape))) outputs[k] = Tensor(shape);
        outputs[k].element_type = ElementType::Float32;
    }
    std::vector<Status> status(copies, Status::ok());
    std::vector<std::vector<OpTiming>> times(copies);
    // Each image's results: the graph outputs, or the tail's input when a tail runs batched.
    std::vector<Tensor>& results = m_tail ? m_tail_in : outputs;
    auto work = [&](size_t c) {
        for (int64_t i = static_cast<int64_t>(c); i < batch && status[c].is_ok(); i += static_cast<int64_t>(copies)) {
            for (size_t k = 0; k < inputs.size(); ++k) {
                const size_t per = m_image_in[c][k].data.size();
                std::memcpy(m_image_in[c][k].data.data(), inputs[k].data.data() + static_cast<size_t>(i) * per, per * sizeof(float));
            }
            status[c] = m_per_image[c]->run(m_image_in[c], m_image_out[c], nullptr);
            const std::vector<OpTiming> t = m_per_image[c]->last_timings();
            if (times[c].empty())
                times[c] = t;
            else
                for (size_t s = 0; s < t.size() && s < times[c].size(); ++s) times[c][s].duration_ns += t[s].duration_ns;
            for (size_t k = 0; status[c].is_ok() && k < results.size(); ++k) {
                const size_t per = m_image_out[c][k].data.size();
                std::memcpy(results[k].data.data() + static_cast<size_t>(i) * per, m_image_out[c][k].data.data(), per * sizeof(float));
            }
        }
    };
    if (copies == 1)
        work(0);
    else
        zoo::tsan::execute_in(*m_arena, [&] {
            zoo::kernels::parallel_range(static_cast<int64_t>(copies), [&](int64_t c) { work(static_cast<size_t>(c)); });
        });
    for (const Status& s : status) ZOO_TRY(s);
    if (m_tail) ZOO_TRY(m_tail->run(m_tail_in, outputs, nullptr));
    // Per-step times summed over the images (with several copies they ran concurrently: the sum exceeds wall time).
    m_timings = std::move(times[0]);
    for (size_t c = 1; c < copies; ++c)
        for (size_t s = 0; s < m_timings.size() && s < times[c].size(); ++s) m_timings[s].duration_ns += times[c][s].duration_ns;
    if (m_tail) {
        const std::vector<OpTiming> t = m_tail->last_timings();
        m_timings.insert(m_timings.end(), t.begin(), t.end());
    }
    return Status::ok();
}

void CpuModel::execute(Plan& plan, const std::vector<Tensor>& inputs, std::map<std::string, Tensor>* captured) {
    using Clock = std::chrono::steady_clock;
    auto capture = [&](int node) {
        const Layout& l = m_layouts[static_cast<size_t>(node)];
        Tensor t(l.shape);
        to_dense(l, plan.ptr(node), t.data.data());
        (*captured)[m_graph.nodes[static_cast<size_t>(node)].name] = std::move(t);
    };
    m_timings.resize(plan.steps.size() + m_input_nodes.size());
    size_t timing = 0;
    for (size_t k = 0; k < m_input_nodes.size(); ++k) {
        const int node = m_input_nodes[k];
        auto t0 = Clock::now();
        if (m_layouts[static_cast<size_t>(node)].nchw)
            // Read only (the stem's input operand); the caller's tensor outlives the run.
            plan.bound[static_cast<size_t>(node)] = const_cast<float*>(inputs[k].data.data());
        else
            from_dense(m_layouts[static_cast<size_t>(node)], inputs[k].data.data(), plan.ptr(node));
        OpTiming& ot = m_timings[timing++];
        if (ot.node_name.empty()) {
            ot.node_name = m_graph.nodes[static_cast<size_t>(node)].name;
            ot.op_type = "input";
        }
        ot.duration_ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    }
    if (captured)
        for (int node : plan.input_ready) capture(node);
    StepContext ctx{plan};
    for (size_t s = 0; s < plan.steps.size(); ++s) {
        const Step& step = plan.steps[s];
        auto t0 = Clock::now();
        step.fn(ctx);
        OpTiming& ot = m_timings[timing++];
        if (ot.node_name != step.name || ot.op_type != step.op_type) {
            ot.node_name = step.name;
            ot.op_type = step.op_type;
        }
        ot.duration_ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
        if (captured)
            for (int node : plan.available[s]) capture(node);
    }
}

Status CpuModel::run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
                     std::map<std::string, Tensor>* captured) noexcept {
    try {
        ZOO_TRY(check_inputs(m_graph, inputs).with_context("cpu"));
        if (!captured && !m_per_image.empty()) return run_per_image(inputs, outputs);
        if (!m_full_built) {
            ZOO_TRY(build_full(*m_weights));
            m_weights.reset();
        }
        Plan* plan = &m_fast;
        if (captured) {
            if (!m_capture) {
                Plan p;
                ZOO_TRY(make_plan(false, p));
                m_capture = std::move(p);
            }
            plan = &*m_capture;
        }
        outputs.resize(m_graph.outputs.size());
        zoo::tsan::execute_in(*m_arena, [&] {
            execute(*plan, inputs, captured);
            for (size_t k = 0; k < m_graph.outputs.size(); ++k) {
                const int node = m_graph.outputs[k];
                const Layout& l = m_layouts[static_cast<size_t>(node)];
                if (outputs[k].shape != l.shape || outputs[k].data.size() != static_cast<size_t>(shape_numel(l.shape)))
                    outputs[k] = Tensor(l.shape);
                outputs[k].element_type = ElementType::Float32;
                to_dense(l, plan->ptr(node), outputs[k].data.data());
            }
        });
        return Status::ok();
    } catch (const std::exception& e) {
        return Status::error(std::string("cpu: run failed: ") + e.what());
    } catch (...) {
        return Status::error("cpu: run failed with an unknown exception");
    }
}

}  // namespace

Result<std::unique_ptr<CompiledModel>> compile_cpu_model(const Graph& graph, const WeightMap& weights, int threads) noexcept {
    try {
        auto model = std::make_unique<CpuModel>();
        ZOO_TRY(model->build(graph, weights, threads));
        return std::unique_ptr<CompiledModel>(std::move(model));
    } catch (const std::exception& e) {
        return Status::error(std::string("cpu: compile failed: ") + e.what());
    } catch (...) {
        return Status::error("cpu: compile failed with an unknown exception");
    }
}

}  // namespace zoo::cpu
