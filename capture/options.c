/*
 * options.c — the "?key=value&key=value" tail shared by pipe, alsa and tone URIs.
 *
 * Strict on purpose: an unknown key or a bad value is an error naming it. A silently ignored
 * "chanels=1" would stream garbage that is much harder to diagnose than a refusal to start.
 */
#include "capture_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int lc_opt_uint(const char *v, size_t n, unsigned long lo, unsigned long hi,
                       uint32_t *out)
{
    char tmp[24];
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, v, n);
    tmp[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (tmp[i] < '0' || tmp[i] > '9')
            return -1;
    errno = 0;
    unsigned long x = strtoul(tmp, NULL, 10);
    if (errno || x < lo || x > hi)
        return -1;
    *out = (uint32_t)x;
    return 0;
}

int lc_capture_parse_pcm_opts(const char *backend, const char *opts, lc_sample_type *sample,
                              lc_format *fmt, unsigned *seen, char *errbuf, size_t errlen)
{
    *seen = 0;
    const char *p = opts ? opts : "";
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq) {
            lc_errf(errbuf, errlen, "%s: option '%.*s' needs a value (key=value)", backend,
                    (int)len, p);
            return LC_ERR_URI;
        }
        size_t klen = (size_t)(eq - p), vlen = len - klen - 1;
        const char *v = eq + 1;
        unsigned bit;
        int ok;
        if (sample && klen == 6 && !memcmp(p, "format", 6)) {
            char name[16];
            ok = vlen > 0 && vlen < sizeof name;
            if (ok) {
                memcpy(name, v, vlen);
                name[vlen] = 0;
                ok = lc_sample_parse(name, sample) == 0;
            }
            bit = LC_OPT_FORMAT;
        } else if (klen == 4 && !memcmp(p, "rate", 4)) {
            ok = lc_opt_uint(v, vlen, 1, LC_MAX_RATE, &fmt->rate) == 0;
            bit = LC_OPT_RATE;
        } else if (klen == 8 && !memcmp(p, "channels", 8)) {
            ok = lc_opt_uint(v, vlen, 1, LC_MAX_CHANNELS, &fmt->channels) == 0;
            bit = LC_OPT_CHANNELS;
        } else {
            lc_errf(errbuf, errlen, "%s: unknown option '%.*s' (known: %s)", backend, (int)klen,
                    p, sample ? "format, rate, channels" : "rate, channels");
            return LC_ERR_URI;
        }
        if (!ok) {
            const char *hint = bit == LC_OPT_FORMAT ? "s16le, s24le, s24_32le, s32le, f32le, u8"
                               : bit == LC_OPT_RATE ? "1..768000"
                                                    : "1..32";
            lc_errf(errbuf, errlen, "%s: bad value '%.*s' for option '%.*s' (expected %s)",
                    backend, (int)vlen, v, (int)klen, p, hint);
            return LC_ERR_URI;
        }
        if (*seen & bit) {
            lc_errf(errbuf, errlen, "%s: option '%.*s' given twice", backend, (int)klen, p);
            return LC_ERR_URI;
        }
        *seen |= bit;
        p = amp ? amp + 1 : p + len;
    }
    return 0;
}
