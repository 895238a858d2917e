#include "kernels/eltwise.hpp"
#include "kernels/parallel.hpp"

#include <algorithm>
#include <cmath>

namespace zoo::kernels {

const char* act_name(Act act) {
    switch (act) {
        case Act::None: return "none";
#define ZOO_KERNEL_ACT_NAME__(name, text, category) \
    case Act::name: return text;
        ZOO_ACTIVATION_LIST(ZOO_KERNEL_ACT_NAME__)
#undef ZOO_KERNEL_ACT_NAME__
    }
    return "?";
}

namespace {
// Vectors [b, e) of in through the activation into out.
template <Act A>
inline void activation_vectors(const float* in, float* out, int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) store(out + i * kVecWidth, act_vec<A>(load(in + i * kVecWidth)));
}
}  // namespace

void activation(const float* in, float* out, int64_t count, Act act) {
    const int64_t vecs = count / kVecWidth;
    dispatch_act(act, [&]<Act A>() {
        parallel_chunks(vecs, 4096, [&](int64_t b, int64_t e) { activation_vectors<A>(in, out, b, e); });
    });
    for (int64_t i = vecs * kVecWidth; i < count; ++i) out[i] = apply_act(act, in[i]);
}

void activation_rows(float* data, int64_t rows, int64_t ld, int64_t c0, int64_t c1, Act act) {
    dispatch_act(act, [&]<Act A>() {
        for (int64_t r = 0; r < rows; ++r) {
            float* row = data + r * ld + c0;
            activation_vectors<A>(row, row, 0, (c1 - c0) / kVecWidth);
        }
    });
}

namespace {
typedef uint32_t Bits __attribute__((vector_size(64)));
// BinaryOperand::keep_mask applied to a vector (Masked), or the vector as it is.
template <bool Masked>
inline Vec operand_bits(Vec v, Bits mask) {
    if constexpr (!Masked) {
        return v;
    } else {
        const Bits b = (Bits)v;
        const Bits special = (Bits)((b & 0x7F800000u) == 0x7F800000u);  // Inf/NaN: whole
        return (Vec)((b & mask) | (b & special));
    }
}
}  // namespace

void binary(BinaryOp op, const BinaryOperand& a, const BinaryOperand& b, float* out, std::array<int64_t, 3> dims,
            int64_t cp, const OutputHook& hook) {
    const int64_t rows = dims[0] * dims[1] * dims[2];
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(cp, 1));
    auto run = [&]<bool MaskA, bool MaskB>() {
        const Bits mask_a = Bits{} + a.keep_mask, mask_b = Bits{} + b.keep_mask;
        parallel_chunks(rows, grain, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                const int64_t i2 = r % dims[2], i1 = (r / dims[2]) % dims[1], i0 = r / (dims[2] * dims[1]);
                const float* pa = a.data + i0 * a.strides[0] + i1 * a.strides[1] + i2 * a.strides[2];
                const float* pb = b.data + i0 * b.strides[0] + i1 * b.strides[1] + i2 * b.strides[2];
                float* po = out + r * cp;
                const Vec sa = splat(pa[0]), sb = splat(pb[0]);
                for (int64_t c = 0; c < cp; c += kVecWidth) {
                    Vec va = operand_bits<MaskA>(a.channel_broadcast ? sa : load(pa + c), mask_a);
                    Vec vb = operand_bits<MaskB>(b.channel_broadcast ? sb : load(pb + c), mask_b);
                    store(po + c, op == BinaryOp::Add ? va + vb : va * vb);
                }
            }
            hook(out + r0 * cp, r1 - r0, cp, 0, cp);
        });
    };
    // Separate loops with and without the masks, so the plain one stays as it was.
    if (a.keep_mask && b.keep_mask)
        run.template operator()<true, true>();
    else if (a.keep_mask)
        run.template operator()<true, false>();
    else if (b.keep_mask)
        run.template operator()<false, true>();
    else
        run.template operator()<false, false>();
}

void global_avg_pool(const float* in, float* out, int64_t n, int64_t hw, int64_t cp) {
    const int64_t chunks = cp / kVecWidth;
    const float count = static_cast<float>(hw);
    parallel_chunks(n * chunks, 1, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
            const int64_t img = t / chunks, c = (t % chunks) * kVecWidth;
            const float* p = in + img * hw * cp + c;
            Vec acc = splat(0.0f);
            for (int64_t i = 0; i < hw; ++i) acc += load(p + i * cp);
            store(out + img * cp + c, acc / splat(count));
        }
    });
}

