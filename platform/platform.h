/*
 * platform.h — the only place loopcast talks to the operating system's threading and clock APIs.
 * Two implementations behind one header: platform_posix.c (pthreads, clock_gettime,
 * clock_nanosleep) and platform_win32.c (Win32 threads, CRITICAL_SECTION, CONDITION_VARIABLE,
 * QueryPerformanceCounter, high-resolution waitable timers). Everything above this layer is plain
 * C11: `#ifdef _WIN32` belongs here and in Windows-only backend files, nowhere else.
 *
 * Why not C11 <threads.h>: glibc only gained it in 2.28 and mingw-w64/MSVC ship it late or not at
 * all, it has no monotonic timed wait (cnd_timedwait takes TIME_UTC, which a clock step can
 * stretch), and no high-resolution absolute sleep. Atomics are the exception: C11 <stdatomic.h>
 * works on gcc, clang and mingw-w64 gcc (MSVC needs /experimental:c11atomics, VS 2022 17.5+), so
 * callers use it directly.
 *
 * Objects are opaque and heap-allocated (create/destroy), so no system header leaks into callers
 * and the same binary layout holds for every compiler. Functions that can fail return 0 or a
 * negative LC_ERR_* (lc_error.h); lock/unlock/signal cannot fail on a valid object and return void.
 *
 * The clock: lc_plat_now_ns() is CLOCK_MONOTONIC on POSIX and QueryPerformanceCounter on Windows.
 * On Windows that is also the clock WASAPI stamps packets with (u64QPCPosition, 100 ns units), so
 * capture times need no translation: ns = qpc_100ns * 100.
 */
#ifndef LC_PLATFORM_H
#define LC_PLATFORM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lc_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- memory ----------------------------------------------------------------------------- */

/* `size` bytes aligned to `align` (a power of two, at most 4096), NULL when out of memory; freed
 * only by lc_plat_aligned_free. Windows' C runtime has no aligned_alloc (its free() cannot free
 * such a block), hence the pair. */
void *lc_plat_aligned_alloc(size_t align, size_t size);
void lc_plat_aligned_free(void *p);

/* ---- clocks ----------------------------------------------------------------------------- */

/* Monotonic nanoseconds (arbitrary origin, never steps backwards). */
uint64_t lc_plat_now_ns(void);
/* Wall clock, nanoseconds since the Unix epoch (for timestamps people read). */
int64_t lc_plat_wall_ns(void);
/* Sleeps until the absolute lc_plat_now_ns() deadline. May return early (a POSIX signal): the
 * caller re-checks the time and its stop flag and loops. Returns at once if the deadline passed. */
void lc_plat_sleep_until_ns(uint64_t deadline_ns);
/* UTC broken-down time of `unix_s` seconds; 0, or LC_ERR_INVALID if out of range. */
typedef struct lc_plat_tm {
    int year, mon, mday, hour, min, sec; /* full year, month 1..12, day 1..31 */
} lc_plat_tm;
int lc_plat_gmtime(int64_t unix_s, lc_plat_tm *out);

/* ---- output ----------------------------------------------------------------------------- */

/* Writes `len` bytes to standard error in one system call (a log line is never interleaved with
 * another thread's). Failures are ignored: there is nowhere left to report them. */
void lc_plat_write_stderr(const char *buf, size_t len);
/* Whether standard error is a terminal that shows colour escapes (SGR) and UTF-8 text: POSIX
 * isatty(); Windows a console, whose virtual-terminal processing this switches on (Windows 10+;
 * false where it cannot). Logs going to a file, a pipe, journald or a container runtime: false. */
bool lc_plat_stderr_is_terminal(void);

/* ---- durable files ----------------------------------------------------------------------- */

enum {
    LC_FILE_REPLACE = 0,      /* path ends up with the new content, replacing any old file */
    LC_FILE_CREATE_EXCL = 1,  /* path is created with the content only if it does not exist */
};
/*
 * Commits `len` bytes to `path` (UTF-8) durably and all at once: after a crash or power cut the
 * path holds either its old content or the whole new one, never a part. A private temp file next
 * to it (readable by its owner only) is written and flushed to the device, then moved into place
 * and the directory entry flushed: POSIX write → fsync → rename (or link for CREATE_EXCL) →
 * fsync(dir); Windows WriteFile → FlushFileBuffers → MoveFileExW(WRITE_THROUGH, REPLACE_EXISTING
 * for REPLACE). The new file is readable by its owner only (mode 0600 on POSIX; on Windows a
 * protected DACL for its owner, SYSTEM and Administrators, nothing inherited).
 * 0; LC_ERR_AGAIN when CREATE_EXCL finds the path already there; LC_ERR_IO (or LC_ERR_LIMIT for
 * a path too long) with the failing call, path and OS reason in errbuf. No temp file is left.
 */
