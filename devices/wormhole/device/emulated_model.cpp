#include "device/emulated_model.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <map>
#include <optional>

#include "kernels/common.hpp"
#include "kernels/conv.hpp"
#include "kernels/eltwise.hpp"
#include "numerics/fidelity.hpp"
#include "numerics/formats.hpp"

namespace zoo::wormhole {

using namespace ::zoo::kernels;

namespace {

// One node's output as the emulated card holds it: channels-last rows of `cp` floats (c real channels, zero padding),
// every value exactly representable in `format`.
struct Value {
    int64_t n = 1, h = 1, w = 1, c = 1, cp = kChannelAlign;
    DataFormat format = DataFormat::Float32;
    AlignedBuffer data;
    int64_t rows() const { return n * h * w; }
    size_t floats() const { return static_cast<size_t>(rows() * cp); }
};

Result<Value> layout_of(const Node& node) {
    const Shape& s = node.output_shape;
    Value v;
    if (s.size() == 4) {
        v.n = s[0], v.c = s[1], v.h = s[2], v.w = s[3];
    } else if (s.size() == 2) {
        v.n = s[0], v.c = s[1];
    } else {
        return Status::error("layer '" + node.name + "': the emulator keeps rank-2 and rank-4 tensors, found " +
                             shape_to_string(s));
    }
    v.cp = padded_channels(v.c);
    return v;
}

// The card's multiplier sees bf16-precision operands: a float32 tensor is rounded on its way into SrcA/SrcB (the
// other formats are bf16-representable already).
void to_multiplier_precision(const float* in, float* out, size_t count, DataFormat format) {
    if (format != DataFormat::Float32) return;
    for (size_t i = 0; i < count; ++i) out[i] = round_bf16(in[i]);
}

// What Dst holds after an op, then what the packer writes: a bf16 Dst (fp32_dest_acc off) rounds to nearest even
// first, then the packer converts to the layer's dtype (a no-op for bfloat16). `dest_is_bf16` says the values already
// are what a bf16 Dst holds (the GEMM rounded them, or the op is exact on bf16 inputs), so that pass is skipped.
void store_result(Value& out, const LayerConfig& cfg, bool dest_is_bf16 = false) {
    float* d = out.data.data();
    if (!cfg.fp32_dest_acc && !dest_is_bf16)
        quantize_rows(d, out.rows(), out.c, out.cp, DataFormat::BFloat16, Rounding::HostNearestEven);
    const bool packer_no_op = cfg.dtype == DataFormat::BFloat16 && !cfg.fp32_dest_acc;
    if (!packer_no_op) quantize_rows(d, out.rows(), out.c, out.cp, cfg.dtype, Rounding::DeviceTiesAway);
    out.format = cfg.dtype;
}

// Splits for the multiplier, in parallel over large buffers.
template <void (*Split)(const float*, float*, float*, int64_t)>
void split_parallel(const float* in, float* hi, float* lo, size_t n) {
    constexpr size_t kGrain = size_t{1} << 15;
    if (n < 2 * kGrain) {
        Split(in, hi, lo, static_cast<int64_t>(n));
        return;
    }
    tbb::parallel_for(tbb::blocked_range<size_t>(0, n, kGrain), [&](const tbb::blocked_range<size_t>& r) {
        Split(in + r.begin(), hi + r.begin(), lo ? lo + r.begin() : nullptr, static_cast<int64_t>(r.size()));
    });
}

}  // namespace

// Activation buffers of finished layers, reused by later layers and later runs: no allocation or zeroing per layer.
// Every step writes every lane of its output (padding lanes included), so recycled contents never leak.
class BufferPool {
public:
    AlignedBuffer take(size_t floats) {
        auto it = m_free.lower_bound(floats);
        if (it == m_free.end() || it->first > 2 * floats) return AlignedBuffer(floats);
        AlignedBuffer b = std::move(it->second);
        m_free.erase(it);
        return b;
    }
    // Recycles a value's buffer once nothing else (an alias) shares it.
    void give(std::shared_ptr<Value>& v) {
        if (v && v.use_count() == 1) m_free.emplace(v->data.size(), std::move(v->data));
        v.reset();
    }

private:
    std::multimap<size_t, AlignedBuffer> m_free;
};

class EmulatedStep {
public:
    virtual ~EmulatedStep() = default;
    // `out` is allocated (zeroed) with the node's layout unless aliases_input().
    virtual void run(const std::vector<const Value*>& in, Value& out) = 0;
    virtual bool aliases_input() const { return false; }
};

namespace {

// Products at a math fidelity, for ops that multiply (activations/in1 in SrcB, weights/in0 in SrcA):
//   LoFi  = A_hi x B_hi;  HiFi2 = A x B_hi;  HiFi3 = A x B_hi + A_hi x B_lo;  HiFi4 = A x B.
// Significant bits a value of each format has at most: a block-float datum is a sign and an explicit-leading-bit
// magnitude of 7 (bfloat8_b) or 3 (bfloat4_b) bits; bf16 has 8 (hidden + 7).
int significant_bits(DataFormat f) {
    switch (f) {
        case DataFormat::BFloat8_b: return 7;
        case DataFormat::BFloat4_b: return 3;
        default: return 8;
    }
}

// The operand parts one multiply needs. `hi`/`lo` point at the input itself, or at zeros, whenever the split is
// trivial: an operand with no more significant bits than the multiplier's high part (SrcB: 7, SrcA: 5) is its own
// high part, with a zero low part.
template <void (*Split)(const float*, float*, float*, int64_t), int HiBits>
struct SplitOperand {
    const float* full = nullptr;
    const float* hi = nullptr;
    const float* lo = nullptr;  // null: the low part is zero (its phase adds nothing)
    AlignedBuffer rounded, hi_buf, lo_buf;
    void prepare(const Value& x, MathFidelity f) {
        const size_t n = x.floats();
        full = x.data.data();
        if (x.format == DataFormat::Float32) {
            if (rounded.size() < n) rounded.resize(n);
            to_multiplier_precision(x.data.data(), rounded.data(), n, x.format);
            full = rounded.data();
        }
        hi = full;
        lo = nullptr;
        if (f == MathFidelity::HiFi4 || significant_bits(x.format) <= HiBits) return;
        const bool need_lo = f == MathFidelity::HiFi3;
        if (hi_buf.size() < n) hi_buf.resize(n);
        if (need_lo && lo_buf.size() < n) lo_buf.resize(n);
        split_parallel<Split>(full, hi_buf.data(), need_lo ? lo_buf.data() : nullptr, n);
        hi = hi_buf.data();
        lo = need_lo ? lo_buf.data() : nullptr;
    }
};
using SplitB = SplitOperand<split_srcb, 7>;  // activations, SrcB: hidden + 6 bits
using SplitA = SplitOperand<split_srca, 5>;  // in0 of an eltwise multiply, SrcA: hidden + 4 bits

class ConvStep final : public EmulatedStep {
public:
    ConvStep(const ConvParams& p, const std::vector<float>& weights_a, const std::vector<float>& bias, const LayerConfig& cfg)
        : m_cfg(cfg) {
        ConvOptions options;
        options.force_im2col = true;  // every non-depthwise conv is a matmul on the card: no direct kernel
        options.dest_bf16 = !cfg.fp32_dest_acc;
        const bool need_hi = cfg.math_fidelity == MathFidelity::LoFi || cfg.math_fidelity == MathFidelity::HiFi3;
        const bool need_full = cfg.math_fidelity != MathFidelity::LoFi;
        std::vector<float> hi(weights_a.size()), lo(weights_a.size());
        split_srca(weights_a.data(), hi.data(), lo.data(), static_cast<int64_t>(weights_a.size()));
        if (need_full) m_full.emplace(p, weights_a.data(), bias.data(), options);
        if (need_hi) {
            // HiFi3 adds the A_hi x B_lo phase on top of a result that already has the bias.
            const bool with_bias = cfg.math_fidelity == MathFidelity::LoFi;
            m_hi.emplace(p, hi.data(), with_bias ? bias.data() : nullptr, options);
        }
        int64_t scratch = std::max(m_full ? m_full->scratch_floats() : 0, m_hi ? m_hi->scratch_floats() : 0);
        m_scratch.resize(static_cast<size_t>(std::max<int64_t>(scratch, 1)));
    }

