/*
 * platform_once.c — lc_once_run in portable C11 atomics (no pthread_once/InitOnceExecuteOnce,
 * so the header needs no system type). The race is only ever lost at start-up, so the losers
 * simply yield until the winner is done.
 * lc_thread_id: a C11 thread-local number, the same on every OS (pthread_t is not a number, and
 * a thread not started by lc_thread_create — main, lws's — needs an id too).
 */
#include "platform.h"

void lc_once_run(lc_once *once, void (*fn)(void))
{
    if (atomic_load_explicit(&once->state, memory_order_acquire) == 2)
        return;
    int expected = 0;
    if (atomic_compare_exchange_strong_explicit(&once->state, &expected, 1, memory_order_acq_rel,
                                                memory_order_acquire)) {
        fn();
        /* release: whatever fn() wrote is visible to every thread that then sees 2 */
        atomic_store_explicit(&once->state, 2, memory_order_release);
        return;
    }
    while (atomic_load_explicit(&once->state, memory_order_acquire) != 2)
        lc_thread_yield();
}

uint64_t lc_thread_id(void)
{
    static atomic_uint_fast64_t next = 1;
    static _Thread_local uint64_t id;
    if (!id)
        id = atomic_fetch_add_explicit(&next, 1, memory_order_relaxed);
    return id;
}
