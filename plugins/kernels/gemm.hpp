// fp32 GEMM for pointwise convolutions, im2col convolutions and linear layers:
//   C[m, j] = act(sum_k A[m, k] * B[k, j] + bias[j]) (+ residual[m, j])
// A is read in place (rows = pixels of an NHWC activation, row stride lda); B is packed once at compile time into
// column panels; the epilogue (bias, activation, residual add) is applied while the tile is still in registers.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "kernels/common.hpp"

namespace zoo::kernels {

// B packed into column panels that start every kPanelWidth (32) columns and are 32 wide, except the last, which is
// 48 wide when the padded width leaves an odd 16 (a 16-wide panel would feed one FMA per broadcast) and 16 wide only
// when B has a single vector of columns. The panel starting at column j0 holds k rows of panel_width(j0) floats at
// data + j0 * k; columns past n are zero. With `bf16` the panels hold each value's top 16 bits instead (element i
// at ((const uint16_t*)data.data())[i]; pack_b's one_tile).
struct PackedB {
    static constexpr int64_t kPanelWidth = 2 * kVecWidth;
    AlignedBuffer data;
    int64_t k = 0;
    int64_t n = 0;
    bool bf16 = false;
    int64_t padded_n() const { return round_up(n, kVecWidth); }
    int64_t panel_width(int64_t j0) const {
        int64_t rest = padded_n() - j0;
        if (rest == 3 * kVecWidth && padded_n() % kPanelWidth == kVecWidth) return rest;
        return rest < kPanelWidth ? rest : kPanelWidth;
    }
    int64_t panel_count() const {
        int64_t p = padded_n();
        return (p % kPanelWidth == kVecWidth && p > kVecWidth) ? (p - 3 * kVecWidth) / kPanelWidth + 1
                                                             : (p + kPanelWidth - 1) / kPanelWidth;
    }
};

// Packs B where element (kk, jj) is b[kk * stride_k + jj * stride_n] (so a PyTorch [out, in] weight is stride_k = 1,
// stride_n = in). one_tile: B will multiply at most one tile of rows (8: a classifier or squeeze-excite layer at a
// small batch), so the GEMM streams it once per call and is bound by its bytes; then, when every value is a bf16
// (low 16 fp32 bits zero: the emulator's weights), it is packed as bf16, half the bytes. Widening back is exact: the
// same products and sums. With more rows the widening would cost more than the bytes it saves.
PackedB pack_b(const float* b, int64_t k, int64_t n, int64_t stride_k, int64_t stride_n, bool one_tile = false);

struct GemmEpilogue {
    const float* bias = nullptr;      // padded_n() entries (zero past n) or null
    Act act = Act::None;
    const float* residual = nullptr;  // added after the activation; row stride ldr; null for none
    int64_t ldr = 0;
    OutputHook hook;                  // after everything above, per task's block of C (rows x its column panels)
};

// Numerics options for devices that emulate other hardware (the CPU device uses the defaults, which cost nothing:
// the options select separate template instantiations of the micro-kernel).
struct GemmNumerics {
    // A bfloat16 accumulator. 0 keeps fp32 sums (the host's). N > 0: the accumulator is rounded to bf16 (nearest
    // even) after every N values of K, counted from k = 0, and once more after the last k when K is not a multiple
    // of N (a matrix unit pads K with zeros, which leave the sum alone). Within a step the products are accumulated
    // in fp32 (fused multiply-adds, in k order) starting from the bf16 value, then rounded once: up to fp32 rounding
    // this is "the step's sum added to the accumulator with one rounding". The epilogue lands in the accumulator
    // too: bias add, activation and residual add are each rounded to bf16. N must divide the K blocking, so the
    // rounding points do not depend on it (gemm() throws std::invalid_argument otherwise). Which N, and when, is the
    // device's call.
    int64_t bf16_accumulator_step = 0;
};

// Round to bf16, nearest even, returned as fp32 (bit trick on the pattern; Inf stays Inf; NaN is not special-cased:
// a quiet NaN stays NaN unless its payload bits 16..22 are all ones). Shared by the GEMM and conv dest paths.
typedef uint32_t VecBits __attribute__((vector_size(64)));
inline Vec round_bf16_rne(Vec x) {
#if defined(__AVX512F__)
    // The same sum in four operations instead of five (shift, and, add, add, and): a test of bit 16 into a mask
    // register stands for the shift and the and, b + 0x8000 - 1 on the even lanes is b + 0x7FFF + bit 16. The Dest
    // kernels round after every tap or K step, so this is their inner loop's largest cost after the FMAs.
    const __m512i b = (__m512i)x;
    const __mmask16 even = _mm512_testn_epi32_mask(b, _mm512_set1_epi32(0x10000));
    __m512i r = _mm512_add_epi32(b, _mm512_set1_epi32(0x8000));
    r = _mm512_mask_sub_epi32(r, even, r, _mm512_set1_epi32(1));
    return (Vec)_mm512_and_si512(r, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u)));
