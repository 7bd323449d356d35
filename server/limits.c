/*
 * limits.c — see lc_limits.h. Every parser here reads bytes a client chose (through a proxy or
 * directly), so each one bounds its lengths before copying and never trusts a terminator.
 */
#include "lc_limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "platform.h"

static const uint8_t V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int lc_addr_parse(const char *s, size_t len, uint8_t key[16])
{
    char buf[LC_ADDR_MAX];
    uint8_t a[16];
    if (!s || !len || len >= sizeof buf)
        return LC_ERR_INVALID;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (memchr(buf, '\0', len))
        return LC_ERR_INVALID;
    char *txt = buf;
    if (buf[0] == '[') {
        /* [v6] or [v6]:port */
        char *close = strchr(buf, ']');
        if (!close)
            return LC_ERR_INVALID;
        *close = '\0';
        txt = buf + 1;
        const char *rest = close + 1;
        if (*rest == ':') {
            if (!rest[1] || strspn(rest + 1, "0123456789") != strlen(rest + 1))
                return LC_ERR_INVALID;
        } else if (*rest) {
            return LC_ERR_INVALID;
        }
        return lc_plat_ip_parse(txt, key) == 6 ? 0 : LC_ERR_INVALID;
    }
    char *colon = strchr(buf, ':');
    if (colon && !strchr(colon + 1, ':')) {
        /* exactly one colon: a.b.c.d:port */
        if (!colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
            return LC_ERR_INVALID;
        *colon = '\0';
    }
    switch (lc_plat_ip_parse(txt, a)) {
    case 4:
        memcpy(key, V4_MAPPED, sizeof V4_MAPPED);
        memcpy(key + 12, a, 4);
        return 0;
    case 6:
        memcpy(key, a, 16);
        return 0;
    default:
        return LC_ERR_INVALID;
    }
}

void lc_addr_text(const uint8_t key[16], char *out, size_t cap)
{
    char buf[LC_PLAT_IP_STRLEN];
    if (!memcmp(key, V4_MAPPED, sizeof V4_MAPPED))
        lc_plat_ip_format(4, key + 12, buf, sizeof buf);
    else
        lc_plat_ip_format(6, key, buf, sizeof buf);
    snprintf(out, cap, "%s", buf);
}

static bool is_space(char c) { return c == ' ' || c == '\t'; }

/* The item of a comma list that ends just before `end` (exclusive), trimmed: [*b, *e). Returns
 * where the search for the item to its left starts (the comma), or NULL at the list's start. */
static const char *prev_item(const char *start, const char *end, const char **b, const char **e)
{
    const char *p = end;
    while (p > start && p[-1] != ',')
        p--;
    const char *ib = p, *ie = end;
    while (ib < ie && is_space(*ib))
        ib++;
    while (ie > ib && is_space(ie[-1]))
        ie--;
    *b = ib;
    *e = ie;
    return p > start ? p - 1 : NULL;
}

int lc_xff_client(const char *xff, const lc_cidr *trusted, size_t n, char *out, size_t cap)
{
    uint8_t key[16], last_key[16];
    bool have = false;
    if (!xff)
        return LC_ERR_NOT_FOUND;
    const char *end = xff + strlen(xff);
    for (const char *at = end; at;) {
        const char *b, *e;
        at = prev_item(xff, at, &b, &e);
        if (b == e)
            continue; /* "a,,b" and trailing commas: nothing said */
        if (lc_addr_parse(b, (size_t)(e - b), key))
            return LC_ERR_INVALID; /* the deciding entry is not an address: believe nothing */
        char text[LC_ADDR_MAX];
        lc_addr_text(key, text, sizeof text);
        memcpy(last_key, key, sizeof key);
        have = true;
        if (!lc_config_cidr_match(trusted, n, text)) {
            snprintf(out, cap, "%s", text);
            return 0;
        }
    }
    if (!have)
        return LC_ERR_NOT_FOUND;
    lc_addr_text(last_key, out, cap); /* every hop a trusted proxy: the first of them */
    return 0;
}

int lc_xfp_https(const char *xfp)
{
    const char *b, *e;
    if (!xfp)
        return -1;
    prev_item(xfp, xfp + strlen(xfp), &b, &e);
    size_t n = (size_t)(e - b);
    if (n == 5 && !strncasecmp(b, "https", 5))
        return 1;
    if (n == 4 && !strncasecmp(b, "http", 4))
        return 0;
    return -1;
}

/* ---- Origin ------------------------------------------------------------------------------ */

#define HOST_MAX 256

typedef struct origin_parts {
    bool https;
    char host[HOST_MAX]; /* lower case; an IPv6 literal keeps its brackets */
    unsigned port;       /* the default for the scheme when none was given */
} origin_parts;

/* host[:port] (the part after "scheme://", or a Host header) into o->host/o->port. */
static int parse_hostport(const char *s, size_t len, origin_parts *o)
{
    size_t hl;
    const char *port = NULL;
    if (!len || len >= HOST_MAX)
        return LC_ERR_INVALID;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return LC_ERR_INVALID;
        hl = (size_t)(close - s) + 1;
    } else {
        const char *c = memchr(s, ':', len);
        hl = c ? (size_t)(c - s) : len;
    }
    if (!hl)
        return LC_ERR_INVALID;
    for (size_t i = 0; i < hl; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_' || (s[0] == '[' && (c == ':' || c == '[' ||
                                                                      c == ']'));
        if (!ok)
            return LC_ERR_INVALID;
        o->host[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    o->host[hl] = '\0';
    if (hl < len) {
        if (s[hl] != ':')
            return LC_ERR_INVALID;
        port = s + hl + 1;
        size_t pl = len - hl - 1;
        if (!pl || pl > 5)
            return LC_ERR_INVALID;
        unsigned v = 0;
        for (size_t i = 0; i < pl; i++) {
            if (port[i] < '0' || port[i] > '9')
                return LC_ERR_INVALID;
            v = v * 10 + (unsigned)(port[i] - '0');
        }
        if (!v || v > 65535)
            return LC_ERR_INVALID;
        o->port = v;
    } else {
        o->port = o->https ? 443 : 80;
    }
    return 0;
}

/* "http(s)://host[:port]" exactly: no path, no user info, nothing after. */
static int parse_origin(const char *s, size_t len, origin_parts *o)
{
    if (len > 7 && !strncasecmp(s, "http://", 7)) {
        o->https = false;
        return parse_hostport(s + 7, len - 7, o);
    }
    if (len > 8 && !strncasecmp(s, "https://", 8)) {
        o->https = true;
        return parse_hostport(s + 8, len - 8, o);
    }
    return LC_ERR_INVALID;
}

static bool same(const origin_parts *a, const origin_parts *b)
{
    return a->https == b->https && a->port == b->port && !strcmp(a->host, b->host);
}

bool lc_origin_allowed(const char *origin, const char *host, bool https, const char *allow)
{
    origin_parts o, page;
    if (!origin || !*origin)
        return true;
    if (allow && !strcmp(allow, "*"))
        return true;
    if (parse_origin(origin, strlen(origin), &o))
        return false;
    page.https = https;
    if (host && !parse_hostport(host, strlen(host), &page) && same(&o, &page))
        return true;
    if (!allow)
        return false;
    const char *end = allow + strlen(allow);
    for (const char *at = end; at;) {
        const char *b, *e;
        origin_parts a;
        at = prev_item(allow, at, &b, &e);
        if (b < e && !parse_origin(b, (size_t)(e - b), &a) && same(&o, &a))
            return true;
    }
    return false;
}

/* ---- connections per address ------------------------------------------------------------- */

typedef struct ipent {
    uint8_t key[16];
    uint32_t count; /* 0 = empty slot */
} ipent;

struct lc_iptab {
    size_t mask, used, max;
    uint64_t seed; /* per table: addresses that collide cannot be chosen in advance */
    ipent e[];
};

static size_t slot_of(const lc_iptab *t, const uint8_t key[16])
{
    uint64_t h = 1469598103934665603ull ^ t->seed;
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 1099511628211ull;
    h ^= h >> 29;
    return (size_t)h & t->mask;
}

int lc_iptab_create(lc_iptab **out, size_t max_addresses)
{
    size_t cap = 16;
    *out = NULL;
    if (!max_addresses || max_addresses > (1u << 24))
        return LC_ERR_INVALID;
    while (cap < max_addresses * 2) /* load factor at most 1/2: probes stay short */
        cap <<= 1;
    lc_iptab *t = calloc(1, sizeof *t + cap * sizeof(ipent));
    if (!t)
        return LC_ERR_NOMEM;
    t->mask = cap - 1;
    t->max = max_addresses;
    t->seed = lc_now_ns() * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)t;
    *out = t;
    return 0;
}

void lc_iptab_destroy(lc_iptab *t) { free(t); }

static ipent *find(const lc_iptab *t, const uint8_t key[16])
{
    for (size_t i = slot_of(t, key);; i = (i + 1) & t->mask) {
        const ipent *p = &t->e[i];
        if (!p->count)
            return NULL;
        if (!memcmp(p->key, key, 16))
            return (ipent *)(uintptr_t)p;
    }
}

unsigned lc_iptab_add(lc_iptab *t, const uint8_t key[16])
{
    size_t i = slot_of(t, key);
    for (;; i = (i + 1) & t->mask) {
        ipent *p = &t->e[i];
        if (!p->count)
            break;
        if (!memcmp(p->key, key, 16))
            return p->count == UINT32_MAX ? 0 : ++p->count;
    }
    if (t->used >= t->max)
        return 0;
    memcpy(t->e[i].key, key, 16);
    t->e[i].count = 1;
    t->used++;
    return 1;
}

void lc_iptab_del(lc_iptab *t, const uint8_t key[16])
{
    ipent *p = find(t, key);
    if (!p || --p->count)
        return;
    t->used--;
    /* Backward-shift deletion: later entries of the probe run move up, so lookups never need
     * tombstones and the table never degrades however long the server runs. */
    size_t hole = (size_t)(p - t->e);
    for (size_t j = (hole + 1) & t->mask; t->e[j].count; j = (j + 1) & t->mask) {
        size_t home = slot_of(t, t->e[j].key);
        /* Move j into the hole unless its home lies cyclically in (hole, j]. */
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            t->e[hole] = t->e[j];
            hole = j;
        }
    }
    memset(&t->e[hole], 0, sizeof t->e[hole]);
}

