/*
 * codec.c — the encoder tap: any float PCM in, exact 48 kHz Opus packets out.
 *
 * Pipeline for every slice of input (at most SLICE_FRAMES input frames at a time, so the scratch
 * buffers are fixed and nothing is allocated in the steady state):
 *
 *   map channels (N -> out_ch, into `mapped`; skipped when N == out_ch)
 *     -> resample to 48 kHz (speexdsp, into `resampled`; skipped when the input is 48 kHz)
 *     -> copy into the frame FIFO; each time it holds exactly one frame: opus_encode_float
 *     -> packet callback
 *
 * Channel mapping comes *before* resampling so the resampler works on 1 or 2 channels whatever
 * the source has (a 7.1 source costs the same to resample as stereo), and so a change of the
 * input channel count alone never touches the resampler (no glitch at all, only the mix changes).
 *
 * Timeline. The output timeline is the count of 48 kHz samples produced; pts is simply the FIFO's
 * position in it (pts = seq * frame_samples). The resampler is created with skip_zeros, so output
 * sample j is the input at time j / 48000 s after the first input sample of that resampler. On a
 * rate change the old resampler is drained with zeros (exactly its input latency), which emits its
 * held-back tail up to the end of the old input; the new one then starts at the first new input
 * sample. So the timeline stays continuous: the only artefact is the filters' edge effect, about
 * half a filter length (~1 ms) on each side of the switch.
 *
 * Threading: one pushing thread per encoder. The stats are relaxed atomics written only by that
 * thread (load + store, no read-modify-write needed with one writer), so lc_opus_get_stats may run
 * on any thread; its fields are each exact but not a consistent snapshot of one instant.
 */
#include "codec.h"

#include <opus.h>
#include <speex/speex_resampler.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S 1000000000ull
#define MAX_FRAME_SAMPLES 2880u /* 60 ms at 48 kHz */
#define SLICE_FRAMES 1024u      /* input frames mapped per step */
#define OUT_CAP 4096u           /* 48 kHz frames the resampler may write per call */

struct lc_opus_encoder {
    lc_opus_config cfg;
    uint32_t frame_samples; /* per channel, at 48 kHz */
    uint32_t out_ch;
    OpusEncoder *opus;
    lc_opus_packet_fn on_packet;
    void *user;

    /* Current input format; have_fmt is false until the first push and after a failed rebuild,
     * so the next push retries the rebuild instead of running with half-built state. */
    lc_format in_fmt;
    bool have_fmt;
    SpeexResamplerState *rs; /* NULL when the input is already 48 kHz */
    uint32_t rs_latency;     /* speex_resampler_get_output_latency, 48 kHz samples */
    /* The input's mix matrix: out[c] = sum_i coef[c][i] * in[i]. Only used when N != out_ch. */
    float coef[2][LC_MAX_CHANNELS];
    /* CLOCK_MONOTONIC time just past the last consumed input frame: where a drain starts. */
    int64_t in_end_ns;

    uint64_t seq;
    uint64_t pts;
    uint32_t fifo_fill;  /* frames in fifo */
    int64_t fifo_t0_ns;  /* capture time of fifo[0] */
    int lookahead;

    _Atomic uint64_t st_frames_in, st_samples_out, st_packets, st_bytes, st_format_changes,
        st_errors, st_encode_ns;
    _Atomic uint32_t st_resampler_delay, st_fifo;

    float fifo[MAX_FRAME_SAMPLES * 2];
    float mapped[SLICE_FRAMES * 2];
    float resampled[OUT_CAP * 2];
    uint8_t packet[LC_OPUS_MAX_PACKET];
};

