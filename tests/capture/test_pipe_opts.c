/*
 * test_pipe_opts.c — lc_capture_parse_pcm_opts, the "?format=..&rate=..&channels=.." parser that
 * pipe:, alsa: and tone: share, called directly (no backend, no file): its contract is that a
 * key present in the text overwrites the caller's default and sets its bit in *seen, a key absent
 * leaves the default alone, and any unknown key, bad value, empty item or repeated key is
 * LC_ERR_URI with a message naming it. Boundaries are the ones capture.h states (rate 1..768000,
 * channels 1..32, the six sample names).
 */
#include "capture_internal.h"
#include "lc_test.h"

typedef struct {
    int rc;
    lc_sample_type sample;
    lc_format fmt;
    unsigned seen;
    char err[200];
} res;

/* Parses with the pipe defaults (s16le, 48000, 2); with_format = 0 parses as tone would. */
static res parse(const char *opts, int with_format)
{
    res r = {.sample = LC_SAMPLE_S16LE, .fmt = {48000, 2}, .seen = 0xffff};
    r.err[0] = 0;
    r.rc = lc_capture_parse_pcm_opts("pipe", opts, with_format ? &r.sample : NULL, &r.fmt,
                                     &r.seen, r.err, sizeof r.err);
    return r;
}

static void test_good(void)
{
    static const struct {
        const char *opts;
        lc_sample_type sample;
        uint32_t rate, channels;
        unsigned seen;
    } cases[] = {
        {NULL, LC_SAMPLE_S16LE, 48000, 2, 0},
        {"", LC_SAMPLE_S16LE, 48000, 2, 0},
        {"format=f32le&rate=44100&channels=6", LC_SAMPLE_F32LE, 44100, 6,
         LC_OPT_FORMAT | LC_OPT_RATE | LC_OPT_CHANNELS},
        {"channels=1", LC_SAMPLE_S16LE, 48000, 1, LC_OPT_CHANNELS},
        {"rate=8000", LC_SAMPLE_S16LE, 8000, 2, LC_OPT_RATE},
        {"format=u8", LC_SAMPLE_U8, 48000, 2, LC_OPT_FORMAT},
        {"format=s24le", LC_SAMPLE_S24LE, 48000, 2, LC_OPT_FORMAT},
        {"format=s24_32le", LC_SAMPLE_S24_32LE, 48000, 2, LC_OPT_FORMAT},
        {"format=s32le", LC_SAMPLE_S32LE, 48000, 2, LC_OPT_FORMAT},
        {"rate=1&channels=1", LC_SAMPLE_S16LE, 1, 1, LC_OPT_RATE | LC_OPT_CHANNELS},
        {"rate=768000&channels=32", LC_SAMPLE_S16LE, 768000, 32, LC_OPT_RATE | LC_OPT_CHANNELS},
        {"rate=0044100", LC_SAMPLE_S16LE, 44100, 2, LC_OPT_RATE}, /* leading zeros are digits */
        {"rate=96000&", LC_SAMPLE_S16LE, 96000, 2, LC_OPT_RATE},  /* a trailing '&' ends it */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        res r = parse(cases[i].opts, 1);
        if (r.rc)
            fprintf(stderr, "case '%s': %s\n", cases[i].opts ? cases[i].opts : "(null)", r.err);
        CHECK_EQ_INT(r.rc, 0);
        CHECK_EQ_INT(r.sample, cases[i].sample);
        CHECK_EQ_INT(r.fmt.rate, cases[i].rate);
        CHECK_EQ_INT(r.fmt.channels, cases[i].channels);
        CHECK_EQ_INT(r.seen, cases[i].seen);
    }
}

