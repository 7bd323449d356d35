/*
 * test_config.c — loopcast flags and environment: defaults, good values, every kind of bad
 * value (the message names the flag), and flag-over-environment precedence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "lc_test.h"

static char err[512];

#define ARGV(...) ((char *[]){"loopcast", __VA_ARGS__, NULL})
#define ARGC(a) ((int)(sizeof(a) / sizeof(a[0])) - 1)

/* argc is counted from argv (NULL-terminated); the number passed is only documentation. */
static int parse(lc_config *c, int argc, char **argv, char **envp)
{
    for (argc = 0; argv[argc];)
        argc++;
    err[0] = '\0';
    return lc_config_parse(c, argc, argv, envp, err, sizeof err);
}

/* Expects a failure whose message mentions `what`. */
static void bad(char **argv, int argc, char **envp, const char *what)
{
    lc_config c;
    int rc = parse(&c, argc, argv, envp);
    CHECK_EQ_INT(rc, LC_ERR_INVALID);
    if (!strstr(err, what))
        fprintf(stderr, "   message '%s' does not name '%s'\n", err, what);
    CHECK(strstr(err, what) != NULL);
}

static void test_defaults(void)
{
    lc_config c;
    char *argv[] = {"loopcast", NULL};
    CHECK_EQ_INT(parse(&c, 1, argv, NULL), 0);
    CHECK(!strcmp(c.streams[0].uri, "auto"));
    CHECK(c.bind == NULL);
    CHECK_EQ_INT(c.port, 8080);
    CHECK_EQ_INT(c.frame_us, 20000);
    CHECK_EQ_INT(c.bitrate, 128000);
    CHECK_EQ_INT(c.complexity, 10);
    CHECK_EQ_INT(c.max_lag_ms, 1000);
    CHECK(c.api_token[0] == '\0');
    CHECK(c.log_format == LC_LOG_TEXT);
    CHECK(c.mdns);
    CHECK_EQ_INT(c.sync_ms, 0);
}

/* --mdns on|off and LOOPCAST_MDNS, the flag winning over the variable. */
static void test_mdns(void)
{
    lc_config c;
    char *none[] = {"loopcast", NULL};
    CHECK_EQ_INT(parse(&c, 2, ARGV("--mdns", "off"), NULL), 0);
    CHECK(!c.mdns);
    CHECK_EQ_INT(parse(&c, 1, ARGV("--mdns=on"), NULL), 0);
    CHECK(c.mdns);
    CHECK_EQ_INT(parse(&c, 1, none, (char *[]){"LOOPCAST_MDNS=off", NULL}), 0);
    CHECK(!c.mdns);
    CHECK_EQ_INT(parse(&c, 2, ARGV("--mdns", "on"), (char *[]){"LOOPCAST_MDNS=off", NULL}), 0);
    CHECK(c.mdns);
}

static void test_good_values(void)
{
    lc_config c;
    char **a = ARGV("--source", "tone:440", "--bind=127.0.0.1", "--port", "9000", "--frame-ms",
                    "10", "--bitrate=64000", "--complexity", "5", "--log-format", "json",
                    "--max-listeners", "10", "--max-lag-ms", "500", "--api-token", "s3cret");
    CHECK_EQ_INT(parse(&c, 19, a, NULL), 0);
    CHECK(!strcmp(c.streams[0].uri, "tone:440"));
    CHECK(!strcmp(c.bind, "127.0.0.1"));
    CHECK_EQ_INT(c.port, 9000);
    CHECK_EQ_INT(c.frame_us, 10000);
    CHECK_EQ_INT(c.bitrate, 64000);
    CHECK_EQ_INT(c.complexity, 5);
    CHECK(c.log_format == LC_LOG_JSON);
    CHECK_EQ_INT(c.max_listeners, 10);
    CHECK_EQ_INT(c.max_lag_ms, 500);
    CHECK(!strcmp(c.api_token, "s3cret"));
    char **b = ARGV("--frame-ms", "2.5", "--bind", "::1", "--port", "65535", "--bind", "lo");
    CHECK_EQ_INT(parse(&c, 9, b, NULL), 0);
    if (err[0])
        fprintf(stderr, "   %s\n", err);
    CHECK_EQ_INT(c.frame_us, 2500);
    CHECK(!strcmp(c.bind, "lo"));
    CHECK_EQ_INT(c.port, 65535);
    char **h = ARGV("--help");
    CHECK_EQ_INT(parse(&c, 1, h, (char *[]){"LOOPCAST_PORT=abc", NULL}), 0); /* help wins */
    CHECK(c.help);
}

