// The Wormhole perf model against the acceptance: MobileNetV2 with the tt-metal n150 config (batch 10) near
// the published device and end-to-end figures (tt-metal models/demos/mobilenetv2 perf tests), the right direction for fidelity / format / core-count
// changes, an ops CSV any reader loads whose kernel durations give the device FPS, a Chrome trace that parses, and
// modelled per-op timings named after graph nodes. Models come through the real plugins, random weights.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "report/csv_reader.hpp"
#include "wh_perf_support.hpp"

using namespace zoo;
using namespace zoo::runner;
using namespace zoo::wormhole;

namespace {

using test::Compiled;

// The compiled model, or the test fails with the runner's error.
Compiled compile(const std::string& model, const std::string& variant, const std::string& config, int64_t batch,
                 const std::vector<std::string>& sets = {}) {
    auto c = test::compile_wormhole(model, variant, config, batch, sets);
    if (!c) throw std::runtime_error(c.status().message());
    return std::move(*c);
}

const Compiled& mobilenetv2_ttmetal() {
    static const Compiled c = compile("mobilenetv2", "", "mobilenetv2_ttmetal_n150", 0);
    return c;
}


double duration_of(const CompiledSetup& s, const std::string& node) {
    double total = 0;
    for (const auto& t : s.compiled->last_timings())
        if (t.node_name == node) total += t.duration_ns;
    return total;
}

}  // namespace

TEST(WormholePerf, MobileNetV2MatchesPublishedN150Figures) {
    const auto& m = mobilenetv2_ttmetal().metrics;
    ASSERT_TRUE(m.count("device_fps") && m.count("e2e_fps_trace_2cq"));
    std::printf("[ PERF     ] mobilenetv2 b10 tt-metal config: device %.0f samples/s (published 3730), e2e trace+2CQ %.0f "
                "(published 3030), trace %.0f, plain %.0f, compile %.1f s\n",
                m.at("device_fps"), m.at("e2e_fps_trace_2cq"), m.at("e2e_fps_trace"), m.at("e2e_fps_plain"),
                m.at("compile_time_first_run"));
    EXPECT_NEAR(m.at("device_fps"), 3730.0, 0.15 * 3730.0);
    EXPECT_NEAR(m.at("e2e_fps_trace_2cq"), 3030.0, 0.20 * 3030.0);
    // The runner patterns: trace beats eager, two queues beat one, end to end never beats the device alone.
    EXPECT_GT(m.at("e2e_fps_trace"), m.at("e2e_fps_plain"));
    EXPECT_GE(m.at("e2e_fps_trace_2cq"), m.at("e2e_fps_trace"));
    EXPECT_LT(m.at("e2e_fps_trace_2cq"), m.at("device_fps"));
    EXPECT_GT(m.at("compile_time_first_run"), 0.0);
}

TEST(WormholePerf, HiFi4IsSlowerThanLoFi) {
    const double lofi = mobilenetv2_ttmetal().metrics.at("device_fps");
    const auto hifi4 = compile("mobilenetv2", "", "mobilenetv2_ttmetal_n150", 0, {"math_fidelity=HiFi4"});
    std::printf("[ PERF     ] LoFi %.0f vs HiFi4 %.0f samples/s\n", lofi, hifi4.metrics.at("device_fps"));
    EXPECT_LT(hifi4.metrics.at("device_fps"), lofi);
}

TEST(WormholePerf, FewerCoresOnABigConvRaiseItsDuration) {
    const std::string conv = "features.18.0";  // 1x1 320 -> 1280 (conv4), HEIGHT over 16 cores at batch 10
    const double full = duration_of(mobilenetv2_ttmetal().setup, conv);
    const auto narrow = compile("mobilenetv2", "", "mobilenetv2_ttmetal_n150", 0, {conv + ":core_grid=2x2"});
    const double small = duration_of(narrow.setup, conv);
    std::printf("[ PERF     ] %s: 8x8 grid %.0f ns, 2x2 grid %.0f ns\n", conv.c_str(), full, small);
    ASSERT_GT(full, 0.0);
    EXPECT_GT(small, 1.1 * full);
    EXPECT_LT(narrow.metrics.at("device_fps"), mobilenetv2_ttmetal().metrics.at("device_fps"));
}

