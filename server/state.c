/*
 * state.c — the state directory (where sessions.json and api-token live) and the API token.
 *
 * Default directory: an operator who runs `loopcast` by hand expects volumes to survive a
 * restart, as DESIGN.md promises, so with no --state-dir we use the XDG state directory
 * ($XDG_STATE_HOME/loopcast, else ~/.local/state/loopcast; %LOCALAPPDATA%\loopcast on Windows:
 * lc_plat_state_dir_default). The packaged deployments (systemd,
 * container, k8s) always set LOOPCAST_STATE_DIR. Two servers must never write one sessions.json,
 * so the directory is locked (lc_plat_lock_file on STATE_DIR/lock: flock, or LockFileEx on
 * Windows; released by the kernel even on kill -9):
 * an explicit directory held by another server is an error; the default one only costs
 * persistence, with a loud warning (so a second instance for a test still starts).
 *
 * Token: given (--api-token, --api-token-file, LOOPCAST_API_TOKEN: config.c), else
 * STATE_DIR/api-token, else 32 random bytes (OpenSSL RAND_bytes) as base64url, written with mode
 * 0600 through a private temp file + link(), so a crash never leaves a half-written token file
 * and two racing starts agree on one token. Runs on the main thread before any other exists.
 */
#include "internal.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lc_state_default_dir(char *out, size_t cap, bool service)
{
    return lc_plat_state_dir_default(out, cap, service);
}

int lc_state_open(const char *dir, lc_plat_lock **lock, char *errbuf, size_t errlen)
{
    char path[PATH_MAX], why[PATH_MAX + 64];
    *lock = NULL;
    if (lc_plat_mkdirs(dir, why, sizeof why)) {
        lc_errf(errbuf, errlen, "cannot create state directory '%s': %s", dir, why);
        return LC_ERR_IO;
    }
    if (snprintf(path, sizeof path, "%s%clock", dir, LC_PLAT_PATH_SEPS[0]) >= (int)sizeof path) {
        lc_errf(errbuf, errlen, "state directory path too long");
        return LC_ERR_LIMIT;
    }
    int rc = lc_plat_lock_file(path, lock, why, sizeof why);
    if (rc == LC_ERR_STATE)
        lc_errf(errbuf, errlen, "state directory '%s' is in use by another loopcast", dir);
    else if (rc)
        lc_errf(errbuf, errlen, "%s", why);
    return rc;
}

/* First line of an existing token file. 0, LC_ERR_NOT_FOUND (no file), or an error. */
static int read_token(const char *path, char *tok, size_t cap, char *errbuf, size_t errlen)
{
    char buf[LC_CONFIG_TOKEN_MAX + 2];
    size_t n;
    bool shared = false;
    int rc = lc_plat_read_small_file(path, buf, sizeof buf, &n, &shared, errbuf, errlen);
    if (rc)
        return rc;
    if (shared)
        lc_log(LC_LOG_WARN, LC_LOG_MOD, "%s is readable by others; %s", path,
               lc_plat_text(LC_TEXT_MAKE_PRIVATE));
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
    if (snprintf(path, sizeof path, "%s%capi-token", dir, LC_PLAT_PATH_SEPS[0]) >= (int)sizeof path) {
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
    lc_log(LC_LOG_WARN, LC_LOG_MOD, "API token generated: %s (saved in %s, %s)", tok, path,
           lc_plat_text(LC_TEXT_PRIVATE_FILE));
    return 0;
rand_fail:
    lc_errf(errbuf, errlen, "no randomness for the API token (RAND_bytes failed)");
    return LC_ERR_SYSTEM;
}
