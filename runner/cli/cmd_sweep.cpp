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
#include <fstream>
#include <map>
#include <set>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "cli/commands.hpp"
#include "core/data_paths.hpp"
#include "zoo/tsan.hpp"
#include "report/report.hpp"
#include "sweep/slurm_launcher.hpp"
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
    app.add_option("--launcher", o.launcher, "Where runs execute: local (this process) or slurm (one sbatch job array)")
        ->check(CLI::IsMember({"local", "slurm"}))
        ->capture_default_str();
    app.add_option("--shards", o.shards, "slurm: array tasks (default: from --runs-per-task, else one task per run)");
    app.add_option("--runs-per-task", o.runs_per_task, "slurm: runs per array task (ignored with --shards)");
    app.add_option("--partition", o.partition, "slurm: partition to submit to");
    app.add_option("--time", o.time_limit, "slurm: time limit per array task (sbatch --time)");
    app.add_option("--cpus-per-task", o.cpus_per_task, "slurm: cores per array task")->check(CLI::PositiveNumber)->capture_default_str();
    app.add_option("--sbatch-arg", o.sbatch_args, "slurm: extra sbatch argument, repeatable (--sbatch-arg=--qos=low)");
    app.add_flag("--wait", o.wait, "slurm: follow the array until it ends, then merge and print the table");
    app.add_flag("--merge", o.merge, "Fold the part files beside the results file into it (each run once) and exit");
    app.add_flag("--allow-mixed-builds", o.allow_mixed_builds, "Merge records made by different runner builds");
    app.add_option("--shard", o.shard, "Run only shard K/N of the pending runs into a part file (what each array task runs)");
    app.add_option("--run-ids", o.run_ids_file, "With --shard: split these run ids (one a line) instead of the pending runs");
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

