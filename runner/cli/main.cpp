// runner: run, validate and measure zoo models on zoo devices.
#include <CLI/CLI.hpp>
#include <boost/filesystem.hpp>
#include <iostream>

#include "cli/commands.hpp"
#include "core/limits.hpp"
#include "core/suggest.hpp"

namespace {

// Long option names of a (sub)command, for "did you mean".
std::vector<std::string> option_names(const CLI::App& app) {
    std::vector<std::string> names;
    for (const CLI::Option* o : app.get_options())
        for (const auto& n : o->get_lnames()) names.push_back("--" + n);
    return names;
}

// A CLI11 parse error as the documented contract: one line, exit 2 (help and --version print and exit 0), with a
// "did you mean" for a misspelt subcommand or option.
int usage_error(CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);  // --help, --version
    std::string message = e.what();
    const CLI::App* command = &app;
    for (const CLI::App* sub : app.get_subcommands()) command = sub;
    std::vector<std::string> subcommands;
    for (const CLI::App* sub : app.get_subcommands({})) subcommands.push_back(sub->get_name());
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg.rfind("--", 0) == 0) {
            const std::string name = arg.substr(0, arg.find('='));
            const auto names = option_names(*command);
            const auto top = option_names(app);
            if (std::find(names.begin(), names.end(), name) == names.end() && std::find(top.begin(), top.end(), name) == top.end()) {
                std::vector<std::string> all = names;
                all.insert(all.end(), top.begin(), top.end());
                message = "unknown option '" + name + "'" + zoo::runner::did_you_mean(name, all);
                break;
            }
        } else if (command == &app && arg[0] != '-') {
            if (std::find(subcommands.begin(), subcommands.end(), arg) == subcommands.end()) {
                std::string known;
                for (const auto& c : subcommands) known += (known.empty() ? "" : ", ") + c;
                message = "unknown command '" + arg + "'" + zoo::runner::did_you_mean(arg, subcommands) + " (commands: " + known + ")";
            }
            break;
        }
    }
    std::cerr << "error: " << message << "\n" << "Run with --help for the options.\n";
    return zoo::runner::cli::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
    namespace cli = zoo::runner::cli;
    for (int i = 0; i < argc; ++i) cli::command_line().push_back(argv[i]);

    CLI::App app{"runner: run, validate and measure vision models on the CPU reference or the Wormhole n150 emulator"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string("runner ") + cli::version());
    std::vector<std::string> plugin_dirs;
    app.add_option("--plugin-dir", plugin_dirs, "Extra folder searched first for libzoo_*.so plugins (repeatable)")
        ->check(CLI::ExistingDirectory);
    std::vector<std::string> limit_settings;
    app.add_option("--limit", limit_settings, "Raise a limit on input files, NAME=VALUE (" + zoo::runner::limit_names() +
                                                  "); repeatable");

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

    cli::NewPluginOptions new_plugin_options;
    auto* new_plugin = app.add_subcommand("new-plugin", "Write a model or device plugin project that builds against the "
                                                        "installed SDK (find_package(zoo))");
    cli::add_new_plugin_options(*new_plugin, new_plugin_options);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return usage_error(app, e, argc, argv);
    }
    for (const auto& l : limit_settings) {
        zoo::Status st = zoo::runner::set_limit(l);
        if (!st) {
            std::cerr << "error: " << st.message() << "\n";
            return cli::kExitUsage;
        }
    }
    if (*list) return cli::run_list(plugin_dirs, list_options);
    if (*run) return cli::run_run(plugin_dirs, run_options);
    if (*compare) return cli::run_compare(plugin_dirs, compare_options);
    if (*sweep) return cli::run_sweep(plugin_dirs, sweep_options);
    if (*report) return cli::run_report(report_options);
    if (*diff) return cli::run_diff(diff_options);
    if (*stream) return cli::run_stream(plugin_dirs, stream_options);
    if (*new_plugin) return cli::run_new_plugin(new_plugin_options);
    return cli::kExitUsage;
}
