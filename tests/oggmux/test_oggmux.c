/*
 * test_oggmux.c — the Ogg Opus muxer read back with libogg's own demuxer (ogg_sync/ogg_stream):
 * the pages are valid (libogg checks every CRC), the first is BOS with OpusHead (channels,
 * pre-skip, 48 kHz), the second OpusTags naming the stream, then one page per packet carrying it
 * byte for byte with the granule of its last sample (pre-skip included, counted from the first
 * packet's pts; a skipped stretch is a jump forward); bad input is refused.
 */
#include <ogg/ogg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lc_test.h"
#include "oggmux.h"

#define FRAME 960u

static bool contains(const unsigned char *p, long n, const char *s)
{
    size_t k = strlen(s);
    for (long i = 0; i + (long)k <= n; i++)
        if (!memcmp(p + i, s, k))
            return true;
    return false;
}

static void test_roundtrip(void)
{
    lc_oggmux *m = NULL;
    lc_oggmux_config cfg = {.serial = 0x1234abcd, .channels = 2, .pre_skip = 312, .frame_samples = FRAME,
                            .title = "kitchen"};
    CHECK_EQ_INT(lc_oggmux_create(&m, &cfg), 0);
    static uint8_t out[1 << 16];
    size_t n = 0;
    long r = lc_oggmux_headers(m, out, sizeof out);
    CHECK(r > 0);
    n += (size_t)r;
    uint8_t pkt[300];
    /* packets at pts 1000, 1960, then a skip of 5 frames, then one more */
    const uint64_t pts[] = {1000, 1000 + FRAME, 1000 + 7 * FRAME, 1000 + 8 * FRAME};
    for (int i = 0; i < 4; i++) {
        memset(pkt, 0x40 + i, sizeof pkt);
        r = lc_oggmux_packet(m, pkt, 100u + (size_t)i, pts[i], out + n, sizeof out - n);
        CHECK(r > 100);
        n += (size_t)r;
    }
    CHECK_EQ_INT((int)lc_oggmux_packet(m, pkt, 0, 99999, out + n, sizeof out - n), LC_ERR_INVALID);
    CHECK_EQ_INT((int)lc_oggmux_packet(m, pkt, 10, 10, out + n, sizeof out - n), LC_ERR_INVALID);
    CHECK_EQ_INT((int)lc_oggmux_packet(m, pkt, 10, 99999, out + n, 20), LC_ERR_LIMIT);
    lc_oggmux_destroy(m);

    ogg_sync_state oy;
    ogg_stream_state os;
    ogg_page og;
    ogg_packet op;
    ogg_sync_init(&oy);
    char *buf = ogg_sync_buffer(&oy, (long)n);
    memcpy(buf, out, n);
    ogg_sync_wrote(&oy, (long)n);
    int pages = 0, packets = 0;
    bool init = false;
    while (ogg_sync_pageout(&oy, &og) == 1) {
        if (!init) {
            CHECK(ogg_page_bos(&og));
            CHECK_EQ_INT(ogg_page_serialno(&og), 0x1234abcd);
            ogg_stream_init(&os, ogg_page_serialno(&og));
            init = true;
        } else {
            CHECK(!ogg_page_bos(&og));
        }
        pages++;
        CHECK_EQ_INT(ogg_stream_pagein(&os, &og), 0);
        int on_page = 0;
        while (ogg_stream_packetout(&os, &op) == 1) {
            on_page++;
            if (packets == 0) {
                CHECK(op.bytes == 19 && !memcmp(op.packet, "OpusHead", 8));
                CHECK_EQ_INT(op.packet[9], 2);
                CHECK_EQ_INT(op.packet[10] | op.packet[11] << 8, 312);
                CHECK_EQ_INT(op.packet[12] | op.packet[13] << 8 | op.packet[14] << 16, 48000);
                CHECK_EQ_INT((int)ogg_page_granulepos(&og), 0);
            } else if (packets == 1) {
                CHECK(!memcmp(op.packet, "OpusTags", 8));
                CHECK(contains(op.packet, op.bytes, "TITLE=kitchen"));
                CHECK(contains(op.packet, op.bytes, "loopcast"));
            } else {
                int i = packets - 2;
                CHECK_EQ_INT((int)op.bytes, 100 + i);
                CHECK_EQ_INT(op.packet[0], 0x40 + i);
                CHECK_EQ_INT((int)op.granulepos, (int)(pts[i] - 1000 + FRAME + 312));
            }
            packets++;
        }
        CHECK_EQ_INT(on_page, 1); /* one packet a page: a player hears each at once */
    }
    CHECK_EQ_INT(pages, 6);
    CHECK_EQ_INT(packets, 6);
    ogg_stream_clear(&os);
    ogg_sync_clear(&oy);
}

static void test_bad_config(void)
{
    lc_oggmux *m = NULL;
    lc_oggmux_config cfg = {.channels = 3, .frame_samples = FRAME};
    CHECK_EQ_INT(lc_oggmux_create(&m, &cfg), LC_ERR_INVALID);
    cfg.channels = 1;
    cfg.pre_skip = 70000;
    CHECK_EQ_INT(lc_oggmux_create(&m, &cfg), LC_ERR_INVALID);
    cfg.pre_skip = 0;
    CHECK_EQ_INT(lc_oggmux_create(&m, &cfg), 0);
    uint8_t small[10];
    CHECK_EQ_INT((int)lc_oggmux_headers(m, small, sizeof small), LC_ERR_LIMIT);
    lc_oggmux_destroy(m);
    lc_oggmux_destroy(NULL);
}

LC_TEST_MAIN(TEST(test_roundtrip), TEST(test_bad_config))
