/*
 * platform_win32_service.c — loopcast as a Windows service: install/uninstall through the
 * service control manager (SCM), and the dispatcher a service process runs under.
 *
 * The service runs as NT AUTHORITY\LocalService: the least privilege that still has a profile
 * and network access, and WASAPI loopback from session 0 captures what the user sessions play
 * (Microsoft documents loopback capture as available to services). Its state lives in
 * %ProgramData%\loopcast, which install creates with a protected DACL: LocalService, SYSTEM and
 * Administrators only. A service gets no firewall prompt, so install adds the inbound rule the
 * prompt would have added (netsh advfirewall: the documented command-line interface to the
 * firewall; the INetFwPolicy2 COM interface does the same with ten times the code).
 */
#include "platform.h"
#include "platform_internal.h"

#include <windows.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVICE_ACCOUNT L"NT AUTHORITY\\LocalService"
/* Protected: nothing inherited from %ProgramData% (where Users may read and create) */
#define STATE_DIR_SDDL L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;LS)"
#define STOP_WAIT_MS 20000

/* ---- command lines ------------------------------------------------------------------------- */

/* Appends s to out (capacity cap wide chars) quoted the way CommandLineToArgvW splits it:
 * backslashes double only before a quote, quotes are escaped. LC_ERR_LIMIT if it does not fit. */
static int append_arg(wchar_t *out, size_t cap, const wchar_t *s)
{
    size_t n = wcslen(out);
    int quote = !*s || wcspbrk(s, L" \t\"") != NULL;
#define PUT(c)                                                                                 \
    do {                                                                                       \
        if (n + 1 >= cap)                                                                      \
            return LC_ERR_LIMIT;                                                               \
        out[n++] = (c);                                                                        \
    } while (0)
    if (n)
        PUT(L' ');
    if (quote)
        PUT(L'"');
    for (const wchar_t *p = s;; p++) {
        size_t bs = 0;
        while (*p == L'\\') {
            bs++;
            p++;
        }
        /* before a quote, or before the closing quote we add: each backslash doubled */
        size_t times = (*p == L'"' || (!*p && quote)) ? 2 * bs : bs;
        for (size_t i = 0; i < times; i++)
            PUT(L'\\');
        if (!*p)
            break;
        if (*p == L'"')
            PUT(L'\\');
        PUT(*p);
    }
    if (quote)
        PUT(L'"');
    out[n] = 0;
    return 0;
#undef PUT
}

/* Runs a command line (no window) and waits for it; its exit code, or -1 if it did not run. */
static long run_hidden(wchar_t *cmdline)
{
    STARTUPINFOW si = {.cb = sizeof si};
    PROCESS_INFORMATION pi;
    if (!CreateProcessW(NULL, cmdline, NULL, NULL, FALSE, CREATE_NO_WINDOW, NULL, NULL, &si,
                        &pi))
        return -1;
    DWORD code = (DWORD)-1;
    if (WaitForSingleObject(pi.hProcess, 30000) == WAIT_OBJECT_0)
        GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    return (long)code;
}

static int firewall_rule(const wchar_t *name, unsigned port, const wchar_t *exe)
{
    wchar_t cmd[2048];
    if (port)
        _snwprintf(cmd, sizeof cmd / sizeof cmd[0],
                   L"netsh advfirewall firewall add rule name=\"%ls\" dir=in action=allow "
                   L"protocol=TCP localport=%u program=\"%ls\" profile=private,domain",
                   name, port, exe);
    else
        _snwprintf(cmd, sizeof cmd / sizeof cmd[0],
                   L"netsh advfirewall firewall delete rule name=\"%ls\"", name);
    cmd[sizeof cmd / sizeof cmd[0] - 1] = 0;
    return run_hidden(cmd) == 0 ? 0 : LC_ERR_SYSTEM;
}

/* ---- install / uninstall ------------------------------------------------------------------- */

static int scm_err(char *errbuf, size_t errlen, int rc, const char *what, const char *name)
{
    DWORD e = GetLastError();
    lc_plat_win_err(errbuf, errlen, rc, what, name, e);
    if (e == ERROR_ACCESS_DENIED && errbuf && strlen(errbuf) + 48 < errlen)
        strcat(errbuf, ": run it from an Administrator command prompt");
    return rc;
}

static int make_state_dir(char *errbuf, size_t errlen)
{
    char dir[1024];
    int rc = lc_plat_state_dir_default(dir, sizeof dir, true);
    if (rc)
        return lc_plat_win_err(errbuf, errlen, rc, "no %ProgramData% for", "the state folder",
                               ERROR_ENVVAR_NOT_FOUND);
    if ((rc = lc_plat_mkdirs(dir, errbuf, errlen)))
        return rc;
    wchar_t *w = lc_plat_wide(dir);
    PSECURITY_DESCRIPTOR sd = NULL;
    rc = 0;
    if (!w || !ConvertStringSecurityDescriptorToSecurityDescriptorW(STATE_DIR_SDDL, SDDL_REVISION_1,
                                                                    &sd, NULL) ||
        !SetFileSecurityW(w, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, sd))
        rc = lc_plat_win_err(errbuf, errlen, LC_ERR_SYSTEM, "cannot restrict", dir,
                             GetLastError());
    LocalFree(sd);
    free(w);
    return rc;
}

