// Happens-before edges that TBB guarantees and ThreadSanitizer cannot see.
//
// Debian's libtbb is not built with -fsanitize=thread. The hand-overs that order our data between threads happen
// inside it: a pipeline token passed from one filter to the next, a serial filter's calls made one after another on
// different threads, a task given to a worker thread that already exists, the wait for the last task. TSan sees none
// of them, so it reports every access on the far side of such a hand-over as a race (in our code, so tsan.supp must not
// hide it). These two calls declare the edges TBB documents, at the places our code relies on them: release() where
// our data is handed over, acquire() where the other side picks it up. Accesses TBB does not order (two tasks of one
// parallel stage, say) are given no edge and are still reported. Outside a TSan build both calls compile to nothing.
#pragma once

#if defined(__SANITIZE_THREAD__)
#define ZOO_TSAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ZOO_TSAN_BUILD 1
#endif
#endif

#if defined(ZOO_TSAN_BUILD)
#include <sanitizer/tsan_interface.h>
#endif

namespace zoo::runner::tsan {

// `handover` names the hand-over: any address both sides agree on (the token, a stage's state). It is only a key.
inline void release([[maybe_unused]] const void* handover) {
#if defined(ZOO_TSAN_BUILD)
    __tsan_release(const_cast<void*>(handover));
#endif
}

inline void acquire([[maybe_unused]] const void* handover) {
#if defined(ZOO_TSAN_BUILD)
    __tsan_acquire(const_cast<void*>(handover));
#endif
}

}  // namespace zoo::runner::tsan
