/*
 * backend_app_win32.c — "app:NAME", "app:pid:N" and "app:NAME?exclude=1" on Windows: what one
 * process tree plays (or everything but it), through WASAPI process loopback.
 *
 * Windows 10 build 20348+ and Windows 11 (reported to work on Windows 10 2004) can activate an
 * IAudioClient on the virtual device "VAD\Process_Loopback" with AUDIOCLIENT_ACTIVATION_PARAMS
 * naming a process id and include/exclude mode. That activation exists only asynchronously:
 * ActivateAudioInterfaceAsync calls a completion handler (a COM object of ours, agile, so it may
 * run on any thread) and the capture thread waits for it on an event. We do not gate on a build
 * number: the activation is tried, and its failure is reported with the HRESULT by name and the
 * likely cause. ActivateAudioInterfaceAsync is looked up in mmdevapi.dll at run time, so the
 * .exe still starts on a Windows without it (Windows 7, where `app:` then says so).
 *
 * After activation the stream is the wasapi backend's own (wasapi_internal.h): the same
 * Initialize/Start, packet path, silence while the process plays nothing, and timing. The format
 * is ours to choose (a process-loopback client has no mix format): 48 kHz stereo 16-bit PCM,
 * which the audio engine converts to.
 *
 * NAME matches an executable name case-insensitively, with or without ".exe" (the first
 * process found, as Toolhelp lists them); pid:N names a process. Either way the whole tree under
 * that process is captured (Windows' include mode), or everything else (exclude=1). A process
 * that is not running is a source not there yet: the core retries with backoff and keep-alive
 * silence, and the error says which name it waits for.
 */
#include "wasapi_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tlhelp32.h>
#include <audiopolicy.h>

#define APP_ACTIVATE_TIMEOUT_MS 5000

/* audioclientactivationparams.h (Windows SDK 10.0.20348), not in mingw-w64's headers: own copies
 * of the documented layout. */
enum { LC_ACTIVATION_TYPE_PROCESS_LOOPBACK = 1 };
enum { LC_LOOPBACK_INCLUDE_TREE = 0, LC_LOOPBACK_EXCLUDE_TREE = 1 };
typedef struct {
    DWORD ActivationType;
    DWORD TargetProcessId;
    DWORD ProcessLoopbackMode;
} lc_activation_params;
static const WCHAR lc_PROCESS_LOOPBACK_DEVICE[] = L"VAD\\Process_Loopback";

static const IID lc_IID_IActivateCompletion = {
    0x41d949ab, 0x9862, 0x444a, {0x80, 0xf6, 0xc2, 0x61, 0x33, 0x4d, 0xa5, 0xeb}};
static const IID lc_IID_IAgileObject = {
    0x94ea2b94, 0xe9cc, 0x49e0, {0xc0, 0xff, 0xee, 0x64, 0xca, 0x8f, 0x5b, 0x90}};

typedef HRESULT(WINAPI *activate_fn)(LPCWSTR, REFIID, PROPVARIANT *,
                                      IActivateAudioInterfaceCompletionHandler *,
                                      IActivateAudioInterfaceAsyncOperation **);

/* ---- the completion handler ------------------------------------------------------------------ */

/* Reference-counted: COM may release it after the capture thread stopped waiting. */
typedef struct {
    IActivateAudioInterfaceCompletionHandler iface; /* first: COM hands &iface back as `This` */
    atomic_long refs;
    HANDLE done; /* set by ActivateCompleted */
} lc_activation;

static lc_activation *act_of(IActivateAudioInterfaceCompletionHandler *This)
{
    return (lc_activation *)(void *)This;
}

