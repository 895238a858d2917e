// `runner sweep EXPERIMENT.yaml`: expand, skip what the results file already has, run the rest, print a sorted table.
//
// Concurrency: a run that measures host time (iterations or time > 0) competes for the cores with any other run, so by
// default timing runs go one at a time; accuracy-only runs (iterations: 0) measure nothing and run in parallel on TBB.
// --jobs N runs N at a time regardless (each record says how many ran concurrently, so skewed timings are visible).
#include <tbb/parallel_for_each.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <atomic>
#include <boost/filesystem.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli/commands.hpp"
#include "core/data_paths.hpp"
#include "report/report.hpp"
#include "sweep/sweep.hpp"

namespace zoo::runner::cli {

void add_sweep_options(CLI::App& app, SweepOptions& o) {
    app.add_option("experiment", o.experiment, "Experiment YAML (yaml/experiments/...)")->required()->transform(data_file());
    app.add_option("--results", o.results, "JSONL results file, appended and resumed (default: <experiment name>.jsonl)");
    app.add_option("--jobs", o.jobs, "Runs at a time (default 0: timing runs serial, accuracy-only runs in parallel)")
        ->check(non_negative());
    app.add_option("--sort", o.sort, "Sort the final table by fps (desc), pcc (desc) or latency (asc)")
        ->check(CLI::IsMember({"fps", "pcc", "latency"}))
        ->capture_default_str();
    app.add_flag("--dry-run", o.dry_run, "List the runs (ids, parameters, done or pending) and exit");
    app.add_flag("!--no-progress-bar", o.progress_bar, "Plain progress lines even on a terminal");
}

namespace {

std::string clock_text(double seconds) {
    if (!(seconds >= 0) || seconds > 1e7) return "--:--";
    const long s = static_cast<long>(seconds + 0.5);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

class Progress {
public:
    Progress(size_t total, bool bar) : m_total(total), m_bar(bar), m_start(std::chrono::steady_clock::now()) {}

    // Called after each finished run (never inside a run's timed loop).
    void finished(const SweepRun& run, const nlohmann::json& record) {
        std::lock_guard<std::mutex> lock(m_mutex);
        ++m_done;
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
        const double eta = elapsed / static_cast<double>(m_done) * static_cast<double>(m_total - m_done);
        std::string outcome;
        if (record.value("status", "") != "ok") {
            outcome = "ERROR " + record.value("error", "");
        } else {
            const auto& r = record["report"];
            outcome = r.value("result", "?");
            if (r["latency_ms"].value("count", 0) > 0) outcome += ", host " + fixed(r.value("throughput_fps", 0.0), 1) + " FPS (measured)";
            if (modelled_fps(r) > 0) outcome += ", device " + fixed(modelled_fps(r), 1) + " FPS (modelled)";
            if (r.contains("accuracy") && r["accuracy"]["pcc"].is_number()) outcome += ", PCC " + fixed(r["accuracy"]["pcc"].get<double>(), 5);
        }
        if (m_bar) {
            const int width = 30;
            const int filled = static_cast<int>(width * m_done / std::max<size_t>(m_total, 1));
            std::string bar(static_cast<size_t>(filled), '#');
            bar += std::string(static_cast<size_t>(width - filled), '.');
            // The finished run as a line that stays, then the bar redrawn under it.
            std::fprintf(stderr, "\r\033[K  %s  %s: %s\n", run.id.substr(0, 8).c_str(), run.label.c_str(), outcome.c_str());
            std::fprintf(stderr, "[%s] %zu/%zu  elapsed %s  ETA %s", bar.c_str(), m_done, m_total, clock_text(elapsed).c_str(),
                         clock_text(eta).c_str());
            if (m_done == m_total) std::fprintf(stderr, "\n");
        } else {
            std::fprintf(stderr, "[%zu/%zu] %s %s: %s (elapsed %s, ETA %s)\n", m_done, m_total, run.id.substr(0, 8).c_str(),
                         run.label.c_str(), outcome.c_str(), clock_text(elapsed).c_str(), clock_text(eta).c_str());
        }
        std::fflush(stderr);
    }

private:
    std::mutex m_mutex;
    size_t m_total, m_done = 0;
    bool m_bar;
    std::chrono::steady_clock::time_point m_start;
};

}  // namespace

namespace {

// Records from earlier sessions may have been edited by hand; a record lacking a field must not abort the sweep.
std::string sweep_table_or_error(const std::vector<nlohmann::json>& records, const std::string& sort) {
    try {
        return sweep_table(records, sort);
    } catch (const std::exception& e) {
        return "(no table: a record of the results file lacks a field: " + std::string(e.what()) + ")\n";
    }
}

}  // namespace

int run_sweep(const std::vector<std::string>& plugin_dirs, const SweepOptions& o) {
    auto ex = load_experiment(o.experiment);
    if (!ex) return fail(ex.status());
    const std::vector<SweepRun> runs = expand_experiment(*ex);
    const std::string results_path = o.results.empty() ? ex->name + ".jsonl" : o.results;

    // Every run's request is checked before anything runs: a typo in run 17 must not surface after an hour.
    std::vector<RunRequest> requests;
    for (const auto& run : runs) {
        auto rq = request_for(run.params);
        if (!rq) return fail(rq.status().with_context(o.experiment + ": run " + run.id + " (" + run.label + ")"));
        rq->command_line = command_line();
        requests.push_back(std::move(rq).value());
    }

    auto file = ResultsFile::open(results_path);
    if (!file) return fail(file.status());
    if (file->truncated_bytes() > 0)
        std::cerr << "note: " << results_path << ": dropped a torn last line (" << file->truncated_bytes()
                  << " bytes, a run killed while being recorded); that run runs again\n";
    if (file->corrupt_lines() > 0)
        std::cerr << "warning: " << results_path << ": " << file->corrupt_lines() << " corrupt line(s) ignored\n";

    std::vector<size_t> timing, accuracy_only;
    size_t already = 0;
    for (size_t i = 0; i < runs.size(); ++i) {
        if (file->has(runs[i].id)) {
            ++already;
            continue;
        }
        (is_timing_run(requests[i]) ? timing : accuracy_only).push_back(i);
    }
    std::cout << "Sweep " << ex->name << ": " << runs.size() << " runs (" << ex->axes.size() << " axes"
              << (ex->runs.empty() ? "" : " + " + std::to_string(ex->runs.size()) + " listed") << "), " << already
              << " already in " << results_path << ", " << timing.size() + accuracy_only.size() << " to run";
    if (!ex->description.empty()) std::cout << "\n  " << ex->description;
    std::cout << "\n";

    if (o.dry_run) {
        for (size_t i = 0; i < runs.size(); ++i) {
            std::cout << "  " << runs[i].id << "  " << (file->has(runs[i].id) ? "done   " : "pending") << "  " << runs[i].label << "\n";
        }
        return kExitOk;
    }

    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    const int timing_jobs = o.jobs > 0 ? o.jobs : 1;
    const int accuracy_jobs = o.jobs > 0 ? o.jobs : static_cast<int>(hw);
    if (o.jobs > 1 && !timing.empty())
        std::cerr << "warning: --jobs " << o.jobs << " runs timing runs concurrently: their host timings compete for "
                  << hw << " hardware threads (each record notes concurrent_runs)\n";

    PluginRegistry registry = PluginRegistry::discover(plugin_search_dirs(plugin_dirs));
    Progress progress(timing.size() + accuracy_only.size(), o.progress_bar && ::isatty(::fileno(stderr)));
    std::atomic<bool> write_failed{false};
    std::string write_error;
    std::mutex error_mutex;

    auto execute = [&](size_t i, int concurrency) {
        if (write_failed) return;
        const auto start = std::chrono::steady_clock::now();
        Result<RunResult> result = Status::error("not run");
        try {
            result = run_job(registry, requests[i]);
        } catch (const std::exception& e) {
            result = Status::error(std::string("unexpected exception: ") + e.what());
        }
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        nlohmann::json record = sweep_record(ex->name, runs[i], result, elapsed, concurrency);
        Status s = file->append(record);
        if (!s) {
            std::lock_guard<std::mutex> lock(error_mutex);
            write_failed = true;
            write_error = s.message();
            return;
        }
        progress.finished(runs[i], record);
    };
    auto run_group = [&](const std::vector<size_t>& group, int jobs) {
        if (group.empty()) return;
        if (jobs <= 1) {
            for (size_t i : group) execute(i, 1);
            return;
        }
        tbb::task_arena arena(jobs);
        arena.execute([&] { tbb::parallel_for_each(group.begin(), group.end(), [&](size_t i) { execute(i, jobs); }); });
    };
    run_group(accuracy_only, accuracy_jobs);
    run_group(timing, timing_jobs);
    if (write_failed) return fail(Status::error(write_error));

    // The table covers every run of this experiment that the file holds (this session's and earlier ones).
    std::vector<nlohmann::json> mine;
    for (const auto& run : runs)
        for (const auto& rec : file->records())
            if (rec.value("run_id", "") == run.id) mine.push_back(rec);
    std::cout << "\nResults (" << mine.size() << " runs, sorted by " << o.sort << "), " << results_path << ":\n"
              << sweep_table_or_error(mine, o.sort);
    size_t errors = 0, invalid = 0;
    for (const auto& rec : mine) {
        if (rec.value("status", "") != "ok")
            ++errors;
        else if (rec["report"].value("result", "") != "VALID")
            ++invalid;
    }
    if (errors || invalid) std::cout << errors << " run(s) failed, " << invalid << " INVALID\n";
    return errors ? kExitError : invalid ? kExitInvalid : kExitOk;
}

}  // namespace zoo::runner::cli
