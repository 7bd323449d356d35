/*
 * worker.c — --threads N: N lws service threads, each with its own lws context (issue 15).
 *
 * Debian's lws 4.1.6 is built with LWS_MAX_SMP 1 (one service thread per context) and cannot
 * share a listening port between contexts (ALLOW_LISTEN_SHARE works only from 4.3.2). So worker
 * 0's context listens, as the single-threaded server always did, and its FILTER_NETWORK_
 * CONNECTION (clients.c's checks first) hands each new socket to the worker holding the fewest
 * connections: the socket goes into that worker's inbox and the worker is woken with
 * lws_cancel_service(), the one lws call that is safe from another thread; it adopts the socket
 * into its own context (lws_adopt_descriptor_vhost) and serves it for its whole life. The other
 * contexts have a vhost with the same protocols and TLS settings but no port.
 *
 * What the workers share (the session table, the connection lists, limits, counters for
 * /metrics, the API) is guarded by one recursive mutex, srv->mu, which every callback that
 * touches it takes (http.c, ws_stream.c, ws_events.c). The fan-out itself takes no lock: a
 * packet wakes every worker, and each writes it to its own audio connections from its own
 * cursor, send buffer and counters (ws_stream.c). A worker that changes something another
 * worker's connection must act on sets a flag and wakes the owner (lc_worker_wake); the owner
 * acts on it when woken: ws_stream.c's EVENT_WAIT_CANCELLED.
 *
 * Why not one context with several threads, or SO_REUSEPORT contexts: the first needs
 * LWS_MAX_SMP > 1 (a rebuilt lws, which the container and Windows builds would then have to
 * carry), the second a lws that Debian 12 does not have. Measured: docs/performance.md.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local lc_worker *tl_worker; /* the worker this thread runs, NULL off them */

lc_worker *lc_worker_current(void) { return tl_worker; }

lc_worker *lc_worker_of(struct lws *wsi)
{
    return wsi ? lws_context_user(lws_get_context(wsi)) : NULL;
}

lc_server *lc_server_of(struct lws *wsi)
{
    lc_worker *w = lc_worker_of(wsi);
    return w ? w->srv : NULL;
}

bool lc_server_stopping(const lc_server *srv)
{
    return atomic_load_explicit(&srv->stop_requested, memory_order_relaxed) > 0;
}

void lc_count(_Atomic uint64_t *c, uint64_t n)
{
    /* One writer (the owning worker): a load and a store, no locked read-modify-write. */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

void lc_server_totals(lc_server *srv, lc_totals *t)
{
    memset(t, 0, sizeof *t);
    for (unsigned i = 0; i < srv->n_workers; i++) {
        lc_worker_counters *n = &srv->workers[i].n;
        t->packets_sent += atomic_load_explicit(&n->packets_sent, memory_order_relaxed);
        t->packets_dropped += atomic_load_explicit(&n->packets_dropped, memory_order_relaxed);
        t->bytes_sent += atomic_load_explicit(&n->bytes_sent, memory_order_relaxed);
    }
}

uint64_t lc_feed_sent(lc_feed *f)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < f->srv->n_workers; i++)
        v += atomic_load_explicit(&f->srv->workers[i].n.feed_sent[f->index],
                                  memory_order_relaxed);
    return v;
}

void lc_worker_wake(lc_worker *w, unsigned what)
{
    if (what)
        atomic_fetch_or_explicit(&w->wake, what, memory_order_release);
    lws_cancel_service(w->ctx);
}

void lc_workers_wake_all(lc_server *srv)
{
    for (unsigned i = 0; i < srv->n_workers; i++)
        if (srv->workers[i].ctx)
            lws_cancel_service(srv->workers[i].ctx);
}

void lc_wake_writable(struct lws *wsi, unsigned what)
{
    lc_worker *w = lc_worker_of(wsi);
    if (w == tl_worker || !tl_worker)
        lws_callback_on_writable(wsi); /* its own (or no worker runs: create/destroy) */
    else
        lc_worker_wake(w, what);
}

/* ---- hand-over of new sockets ------------------------------------------------------------ */

