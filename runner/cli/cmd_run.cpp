// `runner run`: build, load, compile, predict, measure, report.
#include <boost/filesystem.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/commands.hpp"
#include "core/data_paths.hpp"
#include "io/npy.hpp"
#include "measure/latency_stats.hpp"
#include "output/predictions.hpp"
#include "session/inputs.hpp"
#include "session/layer_compare.hpp"
#include "session/model_session.hpp"

namespace zoo::runner::cli {

namespace fs = boost::filesystem;

void add_model_options(CLI::App& app, ModelOptions& o) {
    app.option_defaults()->always_capture_default();
    app.add_option("--model", o.model, "Model plugin (see `runner list`)")->required();
    app.add_option("--variant", o.variant, "Model variant (default: the model's first, e.g. large)");
    app.add_option("--device", o.device, "Device plugin: cpu, wormhole, ...")->required();
    app.add_option("--config", o.config, "Run config YAML: per-layer dtype, math fidelity, sharding")->check(CLI::ExistingFile);
    app.add_option("--hardware", o.hardware, "Device description YAML (default: yaml/devices/<the device's table>.yaml)")
        ->check(CLI::ExistingFile);
    app.add_option("--set", o.sets, "Override KEY=VALUE of the model table (width_mult, resolution=HxW, ...) or of the layer "
                                    "config (dtype=..., or PATTERN:KEY=VALUE for matching layers); repeatable");
    app.add_option("--weights", o.weights, "torchvision state_dict: .pth (zip or legacy) or .safetensors; default: seeded random")
        ->check(CLI::ExistingFile);
    app.add_option("--input", o.input, "IMAGE, DIR of images, FILE.npy (preprocessed float32 NCHW) or 'random'; default: "
                                       "the bundled sample images");
    app.add_option("--resize", o.resize, "Shorter side of an image before the center crop (default 256 for a 224 crop; "
                                         "232 for torchvision's IMAGENET1K_V2 weights)")->check(CLI::PositiveNumber);
    app.add_option("--batch", o.batch, "Batch size (default: the .npy's N, the run config's batch, or 1)")->check(CLI::PositiveNumber);
    app.add_option("--threads", o.threads, "Host threads for the device (0 = all)")->check(CLI::NonNegativeNumber);
    app.add_option("--seed", o.seed, "Seed for random weights and random input");
}

void add_run_options(CLI::App& app, RunOptions& o) {
    add_model_options(app, o.m);
    app.add_option("--warmup", o.warmup, "Untimed runs before measuring")->check(CLI::NonNegativeNumber);
    app.add_option("--iterations", o.iterations, "Timed runs")->check(CLI::NonNegativeNumber);
    app.add_option("--top", o.top, "Classes shown per image")->check(CLI::PositiveNumber);
    app.add_option("--reference", o.reference, "Also run on this device and report PCC and max error of the outputs against it");
    app.add_option("--pcc-threshold", o.pcc_threshold, "With --reference: exit non-zero (INVALID) when the output PCC is below this");
    app.add_option("--report", o.report, "Write a JSON report to this file");
    app.add_option("--save-output", o.save_output, "Write the logits as float32 .npy [N, classes]");
    app.add_flag("--dump-config", o.dump_config, "Print the resolved per-layer config table and exit");
}

void add_compare_options(CLI::App& app, CompareOptions& o) {
    add_model_options(app, o.m);
    app.add_option("--reference", o.reference, "Reference device");
    app.add_option("--layers", o.layers, "Layers shown, worst PCC first");
}

SessionOptions session_options(const ModelOptions& m) {
    SessionOptions so;
    so.model = m.model;
    so.variant = m.variant;
    so.device = m.device;
    so.run_config = m.config;
    so.sets = m.sets;
    so.weights = m.weights;
    so.seed = m.seed;
    so.batch = m.batch;
    so.threads = m.threads;
    so.hardware = m.hardware;
    return so;
}

std::string resolve_input(const ModelOptions& m) {
    return m.input == "samples" ? (fs::path(data_dir()) / "data" / "images").string() : m.input;
}

namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

std::string fmt(double v, int precision = 2) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(precision) << v;
    return s.str();
}

std::string with_commas(int64_t v) {
    std::string s = std::to_string(v);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
    return s;
}

int fail(const Status& s) {
    std::cerr << "error: " << s.message() << "\n";
    return 1;
}

