// Emulation options of the shared kernels (GemmNumerics::bf16_accumulator_step, ConvOptions): bit-exact against naive loops that
// round a bf16 Dst every 16 values of K (GEMM, im2col conv) or after every tap (depthwise), and the default path
// equal, bit for bit, to a plain fused-multiply-add loop in k order (unchanged behaviour).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/conv.hpp"
#include "kernels/gemm.hpp"
#include "reference_ops.hpp"

using namespace zoo::kernels;

namespace {

// The kernels are built with FMA contraction (plugins/CMakeLists.txt); this file may not be, so fuse explicitly.
inline float mac(float a, float b, float acc) {
#ifdef __FMA__
    return std::fma(a, b, acc);
#else
    return acc + a * b;
#endif
}

// Independent scalar bf16 rounding (nearest even) through double arithmetic, not the kernels' bit trick.
float rb(float x) {
    if (!std::isfinite(x) || x == 0.0f) return x;
    int e;
    std::frexp(static_cast<double>(x), &e);  // x = m * 2^e, 0.5 <= |m| < 1: 8 significant bits -> unit 2^(e-8)
    const double unit = std::ldexp(1.0, std::max(e - 8, -133));
    return static_cast<float>(std::nearbyint(static_cast<double>(x) / unit) * unit);
}

std::vector<float> bf16_vector(size_t n, uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) x = rb(d(rng));
    return v;
}

uint32_t bits(float x) { return std::bit_cast<uint32_t>(x); }

struct Case {
    int64_t m, k, n;
    Act act;
    bool bias, residual, exact_store;
};

// Runs the GEMM with and without a bf16 accumulator (step 16) and checks both against their naive loops, bit for bit.
void check_gemm(const Case& gc, uint32_t seed) {
    const int64_t m = gc.m, k = gc.k, n = gc.n, lda = k + 5, ldc = round_up(n, 16) + 16;
    std::vector<float> a = bf16_vector(static_cast<size_t>(m * lda), seed);
    std::vector<float> w = bf16_vector(static_cast<size_t>(n * k), seed + 1, 0.3f);
    std::vector<float> bias = bf16_vector(static_cast<size_t>(round_up(n, 16)), seed + 2);
    for (int64_t j = n; j < round_up(n, 16); ++j) bias[static_cast<size_t>(j)] = 0.0f;
    std::vector<float> res = bf16_vector(static_cast<size_t>(m * ldc), seed + 3);
    PackedB b = pack_b(w.data(), k, n, 1, k);
    const int64_t n_store = gc.exact_store ? n : round_up(n, 16);
    const GemmEpilogue ep{gc.bias ? bias.data() : nullptr, gc.act, gc.residual ? res.data() : nullptr, ldc};
    std::vector<float> c_dest(static_cast<size_t>(m * ldc), 0.0f), c_plain = c_dest, c_default = c_dest;
    gemm(m, a.data(), lda, b, c_dest.data(), ldc, n_store, ep, GemmNumerics{16});
    gemm(m, a.data(), lda, b, c_plain.data(), ldc, n_store, ep, GemmNumerics{0});
    gemm(m, a.data(), lda, b, c_default.data(), ldc, n_store, ep);

    int64_t differ = 0;
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            float acc_d = 0.0f, acc_p = 0.0f;
            for (int64_t kk = 0; kk < k; ++kk) {
                const float av = a[static_cast<size_t>(i * lda + kk)], wv = w[static_cast<size_t>(j * k + kk)];
                acc_p = mac(av, wv, acc_p);
                acc_d = mac(av, wv, acc_d);
                if (kk % 16 == 15 || kk == k - 1) acc_d = rb(acc_d);
            }
            const float bj = gc.bias ? bias[static_cast<size_t>(j)] : 0.0f;
            const float r = res[static_cast<size_t>(i * ldc + j)];
            float vd = rb(rb(apply_act(gc.act, rb(acc_d + bj))));
            if (gc.residual) vd = rb(vd + r);
            float vp = apply_act(gc.act, acc_p + bj);
            if (gc.residual) vp += r;
            const size_t at = static_cast<size_t>(i * ldc + j);
            ASSERT_EQ(bits(c_dest[at]), bits(vd)) << "dest m=" << m << " k=" << k << " n=" << n << " at " << i << ","
                                                  << j << ": " << c_dest[at] << " vs " << vd;
            ASSERT_EQ(bits(c_plain[at]), bits(vp)) << "plain at " << i << "," << j;
            ASSERT_EQ(bits(c_default[at]), bits(vp)) << "default at " << i << "," << j;
            ASSERT_EQ(bits(rb(c_dest[at])), bits(c_dest[at]));  // lands in bf16
            differ += c_dest[at] != c_plain[at];
        }
    if (k >= 32) {
        EXPECT_GT(differ, 0) << "dest rounding changed nothing";
    }
}

}  // namespace

