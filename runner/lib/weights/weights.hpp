// The front door for weight files: load a torch .pth (zip or legacy) or a .safetensors file into a WeightMap, and
// save a WeightMap as .safetensors. Also the element decoding every loader shares (half, bfloat16, integers -> float).
//
// Thread safety: every function here is reentrant; none keeps state between calls.
// Errors: expected failures come back as Status/Result naming the file (and the tensor key where there is one);
// nothing throws out of these functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "zoo/status.hpp"
#include "zoo/tensor.hpp"

namespace zoo::runner {

// Loads every tensor of a weight file. The format is chosen by the first bytes, not the file name:
//   "PK\x03\x04"  torch.save zip format (.pth/.pt, the default since torch 1.6)
//   0x80 ...      torch.save legacy format (_use_new_zipfile_serialization=False); its first pickle must be torch's magic
//   otherwise     .safetensors when the extension says so or the first 8 bytes are a plausible header length before '{'.
// Pickles are read by a restricted unpickler that executes nothing and refuses every global but torch's tensor-rebuild ones.
Result<WeightMap> load_weights(const std::string& path);

// Writes `weights` as .safetensors: Int64 tensors as I64, Int32/Int8/UInt8/Bool as I32/I8/U8/BOOL (their values are
// checked to be representable), every other tensor as F32. Tensors are laid out in key order with no gaps.
Status save_safetensors(const std::string& path, const WeightMap& weights);

// Reads a whole file. Errors name the path and the reason (missing, a directory, unreadable).
Result<std::vector<uint8_t>> read_binary_file(const std::string& path);

// How elements are stored in a file. Wider than ElementType because files may hold int16, which the host carries as
// Int32 (ElementType has no Int16 and every int16 fits).
enum class StoredType : uint8_t { F32, F64, F16, BF16, I64, I32, I16, I8, U8, Bool };

size_t stored_type_size(StoredType t);
// The ElementType a tensor loaded from this stored type records (I16 -> Int32, see above).
ElementType stored_type_element_type(StoredType t);
// Safetensors spelling: "F32", "BF16", "BOOL", ...
const char* stored_type_name(StoredType t);

// Decodes `count` little-endian elements of type `t` from `src` (which must hold count * stored_type_size(t) bytes,
// no alignment required) into `dst`. Integers are converted to the nearest float.
void decode_stored_elements(StoredType t, const uint8_t* src, size_t count, float* dst);

// IEEE half / bfloat16 bit patterns to float, exactly (subnormals, infinities and NaNs included).
float half_bits_to_float(uint16_t bits);
float bfloat16_bits_to_float(uint16_t bits);

}  // namespace zoo::runner
