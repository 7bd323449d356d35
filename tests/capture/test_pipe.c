/*
 * test_pipe.c — pipe: a real FIFO fed by writer threads. Data and format are checked sample by
 * sample; writes end mid-frame on purpose (partial frames must be carried, never misaligned);
 * the writer goes away and a new one comes (capture continues, counted as a reopen); stop is
 * prompt with no writer; stdin reaches EOF and is retried; capture_ns is "now − duration".
 */
#include "capture.h"
#include "lc_test.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

typedef struct {
    pthread_mutex_t lock; /* the test thread reads while the capture thread appends */
    lc_format fmt;
    float *keep;
    size_t cap, kept;
    uint64_t late_ns, early;
} rec;

static void rec_tap(void *user, const lc_format *fmt, const float *pcm, size_t frames,
                    uint64_t capture_ns)
{
    rec *r = user;
    uint64_t now = lc_now_ns(), dur = frames * 1000000000ull / fmt->rate;
    pthread_mutex_lock(&r->lock);
    r->fmt = *fmt;
    if (capture_ns + dur > now)
        r->early++;
    else if (now - (capture_ns + dur) > r->late_ns)
        r->late_ns = now - (capture_ns + dur);
    size_t n = frames * fmt->channels;
    if (r->kept + n > r->cap)
        n = r->cap - r->kept;
    memcpy(r->keep + r->kept, pcm, n * sizeof *pcm);
    r->kept += n;
    pthread_mutex_unlock(&r->lock);
}

static size_t rec_kept(rec *r)
{
    pthread_mutex_lock(&r->lock);
    size_t k = r->kept;
    pthread_mutex_unlock(&r->lock);
    return k;
}

static int wait_kept(rec *r, size_t n, double seconds)
{
    uint64_t end = lc_now_ns() + (uint64_t)(seconds * 1e9);
    while (rec_kept(r) < n && lc_now_ns() < end)
        usleep(2000);
    return rec_kept(r) >= n;
}

typedef struct {
    const char *path;
    const uint8_t *data;
    size_t len;
    size_t chunk; /* bytes per write(); odd sizes split frames */
} writer;

static void *write_all(void *p)
{
    writer *w = p;
    int fd = open(w->path, O_WRONLY); /* blocks until the capture has the read end open */
    if (fd < 0)
        return (void *)1;
    for (size_t off = 0; off < w->len;) {
        size_t n = w->len - off < w->chunk ? w->len - off : w->chunk;
        ssize_t k = write(fd, w->data + off, n);
        if (k <= 0)
            break;
        off += (size_t)k;
        usleep(1000);
    }
    close(fd);
    return NULL;
}

static void s16_value_bytes(uint8_t *out, int v)
{
    out[0] = (uint8_t)v;
    out[1] = (uint8_t)((unsigned)v >> 8);
}

