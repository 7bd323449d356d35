/*
 * control.c — client control messages (see control.h). Strict where it protects the server
 * (size, types, ranges, name bytes), lenient where it helps old or new pages (unknown fields are
 * ignored, so a newer page can add a field without breaking this server).
 */
#include "control.h"

#include <cjson/cJSON.h>

#include "api.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *lc_control_error_code(int rc)
{
    switch (rc) {
    case LC_ERR_LIMIT: return "too_large";
    case LC_ERR_PARSE: return "bad_json";
    case LC_ERR_NOT_FOUND: return "unknown_type";
    case LC_ERR_STATE: return "in_group"; /* a `set` of the stream of a grouped session */
    default: return "bad_value";
    }
}

size_t lc_control_format_number(char *out, size_t cap, double v)
{
    int n;
    if (!cap)
        return 0;
    if (!lc_finite(v))
        v = 0;
    /* Shortest of %.15g/%.17g that reads back as the same double (what cJSON does too). */
    n = snprintf(out, cap, "%.15g", v);
    if (n > 0 && (size_t)n < cap && strtod(out, NULL) != v)
        n = snprintf(out, cap, "%.17g", v);
    if (n < 0)
        n = 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

static int fail(char *err, size_t errlen, int rc, const char *msg)
{
    lc_errf(err, errlen, "%s", msg);
    return rc;
}

/* A JSON number that is an integer in [lo, hi]. */
static int get_int(const cJSON *it, double lo, double hi, int64_t *out)
{
    if (!cJSON_IsNumber(it))
        return 0;
    double v = it->valuedouble;
    if (!(v >= lo && v <= hi) || v != floor(v))
        return 0;
    *out = (int64_t)v;
    return 1;
}

/* The one parser of session changes is the API's (lc_api_parse_patch): a page's `set` and a
 * PATCH accept and refuse exactly the same things. It reads the text again; `set` is rare (a
 * slider drag), so the second parse costs nothing that matters. */
static int parse_set(const char *text, size_t len, lc_control_msg *m, char *err, size_t errlen)
{
    char why[160];
    int rc = lc_api_parse_patch(text, len, false, true, &m->patch, NULL, NULL, why, sizeof why);
    if (rc) {
        /* Its "unknown field 'x'" quotes the key; our error messages never quote input. */
        return fail(err, errlen, LC_ERR_INVALID,
                    strstr(why, "unknown field") ? "set has an unknown field" : why);
    }
    if (!m->patch.has_volume && !m->patch.has_muted && !m->patch.has_name &&
        !m->patch.has_latency_trim && !m->patch.has_stream && !m->patch.has_group)
        return fail(err, errlen, LC_ERR_INVALID,
                    "set needs volume, muted, name, latency_trim_ms, stream or group");
    m->has_volume = m->patch.has_volume;
    m->volume = m->patch.volume;
    m->has_muted = m->patch.has_muted;
    m->muted = m->patch.muted;
    m->has_name = m->patch.has_name;
    memcpy(m->name, m->patch.name, sizeof m->name);
    return 0;
}

/* What the page names its decoder and output in `stats` (docs/protocol.md), in enum order from 1;
 * "-worker": decoding runs in the page's stream Worker, off its main thread; "-element": the
 * audio leaves through an <audio> element (phones: lock-screen playback). */
static const char *const DECODER_NAMES[] = {"webcodecs", "wasm",  "webcodecs-worker",
                                            "wasm-worker", "none", NULL};
static const char *const OUTPUT_NAMES[] = {
    "worklet", "buffers", "none", "worklet-element", "buffers-element", "script", "script-element",
    NULL};

const char *lc_control_decoder_name(lc_control_decoder d)
{
    return d > LC_DECODER_UNKNOWN && d <= LC_DECODER_NONE ? DECODER_NAMES[d - 1] : NULL;
}

const char *lc_control_output_name(lc_control_output o)
{
    return o > LC_OUTPUT_UNKNOWN && o <= LC_OUTPUT_SCRIPT_ELEMENT ? OUTPUT_NAMES[o - 1] : NULL;
}

/* The 1-based index of a JSON string in `names`, or -1 (not a string, not a name). */
static int name_index(const cJSON *it, const char *const *names)
{
    if (!cJSON_IsString(it))
        return -1;
    for (int i = 0; names[i]; i++)
        if (!strcmp(it->valuestring, names[i]))
            return i + 1;
    return -1;
}

static int parse_stats(const cJSON *root, lc_control_msg *m, char *err, size_t errlen)
{
    const cJSON *it;
    int64_t v;
    static const char *const ms_fields[] = {"buffer_ms", "latency_ms"};
    double *ms_out[] = {&m->buffer_ms, &m->latency_ms};
    for (int i = 0; i < 2; i++) {
        if ((it = cJSON_GetObjectItemCaseSensitive(root, ms_fields[i]))) {
            if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0 && it->valuedouble <= 3600e3))
                return fail(err, errlen, LC_ERR_INVALID,
                            "buffer_ms and latency_ms must be numbers 0..3600000");
            *ms_out[i] = it->valuedouble;
        }
    }
    if ((it = cJSON_GetObjectItemCaseSensitive(root, "sync_error_ms"))) {
        if (!cJSON_IsNumber(it) || !(it->valuedouble >= -3600e3 && it->valuedouble <= 3600e3))
            return fail(err, errlen, LC_ERR_INVALID,
                        "sync_error_ms must be a number -3600000..3600000");
        m->has_sync_error = true;
        m->sync_error_ms = it->valuedouble;
    }
    if ((it = cJSON_GetObjectItemCaseSensitive(root, "underruns"))) {
        if (!get_int(it, 0, 9007199254740991.0, &v))
            return fail(err, errlen, LC_ERR_INVALID, "underruns must be a non-negative integer");
        m->underruns = v;
    }
    if ((it = cJSON_GetObjectItemCaseSensitive(root, "decoder"))) {
        int d = name_index(it, DECODER_NAMES);
        if (d < 0)
            return fail(err, errlen, LC_ERR_INVALID,
                        "decoder must be 'webcodecs-worker', 'wasm-worker', 'webcodecs', 'wasm' or "
                        "'none'");
        m->decoder = (lc_control_decoder)d;
    }
    if ((it = cJSON_GetObjectItemCaseSensitive(root, "output"))) {
        int o = name_index(it, OUTPUT_NAMES);
        if (o < 0)
            return fail(err, errlen, LC_ERR_INVALID,
                        "output must be 'worklet', 'buffers', 'script' (each may end in "
                        "'-element') or 'none'");
        m->output = (lc_control_output)o;
    }
    return 0;
}

