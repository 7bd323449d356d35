/*
 * bare.c — `loopcast-bench bare`: the reference "bare fan-out loop" that docs/performance.md
 * compares loopcast's server against. It is the least a server can do to deliver one packet per
 * frame to N WebSocket listeners, so the difference between its figures and loopcast's (measured
 * by the same `loopcast-bench listeners` client) is what loopcast and libwebsockets add.
 *
 * One thread, Linux epoll, no library but OpenSSL (the handshake's SHA-1 and base64):
 *   - a listening TCP socket on 127.0.0.1:--port; each client's HTTP upgrade is
 *     answered with 101 (Sec-WebSocket-Accept, and the "loopcast.v1" subprotocol when asked),
 *     followed at once by a hello text message with the fields listeners.c reads
 *     (codec.frame_samples, codec.channels; docs/protocol.md);
 *   - a timerfd on CLOCK_MONOTONIC with absolute deadlines t0 + k × frame: each expiry builds ONE
 *     binary message (the 24-byte packet header of docs/protocol.md + a fixed byte pattern of
 *     --packet-bytes, no real Opus) and send()s that same buffer to every client, non-blocking;
 *   - capture_ns is the tick's deadline minus one frame, so the client's "capture of the last
 *     sample -> arrival" delay is here "deadline -> arrival": timer wake-up plus fan-out;
 *   - a send that would block drops that client's frame for this tick (counted; the client sees a
 *     seq gap, no discontinuity flag); a partial send keeps the frame's tail, flushed before the
 *     next frame; a late timer (several expiries at once) sends every frame it owes, as loopcast's
 *     packet ring does, up to one second of them (older ones are skipped: a seq gap);
 *   - client messages are read and discarded, except a close, which is answered and closed.
 * Unlike loopcast it leaves SO_SNDBUF at the kernel default and has no per-client state beyond a
 * socket, so it is a floor, not a like-for-like server. At exit (SIGINT/SIGTERM or --seconds) it
 * prints one summary line with the process's CPU time (getrusage) and CPU per delivered frame.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "codec.h"

#define HDR_LEN 24u
#define RX_MAX 4096u /* an upgrade request or a client message larger than this closes it */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

typedef struct client {
    int fd;           /* -1: slot free */
    bool open;        /* upgraded: in the fan-out list */
    unsigned idx;     /* its position in S.list while open */
    uint8_t *rx;      /* request, then client messages; NULL while nothing is pending */
    size_t rx_len;
    uint8_t *tail;    /* unsent end of a partly sent frame */
    size_t tail_len;
} client;

static struct {
    int port;
    uint32_t frame_us, bitrate;
    size_t packet_bytes;
    double seconds;
    int ep, lfd, tfd;
    bool accept_paused;
    client *tab; /* indexed by fd */
    int *list;   /* fds of open clients, in fan-out order */
    unsigned nfds, nopen, max_open;
    uint8_t *frame; /* WebSocket header + packet header + payload */
    size_t frame_len, ws_hl;
    uint64_t t0, t_end, expirations;
    uint64_t accepted, ticks, late, skipped, sent, dropped, partial;
} S;

static volatile sig_atomic_t stop;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void wr_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Server frames are unmasked; every message here is < 64 KiB. */
static size_t ws_header(uint8_t *h, uint8_t opcode, size_t len)
{
    h[0] = (uint8_t)(0x80u | opcode);
    if (len < 126) {
        h[1] = (uint8_t)len;
        return 2;
    }
    h[1] = 126;
    h[2] = (uint8_t)(len >> 8);
    h[3] = (uint8_t)len;
    return 4;
}

static void close_client(client *c)
{
    if (c->open) {
        int last = S.list[--S.nopen];
        S.list[c->idx] = last;
        S.tab[last].idx = c->idx;
    }
    close(c->fd); /* also leaves the epoll set */
    free(c->rx);
    free(c->tail);
    memset(c, 0, sizeof *c);
    c->fd = -1;
    if (S.accept_paused) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = S.lfd};
        S.accept_paused = epoll_ctl(S.ep, EPOLL_CTL_ADD, S.lfd, &ev) != 0;
    }
}

