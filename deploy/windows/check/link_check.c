/* link_check.c — every Windows dependency of loopcast, linked statically into one program and
 * used once: Opus encodes a 20 ms frame, speexdsp resamples a block, cJSON parses, OpenSSL makes
 * a TLS context, libwebsockets creates and destroys a context with OpenSSL, libqrencode encodes a
 * URL, libogg frames a packet into a page, libshout tries an Icecast login on a port where nothing
 * listens (its Winsock path, refused). Built and run under Wine by `deploy/windows/build.sh --check`; prints the versions it linked and exits 0. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <ogg/ogg.h>
#include <opus.h>
#include <qrencode.h>
#include <shout/shout.h>
#include <speex/speex_resampler.h>

static int fail(const char *what)
{
    fprintf(stderr, "link_check: FAIL: %s\n", what);
    return 1;
}

int main(void)
{
    /* opus: one 20 ms stereo frame of a 440 Hz tone */
    float pcm[960 * 2];
    for (int i = 0; i < 960; i++)
        pcm[2 * i] = pcm[2 * i + 1] = 0.5f * (float)sin(2.0 * 3.14159265358979 * 440.0 * i / 48000.0);
    int err = 0;
    OpusEncoder *enc = opus_encoder_create(48000, 2, OPUS_APPLICATION_AUDIO, &err);
    if (!enc || err != OPUS_OK)
        return fail("opus_encoder_create");
    unsigned char pkt[1500];
    opus_int32 n = opus_encode_float(enc, pcm, 960, pkt, (opus_int32)sizeof pkt);
    opus_encoder_destroy(enc);
    if (n <= 0)
        return fail("opus_encode_float");
    printf("opus:          %s, 20 ms frame -> %d bytes\n", opus_get_version_string(), (int)n);

    /* speexdsp: 44.1 kHz -> 48 kHz */
    SpeexResamplerState *rs = speex_resampler_init(2, 44100, 48000, 5, &err);
    if (!rs)
        return fail("speex_resampler_init");
    float in[441 * 2], out[600 * 2];
    memset(in, 0, sizeof in);
    spx_uint32_t in_len = 441, out_len = 600;
    speex_resampler_process_interleaved_float(rs, in, &in_len, out, &out_len);
    speex_resampler_destroy(rs);
    printf("speexdsp:      441 frames at 44.1 kHz -> %u at 48 kHz\n", (unsigned)out_len);

    /* cJSON */
    cJSON *j = cJSON_ParseWithOpts("{\"volume\":40,\"name\":\"Kitchen\"}", NULL, 1);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "volume");
    if (!cJSON_IsNumber(v) || v->valueint != 40)
        return fail("cJSON_ParseWithOpts");
    cJSON_Delete(j);
    printf("cJSON:         %s\n", cJSON_Version());

    /* OpenSSL */
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return fail("SSL_CTX_new");
    SSL_CTX_free(ctx);
    printf("OpenSSL:       %s\n", OpenSSL_version(OPENSSL_VERSION));

    /* libwebsockets: a context with TLS (OpenSSL) initialised, no listener */
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    struct lws_context *lc = lws_create_context(&info);
    if (!lc)
        return fail("lws_create_context");
    lws_context_destroy(lc);
    printf("libwebsockets: %s, context with OpenSSL created and destroyed\n",
           lws_get_library_version());
    /* libqrencode: a LAN URL, as the server's start-up QR code */
    QRcode *qr = QRcode_encodeString("http://192.168.1.10:8080/", 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!qr)
        return fail("QRcode_encodeString");
    printf("libqrencode:   %s, version %d symbol, %d modules a side\n", QRcode_APIVersionString(),
           qr->version, qr->width);
    QRcode_free(qr);
    /* libogg: one packet, one page (the Ogg Opus output's framing) */
    ogg_stream_state os;
    ogg_page pg;
    unsigned char opkt[3] = {0xfc, 0xff, 0xfe};
    ogg_packet op = {.packet = opkt, .bytes = 3, .b_o_s = 1, .granulepos = 960};
    if (ogg_stream_init(&os, 1234) || ogg_stream_packetin(&os, &op) || !ogg_stream_flush(&os, &pg))
        return fail("libogg");
    printf("libogg:        a page of %ld bytes, crc set\n", pg.header_len + pg.body_len);
    ogg_stream_clear(&os);
    /* libshout: a login to a port where nothing listens must be refused, not hang */
    shout_init();
    shout_t *sh = shout_new();
    if (!sh || shout_set_host(sh, "127.0.0.1") || shout_set_port(sh, 9) ||
        shout_set_password(sh, "x") || shout_set_mount(sh, "/check.opus") ||
        shout_set_content_format(sh, SHOUT_FORMAT_OGG, SHOUT_USAGE_AUDIO, NULL))
        return fail("libshout settings");
    int src = shout_open(sh);
    if (src != SHOUTERR_NOCONNECT && src != SHOUTERR_SOCKET)
        return fail("libshout: a connect to a closed port was not refused");
    printf("libshout:      %s, a login to a closed port refused (%s)\n", shout_version(NULL, NULL, NULL),
           shout_get_error(sh));
    printf("link_check: ok\n");
    return 0;
}
