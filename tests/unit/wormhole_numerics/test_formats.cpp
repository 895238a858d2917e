// Wormhole data formats: hand-computed bf16 / bfloat8_b / bfloat4_b encodings, tile byte layout, and the agreement of
// the fast fake quantisation with the byte-exact packer.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "numerics/formats.hpp"

using namespace zoo::wormhole;
using zoo::DataFormat;

namespace {

float f(uint32_t bits) { return std::bit_cast<float>(bits); }
uint32_t u(float x) { return std::bit_cast<uint32_t>(x); }

// Quantises one block of 16 (padded with zeros) through quantize_rows.
std::vector<float> quant16(std::vector<float> v, DataFormat fmt, Rounding r = Rounding::HostNearestEven) {
    v.resize(16, 0.0f);
    quantize_rows(v.data(), 1, 16, 16, fmt, r);
    return v;
}

void expect_bits_eq(const std::vector<float>& got, const std::vector<float>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
        EXPECT_EQ(u(got[i]), u(want[i])) << "element " << i << ": got " << got[i] << ", want " << want[i];
}

}  // namespace

// ---- bfloat16 -----------------------------------------------------------------------------------------------------

TEST(WhBf16, RoundsToNearestEven) {
    EXPECT_EQ(bf16_bits(1.0f), 0x3F80);
    EXPECT_EQ(bf16_bits(f(0x3F808000)), 0x3F80);  // exact tie, 0x3F80 is even: down
    EXPECT_EQ(bf16_bits(f(0x3F818000)), 0x3F82);  // exact tie, 0x3F81 is odd: up
    EXPECT_EQ(bf16_bits(f(0x3F808001)), 0x3F81);  // just above the tie
    EXPECT_EQ(bf16_bits(f(0x3F807FFF)), 0x3F80);  // just below
    EXPECT_EQ(bf16_bits(f(0xBF808000)), 0xBF80);  // negative tie: magnitude to even
    EXPECT_EQ(bf16_bits(f(0xBF818000)), 0xBF82);
    EXPECT_EQ(bf16_bits(f(0x3FFF8000)), 0x4000);  // carry into the exponent
    EXPECT_EQ(bf16_bits(-0.0f), 0x8000);
    EXPECT_EQ(round_bf16(3.14159265f), f(0x40490000));
}

TEST(WhBf16, SpecialValues) {
    EXPECT_EQ(bf16_bits(f(0x7FC00001)), 0x7FC0);
    EXPECT_EQ(bf16_bits(f(0xFFC00000)), 0x7FC0);  // sign of NaN dropped
    EXPECT_EQ(bf16_bits(f(0x7F800001)), 0x7FC0);  // signalling NaN with low payload: still NaN, not Inf
    EXPECT_EQ(bf16_bits(f(0x7FFFFFFF)), 0x7FC0);  // would carry out of the exponent without the NaN check
    EXPECT_EQ(bf16_bits(std::numeric_limits<float>::infinity()), 0x7F80);
    EXPECT_EQ(bf16_bits(-std::numeric_limits<float>::infinity()), 0xFF80);
    EXPECT_EQ(bf16_bits(f(0x7F7F0000)), 0x7F7F);  // max finite bf16 stays
    EXPECT_EQ(bf16_bits(f(0x7F7F7FFF)), 0x7F7F);
    EXPECT_EQ(bf16_bits(f(0x7F7F8000)), 0x7F80);  // tie above max finite (odd): Inf
    EXPECT_EQ(bf16_bits(std::numeric_limits<float>::max()), 0x7F80);
    EXPECT_EQ(bf16_bits(f(0xFF7FFFFF)), 0xFF80);
    EXPECT_TRUE(std::isnan(round_bf16(std::numeric_limits<float>::quiet_NaN())));
}

