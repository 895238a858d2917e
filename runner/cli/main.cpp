// runner: run, validate and measure zoo models on zoo devices.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
    CLI::App app{"runner: run, validate and measure vision models on the CPU reference or the Wormhole n150 emulator"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("runner ") + zoo::runner::cli::version());
    std::vector<std::string> plugin_dirs;
    app.add_option("--plugin-dir", plugin_dirs, "Extra folder searched first for libzoo_*.so plugins (repeatable)");

    zoo::runner::cli::ListOptions list_options;
    auto* list = app.add_subcommand("list", "List model and device plugins with their variants, files, versions and ABI");
    list->add_flag("--json", list_options.json, "Print JSON instead of a table");

    zoo::runner::cli::RunOptions run_options;
    auto* run = app.add_subcommand("run", "Run a model on a device: predictions, latency and throughput");
    zoo::runner::cli::add_run_options(*run, run_options);

    zoo::runner::cli::CompareOptions compare_options;
    auto* compare = app.add_subcommand("compare", "Per-layer accuracy of a device against a reference device, worst first");
    zoo::runner::cli::add_compare_options(*compare, compare_options);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    if (*list) return zoo::runner::cli::run_list(plugin_dirs, list_options);
    if (*run) return zoo::runner::cli::run_run(plugin_dirs, run_options);
    if (*compare) return zoo::runner::cli::run_compare(plugin_dirs, compare_options);
    return 2;
}