/* Value of header NAME in the request (CRLF-separated, NUL-terminated), or false. */
static bool header(const char *req, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    for (const char *l = strstr(req, "\r\n"); l && l[2] != '\r'; l = strstr(l + 2, "\r\n")) {
        const char *h = l + 2;
        if (strncasecmp(h, name, nl) || h[nl] != ':')
            continue;
        h += nl + 1;
        h += strspn(h, " \t");
        size_t n = strcspn(h, "\r");
        while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
            n--;
        if (n >= outlen)
            return false;
        memcpy(out, h, n);
        out[n] = 0;
        return true;
    }
    return false;
}

/* A complete request in c->rx: answer 101 + hello (or 400 and close). -1 if closed. */
static int handshake(client *c)
{
    char *req = (char *)c->rx, key[128], proto[256] = "";
    req[c->rx_len] = 0;
    if (!strstr(req, "\r\n\r\n")) {
        if (c->rx_len < RX_MAX)
            return 0; /* wait for the rest */
        close_client(c);
        return -1;
    }
    if (strncmp(req, "GET ", 4) || !header(req, "Sec-WebSocket-Key", key, sizeof key - 40)) {
        static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        (void)!send(c->fd, bad, sizeof bad - 1, MSG_NOSIGNAL);
        close_client(c);
        return -1;
    }
    header(req, "Sec-WebSocket-Protocol", proto, sizeof proto);
    bool v1 = strstr(proto, "loopcast.v1") != NULL; /* the one protocol we speak */
    strcat(key, WS_GUID);
    unsigned char md[EVP_MAX_MD_SIZE], accept[64];
    unsigned mdlen = 0;
    if (!EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha1(), NULL)) {
        close_client(c);
        return -1;
    }
    EVP_EncodeBlock(accept, md, (int)mdlen);

    char json[1024], out[2048];
    int jn = snprintf(json, sizeof json,
                      "{\"type\":\"hello\",\"protocol\":1,"
                      "\"server\":{\"version\":\"bare\",\"host\":\"\",\"time_ns\":%" PRIu64 "},"
                      "\"session\":{\"id\":\"\"},\"codec\":{\"name\":\"opus\",\"sample_rate\":48000,"
                      "\"channels\":2,\"frame_samples\":%u,\"frame_ms\":%g,\"bitrate\":%u},"
                      "\"sync_ms\":0}",
                      now_ns(), S.frame_us * 48u / 1000u, S.frame_us / 1000.0, S.bitrate);
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n",
                     (char *)accept, v1 ? "Sec-WebSocket-Protocol: loopcast.v1\r\n" : "");
    size_t len = (size_t)n;
    len += ws_header((uint8_t *)out + len, 1, (size_t)jn);
    memcpy(out + len, json, (size_t)jn);
    len += (size_t)jn;
    /* a fresh socket's send buffer is empty: anything short of all of it is a dead client */
    if (send(c->fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len) {
        close_client(c);
        return -1;
    }
    c->open = true;
    c->idx = S.nopen;
    S.list[S.nopen++] = c->fd;
    if (S.nopen > S.max_open)
        S.max_open = S.nopen;
    c->rx_len = 0; /* anything the client sent after its request is discarded */
    return 0;
}

/* Client messages (masked): parsed only to answer a close; the rest is dropped. -1 if closed. */
static int client_frames(client *c)
{
    size_t off = 0;
    while (c->rx_len - off >= 2) {
        const uint8_t *p = c->rx + off;
        size_t hl = 2, len = p[1] & 0x7fu;
        if (len == 126) {
            if (c->rx_len - off < 4)
                break;
            hl = 4;
            len = (size_t)p[2] << 8 | p[3];
        }
        hl += p[1] & 0x80u ? 4 : 0;
        if (len == 127 || hl + len > RX_MAX) {
            close_client(c);
            return -1;
        }
        if (c->rx_len - off < hl + len)
            break;
        if ((p[0] & 0x0fu) == 8) {
            static const uint8_t bye[] = {0x88, 2, 0x03, 0xe8}; /* 1000 */
            (void)!send(c->fd, bye, sizeof bye, MSG_NOSIGNAL | MSG_DONTWAIT);
            close_client(c);
            return -1;
        }
        off += hl + len;
    }
    memmove(c->rx, c->rx + off, c->rx_len - off);
    c->rx_len -= off;
    return 0;
}

