/*
 * platform_win32.c — platform.h on Windows (mingw-w64 gcc or MSVC), Windows 7 and later.
 *
 * Clock: QueryPerformanceCounter, the clock WASAPI stamps capture packets with, so a packet's
 * u64QPCPosition (100 ns units) maps to lc_plat_now_ns() by a multiplication.
 * Sleep: a waitable timer set to the remaining time. CREATE_WAITABLE_TIMER_HIGH_RESOLUTION
 * (Windows 10 1803+) wakes within ~0.5 ms; older systems (and Wine, which rejects the flag) get a
 * plain timer, which rounds up to the system tick (~1-16 ms). Callers pace on absolute deadlines,
 * so a late wake-up delays one chunk but never accumulates.
 * Locks: CRITICAL_SECTION (always recursive, so it serves both kinds) + CONDITION_VARIABLE.
 */
/* _WIN32_WINNT (Windows 7) and WIN32_LEAN_AND_MEAN come from platform/CMakeLists.txt */
#include "platform.h"
#include "platform_internal.h"

#include <windows.h>
#include <sddl.h>
#include <aclapi.h>
#include <process.h>
#include <shlobj.h> /* SHGetKnownFolderPath */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CREATE_WAITABLE_TIMER_HIGH_RESOLUTION
#define CREATE_WAITABLE_TIMER_HIGH_RESOLUTION 0x00000002 /* SDK 10.0.17134; older headers lack it */
#endif

/* ---- clocks ----------------------------------------------------------------------------- */

typedef VOID(WINAPI *lc_precise_time_fn)(LPFILETIME);

/* Filled once by lc_plat_clock_init (lc_once publishes them); read-only afterwards. */
static uint64_t lc_qpc_freq;
static lc_precise_time_fn lc_precise_time; /* GetSystemTimePreciseAsFileTime, Windows 8+ */
static lc_once lc_clock_once = LC_ONCE_INIT;

static void lc_plat_clock_init(void)
{
    LARGE_INTEGER f;
    QueryPerformanceFrequency(&f); /* cannot fail on XP and later */
    lc_qpc_freq = (uint64_t)f.QuadPart;
    HMODULE k32 = GetModuleHandleW(L"kernel32.dll");
    FARPROC p = k32 ? GetProcAddress(k32, "GetSystemTimePreciseAsFileTime") : NULL;
    /* the cast through a generic function pointer type is how GetProcAddress is meant to be used */
    lc_precise_time = (lc_precise_time_fn)(void (*)(void))p;
}

uint64_t lc_plat_now_ns(void)
{
    lc_once_run(&lc_clock_once, lc_plat_clock_init);
    LARGE_INTEGER c;
    QueryPerformanceCounter(&c);
    uint64_t t = (uint64_t)c.QuadPart, f = lc_qpc_freq;
    /* split so t * 1e9 cannot overflow (it would after ~30 min at a 10 MHz counter) */
    return t / f * 1000000000ull + t % f * 1000000000ull / f;
}

int64_t lc_plat_wall_ns(void)
{
    lc_once_run(&lc_clock_once, lc_plat_clock_init);
    FILETIME ft;
    if (lc_precise_time)
        lc_precise_time(&ft);
    else
        GetSystemTimeAsFileTime(&ft);
    uint64_t t = ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime; /* 100 ns since 1601 */
    return (int64_t)(t - 116444736000000000ull) * 100;
}

