/*
 * api_groups.c — /api/v1/groups: rooms of listeners (issue 14). The same order of checks as every
 * other route (api.c): auth (done by the caller), route and method (404/405), the body's
 * envelope (413/415), its content (400: a bad value, an unknown field, an unknown stream or
 * session), and only then the table. A refused request changes nothing.
 *
 *   GET    /api/v1/groups        {"groups":[GROUP...]}
 *   POST   /api/v1/groups        a new group, the id chosen here: 201 GROUP
 *   GET    /api/v1/groups/ID     GROUP
 *   PUT    /api/v1/groups/ID     create (201) or replace (200): absent fields take defaults
 *   PATCH  /api/v1/groups/ID     the fields given
 *   DELETE /api/v1/groups/ID     204; its members are then in no group
 *
 * GROUP = {id, name, sessions:[ids], stream, volume, muted, sync, sync_delay_ms}.
 */
#include "api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *group_obj(lc_api *api, const lc_group_info *g, bool with_members)
{
    cJSON *o = cJSON_CreateObject(), *arr;
    if (!o || !cJSON_AddStringToObject(o, "id", g->id) || !cJSON_AddStringToObject(o, "name", g->name) ||
        !(arr = cJSON_AddArrayToObject(o, "sessions")))
        goto fail;
    if (with_members && g->members) {
        size_t max = g->members + 16; /* members may join between the count and the copy */
        char (*ids)[LC_SESSION_ID_LEN + 1] = malloc(max * sizeof *ids);
        int n = ids ? lc_groups_members(api->sessions, g->id, ids, max) : LC_ERR_NOMEM;
        for (int i = 0; i < n && (size_t)i < max; i++) {
            cJSON *id = cJSON_CreateString(ids[i]);
            if (!id || !cJSON_AddItemToArray(arr, id)) {
                cJSON_Delete(id);
                n = LC_ERR_NOMEM;
            }
        }
        free(ids);
        if (n < 0 && n != LC_ERR_NOT_FOUND)
            goto fail;
    }
    if (!cJSON_AddStringToObject(o, "stream", lc_api_stream_name(api, g->stream)) ||
        !cJSON_AddNumberToObject(o, "volume", g->volume) || !cJSON_AddBoolToObject(o, "muted", g->muted) ||
        !cJSON_AddBoolToObject(o, "sync", g->sync) ||
        !cJSON_AddNumberToObject(o, "sync_delay_ms", g->sync_delay_ms))
        goto fail;
    return o;
fail:
    cJSON_Delete(o);
    return NULL;
}

char *lc_api_group_event_json(lc_api *api, lc_group_event ev, const lc_group_info *g)
{
    static const char *const names[] = {"group.created", "group.updated", "group.removed"};
    return lc_api_event_text(names[ev], "group", group_obj(api, g, ev != LC_GROUP_REMOVED));
}

/* The `sessions` array into p (ids copied into *ids, which the caller frees). */
static int parse_members(const cJSON *it, lc_group_patch *p, char (**ids)[LC_SESSION_ID_LEN + 1],
                         char *errbuf, size_t errlen)
{
    if (!cJSON_IsArray(it))
        return lc_api_bad_field(errbuf, errlen, "sessions", "must be an array of session ids");
    int n = cJSON_GetArraySize(it);
    *ids = calloc(n > 0 ? (size_t)n : 1, sizeof **ids);
    if (!*ids)
        return LC_ERR_NOMEM;
    const cJSON *e;
    size_t i = 0;
    cJSON_ArrayForEach(e, it)
    {
        if (!cJSON_IsString(e) || lc_session_id_canonical((*ids)[i], e->valuestring))
            return lc_api_bad_field(errbuf, errlen, "sessions", "must be an array of session ids (GUIDs)");
        i++;
    }
    p->has_sessions = true;
    p->sessions = (const char (*)[LC_SESSION_ID_LEN + 1]) * ids;
    p->n_sessions = i;
    return 0;
}

