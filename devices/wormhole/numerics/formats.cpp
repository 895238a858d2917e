// Formats: scalar reference encoders (used by the tile packer) and their vectorised twins (used by quantize_rows).
// See formats.hpp for the rules and the reference facts they implement.
#include "numerics/formats.hpp"
#include "kernels/gemm.hpp"
#include "kernels/parallel.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace zoo::wormhole {

namespace {

// 16 lanes: one block of a bfp format is one AVX-512 register (GCC vector extensions, as the kernels use).
typedef uint32_t VU __attribute__((vector_size(64)));
typedef int32_t VI __attribute__((vector_size(64)));
typedef float VF __attribute__((vector_size(64)));
constexpr int kBlock = kBfpBlockDatums;

inline VU load_bits(const float* p) {
    VU v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}
inline void store_bits(float* p, VU v) { std::memcpy(p, &v, sizeof(v)); }
inline VU splat_u(uint32_t x) { return VU{} + x; }

inline uint32_t f2u(float x) { return std::bit_cast<uint32_t>(x); }
inline float u2f(uint32_t x) { return std::bit_cast<float>(x); }

// Max of the 16 lanes. Halving the width at each step (512 -> 256 -> 128 bits) costs about half of four full-width
// shuffle + max rounds.
typedef uint32_t VU8 __attribute__((vector_size(32)));
typedef uint32_t VU4 __attribute__((vector_size(16)));
inline uint32_t horizontal_max(VU v) {
    const VU8 lo = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
    const VU8 hi = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    const VU8 m8 = lo > hi ? lo : hi;
    const VU4 a = __builtin_shufflevector(m8, m8, 0, 1, 2, 3), b = __builtin_shufflevector(m8, m8, 4, 5, 6, 7);
    VU4 m4 = a > b ? a : b;
    VU4 s = __builtin_shufflevector(m4, m4, 2, 3, 0, 1);
    m4 = m4 > s ? m4 : s;
    s = __builtin_shufflevector(m4, m4, 1, 0, 3, 2);
    m4 = m4 > s ? m4 : s;
    return m4[0];
}

// ---- scalar reference ----------------------------------------------------------------------------------------

// Magnitude code of one value (fp32 bits) against the block's shared exponent. MB = 7 (bfp8) or 3 (bfp4).
uint32_t encode_magnitude(uint32_t bits, uint32_t shared, int mb, Rounding rounding) {
    const uint32_t e = (bits >> 23) & 0xFFu;
    if (e == 0) return 0;  // zero or denormal: flushed (see formats.hpp)
    uint32_t m = (bits & 0x7FFFFFu) | 0x800000u;
    const uint32_t d = shared - e;
    m = d >= 32 ? 0 : m >> d;  // bits shifted out here are lost: no sticky bit (host rule, blockfloat_common.cpp)
    if (rounding == Rounding::HostNearestEven) {
        const int s = 24 - mb;
        const uint32_t half = 1u << (s - 1);
        const uint32_t rem = m & ((1u << s) - 1);
        uint32_t q = m >> s;
        if (rem > half || (rem == half && (q & 1u))) ++q;
        return std::min(q, (1u << mb) - 1);  // saturate instead of bumping the exponent
    }
    // Device packer: bfp8 with ties away from zero (on the magnitude), saturating; bfp4 truncated from it.
    const uint32_t half = 1u << 16;
    uint32_t q = (m >> 17) + ((m & 0x1FFFFu) >= half ? 1u : 0u);
    q = std::min(q, 127u);
    return mb == 3 ? q >> 4 : q;
}

// ---- vector twins ---------------------------------------------------------------------------------------------

// One block (16 values as fp32 bits) -> the fp32 bits of the values the card holds. Returns false (leaving `out`
// alone) for a block with exponent 255 (Inf/NaN), which takes the scalar path.
template <int MB, bool Device>
inline bool quantize_block_vec(VU bits, VU& out) {
    const VU e = (bits >> 23) & 0xFFu;
    const uint32_t shared = horizontal_max(e);
    if (shared == 255u) return false;
    if (shared == 0u) {  // zeros and denormals only
        out = splat_u(0);
        return true;
    }
    VU m = (bits & 0x7FFFFFu) | 0x800000u;
    m &= (VU)(e != 0u);
    VU d = splat_u(shared) - e;
    d = d > 31u ? splat_u(31) : d;  // m < 2^24, so a shift by 31 clears it like any larger shift
    m >>= d;
    VU q;
    if constexpr (!Device) {
        constexpr uint32_t s = 24 - MB, half = 1u << (s - 1), maxq = (1u << MB) - 1;
        const VU rem = m & ((1u << s) - 1);
        q = m >> s;
        const VI up = (rem > half) | ((rem == half) & ((q & 1u) != 0u));
        q -= (VU)up;  // mask is -1 where rounding up
        q = q > maxq ? splat_u(maxq) : q;
    } else {
        const VU rem = m & 0x1FFFFu;
        q = m >> 17;
        q -= (VU)(rem >= (1u << 16));
        q = q > 127u ? splat_u(127) : q;
        if constexpr (MB == 3) q >>= 4;
    }
    // value = q * 2^-(MB-1) * 2^(shared-127): both products exact (q has <= 7 bits; a denormal result still has its
    // lowest bit >= 2^-132 > 2^-149). Needs FTZ/DAZ off, which is the default.
    VF f = __builtin_convertvector((VI)q, VF) * (1.0f / float(1u << (MB - 1)));
    f *= u2f(shared << 23);
    VU fb = (VU)f;
    out = fb | (bits & 0x80000000u & (VU)(q != 0u));
    return true;
}

// The common case of quantize_block_vec, with fewer operations and the same bits: a block whose shared exponent
// is in [kFastMinShared, 254] (no Inf/NaN, largest value >= 2^-102). There a denormal input needs no flush (its
// mantissa is shifted right by d = shared >= 25 > 23 bits, which clears it), the result's scale
// 2^(shared - 127 - (MB - 1)) is a normal float (so q is scaled by one exact multiply), and the sign is applied to
// the integer code (a zero code gives +0, as the packer stores it). Returns false for the other blocks.
constexpr uint32_t kFastMinShared = 25;

inline VU min_u(VU a, VU b) { return a < b ? a : b; }

// The short path's arithmetic, given the block's shared exponent field (exponent << 23) in every lane.
template <int MB, bool Device>
inline VU quantize_block_shared(VU bits, VU exp_field, VU shared_field) {
#if defined(__AVX512F__) && defined(__AVX512DQ__)
    if constexpr (Device && MB == 7) {
        // The device's bfloat8_b in floating point, six operations where the integer form below takes fifteen (the
        // packer's hot path: every layer's output). The integer form computes q = ((M >> d) + 2^16) >> 17 for the
        // 24-bit mantissa M and d = shared - exponent, which is floor(M / 2^(d+17) + 1/2) = floor(|x| / ulp + 1/2)
        // with ulp = 2^(shared - 127 - 6): the bits the first shift drops cannot change a floor taken after adding
        // an integer. Here y = x / ulp is exact (a power-of-two scaling, |y| < 128) wherever |y| >= 1/2 matters;
        // y + copysign(1/2, y) rounded toward zero keeps its integer part (every integer up to 2^24 is a float, so
        // no sum crosses one), truncating it gives sign * floor(|y| + 1/2), and the code times ulp is the value.
        // Denormal and small lanes give |y| < 1/2, hence 0, as the integer form's shift does. shared in [25, 254]
        // keeps ulp and 1/ulp normal.
        const __m512 ulp = (__m512)(shared_field - (6u << 23));
        const __m512 inv_ulp = (__m512)(splat_u((127u + 127u + 6u) << 23) - shared_field);
        // vrangeps imm 0x02: the operand of smaller magnitude, with the sign of the first. |y| clamped to 127 (the
        // saturation: floor(|y| + 1/2) >= 127 exactly when |y| >= 126.5); copysign(1/2, y) where |y| >= 1/2, y itself
        // below (then |2y| < 1 truncates to 0 as well).
        __m512 y = _mm512_mul_ps((__m512)bits, inv_ulp);
        y = _mm512_range_ps(y, _mm512_set1_ps(127.0f), 0x02);
        const __m512 half = _mm512_range_ps(y, _mm512_set1_ps(0.5f), 0x02);
        // (The zero-masking forms with every lane kept: GCC 12's unmasked ones warn about their undefined source.)
        const __m512 t = _mm512_maskz_add_round_ps(0xFFFF, y, half, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        const __m512 q = _mm512_maskz_roundscale_ps(0xFFFF, t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        // q * ulp + 0: exact, and a zero code of a negative value comes out +0, as the packer stores it.
        return (VU)_mm512_fmadd_ps(q, ulp, _mm512_setzero_ps());
    }
#endif
    VU m = (bits & 0x7FFFFFu) | 0x800000u;
    VU d = (shared_field - exp_field) >> 23;
    d = min_u(d, splat_u(31));  // m < 2^24: a shift by 31 clears it like any larger shift
    m >>= d;                     // bits shifted out are lost (no sticky bit), as in the reference
    VU q;
    if constexpr (!Device) {
        // Round to nearest, ties to even, at bit s: add half - 1 plus the kept lowest bit, then shift.
        constexpr uint32_t s = 24 - MB, half = 1u << (s - 1), maxq = (1u << MB) - 1;
        q = (m + (half - 1u) + ((m >> s) & 1u)) >> s;
        q = min_u(q, splat_u(maxq));
    } else {
        // Ties away from zero at bit 17 (bfp8), saturating; bfp4 keeps the top 3 of those 7 bits.
        q = (m + (1u << 16)) >> 17;
        q = min_u(q, splat_u(127));
        if constexpr (MB == 3) q >>= 4;
    }
    const VI sign = (VI)bits >> 31;  // 0 or -1
    const VI signed_q = ((VI)q ^ sign) - sign;
    const VU scale = shared_field - (static_cast<uint32_t>(MB - 1) << 23);
    return (VU)(__builtin_convertvector(signed_q, VF) * (VF)scale);
}

template <int MB, bool Device>
inline bool quantize_block_fast(VU bits, VU& out) {
    const VU exp_field = bits & 0x7F800000u;
    const uint32_t shared_field = horizontal_max(exp_field);
    if (shared_field - (kFastMinShared << 23) > ((254u - kFastMinShared) << 23)) return false;
    out = quantize_block_shared<MB, Device>(bits, exp_field, splat_u(shared_field));
    return true;
}

// Whether any lane's shared exponent field is outside the short path's range.
inline bool any_outside_fast_range(VU shared_field) {
    const VU off = shared_field - (kFastMinShared << 23);
    constexpr uint32_t kSpan = (254u - kFastMinShared) << 23;
#if defined(__AVX512F__)
    // The compare straight into a mask register: from the vector compare GCC built a vector of the mask and tested
    // that again, two more operations on the packer's critical path.
    return _mm512_cmpgt_epu32_mask((__m512i)off, _mm512_set1_epi32(static_cast<int>(kSpan))) != 0;
#else
    const VU outside = (VU)(off > kSpan);
    uint32_t r = 0;
    for (int i = 0; i < kBlock; ++i) r |= outside[i];
    return r != 0;
#endif
}

// Lane 4I of v in every lane. After quantize_4_blocks_fast's reduction block I's shared exponent fills 128-bit lane I:
// vshufi32x4 with an immediate spreads it, where a vpermd needs an index vector (GCC rebuilt it per block, mov +
// vpbroadcastd; from a constant index vector it chose a slower sequence). The zero-masking form with every lane kept:
// GCC 12's unmasked one warns about its undefined source.
template <int I>
inline VU spread_lane(VU v) {
#if defined(__AVX512F__)
    return (VU)_mm512_maskz_shuffle_i32x4(0xFFFF, (__m512i)v, (__m512i)v, I * 0x55);
#else
    return __builtin_shuffle(v, splat_u(4 * I));
#endif
}

// Four blocks on the short path, their shared exponents found together: one transposing reduction (8 lanes of each
// block, then 4, 2, 1) costs about a third of four separate horizontal maxima. Returns false, leaving `out` alone,
// when any of the four needs another path.
template <int MB, bool Device>
inline bool quantize_4_blocks_fast(const VU (&bits)[4], VU (&out)[4]) {
    VU e[4];
    // Unrolled, so the four blocks stay in registers (rolled, GCC kept them on the stack and rebuilt the constants for
    // every group of four: a third of the packer's time).
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) e[i] = bits[i] & 0x7F800000u;
    auto vmax = [](VU a, VU b) { return a > b ? a : b; };
    const VU lo8 = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
    const VU hi8 = {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31};
    const VU t01 = vmax(__builtin_shuffle(e[0], e[1], lo8), __builtin_shuffle(e[0], e[1], hi8));  // 8 lanes per block
    const VU t23 = vmax(__builtin_shuffle(e[2], e[3], lo8), __builtin_shuffle(e[2], e[3], hi8));
    const VU lo4 = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27};
    const VU hi4 = {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31};
    VU u = vmax(__builtin_shuffle(t01, t23, lo4), __builtin_shuffle(t01, t23, hi4));  // lanes 4i..4i+3: block i
    u = vmax(u, __builtin_shuffle(u, VU{2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13}));
    u = vmax(u, __builtin_shuffle(u, VU{1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14}));
    if (any_outside_fast_range(u)) return false;
    out[0] = quantize_block_shared<MB, Device>(bits[0], e[0], spread_lane<0>(u));
    out[1] = quantize_block_shared<MB, Device>(bits[1], e[1], spread_lane<1>(u));
    out[2] = quantize_block_shared<MB, Device>(bits[2], e[2], spread_lane<2>(u));
    out[3] = quantize_block_shared<MB, Device>(bits[3], e[3], spread_lane<3>(u));
    return true;
}

template <bool Device>
inline VU bf16_vec(VU bits) {
    VU r;
    if constexpr (!Device) {
        // The kernels' rounding (four operations with AVX-512); the packer runs it on every value of an op whose
        // result is not bf16 already.
        r = (VU)zoo::kernels::round_bf16_rne((zoo::kernels::Vec)bits);
#if defined(__AVX512F__) && defined(__AVX512DQ__)
        // NaN found by vfpclassps: six operations in all, where the generic NaN test below adds three.
        const __mmask16 nan = _mm512_fpclass_ps_mask((__m512)bits, 0x81);  // QNaN | SNaN
        return (VU)_mm512_mask_mov_epi32((__m512i)r, nan, _mm512_set1_epi32(0x7FC00000));
#endif
    } else {
        r = (bits + 0x8000u) & 0xFFFF0000u;
        r = (bits & 0x7F800000u) == 0u ? (bits & 0x80000000u) : r;
    }
    return (bits & 0x7FFFFFFFu) > 0x7F800000u ? splat_u(0x7FC00000u) : r;
}

// Scalar block path (Inf/NaN blocks and the reference).
void quantize_block_scalar(float* v16, DataFormat fmt, Rounding rounding) {
    uint8_t codes[kBlock];
    const uint8_t shared = encode_bfp_block(v16, fmt, rounding, codes);
    for (int i = 0; i < kBlock; ++i) v16[i] = decode_bfp(codes[i], shared, fmt);
}

template <int MB, bool Device>
inline VU quantized(VU bits) {
    constexpr DataFormat fmt = MB == 7 ? DataFormat::BFloat8_b : DataFormat::BFloat4_b;
    constexpr Rounding rounding = Device ? Rounding::DeviceTiesAway : Rounding::HostNearestEven;
    VU out;
    if (quantize_block_fast<MB, Device>(bits, out) || quantize_block_vec<MB, Device>(bits, out)) return out;
    alignas(64) float tmp[kBlock];
    store_bits(tmp, bits);
    quantize_block_scalar(tmp, fmt, rounding);
    return load_bits(tmp);
}

// With DestBf16 every value is first rounded to bf16, nearest even (what a bf16 Dst holds before the packer runs).
template <bool DestBf16>
inline VU dest_round(VU bits) {
    if constexpr (DestBf16) return bf16_vec<false>(bits);
    return bits;
}

// The first `lanes` values at p (1..16), zeros in the other lanes; and the first `lanes` lanes of v stored at p, the
// memory past them untouched. With AVX-512 a masked load / store: as cheap as a whole vector, and it never touches
// the lanes it leaves out (a short tail block costs what a whole one does and needs no room past the row).
inline VU load_lanes(const float* p, int lanes) {
    if (lanes == kBlock) return load_bits(p);
#if defined(__AVX512F__)
    return (VU)_mm512_maskz_loadu_epi32(static_cast<__mmask16>((1u << lanes) - 1u), p);
#else
    VU v{};
    std::memcpy(&v, p, static_cast<size_t>(lanes) * sizeof(float));
    return v;
#endif
}
inline void store_lanes(float* p, int lanes, VU v) {
    if (lanes == kBlock) return store_bits(p, v);
#if defined(__AVX512F__)
    _mm512_mask_storeu_epi32(p, static_cast<__mmask16>((1u << lanes) - 1u), (__m512i)v);
#else
    std::memcpy(p, &v, static_cast<size_t>(lanes) * sizeof(float));
#endif
}

// Blocks [c0, c1) of `rows` rows (row stride ld); c1 - c0 need not be a multiple of 16: each row's short tail block
// is padded with zeros, and the values past c1 are left alone. The blocks, tails included, go four at a time in
// row-major order, a group spanning rows when the rows are narrow (a kernel's output block of one or two blocks a
// row, a layer of 16 or 24 channels).
template <int MB, bool Device, bool DestBf16>
void quantize_rows_bfp(float* data, int64_t rows, int64_t ld, int64_t c0, int64_t c1) {
    const int64_t cols = c1 - c0, per_row = (cols + kBlock - 1) / kBlock, total = rows * per_row;
    const int tail = static_cast<int>(cols - (per_row - 1) * kBlock);  // lanes of a row's last block, 1..16
    int64_t r = 0, b = 0;  // the next block: row r, block b of the row
    auto next = [&](int& lanes) {
        float* p = data + r * ld + c0 + b * kBlock;
        lanes = b + 1 == per_row ? tail : kBlock;
        if (++b == per_row) b = 0, ++r;
        return p;
    };
    // With DestBf16 the short path rounds to bf16 by Veltkamp's split (round_bf16_rne_normal: three operations where
    // the exact rounding takes six; bench_packer's AfterDest cases take 13-16% less time), and a group it
    // does not take goes to the exact rounding from the values as loaded. Where the short path runs (every shared
    // exponent field in [25, 254]) the two roundings give the same bits: lanes of +0 or of a normal below 2^111 get
    // the same value (-0 comes out +0: a zero code either way, stored +0); a denormal lane gets an exponent field
    // <= 1 from both, below a block's shared exponent by more than 23 bits, so it neither sets that exponent nor keeps
    // a non-zero code; a lane from 2^111 up gets the same value or NaN / Inf, whose field 255 sends its group to the
    // exact path, as a NaN or Inf lane does.
    int64_t i = 0;
    for (; i + 4 <= total; i += 4) {
        float* p[4];
        int lanes[4];
        VU loaded[4], bits[4], out[4];
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
            p[k] = next(lanes[k]);
            loaded[k] = load_lanes(p[k], lanes[k]);
            bits[k] = DestBf16 ? (VU)zoo::kernels::round_bf16_rne_normal((zoo::kernels::Vec)loaded[k]) : loaded[k];
        }
        if (!quantize_4_blocks_fast<MB, Device>(bits, out))
            for (int k = 0; k < 4; ++k) out[k] = quantized<MB, Device>(dest_round<DestBf16>(loaded[k]));
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) store_lanes(p[k], lanes[k], out[k]);
    }
    for (; i < total; ++i) {
        int lanes;
        float* p = next(lanes);
        store_lanes(p, lanes, quantized<MB, Device>(dest_round<DestBf16>(load_lanes(p, lanes))));
    }
}

