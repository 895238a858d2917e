#include "stem_conv.hpp"
#include "kernels/parallel.hpp"

#include <algorithm>
#include <cstring>

namespace zoo::cpu {

using namespace ::zoo::kernels;

namespace {

constexpr int64_t kPixels = 8;           // output pixels per register tile
constexpr int64_t kStageFloats = 16384;  // per-task staging of the input rows one output row reads (64 KiB, stack)

int64_t stage_row_floats(const ConvParams& p) {
    // One padded input row as the taps of ceil(OW / 8) * 8 pixels read it (x = iw + pad_w).
    return round_up(p.out_w(), kPixels) * p.stride_w + (p.kw - 1) * p.dil_w + 1;
}

// One output row (image n, row oh). The in_c x kh input rows it reads are first copied into zero-padded rows, so
// the tile loop has no border cases and reads each tap at a compile-time offset when the stride is a template
// argument (SW > 0; SW == 0: any stride). CIN/KH/KW > 0 likewise fix the loop counts for the usual RGB 3x3 stem.
template <int NV, int CIN, int KH, int KW, int SW, Act A>
void stem_row(const ConvParams& p, const float* in, float* out, const float* residual, const float* weights,
              const float* bias, int64_t n, int64_t oh) {
    const int64_t cin = CIN > 0 ? CIN : p.in_c, kh_n = KH > 0 ? KH : p.kh, kw_n = KW > 0 ? KW : p.kw;
    const int64_t sw = SW > 0 ? SW : p.stride_w, dw = p.dil_w;
    const int64_t OW = p.out_w(), OH = p.out_h(), cpo = NV * kVecWidth, len = stage_row_floats(p);
    alignas(64) float stage[kStageFloats];
    for (int64_t ci = 0; ci < cin; ++ci)
        for (int64_t kh = 0; kh < kh_n; ++kh) {
            float* row = stage + (ci * kh_n + kh) * len;
            const int64_t ih = oh * p.stride_h - p.pad_h + kh * p.dil_h;
            if (ih < 0 || ih >= p.in_h) {
                std::memset(row, 0, static_cast<size_t>(len) * sizeof(float));
                continue;
            }
            // Zero only the padding around the copied row.
            const int64_t copy = std::min(p.in_w, len - p.pad_w);
            std::memset(row, 0, static_cast<size_t>(p.pad_w) * sizeof(float));
            std::memcpy(row + p.pad_w, in + ((n * p.in_c + ci) * p.in_h + ih) * p.in_w, static_cast<size_t>(copy) * sizeof(float));
            std::memset(row + p.pad_w + copy, 0, static_cast<size_t>(len - p.pad_w - copy) * sizeof(float));
        }
    float* orow = out + (n * OH + oh) * OW * cpo;
    const float* rrow = residual ? residual + (n * OH + oh) * OW * cpo : nullptr;
    for (int64_t ow0 = 0; ow0 < OW; ow0 += kPixels) {
        Vec acc[kPixels][NV];
#pragma GCC unroll 8
        for (int b = 0; b < kPixels; ++b)
#pragma GCC unroll 4
            for (int j = 0; j < NV; ++j) acc[b][j] = load(bias + j * kVecWidth);
#pragma GCC unroll 7
        for (int64_t kh = 0; kh < kh_n; ++kh)
#pragma GCC unroll 7
            for (int64_t kw = 0; kw < kw_n; ++kw)
#pragma GCC unroll 4
                for (int64_t ci = 0; ci < cin; ++ci) {
                    const float* src = stage + (ci * kh_n + kh) * len + ow0 * sw + kw * dw;
                    const float* wp = weights + ((kh * kw_n + kw) * cin + ci) * cpo;
                    Vec w[NV];
#pragma GCC unroll 4
                    for (int j = 0; j < NV; ++j) w[j] = load(wp + j * kVecWidth);
#pragma GCC unroll 8
                    for (int b = 0; b < kPixels; ++b) {
                        const Vec a = splat(src[b * sw]);
#pragma GCC unroll 4
                        for (int j = 0; j < NV; ++j) acc[b][j] = madd(a, w[j], acc[b][j]);
                    }
                }
        store_pixel_tile<kPixels, NV, A>(acc, std::min(kPixels, OW - ow0), orow + ow0 * cpo, rrow ? rrow + ow0 * cpo : nullptr, cpo);
    }
}

template <int NV>
void stem_all(const ConvParams& p, const float* in, float* out, const float* residual, const float* weights,
              const float* bias, Act act) {
    const bool rgb3x3s2 = p.in_c == 3 && p.kh == 3 && p.kw == 3 && p.stride_w == 2;
    dispatch_act(act, [&]<Act A>() {
        auto row = [&](int64_t r) {
            const int64_t n = r / p.out_h(), oh = r % p.out_h();
            if (rgb3x3s2)
                stem_row<NV, 3, 3, 3, 2, A>(p, in, out, residual, weights, bias, n, oh);
            else
                stem_row<NV, 0, 0, 0, 0, A>(p, in, out, residual, weights, bias, n, oh);
        };
        parallel_range(p.batch * p.out_h(), row);
    });
}

}  // namespace

bool NchwStemConv::suits(const ConvParams& p) {
    return p.groups == 1 && p.in_c <= 4 && padded_channels(p.out_c) <= 4 * kVecWidth && p.out_w() > 0 && p.out_h() > 0 &&
           p.in_c * p.kh * stage_row_floats(p) <= kStageFloats;
}

NchwStemConv::NchwStemConv(const ConvParams& p, const float* weight, const float* bias) : m_p(p) {
    const int64_t cpo = padded_channels(p.out_c);
    m_weights.resize(static_cast<size_t>(p.kh * p.kw * p.in_c * cpo));
    for (int64_t co = 0; co < p.out_c; ++co)
        for (int64_t ci = 0; ci < p.in_c; ++ci)
            for (int64_t kh = 0; kh < p.kh; ++kh)
                for (int64_t kw = 0; kw < p.kw; ++kw)
                    m_weights.data()[((kh * p.kw + kw) * p.in_c + ci) * cpo + co] = weight[((co * p.in_c + ci) * p.kh + kh) * p.kw + kw];
    m_bias.resize(static_cast<size_t>(cpo));
    if (bias) std::memcpy(m_bias.data(), bias, static_cast<size_t>(p.out_c) * sizeof(float));
}

void NchwStemConv::run(const float* in, float* out, Act act, const float* residual) const {
    const float* w = m_weights.data();
    const float* b = m_bias.data();
    switch (padded_channels(m_p.out_c) / kVecWidth) {
        case 1: stem_all<1>(m_p, in, out, residual, w, b, act); break;
        case 2: stem_all<2>(m_p, in, out, residual, w, b, act); break;
        case 3: stem_all<3>(m_p, in, out, residual, w, b, act); break;
        default: stem_all<4>(m_p, in, out, residual, w, b, act); break;
    }
}

}  // namespace zoo::cpu