static void test_bad_values(void)
{
    bad(ARGV("--port", "0"), 2, NULL, "--port");
    bad(ARGV("--port", "70000"), 2, NULL, "--port");
    bad(ARGV("--port", "abc"), 2, NULL, "--port");
    bad(ARGV("--port", "80x"), 2, NULL, "--port");
    bad(ARGV("--port", ""), 2, NULL, "--port");
    bad(ARGV("--port"), 1, NULL, "--port");
    bad(ARGV("--bitrate", "5999"), 2, NULL, "--bitrate");
    bad(ARGV("--bitrate", "510001"), 2, NULL, "--bitrate");
    bad(ARGV("--frame-ms", "7"), 2, NULL, "--frame-ms");
    bad(ARGV("--frame-ms", "20ms"), 2, NULL, "--frame-ms");
    bad(ARGV("--complexity", "11"), 2, NULL, "--complexity");
    bad(ARGV("--log-format", "xml"), 2, NULL, "--log-format");
    bad(ARGV("--mdns", "maybe"), 2, NULL, "--mdns");
    bad(ARGV("--mdns", "ON"), 2, NULL, "--mdns");
    bad(ARGV("--mdns", ""), 2, NULL, "--mdns");
    bad(ARGV("--max-lag-ms", "5"), 2, NULL, "--max-lag-ms");
    bad(ARGV("--sync-ms", "3001"), 2, NULL, "--sync-ms");
    bad(ARGV("--sync-ms", "-1"), 2, NULL, "--sync-ms");
    bad(ARGV("--sync-ms", "250ms"), 2, NULL, "--sync-ms");
    bad(ARGV("--max-listeners", "0"), 2, NULL, "--max-listeners");
    bad(ARGV("--bind", "not-an-iface-xyz"), 2, NULL, "--bind");
    bad(ARGV("--source", ""), 2, NULL, "--source");
    bad(ARGV("--frobnicate"), 1, NULL, "--frobnicate");
    bad(ARGV("--frobnicate=1"), 1, NULL, "--frobnicate");
    bad(ARGV("stray"), 1, NULL, "stray");
    bad(ARGV("--api-token", "has space"), 2, NULL, "--api-token");
    bad(ARGV("--api-token", ""), 2, NULL, "--api-token");
    bad(ARGV("--api-token-file", "/nonexistent/token"), 2, NULL, "--api-token-file");
    bad(ARGV("--api-token", "a", "--api-token-file", "/etc/hostname"), 4, NULL, "--api-token");
    bad(ARGV("--tls-cert", "/etc/hostname"), 2, NULL, "--tls-key");
    bad(ARGV("--tls-cert", "/nonexistent.pem", "--tls-key", "/etc/hostname"), 4, NULL,
        "--tls-cert");
    bad(ARGV("--web-root", "/nonexistent/dir"), 2, NULL, "--web-root");
    bad(ARGV("--web-root", "/etc/hostname"), 2, NULL, "--web-root");
    bad(ARGV("--state-dir", "/etc/hostname"), 2, NULL, "--state-dir");
    bad(ARGV("--state-dir", "/nonexistent/a/b"), 2, NULL, "--state-dir");
    /* Bad environment values name the variable. */
    bad(ARGV("--source", "tone:1"), 2, (char *[]){"LOOPCAST_PORT=0", NULL}, "LOOPCAST_PORT");
    bad(ARGV("--source", "tone:1"), 2, (char *[]){"LOOPCAST_BITRATE=1", NULL},
        "LOOPCAST_BITRATE");
    bad(ARGV("--source", "tone:1"), 2, (char *[]){"LOOPCAST_FRAME_MS=7", NULL},
        "LOOPCAST_FRAME_MS");
    bad(ARGV("--source", "tone:1"), 2, (char *[]){"LOOPCAST_MDNS=yes", NULL}, "LOOPCAST_MDNS");
}