unsigned lc_iptab_get(const lc_iptab *t, const uint8_t key[16])
{
    const ipent *p = find(t, key);
    return p ? p->count : 0;
}

size_t lc_iptab_addresses(const lc_iptab *t) { return t->used; }

/* ---- open connections by pointer --------------------------------------------------------- */

struct lc_connmap {
    size_t mask, used, max;
    lc_conn_rec e[];
};

static size_t conn_slot(const lc_connmap *m, const void *conn)
{
    uint64_t h = (uint64_t)(uintptr_t)conn * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 17) & m->mask;
}

int lc_connmap_create(lc_connmap **out, size_t max_conns)
{
    size_t cap = 16;
    *out = NULL;
    if (!max_conns || max_conns > (1u << 24))
        return LC_ERR_INVALID;
    while (cap < max_conns * 2)
        cap <<= 1;
    lc_connmap *m = calloc(1, sizeof *m + cap * sizeof(lc_conn_rec));
    if (!m)
        return LC_ERR_NOMEM;
    m->mask = cap - 1;
    m->max = max_conns;
    *out = m;
    return 0;
}

void lc_connmap_destroy(lc_connmap *m) { free(m); }

lc_conn_rec *lc_connmap_get(lc_connmap *m, const void *conn)
{
    for (size_t i = conn_slot(m, conn);; i = (i + 1) & m->mask) {
        if (!m->e[i].conn)
            return NULL;
        if (m->e[i].conn == conn)
            return &m->e[i];
    }
}

