/*
 * test_codec.c — the encoder tap against real libopus decoding: configuration checks, every
 * frame size, round-trip quality and alignment, input rates, chunking invariance, the channel
 * map, and format changes mid-stream.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>

#include "codec_util.h"
#include "lc_test.h"

#define NS 1000000000ull

/* Pushes `seconds` of per-channel sines (freq[c], amp[c]) in `chunk`-frame pieces. The phase
 * follows absolute time (*t_ns, advanced here), so consecutive segments join seamlessly even
 * across a rate change, as a real source's signal would. */
static void push_tones(lc_opus_encoder *enc, uint32_t rate, uint32_t ch, const double *freq,
                       const double *amp, double seconds, size_t chunk, uint64_t *t_ns)
{
    size_t total = (size_t)llround(seconds * rate);
    float *buf = malloc(chunk * ch * sizeof(float));
    lc_format fmt = {rate, ch};
    uint64_t seg_ns = *t_ns;
    for (size_t done = 0; done < total;) {
        size_t n = total - done < chunk ? total - done : chunk;
        for (size_t i = 0; i < n; i++) {
            double t = (double)(seg_ns - T0_NS) / 1e9 + (double)(done + i) / rate;
            for (uint32_t c = 0; c < ch; c++)
                buf[i * ch + c] = (float)(amp[c] * sin(2 * M_PI * freq[c] * t));
        }
        uint64_t cap = seg_ns + (uint64_t)done * NS / rate;
        CHECK_EQ_INT(lc_opus_push(enc, &fmt, buf, n, cap), 0);
        done += n;
    }
    *t_ns = seg_ns + (uint64_t)total * NS / rate;
    free(buf);
}

static lc_opus_encoder *make(const lc_opus_config *cfg, pk_list *l)
{
    lc_opus_encoder *enc = NULL;
    char err[160] = "";
    int rc = lc_opus_create(&enc, cfg, pk_collect, l, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "lc_opus_create: %s: %s\n", lc_strerror(rc), err);
    CHECK_EQ_INT(rc, 0);
    return enc;
}

/* Every packet numbered in order with pts = seq * frame; returns 1 if so. */
static int check_sequence(const pk_list *l, uint32_t frame)
{
    int ok = 1;
    for (size_t i = 0; i < l->n; i++) {
        if (l->m[i].seq != i || l->m[i].pts != i * (uint64_t)frame ||
            l->m[i].frame_samples != frame) {
            fprintf(stderr, "packet %zu: seq %" PRIu64 " pts %" PRIu64 " frame %u\n", i,
                    l->m[i].seq, l->m[i].pts, l->m[i].frame_samples);
            ok = 0;
            break;
        }
    }
    CHECK(ok);
    return ok;
}

