/*
 * server.h — the loopcast server object: capture → Opus encoder → packet ring → libwebsockets.
 *
 *   lc_server_create()  opens the source (a bad URI fails here with LC_ERR_URI & co. and a
 *                       message), creates the encoder, the ring and the lws context (listening);
 *   lc_server_run()     starts capture and runs the lws service loop on the calling thread until
 *                       SIGTERM/SIGINT (or lc_server_stop), then closes every WebSocket with
 *                       1001, stops capture and returns 0;
 *   lc_server_destroy() frees everything.
 *
 * Stop requests: lc_server_block_signals() must run in main() before any thread exists, so on
 * POSIX SIGTERM and SIGINT are delivered only to the platform's sigwait() thread, never to the
 * capture or lws threads in the middle of a call (lc_plat_stop_init). That thread — or on
 * Windows the console handler (Ctrl+C, Ctrl+Break, close, logoff, shutdown) — turns the request
 * into an atomic flag plus lws_cancel_service(), the one lws call that is safe from another
 * thread; the same graceful path as SIGTERM follows.
 */
#ifndef LC_SERVER_H
#define LC_SERVER_H

#include <stddef.h>

#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lc_server lc_server;

/* Blocks SIGTERM, SIGINT, SIGHUP (and ignores SIGPIPE) in the calling thread and every thread it
 * later starts (lc_plat_stop_init). */
void lc_server_block_signals(void);

/* `cfg` is copied. On failure returns a negative LC_ERR_* with a message in errbuf;
 * LC_ERR_URI / LC_ERR_NO_BACKEND / LC_ERR_FORMAT mean a bad --source (exit status 2). */
int lc_server_create(lc_server **out, const lc_config *cfg, char *errbuf, size_t errlen);
int lc_server_run(lc_server *srv);
/* Asks a running server to shut down, from any thread (what SIGTERM does). */
void lc_server_stop(lc_server *srv);
void lc_server_destroy(lc_server *srv);

#ifdef __cplusplus
}
#endif
#endif
