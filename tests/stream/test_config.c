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
    CHECK(!strcmp(c.source, "auto"));
    CHECK(c.bind == NULL);
    CHECK_EQ_INT(c.port, 8080);
    CHECK_EQ_INT(c.frame_us, 20000);
    CHECK_EQ_INT(c.bitrate, 128000);
    CHECK_EQ_INT(c.complexity, 10);
    CHECK_EQ_INT(c.max_lag_ms, 1000);
    CHECK(c.api_token[0] == '\0');
    CHECK(c.log_format == LC_LOG_TEXT);
}

static void test_good_values(void)
{
    lc_config c;
    char **a = ARGV("--source", "tone:440", "--bind=127.0.0.1", "--port", "9000", "--frame-ms",
                    "10", "--bitrate=64000", "--complexity", "5", "--log-format", "json",
                    "--max-listeners", "10", "--max-lag-ms", "500", "--api-token", "s3cret");
    CHECK_EQ_INT(parse(&c, 19, a, NULL), 0);
    CHECK(!strcmp(c.source, "tone:440"));
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
    bad(ARGV("--max-lag-ms", "5"), 2, NULL, "--max-lag-ms");
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
}

static void test_env_precedence(void)
{
    lc_config c;
    char *env[] = {"LOOPCAST_PORT=9100", "LOOPCAST_SOURCE=tone:1000", "LOOPCAST_BIND=127.0.0.1",
                   "LOOPCAST_BITRATE=96000", "LOOPCAST_FRAME_MS=10", "LOOPCAST_API_TOKEN=envtok",
                   "LOOPCAST_LOG_FORMAT=json", "LOOPCAST_MAX_LAG_MS=300",
                   "LOOPCAST_PORTX=1", /* a longer name must not match */ NULL};
    char *none[] = {"loopcast", NULL};
    CHECK_EQ_INT(parse(&c, 1, none, env), 0);
    CHECK_EQ_INT(c.port, 9100);
    CHECK(!strcmp(c.source, "tone:1000"));
    CHECK(!strcmp(c.bind, "127.0.0.1"));
    CHECK_EQ_INT(c.bitrate, 96000);
    CHECK_EQ_INT(c.frame_us, 10000);
    CHECK(!strcmp(c.api_token, "envtok"));
    CHECK(c.log_format == LC_LOG_JSON);
    CHECK_EQ_INT(c.max_lag_ms, 300);
    /* Flags win. */
    char **a = ARGV("--port", "9200", "--source=tone:220", "--bitrate", "64000");
    CHECK_EQ_INT(parse(&c, 5, a, env), 0);
    CHECK_EQ_INT(c.port, 9200);
    CHECK(!strcmp(c.source, "tone:220"));
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

LC_TEST_MAIN(TEST(test_defaults), TEST(test_good_values), TEST(test_bad_values),
             TEST(test_env_precedence))
