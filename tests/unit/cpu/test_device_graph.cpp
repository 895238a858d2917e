// The device end to end on a small graph: every captured node value and every output against naive evaluation,
// fused (fast) outputs identical to the unfused capture run, native BatchNorm and folded BatchNorm.
#include <gtest/gtest.h>

#include <cstring>

#include "cpu_device.hpp"
#include "graph_fixture.hpp"

using namespace zoo_test;

namespace {

struct Compiled {
    GraphBuilder net;
    std::unique_ptr<zoo::CompiledModel> model;
};

Compiled compile_net(int64_t batch, bool fold, int threads, bool mul_scale_first = false) {
    Compiled c{make_small_net(batch, mul_scale_first), nullptr};
    EXPECT_TRUE(c.net.graph.infer_shapes().is_ok());
    if (fold) {
        zoo::Status s = zoo::fold_batchnorm(c.net.graph, c.net.weights);
        EXPECT_TRUE(s.is_ok()) << s.message();
        EXPECT_TRUE(c.net.graph.infer_shapes().is_ok());
    }
    zoo::cpu::CpuDevice device;
    std::vector<zoo::LayerConfig> configs(c.net.graph.nodes.size());
    for (size_t i = 0; i < c.net.graph.nodes.size(); ++i)
        EXPECT_TRUE(device.supports(c.net.graph.nodes[i], configs[i]).is_ok());
    zoo::CompileOptions options;
    options.threads = threads;
    auto result = device.compile(c.net.graph, c.net.weights, configs, options);
    EXPECT_TRUE(result.is_ok()) << result.status().message();
    if (result.is_ok()) c.model = std::move(result.value());
    return c;
}

std::vector<zoo::Tensor> make_inputs(const zoo::Graph& g, uint32_t seed) {
    std::vector<zoo::Tensor> inputs;
    for (int i : g.input_nodes()) {
        const zoo::Shape& s = g.nodes[static_cast<size_t>(i)].output_shape;
        inputs.emplace_back(s, random_vector(static_cast<size_t>(zoo::shape_numel(s)), seed++, -2.0f, 2.0f));
    }
    return inputs;
}

void check_against_reference(bool fold, int64_t batch, bool mul_scale_first) {
    Compiled c = compile_net(batch, fold, 2, mul_scale_first);
    ASSERT_TRUE(c.model);
    std::vector<zoo::Tensor> inputs = make_inputs(c.net.graph, 7);
    auto ref = evaluate_reference(c.net.graph, c.net.weights, inputs);

    std::map<std::string, zoo::Tensor> captured;
    std::vector<zoo::Tensor> outputs;
    zoo::Status s = c.model->run(inputs, outputs, &captured);
    ASSERT_TRUE(s.is_ok()) << s.message();
    ASSERT_EQ(captured.size(), c.net.graph.nodes.size());
    for (const auto& node : c.net.graph.nodes) {
        auto it = captured.find(node.name);
        ASSERT_NE(it, captured.end()) << node.name;
        EXPECT_EQ(it->second.shape, node.output_shape) << node.name;
        EXPECT_TRUE(close_to(it->second.data, ref.at(node.name).data)) << node.name;
    }
    ASSERT_EQ(outputs.size(), 2u);
    EXPECT_TRUE(close_to(outputs[0].data, ref.at("softmax").data));
    EXPECT_TRUE(close_to(outputs[1].data, ref.at("classifier.3").data));
    EXPECT_EQ(outputs[0].shape, (zoo::Shape{batch, 10}));

    // The fused fast path gives exactly what the unfused capture path gives.
    std::vector<zoo::Tensor> fast;
    ASSERT_TRUE(c.model->run(inputs, fast).is_ok());
    ASSERT_EQ(fast.size(), outputs.size());
    for (size_t k = 0; k < fast.size(); ++k) EXPECT_EQ(fast[k].data, outputs[k].data) << "output " << k;
    // And repeated runs (buffers reused) are stable.
    std::vector<zoo::Tensor> again;
    ASSERT_TRUE(c.model->run(inputs, again).is_ok());
    for (size_t k = 0; k < fast.size(); ++k) EXPECT_EQ(fast[k].data, again[k].data);
}

}  // namespace

TEST(CpuDeviceGraph, FoldedGraphMatchesNaiveEvaluation) { check_against_reference(true, 1, false); }
TEST(CpuDeviceGraph, NativeBatchNormBatch3MatchesNaiveEvaluation) { check_against_reference(false, 3, false); }
TEST(CpuDeviceGraph, MulOperandOrderDoesNotMatter) { check_against_reference(true, 2, true); }

