/*
 * listeners.c — `loopcast-bench listeners`: N real WebSocket listeners against a running
 * loopcast, speaking docs/protocol.md, all on one lws client context (one thread, so the
 * generator's own cost stays small next to the server's on a 2-core machine).
 *
 * What it measures, over a window that starts once every listener is connected:
 *   - packets delivered per listener, sequence gaps and discontinuity flags (= drops),
 *   - per-packet delay from "the packet's last sample was captured" (capture_ns + one frame,
 *     server CLOCK_MONOTONIC, the same clock as ours on the same host) to arrival: p50/p99/max,
 *   - the longest gap between two packets any listener saw,
 *   - the server's CPU share and RSS (with --server-pid), RSS per listener.
 * With --decode K the first K listeners decode with libopus and report the dominant frequency.
 * With --stalled K the last K listeners stop reading after the hello (a stuck client); their
 * receive buffer is shrunk first, so the backlog reaches the server within a second or two
 * instead of after the ~8 s it takes audio to fill the default 128 KiB.
 *
 * Storms: every listener records its time to hello and to first audio packet, counted from its
 * connect (p50/p99/max printed; --max-first-ms checks the worst). --waves N repeats the whole
 * run: at the end of a wave's window every listener closes (1001, as a reloading page does),
 * and once all are closed "WAVE k CLOSED" is printed; the next wave connects all at once after
 * --wave-gate FILE appears (the test samples the server in between) or straight away. With
 * --reuse-sessions each listener comes back with the session id its hello gave it, as a
 * reloading page does, so the server's session table is the same size in every wave.
 *
 * Sessions (docs/protocol.md): --session GUID joins that session (?session=), --no-persist asks
 * for ?persist=0, --print-text prints every text message (the hello first) as
 * "TEXT <ms since start> <json>" and a server close as "CLOSE <code> <reason>", --send TEXT sends
 * one text message (e.g. a `set`) after the hello on every connection.
 *
 * Checks (--expect-hz, --max-gap-ms, --no-drops, --rate-tolerance) turn it into a pass/fail test
 * client for tests/integration: exit 0 when every check holds, 1 when one fails (each failure
 * printed), 2 on bad arguments.
 */
#include <errno.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <math.h>
#include <opus.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "lc_dsp.h"

#define HDR_LEN 24u
#define HIST_BUCKET_US 10u
#define HIST_BUCKETS 100000u /* 10 µs buckets up to 1 s; beyond goes to the overflow count */
#define PCM_KEEP (48000u * 2u) /* 2 s of decoded mono kept for the frequency check */

typedef enum { C_IDLE, C_CONNECTING, C_OPEN, C_CLOSED, C_FAILED } conn_state;

typedef struct conn {
    struct lws *wsi;
    conn_state state;
    bool stalled, decode, got_hello, have_seq, send_pending, closing;
    uint64_t t_connect_ns, t_hello_ns, t_first_ns; /* 0 = not yet */
    uint32_t last_seq;
    uint64_t last_arrival_ns, max_gap_ns;
    uint64_t packets, bytes, missing, discont, bad;
    uint8_t *rx; /* reassembly of fragmented messages; NULL until one arrives */
    size_t rx_len;
    OpusDecoder *dec;
    float *pcm; /* mono ring of the last PCM_KEEP decoded samples */
    size_t pcm_pos, pcm_total;
} conn;

typedef struct bench {
    const char *host, *path;
    int port;
    unsigned n, stalled, decode, rate;
    double seconds, warmup;
    int server_pid;
    double expect_hz, max_gap_ms, rate_tol;
    bool no_drops, quiet;
    const char *session, *send_text;
    bool no_persist, print_text;
    unsigned waves;
    double max_first_ms;
    const char *wave_gate;
    bool reuse_sessions;
    char (*sids)[40];  /* per listener: session id from its last hello ("" = none) */
    char (*paths)[320];/* per listener: the request path (lws keeps a pointer until connected) */
    char origin[300];
    char host_hdr[300]; /* Host: host:port, as a browser sends it (the Origin check compares) */
    char path_buf[256];

    struct lws_context *ctx;
    conn *conns;
    unsigned started, open, failed, closed_early;
    uint64_t t_start_ns, t_all_open_ns, t_measure_ns, t_end_ns;
    bool measuring, done;
    unsigned wave;                /* 1-based */
    bool closing, gated;          /* between waves: closing all, then waiting for the gate */
    uint64_t t_closing_ns, t_gate_ns;
    unsigned total_failed, total_closed_early, total_late; /* over all waves */
    double worst_first_ms;
    uint32_t frame_samples, channels;
    uint64_t *hist;
    uint64_t hist_over, hist_n, delay_max_ns, negative;
    lws_sorted_usec_list_t sul;
    /* server figures */
    long rss_before_kb, rss_open_kb, rss_end_kb;
    double cpu_ticks0, cpu_ticks1;
    double self_ticks0, self_ticks1; /* this process: the load generator's own CPU */
} bench;

