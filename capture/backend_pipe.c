/*
 * backend_pipe.c — "pipe:PATH|-?format=s16le&rate=48000&channels=2": raw interleaved PCM from a
 * FIFO or stdin, the way snapcast/mpd/librespot hand audio around.
 *
 * Waiting for a writer. A FIFO is opened O_NONBLOCK, so open never blocks and a FIFO with no
 * writer simply yields nothing (poll times out every 20 ms, keeping stop prompt and letting the
 * core's keep-alive silence go out one Opus frame at a time rather than in 100 ms bursts). When the
 * writer goes away, read() returns 0; we report LC_ERR_EOF, the core closes and reopens (counted
 * as a reopen), and the next writer's open(O_WRONLY) completes against the new read end. A
 * partial frame left by a writer that died mid-frame is dropped with its connection, so the
 * next writer starts frame-aligned. stdin cannot be reopened: its EOF is also LC_ERR_EOF, and
 * the core's retries (backing off to every 5 s) find it still at EOF — the stream stays silent.
 *
 * Timing. A pipe carries no timestamps, so capture_ns is "now minus the duration of the frames
 * just read": exact for a writer that produces in real time, an estimate otherwise.
 */
#include "capture_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LC_PIPE_POLL_MS 20

/* Set up by parse on the caller's thread; from then on touched by the capture thread only. */
typedef struct {
    char *path; /* NULL for stdin */
    lc_sample_type sample;
    lc_format fmt;
    size_t frame_bytes;
    int fd;         /* -1 when closed */
    uint8_t *raw;   /* held bytes + room for one read; allocated in open */
    size_t raw_cap; /* bytes */
    size_t held;    /* bytes of an incomplete frame carried over from the previous read */
} lc_pipe;

static int pipe_parse(const char *arg, void **state, char *errbuf, size_t errlen)
{
    lc_pipe *p = NULL;
    int rc;
    const char *q = arg ? strchr(arg, '?') : NULL;
    size_t plen = arg ? (q ? (size_t)(q - arg) : strlen(arg)) : 0;
    if (plen == 0) {
        lc_errf(errbuf, errlen, "pipe: missing path (pipe:PATH or pipe:- for stdin, options "
                "?format=s16le&rate=48000&channels=2)");
        return LC_ERR_URI;
    }
    p = calloc(1, sizeof *p);
    if (!p) {
        rc = LC_ERR_NOMEM;
        lc_errf(errbuf, errlen, "pipe: out of memory");
        goto fail;
    }
    p->fd = -1;
    p->sample = LC_SAMPLE_S16LE;
    p->fmt = (lc_format){48000, 2};
    unsigned seen;
    rc = lc_capture_parse_pcm_opts("pipe", q ? q + 1 : NULL, &p->sample, &p->fmt, &seen, errbuf,
                                   errlen);
    if (rc < 0)
        goto fail;
    if (!(plen == 1 && arg[0] == '-')) {
        p->path = strndup(arg, plen);
        if (!p->path) {
            rc = LC_ERR_NOMEM;
            lc_errf(errbuf, errlen, "pipe: out of memory");
            goto fail;
        }
    }
    p->frame_bytes = lc_sample_bytes(p->sample) * p->fmt.channels;
    *state = p;
    return 0;
fail:
    free(p);
    return rc;
}

static void pipe_close(void *state)
{
    lc_pipe *p = state;
    if (p->fd >= 0 && p->path)
        close(p->fd);
    p->fd = -1;
    free(p->raw);
    p->raw = NULL;
    p->held = 0;
}

static int pipe_open(void *state, lc_format *fmt, char *errbuf, size_t errlen)
{
    lc_pipe *p = state;
    int rc;
    p->raw_cap = lc_capture_chunk_frames(p->fmt.rate) * p->frame_bytes;
    p->raw = malloc(p->raw_cap);
    if (!p->raw) {
        rc = LC_ERR_NOMEM;
        lc_errf(errbuf, errlen, "pipe: out of memory");
        goto fail;
    }
    p->held = 0;
    if (!p->path) {
        p->fd = STDIN_FILENO;
    } else if ((p->fd = open(p->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
        rc = LC_ERR_IO;
        lc_errf(errbuf, errlen, "pipe: cannot open '%s': %s", p->path, strerror(errno));
        goto fail;
    }
    *fmt = p->fmt;
    return 0;
fail:
    pipe_close(p);
    return rc;
}

static int pipe_read(void *state, lc_format *fmt, float *buf, size_t max_frames, size_t *frames,
                     uint64_t *capture_ns, uint64_t *xruns, char *errbuf, size_t errlen)
{
    lc_pipe *p = state;
    (void)fmt;
    (void)xruns;
    *frames = 0;
    struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
    int r = poll(&pfd, 1, LC_PIPE_POLL_MS);
    if (r < 0) {
        if (errno == EINTR)
            return 0;
        lc_errf(errbuf, errlen, "pipe: poll: %s", strerror(errno));
        return LC_ERR_IO;
    }
    if (r == 0)
        return 0;
    size_t cap = max_frames * p->frame_bytes;
    if (cap > p->raw_cap)
        cap = p->raw_cap;
    ssize_t got = read(p->fd, p->raw + p->held, cap - p->held);
    if (got < 0) {
        if (errno == EAGAIN || errno == EINTR)
            return 0;
        lc_errf(errbuf, errlen, "pipe: read '%s': %s", p->path ? p->path : "stdin",
                strerror(errno));
        return LC_ERR_IO;
    }
    if (got == 0) {
        lc_errf(errbuf, errlen, "pipe: '%s': end of input (%s)", p->path ? p->path : "stdin",
                p->path ? "writer closed; waiting for a new writer" : "stdin closed");
        return LC_ERR_EOF;
    }
    size_t have = p->held + (size_t)got;
    size_t n = have / p->frame_bytes, used = n * p->frame_bytes;
    if (n)
        lc_pcm_to_float(p->sample, p->raw, buf, n * p->fmt.channels);
    /* a write that ended mid-frame: keep the tail so the next read stays aligned */
    p->held = have - used;
    if (p->held)
        memmove(p->raw, p->raw + used, p->held);
    *frames = n;
    uint64_t now = lc_now_ns(), dur = (uint64_t)n * 1000000000ull / p->fmt.rate;
    *capture_ns = now > dur ? now - dur : 0;
    return 0;
}

static void pipe_destroy(void *state)
{
    lc_pipe *p = state;
    pipe_close(p);
    free(p->path);
    free(p);
}

const lc_capture_backend lc_backend_pipe = {
    .name = "pipe",
    .usage = "pipe:PATH|-[?format=s16le&rate=48000&channels=2]  raw PCM from a FIFO or stdin "
             "(format: s16le s24le s24_32le s32le f32le u8)",
    .parse = pipe_parse,
    .open = pipe_open,
    .read = pipe_read,
    .close = pipe_close,
    .destroy = pipe_destroy,
};
