#include "session/performant_runner.hpp"

#include <tbb/parallel_pipeline.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <random>

#include "zoo/tsan.hpp"
#include "image/preprocess.hpp"
#include "session/inputs.hpp"

namespace zoo::runner {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// Checks one run's outputs: a single finite [batch, classes] tensor.
Status validate_outputs(const std::vector<Tensor>& outputs, int64_t batch, const char* what) {
    if (outputs.size() != 1) return Status::error(std::string(what) + ": expected one output, the model gave " + std::to_string(outputs.size()));
    const Tensor& t = outputs[0];
    if (t.rank() != 2 || t.shape[0] != batch)
        return Status::error(std::string(what) + ": expected logits [" + std::to_string(batch) + ", classes], got " + shape_to_string(t.shape));
    for (size_t i = 0; i < t.data.size(); ++i)
        if (!std::isfinite(t.data[i]))
            return Status::error(std::string(what) + ": output element " + std::to_string(i) + " is not finite (" + std::to_string(t.data[i]) + ")");
    return Status::ok();
}

// One batch travelling through the pipeline. The pipeline carries a plain pointer to one of `in_flight` slots, not an
// owning pointer: TBB moves a token that is not trivially copyable through a holder it allocates and hands over inside
// libtbb, out of ThreadSanitizer's sight. A slot is free again when its batch leaves the last filter: TBB keeps at most
// in_flight batches alive and the last filter takes them in order, so batch k + in_flight starts after k has left.
struct BatchToken {
    int64_t index = 0;  // batch number
    int64_t first = 0;  // first item
    int64_t real = 0;   // real items (the rest is padding)
    Tensor input;
    std::vector<Tensor> outputs;
};

// First failure of a stream; later stages skip their work once it is set.
class StreamError {
public:
    void set(const Status& s) {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (!m_failed.load()) m_status = s;
        m_failed.store(true);
    }
    bool failed() const { return m_failed.load(); }
    Status status() const {
        std::lock_guard<std::mutex> lock(m_mutex);
        return m_status;
    }

private:
    mutable std::mutex m_mutex;
    std::atomic<bool> m_failed{false};
    Status m_status;
};

// One filter call's share of the hand-overs TBB makes around it, declared for ThreadSanitizer (zoo/tsan.hpp; nothing
// outside a TSan build); the stream's setup is picked up before the call (tsan::AfterHandover). On entry it picks up
// what the token's previous filter wrote and, for a serial filter, what the filter's previous call wrote (TBB runs a
// serial filter's calls one at a time, on whichever thread). On exit it hands the token to the next filter and the
// filter's state to its next call and to the code after the pipeline. Calls of the parallel filter are not ordered
// with each other.
class FilterEdges {
public:
    enum class Mode { serial, parallel };
    FilterEdges(const void* stage, Mode mode, const void* token = nullptr) : m_stage(stage), m_token(token) {
        if (mode == Mode::serial) tsan::acquire(stage);
        if (token) tsan::acquire(token);
    }
    FilterEdges(const FilterEdges&) = delete;
    FilterEdges& operator=(const FilterEdges&) = delete;
    void hand_on(const void* token) { m_token = token; }  // the first filter's token exists only once it has made it
    ~FilterEdges() {
        if (m_token) tsan::release(m_token);
        tsan::release(m_stage);
    }

private:
    const void* m_stage;
    const void* m_token;
};

void add_ms(std::atomic<int64_t>& acc_ns, Clock::time_point t0) {
    acc_ns.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
}

}  // namespace

Result<std::unique_ptr<PerformantRunner>> PerformantRunner::initialise(const PluginRegistry& registry, const SessionOptions& options) {
    ZOO_ASSIGN_OR_RETURN(ModelSetup setup, prepare_model(registry, options));
    ZOO_ASSIGN_OR_RETURN(CompiledSetup dev,
                         compile_on_device(registry, setup, options.device, options.threads, true, options.hardware));
    std::unique_ptr<PerformantRunner> r(new PerformantRunner());
    r->m_timings.load_ms = setup.load_ms;
    r->m_timings.compile_ms = dev.compile_ms;
    r->m_input_shape = ::zoo::runner::input_shape(dev.graph);
    r->m_device_name = dev.device_name;
    r->m_variant = setup.variant;
    if (r->m_input_shape.size() != 4) return Status::error("the model's input is not [batch, C, H, W]: " + shape_to_string(r->m_input_shape));

    // Probe batch: deterministic random data of the compiled shape.
    Tensor probe(r->m_input_shape);
    std::mt19937_64 rng(options.seed + 1);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (auto& v : probe.data) v = dist(rng);
    const std::vector<Tensor> inputs{probe};
    const int64_t batch = r->m_input_shape[0];

    std::vector<Tensor> first, second;
    auto t0 = Clock::now();
    ZOO_TRY(dev.compiled->run(inputs, first).with_context("compile run"));
    r->m_timings.compile_run_ms = ms_since(t0);
    ZOO_TRY(validate_outputs(first, batch, "compile run"));
    t0 = Clock::now();
    ZOO_TRY(dev.compiled->run(inputs, second).with_context("optimised run"));
    r->m_timings.optimised_run_ms = ms_since(t0);
    ZOO_TRY(validate_outputs(second, batch, "optimised run"));
    if (second[0].shape != first[0].shape)
        return Status::error("optimised run: output shape " + shape_to_string(second[0].shape) + " differs from the compile run's " +
                             shape_to_string(first[0].shape));

    r->m_classes = first[0].shape[1];
    r->m_device = std::move(dev.device);
    r->m_compiled = std::move(dev.compiled);
    return r;
}

