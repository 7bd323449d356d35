/*
 * oggmux.h — Opus packets into an Ogg Opus stream (RFC 7845), framed by libogg: the same packets
 * the WebSocket listeners get, no re-encode, for media players (/stream.ogg) and Icecast.
 *
 * A stream starts with two pages, OpusHead (channels, pre-skip, 48 kHz) and OpusTags (vendor, a
 * TITLE), then one page per packet (flushed at once: a player hears each packet as soon as it is
 * sent; the page costs 27 + 1 bytes a packet). A page's granule position counts the 48 kHz
 * samples of the stream up to the end of its packet, pre-skip included: the caller passes each
 * packet's pts and the muxer counts from the first one, so a skipped stretch (a slow reader)
 * shows as a jump in time, never a rewind.
 *
 * Pure: no I/O, no threads; one mux per output, used by one thread.
 */
#ifndef LC_OGGMUX_H
#define LC_OGGMUX_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LC_OGGMUX_PAGE_MAX (27u + 255u + 65025u) /* one full Ogg page */

typedef struct lc_oggmux lc_oggmux;

typedef struct lc_oggmux_config {
    uint32_t serial;       /* the logical stream's serial number (pick one at random) */
    unsigned channels;     /* 1 or 2 */
    unsigned pre_skip;     /* samples at 48 kHz the decoder drops at the start (encoder lookahead) */
    uint32_t frame_samples;/* samples at 48 kHz per packet */
    const char *title;     /* OpusTags TITLE= (the stream's name); NULL = none */
    const char *vendor;    /* OpusTags vendor string; NULL = "loopcast" */
} lc_oggmux_config;

int lc_oggmux_create(lc_oggmux **out, const lc_oggmux_config *cfg);
void lc_oggmux_destroy(lc_oggmux *m);

/* The header pages (OpusHead, OpusTags) into out[0..cap): their length, or LC_ERR_LIMIT when cap
 * is too small (nothing written). Call once, first. */
long lc_oggmux_headers(lc_oggmux *m, uint8_t *out, size_t cap);
/* One Opus packet whose first sample is at `pts` (48 kHz samples, the encoder's clock) as one
 * page into out[0..cap): its length, or LC_ERR_LIMIT / LC_ERR_INVALID (an empty packet, or a
 * pts before the first one's). */
long lc_oggmux_packet(lc_oggmux *m, const uint8_t *pkt, size_t len, uint64_t pts, uint8_t *out,
                      size_t cap);

#ifdef __cplusplus
}
#endif
#endif
