#include <gtest/gtest.h>

#include <boost/filesystem.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_harness.hpp"
#include "io/npy.hpp"
#include "measure/accuracy.hpp"

namespace fs = boost::filesystem;
using zoo::Tensor;

namespace {

nlohmann::json manifest() {
    std::ifstream in(reference_dir() + "/manifest.json");
    return in ? nlohmann::json::parse(in) : nlohmann::json();
}

std::string temp_path(const std::string& name) {
    fs::path dir = fs::temp_directory_path() / ("zoo_cli_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return (dir / name).string();
}

}  // namespace

// The acceptance command, for every model and weight format: the CLI reproduces torchvision's logits.
TEST(CliRun, SaveOutputReproducesTorchvisionForEveryModelAndFormat) {
    const auto m = manifest();
    ASSERT_FALSE(m.is_null()) << "reference missing at " << reference_dir();
    int checked = 0;
    for (const auto& model : m["models"]) {
        const std::string id = model["id"];
        if (id != "mobilenetv3_large_w1.0" && id != "mobilenetv3_small_w1.0" && id != "mobilenetv2_w1.0") continue;
        const auto& c = model["cases"][0];
        for (const char* format : {"pth_zip", "pth_legacy", "safetensors"}) {
            SCOPED_TRACE(id + " " + format);
            const std::string out = temp_path(id + "_" + format + ".npy");
            const std::string args = "run --model " + model["model"].get<std::string>() + " --variant " +
                                     model["variant"].get<std::string>() + " --device cpu --weights " + reference_dir() + "/" +
                                     model["weights"][format].get<std::string>() + " --input " + reference_dir() + "/" +
                                     c["input"].get<std::string>() + " --save-output " + out + " --warmup 0 --iterations 2";
            CommandResult r = run_runner(args);
            ASSERT_EQ(r.exit_code, 0) << r.output;
            auto got = zoo::runner::read_npy(out);
            auto want = zoo::runner::read_npy(reference_dir() + "/" + c["logits"].get<std::string>());
            ASSERT_TRUE(got.is_ok() && want.is_ok());
            ASSERT_EQ(got->shape, want->shape);
            auto a = zoo::runner::compare_tensors(*got, *want);
            EXPECT_GE(a.pcc, 0.99999);
            EXPECT_LE(a.max_abs_error, 1e-4 * a.max_abs_reference);
            ++checked;
        }
    }
    EXPECT_EQ(checked, 9);
}

TEST(CliRun, BundledSamplesAreClassifiedWithTimings) {
    CommandResult r = run_runner("run --model mobilenetv3 --device cpu --warmup 1 --iterations 3");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "RANDOM weights")) << r.output;
    EXPECT_TRUE(contains(r.output, "chelsea")) << r.output;
    EXPECT_TRUE(contains(r.output, "coffee")) << r.output;
    EXPECT_TRUE(contains(r.output, "    5. ")) << r.output;  // top-5 per image
    for (const char* unit : {"Latency:     median", "ms   p90", "Throughput:", "images/s", "First run:", "[2/5] Load", "[3/5] Compile"})
        EXPECT_TRUE(contains(r.output, unit)) << unit << "\n" << r.output;
}

TEST(CliRun, ReportIsJsonWithLatencyAndPredictions) {
    const std::string report = temp_path("report.json");
    CommandResult r = run_runner("run --model mobilenetv2 --device cpu --input random --batch 2 --iterations 4 --report " + report);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    std::ifstream in(report);
    auto j = nlohmann::json::parse(in);
    EXPECT_EQ(j["model"]["name"], "mobilenetv2");
    EXPECT_EQ(j["model"]["parameters"], 3504872);
    EXPECT_EQ(j["config"]["batch"], 2);
    EXPECT_EQ(j["latency_ms"]["count"], 4);
    EXPECT_GT(j["latency_ms"]["median"].get<double>(), 0.0);
    EXPECT_LE(j["latency_ms"]["min"].get<double>(), j["latency_ms"]["max"].get<double>());
    EXPECT_EQ(j["predictions"].size(), 2u);
}

TEST(CliRun, ListShowsPluginsWithVersionsAndAbi) {
    CommandResult r = run_runner("list --json");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto j = nlohmann::json::parse(r.output);
    std::set<std::string> models, devices;
    for (const auto& m : j["models"]) {
        models.insert(m["name"]);
        EXPECT_EQ(m["abi"], j["abi"]);
        EXPECT_TRUE(m["usable"].get<bool>());
    }
    for (const auto& d : j["devices"]) devices.insert(d["name"]);
    EXPECT_TRUE(models.count("mobilenetv3") && models.count("mobilenetv2"));
    EXPECT_TRUE(devices.count("cpu"));
    CommandResult text = run_runner("list");
    EXPECT_TRUE(contains(text.output, "variant large")) << text.output;
    EXPECT_TRUE(contains(text.output, "variant small")) << text.output;
}

TEST(CliRun, WidthAndResolutionOverridesChangeTheModel) {
    CommandResult r = run_runner("run --model mobilenetv3 --variant small --device cpu --input random --set width_mult=0.75 "
                                 "--set resolution=160x192 --iterations 1");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "input 160x192")) << r.output;
}

