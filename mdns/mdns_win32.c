/*
 * mdns_win32.c — mdns.h on Windows: DnsServiceRegister, the DNS-SD responder built into Windows
 * 10 1809 and later (dnsapi.dll), one registration per planned service.
 *
 * The four functions are looked up with GetProcAddress rather than linked: an import of a
 * function that the DLL lacks stops the .exe from starting at all, and loopcast still runs on
 * older Windows (and under Wine, whose dnsapi.dll has none of them) — there it logs one line and
 * serves without advertising.
 *
 * Threads. DnsServiceRegister and DnsServiceDeRegister return at once (DNS_REQUEST_PENDING) and
 * report on a thread of Windows' own pool (done_cb). `lock` guards the fields that callback
 * touches; `cond` tells lc_mdns_stop that every answer is in. Windows answers a name conflict by
 * itself; what it picked is not reported back, so the log names the name we asked for.
 * What Wine can show is only the "not available" path (tests/windows); the registration itself is
 * verified on Windows only (docs/windows.md).
 */
#include "mdns_internal.h"

#include <windows.h>
#include <windns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "platform.h"

#ifndef DNS_REQUEST_PENDING
#define DNS_REQUEST_PENDING 9506L /* the SDK's winerror.h has it; mingw-w64's does not */
#endif
#define STOP_WAIT_NS 2000000000ull /* for DnsServiceDeRegister's answers, at shutdown */

typedef PDNS_SERVICE_INSTANCE(WINAPI *construct_fn)(PCWSTR, PCWSTR, PIP4_ADDRESS, PIP6_ADDRESS,
                                                     WORD, WORD, WORD, DWORD, PCWSTR *,
                                                     PCWSTR *);
typedef DWORD(WINAPI *register_fn)(PDNS_SERVICE_REGISTER_REQUEST, PDNS_SERVICE_CANCEL);
typedef VOID(WINAPI *free_fn)(PDNS_SERVICE_INSTANCE);

typedef struct reg {
    lc_mdns *m;
    const lc_mdns_service *svc;            /* into m->plan: immutable */
    DNS_SERVICE_REGISTER_REQUEST req;      /* immutable once DnsServiceRegister was called */
    PDNS_SERVICE_INSTANCE inst;            /* ours; freed in lc_mdns_stop */
    bool withdrawing;                      /* lock: lc_mdns_stop has asked to deregister it */
} reg;

struct lc_mdns {
    /* Immutable after lc_mdns_start. */
    lc_mdns_plan plan;
    HMODULE dll;
    construct_fn construct;
    register_fn reg, dereg;
    free_fn free_instance;
    lc_mutex *lock;
    lc_cond *cond;
    size_t n;
    reg regs[LC_MDNS_MAX_SERVICES];
    /* lock */
    unsigned pending; /* answers outstanding, over every reg */
};

/* Windows' pool thread: a registration (or its withdrawal) is done. */
static VOID WINAPI done_cb(DWORD status, PVOID ctx, PDNS_SERVICE_INSTANCE inst)
{
    reg *r = ctx;
    lc_mdns *m = r->m;
    if (inst)
        m->free_instance(inst); /* a copy, ours to free */
    lc_mutex_lock(m->lock);
    bool quiet = r->withdrawing; /* the withdrawal's answer, or a registration overtaken by it */
    m->pending--;
    lc_cond_broadcast(m->cond);
    lc_mutex_unlock(m->lock);
    if (quiet)
        return;
    if (status == ERROR_SUCCESS)
        lc_log(LC_LOG_INFO, LC_MDNS_LOG, "mDNS: advertising '%s' (%s port %u)", m->plan.name,
               r->svc->type, (unsigned)r->svc->port);
    else
        lc_log(LC_LOG_WARN, LC_MDNS_LOG, "mDNS: DnsServiceRegister '%s' %s: error %lu; not "
               "advertising it", m->plan.name, r->svc->type, (unsigned long)status);
}

