/*
 * api_http.c — the server's glue to session/ (the table and its store) and api/ (the REST
 * handler as a pure function): which state directory and token, the API's live/status hooks,
 * and one REST request → response. Session events go to fanout.c.
 *
 * Threads: everything here runs on the lws thread, except lc_server_sessions_create (main
 * thread, before any other thread of ours exists). Session events: lc_sessions calls back on the
 * thread that made the change, and the server makes every change on the lws thread (attach and
 * detach in ws_stream.c, patch from a page's `set`, and the REST handler); the store's writer
 * thread only writes files and never emits. on_session_event() checks the thread anyway, so a
 * future caller elsewhere fails loudly instead of racing on the connection lists.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- API hooks ----------------------------------------------------------------------------- */

static void live_hook(void *user, const char *id, lc_api_live *out)
{
    lc_ws_stream_live(user, id, out);
}

static void status_hook(void *user, void *obj)
{
    lc_server *srv = user;
    cJSON *o = obj;
    cJSON_AddStringToObject(o, "version", LC_VERSION);
    cJSON_AddStringToObject(o, "host", srv->host);
    cJSON_AddNumberToObject(o, "uptime_s",
                            (double)((lc_now_ns() - srv->start_ns) / 1000000u) / 1000.0);
    lc_wire_add_source(o, &srv->feeds[0]); /* the first stream's, as before streams */
    lc_wire_add_streams(o, srv);
    lc_wire_add_codec(o, srv);
    lc_wire_add_sync(o, srv);
    cJSON_AddNumberToObject(o, "listeners", srv->listeners);
    cJSON_AddNumberToObject(o, "threads", srv->n_workers);
    lc_wire_add_icecast(o, srv);
    lc_wire_add_rtp(o, srv);
}

static void join_hook(void *user, void *obj) { lc_join_add_json(user, obj); }

static const char *stream_hook(void *user, const char *name)
{
    lc_server *srv = user;
    lc_feed *f = name && *name ? lc_feed_find(srv, name) : &srv->feeds[0];
    return f ? f->def->name : NULL;
}

static void streams_hook(void *user, void *obj) { lc_wire_add_streams(obj, user); }

/* ---- creation ------------------------------------------------------------------------------ */

/* State directory: --state-dir, else the XDG default; locked against a second server. */
static int pick_state_dir(lc_server *srv, char *errbuf, size_t errlen)
{
    char def[PATH_MAX], why[PATH_MAX + 128];
    const char *dir = srv->cfg.state_dir;
    int rc;
    if (dir) {
        rc = lc_state_open(dir, &srv->state_lock, errbuf, errlen);
        if (rc)
            return rc; /* the operator named it: refusing beats silently not persisting */
    } else {
        if (lc_state_default_dir(def, sizeof def, srv->cfg.service == LC_SERVICE_RUN)) {
            lc_log(LC_LOG_WARN, LC_LOG_MOD, "NO STATE DIRECTORY: the default (%s) cannot be "
                   "built from the environment, so session settings will NOT survive a restart; "
                   "set --state-dir", lc_plat_text(LC_TEXT_STATE_DIR));
            return 0;
        }
        if (lc_state_open(def, &srv->state_lock, why, sizeof why)) {
            lc_log(LC_LOG_WARN, LC_LOG_MOD, "NOT PERSISTING SESSIONS: %s; session settings "
                   "will not survive a restart (give --state-dir)", why);
            return 0;
        }
        dir = def;
    }
    if (!(srv->state_dir = strdup(dir)))
        return LC_ERR_NOMEM;
    return 0;
}