static void test_env_precedence(void)
{
    lc_config c;
    char *env[] = {"LOOPCAST_PORT=9100", "LOOPCAST_SOURCE=tone:1000", "LOOPCAST_BIND=127.0.0.1",
                   "LOOPCAST_BITRATE=96000", "LOOPCAST_FRAME_MS=10", "LOOPCAST_API_TOKEN=envtok",
                   "LOOPCAST_LOG_FORMAT=json", "LOOPCAST_MAX_LAG_MS=300", "LOOPCAST_SYNC_MS=250",
                   "LOOPCAST_PORTX=1", /* a longer name must not match */ NULL};
    char *none[] = {"loopcast", NULL};
    CHECK_EQ_INT(parse(&c, 1, none, env), 0);
    CHECK_EQ_INT(c.port, 9100);
    CHECK(!strcmp(c.streams[0].uri, "tone:1000"));
    CHECK(!strcmp(c.bind, "127.0.0.1"));
    CHECK_EQ_INT(c.bitrate, 96000);
    CHECK_EQ_INT(c.frame_us, 10000);
    CHECK(!strcmp(c.api_token, "envtok"));
    CHECK(c.log_format == LC_LOG_JSON);
    CHECK_EQ_INT(c.max_lag_ms, 300);
    CHECK_EQ_INT(c.sync_ms, 250);
    /* Flags win. */
    char **a = ARGV("--port", "9200", "--source=tone:220", "--bitrate", "64000");
    CHECK_EQ_INT(parse(&c, 5, a, env), 0);
    CHECK_EQ_INT(c.port, 9200);
    CHECK(!strcmp(c.streams[0].uri, "tone:220"));
    CHECK_EQ_INT(c.bitrate, 64000);
    CHECK_EQ_INT(c.frame_us, 10000); /* not given as a flag: env stays */
    /* A flag wins even over a bad variable, which is then never looked at. */
    char *badenv[] = {"LOOPCAST_PORT=abc", NULL};
    char **p = ARGV("--port", "9300");
    CHECK_EQ_INT(parse(&c, 2, p, badenv), 0);
    CHECK_EQ_INT(c.port, 9300);
    /* --api-token-file on the command line hides LOOPCAST_API_TOKEN. */
    char path[] = "/tmp/lc_test_tokenXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, "filetok\n", 8) == 8);
    close(fd);
    char **t = ARGV("--api-token-file", path);
    CHECK_EQ_INT(parse(&c, 2, t, env), 0);
    CHECK(!strcmp(c.api_token, "filetok"));
    CHECK(c.api_token_file && !strcmp(c.api_token_file, path));
    /* ...and LOOPCAST_API_TOKEN_FILE works alone. */
    char envf[300];
    snprintf(envf, sizeof envf, "LOOPCAST_API_TOKEN_FILE=%s", path);
    char *env2[] = {envf, NULL};
    CHECK_EQ_INT(parse(&c, 1, none, env2), 0);
    CHECK(!strcmp(c.api_token, "filetok"));
    /* Both variables at once is ambiguous. */
    char *env3[] = {envf, "LOOPCAST_API_TOKEN=x", NULL};
    bad(none, 1, env3, "LOOPCAST_API_TOKEN");
    unlink(path);
}

