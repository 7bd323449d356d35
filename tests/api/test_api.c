/* The JSON API, endpoint by endpoint and error by error, against a real session table. */
#include <cjson/cJSON.h>
#include <string.h>

#include "api.h"
#include "lc_test.h"

#define TOKEN "s3cret-token-0123456789"
#define AUTH "Bearer " TOKEN
#define ID "9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab"

static lc_sessions *S;
static lc_api *A;

static void status_hook(void *user, void *obj)
{
    (void)user;
    cJSON_AddStringToObject(obj, "version", "test");
}

static void live_hook(void *user, const char *id, lc_api_live *out)
{
    (void)user;
    (void)id;
    snprintf(out->remote, sizeof out->remote, "127.0.0.1");
    out->packets_sent = 7;
    out->delay_ms = 33;
    out->decoder = "wasm-worker";
}

static cJSON *call(const char *method, const char *path, const char *auth, const char *ctype,
                   const char *body, int *status)
{
    lc_api_request rq = {.method = method, .path = path, .authorization = auth, .content_type = ctype,
                         .body = body, .body_len = body ? strlen(body) : 0};
    lc_api_response r;
    lc_api_handle(A, &rq, &r);
    *status = r.status;
    cJSON *j = r.body ? cJSON_Parse(r.body) : NULL;
    if (r.body)
        CHECK(j != NULL); /* every body is JSON */
    if (r.status >= 400) {
        cJSON *e = cJSON_GetObjectItem(j, "error");
        CHECK(cJSON_IsString(cJSON_GetObjectItem(e, "code")));
        CHECK(cJSON_IsString(cJSON_GetObjectItem(e, "message")));
    }
    if (r.status == 405)
        CHECK(r.allow != NULL);
    if (r.status == 401)
        CHECK(r.auth_challenge);
    lc_api_response_free(&r);
    return j;
}

static int status_of(const char *method, const char *path, const char *auth, const char *ctype, const char *body)
{
    int st;
    cJSON_Delete(call(method, path, auth, ctype, body, &st));
    return st;
}

static const char *code_of(cJSON *j)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code"));
}

static void setup(void)
{
    lc_sessions_config cfg;
    lc_sessions_config_default(&cfg);
    cfg.max_sessions = 4;
    CHECK_EQ_INT(lc_sessions_create(&S, &cfg, NULL, NULL, NULL, 0), 0);
    lc_api_hooks h = {.status = status_hook, .live = live_hook};
    CHECK_EQ_INT(lc_api_create(&A, S, TOKEN, &h), 0);
}

static void teardown(void)
{
    lc_api_destroy(A);
    lc_sessions_destroy(S);
}

static void test_auth(void)
{
    setup();
    CHECK_EQ_INT(status_of("GET", "/api/v1/sessions", NULL, NULL, NULL), 401);
    CHECK_EQ_INT(status_of("GET", "/api/v1/sessions", "Bearer wrong", NULL, NULL), 401);
    CHECK_EQ_INT(status_of("GET", "/api/v1/sessions", "Bearer " TOKEN "x", NULL, NULL), 401);
    CHECK_EQ_INT(status_of("GET", "/api/v1/sessions", "Basic " TOKEN, NULL, NULL), 401);
    CHECK_EQ_INT(status_of("GET", "/api/v1/nope", NULL, NULL, NULL), 401); /* routes stay hidden */
    CHECK_EQ_INT(status_of("GET", "/api/v1/sessions", AUTH, NULL, NULL), 200);
    CHECK_EQ_INT(status_of("GET", "/api/v1/sessions", "bearer  " TOKEN " ", NULL, NULL), 200);
    teardown();
}

