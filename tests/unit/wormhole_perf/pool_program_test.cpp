// Windowed pools on the Wormhole emulator: the program ttnn runs for them (input resharded, Halo, Pool2D), the pool's
// cost read from that program (window-row gathers: more kernel rows cost more; the global pool's cost unchanged), the
// card-style failure of a pool whose buffers cannot fit in L1, and the numerics (a max pool of bf16 values is exact).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "report/csv_reader.hpp"
#include "wh_perf_support.hpp"
#include "zoo/reference.hpp"

using namespace zoo;
using namespace zoo::runner;

namespace {

struct Row {
    std::string code, attributes, parallelization, output;
    double kernel_ns = 0;
    int cores = 0;
};

Result<std::vector<Row>> ops_of(const runner::CompiledSetup& setup) {
    ZOO_ASSIGN_OR_RETURN(std::string csv, setup.compiled->table("ops"));
    const auto rows = parse_csv(csv);
    const auto& h = rows.at(0);
    auto col = [&](const char* name) { return static_cast<size_t>(std::find(h.begin(), h.end(), name) - h.begin()); };
    std::vector<Row> out;
    for (size_t r = 1; r < rows.size(); ++r)
        out.push_back({rows[r].at(col("OP CODE")), rows[r].at(col("ATTRIBUTES")), rows[r].at(col("PARALLELIZATION STRATEGY")),
                       rows[r].at(col("OUTPUT TENSOR")), std::stod(rows[r].at(col("DEVICE KERNEL DURATION [ns]"))),
                       std::stoi(rows[r].at(col("CORE COUNT")))});
    return out;
}

std::vector<std::string> pool_sets(const std::string& op, int64_t channels, int64_t hw, int64_t kernel, int64_t stride,
                                   int64_t padding, const std::vector<std::string>& more = {}) {
    std::vector<std::string> s = {"op=" + op, "in_channels=" + std::to_string(channels),
                                  "resolution=[" + std::to_string(hw) + ", " + std::to_string(hw) + "]",
                                  "kernel=" + std::to_string(kernel), "stride=" + std::to_string(stride),
                                  "padding=" + std::to_string(padding)};
    s.insert(s.end(), more.begin(), more.end());
    return s;
}

const Row* find_code(const std::vector<Row>& ops, const std::string& code) {
    for (const Row& r : ops)
        if (r.code == code) return &r;
    return nullptr;
}

}  // namespace

TEST(WormholePool, MaxPoolIsReshardHaloPool2D) {
    auto c = wormhole::test::compile_wormhole("opcase", "", "", 2,
                                              pool_sets("max_pool2d", 64, 28, 3, 2, 1, {"shard_layout=HEIGHT_SHARDED"}));
    ASSERT_TRUE(c) << c.status().message();
    auto ops = ops_of(c->setup);
    ASSERT_TRUE(ops) << ops.status().message();
    std::vector<std::string> codes;
    for (const Row& r : *ops) codes.push_back(r.code);
    // The image to L1 (interleaved: no conv reads it), sharded for the pool, the halo, the pool.
    EXPECT_EQ(codes, (std::vector<std::string>{"MoveDeviceOperation", "InterleavedToShardedDeviceOperation",
                                               "HaloDeviceOperation", "Pool2D"}));
    const Row& pool = ops->back();
    EXPECT_EQ(pool.output, "pool");
    EXPECT_EQ(pool.parallelization, "HEIGHT_SHARDED");
    EXPECT_NE(pool.attributes.find("pool_type=MAX;kernel=3x3;stride=2x2;pad=1x1;dilation=1x1;ceil_mode=0"), std::string::npos)
        << pool.attributes;
    // 2 x 14 x 14 = 392 output rows = 13 tiles: the height rule puts one tile on each of 13 cores.
    EXPECT_EQ(pool.cores, 13);
    EXPECT_NE((*ops)[2].attributes.find("pad_value=-inf"), std::string::npos) << (*ops)[2].attributes;

    auto avg = wormhole::test::compile_wormhole("opcase", "", "", 2,
                                                pool_sets("avg_pool2d", 64, 28, 3, 2, 1, {"count_include_pad=false"}));
    ASSERT_TRUE(avg) << avg.status().message();
    auto avg_ops = ops_of(avg->setup);
    ASSERT_TRUE(avg_ops);
    EXPECT_NE(avg_ops->back().attributes.find("pool_type=AVG"), std::string::npos);
    EXPECT_NE(avg_ops->back().attributes.find("count_include_pad=0"), std::string::npos) << avg_ops->back().attributes;
    EXPECT_NE((*avg_ops)[2].attributes.find("pad_value=0"), std::string::npos);
}