TEST(WhBf16, DenormalsKeptByHostFlushedByDevice) {
    EXPECT_EQ(bf16_bits(f(0x00010000)), 0x0001);  // smallest bf16 denormal
    EXPECT_EQ(bf16_bits(f(0x80010001)), 0x8001);
    EXPECT_EQ(bf16_bits(f(0x00008000)), 0x0000);  // tie to even zero
    EXPECT_EQ(bf16_bits(f(0x00018000)), 0x0002);  // tie, odd: up
    EXPECT_EQ(bf16_bits(f(0x007FFFFF)), 0x0080);  // largest denormal rounds to the smallest normal
    EXPECT_EQ(bf16_bits_device(f(0x00010000)), 0x0000);
    EXPECT_EQ(bf16_bits_device(f(0x807FFFFF)), 0x8000);
}

TEST(WhBf16, DeviceRoundsTiesAway) {
    EXPECT_EQ(bf16_bits_device(f(0x3F808000)), 0x3F81);  // host: 0x3F80
    EXPECT_EQ(bf16_bits_device(f(0xBF808000)), 0xBF81);
    EXPECT_EQ(bf16_bits_device(f(0x3F807FFF)), 0x3F80);
    EXPECT_EQ(bf16_bits_device(f(0x7FC00001)), 0x7FC0);
    EXPECT_EQ(bf16_bits_device(std::numeric_limits<float>::infinity()), 0x7F80);
    // quantize_rows agrees with the scalar rules (vector body and scalar tail).
    std::vector<float> v = {f(0x3F808000), f(0xBF808000), f(0x00010000), f(0x3F818000)};
    std::vector<float> w = v;
    quantize_rows(v.data(), 1, 4, 4, DataFormat::BFloat16, Rounding::DeviceTiesAway);
    expect_bits_eq(v, {f(0x3F810000), f(0xBF810000), 0.0f, f(0x3F820000)});
    std::vector<float> big(32, f(0x3F808000));
    quantize_rows(big.data(), 1, 32, 32, DataFormat::BFloat16, Rounding::DeviceTiesAway);
    for (float x : big) EXPECT_EQ(u(x), 0x3F810000u);
    quantize_rows(w.data(), 1, 4, 4, DataFormat::BFloat16, Rounding::HostNearestEven);
    expect_bits_eq(w, {1.0f, -1.0f, f(0x00010000), f(0x3F820000)});
}

// ---- bfloat8_b ----------------------------------------------------------------------------------------------------

// Shared exponent 137 (1024). 1 and 3 shift out entirely (and -1 loses its sign); 40 = 1.25 * 2^5 shifts to 2.5 and
// rounds to even 2 (= 32); -56 = -1.75 * 2^5 -> 3.5 rounds to even 4 (= -64); 48 -> 3 exactly; -0 encodes as +0.
TEST(WhBfp8, HostRuleOnAHandComputedBlock) {
    const std::vector<float> in = {1024.0f, 1.0f, -1.0f, 40.0f, -56.0f, 48.0f, -0.0f, 0.0f, 3.0f};
    std::vector<float> padded = in;
    padded.resize(16, 0.0f);
    uint8_t codes[16];
    EXPECT_EQ(encode_bfp_block(padded.data(), DataFormat::BFloat8_b, Rounding::HostNearestEven, codes), 137);
    const uint8_t want_codes[16] = {64, 0, 0, 2, 0x84, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 16; ++i) EXPECT_EQ(codes[i], want_codes[i]) << i;
    std::vector<float> want = {1024.0f, 0.0f, 0.0f, 32.0f, -64.0f, 48.0f, 0.0f, 0.0f, 0.0f};
    want.resize(16, 0.0f);
    expect_bits_eq(quant16(in, DataFormat::BFloat8_b), want);  // +0 everywhere a value vanished
}

