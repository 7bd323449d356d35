/*
 * test_alsa_file.c — the ALSA backend against alsa-lib's `file` plugin: a user-space capture PCM
 * that reads a raw file byte for byte (recipe in TESTING-AUDIO.md). It is not paced and returns
 * silence past the end of the file, so this checks the data path, negotiation and options, not
 * timing. ALSA_CONFIG_PATH must be set before alsa-lib reads its configuration, i.e. before the
 * first lc_capture_open in this process; hence a binary of its own.
 */
#include "capture.h"
#include "lc_dsp.h"
#include "lc_test.h"

#include <math.h>
#include <pthread.h>
#include <unistd.h>

static char dir[64];
enum { FRAMES = 48000 }; /* 1 s of 1 kHz stereo at 48 kHz in each raw file */
static int16_t s16_tone[FRAMES * 2];
static float f32_tone[FRAMES * 2];

typedef struct {
    pthread_mutex_t lock;
    lc_format fmt;
    float *keep;
    size_t cap, kept;
} rec;

static void rec_tap(void *user, const lc_format *fmt, const float *pcm, size_t frames,
                    uint64_t capture_ns)
{
    rec *r = user;
    (void)capture_ns;
    pthread_mutex_lock(&r->lock);
    r->fmt = *fmt;
    size_t n = frames * fmt->channels;
    if (r->kept + n > r->cap)
        n = r->cap - r->kept;
    memcpy(r->keep + r->kept, pcm, n * sizeof *pcm);
    r->kept += n;
    pthread_mutex_unlock(&r->lock);
}

static int setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/lc-test-alsa-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    for (int i = 0; i < FRAMES; i++) {
        double v = 0.5 * sin(2 * M_PI * 1000.0 * i / 48000.0);
        s16_tone[2 * i] = (int16_t)lrint(v * 32767);
        s16_tone[2 * i + 1] = (int16_t)lrint(-v * 32767);
        f32_tone[2 * i] = (float)v;
        f32_tone[2 * i + 1] = (float)(0.25 * v);
    }
    char path[128];
    FILE *f;
    snprintf(path, sizeof path, "%s/tone-s16.raw", dir);
    if (!(f = fopen(path, "wb")) || fwrite(s16_tone, sizeof s16_tone, 1, f) != 1 || fclose(f))
        return -1;
    snprintf(path, sizeof path, "%s/tone-f32.raw", dir);
    if (!(f = fopen(path, "wb")) || fwrite(f32_tone, sizeof f32_tone, 1, f) != 1 || fclose(f))
        return -1;
    snprintf(path, sizeof path, "%s/asound.conf", dir);
    if (!(f = fopen(path, "w")))
        return -1;
    fprintf(f,
            "</usr/share/alsa/alsa.conf>\n"
            "pcm.filecap { type file slave.pcm \"null\" file \"/dev/null\" "
            "infile \"%s/tone-s16.raw\" format \"raw\" }\n"
            "pcm.filecapf { type file slave.pcm \"null\" file \"/dev/null\" "
            "infile \"%s/tone-f32.raw\" format \"raw\" }\n"
            "pcm.!default filecapf\n",
            dir, dir);
    if (fclose(f))
        return -1;
    setenv("ALSA_CONFIG_PATH", path, 1);
    /* no sound server for "auto" to find, so it falls through to ALSA "default" */
    unsetenv("PULSE_SERVER");
    setenv("XDG_RUNTIME_DIR", dir, 1);
    return 0;
}

static size_t capture(const char *uri, float *keep, size_t cap, lc_format *fmt,
                      lc_capture_stats *st, char *resolved, size_t rlen)
{
    char err[256];
    lc_capture *c;
    int rc = lc_capture_open(&c, uri, err, sizeof err);
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "   %s: %s\n", uri, err);
        return 0;
    }
    rec r = {PTHREAD_MUTEX_INITIALIZER, {0, 0}, keep, cap, 0};
    CHECK(lc_capture_add_tap(c, rec_tap, &r) > 0);
    CHECK_EQ_INT(lc_capture_start(c), 0);
    uint64_t end = lc_now_ns() + 5000000000ull;
    for (;;) {
        pthread_mutex_lock(&r.lock);
        size_t k = r.kept;
        pthread_mutex_unlock(&r.lock);
        if (k >= cap || lc_now_ns() > end)
            break;
        usleep(2000);
    }
    lc_capture_stop(c);
    lc_capture_get_stats(c, st);
    *fmt = r.fmt;
    if (resolved)
        snprintf(resolved, rlen, "%s", lc_capture_uri(c));
    lc_capture_close(c);
    return r.kept;
}

