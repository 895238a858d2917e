// Reading back the CSV tables the runner and the devices write (ops perf reports, memory plans, report CSVs):
// RFC 4180 fields (quoted fields may hold commas, newlines and doubled quotes), LF or CRLF line ends.
#pragma once

#include <string>
#include <vector>

namespace zoo::runner {

// Rows of fields; no trailing empty row for a final line end.
std::vector<std::vector<std::string>> parse_csv(const std::string& text);

}  // namespace zoo::runner
