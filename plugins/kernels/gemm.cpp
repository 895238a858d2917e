#include "kernels/gemm.hpp"
#include "kernels/parallel.hpp"

#include <tbb/task_arena.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace zoo::kernels {

namespace {

constexpr int kMr = 8;      // rows per micro-tile: 8 x 32 tile = 16 accumulator registers
constexpr int64_t kKc = 256;  // K block: a 256 x 32 B panel (32 KiB) stays in L1 while A rows stream

struct TileArgs {
    int64_t kc;
    const float* a;
    int64_t lda;
    const void* bp;   // packed panel rows for this K block, NV * 16 values per k: float, or bf16 (PackedB::bf16)
    float* c;
    int64_t ldc;
    bool accumulate;  // continue from C (a previous K block wrote it)
    int64_t step;     // K values per bf16 rounding (Dest only); divides kKc, so a K block starts on a step
    bool finish;      // last K block: apply the epilogue
    int64_t ncols;    // columns that may be stored (< NV * 16 only at a partial edge, which is never K-blocked)
    const float* bias;
    const float* residual;
    int64_t ldr;
};

// 16 values of a B panel row as fp32: a float vector, or 16 bf16 patterns widened (exact).
template <class BT>
inline Vec load_b(const BT* p) {
    if constexpr (std::is_same_v<BT, float>) {
        return *reinterpret_cast<const Vec*>(p);
    } else {
        typedef uint16_t Half __attribute__((vector_size(32)));
        return (Vec)(__builtin_convertvector(*reinterpret_cast<const Half*>(p), VecBits) << 16);
    }
}

// Dest: a bf16 accumulator (GemmNumerics::bf16_accumulator_step): a separate instantiation, so the default path is
// unchanged. BT: the panels' element type (float, or uint16_t for PackedB::bf16).
template <int MR, int NV, Act A, bool Dest, class BT>
__attribute__((noinline)) void micro_tile(const TileArgs& t) {
    Vec acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) acc[i][j] = t.accumulate ? load(t.c + i * t.ldc + j * kVecWidth) : splat(0.0f);

    const float* a = t.a;
    const BT* bp = static_cast<const BT*>(t.bp);
    // With Dest, one step per t.step values of k (a K block starts on a step), rounded to bf16 at its end; without,
    // the whole K block is one step and nothing is rounded.
    const int64_t step = Dest ? t.step : t.kc;
    for (int64_t k0 = 0; k0 < t.kc; k0 += step) {
        const int64_t k1 = std::min<int64_t>(k0 + step, t.kc);
        for (int64_t k = k0; k < k1; ++k) {
            Vec bv[NV];
#pragma GCC unroll 4
            for (int j = 0; j < NV; ++j) bv[j] = load_b(bp + j * kVecWidth);
#pragma GCC unroll 16
            for (int i = 0; i < MR; ++i) {
                Vec av = splat(a[i * t.lda + k]);
#pragma GCC unroll 4
                for (int j = 0; j < NV; ++j) acc[i][j] = madd(av, bv[j], acc[i][j]);
            }
            bp += NV * kVecWidth;
        }
        if constexpr (Dest) {
#pragma GCC unroll 16
            for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
                for (int j = 0; j < NV; ++j) acc[i][j] = round_bf16_rne(acc[i][j]);
        }
    }

    // A partial edge (grouped convolutions write into the middle of a row) first lands in a local tile, so the
    // accumulators never have their address taken and stay in registers.
    alignas(64) float tmp[MR][NV * kVecWidth];
    const bool partial = t.finish && t.ncols != NV * kVecWidth;
    if (!t.finish || partial) {
        float* dst = partial ? &tmp[0][0] : t.c;
        const int64_t ld = partial ? NV * kVecWidth : t.ldc;
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
            for (int j = 0; j < NV; ++j) store(dst + i * ld + j * kVecWidth, acc[i][j]);
        if (!partial) return;
        // Same arithmetic as the vector epilogue, element by element, only on the columns this call owns.
        for (int i = 0; i < MR; ++i)
            for (int64_t jj = 0; jj < t.ncols; ++jj) {
                if constexpr (Dest) {
                    float v = round_bf16_rne(tmp[i][jj] + (t.bias ? t.bias[jj] : 0.0f));
                    v = round_bf16_rne(apply_act(A, v));
                    if (t.residual) v = round_bf16_rne(v + t.residual[i * t.ldr + jj]);
                    t.c[i * t.ldc + jj] = v;
                } else {
                    float v = apply_act(A, tmp[i][jj] + (t.bias ? t.bias[jj] : 0.0f));
                    if (t.residual) v += t.residual[i * t.ldr + jj];
                    t.c[i * t.ldc + jj] = v;
                }
            }
        return;
    }
    Vec bias[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bias[j] = t.bias ? load(t.bias + j * kVecWidth) : splat(0.0f);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) {
            if constexpr (Dest) {
                Vec v = dest_act<A>(round_bf16_rne(acc[i][j] + bias[j]));
                if (t.residual) v = round_bf16_rne(v + load(t.residual + i * t.ldr + j * kVecWidth));
                store(t.c + i * t.ldc + j * kVecWidth, v);
            } else {
                Vec v = act_vec<A>(acc[i][j] + bias[j]);
                if (t.residual) v += load(t.residual + i * t.ldr + j * kVecWidth);
                store(t.c + i * t.ldc + j * kVecWidth, v);
            }
        }
}

