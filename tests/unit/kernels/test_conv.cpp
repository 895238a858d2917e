// ConvKernel (pointwise, depthwise, im2col/grouped) against a direct NCHW convolution in double precision.
#include <gtest/gtest.h>
#include <tbb/task_arena.h>
#include <cstring>

#include "kernels/conv.hpp"
#include "reference_ops.hpp"

using namespace zoo::kernels;
using namespace zoo_test;

namespace {

struct ConvCase {
    RefConv p;
    Act act = Act::None;
    bool residual = false;
    bool bias = true;
    ConvKernel::Method expected;
};

std::vector<float> run_case(const ConvCase& cc, uint32_t seed, std::vector<double>* ref_out) {
    const RefConv& p = cc.p;
    const int64_t cp_in = padded_channels(p.c), cp_out = padded_channels(p.o);
    std::vector<float> x = random_vector(static_cast<size_t>(p.n * p.c * p.h * p.w), seed);
    std::vector<float> wt = random_vector(static_cast<size_t>(p.o * (p.c / p.g) * p.kh * p.kw), seed + 1);
    std::vector<float> bias = random_vector(static_cast<size_t>(p.o), seed + 2);
    std::vector<float> res = random_vector(static_cast<size_t>(p.n * p.o * p.oh() * p.ow()), seed + 3);

    ConvParams cpar;
    cpar.batch = p.n;
    cpar.in_h = p.h;
    cpar.in_w = p.w;
    cpar.in_c = p.c;
    cpar.out_c = p.o;
    cpar.kh = p.kh;
    cpar.kw = p.kw;
    cpar.stride_h = p.sh;
    cpar.stride_w = p.sw;
    cpar.pad_h = p.ph;
    cpar.pad_w = p.pw;
    cpar.dil_h = p.dh;
    cpar.dil_w = p.dw;
    cpar.groups = p.g;
    ConvKernel conv(cpar, wt.data(), cc.bias ? bias.data() : nullptr);
    EXPECT_EQ(conv.method(), cc.expected);
    EXPECT_EQ(cpar.out_h(), p.oh());
    EXPECT_EQ(cpar.out_w(), p.ow());

    std::vector<float> in = to_nhwc(x, p.n, p.c, p.h, p.w, cp_in);
    std::vector<float> rn = to_nhwc(res, p.n, p.o, p.oh(), p.ow(), cp_out);
    std::vector<float> out(static_cast<size_t>(p.n * p.oh() * p.ow() * cp_out), 777.0f);
    std::vector<float> scratch(static_cast<size_t>(std::max<int64_t>(conv.scratch_floats(), 1)));
    conv.run(in.data(), out.data(), cc.act, cc.residual ? rn.data() : nullptr, scratch.data());
    for (float v : out) EXPECT_TRUE(std::isfinite(v));

    if (ref_out) {
        std::vector<double> ref = ref_conv(p, to_double(x), wt, cc.bias ? &bias : nullptr);
        for (size_t i = 0; i < ref.size(); ++i) {
            ref[i] = ref_act(act_name(cc.act), ref[i]);
            if (cc.residual) ref[i] += res[i];
        }
        *ref_out = std::move(ref);
    }
    return from_nhwc(out.data(), p.n, p.o, p.oh(), p.ow(), cp_out);
}

void check(const ConvCase& cc, uint32_t seed) {
    std::vector<double> ref;
    std::vector<float> got = run_case(cc, seed, &ref);
    const RefConv& p = cc.p;
    EXPECT_TRUE(close_to(got, ref)) << "n=" << p.n << " c=" << p.c << " " << p.h << "x" << p.w << " o=" << p.o << " k=" << p.kh
                                    << "x" << p.kw << " s=" << p.sh << "," << p.sw << " p=" << p.ph << "," << p.pw
                                    << " d=" << p.dh << "," << p.dw << " g=" << p.g;
}

using M = ConvKernel::Method;

}  // namespace