static bench B;
static volatile sig_atomic_t interrupted;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rd_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* /proc/PID/status VmRSS in kB, or -1. */
static long proc_rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* utime + stime of PID in clock ticks, or -1. */
static double proc_cpu_ticks(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may contain spaces */
    if (!p)
        return -1;
    unsigned long ut = 0, st = 0;
    /* fields after ")": state(3) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)ut + (double)st;
}

static void on_hello(conn *c, const char *txt, size_t len)
{
    char buf[2048];
    size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
    memcpy(buf, txt, n);
    buf[n] = 0;
    if (B.print_text) {
        printf("TEXT %.1f %s\n", (double)(now_ns() - B.t_start_ns) / 1e6, buf);
        fflush(stdout);
    }
    if (!strstr(buf, "\"type\":\"hello\""))
        return; /* time replies etc. */
    if (!c->t_hello_ns)
        c->t_hello_ns = now_ns();
    const char *sid = strstr(buf, "\"session\":{\"id\":\"");
    if (sid && B.sids) {
        sid += strlen("\"session\":{\"id\":\"");
        size_t k = strcspn(sid, "\"");
        if (k < sizeof B.sids[0])
            snprintf(B.sids[c - B.conns], sizeof B.sids[0], "%.*s", (int)k, sid);
    }
    if (B.send_text && !c->got_hello) {
        c->send_pending = true;
        lws_callback_on_writable(c->wsi);
    }
    const char *fs = strstr(buf, "\"frame_samples\":");
    const char *ch = strstr(buf, "\"channels\":");
    if (fs)
        B.frame_samples = (uint32_t)strtoul(fs + 16, NULL, 10);
    if (ch)
        B.channels = (uint32_t)strtoul(ch + 11, NULL, 10);
    c->got_hello = true;
    if (c->decode && !c->dec) {
        int err = 0;
        c->dec = opus_decoder_create(48000, B.channels == 1 ? 1 : 2, &err);
        c->pcm = calloc(PCM_KEEP, sizeof(float));
        if (!c->dec || !c->pcm)
            c->bad++;
    }
    if (c->stalled) {
        /* stop reading: TCP backs up into the server, sooner with a small receive window */
        int fd = lws_get_socket_fd(c->wsi), small = 4096;
        if (fd >= 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        lws_rx_flow_control(c->wsi, 0);
    }
}

static void decode_packet(conn *c, const uint8_t *op, size_t len)
{
    float out[5760 * 2];
    int ch = B.channels == 1 ? 1 : 2;
    int got = opus_decode_float(c->dec, op, (opus_int32)len, out, 5760, 0);
    if (got < 0) {
        c->bad++;
        return;
    }
    for (int i = 0; i < got; i++) {
        float m = ch == 2 ? 0.5f * (out[2 * i] + out[2 * i + 1]) : out[i];
        c->pcm[c->pcm_pos] = m;
        c->pcm_pos = (c->pcm_pos + 1) % PCM_KEEP;
        c->pcm_total++;
    }
}

static void on_audio(conn *c, const uint8_t *m, size_t len, uint64_t t)
{
    if (len < 4 || m[0] != 1) {
        c->bad++;
        return;
    }
    size_t hl = (size_t)m[2] | (size_t)m[3] << 8;
    if (hl < HDR_LEN || hl > len) {
        c->bad++;
        return;
    }
    uint32_t seq = rd_u32(m + 4);
    uint64_t cap_ns = rd_u64(m + 16);
    bool disc = m[1] & 1;
    if (!c->t_first_ns)
        c->t_first_ns = t;

    if (c->decode && c->dec)
        decode_packet(c, m + hl, len - hl);
    if (!B.measuring) {
        c->have_seq = true;
        c->last_seq = seq;
        c->last_arrival_ns = t;
        return;
    }
    if (c->have_seq) {
        uint32_t d = seq - c->last_seq;
        if (d != 1)
            c->missing += d - 1u; /* wraps correctly in u32 */
        uint64_t gap = t - c->last_arrival_ns;
        if (gap > c->max_gap_ns)
            c->max_gap_ns = gap;
    }
    if (disc)
        c->discont++;
    c->have_seq = true;
    c->last_seq = seq;
    c->last_arrival_ns = t;
    c->packets++;
    c->bytes += len;

    uint64_t ready = cap_ns + (uint64_t)B.frame_samples * 1000000000u / 48000u;
    uint64_t delay = 0;
    if (t >= ready)
        delay = t - ready;
    else
        B.negative++;
    uint64_t b = delay / 1000u / HIST_BUCKET_US;
    if (b < HIST_BUCKETS)
        B.hist[b]++;
    else
        B.hist_over++;
    B.hist_n++;
    if (delay > B.delay_max_ns)
        B.delay_max_ns = delay;
}

static void on_message(conn *c, const uint8_t *m, size_t len, bool binary)
{
    if (binary)
        on_audio(c, m, len, now_ns());
    else
        on_hello(c, (const char *)m, len);
}

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        c->state = C_OPEN;
        B.open++;
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        bool binary = lws_frame_is_binary(wsi) != 0;
        bool final = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
        if (!c->rx_len && final) {
            on_message(c, in, len, binary);
            break;
        }
        if (!c->rx && !(c->rx = malloc(65536)))
            return -1;
        if (c->rx_len + len > 65536) {
            c->bad++;
            c->rx_len = 0;
            break;
        }
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
        if (final) {
            on_message(c, c->rx, c->rx_len, binary);
            c->rx_len = 0;
        }
        break;
    }
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (c && c->closing) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)"", 0);
            return -1;
        }
        if (c && c->send_pending && B.send_text) {
            unsigned char buf[LWS_PRE + 1024];
            size_t n = strlen(B.send_text);
            if (n > 1024)
                n = 1024;
            memcpy(buf + LWS_PRE, B.send_text, n);
            c->send_pending = false;
            if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n)
                return -1;
        }
        break;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (B.print_text) {
            const unsigned char *p = in;
            unsigned code = len >= 2 ? (unsigned)p[0] << 8 | p[1] : 0;
            printf("CLOSE %u %.*s\n", code, len > 2 ? (int)(len - 2) : 0,
                   len > 2 ? (const char *)p + 2 : "");
            fflush(stdout);
        }
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c) {
            if (c->state == C_OPEN)
                B.open--;
            c->state = C_FAILED;
            c->wsi = NULL;
            B.failed++;
            if (!B.quiet)
                fprintf(stderr, "listeners: connect failed: %s\n", in ? (const char *)in : "?");
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c) {
            if (c->state == C_OPEN) {
                B.open--;
                if (!B.done && !c->closing)
                    B.closed_early++;
            }
            c->state = C_CLOSED;
            c->wsi = NULL;
        }
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"loopcast.v1", cb, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void connect_one(unsigned i)
{
    conn *c = &B.conns[i];
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = B.ctx;
    ci.address = B.host;
    ci.port = B.port;
    ci.path = B.path;
    if (B.reuse_sessions && B.sids[i][0]) {
        snprintf(B.paths[i], sizeof B.paths[0], "%s%ssession=%s", B.path,
                 strchr(B.path, '?') ? "&" : "?", B.sids[i]);
        ci.path = B.paths[i];
    }
    ci.host = B.host_hdr;
    ci.origin = B.origin; /* what a page served by this server would send */
    ci.protocol = "loopcast.v1";
    ci.userdata = c;
    ci.pwsi = &c->wsi;
    c->state = C_CONNECTING;
    c->t_connect_ns = now_ns();
    c->stalled = i >= B.n - B.stalled;
    c->decode = i < B.decode;
    if (!lws_client_connect_via_info(&ci) && c->state == C_CONNECTING) {
        c->state = C_FAILED;
        B.failed++;
    }
}

