/*
 * api.c — routing, auth, validation and JSON rendering for /api/v1. Order of checks is
 * deliberate: auth first (an unauthenticated caller learns nothing about routes or ids), then the
 * route (404/405), then the body's envelope (413/415), then its content (400) — and only a
 * request that passed all of them touches the session table.
 */
#include "api_int.h"
#include "platform.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PREFIX "/api/v1/"
#define IN_GROUP "this session is in a group, whose stream it hears: change the group's stream, or " \
                 "take the session out of the group first"

int lc_api_create(lc_api **out, lc_sessions *sessions, const char *token, const lc_api_hooks *hooks)
{
    lc_api *api = calloc(1, sizeof *api);
    if (!api)
        return LC_ERR_NOMEM;
    api->sessions = sessions;
    if (token && *token) {
        if (!(api->token = strdup(token))) {
            free(api);
            return LC_ERR_NOMEM;
        }
        api->token_len = strlen(token);
    }
    if (hooks)
        api->hooks = *hooks;
    *out = api;
    return 0;
}

void lc_api_destroy(lc_api *api)
{
    if (!api)
        return;
    if (api->token)
        OPENSSL_cleanse(api->token, api->token_len);
    free(api->token);
    free(api);
}

int lc_api_authorized(const lc_api *api, const char *authorization)
{
    if (!api->token)
        return 1;
    if (!authorization || strncasecmp(authorization, "Bearer ", 7))
        return 0;
    const char *given = authorization + 7;
    while (*given == ' ')
        given++;
    size_t n = strlen(given);
    while (n && (given[n - 1] == ' ' || given[n - 1] == '\t'))
        n--;
    /* CRYPTO_memcmp is constant time in the compared length; the length itself is not secret
     * enough to matter (tokens are generated at a fixed length) */
    return n == api->token_len && CRYPTO_memcmp(given, api->token, n) == 0;
}

static void iso8601(char out[32], int64_t ms)
{
    lc_plat_tm tm = {1970, 1, 1, 0, 0, 0};
    (void)lc_plat_gmtime(ms / 1000, &tm); /* out of range: the epoch, never garbage */
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.year, tm.mon, tm.mday, tm.hour,
             tm.min, tm.sec, (int)(ms % 1000));
}

bool lc_api_put_session_settings(void *obj, const lc_session_info *s)
{
    cJSON *o = obj;
    return cJSON_AddStringToObject(o, "id", s->id) && cJSON_AddStringToObject(o, "name", s->name) &&
           cJSON_AddNumberToObject(o, "volume", s->volume) &&
           cJSON_AddBoolToObject(o, "muted", s->muted) &&
           cJSON_AddNumberToObject(o, "latency_trim_ms", s->latency_trim_ms) &&
           cJSON_AddBoolToObject(o, "persist", s->persist);
}