int lc_plat_service_install(const char *name, const char *display, const char *description,
                            char *const *args, int nargs, unsigned port, char *warn,
                            size_t warnlen, char *errbuf, size_t errlen)
{
    wchar_t exe[MAX_PATH * 2], cmd[8192] = L"";
    wchar_t *wname = lc_plat_wide(name), *wdisplay = lc_plat_wide(display),
            *wdesc = lc_plat_wide(description);
    SC_HANDLE scm = NULL, svc = NULL;
    int rc = LC_ERR_NOMEM;
    if (warn && warnlen)
        warn[0] = 0;
    if (!wname || !wdisplay || !wdesc)
        goto fail;
    DWORD n = GetModuleFileNameW(NULL, exe, (DWORD)(sizeof exe / sizeof exe[0]));
    if (n == 0 || n >= sizeof exe / sizeof exe[0]) {
        rc = lc_plat_win_err(errbuf, errlen, LC_ERR_SYSTEM, "GetModuleFileNameW", name,
                             GetLastError());
        goto fail;
    }
    rc = append_arg(cmd, sizeof cmd / sizeof cmd[0], exe);
    rc = rc ? rc : append_arg(cmd, sizeof cmd / sizeof cmd[0], L"--service");
    rc = rc ? rc : append_arg(cmd, sizeof cmd / sizeof cmd[0], L"run");
    for (int i = 0; !rc && i < nargs; i++) {
        wchar_t *a = lc_plat_wide(args[i]);
        rc = a ? append_arg(cmd, sizeof cmd / sizeof cmd[0], a) : LC_ERR_INVALID;
        free(a);
    }
    if (rc) {
        lc_plat_win_err(errbuf, errlen, rc, "the service's command line is too long for", name,
                        ERROR_INSUFFICIENT_BUFFER);
        goto fail;
    }
    if (!(scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CREATE_SERVICE))) {
        rc = scm_err(errbuf, errlen, LC_ERR_SYSTEM, "OpenSCManager (to install)", name);
        goto fail;
    }
    if ((rc = make_state_dir(errbuf, errlen)))
        goto fail;
    svc = CreateServiceW(scm, wname, wdisplay, SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
                         SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, cmd, NULL, NULL, NULL,
                         SERVICE_ACCOUNT, NULL);
    if (!svc) {
        rc = GetLastError() == ERROR_SERVICE_EXISTS ? LC_ERR_STATE : LC_ERR_SYSTEM;
        if (rc == LC_ERR_STATE)
            lc_plat_win_err(errbuf, errlen, rc, "remove it first with --service uninstall: service",
                            name, ERROR_SERVICE_EXISTS);
        else
            scm_err(errbuf, errlen, rc, "CreateService", name);
        goto fail;
    }
    SERVICE_DESCRIPTIONW d = {.lpDescription = wdesc};
    ChangeServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, &d);
    /* Time to flush the store and close every listener with 1001 before Windows powers off */
    SERVICE_PRESHUTDOWN_INFO pre = {.dwPreshutdownTimeout = 10000};
    ChangeServiceConfig2W(svc, SERVICE_CONFIG_PRESHUTDOWN_INFO, &pre);
    if (firewall_rule(wname, port, exe) && warn && warnlen)
        snprintf(warn, warnlen,
                 "could not add the Windows Firewall rule; phones may not connect until you "
                 "run, as Administrator: netsh advfirewall firewall add rule name=\"%s\" dir=in "
                 "action=allow protocol=TCP localport=%u profile=private,domain",
                 name, port);
    if (!StartServiceW(svc, 0, NULL)) {
        rc = scm_err(errbuf, errlen, LC_ERR_SYSTEM, "installed, but StartService", name);
        goto fail;
    }
    rc = 0;
fail:
    if (svc)
        CloseServiceHandle(svc);
    if (scm)
        CloseServiceHandle(scm);
    free(wname);
    free(wdisplay);
    free(wdesc);
    return rc;
}