TEST(DestRounding, GemmRoundsEvery16K) {
    const Case cases[] = {
        {1, 1, 1, Act::None, false, false, true},      {9, 16, 16, Act::None, true, false, false},
        {13, 37, 24, Act::Relu, true, false, true},    {37, 144, 24, Act::Relu6, true, true, false},
        {20, 600, 40, Act::Hardswish, true, true, false},  // K blocked (256) + tail step of 600 % 16 = 8
        {70, 272, 48, Act::Hardsigmoid, true, false, true},  // 48-wide panel, partial edge (n_store = 48)
        {5, 960, 160, Act::None, true, false, false},   // few rows: column tasks
        {33, 300, 7, Act::Relu, false, true, true},     // partial panel runs all K at once
    };
    uint32_t seed = 100;
    for (const Case& c : cases) check_gemm(c, seed += 10);
}

namespace {

ConvParams make_params(int64_t n, int64_t h, int64_t w, int64_t c, int64_t o, int64_t k, int64_t s, int64_t pad,
                       int64_t groups) {
    ConvParams p;
    p.batch = n;
    p.in_h = h;
    p.in_w = w;
    p.in_c = c;
    p.out_c = o;
    p.kh = p.kw = k;
    p.stride_h = p.stride_w = s;
    p.pad_h = p.pad_w = pad;
    p.groups = groups;
    return p;
}

// Naive NHWC conv in fp32 with the card's order: K = (kh, kw, ci) for groups == 1 (dest: round every 16 K, taps in
// the padding are zero columns), per-tap rounding for depthwise. Bias / act / residual as the kernels apply them.
std::vector<float> naive_conv(const ConvParams& p, const std::vector<float>& in, const std::vector<float>& wt,
                              const std::vector<float>& bias, const std::vector<float>* res, Act act, bool dest) {
    const int64_t cpi = padded_channels(p.in_c), cpo = padded_channels(p.out_c), OH = p.out_h(), OW = p.out_w();
    const bool dw = p.groups == p.in_c && p.groups > 1;
    const int64_t cig = p.in_c / p.groups, cog = p.out_c / p.groups;
    std::vector<float> out(static_cast<size_t>(p.batch * OH * OW * cpo), 0.0f);
    for (int64_t b = 0; b < p.batch; ++b)
        for (int64_t oy = 0; oy < OH; ++oy)
            for (int64_t ox = 0; ox < OW; ++ox)
                for (int64_t oc = 0; oc < p.out_c; ++oc) {
                    const int64_t g = oc / cog;
                    float acc = dest ? 0.0f : (dw ? bias[static_cast<size_t>(oc)] : 0.0f);
                    int64_t kidx = 0;
                    const int64_t ktotal = p.kh * p.kw * cig;
                    for (int64_t ky = 0; ky < p.kh; ++ky)
                        for (int64_t kx = 0; kx < p.kw; ++kx) {
                            const int64_t iy = oy * p.stride_h - p.pad_h + ky, ix = ox * p.stride_w - p.pad_w + kx;
                            const bool inside = iy >= 0 && iy < p.in_h && ix >= 0 && ix < p.in_w;
                            for (int64_t ci = 0; ci < cig; ++ci, ++kidx) {
                                const float x = inside ? in[static_cast<size_t>(((b * p.in_h + iy) * p.in_w + ix) * cpi + g * cig + ci)] : 0.0f;
                                const float wv = wt[static_cast<size_t>(((oc * cig + ci) * p.kh + ky) * p.kw + kx)];
                                if (!(dw && !inside)) acc = mac(x, wv, acc);
                                if (dest && !dw && (kidx % 16 == 15 || kidx == ktotal - 1)) acc = rb(acc);
                            }
                            if (dest && dw) acc = rb(acc);
                        }
                    const size_t at = static_cast<size_t>(((b * OH + oy) * OW + ox) * cpo + oc);
                    const float r = res ? (*res)[at] : 0.0f;
                    float v;
                    if (dest) {
                        v = rb(apply_act(act, rb(acc + bias[static_cast<size_t>(oc)])));
                        if (res) v = rb(v + r);
                    } else {
                        v = apply_act(act, dw ? acc : acc + bias[static_cast<size_t>(oc)]);
                        if (res) v += r;
                    }
                    out[at] = v;
                }
    return out;
}

// Standard deviations of the random inputs (first_image > 0: the first image's instead), weights and bias.
struct Scales {
    float in = 1.0f;
    float first_image = 0.0f;
    float weight = 0.4f;
    float bias = 1.0f;
};

void check_conv(const ConvParams& p, const ConvOptions& opt, ConvKernel::Method expected, Act act, bool residual,
                uint32_t seed, const Scales& scales = {}) {
    const int64_t cpi = padded_channels(p.in_c), cpo = padded_channels(p.out_c);
    std::vector<float> in(static_cast<size_t>(p.batch * p.in_h * p.in_w * cpi), 0.0f);
    {
        std::vector<float> v = bf16_vector(in.size(), seed, scales.in);
        if (scales.first_image > 0.0f) {
            const std::vector<float> first = bf16_vector(static_cast<size_t>(p.in_h * p.in_w * cpi), seed + 9, scales.first_image);
            std::copy(first.begin(), first.end(), v.begin());
        }
        for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int64_t>(i) % cpi < p.in_c ? v[i] : 0.0f;
    }
    std::vector<float> wt = bf16_vector(static_cast<size_t>(p.out_c * (p.in_c / p.groups) * p.kh * p.kw), seed + 1, scales.weight);
    std::vector<float> bias = bf16_vector(static_cast<size_t>(p.out_c), seed + 2, scales.bias);
    const size_t out_n = static_cast<size_t>(p.batch * p.out_h() * p.out_w() * cpo);
    std::vector<float> res = bf16_vector(out_n, seed + 3);
    ConvKernel conv(p, wt.data(), bias.data(), opt);
    ASSERT_EQ(conv.method(), expected);
    std::vector<float> out(out_n, 777.0f), scratch(static_cast<size_t>(std::max<int64_t>(conv.scratch_floats(), 1)));
    conv.run(in.data(), out.data(), act, residual ? res.data() : nullptr, scratch.data());
    std::vector<float> ref = naive_conv(p, in, wt, bias, residual ? &res : nullptr, act, (opt.bf16_accumulator_step > 0));
    for (size_t i = 0; i < out_n; ++i) {
        if (static_cast<int64_t>(i) % cpo >= p.out_c) continue;
        ASSERT_EQ(bits(out[i]), bits(ref[i])) << "at " << i << ": " << out[i] << " vs " << ref[i] << " (dest "
                                              << (opt.bf16_accumulator_step > 0) << ")";
    }
}

using M = ConvKernel::Method;

}  // namespace