void lc_plat_sleep_until_ns(uint64_t deadline_ns)
{
    uint64_t now = lc_plat_now_ns();
    if (now >= deadline_ns)
        return;
    HANDLE tm = CreateWaitableTimerExW(NULL, NULL, CREATE_WAITABLE_TIMER_HIGH_RESOLUTION,
                                       TIMER_ALL_ACCESS);
    if (!tm)
        tm = CreateWaitableTimerExW(NULL, NULL, 0, TIMER_ALL_ACCESS);
    LARGE_INTEGER due;
    /* negative = relative, in 100 ns; round up so we never wake before the deadline */
    due.QuadPart = -(LONGLONG)((deadline_ns - now + 99) / 100);
    if (tm && SetWaitableTimer(tm, &due, 0, NULL, NULL, FALSE)) {
        WaitForSingleObject(tm, INFINITE);
    } else {
        uint64_t ms = (deadline_ns - now + 999999) / 1000000;
        Sleep(ms > 0x7fffffff ? 0x7fffffff : (DWORD)ms); /* no timer object: coarse, but sleeps */
    }
    if (tm)
        CloseHandle(tm);
}

int lc_plat_gmtime(int64_t unix_s, lc_plat_tm *out)
{
    /* days since 1970-01-01 → civil date (H. Hinnant's algorithm): no CRT time functions, whose
     * 32/64-bit variants differ between msvcrt, ucrt and MSVC */
    if (unix_s < 0 || unix_s > 253402300799) /* 9999-12-31T23:59:59Z */
        return LC_ERR_INVALID;
    int64_t days = unix_s / 86400, rem = unix_s % 86400;
    int64_t z = days + 719468, era = z / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    *out = (lc_plat_tm){(int)y, (int)m, (int)d, (int)(rem / 3600), (int)(rem % 3600 / 60),
                        (int)(rem % 60)};
    return 0;
}

void lc_plat_write_stderr(const char *buf, size_t len)
{
    HANDLE h = GetStdHandle(STD_ERROR_HANDLE);
    DWORD w, mode;
    if (!h || h == INVALID_HANDLE_VALUE)
        return;
    /* A console shows bytes in its code page (rarely UTF-8): our UTF-8 text (an em dash, the QR
     * code's half blocks) goes to it as UTF-16 instead. Files and pipes get the bytes. */
    if (GetConsoleMode(h, &mode) && len < INT_MAX) {
        int n = MultiByteToWideChar(CP_UTF8, 0, buf, (int)len, NULL, 0);
        wchar_t *ws = n > 0 ? malloc((size_t)n * sizeof *ws) : NULL;
        if (ws && MultiByteToWideChar(CP_UTF8, 0, buf, (int)len, ws, n) == n &&
            WriteConsoleW(h, ws, (DWORD)n, &w, NULL)) {
            free(ws);
            return;
        }
        free(ws); /* out of memory: the bytes as they are beat nothing */
    }
    (void)WriteFile(h, buf, (DWORD)len, &w, NULL); /* nowhere left to report a failure */
}

bool lc_plat_stderr_is_terminal(void)
{
    HANDLE h = GetStdHandle(STD_ERROR_HANDLE);
    DWORD mode;
    if (!h || h == INVALID_HANDLE_VALUE || !GetConsoleMode(h, &mode))
        return false;
    return (mode & ENABLE_VIRTUAL_TERMINAL_PROCESSING) ||
           SetConsoleMode(h, mode | ENABLE_VIRTUAL_TERMINAL_PROCESSING);
}

/* ---- durable files ----------------------------------------------------------------------- */

int lc_plat_win_err(char *errbuf, size_t errlen, int rc, const char *what, const char *path,
                    unsigned long err)
{
    if (errbuf && errlen) {
        char msg[256] = "";
        FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err, 0,
                       msg, sizeof msg, NULL);
        size_t n = strlen(msg);
        while (n && (msg[n - 1] == '\r' || msg[n - 1] == '\n' || msg[n - 1] == '.'))
            msg[--n] = '\0';
        snprintf(errbuf, errlen, "%s '%s': %s (error %lu)", what, path, msg, (unsigned long)err);
    }
    return rc;
}

/* loopcast's paths are UTF-8; the Windows API takes UTF-16 (the *W calls). NULL on failure. */
wchar_t *lc_plat_wide(const char *s)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    wchar_t *w = n > 0 ? malloc((size_t)n * sizeof *w) : NULL;
    if (w && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
        free(w);
        w = NULL;
    }
    return w;
}