int lc_control_parse(const char *buf, size_t len, lc_control_msg *out, char *err, size_t errlen)
{
    char small[1024], *text = small;
    cJSON *root = NULL;
    const char *end = NULL;
    int rc;

    if (!out)
        return LC_ERR_INVALID;
    memset(out, 0, sizeof *out);
    out->buffer_ms = out->latency_ms = -1;
    out->underruns = -1;
    lc_errf(err, errlen, "%s", "");
    if (len > LC_CONTROL_MAX)
        return fail(err, errlen, LC_ERR_LIMIT, "message too long");
    if (!buf && len)
        return fail(err, errlen, LC_ERR_PARSE, "no message");
    /* Pages send ~100-byte messages: the stack copy; a rare large one (up to --max-msg-bytes)
     * borrows the heap. */
    if (len >= sizeof small && !(text = malloc(len + 1)))
        return fail(err, errlen, LC_ERR_NOMEM, "out of memory");
    /* A private NUL-terminated copy: cJSON_ParseWithOpts needs the terminator, and an embedded
     * NUL then ends the text early, which the end-pointer check below reports as trailing
     * bytes. */
    if (len)
        memcpy(text, buf, len);
    text[len] = '\0';
    if (memchr(text, '\0', len)) {
        rc = fail(err, errlen, LC_ERR_PARSE, "message contains a NUL byte");
        goto done;
    }

    root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        rc = fail(err, errlen, LC_ERR_PARSE, "malformed JSON");
        goto done;
    }
    if (!cJSON_IsObject(root)) {
        rc = fail(err, errlen, LC_ERR_PARSE, "a control message is a JSON object");
        goto done;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!cJSON_IsString(type) || !type->valuestring) {
        rc = fail(err, errlen, LC_ERR_PARSE, "missing string field 'type'");
        goto done;
    }
    if (!strcmp(type->valuestring, "ping")) {
        out->type = LC_CONTROL_PING;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "t");
        if (t) {
            if (!cJSON_IsNumber(t) || !lc_finite(t->valuedouble)) {
                rc = fail(err, errlen, LC_ERR_INVALID, "t must be a number");
                goto done;
            }
            out->has_t = true;
            out->t = t->valuedouble;
        }
        rc = 0;
    } else if (!strcmp(type->valuestring, "set")) {
        out->type = LC_CONTROL_SET;
        rc = parse_set(text, len, out, err, errlen);
    } else if (!strcmp(type->valuestring, "stats")) {
        out->type = LC_CONTROL_STATS;
        rc = parse_stats(root, out, err, errlen);
    } else {
        rc = fail(err, errlen, LC_ERR_NOT_FOUND, "unknown message type");
    }
done:
    cJSON_Delete(root);
    if (text != small)
        free(text);
    if (rc) {
        /* Nothing half-parsed leaks out of a refused message. */
        lc_control_type keep = out->type;
        memset(out, 0, sizeof *out);
        out->type = keep;
    }
    return rc;
}
