// 2-D convolution on NHWC activations with padded channels (see common.hpp), in three forms chosen at construction:
//   pointwise (1x1, stride 1, no padding, groups 1): one GEMM straight on the input rows;
//   depthwise (groups == in == out channels): a direct kernel vectorised over channels, any kernel size/stride/dilation;
//   direct (groups 1, at most 4 input and 64 output channels: the 3-channel stem): an implicit GEMM that gathers the
//     taps straight from the input (an im2col of 3-float patches costs more than the arithmetic); never chosen with
//     ConvOptions::force_im2col;
//   everything else (grouped convs, strided 1x1, wide general convs): im2col per group into the GEMM.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/common.hpp"
#include "kernels/gemm.hpp"
#include "zoo/graph.hpp"

namespace zoo::kernels {

struct ConvParams {
    int64_t batch = 1, in_h = 1, in_w = 1, in_c = 1;
    int64_t out_c = 1;
    int64_t kh = 1, kw = 1;
    int64_t stride_h = 1, stride_w = 1;
    int64_t pad_h = 0, pad_w = 0;
    int64_t dil_h = 1, dil_w = 1;
    int64_t groups = 1;

    int64_t out_h() const { return (in_h + 2 * pad_h - dil_h * (kh - 1) - 1) / stride_h + 1; }
    int64_t out_w() const { return (in_w + 2 * pad_w - dil_w * (kw - 1) - 1) / stride_w + 1; }

    // A graph conv over an input of `batch` x `in_h` x `in_w`.
    static ConvParams from(const Conv2dAttrs& a, int64_t batch, int64_t in_h, int64_t in_w) {
        ConvParams p;
        p.batch = batch, p.in_h = in_h, p.in_w = in_w;
        p.in_c = a.in_channels, p.out_c = a.out_channels;
        p.kh = a.kernel[0], p.kw = a.kernel[1];
        p.stride_h = a.stride[0], p.stride_w = a.stride[1];
        p.pad_h = a.padding[0], p.pad_w = a.padding[1];
        p.dil_h = a.dilation[0], p.dil_w = a.dilation[1];
        p.groups = a.groups;
        return p;
    }
};

// Options for devices that emulate other hardware; the defaults are the CPU device's behaviour.
struct ConvOptions {
    // Never use the Direct method: every non-depthwise conv that is not pointwise runs as im2col + GEMM, a matmul
    // over (kh, kw, ci) columns, for devices whose hardware sums in that order (the Direct kernel sums in another).
    bool force_im2col = false;
    // A bfloat16 accumulator (0 = fp32, the host's). GEMM methods: GemmNumerics::bf16_accumulator_step (rounding
    // every that many values of K). Depthwise: the accumulator starts at 0 and is rounded after every tap (in (kh, kw)
    // order), then bias, activation and residual are each added/applied and rounded. Taps in the zero padding add
    // nothing, so skipping them is exact. Whether that matches the hardware's own steps is the device's call.
    int64_t bf16_accumulator_step = 0;
    // Every tap's input channels padded to a multiple of 16 (an RGB stem's K of 27 becomes 9 x 16), as a matrix unit
    // with a 16-deep K step sees them: with bf16_accumulator_step 16 each tap is its own step (the step must then be
    // 16). Applies to convs with groups 1, several taps and input channels not a multiple of 16 (a no-op for the
    // others), only with force_im2col. At most 4 input and 64 output channels it runs as a direct kernel over the
    // real channels, bit-identical to that padded GEMM (the padding's products are +0 x +0, which can only turn a
    // -0 sum into +0: one `+ 0.0f` in the last tap, before its rounding, stands for all of them); otherwise as
    // im2col on zero-padded weights. Inputs' padding lanes must be zero.
    bool pad_tap_channels = false;
};

// The magnitudes of a set of floats, as bit patterns of |x| (ordered as the magnitudes; a NaN above Inf): the largest,
// and the smallest that is not zero (0 when every value is zero). The depthwise kernels' proof that a bf16
// accumulator's sums stay normal reads them (conv.cpp, sums_stay_normal).
struct MagnitudeRange {
    uint32_t max_bits = 0;
    uint32_t min_nonzero_bits = 0;
};
// What that proof needs of a depthwise kernel's weights, computed once from their MagnitudeRange (conv.cpp,
// dw_weight_bound): finite (no NaN or Inf); all zero; normal (finite, not all zero, no denormal); and when normal,
// the exponent of the smallest non-zero one and kh * kw * max|w| * (1 + 2^-8)^(2 kh kw), the bound on |sum| per
// unit of max|input|. The default proves nothing.
struct DwWeightBound {
    bool finite = false;
    bool all_zero = false;
    bool normal = false;
    int min_exponent = 0;
    double sum_per_input = 0.0;
};

class ConvKernel {
public:
    enum class Method { Pointwise, Depthwise, Direct, Im2col };

