#include <gtest/gtest.h>

#include <boost/filesystem.hpp>
#include <cmath>
#include <fstream>

#include "config/run_config.hpp"
#include "config/yaml_spec.hpp"
#include "measure/accuracy.hpp"
#include "measure/latency_stats.hpp"

using namespace zoo;
using namespace zoo::runner;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
    auto dir = boost::filesystem::temp_directory_path() / ("zoo_run_config_" + std::to_string(::getpid()));
    boost::filesystem::create_directories(dir);
    std::string path = (dir / name).string();
    std::ofstream(path) << text;
    return path;
}

Graph three_convs() {
    Graph g;
    g.name = "three";
    Node in;
    in.name = "input";
    in.attrs = InputAttrs{{1, 4, 8, 8}};
    g.add_node(in);
    for (const char* name : {"features.0.0", "features.1.conv.0.0", "features.10.conv.0.0"}) {
        Node c;
        c.name = name;
        c.op = OpKind::Conv2d;
        c.inputs = {static_cast<int>(g.nodes.size()) - 1};
        Conv2dAttrs a;
        a.in_channels = a.out_channels = 4;
        c.attrs = a;
        c.params.push_back({"weight", std::string(name) + ".weight", {4, 4, 1, 1}});
        g.add_node(c);
    }
    Node r;
    r.name = "act";
    r.op = OpKind::Relu;
    r.inputs = {3};
    g.add_node(r);
    g.outputs = {4};
    return g;
}

// Options as a device would declare them (DevicePlugin::layer_options): the runner knows nothing else about them.
LayerOptionCatalog card_options() {
    using Type = LayerOptionSpec::Type;
    LayerOptionCatalog out(4);
    out[0].name = "math_fidelity", out[0].type = Type::Choice, out[0].choices = {"LoFi", "HiFi2", "HiFi4"};
    out[0].default_value = "HiFi4";
    out[1].name = "shard_layout", out[1].type = Type::Choice;
    out[1].choices = {"auto", "HEIGHT_SHARDED", "BLOCK_SHARDED"}, out[1].default_value = "auto";
    out[2].name = "act_block_h", out[2].type = Type::Integer, out[2].multiple_of = 32, out[2].max = 1 << 20;
    out[2].default_value = "0";
    out[3].name = "core_grid", out[3].type = Type::Grid, out[3].min = 1, out[3].max = 64, out[3].default_value = "auto";
    return out;
}

DeviceLayerOptions card() { return {"card", card_options(), LayerConfig{}}; }

std::string option(const LayerConfig& c, const std::string& name) {
    const SpecValue* v = c.options.find(name);
    static const LayerOptionCatalog options = card_options();  // the spec must outlive this call
    const LayerOptionSpec* spec = find_layer_option(options, name);
    return v && spec ? layer_option_text(*spec, *v) : "(missing)";
}

}  // namespace

TEST(YamlSpec, ValuesCarryFileLineAndColumn) {
    auto spec = parse_yaml_spec("a: 1\nlist:\n  - [1, 2]\n", "t.yaml");
    ASSERT_TRUE(spec.is_ok()) << spec.status().message();
    EXPECT_EQ(spec->find("a")->source(), "t.yaml:1:4");
    EXPECT_EQ(spec->find("list")->items()[0].items()[1].source(), "t.yaml:3:9");
    auto bad = parse_yaml_spec("a: [1, 2\n", "t.yaml");
    ASSERT_FALSE(bad.is_ok());
    EXPECT_EQ(bad.status().message().rfind("t.yaml:2:1: invalid YAML", 0), 0u) << bad.status().message();
    auto dup = parse_yaml_spec("a: 1\na: 2\n", "t.yaml");
    ASSERT_FALSE(dup.is_ok());
    EXPECT_NE(dup.status().message().find("t.yaml:2:1: key 'a' appears twice"), std::string::npos) << dup.status().message();
}

