// A self-contained HTML page (inline CSS and SVG drawn here; no script, no network) of a set of runs: sweep results
// (JSONL records with a "report") or single run reports. Charts:
//   - PCC vs throughput trade-off scatter (points labelled); without any PCC, median latency vs throughput instead;
//   - throughput per run (bars) with median and p99 latency;
//   - per-op duration breakdown by op type (stacked bar per run) and the slowest kernels, when profiles are present;
//   - per-layer PCC (worst layers first), when the reports have per-layer accuracy.
// The markup is well-formed XML (every element closed) so tests can parse it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace zoo::runner {

struct HtmlRun {
    std::string label;       // shown next to points and bars
    std::string id;          // run id (sweeps) or file name
    nlohmann::json report;   // a zoo-runner-report document; null when the run failed
    std::string error;       // why it failed
    std::string short_name;  // what tells this run apart from the others (tokens every label shares removed)
};

// Sweep records (with "report"/"error") or bare reports -> runs.
std::vector<HtmlRun> html_runs_from_records(const std::vector<nlohmann::json>& records, const std::string& source);

std::string render_html_report(const std::vector<HtmlRun>& runs, const std::string& title);

// Axis ticks at 1/2/5 x 10^k steps covering [lo, hi] (about `count` of them); exposed for tests.
std::vector<double> nice_ticks(double lo, double hi, int count = 5);

// Text safe inside HTML/SVG elements and attribute values.
std::string xml_escape(const std::string& text);

}  // namespace zoo::runner
