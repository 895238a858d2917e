#include <gtest/gtest.h>

#include "memory/sharding.hpp"
#include "wh_memory_test_support.hpp"

namespace zoo::wormhole {
namespace {

using test::n150;

ConvGeometry conv(int64_t n, int64_t h, int64_t w, int64_t cin, int64_t cout, int64_t k, int64_t stride, int64_t pad,
                  int64_t groups = 1) {
    ConvGeometry g;
    g.batch = n;
    g.in_h = h;
    g.in_w = w;
    g.in_c = cin;
    g.out_c = cout;
    g.kernel_h = g.kernel_w = k;
    g.stride_h = g.stride_w = stride;
    g.pad_h = g.pad_w = pad;
    g.groups = groups;
    g.out_h = (h + 2 * pad - k) / stride + 1;
    g.out_w = (w + 2 * pad - k) / stride + 1;
    return g;
}

WormholeLayerConfig with_layout(ShardLayout l, int act_block_h = 0) {
    WormholeLayerConfig c;
    c.shard_layout = l;
    c.act_block_h = act_block_h;
    return c;
}

const ConvInputState kTiledSharded{true, false};
const ConvInputState kImage{true, true};  // the host's row-major, sharded image

TEST(Sharding, MobileNetV2StemAtBatch10MatchesTheDocumentedExample) {
    // Reference s5: output NHW 125,440 = 3,920 tiles -> 64 cores; input shard 501,760 / 64 = 7,840 rows x 16 ch.
    auto s = plan_conv_sharding(conv(10, 224, 224, 3, 32, 3, 2, 1), with_layout(ShardLayout::HeightSharded), kImage, n150());
    ASSERT_TRUE(s) << s.status().message();
    EXPECT_EQ(s->cores_nhw, 64);
    EXPECT_EQ(s->num_cores, 64);
    EXPECT_EQ(s->in_nhw_shard, 7840);
    EXPECT_EQ(s->in_c_shard, 16);
    EXPECT_EQ(s->in_channels_padded, 16);
    EXPECT_EQ(s->out_nhw_shard, 1984);  // round_up(125440, 64*32) / 64 = 62 tiles
    EXPECT_EQ(s->out_c_shard, 32);
    EXPECT_EQ(s->act_block_h, 1984);    // default: the whole per-core height
    EXPECT_EQ(s->act_block_w, 64);      // round_up(16 * 3, 32)
    EXPECT_EQ(s->k_blocks, 3);
    EXPECT_EQ(s->weight_rows, 192);
    EXPECT_EQ(s->range.to_string(), "[(x=0,y=0) - (x=7,y=7)]");
}

TEST(Sharding, HeightCoreCountRule) {
    // 100 tiles: 51..64 cores would pad >= one 2-tile shard; 50 cores split evenly.
    EXPECT_EQ(height_cores(3200, 64, 32), 50);
    // 490 rows = 16 tiles (MobileNetV2 features.18 at batch 10): 16 cores of one tile.
    EXPECT_EQ(height_cores(490, 64, 32), 16);
    // 3,920 tiles: 64 cores x 62 tiles pads 48 < 62.
    EXPECT_EQ(height_cores(125440, 64, 32), 64);
    // 245 tiles on at most 8 cores: 8 x 31 pads 3.
    EXPECT_EQ(height_cores(7840, 8, 32), 8);
    EXPECT_EQ(height_cores(10, 64, 32), 1);
}

TEST(Sharding, BlockShardedExpandOfBlock6) {
    // features.7.conv.0.0 at batch 10: 28x28, 32 -> 192, 1x1.
    auto s = plan_conv_sharding(conv(10, 28, 28, 32, 192, 1, 1, 0), with_layout(ShardLayout::BlockSharded), kTiledSharded,
                                n150());
    ASSERT_TRUE(s) << s.status().message();
    EXPECT_EQ(s->cores_nhw, 8);        // 245 tiles over <= 8 rows
    EXPECT_EQ(s->cores_c, 6);          // 6 output-channel tiles, largest divisor <= 8
    EXPECT_EQ(s->num_cores, 48);
    EXPECT_EQ(s->out_nhw_shard, 992);  // round_up(7840, 8*32) / 8
    EXPECT_EQ(s->in_channels_padded, 192);  // round_up(32, 6 * 32)
    EXPECT_EQ(s->in_c_shard, 32);
    EXPECT_EQ(s->out_c_shard, 32);
    EXPECT_EQ(s->act_block_w, 32);     // round_up(192 / 6 * 1, 32)
    EXPECT_EQ(s->range.to_string(), "[(x=0,y=0) - (x=5,y=7)]");
}

TEST(Sharding, BlockShardedDepthwiseOfBlock13) {
    // features.15.conv.1.0 (block 14) at batch 10: 7x7, 960 channels depthwise, stride 1.
    auto s = plan_conv_sharding(conv(10, 7, 7, 960, 960, 3, 1, 1, 960), with_layout(ShardLayout::BlockSharded),
                                kTiledSharded, n150());
    ASSERT_TRUE(s) << s.status().message();
    EXPECT_EQ(s->cores_nhw, 8);   // 16 tiles over 8 rows: 2 tiles each
    EXPECT_EQ(s->cores_c, 6);     // 30 channel tiles: largest divisor <= 8 is 6
    EXPECT_EQ(s->out_nhw_shard, 64);
    EXPECT_EQ(s->in_c_shard, 160);
    EXPECT_EQ(s->act_block_w, 480);  // round_up(960 / 6 * 3, 32)
    EXPECT_EQ(s->k_blocks, 18);      // 3 kernel rows x 6 channel slices
}

TEST(Sharding, WidthShardedFromInputChannelTiles) {
    // 1x1 conv on 7x7, 1280 -> 1280, batch 1: 40 input-channel tiles -> 40 cores.
    auto s = plan_conv_sharding(conv(1, 7, 7, 1280, 1280, 1, 1, 0), with_layout(ShardLayout::WidthSharded), kTiledSharded,
                                n150());
    ASSERT_TRUE(s) << s.status().message();
    EXPECT_EQ(s->num_cores, 40);
    EXPECT_EQ(s->cores_nhw, 1);
    EXPECT_EQ(s->in_c_shard, 32);
    EXPECT_EQ(s->out_nhw_shard, 64);  // 49 rows padded to the tile height
    EXPECT_EQ(s->range.to_string(), "[(x=0,y=0) - (x=7,y=4)]");
    // 48 channel tiles would give 48 cores; 100 tiles (3200 ch) -> 50 (largest divisor <= 64).
    auto w = plan_conv_sharding(conv(1, 7, 7, 3200, 64, 1, 1, 0), with_layout(ShardLayout::WidthSharded), kTiledSharded,
                                n150());
    ASSERT_TRUE(w);
    EXPECT_EQ(w->num_cores, 50);
}

TEST(Sharding, AutoChoosesByTheDocumentedGuidance) {
    EXPECT_EQ(choose_auto_layout(125440, 32, 64), ShardLayout::HeightSharded);   // NHW >> C
    EXPECT_EQ(choose_auto_layout(7840, 192, 64), ShardLayout::BlockSharded);     // 7840 / 64 < 192
    EXPECT_EQ(choose_auto_layout(32, 4096, 64), ShardLayout::WidthSharded);      // 4096 / 64 >= 32
    EXPECT_EQ(choose_auto_layout(12288, 192, 64), ShardLayout::HeightSharded);   // exactly 64 * 192
    auto s = plan_conv_sharding(conv(10, 224, 224, 3, 32, 3, 2, 1), with_layout(ShardLayout::Auto), kImage, n150());
    ASSERT_TRUE(s);
    EXPECT_EQ(s->layout, ShardLayout::HeightSharded);
    EXPECT_NE(s->reason.find("auto: HEIGHT"), std::string::npos) << s->reason;
}

TEST(Sharding, InputChannelAlignment) {
    const WormholeHardware& hw = n150();
    const ConvGeometry rgb = conv(1, 224, 224, 3, 32, 3, 2, 1);
    EXPECT_EQ(input_channel_alignment(ShardLayout::HeightSharded, {false, true}, rgb, hw), 8);   // row-major interleaved
    EXPECT_EQ(input_channel_alignment(ShardLayout::HeightSharded, {true, true}, rgb, hw), 16);   // row-major sharded
    EXPECT_EQ(input_channel_alignment(ShardLayout::BlockSharded, {false, false}, rgb, hw), 32);  // tiled
    EXPECT_EQ(input_channel_alignment(ShardLayout::WidthSharded, {false, true}, rgb, hw), 32);   // width sharded
    const ConvGeometry dw = conv(1, 56, 56, 3, 3, 3, 1, 1, 3);
    EXPECT_EQ(input_channel_alignment(ShardLayout::HeightSharded, {false, true}, dw, hw), 32);   // depthwise: always 32
    const ConvGeometry c24 = conv(1, 56, 56, 24, 32, 3, 1, 1);
    EXPECT_EQ(input_channel_alignment(ShardLayout::HeightSharded, {true, true}, c24, hw), 32);
    // Row-major interleaved 3 channels pad to 8; the weights' K is still tile-padded.
    auto s = plan_conv_sharding(rgb, with_layout(ShardLayout::HeightSharded), {false, true}, hw);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->in_channels_padded, 8);
    EXPECT_EQ(s->act_block_w, 32);  // round_up(8 * 3, 32)
    EXPECT_EQ(s->weight_rows, 96);
}

TEST(Sharding, ActBlockHOverrideFallsBackToTheNextSmallerDivisor) {
    const ConvGeometry stem = conv(10, 224, 224, 3, 32, 3, 2, 1);  // 62 tiles per core
    auto ok = plan_conv_sharding(stem, with_layout(ShardLayout::HeightSharded, 64), kImage, n150());
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->act_block_h, 64);
    EXPECT_EQ(ok->act_blocks, 31);
    EXPECT_TRUE(ok->warnings.empty());

