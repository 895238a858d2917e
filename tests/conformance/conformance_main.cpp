// The device conformance suite: every device plugin the loader finds in the plugin folder (default: this build's
// lib/zoo; --plugin-dir=DIR for another) gets the same tests, registered at start-up, so a new device runs them
// without editing this file (the ggml test-backend-ops / IREE CTS idea):
//   Conformance.<device>/contract_*   the DevicePlugin / CompiledModel contract of zoo/device_plugin.hpp
//   Conformance.<device>/op_*         each op's values against the SDK fp32 reference (zoo/reference.hpp), within the
//                                     tolerance the device declares in DeviceInfo::tolerance
// A device may decline an op in supports(); that test is then skipped with the device's reason, never passed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "op_cases.hpp"
#include "plugins/plugin_loader.hpp"
#include "reference_ops.hpp"
#include "session/model_session.hpp"
#include "zoo/reference.hpp"

namespace zoo_conformance {

namespace {

using zoo::CompiledModel;
using zoo::DevicePlugin;
using zoo::Tensor;

// A graph prepared as the runner prepares it for `device` (BatchNorm folded when the device asks, shapes inferred,
// every layer on the device's default config), with its seeded inputs and the reference's values on that graph.
struct Prepared {
    zoo::Graph graph;
    zoo::WeightMap weights;
    std::vector<zoo::LayerConfig> configs;
    std::vector<Tensor> inputs;
    std::vector<Tensor> expected;
    std::map<std::string, Tensor> expected_nodes;
    std::string declined;  // non-empty: a node the device declined, with its reason
};

Prepared prepare(const DevicePlugin& device, const OpCase& c) {
    zoo_test::GraphBuilder built = c.build();
    Prepared p;
    p.graph = std::move(built.graph);
    p.weights = std::move(built.weights);
    EXPECT_TRUE(p.graph.verify().is_ok()) << p.graph.verify().message();
    EXPECT_TRUE(p.graph.infer_shapes().is_ok());
    if (device.info().wants_folded_batchnorm) EXPECT_TRUE(zoo::fold_batchnorm(p.graph, p.weights).is_ok());
    EXPECT_TRUE(p.graph.infer_shapes().is_ok());
    p.configs.assign(p.graph.nodes.size(), device.default_layer_config());
    uint32_t seed = 7;
    for (int i : p.graph.input_nodes()) {
        const zoo::Shape& s = p.graph.nodes[static_cast<size_t>(i)].output_shape;
        p.inputs.emplace_back(s, zoo_test::random_vector(static_cast<size_t>(zoo::shape_numel(s)), seed++,
                                                         -c.input_range, c.input_range));
    }
    zoo::Status ref = zoo::reference_run(p.graph, p.weights, p.inputs, p.expected, &p.expected_nodes);
    EXPECT_TRUE(ref.is_ok()) << ref.message();
    for (size_t i = 0; i < p.graph.nodes.size() && p.declined.empty(); ++i) {
        zoo::Status s = device.supports(p.graph.nodes[i], p.configs[i]);
        if (!s) p.declined = "'" + p.graph.nodes[i].name + "': " + s.message();
    }
    return p;
}

std::unique_ptr<CompiledModel> compile(const DevicePlugin& device, const Prepared& p) {
    auto compiled = device.compile(p.graph, p.weights, p.configs, zoo::CompileOptions{});
    EXPECT_TRUE(compiled.is_ok()) << compiled.status().message();
    return compiled.is_ok() ? std::move(compiled.value()) : nullptr;
}

::testing::AssertionResult within_tolerance(const DevicePlugin& device, const Tensor& got, const Tensor& expected) {
    if (got.shape != expected.shape)
        return ::testing::AssertionFailure() << "shape " << zoo::shape_to_string(got.shape) << ", expected "
                                             << zoo::shape_to_string(expected.shape);
    const zoo::NumericTolerance tol = device.info().tolerance;
    return zoo_test::close_to(got.data, zoo_test::to_double(expected.data), tol.rel_tolerance, tol.min_pcc);
}

// The op tests: one compiled graph, its outputs against the reference.
void check_op(const DevicePlugin& device, const OpCase& c) {
    Prepared p = prepare(device, c);
    if (!p.declined.empty()) GTEST_SKIP() << "declined " << p.declined;
    auto model = compile(device, p);
    ASSERT_TRUE(model);
    std::vector<Tensor> outputs;
    zoo::Status s = model->run(p.inputs, outputs);
    ASSERT_TRUE(s.is_ok()) << s.message();
    ASSERT_EQ(outputs.size(), p.expected.size());
    for (size_t o = 0; o < outputs.size(); ++o)
        EXPECT_TRUE(within_tolerance(device, outputs[o], p.expected[o])) << "output " << o;
}

OpCase network_case() {
    for (const OpCase& c : op_cases())
        if (c.name == "small_net_every_op") return c;
    return {};
}

void contract_info(const DevicePlugin& device) {
    const zoo::DeviceInfo info = device.info();
    EXPECT_FALSE(info.description.empty());
    EXPECT_GT(info.tolerance.rel_tolerance, 0.0);
    EXPECT_LT(info.tolerance.rel_tolerance, 1.0) << "a tolerance of 100% of the magnitude checks nothing";
    EXPECT_GT(info.tolerance.min_pcc, 0.9);
    EXPECT_LE(info.tolerance.min_pcc, 1.0);
    EXPECT_TRUE(device.probe().is_ok()) << device.probe().message();
}

// The layer options a device declares are usable as declared: unique names that do not shadow the common keys or
// a run config's own words, a default that passes its own check, a sane range, a doc line, and defaults that
// default_layer_config() fills in with values the declaration accepts.
void contract_layer_options(const DevicePlugin& device) {
    const auto specs = device.layer_options();
    std::vector<std::string> reserved = zoo::common_layer_keys();  // and a run config's own words:
    reserved.insert(reserved.end(), {"match", "op", "l1_small_size"});
    for (size_t i = 0; i < specs.size(); ++i) {
        const zoo::LayerOptionSpec& s = specs[i];
        EXPECT_FALSE(s.name.empty());
        EXPECT_EQ(std::find(reserved.begin(), reserved.end(), s.name), reserved.end()) << s.name << " is reserved";
        for (size_t j = i + 1; j < specs.size(); ++j) EXPECT_NE(s.name, specs[j].name) << "declared twice";
        EXPECT_LE(s.min, s.max) << s.name;
        EXPECT_GE(s.multiple_of, 1) << s.name;
        EXPECT_FALSE(s.doc.empty()) << s.name;
        const auto defaults = zoo::LayerOptions::defaults({s});
        EXPECT_TRUE(zoo::check_layer_option(s, defaults.entries().at(0).second)) << s.name << ": its default fails";
    }
    const zoo::LayerConfig base = device.default_layer_config();
    for (const auto& [name, value] : base.options.entries()) {
        const zoo::LayerOptionSpec* s = zoo::find_layer_option(specs, name);
        ASSERT_NE(s, nullptr) << "default_layer_config sets '" << name << "', which layer_options() does not declare";
        EXPECT_TRUE(zoo::check_layer_option(*s, value)) << name;
    }
}

// An op kind outside ZOO_OP_LIST (a plugin built against a newer SDK would send one) is declined, not run.
void contract_declines_unknown_op(const DevicePlugin& device) {
    Prepared p = prepare(device, network_case());
    zoo::Node alien = p.graph.nodes.back();
    alien.op = static_cast<zoo::OpKind>(200);
    alien.name = "alien";
    zoo::Status s = device.supports(alien, device.default_layer_config());
    EXPECT_FALSE(s.is_ok()) << "an op kind outside ZOO_OP_LIST was accepted";
}

void contract_compile_errors(const DevicePlugin& device) {
    Prepared p = prepare(device, network_case());
    if (!p.declined.empty()) GTEST_SKIP() << "declined " << p.declined;
    std::vector<zoo::LayerConfig> one_short(p.configs.begin(), p.configs.end() - 1);
    auto wrong_count = device.compile(p.graph, p.weights, one_short, {});
    EXPECT_FALSE(wrong_count.is_ok()) << "compile accepted " << one_short.size() << " configs for "
                                      << p.graph.nodes.size() << " nodes";
    // A missing weight is named.
    std::string key;
    for (const auto& n : p.graph.nodes)
        for (const auto& param : n.params)
            if (param.used && key.empty()) key = param.key;
    zoo::WeightMap missing = p.weights;
    missing.erase(key);
    auto no_weight = device.compile(p.graph, missing, p.configs, {});
    ASSERT_FALSE(no_weight.is_ok()) << "compile accepted a graph without '" << key << "'";
    EXPECT_NE(no_weight.status().message().find(key), std::string::npos) << no_weight.status().message();
}

void contract_run_errors(const DevicePlugin& device) {
    Prepared p = prepare(device, network_case());
    if (!p.declined.empty()) GTEST_SKIP() << "declined " << p.declined;
    auto model = compile(device, p);
    ASSERT_TRUE(model);
    std::vector<Tensor> outputs;
    EXPECT_FALSE(model->run({}, outputs).is_ok()) << "ran without inputs";
    Tensor wrong = p.inputs[0];
    wrong.shape[2] += 1;
    wrong.data.resize(static_cast<size_t>(wrong.numel()));
    zoo::Status s = model->run({wrong}, outputs);
    ASSERT_FALSE(s.is_ok()) << "ran on " << zoo::shape_to_string(wrong.shape);
    EXPECT_NE(s.message().find(zoo::shape_to_string(p.inputs[0].shape)), std::string::npos)
        << "the error should say which shape was expected: " << s.message();
    Tensor torn = p.inputs[0];
    torn.data.resize(5);
    EXPECT_FALSE(model->run({torn}, outputs).is_ok()) << "ran on a tensor with 5 values for its shape";
    // After refusing, the model still runs correct inputs.
    ASSERT_TRUE(model->run(p.inputs, outputs).is_ok());
    EXPECT_TRUE(within_tolerance(device, outputs[0], p.expected[0]));
}

// Capture gives every node's value, with the node's shape, and the captured output equals the returned output.
void contract_capture(const DevicePlugin& device) {
    Prepared p = prepare(device, network_case());
    if (!p.declined.empty()) GTEST_SKIP() << "declined " << p.declined;
    auto model = compile(device, p);
    ASSERT_TRUE(model);
    std::vector<Tensor> outputs;
    std::map<std::string, Tensor> captured;
    ASSERT_TRUE(model->run(p.inputs, outputs, &captured).is_ok());
    for (const zoo::Node& n : p.graph.nodes) {
        auto it = captured.find(n.name);
        ASSERT_NE(it, captured.end()) << "node '" << n.name << "' not captured";
        EXPECT_EQ(it->second.shape, n.output_shape) << n.name;
    }
    for (size_t o = 0; o < p.graph.outputs.size(); ++o) {
        const std::string& name = p.graph.nodes[static_cast<size_t>(p.graph.outputs[o])].name;
        EXPECT_EQ(captured.at(name).data, outputs[o].data) << "captured '" << name << "' differs from the output";
    }
}

// As documented: compile may be called concurrently; distinct compiled models run concurrently; repeated runs of one
// model give the same values.
void contract_threads(const DevicePlugin& device) {
    Prepared p = prepare(device, network_case());
    if (!p.declined.empty()) GTEST_SKIP() << "declined " << p.declined;
    std::unique_ptr<CompiledModel> models[2];
    {
        std::thread t0([&] { models[0] = compile(device, p); });
        std::thread t1([&] { models[1] = compile(device, p); });
        t0.join();
        t1.join();
    }
    ASSERT_TRUE(models[0] && models[1]);
    std::vector<Tensor> first;
    ASSERT_TRUE(models[0]->run(p.inputs, first).is_ok());
    std::vector<Tensor> results[2][3];
    zoo::Status status[2][3];
    auto worker = [&](int m) {
        for (int r = 0; r < 3; ++r) status[m][r] = models[m]->run(p.inputs, results[m][r]);
    };
    std::thread t0(worker, 0), t1(worker, 1);
    t0.join();
    t1.join();
    for (int m = 0; m < 2; ++m)
        for (int r = 0; r < 3; ++r) {
            ASSERT_TRUE(status[m][r].is_ok()) << status[m][r].message();
            ASSERT_EQ(results[m][r].size(), first.size());
            for (size_t o = 0; o < first.size(); ++o)
                EXPECT_EQ(results[m][r][o].data, first[o].data) << "model " << m << " run " << r << " output " << o;
        }
}

class FunctionTest : public ::testing::Test {
public:
    explicit FunctionTest(std::function<void()> body) : m_body(std::move(body)) {}
    void TestBody() override { m_body(); }

private:
    std::function<void()> m_body;
};

void add_test(const std::string& suite, const std::string& name, std::function<void()> body) {
    ::testing::RegisterTest(suite.c_str(), name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                            [body]() -> ::testing::Test* { return new FunctionTest(body); });
}

}  // namespace

// Registers every test for every device found; returns how many devices.
int register_conformance_tests(const std::string& plugin_dir) {
    static const auto registry =
        std::make_shared<zoo::runner::PluginRegistry>(zoo::runner::PluginRegistry::discover({plugin_dir}));
    int devices = 0;
    for (const std::string& name : registry->names(zoo::runner::PluginKind::Device)) {
        ++devices;
        const std::string suite = "Conformance." + name;
        auto opened = zoo::runner::open_device(*registry, name, "");
        if (!opened) {
            const std::string why = opened.status().message();
            add_test(suite, "contract_opens", [why] { FAIL() << why; });
            continue;
        }
        std::shared_ptr<DevicePlugin> device = opened.value();
        add_test(suite, "contract_info", [device] { contract_info(*device); });
        add_test(suite, "contract_layer_options", [device] { contract_layer_options(*device); });
        add_test(suite, "contract_declines_unknown_op", [device] { contract_declines_unknown_op(*device); });
        add_test(suite, "contract_compile_errors", [device] { contract_compile_errors(*device); });
        add_test(suite, "contract_run_errors", [device] { contract_run_errors(*device); });
        add_test(suite, "contract_capture", [device] { contract_capture(*device); });
        add_test(suite, "contract_threads", [device] { contract_threads(*device); });
        for (const OpCase& c : op_cases()) add_test(suite, "op_" + c.name, [device, c] { check_op(*device, c); });
    }
    return devices;
}

}  // namespace zoo_conformance

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    std::string plugin_dir = std::string(ZOO_BUILD_DIR) + "/lib/zoo";
    for (int i = 1; i < argc; ++i)
        if (std::strncmp(argv[i], "--plugin-dir=", 13) == 0) plugin_dir = argv[i] + 13;
    if (zoo_conformance::register_conformance_tests(plugin_dir) == 0) {
        std::fprintf(stderr, "conformance: no device plugin found in %s\n", plugin_dir.c_str());
        return 1;
    }
    return RUN_ALL_TESTS();
}
