/*
 * backend_app_pulse.c — "app:NAME" and "app:pid:N" on Linux: what one application plays, through
 * libpulse (PulseAudio, or PipeWire's pipewire-pulse).
 *
 * PulseAudio can record the monitor of a single sink input: a record stream on the monitor source
 * of the sink the input plays into, with pa_stream_set_monitor_stream(input). We follow the
 * application: a subscription to sink-input events marks the choice stale, and the next read
 * looks again, so a player that starts late, stops, restarts or moves to another sink is followed
 * without a restart. When several sink inputs match (two tabs of a browser, a player's old and
 * new stream during a track change), the NEWEST one (the highest index) is followed — mixing
 * would need a resampling mixer for streams PulseAudio already mixes for the speakers, and the
 * newest is the one a person just started.
 *
 * While nothing matches (the application plays nothing: PulseAudio drops a stopped player's sink
 * input, so "stopped" and "not started yet" look alike) the backend hands out silence in real
 * time: the source stays running, /readyz 200, listeners hear silence, and the detail says
 * "waiting for NAME". A sink input that exists but is paused (corked) sends nothing: the core's
 * keep-alive covers that.
 *
 * Matching (case-insensitive, exact): NAME against the sink input's application.name or
 * application.process.binary; pid:N against application.process.id and its ancestors (so a
 * browser's audio process, a child of the one you named, is found).
 *
 * Threads: a pa_threaded_mainloop thread runs libpulse's callbacks; the capture thread takes the
 * mainloop lock for every libpulse call (pa_stream_peek included) and never waits on it for
 * longer than one query. Fields marked "ml" are guarded by that lock.
 */
#include "capture_internal.h"

#include <pulse/pulseaudio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define APP_RATE 48000u
#define APP_CHANNELS 2u
#define APP_CHUNK_NS 10000000ull  /* silence while waiting: 10 ms chunks */
#define APP_POLL_NS 5000000ull    /* an empty stream is looked at again after 5 ms */
#define APP_READ_NS 100000000ull  /* a read returns within ~100 ms (capture.h) */
#define APP_QUERY_NS 2000000000ull /* a PulseAudio query that takes longer: the server is gone */

typedef struct {
    /* set by parse; read-only afterwards */
    char name[256];           /* app:NAME, decoded; "" for pid */
    unsigned pid;             /* app:pid:N; 0 for a name */

    /* the capture thread's (open/read/close) */
    pa_threaded_mainloop *ml;
    pa_context *ctx;
    pa_stream *st;            /* the monitor stream, NULL while waiting */
    uint32_t input, sink;     /* what st monitors (PA_INVALID_INDEX: nothing) */
    char app_label[128];      /* the followed input's application name, for the detail */
    char sink_name[128];
    lc_pacer pacer;           /* silence while waiting */
    bool pacing;
    uint64_t tl_end;          /* end of the last chunk handed out (capture time) */

    /* ml */
    bool rescan;              /* a sink input came, changed or went: look again */
    bool ctx_ready, ctx_dead;
    int stream_state;         /* pa_stream_state_t of st */
    size_t frag_off;          /* bytes of the fragment at the stream's head already taken */
} lc_app;

/* ---- parse ---------------------------------------------------------------------------------- */

static int app_parse(const char *arg, void **state, char *errbuf, size_t errlen)
{
    if (!arg || !*arg) {
        lc_errf(errbuf, errlen, "app: needs an application: app:NAME or app:pid:N "
                "(--list-sources shows what plays now)");
        return LC_ERR_URI;
    }
    lc_app *a = calloc(1, sizeof *a);
    if (!a)
        return LC_ERR_NOMEM;
    a->input = a->sink = PA_INVALID_INDEX;
    const char *q = strchr(arg, '?');
    if (q) {
        lc_errf(errbuf, errlen, "app:%s: %s", arg,
                !strncmp(q + 1, "exclude=", 8)
                    ? "exclude= is Windows only (PulseAudio cannot record all but one application)"
                    : "takes no options (percent-encode a '?' in the name as %3F)");
        free(a);
        return LC_ERR_URI;
    }
    if (!strncmp(arg, "pid:", 4)) {
        char *end = NULL;
        unsigned long v = strtoul(arg + 4, &end, 10);
        if (arg[4] < '0' || arg[4] > '9' || *end || v == 0 || v > 4194304ul) {
            lc_errf(errbuf, errlen, "app:%s: pid: needs a process id (app:pid:1234)", arg);
            free(a);
            return LC_ERR_URI;
        }
        a->pid = (unsigned)v;
    } else if (!lc_pct_decode(arg, strlen(arg), a->name, sizeof a->name) || !a->name[0]) {
        lc_errf(errbuf, errlen, "app:%s: a malformed name (percent-encode '?', '&', '%%' and "
                "spaces; at most %zu bytes)", arg, sizeof a->name - 1);
        free(a);
        return LC_ERR_URI;
    }
    *state = a;
    return 0;
}

