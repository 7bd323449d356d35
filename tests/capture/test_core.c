/*
 * test_core.c — the capture core through its public API: URI errors, the backend registry, the
 * state machine, retry with exponential backoff, reopen counting, prompt stop, silence fill of
 * timeline holes, and format changes (buffer regrown; ASan catches an overflow if it is not).
 *
 * The "ramp" backend below is registered through lc_capture_register_backend exactly as a
 * third-party backend would be; it misbehaves on request (failing opens, a lost source, a jump in
 * capture time, a format switch) so the core's reactions can be timed and counted.
 */
#include "capture.h"
#include "lc_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

typedef struct {
    int fail_opens, lose_at, gap_at, switch_at;
    lc_format fmt;
    uint64_t k, base_ns, gap_ns;
    int chunk;
    uint64_t open_ns[64];
    atomic_int nopen;
    uint64_t lost_ns;
} ramp;

static ramp *g_ramp; /* the last one parsed; tests run one capture at a time */

static int ramp_parse(const char *arg, void **state, char *errbuf, size_t errlen)
{
    ramp *r = calloc(1, sizeof *r);
    if (!r)
        return LC_ERR_NOMEM;
    r->lose_at = r->gap_at = r->switch_at = -1;
    char copy[128], *save = NULL;
    snprintf(copy, sizeof copy, "%s", arg ? arg : "");
    for (char *t = strtok_r(copy, "&", &save); t; t = strtok_r(NULL, "&", &save)) {
        int v;
        if (sscanf(t, "fail=%d", &v) == 1)
            r->fail_opens = v;
        else if (sscanf(t, "lose=%d", &v) == 1)
            r->lose_at = v;
        else if (sscanf(t, "gap=%d", &v) == 1)
            r->gap_at = v;
        else if (sscanf(t, "switch=%d", &v) == 1)
            r->switch_at = v;
        else {
            lc_errf(errbuf, errlen, "ramp: bad option '%s'", t);
            free(r);
            return LC_ERR_URI;
        }
    }
    g_ramp = r;
    *state = r;
    return 0;
}

static int ramp_open(void *state, lc_format *fmt, char *errbuf, size_t errlen)
{
    ramp *r = state;
    int n = atomic_load(&r->nopen);
    if (n < 64)
        r->open_ns[n] = lc_now_ns();
    atomic_store(&r->nopen, n + 1);
    if (r->fail_opens > 0) {
        r->fail_opens--;
        lc_errf(errbuf, errlen, "ramp: not there yet");
        return LC_ERR_DEVICE;
    }
    r->fmt = (lc_format){48000, 2};
    r->k = 0;
    r->chunk = 0;
    r->base_ns = lc_now_ns();
    *fmt = r->fmt;
    return 0;
}

static float ramp_value(uint64_t frame, uint32_t ch) { return (float)(frame % 1000) / 1000.0f - (float)ch * 0.01f; }

static int ramp_read(void *state, lc_format *fmt, float *buf, size_t max_frames, size_t *frames,
                     uint64_t *capture_ns, uint64_t *xruns, char *errbuf, size_t errlen)
{
    ramp *r = state;
    (void)xruns;
    lc_sleep_until_ns(lc_now_ns() + 2000000); /* no spinning; timing comes from capture_ns */
    int c = r->chunk++;
    if (c == r->lose_at) {
        r->lose_at = -1;
        r->lost_ns = lc_now_ns();
        lc_errf(errbuf, errlen, "ramp: lost on purpose");
        return LC_ERR_EOF;
    }
    if (c == r->switch_at) {
        r->fmt = (lc_format){96000, 6};
        *fmt = r->fmt;
        r->k = 0;
        *frames = 0;
        return 0;
    }
    if (c == r->gap_at)
        r->gap_ns = 100000000; /* 100 ms of audio vanished */
    size_t n = r->fmt.rate / 100;
    CHECK(n <= max_frames);
    for (size_t i = 0; i < n; i++)
        for (uint32_t ch = 0; ch < r->fmt.channels; ch++)
            buf[i * r->fmt.channels + ch] = ramp_value(r->k + i, ch);
    *capture_ns = r->base_ns + r->gap_ns + r->k * 1000000000ull / r->fmt.rate;
    r->k += n;
    *frames = n;
    return 0;
}

