// torch.save state_dict files (.pth / .pt) in both formats torch has written:
//   zip     (default since torch 1.6): <root>/data.pkl + <root>/data/<key> storages; <root> is read from the entries.
//   legacy  (_use_new_zipfile_serialization=False): magic, protocol, sys_info and the object as consecutive pickles,
//           the storage key list, then per key an int64 element count and the raw little-endian bytes.
// Each tensor is rebuilt from (storage, offset, sizes, strides), so views (transposes, slices with an offset,
// expanded dims) are materialised as the C-order values torch shows for them.
//
// Strict by design: the top-level object must be a dict of name -> tensor (what model.state_dict() returns);
// checkpoints that wrap it, whole pickled models and any other pickle are refused with a message saying what was found.
//
// Thread safety: reentrant. Nothing throws out of these functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "zoo/status.hpp"
#include "zoo/tensor.hpp"

namespace zoo::runner {

enum class PthFormat { Zip, Legacy, NotPth };

// By the first bytes: "PK\x03\x04" is Zip, a pickle PROTO opcode (0x80) is Legacy (whose first pickle must then be
// torch's magic number; a plain pickle is reported as such after the restricted unpickler has looked at it).
PthFormat detect_pth_format(std::span<const uint8_t> bytes);

// `display_name` (normally the path) prefixes every error message.
Result<WeightMap> load_pth_bytes(std::span<const uint8_t> bytes, const std::string& display_name);
Result<WeightMap> load_pth(const std::string& path);

}  // namespace zoo::runner
