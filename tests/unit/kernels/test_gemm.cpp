// GEMM (pointwise conv / linear core) against a naive triple loop.
#include <gtest/gtest.h>
#include <tbb/task_arena.h>

#include <cstring>

#include "kernels/gemm.hpp"
#include "reference_ops.hpp"

using namespace zoo::kernels;
using namespace zoo_test;

namespace {

struct GemmCase {
    int64_t m, k, n;
    Act act;
    bool bias, residual, exact_store;
};

std::string act_text(Act a) { return act_name(a); }

void check_gemm(const GemmCase& gc, uint32_t seed) {
    const int64_t m = gc.m, k = gc.k, n = gc.n;
    const int64_t lda = k + 3;  // rows of A not packed tight, like a padded activation
    const int64_t ldc = round_up(n, 16) + 16;
    std::vector<float> a = random_vector(static_cast<size_t>(m * lda), seed);
    std::vector<float> w = random_vector(static_cast<size_t>(n * k), seed + 1);  // [n, k] like a torch weight
    std::vector<float> bias = random_vector(static_cast<size_t>(round_up(n, 16)), seed + 2);
    for (int64_t j = n; j < round_up(n, 16); ++j) bias[static_cast<size_t>(j)] = 0.0f;
    std::vector<float> res = random_vector(static_cast<size_t>(m * ldc), seed + 3);
    PackedB b = pack_b(w.data(), k, n, 1, k);
    const float sentinel = 12345.0f;
    std::vector<float> c(static_cast<size_t>(m * ldc), sentinel);
    const int64_t n_store = gc.exact_store ? n : round_up(n, 16);
    gemm(m, a.data(), lda, b, c.data(), ldc, n_store,
         GemmEpilogue{gc.bias ? bias.data() : nullptr, gc.act, gc.residual ? res.data() : nullptr, ldc});

    std::vector<float> got;
    std::vector<double> ref;
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double acc = gc.bias ? bias[static_cast<size_t>(j)] : 0.0;
            for (int64_t kk = 0; kk < k; ++kk)
                acc += static_cast<double>(a[static_cast<size_t>(i * lda + kk)]) * w[static_cast<size_t>(j * k + kk)];
            double v = ref_act(act_text(gc.act), acc);
            if (gc.residual) v += res[static_cast<size_t>(i * ldc + j)];
            ref.push_back(v);
            got.push_back(c[static_cast<size_t>(i * ldc + j)]);
        }
    EXPECT_TRUE(close_to(got, ref)) << "m=" << m << " k=" << k << " n=" << n << " act=" << act_text(gc.act);
    // Nothing past n_store is touched.
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = n_store; j < ldc; ++j) ASSERT_EQ(c[static_cast<size_t>(i * ldc + j)], sentinel) << i << "," << j;
}

}  // namespace

TEST(CpuGemm, MatchesNaiveOnAwkwardSizes) {
    const GemmCase cases[] = {
        {1, 1, 1, Act::None, false, false, false},     {7, 3, 5, Act::Relu, true, false, true},
        {13, 27, 16, Act::Relu6, true, false, false},  {37, 72, 40, Act::Hardswish, true, true, false},
        {49, 960, 1280, Act::None, true, false, false}, {100, 300, 33, Act::Hardsigmoid, true, true, true},
        {257, 513, 47, Act::Hardswish, false, true, false}, {9, 1000, 17, Act::None, true, false, true},
        {3, 1280, 1000, Act::None, true, false, false},
    };
    uint32_t seed = 10;
    for (const auto& gc : cases) check_gemm(gc, seed += 7);
}

TEST(CpuGemm, ResultDoesNotDependOnThreadCount) {
    const int64_t m = 301, k = 611, n = 72;
    std::vector<float> a = random_vector(static_cast<size_t>(m * k), 1);
    std::vector<float> w = random_vector(static_cast<size_t>(n * k), 2);
    PackedB b = pack_b(w.data(), k, n, 1, k);
    std::vector<float> c1(static_cast<size_t>(m * 80)), c2(c1.size());
    tbb::task_arena one(1), two(2);
    one.execute([&] { gemm(m, a.data(), k, b, c1.data(), 80, 80, GemmEpilogue{}); });
    two.execute([&] { gemm(m, a.data(), k, b, c2.data(), 80, 80, GemmEpilogue{}); });
    EXPECT_EQ(c1, c2);
}

// pack_b's one_tile: B of bf16 values packed as bf16 gives the bits of the fp32 panels (both accumulator modes,
// every panel width, a K over two K blocks); B with any other value stays fp32.
TEST(CpuGemm, Bf16PanelsGiveTheBitsOfFp32Panels) {
    for (int64_t n : {16, 40, 48, 100})
        for (int64_t m : {1, 3, 8})
            for (int64_t step : {0, 16}) {
                const int64_t k = 300, ldc = round_up(n, 16);
                std::vector<float> a = random_vector(static_cast<size_t>(m * k), 7);
                std::vector<float> w = random_vector(static_cast<size_t>(n * k), 8);
                for (float& v : w) v = round_bf16_rne(v);
                std::vector<float> bias(static_cast<size_t>(ldc), 0.0f);
                PackedB wide = pack_b(w.data(), k, n, 1, k), narrow = pack_b(w.data(), k, n, 1, k, true);
                ASSERT_FALSE(wide.bf16);
                ASSERT_TRUE(narrow.bf16);
                std::vector<float> want(static_cast<size_t>(m * ldc)), got(want.size());
                const GemmEpilogue ep{bias.data(), Act::None, nullptr, 0};
                gemm(m, a.data(), k, wide, want.data(), ldc, ldc, ep, GemmNumerics{step});
                gemm(m, a.data(), k, narrow, got.data(), ldc, ldc, ep, GemmNumerics{step});
                ASSERT_EQ(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)), 0)
                    << "m " << m << " n " << n << " step " << step;
            }
    std::vector<float> w(16 * 16, 0.1f);  // not a bf16
    EXPECT_FALSE(pack_b(w.data(), 16, 16, 1, 16, true).bf16);
}
