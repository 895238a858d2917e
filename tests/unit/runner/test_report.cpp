// Reports of one run (json / csv / md), the diff of two, and the HTML page: built from a RunResult made by hand.
#include <gtest/gtest.h>

#include <sstream>

#include "../../cli/xml_check.hpp"
#include "report/diff.hpp"
#include "report/html_report.hpp"
#include "report/report.hpp"

using namespace zoo::runner;
using nlohmann::json;

namespace {

RunResult sample_result(double fps = 123.5, double median = 7.25) {
    RunResult r;
    r.model = "mobilenetv3";
    r.variant = "small";
    r.device = "cpu";
    r.device_description = "fp32 reference";
    r.sets = {"dtype=bfloat16", "features.1*:math_fidelity=LoFi"};
    r.batch = 4;
    r.threads = 2;
    r.random_weights = true;
    r.input = "random";
    r.input_kind = "random";
    r.input_shape = {4, 3, 224, 224};
    r.parameters = 2542856;
    r.load_ms = 10;
    r.compile_ms = 20;
    r.first_inference_ms = 30;
    r.latency.count = 12;
    r.latency.min_ms = 7.0;
    r.latency.median_ms = median;
    r.latency.mean_ms = median + 0.1;
    r.latency.p90_ms = 8.0;
    r.latency.p95_ms = 8.5;
    r.latency.p99_ms = 9.0;
    r.latency.max_ms = 9.5;
    r.latency.stddev_ms = 0.5;
    r.duration_ms = 100;
    r.throughput_fps = fps;
    r.stop = {12, 0, 100000, 600, "iterations"};
    r.provenance.git_commit = "abc1234-dirty";
    r.provenance.host_cpu = "Test CPU, with comma";
    r.provenance.host_cores = 2;
    r.provenance.command_line = {"runner", "run", "--model", "mobilenetv3"};
    r.provenance.plugins = {{"model", "mobilenetv3", "0.1.0", "/x/libzoo_model_mobilenetv3.so", "gcc", "1.0"}};
    AccuracyResult acc;
    acc.reference = "cpu";
    acc.output.pcc = 0.998765;
    acc.output.max_abs_error = 0.01;
    acc.layers.push_back({"features.0.0", "conv2d", {4, 16, 112, 112}, {0.9991, 0.001, 1.0}});
    r.accuracy = acc;
    r.profile = {{"features.0.0", "conv2d+hardswish", "cpu", 1.5, 0.6, 0.6, false}, {"classifier.3", "linear", "cpu", 1.0, 0.4, 1.0, false}};
    r.device_metrics = {{"modelled_device_fps", 4321.0, "fps", "test"}};
    ItemPrediction p;
    p.item = "random[0]";
    p.top = {{281, "tabby", 0.75f, 3.0f}};
    r.predictions = {p};
    return r;
}

}  // namespace

TEST(Report, JsonHasSchemaProvenanceStatsAndVerdict) {
    RunResult r = sample_result();
    r.invalid_reasons = {"output PCC 0.998765 < threshold 0.999"};
    json j = report_json(r);
    EXPECT_EQ(j["schema"], "zoo-runner-report/2");
    EXPECT_EQ(j["config"]["sets"].size(), 2u);
    EXPECT_EQ(j["config"]["batch"], 4);
    EXPECT_EQ(j["provenance"]["git_commit"], "abc1234-dirty");
    EXPECT_EQ(j["provenance"]["plugins"][0]["name"], "mobilenetv3");
    for (const char* k : {"min", "median", "mean", "p90", "p95", "p99", "max", "stddev", "cv", "count"})
        EXPECT_TRUE(j["latency_ms"].contains(k)) << k;
    EXPECT_DOUBLE_EQ(j["latency_ms"]["median"].get<double>(), 7.25);
    EXPECT_DOUBLE_EQ(j["throughput_fps"].get<double>(), 123.5);
    EXPECT_DOUBLE_EQ(j["accuracy"]["pcc"].get<double>(), 0.998765);
    EXPECT_DOUBLE_EQ(j["device_metrics"]["modelled_device_fps"]["value"].get<double>(), 4321.0);
    EXPECT_EQ(j["profile"].size(), 2u);
    EXPECT_EQ(j["result"], "INVALID");
    EXPECT_EQ(j["invalid_reasons"].size(), 1u);
    // Round trip through text.
    EXPECT_EQ(json::parse(j.dump()), j);
}

