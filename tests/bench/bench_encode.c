/*
 * bench_encode.c — `loopcast-bench encode`: what the encoder tap costs the capture thread, and
 * main() for loopcast-bench.
 *
 * Encodes a synthetic music-like signal (a few partials with tremolo + a little noise, stereo)
 * as fast as the machine goes, pushed in chunks of one frame's duration at the input rate, the
 * way a capture thread delivers it. By default it runs twice: 48 kHz input (no resampler) and
 * 44.1 kHz input (through speexdsp). For each run it prints:
 *   - x real time: seconds of audio encoded per wall-clock second,
 *   - µs per frame, mean / p99 / max: the whole pipeline (map + resample + encode) per packet,
 *     the time the capture thread is held,
 *   - encode-only µs per frame (opus_encode_float alone, from the encoder's stats),
 *   - % of one core at real time: thread CPU time / audio duration.
 *
 * Subcommands live one per file; each is a `int fn(int argc, char **argv)` returning the exit
 * status (0 ok, 1 a check failed, 2 bad arguments). To add one, append it to `subcommands` below
 * behind a compile definition set by tests/bench/CMakeLists.txt, as `listeners` and `bare` are.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "lc_dsp.h"

#if defined(LC_BENCH_HAVE_LISTENERS) || defined(LC_BENCH_HAVE_BARE)
#include "bench.h"
#endif

typedef struct bench_sink {
    uint64_t packets, bytes;
} bench_sink;

static void sink_packet(void *user, const lc_opus_packet *p)
{
    bench_sink *s = user;
    s->packets++;
    s->bytes += p->len;
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A few partials with slow tremolo and a little white noise: enough spectral content that
 * Opus works as hard as on music, unlike a pure tone it would code almost for free. */
static void fill_music(float *out, size_t frames, double rate)
{
    static const double f[] = {110.0, 220.5, 331.0, 440.0, 659.3, 1250.0, 3520.0, 7040.0};
    static const double a[] = {0.20, 0.12, 0.08, 0.10, 0.07, 0.05, 0.02, 0.01};
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < frames; i++) {
        double t = (double)i / rate, l = 0, r = 0;
        for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
            double v = a[k] * (0.8 + 0.2 * sin(2 * M_PI * 0.3 * (double)(k + 1) * t)) *
                       sin(2 * M_PI * f[k] * t);
            l += v * (k % 2 ? 0.7 : 1.0);
            r += v * (k % 2 ? 1.0 : 0.7);
        }
        for (int c = 0; c < 2; c++) {
            seed ^= seed >> 12, seed ^= seed << 25, seed ^= seed >> 27;
            double noise = ((double)((seed * 2685821657736338717ull) >> 11) / 9007199254740992.0 -
                            0.5) * 0.03;
            out[2 * i + (size_t)c] = (float)((c ? r : l) + noise);
        }
    }
}

typedef struct bench_opts {
    double seconds;
    lc_opus_config cfg;
    uint32_t rate; /* 0: both 48000 and 44100 */
} bench_opts;

static int run_one(const bench_opts *o, uint32_t rate)
{
    int rc = 1;
    lc_opus_encoder *enc = NULL;
    float *sig = NULL;
    uint64_t *cost = NULL;
    bench_sink sink = {0};
    char err[160];

    /* 10 s of signal, looped: generating it must not be part of what is measured */
    size_t sig_frames = (size_t)rate * 10;
    size_t total = (size_t)llround(o->seconds * rate);
    size_t chunk = (size_t)llround((double)rate * o->cfg.frame_us / 1e6);
    if (chunk == 0)
        chunk = 1;
    size_t max_packets = (size_t)(o->seconds * 1e6 / o->cfg.frame_us) + 16;
    sig = malloc(sig_frames * 2 * sizeof(float));
    cost = malloc(max_packets * sizeof *cost);
    if (!sig || !cost) {
        fprintf(stderr, "encode: out of memory\n");
        goto fail;
    }
    fill_music(sig, sig_frames, rate);
    if (lc_opus_create(&enc, &o->cfg, sink_packet, &sink, err, sizeof err) < 0) {
        fprintf(stderr, "encode: %s\n", err);
        goto fail;
    }
    lc_format fmt = {rate, 2};
    size_t ncost = 0, pos = 0;
    uint64_t pending_ns = 0;
    uint64_t wall0 = lc_now_ns(), cpu0 = thread_cpu_ns();
    for (size_t done = 0; done < total;) {
        size_t n = chunk;
        if (n > total - done)
            n = total - done;
        if (n > sig_frames - pos)
            n = sig_frames - pos;
        uint64_t before = sink.packets, t0 = lc_now_ns();
        if (lc_opus_push(enc, &fmt, sig + pos * 2, n, t0) < 0) {
            fprintf(stderr, "encode: push failed\n");
            goto fail;
        }
        /* a push that completes no frame still did work for the next one: carry its time */
        pending_ns += lc_now_ns() - t0;
        uint64_t k = sink.packets - before;
        for (uint64_t j = 0; j < k && ncost < max_packets; j++)
            cost[ncost++] = pending_ns / k;
        if (k)
            pending_ns = 0;
        done += n;
        pos = (pos + n) % sig_frames;
    }
    uint64_t wall = lc_now_ns() - wall0, cpu = thread_cpu_ns() - cpu0;

    lc_opus_stats st;
    lc_opus_get_stats(enc, &st);
    double audio_s = (double)total / rate, mean = 0;
    for (size_t i = 0; i < ncost; i++)
        mean += (double)cost[i];
    mean = ncost ? mean / (double)ncost / 1000.0 : 0;
    qsort(cost, ncost, sizeof *cost, cmp_u64);
    double p99 = ncost ? (double)cost[(size_t)((double)(ncost - 1) * 0.99)] / 1000.0 : 0;
    double mx = ncost ? (double)cost[ncost - 1] / 1000.0 : 0;
    double enc_only = st.packets ? (double)st.encode_ns_total / (double)st.packets / 1000.0 : 0;
    printf("%6u  %9.1f  %8.1f  %8.1f  %8.1f  %9.1f  %7.2f  %8.1f\n", rate,
           audio_s / ((double)wall / 1e9), mean, p99, mx, enc_only,
           100.0 * ((double)cpu / 1e9) / audio_s, (double)sink.bytes * 8 / audio_s / 1000.0);
    rc = 0;
fail:
    lc_opus_destroy(enc);
    free(cost);
    free(sig);
    return rc;
}

