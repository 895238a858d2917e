// Memory-bound kernels: activations (bit-exact PyTorch formulas), broadcasting add/mul, pooling, softmax, batch norm.
#include <gtest/gtest.h>

#include <cstring>

#include "kernels/eltwise.hpp"
#include "reference_ops.hpp"

using namespace zoo::kernels;
using namespace zoo_test;

namespace {

// PyTorch's formulas evaluated in float, written out here independently of the library.
float torch_hardswish(float x) { return x * std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f; }
float torch_hardsigmoid(float x) { return std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f; }
float torch_relu6(float x) { return std::min(std::max(x, 0.0f), 6.0f); }
float torch_relu(float x) { return std::max(x, 0.0f); }

}  // namespace

TEST(CpuEltwise, ActivationsAreBitExact) {
    std::vector<float> x = random_vector(16 * 97, 3, -9.0f, 9.0f);
    const float specials[] = {-3.0f, 3.0f, 0.0f, -0.0f, 6.0f, -6.0f, 1e-7f, -1e-7f, 2.9999998f, -2.9999998f, 1e30f, -1e30f};
    std::memcpy(x.data(), specials, sizeof(specials));
    struct {
        Act act;
        float (*ref)(float);
    } cases[] = {{Act::Relu, torch_relu}, {Act::Relu6, torch_relu6}, {Act::Hardswish, torch_hardswish},
                 {Act::Hardsigmoid, torch_hardsigmoid}};
    for (const auto& c : cases) {
        std::vector<float> y(x.size());
        activation(x.data(), y.data(), static_cast<int64_t>(x.size()), c.act);
        for (size_t i = 0; i < x.size(); ++i) {
            ASSERT_EQ(y[i], c.ref(x[i])) << act_name(c.act) << "(" << x[i] << ")";
            ASSERT_EQ(apply_act(c.act, x[i]), c.ref(x[i])) << "scalar " << act_name(c.act) << "(" << x[i] << ")";
        }
    }
    // Odd counts take the scalar tail.
    std::vector<float> y(21);
    activation(x.data(), y.data(), 21, Act::Hardswish);
    for (size_t i = 0; i < 21; ++i) EXPECT_EQ(y[i], torch_hardswish(x[i]));
}

TEST(CpuEltwise, MulBroadcastsPerChannelScaleBothOrders) {
    // [N, C, H, W] * [N, C, 1, 1] as squeeze-excite does, N = 3, C = 21 (padded to 32).
    const int64_t n = 3, c = 21, h = 5, w = 7, cp = padded_channels(c);
    std::vector<float> x = random_vector(static_cast<size_t>(n * c * h * w), 1);
    std::vector<float> s = random_vector(static_cast<size_t>(n * c), 2);
    std::vector<float> xn = to_nhwc(x, n, c, h, w, cp), sn = to_nhwc(s, n, c, 1, 1, cp);
    BinaryOperand big{xn.data(), {h * w * cp, w * cp, cp}, false};
    BinaryOperand small{sn.data(), {cp, 0, 0}, false};
    std::vector<double> ref(x.size());
    for (int64_t b = 0; b < n; ++b)
        for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t i = 0; i < h * w; ++i) {
                size_t idx = static_cast<size_t>((b * c + ch) * h * w + i);
                ref[idx] = static_cast<double>(x[idx]) * s[static_cast<size_t>(b * c + ch)];
            }
    for (int order = 0; order < 2; ++order) {
        std::vector<float> out(xn.size());
        if (order == 0)
            binary(BinaryOp::Mul, big, small, out.data(), {n, h, w}, cp);
        else
            binary(BinaryOp::Mul, small, big, out.data(), {n, h, w}, cp);
        EXPECT_TRUE(close_to(from_nhwc(out.data(), n, c, h, w, cp), ref, 1e-7));
    }
}

TEST(CpuEltwise, AddEqualShapesAndSingleChannelBroadcast) {
    const int64_t n = 2, c = 35, h = 3, w = 4, cp = padded_channels(c);
    std::vector<float> a = random_vector(static_cast<size_t>(n * c * h * w), 5);
    std::vector<float> b = random_vector(a.size(), 6);
    std::vector<float> one = random_vector(static_cast<size_t>(n * h * w), 7);  // [N, 1, H, W]
    std::vector<float> an = to_nhwc(a, n, c, h, w, cp), bn = to_nhwc(b, n, c, h, w, cp), on = to_nhwc(one, n, 1, h, w, 16);
    std::vector<float> out(an.size());
    binary(BinaryOp::Add, {an.data(), {h * w * cp, w * cp, cp}, false}, {bn.data(), {h * w * cp, w * cp, cp}, false},
           out.data(), {n, h, w}, cp);
    std::vector<double> ref(a.size());
    for (size_t i = 0; i < a.size(); ++i) ref[i] = static_cast<double>(a[i]) + b[i];
    EXPECT_TRUE(close_to(from_nhwc(out.data(), n, c, h, w, cp), ref, 1e-7));

    binary(BinaryOp::Add, {an.data(), {h * w * cp, w * cp, cp}, false}, {on.data(), {h * w * 16, w * 16, 16}, true},
           out.data(), {n, h, w}, cp);
    for (int64_t bb = 0; bb < n; ++bb)
        for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t i = 0; i < h * w; ++i)
                ref[static_cast<size_t>((bb * c + ch) * h * w + i)] =
                    static_cast<double>(a[static_cast<size_t>((bb * c + ch) * h * w + i)]) + one[static_cast<size_t>(bb * h * w + i)];
    EXPECT_TRUE(close_to(from_nhwc(out.data(), n, c, h, w, cp), ref, 1e-7));
}