static void start_measuring(uint64_t t)
{
    B.measuring = true;
    B.t_measure_ns = t;
    B.self_ticks0 = proc_cpu_ticks((int)getpid());
    if (B.server_pid > 0) {
        B.rss_open_kb = proc_rss_kb(B.server_pid);
        B.cpu_ticks0 = proc_cpu_ticks(B.server_pid);
    }
}

/* -Wconversion wants every u64 → double made explicit; these are counts far below 2^53. */
static double dbl(uint64_t v) { return (double)v; }

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* q-quantile of sorted v[n] (nearest rank), 0 if empty. */
static double quantile(const double *v, unsigned n, double q)
{
    if (!n)
        return 0;
    unsigned k = (unsigned)ceil(q * n);
    return v[k ? k - 1 : 0];
}

/* At the end of a wave's window: time to hello and to first audio packet from each listener's
 * connect, printed as "WAVE k ..." and a WAVE_RESULT line; with --max-first-ms, late = a reading
 * listener with no audio packet yet or a first packet later than that. */
static void wave_summary(void)
{
    double *hello = calloc(B.n, sizeof(double)), *first = calloc(B.n, sizeof(double));
    unsigned nh = 0, nf = 0, late = 0, reading = 0;
    if (!hello || !first) {
        free(hello);
        free(first);
        return;
    }
    for (unsigned i = 0; i < B.n; i++) {
        conn *c = &B.conns[i];
        if (c->t_hello_ns)
            hello[nh++] = dbl(c->t_hello_ns - c->t_connect_ns) / 1e6;
        if (c->stalled)
            continue;
        reading++;
        double ms = c->t_first_ns ? dbl(c->t_first_ns - c->t_connect_ns) / 1e6 : -1;
        if (ms >= 0)
            first[nf++] = ms;
        if (B.max_first_ms > 0 && (ms < 0 || ms > B.max_first_ms))
            late++; /* only when asked: a muted session legitimately gets no audio */
    }
    qsort(hello, nh, sizeof(double), cmp_dbl);
    qsort(first, nf, sizeof(double), cmp_dbl);
    double fmax = nf ? first[nf - 1] : 0;
    double h50 = quantile(hello, nh, 0.5), h99 = quantile(hello, nh, 0.99);
    double hmax = nh ? hello[nh - 1] : 0;
    double f50 = quantile(first, nf, 0.5), f99 = quantile(first, nf, 0.99);
    printf("WAVE %u           %u open, %u failed, %u closed early; hello p50 %.1f p99 %.1f max "
           "%.1f ms (%u/%u); first packet p50 %.1f p99 %.1f max %.1f ms (%u/%u), %u late\n",
           B.wave, B.open, B.failed, B.closed_early, h50, h99, hmax, nh, B.n, f50, f99, fmax, nf,
           reading, late);
    printf("WAVE_RESULT {\"wave\":%u,\"open\":%u,\"failed\":%u,\"closed_early\":%u,\"hello\":%u,"
           "\"first\":%u,\"late\":%u,\"first_p50_ms\":%.1f,\"first_p99_ms\":%.1f,"
           "\"first_max_ms\":%.1f,\"hello_p50_ms\":%.1f,\"hello_p99_ms\":%.1f,"
           "\"hello_max_ms\":%.1f}\n",
           B.wave, B.open, B.failed, B.closed_early, nh, nf, late, f50, f99, fmax, h50, h99, hmax);
    fflush(stdout);
    B.total_late += late;
    if (fmax > B.worst_first_ms)
        B.worst_first_ms = fmax;
    free(hello);
    free(first);
}

