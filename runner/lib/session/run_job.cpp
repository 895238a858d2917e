#include "session/run_job.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/filesystem.hpp>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <map>
#include <thread>

#include "core/data_paths.hpp"
#include "image/preprocess.hpp"
#include "session/inputs.hpp"
#include "zoo_build_info.h"

namespace zoo::runner {

namespace fs = boost::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

std::string read_cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        // x86: "model name", arm64: sometimes only "Hardware" / "CPU part"
        if (line.rfind("model name", 0) == 0 || line.rfind("Hardware", 0) == 0) {
            auto colon = line.find(':');
            if (colon != std::string::npos) {
                std::string v = line.substr(colon + 1);
                v.erase(0, v.find_first_not_of(" \t"));
                return v;
            }
        }
    }
    return "unknown";
}

std::string utc_now() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// The common keys, then each device option that differs from its declared default ("math_fidelity=LoFi").
// `defaults` is LayerOptions::defaults(options), built once by the caller for all nodes.
std::string config_summary(const LayerConfig& c, const std::vector<LayerOptionSpec>& options, const LayerOptions& defaults) {
    std::string out = std::string("dtype ") + data_format_name(c.dtype) + ", weights " + data_format_name(c.weights_dtype);
    for (const auto& spec : options) {
        const SpecValue* value = c.options.find(spec.name);
        const SpecValue* fallback = defaults.find(spec.name);
        if (!value || !fallback) continue;
        const std::string text = layer_option_text(spec, *value);
        if (text != layer_option_text(spec, *fallback)) out += ", " + spec.name + "=" + text;
    }
    return out;
}

// Copies the rows of each batch's logits into one [items, classes] tensor (the padded tail of the last batch dropped).
Tensor gather_logits(const std::vector<Tensor>& batches, int64_t items, int64_t batch) {
    const int64_t classes = batches.at(0).shape.back();
    Tensor logits(Shape{items, classes});
    for (int64_t i = 0; i < items; ++i) {
        const Tensor& src = batches[static_cast<size_t>(i / batch)];
        std::copy_n(src.data.begin() + (i % batch) * classes, classes, logits.data.begin() + i * classes);
    }
    return logits;
}

}  // namespace

std::string resolve_input_path(const std::string& input) {
    return input == "samples" ? (fs::path(data_dir()) / "data" / "images").string() : input;
}

Provenance collect_provenance(const PluginRegistry& registry, const std::vector<std::pair<std::string, std::string>>& roles,
                              const std::vector<std::string>& command_line) {
    Provenance p;
    p.runner_version = ZOO_BUILD_VERSION;
    p.git_commit = ZOO_BUILD_GIT_COMMIT;
    p.build_type = ZOO_BUILD_TYPE;
    p.compiler = ZOO_BUILD_COMPILER;
    p.host_cpu = read_cpu_model();
    p.host_cores = std::thread::hardware_concurrency();
    char host[256] = {0};
    if (gethostname(host, sizeof host - 1) == 0) p.hostname = host;
    p.timestamp_utc = utc_now();
    p.command_line = command_line;
    for (const auto& [role, name] : roles) {
        const PluginKind kind = role == "model" ? PluginKind::Model : PluginKind::Device;
        for (const auto& rec : registry.records()) {
            if (rec.kind != kind || rec.name != name || rec.shadowed) continue;
            p.plugins.push_back({role, rec.name, rec.version, rec.path, rec.build_id, rec.abi});
            break;
        }
    }
    return p;
}

void ProfileAccumulator::add(const std::vector<OpTiming>& timings) {
    if (timings.empty()) return;
    if (m_entries.size() != timings.size()) {
        // First run (or a device whose schedule changed): restart, keyed by position.
        m_entries.clear();
        m_iterations = 0;
        for (const auto& t : timings) m_entries.push_back({t.node_name, t.op_type, 0, t.modelled});
    }
    for (size_t i = 0; i < timings.size(); ++i) {
        m_entries[i].total_ns += timings[i].duration_ns;
        m_entries[i].modelled = m_entries[i].modelled || timings[i].modelled;
    }
    ++m_iterations;
}

