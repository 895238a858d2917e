// ResNet exactly as torchvision 0.14 builds it (torchvision/models/resnet.py): a conv-bn-relu stem (7x7 stride 2),
// a 3x3 stride-2 max pool with padding 1, four stages of Bottleneck (or BasicBlock) residual blocks whose first block
// downsamples (a 1x1 strided conv + BatchNorm on the shortcut when the shape changes), the adaptive average pool to
// 1x1 (a global average pool) and the fc classifier. Bottleneck is torchvision's "ResNet V1.5": the stride sits on the
// 3x3 conv2, not on conv1.
//
// Node names are the state_dict prefixes (conv1, bn1, layer1.0.conv1, layer1.0.downsample.0, fc). torchvision applies
// one ReLU module several times per block; each call is a node of its own, named as torch.fx names repeated calls of
// one module: layer1.0.relu, layer1.0.relu_1, layer1.0.relu_2. The residual sum (`out += identity`) is layer1.0.add.
#include <string>

#include "blocks/mobilenet_blocks.hpp"
#include "blocks/spec_reading.hpp"
#include "zoo/plugin_export.hpp"

namespace zoo::models {
namespace {

struct ResNetSpec {
    bool bottleneck = true;
    int64_t groups = 1;
    int64_t width_per_group = 64;
    double bn_eps = 1e-5;
};

// conv (no bias, padding k / 2, as torchvision's conv3x3 / conv1x1) + BatchNorm, named <conv> and <bn>.
int conv_bn(GraphBuilder& b, const std::string& conv_name, const std::string& bn_name, int in, int64_t out_channels,
            int64_t kernel, int64_t stride, int64_t groups, double eps) {
    Conv2dAttrs a;
    a.in_channels = b.channels(in);
    a.out_channels = out_channels;
    a.kernel = {kernel, kernel};
    a.stride = {stride, stride};
    a.padding = {kernel / 2, kernel / 2};
    a.groups = groups;
    a.has_bias = false;
    const int c = b.conv(conv_name, in, a);
    return b.batchnorm(bn_name, c, out_channels, eps);
}

// One residual block of `planes` (torchvision's BasicBlock / Bottleneck, expansion 1 / 4).
int residual_block(GraphBuilder& b, const std::string& p, int in, int64_t planes, int64_t stride, const ResNetSpec& s) {
    const int64_t expansion = s.bottleneck ? 4 : 1;
    const int64_t out_channels = planes * expansion;
    int x = in;
    if (s.bottleneck) {
        const int64_t width = planes * s.width_per_group / 64 * s.groups;
        x = conv_bn(b, p + ".conv1", p + ".bn1", x, width, 1, 1, 1, s.bn_eps);
        x = b.activation(p + ".relu", x, Activation::ReLU);
        x = conv_bn(b, p + ".conv2", p + ".bn2", x, width, 3, stride, s.groups, s.bn_eps);
        x = b.activation(p + ".relu_1", x, Activation::ReLU);
        x = conv_bn(b, p + ".conv3", p + ".bn3", x, out_channels, 1, 1, 1, s.bn_eps);
    } else {
        x = conv_bn(b, p + ".conv1", p + ".bn1", x, planes, 3, stride, 1, s.bn_eps);
        x = b.activation(p + ".relu", x, Activation::ReLU);
        x = conv_bn(b, p + ".conv2", p + ".bn2", x, planes, 3, 1, 1, s.bn_eps);
    }
    int identity = in;
    if (stride != 1 || b.channels(in) != out_channels)
        identity = conv_bn(b, p + ".downsample.0", p + ".downsample.1", in, out_channels, 1, stride, 1, s.bn_eps);
    x = b.binary(p + ".add", x, identity, OpKind::Add);
    return b.activation(p + (s.bottleneck ? ".relu_2" : ".relu_1"), x, Activation::ReLU);
}

class ResNet final : public ModelPlugin {
public:
    std::vector<ModelVariant> variants() const noexcept override {
        return {{"50", "resnet50", "ResNet-50 (torchvision resnet50)"}};
    }