TEST(WormholePerf, OpsCsvLoadsAndSumsToDeviceFps) {
    const auto& c = mobilenetv2_ttmetal();
    auto csv = c.setup.compiled->table("ops");
    ASSERT_TRUE(csv.is_ok()) << csv.status().message();
    const auto rows = parse_csv(*csv);
    ASSERT_GT(rows.size(), 50u);
    const auto& header = rows[0];
    std::map<std::string, size_t> col;
    for (size_t i = 0; i < header.size(); ++i) col[header[i]] = i;
    for (const char* name : {"OP CODE", "OP TYPE", "GLOBAL CALL COUNT", "DEVICE ID", "ATTRIBUTES", "MATH FIDELITY", "CORE COUNT",
                             "PARALLELIZATION STRATEGY", "HOST DURATION [ns]", "DEVICE FW DURATION [ns]",
                             "DEVICE KERNEL DURATION [ns]", "OP TO OP LATENCY [ns]", "INPUT_0_W", "INPUT_0_Z", "INPUT_0_Y",
                             "INPUT_0_X", "INPUT_0_LAYOUT", "INPUT_0_DATATYPE", "INPUT_0_MEMORY", "INPUT_1_MEMORY",
                             "OUTPUT_0_W", "OUTPUT_0_Z", "OUTPUT_0_Y", "OUTPUT_0_X", "OUTPUT_0_LAYOUT", "OUTPUT_0_DATATYPE",
                             "OUTPUT_0_MEMORY", "PM IDEAL [ns]", "PM COMPUTE [ns]", "PM BANDWIDTH [ns]", "PM REQ I BW",
                             "PM REQ O BW", "PM FPU UTIL (%)", "DRAM BW UTIL (%)", "BOUND"})
        EXPECT_TRUE(col.count(name)) << name;
    double sum = 0;
    std::set<std::string> codes, bounds;
    for (size_t r = 1; r < rows.size(); ++r) {
        ASSERT_EQ(rows[r].size(), header.size()) << "row " << r;
        const double k = std::stod(rows[r][col["DEVICE KERNEL DURATION [ns]"]]);
        EXPECT_GT(k, 0.0);
        EXPECT_GE(std::stod(rows[r][col["DEVICE FW DURATION [ns]"]]), k);
        EXPECT_GT(std::stoi(rows[r][col["CORE COUNT"]]), 0);
        sum += k;
        codes.insert(rows[r][col["OP CODE"]]);
        bounds.insert(rows[r][col["BOUND"]]);
    }
    for (const char* code : {"Conv2dDeviceOperation", "HaloDeviceOperation", "MatmulDeviceOperation", "BinaryNgDeviceOperation"})
        EXPECT_TRUE(codes.count(code)) << code;
    for (const auto& b : bounds) EXPECT_TRUE(b == "compute" || b == "bandwidth" || b == "overhead") << b;
    const double fps = 10.0 / (sum * 1e-9);
    EXPECT_NEAR(fps, c.metrics.at("device_fps"), 0.001 * fps);  // rows are rounded to whole ns
    EXPECT_NEAR(sum, c.metrics.at("device_kernel_time"), 1.0 * static_cast<double>(rows.size()));
}

TEST(WormholePerf, TraceIsChromeTraceJson) {
    auto text = mobilenetv2_ttmetal().setup.compiled->table("trace");
    ASSERT_TRUE(text.is_ok()) << text.status().message();
    const auto j = nlohmann::json::parse(*text);  // throws on invalid JSON
    ASSERT_TRUE(j.contains("traceEvents") && j["traceEvents"].is_array());
    int complete = 0;
    std::set<std::pair<int, int>> tracks;
    for (const auto& e : j["traceEvents"]) {
        ASSERT_TRUE(e.contains("ph") && e.contains("pid") && e.contains("tid"));
        if (e["ph"] != "X") continue;
        ++complete;
        ASSERT_TRUE(e["ts"].is_number() && e["dur"].is_number() && e["name"].is_string());
        EXPECT_GE(e["dur"].get<double>(), 0.0);
        tracks.insert({e["pid"].get<int>(), e["tid"].get<int>()});
    }
    EXPECT_GT(complete, 100);
    EXPECT_GE(tracks.size(), 4u);  // device ops, trace launch, PCIe in, PCIe out (+ eager dispatch)
}