std::vector<ProfileRow> ProfileAccumulator::rows(const std::string& device) const {
    std::vector<ProfileRow> out;
    if (m_iterations == 0) return out;
    double total = 0;
    for (const auto& e : m_entries) total += e.total_ns;
    for (const auto& e : m_entries) {
        ProfileRow r;
        r.node = e.node;
        r.op_type = e.op_type;
        r.device = device;
        r.mean_ms = e.total_ns / 1e6 / static_cast<double>(m_iterations);
        r.share = total > 0 ? e.total_ns / total : 0;
        r.modelled = e.modelled;
        out.push_back(std::move(r));
    }
    std::stable_sort(out.begin(), out.end(), [](const ProfileRow& a, const ProfileRow& b) { return a.mean_ms > b.mean_ms; });
    double cum = 0;
    for (auto& r : out) {
        cum += r.share;
        r.cumulative = std::min(cum, 1.0);
    }
    return out;
}

std::vector<DeviceMetric> ProfileAccumulator::metrics() const {
    std::vector<DeviceMetric> out;
    if (m_iterations == 0) return out;
    // Modelled times are the device's to summarise (it reports device_fps itself); measured ones are summed here.
    double measured_ns = 0;
    for (const auto& e : m_entries)
        if (!e.modelled) measured_ns += e.total_ns;
    const double n = static_cast<double>(m_iterations);
    if (measured_ns > 0)
        out.push_back({"measured_op_time_ms", measured_ns / 1e6 / n, "ms", "sum of the device's measured op times per batch"});
    return out;
}

