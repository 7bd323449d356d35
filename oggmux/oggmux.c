/*
 * oggmux.c — Ogg Opus framing over libogg (see oggmux.h). The two header packets are built here
 * (RFC 7845 §5: their layout is the format, not framing); pages, lacing, CRCs and sequence
 * numbers are libogg's.
 */
#include "oggmux.h"

#include <ogg/ogg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lc_oggmux {
    ogg_stream_state os;
    bool os_ready;
    lc_oggmux_config cfg;
    char title[128];
    char vendor[64];
    int64_t packetno;
    bool have_first;
    uint64_t first_pts;
};

int lc_oggmux_create(lc_oggmux **out, const lc_oggmux_config *cfg)
{
    *out = NULL;
    if (!cfg || (cfg->channels != 1 && cfg->channels != 2) || cfg->pre_skip > 65535 ||
        !cfg->frame_samples)
        return LC_ERR_INVALID;
    lc_oggmux *m = calloc(1, sizeof *m);
    if (!m)
        return LC_ERR_NOMEM;
    m->cfg = *cfg;
    snprintf(m->title, sizeof m->title, "%s", cfg->title ? cfg->title : "");
    snprintf(m->vendor, sizeof m->vendor, "%s", cfg->vendor ? cfg->vendor : "loopcast");
    if (ogg_stream_init(&m->os, (int)cfg->serial) != 0) {
        free(m);
        return LC_ERR_NOMEM;
    }
    m->os_ready = true;
    *out = m;
    return 0;
}

void lc_oggmux_destroy(lc_oggmux *m)
{
    if (!m)
        return;
    if (m->os_ready)
        ogg_stream_clear(&m->os);
    free(m);
}

static void le16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Every page libogg has ready, flushed, appended to out; the total length or LC_ERR_LIMIT. */
static long flush_pages(lc_oggmux *m, uint8_t *out, size_t cap)
{
    ogg_page pg;
    size_t n = 0;
    while (ogg_stream_flush(&m->os, &pg)) {
        size_t need = (size_t)pg.header_len + (size_t)pg.body_len;
        if (n + need > cap)
            return LC_ERR_LIMIT;
        memcpy(out + n, pg.header, (size_t)pg.header_len);
        memcpy(out + n + pg.header_len, pg.body, (size_t)pg.body_len);
        n += need;
    }
    return (long)n;
}

static int packet_in(lc_oggmux *m, uint8_t *data, size_t len, int64_t granule, bool bos)
{
    ogg_packet op = {.packet = data, .bytes = (long)len, .b_o_s = bos, .e_o_s = 0,
                     .granulepos = granule, .packetno = m->packetno++};
    return ogg_stream_packetin(&m->os, &op) == 0 ? 0 : LC_ERR_NOMEM;
}

long lc_oggmux_headers(lc_oggmux *m, uint8_t *out, size_t cap)
{
    /* OpusHead (RFC 7845 §5.1): version 1, channels, pre-skip, input rate, gain 0, family 0 */
    uint8_t head[19];
    memcpy(head, "OpusHead", 8);
    head[8] = 1;
    head[9] = (uint8_t)m->cfg.channels;
    le16(head + 10, m->cfg.pre_skip);
    le32(head + 12, 48000);
    le16(head + 16, 0);
    head[18] = 0;
    /* OpusTags (§5.2): vendor, then the comments; TITLE names the stream for a player's display */
    size_t vlen = strlen(m->vendor), tlen = strlen(m->title);
    size_t clen = tlen ? 6 + tlen : 0;
    size_t n = 8 + 4 + vlen + 4 + (clen ? 4 + clen : 0);
    uint8_t tags[8 + 4 + 64 + 4 + 4 + 6 + 128];
    memcpy(tags, "OpusTags", 8);
    le32(tags + 8, (uint32_t)vlen);
    memcpy(tags + 12, m->vendor, vlen);
    le32(tags + 12 + vlen, clen ? 1u : 0u);
    if (clen) {
        le32(tags + 16 + vlen, (uint32_t)clen);
        memcpy(tags + 20 + vlen, "TITLE=", 6);
        memcpy(tags + 26 + vlen, m->title, tlen);
    }
    /* each header packet on its own page, granule 0 (§3) */
    if (packet_in(m, head, sizeof head, 0, true))
        return LC_ERR_NOMEM;
    long a = flush_pages(m, out, cap);
    if (a < 0)
        return a;
    if (packet_in(m, tags, n, 0, false))
        return LC_ERR_NOMEM;
    long b = flush_pages(m, out + a, cap - (size_t)a);
    return b < 0 ? b : a + b;
}

long lc_oggmux_packet(lc_oggmux *m, const uint8_t *pkt, size_t len, uint64_t pts, uint8_t *out,
                      size_t cap)
{
    if (!len || len > 65025)
        return LC_ERR_INVALID;
    if (!m->have_first) {
        m->have_first = true;
        m->first_pts = pts;
    }
    if (pts < m->first_pts)
        return LC_ERR_INVALID;
    if (cap < 27u + 255u + len)
        return LC_ERR_LIMIT;
    int64_t granule = (int64_t)(pts - m->first_pts) + m->cfg.frame_samples + m->cfg.pre_skip;
    /* libogg takes a non-const pointer but only copies the bytes */
    if (packet_in(m, (uint8_t *)(uintptr_t)pkt, len, granule, false))
        return LC_ERR_NOMEM;
    return flush_pages(m, out, cap);
}
