/*
 * capture.c — the core: URI → backend, one capture thread per source, taps, retry with backoff.
 *
 * Threads. The *owner* (whoever calls open/start/stop/close; those four must not race each other)
 * starts one *capture thread*, which alone calls the backend's open/read/close. Taps run on the
 * capture thread. Any thread may add/remove taps or read state and stats.
 *
 * Locks, never nested except tap_lock → stats_lock:
 *   tap_lock   (recursive) the tap table; held for a whole dispatch round, which is what makes
 *              "remove_tap returned ⇒ the tap is not running" true for other threads, while the
 *              recursion lets a tap remove itself (or add/remove others) from inside the round.
 *   stats_lock the stats block, so a reader always gets a consistent snapshot.
 *   wake_lock  only pairs with wake_cond to cut a backoff sleep short when stop is requested.
 *
 * Timeline. Within one open, the core keeps the timeline continuous for taps: if a chunk's
 * capture time is later than where the previous chunk ended by more than LC_GAP_MIN_NS (an ALSA
 * overrun, a stalled pipe writer), the hole is filled with silence (counted in silence_frames), so
 * a consumer that derives timestamps from frame counts stays in step with capture_ns. Across a
 * reopen there is no fill: the source was gone, and the next chunk starts a new timeline —
 * unless keep-alive is on (lc_capture_set_keepalive): then silence is given in real time while
 * the source is missing (after each empty read, and every 20 ms of a backoff sleep), and the
 * first audio after it continues that silence's timeline (trimmed or gap-filled to join it).
 *
 * Threads, locks and clocks come from platform.h (pthreads on POSIX, Win32 on Windows); which
 * backends exist is decided by the build (HAVE_ALSA, HAVE_PIPE, HAVE_WASAPI), not by #ifdef on
 * the operating system here.
 */
#include "capture_internal.h"
#include "platform.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LC_URI_MAX 1024
#define LC_BACKOFF_MIN_NS 100000000ull  /* 100 ms: a FIFO writer that reconnects is back fast */
#define LC_BACKOFF_MAX_NS 5000000000ull /* 5 s: a missing device is polled, not hammered */
#define LC_GAP_MIN_NS 50000000ull       /* below this, capture-time jitter, not lost audio */
#define LC_GAP_MAX_NS 5000000000ull     /* above this, a discontinuity, not a hole to fill */
#define LC_MAX_EXTRA_BACKENDS 16
#define LC_KEEPALIVE_TICK_NS 20000000ull    /* keep-alive silence goes out one Opus frame at a time */
#define LC_KEEPALIVE_RESUME_NS 500000000ull /* an older timeline end is not continued: jump to now */
/* A source that is open but gives nothing this long (a paused player holding a FIFO open, a
 * hung device) is stalled: keep-alive silence then goes out as if it were lost. Longer than a
 * bursty writer's gaps, short enough that a listener's buffer has just run dry. */
#define LC_STALL_NS 250000000ull

struct lc_tap {
    int id; /* 0 = free slot */
    lc_tap_fn fn;
    void *user;
};

struct lc_capture {
    /* Written in lc_capture_open only; read-only afterwards, so any thread may read them. */
    const lc_capture_backend *be;
    void *bstate;
    char uri[LC_URI_MAX];

    /* Owner thread only (start/stop/close). */
    lc_thread *thread; /* NULL when no capture thread runs */

    atomic_bool stop; /* owner sets, capture thread polls between reads and during backoff */
    atomic_int state; /* lc_capture_state; capture thread and owner write, anyone reads */
    atomic_bool keepalive; /* anyone writes (lc_capture_set_keepalive), capture thread reads */

    lc_mutex *wake_lock; /* pairs with wake_cond; guards nothing else (stop is atomic) */
    lc_cond *wake_cond;  /* monotonic deadlines, so a clock jump cannot stretch a backoff */

    lc_mutex *tap_lock; /* recursive; guards taps[] and next_tap_id */
    struct lc_tap taps[LC_CAPTURE_MAX_TAPS];
    int next_tap_id;

    lc_mutex *stats_lock; /* guards stats */
    lc_capture_stats stats;