/* Builds the session object; NULL on allocation failure. */
static cJSON *session_obj(const lc_session_info *s, const lc_api_live *live)
{
    char created[32], seen[32];
    iso8601(created, s->created_ms);
    iso8601(seen, s->last_seen_ms);
    cJSON *o = cJSON_CreateObject();
    if (!o || !lc_api_put_session_settings(o, s) || !cJSON_AddStringToObject(o, "created", created) ||
        !cJSON_AddStringToObject(o, "last_seen", seen) ||
        !cJSON_AddBoolToObject(o, "connected", s->connections > 0) ||
        !cJSON_AddNumberToObject(o, "connections", s->connections))
        goto fail;
    lc_api_live none = {.delay_ms = -1};
    const lc_api_live *l = live ? live : &none;
    if (!(l->remote[0] ? cJSON_AddStringToObject(o, "remote_address", l->remote)
                       : cJSON_AddNullToObject(o, "remote_address")) ||
        !(l->user_agent[0] ? cJSON_AddStringToObject(o, "user_agent", l->user_agent)
                           : cJSON_AddNullToObject(o, "user_agent")) ||
        !cJSON_AddNumberToObject(o, "packets_sent", (double)l->packets_sent) ||
        !cJSON_AddNumberToObject(o, "packets_dropped", (double)l->packets_dropped) ||
        !(l->delay_ms >= 0 ? cJSON_AddNumberToObject(o, "delay_ms", l->delay_ms)
                           : cJSON_AddNullToObject(o, "delay_ms")) ||
        !(l->has_sync_error ? cJSON_AddNumberToObject(o, "sync_error_ms", l->sync_error_ms)
                            : cJSON_AddNullToObject(o, "sync_error_ms")) ||
        !(l->decoder ? cJSON_AddStringToObject(o, "decoder", l->decoder)
                     : cJSON_AddNullToObject(o, "decoder")) ||
        !(l->output ? cJSON_AddStringToObject(o, "output", l->output)
                    : cJSON_AddNullToObject(o, "output")) ||
        !cJSON_AddStringToObject(o, "stream", l->stream ? l->stream : s->stream[0] ? s->stream : "default") ||
        !(s->group[0] ? cJSON_AddStringToObject(o, "group", s->group) : cJSON_AddNullToObject(o, "group")))
        goto fail;
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

static void live_of(lc_api *api, const char *id, lc_api_live *out)
{
    memset(out, 0, sizeof *out);
    out->delay_ms = -1;
    if (api->hooks.live)
        api->hooks.live(api->hooks.user, id, out);
}

char *lc_api_session_json(const lc_session_info *s, const lc_api_live *live)
{
    cJSON *o = session_obj(s, live);
    char *txt = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return txt;
}

char *lc_api_event_json(lc_session_event ev, const lc_session_info *s, const lc_api_live *live)
{
    static const char *const names[] = {"session.connected", "session.disconnected", "session.updated",
                                        "session.removed"};
    return lc_api_event_text(names[ev], "session", session_obj(s, live));
}

char *lc_api_event_text(const char *type, const char *key, cJSON *obj)
{
    cJSON *root = cJSON_CreateObject();
    char *txt = NULL;
    if (root && obj && cJSON_AddStringToObject(root, "type", type)) {
        cJSON_AddItemToObject(root, key, obj);
        obj = NULL;
        txt = cJSON_PrintUnformatted(root);
    }
    cJSON_Delete(obj);
    cJSON_Delete(root);
    return txt;
}

const char *lc_api_stream_name(lc_api *api, const char *name)
{
    if (!api->hooks.stream)
        return name && *name ? name : "default";
    const char *n = api->hooks.stream(api->hooks.user, name);
    return n ? n : api->hooks.stream(api->hooks.user, NULL); /* gone since: the first */
}

bool lc_api_stream_exists(lc_api *api, const char *name)
{
    return !api->hooks.stream || api->hooks.stream(api->hooks.user, name) != NULL;
}

void lc_api_respond(lc_api_response *r, int status, cJSON *body)
{
    r->status = status;
    r->body = body ? cJSON_PrintUnformatted(body) : NULL;
    r->body_len = r->body ? strlen(r->body) : 0;
    cJSON_Delete(body);
    if (body && !r->body) {
        static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        r->status = 500;
        r->body = strdup(oom);
        r->body_len = r->body ? sizeof oom - 1 : 0;
    }
}

void lc_api_error(lc_api_response *r, int status, const char *code, const char *msg)
{
    cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
    if (e) {
        cJSON_AddStringToObject(e, "code", code);
        cJSON_AddStringToObject(e, "message", msg);
    }
    lc_api_respond(r, status, root);
}

int lc_api_bad_field(char *errbuf, size_t errlen, const char *field, const char *what)
{
    lc_errf(errbuf, errlen, "'%s' %s", field, what);
    return LC_ERR_INVALID;
}

/* cJSON decodes \u0000 into a NUL that silently cuts the string ("a\u0000b" would be stored as
 * "a"), so it is refused before parsing. A backslash only occurs inside strings in valid JSON, and
 * skipping the escaped character keeps "\\u0000" (a backslash, then text) allowed. */
static bool has_nul_escape(const char *s, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && i + 5 < len && !memcmp(s + i + 2, "0000", 4))
            return true;
        i++;
    }
    return false;
}

