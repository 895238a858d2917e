#include "session/model_session.hpp"

#include <boost/filesystem.hpp>
#include <chrono>
#include <cmath>
#include <random>

#include "core/data_paths.hpp"
#include "weights/weights.hpp"

namespace zoo::runner {

namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

Result<ModelVariant> pick_variant(const ModelPlugin& plugin, const std::string& model, const std::string& wanted) {
    auto variants = plugin.variants();
    if (variants.empty()) return Status::error("model '" + model + "' declares no variants");
    if (wanted.empty()) return variants.front();
    std::string names;
    for (const auto& v : variants) {
        if (v.name == wanted) return v;
        names += (names.empty() ? "" : ", ") + v.name;
    }
    return Status::error("unknown variant '" + wanted + "' of model '" + model + "' (available: " + names + ")");
}

}  // namespace

Shape input_shape(const Graph& graph) {
    auto inputs = graph.input_nodes();
    return inputs.empty() ? Shape{} : graph.nodes[inputs.front()].output_shape;
}

WeightMap random_weights(const Graph& graph, uint64_t seed) {
    std::mt19937_64 rng(seed);
    WeightMap weights;
    for (const auto& node : graph.nodes) {
        for (const auto& p : node.params) {
            Tensor t(p.shape);
            if (p.role == "weight" && node.op == OpKind::Conv2d) {
                const auto& a = node.attr<Conv2dAttrs>();
                double fan_out = static_cast<double>(a.out_channels / a.groups * a.kernel[0] * a.kernel[1]);
                std::normal_distribution<float> dist(0.0f, static_cast<float>(std::sqrt(2.0 / fan_out)));
                for (auto& v : t.data) v = dist(rng);
            } else if (p.role == "weight" && node.op == OpKind::Linear) {
                std::normal_distribution<float> dist(0.0f, 0.01f);
                for (auto& v : t.data) v = dist(rng);
            } else if (p.role == "weight" || p.role == "running_var") {
                std::fill(t.data.begin(), t.data.end(), 1.0f);
            }
            if (p.role == "num_batches_tracked") t.element_type = ElementType::Int64;
            weights.emplace(p.key, std::move(t));
        }
    }
    return weights;
}

std::string model_table_path(const PluginRegistry& registry, const std::string& model, const std::string& table) {
    // Tables live in yaml/models/, or next to the plugin file (plugins built outside this tree bring their own).
    namespace fs = boost::filesystem;
    const std::string bundled = (fs::path(data_dir()) / "yaml" / "models" / (table + ".yaml")).string();
    const fs::path beside_plugin = fs::path(registry.path_of(PluginKind::Model, model)).parent_path() / (table + ".yaml");
    return !fs::exists(bundled) && fs::exists(beside_plugin) ? beside_plugin.string() : bundled;
}

Result<ModelSetup> prepare_model(const PluginRegistry& registry, const SessionOptions& options) {
    const auto start = std::chrono::steady_clock::now();
    ModelSetup setup;
    ZOO_ASSIGN_OR_RETURN(setup.plugin, registry.create_model(options.model));
    ZOO_ASSIGN_OR_RETURN(ModelVariant variant, pick_variant(*setup.plugin, options.model, options.variant));
    setup.variant = variant.name;
    setup.table_path = model_table_path(registry, options.model, variant.table);
    ZOO_ASSIGN_OR_RETURN(setup.spec, load_yaml_spec(setup.table_path));

    // Layer settings may name any option a device plugin declares; each device takes its own at compile.
    const LayerOptionCatalog catalog =
        options.run_config.empty() && options.sets.empty() ? LayerOptionCatalog{} : registry.layer_option_catalog();
    if (!options.run_config.empty()) {
        ZOO_ASSIGN_OR_RETURN(setup.run_config, load_run_config(options.run_config, catalog));
    }
    for (const auto& text : options.sets) {
        ZOO_ASSIGN_OR_RETURN(SetOverride set, parse_set_argument(text));
        ZOO_ASSIGN_OR_RETURN(bool was_layer_key, apply_config_override(setup.run_config, set, catalog));
        if (was_layer_key) continue;
        // Anything else overrides the architecture table; the model plugin rejects keys it does not know.
        ZOO_ASSIGN_OR_RETURN(SpecValue value, override_value(set));
        setup.spec.set(set.key, std::move(value));
    }

    ZOO_ASSIGN_OR_RETURN(setup.graph, setup.plugin->build(setup.spec));
    setup.batch = options.batch > 0 ? options.batch : setup.run_config.batch.value_or(1);
    setup.graph.set_batch(setup.batch);
    ZOO_TRY(setup.graph.infer_shapes());

    if (options.weights.empty()) {
        setup.weights = random_weights(setup.graph, options.seed);
        setup.random_weights = true;
    } else {
        ZOO_ASSIGN_OR_RETURN(setup.weights, load_weights(options.weights));
        Status fits = check_weights(setup.graph, setup.weights);
        if (!fits) {
            // A file of another model fails on every tensor; say that first, in one line, before the details.
            const auto expected = setup.graph.expected_params();
            size_t matching = 0;
            for (const auto& p : expected) matching += setup.weights.count(p.key);
            std::string message = fits.message();
            if (matching * 2 < expected.size()) {
                size_t lines = 0, cut = 0;
                while (cut != std::string::npos && lines < 12) {
                    cut = message.find('\n', cut + 1);
                    ++lines;
                }
                if (cut != std::string::npos) message = message.substr(0, cut) + "\n  ... (the rest omitted)";
                message = "this file does not look like " + options.model + " (" + setup.variant + "): it holds " +
                          std::to_string(setup.weights.size()) + " tensors and " + std::to_string(matching) + " of the " +
                          std::to_string(expected.size()) + " expected names match (weights of another model or variant?)\n" + message;
            }
            return Status::error(options.weights + ": " + message);
        }
    }
    setup.load_ms = ms_since(start);
    return setup;
}