std::string weights_format(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {0};
    in.read(magic, 4);
    if (magic[0] == 'P' && magic[1] == 'K') return "torch zip";
    if (static_cast<unsigned char>(magic[0]) == 0x80 && magic[1] == 0x02) return "torch legacy";
    return "safetensors";
}

}  // namespace

int run_run(const std::vector<std::string>& plugin_dirs, const RunOptions& o) {
    PluginRegistry registry = PluginRegistry::discover(plugin_search_dirs(plugin_dirs));

    const ModelOptions& m = o.m;
    SessionOptions so = session_options(m);
    const std::string input = resolve_input(m);
    if (so.batch == 0 && is_npy_path(input)) {
        auto n = npy_batch(input);
        if (!n) return fail(n.status());
        so.batch = *n;
    }

    auto setup_result = prepare_model(registry, so);
    if (!setup_result) return fail(setup_result.status());
    ModelSetup& setup = setup_result.value();
    const Shape in_shape = input_shape(setup.graph);

    auto compiled_result = compile_on_device(registry, setup, m.device, m.threads, !o.dump_config, m.hardware);
    if (!compiled_result) return fail(compiled_result.status());
    CompiledSetup& dev = compiled_result.value();
    for (const auto& w : dev.configs.warnings) std::cerr << "warning: " << w << "\n";

    if (o.dump_config) {
        std::cout << "Resolved layer configs for " << m.model << " (" << setup.variant << ") on " << m.device << ", batch "
                  << setup.batch << (m.config.empty() ? "" : ", config " + m.config) << ":\n"
                  << format_config_table(dev.graph, dev.configs.per_node);
        return 0;
    }

    std::cout << "runner " << version() << "  model " << m.model << " (" << setup.variant << ")  device " << m.device
              << "  batch " << setup.batch << "  input " << in_shape[2] << "x" << in_shape[3] << "\n";
    std::cout << "[1/5] Model     " << with_commas(setup.graph.parameter_count()) << " parameters, "
              << setup.graph.expected_params().size() << " tensors, table " << setup.table_path << "\n";
    if (setup.random_weights) {
        std::cerr << "\n"
                  << "  ***********************************************************************************\n"
                  << "  *  WARNING: no --weights given: using RANDOM weights (seed " << m.seed << ").\n"
                  << "  *  Predictions below are MEANINGLESS. Timing is still valid.\n"
                  << "  *  For real predictions pass torchvision's pretrained file with --weights\n"
                  << "  *  (README, 'Pretrained weights', lists torchvision's files for every model).\n"
                  << "  ***********************************************************************************\n\n";
    } else {
        std::cout << "      weights   " << m.weights << " (" << weights_format(m.weights) << ")\n";
    }
    std::cout << "[2/5] Load      " << fmt(setup.load_ms) << " ms (plugins, table, graph, weights)\n";
    std::cout << "[3/5] Compile   " << fmt(dev.compile_ms) << " ms on " << m.device << ": " << dev.device->info().description
              << "; " << dev.graph.nodes.size() << " ops"
              << (dev.device->info().wants_folded_batchnorm ? " (BatchNorm folded into convs)" : "") << "\n";

    auto inputs_result = load_inputs(input, in_shape, m.seed, m.resize);
    if (!inputs_result) return fail(inputs_result.status());
    InputSet& inputs = inputs_result.value();

    // First inference (cold), then every batch once for the predictions.
    std::vector<Tensor> outputs;
    std::vector<Tensor> logits_batches;
    auto t0 = Clock::now();
    Status s = dev.compiled->run({inputs.batches[0]}, outputs);
    const double first_ms = ms_between(t0, Clock::now());
    if (!s) return fail(s.with_context("inference failed"));
    logits_batches.push_back(outputs.at(0));
    for (size_t b = 1; b < inputs.batches.size(); ++b) {
        s = dev.compiled->run({inputs.batches[b]}, outputs);
        if (!s) return fail(s.with_context("inference failed"));
        logits_batches.push_back(outputs.at(0));
    }
    const int64_t classes = logits_batches[0].shape.back();
    Tensor logits(Shape{inputs.items, classes});
    for (int64_t i = 0; i < inputs.items; ++i) {
        const Tensor& src = logits_batches[static_cast<size_t>(i / setup.batch)];
        std::copy_n(src.data.begin() + (i % setup.batch) * classes, classes, logits.data.begin() + i * classes);
    }

    std::vector<std::string> names;
    if (classes == 1000) {
        auto n = load_class_names((fs::path(data_dir()) / "data" / "imagenet_classes.txt").string());
        if (n) names = std::move(n).value();
    }
    std::cout << "[4/5] Predictions (top-" << o.top << ", softmax)" << (setup.random_weights ? "  [random weights]" : "") << "\n";
    nlohmann::json predictions = nlohmann::json::array();
    for (int64_t i = 0; i < inputs.items; ++i) {
        const auto top = top_k(logits, i, o.top, names);
        std::cout << "  " << inputs.item_names[static_cast<size_t>(i)] << "\n";
        nlohmann::json jp = nlohmann::json::array();
        for (size_t r = 0; r < top.size(); ++r) {
            std::cout << "    " << r + 1 << ". " << std::setw(6) << fmt(100.0 * top[r].probability) << "%  " << std::left
                      << std::setw(5) << top[r].class_index << std::right << " " << top[r].label << "\n";
            jp.push_back({{"class", top[r].class_index}, {"label", top[r].label}, {"probability", top[r].probability}});
        }
        predictions.push_back({{"item", inputs.item_names[static_cast<size_t>(i)]}, {"top", jp}});
    }
    if (!o.save_output.empty()) {
        s = write_npy(o.save_output, logits);
        if (!s) return fail(s);
        std::cout << "      logits    " << o.save_output << " " << shape_to_string(logits.shape) << " float32\n";
    }

    nlohmann::json accuracy;
    std::vector<std::string> invalid_reasons;
    if (!o.reference.empty()) {
        auto ref = compile_on_device(registry, setup, o.reference, m.threads);
        if (!ref) return fail(ref.status().with_context("reference device"));
        auto cmp = compare_devices(dev, ref.value(), inputs.batches[0], false);
        if (!cmp) return fail(cmp.status());
        const Agreement& a = cmp->outputs.at(0);
        std::cout << "      accuracy  vs " << o.reference << ": PCC " << fmt(a.pcc, 6) << ", max |err| " << fmt(a.max_abs_error, 5)
                  << " (" << fmt(100.0 * a.relative_max_error(), 3) << "% of max |ref| " << fmt(a.max_abs_reference, 4) << ")\n";
        accuracy = {{"reference", o.reference}, {"pcc", a.pcc}, {"max_abs_error", a.max_abs_error},
                    {"max_abs_reference", a.max_abs_reference}};
        if (o.pcc_threshold > 0 && !(a.pcc >= o.pcc_threshold))
            invalid_reasons.push_back("output PCC " + fmt(a.pcc, 6) + " < threshold " + fmt(o.pcc_threshold, 6));
    }

    std::cout << "[5/5] Measuring (sync, batch " << setup.batch << ", " << o.warmup << " warm-up, " << o.iterations
              << " iterations)\n";
    for (int i = 0; i < o.warmup; ++i) {
        s = dev.compiled->run({inputs.batches[static_cast<size_t>(i) % inputs.batches.size()]}, outputs);
        if (!s) return fail(s);
    }
    std::vector<double> samples;
    samples.reserve(static_cast<size_t>(o.iterations));
    const auto run_start = Clock::now();
    for (int i = 0; i < o.iterations; ++i) {
        const auto a = Clock::now();
        s = dev.compiled->run({inputs.batches[static_cast<size_t>(i) % inputs.batches.size()]}, outputs);
        samples.push_back(ms_between(a, Clock::now()));
        if (!s) return fail(s);
    }
    const double wall_ms = ms_between(run_start, Clock::now());
    const LatencyStats st = summarize_latencies(samples);
    const double fps = wall_ms > 0 ? static_cast<double>(setup.batch) * st.count / (wall_ms / 1000.0) : 0;
    std::cout << "Device:      " << m.device << " (" << dev.device->info().description << ")\n"
              << "First run:   " << fmt(first_ms) << " ms (includes one-time warm-up of the device)\n";
    if (st.count > 0) {
        std::cout << "Count:       " << st.count << " iterations\n"
                  << "Duration:    " << fmt(wall_ms) << " ms\n"
                  << "Latency:     median " << fmt(st.median_ms) << " ms   mean " << fmt(st.mean_ms) << " ms   min "
                  << fmt(st.min_ms) << " ms   max " << fmt(st.max_ms) << " ms   p90 " << fmt(st.p90_ms) << " ms   p99 "
                  << fmt(st.p99_ms) << " ms   stddev " << fmt(st.stddev_ms) << " ms\n"
                  << "Throughput:  " << fmt(fps, 1) << " images/s (batch " << setup.batch << " x " << st.count << " / "
                  << fmt(wall_ms / 1000.0, 3) << " s)\n";
    }

    std::cout << "Result:      " << (invalid_reasons.empty() ? "VALID" : "INVALID");
    for (const auto& r : invalid_reasons) std::cout << " (" << r << ")";
    std::cout << "\n";

    if (!o.report.empty()) {
        nlohmann::json r;
        r["schema"] = "zoo-runner-report/1";
        r["runner_version"] = version();
        r["model"] = {{"name", m.model}, {"variant", setup.variant}, {"table", setup.table_path},
                      {"parameters", setup.graph.parameter_count()}, {"input_shape", in_shape}};
        r["device"] = {{"name", m.device}, {"description", dev.device->info().description}};
        r["weights"] = setup.random_weights ? nlohmann::json{{"random", true}, {"seed", m.seed}}
                                            : nlohmann::json{{"random", false}, {"path", m.weights}};
        r["config"] = {{"run_config", m.config}, {"sets", m.sets}, {"batch", setup.batch}, {"threads", m.threads}};
        r["timing_ms"] = {{"load", setup.load_ms}, {"compile", dev.compile_ms}, {"first_inference", first_ms}};
        r["latency_ms"] = {{"count", st.count}, {"min", st.min_ms}, {"median", st.median_ms}, {"mean", st.mean_ms},
                           {"p90", st.p90_ms},  {"p95", st.p95_ms}, {"p99", st.p99_ms},       {"max", st.max_ms},
                           {"stddev", st.stddev_ms}, {"cv", st.cv()}};
        r["throughput_fps"] = fps;
        r["predictions"] = predictions;
        if (!accuracy.is_null()) r["accuracy"] = accuracy;
        r["result"] = invalid_reasons.empty() ? "VALID" : "INVALID";
        r["invalid_reasons"] = invalid_reasons;
        std::ofstream out(o.report);
        if (!out) return fail(Status::error(o.report + ": cannot write the report"));
        out << r.dump(2) << "\n";
        std::cout << "Report:      " << o.report << "\n";
    }
    return invalid_reasons.empty() ? 0 : 3;
}