namespace {

struct Sweep {
    Experiment ex;
    std::vector<SweepRun> runs;
    std::vector<RunRequest> requests;
    std::map<std::string, size_t> index_of;  // run id -> position in runs
    std::string results_path;
};

// Runs the given runs into `sink`, timing runs one at a time unless --jobs says otherwise (see the file comment).
Status execute_runs(const std::vector<std::string>& plugin_dirs, const SweepOptions& o, const Sweep& sw,
                    const std::vector<size_t>& todo, ResultsFile& sink) {
    std::vector<size_t> timing, accuracy_only;
    for (size_t i : todo) (is_timing_run(sw.requests[i]) ? timing : accuracy_only).push_back(i);
    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    const int timing_jobs = o.jobs > 0 ? o.jobs : 1;
    const int accuracy_jobs = o.jobs > 0 ? o.jobs : static_cast<int>(hw);
    if (o.jobs > 1 && !timing.empty())
        std::cerr << "warning: --jobs " << o.jobs << " runs timing runs concurrently: their host timings compete for "
                  << hw << " hardware threads (each record notes concurrent_runs)\n";

    PluginRegistry registry = PluginRegistry::discover(plugin_search_dirs(plugin_dirs));
    Progress progress(todo.size(), o.progress_bar && ::isatty(::fileno(stderr)));
    std::atomic<bool> write_failed{false};
    std::string write_error;
    std::mutex error_mutex;

    auto execute = [&](size_t i, int concurrency) {
        if (write_failed) return;
        const auto start = std::chrono::steady_clock::now();
        Result<RunResult> result = Status::error("not run");
        try {
            result = run_job(registry, sw.requests[i]);
        } catch (const std::exception& e) {
            result = Status::error(std::string("unexpected exception: ") + e.what());
        }
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        nlohmann::json record = sweep_record(sw.ex.name, sw.runs[i], result, elapsed, concurrency);
        Status s = sink.append(record);
        if (!s) {
            std::lock_guard<std::mutex> lock(error_mutex);
            write_error = s.message();
            write_failed = true;  // after the message: a thread that sees the flag set may read it
            return;
        }
        progress.finished(sw.runs[i], record);
    };
    auto run_group = [&](const std::vector<size_t>& group, int jobs) {
        if (group.empty()) return;
        if (jobs <= 1) {
            for (size_t i : group) execute(i, 1);
            return;
        }
        // TBB hands each run to a worker and waits for the last one inside libtbb, where ThreadSanitizer cannot see
        // it: declare those two edges (zoo/tsan.hpp; nothing outside a TSan build). Runs stay unordered.
        const char fork_edge = 0, join_edge = 0;
        const auto run_one = [&](size_t i) {
            execute(i, jobs);
            tsan::release(&join_edge);
        };
        tsan::release(&fork_edge);
        tbb::task_arena arena(jobs);
        tsan::tbb_call([&] {
            arena.execute([&] { tbb::parallel_for_each(group.begin(), group.end(), tsan::AfterHandover(&fork_edge, run_one)); });
        });
        tsan::acquire(&join_edge);
    };
    run_group(accuracy_only, accuracy_jobs);
    run_group(timing, timing_jobs);
    if (write_failed) return Status::error(write_error);
    return Status::ok();
}

// The table of the given runs' records and the exit code they mean.
int print_table(const Sweep& sw, const std::vector<nlohmann::json>& records, const std::string& where, const std::string& sort,
                const std::vector<size_t>& which) {
    std::vector<nlohmann::json> mine;
    for (size_t i : which)
        for (const auto& rec : records)
            if (rec.value("run_id", "") == sw.runs[i].id) {
                mine.push_back(rec);
                break;
            }
    std::cout << "\nResults (" << mine.size() << " runs, sorted by " << sort << "), " << where << ":\n"
              << sweep_table_or_error(mine, sort);
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

std::vector<size_t> all_of(const Sweep& sw) {
    std::vector<size_t> v(sw.runs.size());
    for (size_t i = 0; i < v.size(); ++i) v[i] = i;
    return v;
}

// Opens a results or part file, saying so when another process holds its lock (ResultsFile::open waits a bounded time).
Result<ResultsFile> open_results(const std::string& path) {
    return ResultsFile::open(path, kResultsLockWait, [&](const std::string& holder) {
        std::cerr << "note: " << path << " is locked by " << holder << "; waiting up to "
                  << std::chrono::duration_cast<std::chrono::seconds>(kResultsLockWait).count() << " s for it\n";
    });
}

void report_open_notes(const ResultsFile& file) {
    if (file.truncated_bytes() > 0)
        std::cerr << "note: " << file.path() << ": dropped a torn last line (" << file.truncated_bytes()
                  << " bytes, a run killed while being recorded); that run runs again\n";
    if (file.corrupt_lines() > 0) std::cerr << "warning: " << file.path() << ": " << file.corrupt_lines() << " corrupt line(s) ignored\n";
}

Result<MergeSummary> merge_and_say(ResultsFile& file, bool allow_mixed) {
    auto m = merge_parts(file, allow_mixed);
    if (!m) return m;
    if (m->parts > 0) {
        std::cout << "Merged " << m->parts << " part file(s) into " << file.path() << ": " << m->added << " run(s) added, "
                  << m->duplicates << " duplicate record(s) skipped";
        if (m->torn_lines) std::cout << ", " << m->torn_lines << " torn last line(s) dropped";
        if (m->corrupt_lines) std::cout << ", " << m->corrupt_lines << " corrupt line(s) ignored";
        if (m->in_use) std::cout << ", " << m->in_use << " part(s) still being written (kept)";
        std::cout << "\n";
    }
    if (m->builds.size() > 1) std::cout << "warning: the results mix " << m->builds.size() << " runner builds (--allow-mixed-builds)\n";
    return m;
}

// `--shard K/N`: this process's share of the pending runs, into its own part file. Never locks the results file
// (a merge may hold it); reads it only to skip what is already done.
int run_shard(const std::vector<std::string>& plugin_dirs, const SweepOptions& o, const Sweep& sw) {
    auto shard = parse_shard(o.shard);
    if (!shard) return fail(shard.status());
    std::vector<std::string> ids;
    if (!o.run_ids_file.empty()) {
        std::ifstream in(o.run_ids_file);
        if (!in) return fail(Status::error(o.run_ids_file + ": cannot read the run ids"));
        size_t line_no = 0;
        for (std::string line; std::getline(in, line);) {
            ++line_no;
            if (line.empty()) continue;
            if (!sw.index_of.count(line))
                return fail(Status::error(o.run_ids_file + ":" + std::to_string(line_no) + ": run id '" + line + "' is not a run of " +
                                          sw.ex.path + " (was the experiment edited after submission?)"));
            ids.push_back(line);
        }
    } else {
        std::set<std::string> done;
        if (boost::filesystem::exists(sw.results_path)) {
            auto c = read_part(sw.results_path);
            if (!c) return fail(c.status());
            for (const auto& r : c->records) done.insert(r["run_id"].get<std::string>());
        }
        for (const auto& run : sw.runs)
            if (!done.count(run.id)) ids.push_back(run.id);
    }
    const std::vector<std::string> mine = shard_ids(ids, *shard);
    const char* job = std::getenv("SLURM_ARRAY_JOB_ID");
    const std::string tag = job ? std::string(job) + "_" + std::to_string(shard->index)
                                : "local_" + std::to_string(shard->index) + "of" + std::to_string(shard->count);
    auto part = open_results(part_path(sw.results_path, tag));
    if (!part) return fail(part.status());
    report_open_notes(*part);
    std::vector<size_t> todo, which;
    for (const auto& id : mine) {
        const size_t i = sw.index_of.at(id);
        which.push_back(i);
        if (!part->has(id)) todo.push_back(i);
    }
    std::cout << "Sweep " << sw.ex.name << " shard " << shard->index << "/" << shard->count << ": " << mine.size() << " of "
              << ids.size() << " runs, " << mine.size() - todo.size() << " already in " << part->path() << ", " << todo.size()
              << " to run\n";
    if (o.dry_run) {
        for (size_t i : which) std::cout << "  " << sw.runs[i].id << "  " << sw.runs[i].label << "\n";
        return kExitOk;
    }
    Status s = execute_runs(plugin_dirs, o, sw, todo, *part);
    if (!s) return fail(s);
    return print_table(sw, part->records(), part->path(), o.sort, which);
}

std::string absolute(const std::string& p) { return boost::filesystem::absolute(p).lexically_normal().string(); }

std::string executable_path() {
    boost::system::error_code ec;
    const auto p = boost::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : p.string();
}

// The array's job script, its run-id list and its log folder, beside the results file (absolute paths: the tasks
// start in Slurm's working directory, not ours).
SlurmArraySpec array_spec(const std::vector<std::string>& plugin_dirs, const SweepOptions& o, const Sweep& sw, size_t tasks) {
    SlurmArraySpec spec;
    spec.job_name = "sweep-" + sw.ex.name;
    spec.runner = executable_path();
    for (const auto& d : plugin_dirs) spec.plugin_dirs.push_back(absolute(d));
    spec.experiment = absolute(sw.ex.path);
    spec.results = absolute(sw.results_path);
    const std::string stamp = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 std::chrono::system_clock::now().time_since_epoch()).count());
    spec.log_dir = spec.results + ".slurm";
    spec.script_path = spec.log_dir + "/array-" + stamp + ".sh";
    spec.run_ids_file = spec.log_dir + "/array-" + stamp + ".ids";
    spec.tasks = tasks;
    spec.cpus_per_task = o.cpus_per_task;
    spec.jobs = o.jobs;
    spec.partition = o.partition;
    spec.time_limit = o.time_limit;
    spec.extra_sbatch_args = o.sbatch_args;
    return spec;
}

