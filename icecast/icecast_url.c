/*
 * icecast_url.c — icecast://[USER[:PASSWORD]@]HOST[:PORT]/MOUNT, checked strictly: every part
 * ends up in a request line or header libshout writes, so a control character, a space or a
 * stray byte would be an injection, not a typo. Errors name the part and never the password.
 */
#include "icecast.h"

#include <stdio.h>
#include <string.h>

/* Printable ASCII with no space: what may stand in a mount. */
static bool plain(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return false;
    return true;
}

int lc_icecast_url_parse(const char *url, lc_icecast_url *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    const char *p;
    if (!strncmp(url, "icecast://", 10)) {
        p = url + 10;
    } else if (!strncmp(url, "icecasts://", 11)) {
        p = url + 11;
        out->tls = true;
    } else {
        lc_errf(why, whylen, "the URL must start with icecast:// or icecasts:// "
                "(icecast://source:PASSWORD@HOST:PORT/MOUNT)");
        return LC_ERR_INVALID;
    }
    if (strlen(url) >= LC_ICECAST_URL_MAX) {
        lc_errf(why, whylen, "the URL is longer than %d bytes", LC_ICECAST_URL_MAX - 1);
        return LC_ERR_INVALID;
    }
    const char *slash = strchr(p, '/');
    if (!slash) {
        lc_errf(why, whylen, "no mount: the URL ends with /MOUNT (icecast://source:PASSWORD@HOST:PORT/live.opus)");
        return LC_ERR_INVALID;
    }
    /* userinfo: up to the last '@' before the path (a password may hold an unescaped '@') */
    const char *at = NULL;
    for (const char *q = p; q < slash; q++)
        if (*q == '@')
            at = q;
    const char *host = p;
    bool has_password = false;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        size_t ulen = colon ? (size_t)(colon - p) : (size_t)(at - p);
        if (!ulen) {
            snprintf(out->user, sizeof out->user, "source");
        } else if (!lc_pct_decode(p, ulen, out->user, sizeof out->user) || strchr(out->user, ':')) {
            lc_errf(why, whylen, "the user name is malformed (at most %zu bytes, %%-escapes, no "
                    "control characters)", sizeof out->user - 1);
            return LC_ERR_INVALID;
        }
        if (colon) {
            if (!lc_pct_decode(colon + 1, (size_t)(at - colon - 1), out->password,
                            sizeof out->password)) {
                lc_errf(why, whylen, "the password is malformed (at most %zu bytes; write '%%' as "
                        "%%25; no control characters)", sizeof out->password - 1);
                return LC_ERR_INVALID;
            }
            has_password = out->password[0] != '\0';
        }
        host = at + 1;
    } else {
        snprintf(out->user, sizeof out->user, "source");
    }
    char why2[96];
    if (lc_host_port_parse(host, (size_t)(slash - host), out->host, sizeof out->host, &out->port,
                           LC_ICECAST_DEFAULT_PORT, 65535, why2, sizeof why2)) {
        lc_errf(why, whylen, "%s", why2);
        return LC_ERR_INVALID;
    }
    size_t mlen = strlen(slash);
    if (mlen < 2 || mlen >= sizeof out->mount || !plain(slash, mlen) || strchr(slash, '?') ||
        strchr(slash, '#')) {
        lc_errf(why, whylen, "the mount must be /NAME: printable, no spaces, '?' or '#', at most "
                "%zu bytes", sizeof out->mount - 1);
        return LC_ERR_INVALID;
    }
    memcpy(out->mount, slash, mlen + 1);
    if (!has_password) {
        lc_errf(why, whylen, "no password: Icecast needs one (icecast://source:PASSWORD@%s:%u%s)",
                out->host, out->port, out->mount);
        return LC_ERR_INVALID;
    }
    bool v6 = strchr(out->host, ':') != NULL;
    snprintf(out->shown, sizeof out->shown, "%s://%s@%s%s%s:%u%s", out->tls ? "icecasts" : "icecast",
             out->user, v6 ? "[" : "", out->host, v6 ? "]" : "", out->port, out->mount);
    return 0;
}
