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

// One run() of the stream: the pipeline's four filters (see performant_runner.hpp) and what they share.
class Stream {
public:
    Stream(CompiledModel& model, const Shape& input_shape, int64_t classes, int64_t count, const ItemProducer& produce,
           const ResultCallback& on_result, int in_flight)
        : m_model(model),
          m_input_shape(input_shape),
          m_batch(input_shape[0]),
          m_item_shape{1, input_shape[1], input_shape[2], input_shape[3]},
          m_per_item(shape_numel(m_item_shape)),
          m_classes(classes),
          m_count(count),
          m_produce(produce),
          m_on_result(on_result),
          m_in_flight(in_flight) {
        m_stats.in_flight = in_flight;
        m_stats.batches = (count + m_batch - 1) / m_batch;
        m_stats.padded_items = m_stats.batches * m_batch - count;
        m_slots.resize(static_cast<size_t>(in_flight));
    }

    // Runs the pipeline to its end, or to the first failure (after delivering the results before it).
    Result<StreamStats> run() {
        // The filters are named locals that TBB is given by pointer (tsan::AfterHandover), so the stream they capture
        // is written before the setup's release below and read after each call's acquire.
        const auto cut = [this](tbb::flow_control& fc) { return cut_batches(fc); };
        const auto pack = [this](BatchToken* tok) { return pack_items(tok); };
        const auto device = [this](BatchToken* tok) { return run_device(tok); };
        const auto deliver = [this](BatchToken* tok) { deliver_results(tok); };
        tsan::release(&m_setup_edge);

        const auto t_start = Clock::now();
        try {
            tsan::tbb_call([&] {
                tbb::parallel_pipeline(
                    static_cast<size_t>(m_in_flight),
                    tbb::make_filter<void, BatchToken*>(tbb::filter_mode::serial_in_order, tsan::AfterHandover(&m_setup_edge, cut)) &
                    tbb::make_filter<BatchToken*, BatchToken*>(tbb::filter_mode::parallel, tsan::AfterHandover(&m_setup_edge, pack)) &
                    tbb::make_filter<BatchToken*, BatchToken*>(tbb::filter_mode::serial_in_order, tsan::AfterHandover(&m_setup_edge, device)) &
                    tbb::make_filter<BatchToken*, void>(tbb::filter_mode::serial_in_order, tsan::AfterHandover(&m_setup_edge, deliver)));
            });
        } catch (const std::exception& e) {
            m_error.set(Status::error(std::string("stream stopped by an exception: ") + e.what()));
        } catch (...) {
            m_error.set(Status::error("stream stopped by an unknown exception"));
        }
        // parallel_pipeline returned: every filter call is done (the join, declared to TSan like the hand-overs above).
        for (const char& stage : m_stage_edge) tsan::acquire(&stage);
        m_stats.wall_ms = ms_since(t_start);
        if (m_error.failed()) return m_error.status().with_context("stream (" + std::to_string(m_delivered) + " of " + std::to_string(m_count) + " results delivered)");

        m_stats.items = m_delivered;
        m_stats.preprocess_busy_ms = static_cast<double>(m_pre_ns.load()) / 1e6;
        m_stats.device_busy_ms = static_cast<double>(m_dev_ns.load()) / 1e6;
        m_stats.output_busy_ms = static_cast<double>(m_out_ns.load()) / 1e6;
        if (m_stats.wall_ms > 0) {
            m_stats.samples_per_s = static_cast<double>(m_stats.items) * 1000.0 / m_stats.wall_ms;
            m_stats.overlap = (m_stats.preprocess_busy_ms + m_stats.device_busy_ms + m_stats.output_busy_ms) / m_stats.wall_ms;
        }
        return m_stats;
    }

private:
    using Mode = FilterEdges::Mode;