int lc_plat_file_commit(const char *path, const void *data, size_t len, int mode, char *errbuf,
                        size_t errlen);

/* ---- the state directory ----------------------------------------------------------------- */

/* Where state lives when nobody says: POSIX $XDG_STATE_HOME/loopcast (an absolute value only, as
 * the XDG spec says), else $HOME/.local/state/loopcast; Windows %LOCALAPPDATA%\loopcast, or
 * %ProgramData%\loopcast for a service (`service` true). 0, LC_ERR_NOT_FOUND (no variable to
 * build it from), or LC_ERR_LIMIT (longer than cap). UTF-8. */
int lc_plat_state_dir_default(char *out, size_t cap, bool service);
/* Creates `path` and any missing parents, private to the user for the parts it creates (mode
 * 0700; on Windows the parent's ACL, which in %LOCALAPPDATA% is the user's own). 0 or LC_ERR_IO
 * (the reason in errbuf). */
int lc_plat_mkdirs(const char *path, char *errbuf, size_t errlen);
/* One process per state directory: an exclusive lock on `path` (created if missing, private),
 * held until lc_plat_unlock or the process ends (POSIX flock; Windows LockFileEx). 0,
 * LC_ERR_STATE when another process holds it, or LC_ERR_IO; the reason in errbuf. */
typedef struct lc_plat_lock lc_plat_lock;
int lc_plat_lock_file(const char *path, lc_plat_lock **out, char *errbuf, size_t errlen);
void lc_plat_unlock(lc_plat_lock *l); /* NULL is a no-op */
/* Reads up to cap - 1 bytes of a small file, NUL-terminated, length in *len. *others_can_read
 * (may be NULL) is set when the file's permissions let users other than its owner read it
 * (POSIX: any group/other mode bit; Windows: a NULL DACL or an allow entry with read access for
 * a SID other than the owner, SYSTEM and Administrators). 0, LC_ERR_NOT_FOUND, or
 * LC_ERR_IO with the reason in errbuf. */
int lc_plat_read_small_file(const char *path, char *buf, size_t cap, size_t *len,
                            bool *others_can_read, char *errbuf, size_t errlen);

/* ---- paths and whole files --------------------------------------------------------------- */

/* The separator(s) a path may use: '/' on POSIX; '\\' and '/' on Windows (the first is the one
 * lc_plat_realpath writes, and the one to join paths with). */
#ifdef _WIN32
#define LC_PLAT_PATH_SEPS "\\/"
#else
#define LC_PLAT_PATH_SEPS "/"
#endif
typedef enum lc_path_kind {
    LC_PATH_NONE = 0, /* nothing there (or not reachable) */
    LC_PATH_FILE = 1, /* a regular file */
    LC_PATH_DIR = 2,
    LC_PATH_OTHER = 3, /* a device, socket, FIFO... */
} lc_path_kind;
enum { LC_PATH_READ = 1, LC_PATH_WRITE = 2 };
/* What `path` names, symlinks followed. */
lc_path_kind lc_plat_path_kind(const char *path);
/* Whether this process may read (LC_PATH_READ) and/or create and replace entries in (LC_PATH_WRITE,
 * for a directory) `path`: POSIX access() (a directory also needs search permission); Windows
 * reads for READ and, for WRITE, only the read-only attribute of a file (a directory's ACL is
 * judged when the state directory's lock file is created, which then fails with its reason).
 * 0, or LC_ERR_IO with the reason in errbuf. */
int lc_plat_path_access(const char *path, int want, char *errbuf, size_t errlen);
/* The absolute, canonical path of an existing file or directory (symlinks and junctions resolved;
 * Windows: without the \\?\ prefix), UTF-8, malloc'd. NULL with the reason in errbuf. */
char *lc_plat_realpath(const char *path, char *errbuf, size_t errlen);
/* A whole regular file into a malloc'd buffer with a NUL after its `*len` bytes. 0;
 * LC_ERR_NOT_FOUND (nothing there, or not a regular file); LC_ERR_LIMIT (more than `max` bytes);
 * LC_ERR_NOMEM; LC_ERR_IO (the reason in errbuf). */
