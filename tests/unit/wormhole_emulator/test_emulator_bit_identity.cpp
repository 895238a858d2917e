// The Wormhole emulator's outputs pinned bit for bit: MobileNetV3-Small and MobileNetV2 at the two shipped configs
// (bf16 / HiFi4 / fp32 Dst and bfloat8_b / LoFi / bf16 Dst), batch 2, on weights and an input made here from a
// counter-based generator (no std:: distribution, whose algorithm the standard leaves open); plus the other numerics
// paths on the small model (bfloat4_b, HiFi2, HiFi3 with a bf16 Dst, float32 tensors, a 98 x 98 image). Every node's value (the
// captured layers, in graph order) and the logits are hashed (FNV-1a over the fp32 bit patterns) and compared with
// emulator_bits.golden beside this file. Speed work on the emulator must keep every bit: a mismatch names the first
// layer whose bits changed. The emulator is run with 1 and with 2 threads; both must give the golden bits.
//
// When a change is MEANT to alter the numerics (a better model of the card), the test writes what it computed to
// <build>/wormhole_emulator_bits/<case>.actual; review them and concatenate them over the golden file in the same commit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "numerics/formats.hpp"
#include "session/model_session.hpp"
#include "zoo/activation.hpp"

using namespace zoo;
using namespace zoo::runner;

namespace {

const PluginRegistry& registry() {
    static PluginRegistry r = PluginRegistry::discover({std::string(ZOO_BUILD_DIR) + "/lib/zoo"});
    return r;
}

std::string golden_path() { return std::string(ZOO_SOURCE_DIR) + "/tests/unit/wormhole_emulator/emulator_bits.golden"; }
std::string actual_path(std::string case_name) {
    for (char& ch : case_name)
        if (ch == '/') ch = '.';
    return std::string(ZOO_BUILD_DIR) + "/wormhole_emulator_bits/" + case_name + ".actual";
}

uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

uint64_t fnv1a(const void* data, size_t bytes, uint64_t h = 0xCBF29CE484222325ull) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
    return h;
}

// Uniform in [lo, hi) from (stream, index): the same on every platform and standard library, and at every
// optimisation level: the multiply-add is one std::fma (the goldens were made at -O2, where GCC fuses lo + d * u; at
// -O1 it would not, and every input and weight would change).
float uniform(uint64_t stream, uint64_t index, float lo, float hi) {
    const uint64_t r = splitmix64(stream ^ splitmix64(index));
    return std::fma(hi - lo, static_cast<float>(static_cast<double>(r >> 40) / static_cast<double>(uint64_t{1} << 24)), lo);
}

// Weights of every parameter by its state_dict key: He-uniform convs and linears (activations stay O(1) through the
// network, so every layer's blocks hold real exponents), BatchNorm statistics and biases away from their trivial
// values so the folding and the bias paths are exercised.
void fill_weights(WeightMap& weights) {
    for (auto& [key, t] : weights) {
        if (t.element_type != ElementType::Float32) continue;
        const uint64_t stream = fnv1a(key.data(), key.size());
        auto ends_with = [&](const std::string& s) { return key.size() >= s.size() && key.compare(key.size() - s.size(), s.size(), s) == 0; };
        float lo = -0.1f, hi = 0.1f;  // biases and BatchNorm shifts
        if (ends_with("running_var")) {
            lo = 0.5f, hi = 1.5f;
        } else if (ends_with("running_mean")) {
            lo = -0.2f, hi = 0.2f;
        } else if (ends_with("weight") && t.rank() == 1) {  // BatchNorm gamma
            lo = 0.6f, hi = 1.4f;
        } else if (ends_with("weight")) {
            const double fan_in = static_cast<double>(t.numel()) / static_cast<double>(t.dim(0));
            hi = static_cast<float>(std::sqrt(6.0 / fan_in));
            lo = -hi;
        }
        for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = uniform(stream, i, lo, hi);
    }
}

Tensor make_input(const Shape& shape) {
    Tensor x(shape);
    for (size_t i = 0; i < x.data.size(); ++i) x.data[i] = uniform(0x1234, i, -2.0f, 2.0f);
    return x;
}