TEST(WhBfp8, SaturatesInsteadOfBumpingTheExponent) {
    // 255.99998 (0x437FFFFF) is the block max: mantissa 0xFFFFFF rounds to 128 -> saturates at 127 -> 254.
    // 255 (0x437F0000): 127.5, a tie on an odd value -> 128 -> 127 -> 254 as well.
    expect_bits_eq(quant16({f(0x437FFFFF)}, DataFormat::BFloat8_b), quant16({254.0f}, DataFormat::Float32));
    // (1.0 is 7 binades down: its mantissa shifts to exactly half a unit, a tie on 0, so it rounds to even 0.)
    expect_bits_eq(quant16({255.0f, -255.0f, 1.0f}, DataFormat::BFloat8_b), quant16({254.0f, -254.0f, 0.0f}, DataFormat::Float32));
    // A smaller value rounding up into the next binade is fine (shift 1: 0x7FFFFF.. -> 64 = 128 * 2^-1).
    expect_bits_eq(quant16({256.0f, f(0x437FFFFF)}, DataFormat::BFloat8_b), quant16({256.0f, 256.0f}, DataFormat::Float32));
}

TEST(WhBfp8, BitsShiftedOutTakeNoPartInRounding) {
    // Shared exponent 128 (2.0). 0x3F820001 = 1.015625 + 2^-23 sits just above the midpoint of 1.0 and 1.03125, but the
    // host shifts its mantissa right by one first (dropping the final 1), sees an exact tie and rounds to even: 1.0.
    expect_bits_eq(quant16({2.0f, f(0x3F820001)}, DataFormat::BFloat8_b), quant16({2.0f, 1.0f}, DataFormat::Float32));
    // As the block max it keeps all its bits: grid 2^-6, 65/64 = 1.015625 + a remainder of 1 below the tie.
    expect_bits_eq(quant16({f(0x3F820001)}, DataFormat::BFloat8_b), quant16({1.015625f}, DataFormat::Float32));
}

TEST(WhBfp8, ZerosDenormalsAndSpecialValues) {
    // All zeros: exponent 0, codes 0.
    std::vector<float> z(16, 0.0f);
    z[3] = -0.0f;
    uint8_t codes[16];
    EXPECT_EQ(encode_bfp_block(z.data(), DataFormat::BFloat8_b, Rounding::HostNearestEven, codes), 0);
    for (uint8_t c : codes) EXPECT_EQ(c, 0);
    expect_bits_eq(quant16(z, DataFormat::BFloat8_b), std::vector<float>(16, 0.0f));
    // Denormal inputs flush to +0 (documented decision), even alone in their block.
    expect_bits_eq(quant16({f(0x00400000), f(0x80000001)}, DataFormat::BFloat8_b), std::vector<float>(16, 0.0f));
    // Beside the smallest normal: 2^-126 survives (decodes into the fp32 denormal range exactly), 2^-127 flushes.
    std::vector<float> tiny = quant16({f(0x00800000), f(0x00400000), f(0x80C00000)}, DataFormat::BFloat8_b);
    EXPECT_EQ(u(tiny[0]), 0x00800000u);
    EXPECT_EQ(u(tiny[1]), 0u);
    EXPECT_EQ(u(tiny[2]), 0x80C00000u);
    // Inf keeps its block's exponent 255: stays Inf, the finite neighbours vanish; a quiet NaN stays NaN; a NaN whose
    // payload is only in the low bits rounds to Inf.
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<float> s = quant16({inf, 3.0f, -inf}, DataFormat::BFloat8_b);
    EXPECT_EQ(u(s[0]), u(inf));
    EXPECT_EQ(u(s[1]), 0u);
    EXPECT_EQ(u(s[2]), u(-inf));
    std::vector<float> n = quant16({f(0x7FC00000), f(0x7F800001), 1.0f}, DataFormat::BFloat8_b);
    EXPECT_TRUE(std::isnan(n[0]));
    EXPECT_EQ(u(n[1]), u(inf));
    EXPECT_EQ(u(n[2]), 0u);
}

TEST(WhBfp8, DeviceRuleRoundsTiesAway) {
    // 40 in a block with 1024: 2.5 -> host 2 (even) = 32, device 3 = 48. -56: 3.5 -> 4 both ways.
    std::vector<float> host = quant16({1024.0f, 40.0f, -56.0f, 48.0f}, DataFormat::BFloat8_b, Rounding::HostNearestEven);
    std::vector<float> dev = quant16({1024.0f, 40.0f, -56.0f, 48.0f}, DataFormat::BFloat8_b, Rounding::DeviceTiesAway);
    EXPECT_EQ(host[1], 32.0f);
    EXPECT_EQ(dev[1], 48.0f);
    EXPECT_EQ(host[2], -64.0f);
    EXPECT_EQ(dev[2], -64.0f);
    EXPECT_EQ(dev[3], 48.0f);
}

