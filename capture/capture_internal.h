/*
 * capture_internal.h — what the core and the built-in backends share, and nothing else.
 * Not installed, not included outside capture/.
 */
#ifndef LC_CAPTURE_INTERNAL_H
#define LC_CAPTURE_INTERNAL_H

#include "capture.h"

/* Built-in backends, each defined in its own backend_*.c. */
extern const lc_capture_backend lc_backend_tone;
extern const lc_capture_backend lc_backend_file;
#ifdef HAVE_PIPE /* POSIX FIFOs/stdin with poll(); not built on Windows (see docs/windows.md) */
extern const lc_capture_backend lc_backend_pipe;
#endif
#ifdef HAVE_WASAPI /* backend_wasapi.c: loopback of a render endpoint, and capture endpoints */
extern const lc_capture_backend lc_backend_wasapi;
extern const lc_capture_backend lc_backend_wasapi_capture;

/* wasapi_hresult.c: the symbolic name of an HRESULT ("AUDCLNT_E_DEVICE_INVALIDATED",
 * "E_NOTFOUND", ...), or its hex value written into buf[len] when it is not in the table.
 * `hr` is an HRESULT (a 32-bit LONG; `long` keeps windows.h out of this header). */
const char *lc_wasapi_hr_name(long hr, char *buf, size_t len);
#endif
#if defined(HAVE_PULSE) || defined(HAVE_WASAPI)
/* app:NAME, one application: backend_app_pulse.c (its sink input) or backend_app_win32.c (its
 * process tree, WASAPI process loopback) */
extern const lc_capture_backend lc_backend_app;
#endif
#ifdef HAVE_ALSA
extern const lc_capture_backend lc_backend_alsa;
extern const lc_capture_backend lc_backend_loopback;
#endif

/* Frames in the core's read buffer for a rate: 100 ms (the longest a read may block), and never
 * fewer than 1024 so odd low rates still get a useful chunk. Backends size their raw buffers
 * with the same formula so one read never needs more than the core can take. */
static inline size_t lc_capture_chunk_frames(uint32_t rate)
{
    return rate / 10 < 1024 ? 1024 : rate / 10;
}

/*
 * Options after '?' in a URI argument: "format=s16le&rate=48000&channels=2". Keys other than
 * these three are an error naming the key, so a typo never silently falls back to a default.
 * Fields present in the text overwrite the ones in *fmt / *sample; *seen gets a bit per key
 * (LC_OPT_FORMAT, ...) so a backend can tell "asked for" from "default".
 */
enum { LC_OPT_FORMAT = 1, LC_OPT_RATE = 2, LC_OPT_CHANNELS = 4 };
int lc_capture_parse_pcm_opts(const char *backend, const char *opts, lc_sample_type *sample,
                              lc_format *fmt, unsigned *seen, char *errbuf, size_t errlen);

/*
 * Real-time pacing on absolute CLOCK_MONOTONIC deadlines: chunk n ends at
 * start + frames_done * 1e9 / rate, computed from the frame count every time, so rounding never
 * accumulates and an hour of audio is an hour of wall time. Shared by tone and file.
 */
typedef struct lc_pacer {
    uint64_t start_ns; /* timeline origin: capture time of frame 0 */
    uint64_t frames;   /* frames handed out since start_ns */
    uint32_t rate;
} lc_pacer;

/* If the thread fell this far behind (suspend, stopped in a debugger) the timeline is restarted
 * at "now" instead of bursting out the backlog; it counts as one xrun. */
#define LC_PACER_MAX_LAG_NS 1000000000ull

static inline uint64_t lc_pacer_time(const lc_pacer *p, uint64_t frames)
{
    /* split to keep frames * 1e9 from overflowing 64 bits after ~5 days at 48 kHz */
    return p->start_ns + (frames / p->rate) * 1000000000ull +
           (frames % p->rate) * 1000000000ull / p->rate;
}

static inline void lc_pacer_reset(lc_pacer *p, uint32_t rate)
{
    p->start_ns = lc_now_ns();
    p->frames = 0;
    p->rate = rate;
}

/* Waits until `n` more frames are due; returns the capture time of the first of them. */
static inline uint64_t lc_pacer_wait(lc_pacer *p, size_t n, uint64_t *xruns)
{
    uint64_t end = lc_pacer_time(p, p->frames + n);
    uint64_t now = lc_now_ns();
    if (now > end && now - end > LC_PACER_MAX_LAG_NS) {
        p->start_ns = now - (end - p->start_ns);
        (*xruns)++;
        end = now;
    }
    /* lc_sleep_until_ns returns early on a signal; a chunk must never be handed out early */
    while (now < end) {
        lc_sleep_until_ns(end);
        now = lc_now_ns();
    }
    uint64_t first = lc_pacer_time(p, p->frames);
    p->frames += n;
    return first;
}

#endif