template <bool Device, bool DestBf16>
void quantize_rows_bf16(float* data, int64_t rows, int64_t ld, int64_t c0, int64_t c1) {
    for (int64_t r = 0; r < rows; ++r) {
        float* row = data + r * ld;
        int64_t c = c0;
        for (; c + kBlock <= c1; c += kBlock) store_bits(row + c, bf16_vec<Device>(dest_round<DestBf16>(load_bits(row + c))));
        for (; c < c1; ++c) {
            const float x = DestBf16 ? round_bf16(row[c]) : row[c];
            row[c] = from_bf16_bits(Device ? bf16_bits_device(x) : bf16_bits(x));
        }
    }
}

// Work items of quantize_rows: (row, chunk of columns), chunks multiples of 16 so blocks stay aligned to the row
// start; consecutive rows of one chunk each go to the span as one call. The format is a template parameter: one
// dispatch per call, not per row.
constexpr int64_t kChunk = 4096;
template <void (*Span)(float*, int64_t, int64_t, int64_t, int64_t)>
void quantize_items(float* data, int64_t i0, int64_t i1, int64_t chunks, int64_t cols, int64_t ld) {
    if (chunks == 1) {
        Span(data + i0 * ld, i1 - i0, ld, 0, cols);
        return;
    }
    for (int64_t i = i0; i < i1; ++i) {
        const int64_t r = i / chunks, c0 = (i % chunks) * kChunk;
        Span(data + r * ld, 1, ld, c0, std::min(cols, c0 + kChunk));
    }
}

