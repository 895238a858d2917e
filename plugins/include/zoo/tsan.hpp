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
#include <cstdint>
// TSan's dynamic-annotation entry point (libtsan exports it; no header declares it): forget every access recorded for
// [mem, mem + size), as for memory just allocated.
extern "C" void AnnotateNewMemory(const char* file, int line, const volatile void* mem, std::uintptr_t size);
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

// A TBB call made on this thread (parallel_for, task_arena::execute, parallel_pipeline), in a frame of its own that is
// forgotten once the call returns. TBB keeps the call's bookkeeping on the caller's stack (the wait node and counter,
// the functor delegate, the task group context) and workers touch it after the last edge we can declare: a worker
// decrements the wait counter after the body returns, and the caller sees that inside libtbb. When that frame is
// reused by later calls of this thread, TSan would report those dead objects' accesses as races with the new frame's.
// Memory below the stack pointer holds nothing live, so forgetting it hides no access of ours. The call runs in a
// noinline function so that TBB's objects are in the forgotten region, not in a live (inlined) caller's frame.
#if defined(ZOO_TSAN_BUILD)
template <class Call>
[[gnu::noinline]] void call_in_own_frame(const Call& call) {
    call();
}

// 16 KiB below this function's frame, which lies just below the caller's stack pointer: TBB's frames for one call.
[[gnu::noinline]] inline void forget_dead_stack() {
    constexpr std::uintptr_t kDepth = 16 * 1024;
    const auto here = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    AnnotateNewMemory(__FILE__, __LINE__, reinterpret_cast<const void*>(here - kDepth), kDepth);
}

template <class Call>
void tbb_call(const Call& call) {
    call_in_own_frame(call);
    forget_dead_stack();
}
#else
template <class Call>
void tbb_call(const Call& call) {
    call();
}
#endif

// fn() inside `arena` (tbb::task_arena::execute), with the hand-over declared both ways: execute may give fn to one
// of the arena's workers and wait for it inside libtbb.
template <class Arena, class Fn>
void execute_in(Arena& arena, const Fn& fn) {
    const char fork = 0, join = 0;  // hand-over keys only
    release(&fork);
    tbb_call([&] {
        arena.execute([&fn, &fork, &join] {
            acquire(&fork);
            fn();
            release(&join);
        });
    });
    acquire(&join);
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
