// MobileNetV3 (Large, Small, or any table of the same shape) exactly as torchvision 0.14 builds it.
#include <sstream>

#include "blocks/mobilenet_blocks.hpp"
#include "blocks/spec_reading.hpp"
#include "zoo/plugin_export.hpp"

namespace zoo::models {
namespace {

struct BneckRow {
    int64_t in = 0, kernel = 0, expanded = 0, out = 0, stride = 1;
    bool se = false;
    Activation act = Activation::ReLU;
    bool tail = false;  // one of the last blocks that reduced_tail shrinks and dilated dilates
    bool reduce_in = false, reduce_expanded = false, reduce_out = false;
    std::string source;
};

// The table's activation codes: RE (ReLU) or HS (Hardswish).
Result<Activation> parse_activation(const SpecValue& v) {
    ZOO_ASSIGN_OR_RETURN(std::string act, v.as_string());
    if (act == "RE") return Activation::ReLU;
    if (act == "HS") return Activation::Hardswish;
    return Status::error(v.source() + ": activation must be RE (ReLU) or HS (Hardswish), found '" + act + "'");
}

// Columns: in, kernel, expanded, out, se, activation (RE|HS), stride, tail ("-" or the channel fields the reduced
// tail divides, e.g. "exp/out").
Result<BneckRow> parse_row(const SpecValue& row) {
    const auto& c = row.items();
    BneckRow r;
    r.source = row.source();
    ZOO_ASSIGN_OR_RETURN(r.in, c[0].as_int());
    ZOO_ASSIGN_OR_RETURN(r.kernel, c[1].as_int());
    ZOO_ASSIGN_OR_RETURN(r.expanded, c[2].as_int());
    ZOO_ASSIGN_OR_RETURN(r.out, c[3].as_int());
    ZOO_ASSIGN_OR_RETURN(r.se, c[4].as_bool());
    ZOO_ASSIGN_OR_RETURN(r.act, parse_activation(c[5]));
    ZOO_ASSIGN_OR_RETURN(r.stride, c[6].as_int());
    if (r.in <= 0 || r.expanded <= 0 || r.out <= 0)
        return Status::error(row.source() + ": channel counts must be positive");
    if (r.kernel <= 0 || r.kernel % 2 == 0)
        return Status::error(c[1].source() + ": kernel must be a positive odd number, found " + c[1].text());
    if (r.stride != 1 && r.stride != 2) return Status::error(c[6].source() + ": stride must be 1 or 2, found " + c[6].text());
    ZOO_ASSIGN_OR_RETURN(std::string tail, c[7].as_string());
    if (tail != "-") {
        r.tail = true;
        std::stringstream ss(tail);
        std::string field;
        while (std::getline(ss, field, '/')) {
            if (field == "in") r.reduce_in = true;
            else if (field == "exp") r.reduce_expanded = true;
            else if (field == "out") r.reduce_out = true;
            else
                return Status::error(c[7].source() + ": tail must be '-' or fields among in/exp/out joined by '/', found '" +
                                     tail + "'");
        }
    }
    return r;
}

class MobileNetV3 final : public ModelPlugin {
public:
    std::vector<ModelVariant> variants() const noexcept override {
        return {{"large", "mobilenetv3_large", "MobileNetV3-Large (torchvision mobilenet_v3_large)"},
                {"small", "mobilenetv3_small", "MobileNetV3-Small (torchvision mobilenet_v3_small)"},
                {"large_minimalistic", "mobilenetv3_large_minimalistic", "MobileNetV3-Large-minimalistic (TF reference)"},
                {"small_minimalistic", "mobilenetv3_small_minimalistic", "MobileNetV3-Small-minimalistic (TF reference)"}};
    }

    Result<Graph> build(const SpecValue& spec) const noexcept override {
        return status_guard("mobilenetv3", [&] { return build_graph(spec); });
    }

private:
    static Result<Graph> build_graph(const SpecValue& spec) {
        ZOO_TRY(spec.check_keys({"model", "variant", "resolution", "in_channels", "num_classes", "width_mult",
                                 "reduced_tail", "dilated", "dropout", "bn_eps", "blocks", "last_channel", "head_activation"}));
        ZOO_ASSIGN_OR_RETURN(const ClassifierSpec common, read_classifier_spec(spec, 0.001));
        const double width = common.width_mult, eps = common.bn_eps;
        ZOO_ASSIGN_OR_RETURN(bool reduced_tail, read_bool(spec, "reduced_tail", false));
        ZOO_ASSIGN_OR_RETURN(bool dilated, read_bool(spec, "dilated", false));
        ZOO_ASSIGN_OR_RETURN(const SpecValue* last_value, spec.get("last_channel"));
        ZOO_ASSIGN_OR_RETURN(int64_t last_channel, last_value->as_int());
        ZOO_ASSIGN_OR_RETURN(const SpecValue* table, read_table(spec, "blocks", 8));
        // Stem, last conv and classifier hidden layer: Hardswish in torchvision, ReLU in the minimalistic variants.
        Activation head_act = Activation::Hardswish;
        if (const SpecValue* h = spec.find("head_activation")) {
            ZOO_ASSIGN_OR_RETURN(head_act, parse_activation(*h));
        }

        const int64_t rd = reduced_tail ? 2 : 1;
        const int64_t dilation = dilated ? 2 : 1;
        auto adjust = [&](int64_t c) { return make_divisible(static_cast<double>(c) * width, 8); };

        Graph graph;
        graph.name = "mobilenetv3";
        GraphBuilder b(graph);
        int x = b.input("input", {1, common.in_channels, common.resolution[0], common.resolution[1]});

        std::vector<BneckRow> rows;
        for (const auto& row : table->items()) {
            ZOO_ASSIGN_OR_RETURN(BneckRow r, parse_row(row));
            if (r.reduce_in) r.in /= rd;
            if (r.reduce_expanded) r.expanded /= rd;
            if (r.reduce_out) r.out /= rd;
            rows.push_back(r);
        }
        x = conv_bn_act(b, "features.0", x, {adjust(rows.front().in), 3, 2, 1, 1, head_act, eps});

        int index = 1;
        for (const auto& r : rows) {
            const int64_t in_c = adjust(r.in);
            if (in_c != b.channels(x))
                return Status::error(r.source + ": block 'in' gives " + std::to_string(in_c) +
                                     " channels but the previous layer produces " + std::to_string(b.channels(x)));
            InvertedResidualSpec s;
            s.expanded_channels = adjust(r.expanded);
            s.out_channels = adjust(r.out);
            s.kernel = r.kernel;
            s.stride = r.stride;
            s.dilation = r.tail ? dilation : 1;
            s.expand = s.expanded_channels != in_c;
            s.squeeze_excite = r.se;
            s.act = r.act;
            s.bn_eps = eps;
            s.container = "block";
            s.flat_projection = false;
            x = inverted_residual(b, "features." + std::to_string(index++), x, s);
        }
        const int64_t last_in = b.channels(x);
        x = conv_bn_act(b, "features." + std::to_string(index), x, {6 * last_in, 1, 1, 1, 1, head_act, eps});
        b.output(classifier_head(b, x, {adjust(last_channel / rd), head_act, common.dropout, common.num_classes}));
        ZOO_TRY(graph.infer_shapes());
        return graph;
    }
};

}  // namespace
}  // namespace zoo::models

ZOO_MODEL_PLUGIN(zoo::models::MobileNetV3, "mobilenetv3", "1.0.0",
                 "MobileNetV3 Large/Small as torchvision 0.14 defines them")
