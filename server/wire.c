/*
 * wire.c — the server's own entities as JSON, each built in one place for every reader: a
 * stream's capture source ({uri, state, error}), a stream ({name, uri, state, error, listeners}:
 * GET /api/v1/streams, status, the page's hello, /readyz), the codec ({name, sample_rate, channels, frame_samples,
 * frame_ms, bitrate, lookahead}) and `sync_ms` (--sync-ms) in the page's hello, the `source`
 * message on both sockets, GET /api/v1/status (and so the events hello), and an Icecast target
 * (status's `icecast` array and the `icecast` event). Sessions are serialized by
 * api/ (lc_api_session_json); the page's own view of its session is in ws_stream.c.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>

/* The source's fields into `o` ({uri, state, error, detail}); false if out of memory. */
static bool put_source(cJSON *o, lc_feed *f)
{
    char err[160];
    lc_capture_state st = lc_feed_state(f, err, sizeof err);
    lc_capture_stats cs;
    lc_capture_get_stats(f->cap, &cs);
    return cJSON_AddStringToObject(o, "uri", lc_capture_uri(f->cap)) &&
           cJSON_AddStringToObject(o, "state", lc_capture_state_name(st)) &&
           (err[0] ? cJSON_AddStringToObject(o, "error", err) != NULL
                   : cJSON_AddNullToObject(o, "error") != NULL) &&
           (cs.detail[0] ? cJSON_AddStringToObject(o, "detail", cs.detail) != NULL
                         : cJSON_AddNullToObject(o, "detail") != NULL);
}

bool lc_wire_add_source(cJSON *parent, lc_feed *f)
{
    cJSON *o = cJSON_AddObjectToObject(parent, "source");
    return o && put_source(o, f);
}

char *lc_wire_source_msg(lc_feed *f)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o && cJSON_AddStringToObject(o, "type", "source") &&
        cJSON_AddStringToObject(o, "stream", f->def->name) && put_source(o, f))
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* One stream: {name, uri, state, error, listeners}. */
static cJSON *stream_obj(lc_feed *f)
{
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "name", f->def->name) && put_source(o, f) &&
        cJSON_AddNumberToObject(o, "listeners", f->listeners))
        return o;
    cJSON_Delete(o);
    return NULL;
}

bool lc_wire_add_streams(cJSON *parent, lc_server *srv)
{
    cJSON *arr = cJSON_AddArrayToObject(parent, "streams");
    for (unsigned i = 0; arr && i < srv->n_feeds; i++) {
        cJSON *o = stream_obj(&srv->feeds[i]);
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            return false;
        }
    }
    return arr != NULL;
}

/* One Icecast target: {url (no password), stream, state, error, connects, failures,
 * packets_sent, packets_dropped, bytes_sent, retry_in_ms}. */
static cJSON *icecast_obj(lc_server *srv, size_t i)
{
    lc_icecast_status st;
    lc_icecast_status_get(srv->icecast[i], &st);
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "url", srv->cfg.icecast[i].url.shown) &&
        cJSON_AddStringToObject(o, "stream", srv->cfg.icecast[i].stream) &&
        cJSON_AddStringToObject(o, "state", lc_icecast_state_name(st.state)) &&
        (st.error[0] ? cJSON_AddStringToObject(o, "error", st.error) != NULL
                     : cJSON_AddNullToObject(o, "error") != NULL) &&
        cJSON_AddNumberToObject(o, "connects", (double)st.connects) &&
        cJSON_AddNumberToObject(o, "failures", (double)st.failures) &&
        cJSON_AddNumberToObject(o, "packets_sent", (double)st.packets_sent) &&
        cJSON_AddNumberToObject(o, "packets_dropped", (double)st.packets_dropped) &&
        cJSON_AddNumberToObject(o, "bytes_sent", (double)st.bytes_sent) &&
        (st.state == LC_ICECAST_RETRYING
             ? cJSON_AddNumberToObject(o, "retry_in_ms", st.retry_in_ms) != NULL
             : cJSON_AddNullToObject(o, "retry_in_ms") != NULL))
        return o;
    cJSON_Delete(o);
    return NULL;
}

/* One RTP target: {url, stream, ssrc (8 hex digits), sdp (its file or null), sending, error,
 * packets_sent, packets_dropped, bytes_sent, send_errors, reports_sent}. */
