// The device program as the perf report shows it: the op sequence the tt-metal configs produce (one ops-CSV row per
// program op), the conversion and composite ops the per-layer keys add, the card-style errors of conversions that
// cannot apply and of an L1_SMALL that cannot hold a conv's config tensors, and the n300's data-parallel figures.
// Models come through the real plugins, random weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "report/csv_reader.hpp"
#include "wh_perf_support.hpp"

using namespace zoo;
using namespace zoo::runner;

namespace {

struct Compiled {
    std::vector<std::string> op_codes;  // OP CODE column of the ops table
    std::vector<std::string> outputs;   // OUTPUT TENSOR column
    std::map<std::string, double> metrics;
};

Result<Compiled> compile(const std::string& model, const std::string& variant, const std::string& config, int64_t batch,
                         const std::vector<std::string>& sets = {}, const std::string& hardware = "") {
    ZOO_ASSIGN_OR_RETURN(auto c, zoo::wormhole::test::compile_wormhole(model, variant, config, batch, sets, hardware));
    ZOO_ASSIGN_OR_RETURN(std::string csv, c.setup.compiled->table("ops"));
    const auto rows = parse_csv(csv);
    Compiled out{{}, {}, c.metrics};
    const auto& header = rows.at(0);
    const size_t code = std::find(header.begin(), header.end(), "OP CODE") - header.begin();
    const size_t tensor = std::find(header.begin(), header.end(), "OUTPUT TENSOR") - header.begin();
    for (size_t r = 1; r < rows.size(); ++r) {
        out.op_codes.push_back(rows[r].at(code));
        out.outputs.push_back(rows[r].at(tensor));
    }
    return out;
}

int count(const std::vector<std::string>& v, const std::string& what) {
    int n = 0;
    for (const auto& s : v) n += s == what;
    return n;
}

// The ops that follow the op writing `tensor`, up to `n` of them.
std::vector<std::string> after(const Compiled& c, const std::string& tensor, size_t n) {
    for (size_t k = 0; k < c.outputs.size(); ++k)
        if (c.outputs[k] == tensor)
            return std::vector<std::string>(c.op_codes.begin() + static_cast<long>(k) + 1,
                                            c.op_codes.begin() + static_cast<long>(std::min(c.op_codes.size(), k + 1 + n)));
    return {};
}

TEST(WormholeProgram, MobileNetV3SmallTtMetalConfigListsTheCardsOpSequence) {
    auto c = compile("mobilenetv3", "small", "mobilenetv3_small_ttmetal_n150", 1);
    ASSERT_TRUE(c) << c.status().message();
    // 52 convs (torchvision's Small: stem, 11 blocks with 9 SE blocks of two 1x1 convs each, last conv), 2 linears.
    const int convs = count(c->op_codes, "Conv2dDeviceOperation") + count(c->op_codes, "MatmulDeviceOperation") - 2;
    EXPECT_EQ(convs, 52);
    // The round trip after every conv.
    EXPECT_EQ(count(c->op_codes, "ShardedToInterleavedDeviceOperation"), 52);
    // reshape(1, H, W, C) of the row-major tensor is a view in ttnn: no device op, no profiler row.
    EXPECT_EQ(count(c->op_codes, "ReshapeViewDeviceOperation"), 0);
    EXPECT_EQ(after(*c, "features.0.0", 3),
              (std::vector<std::string>{"ShardedToInterleavedDeviceOperation", "UntilizeWithUnpaddingDeviceOperation",
                                        "TilizeWithValPaddingDeviceOperation"}));
    // hardswish after the round trip, as its own op; SE: row-major, pool, fc1, relu on its own, fc2, hardsigmoid, mul.
    EXPECT_EQ(after(*c, "features.0.0:to_tile", 1), (std::vector<std::string>{"UnaryDeviceOperation"}));
    EXPECT_EQ(after(*c, "features.4.block.1.2", 2),
              (std::vector<std::string>{"UntilizeWithUnpaddingDeviceOperation", "ReduceDeviceOperation"}));
    // SE pools are ttnn.global_avg_pool2d (a sum reduction), the head's adaptive_avg_pool2d a Pool2D.
    EXPECT_EQ(count(c->op_codes, "ReduceDeviceOperation"), 9);
    EXPECT_EQ(count(c->op_codes, "Pool2D"), 1);
    EXPECT_EQ(after(*c, "features.4.block.2.fc1:to_tile", 1), (std::vector<std::string>{"UnaryDeviceOperation"}));
    EXPECT_EQ(after(*c, "features.4.block.2.scale_activation", 1), (std::vector<std::string>{"BinaryNgDeviceOperation"}));
    // 9 SE multiplies + 6 residual adds.
    EXPECT_EQ(count(c->op_codes, "BinaryNgDeviceOperation"), 15);
    // The image: DRAM -> 8x8 height-sharded L1.
    EXPECT_EQ(c->op_codes.front(), "ReshardDeviceOperation");
    // The ops table is the program: its durations give the device FPS.
    EXPECT_GT(c->metrics.at("device_fps"), 0.0);
}

TEST(WormholeProgram, FusedActivationHasNoOpOfItsOwnAndSeparateOneHas) {
    auto fused = compile("mobilenetv2", "", "mobilenetv2_ttmetal_n150", 1);
    auto separate = compile("mobilenetv2", "", "mobilenetv2_ttmetal_n150_b1", 1);
    ASSERT_TRUE(fused) << fused.status().message();
    ASSERT_TRUE(separate) << separate.status().message();
    // MobileNetV2 has 35 relu6 (stem, 17 depthwise, 16 expands, last conv).
    EXPECT_EQ(count(separate->op_codes, "UnaryDeviceOperation") - count(fused->op_codes, "UnaryDeviceOperation"), 35);
    EXPECT_GT(fused->metrics.at("device_fps"), separate->metrics.at("device_fps"));
}

// SiLU: fused into the conv by default, one Unary op when not fused, and with composite_activation the
// `x * sigmoid(x)` tt-metal's EfficientNet-B0 writes: a Unary and a multiply, even where fuse_activation is on.
TEST(WormholeProgram, CompositeSiluIsASigmoidAndAMultiplyAndIsNeverFused) {
    auto fused = compile("efficientnet", "b0", "", 1);
    auto single = compile("efficientnet", "b0", "", 1, {"*:fuse_activation=false"});
    auto composite = compile("efficientnet", "b0", "", 1, {"composite_activation=true"});
    ASSERT_TRUE(fused) << fused.status().message();
    ASSERT_TRUE(single) << single.status().message();
    ASSERT_TRUE(composite) << composite.status().message();
    ASSERT_EQ(after(*fused, "features.0.0", 1).size(), 1u);
    EXPECT_NE(after(*fused, "features.0.0", 1), (std::vector<std::string>{"UnaryDeviceOperation"}));
    EXPECT_EQ(after(*single, "features.0.0", 1), (std::vector<std::string>{"UnaryDeviceOperation"}));
    EXPECT_EQ(after(*composite, "features.0.0", 2),
              (std::vector<std::string>{"UnaryDeviceOperation", "BinaryNgDeviceOperation"}));
    EXPECT_GT(fused->metrics.at("device_fps"), composite->metrics.at("device_fps"));
}

TEST(WormholeProgram, CompositeHardswishIsItsStepsAndSingleIsOneOp) {
    const std::vector<std::string> base{"*:fuse_activation=false"};
    auto single = compile("mobilenetv3", "small", "", 1, base);
    auto composite = compile("mobilenetv3", "small", "", 1, {"*:fuse_activation=false", "composite_activation=true"});
    ASSERT_TRUE(single) << single.status().message();
    ASSERT_TRUE(composite) << composite.status().message();
    // hardswish: add 3, relu6, multiply by 1/6, multiply by x; hardsigmoid: the first three.
    EXPECT_EQ(after(*single, "features.0.0", 1), (std::vector<std::string>{"UnaryDeviceOperation"}));
    EXPECT_EQ(after(*composite, "features.0.0", 4),
              (std::vector<std::string>{"UnaryDeviceOperation", "UnaryDeviceOperation", "UnaryDeviceOperation",
                                        "BinaryNgDeviceOperation"}));
    EXPECT_GT(composite->op_codes.size(), single->op_codes.size());
    EXPECT_GT(single->metrics.at("device_fps"), composite->metrics.at("device_fps"));
}

TEST(WormholeProgram, ConversionThatCannotApplyNamesTheLayer) {
    auto twice = compile("mobilenetv2", "", "mobilenetv2_ttmetal_n150", 1,
                         {"features.0.0:convert_output=[sharded_to_interleaved, sharded_to_interleaved]"});
    ASSERT_FALSE(twice);
    EXPECT_NE(twice.status().message().find("convert_output sharded_to_interleaved: the tensor is not sharded"), std::string::npos)
        << twice.status().message();
    EXPECT_NE(twice.status().message().find("(layer features.0.0)"), std::string::npos) << twice.status().message();
}

TEST(WormholeProgram, OutputInDramAddsNoL1AndCostsDramTraffic) {
    auto l1 = compile("mobilenetv2", "", "mobilenetv2_ttmetal_n150", 1);
    auto dram = compile("mobilenetv2", "", "mobilenetv2_ttmetal_n150", 1, {"features.1.conv.1:output_memory=DRAM_INTERLEAVED"});
    ASSERT_TRUE(l1) << l1.status().message();
    ASSERT_TRUE(dram) << dram.status().message();
    // The next conv reads it back into L1 (interleaved_to_sharded), and the round trip through DRAM costs time.
    EXPECT_EQ(after(*dram, "features.1.conv.1", 1), (std::vector<std::string>{"InterleavedToShardedDeviceOperation"}));
    EXPECT_LT(dram->metrics.at("device_fps"), l1->metrics.at("device_fps"));
}

TEST(WormholeProgram, TooSmallL1SmallFailsLikeTheCard) {
    auto small = compile("mobilenetv2", "", "mobilenetv2_ttmetal_n150", 10, {"l1_small_size=1024"});
    ASSERT_FALSE(small);
    EXPECT_NE(small.status().message().find("B L1_SMALL buffer across"), std::string::npos) << small.status().message();
    EXPECT_NE(small.status().message().find("(layer features.0.0)"), std::string::npos) << small.status().message();
}

TEST(WormholeProgram, N300RunsDataParallelWithOneProgramPerChip) {
    auto n150 = compile("mobilenetv2", "", "mobilenetv2_ttmetal_n150", 10);
    auto n300 = compile("mobilenetv2", "", "mobilenetv2_ttmetal_n150", 20, {}, "wormhole_n300");
    ASSERT_TRUE(n150) << n150.status().message();
    ASSERT_TRUE(n300) << n300.status().message();
    // Each chip runs the batch-10 program: same op list, twice the samples per device time.
    EXPECT_EQ(n300->op_codes, n150->op_codes);
    EXPECT_NEAR(n300->metrics.at("device_fps"), 2.0 * n150->metrics.at("device_fps"), 1e-6 * n150->metrics.at("device_fps"));
    // End to end the host link and trace launches are shared: faster than one chip, below twice.
    const double ratio = n300->metrics.at("e2e_fps_trace_2cq") / n150->metrics.at("e2e_fps_trace_2cq");
    EXPECT_GT(ratio, 1.3);
    EXPECT_LT(ratio, 2.0);
    auto odd = compile("mobilenetv2", "", "mobilenetv2_ttmetal_n150", 9, {}, "wormhole_n300");
    ASSERT_FALSE(odd);
    EXPECT_NE(odd.status().message().find("the batch must be a multiple of 2, found 9"), std::string::npos) << odd.status().message();
}

}  // namespace

