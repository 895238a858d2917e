#include "report/html_report.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <sstream>

#include "report/report.hpp"

namespace zoo::runner {

using nlohmann::json;

std::string xml_escape(const std::string& s) {
    std::string o;
    o.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&': o += "&amp;"; break;
            case '<': o += "&lt;"; break;
            case '>': o += "&gt;"; break;
            case '"': o += "&quot;"; break;
            case '\'': o += "&#39;"; break;
            default: o += c;
        }
    }
    return o;
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
    std::vector<double> ticks;
    if (!std::isfinite(lo) || !std::isfinite(hi)) return ticks;
    if (hi < lo) std::swap(lo, hi);
    if (hi == lo) {
        const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
        lo -= pad;
        hi += pad;
    }
    const double raw = (hi - lo) / std::max(1, count);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (raw <= m * mag) {
            step = m * mag;
            break;
        }
    // From the multiple of the step at or below lo to the one at or above hi: the ticks span the data.
    const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
    for (double k = first; k <= last && ticks.size() <= 50; k += 1) {
        const double t = k * step;
        ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
    }
    return ticks;
}

namespace {

const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                          "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"};

std::string color(size_t i) { return kPalette[i % (sizeof kPalette / sizeof kPalette[0])]; }

std::string num(double v, int precision) { return fixed(v, precision); }

// Tick label precision from the step size.
int tick_precision(const std::vector<double>& ticks) {
    if (ticks.size() < 2) return 2;
    const double step = ticks[1] - ticks[0];
    return std::clamp(static_cast<int>(std::ceil(-std::log10(step))), 0, 8);
}

double dval(const json& j, std::initializer_list<const char*> path, double fallback = NAN) {
    const json* p = &j;
    for (const char* k : path) {
        if (!p->is_object() || !p->contains(k)) return fallback;
        p = &(*p)[k];
    }
    return p->is_number() ? p->get<double>() : fallback;
}

bool timed(const HtmlRun& r) { return !r.report.is_null() && dval(r.report, {"latency_ms", "count"}, 0) > 0; }

struct Frame {
    double w, h, left, right, top, bottom;  // svg size and margins
    double x0, x1, y0, y1;                   // data ranges
    double px(double x) const { return left + (x - x0) / (x1 - x0) * (w - left - right); }
    double py(double y) const { return h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom); }
};

// Axes with ticks, grid lines and titles.
void axes(std::ostringstream& o, const Frame& f, const std::vector<double>& xt, const std::vector<double>& yt,
          const std::string& xtitle, const std::string& ytitle) {
    const int xp = tick_precision(xt), yp = tick_precision(yt);
    o << "<g class=\"axis\">";
    for (double t : yt) {
        o << "<line x1=\"" << f.left << "\" x2=\"" << f.w - f.right << "\" y1=\"" << f.py(t) << "\" y2=\"" << f.py(t)
          << "\" class=\"grid\"/>";
        o << "<text x=\"" << f.left - 6 << "\" y=\"" << f.py(t) + 4 << "\" text-anchor=\"end\">" << num(t, yp) << "</text>";
    }
    for (double t : xt) {
        o << "<line x1=\"" << f.px(t) << "\" x2=\"" << f.px(t) << "\" y1=\"" << f.top << "\" y2=\"" << f.h - f.bottom
          << "\" class=\"grid\"/>";
        o << "<text x=\"" << f.px(t) << "\" y=\"" << f.h - f.bottom + 16 << "\" text-anchor=\"middle\">" << num(t, xp) << "</text>";
    }
    o << "<line x1=\"" << f.left << "\" x2=\"" << f.w - f.right << "\" y1=\"" << f.h - f.bottom << "\" y2=\"" << f.h - f.bottom
      << "\" class=\"frame\"/>";
    o << "<line x1=\"" << f.left << "\" x2=\"" << f.left << "\" y1=\"" << f.top << "\" y2=\"" << f.h - f.bottom << "\" class=\"frame\"/>";
    o << "<text class=\"title\" x=\"" << (f.left + f.w - f.right) / 2 << "\" y=\"" << f.h - 6 << "\" text-anchor=\"middle\">"
      << xml_escape(xtitle) << "</text>";
    o << "<text class=\"title\" transform=\"translate(14," << (f.top + f.h - f.bottom) / 2 << ") rotate(-90)\" text-anchor=\"middle\">"
      << xml_escape(ytitle) << "</text>";
    o << "</g>";
}

