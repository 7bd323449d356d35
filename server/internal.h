/*
 * internal.h — what the server's files share: the server struct and each file's entry points.
 * Not a public header: only the server's own .c files include it.
 *
 * Threads that touch this struct and how (every field below names its guard):
 *   capture threads  one per stream (lc_feed): on_packet() publishes into its feed's ring, bumps
 *                    the feed's atomics marked "capture", wakes every worker (lws_cancel_service);
 *   workers          --threads lws service threads (worker.c), each with its own lws context;
 *                    worker 0 listens and hands each new socket to the least busy worker. A
 *                    connection lives on one worker all its life. The fields marked "mu" are
 *                    shared by the workers under srv->mu (recursive); the audio hot path
 *                    (ws_stream.c's send_audio) takes no lock: what it reads is its worker's own;
 *   stop watcher     (platform: the sigwait thread, Windows' console handler) sets
 *                    stop_requested and wakes every worker;
 *   store writer     (session/) writes sessions.json; it never calls back into the server:
 *                    lc_sessions' event callback runs on the thread that made the change, and
 *                    every change (attach/detach/patch/put/delete) is made by a worker holding
 *                    srv->mu (fanout.c checks the thread at run time and drops, loudly, any
 *                    other);
 *   main thread      create/destroy (no other thread of ours runs then) and, inside
 *                    lc_server_run, IS worker 0.
 *
 * One lws call only is safe across threads: lws_cancel_service(). A worker never touches
 * another's connections through lws: it sets a flag (an atomic, or a field under mu) and wakes
 * the owner (lc_worker_wake), which acts on it in its EVENT_WAIT_CANCELLED (ws_stream.c).
 */
#ifndef LC_SERVER_INTERNAL_H
#define LC_SERVER_INTERNAL_H

#include <libwebsockets.h>
#ifdef LC_HAVE_LIBEV
#include <ev.h>
#endif
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "capture.h"
#include "codec.h"
#include "config.h"
#include "platform.h"
#include "lc_limits.h"
#include "mdns.h"
#include "server.h"
#include "session.h"
#include "stream.h"

#define LC_LOG_MOD "server"
#define LC_STREAM_PROTOCOL "loopcast.v1"
#define LC_EVENTS_PROTOCOL "loopcast.events.v1"
#define LC_PROTOCOL_VERSION 1

/* The connection lists are lws_dll2 lists (lws's intrusive doubly linked list): LC_DLL_EACH walks
 * one (lws_container_of turns a member back into its connection). Not for a walk that unlinks. */
#define LC_DLL_EACH(it, owner) for (lws_dll2_t *it = lws_dll2_get_head(owner); it; it = it->next)

enum { LC_PROTO_HTTP = 0, LC_PROTO_STREAM = 1, LC_PROTO_EVENTS = 2, LC_PROTO_COUNT_ = 3 };

struct cJSON;                         /* cJSON's object type, for wire.c's builders */
typedef struct lc_ws_conn lc_ws_conn; /* an audio connection (ws_stream.c) */
typedef struct lc_ev_conn lc_ev_conn; /* an events connection (ws_events.c) */
typedef struct lc_ogg_conn lc_ogg_conn; /* a /stream.ogg listener (ogg_http.c) */
typedef struct lc_worker lc_worker;     /* an lws service thread and its context (worker.c) */

/* Wrong-token rate limit, per client address (auth.c). */
#define LC_AUTH_SLOTS 64
#define LC_AUTH_MAX_FAILS 10        /* failures within LC_AUTH_WINDOW_S ... */
#define LC_AUTH_WINDOW_S 60
#define LC_AUTH_BLOCK_S 60          /* ... block the address (429) this long */
typedef struct lc_auth_slot {
    char addr[48];
    uint64_t first_ns, blocked_until_ns;
    unsigned fails;
} lc_auth_slot;

/* Why a request, upgrade or connection was refused: loopcast_refused_total{reason=...}. */
typedef enum {
    LC_REFUSED_CONNS_PER_IP, /* --max-conns-per-ip: 429, or closed at accept past twice it */
    LC_REFUSED_LISTENERS,    /* --max-listeners: close 1013 */
    LC_REFUSED_SESSIONS,     /* --max-sessions: close 1013, or a PUT answered 409 */
    LC_REFUSED_BODY,         /* --max-body: 413 */
    LC_REFUSED_MSG_SIZE,     /* --max-msg-bytes: close 1009 */
    LC_REFUSED_MSG_RATE,     /* --max-msg-rate: close 1008 */
    LC_REFUSED_ORIGIN,       /* Origin check: 403 */
    LC_REFUSED_AUTH,         /* wrong API token (401, 1008) or blocked after too many (429) */
    LC_REFUSED_COUNT_
} lc_refusal;

