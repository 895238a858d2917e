// `runner diff A.json B.json`: configuration and metric changes between two reports.
#include <iostream>

#include "cli/commands.hpp"
#include "report/diff.hpp"
#include "report/report.hpp"

namespace zoo::runner::cli {

void add_diff_options(CLI::App& app, DiffOptions& o) {
    app.add_option("a", o.a, "Baseline report (.json from run --report, or a results .jsonl: its first run)")
        ->required()->check(CLI::ExistingFile);
    app.add_option("b", o.b, "Report compared with the baseline")->required()->check(CLI::ExistingFile);
}

int run_diff(const DiffOptions& o) {
    auto a = read_report(o.a);
    if (!a) return fail(a.status());
    auto b = read_report(o.b);
    if (!b) return fail(b.status());
    // A report edited by hand (or of another schema) may lack any field; nlohmann throws then, which must not abort.
    try {
        std::cout << diff_reports(*a, *b, o.a, o.b).text;
    } catch (const std::exception& e) {
        return fail(Status::error(o.a + " vs " + o.b + ": a report lacks a field the diff reads (" + e.what() + ")"));
    }
    return kExitOk;
}

}  // namespace zoo::runner::cli
