// Status and Result: how expected failures travel, including across the plugin boundary.
// Exceptions never cross a plugin boundary; every virtual method of a plugin interface returns one of these.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace zoo {

class Status {
public:
    Status() = default;  // ok
    static Status ok() { return {}; }
    static Status error(std::string message) {
        Status s;
        s.m_message = std::move(message);
        s.m_failed = true;
        return s;
    }
    bool is_ok() const { return !m_failed; }
    explicit operator bool() const { return is_ok(); }
    const std::string& message() const { return m_message; }

    // Prepends context ("while loading X: ") so errors read from the outside in.
    Status with_context(const std::string& context) const {
        return is_ok() ? *this : error(context + ": " + m_message);
    }

private:
    std::string m_message;
    bool m_failed = false;
};

template <class T>
class Result {
public:
    Result(T value) : m_value(std::move(value)) {}
    Result(Status status) : m_status(std::move(status)) {}

    bool is_ok() const { return m_value.has_value(); }
    explicit operator bool() const { return is_ok(); }
    const Status& status() const { return m_status; }
    T& value() & { return *m_value; }
    const T& value() const& { return *m_value; }
    T&& value() && { return std::move(*m_value); }
    T* operator->() { return &*m_value; }
    const T* operator->() const { return &*m_value; }
    T& operator*() { return *m_value; }

private:
    std::optional<T> m_value;
    Status m_status;  // meaningful only when !m_value
};

}  // namespace zoo

// Early return on failure inside functions returning Status or Result<T>.
#define ZOO_TRY(expr)                                   \
    do {                                                \
        ::zoo::Status zoo_try_status__ = (expr);        \
        if (!zoo_try_status__.is_ok()) return zoo_try_status__; \
    } while (0)

#define ZOO_CONCAT_INNER__(a, b) a##b
#define ZOO_CONCAT__(a, b) ZOO_CONCAT_INNER__(a, b)
#define ZOO_ASSIGN_OR_RETURN_IMPL__(tmp, lhs, expr) \
    auto tmp = (expr);                              \
    if (!tmp.is_ok()) return tmp.status();          \
    lhs = std::move(tmp).value()
// ZOO_ASSIGN_OR_RETURN(auto x, make_x());
#define ZOO_ASSIGN_OR_RETURN(lhs, expr) ZOO_ASSIGN_OR_RETURN_IMPL__(ZOO_CONCAT__(zoo_result__, __LINE__), lhs, expr)
