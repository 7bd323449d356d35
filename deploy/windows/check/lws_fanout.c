/* lws_fanout.c — libwebsockets' Windows event loop under the load loopcast puts on it (used by
 * deploy/windows/lws_test.sh, run under Wine against lws_clients.py on the Linux side).
 *
 * Like the server: a producer thread (the encoder's place) calls lws_cancel_service() every
 * 20 ms; on LWS_CALLBACK_EVENT_WAIT_CANCELLED the service thread bumps a tick and asks for
 * WRITEABLE on every connection, which then gets "tick N". A text message from a client is
 * answered with "echo " + the message (so every connection's reads are exercised, not only its
 * writes). A connection opened as GET /quiet gets echoes only: like an idle listener it never
 * asks for WRITEABLE on its own, which is what exposes a stale WSAEventSelect registration. usage: lws_fanout.exe PORT SECONDS — prints "listening" once ready, runs SECONDS or
 * until a client sends "quit", prints a summary and exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <winsock2.h>
#include <windows.h>

#include <libwebsockets.h>

struct conn {
    int quiet;          /* opened as /quiet: gets echoes only, never asks for WRITEABLE by itself */
    unsigned last_tick; /* the tick this connection was last sent */
    size_t echo_len;    /* a pending echo, sent before the next tick */
    char echo[128];
};

static unsigned g_tick, g_conns, g_max_conns, g_echoes, g_cancels;
static struct lws *g_ticking[4096]; /* connections that get ticks (service thread only) */
static unsigned g_nticking;
static volatile LONG g_stop;

static int cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct conn *c = user;
    unsigned char buf[LWS_PRE + 160];
    int n;

    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED: {
        char uri[64] = "";
        memset(c, 0, sizeof *c);
        c->last_tick = g_tick;
        lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
        c->quiet = !strcmp(uri, "/quiet");
        if (!c->quiet && g_nticking < sizeof g_ticking / sizeof g_ticking[0])
            g_ticking[g_nticking++] = wsi;
        if (++g_conns > g_max_conns)
            g_max_conns = g_conns;
        break;
    }
    case LWS_CALLBACK_CLOSED:
        for (unsigned i = 0; i < g_nticking; i++)
            if (g_ticking[i] == wsi) {
                g_ticking[i] = g_ticking[--g_nticking];
                break;
            }
        g_conns--;
        break;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED: /* no user data here */
        g_cancels++;
        g_tick++;
        /* not lws_callback_on_writable_all_protocol(): asking for WRITEABLE re-registers a
         * socket's WSA event, which would hide a stale registration of a quiet connection */
        for (unsigned i = 0; i < g_nticking; i++)
            lws_callback_on_writable(g_ticking[i]);
        break;
    case LWS_CALLBACK_RECEIVE:
        if (len == 4 && !memcmp(in, "quit", 4))
            InterlockedExchange(&g_stop, 1);
        if (len > sizeof c->echo - 5)
            len = sizeof c->echo - 5;
        memcpy(c->echo, "echo ", 5);
        memcpy(c->echo + 5, in, len);
        c->echo_len = len + 5;
        lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (c->echo_len) { /* one lws_write per WRITEABLE */
            memcpy(buf + LWS_PRE, c->echo, c->echo_len);
            n = lws_write(wsi, buf + LWS_PRE, c->echo_len, LWS_WRITE_TEXT);
            c->echo_len = 0;
            g_echoes++;
            if (n < 0)
                return -1;
            if (c->last_tick != g_tick)
                lws_callback_on_writable(wsi);
            break;
        }
        if (c->quiet || c->last_tick == g_tick)
            break;
        c->last_tick = g_tick;
        n = snprintf((char *)buf + LWS_PRE, 32, "tick %u", g_tick);
        if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < 0)
            return -1;
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    { "fanout", cb, sizeof(struct conn), 256, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

static DWORD WINAPI producer(LPVOID arg)
{
    struct lws_context *ctx = arg;
    while (!InterlockedCompareExchange(&g_stop, 0, 0)) {
        Sleep(20);
        lws_cancel_service(ctx); /* the only lws call that is safe from another thread */
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct lws_context_creation_info info;
    int port = argc > 1 ? atoi(argv[1]) : 7681;
    double seconds = argc > 2 ? atof(argv[2]) : 20;

    memset(&info, 0, sizeof info);
    info.port = port;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
    info.iface = "127.0.0.1";
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx) {
        fprintf(stderr, "lws_fanout: lws_create_context failed\n");
        return 1;
    }
    HANDLE th = CreateThread(NULL, 0, producer, ctx, 0, NULL);
    printf("listening %d\n", port);
    fflush(stdout);
    ULONGLONG end = GetTickCount64() + (ULONGLONG)(seconds * 1000);
    while (GetTickCount64() < end && !InterlockedCompareExchange(&g_stop, 0, 0))
        if (lws_service(ctx, 0) < 0) {
            fprintf(stderr, "lws_fanout: lws_service failed\n");
            break;
        }
    InterlockedExchange(&g_stop, 1);
    WaitForSingleObject(th, INFINITE);
    CloseHandle(th);
    printf("summary ticks=%u cancels=%u max_conns=%u conns=%u echoes=%u\n", g_tick, g_cancels,
           g_max_conns, g_conns, g_echoes);
    lws_context_destroy(ctx);
    return 0;
}