    void run(const std::vector<const Value*>& in, Value& out) override {
        const Value& x = *in[0];
        m_b.prepare(x, m_cfg.math_fidelity);
        switch (m_cfg.math_fidelity) {
            case MathFidelity::LoFi: m_hi->run(m_b.hi, out.data.data(), Act::None, nullptr, m_scratch.data()); break;
            case MathFidelity::HiFi2: m_full->run(m_b.hi, out.data.data(), Act::None, nullptr, m_scratch.data()); break;
            case MathFidelity::HiFi3: {
                m_full->run(m_b.hi, out.data.data(), Act::None, nullptr, m_scratch.data());
                if (!m_b.lo) break;  // the A_hi x B_lo phase adds nothing
                if (m_tmp.size() < out.floats()) m_tmp.resize(out.floats());
                m_hi->run(m_b.lo, m_tmp.data(), Act::None, nullptr, m_scratch.data());
                float* o = out.data.data();
                const float* t = m_tmp.data();
                for (size_t i = 0; i < out.floats(); ++i) o[i] += t[i];
                break;
            }
            case MathFidelity::HiFi4: m_full->run(m_b.full, out.data.data(), Act::None, nullptr, m_scratch.data()); break;
        }
        // With a bf16 Dst the kernel already rounded every accumulation and the result (HiFi3 adds two phases after).
        store_result(out, m_cfg, !m_cfg.fp32_dest_acc && (m_cfg.math_fidelity != MathFidelity::HiFi3 || !m_b.lo));
    }

private:
    LayerConfig m_cfg;
    std::optional<ConvKernel> m_full, m_hi;
    AlignedBuffer m_scratch, m_tmp;
    SplitB m_b;
};

class ActivationStep final : public EmulatedStep {
public:
    ActivationStep(Act act, const LayerConfig& cfg) : m_act(act), m_cfg(cfg) {}
    void run(const std::vector<const Value*>& in, Value& out) override {
        activation(in[0]->data.data(), out.data.data(), static_cast<int64_t>(out.floats()), m_act);
        // relu and relu6 only select or clamp (0 and 6 are representable): a bf16 input stays bf16 in Dst, and a value
        // already in the output's format stays exactly representable (a clamp can only lower a block's exponent, whose
        // finer grid holds the coarser one's values).
        const DataFormat f = in[0]->format;
        const bool selects = m_act != Act::Hardsigmoid && f != DataFormat::Float32;
        const bool fits_output = f == m_cfg.dtype || m_cfg.dtype == DataFormat::Float32 ||
                                 (m_cfg.dtype == DataFormat::BFloat16 && f != DataFormat::Float32);
        if (selects && fits_output) {
            out.format = m_cfg.dtype;
            return;
        }
        store_result(out, m_cfg, selects);
    }

private:
    Act m_act;
    LayerConfig m_cfg;
};

// Broadcasting eltwise on the FPU. Multiply runs at the layer's fidelity (in0 in SrcA, in1 in SrcB); add is exact.
BinaryOperand operand_for(const Value& v, const Value& out, const float* data) {
    BinaryOperand op;
    op.data = data;
    // dims of the output: [n, h, w]; an operand with h = w = 1 broadcasts over space, n = 1 over the batch.
    op.strides = {v.n == 1 ? 0 : v.h * v.w * v.cp, v.h == 1 ? 0 : v.w * v.cp, v.w == 1 ? 0 : v.cp};
    op.channel_broadcast = v.c == 1 && out.c != 1;
    return op;
}

void multiply_at_fidelity(const Value& a, const Value& b, Value& out, MathFidelity f, SplitA& sa, SplitB& sb, AlignedBuffer& tmp) {
    const std::array<int64_t, 3> dims{out.n, out.h, out.w};
    sb.prepare(b, f);
    sa.prepare(a, f);
    auto mul = [&](const float* pa, const float* pb, float* dst) {
        binary(BinaryOp::Mul, operand_for(a, out, pa), operand_for(b, out, pb), dst, dims, out.cp);
    };
    switch (f) {
        case MathFidelity::LoFi: mul(sa.hi, sb.hi, out.data.data()); break;
        case MathFidelity::HiFi2: mul(sa.full, sb.hi, out.data.data()); break;
        case MathFidelity::HiFi3: {
            mul(sa.full, sb.hi, out.data.data());
            if (!sb.lo) break;
            if (tmp.size() < out.floats()) tmp.resize(out.floats());
            mul(sa.hi, sb.lo, tmp.data());
            for (size_t i = 0; i < out.floats(); ++i) out.data.data()[i] += tmp.data()[i];
            break;
        }
        case MathFidelity::HiFi4: mul(sa.full, sb.full, out.data.data()); break;
    }
}

class BinaryStep final : public EmulatedStep {
public:
    BinaryStep(BinaryOp op, const LayerConfig& cfg) : m_op(op), m_cfg(cfg) {}
    void run(const std::vector<const Value*>& in, Value& out) override {
        if (m_op == BinaryOp::Mul) {
            multiply_at_fidelity(*in[0], *in[1], out, m_cfg.math_fidelity, m_sa, m_sb, m_tmp);
        } else {
            binary(BinaryOp::Add, operand_for(*in[0], out, in[0]->data.data()), operand_for(*in[1], out, in[1]->data.data()),
                   out.data.data(), {out.n, out.h, out.w}, out.cp);
        }
        store_result(out, m_cfg);
    }

private:
    BinaryOp m_op;
    LayerConfig m_cfg;
    SplitA m_sa;
    SplitB m_sb;
    AlignedBuffer m_tmp;
};

// ttnn composes hardswish as x * hardsigmoid(x): the gate is an intermediate tensor in the layer's dtype and the
// product an FPU multiply at the layer's fidelity.
class HardswishStep final : public EmulatedStep {
public:
    explicit HardswishStep(const LayerConfig& cfg) : m_cfg(cfg) {}
    void run(const std::vector<const Value*>& in, Value& out) override {
        const Value& x = *in[0];
        m_gate.n = x.n, m_gate.h = x.h, m_gate.w = x.w, m_gate.c = x.c, m_gate.cp = x.cp;
        if (m_gate.data.size() < x.floats()) m_gate.data.resize(x.floats());
        activation(x.data.data(), m_gate.data.data(), static_cast<int64_t>(x.floats()), Act::Hardsigmoid);
        store_result(m_gate, m_cfg);
        multiply_at_fidelity(x, m_gate, out, m_cfg.math_fidelity, m_sa, m_sb, m_tmp);
        store_result(out, m_cfg);
    }

private:
    LayerConfig m_cfg;
    Value m_gate;
    SplitA m_sa;
    SplitB m_sb;
    AlignedBuffer m_tmp;
};

class GlobalAvgPoolStep final : public EmulatedStep {
public:
    explicit GlobalAvgPoolStep(const LayerConfig& cfg) : m_cfg(cfg) {}
    void run(const std::vector<const Value*>& in, Value& out) override {
        const Value& x = *in[0];
        global_avg_pool(x.data.data(), out.data.data(), x.n, x.h * x.w, x.cp);
        store_result(out, m_cfg);
    }

private:
    LayerConfig m_cfg;
};

class SoftmaxStep final : public EmulatedStep {
public:
    explicit SoftmaxStep(const LayerConfig& cfg) : m_cfg(cfg) {}
    void run(const std::vector<const Value*>& in, Value& out) override {
        softmax_rows(in[0]->data.data(), out.data.data(), out.rows(), out.c, out.cp);
        store_result(out, m_cfg);
    }

private:
    LayerConfig m_cfg;
};

class BatchNormStep final : public EmulatedStep {
public:
    BatchNormStep(std::vector<float> mean, std::vector<float> scale, std::vector<float> shift, const LayerConfig& cfg)
        : m_mean(std::move(mean)), m_scale(std::move(scale)), m_shift(std::move(shift)), m_cfg(cfg) {}
    void run(const std::vector<const Value*>& in, Value& out) override {
        channel_affine(in[0]->data.data(), out.data.data(), out.rows(), out.cp, m_mean.data(), m_scale.data(), m_shift.data());
        store_result(out, m_cfg);
    }

private:
    std::vector<float> m_mean, m_scale, m_shift;
    LayerConfig m_cfg;
};

// Dropout (identity at inference) and Flatten of [N, C, 1, 1]: the same bytes under another name.
class AliasStep final : public EmulatedStep {
public:
    void run(const std::vector<const Value*>&, Value&) override {}
    bool aliases_input() const override { return true; }
};

// Flatten of a spatial tensor: channels-last rows become PyTorch's (c, h, w) order.
class FlattenStep final : public EmulatedStep {
public:
    void run(const std::vector<const Value*>& in, Value& out) override {
        const Value& x = *in[0];
        std::fill(out.data.data(), out.data.data() + out.floats(), 0.0f);  // buffers come from a pool: clear padding
        for (int64_t n = 0; n < x.n; ++n)
            for (int64_t c = 0; c < x.c; ++c)
                for (int64_t p = 0; p < x.h * x.w; ++p)
                    out.data.data()[n * out.cp + c * x.h * x.w + p] = x.data.data()[(n * x.h * x.w + p) * x.cp + c];
        out.format = x.format;
    }
};

class InputStep final : public EmulatedStep {
public:
    void run(const std::vector<const Value*>&, Value&) override {}
};

const float* weight_data(const WeightMap& weights, const Node& node, const std::string& role) {
    const ParamSpec* p = node.param(role);
    return p ? weights.at(p->key).data.data() : nullptr;
}

// Conv weights [O, I/g, kh, kw] as the card stores them: rows k = (ky, kx, i) of a [K, N] matrix whose tiles' face rows
// run along N, so 16 consecutive output channels of one k share an exponent. Grouped convs are block-diagonal on the
// card: each row holds only its group's O/g channels (alone in their blocks for depthwise). The result keeps
// PyTorch's layout, with values replaced by what the card holds (then rounded to bf16 for the multiplier).
std::vector<float> card_conv_weights(const float* w, const Conv2dAttrs& a, DataFormat format) {
    const int64_t o_total = a.out_channels, per_group_in = a.in_channels / a.groups, og = o_total / a.groups;
    const int64_t taps = a.kernel[0] * a.kernel[1];
    const int64_t rows = per_group_in * taps;
    std::vector<float> out(static_cast<size_t>(o_total * rows));
    std::vector<float> row(static_cast<size_t>(og));
    for (int64_t g = 0; g < a.groups; ++g) {
        for (int64_t r = 0; r < rows; ++r) {  // r = i * taps + tap, PyTorch's inner order
            for (int64_t o = 0; o < og; ++o) row[static_cast<size_t>(o)] = w[(g * og + o) * rows + r];
            quantize_rows(row.data(), 1, og, og, format, Rounding::HostNearestEven);
            for (int64_t o = 0; o < og; ++o) out[static_cast<size_t>((g * og + o) * rows + r)] = row[static_cast<size_t>(o)];
        }
    }
    to_multiplier_precision(out.data(), out.data(), out.size(), format);
    return out;
}

std::vector<float> card_bias(const float* b, int64_t n, DataFormat format) {
    std::vector<float> out(static_cast<size_t>(n), 0.0f);
    if (b) std::copy(b, b + n, out.begin());
    quantize_rows(out.data(), 1, n, n, format, Rounding::HostNearestEven);
    return out;
}

Result<std::unique_ptr<EmulatedStep>> lower(const Graph& graph, const Node& node, const WeightMap& weights, const LayerConfig& cfg) {
    switch (node.op) {
        case OpKind::Input: return std::unique_ptr<EmulatedStep>(new InputStep());
        case OpKind::Conv2d: {
            const auto& a = node.attr<Conv2dAttrs>();
            const Shape& x = graph.nodes[node.inputs[0]].output_shape;
            ConvParams p = ConvParams::from(a, x[0], x[2], x[3]);
            auto w = card_conv_weights(weight_data(weights, node, "weight"), a, cfg.weights_dtype);
            if (a.groups == 1 && p.kh * p.kw > 1 && p.in_c % kChannelAlign != 0) {
                // The card pads each tap's input channels (the stem's 3 become 16), so every tap fills its own 16-wide
                // K step and Dst rounds after each tap: emulate with zero weights on the padding channels.
                const int64_t padded_in = padded_channels(p.in_c), taps = p.kh * p.kw;
                std::vector<float> wp(static_cast<size_t>(p.out_c * padded_in * taps), 0.0f);
                for (int64_t o = 0; o < p.out_c; ++o)
                    for (int64_t i = 0; i < p.in_c; ++i)
                        std::copy_n(w.begin() + (o * p.in_c + i) * taps, taps, wp.begin() + (o * padded_in + i) * taps);
                w = std::move(wp);
                p.in_c = padded_in;
            }
            auto b = card_bias(a.has_bias ? weight_data(weights, node, "bias") : nullptr, a.out_channels, cfg.weights_dtype);
            return std::unique_ptr<EmulatedStep>(new ConvStep(p, w, b, cfg));
        }
        case OpKind::Linear: {
            // A matmul: the weight [out, in] is a 1x1 conv over a [N, 1, 1, in] activation.
            const auto& a = node.attr<LinearAttrs>();
            const Shape& x = graph.nodes[node.inputs[0]].output_shape;
            if (x.size() != 2)
                return Status::error("layer '" + node.name + "': the emulator runs linear layers on [N, features] inputs, found " +
                                     shape_to_string(x));
            Conv2dAttrs as_conv;
            as_conv.in_channels = a.in_features;
            as_conv.out_channels = a.out_features;
            ConvParams p;
            p.batch = x[0], p.in_c = a.in_features, p.out_c = a.out_features;
            auto w = card_conv_weights(weight_data(weights, node, "weight"), as_conv, cfg.weights_dtype);
            auto b = card_bias(a.has_bias ? weight_data(weights, node, "bias") : nullptr, a.out_features, cfg.weights_dtype);
            return std::unique_ptr<EmulatedStep>(new ConvStep(p, w, b, cfg));
        }
        case OpKind::Relu: return std::unique_ptr<EmulatedStep>(new ActivationStep(Act::Relu, cfg));
        case OpKind::Relu6: return std::unique_ptr<EmulatedStep>(new ActivationStep(Act::Relu6, cfg));
        case OpKind::Hardsigmoid: return std::unique_ptr<EmulatedStep>(new ActivationStep(Act::Hardsigmoid, cfg));
        case OpKind::Hardswish: return std::unique_ptr<EmulatedStep>(new HardswishStep(cfg));
        case OpKind::Add: return std::unique_ptr<EmulatedStep>(new BinaryStep(BinaryOp::Add, cfg));
        case OpKind::Mul: return std::unique_ptr<EmulatedStep>(new BinaryStep(BinaryOp::Mul, cfg));
        case OpKind::GlobalAvgPool: return std::unique_ptr<EmulatedStep>(new GlobalAvgPoolStep(cfg));
        case OpKind::Softmax: {
            const Shape& s = node.output_shape;
            int64_t axis = node.attr<SoftmaxAttrs>().axis;
            if (axis < 0) axis += static_cast<int64_t>(s.size());
            if (axis != static_cast<int64_t>(s.size()) - 1 && !(s.size() == 4 && axis == 1))
                return Status::error("layer '" + node.name + "': the emulator runs softmax over channels only");
            return std::unique_ptr<EmulatedStep>(new SoftmaxStep(cfg));
        }
        case OpKind::BatchNorm: {
            const auto& a = node.attr<BatchNormAttrs>();
            std::vector<float> mean(static_cast<size_t>(padded_channels(a.channels)), 0.0f), scale(mean), shift(mean);
            const float* w = weight_data(weights, node, "weight");
            const float* b = weight_data(weights, node, "bias");
            const float* m = weight_data(weights, node, "running_mean");
            const float* v = weight_data(weights, node, "running_var");
            for (int64_t c = 0; c < a.channels; ++c) {
                mean[static_cast<size_t>(c)] = m[c];
                scale[static_cast<size_t>(c)] = static_cast<float>(w[c] / std::sqrt(static_cast<double>(v[c]) + a.eps));
                shift[static_cast<size_t>(c)] = b[c];
            }
            return std::unique_ptr<EmulatedStep>(new BatchNormStep(std::move(mean), std::move(scale), std::move(shift), cfg));
        }
        case OpKind::Dropout: return std::unique_ptr<EmulatedStep>(new AliasStep());
        case OpKind::Flatten: {
            const Shape& x = graph.nodes[node.inputs[0]].output_shape;
            const bool spatial = x.size() == 4 && x[2] * x[3] != 1;
            if (spatial) return std::unique_ptr<EmulatedStep>(new FlattenStep());
            return std::unique_ptr<EmulatedStep>(new AliasStep());
        }
    }
    return Status::error("layer '" + node.name + "': op " + op_name(node.op) + " is not emulated");
}

Tensor to_tensor(const Value& v, const Shape& shape) {
    Tensor t(shape);
    if (shape.size() == 4) {
        nhwc_to_nchw(v.data.data(), t.data.data(), v.n, v.c, v.h * v.w, v.cp);
    } else {
        for (int64_t r = 0; r < v.rows(); ++r)
            std::copy_n(v.data.data() + r * v.cp, v.c, t.data.begin() + r * v.c);
    }
    return t;
}

}  // namespace

EmulatedModel::~EmulatedModel() = default;

Result<std::unique_ptr<EmulatedModel>> EmulatedModel::build(const Graph& graph, const WeightMap& weights,
                                                            const std::vector<LayerConfig>& configs, MemoryPlan plan,
                                                            const WormholeHardware& hw, int threads) {
    std::unique_ptr<EmulatedModel> model(new EmulatedModel());
    model->m_graph = graph;
    model->m_configs = configs;
    model->m_plan = std::move(plan);
    ZOO_ASSIGN_OR_RETURN(model->m_perf, model_performance(graph, configs, model->m_plan, hw));
    model->m_threads = threads;
    model->m_pool = std::make_unique<BufferPool>();
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        ZOO_ASSIGN_OR_RETURN(auto step, lower(graph, graph.nodes[i], weights, configs[i]));
        model->m_steps.push_back(std::move(step));
    }
    // A value may be freed after its last reader; graph outputs live to the end.
    model->m_last_use.assign(graph.nodes.size(), -1);
    for (size_t i = 0; i < graph.nodes.size(); ++i)
        for (int in : graph.nodes[i].inputs) model->m_last_use[static_cast<size_t>(in)] = static_cast<int>(i);
    for (int o : graph.outputs) model->m_last_use[static_cast<size_t>(o)] = static_cast<int>(graph.nodes.size());
    return model;
}

