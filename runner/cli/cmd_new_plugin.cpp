// `runner new-plugin model|device NAME DIR`: writes a plugin project that builds outside this tree against the
// installed SDK (find_package(zoo)) and loads as it is: a model with its table, or a device that runs every op (ReLU
// with its own loop, the rest through the SDK's fp32 reference). Templates, not examples: every place to edit says so.
#include <boost/filesystem.hpp>
#include <fstream>
#include <iostream>
#include <regex>

#include "cli/commands.hpp"
#include "core/data_paths.hpp"

namespace zoo::runner::cli {

namespace fs = boost::filesystem;

namespace {

const char* const k_model_cmake = R"zoo(# Model plugin @NAME@, built against an installed zoo SDK:
#   cmake -S . -B build -DCMAKE_PREFIX_PATH=<zoo prefix> && cmake --build build
#   <zoo prefix>/bin/runner --plugin-dir build run --model @NAME@ --device cpu --input random
cmake_minimum_required(VERSION 3.22)
project(zoo_model_@NAME@ LANGUAGES CXX)
# Optimised unless asked otherwise (a model plugin's graph code runs once, a device plugin's kernels every inference).
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

find_package(zoo @VERSION@ REQUIRED)

# libzoo_model_@NAME@.so with @NAME@.yaml beside it (where the runner looks for tables it does not bundle).
zoo_add_model_plugin(@NAME@ SOURCES @NAME@_plugin.cpp TABLES @NAME@.yaml LIBS zoo::model_blocks)
)zoo";

const char* const k_model_table = R"zoo(# Architecture table of model @NAME@: every key here is read by @NAME@_plugin.cpp (unknown keys are refused).
# Override one for a run with --set, e.g. --set channels=32.
model: @NAME@
variant: default
resolution: [64, 64]
channels: 16
num_classes: 10
)zoo";

const char* const k_model_source = R"zoo(// Model plugin @NAME@: builds its inference graph from its table (@NAME@.yaml). Node names are the state_dict
// prefixes a PyTorch module of the same structure would have, so a torch state_dict loads with --weights.
// Edit build_graph(); the blocks of zoo/blocks/ (torchvision's Conv2dNormActivation, inverted residuals, squeeze-
// excite) and the typed spec readers (errors name the table's file and line) are there to be used.
#include <string>

#include "zoo/blocks/mobilenet_blocks.hpp"
#include "zoo/blocks/spec_reading.hpp"
#include "zoo/plugin_export.hpp"

namespace {

class @CLASS@Model final : public zoo::ModelPlugin {
public:
    std::vector<zoo::ModelVariant> variants() const noexcept override {
        // {variant name, table the runner loads (@NAME@.yaml), description}; the first is the default.
        return {{"default", "@NAME@", "conv-bn-relu + pool + linear (edit @NAME@_plugin.cpp)"}};
    }

    // Nothing may throw across the plugin boundary: status_guard turns any exception into a Status naming the model.
    zoo::Result<zoo::Graph> build(const zoo::SpecValue& spec) const noexcept override {
        return zoo::status_guard("@NAME@", [&] { return build_graph(spec); });
    }

private:
    static zoo::Result<zoo::Graph> build_graph(const zoo::SpecValue& spec) {
        ZOO_TRY(spec.check_keys({"model", "variant", "resolution", "channels", "num_classes"}));
        ZOO_ASSIGN_OR_RETURN(auto hw, zoo::models::read_resolution(spec));
        ZOO_ASSIGN_OR_RETURN(int64_t channels, zoo::models::read_int(spec, "channels", 16, 1));
        ZOO_ASSIGN_OR_RETURN(int64_t classes, zoo::models::read_int(spec, "num_classes", 10, 1));
        zoo::Graph g;
        g.name = "@NAME@";
        zoo::models::GraphBuilder b(g);
        int x = b.input("input", {1, 3, hw[0], hw[1]});  // batch 1: the runner sets the batch
        x = zoo::models::conv_bn_act(b, "features.0", x, {channels, 3, 2, 1, 1, zoo::models::Activation::ReLU, 1e-5});
        x = b.flatten("flatten", b.global_avg_pool("avgpool", x));
        x = b.linear("classifier", x, channels, classes);
        b.output(x);
        ZOO_TRY(g.infer_shapes());
        return g;
    }
};

}  // namespace

// (class, name users type with --model, the plugin's version, one line for `runner list`)
ZOO_MODEL_PLUGIN(@CLASS@Model, "@NAME@", "0.1.0", "@NAME@: a model plugin made by runner new-plugin")
)zoo";