/* The recipe exactly: raw s16le 48 kHz stereo, asked for with options. */
static void forced_s16(void)
{
    static float keep[FRAMES * 2];
    lc_format fmt;
    lc_capture_stats st;
    size_t n = capture("alsa:filecap?format=s16le&rate=48000&channels=2", keep, FRAMES * 2,
                       &fmt, &st, NULL, 0);
    CHECK_EQ_INT(n, FRAMES * 2);
    CHECK_EQ_INT(fmt.rate, 48000);
    CHECK_EQ_INT(fmt.channels, 2);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += keep[i] != (float)s16_tone[i] / 32768.0f;
    CHECK_EQ_INT(bad, 0);
    static float mono[FRAMES];
    for (size_t i = 0; i < n / 2; i++)
        mono[i] = keep[2 * i];
    CHECK_NEAR(lc_dsp_dominant_hz(mono, n / 2, 48000, 100, 5000), 1000.0, 0.5, "alsa filecap");
    CHECK_EQ_INT(st.xruns, 0);
}

/* No options: the backend negotiates FLOAT_LE first (the null slave takes anything), so the
 * float raw file comes through bit-exact. */
static void negotiated_float(void)
{
    static float keep[FRAMES * 2];
    lc_format fmt;
    lc_capture_stats st;
    size_t n = capture("alsa:filecapf", keep, FRAMES * 2, &fmt, &st, NULL, 0);
    CHECK_EQ_INT(n, FRAMES * 2);
    CHECK_EQ_INT(fmt.rate, 48000);
    CHECK_EQ_INT(fmt.channels, 2);
    CHECK_EQ_INT(memcmp(keep, f32_tone, n * sizeof(float)), 0);
}

/* auto: no sound server (XDG_RUNTIME_DIR has no pulse socket), ALSA "default" opens → used. */
static void auto_picks_alsa_default(void)
{
    static float keep[4800 * 2];
    lc_format fmt;
    lc_capture_stats st;
    char uri[64];
    size_t n = capture("auto", keep, 4800 * 2, &fmt, &st, uri, sizeof uri);
    CHECK(!strcmp(uri, "alsa:default"));
    CHECK_EQ_INT(n, 4800 * 2);
    CHECK_EQ_INT(memcmp(keep, f32_tone, n * sizeof(float)), 0);
}

static void refused(void)
{
    char err[256];
    lc_capture *c;
    /* a device the filecap cannot be: the rate forced exactly, channels out of the option
     * range, options that do not exist */
    CHECK_EQ_INT(lc_capture_open(&c, "alsa:filecap?bits=16", err, sizeof err), LC_ERR_URI);
    CHECK(strstr(err, "unknown option 'bits'") != NULL);
    CHECK_EQ_INT(lc_capture_open(&c, "loopback?rate=1", err, sizeof err), LC_ERR_URI);
    CHECK_EQ_INT(lc_capture_open(&c, "loopback:bad'name", err, sizeof err), LC_ERR_URI);

    /* an unknown device is not an open-time error (it may appear later): the thread retries */
    CHECK_EQ_INT(lc_capture_open(&c, "alsa:no_such_device", err, sizeof err), 0);
    CHECK_EQ_INT(lc_capture_start(c), 0);
    usleep(200000);
    CHECK_EQ_INT(lc_capture_get_state(c), LC_CAPTURE_RETRYING);
    lc_capture_stats st;
    lc_capture_get_stats(c, &st);
    CHECK(strstr(st.last_error, "no_such_device") != NULL);
    lc_capture_close(c);
}

static void listing(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    lc_capture_list_sources(m);
    fclose(m);
    CHECK(strstr(text, "alsa[:DEVICE]") != NULL);
    CHECK(strstr(text, "loopback[:SINK]") != NULL);
    CHECK(strstr(text, "Devices of 'alsa'") != NULL);
    CHECK(strstr(text, "alsa:null") != NULL); /* alsa.conf's null PCM carries a hint */
    free(text);
}

int main(int argc, char **argv)
{
    if (setup() < 0) {
        perror("setup");
        return 1;
    }
    static const lc_test_case cases[] = {TEST(forced_s16), TEST(negotiated_float),
                                         TEST(auto_picks_alsa_default), TEST(refused),
                                         TEST(listing)};
    int rc = lc_test_main(cases, sizeof cases / sizeof cases[0], argc, argv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
