/*
 * metrics.c — /metrics (Prometheus text format 0.0.4) and the /readyz decision.
 *
 * Runs on a worker under srv->mu. Values under mu are read directly; the workers' packet counters
 * are summed (lc_server_totals: relaxed atomics); the capture and encoder figures come through
 * their own thread-safe getters (lc_capture_get_stats, lc_opus_get_stats: relaxed atomics
 * inside); the ring's head is an atomic.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lc_server_ready(lc_server *srv, char *reason, size_t reason_len)
{
    if (lc_server_stopping(srv)) {
        lc_errf(reason, reason_len, "shutting down");
        return 0;
    }
    return lc_feed_ready(&srv->feeds[0], reason, reason_len);
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

/* Per stream, labelled {stream="NAME"} (names are [A-Za-z0-9_.-]: no escaping needed). */
static void stream_metrics(sbuf *b, lc_server *srv)
{
    static const struct {
        const char *name, *type, *help;
    } m[] = {
        {"loopcast_stream_up", "gauge",
         "1 while the stream's capture runs and packets flow (what /readyz lists), else 0."},
        {"loopcast_stream_listeners", "gauge", "Audio connections listening to the stream now."},
        {"loopcast_stream_packets_encoded_total", "counter", "Opus packets encoded."},
        {"loopcast_stream_packets_sent_total", "counter", "Packets written to its listeners."},
        {"loopcast_stream_capture_xruns_total", "counter", "Capture overruns recovered."},
        {"loopcast_stream_capture_reopens_total", "counter",
         "Times the source was lost and opened again."},
    };
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
        sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", m[k].name, m[k].help, m[k].name, m[k].type);
        for (unsigned i = 0; i < srv->n_feeds; i++) {
            lc_feed *f = &srv->feeds[i];
            lc_capture_stats cs;
            lc_opus_stats os;
            char reason[8];
            lc_capture_get_stats(f->cap, &cs);
            lc_opus_get_stats(f->enc, &os);
            uint64_t v[] = {(uint64_t)lc_feed_ready(f, reason, sizeof reason), f->listeners,
                            os.packets, lc_feed_sent(f), cs.xruns, cs.reopens};
            sb_printf(b, "%s{stream=\"%s\"} %llu\n", m[k].name, f->def->name,
                      (unsigned long long)v[k]);
        }
    }
}

/* A label value as Prometheus reads it: '\\' and '"' escaped (a URL has no control bytes). */
static void sb_label(sbuf *b, const char *v)
{
    for (; *v; v++)
        sb_printf(b, "%s%c", *v == '\\' || *v == '"' ? "\\" : "", *v);
}

typedef struct metric_def {
    const char *name, *type, *help;
} metric_def;

/* Target i of an output kind: its label values and one value per metric. */
typedef void (*target_fn)(lc_server *srv, size_t i, const char **target, const char **stream,
                          uint64_t *v);

/* Per output target (--icecast, --rtp), labelled {target="URL without password",stream="NAME"}. */
static void target_metrics(sbuf *b, lc_server *srv, const metric_def *m, size_t nm, size_t n,
                           target_fn fn)
{
    for (size_t k = 0; n && k < nm; k++) {
        sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", m[k].name, m[k].help, m[k].name, m[k].type);
        for (size_t i = 0; i < n; i++) {
            const char *target, *stream;
            uint64_t v[8];
            fn(srv, i, &target, &stream, v);
            sb_printf(b, "%s{target=\"", m[k].name);
            sb_label(b, target);
            sb_printf(b, "\",stream=\"%s\"} %llu\n", stream, (unsigned long long)v[k]);
        }
    }
}

static void icecast_values(lc_server *srv, size_t i, const char **target, const char **stream,
                           uint64_t *v)
{
    lc_icecast_status st;
    lc_icecast_status_get(srv->icecast[i], &st);
    *target = srv->cfg.icecast[i].url.shown;
    *stream = srv->cfg.icecast[i].stream;
    uint64_t x[] = {st.state == LC_ICECAST_LIVE, st.connects, st.failures, st.packets_sent,
                    st.bytes_sent};
    memcpy(v, x, sizeof x);
}