int lc_plat_file_commit(const char *path, const void *data, size_t len, int mode, char *errbuf,
                        size_t errlen)
{
    static volatile LONG seq;
    char tmp[1024];
    wchar_t *wpath = NULL, *wtmp = NULL;
    HANDLE h = INVALID_HANDLE_VALUE;
    PSECURITY_DESCRIPTOR sd = NULL;
    int rc;
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%lu-%ld", path, (unsigned long)GetCurrentProcessId(),
                 (long)InterlockedIncrement(&seq)) >= (int)sizeof tmp) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "path too long: '%s'", path);
        return LC_ERR_LIMIT;
    }
    if (!(wpath = lc_plat_wide(path)) || !(wtmp = lc_plat_wide(tmp))) {
        rc = lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "not a valid UTF-8 path:", path,
                        ERROR_NO_UNICODE_TRANSLATION);
        goto out;
    }
    /* The file's own DACL, not the directory's: a protected one (no inherited entries) that lets
     * only its owner, SYSTEM and the Administrators group open it — the counterpart of mode 0600
     * (the API token lives in such a file; %ProgramData% would let every user read an inherited
     * one). The move below keeps it. No other process may open the file while it is written. */
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(
            L"D:P(A;;FA;;;OW)(A;;FA;;;SY)(A;;FA;;;BA)", SDDL_REVISION_1, &sd, NULL)) {
        rc = lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "a private DACL for", path, GetLastError());
        goto out;
    }
    SECURITY_ATTRIBUTES sa = {sizeof sa, sd, FALSE};
    h = CreateFileW(wtmp, GENERIC_WRITE, 0, &sa, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        rc = lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "CreateFileW", tmp, GetLastError());
        goto out;
    }
    for (size_t off = 0; off < len;) {
        DWORD chunk = len - off > 1u << 30 ? 1u << 30 : (DWORD)(len - off), w = 0;
        if (!WriteFile(h, (const char *)data + off, chunk, &w, NULL) || w == 0) {
            rc = lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "WriteFile", tmp, GetLastError());
            goto fail;
        }
        off += w;
    }
    if (!FlushFileBuffers(h)) {
        rc = lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "FlushFileBuffers", tmp, GetLastError());
        goto fail;
    }
    CloseHandle(h);
    h = INVALID_HANDLE_VALUE;
    /* Without MOVEFILE_REPLACE_EXISTING the move fails if the path exists: create-exclusive. */
    DWORD flags = MOVEFILE_WRITE_THROUGH;
    if (mode == LC_FILE_REPLACE)
        flags |= MOVEFILE_REPLACE_EXISTING;
    if (!MoveFileExW(wtmp, wpath, flags)) {
        DWORD e = GetLastError();
        rc = lc_plat_win_err(errbuf, errlen,
                        e == ERROR_ALREADY_EXISTS || e == ERROR_FILE_EXISTS ? LC_ERR_AGAIN
                                                                            : LC_ERR_IO,
                        "MoveFileExW to", path, e);
        goto fail;
    }
    rc = 0;
    goto out;
fail:
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    DeleteFileW(wtmp); /* never leave a partial file behind */
out:
    if (sd)
        LocalFree(sd);
    free(wpath);
    free(wtmp);
    return rc;
}

/* ---- the state directory ----------------------------------------------------------------- */

int lc_plat_utf8(const wchar_t *w, char *out, size_t cap)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, out, (int)cap, NULL, NULL);
    return n > 0 ? 0 : LC_ERR_LIMIT;
}

