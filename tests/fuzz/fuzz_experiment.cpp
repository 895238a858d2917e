// Sweep experiments (runner sweep FILE.yaml): parsing, expansion and the request of every run.
#include <string>

#include "sweep/sweep.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto ex = zoo::runner::parse_experiment(std::string(reinterpret_cast<const char*>(data), size), "fuzz.yaml");
    if (!ex) return 0;
    for (const auto& run : zoo::runner::expand_experiment(*ex)) (void)zoo::runner::request_for(run.params);
    return 0;
}
