// ConvOptions::pad_tap_channels (the card's im2col, each tap's input channels padded to a 16-wide K step) is
// bit-identical to what the emulator did before it existed: im2col + GEMM over weights zero-padded to 16 channels per
// tap. Both Dst modes, with and without activation and residual, several shapes; the direct kernel (at most 4 input
// and 64 output channels) and the im2col fallback. Includes products near the bottom of the bf16 range, which a bf16
// Dst rounds to -0, with a -0 bias: the case the kernel's `+ 0.0f` per tap is there for.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernels/conv.hpp"

using namespace zoo::kernels;

namespace {

struct Shape {
    int64_t in_c, out_c, k, stride, pad, dil, h, w, batch;
};

void expect_same_bits(const Shape& s, bool dest, Act act, bool with_residual, bool tiny) {
    ConvParams p;
    p.batch = s.batch, p.in_h = s.h, p.in_w = s.w, p.in_c = s.in_c, p.out_c = s.out_c;
    p.kh = p.kw = s.k, p.stride_h = p.stride_w = s.stride, p.pad_h = p.pad_w = s.pad, p.dil_h = p.dil_w = s.dil;
    const int64_t taps = s.k * s.k, cp_in = padded_channels(s.in_c), cp_out = padded_channels(s.out_c);
    std::mt19937 rng(static_cast<unsigned>(s.in_c * 131 + s.out_c * 7 + s.k + dest * 1000 + tiny * 2000));
    std::normal_distribution<float> d(0.0f, 1.0f);
    auto bf16 = [](float x) { return round_bf16_rne(x); };  // the emulator feeds bf16-representable operands
    std::vector<float> w(static_cast<size_t>(s.out_c * s.in_c * taps)), bias(static_cast<size_t>(s.out_c));
    for (auto& v : w) v = bf16(tiny ? d(rng) * 1e-20f : d(rng) * 0.3f);
    // Tiny: a -0 bias and half the inputs exactly zero, so a -0 Dst can survive to the output where the card's
    // padding products would have made it +0.
    for (auto& v : bias) v = tiny ? -0.0f : bf16(d(rng) * 0.1f);
    AlignedBuffer in(static_cast<size_t>(s.batch * s.h * s.w * cp_in));
    for (int64_t px = 0; px < s.batch * s.h * s.w; ++px)
        for (int64_t c = 0; c < s.in_c; ++c)
            in.data()[px * cp_in + c] = tiny ? (rng() % 2 ? 0.0f : bf16(d(rng) * 1e-20f)) : bf16(d(rng));

    // The reference: weights zero-padded to 16 channels per tap, im2col + GEMM.
    const int64_t padded_in = padded_channels(s.in_c);
    std::vector<float> wp(static_cast<size_t>(s.out_c * padded_in * taps), 0.0f);
    for (int64_t o = 0; o < s.out_c; ++o)
        for (int64_t i = 0; i < s.in_c; ++i)
            std::copy_n(w.begin() + (o * s.in_c + i) * taps, taps, wp.begin() + (o * padded_in + i) * taps);
    ConvParams pp = p;
    pp.in_c = padded_in;
    ConvOptions ref_options;
    ref_options.force_im2col = true;
    ref_options.bf16_accumulator_step = dest ? 16 : 0;
    ConvKernel ref(pp, wp.data(), bias.data(), ref_options);
    ASSERT_EQ(ref.method(), ConvKernel::Method::Im2col);

    ConvOptions options = ref_options;
    options.pad_tap_channels = true;
    ConvKernel k(p, w.data(), bias.data(), options);
    const bool direct = s.in_c <= 4 && cp_out <= 64;
    EXPECT_EQ(k.method(), direct ? ConvKernel::Method::Direct : ConvKernel::Method::Im2col);

    const int64_t out_floats = s.batch * p.out_h() * p.out_w() * cp_out;
    AlignedBuffer residual(static_cast<size_t>(out_floats));
    for (int64_t i = 0; i < out_floats; ++i) residual.data()[i] = i % cp_out < s.out_c ? bf16(d(rng)) : 0.0f;
    const float* r = with_residual ? residual.data() : nullptr;
    AlignedBuffer want(static_cast<size_t>(out_floats)), got(static_cast<size_t>(out_floats));
    AlignedBuffer scratch_ref(static_cast<size_t>(std::max<int64_t>(ref.scratch_floats(), 1)));
    AlignedBuffer scratch(static_cast<size_t>(std::max<int64_t>(k.scratch_floats(), 1)));
    ref.run(in.data(), want.data(), act, r, scratch_ref.data());
    k.run(in.data(), got.data(), act, r, scratch.data());
    for (int64_t i = 0; i < out_floats; ++i) {
        uint32_t a, b;
        std::memcpy(&a, want.data() + i, 4);
        std::memcpy(&b, got.data() + i, 4);
        ASSERT_EQ(a, b) << "in " << s.in_c << " out " << s.out_c << " k " << s.k << " dest " << dest << " element " << i
                        << ": im2col over padded taps " << want.data()[i] << ", pad_tap_channels " << got.data()[i];
    }
    // The same conv reading the image's NCHW planes (run_nchw) gives the same bits.
    ASSERT_EQ(k.reads_nchw(), direct && s.in_c == 3);
    if (!k.reads_nchw()) return;
    const int64_t hw = s.h * s.w;
    AlignedBuffer planes(static_cast<size_t>(s.batch * s.in_c * hw));
    for (int64_t n = 0; n < s.batch; ++n)
        for (int64_t c = 0; c < s.in_c; ++c)
            for (int64_t q = 0; q < hw; ++q) planes.data()[(n * s.in_c + c) * hw + q] = in.data()[(n * hw + q) * cp_in + c];
    AlignedBuffer from_planes(static_cast<size_t>(out_floats));
    k.run_nchw(planes.data(), from_planes.data(), act, r);
    ASSERT_EQ(std::memcmp(from_planes.data(), want.data(), static_cast<size_t>(out_floats) * sizeof(float)), 0)
        << "in " << s.in_c << " out " << s.out_c << " k " << s.k << " dest " << dest << ": run_nchw differs";
}

}  // namespace

TEST(WormholeTapStepConv, DirectAndFallbackEqualIm2colOverPaddedTaps) {
    const Shape shapes[] = {
        {3, 16, 3, 2, 1, 1, 17, 19, 2},  // the MobileNetV3 stem, odd sizes so row ends are partial
        {3, 32, 3, 2, 1, 1, 15, 16, 1},  // the MobileNetV2 stem
        {3, 24, 3, 1, 1, 1, 9, 11, 1},   // a partial last vector of output channels
        {4, 64, 5, 1, 2, 2, 12, 12, 1},  // 5x5 dilated, 4 channels, 4 vectors of outputs
        {2, 16, 2, 1, 0, 1, 8, 8, 1},    // even kernel, no padding
        {5, 80, 3, 2, 1, 1, 10, 10, 1},  // not a direct shape: im2col on padded weights
    };
    for (const Shape& s : shapes)
        for (bool dest : {false, true}) {
            expect_same_bits(s, dest, Act::None, false, false);
            expect_same_bits(s, dest, Act::Hardswish, true, false);
            expect_same_bits(s, dest, Act::Relu, false, true);
        }
}
