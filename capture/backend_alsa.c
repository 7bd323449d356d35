/*
 * backend_alsa.c — "alsa:DEVICE[?format=&rate=&channels=]" and "loopback[:SINK]", both through
 * alsa-lib, plus the ALSA half of "auto".
 *
 * Negotiation: the device's own offer wins. Without options we take the first of FLOAT_LE,
 * S32_LE, S16_LE, S24_LE, S24_3LE, U8 that the device accepts (for hw: devices that is their
 * native format; for plug/pulse devices every format is accepted and float loses nothing), 2
 * channels if possible else the device's minimum, and the rate nearest 48 kHz. Options force a
 * value and fail if the device refuses it (the deterministic tests rely on that).
 *
 * Timing: a ~10 ms period, a ~200 ms buffer, snd_pcm_wait ≤ 100 ms so stop is prompt, and
 * capture_ns = now − (delay + frames) / rate from snd_pcm_delay.
 *
 * Loss: -EPIPE/-ESTRPIPE are overruns/suspends, recovered in place with snd_pcm_recover and
 * counted as xruns (the core fills the hole with silence). Anything else — and a device that
 * delivers nothing for LC_ALSA_STALL_NS, which is how a dead PulseAudio looks through the pulse
 * plugin — is LC_ERR_DEVICE, and the core reopens with backoff.
 *
 * loopback = the ALSA "pulse" plugin device with DEVICE=@DEFAULT_MONITOR@ (the monitor of the
 * default sink; PipeWire's pulse server understands it too). We pass the source as a device
 * argument rather than setenv("PULSE_SOURCE"): setenv is not thread-safe and would silently
 * redirect every other pulse stream in the process. If the user set PULSE_SOURCE, plain "pulse"
 * is opened so libpulse honours it.
 */
#include "capture_internal.h"

#include <alsa/asoundlib.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define LC_ALSA_WAIT_MS 100
#define LC_ALSA_PERIOD_US 10000u
#define LC_ALSA_BUFFER_US 200000u
#define LC_ALSA_STALL_NS 4000000000ull

/* Set up by parse on the caller's thread; from then on touched by the capture thread only. */
typedef struct {
    char *device;
    unsigned seen;          /* LC_OPT_* the URI forced */
    lc_sample_type want_sample;
    lc_format want;
    snd_pcm_t *pcm;         /* NULL when closed */
    lc_sample_type sample;  /* negotiated */
    lc_format fmt;          /* negotiated */
    size_t frame_bytes;
    uint8_t *raw;           /* one chunk of device bytes; allocated in open */
    size_t raw_frames;
    uint64_t last_data_ns;  /* for the stall watchdog */
} lc_alsa;

static const struct {
    snd_pcm_format_t alsa;
    lc_sample_type lc;
} lc_alsa_formats[] = {
    {SND_PCM_FORMAT_FLOAT_LE, LC_SAMPLE_F32LE}, {SND_PCM_FORMAT_S32_LE, LC_SAMPLE_S32LE},
    {SND_PCM_FORMAT_S16_LE, LC_SAMPLE_S16LE},   {SND_PCM_FORMAT_S24_LE, LC_SAMPLE_S24_32LE},
    {SND_PCM_FORMAT_S24_3LE, LC_SAMPLE_S24LE},  {SND_PCM_FORMAT_U8, LC_SAMPLE_U8},
};
#define LC_ALSA_NFORMATS (sizeof lc_alsa_formats / sizeof lc_alsa_formats[0])

/* alsa-lib prints to stderr by default; probing for "auto" would spray "Connection refused"
 * there. Route it into our log at debug level instead (process-wide, set once). */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static void lc_alsa_errhandler(const char *file, int line, const char *function, int err,
                               const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    (void)file;
    (void)line;
    lc_log(LC_LOG_DEBUG, "alsa", "%s: %s%s%s", function, msg, err ? ": " : "",
           err ? snd_strerror(err) : "");
}

static pthread_once_t lc_alsa_once = PTHREAD_ONCE_INIT;
static void lc_alsa_init_once(void) { snd_lib_error_set_handler(lc_alsa_errhandler); }

