/*
 * test_stream.c — the packet ring: ordering, wrap-around, lag skips and their counts, and one
 * writer racing several readers (run under TSan: -DLC_SANITIZE=thread) where every packet's bytes
 * are derived from its sequence number, so a torn copy cannot go unnoticed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "lc_test.h"
#include "stream.h"

static uint8_t buf[LC_STREAM_MAX_PACKET];

static lc_stream *make(uint32_t slots, uint32_t max_lag)
{
    lc_stream_config cfg;
    lc_stream_config_default(&cfg);
    cfg.slots = slots;
    cfg.max_lag = max_lag;
    lc_stream *s = NULL;
    CHECK_EQ_INT(lc_stream_create(&s, &cfg), 0);
    return s;
}

static void publish_n(lc_stream *s, uint32_t first, uint32_t n)
{
    for (uint32_t i = first; i < first + n; i++) {
        uint8_t opus[3] = {(uint8_t)i, (uint8_t)(i >> 8), 0xAB};
        CHECK_EQ_INT(lc_stream_publish_audio(s, i, (uint64_t)i * 960, 1000u + i, opus, 3), 0);
    }
}

static void test_header(void)
{
    uint8_t h[LC_STREAM_HEADER_LEN];
    lc_stream_header_write(h, 1, 0xDEADBEEFu, 0x0102030405060708ull, 42);
    CHECK_EQ_INT(h[0], 1);
    CHECK_EQ_INT(h[1], 1);
    CHECK_EQ_INT(h[2], 24);
    CHECK_EQ_INT(h[3], 0);
    CHECK_EQ_INT(h[4], 0xEF); /* little-endian */
    CHECK_EQ_INT(h[8], 0x08);
    lc_stream_header parsed;
    CHECK_EQ_INT(lc_stream_header_parse(h, sizeof h, &parsed), 0);
    CHECK(parsed.seq == 0xDEADBEEFu);
    CHECK(parsed.pts == 0x0102030405060708ull);
    CHECK(parsed.capture_ns == 42);
    CHECK_EQ_INT(parsed.header_len, 24);
    CHECK_EQ_INT(lc_stream_header_parse(h, 23, &parsed), LC_ERR_PARSE);
    h[2] = 30;
    CHECK_EQ_INT(lc_stream_header_parse(h, 24, &parsed), LC_ERR_PARSE);
}

static void test_config(void)
{
    lc_stream_config cfg;
    lc_stream_config_default(&cfg);
    CHECK_EQ_INT(lc_stream_config_check(&cfg, NULL, 0), 0);
    char err[128];
    cfg.slots = 100;
    CHECK_EQ_INT(lc_stream_config_check(&cfg, err, sizeof err), LC_ERR_INVALID);
    CHECK(strstr(err, "slots") != NULL);
    cfg.slots = 64;
    cfg.max_lag = 33;
    CHECK_EQ_INT(lc_stream_config_check(&cfg, err, sizeof err), LC_ERR_INVALID);
    cfg.max_lag = 0;
    CHECK_EQ_INT(lc_stream_config_check(&cfg, err, sizeof err), LC_ERR_INVALID);
    cfg.max_lag = 32;
    CHECK_EQ_INT(lc_stream_config_check(&cfg, err, sizeof err), 0);
    CHECK_EQ_INT(lc_stream_slots_for(1), 8);
    CHECK_EQ_INT(lc_stream_slots_for(100), 128);
    CHECK_EQ_INT(lc_stream_slots_for(128), 128);
    CHECK_EQ_INT(lc_stream_slots_for(1u << 30), 65536);
}

static void test_empty_and_limits(void)
{
    lc_stream *s = make(8, 4);
    uint64_t cur = lc_stream_cursor_new(s);
    size_t len = 0;
    uint32_t dropped = 99;
    CHECK_EQ_INT(lc_stream_read(s, &cur, buf, sizeof buf, &len, &dropped), LC_ERR_AGAIN);
    CHECK_EQ_INT(cur, 0);
    CHECK_EQ_INT(lc_stream_read(s, &cur, buf, 100, &len, &dropped), LC_ERR_INVALID);
    static uint8_t big[LC_STREAM_MAX_PACKET + 1];
    CHECK_EQ_INT(lc_stream_publish(s, big, sizeof big), LC_ERR_LIMIT);
    CHECK_EQ_INT(lc_stream_publish_audio(s, 0, 0, 0, big, LC_STREAM_MAX_PAYLOAD + 1), LC_ERR_LIMIT);
    CHECK_EQ_INT(lc_stream_publish_audio(s, 0, 0, 0, big, LC_STREAM_MAX_PAYLOAD), 0);
    CHECK_EQ_INT(lc_stream_read(s, &cur, buf, sizeof buf, &len, &dropped), 0);
    CHECK_EQ_INT(len, LC_STREAM_MAX_PACKET);
    CHECK_EQ_INT(dropped, 0);
    lc_stream_destroy(s);
}