// ---- bfloat4_b ----------------------------------------------------------------------------------------------------

// Shared exponent 127. Magnitudes in units of 2^-2: 1.875 -> 7.5 -> 8 saturates to 7; 0.625 = 2.5 -> 2 (even);
// 0.875 = 3.5 -> 4; -0.3 -> 1.2 -> 1; 0.1 -> 0.4 -> 0; -0.12 -> 0.48 -> +0; 0.125 = 0.5 -> 0 (even); -0.1875 = 0.75 -> 1.
TEST(WhBfp4, HostRuleOnAHandComputedBlock) {
    const std::vector<float> in = {1.0f, 1.75f, 1.875f, 0.75f, -0.3f, 0.625f, 0.875f, 0.1f, -0.12f, 0.125f, -0.1875f};
    std::vector<float> padded = in;
    padded.resize(16, 0.0f);
    uint8_t codes[16];
    EXPECT_EQ(encode_bfp_block(padded.data(), DataFormat::BFloat4_b, Rounding::HostNearestEven, codes), 127);
    const uint8_t want_codes[16] = {4, 7, 7, 3, 9, 2, 4, 0, 0, 0, 9, 0, 0, 0, 0, 0};
    for (int i = 0; i < 16; ++i) EXPECT_EQ(codes[i], want_codes[i]) << i;
    std::vector<float> want = {1.0f, 1.75f, 1.75f, 0.75f, -0.25f, 0.5f, 1.0f, 0.0f, 0.0f, 0.0f, -0.25f};
    want.resize(16, 0.0f);
    expect_bits_eq(quant16(in, DataFormat::BFloat4_b), want);
}

TEST(WhBfp4, DeviceTruncatesFromBfp8) {
    // 0.875 (shift 1): bfp8 device code 56 -> >> 4 = 3 -> 0.75; host rounds 3.5 to even 4 -> 1.0.
    // 1.2 (shift 0): bfp8 77 -> 4 -> 1.0; host rounds 4.8 -> 5 -> 1.25.
    std::vector<float> host = quant16({1.0f, 0.875f, 1.2f}, DataFormat::BFloat4_b, Rounding::HostNearestEven);
    std::vector<float> dev = quant16({1.0f, 0.875f, 1.2f}, DataFormat::BFloat4_b, Rounding::DeviceTiesAway);
    EXPECT_EQ(host[1], 1.0f);
    EXPECT_EQ(dev[1], 0.75f);
    EXPECT_EQ(host[2], 1.25f);
    EXPECT_EQ(dev[2], 1.0f);
}

// ---- quantize_rows: tails, strides, parallel path -----------------------------------------------------------------

TEST(WhQuantize, TailBlockIsPaddedWithZerosAndStrideRespected) {
    const int64_t rows = 3, cols = 37, ld = 48;
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> d(-4.0f, 4.0f);
    for (DataFormat fmt : {DataFormat::BFloat16, DataFormat::BFloat8_b, DataFormat::BFloat4_b}) {
        std::vector<float> a(rows * ld);
        for (auto& x : a) x = d(rng);
        // The tail block [32, 37) is much smaller than the padding sentinels, which must not take part.
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t c = 32; c < cols; ++c) a[r * ld + c] *= 1e-3f;
            for (int64_t c = cols; c < ld; ++c) a[r * ld + c] = 1e6f;
        }
        std::vector<float> got = a;
        quantize_rows(got.data(), rows, cols, ld, fmt);
        for (int64_t r = 0; r < rows; ++r) {
            std::vector<float> ref(a.begin() + r * ld, a.begin() + r * ld + ld);
            for (int64_t c = cols; c < ld; ++c) ref[c] = 0.0f;  // zero padding
            quantize_rows(ref.data(), 1, ld, ld, fmt);
            for (int64_t c = 0; c < cols; ++c) EXPECT_EQ(u(got[r * ld + c]), u(ref[c])) << r << "," << c;
            for (int64_t c = cols; c < ld; ++c) EXPECT_EQ(got[r * ld + c], 1e6f);
            // The tail survived (it was not flushed by the sentinels): its largest value is never rounded to 0.
            bool any = false;
            for (int64_t c = 32; c < cols; ++c) any = any || got[r * ld + c] != 0.0f;
            EXPECT_TRUE(any) << zoo::data_format_name(fmt);
        }
    }
}

