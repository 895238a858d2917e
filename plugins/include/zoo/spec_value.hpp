// A typed tree of architecture parameters, built by the runner from YAML (and --set overrides) and read by model
// plugins, which thereby never parse YAML. Every value remembers where it came from ("yaml/models/x.yaml:12:5" or
// "--set width_mult=0.75") so a plugin's error can name the file and line.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "zoo/status.hpp"

namespace zoo {

class SpecValue {
public:
    enum class Kind : uint8_t { Null, Scalar, List, Map };

    SpecValue() = default;
    static SpecValue scalar(std::string text, std::string source);
    static SpecValue list(std::string source);
    static SpecValue map(std::string source);

    Kind kind() const { return m_kind; }
    const std::string& source() const { return m_source; }
    bool is_null() const { return m_kind == Kind::Null; }

    // Scalars keep their text; conversions check it and fail naming the source.
    const std::string& text() const { return m_text; }
    Result<int64_t> as_int() const;
    Result<double> as_double() const;
    Result<bool> as_bool() const;  // true/false/yes/no/on/off/1/0
    Result<std::string> as_string() const;

    // Lists
    const std::vector<SpecValue>& items() const { return m_items; }
    void push_back(SpecValue v) { m_items.push_back(std::move(v)); }

    // Maps keep insertion order.
    const std::vector<std::pair<std::string, SpecValue>>& entries() const { return m_entries; }
    const SpecValue* find(const std::string& key) const;
    void set(const std::string& key, SpecValue v);  // replaces an existing key in place
    // Field access with a clear error when missing ("yaml/models/x.yaml:3:1: missing key 'blocks'").
    Result<const SpecValue*> get(const std::string& key) const;

    // Rejects keys outside `allowed`, naming the key, its source and the accepted keys.
    Status check_keys(const std::vector<std::string>& allowed) const;

    std::string describe() const;  // short text for error messages: the scalar text, "a list", "a map", "null"

private:
    Kind m_kind = Kind::Null;
    std::string m_source;
    std::string m_text;
    std::vector<SpecValue> m_items;
    std::vector<std::pair<std::string, SpecValue>> m_entries;
};

}  // namespace zoo