#define LC_API_CODES 16 /* distinct HTTP statuses counted for /metrics */

/* One stream (feed.c): its capture thread, its encoder (it encodes once for all its listeners)
 * and its packet ring, which each listener of the stream reads through its own cursor. */
typedef struct lc_feed {
    /* Immutable after lc_feeds_create (read by every thread). */
    lc_server *srv;
    const lc_stream_def *def; /* name and URI: srv->cfg.streams[index] */
    unsigned index;
    lc_capture *cap;
    lc_opus_encoder *enc;
    lc_stream *ring;

    /* capture thread writes, anyone reads: relaxed atomics (a timestamp and a counter; nobody
     * derives ordering from them). */
    _Atomic uint64_t last_packet_ns; /* lc_now_ns() of the newest published packet, 0 = none */
    _Atomic uint64_t publish_errors;

    /* worker 0 only (fanout.c's poll). */
    lc_capture_state src_state;      /* last state pushed to clients */
    char src_error[160];             /* last error pushed ("" = none) */
    char src_detail[160];            /* last detail pushed (lc_capture_stats.detail) */

    /* mu. (Packets sent to it: each worker's feed_sent[index].) */
    unsigned listeners;              /* counted audio connections on this stream now */

    /* main thread (lc_server_run / destroy). */
    int tap_id;
    bool capture_started;
} lc_feed;

/* What a worker is woken for, besides packets (lc_worker_wake). */
enum { LC_WAKE_EVENTS = 1u, LC_WAKE_OGG = 2u };
#define LC_HANDOFF_MAX 256 /* sockets waiting for a worker to adopt them; past it worker 0 keeps
                            * the next ones itself */

/* A handed-over socket, with what FILTER_NETWORK_CONNECTION learnt about its peer (clients.c). */
typedef struct lc_handoff {
    lws_sockfd_type fd;
    uint8_t key[16];
    bool valid, proxy;
} lc_handoff;

/* Counters the hot path bumps: each worker its own (plain relaxed load + store, no shared cache
 * line), every reader sums the workers (lc_server_totals). */
typedef struct lc_worker_counters {
    _Atomic uint64_t packets_sent, packets_dropped, bytes_sent;
    _Atomic uint64_t feed_sent[LC_CONFIG_MAX_STREAMS]; /* per stream (lc_feed.index) */
} lc_worker_counters;

struct lc_worker {
    /* Immutable after lc_server_create. */
    lc_server *srv;
    unsigned index;
    struct lws_context *ctx; /* its own; only worker 0's listens (the others: no port) */
    struct lws_vhost *vh;
#ifdef LC_HAVE_LIBEV
    struct ev_loop *loop;    /* its event loop (epoll), handed to lws as a foreign loop */
#endif

    /* main thread: started by lc_server_run (workers 1..N-1), joined by it. */
    lc_thread *thread;

    /* owner (this worker's thread) only. */
    uint8_t *txbuf;          /* LWS_PRE + LC_TXBUF bytes: its one send buffer */
    bool stopping;           /* saw stop_requested: its connections are closing */
    lws_sorted_usec_list_t tick; /* shutdown poll timer */
    lc_handoff pending;      /* FILTER_NETWORK_CONNECTION / an adoption → the next WSI_CREATE */
    lws_dll2_owner_t audio;  /* its audio connections (ws_stream.c's fan-out list) */

    /* anyone sets (atomic_fetch_or), the owner takes (atomic_exchange) when woken (ws_stream.c). */
    atomic_uint wake;        /* LC_WAKE_* */
    atomic_uint source_changed; /* bit i: stream i's source changed state */

    /* owner writes (relaxed), anyone reads. */
    lc_worker_counters n;

    /* mu. */
    unsigned conns;          /* sockets it holds or is about to adopt (the hand-over balance) */
    unsigned listeners;      /* counted audio and Ogg connections on it */
    unsigned ev_open;        /* events connections on it */
    lc_handoff inbox[LC_HANDOFF_MAX]; /* sockets handed to it, not yet adopted */
    unsigned n_inbox;
};