namespace {

// The session options with the batch and resolution a .npy input implies (its N, H and W), and the model built for them.
Result<ModelSetup> prepare_for_input(const PluginRegistry& registry, const std::string& input, SessionOptions& so) {
    if (so.batch == 0 && is_npy_path(input)) {
        ZOO_ASSIGN_OR_RETURN(so.batch, npy_batch(input));
    }
    ZOO_ASSIGN_OR_RETURN(ModelSetup setup, prepare_model(registry, so));
    if (!is_npy_path(input)) return setup;
    // A .npy's height and width are the resolution, as its N is the batch, unless --set resolution= says otherwise.
    ZOO_ASSIGN_OR_RETURN(Shape file_shape, npy_input_shape(input));
    const Shape model_shape = input_shape(setup.graph);
    const bool resolution_set = std::any_of(so.sets.begin(), so.sets.end(), [](const std::string& s) { return s.rfind("resolution=", 0) == 0; });
    if (resolution_set || model_shape.size() != 4 || (file_shape[2] == model_shape[2] && file_shape[3] == model_shape[3]))
        return setup;
    so.sets.push_back("resolution=[" + std::to_string(file_shape[2]) + ", " + std::to_string(file_shape[3]) + "]");
    return prepare_model(registry, so);
}

// What the run is of: model, device, weights, input, and where every plugin came from.
void describe_run(RunResult& r, const PluginRegistry& registry, const RunRequest& rq, const SessionOptions& so,
                  const ModelSetup& setup, const std::string& input) {
    r.model = so.model;
    r.variant = setup.variant;
    r.device = so.device;
    r.table_path = setup.table_path;
    r.run_config = so.run_config;
    r.sets = so.sets;
    r.weights = so.weights;
    r.random_weights = setup.random_weights;
    r.seed = so.seed;
    r.batch = setup.batch;
    r.threads = so.threads;
    r.input = input;
    r.input_shape = input_shape(setup.graph);
    r.parameters = setup.graph.parameter_count();
    r.parameter_tensors = setup.graph.expected_params().size();
    r.load_ms = setup.load_ms;
    r.warmup = rq.warmup;
    std::vector<std::pair<std::string, std::string>> roles{{"model", so.model}, {"device", so.device}};
    if (!rq.reference.empty()) roles.push_back({"reference", rq.reference});
    r.provenance = collect_provenance(registry, roles, rq.command_line);
}

// What the device made of the model: its description, op count, compile time and the per-layer configs it got, most
// common first. Refuses a table (--perf-report, ...) the device cannot produce now, not after the measurement.
Status describe_compiled(RunResult& r, const CompiledSetup& dev, const RunRequest& rq, const std::string& device) {
    r.device_description = dev.device->info().description;
    r.folded_batchnorm = dev.device->info().wants_folded_batchnorm;
    r.ops = dev.graph.nodes.size();
    r.compile_ms = dev.compile_ms;
    r.warnings = dev.configs.warnings;
    std::map<std::string, int64_t> counts;
    const auto options = dev.device->layer_options();
    const LayerOptions defaults = LayerOptions::defaults(options);
    for (const auto& c : dev.configs.per_node) ++counts[config_summary(c, options, defaults)];
    std::vector<std::pair<std::string, int64_t>> summary(counts.begin(), counts.end());
    std::stable_sort(summary.begin(), summary.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    r.layer_config_summary = std::move(summary);
    const auto known_tables = dev.compiled->table_names();
    for (const auto& [table, path] : rq.device_tables) {
        if (std::find(known_tables.begin(), known_tables.end(), table) != known_tables.end()) continue;
        std::string known;
        for (const auto& t : known_tables) known += (known.empty() ? "" : ", ") + t;
        return Status::error("device '" + device + "' produces no '" + table + "' table (needed for " + path +
                             "); it produces: " + (known.empty() ? "none" : known));
    }
    return Status::ok();
}

// Every batch once (the first one's logits already in `first_outputs`), then the top classes of each item, named by
// the ImageNet labels when the model has 1000 classes and by the image's path when the input is images.
Status predict(RunResult& r, const CompiledSetup& dev, const InputSet& inputs, const std::vector<Tensor>& first_outputs,
               int64_t batch, int top) {
    std::vector<Tensor> outputs;
    std::vector<Tensor> logits_batches{first_outputs.at(0)};
    for (size_t b = 1; b < inputs.batches.size(); ++b) {
        ZOO_TRY(dev.compiled->run(inputs.batches[b], outputs).with_context("inference failed"));
        logits_batches.push_back(outputs.at(0));
    }
    r.logits = gather_logits(logits_batches, inputs.items, batch);
    std::vector<std::string> names;
    if (r.logits.shape.back() == 1000) {
        auto n = load_class_names((fs::path(data_dir()) / "data" / "imagenet_classes.txt").string());
        if (n) names = std::move(n).value();
    }
    std::vector<std::string> paths;
    if (inputs.kind == "images") {
        boost::system::error_code ec;
        if (fs::is_directory(r.input, ec)) {
            auto listed = list_images(r.input);
            if (listed) paths = std::move(listed).value();
        } else {
            paths.push_back(r.input);
        }
    }
    for (int64_t i = 0; i < inputs.items; ++i) {
        ItemPrediction p;
        p.item = inputs.item_names[static_cast<size_t>(i)];
        if (static_cast<size_t>(i) < paths.size()) p.path = paths[static_cast<size_t>(i)];
        p.top = top_k(r.logits, i, top, names);
        r.predictions.push_back(std::move(p));
    }
    return Status::ok();
}

// Non-finite outputs are never a valid run, whatever the thresholds say. With a reference or per-layer capture asked,
// the reason says where it started: one capture run of the batch holding the first bad item (only on this failure
// path, so a valid run pays nothing).
Status check_finite_outputs(RunResult& r, CompiledSetup& dev, const InputSet& inputs, const RunRequest& rq, int64_t batch) {
    const auto bad = std::find_if(r.logits.data.begin(), r.logits.data.end(), [](float v) { return !std::isfinite(v); });
    if (bad == r.logits.data.end()) return Status::ok();
    std::string reason = "the outputs hold non-finite values (" + std::string(std::isnan(*bad) ? "NaN" : "Inf") +
                         " at element " + std::to_string(bad - r.logits.data.begin()) + ")";
    if (!rq.reference.empty() || rq.per_layer_pcc) {
        const int64_t classes = r.logits.shape.back();
        const int64_t item = classes > 0 ? (bad - r.logits.data.begin()) / classes : 0;
        const size_t batch_index = std::min(static_cast<size_t>(item / std::max<int64_t>(batch, 1)), inputs.batches.size() - 1);
        auto origin = first_non_finite_layer(dev, inputs.batches[batch_index]);
        if (!origin) return origin.status().with_context("locating the first non-finite layer");
        if (*origin) reason += "; " + (*origin)->describe();
    }
    r.invalid_reasons.push_back(std::move(reason));
    return Status::ok();
}

// The first batch on the reference device too: PCC of the output (and of each layer when asked), INVALID below the
// threshold or when the PCC is not a number.
Status compare_with_reference(RunResult& r, const PluginRegistry& registry, const ModelSetup& setup, CompiledSetup& dev,
                              const InputSet& inputs, const RunRequest& rq, int threads) {
    auto ref = compile_on_device(registry, setup, rq.reference, threads);
    if (!ref) return ref.status().with_context("reference device '" + rq.reference + "'");
    ZOO_ASSIGN_OR_RETURN(ComparisonResult cmp, compare_devices(dev, ref.value(), inputs.batches[0], rq.per_layer_pcc));
    AccuracyResult acc;
    acc.reference = rq.reference;
    acc.output = cmp.outputs.at(0);
    acc.layers = std::move(cmp.layers);
    if (!std::isfinite(acc.output.pcc) && r.invalid_reasons.empty()) {
        std::string layer;
        for (const auto& l : acc.layers)
            if (!std::isfinite(l.agreement.pcc)) layer = l.layer;  // worst first: the last non-finite is the least bad
        r.invalid_reasons.push_back("output PCC is not a number" + (layer.empty() ? std::string() : " (layer " + layer + " compares non-finite)"));
    }
    if (rq.pcc_threshold > 0 && !(acc.output.pcc >= rq.pcc_threshold))
        r.invalid_reasons.push_back("output PCC " + std::to_string(acc.output.pcc) + " < threshold " +
                                    std::to_string(rq.pcc_threshold));
    r.accuracy = std::move(acc);
    return Status::ok();
}

// Warm-up, then the timed loop under the stop rule: no output, no allocation beyond the samples (reserved up front),
// profile bookkeeping only when asked and outside each sample's interval. INVALID when a cap cut the run short.
Status measure(RunResult& r, const CompiledSetup& dev, const InputSet& inputs, const RunRequest& rq, int64_t batch) {
    std::vector<Tensor> outputs;
    const size_t nb = inputs.batches.size();
    if (nb == 0) return Status::error("no input batch to measure");
    for (int i = 0; i < rq.warmup; ++i)
        ZOO_TRY(dev.compiled->run(inputs.batches[static_cast<size_t>(i) % nb], outputs).with_context("warm-up run failed"));

    ProfileAccumulator profile;
    std::vector<double> samples;
    samples.reserve(static_cast<size_t>(std::min<int64_t>(std::max<int64_t>(rq.min_iterations, 1024), rq.max_iterations)));
    const auto run_start = Clock::now();
    const auto min_end = run_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(rq.min_seconds));
    const auto max_end = run_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(rq.max_seconds));
    int64_t count = 0;
    Clock::time_point now = run_start;
    std::string stopped_by = "none";
    while (true) {
        const bool met = count >= rq.min_iterations && now >= min_end;
        if (met) {
            // The rule that held the loop longest: time when it ran past the count, else the count.
            stopped_by = rq.min_seconds > 0 && count > rq.min_iterations ? "time" : "iterations";
            break;
        }
        if (count >= rq.max_iterations) {
            stopped_by = "max-iterations";
            break;
        }
        if (now >= max_end && rq.max_seconds > 0) {
            stopped_by = "max-time";
            break;
        }
        const auto a = Clock::now();
        Status s = dev.compiled->run(inputs.batches[static_cast<size_t>(count) % nb], outputs);
        now = Clock::now();
        if (!s) return s.with_context("timed run " + std::to_string(count) + " failed");
        samples.push_back(ms_between(a, now));
        ++count;
        if (rq.profile) profile.add(dev.compiled->last_timings());
    }
    r.duration_ms = ms_between(run_start, Clock::now());
    r.stop.stopped_by = stopped_by;
    r.latency = summarize_latencies(samples);
    r.throughput_fps = r.duration_ms > 0 ? static_cast<double>(batch) * static_cast<double>(count) / (r.duration_ms / 1000.0) : 0;
    if (count < rq.min_iterations)
        r.invalid_reasons.push_back("only " + std::to_string(count) + " of the " + std::to_string(rq.min_iterations) +
                                    " iterations asked ran before the " + stopped_by + " cap");
    else if (rq.min_seconds > 0 && r.duration_ms < rq.min_seconds * 1000.0)
        r.invalid_reasons.push_back("ran " + std::to_string(r.duration_ms / 1000.0) + " s of the " + std::to_string(rq.min_seconds) +
                                    " s asked before the " + stopped_by + " cap");
    if (rq.profile) {
        r.profile = profile.rows(r.device);
        r.device_metrics = profile.metrics();
    }
    return Status::ok();
}

