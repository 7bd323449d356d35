/*
 * libFuzzer: the API's request handling end to end (routing, auth, body parsing, the session
 * table). The first input byte picks method (bits 0-1), path (bits 2-3) and token (bit 4); the
 * rest is the body, which also goes to lc_api_parse_patch as a control message's `set` would.
 *
 * Besides what ASan/UBSan catch, every input must keep these promises (api.h, docs/api.md); a
 * broken one aborts, so libFuzzer reports the input and keeps it:
 *   1. the answer is one api.h documents: the status the route, auth and body call for (an exact
 *      oracle below, not "some status"); a JSON body, an error object with a code and a message
 *      for every refusal, none for 204; Allow on 405, the Bearer challenge on 401;
 *   2. a refused request changes nothing, and neither does a GET: the table is the same after;
 *   3. the handler and the parser agree: an authorized PATCH/PUT is refused with 400 exactly when
 *      lc_api_parse_patch refuses its body; once accepted, the table holds exactly the parsed
 *      values (PATCH: present fields changed, the others kept; PUT: absent fields back at their
 *      defaults, persist only for a new session), the other session is untouched, and the
 *      response shows the stored session;
 *   4. whatever the parser accepts is in range (volume 0..100, a name lc_session_patch_check
 *      accepts) and round-trips: written back as JSON and parsed again, it is the same patch;
 *      a refusal always says why.
 */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SESSIONS 8
#define DEFAULT_VOLUME 100 /* lc_sessions_config_default's, which PUT restores */

#define MUST(cond)                                                                                 \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_api: broken invariant at line %d: %s\n", __LINE__, #cond);       \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct {
    size_t n;
    lc_session_info tab[MAX_SESSIONS];
} table;

static void snapshot(lc_sessions *s, table *t)
{
    memset(t, 0, sizeof *t);
    t->n = lc_sessions_list(s, t->tab, MAX_SESSIONS);
    MUST(t->n <= MAX_SESSIONS);
}

static bool same_session(const lc_session_info *a, const lc_session_info *b)
{
    return !strcmp(a->id, b->id) && !strcmp(a->name, b->name) && a->volume == b->volume &&
           a->muted == b->muted && a->persist == b->persist && a->created_ms == b->created_ms &&
           a->last_seen_ms == b->last_seen_ms && a->connections == b->connections;
}

static bool same_table(const table *a, const table *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!same_session(&a->tab[i], &b->tab[i]))
            return false;
    return true;
}

static const lc_session_info *find(const table *t, const char *id)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->tab[i].id, id))
            return &t->tab[i];
    return NULL;
}

/* Appends `s` as a JSON string: quote, backslash and control bytes escaped, the rest (valid
 * UTF-8, which the parser already checked) as it is. Written by hand so that the round trip does
 * not print with the same library it parses with. */
static size_t put_string(char *o, size_t at, size_t cap, const char *s)
{
    at += (size_t)snprintf(o + at, cap - at, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p && at < cap; p++) {
        if (*p == '"' || *p == '\\')
            at += (size_t)snprintf(o + at, cap - at, "\\%c", *p);
        else if (*p < 0x20)
            at += (size_t)snprintf(o + at, cap - at, "\\u%04x", *p);
        else
            o[at++] = (char)*p;
    }
    at += (size_t)snprintf(o + at, cap - at, "\"");
    return at;
}

/* The accepted patch written back as a JSON object (fields in a fixed order). */
static size_t patch_json(char *o, size_t cap, const lc_session_patch *p, bool has_persist, bool persist)
{
    size_t at = (size_t)snprintf(o, cap, "{");
    const char *sep = "";
    if (p->has_volume) {
        at += (size_t)snprintf(o + at, cap - at, "\"volume\":%d", p->volume);
        sep = ",";
    }
    if (p->has_muted) {
        at += (size_t)snprintf(o + at, cap - at, "%s\"muted\":%s", sep, p->muted ? "true" : "false");
        sep = ",";
    }
    if (p->has_name) {
        at += (size_t)snprintf(o + at, cap - at, "%s\"name\":", sep);
        at = put_string(o, at, cap, p->name);
        sep = ",";
    }
    if (has_persist)
        at += (size_t)snprintf(o + at, cap - at, "%s\"persist\":%s", sep, persist ? "true" : "false");
    at += (size_t)snprintf(o + at, cap - at, "}");
    MUST(at < cap);
    return at;
}

