/*
 * ws_close.c — how both WebSocket protocols (audio, events) close a connection, so they close
 * the same way: 1001 at once while the server stops; a refusal's close frame sent first, then
 * the connection kept until the client answers or 2 s pass (see lc_ws_close_pending).
 */
#include "internal.h"

#include <string.h>

/* The close opcode for lws_write: value 4 of enum lws_write_protocol, which 4.1's header leaves
 * unnamed ("handled by lws_close_reason()") but its ws writer maps to the close opcode. */
#define LC_LWS_WRITE_CLOSE ((enum lws_write_protocol)4)

int lc_ws_close_pending(struct lws *wsi, const lc_server *srv, uint16_t code, const char *why,
                        bool *close_sent)
{
    if (*close_sent)
        return 2; /* waiting for the client's answer: nothing more goes out */
    if (!why)
        why = "";
    if (!code && lc_server_stopping(srv)) {
        /* Shutting down: no time to wait for answers (SIGTERM must exit within 2 s). */
        lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)"server shutting down",
                         strlen("server shutting down"));
        return 1;
    }
    if (!code)
        return 0;
    /*
     * A refusal: the close frame goes out now, and the connection stays open, its input read
     * and dropped, until the client answers with its own close (lws then hangs up) or 2 s pass.
     * Hanging up at once (lws_close_reason + -1) closes the socket with the client's unread
     * messages in it, which makes the kernel send RST instead of FIN, and the RST can destroy
     * our close frame before the client reads it: a client flooding messages (the very one the
     * rate limit closes) would see 1006 instead of 1008 "rate limit".
     */
    uint8_t buf[LWS_PRE + 125];
    size_t n = strlen(why);
    if (n > 123)
        n = 123; /* a control frame's payload is at most 125 bytes */
    buf[LWS_PRE] = (uint8_t)(code >> 8);
    buf[LWS_PRE + 1] = (uint8_t)(code & 0xff);
    memcpy(buf + LWS_PRE + 2, why, n);
    /* lws 4.1 has no public way to send a close and then wait (lws_close_reason + -1 hangs up
     * at once, and an async kill drops the reason): the close frame is written as a control
     * frame of its own; lws answers the client's close when it comes. */
    if (lws_write(wsi, buf + LWS_PRE, 2 + n, LC_LWS_WRITE_CLOSE) < 0)
        return 1;
    lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_ACK, 2);
    *close_sent = true;
    return 2;
}
