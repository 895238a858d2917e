// How close two tensors are, the way tt-metal's tests judge it: Pearson correlation (PCC) over all elements, plus
// the max absolute error relative to the reference's magnitude.
#pragma once

#include "zoo/tensor.hpp"

namespace zoo::runner {

struct Agreement {
    double pcc = 0;           // 1 = perfectly correlated
    double max_abs_error = 0;
    double max_abs_reference = 0;
    double relative_max_error() const { return max_abs_reference > 0 ? max_abs_error / max_abs_reference : max_abs_error; }
};

// Shapes must hold the same number of elements. Two constant tensors that are equal have PCC 1; a constant tensor
// against a varying one has PCC 0. Any NaN gives PCC NaN (never a pass).
Agreement compare_tensors(const Tensor& got, const Tensor& reference);

}  // namespace zoo::runner
