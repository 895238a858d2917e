#include "report/csv_reader.hpp"

namespace zoo::runner {

std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
    std::vector<std::vector<std::string>> rows(1);
    std::string field;
    bool quoted = false, in_row = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
            else if (c == '"') quoted = false;
            else field += c;
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            rows.back().push_back(field), field.clear();
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            rows.back().push_back(field), field.clear();
            rows.emplace_back();
            in_row = false;
            continue;
        } else {
            field += c;
        }
        in_row = true;
    }
    if (in_row) rows.back().push_back(field);
    else rows.pop_back();
    return rows;
}

}  // namespace zoo::runner
