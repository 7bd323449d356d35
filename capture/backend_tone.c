/*
 * backend_tone.c — "tone:FREQ[?rate=R&channels=C]": a sine wave at half amplitude, paced in real
 * time. It never fails, which makes it the fallback of "auto" and the reference source of the
 * timing tests: its capture_ns are exact (frame n was "captured" at start + n/rate).
 */
#include "capture_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LC_TONE_AMPLITUDE 0.5

/* Set up by parse on the caller's thread; from then on touched by the capture thread only. */
typedef struct {
    double freq;
    lc_format fmt;
    double phase; /* in cycles, [0, 1); carried across reads so chunks join without a click */
    lc_pacer pacer;
} lc_tone;

static int tone_parse(const char *arg, void **state, char *errbuf, size_t errlen)
{
    lc_tone *t = NULL;
    char num[64];
    const char *q = arg ? strchr(arg, '?') : NULL;
    size_t n = arg ? (q ? (size_t)(q - arg) : strlen(arg)) : 0;
    double f = 440.0;
    lc_format fmt = {48000, 2};
    unsigned seen;
    int rc = lc_capture_parse_pcm_opts("tone", q ? q + 1 : NULL, NULL, &fmt, &seen, errbuf,
                                       errlen);
    if (rc < 0)
        return rc;
    if (n > 0) {
        char *end;
        if (n >= sizeof num)
            goto bad;
        memcpy(num, arg, n);
        num[n] = 0;
        errno = 0;
        f = strtod(num, &end);
        if (end == num || *end || errno || !lc_finite(f))
            goto bad;
    }
    if (!(f > 0.0) || f >= fmt.rate / 2.0) {
        lc_errf(errbuf, errlen, "tone: frequency %g Hz out of range (0 < FREQ < %g, half the "
                "%u Hz rate)", f, fmt.rate / 2.0, fmt.rate);
        return LC_ERR_URI;
    }
    t = calloc(1, sizeof *t);
    if (!t) {
        lc_errf(errbuf, errlen, "tone: out of memory");
        return LC_ERR_NOMEM;
    }
    t->freq = f;
    t->fmt = fmt;
    *state = t;
    return 0;
bad:
    lc_errf(errbuf, errlen, "tone: '%.*s' is not a frequency in Hz (e.g. tone:440)", (int)n, arg);
    return LC_ERR_URI;
}

static int tone_open(void *state, lc_format *fmt, char *errbuf, size_t errlen)
{
    lc_tone *t = state;
    (void)errbuf;
    (void)errlen;
    *fmt = t->fmt;
    lc_pacer_reset(&t->pacer, t->fmt.rate);
    return 0;
}

static int tone_read(void *state, lc_format *fmt, float *buf, size_t max_frames, size_t *frames,
                     uint64_t *capture_ns, uint64_t *xruns, char *errbuf, size_t errlen)
{
    lc_tone *t = state;
    (void)fmt;
    (void)errbuf;
    (void)errlen;
    /* 10 ms chunks: short enough for a low-latency encoder, long enough to cost nothing */
    size_t n = t->fmt.rate / 100 ? t->fmt.rate / 100 : 1;
    if (n > max_frames)
        n = max_frames;
    *capture_ns = lc_pacer_wait(&t->pacer, n, xruns);
    double step = t->freq / t->fmt.rate;
    for (size_t i = 0; i < n; i++) {
        float v = (float)(LC_TONE_AMPLITUDE * sin(2.0 * M_PI * t->phase));
        for (uint32_t c = 0; c < t->fmt.channels; c++)
            buf[i * t->fmt.channels + c] = v;
        t->phase += step;
        if (t->phase >= 1.0)
            t->phase -= 1.0;
    }
    *frames = n;
    return 0;
}

static void tone_close(void *state) { (void)state; }
static void tone_destroy(void *state) { free(state); }

const lc_capture_backend lc_backend_tone = {
    .name = "tone",
    .usage = "tone[:FREQ][?rate=48000&channels=2]          a sine wave, FREQ Hz (default 440)",
    .parse = tone_parse,
    .open = tone_open,
    .read = tone_read,
    .close = tone_close,
    .destroy = tone_destroy,
    .auto_uri = "tone:440",
    .auto_fallback = true,
};
