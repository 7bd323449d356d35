/*
 * test_tone.c — tone: pacing on absolute deadlines (10 s of audio in 10 s of wall time, within a
 * period), capture_ns stepping by exactly frames/rate, no chunk handed out before its last frame
 * is due, the frequency and level of the signal, and the rate/channels options.
 */
#include "capture.h"
#include "lc_dsp.h"
#include "lc_test.h"

#include <stdatomic.h>
#include <unistd.h>

typedef struct {
    uint64_t first_ns, next_ns, frames, calls, early, steps_wrong, max_late_ns;
    uint64_t min_late_tail_ns; /* least lateness over the last second of the run */
    uint64_t tail_from_ns;
    uint64_t first_call_ns, last_call_ns;
    lc_format fmt;
    float *keep;
    size_t keep_cap, kept;
} pace;

static void pace_tap(void *user, const lc_format *fmt, const float *pcm, size_t frames,
                     uint64_t capture_ns)
{
    pace *p = user;
    uint64_t now = lc_now_ns();
    if (p->calls == 0) {
        p->first_ns = capture_ns;
        p->first_call_ns = now;
        p->fmt = *fmt;
    } else if (capture_ns != p->next_ns) {
        p->steps_wrong++;
    }
    uint64_t end = capture_ns + frames * 1000000000ull / fmt->rate;
    if (now < end)
        p->early++; /* handed out before its last frame was "captured" */
    else {
        if (now - end > p->max_late_ns)
            p->max_late_ns = now - end;
        if (p->tail_from_ns && capture_ns >= p->tail_from_ns && now - end < p->min_late_tail_ns)
            p->min_late_tail_ns = now - end;
    }
    p->next_ns = end;
    p->frames += frames;
    p->calls++;
    p->last_call_ns = now;
    size_t n = frames * fmt->channels;
    if (p->kept + n <= p->keep_cap) {
        memcpy(p->keep + p->kept, pcm, n * sizeof *pcm);
        p->kept += n;
    }
}

static void ten_seconds(void)
{
    char err[128];
    lc_capture *cap;
    static float keep[48000 * 2 * 2];
    uint64_t t0 = lc_now_ns();
    pace p = {.keep = keep, .keep_cap = sizeof keep / sizeof keep[0],
              .min_late_tail_ns = UINT64_MAX, .tail_from_ns = t0 + 9000000000ull};
    CHECK_EQ_INT(lc_capture_open(&cap, "tone:1000", err, sizeof err), 0);
    CHECK(lc_capture_add_tap(cap, pace_tap, &p) > 0);
    CHECK_EQ_INT(lc_capture_start(cap), 0);
    lc_sleep_until_ns(t0 + 10000000000ull);
    lc_capture_stop(cap);

    /* the timeline starts when the thread opened the tone: within a few ms of start */
    CHECK((p.first_ns - t0) < 50000000);
    /* Scheduling on a loaded machine can delay any one delivery, so lateness is measured, not
     * assumed: the last chunk was handed out `final_late` after its last frame was due. */
    double audio_s = (double)p.frames / 48000.0;
    double final_late = (double)(p.last_call_ns - p.first_ns) / 1e9 - audio_s;
    CHECK(final_late >= 0);
    /* 10 s of wall time (from the tone's first frame to the stop) is 10 s of audio within one
     * period, plus whatever the last delivery was measurably late */
    double late_slack = final_late > 0.005 ? final_late : 0.005;
    CHECK_NEAR(audio_s, (double)(t0 + 10000000000ull - p.first_ns) / 1e9, 0.010 + late_slack,
               "10 s of wall time (final delivery %.1f ms late)", final_late * 1e3);
    /* no drift: in the last second, some chunk was delivered within 5 ms of its deadline. A
     * pacer that sleeps relative periods falls further behind every chunk and fails this. */
    CHECK(p.min_late_tail_ns < 5000000);
    CHECK_EQ_INT(p.steps_wrong, 0); /* capture_ns advances by exactly frames/rate */
    CHECK_EQ_INT(p.early, 0);       /* never ahead of real time */
    CHECK(p.max_late_ns < 1000000000ull);
    CHECK_EQ_INT(p.fmt.rate, 48000);
    CHECK_EQ_INT(p.fmt.channels, 2);
    CHECK_EQ_INT(p.calls * 480, p.frames);

    /* the signal: 1 kHz, amplitude 0.5 (RMS 0.3536), same on both channels */
    size_t n = p.kept / 2;
    float *mono = malloc(n * sizeof *mono);
    int same = 1;
    for (size_t i = 0; i < n; i++) {
        mono[i] = keep[2 * i];
        same &= keep[2 * i] == keep[2 * i + 1];
    }
    CHECK(same);
    CHECK_NEAR(lc_dsp_dominant_hz(mono, n, 48000, 100, 5000), 1000.0, 0.5, "tone frequency");
    CHECK_NEAR(lc_dsp_rms(mono, n), 0.5 / sqrt(2.0), 0.001, "tone RMS");
    free(mono);
    lc_capture_stats st;
    lc_capture_get_stats(cap, &st);
    CHECK_EQ_INT(st.frames, p.frames);
    CHECK_EQ_INT(st.xruns, 0);
    CHECK_EQ_INT(st.silence_frames, 0);
    lc_capture_close(cap);
}

static void options(void)
{
    char err[128];
    lc_capture *cap;
    static float keep[44100];
    pace p = {.keep = keep, .keep_cap = 44100};
    CHECK_EQ_INT(lc_capture_open(&cap, "tone:440?rate=44100&channels=1", err, sizeof err), 0);
    CHECK(lc_capture_add_tap(cap, pace_tap, &p) > 0);
    CHECK_EQ_INT(lc_capture_start(cap), 0);
    usleep(1200000);
    lc_capture_stop(cap);
    CHECK_EQ_INT(p.fmt.rate, 44100);
    CHECK_EQ_INT(p.fmt.channels, 1);
    CHECK_EQ_INT(p.steps_wrong, 0); /* 441 frames at 44.1 kHz is exactly 10 ms */
    CHECK(p.kept >= 44100);
    CHECK_NEAR(lc_dsp_dominant_hz(keep, p.kept, 44100, 100, 5000), 440.0, 0.5, "tone 440");
    lc_capture_close(cap);

    /* default frequency and the state while running */
    CHECK_EQ_INT(lc_capture_open(&cap, "tone", err, sizeof err), 0);
    CHECK_EQ_INT(lc_capture_start(cap), 0);
    usleep(100000);
    CHECK_EQ_INT(lc_capture_get_state(cap), LC_CAPTURE_RUNNING);
    lc_capture_close(cap); /* stops too */
}

LC_TEST_MAIN(TEST(ten_seconds), TEST(options))