int lc_plat_state_dir_default(char *out, size_t cap, bool service)
{
    /* The known folder, not the environment: a service's environment may lack %ProgramData%
     * (Wine's services.exe starts services with an empty one) and the folder is what counts */
    wchar_t *base = NULL;
    int rc = LC_ERR_NOT_FOUND;
    if (SHGetKnownFolderPath(service ? &FOLDERID_ProgramData : &FOLDERID_LocalAppData, 0, NULL,
                             &base) == S_OK &&
        base && base[0]) {
        rc = lc_plat_utf8(base, out, cap) ? LC_ERR_LIMIT : 0;
        if (!rc) {
            size_t n = strlen(out);
            int w = snprintf(out + n, cap - n, "\\loopcast");
            rc = w > 0 && (size_t)w < cap - n ? 0 : LC_ERR_LIMIT;
        }
    }
    CoTaskMemFree(base);
    return rc;
}

int lc_plat_mkdirs(const char *path, char *errbuf, size_t errlen)
{
    wchar_t *w = lc_plat_wide(path);
    if (!w)
        return lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "not a valid UTF-8 path:", path,
                          ERROR_NO_UNICODE_TRANSLATION);
    int rc = 0;
    /* each prefix ending at a separator, after the drive ("C:\") or UNC root */
    for (wchar_t *p = w + 1;; p++) {
        if (*p && *p != L'\\' && *p != L'/')
            continue;
        wchar_t c = *p;
        *p = 0;
        if (!(p > w && p[-1] == L':') && !CreateDirectoryW(w, NULL) &&
            GetLastError() != ERROR_ALREADY_EXISTS) {
            rc = lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "cannot create directory", path,
                            GetLastError());
            break;
        }
        if (!c)
            break;
        *p = c;
    }
    free(w);
    return rc;
}

struct lc_plat_lock {
    HANDLE h;
};

int lc_plat_lock_file(const char *path, lc_plat_lock **out, char *errbuf, size_t errlen)
{
    wchar_t *w = lc_plat_wide(path);
    lc_plat_lock *l = malloc(sizeof *l);
    int rc = 0;
    if (!w || !l) {
        rc = lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "cannot lock", path, ERROR_OUTOFMEMORY);
        goto fail;
    }
    l->h = CreateFileW(w, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                       OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (l->h == INVALID_HANDLE_VALUE) {
        rc = lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "cannot open", path, GetLastError());
        goto fail;
    }
    OVERLAPPED ov = {0};
    if (!LockFileEx(l->h, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ov)) {
        DWORD e = GetLastError();
        CloseHandle(l->h);
        rc = lc_plat_win_err(errbuf, errlen, e == ERROR_LOCK_VIOLATION ? LC_ERR_STATE : LC_ERR_IO,
                        e == ERROR_LOCK_VIOLATION ? "locked by another process:" : "cannot lock",
                        path, e);
        goto fail;
    }
    free(w);
    *out = l;
    return 0;
fail:
    free(w);
    free(l);
    return rc;
}

void lc_plat_unlock(lc_plat_lock *l)
{
    if (!l)
        return;
    CloseHandle(l->h); /* releases the lock */
    free(l);
}

/* Whether the file's DACL lets anyone but its owner, SYSTEM and Administrators read it (what
 * lc_plat_file_commit writes lets nobody else): a NULL DACL, or an allow entry with read access
 * for another SID. Unreadable security information counts as "yes": the caller warns. */
static bool dacl_lets_others_read(HANDLE h)
{
    PSID owner = NULL;
    PACL dacl = NULL;
    PSECURITY_DESCRIPTOR sd = NULL;
    bool others = true;
    if (GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                        &owner, NULL, &dacl, NULL, &sd) != ERROR_SUCCESS)
        return true;
    if (!dacl)
        goto out; /* a NULL DACL grants everyone everything */
    BYTE sys[SECURITY_MAX_SID_SIZE], adm[SECURITY_MAX_SID_SIZE], own[SECURITY_MAX_SID_SIZE];
    DWORD n1 = sizeof sys, n2 = sizeof adm, n3 = sizeof own;
    if (!CreateWellKnownSid(WinLocalSystemSid, NULL, sys, &n1) ||
        !CreateWellKnownSid(WinBuiltinAdministratorsSid, NULL, adm, &n2) ||
        !CreateWellKnownSid(WinCreatorOwnerRightsSid, NULL, own, &n3))
        goto out;
    for (DWORD i = 0; i < dacl->AceCount; i++) {
        ACE_HEADER *ace;
        if (!GetAce(dacl, i, (void **)&ace))
            goto out;
        if (ace->AceType != ACCESS_ALLOWED_ACE_TYPE)
            continue;
        ACCESS_ALLOWED_ACE *a = (ACCESS_ALLOWED_ACE *)ace;
        PSID sid = &a->SidStart;
        bool reads = a->Mask & (FILE_READ_DATA | GENERIC_READ | GENERIC_ALL);
        if (reads && !(owner && EqualSid(sid, owner)) && !EqualSid(sid, sys) &&
            !EqualSid(sid, adm) && !EqualSid(sid, own))
            goto out;
    }
    others = false;
