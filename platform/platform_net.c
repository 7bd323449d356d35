/*
 * platform_net.c — IP addresses as text and as keys: the same BSD socket calls on both systems,
 * so one portable file (only the headers differ; Winsock is initialised by whoever opens sockets).
 */
#include "platform.h"
#include "platform_internal.h"

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
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