/* One writer per counter, so a relaxed load + store is exact and avoids a locked RMW. */
static void stat_add(_Atomic uint64_t *a, uint64_t v)
{
    atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

void lc_opus_config_default(lc_opus_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->frame_us = 20000;
    cfg->bitrate = 128000;
    cfg->complexity = 10;
    cfg->channels = 2;
    cfg->application = LC_OPUS_APP_AUDIO;
    cfg->vbr = true;
    cfg->resample_quality = 5;
}

static bool frame_us_valid(uint32_t us)
{
    static const uint32_t ok[] = {2500, 5000, 10000, 20000, 40000, 60000};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (ok[i] == us)
            return true;
    return false;
}

int lc_opus_config_check(const lc_opus_config *cfg, char *errbuf, size_t errlen)
{
    if (!cfg) {
        lc_errf(errbuf, errlen, "config: NULL");
        return LC_ERR_INVALID;
    }
    if (!frame_us_valid(cfg->frame_us)) {
        lc_errf(errbuf, errlen,
                "frame_us: %u is not one of 2500, 5000, 10000, 20000, 40000, 60000",
                cfg->frame_us);
        return LC_ERR_INVALID;
    }
    if (cfg->bitrate < 6000 || cfg->bitrate > 510000) {
        lc_errf(errbuf, errlen, "bitrate: %d is outside 6000..510000", (int)cfg->bitrate);
        return LC_ERR_INVALID;
    }
    if (cfg->complexity < 0 || cfg->complexity > 10) {
        lc_errf(errbuf, errlen, "complexity: %d is outside 0..10", cfg->complexity);
        return LC_ERR_INVALID;
    }
    if (cfg->channels != 1 && cfg->channels != 2) {
        lc_errf(errbuf, errlen, "channels: %u is not 1 or 2", cfg->channels);
        return LC_ERR_INVALID;
    }
    if (cfg->application != LC_OPUS_APP_AUDIO && cfg->application != LC_OPUS_APP_LOWDELAY) {
        lc_errf(errbuf, errlen, "application: %d is not audio or lowdelay",
                (int)cfg->application);
        return LC_ERR_INVALID;
    }
    if (cfg->resample_quality < 0 || cfg->resample_quality > 10) {
        lc_errf(errbuf, errlen, "resample_quality: %d is outside 0..10", cfg->resample_quality);
        return LC_ERR_INVALID;
    }
    return LC_OK;
}

lc_opus_app lc_opus_app_for_frame(uint32_t frame_us)
{
    return frame_us <= 10000u ? LC_OPUS_APP_LOWDELAY : LC_OPUS_APP_AUDIO;
}

int lc_opus_parse_frame_ms(const char *s, uint32_t *frame_us)
{
    static const struct {
        const char *text;
        uint32_t us;
    } map[] = {{"2.5", 2500}, {"5", 5000}, {"10", 10000}, {"20", 20000}, {"40", 40000},
               {"60", 60000}};
    if (!s || !frame_us)
        return LC_ERR_INVALID;
    /* Exact text only: "20ms", " 20" or "20.0" would be guesses, and a guess in a flag value
     * hides a typo the user should see. */
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (!strcmp(s, map[i].text)) {
            *frame_us = map[i].us;
            return LC_OK;
        }
    }
    return LC_ERR_INVALID;
}

/*
 * The downmix matrix for N > 2 inputs, WAVE/SMPTE order FL FR FC LFE BL BR SL SR (then any
 * further channels alternate left/right). ITU-R BS.775 coefficients: fronts 1, centre and
 * surrounds -3 dB (1/sqrt 2), LFE dropped (its content is below the mains' range and an LFE
 * channel is recorded +10 dB hot, so mixing it in causes boom and clipping). Both rows are then
 * divided by the larger row sum so that even full-scale, fully correlated input cannot exceed
 * 1.0: the price is level (a lone centre comes out at 0.293, -10.7 dB, in 5.1), the gain is
 * that the mix never clips. Mono output is the mean of the two rows.
 */
static void build_downmix(lc_opus_encoder *enc, uint32_t in_ch)
{
    const float m3 = 0.70710678f;
    float l[LC_MAX_CHANNELS] = {0}, r[LC_MAX_CHANNELS] = {0};
    for (uint32_t i = 0; i < in_ch; i++) {
        switch (i) {
        case 0: l[i] = 1.0f; break;
        case 1: r[i] = 1.0f; break;
        case 2: l[i] = m3; r[i] = m3; break;
        case 3: break; /* LFE */
        default:
            if (i % 2 == 0)
                l[i] = m3;
            else
                r[i] = m3;
            break;
        }
    }
    float sl = 0, sr = 0;
    for (uint32_t i = 0; i < in_ch; i++)
        sl += l[i], sr += r[i];
    float norm = 1.0f / (sl > sr ? sl : sr);
    memset(enc->coef, 0, sizeof enc->coef);
    for (uint32_t i = 0; i < in_ch; i++) {
        if (enc->out_ch == 2) {
            enc->coef[0][i] = l[i] * norm;
            enc->coef[1][i] = r[i] * norm;
        } else {
            enc->coef[0][i] = 0.5f * (l[i] + r[i]) * norm;
        }
    }
}