static void test_routes(void)
{
    setup();
    int st;
    cJSON *j = call("GET", "/api/v1/status", AUTH, NULL, NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "version")), "test"));
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "store"), "ok")));
    cJSON_Delete(j);
    CHECK_EQ_INT(status_of("POST", "/api/v1/status", AUTH, NULL, NULL), 405);
    /* /join: the hook's list (none here: an empty one), GET only, the token like every path */
    j = call("GET", "/api/v1/join", AUTH, NULL, NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK(cJSON_IsArray(cJSON_GetObjectItem(j, "urls")) &&
          cJSON_GetArraySize(cJSON_GetObjectItem(j, "urls")) == 0);
    cJSON_Delete(j);
    CHECK_EQ_INT(status_of("POST", "/api/v1/join", AUTH, NULL, NULL), 405);
    CHECK_EQ_INT(status_of("GET", "/api/v1/join", NULL, NULL, NULL), 401);
    CHECK_EQ_INT(status_of("DELETE", "/api/v1/sessions", AUTH, NULL, NULL), 405);
    CHECK_EQ_INT(status_of("POST", "/api/v1/sessions/" ID, AUTH, "application/json", "{}"), 405);
    CHECK_EQ_INT(status_of("GET", "/api/v1/nope", AUTH, NULL, NULL), 404);
    CHECK_EQ_INT(status_of("GET", "/api/v2/status", AUTH, NULL, NULL), 404);
    CHECK_EQ_INT(status_of("GET", "/api/v1/sessions/" ID "/x", AUTH, NULL, NULL), 404);
    j = call("GET", "/api/v1/sessions/not-a-guid", AUTH, NULL, NULL, &st);
    CHECK_EQ_INT(st, 400);
    CHECK(!strcmp(code_of(j), "invalid_id"));
    cJSON_Delete(j);
    CHECK_EQ_INT(status_of("GET", "/api/v1/sessions/" ID, AUTH, NULL, NULL), 404);
    teardown();
}

static void test_crud(void)
{
    setup();
    int st;
    /* PUT pre-creates a GUID not yet seen */
    cJSON *j = call("PUT", "/api/v1/sessions/" ID, AUTH, "application/json; charset=utf-8",
                    "{\"volume\":40,\"name\":\"Living room\",\"persist\":false}", &st);
    CHECK_EQ_INT(st, 201);
    CHECK_EQ_INT(cJSON_GetObjectItem(j, "volume")->valueint, 40);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "persist")));
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "connected")));
    CHECK_EQ_INT(cJSON_GetObjectItem(j, "packets_sent")->valueint, 7);
    CHECK_EQ_INT(cJSON_GetObjectItem(j, "delay_ms")->valueint, 33);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "decoder")), "wasm-worker"));
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "output"))); /* not reported yet */
    CHECK(cJSON_IsString(cJSON_GetObjectItem(j, "created")));
    cJSON_Delete(j);
    /* PUT again replaces: absent fields return to defaults */
    j = call("PUT", "/api/v1/sessions/" ID, AUTH, "application/json", "{\"muted\":true}", &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(cJSON_GetObjectItem(j, "volume")->valueint, 100);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "muted")));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "name")), ""));
    CHECK_EQ_INT(cJSON_GetObjectItem(j, "latency_trim_ms")->valueint, 0);
    cJSON_Delete(j);
    /* PATCH changes only what it names */
    j = call("PATCH", "/api/v1/sessions/" ID, AUTH, "application/json", "{\"latency_trim_ms\":-120}", &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(cJSON_GetObjectItem(j, "latency_trim_ms")->valueint, -120);
    cJSON_Delete(j);
    j = call("PATCH", "/api/v1/sessions/" ID, AUTH, "application/json", "{\"volume\":5,\"name\":\"Küche\"}", &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(cJSON_GetObjectItem(j, "volume")->valueint, 5);
    CHECK_EQ_INT(cJSON_GetObjectItem(j, "latency_trim_ms")->valueint, -120);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "muted")));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "name")), "Küche"));
    cJSON_Delete(j);
    j = call("GET", "/api/v1/sessions", AUTH, NULL, NULL, &st);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "sessions")), 1);
    cJSON_Delete(j);
    CHECK_EQ_INT(status_of("DELETE", "/api/v1/sessions/" ID, AUTH, NULL, NULL), 204);
    CHECK_EQ_INT(status_of("DELETE", "/api/v1/sessions/" ID, AUTH, NULL, NULL), 404);
    CHECK_EQ_INT(status_of("PATCH", "/api/v1/sessions/" ID, AUTH, "application/json", "{\"volume\":1}"), 404);
    teardown();
}

