/*
 * backend_file.c — "file:PATH.wav": a WAV file looped forever, paced in real time like a device.
 *
 * The header is parsed in parse() so a missing or malformed file is reported by lc_capture_open,
 * before anything starts. open() parses it again, because the file may have been replaced since;
 * a file that has become unreadable is then a source loss like any other (the core retries).
 * Each loop starts by opening the path again (at most once a second of audio), not by rewinding
 * the open stream: an open descriptor would keep playing a deleted file forever, and a file
 * replaced in place (a new announcement) would never be heard.
 * Plain stdio keeps this backend portable to the Windows build.
 */
#include "capture_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LC_WAV_HEAD_MAX 65536 /* RIFF metadata chunks before "data" beyond this are refused */

/* Set up by parse on the caller's thread; from then on touched by the capture thread only. */
typedef struct {
    char *path;
    lc_wav_info info;
    FILE *f;
    uint8_t *raw;      /* one chunk of file bytes; allocated in open, sized for a 10 ms read */
    size_t raw_frames;
    uint64_t pos;      /* frames of the data chunk already read in this loop */
    uint64_t since_reload; /* frames played since the path was last opened */
    lc_pacer pacer;
} lc_file;

/* Opens and parses the header; on success *fp is positioned at the first sample. */
static int file_load(const char *path, FILE **fp, lc_wav_info *info, char *errbuf, size_t errlen)
{
    uint8_t *head = NULL;
    FILE *f = fopen(path, "rb");
    int rc;
    if (!f) {
        lc_errf(errbuf, errlen, "file: cannot open '%s': %s", path, strerror(errno));
        return LC_ERR_IO;
    }
    head = malloc(LC_WAV_HEAD_MAX);
    if (!head) {
        rc = LC_ERR_NOMEM;
        lc_errf(errbuf, errlen, "file: out of memory");
        goto fail;
    }
    long size;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        rc = LC_ERR_IO;
        lc_errf(errbuf, errlen, "file: cannot seek in '%s': %s", path, strerror(errno));
        goto fail;
    }
    size_t got = fread(head, 1, LC_WAV_HEAD_MAX, f);
    if (ferror(f)) {
        rc = LC_ERR_IO;
        lc_errf(errbuf, errlen, "file: cannot read '%s': %s", path, strerror(errno));
        goto fail;
    }
    char why[200];
    rc = lc_wav_parse(head, got, (uint64_t)size, info, why, sizeof why);
    if (rc < 0) {
        lc_errf(errbuf, errlen, "file: '%s': %s", path, why);
        goto fail;
    }
    if (info->frames == 0) {
        rc = LC_ERR_FORMAT;
        lc_errf(errbuf, errlen, "file: '%s' holds no audio frames", path);
        goto fail;
    }
    if (fseek(f, (long)info->data_offset, SEEK_SET) != 0) {
        rc = LC_ERR_IO;
        lc_errf(errbuf, errlen, "file: cannot seek in '%s': %s", path, strerror(errno));
        goto fail;
    }
    free(head);
    *fp = f;
    return 0;
fail:
    free(head);
    fclose(f);
    return rc;
}

static int file_parse(const char *arg, void **state, char *errbuf, size_t errlen)
{
    lc_file *fs = NULL;
    FILE *f = NULL;
    int rc;
    if (!arg || !*arg) {
        lc_errf(errbuf, errlen, "file: missing path (file:PATH.wav)");
        return LC_ERR_URI;
    }
    fs = calloc(1, sizeof *fs);
    if (!fs || !(fs->path = strdup(arg))) {
        rc = LC_ERR_NOMEM;
        lc_errf(errbuf, errlen, "file: out of memory");
        goto fail;
    }
    if ((rc = file_load(arg, &f, &fs->info, errbuf, errlen)) < 0)
        goto fail;
    fclose(f);
    *state = fs;
    return 0;
fail:
    if (fs)
        free(fs->path);
    free(fs);
    return rc;
}

static void file_close(void *state)
{
    lc_file *fs = state;
    if (fs->f)
        fclose(fs->f);
    fs->f = NULL;
    free(fs->raw);
    fs->raw = NULL;
}

