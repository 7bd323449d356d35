/* api_int.h — what api.c and api_groups.c share; not part of the public interface. */
#ifndef LC_API_INT_H
#define LC_API_INT_H

#include <cjson/cJSON.h>

#include "api.h"

struct lc_api {
    lc_sessions *sessions;
    char *token;   /* immutable after create */
    size_t token_len;
    lc_api_hooks hooks;
};

/* Sends `body` (taken) with `status`; 500 if it cannot be printed. */
void lc_api_respond(lc_api_response *r, int status, cJSON *body);
/* {"error":{"code","message"}} with `status`. */
void lc_api_error(lc_api_response *r, int status, const char *code, const char *msg);
/* The body's envelope: within --max-body (else 413) and application/json (else 415). */
bool lc_api_body_ok(const lc_api_request *req, lc_api_response *r);
bool lc_api_is_json(const char *content_type);
/* `len` bytes of JSON that must be one object and nothing after it: the object, or NULL with
 * *rc (LC_ERR_PARSE / LC_ERR_INVALID) and a message. */
cJSON *lc_api_parse_object(const char *json, size_t len, int *rc, char *errbuf, size_t errlen);
/* {"type":TYPE, KEY: obj} as text (obj taken; NULL = out of memory, then NULL). */
char *lc_api_event_text(const char *type, const char *key, cJSON *obj);
/* "'FIELD' WHAT" into errbuf; returns LC_ERR_INVALID. */
int lc_api_bad_field(char *errbuf, size_t errlen, const char *field, const char *what);
/* "unknown field 'KEY'" (the key cut to 47 bytes) into errbuf. */
void lc_api_unknown_field(const char *key, char *errbuf, size_t errlen);
/* /api/v1/sessions/ID and /api/v1/groups/ID: GET, PATCH, PUT or DELETE (else 405 naming `what`),
 * and an id that is a GUID (else 400 invalid_id). false when it answered. */
bool lc_api_item_gate(const lc_api_request *req, const char *id, const char *what,
                      lc_api_response *r);
/* The stream's name to show for a stored `name` (the first stream's when there is none by that
 * name any more, or `name` is ""). */
const char *lc_api_stream_name(lc_api *api, const char *name);
/* Whether a stream called `name` exists (the server's hook; every name without it). */
bool lc_api_stream_exists(lc_api *api, const char *name);

/* api_groups.c: /api/v1/groups (`rest` "") and /api/v1/groups/ID (`rest` "/ID"). */
void lc_api_groups_route(lc_api *api, const lc_api_request *req, const char *rest,
                         lc_api_response *r);

#endif
