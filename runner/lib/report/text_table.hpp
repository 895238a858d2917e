// Plain fixed-width text tables (no colour, no box drawing: they paste into issues and logs unchanged).
#pragma once

#include <string>
#include <vector>

namespace zoo::runner {

// Columns padded to their widest cell, two spaces apart; `right_aligned[c]` right-aligns column c (numbers).
// A header rule of dashes follows the header. Missing cells are blank.
std::string format_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                         const std::vector<bool>& right_aligned = {});

}  // namespace zoo::runner