TEST(DestRounding, ForcedIm2colConvMatchesNaive) {
    const ConvParams stem = make_params(2, 15, 13, 3, 16, 3, 2, 1, 1);  // Direct by default
    {
        std::vector<float> w(16 * 3 * 9, 0.1f);
        EXPECT_EQ(ConvKernel(stem, w.data(), nullptr).method(), M::Direct);  // default unchanged
    }
    check_conv(stem, ConvOptions{true, 0}, M::Im2col, Act::Relu6, false, 1);
    check_conv(stem, ConvOptions{true, 16}, M::Im2col, Act::Relu6, false, 2);
    check_conv(stem, ConvOptions{true, 16}, M::Im2col, Act::Hardswish, true, 3);
    const ConvParams wide = make_params(1, 9, 11, 24, 40, 3, 1, 1, 1);  // Im2col anyway (K = 216)
    check_conv(wide, ConvOptions{false, 16}, M::Im2col, Act::None, true, 4);
    check_conv(wide, ConvOptions{true, 0}, M::Im2col, Act::Hardswish, false, 5);
    const ConvParams pw = make_params(1, 7, 9, 40, 24, 1, 1, 0, 1);  // pointwise stays a plain GEMM
    check_conv(pw, ConvOptions{true, 16}, M::Pointwise, Act::Relu, true, 6);
    check_conv(pw, ConvOptions{true, 0}, M::Pointwise, Act::Relu, true, 7);
}

TEST(DestRounding, DepthwiseRoundsAfterEveryTap) {
    struct DwCase {
        ConvParams p;
        Act act;
        bool residual;
    };
    const DwCase cases[] = {
        {make_params(2, 13, 17, 40, 40, 3, 1, 1, 40), Act::Relu6, true},     // 3x3 path, borders, OWB 8
        {make_params(1, 14, 15, 72, 72, 5, 2, 2, 72), Act::Hardswish, false},  // 5x5 stride 2
        {make_params(1, 9, 10, 24, 24, 7, 1, 3, 24), Act::None, true},         // generic kernel size
        {make_params(1, 60, 50, 16, 16, 3, 1, 1, 16), Act::Relu, true},        // large plane: the row path
        {make_params(1, 52, 49, 32, 32, 5, 2, 2, 32), Act::Hardswish, false},  // large plane, 5x5 stride 2
    };
    uint32_t seed = 50;
    for (const DwCase& c : cases) {
        check_conv(c.p, ConvOptions{false, 16}, M::Depthwise, c.act, c.residual, seed += 7);
        check_conv(c.p, ConvOptions{false, 0}, M::Depthwise, c.act, c.residual, seed += 7);
        check_conv(c.p, ConvOptions{true, 16}, M::Depthwise, c.act, c.residual, seed += 7);  // stays depthwise
    }
}

