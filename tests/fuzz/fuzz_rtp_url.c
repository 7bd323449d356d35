/*
 * fuzz_rtp_url.c — lc_rtp_url_parse (--rtp, LOOPCAST_RTP) on arbitrary text (cut at the first
 * NUL). What it accepts is handed to getaddrinfo and written into the SDP, so:
 *   success: port 1..65534 (RTCP takes PORT+1); the host non-empty, printable ASCII with no
 *            space, '@', '/', '?' or '#'; `shown` is rtp://…:PORT naming the host; the SDP
 *            written for it fits and names the port and the host;
 *   failure: LC_ERR_INVALID with a message.
 */
#include "rtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    lc_rtp_url u;
    char why[256], sdp[2048], m[32];
    why[0] = '\0';
    int rc = lc_rtp_url_parse(text, &u, why, sizeof why);
    if (rc == 0) {
        if (u.port < 1 || u.port > 65534 || !u.host[0] || strncmp(u.shown, "rtp://", 6) ||
            !strstr(u.shown, u.host))
            abort();
        for (const char *c = u.host; *c; c++)
            if (*c <= 0x20 || *c >= 0x7f || strchr("@/?#", *c))
                abort();
        lc_rtp_sdp_info in = {.url = &u, .name = "fuzz", .channels = 2, .frame_ms = 20,
                              .session_id = 1};
        int n = lc_rtp_sdp(sdp, sizeof sdp, &in);
        snprintf(m, sizeof m, "m=audio %u ", u.port);
        if (n <= 0 || !strstr(sdp, m) || !strstr(sdp, u.host))
            abort();
    } else if (rc != LC_ERR_INVALID || !why[0]) {
        abort();
    }
    free(text);
    return 0;
}
