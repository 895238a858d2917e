// Force-included (runner/CMakeLists.txt) before <nlohmann/json.hpp> in every target that sees the runner's JSON.
// nlohmann's const operator[] on a missing key is undefined behaviour (an assert, compiled out in release): a report or
// results file lacking a field read that way was a use-after-free, found by tests/fuzz/fuzz_report. With this it is an
// exception, which the readers (`runner diff`, `runner report`, `runner sweep`) turn into an error naming the file.
// nlohmann also asserts its own invariants inside noexcept functions (iterators, the destructor); there a failure
// still ends the process, which is right for a corrupted object. The throw lives out of line (json_assert.cpp) so the
// compiler does not warn about it at each of those sites.
#pragma once

namespace zoo::runner {
[[noreturn]] void throw_json_field_missing();
}

#define JSON_ASSERT(x) (static_cast<bool>(x) ? static_cast<void>(0) : ::zoo::runner::throw_json_field_missing())
