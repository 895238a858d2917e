// `runner stream`: the performant runner (initialise, stream images through the host/device pipeline, release).
#include <boost/filesystem.hpp>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "core/data_paths.hpp"
#include "image/preprocess.hpp"
#include "session/inputs.hpp"
#include "session/performant_runner.hpp"

namespace zoo::runner::cli {

namespace fs = boost::filesystem;

namespace {

std::string ms(double v) {
    std::ostringstream os;
    os << std::fixed << std::setprecision(2) << v << " ms";
    return os.str();
}

std::string num(double v, int digits) {
    std::ostringstream os;
    os << std::fixed << std::setprecision(digits) << v;
    return os.str();
}

// The image files of --input: one image or the images of a folder.
Result<std::vector<std::string>> stream_images(const std::string& input) {
    const std::string path = resolve_input_path(input);
    if (input == "random" || is_npy_path(path))
        return Status::error("--input " + input + ": runner stream takes an image or a folder of images");
    boost::system::error_code ec;
    if (!fs::exists(path, ec)) return Status::error(path + ": no such file or folder (--input takes an image or a folder of images)");
    if (!fs::is_directory(path, ec)) return std::vector<std::string>{path};
    ZOO_ASSIGN_OR_RETURN(std::vector<std::string> files, list_images(path));
    if (files.empty()) return Status::error(path + ": the folder holds no images (png, jpg, jpeg, bmp, webp, tif)");
    return files;
}

}  // namespace

void add_stream_options(CLI::App& app, StreamOptions& o) {
    app.option_defaults()->always_capture_default();
    app.add_option("--model", o.m.model, "Model plugin (see `runner list`)")->required();
    app.add_option("--variant", o.m.variant, "Model variant (default: the model's first, e.g. large)");
    app.add_option("--device", o.m.device, "Device plugin: cpu, wormhole, ...")->required();
    app.add_option("--config", o.m.config, "Run config YAML: per-layer dtype, math fidelity, sharding")->check(CLI::ExistingFile);
    app.add_option("--hardware", o.m.hardware, "Device description YAML (default: yaml/devices/<the device's table>.yaml)")
        ->check(CLI::ExistingFile);
    app.add_option("--set", o.m.sets, "Override KEY=VALUE of the model table or of the layer config; repeatable");
    app.add_option("--weights", o.m.weights, "torchvision state_dict: .pth or .safetensors; default: seeded random")
        ->check(CLI::ExistingFile);
    app.add_option("--input", o.m.input, "IMAGE or DIR of images; default: the bundled sample images");
    app.add_option("--batch", o.m.batch, "Batch size (default: the run config's batch, or 1)")->check(positive());
    app.add_option("--repeat", o.repeat, "Repeat the image list this many times to make a longer stream")->check(positive());
    app.add_option("--in-flight", o.in_flight, "Batches alive in the pipeline at once (1 = serial, 2 = preprocess the next "
                                               "batch while the device runs this one)")->check(positive());
    app.add_option("--threads", o.m.threads, "Host threads for the device (0 = all)")->check(non_negative());
    app.add_option("--seed", o.m.seed, "Seed for random weights and the probe batch");
}

int run_stream(const std::vector<std::string>& plugin_dirs, const StreamOptions& o) {
    auto files = stream_images(o.m.input);
    if (!files) return fail(files.status());
    std::vector<std::string> stream;
    for (int r = 0; r < o.repeat; ++r) stream.insert(stream.end(), files->begin(), files->end());

    PluginRegistry registry = PluginRegistry::discover(plugin_search_dirs(plugin_dirs));
    auto runner = PerformantRunner::initialise(registry, session_options(o.m));
    if (!runner) return fail(runner.status().with_context("initialise"));
    PerformantRunner& pr = **runner;

    std::cout << "Stream: " << o.m.model << "/" << pr.variant() << " on " << pr.device_name() << ", batch " << pr.batch()
              << ", input " << shape_to_string(pr.input_shape()) << ", " << stream.size() << " images (" << files->size()
              << " file(s) x " << o.repeat << "), in flight " << o.in_flight << "\n";
    const InitialiseTimings& t = pr.timings();
    std::cout << "Initialise: load " << ms(t.load_ms) << ", compile " << ms(t.compile_ms) << ", compile run "
              << ms(t.compile_run_ms) << ", optimised run " << ms(t.optimised_run_ms) << " (both validated: finite, ["
              << pr.batch() << ", " << pr.classes() << "])\n";

    int64_t expected = 0;
    bool in_order = true;
    auto stats = pr.run(stream, [&](int64_t index, std::span<const float>) {
        if (index != expected) in_order = false;
        ++expected;
    }, o.in_flight);
    if (!stats) return fail(stats.status());
    const std::vector<zoo::DeviceMetric> metrics = pr.device_metrics();
    pr.release();

    const StreamStats& s = *stats;
    std::cout << "Stream: " << s.items << " results " << (in_order ? "in order" : "OUT OF ORDER") << ", " << s.batches
              << " batch(es)";
    if (s.padded_items > 0) std::cout << " (last padded with " << s.padded_items << ", padding dropped)";
    std::cout << ", wall " << ms(s.wall_ms) << "\n";
    std::cout << "  preprocess busy  " << std::setw(12) << ms(s.preprocess_busy_ms) << "  (decode + resize + normalise, summed over threads)\n";
    std::cout << "  device busy      " << std::setw(12) << ms(s.device_busy_ms) << "\n";
    std::cout << "  output busy      " << std::setw(12) << ms(s.output_busy_ms) << "\n";
    std::cout << "  overlap          " << std::setw(9) << ("x" + num(s.overlap, 2)) << "     (summed stage busy time / wall; 1 = serial)\n";
    std::cout << "End-to-end on this host: " << num(s.samples_per_s, 1) << " images/s\n";

    bool header = false;
    for (const char* name : {"device_fps", "e2e_fps_trace", "e2e_fps_trace_2cq"}) {
        for (const auto& m : metrics) {
            if (m.name != name) continue;
            if (!header) std::cout << "Modelled by the device:\n";
            header = true;
            std::cout << "  " << std::left << std::setw(18) << m.name << std::right << std::setw(12) << num(m.value, 1) << " "
                      << m.unit << "  (" << m.description << ")\n";
        }
    }
    if (!in_order) return fail(Status::error("results were delivered out of order"));
    return kExitOk;
}

}  // namespace zoo::runner::cli
