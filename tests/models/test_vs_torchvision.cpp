// Our models on the CPU device against torchvision itself: random weights, randomised BatchNorm statistics and
// biases, saved by torch in three file formats (tools/make_reference.py, run by the ctest fixture).
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/filesystem.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/data_paths.hpp"
#include "io/npy.hpp"
#include "measure/accuracy.hpp"
#include "session/model_session.hpp"

using namespace zoo;
using namespace zoo::runner;

namespace {

std::string reference_dir() {
    const char* d = std::getenv("ZOO_REFERENCE_DIR");
    return d ? d : std::string(ZOO_BUILD_DIR) + "/reference";
}

const nlohmann::json& manifest() {
    static nlohmann::json m = [] {
        std::ifstream in(reference_dir() + "/manifest.json");
        if (!in) return nlohmann::json();
        return nlohmann::json::parse(in);
    }();
    return m;
}

const PluginRegistry& registry() {
    static PluginRegistry r = PluginRegistry::discover({std::string(ZOO_BUILD_DIR) + "/lib/zoo"});
    return r;
}

std::vector<std::string> settings_as_sets(const nlohmann::json& settings) {
    std::vector<std::string> sets;
    for (const auto& [k, v] : settings.items()) {
        std::string value = v.is_boolean() ? (v.get<bool>() ? "true" : "false") : v.dump();
        sets.push_back(k + "=" + value);
    }
    return sets;
}

struct Param {
    std::string family;  // model id prefix: mobilenetv3_large, mobilenetv3_small, mobilenetv2
    std::string format;  // pth_zip, pth_legacy, safetensors
};

void PrintTo(const Param& p, std::ostream* os) { *os << p.family << "/" << p.format; }

class VsTorchvision : public ::testing::TestWithParam<Param> {};

}  // namespace

TEST_P(VsTorchvision, LogitsMatch) {
    const auto& m = manifest();
    ASSERT_FALSE(m.is_null()) << "no reference at " << reference_dir() << "/manifest.json (the ctest fixture "
                              << "make_torchvision_reference makes it)";
    const Param& p = GetParam();
    int cases_checked = 0;
    for (const auto& model : m["models"]) {
        const std::string id = model["id"];
        if (id.rfind(p.family + "_", 0) != 0) continue;
        for (const auto& c : model["cases"]) {
            SCOPED_TRACE(id + " " + c["name"].get<std::string>() + " " + p.format);
            SessionOptions so;
            so.model = model["model"];
            so.variant = model["variant"];
            so.device = "cpu";
            so.sets = settings_as_sets(model["settings"]);
            so.sets.push_back("resolution=" + std::to_string(c["height"].get<int>()) + "x" + std::to_string(c["width"].get<int>()));
            so.weights = reference_dir() + "/" + model["weights"][p.format].get<std::string>();
            so.batch = c["batch"];
            auto setup = prepare_model(registry(), so);
            ASSERT_TRUE(setup.is_ok()) << setup.status().message();
            EXPECT_EQ(setup->graph.parameter_count(), model["parameters"].get<int64_t>());
            EXPECT_EQ(static_cast<int64_t>(setup->graph.expected_params().size()), model["state_dict_entries"].get<int64_t>());
            auto dev = compile_on_device(registry(), *setup, "cpu", 0);
            ASSERT_TRUE(dev.is_ok()) << dev.status().message();

            auto x = read_npy(reference_dir() + "/" + c["input"].get<std::string>());
            auto y = read_npy(reference_dir() + "/" + c["logits"].get<std::string>());
            ASSERT_TRUE(x.is_ok()) << x.status().message();
            ASSERT_TRUE(y.is_ok()) << y.status().message();
            std::vector<Tensor> outputs;
            Status s = dev->compiled->run({*x}, outputs);
            ASSERT_TRUE(s.is_ok()) << s.message();
            ASSERT_EQ(outputs.size(), 1u);
            ASSERT_EQ(outputs[0].shape, y->shape);
            Agreement a = compare_tensors(outputs[0], *y);
            EXPECT_GE(a.pcc, 0.99999);
            // 1e-4 of the largest logit, or twice torch's own float32 error on the case (its logits against float64,
            // recorded by tools/make_reference.py) where that is larger: ResNet-50's depth of residual sums takes
            // torch itself to ~1e-4 of the exact result, and two float32 implementations differ by up to the sum.
            const double bound = std::max(1e-4, 2.0 * c.value("torch_fp32_error", 0.0));
            EXPECT_LE(a.max_abs_error, bound * a.max_abs_reference)
                << "max abs error " << a.max_abs_error << " vs max |logit| " << a.max_abs_reference << " (bound " << bound
                << " of it; torch's own float32 error " << c.value("torch_fp32_error", 0.0) << ")";
            std::printf("[ PCC      ] %-28s %-12s %-11s pcc=%.8f max_err/max|logit|=%.2e\n", id.c_str(),
                        c["name"].get<std::string>().c_str(), p.format.c_str(), a.pcc, a.relative_max_error());
            ++cases_checked;
        }
    }
    EXPECT_GE(cases_checked, 3) << "the manifest should hold at least three cases for " << p.family;
}

INSTANTIATE_TEST_SUITE_P(
    AllModelsAllFormats, VsTorchvision,
    ::testing::Values(Param{"mobilenetv3_large", "pth_zip"}, Param{"mobilenetv3_large", "pth_legacy"},
                      Param{"mobilenetv3_large", "safetensors"}, Param{"mobilenetv3_small", "pth_zip"},
                      Param{"mobilenetv3_small", "pth_legacy"}, Param{"mobilenetv3_small", "safetensors"},
                      Param{"mobilenetv2", "pth_zip"}, Param{"mobilenetv2", "pth_legacy"}, Param{"mobilenetv2", "safetensors"},
                      Param{"efficientnet", "pth_zip"}, Param{"efficientnet", "pth_legacy"},
                      Param{"efficientnet", "safetensors"}, Param{"resnet50", "pth_zip"}, Param{"resnet50", "pth_legacy"},
                      Param{"resnet50", "safetensors"}),
    [](const ::testing::TestParamInfo<Param>& info) { return info.param.family + "_" + info.param.format; });

TEST(VsTorchvisionErrors, WeightsOfAnotherModelAreRefusedNamingTensorsAndShapes) {
    const auto& m = manifest();
    ASSERT_FALSE(m.is_null());
    std::string small_weights;
    for (const auto& model : m["models"])
        if (model["id"] == "mobilenetv3_small_w1.0") small_weights = reference_dir() + "/" + model["weights"]["pth_zip"].get<std::string>();
    ASSERT_FALSE(small_weights.empty());
    SessionOptions so;
    so.model = "mobilenetv3";
    so.variant = "large";
    so.device = "cpu";
    so.weights = small_weights;
    auto setup = prepare_model(registry(), so);
    ASSERT_FALSE(setup.is_ok());
    const std::string& msg = setup.status().message();
    EXPECT_NE(msg.find(small_weights), std::string::npos) << msg;
    // Large's stem feeds a 16->16 depthwise block; Small's first block has SE, so Large lacks its fc1 (unexpected)...
    EXPECT_NE(msg.find("unexpected tensor 'features.1.block.1.fc1.weight'"), std::string::npos) << msg;
    // ... and Small lacks Large's 16th feature block (missing), and shapes differ at the last conv.
    EXPECT_NE(msg.find("missing tensor 'features.15.block.0.0.weight' (expected shape [960, 160, 1, 1])"), std::string::npos) << msg;
    EXPECT_NE(msg.find("has shape"), std::string::npos) << msg;
}
