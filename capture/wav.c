/*
 * wav.c — a RIFF/WAVE header parser that treats every byte as hostile.
 *
 * All offsets are uint64_t and every read is checked against `len` before it happens, so no
 * chunk length (up to 4 GiB) can make an index wrap or reach past the buffer. The parser stops at
 * the first "data" chunk: the samples themselves are never inspected, only located. Fields that
 * real writers commonly get wrong without harm (the RIFF length, a data length past the end of a
 * truncated recording) are clamped; fields that would make us misread samples (block_align,
 * sample width, tag) are rejected.
 */
#include "capture.h"

#include <ctype.h>
#include <string.h>

#define WAVE_FORMAT_PCM 0x0001u
#define WAVE_FORMAT_IEEE_FLOAT 0x0003u
#define WAVE_FORMAT_EXTENSIBLE 0xFFFEu

/* KSDATAFORMAT_SUBTYPE_* is this GUID with the format tag in its first two bytes. */
static const uint8_t lc_ks_guid_tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                            0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A chunk id as printable text for messages: the bytes come from the file. */
static void lc_fourcc(const uint8_t *p, char out[5])
{
    for (int i = 0; i < 4; i++)
        out[i] = isprint(p[i]) ? (char)p[i] : '?';
    out[4] = 0;
}

static int lc_wav_fmt(const uint8_t *c, uint32_t size, lc_wav_info *out, char *errbuf,
                      size_t errlen)
{
    if (size < 16) {
        lc_errf(errbuf, errlen, "WAV: fmt chunk too short (%u bytes, need 16)", size);
        return LC_ERR_FORMAT;
    }
    unsigned tag = rd16(c), channels = rd16(c + 2), bits = rd16(c + 14);
    uint32_t rate = rd32(c + 4);
    unsigned block_align = rd16(c + 12);
    unsigned valid_bits = bits;

    if (tag == WAVE_FORMAT_EXTENSIBLE) {
        if (size < 40 || rd16(c + 16) < 22) {
            lc_errf(errbuf, errlen, "WAV: WAVE_FORMAT_EXTENSIBLE fmt chunk too short (%u bytes)",
                    size);
            return LC_ERR_FORMAT;
        }
        valid_bits = rd16(c + 18);
        const uint8_t *guid = c + 24;
        if (memcmp(guid + 2, lc_ks_guid_tail, sizeof lc_ks_guid_tail) != 0) {
            lc_errf(errbuf, errlen, "WAV: unsupported WAVE_FORMAT_EXTENSIBLE sub-format GUID");
            return LC_ERR_FORMAT;
        }
        tag = rd16(guid);
        if (tag != WAVE_FORMAT_PCM && tag != WAVE_FORMAT_IEEE_FLOAT) {
            lc_errf(errbuf, errlen, "WAV: unsupported WAVE_FORMAT_EXTENSIBLE sub-format 0x%04x",
                    tag);
            return LC_ERR_FORMAT;
        }
        if (valid_bits == 0 || valid_bits > bits) {
            lc_errf(errbuf, errlen, "WAV: %u valid bits in a %u-bit container", valid_bits, bits);
            return LC_ERR_FORMAT;
        }
    }
    if (channels == 0 || channels > LC_MAX_CHANNELS) {
        lc_errf(errbuf, errlen, "WAV: %u channels (supported: 1..%u)", channels, LC_MAX_CHANNELS);
        return LC_ERR_FORMAT;
    }
    if (rate == 0 || rate > LC_MAX_RATE) {
        lc_errf(errbuf, errlen, "WAV: sample rate %u Hz (supported: 1..%u)", rate, LC_MAX_RATE);
        return LC_ERR_FORMAT;
    }
    if (tag == WAVE_FORMAT_PCM) {
        switch (bits) {
        case 8: out->sample = LC_SAMPLE_U8; break;
        case 16: out->sample = LC_SAMPLE_S16LE; break;
        case 24: out->sample = LC_SAMPLE_S24LE; break;
        /* WAV puts fewer valid bits in the high end of the container, so 24-in-32 reads as s32 */
        case 32: out->sample = LC_SAMPLE_S32LE; break;
        default:
            lc_errf(errbuf, errlen, "WAV: unsupported PCM sample width %u bits", bits);
            return LC_ERR_FORMAT;
        }
    } else if (tag == WAVE_FORMAT_IEEE_FLOAT) {
        if (bits != 32) {
            lc_errf(errbuf, errlen, "WAV: unsupported float sample width %u bits", bits);
            return LC_ERR_FORMAT;
        }
        out->sample = LC_SAMPLE_F32LE;
    } else {
        lc_errf(errbuf, errlen, "WAV: unsupported format tag 0x%04x (need PCM, float or "
                "extensible)", tag);
        return LC_ERR_FORMAT;
    }
    size_t want = lc_sample_bytes(out->sample) * channels;
    if (block_align != want) {
        lc_errf(errbuf, errlen, "WAV: block_align %u does not match %u channels x %u bits",
                block_align, channels, bits);
        return LC_ERR_FORMAT;
    }
    out->format.rate = rate;
    out->format.channels = channels;
    return 0;
}