/* Invariant 4 for one parse: the result's range, and the round trip of an accepted patch. */
static int parse_checked(const char *body, size_t len, bool allow_persist, bool allow_type,
                         lc_session_patch *p, bool *persist, bool *has_persist)
{
    char err[160] = "";
    *persist = true;
    int rc = lc_api_parse_patch(body, len, allow_persist, allow_type, p, persist, has_persist, err,
                                sizeof err);
    MUST(rc == 0 || rc == LC_ERR_INVALID || rc == LC_ERR_PARSE);
    if (rc) {
        MUST(err[0] != '\0');
        return rc;
    }
    MUST(!p->has_volume || (p->volume >= 0 && p->volume <= LC_SESSION_VOLUME_MAX));
    MUST(memchr(p->name, '\0', sizeof p->name) != NULL);
    MUST(lc_session_patch_check(p, NULL, 0) == 0);
    MUST(allow_persist || !*has_persist);

    char again[1024];
    size_t n = patch_json(again, sizeof again, p, *has_persist, *persist);
    lc_session_patch q;
    bool q_persist = true, q_has = false;
    MUST(lc_api_parse_patch(again, n, allow_persist, allow_type, &q, &q_persist, &q_has, err, sizeof err) == 0);
    MUST(q.has_volume == p->has_volume && (!p->has_volume || q.volume == p->volume));
    MUST(q.has_muted == p->has_muted && (!p->has_muted || q.muted == p->muted));
    MUST(q.has_name == p->has_name && (!p->has_name || !strcmp(q.name, p->name)));
    MUST(q_has == *has_persist && (!q_has || q_persist == *persist));
    return 0;
}

/* Invariant 1 for the body: JSON; an error object for a refusal; the session for 200/201 on a
 * session path; the table's size for the list and the status. */
