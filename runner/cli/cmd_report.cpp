// `runner report RESULTS.jsonl|REPORT.json ... --html out.html`: one self-contained page for a sweep or a few runs.
#include <boost/filesystem.hpp>
#include <fstream>
#include <iostream>

#include "cli/commands.hpp"
#include "report/html_report.hpp"
#include "report/report.hpp"
#include "sweep/sweep.hpp"

namespace zoo::runner::cli {

void add_report_options(CLI::App& app, ReportOptions& o) {
    app.add_option("inputs", o.inputs, "Sweep results (.jsonl) and/or run reports (.json)")->required()->check(CLI::ExistingFile);
    app.add_option("--html", o.html, "Write the HTML page here")->required();
    app.add_option("--title", o.title, "Page title (default: the first input's name)");
}

int run_report(const ReportOptions& o) {
    std::vector<HtmlRun> runs;
    for (const auto& path : o.inputs) {
        std::vector<nlohmann::json> records;
        if (boost::filesystem::path(path).extension() == ".jsonl") {
            auto r = read_results(path);
            if (!r) return fail(r.status());
            records = std::move(r).value();
        } else {
            std::ifstream in(path);
            try {
                records.push_back(nlohmann::json::parse(in));
            } catch (const std::exception& e) {
                return fail(Status::error(path + ": invalid JSON: " + e.what()));
            }
        }
        // A hand-edited or foreign file may lack fields the page reads: an error naming the file, never an abort.
        try {
            auto more = html_runs_from_records(records, boost::filesystem::path(path).filename().string());
            runs.insert(runs.end(), more.begin(), more.end());
        } catch (const std::exception& e) {
            return fail(Status::error(path + ": not a runner report or sweep results file (" + e.what() + ")"));
        }
    }
    if (runs.empty()) return fail(Status::error("no runs found in the inputs (expected sweep records or run reports)"));
    const std::string title = o.title.empty() ? "runner report: " + boost::filesystem::path(o.inputs.front()).stem().string() : o.title;
    std::ofstream out(o.html);
    if (!out) return fail(Status::error(o.html + ": cannot write"));
    try {
        out << render_html_report(runs, title);
    } catch (const std::exception& e) {
        return fail(Status::error("cannot render the report: a run lacks a field (" + std::string(e.what()) + ")"));
    }
    out.close();
    if (!out) return fail(Status::error(o.html + ": write failed"));
    std::cout << "Wrote " << o.html << " (" << runs.size() << " runs)\n";
    return kExitOk;
}

}  // namespace zoo::runner::cli
