// The SDK's fp32 reference (zoo/reference.hpp), which the null device runs and the conformance suite trusts, checked
// against the tests' own naive double-precision evaluator on a graph using every op.
#include <gtest/gtest.h>

#include "graph_fixture.hpp"
#include "zoo/reference.hpp"

using namespace zoo_test;

namespace {

std::vector<zoo::Tensor> random_inputs(const zoo::Graph& g) {
    std::vector<zoo::Tensor> inputs;
    for (int i : g.input_nodes()) {
        const zoo::Shape& s = g.nodes[static_cast<size_t>(i)].output_shape;
        inputs.emplace_back(s, random_vector(static_cast<size_t>(zoo::shape_numel(s)), 11, -4.0f, 4.0f));
    }
    return inputs;
}

}  // namespace

TEST(SdkReference, EveryNodeMatchesTheNaiveEvaluator) {
    for (bool fold : {false, true}) {
        GraphBuilder net = make_small_net(2);
        ASSERT_TRUE(net.graph.infer_shapes().is_ok());
        if (fold) {
            ASSERT_TRUE(zoo::fold_batchnorm(net.graph, net.weights).is_ok());
            ASSERT_TRUE(net.graph.infer_shapes().is_ok());
        }
        const auto inputs = random_inputs(net.graph);
        std::vector<zoo::Tensor> outputs;
        std::map<std::string, zoo::Tensor> captured;
        zoo::Status s = zoo::reference_run(net.graph, net.weights, inputs, outputs, &captured);
        ASSERT_TRUE(s.is_ok()) << s.message();
        const auto expected = evaluate_reference(net.graph, net.weights, inputs);
        ASSERT_EQ(captured.size(), net.graph.nodes.size());
        for (const auto& [name, value] : expected)
            EXPECT_TRUE(close_to(captured.at(name).data, value.data, 1e-6)) << name << (fold ? " (folded)" : "");
        ASSERT_EQ(outputs.size(), 2u);
        EXPECT_EQ(outputs[1].data, captured.at("classifier.3").data);
    }
}

TEST(SdkReference, ErrorsNameTheNodeAndWhatIsWrong) {
    GraphBuilder net = make_small_net(1);
    ASSERT_TRUE(net.graph.infer_shapes().is_ok());
    auto inputs = random_inputs(net.graph);
    std::vector<zoo::Tensor> outputs;
    net.weights.erase("features.1.project.weight");
    zoo::Status s = zoo::reference_run(net.graph, net.weights, inputs, outputs);
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("features.1.project.weight"), std::string::npos) << s.message();

    inputs[0].shape[3] = 13;
    s = zoo::reference_run(net.graph, net.weights, inputs, outputs);
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("[1, 3, 17, 14]"), std::string::npos) << s.message();

    zoo::Node alien = net.graph.nodes[1];
    alien.op = static_cast<zoo::OpKind>(200);
    zoo::Tensor out;
    s = zoo::reference_node(alien, {&inputs[0]}, net.weights, out);
    EXPECT_FALSE(s.is_ok());
    // Refused before the op table is read (it used to read past its end for the arity: UBSan, ASan stage).
    EXPECT_NE(s.message().find("op kind 200 is not in ZOO_OP_LIST"), std::string::npos) << s.message();
}