static void reset_conn(conn *c)
{
    free(c->rx);
    free(c->pcm);
    if (c->dec)
        opus_decoder_destroy(c->dec);
    memset(c, 0, sizeof *c);
}

/* Between waves: every listener closes as a reloading page does (1001). */
static void close_all(uint64_t t)
{
    B.total_failed += B.failed;
    B.total_closed_early += B.closed_early;
    B.closing = true;
    B.t_closing_ns = t;
    for (unsigned i = 0; i < B.n; i++) {
        conn *c = &B.conns[i];
        if (c->wsi && (c->state == C_OPEN || c->state == C_CONNECTING)) {
            c->closing = true;
            lws_callback_on_writable(c->wsi);
        }
    }
}

static void next_wave(uint64_t t)
{
    for (unsigned i = 0; i < B.n; i++)
        reset_conn(&B.conns[i]);
    memset(B.hist, 0, HIST_BUCKETS * sizeof(uint64_t));
    B.hist_over = B.hist_n = B.delay_max_ns = B.negative = 0;
    B.started = B.open = B.failed = B.closed_early = 0;
    B.t_start_ns = t;
    B.t_all_open_ns = 0;
    B.measuring = false;
    B.wave++;
}

/* Every 5 ms: connect the next batch, move between phases. */
static void tick(lws_sorted_usec_list_t *sul)
{
    uint64_t t = now_ns();
    if (B.closing) {
        unsigned left = 0;
        for (unsigned i = 0; i < B.n; i++)
            left += B.conns[i].wsi &&
                    (B.conns[i].state == C_OPEN || B.conns[i].state == C_CONNECTING);
        if (left && t - B.t_closing_ns < 15000000000ull) {
            lws_sul_schedule(B.ctx, 0, sul, tick, 5 * LWS_US_PER_MS);
            return;
        }
        printf("WAVE %u CLOSED in %.0f ms, %u still open\n", B.wave, dbl(t - B.t_closing_ns) / 1e6,
               left);
        fflush(stdout);
        B.closing = false;
        if (left) { /* a wsi that would not close: its conn cannot be reused, so stop here */
            B.total_closed_early += left;
            B.t_end_ns = t;
            B.done = true;
            lws_cancel_service(B.ctx);
            return;
        }
        B.gated = true;
        B.t_gate_ns = t;
    }
    if (B.gated) {
        /* the gate file lets the test sample the idle server; 120 s without it: go on anyway */
        if (B.wave_gate && access(B.wave_gate, F_OK) != 0 && t - B.t_gate_ns < 120000000000ull) {
            lws_sul_schedule(B.ctx, 0, sul, tick, 5 * LWS_US_PER_MS);
            return;
        }
        if (B.wave_gate)
            unlink(B.wave_gate);
        B.gated = false;
        next_wave(now_ns());
        t = B.t_start_ns;
    }
    double elapsed = (double)(t - B.t_start_ns) / 1e9;
    unsigned want = B.rate ? (unsigned)fmin((double)B.n, ceil(elapsed * B.rate) + 1) : B.n;
    while (B.started < want)
        connect_one(B.started++);

    bool settled = B.started == B.n && B.open + B.failed + B.closed_early >= B.n;
    if (settled && !B.t_all_open_ns)
        B.t_all_open_ns = t;
    if (B.t_all_open_ns && !B.measuring && t - B.t_all_open_ns >= (uint64_t)(B.warmup * 1e9))
        start_measuring(t);
    /* give up waiting for stragglers after 60 s: measure what connected */
    if (!B.measuring && elapsed > 60.0 + (B.rate ? B.n / (double)B.rate : 0))
        start_measuring(t);
    if (B.measuring && t - B.t_measure_ns >= (uint64_t)(B.seconds * 1e9)) {
        B.t_end_ns = t;
        wave_summary();
        if (B.wave < B.waves) {
            close_all(t);
            lws_sul_schedule(B.ctx, 0, sul, tick, 5 * LWS_US_PER_MS);
            return;
        }
        B.done = true;
        B.self_ticks1 = proc_cpu_ticks((int)getpid());
        if (B.server_pid > 0) {
            B.cpu_ticks1 = proc_cpu_ticks(B.server_pid);
            B.rss_end_kb = proc_rss_kb(B.server_pid);
        }
        lws_cancel_service(B.ctx);
        return;
    }
    lws_sul_schedule(B.ctx, 0, sul, tick, 5 * LWS_US_PER_MS);
}

