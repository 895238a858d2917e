// One measured run of a model on a device, as a library call: RunRequest in, RunResult out. `runner run`, `runner
// sweep` and the tests share it; the CLI only parses flags into a RunRequest and prints the RunResult.
//
// Stop rule (TFLite / LoadGen style): the timed loop runs at least `min_iterations` AND at least `min_seconds`, and
// stops at `max_iterations` or `max_seconds`, whichever comes first. When a cap stops the loop before both minimums
// were met, the verdict is INVALID with the reason. Nothing is printed inside the timed loop: observers are called
// before and after it only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "measure/accuracy.hpp"
#include "measure/latency_stats.hpp"
#include "output/predictions.hpp"
#include "plugins/plugin_loader.hpp"
#include "session/layer_compare.hpp"
#include "session/model_session.hpp"
#include "zoo/tensor.hpp"

namespace zoo::runner {

struct RunRequest {
    SessionOptions session;            // model, variant, device, run config, --set, weights, seed, batch, threads, hardware
    std::string input = "samples";     // IMAGE | DIR | FILE.npy | random | samples (the bundled images)
    int resize = 0;                    // shorter side before the crop; 0 = torchvision's proportion
    int warmup = 3;                    // untimed runs before the timed loop
    int64_t min_iterations = 20;       // stop rule: at least this many timed runs ...
    double min_seconds = 0;            // ... and at least this long
    int64_t max_iterations = 100000;   // caps: the loop never runs longer than either
    double max_seconds = 600;
    bool predict = true;               // run every input batch once and keep the logits and top-k
    int top = 5;
    std::string reference;             // reference device for PCC ("" = none)
    bool per_layer_pcc = false;        // with a reference: also compare every layer (capture mode, slower)
    double pcc_threshold = 0;          // with a reference: INVALID below this (0 = no threshold)
    bool profile = false;              // average CompiledModel::last_timings() over the timed iterations
    // Device tables to write after the run, table name -> file ("ops" -> ops.csv, "trace" -> trace.json, "memory").
    std::map<std::string, std::string> device_tables;
    std::vector<std::string> command_line;  // recorded in the provenance
};

struct ItemPrediction {
    std::string item;                  // "chelsea.png", "random[0]"
    std::string path;                  // the image file, when the input was images
    std::vector<Prediction> top;
};

// One row of the per-layer profile: a device kernel (fused kernels are named after their first node, op type like
// "conv2d+hardswish").
struct ProfileRow {
    std::string node;
    std::string op_type;
    std::string device;                // the device that ran it
    double mean_ms = 0;                // averaged over the timed iterations
    double share = 0;                  // of the total, 0..1
    double cumulative = 0;             // running share in this (time-descending) order
    bool modelled = false;             // emulator's modelled time rather than measured host time
};

// A named number a device run produced beyond latency/throughput (e.g. the Wormhole emulator's modelled device FPS).
struct DeviceMetric {
    std::string name;                  // snake_case key in the report's device_metrics object
    double value = 0;
    std::string unit;                  // "ms", "fps", ...
    std::string source;                // how it was obtained ("sum of modelled op times", ...)
};

struct PluginProvenance {
    std::string role;                  // "model", "device", "reference"
    std::string name, version, path, build_id, abi;
};

struct Provenance {
    std::string runner_version;
    std::string git_commit;            // "abc1234", "abc1234-dirty" or "unknown"
    std::string build_type, compiler;
    std::string host_cpu;              // /proc/cpuinfo "model name"
    unsigned host_cores = 0;           // hardware threads
    std::string hostname;
    std::string timestamp_utc;         // ISO 8601
    std::vector<PluginProvenance> plugins;
    std::vector<std::string> command_line;
};

struct AccuracyResult {
    std::string reference;
    Agreement output;                  // first output (the logits)
    std::vector<LayerAgreement> layers;  // worst PCC first; empty unless per_layer_pcc
};

struct StopRule {
    int64_t min_iterations = 0, max_iterations = 0;
    double min_seconds = 0, max_seconds = 0;
    std::string stopped_by;            // "iterations", "time", "max-iterations", "max-time", "none"
};

struct RunResult {
    // Resolved configuration.
    std::string model, variant, device, device_description, table_path, run_config;
    std::vector<std::string> sets;
    std::string weights;               // path, empty for random
    bool random_weights = false;
    uint64_t seed = 0;
    int64_t batch = 1;
    int threads = 0;
    std::string input, input_kind;     // as given ("samples" resolved to the folder) and images|npy|random
    Shape input_shape;
    int64_t parameters = 0;
    size_t parameter_tensors = 0;
    size_t ops = 0;                    // nodes the device compiled
    bool folded_batchnorm = false;
    std::vector<std::string> warnings;
    std::vector<std::pair<std::string, int64_t>> layer_config_summary;  // compact: "dtype bfloat16, LoFi, ..." -> nodes
    Provenance provenance;

    // Timings.
    double load_ms = 0, compile_ms = 0, first_inference_ms = 0;
    int warmup = 0;
    StopRule stop;
    LatencyStats latency;              // per timed iteration (one batch)
    double duration_ms = 0;            // wall time of the timed loop
    double throughput_fps = 0;         // batch x count / duration

    // Outputs.
    std::vector<ItemPrediction> predictions;
    Tensor logits;                     // [items, classes] when predict
    std::optional<AccuracyResult> accuracy;
    std::vector<ProfileRow> profile;   // time-descending; empty unless asked (or the device times nothing)
    std::vector<DeviceMetric> device_metrics;

    // Verdict.
    bool valid() const { return invalid_reasons.empty(); }
    std::vector<std::string> invalid_reasons;
};

// Stages reported to an observer, in order; the partial RunResult holds everything known so far.
enum class RunStage { Prepared, Compiled, Predicted, Compared, Measuring, Measured };
using RunObserver = std::function<void(RunStage, const RunResult&)>;

// Everything `runner run` does except printing. Errors (bad model, device refusing a layer, unreadable input, failed
// inference) come back as a Status; an INVALID verdict is a successful result with reasons.
// Thread safety: independent calls may run concurrently (each compiles its own model); the registry is only read.
Result<RunResult> run_job(const PluginRegistry& registry, const RunRequest& request, const RunObserver& observer = {});

// The bundled sample folder when `input` is "samples", else `input`.
std::string resolve_input_path(const std::string& input);

// Host, build and plugin facts for a report (plugins: those named in `roles`, e.g. {{"model","mobilenetv3"}}).
Provenance collect_provenance(const PluginRegistry& registry, const std::vector<std::pair<std::string, std::string>>& roles,
                              const std::vector<std::string>& command_line);

// Accumulates per-op timings over iterations and turns them into a time-sorted profile with shares.
class ProfileAccumulator {
public:
    void add(const std::vector<OpTiming>& timings);
    std::vector<ProfileRow> rows(const std::string& device) const;
    size_t iterations() const { return m_iterations; }
    // Metrics derived from measured (not modelled) timings: the summed host time per batch. Devices that model their
    // time report their own FPS through CompiledModel::metrics().
    std::vector<DeviceMetric> metrics() const;

private:
    struct Entry {
        std::string node, op_type;
        double total_ns = 0;
        bool modelled = false;
    };
    std::vector<Entry> m_entries;  // in the order of the first run (the device's execution order)
    size_t m_iterations = 0;
};

}  // namespace zoo::runner
