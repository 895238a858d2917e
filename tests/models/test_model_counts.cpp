// Parameter and multiply-accumulate counts of the model tables against the published figures (batch 1, 224x224,
// 1000 classes): they pin the architecture tables without torchvision (the minimalistic variants exist only in the
// TF reference, tensorflow/models research/slim/nets/mobilenet/mobilenet_v3.py, whose README gives the counts).
#include <gtest/gtest.h>

#include "plugins/plugin_loader.hpp"
#include "session/model_session.hpp"

using namespace zoo::runner;

namespace {

const PluginRegistry& count_registry() {
    static PluginRegistry r = PluginRegistry::discover({std::string(ZOO_BUILD_DIR) + "/lib/zoo"});
    return r;
}

struct Counts {
    int64_t parameters, macs;
};

Counts counts_of(const std::string& model, const std::string& variant) {
    SessionOptions so;
    so.model = model;
    so.variant = variant;
    so.device = "cpu";
    auto setup = prepare_model(count_registry(), so);
    EXPECT_TRUE(setup.is_ok()) << setup.status().message();
    if (!setup.is_ok()) return {0, 0};
    zoo::Graph g = setup->graph;
    EXPECT_TRUE(g.infer_shapes().is_ok());
    return {g.parameter_count(), g.mac_count()};
}

// Within `rel` of a figure published to two or three significant digits.
void expect_near_published(int64_t value, double published, double rel, const std::string& what) {
    EXPECT_NEAR(static_cast<double>(value), published, published * rel) << what << " = " << value;
}

}  // namespace

TEST(ModelCounts, MinimalisticMobileNetV3MatchesTheTfReference) {
    const Counts large = counts_of("mobilenetv3", "large_minimalistic");
    expect_near_published(large.parameters, 3.9e6, 0.013, "Large-minimalistic parameters (published 3.9 M)");
    expect_near_published(large.macs, 209e6, 0.005, "Large-minimalistic MACs (published 209 M)");
    const Counts small = counts_of("mobilenetv3", "small_minimalistic");
    expect_near_published(small.parameters, 2.0e6, 0.025, "Small-minimalistic parameters (published 2.0 M)");
    std::printf("Large-minimalistic: %.3f M parameters, %.1f M MACs; Small-minimalistic: %.3f M parameters, %.1f M MACs\n",
                large.parameters / 1e6, large.macs / 1e6, small.parameters / 1e6, small.macs / 1e6);
}

// The full models as torchvision builds them: parameters exactly torchvision's, MACs as torchvision's model docs publish
// them (GFLOPS to two digits, counting multiply-adds: V3-Large 0.22, V3-Small 0.06, V2 0.30, EfficientNet-B0 0.39,
// ResNet-50 4.09),
// so within half a unit of the last published digit. (The V3 paper's 219 M for Large also counts elementwise work.)
TEST(ModelCounts, FullModelsMatchTorchvision) {
    const double half_digit = 0.005e9;
    const Counts v3l = counts_of("mobilenetv3", "large");
    EXPECT_EQ(v3l.parameters, 5483032);
    EXPECT_NEAR(static_cast<double>(v3l.macs), 0.22e9, half_digit);
    const Counts v3s = counts_of("mobilenetv3", "small");
    EXPECT_EQ(v3s.parameters, 2542856);
    EXPECT_NEAR(static_cast<double>(v3s.macs), 0.06e9, half_digit);
    const Counts v2 = counts_of("mobilenetv2", "");
    EXPECT_EQ(v2.parameters, 3504872);
    EXPECT_NEAR(static_cast<double>(v2.macs), 0.30e9, half_digit);
    const Counts b0 = counts_of("efficientnet", "");
    EXPECT_EQ(b0.parameters, 5288548);
    EXPECT_NEAR(static_cast<double>(b0.macs), 0.39e9, half_digit);
    // ResNet-50: torchvision's docs publish 25,557,032 parameters and 4.09 GFLOPS (multiply-adds).
    const Counts r50 = counts_of("resnet", "50");
    EXPECT_EQ(r50.parameters, 25557032);
    EXPECT_NEAR(static_cast<double>(r50.macs), 4.09e9, half_digit);
    std::printf("MACs: V3-Large %.1f M, V3-Small %.1f M, V2 %.1f M, EfficientNet-B0 %.1f M, ResNet-50 %.1f M\n",
                v3l.macs / 1e6, v3s.macs / 1e6, v2.macs / 1e6, b0.macs / 1e6, r50.macs / 1e6);
}
