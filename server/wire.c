/*
 * wire.c — the server's own entities as JSON, each built in one place for every reader: the
 * capture source ({uri, state, error}), the codec ({name, sample_rate, channels, frame_samples,
 * frame_ms, bitrate, lookahead}) and `sync_ms` (--sync-ms) in the page's hello, the `source`
 * message on both sockets, and GET /api/v1/status (and so the events hello). Sessions are serialized by
 * api/ (lc_api_session_json); the page's own view of its session is in ws_stream.c.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>

lc_capture_state lc_source_state(lc_server *srv, char *err, size_t errlen)
{
    lc_capture_state st = lc_capture_get_state(srv->cap);
    err[0] = '\0';
    if (st != LC_CAPTURE_RUNNING) {
        lc_capture_stats cs;
        lc_capture_get_stats(srv->cap, &cs);
        snprintf(err, errlen, "%s", cs.last_error);
    }
    return st;
}

/* The source's fields into `o`; false if out of memory. */
static bool put_source(cJSON *o, lc_server *srv)
{
    char err[160];
    lc_capture_state st = lc_source_state(srv, err, sizeof err);
    return cJSON_AddStringToObject(o, "uri", lc_capture_uri(srv->cap)) &&
           cJSON_AddStringToObject(o, "state", lc_capture_state_name(st)) &&
           (err[0] ? cJSON_AddStringToObject(o, "error", err) != NULL
                   : cJSON_AddNullToObject(o, "error") != NULL);
}

bool lc_wire_add_source(cJSON *parent, lc_server *srv)
{
    cJSON *o = cJSON_AddObjectToObject(parent, "source");
    return o && put_source(o, srv);
}

char *lc_wire_source_msg(lc_server *srv)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o && cJSON_AddStringToObject(o, "type", "source") && put_source(o, srv))
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

bool lc_wire_add_codec(cJSON *parent, lc_server *srv)
{
    const lc_opus_config *oc = lc_opus_get_config(srv->enc);
    lc_opus_stats st;
    lc_opus_get_stats(srv->enc, &st);
    cJSON *o = cJSON_AddObjectToObject(parent, "codec");
    return o && cJSON_AddStringToObject(o, "name", "opus") &&
           cJSON_AddNumberToObject(o, "sample_rate", LC_OPUS_RATE) &&
           cJSON_AddNumberToObject(o, "channels", oc->channels) &&
           cJSON_AddNumberToObject(o, "frame_samples", lc_opus_frame_samples(srv->enc)) &&
           cJSON_AddNumberToObject(o, "frame_ms", oc->frame_us / 1000.0) &&
           cJSON_AddNumberToObject(o, "bitrate", oc->bitrate) &&
           cJSON_AddNumberToObject(o, "lookahead", st.lookahead);
}

bool lc_wire_add_sync(cJSON *parent, lc_server *srv)
{
    return cJSON_AddNumberToObject(parent, "sync_ms", srv->cfg.sync_ms) != NULL;
}
