/*
 * config.c — flags and environment variables into an lc_config (see config.h).
 *
 * One table lists every option once: its flag, its variable, its help line. Parsing collects the
 * raw text per option (environment first, then flags over it, remembering which one supplied
 * it), then validates each value once, naming its origin in the message. So a new option is one
 * table row plus one validation case, and --help can never forget one.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "platform.h"

typedef enum {
    O_SOURCE,
    O_BIND,
    O_PORT,
    O_STATE_DIR,
    O_FRAME_MS,
    O_BITRATE,
    O_COMPLEXITY,
    O_API_TOKEN,
    O_API_TOKEN_FILE,
    O_TLS_CERT,
    O_TLS_KEY,
    O_WEB_ROOT,
    O_LOG_FORMAT,
    O_MAX_LISTENERS,
    O_MAX_LAG_MS,
    O_MAX_SESSIONS,
    O_REDIRECT_PORT,
    O_TRUST_PROXY,
    O_ALLOW_ORIGIN,
    O_MAX_BODY,
    O_MAX_MSG_BYTES,
    O_MAX_MSG_RATE,
    O_MAX_CONNS_PER_IP,
    O_MDNS,
    O_SYNC_MS,
    O_STREAM,
    O_THREADS,
    O_ICECAST,
    O_RTP,
    O_RTP_SDP,
    O_COUNT_
} opt_id;

typedef struct opt {
    const char *flag, *env, *arg, *help;
} opt;

/* Repeatable flags keep every value (their variables: values separated by spaces). */
static bool repeatable(int id)
{
    return id == O_STREAM || id == O_ICECAST || id == O_RTP || id == O_RTP_SDP;
}

static const opt opts[O_COUNT_] = {
    [O_SOURCE] = {"--source", "LOOPCAST_SOURCE", "URI",
                  "what to capture (default auto; see --list-sources)"},
    [O_BIND] = {"--bind", "LOOPCAST_BIND", "ADDR",
                "IP address or interface name to listen on (default: all interfaces)"},
    [O_PORT] = {"--port", "LOOPCAST_PORT", "N", "TCP port, 1..65535 (default 8080)"},
    [O_STATE_DIR] = {"--state-dir", "LOOPCAST_STATE_DIR", "DIR",
                     "where sessions.json and api-token live"}, /* + the default, in usage() */
    [O_FRAME_MS] = {"--frame-ms", "LOOPCAST_FRAME_MS", "MS",
                    "Opus frame: 2.5, 5, 10, 20, 40 or 60 (default 20; <= 10: low delay)"},
    [O_BITRATE] = {"--bitrate", "LOOPCAST_BITRATE", "BPS",
                   "Opus bitrate in bits/s, 6000..510000 (default 128000)"},
    [O_COMPLEXITY] = {"--complexity", "LOOPCAST_COMPLEXITY", "N",
                      "Opus encoder complexity, 0..10 (default 10)"},
    [O_API_TOKEN] = {"--api-token", "LOOPCAST_API_TOKEN", "TOKEN",
                     "bearer token the JSON API requires (printable ASCII, no spaces)"},
    [O_API_TOKEN_FILE] = {"--api-token-file", "LOOPCAST_API_TOKEN_FILE", "FILE",
                          "read the API token from FILE (first line)"},
    [O_TLS_CERT] = {"--tls-cert", "LOOPCAST_TLS_CERT", "FILE",
                    "PEM certificate (chain): serve HTTPS/WSS (needs --tls-key)"},
    [O_TLS_KEY] = {"--tls-key", "LOOPCAST_TLS_KEY", "FILE", "PEM private key for --tls-cert"},
    [O_WEB_ROOT] = {"--web-root", "LOOPCAST_WEB_ROOT", "DIR",
                    "serve the pages from DIR instead of the built-in copy"},
    [O_LOG_FORMAT] = {"--log-format", "LOOPCAST_LOG_FORMAT", "text|json",
                      "log lines as text (default) or one JSON object per line"},
    [O_MAX_LISTENERS] = {"--max-listeners", "LOOPCAST_MAX_LISTENERS", "N",
                         "audio connections served at once, 1..100000 (default 4096)"},
    [O_SYNC_MS] = {"--sync-ms", "LOOPCAST_SYNC_MS", "MS",
                   "listeners play each sample this long after capture, all in step, 0..3000 "
                   "(default 0: each as early as it can)"},
    [O_MAX_LAG_MS] = {"--max-lag-ms", "LOOPCAST_MAX_LAG_MS", "MS",
                      "a listener further behind skips to live, 40..10000 (default 1000)"},
    [O_MAX_SESSIONS] = {"--max-sessions", "LOOPCAST_MAX_SESSIONS", "N",
                        "sessions remembered, 1..1000000 (default 1000; oldest unused evicted)"},
    [O_REDIRECT_PORT] = {"--redirect-port", "LOOPCAST_REDIRECT_PORT", "N",
                         "with TLS: also listen on plain-HTTP port N and redirect to HTTPS"},
    [O_TRUST_PROXY] = {"--trust-proxy", "LOOPCAST_TRUST_PROXY", "CIDRS",
                       "comma-separated proxy addresses (a.b.c.d[/n], v6 too) whose "
                       "X-Forwarded-For/-Proto are believed (default: none)"},
    [O_ALLOW_ORIGIN] = {"--allow-origin", "LOOPCAST_ALLOW_ORIGIN", "ORIGINS",
                        "WebSocket Origins allowed besides the page's own: comma-separated "
                        "scheme://host[:port], or * for any (default: same origin only)"},
    [O_MAX_BODY] = {"--max-body", "LOOPCAST_MAX_BODY", "BYTES",
                    "largest API request body, 256..1048576 (default 16384; more gets 413)"},
    [O_MAX_MSG_BYTES] = {"--max-msg-bytes", "LOOPCAST_MAX_MSG_BYTES", "BYTES",
                         "largest WebSocket control message, 64..65536 (default 4096; more "
                         "closes with 1009)"},
    [O_MAX_MSG_RATE] = {"--max-msg-rate", "LOOPCAST_MAX_MSG_RATE", "N",
                        "WebSocket control messages per second per connection, 1..10000 "
                        "(default 20, bursts of 2N; more closes with 1008)"},
    [O_MAX_CONNS_PER_IP] = {"--max-conns-per-ip", "LOOPCAST_MAX_CONNS_PER_IP", "N",
                            "open connections from one client address, 1..100000 (default 128; "
                            "more get 429)"},
    [O_STREAM] = {"--stream", "LOOPCAST_STREAMS", "NAME=URI",
                  "one more stream, repeatable (the variable: NAME=URI items separated by spaces); "
                  "with --stream, --source is needed to keep the stream 'default'"},
    [O_THREADS] = {"--threads", "LOOPCAST_THREADS", "N",
                   "service threads that fan the audio out, 1..64 (default: one per CPU this "
                   "process may use, at most 64; Windows: 1)"},
    [O_ICECAST] = {"--icecast", "LOOPCAST_ICECAST", "[NAME=]URL",
                   "push stream NAME (default: the first) to an Icecast 2.4+ server as Ogg/Opus: "
                   "icecast://source:PASSWORD@HOST:PORT/MOUNT, icecasts:// for TLS; repeatable "
                   "(the variable: items separated by spaces)"},
    [O_RTP] = {"--rtp", "LOOPCAST_RTP", "[NAME=]URL",
               "send stream NAME (default: the first) as Opus over RTP (RFC 7587) to "
               "rtp://HOST:PORT, RTCP sender reports to PORT+1, e.g. for a Janus streaming "
               "mountpoint; repeatable (the variable: items separated by spaces)"},
    [O_RTP_SDP] = {"--rtp-sdp", "LOOPCAST_RTP_SDP", "FILE",
                   "write the SDP of the --rtp target in the same position to FILE (for ffmpeg, "
                   "GStreamer, VLC); repeatable"},
    [O_MDNS] = {"--mdns", "LOOPCAST_MDNS", "on|off",
                "announce the page on the LAN by mDNS/DNS-SD as 'loopcast on HOST' (default on; "
                "Linux: avahi-daemon, Windows 10 1809+)"},
};