TEST(CpuEltwise, GlobalAveragePool) {
    const int64_t n = 3, c = 40, h = 7, w = 5, cp = padded_channels(c);
    std::vector<float> x = random_vector(static_cast<size_t>(n * c * h * w), 9);
    std::vector<float> xn = to_nhwc(x, n, c, h, w, cp), out(static_cast<size_t>(n * cp));
    global_avg_pool(xn.data(), out.data(), n, h * w, cp);
    std::vector<double> ref(static_cast<size_t>(n * c), 0.0);
    for (int64_t i = 0; i < n * c; ++i) {
        for (int64_t p = 0; p < h * w; ++p) ref[static_cast<size_t>(i)] += x[static_cast<size_t>(i * h * w + p)];
        ref[static_cast<size_t>(i)] /= static_cast<double>(h * w);
    }
    EXPECT_TRUE(close_to(from_nhwc(out.data(), n, c, 1, 1, cp), ref));
}

TEST(CpuEltwise, SoftmaxIsStableAndNormalised) {
    const int64_t rows = 3, c = 1000, cp = padded_channels(c);
    std::vector<float> x = random_vector(static_cast<size_t>(rows * cp), 4, -20.0f, 20.0f);
    x[5] = 1000.0f;  // would overflow a naive exp
    std::vector<float> y(x.size());
    softmax_rows(x.data(), y.data(), rows, c, cp);
    std::vector<float> got;
    std::vector<double> ref;
    for (int64_t r = 0; r < rows; ++r) {
        double mx = -1e300, sum = 0;
        for (int64_t i = 0; i < c; ++i) mx = std::max(mx, static_cast<double>(x[static_cast<size_t>(r * cp + i)]));
        for (int64_t i = 0; i < c; ++i) sum += std::exp(x[static_cast<size_t>(r * cp + i)] - mx);
        for (int64_t i = 0; i < c; ++i) {
            ref.push_back(std::exp(x[static_cast<size_t>(r * cp + i)] - mx) / sum);
            got.push_back(y[static_cast<size_t>(r * cp + i)]);
        }
    }
    EXPECT_TRUE(close_to(got, ref));
}

TEST(CpuEltwise, BatchNormAffine) {
    const int64_t rows = 29, c = 24, cp = padded_channels(c);
    std::vector<float> x = random_vector(static_cast<size_t>(rows * cp), 1);
    std::vector<float> mean = random_vector(static_cast<size_t>(cp), 2), var = random_vector(static_cast<size_t>(cp), 3, 0.1f, 2.0f);
    std::vector<float> wt = random_vector(static_cast<size_t>(cp), 4), bias = random_vector(static_cast<size_t>(cp), 5);
    std::vector<float> scale(static_cast<size_t>(cp));
    for (int64_t i = 0; i < cp; ++i) scale[static_cast<size_t>(i)] = static_cast<float>(wt[static_cast<size_t>(i)] / std::sqrt(var[static_cast<size_t>(i)] + 1e-5));
    std::vector<float> y(x.size());
    channel_affine(x.data(), y.data(), rows, cp, mean.data(), scale.data(), bias.data());
    std::vector<float> got;
    std::vector<double> ref;
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = 0; i < c; ++i) {
            size_t k = static_cast<size_t>(i);
            ref.push_back((x[static_cast<size_t>(r * cp + i)] - static_cast<double>(mean[k])) / std::sqrt(var[k] + 1e-5) * wt[k] + bias[k]);
            got.push_back(y[static_cast<size_t>(r * cp + i)]);
        }
    EXPECT_TRUE(close_to(got, ref));
}

TEST(CpuEltwise, LayoutConversionRoundTrip) {
    const int64_t n = 2, c = 19, hw = 15, cp = padded_channels(c);
    std::vector<float> x = random_vector(static_cast<size_t>(n * c * hw), 8);
    std::vector<float> nhwc(static_cast<size_t>(n * hw * cp), 5.0f), back(x.size());
    nchw_to_nhwc(x.data(), nhwc.data(), n, c, hw, cp);
    EXPECT_EQ(nhwc, to_nhwc(x, n, c, 1, hw, cp));
    nhwc_to_nchw(nhwc.data(), back.data(), n, c, hw, cp);
    EXPECT_EQ(back, x);
}
