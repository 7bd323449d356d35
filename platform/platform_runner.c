/*
 * platform_runner.c — lc_runner: a thread that loops until told to stop, sleeping between rounds
 * on a condition variable so a stop ends any sleep at once. Portable: built on lc_thread,
 * lc_mutex and lc_cond. The Icecast pushers and RTP senders are runners.
 */
#include "platform.h"

#include <stdlib.h>

struct lc_runner {
    lc_thread *thread;
    lc_runner_fn fn;
    void *arg;
    lc_mutex *mu;
    lc_cond *cv;
    bool stop; /* mu */
};

static void trampoline(void *p)
{
    lc_runner *r = p;
    r->fn(r, r->arg);
}

int lc_runner_start(lc_runner **out, lc_runner_fn fn, void *arg)
{
    lc_runner *r = calloc(1, sizeof *r);
    int rc = LC_ERR_NOMEM;
    *out = NULL;
    if (!r)
        return rc;
    r->fn = fn;
    r->arg = arg;
    if (lc_mutex_create(&r->mu, LC_MUTEX_PLAIN) || lc_cond_create(&r->cv))
        goto fail;
    *out = r; /* before the thread starts: fn may read it through its own structures */
    rc = lc_thread_create(&r->thread, trampoline, r);
    if (rc)
        goto fail;
    return 0;
fail:
    *out = NULL;
    lc_cond_destroy(r->cv);
    lc_mutex_destroy(r->mu);
    free(r);
    return rc;
}

bool lc_runner_sleep_until(lc_runner *r, uint64_t deadline_ns)
{
    lc_mutex_lock(r->mu);
    while (!r->stop && lc_plat_now_ns() < deadline_ns)
        (void)lc_cond_wait_until(r->cv, r->mu, deadline_ns);
    bool stop = r->stop;
    lc_mutex_unlock(r->mu);
    return stop;
}

void lc_runner_stop(lc_runner *r)
{
    if (!r)
        return;
    lc_mutex_lock(r->mu);
    r->stop = true;
    lc_cond_broadcast(r->cv);
    lc_mutex_unlock(r->mu);
    lc_thread_join(r->thread);
    lc_cond_destroy(r->cv);
    lc_mutex_destroy(r->mu);
    free(r);
}