static void on_readable(client *c)
{
    if (!c->rx && !(c->rx = malloc(RX_MAX + 1))) {
        close_client(c);
        return;
    }
    while (c->rx_len < RX_MAX) {
        ssize_t n = recv(c->fd, c->rx + c->rx_len, RX_MAX - c->rx_len, 0);
        if (n > 0) {
            c->rx_len += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else if (!(n < 0 && errno == EINTR)) {
            close_client(c); /* EOF or error */
            return;
        }
    }
    if ((c->open ? client_frames(c) : handshake(c)) == 0 && !c->rx_len) {
        free(c->rx);
        c->rx = NULL;
    }
}

static void on_accept(void)
{
    for (;;) {
        int fd = accept4(S.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) { /* wait for a client to leave */
                fprintf(stderr, "bare: out of file descriptors at %u clients\n", S.nopen);
                S.accept_paused = epoll_ctl(S.ep, EPOLL_CTL_DEL, S.lfd, NULL) == 0;
            }
            return;
        }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
        if ((unsigned)fd >= S.nfds || epoll_ctl(S.ep, EPOLL_CTL_ADD, fd, &ev)) {
            close(fd);
            continue;
        }
        int one = 1; /* no Nagle: a frame goes out when it is sent, as lws does */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        S.tab[fd].fd = fd;
        S.accepted++;
    }
}

/* Frame k (the one due at t0 + (k + 1) × frame): build it once, send it to every open client. */
static void fan_out(uint64_t k)
{
    uint64_t deadline = S.t0 + (k + 1) * S.frame_us * 1000u;
    uint8_t *h = S.frame + S.ws_hl;
    wr_le(h + 4, k, 4);                                /* seq */
    wr_le(h + 8, k * (S.frame_us * 48u / 1000u), 8);   /* pts */
    wr_le(h + 16, deadline - S.frame_us * 1000u, 8);   /* capture_ns: ready at the deadline */
    for (unsigned i = 0; i < S.nopen;) {
        client *c = &S.tab[S.list[i]];
        const uint8_t *p = S.frame;
        size_t len = S.frame_len;
        bool tail = c->tail_len > 0;
        if (tail) {
            p = c->tail;
            len = c->tail_len;
        }
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            close_client(c); /* the last client moved to slot i */
            continue;
        }
        size_t done = n > 0 ? (size_t)n : 0;
        if (tail && done == len) { /* the tail is out: now this tick's frame */
            c->tail_len = 0;
            continue;
        }
        i++;
        if (tail) { /* still stuck in the old frame's tail */
            memmove(c->tail, c->tail + done, len - done);
            c->tail_len -= done;
            S.dropped++;
        } else if (done == len) {
            S.sent++;
        } else if (!done) {
            S.dropped++;
        } else if (c->tail || (c->tail = malloc(S.frame_len))) {
            memcpy(c->tail, p + done, len - done);
            c->tail_len = len - done;
            S.sent++;
            S.partial++;
        } else {
            close_client(c); /* no memory for the tail: its framing cannot be resynced */
            i--;             /* the last client moved to slot i - 1 */
        }
    }
}

