/*
 * capture.h — audio sources by URI, one capture thread per source, and taps.
 *
 * A source is opened from a URI "name[:argument]" ("tone:440", "alsa:hw:1", "file:x.wav",
 * "pipe:-?format=s16le&rate=48000&channels=2", "loopback", "auto"). The name picks a backend from
 * a registry (lc_capture_register_backend), so a new backend never touches the others.
 *
 * Data leaves through taps: callbacks registered with a context pointer. Each delivers
 * interleaved float frames in the source's *current* format together with the monotonic
 * time (lc_now_ns) at which the first frame was captured.
 *
 * Rules for a tap (it runs on the capture thread):
 *   - be short and bounded: no network I/O, no waiting on locks another thread holds for long,
 *     no allocation in the steady state (an allocation on a format change is fine);
 *   - copy what it needs: `pcm` is valid only during the call;
 *   - cope with `fmt` changing between two calls (device switched, reopened with other settings):
 *     compare it with the previous call, never cache it;
 *   - it may call lc_capture_remove_tap() on itself (or another tap); it must not call
 *     lc_capture_start/stop/close.
 * lc_capture_add_tap/remove_tap may be called from any thread while capture runs. When
 * lc_capture_remove_tap() returns (called from another thread), the tap is not running and will
 * never be called again, so its context may be freed.
 *
 * Source loss (device unplugged, pipe writer gone, sound server restarted) is not an error the
 * caller handles: the capture thread reopens with backoff (state LC_CAPTURE_RETRYING, counted in
 * stats.reopens) and taps simply see no frames until it is back — or, with
 * lc_capture_set_keepalive(), real-time silence until it is back.
 */
#ifndef LC_CAPTURE_H
#define LC_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*lc_tap_fn)(void *user, const lc_format *fmt, const float *pcm, size_t frames,
                          uint64_t capture_ns);

typedef struct lc_capture lc_capture;

typedef enum {
    LC_CAPTURE_STOPPED = 0, /* opened, not started, or stopped */
    LC_CAPTURE_STARTING,    /* thread running, device being opened for the first time */
    LC_CAPTURE_RUNNING,     /* delivering frames */
    LC_CAPTURE_RETRYING,    /* source lost or not yet there; reopening with backoff */
} lc_capture_state;

/* "stopped", "starting", "running", "retrying". */
const char *lc_capture_state_name(lc_capture_state s);

typedef struct lc_capture_stats {
    uint64_t frames;        /* frames delivered to taps since start */
    uint64_t callbacks;     /* tap dispatch rounds */
    uint64_t xruns;         /* overruns recovered (ALSA snd_pcm_recover, pipe overflow, ...) */
    uint64_t reopens;       /* times the source was lost and opened again */
    uint64_t silence_frames;/* frames of silence inserted to keep the timeline continuous */
    lc_format format;       /* current format (zero before the first open) */
    char last_error[160];   /* last open/read error, "" if none */
    char detail[160];       /* what the backend says of its source now ("waiting for spotify"),
                             * "" if it says nothing (see lc_capture_backend.detail) */
} lc_capture_stats;

/*
 * Parses `uri`, finds the backend and checks what can be checked without starting (a WAV file's
 * header, a pipe's format options). On failure returns LC_ERR_URI / LC_ERR_NO_BACKEND /
 * LC_ERR_FORMAT / LC_ERR_IO ... and writes a message naming the cause into errbuf.
 * "auto" resolves here (loopback if a sound server answers, else ALSA "default", else tone:440
 * with a warning logged that says why; on Windows always wasapi); lc_capture_uri() tells what it
 * resolved to.
 */
int lc_capture_open(lc_capture **out, const char *uri, char *errbuf, size_t errlen);

/* Starts the capture thread (state STARTING until the first frames, then RUNNING; RETRYING while
 * the source is missing). Stats restart from zero. LC_ERR_STATE if already started; a stopped
 * capture may be started again. open/start/stop/close must not be called concurrently. */
int lc_capture_start(lc_capture *cap);