// round_bf16_rne_normal (Veltkamp's split) against the bit trick: equal for +0 and every normal |x| < 2^111; -0 gives
// +0; a denormal stays at most 2^-126 in magnitude (exponent field <= 1) and so does the bit trick's result; from 2^111
// up it is the bit trick's result or NaN/Inf. Every high half with the low halves around the rounding point (ties
// both ways, just above and below) and a few others.
TEST(DestRounding, VeltkampRoundingEqualsTheBitTrickOnNormals) {
    const uint32_t lows[] = {0x0000, 0x0001, 0x1234, 0x7FFF, 0x8000, 0x8001, 0xABCD, 0xFFFF};
    int64_t checked = 0;
    for (uint32_t hi = 0; hi < 0x10000u; ++hi) {
        alignas(64) float x[kVecWidth];
        for (int i = 0; i < kVecWidth; ++i) x[i] = std::bit_cast<float>((hi << 16) | lows[i % 8] | (i >= 8 ? 0x0100u : 0u));
        alignas(64) float fast[kVecWidth], exact[kVecWidth];
        store(fast, round_bf16_rne_normal(load(x)));
        store(exact, round_bf16_rne(load(x)));
        for (int i = 0; i < kVecWidth; ++i) {
            const uint32_t b = bits(x[i]), e = (b >> 23) & 0xFFu, f = bits(fast[i]), r = bits(exact[i]);
            if (e >= 1 && e <= 237) {
                ASSERT_EQ(f, r) << std::hex << b;
                ++checked;
            } else if (e == 0 && (b & 0x7FFFFFu) == 0) {
                ASSERT_EQ(f, 0u) << std::hex << b;  // +0 for both zeros
            } else if (e == 0) {
                ASSERT_LE((f >> 23) & 0xFFu, 1u) << std::hex << b;
                ASSERT_LE((r >> 23) & 0xFFu, 1u) << std::hex << b;
            } else {
                ASSERT_TRUE(f == r || ((f >> 23) & 0xFFu) == 0xFFu) << std::hex << b;
            }
        }
    }
    EXPECT_GT(checked, 900000);
}

// The depthwise kernels round with round_bf16_rne_normal only where the input's and the weights' ranges prove every
// running sum normal. Each case below breaks one condition of that proof, and must still match the naive loop bit for
// bit (the exact rounding), on the plane path and on the row path; a batch with one such image checks that the plane
// path decides per image and channel block, the row path per call. The bias is of the sums' scale, or it would hide
// them. Each case fails when sums_stay_normal is made to return true.
TEST(DestRounding, DepthwiseOutsideTheNormalRangeRoundsExactly) {
    const ConvParams plane = make_params(2, 13, 17, 40, 40, 5, 1, 2, 40);
    const ConvParams rows = make_params(2, 60, 50, 16, 16, 3, 1, 1, 16);
    struct Outside {
        const char* what;
        Scales scales;
    };
    const Outside cases[] = {
        {"denormal inputs", {0x1p-125f, 0.0f, 0.4f, 0x1p-125f}},
        // Every input and weight normal, their products denormal: the multiple-of-2^(ex + ew - 46) condition.
        {"normal operands, denormal products", {0x1p-100f, 0.0f, 0x1p-30f, 0x1p-130f}},
        {"sums past 2^111", {0x1p112f, 0.0f, 0.4f, 0x1p112f}},
        {"one image of denormal inputs", {1.0f, 0x1p-125f, 0.4f, 0x1p-125f}},
        {"one image past 2^111", {1.0f, 0x1p112f, 0.4f, 0x1p112f}},
    };
    uint32_t seed = 900;
    for (const ConvParams& p : {plane, rows}) {
        SCOPED_TRACE(p.in_h == 13 ? "plane path" : "row path");
        for (const Outside& c : cases) {
            SCOPED_TRACE(c.what);
            check_conv(p, ConvOptions{false, 16}, M::Depthwise, Act::None, false, seed += 7, c.scales);
        }
    }
}