namespace {

// The unet_hs conv of tt-metal's conv2d perf tests: 4 -> 16 channels, 3x3 on 1056x160, HEIGHT-sharded, bfloat8_b LoFi.
std::vector<std::string> unet_conv(bool reuse) {
    return {"op=conv2d", "in_channels=4", "out_channels=16", "resolution=[1056, 160]", "kernel=3", "stride=1", "padding=1",
            "groups=1", "input:dtype=bfloat16", "dtype=bfloat8_b", "weights_dtype=bfloat8_b", "math_fidelity=LoFi",
            "fp32_dest_acc=false", "shard_layout=HEIGHT_SHARDED", "enable_act_double_buffer=true",
            std::string("enable_activation_reuse=") + (reuse ? "true" : "false")};
}

// The conv's row of a device table ("ops" or "memory"), as column -> value.
std::map<std::string, std::string> conv_row(const CompiledSetup& setup, const std::string& table, const std::string& code) {
    auto csv = setup.compiled->table(table);
    if (!csv) throw std::runtime_error(csv.status().message());
    const auto rows = parse_csv(*csv);
    for (size_t r = 1; r < rows.size(); ++r)
        if (std::find(rows[r].begin(), rows[r].end(), code) != rows[r].end()) {
            std::map<std::string, std::string> out;
            for (size_t k = 0; k < rows[0].size() && k < rows[r].size(); ++k) out[rows[0][k]] = rows[r][k];
            return out;
        }
    throw std::runtime_error("no " + code + " row in the " + table + " table");
}

}  // namespace

