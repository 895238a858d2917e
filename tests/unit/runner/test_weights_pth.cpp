// torch .pth loading (zip and legacy formats) against files written by Debian's torch at test time
// (tools/make_weight_fixtures.py), plus hand-made archives for what torch never writes (Zip64 extra fields,
// corrupt headers).
//
// This file also defines the small fixture helpers the other weight/npy test files declare and use
// (namespace zoo::runner::weights_test): one definition, so the fixtures are generated once per build.
#include <gtest/gtest.h>

#include "weight_checks.hpp"
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "weights/torch_pth.hpp"
#include "weights/weights.hpp"
#include "weights/zip_archive.hpp"

namespace fs = std::filesystem;

namespace zoo::runner::weights_test {

std::string python_exe() {
    const char* env = std::getenv("ZOO_PYTHON");
    // The python3 first on PATH on these machines cannot see Debian's torch; never fall back to it.
    return env != nullptr && *env != '\0' ? env : "/usr/bin/python3";
}

std::pair<int, std::string> run_command(const std::string& command) {
    std::string output;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return {-1, "popen failed"};
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
    const int status = ::pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// A scratch directory for files the tests write, removed at exit.
const std::string& scratch_dir() {
    static const std::string dir = [] {
        const fs::path p = fs::temp_directory_path() / ("zoo_weights_test_" + std::to_string(::getpid()));
        fs::create_directories(p);
        std::atexit([] { std::error_code ec; fs::remove_all(fs::temp_directory_path() / ("zoo_weights_test_" + std::to_string(::getpid())), ec); });
        return p.string();
    }();
    return dir;
}

namespace {
std::string g_fixture_error;

uint64_t fnv1a(const std::vector<uint8_t>& bytes) {
    uint64_t h = 1469598103934665603ull;
    for (uint8_t b : bytes) h = (h ^ b) * 1099511628211ull;
    return h;
}
}  // namespace

// Fixtures live in the build tree under a name derived from the script's content, so they are generated once per
// script version even though ctest runs every test in its own process. Generation goes to a private directory
// renamed into place, so concurrent test processes never see a half-written set.
const std::string& weight_fixture_dir() {
    static const std::string dir = []() -> std::string {
        const std::string script = std::string(ZOO_SOURCE_DIR) + "/tools/make_weight_fixtures.py";
        const auto script_bytes = read_bytes(script);
        if (script_bytes.empty()) {
            g_fixture_error = "cannot read " + script;
            return "";
        }
        char hash[32];
        std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a(script_bytes)));
        const fs::path root = fs::path(ZOO_BUILD_DIR) / "test_fixtures";
        const fs::path final_dir = root / (std::string("weights-") + hash);
        if (fs::exists(final_dir / "DONE")) return final_dir.string();
        fs::create_directories(root);
        const fs::path temp_dir = root / (std::string("weights-") + hash + ".tmp." + std::to_string(::getpid()));
        std::error_code ec;
        fs::remove_all(temp_dir, ec);
        const std::string command = shell_quote(python_exe()) + " " + shell_quote(script) + " --out " +
                                    shell_quote(temp_dir.string()) + " --marker " +
                                    shell_quote((final_dir / "PWNED").string());
        const auto [code, output] = run_command(command);
        if (code != 0) {
            g_fixture_error = "fixture generation failed (exit " + std::to_string(code) + "): " + command + "\n" + output;
            fs::remove_all(temp_dir, ec);
            return "";
        }
        write_bytes((temp_dir / "DONE").string(), {'o', 'k'});
        fs::rename(temp_dir, final_dir, ec);
        if (ec) fs::remove_all(temp_dir, ec);  // another process got there first; use its copy
        if (!fs::exists(final_dir / "DONE")) {
            g_fixture_error = "fixtures did not appear in " + final_dir.string();
            return "";
        }
        return final_dir.string();
    }();
    return dir;
}

const std::string& weight_fixture_error() { return g_fixture_error; }

// The file the hostile pickles would create if anything executed them.
std::string marker_path() { return weight_fixture_dir() + "/PWNED"; }

