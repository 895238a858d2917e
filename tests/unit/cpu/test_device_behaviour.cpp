// Device contract: info, errors as Status (wrong inputs), thread counts giving the same numbers.
#include <gtest/gtest.h>

#include "cpu_device.hpp"
#include "graph_fixture.hpp"

using namespace zoo_test;

namespace {

std::unique_ptr<zoo::CompiledModel> compile(GraphBuilder& net, int threads) {
    EXPECT_TRUE(net.graph.infer_shapes().is_ok());
    EXPECT_TRUE(zoo::fold_batchnorm(net.graph, net.weights).is_ok());
    EXPECT_TRUE(net.graph.infer_shapes().is_ok());
    zoo::cpu::CpuDevice device;
    zoo::CompileOptions options;
    options.threads = threads;
    auto result = device.compile(net.graph, net.weights, std::vector<zoo::LayerConfig>(net.graph.nodes.size()), options);
    EXPECT_TRUE(result.is_ok()) << result.status().message();
    return result.is_ok() ? std::move(result.value()) : nullptr;
}

}  // namespace

TEST(CpuDeviceBehaviour, InfoWantsFoldedBatchNormAndNamesThreads) {
    zoo::cpu::CpuDevice device;
    zoo::DeviceInfo info = device.info();
    EXPECT_TRUE(info.wants_folded_batchnorm);
    EXPECT_NE(info.description.find("threads"), std::string::npos) << info.description;
    EXPECT_TRUE(device.probe().is_ok());
}

TEST(CpuDeviceBehaviour, WrongInputShapeIsAnError) {
    GraphBuilder net = make_small_net(2);
    auto model = compile(net, 1);
    ASSERT_TRUE(model);
    std::vector<zoo::Tensor> outputs;
    std::vector<zoo::Tensor> wrong{zoo::Tensor(zoo::Shape{2, 3, 16, 14})};
    zoo::Status s = model->run(wrong, outputs);
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("[2, 3, 17, 14]"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("[2, 3, 16, 14]"), std::string::npos) << s.message();

    std::vector<zoo::Tensor> none;
    EXPECT_FALSE(model->run(none, outputs).is_ok());
    zoo::Tensor short_data(zoo::Shape{2, 3, 17, 14});
    short_data.data.resize(5);
    EXPECT_FALSE(model->run({short_data}, outputs).is_ok());
}

TEST(CpuDeviceBehaviour, MissingWeightIsAnError) {
    GraphBuilder net = make_small_net(1);
    ASSERT_TRUE(net.graph.infer_shapes().is_ok());
    net.weights.erase("features.1.project.weight");
    zoo::cpu::CpuDevice device;
    auto result = device.compile(net.graph, net.weights, {}, {});
    ASSERT_FALSE(result.is_ok());
    EXPECT_NE(result.status().message().find("features.1.project.weight"), std::string::npos);
}

TEST(CpuDeviceBehaviour, OneAndTwoThreadsAgree) {
    GraphBuilder a = make_small_net(3), b = make_small_net(3);
    auto m1 = compile(a, 1), m2 = compile(b, 2);
    ASSERT_TRUE(m1 && m2);
    std::vector<zoo::Tensor> inputs{zoo::Tensor(zoo::Shape{3, 3, 17, 14}, random_vector(3 * 3 * 17 * 14, 42))};
    std::map<std::string, zoo::Tensor> c1, c2;
    std::vector<zoo::Tensor> o1, o2;
    ASSERT_TRUE(m1->run(inputs, o1, &c1).is_ok());
    ASSERT_TRUE(m2->run(inputs, o2, &c2).is_ok());
    for (const auto& [name, t] : c1) EXPECT_TRUE(close_to(c2.at(name).data, to_double(t.data), 1e-6)) << name;
    for (size_t k = 0; k < o1.size(); ++k) EXPECT_TRUE(close_to(o2[k].data, to_double(o1[k].data), 1e-6));
}