out:
    LocalFree(sd);
    return others;
}

int lc_plat_read_small_file(const char *path, char *buf, size_t cap, size_t *len,
                            bool *others_can_read, char *errbuf, size_t errlen)
{
    wchar_t *w = lc_plat_wide(path);
    if (!w)
        return lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "not a valid UTF-8 path:", path,
                          ERROR_NO_UNICODE_TRANSLATION);
    HANDLE h = CreateFileW(w, GENERIC_READ | READ_CONTROL, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                           FILE_ATTRIBUTE_NORMAL, NULL);
    free(w);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        return e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND
                   ? LC_ERR_NOT_FOUND
                   : lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "cannot read", path, e);
    }
    if (others_can_read)
        *others_can_read = dacl_lets_others_read(h);
    DWORD n = 0;
    BOOL ok = ReadFile(h, buf, (DWORD)(cap - 1), &n, NULL);
    DWORD e = GetLastError();
    CloseHandle(h);
    if (!ok)
        return lc_plat_win_err(errbuf, errlen, LC_ERR_IO, "cannot read", path, e);
    buf[n] = '\0';
    *len = n;
    return 0;
}

/* ---- threads ---------------------------------------------------------------------------- */

struct lc_thread {
    HANDLE h;
    unsigned tid;    /* written by _beginthreadex before the thread can call is_current */
    lc_thread_fn fn; /* written before the thread starts, read by it only */
    void *arg;
};

static unsigned __stdcall lc_thread_start(void *p)
{
    lc_thread *t = p;
    t->fn(t->arg);
    return 0;
}

unsigned lc_plat_cpu_count(void)
{
    DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    return n ? (unsigned)n : 1u;
}

int lc_thread_create(lc_thread **out, lc_thread_fn fn, void *arg)
{
    lc_thread *t = calloc(1, sizeof *t);
    if (!t)
        return LC_ERR_NOMEM;
    t->fn = fn;
    t->arg = arg;
    /* _beginthreadex, not CreateThread: the CRT sets up its per-thread state (errno, strtok) */
    uintptr_t h = _beginthreadex(NULL, 0, lc_thread_start, t, 0, &t->tid);
    if (!h) {
        free(t);
        return LC_ERR_SYSTEM;
    }
    t->h = (HANDLE)h;
    *out = t;
    return 0;
}

void lc_thread_join(lc_thread *t)
{
    if (!t)
        return;
    WaitForSingleObject(t->h, INFINITE);
    CloseHandle(t->h);
    free(t);
}

bool lc_thread_is_current(const lc_thread *t) { return t && GetCurrentThreadId() == t->tid; }

void lc_thread_yield(void) { (void)SwitchToThread(); }

/* ---- mutexes and condition variables ------------------------------------------------------ */

struct lc_mutex {
    CRITICAL_SECTION cs; /* recursive by nature; LC_MUTEX_PLAIN just promises not to recurse */
};

struct lc_cond {
    CONDITION_VARIABLE cv;
};