static void test_config_validation(void)
{
    lc_opus_config c;
    char err[160];
    lc_opus_config_default(&c);
    CHECK_EQ_INT(c.frame_us, 20000);
    CHECK_EQ_INT(c.bitrate, 128000);
    CHECK_EQ_INT(c.complexity, 10);
    CHECK_EQ_INT(c.channels, 2);
    CHECK(c.vbr);
    CHECK_EQ_INT(lc_opus_config_check(&c, err, sizeof err), 0);

    static const struct {
        const char *field;
        int which;
        long value;
    } cases[] = {
        {"frame_us", 0, 15000}, {"frame_us", 0, 0},        {"bitrate", 1, 5999},
        {"bitrate", 1, 510001}, {"complexity", 2, -1},     {"complexity", 2, 11},
        {"channels", 3, 0},     {"channels", 3, 3},        {"application", 4, 7},
        {"resample_quality", 5, 11}, {"resample_quality", 5, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lc_opus_config_default(&c);
        switch (cases[i].which) {
        case 0: c.frame_us = (uint32_t)cases[i].value; break;
        case 1: c.bitrate = (int32_t)cases[i].value; break;
        case 2: c.complexity = (int)cases[i].value; break;
        case 3: c.channels = (uint32_t)cases[i].value; break;
        case 4: c.application = (lc_opus_app)cases[i].value; break;
        default: c.resample_quality = (int)cases[i].value; break;
        }
        err[0] = 0;
        CHECK_EQ_INT(lc_opus_config_check(&c, err, sizeof err), LC_ERR_INVALID);
        if (!strstr(err, cases[i].field))
            fprintf(stderr, "message for %s: \"%s\"\n", cases[i].field, err);
        CHECK(strstr(err, cases[i].field) != NULL);
        /* create refuses the same config, with the same message, and leaves *out NULL */
        lc_opus_encoder *enc = (lc_opus_encoder *)&c;
        pk_list l = {0};
        err[0] = 0;
        CHECK_EQ_INT(lc_opus_create(&enc, &c, pk_collect, &l, err, sizeof err), LC_ERR_INVALID);
        CHECK(enc == NULL);
        CHECK(strstr(err, cases[i].field) != NULL);
    }
    CHECK_EQ_INT(lc_opus_config_check(NULL, err, sizeof err), LC_ERR_INVALID);
    lc_opus_config_default(&c);
    lc_opus_encoder *enc = NULL;
    CHECK_EQ_INT(lc_opus_create(&enc, &c, NULL, NULL, err, sizeof err), LC_ERR_INVALID);
    /* bitrate and complexity edges are accepted */
    c.bitrate = 6000;
    c.complexity = 0;
    CHECK_EQ_INT(lc_opus_config_check(&c, NULL, 0), 0);
    c.bitrate = 510000;
    c.complexity = 10;
    CHECK_EQ_INT(lc_opus_config_check(&c, NULL, 0), 0);
}

static void test_parse_frame_ms(void)
{
    static const struct {
        const char *s;
        uint32_t us;
    } good[] = {{"2.5", 2500}, {"5", 5000}, {"10", 10000}, {"20", 20000}, {"40", 40000},
                {"60", 60000}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint32_t us = 0;
        CHECK_EQ_INT(lc_opus_parse_frame_ms(good[i].s, &us), 0);
        CHECK_EQ_INT(us, good[i].us);
    }
    static const char *bad[] = {"", "0", "2", "2.50", "15", "20ms", " 20", "20 ", "100", "-20",
                                "2,5", "abc", "60.0", "120"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint32_t us = 777;
        CHECK_EQ_INT(lc_opus_parse_frame_ms(bad[i], &us), LC_ERR_INVALID);
        CHECK_EQ_INT(us, 777);
    }
    uint32_t us;
    CHECK_EQ_INT(lc_opus_parse_frame_ms(NULL, &us), LC_ERR_INVALID);
    /* --frame-ms 10 and shorter: the low-delay application (2.5 ms lookahead); 20 and longer:
     * audio. The lookaheads themselves are checked in test_frame_sizes. */
    CHECK_EQ_INT(lc_opus_app_for_frame(2500), LC_OPUS_APP_LOWDELAY);
    CHECK_EQ_INT(lc_opus_app_for_frame(5000), LC_OPUS_APP_LOWDELAY);
    CHECK_EQ_INT(lc_opus_app_for_frame(10000), LC_OPUS_APP_LOWDELAY);
    CHECK_EQ_INT(lc_opus_app_for_frame(20000), LC_OPUS_APP_AUDIO);
    CHECK_EQ_INT(lc_opus_app_for_frame(40000), LC_OPUS_APP_AUDIO);
    CHECK_EQ_INT(lc_opus_app_for_frame(60000), LC_OPUS_APP_AUDIO);
}

static void test_frame_sizes(void)
{
    static const uint32_t frames_us[] = {2500, 5000, 10000, 20000, 40000, 60000};
    for (size_t f = 0; f < sizeof frames_us / sizeof frames_us[0]; f++) {
        for (int app = 0; app < 2; app++) {
            for (uint32_t och = 1; och <= 2; och++) {
                lc_opus_config cfg;
                lc_opus_config_default(&cfg);
                cfg.frame_us = frames_us[f];
                cfg.application = app ? LC_OPUS_APP_LOWDELAY : LC_OPUS_APP_AUDIO;
                cfg.channels = och;
                cfg.complexity = 5;
                pk_list l = {0};
                lc_opus_encoder *enc = make(&cfg, &l);
                if (!enc)
                    continue;
                uint32_t fs = frames_us[f] * 48 / 1000;
                CHECK_EQ_INT(lc_opus_frame_samples(enc), fs);
                CHECK_EQ_INT(lc_opus_get_config(enc)->frame_us, frames_us[f]);
                size_t n = 48000;
                float *buf = malloc(n * 2 * sizeof(float));
                uint64_t seed = 1;
                music_fill(buf, n, 2, 48000, 0, &seed);
                lc_format fmt = {48000, 2};
                CHECK_EQ_INT(lc_opus_push(enc, &fmt, buf, n, T0_NS), 0);
                CHECK_EQ_INT(l.n, n / fs);
                check_sequence(&l, fs);
                int bad = 0;
                for (size_t i = 0; i < l.n; i++) {
                    int ns = opus_packet_get_nb_samples(l.bytes + l.m[i].off,
                                                        (opus_int32)l.m[i].len, 48000);
                    int pc = opus_packet_get_nb_channels(l.bytes + l.m[i].off);
                    if (ns != (int)fs || pc != (int)och || l.m[i].channels != och)
                        bad++;
                }
                CHECK_EQ_INT(bad, 0);
                size_t dec_frames = 0;
                float *dec = pk_decode(&l, (int)och, &dec_frames);
                CHECK(dec != NULL);
                CHECK_EQ_INT(dec_frames, l.n * fs);
                lc_opus_stats st;
                lc_opus_get_stats(enc, &st);
                CHECK_EQ_INT(st.packets, l.n);
                CHECK_EQ_INT(st.samples_out, l.n * fs);
                CHECK_EQ_INT(st.fifo_samples, n % fs);
                CHECK_EQ_INT(st.frames_in, n);
                CHECK_EQ_INT(st.bytes, l.nbytes);
                CHECK_EQ_INT(st.errors, 0);
                CHECK_EQ_INT(st.resampler_delay, 0);
                /* documented lookaheads: 6.5 ms for audio, 2.5 ms for restricted low delay */
                CHECK_EQ_INT(st.lookahead, app ? 120 : 312);
                CHECK(st.encode_ns_total > 0);
                free(dec);
                free(buf);
                pk_free(&l);
                lc_opus_destroy(enc);
            }
        }
    }
}

/* 1 kHz at 48 kHz through the default config: frequency and SNR against a fitted sine. */
static void test_round_trip_sine(void)
{
    lc_opus_config cfg;
    lc_opus_config_default(&cfg);
    pk_list l = {0};
    lc_opus_encoder *enc = make(&cfg, &l);
    if (!enc)
        return;
    double freq[2] = {1000, 1000}, amp[2] = {0.5, 0.5};
    uint64_t t = T0_NS;
    push_tones(enc, 48000, 2, freq, amp, 3.0, 480, &t);
    size_t frames = 0;
    float *pcm = pk_decode(&l, 2, &frames);
    CHECK(pcm != NULL);
    if (pcm && frames >= 48000 * 2) {
        float *left = channel_of(pcm, frames, 2, 0);
        /* skip the decoder's first 0.25 s, analyse 2 s (whole cycles) */
        const float *seg = left + 12000;
        double hz = lc_dsp_dominant_hz(seg, 96000, 48000, 200, 5000);
        double snr = sine_fit_snr_db(seg, 96000, 48000, 1000);
        double a = amp_at(seg, 96000, 48000, 1000);
        fprintf(stderr, "   round trip 48k 1 kHz @128 kb/s c10: %.1f Hz, amplitude %.4f, "
                        "SNR %.1f dB\n", hz, a, snr);
        CHECK_NEAR(hz, 1000, 2, "dominant frequency");
        CHECK_NEAR(a, 0.5, 0.5 * 0.06, "amplitude within 0.5 dB");
        CHECK(snr > 30);
        free(left);
    }
    free(pcm);
    pk_free(&l);
    lc_opus_destroy(enc);
}

/*
 * The decoded stream lines up with the input exactly `lookahead` samples late, whatever the input
 * rate (the resampler starts aligned, see codec.c): cross-correlate a non-periodic music-like
 * signal against the same signal generated directly at 48 kHz to find the lag, then measure the
 * aligned waveform SNR. This is what proves pts, the lookahead figure and the resampler alignment.
 */
static void test_alignment_music(void)
{
    static const uint32_t rates[] = {48000, 44100, 96000};
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
        uint32_t rate = rates[r];
        lc_opus_config cfg;
        lc_opus_config_default(&cfg);
        pk_list l = {0};
        lc_opus_encoder *enc = make(&cfg, &l);
        if (!enc)
            return;
        size_t n = (size_t)rate * 3, n48 = 48000 * 3;
        float *in = malloc(n * 2 * sizeof(float)), *ref = malloc(n48 * 2 * sizeof(float));
        uint64_t seed = 42;
        music_fill(in, n, 2, rate, 0, &seed);
        seed = 42;
        music_fill(ref, n48, 2, 48000, 0, &seed); /* same partials; the noise differs (-30 dB) */
        lc_format fmt = {rate, 2};
        size_t chunk = rate / 50;
        for (size_t d = 0; d < n; d += chunk)
            CHECK_EQ_INT(lc_opus_push(enc, &fmt, in + d * 2, chunk, T0_NS + d * NS / rate), 0);
        lc_opus_stats st;
        lc_opus_get_stats(enc, &st);
        size_t frames = 0;
        float *pcm = pk_decode(&l, 2, &frames);
        CHECK(pcm != NULL && frames > 24000 + 48000 + 2000);
        if (pcm && frames > 24000 + 48000 + 2000) {
            float *x = channel_of(ref, n48, 2, 0), *y = channel_of(pcm, frames, 2, 0);
            size_t start = 24000, len = 48000;
            int best_lag = -1;
            double best = -1e300;
            for (int lag = 0; lag < 2000; lag++) {
                double acc = 0;
                for (size_t i = start; i < start + len; i++)
                    acc += (double)x[i] * y[i + (size_t)lag];
                if (acc > best)
                    best = acc, best_lag = lag;
            }
            double ps = 0, pn = 0;
            for (size_t i = start; i < start + len; i++) {
                double e = (double)x[i] - y[i + (size_t)best_lag];
                ps += (double)x[i] * x[i];
                pn += e * e;
            }
            double snr = 10 * log10(ps / pn);
            fprintf(stderr, "   music %u Hz in: lag %d samples (lookahead %u, resampler latency "
                            "%u), aligned waveform SNR %.1f dB\n", rate, best_lag, st.lookahead,
                    st.resampler_delay, snr);
            CHECK_NEAR(best_lag, st.lookahead, rate == 48000 ? 0 : 1, "lag at %u Hz", rate);
            CHECK(snr > 15);
            free(x);
            free(y);
        }
        free(pcm);
        free(in);
        free(ref);
        pk_free(&l);
        lc_opus_destroy(enc);
    }
}

