// Shared pieces of the CPU kernels: SIMD vector types (GCC vector extensions, so the code stays readable and the
// compiler picks AVX-512/AVX2 under -march=native), fused activations written exactly as PyTorch evaluates them,
// the padded channel layout and an aligned, zero-initialised float buffer.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#if defined(__AVX512F__) || defined(__FMA__)
#include <immintrin.h>
#endif

#include "zoo/activation.hpp"

namespace zoo::kernels {

// 16 floats: one AVX-512 register. `VecU` is the unaligned, may-alias flavour used to load/store activations.
typedef float Vec __attribute__((vector_size(64)));
typedef float VecU __attribute__((vector_size(64), aligned(4), may_alias));
constexpr int64_t kVecWidth = 16;

// Activations keep channels innermost and padded to a multiple of kChannelAlign, so every per-channel kernel runs on
// whole vectors. Padding lanes always hold finite values (weights and biases are zero-padded) and are never read as
// real data.
constexpr int64_t kChannelAlign = kVecWidth;

constexpr int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }
constexpr int64_t padded_channels(int64_t c) { return round_up(c, kChannelAlign); }

inline Vec load(const float* p) { return *reinterpret_cast<const VecU*>(p); }
inline void store(float* p, Vec v) { *reinterpret_cast<VecU*>(p) = v; }
// Written as an initializer (not Vec{} + x, which must keep a scalar 0 + x for -0.0) so it is one vbroadcastss.
inline Vec splat(float x) { return Vec{x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }

// a * b + c rounded once: the kernels' only multiply-add. Everything builds with -ffp-contract=off (the top-level
// CMakeLists.txt), so whether a product is fused is written here, not left to the optimiser: GCC contracts a * b + c
// at -O2 but not at -O1, which gave the emulator other bits in the -O1 sanitizer builds. Every path is a true fused
// multiply-add, so all builds agree bit for bit (the generic one is slow, per lane; no supported host takes it).
inline Vec madd(Vec a, Vec b, Vec c) {
#if defined(__AVX512F__)
    return (Vec)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c);
#elif defined(__FMA__)
    typedef float Half __attribute__((vector_size(32)));
    auto lo = [](Vec v) { return (__m256)__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7); };
    auto hi = [](Vec v) { return (__m256)__builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15); };
    const Half l = (Half)_mm256_fmadd_ps(lo(a), lo(b), lo(c)), h = (Half)_mm256_fmadd_ps(hi(a), hi(b), hi(c));
    return __builtin_shufflevector(l, h, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
#else
    Vec r;
    for (int i = 0; i < kVecWidth; ++i) r[i] = std::fma(a[i], b[i], c[i]);
    return r;
#endif
}
inline float madd(float a, float b, float c) { return std::fma(a, b, c); }

// The fused activation of a kernel: none, or one of zoo/activation.hpp's list (same order, so Act k+1 is ActivationId k).
enum class Act : uint8_t {
    None,
#define ZOO_KERNEL_ACT__(name, text, category) name,
    ZOO_ACTIVATION_LIST(ZOO_KERNEL_ACT__)
#undef ZOO_KERNEL_ACT__
};
inline Act act_for(ActivationId a) { return static_cast<Act>(static_cast<uint8_t>(a) + 1); }
constexpr ActivationId activation_id(Act a) { return static_cast<ActivationId>(static_cast<uint8_t>(a) - 1); }
const char* act_name(Act act);

// Scalar activation: the SDK's fp32 reference (ATen's formulas, so the golden matches PyTorch).
inline float apply_act(Act act, float x) { return act == Act::None ? x : activation_reference(activation_id(act), x); }

// The vector arithmetic the SDK formulas are evaluated with in the kernels' epilogue: the same expression, lane-wise.
struct VecMath {
    using T = Vec;
    static Vec c(float v) { return splat(v); }
    // No vector exp in the GCC extensions: per lane with the scalar exp, so vector and scalar results are identical.
    static Vec exp(Vec x) {
        Vec r;
        for (int i = 0; i < kVecWidth; ++i) r[i] = std::exp(x[i]);
        return r;
    }
};