void lc_config_default(lc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->streams[0].name, sizeof cfg->streams[0].name, "default");
    snprintf(cfg->streams[0].uri, sizeof cfg->streams[0].uri, "auto");
    cfg->streams[0].from_source = true;
    cfg->n_streams = 1;
    cfg->port = 8080;
    cfg->frame_us = 20000;
    cfg->bitrate = 128000;
    cfg->complexity = 10;
    cfg->log_format = LC_LOG_TEXT;
    cfg->max_listeners = 4096;
    cfg->max_lag_ms = 1000;
    cfg->max_sessions = 1000;
    cfg->max_body = 16384;
    cfg->max_msg_bytes = 4096;
    cfg->max_msg_rate = 20;
    cfg->max_conns_per_ip = 128;
    cfg->mdns = true;
}

void lc_config_usage(FILE *out, const char *argv0)
{
    fprintf(out,
            "Usage: %s [OPTIONS]\n"
            "Streams the audio this machine captures to browsers: Opus over WebSocket.\n\n"
            "Every option also comes from its environment variable; a flag wins over it.\n"
            "Flags take their value as \"--flag VALUE\" or \"--flag=VALUE\".\n\n",
            argv0 ? argv0 : "loopcast");
    for (int i = 0; i < O_COUNT_; i++) {
        char left[64];
        snprintf(left, sizeof left, "%s %s", opts[i].flag, opts[i].arg);
        fprintf(out, "  %-28s %s%s%s%s\n  %-28s   env %s\n", left, opts[i].help,
                i == O_STATE_DIR ? " (default: " : "",
                i == O_STATE_DIR ? lc_plat_text(LC_TEXT_STATE_DIR) : "",
                i == O_STATE_DIR ? ")" : "", "", opts[i].env);
    }
    fprintf(out, "  %-28s %s\n", "--list-sources", "print the capture backends and devices, exit");
    fprintf(out, "  %-28s %s\n", "--service install|uninstall",
            "Windows: run as a Windows service with the other options given (docs/windows.md)");
    fprintf(out, "  %-28s %s\n", "--version", "print the version, exit");
    fprintf(out, "  %-28s %s\n", "-h, --help", "print this help, exit");
    fprintf(out, "\nSource URIs: auto (the best this machine has), or one of --list-sources\n"
                 "HTTP paths:  / (player), /admin, /stream (audio WebSocket), /api/v1/...,\n"
                 "             /healthz, /readyz, /metrics\n"
                 "Exit status: 0 after %s, 2 for a bad flag or value, 1 otherwise.\n",
            lc_plat_text(LC_TEXT_STOP));
}

