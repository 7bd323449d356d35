/*
 * control.h — the client → server text messages of the audio WebSocket (docs/protocol.md), parsed
 * by one pure function so it can be unit-tested and fuzzed (tests/fuzz/fuzz_control.c) without a
 * socket. Uses cJSON_ParseWithOpts only (never cJSON_GetErrorPtr, which is not thread-safe).
 */
#ifndef LC_SERVER_CONTROL_H
#define LC_SERVER_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "session.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LC_CONTROL_MAX 65536u /* bytes: a longer message is refused here; the server's own
                              * limit (--max-msg-bytes, default 4096) is checked before */
#define LC_CONTROL_NAME_MAX 64u

typedef enum {
    LC_CONTROL_PING = 1, /* {"type":"ping","t":T} */
    LC_CONTROL_SET,      /* {"type":"set","volume":0..100,"muted":bool,"name":"..."} */
    LC_CONTROL_STATS,    /* {"type":"stats","buffer_ms":N,...} */
} lc_control_type;

/* The order of DECODER_NAMES / OUTPUT_NAMES in control.c. */
typedef enum {
    LC_DECODER_UNKNOWN = 0,
    LC_DECODER_WEBCODECS,
    LC_DECODER_WASM,
    LC_DECODER_WEBCODECS_WORKER,
    LC_DECODER_WASM_WORKER,
    LC_DECODER_NONE
} lc_control_decoder;
typedef enum {
    LC_OUTPUT_UNKNOWN = 0,
    LC_OUTPUT_WORKLET,
    LC_OUTPUT_BUFFERS,
    LC_OUTPUT_NONE,
    LC_OUTPUT_WORKLET_ELEMENT,
    LC_OUTPUT_BUFFERS_ELEMENT,
    LC_OUTPUT_SCRIPT,
    LC_OUTPUT_SCRIPT_ELEMENT
} lc_control_output;

typedef struct lc_control_msg {
    lc_control_type type;
    /* ping: the client's T, echoed in the `time` answer (any JSON number; absent = 0) */
    bool has_t;
    double t;
    /* set: the change, parsed and checked by lc_api_parse_patch (the one parser of session
     * changes, shared with the REST API's PATCH), ready for lc_sessions_patch... */
    lc_session_patch patch;
    /* ...and the same fields again for callers that read them one by one */
    bool has_volume, has_muted, has_name;
    int volume;
    bool muted;
    char name[LC_CONTROL_NAME_MAX + 1];
    /* stats: -1 = absent */
    double buffer_ms, latency_ms;
    /* stats: synchronized playback, how late the page plays against --sync-ms (negative: early) */
    bool has_sync_error;
    double sync_error_ms;
    int64_t underruns;
    lc_control_decoder decoder;
    lc_control_output output;
} lc_control_msg;

/*
 * Parses one text message of `len` bytes (need not be NUL-terminated). Returns 0, or
 *   LC_ERR_LIMIT     longer than LC_CONTROL_MAX
 *   LC_ERR_PARSE     not JSON, not an object, trailing bytes, no string "type"
 *   LC_ERR_NOT_FOUND unknown type
 *   LC_ERR_INVALID   a known field with a wrong type or out of range, or (set only) an unknown
 *                    field, exactly as the REST API's PATCH refuses it (nothing is applied)
 * with a short English message in err (safe to send back to the client: it never quotes input).
 */
int lc_control_parse(const char *buf, size_t len, lc_control_msg *out, char *err, size_t errlen);

/* The protocol's `error.code` for a parse result: "too_large", "bad_json", "unknown_type",
 * "bad_value". */
const char *lc_control_error_code(int rc);

/* The name a page sends for a decoder / output (docs/protocol.md `stats`), or NULL for
 * LC_*_UNKNOWN and values out of range. */
const char *lc_control_decoder_name(lc_control_decoder d);
const char *lc_control_output_name(lc_control_output o);

/* Formats a JSON number the way JavaScript would read back the same double ("12", "0.5",
 * "1e+300"); NaN/inf (never produced by JSON) become "0". Returns the length written. */
size_t lc_control_format_number(char *out, size_t cap, double v);

#ifdef __cplusplus
}
#endif
#endif
