/*
 * icecast.c — the pusher: one thread per --icecast target, libshout in non-blocking mode.
 *
 * Its loop: connect, then every ~10 ms read what the ring has,
 * frame each packet as a page and shout_send() it. A try that fails, or a link that drops or
 * stops taking data (LC_ICECAST_QUEUE_MAX bytes queued), is logged and retried after a wait that
 * doubles from retry_min_ms to retry_max_ms and is reset by a connection that took data.
 *
 * Why not shout_sync(): the ring is a live source that already paces the pages; sleeping to
 * libshout's idea of the stream's time would only add delay. A reader that falls behind the
 * ring (a slow server) skips to live like any listener; the mux shows the gap in its granule
 * positions, which players take as a jump, never a rewind.
 *
 * Name lookups (getaddrinfo, inside libshout) block: a stop during one waits for it to finish.
 *
 * One libshout handle per pusher, for its whole life (shout_close between tries): libshout
 * 2.4.6's shout_free() frees nothing unless the handle is connected (its test is inverted), so a
 * handle per try would leak ~1 KB at every retry. The one handle left at exit is freed by a
 * fixed libshout and is suppressed for LeakSanitizer in tests/lsan.supp.
 */
#include "icecast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"

#define LOG_MOD "icecast"
#define TICK_NS 10000000ull            /* how often the ring is read */
#define CONNECT_TIMEOUT_NS 10000000000ull /* a connect + login that takes longer has failed */

const char *lc_icecast_state_name(lc_icecast_state st)
{
    switch (st) {
    case LC_ICECAST_LIVE:
        return "live";
    case LC_ICECAST_RETRYING:
        return "retrying";
    default:
        return "connecting";
    }
}

#ifdef LC_HAVE_SHOUT
#include <openssl/rand.h>
#include <shout/shout.h>

struct lc_icecast {
    lc_icecast_config cfg;  /* immutable after start (url.password is only libshout's) */
    char name[320], description[256];
    lc_runner *runner; /* set before its thread starts */
    lc_mutex *mu;

    /* mu: written by the pusher thread, read by anyone (lc_icecast_status_get). */
    lc_icecast_status st;
};

static lc_once shout_once = LC_ONCE_INIT;
static void shout_global_init(void) { shout_init(); } /* never shut down: other pushers may live */

bool lc_icecast_available(void) { return true; }

const char *lc_icecast_shown(const lc_icecast *ic) { return ic->cfg.url.shown; }

void lc_icecast_status_get(lc_icecast *ic, lc_icecast_status *out)
{
    lc_mutex_lock(ic->mu);
    *out = ic->st;
    lc_mutex_unlock(ic->mu);
}

/* Waits until `deadline_ns` or a stop; true if stopping. */
static bool wait_until(lc_icecast *ic, uint64_t deadline_ns)
{
    return lc_runner_sleep_until(ic->runner, deadline_ns);
}

static void set_state(lc_icecast *ic, lc_icecast_state s, const char *error)
{
    lc_mutex_lock(ic->mu);
    bool changed = ic->st.state != s || (error && strcmp(error, ic->st.error));
    ic->st.state = s;
    if (error)
        snprintf(ic->st.error, sizeof ic->st.error, "%s", error);
    if (s == LC_ICECAST_LIVE)
        ic->st.connects++;
    if (s == LC_ICECAST_RETRYING)
        ic->st.failures++;
    if (changed)
        ic->st.changes++;
    lc_mutex_unlock(ic->mu);
}

/* What a libshout error means to the person who wrote the URL. */
static void describe(lc_icecast *ic, shout_t *sh, int rc, char *why, size_t len)
{
    const lc_icecast_url *u = &ic->cfg.url;
    switch (rc) {
    case SHOUTERR_NOLOGIN:
        lc_errf(why, len, "%s:%u refused the login: wrong user or password, or %s already has a "
                "source", u->host, u->port, u->mount);
        break;
    case SHOUTERR_NOCONNECT:
        lc_errf(why, len, "cannot connect to %s:%u (nothing listening, no route, or it hung up)",
                u->host, u->port);
        break;
    case SHOUTERR_TLSBADCERT:
        lc_errf(why, len, "%s:%u: its TLS certificate is not trusted for that name", u->host,
                u->port);
        break;
    case SHOUTERR_NOTLS:
        lc_errf(why, len, "%s:%u does not speak TLS (icecasts://): try icecast://", u->host,
                u->port);
        break;
    case SHOUTERR_RETRY:
        lc_errf(why, len, "%s:%u did not answer within %u s%s", u->host, u->port,
                (unsigned)(CONNECT_TIMEOUT_NS / 1000000000u),
                u->tls ? " (icecasts:// to a port without TLS?)" : "");
        break;
    case SHOUTERR_UNSUPPORTED:
        lc_errf(why, len, "%s:%u does not take Ogg/Opus sources (Icecast 2.4 or newer does)",
                u->host, u->port);
        break;
    default:
        lc_errf(why, len, "%s:%u: %s", u->host, u->port, shout_get_error(sh));
        break;
    }
}

