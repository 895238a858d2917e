// NchwStemConv (the stem reading the caller's NCHW input) against a double-precision reference, and against
// ConvKernel's direct method on the padded NHWC copy of the same input: both sum the taps in (kh, kw, ci) order from
// the bias, so the results must be the same floats.
#include <gtest/gtest.h>

#include "kernels/conv.hpp"
#include "reference_ops.hpp"
#include "stem_conv.hpp"

using namespace zoo::kernels;
using namespace zoo_test;

namespace {

ConvParams params_of(const RefConv& p) {
    ConvParams c;
    c.batch = p.n, c.in_h = p.h, c.in_w = p.w, c.in_c = p.c, c.out_c = p.o, c.kh = p.kh, c.kw = p.kw;
    c.stride_h = p.sh, c.stride_w = p.sw, c.pad_h = p.ph, c.pad_w = p.pw, c.dil_h = p.dh, c.dil_w = p.dw, c.groups = p.g;
    return c;
}

void check(const RefConv& p, Act act, bool residual, uint32_t seed) {
    SCOPED_TRACE("c=" + std::to_string(p.c) + " " + std::to_string(p.h) + "x" + std::to_string(p.w) + " o=" + std::to_string(p.o) +
                 " k=" + std::to_string(p.kh) + " s=" + std::to_string(p.sh) + " d=" + std::to_string(p.dh) + " act=" + act_name(act));
    const ConvParams cp = params_of(p);
    ASSERT_TRUE(zoo::cpu::NchwStemConv::suits(cp));
    const int64_t cpo = padded_channels(p.o);
    std::vector<float> x = random_vector(static_cast<size_t>(p.n * p.c * p.h * p.w), seed);
    std::vector<float> wt = random_vector(static_cast<size_t>(p.o * p.c * p.kh * p.kw), seed + 1);
    std::vector<float> bias = random_vector(static_cast<size_t>(p.o), seed + 2);
    std::vector<float> res = random_vector(static_cast<size_t>(p.n * p.o * p.oh() * p.ow()), seed + 3);
    std::vector<float> rn = to_nhwc(res, p.n, p.o, p.oh(), p.ow(), cpo);
    const float* r = residual ? rn.data() : nullptr;

    zoo::cpu::NchwStemConv stem(cp, wt.data(), bias.data());
    std::vector<float> out(static_cast<size_t>(p.n * p.oh() * p.ow() * cpo), 777.0f);
    stem.run(x.data(), out.data(), act, r);

    ConvKernel direct(cp, wt.data(), bias.data());
    ASSERT_EQ(direct.method(), ConvKernel::Method::Direct);
    std::vector<float> in = to_nhwc(x, p.n, p.c, p.h, p.w, padded_channels(p.c));
    std::vector<float> expected(out.size(), -777.0f);
    std::vector<float> scratch(static_cast<size_t>(std::max<int64_t>(direct.scratch_floats(), 1)));
    direct.run(in.data(), expected.data(), act, r, scratch.data());
    EXPECT_EQ(out, expected);  // every lane, padding included

    std::vector<double> ref = ref_conv(p, to_double(x), wt, &bias);
    for (size_t i = 0; i < ref.size(); ++i) ref[i] = ref_act(act_name(act), ref[i]) + (residual ? res[i] : 0.0);
    EXPECT_TRUE(close_to(from_nhwc(out.data(), p.n, p.o, p.oh(), p.ow(), cpo), ref));
}

}  // namespace

TEST(CpuStemConv, RgbStemStride2MatchesDirectAndReference) {
    check({2, 3, 23, 19, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1}, Act::Hardswish, false, 1);  // MobileNetV3's stem, odd sizes
    check({1, 3, 24, 24, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1}, Act::Relu6, false, 2);      // MobileNetV2's stem
}

TEST(CpuStemConv, OtherShapesTakeTheGenericPath) {
    check({1, 1, 9, 13, 48, 5, 5, 1, 1, 2, 2, 1, 1, 1}, Act::Relu, true, 3);   // 1 channel, 5x5, stride 1, residual
    check({2, 4, 12, 10, 64, 3, 3, 1, 2, 2, 0, 2, 1, 1}, Act::None, false, 4); // 4 channels, dilation, uneven stride/pad
    check({1, 3, 9, 8, 20, 1, 1, 2, 2, 0, 0, 1, 1, 1}, Act::Hardsigmoid, true, 5);  // strided 1x1, a partial vector
}