int lc_plat_read_file(const char *path, size_t max, char **data, size_t *len, char *errbuf,
                      size_t errlen);
/* Renames `from` to `to` (replacing it if it exists; not durable: for moving a file aside). 0 or
 * LC_ERR_IO (the reason in errbuf). */
int lc_plat_rename(const char *from, const char *to, char *errbuf, size_t errlen);

#ifdef _WIN32
#include <wchar.h>
/* For Windows-only backend files: loopcast's strings are UTF-8, the Windows API's UTF-16 (the *W
 * calls). malloc'd (free() it), NULL on failure (invalid UTF-8 or no memory). */
wchar_t *lc_plat_wide(const char *s);
#endif

/* The program's arguments and environment ("NAME=value" strings, NULL-terminated) in UTF-8.
 * POSIX: argv as given and `environ`, unchanged. Windows: argv and the environment are in the
 * ANSI code page, which cannot hold every path (a user name in another script), so both are
 * rebuilt from the UTF-16 originals (GetCommandLineW, GetEnvironmentStringsW); they live until
 * the process ends. 0, or LC_ERR_NOMEM. */
int lc_plat_args_utf8(int *argc, char ***argv, char ***envp);

/* What to tell a person, in this OS's words. */
typedef enum lc_plat_text_id {
    LC_TEXT_PRIVATE_FILE, /* how lc_plat_file_commit's file is protected ("mode 0600") */
    LC_TEXT_MAKE_PRIVATE, /* how to protect a file others can read ("chmod 600 it") */
    LC_TEXT_FIREWALL,     /* what the firewall will do on the first start; "" when nothing */
    LC_TEXT_STATE_DIR,    /* where the state directory is by default, in the user's words */
    LC_TEXT_STOP,         /* how the OS asks loopcast to stop ("SIGTERM/SIGINT") */
} lc_plat_text_id;
const char *lc_plat_text(lc_plat_text_id id);

/* ---- network ------------------------------------------------------------------------------ */

/* IP addresses as bytes. A numeric IPv4 or IPv6 address: 4 (out[0..3]) or 6 (out[0..15]); 0 when
 * `txt` is neither (names are not resolved). */
int lc_plat_ip_parse(const char *txt, uint8_t out[16]);
#define LC_PLAT_IP_STRLEN 46 /* INET6_ADDRSTRLEN */
/* inet_ntop of 4 (family 4) or 16 (family 6) bytes into buf (at least LC_PLAT_IP_STRLEN); "?"
 * if it cannot. Returns buf. */
const char *lc_plat_ip_format(int family, const uint8_t *addr, char *buf, size_t cap);
/* A peer's address (a struct sockaddr, as libwebsockets hands it over) as 16 bytes, IPv4 as
 * ::ffff:a.b.c.d. 0, or LC_ERR_INVALID for a family that is neither. */
int lc_plat_sockaddr_key(const void *sockaddr, uint8_t key[16]);
/* Whether a network interface of that name exists (POSIX if_nametoindex; Windows its alias). */
bool lc_plat_if_exists(const char *name);
/* The interface an --bind value names, for advertising on it alone (mDNS): `bind` is a numeric
 * address of one of this machine's interfaces or an interface's name (as lc_plat_if_exists takes
 * it). *index gets the OS's interface index (0 for an unspecified address, 0.0.0.0 or ::: every
 * interface) and *loopback whether only this machine can reach it (the loopback interface, any
 * 127.0.0.0/8 or ::1). 0, LC_ERR_NOT_FOUND (no interface has it), or LC_ERR_SYSTEM. */
int lc_plat_if_index(const char *bind, unsigned *index, bool *loopback);
/* This machine's name as people know it on the LAN: the host name without its domain (Windows:
 * the DNS host name), UTF-8. 0, or LC_ERR_SYSTEM (out gets ""). */
int lc_plat_hostname(char *out, size_t cap);
/* Calls fn once per IPv4 address of this machine's interfaces that are up, with the interface's
 * name (Windows: its friendly name, UTF-8): the addresses a person types into a phone. 0 or
 * LC_ERR_SYSTEM. */
typedef void (*lc_addr_fn)(void *user, const char *ip, const char *ifname);
int lc_plat_ipv4_addrs(lc_addr_fn fn, void *user);
/* The kernel send buffer of a connected socket (lws_sockfd_type: an int fd on POSIX, a SOCKET on
 * Windows). Best effort: a failure leaves the system default. */
