// EfficientNet-B0 exactly as torchvision 0.14 builds it (torchvision/models/efficientnet.py), from the shared
// inverted-residual and squeeze-excite blocks: an MBConv is V3's inverted residual with SiLU, a squeeze-excite of
// max(1, in / 4) channels with SiLU and Sigmoid, and stochastic depth, which is the identity at inference.
#include <cmath>

#include "blocks/mobilenet_blocks.hpp"
#include "blocks/spec_reading.hpp"
#include "zoo/plugin_export.hpp"

namespace zoo::models {
namespace {

class EfficientNet final : public ModelPlugin {
public:
    std::vector<ModelVariant> variants() const noexcept override {
        return {{"b0", "efficientnet_b0", "EfficientNet-B0 (torchvision efficientnet_b0)"}};
    }

    Result<Graph> build(const SpecValue& spec) const noexcept override {
        return status_guard("efficientnet", [&] { return build_graph(spec); });
    }

private:
    static Result<Graph> build_graph(const SpecValue& spec) {
        ZOO_TRY(spec.check_keys({"model", "variant", "resolution", "in_channels", "num_classes", "width_mult", "depth_mult",
                                 "dropout", "stochastic_depth_prob", "bn_eps", "last_channel", "blocks"}));
        ZOO_ASSIGN_OR_RETURN(const ClassifierSpec common, read_classifier_spec(spec, 1e-5));
        const double width = common.width_mult, eps = common.bn_eps;
        ZOO_ASSIGN_OR_RETURN(double depth, read_positive_double(spec, "depth_mult", 1.0));
        // Training only (StochasticDepth drops whole residual branches); read so a table states it, unused at inference.
        ZOO_ASSIGN_OR_RETURN(double stochastic_depth, read_probability(spec, "stochastic_depth_prob", 0.2));
        (void)stochastic_depth;
        ZOO_ASSIGN_OR_RETURN(int64_t last_channel, read_int(spec, "last_channel", 0, 0));
        ZOO_ASSIGN_OR_RETURN(const SpecValue* table, read_table(spec, "blocks", 6));

        // MBConvConfig.adjust_channels / adjust_depth.
        auto channels_of = [&](int64_t c) { return make_divisible(static_cast<double>(c) * width, 8); };
        auto depth_of = [&](int64_t n) { return static_cast<int64_t>(std::ceil(static_cast<double>(n) * depth)); };

        struct Stage {
            double expand;
            int64_t kernel, stride, in, out, layers;
        };
        std::vector<Stage> stages;
        // Columns: expand_ratio, kernel, stride, input_channels, out_channels, num_layers (torchvision's MBConvConfig).
        for (const auto& row : table->items()) {
            const auto& c = row.items();
            Stage s{};
            ZOO_ASSIGN_OR_RETURN(s.expand, c[0].as_double());
            ZOO_ASSIGN_OR_RETURN(s.kernel, c[1].as_int());
            ZOO_ASSIGN_OR_RETURN(s.stride, c[2].as_int());
            ZOO_ASSIGN_OR_RETURN(s.in, c[3].as_int());
            ZOO_ASSIGN_OR_RETURN(s.out, c[4].as_int());
            ZOO_ASSIGN_OR_RETURN(s.layers, c[5].as_int());
            if (!(s.expand >= 1)) return Status::error(c[0].source() + ": expand_ratio must be >= 1, found " + c[0].text());
            if (s.kernel < 1 || s.kernel % 2 == 0)
                return Status::error(c[1].source() + ": kernel must be odd and positive, found " + c[1].text());
            if (s.stride != 1 && s.stride != 2) return Status::error(c[2].source() + ": stride must be 1 or 2, found " + c[2].text());
            if (s.in <= 0 || s.out <= 0 || s.layers <= 0)
                return Status::error(row.source() + ": channels and num_layers must be positive");
            if (!stages.empty() && s.in != stages.back().out)
                return Status::error(c[3].source() + ": input_channels " + c[3].text() + " differs from the previous row's out_channels " +
                                     std::to_string(stages.back().out));
            stages.push_back(s);
        }

        Graph graph;
        graph.name = "efficientnet_b0";
        GraphBuilder b(graph);
        int x = b.input("input", {1, common.in_channels, common.resolution[0], common.resolution[1]});
        const Activation silu{ActivationId::Silu};
        x = conv_bn_act(b, "features.0", x, {channels_of(stages.front().in), 3, 2, 1, 1, silu, eps});

        int index = 1;
        for (const Stage& st : stages) {
            const int64_t layers = depth_of(st.layers);
            for (int64_t i = 0; i < layers; ++i) {
                // The first block of a stage changes width and stride; the others keep both.
                const int64_t in_c = i == 0 ? channels_of(st.in) : channels_of(st.out);
                InvertedResidualSpec s;
                s.expanded_channels = make_divisible(static_cast<double>(in_c) * st.expand, 8);
                s.out_channels = channels_of(st.out);
                s.kernel = st.kernel;
                s.stride = i == 0 ? st.stride : 1;
                s.expand = s.expanded_channels != in_c;
                s.squeeze_excite = true;
                s.se = {std::max<int64_t>(1, in_c / 4), silu, Activation{ActivationId::Sigmoid}};
                s.act = silu;
                s.bn_eps = eps;
                s.container = "block";
                x = inverted_residual(b, "features." + std::to_string(index) + "." + std::to_string(i), x, s);
            }
            ++index;
        }
        const int64_t last_in = channels_of(stages.back().out);
        const int64_t last = last_channel > 0 ? last_channel : 4 * last_in;
        x = conv_bn_act(b, "features." + std::to_string(index), x, {last, 1, 1, 1, 1, silu, eps});
        b.output(classifier_head(b, x, {0, Activation::None, common.dropout, common.num_classes}));
        ZOO_TRY(graph.infer_shapes());
        return graph;
    }
};

}  // namespace
}  // namespace zoo::models

ZOO_MODEL_PLUGIN(zoo::models::EfficientNet, "efficientnet", "1.0.0", "EfficientNet-B0 as torchvision 0.14 defines it")