PerformantRunner::~PerformantRunner() { release(); }

void PerformantRunner::release() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_compiled.reset();  // the compiled model first: it may hold the device alive too
    m_device.reset();
}

bool PerformantRunner::released() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return !m_compiled;
}

std::vector<zoo::DeviceMetric> PerformantRunner::device_metrics() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_compiled ? m_compiled->metrics() : std::vector<zoo::DeviceMetric>{};
}

std::shared_ptr<CompiledModel> PerformantRunner::compiled() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_compiled;
}

Result<StreamStats> PerformantRunner::run(const std::vector<std::string>& images, const ResultCallback& on_result, int in_flight,
                                          int resize_shorter) {
    if (m_input_shape.size() == 4 && m_input_shape[1] != 3)
        return Status::error("images give 3 channels but the model expects " + std::to_string(m_input_shape[1]));
    const PreprocessSpec spec = preprocess_for(m_input_shape.at(2), m_input_shape.at(3), resize_shorter);
    ItemProducer produce = [&images, spec](int64_t index) { return load_image(images[static_cast<size_t>(index)], spec); };
    return run(static_cast<int64_t>(images.size()), produce, on_result, in_flight);
}

Result<StreamStats> PerformantRunner::run(int64_t count, const ItemProducer& produce, const ResultCallback& on_result, int in_flight) {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (!m_compiled) return Status::error("the performant runner was released: initialise a new one to run again");
    if (in_flight < 1) return Status::error("in_flight must be at least 1, got " + std::to_string(in_flight));
    if (count < 0) return Status::error("negative item count " + std::to_string(count));
    if (!produce || !on_result) return Status::error("run() needs an item producer and a result callback");

    const int64_t batch = m_input_shape[0];
    const Shape item_shape{1, m_input_shape[1], m_input_shape[2], m_input_shape[3]};
    const int64_t per_item = shape_numel(item_shape);
    const int64_t classes = m_classes;
    CompiledModel& model = *m_compiled;

    StreamStats stats;
    stats.in_flight = in_flight;
    stats.batches = (count + batch - 1) / batch;
    stats.padded_items = stats.batches * batch - count;
    StreamError error;
    std::atomic<int64_t> pre_ns{0}, dev_ns{0}, out_ns{0};
    int64_t delivered = 0;
    int64_t next_batch = 0;
    // Keys of the hand-overs declared to TSan (FilterEdges): the setup above, and each filter's own state.
    const char setup_edge = 0;
    const char stage_edge[4] = {};
    using Mode = FilterEdges::Mode;
    std::vector<BatchToken> slots(static_cast<size_t>(in_flight));
    // The filters are named locals that TBB is given by pointer (tsan::AfterHandover), so what they capture is
    // written before the setup's release below and read after each call's acquire.
    // 1. Cut the stream into batches.
    const auto cut_batches = [&](tbb::flow_control& fc) -> BatchToken* {
        FilterEdges edges(&stage_edge[0], Mode::serial);
        if (error.failed() || next_batch >= stats.batches) {
            fc.stop();
            return nullptr;
        }
        BatchToken* tok = &slots[static_cast<size_t>(next_batch % in_flight)];
        tsan::acquire(tok);  // what the slot's previous batch did in the last filter
        tok->index = next_batch++;
        tok->first = tok->index * batch;
        tok->real = std::min(batch, count - tok->first);
        tok->outputs.clear();  // the device fills an empty list, as for a fresh token
        edges.hand_on(tok);
        return tok;
    };
    // 2. Produce and pack the items (parallel across batches).
    const auto pack_items = [&](BatchToken* tok) {
        FilterEdges edges(&stage_edge[1], Mode::parallel, tok);
        if (error.failed()) return tok;
        const auto t0 = Clock::now();
        tok->input = Tensor(m_input_shape);
        for (int64_t b = 0; b < tok->real; ++b) {
            const int64_t idx = tok->first + b;
            Result<Tensor> item = produce(idx);
            if (!item) {
                error.set(item.status().with_context("item " + std::to_string(idx)));
                break;
            }
            if (item->shape != item_shape) {
                error.set(Status::error("item " + std::to_string(idx) + ": expected a tensor " + shape_to_string(item_shape) +
                                        ", got " + shape_to_string(item->shape)));
                break;
            }
            std::copy(item->data.begin(), item->data.end(), tok->input.data.begin() + b * per_item);
        }
        // Padding: repeat the last real item.
        for (int64_t b = tok->real; b < batch && !error.failed(); ++b)
            std::copy_n(tok->input.data.begin() + (tok->real - 1) * per_item, per_item, tok->input.data.begin() + b * per_item);
        add_ms(pre_ns, t0);
        return tok;
    };
    // 3. The device, one batch at a time, in order.
    const auto run_device = [&](BatchToken* tok) {
        FilterEdges edges(&stage_edge[2], Mode::serial, tok);
        if (error.failed()) return tok;
        const auto t0 = Clock::now();
        std::vector<Tensor> inputs;
        inputs.push_back(std::move(tok->input));
        Status s = model.run(inputs, tok->outputs);
        add_ms(dev_ns, t0);
        if (!s) {
            error.set(s.with_context("batch " + std::to_string(tok->index)));
        } else if (tok->outputs.size() != 1 || tok->outputs[0].shape != Shape{batch, classes}) {
            error.set(Status::error("batch " + std::to_string(tok->index) + ": unexpected output shape"));
        }
        return tok;
    };
    // 4. Results, in item order; padding dropped.
    const auto deliver_results = [&](BatchToken* tok) {
        FilterEdges edges(&stage_edge[3], Mode::serial, tok);
        if (error.failed()) return;
        const auto t0 = Clock::now();
        const Tensor& logits = tok->outputs[0];
        for (int64_t b = 0; b < tok->real; ++b) {
            on_result(tok->first + b, std::span<const float>(logits.data.data() + b * classes, static_cast<size_t>(classes)));
            ++delivered;
        }
        add_ms(out_ns, t0);
    };
    tsan::release(&setup_edge);

    const auto t_start = Clock::now();
    try {
        tsan::tbb_call([&] {
            tbb::parallel_pipeline(
                static_cast<size_t>(in_flight),
                tbb::make_filter<void, BatchToken*>(tbb::filter_mode::serial_in_order, tsan::AfterHandover(&setup_edge, cut_batches)) &
                tbb::make_filter<BatchToken*, BatchToken*>(tbb::filter_mode::parallel, tsan::AfterHandover(&setup_edge, pack_items)) &
                tbb::make_filter<BatchToken*, BatchToken*>(tbb::filter_mode::serial_in_order, tsan::AfterHandover(&setup_edge, run_device)) &
                tbb::make_filter<BatchToken*, void>(tbb::filter_mode::serial_in_order, tsan::AfterHandover(&setup_edge, deliver_results)));
        });
    } catch (const std::exception& e) {
        error.set(Status::error(std::string("stream stopped by an exception: ") + e.what()));
    } catch (...) {
        error.set(Status::error("stream stopped by an unknown exception"));
    }
    // parallel_pipeline returned: every filter call is done (the join, declared to TSan like the hand-overs above).
    for (const char& stage : stage_edge) tsan::acquire(&stage);
    stats.wall_ms = ms_since(t_start);
    if (error.failed()) return error.status().with_context("stream (" + std::to_string(delivered) + " of " + std::to_string(count) + " results delivered)");

    stats.items = delivered;
    stats.preprocess_busy_ms = static_cast<double>(pre_ns.load()) / 1e6;
    stats.device_busy_ms = static_cast<double>(dev_ns.load()) / 1e6;
    stats.output_busy_ms = static_cast<double>(out_ns.load()) / 1e6;
    if (stats.wall_ms > 0) {
        stats.samples_per_s = static_cast<double>(stats.items) * 1000.0 / stats.wall_ms;
        stats.overlap = (stats.preprocess_busy_ms + stats.device_busy_ms + stats.output_busy_ms) / stats.wall_ms;
    }
    return stats;
}

}  // namespace zoo::runner
