// runner: run, validate and measure zoo models on zoo devices.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
    namespace cli = zoo::runner::cli;
    for (int i = 0; i < argc; ++i) cli::command_line().push_back(argv[i]);

    CLI::App app{"runner: run, validate and measure vision models on the CPU reference or the Wormhole n150 emulator"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("runner ") + cli::version());
    std::vector<std::string> plugin_dirs;
    app.add_option("--plugin-dir", plugin_dirs, "Extra folder searched first for libzoo_*.so plugins (repeatable)");

    cli::ListOptions list_options;
    auto* list = app.add_subcommand("list", "List model and device plugins with their variants, files, versions and ABI");
    list->add_flag("--json", list_options.json, "Print JSON instead of a table");

    cli::RunOptions run_options;
    auto* run = app.add_subcommand("run", "Run a model on a device: predictions, latency, throughput, profile, verdict");
    cli::add_run_options(*run, run_options);

    cli::CompareOptions compare_options;
    auto* compare = app.add_subcommand("compare", "Per-layer accuracy of a device against a reference device, worst first");
    cli::add_compare_options(*compare, compare_options);

    cli::SweepOptions sweep_options;
    auto* sweep = app.add_subcommand("sweep", "Run the cross product of an experiment's axes; resumable JSONL results");
    cli::add_sweep_options(*sweep, sweep_options);

    cli::ReportOptions report_options;
    auto* report = app.add_subcommand("report", "Render sweep results or run reports as a self-contained HTML page");
    cli::add_report_options(*report, report_options);

    cli::DiffOptions diff_options;
    auto* diff = app.add_subcommand("diff", "What changed between two run reports: config, FPS, latency, PCC");
    cli::add_diff_options(*diff, diff_options);

    cli::StreamOptions stream_options;
    auto* stream = app.add_subcommand("stream", "Performant runner: stream images through overlapped host preprocessing "
                                                "and device runs; end-to-end images/s");
    cli::add_stream_options(*stream, stream_options);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    if (*list) return cli::run_list(plugin_dirs, list_options);
    if (*run) return cli::run_run(plugin_dirs, run_options);
    if (*compare) return cli::run_compare(plugin_dirs, compare_options);
    if (*sweep) return cli::run_sweep(plugin_dirs, sweep_options);
    if (*report) return cli::run_report(report_options);
    if (*diff) return cli::run_diff(diff_options);
    if (*stream) return cli::run_stream(plugin_dirs, stream_options);
    return cli::kExitUsage;
}
