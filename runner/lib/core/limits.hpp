// Limits that bound what a hostile or broken input file can make the runner allocate or compute. Each is far above
// what any real model, image, config or sweep needs, and each error names the limit and the flag that raises it
// (`runner --limit NAME=VALUE ...`), so a legitimate outlier is one flag away rather than a rebuild.
//
// Thread safety: set once by main before any command runs (set_limit), read-only afterwards.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "zoo/status.hpp"

namespace zoo::runner {

struct InputLimits {
    // Host bytes of all tensors of one weights file per byte of the file. Float16 storage decodes to 2x, int8 to 4x;
    // only stride-0 views or storages shared by many tensors go further.
    double weights_expansion = 8;
    // ... plus this many bytes, so tiny files are not refused for their size alone.
    int64_t weights_slack_bytes = int64_t{64} << 20;
    int64_t image_pixels = int64_t{1} << 26;      // width x height of one decoded image (67 Mpx)
    int64_t yaml_nodes = 200000;                  // nodes of one YAML document after alias expansion
    int64_t yaml_depth = 64;                      // nesting of YAML and of safetensors headers
    int64_t sweep_runs = 10000;                   // runs one experiment expands to
};

InputLimits& limits();

// "image_pixels=100000000": sets one limit. Errors name the known limits.
Status set_limit(const std::string& assignment);
// "weights_expansion, weights_slack_bytes, ..."
std::string limit_names();
// The advice appended to every limit error: "(limit NAME = VALUE; raise it with --limit NAME=N)".
std::string limit_hint(const std::string& name);

}  // namespace zoo::runner
