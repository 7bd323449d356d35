/*
 * lc_limits.h — (not "limits.h": that name would shadow the C library's for every file in
 * server/) the pure parts of the server's limits: client addresses from X-Forwarded-For, the
 * WebSocket Origin check, the per-address connection table and the control-message token bucket.
 * No lws in here, so each is unit-tested (tests/stream/test_limits.c) and fuzzed
 * (tests/fuzz/fuzz_headers.c) without a socket. Nothing here logs or allocates per call.
 */
#ifndef LC_SERVER_LIMITS_H
#define LC_SERVER_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LC_ADDR_MAX 48 /* canonical address text with its NUL (INET6_ADDRSTRLEN is 46) */

/* A numeric address as text ("1.2.3.4", "1.2.3.4:5678", "::1", "[::1]", "[::1]:80"; `len`
 * bytes, no spaces) into its 16-byte key (IPv4 as ::ffff:a.b.c.d, so both spellings of one v4
 * address are one key). 0 or LC_ERR_INVALID. */
int lc_addr_parse(const char *s, size_t len, uint8_t key[16]);
/* The canonical text of a key: dotted quad for IPv4 (mapped), inet_ntop form for IPv6. */
void lc_addr_text(const uint8_t key[16], char *out, size_t cap);

/*
 * The client behind a trusted proxy: the right-most X-Forwarded-For entry that is not itself in
 * trusted[0..n) (each proxy appends the address it saw, so everything left of the first
 * untrusted entry may be forged). If every entry is trusted, the left-most one. The result is
 * canonical text (never the client's bytes). Returns 0; LC_ERR_NOT_FOUND for no entries;
 * LC_ERR_INVALID if the entry that would decide is not a numeric address.
 */
int lc_xff_client(const char *xff, const lc_cidr *trusted, size_t n, char *out, size_t cap);

/* X-Forwarded-Proto: the right-most entry (the nearest proxy's word). 1 = https, 0 = http,
 * -1 = absent or anything else. */
int lc_xfp_https(const char *xfp);

/*
 * May a WebSocket upgrade with this Origin proceed?
 *   origin NULL/""                 yes (not a browser: browsers always send one)
 *   same as the page's own origin  yes: scheme from `https`, host[:port] from `host` (the Host
 *                                  header); ports 80 (http) and 443 (https) equal no port
 *   listed in `allow`              yes (comma list of http(s)://host[:port], or "*" = any)
 *   anything else                  no ("null", a path, another host, port or scheme)
 * Scheme and host compare case-insensitively.
 */
bool lc_origin_allowed(const char *origin, const char *host, bool https, const char *allow);

/* Open connections per client address: a fixed-size open-addressing table sized at creation
 * (never grows; one entry per distinct address with at least one connection). */
typedef struct lc_iptab lc_iptab;
int lc_iptab_create(lc_iptab **out, size_t max_addresses);
void lc_iptab_destroy(lc_iptab *t);
/* One more connection for `key`: the new count, or 0 if the table is full (refuse it). */
unsigned lc_iptab_add(lc_iptab *t, const uint8_t key[16]);
/* One fewer (a key that is not there is ignored). */
void lc_iptab_del(lc_iptab *t, const uint8_t key[16]);
unsigned lc_iptab_get(const lc_iptab *t, const uint8_t key[16]);
size_t lc_iptab_addresses(const lc_iptab *t);

/* What the server remembers about one open connection (its counted address), found by the
 * connection's pointer: lws gives no per-connection storage between accept and the first
 * request, and a connection that never sends one must still be counted and uncounted. */
typedef struct lc_conn_rec {
    const void *conn;  /* the lws connection; NULL = empty slot */
    uint8_t key[16];   /* the address its count is held under */
    bool counted;      /* holds one count in the lc_iptab */
    bool over;         /* over the per-address limit when counted: its requests get 429 */
    bool via_proxy;    /* the peer is a trusted proxy: the address comes with each request */
} lc_conn_rec;
typedef struct lc_connmap lc_connmap;
int lc_connmap_create(lc_connmap **out, size_t max_conns);
void lc_connmap_destroy(lc_connmap *m);
/* A zeroed record for `conn` (the existing one if already there); NULL if the map is full. */
lc_conn_rec *lc_connmap_put(lc_connmap *m, const void *conn);
lc_conn_rec *lc_connmap_get(lc_connmap *m, const void *conn);
void lc_connmap_del(lc_connmap *m, const void *conn);
size_t lc_connmap_count(const lc_connmap *m);

/* Token bucket for client messages: `rate` per second, bursts of 2 × rate; starts full. */
typedef struct lc_bucket {
    double tokens;
    uint64_t last_ns;
} lc_bucket;
void lc_bucket_init(lc_bucket *b, unsigned rate, uint64_t now_ns);
/* Takes one token; false (and nothing taken) when the bucket is empty. */
bool lc_bucket_take(lc_bucket *b, unsigned rate, uint64_t now_ns);

#ifdef __cplusplus
}
#endif
#endif