/* ---- matching --------------------------------------------------------------------------------- */

/* The parent of process `pid` (Linux /proc), 0 if unknown. */
static unsigned parent_of(unsigned pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%u/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    unsigned ppid = 0;
    if (!rp || sscanf(rp + 1, " %*c %u", &ppid) != 1)
        return 0;
    return ppid;
}

static bool matches(const lc_app *a, const pa_proplist *p)
{
    if (a->pid) {
        const char *s = pa_proplist_gets(p, PA_PROP_APPLICATION_PROCESS_ID);
        unsigned pid = s ? (unsigned)strtoul(s, NULL, 10) : 0;
        for (int depth = 0; pid > 1 && depth < 64; depth++, pid = parent_of(pid))
            if (pid == a->pid)
                return true;
        return false;
    }
    const char *name = pa_proplist_gets(p, PA_PROP_APPLICATION_NAME);
    const char *bin = pa_proplist_gets(p, PA_PROP_APPLICATION_PROCESS_BINARY);
    return (name && !strcasecmp(name, a->name)) || (bin && !strcasecmp(bin, a->name));
}

/* ---- libpulse callbacks (mainloop thread) --------------------------------------------------- */

static void on_context_state(pa_context *c, void *user)
{
    lc_app *a = user;
    pa_context_state_t s = pa_context_get_state(c);
    a->ctx_ready = s == PA_CONTEXT_READY;
    a->ctx_dead = s == PA_CONTEXT_FAILED || s == PA_CONTEXT_TERMINATED;
    pa_threaded_mainloop_signal(a->ml, 0);
}

static void on_subscribe(pa_context *c, pa_subscription_event_type_t t, uint32_t idx, void *user)
{
    (void)c, (void)t, (void)idx;
    lc_app *a = user;
    a->rescan = true; /* the next read looks again: no query from inside a callback */
}

static void on_stream_state(pa_stream *s, void *user)
{
    lc_app *a = user;
    a->stream_state = pa_stream_get_state(s);
    pa_threaded_mainloop_signal(a->ml, 0);
}

typedef struct {
    lc_app *a;
    uint32_t input, sink;
    char label[128];
    char monitor[256];
    bool done;
} scan;

/* A query's last callback (eol) ends it: true then. */
static bool finished(scan *s, int eol)
{
    if (!eol)
        return false;
    s->done = true;
    pa_threaded_mainloop_signal(s->a->ml, 0);
    return true;
}

static void on_input(pa_context *c, const pa_sink_input_info *i, int eol, void *user)
{
    (void)c;
    scan *s = user;
    if (finished(s, eol))
        return;
    if (!matches(s->a, i->proplist) || (s->input != PA_INVALID_INDEX && i->index < s->input))
        return;
    const char *name = pa_proplist_gets(i->proplist, PA_PROP_APPLICATION_NAME);
    s->input = i->index;
    s->sink = i->sink;
    snprintf(s->label, sizeof s->label, "%s", name ? name : i->name ? i->name : "?");
}

static void on_sink(pa_context *c, const pa_sink_info *i, int eol, void *user)
{
    (void)c;
    scan *s = user;
    if (finished(s, eol))
        return;
    snprintf(s->monitor, sizeof s->monitor, "%s", i->monitor_source_name);
    snprintf(s->a->sink_name, sizeof s->a->sink_name, "%s", i->name);
}

/* Waits (ml locked) for a query: false if PulseAudio did not answer in time or went away. */
static bool await(lc_app *a, pa_operation *op, const bool *done)
{
    if (!op)
        return false;
    uint64_t give_up = lc_now_ns() + APP_QUERY_NS;
    while (!*done && !a->ctx_dead && lc_now_ns() < give_up)
        pa_threaded_mainloop_wait(a->ml); /* every callback signals; so does the context */
    pa_operation_cancel(op);
    pa_operation_unref(op);
    return *done;
}