TEST(CliErrors, UnknownNamesListWhatExists) {
    CommandResult r = run_runner("run --model resnet50 --device cpu");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.output, "unknown model 'resnet50' (available: efficientnet, mobilenetv2, mobilenetv3")) << r.output;
    r = run_runner("run --model mobilenetv3 --device tpu");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.output, "unknown device 'tpu'")) << r.output;
    r = run_runner("run --model mobilenetv3 --variant medium --device cpu");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.output, "unknown variant 'medium' of model 'mobilenetv3' (available: large, small, large_minimalistic, small_minimalistic)")) << r.output;
}

TEST(CliErrors, BadYamlNamesFileLineAndColumn) {
    const std::string cfg = temp_path("bad.yaml");
    std::ofstream(cfg) << "defaults:\n  dtype: bfloat16\n  math_fidelity: [HiFi4\n";
    CommandResult r = run_runner("run --model mobilenetv3 --device cpu --input random --config " + cfg);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.output, cfg + ":4:1: invalid YAML")) << r.output;

    std::ofstream(cfg) << "defaults:\n  dtype: bfloat16\n  math_fidelity: HiFi5\n";
    r = run_runner("run --model mobilenetv3 --device cpu --input random --config " + cfg);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.output, cfg + ":3:18: 'math_fidelity' must be one of LoFi, HiFi2, HiFi3, HiFi4, found 'HiFi5'"))
        << r.output;
}

TEST(CliErrors, UnreadableImageAndWrongNpyShape) {
    const std::string img = temp_path("not_an_image.png");
    std::ofstream(img) << "this is text";
    CommandResult r = run_runner("run --model mobilenetv3 --device cpu --input " + img);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.output, img)) << r.output;

    const std::string npy = temp_path("wrong.npy");
    // Batch and resolution come from the file (issue 11); the channels cannot.
    ASSERT_TRUE(zoo::runner::write_npy(npy, Tensor(zoo::Shape{2, 1, 224, 224})).is_ok());
    r = run_runner("run --model mobilenetv3 --device cpu --input " + npy);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.output, "expected a preprocessed float32 tensor of shape [2, 3, 224, 224]")) << r.output;
    EXPECT_TRUE(contains(r.output, "found [2, 1, 224, 224]")) << r.output;
}

TEST(CliErrors, BadOverrideNamesTheArgument) {
    CommandResult r = run_runner("run --model mobilenetv2 --device cpu --input random --set width_mult=-1");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.output, "--set width_mult=-1: 'width_mult' must be positive")) << r.output;
    r = run_runner("run --model mobilenetv2 --device cpu --input random --set 'features.1*:dtype=float64'");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.output, "'dtype' must be one of float32, bfloat16, bfloat8_b, bfloat4_b, found 'float64'")) << r.output;
}

TEST(CliRun, DumpConfigShowsOverridesPerLayer) {
    CommandResult r = run_runner("run --model mobilenetv2 --device wormhole --dump-config --set dtype=bfloat8_b "
                                 "--set 'features.1.*:math_fidelity=LoFi'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "features.1.conv.0.0")) << r.output;
    // The pattern applies to block 1 only.
    auto line_of = [&](const std::string& layer) {
        size_t at = r.output.find("\n" + layer + " ");
        return at == std::string::npos ? std::string() : r.output.substr(at + 1, r.output.find('\n', at + 1) - at - 1);
    };
    EXPECT_TRUE(contains(line_of("features.1.conv.0.0"), "LoFi")) << line_of("features.1.conv.0.0");
    EXPECT_TRUE(contains(line_of("features.2.conv.0.0"), "HiFi4")) << line_of("features.2.conv.0.0");
    EXPECT_TRUE(contains(line_of("features.2.conv.0.0"), "bfloat8_b")) << line_of("features.2.conv.0.0");
    // The legend is the device's own declaration: each option with its values and default.
    EXPECT_TRUE(contains(r.output, "Layer settings on wormhole")) << r.output;
    EXPECT_TRUE(contains(r.output, "one of LoFi, HiFi2, HiFi3, HiFi4; default HiFi4")) << r.output;
    EXPECT_TRUE(contains(r.output, "a multiple of 32; default 0")) << r.output;
}

TEST(CliRun, AnotherDevicesOptionIsIgnoredWithAWarningAndATypoIsRefused) {
    // math_fidelity is the wormhole's option: the cpu computes fp32 whatever it says, and says so.
    CommandResult r = run_runner("run --model mobilenetv2 --device cpu --dump-config --set 'features.1.*:math_fidelity=LoFi'");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "warning: device 'cpu' ignores settings of options it does not have (its own: none): "
                                   "'math_fidelity' at --set features.1.*:math_fidelity=LoFi")) << r.output;
    EXPECT_TRUE(contains(r.output, "the device declares no options of its own")) << r.output;
    // A key no device declares is an error, with the accepted keys.
    r = run_runner("run --model mobilenetv2 --device wormhole --input random --set 'features.1.*:math_fidelty=LoFi'");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.output, "unknown layer setting 'math_fidelty' (accepted: dtype, weights_dtype, math_fidelity"))
        << r.output;
}