template <Act A>
inline Vec act_vec(Vec x) {
    if constexpr (A == Act::None) {
        return x;
    } else {
        return ActivationFormula<activation_id(A)>::template apply<VecMath>(x);
    }
}

// Calls f.template operator()<A>() with the activation as a compile-time constant (hot loops are instantiated per
// activation so the epilogue costs nothing when there is none).
template <class F>
inline void dispatch_act(Act act, F&& f) {
    switch (act) {
        case Act::None: f.template operator()<Act::None>(); break;
#define ZOO_KERNEL_DISPATCH__(name, text, category) \
    case Act::name: f.template operator()<Act::name>(); break;
        ZOO_ACTIVATION_LIST(ZOO_KERNEL_DISPATCH__)
#undef ZOO_KERNEL_DISPATCH__
    }
}

// Epilogue of a register tile of PIXELS output pixels x NV vectors of channels (pixel stride cp): activation, then
// the residual (when not null) added, stored for the first `valid` pixels. Shared by the direct convolutions.
template <int PIXELS, int NV, Act A>
__attribute__((always_inline)) inline void store_pixel_tile(const Vec (&acc)[PIXELS][NV], int64_t valid, float* out,
                                                            const float* residual, int64_t cp) {
#pragma GCC unroll 8
    for (int b = 0; b < PIXELS; ++b) {
        if (b >= valid) break;
#pragma GCC unroll 4
        for (int j = 0; j < NV; ++j) {
            Vec v = act_vec<A>(acc[b][j]);
            if (residual) v += load(residual + b * cp + j * kVecWidth);
            store(out + b * cp + j * kVecWidth, v);
        }
    }
}

// A device's own epilogue on finished output (the emulator's Dst rounding, packer and fused activation), run by a
// kernel (GEMM, convolutions, binary) on the thread that computed a block of output, right after its last store, while the block is still in
// cache: fn(ctx, first_row, rows, ld, c0, c1) on columns [c0, c1) of `rows` rows starting at first_row (column 0 of
// the block's first row, row stride ld floats). c0 is a multiple of 16; the blocks of one call cover the output once.
// It must not start parallel work (it runs inside the kernel's tasks). Null fn: none.
struct OutputHook {
    void (*fn)(const void* ctx, float* first_row, int64_t rows, int64_t ld, int64_t c0, int64_t c1) = nullptr;
    const void* ctx = nullptr;
    void operator()(float* first_row, int64_t rows, int64_t ld, int64_t c0, int64_t c1) const {
        if (fn) fn(ctx, first_row, rows, ld, c0, c1);
    }
};

// 64-byte aligned, zero-initialised float storage with a little slack past the end so whole-vector reads of the last
// (padded) row never leave the allocation.
class AlignedBuffer {
public:
    AlignedBuffer() = default;
    explicit AlignedBuffer(size_t count) { resize(count); }
    AlignedBuffer(const AlignedBuffer&) = delete;
    AlignedBuffer& operator=(const AlignedBuffer&) = delete;
    AlignedBuffer(AlignedBuffer&& o) noexcept : m_data(std::exchange(o.m_data, nullptr)), m_size(std::exchange(o.m_size, 0)) {}
    AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
        if (this != &o) {
            std::free(m_data);
            m_data = std::exchange(o.m_data, nullptr);
            m_size = std::exchange(o.m_size, 0);
        }
        return *this;
    }
    ~AlignedBuffer() { std::free(m_data); }

    // Discards the contents; the new storage is zeroed.
    void resize(size_t count) {
        std::free(m_data);
        m_data = nullptr;
        m_size = count;
        size_t bytes = round_up(static_cast<int64_t>((count + kSlack) * sizeof(float)), 64);
        m_data = static_cast<float*>(std::aligned_alloc(64, bytes));
        if (m_data == nullptr) throw std::bad_alloc();
        std::memset(m_data, 0, bytes);
    }
    float* data() { return m_data; }
    const float* data() const { return m_data; }
    size_t size() const { return m_size; }

private:
    static constexpr size_t kSlack = 64;
    float* m_data = nullptr;
    size_t m_size = 0;
};

}  // namespace zoo::kernels
