// Math fidelity operand splits: see fidelity.hpp for the facts (ISA SrcASrcB.md, MVMUL.md) and the approximations.
#include "numerics/fidelity.hpp"

#include <bit>
#include <cstring>

namespace zoo::wormhole {

namespace {

typedef uint32_t VU __attribute__((vector_size(64)));
typedef float VF __attribute__((vector_size(64)));

constexpr uint32_t kMaskA = kSrcAHiMask;
constexpr uint32_t kMaskB = kSrcBHiMask;
static_assert(kMaskA == 0xFFF80000u && kMaskB == 0xFFFE0000u);

inline float hi_scalar(float x, uint32_t mask) {
    const uint32_t b = std::bit_cast<uint32_t>(x);
    if ((b & 0x7F800000u) == 0x7F800000u) return x;  // Inf/NaN pass through whole
    return std::bit_cast<float>(b & mask);
}

template <uint32_t Mask>
void split(const float* in, float* hi, float* lo, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        VU b;
        std::memcpy(&b, in + i, sizeof(b));
        const VU special = (VU)((b & 0x7F800000u) == 0x7F800000u);
        const VU h = (b & Mask) | (b & special);
        VF x, hf;
        std::memcpy(&x, &b, sizeof(x));
        std::memcpy(&hf, &h, sizeof(hf));
        VF l = x - hf;  // exact: the low bits of x with x's exponent
        const VU lb = (VU)l & ~special;
        std::memcpy(hi + i, &h, sizeof(h));
        if (lo) std::memcpy(lo + i, &lb, sizeof(lb));
    }
    for (; i < n; ++i) {
        const float x = in[i];
        const float h = hi_scalar(x, Mask);
        hi[i] = h;
        if (lo) lo[i] = h == x ? 0.0f : x - h;
    }
}

}  // namespace

bool FidelityPlan::needs_activation_split() const {
    for (int t = 0; t < term_count; ++t)
        if (terms[t].activation != OperandPart::Full) return true;
    return false;
}
bool FidelityPlan::needs_weight_split() const {
    for (int t = 0; t < term_count; ++t)
        if (terms[t].weight != OperandPart::Full) return true;
    return false;
}

FidelityPlan fidelity_plan(MathFidelity fidelity) {
    FidelityPlan p;
    switch (fidelity) {
        case MathFidelity::LoFi: p.terms[0] = {OperandPart::Hi, OperandPart::Hi}; break;
        case MathFidelity::HiFi2: p.terms[0] = {OperandPart::Hi, OperandPart::Full}; break;
        case MathFidelity::HiFi3:
            p.term_count = 2;
            p.terms[0] = {OperandPart::Hi, OperandPart::Full};
            p.terms[1] = {OperandPart::Lo, OperandPart::Hi};
            break;
        case MathFidelity::HiFi4: p.terms[0] = {OperandPart::Full, OperandPart::Full}; break;
    }
    return p;
}

void split_srca(const float* in, float* hi, float* lo, int64_t n) { split<kMaskA>(in, hi, lo, n); }
void split_srcb(const float* in, float* hi, float* lo, int64_t n) { split<kMaskB>(in, hi, lo, n); }

float srca_hi(float a) { return hi_scalar(a, kMaskA); }
float srcb_hi(float b) { return hi_scalar(b, kMaskB); }

float fidelity_product(float a, float b, MathFidelity fidelity) {
    const float ah = srca_hi(a), bh = srcb_hi(b);
    const float bl = b - bh;
    switch (fidelity) {
        case MathFidelity::LoFi: return ah * bh;
        case MathFidelity::HiFi2: return a * bh;
        case MathFidelity::HiFi3: return a * bh + ah * bl;
        case MathFidelity::HiFi4: return a * b;
    }
    return a * b;
}

}  // namespace zoo::wormhole
