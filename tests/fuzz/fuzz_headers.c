/*
 * fuzz_headers.c — the parsers of the headers a client or proxy chooses (server/limits.c), on
 * arbitrary bytes. The first byte picks the target, the rest is its input:
 *   'x' X-Forwarded-For → lc_xff_client: the answer is a canonical address (it parses back to
 *       itself) and never one of the trusted proxies unless every entry was one;
 *   'o' Origin, Host and allow-list, separated by '\n' → lc_origin_allowed: no Origin and "*"
 *       always pass, the allow-list only ever adds (never refuses what same-origin allowed);
 *   'a' one address → lc_addr_parse / lc_addr_text round trip;
 *   'p' X-Forwarded-Proto → lc_xfp_https in {-1, 0, 1};
 *   't' a sequence of add/delete operations on the per-address table, checked against a model;
 *   'r' Host, path and query parts separated by '\n' → lc_tls_redirect_location (server/tls.c):
 *       the Location is https://, fits, and holds no byte a header could be split or spoofed by;
 *   'c' a --trust-proxy / --allow-origin value → lc_config_parse_cidrs / lc_config_check_origins:
 *       every parsed network matches its own address.
 * Seeds: tests/fuzz/corpus/headers/.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lc_limits.h"
#include "tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lc_cidr trusted[4];
static size_t n_trusted;

static char *dup_str(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static void fuzz_xff(const char *s)
{
    char out[LC_ADDR_MAX], again[LC_ADDR_MAX];
    uint8_t key[16];
    int rc = lc_xff_client(s, trusted, n_trusted, out, sizeof out);
    if (rc == 0) {
        if (lc_addr_parse(out, strlen(out), key))
            abort(); /* the answer is always an address */
        lc_addr_text(key, again, sizeof again);
        if (strcmp(out, again))
            abort(); /* ... in canonical form */
    } else if (rc != LC_ERR_INVALID && rc != LC_ERR_NOT_FOUND) {
        abort();
    }
    /* Nobody trusted: the answer is the right-most entry or nothing. */
    (void)lc_xff_client(s, NULL, 0, out, sizeof out);
    char tiny[4];
    if (lc_xff_client(s, trusted, n_trusted, tiny, sizeof tiny) == 0 && strlen(tiny) >= sizeof tiny)
        abort();
}

static void fuzz_origin(char *s)
{
    char *host = strchr(s, '\n'), *allow = NULL;
    if (host) {
        *host++ = '\0';
        allow = strchr(host, '\n');
        if (allow)
            *allow++ = '\0';
    }
    for (int https = 0; https < 2; https++) {
        bool same = lc_origin_allowed(s, host, https, NULL);
        bool listed = lc_origin_allowed(s, host, https, allow);
        if (same && !listed)
            abort(); /* a list only adds */
        if (!lc_origin_allowed(s, host, https, "*"))
            abort();
        if (!lc_origin_allowed("", host, https, allow) || !lc_origin_allowed(NULL, host, https, allow))
            abort();
        /* Whatever same-origin says, listing the origin itself allows it. */
        if (same && !lc_origin_allowed(s, NULL, https, s) && lc_origin_allowed(s, s, https, NULL))
            abort();
    }
}

static void fuzz_addr(const uint8_t *p, size_t n)
{
    uint8_t key[16], key2[16];
    char text[LC_ADDR_MAX];
    if (lc_addr_parse((const char *)p, n, key))
        return;
    lc_addr_text(key, text, sizeof text);
    if (lc_addr_parse(text, strlen(text), key2) || memcmp(key, key2, 16))
        abort();
}

static void fuzz_table(const uint8_t *p, size_t n)
{
    unsigned model[64] = {0};
    size_t live = 0;
    lc_iptab *t = NULL;
    if (lc_iptab_create(&t, 48))
        abort();
    uint8_t key[16] = {0};
    for (size_t i = 0; i < n; i++) {
        unsigned a = p[i] & 63;
        key[15] = (uint8_t)a;
        key[3] = (uint8_t)(a * 37); /* spread the keys over more than one byte */
        if (p[i] & 0x80) {
            unsigned got = lc_iptab_add(t, key);
            unsigned want = model[a] ? model[a] + 1 : (live < 48 ? 1 : 0);
            if (got != want)
                abort();
            if (got) {
                if (!model[a])
                    live++;
                model[a] = got;
            }
        } else {
            lc_iptab_del(t, key);
            if (model[a] && !--model[a])
                live--;
        }
        if (lc_iptab_get(t, key) != model[a] || lc_iptab_addresses(t) != live)
            abort();
    }
    lc_iptab_destroy(t);
}

static void fuzz_redirect(char *s)
{
    const char *query[8];
    size_t nq = 0;
    char *host = s, *path = strchr(s, '\n');
    if (path)
        *path++ = '\0';
    for (char *q = path ? strchr(path, '\n') : NULL; q && nq < 8; q = strchr(q, '\n')) {
        *q++ = '\0';
        query[nq++] = q;
    }
    char out[1024];
    int n = lc_tls_redirect_location(host, path ? path : "/", nq ? query : NULL, nq, 8443, out,
                                     sizeof out);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof out || strlen(out) != (size_t)n || strncmp(out, "https://", 8))
        abort();
    for (int i = 0; i < n; i++)
        if ((unsigned char)out[i] <= 0x20 || (unsigned char)out[i] >= 0x7f)
            abort(); /* CR/LF/space/controls/8-bit: always percent-encoded or refused */
}

static void fuzz_config_lists(const char *s)
{
    lc_cidr nets[LC_CONFIG_MAX_CIDRS];
    size_t n = 0;
    char why[96];
    if (lc_config_parse_cidrs(s, nets, LC_CONFIG_MAX_CIDRS, &n, why, sizeof why) == 0) {
        if (n == 0 || n > LC_CONFIG_MAX_CIDRS)
            abort();
        for (size_t i = 0; i < n; i++) {
            char text[64];
            uint8_t key[16];
            if (nets[i].family == 4) {
                memset(key, 0, 10);
                key[10] = key[11] = 0xff;
                memcpy(key + 12, nets[i].addr, 4);
            } else {
                memcpy(key, nets[i].addr, 16);
            }
            lc_addr_text(key, text, sizeof text);
            if (!lc_config_cidr_match(&nets[i], 1, text))
                abort(); /* a network contains its own address */
        }
    }
    (void)lc_config_check_origins(s, why, sizeof why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!n_trusted) {
        char why[64];
        if (lc_config_parse_cidrs("127.0.0.1, 10.0.0.0/8, fd00::/8", trusted, 4, &n_trusted, why,
                                  sizeof why))
            abort();
    }
    if (size < 1 || size > 8192)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    char *s;
    switch (data[0]) {
    case 'x':
        s = dup_str(p, n);
        fuzz_xff(s);
        free(s);
        break;
    case 'o':
        s = dup_str(p, n);
        fuzz_origin(s);
        free(s);
        break;
    case 'a':
        fuzz_addr(p, n);
        break;
    case 'p':
        s = dup_str(p, n);
        if (lc_xfp_https(s) < -1 || lc_xfp_https(s) > 1)
            abort();
        free(s);
        break;
    case 't':
        fuzz_table(p, n);
        break;
    case 'r':
        s = dup_str(p, n);
        fuzz_redirect(s);
        free(s);
        break;
    case 'c':
        s = dup_str(p, n);
        fuzz_config_lists(s);
        free(s);
        break;
    default:
        break;
    }
    return 0;
}