#else
    VecBits b = (VecBits)x;
    b = (b + 0x7FFFu + ((b >> 16) & 1u)) & 0xFFFF0000u;
    return (Vec)b;
#endif
}
// The same rounding in three floating-point operations (Veltkamp's split of x at 8 significant bits: the high part
// of c = x * (2^16 + 1) minus (c - x)), where the bit trick above takes four integer ones. Equal to it, bit for bit,
// for +0 and for every normal x below 2^111 in magnitude; -0 gives +0; a denormal comes out at most 2^-126 in
// magnitude, as the bit trick's result does, but not the same value (the bit trick rounds its pattern at bit 16); from
// 2^111 up it is the bit trick's result or, where x * (2^16 + 1) overflows, NaN. test_dest_rounding checks these
// claims. Callers must make sure their values stay in the range where both agree: the depthwise kernels prove it of
// their running sums (conv.cpp, sums_stay_normal); the packer's short path sends a group of blocks holding a NaN or
// Inf to the exact rounding (numerics/formats.cpp). Needs FMA contraction off (the CMake default here): contracted,
// x - c would be computed exactly and the split would keep every bit.
inline Vec round_bf16_rne_normal(Vec x) {
    const Vec c = x * 65537.0f;
    return c + (x - c);
}
inline float round_bf16_rne(float x) {
    uint32_t b;
    std::memcpy(&b, &x, sizeof(b));
    b = (b + 0x7FFFu + ((b >> 16) & 1u)) & 0xFFFF0000u;
    std::memcpy(&x, &b, sizeof(b));
    return x;
}

// The activation of a bf16 Dst epilogue, rounded to bf16. Without one the value is already bf16 (the epilogue
// rounded it), and rounding it again changes no bit: skipped, which saves a quarter of the epilogue of the emulator's
// convs (they run with Act::None and leave the activation to its own step).
template <Act A>
inline Vec dest_act(Vec v) {
    if constexpr (A == Act::None) {
        return v;
    } else {
        return round_bf16_rne(act_vec<A>(v));
    }
}

// Computes columns [0, n_store) of C (row stride ldc) for m rows; n <= n_store <= round_up(n, 16). Columns in
// [n, n_store) receive act(0 + bias) (+ residual): that is how padding lanes of an activation are written with whole
// vectors. Runs in parallel (TBB) over row blocks, and over column panels when there are few rows. Each element is
// accumulated in the same order whatever the partition, so results do not depend on the thread count.
// `numerics` (optional) selects emulation options, see GemmNumerics.
void gemm(int64_t m, const float* a, int64_t lda, const PackedB& b, float* c, int64_t ldc, int64_t n_store,
          const GemmEpilogue& epilogue, const GemmNumerics& numerics = {});
// gemm on the calling thread only, for callers that already run one task per thread (a task that waited on nested
// parallel work could be handed another task of the outer loop on the same thread).
void gemm_on_this_thread(int64_t m, const float* a, int64_t lda, const PackedB& b, float* c, int64_t ldc, int64_t n_store,
                         const GemmEpilogue& epilogue, const GemmNumerics& numerics = {});

}  // namespace zoo::kernels