/* 44.1, 48 and 96 kHz inputs (and two odd rates) all come out as 48 kHz at the right pitch. */
static void test_input_rates(void)
{
    static const uint32_t rates[] = {44100, 48000, 96000, 22050, 192000};
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
        lc_opus_config cfg;
        lc_opus_config_default(&cfg);
        pk_list l = {0};
        lc_opus_encoder *enc = make(&cfg, &l);
        if (!enc)
            continue;
        double freq[2] = {1000, 1000}, amp[2] = {0.5, 0.5};
        uint64_t t = T0_NS;
        push_tones(enc, rates[r], 2, freq, amp, 1.5, rates[r] / 50, &t);
        lc_opus_stats st;
        lc_opus_get_stats(enc, &st);
        size_t frames = 0;
        float *pcm = pk_decode(&l, 2, &frames);
        CHECK(pcm != NULL);
        /* 1.5 s in -> 1.5 s out at 48 kHz, less at most the resampler's held-back tail */
        CHECK_NEAR((double)(st.samples_out + st.fifo_samples), 72000, st.resampler_delay + 1,
                   "samples out for rate %u", rates[r]);
        if (pcm) {
            float *left = channel_of(pcm, frames, 2, 0);
            double hz = lc_dsp_dominant_hz(left + 9600, 48000, 48000, 200, 5000);
            double snr = sine_fit_snr_db(left + 9600, 48000, 48000, 1000);
            fprintf(stderr, "   %6u Hz in: %.1f Hz out, SNR %.1f dB, resampler delay %u\n",
                    rates[r], hz, snr, st.resampler_delay);
            CHECK_NEAR(hz, 1000, 2, "frequency for rate %u", rates[r]);
            CHECK(snr > 25);
            if (rates[r] == 48000)
                CHECK_EQ_INT(st.resampler_delay, 0);
            else
                CHECK(st.resampler_delay > 0);
            free(left);
        }
        free(pcm);
        pk_free(&l);
        lc_opus_destroy(enc);
    }
}