/* ---- open / close ----------------------------------------------------------------------------- */

static void drop_stream(lc_app *a)
{
    if (a->st) {
        pa_stream_set_state_callback(a->st, NULL, NULL);
        pa_stream_disconnect(a->st);
        pa_stream_unref(a->st);
        a->st = NULL;
    }
    a->input = a->sink = PA_INVALID_INDEX;
    a->frag_off = 0;
}

static void app_close(void *state)
{
    lc_app *a = state;
    if (!a->ml)
        return;
    pa_threaded_mainloop_lock(a->ml);
    drop_stream(a);
    if (a->ctx) {
        pa_context_set_state_callback(a->ctx, NULL, NULL);
        pa_context_set_subscribe_callback(a->ctx, NULL, NULL);
        pa_context_disconnect(a->ctx);
        pa_context_unref(a->ctx);
        a->ctx = NULL;
    }
    pa_threaded_mainloop_unlock(a->ml);
    pa_threaded_mainloop_stop(a->ml);
    pa_threaded_mainloop_free(a->ml);
    a->ml = NULL;
}

static int app_open(void *state, lc_format *fmt, char *errbuf, size_t errlen)
{
    lc_app *a = state;
    a->ctx_ready = a->ctx_dead = false;
    a->rescan = true;
    a->pacing = false;
    a->tl_end = 0;
    if (!(a->ml = pa_threaded_mainloop_new()) ||
        !(a->ctx = pa_context_new(pa_threaded_mainloop_get_api(a->ml), "loopcast"))) {
        app_close(a);
        return LC_ERR_NOMEM;
    }
    pa_context_set_state_callback(a->ctx, on_context_state, a);
    pa_context_set_subscribe_callback(a->ctx, on_subscribe, a);
    pa_threaded_mainloop_lock(a->ml);
    int rc = 0;
    if (pa_context_connect(a->ctx, NULL, PA_CONTEXT_NOAUTOSPAWN, NULL) < 0 ||
        pa_threaded_mainloop_start(a->ml) < 0) {
        rc = LC_ERR_DEVICE;
    } else {
        uint64_t give_up = lc_now_ns() + APP_QUERY_NS;
        while (!a->ctx_ready && !a->ctx_dead && lc_now_ns() < give_up)
            pa_threaded_mainloop_wait(a->ml);
        if (!a->ctx_ready)
            rc = LC_ERR_DEVICE;
        else
            pa_operation_unref(pa_context_subscribe(a->ctx, PA_SUBSCRIPTION_MASK_SINK_INPUT,
                                                    NULL, NULL));
    }
    if (rc)
        lc_errf(errbuf, errlen, "app: cannot reach PulseAudio/PipeWire: %s",
                pa_strerror(pa_context_errno(a->ctx)));
    pa_threaded_mainloop_unlock(a->ml);
    if (rc) {
        app_close(a);
        return rc;
    }
    fmt->rate = APP_RATE;
    fmt->channels = APP_CHANNELS;
    return 0;
}

/* ---- following the application ---------------------------------------------------------------- */

/* (ml locked) Looks for the newest matching sink input and monitors it, or drops the stream when
 * there is none. LC_ERR_DEVICE if PulseAudio stopped answering. */