/* Maps n frames of `in` (in_ch channels) to out_ch channels; returns where the result is. */
static const float *map_slice(lc_opus_encoder *enc, const float *in, size_t n)
{
    uint32_t ic = enc->in_fmt.channels, oc = enc->out_ch;
    float *o = enc->mapped;
    if (ic == oc)
        return in;
    if (ic == 1) { /* mono -> stereo: the same signal in both ears, no level change */
        for (size_t f = 0; f < n; f++)
            o[2 * f] = o[2 * f + 1] = in[f];
    } else if (ic == 2) { /* stereo -> mono: the average, so in-phase full scale stays 1.0 */
        for (size_t f = 0; f < n; f++)
            o[f] = 0.5f * (in[2 * f] + in[2 * f + 1]);
    } else {
        for (size_t f = 0; f < n; f++) {
            const float *x = in + f * ic;
            for (uint32_t c = 0; c < oc; c++) {
                float acc = 0;
                for (uint32_t i = 0; i < ic; i++)
                    acc += enc->coef[c][i] * x[i];
                o[f * oc + c] = acc;
            }
        }
    }
    return o;
}

static int encode_frame(lc_opus_encoder *enc)
{
    uint64_t t0 = lc_now_ns();
    opus_int32 n = opus_encode_float(enc->opus, enc->fifo, (int)enc->frame_samples, enc->packet,
                                     (opus_int32)LC_OPUS_MAX_PACKET);
    stat_add(&enc->st_encode_ns, lc_now_ns() - t0);

    lc_opus_packet pkt = {
        .seq = enc->seq,
        .pts = enc->pts,
        .capture_ns = enc->fifo_t0_ns > 0 ? (uint64_t)enc->fifo_t0_ns : 0,
        .frame_samples = enc->frame_samples,
        .channels = enc->out_ch,
        .data = enc->packet,
        .len = n > 0 ? (size_t)n : 0,
    };
    /* seq and pts advance even for a failed frame: the receiver then sees a seq gap (a drop)
     * and pts = seq * frame_samples keeps holding, instead of time silently slipping. */
    enc->seq++;
    enc->pts += enc->frame_samples;
    stat_add(&enc->st_samples_out, enc->frame_samples);
    if (n < 0) {
        stat_add(&enc->st_errors, 1);
        lc_log(LC_LOG_ERROR, "codec", "opus_encode_float: %s", opus_strerror(n));
        return LC_ERR_CODEC;
    }
    stat_add(&enc->st_packets, 1);
    stat_add(&enc->st_bytes, pkt.len);
    enc->on_packet(enc->user, &pkt);
    return LC_OK;
}

/*
 * Appends n 48 kHz frames whose first has capture time t_first_ns (each next one 1/48000 s
 * later); encodes every frame that completes. Keeps going after an encode error so the
 * timeline never stalls; returns the last error.
 */
static int fifo_write(lc_opus_encoder *enc, const float *s, size_t n, int64_t t_first_ns)
{
    int rc = LC_OK;
    uint32_t ch = enc->out_ch;
    size_t k = 0;
    while (k < n) {
        if (enc->fifo_fill == 0)
            enc->fifo_t0_ns = t_first_ns + (int64_t)((uint64_t)k * NS_PER_S / LC_OPUS_RATE);
        size_t take = enc->frame_samples - enc->fifo_fill;
        if (take > n - k)
            take = n - k;
        memcpy(enc->fifo + (size_t)enc->fifo_fill * ch, s + k * ch, take * ch * sizeof(float));
        enc->fifo_fill += (uint32_t)take;
        k += take;
        if (enc->fifo_fill == enc->frame_samples) {
            enc->fifo_fill = 0;
            int e = encode_frame(enc);
            if (e < 0)
                rc = e;
        }
    }
    return rc;
}

