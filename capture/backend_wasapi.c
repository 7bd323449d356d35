/*
 * backend_wasapi.c — Windows sources through WASAPI (shared mode):
 *   wasapi[:ID|NAME|default]          loopback of a render endpoint: what Windows plays
 *   wasapi-capture[:ID|NAME|default]  a capture endpoint: line-in, microphone, "Stereo Mix"
 * An endpoint is named by its ID ("{0.0.0.00000000}.{guid}", see --list-devices) or by its
 * friendly name (case-insensitive, whole name); empty or "default" follows the default endpoint
 * of that direction (role eConsole) and switches when the user changes it.
 *
 * Threads. parse and list run on the caller's thread; open/read/close on the capture thread,
 * which is where COM is initialised (CoInitializeEx(COINIT_MULTITHREADED) in open, balanced by
 * CoUninitialize in close, also after a failed open). The one other thread is the MMDevice
 * notification thread, which only ever touches an lc_wasapi_notify: it sets an atomic flag, the
 * next read sees it and returns LC_ERR_DEVICE, and the core closes and reopens with backoff on
 * the capture thread. Nothing is ever reopened inside a notification callback (the documented
 * deadlock: a callback must not wait on the enumerator it is called from).
 *
 * Waiting. The stream is event-driven (AUDCLNT_STREAMFLAGS_EVENTCALLBACK), but before Windows 10
 * a loopback stream's event is never signalled (Initialize succeeds, events just do not come).
 * So a loopback read waits on the event for at most 10 ms and then polls GetNextPacketSize
 * anyway; a capture endpoint waits up to two device periods. Either way a read blocks < 100 ms.
 *
 * Silence. A render endpoint delivers no loopback packets while nothing plays — for minutes if
 * the machine is quiet. The core only fills holes of 50 ms–5 s, so the backend keeps the timeline
 * itself: when no packet came for more than two periods (and at least 50 ms, the core's own
 * jitter bound: under Wine, packets of a 10 ms stream were seen arriving > 20 ms late, and
 * silence started that early got mixed into real audio), it hands out zeros up to one period
 * behind "now", paced by lc_now_ns (QPC), then keeps doing so every period. When audio resumes,
 * the part of the first packet that overlaps silence already handed out is trimmed, so the
 * timeline never runs backwards.
 * A capture endpoint, unlike a render endpoint's loopback, delivers packets all the time (flagged
 * SILENT when muted): if none came for 3 s the stream is stalled (a driver hiccup; under Wine,
 * the sound server died without the stream being invalidated), and the read reports
 * LC_ERR_DEVICE so the core reopens it. The silence keeps the timeline going until then.
 *
 * Timing. capture_ns = u64QPCPosition * 100: GetBuffer stamps the packet with the performance
 * counter in 100 ns units, and lc_now_ns is the same counter on Windows (platform_win32.c). A
 * stamp flagged AUDCLNT_BUFFERFLAGS_TIMESTAMP_ERROR, zero, or implausible (in the future, or more
 * than 2 s old) is replaced by "now minus the packet's duration".
 *
 * GUIDs. The CLSID/IIDs/PKEY are defined here as lc_ constants instead of via <initguid.h>: the
 * Windows SDK's MIDL headers declare CLSID_MMDeviceEnumerator & co. as extern without a
 * definition any C program can link (C++ uses __uuidof), while mingw-w64 defines them only under
 * initguid.h. Own constants build the same everywhere; their values match mingw-w64's headers.
 */
#include "wasapi_internal.h"
#include "platform.h"

#include <mmreg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define LC_WASAPI_BUFFER_HNS 2000000 /* 200 ms endpoint buffer: reads drain it every ≤ 100 ms */
#define LC_WASAPI_LOOPBACK_WAIT_MS 10
#define LC_WASAPI_MAX_STAMP_AGE_NS 2000000000ull
#define LC_WASAPI_GAP_RESET_NS 5000000000ull /* like the core: a longer stall starts anew */
#define LC_WASAPI_STALL_NS 3000000000ull     /* capture endpoint without packets: reopen */
#define LC_WASAPI_QUIET_MIN_NS 50000000ull   /* silence starts after 2 periods, never < 50 ms */

const CLSID lc_CLSID_MMDeviceEnumerator = {
    0xbcde0395, 0xe52f, 0x467c, {0x8e, 0x3d, 0xc4, 0x57, 0x92, 0x91, 0x69, 0x2e}};
const IID lc_IID_IMMDeviceEnumerator = {
    0xa95664d2, 0x9614, 0x4f35, {0xa7, 0x46, 0xde, 0x8d, 0xb6, 0x36, 0x17, 0xe6}};
const IID lc_IID_IAudioClient = {
    0x1cb9ad4c, 0xdbfa, 0x4c32, {0xb1, 0x78, 0xc2, 0xf5, 0x68, 0xa7, 0x03, 0xb2}};
static const IID lc_IID_IAudioCaptureClient = {
    0xc8adbd64, 0xe71e, 0x48a0, {0xa4, 0xde, 0x18, 0x5c, 0x39, 0x5c, 0xd3, 0x17}};