void max_pool2d(const float* in, float* out, const PoolShape& s, const MaxPool2dAttrs& a) {
    const int64_t cp = s.cp;
    const Vec lowest = splat(-INFINITY);
    // One task per output row of one image; each output pixel is built in place over its window's taps.
    parallel_chunks(s.n * s.out_h, std::max<int64_t>(1, 4096 / std::max<int64_t>(s.out_w * cp, 1)), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const int64_t img = r / s.out_h, oy = r % s.out_h;
            for (int64_t ox = 0; ox < s.out_w; ++ox) {
                float* o = out + (r * s.out_w + ox) * cp;
                for (int64_t c = 0; c < cp; c += kVecWidth) store(o + c, lowest);
                for (int64_t ky = 0; ky < a.kernel[0]; ++ky) {
                    const int64_t iy = oy * a.stride[0] - a.padding[0] + ky * a.dilation[0];
                    if (iy < 0 || iy >= s.h) continue;
                    for (int64_t kx = 0; kx < a.kernel[1]; ++kx) {
                        const int64_t ix = ox * a.stride[1] - a.padding[1] + kx * a.dilation[1];
                        if (ix < 0 || ix >= s.w) continue;
                        const float* x = in + ((img * s.h + iy) * s.w + ix) * cp;
                        for (int64_t c = 0; c < cp; c += kVecWidth) {
                            const Vec v = load(x + c), m = load(o + c);
                            store(o + c, (v > m) | (v != v) ? v : m);  // v != v: NaN wins, as in ATen
                        }
                    }
                }
            }
        }
    });
}

void avg_pool2d(const float* in, float* out, const PoolShape& s, const AvgPool2dAttrs& a) {
    const int64_t cp = s.cp;
    parallel_chunks(s.n * s.out_h, std::max<int64_t>(1, 4096 / std::max<int64_t>(s.out_w * cp, 1)), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const int64_t img = r / s.out_h, oy = r % s.out_h;
            const PoolSpan sy = avg_pool_span(oy, s.h, a.kernel[0], a.stride[0], a.padding[0]);
            for (int64_t ox = 0; ox < s.out_w; ++ox) {
                const PoolSpan sx = avg_pool_span(ox, s.w, a.kernel[1], a.stride[1], a.padding[1]);
                float* o = out + (r * s.out_w + ox) * cp;
                for (int64_t c = 0; c < cp; c += kVecWidth) store(o + c, splat(0.0f));
                if (sy.begin >= sy.end || sx.begin >= sx.end) continue;  // no input element: 0, as torch
                for (int64_t iy = sy.begin; iy < sy.end; ++iy)
                    for (int64_t ix = sx.begin; ix < sx.end; ++ix) {
                        const float* x = in + ((img * s.h + iy) * s.w + ix) * cp;
                        for (int64_t c = 0; c < cp; c += kVecWidth) store(o + c, load(o + c) + load(x + c));
                    }
                const int64_t count = a.count_include_pad ? sy.padded * sx.padded : (sy.end - sy.begin) * (sx.end - sx.begin);
                const Vec divisor = splat(static_cast<float>(count));
                for (int64_t c = 0; c < cp; c += kVecWidth) store(o + c, load(o + c) / divisor);
            }
        }
    });
}

void channel_affine(const float* in, float* out, int64_t rows, int64_t cp, const float* mean, const float* scale,
                    const float* shift) {
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(cp, 1));
    parallel_chunks(rows, grain, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r)
            for (int64_t c = 0; c < cp; c += kVecWidth)
                store(out + r * cp + c, madd(load(in + r * cp + c) - load(mean + c), load(scale + c), load(shift + c)));
    });
}

void softmax_rows(const float* in, float* out, int64_t rows, int64_t c, int64_t cp) {
    parallel_chunks(rows, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float* x = in + r * cp;
            float* y = out + r * cp;
            float mx = -INFINITY;
            for (int64_t i = 0; i < c; ++i) mx = std::max(mx, x[i]);
            float sum = 0.0f;
            for (int64_t i = 0; i < c; ++i) {
                y[i] = std::exp(x[i] - mx);
                sum += y[i];
            }
            for (int64_t i = 0; i < c; ++i) y[i] /= sum;
            for (int64_t i = c; i < cp; ++i) y[i] = 0.0f;
        }
    });
}

void nchw_to_nhwc(const float* in, float* out, int64_t n, int64_t c, int64_t hw, int64_t cp) {
    parallel_chunks(n * hw, 256, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
            const int64_t img = p / hw, pix = p % hw;
            float* dst = out + p * cp;
            const float* src = in + img * c * hw + pix;
            // Zero the padding with whole vectors (a per-pixel memset call would dominate for 3-channel images).
            store(dst + cp - kVecWidth, splat(0.0f));
            for (int64_t ch = 0; ch < c; ++ch) dst[ch] = src[ch * hw];
        }
    });
}

void nhwc_to_nchw(const float* in, float* out, int64_t n, int64_t c, int64_t hw, int64_t cp) {
    parallel_chunks(n * c, 16, [&](int64_t q0, int64_t q1) {
        for (int64_t q = q0; q < q1; ++q) {
            const int64_t img = q / c, ch = q % c;
            const float* src = in + img * hw * cp + ch;
            float* dst = out + q * hw;
            for (int64_t pix = 0; pix < hw; ++pix) dst[pix] = src[pix * cp];
        }
    });
}

}  // namespace zoo::kernels