static int parse_long(const char *s, long lo, long hi, long *out);

/* Copies the next comma-separated item of *p (spaces around it trimmed) into item; advances *p.
 * Returns the item's length, or -1 when it does not fit or the text is used up. */
static long next_item(const char **p, char *item, size_t cap)
{
    const char *s = *p;
    if (!*s)
        return -1;
    const char *comma = strchr(s, ',');
    const char *e = comma ? comma : s + strlen(s);
    *p = comma ? comma + 1 : e;
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    size_t n = (size_t)(e - s);
    if (n >= cap)
        n = cap - 1; /* truncated: the caller's parse of it fails and quotes it */
    memcpy(item, s, n);
    item[n] = '\0';
    return (long)n;
}

int lc_config_parse_cidrs(const char *text, lc_cidr *out, size_t cap, size_t *n, char *why,
                          size_t whylen)
{
    char item[64];
    *n = 0;
    if (!text || !*text) {
        lc_errf(why, whylen, "empty list");
        return LC_ERR_INVALID;
    }
    for (const char *p = text; next_item(&p, item, sizeof item) >= 0;) {
        lc_cidr c;
        memset(&c, 0, sizeof c);
        char *slash = strchr(item, '/');
        long prefix = -1;
        if (slash) {
            *slash = '\0';
            if (parse_long(slash + 1, 0, 128, &prefix))
                goto bad;
        }
        if (!(c.family = lc_plat_ip_parse(item, c.addr)))
            goto bad;
        long max = c.family == 4 ? 32 : 128;
        if (prefix > max)
            goto bad;
        c.prefix = (unsigned)(prefix < 0 ? max : prefix);
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (c.family == 6 && c.prefix >= 96 && !memcmp(c.addr, mapped, sizeof mapped)) {
            /* ::ffff:a.b.c.d[/n]: the IPv4 network, so it matches however the peer is written */
            memmove(c.addr, c.addr + 12, 4);
            memset(c.addr + 4, 0, 12);
            c.family = 4;
            c.prefix -= 96;
        }
        if (*n >= cap) {
            lc_errf(why, whylen, "more than %zu networks", cap);
            return LC_ERR_INVALID;
        }
        out[(*n)++] = c;
        continue;
    bad:
        if (slash)
            *slash = '/';
        lc_errf(why, whylen, "'%.40s' is not an IP address or address/prefix", item);
        return LC_ERR_INVALID;
    }
    if (*n == 0) {
        lc_errf(why, whylen, "empty list");
        return LC_ERR_INVALID;
    }
    return 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, whole))
        return false;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

bool lc_config_cidr_match(const lc_cidr *list, size_t n, const char *addr)
{
    uint8_t a4[16], a6[16];
    bool v4 = false, v6 = false;
    if (!addr)
        return false;
    if (lc_plat_ip_parse(addr, a4) == 4)
        v4 = true;
    else if (lc_plat_ip_parse(addr, a6) == 6) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        v6 = true;
        if (!memcmp(a6, mapped, sizeof mapped)) {
            memcpy(a4, a6 + 12, 4);
            v4 = true;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (list[i].family == 4 && v4 && prefix_equal(list[i].addr, a4, list[i].prefix))
            return true;
        if (list[i].family == 6 && v6 && prefix_equal(list[i].addr, a6, list[i].prefix))
            return true;
    }
    return false;
}

int lc_config_check_origins(const char *text, char *why, size_t whylen)
{
    char item[256];
    if (!text || !*text) {
        lc_errf(why, whylen, "empty list");
        return LC_ERR_INVALID;
    }
    if (!strcmp(text, "*"))
        return 0;
    for (const char *p = text; next_item(&p, item, sizeof item) >= 0;) {
        const char *host = !strncmp(item, "http://", 7)    ? item + 7
                           : !strncmp(item, "https://", 8) ? item + 8
                                                           : NULL;
        bool ok = host && *host && strlen(item) < sizeof item - 1;
        for (const char *c = host; ok && *c; c++)
            ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr(".-:[]", *c) ||
                 (*c >= 'A' && *c <= 'Z');
        if (!ok) {
            lc_errf(why, whylen, "'%.40s' is not an origin like https://host[:port] (or *)", item);
            return LC_ERR_INVALID;
        }
    }
    return 0;
}

/* Where a raw value came from, for messages: "--port" or "LOOPCAST_PORT". */
#define MAX_REPEAT 17 /* values kept of one repeatable flag: one more than any list holds, so the
                       * list's own check says "too many" */
typedef struct raw {
    const char *val;
    bool from_flag;
    const char *many[MAX_REPEAT]; /* a repeatable flag's values, in order */
    size_t n_many;
} raw;

static const char *origin(const raw *r, opt_id id)
{
    return r[id].from_flag ? opts[id].flag : opts[id].env;
}

static const char *env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (; envp && *envp; envp++)
        if (!strncmp(*envp, name, n) && (*envp)[n] == '=')
            return *envp + n + 1;
    return NULL;
}

/* Whole-string decimal integer in [lo, hi]. */
static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    if (!s || !*s || *s == ' ' || *s == '+')
        return LC_ERR_INVALID;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return LC_ERR_INVALID;
    *out = v;
    return 0;
}

/* An optional count option: *out = its value in [lo, hi], or 0 when it was not given (every
 * count option's range starts above 0). The message names the flag or variable. */