using ItemsFn = void (*)(float*, int64_t, int64_t, int64_t, int64_t, int64_t);
template <int MB, bool DestBf16>
ItemsFn bfp_items(bool device) {
    return device ? quantize_items<quantize_rows_bfp<MB, true, DestBf16>> : quantize_items<quantize_rows_bfp<MB, false, DestBf16>>;
}
// Null when there is nothing to do (Float32 without the Dst rounding).
template <bool DestBf16>
ItemsFn items_for(DataFormat fmt, Rounding r) {
    const bool dev = r == Rounding::DeviceTiesAway;
    switch (fmt) {
        case DataFormat::Float32: return DestBf16 ? quantize_items<quantize_rows_bf16<false, false>> : nullptr;
        case DataFormat::BFloat16:
            return dev ? quantize_items<quantize_rows_bf16<true, DestBf16>> : quantize_items<quantize_rows_bf16<false, DestBf16>>;
        case DataFormat::BFloat8_b: return bfp_items<7, DestBf16>(dev);
        case DataFormat::BFloat4_b: return bfp_items<3, DestBf16>(dev);
    }
    return nullptr;
}

void quantize_rows_with(ItemsFn items_fn, float* data, int64_t rows, int64_t cols, int64_t ld, bool elementwise,
                        bool parallel) {
    if (!items_fn || rows <= 0 || cols <= 0) return;
    // Rows without padding lanes that split into whole blocks are one long row with the same blocks.
    if (ld == cols && (elementwise || cols % kBlock == 0) && rows > 1) {
        cols *= rows;
        ld = cols;
        rows = 1;
    }
    const int64_t chunks = (cols + kChunk - 1) / kChunk;
    const int64_t items = rows * chunks;
    if (!parallel || rows * cols < (int64_t{1} << 15)) {
        items_fn(data, 0, items, chunks, cols, ld);
        return;
    }
    // About 16K values per task.
    const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / std::min(cols, kChunk));
    zoo::kernels::parallel_chunks(items, grain, [&](int64_t b, int64_t e) { items_fn(data, b, e, chunks, cols, ld); });
}

