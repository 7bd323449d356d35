/*
 * platform_once.c — lc_once_run in portable C11 atomics (no pthread_once/InitOnceExecuteOnce,
 * so the header needs no system type). The race is only ever lost at start-up, so the losers
 * simply yield until the winner is done.
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