TEST(WormholePool, CostFollowsTheWindowRowsGathered) {
    // Same output (56x56, 64 channels, HEIGHT): a 3x3 s2 window gathers 3 rows per output stick, a 2x2 s2 one 2.
    auto k3 = wormhole::test::compile_wormhole("opcase", "", "", 1, pool_sets("max_pool2d", 64, 112, 3, 2, 1, {"shard_layout=HEIGHT_SHARDED"}));
    auto k2 = wormhole::test::compile_wormhole("opcase", "", "", 1, pool_sets("max_pool2d", 64, 112, 2, 2, 0, {"shard_layout=HEIGHT_SHARDED"}));
    ASSERT_TRUE(k3) << k3.status().message();
    ASSERT_TRUE(k2) << k2.status().message();
    auto o3 = ops_of(k3->setup), o2 = ops_of(k2->setup);
    ASSERT_TRUE(o3 && o2);
    const Row* p3 = find_code(*o3, "Pool2D");
    const Row* p2 = find_code(*o2, "Pool2D");
    ASSERT_TRUE(p3 && p2);
    EXPECT_EQ(p3->cores, p2->cores);
    // Both gather-bound: the time past the fixed launch grows with the rows read (3/2), less than in proportion
    // since each stick also pays one read round trip (its barrier) whatever its window.
    EXPECT_GT(p3->kernel_ns, p2->kernel_ns * 1.1);
    EXPECT_LT(p3->kernel_ns, p2->kernel_ns * 1.5);
    // Max and avg of the same window cost the same (one reduction pass per gathered tile either way).
    auto avg = wormhole::test::compile_wormhole("opcase", "", "", 1, pool_sets("avg_pool2d", 64, 112, 3, 2, 1, {"shard_layout=HEIGHT_SHARDED"}));
    ASSERT_TRUE(avg);
    auto oa = ops_of(avg->setup);
    ASSERT_TRUE(oa);
    EXPECT_DOUBLE_EQ(find_code(*oa, "Pool2D")->kernel_ns, p3->kernel_ns);
}

TEST(WormholePool, PoolThatCannotFitInL1FailsLikeTheCardNamingTheLayer) {
    // 4 x 56 x 56 rows of 64 channels on one core: the resharded input alone is 392 x 2 bf16 tiles = 1,605,632 B.
    auto c = wormhole::test::compile_wormhole("opcase", "", "", 4,
                                              pool_sets("max_pool2d", 64, 56, 3, 2, 1, {"pool:core_grid=1x1"}));
    ASSERT_FALSE(c);
    const std::string& msg = c.status().message();
    EXPECT_NE(msg.find("Out of Memory: Not enough space to allocate 1605632 B L1 buffer across 1 banks"), std::string::npos) << msg;
    EXPECT_NE(msg.find("for 'pool:reshard' (layer pool)"), std::string::npos) << msg;
}

// The card holds bf16: the host rounds the image to nearest even, a max pool selects one of those values and the
// packer writes it unchanged, so the output is exactly the bf16 rounding of the fp32 reference (rounding is monotonic).
TEST(WormholePool, MaxPoolIsExactInBfloat16AndAvgPoolWithinItsRounding) {
    auto round_bf16 = [](float x) {
        uint32_t u;
        std::memcpy(&u, &x, 4);
        u = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
        float y;
        std::memcpy(&y, &u, 4);
        return y;
    };
    for (const char* op : {"max_pool2d", "avg_pool2d"}) {
        auto c = wormhole::test::compile_wormhole("opcase", "", "", 2, pool_sets(op, 24, 15, 3, 2, 1, {"ceil_mode=true"}));
        ASSERT_TRUE(c) << c.status().message();
        const Graph& g = c->setup.graph;
        const Shape& in_shape = g.nodes[static_cast<size_t>(g.input_nodes()[0])].output_shape;
        Tensor x(in_shape);
        for (size_t e = 0; e < x.data.size(); ++e) x.data[e] = std::sin(0.37f * static_cast<float>(e)) * 5.0f;
        std::vector<Tensor> ref, got;
        ASSERT_TRUE(reference_run(g, WeightMap{}, {x}, ref).is_ok());
        ASSERT_TRUE(c->setup.compiled->run({x}, got, nullptr).is_ok());
        ASSERT_EQ(got.at(0).shape, (Shape{2, 24, 8, 8}));  // ceil_mode: 15 -> 8
        ASSERT_EQ(got[0].data.size(), ref[0].data.size());
        double worst = 0;
        for (size_t e = 0; e < got[0].data.size(); ++e) {
            if (std::string(op) == "max_pool2d")
                ASSERT_EQ(got[0].data[e], round_bf16(ref[0].data[e])) << e;
            worst = std::max(worst, std::abs(static_cast<double>(got[0].data[e]) - ref[0].data[e]));
        }
        // avg: the inputs and the result each round to bf16 (2^-9 of magnitudes <= 5) and Dst rounds the sum.
        EXPECT_LT(worst, 0.05) << op;
        EXPECT_GT(worst, 0.0) << op;  // the emulator does round (an fp32 result would be the reference's)
    }
}