cJSON *lc_api_parse_object(const char *json, size_t len, int *rc, char *errbuf, size_t errlen)
{
    *rc = LC_ERR_INVALID;
    if (has_nul_escape(json, len)) {
        lc_errf(errbuf, errlen, "strings must not contain NUL characters");
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        lc_errf(errbuf, errlen, "body is not valid JSON (error near byte %zu)",
                end ? (size_t)(end - json) : (size_t)0);
        *rc = LC_ERR_PARSE;
        return NULL;
    }
    /* Without a terminator requirement cJSON stops after the first value: what follows must
     * be whitespace, or '{"volume":5} x' would be taken for '{"volume":5}'. */
    while (end < json + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    if (end < json + len) {
        lc_errf(errbuf, errlen, "body is not valid JSON (data after the value at byte %zu)",
                (size_t)(end - json));
        *rc = LC_ERR_PARSE;
    } else if (!cJSON_IsObject(root)) {
        lc_errf(errbuf, errlen, "body must be a JSON object");
    } else {
        *rc = 0;
        return root;
    }
    cJSON_Delete(root);
    return NULL;
}

void lc_api_unknown_field(const char *key, char *errbuf, size_t errlen)
{
    char field[48];
    snprintf(field, sizeof field, "%s", key); /* a hostile key is cut, never echoed whole */
    lc_errf(errbuf, errlen, "unknown field '%s'", field);
}

int lc_api_parse_patch(const char *json, size_t len, bool allow_persist, bool allow_type,
                       lc_session_patch *out, bool *persist, bool *has_persist, char *errbuf,
                       size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (has_persist)
        *has_persist = false;
    int rc;
    cJSON *root = lc_api_parse_object(json, len, &rc, errbuf, errlen);
    if (!root)
        return rc;
    const cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        const char *k = it->string;
        if (!strcmp(k, "volume")) {
            double v = it->valuedouble;
            if (!cJSON_IsNumber(it) || !lc_session_volume_valid(v)) {
                rc = lc_api_bad_field(errbuf, errlen, k, "must be an integer from 0 to 100");
                goto out;
            }
            out->has_volume = true;
            out->volume = (int)v;
        } else if (!strcmp(k, "latency_trim_ms")) {
            if (!cJSON_IsNumber(it) || !lc_session_trim_valid(it->valuedouble)) {
                rc = lc_api_bad_field(errbuf, errlen, k, "must be an integer from -1000 to 1000");
                goto out;
            }
            out->has_latency_trim = true;
            out->latency_trim_ms = (int)it->valuedouble;
        } else if (!strcmp(k, "muted")) {
            if (!cJSON_IsBool(it)) {
                rc = lc_api_bad_field(errbuf, errlen, k, "must be true or false");
                goto out;
            }
            out->has_muted = true;
            out->muted = cJSON_IsTrue(it);
        } else if (!strcmp(k, "name")) {
            if (!cJSON_IsString(it) || strlen(it->valuestring) > LC_SESSION_NAME_MAX) {
                rc = lc_api_bad_field(errbuf, errlen, k, "must be a string of at most 64 bytes");
                goto out;
            }
            out->has_name = true;
            snprintf(out->name, sizeof out->name, "%s", it->valuestring);
        } else if (!strcmp(k, "stream")) {
            if (!cJSON_IsString(it) || !lc_session_stream_name_valid(it->valuestring)) {
                rc = lc_api_bad_field(errbuf, errlen, k, "must name a stream (GET /api/v1/streams)");
                goto out;
            }
            out->has_stream = true;
            snprintf(out->stream, sizeof out->stream, "%s", it->valuestring);
        } else if (!strcmp(k, "group") && !allow_persist) { /* PATCH (and `set`) only */
            out->has_group = true;
            if (cJSON_IsNull(it))
                continue; /* leave any group */
            if (!cJSON_IsString(it) || lc_session_id_canonical(out->group, it->valuestring)) {
                rc = lc_api_bad_field(errbuf, errlen, k, "must be a group id (GUID) or null");
                goto out;
            }
        } else if (!strcmp(k, "persist") && allow_persist) {
            if (!cJSON_IsBool(it)) {
                rc = lc_api_bad_field(errbuf, errlen, k, "must be true or false");
                goto out;
            }
            if (persist)
                *persist = cJSON_IsTrue(it);
            if (has_persist)
                *has_persist = true;
        } else if (!strcmp(k, "type") && allow_type) {
            continue;
        } else {
            lc_api_unknown_field(k, errbuf, errlen);
            rc = LC_ERR_INVALID;
            goto out;
        }
    }
    rc = lc_session_patch_check(out, errbuf, errlen);
out:
    cJSON_Delete(root);
    return rc;
}

bool lc_api_is_json(const char *ct)
{
    if (!ct)
        return false;
    size_t n = strcspn(ct, ";");
    while (n && ct[n - 1] == ' ')
        n--;
    return n == 16 && !strncasecmp(ct, "application/json", 16);
}

/* Only URLs the server chose (its own addresses): the request names none, so nobody can make
 * the server encode text of their choosing. */
