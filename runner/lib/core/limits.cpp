#include "core/limits.hpp"

#include <charconv>
#include <cmath>
#include <sstream>

namespace zoo::runner {

InputLimits& limits() {
    static InputLimits l;
    return l;
}

namespace {

struct Entry {
    const char* name;
    int64_t* integer;
    double* real;
};

std::vector<Entry> entries() {
    InputLimits& l = limits();
    return {{"weights_expansion", nullptr, &l.weights_expansion}, {"weights_slack_bytes", &l.weights_slack_bytes, nullptr},
            {"image_pixels", &l.image_pixels, nullptr},           {"yaml_nodes", &l.yaml_nodes, nullptr},
            {"yaml_depth", &l.yaml_depth, nullptr},               {"sweep_runs", &l.sweep_runs, nullptr}};
}

}  // namespace

std::string limit_names() {
    std::string out;
    for (const auto& e : entries()) out += (out.empty() ? "" : ", ") + std::string(e.name);
    return out;
}

std::string limit_hint(const std::string& name) {
    for (const auto& e : entries()) {
        if (name != e.name) continue;
        std::ostringstream v;
        if (e.integer) v << *e.integer; else v << *e.real;
        return "(limit " + name + " = " + v.str() + "; raise it with --limit " + name + "=N)";
    }
    return "(limit " + name + ")";
}

Status set_limit(const std::string& assignment) {
    const size_t eq = assignment.find('=');
    const std::string name = assignment.substr(0, eq);
    for (const auto& e : entries()) {
        if (name != e.name) continue;
        if (eq == std::string::npos) break;
        const std::string value = assignment.substr(eq + 1);
        const char* first = value.data();
        const char* last = value.data() + value.size();
        if (e.integer) {
            int64_t v = 0;
            auto [p, ec] = std::from_chars(first, last, v);
            if (ec != std::errc() || p != last || v <= 0)
                return Status::error("--limit " + assignment + ": '" + name + "' must be a positive integer");
            *e.integer = v;
        } else {
            double v = 0;
            auto [p, ec] = std::from_chars(first, last, v);
            if (ec != std::errc() || p != last || !(v > 0) || !std::isfinite(v))
                return Status::error("--limit " + assignment + ": '" + name + "' must be a positive number");
            *e.real = v;
        }
        return Status::ok();
    }
    return Status::error("--limit " + assignment + ": expected NAME=VALUE with NAME one of " + limit_names());
}

}  // namespace zoo::runner