/* Random chunk sizes (fixed seed) give byte-identical packets to fixed chunks. */
static void test_chunking(void)
{
    static const uint32_t rates[] = {48000, 44100};
    for (size_t r = 0; r < 2; r++) {
        uint32_t rate = rates[r];
        size_t n = (size_t)rate * 4;
        float *in = malloc(n * 2 * sizeof(float));
        uint64_t seed = 7;
        music_fill(in, n, 2, rate, 0, &seed);
        lc_format fmt = {rate, 2};
        pk_list a = {0}, b = {0};
        lc_opus_config cfg;
        lc_opus_config_default(&cfg);
        lc_opus_encoder *ea = make(&cfg, &a), *eb = make(&cfg, &b);
        if (!ea || !eb)
            return;
        for (size_t d = 0; d < n; d += 480) {
            size_t k = n - d < 480 ? n - d : 480;
            CHECK_EQ_INT(lc_opus_push(ea, &fmt, in + d * 2, k, T0_NS + d * NS / rate), 0);
        }
        uint64_t rs = 12345;
        size_t pushes = 0, one_frame = 0;
        for (size_t d = 0; d < n;) {
            size_t k = 1 + (size_t)(rng_next(&rs) % 4096);
            if (rng_next(&rs) % 8 == 0)
                k = 1 + (size_t)(rng_next(&rs) % 3); /* plenty of tiny pushes too */
            if (k > n - d)
                k = n - d;
            one_frame += k == 1;
            CHECK_EQ_INT(lc_opus_push(eb, &fmt, in + d * 2, k, T0_NS + d * NS / rate), 0);
            d += k;
            pushes++;
        }
        CHECK(one_frame > 0);
        CHECK_EQ_INT(a.n, b.n);
        CHECK(a.n > 150);
        size_t same = 0;
        uint64_t max_dt = 0;
        for (size_t i = 0; i < a.n && i < b.n; i++) {
            if (a.m[i].seq == b.m[i].seq && a.m[i].pts == b.m[i].pts &&
                a.m[i].len == b.m[i].len &&
                !memcmp(a.bytes + a.m[i].off, b.bytes + b.m[i].off, a.m[i].len))
                same++;
            uint64_t dt = a.m[i].capture_ns > b.m[i].capture_ns
                              ? a.m[i].capture_ns - b.m[i].capture_ns
                              : b.m[i].capture_ns - a.m[i].capture_ns;
            if (dt > max_dt)
                max_dt = dt;
        }
        fprintf(stderr, "   %u Hz: %zu random pushes, %zu/%zu packets identical, capture_ns "
                        "differs by at most %" PRIu64 " ns\n", rate, pushes, same, a.n, max_dt);
        CHECK_EQ_INT(same, a.n);
        /* capture times agree to within one input sample's rounding */
        CHECK(max_dt <= NS / rate + 1000);
        lc_opus_destroy(ea);
        lc_opus_destroy(eb);
        pk_free(&a);
        pk_free(&b);
        free(in);
    }
}

