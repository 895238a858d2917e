// max_pool2d and avg_pool2d: the SDK's shape inference and verification (torch's rules and error cases), the SDK fp32
// reference against the tests' naive evaluator, the cpu device's NHWC kernels against the reference, and both against
// torch itself (Debian's python3 with torch, ZOO_PYTHON under ctest) on odd shapes: ceil_mode windows hanging past
// the padding, a ceil_mode window dropped because it would start in the right padding, stride != kernel, dilation,
// count_include_pad off, non-square kernels.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cpu_device.hpp"
#include "graph_fixture.hpp"
#include "zoo/reference.hpp"

using namespace zoo_test;
namespace fs = std::filesystem;

namespace {

struct PoolCase {
    std::string name;
    bool is_max = true;
    zoo::Shape input;  // NCHW
    std::array<int64_t, 2> kernel, stride, padding, dilation{1, 1};
    bool ceil_mode = false;
    bool count_include_pad = true;
    zoo::Shape expected;  // the output shape torch gives (checked against torch below too)
};

// Shapes chosen for the rules they exercise; the expected output shapes are torch 1.13's.
std::vector<PoolCase> pool_cases() {
    return {
        // ResNet-50's stem pool: 3x3 s2 p1 on an even input.
        {"max_3x3_s2_p1", true, {2, 20, 12, 12}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, false, true, {2, 20, 6, 6}},
        // ceil_mode keeps a last window hanging past the right padding: 8 (pad 1) -> 5 (floor: 4).
        {"max_ceil_overhang", true, {2, 17, 8, 9}, {3, 3}, {2, 2}, {1, 0}, {1, 1}, true, true, {2, 17, 5, 4}},
        // ceil_mode drops a last window that would start in the right padding: 5 (pad 1, k 2, s 2) -> 3, not 4.
        {"max_ceil_drops_window_in_padding", true, {1, 16, 5, 5}, {2, 2}, {2, 2}, {1, 1}, {1, 1}, true, true, {1, 16, 3, 3}},
        {"max_dilated_stride1", true, {2, 33, 10, 8}, {3, 2}, {1, 1}, {1, 1}, {2, 1}, false, true, {2, 33, 8, 9}},
        {"max_stride_gt_kernel", true, {1, 5, 11, 11}, {2, 2}, {3, 3}, {0, 0}, {1, 1}, false, true, {1, 5, 4, 4}},
        {"avg_3x3_s2_p1_include_pad", false, {2, 20, 9, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, false, true, {2, 20, 5, 5}},
        {"avg_3x3_s2_p1_exclude_pad", false, {2, 20, 9, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, false, false, {2, 20, 5, 5}},
        // ceil_mode + padding: the last window's divisor counts padding only up to the padded edge.
        {"avg_ceil_pad_include", false, {2, 7, 8, 6}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true, true, {2, 7, 5, 4}},
        {"avg_ceil_pad_exclude", false, {2, 7, 8, 6}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, true, false, {2, 7, 5, 4}},
        {"avg_4x4_s4_non_square_input", false, {1, 40, 16, 12}, {4, 4}, {4, 4}, {0, 0}, {1, 1}, false, true, {1, 40, 4, 3}},
        {"avg_2x3_s1_p_1x1", false, {2, 16, 6, 7}, {2, 3}, {1, 2}, {1, 1}, {1, 1}, false, true, {2, 16, 7, 4}},
    };
}

GraphBuilder make_pool_graph(const PoolCase& c) {
    GraphBuilder b;
    int x = b.input("input", c.input);
    if (c.is_max) {
        zoo::MaxPool2dAttrs a;
        a.kernel = c.kernel, a.stride = c.stride, a.padding = c.padding, a.dilation = c.dilation, a.ceil_mode = c.ceil_mode;
        b.graph.outputs = {b.op("pool", zoo::OpKind::MaxPool2d, {x}, a)};
    } else {
        zoo::AvgPool2dAttrs a;
        a.kernel = c.kernel, a.stride = c.stride, a.padding = c.padding, a.ceil_mode = c.ceil_mode;
        a.count_include_pad = c.count_include_pad;
        b.graph.outputs = {b.op("pool", zoo::OpKind::AvgPool2d, {x}, a)};
    }
    return b;
}

zoo::Tensor case_input(const PoolCase& c, uint32_t seed) {
    return zoo::Tensor(c.input, random_vector(static_cast<size_t>(zoo::shape_numel(c.input)), seed, -3.0f, 3.0f));
}

std::vector<float> run_cpu(const GraphBuilder& b, const zoo::Tensor& input, int threads) {
    zoo::cpu::CpuDevice device;
    std::vector<zoo::LayerConfig> configs(b.graph.nodes.size());
    for (size_t i = 0; i < b.graph.nodes.size(); ++i) EXPECT_TRUE(device.supports(b.graph.nodes[i], configs[i]).is_ok());
    zoo::CompileOptions options;
    options.threads = threads;
    auto compiled = device.compile(b.graph, b.weights, configs, options);
    EXPECT_TRUE(compiled.is_ok()) << compiled.status().message();
    if (!compiled.is_ok()) return {};
    std::vector<zoo::Tensor> outputs;
    zoo::Status s = compiled.value()->run({input}, outputs, nullptr);
    EXPECT_TRUE(s.is_ok()) << s.message();
    return s.is_ok() ? outputs.at(0).data : std::vector<float>{};
}

std::string python_executable() {
    if (const char* env = std::getenv("ZOO_PYTHON"); env && *env) return env;
    return "/usr/bin/python3";
}

fs::path scratch_dir() {
    fs::path base = fs::temp_directory_path();
    if (const char* env = std::getenv("ZOO_BUILD_DIR"); env && *env && fs::is_directory(env)) base = env;
    fs::path dir = base / ("zoo_test_pool_ops_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

void write_floats(const fs::path& p, const std::vector<float>& v) {
    std::ofstream out(p, std::ios::binary);
    out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
}

std::vector<float> read_floats(const fs::path& p) {
    std::ifstream in(p, std::ios::binary | std::ios::ate);
    std::vector<float> v(static_cast<size_t>(in.tellg()) / sizeof(float));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
    return v;
}

std::string ints(const std::array<int64_t, 2>& a) { return "(" + std::to_string(a[0]) + ", " + std::to_string(a[1]) + ")"; }

}  // namespace

TEST(PoolOps, OutputSizeFollowsTorchIncludingCeilModeRule) {
    // pooling_output_shape: floor, ceil, and ceil with the last window dropped when it would start in the padding.
    EXPECT_EQ(zoo::pool_output_size(112, 3, 2, 1, 1, false), 56);
    EXPECT_EQ(zoo::pool_output_size(112, 3, 2, 1, 1, true), 57);
    EXPECT_EQ(zoo::pool_output_size(7, 3, 2, 0, 1, false), 3);
    EXPECT_EQ(zoo::pool_output_size(7, 3, 2, 0, 1, true), 3);
    EXPECT_EQ(zoo::pool_output_size(8, 3, 2, 0, 1, true), 4);
    EXPECT_EQ(zoo::pool_output_size(5, 2, 2, 1, 1, true), 3);  // 4 without the rule
    EXPECT_EQ(zoo::pool_output_size(10, 3, 1, 1, 2, false), 8);
    EXPECT_EQ(zoo::pool_output_size(2, 5, 1, 0, 1, false), -2);  // window larger than the input: reported by infer_shapes
    for (const PoolCase& c : pool_cases()) {
        GraphBuilder b = make_pool_graph(c);
        zoo::Status s = b.graph.infer_shapes();
        ASSERT_TRUE(s.is_ok()) << c.name << ": " << s.message();
        EXPECT_EQ(b.graph.nodes[1].output_shape, c.expected) << c.name;
    }
}

TEST(PoolOps, VerificationNamesTheNodeAndTheBrokenRule) {
    PoolCase c = pool_cases()[0];
    c.padding = {2, 1};  // kernel 3: at most 1
    GraphBuilder b = make_pool_graph(c);
    zoo::Status s = b.graph.verify();
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("node 'pool' (max_pool2d)"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("padding h = 2 is more than half the kernel h = 3"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("torch refuses it"), std::string::npos) << s.message();

    c = pool_cases()[5];
    c.stride = {0, 2};
    b = make_pool_graph(c);
    s = b.graph.verify();
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("node 'pool' (avg_pool2d)"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("stride [0, 2]"), std::string::npos) << s.message();

    c = pool_cases()[0];
    c.input = {1, 4, 2, 2};
    c.kernel = {5, 5};
    c.padding = {0, 0};
    b = make_pool_graph(c);
    s = b.graph.infer_shapes();
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("input [1, 4, 2, 2] gives output [1, 4, -1, -1]"), std::string::npos) << s.message();

    GraphBuilder flat;
    int x = flat.input("input", {2, 8, 1, 1});
    int f = flat.op("flatten", zoo::OpKind::Flatten, {x}, zoo::FlattenAttrs{1});
    flat.graph.outputs = {flat.op("pool", zoo::OpKind::MaxPool2d, {f}, zoo::MaxPool2dAttrs{})};
    s = flat.graph.infer_shapes();
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("expects [N, C, H, W], found [2, 8]"), std::string::npos) << s.message();
}

TEST(PoolOps, SdkReferenceMatchesTheNaiveEvaluator) {
    for (const PoolCase& c : pool_cases()) {
        GraphBuilder b = make_pool_graph(c);
        ASSERT_TRUE(b.graph.infer_shapes().is_ok());
        const std::vector<zoo::Tensor> inputs{case_input(c, 3)};
        std::vector<zoo::Tensor> outputs;
        zoo::Status s = zoo::reference_run(b.graph, b.weights, inputs, outputs);
        ASSERT_TRUE(s.is_ok()) << c.name << ": " << s.message();
        const auto expected = evaluate_reference(b.graph, b.weights, inputs);
        EXPECT_TRUE(close_to(outputs[0].data, expected.at("pool").data, 1e-6, 0.9999999)) << c.name;
        if (c.is_max)  // max selects an input value: exact
            for (size_t e = 0; e < outputs[0].data.size(); ++e)
                ASSERT_EQ(outputs[0].data[e], static_cast<float>(expected.at("pool").data[e])) << c.name << " at " << e;
    }
}

TEST(PoolOps, CpuDeviceMatchesTheSdkReference) {
    for (const PoolCase& c : pool_cases())
        for (int threads : {1, 2}) {
            GraphBuilder b = make_pool_graph(c);
            ASSERT_TRUE(b.graph.infer_shapes().is_ok());
            const zoo::Tensor input = case_input(c, 5);
            std::vector<zoo::Tensor> ref;
            ASSERT_TRUE(zoo::reference_run(b.graph, b.weights, {input}, ref).is_ok());
            const std::vector<float> got = run_cpu(b, input, threads);
            if (c.is_max)
                EXPECT_EQ(got, ref[0].data) << c.name;
            else
                EXPECT_TRUE(close_to(got, to_double(ref[0].data), 1e-6)) << c.name;
        }
}

TEST(PoolOps, MaxPoolPropagatesNaNLikeTorch) {
    PoolCase c = pool_cases()[4];  // 2x2 stride 3: every window disjoint
    GraphBuilder b = make_pool_graph(c);
    ASSERT_TRUE(b.graph.infer_shapes().is_ok());
    zoo::Tensor input = case_input(c, 9);
    input.data[0] = NAN;  // in window (0, 0) of channel 0 only
    std::vector<zoo::Tensor> ref;
    ASSERT_TRUE(zoo::reference_run(b.graph, b.weights, {input}, ref).is_ok());
    const std::vector<float> got = run_cpu(b, input, 1);
    ASSERT_EQ(got.size(), ref[0].data.size());
    EXPECT_TRUE(std::isnan(ref[0].data[0]));
    EXPECT_TRUE(std::isnan(got[0]));
    for (size_t e = 1; e < got.size(); ++e) ASSERT_FALSE(std::isnan(got[e])) << e;
}

// The same cases through torch.nn.functional.max_pool2d / avg_pool2d in float32: shapes equal, max exact, avg within
// float rounding (torch's channels-first kernel sums in another order than the NHWC one).
TEST(PoolOps, CpuDeviceAndReferenceMatchTorch) {
    const fs::path dir = scratch_dir();
    const std::vector<PoolCase> cases = pool_cases();
    std::ostringstream script;
    script << "import numpy as np, torch, torch.nn.functional as F\n";
    for (size_t k = 0; k < cases.size(); ++k) {
        const PoolCase& c = cases[k];
        write_floats(dir / ("in" + std::to_string(k) + ".bin"), case_input(c, static_cast<uint32_t>(20 + k)).data);
        script << "x = torch.from_numpy(np.fromfile('" << (dir / ("in" + std::to_string(k) + ".bin")).string()
               << "', dtype=np.float32).reshape(" << c.input[0] << ", " << c.input[1] << ", " << c.input[2] << ", "
               << c.input[3] << "))\n";
        if (c.is_max)
            script << "y = F.max_pool2d(x, " << ints(c.kernel) << ", " << ints(c.stride) << ", " << ints(c.padding) << ", "
                   << ints(c.dilation) << ", ceil_mode=" << (c.ceil_mode ? "True" : "False") << ")\n";
        else
            script << "y = F.avg_pool2d(x, " << ints(c.kernel) << ", " << ints(c.stride) << ", " << ints(c.padding)
                   << ", ceil_mode=" << (c.ceil_mode ? "True" : "False")
                   << ", count_include_pad=" << (c.count_include_pad ? "True" : "False") << ")\n";
        script << "y.contiguous().numpy().astype(np.float32).tofile('" << (dir / ("out" + std::to_string(k) + ".bin")).string()
               << "')\nopen('" << (dir / ("shape" + std::to_string(k) + ".txt")).string()
               << "', 'w').write(' '.join(str(d) for d in y.shape))\n";
    }
    {
        std::ofstream(dir / "pools.py") << script.str();
    }
    const std::string command = python_executable() + " " + (dir / "pools.py").string() + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string log;
    char buf[512];
    while (std::fgets(buf, sizeof buf, pipe)) log += buf;
    ASSERT_EQ(::pclose(pipe), 0) << command << "\n" << log;

    for (size_t k = 0; k < cases.size(); ++k) {
        const PoolCase& c = cases[k];
        std::ifstream shape_file(dir / ("shape" + std::to_string(k) + ".txt"));
        zoo::Shape torch_shape;
        for (int64_t d; shape_file >> d;) torch_shape.push_back(d);
        EXPECT_EQ(torch_shape, c.expected) << c.name;
        const std::vector<float> torch_out = read_floats(dir / ("out" + std::to_string(k) + ".bin"));
        GraphBuilder b = make_pool_graph(c);
        ASSERT_TRUE(b.graph.infer_shapes().is_ok());
        const zoo::Tensor input = case_input(c, static_cast<uint32_t>(20 + k));
        std::vector<zoo::Tensor> ref;
        ASSERT_TRUE(zoo::reference_run(b.graph, b.weights, {input}, ref).is_ok());
        const std::vector<float> got = run_cpu(b, input, 2);
        if (c.is_max) {
            EXPECT_EQ(ref[0].data, torch_out) << c.name;
            EXPECT_EQ(got, torch_out) << c.name;
        } else {
            EXPECT_TRUE(close_to(ref[0].data, to_double(torch_out), 1e-6)) << c.name << " (reference)";
            EXPECT_TRUE(close_to(got, to_double(torch_out), 1e-6)) << c.name << " (cpu device)";
        }
    }
    fs::remove_all(dir);
}