int lc_mutex_create(lc_mutex **out, int kind)
{
    (void)kind;
    lc_mutex *m = calloc(1, sizeof *m);
    if (!m)
        return LC_ERR_NOMEM;
    InitializeCriticalSection(&m->cs); /* cannot fail on Vista and later */
    *out = m;
    return 0;
}

void lc_mutex_destroy(lc_mutex *m)
{
    if (!m)
        return;
    DeleteCriticalSection(&m->cs);
    free(m);
}

void lc_mutex_lock(lc_mutex *m) { EnterCriticalSection(&m->cs); }
void lc_mutex_unlock(lc_mutex *m) { LeaveCriticalSection(&m->cs); }

int lc_cond_create(lc_cond **out)
{
    lc_cond *c = calloc(1, sizeof *c);
    if (!c)
        return LC_ERR_NOMEM;
    InitializeConditionVariable(&c->cv);
    *out = c;
    return 0;
}

void lc_cond_destroy(lc_cond *c) { free(c); } /* condition variables hold no resources */

void lc_cond_signal(lc_cond *c) { WakeConditionVariable(&c->cv); }
void lc_cond_broadcast(lc_cond *c) { WakeAllConditionVariable(&c->cv); }

void lc_cond_wait(lc_cond *c, lc_mutex *m) { SleepConditionVariableCS(&c->cv, &m->cs, INFINITE); }

int lc_cond_wait_until(lc_cond *c, lc_mutex *m, uint64_t deadline_ns)
{
    uint64_t now = lc_plat_now_ns();
    if (now >= deadline_ns)
        return LC_ERR_TIMEOUT;
    /* relative milliseconds from the monotonic clock, rounded up; INFINITE is reserved */
    uint64_t ms = (deadline_ns - now + 999999) / 1000000;
    if (ms >= INFINITE)
        ms = INFINITE - 1;
    if (SleepConditionVariableCS(&c->cv, &m->cs, (DWORD)ms))
        return 0;
    return lc_plat_now_ns() >= deadline_ns ? LC_ERR_TIMEOUT : 0;
}

/* ---- stop requests ------------------------------------------------------------------------ */

/* Set by lc_plat_stop_watch before the handler is installed; read by the handler thread. */
static lc_stop_fn volatile stop_fn;
static void *stop_user;
static HANDLE stop_done_event; /* manual reset: set by lc_plat_stop_done */
static volatile LONG stop_ended;

void lc_plat_stop_init(void) {}

static BOOL WINAPI stop_handler(DWORD type)
{
    const char *what = type == CTRL_C_EVENT          ? "CTRL_C"
                       : type == CTRL_BREAK_EVENT    ? "CTRL_BREAK"
                       : type == CTRL_CLOSE_EVENT    ? "CLOSE"
                       : type == CTRL_LOGOFF_EVENT   ? "LOGOFF"
                       : type == CTRL_SHUTDOWN_EVENT ? "SHUTDOWN"
                                                     : NULL;
    if (!what || InterlockedCompareExchange(&stop_ended, 0, 0))
        return FALSE; /* not ours, or shutdown is complete: the default handling */
    stop_fn(stop_user, what);
    /* Ctrl+C/Break: returning keeps the process alive and the main loop shuts down by itself.
     * Close, logoff, shutdown: Windows ends the process when this returns, so wait until the
     * caller says the store is flushed; a closing console gives about 5 s in all. */
    if (type == CTRL_CLOSE_EVENT || type == CTRL_LOGOFF_EVENT || type == CTRL_SHUTDOWN_EVENT)
        WaitForSingleObject(stop_done_event, 4500);
    return TRUE;
}

/*
 * Logoff and shutdown where they arrive. A console process that has loaded user32.dll gets no
 * CTRL_LOGOFF_EVENT or CTRL_SHUTDOWN_EVENT (SetConsoleCtrlHandler's documentation), and
 * loopcast.exe imports user32 (OpenSSL's cryptlib calls MessageBoxW and
 * GetProcessWindowStation). Windows sends WM_QUERYENDSESSION and WM_ENDSESSION to every top-level
 * window instead, so a thread of ours owns a hidden one (a message-only window would not get
 * these broadcasts). The process may be ended as soon as WM_ENDSESSION returns: it returns when
 * the store is flushed, or after the same 4.5 s bound as the console handler.
 */
