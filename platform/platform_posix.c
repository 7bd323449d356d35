/*
 * platform_posix.c — platform.h on POSIX: pthreads, CLOCK_MONOTONIC, clock_nanosleep. This is
 * exactly what common/ and capture/ called directly before the layer existed, so Linux behaviour
 * is unchanged (same clock, same condvar clock, same recursive mutex type).
 */
#include "platform.h"
#include "platform_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

uint64_t lc_plat_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t lc_plat_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void lc_plat_sleep_until_ns(uint64_t deadline_ns)
{
    struct timespec ts = {(time_t)(deadline_ns / 1000000000u), (long)(deadline_ns % 1000000000u)};
    /* EINTR ends the sleep early on purpose: the caller re-checks its stop flag and loops */
    (void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

int lc_plat_gmtime(int64_t unix_s, lc_plat_tm *out)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return LC_ERR_INVALID;
    *out = (lc_plat_tm){tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                        tm.tm_sec};
    return 0;
}

void lc_plat_write_stderr(const char *buf, size_t len)
{
    ssize_t r = write(STDERR_FILENO, buf, len);
    (void)r; /* nowhere left to report a failed log write */
}

bool lc_plat_stderr_is_terminal(void) { return isatty(STDERR_FILENO) == 1; }

/* ---- durable files ----------------------------------------------------------------------- */

int lc_plat_fail(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* fsync of the directory holding `path`: the rename or link itself survives a power cut. Some
 * file systems refuse fsync on a directory; the new name stands anyway, so that is not an error. */
static void sync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
}

int lc_plat_file_commit(const char *path, const void *data, size_t len, int mode, char *errbuf,
                        size_t errlen)
{
    static atomic_uint seq;
    char tmp[PATH_MAX];
    int fd = -1, rc;
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%ld-%u", path, (long)getpid(),
                 atomic_fetch_add(&seq, 1)) >= (int)sizeof tmp)
        return lc_plat_fail(errbuf, errlen, LC_ERR_LIMIT, "path too long: '%s'", path);
    unlink(tmp); /* a leftover of a crashed process with the same pid */
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
        return lc_plat_fail(errbuf, errlen, LC_ERR_IO, "open '%s': %s", tmp,
                          strerror(errno));
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, (const char *)data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = lc_plat_fail(errbuf, errlen, LC_ERR_IO, "write '%s': %s", tmp,
                            w < 0 ? strerror(errno) : "no progress");
            goto fail;
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0) {
        rc = lc_plat_fail(errbuf, errlen, LC_ERR_IO, "fsync '%s': %s", tmp, strerror(errno));
        goto fail;
    }
    int closed = close(fd);
    fd = -1;
    if (closed < 0) {
        rc = lc_plat_fail(errbuf, errlen, LC_ERR_IO, "close '%s': %s", tmp, strerror(errno));
        goto fail;
    }
    if (mode == LC_FILE_CREATE_EXCL) {
        /* link() fails if path exists: two processes racing to create it cannot both win */
        if (link(tmp, path) < 0) {
            rc = lc_plat_fail(errbuf, errlen, errno == EEXIST ? LC_ERR_AGAIN : LC_ERR_IO,
                            "link to '%s': %s", path, strerror(errno));
            goto fail;
        }
        unlink(tmp);
    } else if (rename(tmp, path) < 0) {
        rc = lc_plat_fail(errbuf, errlen, LC_ERR_IO, "rename to '%s': %s", path,
                        strerror(errno));
        goto fail;
    }
    sync_parent(path);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp); /* never leave a partial file behind */
    return rc;
}

/* ---- the state directory ----------------------------------------------------------------- */

int lc_plat_state_dir_default(char *out, size_t cap, bool service)
{
    (void)service; /* a system service gets its directory from its unit (StateDirectory=) */
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/') /* the XDG spec: relative values are invalid, ignore them */
        n = snprintf(out, cap, "%s/loopcast", xdg);
    else if (home && home[0] == '/')
        n = snprintf(out, cap, "%s/.local/state/loopcast", home);
    else
        return LC_ERR_NOT_FOUND;
    return n > 0 && (size_t)n < cap ? 0 : LC_ERR_LIMIT;
}

int lc_plat_mkdirs(const char *path, char *errbuf, size_t errlen)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return lc_plat_fail(errbuf, errlen, LC_ERR_IO, "path too long: '%s'", path);
    for (char *p = buf + 1;; p++) {
        if (*p && *p != '/')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            return lc_plat_fail(errbuf, errlen, LC_ERR_IO, "cannot create directory '%s': %s", buf,
                              strerror(errno));
        if (!c)
            return 0;
        *p = c;
    }
}

struct lc_plat_lock {
    int fd;
};