/* A timer wake-up: one frame per deadline that passed (more than one when it woke late). */
static void on_tick(uint64_t expirations)
{
    uint64_t owed = expirations, max = 1000000u / S.frame_us; /* one second of frames */
    S.ticks++;
    S.late += expirations > 1;
    if (owed > max) {
        S.skipped += owed - max;
        S.expirations += owed - max;
        owed = max;
    }
    while (owed--)
        fan_out(S.expirations++);
    if (S.t_end && now_ns() >= S.t_end)
        stop = 1;
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: loopcast-bench bare --port N [options]\n"
               "  --frame-ms F        2.5, 5, 10, 20, 40 or 60 (20)\n"
               "  --bitrate BPS       size packets like Opus at BPS, 6000..510000 (128000)\n"
               "  --packet-bytes B    payload bytes after the 24-byte header, 1..65000\n"
               "                      (instead of --bitrate)\n"
               "  --seconds S         stop after S seconds (default: at SIGINT/SIGTERM)\n");
}

/* v as a number in [lo, hi] (an integer if whole): true, *out set; else false, *out = lo. */
static bool number(const char *v, double lo, double hi, bool whole, double *out)
{
    char *end = NULL;
    double d = strtod(v, &end);
    bool ok = *v && !*end && d >= lo && d <= hi && (!whole || d == (double)(long)d);
    *out = ok ? d : lo;
    return ok;
}

static int parse_args(int argc, char **argv)
{
    S.frame_us = 20000;
    S.bitrate = 128000;
    bool have_rate = false;
    double d = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        }
        bool known = !strcmp(a, "--port") || !strcmp(a, "--frame-ms") ||
                     !strcmp(a, "--bitrate") || !strcmp(a, "--packet-bytes") ||
                     !strcmp(a, "--seconds");
        if (!known) {
            fprintf(stderr, "bare: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
        if (!v) {
            fprintf(stderr, "bare: %s needs a value\n", a);
            return 2;
        }
        i++;
        bool ok;
        if (!strcmp(a, "--port")) {
            ok = number(v, 1, 65535, true, &d);
            S.port = (int)d;
        } else if (!strcmp(a, "--frame-ms")) {
            ok = lc_opus_parse_frame_ms(v, &S.frame_us) == 0;
        } else if (!strcmp(a, "--bitrate")) {
            ok = number(v, 6000, 510000, true, &d);
            S.bitrate = (uint32_t)d;
            have_rate = true;
        } else if (!strcmp(a, "--packet-bytes")) {
            ok = number(v, 1, 65000, true, &d);
            S.packet_bytes = (size_t)d;
        } else {
            ok = number(v, 1e-3, 1e7, false, &d);
            S.seconds = d;
        }
        if (!ok) {
            fprintf(stderr, "bare: bad value for %s: '%s'\n", a, v);
            return 2;
        }
    }
    if (!S.port) {
        fprintf(stderr, "bare: --port is required\n");
        return 2;
    }
    if (have_rate && S.packet_bytes) {
        fprintf(stderr, "bare: --bitrate and --packet-bytes exclude each other\n");
        return 2;
    }
    if (!S.packet_bytes) /* 128 kb/s × 20 ms = 320 bytes */
        S.packet_bytes = (size_t)((uint64_t)S.bitrate * S.frame_us / 8000000u);
    return 0;
}

