/*
 * test_keepalive.c — lc_capture_set_keepalive: what taps see while a source is lost and when it
 * comes back. A "flaky" backend registered here delivers a ramp (every sample non-zero, its value
 * encodes its index) in 10 ms chunks stamped like a pipe's (now − duration); the test makes it
 * vanish (reads fail, opens fail) and come back, and its first read after an open returns 100 ms
 * of "buffered" audio stamped 100 ms in the past, which must overlap the silence already given.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "capture.h"
#include "lc_test.h"

#define RATE 48000u
#define CHUNK 480u /* 10 ms */

static atomic_int g_gone;    /* 1: reads fail and opens fail */
static atomic_int g_stall;   /* 1: open, but reads give nothing (a paused FIFO writer) */
static atomic_uint g_opens;  /* successful opens */
static uint64_t g_idx;       /* ramp index of the next frame (capture thread only) */
static bool g_fresh;         /* first read after an open (capture thread only) */

static float ramp(uint64_t i) { return (float)(i % 1000u + 1u) / 2000.0f; }

static int fl_parse(const char *arg, void **state, char *errbuf, size_t errlen)
{
    (void)arg, (void)errbuf, (void)errlen;
    *state = &g_idx;
    return 0;
}

static int fl_open(void *state, lc_format *fmt, char *errbuf, size_t errlen)
{
    (void)state;
    if (atomic_load(&g_gone)) {
        snprintf(errbuf, errlen, "flaky: gone");
        return LC_ERR_DEVICE;
    }
    *fmt = (lc_format){RATE, 1};
    g_fresh = true;
    atomic_fetch_add(&g_opens, 1);
    return 0;
}

static int fl_read(void *state, lc_format *fmt, float *buf, size_t max_frames, size_t *frames,
                   uint64_t *capture_ns, uint64_t *xruns, char *errbuf, size_t errlen)
{
    (void)state, (void)fmt, (void)xruns;
    *frames = 0;
    if (atomic_load(&g_gone)) {
        snprintf(errbuf, errlen, "flaky: lost");
        return LC_ERR_DEVICE;
    }
    if (atomic_load(&g_stall)) {
        usleep(20000); /* like the pipe backend's poll timeout */
        return 0;
    }
    size_t n = g_fresh ? 10 * CHUNK : CHUNK; /* 100 ms "buffered" right after an open */
    if (n > max_frames)
        n = max_frames;
    if (!g_fresh)
        usleep(10000);
    g_fresh = false;
    for (size_t i = 0; i < n; i++)
        buf[i] = ramp(g_idx++);
    uint64_t now = lc_now_ns(), dur = (uint64_t)n * 1000000000ull / RATE;
    *capture_ns = now - dur;
    *frames = n;
    return 0;
}

static void fl_close(void *state) { (void)state; }
static void fl_destroy(void *state) { (void)state; }

static const lc_capture_backend flaky = {
    .name = "flaky", .parse = fl_parse, .open = fl_open, .read = fl_read,
    .close = fl_close, .destroy = fl_destroy,
};

/* What the tap saw. Capture thread writes, the test reads after lc_capture_stop (joined). */
typedef struct {
    pthread_mutex_t lock;
    uint64_t zeros, real, calls;
    uint64_t next_ns;          /* where the previous chunk ended */
    uint64_t strict_breaks;    /* timeline breaks at a transition involving silence */
    uint64_t loose_breaks;     /* real → real stamps more than 2 ms off (pipe-style jitter) */
    bool last_silent;
    int64_t last_val_idx;      /* ramp index of the last real sample, -1 none */
    uint64_t jumps;            /* real samples not following the previous one */
    uint64_t future;           /* chunks stamped to end after "now" */
} seen;

static int64_t idx_of(float v) { return (int64_t)(v * 2000.0f + 0.5f) - 1; }

