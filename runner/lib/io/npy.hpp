// NumPy .npy files: how the runner exchanges inputs, outputs and reference tensors with Python.
//
// read_npy accepts format versions 1.0, 2.0 and 3.0, C order only, little-endian (or byte-order-free) dtypes
// '<f4' '<f8' '<f2' '<i8' '<i4' '<i2' '|i1' '|u1' '|b1'; every value becomes float and element_type records the stored type
// ('<i2' is carried as Int32). The data must be exactly shape-product elements: truncated files and trailing bytes are
// errors.
// write_npy writes float32, C order, version 1.0 (2.0 only if the header would not fit), which numpy.load reads.
//
// Thread safety: reentrant. Nothing throws out of these functions; errors name the file.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "zoo/status.hpp"
#include "zoo/tensor.hpp"

namespace zoo::runner {

Result<Tensor> read_npy(const std::string& path);

// The header of a .npy file, checked against the file's size, with only the header read (so a 128-byte file that
// declares a batch of 2^40 is refused before anything is compiled or allocated for it).
struct NpyInfo {
    Shape shape;
    std::string descr;   // "<f4"
    bool floating = false;  // f2, f4 or f8
};
Result<NpyInfo> inspect_npy(const std::string& path);
Status write_npy(const std::string& path, const Tensor& tensor);

// The same on bytes in memory; `display_name` prefixes errors.
Result<Tensor> decode_npy(std::span<const uint8_t> bytes, const std::string& display_name);
Result<std::vector<uint8_t>> encode_npy(const Tensor& tensor);

}  // namespace zoo::runner