int lc_bench_bare(int argc, char **argv)
{
    int rc = parse_args(argc, argv);
    if (rc)
        return rc;
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl)) { /* 20,000+ clients need more than the usual 1024 */
        rl.rlim_cur = rl.rlim_max < 1048576 ? rl.rlim_max : 1048576;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    S.nfds = (unsigned)rl.rlim_cur;
    S.tab = calloc(S.nfds, sizeof *S.tab);
    S.list = calloc(S.nfds, sizeof *S.list);
    size_t msg = HDR_LEN + S.packet_bytes;
    S.frame = malloc(4 + msg);
    if (!S.tab || !S.list || !S.frame) {
        fprintf(stderr, "bare: out of memory\n");
        return 1;
    }
    for (unsigned i = 0; i < S.nfds; i++)
        S.tab[i].fd = -1;
    S.ws_hl = ws_header(S.frame, 2, msg);
    S.frame_len = S.ws_hl + msg;
    uint8_t *h = S.frame + S.ws_hl;
    memset(h, 0, HDR_LEN);
    h[0] = 1;                  /* kind: Opus audio; flags 0 */
    wr_le(h + 2, HDR_LEN, 2);
    for (size_t i = 0; i < S.packet_bytes; i++)
        h[HDR_LEN + i] = (uint8_t)(0xa5u ^ i); /* not Opus: do not --decode */

    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)S.port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    S.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    S.ep = epoll_create1(EPOLL_CLOEXEC);
    S.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (S.lfd < 0 || S.ep < 0 || S.tfd < 0 ||
        setsockopt(S.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(S.lfd, (struct sockaddr *)&sa, sizeof sa) || listen(S.lfd, SOMAXCONN)) {
        fprintf(stderr, "bare: cannot listen on 127.0.0.1:%d: %s\n", S.port, strerror(errno));
        return 1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = S.lfd};
    epoll_ctl(S.ep, EPOLL_CTL_ADD, S.lfd, &ev);
    ev.data.fd = S.tfd;
    epoll_ctl(S.ep, EPOLL_CTL_ADD, S.tfd, &ev);

    struct sigaction sig = {.sa_handler = on_signal}; /* no SA_RESTART: epoll_wait returns */
    sigaction(SIGINT, &sig, NULL);
    sigaction(SIGTERM, &sig, NULL);
    signal(SIGPIPE, SIG_IGN);

    S.t0 = now_ns();
    if (S.seconds > 0)
        S.t_end = S.t0 + (uint64_t)(S.seconds * 1e9);
    uint64_t first = S.t0 + S.frame_us * 1000u;
    struct itimerspec its = {
        .it_interval = {0, (long)S.frame_us * 1000},
        .it_value = {(time_t)(first / 1000000000u), (long)(first % 1000000000u)},
    };
    timerfd_settime(S.tfd, TFD_TIMER_ABSTIME, &its, NULL);
    printf("bare: listening on 127.0.0.1:%d, %.1f ms frames, %zu-byte packets (%zu bytes a "
           "frame), fd limit %u\n", S.port, S.frame_us / 1000.0, S.packet_bytes, S.frame_len,
           S.nfds);
    fflush(stdout);

    struct epoll_event evs[256];
    while (!stop) {
        int n = epoll_wait(S.ep, evs, 256, -1);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "bare: epoll_wait: %s\n", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) { /* the tick first: it is what the clients measure */
            uint64_t exp = 0;
            if (evs[i].data.fd == S.tfd && read(S.tfd, &exp, sizeof exp) == sizeof exp)
                on_tick(exp);
        }
        for (int i = 0; i < n && !stop; i++) {
            int fd = evs[i].data.fd;
            if (fd == S.lfd)
                on_accept();
            else if (fd != S.tfd && S.tab[fd].fd == fd) /* not closed earlier in this batch */
                on_readable(&S.tab[fd]);
        }
    }

    uint64_t wall = now_ns() - S.t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    printf("bare: clients %u (max %u, %" PRIu64 " accepted), ticks %" PRIu64 " (%" PRIu64
           " late, %" PRIu64 " frames skipped), frames sent %" PRIu64 ", dropped %" PRIu64
           " (would block; %" PRIu64 " partial), CPU %.3f s (%.1f %% of one core over %.1f s), "
           "%.2f us per delivered frame\n",
           S.nopen, S.max_open, S.accepted, S.ticks, S.late, S.skipped, S.sent, S.dropped,
           S.partial, cpu,
           100.0 * cpu / ((double)wall / 1e9), (double)wall / 1e9,
           S.sent ? cpu * 1e6 / (double)S.sent : 0.0);
    fflush(stdout);
    for (unsigned i = 0; i < S.nfds; i++)
        if (S.tab[i].fd >= 0)
            close_client(&S.tab[i]);
    close(S.tfd);
    close(S.lfd);
    close(S.ep);
    free(S.tab);
    free(S.list);
    free(S.frame);
    return 0;
}
