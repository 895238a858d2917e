#include "kernels/dense_ops.hpp"
#include "kernels/common.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace zoo::kernels::dense {

void linear(const float* x, int64_t rows, int64_t in, const float* w, const float* b, int64_t out_features, float* out) {
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t o = 0; o < out_features; ++o) {
            float acc = 0.0f;
            for (int64_t i = 0; i < in; ++i) acc = madd(x[r * in + i], w[o * in + i], acc);
            out[r * out_features + o] = acc + (b ? b[o] : 0.0f);
        }
}

void softmax(const float* x, const Shape& shape, int64_t axis, float* out) {
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= shape[static_cast<size_t>(d)];
    for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
    const int64_t len = shape[static_cast<size_t>(axis)];
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
            const float* px = x + o * len * inner + i;
            float* py = out + o * len * inner + i;
            float mx = -INFINITY;
            for (int64_t k = 0; k < len; ++k) mx = std::max(mx, px[k * inner]);
            float sum = 0.0f;
            for (int64_t k = 0; k < len; ++k) {
                py[k * inner] = std::exp(px[k * inner] - mx);
                sum += py[k * inner];
            }
            for (int64_t k = 0; k < len; ++k) py[k * inner] /= sum;
        }
}

void channel_affine(const float* x, const Shape& shape, const float* mean, const float* scale, const float* shift,
                    float* out) {
    const int64_t n = shape.at(0), c = shape.at(1);
    const int64_t inner = shape_numel(shape) / std::max<int64_t>(n * c, 1);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t k = 0; k < inner; ++k) {
                int64_t idx = (i * c + ch) * inner + k;
                out[idx] = madd(x[idx] - mean[ch], scale[ch], shift[ch]);
            }
}

void binary(bool is_add, const float* a, const Shape& a_shape, const float* b, const Shape& b_shape, float* out,
            const Shape& out_shape) {
    const size_t rank = out_shape.size();
    // Strides of each operand aligned to the output's trailing dimensions; 0 along broadcast dimensions.
    auto strides_of = [&](const Shape& s) {
        std::vector<int64_t> st(rank, 0);
        int64_t stride = 1;
        for (size_t k = 0; k < s.size(); ++k) {
            size_t d = s.size() - 1 - k;
            size_t od = rank - 1 - k;
            st[od] = s[d] == 1 ? 0 : stride;
            stride *= s[d];
        }
        return st;
    };
    const std::vector<int64_t> sa = strides_of(a_shape), sb = strides_of(b_shape);
    const int64_t total = shape_numel(out_shape);
    std::vector<int64_t> idx(rank, 0);
    for (int64_t flat = 0; flat < total; ++flat) {
        int64_t rem = flat, oa = 0, ob = 0;
        for (size_t k = rank; k-- > 0;) {
            int64_t i = rem % out_shape[k];
            rem /= out_shape[k];
            oa += i * sa[k];
            ob += i * sb[k];
        }
        out[flat] = is_add ? a[oa] + b[ob] : a[oa] * b[ob];
    }
}

}  // namespace zoo::kernels::dense