static cJSON *rtp_obj(lc_server *srv, size_t i)
{
    lc_rtp_status st;
    lc_rtp_status_get(srv->rtp[i], &st);
    const lc_rtp_def *d = &srv->cfg.rtp[i];
    char ssrc[9];
    snprintf(ssrc, sizeof ssrc, "%08x", (unsigned)st.ssrc);
    cJSON *o = cJSON_CreateObject();
    if (o && cJSON_AddStringToObject(o, "url", d->url.shown) &&
        cJSON_AddStringToObject(o, "stream", d->stream) && cJSON_AddStringToObject(o, "ssrc", ssrc) &&
        (d->sdp[0] ? cJSON_AddStringToObject(o, "sdp", d->sdp) != NULL
                   : cJSON_AddNullToObject(o, "sdp") != NULL) &&
        cJSON_AddBoolToObject(o, "sending", st.sending) &&
        (st.error[0] ? cJSON_AddStringToObject(o, "error", st.error) != NULL
                     : cJSON_AddNullToObject(o, "error") != NULL) &&
        cJSON_AddNumberToObject(o, "packets_sent", (double)st.packets_sent) &&
        cJSON_AddNumberToObject(o, "packets_dropped", (double)st.packets_dropped) &&
        cJSON_AddNumberToObject(o, "bytes_sent", (double)st.bytes_sent) &&
        cJSON_AddNumberToObject(o, "send_errors", (double)st.send_errors) &&
        cJSON_AddNumberToObject(o, "reports_sent", (double)st.reports_sent))
        return o;
    cJSON_Delete(o);
    return NULL;
}

/* parent[key] = [obj(srv, 0) .. obj(srv, n - 1)] */
static bool add_array(cJSON *parent, const char *key, lc_server *srv, size_t n,
                      cJSON *(*obj)(lc_server *, size_t))
{
    cJSON *arr = cJSON_AddArrayToObject(parent, key);
    for (size_t i = 0; arr && i < n; i++) {
        cJSON *o = obj(srv, i);
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            return false;
        }
    }
    return arr != NULL;
}

/* {"type": type, type: obj(srv, i)} */
static char *event_msg(const char *type, lc_server *srv, size_t i,
                       cJSON *(*obj)(lc_server *, size_t))
{
    cJSON *root = cJSON_CreateObject(), *o = obj(srv, i);
    char *text = NULL;
    if (root && o && cJSON_AddStringToObject(root, "type", type) &&
        cJSON_AddItemToObject(root, type, o)) {
        o = NULL;
        text = cJSON_PrintUnformatted(root);
    }
    cJSON_Delete(o);
    cJSON_Delete(root);
    return text;
}

bool lc_wire_add_icecast(cJSON *parent, lc_server *srv)
{
    /* the pushers run from before the workers start until after they end: all there */
    return add_array(parent, "icecast", srv, srv->cfg.n_icecast, icecast_obj);
}

char *lc_wire_icecast_msg(lc_server *srv, size_t i) { return event_msg("icecast", srv, i, icecast_obj); }

bool lc_wire_add_rtp(cJSON *parent, lc_server *srv)
{
    return add_array(parent, "rtp", srv, srv->cfg.n_rtp, rtp_obj);
}

char *lc_wire_rtp_msg(lc_server *srv, size_t i) { return event_msg("rtp", srv, i, rtp_obj); }

char *lc_wire_readyz(lc_server *srv, int *ready)
{
    char reason[256];
    cJSON *root = cJSON_CreateObject(), *arr;
    char *text = NULL;
    *ready = lc_server_ready(srv, reason, sizeof reason);
    if (!root || !cJSON_AddBoolToObject(root, "ready", *ready) ||
        !cJSON_AddStringToObject(root, "reason", reason) ||
        !(arr = cJSON_AddArrayToObject(root, "streams")))
        goto out;
    for (unsigned i = 0; i < srv->n_feeds; i++) {
        lc_feed *f = &srv->feeds[i];
        int ok = lc_feed_ready(f, reason, sizeof reason);
        cJSON *o = stream_obj(f);
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            goto out;
        }
        if (!cJSON_AddBoolToObject(o, "ready", ok) || !cJSON_AddStringToObject(o, "reason", reason))
            goto out;
    }
    text = cJSON_PrintUnformatted(root);
out:
    cJSON_Delete(root);
    return text;
}

bool lc_wire_add_codec(cJSON *parent, lc_server *srv)
{
    /* Every stream's encoder has the same settings (one --frame-ms, --bitrate) */
    lc_opus_encoder *enc = srv->feeds[0].enc;
    const lc_opus_config *oc = lc_opus_get_config(enc);
    lc_opus_stats st;
    lc_opus_get_stats(enc, &st);
    cJSON *o = cJSON_AddObjectToObject(parent, "codec");
    return o && cJSON_AddStringToObject(o, "name", "opus") &&
           cJSON_AddNumberToObject(o, "sample_rate", LC_OPUS_RATE) &&
           cJSON_AddNumberToObject(o, "channels", oc->channels) &&
           cJSON_AddNumberToObject(o, "frame_samples", lc_opus_frame_samples(enc)) &&
           cJSON_AddNumberToObject(o, "frame_ms", oc->frame_us / 1000.0) &&
           cJSON_AddNumberToObject(o, "bitrate", oc->bitrate) &&
           cJSON_AddNumberToObject(o, "lookahead", st.lookahead);
}

bool lc_wire_add_sync(cJSON *parent, lc_server *srv)
{
    return cJSON_AddNumberToObject(parent, "sync_ms", srv->cfg.sync_ms) != NULL;
}