static const IID lc_IID_IMMNotificationClient = {
    0x7991eec9, 0x7e89, 0x4d85, {0x83, 0x90, 0x6c, 0x70, 0x3c, 0xec, 0x60, 0xc0}};
const IID lc_IID_IUnknown = {
    0x00000000, 0x0000, 0x0000, {0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}};
static const PROPERTYKEY lc_PKEY_Device_FriendlyName = {
    {0xa45c254e, 0xdf1c, 0x4efd, {0x80, 0x20, 0x67, 0xd1, 0x46, 0xa8, 0x50, 0xe0}}, 14};
/* KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT: the WAVE format tag in Data1 of a fixed base GUID */
static const GUID lc_SUBTYPE_PCM = {
    0x00000001, 0x0000, 0x0010, {0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71}};
static const GUID lc_SUBTYPE_FLOAT = {
    0x00000003, 0x0000, 0x0010, {0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71}};

static bool lc_guid_eq(const GUID *a, const GUID *b) { return !memcmp(a, b, sizeof *a); }

/* ---- device-change notifications ---------------------------------------------------------- */

/*
 * The IMMNotificationClient we register. COM may call it on its own thread at any time while
 * registered, and may hold a reference for a moment after UnregisterEndpointNotificationCallback,
 * so it is heap-allocated and reference-counted, separate from the backend state.
 */
struct lc_wasapi_notify {
    IMMNotificationClient iface; /* first: COM hands &iface back to us as `This` */
    atomic_long refs;
    atomic_bool changed;   /* notification thread sets, capture thread reads (and reopens) */
    EDataFlow flow;        /* immutable while registered */
    bool follow_default;   /* immutable while registered */
    WCHAR *dev_id;         /* our endpoint's ID (own copy); immutable while registered */
};

static lc_wasapi_notify *lc_notify_of(IMMNotificationClient *This)
{
    return (lc_wasapi_notify *)(void *)This; /* iface is the first member */
}

static HRESULT STDMETHODCALLTYPE lc_notify_qi(IMMNotificationClient *This, REFIID riid, void **ppv)
{
    if (!ppv)
        return E_POINTER;
    if (lc_guid_eq(riid, &lc_IID_IUnknown) || lc_guid_eq(riid, &lc_IID_IMMNotificationClient)) {
        *ppv = This;
        atomic_fetch_add(&lc_notify_of(This)->refs, 1);
        return S_OK;
    }
    *ppv = NULL;
    return E_NOINTERFACE;
}

static ULONG STDMETHODCALLTYPE lc_notify_addref(IMMNotificationClient *This)
{
    return (ULONG)(atomic_fetch_add(&lc_notify_of(This)->refs, 1) + 1);
}

static ULONG STDMETHODCALLTYPE lc_notify_release(IMMNotificationClient *This)
{
    lc_wasapi_notify *n = lc_notify_of(This);
    long left = atomic_fetch_sub(&n->refs, 1) - 1;
    if (left == 0) {
        free(n->dev_id);
        free(n);
    }
    return (ULONG)left;
}

static bool lc_notify_is_ours(const lc_wasapi_notify *n, LPCWSTR id)
{
    return id && n->dev_id && !wcscmp(id, n->dev_id);
}