static void tap(void *user, const lc_format *fmt, const float *pcm, size_t frames,
                uint64_t capture_ns)
{
    seen *s = user;
    bool silent = true;
    for (size_t i = 0; i < frames; i++)
        silent &= pcm[i] == 0.0f;
    uint64_t dur = (uint64_t)frames * 1000000000ull / fmt->rate;
    pthread_mutex_lock(&s->lock);
    if (s->next_ns) {
        int64_t d = (int64_t)capture_ns - (int64_t)s->next_ns;
        if (silent || s->last_silent) {
            if (d > 1000 || d < -1000) {
                s->strict_breaks++;
                fprintf(stderr, "   break %+lld ns at a %s → %s transition\n", (long long)d,
                        s->last_silent ? "silence" : "audio", silent ? "silence" : "audio");
            }
        } else if (d > 2000000 || d < -2000000) {
            s->loose_breaks++;
        }
    }
    if (silent) {
        s->zeros += frames;
    } else {
        for (size_t i = 0; i < frames; i++) {
            int64_t k = idx_of(pcm[i]);
            if (s->last_val_idx >= 0 && k != (s->last_val_idx + 1) % 1000)
                s->jumps++;
            s->last_val_idx = k;
        }
        s->real += frames;
    }
    if (capture_ns + dur > lc_now_ns() + 1000000)
        s->future++;
    s->last_silent = silent;
    s->next_ns = capture_ns + dur;
    s->calls++;
    pthread_mutex_unlock(&s->lock);
}

static void snap(seen *s, seen *out)
{
    pthread_mutex_lock(&s->lock);
    *out = *s;
    pthread_mutex_unlock(&s->lock);
}

static void wait_state(lc_capture *cap, lc_capture_state st, double secs)
{
    uint64_t end = lc_now_ns() + (uint64_t)(secs * 1e9);
    while (lc_capture_get_state(cap) != st && lc_now_ns() < end)
        usleep(2000);
}

/* The flaky source healthy, a tap on it, 200 ms of audio flowing. */
static lc_capture *start_flaky(bool keepalive, seen *s)
{
    char err[128];
    lc_capture *cap = NULL;
    atomic_store(&g_gone, 0);
    atomic_store(&g_stall, 0);
    CHECK_EQ_INT(lc_capture_open(&cap, "flaky", err, sizeof err), 0);
    lc_capture_set_keepalive(cap, keepalive);
    CHECK(lc_capture_add_tap(cap, tap, s) > 0);
    CHECK_EQ_INT(lc_capture_start(cap), 0);
    wait_state(cap, LC_CAPTURE_RUNNING, 2);
    usleep(200000);
    return cap;
}

/* One loss: `away_ms` without the source. Returns what the tap saw during it in *during. */
static void run(bool keepalive, unsigned away_ms, seen *s, seen *during, double *away_s)
{
    lc_capture *cap = start_flaky(keepalive, s);
    atomic_store(&g_gone, 1);
    wait_state(cap, LC_CAPTURE_RETRYING, 1);
    CHECK_EQ_INT(lc_capture_get_state(cap), LC_CAPTURE_RETRYING);
    /* from here on (a read in flight when g_gone was set has delivered its chunk) */
    seen before;
    snap(s, &before);
    uint64_t t0 = lc_now_ns();
    usleep(away_ms * 1000u);
    seen after;
    snap(s, &after);
    *away_s = (double)(lc_now_ns() - t0) / 1e9;
    *during = after;
    during->zeros = after.zeros - before.zeros;
    during->real = after.real - before.real;
    unsigned opens = atomic_load(&g_opens);
    atomic_store(&g_gone, 0);
    wait_state(cap, LC_CAPTURE_RUNNING, 3);
    CHECK_EQ_INT(lc_capture_get_state(cap), LC_CAPTURE_RUNNING);
    CHECK(atomic_load(&g_opens) == opens + 1);
    usleep(200000);
    lc_capture_stop(cap);
    lc_capture_stats st;
    lc_capture_get_stats(cap, &st);
    CHECK_EQ_INT(st.silence_frames, s->zeros);
    CHECK_EQ_INT(st.frames, s->zeros + s->real);
    CHECK_EQ_INT(st.reopens, 1);
    lc_capture_close(cap);
}

