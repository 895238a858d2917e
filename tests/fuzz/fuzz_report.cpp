// The report readers of `runner diff` and `runner report`: read_report (.json and .jsonl), read_results, diff and
// the sweep table over what they read.
#include <unistd.h>

#include <fstream>
#include <string>

#include "report/diff.hpp"
#include "report/html_report.hpp"
#include "report/report.hpp"
#include "sweep/sweep.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::string base = "/tmp/zoo_fuzz_report_" + std::to_string(::getpid());
    for (const char* ext : {".json", ".jsonl"}) {
        const std::string path = base + ext;
        {
            std::ofstream out(path, std::ios::binary | std::ios::trunc);
            out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
        }
        auto report = zoo::runner::read_report(path);
        if (report) {
            // cmd_diff catches what a report lacking fields throws (JSON_ASSERT throws: see runner/CMakeLists.txt);
            // the fuzzer looks for everything else.
            try {
                (void)zoo::runner::diff_reports(*report, *report, "a", "b");
            } catch (const std::exception&) {
            }
        }
        auto records = zoo::runner::read_results(path);
        if (records) {
            // As `runner sweep` and `runner report` do with them (both catch what a record lacking fields throws).
            try {
                (void)zoo::runner::sweep_table(*records, "fps");
            } catch (const std::exception&) {
            }
            try {
                (void)zoo::runner::render_html_report(zoo::runner::html_runs_from_records(*records, "fuzz"), "fuzz");
            } catch (const std::exception&) {
            }
        }
    }
    return 0;
}
