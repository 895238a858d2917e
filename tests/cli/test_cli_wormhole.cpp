// The Wormhole emulator through the CLI: the tt-metal MobileNetV2 config's perf report, trace and device FPS agree,
// and a config the card cannot hold fails with the card's message and a non-zero exit.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/filesystem.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_harness.hpp"
#include "report/csv_reader.hpp"

namespace {

std::string temp_file(const std::string& name) {
    auto dir = boost::filesystem::temp_directory_path() / ("zoo_cli_wormhole_" + std::to_string(::getpid()));
    boost::filesystem::create_directories(dir);
    return (dir / name).string();
}

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return zoo::runner::parse_csv(ss.str());
}

}  // namespace

TEST(CliWormhole, PerfReportTraceAndDeviceFpsAgree) {
    const std::string ops = temp_file("ops.csv"), trace = temp_file("trace.json"), report = temp_file("report.json");
    CommandResult r = run_runner("run --model mobilenetv2 --device wormhole --config " + std::string(ZOO_SOURCE_DIR) +
                                 "/yaml/configs/mobilenetv2_ttmetal_n150.yaml --input random --warmup 0 --iterations 1"
                                 " --perf-report " + ops + " --trace " + trace + " --report " + report);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "device_fps")) << r.output;

    auto rows = read_csv(ops);
    ASSERT_GT(rows.size(), 20u);
    const auto& header = rows[0];
    auto col = [&](const std::string& name) {
        auto it = std::find(header.begin(), header.end(), name);
        EXPECT_NE(it, header.end()) << "missing column " << name;
        return static_cast<size_t>(it - header.begin());
    };
    const size_t kernel = col("DEVICE KERNEL DURATION [ns]");
    for (const char* c : {"OP CODE", "OP TYPE", "GLOBAL CALL COUNT", "MATH FIDELITY", "CORE COUNT", "PARALLELIZATION STRATEGY",
                          "OP TO OP LATENCY [ns]", "INPUT_0_MEMORY", "OUTPUT_0_DATATYPE", "PM IDEAL [ns]", "PM FPU UTIL (%)"})
        col(c);
    double sum_ns = 0;
    for (size_t i = 1; i < rows.size(); ++i) {
        ASSERT_EQ(rows[i].size(), header.size()) << "row " << i;
        sum_ns += std::stod(rows[i][kernel]);
    }
    std::ifstream rin(report);
    const auto j = nlohmann::json::parse(rin);
    const double device_fps = j["device_metrics"]["device_fps"]["value"].get<double>();
    EXPECT_NEAR(device_fps, 10.0 / (sum_ns * 1e-9), device_fps * 1e-6);
    // Calibrated against tt-metal's published 3730 samples/s (+-15% is the bar).
    EXPECT_NEAR(device_fps, 3730.0, 0.15 * 3730.0);
    EXPECT_NEAR(j["device_metrics"]["e2e_fps_trace_2cq"]["value"].get<double>(), 3030.0, 0.20 * 3030.0);

    std::ifstream tin(trace);
    const auto t = nlohmann::json::parse(tin);
    ASSERT_TRUE(t.contains("traceEvents"));
    size_t complete = 0;
    for (const auto& e : t["traceEvents"])
        if (e.value("ph", "") == "X") {
            ++complete;
            EXPECT_GE(e["dur"].get<double>(), 0.0);
        }
    EXPECT_GE(complete, rows.size() - 1);
}

TEST(CliWormhole, ConfigTheCardCannotHoldFailsLikeTheCard) {
    CommandResult r = run_runner("run --model mobilenetv2 --device wormhole --config " + std::string(ZOO_SOURCE_DIR) +
                                 "/yaml/configs/mobilenetv2_ttmetal_n150.yaml --set 'features.0.0:core_grid=[1, 1]'"
                                 " --set 'features.0.0:shard_layout=HEIGHT_SHARDED' --input random");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.output, "Out of Memory: Not enough space to allocate")) << r.output;
    EXPECT_TRUE(contains(r.output, "(layer features.0.0)")) << r.output;
}

TEST(CliWormhole, DeviceTablesAreRefusedUpFrontOnDevicesWithoutThem) {
    CommandResult r = run_runner("run --model mobilenetv3 --device cpu --input random --perf-report /dev/null");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.output, "device 'cpu' produces no 'ops' table")) << r.output;
    EXPECT_FALSE(contains(r.output, "[5/5]")) << r.output;  // refused before measuring
}
