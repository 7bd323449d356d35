/*
 * lc_fault_decode.c — lc-fault-decode [WINDOW_MS]: what one listener hears, window by window.
 *
 * stdin: Opus packets of a loopcast stream (48 kHz, mono or stereo), each prefixed by its length
 * as a little-endian u16 (the test strips the protocol header). stdout: one line per WINDOW_MS
 * (default 200) of decoded audio, "W <rms> <hz>", hz being the dominant frequency between 100
 * and 2000 Hz (0 when the window is silent, RMS < 0.001) — enough to tell "the 440 Hz tone",
 * "silence" and "the 660 Hz tone" apart, which is all the fault tests need. Lines are flushed
 * at once so the caller can timestamp them. Exits 0 at end of input, 1 on a decode error.
 */
#include <opus/opus.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lc_dsp.h"

#define RATE 48000
#define MAX_FRAME 5760 /* 120 ms, the longest Opus frame */

int main(int argc, char **argv)
{
    long window_ms = argc > 1 ? strtol(argv[1], NULL, 10) : 200;
    if (window_ms < 20 || window_ms > 2000) {
        fprintf(stderr, "usage: lc-fault-decode [WINDOW_MS 20..2000] < packets\n");
        return 2;
    }
    size_t win = (size_t)(RATE * window_ms / 1000);
    int err = 0;
    OpusDecoder *dec = opus_decoder_create(RATE, 2, &err);
    float *mono = malloc((win + MAX_FRAME) * sizeof *mono);
    float pcm[MAX_FRAME * 2];
    unsigned char pkt[65536];
    int rc = 1;
    if (!dec || !mono) {
        fprintf(stderr, "lc-fault-decode: %s\n", dec ? "out of memory" : opus_strerror(err));
        goto out;
    }
    size_t have = 0;
    for (;;) {
        unsigned char lb[2];
        if (fread(lb, 1, 2, stdin) != 2) {
            rc = 0;
            break;
        }
        size_t len = (size_t)lb[0] | (size_t)lb[1] << 8;
        if (len == 0 || fread(pkt, 1, len, stdin) != len) {
            fprintf(stderr, "lc-fault-decode: truncated input\n");
            break;
        }
        int n = opus_decode_float(dec, pkt, (opus_int32)len, pcm, MAX_FRAME, 0);
        if (n < 0) {
            fprintf(stderr, "lc-fault-decode: %s\n", opus_strerror(n));
            break;
        }
        for (int i = 0; i < n; i++)
            mono[have++] = 0.5f * (pcm[2 * i] + pcm[2 * i + 1]);
        if (have >= win) {
            double rms = lc_dsp_rms(mono, win);
            double hz = rms < 0.001 ? 0 : lc_dsp_dominant_hz(mono, win, RATE, 100, 2000);
            printf("W %.4f %.1f\n", rms, hz);
            fflush(stdout);
            for (size_t i = win; i < have; i++)
                mono[i - win] = mono[i];
            have -= win;
        }
    }
out:
    if (dec)
        opus_decoder_destroy(dec);
    free(mono);
    return rc;
}