    auto fb = plan_conv_sharding(stem, with_layout(ShardLayout::HeightSharded, 96), kImage, n150());
    ASSERT_TRUE(fb);
    EXPECT_EQ(fb->act_block_h, 64);  // divisors of 62 tiles: 1, 2, 31, 62; 3 -> 2
    ASSERT_EQ(fb->warnings.size(), 1u);
    EXPECT_EQ(fb->warnings[0],
              "act_block_h 96 does not divide the per-core output height of 1984 rows (62 tiles); using 64, the next "
              "smaller divisor");

    auto bad = plan_conv_sharding(stem, with_layout(ShardLayout::HeightSharded, 40), kImage, n150());
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.status().message().find("multiple of the tile height 32"), std::string::npos);

    auto wide = plan_conv_sharding(conv(1, 7, 7, 1280, 1280, 1, 1, 0), with_layout(ShardLayout::WidthSharded, 32),
                                   kTiledSharded, n150());
    ASSERT_TRUE(wide);
    EXPECT_EQ(wide->act_block_h, 64);
    ASSERT_EQ(wide->warnings.size(), 1u);
    EXPECT_NE(wide->warnings[0].find("ignored for WIDTH_SHARDED"), std::string::npos);
}

TEST(Sharding, CoreGridOverrideLimitsTheGrid) {
    WormholeLayerConfig c = with_layout(ShardLayout::HeightSharded);
    c.core_grid = {4, 2};
    auto s = plan_conv_sharding(conv(10, 224, 224, 3, 32, 3, 2, 1), c, kImage, n150());
    ASSERT_TRUE(s);
    EXPECT_EQ(s->num_cores, 8);  // 3,920 tiles split evenly over 8
    EXPECT_EQ(s->in_nhw_shard, 62720);
    EXPECT_EQ(s->range.to_string(), "[(x=0,y=0) - (x=3,y=1)]");
    c.core_grid = {9, 1};
    EXPECT_FALSE(plan_conv_sharding(conv(10, 224, 224, 3, 32, 3, 2, 1), c, kImage, n150()));
}

}  // namespace
}  // namespace zoo::wormhole