static int parse_count(const raw *r, opt_id id, long lo, long hi, long *out, char *errbuf,
                       size_t errlen)
{
    *out = 0;
    if (!r[id].val)
        return 0;
    if (parse_long(r[id].val, lo, hi, out)) {
        lc_errf(errbuf, errlen, "%s: '%s' is not a number in %ld..%ld", origin(r, id), r[id].val,
                lo, hi);
        return LC_ERR_INVALID;
    }
    return 0;
}

static int check_readable_file(const char *path, const char *name, char *errbuf, size_t errlen)
{
    char why[256] = "";
    lc_path_kind k = lc_plat_path_kind(path);
    if (k == LC_PATH_NONE) {
        lc_errf(errbuf, errlen, "%s: '%s': %s", name, path, *path ? "no such file" : "empty");
        return LC_ERR_INVALID;
    }
    if (k != LC_PATH_FILE) {
        lc_errf(errbuf, errlen, "%s: '%s' is not a regular file", name, path);
        return LC_ERR_INVALID;
    }
    if (lc_plat_path_access(path, LC_PATH_READ, why, sizeof why)) {
        lc_errf(errbuf, errlen, "%s: '%s' is not readable: %s", name, path, why);
        return LC_ERR_INVALID;
    }
    return 0;
}

/* The directory holding `path`: "." for a bare name, the root for a top-level entry ("/", "C:\\"). */
static void parent_dir(const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "%s", path);
    size_t n = strlen(out);
    while (n > 1 && strchr(LC_PLAT_PATH_SEPS, out[n - 1]))
        out[--n] = '\0';
    while (n && !strchr(LC_PLAT_PATH_SEPS, out[n - 1]))
        n--;
    if (n == 0) {
        snprintf(out, cap, ".");
        return;
    }
    while (n > 1 && strchr(LC_PLAT_PATH_SEPS, out[n - 1]) && out[n - 2] != ':')
        n--;
    out[n] = '\0';
}

/* Whether `dir` is a directory this process can create files in. */
static bool writable_dir(const char *dir)
{
    return lc_plat_path_kind(dir) == LC_PATH_DIR &&
           lc_plat_path_access(dir, LC_PATH_WRITE, NULL, 0) == 0;
}

static int check_token(const char *tok, const char *name, char *errbuf, size_t errlen)
{
    size_t n = strlen(tok);
    if (n == 0 || n > LC_CONFIG_TOKEN_MAX) {
        lc_errf(errbuf, errlen, "%s: the token must be 1..%d characters", name,
                LC_CONFIG_TOKEN_MAX);
        return LC_ERR_INVALID;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)tok[i] < 0x21 || (unsigned char)tok[i] > 0x7e) {
            lc_errf(errbuf, errlen, "%s: the token must be printable ASCII without spaces", name);
            return LC_ERR_INVALID;
        }
    return 0;
}

/* The first line of FILE, trailing CR/LF/spaces removed, into cfg->api_token. */
static int read_token_file(lc_config *cfg, const char *path, const char *name, char *errbuf,
                           size_t errlen)
{
    char buf[LC_CONFIG_TOKEN_MAX + 2];
    if (check_readable_file(path, name, errbuf, errlen))
        return LC_ERR_INVALID;
    FILE *f = fopen(path, "r");
    if (!f) {
        lc_errf(errbuf, errlen, "%s: '%s': %s", name, path, strerror(errno));
        return LC_ERR_INVALID;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *nl = strpbrk(buf, "\r\n");
    if (nl)
        *nl = '\0';
    else if (n > LC_CONFIG_TOKEN_MAX) {
        lc_errf(errbuf, errlen, "%s: '%s': token longer than %d characters", name, path,
                LC_CONFIG_TOKEN_MAX);
        return LC_ERR_INVALID;
    }
    n = strlen(buf);
    while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        buf[--n] = '\0';
    if (check_token(buf, name, errbuf, errlen))
        return LC_ERR_INVALID;
    memcpy(cfg->api_token, buf, n + 1);
    cfg->api_token_file = path;
    return 0;
}

/* The plain count options: flag, range, and the lc_config field (unsigned or size_t) it sets. */
static const struct {
    opt_id id;
    long lo, hi;
    size_t offset;
    bool is_size_t;
} counts[] = {
    {O_MAX_LISTENERS, 1, 100000, offsetof(lc_config, max_listeners), false},
    {O_MAX_LAG_MS, 40, 10000, offsetof(lc_config, max_lag_ms), false},
    {O_MAX_SESSIONS, 1, 1000000, offsetof(lc_config, max_sessions), true},
    {O_MAX_BODY, 256, 1048576, offsetof(lc_config, max_body), true},
    {O_MAX_MSG_BYTES, 64, 65536, offsetof(lc_config, max_msg_bytes), false},
    {O_MAX_MSG_RATE, 1, 10000, offsetof(lc_config, max_msg_rate), false},
    {O_MAX_CONNS_PER_IP, 1, 100000, offsetof(lc_config, max_conns_per_ip), false},
    {O_SYNC_MS, 0, 3000, offsetof(lc_config, sync_ms), false},
    {O_THREADS, 1, LC_CONFIG_MAX_THREADS, offsetof(lc_config, threads), false},
};

bool lc_config_stream_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > LC_STREAM_NAME_MAX)
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '.' || *c == '-'))
            return false;
    return true;
}