static void check_body(const lc_api_response *r, int path, const table *after, const char *id)
{
    if (r->status == 204) {
        MUST(r->body == NULL && r->body_len == 0);
        return;
    }
    MUST(r->body != NULL && r->body_len == strlen(r->body));
    cJSON *root = cJSON_ParseWithLength(r->body, r->body_len);
    MUST(cJSON_IsObject(root));
    if (r->status >= 400) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
        MUST(cJSON_IsObject(e));
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
        MUST(cJSON_IsString(code) && code->valuestring[0] && cJSON_IsString(msg) && msg->valuestring[0]);
    } else if (path < 2) {
        const lc_session_info *e = find(after, id);
        MUST(e != NULL);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "id");
        MUST(cJSON_IsString(v) && !strcmp(v->valuestring, e->id));
        v = cJSON_GetObjectItemCaseSensitive(root, "name");
        MUST(cJSON_IsString(v) && !strcmp(v->valuestring, e->name));
        v = cJSON_GetObjectItemCaseSensitive(root, "volume");
        MUST(cJSON_IsNumber(v) && v->valuedouble == e->volume);
        v = cJSON_GetObjectItemCaseSensitive(root, "muted");
        MUST(cJSON_IsBool(v) && cJSON_IsTrue(v) == e->muted);
        v = cJSON_GetObjectItemCaseSensitive(root, "persist");
        MUST(cJSON_IsBool(v) && cJSON_IsTrue(v) == e->persist);
    } else if (path == 2) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "sessions");
        MUST(cJSON_IsArray(arr) && (size_t)cJSON_GetArraySize(arr) == after->n);
    } else {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, "sessions");
        MUST(cJSON_IsNumber(n) && n->valuedouble == (double)after->n);
    }
    cJSON_Delete(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lc_sessions *s;
    static lc_api *api;
    if (!s) {
        lc_sessions_config cfg;
        lc_sessions_config_default(&cfg);
        cfg.max_sessions = MAX_SESSIONS;
        MUST(cfg.default_volume == DEFAULT_VOLUME);
        MUST(lc_sessions_create(&s, &cfg, NULL, NULL, NULL, 0) == 0);
        MUST(lc_api_create(&api, s, "tok", NULL) == 0);
    }
    if (size < 1)
        return 0;
    static const char *const methods[] = {"GET", "PATCH", "PUT", "DELETE"};
    static const char *const ids[] = {"9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab",
                                      "11111111-2222-4333-8444-555555555555"};
    static const char *const paths[] = {"/api/v1/sessions/9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab",
                                        "/api/v1/sessions/11111111-2222-4333-8444-555555555555",
                                        "/api/v1/sessions", "/api/v1/status"};
    int m = data[0] & 3, path = (data[0] >> 2) & 3;
    bool authorized = data[0] & 16;
    const char *body = (const char *)data + 1;
    size_t body_len = size - 1;
    lc_api_request rq = {.method = methods[m], .path = paths[path],
                         .authorization = authorized ? "Bearer tok" : "Bearer x",
                         .content_type = "application/json", .body = body, .body_len = body_len};

    /* What the body means to the parser, as PATCH (no persist) and as PUT (persist allowed). */
    lc_session_patch p;
    bool persist = true, has_persist = false;
    int parsed = parse_checked(body, body_len, m == 2, false, &p, &persist, &has_persist);

    table before, after;
    snapshot(s, &before);
    const char *id = path < 2 ? ids[path] : NULL;
    const lc_session_info *old = id ? find(&before, id) : NULL;
    lc_session_info was;
    if (old)
        was = *old;

    /* The exact status api.c's order of checks (auth, route, method, envelope, body, table)
     * calls for; the ids are well formed and the table (2 ids, 8 slots) never fills. */
    int want;
    if (!authorized)
        want = 401;
    else if (path >= 2)
        want = m == 0 ? 200 : 405;
    else if (m == 0)
        want = old ? 200 : 404;
    else if (m == 3)
        want = old ? 204 : 404;
    else if (body_len > LC_API_MAX_BODY)
        want = 413;
    else if (parsed)
        want = 400;
    else if (m == 1)
        want = old ? 200 : 404;
    else
        want = old ? 200 : 201;

    lc_api_response r;
    lc_api_handle(api, &rq, &r);
    snapshot(s, &after);
    if (r.status != want)
        fprintf(stderr, "fuzz_api: %s %s answered %d, expected %d: %s\n", rq.method, rq.path, r.status,
                want, r.body ? r.body : "(no body)");
    MUST(r.status == want);
    MUST(r.auth_challenge == (r.status == 401));
    MUST((r.allow != NULL) == (r.status == 405));
    check_body(&r, path, &after, id);
    lc_api_response_free(&r);

    /* Invariants 2 and 3: what the table holds now. */
    if (r.status >= 400 || m == 0) {
        MUST(same_table(&before, &after));
    } else if (m == 3) {
        MUST(after.n == before.n - 1 && !find(&after, id));
    } else {
        const lc_session_info *now = find(&after, id);
        MUST(now != NULL);
        lc_session_info want_s = old ? was : *now;
        if (m == 2) { /* PUT replaces: absent fields return to their defaults */
            want_s.volume = DEFAULT_VOLUME;
            want_s.muted = false;
            want_s.name[0] = '\0';
            if (!old) /* persist counts only when the PUT creates the session */
                MUST(now->persist == persist && now->connections == 0);
        }
        if (p.has_volume)
            want_s.volume = p.volume;
        if (p.has_muted)
            want_s.muted = p.muted;
        if (p.has_name)
            memcpy(want_s.name, p.name, sizeof want_s.name);
        MUST(same_session(now, &want_s));
        MUST(after.n == before.n + (old ? 0 : 1));
    }
    /* The other session is untouched whatever happened to this one. */
    for (size_t i = 0; i < before.n; i++)
        if (!id || strcmp(before.tab[i].id, id)) {
            const lc_session_info *o = find(&after, before.tab[i].id);
            MUST(o && same_session(o, &before.tab[i]));
        }

    /* The page's `set` control messages go through the same parser (type allowed, no persist). */
    (void)parse_checked(body, body_len, false, true, &p, &persist, &has_persist);
    return 0;
}
