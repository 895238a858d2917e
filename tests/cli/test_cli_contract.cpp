// Issue 11, the CLI contract through the real binary: usage errors exit 2 with one line and a "did you mean";
// paths and option combinations are refused before any work; non-finite outputs are INVALID; a .npy gives the batch
// and the resolution; hostile files end in an error, never an abort.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli_harness.hpp"
#include "io/npy.hpp"

namespace fs = std::filesystem;

namespace {

std::string temp(const std::string& name) {
    return (fs::temp_directory_path() / ("zoo_contract_" + std::to_string(::getpid()) + "_" + name)).string();
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

void expect_usage_error(const std::string& args, const std::string& message) {
    const CommandResult r = run_runner(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, message)) << args << "\n" << r.output;
    EXPECT_FALSE(contains(r.output, "17976931348623157")) << r.output;  // CLI11's DBL_MAX range text
}

// A quick accuracy-only run of V3-Small on the CPU with a .npy input, which is removed afterwards.
CommandResult run_on_npy(const std::string& path) {
    const CommandResult r = run_runner("run --model mobilenetv3 --variant small --device cpu --iterations 0 --input " + path);
    fs::remove(path);
    return r;
}

}  // namespace

TEST(CliContract, UsageErrorsExit2WithASuggestion) {
    expect_usage_error("lst", "unknown command 'lst' (did you mean 'list'?)");
    expect_usage_error("run --model mobilenetv3 --device cpu --iteration 5", "unknown option '--iteration' (did you mean '--iterations'?)");
    expect_usage_error("run --model mobilenetv3 --device cpu --batch 0", "--batch: must be a positive number, found 0");
    expect_usage_error("run --model mobilenetv3 --device cpu --pcc-threshold 1.5", "a PCC between -1 and 1, found 1.5");
    expect_usage_error("--plugin-dir /nonexistent/zoo list", "/nonexistent/zoo");
    expect_usage_error("--limit pixels=5 list", "image_pixels");
    expect_usage_error("run --device cpu", "--model is required");
    EXPECT_EQ(run_runner("--help").exit_code, 0);
}

TEST(CliContract, PathsAndCombinationsAreCheckedBeforeAnyWork) {
    const std::string base = "run --model mobilenetv3 --variant small --device cpu --iterations 1 --input random ";
    struct Case {
        std::string args, message;
    };
    const std::vector<Case> cases{
        {"--report /nonexistent/x.json", "the folder /nonexistent does not exist"},
        {"--output /etc/hostname", "exists and is not a folder"},
        {"--report " + temp("r.json") + " --report-format csv", "contradicts the extension"},
    };
    for (const auto& c : cases) {
        const CommandResult r = run_runner(base + c.args);
        EXPECT_EQ(r.exit_code, 1) << c.args << "\n" << r.output;
        EXPECT_TRUE(contains(r.output, c.message)) << c.args << "\n" << r.output;
        EXPECT_FALSE(contains(r.output, "[1/5]")) << "work was done before the check:\n" << r.output;
    }
    const CommandResult input = run_runner("run --model mobilenetv3 --variant small --device cpu --input /etc/hostname");
    EXPECT_EQ(input.exit_code, 1) << input.output;
    EXPECT_TRUE(contains(input.output, "could not be decoded as an image")) << input.output;
    EXPECT_FALSE(contains(input.output, "[1/5]")) << input.output;
}

TEST(CliContract, NonFiniteOutputsAreInvalid) {
    zoo::Tensor t(zoo::Shape{1, 3, 224, 224});
    t.data[0] = std::nanf("");
    const std::string path = temp("nan.npy");
    ASSERT_TRUE(zoo::runner::write_npy(path, t));
    const CommandResult r = run_on_npy(path);
    EXPECT_EQ(r.exit_code, 3) << r.output;
    EXPECT_TRUE(contains(r.output, "INVALID (the outputs hold non-finite values (NaN")) << r.output;
}

// A copy of torchvision's V3-Small weights (safetensors) with one NaN in the depthwise conv of block 4: the run is
// INVALID and, with a reference device or per-layer capture, the message names that conv as where it started, not the
// input, not the first layer that compares badly, not the output.
TEST(CliContract, NonFiniteOutputsNameTheFirstLayerThatProducedThem) {
    const std::string source = reference_dir() + "/mobilenetv3_small_w1.0/w.safetensors";
    std::ifstream in(source, std::ios::binary);
    ASSERT_TRUE(in) << source;
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    uint64_t header_size = 0;
    std::memcpy(&header_size, bytes.data(), sizeof header_size);
    const auto header = nlohmann::json::parse(bytes.substr(8, header_size));
    const std::string tensor = "features.4.block.1.0.weight";
    ASSERT_TRUE(header.contains(tensor)) << header.dump().substr(0, 400);
    ASSERT_EQ(header[tensor]["dtype"], "F32");
    const size_t offset = 8 + header_size + header[tensor]["data_offsets"][0].get<size_t>() + 5 * sizeof(float);
    const float nan = std::nanf("");
    std::memcpy(bytes.data() + offset, &nan, sizeof nan);
    const std::string path = temp("nan_conv.safetensors");
    std::ofstream(path, std::ios::binary) << bytes;

    const std::string base = "run --model mobilenetv3 --variant small --device cpu --iterations 0 --input random --weights " + path;
    for (const std::string extra : {" --reference cpu", " --reference cpu --layer-pcc"}) {
        const CommandResult r = run_runner(base + extra);
        EXPECT_EQ(r.exit_code, 3) << extra << "\n" << r.output;
        EXPECT_TRUE(contains(r.output, "INVALID (the outputs hold non-finite values (NaN")) << r.output;
        EXPECT_TRUE(contains(r.output, "first non-finite value at layer features.4.block.1.0 (")) << extra << "\n" << r.output;
    }
    // Without a reference nothing is captured: the verdict is the same, the layer is not searched for.
    const CommandResult plain = run_runner(base);
    EXPECT_EQ(plain.exit_code, 3) << plain.output;
    EXPECT_FALSE(contains(plain.output, "first non-finite value")) << plain.output;
    fs::remove(path);
}

