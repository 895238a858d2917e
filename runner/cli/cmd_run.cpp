// `runner run`: flags -> RunRequest, run_job(), then print the RunResult (console, reports, demo images).
#include <boost/filesystem.hpp>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <thread>
#include <sstream>

#include "cli/commands.hpp"
#include <unistd.h>

#include "config/run_config.hpp"
#include "core/data_paths.hpp"
#include "image/preprocess.hpp"
#include "io/npy.hpp"
#include "output/annotate.hpp"
#include "report/report.hpp"
#include "session/inputs.hpp"
#include "session/model_session.hpp"
#include "session/run_job.hpp"

namespace zoo::runner::cli {

namespace fs = boost::filesystem;

std::vector<std::string>& command_line() {
    static std::vector<std::string> args;
    return args;
}

std::string with_commas(int64_t v) {
    std::string s = std::to_string(v);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
    return s;
}

namespace {

CLI::Validator number_check(const std::string& description, bool (*ok)(double), const std::string& expected) {
    return CLI::Validator(
        [ok, expected](std::string& text) -> std::string {
            double v = 0;
            if (!CLI::detail::lexical_cast(text, v) || !ok(v)) return "must be " + expected + ", found " + text;
            return {};
        },
        description);
}

}  // namespace

CLI::Validator data_file() {
    return CLI::Validator(
        [](std::string& path) -> std::string {
            boost::system::error_code ec;
            if (fs::is_regular_file(path, ec)) return {};
            // `--config yaml/configs/x.yaml` from outside the checkout: the bundled file of the same relative name.
            const fs::path bundled = fs::path(data_dir()) / path;
            if (fs::path(path).is_relative() && fs::is_regular_file(bundled, ec)) {
                path = bundled.string();
                return {};
            }
            return "no such file: " + path + " (nor " + bundled.string() + ")";
        },
        "FILE");
}

CLI::Validator positive() {
    return number_check("POSITIVE", [](double v) { return v > 0; }, "a positive number");
}
CLI::Validator non_negative() {
    return number_check("NON-NEGATIVE", [](double v) { return v >= 0; }, "0 or more");
}
CLI::Validator pcc_range() {
    return number_check("IN [-1, 1]", [](double v) { return v >= -1 && v <= 1; }, "a PCC between -1 and 1");
}

int fail(const Status& s) {
    std::cerr << "error: " << s.message() << "\n";
    return kExitError;
}

std::string significant(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

std::string agreement_text(const Agreement& a) {
    // Three significant digits: fixed decimals printed a 1e-6 error as 0.00000 beside "27.115%" of it.
    return "PCC " + fixed(a.pcc, 6) + ", max |err| " + significant(a.max_abs_error) + " (" +
           significant(100.0 * a.relative_max_error()) + "% of max |ref| " + significant(a.max_abs_reference) + ")";
}

Status check_threads(int threads) {
    const unsigned hw = std::thread::hardware_concurrency();
    // More threads than the host has oversubscribes TBB (a warning on stderr, several times slower): never a valid timing.
    if (hw > 0 && threads > static_cast<int>(hw))
        return Status::error("--threads " + std::to_string(threads) + ": this host has " + std::to_string(hw) +
                             " hardware threads (0 = all of them)");
    return Status::ok();
}

Status check_output_file(const std::string& path, const std::string& option) {
    const fs::path p(path);
    boost::system::error_code ec;
    if (fs::is_directory(p, ec)) return Status::error(option + " " + path + ": is a folder, expected a file name");
    const fs::path parent = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    if (!fs::is_directory(parent, ec)) return Status::error(option + " " + path + ": the folder " + parent.string() + " does not exist");
    if (::access(parent.c_str(), W_OK) != 0) return Status::error(option + " " + path + ": the folder " + parent.string() + " is not writable");
    return Status::ok();
}

Status check_input(const std::string& input) {
    if (input == "random" || input == "samples") return Status::ok();
    const std::string path = resolve_input_path(input);
    boost::system::error_code ec;
    if (!fs::exists(path, ec))
        return Status::error("--input " + input + ": no such file or folder (--input takes an image, a folder of images, a .npy tensor or 'random')");
    if (fs::is_directory(path, ec)) return Status::ok();
    if (!fs::is_regular_file(path, ec)) return Status::error("--input " + input + ": not a regular file (a pipe or device?)");
    if (is_npy_path(path)) return npy_input_shape(path).status();
    // An image is decoded later, but a file no decoder knows is refused now, from its first bytes.
    return check_image_signature(path);
}

void add_model_options(CLI::App& app, ModelOptions& o) {
    app.option_defaults()->always_capture_default();
    app.add_option("--model", o.model, "Model plugin (see `runner list`)")->required();
    app.add_option("--variant", o.variant, "Model variant (default: the model's first, e.g. large)");
    app.add_option("--device", o.device, "Device plugin: cpu, wormhole, ...")->required();
    app.add_option("--config", o.config, "Run config YAML: per-layer dtype, math fidelity, sharding (yaml/configs/...; "
                                         "relative paths are also looked up in the install's data folder)")
        ->transform(data_file());
    app.add_option("--hardware", o.hardware, "Device description YAML (default: yaml/devices/<the device's table>.yaml)")
        ->transform(data_file());
    app.add_option("--set", o.sets, "Override KEY=VALUE of the model table (width_mult, resolution=HxW, ...) or of the layer "
                                    "config (dtype=..., or PATTERN:KEY=VALUE for matching layers); repeatable");
    app.add_option("--weights", o.weights, "torchvision state_dict: .pth (zip or legacy) or .safetensors; default: seeded random")
        ->check(CLI::ExistingFile);
    app.add_option("--input", o.input, "IMAGE, DIR of images, FILE.npy (preprocessed float32 NCHW) or 'random'; default: "
                                       "the bundled sample images");
    app.add_option("--resize", o.resize, "Shorter side of an image before the center crop (default 256 for a 224 crop; "
                                         "232 for torchvision's IMAGENET1K_V2 weights)")->check(positive());
    app.add_option("--batch", o.batch, "Batch size (default: the .npy's N, the run config's batch, or 1)")->check(positive());
    app.add_option("--threads", o.threads, "Host threads for the device (0 = all)")->check(non_negative());
    app.add_option("--seed", o.seed, "Seed for random weights and random input");
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

Result<SessionOptions> session_options_with_input_batch(const ModelOptions& m) {
    SessionOptions so = session_options(m);
    const std::string input = resolve_input_path(m.input);
    if (so.batch == 0 && is_npy_path(input)) {
        ZOO_ASSIGN_OR_RETURN(so.batch, npy_batch(input));
    }
    return so;
}

void add_run_options(CLI::App& app, RunOptions& o) {
    add_model_options(app, o.m);
    app.add_option("--warmup", o.warmup, "Untimed runs before measuring")->check(non_negative());
    app.add_option("--iterations", o.iterations, "Timed runs: at least this many (0 with --time 0: accuracy only, no timing)")
        ->check(non_negative());
    app.add_option("--time", o.time_s, "And at least this many seconds of timed runs")->check(non_negative());
    app.add_option("--max-iterations", o.max_iterations, "Cap on timed runs (INVALID if it stops the run before --iterations/--time)")
        ->check(positive());
    app.add_option("--max-time", o.max_time_s, "Cap on the timed loop in seconds (INVALID if it stops the run early)")
        ->check(positive());
    app.add_option("--top", o.top, "Classes shown per image")->check(positive());
    app.add_option("--reference", o.reference, "Also run on this device and report PCC and max error of the outputs against it");
    app.add_option("--pcc-threshold", o.pcc_threshold, "With --reference: INVALID (exit 3) when the output PCC is below this")
        ->check(pcc_range());
    app.add_flag("--layer-pcc", o.layer_pcc, "With --reference: also compare every layer (in the report and its HTML)");
    app.add_option("--perf-report", o.perf_report, "Write the device's ops perf report (tt-metal's ops_perf_results "
                                                   "columns) as CSV; Wormhole emulator");
    app.add_option("--trace", o.trace, "Write a Chrome-trace timeline (Perfetto, chrome://tracing) of the device ops; "
                                       "Wormhole emulator");
    app.add_option("--memory-report", o.memory_report, "Write the device's per-layer L1 plan as CSV; Wormhole emulator");
    app.add_flag("--profile", o.profile, "Per-layer profile: kernels sorted by time (mean over the timed iterations)");
    app.add_option("--profile-rows", o.profile_rows, "Rows of the profile printed (the report has all)");
    app.add_option("--report", o.report, "Write a report: .json, .jsonl (appends), .csv or .md (schema zoo-runner-report/2)");
    app.add_option("--report-format", o.report_format, "json, jsonl, csv or md (default: from the --report extension)")
        ->check(CLI::IsMember({"json", "jsonl", "csv", "md", "markdown"}));
    app.add_option("--output", o.output, "Write each input image with its top-1 label drawn on it, and contact_sheet.jpg, here");
    app.add_option("--save-output", o.save_output, "Write the logits as float32 .npy [N, classes]");
    app.add_flag("--dump-config", o.dump_config, "Print the resolved per-layer config table and exit");
}

namespace {

std::string weights_format(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {0};
    in.read(magic, 4);
    if (magic[0] == 'P' && magic[1] == 'K') return "torch zip";
    if (static_cast<unsigned char>(magic[0]) == 0x80 && magic[1] == 0x02) return "torch legacy";
    return "safetensors";
}

std::string stop_rule_text(const StopRule& s) {
    std::string t;
    if (s.min_iterations == 0 && s.min_seconds == 0) return "no timed iterations (accuracy only)";
    if (s.min_iterations > 0) t = std::to_string(s.min_iterations) + " iterations";
    if (s.min_seconds > 0) t += (t.empty() ? "" : " and ") + fixed(s.min_seconds, s.min_seconds < 10 ? 1 : 0) + " s";
    return "at least " + t;
}

int dump_config(const PluginRegistry& registry, const RunOptions& o) {
    const ModelOptions& m = o.m;
    auto so = session_options_with_input_batch(m);
    if (!so) return fail(so.status());
    auto setup = prepare_model(registry, *so);
    if (!setup) return fail(setup.status());
    auto dev = compile_on_device(registry, *setup, m.device, m.threads, false, m.hardware);
    if (!dev) return fail(dev.status());
    for (const auto& w : dev->configs.warnings) std::cerr << "warning: " << w << "\n";
    std::cout << "Resolved layer configs for " << m.model << " (" << setup->variant << ") on " << m.device << ", batch "
              << setup->batch << (m.config.empty() ? "" : ", config " + m.config) << ":\n"
              << format_config_table(dev->graph, dev->device->layer_options(), dev->configs.per_node);
    std::cout << "\n" << format_option_declarations(m.device, dev->device->layer_options());
    return kExitOk;
}

// The console lines of each stage, printed as the stage completes (never inside the timed loop).
void print_stage(RunStage stage, const RunResult& r, const RunOptions& o) {
    switch (stage) {
        case RunStage::Prepared:
            std::cout << "runner " << version() << "  model " << r.model << " (" << r.variant << ")  device " << r.device
                      << "  batch " << r.batch << "  input " << r.input_shape[2] << "x" << r.input_shape[3] << "\n";
            std::cout << "[1/5] Model     " << with_commas(r.parameters) << " parameters, " << r.parameter_tensors
                      << " tensors, table " << r.table_path << "\n";
            if (r.random_weights) {
                std::cerr << "\n"
                          << "  ***********************************************************************************\n"
                          << "  *  WARNING: no --weights given: using RANDOM weights (seed " << r.seed << ").\n"
                          << "  *  Predictions below are MEANINGLESS. Timing is still valid.\n"
                          << "  *  For real predictions pass torchvision's pretrained file with --weights\n"
                          << "  *  (README, 'Pretrained weights', lists torchvision's files for every model).\n"
                          << "  ***********************************************************************************\n\n";
            } else {
                std::cout << "      weights   " << r.weights << " (" << weights_format(r.weights) << ")\n";
            }
            std::cout << "[2/5] Load      " << fixed(r.load_ms) << " ms (plugins, table, graph, weights)\n";
            break;
        case RunStage::Compiled:
            for (const auto& w : r.warnings) std::cerr << "warning: " << w << "\n";
            std::cout << "[3/5] Compile   " << fixed(r.compile_ms) << " ms on " << r.device << ": " << r.device_description << "; "
                      << r.ops << " ops" << (r.folded_batchnorm ? " (BatchNorm folded into convs)" : "") << "\n";
            break;
        case RunStage::Predicted:
            std::cout << "[4/5] Predictions (top-" << o.top << ", softmax)" << (r.random_weights ? "  [random weights]" : "") << "\n";
            for (const auto& p : r.predictions) {
                std::cout << "  " << p.item << "\n";
                for (size_t k = 0; k < p.top.size(); ++k)
                    std::cout << "    " << k + 1 << ". " << std::setw(6) << fixed(100.0 * p.top[k].probability) << "%  " << std::left
                              << std::setw(5) << p.top[k].class_index << std::right << " " << p.top[k].label << "\n";
            }
            break;
        case RunStage::Compared: {
            const auto& a = *r.accuracy;
            std::cout << "      accuracy  vs " << a.reference << ": " << agreement_text(a.output)
                      << (a.layers.empty() ? "" : "; " + std::to_string(a.layers.size()) + " layers compared") << "\n";
            break;
        }
        case RunStage::Measuring:
            std::cout << "[5/5] Measuring (sync, batch " << r.batch << ", " << r.warmup << " warm-up, " << stop_rule_text(r.stop)
                      << ", caps " << r.stop.max_iterations << " iterations / " << fixed(r.stop.max_seconds, 0) << " s)"
                      << std::endl;  // flushed: the timed loop follows
            break;
        case RunStage::Measured: break;
    }
}

void print_profile(const RunResult& r, size_t rows) {
    if (r.profile.empty()) {
        std::cout << "Profile:     the device reported no per-op timings\n";
        return;
    }
    size_t name_w = 5, op_w = 7;
    for (size_t i = 0; i < std::min(rows, r.profile.size()); ++i) {
        name_w = std::max(name_w, r.profile[i].node.size());
        op_w = std::max(op_w, r.profile[i].op_type.size());
    }
    double total = 0;
    for (const auto& p : r.profile) total += p.mean_ms;
    const bool modelled = r.profile.front().modelled;
    std::cout << "\nPer-layer profile (" << r.profile.size() << " kernels, " << (modelled ? "modelled device" : "measured host")
              << " time, mean of " << r.latency.count << " iterations, sum " << fixed(total, 3) << " ms):\n";
    std::cout << std::left << std::setw(static_cast<int>(name_w)) << "layer" << "  " << std::setw(static_cast<int>(op_w)) << "op type"
              << "  " << std::setw(10) << "device" << std::right << std::setw(11) << "time ms" << std::setw(8) << "%" << std::setw(8)
              << "cum %" << "\n";
    for (size_t i = 0; i < std::min(rows, r.profile.size()); ++i) {
        const auto& p = r.profile[i];
        std::cout << std::left << std::setw(static_cast<int>(name_w)) << p.node << "  " << std::setw(static_cast<int>(op_w))
                  << p.op_type << "  " << std::setw(10) << (p.device + (p.modelled ? "*" : "")) << std::right << std::setw(11)
                  << fixed(p.mean_ms, 4) << std::setw(8) << fixed(100 * p.share, 1) << std::setw(8) << fixed(100 * p.cumulative, 1)
                  << "\n";
    }
    if (r.profile.size() > rows)
        std::cout << "... " << r.profile.size() - rows << " more kernels (--profile-rows N shows more; the report has all)\n";
    if (modelled) std::cout << "(* modelled time)\n";
    // By op type: where the time goes in aggregate.
    std::map<std::string, std::pair<double, int>> by_type;
    for (const auto& p : r.profile) {
        by_type[p.op_type].first += p.mean_ms;
        ++by_type[p.op_type].second;
    }
    std::vector<std::pair<std::string, std::pair<double, int>>> types(by_type.begin(), by_type.end());
    std::sort(types.begin(), types.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
    std::cout << "By op type:";
    for (size_t i = 0; i < types.size(); ++i)  // all of them: a top-N cut would hide a different type run to run
        std::cout << (i ? ", " : " ") << types[i].first << " " << fixed(100 * types[i].second.first / total, 1) << "% ("
                  << types[i].second.second << ")";
    std::cout << "\n\n";
}

int write_demo(const RunResult& r, const std::string& dir) {
    std::vector<AnnotatedItem> items;
    for (const auto& p : r.predictions)
        if (!p.path.empty() && !p.top.empty())
            items.push_back({p.path, p.top[0].label + "  " + fixed(100.0 * p.top[0].probability, 1) + "%"});
    if (items.empty()) {
        std::cerr << "warning: --output draws on images; the input was " << r.input_kind << ", nothing written\n";
        return kExitOk;
    }
    boost::system::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return fail(Status::error(dir + ": cannot create the output folder: " + ec.message()));
    for (size_t i = 0; i < items.size(); ++i) {
        Status s = write_annotated_image(items[i], (fs::path(dir) / annotated_name(items[i].image_path, i)).string());
        if (!s) return fail(s);
    }
    Status s = write_contact_sheet(items, (fs::path(dir) / "contact_sheet.jpg").string());
    if (!s) return fail(s);
    std::cout << "Images:      " << items.size() << " labelled images and contact_sheet.jpg in " << dir
              << (r.random_weights ? " (random weights: labels are meaningless)" : "") << "\n";
    return kExitOk;
}

// Everything a path or an option combination can get wrong, checked before the load, compile and run: a typo must
// not cost a long run (the run config is parsed once, by the session's load, before the compile). kExitOk when all
// is well.
int check_before_running(const RunOptions& o) {
    if (!o.report.empty()) ZOO_CLI_TRY(check_output_file(o.report, "--report"));
    if (!o.save_output.empty()) ZOO_CLI_TRY(check_output_file(o.save_output, "--save-output"));
    for (const auto& f : {o.perf_report, o.trace, o.memory_report})
        if (!f.empty()) ZOO_CLI_TRY(check_output_file(f, "a device table"));
    if (!o.output.empty()) {
        boost::system::error_code ec;
        if (fs::exists(o.output, ec) && !fs::is_directory(o.output, ec))
            return fail(Status::error("--output " + o.output + ": exists and is not a folder (labelled images are written into a folder)"));
    }
    ZOO_CLI_TRY(check_input(o.m.input));
    if (Status t = check_threads(o.m.threads); !t) {
        std::cerr << "error: " << t.message() << "\n";
        return kExitUsage;
    }
    return kExitOk;
}

RunRequest run_request(const RunOptions& o) {
    RunRequest rq;
    rq.session = session_options(o.m);
    rq.input = o.m.input;
    rq.resize = o.m.resize;
    rq.warmup = o.warmup;
    rq.min_iterations = o.iterations;
    rq.min_seconds = o.time_s;
    rq.max_iterations = o.max_iterations;
    rq.max_seconds = o.max_time_s;
    rq.top = o.top;
    rq.reference = o.reference;
    rq.per_layer_pcc = o.layer_pcc && !o.reference.empty();
    rq.pcc_threshold = o.pcc_threshold;
    rq.profile = o.profile;
    if (!o.perf_report.empty()) rq.device_tables["ops"] = o.perf_report;
    if (!o.trace.empty()) rq.device_tables["trace"] = o.trace;
    if (!o.memory_report.empty()) rq.device_tables["memory"] = o.memory_report;
    rq.command_line = command_line();
    return rq;
}

// The device, the host timings (measured) and the device's metrics (modelled ones marked).
void print_timings(const RunResult& r) {
    const LatencyStats& st = r.latency;
    std::cout << "Device:      " << r.device << " (" << r.device_description << ")"
              << (r.threads > 0 ? "; host threads used: " + std::to_string(r.threads) : std::string()) << "\n"
              << "First run:   " << fixed(r.first_inference_ms) << " ms (includes one-time warm-up of the device)\n";
    if (st.count > 0) {
        std::cout << "Count:       " << st.count << " iterations (stopped by " << r.stop.stopped_by << ")\n"
                  << "Duration:    " << fixed(r.duration_ms) << " ms\n"
                  << "Latency:     median " << fixed(st.median_ms) << " ms   mean " << fixed(st.mean_ms) << " ms   min "
                  << fixed(st.min_ms) << " ms   max " << fixed(st.max_ms) << " ms   p90 " << fixed(st.p90_ms) << " ms   p95 "
                  << fixed(st.p95_ms) << " ms   p99 " << fixed(st.p99_ms) << " ms\n"
                  << "Spread:      stddev " << fixed(st.stddev_ms, 3) << " ms   CV " << fixed(100 * st.cv(), 1) << "%\n"
                  << "Throughput:  " << fixed(r.throughput_fps, 1) << " images/s measured on the host (batch " << r.batch << " x " << st.count << " / "
                  << fixed(r.duration_ms / 1000.0, 3) << " s)\n";
    } else {
        std::cout << "Count:       0 iterations (no timing asked)\n";
    }
    for (const auto& m : r.device_metrics)
        std::cout << "Metric:      " << (m.source.rfind("modelled", 0) == 0 ? "[modelled] " : "") << m.name << " "
                  << fixed(m.value, 3) << " " << m.unit
                  << "  (" << m.source << ")\n";
}

}  // namespace

int run_run(const std::vector<std::string>& plugin_dirs, const RunOptions& o) {
    PluginRegistry registry = PluginRegistry::discover(plugin_search_dirs(plugin_dirs));
    if (o.dump_config) return dump_config(registry, o);
    ReportFormat report_format = ReportFormat::Json;
    if (!o.report.empty()) {
        auto f = report_format_for(o.report, o.report_format);
        if (!f) return fail(f.status());  // before running, like the checks below
        report_format = *f;
    }
    if (int rc = check_before_running(o); rc != kExitOk) return rc;
    if (o.layer_pcc && o.reference.empty()) std::cerr << "warning: --layer-pcc needs --reference DEVICE; ignored\n";
    if (o.pcc_threshold > 0 && o.reference.empty()) std::cerr << "warning: --pcc-threshold needs --reference DEVICE; ignored\n";

    auto result = run_job(registry, run_request(o), [&](RunStage stage, const RunResult& r) { print_stage(stage, r, o); });
    if (!result) return fail(result.status());
    const RunResult& r = *result;

    if (!o.save_output.empty()) {
        Status s = write_npy(o.save_output, r.logits);
        if (!s) return fail(s);
        std::cout << "      logits    " << o.save_output << " " << shape_to_string(r.logits.shape) << " float32\n";
    }
    if (o.profile) print_profile(r, o.profile_rows);
    print_timings(r);
    if (!o.output.empty()) {
        int rc = write_demo(r, o.output);
        if (rc != kExitOk) return rc;
    }
    if (!o.report.empty()) {
        Status s = write_report(o.report, report_format, r);
        if (!s) return fail(s);
        std::cout << "Report:      " << o.report << "\n";
    }
    std::cout << "Result:      " << (r.valid() ? "VALID" : "INVALID");
    for (const auto& reason : r.invalid_reasons) std::cout << " (" << reason << ")";
    std::cout << "\n";
    return r.valid() ? kExitOk : kExitInvalid;
}

}  // namespace zoo::runner::cli