static double hist_pct(double q)
{
    if (!B.hist_n)
        return 0;
    uint64_t want = (uint64_t)ceil(q * (double)B.hist_n), acc = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        acc += B.hist[i];
        if (acc >= want)
            return (i + 0.5) * HIST_BUCKET_US / 1000.0;
    }
    return dbl(B.delay_max_ns) / 1e6;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: loopcast-bench listeners --port N [options]\n"
            "  --host H            server address (127.0.0.1)\n"
            "  --path P            WebSocket path (/stream)\n"
            "  -n, --listeners N   listeners to open (1)\n"
            "  --rate R            connections opened per second (0 = all at once)\n"
            "  --seconds S         measurement window after all are connected (10)\n"
            "  --warmup S          wait after the last connect before measuring (1)\n"
            "  --stalled K         the last K listeners stop reading after the hello\n"
            "  --decode K          the first K listeners decode with libopus\n"
            "  --server-pid PID    report the server's CPU and RSS from /proc\n"
            "  --session GUID      join this session (?session=GUID)\n"
            "  --no-persist        ask for a session that is never stored (?persist=0)\n"
            "  --print-text        print each text message: TEXT <ms> <json>; closes: CLOSE <code>\n"
            "  --send TEXT         send TEXT (e.g. a set message) after the hello\n"
            "  --waves N           run N times: all close (1001) after each window, then all\n"
            "                      connect again at once; prints WAVE k lines (1)\n"
            "  --wave-gate FILE    between waves, wait until FILE exists (then remove it)\n"
            "  --reuse-sessions    in later waves, each listener rejoins the session of its hello\n"
            "checks (exit 1 if one fails):\n"
            "  --expect-hz F       decoded listeners hear F Hz (±2 Hz)\n"
            "  --max-gap-ms G      no reading listener sees a gap over G ms\n"
            "  --no-drops          reading listeners lose no packet, see no discontinuity\n"
            "  --rate-tolerance P  packets/s within P %% of 1000/frame-ms (default 3; 0 = off)\n"
            "  --max-first-ms T    every reading listener gets its first audio packet within T ms\n"
            "                      of its connect, in every wave\n"
            "  --quiet             only the summary\n");
}

