// The network's first convolution (few input channels, e.g. RGB -> 16, 3x3 stride 2) read straight from the caller's
// NCHW input tensor. With the padded NHWC layout a 3-channel image would be stored as 16 channels: converting it
// costs a pass that writes 5x the input's bytes, and the conv then streams those bytes back. Reading the three
// planes directly fuses the layout change into the stem. The emulator's stem reads the planes too, through
// kernels::ConvKernel::run_nchw (its tap-step bf16 arithmetic); this is the fp32 kernel, staged by rows.
#pragma once

#include "kernels/common.hpp"
#include "kernels/conv.hpp"

namespace zoo::cpu {

class NchwStemConv {
public:
    // Whether the kernel handles these parameters: groups 1, at most 4 input and 64 output channels, rows short
    // enough for the per-task staging buffer.
    static bool suits(const kernels::ConvParams& p);

    // weight: PyTorch layout [out_c, in_c, kh, kw]; bias: out_c values or null. Both are copied.
    NchwStemConv(const kernels::ConvParams& p, const float* weight, const float* bias);

    // in: dense NCHW [batch, in_c, in_h, in_w]; out: NHWC [batch, out_h, out_w, padded(out_c)], every lane written;
    // residual: same layout as out or null. Thread-safe (const), parallel over output rows (TBB). Taps are summed
    // in (kh, kw, ci) order starting from the bias, like kernels::ConvKernel's direct method.
    void run(const float* in, float* out, kernels::Act act, const float* residual) const;

private:
    kernels::ConvParams m_p;
    kernels::AlignedBuffer m_weights;  // [kh][kw][in_c][padded(out_c)]
    kernels::AlignedBuffer m_bias;     // padded(out_c)
};

}  // namespace zoo::cpu
