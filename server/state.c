/*
 * state.c — the state directory (where sessions.json and api-token live) and the API token.
 *
 * Default directory: an operator who runs `loopcast` by hand expects volumes to survive a
 * restart, as DESIGN.md promises, so with no --state-dir we use the XDG state directory
 * ($XDG_STATE_HOME/loopcast, else ~/.local/state/loopcast). The packaged deployments (systemd,
 * container, k8s) always set LOOPCAST_STATE_DIR. Two servers must never write one sessions.json,
 * so the directory is locked (flock on STATE_DIR/lock, released by the kernel even on kill -9):
 * an explicit directory held by another server is an error; the default one only costs
 * persistence, with a loud warning (so a second instance for a test still starts).
 *
 * Token: given (--api-token, --api-token-file, LOOPCAST_API_TOKEN: config.c), else
 * STATE_DIR/api-token, else 32 random bytes (OpenSSL RAND_bytes) as base64url, written with mode
 * 0600 through a private temp file + link(), so a crash never leaves a half-written token file
 * and two racing starts agree on one token. Runs on the main thread before any other exists.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p with mode 0700 for the parts we create. 0 or -1 (errno set). */
static int mkdirs(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

int lc_state_default_dir(char *out, size_t cap)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/') /* the XDG spec: relative values are invalid, ignore them */
        n = snprintf(out, cap, "%s/loopcast", xdg);
    else if (home && home[0] == '/')
        n = snprintf(out, cap, "%s/.local/state/loopcast", home);
    else
        return LC_ERR_NOT_FOUND;
    return n > 0 && (size_t)n < cap ? 0 : LC_ERR_LIMIT;
}

int lc_state_open(const char *dir, int *lock_fd, char *errbuf, size_t errlen)
{
    char path[PATH_MAX];
    int fd = -1;
    *lock_fd = -1;
    if (mkdirs(dir) < 0) {
        lc_errf(errbuf, errlen, "cannot create state directory '%s': %s", dir, strerror(errno));
        return LC_ERR_IO;
    }
    if (snprintf(path, sizeof path, "%s/lock", dir) >= (int)sizeof path) {
        lc_errf(errbuf, errlen, "state directory path too long");
        return LC_ERR_LIMIT;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        lc_errf(errbuf, errlen, "cannot open '%s': %s", path, strerror(errno));
        return LC_ERR_IO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK) {
            lc_errf(errbuf, errlen, "state directory '%s' is in use by another loopcast", dir);
            return LC_ERR_STATE;
        }
        lc_errf(errbuf, errlen, "cannot lock '%s': %s", path, strerror(e));
        return LC_ERR_IO;
    }
    *lock_fd = fd;
    return 0;
}

/* First line of an existing token file. 0, LC_ERR_NOT_FOUND (no file), or an error. */
static int read_token(const char *path, char *tok, size_t cap, char *errbuf, size_t errlen)
{
    char buf[LC_CONFIG_TOKEN_MAX + 2];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return LC_ERR_NOT_FOUND;
        lc_errf(errbuf, errlen, "cannot read '%s': %s", path, strerror(errno));
        return LC_ERR_IO;
    }
    if (fstat(fd, &st) == 0 && (st.st_mode & 077))
        lc_log(LC_LOG_WARN, LC_LOG_MOD, "%s is readable by others (mode %03o); chmod 600 it",
               path, (unsigned)(st.st_mode & 0777));
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) {
        lc_errf(errbuf, errlen, "cannot read '%s': %s", path, strerror(errno));
        return LC_ERR_IO;
    }
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    size_t len = strlen(buf);
    while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
        buf[--len] = '\0';
    bool ok = len > 0 && len < cap;
    for (size_t i = 0; ok && i < len; i++)
        ok = buf[i] >= 0x21 && buf[i] <= 0x7e;
    if (!ok) {
        /* Never guess: a damaged token file is the operator's to fix (or delete). */
        lc_errf(errbuf, errlen, "'%s' does not hold a token (1..%d printable characters); fix "
                "or delete it", path, LC_CONFIG_TOKEN_MAX);
        return LC_ERR_INVALID;
    }
    memcpy(tok, buf, len + 1);
    return 0;
}

/* 32 random bytes as unpadded base64url: 43 characters, safe in headers and URLs. */
static int new_token(char *tok, size_t cap)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char r[33] = {0};
    size_t o = 0;
    if (cap < 45 || RAND_bytes(r, 32) != 1)
        return LC_ERR_SYSTEM;
    for (size_t i = 0; i < 33; i += 3) {
        uint32_t v = (uint32_t)r[i] << 16 | (uint32_t)r[i + 1] << 8 | r[i + 2];
        tok[o++] = b64[v >> 18 & 63];
        tok[o++] = b64[v >> 12 & 63];
        tok[o++] = b64[v >> 6 & 63];
        tok[o++] = b64[v & 63];
    }
    tok[43] = '\0'; /* 32 bytes = 42 2/3 characters; the rest encoded the zero padding */
    OPENSSL_cleanse(r, sizeof r);
    return 0;
}

/* Writes tok to path, created only if it does not exist (lc_plat_file_commit CREATE_EXCL: a
 * private temp file, fsync, link, fsync of the directory): a crash never leaves a half-written
 * token, and of two servers racing to create it exactly one wins. LC_ERR_AGAIN if another
 * process created path first. */
static int save_token(const char *path, const char *tok, char *errbuf, size_t errlen)
{
    char line[LC_CONFIG_TOKEN_MAX + 2];
    size_t n = strlen(tok);
    memcpy(line, tok, n);
    line[n] = '\n';
    int rc = lc_plat_file_commit(path, line, n + 1, LC_FILE_CREATE_EXCL, errbuf, errlen);
    OPENSSL_cleanse(line, sizeof line);
    return rc;
}

int lc_state_token(const char *dir, char *tok, size_t cap, char *errbuf, size_t errlen)
{
    char path[PATH_MAX];
    int rc;
    if (!dir) {
        if ((rc = new_token(tok, cap)))
            goto rand_fail;
        lc_log(LC_LOG_WARN, LC_LOG_MOD, "API token generated for this run only (no state "
               "directory to save it in): %s", tok);
        return 0;
    }
    if (snprintf(path, sizeof path, "%s/api-token", dir) >= (int)sizeof path) {
        lc_errf(errbuf, errlen, "state directory path too long");
        return LC_ERR_LIMIT;
    }
    rc = read_token(path, tok, cap, errbuf, errlen);
    if (rc != LC_ERR_NOT_FOUND) {
        if (rc == 0)
            lc_log(LC_LOG_INFO, LC_LOG_MOD, "API token: from %s", path);
        return rc;
    }
    if ((rc = new_token(tok, cap)))
        goto rand_fail;
    rc = save_token(path, tok, errbuf, errlen);
    if (rc == LC_ERR_AGAIN) /* someone else just made one: use theirs */
        return read_token(path, tok, cap, errbuf, errlen);
    if (rc)
        return rc;
    /* Printed once, here, so the operator can copy it; never logged again. */
    lc_log(LC_LOG_WARN, LC_LOG_MOD, "API token generated: %s (saved in %s, mode 0600)", tok,
           path);
    return 0;
rand_fail:
    lc_errf(errbuf, errlen, "no randomness for the API token (RAND_bytes failed)");
    return LC_ERR_SYSTEM;
}