static void ramp_close(void *state) { (void)state; }
static void ramp_destroy(void *state) { free(state); }

static const lc_capture_backend ramp_backend = {
    .name = "ramp",
    .usage = "ramp[:fail=N&lose=N&gap=N&switch=N]  test backend",
    .parse = ramp_parse,
    .open = ramp_open,
    .read = ramp_read,
    .close = ramp_close,
    .destroy = ramp_destroy,
};

static void ensure_ramp(void)
{
    static int done;
    if (!done)
        CHECK_EQ_INT(lc_capture_register_backend(&ramp_backend), 0);
    done = 1;
}

static void uri_errors(void)
{
    static const struct {
        const char *uri;
        int code;
        const char *word;
    } cases[] = {
        {"", LC_ERR_URI, "empty"},
        {":440", LC_ERR_URI, "bad source URI"},
        {"Tone:440", LC_ERR_URI, "bad source URI"},
        {"to ne:440", LC_ERR_URI, "bad source URI"},
        {"nosuch:1", LC_ERR_NO_BACKEND, "'nosuch'"},
        {"nosuch", LC_ERR_NO_BACKEND, "known: auto, tone"},
        {"tone:abc", LC_ERR_URI, "'abc' is not a frequency"},
        {"tone:440x", LC_ERR_URI, "not a frequency"},
        {"tone:0", LC_ERR_URI, "out of range"},
        {"tone:-5", LC_ERR_URI, "out of range"},
        {"tone:24000", LC_ERR_URI, "out of range"},
        {"tone:nan", LC_ERR_URI, "frequency"},
        {"tone:440?format=s16le", LC_ERR_URI, "unknown option 'format'"},
        {"tone:440?rate=abc", LC_ERR_URI, "option 'rate'"},
        {"tone:30000?rate=44100", LC_ERR_URI, "out of range"},
        {"pipe:", LC_ERR_URI, "missing path"},
        {"pipe:?rate=1", LC_ERR_URI, "missing path"},
        {"pipe:/tmp/x?bogus=1", LC_ERR_URI, "unknown option 'bogus'"},
        {"pipe:/tmp/x?format=s17le", LC_ERR_URI, "bad value 's17le' for option 'format'"},
        {"pipe:/tmp/x?rate=0", LC_ERR_URI, "option 'rate'"},
        {"pipe:/tmp/x?rate=48k", LC_ERR_URI, "option 'rate'"},
        {"pipe:/tmp/x?channels=33", LC_ERR_URI, "option 'channels'"},
        {"pipe:/tmp/x?channels=", LC_ERR_URI, "option 'channels'"},
        {"pipe:/tmp/x?format", LC_ERR_URI, "needs a value"},
        {"pipe:/tmp/x?rate=8000&rate=8000", LC_ERR_URI, "twice"},
        {"file:", LC_ERR_URI, "missing path"},
        {"file:/nonexistent/dir/x.wav", LC_ERR_IO, "No such file or directory"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lc_capture *cap = (lc_capture *)1;
        char err[256] = "";
        int rc = lc_capture_open(&cap, cases[i].uri, err, sizeof err);
        CHECK_EQ_INT(rc, cases[i].code);
        CHECK(cap == NULL);
        if (!strstr(err, cases[i].word)) {
            CHECK(strstr(err, cases[i].word) != NULL);
            fprintf(stderr, "   uri '%s': message '%s' lacks '%s'\n", cases[i].uri, err,
                    cases[i].word);
        }
    }
    char err[64];
    CHECK_EQ_INT(lc_capture_open(NULL, "tone", err, sizeof err), LC_ERR_INVALID);
    lc_capture *cap;
    CHECK_EQ_INT(lc_capture_open(&cap, NULL, NULL, 0), LC_ERR_URI);
    /* good ones */
    const char *good[] = {"tone", "tone:440", "tone:1000.5", "tone:100?rate=8000&channels=1",
                          "pipe:-", "pipe:/tmp/nonexistent-fifo?format=f32le&rate=44100&channels=6"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int rc = lc_capture_open(&cap, good[i], err, sizeof err);
        CHECK_EQ_INT(rc, 0);
        if (rc == 0) {
            CHECK(!strcmp(lc_capture_uri(cap), good[i]));
            lc_capture_close(cap);
        }
    }
}

static void registry(void)
{
    ensure_ramp();
    CHECK_EQ_INT(lc_capture_register_backend(&ramp_backend), LC_ERR_INVALID);
    static lc_capture_backend bad[4];
    bad[0] = ramp_backend;
    bad[0].name = "tone"; /* a built-in's name */
    bad[1] = ramp_backend;
    bad[1].name = "auto";
    bad[2] = ramp_backend;
    bad[2].name = "Bad Name";
    bad[3] = ramp_backend;
    bad[3].name = "noread";
    bad[3].read = NULL;
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(lc_capture_register_backend(&bad[i]), LC_ERR_INVALID);
    CHECK_EQ_INT(lc_capture_register_backend(NULL), LC_ERR_INVALID);
    static lc_capture_backend more[16];
    static char names[16][16];
    int full = 0;
    for (int i = 0; i < 16; i++) {
        more[i] = ramp_backend;
        snprintf(names[i], sizeof names[i], "extra%d", i);
        more[i].name = names[i];
        int rc = lc_capture_register_backend(&more[i]);
        if (rc == LC_ERR_FULL)
            full++;
        else
            CHECK_EQ_INT(rc, 0);
    }
    CHECK_EQ_INT(full, 1); /* 16 extras: ramp + 15 of these fit */
    char err[128];
    lc_capture *cap;
    CHECK_EQ_INT(lc_capture_open(&cap, "extra3:fail=0", err, sizeof err), 0);
    lc_capture_close(cap);
    CHECK_EQ_INT(lc_capture_open(&cap, "ramp:bogus", err, sizeof err), LC_ERR_URI);
    CHECK(strstr(err, "ramp: bad option") != NULL);
    /* the registered backends show up in the listing */
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    lc_capture_list_sources(m);
    fclose(m);
    CHECK(strstr(text, "ramp[:fail=N") != NULL);
    CHECK(strstr(text, "tone[:FREQ]") != NULL);
    CHECK(strstr(text, "pipe:PATH|-") != NULL);
    CHECK(strstr(text, "file:PATH.wav") != NULL);
    free(text);
}

static void wait_until(int (*pred)(lc_capture *), lc_capture *cap, double seconds)
{
    uint64_t end = lc_now_ns() + (uint64_t)(seconds * 1e9);
    while (!pred(cap) && lc_now_ns() < end)
        usleep(5000);
}

static int reopened_and_flowing(lc_capture *cap)
{
    lc_capture_stats st;
    lc_capture_get_stats(cap, &st);
    return st.reopens == 1 && lc_capture_get_state(cap) == LC_CAPTURE_RUNNING;
}

static void backoff_and_reopen(void)
{
    ensure_ramp();
    char err[128];
    lc_capture *cap;
    CHECK_EQ_INT(lc_capture_open(&cap, "ramp:fail=3&lose=20", err, sizeof err), 0);
    ramp *r = g_ramp;
    CHECK_EQ_INT(lc_capture_get_state(cap), LC_CAPTURE_STOPPED);
    uint64_t t0 = lc_now_ns();
    CHECK_EQ_INT(lc_capture_start(cap), 0);
    CHECK_EQ_INT(lc_capture_start(cap), LC_ERR_STATE);
    usleep(150000);
    CHECK_EQ_INT(lc_capture_get_state(cap), LC_CAPTURE_RETRYING);
    lc_capture_stats st;
    lc_capture_get_stats(cap, &st);
    CHECK(strstr(st.last_error, "ramp: not there yet") != NULL);
    CHECK_EQ_INT(st.frames, 0);
    wait_until(reopened_and_flowing, cap, 5);
    usleep(50000);
    lc_capture_stop(cap);
    CHECK_EQ_INT(lc_capture_get_state(cap), LC_CAPTURE_STOPPED);
    lc_capture_get_stats(cap, &st);
    CHECK_EQ_INT(st.reopens, 1);
    CHECK(st.frames > 0);
    CHECK(strstr(st.last_error, "ramp: lost on purpose") != NULL);
    CHECK_EQ_INT(atomic_load(&r->nopen), 5); /* 3 failures, the open, the reopen */
    /* 100 → 200 → 400 ms between failed attempts; after audio flowed, back to 100 ms */
    CHECK(r->open_ns[0] - t0 < 50000000);
    const double want_ms[] = {100, 200, 400};
    for (int i = 0; i < 3; i++) {
        double ms = (double)(r->open_ns[i + 1] - r->open_ns[i]) / 1e6;
        CHECK(ms >= want_ms[i] - 1 && ms < want_ms[i] + 150); /* upper bound: scheduling slack */
        if (!(ms >= want_ms[i] - 1 && ms < want_ms[i] + 150))
            fprintf(stderr, "   backoff %d: %.1f ms, want %.0f\n", i, ms, want_ms[i]);
    }
    double after_loss = (double)(r->open_ns[4] - r->lost_ns) / 1e6;
    CHECK(after_loss >= 99 && after_loss < 250);
    lc_capture_close(cap);
}

static void stop_interrupts_backoff(void)
{
    ensure_ramp();
    char err[128];
    lc_capture *cap;
    CHECK_EQ_INT(lc_capture_open(&cap, "ramp:fail=1000", err, sizeof err), 0);
    CHECK_EQ_INT(lc_capture_start(cap), 0);
    usleep(1700000); /* attempts at 0, .1, .3, .7, 1.5 s; now inside a 1.6 s wait */
    CHECK_EQ_INT(lc_capture_get_state(cap), LC_CAPTURE_RETRYING);
    uint64_t t = lc_now_ns();
    lc_capture_stop(cap);
    double ms = (double)(lc_now_ns() - t) / 1e6;
    CHECK(ms < 100);
    CHECK_EQ_INT(atomic_load(&g_ramp->nopen), 5);
    lc_capture_stats st;
    lc_capture_get_stats(cap, &st);
    CHECK_EQ_INT(st.reopens, 0);
    CHECK_EQ_INT(st.frames, 0);
    lc_capture_close(cap);
}

typedef struct {
    uint64_t calls, frames, next_ns, zeros, discontinuities;
    lc_format last;
    uint64_t j; /* ramp frame index expected next (reset on a format change) */
    uint64_t bad_values;
} tl;

static void timeline_tap(void *user, const lc_format *fmt, const float *pcm, size_t frames,
                         uint64_t capture_ns)
{
    tl *t = user;
    if (fmt->rate != t->last.rate || fmt->channels != t->last.channels) {
        t->last = *fmt;
        t->j = 0;
        t->next_ns = 0;
    }
    if (t->next_ns && capture_ns != t->next_ns)
        t->discontinuities++;
    int silent = 1;
    for (size_t i = 0; i < frames * fmt->channels; i++)
        silent &= pcm[i] == 0.0f;
    if (silent) {
        t->zeros += frames;
    } else {
        for (size_t i = 0; i < frames; i++, t->j++)
            for (uint32_t c = 0; c < fmt->channels; c++)
                t->bad_values += pcm[i * fmt->channels + c] != ramp_value(t->j, c);
    }
    t->calls++;
    t->frames += frames;
    t->next_ns = capture_ns + frames * 1000000000ull / fmt->rate;
}

static void silence_fills_holes(void)
{
    ensure_ramp();
    char err[128];
    lc_capture *cap;
    tl t = {0};
    CHECK_EQ_INT(lc_capture_open(&cap, "ramp:gap=5", err, sizeof err), 0);
    CHECK(lc_capture_add_tap(cap, timeline_tap, &t) > 0);
    CHECK_EQ_INT(lc_capture_start(cap), 0);
    usleep(200000);
    lc_capture_stop(cap);
    lc_capture_stats st;
    lc_capture_get_stats(cap, &st);
    CHECK_EQ_INT(st.silence_frames, 4800); /* exactly the 100 ms that vanished, at 48 kHz */
    CHECK_EQ_INT(t.zeros, 4800);
    CHECK_EQ_INT(t.discontinuities, 0);
    CHECK_EQ_INT(t.bad_values, 0);
    CHECK_EQ_INT(st.frames, t.frames);
    CHECK_EQ_INT(st.callbacks, t.calls);
    lc_capture_close(cap);
}

static void format_switch(void)
{
    ensure_ramp();
    char err[128];
    lc_capture *cap;
    tl t = {0};
    CHECK_EQ_INT(lc_capture_open(&cap, "ramp:switch=5", err, sizeof err), 0);
    CHECK(lc_capture_add_tap(cap, timeline_tap, &t) > 0);
    CHECK_EQ_INT(lc_capture_start(cap), 0);
    usleep(150000);
    lc_capture_stop(cap);
    lc_capture_stats st;
    lc_capture_get_stats(cap, &st);
    CHECK_EQ_INT(st.format.rate, 96000);
    CHECK_EQ_INT(st.format.channels, 6);
    CHECK_EQ_INT(t.last.rate, 96000);
    CHECK_EQ_INT(t.last.channels, 6);
    CHECK_EQ_INT(t.bad_values, 0);
    CHECK(t.j > 960); /* frames arrived in the new format */
    CHECK_EQ_INT(st.silence_frames, 0);
    lc_capture_close(cap);
}

static void lifecycle(void)
{
    ensure_ramp();
    char err[128];
    lc_capture *cap;
    CHECK_EQ_INT(lc_capture_open(&cap, "ramp", err, sizeof err), 0);
    lc_capture_stop(cap); /* not started: no-op */
    CHECK_EQ_INT(lc_capture_remove_tap(cap, 12345), LC_ERR_NOT_FOUND);
    CHECK_EQ_INT(lc_capture_remove_tap(cap, 0), LC_ERR_NOT_FOUND);
    CHECK_EQ_INT(lc_capture_add_tap(cap, NULL, NULL), LC_ERR_INVALID);
    for (int round = 0; round < 2; round++) {
        tl t = {0};
        int id = lc_capture_add_tap(cap, timeline_tap, &t);
        CHECK(id > 0);
        CHECK_EQ_INT(lc_capture_start(cap), 0);
        usleep(60000);
        lc_capture_stop(cap);
        lc_capture_stats st;
        lc_capture_get_stats(cap, &st);
        CHECK(st.frames > 0);
        CHECK_EQ_INT(st.frames, t.frames); /* stats restart with each start */
        CHECK_EQ_INT(lc_capture_remove_tap(cap, id), 0);
        CHECK_EQ_INT(lc_capture_remove_tap(cap, id), LC_ERR_NOT_FOUND);
    }
    lc_capture_close(cap);
    lc_capture_close(NULL);
    CHECK(!strcmp(lc_capture_state_name(LC_CAPTURE_STOPPED), "stopped"));
    CHECK(!strcmp(lc_capture_state_name(LC_CAPTURE_STARTING), "starting"));
    CHECK(!strcmp(lc_capture_state_name(LC_CAPTURE_RUNNING), "running"));
    CHECK(!strcmp(lc_capture_state_name(LC_CAPTURE_RETRYING), "retrying"));
}

static void auto_resolves(void)
{
    char err[128];
    lc_capture *cap;
    CHECK_EQ_INT(lc_capture_open(&cap, "auto", err, sizeof err), 0);
    const char *u = lc_capture_uri(cap);
    CHECK(!strcmp(u, "loopback") || !strcmp(u, "alsa:default") || !strcmp(u, "tone:440"));
    lc_capture_close(cap);
    CHECK_EQ_INT(lc_capture_open(&cap, "auto:x", err, sizeof err), LC_ERR_NO_BACKEND);
}

LC_TEST_MAIN(TEST(uri_errors), TEST(registry), TEST(backoff_and_reopen),
             TEST(stop_interrupts_backoff), TEST(silence_fills_holes), TEST(format_switch),
             TEST(lifecycle), TEST(auto_resolves))
