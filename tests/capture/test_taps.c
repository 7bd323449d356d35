/*
 * test_taps.c — taps on a running tone source: the 16-tap limit, remove-self and remove-other
 * from inside a tap, add from inside a tap, "remove returned ⇒ not running and never again"
 * (checked with a tap that is mid-call when remove is called, and with contexts freed right
 * after remove so ASan reports any late call), and add/remove storms from several threads
 * (run this binary under TSan too).
 */
#include "capture.h"
#include "lc_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static lc_capture *open_tone(void)
{
    char err[128];
    lc_capture *cap = NULL;
    CHECK_EQ_INT(lc_capture_open(&cap, "tone:1000", err, sizeof err), 0);
    return cap;
}

typedef struct {
    atomic_int calls;
    atomic_int inside;
    int sleep_us;
    lc_capture *cap;
    atomic_int id;
    int remove_self_after; /* 0 = never */
    atomic_int other_id;   /* remove this tap on the first call, 0 = none */
    atomic_int remove_rc;
    int format_ok;
} counter;

static void count_tap(void *user, const lc_format *fmt, const float *pcm, size_t frames,
                      uint64_t capture_ns)
{
    counter *c = user;
    (void)pcm;
    (void)capture_ns;
    atomic_store(&c->inside, 1);
    if (fmt->rate == 48000 && fmt->channels == 2 && frames == 480)
        c->format_ok = 1;
    int n = atomic_fetch_add(&c->calls, 1) + 1;
    if (c->sleep_us)
        usleep((useconds_t)c->sleep_us);
    if (c->remove_self_after && n == c->remove_self_after)
        atomic_store(&c->remove_rc, lc_capture_remove_tap(c->cap, atomic_load(&c->id)));
    int other = atomic_exchange(&c->other_id, 0);
    if (other)
        atomic_store(&c->remove_rc, lc_capture_remove_tap(c->cap, other));
    atomic_store(&c->inside, 0);
}

static void limit(void)
{
    lc_capture *cap = open_tone();
    counter c[LC_CAPTURE_MAX_TAPS + 1];
    memset(c, 0, sizeof c);
    int ids[LC_CAPTURE_MAX_TAPS];
    for (int i = 0; i < LC_CAPTURE_MAX_TAPS; i++) {
        ids[i] = lc_capture_add_tap(cap, count_tap, &c[i]);
        CHECK(ids[i] > 0);
        for (int j = 0; j < i; j++)
            CHECK(ids[i] != ids[j]);
    }
    CHECK_EQ_INT(lc_capture_add_tap(cap, count_tap, &c[16]), LC_ERR_FULL);
    CHECK_EQ_INT(lc_capture_start(cap), 0);
    usleep(100000);
    CHECK_EQ_INT(lc_capture_remove_tap(cap, ids[7]), 0);
    int id = lc_capture_add_tap(cap, count_tap, &c[16]);
    CHECK(id > 0);
    for (int j = 0; j < LC_CAPTURE_MAX_TAPS; j++)
        CHECK(id != ids[j]); /* ids are not recycled */
    usleep(100000);
    lc_capture_stop(cap);
    for (int i = 0; i <= LC_CAPTURE_MAX_TAPS; i++) {
        CHECK(atomic_load(&c[i].calls) > 0);
        CHECK(c[i].format_ok);
    }
    lc_capture_close(cap);
}

static void remove_self_inside(void)
{
    lc_capture *cap = open_tone();
    counter c = {.remove_self_after = 5, .remove_rc = 99};
    c.cap = cap;
    counter witness = {0};
    atomic_store(&c.id, lc_capture_add_tap(cap, count_tap, &c));
    CHECK(lc_capture_add_tap(cap, count_tap, &witness) > 0);
    CHECK_EQ_INT(lc_capture_start(cap), 0);
    usleep(300000);
    lc_capture_stop(cap);
    CHECK_EQ_INT(atomic_load(&c.remove_rc), 0);
    CHECK_EQ_INT(atomic_load(&c.calls), 5);
    CHECK(atomic_load(&witness.calls) > 20); /* the others kept going */
    CHECK_EQ_INT(lc_capture_remove_tap(cap, atomic_load(&c.id)), LC_ERR_NOT_FOUND);
    lc_capture_close(cap);
}

static void remove_other_inside(void)
{
    lc_capture *cap = open_tone();
    counter killer = {.remove_rc = 99}, victim = {0}, before = {0};
    killer.cap = cap;
    /* the victim sits in a slot after the killer, and one before it */
    int id_before = lc_capture_add_tap(cap, count_tap, &before);
    CHECK(id_before > 0);
    CHECK(lc_capture_add_tap(cap, count_tap, &killer) > 0);
    int vid = lc_capture_add_tap(cap, count_tap, &victim);
    CHECK_EQ_INT(lc_capture_start(cap), 0);
    usleep(50000);
    int seen = atomic_load(&victim.calls);
    atomic_store(&killer.other_id, vid);
    usleep(50000);
    int after = atomic_load(&victim.calls);
    usleep(100000);
    CHECK(seen > 0);
    CHECK_EQ_INT(atomic_load(&killer.remove_rc), 0);
    CHECK_EQ_INT(atomic_load(&victim.calls), after); /* never called after its removal */
    atomic_store(&killer.other_id, id_before);
    usleep(50000);
    int b = atomic_load(&before.calls);
    usleep(100000);
    CHECK_EQ_INT(atomic_load(&before.calls), b);
    lc_capture_stop(cap);
    lc_capture_close(cap);
}