/* Appends one NAME=URI (`len` bytes of `item`) to cfg->streams; `who` names the flag or variable. */
static int add_stream(lc_config *cfg, const char *item, size_t len, const char *who, char *errbuf,
                      size_t errlen)
{
    const char *eq = memchr(item, '=', len);
    size_t nlen = eq ? (size_t)(eq - item) : 0;
    char name[LC_STREAM_NAME_MAX + 2];
    if (!eq || nlen == 0 || nlen > LC_STREAM_NAME_MAX) {
        lc_errf(errbuf, errlen, "%s: '%.*s' is not NAME=URI (a name of 1..%d characters)", who,
                (int)(len > 60 ? 60 : len), item, LC_STREAM_NAME_MAX);
        return LC_ERR_INVALID;
    }
    memcpy(name, item, nlen);
    name[nlen] = '\0';
    size_t ulen = len - nlen - 1;
    if (!lc_config_stream_name_valid(name)) {
        lc_errf(errbuf, errlen, "%s: stream name '%s' may use only letters, digits, '_', '.' and "
                "'-'", who, name);
        return LC_ERR_INVALID;
    }
    if (ulen == 0 || ulen >= LC_STREAM_URI_MAX) {
        lc_errf(errbuf, errlen, "%s: stream '%s' needs a source URI of 1..%d bytes", who, name,
                LC_STREAM_URI_MAX - 1);
        return LC_ERR_INVALID;
    }
    for (size_t i = 0; i < cfg->n_streams; i++)
        if (!strcmp(cfg->streams[i].name, name)) {
            lc_errf(errbuf, errlen, "%s: stream '%s' is named twice%s", who, name,
                    strcmp(name, "default") ? "" : " (--source is the stream 'default')");
            return LC_ERR_INVALID;
        }
    if (cfg->n_streams == LC_CONFIG_MAX_STREAMS) {
        lc_errf(errbuf, errlen, "%s: more than %d streams", who, LC_CONFIG_MAX_STREAMS);
        return LC_ERR_INVALID;
    }
    lc_stream_def *d = &cfg->streams[cfg->n_streams++];
    d->from_source = false;
    memcpy(d->name, name, nlen + 1);
    memcpy(d->uri, eq + 1, ulen);
    d->uri[ulen] = '\0';
    return 0;
}

typedef int (*item_fn)(lc_config *cfg, const char *item, size_t len, const char *who,
                       char *errbuf, size_t errlen);

/* Hands each value of a repeatable option to fn, in order: every flag given, or, when none was,
 * each item of its variable (separated by spaces or tabs). */
static int each_value(lc_config *cfg, const raw *r, opt_id id, item_fn fn, char *errbuf,
                      size_t errlen)
{
    for (size_t i = 0; i < r[id].n_many; i++)
        if (fn(cfg, r[id].many[i], strlen(r[id].many[i]), opts[id].flag, errbuf, errlen))
            return LC_ERR_INVALID;
    for (const char *p = r[id].n_many ? NULL : r[id].val; p && *p;) {
        p += strspn(p, " \t");
        size_t n = strcspn(p, " \t");
        if (n && fn(cfg, p, n, opts[id].env, errbuf, errlen))
            return LC_ERR_INVALID;
        p += n;
    }
    return 0;
}

/* The stream list: --source (or its variable) as "default" first, then every --stream flag, or,
 * when no --stream flag was given, the items of LOOPCAST_STREAMS. Nothing at all: default=auto
 * (lc_config_default). Each URI is checked later, by lc_capture_open. */
static int build_streams(lc_config *cfg, const raw *r, char *errbuf, size_t errlen)
{
    if (!r[O_SOURCE].val && !r[O_STREAM].n_many && !r[O_STREAM].val)
        return 0;
    cfg->n_streams = 0;
    if (r[O_SOURCE].val) {
        const char *u = r[O_SOURCE].val;
        if (!*u || strlen(u) >= LC_STREAM_URI_MAX) {
            lc_errf(errbuf, errlen, "%s: %s source URI", origin(r, O_SOURCE),
                    *u ? "an overlong" : "empty");
            return LC_ERR_INVALID;
        }
        snprintf(cfg->streams[0].name, sizeof cfg->streams[0].name, "default");
        snprintf(cfg->streams[0].uri, sizeof cfg->streams[0].uri, "%s", u);
        cfg->streams[0].from_source = true;
        cfg->n_streams = 1;
    }
    if (each_value(cfg, r, O_STREAM, add_stream, errbuf, errlen))
        return LC_ERR_INVALID;
    if (!cfg->n_streams) {
        lc_errf(errbuf, errlen, "%s: no NAME=URI in it", opts[O_STREAM].env);
        return LC_ERR_INVALID;
    }
    return 0;
}

/* Splits one [NAME=]URL item of --icecast/--rtp into buf: *url, and *stream = the named stream's
 * name (defined before: streams are built first) or the first stream's. */
