// What --input means: images (a file or a folder, preprocessed like torchvision), an already preprocessed .npy
// tensor, or seeded random data; assembled into batches of the compiled batch size.
#pragma once

#include <string>
#include <vector>

#include "image/preprocess.hpp"
#include "zoo/tensor.hpp"

namespace zoo::runner {

struct InputSet {
    // Each batch as the argument list of CompiledModel::run: one [batch, C, H, W] tensor. Held that way so no run
    // copies its input into a `{tensor}` list (at batch 8, 4.8 MB and its page faults per timed run).
    std::vector<std::vector<Tensor>> batches;
    std::vector<std::string> item_names;  // one per real item, in order ("chelsea.png", "x.npy[2]", "random[0]")
    int64_t items = 0;                    // real items; the last batch is padded by repeating its last item
    std::string kind;                     // "images", "npy", "random"
};

// `shape` is the compiled input shape [batch, C, H, W]. `resize_shorter` = 0 keeps torchvision's default proportion.
Result<InputSet> load_inputs(const std::string& input, const Shape& shape, uint64_t seed, int resize_shorter = 0);

// The leading dimension of a .npy input (so the batch can follow the file when not given), or an error.
Result<int64_t> npy_batch(const std::string& path);
// [N, C, H, W] of a .npy input from its header alone (checked against the file size); integer dtypes are refused.
Result<Shape> npy_input_shape(const std::string& path);

// torchvision's preset proportions: the shorter side is resized to 256/224 of the crop's shorter side unless
// `resize_shorter` says otherwise (232 for torchvision's IMAGENET1K_V2 weights).
PreprocessSpec preprocess_for(int64_t height, int64_t width, int resize_shorter = 0);

bool is_npy_path(const std::string& path);

}  // namespace zoo::runner
