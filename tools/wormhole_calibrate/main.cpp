// wormhole_calibrate [--calibration FILE] [--hardware FILE] [--root DIR] [--plugins DIR] [--cases ID,ID...]
// Evaluates the cases of the calibration set (yaml/devices/wormhole_n150_calibration.yaml) in one process: every
// runnable case is prepared and compiled on the wormhole device plugin exactly as `runner run` would (the same program
// and cost code as any model), and its modelled figure is read only through the compiled model's public interface:
// metrics() (device_fps, device_kernel_time, e2e_fps_trace_2cq) or table("ops") (tt-metal's ops_perf_results CSV).
// Prints one JSON object: {"fit": {...as in the file...}, "cases": [{id, kind, modelled, measured, residual, ...}]}.
// --hardware replaces the n150 description for every case that does not name its own (the fit passes trial values
// this way). A case that fails to prepare or compile is reported with the runner's error, never aborts the rest.
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "report/csv_reader.hpp"
#include "session/model_session.hpp"

namespace fs = std::filesystem;
using namespace zoo;
using namespace zoo::runner;
using nlohmann::json;

namespace {

struct RunSpec {
    std::string model, variant, config, hardware;
    int64_t batch = 0;
    std::vector<std::string> sets;
    std::string key() const {
        std::string k = model + "|" + variant + "|" + config + "|" + hardware + "|" + std::to_string(batch);
        for (const auto& s : sets) k += "|" + s;
        return k;
    }
};

struct MeasureSpec {
    std::string metric;                    // a metrics() name, or empty for op codes
    std::vector<std::string> op_codes;     // substrings of OP CODE whose rows are summed
    bool except = false;                   // op_codes_except: every row but those
    bool as_fps = false;                   // report batch / summed duration instead of the duration
};

using Row = std::map<std::string, std::string>;

struct Evaluated {
    bool ok = false;
    std::string error;
    int64_t batch = 0;
    std::map<std::string, double> metrics;
    std::vector<Row> ops;
};


double to_double(const Row& r, const std::string& col) {
    auto it = r.find(col);
    if (it == r.end() || it->second.empty()) return 0.0;
    return std::stod(it->second);
}

std::string absolute(const std::string& root, const std::string& p) {
    if (p.empty() || fs::path(p).is_absolute()) return p;
    return (fs::path(root) / p).string();
}

RunSpec read_run(const YAML::Node& n, const std::string& root, const std::string& default_hardware) {
    RunSpec r;
    r.model = n["model"].as<std::string>();
    if (n["variant"]) r.variant = n["variant"].as<std::string>();
    if (n["config"]) r.config = absolute(root, n["config"].as<std::string>());
    r.hardware = n["hardware"] ? absolute(root, n["hardware"].as<std::string>()) : default_hardware;
    if (n["batch"]) r.batch = n["batch"].as<int64_t>();
    if (n["set"])
        for (const auto& s : n["set"]) r.sets.push_back(s.as<std::string>());
    return r;
}

MeasureSpec read_measure(const YAML::Node& n) {
    MeasureSpec m;
    if (n["metric"]) m.metric = n["metric"].as<std::string>();
    for (const char* key : {"op_codes", "op_codes_except"})
        if (n[key]) {
            for (const auto& c : n[key]) m.op_codes.push_back(c.as<std::string>());
            m.except = std::string(key) == "op_codes_except";
        }
    m.as_fps = n["as"] && n["as"].as<std::string>() == "fps";
    if (m.metric.empty() && m.op_codes.empty()) throw std::runtime_error("measure needs metric, op_codes or op_codes_except");
    return m;
}

class Evaluator {
public:
    Evaluator(const PluginRegistry& registry) : m_registry(registry) {}