static void test_ordering(void)
{
    lc_stream *s = make(16, 8);
    uint64_t cur = lc_stream_cursor_new(s); /* empty ring: position 0 */
    publish_n(s, 0, 6);
    for (uint32_t i = 0; i < 6; i++) {
        size_t len = 0;
        uint32_t dropped = 1;
        CHECK_EQ_INT(lc_stream_read(s, &cur, buf, sizeof buf, &len, &dropped), 0);
        CHECK_EQ_INT(len, LC_STREAM_HEADER_LEN + 3);
        CHECK_EQ_INT(dropped, 0);
        lc_stream_header h;
        CHECK_EQ_INT(lc_stream_header_parse(buf, len, &h), 0);
        CHECK_EQ_INT(h.seq, i);
        CHECK_EQ_INT(h.flags, 0);
        CHECK(h.pts == (uint64_t)i * 960);
        CHECK_EQ_INT(buf[24], (uint8_t)i);
        CHECK_EQ_INT(buf[26], 0xAB);
    }
    size_t len;
    uint32_t dropped;
    CHECK_EQ_INT(lc_stream_read(s, &cur, buf, sizeof buf, &len, &dropped), LC_ERR_AGAIN);
    CHECK_EQ_INT(lc_stream_pending(s, cur), 0);
    CHECK_EQ_INT(lc_stream_published(s), 6);
    /* A new reader starts at the newest packet. */
    uint64_t late = lc_stream_cursor_new(s);
    CHECK_EQ_INT(lc_stream_pending(s, late), 1);
    CHECK_EQ_INT(lc_stream_read(s, &late, buf, sizeof buf, &len, &dropped), 0);
    CHECK_EQ_INT(buf[4], 5);
    CHECK_EQ_INT(dropped, 0);
    lc_stream_destroy(s);
}

static void test_wraparound(void)
{
    lc_stream *s = make(8, 4);
    uint64_t cur = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        publish_n(s, i, 1);
        if (i % 3 == 2) { /* read in bursts of 3: within max_lag, across many wraps */
            for (int k = 0; k < 3; k++) {
                size_t len;
                uint32_t dropped;
                CHECK_EQ_INT(lc_stream_read(s, &cur, buf, sizeof buf, &len, &dropped), 0);
                CHECK_EQ_INT(dropped, 0);
                lc_stream_header h;
                lc_stream_header_parse(buf, len, &h);
                CHECK_EQ_INT(h.seq, i - 2 + (uint32_t)k);
            }
        }
    }
    CHECK_EQ_INT(cur, 999);
    lc_stream_destroy(s);
}

static void test_lag_skip(void)
{
    lc_stream *s = make(16, 8);
    uint64_t cur = 0;
    size_t len;
    uint32_t dropped;
    /* Exactly max_lag behind: no skip. */
    publish_n(s, 0, 8);
    CHECK_EQ_INT(lc_stream_read(s, &cur, buf, sizeof buf, &len, &dropped), 0);
    CHECK_EQ_INT(dropped, 0);
    CHECK_EQ_INT(buf[4], 0);
    /* Now 7 behind; 13 more published -> 20 behind: skip to the newest (seq 20). */
    publish_n(s, 8, 13);
    CHECK_EQ_INT(lc_stream_pending(s, cur), 20);
    CHECK_EQ_INT(lc_stream_read(s, &cur, buf, sizeof buf, &len, &dropped), 0);
    CHECK_EQ_INT(dropped, 19); /* seq 1..19 */
    lc_stream_header h;
    CHECK_EQ_INT(lc_stream_header_parse(buf, len, &h), 0);
    CHECK_EQ_INT(h.seq, 20);
    CHECK(h.flags & LC_STREAM_FLAG_DISCONTINUITY);
    CHECK_EQ_INT(lc_stream_read(s, &cur, buf, sizeof buf, &len, &dropped), LC_ERR_AGAIN);
    /* The next packet after a skip has no flag. */
    publish_n(s, 21, 1);
    CHECK_EQ_INT(lc_stream_read(s, &cur, buf, sizeof buf, &len, &dropped), 0);
    CHECK_EQ_INT(dropped, 0);
    CHECK_EQ_INT(buf[1], 0);
    /* Far more than a whole ring behind (slot contents long overwritten). */
    uint64_t old = 0;
    publish_n(s, 22, 100);
    CHECK_EQ_INT(lc_stream_read(s, &old, buf, sizeof buf, &len, &dropped), 0);
    CHECK_EQ_INT(dropped, 121);
    CHECK_EQ_INT(buf[4], 121);
    lc_stream_destroy(s);
}

/* ---- one writer, several readers ---------------------------------------------------------- */