static void test_bad(void)
{
    static const struct {
        const char *opts;
        const char *says; /* the message must contain this */
    } cases[] = {
        {"chanels=1", "unknown option 'chanels'"},
        {"rate", "option 'rate' needs a value"},
        {"rate=48000&&channels=2", "needs a value"},
        {"&rate=48000", "needs a value"},
        {"rate=", "bad value '' for option 'rate'"},
        {"rate=0", "option 'rate' (expected 1..768000)"},
        {"rate=768001", "option 'rate'"},
        {"rate=48k", "bad value '48k'"},
        {"rate=+48000", "option 'rate'"},
        {"rate=-1", "option 'rate'"},
        {"rate= 48000", "option 'rate'"},
        {"rate=99999999999999999999999", "option 'rate'"}, /* longer than any number we take */
        {"rate=18446744073709551617", "option 'rate'"},    /* wraps an unsigned long */
        {"channels=0", "option 'channels' (expected 1..32)"},
        {"channels=33", "option 'channels'"},
        {"format=s16be", "bad value 's16be' for option 'format'"},
        {"format=", "option 'format'"},
        {"format=S16LE", "option 'format'"},
        {"format=s16les16les16le", "option 'format'"},
        {"rate=8000&rate=8000", "option 'rate' given twice"},
        {"format=u8&channels=1&format=u8", "option 'format' given twice"},
        {"Rate=8000", "unknown option 'Rate'"},
        {"=8000", "unknown option ''"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        res r = parse(cases[i].opts, 1);
        CHECK_EQ_INT(r.rc, LC_ERR_URI);
        if (!strstr(r.err, cases[i].says) || !strstr(r.err, "pipe: ")) {
            fprintf(stderr, "case '%s': message '%s' lacks '%s'\n", cases[i].opts, r.err,
                    cases[i].says);
            CHECK(0);
        }
    }
}

/* tone passes no sample: "format" is then an unknown key, and the message says what is known. */
static void test_without_format(void)
{
    res r = parse("format=s16le", 0);
    CHECK_EQ_INT(r.rc, LC_ERR_URI);
    CHECK(strstr(r.err, "unknown option 'format' (known: rate, channels)") != NULL);
    r = parse("rate=8000&channels=1", 0);
    CHECK_EQ_INT(r.rc, 0);
    CHECK_EQ_INT(r.fmt.rate, 8000);
    CHECK_EQ_INT(r.seen, LC_OPT_RATE | LC_OPT_CHANNELS);
}

/* A message about a huge value is cut to the caller's buffer, never written past it. */
static void test_small_errbuf(void)
{
    char big[600], err[24];
    memset(err, 'x', sizeof err);
    snprintf(big, sizeof big, "format=%0500d", 7);
    lc_sample_type s = LC_SAMPLE_S16LE;
    lc_format f = {48000, 2};
    unsigned seen;
    CHECK_EQ_INT(lc_capture_parse_pcm_opts("pipe", big, &s, &f, &seen, err, 16), LC_ERR_URI);
    CHECK_EQ_INT(strlen(err), 15);
    CHECK_EQ_INT(err[16], 'x');
    CHECK_EQ_INT(s, LC_SAMPLE_S16LE);
}

/* Through the backend: the pipe's URI grammar around the options. */
static void test_pipe_uri(void)
{
    char err[200];
    lc_capture *cap = NULL;
    CHECK_EQ_INT(lc_capture_open(&cap, "pipe:/tmp/lc-no-such-fifo?format=u8&channels=1", err,
                                 sizeof err), 0);
    lc_capture_close(cap);
    cap = NULL;
    CHECK_EQ_INT(lc_capture_open(&cap, "pipe:-?rate=1?channels=2", err, sizeof err), LC_ERR_URI);
    CHECK(cap == NULL);
    CHECK(strstr(err, "bad value '1?channels=2' for option 'rate'") != NULL);
    CHECK_EQ_INT(lc_capture_open(&cap, "pipe:-?chanels=2", err, sizeof err), LC_ERR_URI);
    CHECK(strstr(err, "unknown option 'chanels'") != NULL);
    CHECK_EQ_INT(lc_capture_open(&cap, "pipe:?rate=1", err, sizeof err), LC_ERR_URI);
    CHECK(strstr(err, "missing path") != NULL);
}

int main(int argc, char **argv)
{
    static const lc_test_case cases[] = {
        {"good", test_good},
        {"bad", test_bad},
        {"without_format", test_without_format},
        {"small_errbuf", test_small_errbuf},
        {"pipe_uri", test_pipe_uri},
    };
    return lc_test_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