void check_tiled(int64_t rows, int64_t cols) {
    if (rows < 0 || cols < 0 || rows % 32 != 0 || cols % 32 != 0)
        throw std::invalid_argument("tiles need rows and cols multiples of 32, got " + std::to_string(rows) + " x " +
                                    std::to_string(cols));
}

}  // namespace

// ---- bfloat16 -------------------------------------------------------------------------------------------------

uint16_t bf16_bits(float x) {
    const uint32_t b = f2u(x);
    if ((b & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FC0;
    return static_cast<uint16_t>((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
}

uint16_t bf16_bits_device(float x) {
    const uint32_t b = f2u(x);
    if ((b & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FC0;
    if ((b & 0x7F800000u) == 0) return static_cast<uint16_t>((b >> 16) & 0x8000u);
    return static_cast<uint16_t>((b + 0x8000u) >> 16);
}

float from_bf16_bits(uint16_t bits) { return u2f(static_cast<uint32_t>(bits) << 16); }
float round_bf16(float x) { return from_bf16_bits(bf16_bits(x)); }

// ---- block float ----------------------------------------------------------------------------------------------

int bfp_mantissa_bits(DataFormat fmt) {
    return fmt == DataFormat::BFloat8_b ? 7 : fmt == DataFormat::BFloat4_b ? 3 : 0;
}
bool is_bfp(DataFormat fmt) { return bfp_mantissa_bits(fmt) != 0; }

uint8_t encode_bfp_block(const float* values16, DataFormat fmt, Rounding rounding, uint8_t* codes16) {
    const int mb = bfp_mantissa_bits(fmt);
    if (mb == 0) throw std::invalid_argument("encode_bfp_block: not a block-float format");
    uint32_t shared = 0;
    for (int i = 0; i < kBlock; ++i) shared = std::max(shared, (f2u(values16[i]) >> 23) & 0xFFu);
    for (int i = 0; i < kBlock; ++i) {
        const uint32_t bits = f2u(values16[i]);
        const uint32_t q = encode_magnitude(bits, shared, mb, rounding);
        const uint32_t sign = q != 0 ? bits >> 31 : 0u;  // no -0
        codes16[i] = static_cast<uint8_t>((sign << mb) | q);
    }
    return static_cast<uint8_t>(shared);
}

float decode_bfp(uint8_t code, uint8_t shared, DataFormat fmt) {
    const int mb = bfp_mantissa_bits(fmt);
    const uint32_t sign = (code >> mb) & 1u;
    const uint32_t mag = code & ((1u << mb) - 1);
    const uint32_t lead = 1u << (mb - 1);
    if (mag == 0) return sign ? -0.0f : 0.0f;
    if (shared == 255 && mag >= lead)  // the top of an fp32 pattern with exponent 255: Inf or NaN
        return u2f((sign << 31) | (0xFFu << 23) | ((mag & (lead - 1)) << (23 - (mb - 1))));
    const float v = std::ldexp(static_cast<float>(mag), static_cast<int>(shared) - 127 - (mb - 1));
    return sign ? -v : v;
}

// ---- fake quantisation ----------------------------------------------------------------------------------------

void quantize_rows(float* data, int64_t rows, int64_t cols, int64_t ld, DataFormat fmt, Rounding rounding, bool parallel) {
    quantize_rows_with(items_for<false>(fmt, rounding), data, rows, cols, ld,
                       fmt == DataFormat::BFloat16, parallel);
}

void quantize_rows_after_bf16_dest(float* data, int64_t rows, int64_t cols, int64_t ld, DataFormat fmt, Rounding rounding,
                                   bool parallel) {
    quantize_rows_with(items_for<true>(fmt, rounding), data, rows, cols, ld,
                       fmt == DataFormat::BFloat16 || fmt == DataFormat::Float32, parallel);
}

// ---- tiles ----------------------------------------------------------------------------------------------------

size_t tile_bytes(DataFormat fmt) {
    switch (fmt) {
        case DataFormat::Float32: return 4096;
        case DataFormat::BFloat16: return 2048;
        case DataFormat::BFloat8_b: return 64 + 1024;
        case DataFormat::BFloat4_b: return 64 + 512;
    }
    return 0;
}

std::vector<uint8_t> pack_tiles(const float* data, int64_t rows, int64_t cols, DataFormat fmt, Rounding rounding) {
    check_tiled(rows, cols);
    const size_t tb = tile_bytes(fmt);
    const int64_t tiles_r = rows / 32, tiles_c = cols / 32;
    std::vector<uint8_t> out(static_cast<size_t>(tiles_r * tiles_c) * tb, 0);
    const bool dev = rounding == Rounding::DeviceTiesAway;
    for (int64_t tr = 0; tr < tiles_r; ++tr)
        for (int64_t tc = 0; tc < tiles_c; ++tc) {
            uint8_t* tile = out.data() + static_cast<size_t>(tr * tiles_c + tc) * tb;
            for (int face = 0; face < 4; ++face)
                for (int r = 0; r < 16; ++r) {
                    const float* src = data + (tr * 32 + (face / 2) * 16 + r) * cols + tc * 32 + (face % 2) * 16;
                    const int idx0 = face * 256 + r * 16;  // index of the row's first datum in the face stream
                    switch (fmt) {
                        case DataFormat::Float32:
                            for (int i = 0; i < 16; ++i) {
                                const uint32_t b = f2u(src[i]);
                                for (int k = 0; k < 4; ++k) tile[(idx0 + i) * 4 + k] = static_cast<uint8_t>(b >> (8 * k));
                            }
                            break;
                        case DataFormat::BFloat16:
                            for (int i = 0; i < 16; ++i) {
                                const uint16_t b = dev ? bf16_bits_device(src[i]) : bf16_bits(src[i]);
                                tile[(idx0 + i) * 2] = static_cast<uint8_t>(b);
                                tile[(idx0 + i) * 2 + 1] = static_cast<uint8_t>(b >> 8);
                            }
                            break;
                        case DataFormat::BFloat8_b:
                        case DataFormat::BFloat4_b: {
                            uint8_t codes[16];
                            tile[face * 16 + r] = encode_bfp_block(src, fmt, rounding, codes);
                            uint8_t* body = tile + 64;
                            if (fmt == DataFormat::BFloat8_b) {
                                for (int i = 0; i < 16; ++i) body[idx0 + i] = codes[i];
                            } else {
                                for (int i = 0; i < 16; i += 2)
                                    body[(idx0 + i) / 2] = static_cast<uint8_t>(codes[i] | (codes[i + 1] << 4));
                            }
                            break;
                        }
                    }
                }
        }
    return out;
}

std::vector<float> unpack_tiles(const uint8_t* bytes, int64_t rows, int64_t cols, DataFormat fmt) {
    check_tiled(rows, cols);
    const size_t tb = tile_bytes(fmt);
    const int64_t tiles_r = rows / 32, tiles_c = cols / 32;
    std::vector<float> out(static_cast<size_t>(rows * cols));
    for (int64_t tr = 0; tr < tiles_r; ++tr)
        for (int64_t tc = 0; tc < tiles_c; ++tc) {
            const uint8_t* tile = bytes + static_cast<size_t>(tr * tiles_c + tc) * tb;
            for (int face = 0; face < 4; ++face)
                for (int r = 0; r < 16; ++r) {
                    float* dst = out.data() + (tr * 32 + (face / 2) * 16 + r) * cols + tc * 32 + (face % 2) * 16;
                    const int idx0 = face * 256 + r * 16;
                    for (int i = 0; i < 16; ++i) {
                        const int idx = idx0 + i;
                        switch (fmt) {
                            case DataFormat::Float32: {
                                uint32_t b = 0;
                                for (int k = 0; k < 4; ++k) b |= static_cast<uint32_t>(tile[idx * 4 + k]) << (8 * k);
                                dst[i] = u2f(b);
                                break;
                            }
                            case DataFormat::BFloat16:
                                dst[i] = from_bf16_bits(static_cast<uint16_t>(tile[idx * 2] | (tile[idx * 2 + 1] << 8)));
                                break;
                            case DataFormat::BFloat8_b: dst[i] = decode_bfp(tile[64 + idx], tile[face * 16 + r], fmt); break;
                            case DataFormat::BFloat4_b: {
                                const uint8_t byte = tile[64 + idx / 2];
                                const uint8_t code = (idx % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
                                dst[i] = decode_bfp(code, tile[face * 16 + r], fmt);
                                break;
                            }
                        }
                    }
                }
        }
    return out;
}

}  // namespace zoo::wormhole
