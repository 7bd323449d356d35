/*
 * common.c — errors, clocks and logging. Logging is deliberately simple: one formatted line,
 * one write to stderr. No locks, no buffering layer that a crash could lose. The OS calls
 * (clocks, the write) go through platform.h, so this file is the same on every system.
 */
#include "common.h"
#include "platform.h"

#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static const char *const lc_err_names[] = {
    "success",
    "out of memory",
    "invalid argument",
    "malformed source URI or option",
    "no source backend by that name",
    "I/O error",
    "unsupported or malformed audio format",
    "audio device unavailable",
    "invalid in the current state",
    "codec error",
    "end of input",
    "timed out",
    "not supported on this platform",
    "not found",
    "table or queue full",
    "temporarily unavailable",
    "parse error",
    "over a configured limit",
    "system call failed",
};

const char *lc_strerror(int err)
{
    if (err > 0)
        return "success";
    if (err < LC_ERR_MIN_)
        return "unknown error";
    return lc_err_names[-err];
}

int lc_format_valid(const lc_format *fmt)
{
    return fmt && fmt->rate >= 1 && fmt->rate <= LC_MAX_RATE && fmt->channels >= 1 &&
           fmt->channels <= LC_MAX_CHANNELS;
}

uint64_t lc_now_ns(void) { return lc_plat_now_ns(); }

int64_t lc_wall_ms(void)
{
    int64_t ns = lc_plat_wall_ns();
    /* floor division, so a (theoretical) pre-1970 clock still rounds towards the past */
    return ns >= 0 ? ns / 1000000 : -((-ns + 999999) / 1000000);
}

/* A signal (POSIX) ends the sleep early on purpose: the caller re-checks its stop flag and loops */
void lc_sleep_until_ns(uint64_t deadline_ns) { lc_plat_sleep_until_ns(deadline_ns); }

int lc_finite(double v) { return fabs(v) <= DBL_MAX; /* NaN fails the comparison too */ }

static atomic_int lc_log_fmt = LC_LOG_TEXT;   /* set once at start-up, read by every thread */
static atomic_int lc_log_min = LC_LOG_INFO;

void lc_log_set_format(lc_log_format f) { atomic_store(&lc_log_fmt, (int)f); }
void lc_log_set_level(lc_log_level min) { atomic_store(&lc_log_min, (int)min); }

int lc_log_parse_format(const char *s, lc_log_format *out)
{
    if (!s)
        return LC_ERR_INVALID;
    if (!strcmp(s, "text")) {
        *out = LC_LOG_TEXT;
        return 0;
    }
    if (!strcmp(s, "json")) {
        *out = LC_LOG_JSON;
        return 0;
    }
    return LC_ERR_INVALID;
}

void lc_errf(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

static const char *const lc_level_names[] = {"debug", "info", "warn", "error"};

/* Length of the well-formed UTF-8 sequence at p (2..4), 0 if it is not one. Overlong forms,
 * surrogates and code points past U+10FFFF are not well-formed. */
static size_t lc_utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    if (c < 0xc2 || c > 0xf4)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) || (c == 0xf0 && p[1] < 0x90) ||
        (c == 0xf4 && p[1] > 0x8f))
        return 0;
    return n;
}

/* Appends `src` to dst[*n..cap) escaped for JSON (json=1) or with control bytes made visible.
 * Escaped in both: C0 controls and DEL, the C1 controls U+0080..U+009F (CSI is U+009B: a
 * terminal may act on it like ESC [), and every byte that is not well-formed UTF-8 (one byte at
 * a time: \xNN in text, \u00NN in JSON, which keeps the line valid JSON). */
static void lc_log_escape(char *dst, size_t *n, size_t cap, const char *src, int json)
{
    static const char hex[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)src; *p && *n + 7 < cap; p++) {
        unsigned char c = *p;
        size_t u = c >= 0x80 ? lc_utf8_len(p) : 0;
        if (u && !(c == 0xc2 && p[1] < 0xa0) && *n + u + 7 < cap) {
            memcpy(dst + *n, p, u); /* printable non-ASCII text, kept as it is */
            *n += u;
            p += u - 1;
        } else if (json && (c == '"' || c == '\\')) {
            dst[(*n)++] = '\\';
            dst[(*n)++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            if (json) {
                memcpy(dst + *n, "\\u00", 4);
                *n += 4;
            } else {
                dst[(*n)++] = '\\';
                dst[(*n)++] = 'x';
            }
            dst[(*n)++] = hex[c >> 4];
            dst[(*n)++] = hex[c & 15];
        } else {
            dst[(*n)++] = (char)c;
        }
    }
}