struct lc_server {
    /* Immutable after lc_server_create (read by every thread). */
    lc_config cfg;
    lc_feed *feeds;          /* cfg.n_streams of them, in the configured order (feed.c) */
    unsigned n_feeds;
    uint8_t silence[LC_OPUS_MAX_PACKET]; /* one encoded frame of silence: what a muted /stream.ogg */
    size_t silence_len;                  /* listener gets (ogg_http.c) */
    lc_worker *workers;      /* n_workers (--threads) of them; [0] listens */
    unsigned n_workers;
    struct lws_context *ctx; /* workers[0].ctx: the listening one (the TLS redirect's vhost too) */
    lc_mutex *mu;            /* recursive: guards every field marked "mu" */
    uint64_t start_ns;
    char host[256]; /* lc_plat_hostname at creation ("" if unknown); read-only afterwards */
    uint32_t max_lag_packets;
    unsigned fd_limit;       /* lws's fd_limit_per_thread: the most connections at once */
    int sndbuf;              /* SO_SNDBUF for audio sockets, bytes */
    struct lws_protocols protocols[LC_PROTO_COUNT_ + 1];
    struct lws_protocol_vhost_options pvo_stream, pvo_default;
    lws_retry_bo_t retry;
    char *web_root_real;     /* realpath of --web-root, NULL for the embedded assets */
    char *state_dir;         /* resolved state directory, NULL = nothing persisted */
    lc_plat_lock *state_lock; /* STATE_DIR/lock, held for the server's life; NULL if none */
    lc_sessions *sessions;   /* locks itself; its events arrive on a worker holding mu */
    lc_api *api;             /* immutable; lc_api_handle is called under mu only */
    char auth_header[LC_CONFIG_TOKEN_MAX + 8]; /* "Bearer <token>" for the server's own calls */

    /* main thread starts them after the captures and stops them after the workers (outputs.c);
     * in between anyone reads their status (lc_icecast_status_get locks). */
    lc_icecast *icecast[LC_CONFIG_MAX_OUTPUTS]; /* cfg.icecast[i]'s pusher */
    char ice_name[LC_CONFIG_MAX_OUTPUTS][320];  /* its ice-name */
    lc_rtp *rtp[LC_CONFIG_MAX_OUTPUTS];         /* cfg.rtp[i]'s sender (the same rules) */
    /* worker 0 only (fanout.c's poll): the status.changes last pushed as an event. */
    uint64_t ice_seen[LC_CONFIG_MAX_OUTPUTS], rtp_seen[LC_CONFIG_MAX_OUTPUTS];

    /* stop watcher (or lc_server_stop) writes, the workers read. */
    atomic_int stop_requested;
    /* set once by whichever worker sees the request first, before any closes: read by all. */
    _Atomic uint64_t stop_deadline_ns;

    /* mu. */
    unsigned listeners;          /* audio WebSockets and Ogg listeners open now (counted ones) */
    uint64_t ws_accepted, ws_refused;
    bool tearing_down;           /* lws_context_destroy running: session events not broadcast */
    lws_dll2_owner_t audio_conns; /* every established audio connection (ws_stream.c) */
    lws_dll2_owner_t ev_conns;   /* every events connection (ws_events.c) */
    lws_dll2_owner_t ogg_conns;  /* every /stream.ogg listener (ogg_http.c) */
    unsigned events_clients;     /* authenticated events connections */
    lws_sorted_usec_list_t source_poll; /* 250 ms capture-state poll (fanout.c): worker 0 */
    lc_auth_slot auth[LC_AUTH_SLOTS];
    uint64_t api_auth_failures;
    int api_code[LC_API_CODES];  /* HTTP statuses seen, with their counts below */
    uint64_t api_count[LC_API_CODES];
    uint64_t refused[LC_REFUSED_COUNT_];
    lc_iptab *conns_per_ip;      /* open connections per client address (clients.c) */
    lc_connmap *conns;           /* each open connection's counted address */
    lc_bucket refusal_log;       /* refusal log lines are rate-limited ... */
    uint64_t refusal_log_dropped; /* ... and the ones dropped counted */

    /* worker 0 (lc_server_run starts it, its shutdown stops it; lc_server_destroy stops it
     * if run did not): the mDNS advertiser, which runs its own thread behind mdns.h */
    lc_mdns *mdns;

    /* main thread: the OS stop-request watcher (lc_plat_stop_watch) */
    bool stop_watch_started;
};

