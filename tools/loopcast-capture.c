/*
 * loopcast-capture — capture a source for a while, then save and/or describe what came out.
 *
 *   loopcast-capture [--seconds N] [--wav OUT.wav] [--float] [--report] URI
 *   loopcast-capture --list-sources | --list-devices
 *
 * Tests use the report (one key=value per line) to check that a real source delivers the
 * expected signal: frames, rate, channels, RMS, the dominant frequency over the whole capture
 * and over its last second (tail_hz: proves audio resumed after a source loss). Plain C and the
 * capture library only, so it builds unchanged for Windows.
 */
#include "capture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

typedef struct {
    lc_format fmt;        /* format of the frames in data */
    float *data;          /* interleaved; allocated on the first call and on format changes */
    size_t cap_frames, frames;
    double seconds;
    unsigned format_changes;
    uint64_t dropped;     /* frames beyond cap (a source faster than real time) */
    int oom;
} recording;

/* Runs on the capture thread; main reads `rec` only after lc_capture_stop joined it. */
static void rec_tap(void *user, const lc_format *fmt, const float *pcm, size_t frames,
                    uint64_t capture_ns)
{
    recording *r = user;
    (void)capture_ns;
    if (r->oom)
        return;
    if (!r->data || fmt->rate != r->fmt.rate || fmt->channels != r->fmt.channels) {
        if (r->data)
            r->format_changes++;
        free(r->data);
        r->fmt = *fmt;
        r->frames = 0;
        r->cap_frames = (size_t)((r->seconds + 2.0) * fmt->rate);
        r->data = malloc(r->cap_frames * fmt->channels * sizeof(float));
        if (!r->data) {
            r->oom = 1;
            return;
        }
    }
    size_t n = frames;
    if (n > r->cap_frames - r->frames) {
        r->dropped += n - (r->cap_frames - r->frames);
        n = r->cap_frames - r->frames;
    }
    memcpy(r->data + r->frames * fmt->channels, pcm, n * fmt->channels * sizeof(float));
    r->frames += n;
}

static double goertzel(const float *x, size_t n, double rate, double f)
{
    double c = 2.0 * cos(2.0 * M_PI * f / rate), s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double s0 = x[i] + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    return (s1 * s1 + s2 * s2 - c * s1 * s2) / ((double)n * (double)n);
}

/* Strongest frequency in x: a coarse scan summed over up to 10 short windows spread over the
 * signal (wide lobes, so a 10 Hz grid cannot step over a tone), then two refinements on up to
 * one second from the middle. Good to ~0.1 Hz for a clean tone. */
static double dominant_hz(const float *x, size_t n, double rate)
{
    if (n < 64)
        return 0;
    size_t win = (size_t)(rate / 20) < n ? (size_t)(rate / 20) : n;
    size_t nwin = n / win < 10 ? n / win : 10;
    double hi = rate / 2 - 20 < 20000 ? rate / 2 - 20 : 20000, best = 20, bp = -1;
    for (double f = 20; f <= hi; f += 10) {
        double p = 0;
        for (size_t w = 0; w < nwin; w++)
            p += goertzel(x + (n - win) * w / (nwin > 1 ? nwin - 1 : 1), win, rate, f);
        if (p > bp)
            bp = p, best = f;
    }
    size_t len = (size_t)rate < n ? (size_t)rate : n;
    const float *mid = x + (n - len) / 2;
    double step = 1.0, span = 20.0;
    for (int pass = 0; pass < 2; pass++) {
        double centre = best;
        bp = -1;
        for (double f = centre - span; f <= centre + span; f += step) {
            double p = f > 0 ? goertzel(mid, len, rate, f) : -1;
            if (p > bp)
                bp = p, best = f;
        }
        span = step;
        step = 0.05;
    }
    return best;
}

static double rms(const float *x, size_t n)
{
    double acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += (double)x[i] * x[i];
    return n ? sqrt(acc / (double)n) : 0;
}

static int write_wav(const char *path, const recording *r, int as_float)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return -1;
    }
    uint8_t hdr[44];
    lc_wav_header(hdr, &r->fmt, as_float, r->frames);
    int ok = fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr;
    size_t total = r->frames * r->fmt.channels;
    for (size_t i = 0; ok && i < total; i++) {
        uint8_t b[4];
        float v = r->data[i];
        if (as_float) {
            uint32_t u;
            memcpy(&u, &v, sizeof u);
            for (int k = 0; k < 4; k++)
                b[k] = (uint8_t)(u >> (8 * k));
            ok = fwrite(b, 1, 4, f) == 4;
        } else {
            double s = v * 32768.0;
            long q = lround(s > 32767 ? 32767 : s < -32768 ? -32768 : s);
            uint16_t u = (uint16_t)(q & 0xffff);
            b[0] = (uint8_t)u;
            b[1] = (uint8_t)(u >> 8);
            ok = fwrite(b, 1, 2, f) == 2;
        }
    }
    if (fclose(f) != 0)
        ok = 0;
    if (!ok) {
        fprintf(stderr, "loopcast-capture: writing %s failed\n", path);
        return -1;
    }
    return 0;
}