// enable_activation_reuse: the circular buffers tt-metal sizes for it and a gather that reads each kernel row once.
TEST(WormholeProgram, ActivationReuseSizesItsBuffersLikeTtMetalAndGathersLess) {
    auto plain = zoo::wormhole::test::compile_wormhole("opcase", "", "", 1, unet_conv(false));
    auto reuse = zoo::wormhole::test::compile_wormhole("opcase", "", "", 1, unet_conv(true));
    ASSERT_TRUE(plain) << plain.status().message();
    ASSERT_TRUE(reuse) << reuse.status().message();
    // By hand: 2656 rows per core = 83 tile rows, split 42 / 41 over the two readers; K = 3 x round_up(16 x 3, 32) =
    // 192 = 6 tiles in one block; an output row of 160 is 5 tiles, no leftover. Each reader's CB: 5 x 6 tiles + one
    // tile of reuse (ceil(42 / 5) = 9 loops x 16 x 3 x 2 B = 864 B), doubled: 62 bf16 tiles = 126976 B, twice;
    // weights 6 x 1 tiles of bfloat8_b (6528 B), bias one tile (1088 B).
    EXPECT_EQ(conv_row(reuse->setup, "memory", "Conv2dDeviceOperation").at("cb_bytes"), "261568");
    const auto row = conv_row(reuse->setup, "ops", "Conv2dDeviceOperation");
    EXPECT_NE(row.at("ATTRIBUTES").find("split_reader=1;activation_reuse=1"), std::string::npos) << row.at("ATTRIBUTES");
    // The gather dominates this conv (16-byte reads): reading each kernel row once makes it at least twice as fast.
    const double before = std::stod(conv_row(plain->setup, "ops", "Conv2dDeviceOperation").at("DEVICE KERNEL DURATION [ns]"));
    const double after = std::stod(row.at("DEVICE KERNEL DURATION [ns]"));
    EXPECT_LT(after * 2, before) << before << " ns -> " << after << " ns";
}

