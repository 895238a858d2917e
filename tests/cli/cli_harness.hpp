// Runs the built `runner` binary and captures what it prints.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

struct CommandResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};

inline std::string runner_path() { return std::string(ZOO_BUILD_DIR) + "/bin/runner"; }

inline std::string reference_dir() {
    const char* d = std::getenv("ZOO_REFERENCE_DIR");
    return d ? d : std::string(ZOO_BUILD_DIR) + "/reference";
}

inline CommandResult run_runner(const std::string& args) {
    CommandResult r;
    const std::string cmd = runner_path() + " " + args + " 2>&1";
    FILE* pipe = popen(cmd.c_str(), "r");
    if (!pipe) return r;
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
    int status = pclose(pipe);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}
