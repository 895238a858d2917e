// .safetensors load/save and the load_weights front door.
#include <gtest/gtest.h>

#include "weight_checks.hpp"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "weights/safetensors.hpp"
#include "weights/weights.hpp"

namespace zoo::runner::weights_test {
// Defined in test_weights_pth.cpp.
const std::string& weight_fixture_dir();
const std::string& weight_fixture_error();
const std::string& scratch_dir();
std::vector<uint8_t> read_bytes(const std::string& path);
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
}  // namespace zoo::runner::weights_test

namespace zoo::runner {
namespace {

using namespace weights_test;

#define REQUIRE_FIXTURES() ASSERT_FALSE(weight_fixture_dir().empty()) << weight_fixture_error()

std::vector<uint8_t> safetensors_file(const std::string& header, size_t buffer_size, uint64_t header_len_override = 0) {
    std::string out;
    const uint64_t n = header_len_override ? header_len_override : header.size();
    for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
    out += header;
    for (size_t i = 0; i < buffer_size; ++i) out += static_cast<char>(i & 0xff);
    return std::vector<uint8_t>(out.begin(), out.end());
}

std::string load_error(const std::vector<uint8_t>& bytes) {
    auto w = load_safetensors_bytes(bytes, "bad.safetensors");
    EXPECT_FALSE(w.is_ok());
    if (w.is_ok()) return {};
    EXPECT_EQ(w.status().message().rfind("bad.safetensors: ", 0), 0u) << w.status().message();
    return w.status().message();
}

TEST(SafetensorsWeights, LoadsFilesWrittenByPython) {
    REQUIRE_FIXTURES();
    auto w = load_weights(weight_fixture_dir() + "/mixed.safetensors");
    ASSERT_TRUE(w.is_ok()) << w.status().message();
    ASSERT_EQ(w->size(), 4u);
    EXPECT_EQ(w->at("f16").data, (std::vector<float>{1.5f, -0.25f}));
    EXPECT_EQ(w->at("f16").element_type, ElementType::Float16);
    EXPECT_EQ(w->at("f64").shape, (Shape{2, 1}));
    EXPECT_EQ(w->at("f64").data, (std::vector<float>{0.5f, 2.0f}));
    EXPECT_EQ(w->at("f64").element_type, ElementType::Float64);
    EXPECT_EQ(w->at("i32").data, (std::vector<float>{-3, 4, 5}));
    EXPECT_EQ(w->at("i32").element_type, ElementType::Int32);
    EXPECT_EQ(w->at("scalar").shape, Shape{});
    EXPECT_EQ(w->at("scalar").data, (std::vector<float>{9.0f}));
}

TEST(SafetensorsWeights, RecognisedByContentWithoutTheExtension) {
    REQUIRE_FIXTURES();
    auto by_name = load_weights(weight_fixture_dir() + "/module.safetensors");
    auto by_content = load_weights(weight_fixture_dir() + "/module_safetensors.bin");
    ASSERT_TRUE(by_name.is_ok()) << by_name.status().message();
    ASSERT_TRUE(by_content.is_ok()) << by_content.status().message();
    expect_bit_identical(by_name.value(), by_content.value());
}

TEST(SafetensorsWeights, SaveThenLoadIsBitExact) {
    WeightMap w;
    const float nan_payload = [] {
        uint32_t bits = 0x7fc01234u;
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    }();
    w["a.weight"] = Tensor({2, 3}, {1.0f, -0.0f, std::numeric_limits<float>::denorm_min(),
                                    std::numeric_limits<float>::infinity(), nan_payload, 3.1415927f});
    w["b.num_batches_tracked"] = Tensor({}, {123456.0f});
    w["b.num_batches_tracked"].element_type = ElementType::Int64;
    w["c.big_int"] = Tensor({3}, {-3.0f, 1099511627776.0f, 0.0f});
    w["c.big_int"].element_type = ElementType::Int64;
    w["d.empty"] = Tensor({0, 5}, {});
    w["e.scalar"] = Tensor({}, {0.25f});
    w["f.bytes"] = Tensor({2}, {0.0f, 255.0f});
    w["f.bytes"].element_type = ElementType::UInt8;
    w["g.half"] = Tensor({1}, {0.5f});
    w["g.half"].element_type = ElementType::Float16;  // saved as F32, so it comes back as Float32

    const std::string path = scratch_dir() + "/roundtrip.safetensors";
    const Status saved = save_safetensors(path, w);
    ASSERT_TRUE(saved.is_ok()) << saved.message();
    EXPECT_FALSE(std::filesystem::exists(path + ".partial"));
    auto loaded = load_weights(path);
    ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
    w["g.half"].element_type = ElementType::Float32;
    expect_bit_identical(w, loaded.value());

    // The header says what was promised: I64 for Int64, F32 for floats, offsets from 0 with 8-byte alignment.
    const auto bytes = read_bytes(path);
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    EXPECT_EQ((8 + n) % 8, 0u);
    const std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
    EXPECT_NE(header.find(R"("b.num_batches_tracked":{"data_offsets":[24,32],"dtype":"I64","shape":[]})"), std::string::npos) << header;
    EXPECT_NE(header.find(R"("a.weight":{"data_offsets":[0,24],"dtype":"F32","shape":[2,3]})"), std::string::npos) << header;
}

TEST(SafetensorsWeights, TorchWeightsRoundTrip) {
    REQUIRE_FIXTURES();
    auto original = load_weights(weight_fixture_dir() + "/known.pth");
    ASSERT_TRUE(original.is_ok()) << original.status().message();
    const std::string path = scratch_dir() + "/known.safetensors";
    ASSERT_TRUE(save_safetensors(path, original.value()).is_ok());
    auto loaded = load_weights(path);
    ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
    // Float types come back as Float32 (saved as F32); integer types keep their type.
    for (auto& [key, t] : original.value()) {
        if (t.element_type == ElementType::Float16 || t.element_type == ElementType::BFloat16 ||
            t.element_type == ElementType::Float64) {
            t.element_type = ElementType::Float32;
        }
    }
    expect_bit_identical(original.value(), loaded.value());
}

TEST(SafetensorsWeights, SaveRefusesValuesTheTypeCannotHold) {
    WeightMap w;
    w["counter"] = Tensor({1}, {1.5f});
    w["counter"].element_type = ElementType::Int64;
    Status s = save_safetensors(scratch_dir() + "/bad_int.safetensors", w);
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("tensor 'counter' is"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("element 0 is 1.5"), std::string::npos) << s.message();

    WeightMap m;
    m["w"] = Tensor({2, 2}, {1.0f});
    s = save_safetensors(scratch_dir() + "/bad_size.safetensors", m);
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("tensor 'w' has 1 values but shape [2, 2] needs 4"), std::string::npos) << s.message();
    EXPECT_FALSE(std::filesystem::exists(scratch_dir() + "/bad_size.safetensors"));
}

TEST(SafetensorsWeights, RefusesMalformedHeaders) {
    // A valid file first, so each case below differs from it in one respect.
    auto ok = load_safetensors_bytes(
        safetensors_file(R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[4],"data_offsets":[8,12]}})", 12),
        "good.safetensors");
    ASSERT_TRUE(ok.is_ok()) << ok.status().message();
    EXPECT_EQ(ok->at("b").data, (std::vector<float>{8, 9, 10, 11}));

    EXPECT_NE(load_error(safetensors_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12))
                  .find("tensor 'b' data_offsets [4, 12] overlap tensor 'a' which ends at 8"), std::string::npos);
    EXPECT_NE(load_error(safetensors_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})", 16))
                  .find("gaps in the data buffer are not allowed"), std::string::npos);
    EXPECT_NE(load_error(safetensors_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8))
                  .find("tensor 'a' begins at 4 but the data buffer starts at 0"), std::string::npos);
    EXPECT_NE(load_error(safetensors_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8))
                  .find("tensor 'a': data_offsets [0, 8] span 8 bytes, but shape [3] of F32 needs 3 x 4 bytes"), std::string::npos);
    EXPECT_NE(load_error(safetensors_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 10))
                  .find("tensors cover 8 bytes of the data buffer but it holds 10 bytes (trailing bytes)"), std::string::npos);
    EXPECT_NE(load_error(safetensors_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 6))
                  .find("(truncated file?)"), std::string::npos);
    EXPECT_NE(load_error(safetensors_file("{}", 0, 200'000'000)).find("header length 200000000 exceeds the limit"), std::string::npos);
    EXPECT_NE(load_error(safetensors_file("{}", 0, 1000)).find("header length 1000 exceeds the 2 bytes that follow it"), std::string::npos);
    EXPECT_NE(load_error(safetensors_file(R"({"a":{"dtype":"F32",)", 0)).find("header is not valid JSON"), std::string::npos);
    EXPECT_NE(load_error(safetensors_file(R"([1,2])", 0)).find("header must be a JSON object, found array"), std::string::npos);
    EXPECT_NE(load_error(safetensors_file(R"({"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", 1))
                  .find("tensor 'a': unsupported dtype \"F8_E4M3\""), std::string::npos);
    EXPECT_NE(load_error(safetensors_file(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4))
                  .find("tensor 'a': shape dimension must be a non-negative integer, found -1"), std::string::npos);
    EXPECT_NE(load_error(safetensors_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8))
                  .find("data_offsets end 4 is before begin 8"), std::string::npos);
    EXPECT_NE(load_error(safetensors_file(R"({"a":{"dtype":"F32","shape":[1]}})", 4)).find("tensor 'a': missing field 'data_offsets'"),
              std::string::npos);
    EXPECT_NE(load_error(safetensors_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", 4))
                  .find("tensor 'a': unexpected field 'x'"), std::string::npos);
    EXPECT_NE(load_error(safetensors_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4))
                  .find("header has the key 'a' twice"), std::string::npos);
    EXPECT_NE(load_error(safetensors_file(R"({"__metadata__":{"k":1}})", 0)).find("__metadata__ value of 'k' must be a string"),
              std::string::npos);
    EXPECT_NE(load_error(safetensors_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4))
                  .find("overflows 64 bits"), std::string::npos);
    EXPECT_NE(load_error({1, 2, 3}).find("too short for the 8-byte header length"), std::string::npos);
}

