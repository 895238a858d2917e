#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "session/run_job.hpp"

namespace zoo::runner::cli {

const char* version();

// The process's argv, recorded in report provenance (set once by main before any command runs).
std::vector<std::string>& command_line();

// Exit codes shared by every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;    // something failed (bad input, device refused, I/O)
inline constexpr int kExitUsage = 2;    // bad command line (CLI11)
inline constexpr int kExitInvalid = 3;  // the run completed but its verdict is INVALID (PCC, stop rule)

struct ListOptions {
    bool json = false;
};
int run_list(const std::vector<std::string>& plugin_dirs, const ListOptions& options);

// What selects and builds a model on a device: shared by run and compare.
struct ModelOptions {
    std::string model, variant, device, config, hardware, weights, input = "samples";
    std::vector<std::string> sets;
    int64_t batch = 0;
    int threads = 0;
    uint64_t seed = 0;
    int resize = 0;
};
void add_model_options(CLI::App& app, ModelOptions& options);
SessionOptions session_options(const ModelOptions& m);
// The same, with the batch taken from a .npy input's leading dimension when --batch was not given.
Result<SessionOptions> session_options_with_input_batch(const ModelOptions& m);

struct RunOptions {
    ModelOptions m;
    std::string report, report_format, save_output, reference, output;
    std::string perf_report, trace, memory_report;  // device tables to write
    int warmup = 3;
    int64_t iterations = 20;
    double time_s = 0;
    int64_t max_iterations = 100000;
    double max_time_s = 600;
    bool dump_config = false;
    bool profile = false;
    size_t profile_rows = 30;
    bool layer_pcc = false;
    int top = 5;
    double pcc_threshold = 0;
};
void add_run_options(CLI::App& app, RunOptions& options);
int run_run(const std::vector<std::string>& plugin_dirs, const RunOptions& options);

struct CompareOptions {
    ModelOptions m;
    std::string reference = "cpu";
    size_t layers = 25;
};
void add_compare_options(CLI::App& app, CompareOptions& options);
int run_compare(const std::vector<std::string>& plugin_dirs, const CompareOptions& options);

struct SweepOptions {
    std::string experiment, results, sort = "fps";
    int jobs = 0;  // 0 = automatic: timing runs serial, accuracy-only runs parallel
    bool dry_run = false;
    bool progress_bar = true;
    // Launchers (issue 12): local runs here; slurm submits one job array whose tasks run `--shard K/N`.
    std::string launcher = "local", shard, run_ids_file, partition, time_limit;
    size_t shards = 0, runs_per_task = 0;
    int cpus_per_task = 1;
    std::vector<std::string> sbatch_args;
    bool wait = false, merge = false, allow_mixed_builds = false;
};
void add_sweep_options(CLI::App& app, SweepOptions& options);
int run_sweep(const std::vector<std::string>& plugin_dirs, const SweepOptions& options);

struct ReportOptions {
    std::vector<std::string> inputs;
    std::string html, title;
};
void add_report_options(CLI::App& app, ReportOptions& options);
int run_report(const ReportOptions& options);

struct DiffOptions {
    std::string a, b;
};
void add_diff_options(CLI::App& app, DiffOptions& options);
int run_diff(const DiffOptions& options);

struct StreamOptions {
    ModelOptions m;
    int repeat = 1;
    int in_flight = 2;
};
void add_stream_options(CLI::App& app, StreamOptions& options);
int run_stream(const std::vector<std::string>& plugin_dirs, const StreamOptions& options);

// `runner new-plugin model|device NAME DIR`: a plugin project that builds against the installed SDK.
struct NewPluginOptions {
    std::string kind, name, dir;
};
void add_new_plugin_options(CLI::App& app, NewPluginOptions& options);
int run_new_plugin(const NewPluginOptions& options);

// Validators with short messages (CLI11's own print the range as 310 digits of DBL_MAX).
CLI::Validator positive();
// An existing file, or a relative path resolved against the bundled data folder (yaml/configs/... in an install).
CLI::Validator data_file();
CLI::Validator non_negative();
// The PCC range: a threshold outside [-1, 1] can never or always be met.
CLI::Validator pcc_range();

// Console helpers shared by the commands.
std::string with_commas(int64_t v);
int fail(const Status& s);
#define ZOO_CLI_TRY(expr)                                 \
    do {                                                  \
        const ::zoo::Status zoo_cli_status__ = (expr);    \
        if (!zoo_cli_status__) return fail(zoo_cli_status__); \
    } while (0)

// Checks made before any work: an output file's folder exists and is writable; an --input exists, is a regular file
// or folder, a .npy's header fits its size, an image has a decoder (the run config is checked when the session
// loads it).
Status check_output_file(const std::string& path, const std::string& option);
Status check_input(const std::string& input);
Status check_threads(int threads);
// "PCC 0.999876, max |err| 1.23e-05 (0.0123% of max |ref| 0.1)"
std::string agreement_text(const Agreement& a);

}  // namespace zoo::runner::cli
