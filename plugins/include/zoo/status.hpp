// Status and Result: how expected failures travel, including across the plugin boundary.
// Exceptions never cross a plugin boundary; every virtual method of a plugin interface returns one of these.
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace zoo {

// What kind of failure a Status carries, for callers that act on it (the runner maps OutOfMemory and Unsupported
// to their own exit paths); the message stays the explanation for people.
enum class StatusCode : uint8_t {
    Ok,
    Error,              // a failure with no finer kind
    InvalidArgument,    // the caller passed something malformed (a shape, a config value)
    NotFound,           // a named thing (file, weight, layer, plugin) does not exist
    Unsupported,        // valid, but this device / model does not do it
    OutOfMemory,        // the (emulated) device cannot hold it
    Internal,           // an exception escaped a component: a bug, reported instead of crashing
};

// Ignoring a Status loses an error, so the compiler refuses to let it pass silently ([[nodiscard]]).
class [[nodiscard]] Status {
public:
    Status() = default;  // ok
    static Status ok() { return {}; }
    static Status error(std::string message) { return error(StatusCode::Error, std::move(message)); }
    static Status error(StatusCode code, std::string message) {
        Status s;
        s.m_message = std::move(message);
        s.m_code = code == StatusCode::Ok ? StatusCode::Error : code;
        return s;
    }
    bool is_ok() const { return m_code == StatusCode::Ok; }
    explicit operator bool() const { return is_ok(); }
    StatusCode code() const { return m_code; }
    const std::string& message() const { return m_message; }

    // Prepends context ("while loading X: ") so errors read from the outside in; the code is kept.
    Status with_context(const std::string& context) const {
        return is_ok() ? *this : error(m_code, context + ": " + m_message);
    }

private:
    std::string m_message;
    StatusCode m_code = StatusCode::Ok;
};

template <class T>
class [[nodiscard]] Result {
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

// Runs `body` (returning Status or Result<T>) and turns any exception into an Internal error prefixed by `context`:
// the one catch block every plugin entry point needs, since nothing may throw across the plugin boundary.
template <class F>
auto status_guard(const char* context, F&& body) noexcept -> decltype(body()) {
    try {
        return body();
    } catch (const std::exception& e) {
        return Status::error(StatusCode::Internal, std::string(context) + ": " + e.what());
    } catch (...) {
        return Status::error(StatusCode::Internal, std::string(context) + ": unknown exception");
    }
}

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