std::string svg_open(double w, double h, const std::string& label) {
    std::ostringstream o;
    o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h << "\" viewBox=\"0 0 " << w << " " << h
      << "\" role=\"img\" aria-label=\"" << xml_escape(label) << "\">";
    return o.str();
}

std::string short_label(const HtmlRun& r, size_t max = 44) {
    const std::string& text = r.short_name.empty() ? r.label : r.short_name;
    return text.size() > max ? text.substr(0, max - 3) + "..." : text;
}

// Scatter of the trade-off: x throughput, y PCC (or median latency when no run has a PCC).
std::string scatter(const std::vector<HtmlRun>& runs) {
    std::vector<size_t> idx;
    bool have_pcc = false;
    // A trade-off needs at least two points: with fewer PCCs, plot latency against throughput for every run instead.
    size_t with_pcc = 0;
    for (size_t i = 0; i < runs.size(); ++i)
        if (timed(runs[i]) && std::isfinite(dval(runs[i].report, {"accuracy", "pcc"}))) ++with_pcc;
    have_pcc = with_pcc >= 2;
    for (size_t i = 0; i < runs.size(); ++i) {
        if (!timed(runs[i])) continue;
        if (have_pcc && !std::isfinite(dval(runs[i].report, {"accuracy", "pcc"}))) continue;
        idx.push_back(i);
    }
    std::ostringstream o;
    if (idx.empty()) return "<p class=\"note\">No timed runs to plot.</p>";
    auto yv = [&](size_t i) {
        return have_pcc ? dval(runs[i].report, {"accuracy", "pcc"}) : dval(runs[i].report, {"latency_ms", "median"});
    };
    double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
    for (size_t i : idx) {
        const double x = headline_fps(runs[i].report), y = yv(i);
        xmin = std::min(xmin, x), xmax = std::max(xmax, x), ymin = std::min(ymin, y), ymax = std::max(ymax, y);
    }
    const double xpad = (xmax - xmin) * 0.08 + (xmax == xmin ? std::max(1.0, xmax * 0.1) : 0);
    const double ypad = (ymax - ymin) * 0.1 + (ymax == ymin ? std::max(1e-6, std::fabs(ymax) * 0.01) : 0);
    const auto xt = nice_ticks(std::max(0.0, xmin - xpad), xmax + xpad, 6);
    const auto yt = nice_ticks(have_pcc ? ymin - ypad : std::max(0.0, ymin - ypad), have_pcc ? std::min(1.0, ymax + ypad) : ymax + ypad, 5);
    Frame f{1000, 460, 80, 240, 20, 50, xt.front(), xt.back(), yt.front(), yt.back()};
    if (f.x1 <= f.x0) f.x1 = f.x0 + 1;
    if (f.y1 <= f.y0) f.y1 = f.y0 + 1e-6;
    const std::string ytitle = have_pcc ? "PCC vs reference (higher is better)" : "median latency, ms (lower is better)";
    o << svg_open(f.w, f.h, "trade-off scatter");
    axes(o, f, xt, yt, "FPS: device-modelled where the device reports it, else measured (higher is better)", ytitle);
    // Labels: placed right of the point, nudged down when they would overlap the previous label at a similar height.
    std::vector<std::pair<double, double>> placed;
    for (size_t k = 0; k < idx.size(); ++k) {
        const size_t i = idx[k];
        const double x = f.px(headline_fps(runs[i].report)), y = f.py(yv(i));
        o << "<circle cx=\"" << x << "\" cy=\"" << y << "\" r=\"6\" fill=\"" << color(k) << "\"><title>"
          << xml_escape(runs[i].label) << "</title></circle>";
        // Nearest free slot above or below (0, -13, +13, -26, ...), with a leader line when the label moved.
        double ly = y + 4;
        for (int step = 0; step < 24; ++step) {
            const double cand = y + 4 + 13.0 * ((step + 1) / 2) * (step % 2 ? -1 : 1);
            if (cand < f.top + 8 || cand > f.h - f.bottom - 2) continue;
            bool clash = false;
            for (const auto& [px, py] : placed)
                if (std::fabs(px - x) < 190 && std::fabs(py - cand) < 12) clash = true;
            if (!clash) {
                ly = cand;
                break;
            }
        }
        placed.emplace_back(x, ly);
        if (std::fabs(ly - (y + 4)) > 1)
            o << "<line x1=\"" << x + 5 << "\" y1=\"" << y << "\" x2=\"" << x + 9 << "\" y2=\"" << ly - 4 << "\" stroke=\"#999\"/>";
        o << "<text class=\"pt\" x=\"" << x + 9 << "\" y=\"" << ly << "\" fill=\"" << color(k) << "\">" << xml_escape(short_label(runs[i], 38))
          << "</text>";
    }
    o << "</svg>";
    if (!have_pcc) o << "<p class=\"note\">Fewer than two timed runs have a PCC (sweep with <code>reference: cpu</code> to get them): median latency is plotted against throughput instead.</p>";
    return o.str();
}

