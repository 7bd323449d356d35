/*
 * rtp_wire.c — the pure half of rtp/: the target URL, the RTP header, the RTCP sender report and
 * the SDP. No I/O: unit-tested (tests/rtp) and fuzzed (the URL).
 */
#include "rtp.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int lc_rtp_url_parse(const char *url, lc_rtp_url *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    if (strncmp(url, "rtp://", 6)) {
        lc_errf(why, whylen, "the URL must start with rtp:// (rtp://HOST:PORT)");
        return LC_ERR_INVALID;
    }
    const char *a = url + 6;
    size_t len = strlen(a);
    if (len && a[len - 1] == '/')
        len--; /* rtp://host:port/ is still that */
    if (memchr(a, '/', len) || memchr(a, '@', len) || memchr(a, '?', len)) {
        lc_errf(why, whylen, "rtp://HOST:PORT takes no user, path or query");
        return LC_ERR_INVALID;
    }
    char w[96];
    /* RTCP goes to PORT+1: 65535 leaves it none */
    if (lc_host_port_parse(a, len, out->host, sizeof out->host, &out->port, 0, 65534, w,
                           sizeof w)) {
        lc_errf(why, whylen, "%s (RTCP uses PORT+1)", w);
        return LC_ERR_INVALID;
    }
    bool v6 = strchr(out->host, ':') != NULL;
    snprintf(out->shown, sizeof out->shown, "rtp://%s%s%s:%u", v6 ? "[" : "", out->host,
             v6 ? "]" : "", out->port);
    return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

void lc_rtp_header(uint8_t out[LC_RTP_HEADER_LEN], bool marker, uint8_t pt, uint16_t seq,
                   uint32_t ts, uint32_t ssrc)
{
    out[0] = 0x80; /* V=2 */
    out[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
    put16(out + 2, seq);
    put32(out + 4, ts);
    put32(out + 8, ssrc);
}

size_t lc_rtcp_sender_report(uint8_t *out, size_t cap, uint32_t ssrc, uint64_t ntp,
                             uint32_t rtp_ts, uint32_t packets, uint32_t octets,
                             const char *cname)
{
    size_t clen = strlen(cname);
    if (clen > 255)
        clen = 255;
    /* SDES chunk: SSRC, CNAME item (type, length, text), a zero item, padded to 32 bits */
    size_t chunk = 4 + 2 + clen + 1;
    chunk = (chunk + 3) & ~(size_t)3;
    size_t total = 28 + 4 + chunk;
    if (cap < total)
        return 0;
    memset(out, 0, total);
    out[0] = 0x80; /* V=2, no report blocks */
    out[1] = 200;  /* SR */
    put16(out + 2, 6); /* length in 32-bit words minus one */
    put32(out + 4, ssrc);
    put32(out + 8, (uint32_t)(ntp >> 32));
    put32(out + 12, (uint32_t)ntp);
    put32(out + 16, rtp_ts);
    put32(out + 20, packets);
    put32(out + 24, octets);
    uint8_t *s = out + 28;
    s[0] = 0x81;  /* V=2, one chunk */
    s[1] = 202;   /* SDES */
    put16(s + 2, (uint16_t)(chunk / 4));
    put32(s + 4, ssrc);
    s[8] = 1; /* CNAME */
    s[9] = (uint8_t)clen;
    memcpy(s + 10, cname, clen);
    return total; /* the rest of the chunk is already zero: the end item and the padding */
}

uint64_t lc_rtp_ntp_from_unix_ns(int64_t unix_ns)
{
    const uint64_t epoch_gap = 2208988800ull; /* 1900-01-01 to 1970-01-01, in seconds */
    uint64_t ns = unix_ns > 0 ? (uint64_t)unix_ns : 0;
    uint64_t sec = ns / 1000000000ull + epoch_gap, frac_ns = ns % 1000000000ull;
    return sec << 32 | ((frac_ns << 32) / 1000000000ull);
}

int lc_rtp_sdp(char *out, size_t cap, const lc_rtp_sdp_info *in)
{
    const char *ip = strchr(in->url->host, ':') ? "IP6" : "IP4";
    int n = snprintf(out, cap,
                     "v=0\r\n"
                     "o=- %" PRIu64 " %" PRIu64 " IN %s %s\r\n"
                     "s=%s\r\n"
                     "c=IN %s %s\r\n"
                     "t=0 0\r\n"
                     "m=audio %u RTP/AVP %d\r\n"
                     "a=rtpmap:%d opus/48000/2\r\n"
                     "a=fmtp:%d sprop-stereo=%d\r\n"
                     "a=ptime:%g\r\n"
                     "a=rtcp:%u\r\n"
                     "a=sendonly\r\n",
                     in->session_id, in->session_id, ip, in->url->host, in->name, ip,
                     in->url->host, in->url->port, LC_RTP_PT_OPUS, LC_RTP_PT_OPUS, LC_RTP_PT_OPUS,
                     in->channels == 2, in->frame_ms, in->url->port + 1);
    return n < 0 || (size_t)n >= cap ? LC_ERR_LIMIT : n;
}
