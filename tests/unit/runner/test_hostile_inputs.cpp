// Issue 11: inputs that used to crash, hang or exhaust the process. Each test fails on the code before the fix
// (an abort, a stack overflow, gigabytes allocated, a hang or a silently wrong value) and asserts on the error text
// that names the limit.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/run_config.hpp"
#include "config/yaml_spec.hpp"
#include "core/limits.hpp"
#include "core/suggest.hpp"
#include "image/preprocess.hpp"
#include "io/npy.hpp"
#include "session/inputs.hpp"
#include "sweep/sweep.hpp"
#include "weights/pickle.hpp"
#include "weights/safetensors.hpp"
#include "weights/weights.hpp"

namespace fs = std::filesystem;
using namespace zoo;
using namespace zoo::runner;

namespace {

std::string temp_path(const std::string& name) {
    return (fs::temp_directory_path() / ("zoo_hostile_" + std::to_string(::getpid()) + "_" + name)).string();
}

void write_file(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string le32(uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (8 * i));
    return s;
}
std::string be32(uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (8 * (3 - i)));
    return s;
}

uint32_t crc32(const std::string& data) {
    uint32_t c = 0xffffffffu;
    for (unsigned char b : data) {
        c ^= b;
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

std::string npy_file(const std::string& descr, const std::string& shape, size_t data_bytes) {
    std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    while ((10 + header.size() + 1) % 64) header += ' ';
    header += '\n';
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>(header.size() >> 8);
    return out + header + std::string(data_bytes, '\0');
}

// A safetensors file with this header and no data, loaded.
Result<WeightMap> load_safetensors_header(const std::string& header, const std::string& name) {
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(static_cast<uint64_t>(header.size()) >> (8 * i));
    bytes += header;
    return load_safetensors_bytes(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), name);
}

}  // namespace

TEST(HostileExperiment, NonScalarKeysAndNamesAreErrorsNotAborts) {
    // `? :` is a map whose key is null: yaml-cpp's as<std::string>() threw past every catch.
    for (const char* text : {"? :\n", "? [a, b]\n: 1\n", "name: [a]\naxes: {batch: [1]}\n", "axes: {? {a: 1} : [1]}\n",
                             "base: {? [x] : 1}\naxes: {batch: [1]}\n"}) {
        auto ex = parse_experiment(text, "e.yaml");
        ASSERT_FALSE(ex) << text;
        EXPECT_TRUE(has(ex.status().message(), "e.yaml:")) << ex.status().message();
    }
}

TEST(HostileExperiment, TooManyRunsAreRefusedBeforeExpansion) {
    std::string text = "base: {model: m, device: cpu}\naxes:\n";
    for (int i = 0; i < 40; ++i) text += "  k" + std::to_string(i) + ": [a, b]\n";
    auto ex = parse_experiment(text, "big.yaml");
    ASSERT_FALSE(ex);
    EXPECT_TRUE(has(ex.status().message(), "more than 10000 runs")) << ex.status().message();
    EXPECT_TRUE(has(ex.status().message(), "--limit sweep_runs=")) << ex.status().message();
}

TEST(HostileExperiment, ARunKeyTypoIsRefusedWithASuggestion) {
    auto ex = parse_experiment("base: {model: m, device: cpu, itertions: 2}\naxes: {batch: [1, 2]}\n", "t.yaml");
    ASSERT_FALSE(ex);
    EXPECT_TRUE(has(ex.status().message(), "did you mean 'iterations'")) << ex.status().message();
    // A real --set key stays accepted.
    EXPECT_TRUE(parse_experiment("base: {model: m, device: cpu, width_mult: 0.5}\naxes: {batch: [1]}\n", "ok.yaml"));
}

TEST(HostileYaml, AliasExpansionIsBounded) {
    // "Billion laughs": nine levels of ten aliases each are 10^9 nodes once expanded.
    std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 9; ++i) {
        const std::string p = "*a" + std::to_string(i - 1);
        text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + p;
        for (int k = 1; k < 10; ++k) text += ", " + p;
        text += "]\n";
    }
    const auto start = std::chrono::steady_clock::now();
    auto spec = parse_yaml_spec(text, "laughs.yaml");
    ASSERT_FALSE(spec);
    EXPECT_TRUE(has(spec.status().message(), "nodes after expanding aliases")) << spec.status().message();
    EXPECT_TRUE(has(spec.status().message(), "--limit yaml_nodes=")) << spec.status().message();
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10.0);
}