/* s16 stereo: frame i = (i, -i) mod 32768; two writers in turn, odd-sized writes. */
static void s16_two_writers(void)
{
    char path[128], uri[200], err[256];
    snprintf(path, sizeof path, "%s/fifo1", dir);
    CHECK_EQ_INT(mkfifo(path, 0600), 0);
    snprintf(uri, sizeof uri, "pipe:%s?format=s16le&rate=48000&channels=2", path);
    lc_capture *cap;
    CHECK_EQ_INT(lc_capture_open(&cap, uri, err, sizeof err), 0);
    enum { N = 24000 };
    static uint8_t data[2 * N * 4];
    static float keep[2 * N * 2];
    for (int i = 0; i < 2 * N; i++) {
        s16_value_bytes(data + 4 * i, i % 32768);
        s16_value_bytes(data + 4 * i + 2, -(i % 32768));
    }
    rec r = {PTHREAD_MUTEX_INITIALIZER, {0, 0}, keep, sizeof keep / sizeof keep[0], 0, 0, 0};
    CHECK(lc_capture_add_tap(cap, rec_tap, &r) > 0);
    CHECK_EQ_INT(lc_capture_start(cap), 0);

    writer w1 = {path, data, N * 4, 1001};
    pthread_t th;
    pthread_create(&th, NULL, write_all, &w1);
    pthread_join(th, NULL);
    CHECK(wait_kept(&r, N * 2, 5));
    CHECK_EQ_INT(rec_kept(&r), N * 2); /* every frame, none invented */
    usleep(300000); /* the writer is gone: EOF, the core reopens and waits for the next one */
    CHECK(lc_capture_get_state(cap) != LC_CAPTURE_STOPPED);
    writer w2 = {path, data + N * 4, N * 4, 777};
    pthread_create(&th, NULL, write_all, &w2);
    pthread_join(th, NULL);
    CHECK(wait_kept(&r, 2 * N * 2, 5));
    lc_capture_stop(cap);

    lc_capture_stats st;
    lc_capture_get_stats(cap, &st);
    CHECK(st.reopens >= 1);
    CHECK(strstr(st.last_error, "writer closed") != NULL);
    CHECK_EQ_INT(r.fmt.rate, 48000);
    CHECK_EQ_INT(r.fmt.channels, 2);
    CHECK_EQ_INT(r.kept, 2 * N * 2);
    size_t bad = 0;
    for (size_t i = 0; i < r.kept / 2; i++) {
        int v = (int)(i % 32768);
        bad += keep[2 * i] != (float)v / 32768.0f || keep[2 * i + 1] != (float)-v / 32768.0f;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(r.early, 0); /* capture_ns + duration is never in the future */
    lc_capture_close(cap);
}

/* Each format with known values, written one byte at a time for the worst-case split. */
static void formats(void)
{
    static const struct {
        const char *opts;
        uint32_t rate, ch;
        uint8_t bytes[16];
        size_t len;
        float want[4];
        size_t n;
    } cases[] = {
        {"format=u8&rate=8000&channels=1", 8000, 1, {0, 128, 255, 64}, 4,
         {-1.0f, 0.0f, 127.0f / 128.0f, -0.5f}, 4},
        {"format=s24le&rate=96000&channels=1", 96000, 1, {0, 0, 0x80, 0xff, 0xff, 0x7f, 0, 0, 0x40},
         9, {-1.0f, 8388607.0f / 8388608.0f, 0.5f}, 3},
        {"format=s32le&channels=1", 48000, 1, {0, 0, 0, 0x80, 0, 0, 0, 0x40}, 8, {-1.0f, 0.5f}, 2},
        {"format=f32le&rate=44100&channels=2", 44100, 2,
         {0, 0, 0x80, 0x3e, 0, 0, 0x80, 0xbf, 0, 0, 0, 0, 0, 0, 0x80, 0x3f}, 16,
         {0.25f, -1.0f, 0.0f, 1.0f}, 4},
        {"channels=1", 48000, 1, {0, 0x80, 0xff, 0x7f}, 4, {-1.0f, 32767.0f / 32768.0f}, 2},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char path[128], uri[200], err[256];
        snprintf(path, sizeof path, "%s/fifo-f%zu", dir, k);
        CHECK_EQ_INT(mkfifo(path, 0600), 0);
        snprintf(uri, sizeof uri, "pipe:%s?%s", path, cases[k].opts);
        lc_capture *cap;
        CHECK_EQ_INT(lc_capture_open(&cap, uri, err, sizeof err), 0);
        float keep[8] = {0};
        rec r = {PTHREAD_MUTEX_INITIALIZER, {0, 0}, keep, 8, 0, 0, 0};
        CHECK(lc_capture_add_tap(cap, rec_tap, &r) > 0);
        CHECK_EQ_INT(lc_capture_start(cap), 0);
        writer w = {path, cases[k].bytes, cases[k].len, 1};
        pthread_t th;
        pthread_create(&th, NULL, write_all, &w);
        pthread_join(th, NULL);
        CHECK(wait_kept(&r, cases[k].n, 5));
        lc_capture_stop(cap);
        CHECK_EQ_INT(r.kept, cases[k].n);
        CHECK_EQ_INT(r.fmt.rate, cases[k].rate);
        CHECK_EQ_INT(r.fmt.channels, cases[k].ch);
        for (size_t i = 0; i < cases[k].n; i++)
            CHECK(keep[i] == cases[k].want[i]);
        lc_capture_close(cap);
    }
}

static void stop_without_writer(void)
{
    char path[128], uri[200], err[256];
    snprintf(path, sizeof path, "%s/fifo-idle", dir);
    CHECK_EQ_INT(mkfifo(path, 0600), 0);
    snprintf(uri, sizeof uri, "pipe:%s", path);
    lc_capture *cap;
    CHECK_EQ_INT(lc_capture_open(&cap, uri, err, sizeof err), 0);
    CHECK_EQ_INT(lc_capture_start(cap), 0);
    usleep(300000);
    CHECK_EQ_INT(lc_capture_get_state(cap), LC_CAPTURE_STARTING); /* open, no audio yet */
    uint64_t t = lc_now_ns();
    lc_capture_stop(cap);
    CHECK((lc_now_ns() - t) < 150000000); /* poll wakes every 100 ms */
    lc_capture_close(cap);

    /* a path that does not exist (yet): not an open-time error, a retry */
    snprintf(uri, sizeof uri, "pipe:%s/not-yet", dir);
    CHECK_EQ_INT(lc_capture_open(&cap, uri, err, sizeof err), 0);
    CHECK_EQ_INT(lc_capture_start(cap), 0);
    usleep(150000);
    CHECK_EQ_INT(lc_capture_get_state(cap), LC_CAPTURE_RETRYING);
    lc_capture_stats st;
    lc_capture_get_stats(cap, &st);
    CHECK(strstr(st.last_error, "not-yet") && strstr(st.last_error, "No such file"));
    lc_capture_close(cap);
}

static void stdin_eof(void)
{
    int fds[2];
    CHECK_EQ_INT(pipe(fds), 0);
    int saved = dup(STDIN_FILENO);
    CHECK_EQ_INT(dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
    close(fds[0]);
    char err[256];
    lc_capture *cap;
    CHECK_EQ_INT(lc_capture_open(&cap, "pipe:-?channels=1", err, sizeof err), 0);
    float keep[64];
    rec r = {PTHREAD_MUTEX_INITIALIZER, {0, 0}, keep, 64, 0, 0, 0};
    CHECK(lc_capture_add_tap(cap, rec_tap, &r) > 0);
    CHECK_EQ_INT(lc_capture_start(cap), 0);
    uint8_t d[7] = {0, 0x40, 0, 0xc0, 0, 0, 0x12}; /* 3 frames and a dangling byte */
    CHECK_EQ_INT(write(fds[1], d, sizeof d), 7);
    close(fds[1]);
    CHECK(wait_kept(&r, 3, 3));
    usleep(400000);
    CHECK_EQ_INT(lc_capture_get_state(cap), LC_CAPTURE_RETRYING);
    lc_capture_stop(cap);
    lc_capture_stats st;
    lc_capture_get_stats(cap, &st);
    CHECK(strstr(st.last_error, "stdin closed") != NULL);
    CHECK(st.reopens >= 1);
    CHECK_EQ_INT(r.kept, 3);
    CHECK(keep[0] == 0.5f && keep[1] == -0.5f && keep[2] == 0.0f);
    lc_capture_close(cap);
    dup2(saved, STDIN_FILENO);
    close(saved);
}

int main(int argc, char **argv)
{
    static const lc_test_case cases[] = {TEST(s16_two_writers), TEST(formats),
                                         TEST(stop_without_writer), TEST(stdin_eof)};
    return lc_test_main_in_tmpdir(cases, sizeof cases / sizeof cases[0], argc, argv, dir, "pipe");
}