static HRESULT STDMETHODCALLTYPE act_qi(IActivateAudioInterfaceCompletionHandler *This,
                                        REFIID riid, void **ppv)
{
    if (!ppv)
        return E_POINTER;
    if (!memcmp(riid, &lc_IID_IUnknown, sizeof *riid) ||
        !memcmp(riid, &lc_IID_IActivateCompletion, sizeof *riid) ||
        !memcmp(riid, &lc_IID_IAgileObject, sizeof *riid)) { /* agile: callable from any thread */
        *ppv = This;
        atomic_fetch_add(&act_of(This)->refs, 1);
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG STDMETHODCALLTYPE act_addref(IActivateAudioInterfaceCompletionHandler *This)
{
    return (ULONG)(atomic_fetch_add(&act_of(This)->refs, 1) + 1);
}

static ULONG STDMETHODCALLTYPE act_release(IActivateAudioInterfaceCompletionHandler *This)
{
    lc_activation *a = act_of(This);
    long left = atomic_fetch_sub(&a->refs, 1) - 1;
    if (left == 0) {
        CloseHandle(a->done);
        free(a);
    }
    return (ULONG)left;
}

static HRESULT STDMETHODCALLTYPE act_completed(IActivateAudioInterfaceCompletionHandler *This,
                                               IActivateAudioInterfaceAsyncOperation *op)
{
    (void)op; /* the capture thread asks the operation itself */
    SetEvent(act_of(This)->done);
    return S_OK;
}

static IActivateAudioInterfaceCompletionHandlerVtbl act_vtbl = {
    act_qi, act_addref, act_release, act_completed,
};

/* ---- parse ------------------------------------------------------------------------------------ */

static int app_parse(const char *arg, void **state, char *errbuf, size_t errlen)
{
    if (!arg || !*arg) {
        lc_errf(errbuf, errlen, "app: needs a program: app:NAME, app:pid:N or app:NAME?exclude=1");
        return LC_ERR_URI;
    }
    lc_wasapi *w = calloc(1, sizeof *w);
    if (!w)
        return LC_ERR_NOMEM;
    w->be_name = "app";
    w->loopback = true;
    const char *q = strchr(arg, '?');
    size_t nlen = q ? (size_t)(q - arg) : strlen(arg);
    if (q && strcmp(q + 1, "exclude=1") && strcmp(q + 1, "exclude=0")) {
        lc_errf(errbuf, errlen, "app:%s: the only option is exclude=1 (everything but that program; "
                "percent-encode a '?' in the name as %%3F)", arg);
        free(w);
        return LC_ERR_URI;
    }
    w->app_exclude = q && !strcmp(q + 1, "exclude=1");
    int rc = 0;
    if (!strncmp(arg, "pid:", 4)) {
        char *end = NULL;
        unsigned long v = strtoul(arg + 4, &end, 10);
        if (arg[4] < '0' || arg[4] > '9' || end != arg + nlen || v == 0 || v > 0xfffffffful) {
            lc_errf(errbuf, errlen, "app:%s: pid: needs a process id (app:pid:1234)", arg);
            rc = LC_ERR_URI;
        }
        w->app_pid = (unsigned)v;
    } else if (!(w->want = malloc(nlen + 1)) || !lc_pct_decode(arg, nlen, w->want, nlen + 1) ||
               !w->want[0]) {
        lc_errf(errbuf, errlen, "app:%s: a malformed name (percent-encode '?', '&', '%%' and "
                "spaces)", arg);
        rc = w->want ? LC_ERR_URI : LC_ERR_NOMEM;
    }
    if (rc) {
        free(w->want);
        free(w);
        return rc;
    }
    *state = w;
    return 0;
}

/* ---- finding the process ------------------------------------------------------------------------ */

/* Whether exe (UTF-8) is `want` with or without ".exe", case-insensitively. */
static bool exe_matches(const char *exe, const char *want)
{
    if (lc_ascii_caseeq(exe, want))
        return true;
    size_t n = strlen(exe);
    char base[MAX_PATH];
    if (n > 4 && n < sizeof base && lc_ascii_caseeq(exe + n - 4, ".exe")) {
        memcpy(base, exe, n - 4);
        base[n - 4] = '\0';
        return lc_ascii_caseeq(base, want);
    }
    return false;
}

/* The first running process named w->want: its id, or 0. */
static DWORD find_process(const lc_wasapi *w)
{
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    PROCESSENTRY32W pe;
    DWORD pid = 0;
    if (snap == INVALID_HANDLE_VALUE)
        return 0;
    pe.dwSize = sizeof pe;
    for (BOOL ok = Process32FirstW(snap, &pe); ok && !pid; ok = Process32NextW(snap, &pe)) {
        char exe[MAX_PATH * 3];
        lc_utf8(pe.szExeFile, exe, sizeof exe);
        if (exe_matches(exe, w->want))
            pid = pe.th32ProcessID;
    }
    CloseHandle(snap);
    return pid;
}

/* ---- open ------------------------------------------------------------------------------------ */

/* The process-loopback IAudioClient into w->client. */
static int activate(lc_wasapi *w, DWORD pid, char *errbuf, size_t errlen)
{
    HMODULE mm = GetModuleHandleW(L"mmdevapi.dll");
    if (!mm)
        mm = LoadLibraryW(L"mmdevapi.dll");
    activate_fn fn = mm ? (activate_fn)(void (*)(void))GetProcAddress(mm, "ActivateAudioInterfaceAsync")
                        : NULL;
    if (!fn) {
        lc_errf(errbuf, errlen, "app: this Windows has no ActivateAudioInterfaceAsync (process "
                "loopback needs Windows 10 2004 / build 20348 or newer)");
        return LC_ERR_UNSUPPORTED;
    }
    lc_activation *a = calloc(1, sizeof *a);
    if (!a || !(a->done = CreateEventW(NULL, TRUE, FALSE, NULL))) {
        free(a);
        return LC_ERR_NOMEM;
    }
    a->iface.lpVtbl = &act_vtbl;
    atomic_init(&a->refs, 1);
    lc_activation_params params = {LC_ACTIVATION_TYPE_PROCESS_LOOPBACK, pid,
                                   w->app_exclude ? LC_LOOPBACK_EXCLUDE_TREE
                                                  : LC_LOOPBACK_INCLUDE_TREE};
    PROPVARIANT pv;
    PropVariantInit(&pv);
    pv.vt = VT_BLOB;
    pv.blob.cbSize = sizeof params;
    pv.blob.pBlobData = (BYTE *)&params;
    IActivateAudioInterfaceAsyncOperation *op = NULL;
    IUnknown *unk = NULL;
    HRESULT hr = fn(lc_PROCESS_LOOPBACK_DEVICE, &lc_IID_IAudioClient, &pv, &a->iface, &op);
    const char *call = "the process loopback activation";
    if (SUCCEEDED(hr) && WaitForSingleObject(a->done, APP_ACTIVATE_TIMEOUT_MS) != WAIT_OBJECT_0) {
        hr = HRESULT_FROM_WIN32(ERROR_TIMEOUT);
        call = "waiting 5 s for the activation";
    }
    HRESULT result = E_FAIL;
    if (SUCCEEDED(hr)) {
        call = "GetActivateResult";
        hr = IActivateAudioInterfaceAsyncOperation_GetActivateResult(op, &result, &unk);
        if (SUCCEEDED(hr))
            hr = result;
        if (SUCCEEDED(hr))
            hr = IUnknown_QueryInterface(unk, &lc_IID_IAudioClient, (void **)&w->client);
    }
    if (unk)
        IUnknown_Release(unk);
    if (op)
        IActivateAudioInterfaceAsyncOperation_Release(op);
    IActivateAudioInterfaceCompletionHandler_Release(&a->iface);
    if (FAILED(hr)) {
        /* short: it has to fit the source's error (160 bytes) with the cause */
        char hex[32];
        lc_errf(errbuf, errlen, "app: %s from %s for %s: needs Windows 10 2004+ (Wine lacks it)",
                lc_wasapi_hr_name(hr, hex, sizeof hex), call, w->dev_name);
        return hr == E_OUTOFMEMORY ? LC_ERR_NOMEM : LC_ERR_DEVICE;
    }
    return 0;
}

static int app_open(void *state, lc_format *fmt, char *errbuf, size_t errlen)
{
    lc_wasapi *w = state;
    int rc = lc_wasapi_com_init(w, errbuf, errlen);
    if (rc < 0)
        goto fail;
    DWORD pid = w->app_pid ? w->app_pid : find_process(w);
    if (!pid) {
        lc_errf(errbuf, errlen, "app: waiting for %s: no such program is running", w->want);
        rc = LC_ERR_DEVICE; /* not there yet: the core retries, listeners hear silence */
        goto fail;
    }
    snprintf(w->dev_name, sizeof w->dev_name, "%s%s (pid %lu)", w->app_exclude ? "all but " : "",
             w->want ? w->want : "process", (unsigned long)pid);
    if ((rc = activate(w, pid, errbuf, errlen)) < 0)
        goto fail;
    /* a process-loopback client has no mix format: ours, which the engine converts to */
    WAVEFORMATEX wfx = {WAVE_FORMAT_PCM, 2, 48000, 48000 * 4, 4, 16, 0};
    char what[200];
    snprintf(what, sizeof what, "%s, process loopback (%s its tree)", w->dev_name,
             w->app_exclude ? "excluding" : "including");
    if ((rc = lc_wasapi_start(w, &wfx, what, fmt, errbuf, errlen)) < 0)
        goto fail;
    return 0;
fail:
    lc_wasapi_close(w);
    return rc;
}

static void app_detail(void *state, char *buf, size_t len)
{
    lc_wasapi *w = state;
    if (w->client)
        snprintf(buf, len, "following %s", w->dev_name);
}

/* --list-sources: the programs with an audio session on the default render endpoint now (what
 * Windows' volume mixer shows), with the URI to use. */
static const IID lc_IID_SessionManager2 = {
    0x77aa99a0, 0x1bd6, 0x484f, {0x8b, 0xc7, 0x2c, 0x65, 0x4c, 0x9a, 0x9b, 0x6f}};
static const IID lc_IID_SessionControl2 = {
    0xbfb7ff88, 0x7239, 0x4fc9, {0x8f, 0xa2, 0x07, 0xc9, 0x50, 0xbe, 0x9c, 0x6d}};

/* The executable name of process `pid` (UTF-8, without ".exe"), "" if it is gone. */
static void exe_of(DWORD pid, char *out, size_t len)
{
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    PROCESSENTRY32W pe;
    out[0] = '\0';
    if (snap == INVALID_HANDLE_VALUE)
        return;
    pe.dwSize = sizeof pe;
    for (BOOL ok = Process32FirstW(snap, &pe); ok; ok = Process32NextW(snap, &pe))
        if (pe.th32ProcessID == pid) {
            lc_utf8(pe.szExeFile, out, len);
            size_t n = strlen(out);
            if (n > 4 && lc_ascii_caseeq(out + n - 4, ".exe"))
                out[n - 4] = '\0';
            break;
        }
    CloseHandle(snap);
}

static void app_list(FILE *out)
{
    IMMDeviceEnumerator *enumr = NULL;
    IMMDevice *dev = NULL;
    IAudioSessionManager2 *mgr = NULL;
    IAudioSessionEnumerator *sessions = NULL;
    char hex[32];
    int count = 0, shown = 0;
    HRESULT hr = CoInitializeEx(NULL, COINIT_MULTITHREADED);
    bool com_init = SUCCEEDED(hr);
    const char *call = "CoInitializeEx";
    if ((SUCCEEDED(hr) || hr == RPC_E_CHANGED_MODE) &&
        SUCCEEDED(hr = CoCreateInstance(&lc_CLSID_MMDeviceEnumerator, NULL, CLSCTX_ALL, &lc_IID_IMMDeviceEnumerator,
                                        (void **)&enumr)) &&
        SUCCEEDED(hr = IMMDeviceEnumerator_GetDefaultAudioEndpoint(enumr, eRender, eConsole, &dev)) &&
        SUCCEEDED(hr = IMMDevice_Activate(dev, &lc_IID_SessionManager2, CLSCTX_ALL, NULL,
                                          (void **)&mgr)) &&
        SUCCEEDED(hr = IAudioSessionManager2_GetSessionEnumerator(mgr, &sessions)))
        hr = IAudioSessionEnumerator_GetCount(sessions, &count);
    else
        call = "the default endpoint's audio sessions";
    for (int i = 0; SUCCEEDED(hr) && i < count; i++) {
        IAudioSessionControl *ctl = NULL;
        IAudioSessionControl2 *ctl2 = NULL;
        DWORD pid = 0;
        AudioSessionState st = AudioSessionStateInactive;
        char exe[MAX_PATH * 3];
        if (SUCCEEDED(IAudioSessionEnumerator_GetSession(sessions, i, &ctl)) &&
            SUCCEEDED(IAudioSessionControl_QueryInterface(ctl, &lc_IID_SessionControl2,
                                                          (void **)&ctl2)) &&
            SUCCEEDED(IAudioSessionControl2_GetProcessId(ctl2, &pid)) && pid) {
            (void)IAudioSessionControl_GetState(ctl, &st);
            exe_of(pid, exe, sizeof exe);
            if (exe[0]) {
                fprintf(out, "    app:%-28s pid %lu%s\n", exe, (unsigned long)pid,
                        st == AudioSessionStateActive ? ", playing" : "");
                shown++;
            }
        }
        if (ctl2)
            IAudioSessionControl2_Release(ctl2);
        if (ctl)
            IAudioSessionControl_Release(ctl);
    }
    if (FAILED(hr))
        fprintf(out, "    (%s: %s)\n", call, lc_wasapi_hr_name(hr, hex, sizeof hex));
    else if (!shown)
        fprintf(out, "    (no program has an audio session now)\n");
    fprintf(out, "    also app:pid:N, and app:NAME?exclude=1 for everything but that program\n");
    if (sessions)
        IAudioSessionEnumerator_Release(sessions);
    if (mgr)
        IAudioSessionManager2_Release(mgr);
    if (dev)
        IMMDevice_Release(dev);
    if (enumr)
        IMMDeviceEnumerator_Release(enumr);
    if (com_init)
        CoUninitialize();
}

const lc_capture_backend lc_backend_app = {
    .name = "app",
    .usage = "app:NAME | app:pid:N | app:NAME?exclude=1  what one program plays (its process "
             "tree), or all but it; Windows 10 2004+",
    .parse = app_parse,
    .open = app_open,
    .read = lc_wasapi_read,
    .close = lc_wasapi_close,
    .destroy = lc_wasapi_destroy,
    .list = app_list,
    .detail = app_detail,
};
