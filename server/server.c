/*
 * server.c — wiring: the streams (feed.c: capture → encoder tap → ring) → lws; the service loop;
 * signals; shutdown.
 *
 * A capture thread, on each packet, pokes every worker (lws_cancel_service); each worker, woken,
 * asks its audio connections whether they are writeable and each sends what its cursor into its
 * stream's ring has not seen yet (ws_stream.c). --threads N runs N workers (worker.c).
 */
#include "internal.h"
#include "tls.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lc_server_block_signals(void) { lc_plat_stop_init(); }

/* A stop request from the OS (lc_plat_stop_watch: the sigwait thread, or Windows' console
 * handler) becomes a flag the lws loop reads, plus lws_cancel_service(), the one lws call that is
 * safe from another thread. SIGHUP, which would otherwise kill us when a terminal closes or
 * logrotate pokes every process, is logged and ignored: loopcast writes its log to stderr only,
 * and whoever holds that stream (journald, podman, a shell redirect) owns rotation, so there is
 * nothing to reopen. */
static void on_stop_request(void *user, const char *what)
{
    lc_server *srv = user;
    if (!strcmp(what, "SIGHUP")) {
        lc_log(LC_LOG_INFO, LC_LOG_MOD,
               "SIGHUP: ignored (the log goes to stderr; nothing to reopen)");
        return;
    }
    if (atomic_fetch_add(&srv->stop_requested, 1) == 0)
        lc_log(LC_LOG_INFO, LC_LOG_MOD, "%s: shutting down", what);
    else
        lc_log(LC_LOG_WARN, LC_LOG_MOD, "second stop request (%s): closing now", what);
    lc_workers_wake_all(srv);
}

void lc_server_stop(lc_server *srv)
{
    if (atomic_fetch_add(&srv->stop_requested, 1) >= 0)
        lc_workers_wake_all(srv);
}

/* v4 only: the addresses people type into a phone */
static void log_url(void *user, const char *ip, const char *ifname)
{
    const lc_server *srv = user;
    lc_log(LC_LOG_INFO, LC_LOG_MOD, "listener page: %s://%s:%d/  (%s)",
           srv->cfg.tls_cert ? "https" : "http", ip, srv->cfg.port, ifname);
}

static void log_urls(const lc_server *srv)
{
    const char *scheme = srv->cfg.tls_cert ? "https" : "http";
    const char *bound = lc_join_bound_addr(&srv->cfg);
    if (bound) {
        int v6 = strchr(bound, ':') != NULL;
        lc_log(LC_LOG_INFO, LC_LOG_MOD, "listener page: %s://%s%s%s:%d/", scheme, v6 ? "[" : "",
               bound, v6 ? "]" : "", srv->cfg.port);
        return;
    }
    if (lc_plat_ipv4_addrs(log_url, (void *)srv))
        lc_log(LC_LOG_WARN, LC_LOG_MOD, "cannot list this machine's addresses: open "
               "%s://<its address>:%d/", scheme, srv->cfg.port);
}

/* A worker's context. Linux: on its own libev loop (epoll), which lws's libev glue
 * (libwebsockets-evlib-ev, loaded when the context is created) drives: lws's own loop poll()s
 * every socket on every wake, a fifth of the server's CPU per packet at 1,000 listeners
 * (docs/performance.md, "Service threads"). Without the glue the context cannot be made that way
 * and the worker uses lws's poll() loop, and says so. */
static struct lws_context *create_context(lc_worker *w, struct lws_context_creation_info *info)
{
#ifdef LC_HAVE_LIBEV
    w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK); /* signals stay the stop watcher's */
    if (w->loop) {
        void *loops[1] = {w->loop};
        info->foreign_loops = loops;
        info->options |= LWS_SERVER_OPTION_LIBEV;
        struct lws_context *ctx = lws_create_context(info);
        info->foreign_loops = NULL;
        info->options &= ~(uint64_t)LWS_SERVER_OPTION_LIBEV;
        if (ctx)
            return ctx;
        ev_loop_destroy(w->loop);
        w->loop = NULL;
        ctx = lws_create_context(info);
        if (ctx)
            lc_log(LC_LOG_WARN, LC_LOG_MOD, "service thread %u: lws's libev glue is missing "
                   "(package libwebsockets-evlib-ev): serving with poll(), which costs more CPU "
                   "per listener", w->index + 1);
        return ctx;
    }