void lc_plat_socket_sndbuf(intptr_t sock, int bytes);
/* Closes a socket (the same kind of handle). */
void lc_plat_socket_close(intptr_t sock);
/* A non-blocking UDP socket connected to host:port (a name is looked up now, blocking; the first
 * address that takes a socket wins). 0, or LC_ERR_NOT_FOUND (no such name, with why[] from the
 * resolver) / LC_ERR_IO. Close it with lc_plat_socket_close. */
int lc_plat_udp_open(const char *host, unsigned port, intptr_t *out, char *why, size_t whylen);
/* Sends one datagram on it: 0, LC_ERR_AGAIN (the socket buffer is full: not sent), or LC_ERR_IO
 * with why[] set (e.g. the target answered "port unreachable" to an earlier one). */
int lc_plat_udp_send(intptr_t sock, const void *buf, size_t len, char *why, size_t whylen);
/* Open-file limit. POSIX: sets the soft RLIMIT_NOFILE to exactly `want` (at most the hard limit;
 * lowering a huge inherited one too), or only reads it when want is 0; *now gets the soft limit
 * in force (UINT_MAX when unlimited). Windows has no per-process socket limit: *now = UINT_MAX.
 * 0, or LC_ERR_SYSTEM. */
int lc_plat_fd_limit(unsigned want, unsigned *now);

/* ---- stop requests ------------------------------------------------------------------------ */

/*
 * How the operating system asks the process to stop, in one shape for both: POSIX SIGTERM,
 * SIGINT (and SIGHUP, which the caller may ignore); Windows Ctrl+C, Ctrl+Break, console close,
 * logoff and shutdown (SetConsoleCtrlHandler, and WM_ENDSESSION to a hidden window: a process
 * that loads user32 gets no console logoff/shutdown events). `what` names it: "SIGTERM", "SIGINT", "SIGHUP",
 * "CTRL_C", "CTRL_BREAK", "CLOSE", "LOGOFF", "SHUTDOWN". fn runs on a thread of the platform's
 * (the sigwait thread; Windows' handler thread), never inside a signal handler, so it may log
 * and take locks; it should only record the request and wake the main loop.
 */
typedef void (*lc_stop_fn)(void *user, const char *what);
/* POSIX: blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it later
 * starts (so only the watcher takes them, never a thread in the middle of a call) and ignores
 * SIGPIPE (a peer closing mid-write is an EPIPE). Call in main() before any thread exists.
 * Windows: nothing. */
void lc_plat_stop_init(void);
/* Starts delivering stop requests to fn. 0, or LC_ERR_SYSTEM. One watcher per process. */
int lc_plat_stop_watch(lc_stop_fn fn, void *user);
/* The caller has finished shutting down (every acknowledged change is on disk): fn is not called
 * again and the watcher ends. Windows ends the process as soon as a CLOSE, LOGOFF or SHUTDOWN
 * handler returns (a closing console allows about 5 s), so that handler waits for this call. */
void lc_plat_stop_done(void);

/* ---- Windows service ---------------------------------------------------------------------- */

/*
 * loopcast as a Windows service (`loopcast.exe --service install|uninstall`). On POSIX every
 * call returns LC_ERR_UNSUPPORTED with a reason naming systemd instead.
 *
 * install: registers service `name` (automatic start, account NT AUTHORITY\LocalService) that
 *   runs this executable with "--service run" and args[0..nargs) (quoted for the Windows command
 *   line), creates its state folder (lc_plat_state_dir_default(..., true)) writable by
 *   LocalService, SYSTEM and Administrators only, adds an inbound Windows Firewall rule `name`
 *   for TCP `port` (a service gets no firewall prompt) and starts the service. A firewall rule
 *   that cannot be added is not fatal: *warn gets the command to run by hand ("" if none).
 *   LC_ERR_STATE when the service exists; LC_ERR_SYSTEM otherwise (errbuf says why: access
 *   denied means "run it from an Administrator prompt").
 * uninstall: stops the service (waiting up to 20 s for its graceful stop), deletes it and its
 *   firewall rule; the state folder is kept. LC_ERR_NOT_FOUND when not installed.
 * run: when the service control manager started this process, runs fn(user) as service `name`:
 *   stderr goes to <state folder>\loopcast.log, stop/shutdown/preshutdown controls arrive at
 *   the lc_plat_stop_watch callback ("SERVICE_STOP", "SHUTDOWN"), and the service reports
 *   stopped with fn's result (an exit status: 0, or a service-specific error code). Returns
 *   fn's result, or LC_ERR_STATE when the service control manager did not start this process.
 */
