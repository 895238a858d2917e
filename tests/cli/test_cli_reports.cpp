// End to end: run reports in every format, the stop rule, verdict exit codes, the profile, the demo images, sweeps
// (including resume after SIGKILL), diff and the HTML report.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/filesystem.hpp>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli_harness.hpp"
#include "xml_check.hpp"

namespace fs = boost::filesystem;
using nlohmann::json;

namespace {

std::string temp(const std::string& name) {
    fs::path dir = fs::temp_directory_path() / ("zoo_cli_reports_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return (dir / name).string();
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

const std::string kQuick = "run --model mobilenetv3 --variant small --device cpu --input random --warmup 0 ";

std::vector<json> jsonl(const std::string& path) {
    std::vector<json> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) out.push_back(json::parse(line));
    return out;
}

}  // namespace

TEST(CliReports, JsonCsvAndMarkdownReportsHoldTheNumbers) {
    const std::string j = temp("r.json"), c = temp("r.csv"), m = temp("r.md");
    CommandResult r = run_runner(kQuick + "--iterations 3 --seed 7 --set dtype=bfloat16 --report " + j);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const json doc = json::parse(slurp(j));
    EXPECT_EQ(doc["schema"], "zoo-runner-report/2");
    EXPECT_EQ(doc["latency_ms"]["count"], 3);
    EXPECT_EQ(doc["config"]["sets"][0], "dtype=bfloat16");
    EXPECT_EQ(doc["config"]["seed"], 7);
    EXPECT_FALSE(doc["provenance"]["git_commit"].get<std::string>().empty());
    EXPECT_GT(doc["provenance"]["host_cores"].get<int>(), 0);
    EXPECT_EQ(doc["provenance"]["command_line"][1], "run");
    EXPECT_EQ(doc["provenance"]["plugins"].size(), 2u);
    EXPECT_FALSE(doc["provenance"]["plugins"][0]["build_id"].get<std::string>().empty());
    EXPECT_GT(doc["throughput_fps"].get<double>(), 0);
    EXPECT_EQ(doc["result"], "VALID");

    r = run_runner(kQuick + "--iterations 2 --report " + c);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    std::istringstream csv(slurp(c));
    std::string header, row;
    std::getline(csv, header);
    std::getline(csv, row);
    EXPECT_NE(header.find("latency_ms.median"), std::string::npos);
    EXPECT_NE(header.find("throughput_fps"), std::string::npos);
    EXPECT_NE(row.find("VALID"), std::string::npos);

    r = run_runner(kQuick + "--iterations 2 --report " + temp("r.txt") + " --report-format md");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(slurp(temp("r.txt")).find("| host latency median (measured) |"), std::string::npos);
    r = run_runner(kQuick + "--iterations 2 --report " + m);
    EXPECT_NE(slurp(m).find("## Timing"), std::string::npos);

    r = run_runner(kQuick + "--iterations 2 --report " + temp("r.xlsx"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_TRUE(contains(r.output, "is not one of json, jsonl, csv, md")) << r.output;
}

TEST(CliReports, StopRuleCountAndTime) {
    const std::string j = temp("stop.json");
    CommandResult r = run_runner(kQuick + "--iterations 5 --report " + j);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    json doc = json::parse(slurp(j));
    EXPECT_EQ(doc["latency_ms"]["count"], 5);
    EXPECT_EQ(doc["config"]["stop_rule"]["stopped_by"], "iterations");

    r = run_runner(kQuick + "--iterations 2 --time 0.6 --report " + j);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    doc = json::parse(slurp(j));
    EXPECT_GE(doc["latency_ms"]["count"].get<int>(), 2);
    EXPECT_GE(doc["duration_ms"].get<double>(), 600.0);
    EXPECT_TRUE(contains(r.output, "at least 2 iterations and 0.6 s")) << r.output;

    // A cap that stops the run before the minimum: INVALID, exit 3, with the reason.
    r = run_runner(kQuick + "--iterations 10 --max-iterations 4 --report " + j);
    EXPECT_EQ(r.exit_code, 3) << r.output;
    doc = json::parse(slurp(j));
    EXPECT_EQ(doc["latency_ms"]["count"], 4);
    EXPECT_EQ(doc["result"], "INVALID");
    EXPECT_TRUE(contains(r.output, "Result:      INVALID (only 4 of the 10 iterations asked ran before the max-iterations cap)"))
        << r.output;
    r = run_runner(kQuick + "--iterations 1 --time 30 --max-time 0.3");
    EXPECT_EQ(r.exit_code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "max-time cap")) << r.output;
}

TEST(CliReports, PccThresholdVerdictAndExitCode) {
    CommandResult r = run_runner(kQuick + "--iterations 1 --reference cpu --pcc-threshold 0.999");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "accuracy  vs cpu: PCC 1.000000")) << r.output;
    // PCC can never exceed 1: a threshold above it can never be met, so it is a usage error (issue 11), exit 2.
    r = run_runner(kQuick + "--iterations 1 --reference cpu --pcc-threshold 1.5");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_TRUE(contains(r.output, "--pcc-threshold: must be a PCC between -1 and 1, found 1.5")) << r.output;
}