TEST(WhQuantize, ParallelPathEqualsRowByRow) {
    const int64_t rows = 300, cols = 1000;
    std::mt19937 rng(3);
    std::normal_distribution<float> d(0.0f, 2.0f);
    for (DataFormat fmt : {DataFormat::BFloat16, DataFormat::BFloat8_b, DataFormat::BFloat4_b})
        for (Rounding r : {Rounding::HostNearestEven, Rounding::DeviceTiesAway}) {
            std::vector<float> a(rows * cols);
            for (auto& x : a) x = d(rng);
            std::vector<float> b = a;
            quantize_rows(a.data(), rows, cols, cols, fmt, r);
            for (int64_t i = 0; i < rows; ++i) quantize_rows(b.data() + i * cols, 1, cols, cols, fmt, r);
            ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
        }
}

// ---- tiles --------------------------------------------------------------------------------------------------------

TEST(WhTiles, TileBytes) {
    EXPECT_EQ(tile_bytes(DataFormat::Float32), 4096u);
    EXPECT_EQ(tile_bytes(DataFormat::BFloat16), 2048u);
    EXPECT_EQ(tile_bytes(DataFormat::BFloat8_b), 1088u);
    EXPECT_EQ(tile_bytes(DataFormat::BFloat4_b), 576u);
    std::vector<float> x(32 * 48);
    EXPECT_THROW(pack_tiles(x.data(), 32, 48, DataFormat::BFloat16, Rounding::HostNearestEven), std::invalid_argument);
}

// A 32 x 64 matrix (two tiles side by side), zero except: (0,0) = 1, (0,1) = -1, (5,20) = 0.5, (17,40) = -3,
// (17,41) = 1.5. (5,20) is tile 0 face 1 row 5 col 4; (17,40) is tile 1 face 2 row 1 col 8 (face stream index 536).
class WhTileLayout : public ::testing::Test {
protected:
    void SetUp() override {
        m.assign(32 * 64, 0.0f);
        m[0] = 1.0f;
        m[1] = -1.0f;
        m[5 * 64 + 20] = 0.5f;
        m[17 * 64 + 40] = -3.0f;
        m[17 * 64 + 41] = 1.5f;
    }
    std::vector<float> m;
};

TEST_F(WhTileLayout, BFloat8b) {
    std::vector<uint8_t> want(2 * 1088, 0);
    want[0] = 127;             // tile 0, face 0, row 0 exponent (1.0)
    want[64 + 0] = 64;         // 1.0 = explicit leading bit
    want[64 + 1] = 0x80 | 64;  // -1.0
    want[16 + 5] = 126;        // face 1 row 5 exponent (0.5)
    want[64 + 256 + 5 * 16 + 4] = 64;
    want[1088 + 32 + 1] = 128;                 // tile 1, face 2, row 1 exponent (3.0)
    want[1088 + 64 + 536] = 0x80 | 96;         // -3.0 = -(1.5 * 2^1): 96 = 0b1100000
    want[1088 + 64 + 537] = 48;                // 1.5 at shared exponent 128: 0.75 * 2^1 -> 48
    std::vector<uint8_t> got = pack_tiles(m.data(), 32, 64, DataFormat::BFloat8_b, Rounding::HostNearestEven);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], want[i]) << "byte " << i;
    std::vector<float> back = unpack_tiles(got.data(), 32, 64, DataFormat::BFloat8_b);
    for (size_t i = 0; i < m.size(); ++i) EXPECT_EQ(back[i], m[i]) << i;  // all exactly representable
}