// ResNet-50 on tt-metal's batch-16 config: the op sequence tt-metal's profiler lists for it (stem Reshard + Halo +
// Conv2d with relu fused, Halo + Pool2D, then per bottleneck Matmul / Halo + Conv2d / Matmul (+ the shortcut conv) and
// one BinaryNg add with its relu fused: no Unary op anywhere), and one ops-table row per program op.
TEST(WormholePool, ResNet50TtMetalConfigListsTheCardsOpSequence) {
    auto c = wormhole::test::compile_wormhole("resnet", "50", "resnet50_ttmetal_n150", 0);
    ASSERT_TRUE(c) << c.status().message();
    auto ops = ops_of(c->setup);
    ASSERT_TRUE(ops) << ops.status().message();
    std::map<std::string, int> count;
    for (const Row& r : *ops) ++count[r.code];
    EXPECT_EQ(count["UnaryDeviceOperation"], 0);
    EXPECT_EQ(count["BinaryNgDeviceOperation"], 16);  // one residual add per bottleneck (3 + 4 + 6 + 3)
    EXPECT_EQ(count["Pool2D"], 2);                    // the stem's max pool and the global average pool
    // 53 convs: 3 per bottleneck + 4 shortcuts + the stem; the 1x1 stride-1 ones are Matmuls, plus the fc.
    EXPECT_EQ(count["Conv2dDeviceOperation"] + count["MatmulDeviceOperation"], 53 + 1);
    // 1x1 stride-1 convs run as matmuls: conv1 and conv3 of every block and layer1's shortcut (stride 1).
    EXPECT_EQ(count["MatmulDeviceOperation"], 2 * 16 + 1 + 1);
    ASSERT_GE(ops->size(), 5u);
    EXPECT_EQ((*ops)[0].code, "ReshardDeviceOperation");  // the image into L1, as the stem reads it
    EXPECT_EQ((*ops)[1].code, "HaloDeviceOperation");
    EXPECT_EQ((*ops)[2].code, "Conv2dDeviceOperation");
    EXPECT_EQ((*ops)[2].output, "conv1");
    EXPECT_NE((*ops)[2].attributes.find("activation=relu"), std::string::npos) << (*ops)[2].attributes;
    EXPECT_EQ((*ops)[3].code, "HaloDeviceOperation");
    EXPECT_EQ((*ops)[4].code, "Pool2D");
    EXPECT_EQ((*ops)[4].output, "maxpool");
    for (const Row& r : *ops)
        if (r.code == "BinaryNgDeviceOperation") {
            EXPECT_NE(r.attributes.find("binary_op_type=ADD;activation=RELU"), std::string::npos) << r.output << ": " << r.attributes;
        }
    EXPECT_GT(c->metrics.at("device_fps"), 0.0);
}

// tt-metal's own stem act_block_h (1568 rows, sized for its folded 4x4 conv) on torchvision's 7x7 stride-2 conv: the
// circular buffers clash with the halo in L1, and the error names the layer and what holds L1, with its bytes (the
// reason yaml/configs/resnet50_ttmetal_n150.yaml takes 512).
TEST(WormholePool, ResNet50StemWithTtMetalsActBlockFailsNamingTheLiveBuffers) {
    auto c = wormhole::test::compile_wormhole("resnet", "50", "resnet50_ttmetal_n150", 0, {"conv1:act_block_h=1568"});
    ASSERT_FALSE(c);
    const std::string& msg = c.status().message();
    EXPECT_NE(msg.find("Statically allocated circular buffers in program clash with L1 buffers"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(layer conv1: circular buffers "), std::string::npos) << msg;
    EXPECT_NE(msg.find("L1 buffers live: conv1:halo "), std::string::npos) << msg;
}