typedef struct {
    lc_capture *cap;
    counter *child;
    atomic_int child_id;
} adder;

static void add_inside_tap(void *user, const lc_format *fmt, const float *pcm, size_t frames,
                           uint64_t capture_ns)
{
    adder *a = user;
    (void)fmt, (void)pcm, (void)frames, (void)capture_ns;
    if (atomic_load(&a->child_id) == 0)
        atomic_store(&a->child_id, lc_capture_add_tap(a->cap, count_tap, a->child));
}

static void add_inside(void)
{
    lc_capture *cap = open_tone();
    counter child = {0};
    adder a = {cap, &child, 0};
    CHECK(lc_capture_add_tap(cap, add_inside_tap, &a) > 0);
    CHECK_EQ_INT(lc_capture_start(cap), 0);
    usleep(200000);
    lc_capture_stop(cap);
    CHECK(atomic_load(&a.child_id) > 0);
    CHECK(atomic_load(&child.calls) > 5);
    lc_capture_close(cap);
}

/* remove() from another thread while the tap is in the middle of a (slow) call */
static void remove_waits_for_running_tap(void)
{
    lc_capture *cap = open_tone();
    counter c = {.sleep_us = 30000};
    int id = lc_capture_add_tap(cap, count_tap, &c);
    CHECK_EQ_INT(lc_capture_start(cap), 0);
    int ok = 0;
    for (int round = 0; round < 5; round++) {
        while (!atomic_load(&c.inside))
            usleep(200);
        CHECK_EQ_INT(lc_capture_remove_tap(cap, id), 0);
        int inside = atomic_load(&c.inside);
        int calls = atomic_load(&c.calls);
        CHECK_EQ_INT(inside, 0);
        usleep(80000);
        CHECK_EQ_INT(atomic_load(&c.calls), calls);
        ok += inside == 0 && atomic_load(&c.calls) == calls;
        id = lc_capture_add_tap(cap, count_tap, &c);
        CHECK(id > 0);
    }
    CHECK_EQ_INT(ok, 5);
    lc_capture_stop(cap);
    lc_capture_close(cap);
}

/* Contexts are freed the moment remove returns: any call after that is a heap-use-after-free
 * under ASan and a race under TSan. */
typedef struct {
    uint32_t magic;
    uint64_t frames;
} heap_ctx;

static void heap_tap(void *user, const lc_format *fmt, const float *pcm, size_t frames,
                     uint64_t capture_ns)
{
    heap_ctx *h = user;
    (void)fmt, (void)pcm, (void)capture_ns;
    if (h->magic != 0xC0FFEE)
        abort();
    h->frames += frames;
}

typedef struct {
    lc_capture *cap;
    atomic_int adds, fulls;
} storm_arg;

static void *storm(void *p)
{
    storm_arg *s = p;
    for (int i = 0; i < 300; i++) {
        heap_ctx *h = malloc(sizeof *h);
        h->magic = 0xC0FFEE;
        h->frames = 0;
        int id = lc_capture_add_tap(s->cap, heap_tap, h);
        if (id == LC_ERR_FULL) {
            atomic_fetch_add(&s->fulls, 1);
            free(h);
            continue;
        }
        if (id <= 0)
            abort();
        atomic_fetch_add(&s->adds, 1);
        if (i % 3 == 0)
            usleep(1000 + (useconds_t)(i % 7) * 1000);
        if (lc_capture_remove_tap(s->cap, id) != 0)
            abort();
        h->magic = 0;
        free(h);
    }
    return NULL;
}

static void storm_from_threads(void)
{
    lc_capture *cap = open_tone();
    counter steady = {0};
    CHECK(lc_capture_add_tap(cap, count_tap, &steady) > 0);
    CHECK_EQ_INT(lc_capture_start(cap), 0);
    storm_arg s = {cap, 0, 0};
    pthread_t th[6];
    for (int i = 0; i < 6; i++)
        pthread_create(&th[i], NULL, storm, &s);
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    usleep(50000);
    lc_capture_stop(cap);
    CHECK(atomic_load(&s.adds) > 1000);
    CHECK(atomic_load(&steady.calls) > 10);
    lc_capture_stats st;
    lc_capture_get_stats(cap, &st);
    CHECK_EQ_INT(st.callbacks, atomic_load(&steady.calls));
    lc_capture_close(cap);
}

LC_TEST_MAIN(TEST(limit), TEST(remove_self_inside), TEST(remove_other_inside), TEST(add_inside),
             TEST(remove_waits_for_running_tap), TEST(storm_from_threads))