static int follow(lc_app *a, char *errbuf, size_t errlen)
{
    scan s = {.a = a, .input = PA_INVALID_INDEX, .sink = PA_INVALID_INDEX};
    a->rescan = false;
    if (!await(a, pa_context_get_sink_input_info_list(a->ctx, on_input, &s), &s.done))
        goto lost;
    if (s.input == a->input && s.sink == a->sink && (a->st || s.input == PA_INVALID_INDEX))
        return 0; /* no change */
    drop_stream(a);
    if (s.input == PA_INVALID_INDEX)
        return 0; /* waiting */
    s.done = false;
    if (!await(a, pa_context_get_sink_info_by_index(a->ctx, s.sink, on_sink, &s), &s.done) ||
        !s.monitor[0])
        goto lost;
    pa_sample_spec spec = {.format = PA_SAMPLE_FLOAT32NE, .rate = APP_RATE,
                           .channels = APP_CHANNELS};
    /* ~10 ms fragments: the monitor's data arrives as the sink mixes it, not in 2 s lumps */
    pa_buffer_attr attr = {.maxlength = (uint32_t)-1, .tlength = (uint32_t)-1,
                           .prebuf = (uint32_t)-1, .minreq = (uint32_t)-1,
                           .fragsize = (uint32_t)pa_usec_to_bytes(10000, &spec)};
    a->st = pa_stream_new(a->ctx, "loopcast app capture", &spec, NULL);
    if (!a->st || pa_stream_set_monitor_stream(a->st, s.input) < 0) {
        drop_stream(a);
        goto lost;
    }
    a->stream_state = PA_STREAM_UNCONNECTED;
    pa_stream_set_state_callback(a->st, on_stream_state, a);
    if (pa_stream_connect_record(a->st, s.monitor, &attr,
                                 PA_STREAM_ADJUST_LATENCY | PA_STREAM_DONT_MOVE) < 0) {
        drop_stream(a);
        goto lost;
    }
    a->input = s.input;
    a->sink = s.sink;
    snprintf(a->app_label, sizeof a->app_label, "%s", s.label);
    return 0;
lost:
    lc_errf(errbuf, errlen, "app: PulseAudio/PipeWire stopped answering: %s",
            pa_strerror(pa_context_errno(a->ctx)));
    return LC_ERR_DEVICE;
}

/* (ml locked) Copies what the stream has into buf: frames copied. pa_stream_peek hands out the
 * same fragment until pa_stream_drop, so a fragment larger than the room left is copied in
 * parts, `frag_off` bytes of it already taken. */
static size_t take(lc_app *a, float *buf, size_t max_frames, size_t *left_frames)
{
    size_t got = 0;
    const size_t fb = sizeof(float) * APP_CHANNELS;
    while (got < max_frames) {
        const void *data = NULL;
        size_t n = 0;
        if (pa_stream_peek(a->st, &data, &n) < 0 || n == 0)
            break;
        size_t frames = (n - a->frag_off) / fb, room = max_frames - got;
        size_t k = frames < room ? frames : room;
        if (data)
            memcpy(buf + got * APP_CHANNELS, (const uint8_t *)data + a->frag_off, k * fb);
        else
            memset(buf + got * APP_CHANNELS, 0, k * fb); /* a hole: silence */
        got += k;
        if (k < frames) {
            a->frag_off += k * fb;
            break;
        }
        a->frag_off = 0;
        pa_stream_drop(a->st);
    }
    size_t r = pa_stream_readable_size(a->st);
    *left_frames = r == (size_t)-1 || r < a->frag_off ? 0 : (r - a->frag_off) / fb;
    return got;
}

static int app_read(void *state, lc_format *fmt, float *buf, size_t max_frames, size_t *frames,
                    uint64_t *capture_ns, uint64_t *xruns, char *errbuf, size_t errlen)
{
    lc_app *a = state;
    *frames = 0;
    uint64_t give_up = lc_now_ns() + APP_READ_NS;
    for (;;) {
        pa_threaded_mainloop_lock(a->ml);
        int rc = 0;
        if (a->ctx_dead) {
            lc_errf(errbuf, errlen, "app: lost the connection to PulseAudio/PipeWire");
            rc = LC_ERR_DEVICE;
        } else if (a->rescan || (a->st && (a->stream_state == PA_STREAM_FAILED ||
                                           a->stream_state == PA_STREAM_TERMINATED))) {
            rc = follow(a, errbuf, errlen);
        }
        size_t got = 0, left = 0;
        bool streaming = a->st && a->stream_state == PA_STREAM_READY;
        if (!rc && streaming)
            got = take(a, buf, max_frames, &left);
        bool waiting = !a->st;
        pa_threaded_mainloop_unlock(a->ml);
        if (rc)
            return rc;
        if (got) {
            uint64_t now = lc_now_ns();
            uint64_t span = (uint64_t)(got + left) * 1000000000ull / APP_RATE;
            uint64_t t = now > span ? now - span : 0;
            *capture_ns = t > a->tl_end ? t : a->tl_end; /* never before the last chunk's end */
            a->tl_end = *capture_ns + (uint64_t)got * 1000000000ull / APP_RATE;
            *frames = got;
            a->pacing = false;
            return 0;
        }
        if (waiting) {
            /* nobody to follow: silence in real time, so the source runs and listeners hear it */
            if (!a->pacing) {
                lc_pacer_reset(&a->pacer, APP_RATE);
                a->pacer.start_ns = a->tl_end > a->pacer.start_ns ? a->tl_end : a->pacer.start_ns;
                a->pacing = true;
            }
            size_t n = (size_t)(APP_RATE * APP_CHUNK_NS / 1000000000ull);
            if (n > max_frames)
                n = max_frames;
            memset(buf, 0, n * fmt->channels * sizeof(float));
            *capture_ns = lc_pacer_wait(&a->pacer, n, xruns);
            a->tl_end = *capture_ns + (uint64_t)n * 1000000000ull / APP_RATE;
            *frames = n;
            return 0;
        }
        a->pacing = false;
        if (lc_now_ns() >= give_up)
            return 0; /* following, but it sends nothing (paused): the core's keep-alive */
        lc_sleep_until_ns(lc_now_ns() + APP_POLL_NS);
    }
}