static int usage(FILE *out, int status)
{
    fprintf(out,
            "usage: loopcast-capture [--seconds N] [--wav OUT.wav] [--float] [--report] URI\n"
            "       loopcast-capture --list-sources | --list-devices\n"
            "  --seconds N   capture for N seconds (default 3, max 3600)\n"
            "  --wav FILE    write what was captured as a 16-bit WAV (--float: 32-bit float)\n"
            "  --report      print frames, rate, channels, rms, dominant_hz, ... (default if no\n"
            "                --wav)\n");
    return status;
}

int main(int argc, char **argv)
{
    double seconds = 3;
    const char *wav = NULL, *uri = NULL;
    int report = 0, as_float = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--seconds") || !strcmp(a, "--wav")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "loopcast-capture: %s needs a value\n", a);
                return 2;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--wav")) {
                wav = v;
                continue;
            }
            char *end;
            seconds = strtod(v, &end);
            if (end == v || *end || !(seconds > 0) || seconds > 3600) {
                fprintf(stderr, "loopcast-capture: --seconds: '%s' is not a number of seconds "
                        "in (0, 3600]\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--report")) {
            report = 1;
        } else if (!strcmp(a, "--float")) {
            as_float = 1;
        } else if (!strcmp(a, "--list-sources") || !strcmp(a, "--list-devices")) {
            /* one list: every backend's syntax, then the devices (ALSA PCMs, WASAPI render and
             * capture endpoints with their IDs and friendly names) */
            lc_capture_list_sources(stdout);
            return 0;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            return usage(stdout, 0);
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "loopcast-capture: unknown option '%s'\n", a);
            return usage(stderr, 2);
        } else if (uri) {
            fprintf(stderr, "loopcast-capture: one URI only ('%s' and '%s')\n", uri, a);
            return 2;
        } else {
            uri = a;
        }
    }
    if (!uri) {
        fprintf(stderr, "loopcast-capture: missing source URI\n");
        return usage(stderr, 2);
    }
    if (!wav)
        report = 1;

    char err[256];
    lc_capture *cap;
    int rc = lc_capture_open(&cap, uri, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "loopcast-capture: %s\n", err);
        return rc == LC_ERR_URI || rc == LC_ERR_NO_BACKEND ? 2 : 1;
    }
    recording rec = {.seconds = seconds};
    if ((rc = lc_capture_add_tap(cap, rec_tap, &rec)) < 0 || (rc = lc_capture_start(cap)) < 0) {
        fprintf(stderr, "loopcast-capture: %s\n", lc_strerror(rc));
        lc_capture_close(cap);
        return 1;
    }
    uint64_t end = lc_now_ns() + (uint64_t)(seconds * 1e9);
    for (uint64_t now = lc_now_ns(); now < end; now = lc_now_ns())
        lc_sleep_until_ns(now + 100000000u < end ? now + 100000000u : end);
    lc_capture_stop(cap);
    lc_capture_stats st;
    lc_capture_get_stats(cap, &st);

    int status = 0;
    if (rec.oom) {
        fprintf(stderr, "loopcast-capture: out of memory for %.0f s of audio\n", seconds);
        status = 1;
    }
    if (wav && rec.frames && write_wav(wav, &rec, as_float) < 0)
        status = 1;
    if (report) {
        size_t n = rec.frames, ch = rec.fmt.channels ? rec.fmt.channels : 1;
        float *mono = malloc((n ? n : 1) * sizeof *mono);
        double hz = 0, tail_hz = 0, r = 0, tail_r = 0;
        if (mono && n) {
            for (size_t i = 0; i < n; i++) {
                double s = 0;
                for (size_t c = 0; c < ch; c++)
                    s += rec.data[i * ch + c];
                mono[i] = (float)(s / (double)ch);
            }
            size_t tail = rec.fmt.rate < n ? rec.fmt.rate : n;
            hz = dominant_hz(mono, n, rec.fmt.rate);
            tail_hz = dominant_hz(mono + n - tail, tail, rec.fmt.rate);
            r = rms(rec.data, n * ch);
            tail_r = rms(rec.data + (n - tail) * ch, tail * ch);
        }
        free(mono);
        printf("uri=%s\nframes=%zu\nrate=%u\nchannels=%u\nseconds=%.3f\nrms=%.6f\n"
               "dominant_hz=%.1f\ntail_hz=%.1f\ntail_rms=%.6f\nxruns=%llu\nreopens=%llu\n"
               "silence_frames=%llu\nformat_changes=%u\ndropped=%llu\nstate_error=%s\n",
               lc_capture_uri(cap), n, rec.fmt.rate, rec.fmt.channels,
               rec.fmt.rate ? (double)n / rec.fmt.rate : 0.0, r, hz, tail_hz, tail_r,
               (unsigned long long)st.xruns, (unsigned long long)st.reopens,
               (unsigned long long)st.silence_frames, rec.format_changes,
               (unsigned long long)rec.dropped, st.last_error);
    }
    if (rec.frames == 0) {
        fprintf(stderr, "loopcast-capture: no audio captured from %s%s%s\n", lc_capture_uri(cap),
                st.last_error[0] ? ": " : "", st.last_error);
        status = 1;
    }
    free(rec.data);
    lc_capture_close(cap);
    return status;
}