Status EmulatedModel::run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
                          std::map<std::string, Tensor>* captured) noexcept {
    try {
        Status status;
        auto body = [&] { status = run_impl(inputs, outputs, captured); };
        if (m_threads > 0) {
            tbb::task_arena arena(m_threads);
            arena.execute(body);
        } else {
            body();
        }
        return status;
    } catch (const std::exception& e) {
        return Status::error(std::string("wormhole emulator: ") + e.what());
    } catch (...) {
        return Status::error("wormhole emulator: unknown exception");
    }
}

Status EmulatedModel::run_impl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
                               std::map<std::string, Tensor>* captured) {
    const auto input_nodes = m_graph.input_nodes();
    if (inputs.size() != input_nodes.size())
        return Status::error("expected " + std::to_string(input_nodes.size()) + " input tensor(s), got " +
                             std::to_string(inputs.size()));
    std::vector<std::shared_ptr<Value>> values(m_graph.nodes.size());
    size_t next_input = 0;
    for (size_t i = 0; i < m_graph.nodes.size(); ++i) {
        const Node& node = m_graph.nodes[i];
        ZOO_ASSIGN_OR_RETURN(Value layout, layout_of(node));
        std::shared_ptr<Value> out;
        if (m_steps[i]->aliases_input()) {
            out = values[static_cast<size_t>(node.inputs[0])];
        } else {
            out = std::make_shared<Value>(std::move(layout));
            out->data = m_pool->take(out->floats());
            if (node.op == OpKind::Input) {
                const Tensor& t = inputs[next_input++];
                if (t.shape != node.output_shape)
                    return Status::error("input '" + node.name + "': expected shape " + shape_to_string(node.output_shape) +
                                         ", found " + shape_to_string(t.shape));
                // The host converts the input to the first layer's format with the host packer's rounding.
                nchw_to_nhwc(t.data.data(), out->data.data(), out->n, out->c, out->h * out->w, out->cp);
                quantize_rows(out->data.data(), out->rows(), out->c, out->cp, m_configs[i].dtype, Rounding::HostNearestEven);
                out->format = m_configs[i].dtype;
            } else {
                std::vector<const Value*> in;
                for (int k : node.inputs) in.push_back(values[static_cast<size_t>(k)].get());
                m_steps[i]->run(in, *out);
            }
        }
        values[i] = out;
        if (captured) (*captured)[node.name] = to_tensor(*out, node.output_shape);
        // Free what nobody reads any more (capture keeps its own copies).
        for (int k : node.inputs)
            if (m_last_use[static_cast<size_t>(k)] == static_cast<int>(i)) m_pool->give(values[static_cast<size_t>(k)]);
    }
    outputs.clear();
    for (int o : m_graph.outputs) outputs.push_back(to_tensor(*values[static_cast<size_t>(o)], m_graph.nodes[static_cast<size_t>(o)].output_shape));
    for (auto& v : values) m_pool->give(v);
    return Status::ok();
}