    /* Capture thread only (and the owner before start / after join). */
    float *buf;       /* one read's worth of float frames; sized once per format */
    float *zeros;     /* same size, all zero: silence fill without a per-gap allocation */
    size_t buf_frames;
    uint32_t buf_channels, buf_rate; /* the format buf and zeros are sized for */
    uint64_t tl_end; /* capture time where the last dispatched chunk ended, 0 = none yet */
    bool filled;     /* the last chunk dispatched was keep-alive silence */
};

/* ---- registry --------------------------------------------------------------------------- */

static const lc_capture_backend *const lc_builtin[] = {
    &lc_backend_tone, &lc_backend_file,
#ifdef HAVE_PIPE
    &lc_backend_pipe,
#endif
#ifdef HAVE_ALSA
    &lc_backend_alsa, &lc_backend_loopback,
#endif
#ifdef HAVE_PULSE
    &lc_backend_app,
#endif
#ifdef HAVE_WASAPI
    &lc_backend_wasapi, &lc_backend_wasapi_capture, &lc_backend_app,
#endif
};
#define LC_NBUILTIN (sizeof lc_builtin / sizeof lc_builtin[0])

/* The registry lock is created on first use (lc_once): a platform mutex has no static
 * initialiser. If creating it fails (out of memory at start-up) the registry runs unlocked,
 * which is only unsafe for concurrent lc_capture_register_backend calls. */
static lc_mutex *lc_reg_lock;
static lc_once lc_reg_once = LC_ONCE_INIT;
static const lc_capture_backend *lc_extra[LC_MAX_EXTRA_BACKENDS]; /* guarded by lc_reg_lock */
static size_t lc_nextra;                                           /* guarded by lc_reg_lock */

static void lc_reg_init(void)
{
    if (lc_mutex_create(&lc_reg_lock, LC_MUTEX_PLAIN) < 0)
        lc_reg_lock = NULL;
}

static void lc_reg_acquire(void)
{
    lc_once_run(&lc_reg_once, lc_reg_init);
    if (lc_reg_lock)
        lc_mutex_lock(lc_reg_lock);
}

static void lc_reg_release(void)
{
    if (lc_reg_lock)
        lc_mutex_unlock(lc_reg_lock);
}

