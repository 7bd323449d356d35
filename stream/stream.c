/*
 * stream.c — the packet ring (see stream.h for the contract).
 *
 * Each slot is a seqlock cell:
 *
 *   gen   2p+1 while the writer fills it with ring position p, 2p+2 once position p is complete
 *         (0: never written). So one number says both "busy" and "which packet is in here".
 *   len   bytes of the packet
 *   words the packet, as atomic 64-bit words
 *
 * Writer: gen = 2p+1; len and words stored with RELEASE; gen = 2p+2 (release); head = p+1
 *         (release).
 * Reader: g1 = gen (acquire), must be 2c+2 for its cursor c; len and words loaded with ACQUIRE;
 *         g2 = gen (relaxed); g1 == g2 means the copy is whole.
 * Why it holds without fences: if the reader loads any word the next writer already stored,
 * that acquire load synchronises with the word's release store, so the writer's earlier
 * "gen = odd" happens-before the reader's re-load of gen, which then cannot still equal g1.
 * (Boehm's fence formulation would do too, but GCC's TSan does not model atomic_thread_fence;
 * this one is checked by TSan and costs nothing on x86-64, where acquire/release are plain movs.)
 *
 * The payload is copied with atomic word loads instead of memcpy so that the race a seqlock is
 * built on is not a C11 data race (no undefined behaviour, nothing for TSan to excuse).
 */
#include "stream.h"
#include "platform.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    /* Guard: written only by the writer thread; the seqlock itself (see above). */
    _Atomic uint64_t gen;
    /* Guard: gen (stored between the odd and even gen stores). */
    _Atomic uint64_t len;
    /* Guard: gen. ceil(max_packet / 8) words follow. */
    _Atomic uint64_t words[];
} slot;

struct lc_stream {
    lc_stream_config cfg; /* immutable after create */
    uint64_t mask;        /* slots - 1; immutable */
    size_t stride;        /* bytes per slot, multiple of 64 (one slot never shares a line's tail
                           * with the next slot's gen); immutable */
    unsigned char *cells; /* slots * stride bytes; contents guarded per slot by gen */
    uint8_t *scratch;     /* writer thread only: header + payload staged by publish_audio */
    /* Guard: atomic. Written by the writer only (release), read by everyone (acquire): the
     * number of packets published = ring position of the next one. Own cache line so readers
     * polling it do not bounce the line holding the writer's other data. */
    _Alignas(64) _Atomic uint64_t head;
    /* Guard: atomic, relaxed: a diagnostic counter bumped by readers. */
    _Alignas(64) _Atomic uint64_t torn;
};