int lc_wav_parse(const uint8_t *buf, size_t len, uint64_t file_size, lc_wav_info *out,
                 char *errbuf, size_t errlen)
{
    if (!buf || !out) {
        lc_errf(errbuf, errlen, "WAV: no buffer");
        return LC_ERR_INVALID;
    }
    memset(out, 0, sizeof *out);
    if ((uint64_t)len > file_size)
        len = (size_t)file_size;
    if (len < 12) {
        lc_errf(errbuf, errlen, "WAV: truncated RIFF header (%zu bytes)", len);
        return LC_ERR_FORMAT;
    }
    if (memcmp(buf, "RIFF", 4) != 0 || memcmp(buf + 8, "WAVE", 4) != 0) {
        lc_errf(errbuf, errlen, "WAV: not a RIFF/WAVE file (bad magic)");
        return LC_ERR_FORMAT;
    }
    int have_fmt = 0;
    uint64_t off = 12;
    for (;;) {
        if (off + 8 > len) {
            if (off + 8 > file_size)
                lc_errf(errbuf, errlen, "WAV: truncated: no %s chunk", have_fmt ? "data" : "fmt");
            else
                lc_errf(errbuf, errlen, "WAV: no %s chunk in the first %zu bytes",
                        have_fmt ? "data" : "fmt", len);
            return LC_ERR_FORMAT;
        }
        const uint8_t *c = buf + off;
        uint32_t size = rd32(c + 4);
        char id[5];
        lc_fourcc(c, id);
        if (!memcmp(c, "fmt ", 4)) {
            if (have_fmt) {
                lc_errf(errbuf, errlen, "WAV: two fmt chunks");
                return LC_ERR_FORMAT;
            }
            if (off + 8 + size > len) {
                lc_errf(errbuf, errlen, "WAV: truncated fmt chunk (%u bytes declared, %llu "
                        "present)", size, (unsigned long long)(len - off - 8));
                return LC_ERR_FORMAT;
            }
            int rc = lc_wav_fmt(c + 8, size, out, errbuf, errlen);
            if (rc < 0)
                return rc;
            have_fmt = 1;
        } else if (!memcmp(c, "data", 4)) {
            if (!have_fmt) {
                lc_errf(errbuf, errlen, "WAV: data chunk before fmt chunk");
                return LC_ERR_FORMAT;
            }
            uint64_t start = off + 8, avail = file_size - start, bytes = size;
            /* streaming writers leave 0 or 0xFFFFFFFF here; a cut recording has the full
             * length: in every case what the file really holds is the truth */
            if (bytes > avail)
                bytes = avail;
            uint64_t ba = lc_sample_bytes(out->sample) * out->format.channels;
            bytes -= bytes % ba;
            out->data_offset = start;
            out->data_bytes = bytes;
            out->frames = bytes / ba;
            return 0;
        }
        /* chunks are padded to even length; the pad byte is not in `size` */
        uint64_t next = off + 8 + (uint64_t)size + (size & 1u);
        if (next > file_size) {
            lc_errf(errbuf, errlen, "WAV: chunk '%s' (%u bytes) extends past the end of the "
                    "file", id, size);
            return LC_ERR_FORMAT;
        }
        off = next;
    }
}

static void wr16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void wr32(uint8_t *p, uint64_t v)
{
    if (v > 0xffffffffu)
        v = 0xffffffffu;
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void lc_wav_header(uint8_t hdr[44], const lc_format *fmt, int float32, uint64_t frames)
{
    unsigned bytes = float32 ? 4 : 2;
    uint64_t data = frames * fmt->channels * bytes;
    memcpy(hdr, "RIFF", 4);
    wr32(hdr + 4, 36 + data);
    memcpy(hdr + 8, "WAVEfmt ", 8);
    wr32(hdr + 16, 16);
    wr16(hdr + 20, float32 ? WAVE_FORMAT_IEEE_FLOAT : WAVE_FORMAT_PCM);
    wr16(hdr + 22, fmt->channels);
    wr32(hdr + 24, fmt->rate);
    wr32(hdr + 28, (uint64_t)fmt->rate * fmt->channels * bytes);
    wr16(hdr + 32, fmt->channels * bytes);
    wr16(hdr + 34, bytes * 8);
    memcpy(hdr + 36, "data", 4);
    wr32(hdr + 40, data);
}