/* The channel map's gains, measured through the codec (amplitudes to ~0.3 dB). */
static void test_channel_map(void)
{
    /* stereo -> mono: the average */
    {
        lc_opus_config cfg;
        lc_opus_config_default(&cfg);
        cfg.channels = 1;
        pk_list l = {0};
        lc_opus_encoder *enc = make(&cfg, &l);
        double freq[2] = {1000, 3000}, amp[2] = {0.4, 0.4};
        uint64_t t = T0_NS;
        push_tones(enc, 48000, 2, freq, amp, 1.5, 960, &t);
        size_t frames = 0;
        float *pcm = pk_decode(&l, 1, &frames);
        CHECK(pcm != NULL && frames >= 72000);
        if (pcm) {
            double a1 = amp_at(pcm + 9600, 48000, 48000, 1000),
                   a3 = amp_at(pcm + 9600, 48000, 48000, 3000);
            fprintf(stderr, "   stereo->mono: 1 kHz %.3f, 3 kHz %.3f (expect 0.200 each)\n",
                    a1, a3);
            CHECK_NEAR(a1, 0.2, 0.02, "L half");
            CHECK_NEAR(a3, 0.2, 0.02, "R half");
        }
        free(pcm);
        pk_free(&l);
        lc_opus_destroy(enc);
    }
    /* 5.1 -> stereo: FL 1 kHz, FR 1.5 kHz, FC 2 kHz, LFE 100 Hz, BL 2.5 kHz, BR 3 kHz */
    {
        lc_opus_config cfg;
        lc_opus_config_default(&cfg);
        pk_list l = {0};
        lc_opus_encoder *enc = make(&cfg, &l);
        double freq[6] = {1000, 1500, 2000, 100, 2500, 3000};
        double amp[6] = {0.6, 0.6, 0.6, 0.9, 0.6, 0.6};
        uint64_t t = T0_NS;
        push_tones(enc, 48000, 6, freq, amp, 1.5, 480, &t);
        size_t frames = 0;
        float *pcm = pk_decode(&l, 2, &frames);
        CHECK(pcm != NULL && frames >= 72000);
        if (pcm) {
            float *L = channel_of(pcm, frames, 2, 0), *R = channel_of(pcm, frames, 2, 1);
            const double norm = 1.0 / (1.0 + 2.0 * M_SQRT1_2);
            const double front = 0.6 * norm, side = 0.6 * M_SQRT1_2 * norm;
            double l1 = amp_at(L + 9600, 48000, 48000, 1000), r1 = amp_at(R + 9600, 48000, 48000, 1000);
            double l15 = amp_at(L + 9600, 48000, 48000, 1500), r15 = amp_at(R + 9600, 48000, 48000, 1500);
            double l2 = amp_at(L + 9600, 48000, 48000, 2000), r2 = amp_at(R + 9600, 48000, 48000, 2000);
            double l25 = amp_at(L + 9600, 48000, 48000, 2500), r3 = amp_at(R + 9600, 48000, 48000, 3000);
            double lfe = amp_at(L + 9600, 48000, 48000, 100) + amp_at(R + 9600, 48000, 48000, 100);
            fprintf(stderr, "   5.1->stereo: FL %.3f/%.3f FR %.3f/%.3f FC %.3f/%.3f BL %.3f "
                            "BR %.3f LFE %.4f (expect front %.3f, centre/surround %.3f, 0)\n",
                    l1, r1, l15, r15, l2, r2, l25, r3, lfe, front, side);
            CHECK_NEAR(l1, front, front * 0.07, "FL -> L");
            CHECK(r1 < 0.01);
            CHECK_NEAR(r15, front, front * 0.07, "FR -> R");
            CHECK(l15 < 0.01);
            CHECK_NEAR(l2, side, side * 0.07, "FC -> L");
            CHECK_NEAR(r2, side, side * 0.07, "FC -> R");
            CHECK_NEAR(l25, side, side * 0.07, "BL -> L");
            CHECK_NEAR(r3, side, side * 0.07, "BR -> R");
            CHECK(lfe < 0.01);
            free(L);
            free(R);
        }
        free(pcm);
        pk_free(&l);
        lc_opus_destroy(enc);
    }
}

