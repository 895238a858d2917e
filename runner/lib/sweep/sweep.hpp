// Sweeps: an experiment YAML names fixed parameters, axes and explicit runs; expansion gives the cross product of the
// axes (plus the explicit runs), each a list of KEY=VALUE parameters with a stable identity.
//
//   name: cpu_threads_batch                 # optional (default: the file's stem)
//   description: ...
//   base: {device: cpu, input: random, iterations: 30}
//   axes:
//     model:                                # a value that is a map sets several keys at once
//       - {model: mobilenetv3, variant: large}
//       - {model: mobilenetv2}
//     threads: [1, 2]
//     dtype: [bfloat16, bfloat8_b]          # not a run key: becomes --set dtype=...
//     "features.1*:math_fidelity": [LoFi]   # a layer-pattern --set
//   runs:                                   # optional explicit runs, each on top of base
//     - {model: mobilenetv3, variant: small, batch: 32}
//
// Run keys (everything else is a --set): model variant device batch threads seed input config hardware weights resize
// warmup iterations time max_iterations max_time reference pcc_threshold layer_pcc profile.
//
// Identity: a run's id is the FNV-1a 64-bit hash of its canonical parameter text (run keys sorted by name, then the
// --set keys in the order they are applied, since later pattern overrides win), printed as 16 hex digits. The same
// parameters give the same id on every machine and in every order of the YAML's run keys.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "session/run_job.hpp"
#include "zoo/status.hpp"

namespace zoo::runner {

using Params = std::vector<std::pair<std::string, std::string>>;

struct Experiment {
    std::string name, description, path;
    Params base;
    std::vector<std::pair<std::string, std::vector<Params>>> axes;  // axis name -> values (each sets >= 1 key)
    std::vector<Params> runs;                                       // explicit runs (on top of base)
};

struct SweepRun {
    std::string id;     // 16 hex digits
    Params params;      // canonical order
    std::string label;  // "mobilenetv3/large cpu b1 t2" plus the swept --set keys
};

Result<Experiment> load_experiment(const std::string& path);
Result<Experiment> parse_experiment(const std::string& yaml_text, const std::string& origin);

// Cross product of the axes (first axis varies slowest) then the explicit runs; duplicates (same id) dropped.
std::vector<SweepRun> expand_experiment(const Experiment& experiment);

bool is_run_key(const std::string& key);
Params canonical_params(const Params& params);  // run keys sorted, then --set keys in order (a later duplicate wins)
std::string run_id(const Params& params);        // of the canonical form
uint64_t fnv1a64(const std::string& text);

// The RunRequest a run's parameters mean (unknown values are errors naming the key). Sweeps default to warmup 2,
// 20 iterations, top-1 and random input unless the parameters say otherwise.
Result<RunRequest> request_for(const Params& params);

// Whether the run measures host time (then concurrent runs would skew each other): iterations or time > 0.
bool is_timing_run(const RunRequest& request);

// How long opening a results (or part) file waits for another process's lock before giving up. A merge, or a Slurm
// submission merging and calling sbatch, holds it for seconds; a lock held longer is a local sweep appending to that
// file, which keeps it until it ends, so waiting longer would only hide that from the user.
inline constexpr std::chrono::milliseconds kResultsLockWait{30000};

// The results file: one JSON object per line, appended with flush + fsync per line. Opening it reads the finished
// runs, drops a torn last line (a kill during a write) by truncating the file to its last complete line, skips
// (and counts) corrupt complete lines, and takes an exclusive lock so two sweeps cannot append to one file.
class ResultsFile {
public:
    // Waits up to lock_wait for the lock (calling on_wait once, with who holds it, when it has to wait at all), then
    // gives up with an error naming the holder.
    static Result<ResultsFile> open(const std::string& path, std::chrono::milliseconds lock_wait = kResultsLockWait,
                                    const std::function<void(const std::string& holder)>& on_wait = {});
    ResultsFile(ResultsFile&& other) noexcept;
    ResultsFile& operator=(ResultsFile&&) = delete;
    ~ResultsFile();