#define LC_TXBUF (LC_STREAM_MAX_PACKET + 2048u)
/* Above this RLIMIT_NOFILE, lws's fd table (two pointers per fd) is not sized to it. */
#define LC_FD_LIMIT_MAX (1u << 20)

/* worker.c: the service threads (--threads). */
int lc_workers_alloc(lc_server *srv, unsigned n); /* the structs and send buffers, no contexts */
void lc_workers_free(lc_server *srv);             /* after every context is destroyed */
/* Starts workers 1..N-1, each running loop(worker) (server.c); worker 0 is the caller's. */
int lc_workers_start(lc_server *srv, lc_thread_fn loop);
void lc_workers_join(lc_server *srv);
void lc_worker_enter(lc_worker *w);               /* the calling thread now runs `w` */
lc_worker *lc_worker_current(void);               /* NULL off the workers */
lc_worker *lc_worker_of(struct lws *wsi);         /* the worker whose context holds `wsi` */
lc_server *lc_server_of(struct lws *wsi);
bool lc_server_stopping(const lc_server *srv);    /* a stop was requested */
/* Sets `what` (LC_WAKE_*, or 0: packets / its audio connections' flags) and wakes `w`. */
void lc_worker_wake(lc_worker *w, unsigned what);
void lc_workers_wake_all(lc_server *srv);         /* new packets, a stop: any thread */
/* lws_callback_on_writable(wsi) if `wsi` is the calling worker's, else wakes its owner for
 * `what` (the owner then asks every connection of that kind). */
void lc_wake_writable(struct lws *wsi, unsigned what);
/* Worker 0's FILTER_NETWORK_CONNECTION, after clients.c let the peer in (from->pending set):
 * true when the socket was handed to a less busy worker (then refuse it here: lws's close of
 * the invalidated fd does nothing). Under mu. */
bool lc_worker_handoff(lc_worker *from, struct lws_filter_network_conn_args *a);
/* When woken (EVENT_WAIT_CANCELLED): adopts the sockets handed to `w`. */
void lc_worker_adopt(lc_worker *w);
/* One writer per counter (its worker): a relaxed add without a locked instruction. */
void lc_count(_Atomic uint64_t *c, uint64_t n);
typedef struct lc_totals {
    uint64_t packets_sent, packets_dropped, bytes_sent;
} lc_totals;
void lc_server_totals(lc_server *srv, lc_totals *t); /* summed over the workers */
uint64_t lc_feed_sent(lc_feed *f);                   /* packets written to its listeners */

/* http.c: every plain HTTP request (pages, probes, metrics, the REST API). */
int lc_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);
size_t lc_http_pss_size(void);

/* http_reply.c: what every HTTP answer shares. */
int lc_http_add_header(struct lws *wsi, const char *name, const char *val, unsigned char **p,
                       unsigned char *end);
/* Adds CSP, nosniff, Referrer-Policy and Cache-Control to a header block being built. */
int lc_http_add_security_headers(struct lws *wsi, unsigned char **p, unsigned char *end,
                                 const char *cache_control);
/* JSON string escaping for the few strings put into bodies (a path, an error reason). */
void lc_json_escape(char *out, size_t cap, const char *in);
/* Answers the request now, in one write: a JSON error ({"error":{"code","message"}}) with our
 * security headers, "connection: close" if `close`. For the upgrade gate, where lws takes over
 * once the callback returns: 1 (what LWS_CALLBACK_HTTP_CONFIRM_UPGRADE wants), -1 on failure. */
int lc_http_error_now(struct lws *wsi, unsigned status, const char *code, const char *message,
                      bool close);

/* clients.c: client addresses, connections per address, the upgrade gate, refusal counters. */
int lc_clients_create(lc_server *srv);
void lc_clients_destroy(lc_server *srv);
int lc_clients_filter_network(lc_worker *w, const struct lws_filter_network_conn_args *a);
void lc_clients_wsi_create(lc_server *srv, struct lws *wsi);
void lc_clients_wsi_destroy(lc_server *srv, struct lws *wsi);
/* The client's address for the request on `wsi` (canonical text, never client bytes); returns
 * whether the client used https (TLS here, or a trusted proxy's X-Forwarded-Proto). */