    // 1. Cut the stream into batches.
    BatchToken* cut_batches(tbb::flow_control& fc) {
        FilterEdges edges(&m_stage_edge[0], Mode::serial);
        if (m_error.failed() || m_next_batch >= m_stats.batches) {
            fc.stop();
            return nullptr;
        }
        BatchToken* tok = &m_slots[static_cast<size_t>(m_next_batch % m_in_flight)];
        tsan::acquire(tok);  // what the slot's previous batch did in the last filter
        tok->index = m_next_batch++;
        tok->first = tok->index * m_batch;
        tok->real = std::min(m_batch, m_count - tok->first);
        tok->outputs.clear();  // the device fills an empty list, as for a fresh token
        edges.hand_on(tok);
        return tok;
    }

    // 2. Produce and pack the items (parallel across batches).
    BatchToken* pack_items(BatchToken* tok) {
        FilterEdges edges(&m_stage_edge[1], Mode::parallel, tok);
        if (m_error.failed()) return tok;
        const auto t0 = Clock::now();
        tok->input = Tensor(m_input_shape);
        for (int64_t b = 0; b < tok->real; ++b) {
            const int64_t idx = tok->first + b;
            Result<Tensor> item = m_produce(idx);
            if (!item) {
                m_error.set(item.status().with_context("item " + std::to_string(idx)));
                break;
            }
            if (item->shape != m_item_shape) {
                m_error.set(Status::error("item " + std::to_string(idx) + ": expected a tensor " + shape_to_string(m_item_shape) +
                                          ", got " + shape_to_string(item->shape)));
                break;
            }
            std::copy(item->data.begin(), item->data.end(), tok->input.data.begin() + b * m_per_item);
        }
        // Padding: repeat the last real item.
        for (int64_t b = tok->real; b < m_batch && !m_error.failed(); ++b)
            std::copy_n(tok->input.data.begin() + (tok->real - 1) * m_per_item, m_per_item, tok->input.data.begin() + b * m_per_item);
        add_ms(m_pre_ns, t0);
        return tok;
    }

    // 3. The device, one batch at a time, in order.
    BatchToken* run_device(BatchToken* tok) {
        FilterEdges edges(&m_stage_edge[2], Mode::serial, tok);
        if (m_error.failed()) return tok;
        const auto t0 = Clock::now();
        std::vector<Tensor> inputs;
        inputs.push_back(std::move(tok->input));
        Status s = m_model.run(inputs, tok->outputs);
        add_ms(m_dev_ns, t0);
        if (!s) {
            m_error.set(s.with_context("batch " + std::to_string(tok->index)));
        } else if (tok->outputs.size() != 1 || tok->outputs[0].shape != Shape{m_batch, m_classes}) {
            m_error.set(Status::error("batch " + std::to_string(tok->index) + ": unexpected output shape"));
        }
        return tok;
    }

    // 4. Results, in item order; padding dropped.
    void deliver_results(BatchToken* tok) {
        FilterEdges edges(&m_stage_edge[3], Mode::serial, tok);
        if (m_error.failed()) return;
        const auto t0 = Clock::now();
        const Tensor& logits = tok->outputs[0];
        for (int64_t b = 0; b < tok->real; ++b) {
            m_on_result(tok->first + b, std::span<const float>(logits.data.data() + b * m_classes, static_cast<size_t>(m_classes)));
            ++m_delivered;
        }
        add_ms(m_out_ns, t0);
    }

    CompiledModel& m_model;
    const Shape& m_input_shape;
    const int64_t m_batch;
    const Shape m_item_shape;
    const int64_t m_per_item;
    const int64_t m_classes;
    const int64_t m_count;
    const ItemProducer& m_produce;
    const ResultCallback& m_on_result;
    const int m_in_flight;
    StreamStats m_stats;
    StreamError m_error;
    std::atomic<int64_t> m_pre_ns{0}, m_dev_ns{0}, m_out_ns{0};
    int64_t m_delivered = 0;
    int64_t m_next_batch = 0;
    // Keys of the hand-overs declared to TSan (FilterEdges): the setup (all written before run() releases it), and
    // each filter's own state.
    const char m_setup_edge = 0;
    const char m_stage_edge[4] = {};
    std::vector<BatchToken> m_slots;
};

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
    return Stream(*m_compiled, m_input_shape, m_classes, count, produce, on_result, in_flight).run();
}

}  // namespace zoo::runner