// Follows a submitted array until squeue no longer lists it: new records in its part files (or in the results file,
// where a `--merge` by hand meanwhile moves them) drive the progress bar. Prints how the tasks ended.
void follow_array(const Sweep& sw, const SweepOptions& o, const std::string& job, const std::vector<std::string>& pending,
                  std::chrono::steady_clock::time_point submitted_at) {
    Progress progress(pending.size(), o.progress_bar && ::isatty(::fileno(stderr)));
    std::set<std::string> wanted(pending.begin(), pending.end()), reported;
    auto poll_parts = [&] {
        std::vector<std::string> sources = part_files(sw.results_path, job + "_");
        sources.push_back(sw.results_path);
        for (const auto& path : sources) {
            auto c = read_part(path);
            if (!c) continue;
            for (const auto& rec : c->records) {
                const std::string id = rec["run_id"].get<std::string>();
                if (wanted.count(id) && reported.insert(id).second) progress.finished(sw.runs[sw.index_of.at(id)], rec);
            }
        }
    };
    while (slurm_active_tasks(job) > 0) {
        poll_parts();
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    poll_parts();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - submitted_at).count();
    std::string states;
    for (const auto& [state, n] : slurm_task_states(job)) states += (states.empty() ? "" : ", ") + std::to_string(n) + " " + state;
    std::cout << "Job array " << job << " ended after " << fixed(wall, 1) << " s: " << (states.empty() ? "task states unknown" : states)
              << "\n";
}

