// Run configs (runner --config): YAML plus the per-layer settings. load_run_config reads a path, so each input is
// written to one file per process first.
#include <unistd.h>

#include <fstream>
#include <string>

#include "config/run_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::string path = "/tmp/zoo_fuzz_run_config_" + std::to_string(::getpid()) + ".yaml";
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    (void)zoo::runner::load_run_config(path);
    return 0;
}
