#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace zoo::runner::cli {

const char* version();

struct ListOptions {
    bool json = false;
};
int run_list(const std::vector<std::string>& plugin_dirs, const ListOptions& options);

struct RunOptions {
    std::string model, variant, device, config, hardware, weights, input = "samples", report, save_output;
    std::vector<std::string> sets;
    int64_t batch = 0;
    int warmup = 3;
    int iterations = 20;
    int threads = 0;
    uint64_t seed = 0;
    bool dump_config = false;
    int top = 5;
    int resize = 0;
};
void add_run_options(CLI::App& app, RunOptions& options);
int run_run(const std::vector<std::string>& plugin_dirs, const RunOptions& options);

}  // namespace zoo::runner::cli
