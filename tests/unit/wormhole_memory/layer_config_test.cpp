// The Wormhole device's declared layer options (config/layer_config.cpp): what the runner checks values against and
// what the device reads back. A wrong spec lets bad values through to the device or refuses good ones.
#include <gtest/gtest.h>

#include "config/layer_config.hpp"

namespace zoo::wormhole {
namespace {

const LayerOptionSpec& spec(const std::string& name) {
    const LayerOptionSpec* s = find_layer_option(layer_option_specs(), name);
    if (!s) throw std::runtime_error("no option " + name);
    return *s;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(WormholeLayerOptions, DeclaresEveryOptionOnceWithTheCardDefaults) {
    const auto& specs = layer_option_specs();
    EXPECT_EQ(specs.size(), 19u);
    for (size_t i = 0; i < specs.size(); ++i)
        for (size_t j = i + 1; j < specs.size(); ++j) EXPECT_NE(specs[i].name, specs[j].name);
    EXPECT_EQ(spec("math_fidelity").type, LayerOptionSpec::Type::Choice);
    EXPECT_EQ(spec("math_fidelity").choices, (std::vector<std::string>{"LoFi", "HiFi2", "HiFi3", "HiFi4"}));
    EXPECT_EQ(spec("math_fidelity").default_value, "HiFi4");
    EXPECT_EQ(spec("fp32_dest_acc").default_value, "off");  // ttnn's default: Dst in bf16
    EXPECT_EQ(spec("math_approx").default_value, "on");
    EXPECT_EQ(spec("core_grid").default_value, "auto");
    EXPECT_EQ(spec("convert_output").type, LayerOptionSpec::Type::ChoiceList);
    EXPECT_EQ(spec("convert_output").default_value, "");
    for (const auto& s : specs) {
        // Every default passes its own check, and every option documents itself.
        const LayerOptions defaults = LayerOptions::defaults({s});
        EXPECT_TRUE(check_layer_option(s, defaults.entries().at(0).second)) << s.name;
        EXPECT_FALSE(s.doc.empty()) << s.name;
    }
}

TEST(WormholeLayerOptions, ActBlockHThatOverflowsIntIsRefusedNamingTheBound) {
    Status s = check_layer_option(spec("act_block_h"), SpecValue::scalar("4294967328", "x.yaml:3:14"));
    ASSERT_FALSE(s);  // used to become 32 silently
    EXPECT_TRUE(has(s.message(), "x.yaml:3:14")) << s.message();
    EXPECT_TRUE(has(s.message(), "1048576")) << s.message();
    EXPECT_FALSE(check_layer_option(spec("act_block_h"), SpecValue::scalar("48", "x.yaml:3:14")));  // not a tile row
    EXPECT_TRUE(check_layer_option(spec("act_block_h"), SpecValue::scalar("64", "x.yaml:3:14")));
}

TEST(WormholeLayerOptions, ChecksEachTypeAndNamesWhatWasExpected) {
    const auto bad = [](const std::string& name, SpecValue v) { return check_layer_option(spec(name), v).message(); };
    EXPECT_TRUE(has(bad("math_fidelity", SpecValue::scalar("HiFi5", "c.yaml:2:3")),
                    "c.yaml:2:3: 'math_fidelity' must be one of LoFi, HiFi2, HiFi3, HiFi4, found 'HiFi5'"));
    EXPECT_TRUE(has(bad("packer_l1_acc", SpecValue::scalar("maybe", "c.yaml:2:3")), "true or false"));
    EXPECT_TRUE(has(bad("core_grid", SpecValue::scalar("0x8", "c.yaml:2:3")), "[1, 64]"));
    EXPECT_FALSE(check_layer_option(spec("core_grid"), SpecValue::scalar("65x1", "c")));
    EXPECT_TRUE(check_layer_option(spec("core_grid"), SpecValue::scalar("8x7", "c")));
    SpecValue ops = SpecValue::list("c");
    ops.push_back(SpecValue::scalar("sharded_to_interleaved", "c"));
    ops.push_back(SpecValue::scalar("to_row_major", "c"));
    EXPECT_TRUE(check_layer_option(spec("convert_output"), ops));
    ops.push_back(SpecValue::scalar("untilize", "c"));
    EXPECT_TRUE(has(check_layer_option(spec("convert_output"), ops).message(), "a list of sharded_to_interleaved"));
}

TEST(WormholeLayerOptions, ReadsCheckedValuesIntoTheDeviceConfig) {
    LayerConfig c = layer_config_defaults();
    EXPECT_EQ(c.dtype, DataFormat::BFloat16);
    c.dtype = DataFormat::BFloat8_b;
    c.options.set("math_fidelity", SpecValue::scalar("LoFi", "c"));
    c.options.set("act_block_h", SpecValue::scalar("64", "c"));
    SpecValue grid = SpecValue::list("c");
    grid.push_back(SpecValue::scalar("4", "c"));
    grid.push_back(SpecValue::scalar("2", "c"));
    c.options.set("core_grid", grid);
    c.options.set("fuse_activation", SpecValue::scalar("off", "c"));
    c.options.set("convert_output", SpecValue::scalar("to_tile", "c"));
    auto read = read_layer_config(c);
    ASSERT_TRUE(read) << read.status().message();
    EXPECT_EQ(read->dtype, DataFormat::BFloat8_b);
    EXPECT_EQ(read->weights_dtype, DataFormat::BFloat16);
    EXPECT_EQ(read->math_fidelity, MathFidelity::LoFi);
    EXPECT_EQ(read->act_block_h, 64);
    EXPECT_EQ(read->core_grid.x, 4);
    EXPECT_EQ(read->core_grid.y, 2);
    EXPECT_FALSE(read->fuse_activation);
    EXPECT_FALSE(read->fp32_dest_acc);  // untouched options keep the card's defaults
    EXPECT_TRUE(read->math_approx);
    ASSERT_EQ(read->convert_output.size(), 1u);
    EXPECT_EQ(read->convert_output[0], ConvertOp::ToTile);
}

TEST(WormholeLayerOptions, AnUncheckedValueIsAnErrorNotAGuess) {
    LayerConfig c = layer_config_defaults();
    c.options.set("math_fidelity", SpecValue::scalar("HiFi9", "c.yaml:1:1"));
    EXPECT_FALSE(read_layer_config(c));
}

}  // namespace
}  // namespace zoo::wormhole