TEST(Report, NanPccIsNullNotInvalidJson) {
    RunResult r = sample_result();
    r.accuracy->output.pcc = std::nan("");
    json j = report_json(r);
    EXPECT_TRUE(j["accuracy"]["pcc"].is_null());
    EXPECT_NO_THROW(json::parse(j.dump()));
}

TEST(Report, CsvHasOneHeaderAndOneRowWithTheNumbers) {
    const std::string csv = report_csv(report_json(sample_result()));
    std::istringstream in(csv);
    std::string header, row, extra;
    ASSERT_TRUE(std::getline(in, header));
    ASSERT_TRUE(std::getline(in, row));
    EXPECT_FALSE(std::getline(in, extra) && !extra.empty());
    // Split respecting quotes.
    auto split = [](const std::string& line) {
        std::vector<std::string> cells(1);
        bool quoted = false;
        for (size_t i = 0; i < line.size(); ++i) {
            const char c = line[i];
            if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                cells.back() += '"';
                ++i;
            } else if (c == '"') {
                quoted = !quoted;
            } else if (c == ',' && !quoted) {
                cells.emplace_back();
            } else {
                cells.back() += c;
            }
        }
        return cells;
    };
    const auto h = split(header), v = split(row);
    ASSERT_EQ(h.size(), v.size());
    auto cell = [&](const std::string& key) {
        for (size_t i = 0; i < h.size(); ++i)
            if (h[i] == key) return v[i];
        return std::string("<missing>");
    };
    EXPECT_EQ(cell("latency_ms.median"), "7.25");
    EXPECT_EQ(cell("throughput_fps"), "123.5");
    EXPECT_EQ(cell("provenance.host_cpu"), "Test CPU, with comma");
    EXPECT_EQ(cell("config.sets"), "dtype=bfloat16;features.1*:math_fidelity=LoFi");
    EXPECT_EQ(cell("predictions_top1"), "tabby");
    EXPECT_EQ(cell("result"), "VALID");
}

TEST(Report, MarkdownHasTablesAndNumbers) {
    const std::string md = report_markdown(report_json(sample_result()));
    EXPECT_NE(md.find("# mobilenetv3 (small) on cpu"), std::string::npos) << md;
    EXPECT_NE(md.find("| host latency median (measured) | 7.250 ms |"), std::string::npos) << md;
    EXPECT_NE(md.find("| host throughput (measured) | 123.5 images/s |"), std::string::npos) << md;
    EXPECT_NE(md.find("| PCC | 0.998765 |"), std::string::npos) << md;
    EXPECT_NE(md.find("| features.0.0 | conv2d+hardswish | cpu | 1.5000 | 60.0 | 60.0 |"), std::string::npos) << md;
    EXPECT_NE(md.find("**Result: VALID**"), std::string::npos) << md;
    EXPECT_NE(md.find("`features.1*:math_fidelity=LoFi`"), std::string::npos) << md;
}

TEST(Report, FormatFromExtensionOrFlag) {
    EXPECT_EQ(*report_format_for("a.json", ""), ReportFormat::Json);
    EXPECT_EQ(*report_format_for("a.CSV", ""), ReportFormat::Csv);
    EXPECT_EQ(*report_format_for("a.md", ""), ReportFormat::Markdown);
    EXPECT_EQ(*report_format_for("a.jsonl", ""), ReportFormat::Jsonl);
    EXPECT_EQ(*report_format_for("a.txt", "csv"), ReportFormat::Csv);
    auto bad = report_format_for("a.txt", "");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.status().message().find("--report-format"), std::string::npos);
}

TEST(Diff, ShowsConfigChangesAndPercentages) {
    json a = report_json(sample_result(100.0, 10.0));
    RunResult rb = sample_result(125.0, 8.0);
    rb.threads = 1;
    json b = report_json(rb);
    const DiffSummary d = diff_reports(a, b, "a.json", "b.json");
    EXPECT_EQ(d.config_changes, 1u) << d.text;
    EXPECT_NE(d.text.find("config.threads"), std::string::npos) << d.text;
    // throughput 100 -> 125: +25%, better; median 10 -> 8: -20%, better.
    EXPECT_NE(d.text.find("+25.0%"), std::string::npos) << d.text;
    EXPECT_NE(d.text.find("-20.0%"), std::string::npos) << d.text;
    EXPECT_NE(d.text.find("better"), std::string::npos) << d.text;
    EXPECT_EQ(d.text.find("\033["), std::string::npos);  // no colour codes
}