/*
 * Runs `n` input frames (or, with in == NULL, n frames of zeros) through the resampler into the
 * FIFO. `end0_ns` is the capture time just past the frame before in[0].
 *
 * Why the capture time of resampled output is what it is: speexdsp can only compute an output
 * sample once it holds the input half a filter beyond it, so after consuming input up to time
 * T_end the *next* output sample it would produce corresponds to input time
 * T_end - latency / 48000 s, where latency = speex_resampler_get_output_latency (half the filter,
 * in output samples). A call that consumed input up to T_end and produced p samples therefore
 * produced the samples at T_end - (latency + p - k) / 48000 for k = 0..p-1. This is exact to
 * within one input sample period (the resampler's fractional phase), and holds whether a call is
 * limited by input or by output space, because speexdsp reports as consumed exactly the input
 * up to the next output's filter window.
 */
static int resample_into_fifo(lc_opus_encoder *enc, const float *in, size_t n, int64_t end0_ns)
{
    int rc = LC_OK;
    uint32_t rate = enc->in_fmt.rate, ch = enc->out_ch;
    size_t done = 0;
    while (done < n) {
        spx_uint32_t in_len = (spx_uint32_t)(n - done), out_len = OUT_CAP;
        int err = speex_resampler_process_interleaved_float(enc->rs, in ? in + done * ch : NULL,
                                                            &in_len, enc->resampled, &out_len);
        if (err != RESAMPLER_ERR_SUCCESS) {
            stat_add(&enc->st_errors, 1);
            return LC_ERR_CODEC;
        }
        done += in_len;
        int64_t t_end = end0_ns + (int64_t)((uint64_t)done * NS_PER_S / rate);
        int64_t t_first =
            t_end - (int64_t)((uint64_t)(enc->rs_latency + out_len) * NS_PER_S / LC_OPUS_RATE);
        int e = fifo_write(enc, enc->resampled, out_len, t_first);
        if (e < 0)
            rc = e;
        if (in_len == 0 && out_len == 0)
            break; /* cannot happen with a working resampler; never spin */
    }
    return rc;
}

/* Flushes the old resampler's held-back tail (its input latency worth of zeros pushes out the
 * last real samples) so a rate change loses no audio and leaves no hole in the timeline. */
static int drain_resampler(lc_opus_encoder *enc)
{
    if (!enc->rs)
        return LC_OK;
    int zeros = speex_resampler_get_input_latency(enc->rs);
    return zeros > 0 ? resample_into_fifo(enc, NULL, (size_t)zeros, enc->in_end_ns) : LC_OK;
}

static int set_format(lc_opus_encoder *enc, const lc_format *fmt)
{
    int rc = LC_OK;
    bool rate_changed = !enc->have_fmt || fmt->rate != enc->in_fmt.rate;
    if (enc->have_fmt)
        stat_add(&enc->st_format_changes, 1);
    if (rate_changed) {
        if (enc->have_fmt)
            rc = drain_resampler(enc); /* an encode error here must not block the switch */
        if (enc->rs)
            speex_resampler_destroy(enc->rs);
        enc->rs = NULL;
        enc->rs_latency = 0;
        enc->have_fmt = false;
        if (fmt->rate != LC_OPUS_RATE) {
            int err = 0;
            enc->rs = speex_resampler_init(enc->out_ch, fmt->rate, LC_OPUS_RATE,
                                           enc->cfg.resample_quality, &err);
            if (!enc->rs) {
                lc_log(LC_LOG_ERROR, "codec", "speex_resampler_init %u -> 48000: %s", fmt->rate,
                       speex_resampler_strerror(err));
                return err == RESAMPLER_ERR_ALLOC_FAILED ? LC_ERR_NOMEM : LC_ERR_CODEC;
            }
            /* Start aligned with the input: see the timeline note at the top. */
            speex_resampler_skip_zeros(enc->rs);
            int lat = speex_resampler_get_output_latency(enc->rs);
            enc->rs_latency = lat > 0 ? (uint32_t)lat : 0;
        }
        atomic_store_explicit(&enc->st_resampler_delay, enc->rs_latency, memory_order_relaxed);
    }
    if (fmt->channels > 2)
        build_downmix(enc, fmt->channels);
    enc->in_fmt = *fmt;
    enc->have_fmt = true;
    return rc;
}