TEST(CliContract, NpyGivesBatchAndResolutionAndRefusesIntegers) {
    const std::string path = temp("small.npy");
    ASSERT_TRUE(zoo::runner::write_npy(path, zoo::Tensor(zoo::Shape{2, 3, 192, 160})));
    const CommandResult r = run_on_npy(path);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "batch 2  input 192x160")) << r.output;

    // int32 [1, 3, 2, 2]: refused, not converted.
    std::string header = "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 3, 2, 2), }";
    while ((10 + header.size() + 1) % 64) header += ' ';
    header += '\n';
    std::string bytes = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size()) + '\0' + header + std::string(48, '\0');
    const std::string ints = temp("ints.npy");
    write_text(ints, bytes);
    const CommandResult i = run_on_npy(ints);
    EXPECT_EQ(i.exit_code, 1) << i.output;
    EXPECT_TRUE(contains(i.output, "already preprocessed float tensor")) << i.output;
}

TEST(CliContract, HostileExperimentsAndReportsEndInErrors) {
    const std::string ex = temp("q.yaml");
    write_text(ex, "? :\n");
    const CommandResult s = run_runner("sweep " + ex + " --dry-run");
    EXPECT_EQ(s.exit_code, 1) << s.output;
    EXPECT_TRUE(contains(s.output, "must be a plain name")) << s.output;
    write_text(ex, "base: {model: mobilenetv3, device: cpu, itertions: 2}\naxes: {batch: [1, 2]}\n");
    const CommandResult typo = run_runner("sweep " + ex + " --dry-run");
    EXPECT_EQ(typo.exit_code, 1) << typo.output;
    EXPECT_TRUE(contains(typo.output, "did you mean 'iterations'")) << typo.output;
    fs::remove(ex);

    // diff against a results file whose first record is a failed run: an error, not exit 134.
    const std::string results = temp("failed.jsonl");
    write_text(results, R"({"schema":"zoo-runner-sweep-result/1","run_id":"x","status":"error","error":"device refused"})" "\n");
    const CommandResult d = run_runner("diff " + results + " " + results);
    fs::remove(results);
    EXPECT_EQ(d.exit_code, 1) << d.output;
    EXPECT_TRUE(contains(d.output, "first error: device refused")) << d.output;
}

TEST(CliContract, WeightsOfAnotherModelSayItInTheFirstLine) {
    const std::string w = reference_dir() + "/mobilenetv2_w1.0/w.pth";
    const CommandResult r = run_runner("run --model mobilenetv3 --device cpu --input random --weights " + w);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_TRUE(contains(r.output.substr(0, r.output.find('\n')), "does not look like mobilenetv3 (large): it holds 314 tensors"))
        << r.output;
    EXPECT_LT(std::count(r.output.begin(), r.output.end(), '\n'), 20) << r.output;  // was 619 lines
}

TEST(CliContract, BundledConfigsResolveOutsideTheCheckout) {
    // The test runs in the build tree, where yaml/configs/ does not exist: the bundled data folder is used.
    ASSERT_FALSE(fs::exists("yaml/configs/accuracy_bf16_hifi4.yaml"));
    const CommandResult r = run_runner("run --model mobilenetv3 --variant small --device cpu --input random --iterations 1 "
                                       "--config yaml/configs/accuracy_bf16_hifi4.yaml");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "was written for device 'wormhole', running on 'cpu'")) << r.output;
}

TEST(CliContract, ListNamesTheTableFileThatIsLoaded) {
    const CommandResult list = run_runner("list");
    const CommandResult run = run_runner("run --model mobilenetv3 --variant small --device cpu --input random --iterations 0");
    ASSERT_EQ(run.exit_code, 0) << run.output;
    const size_t at = run.output.find("table ");
    ASSERT_NE(at, std::string::npos) << run.output;
    const std::string loaded = run.output.substr(at + 6, run.output.find('\n', at) - at - 6);
    EXPECT_TRUE(contains(list.output, "[" + loaded + "]")) << loaded << "\n" << list.output;
}