TEST(CpuConv, Pointwise) {
    check({{3, 19, 5, 7, 37, 1, 1, 1, 1, 0, 0, 1, 1, 1}, Act::None, false, true, M::Pointwise}, 1);
    check({{1, 72, 14, 14, 40, 1, 1, 1, 1, 0, 0, 1, 1, 1}, Act::Hardswish, true, true, M::Pointwise}, 2);
    check({{2, 300, 3, 5, 17, 1, 1, 1, 1, 0, 0, 1, 1, 1}, Act::Relu6, false, false, M::Pointwise}, 3);
}

TEST(CpuConv, Depthwise3x3And5x5) {
    check({{1, 72, 9, 11, 72, 3, 3, 1, 1, 1, 1, 1, 1, 72}, Act::Relu, false, true, M::Depthwise}, 10);
    check({{3, 40, 13, 10, 40, 3, 3, 2, 2, 1, 1, 1, 1, 40}, Act::Hardswish, false, true, M::Depthwise}, 11);
    check({{2, 33, 12, 9, 33, 3, 3, 1, 1, 2, 2, 2, 2, 33}, Act::Relu6, true, true, M::Depthwise}, 12);
    check({{1, 120, 15, 14, 120, 5, 5, 1, 1, 2, 2, 1, 1, 120}, Act::Hardswish, true, true, M::Depthwise}, 13);
    check({{3, 17, 11, 16, 17, 5, 5, 2, 2, 2, 2, 1, 1, 17}, Act::None, false, false, M::Depthwise}, 14);
    check({{1, 24, 20, 20, 24, 3, 3, 2, 2, 0, 0, 1, 1, 24}, Act::None, false, true, M::Depthwise}, 15);
    // Wide rows so the unrolled interior path runs many blocks.
    check({{1, 16, 4, 37, 16, 3, 3, 1, 1, 1, 1, 1, 1, 16}, Act::Relu, false, true, M::Depthwise}, 16);
    // Planes past the kernel's zero-bordered plane size (large early layers) take the row path with border blocks.
    check({{2, 32, 58, 61, 32, 3, 3, 1, 1, 1, 1, 1, 1, 32}, Act::Relu6, true, true, M::Depthwise}, 17);
    check({{1, 24, 57, 50, 24, 5, 5, 2, 2, 2, 2, 1, 1, 24}, Act::Hardswish, false, true, M::Depthwise}, 18);
}

TEST(CpuConv, DepthwiseGenericKernelSizes) {
    check({{2, 21, 10, 12, 21, 3, 5, 1, 2, 1, 2, 1, 1, 21}, Act::None, false, true, M::Depthwise}, 20);
    check({{1, 16, 9, 9, 16, 7, 7, 1, 1, 3, 3, 1, 1, 16}, Act::Hardsigmoid, false, true, M::Depthwise}, 21);
    check({{1, 5, 6, 7, 5, 1, 1, 2, 1, 0, 0, 1, 1, 5}, Act::None, false, true, M::Depthwise}, 22);
}