// The weights CB of a HEIGHT-sharded sliding-window conv, as tt-metal's conv2d_op_sharded_program_factory.cpp sizes
// it: one K block (a kernel row of weights), doubled by enable_weights_double_buffer, while an activation block is the
// whole shard; with several activation blocks per core all K blocks stay resident (fully_buffer_weights), never
// doubled.
TEST(WormholeProgram, HeightConvWeightsAreOneKBlockUnlessSeveralActivationBlocksReuseThem) {
    // 64 -> 64 channels, bf16 weights, HEIGHT sharded; `kernel` x `kernel` with `stride` on a `side` x `side` input.
    auto cb_bytes = [](int kernel, int stride, int side, int act_block_h, bool weights_double_buffer) {
        auto c = zoo::wormhole::test::compile_wormhole(
            "opcase", "", "", 1,
            {"op=conv2d", "in_channels=64", "out_channels=64", "resolution=[" + std::to_string(side) + ", " + std::to_string(side) + "]",
             "kernel=" + std::to_string(kernel), "stride=" + std::to_string(stride), "padding=" + std::to_string(kernel / 2),
             "groups=1", "input:dtype=bfloat16", "dtype=bfloat16", "weights_dtype=bfloat16", "fp32_dest_acc=false",
             "shard_layout=HEIGHT_SHARDED", "act_block_h=" + std::to_string(act_block_h),
             std::string("enable_weights_double_buffer=") + (weights_double_buffer ? "true" : "false")});
        if (!c) throw std::runtime_error(c.status().message());
        return std::stoll(conv_row(c->setup, "memory", "Conv2dDeviceOperation").at("cb_bytes"));
    };
    // 3x3 on 64x64: 4096 output rows = 128 tiles on 64 cores, 64 rows per core. A K block is one kernel row,
    // round_up(64 x 3, 32) = 192 = 6 tiles, by 64 channels = 2 tiles: 12 bf16 tiles, 24576 B; K has 3 blocks.
    EXPECT_EQ(cb_bytes(3, 1, 64, 0, true) - cb_bytes(3, 1, 64, 0, false), 24576) << "one activation block: a second K block";
    EXPECT_EQ(cb_bytes(3, 1, 64, 32, true), cb_bytes(3, 1, 64, 32, false)) << "two activation blocks: nothing doubled";
    // Two activation blocks of 32 rows instead of one of 64: weights 3 K blocks instead of 1 (+24 tiles), the act CB
    // 1 x 6 tiles instead of 2 x 6 (-6), the bf16 partials 1 x 2 instead of 2 x 2 (-2): +16 tiles.
    EXPECT_EQ(cb_bytes(3, 1, 64, 32, false) - cb_bytes(3, 1, 64, 0, false), 16 * 2048) << "all three K blocks resident";
    // A 1x1 stride-2 conv on 128x128 is a sliding-window conv (no matmul) whose K is one block: 64 channels = 2 tiles
    // by 2, 8192 B. One activation block: doubled; two: resident once.
    EXPECT_EQ(cb_bytes(1, 2, 128, 0, true) - cb_bytes(1, 2, 128, 0, false), 8192);
    EXPECT_EQ(cb_bytes(1, 2, 128, 32, true), cb_bytes(1, 2, 128, 32, false));
}

