// `runner diff`: what changed between two run reports (schema zoo-runner-report/1 or /2): configuration, provenance,
// then every metric with its relative change and whether that change is better or worse.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace zoo::runner {

struct DiffSummary {
    std::string text;        // the plain-text tables
    size_t config_changes = 0;
    size_t metrics_compared = 0;
};

DiffSummary diff_reports(const nlohmann::json& a, const nlohmann::json& b, const std::string& name_a, const std::string& name_b);

}  // namespace zoo::runner
