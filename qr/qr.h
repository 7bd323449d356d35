/*
 * qr.h — a QR code of a short text (the server's LAN URLs), drawn for a terminal or as SVG.
 *
 * The symbol comes from libqrencode (error correction M, 8-bit mode, the smallest version that
 * holds the text); this module only draws it. Two drawings:
 *
 *   lc_qr_blocks   text rows of Unicode half blocks (▀ ▄ █ and space), two modules a character
 *                  cell, with a quiet zone of LC_QR_BLOCK_QUIET modules:
 *                  LC_QR_PLAIN  no escape codes; the glyphs are the LIGHT modules, as
 *                               `qrencode -t UTF8` does: it scans on a dark terminal (light text on
 *                               dark), the usual console, and in a log file shown there;
 *                  LC_QR_ANSI   each row painted black on bright white (SGR 30;107, reset at the
 *                               end of the row), the glyphs are the DARK modules: it scans on a
 *                               dark and on a light terminal alike. Only for a terminal.
 *   lc_qr_svg      a standalone SVG image (quiet zone of 4 modules as the standard asks, one
 *                  path of dark runs on a white square), no script, no style: it can go into an
 *                  <img src="data:image/svg+xml,..."> under a strict Content-Security-Policy.
 *
 * Errors: negative LC_ERR_* (lc_strerror names them); LC_ERR_LIMIT for a text longer than
 * LC_QR_TEXT_MAX bytes, LC_ERR_INVALID for NULL or "". Threads: lc_qr_encode may be called from
 * any thread (encodes are serialised inside); an lc_qr is immutable once encoded: any thread may
 * draw it.
 */
#ifndef LC_QR_H
#define LC_QR_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LC_QR_TEXT_MAX 1024 /* bytes; a URL is far shorter, a QR symbol holds at most 2331 (M) */
#define LC_QR_BLOCK_QUIET 2 /* modules of light margin in lc_qr_blocks: phones read 2 on a
                             * screen, and 4 would cost two more terminal lines */
#define LC_QR_SVG_QUIET 4   /* the standard's quiet zone, in the SVG */

typedef struct lc_qr lc_qr;

typedef enum lc_qr_style {
    LC_QR_PLAIN = 0, /* light modules drawn, no escape codes */
    LC_QR_ANSI = 1,  /* dark modules drawn in black on bright white */
} lc_qr_style;

/* Encodes `text` (UTF-8 bytes, taken as they are). 0, or LC_ERR_INVALID, LC_ERR_LIMIT,
 * LC_ERR_NOMEM; *out is NULL on failure. */
int lc_qr_encode(lc_qr **out, const char *text);
void lc_qr_destroy(lc_qr *qr);

/* Modules a side, without the quiet zone (21 for version 1, 4 more each version). */
int lc_qr_width(const lc_qr *qr);
/* Whether the module at column x, row y (0-based, inside the symbol) is dark. */
bool lc_qr_dark(const lc_qr *qr, int x, int y);

/* The drawings, as NUL-terminated malloc'd text (free() them). 0 or LC_ERR_NOMEM. The block
 * rows each end in '\n'. */
int lc_qr_blocks(const lc_qr *qr, lc_qr_style style, char **out);
int lc_qr_svg(const lc_qr *qr, char **out);

#ifdef __cplusplus
}
#endif
#endif