int run_compare(const std::vector<std::string>& plugin_dirs, const CompareOptions& o) {
    PluginRegistry registry = PluginRegistry::discover(plugin_search_dirs(plugin_dirs));
    const ModelOptions& m = o.m;
    SessionOptions so = session_options(m);
    const std::string input = resolve_input(m);
    if (so.batch == 0 && is_npy_path(input)) {
        auto n = npy_batch(input);
        if (!n) return fail(n.status());
        so.batch = *n;
    }
    auto setup = prepare_model(registry, so);
    if (!setup) return fail(setup.status());
    if (setup->random_weights) std::cerr << "note: random weights (seed " << m.seed << "); pass --weights for a pretrained file\n";
    auto dev = compile_on_device(registry, *setup, m.device, m.threads, true, m.hardware);
    if (!dev) return fail(dev.status());
    auto ref = compile_on_device(registry, *setup, o.reference, m.threads);
    if (!ref) return fail(ref.status().with_context("reference device"));
    auto inputs = load_inputs(input, input_shape(setup->graph), m.seed, m.resize);
    if (!inputs) return fail(inputs.status());
    auto cmp = compare_devices(dev.value(), ref.value(), inputs->batches[0], true);
    if (!cmp) return fail(cmp.status());
    std::cout << "Model " << m.model << " (" << setup->variant << ") on " << m.device << " vs " << o.reference << ", batch "
              << setup->batch << ", input " << (m.input == "samples" ? "bundled samples" : m.input) << "\n";
    for (size_t i = 0; i < cmp->outputs.size(); ++i) {
        const Agreement& a = cmp->outputs[i];
        std::cout << "Output " << i << ": PCC " << fmt(a.pcc, 6) << ", max |err| " << fmt(a.max_abs_error, 5) << " ("
                  << fmt(100.0 * a.relative_max_error(), 3) << "% of max |ref|)\n";
    }
    std::cout << "\nPer layer, worst PCC first (" << cmp->layers.size() << " layers compared):\n"
              << format_layer_table(cmp->layers, o.layers);
    return 0;
}

}  // namespace zoo::runner::cli