TEST(RunConfig, DefaultsThenOrderedRulesLastWins) {
    const std::string path = write_temp("ok.yaml",
                                        "batch: 10\n"
                                        "defaults: {dtype: bfloat8_b, math_fidelity: LoFi}\n"
                                        "layers:\n"
                                        "  - match: 'features.1*'\n"
                                        "    op: conv2d\n"
                                        "    shard_layout: BLOCK_SHARDED\n"
                                        "    act_block_h: 64\n"
                                        "  - match: 'features.10.*'\n"
                                        "    shard_layout: HEIGHT_SHARDED\n"
                                        "    core_grid: [8, 4]\n");
    auto config = load_run_config(path, card_options());
    ASSERT_TRUE(config.is_ok()) << config.status().message();
    EXPECT_EQ(config->batch.value_or(0), 10);
    Graph g = three_convs();
    auto resolved = resolve_layer_configs(g, card(), *config);
    ASSERT_TRUE(resolved.is_ok()) << resolved.status().message();
    const auto& c = resolved->per_node;
    EXPECT_EQ(c[1].dtype, DataFormat::BFloat8_b);
    EXPECT_EQ(option(c[1], "math_fidelity"), "LoFi");
    EXPECT_EQ(option(c[1], "shard_layout"), "auto");  // features.0.0 matches neither rule
    EXPECT_EQ(option(c[1], "act_block_h"), "0");      // the declared default
    EXPECT_EQ(option(c[2], "shard_layout"), "BLOCK_SHARDED");
    EXPECT_EQ(option(c[2], "act_block_h"), "64");
    EXPECT_EQ(option(c[3], "shard_layout"), "HEIGHT_SHARDED");  // later rule wins
    EXPECT_EQ(option(c[3], "act_block_h"), "64");               // earlier rule's other keys stay
    EXPECT_EQ(option(c[3], "core_grid"), "8x4");
    EXPECT_EQ(option(c[4], "shard_layout"), "auto");  // the relu is not a conv
    EXPECT_TRUE(resolved->warnings.empty());
}

TEST(RunConfig, SetOverridesChangeDefaultsOrAddRules) {
    RunConfig config;
    const auto known = card_options();
    ASSERT_TRUE(*apply_config_override(config, *parse_set_argument("math_fidelity=HiFi2"), known));
    ASSERT_TRUE(*apply_config_override(config, *parse_set_argument("features.0.*:dtype=bfloat4_b"), known));
    EXPECT_FALSE(*apply_config_override(config, *parse_set_argument("width_mult=0.5"), known));  // not a layer key
    auto unknown = apply_config_override(config, *parse_set_argument("features.0.*:colour=red"), known);
    ASSERT_FALSE(unknown.is_ok());
    EXPECT_NE(unknown.status().message().find("unknown layer setting 'colour'"), std::string::npos);
    auto bad = apply_config_override(config, *parse_set_argument("math_fidelity=HiFi3"), known);
    ASSERT_FALSE(bad.is_ok());  // checked against the declaration: this card has no HiFi3
    EXPECT_NE(bad.status().message().find("must be one of LoFi, HiFi2, HiFi4, found 'HiFi3'"), std::string::npos)
        << bad.status().message();
    Graph g = three_convs();
    auto resolved = resolve_layer_configs(g, card(), config);
    ASSERT_TRUE(resolved.is_ok());
    EXPECT_EQ(resolved->per_node[1].dtype, DataFormat::BFloat4_b);
    EXPECT_EQ(resolved->per_node[2].dtype, DataFormat::Float32);
    EXPECT_EQ(option(resolved->per_node[2], "math_fidelity"), "HiFi2");
}

TEST(RunConfig, AnotherDevicesOptionIsIgnoredWithOneWarning) {
    RunConfig config;
    const auto known = card_options();
    ASSERT_TRUE(*apply_config_override(config, *parse_set_argument("math_fidelity=LoFi"), known));
    ASSERT_TRUE(*apply_config_override(config, *parse_set_argument("features.1*:math_fidelity=HiFi2"), known));
    ASSERT_TRUE(*apply_config_override(config, *parse_set_argument("dtype=bfloat16"), known));
    Graph g = three_convs();
    auto resolved = resolve_layer_configs(g, {"host", {}, LayerConfig{}}, config);  // declares nothing
    ASSERT_TRUE(resolved.is_ok()) << resolved.status().message();
    EXPECT_EQ(resolved->per_node[1].dtype, DataFormat::BFloat16);  // common keys reach every device
    EXPECT_TRUE(resolved->per_node[1].options.entries().empty());
    ASSERT_EQ(resolved->warnings.size(), 1u);
    EXPECT_NE(resolved->warnings[0].find("device 'host' ignores settings of options it does not have (its own: none): "
                                         "'math_fidelity' at --set math_fidelity=LoFi"),
              std::string::npos)
        << resolved->warnings[0];
}

