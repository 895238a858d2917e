// opcase: a one-op graph, so that the single-op silicon figures (tt-metal's conv2d / pool2d perf tests, the GEMM
// tech report) run through exactly the device code whole models go through. The op and its shapes come from the
// table (yaml/models/opcase.yaml) or from --set values; the batch is the runner's --batch.
//   op: conv2d       in_channels, out_channels, resolution [H, W], kernel, stride, padding, groups, dilation, bias
//   op: relu         in_channels, resolution: an eltwise ReLU on [N, C, H, W] (ttnn.relu, one Unary op)
//   op: avgpool      in_channels, resolution: a global average pool over [N, C, H, W]
//   op: max_pool2d   in_channels, resolution, kernel, stride, padding, dilation, ceil_mode (torch.nn.MaxPool2d)
//   op: avg_pool2d   in_channels, resolution, kernel, stride, padding, ceil_mode, count_include_pad (AvgPool2d)
//   op: matmul       k (= in_channels), n (= out_channels): a linear on an [M, K] input, M = batch
//                    (the input is [M, K, 1, 1] flattened to [M, K], the graph IR's only way to a 2-D activation)
#include <string>

#include "blocks/mobilenet_blocks.hpp"
#include "blocks/spec_reading.hpp"
#include "zoo/plugin_export.hpp"

namespace zoo::models {
namespace {

class OpCase final : public ModelPlugin {
public:
    std::vector<ModelVariant> variants() const noexcept override {
        return {{"default", "opcase", "one op (conv2d, relu, global average pool, max / avg pool2d or matmul) for per-op perf calibration"}};
    }

    Result<Graph> build(const SpecValue& spec) const noexcept override {
        try {
            return build_graph(spec);
        } catch (const std::exception& e) {
            return Status::error(std::string("opcase: ") + e.what());
        }
    }

private:
    static Result<Graph> build_graph(const SpecValue& spec) {
        ZOO_TRY(spec.check_keys({"model", "variant", "op", "resolution", "in_channels", "out_channels", "kernel", "stride",
                                 "padding", "groups", "dilation", "bias", "k", "n", "ceil_mode",
                                 "count_include_pad"}));
        ZOO_ASSIGN_OR_RETURN(const SpecValue* op_value, spec.get("op"));
        ZOO_ASSIGN_OR_RETURN(std::string op, op_value->as_string());
        Graph graph;
        graph.name = "opcase_" + op;
        GraphBuilder b(graph);
        if (op == "conv2d") {
            ZOO_ASSIGN_OR_RETURN(auto hw, read_resolution(spec));
            Conv2dAttrs a;
            ZOO_ASSIGN_OR_RETURN(a.in_channels, read_int(spec, "in_channels", 16, 1));
            ZOO_ASSIGN_OR_RETURN(a.out_channels, read_int(spec, "out_channels", 16, 1));
            ZOO_ASSIGN_OR_RETURN(int64_t k, read_int(spec, "kernel", 3, 1));
            ZOO_ASSIGN_OR_RETURN(int64_t s, read_int(spec, "stride", 1, 1));
            ZOO_ASSIGN_OR_RETURN(int64_t p, read_int(spec, "padding", 0, 0));
            ZOO_ASSIGN_OR_RETURN(int64_t d, read_int(spec, "dilation", 1, 1));
            ZOO_ASSIGN_OR_RETURN(a.groups, read_int(spec, "groups", 1, 1));
            // tt-metal's conv perf test passes a bias tensor; keep it so the device loads one.
            ZOO_ASSIGN_OR_RETURN(a.has_bias, read_bool(spec, "bias", true));
            a.kernel = {k, k};
            a.stride = {s, s};
            a.padding = {p, p};
            a.dilation = {d, d};
            int x = b.input("input", {1, a.in_channels, hw[0], hw[1]});
            x = b.conv("conv", x, a);
            b.output(x);
        } else if (op == "relu") {
            ZOO_ASSIGN_OR_RETURN(auto hw, read_resolution(spec));
            ZOO_ASSIGN_OR_RETURN(int64_t c, read_int(spec, "in_channels", 16, 1));
            int x = b.input("input", {1, c, hw[0], hw[1]});
            x = b.activation("relu", x, Activation::ReLU);
            b.output(x);
        } else if (op == "avgpool") {
            ZOO_ASSIGN_OR_RETURN(auto hw, read_resolution(spec));
            ZOO_ASSIGN_OR_RETURN(int64_t c, read_int(spec, "in_channels", 16, 1));
            int x = b.input("input", {1, c, hw[0], hw[1]});
            x = b.global_avg_pool("avgpool", x);
            b.output(x);
        } else if (op == "max_pool2d" || op == "avg_pool2d") {
            ZOO_ASSIGN_OR_RETURN(auto hw, read_resolution(spec));
            ZOO_ASSIGN_OR_RETURN(int64_t c, read_int(spec, "in_channels", 16, 1));
            ZOO_ASSIGN_OR_RETURN(int64_t k, read_int(spec, "kernel", 3, 1));
            ZOO_ASSIGN_OR_RETURN(int64_t s, read_int(spec, "stride", 1, 1));
            ZOO_ASSIGN_OR_RETURN(int64_t p, read_int(spec, "padding", 0, 0));
            ZOO_ASSIGN_OR_RETURN(bool ceil_mode, read_bool(spec, "ceil_mode", false));
            int x = b.input("input", {1, c, hw[0], hw[1]});
            if (op == "max_pool2d") {
                MaxPool2dAttrs a;
                ZOO_ASSIGN_OR_RETURN(int64_t d, read_int(spec, "dilation", 1, 1));
                a.kernel = {k, k};
                a.stride = {s, s};
                a.padding = {p, p};
                a.dilation = {d, d};
                a.ceil_mode = ceil_mode;
                x = b.max_pool2d("pool", x, a);
            } else {
                AvgPool2dAttrs a;
                a.kernel = {k, k};
                a.stride = {s, s};
                a.padding = {p, p};
                a.ceil_mode = ceil_mode;
                ZOO_ASSIGN_OR_RETURN(a.count_include_pad, read_bool(spec, "count_include_pad", true));
                x = b.avg_pool2d("pool", x, a);
            }
            b.output(x);
        } else if (op == "matmul") {
            ZOO_ASSIGN_OR_RETURN(int64_t k, read_int(spec, "k", 32, 1));
            ZOO_ASSIGN_OR_RETURN(int64_t n, read_int(spec, "n", 32, 1));
            int x = b.input("input", {1, k, 1, 1});
            x = b.flatten("flatten", x);
            x = b.linear("linear", x, k, n);
            b.output(x);
        } else {
            return Status::error(op_value->source() + ": op must be conv2d, avgpool or matmul, found " + op);
        }
        ZOO_TRY(graph.infer_shapes());
        return graph;
    }
};

}  // namespace
}  // namespace zoo::models

ZOO_MODEL_PLUGIN(zoo::models::OpCase, "opcase", "0.1.0", "one-op graphs for per-op performance calibration")
