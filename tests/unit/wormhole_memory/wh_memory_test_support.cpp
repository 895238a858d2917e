#include "wh_memory_test_support.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "blocks/mobilenet_blocks.hpp"
#include "config/yaml_spec.hpp"

namespace zoo::wormhole::test {

std::string source_dir() {
    const char* env = std::getenv("ZOO_SOURCE_DIR");
    return env && *env ? env : ZOO_SOURCE_DIR;
}

std::string read_text(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw std::runtime_error("cannot read " + path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

const WormholeHardware& n150() {
    static const WormholeHardware hw = [] {
        auto spec = runner::load_yaml_spec(source_dir() + "/yaml/devices/wormhole_n150.yaml");
        if (!spec) throw std::runtime_error(spec.status().message());
        auto parsed = parse_hardware(*spec);
        if (!parsed) throw std::runtime_error(parsed.status().message());
        return *parsed;
    }();
    return hw;
}

Graph mobilenetv2_graph(int64_t batch) {
    using namespace zoo::models;
    Graph g;
    g.name = "mobilenetv2";
    GraphBuilder b(g);
    int x = b.input("input", {1, 3, 224, 224});
    x = conv_bn_act(b, "features.0", x, {32, 3, 2, 1, 1, Activation::ReLU6, 1e-5});
    // Table 2 of the paper: t, c, n, s.
    const int64_t table[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                                 {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    int index = 1;
    for (const auto& row : table) {
        for (int64_t i = 0; i < row[2]; ++i) {
            InvertedResidualSpec s;
            s.expanded_channels = b.channels(x) * row[0];
            s.out_channels = row[1];
            s.kernel = 3;
            s.stride = i == 0 ? row[3] : 1;
            s.expand = row[0] != 1;
            s.act = Activation::ReLU6;
            s.container = "conv";
            s.flat_projection = true;
            x = inverted_residual(b, "features." + std::to_string(index++), x, s);
        }
    }
    x = conv_bn_act(b, "features." + std::to_string(index), x, {1280, 1, 1, 1, 1, Activation::ReLU6, 1e-5});
    x = b.global_avg_pool("avgpool", x);
    x = b.flatten("flatten", x);
    x = b.dropout("classifier.0", x, 0.2);
    x = b.linear("classifier.1", x, 1280, 1000);
    b.output(x);
    g.set_batch(batch);
    if (!g.infer_shapes()) throw std::runtime_error("infer_shapes failed");
    WeightMap weights;
    for (const ParamSpec& p : g.expected_params()) {
        Tensor t(p.shape);
        if (p.role == "running_var") std::fill(t.data.begin(), t.data.end(), 1.0f);
        weights[p.key] = std::move(t);
    }
    Status folded = fold_batchnorm(g, weights);
    if (!folded) throw std::runtime_error(folded.message());
    if (!g.infer_shapes()) throw std::runtime_error("infer_shapes after folding failed");
    return g;
}

}  // namespace zoo::wormhole::test
