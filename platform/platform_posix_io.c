/*
 * platform_posix_io.c — platform.h's paths, whole files and network helpers on POSIX: stat,
 * access, realpath, read, inet_pton/ntop, getifaddrs, setsockopt and RLIMIT_NOFILE. The server
 * used these directly before the Windows port; the behaviour is the same.
 */
#include "platform.h"
#include "platform_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- paths and whole files --------------------------------------------------------------- */

lc_path_kind lc_plat_path_kind(const char *path)
{
    struct stat st;
    if (!path || !*path || stat(path, &st) != 0)
        return LC_PATH_NONE;
    return S_ISREG(st.st_mode) ? LC_PATH_FILE : S_ISDIR(st.st_mode) ? LC_PATH_DIR : LC_PATH_OTHER;
}

int lc_plat_path_access(const char *path, int want, char *errbuf, size_t errlen)
{
    int mode = (want & LC_PATH_READ ? R_OK : 0) | (want & LC_PATH_WRITE ? W_OK : 0);
    if (lc_plat_path_kind(path) == LC_PATH_DIR)
        mode |= X_OK; /* nothing in a directory can be reached without search permission */
    if (access(path, mode) != 0)
        return lc_plat_fail(errbuf, errlen, LC_ERR_IO, "%s", strerror(errno));
    return 0;
}

char *lc_plat_realpath(const char *path, char *errbuf, size_t errlen)
{
    char *r = realpath(path, NULL);
    if (!r)
        lc_plat_fail(errbuf, errlen, 0, "%s", strerror(errno));
    return r;
}

int lc_plat_read_file(const char *path, size_t max, char **data, size_t *len, char *errbuf,
                      size_t errlen)
{
    struct stat st;
    char *buf = NULL;
    int rc, fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return LC_ERR_NOT_FOUND;
        return lc_plat_fail(errbuf, errlen, LC_ERR_IO, "cannot open '%s': %s", path,
                            strerror(errno));
    }
    if (fstat(fd, &st) != 0) {
        rc = lc_plat_fail(errbuf, errlen, LC_ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = LC_ERR_NOT_FOUND;
        goto fail;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > max) {
        rc = lc_plat_fail(errbuf, errlen, LC_ERR_LIMIT, "'%s' is larger than %zu bytes", path, max);
        goto fail;
    }
    size_t size = (size_t)st.st_size, got = 0;
    if (!(buf = malloc(size + 1))) {
        rc = LC_ERR_NOMEM;
        goto fail;
    }
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = lc_plat_fail(errbuf, errlen, LC_ERR_IO, "cannot read '%s': %s", path,
                              r < 0 ? strerror(errno) : "it became shorter while read");
            goto fail;
        }
        got += (size_t)r;
    }
    close(fd);
    buf[size] = '\0';
    *data = buf;
    *len = size;
    return 0;
fail:
    close(fd);
    free(buf);
    return rc;
}

int lc_plat_rename(const char *from, const char *to, char *errbuf, size_t errlen)
{
    if (rename(from, to) != 0)
        return lc_plat_fail(errbuf, errlen, LC_ERR_IO, "%s", strerror(errno));
    return 0;
}

extern char **environ;

int lc_plat_args_utf8(int *argc, char ***argv, char ***envp)
{
    (void)argc;
    (void)argv;
    *envp = environ;
    return 0;
}

const char *lc_plat_text(lc_plat_text_id id)
{
    switch (id) {
    case LC_TEXT_PRIVATE_FILE:
        return "mode 0600";
    case LC_TEXT_MAKE_PRIVATE:
        return "chmod 600 it";
    case LC_TEXT_STATE_DIR:
        return "$XDG_STATE_HOME/loopcast or ~/.local/state/loopcast";
    case LC_TEXT_STOP:
        return "SIGTERM/SIGINT";
    case LC_TEXT_FIREWALL:
    default:
        return ""; /* no desktop firewall asks on its own */
    }
}

/* ---- network ------------------------------------------------------------------------------ */

