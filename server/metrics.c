/*
 * metrics.c — /metrics (Prometheus text format 0.0.4) and the /readyz decision.
 *
 * Runs on the lws thread. Values owned by the lws thread are read directly; the capture and
 * encoder figures come through their own thread-safe getters (lc_capture_get_stats,
 * lc_opus_get_stats: relaxed atomics inside); the ring's head is an atomic.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READY_WINDOW_NS (2000u * 1000000ull)

int lc_server_ready(lc_server *srv, char *reason, size_t reason_len)
{
    lc_capture_state st = lc_capture_get_state(srv->cap);
    if (srv->stopping) {
        lc_errf(reason, reason_len, "shutting down");
        return 0;
    }
    if (st != LC_CAPTURE_RUNNING) {
        lc_capture_stats cs;
        lc_capture_get_stats(srv->cap, &cs);
        lc_errf(reason, reason_len, "capture is %s%s%s", lc_capture_state_name(st),
                cs.last_error[0] ? ": " : "", cs.last_error);
        return 0;
    }
    uint64_t last = atomic_load_explicit(&srv->last_packet_ns, memory_order_relaxed);
    uint64_t now = lc_now_ns();
    if (!last) {
        lc_errf(reason, reason_len, "no packet encoded yet");
        return 0;
    }
    if (now - last > READY_WINDOW_NS) {
        lc_errf(reason, reason_len, "no packet encoded for %.1f s", (double)(now - last) / 1e9);
        return 0;
    }
    lc_errf(reason, reason_len, "capture running, packets flowing");
    return 1;
}

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) LC_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (int pass = 0; pass < 2 && !b->oom; pass++) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = (b->cap + (size_t)n) * 2;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

static void metric(sbuf *b, const char *name, const char *type, const char *help, double v)
{
    /* Whole numbers (every counter) print as integers, others with 9 significant digits. */
    if (v == (double)(int64_t)v && v < 9e15 && v > -9e15)
        sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help, name, type, name,
                  (long long)v);
    else
        sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.9g\n", name, help, name, type, name, v);
}

char *lc_metrics_render(lc_server *srv, size_t *len)
{
    sbuf b = {malloc(4096), 0, 4096, 0};
    if (!b.p)
        return NULL;
    lc_capture_stats cs;
    lc_opus_stats os;
    lc_capture_get_stats(srv->cap, &cs);
    lc_opus_get_stats(srv->enc, &os);
    char reason[8];

    metric(&b, "loopcast_listeners", "gauge", "Audio WebSocket connections open now.",
           srv->listeners);
    metric(&b, "loopcast_packets_encoded_total", "counter", "Opus packets encoded.",
           (double)os.packets);
    metric(&b, "loopcast_packets_sent_total", "counter",
           "Audio packets written to listeners (all listeners together).",
           (double)srv->packets_sent);
    metric(&b, "loopcast_packets_dropped_total", "counter",
           "Audio packets skipped for listeners that fell too far behind.",
           (double)srv->packets_dropped);
    metric(&b, "loopcast_bytes_sent_total", "counter",
           "Audio message bytes (header + Opus) written to listeners.", (double)srv->bytes_sent);
    metric(&b, "loopcast_capture_xruns_total", "counter", "Capture overruns recovered.",
           (double)cs.xruns);
    metric(&b, "loopcast_capture_reopens_total", "counter",
           "Times the capture source was lost and opened again.", (double)cs.reopens);
    metric(&b, "loopcast_capture_frames_total", "counter", "Frames delivered by the source.",
           (double)cs.frames);
    metric(&b, "loopcast_encode_seconds_total", "counter", "Time spent in opus_encode_float.",
           (double)os.encode_ns_total / 1e9);
    metric(&b, "loopcast_encode_errors_total", "counter", "Encoder or resampler errors.",
           (double)os.errors);
    metric(&b, "loopcast_ws_accepted_total", "counter", "Audio WebSockets accepted.",
           (double)srv->ws_accepted);
    metric(&b, "loopcast_ws_refused_total", "counter",
           "Audio WebSockets refused with 1013 (listener or session limit).",
           (double)srv->ws_refused);
    lc_sessions_stats ss;
    lc_sessions_get_stats(srv->sessions, &ss);
    metric(&b, "loopcast_sessions", "gauge", "Sessions in the table (connected or not).",
           (double)lc_sessions_count(srv->sessions));
    metric(&b, "loopcast_store_writes_total", "counter", "Successful writes of sessions.json.",
           (double)ss.writes);
    metric(&b, "loopcast_store_write_failures_total", "counter",
           "Failed writes of sessions.json (see /api/v1/status store.error).",
           (double)ss.write_failures);
    metric(&b, "loopcast_store_ok", "gauge",
           "0 while the last write of sessions.json failed (it is retried every second), else 1.",
           ss.last_error[0] ? 0.0 : 1.0);
    sb_printf(&b, "# HELP loopcast_api_requests_total REST API answers by HTTP status.\n"
                  "# TYPE loopcast_api_requests_total counter\n");
    for (int i = 0; i < LC_API_CODES && srv->api_code[i]; i++)
        sb_printf(&b, "loopcast_api_requests_total{code=\"%d\"} %llu\n", srv->api_code[i],
                  (unsigned long long)srv->api_count[i]);
    metric(&b, "loopcast_api_auth_failures_total", "counter",
           "Wrong API tokens (REST and events socket).", (double)srv->api_auth_failures);
    /* Every reason is printed, zeros too, so a dashboard's rate() sees a series from the start. */
    sb_printf(&b, "# HELP loopcast_refused_total Requests, connections and messages refused by a "
                  "limit, the Origin check or the API token, by reason.\n"
                  "# TYPE loopcast_refused_total counter\n");
    for (int i = 0; i < LC_REFUSED_COUNT_; i++)
        sb_printf(&b, "loopcast_refused_total{reason=\"%s\"} %llu\n",
                  lc_refusal_name((lc_refusal)i), (unsigned long long)srv->refused[i]);
    metric(&b, "loopcast_client_addresses", "gauge",
           "Distinct client addresses with a connection open now (--max-conns-per-ip).",
           (double)lc_iptab_addresses(srv->conns_per_ip));
    metric(&b, "loopcast_connections", "gauge",
           "Open connections (HTTP and WebSocket) counted per client address.",
           (double)lc_connmap_count(srv->conns));
    metric(&b, "loopcast_events_clients", "gauge", "Authenticated events WebSockets open now.",
           srv->events_clients);
    metric(&b, "loopcast_ready", "gauge", "1 when /readyz answers 200.",
           lc_server_ready(srv, reason, sizeof reason));
    metric(&b, "loopcast_uptime_seconds", "gauge", "Seconds since start.",
           (double)(lc_now_ns() - srv->start_ns) / 1e9);
    sb_printf(&b, "# HELP loopcast_build_info Build and configuration.\n"
                  "# TYPE loopcast_build_info gauge\n"
                  "loopcast_build_info{version=\"%s\",protocol=\"%d\",lws=\"%s\"} 1\n",
              LC_VERSION, LC_PROTOCOL_VERSION, lws_get_library_version());
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
