#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "zoo/graph.hpp"

using namespace zoo;

namespace {

Node make_input(Shape shape) {
    Node n;
    n.name = "input";
    n.op = OpKind::Input;
    n.attrs = InputAttrs{std::move(shape)};
    return n;
}

Node make_conv(const std::string& name, int in, int64_t cin, int64_t cout, int64_t k, int64_t stride, int64_t pad,
               int64_t dilation, int64_t groups, bool bias = false) {
    Node n;
    n.name = name;
    n.op = OpKind::Conv2d;
    n.inputs = {in};
    Conv2dAttrs a;
    a.in_channels = cin;
    a.out_channels = cout;
    a.kernel = {k, k};
    a.stride = {stride, stride};
    a.padding = {pad, pad};
    a.dilation = {dilation, dilation};
    a.groups = groups;
    a.has_bias = bias;
    n.attrs = a;
    n.params.push_back({"weight", name + ".weight", {cout, cin / groups, k, k}});
    if (bias) n.params.push_back({"bias", name + ".bias", {cout}});
    return n;
}

Node make_bn(const std::string& name, int in, int64_t c) {
    Node n;
    n.name = name;
    n.op = OpKind::BatchNorm;
    n.inputs = {in};
    n.attrs = BatchNormAttrs{c, 1e-3};
    for (const char* r : {"weight", "bias"}) n.params.push_back({r, name + "." + r, {c}});
    for (const char* r : {"running_mean", "running_var"}) n.params.push_back({r, name + "." + r, {c}, true, true});
    n.params.push_back({"num_batches_tracked", name + ".num_batches_tracked", {}, false, true});
    return n;
}

Node make_unary(const std::string& name, int in, OpKind op) {
    Node n;
    n.name = name;
    n.op = op;
    n.inputs = {in};
    return n;
}

Graph conv_bn_graph() {
    Graph g;
    g.name = "tiny";
    int x = g.add_node(make_input({2, 4, 9, 7}));
    x = g.add_node(make_conv("c", x, 4, 6, 3, 2, 1, 1, 2));
    x = g.add_node(make_bn("bn", x, 6));
    x = g.add_node(make_unary("act", x, OpKind::Relu6));
    g.outputs = {x};
    return g;
}

}  // namespace

TEST(GraphIR, OpNamesRoundTrip) {
    OpKind k;
    ASSERT_TRUE(op_from_name("global_avg_pool", k));
    EXPECT_EQ(k, OpKind::GlobalAvgPool);
    EXPECT_STREQ(op_name(OpKind::Hardswish), "hardswish");
    EXPECT_EQ(op_arity(OpKind::Mul), 2);
    EXPECT_FALSE(op_from_name("maxpool", k));
}

TEST(GraphIR, ConvShapeInferenceWithStridePaddingDilation) {
    Graph g;
    g.name = "g";
    int x = g.add_node(make_input({3, 8, 17, 10}));
    int a = g.add_node(make_conv("a", x, 8, 8, 5, 2, 4, 2, 8));  // dilated depthwise
    int b = g.add_node(make_conv("b", a, 8, 16, 1, 1, 0, 1, 1));
    g.outputs = {b};
    ASSERT_TRUE(g.infer_shapes().is_ok());
    // (17 + 8 - 2*4 - 1) / 2 + 1 = 9; (10 + 8 - 8 - 1) / 2 + 1 = 5
    EXPECT_EQ(g.nodes[a].output_shape, (Shape{3, 8, 9, 5}));
    EXPECT_EQ(g.nodes[b].output_shape, (Shape{3, 16, 9, 5}));
}

TEST(GraphIR, BroadcastMulAndFlattenLinear) {
    Graph g;
    g.name = "g";
    int x = g.add_node(make_input({2, 6, 5, 5}));
    int p = g.add_node(make_unary("pool", x, OpKind::GlobalAvgPool));
    Node mul;
    mul.name = "mul";
    mul.op = OpKind::Mul;
    mul.inputs = {p, x};
    int m = g.add_node(mul);
    Node fl = make_unary("flat", p, OpKind::Flatten);
    fl.attrs = FlattenAttrs{1};
    int f = g.add_node(fl);
    Node lin = make_unary("fc", f, OpKind::Linear);
    lin.attrs = LinearAttrs{6, 10, true};
    lin.params = {{"weight", "fc.weight", {10, 6}}, {"bias", "fc.bias", {10}}};
    int l = g.add_node(lin);
    g.outputs = {m, l};
    ASSERT_TRUE(g.infer_shapes().is_ok());
    EXPECT_EQ(g.nodes[p].output_shape, (Shape{2, 6, 1, 1}));
    EXPECT_EQ(g.nodes[m].output_shape, (Shape{2, 6, 5, 5}));
    EXPECT_EQ(g.nodes[l].output_shape, (Shape{2, 10}));
}