/* The limits' defaults, good values, and each refusal naming its flag. */
static void test_limits(void)
{
    lc_config c;
    char *none[] = {"loopcast", NULL};
    CHECK_EQ_INT(parse(&c, 1, none, NULL), 0);
    CHECK_EQ_INT((long)c.max_body, 16384);
    CHECK_EQ_INT(c.max_msg_bytes, 4096);
    CHECK_EQ_INT(c.max_msg_rate, 20);
    CHECK_EQ_INT(c.max_conns_per_ip, 128);
    CHECK_EQ_INT(c.redirect_port, 0);
    CHECK_EQ_INT((long)c.n_trust_proxy, 0);
    CHECK(c.allow_origin == NULL);

    CHECK_EQ_INT(parse(&c, 8, ARGV("--max-body=1024", "--max-msg-bytes", "128", "--max-msg-rate=5",
                                   "--max-conns-per-ip", "3"), NULL), 0);
    CHECK_EQ_INT((long)c.max_body, 1024);
    CHECK_EQ_INT(c.max_msg_bytes, 128);
    CHECK_EQ_INT(c.max_msg_rate, 5);
    CHECK_EQ_INT(c.max_conns_per_ip, 3);
    char *env[] = {"LOOPCAST_MAX_CONNS_PER_IP=7", "LOOPCAST_ALLOW_ORIGIN=https://a.example:8443, "
                   "http://[::1]:9", NULL};
    CHECK_EQ_INT(parse(&c, 1, none, env), 0);
    CHECK_EQ_INT(c.max_conns_per_ip, 7);
    CHECK(c.allow_origin && strstr(c.allow_origin, "a.example"));

    bad(ARGV("--max-body", "100"), 2, NULL, "--max-body");
    bad(ARGV("--max-body", "2000000"), 2, NULL, "256..1048576");
    bad(ARGV("--max-msg-bytes", "x"), 2, NULL, "--max-msg-bytes");
    bad(ARGV("--max-msg-rate", "0"), 2, NULL, "--max-msg-rate");
    bad(ARGV("--max-conns-per-ip", "-1"), 2, NULL, "--max-conns-per-ip");
    char *benv[] = {"LOOPCAST_MAX_MSG_RATE=fast", NULL};
    bad(none, 1, benv, "LOOPCAST_MAX_MSG_RATE");
    bad(ARGV("--allow-origin", "example.com"), 2, NULL, "--allow-origin");
    bad(ARGV("--allow-origin", "https://a/b"), 2, NULL, "'https://a/b'");
    bad(ARGV("--allow-origin", ""), 2, NULL, "empty");
    /* A redirect needs TLS, and not on the TLS port itself. */
    bad(ARGV("--redirect-port", "8081"), 2, NULL, "--tls-cert");
    bad(ARGV("--redirect-port", "0"), 2, NULL, "--redirect-port");
}

