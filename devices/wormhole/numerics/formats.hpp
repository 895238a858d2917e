// Bit-exact Wormhole data formats: bfloat16, bfloat8_b, bfloat4_b (reference sheet wormhole-n150.md, section 3).
//
// What the card holds
//   bfloat16   IEEE bf16 (the top 16 bits of an fp32).
//   bfloat8_b  blocks of 16 values (one row of one 16x16 face) share one 8-bit exponent (fp32 bias 127); each value is
//              sign + 7-bit magnitude with an EXPLICIT leading bit: value = (-1)^s * mag * 2^(shared - 127 - 6).
//   bfloat4_b  the same with sign + 3-bit magnitude: value = (-1)^s * mag * 2^(shared - 127 - 2).
//   Every bfp value is therefore exactly a bf16 value (at most 7 significant bits), which is what the unpacker feeds
//   the matrix unit ("unpacking renormalises into an exact bf16").
//
// Two rounding rules (`Rounding`):
//   HostNearestEven  tt-metal's host packer (tt_metal/impl/data_format/blockfloat_common.cpp), the default: converts
//                    straight from the fp32 bit pattern, NOT via bf16 (a value is never rounded twice).
//                    bf16: round to nearest, ties to even, on the fp32 bits; NaN -> 0x7FC0 (sign dropped); +-Inf stay;
//                    a finite value above the largest bf16 rounds to Inf (that is what RNE on the bits gives);
//                    denormals are kept (rounded like any other bit pattern).
//                    bfp: shared exponent = max biased exponent of the block; each 24-bit mantissa (hidden 1 added) is
//                    shifted right by (shared - own exponent) FIRST - the bits shifted out are lost, they take no part
//                    in the rounding (no sticky bit) - then rounded to 7 / 3 bits, ties to even, saturating at
//                    127 / 7 instead of bumping the exponent. A result of 0 is stored as +0 (no -0).
//   DeviceTiesAway   the card's own packer (ISA Packers/FormatConversion.md as summarised in the sheet): magnitudes round
//                    half away from zero; denormal inputs flush to zero; bfloat4_b is bfloat8_b (rounded that way)
//                    truncated to its top 3 magnitude bits. bf16: ties away, denormals flush to a zero of the same sign.
//
// Decisions where the sources are silent or the host code has a quirk (applied to both rules):
//   * Denormal inputs to bfp (exponent field 0) encode as 0 (and lose their sign). tt-metal's host code adds the
//     hidden 1 to exponent-0 patterns as well, i.e. reads a denormal m * 2^-149 as (1 + m/2^23) * 2^-127, up to 2^22
//     times its value. The two rules agree bit for bit whenever the block holds any value >= 2^-118 (both give 0:
//     the shift by >= 9 + 17 bits clears the mantissa); they differ only for a block whose 16 values are all below
//     2^-118, where we keep the value sane and match the card, which flushes denormals (MVMUL, packer).
//   * NaN and Inf in bfp follow from working on the bit pattern: exponent 255 is the block's shared exponent, so an
//     Inf stays Inf, a NaN stays NaN when its top 6 (bfp8) / 2 (bfp4) fraction bits are not all zero (otherwise it
//     becomes Inf of the same sign: the low payload bits are rounded away), and the other values of that block
//     become 0 (they are at least one binade below). Quiet NaNs (bit 22 set, all the NaNs arithmetic produces)
//     always stay NaN.
//
// Tile byte layout (pack_tiles): a row-major [rows, cols] matrix, rows and cols multiples of 32, is cut into 32x32
// tiles stored in row-major tile order. A tile is four 16x16 faces: face0 top-left, face1 top-right, face2
// bottom-left, face3 bottom-right, each row-major. The byte image is what sits in the card's (little-endian) L1:
//   float32    4096 B: 1024 little-endian fp32 in face order.
//   bfloat16   2048 B: 1024 little-endian bf16 in face order.
//   bfloat8_b  1088 B: 64 exponent bytes (face0 rows 0..15, then faces 1, 2, 3), then 1024 bytes: datum i of the face
//              stream in byte 64 + i, (sign << 7) | magnitude.
//   bfloat4_b  576 B: 64 exponent bytes, then 512 bytes of nibbles (sign << 3) | magnitude. "Element 0 in the low bits
//              of each 32-bit word": 8 nibbles per little-endian word, element j of the word in bits 4j..4j+3, so
//              datum 2i is the LOW nibble of byte 64 + i and datum 2i+1 its HIGH nibble.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "zoo/layer_config.hpp"