const char* const k_device_cmake = R"zoo(# Device plugin @NAME@, built against an installed zoo SDK:
#   cmake -S . -B build -DCMAKE_PREFIX_PATH=<zoo prefix> && cmake --build build
#   <zoo prefix>/bin/runner --plugin-dir build run --model opcase --set op=avgpool --device @NAME@ --input random
cmake_minimum_required(VERSION 3.22)
project(zoo_device_@NAME@ LANGUAGES CXX)
# Optimised unless asked otherwise (a model plugin's graph code runs once, a device plugin's kernels every inference).
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

find_package(zoo @VERSION@ REQUIRED)

# libzoo_device_@NAME@.so
zoo_add_device_plugin(@NAME@ SOURCES @NAME@_device.cpp)
)zoo";

const char* const k_device_source = R"zoo(// Device plugin @NAME@: a starting point that runs every op of the graph IR, each through the SDK's fp32 reference
// (zoo/reference.hpp) except ReLU, which it computes itself to show where a device's own kernels go. Port ops one by
// one: compute them in run_node(); an op you cannot run at all, decline in supports() with a reason (the runner names
// the layer before anything is compiled). The conformance suite (tests/conformance in the zoo tree) checks a device
// against the reference within the tolerance it declares in info().
// Contract (zoo/device_plugin.hpp): no method throws; values a node returns are its NCHW (or [N, F]) tensor.
#include <memory>
#include <string>
#include <vector>

#include "zoo/plugin_export.hpp"
#include "zoo/reference.hpp"

namespace {

// One node's output from its inputs' values. Shapes were inferred by the runner (node.output_shape).
zoo::Status run_node(const zoo::Node& node, const std::vector<const zoo::Tensor*>& in, const zoo::WeightMap& weights,
                     zoo::Tensor& out) {
    if (node.op == zoo::OpKind::Relu) {  // this device's own kernel
        out = zoo::Tensor(node.output_shape);
        for (size_t i = 0; i < out.data.size(); ++i) out.data[i] = in[0]->data[i] > 0.0f ? in[0]->data[i] : 0.0f;
        return zoo::Status::ok();
    }
    return zoo::reference_node(node, in, weights, out);  // not ported yet: the SDK's fp32 reference
}

class @CLASS@Compiled final : public zoo::CompiledModel {
public:
    @CLASS@Compiled(zoo::Graph graph, zoo::WeightMap weights) : m_graph(std::move(graph)), m_weights(std::move(weights)) {}

    zoo::Status run(const std::vector<zoo::Tensor>& inputs, std::vector<zoo::Tensor>& outputs,
                    std::map<std::string, zoo::Tensor>* captured) noexcept override {
        return zoo::status_guard("@NAME@: run", [&]() -> zoo::Status {
            ZOO_TRY(zoo::check_inputs(m_graph, inputs).with_context("@NAME@"));
            std::vector<zoo::Tensor> values(m_graph.nodes.size());
            size_t next_input = 0;
            for (size_t n = 0; n < m_graph.nodes.size(); ++n) {
                const zoo::Node& node = m_graph.nodes[n];
                if (node.op == zoo::OpKind::Input) {
                    values[n] = inputs[next_input++];
                } else {
                    std::vector<const zoo::Tensor*> in;
                    for (int i : node.inputs) in.push_back(&values[static_cast<size_t>(i)]);
                    ZOO_TRY(run_node(node, in, m_weights, values[n]));
                }
                if (captured) (*captured)[node.name] = values[n];
            }
            outputs.clear();
            for (int o : m_graph.outputs) outputs.push_back(values[static_cast<size_t>(o)]);
            return zoo::Status::ok();
        });
    }

private:
    zoo::Graph m_graph;
    zoo::WeightMap m_weights;
};

class @CLASS@Device final : public zoo::DevicePlugin {
public:
    zoo::DeviceInfo info() const noexcept override {
        zoo::DeviceInfo info;
        info.description = "@NAME@: host C++ (made by runner new-plugin)";
        info.wants_folded_batchnorm = false;  // the reference runs BatchNorm as it is
        return info;
    }

    // Per-layer options of your own (besides the common dtype / weights_dtype): declare them here and the runner
    // checks every run-config and --set value against them, shows them in --dump-config, and passes them checked in
    // LayerConfig::options. For example {"tile_rows", zoo::LayerOptionSpec::Type::Integer, "32", {}, 1, 1024, 1,
    // "rows per tile"}; read with config.options.integer("tile_rows").
    std::vector<zoo::LayerOptionSpec> layer_options() const noexcept override { return {}; }

    zoo::Status supports(const zoo::Node& node, const zoo::LayerConfig& /*config*/) const noexcept override {
        if (zoo::is_known_op(node.op)) return zoo::Status::ok();
        return zoo::Status::error("@NAME@: node '" + node.name + "' has an op this SDK does not know; rebuild @NAME@ "
                                  "against the runner's SDK");
    }

