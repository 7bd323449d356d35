/*
 * test_wav.c — lc_wav_parse on good files of every supported format and on hostile ones.
 * Every hostile case checks the exact error code and a word of the message, so a parser that
 * "fails" for the wrong reason is caught too. Run under ASan for the out-of-bounds guarantees.
 */
#include "capture.h"
#include "lc_test.h"
#include "wav_build.h"

static wbuf W, W2;
static char err[256];

static int parse(const wbuf *w)
{
    lc_wav_info info;
    err[0] = 0;
    return lc_wav_parse(w->b, w->n, w->n, &info, err, sizeof err);
}

#define CHECK_FAILS(w, code, word)                                                             \
    do {                                                                                       \
        CHECK_EQ_INT(parse(w), code);                                                          \
        CHECK(strstr(err, word) != NULL);                                                      \
        if (!strstr(err, word))                                                                \
            fprintf(stderr, "   message was: %s\n", err);                                      \
    } while (0)

static void good_formats(void)
{
    static const struct {
        wfmt f;
        lc_sample_type want;
    } cases[] = {
        {{1, 1, 8000, 8, 0, 0, 0}, LC_SAMPLE_U8},
        {{1, 2, 44100, 16, 0, 0, 0}, LC_SAMPLE_S16LE},
        {{1, 1, 44100, 24, 0, 0, 0}, LC_SAMPLE_S24LE},
        {{1, 2, 96000, 32, 0, 0, 0}, LC_SAMPLE_S32LE},
        {{3, 2, 48000, 32, 0, 0, 0}, LC_SAMPLE_F32LE},
        {{0xFFFE, 2, 48000, 16, 0, 1, 0}, LC_SAMPLE_S16LE},
        {{0xFFFE, 2, 48000, 24, 0, 1, 0}, LC_SAMPLE_S24LE},
        {{0xFFFE, 6, 48000, 32, 0, 1, 24}, LC_SAMPLE_S32LE}, /* 24 valid bits in 32 */
        {{0xFFFE, 2, 48000, 32, 0, 3, 0}, LC_SAMPLE_F32LE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const wfmt *f = &cases[i].f;
        wb_head(&W, f);
        size_t hdr = W.n + 8;
        uint8_t payload[600];
        for (size_t k = 0; k < sizeof payload; k++)
            payload[k] = (uint8_t)(k * 7);
        size_t ba = f->channels * f->bits / 8;
        size_t bytes = (sizeof payload / ba) * ba;
        wb_data(&W, payload, bytes, (uint32_t)bytes);
        lc_wav_info info;
        int rc = lc_wav_parse(W.b, W.n, W.n, &info, err, sizeof err);
        CHECK_EQ_INT(rc, 0);
        if (rc)
            fprintf(stderr, "   case %zu: %s\n", i, err);
        CHECK_EQ_INT(info.sample, cases[i].want);
        CHECK_EQ_INT(info.format.channels, f->channels);
        CHECK_EQ_INT(info.format.rate, f->rate);
        CHECK_EQ_INT(info.data_offset, hdr);
        CHECK_EQ_INT(info.data_bytes, bytes);
        CHECK_EQ_INT(info.frames, bytes / ba);
    }
}

static void header_roundtrip(void)
{
    uint8_t hdr[44];
    lc_format fmt = {44100, 2};
    for (int fl = 0; fl < 2; fl++) {
        lc_wav_header(hdr, &fmt, fl, 1000);
        uint8_t file[44 + 8000] = {0};
        memcpy(file, hdr, 44);
        lc_wav_info info;
        size_t len = 44 + 1000u * 2 * (fl ? 4 : 2);
        CHECK_EQ_INT(lc_wav_parse(file, len, len, &info, err, sizeof err), 0);
        CHECK_EQ_INT(info.sample, fl ? LC_SAMPLE_F32LE : LC_SAMPLE_S16LE);
        CHECK_EQ_INT(info.frames, 1000);
        CHECK_EQ_INT(info.data_offset, 44);
    }
}

static void truncated_everywhere(void)
{
    wfmt f = {0xFFFE, 2, 48000, 16, 0, 1, 0};
    wb_head(&W, &f);
    wb_data(&W, NULL, 0, 0);
    size_t full = W.n; /* a complete header with an empty data chunk */
    lc_wav_info info;
    CHECK_EQ_INT(lc_wav_parse(W.b, full, full, &info, err, sizeof err), 0);
    CHECK_EQ_INT(info.frames, 0);
    for (size_t len = 0; len < full; len++) {
        /* the file really is that short, and: only the buffer is short (file longer) */
        int a = lc_wav_parse(W.b, len, len, &info, err, sizeof err);
        int b = lc_wav_parse(W.b, len, full + 1000, &info, err, sizeof err);
        CHECK_EQ_INT(a, LC_ERR_FORMAT);
        CHECK_EQ_INT(b, LC_ERR_FORMAT);
    }
    /* len larger than the file: the file size is the bound */
    CHECK_EQ_INT(lc_wav_parse(W.b, full, full - 1, &info, err, sizeof err), LC_ERR_FORMAT);
    CHECK_EQ_INT(lc_wav_parse(NULL, 0, 0, &info, err, sizeof err), LC_ERR_INVALID);
}

static void bad_magic(void)
{
    wfmt f = {1, 2, 48000, 16, 0, 0, 0};
    wb_head(&W, &f);
    wb_data(&W, "\0\0\0\0", 4, 4);
    memcpy(W.b, "RIFX", 4);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "magic");
    memcpy(W.b, "RIFF", 4);
    memcpy(W.b + 8, "AVI ", 4);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "magic");
}