/* Stops and joins the capture thread (bounded: backends wake at least every 100 ms, backoff
 * sleeps are cut short). No-op if not started. Must not be called from a tap. */
void lc_capture_stop(lc_capture *cap);

/* Stops if needed and frees everything. NULL is a no-op. */
void lc_capture_close(lc_capture *cap);

/*
 * Keep-alive silence (off by default). When on, while the source delivers nothing because it is
 * lost or not there yet (state STARTING or RETRYING), the capture thread gives the taps silence
 * in real time, in the source's last format (48 kHz stereo before it was ever opened), so an
 * encoder behind them keeps producing packets and listeners hear silence instead of a stall.
 * Counted in stats.silence_frames. The first real audio after such silence continues its
 * timeline: a chunk that overlaps silence already given loses its overlapping head (at most one
 * read, ~100 ms), one that starts later than it is preceded by silence up to its start. A source
 * that stays RUNNING but gives nothing for 250 ms (a paused player holding its FIFO open) is
 * stalled: keep-alive silence starts then, in real time, and the state stays RUNNING.
 * May be called at any time, from any thread.
 */
void lc_capture_set_keepalive(lc_capture *cap, bool on);

/* Returns a tap id (> 0) or a negative error (LC_ERR_FULL past LC_CAPTURE_MAX_TAPS). */
int lc_capture_add_tap(lc_capture *cap, lc_tap_fn fn, void *user);
#define LC_CAPTURE_MAX_TAPS 16

/* LC_ERR_NOT_FOUND for an unknown id. See the rules above. */
int lc_capture_remove_tap(lc_capture *cap, int tap_id);

lc_capture_state lc_capture_get_state(const lc_capture *cap);
void lc_capture_get_stats(const lc_capture *cap, lc_capture_stats *out);

/* The URI actually in use ("auto" resolved), stable for the life of `cap`. */
const char *lc_capture_uri(const lc_capture *cap);

/* Prints every registered backend with its URI syntax, and the devices each can enumerate. */
void lc_capture_list_sources(FILE *out);

/* ---- backends --------------------------------------------------------------------------- */

/*
 * A backend is a table of functions, registered by name. The core owns the thread, the taps,
 * the retry/backoff policy and the stats; a backend only opens, reads and closes.
 *
 * All functions run on the capture thread except parse (caller's thread, in lc_capture_open)
 * and list (caller's thread).
 */
typedef struct lc_capture_backend {
    const char *name;     /* URI scheme: "tone", "alsa", ... */
    const char *usage;    /* one line for --help/--list-sources: "tone:FREQ  a sine wave" */
    /* Validates `arg` (text after "name:", may be "" or NULL) and allocates backend state.
     * Must not touch devices; may read a file header. */
    int (*parse)(const char *arg, void **state, char *errbuf, size_t errlen);
    /* Opens the device/file; sets *fmt. Called again after a loss. */
    int (*open)(void *state, lc_format *fmt, char *errbuf, size_t errlen);
    /*
     * Blocks for at most ~100 ms; writes up to max_frames frames of float in the opened format
     * into buf (sized max_frames * fmt.channels), sets *frames (0 is fine: nothing yet) and
     * *capture_ns (capture time of the first frame). Returns 0, or LC_ERR_DEVICE / LC_ERR_EOF /
     * LC_ERR_IO when the source is lost (the core closes and reopens with backoff). May
     * increment *xruns. `fmt` may be updated by read itself when the stream format changes; such
     * a call must deliver *frames = 0 (the core resizes buf before the next call).
     * The core fills holes in the capture_ns timeline of one open (a chunk that starts more
     * than 50 ms after the previous one ended) with silence, counted in silence_frames.
     */
    int (*read)(void *state, lc_format *fmt, float *buf, size_t max_frames, size_t *frames,
                uint64_t *capture_ns, uint64_t *xruns, char *errbuf, size_t errlen);
    void (*close)(void *state);  /* closes the device; state stays for a later open */
    void (*destroy)(void *state);/* frees the state */
    void (*list)(FILE *out);     /* optional: print devices, one per line, indented */
    /* optional: what the source is doing now, for people ("following spotify (sink input 42)",
     * "waiting for spotify"); "" = nothing to say. Called by the capture thread after each read
     * and copied into lc_capture_stats.detail. */
    void (*detail)(void *state, char *buf, size_t len);
    /*
     * What `auto` may do with this backend, so that auto itself names none: auto_uri is the URI
     * it opens (NULL: auto never picks this backend); candidates are tried by auto_rank, highest
     * first; probe (NULL = always usable) answers 1, or 0 with the reason in why[], opening and
     * closing the device at most once on the caller's thread. An auto_fallback backend is a
     * stand-in, not a real source (the test tone): auto takes it only when no other is usable,
     * with a WARN that names every rejected candidate and why.
     */
    const char *auto_uri;
    int auto_rank;
    bool auto_fallback;
    int (*probe)(char *why, size_t len);
} lc_capture_backend;