static void off_by_default(void)
{
    seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .last_val_idx = -1}, during;
    double away;
    run(false, 400, &s, &during, &away);
    CHECK_EQ_INT(during.zeros, 0); /* the documented contract without keep-alive */
    CHECK_EQ_INT(during.real, 0);
    CHECK_EQ_INT(s.zeros, 0);
    CHECK(s.real > RATE / 2);
}

static void silence_while_lost(void)
{
    seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .last_val_idx = -1}, during;
    double away;
    run(true, 600, &s, &during, &away);
    /* real time: the silence given covers the time away, within a tick or two (20 ms each) */
    double got_s = (double)during.zeros / RATE;
    CHECK_NEAR(got_s, away, 0.1, "seconds of silence given while the source was away");
    CHECK_EQ_INT(during.real, 0);
    CHECK_EQ_INT(s.strict_breaks, 0); /* audio → silence → audio on one timeline */
    CHECK_EQ_INT(s.future, 0);
    /* the 100 ms chunk after the reopen overlapped the silence: its head was dropped (one jump
     * in the ramp), and everything after it is sample-exact */
    CHECK_EQ_INT(s.jumps, 1);
    CHECK(s.real > RATE / 3);
    fprintf(stderr, "   away %.3f s, silence %.3f s, %llu real frames, %llu loose breaks\n", away,
            got_s, (unsigned long long)s.real, (unsigned long long)s.loose_breaks);
}

/* A stall: the source stays open and RUNNING but gives nothing for `ms`. */
static void run_stall(bool keepalive, unsigned ms, seen *s, seen *during)
{
    lc_capture *cap = start_flaky(keepalive, s);
    atomic_store(&g_stall, 1);
    usleep(30000); /* the read in flight delivers its chunk */
    seen before;
    snap(s, &before);
    usleep(ms * 1000u);
    CHECK_EQ_INT(lc_capture_get_state(cap), LC_CAPTURE_RUNNING); /* stalled is not lost */
    seen after;
    snap(s, &after);
    *during = after;
    during->zeros = after.zeros - before.zeros;
    during->real = after.real - before.real;
    atomic_store(&g_stall, 0);
    usleep(200000);
    lc_capture_stop(cap);
    lc_capture_stats st;
    lc_capture_get_stats(cap, &st);
    CHECK_EQ_INT(st.reopens, 0);
    CHECK_EQ_INT(st.silence_frames, s->zeros);
    lc_capture_close(cap);
}

static void stall_without_keepalive(void)
{
    seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .last_val_idx = -1}, during;
    run_stall(false, 600, &s, &during);
    CHECK_EQ_INT(during.zeros, 0);
    CHECK_EQ_INT(during.real, 0);
}

static void silence_while_stalled(void)
{
    seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .last_val_idx = -1}, during;
    run_stall(true, 800, &s, &during);
    /* silence starts once the stall is 250 ms old and then runs in real time: about 550 ms of
     * the 800 (a tick or two of slack each way, plus scheduling on a loaded machine) */
    double got_s = (double)during.zeros / RATE;
    fprintf(stderr, "   stalled 0.800 s, silence %.3f s, %llu strict breaks\n", got_s,
            (unsigned long long)s.strict_breaks);
    CHECK(got_s > 0.40 && got_s < 0.65);
    CHECK_EQ_INT(during.real, 0);
    CHECK_EQ_INT(s.future, 0);
    /* the writer resumes where it paused: the ramp stays sample-exact (nothing dropped), and
     * the only timeline break is the deliberate jump where the silence starts */
    CHECK_EQ_INT(s.jumps, 0);
    CHECK(s.strict_breaks <= 1);
    CHECK(s.real > RATE / 3);
}

int main(int argc, char **argv)
{
    CHECK_EQ_INT(lc_capture_register_backend(&flaky), 0);
    static const lc_test_case cases[] = {
        {"off_by_default", off_by_default},
        {"silence_while_lost", silence_while_lost},
        {"stall_without_keepalive", stall_without_keepalive},
        {"silence_while_stalled", silence_while_stalled},
    };
    return lc_test_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