int lc_plat_service_install(const char *name, const char *display, const char *description,
                            char *const *args, int nargs, unsigned port, char *warn,
                            size_t warnlen, char *errbuf, size_t errlen);
int lc_plat_service_uninstall(const char *name, char *errbuf, size_t errlen);
int lc_plat_service_run(const char *name, int (*fn)(void *user), void *user, char *errbuf,
                        size_t errlen);

/* ---- threads ---------------------------------------------------------------------------- */

typedef struct lc_thread lc_thread;
typedef void (*lc_thread_fn)(void *arg);

/* Starts fn(arg) on a new thread. 0, or LC_ERR_SYSTEM / LC_ERR_NOMEM (nothing started). */
int lc_thread_create(lc_thread **out, lc_thread_fn fn, void *arg);
/* Waits for the thread to end and frees `t`. Must not be called from `t` itself. */
void lc_thread_join(lc_thread *t);
/* true when called on the thread `t` runs (to refuse a self-join). */
bool lc_thread_is_current(const lc_thread *t);
/* The CPUs this process may run on (its affinity mask, so taskset and container cpusets count;
 * Windows: the active processors), at least 1. */
unsigned lc_plat_cpu_count(void);

/* ---- a thread that runs until told to stop --------------------------------------------------- */

typedef struct lc_runner lc_runner;
typedef void (*lc_runner_fn)(lc_runner *r, void *arg);
/* Starts fn(r, arg) on a thread of its own; fn works in rounds, pausing with
 * lc_runner_sleep_until, and returns when that says stop. *out is set before fn starts (fn may
 * find it through its own structures). 0, or LC_ERR_NOMEM / LC_ERR_SYSTEM (nothing started). */
int lc_runner_start(lc_runner **out, lc_runner_fn fn, void *arg);
/* Sleeps until the lc_plat_now_ns() deadline or a stop request (which ends the sleep at once);
 * true when fn must return. */
bool lc_runner_sleep_until(lc_runner *r, uint64_t deadline_ns);
/* Asks fn to return, waits for it, frees. NULL is a no-op. Not from the runner's own thread. */
void lc_runner_stop(lc_runner *r);

/* ---- mutexes and condition variables ------------------------------------------------------ */

typedef struct lc_mutex lc_mutex;
enum {
    LC_MUTEX_PLAIN = 0,     /* locking it twice on one thread is a bug (may deadlock) */
    LC_MUTEX_RECURSIVE = 1, /* the owner may lock again; unlock as many times */
};
int lc_mutex_create(lc_mutex **out, int kind);
void lc_mutex_destroy(lc_mutex *m); /* NULL is a no-op; must be unlocked */
void lc_mutex_lock(lc_mutex *m);
void lc_mutex_unlock(lc_mutex *m);

typedef struct lc_cond lc_cond;
int lc_cond_create(lc_cond **out);
void lc_cond_destroy(lc_cond *c); /* NULL is a no-op */
void lc_cond_signal(lc_cond *c);
void lc_cond_broadcast(lc_cond *c);
/* Waits (m locked by the caller, and by exactly one level if recursive) until signalled or a
 * spurious wake-up: callers loop on their predicate. */
void lc_cond_wait(lc_cond *c, lc_mutex *m);
/* Waits (m locked by the caller, and by exactly one level if recursive) until signalled, a
 * spurious wake-up, or the absolute lc_plat_now_ns() deadline. 0 when woken, LC_ERR_TIMEOUT
 * when the deadline passed. A wall-clock step cannot stretch the wait. */
int lc_cond_wait_until(lc_cond *c, lc_mutex *m, uint64_t deadline_ns);

/* ---- one-time initialisation ------------------------------------------------------------- */

/* Runs a function exactly once however many threads race to it; the losers wait until it has
 * returned. Static storage, initialised with LC_ONCE_INIT. Plain C11 atomics: no #ifdef. */
typedef struct lc_once {
    atomic_int state; /* 0 not run, 1 running, 2 done */
} lc_once;
#define LC_ONCE_INIT {0}
void lc_once_run(lc_once *once, void (*fn)(void));

/* This thread's id: nonzero, unique in the process, stable for the thread's life (any thread,
 * also one the OS or a library started). For "am I on the thread that owns this?" checks. */
uint64_t lc_thread_id(void);

/* Gives up the rest of this thread's time slice. */
void lc_thread_yield(void);

#ifdef __cplusplus
}
#endif
#endif
