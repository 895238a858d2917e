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

// What selects and builds a model on a device: shared by run and compare.
struct ModelOptions {
    std::string model, variant, device, config, hardware, weights, input = "samples";
    std::vector<std::string> sets;
    int64_t batch = 0;
    int threads = 0;
    uint64_t seed = 0;
    int resize = 0;
};
void add_model_options(CLI::App& app, ModelOptions& options);

struct RunOptions {
    ModelOptions m;
    std::string report, save_output, reference;
    int warmup = 3;
    int iterations = 20;
    bool dump_config = false;
    int top = 5;
    double pcc_threshold = 0;
};
void add_run_options(CLI::App& app, RunOptions& options);
int run_run(const std::vector<std::string>& plugin_dirs, const RunOptions& options);

struct CompareOptions {
    ModelOptions m;
    std::string reference = "cpu";
    size_t layers = 25;
};
void add_compare_options(CLI::App& app, CompareOptions& options);
int run_compare(const std::vector<std::string>& plugin_dirs, const CompareOptions& options);

}  // namespace zoo::runner::cli
