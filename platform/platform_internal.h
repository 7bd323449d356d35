/*
 * platform_internal.h — helpers shared by one OS's platform files (platform_<os>.c holds
 * threads, clocks and durable files; platform_<os>_io.c paths, whole files and the network).
 * Not a public header: nothing outside platform/ includes it.
 */
#ifndef LC_PLATFORM_INTERNAL_H
#define LC_PLATFORM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* lc_plat_if_index's OS part (platform_net.c does the rest): the interface holding the address
 * want[] (family 4 or 6), or named `bind` when family is 0. 0 with *index and *loopback (the
 * interface is the loopback one), LC_ERR_NOT_FOUND or LC_ERR_SYSTEM. */
int lc_plat_if_find(const char *bind, int family, const uint8_t want[16], unsigned *index,
                    bool *loopback);

#ifdef _WIN32
#include <wchar.h>
/* The reason for a failed Win32 call: "<what> '<path>': <FormatMessage text> (error N)" into
 * errbuf; returns rc. */
int lc_plat_win_err(char *errbuf, size_t errlen, int rc, const char *what, const char *path,
                    unsigned long err);
/* UTF-16 to UTF-8 into out; 0 or LC_ERR_LIMIT (does not fit). */
int lc_plat_utf8(const wchar_t *w, char *out, size_t cap);
/* A stop request from somewhere other than the console (the service control handler): goes to
 * lc_plat_stop_watch's callback, or is delivered when the watch starts. */
void lc_plat_win_stop_request(const char *what);
#else
/* printf into errbuf (may be NULL); returns rc. */
int lc_plat_fail(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#endif

#endif