TEST(CliReports, ProfileIsSortedWithSharesAndCumulative) {
    const std::string j = temp("profile.json");
    CommandResult r = run_runner(kQuick + "--iterations 4 --profile --profile-rows 5 --report " + j);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "Per-layer profile (")) << r.output;
    EXPECT_TRUE(contains(r.output, "mean of 4 iterations")) << r.output;
    EXPECT_TRUE(contains(r.output, "cum %")) << r.output;
    EXPECT_TRUE(contains(r.output, "conv2d+hardswish")) << r.output;
    const json doc = json::parse(slurp(j));
    const json& p = doc["profile"];
    ASSERT_GT(p.size(), 10u);
    double share = 0;
    for (size_t i = 0; i < p.size(); ++i) {
        if (i) EXPECT_GE(p[i - 1]["mean_ms"].get<double>(), p[i]["mean_ms"].get<double>());
        share += p[i]["share"].get<double>();
        EXPECT_NEAR(p[i]["cumulative"].get<double>(), share, 1e-9);
        EXPECT_EQ(p[i]["device"], "cpu");
    }
    EXPECT_NEAR(share, 1.0, 1e-9);
}

TEST(CliReports, OutputDrawsLabelsOnImagesAndAContactSheet) {
    const std::string dir = temp("demo");
    fs::remove_all(dir);
    // Four bundled samples in batches of 3: the last batch is partial.
    CommandResult r = run_runner("run --model mobilenetv3 --variant small --device cpu --batch 3 --iterations 1 --warmup 0 --output " + dir);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(fs::exists(fs::path(dir) / "contact_sheet.jpg"));
    size_t images = 0;
    for (const auto& e : fs::directory_iterator(dir)) images += e.path().filename() != "contact_sheet.jpg";
    EXPECT_EQ(images, 4u);
    EXPECT_TRUE(fs::exists(fs::path(dir) / "001_chelsea.jpg"));
}

TEST(CliReports, DiffShowsConfigAndMetricChanges) {
    const std::string a = temp("a.json"), b = temp("b.json");
    ASSERT_EQ(run_runner(kQuick + "--iterations 3 --threads 1 --report " + a).exit_code, 0);
    ASSERT_EQ(run_runner(kQuick + "--iterations 3 --threads 2 --batch 2 --report " + b).exit_code, 0);
    CommandResult r = run_runner("diff " + a + " " + b);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "config.threads")) << r.output;
    EXPECT_TRUE(contains(r.output, "config.batch")) << r.output;
    // Measured host figures are named as such (issue 11), apart from any modelled device metric.
    EXPECT_TRUE(contains(r.output, "host throughput (measured) (images/s)")) << r.output;
    EXPECT_TRUE(contains(r.output, "host latency median (measured) (ms)")) << r.output;
    EXPECT_TRUE(contains(r.output, "%")) << r.output;
    r = run_runner("diff " + a + " " + temp("r.csv.missing"));
    EXPECT_NE(r.exit_code, 0);
}

