#include "report/text_table.hpp"

#include <algorithm>
#include <sstream>

namespace zoo::runner {

std::string format_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                         const std::vector<bool>& right_aligned) {
    std::vector<size_t> width(header.size(), 0);
    for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
    for (const auto& r : rows)
        for (size_t c = 0; c < std::min(r.size(), width.size()); ++c) width[c] = std::max(width[c], r[c].size());
    std::ostringstream out;
    auto line = [&](const std::vector<std::string>& cells) {
        std::string l;
        for (size_t c = 0; c < width.size(); ++c) {
            const std::string cell = c < cells.size() ? cells[c] : "";
            const std::string pad(width[c] - std::min(width[c], cell.size()), ' ');
            const bool right = c < right_aligned.size() && right_aligned[c];
            l += (c ? "  " : "") + (right ? pad + cell : cell + pad);
        }
        while (!l.empty() && l.back() == ' ') l.pop_back();
        out << l << "\n";
    };
    line(header);
    std::vector<std::string> rule;
    for (size_t w : width) rule.push_back(std::string(w, '-'));
    line(rule);
    for (const auto& r : rows) line(r);
    return out.str();
}

}  // namespace zoo::runner
