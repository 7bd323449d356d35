/*
 * libFuzzer: /api/v1/groups request bodies (issue 14) through lc_api_handle with a real session
 * table. The first input byte picks the method (PUT, PATCH, POST) and the group (one that
 * exists, or an unknown id); the rest is the JSON body.
 *
 * Besides what ASan/UBSan catch, every input must keep these promises (docs/api.md):
 *   1. the answer is 200, 201, 400, 404, 409 or 413 with a JSON body (an error body has a code and
 *      a message);
 *   2. a refused request changes nothing: the groups and every session's group are as before;
 *   3. an accepted one leaves a group the API would accept again: values in range, a stream that
 *      exists, members that exist, each member's `group` naming it and no session in two groups.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MUST(cond)                                                                                 \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_groups: broken invariant at line %d: %s\n", __LINE__, #cond);    \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const char *const sids[] = {"aaaaaaaa-1111-4111-8111-111111111111",
                                   "bbbbbbbb-1111-4111-8111-111111111111"};
static const char gid[] = "11111111-2222-4333-8444-555555555555";

/* Two streams, "tv" (the first) and "radio". */
static const char *stream_hook(void *user, const char *name)
{
    (void)user;
    if (!name || !*name || !strcmp(name, "tv"))
        return "tv";
    return strcmp(name, "radio") ? NULL : "radio";
}

typedef struct snap {
    lc_group_info g[LC_GROUPS_MAX];
    size_t ng;
    char member_of[2][LC_SESSION_ID_LEN + 1];
} snap;

static void take(lc_sessions *s, snap *out)
{
    memset(out, 0, sizeof *out);
    out->ng = lc_groups_list(s, out->g, LC_GROUPS_MAX);
    for (int i = 0; i < 2; i++) {
        lc_session_info si;
        MUST(lc_sessions_get(s, sids[i], &si) == 0);
        memcpy(out->member_of[i], si.group, sizeof si.group);
    }
}

static lc_sessions *S;
static lc_api *A;

static void setup(void)
{
    lc_sessions_config cfg;
    lc_sessions_config_default(&cfg);
    cfg.state_dir = NULL;
    char err[128];
    MUST(lc_sessions_create(&S, &cfg, NULL, NULL, err, sizeof err) == 0);
    lc_api_hooks hooks = {.stream = stream_hook};
    MUST(lc_api_create(&A, S, NULL, &hooks) == 0);
    for (int i = 0; i < 2; i++) {
        lc_session_info si;
        bool created;
        MUST(lc_sessions_put(S, sids[i], &(lc_session_patch){0}, false, &si, &created) == 0);
    }
}

/* Back to one group (gid, member a), whatever the input did. */
static void reset(void)
{
    lc_group_info all[LC_GROUPS_MAX];
    size_t n = lc_groups_list(S, all, LC_GROUPS_MAX);
    for (size_t i = 0; i < n; i++)
        MUST(lc_groups_delete(S, all[i].id) == 0);
    char m[1][LC_SESSION_ID_LEN + 1];
    memcpy(m[0], sids[0], sizeof m[0]);
    lc_group_patch p = {.has_sessions = true, .sessions = (const char (*)[LC_SESSION_ID_LEN + 1])m,
                        .n_sessions = 1};
    lc_group_info g;
    bool created;
    char err[128];
    MUST(lc_groups_put(S, gid, &p, &g, &created, err, sizeof err) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!S)
        setup();
    if (size < 1)
        return 0;
    reset();
    static const char *const methods[] = {"PUT", "PATCH", "POST", "PATCH"};
    const char *method = methods[data[0] & 3];
    char path[96];
    bool post = (data[0] & 3) == 2;
    snprintf(path, sizeof path, "/api/v1/groups%s%s", post ? "" : "/",
             post ? "" : (data[0] & 4) ? "22222222-2222-4333-8444-555555555555" : gid);
    snap before, after;
    take(S, &before);
    lc_api_request rq = {.method = method, .path = path, .content_type = "application/json",
                         .body = (const char *)data + 1, .body_len = size - 1};
    lc_api_response r;
    lc_api_handle(A, &rq, &r);
    take(S, &after);

    /* 1 */
    MUST(r.status == 200 || r.status == 201 || r.status == 400 || r.status == 404 || r.status == 409 ||
         r.status == 413);
    cJSON *body = r.body ? cJSON_ParseWithLength(r.body, r.body_len) : NULL;
    MUST(body != NULL);
    if (r.status >= 400) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(body, "error");
        MUST(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "code")));
        MUST(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "message")));
        /* 2 */
        MUST(after.ng == before.ng);
        MUST(!memcmp(after.g, before.g, before.ng * sizeof before.g[0]));
        MUST(!memcmp(after.member_of, before.member_of, sizeof before.member_of));
    } else {
        /* 3 */
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "id");
        MUST(cJSON_IsString(id));
        lc_group_info g;
        MUST(lc_groups_get(S, id->valuestring, &g) == 0);
        MUST(g.volume >= 0 && g.volume <= 100 && g.sync_delay_ms >= 0 &&
             g.sync_delay_ms <= LC_GROUP_DELAY_MAX);
        MUST(!g.stream[0] || stream_hook(NULL, g.stream));
        const cJSON *members = cJSON_GetObjectItemCaseSensitive(body, "sessions"), *m;
        MUST(cJSON_IsArray(members));
        size_t count = 0;
        cJSON_ArrayForEach(m, members)
        {
            lc_session_info si;
            MUST(cJSON_IsString(m) && lc_sessions_get(S, m->valuestring, &si) == 0);
            MUST(!strcmp(si.group, g.id));
            count++;
        }
        MUST(count == g.members);
        for (int i = 0; i < 2; i++) { /* each session is in at most one group, one that exists */
            if (!after.member_of[i][0])
                continue;
            lc_group_info other;
            MUST(lc_groups_get(S, after.member_of[i], &other) == 0);
        }
    }
    cJSON_Delete(body);
    lc_api_response_free(&r);
    return 0;
}
