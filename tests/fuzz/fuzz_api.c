/*
 * libFuzzer: the API's request handling end to end (routing, auth, body parsing, the session
 * table). The first input byte picks method and path; the rest is the body.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lc_sessions *s;
    static lc_api *api;
    if (!s) {
        lc_sessions_config cfg;
        lc_sessions_config_default(&cfg);
        cfg.max_sessions = 8;
        lc_sessions_create(&s, &cfg, NULL, NULL, NULL, 0);
        lc_api_create(&api, s, "tok", NULL);
    }
    if (size < 1)
        return 0;
    static const char *const methods[] = {"GET", "PATCH", "PUT", "DELETE"};
    static const char *const paths[] = {"/api/v1/sessions/9f1c2d3e-4b5a-4c6d-8e7f-0123456789ab",
                                        "/api/v1/sessions/11111111-2222-4333-8444-555555555555",
                                        "/api/v1/sessions", "/api/v1/status"};
    lc_api_request rq = {.method = methods[data[0] & 3], .path = paths[(data[0] >> 2) & 3],
                         .authorization = (data[0] & 16) ? "Bearer tok" : "Bearer x",
                         .content_type = "application/json", .body = (const char *)data + 1,
                         .body_len = size - 1};
    lc_api_response r;
    lc_api_handle(api, &rq, &r);
    lc_api_response_free(&r);
    /* the page's control messages go through the same parser */
    lc_session_patch p;
    char err[160];
    (void)lc_api_parse_patch((const char *)data + 1, size - 1, false, true, &p, NULL, NULL, err, sizeof err);
    return 0;
}