static void get_join(lc_api *api, lc_api_response *r)
{
    cJSON *o = cJSON_CreateObject();
    if (o && api->hooks.join)
        api->hooks.join(api->hooks.user, o);
    if (o && !cJSON_GetObjectItemCaseSensitive(o, "urls"))
        cJSON_AddArrayToObject(o, "urls");
    if (!o)
        lc_api_error(r, 500, "internal", "out of memory");
    else
        lc_api_respond(r, 200, o);
}

static void get_status(lc_api *api, lc_api_response *r)
{
    cJSON *o = cJSON_CreateObject();
    if (o && api->hooks.status)
        api->hooks.status(api->hooks.user, o);
    if (o) {
        cJSON_AddNumberToObject(o, "sessions", (double)lc_sessions_count(api->sessions));
        lc_sessions_stats st;
        lc_sessions_get_stats(api->sessions, &st);
        cJSON *store = cJSON_AddObjectToObject(o, "store");
        if (store) {
            cJSON_AddBoolToObject(store, "ok", st.last_error[0] == 0);
            cJSON_AddNumberToObject(store, "writes", (double)st.writes);
            cJSON_AddNumberToObject(store, "write_failures", (double)st.write_failures);
            if (st.last_error[0])
                cJSON_AddStringToObject(store, "error", st.last_error);
            else
                cJSON_AddNullToObject(store, "error");
        }
    }
    lc_api_respond(r, 200, o);
}

static void list_sessions(lc_api *api, lc_api_response *r)
{
    size_t cap = lc_sessions_count(api->sessions) + 16, n;
    lc_session_info *all = malloc(cap * sizeof *all);
    if (!all) {
        lc_api_error(r, 500, "internal", "out of memory");
        return;
    }
    n = lc_sessions_list(api->sessions, all, cap);
    if (n > cap)
        n = cap; /* sessions added since the count: the next GET shows them */
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "sessions");
    for (size_t i = 0; arr && i < n; i++) {
        lc_api_live live;
        live_of(api, all[i].id, &live);
        cJSON *o = session_obj(&all[i], &live);
        if (o)
            cJSON_AddItemToArray(arr, o);
    }
    free(all);
    lc_api_respond(r, 200, root);
}

static void one_session(lc_api *api, lc_api_response *r, int status, const lc_session_info *s)
{
    lc_api_live live;
    live_of(api, s->id, &live);
    lc_api_respond(r, status, session_obj(s, &live));
}

bool lc_api_item_gate(const lc_api_request *req, const char *id, const char *what,
                      lc_api_response *r)
{
    const char *m = req->method;
    char msg[96];
    if (strcmp(m, "GET") && strcmp(m, "PATCH") && strcmp(m, "PUT") && strcmp(m, "DELETE")) {
        r->allow = "GET, PATCH, PUT, DELETE";
        snprintf(msg, sizeof msg, "use GET, PATCH, PUT or DELETE on a %s", what);
        lc_api_error(r, 405, "method_not_allowed", msg);
        return false;
    }
    if (!lc_session_id_valid(id)) {
        snprintf(msg, sizeof msg, "%s id must be a GUID like 9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab", what);
        lc_api_error(r, 400, "invalid_id", msg);
        return false;
    }
    return true;
}

static void session_route(lc_api *api, const lc_api_request *req, const char *id, lc_api_response *r)
{
    if (!lc_api_item_gate(req, id, "session", r))
        return;
    bool get = !strcmp(req->method, "GET"), put = !strcmp(req->method, "PUT"),
         del = !strcmp(req->method, "DELETE"), patch = !get && !put && !del;
    lc_session_info s;
    if (get || del) {
        int rc = get ? lc_sessions_get(api->sessions, id, &s) : lc_sessions_delete(api->sessions, id);
        if (rc == LC_ERR_NOT_FOUND)
            lc_api_error(r, 404, "not_found", "no session with that id");
        else if (get)
            one_session(api, r, 200, &s);
        else
            lc_api_respond(r, 204, NULL);
        return;
    }
    if (!lc_api_body_ok(req, r))
        return;
    lc_session_patch p;
    bool persist = true, has_persist = false;
    char err[160];
    if (lc_api_parse_patch(req->body ? req->body : "", req->body_len, put, false, &p, &persist, &has_persist,
                           err, sizeof err) < 0) {
        lc_api_error(r, 400, "invalid_body", err);
        return;
    }
    if (p.has_stream && !lc_api_stream_exists(api, p.stream)) {
        snprintf(err, sizeof err, "'stream': no stream called '%s' (GET /api/v1/streams)", p.stream);
        lc_api_error(r, 400, "invalid_body", err);
        return;
    }
    if (patch) {
        int rc = lc_sessions_patch(api->sessions, id, &p, &s);
        if (rc == LC_ERR_INVALID && p.has_group) /* checked under the table's lock */
            lc_api_error(r, 400, "invalid_body", "'group': no group with that id (GET /api/v1/groups)");
        else if (rc == LC_ERR_STATE)
            lc_api_error(r, 409, "in_group", IN_GROUP);
        else if (rc == LC_ERR_NOT_FOUND)
            lc_api_error(r, 404, "not_found", "no session with that id (PUT creates one)");
        else if (rc < 0)
            lc_api_error(r, 400, "invalid_body", lc_strerror(rc));
        else
            one_session(api, r, 200, &s);
        return;
    }
    bool created = false;
    int rc = lc_sessions_put(api->sessions, id, &p, persist, &s, &created);
    if (rc == LC_ERR_STATE)
        lc_api_error(r, 409, "in_group", IN_GROUP);
    else if (rc == LC_ERR_FULL)
        lc_api_error(r, 409, "table_full", "every stored session is connected; none can be evicted to make room");
    else if (rc < 0)
        lc_api_error(r, 400, "invalid_body", lc_strerror(rc));
    else
        one_session(api, r, created ? 201 : 200, &s);
}

