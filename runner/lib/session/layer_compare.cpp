#include "session/layer_compare.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <map>
#include <sstream>

namespace zoo::runner {

Result<ComparisonResult> compare_devices(CompiledSetup& device, CompiledSetup& reference, const std::vector<Tensor>& inputs,
                                         bool per_layer) {
    std::vector<Tensor> got, want;
    std::map<std::string, Tensor> got_layers, want_layers;
    ZOO_TRY(device.compiled->run(inputs, got, per_layer ? &got_layers : nullptr).with_context(device.device_name));
    ZOO_TRY(reference.compiled->run(inputs, want, per_layer ? &want_layers : nullptr).with_context(reference.device_name));
    if (got.size() != want.size())
        return Status::error("devices disagree on the number of outputs (" + std::to_string(got.size()) + " vs " +
                             std::to_string(want.size()) + ")");
    ComparisonResult result;
    for (size_t i = 0; i < got.size(); ++i) {
        if (got[i].shape != want[i].shape)
            return Status::error("output " + std::to_string(i) + " has shape " + shape_to_string(got[i].shape) + " on " +
                                 device.device_name + " but " + shape_to_string(want[i].shape) + " on " + reference.device_name);
        result.outputs.push_back(compare_tensors(got[i], want[i]));
    }
    for (const auto& node : device.graph.nodes) {
        auto g = got_layers.find(node.name);
        auto w = want_layers.find(node.name);
        if (g == got_layers.end() || w == want_layers.end() || g->second.shape != w->second.shape) continue;
        result.layers.push_back({node.name, op_name(node.op), g->second.shape, compare_tensors(g->second, w->second)});
    }
    // Worst first; NaN (a broken layer) sorts before everything.
    std::stable_sort(result.layers.begin(), result.layers.end(), [](const LayerAgreement& a, const LayerAgreement& b) {
        const bool an = std::isnan(a.agreement.pcc), bn = std::isnan(b.agreement.pcc);
        if (an != bn) return an;
        return a.agreement.pcc < b.agreement.pcc;
    });
    return result;
}

namespace {
std::optional<NonFiniteOrigin> non_finite_in(const Tensor& t, const std::string& layer, const std::string& op) {
    const auto bad = std::find_if(t.data.begin(), t.data.end(), [](float v) { return !std::isfinite(v); });
    if (bad == t.data.end()) return std::nullopt;
    return NonFiniteOrigin{layer, op, bad - t.data.begin(), std::isnan(*bad)};
}
}  // namespace

std::string NonFiniteOrigin::describe() const {
    const std::string what = std::string(nan ? "NaN" : "Inf") + " at element " + std::to_string(element);
    if (layer.empty()) return "the input holds " + what;
    return "first non-finite value at layer " + layer + " (" + op + ", " + what + ")";
}

Result<std::optional<NonFiniteOrigin>> first_non_finite_layer(CompiledSetup& device, const std::vector<Tensor>& inputs) {
    for (const Tensor& input : inputs)
        if (auto origin = non_finite_in(input, "", "")) return origin;
    std::vector<Tensor> outputs;
    std::map<std::string, Tensor> captured;
    ZOO_TRY(device.compiled->run(inputs, outputs, &captured).with_context(device.device_name + " (capture run)"));
    for (const auto& node : device.graph.nodes) {
        if (node.op == OpKind::Input) continue;
        auto it = captured.find(node.name);
        if (it == captured.end()) continue;
        if (auto origin = non_finite_in(it->second, node.name, op_name(node.op))) return origin;
    }
    return std::optional<NonFiniteOrigin>{};
}

std::string format_layer_table(const std::vector<LayerAgreement>& layers, size_t limit) {
    size_t name_width = 5;
    for (size_t i = 0; i < std::min(limit, layers.size()); ++i) name_width = std::max(name_width, layers[i].layer.size());
    std::ostringstream out;
    out << std::left << std::setw(static_cast<int>(name_width)) << "layer" << "  " << std::setw(16) << "op" << std::setw(20)
        << "shape" << std::right << std::setw(12) << "PCC" << std::setw(14) << "max |err|" << std::setw(14) << "max |ref|"
        << "\n";
    for (size_t i = 0; i < std::min(limit, layers.size()); ++i) {
        const auto& l = layers[i];
        out << std::left << std::setw(static_cast<int>(name_width)) << l.layer << "  " << std::setw(16) << l.op
            << std::setw(20) << shape_to_string(l.shape) << std::right << std::fixed << std::setprecision(6) << std::setw(12)
            << l.agreement.pcc << std::scientific << std::setprecision(3) << std::setw(14) << l.agreement.max_abs_error
            << std::setw(14) << l.agreement.max_abs_reference << std::defaultfloat << "\n";
    }
    if (layers.size() > limit) out << "... " << layers.size() - limit << " more layers (--layers N shows more)\n";
    return out.str();
}

}  // namespace zoo::runner