TEST(HostileYaml, DeepNestingIsBounded) {
    const std::string text = std::string(100, '[') + std::string(100, ']');
    auto spec = parse_yaml_spec(text, "deep.yaml");
    ASSERT_FALSE(spec);
    EXPECT_TRUE(has(spec.status().message(), "nests deeper than 64")) << spec.status().message();
}

TEST(HostileSafetensors, DeeplyNestedHeaderIsAnErrorNotAStackOverflow) {
    // 100,000 nested arrays: the old error message called json::dump() on them recursively.
    auto w = load_safetensors_header("{\"w\": " + std::string(100000, '[') + std::string(100000, ']') + "}", "deep.safetensors");
    ASSERT_FALSE(w);
    EXPECT_TRUE(has(w.status().message(), "nests deeper than")) << w.status().message();
}

TEST(HostileSafetensors, ShapeWhoseSignedProductOverflowsIsRefused) {
    // The unsigned product (2^63-1) * 2 * 0 is 0 without overflow, but shape_numel() multiplies in int64 (UB).
    auto w = load_safetensors_header(R"({"w": {"dtype": "F32", "shape": [9223372036854775807, 2, 0], "data_offsets": [0, 0]}})",
                                     "ovf.safetensors");
    ASSERT_FALSE(w);
    EXPECT_TRUE(has(w.status().message(), "overflows 64 bits")) << w.status().message();
}

TEST(HostilePickle, ABigDictIsInsertedInLinearTime) {
    // PROTO 2, EMPTY_DICT, MARK, 60,000 x (BINUNICODE key, BININT value), SETITEMS, STOP. A scan of the entries per
    // insert made this quadratic (minutes for a 400 KB file).
    const int n = 60000;
    std::string p = "\x80\x02}(";
    for (int i = 0; i < n; ++i) {
        const std::string key = "k" + std::to_string(i);
        p += 'X' + le32(static_cast<uint32_t>(key.size())) + key;
        p += 'J' + le32(static_cast<uint32_t>(i));
    }
    p += "X" + le32(2) + "k7" + "J" + le32(99);  // a repeated key replaces the value, as Python does
    p += "u.";
    const auto start = std::chrono::steady_clock::now();
    auto doc = pickle::unpickle(std::span(reinterpret_cast<const uint8_t*>(p.data()), p.size()), "big.pkl");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_TRUE(doc) << doc.status().message();
    ASSERT_EQ(doc->root().entries.size(), static_cast<size_t>(n));
    EXPECT_EQ(doc->root().entries[7].second->integer, 99);
    EXPECT_LT(seconds, 3.0);
}

TEST(HostileImage, HugeDeclaredSizeIsRefusedBeforeDecoding) {
    // A PNG header declaring 30000 x 30000 pixels (900 M, 2.7 GB decoded) with a valid IHDR CRC and no real data.
    const std::string ihdr = "IHDR" + be32(30000) + be32(30000) + std::string("\x08\x02\x00\x00\x00", 5);
    std::string png = "\x89PNG\r\n\x1a\n" + be32(13) + ihdr + be32(crc32(ihdr));
    const std::string idat = "IDAT" + std::string(64, '\0');
    png += be32(64) + idat + be32(crc32(idat));
    const std::string path = temp_path("huge.png");
    write_file(path, png);
    PreprocessSpec spec;
    auto t = load_image(path, spec);
    fs::remove(path);
    ASSERT_FALSE(t);
    EXPECT_TRUE(has(t.status().message(), "pixels")) << t.status().message();
    EXPECT_TRUE(has(t.status().message(), "--limit image_pixels=")) << t.status().message();
}