int lc_opus_create(lc_opus_encoder **out, const lc_opus_config *cfg, lc_opus_packet_fn on_packet,
                   void *user, char *errbuf, size_t errlen)
{
    lc_opus_encoder *enc = NULL;
    int rc;
    if (!out || !on_packet) {
        lc_errf(errbuf, errlen, "lc_opus_create: %s is NULL", !out ? "out" : "on_packet");
        return LC_ERR_INVALID;
    }
    *out = NULL;
    rc = lc_opus_config_check(cfg, errbuf, errlen);
    if (rc < 0)
        return rc;

    enc = calloc(1, sizeof *enc);
    if (!enc) {
        lc_errf(errbuf, errlen, "out of memory");
        rc = LC_ERR_NOMEM;
        goto fail;
    }
    enc->cfg = *cfg;
    enc->out_ch = cfg->channels;
    enc->frame_samples = (uint32_t)((uint64_t)cfg->frame_us * LC_OPUS_RATE / 1000000u);
    enc->on_packet = on_packet;
    enc->user = user;

    int app = cfg->application == LC_OPUS_APP_LOWDELAY ? OPUS_APPLICATION_RESTRICTED_LOWDELAY
                                                       : OPUS_APPLICATION_AUDIO;
    int err = OPUS_OK;
    enc->opus = opus_encoder_create((opus_int32)LC_OPUS_RATE, (int)enc->out_ch, app, &err);
    if (!enc->opus) {
        lc_errf(errbuf, errlen, "opus_encoder_create: %s", opus_strerror(err));
        rc = err == OPUS_ALLOC_FAIL ? LC_ERR_NOMEM : LC_ERR_CODEC;
        goto fail;
    }
    /* FEC and DTX off: the stream runs over TCP (no loss to conceal), and DTX would make packet
     * timing irregular for music with pauses, which the players' jitter buffers read as a stall. */
    if (opus_encoder_ctl(enc->opus, OPUS_SET_BITRATE(cfg->bitrate)) != OPUS_OK ||
        opus_encoder_ctl(enc->opus, OPUS_SET_COMPLEXITY(cfg->complexity)) != OPUS_OK ||
        opus_encoder_ctl(enc->opus, OPUS_SET_VBR(cfg->vbr ? 1 : 0)) != OPUS_OK ||
        opus_encoder_ctl(enc->opus, OPUS_SET_VBR_CONSTRAINT(0)) != OPUS_OK ||
        opus_encoder_ctl(enc->opus, OPUS_SET_INBAND_FEC(0)) != OPUS_OK ||
        opus_encoder_ctl(enc->opus, OPUS_SET_DTX(0)) != OPUS_OK ||
        opus_encoder_ctl(enc->opus, OPUS_SET_PACKET_LOSS_PERC(0)) != OPUS_OK ||
        opus_encoder_ctl(enc->opus, OPUS_SET_SIGNAL(OPUS_SIGNAL_MUSIC)) != OPUS_OK ||
        opus_encoder_ctl(enc->opus, OPUS_GET_LOOKAHEAD(&enc->lookahead)) != OPUS_OK) {
        lc_errf(errbuf, errlen, "opus_encoder_ctl failed");
        rc = LC_ERR_CODEC;
        goto fail;
    }
    *out = enc;
    return LC_OK;

fail:
    lc_opus_destroy(enc);
    return rc;
}

typedef struct silence_out {
    uint8_t *out;
    size_t cap, len;
    int rc;
} silence_out;

static void keep_packet(void *user, const lc_opus_packet *pkt)
{
    silence_out *s = user;
    s->rc = pkt->len <= s->cap ? 0 : LC_ERR_LIMIT;
    if (!s->rc) {
        memcpy(s->out, pkt->data, pkt->len);
        s->len = pkt->len;
    }
}

