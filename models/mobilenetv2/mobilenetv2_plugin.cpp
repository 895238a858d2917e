// MobileNetV2 exactly as torchvision 0.14 builds it, from the shared inverted-residual block.
#include <cmath>

#include "blocks/mobilenet_blocks.hpp"
#include "blocks/spec_reading.hpp"
#include "zoo/plugin_export.hpp"

namespace zoo::models {
namespace {

class MobileNetV2 final : public ModelPlugin {
public:
    std::vector<ModelVariant> variants() const noexcept override {
        return {{"default", "mobilenetv2", "MobileNetV2 (torchvision mobilenet_v2)"}};
    }

    Result<Graph> build(const SpecValue& spec) const noexcept override {
        return status_guard("mobilenetv2", [&] { return build_graph(spec); });
    }

private:
    static Result<Graph> build_graph(const SpecValue& spec) {
        ZOO_TRY(spec.check_keys({"model", "variant", "resolution", "in_channels", "num_classes", "width_mult", "dropout",
                                 "bn_eps", "round_nearest", "stem_channels", "last_channel", "blocks"}));
        ZOO_ASSIGN_OR_RETURN(const ClassifierSpec common, read_classifier_spec(spec, 1e-5));
        const double width = common.width_mult, eps = common.bn_eps;
        ZOO_ASSIGN_OR_RETURN(int64_t round_nearest, read_int(spec, "round_nearest", 8, 1));
        ZOO_ASSIGN_OR_RETURN(int64_t stem_channels, read_int(spec, "stem_channels", 32, 1));
        ZOO_ASSIGN_OR_RETURN(int64_t last_channel, read_int(spec, "last_channel", 1280, 1));
        ZOO_ASSIGN_OR_RETURN(const SpecValue* table, read_table(spec, "blocks", 4));

        Graph graph;
        graph.name = "mobilenetv2";
        GraphBuilder b(graph);
        int x = b.input("input", {1, common.in_channels, common.resolution[0], common.resolution[1]});

        const int64_t stem = make_divisible(static_cast<double>(stem_channels) * width, round_nearest);
        // The last conv never shrinks below its nominal width.
        const int64_t last = make_divisible(static_cast<double>(last_channel) * std::max(1.0, width), round_nearest);
        x = conv_bn_act(b, "features.0", x, {stem, 3, 2, 1, 1, Activation::ReLU6, eps});

        int index = 1;
        // Columns: expansion t, channels c, repeats n, stride s (of the first block of the group).
        for (const auto& row : table->items()) {
            const auto& c = row.items();
            ZOO_ASSIGN_OR_RETURN(double t, c[0].as_double());
            ZOO_ASSIGN_OR_RETURN(int64_t channels, c[1].as_int());
            ZOO_ASSIGN_OR_RETURN(int64_t repeats, c[2].as_int());
            ZOO_ASSIGN_OR_RETURN(int64_t stride, c[3].as_int());
            if (!(t >= 1)) return Status::error(c[0].source() + ": expansion t must be >= 1, found " + c[0].text());
            if (channels <= 0 || repeats <= 0)
                return Status::error(row.source() + ": channels and repeats must be positive");
            if (stride != 1 && stride != 2) return Status::error(c[3].source() + ": stride must be 1 or 2, found " + c[3].text());
            const int64_t out = make_divisible(static_cast<double>(channels) * width, round_nearest);
            for (int64_t i = 0; i < repeats; ++i) {
                const int64_t in_c = b.channels(x);
                InvertedResidualSpec s;
                // int(round(inp * t)): Python rounds halves to even, as nearbyint does in the default mode.
                s.expanded_channels = static_cast<int64_t>(std::nearbyint(static_cast<double>(in_c) * t));
                s.out_channels = out;
                s.kernel = 3;
                s.stride = i == 0 ? stride : 1;
                s.expand = t != 1.0;
                s.act = Activation::ReLU6;
                s.bn_eps = eps;
                s.container = "conv";
                s.flat_projection = true;
                x = inverted_residual(b, "features." + std::to_string(index++), x, s);
            }
        }
        x = conv_bn_act(b, "features." + std::to_string(index), x, {last, 1, 1, 1, 1, Activation::ReLU6, eps});
        b.output(classifier_head(b, x, {0, Activation::None, common.dropout, common.num_classes}));
        ZOO_TRY(graph.infer_shapes());
        return graph;
    }
};

}  // namespace
}  // namespace zoo::models

ZOO_MODEL_PLUGIN(zoo::models::MobileNetV2, "mobilenetv2", "1.0.0", "MobileNetV2 as torchvision 0.14 defines it")