static const metric_def icecast_m[] = {
    {"loopcast_icecast_up", "gauge", "1 while the Icecast server takes the stream, else 0."},
    {"loopcast_icecast_connects_total", "counter", "Times the Icecast server took the stream."},
    {"loopcast_icecast_failures_total", "counter",
     "Failed connects or logins, and links that dropped (each is retried)."},
    {"loopcast_icecast_packets_sent_total", "counter", "Opus packets sent to the server."},
    {"loopcast_icecast_bytes_sent_total", "counter", "Ogg bytes sent to the server."},
};

static void rtp_values(lc_server *srv, size_t i, const char **target, const char **stream,
                       uint64_t *v)
{
    lc_rtp_status st;
    lc_rtp_status_get(srv->rtp[i], &st);
    *target = srv->cfg.rtp[i].url.shown;
    *stream = srv->cfg.rtp[i].stream;
    uint64_t x[] = {st.sending, st.packets_sent, st.bytes_sent, st.send_errors, st.reports_sent};
    memcpy(v, x, sizeof x);
}

static const metric_def rtp_m[] = {
    {"loopcast_rtp_up", "gauge", "1 while datagrams to the RTP target go out, else 0."},
    {"loopcast_rtp_packets_sent_total", "counter", "RTP packets sent."},
    {"loopcast_rtp_bytes_sent_total", "counter", "RTP bytes sent (headers included)."},
    {"loopcast_rtp_send_errors_total", "counter",
     "Datagrams not sent: a full socket buffer, or the target refusing (port unreachable)."},
    {"loopcast_rtp_reports_sent_total", "counter", "RTCP sender reports sent."},
};

char *lc_metrics_render(lc_server *srv, size_t *len)
{
    sbuf b = {malloc(4096), 0, 4096, 0};
    if (!b.p)
        return NULL;
    /* The unlabelled capture and encoder totals add every stream up; the loopcast_stream_*
     * series below give each stream's own. */
    lc_capture_stats cs, one;
    lc_opus_stats os, eo;
    memset(&cs, 0, sizeof cs);
    memset(&os, 0, sizeof os);
    for (unsigned i = 0; i < srv->n_feeds; i++) {
        lc_capture_get_stats(srv->feeds[i].cap, &one);
        lc_opus_get_stats(srv->feeds[i].enc, &eo);
        cs.xruns += one.xruns;
        cs.reopens += one.reopens;
        cs.frames += one.frames;
        os.packets += eo.packets;
        os.encode_ns_total += eo.encode_ns_total;
        os.errors += eo.errors;
    }
    char reason[8];
    lc_totals t;
    lc_server_totals(srv, &t);

    metric(&b, "loopcast_listeners", "gauge",
           "Audio WebSocket and /stream.ogg connections open now.", srv->listeners);
    metric(&b, "loopcast_threads", "gauge", "Service threads (--threads).", srv->n_workers);
    sb_printf(&b, "# HELP loopcast_thread_listeners Listeners each service thread serves now.\n"
              "# TYPE loopcast_thread_listeners gauge\n");
    for (unsigned i = 0; i < srv->n_workers; i++)
        sb_printf(&b, "loopcast_thread_listeners{thread=\"%u\"} %u\n", i,
                  srv->workers[i].listeners);
    metric(&b, "loopcast_packets_encoded_total", "counter", "Opus packets encoded.",
           (double)os.packets);
    metric(&b, "loopcast_packets_sent_total", "counter",
           "Audio packets written to listeners (all listeners together).",
           (double)t.packets_sent);
    metric(&b, "loopcast_packets_dropped_total", "counter",
           "Audio packets skipped for listeners that fell too far behind.",
           (double)t.packets_dropped);
    metric(&b, "loopcast_bytes_sent_total", "counter",
           "Audio message bytes (header + Opus) written to listeners.", (double)t.bytes_sent);
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
    stream_metrics(&b, srv);
    target_metrics(&b, srv, icecast_m, sizeof icecast_m / sizeof icecast_m[0], srv->cfg.n_icecast,
                   icecast_values);
    target_metrics(&b, srv, rtp_m, sizeof rtp_m / sizeof rtp_m[0], srv->cfg.n_rtp, rtp_values);
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