bool lc_plat_if_exists(const char *name) { return if_nametoindex(name) != 0; }

int lc_plat_if_find(const char *bind, int family, const uint8_t want[16], unsigned *index,
                    bool *loopback)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0)
        return LC_ERR_SYSTEM;
    int rc = LC_ERR_NOT_FOUND;
    for (struct ifaddrs *i = ifs; i && rc; i = i->ifa_next) {
        const struct sockaddr *sa = i->ifa_addr;
        bool match = false;
        if (!family)
            match = !strcmp(i->ifa_name, bind);
        else if (sa && sa->sa_family == AF_INET && family == 4)
            match = !memcmp(&((const struct sockaddr_in *)(const void *)sa)->sin_addr, want, 4);
        else if (sa && sa->sa_family == AF_INET6 && family == 6)
            match = !memcmp(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, want, 16);
        if (match && (*index = if_nametoindex(i->ifa_name)) != 0) {
            *loopback = (i->ifa_flags & IFF_LOOPBACK) != 0;
            rc = 0;
        }
    }
    freeifaddrs(ifs);
    return rc;
}

int lc_plat_ipv4_addrs(lc_addr_fn fn, void *user)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0)
        return LC_ERR_SYSTEM;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        char host[NI_MAXHOST];
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP))
            continue;
        if (getnameinfo(i->ifa_addr, sizeof(struct sockaddr_in), host, sizeof host, NULL, 0,
                        NI_NUMERICHOST) == 0)
            fn(user, host, i->ifa_name);
    }
    freeifaddrs(ifs);
    return 0;
}

void lc_plat_socket_sndbuf(intptr_t sock, int bytes)
{
    (void)setsockopt((int)sock, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

void lc_plat_socket_close(intptr_t sock) { (void)close((int)sock); }

int lc_plat_fd_limit(unsigned want, unsigned *now)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return LC_ERR_SYSTEM;
    if (want && rl.rlim_cur != want) {
        rlim_t cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        struct rlimit nl = {cur, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
            rl.rlim_cur = cur;
    }
    *now = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > UINT_MAX ? UINT_MAX : (unsigned)rl.rlim_cur;
    return 0;
}

void *lc_plat_aligned_alloc(size_t align, size_t size)
{
    /* C11 wants the size to be a multiple of the alignment */
    return aligned_alloc(align, (size + align - 1u) & ~(align - 1u));
}

void lc_plat_aligned_free(void *p)
{
    free(p);
}

/* ---- Windows service: none here --------------------------------------------------------------- */

static int no_service(char *errbuf, size_t errlen)
{
    return lc_plat_fail(errbuf, errlen, LC_ERR_UNSUPPORTED,
                        "Windows services exist only on Windows; on Linux run loopcast under "
                        "systemd (deploy/loopcast.service) or in its container");
}

int lc_plat_service_install(const char *name, const char *display, const char *description,
                            char *const *args, int nargs, unsigned port, char *warn,
                            size_t warnlen, char *errbuf, size_t errlen)
{
    (void)name, (void)display, (void)description, (void)args, (void)nargs, (void)port;
    if (warn && warnlen)
        warn[0] = '\0';
    return no_service(errbuf, errlen);
}

int lc_plat_service_uninstall(const char *name, char *errbuf, size_t errlen)
{
    (void)name;
    return no_service(errbuf, errlen);
}

int lc_plat_service_run(const char *name, int (*fn)(void *user), void *user, char *errbuf,
                        size_t errlen)
{
    (void)name, (void)fn, (void)user;
    return no_service(errbuf, errlen);
}

int lc_plat_hostname(char *out, size_t cap)
{
    if (!cap)
        return LC_ERR_LIMIT;
    if (gethostname(out, cap) != 0) {
        out[0] = '\0';
        return LC_ERR_SYSTEM;
    }
    out[cap - 1] = '\0'; /* POSIX leaves a truncated name unterminated */
    out[strcspn(out, ".")] = '\0';
    return 0;
}