    zoo::Result<std::unique_ptr<zoo::CompiledModel>> compile(const zoo::Graph& graph, const zoo::WeightMap& weights,
                                                             const std::vector<zoo::LayerConfig>& configs,
                                                             const zoo::CompileOptions& /*options*/) const noexcept override {
        return zoo::status_guard("@NAME@: compile", [&]() -> zoo::Result<std::unique_ptr<zoo::CompiledModel>> {
            for (size_t n = 0; n < graph.nodes.size(); ++n)
                ZOO_TRY(supports(graph.nodes[n], n < configs.size() ? configs[n] : zoo::LayerConfig{}));
            ZOO_TRY(zoo::check_node_weights(graph, weights).with_context("@NAME@"));
            return std::unique_ptr<zoo::CompiledModel>(std::make_unique<@CLASS@Compiled>(graph, weights));
        });
    }
};

}  // namespace

// (class, name users type with --device, the plugin's version, one line for `runner list`)
ZOO_DEVICE_PLUGIN(@CLASS@Device, "@NAME@", "0.1.0", "@NAME@: a device plugin made by runner new-plugin")
)zoo";

std::string fill(std::string text, const std::string& name) {
    std::string klass = name;
    // snake_case -> CamelCase for the class names
    std::string camel;
    bool up = true;
    for (char c : klass) {
        if (c == '_') {
            up = true;
            continue;
        }
        camel += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
        up = false;
    }
    const std::pair<std::string, std::string> keys[] = {{"@NAME@", name}, {"@CLASS@", camel}, {"@VERSION@", version()}};
    for (const auto& [key, value] : keys)
        for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
            text.replace(at, key.size(), value);
    return text;
}

// A usage error: one line, exit 2, like CLI11's own.
int usage(const std::string& message) {
    std::cerr << "error: " << message << "\n";
    return kExitUsage;
}

}  // namespace

void add_new_plugin_options(CLI::App& app, NewPluginOptions& o) {
    app.add_option("kind", o.kind, "model or device")->required()->check(CLI::IsMember({"model", "device"}));
    app.add_option("name", o.name, "Plugin name users type with --model / --device (lower-case, digits, '_')")->required();
    app.add_option("dir", o.dir, "Folder to write the project into (created; must be empty if it exists)")->required();
}

int run_new_plugin(const NewPluginOptions& o) {
    // The name becomes the file name the loader parses (libzoo_<kind>_<name>.so), a CMake target and a C++ class.
    static const std::regex valid_name("[a-z][a-z0-9_]{0,63}");
    if (!std::regex_match(o.name, valid_name))
        return usage("plugin name '" + o.name + "' must be 1-64 lower-case letters, digits and '_', starting with a letter");
    boost::system::error_code ec;
    const fs::path dir(o.dir);
    if (fs::exists(dir, ec)) {
        if (!fs::is_directory(dir, ec)) return usage(o.dir + " exists and is not a folder");
        if (!fs::is_empty(dir, ec)) return usage(o.dir + " is not empty: new-plugin writes only into a new or empty folder");
    } else if (!fs::create_directories(dir, ec) || ec) {
        return fail(Status::error("cannot create " + o.dir + ": " + ec.message()));
    }

    std::vector<std::pair<std::string, const char*>> files;
    if (o.kind == "model")
        files = {{"CMakeLists.txt", k_model_cmake}, {o.name + "_plugin.cpp", k_model_source}, {o.name + ".yaml", k_model_table}};
    else
        files = {{"CMakeLists.txt", k_device_cmake}, {o.name + "_device.cpp", k_device_source}};
    for (const auto& [file, text] : files) {
        const fs::path path = dir / file;
        std::ofstream out(path.string());
        out << fill(text, o.name);
        out.close();
        if (!out) return fail(Status::error("cannot write " + path.string()));
        std::cout << "wrote " << path.string() << "\n";
    }
    // An installed runner sits in <prefix>/bin beside the SDK's <prefix>/lib/cmake/zoo; a build tree has no SDK.
    const fs::path prefix = fs::path(executable_dir()).parent_path();
    const bool installed = fs::exists(prefix / "lib" / "cmake" / "zoo" / "zooConfig.cmake", ec);
    std::cout << "build it against this runner's SDK:\n"
              << "  cmake -S " << o.dir << " -B " << o.dir << "/build -DCMAKE_PREFIX_PATH="
              << (installed ? prefix.lexically_normal().string() : std::string("<prefix of `cmake --install`>")) << "\n"
              << "  cmake --build " << o.dir << "/build\n"
              << "  runner --plugin-dir " << o.dir << "/build list\n";
    return kExitOk;
}

}  // namespace zoo::runner::cli
