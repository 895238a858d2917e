// The shared conv kernels with a bf16 accumulator (ConvOptions::bf16_accumulator_step 16, force_im2col and
// pad_tap_channels: the Wormhole emulator's options) on MobileNetV3 / V2 layer shapes, batch 1, one thread. Inputs and
// weights are bf16 values of normal magnitude, so the depthwise kernels take their Veltkamp rounding (conv.cpp,
// DwSums). Time per call is the figure; compare builds on one machine, in one session.
//   build/bin/bench_dest_kernels [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <random>
#include <vector>

#include "kernels/conv.hpp"

namespace {

using namespace zoo::kernels;

// groups == channels: depthwise; the stem (3 -> 16) runs the tap-step direct kernel.
void conv(benchmark::State& state, int64_t size, int64_t in_c, int64_t out_c, int64_t k, int64_t stride, int64_t groups) {
    ConvParams p;
    p.in_h = p.in_w = size;
    p.in_c = in_c;
    p.out_c = out_c;
    p.kh = p.kw = k;
    p.stride_h = p.stride_w = stride;
    p.pad_h = p.pad_w = (k - 1) / 2;
    p.groups = groups;
    ConvOptions options;
    options.force_im2col = true;
    options.pad_tap_channels = true;
    options.bf16_accumulator_step = 16;
    std::mt19937 rng(1);
    std::normal_distribution<float> d(0.0f, 1.0f);
    auto bf16 = [&](float scale) { return round_bf16_rne(d(rng) * scale); };
    std::vector<float> weights(static_cast<size_t>(out_c * (in_c / groups) * k * k)), bias(static_cast<size_t>(out_c));
    for (float& w : weights) w = bf16(0.3f);
    for (float& b : bias) b = bf16(0.1f);
    const ConvKernel kernel(p, weights.data(), bias.data(), options);
    const int64_t cp_in = padded_channels(in_c), cp_out = padded_channels(out_c);
    AlignedBuffer in(static_cast<size_t>(size * size * cp_in)), out(static_cast<size_t>(p.out_h() * p.out_w() * cp_out));
    AlignedBuffer scratch(static_cast<size_t>(std::max<int64_t>(kernel.scratch_floats(), 1)));
    for (int64_t i = 0; i < size * size; ++i)
        for (int64_t c = 0; c < cp_in; ++c) in.data()[i * cp_in + c] = c < in_c ? bf16(1.0f) : 0.0f;
    tbb::task_arena one_thread(1);
    one_thread.execute([&] {
        for (auto _ : state) {
            kernel.run(in.data(), out.data(), Act::None, nullptr, scratch.data());
            benchmark::ClobberMemory();
        }
    });
}

}  // namespace

// MobileNetV3-Small: the stem and its depthwise convs (plane path from 28 x 28, row path above).
BENCHMARK_CAPTURE(conv, stem_224x3_16, 224, 3, 16, 3, 2, 1);
BENCHMARK_CAPTURE(conv, dw3_s2_112x16, 112, 16, 16, 3, 2, 16);
BENCHMARK_CAPTURE(conv, dw3_s2_56x72, 56, 72, 72, 3, 2, 72);
BENCHMARK_CAPTURE(conv, dw3_s1_28x88, 28, 88, 88, 3, 1, 88);
BENCHMARK_CAPTURE(conv, dw5_s2_28x96, 28, 96, 96, 5, 2, 96);
BENCHMARK_CAPTURE(conv, dw5_s1_14x240, 14, 240, 240, 5, 1, 240);
BENCHMARK_CAPTURE(conv, dw5_s1_7x576, 7, 576, 576, 5, 1, 576);
// MobileNetV3-Large / V2 row-path shapes.
BENCHMARK_CAPTURE(conv, dw3_s1_112x16, 112, 16, 16, 3, 1, 16);
BENCHMARK_CAPTURE(conv, dw3_s1_56x144, 56, 144, 144, 3, 1, 144);
BENCHMARK_CAPTURE(conv, dw5_s2_56x72, 56, 72, 72, 5, 2, 72);
// A pointwise GEMM for scale (its rounding every 16 K is the bit trick's).
BENCHMARK_CAPTURE(conv, pw_28x96_576, 28, 96, 576, 1, 1, 1);