    Result<Graph> build(const SpecValue& spec) const noexcept override {
        return status_guard("resnet", [&] { return build_graph(spec); });
    }

private:
    static Result<Graph> build_graph(const SpecValue& spec) {
        ZOO_TRY(spec.check_keys({"model", "variant", "resolution", "in_channels", "num_classes", "block", "layers", "groups",
                                 "width_per_group", "bn_eps"}));
        ZOO_ASSIGN_OR_RETURN(auto resolution, read_resolution(spec));
        ZOO_ASSIGN_OR_RETURN(int64_t in_channels, read_int(spec, "in_channels", 3, 1));
        ZOO_ASSIGN_OR_RETURN(int64_t num_classes, read_int(spec, "num_classes", 1000, 1));
        ResNetSpec s;
        ZOO_ASSIGN_OR_RETURN(s.groups, read_int(spec, "groups", 1, 1));
        ZOO_ASSIGN_OR_RETURN(s.width_per_group, read_int(spec, "width_per_group", 64, 1));
        ZOO_ASSIGN_OR_RETURN(s.bn_eps, read_positive_double(spec, "bn_eps", 1e-5));
        ZOO_ASSIGN_OR_RETURN(const SpecValue* block, spec.get("block"));
        ZOO_ASSIGN_OR_RETURN(std::string block_name, block->as_string());
        if (block_name != "bottleneck" && block_name != "basic")
            return Status::error(block->source() + ": block must be bottleneck or basic, found " + block_name);
        s.bottleneck = block_name == "bottleneck";
        // torchvision's BasicBlock refuses groups != 1 or width_per_group != 64.
        if (!s.bottleneck && (s.groups != 1 || s.width_per_group != 64))
            return Status::error(block->source() + ": a basic block supports only groups 1 and width_per_group 64");
        ZOO_ASSIGN_OR_RETURN(const SpecValue* layers, spec.get("layers"));
        if (layers->items().size() != 4)
            return Status::error(layers->source() + ": layers must list the block count of the 4 stages, found " +
                                 std::to_string(layers->items().size()) + " entries");

        Graph graph;
        graph.name = "resnet";
        GraphBuilder b(graph);
        int x = b.input("input", {1, in_channels, resolution[0], resolution[1]});
        Conv2dAttrs stem;
        stem.in_channels = in_channels;
        stem.out_channels = 64;
        stem.kernel = {7, 7};
        stem.stride = {2, 2};
        stem.padding = {3, 3};
        x = b.conv("conv1", x, stem);
        x = b.batchnorm("bn1", x, 64, s.bn_eps);
        x = b.activation("relu", x, Activation::ReLU);
        MaxPool2dAttrs pool;
        pool.kernel = {3, 3};
        pool.stride = {2, 2};
        pool.padding = {1, 1};
        x = b.max_pool2d("maxpool", x, pool);

        for (size_t stage = 0; stage < 4; ++stage) {
            const SpecValue& count_value = layers->items()[stage];
            ZOO_ASSIGN_OR_RETURN(int64_t blocks, count_value.as_int());
            if (blocks < 1) return Status::error(count_value.source() + ": a stage needs at least one block, found " + count_value.text());
            const int64_t planes = int64_t{64} << stage;
            const int64_t stride = stage == 0 ? 1 : 2;
            for (int64_t k = 0; k < blocks; ++k)
                x = residual_block(b, "layer" + std::to_string(stage + 1) + "." + std::to_string(k), x, planes, k == 0 ? stride : 1, s);
        }
        const int64_t features = b.channels(x);
        x = b.global_avg_pool("avgpool", x);
        x = b.flatten("flatten", x);
        x = b.linear("fc", x, features, num_classes);
        b.output(x);
        ZOO_TRY(graph.infer_shapes());
        return graph;
    }
};

}  // namespace
}  // namespace zoo::models

ZOO_MODEL_PLUGIN(zoo::models::ResNet, "resnet", "1.0.0", "ResNet as torchvision 0.14 defines it")
