// Shared pieces of the CPU kernels: SIMD vector types (GCC vector extensions, so the code stays readable and the
// compiler picks AVX-512/AVX2 under -march=native), fused activations written exactly as PyTorch evaluates them,
// the padded channel layout and an aligned, zero-initialised float buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

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

enum class Act : uint8_t { None, Relu, Relu6, Hardswish, Hardsigmoid };
const char* act_name(Act act);

// Scalar and vector activations. The formulas (and their evaluation order) follow ATen's CPU kernels so the golden
// matches PyTorch bit for bit: hardswish = x * min(max(x + 3, 0), 6) / 6, hardsigmoid = min(max(x + 3, 0), 6) / 6.
// Written with "x < 0 ? 0 : x" so a NaN propagates like torch.relu.
inline float apply_act(Act act, float x) {
    switch (act) {
        case Act::None: return x;
        case Act::Relu: return x < 0.0f ? 0.0f : x;
        case Act::Relu6: {
            float t = x < 0.0f ? 0.0f : x;
            return t > 6.0f ? 6.0f : t;
        }
        case Act::Hardswish: {
            float t = x + 3.0f;
            t = t < 0.0f ? 0.0f : t;
            t = t > 6.0f ? 6.0f : t;
            return x * t / 6.0f;
        }
        case Act::Hardsigmoid: {
            float t = x + 3.0f;
            t = t < 0.0f ? 0.0f : t;
            t = t > 6.0f ? 6.0f : t;
            return t / 6.0f;
        }
    }
    return x;
}

template <Act A>
inline Vec act_vec(Vec x) {
    const Vec zero = splat(0.0f);
    if constexpr (A == Act::None) {
        return x;
    } else if constexpr (A == Act::Relu) {
        return x < zero ? zero : x;
    } else if constexpr (A == Act::Relu6) {
        const Vec six = splat(6.0f);
        Vec t = x < zero ? zero : x;
        return t > six ? six : t;
    } else if constexpr (A == Act::Hardswish) {
        const Vec six = splat(6.0f);
        Vec t = x + splat(3.0f);
        t = t < zero ? zero : t;
        t = t > six ? six : t;
        return x * t / six;
    } else {
        const Vec six = splat(6.0f);
        Vec t = x + splat(3.0f);
        t = t < zero ? zero : t;
        t = t > six ? six : t;
        return t / six;
    }
}

// Calls f.template operator()<A>() with the activation as a compile-time constant (hot loops are instantiated per
// activation so the epilogue costs nothing when there is none).
template <class F>
inline void dispatch_act(Act act, F&& f) {
    switch (act) {
        case Act::None: f.template operator()<Act::None>(); break;
        case Act::Relu: f.template operator()<Act::Relu>(); break;
        case Act::Relu6: f.template operator()<Act::Relu6>(); break;
        case Act::Hardswish: f.template operator()<Act::Hardswish>(); break;
        case Act::Hardsigmoid: f.template operator()<Act::Hardsigmoid>(); break;
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