static shout_t *make_handle(lc_icecast *ic)
{
    const lc_icecast_url *u = &ic->cfg.url;
    shout_t *sh = shout_new();
    if (!sh)
        return NULL;
    if (shout_set_host(sh, u->host) || shout_set_port(sh, (unsigned short)u->port) ||
        shout_set_user(sh, u->user) || shout_set_password(sh, u->password) ||
        shout_set_mount(sh, u->mount) || shout_set_protocol(sh, SHOUT_PROTOCOL_HTTP) ||
        shout_set_content_format(sh, SHOUT_FORMAT_OGG, SHOUT_USAGE_AUDIO, NULL) ||
        shout_set_tls(sh, u->tls ? SHOUT_TLS_RFC2818 : SHOUT_TLS_DISABLED) ||
        shout_set_agent(sh, "loopcast/" LC_VERSION) ||
        shout_set_meta(sh, SHOUT_META_NAME, ic->name) ||
        (ic->description[0] && shout_set_meta(sh, SHOUT_META_DESCRIPTION, ic->description)) ||
        shout_set_nonblocking(sh, SHOUT_BLOCKING_NONE)) {
        shout_free(sh);
        return NULL;
    }
    return sh;
}

/* Connects and logs in: SHOUTERR_SUCCESS, an error, or SHOUTERR_BUSY if a stop came first. */
static int connect_handle(lc_icecast *ic, shout_t *sh)
{
    uint64_t give_up = lc_plat_now_ns() + CONNECT_TIMEOUT_NS;
    int rc = shout_open(sh);
    while (rc == SHOUTERR_BUSY || rc == SHOUTERR_RETRY) {
        if (wait_until(ic, lc_plat_now_ns() + TICK_NS))
            return SHOUTERR_BUSY;
        if (lc_plat_now_ns() > give_up)
            return SHOUTERR_RETRY; /* no answer in time: describe() says so */
        rc = shout_get_connected(sh);
    }
    if (rc == SHOUTERR_SOCKET)
        return SHOUTERR_NOCONNECT; /* non-blocking: a refused connect shows as a socket error */
    return rc == SHOUTERR_CONNECTED ? SHOUTERR_SUCCESS : rc;
}

/* Sends every packet the ring has now; 0, or the libshout error that ended the link. */
static int pump(lc_icecast *ic, shout_t *sh, lc_oggmux *mux, uint64_t *cursor, uint8_t *pkt,
                uint8_t *page)
{
    size_t len;
    uint32_t dropped;
    bool any = false;
    while (!lc_stream_read(ic->cfg.ring, cursor, pkt, LC_STREAM_MAX_PACKET, &len, &dropped)) {
        lc_stream_header h;
        if (lc_stream_header_parse(pkt, len, &h) || len == h.header_len)
            continue;
        long n = lc_oggmux_packet(mux, pkt + h.header_len, len - h.header_len, h.pts, page,
                                  LC_OGGMUX_PAGE_MAX);
        if (n <= 0)
            continue;
        int rc = shout_send(sh, page, (size_t)n);
        if (rc != SHOUTERR_SUCCESS && rc != SHOUTERR_BUSY)
            return rc;
        any = true;
        lc_mutex_lock(ic->mu);
        ic->st.packets_sent++;
        ic->st.packets_dropped += dropped;
        ic->st.bytes_sent += (uint64_t)n;
        lc_mutex_unlock(ic->mu);
    }
    if (!any && shout_queuelen(sh) > 0) { /* nothing new: push out what is queued */
        int rc = shout_send(sh, NULL, 0);
        if (rc != SHOUTERR_SUCCESS && rc != SHOUTERR_BUSY)
            return rc;
    }
    return 0;
}

/* One connection, from handshake to drop or stop; what went wrong into why ("" = stopped). */
static void session(lc_icecast *ic, shout_t *sh, uint8_t *pkt, uint8_t *page, bool *took_data,
                    char *why, size_t whylen)
{
    why[0] = '\0';
    lc_oggmux *mux = NULL;
    int rc = connect_handle(ic, sh);
    if (rc == SHOUTERR_BUSY)
        goto out; /* stopping */
    if (rc != SHOUTERR_SUCCESS) {
        describe(ic, sh, rc, why, whylen);
        goto out;
    }
    lc_oggmux_config mc = ic->cfg.mux;
    (void)RAND_bytes((unsigned char *)&mc.serial, sizeof mc.serial); /* any value is valid */
    long n;
    if (lc_oggmux_create(&mux, &mc) || (n = lc_oggmux_headers(mux, page, LC_OGGMUX_PAGE_MAX)) < 0) {
        lc_errf(why, whylen, "out of memory");
        goto out;
    }
    set_state(ic, LC_ICECAST_LIVE, "");
    lc_log(LC_LOG_INFO, LOG_MOD, "%s: live (stream '%s')", ic->cfg.url.shown, ic->cfg.mux.title);
    uint64_t cursor = lc_stream_cursor_new(ic->cfg.ring);
    rc = shout_send(sh, page, (size_t)n);
    while (rc == SHOUTERR_SUCCESS || rc == SHOUTERR_BUSY) {
        if (wait_until(ic, lc_plat_now_ns() + TICK_NS))
            goto out;
        rc = pump(ic, sh, mux, &cursor, pkt, page);
        if (rc)
            break;
        *took_data = true;
        ssize_t q = shout_queuelen(sh);
        if (q > (ssize_t)LC_ICECAST_QUEUE_MAX) {
            lc_errf(why, whylen, "%s:%u stopped taking data (%zd bytes waiting)",
                    ic->cfg.url.host, ic->cfg.url.port, q);
            goto out;
        }
    }
    if (rc == SHOUTERR_SOCKET || rc == SHOUTERR_UNCONNECTED)
        lc_errf(why, whylen, "%s:%u closed the connection", ic->cfg.url.host, ic->cfg.url.port);
    else
        describe(ic, sh, rc, why, whylen);
out:
    lc_oggmux_destroy(mux);
    (void)shout_close(sh); /* UNCONNECTED when the try never got a connection: fine */
}