TEST(CpuConv, StemDirectAndGeneralIm2col) {
    // MobileNet stem: 3 -> 16, 3x3, stride 2, pad 1, batch 3, odd spatial size.
    check({{3, 3, 17, 19, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1}, Act::Hardswish, false, true, M::Direct}, 30);
    check({{1, 3, 32, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1}, Act::Relu6, false, true, M::Direct}, 31);
    // Direct path: rows shorter than a tile, non-square kernel, dilation, residual, 3 and 4 output vectors.
    check({{2, 4, 9, 5, 40, 3, 2, 1, 2, 1, 1, 2, 1, 1}, Act::None, true, false, M::Direct}, 35);
    check({{1, 1, 13, 21, 64, 5, 5, 2, 1, 2, 2, 1, 2, 1}, Act::Hardsigmoid, false, true, M::Direct}, 36);
    // Wider outputs than the direct kernel keeps in registers go through im2col.
    check({{1, 3, 12, 11, 80, 3, 3, 2, 2, 1, 1, 1, 1, 1}, Act::Relu, false, true, M::Im2col}, 37);
    // Non-square kernel, asymmetric stride, dilation 2, no bias.
    check({{2, 7, 11, 9, 13, 3, 1, 2, 1, 1, 0, 2, 1, 1}, Act::None, false, false, M::Im2col}, 32);
    check({{1, 6, 10, 10, 9, 2, 3, 1, 2, 0, 1, 2, 2, 1}, Act::Relu, true, true, M::Im2col}, 33);
    // 1x1 with stride 2 takes the gather path.
    check({{2, 24, 9, 8, 40, 1, 1, 2, 2, 0, 0, 1, 1, 1}, Act::None, false, true, M::Im2col}, 34);
}

TEST(CpuConv, GroupedConvolution) {
    check({{2, 12, 7, 9, 18, 3, 3, 1, 1, 1, 1, 1, 1, 3}, Act::Relu, false, true, M::Im2col}, 40);
    check({{1, 34, 6, 5, 18, 3, 3, 2, 2, 1, 1, 1, 1, 2}, Act::None, true, true, M::Im2col}, 41);
    check({{3, 64, 5, 5, 64, 1, 1, 1, 1, 0, 0, 1, 1, 4}, Act::Hardswish, true, true, M::Im2col}, 42);
    // groups == channels with a channel multiplier of 2 is not depthwise in our sense.
    check({{1, 8, 6, 6, 16, 3, 3, 1, 1, 1, 1, 1, 1, 8}, Act::None, false, true, M::Im2col}, 43);
}

TEST(CpuConv, SameResultWithOneAndTwoThreads) {
    const ConvCase cases[] = {
        {{1, 72, 28, 28, 72, 5, 5, 1, 1, 2, 2, 1, 1, 72}, Act::Hardswish, false, true, M::Depthwise},
        {{1, 40, 28, 28, 120, 1, 1, 1, 1, 0, 0, 1, 1, 1}, Act::Relu, false, true, M::Pointwise},
        {{1, 3, 64, 64, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1}, Act::Hardswish, false, true, M::Direct},
        {{2, 12, 15, 13, 18, 3, 3, 1, 1, 1, 1, 1, 1, 3}, Act::Relu, false, true, M::Im2col},
    };
    tbb::task_arena one(1), two(2);
    for (const auto& cc : cases) {
        std::vector<float> r1, r2;
        one.execute([&] { r1 = run_case(cc, 5, nullptr); });
        two.execute([&] { r2 = run_case(cc, 5, nullptr); });
        EXPECT_EQ(r1, r2);
    }
}

