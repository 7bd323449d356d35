/*
 * api.h — the JSON API (/api/v1) as a pure function: a request in, a status and JSON body out.
 *
 * Nothing here knows about libwebsockets: the server collects method, path, the two headers that
 * matter and the body, calls lc_api_handle(), and writes what comes back. So every endpoint and
 * every error is unit-tested and fuzzed without a socket, and the server's HTTP glue stays small.
 *
 *   GET    /api/v1/status              version, uptime, source, codec, listener counts
 *   GET    /api/v1/join                the listener page's LAN URLs, each with its QR code (SVG)
 *   GET    /api/v1/sessions            every session
 *   GET    /api/v1/sessions/{id}       one session
 *   PATCH  /api/v1/sessions/{id}       {"volume":0..100, "muted":bool, "name":"..."} (any subset)
 *   PUT    /api/v1/sessions/{id}       create or replace settings (+ optional "persist":bool)
 *   DELETE /api/v1/sessions/{id}       forget (the server disconnects its listeners)
 *   GET    /api/v1/streams             every stream (the server's hook)
 *   GET    /api/v1/groups              every group (room); POST creates one (the id is ours)
 *   GET/PUT/PATCH/DELETE /api/v1/groups/{id}   one group (api_groups.c)
 *
 * Errors: {"error":{"code":"...","message":"..."}} with 400 (malformed JSON, wrong type or
 * range, unknown field, malformed id), 401 (missing/wrong token), 404, 405 (+ Allow), 413 (body
 * over the limit), 415 (not application/json), 409 (a grouped session's stream: `in_group`; the
 * table or the group list full). A refused request changes nothing.
 *
 * Threading: lc_api_handle may be called from any thread; the session table locks itself.
 */
#ifndef LC_API_H
#define LC_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LC_API_MAX_BODY 16384u /* bytes, unless the request names its own max_body; a session
                                * PATCH is under 200 */

/* What the server knows about a session right now (not stored). */
typedef struct lc_api_live {
    char remote[64];      /* peer address of the newest connection, "" if none */
    char user_agent[160];
    uint64_t packets_sent, packets_dropped;
    int delay_ms;         /* the page's latest latency report, -1 if unknown */
    bool has_sync_error;  /* synchronized playback (--sync-ms): the page's latest report of */
    int sync_error_ms;    /* how late it plays against the delay (negative: early) */
    const char *decoder;  /* the page's decoder and output (its `stats`; static strings), NULL */
    const char *output;   /* until it reports them */
    const char *stream;   /* the stream it hears now (its group's when grouped; a string that
                           * outlives the call), NULL = its own `stream` field */
} lc_api_live;

typedef struct lc_api_hooks {
    void *user;
    /* Fills `out` for a session id; may leave it zeroed. Optional. */
    void (*live)(void *user, const char *id, lc_api_live *out);
    /* Appends the server's status fields to `obj` (a cJSON object). Optional. */
    void (*status)(void *user, void *cjson_obj);
    /* Adds "urls": the LAN URLs of the listener page with their QR codes (GET /api/v1/join).
     * Optional: without it the list is empty. */
    void (*join)(void *user, void *cjson_obj);
    /* The stream called `name` (its name, a string that outlives the call), or NULL when there is
     * none; NULL or "" asks for the first stream. Optional: without it every well-formed name
     * exists and the first is "default". */
    const char *(*stream)(void *user, const char *name);
    /* Adds "streams": [...] to `obj` (GET /api/v1/streams). Optional: an empty list. */
    void (*streams)(void *user, void *cjson_obj);
} lc_api_hooks;

typedef struct lc_api lc_api;

/* `token` is copied; NULL or "" disables auth (only for tests: the server always sets one). */
int lc_api_create(lc_api **out, lc_sessions *sessions, const char *token, const lc_api_hooks *hooks);
void lc_api_destroy(lc_api *api);

typedef struct lc_api_request {
    const char *method;        /* "GET", "PATCH", ... */
    const char *path;          /* "/api/v1/sessions/…", without the query string */
    const char *authorization; /* the Authorization header or NULL */
    const char *content_type;  /* the Content-Type header or NULL */
    const char *body;          /* may be NULL when body_len is 0; need not be NUL-terminated */
    size_t body_len;
    bool body_too_large;       /* the server stopped reading past max_body */
    size_t max_body;           /* the body limit in force (--max-body); 0 = LC_API_MAX_BODY */
} lc_api_request;

typedef struct lc_api_response {
    int status;                /* HTTP status */
    char *body;                /* malloc'd JSON text (free with lc_api_response_free) */
    size_t body_len;
    const char *allow;         /* for 405: the Allow header value, else NULL */
    bool auth_challenge;       /* for 401: send WWW-Authenticate: Bearer */
} lc_api_response;

/* Always fills `resp` (500 with a JSON body if memory runs out). */
void lc_api_handle(lc_api *api, const lc_api_request *req, lc_api_response *resp);
void lc_api_response_free(lc_api_response *resp);

/* 1 if `authorization` is "Bearer <token>" for the configured token (constant time). */
int lc_api_authorized(const lc_api *api, const char *authorization);

/* The JSON object for one session (the API's and the events socket's shape). Caller frees. */
char *lc_api_session_json(const lc_session_info *s, const lc_api_live *live);
/* The settings every view of a session starts with — {id, name, volume, muted, latency_trim_ms,
 * persist} — added to `obj` (a cJSON object): the listener page's hello and `session` messages
 * carry exactly these, the API's session object these and more. false if out of memory. */
bool lc_api_put_session_settings(void *obj, const lc_session_info *s);
/* An events-socket message: {"type":"session.updated","session":{...}} etc. Caller frees. */
char *lc_api_event_json(lc_session_event ev, const lc_session_info *s, const lc_api_live *live);
/* {"type":"group.created"|"group.updated"|"group.removed","group":{...}} (its members read from
 * the table now; none for a removed group). Caller frees; NULL if out of memory. */
char *lc_api_group_event_json(lc_api *api, lc_group_event ev, const lc_group_info *g);

/*
 * Parses a session change from JSON text (PATCH/PUT bodies and the page's "set" control
 * message share it). `allow_persist` accepts a "persist" field (PUT); `allow_type` accepts and
 * ignores "type" (control messages). Unknown fields, wrong types and out-of-range values →
 * LC_ERR_INVALID/LC_ERR_PARSE with a message naming the field.
 */
int lc_api_parse_patch(const char *json, size_t len, bool allow_persist, bool allow_type,
                       lc_session_patch *out, bool *persist, bool *has_persist, char *errbuf,
                       size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