static void app_detail(void *state, char *buf, size_t len)
{
    lc_app *a = state;
    const char *who = a->name[0] ? a->name : NULL;
    if (a->st)
        snprintf(buf, len, "following %s (sink input %u on %s)", a->app_label, a->input,
                 a->sink_name);
    else if (who)
        snprintf(buf, len, "waiting for %s", who);
    else
        snprintf(buf, len, "waiting for process %u", a->pid);
}

static void app_destroy(void *state)
{
    app_close(state);
    free(state);
}

/* ---- --list-sources ----------------------------------------------------------------------- */

typedef struct {
    lc_app *a;
    FILE *out;
    bool done;
    unsigned n;
} lister;

static void list_input(pa_context *c, const pa_sink_input_info *i, int eol, void *user)
{
    (void)c;
    lister *l = user;
    if (eol) {
        l->done = true;
        pa_threaded_mainloop_signal(l->a->ml, 0);
        return;
    }
    const char *name = pa_proplist_gets(i->proplist, PA_PROP_APPLICATION_NAME);
    const char *bin = pa_proplist_gets(i->proplist, PA_PROP_APPLICATION_PROCESS_BINARY);
    const char *pid = pa_proplist_gets(i->proplist, PA_PROP_APPLICATION_PROCESS_ID);
    if (!name && !bin)
        return;
    /* the URI as it must be written: a name with spaces or '?&%' percent-encoded */
    char uri[300];
    size_t k = 0;
    for (const char *c2 = name ? name : bin; *c2 && k + 4 < sizeof uri; c2++)
        k += (size_t)(strchr(" ?&%#", *c2) ? snprintf(uri + k, sizeof uri - k, "%%%02X",
                                                      (unsigned char)*c2)
                                           : snprintf(uri + k, sizeof uri - k, "%c", *c2));
    fprintf(l->out, "    app:%-28s %s%s%s%s%s\n", uri, bin ? "binary " : "", bin ? bin : "",
            pid ? ", pid " : "", pid ? pid : "", i->corked ? " (paused)" : "");
    l->n++;
}

/* The sink inputs now, through the same connection as a capture (app_open). */
static void app_list(FILE *out)
{
    char err[192];
    lc_format fmt;
    lc_app *a = calloc(1, sizeof *a);
    if (!a) {
        fprintf(out, "    (out of memory)\n");
        return;
    }
    a->input = a->sink = PA_INVALID_INDEX;
    if (app_open(a, &fmt, err, sizeof err)) {
        fprintf(out, "    (%s)\n", err);
        free(a);
        return;
    }
    lister l = {.a = a, .out = out};
    pa_threaded_mainloop_lock(a->ml);
    bool ok = await(a, pa_context_get_sink_input_info_list(a->ctx, list_input, &l), &l.done);
    pa_threaded_mainloop_unlock(a->ml);
    if (!ok)
        fprintf(out, "    (PulseAudio/PipeWire did not list its streams)\n");
    else if (!l.n)
        fprintf(out, "    (no application is playing now)\n");
    app_destroy(a);
}

const lc_capture_backend lc_backend_app = {
    .name = "app",
    .usage = "app:NAME | app:pid:N  what one application plays (PulseAudio/PipeWire); NAME: its "
             "name or binary, case-insensitive, percent-encoded",
    .parse = app_parse,
    .open = app_open,
    .read = app_read,
    .close = app_close,
    .destroy = app_destroy,
    .list = app_list,
    .detail = app_detail,
};
