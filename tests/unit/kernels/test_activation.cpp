// The SDK activations (zoo/activation.hpp) against torch's definitions, and the kernels' vector epilogue against the
// scalar reference (both evaluate the same formula, so they must agree bit for bit).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/common.hpp"
#include "kernels/eltwise.hpp"
#include "zoo/activation.hpp"
#include "zoo/graph.hpp"

namespace {

using zoo::ActivationId;

// Distance in units in the last place between two finite floats of the same sign (or both zero).
int64_t ulps(float a, float b) {
    if (a == b) return 0;
    int32_t ia, ib;
    std::memcpy(&ia, &a, 4);
    std::memcpy(&ib, &b, 4);
    return std::llabs(static_cast<int64_t>(ia) - static_cast<int64_t>(ib));
}

const std::vector<float> kX{-100.f, -20.f, -5.5f, -1.f, -0.25f, 0.f, 0.125f, 1.f, 3.f, 7.5f, 30.f, 100.f};
// torch.sigmoid(x) and torch.nn.functional.silu(x) in float32 (torch 1.13 CPU), printed with 9 significant digits.
const std::vector<float> kTorchSigmoid{0.f, 2.06115369e-09f, 0.00407013763f, 0.268941432f, 0.437823504f, 0.5f,
                                       0.531209409f, 0.731058598f, 0.952574134f, 0.999447167f, 1.f, 1.f};
const std::vector<float> kTorchSilu{-0.f, -4.12230747e-08f, -0.0223857574f, -0.268941432f, -0.109455876f, 0.f,
                                    0.0664011762f, 0.731058598f, 2.85772252f, 7.4958539f, 30.f, 100.f};

TEST(Activation, SigmoidMatchesTorch) {
    for (size_t i = 0; i < kX.size(); ++i) {
        const float y = zoo::activation_reference(ActivationId::Sigmoid, kX[i]);
        EXPECT_LE(ulps(y, kTorchSigmoid[i]), 2) << "sigmoid(" << kX[i] << ") = " << y << ", torch " << kTorchSigmoid[i];
        // The definition 1 / (1 + exp(-x)) in double, rounded to float.
        const float exact = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(kX[i]))));
        if (std::fabs(exact) > 1e-30f) EXPECT_LE(ulps(y, exact), 2) << kX[i];
    }
}

TEST(Activation, SiluMatchesTorch) {
    for (size_t i = 0; i < kX.size(); ++i) {
        const float y = zoo::activation_reference(ActivationId::Silu, kX[i]);
        EXPECT_LE(ulps(y, kTorchSilu[i]), 2) << "silu(" << kX[i] << ") = " << y << ", torch " << kTorchSilu[i];
        // The definition x * sigmoid(x) in double.
        const double xd = kX[i];
        const float exact = static_cast<float>(xd / (1.0 + std::exp(-xd)));
        if (std::fabs(exact) > 1e-30f) EXPECT_LE(ulps(y, exact), 2) << kX[i];
    }
    EXPECT_TRUE(std::signbit(zoo::activation_reference(ActivationId::Silu, -100.f)));  // -0 as torch gives
}

TEST(Activation, GraphOpsAndCategories) {
    EXPECT_TRUE(zoo::is_activation(zoo::OpKind::Silu));
    EXPECT_TRUE(zoo::is_activation(zoo::OpKind::Sigmoid));
    EXPECT_FALSE(zoo::is_activation(zoo::OpKind::Mul));
    EXPECT_FALSE(zoo::is_activation(zoo::OpKind::Softmax));
    EXPECT_STREQ(zoo::op_name(zoo::OpKind::Silu), "silu");
    EXPECT_STREQ(zoo::op_name(zoo::OpKind::Sigmoid), "sigmoid");
    zoo::OpKind k{};
    ASSERT_TRUE(zoo::op_from_name("sigmoid", k));
    EXPECT_EQ(k, zoo::OpKind::Sigmoid);
    EXPECT_EQ(zoo::op_arity(zoo::OpKind::Silu), 1);
    EXPECT_EQ(zoo::activation_category(ActivationId::Relu6), zoo::ActivationCategory::Clamp);
    EXPECT_EQ(zoo::activation_category(ActivationId::Sigmoid), zoo::ActivationCategory::Computed);
    EXPECT_FLOAT_EQ(zoo::activation_reference(zoo::OpKind::Sigmoid, 0.f), 0.5f);
}

// The kernels' activation pass (vector body and scalar tail) equals the scalar reference for every activation.
TEST(Activation, KernelEqualsReferenceForEveryActivation) {
    std::vector<float> in;
    for (int i = 0; i < 1000; ++i) in.push_back(-12.f + 0.0241f * static_cast<float>(i));
    for (ActivationId a : zoo::kAllActivations) {
        std::vector<float> out(in.size(), 0.f);
        zoo::kernels::activation(in.data(), out.data(), static_cast<int64_t>(in.size()), zoo::kernels::act_for(a));
        for (size_t i = 0; i < in.size(); ++i)
            ASSERT_EQ(out[i], zoo::activation_reference(a, in[i])) << zoo::activation_name(a) << "(" << in[i] << ")";
    }
}

// The fusion rule: the sole reader of a node, when it is an activation.
TEST(Activation, FusionRule) {
    zoo::Graph g;
    auto add = [&](zoo::OpKind op, std::vector<int> inputs) {
        zoo::Node n;
        n.name = "n" + std::to_string(g.nodes.size());
        n.op = op;
        n.inputs = std::move(inputs);
        return g.add_node(std::move(n));
    };
    const int x = add(zoo::OpKind::Input, {});
    const int a = add(zoo::OpKind::Dropout, {x});
    const int s = add(zoo::OpKind::Silu, {a});
    const int m = add(zoo::OpKind::Mul, {s, a});  // a now has two readers: nothing fuses into it
    g.outputs = {m};
    const auto uses = g.use_counts();
    EXPECT_EQ(zoo::fusable_activation(g, a, uses), -1);
    EXPECT_EQ(zoo::fusable_activation(g, x, uses), -1);  // its reader is no activation
    EXPECT_EQ(zoo::fusable_activation(g, s, uses), -1);  // its reader is a Mul
    zoo::Graph h;
    g.nodes.resize(3);
    g.outputs = {s};
    EXPECT_EQ(zoo::fusable_activation(g, a, g.use_counts()), s);
}

}  // namespace
