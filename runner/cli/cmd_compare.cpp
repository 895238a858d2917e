// `runner compare`: per-layer PCC of a device against a reference device, worst first.
#include <iostream>

#include "cli/commands.hpp"
#include "core/data_paths.hpp"
#include "report/report.hpp"
#include "session/inputs.hpp"
#include "session/layer_compare.hpp"
#include "session/model_session.hpp"

namespace zoo::runner::cli {

void add_compare_options(CLI::App& app, CompareOptions& o) {
    add_model_options(app, o.m);
    app.add_option("--reference", o.reference, "Reference device");
    app.add_option("--layers", o.layers, "Layers shown, worst PCC first");
}

int run_compare(const std::vector<std::string>& plugin_dirs, const CompareOptions& o) {
    PluginRegistry registry = PluginRegistry::discover(plugin_search_dirs(plugin_dirs));
    const ModelOptions& m = o.m;
    auto so = session_options_with_input_batch(m);
    if (!so) return fail(so.status());
    const std::string input = resolve_input_path(m.input);
    auto setup = prepare_model(registry, *so);
    if (!setup) return fail(setup.status());
    if (setup->random_weights) std::cerr << "note: random weights (seed " << m.seed << "); pass --weights for a pretrained file\n";
    auto dev = compile_on_device(registry, *setup, m.device, m.threads, true, m.hardware);
    if (!dev) return fail(dev.status());
    auto ref = compile_on_device(registry, *setup, o.reference, m.threads);
    if (!ref) return fail(ref.status().with_context("reference device"));
    auto inputs = load_inputs(input, input_shape(setup->graph), m.seed, m.resize);
    if (!inputs) return fail(inputs.status());
    // Every batch is compared (the outputs' worst agreement is reported); layers are captured on the first batch only.
    auto cmp = compare_devices(dev.value(), ref.value(), inputs->batches[0], true);
    if (!cmp) return fail(cmp.status());
    for (size_t b = 1; b < inputs->batches.size(); ++b) {
        auto more = compare_devices(dev.value(), ref.value(), inputs->batches[b], false);
        if (!more) return fail(more.status());
        for (size_t i = 0; i < cmp->outputs.size() && i < more->outputs.size(); ++i)
            if (!(more->outputs[i].pcc >= cmp->outputs[i].pcc)) cmp->outputs[i] = more->outputs[i];  // NaN is worst
    }
    std::cout << "Model " << m.model << " (" << setup->variant << ") on " << m.device << " vs " << o.reference << ", batch "
              << setup->batch << ", input " << (m.input == "samples" ? "bundled samples" : m.input) << " (" << inputs->items
              << " items in " << inputs->batches.size() << " batches; outputs: the worst batch; layers: the first batch)\n";
    for (size_t i = 0; i < cmp->outputs.size(); ++i) {
        const Agreement& a = cmp->outputs[i];
        std::cout << "Output " << i << ": " << agreement_text(a) << "\n";
    }
    std::cout << "\nPer layer, worst PCC first (" << cmp->layers.size() << " layers compared):\n"
              << format_layer_table(cmp->layers, o.layers);
    return kExitOk;
}

}  // namespace zoo::runner::cli
