/*
 * lc_fault_io.c — LD_PRELOAD shim for the disk-fault test: makes fsync(), rename() or close()
 * fail on files under one directory while a control file says so. The failures a tmpfs can give
 * (ENOSPC from write, EROFS from open) are tested for real in fault_disk_test.sh; these are the
 * ones it cannot (fsync's EIO after a lost write-back, a refused rename, a close that reports a
 * deferred error), i.e. the later steps of the store's temp → fsync → close → rename sequence.
 *
 * env LC_FAULT_DIR  the directory whose files fail (a path prefix)
 *     LC_FAULT_CTL  the control file: while it exists and holds "CALL ERRNO" (e.g. "fsync EIO",
 *                   "rename EIO", "close ENOSPC"), CALL fails with ERRNO for files under the
 *                   directory. Checked on every call, so a test turns faults on and off by
 *                   writing and removing it. Unset or absent: every call passes through.
 * close() that "fails" still closes the descriptor, as Linux's does.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int errno_named(const char *s)
{
    static const struct { const char *name; int value; } names[] = {
        {"EIO", EIO}, {"ENOSPC", ENOSPC}, {"EROFS", EROFS}, {"EDQUOT", EDQUOT}, {"EPERM", EPERM},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i].name))
            return names[i].value;
    return EIO;
}

/* The errno `call` must fail with for `path`, or 0. */
static int fault_for(const char *call, const char *path)
{
    const char *ctl = getenv("LC_FAULT_CTL"), *dir = getenv("LC_FAULT_DIR");
    if (!ctl || !dir || !path || strncmp(path, dir, strlen(dir)) != 0)
        return 0;
    int saved = errno;
    FILE *f = fopen(ctl, "r");
    errno = saved;
    if (!f)
        return 0;
    char want[32] = "", err[32] = "";
    int n = fscanf(f, "%31s %31s", want, err);
    fclose(f);
    errno = saved;
    return n == 2 && !strcmp(want, call) ? errno_named(err) : 0;
}

static const char *fd_path(int fd, char *buf, size_t len)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    int saved = errno;
    ssize_t n = readlink(link, buf, len - 1);
    errno = saved;
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    return buf;
}

int fsync(int fd)
{
    static int (*real)(int);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "fsync");
    char p[4096];
    int e = getenv("LC_FAULT_CTL") ? fault_for("fsync", fd_path(fd, p, sizeof p)) : 0;
    if (e) {
        errno = e;
        return -1;
    }
    return real(fd);
}

int close(int fd)
{
    static int (*real)(int);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "close");
    char p[4096];
    int e = getenv("LC_FAULT_CTL") ? fault_for("close", fd_path(fd, p, sizeof p)) : 0;
    int rc = real(fd);
    if (e && rc == 0) {
        errno = e;
        return -1;
    }
    return rc;
}

int rename(const char *from, const char *to)
{
    static int (*real)(const char *, const char *);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "rename");
    int e = fault_for("rename", from);
    if (e) {
        errno = e;
        return -1;
    }
    return real(from, to);
}