static int alsa_parse_common(const char *backend, const char *device, const char *opts,
                             void **state, char *errbuf, size_t errlen)
{
    lc_alsa *a = calloc(1, sizeof *a);
    int rc;
    if (!a || !(a->device = strdup(device))) {
        rc = LC_ERR_NOMEM;
        lc_errf(errbuf, errlen, "%s: out of memory", backend);
        goto fail;
    }
    a->want = (lc_format){48000, 2};
    a->want_sample = LC_SAMPLE_F32LE;
    rc = lc_capture_parse_pcm_opts(backend, opts, &a->want_sample, &a->want, &a->seen, errbuf,
                                   errlen);
    if (rc < 0)
        goto fail;
    pthread_once(&lc_alsa_once, lc_alsa_init_once);
    *state = a;
    return 0;
fail:
    if (a)
        free(a->device);
    free(a);
    return rc;
}

static int alsa_parse(const char *arg, void **state, char *errbuf, size_t errlen)
{
    char dev[256];
    const char *q = arg ? strchr(arg, '?') : NULL;
    size_t n = arg ? (q ? (size_t)(q - arg) : strlen(arg)) : 0;
    if (n >= sizeof dev) {
        lc_errf(errbuf, errlen, "alsa: device name too long");
        return LC_ERR_URI;
    }
    if (n == 0)
        snprintf(dev, sizeof dev, "default");
    else
        snprintf(dev, sizeof dev, "%.*s", (int)n, arg);
    return alsa_parse_common("alsa", dev, q ? q + 1 : NULL, state, errbuf, errlen);
}

/* The ALSA device string for a pulse source; quoted because sink names contain '.' and '-'. */
static int lc_loopback_device(const char *sink, char *out, size_t len, char *errbuf,
                              size_t errlen)
{
    if (sink && *sink) {
        if (strpbrk(sink, "'\"\\{}$ ")) {
            lc_errf(errbuf, errlen, "loopback: bad sink name '%s'", sink);
            return LC_ERR_URI;
        }
        snprintf(out, len, "pulse:'%s.monitor'", sink);
    } else if (getenv("PULSE_SOURCE")) {
        snprintf(out, len, "pulse");
    } else {
        snprintf(out, len, "pulse:'@DEFAULT_MONITOR@'");
    }
    return 0;
}

static int loopback_parse(const char *arg, void **state, char *errbuf, size_t errlen)
{
    char dev[300];
    if (arg && strlen(arg) > 200) {
        lc_errf(errbuf, errlen, "loopback: sink name too long");
        return LC_ERR_URI;
    }
    if (strchr(arg ? arg : "", '?')) {
        lc_errf(errbuf, errlen, "loopback: takes no options (use alsa:pulse?... to force a "
                "format)");
        return LC_ERR_URI;
    }
    int rc = lc_loopback_device(arg, dev, sizeof dev, errbuf, errlen);
    if (rc < 0)
        return rc;
    return alsa_parse_common("loopback", dev, NULL, state, errbuf, errlen);
}

static void alsa_close(void *state)
{
    lc_alsa *a = state;
    if (a->pcm)
        snd_pcm_close(a->pcm);
    a->pcm = NULL;
    free(a->raw);
    a->raw = NULL;
}

static snd_pcm_format_t lc_to_alsa(lc_sample_type t)
{
    for (size_t i = 0; i < LC_ALSA_NFORMATS; i++)
        if (lc_alsa_formats[i].lc == t)
            return lc_alsa_formats[i].alsa;
    return SND_PCM_FORMAT_UNKNOWN;
}

