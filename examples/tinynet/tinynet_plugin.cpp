// The smallest useful model plugin: a template to copy. It builds a conv-bn-relu, a pool and a classifier from its
// table (tinynet.yaml, found next to the plugin file or in yaml/models/), with node names that are the state_dict keys
// a PyTorch module of the same structure would have. Build it in this tree or outside it against an installed SDK
// (examples/tinynet/CMakeLists.txt).
#include <string>

#include "zoo/blocks/mobilenet_blocks.hpp"
#include "zoo/blocks/spec_reading.hpp"
#include "zoo/plugin_export.hpp"

namespace {

class TinyNet final : public zoo::ModelPlugin {
public:
    std::vector<zoo::ModelVariant> variants() const noexcept override {
        return {{"default", "tinynet", "conv + pool + linear (SDK example)"}};
    }

    // Nothing may throw across the plugin boundary: the graph code can (std::bad_alloc, a std::get on the wrong
    // attribute type), so the SDK's status_guard turns that into a Status naming the model.
    zoo::Result<zoo::Graph> build(const zoo::SpecValue& spec) const noexcept override {
        return zoo::status_guard("tinynet", [&] { return build_graph(spec); });
    }

private:
    static zoo::Result<zoo::Graph> build_graph(const zoo::SpecValue& spec) {
        ZOO_TRY(spec.check_keys({"model", "variant", "resolution", "channels", "num_classes"}));
        ZOO_ASSIGN_OR_RETURN(auto hw, zoo::models::read_resolution(spec));
        ZOO_ASSIGN_OR_RETURN(int64_t channels, zoo::models::read_int(spec, "channels", 16, 1));
        ZOO_ASSIGN_OR_RETURN(int64_t classes, zoo::models::read_int(spec, "num_classes", 10, 1));
        zoo::Graph g;
        g.name = "tinynet";
        zoo::models::GraphBuilder b(g);
        int x = b.input("input", {1, 3, hw[0], hw[1]});
        x = zoo::models::conv_bn_act(b, "features.0", x, {channels, 3, 2, 1, 1, zoo::models::Activation::ReLU, 1e-5});
        x = b.flatten("flatten", b.global_avg_pool("avgpool", x));
        x = b.linear("classifier", x, channels, classes);
        b.output(x);
        ZOO_TRY(g.infer_shapes());
        return g;
    }
};

}  // namespace

ZOO_MODEL_PLUGIN(TinyNet, "tinynet", "0.1.0", "a one-conv example of the model SDK")
