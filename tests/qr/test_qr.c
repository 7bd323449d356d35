/*
 * test_qr.c — qr/: errors, and that both drawings show exactly libqrencode's modules: the half
 * blocks are read back cell by cell (plain: ink = light; ANSI: ink = dark, every row painted and
 * reset), the SVG path is read back run by run. That a phone's decoder reads them is checked on
 * the real server's output by tests/qr/qr_console_test.sh (zbarimg) and the admin page's
 * browser test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "lc_test.h"
#include "qr.h"

static const char URL[] = "http://192.168.100.200:8080/";

static void test_errors(void)
{
    lc_qr *qr = (lc_qr *)1;
    CHECK_EQ_INT(lc_qr_encode(&qr, NULL), LC_ERR_INVALID);
    CHECK(qr == NULL);
    CHECK_EQ_INT(lc_qr_encode(&qr, ""), LC_ERR_INVALID);
    char *big = malloc(LC_QR_TEXT_MAX + 2);
    CHECK(big != NULL);
    if (!big)
        return;
    memset(big, 'a', LC_QR_TEXT_MAX + 1);
    big[LC_QR_TEXT_MAX + 1] = '\0';
    CHECK_EQ_INT(lc_qr_encode(&qr, big), LC_ERR_LIMIT);
    CHECK(qr == NULL);
    /* the longest text we accept fits a symbol */
    big[LC_QR_TEXT_MAX] = '\0';
    CHECK_EQ_INT(lc_qr_encode(&qr, big), 0);
    CHECK(qr && lc_qr_width(qr) > 100);
    lc_qr_destroy(qr);
    lc_qr_destroy(NULL);
    free(big);
}

static void test_symbol(void)
{
    lc_qr *qr;
    CHECK_EQ_INT(lc_qr_encode(&qr, URL), 0);
    int w = lc_qr_width(qr);
    CHECK(w >= 21 && (w - 21) % 4 == 0);
    /* finder patterns: dark corners, light separator */
    CHECK(lc_qr_dark(qr, 0, 0) && lc_qr_dark(qr, w - 1, 0) && lc_qr_dark(qr, 0, w - 1));
    CHECK(!lc_qr_dark(qr, 7, 7) && !lc_qr_dark(qr, w - 8, 7));
    CHECK(!lc_qr_dark(qr, -1, 0) && !lc_qr_dark(qr, w, 0) && !lc_qr_dark(qr, 0, w));
    lc_qr_destroy(qr);
}

/* The cell at text column x: 0 ' ', 1 '▄', 2 '▀', 3 '█' (bit 1 upper half, bit 0 lower); -1 */
static int cell_at(const char **p)
{
    if (**p == ' ') {
        (*p)++;
        return 0;
    }
    static const char *const g[4] = {"", "\xe2\x96\x84", "\xe2\x96\x80", "\xe2\x96\x88"};
    for (int i = 1; i < 4; i++)
        if (!strncmp(*p, g[i], 3)) {
            *p += 3;
            return i;
        }
    return -1;
}

static void check_blocks(lc_qr_style style)
{
    lc_qr *qr;
    char *art;
    CHECK_EQ_INT(lc_qr_encode(&qr, URL), 0);
    CHECK_EQ_INT(lc_qr_blocks(qr, style, &art), 0);
    int w = lc_qr_width(qr), side = w + 2 * LC_QR_BLOCK_QUIET, rows = (side + 1) / 2;
    const char *p = art;
    int bad = 0;
    for (int r = 0; r < rows; r++) {
        if (style == LC_QR_ANSI) {
            CHECK(!strncmp(p, "\x1b[30;107m", 9));
            p += 9;
        }
        for (int x = 0; x < side; x++) {
            int c = cell_at(&p);
            for (int half = 0; half < 2; half++) {
                int y = 2 * r + half, mx = x - LC_QR_BLOCK_QUIET, my = y - LC_QR_BLOCK_QUIET;
                int on = c >= 0 && (c >> (1 - half)) & 1;
                int want = style == LC_QR_ANSI ? lc_qr_dark(qr, mx, my)
                                               : y < side && !lc_qr_dark(qr, mx, my);
                bad += on != want;
            }
        }
        if (style == LC_QR_ANSI) {
            CHECK(!strncmp(p, "\x1b[0m", 4));
            p += 4;
        }
        CHECK(*p == '\n');
        p++;
    }
    CHECK(*p == '\0');
    CHECK_EQ_INT(bad, 0);
    /* the quiet zone: plain draws it (light), ANSI leaves it as painted spaces */
    if (style == LC_QR_PLAIN)
        CHECK(!strncmp(art, "\xe2\x96\x88\xe2\x96\x88", 6));
    free(art);
    lc_qr_destroy(qr);
}

static void test_blocks_plain(void) { check_blocks(LC_QR_PLAIN); }
static void test_blocks_ansi(void) { check_blocks(LC_QR_ANSI); }

static void test_svg(void)
{
    lc_qr *qr;
    char *svg;
    CHECK_EQ_INT(lc_qr_encode(&qr, URL), 0);
    CHECK_EQ_INT(lc_qr_svg(qr, &svg), 0);
    int w = lc_qr_width(qr), side = w + 2 * LC_QR_SVG_QUIET;
    char head[128];
    snprintf(head, sizeof head, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\"",
             side, side);
    CHECK(!strncmp(svg, head, strlen(head)));
    CHECK(!strstr(svg, "<script") && !strstr(svg, "style"));
    size_t n = strlen(svg);
    CHECK(n > 9 && !strcmp(svg + n - 9, "\"/></svg>"));
    /* read the path back into a matrix: every dark module once, nothing else */
    unsigned char *m = calloc((size_t)side * (size_t)side, 1);
    CHECK(m != NULL);
    const char *p = strstr(svg, " d=\"");
    CHECK(p != NULL);
    int x, y, run, run2, used, bad = 0;
    for (p = p ? p + 4 : ""; m && sscanf(p, "M%d %dh%dv1h-%dz%n", &x, &y, &run, &run2, &used) == 4;
         p += used) {
        bad += run != run2 || x < LC_QR_SVG_QUIET || y < LC_QR_SVG_QUIET || x + run > side ||
               y >= side;
        for (int i = 0; i < run && x + i < side && y < side; i++)
            m[y * side + x + i]++;
    }
    CHECK(*p == '"');
    for (y = 0; m && y < side; y++)
        for (x = 0; x < side; x++)
            bad += m[y * side + x] != lc_qr_dark(qr, x - LC_QR_SVG_QUIET, y - LC_QR_SVG_QUIET);
    CHECK_EQ_INT(bad, 0);
    free(m);
    free(svg);
    lc_qr_destroy(qr);
}

LC_TEST_MAIN(TEST(test_errors), TEST(test_symbol), TEST(test_blocks_plain), TEST(test_blocks_ansi),
             TEST(test_svg))
