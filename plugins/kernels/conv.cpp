#include "kernels/conv.hpp"
#include "kernels/parallel.hpp"

#include <tbb/task_arena.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <string>
#include <cstring>
#include <vector>

namespace zoo::kernels {

namespace {

alignas(64) const float k_zero_vec[kVecWidth] = {};

struct DwArgs {
    const ConvParams* p;
    const float* in;
    float* out;
    const float* residual;
    const float* weights;  // [kh * kw][cp]
    const float* bias;     // [cp]
    int64_t cp;
    // Optional: input row ih of the image at rows[ih] (an image whose rows are not contiguous: run_expand_depthwise's
    // ring of expanded rows); null reads the rows from `in`.
    const float* const* rows = nullptr;
    OutputHook hook;  // per task, on the output it finished
    DwWeightBound weight_bound;  // of `weights` (dw_weight_bound)
};

// How a depthwise kernel keeps its running sums. Fp32: the host's. Bf16 (ConvOptions::bf16_accumulator_step): rounded
// after every tap by round_bf16_rne. Bf16Normal: the same bits by round_bf16_rne_normal, where the ranges of the input
// and the weights prove every running sum +0 or normal (sums_stay_normal): the kernel's inner loop is an FMA and a
// rounding per tap, and the three floating-point operations take about a fifth less time there than the four
// integer ones (a 5x5 depthwise conv of MobileNetV3-Small, one thread: 82 -> 66 us, tools/bench_dest_kernels).
enum class DwSums { Fp32, Bf16, Bf16Normal };

template <DwSums S>
inline Vec round_dw_sum(Vec x) {
    if constexpr (S == DwSums::Bf16Normal)
        return round_bf16_rne_normal(x);
    else
        return round_bf16_rne(x);
}

// Running extremes of |x| over vectors of floats: the bit patterns of |x| (ordered as the magnitudes; a NaN above
// Inf), the smallest non-zero one kept as |x| - 1, where a zero wraps to the top.
class Magnitudes {
public:
    void add(Vec v) {
        const VecBits a = (VecBits)v & 0x7FFFFFFFu;
        m_max = a > m_max ? a : m_max;
        const VecBits a1 = a - 1u;
        m_min_minus_1 = a1 < m_min_minus_1 ? a1 : m_min_minus_1;
    }
    MagnitudeRange range() const {
        MagnitudeRange r;
        uint32_t min_minus_1 = UINT32_MAX;
        for (int i = 0; i < kVecWidth; ++i) {
            r.max_bits = std::max(r.max_bits, m_max[i]);
            min_minus_1 = std::min(min_minus_1, m_min_minus_1[i]);
        }
        r.min_nonzero_bits = min_minus_1 + 1u;  // UINT32_MAX + 1 = 0: no value but zeros
        return r;
    }

private:
    VecBits m_max{};
    VecBits m_min_minus_1 = VecBits{} + UINT32_MAX;
};

MagnitudeRange magnitude_range(const float* data, int64_t floats) {
    Magnitudes m;
    for (int64_t i = 0; i < floats; i += kVecWidth) m.add(load(data + i));
    return m.range();
}

MagnitudeRange merge(MagnitudeRange a, MagnitudeRange b) {
    // min_nonzero_bits 0 stands for "none": compare as value - 1, where it wraps to the top.
    return MagnitudeRange{std::max(a.max_bits, b.max_bits), std::min(a.min_nonzero_bits - 1u, b.min_nonzero_bits - 1u) + 1u};
}

// Whether every running sum of a depthwise tap loop over inputs in range `in` and weights bounded by `w`
// (dw_weight_bound) is +0 or a normal float below 2^111 in magnitude (where round_bf16_rne_normal is round_bf16_rne),
// for kh * kw fused multiply-adds each followed by a bf16 rounding, starting from +0:
// - Every non-zero input is a multiple of 2^(ex - 23), ex the exponent of the smallest one, and so for the weights:
//   every product, and by induction every sum, is a multiple of g = 2^(ex + ew - 46) (rounding a multiple of g to
//   24 or 8 significant bits gives a multiple of g). With g >= 2^-126 a non-zero sum is normal, and rounding never
//   takes it to zero.
// - A sum is -0 only when both addends are: from +0, never (a product of zero and a negative weight is -0, the sum
//   stays +0). So the Veltkamp rounding's +0 for -0 never shows.
// - Each rounding grows |sum| by at most 2^-8 of it (bf16) and 2^-24 (the fp32 FMA): |sum| <= taps * max|x| *
//   max|w| * (1 + 2^-8)^(2 taps), which must stay below 2^111. NaN and Inf inputs or weights fail this.
// The weights' part is dw_weight_bound's, computed once per kernel: this runs per plane task.
constexpr uint32_t kFiniteMaxBits = 0x7F7FFFFFu, kNormalMinBits = 0x00800000u;

DwWeightBound dw_weight_bound(MagnitudeRange w, int64_t taps) {
    DwWeightBound b;
    b.finite = w.max_bits <= kFiniteMaxBits;
    b.all_zero = w.max_bits == 0;
    b.normal = b.finite && !b.all_zero && w.min_nonzero_bits >= kNormalMinBits;
    if (!b.normal) return b;
    b.min_exponent = static_cast<int>(w.min_nonzero_bits >> 23) - 127;
    b.sum_per_input = static_cast<double>(taps) * static_cast<double>(std::bit_cast<float>(w.max_bits)) *
                      std::pow(1.0 + 1.0 / 256.0, 2.0 * static_cast<double>(taps));
    return b;
}

bool sums_stay_normal(MagnitudeRange in, const DwWeightBound& w) {
    if (in.max_bits > kFiniteMaxBits || !w.finite) return false;
    if (in.max_bits == 0 || w.all_zero) return true;  // every product is zero: every sum +0
    if (!w.normal || in.min_nonzero_bits < kNormalMinBits) return false;
    const int ex = static_cast<int>(in.min_nonzero_bits >> 23) - 127;
    if (ex + w.min_exponent - 46 < -126) return false;
    return static_cast<double>(std::bit_cast<float>(in.max_bits)) * w.sum_per_input < 0x1p111;
}

// The depthwise accumulation of OWB pixels over one kernel row: tap kw of pixel b reads the vector at
// base + kw * tap_stride + b * pixel_stride and multiplies it by weight(kw), in kw order; unless S is Fp32 the sum is
// rounded to bf16 after every tap (DwSums). Shared by the row path's interior and the plane path, so both round the
// same way.
template <int OWB, DwSums S, class Weight>
__attribute__((always_inline)) inline void dw_kernel_row(Vec (&acc)[OWB], const float* base, int kw_n, int64_t tap_stride,
                                                         int64_t pixel_stride, const Weight& weight) {
#pragma GCC unroll 8
    for (int kw = 0; kw < kw_n; ++kw) {
        const Vec w = weight(kw);
        const float* q = base + kw * tap_stride;
#pragma GCC unroll 8
        for (int b = 0; b < OWB; ++b, q += pixel_stride) acc[b] = madd(load(q), w, acc[b]);
        if constexpr (S != DwSums::Fp32) {
#pragma GCC unroll 8
            for (int b = 0; b < OWB; ++b) acc[b] = round_dw_sum<S>(acc[b]);
        }
    }
}

// Whether a compile-time kernel's weights stay in registers beside its OWB accumulators (32 vector registers, a few
// kept for the inputs and the rounding); otherwise each tap reads its weights from L1, which costs less than spills.
constexpr bool dw_weights_in_registers(int kh, int kw, int owb) { return kh * kw + owb <= 29; }

// The weights of one channel block (tap t at weights + t * cp) as the kernels read them: held in registers for a
// compile-time kernel that leaves room (KH == 0: any size, always from L1).
template <int KH, int KW, int OWB>
struct DwWeights {
    static constexpr bool kRegs = KH > 0 && dw_weights_in_registers(KH, KW, OWB);
    Vec wv[kRegs ? KH * KW : 1];
    const float* weights;
    int64_t cp;
    DwWeights(const float* w, int64_t stride) : weights(w), cp(stride) {
        if constexpr (kRegs) {
#pragma GCC unroll 32
            for (int t = 0; t < KH * KW; ++t) wv[t] = load(weights + t * cp);
        }
    }
    Vec operator()(int t) const {
        if constexpr (kRegs)
            return wv[t];
        else
            return load(weights + t * cp);
    }
};

// A depthwise output vector: activation, then the residual (when not null); with Dest the accumulator started at 0, so
// the bias is added here, and each step is rounded to bf16.
template <Act A, bool Dest>
__attribute__((always_inline)) inline void dw_store(Vec acc, Vec bias, const float* residual, float* out) {
    if constexpr (Dest) {
        Vec v = dest_act<A>(round_bf16_rne(acc + bias));
        if (residual) v = round_bf16_rne(v + load(residual));
        store(out, v);
    } else {
        Vec v = act_vec<A>(acc);
        if (residual) v += load(residual);
        store(out, v);
    }
}

// One output row (image n, row oh) for channels [c_begin, c_end). KH/KW > 0: compile-time kernel size with the
// weights of a channel block held in registers and OWB output pixels accumulated at once (independent FMA chains);
// KH == 0: any kernel size, weights read from L1. Taps are accumulated in (kh, kw) order in every path; kernel rows
// in the zero padding are skipped and columns in it add a zero vector (an unchanged sum), so border and interior
// pixels round the same way.
// Dest (ConvOptions::bf16_accumulator_step > 0): the accumulator starts at 0 and is rounded to bf16 after every tap; bias,
// activation and residual come after, each rounded (a separate instantiation: the default path is unchanged).
template <int KH, int KW, int OWB, Act A, DwSums S>
void dw_row(const DwArgs& d, int64_t n, int64_t oh, int64_t c_begin, int64_t c_end) {
    constexpr bool Dest = S != DwSums::Fp32;
    const ConvParams& p = *d.p;
    const int kh_n = KH > 0 ? KH : static_cast<int>(p.kh);
    const int kw_n = KW > 0 ? KW : static_cast<int>(p.kw);
    const int64_t cp = d.cp, H = p.in_h, W = p.in_w, OW = p.out_w(), OH = p.out_h();
    const int64_t sw = p.stride_w, pw = p.pad_w, dw = p.dil_w, step = sw * cp;
    const float* img = d.rows ? nullptr : d.in + n * H * W * cp;
    auto input_row = [&](int64_t ih) { return d.rows ? d.rows[ih] : img + ih * W * cp; };
    const int64_t ih0 = oh * p.stride_h - p.pad_h;
    float* orow = d.out + (n * OH + oh) * OW * cp;
    const float* rrow = d.residual ? d.residual + (n * OH + oh) * OW * cp : nullptr;

    int64_t ow_lo = (pw + sw - 1) / sw;
    int64_t last_start = W - 1 - (kw_n - 1) * dw + pw;
    int64_t ow_hi = last_start >= 0 ? last_start / sw + 1 : 0;
    ow_lo = std::min(ow_lo, OW);
    ow_hi = std::clamp(ow_hi, ow_lo, OW);

    for (int64_t cb = c_begin; cb < c_end; cb += kVecWidth) {
        const DwWeights<KH, KW, OWB> weight(d.weights + cb, cp);
        const Vec bias = load(d.bias + cb);
        auto finish = [&](int64_t ow, Vec acc) {
            dw_store<A, Dest>(acc, bias, rrow ? rrow + ow * cp + cb : nullptr, orow + ow * cp + cb);
        };
        // Border (and row-end) blocks: OWB pixels at once like the interior, taps in the zero padding read a zero
        // vector (adding 0 * w leaves the sum unchanged), pixels past the row end repeat the last one unstored.
        auto border_block = [&](int64_t ow0) {
            Vec acc[OWB];
#pragma GCC unroll 8
            for (int b = 0; b < OWB; ++b) acc[b] = Dest ? splat(0.0f) : bias;
            for (int kh = 0; kh < kh_n; ++kh) {
                int64_t ih = ih0 + kh * p.dil_h;
                if (ih < 0 || ih >= H) continue;
                const float* row = input_row(ih) + cb;
#pragma GCC unroll 8
                for (int kw = 0; kw < kw_n; ++kw) {
                    const Vec w = weight(kh * kw_n + kw);
#pragma GCC unroll 8
                    for (int b = 0; b < OWB; ++b) {
                        const int64_t iw = std::min(ow0 + b, OW - 1) * sw - pw + kw * dw;
                        const float* q = iw >= 0 && iw < W ? row + iw * cp : k_zero_vec;
                        acc[b] = madd(load(q), w, acc[b]);
                    }
                    if constexpr (Dest) {
#pragma GCC unroll 8
                        for (int b = 0; b < OWB; ++b) acc[b] = round_dw_sum<S>(acc[b]);
                    }
                }
            }
#pragma GCC unroll 8
            for (int b = 0; b < OWB; ++b)
                if (ow0 + b < OW) finish(ow0 + b, acc[b]);
        };
        int64_t ow = 0;
        for (; ow < ow_lo; ow += OWB) border_block(ow);
        for (; ow + OWB <= ow_hi; ow += OWB) {
            Vec acc[OWB];
#pragma GCC unroll 8
            for (int b = 0; b < OWB; ++b) acc[b] = Dest ? splat(0.0f) : bias;
#pragma GCC unroll 8
            for (int kh = 0; kh < kh_n; ++kh) {
                int64_t ih = ih0 + kh * p.dil_h;
                if (ih < 0 || ih >= H) continue;
                // The kernel walks a pointer: 24 precomputed runtime offsets would not fit in integer registers.
                dw_kernel_row<OWB, S>(acc, input_row(ih) + cb + (ow * sw - pw) * cp, kw_n, dw * cp, step,
                                      [&](int kw) { return weight(kh * kw_n + kw); });
            }
#pragma GCC unroll 8
            for (int b = 0; b < OWB; ++b) finish(ow + b, acc[b]);
        }
        for (; ow < OW; ow += OWB) border_block(ow);
    }
}

// Small planes (late layers: 7x7 or 14x14 with a 5x5 kernel) spend most pixels in border_block. There each channel
// block of an image is first copied into a zero-bordered plane, wide enough for whole OWB blocks, and every output
// pixel runs the interior loop. Kernel rows in the border add 0 * w where the row path skips them: the same sum
// (with Dest, the rounding of an unchanged bf16 value is that value), so both paths give the same bits, except that a
// sum of exactly -0 becomes +0 and a non-finite weight poisons the border pixels (0 * inf), where the row path's
// skipped rows would not: neither occurs with finite weights and non-zero sums, and the bit goldens pass unchanged.
struct DwPlane {
    int64_t row0, col0;  // input coordinates of the plane's (0, 0): minus the padding
    int64_t rows, cols;  // plane size in pixels
    int64_t blocks;      // OWB-pixel blocks per output row
};

template <int KH, int KW, int OWB>
DwPlane dw_plane_shape(const ConvParams& p) {
    DwPlane g;
    const int64_t OW = p.out_w(), OH = p.out_h();
    g.blocks = (OW + OWB - 1) / OWB;
    g.row0 = -p.pad_h;
    g.col0 = -p.pad_w;
    g.rows = (OH - 1) * p.stride_h + (KH - 1) * p.dil_h + 1;
    g.cols = (g.blocks * OWB - 1) * p.stride_w + (KW - 1) * p.dil_w + 1;
    return g;
}

// Planes up to this size take the plane path: it stays in L1/L2 next to its image's rows.
constexpr int64_t kDwPlaneMaxFloats = 32 * 1024;

// Copies channel block cb of image n into the zero-bordered plane; Measure: returns the range of what it copied (the
// default range otherwise). The running extremes live in registers here: through a pointer, every store to the plane
// may alias them and the copy took longer than the rounding it decides saves.
template <bool Measure>
MagnitudeRange dw_fill_plane(const DwArgs& d, const DwPlane& g, int64_t n, int64_t cb, float* plane) {
    Magnitudes seen;
    const ConvParams& p = *d.p;
    const int64_t cp = d.cp, H = p.in_h, W = p.in_w;
    const float* img = d.in + n * H * W * cp + cb;
    for (int64_t r = 0; r < g.rows; ++r) {
        const int64_t ih = g.row0 + r;
        float* dst = plane + r * g.cols * kVecWidth;
        for (int64_t c = 0; c < g.cols; ++c) {
            const int64_t iw = g.col0 + c;
            const bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
            const Vec v = inside ? load(img + (ih * W + iw) * cp) : splat(0.0f);
            if constexpr (Measure) seen.add(v);
            store(dst + c * kVecWidth, v);
        }
    }
    return Measure ? seen.range() : MagnitudeRange{};
}

template <int KH, int KW, int OWB, Act A, DwSums S>
void dw_plane_block(const DwArgs& d, const DwPlane& g, int64_t n, int64_t cb, const float* plane) {
    static_assert(KH > 0 && KW > 0, "the plane path has a compile-time kernel");
    constexpr bool Dest = S != DwSums::Fp32;
    const ConvParams& p = *d.p;
    const int64_t cp = d.cp, OW = p.out_w(), OH = p.out_h();
    const DwWeights<KH, KW, OWB> weight(d.weights + cb, cp);
    const Vec bias = load(d.bias + cb);
    const int64_t step = p.stride_w * kVecWidth;
    for (int64_t oh = 0; oh < OH; ++oh) {
        float* orow = d.out + (n * OH + oh) * OW * cp + cb;
        const float* rrow = d.residual ? d.residual + (n * OH + oh) * OW * cp + cb : nullptr;
        const float* prow = plane + oh * p.stride_h * g.cols * kVecWidth;
        for (int64_t blk = 0; blk < g.blocks; ++blk) {
            const int64_t ow0 = blk * OWB;
            Vec acc[OWB];
#pragma GCC unroll 8
            for (int b = 0; b < OWB; ++b) acc[b] = Dest ? splat(0.0f) : bias;
#pragma GCC unroll 8
            for (int kh = 0; kh < KH; ++kh) {
                dw_kernel_row<OWB, S>(acc, prow + (kh * p.dil_h * g.cols + ow0 * p.stride_w) * kVecWidth, KW,
                                      p.dil_w * kVecWidth, step, [&](int kw) { return weight(kh * KW + kw); });
            }
#pragma GCC unroll 8
            for (int b = 0; b < OWB; ++b) {
                const int64_t ow = ow0 + b;
                if (ow >= OW) break;
                dw_store<A, Dest>(acc[b], bias, rrow ? rrow + ow * cp : nullptr, orow + ow * cp);
            }
        }
    }
}

template <int KH, int KW, int OWB>
bool dw_takes_plane(const ConvParams& p) {
    if constexpr (KH > 0) {
        const DwPlane g = dw_plane_shape<KH, KW, OWB>(p);
        return g.rows * g.cols * kVecWidth <= kDwPlaneMaxFloats;
    }
    return false;
}

// Output rows [oh_begin, oh_end) of image n, every channel, on the calling thread.
template <int KH, int KW, int OWB>
void dw_rows(const DwArgs& d, Act act, bool dest, int64_t n, int64_t oh_begin, int64_t oh_end) {
    dispatch_act(act, [&]<Act A>() {
        for (int64_t oh = oh_begin; oh < oh_end; ++oh)
            if (dest)
                dw_row<KH, KW, OWB, A, DwSums::Bf16>(d, n, oh, 0, d.cp);
            else
                dw_row<KH, KW, OWB, A, DwSums::Fp32>(d, n, oh, 0, d.cp);
    });
}

template <int KH, int KW, int OWB>
void dw_all(const DwArgs& d, Act act, bool dest) {
    const ConvParams& p = *d.p;
    const int64_t rows = p.batch * p.out_h();
    const int64_t chunks = d.cp / kVecWidth;
    const int64_t threads = std::max(1, tbb::this_task_arena::max_concurrency());
    // Split channels too when there are few rows (late layers at batch 1 have 7 rows).
    int64_t cgroups = threads > 1 ? std::clamp<int64_t>((4 * threads + rows - 1) / rows, 1, chunks) : 1;
    const int64_t per_group = (chunks + cgroups - 1) / cgroups;
    cgroups = (chunks + per_group - 1) / per_group;
    if constexpr (KH > 0) {
        const DwPlane g = dw_plane_shape<KH, KW, OWB>(p);
        const int64_t plane_floats = g.rows * g.cols * kVecWidth;
        if (dw_takes_plane<KH, KW, OWB>(p)) {
            dispatch_act(act, [&]<Act A>() {
                parallel_range(p.batch * chunks, [&](int64_t t) {
                    // One plane per thread, grown once (no allocation once every thread has run the largest layer).
                    thread_local AlignedBuffer plane;
                    if (plane.size() < static_cast<size_t>(plane_floats)) plane.resize(static_cast<size_t>(kDwPlaneMaxFloats));
                    const int64_t n = t / chunks, cb = (t % chunks) * kVecWidth;
                    if (!dest) {
                        dw_fill_plane<false>(d, g, n, cb, plane.data());
                        dw_plane_block<KH, KW, OWB, A, DwSums::Fp32>(d, g, n, cb, plane.data());
                    } else if (sums_stay_normal(dw_fill_plane<true>(d, g, n, cb, plane.data()), d.weight_bound))
                        dw_plane_block<KH, KW, OWB, A, DwSums::Bf16Normal>(d, g, n, cb, plane.data());
                    else
                        dw_plane_block<KH, KW, OWB, A, DwSums::Bf16>(d, g, n, cb, plane.data());
                    const int64_t pixels = p.out_h() * p.out_w();
                    d.hook(d.out + n * pixels * d.cp, pixels, d.cp, cb, cb + kVecWidth);
                });
            });
            return;
        }
    }
    // The row path reads the input in place: one scan of it decides the rounding for the whole call. The scan costs
    // about two cycles per input vector and the cheaper rounding saves about half a cycle per tap, so it pays from
    // four taps per input vector: a 3x3 stride-2 conv (2.25) keeps the exact rounding without a scan. One thread:
    // 3x3 stride 2 on 112 x 112 x 16 went 31 -> 35 us with it; 3x3 stride 1 on 56 x 56 x 144 goes 299 -> 283 us and
    // 5x5 stride 2 on 56 x 56 x 72 116 -> 103 us (tools/bench_dest_kernels).
    DwSums sums = dest ? DwSums::Bf16 : DwSums::Fp32;
    if (dest && p.kh * p.kw >= 4 * p.stride_h * p.stride_w) {
        const int64_t image = p.in_h * p.in_w * d.cp;
        std::vector<MagnitudeRange> seen(static_cast<size_t>(p.batch));
        parallel_range(p.batch, [&](int64_t n) { seen[static_cast<size_t>(n)] = magnitude_range(d.in + n * image, image); });
        MagnitudeRange all;
        for (const MagnitudeRange& r : seen) all = merge(all, r);
        sums = sums_stay_normal(all, d.weight_bound) ? DwSums::Bf16Normal : DwSums::Bf16;
    }
    dispatch_act(act, [&]<Act A>() {
        parallel_range(rows * cgroups, [&](int64_t t) {
            int64_t r = t / cgroups, g = t % cgroups;
            int64_t c0 = g * per_group * kVecWidth, c1 = std::min(d.cp, c0 + per_group * kVecWidth);
            const int64_t n = r / p.out_h(), oh = r % p.out_h();
            switch (sums) {
                case DwSums::Fp32: dw_row<KH, KW, OWB, A, DwSums::Fp32>(d, n, oh, c0, c1); break;
                case DwSums::Bf16: dw_row<KH, KW, OWB, A, DwSums::Bf16>(d, n, oh, c0, c1); break;
                case DwSums::Bf16Normal: dw_row<KH, KW, OWB, A, DwSums::Bf16Normal>(d, n, oh, c0, c1); break;
            }
            d.hook(d.out + r * p.out_w() * d.cp, p.out_w(), d.cp, c0, c1);
        });
    });
}

// Direct convolution for few input channels: 8 output pixels of a row x NV vectors of output channels per tile,
// accumulating over (kh, kw, ci) with each input value broadcast. Out-of-image taps read a zero vector. A tile past
// the row end recomputes the last pixel and does not store it.
constexpr int kDirectRows = 8;
alignas(64) const float k_zeros[kVecWidth] = {};

// One kernel tap (kh, kw) of a direct-conv tile: the tile's kDirectRows pixels' input vectors (a zero vector outside
// the image) times the tap's weights, accumulated in ci order. Shared by the fp32 kernel and the tap-step one.
// Planar: the input is dense NCHW (ConvKernel::run_nchw): pixels one float apart, channels a plane apart; a tile
// with a pixel outside the image multiplies +0 there, as the padded layout's zero vector gives.
template <int NV, int CIN, bool Planar = false>
inline void accumulate_tap(const ConvParams& p, const float* in, const float* weights, Vec (&acc)[kDirectRows][NV],
                           int64_t n, int64_t ih, bool row_ok, int64_t kh, int64_t kw, int64_t ow0) {
    const int64_t cp_in = padded_channels(p.in_c), cp_out = NV * kVecWidth, OW = p.out_w();
    const int64_t cin = CIN > 0 ? CIN : p.in_c;  // RGB input gets a fully unrolled channel loop
    const float* src[kDirectRows];
    const int64_t iw0 = ow0 * p.stride_w - p.pad_w + kw * p.dil_w;  // the tile's first pixel's input column
    const float* wp = weights + (kh * p.kw + kw) * cin * cp_out;
    // value(b, ci): input channel ci of the tile's pixel b.
    auto taps = [&](auto&& value) {
#pragma GCC unroll 4
        for (int64_t ci = 0; ci < cin; ++ci) {
            Vec w[NV];
#pragma GCC unroll 4
            for (int j = 0; j < NV; ++j) w[j] = load(wp + ci * cp_out + j * kVecWidth);
#pragma GCC unroll 8
            for (int b = 0; b < kDirectRows; ++b) {
                const Vec a = splat(value(b, ci));
#pragma GCC unroll 4
                for (int j = 0; j < NV; ++j) acc[b][j] = madd(a, w[j], acc[b][j]);
            }
        }
    };
    const bool inside_row = row_ok && iw0 >= 0 && ow0 + kDirectRows <= OW && iw0 + (kDirectRows - 1) * p.stride_w < p.in_w;
    if constexpr (Planar) {
        const int64_t plane = p.in_h * p.in_w, sw = p.stride_w;
        const float* row = in + (n * p.in_c * p.in_h + ih) * p.in_w;
        if (inside_row) {
            const float* first = row + iw0;
            taps([&](int b, int64_t ci) { return first[b * sw + ci * plane]; });
        } else {
#pragma GCC unroll 8
            for (int b = 0; b < kDirectRows; ++b) {
                const int64_t iw = std::min(ow0 + b, OW - 1) * sw - p.pad_w + kw * p.dil_w;
                src[b] = row_ok && iw >= 0 && iw < p.in_w ? row + iw : nullptr;
            }
            taps([&](int b, int64_t ci) { return src[b] ? src[b][ci * plane] : 0.0f; });
        }
        return;
    }
    if (inside_row) {
        // Every pixel of the tile reads inside the row: a fixed stride, no per-pixel clamping or bounds test.
        const float* first = in + ((n * p.in_h + ih) * p.in_w + iw0) * cp_in;
#pragma GCC unroll 8
        for (int b = 0; b < kDirectRows; ++b) src[b] = first + b * p.stride_w * cp_in;
    } else {
#pragma GCC unroll 8
        for (int b = 0; b < kDirectRows; ++b) {
            const int64_t ow = std::min(ow0 + b, OW - 1);
            const int64_t iw = ow * p.stride_w - p.pad_w + kw * p.dil_w;
            src[b] = row_ok && iw >= 0 && iw < p.in_w ? in + ((n * p.in_h + ih) * p.in_w + iw) * cp_in : k_zeros;
        }
    }
    taps([&](int b, int64_t ci) { return src[b][ci]; });
}

template <int NV, int CIN, Act A>
void direct_row(const ConvParams& p, const float* in, float* out, const float* residual, const float* weights,
                const float* bias, int64_t n, int64_t oh) {
    const int64_t cp_out = NV * kVecWidth, OW = p.out_w(), OH = p.out_h();
    float* orow = out + (n * OH + oh) * OW * cp_out;
    const float* rrow = residual ? residual + (n * OH + oh) * OW * cp_out : nullptr;
    for (int64_t ow0 = 0; ow0 < OW; ow0 += kDirectRows) {
        Vec acc[kDirectRows][NV];
#pragma GCC unroll 8
        for (int b = 0; b < kDirectRows; ++b)
#pragma GCC unroll 4
            for (int j = 0; j < NV; ++j) acc[b][j] = load(bias + j * kVecWidth);
        for (int64_t kh = 0; kh < p.kh; ++kh) {
            const int64_t ih = oh * p.stride_h - p.pad_h + kh * p.dil_h;
            const bool row_ok = ih >= 0 && ih < p.in_h;
            for (int64_t kw = 0; kw < p.kw; ++kw) {
                accumulate_tap<NV, CIN>(p, in, weights, acc, n, ih, row_ok, kh, kw, ow0);
            }
        }
        store_pixel_tile<kDirectRows, NV, A>(acc, std::min<int64_t>(kDirectRows, OW - ow0), orow + ow0 * cp_out,
                                             rrow ? rrow + ow0 * cp_out : nullptr, cp_out);
    }
}

template <int NV>
void direct_all(const ConvParams& p, const float* in, float* out, const float* residual, const float* weights,
                const float* bias, Act act, const OutputHook& hook) {
    dispatch_act(act, [&]<Act A>() {
        parallel_range(p.batch * p.out_h(), [&](int64_t r) {
            if (p.in_c == 3)
                direct_row<NV, 3, A>(p, in, out, residual, weights, bias, r / p.out_h(), r % p.out_h());
            else
                direct_row<NV, 0, A>(p, in, out, residual, weights, bias, r / p.out_h(), r % p.out_h());
            hook(out + r * p.out_w() * NV * kVecWidth, p.out_w(), NV * kVecWidth, 0, NV * kVecWidth);
        });
    });
}

// ConvOptions::pad_tap_channels as a direct kernel: the same arithmetic as the GEMM over (kh, kw, ci) whose taps are
// each padded to a 16-wide K step. The accumulator starts at +0; per tap, the real channels' FMAs in ci order (a tap
// in the zero padding multiplies zeros, as im2col's zero rows do), then `+ 0.0f` for the padding channels' products
// (each is fma(+0, +0, acc) = acc + 0: it only turns a -0 accumulator into +0, and once is as good as 13 times), then
// with Dest the step's bf16 rounding. The epilogue is the GEMM's (micro_tile): bias, activation, residual, each
// rounded with Dest.
template <int NV, int CIN, Act A, bool Dest, bool Planar>
void direct_row_tap_steps(const ConvParams& p, const float* in, float* out, const float* residual, const float* weights,
                          const float* bias, int64_t n, int64_t oh) {
    const int64_t cp_out = NV * kVecWidth, OW = p.out_w(), OH = p.out_h();
    float* orow = out + (n * OH + oh) * OW * cp_out;
    const float* rrow = residual ? residual + (n * OH + oh) * OW * cp_out : nullptr;
    Vec bias_v[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bias_v[j] = load(bias + j * kVecWidth);
    for (int64_t ow0 = 0; ow0 < OW; ow0 += kDirectRows) {
        Vec acc[kDirectRows][NV];
#pragma GCC unroll 8
        for (int b = 0; b < kDirectRows; ++b)
#pragma GCC unroll 4
            for (int j = 0; j < NV; ++j) acc[b][j] = splat(0.0f);
        for (int64_t kh = 0; kh < p.kh; ++kh) {
            const int64_t ih = oh * p.stride_h - p.pad_h + kh * p.dil_h;
            const bool row_ok = ih >= 0 && ih < p.in_h;
            for (int64_t kw = 0; kw < p.kw; ++kw) {
                accumulate_tap<NV, CIN, Planar>(p, in, weights, acc, n, ih, row_ok, kh, kw, ow0);
                // The padded GEMM adds the padding's +0 x +0 products at the end of every tap (before Dest rounds).
                // That only turns an exact -0 sum into +0, and the sign of an intermediate zero changes no later
                // non-zero sum or its rounding: one + 0.0f in the last tap, before its rounding, gives the same bits.
                if (kh == p.kh - 1 && kw == p.kw - 1) {
#pragma GCC unroll 8
                    for (int b = 0; b < kDirectRows; ++b)
#pragma GCC unroll 4
                        for (int j = 0; j < NV; ++j) acc[b][j] = acc[b][j] + splat(0.0f);
                }
                if constexpr (Dest) {
#pragma GCC unroll 8
                    for (int b = 0; b < kDirectRows; ++b)
#pragma GCC unroll 4
                        for (int j = 0; j < NV; ++j) acc[b][j] = round_bf16_rne(acc[b][j]);
                }
            }
        }
        const int64_t valid = std::min<int64_t>(kDirectRows, OW - ow0);
#pragma GCC unroll 8
        for (int b = 0; b < kDirectRows; ++b) {
            if (b >= valid) break;
#pragma GCC unroll 4
            for (int j = 0; j < NV; ++j) {
                float* o = orow + (ow0 + b) * cp_out + j * kVecWidth;
                const float* r = rrow ? rrow + (ow0 + b) * cp_out + j * kVecWidth : nullptr;
                if constexpr (Dest) {
                    Vec v = dest_act<A>(round_bf16_rne(acc[b][j] + bias_v[j]));
                    if (r) v = round_bf16_rne(v + load(r));
                    store(o, v);
                } else {
                    Vec v = act_vec<A>(acc[b][j] + bias_v[j]);
                    if (r) v += load(r);
                    store(o, v);
                }
            }
        }
    }
}

template <int NV>
void direct_tap_steps_all(const ConvParams& p, const float* in, float* out, const float* residual, const float* weights,
                          const float* bias, Act act, bool dest, bool planar, const OutputHook& hook) {
    dispatch_act(act, [&]<Act A>() {
        auto row = [&]<int CIN, bool Dest, bool Planar>(int64_t n, int64_t oh) {
            direct_row_tap_steps<NV, CIN, A, Dest, Planar>(p, in, out, residual, weights, bias, n, oh);
        };
        parallel_range(p.batch * p.out_h(), [&](int64_t r) {
            const int64_t n = r / p.out_h(), oh = r % p.out_h();
            if (planar) {  // straight from the input's planes (run_nchw)
                if (dest)
                    row.template operator()<3, true, true>(n, oh);
                else
                    row.template operator()<3, false, true>(n, oh);
            } else if (p.in_c == 3) {
                if (dest)
                    row.template operator()<3, true, false>(n, oh);
                else
                    row.template operator()<3, false, false>(n, oh);
            } else {
                if (dest)
                    row.template operator()<0, true, false>(n, oh);
                else
                    row.template operator()<0, false, false>(n, oh);
            }
            hook(out + r * p.out_w() * NV * kVecWidth, p.out_w(), NV * kVecWidth, 0, NV * kVecWidth);
        });
    });
}

}  // namespace

ConvKernel::ConvKernel(const ConvParams& params, const float* weight, const float* bias, const ConvOptions& options)
    : m_p(params), m_options(options) {
    const bool direct_shape = params.groups == 1 && params.in_c <= 4 && padded_channels(params.out_c) <= 4 * kVecWidth;
    const bool pads_taps = options.force_im2col && options.pad_tap_channels && params.groups == 1 &&
                           params.kh * params.kw > 1 && params.in_c % kChannelAlign != 0;
    // The tap-padded kernel rounds once per tap: that is a step of one padded tap, kChannelAlign values of K.
    if (pads_taps && options.bf16_accumulator_step != 0 && options.bf16_accumulator_step != kChannelAlign)
        throw std::invalid_argument("conv: pad_tap_channels needs bf16_accumulator_step 0 or " +
                                    std::to_string(kChannelAlign) + ", got " +
                                    std::to_string(options.bf16_accumulator_step));
    std::vector<float> padded_weight;
    if (pads_taps && direct_shape) {
        m_tap_steps = true;
    } else if (pads_taps) {
        // im2col over channels padded to 16 per tap, with zero weights on the padding channels.
        const int64_t taps = params.kh * params.kw, padded_in = padded_channels(params.in_c);
        padded_weight.assign(static_cast<size_t>(params.out_c * padded_in * taps), 0.0f);
        for (int64_t o = 0; o < params.out_c; ++o)
            for (int64_t i = 0; i < params.in_c; ++i)
                std::copy_n(weight + (o * params.in_c + i) * taps, taps, padded_weight.begin() + (o * padded_in + i) * taps);
        weight = padded_weight.data();
        m_p.in_c = padded_in;
    }
    const ConvParams& p = m_p;
    const int64_t cin_g = p.in_c / p.groups, cout_g = p.out_c / p.groups;
    if (p.kh == 1 && p.kw == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0 && p.groups == 1)
        m_method = Method::Pointwise;
    else if (p.groups == p.in_c && p.out_c == p.in_c)
        m_method = Method::Depthwise;
    else if ((!options.force_im2col || m_tap_steps) && direct_shape)
        m_method = Method::Direct;
    else
        m_method = Method::Im2col;

    m_bias.resize(static_cast<size_t>(padded_channels(p.out_c) + PackedB::kPanelWidth));
    if (bias) std::memcpy(m_bias.data(), bias, static_cast<size_t>(p.out_c) * sizeof(float));

    const int64_t taps = p.kh * p.kw;
    switch (m_method) {
        case Method::Pointwise:
            // At most one GEMM row tile (8 rows): B may be packed as bf16 (pack_b).
            m_groups_b.push_back(pack_b(weight, p.in_c, p.out_c, 1, p.in_c, p.batch * p.in_h * p.in_w <= 8));
            break;
        case Method::Depthwise: {
            const int64_t cp = padded_channels(p.out_c);
            m_dw_weights.resize(static_cast<size_t>(taps * cp));
            for (int64_t c = 0; c < p.out_c; ++c)
                for (int64_t t = 0; t < taps; ++t) m_dw_weights.data()[t * cp + c] = weight[c * taps + t];
            m_dw_weight_bound = dw_weight_bound(magnitude_range(m_dw_weights.data(), taps * cp), taps);
            break;
        }
        case Method::Direct: {
            const int64_t cp = padded_channels(p.out_c);
            m_dw_weights.resize(static_cast<size_t>(taps * p.in_c * cp));
            for (int64_t co = 0; co < p.out_c; ++co)
                for (int64_t ci = 0; ci < p.in_c; ++ci)
                    for (int64_t t = 0; t < taps; ++t)
                        m_dw_weights.data()[(t * p.in_c + ci) * cp + co] = weight[(co * p.in_c + ci) * taps + t];
            break;
        }
        case Method::Im2col: {
            // Column order of a pixel's patch is (kh, kw, ci): the order im2col copies NHWC rows in.
            const int64_t kg = taps * cin_g;
            std::vector<float> dense(static_cast<size_t>(kg * cout_g));
            for (int64_t g = 0; g < p.groups; ++g) {
                for (int64_t co = 0; co < cout_g; ++co)
                    for (int64_t ci = 0; ci < cin_g; ++ci)
                        for (int64_t t = 0; t < taps; ++t)
                            dense[static_cast<size_t>((t * cin_g + ci) * cout_g + co)] =
                                weight[((g * cout_g + co) * cin_g + ci) * taps + t];
                m_groups_b.push_back(pack_b(dense.data(), kg, cout_g, cout_g, 1));
            }
            break;
        }
    }
}

int64_t ConvKernel::scratch_floats() const {
    if (m_method != Method::Im2col) return 0;
    return m_p.batch * m_p.out_h() * m_p.out_w() * im2col_stride();
}

int64_t ConvKernel::im2col_stride() const {
    const int64_t kg = m_p.kh * m_p.kw * (m_p.in_c / m_p.groups);
    return round_up(kg + kVecWidth, kVecWidth);
}

void ConvKernel::run(const float* in, float* out, Act act, const float* residual, float* scratch,
                     const OutputHook& hook) const {
    switch (m_method) {
        case Method::Pointwise: {
            const int64_t cp_in = padded_channels(m_p.in_c), cp_out = padded_channels(m_p.out_c);
            gemm(m_p.batch * m_p.in_h * m_p.in_w, in, cp_in, m_groups_b[0], out, cp_out, cp_out,
                 GemmEpilogue{m_bias.data(), act, residual, cp_out, hook}, GemmNumerics{m_options.bf16_accumulator_step});
            break;
        }
        case Method::Depthwise: run_depthwise(in, out, act, residual, hook); break;
        case Method::Direct: run_direct(in, out, act, residual, hook); break;
        case Method::Im2col: run_im2col(in, out, act, residual, scratch, hook); break;
    }
}

// The depthwise kernel sizes with their own instantiation, else the generic one. With a bf16 accumulator (dest) each
// tap's FMA waits for the rounding of the previous one: a 5x5 kernel then takes eight pixels at a time, twice the
// chains in flight, its weights read from L1 (dw_weights_in_registers). The pixels of a block share no arithmetic,
// so the bits do not depend on it.
template <class F>
void dispatch_dw_size(const ConvParams& p, bool dest, F&& f) {
    if (p.kh == 3 && p.kw == 3)
        f.template operator()<3, 3, 8>();
    else if (p.kh == 5 && p.kw == 5 && dest)
        f.template operator()<5, 5, 8>();
    else if (p.kh == 5 && p.kw == 5)
        f.template operator()<5, 5, 4>();
    else
        f.template operator()<0, 0, 4>();
}

void ConvKernel::run_depthwise(const float* in, float* out, Act act, const float* residual, const OutputHook& hook) const {
    DwArgs d{&m_p, in, out, residual, m_dw_weights.data(), m_bias.data(), padded_channels(m_p.out_c), nullptr, hook,
             m_dw_weight_bound};
    const bool dest = m_options.bf16_accumulator_step > 0;
    dispatch_dw_size(m_p, dest, [&]<int KH, int KW, int OWB>() { dw_all<KH, KW, OWB>(d, act, dest); });
}

void ConvKernel::run_pointwise_pixels(const float* in, int64_t pixels, float* out, Act act) const {
    if (m_method != Method::Pointwise) throw std::invalid_argument("run_pointwise_pixels: not a pointwise conv");
    const int64_t cp_in = padded_channels(m_p.in_c), cp_out = padded_channels(m_p.out_c);
    gemm_on_this_thread(pixels, in, cp_in, m_groups_b[0], out, cp_out, cp_out,
                        GemmEpilogue{m_bias.data(), act, nullptr, cp_out}, GemmNumerics{m_options.bf16_accumulator_step});
}

bool ConvKernel::depthwise_by_rows() const {
    if (m_method != Method::Depthwise) return false;
    bool plane = false;
    dispatch_dw_size(m_p, m_options.bf16_accumulator_step > 0,
                     [&]<int KH, int KW, int OWB>() { plane = dw_takes_plane<KH, KW, OWB>(m_p); });
    return !plane;
}

void ConvKernel::run_depthwise_rows(const float* const* rows, int64_t n, int64_t oh_begin, int64_t oh_end, float* out,
                                    Act act, const float* residual) const {
    if (m_method != Method::Depthwise) throw std::invalid_argument("run_depthwise_rows: not a depthwise conv");
    DwArgs d{&m_p, nullptr, out, residual, m_dw_weights.data(), m_bias.data(), padded_channels(m_p.out_c), rows, {},
             m_dw_weight_bound};
    dispatch_dw_size(m_p, m_options.bf16_accumulator_step > 0, [&]<int KH, int KW, int OWB>() {
        dw_rows<KH, KW, OWB>(d, act, m_options.bf16_accumulator_step > 0, n, oh_begin, oh_end);
    });
}

// The L2 the ring must beat: 1 MiB, a core's L2 on Zen 4 and Ice Lake servers (2 MiB on Sapphire Rapids). A fixed
// figure, not the host's, so which steps a model compiles to does not depend on the machine.
constexpr int64_t kL2Bytes = int64_t{1} << 20;

bool expand_depthwise_suits(const ConvKernel& expand, const ConvKernel& dw) {
    const ConvParams &e = expand.params(), &p = dw.params();
    return expand.method() == ConvKernel::Method::Pointwise && dw.depthwise_by_rows() && e.out_c == p.in_c &&
           e.batch == p.batch && e.in_h == p.in_h && e.in_w == p.in_w;
}

bool expand_depthwise_pays(const ConvKernel& dw) {
    // An expanded image that fits in L2 comes back from L2 anyway: there the ring's smaller GEMM calls cost more
    // than they save (MobileNetV3-Large's 56 x 56 x 72 expansions ran slower fused).
    const ConvParams& p = dw.params();
    const int64_t expanded_bytes = p.in_h * p.in_w * padded_channels(p.in_c) * static_cast<int64_t>(sizeof(float));
    return expanded_bytes > kL2Bytes;
}

void run_expand_depthwise(const ConvKernel& expand, Act expand_act, const ConvKernel& dw, Act dw_act, const float* in,
                          float* out, const float* residual) {
    if (!expand_depthwise_suits(expand, dw)) throw std::invalid_argument("run_expand_depthwise: kernels do not chain");
    const ConvParams& p = dw.params();
    const int64_t H = p.in_h, W = p.in_w, OH = p.out_h(), cp = padded_channels(p.in_c);
    const int64_t cp_in = padded_channels(expand.params().in_c);
    const int64_t span = (p.kh - 1) * p.dil_h + 1;
    // Expanded rows are computed a chunk of `chunk` rows at a time (at least 64 pixels: one GEMM call worth making)
    // into a ring of `slots` chunks. An output row reads `span` consecutive rows, so with chunk >= span - 1 they lie
    // in at most two chunks and the ring never overwrites a row still to be read.
    const int64_t chunk = std::max({span - 1, p.stride_h, (int64_t{64} + W - 1) / W, int64_t{1}});
    const int64_t slots = 1 + (span - 1 + chunk - 1) / chunk;
    const int64_t ring_floats = slots * chunk * W * cp;
    // Bands of output rows, one per task: a thread expands its own band's rows (the rows two bands share are
    // expanded by both), so threads never wait for each other. Nothing in a task runs nested parallel work, so a
    // task keeps its thread's ring to itself.
    // Two tasks per thread to balance; one on one thread, where more bands would only expand shared rows twice.
    const int64_t threads = std::max(1, tbb::this_task_arena::max_concurrency());
    const int64_t tasks = threads == 1 ? 1 : 2 * threads;
    const int64_t bands_per_image = std::clamp<int64_t>((tasks + p.batch - 1) / p.batch, 1, std::max<int64_t>(OH / 4, 1));
    const int64_t band_rows = (OH + bands_per_image - 1) / bands_per_image;
    const int64_t bands = (OH + band_rows - 1) / band_rows;
    parallel_range(p.batch * bands, [&](int64_t t) {
        thread_local AlignedBuffer ring;
        thread_local std::vector<const float*> rows;
        if (ring.size() < static_cast<size_t>(ring_floats)) ring.resize(static_cast<size_t>(ring_floats));
        rows.assign(static_cast<size_t>(H), nullptr);
        const int64_t n = t / bands, oh0 = (t % bands) * band_rows, oh1 = std::min(OH, oh0 + band_rows);
        const float* image = in + n * H * W * cp_in;
        int64_t next = std::max<int64_t>(0, oh0 * p.stride_h - p.pad_h) / chunk;  // next chunk to expand
        for (int64_t oh = oh0; oh < oh1; ++oh) {
            const int64_t hi = std::min(H - 1, oh * p.stride_h - p.pad_h + span - 1);
            for (; next * chunk <= hi; ++next) {
                const int64_t r0 = next * chunk, r1 = std::min(H, r0 + chunk);
                float* dst = ring.data() + (next % slots) * chunk * W * cp;
                expand.run_pointwise_pixels(image + r0 * W * cp_in, (r1 - r0) * W, dst, expand_act);
                for (int64_t r = r0; r < r1; ++r) rows[static_cast<size_t>(r)] = dst + (r - r0) * W * cp;
            }
            dw.run_depthwise_rows(rows.data(), n, oh, oh + 1, out, dw_act, residual);
        }
    });
}

void ConvKernel::run_direct_tap_steps(const float* in, float* out, Act act, const float* residual, bool planar,
                                      const OutputHook& hook) const {
    const float* w = m_dw_weights.data();
    const float* b = m_bias.data();
    const bool dest = m_options.bf16_accumulator_step > 0;
    switch (padded_channels(m_p.out_c) / kVecWidth) {
        case 1: direct_tap_steps_all<1>(m_p, in, out, residual, w, b, act, dest, planar, hook); break;
        case 2: direct_tap_steps_all<2>(m_p, in, out, residual, w, b, act, dest, planar, hook); break;
        case 3: direct_tap_steps_all<3>(m_p, in, out, residual, w, b, act, dest, planar, hook); break;
        default: direct_tap_steps_all<4>(m_p, in, out, residual, w, b, act, dest, planar, hook); break;
    }
}

bool ConvKernel::reads_nchw() const { return m_tap_steps && m_p.in_c == 3; }

void ConvKernel::run_nchw(const float* in, float* out, Act act, const float* residual, const OutputHook& hook) const {
    if (!reads_nchw()) throw std::invalid_argument("run_nchw: not a tap-step direct conv of 3 input channels");
    run_direct_tap_steps(in, out, act, residual, true, hook);
}

void ConvKernel::run_direct(const float* in, float* out, Act act, const float* residual, const OutputHook& hook) const {
    if (m_tap_steps) {
        run_direct_tap_steps(in, out, act, residual, false, hook);
        return;
    }
    const float* w = m_dw_weights.data();
    const float* b = m_bias.data();
    switch (padded_channels(m_p.out_c) / kVecWidth) {
        case 1: direct_all<1>(m_p, in, out, residual, w, b, act, hook); break;
        case 2: direct_all<2>(m_p, in, out, residual, w, b, act, hook); break;
        case 3: direct_all<3>(m_p, in, out, residual, w, b, act, hook); break;
        default: direct_all<4>(m_p, in, out, residual, w, b, act, hook); break;
    }
}

void ConvKernel::run_im2col(const float* in, float* out, Act act, const float* residual, float* scratch,
                            const OutputHook& hook) const {
    const ConvParams& p = m_p;
    const int64_t cin_g = p.in_c / p.groups, cout_g = p.out_c / p.groups;
    const int64_t cp_in = padded_channels(p.in_c), cp_out = padded_channels(p.out_c);
    const int64_t OH = p.out_h(), OW = p.out_w(), ld = im2col_stride();
    // Small patches (the 3-channel stem) are copied as whole vectors that overlap the next tap's slot, which is
    // written afterwards; the row stride leaves room for the last tap's overhang. Needs the source reads to stay
    // inside the padded input row.
    const bool vector_copy = cin_g <= kVecWidth && (p.groups - 1) * cin_g + kVecWidth <= cp_in;
    for (int64_t g = 0; g < p.groups; ++g) {
        parallel_range(p.batch * OH, [&](int64_t r) {
            const int64_t n = r / OH, oh = r % OH;
            for (int64_t ow = 0; ow < OW; ++ow) {
                float* dst = scratch + (r * OW + ow) * ld;
                if (vector_copy) {
                    for (int64_t kh = 0; kh < p.kh; ++kh) {
                        const int64_t ih = oh * p.stride_h - p.pad_h + kh * p.dil_h;
                        const bool row_ok = ih >= 0 && ih < p.in_h;
                        const float* src_row = row_ok ? in + (n * p.in_h + ih) * p.in_w * cp_in + g * cin_g : in;
                        for (int64_t kw = 0; kw < p.kw; ++kw) {
                            const int64_t iw = ow * p.stride_w - p.pad_w + kw * p.dil_w;
                            store(dst, row_ok && iw >= 0 && iw < p.in_w ? load(src_row + iw * cp_in) : splat(0.0f));
                            dst += cin_g;
                        }
                    }
                    continue;
                }
                for (int64_t kh = 0; kh < p.kh; ++kh) {
                    const int64_t ih = oh * p.stride_h - p.pad_h + kh * p.dil_h;
                    for (int64_t kw = 0; kw < p.kw; ++kw) {
                        const int64_t iw = ow * p.stride_w - p.pad_w + kw * p.dil_w;
                        // Plain loops: patches are a few floats (3 for the stem), too short for memcpy calls.
                        if (ih < 0 || ih >= p.in_h || iw < 0 || iw >= p.in_w) {
                            for (int64_t ci = 0; ci < cin_g; ++ci) dst[ci] = 0.0f;
                        } else {
                            const float* src = in + ((n * p.in_h + ih) * p.in_w + iw) * cp_in + g * cin_g;
                            for (int64_t ci = 0; ci < cin_g; ++ci) dst[ci] = src[ci];
                        }
                        dst += cin_g;
                    }
                }
            }
        });
        // The last group also fills the row's padding lanes; the others stop at their own columns.
        const int64_t col0 = g * cout_g;
        const int64_t n_store = g + 1 == p.groups ? std::min(round_up(cout_g, kVecWidth), cp_out - col0) : cout_g;
        // One group: the GEMM's tasks run the hook; several write columns of one row in turn, so it runs at the end.
        gemm(p.batch * OH * OW, scratch, ld, m_groups_b[static_cast<size_t>(g)], out + col0, cp_out, n_store,
             GemmEpilogue{m_bias.data() + col0, act, residual ? residual + col0 : nullptr, cp_out,
                          p.groups == 1 ? hook : OutputHook{}},
             GemmNumerics{m_options.bf16_accumulator_step});
    }
    if (p.groups > 1) hook(out, p.batch * OH * OW, cp_out, 0, cp_out);
}

}  // namespace zoo::kernels