#else
    (void)w;
#endif
    return lws_create_context(info);
}

static int create_lws(lc_server *srv, char *errbuf, size_t errlen)
{
    struct lws_context_creation_info info;
    const lc_config *cfg = &srv->cfg;

    srv->protocols[LC_PROTO_HTTP] = (struct lws_protocols){
        .name = "http",
        .callback = lc_http_callback,
        .per_session_data_size = lc_http_pss_size(),
        .user = srv,
    };
    srv->protocols[LC_PROTO_STREAM] = (struct lws_protocols){
        .name = LC_STREAM_PROTOCOL,
        .callback = lc_ws_stream_callback,
        .per_session_data_size = lc_ws_pss_size(),
        /* Client messages are small JSON (a ping is ~40 bytes). lws allocates this per
         * connection, so it is most of an idle listener's cost; larger messages (up to the 4 KiB
         * limit) arrive in pieces and are reassembled in a buffer allocated only then. */
        .rx_buffer_size = 512,
        /* Never split an audio packet into several send() calls. */
        .tx_packet_size = LC_TXBUF,
        .user = srv,
    };
    srv->protocols[LC_PROTO_EVENTS] = (struct lws_protocols){
        .name = LC_EVENTS_PROTOCOL,
        .callback = lc_ws_events_callback,
        .per_session_data_size = lc_ws_events_pss_size(),
        .rx_buffer_size = 1024, /* the only client message is auth (~100 bytes) */
        .user = srv,
    };
    /* A WebSocket upgrade that names no subprotocol goes to the vhost's default protocol
     * (lws_process_ws_upgrade, 4.1): make that the audio stream, not "http". */
    srv->pvo_default = (struct lws_protocol_vhost_options){.name = "default", .value = ""};
    srv->pvo_stream = (struct lws_protocol_vhost_options){
        .name = LC_STREAM_PROTOCOL, .options = &srv->pvo_default, .value = ""};

    /* Idle policy: a connection silent for 20 s gets a PING; no valid traffic for 40 s and it
     * is hung up. Browsers answer PINGs on their own, so only dead peers are reaped. */
    srv->retry = (lws_retry_bo_t){.secs_since_valid_ping = 20, .secs_since_valid_hangup = 40};

    /* File descriptors: every listener is one, plus files, the capture device and lws's own.
     * lws 4.1 indexes its fd table directly only when fd_limit_per_thread covers every fd the
     * process may open (RLIMIT_NOFILE); below that it scans the whole table for every poll
     * event (wsi_from_fd), 11 % of the CPU in a 2,000-client reconnect storm. main() has set
     * the soft limit to what --max-listeners needs, so use all of it. */
    srv->fd_limit = cfg->max_listeners + 64u;
    unsigned limit;
    if (lc_plat_fd_limit(0, &limit) == 0 && limit > srv->fd_limit && limit <= LC_FD_LIMIT_MAX)
        srv->fd_limit = limit;
    memset(&info, 0, sizeof info);
    info.port = cfg->port;
    info.iface = cfg->bind;
    info.protocols = srv->protocols;
    info.pvo = &srv->pvo_stream;
    info.retry_and_idle_policy = &srv->retry;
    info.server_string = "loopcast";
    info.keepalive_timeout = 5;
    info.timeout_secs = 10;
    info.fd_limit_per_thread = srv->fd_limit;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8; /* text frames must be UTF-8 (RFC 6455) */
    if (cfg->bind && !strchr(cfg->bind, ':') && strchr(cfg->bind, '.'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6; /* an IPv4 literal binds v4 only */
    else if (!cfg->bind)
        /* Every interface: one IPv6 socket that takes IPv4 too (IPV6_V6ONLY off). Linux's
         * default already; Windows' (and Wine's) is v6 only, which left the IPv4 LAN URLs, the
         * ones phones use and the QR code shows, refusing connections. */
        info.options |= LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY;
    if (cfg->tls_cert) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->tls_cert;
        info.ssl_private_key_filepath = cfg->tls_key;
        /* HTTP/1.1 only: keeps WebSockets on plain RFC 6455 upgrades (no ws-over-h2). */
        info.alpn = "http/1.1";
    }
    /* Worker 0 listens; the others get the same vhost with no port, and only ever sockets that
     * worker 0 hands them (worker.c).
     * With TLS, each context's LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT (without it lws 4.1.6 turns
     * the vhost's TLS off) takes new OpenSSL ex_data indexes, and lws finds a context's TLS
     * *client* context (the system CA store, ~700 KB) through the newest index only: any
     * context created before the last one never frees its client context (ASan, at exit). We
     * never connect out: the others skip the client context (ADOPT_APPLY_LISTEN_ACCEPT_CONFIG
     * makes lws_context_init_client_ssl return; on a vhost with no listener and no
     * listen_accept_role it does nothing else), and worker 0, which needs the plain option for
     * what it accepts, is created last, so its indexes are the current ones. */
    uint64_t options = info.options;
    for (unsigned i = srv->n_workers; i-- > 0;) {
        lc_worker *w = &srv->workers[i];
        info.user = w;
        info.port = i == 0 ? cfg->port : CONTEXT_PORT_NO_LISTEN_SERVER;
        info.options = i == 0 ? options
                              : options | LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG;
        w->ctx = create_context(w, &info);
        if (!w->ctx && i == 0) {
            lc_errf(errbuf, errlen, "cannot listen on %s:%d (address in use, bad TLS files, or "
                    "no permission; see the lws log above)", cfg->bind ? cfg->bind : "*",
                    cfg->port);
            return LC_ERR_IO;
        }
        if (!w->ctx) {
            lc_errf(errbuf, errlen, "--threads %u: cannot create service thread %u's context "
                    "(out of memory?)", srv->n_workers, i + 1);
            return LC_ERR_NOMEM;
        }
        w->vh = lws_get_vhost_by_name(w->ctx, "default");
    }
    srv->ctx = srv->workers[0].ctx;
    if (cfg->redirect_port)
        return lc_tls_redirect_start(srv->ctx, cfg, errbuf, errlen);
    return 0;
}

/* lws log lines go through our logger so --log-format json covers them too. */
static void lws_log_emit(int level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    lc_log(level == LLL_ERR ? LC_LOG_ERROR : level == LLL_WARN ? LC_LOG_WARN : LC_LOG_INFO,
           "lws", "%.*s", (int)n, line);
}

int lc_server_create(lc_server **out, const lc_config *cfg, char *errbuf, size_t errlen)
{
    lc_server *srv;
    int rc;

    *out = NULL;
    srv = calloc(1, sizeof *srv);
    if (!srv)
        return LC_ERR_NOMEM;
    srv->cfg = *cfg;
    srv->start_ns = lc_now_ns();
    (void)lc_plat_hostname(srv->host, sizeof srv->host); /* "" is fine: the page uses its URL's */
    atomic_init(&srv->stop_requested, 0);
    atomic_init(&srv->stop_deadline_ns, 0);

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);

    if (cfg->web_root) {
        char why[256] = "";
        srv->web_root_real = lc_plat_realpath(cfg->web_root, why, sizeof why);
        if (!srv->web_root_real) {
            lc_errf(errbuf, errlen, "--web-root: '%s': %s", cfg->web_root, why);
            rc = LC_ERR_INVALID;
            goto fail;
        }
    }

    /* Before anything opens: a bad certificate is a bad flag (exit 2), said in one line. */
    if (cfg->tls_cert) {
        rc = lc_tls_check_files(cfg->tls_cert, cfg->tls_key, errbuf, errlen);
        if (rc)
            goto fail;
    }

    rc = lc_feeds_create(srv, errbuf, errlen); /* every stream's capture, encoder, ring */
    if (rc)
        goto fail;
    rc = lc_opus_silence_packet(lc_opus_get_config(srv->feeds[0].enc), srv->silence,
                                sizeof srv->silence, &srv->silence_len, errbuf, errlen);
    if (rc)
        goto fail;
    /* Kernel send buffer per listener: about half the lag budget of audio (Linux doubles the
     * value), so a slow reader's latency is bounded there too, not only in our ring. */
    uint64_t sb = (uint64_t)cfg->bitrate / 8u * cfg->max_lag_ms / 2000u;
    srv->sndbuf = (int)(sb < 4096 ? 4096 : sb > (1u << 20) ? (1u << 20) : sb);

    /* --threads: one service thread per CPU we may use unless told (at most 64). Windows: one
     * unless told. A socket accepted by worker 0 inherits the listening socket's WSAEventSelect
     * and is re-registered on the adopting worker's event; under Wine some of them, handed over
     * while their request was already arriving, never signalled again (500 listeners at once:
     * 341 connected, one suite run in three), and real Windows is not tested here. */
#ifdef _WIN32
    unsigned threads = cfg->threads ? cfg->threads : 1;
#else
    unsigned threads = cfg->threads ? cfg->threads : lc_plat_cpu_count();
#endif
    rc = lc_mutex_create(&srv->mu, LC_MUTEX_RECURSIVE);
    if (!rc)
        rc = lc_workers_alloc(srv, threads > LC_CONFIG_MAX_THREADS ? LC_CONFIG_MAX_THREADS
                                                                   : threads);
    if (rc)
        goto fail;
    rc = lc_clients_create(srv); /* per-address connection counts (clients.c) */
    if (rc)
        goto fail;
    /* Sessions (state dir, token, store) before the socket: no connection may come first. */
    rc = lc_server_sessions_create(srv, errbuf, errlen);
    if (rc)
        goto fail;
    rc = create_lws(srv, errbuf, errlen);
    if (rc)
        goto fail;
    *out = srv;
    return 0;
fail:
    lc_server_destroy(srv);
    return rc;
}