// A sweep of 12 quick runs killed with SIGKILL midway, then resumed: every run exactly once, none lost.
TEST(CliSweep, ResumeAfterSigkillRecordsEveryRunExactlyOnce) {
    const std::string exp = temp("resume.yaml"), results = temp("resume.jsonl");
    fs::remove(results);
    std::ofstream(exp) << "name: resume\n"
                          "base: {model: mobilenetv3, variant: small, device: cpu, input: random, warmup: 0, iterations: 2}\n"
                          "axes:\n  batch: [1, 2]\n  threads: [1, 2]\n  seed: [0, 1, 2]\n";
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const std::string bin = runner_path();
        const int devnull = ::open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execl(bin.c_str(), bin.c_str(), "sweep", exp.c_str(), "--results", results.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    // Kill once a few runs are recorded (or after a generous timeout).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    size_t lines = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        lines = 0;
        std::ifstream in(results);
        std::string l;
        while (std::getline(in, l)) lines += !l.empty();
        if (lines >= 4) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the sweep finished before it could be killed (" << lines << " lines)";
    ASSERT_GE(lines, 4u);
    ASSERT_LT(lines, 12u);

    CommandResult r = run_runner("sweep " + exp + " --results " + results);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "Sweep resume: 12 runs")) << r.output;
    EXPECT_TRUE(contains(r.output, "already in")) << r.output;
    const auto records = jsonl(results);
    std::map<std::string, int> seen;
    for (const auto& rec : records) ++seen[rec["run_id"].get<std::string>()];
    EXPECT_EQ(records.size(), 12u);
    EXPECT_EQ(seen.size(), 12u);
    for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << id;
    EXPECT_TRUE(contains(r.output, "Results (12 runs, sorted by fps)")) << r.output;

    // Nothing left to do: a third invocation runs nothing and appends nothing.
    r = run_runner("sweep " + exp + " --results " + results + " --sort latency");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "12 already in")) << r.output;
    EXPECT_EQ(jsonl(results).size(), 12u);

    // And the HTML of it.
    const std::string html = temp("resume.html");
    r = run_runner("report " + results + " --html " + html);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const std::string page = slurp(html);
    EXPECT_EQ(check_well_formed(page), "");
    EXPECT_NE(page.find("<svg"), std::string::npos);
    EXPECT_NE(page.find("Throughput and latency per run"), std::string::npos);
}

TEST(CliSweep, UnknownDeviceIsAPerRunErrorNotAnAbort) {
    const std::string exp = temp("mixed.yaml"), results = temp("mixed.jsonl");
    fs::remove(results);
    std::ofstream(exp) << "base: {model: mobilenetv3, variant: small, input: random, warmup: 0, iterations: 0, reference: cpu}\n"
                          "axes:\n  device: [cpu, nosuchdevice]\n  layer_pcc: [true]\n";
    CommandResult r = run_runner("sweep " + exp + " --results " + results + " --sort pcc");
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(contains(r.output, "ERROR: unknown device 'nosuchdevice'")) << r.output;
    const auto records = jsonl(results);
    ASSERT_EQ(records.size(), 2u);
    int ok = 0;
    for (const auto& rec : records) ok += rec["status"] == "ok";
    EXPECT_EQ(ok, 1);
    // Per-layer PCC made it into the record, and into the HTML.
    const std::string html = temp("mixed.html");
    ASSERT_EQ(run_runner("report " + results + " --html " + html).exit_code, 0);
    const std::string page = slurp(html);
    EXPECT_EQ(check_well_formed(page), "");
    EXPECT_NE(page.find("Per-layer PCC"), std::string::npos);
}

// Renders a report in headless Chromium when it is installed (tools/setup.sh does not install it).
TEST(CliSweep, HtmlRendersInHeadlessChromium) {
    if (std::system("command -v chromium >/dev/null 2>&1") != 0) GTEST_SKIP() << "chromium is not installed";
    const std::string report = temp("chromium.json"), html = temp("chromium.html"), png = temp("chromium.png");
    ASSERT_EQ(run_runner(kQuick + "--iterations 3 --profile --reference cpu --layer-pcc --report " + report).exit_code, 0);
    ASSERT_EQ(run_runner("report " + report + " --html " + html).exit_code, 0);
    fs::remove(png);
    const std::string profile = temp("chromium_profile");
    const std::string cmd = "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                            "--disable-background-networking --disable-component-update --disable-sync --user-data-dir=" +
                            profile + " --screenshot=" + png + " --window-size=1200,1600 file://" + html + " >/dev/null 2>&1";
    std::system(cmd.c_str());
    ASSERT_TRUE(fs::exists(png));
    EXPECT_GT(fs::file_size(png), 20000u);  // a blank page compresses to a few kB
}