int lc_opus_silence_packet(const lc_opus_config *cfg, uint8_t *out, size_t cap, size_t *len,
                           char *errbuf, size_t errlen)
{
    silence_out s = {.out = out, .cap = cap, .rc = LC_ERR_CODEC};
    lc_opus_encoder *enc;
    int rc = lc_opus_create(&enc, cfg, keep_packet, &s, errbuf, errlen);
    if (rc)
        return rc;
    /* three frames: the last is the encoder's steady state for silence, past its lookahead */
    size_t n = 3u * enc->frame_samples;
    float *zeros = calloc(n * enc->out_ch, sizeof *zeros);
    lc_format fmt = {LC_OPUS_RATE, enc->out_ch};
    rc = zeros ? lc_opus_push(enc, &fmt, zeros, n, 0) : LC_ERR_NOMEM;
    free(zeros);
    lc_opus_destroy(enc);
    if (!rc)
        rc = s.rc;
    if (rc)
        lc_errf(errbuf, errlen, "a packet of silence: %s", lc_strerror(rc));
    *len = rc ? 0 : s.len;
    return rc;
}

void lc_opus_destroy(lc_opus_encoder *enc)
{
    if (!enc)
        return;
    if (enc->rs)
        speex_resampler_destroy(enc->rs);
    if (enc->opus)
        opus_encoder_destroy(enc->opus);
    free(enc);
}

int lc_opus_push(lc_opus_encoder *enc, const lc_format *fmt, const float *pcm, size_t frames,
                 uint64_t capture_ns)
{
    if (!enc)
        return LC_ERR_INVALID;
    if (!fmt || !lc_format_valid(fmt) || (!pcm && frames)) {
        stat_add(&enc->st_errors, 1);
        return LC_ERR_INVALID;
    }
    if (frames == 0)
        return LC_OK;
    int rc = LC_OK;
    if (!enc->have_fmt || fmt->rate != enc->in_fmt.rate || fmt->channels != enc->in_fmt.channels) {
        rc = set_format(enc, fmt);
        if (!enc->have_fmt) {
            stat_add(&enc->st_errors, 1);
            return rc; /* the input is dropped; the next push retries the rebuild */
        }
    }
    stat_add(&enc->st_frames_in, frames);

    uint32_t ic = fmt->channels, rate = fmt->rate;
    int64_t chunk_ns = (int64_t)capture_ns;
    for (size_t done = 0; done < frames;) {
        size_t n = frames - done;
        if (n > SLICE_FRAMES)
            n = SLICE_FRAMES;
        const float *src = map_slice(enc, pcm + done * ic, n);
        int64_t t0 = chunk_ns + (int64_t)((uint64_t)done * NS_PER_S / rate);
        int e = enc->rs ? resample_into_fifo(enc, src, n, t0) : fifo_write(enc, src, n, t0);
        if (e < 0)
            rc = e;
        done += n;
    }
    enc->in_end_ns = chunk_ns + (int64_t)((uint64_t)frames * NS_PER_S / rate);
    atomic_store_explicit(&enc->st_fifo, enc->fifo_fill, memory_order_relaxed);
    return rc;
}

void lc_opus_tap(void *user, const lc_format *fmt, const float *pcm, size_t frames,
                 uint64_t capture_ns)
{
    /* Errors are already counted in stats by lc_opus_push; a tap has no one to return them to. */
    (void)lc_opus_push(user, fmt, pcm, frames, capture_ns);
}

void lc_opus_get_stats(const lc_opus_encoder *enc, lc_opus_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!enc)
        return;
    out->frames_in = atomic_load_explicit(&enc->st_frames_in, memory_order_relaxed);
    out->samples_out = atomic_load_explicit(&enc->st_samples_out, memory_order_relaxed);
    out->packets = atomic_load_explicit(&enc->st_packets, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&enc->st_bytes, memory_order_relaxed);
    out->format_changes = atomic_load_explicit(&enc->st_format_changes, memory_order_relaxed);
    out->errors = atomic_load_explicit(&enc->st_errors, memory_order_relaxed);
    out->encode_ns_total = atomic_load_explicit(&enc->st_encode_ns, memory_order_relaxed);
    out->lookahead = enc->lookahead > 0 ? (uint32_t)enc->lookahead : 0;
    out->resampler_delay = atomic_load_explicit(&enc->st_resampler_delay, memory_order_relaxed);
    out->fifo_samples = atomic_load_explicit(&enc->st_fifo, memory_order_relaxed);
}

const lc_opus_config *lc_opus_get_config(const lc_opus_encoder *enc)
{
    return enc ? &enc->cfg : NULL;
}

uint32_t lc_opus_frame_samples(const lc_opus_encoder *enc)
{
    return enc ? enc->frame_samples : 0;
}