static void shutdown_tick(lws_sorted_usec_list_t *sul)
{
    /* Only here to make lws_service() return at least every 50 ms while closing. */
    lc_worker *w = lws_container_of(sul, lc_worker, tick);
    lws_sul_schedule(w->ctx, 0, &w->tick, shutdown_tick, 50 * LWS_US_PER_MS);
}

/* Phones on the LAN find the page by name (mdns.h). Logs what it does, or why not; never fatal. */
static void start_mdns(lc_server *srv)
{
    const lc_config *cfg = &srv->cfg;
    if (!cfg->mdns) {
        lc_log(LC_LOG_INFO, LC_LOG_MOD, "mDNS: off (--mdns off / LOOPCAST_MDNS=off); not advertising");
        return;
    }
    lc_mdns_params p = {.host = srv->host, .version = LC_VERSION, .bind = cfg->bind,
                        .port = cfg->port, .tls = cfg->tls_cert != NULL,
                        .redirect_port = cfg->redirect_port};
    (void)lc_mdns_start(&srv->mdns, &p);
}

/* What stops once, on worker 0, before its connections close. */
static void begin_server_shutdown(lc_server *srv)
{
    /* The mDNS announcement goes before anything closes: a phone must not pick a server that is
     * going away. */
    lc_mdns_stop(srv->mdns);
    srv->mdns = NULL;
    lws_sul_cancel(&srv->source_poll);
    /* Then capture: no packet may arrive into a context that is about to go away. */
    lc_feeds_stop(srv);
    lc_mutex_lock(srv->mu);
    lc_log(LC_LOG_INFO, LC_LOG_MOD, "closing %u listener connection(s)", srv->listeners);
    lc_mutex_unlock(srv->mu);
}

