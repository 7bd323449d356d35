/*
 * internal.h — what the server's files share: the server struct and each file's entry points.
 * Not a public header: only the server's own .c files include it.
 *
 * Threads that touch this struct and how (every field below names its guard):
 *   capture thread   on_packet(): publishes into the ring, bumps the atomics marked "capture",
 *                    calls lws_cancel_service(ctx);
 *   lws thread       everything else (HTTP, WebSockets, metrics) — the fields marked "lws";
 *   signal thread    sets stop_requested and calls lws_cancel_service(ctx);
 *   main thread      create/destroy (no other thread of ours runs then) and, inside
 *                    lc_server_run, IS the lws thread.
 */
#ifndef LC_SERVER_INTERNAL_H
#define LC_SERVER_INTERNAL_H

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture.h"
#include "codec.h"
#include "config.h"
#include "server.h"
#include "stream.h"

#define LC_LOG_MOD "server"
#define LC_STREAM_PROTOCOL "loopcast.v1"
#define LC_PROTOCOL_VERSION 1

enum { LC_PROTO_HTTP = 0, LC_PROTO_STREAM = 1, LC_PROTO_COUNT_ = 2 };

struct lc_server {
    /* Immutable after lc_server_create (read by every thread). */
    lc_config cfg;
    lc_capture *cap;
    lc_opus_encoder *enc;
    lc_stream *ring;
    struct lws_context *ctx; /* set before capture starts; the capture and signal threads use it
                              * only for lws_cancel_service() and only while it exists */
    struct lws_vhost *vh;
    uint64_t start_ns;
    uint32_t max_lag_packets;
    int sndbuf;              /* SO_SNDBUF for audio sockets, bytes */
    struct lws_protocols protocols[LC_PROTO_COUNT_ + 1];
    struct lws_protocol_vhost_options pvo_stream, pvo_default;
    lws_retry_bo_t retry;
    char *web_root_real;     /* realpath of --web-root, NULL for the embedded assets */

    /* capture thread writes, anyone reads: relaxed atomics (counters and a timestamp; nobody
     * derives ordering from them). */
    _Atomic uint64_t last_packet_ns; /* lc_now_ns() of the newest published packet, 0 = none */
    _Atomic uint64_t publish_errors;

    /* signal thread (or lc_server_stop) writes, lws thread reads. */
    atomic_int stop_requested;

    /* lws thread only. */
    bool stopping;
    uint64_t stop_deadline_ns;
    lws_sorted_usec_list_t tick; /* shutdown poll timer */
    unsigned listeners;          /* audio WebSockets open now (counted ones) */
    uint64_t packets_sent, packets_dropped, bytes_sent, ws_accepted, ws_refused;
    uint8_t *txbuf;              /* LWS_PRE + LC_TXBUF bytes: the one send buffer (one thread) */

    /* main thread: the sigwait thread */
    pthread_t sig_thread;
    bool sig_thread_started;
    int tap_id;
    bool capture_started;
};

#define LC_TXBUF (LC_STREAM_MAX_PACKET + 2048u)

/* http.c */
int lc_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);
size_t lc_http_pss_size(void);
/* Adds CSP, nosniff, Referrer-Policy and Cache-Control to a header block being built. */
int lc_http_add_security_headers(struct lws *wsi, unsigned char **p, unsigned char *end,
                                 const char *cache_control);

/* ws_stream.c */
int lc_ws_stream_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                          void *in, size_t len);
size_t lc_ws_pss_size(void);

/* metrics.c: renders /metrics into a malloc'd string (*len set); NULL on OOM. */
char *lc_metrics_render(lc_server *srv, size_t *len);
/* 1 when capture runs and a packet was encoded in the last 2 s; else 0 and a reason. */
int lc_server_ready(lc_server *srv, char *reason, size_t reason_len);

#endif
