#include "measure/accuracy.hpp"

#include <cmath>
#include <limits>

namespace zoo::runner {

Agreement compare_tensors(const Tensor& got, const Tensor& reference) {
    Agreement a;
    const size_t n = std::min(got.data.size(), reference.data.size());
    if (n == 0 || got.data.size() != reference.data.size()) {
        a.pcc = std::numeric_limits<double>::quiet_NaN();
        return a;
    }
    double mean_g = 0, mean_r = 0;
    for (size_t i = 0; i < n; ++i) {
        mean_g += got.data[i];
        mean_r += reference.data[i];
    }
    mean_g /= static_cast<double>(n);
    mean_r /= static_cast<double>(n);
    double cov = 0, var_g = 0, var_r = 0;
    bool nan = false;
    for (size_t i = 0; i < n; ++i) {
        const double g = got.data[i], r = reference.data[i];
        if (std::isnan(g) || std::isnan(r)) nan = true;
        cov += (g - mean_g) * (r - mean_r);
        var_g += (g - mean_g) * (g - mean_g);
        var_r += (r - mean_r) * (r - mean_r);
        a.max_abs_error = std::max(a.max_abs_error, std::abs(g - r));
        a.max_abs_reference = std::max(a.max_abs_reference, std::abs(r));
    }
    if (nan) {
        a.pcc = std::numeric_limits<double>::quiet_NaN();
    } else if (var_g == 0 || var_r == 0) {
        a.pcc = (var_g == 0 && var_r == 0 && a.max_abs_error == 0) ? 1.0 : 0.0;
    } else {
        a.pcc = cov / std::sqrt(var_g * var_r);
    }
    return a;
}

}  // namespace zoo::runner
