/*
 * common.h — what every loopcast module shares: error codes, the audio format, the monotonic
 * clock, and logging. Nothing here knows about audio devices, codecs or the network.
 *
 * Errors (lc_error.h): every function that can fail returns 0 (or a non-negative count) on
 * success and a negative LC_ERR_* on failure; lc_strerror() names it. Functions that can fail for
 * reasons a user must see (a bad URI, a broken WAV file) also take a caller buffer for a detailed
 * message.
 */
#ifndef LC_COMMON_H
#define LC_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lc_error.h"

#ifdef __cplusplus
extern "C" {
#endif


/*
 * The shape of float PCM handed between modules: interleaved 32-bit float in [-1, 1],
 * `channels` samples per frame, `rate` frames per second.
 */
typedef struct lc_format {
    uint32_t rate;     /* frames per second, 1..768000 */
    uint32_t channels; /* 1..LC_MAX_CHANNELS */
} lc_format;

#define LC_MAX_CHANNELS 32u
#define LC_MAX_RATE 768000u

/* 1 when both fields are in range. */
int lc_format_valid(const lc_format *fmt);

/* Monotonic nanoseconds, the one clock for capture times and pacing: CLOCK_MONOTONIC on POSIX,
 * QueryPerformanceCounter on Windows (the clock WASAPI stamps packets with). See platform.h. */
uint64_t lc_now_ns(void);
/* CLOCK_REALTIME in milliseconds since the Unix epoch (for timestamps users read). */
int64_t lc_wall_ms(void);
/* Sleep until an absolute lc_now_ns() deadline; returns early only on a signal (POSIX). */
void lc_sleep_until_ns(uint64_t deadline_ns);

/* 1 when v is neither infinite nor NaN. Not isfinite(): mingw-w64's macro converts a double to
 * float on one branch, which -Wfloat-conversion rejects. */
int lc_finite(double v);

/* printf-style checking of our own variadic functions. mingw-w64 gcc maps the "printf"
 * archetype to msvcrt's dialect (no %zu, %llu); the build selects mingw's C99 printf
 * (__USE_MINGW_ANSI_STDIO, platform/CMakeLists.txt), whose archetype is gnu_printf. */
#if defined(__MINGW32__)
#define LC_PRINTF_ARCHETYPE gnu_printf
#else
#define LC_PRINTF_ARCHETYPE printf
#endif
/* LC_PRINTF(fmt, first): the attribute where the compiler has it (GCC, Clang), nothing on MSVC */
#if defined(__GNUC__) || defined(__clang__)
#define LC_PRINTF(fmt, first) __attribute__((format(LC_PRINTF_ARCHETYPE, fmt, first)))
#else
#define LC_PRINTF(fmt, first)
#endif

/* Logging: one line per event on stderr, either human text or one JSON object per line. */
typedef enum { LC_LOG_DEBUG = 0, LC_LOG_INFO, LC_LOG_WARN, LC_LOG_ERROR } lc_log_level;
typedef enum { LC_LOG_TEXT = 0, LC_LOG_JSON } lc_log_format;

void lc_log_set_format(lc_log_format f);
void lc_log_set_level(lc_log_level min);
/* Parses "text"/"json"; returns 0 or LC_ERR_INVALID. */
int lc_log_parse_format(const char *s, lc_log_format *out);

/*
 * Thread-safe: the line is formatted into a local buffer and written with one write(2), so
 * lines from different threads never interleave. `module` is a short fixed name ("capture").
 * Text that came from outside (a URI, a header) must go through lc_log's %s untouched: the JSON
 * format escapes it and the text format replaces control characters, so nothing a client sends
 * can forge a log line.
 */
void lc_log(lc_log_level lvl, const char *module, const char *fmt, ...)
#if defined(__GNUC__)
    LC_PRINTF(3, 4)
#endif
    ;
void lc_vlog(lc_log_level lvl, const char *module, const char *fmt, va_list ap)
#if defined(__GNUC__)
    LC_PRINTF(3, 0) /* clang's -Wformat-nonliteral needs it */
#endif
    ;

/* snprintf into a caller buffer that may be NULL/0 (then nothing is written). */
/* A hex digit's value (either case), or -1. */
int lc_hex_value(char c);
/* s[0..len) %-decoded into out[0..cap) (NUL-terminated): false on a malformed escape, a decoded
 * control byte, or no room. (URL userinfo, source URI names.) */
bool lc_pct_decode(const char *s, size_t len, char *out, size_t cap);

/* "HOST[:PORT]" or "[IPV6]:PORT" in s[0..len) (a URL's authority, after any user@): the host into
 * host[0..cap) without brackets — printable ASCII, no space, '@', '/', '?' or '#' — and *port,
 * 1..max_port, or default_port when none is given (0: a port is required). 0, or LC_ERR_INVALID
 * with why[] saying what is wrong. */
int lc_host_port_parse(const char *s, size_t len, char *host, size_t cap, unsigned *port,
                       unsigned default_port, unsigned max_port, char *why, size_t whylen);

void lc_errf(char *buf, size_t len, const char *fmt, ...)
#if defined(__GNUC__)
    LC_PRINTF(3, 4)
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif
