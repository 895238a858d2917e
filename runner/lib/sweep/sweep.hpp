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

#include <cstdint>
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

// The results file: one JSON object per line, appended with flush + fsync per line. Opening it reads the finished
// runs, drops a torn last line (a kill during a write) by truncating the file to its last complete line, skips
// (and counts) corrupt complete lines, and takes an exclusive lock so two sweeps cannot append to one file.
class ResultsFile {
public:
    static Result<ResultsFile> open(const std::string& path);
    ResultsFile(ResultsFile&& other) noexcept;
    ResultsFile& operator=(ResultsFile&&) = delete;
    ~ResultsFile();

    bool has(const std::string& id) const;
    const std::vector<nlohmann::json>& records() const { return m_records; }
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

// The record a finished (or failed) run appends.
nlohmann::json sweep_record(const std::string& experiment, const SweepRun& run, const Result<RunResult>& result, double elapsed_s,
                            int concurrency);

// The end-of-sweep table: records sorted by `metric` (fps: descending, pcc: descending, latency: ascending; errors
// last), columns = the parameters that vary between the records, then FPS, latency, PCC, verdict.
std::string sweep_table(const std::vector<nlohmann::json>& records, const std::string& metric);

}  // namespace zoo::runner