static HRESULT STDMETHODCALLTYPE lc_notify_state(IMMNotificationClient *This, LPCWSTR id,
                                                 DWORD state)
{
    lc_wasapi_notify *n = lc_notify_of(This);
    /* our endpoint disabled, unplugged or gone; when following the default, Windows will also
     * name a new default, but reopening once more is harmless */
    if (lc_notify_is_ours(n, id) && state != DEVICE_STATE_ACTIVE)
        atomic_store(&n->changed, true);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE lc_notify_added(IMMNotificationClient *This, LPCWSTR id)
{
    (void)This;
    (void)id; /* a named endpoint that is missing is retried by the core's open loop */
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE lc_notify_removed(IMMNotificationClient *This, LPCWSTR id)
{
    lc_wasapi_notify *n = lc_notify_of(This);
    if (lc_notify_is_ours(n, id))
        atomic_store(&n->changed, true);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE lc_notify_default(IMMNotificationClient *This, EDataFlow flow,
                                                   ERole role, LPCWSTR id)
{
    lc_wasapi_notify *n = lc_notify_of(This);
    /* only the role we opened (eConsole) and only a real change: Windows repeats the callback
     * per role, and may name the endpoint we already have */
    if (n->follow_default && flow == n->flow && role == eConsole && !lc_notify_is_ours(n, id))
        atomic_store(&n->changed, true);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE lc_notify_prop(IMMNotificationClient *This, LPCWSTR id,
                                                const PROPERTYKEY key)
{
    (void)This;
    (void)id;
    (void)key; /* a format change invalidates the stream itself (AUDCLNT_E_DEVICE_INVALIDATED) */
    return S_OK;
}

static IMMNotificationClientVtbl lc_notify_vtbl = {
    lc_notify_qi,      lc_notify_addref,  lc_notify_release, lc_notify_state,
    lc_notify_added,   lc_notify_removed, lc_notify_default, lc_notify_prop,
};

/* ---- backend state ------------------------------------------------------------------------- */


static uint64_t lc_ns_of(uint64_t frames, uint32_t rate)
{
    return frames / rate * 1000000000ull + frames % rate * 1000000000ull / rate;
}

static uint64_t lc_frames_of(uint64_t ns, uint32_t rate)
{
    return ns / 1000000000ull * rate + ns % 1000000000ull * rate / 1000000000ull;
}

void lc_utf8(const WCHAR *w, char *out, size_t len)
{
    out[0] = 0;
    if (w && len && !WideCharToMultiByte(CP_UTF8, 0, w, -1, out, (int)len, NULL, NULL))
        out[len - 1] = 0; /* too long: WideCharToMultiByte fails, keep what it wrote */
}

int lc_wasapi_fail(const lc_wasapi *w, HRESULT hr, const char *call, char *errbuf, size_t errlen)
{
    char hex[32];
    lc_errf(errbuf, errlen, "%s: %s from %s%s%s%s", w->be_name, lc_wasapi_hr_name(hr, hex, sizeof hex),
            call, w->dev_name[0] ? " ('" : "", w->dev_name, w->dev_name[0] ? "')" : "");
    if (hr == E_OUTOFMEMORY)
        return LC_ERR_NOMEM;
    /* AUDCLNT_E_DEVICE_INVALIDATED and everything else: the device is unusable right now; the
     * core closes, backs off and reopens (which follows a new default endpoint) */
    return LC_ERR_DEVICE;
}

static int wasapi_parse_common(const char *name, bool loopback, const char *arg, void **state,
                               char *errbuf, size_t errlen)
{
    lc_wasapi *w = calloc(1, sizeof *w);
    if (!w) {
        lc_errf(errbuf, errlen, "%s: out of memory", name);
        return LC_ERR_NOMEM;
    }
    w->be_name = name;
    w->loopback = loopback;
    if (arg && *arg && strcmp(arg, "default") != 0) {
        size_t n = strlen(arg);
        w->want = malloc(n + 1);
        if (!w->want) {
            free(w);
            lc_errf(errbuf, errlen, "%s: out of memory", name);
            return LC_ERR_NOMEM;
        }
        memcpy(w->want, arg, n + 1);
    }
    *state = w;
    return 0;
}

static int wasapi_parse(const char *arg, void **state, char *errbuf, size_t errlen)
{
    return wasapi_parse_common("wasapi", true, arg, state, errbuf, errlen);
}

static int wasapi_capture_parse(const char *arg, void **state, char *errbuf, size_t errlen)
{
    return wasapi_parse_common("wasapi-capture", false, arg, state, errbuf, errlen);
}

/* Friendly name of `dev` in UTF-8 ("" if it has none). */
static void lc_wasapi_friendly(IMMDevice *dev, char *out, size_t len)
{
    IPropertyStore *ps = NULL;
    PROPVARIANT pv;
    out[0] = 0;
    PropVariantInit(&pv);
    if (FAILED(IMMDevice_OpenPropertyStore(dev, STGM_READ, &ps)))
        return;
    if (SUCCEEDED(IPropertyStore_GetValue(ps, &lc_PKEY_Device_FriendlyName, &pv)) &&
        pv.vt == VT_LPWSTR)
        lc_utf8(pv.pwszVal, out, len);
    PropVariantClear(&pv);
    IPropertyStore_Release(ps);
}

bool lc_ascii_caseeq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        int ca = (unsigned char)*a, cb = (unsigned char)*b;
        if (ca >= 'A' && ca <= 'Z')
            ca += 32;
        if (cb >= 'A' && cb <= 'Z')
            cb += 32;
        if (ca != cb)
            return false;
    }
    return *a == *b;
}

/* Finds the active endpoint of `flow` whose ID equals, or friendly name case-insensitively
 * equals, w->want. 0 with *out referenced, or an error with the message in errbuf. */
static int lc_wasapi_find(lc_wasapi *w, EDataFlow flow, IMMDevice **out, char *errbuf,
                          size_t errlen)
{
    IMMDeviceCollection *coll = NULL;
    UINT count = 0;
    int rc;
    *out = NULL;
    HRESULT hr = IMMDeviceEnumerator_EnumAudioEndpoints(w->enumr, flow, DEVICE_STATE_ACTIVE, &coll);
    if (FAILED(hr)) {
        rc = lc_wasapi_fail(w, hr, "IMMDeviceEnumerator::EnumAudioEndpoints", errbuf, errlen);
        goto fail;
    }
    if (FAILED(hr = IMMDeviceCollection_GetCount(coll, &count))) {
        rc = lc_wasapi_fail(w, hr, "IMMDeviceCollection::GetCount", errbuf, errlen);
        goto fail;
    }
    for (UINT i = 0; i < count && !*out; i++) {
        IMMDevice *d = NULL;
        LPWSTR wid = NULL;
        char id[256], name[128];
        if (FAILED(IMMDeviceCollection_Item(coll, i, &d)))
            continue; /* vanished between GetCount and Item */
        id[0] = 0;
        if (SUCCEEDED(IMMDevice_GetId(d, &wid))) {
            lc_utf8(wid, id, sizeof id);
            CoTaskMemFree(wid);
        }
        lc_wasapi_friendly(d, name, sizeof name);
        if (!strcmp(id, w->want) || (name[0] && lc_ascii_caseeq(name, w->want)))
            *out = d;
        else
            IMMDevice_Release(d);
    }
    if (!*out) {
        /* not fatal for the source: the core retries, and the endpoint may be plugged in later */
        rc = LC_ERR_NOT_FOUND;
        lc_errf(errbuf, errlen, "%s: no active %s endpoint has the ID or name '%s' (see "
                "loopcast-capture --list-devices)", w->be_name, flow == eRender ? "render" :
                "capture", w->want);
        goto fail;
    }
    IMMDeviceCollection_Release(coll);
    return 0;
fail:
    if (coll)
        IMMDeviceCollection_Release(coll);
    return rc;
}

/* Maps the engine's mix format to ours. Shared mode delivers exactly this format. */
static int lc_wasapi_format(lc_wasapi *w, const WAVEFORMATEX *wfx, char *errbuf, size_t errlen)
{
    WORD tag = wfx->wFormatTag, bits = wfx->wBitsPerSample;
    bool is_float = tag == WAVE_FORMAT_IEEE_FLOAT, is_pcm = tag == WAVE_FORMAT_PCM;
    if (tag == WAVE_FORMAT_EXTENSIBLE && wfx->cbSize >= 22) {
        const WAVEFORMATEXTENSIBLE *x = (const WAVEFORMATEXTENSIBLE *)(const void *)wfx;
        is_float = lc_guid_eq(&x->SubFormat, &lc_SUBTYPE_FLOAT);
        is_pcm = lc_guid_eq(&x->SubFormat, &lc_SUBTYPE_PCM);
        /* 24 valid bits in a 32-bit container are the high bits (WAVEFORMATEXTENSIBLE rule), so
         * the container width is what decides the conversion */
    }
    if (is_float && bits == 32)
        w->sample = LC_SAMPLE_F32LE;
    else if (is_pcm && bits == 16)
        w->sample = LC_SAMPLE_S16LE;
    else if (is_pcm && bits == 24)
        w->sample = LC_SAMPLE_S24LE;
    else if (is_pcm && bits == 32)
        w->sample = LC_SAMPLE_S32LE;
    else if (is_pcm && bits == 8)
        w->sample = LC_SAMPLE_U8;
    else {
        lc_errf(errbuf, errlen, "%s: mix format of '%s' not supported (tag 0x%04x, %u bits)",
                w->be_name, w->dev_name, tag, bits);
        return LC_ERR_FORMAT;
    }
    w->fmt.rate = wfx->nSamplesPerSec;
    w->fmt.channels = wfx->nChannels;
    w->channels = wfx->nChannels;
    if (!lc_format_valid(&w->fmt) ||
        wfx->nBlockAlign != wfx->nChannels * lc_sample_bytes(w->sample)) {
        lc_errf(errbuf, errlen, "%s: mix format of '%s' not supported (%lu Hz, %u channels, "
                "block %u)", w->be_name, w->dev_name, (unsigned long)wfx->nSamplesPerSec,
                wfx->nChannels, wfx->nBlockAlign);
        return LC_ERR_FORMAT;
    }
    return 0;
}

void lc_wasapi_close(void *state)
{
    lc_wasapi *w = state;
    if (w->client) {
        HRESULT hr = IAudioClient_Stop(w->client);
        if (FAILED(hr) && hr != AUDCLNT_E_DEVICE_INVALIDATED) {
            char hex[32];
            lc_log(LC_LOG_DEBUG, "capture", "%s: IAudioClient::Stop: %s", w->be_name,
                   lc_wasapi_hr_name(hr, hex, sizeof hex));
        }
    }
    if (w->cc)
        IAudioCaptureClient_Release(w->cc);
    if (w->client)
        IAudioClient_Release(w->client);
    if (w->notify) {
        /* after this returns no new callback starts; COM may still hold a reference briefly,
         * which is why notify is refcounted rather than part of *w */
        IMMDeviceEnumerator_UnregisterEndpointNotificationCallback(w->enumr, &w->notify->iface);
        IMMNotificationClient_Release(&w->notify->iface);
    }
    if (w->dev)
        IMMDevice_Release(w->dev);
    if (w->enumr)
        IMMDeviceEnumerator_Release(w->enumr);
    if (w->event)
        CloseHandle(w->event);
    free(w->pending);
    if (w->com_init)
        CoUninitialize();
    w->cc = NULL;
    w->client = NULL;
    w->notify = NULL;
    w->dev = NULL;
    w->enumr = NULL;
    w->event = NULL;
    w->pending = NULL;
    w->pending_cap = w->pending_frames = w->pending_off = 0;
    w->com_init = false;
}

int lc_wasapi_com_init(lc_wasapi *w, char *errbuf, size_t errlen)
{
    HRESULT hr = CoInitializeEx(NULL, COINIT_MULTITHREADED);
    if (SUCCEEDED(hr))
        w->com_init = true; /* S_OK or S_FALSE: both need a CoUninitialize */
    else if (hr != RPC_E_CHANGED_MODE)
        /* RPC_E_CHANGED_MODE: someone made this thread STA; COM works, just not ours to undo */
        return lc_wasapi_fail(w, hr, "CoInitializeEx", errbuf, errlen);
    return 0;
}

int lc_wasapi_start(lc_wasapi *w, const WAVEFORMATEX *want, const char *what, lc_format *fmt,
                    char *errbuf, size_t errlen)
{
    WAVEFORMATEX *mix = NULL;
    const WAVEFORMATEX *wfx = want;
    HRESULT hr;
    int rc;
    if (!wfx) {
        if (FAILED(hr = IAudioClient_GetMixFormat(w->client, &mix))) {
            rc = lc_wasapi_fail(w, hr, "IAudioClient::GetMixFormat", errbuf, errlen);
            goto fail;
        }
        wfx = mix;
    }
    if ((rc = lc_wasapi_format(w, wfx, errbuf, errlen)) < 0)
        goto fail;
    REFERENCE_TIME def_period = 0;
    /* a process-loopback client has no device period (E_NOTIMPL): 10 ms then */
    if (FAILED(hr = IAudioClient_GetDevicePeriod(w->client, &def_period, NULL)) && !want) {
        rc = lc_wasapi_fail(w, hr, "IAudioClient::GetDevicePeriod", errbuf, errlen);
        goto fail;
    }
    w->period_ns = def_period > 0 ? (uint64_t)def_period * 100 : 10000000ull;
    if (w->period_ns < 3000000ull || w->period_ns > 100000000ull)
        w->period_ns = 10000000ull; /* an absurd report must not stall or spin the silence clock */

    /* NOPERSIST: our capture stream's session volume/mute is not written to the Windows audio
     * policy store (docs/windows.md); session GUID NULL: the process's default session */
    DWORD flags = AUDCLNT_STREAMFLAGS_EVENTCALLBACK | (want ? 0 : AUDCLNT_STREAMFLAGS_NOPERSIST) |
                  (w->loopback ? AUDCLNT_STREAMFLAGS_LOOPBACK : 0);
    hr = IAudioClient_Initialize(w->client, AUDCLNT_SHAREMODE_SHARED, flags, LC_WASAPI_BUFFER_HNS,
                                 0, wfx, NULL);
    if (FAILED(hr)) {
        rc = lc_wasapi_fail(w, hr, w->loopback ? "IAudioClient::Initialize(LOOPBACK)" :
                            "IAudioClient::Initialize", errbuf, errlen);
        goto fail;
    }
    if (!(w->event = CreateEventW(NULL, FALSE, FALSE, NULL))) {
        rc = lc_wasapi_fail(w, HRESULT_FROM_WIN32(GetLastError()), "CreateEvent", errbuf, errlen);
        goto fail;
    }
    if (FAILED(hr = IAudioClient_SetEventHandle(w->client, w->event))) {
        rc = lc_wasapi_fail(w, hr, "IAudioClient::SetEventHandle", errbuf, errlen);
        goto fail;
    }
    UINT32 buffer_frames = 0;
    if (FAILED(hr = IAudioClient_GetBufferSize(w->client, &buffer_frames))) {
        rc = lc_wasapi_fail(w, hr, "IAudioClient::GetBufferSize", errbuf, errlen);
        goto fail;
    }
    /* Wine fails here for a loopback stream: AUDCLNT_E_WRONG_ENDPOINT_TYPE */
    hr = IAudioClient_GetService(w->client, &lc_IID_IAudioCaptureClient, (void **)&w->cc);
    if (FAILED(hr)) {
        rc = lc_wasapi_fail(w, hr, "IAudioClient::GetService(IAudioCaptureClient)", errbuf, errlen);
        goto fail;
    }
    /* a packet never exceeds the endpoint buffer; one that exceeds a read is parked here */
    w->pending_cap = buffer_frames ? buffer_frames : lc_capture_chunk_frames(w->fmt.rate);
    w->pending = malloc(w->pending_cap * w->channels * sizeof *w->pending);
    if (!w->pending) {
        rc = LC_ERR_NOMEM;
        lc_errf(errbuf, errlen, "%s: out of memory", w->be_name);
        goto fail;
    }
    if (FAILED(hr = IAudioClient_Start(w->client))) {
        rc = lc_wasapi_fail(w, hr, "IAudioClient::Start", errbuf, errlen);
        goto fail;
    }
    uint64_t two_periods_ms = 2 * w->period_ns / 1000000ull;
    w->wait_ms = w->loopback ? LC_WASAPI_LOOPBACK_WAIT_MS
                             : (DWORD)(two_periods_ms < 10 ? 10 : two_periods_ms > 90 ? 90 : two_periods_ms);
    w->next_ns = lc_now_ns(); /* silence before the first packet starts here */
    w->last_packet_ns = w->next_ns;
    w->last_silent = false;
    w->first_packet = true;
    w->pending_frames = w->pending_off = 0;
    lc_log(LC_LOG_INFO, "capture", "%s: %s, %u Hz, %u ch, %s, period %.1f ms, buffer %u "
           "frames", w->be_name, what, w->fmt.rate, w->fmt.channels, lc_sample_name(w->sample),
           (double)w->period_ns / 1e6, buffer_frames);
    if (mix)
        CoTaskMemFree(mix);
    *fmt = w->fmt;
    return 0;

fail:
    if (mix)
        CoTaskMemFree(mix);
    return rc;
}

static int wasapi_open(void *state, lc_format *fmt, char *errbuf, size_t errlen)
{
    lc_wasapi *w = state;
    LPWSTR wid = NULL;
    int rc;
    const EDataFlow flow = w->loopback ? eRender : eCapture;
    w->dev_name[0] = 0;

    HRESULT hr;
    if ((rc = lc_wasapi_com_init(w, errbuf, errlen)) < 0)
        goto fail;
    hr = CoCreateInstance(&lc_CLSID_MMDeviceEnumerator, NULL, CLSCTX_ALL,
                          &lc_IID_IMMDeviceEnumerator, (void **)&w->enumr);
    if (FAILED(hr)) {
        rc = lc_wasapi_fail(w, hr, "CoCreateInstance(MMDeviceEnumerator)", errbuf, errlen);
        goto fail;
    }
    if (!w->want) {
        hr = IMMDeviceEnumerator_GetDefaultAudioEndpoint(w->enumr, flow, eConsole, &w->dev);
        if (FAILED(hr)) {
            /* E_NOTFOUND: no endpoint of that direction at all (yet) */
            rc = lc_wasapi_fail(w, hr, flow == eRender ? "GetDefaultAudioEndpoint(eRender)" :
                                "GetDefaultAudioEndpoint(eCapture)", errbuf, errlen);
            goto fail;
        }
    } else if ((rc = lc_wasapi_find(w, flow, &w->dev, errbuf, errlen)) < 0) {
        goto fail;
    }
    lc_wasapi_friendly(w->dev, w->dev_name, sizeof w->dev_name);

    /* watch the endpoint before activating it, so a change in between is not missed */
    if (FAILED(hr = IMMDevice_GetId(w->dev, &wid))) {
        rc = lc_wasapi_fail(w, hr, "IMMDevice::GetId", errbuf, errlen);
        goto fail;
    }
    lc_wasapi_notify *n = calloc(1, sizeof *n);
    size_t idlen = wcslen(wid) + 1;
    WCHAR *idcopy = malloc(idlen * sizeof *idcopy);
    if (!n || !idcopy) {
        free(n);
        free(idcopy);
        rc = LC_ERR_NOMEM;
        lc_errf(errbuf, errlen, "%s: out of memory", w->be_name);
        goto fail;
    }
    memcpy(idcopy, wid, idlen * sizeof *idcopy);
    n->iface.lpVtbl = &lc_notify_vtbl;
    atomic_init(&n->refs, 1);
    atomic_init(&n->changed, false);
    n->flow = flow;
    n->follow_default = !w->want;
    n->dev_id = idcopy;
    hr = IMMDeviceEnumerator_RegisterEndpointNotificationCallback(w->enumr, &n->iface);
    if (FAILED(hr)) {
        IMMNotificationClient_Release(&n->iface);
        rc = lc_wasapi_fail(w, hr, "RegisterEndpointNotificationCallback", errbuf, errlen);
        goto fail;
    }
    w->notify = n;

    hr = IMMDevice_Activate(w->dev, &lc_IID_IAudioClient, CLSCTX_ALL, NULL, (void **)&w->client);
    if (FAILED(hr)) {
        rc = lc_wasapi_fail(w, hr, "IMMDevice::Activate(IAudioClient)", errbuf, errlen);
        goto fail;
    }
    char id[256], what[400];
    lc_utf8(wid, id, sizeof id);
    snprintf(what, sizeof what, "'%s' %s (%s)", w->dev_name, id, w->loopback ? "loopback" : "capture");
    if ((rc = lc_wasapi_start(w, NULL, what, fmt, errbuf, errlen)) < 0)
        goto fail;
    CoTaskMemFree(wid);
    return 0;

fail:
    if (wid)
        CoTaskMemFree(wid);
    lc_wasapi_close(w);
    return rc;
}
/* Hands out frames parked from an oversized packet. */
static void lc_wasapi_take_pending(lc_wasapi *w, float *buf, size_t max_frames, size_t *frames,
                                   uint64_t *capture_ns)
{
    size_t n = w->pending_frames - w->pending_off;
    if (n > max_frames)
        n = max_frames;
    memcpy(buf, w->pending + w->pending_off * w->channels, n * w->channels * sizeof *buf);
    *frames = n;
    *capture_ns = w->pending_ns;
    w->pending_off += n;
    w->pending_ns += lc_ns_of(n, w->fmt.rate);
    if (w->pending_off == w->pending_frames)
        w->pending_frames = w->pending_off = 0;
}

/* No packet: keep the timeline going with zeros once more than two periods passed. */
static int lc_wasapi_silence(lc_wasapi *w, float *buf, size_t max_frames, size_t *frames,
                             uint64_t *capture_ns, uint64_t *xruns, char *errbuf, size_t errlen)
{
    uint64_t now = lc_now_ns();
    if (!w->loopback && now - w->last_packet_ns > LC_WASAPI_STALL_NS) {
        lc_errf(errbuf, errlen, "%s: no packets from '%s' for %.1f s: the stream stalled",
                w->be_name, w->dev_name, (double)(now - w->last_packet_ns) / 1e9);
        return LC_ERR_DEVICE;
    }
    /* entering silence needs a real pause; once in it, chunks follow every period */
    uint64_t quiet = 2 * w->period_ns > LC_WASAPI_QUIET_MIN_NS ? 2 * w->period_ns
                                                                 : LC_WASAPI_QUIET_MIN_NS;
    if (w->last_silent)
        quiet = w->period_ns;
    if (now <= w->next_ns || now - w->next_ns <= quiet)
        return 0;
    if (now - w->next_ns > LC_WASAPI_GAP_RESET_NS) {
        /* the thread stalled (suspend, debugger): start a new timeline instead of a burst */
        w->next_ns = now - 2 * w->period_ns;
        (*xruns)++;
    }
    uint64_t n = lc_frames_of(now - w->period_ns - w->next_ns, w->fmt.rate);
    if (n > max_frames)
        n = max_frames;
    if (n == 0)
        return 0;
    memset(buf, 0, (size_t)n * w->channels * sizeof *buf);
    *frames = (size_t)n;
    *capture_ns = w->next_ns;
    w->next_ns += lc_ns_of(n, w->fmt.rate);
    w->last_silent = true;
    return 0;
}

int lc_wasapi_read(void *state, lc_format *fmt, float *buf, size_t max_frames, size_t *frames,
                   uint64_t *capture_ns, uint64_t *xruns, char *errbuf, size_t errlen)
{
    lc_wasapi *w = state;
    (void)fmt;
    *frames = 0;
    if (w->notify && atomic_load(&w->notify->changed)) {
        lc_errf(errbuf, errlen, "%s: %s", w->be_name, w->want ?
                "the endpoint was disabled or removed" : "the default endpoint changed");
        return LC_ERR_DEVICE;
    }
    if (w->pending_frames) {
        lc_wasapi_take_pending(w, buf, max_frames, frames, capture_ns);
        return 0;
    }
    UINT32 next = 0;
    HRESULT hr = IAudioCaptureClient_GetNextPacketSize(w->cc, &next);
    if (FAILED(hr))
        return lc_wasapi_fail(w, hr, "IAudioCaptureClient::GetNextPacketSize", errbuf, errlen);
    if (next == 0) {
        /* the event may never come (loopback before Windows 10): the timeout is the poll */
        WaitForSingleObject(w->event, w->wait_ms);
        if (FAILED(hr = IAudioCaptureClient_GetNextPacketSize(w->cc, &next)))
            return lc_wasapi_fail(w, hr, "IAudioCaptureClient::GetNextPacketSize", errbuf, errlen);
        if (next == 0)
            return lc_wasapi_silence(w, buf, max_frames, frames, capture_ns, xruns, errbuf,
                                     errlen);
    }

    BYTE *data = NULL;
    UINT32 got = 0;
    DWORD flags = 0;
    UINT64 devpos = 0, qpc = 0;
    hr = IAudioCaptureClient_GetBuffer(w->cc, &data, &got, &flags, &devpos, &qpc);
    if (FAILED(hr))
        return lc_wasapi_fail(w, hr, "IAudioCaptureClient::GetBuffer", errbuf, errlen);
    if (hr == AUDCLNT_S_BUFFER_EMPTY || got == 0)
        return 0;
    w->last_packet_ns = lc_now_ns();
    /* the whole packet or nothing must be released: convert all of it now */
    float *dst = got <= max_frames ? buf : w->pending;
    size_t keep = got;
    if (dst == w->pending && keep > w->pending_cap)
        keep = w->pending_cap; /* cannot happen (packet > endpoint buffer); stay in bounds */
    if ((flags & AUDCLNT_BUFFERFLAGS_SILENT) || !data)
        memset(dst, 0, keep * w->channels * sizeof *dst);
    else
        lc_pcm_to_float(w->sample, data, dst, keep * w->channels);
    if (FAILED(hr = IAudioCaptureClient_ReleaseBuffer(w->cc, got)))
        return lc_wasapi_fail(w, hr, "IAudioCaptureClient::ReleaseBuffer", errbuf, errlen);
    if ((flags & AUDCLNT_BUFFERFLAGS_DATA_DISCONTINUITY) && !w->first_packet)
        (*xruns)++;
    w->first_packet = false;

    uint64_t now = lc_now_ns(), dur = lc_ns_of(keep, w->fmt.rate);
    uint64_t cns = qpc * 100;
    if ((flags & AUDCLNT_BUFFERFLAGS_TIMESTAMP_ERROR) || qpc == 0 || cns > now + 5000000ull ||
        now - cns > LC_WASAPI_MAX_STAMP_AGE_NS) {
        if (!w->stamp_warned)
            lc_log(LC_LOG_DEBUG, "capture", "%s: packet time stamp unusable (flags 0x%lx), "
                   "using the arrival time", w->be_name, (unsigned long)flags);
        w->stamp_warned = true;
        cns = now > dur ? now - dur : 0;
    }
    size_t n = keep;
    if (w->last_silent && cns < w->next_ns) {
        /* audio resumed inside silence we already handed out: drop the overlap so the
         * timeline stays monotonic (costs at most ~2 periods at the start of a sound) */
        uint64_t skip = lc_frames_of(w->next_ns - cns, w->fmt.rate);
        if (skip >= n)
            return 0;
        memmove(dst, dst + skip * w->channels, (n - (size_t)skip) * w->channels * sizeof *dst);
        n -= (size_t)skip;
        cns = w->next_ns;
    }
    w->last_silent = false;
    w->next_ns = cns + lc_ns_of(n, w->fmt.rate);
    if (dst == buf) {
        *frames = n;
        *capture_ns = cns;
        return 0;
    }
    w->pending_frames = n;
    w->pending_off = 0;
    w->pending_ns = cns;
    lc_wasapi_take_pending(w, buf, max_frames, frames, capture_ns);
    return 0;
}

void lc_wasapi_destroy(void *state)
{
    lc_wasapi *w = state;
    /* the core closed us on the capture thread; COM objects are never released from here */
    free(w->want);
    free(w);
}

/* ---- listing ------------------------------------------------------------------------------- */

static void lc_wasapi_list_flow(FILE *out, EDataFlow flow)
{
    const char *kind = flow == eRender ? "render" : "capture";
    IMMDeviceEnumerator *enumr = NULL;
    IMMDeviceCollection *coll = NULL;
    IMMDevice *def = NULL;
    LPWSTR def_wid = NULL;
    char hex[32], def_id[256] = "";
    UINT count = 0;
    HRESULT hr = CoInitializeEx(NULL, COINIT_MULTITHREADED);
    bool com_init = SUCCEEDED(hr);
    if (FAILED(hr) && hr != RPC_E_CHANGED_MODE) {
        fprintf(out, "    (%s endpoints: CoInitializeEx: %s)\n", kind,
                lc_wasapi_hr_name(hr, hex, sizeof hex));
        return;
    }
    hr = CoCreateInstance(&lc_CLSID_MMDeviceEnumerator, NULL, CLSCTX_ALL,
                          &lc_IID_IMMDeviceEnumerator, (void **)&enumr);
    if (FAILED(hr)) {
        fprintf(out, "    (%s endpoints: CoCreateInstance(MMDeviceEnumerator): %s)\n", kind,
                lc_wasapi_hr_name(hr, hex, sizeof hex));
        goto done;
    }
    if (SUCCEEDED(IMMDeviceEnumerator_GetDefaultAudioEndpoint(enumr, flow, eConsole, &def)) &&
        SUCCEEDED(IMMDevice_GetId(def, &def_wid))) {
        lc_utf8(def_wid, def_id, sizeof def_id);
        CoTaskMemFree(def_wid);
    }
    hr = IMMDeviceEnumerator_EnumAudioEndpoints(enumr, flow, DEVICE_STATE_ACTIVE, &coll);
    if (FAILED(hr) || FAILED(hr = IMMDeviceCollection_GetCount(coll, &count))) {
        fprintf(out, "    (%s endpoints: %s)\n", kind, lc_wasapi_hr_name(hr, hex, sizeof hex));
        goto done;
    }
    if (count == 0)
        fprintf(out, "    (no active %s endpoints)\n", kind);
    for (UINT i = 0; i < count; i++) {
        IMMDevice *d = NULL;
        LPWSTR wid = NULL;
        char id[256] = "", name[128];
        if (FAILED(IMMDeviceCollection_Item(coll, i, &d)))
            continue;
        if (SUCCEEDED(IMMDevice_GetId(d, &wid))) {
            lc_utf8(wid, id, sizeof id);
            CoTaskMemFree(wid);
        }
        lc_wasapi_friendly(d, name, sizeof name);
        fprintf(out, "    %-7s %s  \"%s\"%s\n", kind, id, name,
                def_id[0] && !strcmp(id, def_id) ? "  (default)" : "");
        IMMDevice_Release(d);
    }
done:
    if (coll)
        IMMDeviceCollection_Release(coll);
    if (def)
        IMMDevice_Release(def);
    if (enumr)
        IMMDeviceEnumerator_Release(enumr);
    if (com_init)
        CoUninitialize();
}

static void wasapi_list(FILE *out) { lc_wasapi_list_flow(out, eRender); }
static void wasapi_capture_list(FILE *out) { lc_wasapi_list_flow(out, eCapture); }

const lc_capture_backend lc_backend_wasapi = {
    .name = "wasapi",
    .usage = "wasapi[:ID|NAME|default]                    loopback of a render endpoint (what "
             "Windows plays; default: the default endpoint, followed when it changes)",
    .parse = wasapi_parse,
    .open = wasapi_open,
    .read = lc_wasapi_read,
    .close = lc_wasapi_close,
    .destroy = lc_wasapi_destroy,
    .list = wasapi_list,
    /* always there on Windows: a missing endpoint is a source "not there yet", which the retry
     * loop handles (and the default endpoint is followed when it changes) */
    .auto_uri = "wasapi",
    .auto_rank = 30,
};

const lc_capture_backend lc_backend_wasapi_capture = {
    .name = "wasapi-capture",
    .usage = "wasapi-capture[:ID|NAME|default]            a capture endpoint (line-in, microphone)",
    .parse = wasapi_capture_parse,
    .open = wasapi_open,
    .read = lc_wasapi_read,
    .close = lc_wasapi_close,
    .destroy = lc_wasapi_destroy,
    .list = wasapi_capture_list,
};
