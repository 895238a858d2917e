#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "config/yaml_spec.hpp"
#include "memory/hardware.hpp"
#include "wh_memory_test_support.hpp"

namespace zoo::wormhole {
namespace {

using test::n150;

// 1-based line of the first occurrence of `needle` in `text`.
int line_of(const std::string& text, const std::string& needle) {
    const size_t at = text.find(needle);
    EXPECT_NE(at, std::string::npos) << needle;
    return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
}

TEST(WormholeHardware, ShippedYamlParsesWithTheDocumentedNumbers) {
    const WormholeHardware& hw = n150();
    EXPECT_EQ(hw.name, "wormhole_n150");
    EXPECT_EQ(hw.grid.cores(), 64);
    EXPECT_EQ(hw.l1.bytes_per_core, 1499136);
    EXPECT_EQ(hw.l1.allocatable(), 1401888);  // the figure a tt-metal test quotes
    EXPECT_EQ(hw.l1.buffer_region_bytes(), 1401888 - hw.l1.l1_small_bytes);
    EXPECT_EQ(hw.dram.total_bytes(), 12LL << 30);
    EXPECT_EQ(hw.dram.bank_bytes(), 1LL << 30);
    EXPECT_EQ(hw.tile_bytes(DataFormat::BFloat8_b), 1088);
    EXPECT_EQ(hw.tile_bytes(DataFormat::BFloat4_b), 576);
    EXPECT_EQ(hw.row_major_element_bytes(DataFormat::BFloat8_b), 2);  // row-major bfp is held as bfloat16
    EXPECT_EQ(hw.row_major_element_bytes(DataFormat::Float32), 4);
    EXPECT_EQ(hw.compute.tile_matmul_cycles[static_cast<size_t>(MathFidelity::HiFi3)], 48);
    EXPECT_DOUBLE_EQ(hw.chip.ai_clock_hz, 1.0e9);
    EXPECT_DOUBLE_EQ(hw.data_movement.l1_read_bytes_per_s_per_core, 29.7e9);
    EXPECT_EQ(hw.data_movement.dram_latency_cycles, 358);
    // Every number keeps its source.
    ASSERT_TRUE(hw.sources.count("l1.bytes_per_core"));
    EXPECT_NE(hw.sources.at("l1.bytes_per_core").find("L1.md"), std::string::npos);
    EXPECT_TRUE(hw.sources.count("compute.fpu.tile_matmul_cycles.LoFi"));
}

class HardwareErrors : public ::testing::Test {
protected:
    std::string text = test::read_text(test::source_dir() + "/yaml/devices/wormhole_n150.yaml");
    Status parse(const std::string& yaml) {
        auto spec = runner::parse_yaml_spec(yaml, "n150_test.yaml");
        if (!spec) return spec.status();
        auto hw = parse_hardware(*spec);
        return hw ? Status::ok() : hw.status();
    }
};

TEST_F(HardwareErrors, UnknownKeyNamesFileAndLine) {
    const std::string anchor = "  l1_small_bytes:";
    const std::string bad = text.substr(0, text.find(anchor)) + "  bogus_bytes: {value: 1, source: \"x\"}\n" +
                            text.substr(text.find(anchor));
    Status s = parse(bad);
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("bogus_bytes"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("n150_test.yaml:" + std::to_string(line_of(bad, "bogus_bytes")) + ":"), std::string::npos)
        << s.message();
}

TEST_F(HardwareErrors, NegativeL1SizeNamesFileAndLine) {
    std::string bad = text;
    const std::string from = "bytes_per_core: {value: 1499136";
    bad.replace(bad.find(from), from.size(), "bytes_per_core: {value: -1499136");
    Status s = parse(bad);
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("n150_test.yaml:" + std::to_string(line_of(bad, "-1499136")) + ":"), std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find("l1.bytes_per_core must be >= 1"), std::string::npos) << s.message();
}

TEST_F(HardwareErrors, NumberWithoutSourceIsRefused) {
    std::string bad = text;
    const std::string from = "worker_x: {value: 8, source: \"tt-metal tt_metal/core_descriptors/wormhole_b0_80_arch.yaml\"}";
    ASSERT_NE(bad.find(from), std::string::npos);
    bad.replace(bad.find(from), from.size(), "worker_x: {value: 8}");
    Status s = parse(bad);
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("missing key 'source'"), std::string::npos) << s.message();
}

TEST_F(HardwareErrors, ReservedBaseBeyondL1IsRefused) {
    std::string bad = text;
    const std::string from = "reserved_base_bytes: {value: 97248";
    bad.replace(bad.find(from), from.size(), "reserved_base_bytes: {value: 1499136");
    Status s = parse(bad);
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("leave no L1 for buffers"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace zoo::wormhole

namespace zoo::wormhole {
namespace {

// The README's schema is generated from the key table (hardware_schema_markdown): a key added to the table without
// the README, or the reverse, fails here with the text to paste.
TEST(WormholeHardware, ReadmeSchemaIsTheKeyTable) {
    std::ifstream in(test::source_dir() + "/yaml/devices/README.md");
    const std::string readme((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string begin = "<!-- schema generated from devices/wormhole/memory/hardware.hpp: begin -->\n";
    const std::string end = "<!-- schema: end -->";
    const size_t b = readme.find(begin), e = readme.find(end);
    ASSERT_NE(b, std::string::npos);
    ASSERT_NE(e, std::string::npos);
    EXPECT_EQ(readme.substr(b + begin.size(), e - b - begin.size()), hardware_schema_markdown())
        << "paste between the markers:\n" << hardware_schema_markdown();
}

TEST(WormholeHardware, EveryKeyOfTheShippedYamlIsInTheSchema) {
    // Reading succeeds only with every key accepted; here each accepted number also has a schema row.
    const std::string schema = hardware_schema_markdown();
    for (const auto& [key, source] : n150().sources) {
        std::string row = key;
        // Hand-read maps have one row for the map (tile.bytes, compute.fpu.tile_matmul_cycles, ...).
        for (const char* map : {"tile.bytes", "compute.fpu.tile_matmul_cycles", "perf.sfpu_instructions_per_pass"})
            if (key.rfind(std::string(map) + ".", 0) == 0) row = map;
        EXPECT_NE(schema.find("| `" + row + "` |"), std::string::npos) << key;
    }
}

}  // namespace
}  // namespace zoo::wormhole
