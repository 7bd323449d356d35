/*
 * config.h — the loopcast command line and its environment twins, parsed and validated in one
 * pure-ish function (it reads files only to validate the token file, TLS files and web root).
 *
 * Precedence: a flag wins over its environment variable, which wins over the default. Every
 * failure names the flag (or the variable) it came from; main() prints it and exits 2.
 */
#ifndef LC_SERVER_CONFIG_H
#define LC_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common.h"
#include "icecast.h"
#include "rtp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LC_CONFIG_TOKEN_MAX 256
#define LC_CONFIG_MAX_CIDRS 16
#define LC_CONFIG_MAX_STREAMS 16 /* each is a capture thread and an encoder */
#define LC_CONFIG_MAX_THREADS 64 /* --threads: lws service threads (server/worker.c) */
#define LC_STREAM_NAME_MAX 32     /* bytes: [A-Za-z0-9_.-] */
#define LC_STREAM_URI_MAX 512
#define LC_CONFIG_MAX_OUTPUTS 8   /* --icecast targets; --rtp targets */

/* One trusted-proxy network: family 4 (IPv4) or 6 (IPv6), address bytes, prefix length. */
typedef struct lc_cidr {
    int family;
    uint8_t addr[16];
    unsigned prefix;
} lc_cidr;

/* One stream: a name (the API's, the page's) and the source URI it captures. */
typedef struct lc_stream_def {
    char name[LC_STREAM_NAME_MAX + 1];
    char uri[LC_STREAM_URI_MAX];
    bool from_source; /* it is --source (or the implicit "auto"): errors name --source */
} lc_stream_def;

/* One --icecast [NAME=]URL: which stream, and where (the password is in url, never shown). */
typedef struct lc_output_def {
    char stream[LC_STREAM_NAME_MAX + 1];
    lc_icecast_url url;
} lc_output_def;

/* One --rtp [NAME=]URL, and the --rtp-sdp FILE paired with it ("" = none). */
typedef struct lc_rtp_def {
    char stream[LC_STREAM_NAME_MAX + 1];
    lc_rtp_url url;
    char sdp[512];
} lc_rtp_def;