static int split_output(lc_config *cfg, const char *item, size_t len, const char *scheme,
                        const char *who, char *buf, size_t cap, const char **url,
                        const char **stream, char *errbuf, size_t errlen)
{
    if (len >= cap) {
        lc_errf(errbuf, errlen, "%s: the URL is longer than %zu bytes", who, cap - 1);
        return LC_ERR_INVALID;
    }
    memcpy(buf, item, len);
    buf[len] = '\0';
    *url = buf;
    *stream = cfg->streams[0].name;
    char *eq = strchr(buf, '=');
    if (strncmp(buf, scheme, strlen(scheme)) && eq) { /* NAME=URL: a scheme holds no '=' */
        *eq = '\0';
        *url = eq + 1;
        size_t i = 0;
        while (i < cfg->n_streams && strcmp(cfg->streams[i].name, buf))
            i++;
        if (i == cfg->n_streams) {
            lc_errf(errbuf, errlen, "%s: no stream called '%.32s' (--stream NAME=URI defines one)",
                    who, buf);
            return LC_ERR_INVALID;
        }
        *stream = cfg->streams[i].name;
    }
    return 0;
}

/* One --icecast [NAME=]URL: the URL checked now (a typo exits at start-up, naming the flag). */
static int add_icecast(lc_config *cfg, const char *item, size_t len, const char *who,
                       char *errbuf, size_t errlen)
{
    char buf[LC_STREAM_NAME_MAX + 2 + LC_ICECAST_URL_MAX], why[200];
    const char *url, *stream;
    if (split_output(cfg, item, len, "icecast", who, buf, sizeof buf, &url, &stream, errbuf,
                     errlen))
        return LC_ERR_INVALID;
    if (cfg->n_icecast == LC_CONFIG_MAX_OUTPUTS) {
        lc_errf(errbuf, errlen, "%s: more than %d targets", who, LC_CONFIG_MAX_OUTPUTS);
        return LC_ERR_INVALID;
    }
    lc_output_def *o = &cfg->icecast[cfg->n_icecast];
    if (lc_icecast_url_parse(url, &o->url, why, sizeof why)) {
        lc_errf(errbuf, errlen, "%s: %s", who, why);
        return LC_ERR_INVALID;
    }
    if (!lc_icecast_available()) {
        lc_errf(errbuf, errlen, "%s: this build has no Icecast support (it was built without "
                "libshout)", who);
        return LC_ERR_UNSUPPORTED;
    }
    memcpy(o->stream, stream, strlen(stream) + 1); /* a stream's name: fits */
    cfg->n_icecast++;
    return 0;
}

/* One --rtp [NAME=]rtp://HOST:PORT. */
static int add_rtp(lc_config *cfg, const char *item, size_t len, const char *who, char *errbuf,
                   size_t errlen)
{
    char buf[LC_STREAM_NAME_MAX + 2 + 320], why[200];
    const char *url, *stream;
    if (split_output(cfg, item, len, "rtp", who, buf, sizeof buf, &url, &stream, errbuf, errlen))
        return LC_ERR_INVALID;
    if (cfg->n_rtp == LC_CONFIG_MAX_OUTPUTS) {
        lc_errf(errbuf, errlen, "%s: more than %d targets", who, LC_CONFIG_MAX_OUTPUTS);
        return LC_ERR_INVALID;
    }
    lc_rtp_def *o = &cfg->rtp[cfg->n_rtp];
    if (lc_rtp_url_parse(url, &o->url, why, sizeof why)) {
        lc_errf(errbuf, errlen, "%s: %s", who, why);
        return LC_ERR_INVALID;
    }
    memcpy(o->stream, stream, strlen(stream) + 1);
    cfg->n_rtp++;
    return 0;
}

/* One --rtp-sdp FILE: the SDP of the --rtp target in the same position. */
static int add_rtp_sdp(lc_config *cfg, const char *item, size_t len, const char *who,
                       char *errbuf, size_t errlen)
{
    if (cfg->n_rtp_sdp == cfg->n_rtp) {
        lc_errf(errbuf, errlen, "%s: more files than --rtp targets (%zu): they pair in order", who,
                cfg->n_rtp);
        return LC_ERR_INVALID;
    }
    char *dst = cfg->rtp[cfg->n_rtp_sdp].sdp;
    if (!len || len >= sizeof cfg->rtp[0].sdp) {
        lc_errf(errbuf, errlen, "%s: %s path", who, len ? "an overlong" : "an empty");
        return LC_ERR_INVALID;
    }
    memcpy(dst, item, len);
    dst[len] = '\0';
    cfg->n_rtp_sdp++;
    return 0;
}

