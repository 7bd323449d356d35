/*
 * lc_dsp.h — signal measurements the tests and benchmarks share: the dominant frequency of a
 * block of samples and its RMS. Header-only so any test binary can use it without a library.
 */
#ifndef LC_DSP_H
#define LC_DSP_H

#include <math.h>
#include <stddef.h>

/* Power of `x[0..n)` at `freq` Hz (Goertzel), normalised by n². */
static inline double lc_dsp_power_at(const float *x, size_t n, double rate, double freq)
{
    double w = 2.0 * M_PI * freq / rate, c = 2.0 * cos(w), s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double s0 = x[i] + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    double p = s1 * s1 + s2 * s2 - c * s1 * s2;
    return p / ((double)n * (double)n);
}

/*
 * The strongest frequency between lo and hi Hz: a 5 Hz scan, then a 0.1 Hz refinement around the
 * best. Good to about ±0.5 Hz for a clean tone over ≥ 0.5 s of samples.
 */
static inline double lc_dsp_dominant_hz(const float *x, size_t n, double rate, double lo, double hi)
{
    double best_f = lo, best_p = -1;
    for (double f = lo; f <= hi; f += 5.0) {
        double p = lc_dsp_power_at(x, n, rate, f);
        if (p > best_p)
            best_p = p, best_f = f;
    }
    double centre = best_f;
    for (double f = centre - 5.0; f <= centre + 5.0; f += 0.1) {
        double p = lc_dsp_power_at(x, n, rate, f);
        if (p > best_p)
            best_p = p, best_f = f;
    }
    return best_f;
}

static inline double lc_dsp_rms(const float *x, size_t n)
{
    double acc = 0;
    for (size_t i = 0; i < n; i++)
        acc += (double)x[i] * x[i];
    return n ? sqrt(acc / (double)n) : 0.0;
}

#endif
