// Directions and magnitudes of the published MobileNetV2 optimisations (issue 8, item 5): the modelled device FPS must
// move the way silicon did, and, where a figure is published for that change alone, by a similar amount (the ratio
// within a whole-model figure's 10%). Published figures: tt-metal models/demos/mobilenetv2 perf tests and the seed
// tech report; the same figures are cases of yaml/devices/wormhole_n150_calibration.yaml.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "wh_perf_support.hpp"

using namespace zoo;
using namespace zoo::runner;

namespace {

// Modelled device samples/s of MobileNetV2 under yaml/configs/mobilenetv2_ttmetal_n150.yaml plus `sets`.
double device_fps(const std::vector<std::string>& sets, int64_t batch = 10) {
    auto c = zoo::wormhole::test::compile_wormhole("mobilenetv2", "", "mobilenetv2_ttmetal_n150", batch, sets);
    if (!c) throw std::runtime_error(c.status().message());
    return c->metrics.at("device_fps");
}

// yaml/configs/mobilenetv2_ttmetal_n150.yaml is the newer batch-10 config (3730 samples/s); the older one (3335) had
// packer_l1_acc off and conv4 WIDTH sharded, the two differences the sources record (the calibration file's
// mobilenetv2.b10.older.device runs the same). The rules below win over the file's.
const std::vector<std::string> kNewer = {};
const std::vector<std::string> kOlder = {"packer_l1_acc=false", "features.18.0:shard_layout=WIDTH_SHARDED"};
const std::vector<std::string> kNoDataMovementOptions = {"*:enable_act_double_buffer=false",
                                                         "*:enable_weights_double_buffer=false",
                                                         "*:enable_split_reader=false"};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

TEST(WormholePerfDirection, Bfloat8bOverBfloat16NearPublished3Percent) {
    // Seed report: all ops 927.5 (bfloat8_b) vs 898.4 (bfloat16) samples/s. bfloat16 does not fit batch 10 in L1
    // (as on the card): batch 4, older config.
    const double bfp8 = device_fps(kOlder, 4);
    const double bf16 = device_fps(with(kOlder, {"dtype=bfloat16", "weights_dtype=bfloat16"}), 4);
    // Known gap: the model gives about 2.5 times the published gain. It costs a depthwise conv as the dense
    // block-diagonal matmul the card runs (ttnn's grouped weight layout), whose bfloat16 weight tiles, zeros
    // included, hold the SrcA unpacker about twice as long as bfloat8_b ones; the seed's own config (batch, sharding) is
    // not recorded, so how much of its time sat in such convs is not known. So the bar here is the one its
    // calibration cases (mobilenetv2.seed.bf16_over_bfp8.*) hold the ratio to, a whole-model figure's 10%, with the
    // direction; not a factor of two on a 3% change.
    const double gain = bfp8 / bf16 - 1.0, published = 927.5 / 898.4 - 1.0;
    std::printf("[ PERF     ] bfloat8_b vs bfloat16: modelled %+.1f%%, published %+.1f%%\n", 100 * gain, 100 * published);
    EXPECT_GT(gain, 0.0) << "bfloat8_b must model faster than bfloat16";
    EXPECT_NEAR((1.0 + gain) / (1.0 + published), 1.0, 0.10) << "the bfloat8_b / bfloat16 ratio beyond 10% of the published one";
}

TEST(WormholePerfDirection, NewerConfigIsFasterThanOlder) {
    // 3730 (newer) vs 3335 (older) device samples/s, both batch 10: direction only. The two configs differ in two
    // keys, and the published figures also span tt-metal versions: PR 24054's config (3178), whose keys differ from
    // the older one's in nothing the sources record, ran 5% slower than it on an earlier version. So the published
    // +11.8% is not the effect of the two keys alone; the model's share of it is printed, not asserted.
    const double older = device_fps(kOlder);
    const double newer = device_fps(kNewer);
    std::printf("[ PERF     ] newer vs older batch-10 config: modelled %+.1f%%, published %+.1f%% (tt-metal versions "
                "included)\n", 100 * (newer / older - 1.0), 100 * (3730.0 / 3335.0 - 1.0));
    EXPECT_GT(newer / older, 1.0) << "the newer config must model faster than the older one";
}

TEST(WormholePerfDirection, PackerL1AccOnIsFaster) {
    // Turned on between the older and the newer config; no figure of its own is published: direction only.
    const double off = device_fps({"packer_l1_acc=false"});
    const double on = device_fps({"packer_l1_acc=true"});
    std::printf("[ PERF     ] packer_l1_acc off %.0f vs on %.0f samples/s\n", off, on);
    EXPECT_GT(on, off);
}

TEST(WormholePerfDirection, FusedRelu6IsFasterThanSeparateOps) {
    // tt-metal's batch-1 config ran relu6 as its own op after every conv, the batch-10 one fused it: one Unary op per
    // conv more, each at least an op launch, so the separate form must be measurably slower (more than 1%).
    // At batch 1 (as that config ran): at batch 10 with double buffers the separate outputs do not fit L1.
    const double fused = device_fps({"fuse_activation=true"}, 1);
    const double separate = device_fps({"fuse_activation=false"}, 1);
    std::printf("[ PERF     ] relu6 fused %.0f vs separate %.0f samples/s\n", fused, separate);
    EXPECT_GT(fused / separate, 1.01);
}

// Each of the newer config's data-movement options, turned off alone: the model must be slower without it.
TEST(WormholePerfDirection, DoubleBuffersAndSplitReaderEachAreFaster) {
    const double newer = device_fps(kNewer);
    for (const char* off : {"*:enable_act_double_buffer=false", "*:enable_weights_double_buffer=false",
                            "*:enable_split_reader=false"}) {
        const double without = device_fps({off});
        std::printf("[ PERF     ] newer config %.0f vs with %s %.0f samples/s\n", newer, off, without);
        EXPECT_GT(newer, without) << off;
    }
    EXPECT_GT(newer, device_fps(kNoDataMovementOptions)) << "all three together";
}

// HEIGHT vs BLOCK on the layers the guidance names (tt-metal's MobileNetV2 config: blocks 1-5 HEIGHT, the expand and
// depthwise convs of blocks 6-16 BLOCK). No figure is published for either swap: directions only, each way round.
TEST(WormholePerfDirection, HeightShardingWhereTheGuidanceSaysHeightIsFaster) {
    // The early, wide-spatial narrow-channel convs: BLOCK splits their few channels over core columns and pays for it.
    // Batch 1 and 2 (at batch 10 the BLOCK variant of these layers does not fit L1).
    for (int64_t batch : {1, 2}) {
        const double height = device_fps({}, batch);
        const double block = device_fps({"features.[2-5].conv.[01].0:shard_layout=BLOCK_SHARDED"}, batch);
        std::printf("[ PERF     ] batch %lld blocks 2-5 HEIGHT %.0f vs BLOCK %.0f samples/s\n", static_cast<long long>(batch),
                    height, block);
        EXPECT_GT(height / block, 1.05) << "batch " << batch;
    }
}

TEST(WormholePerfDirection, BlockShardingWhereTheGuidanceSaysBlockIsFaster) {
    // The late expand / depthwise convs at batch 1 (384 channels on 14x14 = 196 rows, C ~ N*H*W): the guidance says
    // BLOCK, and so did tt-metal's config. HEIGHT sharded they still fit (one K block of weights per core, as the
    // card's conv keeps only when an activation block is the whole shard), but every core then multiplies by the whole
    // block-diagonal weight matrix of all 384 channels. (At batch 10, N*H*W = 1960 is 5x C and the guidance says
    // HEIGHT: there HEIGHT fits too and models about 1% faster, though tt-metal's batch-10 config chose BLOCK.)
    const double block = device_fps({}, 1);
    const double height = device_fps({"features.[7-9].conv.[01].0:shard_layout=HEIGHT_SHARDED"}, 1);
    EXPECT_GT(block / height, 1.05);
}

}  // namespace