static void test_trust_proxy(void)
{
    lc_config c;
    CHECK_EQ_INT(parse(&c, 2, ARGV("--trust-proxy", "127.0.0.1, 10.0.0.0/8,fd00::/8"), NULL), 0);
    CHECK_EQ_INT((long)c.n_trust_proxy, 3);
    CHECK(lc_config_cidr_match(c.trust_proxy, c.n_trust_proxy, "127.0.0.1"));
    CHECK(lc_config_cidr_match(c.trust_proxy, c.n_trust_proxy, "::ffff:127.0.0.1"));
    CHECK(!lc_config_cidr_match(c.trust_proxy, c.n_trust_proxy, "127.0.0.2"));
    CHECK(lc_config_cidr_match(c.trust_proxy, c.n_trust_proxy, "10.200.3.4"));
    CHECK(!lc_config_cidr_match(c.trust_proxy, c.n_trust_proxy, "11.0.0.1"));
    CHECK(lc_config_cidr_match(c.trust_proxy, c.n_trust_proxy, "fd12::1"));
    CHECK(!lc_config_cidr_match(c.trust_proxy, c.n_trust_proxy, "fe80::1"));
    CHECK(!lc_config_cidr_match(c.trust_proxy, c.n_trust_proxy, "not an address"));
    CHECK(!lc_config_cidr_match(c.trust_proxy, c.n_trust_proxy, NULL));
    /* Odd prefixes mask inside a byte. */
    CHECK_EQ_INT(parse(&c, 2, ARGV("--trust-proxy", "192.168.4.0/22"), NULL), 0);
    CHECK(lc_config_cidr_match(c.trust_proxy, c.n_trust_proxy, "192.168.7.255"));
    CHECK(!lc_config_cidr_match(c.trust_proxy, c.n_trust_proxy, "192.168.8.0"));
    /* A v4-mapped network is the IPv4 one, however the peer's address is written. */
    CHECK_EQ_INT(parse(&c, 2, ARGV("--trust-proxy", "::ffff:10.1.2.0/120"), NULL), 0);
    CHECK(lc_config_cidr_match(c.trust_proxy, c.n_trust_proxy, "10.1.2.3"));
    CHECK(lc_config_cidr_match(c.trust_proxy, c.n_trust_proxy, "::ffff:10.1.2.3"));
    CHECK(!lc_config_cidr_match(c.trust_proxy, c.n_trust_proxy, "10.1.3.3"));
    CHECK_EQ_INT(parse(&c, 2, ARGV("--trust-proxy", "0.0.0.0/0"), NULL), 0);
    CHECK(lc_config_cidr_match(c.trust_proxy, c.n_trust_proxy, "8.8.8.8"));

    bad(ARGV("--trust-proxy", "proxy.lan"), 2, NULL, "'proxy.lan'");
    bad(ARGV("--trust-proxy", "10.0.0.0/33"), 2, NULL, "10.0.0.0/33");
    bad(ARGV("--trust-proxy", "::1/129"), 2, NULL, "--trust-proxy");
    bad(ARGV("--trust-proxy", "1.2.3.4/"), 2, NULL, "--trust-proxy");
    bad(ARGV("--trust-proxy", "1.2.3.4,,5.6.7.8"), 2, NULL, "--trust-proxy");
    bad(ARGV("--trust-proxy", ","), 2, NULL, "--trust-proxy");
    bad(ARGV("--trust-proxy", "1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,"
                              "1.1.1.9,1.1.1.10,1.1.1.11,1.1.1.12,1.1.1.13,1.1.1.14,1.1.1.15,"
                              "1.1.1.16,1.1.1.17"), 2, NULL, "more than 16");
}

/* --service ACTION: parsed on every system (main says "Windows only" elsewhere), both forms,
 * the other options kept; anything but install/uninstall/run names the flag. */
static void test_service(void)
{
    lc_config c;
    char *plain[] = {"loopcast", NULL};
    CHECK_EQ_INT(parse(&c, 1, plain, NULL), 0);
    CHECK(c.service == LC_SERVICE_NONE);
    CHECK_EQ_INT(parse(&c, 5, ARGV("--service", "install", "--port", "9001"), NULL), 0);
    CHECK(c.service == LC_SERVICE_INSTALL);
    CHECK_EQ_INT(c.port, 9001);
    CHECK_EQ_INT(parse(&c, 2, ARGV("--service=uninstall"), NULL), 0);
    CHECK(c.service == LC_SERVICE_UNINSTALL);
    CHECK_EQ_INT(parse(&c, 3, ARGV("--service", "run"), NULL), 0);
    CHECK(c.service == LC_SERVICE_RUN);
    bad(ARGV("--service", "start"), 3, NULL, "--service: 'start' is not install, uninstall or run");
    bad(ARGV("--service"), 2, NULL, "--service: '' is not install");
}

/* Several streams (issue 14): --source is "default", first; --stream adds; any --stream hides
 * LOOPCAST_STREAMS; names and URIs are checked, naming the flag or the variable. */
