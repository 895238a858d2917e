#include "report/report.hpp"

#include <boost/filesystem.hpp>
#include <cmath>
#include <fstream>
#include <functional>
#include <iomanip>
#include <sstream>

namespace zoo::runner {

using nlohmann::json;

std::string fixed(double v, int precision) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(precision) << v;
    return s.str();
}

Result<ReportFormat> report_format_for(const std::string& path, const std::string& format) {
    auto lower = [](std::string t) {
        for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return t;
    };
    std::string ext = lower(boost::filesystem::path(path).extension().string());
    if (!ext.empty() && ext[0] == '.') ext.erase(0, 1);
    if (ext == "markdown") ext = "md";
    std::string f = lower(format.empty() ? ext : format);
    if (f == "markdown") f = "md";
    // CSV written into r.json would fool every reader that trusts the extension.
    if (!format.empty() && (ext == "json" || ext == "jsonl" || ext == "csv" || ext == "md") && ext != f)
        return Status::error("--report-format " + format + " contradicts the extension of " + path + " (." + ext +
                             "); name the file ." + f + " or drop --report-format");
    if (f == "json") return ReportFormat::Json;
    if (f == "jsonl") return ReportFormat::Jsonl;
    if (f == "csv") return ReportFormat::Csv;
    if (f == "md" || f == "markdown") return ReportFormat::Markdown;
    return Status::error("report format '" + f + "' of " + path + " is not one of json, jsonl, csv, md (set it with --report-format)");
}

namespace {

// JSON has no NaN: a NaN PCC (a broken layer) is written as null, which readers show as "n/a".
json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

}  // namespace

json report_json(const RunResult& r) {
    json j;
    j["schema"] = kReportSchema;
    j["runner_version"] = r.provenance.runner_version;
    j["model"] = {{"name", r.model},
                  {"variant", r.variant},
                  {"table", r.table_path},
                  {"parameters", r.parameters},
                  {"parameter_tensors", r.parameter_tensors},
                  {"input_shape", r.input_shape}};
    j["device"] = {{"name", r.device}, {"description", r.device_description}, {"ops", r.ops}, {"folded_batchnorm", r.folded_batchnorm}};
    j["weights"] = r.random_weights ? json{{"random", true}, {"seed", r.seed}} : json{{"random", false}, {"path", r.weights}};
    json layer_configs = json::array();
    for (const auto& [cfg, n] : r.layer_config_summary) layer_configs.push_back({{"config", cfg}, {"nodes", n}});
    j["config"] = {{"run_config", r.run_config},
                   {"sets", r.sets},
                   {"batch", r.batch},
                   {"threads", r.threads},
                   {"seed", r.seed},
                   {"input", r.input},
                   {"input_kind", r.input_kind},
                   {"warmup", r.warmup},
                   {"stop_rule",
                    {{"min_iterations", r.stop.min_iterations},
                     {"min_seconds", r.stop.min_seconds},
                     {"max_iterations", r.stop.max_iterations},
                     {"max_seconds", r.stop.max_seconds},
                     {"stopped_by", r.stop.stopped_by}}},
                   {"layer_configs", layer_configs},
                   {"warnings", r.warnings}};
    const Provenance& p = r.provenance;
    json plugins = json::array();
    for (const auto& pl : p.plugins)
        plugins.push_back({{"role", pl.role}, {"name", pl.name}, {"version", pl.version}, {"path", pl.path},
                           {"build_id", pl.build_id}, {"abi", pl.abi}});
    j["provenance"] = {{"runner_version", p.runner_version}, {"git_commit", p.git_commit}, {"build_type", p.build_type},
                       {"compiler", p.compiler},             {"host_cpu", p.host_cpu},     {"host_cores", p.host_cores},
                       {"hostname", p.hostname},             {"timestamp_utc", p.timestamp_utc},
                       {"plugins", plugins},                 {"command_line", p.command_line}};
    j["timing_ms"] = {{"load", r.load_ms}, {"compile", r.compile_ms}, {"first_inference", r.first_inference_ms}};
    const LatencyStats& st = r.latency;
    j["latency_ms"] = {{"count", st.count}, {"min", st.min_ms}, {"median", st.median_ms}, {"mean", st.mean_ms},
                       {"p90", st.p90_ms},  {"p95", st.p95_ms}, {"p99", st.p99_ms},       {"max", st.max_ms},
                       {"stddev", st.stddev_ms}, {"cv", st.cv()}};
    j["duration_ms"] = r.duration_ms;
    j["throughput_fps"] = r.throughput_fps;
    j["device_metrics"] = json::object();
    for (const auto& m : r.device_metrics) j["device_metrics"][m.name] = {{"value", num(m.value)}, {"unit", m.unit}, {"source", m.source}};
    if (r.accuracy) {
        const auto& a = *r.accuracy;
        json layers = json::array();
        for (const auto& l : a.layers)
            layers.push_back({{"layer", l.layer}, {"op", l.op}, {"shape", l.shape}, {"pcc", num(l.agreement.pcc)},
                              {"max_abs_error", num(l.agreement.max_abs_error)}});
        j["accuracy"] = {{"reference", a.reference},
                         {"pcc", num(a.output.pcc)},
                         {"max_abs_error", num(a.output.max_abs_error)},
                         {"max_abs_reference", num(a.output.max_abs_reference)},
                         {"relative_max_error", num(a.output.relative_max_error())},
                         {"layers", layers}};
    }
    if (!r.profile.empty()) {
        json prof = json::array();
        for (const auto& row : r.profile)
            prof.push_back({{"node", row.node}, {"op_type", row.op_type}, {"device", row.device}, {"mean_ms", row.mean_ms},
                            {"share", row.share}, {"cumulative", row.cumulative}, {"modelled", row.modelled}});
        j["profile"] = prof;
    }
    json preds = json::array();
    for (const auto& p : r.predictions) {
        json top = json::array();
        for (const auto& t : p.top) top.push_back({{"class", t.class_index}, {"label", t.label}, {"probability", t.probability}});
        json item{{"item", p.item}, {"top", top}};
        if (!p.path.empty()) item["path"] = p.path;
        preds.push_back(item);
    }
    j["predictions"] = preds;
    j["result"] = r.valid() ? "VALID" : "INVALID";
    j["invalid_reasons"] = r.invalid_reasons;
    return j;
}

