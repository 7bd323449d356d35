/*
 * wav_build.h — builds WAV files byte by byte for the capture tests, including broken ones.
 * Header-only (static functions) so each test binary takes what it uses.
 */
#ifndef LC_WAV_BUILD_H
#define LC_WAV_BUILD_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    uint8_t b[1 << 20];
    size_t n;
} wbuf;

static inline void wb_bytes(wbuf *w, const void *p, size_t n)
{
    memcpy(w->b + w->n, p, n);
    w->n += n;
}
static inline void wb_u16(wbuf *w, unsigned v)
{
    w->b[w->n++] = (uint8_t)v;
    w->b[w->n++] = (uint8_t)(v >> 8);
}
static inline void wb_u32(wbuf *w, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        w->b[w->n++] = (uint8_t)(v >> (8 * i));
}
static inline void wb_put_u32(wbuf *w, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        w->b[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

typedef struct {
    unsigned tag;        /* 1 PCM, 3 float, 0xFFFE extensible */
    unsigned channels;
    uint32_t rate;
    unsigned bits;       /* container bits */
    unsigned block_align;/* 0 = computed */
    unsigned sub_tag;    /* extensible: 1 or 3 */
    unsigned valid_bits; /* extensible: 0 = bits */
} wfmt;

/* "RIFF....WAVE" + fmt chunk (16 bytes, or 40 for extensible). Returns the RIFF size offset. */
static inline size_t wb_head(wbuf *w, const wfmt *f)
{
    w->n = 0;
    wb_bytes(w, "RIFF", 4);
    wb_u32(w, 0);
    wb_bytes(w, "WAVE", 4);
    wb_bytes(w, "fmt ", 4);
    int ext = f->tag == 0xFFFE;
    wb_u32(w, ext ? 40 : 16);
    unsigned ba = f->block_align ? f->block_align : f->channels * (f->bits / 8);
    wb_u16(w, f->tag);
    wb_u16(w, f->channels);
    wb_u32(w, f->rate);
    wb_u32(w, f->rate * ba);
    wb_u16(w, ba);
    wb_u16(w, f->bits);
    if (ext) {
        static const uint8_t tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                         0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};
        wb_u16(w, 22);
        wb_u16(w, f->valid_bits ? f->valid_bits : f->bits);
        wb_u32(w, f->channels == 2 ? 3 : 4); /* channel mask */
        wb_u16(w, f->sub_tag);
        wb_bytes(w, tail, sizeof tail);
    }
    return 4;
}

/* Appends a data chunk with `bytes` of payload (declared as `declared`). */
static inline void wb_data(wbuf *w, const void *payload, size_t bytes, uint32_t declared)
{
    wb_bytes(w, "data", 4);
    wb_u32(w, declared);
    if (bytes)
        wb_bytes(w, payload, bytes);
    wb_put_u32(w, 4, (uint32_t)(w->n - 8));
}

static inline int wb_save(const wbuf *w, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t k = fwrite(w->b, 1, w->n, f);
    return fclose(f) == 0 && k == w->n ? 0 : -1;
}

#endif