/* Adds a backend to the registry (before lc_capture_open). `be` is kept by pointer: give it
 * static storage. LC_ERR_INVALID if a backend of that name exists, the name is not
 * [a-z0-9_-]{1,32} or "auto", or a required function is missing; LC_ERR_FULL past 16 extra
 * backends. The built-in backends (tone, file; pipe on POSIX; alsa and loopback with ALSA;
 * wasapi and wasapi-capture on Windows) are registered automatically. Thread-safe. */
int lc_capture_register_backend(const lc_capture_backend *be);

/* ---- helpers shared by backends and tools ------------------------------------------------- */

typedef enum {
    LC_SAMPLE_S16LE = 0,
    LC_SAMPLE_S24LE,   /* packed 3 bytes */
    LC_SAMPLE_S24_32LE,/* 24 bits in the low bytes of 32 */
    LC_SAMPLE_S32LE,
    LC_SAMPLE_F32LE,
    LC_SAMPLE_U8,
} lc_sample_type;

/* Bytes per sample of `t`. */
size_t lc_sample_bytes(lc_sample_type t);
/* "s16le", "s24le", "s24_32le", "s32le", "f32le", "u8"; returns 0 or LC_ERR_INVALID. */
int lc_sample_parse(const char *name, lc_sample_type *out);
/* The name lc_sample_parse accepts for `t` ("?" for an unknown value). */
const char *lc_sample_name(lc_sample_type t);
/* Converts `samples` little-endian samples of type t to float in [-1, 1]: integers are divided by
 * 2^(bits-1) (so the most negative code is exactly -1.0, u8 128 is 0.0); f32le is copied with NaN
 * made 0 and values clamped to [-1, 1]. `src` needs no alignment. */
void lc_pcm_to_float(lc_sample_type t, const void *src, float *dst, size_t samples);

/* ---- WAV files (exposed so tools and the fuzzer use the same parser) --------------------- */
typedef struct lc_wav_info {
    lc_format format;
    lc_sample_type sample;
    uint64_t data_offset; /* byte offset of the first sample in the file */
    uint64_t data_bytes;  /* length of the data chunk (clamped to the file) */
    uint64_t frames;
} lc_wav_info;

/*
 * Parses a RIFF/WAVE header from the first `len` bytes of a file of `file_size` bytes: PCM 8/16/
 * 24/32, IEEE float32, WAVE_FORMAT_EXTENSIBLE of those. Never reads past `len`; rejects wrong
 * magic, truncation, absurd sizes, zero channels/rate and unsupported formats with LC_ERR_FORMAT
 * and a message. Returns 0 or a negative error.
 */
int lc_wav_parse(const uint8_t *buf, size_t len, uint64_t file_size, lc_wav_info *out,
                 char *errbuf, size_t errlen);

/* Writes a PCM16 or float32 WAV header for `frames` frames (tools and tests). 44 bytes. */
void lc_wav_header(uint8_t hdr[44], const lc_format *fmt, int float32, uint64_t frames);

#ifdef __cplusplus
}
#endif
#endif