static void test_streams(void)
{
    lc_config c;
    CHECK_EQ_INT(parse(&c, 1, ARGV("--port", "9000"), NULL), 0);
    CHECK_EQ_INT((int)c.n_streams, 1);
    CHECK(!strcmp(c.streams[0].name, "default") && !strcmp(c.streams[0].uri, "auto"));
    /* --stream alone: no default stream */
    CHECK_EQ_INT(parse(&c, 4, ARGV("--stream", "tv=tone:440", "--stream=radio=pipe:-?rate=44100"),
                       NULL), 0);
    CHECK_EQ_INT((int)c.n_streams, 2);
    CHECK(!strcmp(c.streams[0].name, "tv") && !strcmp(c.streams[0].uri, "tone:440"));
    CHECK(!strcmp(c.streams[1].name, "radio") && !strcmp(c.streams[1].uri, "pipe:-?rate=44100"));
    /* --source keeps "default", first */
    CHECK_EQ_INT(parse(&c, 4, ARGV("--stream", "tv=tone:440", "--source", "tone:220"), NULL), 0);
    CHECK_EQ_INT((int)c.n_streams, 2);
    CHECK(!strcmp(c.streams[0].name, "default") && !strcmp(c.streams[0].uri, "tone:220"));
    CHECK(!strcmp(c.streams[1].name, "tv"));
    /* the variable: items separated by spaces (several of them, tabs too) */
    char *env[] = {"LOOPCAST_STREAMS=  a=tone:440 \tb.2=tone:1000  ", NULL};
    CHECK_EQ_INT(parse(&c, 1, ARGV("--port", "9000"), env), 0);
    CHECK_EQ_INT((int)c.n_streams, 2);
    CHECK(!strcmp(c.streams[1].name, "b.2") && !strcmp(c.streams[1].uri, "tone:1000"));
    /* a flag hides the variable */
    CHECK_EQ_INT(parse(&c, 2, ARGV("--stream", "k=tone:300"), env), 0);
    CHECK_EQ_INT((int)c.n_streams, 1);
    CHECK(!strcmp(c.streams[0].name, "k"));
    bad(ARGV("--stream", "tone:440"), 2, NULL, "--stream: 'tone:440' is not NAME=URI");
    bad(ARGV("--stream", "=tone:440"), 2, NULL, "--stream: '=tone:440' is not NAME=URI");
    bad(ARGV("--stream", "a b=tone:440"), 2, NULL, "--stream: stream name 'a b' may use only");
    bad(ARGV("--stream", "a="), 2, NULL, "--stream: stream 'a' needs a source URI");
    bad(ARGV("--stream", "a=tone:1", "--stream", "a=tone:2"), 4, NULL,
        "--stream: stream 'a' is named twice");
    bad(ARGV("--source", "tone:1", "--stream", "default=tone:2"), 4, NULL,
        "(--source is the stream 'default')");
    bad(ARGV("--stream", "abcdefghijabcdefghijabcdefghijabc=tone:1"), 2, NULL, "is not NAME=URI");
    char *badenv[] = {"LOOPCAST_STREAMS=a=tone:1 b", NULL};
    bad(ARGV("--port", "9000"), 2, badenv, "LOOPCAST_STREAMS: 'b' is not NAME=URI");
    char *emptyenv[] = {"LOOPCAST_STREAMS=  ", NULL};
    bad(ARGV("--port", "9000"), 2, emptyenv, "LOOPCAST_STREAMS: no NAME=URI in it");
    char *many[40];
    many[0] = "loopcast";
    char names[17][32];
    for (int i = 0; i < 17; i++) {
        snprintf(names[i], sizeof names[i], "s%d=tone:%d", i, 100 + i);
        many[1 + 2 * i] = "--stream";
        many[2 + 2 * i] = names[i];
    }
    many[35] = NULL;
    bad(many, 35, NULL, "more than 16 streams");
    CHECK(lc_config_stream_name_valid("Kitchen_TV-2.b"));
    CHECK(!lc_config_stream_name_valid(""));
    CHECK(!lc_config_stream_name_valid("a/b"));
}

LC_TEST_MAIN(TEST(test_defaults), TEST(test_streams), TEST(test_mdns), TEST(test_good_values), TEST(test_bad_values),
             TEST(test_env_precedence), TEST(test_limits), TEST(test_trust_proxy),
             TEST(test_service))
