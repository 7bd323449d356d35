/*
 * codec.h — the encoder tap: any float PCM in, exact 48 kHz Opus packets out.
 *
 *   channel map (N -> 1 or 2) -> resample to 48 kHz (speexdsp) -> re-block to exact frames ->
 *   opus_encode_float -> packet {seq, pts, capture_ns, bytes} -> the packet callback
 *
 * lc_opus_push() has the same shape as a capture tap, so lc_opus_tap can be registered directly
 * with lc_capture_add_tap(cap, lc_opus_tap, enc). Input may arrive in any chunk size (1 frame or
 * 100 000) and any format; the format may change between two calls (the resampler is rebuilt, the
 * packet sequence and pts run on, at most one frame of audio is affected).
 *
 * Packets: seq counts from 0 by one; pts is the index of the packet's first sample in the 48 kHz
 * output timeline (pts(n+1) = pts(n) + frame_samples, no gaps, no overlaps); capture_ns is the
 * CLOCK_MONOTONIC capture time of that first sample (resampler delay accounted for).
 *
 * Threading: one encoder is used by one thread at a time (the capture thread). The packet
 * callback runs on that thread inside lc_opus_push(); the packet bytes are valid only during the
 * callback, and the callback must not call lc_opus_push() on the same encoder. No allocation
 * happens in lc_opus_push() except when the input rate changes (the resampler is rebuilt).
 * lc_opus_get_stats() may be called from any thread at any time: the counters are relaxed
 * atomics (each field exact, the set not one atomic snapshot). lc_opus_get_config() and
 * lc_opus_frame_samples() are immutable after create and safe from any thread too.
 *
 * Channel mapping (before resampling): 1 -> 2 duplicates, 2 -> 1 averages, N > 2 is read as
 * WAVE/SMPTE order FL FR FC LFE BL BR SL SR (further channels alternate L/R) and downmixed with
 * ITU-R BS.775 gains (centre and surrounds -3 dB, LFE dropped), normalised so that full-scale
 * correlated input never exceeds 1.0. See docs/codec.md.
 */
#ifndef LC_CODEC_H
#define LC_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LC_OPUS_RATE 48000u
#define LC_OPUS_MAX_PACKET 4000u /* bytes; libopus's recommended upper bound per frame */

typedef enum {
    LC_OPUS_APP_AUDIO = 0,      /* OPUS_APPLICATION_AUDIO: best quality, 6.5 ms lookahead */
    LC_OPUS_APP_LOWDELAY,       /* OPUS_APPLICATION_RESTRICTED_LOWDELAY: 2.5 ms lookahead */
} lc_opus_app;

typedef struct lc_opus_config {
    uint32_t frame_us;   /* 2500, 5000, 10000, 20000 (default), 40000, 60000 */
    int32_t bitrate;     /* bits/s, 6000..510000; default 128000 */
    int complexity;      /* 0..10; default 10 */
    uint32_t channels;   /* output channels, 1 or 2 (default 2); input is mapped to it */
    lc_opus_app application; /* default LC_OPUS_APP_AUDIO */
    bool vbr;            /* default true (constrained VBR off) */
    int resample_quality;/* speexdsp quality 0..10; default 5 */
} lc_opus_config;

/* Fills the defaults above. (FEC and DTX are always off: the stream is music over TCP.) */
void lc_opus_config_default(lc_opus_config *cfg);
/* Checks every field; on failure returns LC_ERR_INVALID and names the field in errbuf. */
int lc_opus_config_check(const lc_opus_config *cfg, char *errbuf, size_t errlen);
/* Parses "--frame-ms" text, exactly one of "2.5", "5", "10", "20", "40", "60", into
 * microseconds; anything else (or NULL) is LC_ERR_INVALID and leaves *frame_us untouched. */
int lc_opus_parse_frame_ms(const char *s, uint32_t *frame_us);
/* The application for a frame length: whoever asks for frames of 10 ms or less asks for latency,
 * so RESTRICTED_LOWDELAY (CELT only, 2.5 ms lookahead instead of 6.5); it gives up SILK, which
 * matters for speech at low bitrates, while music at the default bitrate is CELT either way. */
lc_opus_app lc_opus_app_for_frame(uint32_t frame_us);

typedef struct lc_opus_packet {
    uint64_t seq;          /* 0, 1, 2, ... */
    uint64_t pts;          /* first sample, in 48 kHz samples since the encoder started */
    uint64_t capture_ns;   /* CLOCK_MONOTONIC capture time of the first sample */
    uint32_t frame_samples;/* samples per channel in this packet, at 48 kHz */
    uint32_t channels;     /* 1 or 2 */
    const uint8_t *data;   /* the Opus packet (valid only during the callback) */
    size_t len;
} lc_opus_packet;

typedef void (*lc_opus_packet_fn)(void *user, const lc_opus_packet *pkt);

typedef struct lc_opus_encoder lc_opus_encoder;

int lc_opus_create(lc_opus_encoder **out, const lc_opus_config *cfg, lc_opus_packet_fn on_packet,
                   void *user, char *errbuf, size_t errlen);
void lc_opus_destroy(lc_opus_encoder *enc);

/*
 * Feeds `frames` interleaved float frames in `fmt`; emits every packet that completes.
 * `capture_ns` is the CLOCK_MONOTONIC capture time of pcm's first frame. Returns 0, or
 * LC_ERR_INVALID (NULL/invalid format, NULL pcm with frames > 0: nothing consumed),
 * LC_ERR_NOMEM/LC_ERR_CODEC (resampler rebuild failed: the chunk is dropped and the next push
 * retries; or an encode failed: that packet is skipped, its seq and pts are still used up).
 * Every error is also counted in stats.errors.
 */
int lc_opus_push(lc_opus_encoder *enc, const lc_format *fmt, const float *pcm, size_t frames,
                 uint64_t capture_ns);

/* Tap adapter: lc_capture_add_tap(cap, lc_opus_tap, enc). Errors are counted in stats. */
void lc_opus_tap(void *user, const lc_format *fmt, const float *pcm, size_t frames,
                 uint64_t capture_ns);

typedef struct lc_opus_stats {
    uint64_t frames_in;       /* input frames pushed, at their own rates */
    uint64_t samples_out;     /* 48 kHz samples handed to the encoder (= packets * frame) */
    uint64_t packets;
    uint64_t bytes;
    uint64_t format_changes;
    uint64_t errors;
    uint64_t encode_ns_total; /* time spent in opus_encode_float */
    uint32_t lookahead;       /* encoder lookahead in 48 kHz samples (OPUS_GET_LOOKAHEAD) */
    uint32_t resampler_delay; /* current resampler latency in 48 kHz output samples (0 at 48k) */
    uint32_t fifo_samples;    /* 48 kHz samples waiting in the frame FIFO (< frame_samples) */
} lc_opus_stats;

void lc_opus_get_stats(const lc_opus_encoder *enc, lc_opus_stats *out);
/* One packet of digital silence encoded with `cfg` (the same frame length, channels and
 * bitrate): what a listener that must keep hearing a stream gets instead of it (an Ogg stream of
 * a muted session: players stall on a gap). *len set; LC_ERR_LIMIT if cap is too small. */
int lc_opus_silence_packet(const lc_opus_config *cfg, uint8_t *out, size_t cap, size_t *len,
                           char *errbuf, size_t errlen);
/* The config in use (frame_samples = frame_us * 48 / 1000). */
const lc_opus_config *lc_opus_get_config(const lc_opus_encoder *enc);
uint32_t lc_opus_frame_samples(const lc_opus_encoder *enc);

#ifdef __cplusplus
}
#endif
#endif