static int validate(lc_config *cfg, const raw *r, char *errbuf, size_t errlen)
{
    long v;
    const char *name;

    if (build_streams(cfg, r, errbuf, errlen) ||
        each_value(cfg, r, O_ICECAST, add_icecast, errbuf, errlen) ||
        each_value(cfg, r, O_RTP, add_rtp, errbuf, errlen) ||
        each_value(cfg, r, O_RTP_SDP, add_rtp_sdp, errbuf, errlen))
        return LC_ERR_INVALID;
    if ((name = origin(r, O_BIND)), r[O_BIND].val) {
        const char *b = r[O_BIND].val;
        uint8_t addr[16];
        if (!*b || (!lc_plat_ip_parse(b, addr) && !lc_plat_if_exists(b))) {
            lc_errf(errbuf, errlen, "%s: '%s' is neither an IP address nor an interface name",
                    name, b);
            return LC_ERR_INVALID;
        }
        cfg->bind = b;
    }
    if ((name = origin(r, O_PORT)), r[O_PORT].val) {
        if (parse_long(r[O_PORT].val, 1, 65535, &v)) {
            lc_errf(errbuf, errlen, "%s: '%s' is not a port number (1..65535)", name,
                    r[O_PORT].val);
            return LC_ERR_INVALID;
        }
        cfg->port = (int)v;
    }
    if ((name = origin(r, O_STATE_DIR)), r[O_STATE_DIR].val) {
        const char *d = r[O_STATE_DIR].val;
        if (!*d) {
            lc_errf(errbuf, errlen, "%s: empty path", name);
            return LC_ERR_INVALID;
        }
        if (lc_plat_path_kind(d) != LC_PATH_NONE) {
            if (!writable_dir(d)) {
                lc_errf(errbuf, errlen, "%s: '%s' is not a writable directory", name, d);
                return LC_ERR_INVALID;
            }
        } else {
            /* It will be created at start-up: its parent must be there. */
            char parent[4096];
            parent_dir(d, parent, sizeof parent);
            if (!writable_dir(parent)) {
                lc_errf(errbuf, errlen, "%s: '%s' does not exist and cannot be created in '%s'",
                        name, d, parent);
                return LC_ERR_INVALID;
            }
        }
        cfg->state_dir = d;
    }
    if ((name = origin(r, O_FRAME_MS)), r[O_FRAME_MS].val) {
        if (lc_opus_parse_frame_ms(r[O_FRAME_MS].val, &cfg->frame_us)) {
            lc_errf(errbuf, errlen, "%s: '%s' is not a frame length (2.5, 5, 10, 20, 40 or 60)",
                    name, r[O_FRAME_MS].val);
            return LC_ERR_INVALID;
        }
    }
    if ((name = origin(r, O_BITRATE)), r[O_BITRATE].val) {
        if (parse_long(r[O_BITRATE].val, 6000, 510000, &v)) {
            lc_errf(errbuf, errlen, "%s: '%s' is not a bitrate in 6000..510000 bits/s", name,
                    r[O_BITRATE].val);
            return LC_ERR_INVALID;
        }
        cfg->bitrate = (int32_t)v;
    }
    if ((name = origin(r, O_COMPLEXITY)), r[O_COMPLEXITY].val) {
        if (parse_long(r[O_COMPLEXITY].val, 0, 10, &v)) {
            lc_errf(errbuf, errlen, "%s: '%s' is not a complexity in 0..10", name,
                    r[O_COMPLEXITY].val);
            return LC_ERR_INVALID;
        }
        cfg->complexity = (int)v;
    }
    /* Token: both sources at the winning level is ambiguous; a flag level hides the env. */
    if (r[O_API_TOKEN].val && r[O_API_TOKEN_FILE].val) {
        lc_errf(errbuf, errlen, "%s and %s: give one, not both", origin(r, O_API_TOKEN),
                origin(r, O_API_TOKEN_FILE));
        return LC_ERR_INVALID;
    }
    if (r[O_API_TOKEN].val) {
        if (check_token(r[O_API_TOKEN].val, origin(r, O_API_TOKEN), errbuf, errlen))
            return LC_ERR_INVALID;
        snprintf(cfg->api_token, sizeof cfg->api_token, "%s", r[O_API_TOKEN].val);
    }
    if (r[O_API_TOKEN_FILE].val &&
        read_token_file(cfg, r[O_API_TOKEN_FILE].val, origin(r, O_API_TOKEN_FILE), errbuf, errlen))
        return LC_ERR_INVALID;
    if (r[O_TLS_CERT].val || r[O_TLS_KEY].val) {
        if (!r[O_TLS_CERT].val || !r[O_TLS_KEY].val) {
            lc_errf(errbuf, errlen, "%s needs %s too", r[O_TLS_CERT].val ? origin(r, O_TLS_CERT)
                                                                        : origin(r, O_TLS_KEY),
                    r[O_TLS_CERT].val ? "--tls-key" : "--tls-cert");
            return LC_ERR_INVALID;
        }
        if (check_readable_file(r[O_TLS_CERT].val, origin(r, O_TLS_CERT), errbuf, errlen) ||
            check_readable_file(r[O_TLS_KEY].val, origin(r, O_TLS_KEY), errbuf, errlen))
            return LC_ERR_INVALID;
        cfg->tls_cert = r[O_TLS_CERT].val;
        cfg->tls_key = r[O_TLS_KEY].val;
    }
    if ((name = origin(r, O_WEB_ROOT)), r[O_WEB_ROOT].val) {
        const char *d = r[O_WEB_ROOT].val;
        if (lc_plat_path_kind(d) != LC_PATH_DIR || lc_plat_path_access(d, LC_PATH_READ, NULL, 0)) {
            lc_errf(errbuf, errlen, "%s: '%s' is not a readable directory", name, d);
            return LC_ERR_INVALID;
        }
        cfg->web_root = r[O_WEB_ROOT].val;
    }
    if ((name = origin(r, O_LOG_FORMAT)), r[O_LOG_FORMAT].val) {
        if (lc_log_parse_format(r[O_LOG_FORMAT].val, &cfg->log_format)) {
            lc_errf(errbuf, errlen, "%s: '%s' is not text or json", name, r[O_LOG_FORMAT].val);
            return LC_ERR_INVALID;
        }
    }
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        if (parse_count(r, counts[i].id, counts[i].lo, counts[i].hi, &v, errbuf, errlen))
            return LC_ERR_INVALID;
        if (!v)
            continue;
        void *field = (char *)cfg + counts[i].offset;
        if (counts[i].is_size_t)
            *(size_t *)field = (size_t)v;
        else
            *(unsigned *)field = (unsigned)v;
    }
    if (parse_count(r, O_REDIRECT_PORT, 1, 65535, &v, errbuf, errlen))
        return LC_ERR_INVALID;
    if (v) {
        if (!cfg->tls_cert) {
            lc_errf(errbuf, errlen, "%s: a redirect to HTTPS needs --tls-cert and --tls-key",
                    origin(r, O_REDIRECT_PORT));
            return LC_ERR_INVALID;
        }
        if (v == cfg->port) {
            lc_errf(errbuf, errlen, "%s: %ld is already the HTTPS port", origin(r, O_REDIRECT_PORT),
                    v);
            return LC_ERR_INVALID;
        }
        cfg->redirect_port = (int)v;
    }
    if (r[O_TRUST_PROXY].val) {
        char why[96];
        if (lc_config_parse_cidrs(r[O_TRUST_PROXY].val, cfg->trust_proxy, LC_CONFIG_MAX_CIDRS,
                                  &cfg->n_trust_proxy, why, sizeof why)) {
            lc_errf(errbuf, errlen, "%s: %s", origin(r, O_TRUST_PROXY), why);
            return LC_ERR_INVALID;
        }
    }
    if (r[O_ALLOW_ORIGIN].val) {
        char why[96];
        if (lc_config_check_origins(r[O_ALLOW_ORIGIN].val, why, sizeof why)) {
            lc_errf(errbuf, errlen, "%s: %s", origin(r, O_ALLOW_ORIGIN), why);
            return LC_ERR_INVALID;
        }
        cfg->allow_origin = r[O_ALLOW_ORIGIN].val;
    }
    if (r[O_MDNS].val) {
        if (strcmp(r[O_MDNS].val, "on") && strcmp(r[O_MDNS].val, "off")) {
            lc_errf(errbuf, errlen, "%s: '%s' is not on or off", origin(r, O_MDNS), r[O_MDNS].val);
            return LC_ERR_INVALID;
        }
        cfg->mdns = !strcmp(r[O_MDNS].val, "on");
    }
    return 0;
}