static inline slot *slot_at(const lc_stream *s, uint64_t pos)
{
    return (slot *)(void *)(s->cells + (size_t)(pos & s->mask) * s->stride);
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

void lc_stream_header_write(uint8_t out[LC_STREAM_HEADER_LEN], uint8_t flags, uint32_t seq,
                            uint64_t pts, uint64_t capture_ns)
{
    out[0] = LC_STREAM_KIND_OPUS;
    out[1] = flags;
    put_le16(out + 2, LC_STREAM_HEADER_LEN);
    put_le32(out + 4, seq);
    put_le64(out + 8, pts);
    put_le64(out + 16, capture_ns);
}

int lc_stream_header_parse(const uint8_t *buf, size_t len, lc_stream_header *out)
{
    if (!buf || !out || len < LC_STREAM_HEADER_LEN)
        return LC_ERR_PARSE;
    out->kind = buf[0];
    out->flags = buf[1];
    out->header_len = (uint16_t)get_le(buf + 2, 2);
    out->seq = (uint32_t)get_le(buf + 4, 4);
    out->pts = get_le(buf + 8, 8);
    out->capture_ns = get_le(buf + 16, 8);
    if (out->header_len < LC_STREAM_HEADER_LEN || out->header_len > len)
        return LC_ERR_PARSE;
    return 0;
}

void lc_stream_config_default(lc_stream_config *cfg)
{
    cfg->slots = 1024;
    cfg->max_lag = 512;
    cfg->max_packet = LC_STREAM_MAX_PACKET;
}

int lc_stream_config_check(const lc_stream_config *cfg, char *errbuf, size_t errlen)
{
    if (!cfg)
        return LC_ERR_INVALID;
    if (cfg->slots < 8 || cfg->slots > 65536 || (cfg->slots & (cfg->slots - 1))) {
        lc_errf(errbuf, errlen, "slots %u: must be a power of two in 8..65536", cfg->slots);
        return LC_ERR_INVALID;
    }
    /* Half the ring is headroom: a reader at most max_lag behind copies a slot the writer
     * reaches only after slots - max_lag more packets, so torn copies stay rare. */
    if (cfg->max_lag < 1 || cfg->max_lag > cfg->slots / 2) {
        lc_errf(errbuf, errlen, "max_lag %u: must be 1..%u (half the slots)", cfg->max_lag,
                cfg->slots / 2);
        return LC_ERR_INVALID;
    }
    if (cfg->max_packet <= LC_STREAM_HEADER_LEN || cfg->max_packet > LC_STREAM_MAX_PACKET) {
        lc_errf(errbuf, errlen, "max_packet %u: must be %u..%u", cfg->max_packet,
                LC_STREAM_HEADER_LEN + 1, LC_STREAM_MAX_PACKET);
        return LC_ERR_INVALID;
    }
    return 0;
}

uint32_t lc_stream_slots_for(uint32_t n)
{
    uint32_t s = 8;
    while (s < n && s < 65536)
        s <<= 1;
    return s;
}

int lc_stream_create(lc_stream **out, const lc_stream_config *cfg)
{
    lc_stream *s = NULL;
    lc_stream_config def;
    if (!out)
        return LC_ERR_INVALID;
    *out = NULL;
    if (!cfg) {
        lc_stream_config_default(&def);
        cfg = &def;
    }
    if (lc_stream_config_check(cfg, NULL, 0))
        return LC_ERR_INVALID;

    s = lc_plat_aligned_alloc(64, sizeof *s);
    if (!s)
        return LC_ERR_NOMEM;
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->mask = cfg->slots - 1u;
    size_t words = (cfg->max_packet + 7u) / 8u;
    s->stride = (sizeof(slot) + words * sizeof(uint64_t) + 63u) & ~(size_t)63u;
    s->cells = lc_plat_aligned_alloc(64, s->stride * cfg->slots);
    s->scratch = malloc(cfg->max_packet);
    if (!s->cells || !s->scratch)
        goto fail;
    /* Zeroed memory is gen 0 = "never written" for every slot; the initialisation is published
     * to readers by whatever hands them the lc_stream pointer (thread creation, a mutex). */
    memset(s->cells, 0, s->stride * cfg->slots);
    atomic_init(&s->head, 0);
    atomic_init(&s->torn, 0);
    *out = s;
    return 0;
fail:
    lc_stream_destroy(s);
    return LC_ERR_NOMEM;
}

void lc_stream_destroy(lc_stream *s)
{
    if (!s)
        return;
    lc_plat_aligned_free(s->cells);
    free(s->scratch);
    lc_plat_aligned_free(s);
}

int lc_stream_publish(lc_stream *s, const uint8_t *pkt, size_t len)
{
    if (!s || !pkt || len == 0)
        return LC_ERR_INVALID;
    if (len > s->cfg.max_packet)
        return LC_ERR_LIMIT;
    /* Only this thread writes head, so a relaxed load reads our own last store. */
    uint64_t p = atomic_load_explicit(&s->head, memory_order_relaxed);
    slot *c = slot_at(s, p);

    /* The odd gen is ordered before every payload store by those stores' release: a reader
     * that sees any new word also sees the slot marked busy when it re-checks gen. */
    atomic_store_explicit(&c->gen, 2 * p + 1, memory_order_relaxed);
    atomic_store_explicit(&c->len, len, memory_order_release);
    size_t full = len / 8, i;
    for (i = 0; i < full; i++) {
        uint64_t w;
        memcpy(&w, pkt + i * 8, 8);
        atomic_store_explicit(&c->words[i], w, memory_order_release);
    }
    if (len % 8) {
        uint64_t w = 0;
        memcpy(&w, pkt + i * 8, len % 8);
        atomic_store_explicit(&c->words[i], w, memory_order_release);
    }
    atomic_store_explicit(&c->gen, 2 * p + 2, memory_order_release);
    atomic_store_explicit(&s->head, p + 1, memory_order_release);
    return 0;
}

int lc_stream_publish_audio(lc_stream *s, uint32_t seq, uint64_t pts, uint64_t capture_ns,
                            const uint8_t *opus, size_t len)
{
    if (!s || (!opus && len))
        return LC_ERR_INVALID;
    if (len > s->cfg.max_packet - LC_STREAM_HEADER_LEN)
        return LC_ERR_LIMIT;
    /* Staged in a writer-owned buffer (allocated at create) so the slot is written in one
     * sweep of whole words. */
    lc_stream_header_write(s->scratch, 0, seq, pts, capture_ns);
    if (len)
        memcpy(s->scratch + LC_STREAM_HEADER_LEN, opus, len);
    return lc_stream_publish(s, s->scratch, LC_STREAM_HEADER_LEN + len);
}

uint64_t lc_stream_cursor_new(const lc_stream *s)
{
    uint64_t h = atomic_load_explicit(&s->head, memory_order_acquire);
    return h ? h - 1 : 0;
}

uint64_t lc_stream_published(const lc_stream *s)
{
    return atomic_load_explicit(&s->head, memory_order_acquire);
}

uint64_t lc_stream_pending(const lc_stream *s, uint64_t cursor)
{
    uint64_t h = atomic_load_explicit(&s->head, memory_order_acquire);
    return h > cursor ? h - cursor : 0;
}

uint64_t lc_stream_torn_retries(const lc_stream *s)
{
    return atomic_load_explicit(&((lc_stream *)s)->torn, memory_order_relaxed);
}

const lc_stream_config *lc_stream_get_config(const lc_stream *s) { return &s->cfg; }

/* Copies slot `pos` into out. 1 = whole copy of position pos; 0 = the slot no longer (or not
 * yet) holds pos, or was overwritten during the copy. */
static int copy_slot(const lc_stream *s, uint64_t pos, uint8_t *out, size_t *len)
{
    slot *c = slot_at(s, pos);
    uint64_t g1 = atomic_load_explicit(&c->gen, memory_order_acquire);
    if (g1 != 2 * pos + 2)
        return 0;
    uint64_t n = atomic_load_explicit(&c->len, memory_order_acquire);
    if (n == 0 || n > s->cfg.max_packet)
        return 0; /* only possible mid-overwrite; the gen re-check would fail too */
    size_t full = (size_t)n / 8, i;
    for (i = 0; i < full; i++) {
        uint64_t w = atomic_load_explicit(&c->words[i], memory_order_acquire);
        memcpy(out + i * 8, &w, 8);
    }
    if (n % 8) {
        uint64_t w = atomic_load_explicit(&c->words[i], memory_order_acquire);
        memcpy(out + i * 8, &w, (size_t)n % 8);
    }
    /* The acquire loads above keep this re-check after them: if the writer touched the slot
     * during the copy, we see gen moved on. */
    if (atomic_load_explicit(&c->gen, memory_order_relaxed) != g1)
        return 0;
    *len = (size_t)n;
    return 1;
}

int lc_stream_read(const lc_stream *s, uint64_t *cursor, uint8_t *out, size_t cap, size_t *len,
                   uint32_t *dropped)
{
    if (!s || !cursor || !out || !len)
        return LC_ERR_INVALID;
    if (cap < s->cfg.max_packet)
        return LC_ERR_INVALID;
    uint64_t c = *cursor, skipped = 0;
    for (;;) {
        uint64_t h = atomic_load_explicit(&s->head, memory_order_acquire);
        if (c >= h) {
            /* Nothing new (skipped is always 0 here: every skip lands below head). A cursor
             * from the future (only a caller bug makes one) is clamped. */
            *cursor = h < c ? h : c;
            return LC_ERR_AGAIN;
        }
        if (h - c > s->cfg.max_lag) {
            /* Too far behind: jump to the newest packet. */
            skipped += (h - 1) - c;
            c = h - 1;
        }
        if (copy_slot(s, c, out, len))
            break;
        /* The writer lapped us between the head load and the end of the copy, so position c
         * is gone: we are at least a whole ring behind. Jump to the newest packet; head-1 is
         * always complete because head is stored after its slot's final gen. */
        atomic_fetch_add_explicit(&((lc_stream *)s)->torn, 1, memory_order_relaxed);
        h = atomic_load_explicit(&s->head, memory_order_acquire);
        if (h - 1 > c) {
            skipped += (h - 1) - c;
            c = h - 1;
        }
    }
    *cursor = c + 1;
    if (skipped) {
        out[1] |= LC_STREAM_FLAG_DISCONTINUITY;
    }
    if (dropped)
        *dropped = skipped > UINT32_MAX ? UINT32_MAX : (uint32_t)skipped;
    return 0;
}