/*
 * Deviation from one global sine: the input's phase follows absolute time through every switch,
 * so a glitch-free output is a single 1 kHz sine from start to end. Fits it (least squares over
 * x[0..n)), then looks at the residual's RMS in 1 ms blocks: a block is "off" when the residual
 * exceeds `tol` of the level. Returns the span (first to last off block, in ms) within
 * ±window_ms of `at`, and the count of off blocks anywhere else. A dropout, a splice (phase jump)
 * or a level step all show up here; coding noise (~45 dB down) does not.
 */
static void glitch_near(const float *x, size_t n, size_t at, double level, double tol,
                        size_t window_ms, size_t *span_ms, size_t *elsewhere, double *worst)
{
    double w = 2.0 * M_PI * 1000.0 / 48000.0, sc = 0, ss = 0;
    for (size_t i = 0; i < n; i++) {
        sc += x[i] * cos(w * (double)i);
        ss += x[i] * sin(w * (double)i);
    }
    double a = 2.0 * sc / (double)n, b = 2.0 * ss / (double)n;
    size_t first = SIZE_MAX, last = 0;
    *elsewhere = 0;
    *worst = 0;
    for (size_t blk = 0; (blk + 1) * 48 <= n; blk++) {
        double e2 = 0;
        for (size_t i = blk * 48; i < (blk + 1) * 48; i++) {
            double r = x[i] - (a * cos(w * (double)i) + b * sin(w * (double)i));
            e2 += r * r;
        }
        double rel = sqrt(e2 / 48.0) / level;
        if (rel > *worst)
            *worst = rel;
        if (rel <= tol)
            continue;
        size_t pos = blk * 48;
        if (pos + window_ms * 48 >= at && pos <= at + window_ms * 48) {
            if (first == SIZE_MAX)
                first = blk;
            last = blk;
        } else {
            (*elsewhere)++;
        }
    }
    *span_ms = first == SIZE_MAX ? 0 : last - first + 1;
}

/*
 * Format changes mid-stream: 44.1k -> 48k -> 96k (stereo), mono, 5.1, then 44.1k 5.1 and back
 * to 48k stereo. The 1 kHz tone has the same output level in every segment (the 5.1 segments
 * carry it in all five mains, which the normalised downmix maps to unity, and a loud 50 Hz tone
 * in the LFE, which must vanish). Checks: seq/pts continuous, capture_ns continuous with the
 * input clock, pitch right in each segment, and the envelope disturbed for at most one frame
 * around each switch.
 */