static void begin_shutdown(lc_worker *w)
{
    lc_server *srv = w->srv;
    w->stopping = true;
    uint64_t none = 0; /* the first worker here sets everyone's deadline */
    atomic_compare_exchange_strong(&srv->stop_deadline_ns, &none, lc_now_ns() + 1200u * 1000000u);
    if (w->index == 0)
        begin_server_shutdown(srv);
    /* Each audio socket, when writeable, sends close 1001 (ws_close.c checks the stop). */
    lws_callback_on_writable_all_protocol(w->ctx, &srv->protocols[LC_PROTO_STREAM]);
    lws_callback_on_writable_all_protocol(w->ctx, &srv->protocols[LC_PROTO_EVENTS]);
    lc_ogg_http_wake(w); /* each /stream.ogg response ends (ogg_http.c checks the stop) */
    shutdown_tick(&w->tick);
}

/* Waits for and handles one round of events on worker `w`'s context. */
static int service_once(lc_worker *w)
{
#ifdef LC_HAVE_LIBEV
    if (w->loop) {
        ev_run(w->loop, EVRUN_ONCE); /* lws's watchers and timers run inside */
        return 0;
    }
#endif
    return lws_service(w->ctx, 0);
}

/* One worker's service loop, until a stop request and its connections are closed (or the
 * deadline passes, or a second request comes). */