typedef struct lc_config {
    /* The streams, in order; the first is where new sessions listen and what `source` reports.
     * --source URI (LOOPCAST_SOURCE) is the stream "default", first; each --stream NAME=URI
     * (repeatable; LOOPCAST_STREAMS holds them separated by spaces, and any --stream hides it)
     * follows. With neither: one stream "default" = "auto". */
    lc_stream_def streams[LC_CONFIG_MAX_STREAMS];
    size_t n_streams;           /* 1..LC_CONFIG_MAX_STREAMS after a successful parse */
    const char *bind;           /* --bind / LOOPCAST_BIND, NULL = every interface */
    int port;                   /* --port / LOOPCAST_PORT, 1..65535, default 8080 */
    const char *state_dir;      /* --state-dir / LOOPCAST_STATE_DIR, NULL = the default
                                 * ($XDG_STATE_HOME/loopcast, ~/.local/state/loopcast), chosen by
                                 * the server at start-up (server.c), not here */
    uint32_t frame_us;          /* --frame-ms / LOOPCAST_FRAME_MS, default 20 ms */
    int32_t bitrate;            /* --bitrate / LOOPCAST_BITRATE, 6000..510000, default 128000 */
    int complexity;             /* --complexity / LOOPCAST_COMPLEXITY, 0..10, default 10 */
    char api_token[LC_CONFIG_TOKEN_MAX + 1]; /* --api-token(-file) / LOOPCAST_API_TOKEN(_FILE);
                                              * "" = none given */
    const char *api_token_file; /* where api_token came from, NULL if not from a file */
    const char *tls_cert;       /* --tls-cert / LOOPCAST_TLS_CERT */
    const char *tls_key;        /* --tls-key / LOOPCAST_TLS_KEY */
    const char *web_root;       /* --web-root / LOOPCAST_WEB_ROOT, NULL = embedded assets */
    lc_log_format log_format;   /* --log-format / LOOPCAST_LOG_FORMAT, text|json */
    unsigned max_listeners;     /* --max-listeners / LOOPCAST_MAX_LISTENERS, default 4096 */
    unsigned max_lag_ms;        /* --max-lag-ms / LOOPCAST_MAX_LAG_MS, 40..10000, default 1000 */
    size_t max_sessions;        /* --max-sessions / LOOPCAST_MAX_SESSIONS, 1..1000000, default 1000 */
    int redirect_port;          /* --redirect-port / LOOPCAST_REDIRECT_PORT: plain-HTTP port that
                                 * redirects to HTTPS; 0 = none (needs TLS) */
    lc_cidr trust_proxy[LC_CONFIG_MAX_CIDRS]; /* --trust-proxy / LOOPCAST_TRUST_PROXY: peers whose */
    size_t n_trust_proxy;                     /* X-Forwarded-* headers are believed; 0 = none */
    const char *allow_origin;   /* --allow-origin / LOOPCAST_ALLOW_ORIGIN: extra WebSocket Origins,
                                 * comma-separated, "*" = any; NULL = same origin only */
    size_t max_body;            /* --max-body / LOOPCAST_MAX_BODY, 256..1048576, default 16384 */
    unsigned max_msg_bytes;     /* --max-msg-bytes / LOOPCAST_MAX_MSG_BYTES, 64..65536, default 4096 */
    unsigned max_msg_rate;      /* --max-msg-rate / LOOPCAST_MAX_MSG_RATE, 1..10000/s, default 20 */
    unsigned max_conns_per_ip;  /* --max-conns-per-ip / LOOPCAST_MAX_CONNS_PER_IP, default 128 */
    bool mdns;                  /* --mdns / LOOPCAST_MDNS on|off: advertise on the LAN (mDNS/DNS-SD),
                                 * default on */
    lc_output_def icecast[LC_CONFIG_MAX_OUTPUTS]; /* --icecast [NAME=]URL (repeatable) /     */
    size_t n_icecast;                             /* LOOPCAST_ICECAST (items separated by spaces) */
    lc_rtp_def rtp[LC_CONFIG_MAX_OUTPUTS];        /* --rtp [NAME=]URL / LOOPCAST_RTP, with      */
    size_t n_rtp, n_rtp_sdp;                      /* --rtp-sdp FILE / LOOPCAST_RTP_SDP in order */
    unsigned threads;           /* --threads / LOOPCAST_THREADS, 1..64; 0 (unset) = one per CPU
                                 * the process may use, at most 64 (lc_server_create) */
    unsigned sync_ms;           /* --sync-ms / LOOPCAST_SYNC_MS, 0..3000: every listener plays the
                                 * sample captured at T at T + this (server clock); 0 = off, each
                                 * plays as early as it can (default) */
    bool help, version, list_sources;
    /* --service install|uninstall (Windows; run = what the service control manager starts) */
    enum { LC_SERVICE_NONE = 0, LC_SERVICE_INSTALL, LC_SERVICE_UNINSTALL, LC_SERVICE_RUN } service;
} lc_config;

void lc_config_default(lc_config *cfg);

/*
 * Parses argv[1..argc) over the defaults and the environment `envp` (NULL-terminated
 * "NAME=value" strings, e.g. `environ`; NULL = no environment). Pointers in *cfg point into
 * argv/envp, which must outlive it. Returns 0, or LC_ERR_INVALID with a one-line message that
 * names the flag or variable in errbuf.
 */
int lc_config_parse(lc_config *cfg, int argc, char *const *argv, char *const *envp, char *errbuf,
                    size_t errlen);

/*
 * "10.0.0.1, 192.168.0.0/16, ::1, fd00::/8" into out[0..*n). No brackets, no ports, no hostnames.
 * Returns 0, or LC_ERR_INVALID with the reason in why (the bad item quoted, at most 40 bytes).
 */
int lc_config_parse_cidrs(const char *text, lc_cidr *out, size_t cap, size_t *n, char *why,
                          size_t whylen);
/* Does the numeric address `addr` (text, as lws reports a peer; "::ffff:a.b.c.d" counts as
 * a.b.c.d) fall in one of list[0..n)? */
bool lc_config_cidr_match(const lc_cidr *list, size_t n, const char *addr);
/* "*" or a comma list of "http(s)://host[:port]" origins (no path, no spaces inside an item).
 * Returns 0 or LC_ERR_INVALID with the reason in why. */
int lc_config_check_origins(const char *text, char *why, size_t whylen);
/* 1 if `name` is a stream name: 1..LC_STREAM_NAME_MAX bytes of [A-Za-z0-9_.-]. */
bool lc_config_stream_name_valid(const char *name);

/* Prints --help: every flag, its variable and default. */
void lc_config_usage(FILE *out, const char *argv0);

#ifdef __cplusplus
}
#endif
#endif
