// Math fidelity: operand bit splits, per-fidelity products on hand-picked operands, the two-GEMM plans, and the error
// ordering LoFi > HiFi2 > HiFi3 > HiFi4 == 0.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "numerics/fidelity.hpp"
#include "numerics/formats.hpp"

using namespace zoo::wormhole;
using zoo::wormhole::MathFidelity;

namespace {

uint32_t u(float x) { return std::bit_cast<uint32_t>(x); }

std::vector<float> random_bf16(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 3.0f);
    std::vector<float> v(n);
    for (auto& x : v) x = round_bf16(d(rng));
    return v;
}

// Significant bits of a finite normal value's mantissa (hidden included): 24 minus trailing zeros.
int significant_bits(float x) {
    if (x == 0.0f) return 0;
    uint32_t m = (u(x) & 0x7FFFFFu) | 0x800000u;
    return 24 - std::countr_zero(m);
}

const MathFidelity kAll[] = {MathFidelity::LoFi, MathFidelity::HiFi2, MathFidelity::HiFi3, MathFidelity::HiFi4};

}  // namespace

TEST(WhFidelity, SplitsAreExactBitSplits) {
    std::vector<float> x = random_bf16(1003, 1);  // odd length: vector body and scalar tail
    x[0] = 0.0f;
    x[1] = -0.0f;
    x[2] = 1.9921875f;   // 1.1111111b: every bf16 mantissa bit set
    x[3] = -1.9921875f;
    std::vector<float> ah(x.size()), al(x.size()), bh(x.size()), bl(x.size());
    split_srca(x.data(), ah.data(), al.data(), static_cast<int64_t>(x.size()));
    split_srcb(x.data(), bh.data(), bl.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
        EXPECT_EQ(ah[i] + al[i], x[i]) << i;
        EXPECT_EQ(bh[i] + bl[i], x[i]) << i;
        EXPECT_LE(significant_bits(ah[i]), 5) << x[i];
        EXPECT_LE(significant_bits(bh[i]), 7) << x[i];
        EXPECT_LE(std::abs(ah[i]), std::abs(x[i]));  // truncation of the magnitude
        EXPECT_LE(std::abs(bh[i]), std::abs(x[i]));
        if (x[i] != 0.0f) {
            EXPECT_EQ(std::signbit(ah[i]), std::signbit(x[i]));
            EXPECT_TRUE(al[i] == 0.0f || std::signbit(al[i]) == std::signbit(x[i]));
            // lo is below the 5th (A) / 7th (B) significant bit of x.
            EXPECT_LT(std::abs(al[i]), std::ldexp(1.0f, std::ilogb(x[i]) - 4));
            EXPECT_LT(std::abs(bl[i]), std::ldexp(1.0f, std::ilogb(x[i]) - 6));
        }
        EXPECT_EQ(srca_hi(x[i]), ah[i]);
        EXPECT_EQ(srcb_hi(x[i]), bh[i]);
    }
    EXPECT_EQ(ah[2], 1.9375f);     // 1.1111b
    EXPECT_EQ(al[2], 0.0546875f);  // 0.0000111b
    EXPECT_EQ(bh[2], 1.984375f);   // 1.111111b
    EXPECT_EQ(bl[2], 0.0078125f);  // 0.0000001b
    EXPECT_EQ(ah[3], -1.9375f);
    EXPECT_EQ(bl[3], -0.0078125f);
    // In place, and with no lo.
    std::vector<float> y = x;
    split_srca(y.data(), y.data(), nullptr, static_cast<int64_t>(y.size()));
    for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(u(y[i]), u(ah[i]));
}

TEST(WhFidelity, InfAndNaNPassThroughHi) {
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<float> x(20, 1.5f);
    x[0] = inf;
    x[17] = -inf;
    x[5] = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> hi(20), lo(20);
    split_srcb(x.data(), hi.data(), lo.data(), 20);
    EXPECT_EQ(hi[0], inf);
    EXPECT_EQ(lo[0], 0.0f);
    EXPECT_EQ(hi[17], -inf);
    EXPECT_EQ(lo[17], 0.0f);
    EXPECT_TRUE(std::isnan(hi[5]));
    EXPECT_EQ(lo[5], 0.0f);
}

