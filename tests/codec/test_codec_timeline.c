/*
 * test_codec_timeline.c — sample accounting and the packet clock over 10 simulated minutes at
 * 44.1, 48 and 96 kHz, pushed as fast as the machine goes (complexity 0 keeps it quick).
 *
 * The input clock is perfect (chunk i captured at T0 + i * 10 ms), so every packet's capture_ns
 * must sit at T0 + pts / 48000 s to within the resampler's sub-sample phase, for all 30 000
 * packets: no drift, no jump, no reordering.
 */
#include <inttypes.h>

#include "codec_util.h"
#include "lc_test.h"

#define NS 1000000000ull
#define KEEP_PACKETS 150u /* the first 3 s are decoded for the frequency check */

typedef struct timeline {
    uint64_t packets, next_seq, prev_ns;
    uint32_t frame;
    int bad_seq, bad_pts, not_monotonic, bad_step;
    double max_abs_err_us, max_step_err_us;
    pk_list keep;
} timeline;

static void on_packet(void *user, const lc_opus_packet *p)
{
    timeline *t = user;
    if (p->seq != t->next_seq)
        t->bad_seq++;
    if (p->pts != p->seq * t->frame)
        t->bad_pts++;
    double expect = (double)T0_NS + (double)p->pts * 1e9 / 48000.0;
    double err = fabs((double)p->capture_ns - expect) / 1000.0;
    if (err > t->max_abs_err_us)
        t->max_abs_err_us = err;
    if (t->packets) {
        if (p->capture_ns <= t->prev_ns)
            t->not_monotonic++;
        double step_err = fabs((double)(p->capture_ns - t->prev_ns) - 20e6) / 1000.0;
        if (step_err > t->max_step_err_us)
            t->max_step_err_us = step_err;
        if (step_err > 50)
            t->bad_step++;
    }
    t->prev_ns = p->capture_ns;
    t->next_seq = p->seq + 1;
    t->packets++;
    if (t->keep.n < KEEP_PACKETS)
        pk_collect(&t->keep, p);
}

static void run_rate(uint32_t rate)
{
    lc_opus_config cfg;
    lc_opus_config_default(&cfg);
    cfg.complexity = 0;
    timeline t = {.frame = 960};
    lc_opus_encoder *enc = NULL;
    char err[160];
    CHECK_EQ_INT(lc_opus_create(&enc, &cfg, on_packet, &t, err, sizeof err), 0);
    if (!enc)
        return;

    /* 10 ms chunks hold whole cycles of 1 kHz at all three rates, so one chunk repeats. */
    const size_t chunk = rate / 100;
    float *buf = malloc(chunk * 2 * sizeof(float));
    for (size_t i = 0; i < chunk; i++)
        buf[2 * i] = buf[2 * i + 1] = (float)(0.5 * sin(2 * M_PI * 1000.0 * (double)i / rate));
    lc_format fmt = {rate, 2};
    const size_t chunks = 60000; /* 600 s */
    uint64_t t_start = lc_now_ns();
    int push_errors = 0;
    for (size_t c = 0; c < chunks; c++)
        push_errors += lc_opus_push(enc, &fmt, buf, chunk, T0_NS + (uint64_t)c * 10000000u) != 0;
    double wall = (double)(lc_now_ns() - t_start) / 1e9;

    lc_opus_stats st;
    lc_opus_get_stats(enc, &st);
    uint64_t frames_in = (uint64_t)chunks * chunk;
    uint64_t expect = (uint64_t)llround((double)frames_in * 48000.0 / rate);
    uint64_t got = st.samples_out + st.fifo_samples;
    fprintf(stderr,
            "   %6u Hz: %" PRIu64 " frames in, %" PRIu64 " out (+%u in FIFO) vs %" PRIu64
            " expected, resampler delay %u; %" PRIu64 " packets in %.2f s (%.0fx real time); "
            "capture_ns max error %.1f us, max step error %.1f us\n",
            rate, frames_in, st.samples_out, st.fifo_samples, expect, st.resampler_delay,
            t.packets, wall, 600.0 / wall, t.max_abs_err_us, t.max_step_err_us);
    CHECK_EQ_INT(push_errors, 0);
    CHECK_EQ_INT(st.frames_in, frames_in);
    CHECK_EQ_INT(st.errors, 0);
    CHECK_EQ_INT(st.packets, t.packets);
    CHECK_EQ_INT(st.samples_out, t.packets * 960);
    CHECK(st.fifo_samples < 960);
    /* exact at 48 kHz; otherwise short by the resampler's held-back tail, never more */
    CHECK(got <= expect);
    CHECK(expect - got <= (uint64_t)st.resampler_delay + 1);
    if (rate == 48000)
        CHECK_EQ_INT(got, expect);
    CHECK(t.packets >= 29999);
    CHECK_EQ_INT(t.bad_seq, 0);
    CHECK_EQ_INT(t.bad_pts, 0);
    CHECK_EQ_INT(t.not_monotonic, 0);
    CHECK_EQ_INT(t.bad_step, 0);
    /* one input sample period plus the rounding of the latency figure */
    CHECK(t.max_abs_err_us < 1e6 / rate + 25);

    size_t frames = 0;
    float *pcm = pk_decode(&t.keep, 2, &frames);
    CHECK(pcm != NULL);
    if (pcm) {
        float *left = channel_of(pcm, frames, 2, 0);
        double hz = lc_dsp_dominant_hz(left + 24000, 96000, 48000, 200, 5000);
        CHECK_NEAR(hz, 1000, 2, "frequency at %u Hz", rate);
        free(left);
    }
    free(pcm);
    pk_free(&t.keep);
    free(buf);
    lc_opus_destroy(enc);
}

static void test_timeline_44100(void) { run_rate(44100); }
static void test_timeline_48000(void) { run_rate(48000); }
static void test_timeline_96000(void) { run_rate(96000); }

LC_TEST_MAIN(TEST(test_timeline_44100), TEST(test_timeline_48000), TEST(test_timeline_96000))