    // weight: PyTorch layout [out_c, in_c / groups, kh, kw]; bias: out_c values or null. Both are copied (packed).
    ConvKernel(const ConvParams& params, const float* weight, const float* bias, const ConvOptions& options = {});

    Method method() const { return m_method; }
    const ConvParams& params() const { return m_p; }
    const ConvOptions& options() const { return m_options; }
    // Floats of scratch run() needs (im2col columns); 0 for pointwise and depthwise.
    int64_t scratch_floats() const;

    // in: [batch, in_h, in_w, padded(in_c)]; out: [batch, out_h, out_w, padded(out_c)], every lane written;
    // residual: same layout as out, added after the activation, or null. Thread-safe (const): parallel inside (TBB).
    // hook: run on each block of output as it is finished (OutputHook), after the epilogue above.
    void run(const float* in, float* out, Act act, const float* residual, float* scratch,
             const OutputHook& hook = {}) const;

    // Pointwise only (std::invalid_argument otherwise): the conv on `pixels` consecutive input pixels (rows of
    // padded(in_c) floats) into as many output pixels, on the calling thread. The same arithmetic per pixel as run().
    void run_pointwise_pixels(const float* in, int64_t pixels, float* out, Act act) const;
    // Depthwise only (false / std::invalid_argument otherwise): whether it runs row by row (any kernel but 3x3 and
    // 5x5; those go through a zero-bordered plane per channel block on small planes), and output rows
    // [oh_begin, oh_end) of image n, every channel, on the calling thread, reading input row ih at rows[ih]. The
    // same arithmetic per pixel as run().
    bool depthwise_by_rows() const;
    // The tap-step direct kernel (ConvOptions::pad_tap_channels, a 3-channel input) can also read its input as dense
    // NCHW planes [batch, 3, in_h, in_w]: run_nchw, the same arithmetic per pixel as run() (a pixel outside the image
    // multiplies +0, as the padded layout's zero lanes do), without the 16-float rows a 3-channel NHWC image takes
    // (5x the bytes to write, and to read back). std::invalid_argument unless reads_nchw().
    bool reads_nchw() const;
    void run_nchw(const float* in, float* out, Act act, const float* residual, const OutputHook& hook = {}) const;
    void run_depthwise_rows(const float* const* rows, int64_t n, int64_t oh_begin, int64_t oh_end, float* out, Act act,
                            const float* residual) const;

private:
    void run_depthwise(const float* in, float* out, Act act, const float* residual, const OutputHook& hook) const;
    void run_direct(const float* in, float* out, Act act, const float* residual, const OutputHook& hook) const;
    void run_direct_tap_steps(const float* in, float* out, Act act, const float* residual, bool planar,
                              const OutputHook& hook) const;
    void run_im2col(const float* in, float* out, Act act, const float* residual, float* scratch,
                    const OutputHook& hook) const;
    int64_t im2col_stride() const;  // floats per im2col row: the patch plus room for one vector of overhang

    ConvParams m_p;
    ConvOptions m_options;
    Method m_method;
    bool m_tap_steps = false;  // Direct method emulating ConvOptions::pad_tap_channels
    std::vector<PackedB> m_groups_b;  // one packed B per group ([kh * kw * in_c/groups, out_c/groups])
    AlignedBuffer m_bias;             // padded(out_c) + one panel of zeros
    AlignedBuffer m_dw_weights;       // depthwise: [kh * kw][padded(c)]; direct: [kh * kw][in_c][padded(out_c)]
    DwWeightBound m_dw_weight_bound;  // depthwise: of m_dw_weights
};

// An inverted-residual block's expansion (pointwise, + expand_act) straight into its depthwise conv (+ dw_act, +
// residual): the expanded rows are computed a few at a time into a ring that stays in L2, so the block's largest
// tensor (112 x 112 x 64 floats, 3.2 MB, in MobileNetV3-Large) is never written to memory and read back. Bit-identical
// to expand.run() then dw.run(). suits: expand is pointwise, dw runs by rows (depthwise_by_rows) and reads what
// expand writes.
bool expand_depthwise_suits(const ConvKernel& expand, const ConvKernel& dw);
// Whether chaining into `dw` saves time: its input (the expanded tensor) of one image is larger than a core's L2.
bool expand_depthwise_pays(const ConvKernel& dw);
// in: expand's input; out, residual: as dw.run(). Throws std::invalid_argument when the kernels do not suit.
void run_expand_depthwise(const ConvKernel& expand, Act expand_act, const ConvKernel& dw, Act dw_act, const float* in,
                          float* out, const float* residual);

}  // namespace zoo::kernels