std::string hex(uint64_t h) {
    char buf[17];
    std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

// One line per node ("<case> <layer> <hash> <floats>") in graph order, then the logits.
std::vector<std::string> hash_lines(const std::string& case_name, const Graph& graph, const std::map<std::string, Tensor>& captured,
                                    const Tensor& logits) {
    std::vector<std::string> lines;
    auto line = [&](const std::string& name, const Tensor& t) {
        lines.push_back(case_name + " " + name + " " + hex(fnv1a(t.data.data(), t.data.size() * sizeof(float))) + " " +
                        std::to_string(t.data.size()));
    };
    for (const Node& node : graph.nodes) {
        auto it = captured.find(node.name);
        if (it != captured.end()) line(node.name, it->second);
    }
    line("<logits>", logits);
    return lines;
}

std::map<std::string, std::vector<std::string>> read_golden() {
    std::map<std::string, std::vector<std::string>> golden;
    std::ifstream in(golden_path());
    std::string l;
    while (std::getline(in, l)) {
        if (l.empty() || l[0] == '#') continue;
        golden[l.substr(0, l.find(' '))].push_back(l);
    }
    return golden;
}

struct Case {
    std::string model, variant, config;
    std::vector<std::string> sets = {};  // --set overrides of the layer configs (the other fidelities and formats)
    std::string label = "";              // names a case with overrides
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.model << " " << c.variant << " " << c.config << " " << c.label; }

std::string case_name_of(const Case& c) {
    return c.model + "_" + c.variant + "/" + c.config + (c.label.empty() ? "" : "+" + c.label) + "/b2";
}

class WormholeEmulatorBitIdentity : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(WormholeEmulatorBitIdentity, EveryLayerMatchesTheGoldenBitsWithOneAndTwoThreads) {
    const Case& c = GetParam();
    const std::string case_name = case_name_of(c);
    SessionOptions so;
    so.model = c.model;
    so.variant = c.variant;
    so.device = "wormhole";
    so.run_config = std::string(ZOO_SOURCE_DIR) + "/yaml/configs/" + c.config + ".yaml";
    so.batch = 2;
    so.sets = c.sets;
    auto setup = prepare_model(registry(), so);
    ASSERT_TRUE(setup.is_ok()) << setup.status().message();
    fill_weights(setup->weights);
    const Tensor x = make_input(input_shape(setup->graph));

    const auto golden = read_golden();
    std::vector<std::string> first;
    for (int threads : {1, 2}) {
        auto compiled = compile_on_device(registry(), *setup, "wormhole", threads);
        ASSERT_TRUE(compiled.is_ok()) << compiled.status().message();
        std::vector<Tensor> out;
        std::map<std::string, Tensor> captured;
        Status s = compiled->compiled->run({x}, out, &captured);
        ASSERT_TRUE(s.is_ok()) << s.message();
        ASSERT_EQ(out.size(), 1u);
        // Not a degenerate network: finite logits that differ between the two images and from zero.
        const Tensor& y = out[0];
        ASSERT_EQ(y.numel(), 2 * 1000);
        double spread = 0, largest = 0;
        for (int64_t i = 0; i < 1000; ++i) {
            ASSERT_TRUE(std::isfinite(y.data[i]) && std::isfinite(y.data[1000 + i]));
            spread += std::fabs(y.data[i] - y.data[1000 + i]);
            largest = std::max<double>(largest, std::fabs(y.data[i]));
        }
        std::printf("[ LOGITS   ] %s, %d thread(s): max |logit| %.4g, mean |difference between the images| %.4g\n",
                    case_name.c_str(), threads, largest, spread / 1000);
        EXPECT_GT(spread / 1000, 1e-3) << "the two images give the same logits";
        EXPECT_GT(captured.size(), 50u);

        // The plain run (no captures) gives the same logits as the capturing one.
        std::vector<Tensor> plain;
        ASSERT_TRUE(compiled->compiled->run({x}, plain).is_ok());
        ASSERT_EQ(std::memcmp(plain.at(0).data.data(), y.data.data(), y.data.size() * sizeof(float)), 0)
            << case_name << ": a run without captures gives other logits";

        const auto lines = hash_lines(case_name, compiled->graph, captured, y);
        if (first.empty()) {
            first = lines;
            std::filesystem::create_directories(std::filesystem::path(actual_path(case_name)).parent_path());
            std::ofstream actual(actual_path(case_name));
            for (const auto& l : lines) actual << l << "\n";
        }
        auto it = golden.find(case_name);
        ASSERT_TRUE(it != golden.end()) << golden_path() << " has no lines for " << case_name << " (computed lines written to "
                                    << actual_path(case_name) << ")";
        const auto& want = it->second;
        ASSERT_EQ(want.size(), lines.size()) << case_name << ": " << lines.size() << " values computed, the golden file has "
                                             << want.size();
        for (size_t i = 0; i < lines.size(); ++i)
            ASSERT_EQ(lines[i], want[i]) << case_name << " with " << threads << " thread(s): first layer whose bits differ "
                                         << "(expected the golden line, found the computed one; all computed lines in "
                                         << actual_path(case_name) << ")";
    }
}

INSTANTIATE_TEST_SUITE_P(Configs, WormholeEmulatorBitIdentity,
                         ::testing::Values(Case{"mobilenetv3", "small", "accuracy_bf16_hifi4"},
                                           Case{"mobilenetv3", "small", "speed_bfp8_lofi"},
                                           Case{"mobilenetv2", "default", "accuracy_bf16_hifi4"},
                                           Case{"mobilenetv2", "default", "speed_bfp8_lofi"},
                                           // The other paths of the numerics, on the small model.
                                           Case{"mobilenetv3", "small", "extreme_bfp4_lofi"},
                                           Case{"mobilenetv3", "small", "speed_bfp8_lofi", {"math_fidelity=HiFi2"}, "hifi2"},
                                           Case{"mobilenetv3", "small", "accuracy_bf16_hifi4",
                                                {"math_fidelity=HiFi3", "fp32_dest_acc=false"}, "hifi3_bf16dst"},
                                           Case{"mobilenetv3", "small", "accuracy_bf16_hifi4",
                                                {"dtype=float32", "weights_dtype=float32"}, "fp32"},
                                           // 98 x 98 pixels: rows that are no multiple of 16 pixels.
                                           Case{"mobilenetv3", "small", "speed_bfp8_lofi", {"resolution=98x98"}, "98px"}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                             std::string name = case_name_of(info.param);
                             for (char& ch : name)
                                 if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                             return name;
                         });

// A fused activation runs on the tiles in Dst and the packer writes the layer's dtype once, after it (tt-metal's
// conv / matmul compute kernels apply SFPU_OP_FUNC_ACTIVATION to Dst before pack_tile). MobileNetV3-Small's stem conv
// carries its hardswish at bfloat8_b / LoFi / bf16 Dst: the conv's captured value is what Dst held (bf16, not packed),
// and the activation's is exactly bfloat8_b(bf16(hardswish(that))): packing the conv's value first would give other
// bits.
TEST(WormholeFusedActivation, RunsOnDstAndIsPackedOnceAfterIt) {
    SessionOptions so;
    so.model = "mobilenetv3";
    so.variant = "small";
    so.device = "wormhole";
    so.run_config = std::string(ZOO_SOURCE_DIR) + "/yaml/configs/speed_bfp8_lofi.yaml";
    so.batch = 1;
    auto setup = prepare_model(registry(), so);
    ASSERT_TRUE(setup.is_ok()) << setup.status().message();
    fill_weights(setup->weights);
    auto compiled = compile_on_device(registry(), *setup, "wormhole", 1);
    ASSERT_TRUE(compiled.is_ok()) << compiled.status().message();
    std::vector<Tensor> out;
    std::map<std::string, Tensor> captured;
    ASSERT_TRUE(compiled->compiled->run({make_input(input_shape(setup->graph))}, out, &captured).is_ok());
    const Tensor& conv = captured.at("features.0.0");
    const Tensor& act = captured.at("features.0.2");
    ASSERT_EQ(conv.dim(1), 16);  // one bfloat8_b block per pixel
    const int64_t pixels = conv.dim(2) * conv.dim(3);
    // Channels-last rows of 16, as the card's face rows hold them.
    auto rows_of = [&](const Tensor& t) {
        std::vector<float> r(static_cast<size_t>(pixels * 16));
        for (int64_t c = 0; c < 16; ++c)
            for (int64_t p = 0; p < pixels; ++p) r[static_cast<size_t>(p * 16 + c)] = t.data[static_cast<size_t>(c * pixels + p)];
        return r;
    };
    const std::vector<float> dst = rows_of(conv);
    std::vector<float> packed_conv = dst;
    wormhole::quantize_rows(packed_conv.data(), pixels, 16, 16, DataFormat::BFloat8_b, wormhole::Rounding::DeviceTiesAway);
    int64_t not_bf16 = 0, not_bfp8 = 0;
    for (size_t i = 0; i < dst.size(); ++i) {
        not_bf16 += wormhole::round_bf16(dst[i]) != dst[i];
        not_bfp8 += packed_conv[i] != dst[i];
    }
    EXPECT_EQ(not_bf16, 0) << "the conv's value is what a bf16 Dst holds";
    EXPECT_GT(not_bfp8, pixels) << "the conv's value was packed to bfloat8_b before its fused activation";

    std::vector<float> want(dst.size()), packed_first(dst.size());
    for (size_t i = 0; i < dst.size(); ++i) {
        want[i] = activation_reference(ActivationId::Hardswish, dst[i]);
        packed_first[i] = activation_reference(ActivationId::Hardswish, packed_conv[i]);
    }
    for (std::vector<float>* v : {&want, &packed_first})
        wormhole::quantize_rows_after_bf16_dest(v->data(), pixels, 16, 16, DataFormat::BFloat8_b, wormhole::Rounding::DeviceTiesAway);
    const std::vector<float> got = rows_of(act);
    int64_t wrong = 0, differs_from_packed_first = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        wrong += std::memcmp(&got[i], &want[i], sizeof(float)) != 0;
        differs_from_packed_first += std::memcmp(&got[i], &packed_first[i], sizeof(float)) != 0;
    }
    EXPECT_EQ(wrong, 0) << "of " << got.size() << " values of features.0.2";
    EXPECT_GT(differs_from_packed_first, 0) << "the test cannot tell packing once from packing twice";
}
