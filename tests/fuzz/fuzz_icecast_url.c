/*
 * fuzz_icecast_url.c — lc_icecast_url_parse (--icecast, LOOPCAST_ICECAST) on arbitrary text (cut
 * at the first NUL). Every part it accepts is written by libshout into a request line or a
 * header, so the checks are about what could reach the wire:
 *   success: port 1..65535; host and mount non-empty, printable ASCII with no space; the mount
 *            starts with '/' and has no '?' or '#'; user and password have no control byte;
 *            the password is non-empty; `shown` names the host and mount and is what the
 *            scheme says;
 *   failure: LC_ERR_INVALID with a message.
 */
#include "icecast.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void printable(const char *s, bool allow_space)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f || (!allow_space && *s == ' '))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    lc_icecast_url u;
    char why[256];
    why[0] = '\0';
    int rc = lc_icecast_url_parse(text, &u, why, sizeof why);
    if (rc == 0) {
        if (u.port < 1 || u.port > 65535 || !u.host[0] || u.mount[0] != '/' || !u.mount[1] ||
            !u.password[0] || strpbrk(u.mount, "?#"))
            abort();
        printable(u.host, false);
        printable(u.mount, false);
        printable(u.user, true);
        printable(u.password, true);
        for (const char *c = u.host; *c; c++)
            if ((unsigned char)*c > 0x7e)
                abort();
        if (!strstr(u.shown, u.host) || !strstr(u.shown, u.mount) ||
            strncmp(u.shown, u.tls ? "icecasts://" : "icecast://", u.tls ? 11 : 10))
            abort();
    } else if (rc != LC_ERR_INVALID || !why[0]) {
        abort();
    }
    free(text);
    return 0;
}