namespace {

// `over` laid onto `base`: maps merge key by key (recursively), anything else replaces.
SpecValue merged(const SpecValue& base, const SpecValue& over) {
    if (base.kind() != SpecValue::Kind::Map || over.kind() != SpecValue::Kind::Map) return over;
    SpecValue out = base;
    for (const auto& [k, v] : over.entries()) {
        const SpecValue* b = out.find(k);
        out.set(k, b ? merged(*b, v) : v);
    }
    return out;
}

// A hardware description may start from another one of the same folder (`inherits: wormhole_n150`) and list only
// what differs: an n300 is two n150 chips, and its numbers must not drift from the n150's when those are refitted.
Result<SpecValue> load_hardware(const std::string& path, int depth = 0) {
    ZOO_ASSIGN_OR_RETURN(SpecValue spec, load_yaml_spec(path));
    const SpecValue* parent = spec.find("inherits");
    if (!parent) return spec;
    if (depth >= 4) return Status::error(parent->source() + ": 'inherits' chains deeper than 4 files");
    ZOO_ASSIGN_OR_RETURN(std::string name, parent->as_string());
    const std::string base_path = (boost::filesystem::path(path).parent_path() / (name + ".yaml")).string();
    auto base = load_hardware(base_path, depth + 1);
    if (!base) return Status::error(parent->source() + ": inherits '" + name + "': " + base.status().message());
    SpecValue combined = merged(*base, spec);
    SpecValue out = SpecValue::map(spec.source());
    for (const auto& [k, v] : combined.entries())
        if (k != "inherits") out.set(k, v);
    return out;
}

}  // namespace

Result<std::shared_ptr<DevicePlugin>> open_device(const PluginRegistry& registry, const std::string& name,
                                                  const std::string& hardware_file) {
    ZOO_ASSIGN_OR_RETURN(auto device, registry.create_device(name));
    const std::string table = device->hardware_table();
    if (table.empty() && hardware_file.empty()) return device;
    if (table.empty()) return Status::error("device '" + name + "' reads no hardware description, but --hardware was given");
    const std::string path = hardware_file.empty()
                                 ? (boost::filesystem::path(data_dir()) / "yaml" / "devices" / (table + ".yaml")).string()
                                 : hardware_file;
    ZOO_ASSIGN_OR_RETURN(SpecValue hardware, load_hardware(path));
    ZOO_TRY(device->configure(hardware).with_context("device '" + name + "'"));
    return device;
}

Result<CompiledSetup> compile_on_device(const PluginRegistry& registry, const ModelSetup& setup, const std::string& device_name,
                                        int threads, bool compile, const std::string& hardware_file) {
    CompiledSetup out;
    out.device_name = device_name;
    ZOO_ASSIGN_OR_RETURN(out.device, open_device(registry, device_name, hardware_file));
    ZOO_TRY(out.device->probe().with_context("device '" + device_name + "' is not usable"));
    out.graph = setup.graph;
    WeightMap weights = setup.weights;
    if (out.device->info().wants_folded_batchnorm) ZOO_TRY(fold_batchnorm(out.graph, weights));
    ZOO_TRY(out.graph.infer_shapes());
    const DeviceLayerOptions declared{device_name, out.device->layer_options(), out.device->default_layer_config()};
    ZOO_ASSIGN_OR_RETURN(out.configs, resolve_layer_configs(out.graph, declared, setup.run_config));
    for (size_t i = 0; i < out.graph.nodes.size(); ++i) {
        Status s = out.device->supports(out.graph.nodes[i], out.configs.per_node[i]);
        if (!s) return s.with_context("device '" + device_name + "' cannot run layer '" + out.graph.nodes[i].name + "'");
    }
    if (!compile) return out;
    const auto start = std::chrono::steady_clock::now();
    CompileOptions options;
    options.threads = threads;
    options.l1_small_size = setup.run_config.l1_small_size.value_or(0);
    ZOO_ASSIGN_OR_RETURN(auto compiled, out.device->compile(out.graph, weights, out.configs.per_node, options));
    out.compile_ms = ms_since(start);
    out.compiled = hold_compiled(std::move(compiled), out.device);
    return out;
}

}  // namespace zoo::runner