TEST(CpuDeviceGraph, FusesConvWithActivationAndResidual) {
    Compiled c = compile_net(1, true, 1);
    ASSERT_TRUE(c.model);
    std::vector<zoo::Tensor> outputs;
    ASSERT_TRUE(c.model->run(make_inputs(c.net.graph, 1), outputs).is_ok());
    std::map<std::string, std::string> ops;
    for (const auto& t : c.model->last_timings()) {
        ops[t.node_name] = t.op_type;
        EXPECT_GE(t.duration_ns, 0.0);
        EXPECT_FALSE(t.modelled);
    }
    EXPECT_EQ(ops["features.0.0"], "conv2d+relu6");
    EXPECT_EQ(ops["features.1.dw"], "conv2d+hardswish");
    EXPECT_EQ(ops["features.1.se.fc2"], "conv2d+hardsigmoid");
    EXPECT_EQ(ops["features.1.project"], "conv2d+add");
    EXPECT_EQ(ops["classifier.0"], "linear+hardswish");
    EXPECT_EQ(ops["features.1.se.mul"], "mul");
    EXPECT_EQ(ops.count("features.1.hs"), 0u);  // inside a fused kernel
}

// An expansion larger than a core's L2 runs into its depthwise conv (and the residual add after it) as one step, with
// the bits of the unfused capture plan. An expansion that is also a graph output, or that a second node reads, stays
// its own step.
TEST(CpuDeviceGraph, ExpansionIntoDepthwiseIsOneStepWithTheSameBits) {
    enum Variant { Fused, ExpansionIsOutput, ExpansionHasTwoReaders };
    for (Variant v : {Fused, ExpansionIsOutput, ExpansionHasTwoReaders}) {
        GraphBuilder b;
        const int x = b.input("input", {1, 16, 72, 70});  // expanded: 72 x 70 x 64 floats, 1.3 MB
        const int skip = b.input("skip", {1, 64, 36, 35});  // the residual: not a conv, so the add joins the dw's chain
        const int expand = b.conv("block.expand", x, 16, 64, 1, 1, 0, 1, true);
        const int relu = b.op("block.relu", zoo::OpKind::Relu6, {expand});
        const int dw = b.conv("block.dw", relu, 64, 64, 3, 2, 1, 64, true);
        const int hs = b.op("block.hs", zoo::OpKind::Hardswish, {dw});
        const int add = b.op("block.add", zoo::OpKind::Add, {hs, skip});
        b.graph.outputs = {add};
        if (v == ExpansionIsOutput) b.graph.outputs.push_back(relu);
        if (v == ExpansionHasTwoReaders) b.graph.outputs.push_back(b.op("block.gap", zoo::OpKind::GlobalAvgPool, {relu}));
        ASSERT_TRUE(b.graph.infer_shapes().is_ok());
        zoo::cpu::CpuDevice device;
        zoo::CompileOptions options;
        options.threads = 2;
        auto compiled = device.compile(b.graph, b.weights, std::vector<zoo::LayerConfig>(b.graph.nodes.size()), options);
        ASSERT_TRUE(compiled.is_ok()) << compiled.status().message();
        const std::vector<zoo::Tensor> inputs = make_inputs(b.graph, 11);
        std::vector<zoo::Tensor> fast, unfused;
        ASSERT_TRUE(compiled.value()->run(inputs, fast).is_ok());
        std::map<std::string, std::string> ops;
        for (const auto& t : compiled.value()->last_timings()) ops[t.node_name] = t.op_type;
        std::map<std::string, zoo::Tensor> captured;
        ASSERT_TRUE(compiled.value()->run(inputs, unfused, &captured).is_ok());
        ASSERT_EQ(fast.size(), unfused.size());
        for (size_t k = 0; k < fast.size(); ++k) {
            ASSERT_EQ(fast[k].data.size(), unfused[k].data.size());
            EXPECT_EQ(0, std::memcmp(fast[k].data.data(), unfused[k].data.data(), fast[k].data.size() * sizeof(float)))
                << "output " << k << " variant " << v;
        }
        if (v == Fused) {
            EXPECT_EQ(ops["block.expand"], "conv2d+relu6+conv2d+hardswish+add");
            EXPECT_EQ(ops.count("block.dw"), 0u);
        } else {
            EXPECT_EQ(ops["block.expand"], "conv2d+relu6") << "variant " << v;
            EXPECT_EQ(ops["block.dw"], "conv2d+hardswish+add") << "variant " << v;
        }
    }
}