#define RACE_PACKETS 200000u
#define RACE_READERS 3

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static size_t payload_len(uint32_t seq)
{
    return 1 + (size_t)(mix(seq) % LC_STREAM_MAX_PAYLOAD);
}

static void fill_payload(uint32_t seq, uint8_t *p, size_t n)
{
    uint64_t x = mix(seq ^ 0x9e3779b97f4a7c15ull);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(x >> ((i % 8) * 8)) ^ (uint8_t)i;
}

typedef struct {
    lc_stream *s;
    atomic_bool *done;
    int slow; /* sleeps now and then, to fall behind and exercise skips */
    uint64_t packets, dropped, bad, discont_flags, flag_mismatch;
} reader_arg;

static void *writer_main(void *p)
{
    lc_stream *s = p;
    static uint8_t opus[LC_STREAM_MAX_PAYLOAD];
    for (uint32_t seq = 0; seq < RACE_PACKETS; seq++) {
        size_t n = payload_len(seq);
        fill_payload(seq, opus, n);
        lc_stream_publish_audio(s, seq, (uint64_t)seq * 960, mix(seq), opus, n);
        if (seq % 64 == 0)
            sched_yield();
    }
    return NULL;
}

static void *reader_main(void *p)
{
    reader_arg *a = p;
    static _Thread_local uint8_t out[LC_STREAM_MAX_PACKET];
    static _Thread_local uint8_t want[LC_STREAM_MAX_PAYLOAD];
    uint64_t cur = lc_stream_cursor_new(a->s);
    int64_t last = -1;
    for (;;) {
        size_t len;
        uint32_t dropped;
        int rc = lc_stream_read(a->s, &cur, out, sizeof out, &len, &dropped);
        if (rc == LC_ERR_AGAIN) {
            if (atomic_load(a->done) && lc_stream_pending(a->s, cur) == 0)
                break;
            sched_yield();
            continue;
        }
        lc_stream_header h;
        if (rc || lc_stream_header_parse(out, len, &h)) {
            a->bad++;
            continue;
        }
        size_t n = payload_len(h.seq);
        fill_payload(h.seq, want, n);
        if (len != LC_STREAM_HEADER_LEN + n || memcmp(out + LC_STREAM_HEADER_LEN, want, n) ||
            h.capture_ns != mix(h.seq) || h.pts != (uint64_t)h.seq * 960)
            a->bad++;
        /* The gap in sequence numbers is exactly what the ring reported as dropped. */
        if (last >= 0 && (int64_t)h.seq - last - 1 != (int64_t)dropped)
            a->flag_mismatch++;
        if ((dropped > 0) != ((h.flags & LC_STREAM_FLAG_DISCONTINUITY) != 0))
            a->flag_mismatch++;
        if (last >= 0 && (int64_t)h.seq <= last)
            a->bad++;
        last = h.seq;
        a->packets++;
        a->dropped += dropped;
        a->discont_flags += dropped > 0;
        if (a->slow && a->packets % 1000 == 0) {
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static void test_concurrent(void)
{
    lc_stream *s = make(64, 32);
    atomic_bool done = false;
    reader_arg args[RACE_READERS];
    pthread_t rt[RACE_READERS], wt;
    for (int i = 0; i < RACE_READERS; i++) {
        args[i] = (reader_arg){.s = s, .done = &done, .slow = i == RACE_READERS - 1};
        pthread_create(&rt[i], NULL, reader_main, &args[i]);
    }
    pthread_create(&wt, NULL, writer_main, s);
    pthread_join(wt, NULL);
    atomic_store(&done, true);
    for (int i = 0; i < RACE_READERS; i++) {
        pthread_join(rt[i], NULL);
        fprintf(stderr, "   reader %d: %llu packets, %llu dropped in %llu skips, %llu bad\n", i,
                (unsigned long long)args[i].packets, (unsigned long long)args[i].dropped,
                (unsigned long long)args[i].discont_flags, (unsigned long long)args[i].bad);
        CHECK_EQ_INT(args[i].bad, 0);
        CHECK_EQ_INT(args[i].flag_mismatch, 0);
        CHECK(args[i].packets > 0);
        /* Every packet after the reader's start was either delivered or counted as dropped;
         * each reader ends at the last packet. */
        CHECK(args[i].packets + args[i].dropped <= RACE_PACKETS);
    }
    CHECK(args[RACE_READERS - 1].dropped > 0); /* the slow reader did fall behind */
    fprintf(stderr, "   torn copies detected and skipped: %llu\n",
            (unsigned long long)lc_stream_torn_retries(s));
    lc_stream_destroy(s);
}

LC_TEST_MAIN(TEST(test_header), TEST(test_config), TEST(test_empty_and_limits),
             TEST(test_ordering), TEST(test_wraparound), TEST(test_lag_skip),
             TEST(test_concurrent))
