/*
 * fuzz_pipe_opts.c — the source URI parsers on arbitrary text: lc_capture_parse_pcm_opts (the
 * "?format=..&rate=..&channels=.." tail of pipe:, alsa: and tone:) and the whole of
 * lc_capture_open's "name[:argument]" parsing for every backend whose parse step stays off the
 * filesystem and devices.
 *
 * The first input byte picks the mode, the rest (cut at the first NUL, as a C string would be)
 * is the text:
 *   even: the option parser alone, once as pipe (format allowed) and once as tone (no format).
 *         Checked: success leaves values in range and *seen naming exactly what changed;
 *         failure is LC_ERR_URI with a message, and the two calls agree on text without
 *         "format".
 *   odd:  lc_capture_open(text) then lc_capture_close. Skipped: "auto" (probes the sound
 *         server) and file: (reads a path: a fuzzer must not wander the disk or block on a
 *         FIFO). Checked: success keeps the URI verbatim; failure has a message.
 * Never started, so no thread and no device is touched.
 */
#include "capture_internal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_opts(const char *text)
{
    char err[256];
    lc_sample_type sample = (lc_sample_type)99; /* sentinels: untouched unless parsed */
    lc_format fmt = {123457, 77};
    unsigned seen = 0xdead;
    err[0] = 0;
    int rc = lc_capture_parse_pcm_opts("pipe", text, &sample, &fmt, &seen, err, sizeof err);
    if (rc == 0) {
        if (seen & ~(unsigned)(LC_OPT_FORMAT | LC_OPT_RATE | LC_OPT_CHANNELS))
            abort();
        bool sample_ok = (seen & LC_OPT_FORMAT)
                             ? lc_sample_bytes(sample) && strcmp(lc_sample_name(sample), "?")
                             : sample == (lc_sample_type)99;
        if (!sample_ok)
            abort();
        if ((seen & LC_OPT_RATE) ? fmt.rate < 1 || fmt.rate > LC_MAX_RATE : fmt.rate != 123457)
            abort();
        if ((seen & LC_OPT_CHANNELS) ? fmt.channels < 1 || fmt.channels > LC_MAX_CHANNELS
                                     : fmt.channels != 77)
            abort();
    } else if (rc != LC_ERR_URI || !err[0] || strlen(err) >= sizeof err) {
        abort();
    }

    /* tone: the same grammar without "format"; both must agree on text that never names it */
    lc_format f2 = {48000, 2};
    unsigned seen2 = 0;
    char err2[64]; /* small on purpose: truncation of a long message must stay in bounds */
    int rc2 = lc_capture_parse_pcm_opts("tone", text, NULL, &f2, &seen2, err2, sizeof err2);
    if (rc2 != 0 && (rc2 != LC_ERR_URI || !err2[0]))
        abort();
    if (!strstr(text, "format") && (rc == 0) != (rc2 == 0))
        abort();
    if (rc2 == 0 && (seen2 & LC_OPT_FORMAT))
        abort();
}

static void check_open(const char *text)
{
    if (!strcmp(text, "auto") || !strncmp(text, "file", 4))
        return;
    char err[256];
    err[0] = 0;
    lc_capture *cap = NULL;
    int rc = lc_capture_open(&cap, text, err, sizeof err);
    if (rc == 0) {
        if (!cap || strcmp(lc_capture_uri(cap), text) ||
            lc_capture_get_state(cap) != LC_CAPTURE_STOPPED)
            abort();
        lc_capture_close(cap);
    } else if (rc > 0 || cap || !err[0] || strlen(err) >= sizeof err) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        lc_log_set_level(LC_LOG_ERROR); /* the alsa backend logs its lib init; keep runs quiet */
        quiet = 1;
    }
    if (size == 0 || size > 4096)
        return 0;
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    if (data[0] & 1)
        check_open(text);
    else
        check_opts(text);
    free(text);
    return 0;
}
