// Machine-readable reports of one run: JSON (the schema below), JSONL (the same, one line), CSV (one header row and one
// data row of the flattened scalars, for spreadsheets and CI), Markdown (for humans and pull requests).
//
// Schema "zoo-runner-report/2" (JSON object; every time in ms, every rate in images/s):
//   schema, runner_version
//   model        {name, variant, table, parameters, parameter_tensors, input_shape}
//   device       {name, description, ops, folded_batchnorm}
//   weights      {random, seed} | {random: false, path}
//   config       {run_config, sets[], batch, threads, seed, input, input_kind, warmup,
//                 stop_rule {min_iterations, min_seconds, max_iterations, max_seconds, stopped_by},
//                 layer_configs [{config, nodes}] (compact: distinct per-layer configs and how many nodes have each),
//                 warnings[]}
//   provenance   {runner_version, git_commit, build_type, compiler, host_cpu, host_cores, hostname, timestamp_utc,
//                 plugins [{role, name, version, path, build_id, abi}], command_line[]}
//   timing_ms    {load, compile, first_inference}
//   latency_ms   {count, min, median, mean, p90, p95, p99, max, stddev, cv}
//   duration_ms, throughput_fps
//   device_metrics {<name>: {value, unit, source}}   (open set: devices add names, readers ignore unknown ones)
//   accuracy     {reference, pcc, max_abs_error, max_abs_reference, relative_max_error, layers [{layer, op, shape, pcc,
//                 max_abs_error}]}   (only with a reference; layers only with per-layer PCC)
//   profile      [{node, op_type, device, mean_ms, share, cumulative, modelled}]   (only with --profile)
//   predictions  [{item, path?, top [{class, label, probability}]}]
//   result "VALID" | "INVALID", invalid_reasons[]
// Readers must accept "zoo-runner-report/1" documents (no provenance, stop rule, device metrics or profile).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "session/run_job.hpp"
#include "zoo/status.hpp"

namespace zoo::runner {

inline constexpr const char* kReportSchema = "zoo-runner-report/2";

enum class ReportFormat { Json, Jsonl, Csv, Markdown };

// "json", "jsonl", "csv", "md"/"markdown"; or from the file extension when `format` is empty.
Result<ReportFormat> report_format_for(const std::string& path, const std::string& format);

nlohmann::json report_json(const RunResult& result);
std::string report_csv(const nlohmann::json& report);       // header line + one row
std::string report_markdown(const nlohmann::json& report);

// Writes the report in the format; the file is replaced (JSONL appends one line).
Status write_report(const std::string& path, ReportFormat format, const RunResult& result);

// "a.b.c" -> scalar, depth first, in document order; arrays of scalars joined with ';', arrays of objects skipped.
std::vector<std::pair<std::string, nlohmann::json>> flatten_scalars(const nlohmann::json& j);

// A CSV cell: quoted when it holds a comma, a quote or a line break.
std::string csv_cell(const std::string& text);

// Reads a report (.json) or the first report of a results file (.jsonl line with a "report" member).
Result<nlohmann::json> read_report(const std::string& path);

// Number formatting shared by the text outputs: fixed with `precision` decimals.
std::string fixed(double v, int precision = 2);

// The FPS a reader should compare: the device's own modelled samples/s (device_metrics.device_fps) when the device
// reports one (the Wormhole emulator: its wall time is the emulator's, not the card's), else the measured throughput.
// 0 when the report has neither.
// The device-modelled FPS of a report (device_metrics.device_fps, e.g. the Wormhole emulator), 0 when there is none.
double modelled_fps(const nlohmann::json& report);
double headline_fps(const nlohmann::json& report);

}  // namespace zoo::runner