static LRESULT CALLBACK session_wndproc(HWND w, UINT msg, WPARAM wp, LPARAM lp)
{
    if (msg == WM_QUERYENDSESSION)
        return TRUE; /* nothing to ask the user: a flushed store is all we need */
    if (msg == WM_ENDSESSION) {
        if (wp && !InterlockedCompareExchange(&stop_ended, 0, 0)) {
            stop_fn(stop_user, (lp & ENDSESSION_LOGOFF) ? "LOGOFF" : "SHUTDOWN");
            WaitForSingleObject(stop_done_event, 4500);
        }
        return 0;
    }
    return DefWindowProcW(w, msg, wp, lp);
}

static unsigned __stdcall session_window_thread(void *ready)
{
    WNDCLASSW wc = {0};
    wc.lpfnWndProc = session_wndproc;
    wc.hInstance = GetModuleHandleW(NULL);
    wc.lpszClassName = L"loopcast-session-end";
    HWND w = NULL;
    if (RegisterClassW(&wc) || GetLastError() == ERROR_CLASS_ALREADY_EXISTS)
        w = CreateWindowExW(0, wc.lpszClassName, L"loopcast", WS_OVERLAPPED, 0, 0, 0, 0, NULL,
                            NULL, wc.hInstance, NULL); /* never shown */
    SetEvent((HANDLE)ready);
    if (!w)
        return 1;
    MSG m;
    while (GetMessageW(&m, NULL, 0, 0) > 0)
        DispatchMessageW(&m);
    return 0;
}

/* A service's stop control can come before the server watches for stops (it is still
 * starting): kept here and delivered by lc_plat_stop_watch. */
static const char *volatile stop_early;

void lc_plat_win_stop_request(const char *what)
{
    if (InterlockedCompareExchange(&stop_ended, 0, 0))
        return;
    lc_stop_fn fn = stop_fn;
    if (fn)
        fn(stop_user, what);
    else
        InterlockedExchangePointer((void *volatile *)&stop_early, (void *)what);
}

int lc_plat_stop_watch(lc_stop_fn fn, void *user)
{
    stop_user = user;
    stop_fn = fn;
    MemoryBarrier(); /* a service control thread sees fn, or we see its early request below */
    InterlockedExchange(&stop_ended, 0);
    if (!stop_done_event && !(stop_done_event = CreateEventW(NULL, TRUE, FALSE, NULL)))
        return LC_ERR_SYSTEM;
    ResetEvent(stop_done_event);
    if (!SetConsoleCtrlHandler(stop_handler, TRUE))
        return LC_ERR_SYSTEM;
    static HANDLE window_thread; /* one per process, like the watcher; it lives until exit */
    if (!window_thread) {
        HANDLE ready = CreateEventW(NULL, TRUE, FALSE, NULL);
        if (!ready)
            return LC_ERR_SYSTEM;
        window_thread = (HANDLE)_beginthreadex(NULL, 0, session_window_thread, ready, 0, NULL);
        if (window_thread)
            WaitForSingleObject(ready, INFINITE); /* stop_fn is set before any message */
        CloseHandle(ready);
        if (!window_thread)
            return LC_ERR_SYSTEM;
    }
    const char *early = InterlockedExchangePointer((void *volatile *)&stop_early, NULL);
    if (early)
        fn(user, early);
    return 0;
}

void lc_plat_stop_done(void)
{
    if (!stop_done_event)
        return;
    InterlockedExchange(&stop_ended, 1);
    SetEvent(stop_done_event); /* a CLOSE/LOGOFF/SHUTDOWN handler waiting returns now */
    SetConsoleCtrlHandler(stop_handler, FALSE);
}