// Writes a zip the way torch does (STORED, data descriptors, local sizes 0, Zip64 end record), optionally with every
// size and offset moved into Zip64 extra fields of the central directory.
std::vector<uint8_t> build_zip(const std::vector<std::pair<std::string, std::vector<uint8_t>>>& entries, bool zip64_extra) {
    std::vector<uint8_t> out;
    auto u16 = [&](uint16_t v) { for (int i = 0; i < 2; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i))); };
    auto u32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i))); };
    auto u64 = [&](uint64_t v) { for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i))); };
    auto str = [&](const std::string& s) { out.insert(out.end(), s.begin(), s.end()); };
    struct Written {
        uint64_t offset;
        uint32_t crc;
        uint64_t size;
    };
    std::vector<Written> written;
    for (const auto& [name, data] : entries) {
        Written w{out.size(), crc32_of(data), data.size()};
        u32(0x04034b50); u16(45); u16(0x0008); u16(0); u16(0); u16(0);
        u32(0); u32(0); u32(0);  // crc and sizes in the data descriptor
        u16(static_cast<uint16_t>(name.size())); u16(0);
        str(name);
        out.insert(out.end(), data.begin(), data.end());
        u32(0x08074b50); u32(w.crc); u64(w.size); u64(w.size);
        written.push_back(w);
    }
    const uint64_t directory_offset = out.size();
    for (size_t i = 0; i < entries.size(); ++i) {
        const auto& name = entries[i].first;
        const Written& w = written[i];
        u32(0x02014b50); u16(45); u16(45); u16(0x0008); u16(0); u16(0); u16(0);
        u32(w.crc);
        u32(zip64_extra ? 0xffffffffu : static_cast<uint32_t>(w.size));
        u32(zip64_extra ? 0xffffffffu : static_cast<uint32_t>(w.size));
        u16(static_cast<uint16_t>(name.size())); u16(zip64_extra ? 28 : 0); u16(0);
        u16(0); u16(0); u32(0);
        u32(zip64_extra ? 0xffffffffu : static_cast<uint32_t>(w.offset));
        str(name);
        if (zip64_extra) {
            u16(0x0001); u16(24); u64(w.size); u64(w.size); u64(w.offset);
        }
    }
    const uint64_t directory_size = out.size() - directory_offset;
    const uint64_t zip64_end = out.size();
    u32(0x06064b50); u64(44); u16(45); u16(45); u32(0); u32(0);
    u64(entries.size()); u64(entries.size()); u64(directory_size); u64(directory_offset);
    u32(0x07064b50); u32(0); u64(zip64_end); u32(1);
    u32(0x06054b50); u16(0); u16(0); u16(0xffff); u16(0xffff); u32(0xffffffffu); u32(0xffffffffu); u16(0);
    return out;
}

}  // namespace zoo::runner::weights_test

