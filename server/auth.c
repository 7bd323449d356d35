/*
 * auth.c — the wrong-token rate limit, per client address, shared by the REST API (http.c) and
 * the events socket (ws_events.c): LC_AUTH_MAX_FAILS wrong tokens within LC_AUTH_WINDOW_S block
 * the address for LC_AUTH_BLOCK_S (429). A fixed table of LC_AUTH_SLOTS addresses: a flood of
 * addresses can make it forget a few failures, never grow memory. lws thread only.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static lc_auth_slot *auth_slot(lc_server *srv, const char *addr, bool create)
{
    lc_auth_slot *oldest = &srv->auth[0];
    for (int i = 0; i < LC_AUTH_SLOTS; i++) {
        lc_auth_slot *a = &srv->auth[i];
        if (a->addr[0] && !strcmp(a->addr, addr))
            return a;
        if (a->first_ns < oldest->first_ns && a->blocked_until_ns < lc_now_ns())
            oldest = a;
    }
    if (!create)
        return NULL;
    /* Reuse the slot whose failures are oldest: a flood of addresses can at worst make us
     * forget a few failures, never grow memory. */
    memset(oldest, 0, sizeof *oldest);
    snprintf(oldest->addr, sizeof oldest->addr, "%s", addr);
    return oldest;
}

bool lc_auth_blocked(lc_server *srv, const char *addr, unsigned *retry_s)
{
    lc_auth_slot *a = auth_slot(srv, addr, false);
    uint64_t now = lc_now_ns();
    if (!a || a->blocked_until_ns <= now)
        return false;
    *retry_s = (unsigned)((a->blocked_until_ns - now) / 1000000000u) + 1;
    return true;
}

void lc_auth_failed(lc_server *srv, const char *addr, const char *where)
{
    lc_auth_slot *a = auth_slot(srv, addr, true);
    uint64_t now = lc_now_ns();
    srv->api_auth_failures++;
    lc_refused(srv, LC_REFUSED_AUTH);
    if (now - a->first_ns > (uint64_t)LC_AUTH_WINDOW_S * 1000000000u) {
        a->first_ns = now;
        a->fails = 0;
    }
    a->fails++;
    /* The token itself is never logged, only who tried. */
    lc_log(LC_LOG_WARN, LC_LOG_MOD, "%s: wrong API token from %s (%u in %d s)", where, addr,
           a->fails, LC_AUTH_WINDOW_S);
    if (a->fails >= LC_AUTH_MAX_FAILS) {
        a->blocked_until_ns = now + (uint64_t)LC_AUTH_BLOCK_S * 1000000000u;
        a->fails = 0;
        a->first_ns = now;
        lc_log(LC_LOG_WARN, LC_LOG_MOD, "%s: blocking %s for %d s after %d wrong tokens", where,
               addr, LC_AUTH_BLOCK_S, LC_AUTH_MAX_FAILS);
    }
}