TEST(SafetensorsWeights, TruncatedOrFlippedFilesNeverCrash) {
    REQUIRE_FIXTURES();
    const auto bytes = read_bytes(weight_fixture_dir() + "/mixed.safetensors");
    ASSERT_FALSE(bytes.empty());
    for (size_t n = 0; n < bytes.size(); ++n) {
        auto w = load_safetensors_bytes(std::span(bytes.data(), n), "cut.safetensors");
        ASSERT_FALSE(w.is_ok()) << "cut at " << n;
    }
    for (size_t i = 0; i < bytes.size(); ++i) {
        auto flipped = bytes;
        flipped[i] ^= 0xff;
        (void)load_safetensors_bytes(flipped, "flipped.safetensors");
    }
}

TEST(Weights, UnknownFormatListsWhatIsAccepted) {
    const std::string path = scratch_dir() + "/notes.txt";
    write_bytes(path, {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
    auto w = load_weights(path);
    ASSERT_FALSE(w.is_ok());
    const std::string& msg = w.status().message();
    EXPECT_EQ(msg.rfind(path + ": unknown weight file format (first bytes: 68 65 6c 6c 6f 20 77 6f)", 0), 0u) << msg;
    EXPECT_NE(msg.find("zip format"), std::string::npos);
    EXPECT_NE(msg.find("legacy"), std::string::npos);
    EXPECT_NE(msg.find(".safetensors"), std::string::npos);

    const std::string empty = scratch_dir() + "/empty.pth";
    write_bytes(empty, {});
    auto e = load_weights(empty);
    ASSERT_FALSE(e.is_ok());
    EXPECT_NE(e.status().message().find("(empty file)"), std::string::npos) << e.status().message();

    auto missing = load_weights(scratch_dir() + "/does_not_exist.pth");
    ASSERT_FALSE(missing.is_ok());
    EXPECT_EQ(missing.status().message(), scratch_dir() + "/does_not_exist.pth: no such file");

    auto dir = load_weights(scratch_dir());
    ASSERT_FALSE(dir.is_ok());
    EXPECT_NE(dir.status().message().find("is a directory"), std::string::npos);

    // With the extension, a broken safetensors file gets the safetensors diagnosis rather than "unknown format".
    const std::string named = scratch_dir() + "/broken.safetensors";
    write_bytes(named, {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
    auto b = load_weights(named);
    ASSERT_FALSE(b.is_ok());
    EXPECT_NE(b.status().message().find("exceeds the limit"), std::string::npos) << b.status().message();
}

TEST(Weights, HalfAndBFloat16Decoding) {
    EXPECT_EQ(half_bits_to_float(0x3c00), 1.0f);
    EXPECT_EQ(half_bits_to_float(0xc000), -2.0f);
    EXPECT_EQ(half_bits_to_float(0x7bff), 65504.0f);
    EXPECT_EQ(half_bits_to_float(0x0001), std::ldexp(1.0f, -24));
    EXPECT_EQ(half_bits_to_float(0x03ff), std::ldexp(1023.0f, -24));
    EXPECT_TRUE(std::signbit(half_bits_to_float(0x8000)));
    EXPECT_EQ(half_bits_to_float(0x7c00), std::numeric_limits<float>::infinity());
    EXPECT_TRUE(std::isnan(half_bits_to_float(0x7e00)));
    EXPECT_EQ(bfloat16_bits_to_float(0x3f80), 1.0f);
    EXPECT_EQ(bfloat16_bits_to_float(0xc020), -2.5f);
}

}  // namespace
}  // namespace zoo::runner