static void test_bad_bodies_change_nothing(void)
{
    setup();
    CHECK_EQ_INT(status_of("PUT", "/api/v1/sessions/" ID, AUTH, "application/json", "{\"volume\":50}"), 201);
    const char *bodies[] = {
        "{\"volume\":",              /* malformed JSON */
        "[1,2]",                     /* not an object */
        "{\"volume\":\"50\"}",       /* wrong type */
        "{\"volume\":101}",          /* range */
        "{\"volume\":-1}",
        "{\"volume\":50.5}",         /* not an integer */
        "{\"muted\":1}",
        "{\"name\":5}",
        "{\"name\":\"" "0123456789012345678901234567890123456789012345678901234567890123456789" "\"}",
        "{\"name\":\"bad\\u0001\"}", /* control character */
        "{\"volume\":10,\"colour\":\"red\"}", /* unknown field: nothing applied, not even volume */
        "{\"persist\":false}",       /* persist is PUT-only */
        "{\"latency_trim_ms\":1001}", /* range */
        "{\"latency_trim_ms\":2.5}",  /* not an integer */
        "{\"latency_trim_ms\":null}",
        "",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        int st;
        cJSON *j = call("PATCH", "/api/v1/sessions/" ID, AUTH, "application/json", bodies[i], &st);
        if (st != 400)
            fprintf(stderr, "body %zu: status %d\n", i, st);
        CHECK_EQ_INT(st, 400);
        cJSON_Delete(j);
    }
    CHECK_EQ_INT(status_of("PATCH", "/api/v1/sessions/" ID, AUTH, "text/plain", "{\"volume\":1}"), 415);
    CHECK_EQ_INT(status_of("PATCH", "/api/v1/sessions/" ID, AUTH, NULL, "{\"volume\":1}"), 415);
    CHECK_EQ_INT(status_of("PATCH", "/api/v1/sessions/" ID, AUTH, "application/jsonx", "{\"volume\":1}"), 415);
    lc_api_request big = {.method = "PATCH", .path = "/api/v1/sessions/" ID, .authorization = AUTH,
                          .content_type = "application/json", .body = "{}", .body_len = 2, .body_too_large = true};
    lc_api_response r;
    lc_api_handle(A, &big, &r);
    CHECK_EQ_INT(r.status, 413);
    lc_api_response_free(&r);
    int st;
    cJSON *j = call("GET", "/api/v1/sessions/" ID, AUTH, NULL, NULL, &st);
    CHECK_EQ_INT(cJSON_GetObjectItem(j, "volume")->valueint, 50);
    CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "muted")));
    cJSON_Delete(j);
    teardown();
}

static void test_event_json(void)
{
    lc_session_info s = {.id = ID, .name = "a\"b", .volume = 3, .persist = true, .created_ms = 1763750000123};
    char *t = lc_api_event_json(LC_SESSION_UPDATED, &s, NULL);
    cJSON *j = cJSON_Parse(t);
    CHECK(j && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "type")), "session.updated"));
    cJSON *o = cJSON_GetObjectItem(j, "session");
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "name")), "a\"b"));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "created")), "2025-11-21T18:33:20.123Z"));
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "delay_ms")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "decoder")));
    cJSON_Delete(j);
    free(t);
}

static void test_control_set_message(void)
{
    lc_session_patch p;
    char err[160];
    const char *m = "{\"type\":\"set\",\"volume\":20,\"muted\":false}";
    CHECK_EQ_INT(lc_api_parse_patch(m, strlen(m), false, true, &p, NULL, NULL, err, sizeof err), 0);
    CHECK(p.has_volume && p.volume == 20 && p.has_muted && !p.has_name);
    CHECK(lc_api_parse_patch(m, strlen(m), false, false, &p, NULL, NULL, err, sizeof err) < 0);
    CHECK(strstr(err, "type") != NULL);
}

static const char *stream_hook(void *user, const char *name)
{
    (void)user;
    if (!name || !*name || !strcmp(name, "tv"))
        return "tv";
    return strcmp(name, "radio") ? NULL : "radio";
}