static int file_open(void *state, lc_format *fmt, char *errbuf, size_t errlen)
{
    lc_file *fs = state;
    int rc = file_load(fs->path, &fs->f, &fs->info, errbuf, errlen);
    if (rc < 0)
        return rc;
    size_t fb = lc_sample_bytes(fs->info.sample) * fs->info.format.channels;
    fs->raw_frames = fs->info.format.rate / 100 ? fs->info.format.rate / 100 : 1;
    fs->raw = malloc(fs->raw_frames * fb);
    if (!fs->raw) {
        rc = LC_ERR_NOMEM;
        lc_errf(errbuf, errlen, "file: out of memory");
        goto fail;
    }
    fs->pos = 0;
    fs->since_reload = 0;
    *fmt = fs->info.format;
    lc_pacer_reset(&fs->pacer, fs->info.format.rate);
    return 0;
fail:
    file_close(fs);
    return rc;
}

/* The end of the data chunk: the next loop comes from the path as it is now. A file that is gone
 * or unreadable is a source loss (the core sends silence and retries open(), which finds it when
 * it comes back); one that now holds another format is reopened by the core through open(). A
 * file shorter than a second is reopened at most once a second of audio, rewound in between. */
static int file_next_loop(lc_file *fs, char *errbuf, size_t errlen)
{
    fs->pos = 0;
    if (fs->since_reload < fs->info.format.rate) {
        if (fseek(fs->f, (long)fs->info.data_offset, SEEK_SET) == 0)
            return 0;
        lc_errf(errbuf, errlen, "file: cannot rewind '%s': %s", fs->path, strerror(errno));
        return LC_ERR_IO;
    }
    FILE *f = NULL;
    lc_wav_info info;
    int rc = file_load(fs->path, &f, &info, errbuf, errlen);
    if (rc < 0)
        return rc;
    if (info.sample != fs->info.sample || info.format.rate != fs->info.format.rate ||
        info.format.channels != fs->info.format.channels) {
        fclose(f);
        lc_errf(errbuf, errlen, "file: '%s' changed format; reopening", fs->path);
        return LC_ERR_FORMAT;
    }
    fclose(fs->f);
    fs->f = f;
    fs->info = info;
    fs->since_reload = 0;
    return 0;
}

static int file_read(void *state, lc_format *fmt, float *buf, size_t max_frames, size_t *frames,
                     uint64_t *capture_ns, uint64_t *xruns, char *errbuf, size_t errlen)
{
    lc_file *fs = state;
    (void)fmt;
    size_t n = fs->raw_frames < max_frames ? fs->raw_frames : max_frames;
    size_t fb = lc_sample_bytes(fs->info.sample) * fs->info.format.channels;
    size_t done = 0;
    /* a file shorter than one chunk wraps several times within a chunk; that is fine */
    while (done < n) {
        if (fs->pos >= fs->info.frames) {
            int rc = file_next_loop(fs, errbuf, errlen);
            if (rc < 0)
                return rc;
        }
        size_t want = n - done;
        if (want > fs->info.frames - fs->pos)
            want = (size_t)(fs->info.frames - fs->pos);
        size_t got = fread(fs->raw + done * fb, fb, want, fs->f);
        if (got == 0) {
            /* the file shrank under us (truncated while playing): a loss, reopen re-parses */
            lc_errf(errbuf, errlen, "file: '%s': %s", fs->path,
                    ferror(fs->f) ? strerror(errno) : "file ended early (was it truncated?)");
            return LC_ERR_IO;
        }
        done += got;
        fs->pos += got;
        fs->since_reload += got;
    }
    *capture_ns = lc_pacer_wait(&fs->pacer, n, xruns);
    lc_pcm_to_float(fs->info.sample, fs->raw, buf, n * fs->info.format.channels);
    *frames = n;
    return 0;
}

static void file_destroy(void *state)
{
    lc_file *fs = state;
    file_close(fs);
    free(fs->path);
    free(fs);
}

const lc_capture_backend lc_backend_file = {
    .name = "file",
    .usage = "file:PATH.wav                                 a WAV file (PCM 8/16/24/32, float32, "
             "extensible), looped in real time",
    .parse = file_parse,
    .open = file_open,
    .read = file_read,
    .close = file_close,
    .destroy = file_destroy,
};