namespace zoo::wormhole {

using zoo::DataFormat;

enum class Rounding : uint8_t { HostNearestEven, DeviceTiesAway };

// ---- bfloat16 (host rule) --------------------------------------------------------------------------------------
// Round to nearest even on the fp32 bits; NaN -> 0x7FC0; Inf -> 0x7F80 / 0xFF80; denormals kept.
uint16_t bf16_bits(float x);
// Ties away from zero, denormal inputs flushed to a signed zero, NaN -> 0x7FC0 (the device packer's rule).
uint16_t bf16_bits_device(float x);
float from_bf16_bits(uint16_t bits);
float round_bf16(float x);  // from_bf16_bits(bf16_bits(x))

// ---- block float, one block of 16 ----------------------------------------------------------------------------
// Values per shared exponent this code is built for (one 16-lane vector per block); the device refuses a hardware
// description whose tile.bfp_datums_per_exponent differs.
constexpr int kBfpBlockDatums = 16;
// Number of magnitude bits (7 or 3) of a bfp format; 0 for Float32 / BFloat16.
int bfp_mantissa_bits(DataFormat fmt);
bool is_bfp(DataFormat fmt);

// Encodes one block of 16 values (the caller pads a short block with zeros). `codes[i]` gets
// (sign << mantissa_bits) | magnitude; the return value is the shared exponent byte. Reference scalar code: the
// packer (pack_tiles) uses it, quantize_rows has a vectorised twin that must agree with it.
uint8_t encode_bfp_block(const float* values16, DataFormat fmt, Rounding rounding, uint8_t* codes16);
// The exact value of one datum: (-1)^s * mag * 2^(shared - 127 - (mantissa_bits - 1)); shared 255 with the leading
// magnitude bit set gives Inf/NaN as in fp32 (the datum is the top of an fp32 bit pattern with that exponent).
float decode_bfp(uint8_t code, uint8_t shared_exponent, DataFormat fmt);

// ---- fake quantisation (emulator hot path) --------------------------------------------------------------------
// Replaces every value of a row-major [rows, cols] array (row stride ld floats) by the value the card holds after
// packing it to `fmt` and unpacking it: bf16 rounds each value; bfp formats take blocks of 16 consecutive values of a
// row starting at multiples of 16 from the row start (a face row of a tile), a short tail block is padded with zeros
// (they never raise the shared exponent); Float32 leaves the data alone. Values past `cols` are neither read nor
// written.
// Vectorised (one 16-wide vector per block, a shorter path for the usual blocks whose largest value is >= 2^-102)
// and parallel over rows (TBB) for large arrays unless `parallel` is false (a caller already inside a parallel task:
// a kernel's OutputHook); thread-safe on disjoint data. Bit-identical to unpack_tiles(pack_tiles(x)).
void quantize_rows(float* data, int64_t rows, int64_t cols, int64_t ld, DataFormat fmt,
                   Rounding rounding = Rounding::HostNearestEven, bool parallel = true);
// quantize_rows(BFloat16, HostNearestEven) then quantize_rows(fmt, rounding), in one pass: what a bf16 Dst holds,
// then what the packer writes (fmt Float32: the Dst rounding only). Same bits as the two calls.
void quantize_rows_after_bf16_dest(float* data, int64_t rows, int64_t cols, int64_t ld, DataFormat fmt, Rounding rounding,
                                   bool parallel = true);

// ---- tiles ----------------------------------------------------------------------------------------------------
size_t tile_bytes(DataFormat fmt);  // 4096, 2048, 1088, 576

// Packs a row-major [rows, cols] matrix (multiples of 32, else std::invalid_argument) into tiles (layout above).
std::vector<uint8_t> pack_tiles(const float* data, int64_t rows, int64_t cols, DataFormat fmt,
                                Rounding rounding = Rounding::HostNearestEven);
// Inverse: `bytes` holds (rows / 32) * (cols / 32) tiles of `fmt`; returns the row-major [rows, cols] values.
std::vector<float> unpack_tiles(const uint8_t* bytes, int64_t rows, int64_t cols, DataFormat fmt);

}  // namespace zoo::wormhole
