// .npy reading (files written by numpy) and writing (read back by numpy).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "io/npy.hpp"

namespace zoo::runner::weights_test {
// Defined in test_weights_pth.cpp.
const std::string& weight_fixture_dir();
const std::string& weight_fixture_error();
const std::string& scratch_dir();
std::string python_exe();
std::string shell_quote(const std::string& s);
std::pair<int, std::string> run_command(const std::string& command);
std::vector<uint8_t> read_bytes(const std::string& path);
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
}  // namespace zoo::runner::weights_test

namespace zoo::runner {
namespace {

using namespace weights_test;

#define REQUIRE_FIXTURES() ASSERT_FALSE(weight_fixture_dir().empty()) << weight_fixture_error()

std::string fixture(const std::string& name) { return weight_fixture_dir() + "/" + name; }

std::vector<float> f4_values() {  // (arange(12) * 0.5 - 2).reshape(3, 4)
    std::vector<float> v;
    for (int i = 0; i < 12; ++i) v.push_back(static_cast<float>(i) * 0.5f - 2.0f);
    return v;
}

TEST(NpyIo, ReadsWhatNumpyWrites) {
    REQUIRE_FIXTURES();
    for (const char* name : {"f4.npy", "f4_v2.npy", "f4_v3.npy"}) {
        SCOPED_TRACE(name);
        auto t = read_npy(fixture(name));
        ASSERT_TRUE(t.is_ok()) << t.status().message();
        EXPECT_EQ(t->shape, (Shape{3, 4}));
        EXPECT_EQ(t->data, f4_values());
        EXPECT_EQ(t->element_type, ElementType::Float32);
    }
    {
        auto t = read_npy(fixture("f8.npy"));
        ASSERT_TRUE(t.is_ok()) << t.status().message();
        EXPECT_EQ(t->shape, (Shape{2, 2}));
        EXPECT_EQ(t->data, (std::vector<float>{static_cast<float>(0.1), 2.0f, -3.5f, static_cast<float>(1e-3)}));
        EXPECT_EQ(t->element_type, ElementType::Float64);
    }
    {
        auto t = read_npy(fixture("f2.npy"));
        ASSERT_TRUE(t.is_ok()) << t.status().message();
        EXPECT_EQ(t->data, (std::vector<float>{0.5f, -1.25f, 65504.0f}));
        EXPECT_EQ(t->element_type, ElementType::Float16);
    }
    {
        auto t = read_npy(fixture("i8.npy"));
        ASSERT_TRUE(t.is_ok()) << t.status().message();
        EXPECT_EQ(t->data, (std::vector<float>{-7.0f, 0.0f, 1048576.0f}));
        EXPECT_EQ(t->element_type, ElementType::Int64);
    }
    {
        auto t = read_npy(fixture("scalar.npy"));
        ASSERT_TRUE(t.is_ok()) << t.status().message();
        EXPECT_EQ(t->shape, Shape{});
        EXPECT_EQ(t->data, (std::vector<float>{4.25f}));
    }
    {
        auto t = read_npy(fixture("empty.npy"));
        ASSERT_TRUE(t.is_ok()) << t.status().message();
        EXPECT_EQ(t->shape, (Shape{0, 3}));
        EXPECT_TRUE(t->data.empty());
    }
}

TEST(NpyIo, RefusesWhatItCannotRepresent) {
    REQUIRE_FIXTURES();
    auto fortran = read_npy(fixture("fortran.npy"));
    ASSERT_FALSE(fortran.is_ok());
    EXPECT_EQ(fortran.status().message().rfind(fixture("fortran.npy") + ": array is stored in Fortran order", 0), 0u)
        << fortran.status().message();
    auto big = read_npy(fixture("big_endian.npy"));
    ASSERT_FALSE(big.is_ok());
    EXPECT_NE(big.status().message().find("unsupported dtype '>f4'"), std::string::npos) << big.status().message();
    auto complex = read_npy(fixture("complex.npy"));
    ASSERT_FALSE(complex.is_ok());
    EXPECT_NE(complex.status().message().find("unsupported dtype '<c8'"), std::string::npos) << complex.status().message();
    auto missing = read_npy(scratch_dir() + "/nope.npy");
    ASSERT_FALSE(missing.is_ok());
    EXPECT_NE(missing.status().message().find("no such file"), std::string::npos);
}

TEST(NpyIo, TruncatedAndPaddedFilesAreErrors) {
    REQUIRE_FIXTURES();
    const auto bytes = read_bytes(fixture("f4.npy"));
    ASSERT_EQ(bytes.size(), 128u + 48u);
    for (size_t n = 0; n < bytes.size(); ++n) {
        auto t = decode_npy(std::span(bytes.data(), n), "cut.npy");
        ASSERT_FALSE(t.is_ok()) << n;
        ASSERT_EQ(t.status().message().rfind("cut.npy: ", 0), 0u);
    }
    auto cut = decode_npy(std::span(bytes.data(), bytes.size() - 4), "cut.npy");
    EXPECT_NE(cut.status().message().find("needs 12 x 4 bytes of data but the file has 44 (truncated file)"), std::string::npos)
        << cut.status().message();
    auto longer = bytes;
    longer.push_back(0);
    auto padded = decode_npy(longer, "long.npy");
    ASSERT_FALSE(padded.is_ok());
    EXPECT_NE(padded.status().message().find("(trailing bytes)"), std::string::npos);
    // Flipping any byte must never crash.
    for (size_t i = 0; i < bytes.size(); ++i) {
        auto flipped = bytes;
        flipped[i] ^= 0xff;
        (void)decode_npy(flipped, "flipped.npy");
    }
}

std::vector<uint8_t> npy_with_header(const std::string& header) {
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>(header.size() >> 8);
    out += header;
    return std::vector<uint8_t>(out.begin(), out.end());
}

TEST(NpyIo, MalformedHeadersAreExplained) {
    auto err = [](const std::string& header) {
        auto t = decode_npy(npy_with_header(header), "h.npy");
        EXPECT_FALSE(t.is_ok()) << header;
        return t.is_ok() ? std::string() : t.status().message();
    };
    EXPECT_NE(err("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'extra': 1}\n").find("unexpected key 'extra'"),
              std::string::npos);
    EXPECT_NE(err("{'descr': '<f4', 'shape': (), }\n").find("lacks one of"), std::string::npos);
    EXPECT_NE(err("{'descr': '<f4', 'fortran_order': Maybe, 'shape': ()}\n").find("expected True or False"), std::string::npos);
    EXPECT_NE(err("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}\n").find("non-negative integer"), std::string::npos);
    EXPECT_NE(err("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': ()}\n").find("structured dtypes"),
              std::string::npos);
    EXPECT_NE(err("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}\n").find("overflows"),
              std::string::npos);
    auto bad_version = npy_with_header("{}");
    bad_version[6] = 4;
    auto v = decode_npy(bad_version, "v.npy");
    ASSERT_FALSE(v.is_ok());
    EXPECT_NE(v.status().message().find("unsupported .npy format version 4.0"), std::string::npos);
    auto not_npy = decode_npy(std::vector<uint8_t>{'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0}, "x.npy");
    EXPECT_NE(not_npy.status().message().find("not a .npy file"), std::string::npos);
    // Python 2 era headers ("3L") still parse.
    auto old = decode_npy(npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1L,), }\n"), "old.npy");
    EXPECT_FALSE(old.is_ok());  // header fine, but no data: the error is about the data
    EXPECT_NE(old.status().message().find("needs 1 x 4 bytes"), std::string::npos) << old.status().message();
}

TEST(NpyIo, WriteThenReadIsBitExact) {
    const float nan_payload = [] {
        uint32_t bits = 0x7fc0beefu;
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    }();
    const std::vector<Tensor> cases = {
        Tensor({2, 3}, {1.0f, -0.0f, std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::infinity(),
                        nan_payload, 1e-30f}),
        Tensor({5}, {0, 1, 2, 3, 4}),
        Tensor({}, {42.0f}),
        Tensor({0, 3}, {}),
        Tensor({1, 3, 2, 2}, std::vector<float>(12, 0.125f)),
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        SCOPED_TRACE(i);
        const std::string path = scratch_dir() + "/rt" + std::to_string(i) + ".npy";
        const Status s = write_npy(path, cases[i]);
        ASSERT_TRUE(s.is_ok()) << s.message();
        const auto bytes = read_bytes(path);
        ASSERT_GE(bytes.size(), 10u);
        EXPECT_EQ(bytes[6], 1);  // version 1.0
        const size_t header_len = bytes[8] | (bytes[9] << 8);
        EXPECT_EQ((10 + header_len) % 64, 0u);
        EXPECT_EQ(bytes[10 + header_len - 1], '\n');
        auto t = read_npy(path);
        ASSERT_TRUE(t.is_ok()) << t.status().message();
        EXPECT_EQ(t->shape, cases[i].shape);
        ASSERT_EQ(t->data.size(), cases[i].data.size());
        EXPECT_TRUE(t->data.empty() || 0 == std::memcmp(t->data.data(), cases[i].data.data(), t->data.size() * sizeof(float)));
    }
    const Status bad = write_npy(scratch_dir() + "/bad.npy", Tensor({2, 2}, {1.0f}));
    ASSERT_FALSE(bad.is_ok());
    EXPECT_NE(bad.message().find("bad.npy: tensor has 1 values but shape [2, 2] needs 4"), std::string::npos) << bad.message();
}

TEST(NpyIo, NumpyReadsWhatWriteNpyWrote) {
    REQUIRE_FIXTURES();  // numpy comes with the same Debian Python
    struct Case {
        Tensor tensor;
        std::string expected;  // a numpy expression
    };
    std::vector<float> v(24);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.25f - 1.0f;
    const std::vector<Case> cases = {
        {Tensor({2, 3, 4}, v), "np.arange(24, dtype=np.float32).reshape(2, 3, 4) * np.float32(0.25) - np.float32(1)"},
        {Tensor({3}, {1.5f, -2.0f, 1e-7f}), "np.array([1.5, -2.0, 1e-7], dtype=np.float32)"},
        {Tensor({}, {7.0f}), "np.array(7.0, dtype=np.float32)"},
        {Tensor({0, 2}, {}), "np.zeros((0, 2), dtype=np.float32)"},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        SCOPED_TRACE(cases[i].expected);
        const std::string path = scratch_dir() + "/for_numpy" + std::to_string(i) + ".npy";
        ASSERT_TRUE(write_npy(path, cases[i].tensor).is_ok());
        const std::string code =
            "import sys, numpy as np\n"
            "a = np.load(sys.argv[1], allow_pickle=False)\n"
            "e = " + cases[i].expected + "\n"
            "assert a.dtype == np.float32, a.dtype\n"
            "assert a.shape == e.shape, (a.shape, e.shape)\n"
            "assert a.flags.c_contiguous\n"
            "assert a.tobytes() == e.tobytes(), (a, e)\n"
            "print('ok')\n";
        const auto [status, output] = run_command(shell_quote(python_exe()) + " -c " + shell_quote(code) + " " + shell_quote(path));
        EXPECT_EQ(status, 0) << output;
        EXPECT_EQ(output, "ok\n");
    }
}

}  // namespace
}  // namespace zoo::runner
