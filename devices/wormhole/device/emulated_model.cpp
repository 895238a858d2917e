#include "device/emulated_model.hpp"

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
#include "kernels/parallel.hpp"
#include "numerics/fidelity.hpp"
#include "numerics/formats.hpp"
#include "zoo/tsan.hpp"

namespace zoo::wormhole {

using namespace ::zoo::kernels;

// One node's output as the emulated card holds it: channels-last rows of `cp` floats (c real channels, zero padding),
// every value exactly representable in `format`.
// A planar value holds dense NCHW planes instead: an RGB input whose only readers are stems that take planes
// (ConvStep::reads_planes), which spares writing and reading back 16 floats a pixel for 3.
struct Value {
    int64_t n = 1, h = 1, w = 1, c = 1, cp = kChannelAlign;
    DataFormat format = DataFormat::Float32;
    bool planar = false;
    AlignedBuffer data;
    int64_t rows() const { return n * h * w; }
    size_t floats() const { return static_cast<size_t>(planar ? rows() * c : rows() * cp); }
};

// Rows [r0, r1), columns [c0, c1) of a value's rows of cp floats: where a step's epilogue applies.
struct RowBlock {
    int64_t r0, r1, c0, c1;
    bool parallel = true;  // false: already on one of a kernel's threads (OutputHook), no parallel work inside
    static RowBlock all(const Value& v) { return {0, v.rows(), 0, v.cp}; }
    static RowBlock rows(const Value& v, int64_t r0, int64_t r1) { return {r0, r1, 0, v.cp}; }
};

namespace {

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
// store_result on rows [r0, r1) only, leaving out.format alone (row-local: chunks may run concurrently), and on
// columns [c0, c1) only (c0 a multiple of 16, so the blocks are the whole rows' blocks): a block a kernel finished
// (RowBlock). `parallel` false on a kernel's thread.
void store_rows(Value& out, const WormholeLayerConfig& cfg, bool dest_is_bf16, const RowBlock& b, bool parallel = true) {
    const int64_t cols = std::min(b.c1, out.c) - b.c0;  // real channels of the block
    if (cols <= 0) return;
    float* d = out.data.data() + b.r0 * out.cp + b.c0;
    const int64_t rows = b.r1 - b.r0;
    const bool dest_rounds = !cfg.fp32_dest_acc && !dest_is_bf16;
    const bool packer_no_op = cfg.dtype == DataFormat::BFloat16 && !cfg.fp32_dest_acc;
    if (dest_rounds && !packer_no_op)
        quantize_rows_after_bf16_dest(d, rows, cols, out.cp, cfg.dtype, Rounding::DeviceTiesAway, parallel);
    else if (dest_rounds)
        quantize_rows(d, rows, cols, out.cp, DataFormat::BFloat16, Rounding::HostNearestEven, parallel);
    else if (!packer_no_op)
        quantize_rows(d, rows, cols, out.cp, cfg.dtype, Rounding::DeviceTiesAway, parallel);
}
void store_result(Value& out, const WormholeLayerConfig& cfg, bool dest_is_bf16 = false) {
    store_rows(out, cfg, dest_is_bf16, RowBlock::all(out));
    out.format = cfg.dtype;
}

// Lanes past the real channels stay zero (the next ops rely on it).
void zero_padding(Value& v) {
    if (v.cp == v.c) return;
    for (int64_t r = 0; r < v.rows(); ++r) std::fill_n(v.data.data() + r * v.cp + v.c, v.cp - v.c, 0.0f);
}

// Splits for the multiplier, in parallel over large buffers.
template <void (*Split)(const float*, float*, float*, int64_t)>
void split_parallel(const float* in, float* hi, float* lo, size_t n) {
    constexpr int64_t kGrain = int64_t{1} << 15;
    zoo::kernels::parallel_chunks(static_cast<int64_t>(n), kGrain, [&](int64_t b, int64_t e) {
        Split(in + b, hi + b, lo ? lo + b : nullptr, e - b);
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

// One image's copy of the steps up to the cut (run_per_image), with its own buffers and a one-thread arena.
struct EmulatedModel::ImageCopy {
    std::vector<std::unique_ptr<EmulatedStep>> steps, fused;  // ops [0, cut]
    std::unique_ptr<tbb::task_arena> arena;
    std::unique_ptr<BufferPool> pool;
    std::vector<float> staging;
};

class EmulatedStep {
public:
    virtual ~EmulatedStep() = default;
    // `out` has the layout of the op's node, its buffer taken from the pool (every lane must be written).
    virtual void run(const std::vector<const Value*>& in, Value& out) = 0;

    // Optional, for running an op's store and its fused activation chunk by chunk while the rows are in cache:
    // a step whose run() is compute() followed by a row-local epilogue says so, and then
    //   compute()      does the arithmetic, leaving the epilogue undone;
    //   finish_block() applies the epilogue to a block of rows and columns, reading but not writing out.format
    //                  (blocks run concurrently); for a fused activation it is the whole in-place step on them;
    //   stored_format  is the format out holds after the epilogue.
    // run() == compute(), finish_block() over all rows, out.format = stored_format(): bit for bit.
    virtual bool row_local_epilogue() const { return false; }
    virtual void compute(const std::vector<const Value*>& in, Value& out) { run(in, out); }
    virtual void finish_block(Value& out, const RowBlock& b) {}
    virtual DataFormat stored_format() const { return DataFormat::Float32; }
    // Optional: compute() with the kernel itself running finish_block(), then fused->finish_block() when fused is not
    // null, on each block of output it finishes (OutputHook), while the block is in cache; out.format is then
    // fused's (or this step's) stored format. False when the step cannot (nothing done). Same bits as compute(),
    // finish_block() and fused->finish_block() over all rows.
    virtual bool compute_finished(const std::vector<const Value*>& in, Value& out, EmulatedStep* fused) { return false; }
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
template <void (*Split)(const float*, float*, float*, int64_t), int HiBits, uint32_t HiMask>
struct SplitOperand {
    const float* full = nullptr;
    const float* hi = nullptr;
    const float* lo = nullptr;  // null: the low part is zero (its phase adds nothing)
    uint32_t hi_mask = 0;       // nonzero: `hi` is the full operand, read through this mask (BinaryOperand::keep_mask)
    AlignedBuffer rounded, hi_buf, lo_buf;
    // may_mask: the reader takes hi through a mask as it loads (binary()), so no split is written unless lo is needed.
    void prepare(const Value& x, MathFidelity f, bool may_mask = false) {
        const size_t n = x.floats();
        full = x.data.data();
        if (x.format == DataFormat::Float32) {
            if (rounded.size() < n) rounded.resize(n);
            to_multiplier_precision(x.data.data(), rounded.data(), n, x.format);
            full = rounded.data();
        }
        hi = full;
        lo = nullptr;
        hi_mask = 0;
        if (f == MathFidelity::HiFi4 || significant_bits(x.format) <= HiBits) return;
        const bool need_lo = f == MathFidelity::HiFi3;
        if (may_mask && !need_lo) {
            hi_mask = HiMask;
            return;
        }
        if (hi_buf.size() < n) hi_buf.resize(n);
        if (need_lo && lo_buf.size() < n) lo_buf.resize(n);
        split_parallel<Split>(full, hi_buf.data(), need_lo ? lo_buf.data() : nullptr, n);
        hi = hi_buf.data();
        lo = need_lo ? lo_buf.data() : nullptr;
    }
};
using SplitB = SplitOperand<split_srcb, kSrcBHiBits, kSrcBHiMask>;  // activations, SrcB: hidden + 6 bits
using SplitA = SplitOperand<split_srca, kSrcAHiBits, kSrcAHiMask>;  // in0 of an eltwise multiply, SrcA: hidden + 4 bits

// finish_block of a step and of its fused activation on what a kernel finished (OutputHook's context).
struct KernelEpilogue {
    EmulatedStep* step;
    EmulatedStep* fused;
    Value* out;
    static void apply(const void* ctx, float* first_row, int64_t rows, int64_t ld, int64_t c0, int64_t c1) {
        const auto& e = *static_cast<const KernelEpilogue*>(ctx);
        const int64_t r0 = (first_row - e.out->data.data()) / ld;
        const RowBlock b{r0, r0 + rows, c0, c1, false};
        e.step->finish_block(*e.out, b);
        if (e.fused) e.fused->finish_block(*e.out, b);
    }
    OutputHook hook() const { return OutputHook{&KernelEpilogue::apply, this}; }
};

// A row-local step whose kernel can run the epilogue itself (OutputHook): compute() is compute_with() without a
// hook, compute_finished() with KernelEpilogue's, unless the kernel's output is not final when written.
// Its epilogue is what Dst holds, then the packer: the output in the layer's dtype. With an activation fused after
// it (a conv's, a matmul's or a binary_ng's), the packer runs once, after the activation: tt-metal's compute kernels
// apply SFPU_OP_FUNC_ACTIVATION (binary_ng: the post activations) to the tiles in Dst on the last K block and only
// then pack_tile (ttnn/cpp/ttnn/operations/matmul/device/kernels/compute/bmm_large_block_zm_fused_bias_activation.cpp,
// conv/conv2d/device/kernels/conv_bmm_tilize_col_major_out_blocks.cpp). So then the step leaves Dst's contents
// (bf16, or fp32 with fp32_dest_acc) for the activation, which packs.
class KernelStep : public EmulatedStep {
public:
    explicit KernelStep(const WormholeLayerConfig& cfg) : m_cfg(cfg), m_store_cfg(cfg) {}
    void leave_output_in_dest() { m_store_cfg.dtype = m_cfg.fp32_dest_acc ? DataFormat::Float32 : DataFormat::BFloat16; }
    DataFormat stored_format() const override { return m_store_cfg.dtype; }
    void run(const std::vector<const Value*>& in, Value& out) override {
        compute(in, out);
        finish_block(out, RowBlock::all(out));
        out.format = stored_format();
    }
    bool row_local_epilogue() const override { return true; }
    void compute(const std::vector<const Value*>& in, Value& out) override { compute_with(in, out, {}); }
    bool compute_finished(const std::vector<const Value*>& in, Value& out, EmulatedStep* fused) override {
        if (!output_final_in_kernel()) return false;
        out.format = stored_format();  // what the fused activation reads its input as
        const KernelEpilogue epilogue{this, fused, &out};
        compute_with(in, out, epilogue.hook());
        out.format = fused ? fused->stored_format() : stored_format();
        return true;
    }

protected:
    WormholeLayerConfig m_cfg;        // the layer's
    WormholeLayerConfig m_store_cfg;  // what the epilogue stores: the layer's dtype, or Dst's (leave_output_in_dest)

    // False when a second phase is added to the kernel's output after it ran (HiFi3): the hook would come too early.
    virtual bool output_final_in_kernel() const = 0;
    virtual void compute_with(const std::vector<const Value*>& in, Value& out, const OutputHook& hook) = 0;
};

class ConvStep final : public KernelStep {
public:
    // k_per_step: K values per matrix-unit step (hardware compute.fpu.k_per_step), after each of which a bf16 Dst
    // rounds.
    ConvStep(const ConvParams& p, const std::vector<float>& weights_a, const std::vector<float>& bias,
             const WormholeLayerConfig& cfg, int64_t k_per_step)
        : KernelStep(cfg) {
        ConvOptions options;
        options.force_im2col = true;  // every non-depthwise conv is a matmul on the card: no direct kernel
        // The card pads each tap's input channels (the stem's 3 become 16), so every tap fills its own K step and
        // Dst rounds after each tap (the kernel reproduces that GEMM without multiplying the padding).
        options.pad_tap_channels = true;
        // With fp32_dest_acc off Dst holds bf16: the running sums round after every matrix-unit step. A depthwise
        // conv runs as a matmul on block-diagonal weights, so one step holds at most one non-zero product per output
        // channel: the kernel's per-tap rounding of depthwise convs is that per-step rounding.
        options.bf16_accumulator_step = cfg.fp32_dest_acc ? 0 : k_per_step;
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

    // Whether compute() takes its input as planes (Value::planar).
    bool reads_planes() const {
        return (!m_full || m_full->reads_nchw()) && (!m_hi || m_hi->reads_nchw());
    }
    void finish_block(Value& out, const RowBlock& b) override {
        // With a bf16 Dst the kernel already rounded every accumulation and the result (HiFi3 adds two phases after).
        store_rows(out, m_store_cfg, m_dest_is_bf16, b, b.parallel);
    }

private:
    // HiFi3 adds its second phase after both kernels ran.
    bool output_final_in_kernel() const override { return m_cfg.math_fidelity != MathFidelity::HiFi3; }
    void compute_with(const std::vector<const Value*>& in, Value& out, const OutputHook& hook) override {
        const Value& x = *in[0];
        m_b.prepare(x, m_cfg.math_fidelity);
        m_dest_is_bf16 = !m_cfg.fp32_dest_acc && (m_cfg.math_fidelity != MathFidelity::HiFi3 || !m_b.lo);
        auto run = [&](const ConvKernel& k, const float* operand, float* dst) {
            if (x.planar)
                k.run_nchw(operand, dst, Act::None, nullptr, hook);
            else
                k.run(operand, dst, Act::None, nullptr, m_scratch.data(), hook);
        };
        switch (m_cfg.math_fidelity) {
            case MathFidelity::LoFi: run(*m_hi, m_b.hi, out.data.data()); break;
            case MathFidelity::HiFi2: run(*m_full, m_b.hi, out.data.data()); break;
            case MathFidelity::HiFi3: {
                run(*m_full, m_b.hi, out.data.data());
                if (!m_b.lo) break;  // the A_hi x B_lo phase adds nothing
                if (m_tmp.size() < out.floats()) m_tmp.resize(out.floats());
                run(*m_hi, m_b.lo, m_tmp.data());
                float* o = out.data.data();
                const float* t = m_tmp.data();
                for (size_t i = 0; i < out.floats(); ++i) o[i] += t[i];
                break;
            }
            case MathFidelity::HiFi4: run(*m_full, m_b.full, out.data.data()); break;
        }
    }

    bool m_dest_is_bf16 = false;  // of the last compute()
    std::optional<ConvKernel> m_full, m_hi;
    AlignedBuffer m_scratch, m_tmp;
    SplitB m_b;
};

class ActivationStep final : public EmulatedStep {
public:
    ActivationStep(Act act, const WormholeLayerConfig& cfg) : m_act(act), m_cfg(cfg) {}
    void run(const std::vector<const Value*>& in, Value& out) override {
        activation(in[0]->data.data(), out.data.data(), static_cast<int64_t>(out.floats()), m_act);
        store(in[0]->format, out, RowBlock::all(out));
        out.format = m_cfg.dtype;
    }
    // As a fused activation: the whole step in place on rows [r0, r1) of the producer's output.
    bool row_local_epilogue() const override { return true; }
    DataFormat stored_format() const override { return m_cfg.dtype; }
    void finish_block(Value& v, const RowBlock& b) override {
        float* first = v.data.data() + b.r0 * v.cp;
        if (b.c0 == 0 && b.c1 == v.cp && b.parallel)
            activation(first, first, (b.r1 - b.r0) * v.cp, m_act);  // whole rows: one dense span
        else
            activation_rows(first, b.r1 - b.r0, v.cp, b.c0, b.c1, m_act);
        store(v.format, v, b);
    }

private:
    void store(DataFormat f, Value& out, const RowBlock& b) const {
        // A clamp activation (relu, relu6) only selects or clamps (0 and 6 are representable): a bf16 input stays bf16 in
        // Dst, and a value already in the output's format stays exactly representable (a clamp can only lower a block's
        // exponent, whose finer grid holds the coarser one's values).
        const bool selects = m_act != Act::None && activation_category(activation_id(m_act)) == ActivationCategory::Clamp &&
                             f != DataFormat::Float32;
        const bool fits_output = f == m_cfg.dtype || m_cfg.dtype == DataFormat::Float32 ||
                                 (m_cfg.dtype == DataFormat::BFloat16 && f != DataFormat::Float32);
        if (selects && fits_output) return;
        store_rows(out, m_cfg, selects, b, b.parallel);
    }

    Act m_act;
    WormholeLayerConfig m_cfg;
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

// hook: on each chunk of the product (not with HiFi3, whose second phase is added after).
void multiply_at_fidelity(const Value& a, const Value& b, Value& out, MathFidelity f, SplitA& sa, SplitB& sb, AlignedBuffer& tmp,
                          const OutputHook& hook = {}) {
    const std::array<int64_t, 3> dims{out.n, out.h, out.w};
    sb.prepare(b, f, true);
    sa.prepare(a, f, true);
    // Operand data and the mask it is read through (0: as it is; a high part may be its operand read so).
    auto mul = [&](const float* pa, uint32_t mask_a, const float* pb, uint32_t mask_b, float* dst) {
        BinaryOperand oa = operand_for(a, out, pa), ob = operand_for(b, out, pb);
        oa.keep_mask = mask_a;
        ob.keep_mask = mask_b;
        binary(BinaryOp::Mul, oa, ob, dst, dims, out.cp, f == MathFidelity::HiFi3 ? OutputHook{} : hook);
    };
    switch (f) {
        case MathFidelity::LoFi: mul(sa.hi, sa.hi_mask, sb.hi, sb.hi_mask, out.data.data()); break;
        case MathFidelity::HiFi2: mul(sa.full, 0, sb.hi, sb.hi_mask, out.data.data()); break;
        case MathFidelity::HiFi3: {
            mul(sa.full, 0, sb.hi, sb.hi_mask, out.data.data());
            if (!sb.lo) break;
            if (tmp.size() < out.floats()) tmp.resize(out.floats());
            mul(sa.hi, sa.hi_mask, sb.lo, 0, tmp.data());
            for (size_t i = 0; i < out.floats(); ++i) out.data.data()[i] += tmp.data()[i];
            break;
        }
        case MathFidelity::HiFi4: mul(sa.full, 0, sb.full, 0, out.data.data()); break;
    }
}

class BinaryStep final : public KernelStep {
public:
    BinaryStep(BinaryOp op, const WormholeLayerConfig& cfg) : KernelStep(cfg), m_op(op) {}
    void finish_block(Value& out, const RowBlock& b) override { store_rows(out, m_store_cfg, false, b, b.parallel); }

private:
    // The store runs on each chunk of rows binary() finishes; HiFi3's multiply adds its second phase after.
    bool output_final_in_kernel() const override { return m_op != BinaryOp::Mul || m_cfg.math_fidelity != MathFidelity::HiFi3; }
    void compute_with(const std::vector<const Value*>& in, Value& out, const OutputHook& hook) override {
        if (m_op == BinaryOp::Mul) {
            multiply_at_fidelity(*in[0], *in[1], out, m_cfg.math_fidelity, m_sa, m_sb, m_tmp, hook);
        } else {
            binary(BinaryOp::Add, operand_for(*in[0], out, in[0]->data.data()), operand_for(*in[1], out, in[1]->data.data()),
                   out.data.data(), {out.n, out.h, out.w}, out.cp, hook);
        }
    }

    BinaryOp m_op;
    SplitA m_sa;
    SplitB m_sb;
    AlignedBuffer m_tmp;
};

// ttnn composes hardswish as x * hardsigmoid(x): the gate is an intermediate tensor in the layer's dtype and the
// product an FPU multiply at the layer's fidelity.

// Scalar add / multiply on the SFPU (steps of a composite activation): fp32, stored in the layer dtype.
class ScalarStep final : public EmulatedStep {
public:
    ScalarStep(bool multiply, float scalar, const WormholeLayerConfig& cfg) : m_multiply(multiply), m_scalar(scalar), m_cfg(cfg) {}
    void run(const std::vector<const Value*>& in, Value& out) override {
        const float* x = in[0]->data.data();
        float* y = out.data.data();
        const size_t n = out.floats();
        if (m_multiply)
            for (size_t i = 0; i < n; ++i) y[i] = x[i] * m_scalar;
        else
            for (size_t i = 0; i < n; ++i) y[i] = x[i] + m_scalar;
        zero_padding(out);
        store_result(out, m_cfg);
    }

private:
    bool m_multiply;
    float m_scalar;
    WormholeLayerConfig m_cfg;
};

class GlobalAvgPoolStep final : public EmulatedStep {
public:
    explicit GlobalAvgPoolStep(const WormholeLayerConfig& cfg) : m_cfg(cfg) {}
    void run(const std::vector<const Value*>& in, Value& out) override {
        const Value& x = *in[0];
        global_avg_pool(x.data.data(), out.data.data(), x.n, x.h * x.w, x.cp);
        store_result(out, m_cfg);
    }

private:
    WormholeLayerConfig m_cfg;
};

// Windowed pools on the card's values (the Halo before them only moves data). Max selects one of its inputs: a value
// of the input's format, so a bf16 (or block-float) input is already what a bf16 Dst holds and only the packer's
// conversion to the layer dtype can round. Avg sums the window and divides, then rounds as Dst and the packer do:
// the same emulation as the global average pool.
class WindowPoolStep final : public EmulatedStep {
public:
    WindowPoolStep(const Node& node, const WormholeLayerConfig& cfg) : m_node(node), m_cfg(cfg) {}
    void run(const std::vector<const Value*>& in, Value& out) override {
        const Value& x = *in[0];
        const PoolShape shape{x.n, x.h, x.w, x.cp, out.h, out.w};
        if (m_node.op == OpKind::MaxPool2d) {
            max_pool2d(x.data.data(), out.data.data(), shape, m_node.attr<MaxPool2dAttrs>());
            store_result(out, m_cfg, x.format != DataFormat::Float32);
        } else {
            avg_pool2d(x.data.data(), out.data.data(), shape, m_node.attr<AvgPool2dAttrs>());
            store_result(out, m_cfg);
        }
    }

private:
    Node m_node;
    WormholeLayerConfig m_cfg;
};

class SoftmaxStep final : public EmulatedStep {
public:
    explicit SoftmaxStep(const WormholeLayerConfig& cfg) : m_cfg(cfg) {}
    void run(const std::vector<const Value*>& in, Value& out) override {
        softmax_rows(in[0]->data.data(), out.data.data(), out.rows(), out.c, out.cp);
        store_result(out, m_cfg);
    }

private:
    WormholeLayerConfig m_cfg;
};

class BatchNormStep final : public EmulatedStep {
public:
    BatchNormStep(std::vector<float> mean, std::vector<float> scale, std::vector<float> shift, const WormholeLayerConfig& cfg)
        : m_mean(std::move(mean)), m_scale(std::move(scale)), m_shift(std::move(shift)), m_cfg(cfg) {}
    void run(const std::vector<const Value*>& in, Value& out) override {
        channel_affine(in[0]->data.data(), out.data.data(), out.rows(), out.cp, m_mean.data(), m_scale.data(), m_shift.data());
        store_result(out, m_cfg);
    }

private:
    std::vector<float> m_mean, m_scale, m_shift;
    WormholeLayerConfig m_cfg;
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

// Tilize into a layer dtype: the packer writes the values in that format (a no-op for values already in it).
class TilizeStep final : public EmulatedStep {
public:
    explicit TilizeStep(DataFormat format) : m_format(format) {}
    void run(const std::vector<const Value*>& in, Value& out) override {
        std::copy_n(in[0]->data.data(), out.floats(), out.data.data());
        out.format = in[0]->format;
        if (in[0]->format == m_format || m_format == DataFormat::Float32) return;
        quantize_rows(out.data.data(), out.rows(), out.c, out.cp, m_format, Rounding::DeviceTiesAway);
        out.format = m_format;
    }

private:
    DataFormat m_format;
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

Act act_of(UnaryFunction f) { return is_activation_function(f) ? act_for(activation_of(f)) : Act::None; }

// The activation fused into op (null for none), which then reads the op's output as Dst holds it and packs it.
Result<std::unique_ptr<EmulatedStep>> fused_activation(const Graph& graph, const DeviceOp& op, EmulatedStep* step) {
    if (op.fused_node < 0) return std::unique_ptr<EmulatedStep>();
    auto* producer = dynamic_cast<KernelStep*>(step);
    if (producer == nullptr)
        return Status::error("layer '" + graph.nodes[static_cast<size_t>(op.node)].name + "': device op " +
                             device_op_code_name(op.code) + " has a fused activation the emulator cannot run in Dst");
    producer->leave_output_in_dest();
    return std::unique_ptr<EmulatedStep>(new ActivationStep(act_of(op.unary), op.config));
}

Result<std::unique_ptr<EmulatedStep>> conv_step(const Graph& graph, const Node& node, const WeightMap& weights,
                                                const WormholeLayerConfig& cfg, const WormholeHardware& hw) {
    const auto& a = node.attr<Conv2dAttrs>();
    const Shape& x = graph.nodes[static_cast<size_t>(node.inputs[0])].output_shape;
    const ConvParams p = ConvParams::from(a, x[0], x[2], x[3]);
    auto w = card_conv_weights(weight_data(weights, node, "weight"), a, cfg.weights_dtype);
    auto b = card_bias(a.has_bias ? weight_data(weights, node, "bias") : nullptr, a.out_channels, cfg.weights_dtype);
    return std::unique_ptr<EmulatedStep>(new ConvStep(p, w, b, cfg, hw.compute.fpu_k_per_step));
}

Result<std::unique_ptr<EmulatedStep>> linear_step(const Graph& graph, const Node& node, const WeightMap& weights,
                                                  const WormholeLayerConfig& cfg, const WormholeHardware& hw) {
    // A matmul: the weight [out, in] is a 1x1 conv over a [N, 1, 1, in] activation.
    const auto& a = node.attr<LinearAttrs>();
    const Shape& x = graph.nodes[static_cast<size_t>(node.inputs[0])].output_shape;
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
    return std::unique_ptr<EmulatedStep>(new ConvStep(p, w, b, cfg, hw.compute.fpu_k_per_step));
}

Result<std::unique_ptr<EmulatedStep>> batchnorm_step(const Node& node, const WeightMap& weights, const WormholeLayerConfig& cfg) {
    const auto& a = node.attr<BatchNormAttrs>();
    std::vector<float> mean(static_cast<size_t>(padded_channels(a.channels)), 0.0f), scale(mean), shift(mean);
    const float* w = weight_data(weights, node, "weight");
    const float* b = weight_data(weights, node, "bias");
    const float* m = weight_data(weights, node, "running_mean");
    const float* v = weight_data(weights, node, "running_var");
    for (int64_t c = 0; c < a.channels; ++c) {
        mean[static_cast<size_t>(c)] = m[c];
        scale[static_cast<size_t>(c)] = static_cast<float>(batchnorm_scale(w[c], v[c], a.eps));
        shift[static_cast<size_t>(c)] = b[c];
    }
    return std::unique_ptr<EmulatedStep>(new BatchNormStep(std::move(mean), std::move(scale), std::move(shift), cfg));
}

// The numerics of one program op; null for ops that move data without changing a value (reshards, halo,
// interleave conversions, untilize, a reshape of a non-spatial tensor): they alias their input.
Result<std::unique_ptr<EmulatedStep>> op_step(const Graph& graph, const Program& program, const DeviceOp& op,
                                              const WeightMap& weights, const WormholeHardware& hw) {
    const Node& node = graph.nodes[static_cast<size_t>(op.node)];
    const WormholeLayerConfig& cfg = op.config;
    switch (op.code) {
        case DeviceOpCode::Reshard:
        case DeviceOpCode::InterleavedToSharded:
        case DeviceOpCode::ShardedToInterleaved:
        case DeviceOpCode::Halo:
        case DeviceOpCode::Move:
        case DeviceOpCode::Untilize: return std::unique_ptr<EmulatedStep>();
        case DeviceOpCode::Reshape:
            if (node.op == OpKind::Flatten) return std::unique_ptr<EmulatedStep>(new FlattenStep());
            return std::unique_ptr<EmulatedStep>();
        case DeviceOpCode::Tilize:
            return std::unique_ptr<EmulatedStep>(new TilizeStep(program.placement(op.output).dtype));
        case DeviceOpCode::Conv2d: return conv_step(graph, node, weights, cfg, hw);
        case DeviceOpCode::Matmul:
            if (node.op == OpKind::Conv2d) return conv_step(graph, node, weights, cfg, hw);
            return linear_step(graph, node, weights, cfg, hw);
        case DeviceOpCode::Unary:
            if (op.unary == UnaryFunction::AddScalar || op.unary == UnaryFunction::MulScalar)
                return std::unique_ptr<EmulatedStep>(new ScalarStep(op.unary == UnaryFunction::MulScalar, op.scalar, cfg));
            return std::unique_ptr<EmulatedStep>(new ActivationStep(act_of(op.unary), cfg));
        case DeviceOpCode::BinaryNg:
            return std::unique_ptr<EmulatedStep>(new BinaryStep(op.eltwise == EltwiseFunction::Mul ? BinaryOp::Mul : BinaryOp::Add, cfg));
        case DeviceOpCode::BatchNorm: return batchnorm_step(node, weights, cfg);
        case DeviceOpCode::Pool2D:
            if (node.op == OpKind::GlobalAvgPool) return std::unique_ptr<EmulatedStep>(new GlobalAvgPoolStep(cfg));
            return std::unique_ptr<EmulatedStep>(new WindowPoolStep(node, cfg));
        case DeviceOpCode::Reduce: return std::unique_ptr<EmulatedStep>(new GlobalAvgPoolStep(cfg));
        case DeviceOpCode::Softmax: {
            const Shape& s = node.output_shape;
            int64_t axis = node.attr<SoftmaxAttrs>().axis;
            if (axis < 0) axis += static_cast<int64_t>(s.size());
            if (axis != static_cast<int64_t>(s.size()) - 1 && !(s.size() == 4 && axis == 1))
                return Status::error("layer '" + node.name + "': the emulator runs softmax over channels only");
            return std::unique_ptr<EmulatedStep>(new SoftmaxStep(cfg));
        }
    }
    return Status::error("layer '" + node.name + "': device op " + device_op_code_name(op.code) + " is not emulated");
}

// step.finish_block then fused.finish_block on chunks of rows (about 16K floats: they stay in L1/L2 between the two),
// in parallel over chunks; each row sees the same operations in the same order as step.run then fused.run.
void store_and_activate_in_chunks(EmulatedStep& step, EmulatedStep& fused, Value& out) {
    out.format = step.stored_format();  // what the fused activation reads its input as
    const int64_t rows = out.rows();
    const int64_t chunk_rows = std::max<int64_t>(1, (int64_t{1} << 14) / out.cp);
    const int64_t chunks = (rows + chunk_rows - 1) / chunk_rows;
    auto chunk = [&](int64_t i) {
        const RowBlock b = RowBlock::rows(out, i * chunk_rows, std::min(rows, (i + 1) * chunk_rows));
        step.finish_block(out, b);
        fused.finish_block(out, b);
    };
    zoo::kernels::parallel_range(chunks, chunk);
    out.format = fused.stored_format();
}

// [n, 3, hw] planes -> [n * hw, 16] rows (3 channels, 13 lanes of +0): nchw_to_nhwc for RGB, sixteen pixels at a time
// with two permutes and a mask per row instead of a gather per value.
void rgb_planes_to_rows(const float* planes, float* rows, int64_t n, int64_t hw) {
    typedef int32_t VecIdx __attribute__((vector_size(64)));
    typedef uint32_t VecMask __attribute__((vector_size(64)));
    const int64_t groups_per_image = hw / kVecWidth;
    const VecMask keep3 = {~0u, ~0u, ~0u, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    auto group = [&](int64_t g) {
        const int64_t img = g / groups_per_image, p0 = (g % groups_per_image) * kVecWidth;
        const float* src = planes + img * 3 * hw + p0;
        const Vec r = load(src), gr = load(src + hw), b = load(src + 2 * hw);
        float* dst = rows + (img * hw + p0) * kVecWidth;
#pragma GCC unroll 16
        for (int i = 0; i < kVecWidth; ++i) {
            // lanes 0, 1 from r and g (indices into the concatenation r|g), lane 2 from b, the rest masked to +0
            const Vec rg = __builtin_shuffle(r, gr, VecIdx{i, 16 + i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
            const Vec rgb = __builtin_shuffle(rg, b, VecIdx{0, 1, 16 + i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
            store(dst + i * kVecWidth, (Vec)((VecMask)rgb & keep3));
        }
    };
    const int64_t groups = n * groups_per_image;
    zoo::kernels::parallel_chunks(groups, 64, [&](int64_t g0, int64_t g1) {
        for (int64_t g = g0; g < g1; ++g) group(g);
    });
    // Pixels past the last whole group of each image.
    for (int64_t img = 0; img < n; ++img)
        for (int64_t px = groups_per_image * kVecWidth; px < hw; ++px) {
            float* dst = rows + (img * hw + px) * kVecWidth;
            std::fill_n(dst, kVecWidth, 0.0f);
            for (int64_t ch = 0; ch < 3; ++ch) dst[ch] = planes[(img * 3 + ch) * hw + px];
        }
}

Tensor to_tensor(const Value& v, const Shape& shape) {
    Tensor t(shape);
    if (v.planar) {
        std::copy_n(v.data.data(), v.floats(), t.data.begin());  // NCHW already
    } else if (shape.size() == 4) {
        nhwc_to_nchw(v.data.data(), t.data.data(), v.n, v.c, v.h * v.w, v.cp);
    } else {
        for (int64_t r = 0; r < v.rows(); ++r)
            std::copy_n(v.data.data() + r * v.cp, v.c, t.data.begin() + r * v.c);
    }
    return t;
}

}  // namespace

EmulatedModel::~EmulatedModel() = default;

Result<std::unique_ptr<EmulatedModel>> EmulatedModel::build(const Graph& graph, const Graph& chip_graph, const WeightMap& weights,
                                                            Program program,
                                                            MemoryPlan plan, const WormholeHardware& hw, int threads) {
    std::unique_ptr<EmulatedModel> model(new EmulatedModel());
    model->m_graph = graph;
    model->m_program = std::move(program);
    model->m_plan = std::move(plan);
    const Program& p = model->m_program;
    ZOO_ASSIGN_OR_RETURN(model->m_perf, model_performance(chip_graph, p, hw));
    // One arena for the model's lifetime, like the cpu device: an arena made per run() must gather its workers
    // again every time, and at batch 1 that cost as much as the second thread gained.
    model->m_arena = threads > 0 ? std::make_unique<tbb::task_arena>(threads) : std::make_unique<tbb::task_arena>();
    model->m_pool = std::make_unique<BufferPool>();
    for (const DeviceOp& op : p.ops) {
        ZOO_ASSIGN_OR_RETURN(auto step, op_step(graph, p, op, weights, hw));
        ZOO_ASSIGN_OR_RETURN(auto fused, fused_activation(graph, op, step.get()));
        model->m_steps.push_back(std::move(step));
        model->m_fused.push_back(std::move(fused));
    }
    // A value may be freed after its last reader; graph outputs live to the end.
    const int never = static_cast<int>(p.ops.size());
    model->m_last_use.assign(p.tensors.size(), -1);
    for (size_t t = 0; t < p.tensors.size(); ++t) model->m_last_use[t] = p.tensors[t].producer;
    for (size_t k = 0; k < p.ops.size(); ++k)
        for (int t : p.ops[k].inputs) model->m_last_use[static_cast<size_t>(t)] = static_cast<int>(k);
    for (int o : graph.outputs) model->m_last_use[static_cast<size_t>(p.node_value[static_cast<size_t>(o)])] = never;
    // Captures: a node's value is its own op's output, taken right after that op (a conv with a fused activation
    // before the activation runs, the activation after).
    model->m_captures.assign(p.ops.size(), {});
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        const int t = p.node_output[i];
        if (t < 0) continue;
        const int producer = p.tensor(t).producer;
        if (producer < 0) continue;
        const bool fused_pre = p.ops[static_cast<size_t>(producer)].fused_node >= 0 &&
                               p.ops[static_cast<size_t>(producer)].node == static_cast<int>(i);
        model->m_captures[static_cast<size_t>(producer)].push_back({static_cast<int>(i), fused_pre});
    }
    // Inputs kept as planes: an RGB image in a per-element format whose readers (past ops that only move it) are
    // all convs that take planes.
    model->m_planar_input.assign(p.input_tensors.size(), false);
    for (size_t k = 0; k < p.input_tensors.size(); ++k) {
        const int t = p.input_tensors[k];
        const Shape& shape = graph.nodes[static_cast<size_t>(p.tensor(t).node)].output_shape;
        const DataFormat f = p.placement(t).dtype;
        if (shape.size() != 4 || shape[1] != 3 || (f != DataFormat::BFloat16 && f != DataFormat::Float32)) continue;
        std::vector<int> same{t};
        auto is_same = [&](int x) { return std::find(same.begin(), same.end(), x) != same.end(); };
        bool ok = true, read = false;
        for (size_t j = 0; j < p.ops.size() && ok; ++j) {
            const DeviceOp& op = p.ops[j];
            if (std::none_of(op.inputs.begin(), op.inputs.end(), is_same)) continue;
            if (!model->m_steps[j]) {  // moves its input: its output is the same value
                ok = is_same(op.inputs[0]);
                same.push_back(op.output);
                continue;
            }
            const auto* conv = dynamic_cast<const ConvStep*>(model->m_steps[j].get());
            ok = conv && conv->reads_planes() && op.inputs.size() == 1;
            read = true;
        }
        for (int o : graph.outputs) ok = ok && !is_same(p.node_value[static_cast<size_t>(o)]);
        model->m_planar_input[k] = ok && read;
    }
    ZOO_TRY(model->build_per_image(weights, hw));
    return model;
}

// The image-by-image split of a batch (run_per_image): the last op whose output has more than 7 x 7 pixels, when every
// op after it reads only values made at or after it and no graph output is made before it, and every node keeps the
// batch in dimension 0 (nothing mixes images). Past the cut (7x7 and smaller in these models) a layer's weights
// outweigh one image's activations: the tail runs batched. The copies' steps are built on the graph at batch 1.
Status EmulatedModel::build_per_image(const WeightMap& weights, const WormholeHardware& hw) {
    const Program& p = m_program;
    if (p.input_tensors.empty()) return Status::ok();
    const int64_t batch = m_graph.nodes[static_cast<size_t>(p.tensor(p.input_tensors[0]).node)].output_shape.at(0);
    if (batch <= 1) return Status::ok();
    for (const Node& n : m_graph.nodes) {
        if (n.output_shape.empty() || n.output_shape[0] != batch) return Status::ok();
        if (n.op == OpKind::Softmax) {
            const int64_t axis = n.attr<SoftmaxAttrs>().axis;
            if (axis == 0 || axis == -static_cast<int64_t>(n.output_shape.size())) return Status::ok();
        }
    }
    constexpr int64_t kTailPixels = 7 * 7;
    int cut = -1;
    for (size_t k = 0; k < p.ops.size(); ++k) {
        const Shape& s = m_graph.nodes[static_cast<size_t>(p.ops[k].node)].output_shape;
        if (m_steps[k] && s.size() == 4 && s[2] * s[3] > kTailPixels) cut = static_cast<int>(k);
    }
    if (cut < 0 || cut + 1 >= static_cast<int>(p.ops.size())) return Status::ok();
    for (size_t k = static_cast<size_t>(cut) + 1; k < p.ops.size(); ++k)
        for (int t : p.ops[k].inputs)
            if (p.tensor(t).producer < cut) return Status::ok();
    for (int o : m_graph.outputs)
        if (p.tensor(p.node_value[static_cast<size_t>(o)]).producer <= cut) return Status::ok();

    m_image_graph = m_graph;
    m_image_graph.set_batch(1);
    ZOO_TRY(m_image_graph.infer_shapes());
    // One copy per thread of the arena run() executes in (not of the arena build() happens to be called from).
    const int64_t copies = std::clamp<int64_t>(m_arena->max_concurrency(), 1, batch);
    for (int64_t c = 0; c < copies; ++c) {
        auto copy = std::make_unique<ImageCopy>();
        for (size_t k = 0; k <= static_cast<size_t>(cut); ++k) {
            const DeviceOp& op = p.ops[k];
            std::unique_ptr<EmulatedStep> step;
            if (m_steps[k]) {
                ZOO_ASSIGN_OR_RETURN(step, op_step(m_image_graph, p, op, weights, hw));
            }
            ZOO_ASSIGN_OR_RETURN(auto fused, fused_activation(m_image_graph, op, step.get()));
            copy->steps.push_back(std::move(step));
            copy->fused.push_back(std::move(fused));
        }
        copy->arena = std::make_unique<tbb::task_arena>(1);
        copy->pool = std::make_unique<BufferPool>();
        m_copies.push_back(std::move(copy));
    }
    m_cut = cut;
    return Status::ok();
}

Status EmulatedModel::run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
                          std::map<std::string, Tensor>* captured) noexcept {
    return status_guard("wormhole emulator", [&]() -> Status {
        Status status;
        zoo::tsan::execute_in(*m_arena, [&] { status = run_impl(inputs, outputs, captured); });
        return status;
    });
}

// The state one run of the ops needs: the graph whose shapes give the values' layouts (the whole batch, or one image),
// the steps, and where buffers come from.
struct EmulatedModel::Executor {
    const Graph& graph;
    const std::vector<std::unique_ptr<EmulatedStep>>& steps;
    const std::vector<std::unique_ptr<EmulatedStep>>& fused;
    BufferPool& pool;
    std::vector<float>& staging;
};

Status EmulatedModel::run_impl(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
                               std::map<std::string, Tensor>* captured) {
    const Program& p = m_program;
    ZOO_TRY(check_inputs(m_graph, inputs));
    if (inputs.size() != p.input_tensors.size())
        return Status::error("the program takes " + std::to_string(p.input_tensors.size()) + " input tensor(s), got " +
                             std::to_string(inputs.size()));
    std::vector<std::shared_ptr<Value>> values(p.tensors.size());
    const Executor all{m_graph, m_steps, m_fused, *m_pool, m_input_staging};
    const bool per_image = !captured && m_cut >= 0;  // ops [0, m_cut] image by image, the rest batched
    if (per_image) {
        ZOO_TRY(run_per_image(inputs, values));
    } else {
        std::vector<const float*> data;
        for (const Tensor& in : inputs) data.push_back(in.data.data());
        ZOO_TRY(convert_inputs(all, data, values));
    }
    const size_t first = per_image ? static_cast<size_t>(m_cut) + 1 : 0;
    ZOO_TRY(run_ops(all, values, first, p.ops.size(), captured));
    outputs.clear();
    for (int o : m_graph.outputs) {
        const auto& v = values[static_cast<size_t>(p.node_value[static_cast<size_t>(o)])];
        if (!v) return Status::error("wormhole emulator: output '" + m_graph.nodes[static_cast<size_t>(o)].name + "' was not computed");
        outputs.push_back(to_tensor(*v, m_graph.nodes[static_cast<size_t>(o)].output_shape));
    }
    for (auto& v : values) m_pool->give(v);
    return Status::ok();
}

// Images one at a time through ops [0, m_cut], each copy of the steps on its own thread (the card computes every
// image of a batch independently, and so do the steps: the bits are those of the batched run), then the cut's values
// gathered into the batch's value for the batched tail. One image's tensors stay in L2 from op to op, and a copy
// runs its ops on one thread, with no fork and join per op.
Status EmulatedModel::run_per_image(const std::vector<Tensor>& inputs, std::vector<std::shared_ptr<Value>>& values) {
    const Program& p = m_program;
    const int64_t batch = inputs[0].shape[0];
    const int cut_tensor = p.ops[static_cast<size_t>(m_cut)].output;
    ZOO_ASSIGN_OR_RETURN(Value layout, layout_of(m_graph.nodes[static_cast<size_t>(p.ops[static_cast<size_t>(m_cut)].node)]));
    auto gathered = std::make_shared<Value>(std::move(layout));
    gathered->data = m_pool->take(gathered->floats());
    const size_t image_floats = gathered->floats() / static_cast<size_t>(batch);
    const size_t copies = m_copies.size();
    std::vector<Status> status(copies, Status::ok());
    std::vector<DataFormat> formats(copies, DataFormat::Float32);
    auto work = [&](size_t c) {
        ImageCopy& copy = *m_copies[c];
        const Executor one{m_image_graph, copy.steps, copy.fused, *copy.pool, copy.staging};
        zoo::tsan::execute_in(*copy.arena, [&] {
            std::vector<std::shared_ptr<Value>> image(p.tensors.size());  // emptied after every image (give)
            std::vector<const float*> data(inputs.size());
            for (int64_t i = static_cast<int64_t>(c); i < batch && status[c].is_ok(); i += static_cast<int64_t>(copies)) {
                for (size_t k = 0; k < inputs.size(); ++k)
                    data[k] = inputs[k].data.data() + static_cast<size_t>(i) * (inputs[k].data.size() / static_cast<size_t>(batch));
                status[c] = convert_inputs(one, data, image);
                if (status[c].is_ok()) status[c] = run_ops(one, image, 0, static_cast<size_t>(m_cut) + 1, nullptr);
                if (status[c].is_ok()) {
                    const Value& v = *image[static_cast<size_t>(cut_tensor)];
                    std::copy_n(v.data.data(), image_floats, gathered->data.data() + static_cast<size_t>(i) * image_floats);
                    formats[c] = v.format;
                }
                for (auto& v : image) copy.pool->give(v);
            }
        });
    };
    if (copies == 1)
        work(0);
    else
        zoo::kernels::parallel_range(static_cast<int64_t>(copies), [&](int64_t c) { work(static_cast<size_t>(c)); });
    for (const Status& s : status) ZOO_TRY(s);
    gathered->format = formats[0];  // every image's cut value is in the cut op's stored format
    values[static_cast<size_t>(cut_tensor)] = std::move(gathered);
    return Status::ok();
}

// The host converts each input to the first layer's format with the host packer's rounding. data[k]: input k's
// NCHW values, in the shape of ex.graph.
Status EmulatedModel::convert_inputs(const Executor& ex, const std::vector<const float*>& data,
                                     std::vector<std::shared_ptr<Value>>& values) const {
    const Program& p = m_program;
    for (size_t k = 0; k < data.size(); ++k) {
        const int t = p.input_tensors[k];
        const int node_index = p.tensor(t).node;
        ZOO_ASSIGN_OR_RETURN(Value layout, layout_of(ex.graph.nodes[static_cast<size_t>(node_index)]));
        auto v = std::make_shared<Value>(std::move(layout));
        v->planar = m_planar_input[k];
        v->data = ex.pool.take(v->floats());
        const DataFormat f = p.placement(t).dtype;
        const int64_t hw = v->h * v->w;
        if (v->planar || (v->c == 3 && v->cp == kVecWidth && (f == DataFormat::BFloat16 || f == DataFormat::Float32))) {
            // An RGB image in a per-element format (a planar value is one): round the NCHW planes (one dense pass
            // over 3 floats a pixel, not 16); kept as planes when its readers take them, else transposed into
            // zero-padded rows.
            const size_t floats = static_cast<size_t>(v->n * v->c * hw);
            const float* planes = data[k];
            if (v->planar || f == DataFormat::BFloat16) {
                if (!v->planar) ex.staging.resize(floats);
                float* dst = v->planar ? v->data.data() : ex.staging.data();
                std::copy_n(data[k], floats, dst);
                if (f == DataFormat::BFloat16) quantize_rows(dst, v->n * v->c, hw, hw, f, Rounding::HostNearestEven);
                planes = dst;
            }
            if (!v->planar) rgb_planes_to_rows(planes, v->data.data(), v->n, hw);
        } else {
            nchw_to_nhwc(data[k], v->data.data(), v->n, v->c, hw, v->cp);
            // The padding lanes nchw_to_nhwc wrote are +0, which every format keeps and a block treats exactly like
            // the zeros it pads a short block with: quantising all cp lanes as one dense array gives the bits of
            // quantising the c real channels row by row, in one vectorised pass.
            quantize_rows(v->data.data(), v->rows(), v->cp, v->cp, f, Rounding::HostNearestEven);
        }
        v->format = f;
        values[static_cast<size_t>(t)] = std::move(v);
    }
    return Status::ok();
}

// Ops [begin, end) on `values` (which holds their inputs), freeing what nobody reads any more.
Status EmulatedModel::run_ops(const Executor& ex, std::vector<std::shared_ptr<Value>>& values, size_t begin, size_t end,
                              std::map<std::string, Tensor>* captured) const {
    const Program& p = m_program;
    auto capture = [&](int node_index, const Value& v) {
        const Node& node = ex.graph.nodes[static_cast<size_t>(node_index)];
        (*captured)[node.name] = to_tensor(v, node.output_shape);
    };
    for (size_t k = begin; k < end; ++k) {
        const DeviceOp& op = p.ops[k];
        std::shared_ptr<Value> out;
        bool activation_done = false;
        if (!ex.steps[k]) {
            out = values[static_cast<size_t>(op.inputs[0])];
        } else {
            ZOO_ASSIGN_OR_RETURN(Value layout, layout_of(ex.graph.nodes[static_cast<size_t>(op.node)]));
            out = std::make_shared<Value>(std::move(layout));
            out->data = ex.pool.take(out->floats());
            std::vector<const Value*> in;
            for (int t : op.inputs) in.push_back(values[static_cast<size_t>(t)].get());
            EmulatedStep& step = *ex.steps[k];
            EmulatedStep* fused = ex.fused[k].get();
            // Without captures (nobody sees the value between the two), the op's store and its fused activation run
            // in the kernel on each block it finishes, or else chunk by chunk: one pass over the rows instead of three.
            if (!captured && step.row_local_epilogue() && (!fused || fused->row_local_epilogue()) &&
                step.compute_finished(in, *out, fused)) {
                activation_done = fused != nullptr;
            } else if (!captured && fused && step.row_local_epilogue() && fused->row_local_epilogue()) {
                step.compute(in, *out);
                store_and_activate_in_chunks(step, *fused, *out);
                activation_done = true;
            } else {
                step.run(in, *out);
            }
        }
        if (captured)
            for (const auto& c : m_captures[k])
                if (c.before_fused_activation) capture(c.node, *out);
        if (ex.fused[k] && !activation_done) ex.fused[k]->run({out.get()}, *out);
        if (captured)
            for (const auto& c : m_captures[k])
                if (!c.before_fused_activation) capture(c.node, *out);
        values[static_cast<size_t>(op.output)] = std::move(out);
        // Free what nobody reads any more (capture keeps its own copies).
        for (int t : op.inputs)
            if (m_last_use[static_cast<size_t>(t)] == static_cast<int>(k)) ex.pool.give(values[static_cast<size_t>(t)]);
        if (m_last_use[static_cast<size_t>(op.output)] == static_cast<int>(k)) ex.pool.give(values[static_cast<size_t>(op.output)]);
    }
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
        std::string csv = "op,code,layer,placement,cores,shard_h,shard_w,dtype,cb_bytes,l1_small_bytes,buffer_bytes,peak_l1_per_core\n";
        for (size_t k = 0; k < m_program.ops.size(); ++k) {
            const DeviceOp& op = m_program.ops[k];
            const TensorPlacement& out = m_program.placement(op.output);
            const OpMemory& om = m_plan.ops[k];
            csv += std::to_string(k) + "," + device_op_code_name(op.code) + "," + m_program.tensor(op.output).name + ",\"" +
                   out.describe() + "\"," + std::to_string(op.cores) + "," + std::to_string(out.shard_h) + "," +
                   std::to_string(out.shard_w) + "," + data_format_name(out.dtype) + "," + std::to_string(op.cb_bytes) + "," +
                   std::to_string(op.l1_small_bytes) + "," + std::to_string(om.buffer_bytes) + "," +
                   std::to_string(om.peak_l1_per_core) + "\n";
        }
        return csv;
    }
    if (name == "ops" || name == "trace")
        return status_guard("wormhole emulator", [&]() -> Result<std::string> {
            return name == "ops" ? perf_ops_csv(m_perf) : perf_trace_json(m_perf);
        });
    return Status::error("the wormhole emulator produces the tables: memory, ops, trace (no '" + name + "')");
}

}  // namespace zoo::wormhole
