/*
 * pcm.c — integer/float PCM to the float the rest of loopcast speaks.
 *
 * Scaling is by the negative full scale (2^(bits-1)), so the most negative code maps to exactly
 * -1.0 and every integer sample is exact in float (24 bits fit the mantissa; 32-bit samples lose
 * only the low bits below float precision). Bytes are assembled explicitly rather than cast, so
 * the result is the same on any host byte order and unaligned input (a 3-byte s24 stream) is fine.
 */
#include "capture.h"

#include <math.h>
#include <string.h>

static const struct {
    const char *name;
    lc_sample_type type;
    size_t bytes;
} lc_samples[] = {
    {"s16le", LC_SAMPLE_S16LE, 2},    {"s24le", LC_SAMPLE_S24LE, 3},
    {"s24_32le", LC_SAMPLE_S24_32LE, 4}, {"s32le", LC_SAMPLE_S32LE, 4},
    {"f32le", LC_SAMPLE_F32LE, 4},    {"u8", LC_SAMPLE_U8, 1},
};
#define LC_NSAMPLES (sizeof lc_samples / sizeof lc_samples[0])

size_t lc_sample_bytes(lc_sample_type t)
{
    for (size_t i = 0; i < LC_NSAMPLES; i++)
        if (lc_samples[i].type == t)
            return lc_samples[i].bytes;
    return 0;
}

int lc_sample_parse(const char *name, lc_sample_type *out)
{
    if (!name || !out)
        return LC_ERR_INVALID;
    for (size_t i = 0; i < LC_NSAMPLES; i++)
        if (!strcmp(name, lc_samples[i].name)) {
            *out = lc_samples[i].type;
            return 0;
        }
    return LC_ERR_INVALID;
}

const char *lc_sample_name(lc_sample_type t)
{
    for (size_t i = 0; i < LC_NSAMPLES; i++)
        if (lc_samples[i].type == t)
            return lc_samples[i].name;
    return "?";
}

static inline uint32_t lc_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Two's-complement reinterpretation without relying on implementation-defined conversions. */
static inline int32_t lc_s32(uint32_t u)
{
    return u <= INT32_MAX ? (int32_t)u : (int32_t)(u - 2147483648u) - INT32_MAX - 1;
}

void lc_pcm_to_float(lc_sample_type t, const void *src, float *dst, size_t samples)
{
    const uint8_t *p = src;
    switch (t) {
    case LC_SAMPLE_U8:
        for (size_t i = 0; i < samples; i++)
            dst[i] = (float)((int)p[i] - 128) * (1.0f / 128.0f);
        break;
    case LC_SAMPLE_S16LE:
        for (size_t i = 0; i < samples; i++, p += 2) {
            int v = (int)p[0] | (int)p[1] << 8;
            if (v >= 32768)
                v -= 65536;
            dst[i] = (float)v * (1.0f / 32768.0f);
        }
        break;
    case LC_SAMPLE_S24LE:
        for (size_t i = 0; i < samples; i++, p += 3) {
            uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
            if (u & 0x800000u)
                u |= 0xff000000u;
            dst[i] = (float)lc_s32(u) * (1.0f / 8388608.0f);
        }
        break;
    case LC_SAMPLE_S24_32LE:
        /* ALSA's S24_LE: the value lives in the low 3 bytes; the top byte is padding */
        for (size_t i = 0; i < samples; i++, p += 4) {
            uint32_t u = lc_le32(p) & 0xffffffu;
            if (u & 0x800000u)
                u |= 0xff000000u;
            dst[i] = (float)lc_s32(u) * (1.0f / 8388608.0f);
        }
        break;
    case LC_SAMPLE_S32LE:
        for (size_t i = 0; i < samples; i++, p += 4)
            dst[i] = (float)((double)lc_s32(lc_le32(p)) * (1.0 / 2147483648.0));
        break;
    case LC_SAMPLE_F32LE:
        for (size_t i = 0; i < samples; i++, p += 4) {
            uint32_t u = lc_le32(p);
            float f;
            memcpy(&f, &u, sizeof f);
            /* a hostile file or pipe can carry NaN/Inf/huge values; the encoder must never see
             * them, and the format contract is [-1, 1] */
            if (!(f >= -1.0f))
                f = isnan(f) ? 0.0f : -1.0f;
            else if (f > 1.0f)
                f = 1.0f;
            dst[i] = f;
        }
        break;
    }
}