/* The instance for one service: "NAME.TYPE.local" on "HOST.local", its TXT as key/value pairs. */
static PDNS_SERVICE_INSTANCE make_instance(lc_mdns *m, const lc_mdns_service *s, const char *host)
{
    char full[LC_MDNS_NAME_MAX + 64], hostname[300];
    wchar_t *wfull = NULL, *whost = NULL, *keys[LC_MDNS_MAX_TXT] = {0}, *vals[LC_MDNS_MAX_TXT] = {0};
    PDNS_SERVICE_INSTANCE inst = NULL;
    snprintf(full, sizeof full, "%s.%s.local", m->plan.name, s->type);
    snprintf(hostname, sizeof hostname, "%s.local", host && *host ? host : "loopcast");
    if (!(wfull = lc_plat_wide(full)) || !(whost = lc_plat_wide(hostname)))
        goto fail;
    for (size_t i = 0; i < s->n_txt; i++) {
        char key[LC_MDNS_TXT_MAX];
        const char *eq = strchr(s->txt[i], '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - s->txt[i]), s->txt[i]);
        if (!(keys[i] = lc_plat_wide(key)) || !(vals[i] = lc_plat_wide(eq + 1)))
            goto fail;
    }
    inst = m->construct(wfull, whost, NULL, NULL, s->port, 0, 0, (DWORD)s->n_txt,
                        (PCWSTR *)keys, (PCWSTR *)vals);
fail:
    for (size_t i = 0; i < LC_MDNS_MAX_TXT; i++) {
        free(keys[i]);
        free(vals[i]);
    }
    free(wfull);
    free(whost);
    return inst;
}

int lc_mdns_start(lc_mdns **out, const lc_mdns_params *p)
{
    unsigned index = 0;
    int rc = LC_ERR_NOMEM;
    lc_mdns *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m)
        goto fail;
    m->dll = LoadLibraryExW(L"dnsapi.dll", NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
    if (!m->dll) /* Windows 7 without KB2533623 knows no LOAD_LIBRARY_SEARCH_SYSTEM32 */
        m->dll = LoadLibraryW(L"dnsapi.dll");
    if (m->dll) {
        /* FARPROC to a typed pointer: the documented way, through void * for -Wcast-function-type */
        m->construct = (construct_fn)(void *)GetProcAddress(m->dll, "DnsServiceConstructInstance");
        m->reg = (register_fn)(void *)GetProcAddress(m->dll, "DnsServiceRegister");
        m->dereg = (register_fn)(void *)GetProcAddress(m->dll, "DnsServiceDeRegister");
        m->free_instance = (free_fn)(void *)GetProcAddress(m->dll, "DnsServiceFreeInstance");
    }
    if (!m->construct || !m->reg || !m->dereg || !m->free_instance) {
        lc_log(LC_LOG_INFO, LC_MDNS_LOG, "mDNS: this Windows has no DnsServiceRegister (Windows "
               "10 1809 or later has it); not advertising");
        rc = LC_ERR_UNSUPPORTED;
        goto fail;
    }
    rc = lc_mdns_bind_index(p->bind, &index);
    if (rc)
        goto fail; /* said why */
    lc_mdns_plan_make(p, &m->plan);
    if ((rc = lc_mutex_create(&m->lock, LC_MUTEX_PLAIN)) || (rc = lc_cond_create(&m->cond)))
        goto fail;
    for (size_t i = 0; i < m->plan.n; i++) {
        reg *r = &m->regs[m->n];
        r->m = m;
        r->svc = &m->plan.svc[i];
        r->inst = make_instance(m, r->svc, p->host);
        if (!r->inst) {
            lc_log(LC_LOG_WARN, LC_MDNS_LOG, "mDNS: DnsServiceConstructInstance '%s' %s failed",
                   m->plan.name, r->svc->type);
            continue;
        }
        r->req.Version = DNS_QUERY_REQUEST_VERSION1;
        r->req.InterfaceIndex = index; /* 0: every interface */
        r->req.pServiceInstance = r->inst;
        r->req.pRegisterCompletionCallback = done_cb;
        r->req.pQueryContext = r;
        lc_mutex_lock(m->lock); /* done_cb may run before DnsServiceRegister returns */
        m->pending++;
        lc_mutex_unlock(m->lock);
        DWORD st = m->reg(&r->req, NULL);
        if (st != DNS_REQUEST_PENDING) {
            lc_mutex_lock(m->lock);
            m->pending--;
            lc_mutex_unlock(m->lock);
            lc_log(LC_LOG_WARN, LC_MDNS_LOG, "mDNS: DnsServiceRegister '%s' %s: error %lu; not "
                   "advertising it", m->plan.name, r->svc->type, (unsigned long)st);
            m->free_instance(r->inst);
            r->inst = NULL;
            continue;
        }
        m->n++;
    }
    *out = m;
    return 0;
fail:
    if (rc != LC_ERR_UNSUPPORTED && rc != LC_ERR_INVALID)
        lc_log(LC_LOG_ERROR, LC_MDNS_LOG, "mDNS: cannot start: %s; not advertising",
               lc_strerror(rc));
    if (m) {
        lc_cond_destroy(m->cond);
        lc_mutex_destroy(m->lock);
        if (m->dll)
            FreeLibrary(m->dll);
    }
    free(m);
    return rc;
}

void lc_mdns_stop(lc_mdns *m)
{
    if (!m)
        return;
    /* Withdraw each one (Windows sends the goodbyes), then wait for every answer, registration
     * or withdrawal, so no callback can run on freed memory. */
    for (size_t i = 0; i < m->n; i++) {
        reg *r = &m->regs[i];
        lc_mutex_lock(m->lock);
        r->withdrawing = true; /* from now on done_cb only counts */
        m->pending++;
        lc_mutex_unlock(m->lock);
        if (m->dereg(&r->req, NULL) != DNS_REQUEST_PENDING) {
            lc_mutex_lock(m->lock);
            m->pending--;
            lc_mutex_unlock(m->lock);
        }
    }
    uint64_t deadline = lc_plat_now_ns() + STOP_WAIT_NS;
    lc_mutex_lock(m->lock);
    int rc = 0;
    while (m->pending && rc == 0)
        rc = lc_cond_wait_until(m->cond, m->lock, deadline);
    bool done = m->pending == 0;
    lc_mutex_unlock(m->lock);
    if (!done) {
        /* Windows still owes an answer and will call done_cb with our memory: keep it (the
         * process is ending anyway). */
        lc_log(LC_LOG_WARN, LC_MDNS_LOG, "mDNS: Windows did not confirm the withdrawal in time");
        return;
    }
    for (size_t i = 0; i < m->n; i++)
        m->free_instance(m->regs[i].inst);
    if (m->n)
        lc_log(LC_LOG_INFO, LC_MDNS_LOG, "mDNS: '%s' withdrawn", m->plan.name);
    lc_cond_destroy(m->cond);
    lc_mutex_destroy(m->lock);
    FreeLibrary(m->dll);
    free(m);
}