/* Streams and groups (issue 14): routes, methods, bodies, 409 in_group, the order of checks. */
static void test_groups(void)
{
    lc_sessions_config cfg;
    lc_sessions_config_default(&cfg);
    CHECK_EQ_INT(lc_sessions_create(&S, &cfg, NULL, NULL, NULL, 0), 0);
    lc_api_hooks h = {.stream = stream_hook};
    CHECK_EQ_INT(lc_api_create(&A, S, TOKEN, &h), 0);
    const char *J = "application/json";
    int st;
    CHECK_EQ_INT(status_of("GET", "/api/v1/streams", AUTH, NULL, NULL), 200);
    CHECK_EQ_INT(status_of("POST", "/api/v1/streams", AUTH, J, "{}"), 405);
    CHECK_EQ_INT(status_of("GET", "/api/v1/groups", NULL, NULL, NULL), 401);
    CHECK_EQ_INT(status_of("PUT", "/api/v1/sessions/" ID, AUTH, J, "{\"stream\":\"radio\"}"), 201);
    cJSON *j = call("GET", "/api/v1/sessions/" ID, AUTH, NULL, NULL, &st);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "stream")), "radio"));
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "group")));
    cJSON_Delete(j);
    j = call("PATCH", "/api/v1/sessions/" ID, AUTH, J, "{\"stream\":\"nope\"}", &st);
    CHECK(st == 400 && !strcmp(code_of(j), "invalid_body"));
    cJSON_Delete(j);
    j = call("POST", "/api/v1/groups", AUTH, J, "{\"name\":\"Kitchen\",\"sessions\":[\"" ID "\"]}", &st);
    CHECK_EQ_INT(st, 201);
    char gid[64], path[128];
    snprintf(gid, sizeof gid, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")));
    CHECK(lc_session_id_valid(gid));
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "stream")), "tv")); /* the first */
    CHECK_EQ_INT((int)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "sync_delay_ms")), 250);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "sync")));
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "sessions")), 1);
    cJSON_Delete(j);
    snprintf(path, sizeof path, "/api/v1/groups/%s", gid);
    j = call("PATCH", "/api/v1/sessions/" ID, AUTH, J, "{\"stream\":\"tv\"}", &st);
    CHECK(st == 409 && !strcmp(code_of(j), "in_group"));
    cJSON_Delete(j);
    CHECK_EQ_INT(status_of("PUT", "/api/v1/sessions/" ID, AUTH, J, "{\"stream\":\"tv\"}"), 409);
    /* the order of checks: route, then envelope, then content */
    CHECK_EQ_INT(status_of("PATCH", "/api/v1/groups/11111111-0000-4000-8000-000000000000", AUTH, J, "{\"volume\":1}"), 404);
    CHECK_EQ_INT(status_of("PATCH", path, AUTH, "text/plain", "{\"volume\":1}"), 415);
    CHECK_EQ_INT(status_of("PATCH", path, AUTH, J, "{\"volume\":1.5}"), 400);
    CHECK_EQ_INT(status_of("PATCH", path, AUTH, J, "{\"stream\":\"nope\"}"), 400);
    CHECK_EQ_INT(status_of("PATCH", path, AUTH, J, "{\"sessions\":[\"x\"]}"), 400);
    CHECK_EQ_INT(status_of("PATCH", path, AUTH, J, "{\"sessions\":\"" ID "\"}"), 400);
    CHECK_EQ_INT(status_of("PATCH", path, AUTH, J, "{\"sync\":1}"), 400);
    CHECK_EQ_INT(status_of("PATCH", path, AUTH, J, "{\"sync_delay_ms\":-1}"), 400);
    CHECK_EQ_INT(status_of("PATCH", path, AUTH, J, "{\"name\":\"a\\u0000b\"}"), 400);
    CHECK_EQ_INT(status_of("PATCH", path, AUTH, J, "[1]"), 400);
    CHECK_EQ_INT(status_of("DELETE", "/api/v1/groups", AUTH, NULL, NULL), 405);
    CHECK_EQ_INT(status_of("POST", path, AUTH, J, "{}"), 405);
    CHECK_EQ_INT(status_of("GET", "/api/v1/groups/abc", AUTH, NULL, NULL), 400);
    CHECK_EQ_INT(status_of("GET", "/api/v1/groups/x/y", AUTH, NULL, NULL), 404);
    j = call("PATCH", path, AUTH, J, "{\"stream\":\"radio\",\"volume\":30,\"sync\":false}", &st);
    CHECK_EQ_INT(st, 200);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "stream")), "radio"));
    cJSON_Delete(j);
    j = call("GET", "/api/v1/groups", AUTH, NULL, NULL, &st);
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(j, "groups")), 1);
    cJSON_Delete(j);
    /* a session leaves through its own PATCH, then its stream may change again */
    CHECK_EQ_INT(status_of("PATCH", "/api/v1/sessions/" ID, AUTH, J, "{\"group\":null,\"stream\":\"tv\"}"), 200);
    CHECK_EQ_INT(status_of("PATCH", "/api/v1/sessions/" ID, AUTH, J, "{\"group\":\"11111111-0000-4000-8000-000000000000\"}"), 400);
    CHECK_EQ_INT(status_of("PATCH", "/api/v1/sessions/" ID, AUTH, J, "{\"group\":5}"), 400);
    CHECK_EQ_INT(status_of("PUT", "/api/v1/sessions/" ID, AUTH, J, "{\"group\":null}"), 400); /* PATCH only */
    CHECK_EQ_INT(status_of("DELETE", path, AUTH, NULL, NULL), 204);
    CHECK_EQ_INT(status_of("DELETE", path, AUTH, NULL, NULL), 404);
    teardown();
}

LC_TEST_MAIN(TEST(test_auth), TEST(test_groups), TEST(test_routes), TEST(test_crud), TEST(test_bad_bodies_change_nothing),
             TEST(test_event_json), TEST(test_control_set_message))