void lc_vlog(lc_log_level lvl, const char *module, const char *fmt, va_list ap)
{
    if ((int)lvl < atomic_load(&lc_log_min))
        return;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);

    int64_t wall = lc_plat_wall_ns();
    int64_t secs = wall / 1000000000;
    lc_plat_tm tm = {1970, 1, 1, 0, 0, 0};
    (void)lc_plat_gmtime(secs, &tm); /* out of range only for a clock before 1970: print 1970 */
    char when[96];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.year, tm.mon, tm.mday,
             tm.hour, tm.min, tm.sec, (int)(wall % 1000000000 / 1000000));

    char line[4096];
    size_t n = 0;
    int json = atomic_load(&lc_log_fmt) == LC_LOG_JSON;
    const char *lname = lc_level_names[lvl <= LC_LOG_ERROR ? lvl : LC_LOG_ERROR];
    int w = json ? snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"%s\",\"msg\":\"",
                            when, lname, module)
                 : snprintf(line, sizeof line, "%s %-5s %s: ", when, lname, module);
    n = w > 0 ? (size_t)w : 0;
    lc_log_escape(line, &n, sizeof line - 4, msg, json);
    if (json)
        line[n++] = '"', line[n++] = '}';
    line[n++] = '\n';
    lc_plat_write_stderr(line, n);
}

void lc_log(lc_log_level lvl, const char *module, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lc_vlog(lvl, module, fmt, ap);
    va_end(ap);
}

int lc_host_port_parse(const char *s, size_t len, char *host, size_t cap, unsigned *port,
                       unsigned default_port, unsigned max_port, char *why, size_t whylen)
{
    const char *end = s + len, *hend = end, *p = NULL;
    const char *h = s;
    if (len && *s == '[') { /* an IPv6 address */
        const char *rb = memchr(s, ']', len);
        if (!rb || rb == s + 1) {
            lc_errf(why, whylen, "an IPv6 host needs its closing ']'");
            return LC_ERR_INVALID;
        }
        if (rb + 1 < end && rb[1] != ':') {
            lc_errf(why, whylen, "after ']' only :PORT may follow");
            return LC_ERR_INVALID;
        }
        h = s + 1;
        hend = rb;
        p = rb + 1 < end ? rb + 2 : NULL;
    } else {
        const char *colon = memchr(s, ':', len);
        if (colon) {
            hend = colon;
            p = colon + 1;
        }
    }
    size_t hlen = (size_t)(hend - h);
    bool ok = hlen > 0 && hlen < cap;
    for (size_t i = 0; ok && i < hlen; i++)
        ok = h[i] > 0x20 && h[i] < 0x7f && !strchr("@/?#[]", h[i]);
    if (!ok) {
        lc_errf(why, whylen, "no valid host name or address");
        return LC_ERR_INVALID;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (!p) {
        if (!default_port) {
            lc_errf(why, whylen, "no port: HOST:PORT");
            return LC_ERR_INVALID;
        }
        *port = default_port;
        return 0;
    }
    unsigned long v = 0;
    size_t plen = (size_t)(end - p);
    ok = plen > 0 && plen <= 5;
    for (size_t i = 0; ok && i < plen; i++) {
        ok = p[i] >= '0' && p[i] <= '9';
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    if (!ok || v < 1 || v > max_port) {
        lc_errf(why, whylen, "the port must be a number in 1..%u", max_port);
        return LC_ERR_INVALID;
    }
    *port = (unsigned)v;
    return 0;
}

int lc_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* s[0..len) %-decoded into out (cap bytes, NUL-terminated); false on a bad escape, a decoded
 * control byte, or no room. */
bool lc_pct_decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 2 < len ? lc_hex_value(s[i + 1]) : -1;
            int lo = hi >= 0 ? lc_hex_value(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return false;
            c = hi << 4 | lo;
            i += 2;
        }
        if (c < 0x20 || c == 0x7f || n + 1 >= cap)
            return false;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return true;
}