static int parse_args(int argc, char **argv)
{
    B.host = "127.0.0.1";
    B.path = "/stream";
    B.n = 1;
    B.seconds = 10;
    B.warmup = 1;
    B.rate_tol = 3;
    B.waves = 1;
    B.wave = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV()                                                                                \
    do {                                                                                       \
        if (!v) {                                                                              \
            fprintf(stderr, "listeners: %s needs a value\n", a);                               \
            return 2;                                                                          \
        }                                                                                      \
        i++;                                                                                   \
    } while (0)
        char *end = NULL;
        if (!strcmp(a, "--port")) {
            NEEDV();
            B.port = (int)strtol(v, &end, 10);
        } else if (!strcmp(a, "--host")) {
            NEEDV();
            B.host = v;
        } else if (!strcmp(a, "--path")) {
            NEEDV();
            B.path = v;
        } else if (!strcmp(a, "-n") || !strcmp(a, "--listeners")) {
            NEEDV();
            B.n = (unsigned)strtoul(v, &end, 10);
        } else if (!strcmp(a, "--rate")) {
            NEEDV();
            B.rate = (unsigned)strtoul(v, &end, 10);
        } else if (!strcmp(a, "--seconds")) {
            NEEDV();
            B.seconds = strtod(v, &end);
        } else if (!strcmp(a, "--warmup")) {
            NEEDV();
            B.warmup = strtod(v, &end);
        } else if (!strcmp(a, "--stalled")) {
            NEEDV();
            B.stalled = (unsigned)strtoul(v, &end, 10);
        } else if (!strcmp(a, "--decode")) {
            NEEDV();
            B.decode = (unsigned)strtoul(v, &end, 10);
        } else if (!strcmp(a, "--server-pid")) {
            NEEDV();
            B.server_pid = (int)strtol(v, &end, 10);
        } else if (!strcmp(a, "--expect-hz")) {
            NEEDV();
            B.expect_hz = strtod(v, &end);
        } else if (!strcmp(a, "--max-gap-ms")) {
            NEEDV();
            B.max_gap_ms = strtod(v, &end);
        } else if (!strcmp(a, "--rate-tolerance")) {
            NEEDV();
            B.rate_tol = strtod(v, &end);
        } else if (!strcmp(a, "--waves")) {
            NEEDV();
            B.waves = (unsigned)strtoul(v, &end, 10);
        } else if (!strcmp(a, "--reuse-sessions")) {
            B.reuse_sessions = true;
        } else if (!strcmp(a, "--wave-gate")) {
            NEEDV();
            B.wave_gate = v;
        } else if (!strcmp(a, "--max-first-ms")) {
            NEEDV();
            B.max_first_ms = strtod(v, &end);
        } else if (!strcmp(a, "--session")) {
            NEEDV();
            B.session = v;
        } else if (!strcmp(a, "--send")) {
            NEEDV();
            B.send_text = v;
        } else if (!strcmp(a, "--no-persist")) {
            B.no_persist = true;
        } else if (!strcmp(a, "--print-text")) {
            B.print_text = true;
        } else if (!strcmp(a, "--no-drops")) {
            B.no_drops = true;
        } else if (!strcmp(a, "--quiet")) {
            B.quiet = true;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "listeners: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
        if (end && *end) {
            fprintf(stderr, "listeners: bad value for %s: '%s'\n", a, v);
            return 2;
        }
#undef NEEDV
    }
    if (B.session || B.no_persist) {
        snprintf(B.path_buf, sizeof B.path_buf, "%s?%s%s%s", B.path, B.session ? "session=" : "",
                 B.session ? B.session : "", B.no_persist ? (B.session ? "&persist=0" : "persist=0") : "");
        B.path = B.path_buf;
    }
    if (B.port <= 0 || B.port > 65535 || B.n == 0 || B.stalled > B.n || B.decode > B.n - B.stalled ||
        B.seconds <= 0 || B.waves < 1 || B.max_first_ms < 0) {
        fprintf(stderr, "listeners: need --port 1..65535, -n ≥ 1, --stalled ≤ n, --decode ≤ n - stalled, --seconds > 0, --waves ≥ 1\n");
        return 2;
    }
    return 0;
}

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Prints the report; returns the number of failed checks. */
static int report(void)
{
    double win = (double)(B.t_end_ns - B.t_measure_ns) / 1e9;
    double frame_ms = B.frame_samples ? B.frame_samples / 48.0 : 0;
    uint64_t pk = 0, bytes = 0, missing = 0, disc = 0, bad = 0, max_gap = 0;
    unsigned reading = 0, short_rate = 0;
    double min_rate = 1e9;
    for (unsigned i = 0; i < B.n; i++) {
        conn *c = &B.conns[i];
        bad += c->bad;
        if (c->stalled)
            continue;
        reading++;
        pk += c->packets;
        bytes += c->bytes;
        missing += c->missing;
        disc += c->discont;
        if (c->max_gap_ns > max_gap)
            max_gap = c->max_gap_ns;
        double r = dbl(c->packets) / win;
        if (r < min_rate)
            min_rate = r;
        if (frame_ms > 0 && B.rate_tol > 0 && fabs(r - 1000.0 / frame_ms) > 1000.0 / frame_ms * B.rate_tol / 100.0)
            short_rate++;
    }
    double cpu = -1;
    if (B.server_pid > 0 && B.cpu_ticks0 >= 0 && B.cpu_ticks1 >= 0)
        cpu = 100.0 * (B.cpu_ticks1 - B.cpu_ticks0) / (double)sysconf(_SC_CLK_TCK) / win;
    double self_cpu = -1;
    if (B.self_ticks0 > 0 && B.self_ticks1 > 0)
        self_cpu =
            100.0 * (B.self_ticks1 - B.self_ticks0) / (double)sysconf(_SC_CLK_TCK) / win;
    double per_listener_kb =
        B.rss_before_kb > 0 && B.rss_open_kb > 0 ? (double)(B.rss_open_kb - B.rss_before_kb) / B.n : -1;

    printf("listeners        %u requested, %u open, %u failed, %u closed early, %u stalled\n", B.n,
           B.open, B.failed, B.closed_early, B.stalled);
    printf("window           %.1f s, frame %.1f ms\n", win, frame_ms);
    printf("delivered        %" PRIu64 " packets (%.1f/s per reading listener, min %.1f), %.1f MB\n", pk,
           reading ? dbl(pk) / win / reading : 0, reading ? min_rate : 0, dbl(bytes) / 1e6);
    printf("dropped          %" PRIu64 " missing, %" PRIu64 " discontinuities, %" PRIu64 " malformed\n",
           missing, disc, bad);
    printf("delay (server)   p50 %.3f ms, p99 %.3f ms, max %.3f ms  (capture of last sample -> arrival)\n",
           hist_pct(0.50), hist_pct(0.99), dbl(B.delay_max_ns) / 1e6);
    printf("longest gap      %.1f ms\n", dbl(max_gap) / 1e6);
    if (B.server_pid > 0)
        printf("server           CPU %.1f %% of one core, RSS %ld kB before, %ld kB connected, %ld kB end, "
               "%.2f kB per listener\n",
               cpu, B.rss_before_kb, B.rss_open_kb, B.rss_end_kb, per_listener_kb);
    printf("bench            CPU %.1f %% of one core (this load generator, same window)\n",
           self_cpu);

    int fails = 0;
    double hz_worst = 0;
    if (B.expect_hz > 0) {
        for (unsigned i = 0; i < B.decode; i++) {
            conn *c = &B.conns[i];
            size_t n = c->pcm_total < PCM_KEEP ? c->pcm_total : PCM_KEEP;
            if (n < 24000) {
                printf("CHECK FAILED: listener %u decoded only %zu samples\n", i, n);
                fails++;
                continue;
            }
            /* unroll the ring into time order */
            float *lin = malloc(n * sizeof(float));
            if (!lin)
                return fails + 1;
            for (size_t k = 0; k < n; k++)
                lin[k] = c->pcm[(c->pcm_pos + PCM_KEEP - n + k) % PCM_KEEP];
            double hz = lc_dsp_dominant_hz(lin, n, 48000, 50, 16000);
            double rms = lc_dsp_rms(lin, n);
            free(lin);
            printf("decoded          listener %u: %.1f Hz, RMS %.3f\n", i, hz, rms);
            if (i == 0 || fabs(hz - B.expect_hz) > fabs(hz_worst - B.expect_hz))
                hz_worst = hz; /* the listener furthest from the expected tone */
            if (fabs(hz - B.expect_hz) > 2.0 || rms < 0.01) {
                printf("CHECK FAILED: listener %u hears %.1f Hz at RMS %.3f, expected %.1f Hz\n", i, hz, rms,
                       B.expect_hz);
                fails++;
            }
        }
    }
    if (B.open + B.closed_early < B.n) {
        printf("CHECK FAILED: only %u of %u listeners connected\n", B.open + B.closed_early, B.n);
        fails++;
    }
    if (B.closed_early) {
        printf("CHECK FAILED: %u listeners were closed by the server\n", B.closed_early);
        fails++;
    }
    if (bad) {
        printf("CHECK FAILED: %" PRIu64 " malformed messages or decode errors\n", bad);
        fails++;
    }
    if (B.no_drops && (missing || disc)) {
        printf("CHECK FAILED: reading listeners lost %" PRIu64 " packets, %" PRIu64 " discontinuities\n",
               missing, disc);
        fails++;
    }
    if (B.max_gap_ms > 0 && dbl(max_gap) / 1e6 > B.max_gap_ms) {
        printf("CHECK FAILED: longest gap %.1f ms > %.1f ms\n", dbl(max_gap) / 1e6, B.max_gap_ms);
        fails++;
    }
    if (short_rate) {
        printf("CHECK FAILED: %u listeners off the expected %.1f packets/s by more than %.1f %%\n", short_rate,
               frame_ms > 0 ? 1000.0 / frame_ms : 0, B.rate_tol);
        fails++;
    }
    if (!B.frame_samples) {
        printf("CHECK FAILED: no hello received\n");
        fails++;
    }
    if (B.total_failed || B.total_closed_early) {
        printf("CHECK FAILED: in earlier waves %u connections failed, %u were closed by the server\n",
               B.total_failed, B.total_closed_early);
        fails++;
    }
    if (B.total_late) {
        printf("CHECK FAILED: %u listeners (all waves) got no first packet%s\n", B.total_late,
               B.max_first_ms > 0 ? " within --max-first-ms" : "");
        fails++;
    }
    printf("RESULT {\"listeners\":%u,\"open\":%u,\"failed\":%u,\"stalled\":%u,\"window_s\":%.2f,"
           "\"packets\":%" PRIu64 ",\"missing\":%" PRIu64 ",\"discontinuities\":%" PRIu64 ","
           "\"delay_p50_ms\":%.3f,\"delay_p99_ms\":%.3f,\"delay_max_ms\":%.3f,\"max_gap_ms\":%.2f,"
           "\"server_cpu_pct\":%.1f,\"bench_cpu_pct\":%.1f,\"rss_before_kb\":%ld,"
           "\"rss_open_kb\":%ld,\"rss_end_kb\":%ld,"
           "\"kb_per_listener\":%.2f,\"decoded_hz\":%.1f,\"waves\":%u,\"first_max_ms\":%.1f,"
           "\"failed_checks\":%d}\n",
           B.n, B.open, B.failed, B.stalled, win, pk, missing, disc, hist_pct(0.5), hist_pct(0.99),
           dbl(B.delay_max_ns) / 1e6, dbl(max_gap) / 1e6, cpu, self_cpu, B.rss_before_kb,
           B.rss_open_kb, B.rss_end_kb, per_listener_kb, hz_worst, B.waves, B.worst_first_ms, fails);
    return fails;
}