bool lc_client_addr(struct lws *wsi, lc_server *srv, char out[LC_ADDR_MAX]);
/* Over --max-conns-per-ip? When it is, counts and logs the refusal: answer 429. */
bool lc_clients_refuse_request(struct lws *wsi, lc_server *srv, const char *addr);
/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE (lws sends it to the vhost's default protocol): the
 * per-address limit (429) and the Origin check (403). 0 = go on, 1 = answered. */
int lc_clients_confirm_upgrade(struct lws *wsi, lc_server *srv);
void lc_refused(lc_server *srv, lc_refusal r);
const char *lc_refusal_name(lc_refusal r);
/* A refusal's log line, rate-limited (bursts of 10, then 5/s; the dropped ones are counted). */
void lc_refusal_log(lc_server *srv, const char *fmt, ...) LC_PRINTF(2, 3);

/* ws_close.c: how both WebSocket protocols close. At a WRITEABLE: does the connection close?
 * 0 = no. 1 = the server is stopping: the 1001 is set, return -1. 2 = its own close_code: the
 * close frame is sent (once; *close_sent) and the connection waits up to 2 s for the client's
 * close, reading nothing more: return 0 and send nothing. */
int lc_ws_close_pending(struct lws *wsi, const lc_server *srv, uint16_t code, const char *why,
                        bool *close_sent);

/* ws_stream.c: the audio WebSocket. */
int lc_ws_stream_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                          void *in, size_t len);
size_t lc_ws_pss_size(void);

/* ws_stream.c: session changes, live figures and source changes for audio connections. */
void lc_ws_stream_session_event(lc_server *srv, lc_session_event ev, const lc_session_info *s);
void lc_ws_stream_live(lc_server *srv, const char *id, lc_api_live *out);
/* A group changed: every audio connection looks at its session and group again. */
void lc_ws_stream_group_event(lc_server *srv);

/* ws_events.c: the events WebSocket (/api/v1/events). */
int lc_ws_events_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                          void *in, size_t len);
size_t lc_ws_events_pss_size(void);
/* Queues `text` (malloc'd, taken; NULL = out of memory, logged) for every events client. */
void lc_ws_events_push(lc_server *srv, char *text);

/* fanout.c: changes to the connections. The lc_sessions event callback (a worker, under mu). */
void lc_fanout_session_event(void *user, lc_session_event ev, const lc_session_info *s);
/* The table's group event callback (a worker, under mu). */
void lc_fanout_group_event(void *user, lc_group_event ev, const lc_group_info *g);
/* Starts the capture-state poll (every 250 ms, every stream; pushes `source` on a change). */
void lc_fanout_start_source_poll(lc_server *srv);

/* ogg_http.c: /stream.ogg. start: from the HTTP request (its query); on failure *status and why
 * say what to answer. writeable: what HTTP_WRITEABLE returns. free: at CLOSED_HTTP. */
int lc_ogg_http_start(struct lws *wsi, lc_server *srv, const char *client, bool head,
                      lc_ogg_conn **out, unsigned *status, char *why, size_t whylen);
int lc_ogg_http_writeable(lc_ogg_conn *c);
void lc_ogg_http_free(lc_ogg_conn *c);
/* New packets or shutdown: every /stream.ogg listener of worker `w` is asked to write. */
void lc_ogg_http_wake(lc_worker *w);
/* A session (NULL: any) changed: its /stream.ogg listeners follow its mute and stream. */
void lc_ogg_http_session_event(lc_server *srv, lc_session_event ev, const char *id);
/* Adds its /stream.ogg listeners' figures to a session's live ones. */
void lc_ogg_http_live(lc_server *srv, const char *id, lc_api_live *out);

/* wire.c: the server's entities as JSON, one serializer each. */
/* Adds "source": {uri, state, error} of stream `f` to `parent`; false if out of memory. */
bool lc_wire_add_source(struct cJSON *parent, lc_feed *f);
/* Adds "streams": [{name, uri, state, error, listeners}], every stream in order. */
bool lc_wire_add_streams(struct cJSON *parent, lc_server *srv);
bool lc_wire_add_codec(struct cJSON *parent, lc_server *srv);
/* Adds "sync_ms": --sync-ms (0 = off) to `parent`; false if out of memory. */
bool lc_wire_add_sync(struct cJSON *parent, lc_server *srv);
/* The `source` message {"type":"source",stream,uri,state,error} (malloc'd), NULL on OOM. */
char *lc_wire_source_msg(lc_feed *f);
/* GET /api/v1/status's `icecast` array: one object per --icecast target. */
bool lc_wire_add_icecast(struct cJSON *parent, lc_server *srv);
/* The `icecast` event: {type, icecast: <target i's object>}. */
char *lc_wire_icecast_msg(lc_server *srv, size_t i);