int lc_plat_lock_file(const char *path, lc_plat_lock **out, char *errbuf, size_t errlen)
{
    lc_plat_lock *l = malloc(sizeof *l);
    if (!l)
        return lc_plat_fail(errbuf, errlen, LC_ERR_NOMEM, "out of memory");
    l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (l->fd < 0) {
        free(l);
        return lc_plat_fail(errbuf, errlen, LC_ERR_IO, "cannot open '%s': %s", path,
                          strerror(errno));
    }
    if (flock(l->fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(l->fd);
        free(l);
        return e == EWOULDBLOCK
                   ? lc_plat_fail(errbuf, errlen, LC_ERR_STATE, "'%s' is locked by another process",
                                path)
                   : lc_plat_fail(errbuf, errlen, LC_ERR_IO, "cannot lock '%s': %s", path,
                                strerror(e));
    }
    *out = l;
    return 0;
}

void lc_plat_unlock(lc_plat_lock *l)
{
    if (!l)
        return;
    close(l->fd); /* releases the flock */
    free(l);
}

int lc_plat_read_small_file(const char *path, char *buf, size_t cap, size_t *len,
                            bool *others_can_read, char *errbuf, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? LC_ERR_NOT_FOUND
                               : lc_plat_fail(errbuf, errlen, LC_ERR_IO, "cannot read '%s': %s",
                                            path, strerror(errno));
    if (others_can_read)
        *others_can_read = fstat(fd, &st) == 0 && (st.st_mode & 077);
    ssize_t n = read(fd, buf, cap - 1);
    int e = errno;
    close(fd);
    if (n < 0)
        return lc_plat_fail(errbuf, errlen, LC_ERR_IO, "cannot read '%s': %s", path, strerror(e));
    buf[n] = '\0';
    *len = (size_t)n;
    return 0;
}

/* ---- threads ---------------------------------------------------------------------------- */

struct lc_thread {
    pthread_t id;
    lc_thread_fn fn; /* written before pthread_create, read by the new thread only */
    void *arg;
};

static void *lc_thread_start(void *p)
{
    lc_thread *t = p;
    t->fn(t->arg);
    return NULL;
}

unsigned lc_plat_cpu_count(void)
{
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}

int lc_thread_create(lc_thread **out, lc_thread_fn fn, void *arg)
{
    lc_thread *t = calloc(1, sizeof *t);
    if (!t)
        return LC_ERR_NOMEM;
    t->fn = fn;
    t->arg = arg;
    if (pthread_create(&t->id, NULL, lc_thread_start, t) != 0) {
        free(t);
        return LC_ERR_SYSTEM;
    }
    *out = t;
    return 0;
}

void lc_thread_join(lc_thread *t)
{
    if (!t)
        return;
    pthread_join(t->id, NULL);
    free(t);
}

bool lc_thread_is_current(const lc_thread *t) { return t && pthread_equal(pthread_self(), t->id); }

void lc_thread_yield(void) { sched_yield(); }

/* ---- mutexes and condition variables ------------------------------------------------------ */

struct lc_mutex {
    pthread_mutex_t m;
};

struct lc_cond {
    pthread_cond_t c; /* CLOCK_MONOTONIC, so a clock step cannot stretch a timed wait */
};

int lc_mutex_create(lc_mutex **out, int kind)
{
    pthread_mutexattr_t ma;
    lc_mutex *m = calloc(1, sizeof *m);
    if (!m)
        return LC_ERR_NOMEM;
    pthread_mutexattr_init(&ma);
    if (kind == LC_MUTEX_RECURSIVE)
        pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    int e = pthread_mutex_init(&m->m, &ma);
    pthread_mutexattr_destroy(&ma);
    if (e) {
        free(m);
        return e == ENOMEM ? LC_ERR_NOMEM : LC_ERR_SYSTEM;
    }
    *out = m;
    return 0;
}

void lc_mutex_destroy(lc_mutex *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->m);
    free(m);
}

void lc_mutex_lock(lc_mutex *m) { pthread_mutex_lock(&m->m); }
void lc_mutex_unlock(lc_mutex *m) { pthread_mutex_unlock(&m->m); }

int lc_cond_create(lc_cond **out)
{
    pthread_condattr_t ca;
    lc_cond *c = calloc(1, sizeof *c);
    if (!c)
        return LC_ERR_NOMEM;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int e = pthread_cond_init(&c->c, &ca);
    pthread_condattr_destroy(&ca);
    if (e) {
        free(c);
        return e == ENOMEM ? LC_ERR_NOMEM : LC_ERR_SYSTEM;
    }
    *out = c;
    return 0;
}

void lc_cond_destroy(lc_cond *c)
{
    if (!c)
        return;
    pthread_cond_destroy(&c->c);
    free(c);
}

void lc_cond_signal(lc_cond *c) { pthread_cond_signal(&c->c); }
void lc_cond_broadcast(lc_cond *c) { pthread_cond_broadcast(&c->c); }

void lc_cond_wait(lc_cond *c, lc_mutex *m) { pthread_cond_wait(&c->c, &m->m); }

int lc_cond_wait_until(lc_cond *c, lc_mutex *m, uint64_t deadline_ns)
{
    struct timespec ts = {(time_t)(deadline_ns / 1000000000u), (long)(deadline_ns % 1000000000u)};
    return pthread_cond_timedwait(&c->c, &m->m, &ts) == ETIMEDOUT ? LC_ERR_TIMEOUT : 0;
}

/* ---- stop requests ------------------------------------------------------------------------ */

/* The sigwait() watcher. Written by lc_plat_stop_watch / lc_plat_stop_done on the main thread;
 * the watcher reads stop_fn/stop_user only before stop_ending is set (seq_cst atomics). */
static lc_stop_fn stop_fn;
static void *stop_user;
static lc_thread *stop_thread;
static atomic_bool stop_ending;

static void stop_sigset(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
}

void lc_plat_stop_init(void)
{
    sigset_t set;
    stop_sigset(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void stop_main(void *arg)
{
    (void)arg;
    sigset_t set;
    stop_sigset(&set);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (atomic_load(&stop_ending))
            return; /* lc_plat_stop_done woke us with a signal aimed at this thread alone */
        stop_fn(stop_user, sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "SIGHUP");
    }
}

int lc_plat_stop_watch(lc_stop_fn fn, void *user)
{
    stop_fn = fn;
    stop_user = user;
    atomic_store(&stop_ending, false);
    return lc_thread_create(&stop_thread, stop_main, NULL) ? LC_ERR_SYSTEM : 0;
}

void lc_plat_stop_done(void)
{
    if (!stop_thread)
        return;
    atomic_store(&stop_ending, true);
    pthread_kill(stop_thread->id, SIGTERM);
    lc_thread_join(stop_thread);
    stop_thread = NULL;
}