// Issue 11: a modelled device rate gets a verdict (samples/s is a rate), measured one-off timings within the runs'
// spread do not, and the markdown report labels modelled figures.
TEST(Diff, ModelledRatesGetAVerdictAndMeasuredNoiseDoesNot) {
    RunResult ra = sample_result(100.0, 10.0), rb = sample_result(100.0, 10.0);
    ra.device_metrics = {{"device_fps", 1000.0, "samples/s", "modelled: test"}};
    rb.device_metrics = {{"device_fps", 1200.0, "samples/s", "modelled: test"}};
    rb.load_ms = ra.load_ms * 1.03;  // 3%: inside the runs' latency CV
    const DiffSummary d = diff_reports(report_json(ra), report_json(rb), "a.json", "b.json");
    auto row = [&](const std::string& start) {
        const size_t at = d.text.find("\n" + start);
        return at == std::string::npos ? std::string("<missing>") : d.text.substr(at + 1, d.text.find('\n', at + 1) - at - 1);
    };
    EXPECT_NE(row("device_fps (modelled) (samples/s)").find("better"), std::string::npos) << d.text;
    EXPECT_EQ(row("load (measured)").find("worse"), std::string::npos) << d.text;
    const std::string md = report_markdown(report_json(rb));
    EXPECT_NE(md.find("| device_fps (modelled) | 1200.000 samples/s |"), std::string::npos) << md;
}

TEST(Html, PageIsWellFormedWithChartsForSweepRecords) {
    std::vector<json> records;
    for (int i = 0; i < 3; ++i) {
        RunResult r = sample_result(100.0 + 10 * i, 9.0 - i);
        r.accuracy->output.pcc = 0.99 + 0.003 * i;
        records.push_back({{"run_id", "id" + std::to_string(i)}, {"label", "run <" + std::to_string(i) + "> & co"}, {"status", "ok"},
                           {"report", report_json(r)}});
    }
    records.push_back({{"run_id", "bad"}, {"label", "broken"}, {"status", "error"}, {"error", "unknown device 'wormhole'"}});
    const std::string html = render_html_report(html_runs_from_records(records, "x.jsonl"), "test <page>");
    EXPECT_EQ(check_well_formed(html), "");
    EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
    size_t svgs = 0;
    for (size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) ++svgs;
    EXPECT_GE(svgs, 4u);  // scatter, throughput, op breakdown, slowest kernels (+ per-layer PCC)
    EXPECT_NE(html.find("PCC vs reference"), std::string::npos);
    EXPECT_NE(html.find("Per-layer PCC"), std::string::npos);
    EXPECT_NE(html.find("run &lt;1&gt; &amp; co"), std::string::npos);  // escaped labels
    EXPECT_NE(html.find("unknown device &#39;wormhole&#39;"), std::string::npos);
    std::string offline = html;  // no network: the SVG namespace is the only URL
    for (size_t at; (at = offline.find("http://www.w3.org/2000/svg")) != std::string::npos;) offline.erase(at, 26);
    EXPECT_EQ(offline.find("http"), std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST(Html, NiceTicksCoverTheRange) {
    auto t = nice_ticks(0, 97, 5);
    ASSERT_GE(t.size(), 3u);
    EXPECT_DOUBLE_EQ(t.front(), 0);
    EXPECT_GE(t.back(), 95);
    t = nice_ticks(0.9912, 0.9998, 5);
    ASSERT_GE(t.size(), 3u);
    EXPECT_LE(t.front(), 0.9912 + 1e-12);
    for (size_t i = 1; i < t.size(); ++i) EXPECT_GT(t[i], t[i - 1]);
}

// Issue 11 (found by tests/fuzz/fuzz_report): a report lacking sections the diff reads through const operator[]
// was a use-after-free; JSON_ASSERT now throws, and `runner diff` turns that into an error.
TEST(Diff, AReportLackingSectionsThrowsInsteadOfReadingFreedMemory) {
    const nlohmann::json bare = {{"schema", "zoo-runner-report/2"}};
    EXPECT_THROW((void)diff_reports(bare, bare, "a", "b"), std::out_of_range);
}