int lc_bench_listeners(int argc, char **argv)
{
    int rc = parse_args(argc, argv);
    if (rc)
        return rc;
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max; /* thousands of sockets need more than the usual 1024 */
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGINT, on_sigint);
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(LLL_ERR, NULL);

    B.conns = calloc(B.n, sizeof(conn));
    B.hist = calloc(HIST_BUCKETS, sizeof(uint64_t));
    B.sids = calloc(B.n, sizeof B.sids[0]);
    B.paths = B.reuse_sessions ? calloc(B.n, sizeof B.paths[0]) : NULL;
    /* lws 4.1's client writes "Origin: http://<origin>": the scheme is its own. */
    snprintf(B.origin, sizeof B.origin, "%s:%d", B.host, B.port);
    snprintf(B.host_hdr, sizeof B.host_hdr, "%s:%d", B.host, B.port);
    if (!B.conns || !B.hist || !B.sids || (B.reuse_sessions && !B.paths)) {
        fprintf(stderr, "listeners: out of memory\n");
        return 1;
    }
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    /* No fd_limit_per_thread: below the fd ulimit, lws 4.1 finds the wsi of every poll event
     * by a linear scan of its whole fd table (wsi_from_fd), 10 % of the CPU at 2,000 sockets.
     * The rlimit raised above already sizes its table. */
    info.timeout_secs = 20;
    B.ctx = lws_create_context(&info);
    if (!B.ctx) {
        fprintf(stderr, "listeners: lws_create_context failed\n");
        return 1;
    }
    if (B.server_pid > 0) {
        B.rss_before_kb = proc_rss_kb(B.server_pid);
        if (B.rss_before_kb < 0) {
            fprintf(stderr, "listeners: no process %d\n", B.server_pid);
            lws_context_destroy(B.ctx);
            return 2;
        }
    }
    B.t_start_ns = now_ns();
    lws_sul_schedule(B.ctx, 0, &B.sul, tick, 1);
    while (!B.done && !interrupted)
        if (lws_service(B.ctx, 0) < 0)
            break;
    if (!B.t_end_ns)
        B.t_end_ns = now_ns();
    if (!B.measuring)
        B.t_measure_ns = B.t_start_ns;
    int fails = report();
    lws_context_destroy(B.ctx);
    for (unsigned i = 0; i < B.n; i++)
        reset_conn(&B.conns[i]);
    free(B.conns);
    free(B.hist);
    free(B.sids);
    free(B.paths);
    return fails ? 1 : 0;
}