static int lc_name_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int lc_name_valid(const char *s, size_t n)
{
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!lc_name_char((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Caller holds lc_reg_lock. */
static const lc_capture_backend *lc_find_locked(const char *name, size_t n)
{
    for (size_t i = 0; i < LC_NBUILTIN; i++)
        if (strlen(lc_builtin[i]->name) == n && !memcmp(lc_builtin[i]->name, name, n))
            return lc_builtin[i];
    for (size_t i = 0; i < lc_nextra; i++)
        if (strlen(lc_extra[i]->name) == n && !memcmp(lc_extra[i]->name, name, n))
            return lc_extra[i];
    return NULL;
}

int lc_capture_register_backend(const lc_capture_backend *be)
{
    if (!be || !be->name || !lc_name_valid(be->name, strlen(be->name)) ||
        !strcmp(be->name, "auto") || !be->parse || !be->open || !be->read || !be->close ||
        !be->destroy)
        return LC_ERR_INVALID;
    int rc = 0;
    lc_reg_acquire();
    if (lc_find_locked(be->name, strlen(be->name)))
        rc = LC_ERR_INVALID;
    else if (lc_nextra == LC_MAX_EXTRA_BACKENDS)
        rc = LC_ERR_FULL;
    else
        lc_extra[lc_nextra++] = be;
    lc_reg_release();
    return rc;
}

/* "tone, file, pipe, ..." for error messages. */
static void lc_backend_names(char *out, size_t len)
{
    size_t n = 0;
    out[0] = 0;
    lc_reg_acquire();
    for (size_t i = 0; i < LC_NBUILTIN + lc_nextra; i++) {
        const char *nm = i < LC_NBUILTIN ? lc_builtin[i]->name : lc_extra[i - LC_NBUILTIN]->name;
        int w = snprintf(out + n, len - n, "%s%s", n ? ", " : "auto, ", nm);
        if (w < 0 || (size_t)w >= len - n)
            break;
        n += (size_t)w;
    }
    lc_reg_release();
}

/* ---- auto ------------------------------------------------------------------------------- */

/* The backends auto may pick, best first (by auto_rank; fallbacks last). Returns the count. */
static size_t lc_auto_candidates(const lc_capture_backend **out, size_t cap)
{
    size_t n = 0;
    lc_reg_acquire();
    for (size_t i = 0; i < LC_NBUILTIN + lc_nextra && n < cap; i++) {
        const lc_capture_backend *be =
            i < LC_NBUILTIN ? lc_builtin[i] : lc_extra[i - LC_NBUILTIN];
        if (be->auto_uri)
            out[n++] = be;
    }
    lc_reg_release();
    for (size_t i = 1; i < n; i++) /* insertion sort: stable, a handful of entries */
        for (size_t j = i; j > 0; j--) {
            const lc_capture_backend *a = out[j - 1], *b = out[j];
            bool later = a->auto_fallback != b->auto_fallback ? a->auto_fallback
                                                                : a->auto_rank < b->auto_rank;
            if (!later)
                break;
            out[j - 1] = b;
            out[j] = a;
        }
    return n;
}

/* "loopback, else alsa:default, else tone:440" for --list-sources. */
static void lc_auto_describe(char *out, size_t len)
{
    const lc_capture_backend *c[LC_NBUILTIN + LC_MAX_EXTRA_BACKENDS];
    size_t n = lc_auto_candidates(c, sizeof c / sizeof c[0]), o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o < len; i++) {
        const char *note = c[i]->probe           ? " if usable"
                           : c[i]->auto_fallback ? " (with a warning)"
                                                 : "";
        int w = snprintf(out + o, len - o, "%s%s%s", i ? ", else " : "", c[i]->auto_uri, note);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

/* Resolves `auto` to the first usable candidate's URI, "" if there is none. */
static void lc_capture_resolve_auto(char *out, size_t len)
{
    const lc_capture_backend *c[LC_NBUILTIN + LC_MAX_EXTRA_BACKENDS];
    size_t n = lc_auto_candidates(c, sizeof c / sizeof c[0]);
    char rejected[768] = "";
    size_t r = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char why[256] = "";
        if (c[i]->auto_fallback) {
            lc_log(LC_LOG_WARN, "capture",
                   "auto: NO AUDIO SOURCE FOUND, streaming the TEST TONE %s instead.%s%s%s Pick a "
                   "source with --source (see --list-sources).",
                   c[i]->auto_uri, r ? " " : "", rejected, r ? "." : "");
            snprintf(out, len, "%s", c[i]->auto_uri);
            return;
        }
        if (!c[i]->probe || c[i]->probe(why, sizeof why)) {
            lc_log(LC_LOG_INFO, "capture", "auto: using %s%s%s%s", c[i]->auto_uri,
                   r ? " (" : "", rejected, r ? ")" : "");
            snprintf(out, len, "%s", c[i]->auto_uri);
            return;
        }
        int w = snprintf(rejected + r, sizeof rejected - r, "%s%s rejected: %s", r ? "; " : "",
                         c[i]->auto_uri, why);
        if (w > 0 && (size_t)w < sizeof rejected - r)
            r += (size_t)w;
    }
}

void lc_capture_list_sources(FILE *out)
{
    fprintf(out, "Sources (URI syntax):\n");
    char autodesc[256];
    lc_auto_describe(autodesc, sizeof autodesc);
    fprintf(out, "  %-44s %s\n", "auto", autodesc);
    lc_reg_acquire();
    size_t n = LC_NBUILTIN + lc_nextra;
    const lc_capture_backend *all[LC_NBUILTIN + LC_MAX_EXTRA_BACKENDS];
    for (size_t i = 0; i < n; i++)
        all[i] = i < LC_NBUILTIN ? lc_builtin[i] : lc_extra[i - LC_NBUILTIN];
    lc_reg_release();
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %s\n", all[i]->usage ? all[i]->usage : all[i]->name);
    for (size_t i = 0; i < n; i++)
        if (all[i]->list) {
            fprintf(out, "Devices of '%s':\n", all[i]->name);
            all[i]->list(out);
        }
}

/* ---- open / close ----------------------------------------------------------------------- */

int lc_capture_open(lc_capture **out, const char *uri, char *errbuf, size_t errlen)
{
    lc_capture *cap = NULL;
    int rc;
    if (!out) {
        lc_errf(errbuf, errlen, "no output pointer");
        return LC_ERR_INVALID;
    }
    *out = NULL;
    if (!uri || !*uri) {
        lc_errf(errbuf, errlen, "empty source URI (try auto, tone:440, file:x.wav, ...)");
        return LC_ERR_URI;
    }
    if (strlen(uri) >= LC_URI_MAX) {
        lc_errf(errbuf, errlen, "source URI longer than %d bytes", LC_URI_MAX - 1);
        return LC_ERR_URI;
    }
    cap = calloc(1, sizeof *cap);
    if (!cap) {
        rc = LC_ERR_NOMEM;
        lc_errf(errbuf, errlen, "out of memory");
        goto fail;
    }
    if (!strcmp(uri, "auto")) {
        lc_capture_resolve_auto(cap->uri, sizeof cap->uri);
        if (!cap->uri[0]) {
            rc = LC_ERR_NO_BACKEND;
            lc_errf(errbuf, errlen, "auto: no source backend offers itself to auto in this build; "
                    "pick one with --source (see --list-sources)");
            goto fail;
        }
    } else
        snprintf(cap->uri, sizeof cap->uri, "%s", uri);

    const char *colon = strchr(cap->uri, ':');
    size_t nlen = colon ? (size_t)(colon - cap->uri) : strlen(cap->uri);
    if (!lc_name_valid(cap->uri, nlen)) {
        rc = LC_ERR_URI;
        lc_errf(errbuf, errlen, "bad source URI '%s': expected name[:argument] with a name of "
                "lowercase letters, digits, '-' or '_' (e.g. tone:440)", cap->uri);
        goto fail;
    }
    lc_reg_acquire();
    cap->be = lc_find_locked(cap->uri, nlen);
    lc_reg_release();
    if (!cap->be) {
        char names[256];
        lc_backend_names(names, sizeof names);
        rc = LC_ERR_NO_BACKEND;
        lc_errf(errbuf, errlen, "unknown source '%.*s' in URI '%s' (known: %s)", (int)nlen,
                cap->uri, cap->uri, names);
        goto fail;
    }
    rc = cap->be->parse(colon ? colon + 1 : NULL, &cap->bstate, errbuf, errlen);
    if (rc < 0)
        goto fail;

    if ((rc = lc_mutex_create(&cap->tap_lock, LC_MUTEX_RECURSIVE)) < 0 ||
        (rc = lc_mutex_create(&cap->stats_lock, LC_MUTEX_PLAIN)) < 0 ||
        (rc = lc_mutex_create(&cap->wake_lock, LC_MUTEX_PLAIN)) < 0 ||
        (rc = lc_cond_create(&cap->wake_cond)) < 0) {
        lc_errf(errbuf, errlen, "cannot create capture locks: %s", lc_strerror(rc));
        goto fail;
    }
    atomic_init(&cap->stop, false);
    atomic_init(&cap->state, LC_CAPTURE_STOPPED);
    atomic_init(&cap->keepalive, false);
    cap->next_tap_id = 1;
    *out = cap;
    return 0;

fail:
    if (cap) {
        if (cap->bstate)
            cap->be->destroy(cap->bstate);
        lc_mutex_destroy(cap->tap_lock); /* each is NULL-safe: fine when never created */
        lc_mutex_destroy(cap->stats_lock);
        lc_mutex_destroy(cap->wake_lock);
        lc_cond_destroy(cap->wake_cond);
    }
    free(cap);
    return rc;
}

void lc_capture_close(lc_capture *cap)
{
    if (!cap)
        return;
    lc_capture_stop(cap);
    cap->be->destroy(cap->bstate);
    lc_mutex_destroy(cap->tap_lock);
    lc_mutex_destroy(cap->stats_lock);
    lc_mutex_destroy(cap->wake_lock);
    lc_cond_destroy(cap->wake_cond);
    free(cap->buf);
    free(cap->zeros);
    free(cap);
}

const char *lc_capture_uri(const lc_capture *cap) { return cap ? cap->uri : ""; }

const char *lc_capture_state_name(lc_capture_state s)
{
    switch (s) {
    case LC_CAPTURE_STOPPED: return "stopped";
    case LC_CAPTURE_STARTING: return "starting";
    case LC_CAPTURE_RUNNING: return "running";
    case LC_CAPTURE_RETRYING: return "retrying";
    }
    return "unknown";
}

void lc_capture_set_keepalive(lc_capture *cap, bool on)
{
    if (cap)
        atomic_store(&cap->keepalive, on);
}

lc_capture_state lc_capture_get_state(const lc_capture *cap)
{
    return cap ? (lc_capture_state)atomic_load(&cap->state) : LC_CAPTURE_STOPPED;
}

void lc_capture_get_stats(const lc_capture *cap, lc_capture_stats *out)
{
    if (!cap || !out)
        return;
    /* a snapshot needs the lock, which is not const; the stats themselves are not modified */
    lc_capture *c = (lc_capture *)(uintptr_t)cap;
    lc_mutex_lock(c->stats_lock);
    *out = c->stats;
    lc_mutex_unlock(c->stats_lock);
}

/* ---- taps ------------------------------------------------------------------------------- */

int lc_capture_add_tap(lc_capture *cap, lc_tap_fn fn, void *user)
{
    if (!cap || !fn)
        return LC_ERR_INVALID;
    int id = LC_ERR_FULL;
    lc_mutex_lock(cap->tap_lock);
    for (int i = 0; i < LC_CAPTURE_MAX_TAPS; i++) {
        if (cap->taps[i].id == 0) {
            id = cap->next_tap_id;
            /* ids are never reused while an old holder could still try to remove "its" id */
            cap->next_tap_id = cap->next_tap_id == INT32_MAX ? 1 : cap->next_tap_id + 1;
            cap->taps[i] = (struct lc_tap){id, fn, user};
            break;
        }
    }
    lc_mutex_unlock(cap->tap_lock);
    return id;
}

int lc_capture_remove_tap(lc_capture *cap, int tap_id)
{
    if (!cap || tap_id <= 0)
        return tap_id <= 0 && cap ? LC_ERR_NOT_FOUND : LC_ERR_INVALID;
    int rc = LC_ERR_NOT_FOUND;
    /* Blocks while a dispatch round runs on another thread: once we hold the lock, the tap is
     * not running and the next round will not see it. On the capture thread (from inside a tap)
     * the lock is already ours, so this cannot deadlock. */
    lc_mutex_lock(cap->tap_lock);
    for (int i = 0; i < LC_CAPTURE_MAX_TAPS; i++)
        if (cap->taps[i].id == tap_id) {
            cap->taps[i] = (struct lc_tap){0, NULL, NULL};
            rc = 0;
            break;
        }
    lc_mutex_unlock(cap->tap_lock);
    return rc;
}

static void lc_capture_dispatch(lc_capture *cap, const lc_format *fmt, const float *pcm,
                                size_t frames, uint64_t capture_ns, bool silence)
{
    lc_format f = *fmt; /* taps get their own copy: nothing they do can alter ours */
    lc_mutex_lock(cap->tap_lock);
    /* re-read each slot: an earlier tap in this round may have removed or added one */
    for (int i = 0; i < LC_CAPTURE_MAX_TAPS; i++)
        if (cap->taps[i].id > 0)
            cap->taps[i].fn(cap->taps[i].user, &f, pcm, frames, capture_ns);
    lc_mutex_unlock(cap->tap_lock);

    lc_mutex_lock(cap->stats_lock);
    cap->stats.frames += frames;
    cap->stats.callbacks++;
    if (silence)
        cap->stats.silence_frames += frames;
    lc_mutex_unlock(cap->stats_lock);
}

/* ---- the capture thread ----------------------------------------------------------------- */

static void lc_capture_note_error(lc_capture *cap, int rc, const char *msg, bool *logged_same)
{
    char text[sizeof cap->stats.last_error];
    snprintf(text, sizeof text, "%s", *msg ? msg : lc_strerror(rc));
    lc_mutex_lock(cap->stats_lock);
    bool same = !strcmp(text, cap->stats.last_error);
    memcpy(cap->stats.last_error, text, sizeof text);
    lc_mutex_unlock(cap->stats_lock);
    /* one WARN per distinct error: a device that stays missing must not flood the log */
    if (!same || !*logged_same)
        lc_log(LC_LOG_WARN, "capture", "%s: %s (retrying)", cap->uri, text);
    else
        lc_log(LC_LOG_DEBUG, "capture", "%s: %s (retrying)", cap->uri, text);
    *logged_same = true;
}

static void lc_capture_keepalive(lc_capture *cap, bool stalled);

/* The backend's word on its source into the stats, when it changed (logged once then). */
static void lc_capture_note_detail(lc_capture *cap)
{
    char d[sizeof cap->stats.detail];
    d[0] = '\0';
    cap->be->detail(cap->bstate, d, sizeof d);
    lc_mutex_lock(cap->stats_lock);
    bool same = !strcmp(d, cap->stats.detail);
    if (!same)
        memcpy(cap->stats.detail, d, sizeof d);
    lc_mutex_unlock(cap->stats_lock);
    if (!same && d[0])
        lc_log(LC_LOG_INFO, "capture", "%s: %s", cap->uri, d);
}

static void lc_capture_backoff(lc_capture *cap, uint64_t *backoff)
{
    uint64_t deadline = lc_now_ns() + *backoff;
    lc_mutex_lock(cap->wake_lock);
    for (;;) {
        uint64_t now = lc_now_ns();
        if (atomic_load(&cap->stop) || now >= deadline)
            break;
        /* with keep-alive, wake every tick to give the silence due by then */
        bool ka = atomic_load(&cap->keepalive);
        uint64_t until = ka && deadline - now > LC_KEEPALIVE_TICK_NS ? now + LC_KEEPALIVE_TICK_NS
                                                                      : deadline;
        int w = lc_cond_wait_until(cap->wake_cond, cap->wake_lock, until);
        if (ka) {
            lc_mutex_unlock(cap->wake_lock); /* taps must not delay a stop request */
            lc_capture_keepalive(cap, false);
            lc_mutex_lock(cap->wake_lock);
        } else if (w == LC_ERR_TIMEOUT) {
            break;
        }
    }
    lc_mutex_unlock(cap->wake_lock);
    *backoff = *backoff * 2 > LC_BACKOFF_MAX_NS ? LC_BACKOFF_MAX_NS : *backoff * 2;
}

/* Sizes the read buffer for a format; a no-op unless the format changed, so the steady state
 * never allocates. */
static int lc_capture_size_buf(lc_capture *cap, const lc_format *fmt, char *err, size_t errlen)
{
    size_t frames = lc_capture_chunk_frames(fmt->rate);
    if (cap->buf && cap->buf_frames == frames && cap->buf_channels == fmt->channels &&
        cap->buf_rate == fmt->rate)
        return 0;
    float *b = calloc(frames * fmt->channels, sizeof *b);
    float *z = calloc(frames * fmt->channels, sizeof *z);
    if (!b || !z)
        goto fail;
    free(cap->buf);
    free(cap->zeros);
    cap->buf = b;
    cap->zeros = z;
    cap->buf_frames = frames;
    cap->buf_channels = fmt->channels;
    cap->buf_rate = fmt->rate;
    return 0;
fail:
    free(b);
    free(z);
    lc_errf(err, errlen, "out of memory for a %zu-frame buffer", frames);
    return LC_ERR_NOMEM;
}

static uint64_t lc_frames_ns(uint64_t frames, uint32_t rate)
{
    return frames / rate * 1000000000ull + frames % rate * 1000000000ull / rate;
}

/* Fills [*next_ns, until_ns) with silence; the caller checked the gap is in range. */
static void lc_capture_fill(lc_capture *cap, const lc_format *fmt, uint64_t *next_ns,
                            uint64_t until_ns)
{
    uint64_t gap = (until_ns - *next_ns) * fmt->rate / 1000000000ull;
    while (gap > 0 && !atomic_load(&cap->stop)) {
        size_t n = gap > cap->buf_frames ? cap->buf_frames : (size_t)gap;
        lc_capture_dispatch(cap, fmt, cap->zeros, n, *next_ns, true);
        *next_ns += lc_frames_ns(n, fmt->rate);
        gap -= n;
    }
}

/* Keep-alive: while the source gives nothing (not RUNNING, or `stalled`), silence up to now,
 * continuing the timeline where the last chunk ended if that is recent, else starting one tick
 * before now. A stall starts one tick before now too: the listeners have already waited out the
 * stall, and silence for it delivered late would only sit in their buffers as extra latency. */
static void lc_capture_keepalive(lc_capture *cap, bool stalled)
{
    if (!atomic_load(&cap->keepalive) ||
        (!stalled && atomic_load(&cap->state) == LC_CAPTURE_RUNNING))
        return;
    char err[64];
    lc_format fmt = {48000, 2}; /* never opened: the encoders' native format */
    if (!cap->buf && lc_capture_size_buf(cap, &fmt, err, sizeof err) < 0)
        return;
    fmt = (lc_format){cap->buf_rate, cap->buf_channels};
    uint64_t now = lc_now_ns();
    if (!cap->tl_end || (now > cap->tl_end && now - cap->tl_end > LC_KEEPALIVE_RESUME_NS) ||
        (stalled && !cap->filled))
        cap->tl_end = now - LC_KEEPALIVE_TICK_NS;
    if (cap->tl_end >= now)
        return;
    uint64_t due = (now - cap->tl_end) * fmt.rate / 1000000000ull;
    while (due > 0 && !atomic_load(&cap->stop)) {
        size_t n = due > cap->buf_frames ? cap->buf_frames : (size_t)due;
        lc_capture_dispatch(cap, &fmt, cap->zeros, n, cap->tl_end, true);
        cap->tl_end += lc_frames_ns(n, fmt.rate);
        due -= n;
        cap->filled = true;
    }
}

/* Reads until the source fails or stop is requested. Returns 0 on stop, else the error. */
static int lc_capture_pump(lc_capture *cap, lc_format *fmt, uint64_t *backoff, bool *logged,
                           char *err, size_t errlen)
{
    /* where the previous chunk ended on the capture timeline; 0 = none (a new timeline), or
     * the end of the keep-alive silence given while the source was away */
    uint64_t next_ns = cap->filled ? cap->tl_end : 0;
    while (!atomic_load(&cap->stop)) {
        size_t frames = 0;
        uint64_t cns = 0, xruns = 0;
        lc_format was = *fmt;
        err[0] = 0;
        int rc = cap->be->read(cap->bstate, fmt, cap->buf, cap->buf_frames, &frames, &cns,
                               &xruns, err, errlen);
        if (xruns) {
            lc_mutex_lock(cap->stats_lock);
            cap->stats.xruns += xruns;
            lc_mutex_unlock(cap->stats_lock);
        }
        if (cap->be->detail)
            lc_capture_note_detail(cap);
        if (rc < 0)
            return rc;
        if (fmt->rate != was.rate || fmt->channels != was.channels) {
            if (!lc_format_valid(fmt)) {
                lc_errf(err, errlen, "%s: backend switched to an invalid format (%u Hz, %u ch)",
                        cap->uri, fmt->rate, fmt->channels);
                return LC_ERR_FORMAT;
            }
            if ((rc = lc_capture_size_buf(cap, fmt, err, errlen)) < 0)
                return rc;
            lc_log(LC_LOG_INFO, "capture", "%s: format changed to %u Hz, %u channels", cap->uri,
                   fmt->rate, fmt->channels);
            lc_mutex_lock(cap->stats_lock);
            cap->stats.format = *fmt;
            lc_mutex_unlock(cap->stats_lock);
            next_ns = 0;
            continue; /* the contract: a read that changes the format delivers no frames */
        }
        if (frames == 0) {
            uint64_t now = lc_now_ns();
            bool stalled = atomic_load(&cap->state) == LC_CAPTURE_RUNNING && next_ns &&
                           (cap->filled || (now > next_ns && now - next_ns > LC_STALL_NS));
            lc_capture_keepalive(cap, stalled);
            if (cap->filled)
                next_ns = cap->tl_end;
            continue;
        }
        if (frames > cap->buf_frames)
            frames = cap->buf_frames; /* a backend bug must not become an overread */
        const float *pcm = cap->buf;
        if (cap->filled && next_ns && cns < next_ns) {
            /* audio is back, but its head was already covered by keep-alive silence: drop that
             * head rather than push the whole timeline (and every listener) later */
            uint64_t skip = (next_ns - cns) * fmt->rate / 1000000000ull;
            if (skip >= frames)
                continue;
            pcm += skip * fmt->channels;
            frames -= (size_t)skip;
            cns = next_ns;
        } else if (cap->filled && next_ns && cns > next_ns && cns - next_ns < LC_GAP_MIN_NS) {
            cns = next_ns; /* back a little after the silence ended: jitter, keep one timeline */
        }
        if (next_ns && cns > next_ns + LC_GAP_MIN_NS && cns - next_ns < LC_GAP_MAX_NS)
            lc_capture_fill(cap, fmt, &next_ns, cns);
        lc_capture_dispatch(cap, fmt, pcm, frames, cns, false);
        next_ns = cns + lc_frames_ns(frames, fmt->rate);
        cap->tl_end = next_ns;
        cap->filled = false;
        atomic_store(&cap->state, LC_CAPTURE_RUNNING);
        /* only real audio proves the source healthy: then the backoff starts over, and the next
         * failure is news worth a WARN */
        *backoff = LC_BACKOFF_MIN_NS;
        *logged = false;
    }
    return 0;
}

static void lc_capture_main(void *arg)
{
    lc_capture *cap = arg;
    char err[sizeof cap->stats.last_error];
    uint64_t backoff = LC_BACKOFF_MIN_NS;
    bool ever_opened = false, logged = false;

    while (!atomic_load(&cap->stop)) {
        lc_format fmt = {0, 0};
        err[0] = 0;
        int rc = cap->be->open(cap->bstate, &fmt, err, sizeof err);
        if (rc == 0 && !lc_format_valid(&fmt)) {
            cap->be->close(cap->bstate);
            lc_errf(err, sizeof err, "%s: backend opened with an invalid format (%u Hz, %u ch)",
                    cap->uri, fmt.rate, fmt.channels);
            rc = LC_ERR_FORMAT;
        } else if (rc == 0 && (rc = lc_capture_size_buf(cap, &fmt, err, sizeof err)) < 0) {
            cap->be->close(cap->bstate);
        }
        if (rc < 0) {
            atomic_store(&cap->state, LC_CAPTURE_RETRYING);
            lc_capture_note_error(cap, rc, err, &logged);
            lc_capture_backoff(cap, &backoff);
            continue;
        }
        lc_mutex_lock(cap->stats_lock);
        cap->stats.format = fmt;
        if (ever_opened)
            cap->stats.reopens++;
        lc_mutex_unlock(cap->stats_lock);
        lc_log(ever_opened ? LC_LOG_INFO : LC_LOG_DEBUG, "capture", "%s: %s (%u Hz, %u channels)",
               cap->uri, ever_opened ? "reopened" : "opened", fmt.rate, fmt.channels);
        ever_opened = true;

        rc = lc_capture_pump(cap, &fmt, &backoff, &logged, err, sizeof err);
        cap->be->close(cap->bstate);
        if (atomic_load(&cap->stop))
            break;
        atomic_store(&cap->state, LC_CAPTURE_RETRYING);
        lc_capture_note_error(cap, rc, err, &logged);
        lc_capture_backoff(cap, &backoff);
    }
}

int lc_capture_start(lc_capture *cap)
{
    if (!cap)
        return LC_ERR_INVALID;
    if (cap->thread)
        return LC_ERR_STATE;
    atomic_store(&cap->stop, false);
    atomic_store(&cap->state, LC_CAPTURE_STARTING);
    cap->tl_end = 0; /* the thread is not running: ours to reset */
    cap->filled = false;
    lc_mutex_lock(cap->stats_lock);
    lc_format f = cap->stats.format;
    memset(&cap->stats, 0, sizeof cap->stats);
    cap->stats.format = f;
    lc_mutex_unlock(cap->stats_lock);
    int e = lc_thread_create(&cap->thread, lc_capture_main, cap);
    if (e < 0) {
        cap->thread = NULL;
        atomic_store(&cap->state, LC_CAPTURE_STOPPED);
        lc_log(LC_LOG_ERROR, "capture", "%s: cannot start the capture thread: %s", cap->uri,
               lc_strerror(e));
        return e;
    }
    return 0;
}

void lc_capture_stop(lc_capture *cap)
{
    if (!cap || !cap->thread)
        return;
    if (lc_thread_is_current(cap->thread)) {
        /* joining ourselves would deadlock; capture.h forbids this, so say so loudly */
        lc_log(LC_LOG_ERROR, "capture", "lc_capture_stop called from a tap: ignored");
        return;
    }
    atomic_store(&cap->stop, true);
    lc_mutex_lock(cap->wake_lock);
    lc_cond_broadcast(cap->wake_cond);
    lc_mutex_unlock(cap->wake_lock);
    lc_thread_join(cap->thread);
    cap->thread = NULL;
    atomic_store(&cap->state, LC_CAPTURE_STOPPED);
}