TEST_F(WhTileLayout, BFloat4bNibbleOrder) {
    std::vector<uint8_t> want(2 * 576, 0);
    want[0] = 127;
    want[64 + 0] = 0x04 | (0xC << 4);  // datum 0 (1.0 -> 4) low nibble, datum 1 (-1.0 -> 8|4) high nibble
    want[16 + 5] = 126;
    want[64 + (256 + 5 * 16 + 4) / 2] = 0x04;  // even datum: low nibble
    want[576 + 32 + 1] = 128;
    want[576 + 64 + 536 / 2] = 0x0E | (0x3 << 4);  // -3.0 -> 8|6 low nibble, 1.5 -> 3 high nibble
    std::vector<uint8_t> got = pack_tiles(m.data(), 32, 64, DataFormat::BFloat4_b, Rounding::HostNearestEven);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], want[i]) << "byte " << i;
    std::vector<float> back = unpack_tiles(got.data(), 32, 64, DataFormat::BFloat4_b);
    for (size_t i = 0; i < m.size(); ++i) EXPECT_EQ(back[i], m[i]) << i;
}

TEST_F(WhTileLayout, BFloat16AndFloat32) {
    std::vector<uint8_t> b16 = pack_tiles(m.data(), 32, 64, DataFormat::BFloat16, Rounding::HostNearestEven);
    ASSERT_EQ(b16.size(), 2u * 2048);
    EXPECT_EQ(b16[0], 0x80);  // 1.0 = 0x3F80, little-endian
    EXPECT_EQ(b16[1], 0x3F);
    EXPECT_EQ(b16[2], 0x80);  // -1.0 = 0xBF80
    EXPECT_EQ(b16[3], 0xBF);
    EXPECT_EQ(b16[2 * (256 + 84)], 0x00);  // 0.5 = 0x3F00
    EXPECT_EQ(b16[2 * (256 + 84) + 1], 0x3F);
    EXPECT_EQ(b16[2048 + 2 * 536], 0x40);  // -3.0 = 0xC040
    EXPECT_EQ(b16[2048 + 2 * 536 + 1], 0xC0);
    int nonzero = 0;
    for (uint8_t b : b16) nonzero += b != 0;
    EXPECT_EQ(nonzero, 9);  // 0.5 has a zero low byte: 5 values, 9 nonzero bytes
    std::vector<uint8_t> f32 = pack_tiles(m.data(), 32, 64, DataFormat::Float32, Rounding::HostNearestEven);
    ASSERT_EQ(f32.size(), 2u * 4096);
    const uint8_t want[4] = {0x00, 0x00, 0x40, 0xC0};  // -3.0f = 0xC0400000
    for (int k = 0; k < 4; ++k) EXPECT_EQ(f32[4096 + 4 * 536 + k], want[k]);
}

// unpack(pack(x)) == quantize_rows(x), bit for bit, on wide-range random data with special values.
TEST(WhTiles, UnpackOfPackEqualsQuantizeRows) {
    const int64_t rows = 64, cols = 96;
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> mant(-2.0f, 2.0f);
    std::uniform_int_distribution<int> ex(-12, 12), pick(0, 199);
    const float specials[] = {0.0f, -0.0f, std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                              f(0x7F800001), f(0x00000001), f(0x80400000), std::numeric_limits<float>::max(),
                              f(0x00800000)};
    for (DataFormat fmt : {DataFormat::Float32, DataFormat::BFloat16, DataFormat::BFloat8_b, DataFormat::BFloat4_b})
        for (Rounding r : {Rounding::HostNearestEven, Rounding::DeviceTiesAway}) {
            std::vector<float> x(rows * cols);
            for (int64_t i = 0; i < rows * cols; ++i) {
                int p = pick(rng);
                x[i] = p < 10 ? specials[p] : std::ldexp(mant(rng), ex(rng));
            }
            // Exact ties for every format: multiples of small powers of two.
            for (int64_t i = 0; i < cols; ++i) x[i] = static_cast<float>(i % 17) * 0.0625f;
            std::vector<uint8_t> packed = pack_tiles(x.data(), rows, cols, fmt, r);
            ASSERT_EQ(packed.size(), tile_bytes(fmt) * (rows / 32) * (cols / 32));
            std::vector<float> back = unpack_tiles(packed.data(), rows, cols, fmt);
            std::vector<float> q = x;
            quantize_rows(q.data(), rows, cols, cols, fmt, r);
            for (int64_t i = 0; i < rows * cols; ++i)
                ASSERT_EQ(u(back[i]), u(q[i])) << zoo::data_format_name(fmt) << " rounding " << int(r) << " at " << i
                                               << " x=" << x[i] << " (0x" << std::hex << u(x[i]) << ")";
        }
}

