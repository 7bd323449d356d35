/*
 * platform_net.c — IP addresses as text and as keys: the same BSD socket calls on both systems,
 * so one portable file (only the headers differ; Winsock is initialised by whoever opens sockets),
 * and the UDP sockets of the RTP senders (non-blocking: the only #ifdef, and the error codes).
 */
#include "platform.h"
#include "platform_internal.h"

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#endif
#include <stdio.h>
#include <string.h>

int lc_plat_ip_parse(const char *txt, uint8_t out[16])
{
    if (inet_pton(AF_INET, txt, out) == 1)
        return 4;
    return inet_pton(AF_INET6, txt, out) == 1 ? 6 : 0;
}

const char *lc_plat_ip_format(int family, const uint8_t *addr, char *buf, size_t cap)
{
    /* the cast: inet_ntop's source is not const in older mingw-w64 headers */
    if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, (void *)(uintptr_t)addr, buf,
                   (socklen_t)cap))
        snprintf(buf, cap, "?");
    return buf;
}

int lc_plat_sockaddr_key(const void *sockaddr, uint8_t key[16])
{
    const struct sockaddr *sa = sockaddr;
    if (sa->sa_family == AF_INET) { /* as ::ffff:a.b.c.d, so one key space holds both */
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        memcpy(key, mapped, sizeof mapped);
        memcpy(key + 12, &((const struct sockaddr_in *)sockaddr)->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)sockaddr)->sin6_addr, 16);
        return 0;
    }
    return LC_ERR_INVALID;
}

int lc_plat_if_index(const char *bind, unsigned *index, bool *loopback)
{
    static const uint8_t zero[16];
    uint8_t want[16];
    int family = lc_plat_ip_parse(bind, want);
    bool loop_addr = family == 4 ? want[0] == 127
                                 : family == 6 && !memcmp(want, zero, 15) && want[15] == 1;
    *index = 0;
    *loopback = loop_addr;
    if (family && !memcmp(want, zero, family == 4 ? 4 : 16))
        return 0; /* 0.0.0.0 or ::: every interface */
    bool on_loopback_if = false;
    int rc = lc_plat_if_find(bind, family, want, index, &on_loopback_if);
    *loopback = loop_addr || (rc == 0 && on_loopback_if);
    /* 127.0.0.2 and friends are served by the loopback interface without being listed on it */
    return rc && loop_addr ? 0 : rc;
}

int lc_plat_udp_open(const char *host, unsigned port, intptr_t *out, char *why, size_t whylen)
{
    struct addrinfo hints, *res = NULL;
    char service[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    snprintf(service, sizeof service, "%u", port);
    int g = getaddrinfo(host, service, &hints, &res);
    if (g) {
        snprintf(why, whylen, "%s: %s", host, gai_strerror(g));
        return LC_ERR_NOT_FOUND;
    }
    int rc = LC_ERR_IO;
    for (struct addrinfo *a = res; a && rc; a = a->ai_next) {
#ifdef _WIN32
        SOCKET s = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        u_long nb = 1;
        if (s == INVALID_SOCKET)
            continue;
        if (ioctlsocket(s, FIONBIO, &nb) || connect(s, a->ai_addr, (int)a->ai_addrlen)) {
            closesocket(s);
            continue;
        }
#else
        int s = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (s < 0)
            continue;
        if (connect(s, a->ai_addr, a->ai_addrlen)) {
            close(s);
            continue;
        }
#endif
        *out = (intptr_t)s;
        rc = 0;
    }
    freeaddrinfo(res);
    if (rc)
        snprintf(why, whylen, "%s:%u: no address of it takes a UDP socket", host, port);
    return rc;
}

int lc_plat_udp_send(intptr_t sock, const void *buf, size_t len, char *why, size_t whylen)
{
#ifdef _WIN32
    if (send((SOCKET)sock, buf, (int)len, 0) >= 0)
        return 0;
    int e = WSAGetLastError();
    if (e == WSAEWOULDBLOCK)
        return LC_ERR_AGAIN;
    snprintf(why, whylen, "%s", e == WSAECONNRESET ? "the target answered port unreachable"
                                                  : "send failed (Winsock error)");
#else
    if (send((int)sock, buf, len, MSG_NOSIGNAL) >= 0)
        return 0;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
        return LC_ERR_AGAIN;
    snprintf(why, whylen, "%s", errno == ECONNREFUSED ? "the target answered port unreachable"
                                                     : strerror(errno));
#endif
    return LC_ERR_IO;
}
