// Memory-bound kernels on padded-channel activations: activations, broadcasting add/mul, global and windowed pools,
// per-channel batch norm, softmax over the channel axis, and NCHW <-> NHWC conversion at the graph boundary.
#pragma once

#include <array>
#include <cstdint>

#include "kernels/common.hpp"
#include "zoo/graph.hpp"

namespace zoo::kernels {

// out[i] = act(in[i]) for count floats (count a multiple of 16; in == out allowed).
void activation(const float* in, float* out, int64_t count, Act act);
// The same in place on columns [c0, c1) (multiples of 16) of `rows` rows of stride ld, on the calling thread: a block
// of a kernel's output (OutputHook).
void activation_rows(float* data, int64_t rows, int64_t ld, int64_t c0, int64_t c1, Act act);

// An operand of a broadcasting binary op, viewed as [d0, d1, d2, channels] with channels stored padded and
// contiguous. strides[0..2] are in floats (0 where the operand is broadcast); channel_broadcast: one channel read for
// all (the operand has a single channel).
// keep_mask (nonzero): each finite value is read with only these bits of its pattern (Inf and NaN whole), as a
// multiplier that takes fewer mantissa bits reads it (the Wormhole emulator's SrcA high part), without a pass that
// writes the masked copy first.
struct BinaryOperand {
    const float* data = nullptr;
    std::array<int64_t, 3> strides{0, 0, 0};
    bool channel_broadcast = false;
    uint32_t keep_mask = 0;
};
enum class BinaryOp : uint8_t { Add, Mul };
// out: [dims[0], dims[1], dims[2], cp] contiguous; every lane of cp written; hook: on each chunk of rows written.
void binary(BinaryOp op, const BinaryOperand& a, const BinaryOperand& b, float* out, std::array<int64_t, 3> dims,
            int64_t cp, const OutputHook& hook = {});

// [n, hw, cp] -> [n, cp]: mean over hw (sum in order, then divide by hw, like torch.mean).
void global_avg_pool(const float* in, float* out, int64_t n, int64_t hw, int64_t cp);

// Windowed pools, [n, h, w, cp] -> [n, out_h, out_w, cp], with the SDK's window rules (torch's MaxPool2d / AvgPool2d:
// see zoo/graph.hpp), vectorised over channels. Max propagates a NaN like ATen; avg sums the window row by row, left
// to right, and divides by the divisor avg_pool_span gives (torch's channels-last CPU kernel, in the same order).
struct PoolShape {
    int64_t n = 1, h = 1, w = 1, cp = kChannelAlign, out_h = 1, out_w = 1;
};
void max_pool2d(const float* in, float* out, const PoolShape& shape, const MaxPool2dAttrs& attrs);
void avg_pool2d(const float* in, float* out, const PoolShape& shape, const AvgPool2dAttrs& attrs);

// y = (x - mean[c]) * scale[c] + shift[c] over rows of cp channels (scale = weight / sqrt(var + eps), shift = bias).
void channel_affine(const float* in, float* out, int64_t rows, int64_t cp, const float* mean, const float* scale,
                    const float* shift);

// Numerically stable softmax of each row over its first c values (row stride cp); padding lanes are set to 0.
void softmax_rows(const float* in, float* out, int64_t rows, int64_t c, int64_t cp);

// [n, c, hw] (NCHW) -> [n, hw, cp] with zero padding lanes, and back.
void nchw_to_nhwc(const float* in, float* out, int64_t n, int64_t c, int64_t hw, int64_t cp);
void nhwc_to_nchw(const float* in, float* out, int64_t n, int64_t c, int64_t hw, int64_t cp);

}  // namespace zoo::kernels
