// "Did you mean": the closest known name to a misspelt one, for error messages.
#pragma once

#include <string>
#include <vector>

namespace zoo::runner {

// Levenshtein distance (insert, delete, substitute; a swap of neighbours counts 1).
size_t edit_distance(const std::string& a, const std::string& b);

// The candidate nearest to `name` when it is close enough to be a typo (distance <= max(1, size/4)), else "".
std::string closest_name(const std::string& name, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace zoo::runner