/* A group body: the fields present, each checked; unknown fields refused. */
static int parse_group(lc_api *api, const char *json, size_t len, lc_group_patch *p,
                       char (**ids)[LC_SESSION_ID_LEN + 1], char *errbuf, size_t errlen)
{
    int rc;
    memset(p, 0, sizeof *p);
    cJSON *root = lc_api_parse_object(json, len, &rc, errbuf, errlen);
    if (!root)
        return rc;
    const cJSON *it;
    cJSON_ArrayForEach(it, root)
    {
        const char *k = it->string;
        double v = it->valuedouble;
        if (!strcmp(k, "name")) {
            if (!cJSON_IsString(it) || strlen(it->valuestring) > LC_SESSION_NAME_MAX) {
                rc = lc_api_bad_field(errbuf, errlen, k, "must be a string of at most 64 bytes");
                break;
            }
            p->has_name = true;
            snprintf(p->name, sizeof p->name, "%s", it->valuestring);
        } else if (!strcmp(k, "stream")) {
            if (!cJSON_IsString(it) || !lc_session_stream_name_valid(it->valuestring) ||
                !lc_api_stream_exists(api, it->valuestring)) {
                lc_errf(errbuf, errlen, "'stream': no stream called '%.32s' (GET /api/v1/streams)",
                        cJSON_IsString(it) ? it->valuestring : "");
                rc = LC_ERR_INVALID;
                break;
            }
            p->has_stream = true;
            snprintf(p->stream, sizeof p->stream, "%s", it->valuestring);
        } else if (!strcmp(k, "volume")) {
            if (!cJSON_IsNumber(it) || !lc_session_volume_valid(v)) {
                rc = lc_api_bad_field(errbuf, errlen, k, "must be an integer from 0 to 100");
                break;
            }
            p->has_volume = true;
            p->volume = (int)v;
        } else if (!strcmp(k, "muted") || !strcmp(k, "sync")) {
            if (!cJSON_IsBool(it)) {
                rc = lc_api_bad_field(errbuf, errlen, k, "must be true or false");
                break;
            }
            if (k[0] == 'm')
                p->has_muted = true, p->muted = cJSON_IsTrue(it);
            else
                p->has_sync = true, p->sync = cJSON_IsTrue(it);
        } else if (!strcmp(k, "sync_delay_ms")) {
            if (!cJSON_IsNumber(it) || v < 0 || v > LC_GROUP_DELAY_MAX || v != (int)v) {
                rc = lc_api_bad_field(errbuf, errlen, k, "must be an integer from 0 to 3000");
                break;
            }
            p->has_sync_delay = true;
            p->sync_delay_ms = (int)v;
        } else if (!strcmp(k, "sessions")) {
            if ((rc = parse_members(it, p, ids, errbuf, errlen)))
                break;
        } else if (!strcmp(k, "id")) {
            continue; /* a GET's answer sent back as is: the path names the group */
        } else {
            lc_api_unknown_field(k, errbuf, errlen);
            rc = LC_ERR_INVALID;
            break;
        }
    }
    if (!rc)
        rc = lc_group_patch_check(p, errbuf, errlen);
    cJSON_Delete(root);
    return rc;
}

static void list_groups(lc_api *api, lc_api_response *r)
{
    lc_group_info all[LC_GROUPS_MAX];
    size_t n = lc_groups_list(api->sessions, all, LC_GROUPS_MAX);
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "groups");
    for (size_t i = 0; arr && i < n && i < LC_GROUPS_MAX; i++) {
        cJSON *o = group_obj(api, &all[i], true);
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            cJSON_Delete(root);
            lc_api_error(r, 500, "internal", "out of memory");
            return;
        }
    }
    lc_api_respond(r, 200, root);
}

/* POST (id NULL), PUT, PATCH: the body, then the table. */
static void write_group(lc_api *api, const lc_api_request *req, const char *id, bool replace,
                        lc_api_response *r)
{
    if (!lc_api_body_ok(req, r))
        return;
    lc_group_patch p;
    char (*ids)[LC_SESSION_ID_LEN + 1] = NULL, err[160];
    int rc = parse_group(api, req->body ? req->body : "", req->body_len, &p, &ids, err, sizeof err);
    lc_group_info g;
    bool created = false;
    if (!rc)
        rc = replace ? lc_groups_put(api->sessions, id, &p, &g, &created, err, sizeof err)
                     : lc_groups_patch(api->sessions, id, &p, &g, err, sizeof err);
    free(ids);
    if (rc == LC_ERR_NOT_FOUND)
        lc_api_error(r, 404, "not_found", "no group with that id (PUT creates one)");
    else if (rc == LC_ERR_FULL)
        lc_api_error(r, 409, "too_many_groups", err);
    else if (rc == LC_ERR_NOMEM)
        lc_api_error(r, 500, "internal", "out of memory");
    else if (rc < 0)
        lc_api_error(r, 400, "invalid_body", err);
    else
        lc_api_respond(r, created ? 201 : 200, group_obj(api, &g, true));
}

void lc_api_groups_route(lc_api *api, const lc_api_request *req, const char *rest,
                         lc_api_response *r)
{
    const char *m = req->method;
    if (!*rest || !strcmp(rest, "/")) {
        if (!strcmp(m, "GET"))
            list_groups(api, r);
        else if (!strcmp(m, "POST"))
            write_group(api, req, NULL, true, r);
        else {
            r->allow = "GET, POST";
            lc_api_error(r, 405, "method_not_allowed", "use GET or POST on /api/v1/groups");
        }
        return;
    }
    const char *id = rest + 1;
    if (*rest != '/' || strchr(id, '/')) {
        lc_api_error(r, 404, "not_found", "no such API path");
        return;
    }
    if (!lc_api_item_gate(req, id, "group", r))
        return;
    bool get = !strcmp(m, "GET"), put = !strcmp(m, "PUT"), del = !strcmp(m, "DELETE");
    lc_group_info g;
    if (get || del) {
        int rc = get ? lc_groups_get(api->sessions, id, &g) : lc_groups_delete(api->sessions, id);
        if (rc == LC_ERR_NOT_FOUND)
            lc_api_error(r, 404, "not_found", "no group with that id");
        else if (rc < 0)
            lc_api_error(r, 500, "internal", lc_strerror(rc));
        else if (get)
            lc_api_respond(r, 200, group_obj(api, &g, true));
        else
            lc_api_respond(r, 204, NULL);
        return;
    }
    write_group(api, req, id, put, r);
}
