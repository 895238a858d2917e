// The one way the kernels and the devices built on them run a loop on TBB's workers: tbb::parallel_for, with its fork
// and join declared to ThreadSanitizer (zoo/tsan.hpp). Every chunk sees what the caller wrote before the call, and the
// caller sees what every chunk wrote once the call returns; chunks are not ordered with each other, so two chunks
// writing one element are still reported. Outside a TSan build this is tbb::parallel_for and nothing more.
// Call it qualified (zoo::kernels::parallel_for): argument-dependent lookup on a tbb::blocked_range would find tbb's.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <cstdint>

#include "zoo/tsan.hpp"

namespace zoo::kernels {

// body(const Range&) for the chunks of `range`, as tbb::parallel_for(range, body).
template <class Range, class Body>
void parallel_for(const Range& range, const Body& body) {
    const char fork = 0, join = 0;  // hand-over keys only
    const auto chunk = [&body, &join](const Range& r) {
        body(r);
        tsan::release(&join);
    };
    tsan::release(&fork);
    tbb::parallel_for(range, tsan::AfterHandover(&fork, chunk));
    tsan::acquire(&join);
}

// body(i) for i in [0, count): on the calling thread when there is one item or the current arena has one thread
// (no task is made), otherwise over TBB's workers. Results must not depend on which: each i is independent.
template <class Body>
void parallel_range(int64_t count, const Body& body) {
    if (count <= 0) return;
    if (count == 1 || tbb::this_task_arena::max_concurrency() <= 1) {
        for (int64_t i = 0; i < count; ++i) body(i);
        return;
    }
    zoo::kernels::parallel_for(tbb::blocked_range<int64_t>(0, count), [&body](const tbb::blocked_range<int64_t>& r) {
        for (int64_t i = r.begin(); i < r.end(); ++i) body(i);
    });
}

}  // namespace zoo::kernels
