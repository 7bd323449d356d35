/*
 * test_pcm.c — sample conversion is exact: the most negative code is -1.0, zero is 0.0, and each
 * format's scale is 2^(bits-1). Also unaligned input and hostile float values.
 */
#include "capture.h"
#include "lc_test.h"

static void names(void)
{
    static const char *const n[] = {"s16le", "s24le", "s24_32le", "s32le", "f32le", "u8"};
    static const size_t bytes[] = {2, 3, 4, 4, 4, 1};
    for (size_t i = 0; i < 6; i++) {
        lc_sample_type t;
        CHECK_EQ_INT(lc_sample_parse(n[i], &t), 0);
        CHECK_EQ_INT(lc_sample_bytes(t), bytes[i]);
        CHECK(!strcmp(lc_sample_name(t), n[i]));
    }
    lc_sample_type t;
    CHECK_EQ_INT(lc_sample_parse("s16", &t), LC_ERR_INVALID);
    CHECK_EQ_INT(lc_sample_parse("", &t), LC_ERR_INVALID);
    CHECK_EQ_INT(lc_sample_parse(NULL, &t), LC_ERR_INVALID);
}

static void s16(void)
{
    const uint8_t in[] = {0x00, 0x80, 0xff, 0x7f, 0x00, 0x00, 0x01, 0x00, 0xff, 0xff, 0x00, 0x40};
    float out[6];
    lc_pcm_to_float(LC_SAMPLE_S16LE, in, out, 6);
    CHECK(out[0] == -1.0f);
    CHECK(out[1] == 32767.0f / 32768.0f);
    CHECK(out[2] == 0.0f);
    CHECK(out[3] == 1.0f / 32768.0f);
    CHECK(out[4] == -1.0f / 32768.0f);
    CHECK(out[5] == 0.5f);
}

static void u8(void)
{
    const uint8_t in[] = {0, 128, 255, 64};
    float out[4];
    lc_pcm_to_float(LC_SAMPLE_U8, in, out, 4);
    CHECK(out[0] == -1.0f);
    CHECK(out[1] == 0.0f);
    CHECK(out[2] == 127.0f / 128.0f);
    CHECK(out[3] == -0.5f);
}

static void s24(void)
{
    /* packed, and starting at an odd address */
    const uint8_t in[] = {0xAA, 0x00, 0x00, 0x80, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x00, 0x00, 0x40};
    float out[4];
    lc_pcm_to_float(LC_SAMPLE_S24LE, in + 1, out, 4);
    CHECK(out[0] == -1.0f);
    CHECK(out[1] == 8388607.0f / 8388608.0f);
    CHECK(out[2] == -1.0f / 8388608.0f);
    CHECK(out[3] == 0.5f);
}

static void s24_32(void)
{
    /* the top byte is padding and must be ignored, whatever it holds */
    const uint8_t in[] = {0x00, 0x00, 0x80, 0x55, 0xff, 0xff, 0x7f, 0xAA, 0x01, 0x00, 0x00, 0xff};
    float out[3];
    lc_pcm_to_float(LC_SAMPLE_S24_32LE, in, out, 3);
    CHECK(out[0] == -1.0f);
    CHECK(out[1] == 8388607.0f / 8388608.0f);
    CHECK(out[2] == 1.0f / 8388608.0f);
}

static void s32(void)
{
    const uint8_t in[] = {0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00,
                          0xff, 0xff, 0xff, 0x7f, 0x00, 0x00, 0x00, 0xc0};
    float out[5];
    lc_pcm_to_float(LC_SAMPLE_S32LE, in, out, 5);
    CHECK(out[0] == -1.0f);
    CHECK(out[1] == 0.5f);
    CHECK(out[2] == 0.0f);
    CHECK(out[3] == (float)(2147483647.0 / 2147483648.0));
    CHECK(out[4] == -0.5f);
}

static void f32(void)
{
    float in[7] = {0.25f, -1.0f, 1.0f, 2.0f, -3.0f, NAN, INFINITY};
    uint8_t raw[sizeof in + 1];
    memcpy(raw + 1, in, sizeof in); /* unaligned on purpose */
    float out[7];
    lc_pcm_to_float(LC_SAMPLE_F32LE, raw + 1, out, 7);
    CHECK(out[0] == 0.25f);
    CHECK(out[1] == -1.0f);
    CHECK(out[2] == 1.0f);
    CHECK(out[3] == 1.0f);
    CHECK(out[4] == -1.0f);
    CHECK(out[5] == 0.0f);
    CHECK(out[6] == 1.0f);
}

static void every_s16_code(void)
{
    uint8_t in[2 * 65536];
    static float out[65536];
    for (int v = -32768; v < 32768; v++) {
        unsigned u = (unsigned)(v + 65536) & 0xffffu;
        in[2 * (v + 32768)] = (uint8_t)u;
        in[2 * (v + 32768) + 1] = (uint8_t)(u >> 8);
    }
    lc_pcm_to_float(LC_SAMPLE_S16LE, in, out, 65536);
    int bad = 0;
    for (int v = -32768; v < 32768; v++)
        bad += out[v + 32768] != (float)v / 32768.0f;
    CHECK_EQ_INT(bad, 0);
}

LC_TEST_MAIN(TEST(names), TEST(s16), TEST(u8), TEST(s24), TEST(s24_32), TEST(s32), TEST(f32),
             TEST(every_s16_code))