// Throughput bars, one per timed run, with median / p99 latency written beside.
std::string throughput_bars(const std::vector<HtmlRun>& runs) {
    std::vector<size_t> idx;
    for (size_t i = 0; i < runs.size(); ++i)
        if (timed(runs[i])) idx.push_back(i);
    if (idx.empty()) return "<p class=\"note\">No timed runs.</p>";
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
        return headline_fps(runs[a].report) > headline_fps(runs[b].report);
    });
    double xmax = 0;
    for (size_t i : idx) xmax = std::max(xmax, headline_fps(runs[i].report));
    const auto xt = nice_ticks(0, xmax * 1.05, 6);
    const double row = 24;
    Frame f{1000, 70 + row * static_cast<double>(idx.size()), 300, 300, 10, 50, 0, xt.back(), 0, 1};
    std::ostringstream o;
    o << svg_open(f.w, f.h, "throughput per run");
    axes(o, f, xt, {}, "FPS: device-modelled where reported, else measured images/s", "");
    for (size_t k = 0; k < idx.size(); ++k) {
        const json& r = runs[idx[k]].report;
        const double fps = headline_fps(r);
        const double y = f.top + row * static_cast<double>(k) + 4;
        o << "<text x=\"" << f.left - 8 << "\" y=\"" << y + 13 << "\" text-anchor=\"end\">" << xml_escape(short_label(runs[idx[k]], 48))
          << "</text>";
        o << "<rect x=\"" << f.left << "\" y=\"" << y << "\" width=\"" << std::max(1.0, f.px(fps) - f.left) << "\" height=\"" << row - 8
          << "\" fill=\"" << color(0) << "\"><title>" << xml_escape(runs[idx[k]].label) << "</title></rect>";
        o << "<text class=\"val\" x=\"" << f.px(fps) + 6 << "\" y=\"" << y + 13 << "\">" << num(fps, 1) << " img/s, median "
          << num(dval(r, {"latency_ms", "median"}), 2) << " ms, p99 " << num(dval(r, {"latency_ms", "p99"}), 2) << " ms</text>";
    }
    o << "</svg>";
    return o.str();
}