/* GET /api/v1/status's `rtp` array, and the `rtp` event, the same way. */
bool lc_wire_add_rtp(struct cJSON *parent, lc_server *srv);
char *lc_wire_rtp_msg(lc_server *srv, size_t i);

/* outputs.c: Icecast pushers, RTP senders. */
void lc_feed_mux_config(lc_feed *f, lc_oggmux_config *out); /* the stream's Ogg/Opus header */
int lc_outputs_start(lc_server *srv);
void lc_outputs_stop(lc_server *srv); /* idempotent */
void lc_outputs_poll(lc_server *srv); /* worker 0: an event per changed pusher or sender */
/* /readyz's body {ready, reason, streams:[{..., ready, reason}]} (malloc'd; *ready set). */
char *lc_wire_readyz(lc_server *srv, int *ready);

/* feed.c: the streams. create (main thread, before lws), start (lc_server_run), stop (capture
 * threads joined), destroy. */
int lc_feeds_create(lc_server *srv, char *errbuf, size_t errlen);
int lc_feeds_start(lc_server *srv);
void lc_feeds_stop(lc_server *srv);
void lc_feeds_destroy(lc_server *srv);
/* The stream called `name`, or NULL (NULL or "" finds none). */
lc_feed *lc_feed_find(lc_server *srv, const char *name);
/* The stream called `name`, or the first one when there is none by that name. */
lc_feed *lc_feed_for(lc_server *srv, const char *name);
/* The stream a session hears: its group's (g, NULL when in none), else its own, else the first. */
lc_feed *lc_feed_heard(lc_server *srv, const lc_session_info *s, const lc_group_info *g);
/* A listener (audio WebSocket or /stream.ogg) starts or stops counting on `f` (and in
 * srv->listeners and its worker's); add also bounds its kernel send buffer. Under mu. */
void lc_feed_listener_add(lc_feed *f, struct lws *wsi);
void lc_feed_listener_remove(lc_feed *f, struct lws *wsi);
/* Its capture state, and the error ("" when running). */
lc_capture_state lc_feed_state(lc_feed *f, char *err, size_t errlen);
/* 1 when its capture runs and a packet was encoded in the last 2 s; else 0 and a reason. */
int lc_feed_ready(lc_feed *f, char *reason, size_t reason_len);

/* join.c: the LAN URLs as QR codes (issue 13). lc_join_print: after the URLs at start-up, the
 * first one drawn on the console (text logs only). lc_join_add_json: "urls":[{url, interface,
 * qr_svg}] into a cJSON object, for GET /api/v1/join. */
void lc_join_print(const lc_server *srv);
void lc_join_add_json(const lc_server *srv, void *obj);
/* The one address --bind names, or NULL where the server listens on every interface: no --bind,
 * or --bind 0.0.0.0 / :: (whose URLs are then each interface's, not the unspecified address). */
const char *lc_join_bound_addr(const lc_config *cfg);

/* api_http.c: the server's glue to session/ and api/. */
int lc_server_sessions_create(lc_server *srv, char *errbuf, size_t errlen);
bool lc_api_http_is_api(const char *url);
/* Answers one /api/v1 request (never the events socket) from `client` (lc_client_addr);
 * `resp` must be freed. */
void lc_api_http_answer(struct lws *wsi, lc_server *srv, const char *client, const char *url,
                        const char *method, const char *body, size_t body_len, bool too_large,
                        lc_api_response *resp, const char **extra_name, char *extra_val,
                        size_t extra_cap);

/* auth.c: the wrong-token rate limit: blocked now? (seconds left in *retry_s) / one failure. */
bool lc_auth_blocked(lc_server *srv, const char *addr, unsigned *retry_s);
void lc_auth_failed(lc_server *srv, const char *addr, const char *where);

/* state.c */
int lc_state_default_dir(char *out, size_t cap, bool service);
int lc_state_open(const char *dir, lc_plat_lock **lock, char *errbuf, size_t errlen);
int lc_state_token(const char *dir, char *tok, size_t cap, char *errbuf, size_t errlen);

/* metrics.c: renders /metrics into a malloc'd string (*len set); NULL on OOM. */
char *lc_metrics_render(lc_server *srv, size_t *len);
/* The first stream's lc_feed_ready (one failed stream of several must not take the server out of
 * its Service), 0 while shutting down. */
int lc_server_ready(lc_server *srv, char *reason, size_t reason_len);

#endif