    const Evaluated& evaluate(const RunSpec& run) {
        auto [it, fresh] = m_cache.try_emplace(run.key());
        if (!fresh) return it->second;
        Evaluated& e = it->second;
        SessionOptions so;
        so.model = run.model;
        so.variant = run.variant;
        so.device = "wormhole";
        so.run_config = run.config;
        so.batch = run.batch;
        so.sets = run.sets;
        so.hardware = run.hardware;
        auto setup = prepare_model(m_registry, so);
        if (!setup) {
            e.error = "prepare: " + setup.status().message();
            return e;
        }
        // compile only: the perf model is static, no numerics needed.
        auto compiled = compile_on_device(m_registry, *setup, "wormhole", so.threads, true, so.hardware);
        if (!compiled) {
            e.error = "compile: " + compiled.status().message();
            return e;
        }
        e.batch = setup->batch;
        for (const auto& m : compiled->compiled->metrics()) e.metrics[m.name] = m.value;
        auto table = compiled->compiled->table("ops");
        if (!table) {
            e.error = "table(\"ops\"): " + table.status().message();
            return e;
        }
        auto rows = parse_csv(*table);
        for (size_t i = 1; i < rows.size(); ++i) {
            Row r;
            for (size_t c = 0; c < rows[0].size() && c < rows[i].size(); ++c) r[rows[0][c]] = rows[i][c];
            e.ops.push_back(std::move(r));
        }
        e.ok = true;
        return e;
    }

private:
    const PluginRegistry& m_registry;
    std::map<std::string, Evaluated> m_cache;
};

bool counted(const Row& r, const MeasureSpec& m) {
    const std::string& code = r.at("OP CODE");
    bool hit = false;
    for (const auto& c : m.op_codes) hit = hit || code.find(c) != std::string::npos;
    return m.except ? !hit : hit;
}

// The modelled figure of one (run, measure), plus where the counted time goes: the model's three terms summed over
// the counted rows (all rows for a metric), and the kernel time per BOUND.
struct Measured {
    double value = NAN;
    std::string error;
    json breakdown = json::object();
};

Measured measure(Evaluator& ev, const RunSpec& run, const MeasureSpec& m) {
    Measured out;
    const Evaluated& e = ev.evaluate(run);
    if (!e.ok) {
        out.error = e.error;
        return out;
    }
    double kernel = 0, compute = 0, bandwidth = 0, overhead = 0;
    std::map<std::string, double> by_bound, by_code;
    int rows = 0;
    for (const auto& r : e.ops) {
        if (!m.metric.empty() || counted(r, m)) {
            const double k = to_double(r, "DEVICE KERNEL DURATION [ns]");
            kernel += k;
            compute += to_double(r, "MODEL COMPUTE [ns]");
            bandwidth += to_double(r, "MODEL BANDWIDTH [ns]");
            overhead += to_double(r, "MODEL OVERHEAD [ns]");
            by_bound[r.count("BOUND") ? r.at("BOUND") : "?"] += k;
            by_code[r.at("OP CODE")] += k;
            ++rows;
        }
    }
    out.breakdown = {{"rows", rows},          {"kernel_ns", kernel},     {"compute_ns", compute},
                     {"bandwidth_ns", bandwidth}, {"overhead_ns", overhead}, {"kernel_ns_by_bound", by_bound},
                     {"kernel_ns_by_op_code", by_code}};
    if (!m.metric.empty()) {
        auto it = e.metrics.find(m.metric);
        if (it == e.metrics.end()) {
            out.error = "the compiled model reports no metric '" + m.metric + "'";
            return out;
        }
        out.value = it->second;
    } else if (rows == 0) {
        out.error = "no row of the ops table has an OP CODE matching the case's op_codes";
    } else {
        out.value = m.as_fps ? static_cast<double>(e.batch) / (kernel * 1e-9) : kernel;
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    std::string root = ZOO_SOURCE_DIR;
    std::string calibration, hardware;
    std::set<std::string> only;
    fs::path exe = fs::canonical("/proc/self/exe");
    std::string plugins = (exe.parent_path().parent_path() / "lib" / "zoo").string();
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--calibration") calibration = next();
        else if (a == "--hardware") hardware = next();
        else if (a == "--root") root = next();
        else if (a == "--plugins") plugins = next();
        else if (a == "--cases") {
            std::stringstream ss(next());
            for (std::string id; std::getline(ss, id, ',');) only.insert(id);
        } else {
            std::fprintf(stderr, "unknown argument %s\nusage: wormhole_calibrate [--calibration FILE] [--hardware FILE] "
                                 "[--root DIR] [--plugins DIR] [--cases ID,...]\n", a.c_str());
            return 2;
        }
    }
    if (calibration.empty()) calibration = (fs::path(root) / "yaml" / "devices" / "wormhole_n150_calibration.yaml").string();
    YAML::Node doc;
    try {
        doc = YAML::LoadFile(calibration);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s: %s\n", calibration.c_str(), e.what());
        return 1;
    }
    const PluginRegistry registry = PluginRegistry::discover({plugins});
    Evaluator ev(registry);
    json out;
    out["calibration"] = calibration;
    out["hardware"] = hardware.empty() ? "default (yaml/devices/wormhole_n150.yaml)" : hardware;
    out["fit"] = {{"constants", json::array()}, {"cases", json::array()}};
    if (doc["fit"]) {
        for (const auto& c : doc["fit"]["constants"]) out["fit"]["constants"].push_back(c.as<std::string>());
        for (const auto& c : doc["fit"]["cases"]) out["fit"]["cases"].push_back(c.as<std::string>());
    }
    out["cases"] = json::array();
    std::set<std::string> seen;
    for (const auto& c : doc["cases"]) {
        json r;
        const std::string id = c["id"] ? c["id"].as<std::string>() : "";
        r["id"] = id;
        try {
            if (id.empty()) throw std::runtime_error("a case has no id");
            if (!seen.insert(id).second) throw std::runtime_error("duplicate case id");
            if (!only.empty() && !only.count(id)) continue;
            r["kind"] = c["kind"].as<std::string>();
            r["measured"] = c["measured"]["value"].as<double>();
            r["unit"] = c["measured"]["unit"].as<std::string>();
            r["source"] = c["source"].as<std::string>();
            if (c["notes"]) r["notes"] = c["notes"].as<std::string>();
            if (c["known_gap"]) r["known_gap"] = c["known_gap"].as<std::string>();
            r["runnable"] = c["runnable"].as<bool>();
            if (!r["runnable"].get<bool>()) {
                r["reason"] = c["reason"] ? c["reason"].as<std::string>() : "(no reason given)";
                out["cases"].push_back(r);
                continue;
            }
            Measured m;
            if (c["ratio_of"]) {
                const auto num = measure(ev, read_run(c["ratio_of"]["numerator"]["run"], root, hardware),
                                         read_measure(c["ratio_of"]["numerator"]["measure"]));
                const auto den = measure(ev, read_run(c["ratio_of"]["denominator"]["run"], root, hardware),
                                         read_measure(c["ratio_of"]["denominator"]["measure"]));
                m.error = !num.error.empty() ? "numerator: " + num.error : !den.error.empty() ? "denominator: " + den.error : "";
                m.value = num.value / den.value;
                m.breakdown = {{"numerator", num.breakdown}, {"denominator", den.breakdown}};
            } else {
                m = measure(ev, read_run(c["run"], root, hardware), read_measure(c["measure"]));
            }
            r["breakdown"] = m.breakdown;
            if (!m.error.empty()) {
                r["error"] = m.error;
            } else {
                r["modelled"] = m.value;
                r["residual"] = m.value / r["measured"].get<double>() - 1.0;
            }
        } catch (const std::exception& e) {
            // A malformed case names itself and what was wrong; the others still run.
            r["error"] = "case '" + id + "' in " + calibration + ": " + e.what();
        }
        out["cases"].push_back(r);
    }
    std::cout << out.dump() << "\n";
    return 0;
}