static void bad_fmt_fields(void)
{
    wfmt f = {1, 2, 48000, 16, 0, 0, 0};
    uint8_t d[64] = {0};

    f.channels = 0;
    wb_head(&W, &f);
    wb_data(&W, d, 8, 8);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "0 channels");
    f.channels = 33;
    wb_head(&W, &f);
    wb_data(&W, d, 0, 0);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "channels");
    f.channels = 2;

    f.rate = 0;
    wb_head(&W, &f);
    wb_data(&W, d, 8, 8);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "rate 0");
    f.rate = 48000;

    f.tag = 2; /* MS ADPCM */
    wb_head(&W, &f);
    wb_data(&W, d, 8, 8);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "format tag 0x0002");
    f.tag = 1;

    f.bits = 12;
    f.block_align = 4;
    wb_head(&W, &f);
    wb_data(&W, d, 8, 8);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "12 bits");
    f.bits = 16;

    f.block_align = 3; /* 2 ch x 16 bit is 4 */
    wb_head(&W, &f);
    wb_data(&W, d, 8, 8);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "block_align");
    f.block_align = 0;

    wfmt fl = {3, 1, 48000, 64, 0, 0, 0}; /* float64 */
    wb_head(&W, &fl);
    wb_data(&W, d, 8, 8);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "float sample width 64");

    /* fmt chunk declared 14 bytes (WAVEFORMAT without wBitsPerSample) */
    wb_head(&W, &f);
    wb_put_u32(&W, 16, 14);
    W.n -= 2;
    wb_data(&W, d, 8, 8);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "fmt chunk too short");

    /* fmt chunk that claims more bytes than the file has */
    wb_head(&W, &f);
    wb_put_u32(&W, 16, 0xFFFFFFF0u);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "truncated fmt");

    /* two fmt chunks */
    wb_head(&W, &f);
    size_t fmt_at = 12, fmt_len = W.n - 12;
    wb_bytes(&W, W.b + fmt_at, fmt_len);
    wb_data(&W, d, 8, 8);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "two fmt");
}

static void bad_extensible(void)
{
    uint8_t d[16] = {0};
    wfmt f = {0xFFFE, 2, 48000, 16, 0, 2, 0}; /* sub-format ADPCM */
    wb_head(&W, &f);
    wb_data(&W, d, 8, 8);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "sub-format 0x0002");

    f.sub_tag = 1;
    wb_head(&W, &f);
    W.b[W.n - 1] ^= 0xff; /* not the KSDATAFORMAT GUID family */
    wb_data(&W, d, 8, 8);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "GUID");

    f.valid_bits = 20; /* in a 16-bit container */
    wb_head(&W, &f);
    wb_data(&W, d, 8, 8);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "valid bits");
    f.valid_bits = 0;

    wb_head(&W, &f);
    wb_put_u32(&W, 16, 18); /* cbSize area cut off: extensible needs 40 */
    W.n = 12 + 8 + 18;
    wb_data(&W, d, 8, 8);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "EXTENSIBLE fmt chunk too short");
}

