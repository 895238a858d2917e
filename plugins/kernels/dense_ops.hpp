// Plain NCHW (row-major, unpadded) implementations of the few op variants the padded-channel fast path does not
// cover: softmax over a non-innermost axis, linear over a 4-D input, batch norm on rank != 2/4, mixed-rank broadcasts.
// They are slow and simple on purpose; MobileNets never reach them.
#pragma once

#include <cstdint>

#include "zoo/tensor.hpp"

namespace zoo::kernels::dense {

// out[r, o] = sum_i x[r, i] * w[o, i] + b[o], rows = numel(x) / in.
void linear(const float* x, int64_t rows, int64_t in, const float* w, const float* b, int64_t out_features, float* out);
// Softmax along `axis` (already non-negative) of a row-major tensor.
void softmax(const float* x, const Shape& shape, int64_t axis, float* out);
// Per-channel (dim 1) y = (x - mean) * scale + shift.
void channel_affine(const float* x, const Shape& shape, const float* mean, const float* scale, const float* shift,
                    float* out);
// Numpy broadcasting add / mul; out has shape out_shape.
void binary(bool is_add, const float* a, const Shape& a_shape, const float* b, const Shape& b_shape, float* out,
            const Shape& out_shape);

}  // namespace zoo::kernels::dense