// Every bfp value is an exact bf16 (at most 7 significant bits): rounding to bf16 is the identity.
TEST(WhQuantize, BfpValuesAreBf16) {
    std::mt19937 rng(5);
    std::normal_distribution<float> d(0.0f, 10.0f);
    for (DataFormat fmt : {DataFormat::BFloat8_b, DataFormat::BFloat4_b}) {
        std::vector<float> x(4096);
        for (auto& v : x) v = d(rng);
        quantize_rows(x.data(), 64, 64, 64, fmt);
        for (float v : x) EXPECT_EQ(u(round_bf16(v)), u(v));
    }
}

namespace {

// Blocks of 16 values whose largest is in a random binade of the whole float range (-149..127), the others up to 40
// binades below it, with zeros, denormals, -0 and values at bfp ties mixed in; then a few Inf / NaN lanes.
std::vector<float> values_over_every_binade(std::mt19937& rng, int64_t rows, int64_t ld) {
    std::uniform_int_distribution<int> top(-149, 127), spread(0, 40), pick(0, 99);
    std::uniform_int_distribution<uint32_t> frac(0, 0x7FFFFF);
    auto value = [&](int top_binade) {
        const int p = pick(rng);
        if (p == 0) return 0.0f;
        if (p == 1) return f(frac(rng));  // denormal
        if (p == 2) return f(0x80000000u | frac(rng));
        const int e = std::max(-149, top_binade - spread(rng));
        float v = std::ldexp(1.0f + static_cast<float>(frac(rng)) / 8388608.0f, e);
        if (p < 10) v = std::ldexp(static_cast<float>(1 + 2 * (frac(rng) % 64)), e - 7);  // ties at bfp precision
        if (!std::isfinite(v)) v = std::numeric_limits<float>::max();
        return pick(rng) < 50 ? -v : v;
    };
    std::vector<float> x(static_cast<size_t>(rows * ld));
    for (int64_t row = 0; row < rows; ++row)
        for (int64_t b = 0; b < ld; b += 16) {
            const int t = top(rng);
            for (int64_t c = b; c < std::min(ld, b + 16); ++c) x[static_cast<size_t>(row * ld + c)] = value(t);
        }
    for (int i = 0; i < 20; ++i) {  // a few Inf/NaN blocks take the scalar path
        const float special = i % 2 ? std::numeric_limits<float>::infinity() : std::numeric_limits<float>::quiet_NaN();
        x[static_cast<size_t>(pick(rng) * 4 * ld / 100 + i)] = special;
    }
    return x;
}

}  // namespace