TEST(RunConfig, ErrorsNameFileLineKeyAndWhatWasExpected) {
    struct Case {
        std::string yaml, expected;
    };
    const std::vector<Case> cases{
        {"defaults: {dtype: float16}\n", ":1:19: 'dtype' must be one of float32, bfloat16, bfloat8_b, bfloat4_b, found 'float16'"},
        {"layers:\n  - match: x\n    act_block_h: 48\n",
         ":3:18: 'act_block_h' must be an integer in [0, 1048576], a multiple of 32, found '48'"},
        {"layers:\n  - match: x\n    sharding: HEIGHT\n",
         ":3:15: unknown layer setting 'sharding' (accepted: dtype, weights_dtype, math_fidelity, shard_layout"},
        {"layers:\n  - op: conv2d\n    dtype: bfloat16\n", ":2:5: missing key 'match'"},
        {"layers:\n  - match: x\n    op: maxpool\n", ":3:9: 'op' must be an op name"},
        {"batch: 0\n", ":1:8: 'batch' must be a positive integer"},
        {"colour: red\n", ":1:9: unknown key 'colour'"},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        const std::string path = write_temp("bad" + std::to_string(i) + ".yaml", cases[i].yaml);
        auto config = load_run_config(path, card_options());
        ASSERT_FALSE(config.is_ok()) << cases[i].yaml;
        EXPECT_NE(config.status().message().find(path + cases[i].expected), std::string::npos)
            << "got: " << config.status().message() << "\nwant: " << path + cases[i].expected;
    }
}

TEST(RunConfig, RuleMatchingNothingIsAWarning) {
    RunConfig config;
    ASSERT_TRUE(*apply_config_override(config, *parse_set_argument("classifier.*:dtype=bfloat16"), card_options()));
    Graph g = three_convs();
    auto resolved = resolve_layer_configs(g, card(), config);
    ASSERT_TRUE(resolved.is_ok());
    ASSERT_EQ(resolved->warnings.size(), 1u);
    EXPECT_NE(resolved->warnings[0].find("matches no layer of three"), std::string::npos) << resolved->warnings[0];
}

TEST(LatencyStats, PercentilesInterpolateLikeNumpy) {
    std::vector<double> v;
    for (int i = 1; i <= 101; ++i) v.push_back(102 - i);  // 101..1, unsorted input
    LatencyStats s = summarize_latencies(v);
    EXPECT_EQ(s.count, 101u);
    EXPECT_DOUBLE_EQ(s.median_ms, 51);
    EXPECT_DOUBLE_EQ(s.p90_ms, 91);
    EXPECT_DOUBLE_EQ(s.p99_ms, 100);
    EXPECT_DOUBLE_EQ(s.min_ms, 1);
    EXPECT_DOUBLE_EQ(s.max_ms, 101);
    EXPECT_DOUBLE_EQ(s.mean_ms, 51);
    EXPECT_NEAR(percentile_sorted({1, 2, 3, 4}, 50), 2.5, 1e-12);
    EXPECT_NEAR(s.stddev_ms, 29.3002, 1e-4);  // sample standard deviation of 1..101
}

TEST(Accuracy, PccAndErrors) {
    Tensor a(Shape{4}, {1, 2, 3, 4});
    Tensor b(Shape{4}, {2, 4, 6, 8});
    EXPECT_NEAR(compare_tensors(a, b).pcc, 1.0, 1e-12);  // scale does not change correlation...
    EXPECT_DOUBLE_EQ(compare_tensors(a, b).max_abs_error, 4.0);  // ...but the error sees it
    Tensor c(Shape{4}, {4, 3, 2, 1});
    EXPECT_NEAR(compare_tensors(a, c).pcc, -1.0, 1e-12);
    Tensor k(Shape{4}, {1, 1, 1, 1});
    EXPECT_DOUBLE_EQ(compare_tensors(k, k).pcc, 1.0);
    EXPECT_DOUBLE_EQ(compare_tensors(k, a).pcc, 0.0);
    Tensor n(Shape{4}, {1, 2, NAN, 4});
    EXPECT_TRUE(std::isnan(compare_tensors(n, a).pcc));
}