// After the array: reopen the results (a hand merge may have changed them), fold the parts in, print the table; exit 1
// naming how many runs are still missing, which the same command resubmits.
int merge_after_array(const SweepOptions& o, const Sweep& sw, std::optional<ResultsFile>& opened) {
    auto reopened = open_results(sw.results_path);
    if (!reopened) return fail(reopened.status());
    opened.emplace(std::move(reopened).value());
    report_open_notes(*opened);
    auto merged = merge_and_say(*opened, o.allow_mixed_builds);
    if (!merged) return fail(merged.status());
    size_t missing = 0;
    for (const auto& run : sw.runs) missing += !opened->has(run.id);
    const int code = print_table(sw, opened->records(), opened->path(), o.sort, all_of(sw));
    if (missing) {
        std::cout << missing << " run(s) missing: run the same command again to resubmit only those\n";
        return kExitError;
    }
    return code;
}

// `--launcher slurm`: merge what earlier arrays left, split the missing runs into one array, submit, maybe follow it.
int run_slurm(const std::vector<std::string>& plugin_dirs, const SweepOptions& o, const Sweep& sw, std::optional<ResultsFile>& opened) {
    ResultsFile& file = *opened;
    auto merged = merge_and_say(file, o.allow_mixed_builds);
    if (!merged) return fail(merged.status());
    std::vector<std::string> pending;
    for (const auto& run : sw.runs)
        if (!file.has(run.id)) pending.push_back(run.id);
    const size_t tasks = task_count(pending.size(), o.shards, o.runs_per_task);
    std::cout << "Sweep " << sw.ex.name << ": " << sw.runs.size() << " runs, " << sw.runs.size() - pending.size() << " already in "
              << file.path() << ", " << pending.size() << " to run as a Slurm array of " << tasks << " task(s)\n";
    if (pending.empty()) return print_table(sw, file.records(), file.path(), o.sort, all_of(sw));

    if (o.dry_run) {
        for (size_t k = 1; k <= tasks; ++k) {
            const auto ids = shard_ids(pending, {k, tasks});
            std::cout << "  task " << k << "/" << tasks << ": " << ids.size() << " run(s)\n";
            for (const auto& id : ids) std::cout << "    " << id << "  " << sw.runs[sw.index_of.at(id)].label << "\n";
        }
        return kExitOk;
    }
    auto max_array = slurm_max_array_size();
    if (!max_array) return fail(max_array.status());
    if (tasks > *max_array - 1)
        return fail(Status::error(std::to_string(tasks) + " array tasks exceed this cluster's MaxArraySize " + std::to_string(*max_array) +
                                  " (task ids 1.." + std::to_string(*max_array - 1) + "): use --runs-per-task " +
                                  std::to_string((pending.size() + *max_array - 2) / (*max_array - 1)) + " or more"));

    const SlurmArraySpec spec = array_spec(plugin_dirs, o, sw, tasks);
    boost::system::error_code ec;
    boost::filesystem::create_directories(spec.log_dir, ec);
    {
        std::ofstream ids(spec.run_ids_file);
        for (const auto& id : pending) ids << id << "\n";
        if (!ids) return fail(Status::error(spec.run_ids_file + ": cannot write the run ids"));
    }
    const auto submitted_at = std::chrono::steady_clock::now();
    auto job = slurm_submit(spec);
    if (!job) return fail(job.status());
    std::cout << "Submitted job array " << *job << " (" << tasks << " task(s), script " << spec.script_path << ", logs "
              << spec.log_dir << "/" << *job << "_K.out)\n";
    std::cout.flush();
    if (!o.wait) {
        std::cout << "Merge when it ends: runner sweep " << sw.ex.path << " --merge" << (o.results.empty() ? "" : " --results " + o.results)
                  << " (or submit with --wait)\n";
        return kExitOk;
    }
    // Following appends nothing, so the results file's lock is released meanwhile: a `--merge` by hand during a long
    // array must not fail on it. The final merge reopens (rereads) the file, so whatever such a merge folded in is
    // counted once and the parts it removed are not needed again.
    opened.reset();
    follow_array(sw, o, *job, pending, submitted_at);
    return merge_after_array(o, sw, opened);
}

}  // namespace