// Share of time by op type, one stacked bar per profiled run, and the slowest kernels of each.
std::string profile_section(const std::vector<HtmlRun>& runs) {
    std::vector<size_t> idx;
    for (size_t i = 0; i < runs.size(); ++i)
        if (!runs[i].report.is_null() && runs[i].report.contains("profile") && !runs[i].report["profile"].empty()) idx.push_back(i);
    if (idx.empty()) return "";
    std::ostringstream o;
    o << "<h2>Per-op duration breakdown</h2>";
    // Op types in order of total share over all profiled runs, for a stable legend.
    std::map<std::string, double> total_share;
    for (size_t i : idx)
        for (const auto& p : runs[i].report["profile"]) total_share[p.value("op_type", "?")] += p.value("share", 0.0);
    std::vector<std::pair<std::string, double>> types(total_share.begin(), total_share.end());
    std::sort(types.begin(), types.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    std::map<std::string, size_t> type_color;
    for (size_t k = 0; k < types.size(); ++k) type_color[types[k].first] = k;
    const double row = 26;
    Frame f{1000, 60 + row * static_cast<double>(idx.size()), 330, 40, 10, 44, 0, 100, 0, 1};
    o << svg_open(f.w, f.h, "share of time by op type");
    axes(o, f, nice_ticks(0, 100, 5), {}, "share of the summed op time, %", "");
    for (size_t k = 0; k < idx.size(); ++k) {
        const json& prof = runs[idx[k]].report["profile"];
        std::map<std::string, double> share;
        double sum_ms = 0;
        for (const auto& p : prof) {
            share[p.value("op_type", "?")] += p.value("share", 0.0);
            sum_ms += p.value("mean_ms", 0.0);
        }
        const double y = f.top + row * static_cast<double>(k) + 4;
        o << "<text x=\"" << f.left - 8 << "\" y=\"" << y + 13 << "\" text-anchor=\"end\">" << xml_escape(short_label(runs[idx[k]], 48))
          << "</text>";
        double acc = 0;
        for (const auto& [type, s] : types) {
            auto it = share.find(type);
            if (it == share.end() || it->second <= 0) continue;
            const double x0 = f.px(acc * 100), x1 = f.px((acc + it->second) * 100);
            o << "<rect x=\"" << x0 << "\" y=\"" << y << "\" width=\"" << std::max(0.5, x1 - x0) << "\" height=\"" << row - 8
              << "\" fill=\"" << color(type_color[type]) << "\"><title>" << xml_escape(type) << ": " << num(100 * it->second, 1) << "% of "
              << num(sum_ms, 3) << " ms</title></rect>";
            acc += it->second;
        }
    }
    o << "</svg><div class=\"legend\">";
    for (size_t k = 0; k < types.size(); ++k)
        o << "<span><i style=\"background:" << color(k) << "\"></i>" << xml_escape(types[k].first) << "</span>";
    o << "</div>";
    // The slowest kernels of the first few profiled runs.
    for (size_t n = 0; n < std::min<size_t>(idx.size(), 3); ++n) {
        const HtmlRun& run = runs[idx[n]];
        const json& prof = run.report["profile"];
        const size_t rows = std::min<size_t>(prof.size(), 15);
        double xmax = 0;
        for (size_t i = 0; i < rows; ++i) xmax = std::max(xmax, prof[i].value("mean_ms", 0.0));
        const auto xt = nice_ticks(0, xmax * 1.1, 5);
        Frame g{1000, 60 + 20 * static_cast<double>(rows), 300, 250, 10, 44, 0, xt.back(), 0, 1};
        const bool modelled = prof[0].value("modelled", false);
        o << "<h3>Slowest kernels: " << xml_escape(run.label) << (modelled ? " (modelled device time)" : " (measured host time)") << "</h3>";
        o << svg_open(g.w, g.h, "slowest kernels");
        axes(o, g, xt, {}, "mean time per batch, ms", "");
        for (size_t i = 0; i < rows; ++i) {
            const json& p = prof[i];
            const double y = g.top + 20 * static_cast<double>(i) + 3;
            const double ms = p.value("mean_ms", 0.0);
            o << "<text x=\"" << g.left - 8 << "\" y=\"" << y + 11 << "\" text-anchor=\"end\">"
              << xml_escape(p.value("node", "") + "  " + p.value("op_type", "")) << "</text>";
            o << "<rect x=\"" << g.left << "\" y=\"" << y << "\" width=\"" << std::max(0.5, g.px(ms) - g.left) << "\" height=\"14\" fill=\""
              << color(type_color[p.value("op_type", "?")]) << "\"/>";
            o << "<text class=\"val\" x=\"" << g.px(ms) + 5 << "\" y=\"" << y + 11 << "\">" << num(ms, 3) << " ms, "
              << num(100 * p.value("share", 0.0), 1) << "% (cum. " << num(100 * p.value("cumulative", 0.0), 1) << "%)</text>";
        }
        o << "</svg>";
    }
    return o.str();
}

std::string layer_pcc_section(const std::vector<HtmlRun>& runs) {
    std::ostringstream o;
    size_t shown = 0;
    for (const auto& run : runs) {
        if (run.report.is_null() || !run.report.contains("accuracy")) continue;
        const json& layers = run.report["accuracy"].value("layers", json::array());
        if (layers.empty()) continue;
        if (shown++ == 0) o << "<h2>Per-layer PCC (worst layers first)</h2>";
        if (shown > 4) break;
        const size_t rows = std::min<size_t>(layers.size(), 25);
        double lo = 1;
        for (size_t i = 0; i < rows; ++i)
            if (layers[i]["pcc"].is_number()) lo = std::min(lo, layers[i]["pcc"].get<double>());
        const auto xt = nice_ticks(std::max(-1.0, lo - (1 - lo) * 0.1 - 1e-6), 1.0, 5);
        Frame f{1000, 60 + 20 * static_cast<double>(rows), 330, 110, 10, 44, xt.front(), 1.0, 0, 1};
        o << "<h3>" << xml_escape(run.label) << " vs " << xml_escape(run.report["accuracy"].value("reference", "")) << ": output PCC "
          << num(dval(run.report, {"accuracy", "pcc"}, 0), 6) << ", " << layers.size() << " layers compared</h3>";
        o << svg_open(f.w, f.h, "per-layer PCC");
        axes(o, f, xt, {}, "PCC against the reference", "");
        for (size_t i = 0; i < rows; ++i) {
            const json& l = layers[i];
            const double y = f.top + 20 * static_cast<double>(i) + 3;
            const bool ok = l["pcc"].is_number();
            const double pcc = ok ? l["pcc"].get<double>() : f.x0;
            o << "<text x=\"" << f.left - 8 << "\" y=\"" << y + 11 << "\" text-anchor=\"end\">"
              << xml_escape(l.value("layer", "") + "  " + l.value("op", "")) << "</text>";
            o << "<rect x=\"" << f.left << "\" y=\"" << y << "\" width=\"" << std::max(0.5, f.px(pcc) - f.left) << "\" height=\"14\" fill=\""
              << (ok ? (pcc >= 0.99 ? "#2ca02c" : pcc >= 0.9 ? "#ff7f0e" : "#d62728") : "#000") << "\"/>";
            o << "<text class=\"val\" x=\"" << f.px(pcc) + 5 << "\" y=\"" << y + 11 << "\">" << (ok ? num(pcc, 6) : std::string("NaN"))
              << "</text>";
        }
        o << "</svg>";
    }
    return o.str();
}

std::string runs_table(const std::vector<HtmlRun>& runs) {
    std::ostringstream o;
    o << "<table><thead><tr><th>run</th><th>id</th><th>batch</th><th>host FPS (measured)</th><th>device FPS (modelled)</th>"
         "<th>host median ms</th><th>host p99 ms</th><th>CV %</th>"
         "<th>PCC</th><th>device metrics</th><th>result</th></tr></thead><tbody>";
    for (const auto& r : runs) {
        o << "<tr><td>" << xml_escape(r.label) << "</td><td><code>" << xml_escape(r.id.substr(0, 8)) << "</code></td>";
        if (r.report.is_null()) {
            o << "<td colspan=\"8\"></td><td class=\"bad\">ERROR: " << xml_escape(r.error) << "</td></tr>";
            continue;
        }
        const json& j = r.report;
        const bool t = timed(r);
        o << "<td>" << j["config"].value("batch", 0) << "</td>";
        o << "<td class=\"n\">" << (t ? num(j.value("throughput_fps", 0.0), 1) : "-") << "</td>";
        o << "<td class=\"n\">" << (modelled_fps(j) > 0 ? num(modelled_fps(j), 1) : "-") << "</td>";
        o << "<td class=\"n\">" << (t ? num(dval(j, {"latency_ms", "median"}), 3) : "-") << "</td>";
        o << "<td class=\"n\">" << (t ? num(dval(j, {"latency_ms", "p99"}), 3) : "-") << "</td>";
        o << "<td class=\"n\">" << (t ? num(100 * dval(j, {"latency_ms", "cv"}), 1) : "-") << "</td>";
        const double pcc = dval(j, {"accuracy", "pcc"});
        o << "<td class=\"n\">" << (std::isfinite(pcc) ? num(pcc, 6) : "-") << "</td><td>";
        if (j.contains("device_metrics"))
            for (auto it = j["device_metrics"].begin(); it != j["device_metrics"].end(); ++it)
                o << xml_escape(it.key()) << " " << (it.value()["value"].is_number() ? num(it.value()["value"].get<double>(), 1) : "n/a") << " "
                  << xml_escape(it.value().value("unit", "")) << "<br/>";
        const bool valid = j.value("result", "") == "VALID";
        o << "</td><td class=\"" << (valid ? "good" : "bad") << "\">" << xml_escape(j.value("result", "?"));
        for (const auto& reason : j.value("invalid_reasons", json::array())) o << " (" << xml_escape(reason.get<std::string>()) << ")";
        o << "</td></tr>";
    }
    o << "</tbody></table>";
    return o.str();
}

}  // namespace

