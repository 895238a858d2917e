#include "report/diff.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "report/report.hpp"
#include "report/text_table.hpp"

namespace zoo::runner {

using nlohmann::json;

namespace {

std::string text_of(const json& v) {
    if (v.is_null()) return "(none)";
    if (v.is_string()) return v.get<std::string>().empty() ? "(none)" : v.get<std::string>();
    return v.dump();
}

std::map<std::string, json> flat_section(const json& doc, const std::vector<std::string>& sections) {
    std::map<std::string, json> out;
    for (const auto& s : sections) {
        if (!doc.contains(s)) continue;
        json wrapped;
        wrapped[s] = doc[s];
        for (auto& [k, v] : flatten_scalars(wrapped)) out[k] = v;
    }
    return out;
}

struct Metric {
    std::string key;    // display name
    const json* a;
    const json* b;
    int better;         // +1 higher is better, -1 lower is better, 0 neutral
    std::string unit;
    int precision;
};

const json* at_path(const json& doc, const std::vector<std::string>& path) {
    const json* p = &doc;
    for (const auto& k : path) {
        if (!p->is_object() || !p->contains(k)) return nullptr;
        p = &(*p)[k];
    }
    return p->is_number() ? p : nullptr;
}

// Everything that defines the run (model, device, weights, config) that differs, then where the numbers came from.
// Sets `changes` to the number of configuration differences.
std::string config_and_provenance_section(const json& a, const json& b, size_t& changes) {
    const std::vector<std::string> config_sections{"model", "device", "weights", "config"};
    auto fa = flat_section(a, config_sections), fb = flat_section(b, config_sections);
    std::set<std::string> keys;
    for (const auto& [k, v] : fa) keys.insert(k);
    for (const auto& [k, v] : fb) keys.insert(k);
    std::vector<std::vector<std::string>> rows;
    for (const auto& k : keys) {
        if (k == "config.stop_rule.stopped_by") continue;  // an outcome, shown with the metrics
        const json va = fa.count(k) ? fa[k] : json(), vb = fb.count(k) ? fb[k] : json();
        if (va != vb) rows.push_back({k, text_of(va), text_of(vb)});
    }
    changes = rows.size();
    std::string t = "Configuration: " + (rows.empty() ? std::string("identical\n") : std::to_string(rows.size()) + " difference(s)\n" +
                                                                                         format_table({"setting", "A", "B"}, rows));
    auto pa = flat_section(a, {"provenance"}), pb = flat_section(b, {"provenance"});
    rows.clear();
    for (const char* k : {"provenance.git_commit", "provenance.runner_version", "provenance.build_type", "provenance.compiler",
                          "provenance.host_cpu", "provenance.host_cores", "provenance.hostname"}) {
        const json va = pa.count(k) ? pa[k] : json(), vb = pb.count(k) ? pb[k] : json();
        if (va != vb) rows.push_back({std::string(k).substr(11), text_of(va), text_of(vb)});
    }
    if (!rows.empty()) t += "\nProvenance:\n" + format_table({"fact", "A", "B"}, rows);
    return t;
}

// The figures either report has: host timings (measured), accuracy, and every device metric (modelled or measured, as
// the device says), each with the direction that counts as better.
std::vector<Metric> metrics_of(const json& a, const json& b) {
    std::vector<Metric> metrics;
    auto add = [&](const std::string& name, std::vector<std::string> path, int better, const std::string& unit, int precision) {
        const json* va = at_path(a, path);
        const json* vb = at_path(b, path);
        if (va || vb) metrics.push_back({name, va, vb, better, unit, precision});
    };
    add("host throughput (measured)", {"throughput_fps"}, +1, "images/s", 1);
    for (const char* k : {"median", "mean", "min", "p90", "p95", "p99", "max"})
        add(std::string("host latency ") + k + " (measured)", {"latency_ms", k}, -1, "ms", 3);
    // The spread itself gets no verdict: it is what a verdict on the other timings is measured against.
    add("host latency stddev (measured)", {"latency_ms", "stddev"}, 0, "ms", 3);
    add("host latency CV (measured)", {"latency_ms", "cv"}, 0, "", 4);
    add("iterations", {"latency_ms", "count"}, 0, "", 0);
    add("load (measured)", {"timing_ms", "load"}, -1, "ms", 2);
    add("compile (measured)", {"timing_ms", "compile"}, -1, "ms", 2);
    add("first inference (measured)", {"timing_ms", "first_inference"}, -1, "ms", 2);
    add("PCC", {"accuracy", "pcc"}, +1, "", 6);
    add("max abs error", {"accuracy", "max_abs_error"}, -1, "", 6);
    std::set<std::string> dm;
    for (const json* doc : {&a, &b})
        if (doc->contains("device_metrics") && (*doc)["device_metrics"].is_object())
            for (auto it = (*doc)["device_metrics"].begin(); it != (*doc)["device_metrics"].end(); ++it) dm.insert(it.key());
    for (const auto& name : dm) {
        const json& src = a.contains("device_metrics") && a["device_metrics"].contains(name) ? a["device_metrics"][name] : b["device_metrics"][name];
        const std::string unit = src.value("unit", "");
        const std::string kind = src.value("source", "").rfind("modelled", 0) == 0 ? " (modelled)" : "";
        // Rates are better higher, times lower; sizes (B) and the rest get no verdict.
        const bool rate = unit == "fps" || unit == "samples/s" || unit == "images/s";
        const bool time = unit == "ns" || unit == "us" || unit == "ms" || unit == "s";
        add(name + kind, {"device_metrics", name, "value"}, rate ? +1 : time ? -1 : 0, unit, 3);
    }
    return metrics;
}

// One row per metric: A, B, change, % of A, and a verdict. A measured timing changes only beyond the runs' own spread
// (the sum of their coefficients of variation, at least 1%); modelled figures and sizes beyond 1%; PCC-style metrics
// compare exactly.
std::vector<std::string> metric_row(const Metric& m, double spread) {
    std::vector<std::string> row{m.key + (m.unit.empty() ? "" : " (" + m.unit + ")")};
    row.push_back(m.a ? fixed(m.a->get<double>(), m.precision) : "-");
    row.push_back(m.b ? fixed(m.b->get<double>(), m.precision) : "-");
    if (!m.a || !m.b) {
        row.push_back("-");
        row.push_back("-");
        row.push_back(m.a ? "only in A" : "only in B");
        return row;
    }
    const double va = m.a->get<double>(), vb = m.b->get<double>();
    const double delta = vb - va;
    row.push_back((delta >= 0 ? "+" : "") + fixed(delta, m.precision));
    if (va != 0 && std::isfinite(va)) {
        const double pct = 100.0 * delta / std::fabs(va);
        row.push_back(pct == 0 ? std::string("0.0%") : (pct > 0 ? "+" : "") + fixed(pct, std::fabs(pct) < 0.1 ? 4 : 1) + "%");
    } else {
        row.push_back("-");
    }
    const bool measured = m.key.find("(measured)") != std::string::npos;
    const double tolerance = measured ? std::max(0.01, spread) : 0.01;
    const bool same = m.precision >= 6 ? delta == 0 : std::fabs(delta) <= tolerance * std::fabs(va);
    row.push_back(m.better == 0 || same ? "" : (delta > 0) == (m.better > 0) ? "better" : "worse");
    return row;
}

std::string run_line(const char* letter, const json& doc, const std::string& name) {
    return std::string(letter) + ": " + name + "  (" + doc["model"].value("name", "?") + "/" + doc["model"].value("variant", "?") +
           " on " + doc["device"].value("name", "?") + ", " + doc.value("result", "?") + ")\n";
}

}  // namespace

DiffSummary diff_reports(const json& a, const json& b, const std::string& name_a, const std::string& name_b) {
    DiffSummary out;
    std::string t = run_line("A", a, name_a) + run_line("B", b, name_b) + "\n";
    t += config_and_provenance_section(a, b, out.config_changes);

    const std::vector<Metric> metrics = metrics_of(a, b);
    auto cv_of = [](const json& doc) {
        const json* cv = at_path(doc, {"latency_ms", "cv"});
        return cv ? std::fabs(cv->get<double>()) : 0.0;
    };
    const double spread = cv_of(a) + cv_of(b);
    std::vector<std::vector<std::string>> rows;
    for (const auto& m : metrics) rows.push_back(metric_row(m, spread));
    out.metrics_compared = metrics.size();
    t += "\nMetrics (change = B - A, % of A):\n" +
         format_table({"metric", "A", "B", "change", "%", ""}, rows, {false, true, true, true, true, false});
    t += "\nResult: A " + a.value("result", "?") + ", B " + b.value("result", "?") + "\n";
    for (const auto& [doc, name] : {std::pair<const json*, const char*>{&a, "A"}, {&b, "B"}})
        for (const auto& r : doc->value("invalid_reasons", json::array())) t += std::string("  ") + name + ": " + r.get<std::string>() + "\n";
    out.text = t;
    return out;
}

}  // namespace zoo::runner