static void test_format_change(void)
{
    lc_opus_config cfg;
    lc_opus_config_default(&cfg);
    pk_list l = {0};
    lc_opus_encoder *enc = make(&cfg, &l);
    if (!enc)
        return;
    static const struct {
        uint32_t rate, ch;
    } seg[] = {{44100, 2}, {48000, 2}, {96000, 2}, {48000, 1}, {48000, 6}, {44100, 6}, {48000, 2}};
    const size_t nseg = sizeof seg / sizeof seg[0];
    const double seconds = 1.0;
    double freq[6] = {1000, 1000, 1000, 50, 1000, 1000};
    double amp[6] = {0.4, 0.4, 0.4, 0.9, 0.4, 0.4};
    uint64_t t = T0_NS;
    for (size_t s = 0; s < nseg; s++) {
        if (seg[s].ch == 1) {
            double f1[1] = {1000}, a1[1] = {0.4};
            push_tones(enc, seg[s].rate, 1, f1, a1, seconds, seg[s].rate / 100, &t);
        } else {
            /* an odd chunk size so switches land mid-frame */
            push_tones(enc, seg[s].rate, seg[s].ch, freq, amp, seconds, 333, &t);
        }
    }
    lc_opus_stats st;
    lc_opus_get_stats(enc, &st);
    CHECK_EQ_INT(st.format_changes, nseg - 1);
    CHECK_EQ_INT(st.errors, 0);
    check_sequence(&l, 960);
    /* total output = total input time, less the current resampler's tail (48k now: none) */
    CHECK_NEAR((double)(st.samples_out + st.fifo_samples), seconds * 48000 * (double)nseg, 2,
               "48 kHz samples over all segments");
    /* capture_ns stays on the input clock across every switch */
    double max_err_us = 0;
    for (size_t i = 0; i < l.n; i++) {
        double expect = (double)T0_NS + (double)l.m[i].pts * 1e9 / 48000.0;
        double e = fabs((double)l.m[i].capture_ns - expect) / 1000.0;
        if (e > max_err_us)
            max_err_us = e;
    }
    fprintf(stderr, "   format changes: %zu packets, capture_ns max error %.1f us\n", l.n,
            max_err_us);
    CHECK(max_err_us < 100);

    size_t frames = 0;
    float *pcm = pk_decode(&l, 2, &frames);
    CHECK(pcm != NULL);
    if (pcm) {
        float *L = channel_of(pcm, frames, 2, 0), *R = channel_of(pcm, frames, 2, 1);
        const size_t la = st.lookahead, seg_len = (size_t)(seconds * 48000);
        const double level = 0.4 * M_SQRT1_2;
        for (size_t s = 0; s < nseg; s++) {
            size_t a = s * seg_len + la + 4800, len = 38400; /* the middle 0.8 s */
            if (a + len > frames)
                break;
            double hz = lc_dsp_dominant_hz(L + a, len, 48000, 30, 5000);
            double hzr = lc_dsp_dominant_hz(R + a, len, 48000, 30, 5000);
            double lfe = amp_at(L + a, len, 48000, 50);
            double rms = lc_dsp_rms(L + a, len);
            fprintf(stderr, "   segment %zu (%u Hz, %u ch): %.1f/%.1f Hz, rms %.3f (expect "
                            "%.3f), 50 Hz %.4f\n", s, seg[s].rate, seg[s].ch, hz, hzr, rms,
                    level, lfe);
            CHECK_NEAR(hz, 1000, 2, "segment %zu left", s);
            CHECK_NEAR(hzr, 1000, 2, "segment %zu right", s);
            CHECK_NEAR(rms, level, level * 0.05, "segment %zu level", s);
            CHECK(lfe < 0.005);
        }
        /* glitches: each switch judged on the second around it (from the previous segment's
         * midpoint to the next one's), skipping the decoder's first 50 ms */
        for (size_t s = 1; s < nseg; s++) {
            size_t at = s * seg_len + la;
            size_t lo = at - seg_len / 2, hi = at + seg_len / 2 < frames ? at + seg_len / 2 : frames;
            if (lo < 2400)
                lo = 2400;
            size_t span = 0, elsewhere = 0;
            double worst = 0;
            glitch_near(L + lo, hi - lo, at - lo, level, 0.1, 30, &span, &elsewhere, &worst);
            fprintf(stderr, "   switch %zu -> %zu: residual > -20 dB for %zu ms (worst %.1f dB; "
                            "%zu blocks elsewhere)\n", s - 1, s, span, 20 * log10(worst + 1e-9),
                    elsewhere);
            CHECK(span <= 20); /* at most one 20 ms frame */
            CHECK_EQ_INT(elsewhere, 0);
        }
        free(L);
        free(R);
    }
    free(pcm);
    pk_free(&l);
    lc_opus_destroy(enc);
}