// A batch runs image by image on batch-1 copies of the model (one per thread); a capture runs the full-batch plan.
// Both compute every element in the same order, so they must give the same floats.
TEST(CpuDeviceBehaviour, ImageByImageMatchesTheFullBatchPlan) {
    for (int threads : {1, 2}) {
        GraphBuilder net = make_small_net(3);
        auto model = compile(net, threads);
        ASSERT_TRUE(model);
        std::vector<zoo::Tensor> inputs{zoo::Tensor(zoo::Shape{3, 3, 17, 14}, random_vector(3 * 3 * 17 * 14, 7))};
        std::vector<zoo::Tensor> split, full;
        std::map<std::string, zoo::Tensor> captured;
        ASSERT_TRUE(model->run(inputs, split).is_ok());
        ASSERT_TRUE(model->run(inputs, full, &captured).is_ok());
        ASSERT_EQ(split.size(), full.size());
        for (size_t k = 0; k < split.size(); ++k) {
            EXPECT_EQ(split[k].shape, full[k].shape);
            EXPECT_EQ(split[k].data, full[k].data) << "threads " << threads;
        }
        std::vector<zoo::Tensor> again;
        ASSERT_TRUE(model->run(inputs, again).is_ok());  // the split path still works after the full plan was built
        for (size_t k = 0; k < split.size(); ++k) EXPECT_EQ(again[k].data, split[k].data);
    }
}

TEST(CpuDeviceBehaviour, GeneralOpVariantsTakeTheDensePath) {
    // Softmax over channels of a 4-D tensor, softmax over H, flatten that moves data, linear on a 4-D input,
    // rank-3 add and a broadcasting mul.
    GraphBuilder b;
    int x = b.input("input", {2, 5, 3, 4});
    int smc = b.op("softmax_c", zoo::OpKind::Softmax, {x}, zoo::SoftmaxAttrs{1});
    int smh = b.op("softmax_h", zoo::OpKind::Softmax, {smc}, zoo::SoftmaxAttrs{2});
    int lin = b.linear("linear4d", smh, 4, 6);
    int fl = b.op("flatten", zoo::OpKind::Flatten, {lin}, zoo::FlattenAttrs{1});
    int fl2 = b.op("flatten2", zoo::OpKind::Flatten, {x}, zoo::FlattenAttrs{2});
    int fl3 = b.op("flatten3", zoo::OpKind::Flatten, {smc}, zoo::FlattenAttrs{2});
    int add = b.op("add_rank3", zoo::OpKind::Add, {fl2, fl3});
    int gap = b.op("gap", zoo::OpKind::GlobalAvgPool, {x});
    int fl4 = b.op("flatten4", zoo::OpKind::Flatten, {gap}, zoo::FlattenAttrs{2});
    int mul = b.op("mul_rank3", zoo::OpKind::Mul, {fl4, add});
    b.graph.outputs = {fl, mul};
    ASSERT_TRUE(b.graph.infer_shapes().is_ok());
    zoo::cpu::CpuDevice device;
    auto result = device.compile(b.graph, b.weights, {}, {});
    ASSERT_TRUE(result.is_ok()) << result.status().message();
    std::vector<zoo::Tensor> inputs{zoo::Tensor(zoo::Shape{2, 5, 3, 4}, random_vector(120, 3))};
    auto ref = evaluate_reference(b.graph, b.weights, inputs);
    std::map<std::string, zoo::Tensor> captured;
    std::vector<zoo::Tensor> outputs;
    ASSERT_TRUE(result.value()->run(inputs, outputs, &captured).is_ok());
    for (const auto& node : b.graph.nodes) EXPECT_TRUE(close_to(captured.at(node.name).data, ref.at(node.name).data)) << node.name;
    EXPECT_TRUE(close_to(outputs[0].data, ref.at("flatten").data));
    EXPECT_TRUE(close_to(outputs[1].data, ref.at("mul_rank3").data));
}
