// A small well-formedness check for the generated HTML (which is written as XML: every element closed).
#pragma once

#include <string>
#include <vector>

// Returns "" when every element is closed in order, else a description of the first problem.
inline std::string check_well_formed(const std::string& doc) {
    std::vector<std::string> stack;
    size_t i = 0;
    while ((i = doc.find('<', i)) != std::string::npos) {
        const size_t end = doc.find('>', i);
        if (end == std::string::npos) return "unterminated tag at " + std::to_string(i);
        std::string tag = doc.substr(i + 1, end - i - 1);
        i = end + 1;
        if (tag.empty()) return "empty tag";
        if (tag[0] == '!' || tag[0] == '?') continue;  // doctype, comments, processing instructions
        if (tag.back() == '/') continue;               // self-closing
        if (tag[0] == '/') {
            const std::string name = tag.substr(1);
            if (stack.empty() || stack.back() != name)
                return "closing </" + name + "> but the open element is <" + (stack.empty() ? std::string("none") : stack.back()) + ">";
            stack.pop_back();
            continue;
        }
        const size_t sp = tag.find_first_of(" \t\n");
        stack.push_back(tag.substr(0, sp));
        if (stack.back() == "style") {  // raw text up to </style>
            const size_t close = doc.find("</style>", i);
            if (close == std::string::npos) return "unclosed <style>";
            i = close;
        }
    }
    if (!stack.empty()) return "unclosed <" + stack.back() + ">";
    return "";
}