// The vectorised quantisation (a fast path for blocks whose shared exponent is in [25, 254], the general vector path,
// the scalar path for Inf/NaN blocks) against the scalar reference encoder, block by block, over every binade: each
// block's values share a random top binade spread over up to 40 binades below it, with denormals, zeros, exact ties
// and the occasional Inf/NaN. Rows of 37 values (a short tail block) with a padded stride (the tail read as a whole
// vector) and an unpadded one (the tail copied out), and dense rows (treated as one long row).
TEST(WhQuantize, VectorPathsEqualTheScalarEncoderOverEveryBinade) {
    std::mt19937 rng(13);
    for (DataFormat fmt : {DataFormat::BFloat16, DataFormat::BFloat8_b, DataFormat::BFloat4_b})
        for (Rounding r : {Rounding::HostNearestEven, Rounding::DeviceTiesAway})
            for (int64_t ld : {int64_t{37}, int64_t{48}, int64_t{64}}) {
                const int64_t rows = 400, cols = ld == 64 ? 64 : 37;
                const std::vector<float> x = values_over_every_binade(rng, rows, ld);
                std::vector<float> got = x;
                quantize_rows(got.data(), rows, cols, ld, fmt, r);
                for (int64_t row = 0; row < rows; ++row)
                    for (int64_t b = 0; b < cols; b += 16) {
                        float block[16] = {};
                        const int64_t n = std::min<int64_t>(16, cols - b);
                        std::copy_n(x.begin() + row * ld + b, n, block);
                        float want[16];
                        if (fmt == DataFormat::BFloat16) {
                            for (int i = 0; i < 16; ++i)
                                want[i] = from_bf16_bits(r == Rounding::DeviceTiesAway ? bf16_bits_device(block[i]) : bf16_bits(block[i]));
                        } else {
                            uint8_t codes[16];
                            const uint8_t shared = encode_bfp_block(block, fmt, r, codes);
                            for (int i = 0; i < 16; ++i) want[i] = decode_bfp(codes[i], shared, fmt);
                        }
                        for (int64_t i = 0; i < n; ++i)
                            ASSERT_EQ(u(got[static_cast<size_t>(row * ld + b + i)]), u(want[i]))
                                << zoo::data_format_name(fmt) << " rounding " << int(r) << " ld " << ld << " row " << row
                                << " col " << b + i << " x=" << block[i] << " (0x" << std::hex << u(block[i]) << ")";
                    }
                for (int64_t row = 0; row < rows; ++row)  // lanes past cols keep their values
                    for (int64_t c = cols; c < ld; ++c)
                        ASSERT_EQ(u(got[static_cast<size_t>(row * ld + c)]), u(x[static_cast<size_t>(row * ld + c)]));
            }
}

// The fused Dst + packer pass gives the bits of the two passes it replaces (bf16 RNE, then the layer's format): on
// normal values with some denormals, and over every binade (the short path's Veltkamp rounding is exact only where
// that path runs: huge values, denormals, Inf and NaN must reach the exact rounding).
TEST(WhQuantize, AfterBf16DestEqualsTheTwoPasses) {
    std::mt19937 rng(17);
    std::normal_distribution<float> d(0.0f, 3.0f);
    for (bool every_binade : {false, true})
        for (DataFormat fmt : {DataFormat::Float32, DataFormat::BFloat16, DataFormat::BFloat8_b, DataFormat::BFloat4_b})
            for (Rounding r : {Rounding::HostNearestEven, Rounding::DeviceTiesAway})
                for (int64_t cols : {int64_t{37}, int64_t{48}})
                    for (int64_t ld : {cols, int64_t{64}}) {
                        const int64_t rows = 300;
                        std::vector<float> x(static_cast<size_t>(rows * ld));
                        if (every_binade)
                            x = values_over_every_binade(rng, rows, ld);
                        else
                            for (auto& v : x) v = d(rng) * (rng() % 8 == 0 ? 1e-38f : 1.0f);  // some denormals
                        std::vector<float> two = x, one = x;
                        quantize_rows(two.data(), rows, cols, ld, DataFormat::BFloat16, Rounding::HostNearestEven);
                        quantize_rows(two.data(), rows, cols, ld, fmt, r);
                        quantize_rows_after_bf16_dest(one.data(), rows, cols, ld, fmt, r);
                        ASSERT_EQ(0, std::memcmp(one.data(), two.data(), x.size() * sizeof(float)))
                            << zoo::data_format_name(fmt) << " rounding " << int(r) << " cols " << cols << " ld " << ld
                            << (every_binade ? " (every binade)" : "");
                    }
}