static void worker_loop(void *arg)
{
    lc_worker *w = arg;
    lc_server *srv = w->srv;
    for (;;) {
        if (service_once(w) < 0)
            break;
        int req = atomic_load(&srv->stop_requested);
        if (req > 0 && !w->stopping)
            begin_shutdown(w);
        if (!w->stopping)
            continue;
        lc_mutex_lock(srv->mu);
        bool idle = w->listeners == 0 && w->ev_open == 0;
        unsigned left = w->listeners;
        lc_mutex_unlock(srv->mu);
        if (idle || req > 1 || lc_now_ns() > atomic_load(&srv->stop_deadline_ns)) {
            if (left)
                lc_log(LC_LOG_WARN, LC_LOG_MOD, "%u listener(s) did not close in time; "
                       "dropping them", left);
            break;
        }
    }
    lws_sul_cancel(&w->tick);
}

int lc_server_run(lc_server *srv)
{
    int rc;
    /* This thread becomes worker 0: the one that listens (worker.c). */
    lc_worker_enter(&srv->workers[0]);
    if (lc_plat_stop_watch(on_stop_request, srv) == 0)
        srv->stop_watch_started = true;
    else
        lc_log(LC_LOG_WARN, LC_LOG_MOD, "no stop watcher: SIGTERM will not shut down cleanly");

    rc = lc_feeds_start(srv); /* every stream's capture thread (feed.c) */
    if (rc)
        return rc;
    rc = lc_outputs_start(srv); /* the Icecast pushers, each on its own thread (outputs.c) */
    if (rc)
        return rc;

    const lc_opus_config *oc = lc_opus_get_config(srv->feeds[0].enc);
    lc_log(LC_LOG_INFO, LC_LOG_MOD, "loopcast %s serving on %s:%d (%s) — pages %s, audio "
           "WebSocket /stream (%s)", LC_VERSION, srv->cfg.bind ? srv->cfg.bind : "*",
           srv->cfg.port, srv->cfg.tls_cert ? "HTTPS/WSS" : "HTTP/WS",
           srv->web_root_real ? srv->web_root_real : "built in", LC_STREAM_PROTOCOL);
    log_urls(srv);
    lc_join_print(srv); /* the first LAN URL's QR code, right under the URLs (join.c) */
    /* a service gets no firewall prompt: --service install added the rule instead */
    if (srv->cfg.service != LC_SERVICE_RUN && *lc_plat_text(LC_TEXT_FIREWALL))
        lc_log(LC_LOG_INFO, LC_LOG_MOD, "%s", lc_plat_text(LC_TEXT_FIREWALL));
    if (srv->cfg.redirect_port)
        lc_log(LC_LOG_INFO, LC_LOG_MOD, "redirect: plain HTTP on %s:%d answers 308 to https://"
               "<Host>:%d<path>", srv->cfg.bind ? srv->cfg.bind : "*", srv->cfg.redirect_port,
               srv->cfg.port);
    start_mdns(srv);
    lc_fanout_start_source_poll(srv);
    lc_log(LC_LOG_INFO, LC_LOG_MOD,
           "codec: Opus %u ch, 48000 Hz, %.1f ms frames, %d bit/s, complexity %d; max lag %u ms "
           "(%u packets, ring of %u)", oc->channels, oc->frame_us / 1000.0, oc->bitrate,
           oc->complexity, srv->cfg.max_lag_ms, srv->max_lag_packets,
           lc_stream_get_config(srv->feeds[0].ring)->slots);

    lc_log(LC_LOG_INFO, LC_LOG_MOD, "service threads: %u (--threads)", srv->n_workers);

    if (lc_workers_start(srv, worker_loop))
        lc_server_stop(srv); /* the ones that started end with worker 0 */
    worker_loop(&srv->workers[0]);
    lc_workers_join(srv);
    lc_outputs_stop(srv); /* no API reader is left to see a pusher go */
    lc_totals t;
    lc_server_totals(srv, &t);
    lc_log(LC_LOG_INFO, LC_LOG_MOD, "stopped: %llu packets sent, %llu dropped",
           (unsigned long long)t.packets_sent, (unsigned long long)t.packets_dropped);
    /* Every acknowledged change on disk before we report success (SIGTERM → exit 0). The
     * listeners still open are detached by lws_context_destroy; lc_sessions_destroy writes
     * their last_seen too. */
    if (srv->state_dir) {
        rc = lc_sessions_flush(srv->sessions);
        if (rc)
            lc_log(LC_LOG_ERROR, LC_LOG_MOD, "session store: final write failed: %s",
                   lc_strerror(rc));
        else
            lc_log(LC_LOG_INFO, LC_LOG_MOD, "session store flushed (%zu sessions)",
                   lc_sessions_count(srv->sessions));
    }
    return 0;
}