static void run(lc_runner *rn, void *arg)
{
    (void)rn; /* ic->runner */
    lc_icecast *ic = arg;
    uint8_t *pkt = malloc(LC_STREAM_MAX_PACKET), *page = malloc(LC_OGGMUX_PAGE_MAX);
    shout_t *sh = make_handle(ic);
    unsigned wait_ms = ic->cfg.retry_min_ms;
    while (pkt && page && sh) {
        bool took = false;
        char why[192];
        set_state(ic, LC_ICECAST_CONNECTING, NULL);
        session(ic, sh, pkt, page, &took, why, sizeof why);
        if (!why[0])
            break; /* stopped */
        if (took)
            wait_ms = ic->cfg.retry_min_ms;
        lc_mutex_lock(ic->mu);
        ic->st.retry_in_ms = wait_ms;
        lc_mutex_unlock(ic->mu);
        set_state(ic, LC_ICECAST_RETRYING, why);
        lc_log(LC_LOG_WARN, LOG_MOD, "%s: %s; retrying in %u ms", ic->cfg.url.shown, why, wait_ms);
        if (wait_until(ic, lc_plat_now_ns() + (uint64_t)wait_ms * 1000000ull))
            break;
        wait_ms = wait_ms * 2 > ic->cfg.retry_max_ms ? ic->cfg.retry_max_ms : wait_ms * 2;
    }
    if (!pkt || !page || !sh)
        lc_log(LC_LOG_ERROR, LOG_MOD, "%s: out of memory, not pushing", ic->cfg.url.shown);
    shout_free(sh);
    free(pkt);
    free(page);
}

int lc_icecast_start(lc_icecast **out, const lc_icecast_config *cfg)
{
    *out = NULL;
    lc_once_run(&shout_once, shout_global_init);
    lc_icecast *ic = calloc(1, sizeof *ic);
    if (!ic)
        return LC_ERR_NOMEM;
    ic->cfg = *cfg;
    snprintf(ic->name, sizeof ic->name, "%s", cfg->name ? cfg->name : "loopcast");
    snprintf(ic->description, sizeof ic->description, "%s", cfg->description ? cfg->description : "");
    ic->cfg.name = ic->name;
    ic->cfg.description = ic->description;
    ic->cfg.mux.title = ic->cfg.mux.title ? ic->cfg.mux.title : ic->name;
    if (!ic->cfg.retry_min_ms)
        ic->cfg.retry_min_ms = 1000;
    if (ic->cfg.retry_max_ms < ic->cfg.retry_min_ms)
        ic->cfg.retry_max_ms = ic->cfg.retry_min_ms > 30000 ? ic->cfg.retry_min_ms : 30000;
    int rc = LC_ERR_NOMEM;
    if (lc_mutex_create(&ic->mu, LC_MUTEX_PLAIN))
        goto fail;
    rc = LC_ERR_IO;
    if (lc_runner_start(&ic->runner, run, ic))
        goto fail;
    *out = ic;
    return 0;
fail:
    lc_mutex_destroy(ic->mu);
    free(ic);
    return rc;
}

void lc_icecast_stop(lc_icecast *ic)
{
    if (!ic)
        return;
    lc_runner_stop(ic->runner);
    lc_mutex_destroy(ic->mu);
    free(ic);
}

#else /* no libshout (a Windows build without it): the parser works, pushing does not */

struct lc_icecast {
    char unused;
};

bool lc_icecast_available(void) { return false; }
int lc_icecast_start(lc_icecast **out, const lc_icecast_config *cfg)
{
    (void)cfg;
    *out = NULL;
    return LC_ERR_UNSUPPORTED;
}
void lc_icecast_status_get(lc_icecast *ic, lc_icecast_status *out)
{
    (void)ic;
    memset(out, 0, sizeof *out);
}
const char *lc_icecast_shown(const lc_icecast *ic)
{
    (void)ic;
    return "";
}
void lc_icecast_stop(lc_icecast *ic) { (void)ic; }
#endif