std::vector<DeviceMetric> EmulatedModel::metrics() const noexcept {
    return {
        {"peak_l1_per_core", static_cast<double>(m_plan.peak_l1_per_core), "B",
         "largest L1 use of any core at any layer (" + m_plan.peak_layer + "), buffers + circular buffers"},
        {"l1_buffer_region", static_cast<double>(m_plan.l1_buffer_region_bytes), "B", "L1 bytes per core for buffers"},
        {"dram_weights_per_bank", static_cast<double>(m_plan.dram_weight_bytes_per_bank), "B",
         "weights, interleaved over " + std::to_string(m_plan.dram_banks) + " DRAM banks"},
        {"device_fps", m_perf.device_fps, "samples/s",
         "modelled: batch / sum of DEVICE KERNEL DURATION over " + std::to_string(m_perf.ops.size()) + " device ops"},
        {"device_kernel_time", m_perf.device_kernel_ns, "ns", "modelled: sum of DEVICE KERNEL DURATION per batch"},
        {"e2e_fps_plain", m_perf.e2e_fps_plain, "samples/s", "modelled: eager host dispatch per op + PCIe in/out"},
        {"e2e_fps_trace", m_perf.e2e_fps_trace, "samples/s", "modelled: trace replay, one command queue"},
        {"e2e_fps_trace_2cq", m_perf.e2e_fps_trace_2cq, "samples/s",
         "modelled: trace replay, input write on a second command queue overlapped"},
        {"compile_time_first_run", m_perf.compile_ns * 1e-9, "s",
         "modelled: JIT compile of " + std::to_string(m_perf.unique_programs) + " programs + one eager run"},
    };
}