lc_conn_rec *lc_connmap_put(lc_connmap *m, const void *conn)
{
    size_t i = conn_slot(m, conn);
    for (;; i = (i + 1) & m->mask) {
        if (!m->e[i].conn)
            break;
        if (m->e[i].conn == conn)
            return &m->e[i];
    }
    if (!conn || m->used >= m->max)
        return NULL;
    memset(&m->e[i], 0, sizeof m->e[i]);
    m->e[i].conn = conn;
    m->used++;
    return &m->e[i];
}

void lc_connmap_del(lc_connmap *m, const void *conn)
{
    lc_conn_rec *p = lc_connmap_get(m, conn);
    if (!p)
        return;
    m->used--;
    size_t hole = (size_t)(p - m->e);
    for (size_t j = (hole + 1) & m->mask; m->e[j].conn; j = (j + 1) & m->mask) {
        size_t home = conn_slot(m, m->e[j].conn);
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            m->e[hole] = m->e[j];
            hole = j;
        }
    }
    memset(&m->e[hole], 0, sizeof m->e[hole]);
}

size_t lc_connmap_count(const lc_connmap *m) { return m->used; }

/* ---- token bucket ------------------------------------------------------------------------ */

void lc_bucket_init(lc_bucket *b, unsigned rate, uint64_t now_ns)
{
    b->tokens = 2.0 * rate;
    b->last_ns = now_ns;
}

bool lc_bucket_take(lc_bucket *b, unsigned rate, uint64_t now_ns)
{
    if (now_ns > b->last_ns) {
        b->tokens += (double)(now_ns - b->last_ns) * rate / 1e9;
        if (b->tokens > 2.0 * rate)
            b->tokens = 2.0 * rate;
        b->last_ns = now_ns;
    }
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}