/* Negotiates and applies hw params; fills a->sample/fmt. */
static int alsa_hw_setup(lc_alsa *a, char *errbuf, size_t errlen)
{
    snd_pcm_hw_params_t *hw;
    snd_pcm_hw_params_alloca(&hw);
    const char *step = "hw_params_any";
    int e = snd_pcm_hw_params_any(a->pcm, hw);
    if (e < 0)
        goto fail;
    step = "set_access(RW_INTERLEAVED)";
    if ((e = snd_pcm_hw_params_set_access(a->pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0)
        goto fail;

    step = "set_format";
    e = -EINVAL;
    if (a->seen & LC_OPT_FORMAT) {
        snd_pcm_format_t f = lc_to_alsa(a->want_sample);
        if (f != SND_PCM_FORMAT_UNKNOWN && (e = snd_pcm_hw_params_set_format(a->pcm, hw, f)) == 0)
            a->sample = a->want_sample;
    } else {
        for (size_t i = 0; i < LC_ALSA_NFORMATS && e < 0; i++)
            if (snd_pcm_hw_params_test_format(a->pcm, hw, lc_alsa_formats[i].alsa) == 0 &&
                (e = snd_pcm_hw_params_set_format(a->pcm, hw, lc_alsa_formats[i].alsa)) == 0)
                a->sample = lc_alsa_formats[i].lc;
    }
    if (e < 0)
        goto fail;

    step = "set_channels";
    unsigned ch = a->want.channels;
    if (a->seen & LC_OPT_CHANNELS) {
        e = snd_pcm_hw_params_set_channels(a->pcm, hw, ch);
    } else if (snd_pcm_hw_params_test_channels(a->pcm, hw, 2) == 0) {
        e = snd_pcm_hw_params_set_channels(a->pcm, hw, 2);
    } else {
        /* mono mics, 4/8-channel interfaces: take what the device has, the codec maps it */
        if ((e = snd_pcm_hw_params_get_channels_min(hw, &ch)) == 0)
            e = snd_pcm_hw_params_set_channels_near(a->pcm, hw, &ch);
    }
    if (e < 0)
        goto fail;

    step = "set_rate";
    unsigned rate = a->want.rate;
    if (a->seen & LC_OPT_RATE)
        e = snd_pcm_hw_params_set_rate(a->pcm, hw, rate, 0);
    else
        e = snd_pcm_hw_params_set_rate_near(a->pcm, hw, &rate, NULL);
    if (e < 0)
        goto fail;

    /* "near": a device with a fixed period size gets its own; any period works for us */
    unsigned period_us = LC_ALSA_PERIOD_US, buffer_us = LC_ALSA_BUFFER_US;
    (void)snd_pcm_hw_params_set_period_time_near(a->pcm, hw, &period_us, NULL);
    (void)snd_pcm_hw_params_set_buffer_time_near(a->pcm, hw, &buffer_us, NULL);
    step = "hw_params";
    if ((e = snd_pcm_hw_params(a->pcm, hw)) < 0)
        goto fail;
    snd_pcm_hw_params_get_channels(hw, &ch);
    snd_pcm_hw_params_get_rate(hw, &rate, NULL);
    snd_pcm_uframes_t period = 0, buffer = 0;
    snd_pcm_hw_params_get_period_size(hw, &period, NULL);
    snd_pcm_hw_params_get_buffer_size(hw, &buffer);
    lc_log(LC_LOG_DEBUG, "alsa", "'%s': period %lu frames, buffer %lu frames", a->device,
           (unsigned long)period, (unsigned long)buffer);
    a->fmt.rate = rate;
    a->fmt.channels = ch;
    return 0;
fail:
    lc_errf(errbuf, errlen, "alsa: '%s': %s failed: %s", a->device, step, snd_strerror(e));
    return LC_ERR_DEVICE;
}

static int alsa_open(void *state, lc_format *fmt, char *errbuf, size_t errlen)
{
    lc_alsa *a = state;
    int rc = LC_ERR_DEVICE;
    int e = snd_pcm_open(&a->pcm, a->device, SND_PCM_STREAM_CAPTURE, SND_PCM_NONBLOCK);
    if (e < 0) {
        a->pcm = NULL;
        lc_errf(errbuf, errlen, "alsa: cannot open capture device '%s': %s", a->device,
                snd_strerror(e));
        return LC_ERR_DEVICE;
    }
    if ((rc = alsa_hw_setup(a, errbuf, errlen)) < 0)
        goto fail;
    if (!lc_format_valid(&a->fmt)) {
        rc = LC_ERR_FORMAT;
        lc_errf(errbuf, errlen, "alsa: '%s' offers %u Hz, %u channels: unsupported", a->device,
                a->fmt.rate, a->fmt.channels);
        goto fail;
    }
    a->frame_bytes = lc_sample_bytes(a->sample) * a->fmt.channels;
    a->raw_frames = lc_capture_chunk_frames(a->fmt.rate);
    a->raw = malloc(a->raw_frames * a->frame_bytes);
    if (!a->raw) {
        rc = LC_ERR_NOMEM;
        lc_errf(errbuf, errlen, "alsa: out of memory");
        goto fail;
    }
    /* a capture stream does not run until started; start now so the first wait sees data */
    if ((e = snd_pcm_start(a->pcm)) < 0) {
        rc = LC_ERR_DEVICE;
        lc_errf(errbuf, errlen, "alsa: '%s': start failed: %s", a->device, snd_strerror(e));
        goto fail;
    }
    a->last_data_ns = lc_now_ns();
    lc_log(LC_LOG_DEBUG, "alsa", "'%s': %s, %u Hz, %u channels", a->device,
           lc_sample_name(a->sample), a->fmt.rate, a->fmt.channels);
    *fmt = a->fmt;
    return 0;
fail:
    alsa_close(a);
    return rc;
}

/* -EPIPE (overrun) and -ESTRPIPE (suspend) are recoverable in place; the rest is a loss. */
static int alsa_trouble(lc_alsa *a, int e, uint64_t *xruns, char *errbuf, size_t errlen)
{
    if (e == -EPIPE || e == -ESTRPIPE) {
        int r = snd_pcm_recover(a->pcm, e, 1);
        if (r == 0) {
            (*xruns)++;
            r = snd_pcm_start(a->pcm);
            if (r == 0 || r == -EBADFD) /* EBADFD: already running after a resume */
                return 0;
        }
        e = r;
    }
    lc_errf(errbuf, errlen, "alsa: '%s' lost: %s", a->device, snd_strerror(e));
    return LC_ERR_DEVICE;
}

static int alsa_read(void *state, lc_format *fmt, float *buf, size_t max_frames, size_t *frames,
                     uint64_t *capture_ns, uint64_t *xruns, char *errbuf, size_t errlen)
{
    lc_alsa *a = state;
    (void)fmt;
    *frames = 0;
    int w = snd_pcm_wait(a->pcm, LC_ALSA_WAIT_MS);
    if (w < 0)
        return alsa_trouble(a, w, xruns, errbuf, errlen);
    snd_pcm_uframes_t want = a->raw_frames < max_frames ? a->raw_frames : max_frames;
    snd_pcm_sframes_t n = w > 0 ? snd_pcm_readi(a->pcm, a->raw, want) : -EAGAIN;
    uint64_t now = lc_now_ns();
    if (n == -EAGAIN || n == 0) {
        if (now - a->last_data_ns > LC_ALSA_STALL_NS) {
            lc_errf(errbuf, errlen, "alsa: '%s' delivered nothing for %llu s (server gone or "
                    "device stalled)", a->device, LC_ALSA_STALL_NS / 1000000000ull);
            return LC_ERR_DEVICE;
        }
        return 0;
    }
    if (n < 0)
        return alsa_trouble(a, (int)n, xruns, errbuf, errlen);
    snd_pcm_sframes_t delay = 0;
    if (snd_pcm_delay(a->pcm, &delay) < 0 || delay < 0)
        delay = 0;
    lc_pcm_to_float(a->sample, a->raw, buf, (size_t)n * a->fmt.channels);
    uint64_t back = (uint64_t)(delay + n) * 1000000000ull / a->fmt.rate;
    *capture_ns = now > back ? now - back : 0;
    *frames = (size_t)n;
    a->last_data_ns = now;
    return 0;
}

static void alsa_destroy(void *state)
{
    lc_alsa *a = state;
    alsa_close(a);
    free(a->device);
    free(a);
}

/* Capture-capable PCMs from the hints (IOID NULL means both directions). */
static void alsa_list(FILE *out)
{
    void **hints = NULL;
    pthread_once(&lc_alsa_once, lc_alsa_init_once);
    if (snd_device_name_hint(-1, "pcm", &hints) < 0) {
        fprintf(out, "    (ALSA device hints unavailable)\n");
        return;
    }
    int any = 0;
    for (void **h = hints; *h; h++) {
        char *name = snd_device_name_get_hint(*h, "NAME");
        char *desc = snd_device_name_get_hint(*h, "DESC");
        char *io = snd_device_name_get_hint(*h, "IOID");
        if (name && (!io || !strcmp(io, "Input"))) {
            char *nl = desc ? strchr(desc, '\n') : NULL;
            if (nl)
                *nl = 0;
            fprintf(out, "    alsa:%-40s %s\n", name, desc ? desc : "");
            any = 1;
        }
        free(name);
        free(desc);
        free(io);
    }
    snd_device_name_free_hint(hints);
    if (!any)
        fprintf(out, "    (no ALSA capture devices)\n");
}

static int loopback_probe(char *why, size_t len);
static int alsa_default_probe(char *why, size_t len);

const lc_capture_backend lc_backend_alsa = {
    .name = "alsa",
    .usage = "alsa[:DEVICE][?format=&rate=&channels=]      an ALSA capture device (default, "
             "hw:1,0, pulse, ...)",
    .parse = alsa_parse,
    .open = alsa_open,
    .read = alsa_read,
    .close = alsa_close,
    .destroy = alsa_destroy,
    .list = alsa_list,
    /* no sound server: the card's default device */
    .auto_uri = "alsa:default",
    .auto_rank = 20,
    .probe = alsa_default_probe,
};

const lc_capture_backend lc_backend_loopback = {
    .name = "loopback",
    .usage = "loopback[:SINK]                               what the machine plays: the monitor "
             "of the default (or named) PulseAudio/PipeWire sink",
    .parse = loopback_parse,
    .open = alsa_open,
    .read = alsa_read,
    .close = alsa_close,
    .destroy = alsa_destroy,
    /* what the machine plays, when a sound server answers: auto's first choice on Linux */
    .auto_uri = "loopback",
    .auto_rank = 30,
    .probe = loopback_probe,
};

/* ---- auto ------------------------------------------------------------------------------- */

/* Is a pulse-protocol server (PulseAudio or pipewire-pulse) accepting connections? A plain
 * connect is enough and costs nothing; libpulse's own fallbacks (autospawn, X11 properties)
 * are exactly what we do not want to trigger from a daemon. */
static int lc_pulse_answers(char *why, size_t len)
{
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    const char *srv = getenv("PULSE_SERVER");
    if (srv && *srv) {
        size_t n = strcspn(srv, " ");
        if (n > 5 && !strncmp(srv, "unix:", 5))
            srv += 5, n -= 5;
        else if (srv[0] != '/')
            return 1; /* tcp:host etc.: let the real open decide */
        if (n >= sizeof path) {
            lc_errf(why, len, "PULSE_SERVER path too long");
            return 0;
        }
        snprintf(path, sizeof path, "%.*s", (int)n, srv);
    } else {
        const char *rt = getenv("XDG_RUNTIME_DIR");
        int w = rt && *rt ? snprintf(path, sizeof path, "%s/pulse/native", rt)
                          : snprintf(path, sizeof path, "/run/user/%u/pulse/native",
                                     (unsigned)getuid());
        if (w < 0 || (size_t)w >= sizeof path) {
            lc_errf(why, len, "XDG_RUNTIME_DIR too long");
            return 0;
        }
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        lc_errf(why, len, "socket: %s", strerror(errno));
        return 0;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (!ok)
        lc_errf(why, len, "no sound server at %s (%s)", path, strerror(errno));
    close(fd);
    return ok;
}

static int lc_alsa_probe(const char *dev, char *why, size_t len)
{
    snd_pcm_t *pcm;
    pthread_once(&lc_alsa_once, lc_alsa_init_once);
    int e = snd_pcm_open(&pcm, dev, SND_PCM_STREAM_CAPTURE, SND_PCM_NONBLOCK);
    if (e < 0) {
        lc_errf(why, len, "ALSA '%s' does not open (%s)", dev, snd_strerror(e));
        return 0;
    }
    snd_pcm_close(pcm);
    return 1;
}

static int loopback_probe(char *why, size_t len)
{
    char dev[64];
    if (!lc_pulse_answers(why, len))
        return 0;
    lc_loopback_device(NULL, dev, sizeof dev, why, len);
    return lc_alsa_probe(dev, why, len);
}

static int alsa_default_probe(char *why, size_t len) { return lc_alsa_probe("default", why, len); }