template <int NV, Act A, bool Dest, class BT>
inline void run_tile(int mr, const TileArgs& t) {
    switch (mr) {
        case 8: micro_tile<8, NV, A, Dest, BT>(t); break;
        case 7: micro_tile<7, NV, A, Dest, BT>(t); break;
        case 6: micro_tile<6, NV, A, Dest, BT>(t); break;
        case 5: micro_tile<5, NV, A, Dest, BT>(t); break;
        case 4: micro_tile<4, NV, A, Dest, BT>(t); break;
        case 3: micro_tile<3, NV, A, Dest, BT>(t); break;
        case 2: micro_tile<2, NV, A, Dest, BT>(t); break;
        default: micro_tile<1, NV, A, Dest, BT>(t); break;
    }
}
static_assert(kMr == 8, "run_tile dispatches up to 8 rows");

template <Act A, bool Dest, class BT>
void gemm_block(int64_t m0, int64_t m1, int64_t j_begin, int64_t j_end, const float* a, int64_t lda, const PackedB& b,
                float* c, int64_t ldc, int64_t n_store, const GemmEpilogue& ep, int64_t step) {
    const int64_t k = b.k;
    for (int64_t k0 = 0; k0 < k || k0 == 0; k0 += kKc) {
        const int64_t kc_block = std::min(kKc, k - k0);
        for (int64_t j0 = j_begin; j0 < j_end; j0 += b.panel_width(j0)) {
            const int64_t width = b.panel_width(j0);
            const int64_t ncols = std::min(width, n_store - j0);
            const bool partial = ncols < width;
            // Partial panels run the whole K at once so they never need to re-read a half-written C.
            if (partial && k0 > 0) continue;
            const int64_t kc = partial ? k : kc_block;
            const bool last = partial || k0 + kKc >= k;
            const BT* panel = reinterpret_cast<const BT*>(b.data.data()) + j0 * k + k0 * width;
            for (int64_t i0 = m0; i0 < m1; i0 += kMr) {
                int mr = static_cast<int>(std::min<int64_t>(kMr, m1 - i0));
                TileArgs t{kc,
                           a + i0 * lda + k0,
                           lda,
                           panel,
                           c + i0 * ldc + j0,
                           ldc,
                           k0 > 0,
                           step,
                           last,
                           ncols,
                           ep.bias ? ep.bias + j0 : nullptr,
                           ep.residual ? ep.residual + i0 * ep.ldr + j0 : nullptr,
                           ep.ldr};
                if (width == 2 * kVecWidth)
                    run_tile<2, A, Dest, BT>(mr, t);
                else if (width == 3 * kVecWidth)
                    run_tile<3, A, Dest, BT>(mr, t);
                else
                    run_tile<1, A, Dest, BT>(mr, t);
            }
        }
    }
}

}  // namespace

