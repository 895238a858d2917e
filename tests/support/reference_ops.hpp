// Naive, independent reference code for the CPU device tests: plain loops over NCHW in double precision.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace zoo_test {

inline std::string i_str(size_t i) { return std::to_string(i); }

inline std::vector<float> random_vector(size_t count, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(count);
    for (auto& x : v) x = dist(rng);
    return v;
}

// Max abs error relative to the reference's magnitude, plus Pearson correlation.
inline ::testing::AssertionResult close_to(const std::vector<float>& got, const std::vector<double>& ref,
                                          double rel_tol = 1e-5, double min_pcc = 0.999999) {
    if (got.size() != ref.size())
        return ::testing::AssertionFailure() << "size " << got.size() << " != " << ref.size();
    double max_ref = 0, max_err = 0;
    size_t worst = 0;
    double mg = 0, mr = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        if (!std::isfinite(got[i])) return ::testing::AssertionFailure() << "non-finite value at " << i;
        max_ref = std::max(max_ref, std::abs(ref[i]));
        double e = std::abs(got[i] - ref[i]);
        if (e > max_err) max_err = e, worst = i;
        mg += got[i];
        mr += ref[i];
    }
    mg /= static_cast<double>(ref.size());
    mr /= static_cast<double>(ref.size());
    double sgg = 0, srr = 0, sgr = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        sgg += (got[i] - mg) * (got[i] - mg);
        srr += (ref[i] - mr) * (ref[i] - mr);
        sgr += (got[i] - mg) * (ref[i] - mr);
    }
    double pcc = (sgg == 0 && srr == 0) ? 1.0 : sgr / std::sqrt(sgg * srr);
    if (max_err > rel_tol * std::max(max_ref, 1e-30) + 1e-30)
        return ::testing::AssertionFailure() << "max abs err " << max_err << " at " << i_str(worst) << " (got "
                                             << got[worst] << ", ref " << ref[worst] << "), max|ref| " << max_ref;
    if (ref.size() > 1 && pcc < min_pcc) return ::testing::AssertionFailure() << "PCC " << pcc;
    return ::testing::AssertionSuccess();
}

inline std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// Direct convolution, NCHW, weights [O, I/g, kh, kw].
struct RefConv {
    int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, g;
    int64_t oh() const { return (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1; }
    int64_t ow() const { return (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1; }
};

inline std::vector<double> ref_conv(const RefConv& p, const std::vector<double>& x, const std::vector<float>& wt,
                                    const std::vector<float>* bias) {
    const int64_t OH = p.oh(), OW = p.ow(), cig = p.c / p.g, cog = p.o / p.g;
    std::vector<double> y(static_cast<size_t>(p.n * p.o * OH * OW));
    for (int64_t b = 0; b < p.n; ++b)
        for (int64_t oc = 0; oc < p.o; ++oc) {
            const int64_t grp = oc / cog;
            for (int64_t oy = 0; oy < OH; ++oy)
                for (int64_t ox = 0; ox < OW; ++ox) {
                    double acc = bias ? (*bias)[static_cast<size_t>(oc)] : 0.0;
                    for (int64_t ic = 0; ic < cig; ++ic)
                        for (int64_t ky = 0; ky < p.kh; ++ky)
                            for (int64_t kx = 0; kx < p.kw; ++kx) {
                                int64_t iy = oy * p.sh - p.ph + ky * p.dh, ix = ox * p.sw - p.pw + kx * p.dw;
                                if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
                                acc += x[static_cast<size_t>(((b * p.c + grp * cig + ic) * p.h + iy) * p.w + ix)] *
                                       wt[static_cast<size_t>(((oc * cig + ic) * p.kh + ky) * p.kw + kx)];
                            }
                    y[static_cast<size_t>(((b * p.o + oc) * OH + oy) * OW + ox)] = acc;
                }
        }
    return y;
}

inline double ref_act(const std::string& act, double x) {
    if (act == "relu") return std::max(x, 0.0);
    if (act == "relu6") return std::min(std::max(x, 0.0), 6.0);
    if (act == "hardswish") return x * std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0;
    if (act == "hardsigmoid") return std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0;
    return x;
}

// NCHW <-> NHWC with channels padded to `cp` (test-side, independent of the library's converters).
inline std::vector<float> to_nhwc(const std::vector<float>& x, int64_t n, int64_t c, int64_t h, int64_t w, int64_t cp) {
    std::vector<float> y(static_cast<size_t>(n * h * w * cp), 0.0f);
    for (int64_t b = 0; b < n; ++b)
        for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t i = 0; i < h * w; ++i) y[static_cast<size_t>((b * h * w + i) * cp + ch)] = x[static_cast<size_t>((b * c + ch) * h * w + i)];
    return y;
}
inline std::vector<float> from_nhwc(const float* y, int64_t n, int64_t c, int64_t h, int64_t w, int64_t cp) {
    std::vector<float> x(static_cast<size_t>(n * c * h * w));
    for (int64_t b = 0; b < n; ++b)
        for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t i = 0; i < h * w; ++i) x[static_cast<size_t>((b * c + ch) * h * w + i)] = y[(b * h * w + i) * cp + ch];
    return x;
}


}  // namespace zoo_test
