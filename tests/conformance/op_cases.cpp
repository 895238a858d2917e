#include "op_cases.hpp"

#include "graph_fixture.hpp"
#include "zoo/activation.hpp"

namespace zoo_conformance {

using zoo::OpKind;
using zoo_test::GraphBuilder;

namespace {

constexpr int64_t k_batch = 2;

// input -> conv(cin -> cout, k, stride, pad, groups, bias, dilation) on an h x w image.
OpCase conv_case(std::string name, int64_t cin, int64_t cout, int64_t k, int64_t stride, int64_t pad, int64_t groups,
                 bool bias, int64_t dilation, int64_t h, int64_t w) {
    return {std::move(name), [=] {
                GraphBuilder b;
                int x = b.input("input", {k_batch, cin, h, w});
                b.graph.outputs = {b.conv("conv", x, cin, cout, k, stride, pad, groups, bias, dilation)};
                return b;
            }};
}

// input [N, C, H, W] -> op
OpCase unary_case(OpKind op, float input_range) {
    return {zoo::op_name(op),
            [=] {
                GraphBuilder b;
                int x = b.input("input", {k_batch, 16, 9, 7});
                b.graph.outputs = {b.op(zoo::op_name(op), op, {x})};
                return b;
            },
            input_range};
}

// input [N, C, H, W] -> max_pool2d / avg_pool2d with the given window (odd shapes: ceil_mode, padding, stride != kernel).
OpCase max_pool_case(std::string name, zoo::Shape input, zoo::MaxPool2dAttrs a) {
    return {std::move(name), [=] {
                GraphBuilder b;
                int x = b.input("input", input);
                b.graph.outputs = {b.op("pool", OpKind::MaxPool2d, {x}, a)};
                return b;
            }};
}
OpCase avg_pool_case(std::string name, zoo::Shape input, zoo::AvgPool2dAttrs a) {
    return {std::move(name), [=] {
                GraphBuilder b;
                int x = b.input("input", input);
                b.graph.outputs = {b.op("pool", OpKind::AvgPool2d, {x}, a)};
                return b;
            }};
}

// Graph inputs are images: a [N, F] value comes from flattening [N, F, 1, 1], as the models' heads do.
int flat_input(GraphBuilder& b, int64_t features) {
    int x = b.input("input", {k_batch, features, 1, 1});
    return b.op("flatten", OpKind::Flatten, {x}, zoo::FlattenAttrs{1});
}

}  // namespace

std::vector<OpCase> op_cases() {
    std::vector<OpCase> cases = {
        conv_case("conv2d_3x3", 8, 16, 3, 1, 1, 1, true, 1, 12, 12),
        conv_case("conv2d_3x3_stride2_stem", 3, 16, 3, 2, 1, 1, false, 1, 17, 14),
        conv_case("conv2d_1x1", 16, 24, 1, 1, 0, 1, true, 1, 10, 10),
        conv_case("conv2d_1x1_stride2_downsample", 64, 128, 1, 2, 0, 1, false, 1, 14, 14),  // ResNet's shortcut
        conv_case("conv2d_7x7_stride2_stem", 3, 64, 7, 2, 3, 1, false, 1, 23, 20),             // ResNet's stem
        conv_case("conv2d_depthwise_3x3", 16, 16, 3, 1, 1, 16, true, 1, 11, 9),
        conv_case("conv2d_depthwise_5x5_stride2", 24, 24, 5, 2, 2, 24, true, 1, 13, 13),
        conv_case("conv2d_grouped_dilated", 36, 24, 3, 1, 2, 3, true, 2, 9, 9),
        {"batchnorm",
         [] {
             GraphBuilder b;
             int x = b.input("input", {k_batch, 16, 6, 5});
             b.graph.outputs = {b.bn("bn", x, 16)};
             return b;
         }},
        {"conv2d_batchnorm_folded",
         [] {
             GraphBuilder b;
             int x = b.input("input", {k_batch, 8, 10, 10});
             int c = b.conv("conv", x, 8, 16, 3, 1, 1, 1, false);
             b.graph.outputs = {b.bn("bn", c, 16)};
             return b;
         }},
        {"add",
         [] {
             GraphBuilder b;
             int x = b.input("input", {k_batch, 16, 8, 8});
             b.graph.outputs = {b.op("add", OpKind::Add, {x, x})};
             return b;
         }},
        {"add_of_two_convs_then_relu",  // ResNet's bottleneck end: conv3 + downsample conv, relu
         [] {
             GraphBuilder b;
             int x = b.input("input", {k_batch, 16, 8, 8});
             int main = b.conv("conv3", x, 16, 32, 1, 1, 0, 1, true);
             int shortcut = b.conv("downsample", x, 16, 32, 1, 1, 0, 1, true);
             int add = b.op("add", OpKind::Add, {main, shortcut});
             b.graph.outputs = {b.op("relu", OpKind::Relu, {add})};  // ResNet's relu after the add (fused on the card)
             return b;
         }},
        {"mul_broadcast_channel_scale",  // squeeze-excite's x * scale[N, C, 1, 1]
         [] {
             GraphBuilder b;
             int x = b.input("input", {k_batch, 16, 8, 8});
             int s = b.op("pool", OpKind::GlobalAvgPool, {x});
             b.graph.outputs = {b.op("mul", OpKind::Mul, {x, s})};
             return b;
         }},
        {"global_avg_pool",
         [] {
             GraphBuilder b;
             int x = b.input("input", {k_batch, 24, 7, 7});
             b.graph.outputs = {b.op("pool", OpKind::GlobalAvgPool, {x})};
             return b;
         }},
        // ResNet's stem pool on an odd input; ceil_mode with a window past the padding and stride != kernel.
        max_pool_case("max_pool2d_3x3_s2_p1", {k_batch, 24, 15, 13}, {{3, 3}, {2, 2}, {1, 1}, {1, 1}, false}),
        max_pool_case("max_pool2d_ceil_stride3_kernel2", {k_batch, 16, 10, 11}, {{2, 2}, {3, 3}, {1, 0}, {1, 1}, true}),
        max_pool_case("max_pool2d_dilated", {k_batch, 16, 11, 9}, {{3, 3}, {1, 1}, {1, 1}, {2, 2}, false}),
        avg_pool_case("avg_pool2d_3x3_s2_p1_ceil", {k_batch, 20, 9, 12}, {{3, 3}, {2, 2}, {1, 1}, true, true}),
        avg_pool_case("avg_pool2d_exclude_pad", {k_batch, 16, 7, 7}, {{3, 3}, {2, 2}, {1, 1}, false, false}),
        avg_pool_case("avg_pool2d_4x4_s4", {k_batch, 40, 16, 12}, {{4, 4}, {4, 4}, {0, 0}, false, true}),
        {"flatten",
         [] {
             GraphBuilder b;
             int x = b.input("input", {k_batch, 32, 1, 1});
             b.graph.outputs = {b.op("flatten", OpKind::Flatten, {x}, zoo::FlattenAttrs{1})};
             return b;
         }},
        {"linear",
         [] {
             GraphBuilder b;
             int x = flat_input(b, 48);
             b.graph.outputs = {b.linear("fc", x, 48, 40)};
             return b;
         }},
        {"dropout",
         [] {
             GraphBuilder b;
             int x = flat_input(b, 40);
             b.graph.outputs = {b.op("dropout", OpKind::Dropout, {x}, zoo::DropoutAttrs{0.2})};
             return b;
         }},
        {"softmax",
         [] {
             GraphBuilder b;
             int x = flat_input(b, 100);
             b.graph.outputs = {b.op("softmax", OpKind::Softmax, {x}, zoo::SoftmaxAttrs{-1})};
             return b;
         },
         4.0f},
        {"small_net_every_op", [] { return zoo_test::make_small_net(k_batch); }},
    };
    // Every activation of the SDK's table, so a new one is checked on every device without an edit here; wide inputs
    // so every piece of the function (hardswish's knees at -3 and 3, relu6's clamp at 6, sigmoid's tails) is exercised.
    for (zoo::ActivationId a : zoo::kAllActivations) cases.push_back(unary_case(zoo::op_of(a), 8.0f));
    return cases;
}

}  // namespace zoo_conformance