std::vector<std::pair<std::string, json>> flatten_scalars(const json& j) {
    std::vector<std::pair<std::string, json>> out;
    std::function<void(const json&, const std::string&)> walk = [&](const json& v, const std::string& prefix) {
        if (v.is_object()) {
            for (auto it = v.begin(); it != v.end(); ++it) walk(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key());
        } else if (v.is_array()) {
            bool scalars = true;
            for (const auto& e : v) scalars = scalars && !e.is_structured();
            if (!scalars) return;
            std::string joined;
            for (const auto& e : v) joined += (joined.empty() ? "" : ";") + (e.is_string() ? e.get<std::string>() : e.dump());
            out.emplace_back(prefix, joined);
        } else {
            out.emplace_back(prefix, v);
        }
    };
    walk(j, "");
    return out;
}

std::string csv_cell(const std::string& text) {
    if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
    std::string q = "\"";
    for (char c : text) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

std::string report_csv(const json& report) {
    json flat_src = report;
    // One row per run: the top-1 of each item is kept as a column, the rest of the nested arrays are left to the JSON.
    if (report.contains("predictions")) {
        std::string top1;
        for (const auto& p : report["predictions"])
            if (!p["top"].empty()) top1 += (top1.empty() ? "" : ";") + p["top"][0]["label"].get<std::string>();
        flat_src["predictions_top1"] = top1;
    }
    const auto flat = flatten_scalars(flat_src);
    std::string header, row;
    for (size_t i = 0; i < flat.size(); ++i) {
        const auto& [k, v] = flat[i];
        const std::string cell = v.is_string() ? v.get<std::string>() : v.is_null() ? std::string() : v.dump();
        header += (i ? "," : "") + csv_cell(k);
        row += (i ? "," : "") + csv_cell(cell);
    }
    return header + "\n" + row + "\n";
}

namespace {

std::string md_escape(const std::string& s) {
    std::string o;
    for (char c : s) o += c == '|' ? std::string("\\|") : std::string(1, c);
    return o;
}

double dget(const json& j, const char* key, double fallback = 0) {
    return j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}

}  // namespace

std::string report_markdown(const json& r) {
    std::ostringstream o;
    const json& m = r["model"];
    const json& d = r["device"];
    const json& c = r["config"];
    o << "# " << m.value("name", "") << " (" << m.value("variant", "") << ") on " << d.value("name", "") << "\n\n";
    o << "**Result: " << r.value("result", "?") << "**";
    for (const auto& reason : r.value("invalid_reasons", json::array())) o << " (" << md_escape(reason.get<std::string>()) << ")";
    o << "\n\n| | |\n|---|---|\n";
    o << "| device | " << md_escape(d.value("description", "")) << " |\n";
    o << "| batch | " << c.value("batch", 0) << " |\n";
    o << "| threads | " << c.value("threads", 0) << " (0 = all) |\n";
    o << "| run config | " << md_escape(c.value("run_config", std::string()).empty() ? "(none)" : c.value("run_config", "")) << " |\n";
    std::string sets;
    for (const auto& s : c.value("sets", json::array())) sets += (sets.empty() ? "" : ", ") + std::string("`") + s.get<std::string>() + "`";
    o << "| --set | " << (sets.empty() ? "(none)" : md_escape(sets)) << " |\n";
    o << "| input | " << md_escape(c.value("input", "")) << " (" << c.value("input_kind", "") << ") |\n";
    const json& w = r["weights"];
    o << "| weights | " << (w.value("random", false) ? "random (seed " + std::to_string(w.value("seed", 0)) + ")" : md_escape(w.value("path", ""))) << " |\n";
    o << "| parameters | " << m.value("parameters", 0) << " |\n";
    if (r.contains("provenance")) {
        const json& p = r["provenance"];
        o << "| commit | " << p.value("git_commit", "") << " |\n";
        o << "| host | " << md_escape(p.value("host_cpu", "")) << ", " << p.value("host_cores", 0) << " hardware threads |\n";
        o << "| when | " << p.value("timestamp_utc", "") << " |\n";
        std::string cmd;
        for (const auto& a : p.value("command_line", json::array())) cmd += (cmd.empty() ? "" : " ") + a.get<std::string>();
        o << "| command | `" << md_escape(cmd) << "` |\n";
    }
    // Host-measured and device-modelled figures are labelled as such on every row (never one unlabelled column).
    o << "\n## Timing\n\n| metric | value |\n|---|---:|\n";
    const json& t = r["timing_ms"];
    o << "| load (measured) | " << fixed(dget(t, "load")) << " ms |\n| compile (measured) | " << fixed(dget(t, "compile"))
      << " ms |\n| first inference (measured) | " << fixed(dget(t, "first_inference")) << " ms |\n";
    const json& l = r["latency_ms"];
    o << "| iterations | " << l.value("count", 0) << " |\n";
    o << "| duration | " << fixed(dget(r, "duration_ms")) << " ms |\n";
    for (const char* k : {"median", "mean", "min", "max", "p90", "p95", "p99", "stddev"})
        o << "| host latency " << k << " (measured) | " << fixed(dget(l, k), 3) << " ms |\n";
    o << "| host latency CV (measured) | " << fixed(100.0 * dget(l, "cv"), 2) << " % |\n";
    o << "| host throughput (measured) | " << fixed(dget(r, "throughput_fps"), 1) << " images/s |\n";
    if (r.contains("device_metrics"))
        for (auto it = r["device_metrics"].begin(); it != r["device_metrics"].end(); ++it)
            o << "| " << it.key() << (it.value().value("source", "").rfind("modelled", 0) == 0 ? " (modelled)" : "") << " | " << (it.value()["value"].is_number() ? fixed(it.value()["value"].get<double>(), 3) : "n/a") << " "
              << it.value().value("unit", "") << " |\n";
    if (r.contains("accuracy")) {
        const json& a = r["accuracy"];
        o << "\n## Accuracy vs " << a.value("reference", "") << "\n\n| metric | value |\n|---|---:|\n";
        o << "| PCC | " << (a["pcc"].is_number() ? fixed(a["pcc"].get<double>(), 6) : "n/a") << " |\n";
        o << "| max abs error | " << (a["max_abs_error"].is_number() ? fixed(a["max_abs_error"].get<double>(), 6) : "n/a") << " |\n";
        if (!a.value("layers", json::array()).empty()) {
            o << "\n| layer (worst PCC first) | op | PCC |\n|---|---|---:|\n";
            size_t n = 0;
            for (const auto& ly : a["layers"]) {
                if (n++ == 20) break;
                o << "| " << md_escape(ly.value("layer", "")) << " | " << ly.value("op", "") << " | "
                  << (ly["pcc"].is_number() ? fixed(ly["pcc"].get<double>(), 6) : "n/a") << " |\n";
            }
        }
    }
    if (r.contains("profile")) {
        o << "\n## Per-layer profile (mean over " << l.value("count", 0) << " iterations)\n\n"
          << "| layer | op | device | time ms | % | cumulative % |\n|---|---|---|---:|---:|---:|\n";
        for (const auto& p : r["profile"])
            o << "| " << md_escape(p.value("node", "")) << " | " << md_escape(p.value("op_type", "")) << " | " << p.value("device", "")
              << (p.value("modelled", false) ? " (modelled)" : "") << " | " << fixed(dget(p, "mean_ms"), 4) << " | "
              << fixed(100 * dget(p, "share"), 1) << " | " << fixed(100 * dget(p, "cumulative"), 1) << " |\n";
    }
    if (!r.value("predictions", json::array()).empty()) {
        o << "\n## Predictions (top-1)\n\n| item | class | label | probability |\n|---|---:|---|---:|\n";
        for (const auto& p : r["predictions"]) {
            if (p["top"].empty()) continue;
            const json& t1 = p["top"][0];
            o << "| " << md_escape(p.value("item", "")) << " | " << t1.value("class", 0) << " | " << md_escape(t1.value("label", ""))
              << " | " << fixed(100 * dget(t1, "probability"), 2) << " % |\n";
        }
    }
    return o.str();
}

Status write_report(const std::string& path, ReportFormat format, const RunResult& result) {
    const json j = report_json(result);
    std::ofstream out(path, format == ReportFormat::Jsonl ? std::ios::app : std::ios::trunc);
    if (!out) return Status::error(path + ": cannot write the report");
    switch (format) {
        case ReportFormat::Json: out << j.dump(2) << "\n"; break;
        case ReportFormat::Jsonl: out << j.dump() << "\n"; break;
        case ReportFormat::Csv: out << report_csv(j); break;
        case ReportFormat::Markdown: out << report_markdown(j); break;
    }
    out.flush();
    if (!out) return Status::error(path + ": writing the report failed");
    return Status::ok();
}

Result<json> read_report(const std::string& path) {
    std::ifstream in(path);
    if (!in) return Status::error(path + ": cannot open");
    std::string first;
    std::stringstream all;
    all << in.rdbuf();
    const std::string text = all.str();
    try {
        if (boost::filesystem::path(path).extension() == ".jsonl") {
            // The first line that is (or holds) a report; a sweep's failed runs carry an error instead and are skipped.
            std::istringstream lines(text);
            std::string line, first_error;
            while (std::getline(lines, line)) {
                if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
                json j = json::parse(line);
                if (!j.is_object()) continue;
                if (j.contains("report") && j["report"].is_object()) return j["report"];
                if (j.value("schema", "").rfind("zoo-runner-report/", 0) == 0) return j;
                if (first_error.empty() && j.contains("error") && j["error"].is_string()) first_error = j["error"].get<std::string>();
            }
            return Status::error(path + ": no report line found" + (first_error.empty() ? "" : " (the runs failed; first error: " + first_error + ")"));
        }
        json j = json::parse(text);
        if (!j.contains("schema") || !j["schema"].is_string() || j["schema"].get<std::string>().rfind("zoo-runner-report/", 0) != 0)
            return Status::error(path + ": not a runner report (no \"schema\": \"zoo-runner-report/N\")");
        return j;
    } catch (const std::exception& e) {
        return Status::error(path + ": invalid JSON: " + e.what());
    }
}

double modelled_fps(const nlohmann::json& report) {
    if (report.contains("device_metrics") && report["device_metrics"].is_object() && report["device_metrics"].contains("device_fps")) {
        const auto& m = report["device_metrics"]["device_fps"];
        if (m.is_object() && m.contains("value") && m["value"].is_number()) return m["value"].get<double>();
    }
    return 0.0;
}

double headline_fps(const nlohmann::json& report) {
    if (const double modelled = modelled_fps(report); modelled > 0) return modelled;
    const auto it = report.find("throughput_fps");
    return it != report.end() && it->is_number() ? it->get<double>() : 0.0;
}

}  // namespace zoo::runner