TEST(WormholeProgram, ActivationReuseOnAnotherLayoutIsRefusedNamingTheLayout) {
    auto sets = unet_conv(true);
    sets.push_back("shard_layout=BLOCK_SHARDED");
    auto c = zoo::wormhole::test::compile_wormhole("opcase", "", "", 1, sets);
    ASSERT_FALSE(c);
    EXPECT_NE(c.status().message().find("enable_activation_reuse needs a HEIGHT_SHARDED sliding-window conv; this one is "
                                        "BLOCK_SHARDED"),
              std::string::npos)
        << c.status().message();
}

// A depthwise conv runs on the card as the dense block-diagonal matmul ttnn builds from its weights
// (convert_conv_weight_tensor_to_grouped_layout): the program sizes it that way, and the perf model must cost that
// matmul, zeros included, so its modelled compute equals a dense conv's of the same K and Cout; only the useful FLOPs
// (tt-metal's own PM COMPUTE, which ignores the zeros) differ, by the factor of the channels.
TEST(WormholeProgram, DepthwiseConvIsCostedAsTheDenseMatmulTheProgramRuns) {
    auto conv = [](int groups) {
        return std::vector<std::string>{"op=conv2d", "in_channels=256", "out_channels=256", "resolution=[28, 28]",
                                        "kernel=3", "stride=1", "padding=1", "groups=" + std::to_string(groups),
                                        "input:dtype=bfloat16", "dtype=bfloat8_b", "weights_dtype=bfloat8_b",
                                        "math_fidelity=LoFi", "shard_layout=BLOCK_SHARDED"};
    };
    auto dense = zoo::wormhole::test::compile_wormhole("opcase", "", "", 1, conv(1));
    auto depthwise = zoo::wormhole::test::compile_wormhole("opcase", "", "", 1, conv(256));
    ASSERT_TRUE(dense) << dense.status().message();
    ASSERT_TRUE(depthwise) << depthwise.status().message();
    const auto d = conv_row(dense->setup, "ops", "Conv2dDeviceOperation");
    const auto w = conv_row(depthwise->setup, "ops", "Conv2dDeviceOperation");
    EXPECT_EQ(w.at("MODEL COMPUTE [ns]"), d.at("MODEL COMPUTE [ns]"));
    EXPECT_EQ(w.at("DEVICE KERNEL DURATION [ns]"), d.at("DEVICE KERNEL DURATION [ns]"));
    // (the CSV rounds the depthwise's few nanoseconds: a 3% band)
    EXPECT_NEAR(std::stod(d.at("PM COMPUTE [ns]")) / std::stod(w.at("PM COMPUTE [ns]")), 256.0, 256.0 * 0.03);
}
