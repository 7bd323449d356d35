/*
 * join.c — joining without typing an address (issue 13, Phones): the LAN URLs of the listener
 * page as QR codes. The console gets one for the first URL at start-up (text logs only: a JSON
 * log stays one JSON object a line, for journald and container runtimes), and /admin gets one per
 * URL from GET /api/v1/join.
 *
 * Only URLs the server picks are ever encoded (its own addresses, port and scheme): no request
 * can make it draw text of its choosing. A "LAN URL" is one a phone can open: not loopback, not
 * the unspecified address. The list is read again for each request, so an address that DHCP
 * changed shows up without a restart.
 *
 * Threads: lc_join_print on the main thread before the service loop; lc_join_add_json on the lws
 * thread (the API). Neither keeps state.
 */
#include "internal.h"
#include "qr.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LC_JOIN_MAX 16 /* URLs listed: more interfaces than this are not a phone's choice */

typedef struct join_url {
    char url[96];
    char ifname[64];
} join_url;

typedef struct join_list {
    const lc_server *srv;
    join_url urls[LC_JOIN_MAX];
    int n;
} join_list;

static const uint8_t zero[16];

/* 0.0.0.0 or :: (every interface), from lc_plat_ip_parse's family and bytes */
static bool unspecified(int fam, const uint8_t a[16])
{
    return (fam == 4 && !memcmp(a, zero, 4)) || (fam == 6 && !memcmp(a, zero, 16));
}

/* Whether a numeric address is one a phone on the LAN can reach: 0 (not LAN), 4 or 6. */
static int lan_family(const char *ip)
{
    uint8_t a[16];
    int fam = lc_plat_ip_parse(ip, a);
    if (unspecified(fam, a))
        return 0;
    if (fam == 4)
        return a[0] == 127 ? 0 : 4;
    if (fam == 6) {
        bool loop = !memcmp(a, zero, 15) && a[15] == 1;
        bool link = a[0] == 0xfe && (a[1] & 0xc0) == 0x80; /* needs a zone: no use in a URL */
        return loop || link ? 0 : 6;
    }
    return 0; /* a name (--bind eth0): not an address a phone can type */
}

static void add_url(void *user, const char *ip, const char *ifname)
{
    join_list *l = user;
    int fam = lan_family(ip);
    if (!fam || l->n >= LC_JOIN_MAX)
        return;
    join_url *u = &l->urls[l->n];
    int k = snprintf(u->url, sizeof u->url, "%s://%s%s%s:%d/",
                     l->srv->cfg.tls_cert ? "https" : "http", fam == 6 ? "[" : "", ip,
                     fam == 6 ? "]" : "", l->srv->cfg.port);
    if (k < 0 || (size_t)k >= sizeof u->url)
        return;
    snprintf(u->ifname, sizeof u->ifname, "%s", ifname);
    l->n++;
}

const char *lc_join_bound_addr(const lc_config *cfg)
{
    uint8_t a[16];
    if (!cfg->bind)
        return NULL;
    return unspecified(lc_plat_ip_parse(cfg->bind, a), a) ? NULL : cfg->bind;
}

/* The LAN URLs in the order log_urls prints them (server.c): --bind's address, else every
 * interface's IPv4 address. 0 or LC_ERR_SYSTEM (l->n is then 0). */
static int join_urls(const lc_server *srv, join_list *l)
{
    l->srv = srv;
    l->n = 0;
    const char *bound = lc_join_bound_addr(&srv->cfg);
    if (bound) {
        add_url(l, bound, "--bind");
        return 0;
    }
    return lc_plat_ipv4_addrs(add_url, l);
}

void lc_join_print(const lc_server *srv)
{
    join_list l;
    lc_qr *qr = NULL;
    char *art = NULL;
    int rc;

    if (join_urls(srv, &l) || !l.n) {
        lc_log(LC_LOG_INFO, LC_LOG_MOD, "QR code: no LAN address to show (loopback only)");
        return;
    }
    if (srv->cfg.log_format == LC_LOG_JSON) {
        lc_log(LC_LOG_INFO, LC_LOG_MOD, "QR code of %s: on /admin (not drawn in JSON logs)",
               l.urls[0].url);
        return;
    }
    rc = lc_qr_encode(&qr, l.urls[0].url);
    if (rc)
        goto fail;
    /* Colours only where a terminal shows them; a file or pipe gets the plain drawing. */
    rc = lc_qr_blocks(qr, lc_plat_stderr_is_terminal() ? LC_QR_ANSI : LC_QR_PLAIN, &art);
    if (rc)
        goto fail;
    lc_log(LC_LOG_INFO, LC_LOG_MOD, "scan to listen: %s (%s)", l.urls[0].url, l.urls[0].ifname);
    lc_plat_write_stderr(art, strlen(art)); /* raw: a log prefix on each row would break it */
    free(art);
    lc_qr_destroy(qr);
    return;
fail:
    lc_log(LC_LOG_WARN, LC_LOG_MOD, "QR code of %s: %s (open the URL by hand)", l.urls[0].url,
           lc_strerror(rc));
    lc_qr_destroy(qr);
}

void lc_join_add_json(const lc_server *srv, void *obj)
{
    join_list l;
    cJSON *arr = cJSON_AddArrayToObject(obj, "urls");
    if (!arr)
        return;
    if (join_urls(srv, &l))
        lc_log(LC_LOG_WARN, LC_LOG_MOD, "GET /api/v1/join: cannot list this machine's addresses");
    for (int i = 0; i < l.n; i++) {
        cJSON *o = cJSON_CreateObject();
        lc_qr *qr = NULL;
        char *svg = NULL;
        int rc = lc_qr_encode(&qr, l.urls[i].url);
        if (!rc)
            rc = lc_qr_svg(qr, &svg);
        if (rc) /* the URL is still worth listing: it can be typed */
            lc_log(LC_LOG_WARN, LC_LOG_MOD, "QR code of %s: %s", l.urls[i].url, lc_strerror(rc));
        if (o && cJSON_AddItemToArray(arr, o)) {
            cJSON_AddStringToObject(o, "url", l.urls[i].url);
            cJSON_AddStringToObject(o, "interface", l.urls[i].ifname);
            if (svg)
                cJSON_AddStringToObject(o, "qr_svg", svg);
            else
                cJSON_AddNullToObject(o, "qr_svg");
        } else {
            cJSON_Delete(o);
        }
        free(svg);
        lc_qr_destroy(qr);
    }
}
