#include <gtest/gtest.h>

#include <iostream>

#include "blocks/mobilenet_blocks.hpp"
#include "config/run_config.hpp"
#include "memory/memory_plan.hpp"
#include "wh_memory_test_support.hpp"

namespace zoo::wormhole {
namespace {

using test::n150;

// The shipped tt-metal config resolved as the runner resolves it for this device, then read by the device.
std::vector<WormholeLayerConfig> ttmetal_configs(const Graph& g) {
    auto rc = runner::load_run_config(test::source_dir() + "/yaml/configs/mobilenetv2_ttmetal_n150.yaml",
                                      layer_option_specs());
    EXPECT_TRUE(rc) << rc.status().message();
    EXPECT_EQ(rc->batch.value_or(0), 10);
    auto resolved =
        runner::resolve_layer_configs(g, {"wormhole", layer_option_specs(), layer_config_defaults()}, *rc);
    EXPECT_TRUE(resolved) << resolved.status().message();
    // A pattern that matches nothing means a wrong node name in the shipped config.
    EXPECT_TRUE(resolved->warnings.empty()) << resolved->warnings.front();
    std::vector<WormholeLayerConfig> out;
    for (const auto& c : resolved->per_node) {
        auto read = read_layer_config(c);
        EXPECT_TRUE(read) << read.status().message();
        out.push_back(read ? *read : WormholeLayerConfig{});
    }
    return out;
}

const LayerMemory& layer(const MemoryPlan& plan, const std::string& name) {
    for (const auto& l : plan.layers)
        if (l.name == name) return l;
    throw std::runtime_error("no layer " + name);
}

TEST(MemoryPlan, TtMetalMobileNetV2FitsAtBatch10) {
    const Graph g = test::mobilenetv2_graph(10);
    const auto configs = ttmetal_configs(g);
    // The shipped config sets the layouts tt-metal uses.
    EXPECT_EQ(configs[g.find("features.7.conv.1.0")].shard_layout, ShardLayout::BlockSharded);
    EXPECT_EQ(configs[g.find("features.10.conv.2")].shard_layout, ShardLayout::BlockSharded);
    EXPECT_EQ(configs[g.find("features.11.conv.2")].shard_layout, ShardLayout::HeightSharded);
    EXPECT_EQ(configs[g.find("features.6.conv.0.0")].shard_layout, ShardLayout::HeightSharded);
    EXPECT_EQ(configs[g.find("features.18.0")].shard_layout, ShardLayout::HeightSharded);
    EXPECT_EQ(configs[g.find("features.3.conv.1.0")].weights_dtype, DataFormat::BFloat8_b);

    auto program = lower_program(g, configs, n150());
    ASSERT_TRUE(program) << program.status().message();
    auto plan = plan_memory(g, *program, n150());
    ASSERT_TRUE(plan) << plan.status().message();
    std::cout << format_memory_plan(*program, *plan);
    for (const auto& w : plan->warnings) std::cout << "warning: " << w << "\n";

    // The image: row-major bfloat16, 7,840 x 16 on 64 cores (as tt-metal models/demos/mobilenetv2 shards it).
    const LayerMemory& input = layer(*plan, "input");
    EXPECT_EQ(input.output.describe(), "HEIGHT 64c 7840x16 bfloat16 row-major");
    EXPECT_EQ(input.output.bytes_per_bank, 7840 * 16 * 2);
    const LayerMemory& stem = layer(*plan, "features.0.0");
    ASSERT_TRUE(stem.conv);
    EXPECT_EQ(stem.conv->num_cores, 64);
    EXPECT_EQ(stem.output.describe(), "HEIGHT 64c 1984x32 bfloat8_b");
    EXPECT_EQ(stem.output.bytes_per_bank, 62 * 1088);
    const LayerMemory& expand6 = layer(*plan, "features.7.conv.0.0");
    EXPECT_EQ(expand6.output.describe(), "BLOCK 48c 992x32 bfloat8_b");
    EXPECT_TRUE(layer(*plan, "features.0.2").fused_or_view);  // ReLU6 fused into the stem conv

    EXPECT_GT(plan->peak_l1_per_core, 0);
    EXPECT_LT(plan->peak_l1_per_core, n150().l1.buffer_region_bytes());
    for (const auto& l : plan->layers) EXPECT_LE(l.peak_l1_per_core, plan->peak_l1_per_core);
    // Weights: bfloat8_b tiles spread over 12 DRAM banks.
    EXPECT_GT(plan->dram_weight_bytes_per_bank, 0);
    EXPECT_EQ(plan->dram_banks, 12);
}

TEST(MemoryPlan, StemOnOneCoreRunsOutOfL1NamingTheLayer) {
    const Graph g = test::mobilenetv2_graph(10);
    auto configs = ttmetal_configs(g);
    configs[g.find("features.0.0")].core_grid = {1, 1};
    auto plan = plan_memory(g, configs, n150());
    ASSERT_FALSE(plan);
    // The image stays sharded over 8x8 (250,880 B per core); the conv on one core must first gather all of it:
    // 501,760 rows x 16 ch x 2 B = 16,056,320 B on one bank of 1,499,136 - 97,248 - 32,768 = 1,369,120 B.
    EXPECT_EQ(plan.status().message(),
              "Out of Memory: Not enough space to allocate 16056320 B L1 buffer across 1 banks, where each bank needs to "
              "store 16056320 B, but bank size is 1369120 B (allocated: 250880 B, free: 1118240 B, largest free block: "
              "1118240 B) for 'features.0.0:reshard' (layer features.0.0)");
}

// input [1, 4096, 8, 8] -> 1x1 conv 4096 -> 4096, HEIGHT sharded, bfloat16 everywhere.
Graph wide_conv_graph() {
    Graph g;
    g.name = "wide";
    models::GraphBuilder b(g);
    int x = b.input("input", {1, 4096, 8, 8});
    Conv2dAttrs a;
    a.in_channels = 4096;
    a.out_channels = 4096;
    x = b.conv("big", x, a);
    b.output(x);
    EXPECT_TRUE(g.infer_shapes());
    return g;
}

TEST(MemoryPlan, CircularBuffersBeyondL1FailLikeTheCard) {
    const Graph g = wide_conv_graph();
    WormholeLayerConfig c;
    c.dtype = c.weights_dtype = DataFormat::BFloat16;
    c.shard_layout = ShardLayout::HeightSharded;
    auto plan = plan_memory(g, {c, c}, n150());
    ASSERT_FALSE(plan);
    // 64 rows = 2 tiles -> 2 cores of 32 rows. act: 1 x 128 tiles bf16 = 262,144 B; weights: the whole
    // 128 x 128-tile matrix bf16 = 33,554,432 B; region end 97,248 + 33,816,576.
    EXPECT_EQ(plan.status().message(),
              "Statically allocated circular buffers on core range [(x=0,y=0) - (x=1,y=0)] grow to 33913824 B which is "
              "beyond max L1 size of 1499136 B (layer big)");
}

// input -> conv a (1x1) -> conv b (1x1) -> conv c (1x1): which buffers are live while b runs.
TEST(MemoryPlan, DeallocateActivationFreesTheInputEarly) {
    Graph g;
    g.name = "chain";
    models::GraphBuilder b(g);
    int x = b.input("input", {1, 64, 32, 32});
    Conv2dAttrs a;
    a.in_channels = a.out_channels = 64;
    x = b.conv("a", x, a);
    x = b.conv("b", x, a);
    x = b.conv("c", x, a);
    b.output(x);
    ASSERT_TRUE(g.infer_shapes());
    WormholeLayerConfig c;
    c.dtype = c.weights_dtype = DataFormat::BFloat16;
    c.shard_layout = ShardLayout::HeightSharded;
    std::vector<WormholeLayerConfig> configs(4, c);
    auto names = [](const LayerMemory& l) {
        std::vector<std::string> out;
        for (const auto& lb : l.live) out.push_back(lb.name);
        std::sort(out.begin(), out.end());
        return out;
    };
    // Default rule: a tensor outlives its last reader by one op, so the image is still there while b runs.
    auto plan = plan_memory(g, configs, n150());
    ASSERT_TRUE(plan) << plan.status().message();
    EXPECT_EQ(names(layer(*plan, "b")), (std::vector<std::string>{"a", "b", "input"}));
    EXPECT_EQ(names(layer(*plan, "c")), (std::vector<std::string>{"a", "b", "c"}));
    // 1024 rows = 32 tiles -> 32 cores of one tile: 2 tiles of 64 ch bf16 = 4096 B per tensor.
    EXPECT_EQ(layer(*plan, "b").buffer_bytes, 32 * 64 * 2 + 2 * 4096);
    // deallocate_activation on a and b: the image goes right after a, a's output right after b.
    configs[1].deallocate_activation = true;
    configs[2].deallocate_activation = true;
    auto early = plan_memory(g, configs, n150());
    ASSERT_TRUE(early);
    EXPECT_EQ(names(layer(*early, "b")), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(names(layer(*early, "c")), (std::vector<std::string>{"b", "c"}));
}

TEST(MemoryPlan, DeallocateIsIgnoredWhenALaterOpStillReadsTheInput) {
    const Graph g = test::mobilenetv2_graph(1);
    auto configs = ttmetal_configs(g);
    configs[g.find("features.5.conv.0.0")].deallocate_activation = true;  // block input, read again by the add
    auto plan = plan_memory(g, configs, n150());
    ASSERT_TRUE(plan) << plan.status().message();
    const auto& w = layer(*plan, "features.5.conv.0.0").warnings;
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0], "deallocate_activation ignored: its input features.4.conv.2 is still read by features.5");
}

}  // namespace
}  // namespace zoo::wormhole