TEST(GraphIR, VerifierNamesTheNodeAndTheRule) {
    {
        Graph g = conv_bn_graph();
        g.nodes[2].name = "c";  // duplicate
        Status s = g.verify();
        ASSERT_FALSE(s.is_ok());
        EXPECT_NE(s.message().find("node 'c'"), std::string::npos) << s.message();
        EXPECT_NE(s.message().find("more than one node"), std::string::npos) << s.message();
    }
    {
        Graph g = conv_bn_graph();
        g.nodes[1].attr<Conv2dAttrs>().groups = 3;  // does not divide 4 and 6
        Status s = g.verify();
        ASSERT_FALSE(s.is_ok());
        EXPECT_NE(s.message().find("groups=3"), std::string::npos) << s.message();
    }
    {
        Graph g = conv_bn_graph();
        g.nodes[1].params[0].shape = {6, 4, 3, 3};  // groups=2 needs [6, 2, 3, 3]
        Status s = g.verify();
        ASSERT_FALSE(s.is_ok());
        EXPECT_NE(s.message().find("c.weight"), std::string::npos) << s.message();
        EXPECT_NE(s.message().find("[6, 2, 3, 3]"), std::string::npos) << s.message();
    }
    {
        Graph g = conv_bn_graph();
        g.nodes[2].inputs = {3};  // reads a later node
        Status s = g.verify();
        ASSERT_FALSE(s.is_ok());
        EXPECT_NE(s.message().find("topological"), std::string::npos) << s.message();
    }
    {
        Graph g = conv_bn_graph();
        g.nodes[3].inputs = {2, 1};  // relu6 with two inputs
        Status s = g.verify();
        ASSERT_FALSE(s.is_ok());
        EXPECT_NE(s.message().find("expects 1 inputs, has 2"), std::string::npos) << s.message();
    }
    {
        Graph g = conv_bn_graph();
        g.nodes[1].attrs = BatchNormAttrs{};  // attrs of the wrong op
        EXPECT_FALSE(g.verify().is_ok());
    }
}

TEST(GraphIR, ShapeErrorsNameTheNode) {
    Graph g = conv_bn_graph();
    g.nodes[0].attr<InputAttrs>().shape = {2, 5, 9, 7};  // conv wants 4 channels
    Status s = g.infer_shapes();
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("node 'c' (conv2d)"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("[2, 5, 9, 7]"), std::string::npos) << s.message();
}