// What the device itself knows about the compiled model (L1 use, modelled FPS, ...) and the tables asked for.
Status collect_device_results(RunResult& r, const CompiledSetup& dev, const RunRequest& rq) {
    for (const auto& m : dev.compiled->metrics()) r.device_metrics.push_back({m.name, m.value, m.unit, m.description});
    for (const auto& [table, path] : rq.device_tables) {
        auto text = dev.compiled->table(table);
        if (!text) return text.status().with_context("device '" + r.device + "'");
        std::ofstream file(path, std::ios::binary);
        if (!(file << *text)) return Status::error(path + ": cannot write the " + table + " table");
    }
    return Status::ok();
}

}  // namespace

Result<RunResult> run_job(const PluginRegistry& registry, const RunRequest& rq, const RunObserver& observer) {
    auto notify = [&](RunStage stage, const RunResult& r) {
        if (observer) observer(stage, r);
    };
    if (rq.min_iterations < 0 || rq.max_iterations < 0 || rq.min_seconds < 0 || rq.max_seconds < 0)
        return Status::error("the stop rule needs non-negative iterations and seconds");

    RunResult r;
    SessionOptions so = rq.session;
    const std::string input = resolve_input_path(rq.input);
    ZOO_ASSIGN_OR_RETURN(ModelSetup setup, prepare_for_input(registry, input, so));
    describe_run(r, registry, rq, so, setup, input);
    notify(RunStage::Prepared, r);

    ZOO_ASSIGN_OR_RETURN(CompiledSetup dev, compile_on_device(registry, setup, so.device, so.threads, true, so.hardware));
    ZOO_TRY(describe_compiled(r, dev, rq, so.device));
    notify(RunStage::Compiled, r);

    ZOO_ASSIGN_OR_RETURN(InputSet inputs, load_inputs(input, r.input_shape, so.seed, rq.resize));
    r.input_kind = inputs.kind;
    // First inference (cold), then every batch once for the predictions.
    std::vector<Tensor> outputs;
    const auto t0 = Clock::now();
    ZOO_TRY(dev.compiled->run(inputs.batches[0], outputs).with_context("inference failed"));
    r.first_inference_ms = ms_between(t0, Clock::now());
    if (outputs.empty()) return Status::error("device '" + so.device + "' returned no outputs");
    if (rq.predict) {
        ZOO_TRY(predict(r, dev, inputs, outputs, setup.batch, rq.top));
        ZOO_TRY(check_finite_outputs(r, dev, inputs, rq, setup.batch));
    }
    notify(RunStage::Predicted, r);

    if (!rq.reference.empty()) {
        ZOO_TRY(compare_with_reference(r, registry, setup, dev, inputs, rq, so.threads));
        notify(RunStage::Compared, r);
    }

    r.stop.min_iterations = rq.min_iterations;
    r.stop.max_iterations = rq.max_iterations;
    r.stop.min_seconds = rq.min_seconds;
    r.stop.max_seconds = rq.max_seconds;
    notify(RunStage::Measuring, r);
    ZOO_TRY(measure(r, dev, inputs, rq, setup.batch));
    ZOO_TRY(collect_device_results(r, dev, rq));
    notify(RunStage::Measured, r);
    return r;
}

}  // namespace zoo::runner