/* Bad pushes are refused, counted, and leave the stream intact. */
static void test_push_errors(void)
{
    lc_opus_config cfg;
    lc_opus_config_default(&cfg);
    pk_list l = {0};
    lc_opus_encoder *enc = make(&cfg, &l);
    if (!enc)
        return;
    float buf[960 * 2] = {0};
    lc_format good = {48000, 2}, zero_rate = {0, 2}, many = {48000, LC_MAX_CHANNELS + 1},
              fast = {LC_MAX_RATE + 1, 2};
    CHECK_EQ_INT(lc_opus_push(NULL, &good, buf, 960, T0_NS), LC_ERR_INVALID);
    CHECK_EQ_INT(lc_opus_push(enc, NULL, buf, 960, T0_NS), LC_ERR_INVALID);
    CHECK_EQ_INT(lc_opus_push(enc, &good, NULL, 960, T0_NS), LC_ERR_INVALID);
    CHECK_EQ_INT(lc_opus_push(enc, &zero_rate, buf, 960, T0_NS), LC_ERR_INVALID);
    CHECK_EQ_INT(lc_opus_push(enc, &many, buf, 10, T0_NS), LC_ERR_INVALID);
    CHECK_EQ_INT(lc_opus_push(enc, &fast, buf, 960, T0_NS), LC_ERR_INVALID);
    lc_opus_tap(enc, &zero_rate, buf, 960, T0_NS);
    CHECK_EQ_INT(lc_opus_push(enc, &good, NULL, 0, T0_NS), 0); /* nothing to do is fine */
    lc_opus_stats st;
    lc_opus_get_stats(enc, &st);
    CHECK_EQ_INT(st.errors, 6);
    CHECK_EQ_INT(st.frames_in, 0);
    CHECK_EQ_INT(st.packets, 0);
    lc_opus_tap(enc, &good, buf, 960, T0_NS);
    lc_opus_tap(enc, &good, buf, 960, T0_NS + 20000000);
    lc_opus_get_stats(enc, &st);
    CHECK_EQ_INT(st.packets, 2);
    CHECK_EQ_INT(l.n, 2);
    check_sequence(&l, 960);
    CHECK_EQ_INT(st.format_changes, 0);
    lc_opus_destroy(enc);
    lc_opus_destroy(NULL);
    pk_free(&l);
}

typedef struct stats_reader {
    lc_opus_encoder *enc;
    atomic_int stop;
    uint64_t reads, went_back;
} stats_reader;

static void *read_stats(void *arg)
{
    stats_reader *r = arg;
    lc_opus_stats prev = {0}, st;
    while (!atomic_load(&r->stop)) {
        lc_opus_get_stats(r->enc, &st);
        if (st.packets < prev.packets || st.bytes < prev.bytes || st.frames_in < prev.frames_in)
            r->went_back++;
        prev = st;
        r->reads++;
    }
    return NULL;
}

/* lc_opus_get_stats from another thread while the pushing thread runs (TSan-clean by design:
 * the counters are atomics); counters only ever grow. */
static void test_stats_other_thread(void)
{
    lc_opus_config cfg;
    lc_opus_config_default(&cfg);
    cfg.complexity = 0;
    pk_list l = {0};
    stats_reader r = {0};
    r.enc = make(&cfg, &l);
    if (!r.enc)
        return;
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, read_stats, &r), 0);
    double freq[2] = {1000, 1000}, amp[2] = {0.5, 0.5};
    uint64_t t = T0_NS;
    push_tones(r.enc, 44100, 2, freq, amp, 3.0, 441, &t);
    atomic_store(&r.stop, 1);
    pthread_join(th, NULL);
    lc_opus_stats st;
    lc_opus_get_stats(r.enc, &st);
    fprintf(stderr, "   %" PRIu64 " concurrent stats reads\n", r.reads);
    CHECK(r.reads > 0);
    CHECK_EQ_INT(r.went_back, 0);
    CHECK_EQ_INT(st.packets, l.n);
    CHECK_EQ_INT(st.frames_in, 44100 * 3);
    pk_free(&l);
    lc_opus_destroy(r.enc);
}

LC_TEST_MAIN(TEST(test_config_validation), TEST(test_parse_frame_ms), TEST(test_frame_sizes),
             TEST(test_round_trip_sine), TEST(test_alignment_music), TEST(test_input_rates),
             TEST(test_chunking), TEST(test_channel_map), TEST(test_format_change),
             TEST(test_push_errors), TEST(test_stats_other_thread))