/* After lc_server_run: every acknowledged change is on disk (run flushed the store), so a
 * Windows close/logoff/shutdown handler waiting for this may now let the process end. */
static void stop_watch_end(lc_server *srv)
{
    if (!srv->stop_watch_started)
        return;
    lc_plat_stop_done();
    srv->stop_watch_started = false;
}

void lc_server_destroy(lc_server *srv)
{
    if (!srv)
        return;
    /* Order: capture (the only caller of on_packet → lws_cancel_service) and the stop watcher
     * end before the context goes; the encoder and ring outlive the capture thread. */
    lc_feeds_stop(srv);
    stop_watch_end(srv);
    lc_mdns_stop(srv->mdns);
    srv->mdns = NULL;
    /* Closing connections detaches their sessions; nobody is left to hear about it. */
    if (srv->mu) {
        lc_mutex_lock(srv->mu);
        srv->tearing_down = true;
        lc_mutex_unlock(srv->mu);
    }
    /* The worker threads have ended (lc_server_run joined them): this thread may destroy their
     * contexts. */
    for (unsigned i = 0; srv->workers && i < srv->n_workers; i++) {
        if (srv->workers[i].ctx)
            lws_context_destroy(srv->workers[i].ctx);
        srv->workers[i].ctx = NULL;
#ifdef LC_HAVE_LIBEV
        if (srv->workers[i].loop)
            ev_loop_destroy(srv->workers[i].loop);
        srv->workers[i].loop = NULL;
#endif
    }
    srv->ctx = NULL;
    lc_clients_destroy(srv); /* after the context: its connections' WSI_DESTROY use it */
    lc_api_destroy(srv->api);
    lc_sessions_destroy(srv->sessions); /* flushes, then stops the writer thread */
    lc_plat_unlock(srv->state_lock);
    free(srv->state_dir);
    lc_outputs_stop(srv); /* before the rings they read (a run that failed half-way) */
    lc_feeds_destroy(srv);
    lc_workers_free(srv);
    lc_mutex_destroy(srv->mu);
    free(srv->web_root_real);
    free(srv);
}