// run_expand_depthwise against expand.run() then dw.run(): the same bits, for 3x3, 5x5 and generic kernels, strides
// 1 to 3, dilation, padding past the kernel, images shorter than the kernel, one output row, residual, batch 2, the
// bf16-accumulator options, and with one thread (one band) or three (bands that share rows at their edges).
TEST(CpuConv, ExpandIntoDepthwiseMatchesTheTwoConvs) {
    struct FusedCase {
        int64_t n, h, w, c_in, c_mid, k, stride, pad, dil;
        Act expand_act, dw_act;
        bool residual;
        int64_t bf16_step;
    };
    const FusedCase cases[] = {
        {1, 61, 58, 16, 64, 3, 2, 1, 1, Act::Relu, Act::Relu, false, 0},         // MobileNetV3-Large features.2 shape
        {2, 57, 56, 24, 72, 3, 1, 1, 1, Act::Relu6, Act::Relu6, true, 0},        // stride 1, residual
        {1, 60, 57, 40, 48, 5, 2, 2, 1, Act::Hardswish, Act::Hardswish, false, 0},
        {1, 58, 64, 8, 40, 3, 1, 2, 2, Act::None, Act::Relu, false, 0},          // dilation 2
        {1, 59, 51, 16, 32, 5, 1, 2, 1, Act::Relu, Act::None, true, 16},         // bf16 accumulator steps
        {1, 40, 44, 16, 48, 7, 1, 3, 1, Act::Relu, Act::Relu6, false, 0},        // generic kernel size (7x7)
        {1, 2, 61, 16, 32, 4, 2, 4, 1, Act::None, Act::None, false, 0},          // pad >= kernel, H < kernel
        {2, 3, 40, 16, 32, 4, 3, 1, 1, Act::Relu, Act::Hardswish, true, 0},     // one output row
    };
    uint32_t seed = 300;
    for (const FusedCase& f : cases) {
        ConvParams e;
        e.batch = f.n, e.in_h = f.h, e.in_w = f.w, e.in_c = f.c_in, e.out_c = f.c_mid;
        ConvParams d = e;
        d.in_c = d.out_c = d.groups = f.c_mid;
        d.kh = d.kw = f.k, d.stride_h = d.stride_w = f.stride, d.pad_h = d.pad_w = f.pad, d.dil_h = d.dil_w = f.dil;
        const ConvOptions options{false, f.bf16_step};
        const std::vector<float> we = random_vector(static_cast<size_t>(f.c_mid * f.c_in), seed++);
        const std::vector<float> be = random_vector(static_cast<size_t>(f.c_mid), seed++);
        const std::vector<float> wd = random_vector(static_cast<size_t>(f.c_mid * f.k * f.k), seed++);
        const std::vector<float> bd = random_vector(static_cast<size_t>(f.c_mid), seed++);
        const ConvKernel expand(e, we.data(), be.data(), options), dw(d, wd.data(), bd.data(), options);
        ASSERT_TRUE(expand_depthwise_suits(expand, dw)) << f.h << "x" << f.w << " k" << f.k;
        const int64_t cp_in = padded_channels(f.c_in), cp = padded_channels(f.c_mid);
        const std::vector<float> in = to_nhwc(random_vector(static_cast<size_t>(f.n * f.c_in * f.h * f.w), seed++), f.n,
                                              f.c_in, f.h, f.w, cp_in);
        const size_t out_floats = static_cast<size_t>(f.n * d.out_h() * d.out_w() * cp);
        const std::vector<float> residual = random_vector(out_floats, seed++);
        const float* res = f.residual ? residual.data() : nullptr;

        std::vector<float> mid(static_cast<size_t>(f.n * f.h * f.w * cp)), want(out_floats), scratch(1);
        expand.run(in.data(), mid.data(), f.expand_act, nullptr, scratch.data());
        dw.run(mid.data(), want.data(), f.dw_act, res, scratch.data());
        for (int threads : {1, 3}) {
            std::vector<float> got(out_floats, 777.0f);
            tbb::task_arena arena(threads);
            arena.execute([&] { run_expand_depthwise(expand, f.expand_act, dw, f.dw_act, in.data(), got.data(), res); });
            EXPECT_EQ(0, std::memcmp(got.data(), want.data(), out_floats * sizeof(float)))
                << f.h << "x" << f.w << " k" << f.k << " s" << f.stride << " threads " << threads;
        }
    }
    // Small planes run depthwise through a zero-bordered plane, not by rows: they do not chain.
    ConvParams e;
    e.in_h = e.in_w = 14, e.in_c = 16, e.out_c = 96;
    ConvParams d = e;
    d.in_c = d.out_c = d.groups = 96, d.kh = d.kw = 5, d.pad_h = d.pad_w = 2;
    const std::vector<float> we(16 * 96, 0.5f), wd(96 * 25, 0.5f);
    EXPECT_FALSE(expand_depthwise_suits(ConvKernel(e, we.data(), nullptr), ConvKernel(d, wd.data(), nullptr)));
}
