// Happens-before edges that TBB guarantees and ThreadSanitizer cannot see; shared by the runner (sweep jobs, the
// stream pipeline) and the plugins (the kernels' parallel_for, the devices' own TBB loops).
//
// Debian's libtbb is not built with -fsanitize=thread. The hand-overs that order our data between threads happen
// inside it: a task given to a worker thread, a pipeline token passed from one filter to the next, a serial filter's
// calls made one after another on different threads, the wait for the last task. TSan sees none of them, so it reports
// every access on the far side of such a hand-over as a race, in our code. These calls declare the edges TBB documents,
// at the places our code relies on them: release() where our data is handed over, acquire() where the other side picks
// it up. Accesses TBB does not order (two chunks of one parallel_for, two calls of a parallel filter) get no edge and
// are still reported. Outside a TSan build everything here compiles to nothing.
#pragma once

#include <type_traits>
#include <utility>

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

namespace zoo::tsan {

// `handover` names the hand-over: any address both sides agree on (a local on the handing thread's stack, a token).
// It is only a key; nothing is read or written there.
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

// The callable to give TBB (a parallel_for body, a pipeline filter) in place of `body`: each call first acquires
// `handover`, then calls body. TBB copies this object into its task or filter storage, which it hands to the worker
// inside libtbb, so the one access TSan cannot order is the read of this object's own two fields (the key and the
// pointer) before the acquire; the copy that wrote them is TBB's own code, which tests/sanitizers/tsan.supp lists. The
// body is held by pointer, not copied, so everything it captures was written before the release and is read after
// the acquire, in the body's own frame, where TSan checks it. The body must outlive the TBB call (a named local).
template <class Body>
class AfterHandover {
public:
    AfterHandover(const void* handover, const Body& body) : m_handover(handover), m_body(&body) {}

    // Callable with exactly what the body is callable with (TBB inspects that, e.g. for a parallel_for_each feeder).
    template <class... Args>
    auto operator()(Args&&... args) const -> std::invoke_result_t<const Body&, Args...> {
        acquire(m_handover);
        return (*m_body)(std::forward<Args>(args)...);
    }

private:
    const void* m_handover;
    const Body* m_body;
};

}  // namespace zoo::tsan