std::vector<OpTiming> EmulatedModel::last_timings() const noexcept {
    std::vector<OpTiming> t;
    try {
        for (const auto& op : m_perf.ops) t.push_back({op.node_name, op.op_code, op.kernel_ns, true});
    } catch (...) {
        t.clear();
    }
    return t;
}

std::vector<std::string> EmulatedModel::table_names() const noexcept { return {"memory", "ops", "trace"}; }

Result<std::string> EmulatedModel::table(const std::string& name) const noexcept {
    if (name == "memory") {
        std::string csv = "layer,op,placement,cores,shard_h,shard_w,dtype,cb_bytes,l1_small_bytes,buffer_bytes,peak_l1_per_core\n";
        for (const auto& l : m_plan.layers) {
            if (l.fused_or_view) continue;
            csv += l.name + "," + l.op + ",\"" + l.output.describe() + "\"," + std::to_string(l.output.cores) + "," +
                   std::to_string(l.output.shard_h) + "," + std::to_string(l.output.shard_w) + "," +
                   data_format_name(l.output.dtype) + "," + std::to_string(l.cb_bytes) + "," +
                   std::to_string(l.l1_small_bytes) + "," + std::to_string(l.buffer_bytes) + "," +
                   std::to_string(l.peak_l1_per_core) + "\n";
        }
        return csv;
    }
    try {
        if (name == "ops") return perf_ops_csv(m_perf);
        if (name == "trace") return perf_trace_json(m_perf);
    } catch (const std::exception& e) {
        return Status::error(std::string("wormhole emulator: ") + e.what());
    }
    return Status::error("the wormhole emulator produces the tables: memory, ops, trace (no '" + name + "')");
}

}  // namespace zoo::wormhole