int lc_plat_service_uninstall(const char *name, char *errbuf, size_t errlen)
{
    wchar_t *wname = lc_plat_wide(name);
    SC_HANDLE scm = NULL, svc = NULL;
    SERVICE_STATUS st;
    int rc = LC_ERR_NOMEM;
    if (!wname)
        goto fail;
    if (!(scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT))) {
        rc = scm_err(errbuf, errlen, LC_ERR_SYSTEM, "OpenSCManager", name);
        goto fail;
    }
    if (!(svc = OpenServiceW(scm, wname, SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE))) {
        rc = GetLastError() == ERROR_SERVICE_DOES_NOT_EXIST ? LC_ERR_NOT_FOUND : LC_ERR_SYSTEM;
        scm_err(errbuf, errlen, rc, "no installed service", name);
        goto fail;
    }
    /* A graceful stop first: the service flushes its store and closes listeners with 1001 */
    if (ControlService(svc, SERVICE_CONTROL_STOP, &st) || GetLastError() != ERROR_SERVICE_NOT_ACTIVE) {
        for (int waited = 0; waited < STOP_WAIT_MS; waited += 100) {
            if (!QueryServiceStatus(svc, &st) || st.dwCurrentState == SERVICE_STOPPED)
                break;
            Sleep(100);
        }
    }
    if (!DeleteService(svc) && GetLastError() != ERROR_SERVICE_MARKED_FOR_DELETE) {
        rc = scm_err(errbuf, errlen, LC_ERR_SYSTEM, "DeleteService", name);
        goto fail;
    }
    firewall_rule(wname, 0, NULL); /* none to delete is fine */
    rc = 0;
fail:
    if (svc)
        CloseServiceHandle(svc);
    if (scm)
        CloseServiceHandle(scm);
    free(wname);
    return rc;
}

/* ---- run: the dispatcher -------------------------------------------------------------------- */

/* Set before StartServiceCtrlDispatcherW, read by the service thread it starts. */
static wchar_t *run_name;
static int (*run_fn)(void *);
static void *run_user;
static int run_rc = LC_ERR_STATE;
/* The status handle is written by service_main before any control can arrive; status updates
 * come from the service thread and the control handler thread: status_lock guards `status`. */
static SERVICE_STATUS_HANDLE status_handle;
static SERVICE_STATUS status;
static CRITICAL_SECTION status_lock;

static void report(DWORD state, DWORD wait_hint, int exit_rc)
{
    EnterCriticalSection(&status_lock);
    status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    status.dwCurrentState = state;
    status.dwControlsAccepted = state == SERVICE_RUNNING
                                    ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN |
                                          SERVICE_ACCEPT_PRESHUTDOWN
                                    : 0;
    status.dwWin32ExitCode = exit_rc ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR;
    status.dwServiceSpecificExitCode = (DWORD)exit_rc; /* the exit status loopcast.exe would have */
    status.dwWaitHint = wait_hint;
    status.dwCheckPoint = state == SERVICE_RUNNING || state == SERVICE_STOPPED
                              ? 0
                              : status.dwCheckPoint + 1;
    SetServiceStatus(status_handle, &status);
    LeaveCriticalSection(&status_lock);
}

static DWORD WINAPI control(DWORD ctl, DWORD type, void *data, void *ctx)
{
    (void)type, (void)data, (void)ctx;
    switch (ctl) {
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
    case SERVICE_CONTROL_PRESHUTDOWN:
        report(SERVICE_STOP_PENDING, 10000, 0);
        lc_plat_win_stop_request(ctl == SERVICE_CONTROL_STOP ? "SERVICE_STOP" : "SHUTDOWN");
        return NO_ERROR; /* the service thread reports STOPPED when the store is flushed */
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

/* A service has no console: its log goes to <state folder>\loopcast.log (appended). */
static void log_to_file(void)
{
    char dir[1024], path[1100];
    if (lc_plat_state_dir_default(dir, sizeof dir, true) ||
        lc_plat_mkdirs(dir, NULL, 0) ||
        snprintf(path, sizeof path, "%s\\loopcast.log", dir) >= (int)sizeof path)
        return;
    wchar_t *w = lc_plat_wide(path);
    if (!w)
        return;
    HANDLE h = CreateFileW(w, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    free(w);
    if (h != INVALID_HANDLE_VALUE)
        SetStdHandle(STD_ERROR_HANDLE, h); /* lc_plat_write_stderr writes to it */
}

static void WINAPI service_main(DWORD argc, wchar_t **argv)
{
    (void)argc, (void)argv;
    if (!(status_handle = RegisterServiceCtrlHandlerExW(run_name, control, NULL)))
        return;
    log_to_file();
    report(SERVICE_RUNNING, 0, 0);
    run_rc = run_fn(run_user);
    report(SERVICE_STOPPED, 0, run_rc);
}

int lc_plat_service_run(const char *name, int (*fn)(void *user), void *user, char *errbuf,
                        size_t errlen)
{
    if (!(run_name = lc_plat_wide(name)))
        return LC_ERR_NOMEM;
    run_fn = fn;
    run_user = user;
    InitializeCriticalSection(&status_lock);
    SERVICE_TABLE_ENTRYW table[] = {{run_name, service_main}, {NULL, NULL}};
    /* Returns when the service has stopped */
    if (!StartServiceCtrlDispatcherW(table)) {
        DWORD e = GetLastError();
        lc_plat_win_err(errbuf, errlen, LC_ERR_STATE,
                        e == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT
                            ? "--service run is for the service control manager only (install "
                              "with --service install, start with `sc start loopcast`): service"
                            : "StartServiceCtrlDispatcher",
                        name, e);
        run_rc = LC_ERR_STATE;
    }
    free(run_name);
    run_name = NULL;
    return run_rc;
}
