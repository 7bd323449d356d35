/*
 * config.c — flags and environment variables into an lc_config (see config.h).
 *
 * One table lists every option once: its flag, its variable, its help line. Parsing collects the
 * raw text per option (environment first, then flags over it, remembering which one supplied
 * it), then validates each value once, naming its origin in the message. So a new option is one
 * table row plus one validation case, and --help can never forget one.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"

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
    O_COUNT_
} opt_id;

typedef struct opt {
    const char *flag, *env, *arg, *help;
} opt;

static const opt opts[O_COUNT_] = {
    [O_SOURCE] = {"--source", "LOOPCAST_SOURCE", "URI",
                  "what to capture (default auto; see --list-sources)"},
    [O_BIND] = {"--bind", "LOOPCAST_BIND", "ADDR",
                "IP address or interface name to listen on (default: all interfaces)"},
    [O_PORT] = {"--port", "LOOPCAST_PORT", "N", "TCP port, 1..65535 (default 8080)"},
    [O_STATE_DIR] = {"--state-dir", "LOOPCAST_STATE_DIR", "DIR",
                     "where sessions.json and api-token live (default: $XDG_STATE_HOME/loopcast "
                     "or ~/.local/state/loopcast)"},
    [O_FRAME_MS] = {"--frame-ms", "LOOPCAST_FRAME_MS", "MS",
                    "Opus frame: 2.5, 5, 10, 20, 40 or 60 (default 20)"},
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
    [O_MAX_LAG_MS] = {"--max-lag-ms", "LOOPCAST_MAX_LAG_MS", "MS",
                      "a listener further behind skips to live, 40..10000 (default 1000)"},
    [O_MAX_SESSIONS] = {"--max-sessions", "LOOPCAST_MAX_SESSIONS", "N",
                        "sessions remembered, 1..1000000 (default 1000; oldest unused evicted)"},
};

void lc_config_default(lc_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->source = "auto";
    cfg->port = 8080;
    cfg->frame_us = 20000;
    cfg->bitrate = 128000;
    cfg->complexity = 10;
    cfg->log_format = LC_LOG_TEXT;
    cfg->max_listeners = 4096;
    cfg->max_lag_ms = 1000;
    cfg->max_sessions = 1000;
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
        fprintf(out, "  %-28s %s\n  %-28s   env %s\n", left, opts[i].help, "", opts[i].env);
    }
    fprintf(out, "  %-28s %s\n", "--list-sources", "print the capture backends and devices, exit");
    fprintf(out, "  %-28s %s\n", "--version", "print the version, exit");
    fprintf(out, "  %-28s %s\n", "-h, --help", "print this help, exit");
    fprintf(out, "\nSource URIs: auto, loopback, alsa:DEVICE, "
                 "pipe:PATH|-?format=s16le&rate=48000&channels=2,\n"
                 "             file:PATH.wav, tone:FREQ\n"
                 "HTTP paths:  / (player), /admin, /stream (audio WebSocket), /api/v1/...,\n"
                 "             /healthz, /readyz, /metrics\n"
                 "Exit status: 0 after SIGTERM/SIGINT, 2 for a bad flag or value, 1 otherwise.\n");
}

/* Where a raw value came from, for messages: "--port" or "LOOPCAST_PORT". */
typedef struct raw {
    const char *val;
    bool from_flag;
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

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int check_readable_file(const char *path, const char *name, char *errbuf, size_t errlen)
{
    struct stat st;
    if (!*path || stat(path, &st) != 0) {
        lc_errf(errbuf, errlen, "%s: '%s': %s", name, path, *path ? strerror(errno) : "empty");
        return LC_ERR_INVALID;
    }
    if (!S_ISREG(st.st_mode)) {
        lc_errf(errbuf, errlen, "%s: '%s' is not a regular file", name, path);
        return LC_ERR_INVALID;
    }
    if (access(path, R_OK) != 0) {
        lc_errf(errbuf, errlen, "%s: '%s' is not readable: %s", name, path, strerror(errno));
        return LC_ERR_INVALID;
    }
    return 0;
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

static int validate(lc_config *cfg, const raw *r, char *errbuf, size_t errlen)
{
    long v;
    const char *name;

    if (r[O_SOURCE].val) {
        if (!*r[O_SOURCE].val) {
            lc_errf(errbuf, errlen, "%s: empty source URI", origin(r, O_SOURCE));
            return LC_ERR_INVALID;
        }
        cfg->source = r[O_SOURCE].val; /* the URI itself is checked by lc_capture_open */
    }
    if ((name = origin(r, O_BIND)), r[O_BIND].val) {
        const char *b = r[O_BIND].val;
        unsigned char addr[16];
        if (!*b || (inet_pton(AF_INET, b, addr) != 1 && inet_pton(AF_INET6, b, addr) != 1 &&
                    if_nametoindex(b) == 0)) {
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
        struct stat st;
        if (!*d) {
            lc_errf(errbuf, errlen, "%s: empty path", name);
            return LC_ERR_INVALID;
        }
        if (stat(d, &st) == 0) {
            if (!S_ISDIR(st.st_mode) || access(d, W_OK | X_OK) != 0) {
                lc_errf(errbuf, errlen, "%s: '%s' is not a writable directory", name, d);
                return LC_ERR_INVALID;
            }
        } else {
            /* It will be created at start-up: its parent must be there. */
            char parent[PATH_MAX];
            snprintf(parent, sizeof parent, "%s", d);
            size_t n = strlen(parent);
            while (n > 1 && parent[n - 1] == '/')
                parent[--n] = '\0';
            char *slash = strrchr(parent, '/');
            if (slash == parent)
                parent[1] = '\0';
            else if (slash)
                *slash = '\0';
            else
                snprintf(parent, sizeof parent, ".");
            if (!is_dir(parent) || access(parent, W_OK | X_OK) != 0) {
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
        DIR *d = *r[O_WEB_ROOT].val ? opendir(r[O_WEB_ROOT].val) : NULL;
        if (!d) {
            lc_errf(errbuf, errlen, "%s: '%s' is not a readable directory", name,
                    r[O_WEB_ROOT].val);
            return LC_ERR_INVALID;
        }
        closedir(d);
        cfg->web_root = r[O_WEB_ROOT].val;
    }
    if ((name = origin(r, O_LOG_FORMAT)), r[O_LOG_FORMAT].val) {
        if (lc_log_parse_format(r[O_LOG_FORMAT].val, &cfg->log_format)) {
            lc_errf(errbuf, errlen, "%s: '%s' is not text or json", name, r[O_LOG_FORMAT].val);
            return LC_ERR_INVALID;
        }
    }
    if ((name = origin(r, O_MAX_LISTENERS)), r[O_MAX_LISTENERS].val) {
        if (parse_long(r[O_MAX_LISTENERS].val, 1, 100000, &v)) {
            lc_errf(errbuf, errlen, "%s: '%s' is not a count in 1..100000", name,
                    r[O_MAX_LISTENERS].val);
            return LC_ERR_INVALID;
        }
        cfg->max_listeners = (unsigned)v;
    }
    if ((name = origin(r, O_MAX_LAG_MS)), r[O_MAX_LAG_MS].val) {
        if (parse_long(r[O_MAX_LAG_MS].val, 40, 10000, &v)) {
            lc_errf(errbuf, errlen, "%s: '%s' is not a lag in 40..10000 ms", name,
                    r[O_MAX_LAG_MS].val);
            return LC_ERR_INVALID;
        }
        cfg->max_lag_ms = (unsigned)v;
    }
    if ((name = origin(r, O_MAX_SESSIONS)), r[O_MAX_SESSIONS].val) {
        if (parse_long(r[O_MAX_SESSIONS].val, 1, 1000000, &v)) {
            lc_errf(errbuf, errlen, "%s: '%s' is not a count in 1..1000000", name,
                    r[O_MAX_SESSIONS].val);
            return LC_ERR_INVALID;
        }
        cfg->max_sessions = (size_t)v;
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
