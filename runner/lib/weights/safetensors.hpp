// .safetensors: u64 little-endian header length N, N bytes of JSON, then the data buffer.
//   {"__metadata__": {str: str} (optional), "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
// A file is accepted only if: N < 100 MB and fits in the file; the JSON is an object without duplicate keys; every
// tensor has exactly those three fields; dtype is one of F32 F16 BF16 F64 I64 I32 I16 I8 U8 BOOL; the offsets,
// taken in order, start at 0 and leave no gap or overlap; end - begin == numel * itemsize; the last end is the buffer
// length.
//
// Thread safety: reentrant. Nothing throws out of these functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "zoo/status.hpp"
#include "zoo/tensor.hpp"

namespace zoo::runner {

constexpr uint64_t kSafetensorsMaxHeader = 100'000'000;

// `display_name` (normally the path) prefixes every error message.
Result<WeightMap> load_safetensors_bytes(std::span<const uint8_t> bytes, const std::string& display_name);
Result<WeightMap> load_safetensors(const std::string& path);

// The bytes of a .safetensors file for `weights` (dtype choice as documented for save_safetensors in weights.hpp).
Result<std::vector<uint8_t>> encode_safetensors(const WeightMap& weights);

// True when the first bytes could start a safetensors file: a header length that is below the limit and fits in
// the file, followed by '{'.
bool looks_like_safetensors(std::span<const uint8_t> bytes);

}  // namespace zoo::runner