std::vector<HtmlRun> html_runs_from_records(const std::vector<json>& records, const std::string& source) {
    std::vector<HtmlRun> runs;
    for (size_t i = 0; i < records.size(); ++i) {
        const json& rec = records[i];
        HtmlRun r;
        if (rec.contains("run_id")) {  // a sweep record
            r.id = rec.value("run_id", "");
            r.label = rec.value("label", r.id);
            if (rec.value("status", "") == "ok" && rec.contains("report"))
                r.report = rec["report"];
            else
                r.error = rec.value("error", "failed");
        } else if (rec.contains("schema")) {  // a bare report
            r.report = rec;
            r.id = source;
            r.label = rec["model"].value("name", "?") + "/" + rec["model"].value("variant", "?") + " " + rec["device"].value("name", "?") +
                      " b" + std::to_string(rec["config"].value("batch", 0));
            for (const auto& s : rec["config"].value("sets", json::array())) r.label += " " + s.get<std::string>();
        } else {
            continue;
        }
        runs.push_back(std::move(r));
    }
    // Charts label points by what differs: drop the words every label shares ("mobilenetv3/large wormhole b1 ...").
    auto words = [](const std::string& text) {
        std::vector<std::string> out;
        std::istringstream in(text);
        for (std::string w; in >> w;) out.push_back(w);
        return out;
    };
    if (runs.size() > 1) {
        std::vector<std::string> common = words(runs[0].label);
        for (const auto& r : runs) {
            const auto w = words(r.label);
            common.erase(std::remove_if(common.begin(), common.end(),
                                        [&](const std::string& c) { return std::find(w.begin(), w.end(), c) == w.end(); }),
                         common.end());
        }
        for (auto& r : runs) {
            for (const auto& w : words(r.label))
                if (std::find(common.begin(), common.end(), w) == common.end()) r.short_name += (r.short_name.empty() ? "" : " ") + w;
        }
    }
    return runs;
}