TEST(WhFidelity, ProductsOnHandPickedOperands) {
    // a = b = 1.9921875: A_hi 1.9375, A_lo 0.0546875, B_hi 1.984375, B_lo 0.0078125.
    const float a = 1.9921875f, b = 1.9921875f;
    EXPECT_EQ(fidelity_product(a, b, MathFidelity::LoFi), 3.8447265625f);       // A_hi * B_hi
    EXPECT_EQ(fidelity_product(a, b, MathFidelity::HiFi2), 3.9532470703125f);   // + A_lo * B_hi
    EXPECT_EQ(fidelity_product(a, b, MathFidelity::HiFi3), 3.9683837890625f);   // + A_hi * B_lo
    EXPECT_EQ(fidelity_product(a, b, MathFidelity::HiFi4), 3.96881103515625f);  // + A_lo * B_lo = a * b
    // Signs: a = -1.5 has no low bits; b = -1.0078125 = -(1 + 2^-7) has only the one SrcB low bit.
    EXPECT_EQ(fidelity_product(-1.5f, -1.0078125f, MathFidelity::LoFi), 1.5f);
    EXPECT_EQ(fidelity_product(-1.5f, -1.0078125f, MathFidelity::HiFi2), 1.5f);
    EXPECT_EQ(fidelity_product(-1.5f, -1.0078125f, MathFidelity::HiFi3), 1.51171875f);
    EXPECT_EQ(fidelity_product(-1.5f, -1.0078125f, MathFidelity::HiFi4), 1.51171875f);
    // Which operand is which matters: SrcA (weight) keeps 5 bits, SrcB (activation) 7.
    // a = 1.0625 (1.0001b) fits SrcA's hi part, 1.0078125 does not.
    EXPECT_EQ(fidelity_product(1.0625f, 1.0078125f, MathFidelity::LoFi), 1.0625f);
    EXPECT_EQ(fidelity_product(1.0078125f, 1.0625f, MathFidelity::LoFi), 1.0625f);
    EXPECT_EQ(fidelity_product(1.015625f, 1.0f, MathFidelity::LoFi), 1.0f);       // 1.000001b: A drops bit 6
    EXPECT_EQ(fidelity_product(1.0f, 1.015625f, MathFidelity::LoFi), 1.015625f);  // B keeps 6 fraction bits
    EXPECT_EQ(fidelity_product(1.0f, 1.0234375f, MathFidelity::LoFi), 1.015625f); // 1.0000011b: B drops bit 7
}

TEST(WhFidelity, PlansUseAtMostTwoGemmsAndMatchTheProducts) {
    std::vector<float> a = random_bf16(512, 2), b = random_bf16(512, 3);
    for (MathFidelity fid : kAll) {
        FidelityPlan plan = fidelity_plan(fid);
        ASSERT_GE(plan.term_count, 1);
        ASSERT_LE(plan.term_count, 2);
        for (size_t i = 0; i < a.size(); ++i) {
            auto part = [](float x, OperandPart p, bool is_a) {
                float hi = is_a ? srca_hi(x) : srcb_hi(x);
                return p == OperandPart::Full ? x : p == OperandPart::Hi ? hi : x - hi;
            };
            float sum = 0.0f;
            for (int t = 0; t < plan.term_count; ++t)
                sum += part(b[i], plan.terms[t].activation, false) * part(a[i], plan.terms[t].weight, true);
            EXPECT_EQ(sum, fidelity_product(a[i], b[i], fid)) << zoo::wormhole::math_fidelity_name(fid) << " " << a[i] << " * " << b[i];
        }
    }
    EXPECT_FALSE(fidelity_plan(MathFidelity::HiFi4).needs_activation_split());
    EXPECT_FALSE(fidelity_plan(MathFidelity::HiFi4).needs_weight_split());
    EXPECT_TRUE(fidelity_plan(MathFidelity::HiFi2).needs_activation_split());
    EXPECT_FALSE(fidelity_plan(MathFidelity::HiFi2).needs_weight_split());
    EXPECT_TRUE(fidelity_plan(MathFidelity::LoFi).needs_weight_split());
    EXPECT_EQ(fidelity_plan(MathFidelity::HiFi3).term_count, 2);
}

TEST(WhFidelity, ErrorDecreasesWithFidelity) {
    std::vector<float> a = random_bf16(4096, 4), b = random_bf16(4096, 5);
    double err[4] = {};
    for (int f = 0; f < 4; ++f)
        for (size_t i = 0; i < a.size(); ++i) {
            const double exact = static_cast<double>(a[i]) * b[i];
            err[f] += std::abs(fidelity_product(a[i], b[i], kAll[f]) - exact) / std::max(std::abs(exact), 1e-30);
        }
    EXPECT_GT(err[0], err[1]);
    EXPECT_GT(err[1], err[2]);
    EXPECT_GT(err[2], err[3]);
    EXPECT_EQ(err[3], 0.0);  // HiFi4 on bf16 operands is the exact product
    // Rough sizes: LoFi truncates A to 5 bits (~2^-5 mean relative error), HiFi2 truncates B to 7 (~2^-8).
    EXPECT_GT(err[0] / a.size(), 1e-2);
    EXPECT_LT(err[1] / a.size(), 4e-3);
}
