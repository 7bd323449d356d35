/*
 * codec_util.h — what the codec tests share: a packet collector, a real libopus decoder pass,
 * signal generators and the measurements (sine fit SNR, amplitude at a frequency).
 */
#ifndef LC_CODEC_UTIL_H
#define LC_CODEC_UTIL_H

#include <math.h>
#include <opus.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "lc_dsp.h"

#define T0_NS 5000000000ull /* a non-zero start so capture times never sit at the clock's edge */

typedef struct pk_meta {
    uint64_t seq, pts, capture_ns;
    uint32_t frame_samples, channels;
    size_t off, len; /* into the collector's byte store */
} pk_meta;

typedef struct pk_list {
    pk_meta *m;
    size_t n, cap;
    uint8_t *bytes;
    size_t nbytes, bcap;
} pk_list;

static inline void pk_collect(void *user, const lc_opus_packet *p)
{
    pk_list *l = user;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->m = realloc(l->m, l->cap * sizeof *l->m);
        if (!l->m)
            abort();
    }
    if (l->nbytes + p->len > l->bcap) {
        l->bcap = (l->bcap + p->len) * 2;
        l->bytes = realloc(l->bytes, l->bcap);
        if (!l->bytes)
            abort();
    }
    memcpy(l->bytes + l->nbytes, p->data, p->len);
    l->m[l->n++] = (pk_meta){p->seq, p->pts, p->capture_ns, p->frame_samples, p->channels,
                             l->nbytes, p->len};
    l->nbytes += p->len;
}

static inline void pk_free(pk_list *l)
{
    free(l->m);
    free(l->bytes);
    memset(l, 0, sizeof *l);
}

/* Decodes every packet with a fresh libopus decoder; returns interleaved float (caller frees)
 * and the frame count in *frames, or NULL if a packet fails to decode. */
static inline float *pk_decode(const pk_list *l, int channels, size_t *frames)
{
    int err = 0;
    OpusDecoder *dec = opus_decoder_create(48000, channels, &err);
    if (!dec)
        return NULL;
    size_t total = 0;
    for (size_t i = 0; i < l->n; i++)
        total += l->m[i].frame_samples;
    float *pcm = calloc(total ? total * (size_t)channels : 1, sizeof(float));
    size_t at = 0;
    for (size_t i = 0; pcm && i < l->n; i++) {
        int n = opus_decode_float(dec, l->bytes + l->m[i].off, (opus_int32)l->m[i].len,
                                  pcm + at * (size_t)channels, (int)l->m[i].frame_samples, 0);
        if (n != (int)l->m[i].frame_samples) {
            fprintf(stderr, "decode of packet %zu: %d (%s)\n", i, n,
                    n < 0 ? opus_strerror(n) : "wrong sample count");
            free(pcm);
            pcm = NULL;
            break;
        }
        at += (size_t)n;
    }
    opus_decoder_destroy(dec);
    *frames = pcm ? at : 0;
    return pcm;
}

/* One channel out of interleaved audio (caller frees). */
static inline float *channel_of(const float *pcm, size_t frames, int channels, int c)
{
    float *o = malloc((frames ? frames : 1) * sizeof(float));
    if (!o)
        abort();
    for (size_t i = 0; i < frames; i++)
        o[i] = pcm[i * (size_t)channels + (size_t)c];
    return o;
}

/* Amplitude of the component at `freq` in x (Goertzel; exact for whole cycles). */
static inline double amp_at(const float *x, size_t n, double rate, double freq)
{
    return 2.0 * sqrt(lc_dsp_power_at(x, n, rate, freq));
}

/*
 * SNR of x against the best-fitting sine at `freq` (least squares on cos, sin and DC, which
 * are orthogonal over whole cycles): signal = the fitted sine, noise = everything else.
 */
static inline double sine_fit_snr_db(const float *x, size_t n, double rate, double freq)
{
    double w = 2.0 * M_PI * freq / rate, sc = 0, ss = 0, sd = 0;
    for (size_t i = 0; i < n; i++) {
        sc += x[i] * cos(w * (double)i);
        ss += x[i] * sin(w * (double)i);
        sd += x[i];
    }
    double a = 2.0 * sc / (double)n, b = 2.0 * ss / (double)n, dc = sd / (double)n;
    double ps = 0, pn = 0;
    for (size_t i = 0; i < n; i++) {
        double fit = a * cos(w * (double)i) + b * sin(w * (double)i) + dc;
        double r = x[i] - fit;
        ps += fit * fit;
        pn += r * r;
    }
    return 10.0 * log10(ps / (pn > 1e-30 ? pn : 1e-30));
}

/* xorshift64*: a fixed-seed generator so every run sees the same "random" input. */
static inline uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* A music-like test signal: a few partials with slow tremolo plus a little noise. */
static inline void music_fill(float *out, size_t frames, uint32_t channels, double rate, uint64_t start,
                       uint64_t *seed)
{
    static const double f[] = {110.0, 220.5, 331.0, 440.0, 1250.0, 3520.0};
    static const double a[] = {0.20, 0.12, 0.08, 0.10, 0.05, 0.02};
    for (size_t i = 0; i < frames; i++) {
        double t = (double)(start + i) / rate, v = 0;
        for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
            v += a[k] * (0.8 + 0.2 * sin(2 * M_PI * 0.5 * (double)(k + 1) * t)) *
                 sin(2 * M_PI * f[k] * t);
        for (uint32_t c = 0; c < channels; c++) {
            double noise = ((double)(rng_next(seed) >> 11) / 9007199254740992.0 - 0.5) * 0.02;
            out[i * channels + c] = (float)(v * (c % 2 ? 0.9 : 1.0) + noise);
        }
    }
}

#endif
