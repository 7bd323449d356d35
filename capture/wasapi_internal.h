/*
 * wasapi_internal.h — what backend_wasapi.c (endpoints) and backend_app_win32.c (one process
 * tree, issue 16) share: the state of an open WASAPI capture stream and the functions that run
 * it once an IAudioClient exists. Windows only; not included outside capture/.
 */
#ifndef LC_WASAPI_INTERNAL_H
#define LC_WASAPI_INTERNAL_H

#define COBJMACROS
#include "capture_internal.h"

#include <windows.h>
#include <mmdeviceapi.h>
#include <audioclient.h>
#include <stdbool.h>

typedef struct lc_wasapi_notify lc_wasapi_notify; /* backend_wasapi.c: endpoint notifications */

/* The COM class and interface ids both backends use (backend_wasapi.c says why they are ours). */
extern const CLSID lc_CLSID_MMDeviceEnumerator;
extern const IID lc_IID_IMMDeviceEnumerator, lc_IID_IAudioClient, lc_IID_IUnknown;

/* Set up by parse on the caller's thread; from then on touched by the capture thread only
 * (notify->changed excepted, see above). */
typedef struct lc_wasapi {
    const char *be_name; /* "wasapi", "wasapi-capture" or "app", for messages */
    bool loopback;       /* render endpoint (or a process) in loopback mode, else a capture
                          * endpoint */
    char *want;          /* endpoint ID or friendly name, UTF-8; NULL = the default endpoint;
                          * app: the executable's name (decoded) */
    unsigned app_pid;    /* app:pid:N; 0 = by name (backend_app_win32.c) */
    bool app_exclude;    /* app:…?exclude=1: everything but that process tree */

    /* open → close */
    bool com_init;       /* CoInitializeEx succeeded: close must CoUninitialize */
    IMMDeviceEnumerator *enumr;
    IMMDevice *dev;
    IAudioClient *client;
    IAudioCaptureClient *cc;
    HANDLE event;
    lc_wasapi_notify *notify; /* registered with enumr while non-NULL */
    char dev_name[128];       /* friendly name of the open endpoint, for messages */
    lc_format fmt;
    lc_sample_type sample;
    uint32_t channels;
    uint64_t period_ns;       /* the engine's default period (10 ms on most systems) */
    DWORD wait_ms;
    uint64_t next_ns;         /* where the last chunk handed out ended on the timeline */
    uint64_t last_packet_ns;  /* lc_now_ns when the last packet (or Start) came */
    bool last_silent;         /* that chunk was backend-made silence (trim overlap after it) */
    bool first_packet;        /* the first packet after Start may flag a discontinuity: ignore */
    bool stamp_warned;
    float *pending;           /* an oversized packet's frames not handed out yet */
    size_t pending_cap, pending_frames, pending_off;
    uint64_t pending_ns;      /* capture time of pending[pending_off] */
} lc_wasapi;

/* The error path of every COM call: the HRESULT by name, the call, the endpoint. */
int lc_wasapi_fail(const lc_wasapi *w, HRESULT hr, const char *call, char *errbuf, size_t errlen);
/* With w->client activated (and COM initialised on this thread): format (wfx, or the client's
 * mix format when NULL), Initialize in shared mode (loopback when w->loopback), the event, the
 * capture client, Start; *fmt set. Logs the stream with `what`. On failure the caller closes. */
int lc_wasapi_start(lc_wasapi *w, const WAVEFORMATEX *wfx, const char *what, lc_format *fmt,
                    char *errbuf, size_t errlen);
/* The backend table's read / close / destroy for any lc_wasapi. */
int lc_wasapi_read(void *state, lc_format *fmt, float *buf, size_t max_frames, size_t *frames,
                   uint64_t *capture_ns, uint64_t *xruns, char *errbuf, size_t errlen);
void lc_wasapi_close(void *state);
void lc_wasapi_destroy(void *state);
/* Initialises COM on the capture thread (w->com_init says whether to undo it). */
int lc_wasapi_com_init(lc_wasapi *w, char *errbuf, size_t errlen);
/* UTF-16 → UTF-8 into out[len] (truncated, always terminated). */
void lc_utf8(const WCHAR *w, char *out, size_t len);
/* ASCII case-insensitive equality (names of endpoints and executables). */
bool lc_ascii_caseeq(const char *a, const char *b);

#endif
