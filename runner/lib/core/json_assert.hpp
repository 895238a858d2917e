// Force-included (runner/CMakeLists.txt) before <nlohmann/json.hpp> in every target that sees the runner's JSON.
// nlohmann's const operator[] on a missing key is undefined behaviour (an assert, compiled out in release): a report or
// results file lacking a field read that way was a use-after-free, found by tests/fuzz/fuzz_report. With this it is an
// exception, which the readers (`runner diff`, `runner report`, `runner sweep`) turn into an error naming the file.
#pragma once

#include <stdexcept>

#define JSON_ASSERT(x) (static_cast<bool>(x) ? static_cast<void>(0) : throw std::out_of_range("a JSON field the reader needs is missing"))
