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
    tsan::tbb_call([&] { tbb::parallel_for(range, tsan::AfterHandover(&fork, chunk)); });
    tsan::acquire(&join);
}

// body(begin, end) over [0, count) in chunks of at least `grain` items: on the calling thread (one call, no task) when
// the whole range is one chunk or the current arena has one thread, otherwise over TBB's workers. Results must not
// depend on which: the items are independent.
template <class Body>
void parallel_chunks(int64_t count, int64_t grain, const Body& body) {
    if (count <= 0) return;
    if (count <= grain || tbb::this_task_arena::max_concurrency() <= 1) {
        body(int64_t{0}, count);
        return;
    }
    zoo::kernels::parallel_for(tbb::blocked_range<int64_t>(0, count, static_cast<size_t>(grain)),
                               [&body](const tbb::blocked_range<int64_t>& r) { body(r.begin(), r.end()); });
}

// body(i) for each i in [0, count), as parallel_chunks with one item per chunk at least.
template <class Body>
void parallel_range(int64_t count, const Body& body) {
    parallel_chunks(count, 1, [&body](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) body(i);
    });
}

}  // namespace zoo::kernels
