// A streaming runner in the shape of tt-metal's performant runner (see the Wormhole reference, section 7):
// initialise (compile + one compile run + one optimised run, both validated), then run a stream of items through a
// pipeline in which host preprocessing of the next batches overlaps the device's work on the current one, then release.
//
// The stream is a tbb::parallel_pipeline of four filters:
//   1. serial, in order   : cuts the stream into batches (batch k = items [k*B, k*B + B) of the compiled batch B)
//   2. parallel           : produces every item of the batch (decode + resize + normalise for images) and packs
//                           them into one [B, C, H, W] tensor; a partial last batch is padded with its last item
//   3. serial, in order   : CompiledModel::run on the device (one call at a time: run() is not thread-safe)
//   4. serial, in order   : hands each real item's logits row to the callback (padding rows are dropped)
// At most `in_flight` batches are alive at once: 1 = fully serial, 2 = batch k+1 is preprocessed while k runs, ...
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "plugins/plugin_loader.hpp"
#include "session/model_session.hpp"
#include "zoo/device_plugin.hpp"
#include "zoo/status.hpp"
#include "zoo/tensor.hpp"

namespace zoo::runner {

// What initialise() spent, in milliseconds.
struct InitialiseTimings {
    double load_ms = 0;           // model plugin, table, graph, weights
    double compile_ms = 0;        // device compile
    double compile_run_ms = 0;    // first run on the probe batch
    double optimised_run_ms = 0;  // second run on the same probe batch
};

// What one run() measured. Busy times are summed over the work each stage did; the preprocessing stage runs in
// parallel, so its busy time may exceed the wall time.
struct StreamStats {
    int64_t items = 0;            // real items delivered
    int64_t batches = 0;          // batches run on the device
    int64_t padded_items = 0;     // padding rows added to the last batch (and dropped)
    int in_flight = 0;            // batches alive at once in the pipeline
    double wall_ms = 0;           // first item requested -> last result delivered
    double samples_per_s = 0;     // end to end: items / wall time
    double preprocess_busy_ms = 0;
    double device_busy_ms = 0;
    double output_busy_ms = 0;    // packing results and running the callback
    // Overlap achieved: sum of the stage busy times / wall time. 1.0 = stages ran one after another; higher = that
    // much work ran concurrently (host preprocessing hidden behind the device, or preprocessing in parallel).
    double overlap = 0;
};

// Called in item order, once per real item, from the pipeline's output stage (never concurrently).
using ResultCallback = std::function<void(int64_t index, std::span<const float> logits)>;
// Produces item `index` as a preprocessed [1, C, H, W] tensor. Called concurrently from several threads for
// different indices: it must be thread-safe.
using ItemProducer = std::function<Result<Tensor>(int64_t index)>;

class PerformantRunner {
public:
    // Prepares and compiles the model on options.device, then runs a probe batch (seeded random normal data, seed
    // options.seed) twice: the "compile run" and the "optimised run". Both must give finite outputs of the same
    // shapes. The registry is only used during the call (the runner keeps its plugins alive by itself).
    static Result<std::unique_ptr<PerformantRunner>> initialise(const PluginRegistry& registry, const SessionOptions& options);

    ~PerformantRunner();
    PerformantRunner(const PerformantRunner&) = delete;
    PerformantRunner& operator=(const PerformantRunner&) = delete;

    // Streams image files (preprocessed like torchvision for the compiled input size; `resize_shorter` 0 = 256/224
    // of the crop). Fails on the first unreadable image, after delivering the results before it.
    Result<StreamStats> run(const std::vector<std::string>& images, const ResultCallback& on_result, int in_flight = 2,
                            int resize_shorter = 0);
    // Streams `count` items made by `produce` (see ItemProducer).
    Result<StreamStats> run(int64_t count, const ItemProducer& produce, const ResultCallback& on_result, int in_flight = 2);

    // Drops the compiled model and with it the device plugin reference. Later run() calls fail with a message.
    void release();
    bool released() const;

    const InitialiseTimings& timings() const { return m_timings; }
    const Shape& input_shape() const { return m_input_shape; }  // [B, C, H, W] as compiled
    int64_t batch() const { return m_input_shape.at(0); }
    int64_t classes() const { return m_classes; }
    const std::string& device_name() const { return m_device_name; }
    const std::string& variant() const { return m_variant; }
    // The device's numbers about the compiled model (Wormhole: device_fps, e2e_fps_trace, e2e_fps_trace_2cq, ...);
    // empty after release().
    std::vector<zoo::DeviceMetric> device_metrics() const;
    // The compiled model itself, e.g. to check results against a plain run(). Null after release(). Not thread-safe:
    // do not use it while run() is in progress.
    std::shared_ptr<CompiledModel> compiled() const;

private:
    PerformantRunner() = default;

    mutable std::mutex m_mutex;  // one run() at a time; release() waits for a running stream
    std::shared_ptr<DevicePlugin> m_device;
    std::shared_ptr<CompiledModel> m_compiled;
    InitialiseTimings m_timings;
    Shape m_input_shape;
    int64_t m_classes = 0;
    std::string m_device_name, m_variant;
};

}  // namespace zoo::runner
