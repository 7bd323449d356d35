/*
 * stream.h — the shared packet ring: one writer (the capture/encoder thread) publishes audio
 * packets already serialized in the wire layout of docs/protocol.md; any number of readers (the
 * lws service thread, one cursor per listener) copy them out. A reader's cursor IS its queue.
 *
 * Why this shape (and not lws_ring or a queue per listener):
 *   - the writer's work is O(1) whatever the listener count, and it never waits: no lock, no
 *     "slowest reader" tail. A reader that falls behind is the only one that loses packets;
 *   - every slot is a fixed-size cell guarded by a seqlock generation number, so a reader copying
 *     a slot while the writer overwrites it sees the generation change and skips ahead: it never
 *     hands out a torn packet and never makes the writer wait;
 *   - packets are stored serialized (24-byte header + Opus bytes), so the send path is one copy
 *     into the connection's LWS_PRE-padded buffer and one lws_write().
 *
 * Cursor rules: a new reader starts at the newest packet (lc_stream_cursor_new). lc_stream_read()
 * hands out the packet at the cursor and advances it. If the cursor is more than `max_lag`
 * packets behind the newest, the reader jumps to the newest packet, reports how many it skipped
 * in *dropped and sets the discontinuity flag (LC_STREAM_FLAG_DISCONTINUITY) in the copy.
 *
 * Threading: lc_stream_publish*() from ONE thread at a time (the writer); lc_stream_read() and the
 * getters from any number of threads concurrently with it. create/destroy with no one else using
 * the ring.
 */
#ifndef LC_STREAM_H
#define LC_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Wire layout of one binary audio message (docs/protocol.md, protocol v1). */
#define LC_STREAM_HEADER_LEN 24u
#define LC_STREAM_KIND_OPUS 1u
#define LC_STREAM_FLAG_DISCONTINUITY 0x01u
#define LC_STREAM_MAX_PAYLOAD 4000u /* = LC_OPUS_MAX_PACKET; the ring does not depend on codec/ */
#define LC_STREAM_MAX_PACKET (LC_STREAM_HEADER_LEN + LC_STREAM_MAX_PAYLOAD)

typedef struct lc_stream_header {
    uint8_t kind;        /* LC_STREAM_KIND_OPUS */
    uint8_t flags;       /* LC_STREAM_FLAG_* */
    uint16_t header_len; /* 24 in v1 */
    uint32_t seq;        /* packet sequence number, wraps */
    uint64_t pts;        /* first sample, 48 kHz samples since the encoder started */
    uint64_t capture_ns; /* CLOCK_MONOTONIC capture time of the first sample */
} lc_stream_header;

/* Serializes a v1 header (little-endian) into out[0..23]. */
void lc_stream_header_write(uint8_t out[LC_STREAM_HEADER_LEN], uint8_t flags, uint32_t seq,
                            uint64_t pts, uint64_t capture_ns);
/* Parses a header; LC_ERR_PARSE if len < 24, header_len < 24 or header_len > len. */
int lc_stream_header_parse(const uint8_t *buf, size_t len, lc_stream_header *out);

typedef struct lc_stream_config {
    uint32_t slots;      /* power of two, 8..65536; default 1024 */
    uint32_t max_lag;    /* packets a reader may fall behind before it skips; 1..slots/2;
                          * default slots/2 (the server sets it from --max-lag-ms) */
    uint32_t max_packet; /* largest serialized packet, header included, 25..LC_STREAM_MAX_PACKET;
                          * default LC_STREAM_MAX_PACKET */
} lc_stream_config;

void lc_stream_config_default(lc_stream_config *cfg);
/* LC_ERR_INVALID with the field named in errbuf if a value is out of range. */
int lc_stream_config_check(const lc_stream_config *cfg, char *errbuf, size_t errlen);
/* Smallest power of two >= n, at least 8 and at most 65536 (a ring sizing helper). */
uint32_t lc_stream_slots_for(uint32_t n);

typedef struct lc_stream lc_stream;

/* Allocates every slot up front: publishing never allocates. */
int lc_stream_create(lc_stream **out, const lc_stream_config *cfg);
void lc_stream_destroy(lc_stream *s);

/* Writer: publishes one serialized packet (len <= max_packet, else LC_ERR_LIMIT). */
int lc_stream_publish(lc_stream *s, const uint8_t *pkt, size_t len);
/* Writer: serializes a v1 audio header (flags 0) in front of `opus` and publishes it. */
int lc_stream_publish_audio(lc_stream *s, uint32_t seq, uint64_t pts, uint64_t capture_ns,
                            const uint8_t *opus, size_t len);

/* Reader: a cursor at the newest packet (the next read returns it, or AGAIN while empty). */
uint64_t lc_stream_cursor_new(const lc_stream *s);

/*
 * Reader: copies the packet at *cursor into out (cap >= max_packet, else LC_ERR_INVALID),
 * sets *len and *dropped (packets skipped before it, 0 normally) and advances *cursor.
 * When *dropped > 0 the copy carries LC_STREAM_FLAG_DISCONTINUITY in its flags byte.
 * Returns 0, or LC_ERR_AGAIN if nothing newer than *cursor has been published (nothing changes).
 */
int lc_stream_read(const lc_stream *s, uint64_t *cursor, uint8_t *out, size_t cap, size_t *len,
                   uint32_t *dropped);

/* Packets published so far (the next packet's ring position). */
uint64_t lc_stream_published(const lc_stream *s);
/* Packets a reader at `cursor` could read now (before any lag skip). */
uint64_t lc_stream_pending(const lc_stream *s, uint64_t cursor);
/* Times a reader found a slot overwritten under it (diagnostic; a reader then skips ahead). */
uint64_t lc_stream_torn_retries(const lc_stream *s);
const lc_stream_config *lc_stream_get_config(const lc_stream *s);

#ifdef __cplusplus
}
#endif
#endif