std::string render_html_report(const std::vector<HtmlRun>& runs, const std::string& title) {
    std::ostringstream o;
    o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>" << xml_escape(title) << "</title><style>"
      << "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px 32px;color:#222;max-width:1100px}"
      << "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}"
      << "h3{font-size:14px;margin:16px 0 4px;font-weight:600}.meta{color:#666;font-size:13px}"
      << "table{border-collapse:collapse;font-size:12px;margin-top:6px}td,th{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}"
      << "th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}.good{color:#1a7f37;font-weight:600}"
      << ".bad{color:#c62828;font-weight:600}.note{color:#666;font-size:13px}"
      << "svg{display:block;margin:6px 0;font-size:11px}svg text{fill:#333}svg .title{font-size:12px;fill:#444}"
      << "svg .grid{stroke:#e6e6e6}svg .frame{stroke:#888}svg .pt{font-size:11px}svg .val{fill:#555}"
      << ".legend span{display:inline-block;margin:0 14px 4px 0;font-size:12px}.legend i{display:inline-block;width:11px;height:11px;"
      << "margin-right:5px;vertical-align:-1px}</style></head><body>";
    o << "<h1>" << xml_escape(title) << "</h1>";
    std::string commit, host;
    size_t ok = 0;
    for (const auto& r : runs) {
        if (r.report.is_null()) continue;
        ++ok;
        if (r.report.contains("provenance")) {
            commit = r.report["provenance"].value("git_commit", "");
            host = r.report["provenance"].value("host_cpu", "") + ", " + std::to_string(r.report["provenance"].value("host_cores", 0)) +
                   " hardware threads";
        }
    }
    std::time_t now = std::time(nullptr);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
    o << "<p class=\"meta\">" << runs.size() << " runs (" << ok << " completed, " << runs.size() - ok << " failed)";
    if (!commit.empty()) o << " &#183; commit <code>" << xml_escape(commit) << "</code>";
    if (!host.empty()) o << " &#183; " << xml_escape(host);
    o << " &#183; rendered " << when << "</p>";

    o << "<h2>Trade-off</h2>" << scatter(runs);
    o << "<h2>Throughput and latency per run</h2>" << throughput_bars(runs);
    o << profile_section(runs);
    o << layer_pcc_section(runs);
    o << "<h2>All runs</h2>" << runs_table(runs);
    o << "</body></html>\n";
    return o.str();
}

}  // namespace zoo::runner
