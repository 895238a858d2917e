// The emulator's packer on MobileNetV3-shaped activations: a whole layer's rows at once (as a step's store does) and
// a GEMM hook's blocks (rows x 32 columns of a wider row, as the kernels' OutputHook hands them over). Values per
// second is the figure; compare runs on one machine, in one session.
//   build/bin/bench_packer [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <vector>

#include "numerics/formats.hpp"

namespace {

using zoo::wormhole::DataFormat;
using zoo::wormhole::Rounding;

void quantize_after_dest(float* p, int64_t rows, int64_t cols, int64_t ld) {
    zoo::wormhole::quantize_rows_after_bf16_dest(p, rows, cols, ld, DataFormat::BFloat8_b, Rounding::DeviceTiesAway, false);
}
void quantize_packed(float* p, int64_t rows, int64_t cols, int64_t ld) {
    zoo::wormhole::quantize_rows(p, rows, cols, ld, DataFormat::BFloat8_b, Rounding::DeviceTiesAway, false);
}

// rows x cols real channels, row stride ld (cols padded to 16); dest: fp32 values a bf16 Dst still has to round
// (an activation's output), else values a bf16 Dst already holds (a kernel that rounded them).
void pack(benchmark::State& state, bool dest, int64_t block_cols) {
    const int64_t rows = state.range(0), cols = state.range(1), ld = (cols + 15) / 16 * 16;
    std::mt19937 rng(1);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> base(static_cast<size_t>(rows * ld), 0.0f), work;
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
            const float x = d(rng);
            base[static_cast<size_t>(r * ld + c)] = dest ? x : zoo::wormhole::round_bf16(x);
        }
    const auto packer = dest ? quantize_after_dest : quantize_packed;
    // The whole layer, or a hook's blocks: 64 rows x block_cols columns at a time.
    const int64_t block_rows = block_cols == 0 ? rows : 64, step = block_cols == 0 ? cols : block_cols;
    for (auto _ : state) {
        state.PauseTiming();
        work = base;
        state.ResumeTiming();
        for (int64_t r0 = 0; r0 < rows; r0 += block_rows)
            for (int64_t c0 = 0; c0 < cols; c0 += step)
                packer(work.data() + r0 * ld + c0, std::min(block_rows, rows - r0), std::min(step, cols - c0), ld);
        benchmark::DoNotOptimize(work.data());
    }
    state.SetItemsProcessed(state.iterations() * rows * cols);
}

void Layer_AfterDest(benchmark::State& s) { pack(s, true, 0); }
void Layer_Packed(benchmark::State& s) { pack(s, false, 0); }
void HookBlocks_AfterDest(benchmark::State& s) { pack(s, true, 32); }
void HookBlocks_Packed(benchmark::State& s) { pack(s, false, 32); }

// MobileNetV3-Small at 224: the stem (112^2 x 16), an expansion (56^2 x 72), a block (28^2 x 88), 14^2 x 240, 7^2 x 576.
#define SHAPES ->Args({12544, 16})->Args({3136, 72})->Args({784, 88})->Args({196, 240})->Args({49, 576})
BENCHMARK(Layer_AfterDest) SHAPES;
BENCHMARK(Layer_Packed) SHAPES;
BENCHMARK(HookBlocks_AfterDest) SHAPES;
BENCHMARK(HookBlocks_Packed) SHAPES;

}  // namespace
