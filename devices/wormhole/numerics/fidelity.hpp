// Math fidelity of the Wormhole matrix unit (reference sheet wormhole-n150.md, section 4; ISA SrcASrcB.md, MVMUL.md).
//
// What the card does: the multiplier takes at most 5 mantissa bits of SrcA and 7 of SrcB (hidden bit included), so a
// bf16 x bf16 product is built from up to four phases, each one MVMUL pass accumulating into Dst:
//   phase 0  A_hi x B_hi      A_hi = hidden 1 + top 4 bits of the bf16 mantissa, B_hi = hidden 1 + top 6
//   phase 1  A_lo x B_hi      A_lo = the remaining 3 bits of A
//   phase 2  A_hi x B_lo      B_lo = the remaining 1 bit of B
//   phase 3  A_lo x B_lo
// LoFi = phase 0; HiFi2 = phases 0-1 = A x B_hi; HiFi3 = phases 0-2 = A x B_hi + A_hi x B_lo; HiFi4 = A x B (exact
// for bf16 operands). Convention (tt-perf-report): activations are SrcB, weights are SrcA. The split is a bit split
// of the sign-magnitude operand, so "hi" truncates the magnitude toward zero and keeps the sign; "lo" = x - hi, same
// sign, exactly representable.
//
// Emulation: every fidelity is at most two ordinary fp32 GEMMs on pre-split operands (FidelityPlan). Each partial
// product has at most 8 x 8 significant bits, so it is exact in fp32.
// Approximations (documented, not modelled):
//   * On the card each phase is its own pass through Dst; with a bf16 Dst every phase's accumulation is rounded.
//     The emulator sums the phases of a K step before the Dst rounding (one rounding per 16-wide K step whatever the
//     fidelity). With fp32 Dst the difference is fp32 rounding order only.
//   * Products are summed in fp32 in k order; the width of the card's internal adder tree is not published.
//   * packer_l1_acc (partial sums accumulated in L1 by the packer) is treated as numerically identical to reloading
//     Dst: the partial is stored in the Dst format and the next K block continues from it.
#pragma once

#include <cstdint>

#include "config/layer_config.hpp"

namespace zoo::wormhole {

// Which part of an operand a GEMM term reads.
enum class OperandPart : uint8_t { Full, Hi, Lo };

// out = sum over terms of GEMM(activation part, weight part). At most two terms:
//   LoFi   GEMM(B_hi, A_hi)
//   HiFi2  GEMM(B_hi, A)
//   HiFi3  GEMM(B_hi, A) + GEMM(B_lo, A_hi)
//   HiFi4  GEMM(B, A)
struct FidelityTerm {
    OperandPart activation;  // SrcB
    OperandPart weight;      // SrcA
};
struct FidelityPlan {
    int term_count = 1;
    FidelityTerm terms[2] = {{OperandPart::Full, OperandPart::Full}, {OperandPart::Full, OperandPart::Full}};
    // Which split operands the plan reads (the emulator prepares only those).
    bool needs_activation_split() const;
    bool needs_weight_split() const;
};
FidelityPlan fidelity_plan(MathFidelity fidelity);

// Mantissa bits (hidden included) of the "hi" part: SrcA 5, SrcB 7.
constexpr int kSrcAHiBits = 5;
constexpr int kSrcBHiBits = 7;
// fp32 masks of a finite value's "hi" part: sign, exponent and the top hi_bits - 1 fraction bits (hidden bit
// implicit): SrcA keeps 4 of the 7 bf16 fraction bits, SrcB 6.
constexpr uint32_t hi_mask(int hi_bits) { return ~((1u << (23 - (hi_bits - 1))) - 1u); }
constexpr uint32_t kSrcAHiMask = hi_mask(kSrcAHiBits);  // 0xFFF80000
constexpr uint32_t kSrcBHiMask = hi_mask(kSrcBHiBits);  // 0xFFFE0000

// Bit splits of bf16-representable values (already quantised: the low 16 fp32 bits are zero, else the low bits go
// to "lo" as well, which keeps hi + lo == in). hi + lo == in exactly for every finite input (denormals included:
// a pure bit split; flushing them is the formats' job); Inf/NaN give hi = in, lo = 0. `lo` may be null. In-place
// (hi == in) is allowed. Vectorised; not parallel (the caller splits weights once and activations per layer).
void split_srca(const float* in, float* hi, float* lo, int64_t n);  // weights: hi keeps hidden + 4 bits
void split_srcb(const float* in, float* hi, float* lo, int64_t n);  // activations: hi keeps hidden + 6 bits

float srca_hi(float a);
float srcb_hi(float b);

// The product the matrix unit forms for one pair at a fidelity (bf16-representable operands): a reference for
// tests and scalar paths. `a` is the SrcA operand (weight), `b` the SrcB operand (activation).
float fidelity_product(float a, float b, MathFidelity fidelity);

}  // namespace zoo::wormhole