bool lc_api_body_ok(const lc_api_request *req, lc_api_response *r)
{
    size_t max_body = req->max_body ? req->max_body : LC_API_MAX_BODY;
    if (req->body_too_large || req->body_len > max_body) {
        char msg[64];
        snprintf(msg, sizeof msg, "request body is over %zu bytes", max_body);
        lc_api_error(r, 413, "body_too_large", msg);
        return false;
    }
    if (!lc_api_is_json(req->content_type)) {
        lc_api_error(r, 415, "unsupported_media_type", "send the body as Content-Type: application/json");
        return false;
    }
    return true;
}

void lc_api_handle(lc_api *api, const lc_api_request *req, lc_api_response *r)
{
    memset(r, 0, sizeof *r);
    if (!lc_api_authorized(api, req->authorization)) {
        r->auth_challenge = true;
        lc_api_error(r, 401, "unauthorized", "send Authorization: Bearer <token> (see the server's api-token)");
        return;
    }
    const char *path = req->path ? req->path : "";
    if (strncmp(path, PREFIX, sizeof PREFIX - 1)) {
        lc_api_error(r, 404, "not_found", "no such API path");
        return;
    }
    const char *rest = path + sizeof PREFIX - 1;
    if (!strcmp(rest, "status")) {
        if (strcmp(req->method, "GET")) {
            r->allow = "GET";
            lc_api_error(r, 405, "method_not_allowed", "use GET on /api/v1/status");
            return;
        }
        get_status(api, r);
    } else if (!strcmp(rest, "join")) {
        if (strcmp(req->method, "GET")) {
            r->allow = "GET";
            lc_api_error(r, 405, "method_not_allowed", "use GET on /api/v1/join");
            return;
        }
        get_join(api, r);
    } else if (!strcmp(rest, "sessions") || !strcmp(rest, "sessions/")) {
        if (strcmp(req->method, "GET")) {
            r->allow = "GET";
            lc_api_error(r, 405, "method_not_allowed", "use GET on /api/v1/sessions (PUT a session by its id)");
            return;
        }
        list_sessions(api, r);
    } else if (!strncmp(rest, "sessions/", 9) && !strchr(rest + 9, '/')) {
        session_route(api, req, rest + 9, r);
    } else if (!strcmp(rest, "streams")) {
        if (strcmp(req->method, "GET")) {
            r->allow = "GET";
            lc_api_error(r, 405, "method_not_allowed", "use GET on /api/v1/streams");
            return;
        }
        cJSON *o = cJSON_CreateObject();
        if (o && api->hooks.streams)
            api->hooks.streams(api->hooks.user, o);
        if (o && !cJSON_GetObjectItemCaseSensitive(o, "streams"))
            cJSON_AddArrayToObject(o, "streams");
        lc_api_respond(r, 200, o);
    } else if (!strcmp(rest, "groups") || !strncmp(rest, "groups/", 7)) {
        lc_api_groups_route(api, req, rest + 6, r);
    } else {
        lc_api_error(r, 404, "not_found", "no such API path");
    }
}

void lc_api_response_free(lc_api_response *resp)
{
    free(resp->body);
    resp->body = NULL;
}
