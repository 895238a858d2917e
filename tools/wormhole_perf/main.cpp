// wormhole_perf --model NAME [--variant V] [--config FILE] [--batch N] [--set k=v]... [--table ops|trace|memory]
// Compiles the model on the Wormhole emulator (no run: the perf model is static) and prints a JSON object
// {"metrics": {name: {"value", "unit"}}, "table": "<text of --table, if asked>"}.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "session/model_session.hpp"

using namespace zoo;
using namespace zoo::runner;

int main(int argc, char** argv) {
    SessionOptions so;
    so.device = "wormhole";
    std::string table;
    std::filesystem::path exe = std::filesystem::canonical("/proc/self/exe");
    std::string plugins = (exe.parent_path().parent_path() / "lib" / "zoo").string();
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--model") so.model = next();
        else if (a == "--variant") so.variant = next();
        else if (a == "--config") so.run_config = next();
        else if (a == "--batch") so.batch = std::stoll(next());
        else if (a == "--set") so.sets.push_back(next());
        else if (a == "--table") table = next();
        else if (a == "--plugins") plugins = next();
        else if (a == "--hardware") so.hardware = next();
        else {
            std::fprintf(stderr, "unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    if (so.model.empty()) {
        std::fprintf(stderr, "usage: wormhole_perf --model NAME [--variant V] [--config FILE] [--batch N] [--set k=v] [--table T]\n");
        return 2;
    }
    const PluginRegistry registry = PluginRegistry::discover({plugins});
    auto setup = prepare_model(registry, so);
    if (!setup) {
        std::fprintf(stderr, "error: %s\n", setup.status().message().c_str());
        return 1;
    }
    auto compiled = compile_on_device(registry, *setup, "wormhole", so.threads, true, so.hardware);
    if (!compiled) {
        std::fprintf(stderr, "error: %s\n", compiled.status().message().c_str());
        return 1;
    }
    nlohmann::json out;
    out["model"] = so.model;
    out["variant"] = setup->variant;
    out["batch"] = setup->batch;
    out["metrics"] = nlohmann::json::object();
    for (const auto& m : compiled->compiled->metrics()) out["metrics"][m.name] = {{"value", m.value}, {"unit", m.unit}};
    if (!table.empty()) {
        auto t = compiled->compiled->table(table);
        if (!t) {
            std::fprintf(stderr, "error: %s\n", t.status().message().c_str());
            return 1;
        }
        out["table"] = *t;
    }
    std::cout << out.dump() << "\n";
    return 0;
}