int lc_server_sessions_create(lc_server *srv, char *errbuf, size_t errlen)
{
    char tok[LC_CONFIG_TOKEN_MAX + 1], note[256];
    lc_sessions_config sc;
    lc_api_hooks hooks = {.user = srv, .live = live_hook, .status = status_hook, .join = join_hook,
                          .stream = stream_hook, .streams = streams_hook};
    int rc;

    rc = pick_state_dir(srv, errbuf, errlen);
    if (rc)
        return rc;
    if (srv->cfg.api_token[0]) {
        snprintf(tok, sizeof tok, "%s", srv->cfg.api_token);
        lc_log(LC_LOG_INFO, LC_LOG_MOD, "API token: from %s",
               srv->cfg.api_token_file ? srv->cfg.api_token_file : "the command line/environment");
    } else if ((rc = lc_state_token(srv->state_dir, tok, sizeof tok, errbuf, errlen))) {
        return rc;
    }
    snprintf(srv->auth_header, sizeof srv->auth_header, "Bearer %s", tok);

    lc_sessions_config_default(&sc);
    sc.state_dir = srv->state_dir;
    sc.max_sessions = srv->cfg.max_sessions;
    rc = lc_sessions_create(&srv->sessions, &sc, lc_fanout_session_event, srv, note, sizeof note);
    if (rc) {
        lc_errf(errbuf, errlen, "session store in '%s': %s", srv->state_dir, lc_strerror(rc));
        goto out;
    }
    lc_sessions_on_group_event(srv->sessions, lc_fanout_group_event, srv);
    if (note[0])
        lc_log(LC_LOG_ERROR, LC_LOG_MOD, "session store: %s", note);
    lc_log(LC_LOG_INFO, LC_LOG_MOD, "sessions: %zu loaded from %s (max %zu)",
           lc_sessions_count(srv->sessions),
           srv->state_dir ? srv->state_dir : "nowhere (not persisted)", sc.max_sessions);
    rc = lc_api_create(&srv->api, srv->sessions, tok, &hooks);
out:
    OPENSSL_cleanse(tok, sizeof tok);
    return rc;
}

/* ---- one REST request ---------------------------------------------------------------------- */

bool lc_api_http_is_api(const char *url)
{
    return !strcmp(url, "/api") || !strcmp(url, "/api/v1") || !strncmp(url, "/api/", 5);
}

static void count_code(lc_server *srv, int code)
{
    for (int i = 0; i < LC_API_CODES; i++) {
        if (srv->api_code[i] == code || !srv->api_code[i]) {
            srv->api_code[i] = code;
            srv->api_count[i]++;
            return;
        }
    }
}

static char *hdr_dup(struct lws *wsi, enum lws_token_indexes h)
{
    int n = lws_hdr_total_length(wsi, h);
    if (n <= 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s && lws_hdr_copy(wsi, s, n + 1, h) < 0) {
        free(s);
        s = NULL;
    }
    return s;
}

void lc_api_http_answer(struct lws *wsi, lc_server *srv, const char *client, const char *url,
                        const char *method, const char *body, size_t body_len, bool too_large,
                        lc_api_response *resp, const char **extra_name, char *extra_val,
                        size_t extra_cap)
{
    const char *peer = client; /* lc_client_addr: behind a trusted proxy, the forwarded client */
    unsigned retry = 0;
    char *auth = NULL, *ctype = NULL;

    *extra_name = NULL;
    memset(resp, 0, sizeof *resp);
    if (lc_auth_blocked(srv, peer, &retry)) {
        lc_refused(srv, LC_REFUSED_AUTH);
        static const char msg[] = "{\"error\":{\"code\":\"too_many_requests\",\"message\":"
                                  "\"too many wrong tokens from this address; try later\"}}";
        resp->status = 429;
        resp->body = strdup(msg);
        resp->body_len = resp->body ? sizeof msg - 1 : 0;
        *extra_name = "retry-after:";
        snprintf(extra_val, extra_cap, "%u", retry);
        goto out;
    }
    auth = hdr_dup(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    ctype = hdr_dup(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE);
    lc_api_request req = {
        .method = method,
        .path = url,
        .authorization = auth,
        .content_type = ctype,
        .body = body,
        .body_len = body_len,
        .body_too_large = too_large,
        .max_body = srv->cfg.max_body,
    };
    lc_api_handle(srv->api, &req, resp);
    if (resp->status == 401 && auth)
        lc_auth_failed(srv, peer, "API");
    if (resp->status == 409) /* table_full: PUT with every stored session connected */
        lc_refused(srv, LC_REFUSED_SESSIONS);
    if (resp->status == 413) {
        lc_refused(srv, LC_REFUSED_BODY);
        lc_refusal_log(srv, "API %s %.100s from %s refused (413): body over --max-body %zu",
                       method, url, peer, srv->cfg.max_body);
    }
    if (resp->auth_challenge) {
        *extra_name = "www-authenticate:";
        snprintf(extra_val, extra_cap, "Bearer");
    } else if (resp->allow) {
        *extra_name = "allow:";
        snprintf(extra_val, extra_cap, "%s", resp->allow);
    }
out:
    count_code(srv, resp->status);
    if (auth)
        OPENSSL_cleanse(auth, strlen(auth));
    free(auth);
    free(ctype);
}
