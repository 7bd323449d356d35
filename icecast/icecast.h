/*
 * icecast.h — one stream pushed to an Icecast 2.4+ server as Ogg/Opus (issue 15, --icecast).
 *
 * The same Opus packets the WebSocket listeners get, no re-encode: a pusher reads its stream's
 * packet ring through its own cursor (as any listener does), frames each packet as an Ogg page
 * (oggmux/) and hands the pages to libshout, Icecast's own source-client library (HTTP PUT with
 * Basic auth, or SOURCE for an older server; TLS for icecasts://). Icecast relays fan it out to
 * thousands of players at seconds of latency; sessions and volumes are not carried.
 *
 * Each pusher is one thread of its own: connecting, a slow or lost Icecast, a wrong password
 * never touch the capture thread or the lws service threads. The socket is non-blocking, so a
 * stop is honoured within ~20 ms even while a connect hangs. A failure is logged, retried after
 * 1, 2, 4 … 30 s, and visible in lc_icecast_status (for /metrics, /api/v1/status and the
 * events). The password is kept for libshout only: every name this module hands out (the URL in
 * logs, status and errors) is the redacted one.
 *
 * The URL parser is pure (no libshout) and fuzzed: tests/fuzz/fuzz_icecast_url.c.
 */
#ifndef LC_ICECAST_H
#define LC_ICECAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "oggmux.h"
#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LC_ICECAST_URL_MAX 512    /* bytes of an icecast:// URL, the password included */
#define LC_ICECAST_DEFAULT_PORT 8000
#define LC_ICECAST_QUEUE_MAX (256u * 1024u) /* bytes waiting for a stuck server before a reconnect */

typedef struct lc_icecast_url {
    bool tls;              /* icecasts:// */
    char host[256];        /* a name or an address (an IPv6 one without its brackets) */
    unsigned port;         /* 1..65535; default LC_ICECAST_DEFAULT_PORT */
    char mount[256];       /* "/NAME…", printable ASCII, no space */
    char user[64];         /* default "source" */
    char password[128];    /* required: Icecast has no anonymous sources */
    char shown[640];       /* the URL with no password: scheme://user@[host]:port/mount */
} lc_icecast_url;

/*
 * Parses icecast://[USER[:PASSWORD]@]HOST[:PORT]/MOUNT or icecasts://… (user and password may be
 * %-encoded, e.g. a '@' as %40). 0, or LC_ERR_INVALID with why[] saying what is wrong — never
 * quoting the password.
 */
int lc_icecast_url_parse(const char *url, lc_icecast_url *out, char *why, size_t whylen);

/* Whether this build can push (it has libshout); the parser works in every build. */
bool lc_icecast_available(void);

typedef enum {
    LC_ICECAST_CONNECTING, /* connecting or logging in (the first time, or after a retry wait) */
    LC_ICECAST_LIVE,       /* the server took the stream: pages are flowing */
    LC_ICECAST_RETRYING,   /* the last try failed (error says why): waiting to try again */
} lc_icecast_state;

const char *lc_icecast_state_name(lc_icecast_state st); /* "connecting", "live", "retrying" */

typedef struct lc_icecast_config {
    lc_icecast_url url;
    const lc_stream *ring;   /* the stream's packet ring (outlives the pusher) */
    lc_oggmux_config mux;    /* channels, pre-skip, frame size, title; serial picked per connect */
    const char *name;        /* ice-name: what Icecast's directory and players show */
    const char *description; /* ice-description; NULL = none */
    unsigned retry_min_ms;   /* first wait after a failure; 0 = 1000 */
    unsigned retry_max_ms;   /* the wait doubles up to this; 0 = 30000 */
} lc_icecast_config;

typedef struct lc_icecast_status {
    lc_icecast_state state;
    char error[192];          /* why the last try failed or the link dropped; "" = none yet */
    uint64_t changes;         /* bumped at every state change or new error (a poller's cue) */
    uint64_t connects;        /* times the server took the stream */
    uint64_t failures;        /* failed tries and dropped links */
    uint64_t packets_sent, packets_dropped, bytes_sent; /* since start, over every connection */
    unsigned retry_in_ms;     /* RETRYING: the wait before the next try */
} lc_icecast_status;

typedef struct lc_icecast lc_icecast;

/* Starts the pusher's thread (it connects in the background). LC_ERR_UNSUPPORTED without
 * libshout, LC_ERR_NOMEM, LC_ERR_IO if the thread cannot start. */
int lc_icecast_start(lc_icecast **out, const lc_icecast_config *cfg);
/* A snapshot, from any thread. */
void lc_icecast_status_get(lc_icecast *ic, lc_icecast_status *out);
/* The redacted URL (lc_icecast_url.shown). */
const char *lc_icecast_shown(const lc_icecast *ic);
/* Stops the thread (within ~20 ms: a connect in progress is abandoned) and frees. NULL is a no-op. */
void lc_icecast_stop(lc_icecast *ic);

#ifdef __cplusplus
}
#endif
#endif