bool lc_worker_handoff(lc_worker *from, struct lws_filter_network_conn_args *a)
{
    lc_server *srv = from->srv;
    lc_worker *best = from;
    for (unsigned i = 0; i < srv->n_workers; i++) {
        lc_worker *w = &srv->workers[i];
        if (w->conns + w->n_inbox < best->conns + best->n_inbox && w->n_inbox < LC_HANDOFF_MAX)
            best = w;
    }
    if (best == from || !from->pending.valid)
        return false; /* keep it: lws adopts it here, as with one thread */
    lc_handoff *h = &best->inbox[best->n_inbox++];
    *h = from->pending;
    h->fd = a->accept_fd;
    from->pending.valid = false;
    /* lws closes filt.accept_fd when the filter refuses (roles/listen/ops-listen.c, 4.1.6): with
     * it invalid, that close is a harmless no-op and the socket is the other worker's. */
    a->accept_fd = LWS_SOCK_INVALID;
    lws_cancel_service(best->ctx);
    return true;
}

void lc_worker_adopt(lc_worker *w)
{
    lc_handoff got[LC_HANDOFF_MAX];
    lc_mutex_lock(w->srv->mu);
    unsigned n = w->n_inbox;
    memcpy(got, w->inbox, n * sizeof got[0]);
    w->n_inbox = 0;
    lc_mutex_unlock(w->srv->mu);
    unsigned type = LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP;
    if (w->srv->cfg.tls_cert)
        type |= LWS_ADOPT_ALLOW_SSL;
    for (unsigned i = 0; i < n; i++) {
        lws_sock_file_fd_type fd = {.sockfd = got[i].fd};
        w->pending = got[i]; /* its WSI_CREATE (clients.c) counts it under its address */
        if (!lws_adopt_descriptor_vhost(w->vh, (lws_adoption_type)type, fd, NULL, NULL))
            lc_log(LC_LOG_WARN, LC_LOG_MOD, "worker %u: could not adopt a new connection "
                   "(out of memory or file descriptors); it was closed", w->index);
        w->pending.valid = false;
    }
}

/* ---- threads ----------------------------------------------------------------------------- */

static lc_thread_fn worker_loop; /* what lc_workers_start runs on each (server.c's loop) */

static void worker_main(void *arg)
{
    lc_worker *w = arg;
    tl_worker = w;
    worker_loop(w);
}

void lc_worker_enter(lc_worker *w) { tl_worker = w; }

int lc_workers_start(lc_server *srv, lc_thread_fn loop)
{
    worker_loop = loop;
    for (unsigned i = 1; i < srv->n_workers; i++) {
        int rc = lc_thread_create(&srv->workers[i].thread, worker_main, &srv->workers[i]);
        if (rc) {
            lc_log(LC_LOG_ERROR, LC_LOG_MOD, "cannot start service thread %u of %u: %s", i + 1,
                   srv->n_workers, lc_strerror(rc));
            return rc;
        }
    }
    return 0;
}

void lc_workers_join(lc_server *srv)
{
    for (unsigned i = 1; i < srv->n_workers; i++) {
        lc_thread_join(srv->workers[i].thread);
        srv->workers[i].thread = NULL;
    }
}

int lc_workers_alloc(lc_server *srv, unsigned n)
{
    srv->workers = calloc(n, sizeof *srv->workers);
    if (!srv->workers)
        return LC_ERR_NOMEM;
    srv->n_workers = n;
    for (unsigned i = 0; i < n; i++) {
        lc_worker *w = &srv->workers[i];
        w->srv = srv;
        w->index = i;
        atomic_init(&w->wake, 0);
        atomic_init(&w->source_changed, 0);
        if (!(w->txbuf = malloc(LWS_PRE + LC_TXBUF)))
            return LC_ERR_NOMEM;
    }
    return 0;
}

void lc_workers_free(lc_server *srv)
{
    for (unsigned i = 0; srv->workers && i < srv->n_workers; i++) {
        lc_worker *w = &srv->workers[i];
        for (unsigned k = 0; k < w->n_inbox; k++) /* handed over, never adopted */
            lc_plat_socket_close((intptr_t)w->inbox[k].fd);
        free(w->txbuf);
    }
    free(srv->workers);
    srv->workers = NULL;
    srv->n_workers = 0;
}
