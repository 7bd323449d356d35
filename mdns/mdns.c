/*
 * mdns.c — what to advertise (see mdns.h), shared by both backends: the instance name, the
 * services and their TXT records, and what --bind means for them.
 */
#include "mdns_internal.h"

#include <stdio.h>
#include <string.h>

#include "common.h"
#include "platform.h"

/* Appends "key=value" to s's TXT list (the values are short and fixed: they always fit). */
static void txt(lc_mdns_service *s, const char *key, const char *value)
{
    if (s->n_txt < LC_MDNS_MAX_TXT)
        snprintf(s->txt[s->n_txt++], LC_MDNS_TXT_MAX, "%s=%s", key, value);
}

static lc_mdns_service *add(lc_mdns_plan *out, const char *type, int port)
{
    lc_mdns_service *s = &out->svc[out->n++];
    memset(s, 0, sizeof *s);
    s->type = type;
    s->port = (uint16_t)port;
    txt(s, "path", "/");
    return s;
}

void lc_mdns_plan_make(const lc_mdns_params *p, lc_mdns_plan *out)
{
    memset(out, 0, sizeof *out);
    /* The name people see in a "devices" list: the same words as the page's lock-screen title */
    if (p->host && *p->host)
        snprintf(out->name, sizeof out->name, "loopcast on %s", p->host);
    else
        snprintf(out->name, sizeof out->name, "loopcast");
    /* snprintf may have cut a multi-byte character: drop its leading bytes too, or Avahi
     * refuses the name as invalid UTF-8 */
    size_t n = strlen(out->name);
    if (n == LC_MDNS_NAME_MAX) {
        size_t i = n;
        while (i > 0 && ((unsigned char)out->name[i - 1] & 0xC0) == 0x80)
            i--;
        if (i > 0 && ((unsigned char)out->name[i - 1] & 0x80)) {
            unsigned char lead = (unsigned char)out->name[i - 1];
            size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
            if (n - (i - 1) < want)
                out->name[i - 1] = '\0';
        }
    }
    lc_mdns_service *lc;
    if (p->tls) {
        add(out, "_https._tcp", p->port);
        lc = add(out, "_loopcast._tcp", p->port);
        if (p->redirect_port)
            add(out, "_http._tcp", p->redirect_port);
    } else {
        add(out, "_http._tcp", p->port);
        lc = add(out, "_loopcast._tcp", p->port);
    }
    txt(lc, "api", "/api/v1");
    txt(lc, "version", p->version ? p->version : "");
    txt(lc, "tls", p->tls ? "1" : "0");
}

int lc_mdns_bind_index(const char *bind, unsigned *index)
{
    bool loopback = false;
    *index = 0;
    if (!bind)
        return 0;
    int rc = lc_plat_if_index(bind, index, &loopback);
    if (rc == 0 && loopback) {
        lc_log(LC_LOG_INFO, LC_MDNS_LOG, "mDNS: --bind %s is loopback: no other machine could "
               "connect; not advertising", bind);
        return LC_ERR_INVALID;
    }
    if (rc) {
        lc_log(LC_LOG_WARN, LC_MDNS_LOG, "mDNS: cannot tell which interface --bind %s is on "
               "(%s); not advertising", bind, lc_strerror(rc));
        return LC_ERR_INVALID;
    }
    return 0;
}

void lc_mdns_types(const lc_mdns_plan *plan, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < plan->n && used < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s port %u", i ? ", " : "", plan->svc[i].type,
                         (unsigned)plan->svc[i].port);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}
