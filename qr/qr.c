/*
 * qr.c — libqrencode makes the symbol; we draw it (qr.h says which drawing is for what).
 *
 * Why draw it ourselves instead of using the qrencode tool's writers: they live in the tool, not
 * in the library, and write to a FILE. Drawing is a loop over the module matrix; the encoding
 * (Reed-Solomon, masking, version choice) is libqrencode's and stays there.
 */
#include "qr.h"

#include <errno.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "platform.h"

/* libqrencode fills its Reed-Solomon tables lazily, one per ECC length, under a pthread mutex
 * only when it was built with pthreads. The Windows build has no winpthreads (loopcast's threads
 * are Win32's; deploy/windows/build.sh builds it without), so encodes are serialised here, on
 * every platform alike: they are rare (start-up, an /admin visit) and take well under a ms. */
static lc_once encode_once = LC_ONCE_INIT;
static lc_mutex *encode_lock; /* created once, never freed: it lives as long as the process */

static void encode_lock_create(void) { (void)lc_mutex_create(&encode_lock, LC_MUTEX_PLAIN); }

struct lc_qr {
    QRcode *code; /* width × width bytes, bit 0 of each = dark */
};

int lc_qr_encode(lc_qr **out, const char *text)
{
    lc_qr *qr = NULL;
    int rc;

    *out = NULL;
    if (!text || !*text)
        return LC_ERR_INVALID;
    if (strlen(text) > LC_QR_TEXT_MAX)
        return LC_ERR_LIMIT;
    qr = calloc(1, sizeof *qr);
    if (!qr)
        return LC_ERR_NOMEM;
    /* Version 0: the smallest that fits. 8-bit mode, case-sensitive: a URL's bytes as they are
     * (the alphanumeric mode would upper-case them). */
    lc_once_run(&encode_once, encode_lock_create);
    if (!encode_lock) {
        rc = LC_ERR_NOMEM;
        goto fail;
    }
    lc_mutex_lock(encode_lock);
    errno = 0;
    qr->code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    int err = errno;
    lc_mutex_unlock(encode_lock);
    if (!qr->code) {
        rc = err == ENOMEM ? LC_ERR_NOMEM : err == ERANGE ? LC_ERR_LIMIT : LC_ERR_INVALID;
        goto fail;
    }
    *out = qr;
    return 0;
fail:
    lc_qr_destroy(qr);
    return rc;
}

void lc_qr_destroy(lc_qr *qr)
{
    if (!qr)
        return;
    if (qr->code)
        QRcode_free(qr->code);
    free(qr);
}

int lc_qr_width(const lc_qr *qr) { return qr->code->width; }

bool lc_qr_dark(const lc_qr *qr, int x, int y)
{
    int w = qr->code->width;
    if (x < 0 || y < 0 || x >= w || y >= w)
        return false; /* the quiet zone */
    return qr->code->data[(size_t)y * (size_t)w + (size_t)x] & 1;
}

/* Whether the half cell for module (x, y) of the drawing (quiet zone included) gets ink. */
static bool ink(const lc_qr *qr, lc_qr_style style, int x, int y, int side)
{
    if (style == LC_QR_ANSI)
        return lc_qr_dark(qr, x - LC_QR_BLOCK_QUIET, y - LC_QR_BLOCK_QUIET);
    /* Plain: ink is light. Past the last row (an odd height) is the terminal's own background,
     * which is what dark looks like here. */
    return y < side && !lc_qr_dark(qr, x - LC_QR_BLOCK_QUIET, y - LC_QR_BLOCK_QUIET);
}

int lc_qr_blocks(const lc_qr *qr, lc_qr_style style, char **out)
{
    static const char *const cell[4] = {" ", "\xe2\x96\x84" /* ▄ */, "\xe2\x96\x80" /* ▀ */,
                                        "\xe2\x96\x88" /* █ */};
    static const char on[] = "\x1b[30;107m", off[] = "\x1b[0m";
    int side = lc_qr_width(qr) + 2 * LC_QR_BLOCK_QUIET, rows = (side + 1) / 2;
    size_t cap = (size_t)rows * (sizeof on + sizeof off + (size_t)side * 3 + 1) + 1, n = 0;
    char *s = malloc(cap);

    *out = NULL;
    if (!s)
        return LC_ERR_NOMEM;
    for (int r = 0; r < rows; r++) {
        if (style == LC_QR_ANSI) {
            memcpy(s + n, on, sizeof on - 1);
            n += sizeof on - 1;
        }
        for (int x = 0; x < side; x++) {
            const char *c = cell[(ink(qr, style, x, 2 * r, side) ? 2 : 0) +
                                 (ink(qr, style, x, 2 * r + 1, side) ? 1 : 0)];
            size_t len = strlen(c);
            memcpy(s + n, c, len);
            n += len;
        }
        if (style == LC_QR_ANSI) { /* reset before the newline: a resized window stays clean */
            memcpy(s + n, off, sizeof off - 1);
            n += sizeof off - 1;
        }
        s[n++] = '\n';
    }
    s[n] = '\0';
    *out = s;
    return 0;
}

int lc_qr_svg(const lc_qr *qr, char **out)
{
    int w = lc_qr_width(qr), side = w + 2 * LC_QR_SVG_QUIET;
    /* At most ceil(w/2) runs a row, each "M%d %dh%dv1h-%dz" of at most 4 numbers of 3 digits */
    size_t cap = 256 + (size_t)w * (size_t)(w / 2 + 1) * 24, n = 0;
    char *s = malloc(cap);
    int k;

    *out = NULL;
    if (!s)
        return LC_ERR_NOMEM;
    /* 8 px a module when shown at its own size; crispEdges: no grey seams between runs. */
    k = snprintf(s, cap, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                 "width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\">"
                 "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
                 side, side, side * 8, side * 8, side, side);
    n = (size_t)k;
    for (int y = 0; y < w; y++) {
        for (int x = 0; x < w;) {
            if (!lc_qr_dark(qr, x, y)) {
                x++;
                continue;
            }
            int run = 1;
            while (x + run < w && lc_qr_dark(qr, x + run, y))
                run++;
            k = snprintf(s + n, cap - n, "M%d %dh%dv1h-%dz", x + LC_QR_SVG_QUIET,
                         y + LC_QR_SVG_QUIET, run, run);
            n += (size_t)k;
            x += run;
        }
    }
    snprintf(s + n, cap - n, "\"/></svg>");
    *out = s;
    return 0;
}