    bool has(const std::string& id) const;
    // A copy taken under the lock that append() holds: a reference would let a caller read while another thread
    // appends (the sweep's table is printed by the thread that waited for the parallel runs).
    std::vector<nlohmann::json> records() const;
    size_t truncated_bytes() const { return m_truncated; }
    size_t corrupt_lines() const { return m_corrupt; }
    const std::string& path() const { return m_path; }

    // Appends one record (must contain "run_id") as a single write + fsync. Thread safe.
    Status append(const nlohmann::json& record);

private:
    ResultsFile() = default;
    std::string m_path;
    int m_fd = -1;
    std::set<std::string> m_ids;
    std::vector<nlohmann::json> m_records;
    size_t m_truncated = 0, m_corrupt = 0;
    std::unique_ptr<std::mutex> m_mutex = std::make_unique<std::mutex>();
};

// Reads every well-formed record of a results file without locking or repairing it (for `runner report`).
Result<std::vector<nlohmann::json>> read_results(const std::string& path);


// ---------------------------------------------------------------------------------------------------------------------
// Shards, part files and the merge (the Slurm launcher's pieces that need no Slurm).
//
// A shard is "K/N" with K in 1..N (Slurm's array task ids 1..N). Shard K of a list of run ids takes every N-th id
// starting at the K-th: round robin keeps the shards' sizes within one run of each other and spreads the axes (the
// first axis varies slowest, so contiguous blocks would put one model's slow runs all in one task).
struct Shard {
    size_t index = 1, count = 1;
};
Result<Shard> parse_shard(const std::string& text);
std::vector<std::string> shard_ids(const std::vector<std::string>& ids, const Shard& shard);
// How many array tasks: `shards` when given (> 0), else ceil(pending / runs_per_task); never more than the runs.
size_t task_count(size_t pending, size_t shards, size_t runs_per_task);

// The identity of this runner build: the toolchain/SDK id plugins are checked against plus a hash of the executable's
// bytes, so two builds of different sources with one compiler still differ.
const std::string& runner_build_id();
// Where a record was made: host, SLURM_JOB_ID, SLURM_ARRAY_JOB_ID, SLURM_ARRAY_TASK_ID (null outside Slurm), runner build.
nlohmann::json provenance();

// A part file sits beside the results file: "<results>.part.<tag>.jsonl" (tag: "<array job>_<task>" under Slurm,
// "local_<K>of<N>" by hand). Each task appends to its own, so no two writers ever share a file.
std::string part_path(const std::string& results_path, const std::string& tag);
std::vector<std::string> part_files(const std::string& results_path, const std::string& tag_prefix = "");

struct PartContents {
    std::vector<nlohmann::json> records;  // well-formed records with a run_id, in file order
    size_t torn_bytes = 0, corrupt_lines = 0;
};
// Reads a part (or results) file without locking or repairing it: a torn last line is counted and ignored.
Result<PartContents> read_part(const std::string& path);

struct MergeSummary {
    size_t parts = 0, added = 0, duplicates = 0, torn_lines = 0, corrupt_lines = 0, removed = 0, in_use = 0;
    std::map<std::string, size_t> builds;  // runner build -> records (results file and parts together)
};
// Folds every part file into `results`: each run id at most once (the results file's record wins, then the first
// part's in name order), torn and corrupt lines dropped, failures kept. Refuses, before appending anything, when the
// records come from more than one runner build unless allow_mixed_builds. A part whose writer still holds its lock is
// merged as far as it is complete and kept; the others are deleted once folded in.
Result<MergeSummary> merge_parts(ResultsFile& results, bool allow_mixed_builds);

// The record a finished (or failed) run appends.
nlohmann::json sweep_record(const std::string& experiment, const SweepRun& run, const Result<RunResult>& result, double elapsed_s,
                            int concurrency);

// The end-of-sweep table: records sorted by `metric` (fps: descending, pcc: descending, latency: ascending; errors
// last), columns = the parameters that vary between the records, then FPS, latency, PCC, verdict.
std::string sweep_table(const std::vector<nlohmann::json>& records, const std::string& metric);

}  // namespace zoo::runner