int run_sweep(const std::vector<std::string>& plugin_dirs, const SweepOptions& o) {
    Sweep sw;
    auto ex = load_experiment(o.experiment);
    if (!ex) return fail(ex.status());
    sw.ex = std::move(ex).value();
    sw.runs = expand_experiment(sw.ex);
    sw.results_path = o.results.empty() ? sw.ex.name + ".jsonl" : o.results;
    for (size_t i = 0; i < sw.runs.size(); ++i) sw.index_of[sw.runs[i].id] = i;

    // Every run's request is checked before anything runs: a typo in run 17 must not surface after an hour.
    for (const auto& run : sw.runs) {
        auto rq = request_for(run.params);
        if (!rq) return fail(rq.status().with_context(o.experiment + ": run " + run.id + " (" + run.label + ")"));
        rq->command_line = command_line();
        sw.requests.push_back(std::move(rq).value());
    }
    if (!o.shard.empty()) {
        if (o.merge || o.launcher != "local") return fail(Status::error("--shard runs one shard here; it takes no --merge or --launcher slurm"));
        return run_shard(plugin_dirs, o, sw);
    }
    if (!o.run_ids_file.empty()) return fail(Status::error("--run-ids only goes with --shard K/N"));

    std::optional<ResultsFile> file;
    {
        auto opened = open_results(sw.results_path);
        if (!opened) return fail(opened.status());
        file.emplace(std::move(opened).value());
    }
    report_open_notes(*file);

    if (o.merge) {
        auto m = merge_and_say(*file, o.allow_mixed_builds);
        if (!m) return fail(m.status());
        if (m->parts == 0) std::cout << "No part files beside " << sw.results_path << "\n";
        size_t missing = 0;
        for (const auto& run : sw.runs) missing += !file->has(run.id);
        const int code = print_table(sw, file->records(), sw.results_path, o.sort, all_of(sw));
        if (missing) std::cout << missing << " run(s) of " << sw.runs.size() << " not in the results yet\n";
        return code;
    }
    if (o.launcher == "slurm") return run_slurm(plugin_dirs, o, sw, file);
    if (o.wait) return fail(Status::error("--wait follows a Slurm array: it needs --launcher slurm"));

    std::vector<size_t> todo;
    size_t already = 0;
    for (size_t i = 0; i < sw.runs.size(); ++i) {
        if (file->has(sw.runs[i].id))
            ++already;
        else
            todo.push_back(i);
    }
    std::cout << "Sweep " << sw.ex.name << ": " << sw.runs.size() << " runs (" << sw.ex.axes.size() << " axes"
              << (sw.ex.runs.empty() ? "" : " + " + std::to_string(sw.ex.runs.size()) + " listed") << "), " << already
              << " already in " << sw.results_path << ", " << todo.size() << " to run";
    if (!sw.ex.description.empty()) std::cout << "\n  " << sw.ex.description;
    std::cout << "\n";
    if (!part_files(sw.results_path).empty())
        std::cout << "note: part files of a sharded sweep lie beside " << sw.results_path << ": `--merge` folds them in\n";

    if (o.dry_run) {
        for (const auto& run : sw.runs)
            std::cout << "  " << run.id << "  " << (file->has(run.id) ? "done   " : "pending") << "  " << run.label << "\n";
        return kExitOk;
    }
    Status s = execute_runs(plugin_dirs, o, sw, todo, *file);
    if (!s) return fail(s);
    // The table covers every run of this experiment that the file holds (this session's and earlier ones).
    return print_table(sw, file->records(), sw.results_path, o.sort, all_of(sw));
}

}  // namespace zoo::runner::cli