int lc_config_parse(lc_config *cfg, int argc, char *const *argv, char *const *envp, char *errbuf,
                    size_t errlen)
{
    raw r[O_COUNT_];
    memset(r, 0, sizeof r);
    lc_config_default(cfg);

    for (int i = 0; i < O_COUNT_; i++)
        r[i].val = env_get(envp, opts[i].env);

    bool token_flag = false;
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            cfg->help = true;
            continue;
        }
        if (!strcmp(arg, "--version")) {
            cfg->version = true;
            continue;
        }
        if (!strcmp(arg, "--list-sources")) {
            cfg->list_sources = true;
            continue;
        }
        if (!strcmp(arg, "--service") || !strncmp(arg, "--service=", 10)) {
            const char *v = arg[9] == '=' ? arg + 10 : a + 1 < argc ? argv[++a] : "";
            if (!strcmp(v, "install"))
                cfg->service = LC_SERVICE_INSTALL;
            else if (!strcmp(v, "uninstall"))
                cfg->service = LC_SERVICE_UNINSTALL;
            else if (!strcmp(v, "run"))
                cfg->service = LC_SERVICE_RUN;
            else {
                lc_errf(errbuf, errlen, "--service: '%s' is not install, uninstall or run", v);
                return LC_ERR_INVALID;
            }
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            lc_errf(errbuf, errlen, "unexpected argument '%s' (see --help)", arg);
            return LC_ERR_INVALID;
        }
        const char *eq = strchr(arg, '=');
        size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        int id = -1;
        for (int i = 0; i < O_COUNT_; i++)
            if (strlen(opts[i].flag) == nlen && !strncmp(arg, opts[i].flag, nlen))
                id = i;
        if (id < 0) {
            lc_errf(errbuf, errlen, "unknown flag '%.*s' (see --help)", (int)nlen, arg);
            return LC_ERR_INVALID;
        }
        const char *val = eq ? eq + 1 : NULL;
        if (!val) {
            if (a + 1 >= argc) {
                lc_errf(errbuf, errlen, "%s: needs a value (%s)", opts[id].flag, opts[id].arg);
                return LC_ERR_INVALID;
            }
            val = argv[++a];
        }
        if (repeatable(id)) {
            if (r[id].n_many == MAX_REPEAT) {
                lc_errf(errbuf, errlen, "%s: given more than %d times", opts[id].flag,
                        MAX_REPEAT - 1);
                return LC_ERR_INVALID;
            }
            r[id].many[r[id].n_many++] = val;
            r[id].from_flag = true;
            continue;
        }
        r[id].val = val;
        r[id].from_flag = true;
        if (id == O_API_TOKEN || id == O_API_TOKEN_FILE)
            token_flag = true;
    }
    /* A token given on the command line hides both token variables, so a stale
     * LOOPCAST_API_TOKEN in the environment never collides with --api-token-file. */
    if (token_flag) {
        if (!r[O_API_TOKEN].from_flag)
            r[O_API_TOKEN].val = NULL;
        if (!r[O_API_TOKEN_FILE].from_flag)
            r[O_API_TOKEN_FILE].val = NULL;
    }
    if (cfg->help || cfg->version)
        return 0; /* nothing else matters, and a bad env must not hide --help */
    return validate(cfg, r, errbuf, errlen);
}