PackedB pack_b(const float* b, int64_t k, int64_t n, int64_t stride_k, int64_t stride_n, bool one_tile) {
    PackedB p;
    p.k = k;
    p.n = n;
    auto value = [&](int64_t kk, int64_t col) { return col < n ? b[kk * stride_k + col * stride_n] : 0.0f; };
    auto bits = [](float v) {
        uint32_t u;
        std::memcpy(&u, &v, sizeof(u));
        return u;
    };
    p.bf16 = one_tile;
    for (int64_t kk = 0; kk < k && p.bf16; ++kk)
        for (int64_t col = 0; col < n; ++col)
            if ((bits(value(kk, col)) & 0xFFFFu) != 0) {
                p.bf16 = false;
                break;
            }
    const size_t count = static_cast<size_t>(p.padded_n() * std::max<int64_t>(k, 1));
    p.data.resize(p.bf16 ? (count + 1) / 2 : count);
    for (int64_t j0 = 0; j0 < p.padded_n(); j0 += p.panel_width(j0)) {
        const int64_t width = p.panel_width(j0);
        for (int64_t kk = 0; kk < k; ++kk)
            for (int64_t jj = 0; jj < width; ++jj) {
                const int64_t i = j0 * k + kk * width + jj;
                const float v = value(kk, j0 + jj);
                if (p.bf16)
                    reinterpret_cast<uint16_t*>(p.data.data())[i] = static_cast<uint16_t>(bits(v) >> 16);
                else
                    p.data.data()[i] = v;
            }
    }
    return p;
}

namespace {

void run_gemm(int64_t m, const float* a, int64_t lda, const PackedB& b, float* c, int64_t ldc, int64_t n_store,
              const GemmEpilogue& ep, const GemmNumerics& numerics, bool on_this_thread) {
    const int64_t step = numerics.bf16_accumulator_step;
    if (step < 0 || (step > 0 && kKc % step != 0))
        throw std::invalid_argument("gemm: bf16_accumulator_step " + std::to_string(numerics.bf16_accumulator_step) +
                                    " does not divide the K block (" + std::to_string(kKc) + ")");
    if (m <= 0 || n_store <= 0) return;
    const int64_t threads = on_this_thread ? 1 : std::max(1, tbb::this_task_arena::max_concurrency());
    const int64_t tiles = (m + kMr - 1) / kMr;
    // Rows per task: enough tasks to balance (4 per thread), at most 96 rows so an A block stays in L2.
    const int64_t tiles_per_task = std::clamp<int64_t>(tiles / (4 * threads), 1, 12);
    const int64_t row_tasks = (tiles + tiles_per_task - 1) / tiles_per_task;
    const int64_t panels = b.panel_count();  // n_store > padded_n() - 16, so every panel has columns to store
    int64_t col_tasks = 1;
    if (row_tasks < 2 * threads) col_tasks = std::min(panels, (2 * threads + row_tasks - 1) / row_tasks);
    const int64_t panels_per_task = (panels + col_tasks - 1) / col_tasks;
    col_tasks = (panels + panels_per_task - 1) / panels_per_task;

    dispatch_act(ep.act, [&]<Act A>() {
        auto task = [&](int64_t t) {
            int64_t rt = t / col_tasks, ct = t % col_tasks;
            int64_t m0 = rt * tiles_per_task * kMr, m1 = std::min(m, m0 + tiles_per_task * kMr);
            int64_t p0 = ct * panels_per_task, p1 = std::min(panels, p0 + panels_per_task);
            int64_t j0 = p0 * PackedB::kPanelWidth;
            int64_t j1 = p1 == panels ? n_store : p1 * PackedB::kPanelWidth;
            if (step > 0 && b.bf16)
                gemm_block<A, true, uint16_t>(m0, m1, j0, j1, a, lda, b, c, ldc, n_store, ep, step);
            else if (step > 0)
                gemm_block<A, true, float>(m0, m1, j0, j1, a, lda, b, c, ldc, n_store, ep, step);
            else if (b.bf16)
                gemm_block<A, false, uint16_t>(m0, m1, j0, j1, a, lda, b, c, ldc, n_store, ep, 0);
            else
                gemm_block<A, false, float>(m0, m1, j0, j1, a, lda, b, c, ldc, n_store, ep, 0);
            ep.hook(c + m0 * ldc, m1 - m0, ldc, j0, j1);
        };
        if (on_this_thread)
            for (int64_t t = 0; t < row_tasks * col_tasks; ++t) task(t);
        else
            parallel_range(row_tasks * col_tasks, task);
    });
}

}  // namespace

void gemm(int64_t m, const float* a, int64_t lda, const PackedB& b, float* c, int64_t ldc, int64_t n_store,
          const GemmEpilogue& ep, const GemmNumerics& numerics) {
    run_gemm(m, a, lda, b, c, ldc, n_store, ep, numerics, false);
}

void gemm_on_this_thread(int64_t m, const float* a, int64_t lda, const PackedB& b, float* c, int64_t ldc,
                         int64_t n_store, const GemmEpilogue& ep, const GemmNumerics& numerics) {
    run_gemm(m, a, lda, b, c, ldc, n_store, ep, numerics, true);
}

}  // namespace zoo::kernels