static void chunk_walk(void)
{
    uint8_t d[400];
    for (size_t i = 0; i < sizeof d; i++)
        d[i] = (uint8_t)i;
    wfmt f = {1, 2, 48000, 16, 0, 0, 0};
    lc_wav_info info;

    /* odd-sized LIST chunk + its pad byte before fmt; data after a "fact" chunk */
    W.n = 0;
    wb_bytes(&W, "RIFF\0\0\0\0WAVE", 12);
    wb_bytes(&W, "LIST", 4);
    wb_u32(&W, 3);
    wb_bytes(&W, "abc\0", 4); /* 3 bytes + pad */
    wb_head(&W2, &f);
    wb_bytes(&W, W2.b + 12, W2.n - 12);
    wb_bytes(&W, "fact", 4);
    wb_u32(&W, 4);
    wb_u32(&W, 100);
    size_t data_at = W.n + 8;
    wb_data(&W, d, 400, 400);
    CHECK_EQ_INT(lc_wav_parse(W.b, W.n, W.n, &info, err, sizeof err), 0);
    CHECK_EQ_INT(info.data_offset, data_at);
    CHECK_EQ_INT(info.frames, 100);

    /* huge chunk length in a metadata chunk → refused, not skipped into the void */
    W.n = 0;
    wb_bytes(&W, "RIFF\0\0\0\0WAVE", 12);
    wb_bytes(&W, "LIST", 4);
    wb_u32(&W, 0xFFFFFFFFu);
    wb_bytes(&W, d, 32);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "past the end");

    /* the metadata is fine but longer than the buffer we were given */
    W.n = 0;
    wb_bytes(&W, "RIFF\0\0\0\0WAVE", 12);
    wb_bytes(&W, "LIST", 4);
    wb_u32(&W, 200);
    wb_bytes(&W, d, 200);
    wb_head(&W2, &f);
    wb_bytes(&W, W2.b + 12, W2.n - 12);
    wb_data(&W, d, 40, 40);
    CHECK_EQ_INT(lc_wav_parse(W.b, 100, W.n, &info, err, sizeof err), LC_ERR_FORMAT);
    CHECK(strstr(err, "first 100 bytes") != NULL);
    CHECK_EQ_INT(lc_wav_parse(W.b, W.n, W.n, &info, err, sizeof err), 0);

    /* data before fmt */
    W.n = 0;
    wb_bytes(&W, "RIFF\0\0\0\0WAVE", 12);
    wb_data(&W, d, 8, 8);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "before fmt");

    /* no data chunk at all */
    wb_head(&W, &f);
    CHECK_FAILS(&W, LC_ERR_FORMAT, "no data");

    /* data length beyond the file (a cut recording) and the streaming 0xFFFFFFFF: clamped,
     * and a trailing partial frame is not a frame */
    wb_head(&W, &f);
    wb_data(&W, d, 400, 1000000);
    CHECK_EQ_INT(lc_wav_parse(W.b, W.n, W.n, &info, err, sizeof err), 0);
    CHECK_EQ_INT(info.data_bytes, 400);
    CHECK_EQ_INT(info.frames, 100);
    wb_head(&W, &f);
    wb_data(&W, d, 399, 0xFFFFFFFFu);
    CHECK_EQ_INT(lc_wav_parse(W.b, W.n, W.n, &info, err, sizeof err), 0);
    CHECK_EQ_INT(info.data_bytes, 396);
    CHECK_EQ_INT(info.frames, 99);
    /* the RIFF size field is ignored (writers get it wrong); a tiny one must not matter */
    wb_put_u32(&W, 4, 4);
    CHECK_EQ_INT(lc_wav_parse(W.b, W.n, W.n, &info, err, sizeof err), 0);
}

/* A cheap in-process mutation run: the fuzzer proper lives in tests/fuzz/fuzz_wav.c. */
static void random_mutations(void)
{
    wfmt f = {0xFFFE, 2, 48000, 24, 0, 1, 0};
    uint8_t d[60] = {0};
    wb_head(&W, &f);
    wb_data(&W, d, 60, 60);
    uint32_t seed = 12345;
    int ok = 0;
    for (int it = 0; it < 200000; it++) {
        memcpy(W2.b, W.b, W.n);
        W2.n = W.n;
        for (int m = 0; m < 1 + it % 4; m++) {
            seed = seed * 1103515245u + 12345u;
            W2.b[(seed >> 8) % W2.n] = (uint8_t)(seed >> 24);
        }
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 8) % (W2.n + 1);
        lc_wav_info info;
        int rc = lc_wav_parse(W2.b, len, (seed & 1) ? len : W2.n, &info, err, sizeof err);
        if (rc == 0) {
            ok++;
            CHECK(info.data_offset + info.data_bytes <= W2.n);
            CHECK(lc_format_valid(&info.format));
        } else {
            CHECK_EQ_INT(rc, LC_ERR_FORMAT);
        }
    }
    CHECK(ok > 0);
}

LC_TEST_MAIN(TEST(good_formats), TEST(header_roundtrip), TEST(truncated_everywhere),
             TEST(bad_magic), TEST(bad_fmt_fields), TEST(bad_extensible), TEST(chunk_walk),
             TEST(random_mutations))
