#include "zoo/spec_value.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace zoo {

SpecValue SpecValue::scalar(std::string text, std::string source) {
    SpecValue v;
    v.m_kind = Kind::Scalar;
    v.m_text = std::move(text);
    v.m_source = std::move(source);
    return v;
}

SpecValue SpecValue::list(std::string source) {
    SpecValue v;
    v.m_kind = Kind::List;
    v.m_source = std::move(source);
    return v;
}

SpecValue SpecValue::map(std::string source) {
    SpecValue v;
    v.m_kind = Kind::Map;
    v.m_source = std::move(source);
    return v;
}

std::string SpecValue::describe() const {
    switch (m_kind) {
        case Kind::Null: return "nothing";
        case Kind::Scalar: return "'" + m_text + "'";
        case Kind::List: return "a list";
        case Kind::Map: return "a map";
    }
    return "?";
}

namespace {
Status type_error(const SpecValue& v, const char* expected) {
    return Status::error(v.source() + ": expected " + expected + ", found " + v.describe());
}
}  // namespace

Result<int64_t> SpecValue::as_int() const {
    if (m_kind != Kind::Scalar || m_text.empty()) return type_error(*this, "an integer");
    errno = 0;
    char* end = nullptr;
    long long value = std::strtoll(m_text.c_str(), &end, 10);
    if (errno != 0 || end != m_text.c_str() + m_text.size()) return type_error(*this, "an integer");
    return static_cast<int64_t>(value);
}

Result<double> SpecValue::as_double() const {
    if (m_kind != Kind::Scalar || m_text.empty()) return type_error(*this, "a number");
    errno = 0;
    char* end = nullptr;
    double value = std::strtod(m_text.c_str(), &end);
    if (errno != 0 || end != m_text.c_str() + m_text.size() || !std::isfinite(value)) return type_error(*this, "a number");
    return value;
}

Result<bool> SpecValue::as_bool() const {
    if (m_kind == Kind::Scalar) {
        std::string t = m_text;
        std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
        if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
        if (t == "false" || t == "no" || t == "off" || t == "0") return false;
    }
    return type_error(*this, "true or false");
}

Result<std::string> SpecValue::as_string() const {
    if (m_kind != Kind::Scalar) return type_error(*this, "a string");
    return m_text;
}

const SpecValue* SpecValue::find(const std::string& key) const {
    for (const auto& [k, v] : m_entries)
        if (k == key) return &v;
    return nullptr;
}

void SpecValue::set(const std::string& key, SpecValue v) {
    for (auto& [k, existing] : m_entries) {
        if (k == key) {
            existing = std::move(v);
            return;
        }
    }
    m_entries.emplace_back(key, std::move(v));
}

Result<const SpecValue*> SpecValue::get(const std::string& key) const {
    if (m_kind != Kind::Map) return type_error(*this, "a map");
    if (const SpecValue* v = find(key)) return v;
    return Status::error(m_source + ": missing key '" + key + "'");
}

Status SpecValue::check_keys(const std::vector<std::string>& allowed) const {
    if (m_kind != Kind::Map) return type_error(*this, "a map");
    for (const auto& [k, v] : m_entries) {
        if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        return Status::error(v.source() + ": unknown key '" + k + "' (accepted: " + list + ")");
    }
    return Status::ok();
}

}  // namespace zoo