namespace zoo::runner {
namespace {

using namespace weights_test;

#define REQUIRE_FIXTURES() ASSERT_FALSE(weight_fixture_dir().empty()) << weight_fixture_error()

std::string fixture(const std::string& name) { return weight_fixture_dir() + "/" + name; }

const Tensor& get(const WeightMap& w, const std::string& key) {
    static const Tensor missing;
    auto it = w.find(key);
    EXPECT_NE(it, w.end()) << "missing tensor " << key;
    return it == w.end() ? missing : it->second;
}

void expect_values(const Tensor& t, const Shape& shape, const std::vector<float>& values, ElementType type,
                   const std::string& key) {
    SCOPED_TRACE(key);
    EXPECT_EQ(t.shape, shape);
    EXPECT_EQ(t.element_type, type) << element_type_name(t.element_type);
    ASSERT_EQ(t.data.size(), values.size());
    for (size_t i = 0; i < values.size(); ++i) {
        EXPECT_EQ(t.data[i], values[i]) << "element " << i;
        EXPECT_EQ(std::signbit(t.data[i]), std::signbit(values[i])) << "element " << i;
    }
}

std::vector<float> arange(int n, int start = 0) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(start + i);
    return v;
}

// The values tools/make_weight_fixtures.py puts in known.pth / known_legacy.pth, stated independently here.
void check_known(const WeightMap& w) {
    EXPECT_EQ(w.size(), 18u);
    expect_values(get(w, "plain"), {2, 3, 4}, arange(24), ElementType::Float32, "plain");
    {
        std::vector<float> v;  // arange(12).reshape(3, 4).t()
        for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 3; ++j) v.push_back(static_cast<float>(j * 4 + i));
        expect_values(get(w, "transposed"), {4, 3}, v, ElementType::Float32, "transposed");
    }
    expect_values(get(w, "sliced"), {2, 5}, arange(10, 5), ElementType::Float32, "sliced");
    expect_values(get(w, "shared_whole"), {4, 5}, arange(20), ElementType::Float32, "shared_whole");
    expect_values(get(w, "strided"), {2, 2}, {6, 9, 18, 21}, ElementType::Float32, "strided");
    {
        std::vector<float> v;  // arange(120).reshape(2, 3, 4, 5).permute(0, 2, 3, 1)
        for (int n = 0; n < 2; ++n)
            for (int h = 0; h < 4; ++h)
                for (int x = 0; x < 5; ++x)
                    for (int c = 0; c < 3; ++c) v.push_back(static_cast<float>(n * 60 + c * 20 + h * 5 + x));
        expect_values(get(w, "permuted"), {2, 4, 5, 3}, v, ElementType::Float32, "permuted");
    }
    expect_values(get(w, "expanded"), {3, 4}, {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, ElementType::Float32, "expanded");
    expect_values(get(w, "num_batches_tracked"), {}, {7}, ElementType::Int64, "num_batches_tracked");
    expect_values(get(w, "scalar"), {}, {2.5f}, ElementType::Float32, "scalar");
    expect_values(get(w, "half"), {2, 3}, {0.5f, -1.25f, 65504.0f, std::ldexp(1.0f, -24), -0.0f, 3.0f},
                  ElementType::Float16, "half");
    expect_values(get(w, "bf16"), {4}, {1.0f, -2.5f, 3.140625f, 16777216.0f}, ElementType::BFloat16, "bf16");
    expect_values(get(w, "double"), {2}, {static_cast<float>(0.1), static_cast<float>(-1e-3)}, ElementType::Float64,
                  "double");
    expect_values(get(w, "int32"), {2}, {-5, 7}, ElementType::Int32, "int32");
    expect_values(get(w, "int16"), {2}, {-300, 300}, ElementType::Int32, "int16");
    expect_values(get(w, "int8"), {2}, {-128, 127}, ElementType::Int8, "int8");
    expect_values(get(w, "uint8"), {2}, {0, 255}, ElementType::UInt8, "uint8");
    expect_values(get(w, "bool"), {3}, {1, 0, 1}, ElementType::Bool, "bool");
    expect_values(get(w, "empty"), {0, 3}, {}, ElementType::Float32, "empty");
}

TEST(PthWeights, ZipFormatKnownValues) {
    REQUIRE_FIXTURES();
    EXPECT_EQ(detect_pth_format(read_bytes(fixture("known.pth"))), PthFormat::Zip);
    auto w = load_weights(fixture("known.pth"));
    ASSERT_TRUE(w.is_ok()) << w.status().message();
    check_known(w.value());
}

TEST(PthWeights, LegacyFormatKnownValues) {
    REQUIRE_FIXTURES();
    const auto bytes = read_bytes(fixture("known_legacy.pth"));
    ASSERT_GE(bytes.size(), 4u);
    EXPECT_EQ(bytes[0], 0x80);
    EXPECT_EQ(bytes[1], 0x02);
    EXPECT_EQ(bytes[2], 0x8a);
    EXPECT_EQ(bytes[3], 0x0a);
    auto w = load_weights(fixture("known_legacy.pth"));
    ASSERT_TRUE(w.is_ok()) << w.status().message();
    check_known(w.value());
}

TEST(PthWeights, ModuleStateDictSameInEveryFormat) {
    REQUIRE_FIXTURES();
    auto zip = load_weights(fixture("module.pth"));
    auto legacy = load_weights(fixture("module_legacy.pth"));
    auto safetensors = load_weights(fixture("module.safetensors"));
    ASSERT_TRUE(zip.is_ok()) << zip.status().message();
    ASSERT_TRUE(legacy.is_ok()) << legacy.status().message();
    ASSERT_TRUE(safetensors.is_ok()) << safetensors.status().message();
    const WeightMap& w = zip.value();
    EXPECT_EQ(w.size(), 8u);
    EXPECT_EQ(get(w, "0.weight").shape, (Shape{8, 3, 3, 3}));
    EXPECT_EQ(get(w, "1.running_var").shape, (Shape{8}));
    EXPECT_EQ(get(w, "4.weight").shape, (Shape{10, 128}));
    expect_values(get(w, "1.num_batches_tracked"), {}, {1}, ElementType::Int64, "1.num_batches_tracked");
    // Random values: the formats must agree bit for bit with an independent (Python) safetensors writer.
    expect_bit_identical(w, legacy.value());
    expect_bit_identical(w, safetensors.value());
    EXPECT_NE(get(w, "1.running_mean").data[0], 0.0f);  // a real state, not defaults
}

TEST(PthWeights, RefusesHostilePicklesByName) {
    REQUIRE_FIXTURES();
    for (const char* name : {"evil.pth", "evil_legacy.pth", "evil_in_dict.pth", "evil_proto2.pkl", "evil_proto4.pkl"}) {
        SCOPED_TRACE(name);
        auto w = load_weights(fixture(name));
        ASSERT_FALSE(w.is_ok());
        const std::string& msg = w.status().message();
        EXPECT_NE(msg.find(fixture(name)), std::string::npos) << msg;
        EXPECT_NE(msg.find("refusing to load pickle global 'posix.system'"), std::string::npos) << msg;
        EXPECT_NE(msg.find("only torch tensor-rebuild globals are allowed"), std::string::npos) << msg;
    }
    EXPECT_FALSE(fs::exists(marker_path())) << "a hostile pickle was executed: " << marker_path();
}

TEST(PthWeights, RefusesWholePickledModule) {
    REQUIRE_FIXTURES();
    auto w = load_weights(fixture("whole_model.pth"));
    ASSERT_FALSE(w.is_ok());
    EXPECT_NE(w.status().message().find("'torch.nn.modules.linear.Linear'"), std::string::npos) << w.status().message();
}

TEST(PthWeights, TopLevelMustBeDictOfTensors) {
    REQUIRE_FIXTURES();
    auto list = load_weights(fixture("list.pth"));
    ASSERT_FALSE(list.is_ok());
    EXPECT_NE(list.status().message().find("list of 1 items"), std::string::npos) << list.status().message();
    EXPECT_NE(list.status().message().find("expected a dict of name -> tensor"), std::string::npos);

    auto checkpoint = load_weights(fixture("checkpoint.pth"));
    ASSERT_FALSE(checkpoint.is_ok());
    const std::string& msg = checkpoint.status().message();
    EXPECT_NE(msg.find("tensor 'state_dict': expected a tensor, found dict with 18 entries"), std::string::npos) << msg;

    auto plain = load_weights(fixture("plain_dict.pkl"));
    ASSERT_FALSE(plain.is_ok());
    EXPECT_NE(plain.status().message().find("not a torch.save file"), std::string::npos) << plain.status().message();
}

TEST(PthWeights, EveryTruncationIsAnError) {
    REQUIRE_FIXTURES();
    for (const char* name : {"known.pth", "known_legacy.pth"}) {
        const auto bytes = read_bytes(fixture(name));
        ASSERT_FALSE(bytes.empty());
        for (size_t n = 0; n < bytes.size(); ++n) {
            auto w = load_pth_bytes(std::span(bytes.data(), n), "cut.pth");
            ASSERT_FALSE(w.is_ok()) << name << " cut at " << n;
            ASSERT_EQ(w.status().message().rfind("cut.pth", 0), 0u) << w.status().message();
        }
    }
}

TEST(PthWeights, FlippedBytesAreCaughtOrHarmless) {
    REQUIRE_FIXTURES();
    const auto original = read_bytes(fixture("known.pth"));
    auto reference = load_pth_bytes(original, "known.pth");
    ASSERT_TRUE(reference.is_ok()) << reference.status().message();
    size_t errors = 0;
    for (size_t i = 0; i < original.size(); ++i) {
        auto bytes = original;
        bytes[i] ^= 0xff;
        auto w = load_pth_bytes(bytes, "flipped.pth");
        if (w.is_ok()) {
            // Only bytes nobody reads (timestamps, padding, unread records) may change without an error: the zip
            // format's CRC-32 protects every tensor.
            SCOPED_TRACE("flipped byte " + std::to_string(i));
            expect_bit_identical(reference.value(), w.value());
        } else {
            ++errors;
        }
    }
    EXPECT_GT(errors, original.size() / 2);

    // The legacy format has no checksum: a flip may change a value, but must never crash.
    const auto legacy = read_bytes(fixture("known_legacy.pth"));
    for (size_t i = 0; i < legacy.size(); ++i) {
        auto bytes = legacy;
        bytes[i] ^= 0xff;
        (void)load_pth_bytes(bytes, "flipped_legacy.pth");
    }
}

// Offset of the n-th occurrence of a 4-byte signature.
size_t find_signature(const std::vector<uint8_t>& bytes, uint32_t sig, int nth = 0) {
    for (size_t i = 0; i + 4 <= bytes.size(); ++i) {
        uint32_t v = 0;
        std::memcpy(&v, bytes.data() + i, 4);
        if (v == sig && nth-- == 0) return i;
    }
    return std::string::npos;
}

TEST(PthWeights, CorruptionMessagesSayWhatIsWrong) {
    REQUIRE_FIXTURES();
    const auto original = read_bytes(fixture("known.pth"));
    {  // compressed entry
        auto bytes = original;
        const size_t central = find_signature(bytes, 0x02014b50);
        ASSERT_NE(central, std::string::npos);
        bytes[central + 10] = 8;  // deflate
        auto w = load_pth_bytes(bytes, "deflated.pth");
        ASSERT_FALSE(w.is_ok());
        EXPECT_NE(w.status().message().find("deflated.pth: entry 'known/data.pkl' uses compression method 8"),
                  std::string::npos) << w.status().message();
    }
    {  // a flipped tensor byte: the CRC names the record
        auto archive = ZipArchive::open(original, "known.pth");
        ASSERT_TRUE(archive.is_ok()) << archive.status().message();
        const ZipEntry* e = archive->find("known/data/0");
        ASSERT_NE(e, nullptr);
        auto bytes = original;
        bytes[e->data_offset + 1] ^= 0x10;
        auto w = load_pth_bytes(bytes, "bitrot.pth");
        ASSERT_FALSE(w.is_ok());
        EXPECT_NE(w.status().message().find("entry 'known/data/0' is corrupt: its CRC-32"), std::string::npos)
            << w.status().message();
    }
    {  // central directory points into nowhere
        auto bytes = original;
        const size_t central = find_signature(bytes, 0x02014b50, 1);
        ASSERT_NE(central, std::string::npos);
        bytes[central + 42 + 3] = 0x7f;  // local header offset high byte
        auto w = load_pth_bytes(bytes, "pointer.pth");
        ASSERT_FALSE(w.is_ok());
        EXPECT_NE(w.status().message().find("local header"), std::string::npos) << w.status().message();
    }
    {  // end record lost
        auto bytes = original;
        bytes.resize(bytes.size() - 10);
        auto w = load_pth_bytes(bytes, "short.pth");
        ASSERT_FALSE(w.is_ok());
        EXPECT_NE(w.status().message().find("no zip end-of-central-directory record"), std::string::npos)
            << w.status().message();
    }
    {  // legacy: storage bytes missing
        auto bytes = read_bytes(fixture("known_legacy.pth"));
        bytes.resize(bytes.size() - 3);
        auto w = load_pth_bytes(bytes, "legacy_short.pth");
        ASSERT_FALSE(w.is_ok());
        EXPECT_NE(w.status().message().find("legacy_short.pth: truncated file: storage '"), std::string::npos)
            << w.status().message();
    }
    {  // legacy: trailing garbage
        auto bytes = read_bytes(fixture("known_legacy.pth"));
        bytes.push_back(0);
        auto w = load_pth_bytes(bytes, "legacy_long.pth");
        ASSERT_FALSE(w.is_ok());
        EXPECT_NE(w.status().message().find("1 unexpected bytes after the last storage"), std::string::npos)
            << w.status().message();
    }
}

TEST(PthWeights, Zip64ExtraFieldsAndAnyRootFolder) {
    REQUIRE_FIXTURES();
    const auto original = read_bytes(fixture("known.pth"));
    auto archive = ZipArchive::open(original, "known.pth");
    ASSERT_TRUE(archive.is_ok()) << archive.status().message();
    std::vector<std::pair<std::string, std::vector<uint8_t>>> entries;
    for (const ZipEntry& e : archive->entries()) {
        auto data = archive->read(e.name);
        ASSERT_TRUE(data.is_ok()) << data.status().message();
        ASSERT_EQ(e.name.rfind("known/", 0), 0u);
        entries.emplace_back("another_root/" + e.name.substr(6), std::vector<uint8_t>(data->begin(), data->end()));
    }
    for (bool zip64_extra : {false, true}) {
        SCOPED_TRACE(zip64_extra ? "zip64 extra" : "classic central directory");
        const auto rebuilt = build_zip(entries, zip64_extra);
        auto w = load_pth_bytes(rebuilt, "rebuilt.pth");
        ASSERT_TRUE(w.is_ok()) << w.status().message();
        check_known(w.value());
    }
    // Without the Zip64 extra field the placeholders cannot be resolved.
    auto broken = build_zip(entries, true);
    const size_t central = find_signature(broken, 0x02014b50);
    broken[central + 46 + std::string("another_root/data.pkl").size()] = 0x99;  // extra id 0x0001 -> 0x0099
    auto w = load_pth_bytes(broken, "broken64.pth");
    ASSERT_FALSE(w.is_ok());
    EXPECT_NE(w.status().message().find("no Zip64 extra field"), std::string::npos) << w.status().message();
}

TEST(PthWeights, MissingDataPklIsExplained) {
    const auto zip = build_zip({{"root/version", {'3'}}}, false);
    auto w = load_pth_bytes(zip, "nodata.pth");
    ASSERT_FALSE(w.is_ok());
    EXPECT_NE(w.status().message().find("no '<root>/data.pkl' entry (entries: root/version)"), std::string::npos)
        << w.status().message();
}

TEST(ZipArchive, Crc32MatchesTheStandardCheckValue) {
    const std::string s = "123456789";
    EXPECT_EQ(crc32_of(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size())), 0xcbf43926u);
}

TEST(ZipArchive, ListsTorchEntriesWithAlignedData) {
    REQUIRE_FIXTURES();
    const auto bytes = read_bytes(fixture("known.pth"));
    auto archive = ZipArchive::open(bytes, "known.pth");
    ASSERT_TRUE(archive.is_ok()) << archive.status().message();
    ASSERT_NE(archive->find("known/data.pkl"), nullptr);
    ASSERT_NE(archive->find("known/version"), nullptr);
    EXPECT_EQ(archive->find("known/nothing"), nullptr);
    for (const ZipEntry& e : archive->entries()) EXPECT_EQ(e.data_offset % 64, 0u) << e.name;
    auto version = archive->read("known/version");
    ASSERT_TRUE(version.is_ok());
    EXPECT_EQ(std::string(version->begin(), version->end()).substr(0, 1), "3");
    auto missing = archive->read("known/nothing");
    ASSERT_FALSE(missing.is_ok());
    EXPECT_NE(missing.status().message().find("known.pth: the archive has no entry 'known/nothing'"), std::string::npos);
}

}  // namespace
}  // namespace zoo::runner