TEST(WormholePerf, LastTimingsAreModelledAndNamedAfterGraphNodes) {
    const auto& c = mobilenetv2_ttmetal();
    const auto timings = c.setup.compiled->last_timings();
    ASSERT_FALSE(timings.empty());
    std::set<std::string> nodes;
    for (const auto& n : c.setup.graph.nodes) nodes.insert(n.name);
    double sum = 0;
    for (const auto& t : timings) {
        EXPECT_TRUE(t.modelled);
        EXPECT_TRUE(nodes.count(t.node_name)) << t.node_name;
        sum += t.duration_ns;
    }
    EXPECT_NEAR(sum, c.metrics.at("device_kernel_time"), 1e-6 * sum);
}

// The report: the costliest ops of V3-Large, V3-Small and V2 at batch 1 and 10 (printed, sanity-checked).
TEST(WormholePerf, CostliestOpsPerModel) {
    struct Case {
        std::string model, variant, config;
    };
    for (const Case& k : {Case{"mobilenetv3", "large", "speed_bfp8_lofi"}, Case{"mobilenetv3", "small", "speed_bfp8_lofi"},
                          Case{"mobilenetv2", "", "mobilenetv2_ttmetal_n150"}}) {
        for (int64_t batch : {1, 10}) {
            Compiled c;
            try {
                c = compile(k.model, k.variant, k.config, batch);
            } catch (const std::exception& e) {
                std::printf("[ PERF     ] %s %s b%lld: not compiled: %s\n", k.model.c_str(), k.variant.c_str(),
                            static_cast<long long>(batch), e.what());
                continue;
            }
            auto t = c.setup.compiled->last_timings();
            std::sort(t.begin(), t.end(), [](const OpTiming& a, const OpTiming& b) { return a.duration_ns > b.duration_ns; });
            std::printf("[ PERF     ] %s %s b%lld: device %.0f samples/s, e2e trace+2CQ %.0f;", k.model.c_str(),
                        k.variant.c_str(), static_cast<long long>(batch), c.metrics.at("device_fps"),
                        c.metrics.at("e2e_fps_trace_2cq"));
            for (size_t i = 0; i < std::min<size_t>(5, t.size()); ++i)
                std::printf(" %s %s %.1f us;", t[i].node_name.c_str(), t[i].op_type.c_str(), t[i].duration_ns / 1000.0);
            std::printf("\n");
            EXPECT_GT(c.metrics.at("device_fps"), 0.0);
        }
    }
}

// An eltwise op on an L1-interleaved tensor: its reader and writer move one tile page at a time and wait for each
// (tt-metal's reader_unary_interleaved_start_id.cpp / writer_unary_interleaved_start_id.cpp), so every extra tile per
// core costs at least a NoC round trip (l1_read_latency_cycles, 259 at 1 GHz), not only its bytes (2 KiB at
// 29.7 GB/s, 69 ns).
TEST(WormholePerf, AnInterleavedUnaryPaysARoundTripPerTile) {
    auto relu_ns = [](int64_t tiles) {
        // [1, 32, H, 64]: 32 channels, H * 64 rows = `tiles` bf16 tiles, interleaved over the 64 cores' L1.
        const Compiled c = compile("opcase", "", "", 1,
                                   {"op=relu", "in_channels=32", "resolution=[" + std::to_string(tiles / 2) + ", 64]",
                                    "input:dtype=bfloat16", "dtype=bfloat16", "input:output_memory=L1_INTERLEAVED",
                                    "relu:output_memory=L1_INTERLEAVED", "relu:fuse_activation=false"});
        auto csv = c.setup.compiled->table("ops");
        if (!csv) throw std::runtime_error(csv.status().message());
        const auto rows = parse_csv(*csv);
        const auto& header = rows[0];
        const size_t code = std::find(header.begin(), header.end(), "OP CODE") - header.begin();
        const size_t kernel = std::find(header.begin(), header.end(), "DEVICE KERNEL DURATION [ns]") - header.begin();
        for (size_t r = 1; r < rows.size(); ++r)
            if (rows[r][code] == "UnaryDeviceOperation") return std::stod(rows[r][kernel]);
        throw std::runtime_error("no Unary row");
    };
    // At least the read's round trip plus its bytes (259 + 69 cycles); reader and writer run side by side, so well
    // under twice that.
    const double per_tile = (relu_ns(8192) - relu_ns(4096)) / (4096.0 / 64.0);
    EXPECT_GE(per_tile, 327.0);
    EXPECT_LT(per_tile, 2 * 327.0);
}