static void encode_usage(FILE *f)
{
    fprintf(f, "usage: loopcast-bench encode [--seconds N] [--frame-ms 2.5|5|10|20|40|60] "
               "[--bitrate BPS] [--complexity 0..10] [--rate HZ] [--resample-quality 0..10]\n"
               "       [--lowdelay] [--cbr]\n"
               "  defaults: 60 s, 20 ms, 128000 b/s, complexity 10, resample quality 5,\n"
               "  one run at 48000 and one at 44100 (or only --rate)\n");
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int bench_encode(int argc, char **argv)
{
    bench_opts o = {.seconds = 60, .rate = 0};
    lc_opus_config_default(&o.cfg);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            encode_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--lowdelay")) {
            o.cfg.application = LC_OPUS_APP_LOWDELAY;
            continue;
        } else if (!strcmp(a, "--cbr")) {
            o.cfg.vbr = false;
            continue;
        } else if (!strcmp(a, "--seconds") && !parse_long(v, 1, 86400, &n)) {
            o.seconds = (double)n;
        } else if (!strcmp(a, "--frame-ms") && v && !lc_opus_parse_frame_ms(v, &o.cfg.frame_us)) {
        } else if (!strcmp(a, "--bitrate") && !parse_long(v, 6000, 510000, &n)) {
            o.cfg.bitrate = (int32_t)n;
        } else if (!strcmp(a, "--complexity") && !parse_long(v, 0, 10, &n)) {
            o.cfg.complexity = (int)n;
        } else if (!strcmp(a, "--rate") && !parse_long(v, 8000, (long)LC_MAX_RATE, &n)) {
            o.rate = (uint32_t)n;
        } else if (!strcmp(a, "--resample-quality") && !parse_long(v, 0, 10, &n)) {
            o.cfg.resample_quality = (int)n;
        } else {
            fprintf(stderr, "loopcast-bench encode: bad option or value: %s%s%s\n", a,
                    v ? " " : "", v ? v : "");
            encode_usage(stderr);
            return 2;
        }
        i++;
    }
    printf("loopcast-bench encode: %.0f s of stereo music-like signal per run, %.1f ms frames, "
           "%d b/s %s, complexity %d, %s, resample quality %d\n",
           o.seconds, o.cfg.frame_us / 1000.0, (int)o.cfg.bitrate, o.cfg.vbr ? "VBR" : "CBR",
           o.cfg.complexity, o.cfg.application == LC_OPUS_APP_LOWDELAY ? "restricted-lowdelay"
                                                                        : "audio",
           o.cfg.resample_quality);
    printf("  rate  x realtime  us/frame     p99       max  encode-only  %%core@RT  kb/s out\n");
    fflush(stdout);
    int rc = 0;
    if (o.rate) {
        rc = run_one(&o, o.rate);
    } else {
        rc = run_one(&o, 48000);
        if (!rc)
            rc = run_one(&o, 44100);
    }
    return rc;
}

typedef struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommand;

static const subcommand subcommands[] = {
    {"encode", bench_encode, "encoder tap cost: x real time, us per frame, % of a core"},
#ifdef LC_BENCH_HAVE_LISTENERS
    {"listeners", lc_bench_listeners, "N WebSocket listeners against a running server"},
#endif
#ifdef LC_BENCH_HAVE_BARE
    {"bare", lc_bench_bare, "reference fan-out loop (one thread, epoll) for `listeners` to measure"},
#endif
};

int main(int argc, char **argv)
{
    const size_t n = sizeof subcommands / sizeof subcommands[0];
    if (argc >= 2) {
        for (size_t i = 0; i < n; i++)
            if (!strcmp(argv[1], subcommands[i].name))
                return subcommands[i].run(argc - 1, argv + 1);
    }
    FILE *f = argc >= 2 && strcmp(argv[1], "--help") && strcmp(argv[1], "-h") ? stderr : stdout;
    if (f == stderr && argc >= 2)
        fprintf(stderr, "loopcast-bench: unknown subcommand: %s\n", argv[1]);
    fprintf(f, "usage: loopcast-bench SUBCOMMAND [options]   (SUBCOMMAND --help for options)\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
    return f == stderr ? 2 : 0;
}