// What fuzz_image found: a broken RIFF header with "DICM" at byte 128. cv::imread gave it to GDCM (DICOM), whose
// reader asserts and aborts the process. Files are now sorted by signature before OpenCV sees them.
TEST(HostileImage, AFileOnlyADicomReaderWouldClaimIsRefusedBeforeOpenCv) {
    std::string riff = std::string("RIFF\x01\0\0\0\0\0\0sVP8 ", 16) + std::string(112, '\x01') + "DICM" + std::string(40, '\0');
    const std::string path = temp_path("dicom_ish.img");
    write_file(path, riff);
    PreprocessSpec spec;
    auto t = load_image(path, spec);
    const Status checked = check_image_signature(path);
    // A real WebP signature with the DICOM one behind it: a WebP decoder that declines it would pass it on.
    std::string webp = riff;
    webp.replace(8, 4, "WEBP");
    write_file(path, webp);
    auto w = load_image(path, spec);
    fs::remove(path);
    ASSERT_FALSE(t);
    EXPECT_TRUE(has(t.status().message(), "expected a JPEG, PNG, BMP, WebP, TIFF or PNM file")) << t.status().message();
    EXPECT_TRUE(has(t.status().message(), "52 49 46 46 01 00 00 00")) << t.status().message();
    EXPECT_FALSE(checked);
    EXPECT_EQ(checked.message(), t.status().message());
    ASSERT_FALSE(w);
    EXPECT_TRUE(has(w.status().message(), "starts like a WebP file but also carries a DICOM signature")) << w.status().message();
}

TEST(HostileImage, EveryAcceptedFormatStillDecodes) {
    // The committed fuzz seeds are small real files of each accepted format: the signature gate must let them through.
    PreprocessSpec spec;
    spec.resize_shorter = 8;
    spec.crop_height = 8;
    spec.crop_width = 8;
    for (const char* name : {"tiny.bmp", "tiny.jpeg", "tiny.png", "tiny.tiff", "tiny.webp"}) {
        const std::string path = std::string(ZOO_SOURCE_DIR) + "/tests/fuzz/corpus/image/" + name;
        EXPECT_TRUE(check_image_signature(path)) << name << ": " << check_image_signature(path).message();
        auto t = load_image(path, spec);
        EXPECT_TRUE(t) << name << ": " << t.status().message();
    }
}

TEST(HostileFiles, AFifoIsRefusedInsteadOfBlockingForever) {
    const std::string path = temp_path("fifo.npy");
    ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
    auto bytes = read_binary_file(path);
    auto info = inspect_npy(path);
    PreprocessSpec spec;
    auto image = load_image(path, spec);
    fs::remove(path);
    ASSERT_FALSE(bytes);
    EXPECT_TRUE(has(bytes.status().message(), "not a regular file")) << bytes.status().message();
    EXPECT_FALSE(info);
    EXPECT_FALSE(image);
}

TEST(HostileNpy, HeaderBatchIsCheckedAgainstTheFileSizeWithoutReadingIt) {
    const std::string path = temp_path("batch.npy");
    write_file(path, npy_file("<f4", "(1099511627776, 3, 224, 224)", 0));  // batch 2^40 in 128 bytes
    auto shape = npy_input_shape(path);
    fs::remove(path);
    ASSERT_FALSE(shape);
    EXPECT_TRUE(has(shape.status().message(), "truncated file")) << shape.status().message();
}

TEST(HostileNpy, IntegerInputsAreRefusedAndFloatsAccepted) {
    const std::string ints = temp_path("int.npy"), halves = temp_path("half.npy");
    write_file(ints, npy_file("<i4", "(1, 3, 2, 2)", 12 * 4));
    write_file(halves, npy_file("<f2", "(2, 3, 192, 160)", 2 * 3 * 192 * 160 * 2));
    auto i = npy_input_shape(ints);
    auto h = npy_input_shape(halves);
    fs::remove(ints);
    fs::remove(halves);
    ASSERT_FALSE(i);
    EXPECT_TRUE(has(i.status().message(), "already preprocessed float tensor")) << i.status().message();
    ASSERT_TRUE(h) << h.status().message();
    EXPECT_EQ(*h, (Shape{2, 3, 192, 160}));
}

TEST(Limits, SetLimitParsesAndRefusesUnknownNames) {
    const int64_t saved = limits().image_pixels;
    EXPECT_TRUE(set_limit("image_pixels=123"));
    EXPECT_EQ(limits().image_pixels, 123);
    limits().image_pixels = saved;
    EXPECT_FALSE(set_limit("image_pixels=-1"));
    Status s = set_limit("pixels=1");
    ASSERT_FALSE(s);
    EXPECT_TRUE(has(s.message(), "image_pixels")) << s.message();
}

TEST(Suggest, ClosestNameFindsTyposAndNothingFar) {
    EXPECT_EQ(closest_name("itertions", {"iterations", "time", "threads"}), "iterations");
    EXPECT_EQ(closest_name("lst", {"list", "run", "sweep"}), "list");
    EXPECT_EQ(closest_name("resnet", {"list", "run", "sweep"}), "");
    EXPECT_EQ(edit_distance("ab", "ba"), 1u);
}