TEST(GraphIR, CheckWeightsReportsEveryProblem) {
    Graph g = conv_bn_graph();
    WeightMap w;
    w["c.weight"] = Tensor(Shape{6, 2, 3, 3});
    w["bn.weight"] = Tensor(Shape{5});  // wrong shape
    w["bn.bias"] = Tensor(Shape{6});
    w["bn.running_mean"] = Tensor(Shape{6});
    w["bn.num_batches_tracked"] = Tensor(Shape{});
    w["extra.weight"] = Tensor(Shape{1});
    // running_var missing
    Status s = check_weights(g, w);
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("3 weight problem(s)"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("missing tensor 'bn.running_var' (expected shape [6])"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("tensor 'bn.weight' has shape [5], expected [6]"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("unexpected tensor 'extra.weight'"), std::string::npos) << s.message();
}

TEST(GraphIR, ParameterCountExcludesBuffers) {
    Graph g = conv_bn_graph();
    EXPECT_EQ(g.parameter_count(), 6 * 2 * 3 * 3 + 6 + 6);
}

namespace {
// Direct NCHW conv (+ optional BN) for one output element, in double.
double conv_at(const Tensor& x, const Tensor& w, const Conv2dAttrs& a, int64_t n, int64_t o, int64_t oy, int64_t ox) {
    const int64_t cin_g = a.in_channels / a.groups, cout_g = a.out_channels / a.groups, g = o / cout_g;
    const int64_t H = x.shape[2], W = x.shape[3];
    double acc = 0;
    for (int64_t ci = 0; ci < cin_g; ++ci)
        for (int64_t ky = 0; ky < a.kernel[0]; ++ky)
            for (int64_t kx = 0; kx < a.kernel[1]; ++kx) {
                int64_t iy = oy * a.stride[0] - a.padding[0] + ky * a.dilation[0];
                int64_t ix = ox * a.stride[1] - a.padding[1] + kx * a.dilation[1];
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                acc += static_cast<double>(x.data[((n * a.in_channels + g * cin_g + ci) * H + iy) * W + ix]) *
                       w.data[((o * cin_g + ci) * a.kernel[0] + ky) * a.kernel[1] + kx];
            }
    return acc;
}
}  // namespace

TEST(GraphIR, FoldBatchNormPreservesTheFunction) {
    Graph g = conv_bn_graph();
    ASSERT_TRUE(g.infer_shapes().is_ok());
    std::mt19937 rng(7);
    std::normal_distribution<float> nd(0, 1);
    std::uniform_real_distribution<float> ud(0.5f, 1.5f);
    WeightMap w;
    w["c.weight"] = Tensor(Shape{6, 2, 3, 3});
    for (auto& v : w["c.weight"].data) v = nd(rng);
    for (const char* r : {"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}) {
        w[r] = Tensor(Shape{6});
        for (auto& v : w[r].data) v = std::string(r) == "bn.running_var" || std::string(r) == "bn.weight" ? ud(rng) : nd(rng);
    }
    w["bn.num_batches_tracked"] = Tensor(Shape{});
    const WeightMap original = w;
    Graph folded = g;
    ASSERT_TRUE(fold_batchnorm(folded, w).is_ok());
    ASSERT_TRUE(folded.infer_shapes().is_ok());
    ASSERT_EQ(folded.nodes.size(), 3u);  // input, conv, relu6
    EXPECT_EQ(folded.nodes[1].name, "c");
    EXPECT_TRUE(folded.nodes[1].attr<Conv2dAttrs>().has_bias);
    EXPECT_EQ(folded.nodes[2].inputs, (std::vector<int>{1}));
    EXPECT_EQ(folded.outputs, (std::vector<int>{2}));
    ASSERT_TRUE(w.count("c.bias"));

    Tensor x(Shape{2, 4, 9, 7});
    for (auto& v : x.data) v = nd(rng);
    const auto& a = g.nodes[1].attr<Conv2dAttrs>();
    const auto& fa = folded.nodes[1].attr<Conv2dAttrs>();
    double max_err = 0, max_ref = 0;
    for (int64_t n = 0; n < 2; ++n)
        for (int64_t o = 0; o < 6; ++o)
            for (int64_t oy = 0; oy < 5; ++oy)
                for (int64_t ox = 0; ox < 4; ++ox) {
                    double c = conv_at(x, original.at("c.weight"), a, n, o, oy, ox);
                    double ref = (c - original.at("bn.running_mean").data[o]) /
                                     std::sqrt(original.at("bn.running_var").data[o] + 1e-3) * original.at("bn.weight").data[o] +
                                 original.at("bn.bias").data[o];
                    double got = conv_at(x, w.at("c.weight"), fa, n, o, oy, ox) + w.at("c.bias").data[o];
                    max_err = std::max(max_err, std::abs(got - ref));
                    max_ref = std::max(max_ref, std::abs(ref));
                }
    EXPECT_LT(max_err, 1e-5 * max_ref);
}

TEST(GraphIR, FoldBatchNormLeavesSharedConvAlone) {
    Graph g = conv_bn_graph();
    // A second reader of the conv output: folding would change what it sees.
    g.add_node(make_unary("other", 1, OpKind::Relu));
    g.outputs.push_back(4);
    WeightMap w;
    w["c.weight"] = Tensor(Shape{6, 2, 3, 3});
    for (const char* r : {"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}) w[r] = Tensor(Shape{6});
    ASSERT_TRUE(fold_batchnorm(g, w).is_ok());
    EXPECT_EQ(g.nodes.size(), 5u);
    EXPECT_EQ(g.nodes[2].op, OpKind::BatchNorm);
}
