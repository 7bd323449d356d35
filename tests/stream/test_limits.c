/*
 * test_limits.c — the pure parts of the server's limits (server/limits.c): address parsing,
 * X-Forwarded-For, X-Forwarded-Proto, the Origin check, the per-address table (against a
 * brute-force model through thousands of random adds and deletes), the connection map, the token
 * bucket; and lc_log's escaping of client bytes in both log formats (captured from stderr).
 */
#include <fcntl.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "lc_limits.h"
#include "lc_test.h"

static lc_cidr trusted[4];
static size_t n_trusted;

static const char *client(const char *xff)
{
    static char out[LC_ADDR_MAX];
    int rc = lc_xff_client(xff, trusted, n_trusted, out, sizeof out);
    if (rc == LC_ERR_NOT_FOUND)
        return "NOT_FOUND";
    if (rc == LC_ERR_INVALID)
        return "INVALID";
    return out;
}

static void test_addr(void)
{
    uint8_t k[16], k2[16];
    char t[LC_ADDR_MAX];
    CHECK_EQ_INT(lc_addr_parse("10.1.2.3", 8, k), 0);
    lc_addr_text(k, t, sizeof t);
    CHECK(!strcmp(t, "10.1.2.3"));
    CHECK_EQ_INT(lc_addr_parse("::ffff:10.1.2.3", 15, k2), 0); /* one v4 address, two spellings */
    CHECK(!memcmp(k, k2, 16));
    CHECK_EQ_INT(lc_addr_parse("10.1.2.3:8080", 13, k2), 0);
    CHECK(!memcmp(k, k2, 16));
    CHECK_EQ_INT(lc_addr_parse("[2001:DB8::1]:443", 17, k), 0);
    lc_addr_text(k, t, sizeof t);
    CHECK(!strcmp(t, "2001:db8::1"));
    CHECK_EQ_INT(lc_addr_parse("2001:db8::1", 11, k2), 0);
    CHECK(!memcmp(k, k2, 16));
    static const char *const bad[] = {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4:", "1.2.3.4:x",
                                       "[::1", "[::1]x", "[::1]:", "host.example", "unknown",
                                       "1.2.3.4 ", "::1%eth0", "[1.2.3.4]:80x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(lc_addr_parse(bad[i], strlen(bad[i]), k), LC_ERR_INVALID);
    char nul[] = "1.2.3.4\0";
    CHECK_EQ_INT(lc_addr_parse(nul, 8, k), LC_ERR_INVALID);
    char longs[80];
    memset(longs, '1', sizeof longs);
    CHECK_EQ_INT(lc_addr_parse(longs, sizeof longs, k), LC_ERR_INVALID);
}

static void test_xff(void)
{
    char why[64];
    CHECK_EQ_INT(lc_config_parse_cidrs("127.0.0.1, 10.0.0.0/8, fd00::/8", trusted, 4, &n_trusted,
                                       why, sizeof why), 0);
    CHECK(!strcmp(client("203.0.113.7"), "203.0.113.7"));
    /* The right-most untrusted entry: whatever the client wrote to its left is ignored. */
    CHECK(!strcmp(client("1.1.1.1, 203.0.113.7"), "203.0.113.7"));
    CHECK(!strcmp(client("garbage, 203.0.113.7"), "203.0.113.7"));
    /* Trusted hops on the right are skipped... */
    CHECK(!strcmp(client("203.0.113.7, 10.0.0.2, 127.0.0.1"), "203.0.113.7"));
    CHECK(!strcmp(client("198.51.100.1,203.0.113.7,10.9.9.9"), "203.0.113.7"));
    CHECK(!strcmp(client("[2001:db8::5]:1234, fd00::1"), "2001:db8::5"));
    /* ... and if every hop is trusted, the first one is the client. */
    CHECK(!strcmp(client("10.0.0.5, 10.0.0.6"), "10.0.0.5"));
    /* Canonical text out, never the header's bytes. */
    CHECK(!strcmp(client(" ::FFFF:198.51.100.3 \t"), "198.51.100.3"));
    CHECK(!strcmp(client("203.0.113.7:5555"), "203.0.113.7"));
    CHECK(!strcmp(client("203.0.113.7,,"), "203.0.113.7"));
    CHECK(!strcmp(client(""), "NOT_FOUND"));
    CHECK(!strcmp(client(" , ,"), "NOT_FOUND"));
    CHECK(!strcmp(client(NULL), "NOT_FOUND"));
    /* The deciding entry is not an address: nothing is believed. */
    CHECK(!strcmp(client("203.0.113.7, unknown"), "INVALID"));
    CHECK(!strcmp(client("203.0.113.7, 1.2.3.4\x1b[31m"), "INVALID"));
    CHECK(!strcmp(client("not-an-ip, 10.0.0.1"), "INVALID"));
    /* No trusted list: the right-most entry, whatever it is. */
    size_t keep = n_trusted;
    n_trusted = 0;
    CHECK(!strcmp(client("203.0.113.7, 10.0.0.2"), "10.0.0.2"));
    n_trusted = keep;
    char small[8];
    CHECK_EQ_INT(lc_xff_client("203.0.113.7", trusted, n_trusted, small, sizeof small), 0);
    CHECK_EQ_INT(strlen(small), 7); /* truncated, terminated */
}

static void test_xfp(void)
{
    CHECK_EQ_INT(lc_xfp_https("https"), 1);
    CHECK_EQ_INT(lc_xfp_https("HTTPS"), 1);
    CHECK_EQ_INT(lc_xfp_https(" http "), 0);
    CHECK_EQ_INT(lc_xfp_https("http, https"), 1); /* the nearest proxy speaks last */
    CHECK_EQ_INT(lc_xfp_https("https, http"), 0);
    CHECK_EQ_INT(lc_xfp_https("ws"), -1);
    CHECK_EQ_INT(lc_xfp_https("httpsx"), -1);
    CHECK_EQ_INT(lc_xfp_https(""), -1);
    CHECK_EQ_INT(lc_xfp_https(NULL), -1);
}

static void test_origin(void)
{
    /* No Origin: not a browser. */
    CHECK(lc_origin_allowed(NULL, "lan:8080", false, NULL));
    CHECK(lc_origin_allowed("", "lan:8080", false, NULL));
    /* Same origin: scheme, host, port; case-insensitive; default ports. */
    CHECK(lc_origin_allowed("http://lan:8080", "lan:8080", false, NULL));
    CHECK(lc_origin_allowed("HTTP://LAN:8080", "lan:8080", false, NULL));
    CHECK(lc_origin_allowed("http://lan:8080", "LAN:8080", false, NULL));
    CHECK(!lc_origin_allowed("https://lan:8080", "lan:8080", false, NULL));
    CHECK(lc_origin_allowed("https://lan:8080", "lan:8080", true, NULL));
    CHECK(!lc_origin_allowed("http://lan:8081", "lan:8080", false, NULL));
    CHECK(!lc_origin_allowed("http://lan2:8080", "lan:8080", false, NULL));
    CHECK(lc_origin_allowed("http://lan", "lan:80", false, NULL));
    CHECK(lc_origin_allowed("http://lan:80", "lan", false, NULL));
    CHECK(lc_origin_allowed("https://lan", "lan:443", true, NULL));
    CHECK(lc_origin_allowed("https://lan:443", "lan", true, NULL));
    CHECK(!lc_origin_allowed("http://lan", "lan:443", false, NULL));
    CHECK(lc_origin_allowed("http://[::1]:8080", "[::1]:8080", false, NULL));
    CHECK(lc_origin_allowed("http://192.168.1.5:8080", "192.168.1.5:8080", false, NULL));
    /* Not an origin, or a look-alike. */
    CHECK(!lc_origin_allowed("null", "lan:8080", false, NULL));
    CHECK(!lc_origin_allowed("http://lan:8080/", "lan:8080", false, NULL));
    CHECK(!lc_origin_allowed("http://lan:8080/x", "lan:8080", false, NULL));
    CHECK(!lc_origin_allowed("http://user@lan:8080", "lan:8080", false, NULL));
    CHECK(!lc_origin_allowed("http://lan:8080.evil", "lan:8080", false, NULL));
    CHECK(!lc_origin_allowed("http://lan.evil:8080", "lan:8080", false, NULL));
    CHECK(!lc_origin_allowed("ws://lan:8080", "lan:8080", false, NULL));
    CHECK(!lc_origin_allowed("http://lan:0", "lan:0", false, NULL));
    CHECK(!lc_origin_allowed("http://lan:65536", "lan:65536", false, NULL));
    CHECK(!lc_origin_allowed("http://", "", false, NULL));
    CHECK(!lc_origin_allowed("http://lan:8080", NULL, false, NULL)); /* no Host: no same origin */
    CHECK(!lc_origin_allowed("http://lan:8080", "", false, NULL));
    CHECK(!lc_origin_allowed("http://la n:8080", "la n:8080", false, NULL));
    /* The allow-list. */
    const char *allow = "https://panel.example, http://10.0.0.9:3000";
    CHECK(lc_origin_allowed("https://panel.example", "lan:8080", false, allow));
    CHECK(lc_origin_allowed("https://PANEL.example:443", "lan:8080", false, allow));
    CHECK(lc_origin_allowed("http://10.0.0.9:3000", "lan:8080", false, allow));
    CHECK(!lc_origin_allowed("http://10.0.0.9:3001", "lan:8080", false, allow));
    CHECK(!lc_origin_allowed("http://panel.example", "lan:8080", false, allow));
    CHECK(!lc_origin_allowed("https://panel.example.evil", "lan:8080", false, allow));
    CHECK(lc_origin_allowed("http://lan:8080", "lan:8080", false, allow)); /* same origin too */
    CHECK(lc_origin_allowed("http://anything", "lan:8080", false, "*"));
    CHECK(lc_origin_allowed("null", "lan:8080", false, "*"));
    char huge[600];
    memset(huge, 'a', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    memcpy(huge, "http://", 7);
    CHECK(!lc_origin_allowed(huge, huge + 7, false, NULL));
}

/* The table against a model: random adds/deletes over a small address space, so probe runs
 * collide and backward-shift deletion is exercised many times. */
static void test_iptab(void)
{
    enum { ADDRS = 300, STEPS = 200000 };
    static unsigned model[ADDRS];
    lc_iptab *t = NULL;
    CHECK_EQ_INT(lc_iptab_create(&t, ADDRS), 0);
    uint8_t key[16] = {0};
    unsigned seed = 12345;
    size_t live = 0;
    int bad = 0;
    for (int s = 0; s < STEPS; s++) {
        seed = seed * 1103515245u + 12345u;
        unsigned a = (seed >> 8) % ADDRS;
        key[14] = (uint8_t)(a >> 8);
        key[15] = (uint8_t)a;
        if ((seed >> 20) & 1) {
            unsigned n = lc_iptab_add(t, key);
            if (n != model[a] + 1)
                bad++;
            if (!model[a]++)
                live++;
        } else {
            lc_iptab_del(t, key);
            if (model[a] && !--model[a])
                live--;
        }
        if (lc_iptab_get(t, key) != model[a] || lc_iptab_addresses(t) != live)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    for (unsigned a = 0; a < ADDRS; a++) {
        key[14] = (uint8_t)(a >> 8);
        key[15] = (uint8_t)a;
        if (lc_iptab_get(t, key) != model[a])
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    lc_iptab_destroy(t);

    /* Full: a new address is refused (0), a known one still counts. */
    CHECK_EQ_INT(lc_iptab_create(&t, 2), 0);
    uint8_t a1[16] = {1}, a2[16] = {2}, a3[16] = {3};
    CHECK_EQ_INT(lc_iptab_add(t, a1), 1);
    CHECK_EQ_INT(lc_iptab_add(t, a2), 1);
    CHECK_EQ_INT(lc_iptab_add(t, a3), 0);
    CHECK_EQ_INT(lc_iptab_add(t, a1), 2);
    lc_iptab_del(t, a3); /* not there: ignored */
    lc_iptab_del(t, a2);
    CHECK_EQ_INT(lc_iptab_add(t, a3), 1);
    lc_iptab_destroy(t);
    CHECK_EQ_INT(lc_iptab_create(&t, 0), LC_ERR_INVALID);
}

static void test_connmap(void)
{
    enum { N = 500 };
    static char objs[N];
    lc_connmap *m = NULL;
    CHECK_EQ_INT(lc_connmap_create(&m, N), 0);
    for (int i = 0; i < N; i++) {
        lc_conn_rec *r = lc_connmap_put(m, &objs[i]);
        CHECK(r != NULL);
        if (r)
            r->key[0] = (uint8_t)i;
    }
    CHECK(lc_connmap_put(m, &m) == NULL); /* full */
    CHECK_EQ_INT(lc_connmap_count(m), N);
    for (int i = 0; i < N; i += 2)
        lc_connmap_del(m, &objs[i]);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        lc_conn_rec *r = lc_connmap_get(m, &objs[i]);
        if ((i % 2 == 0) != (r == NULL) || (r && (r->key[0] != (uint8_t)i || r->conn != &objs[i])))
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(lc_connmap_count(m), N / 2);
    lc_connmap_destroy(m);
}

static void test_bucket(void)
{
    lc_bucket b;
    uint64_t t = 1000000000ull;
    lc_bucket_init(&b, 20, t);
    int ok = 0;
    while (lc_bucket_take(&b, 20, t))
        ok++;
    CHECK_EQ_INT(ok, 40); /* a burst of 2 x rate */
    /* Then exactly `rate` per second. */
    ok = 0;
    for (int i = 0; i < 1000; i++) /* 1 s in 1 ms steps */
        ok += lc_bucket_take(&b, 20, t += 1000000ull);
    CHECK_EQ_INT(ok, 20);
    /* An idle minute refills only to the burst. */
    t += 60ull * 1000000000ull;
    ok = 0;
    while (lc_bucket_take(&b, 20, t))
        ok++;
    CHECK_EQ_INT(ok, 40);
    /* A clock that steps back takes nothing and breaks nothing. */
    CHECK(!lc_bucket_take(&b, 20, t - 5000000000ull));
    CHECK(lc_bucket_take(&b, 20, t + 50000000ull));
}

/* lc_log with stderr captured: client bytes never break a line or reach a terminal raw. */
static size_t capture_log(lc_log_format f, const char *text, char *out, size_t cap)
{
    char path[] = "/tmp/test_limits_logXXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    if (fd < 0 || saved < 0)
        return 0;
    fflush(stderr);
    dup2(fd, 2);
    lc_log_set_format(f);
    lc_log(LC_LOG_WARN, "test", "client said '%s'", text);
    lc_log_set_format(LC_LOG_TEXT);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, out, cap - 1, 0);
    close(fd);
    unlink(path);
    out[n > 0 ? n : 0] = '\0';
    return n > 0 ? (size_t)n : 0;
}

static void test_log_escaping(void)
{
    char out[2048];
    const char *evil = "a\nFAKE 2026-01-01T00:00:00Z error server: forged\r\x1b[31mred\x7f"
                       "\xc2\x9b" "2J" "\xff\xfe" "caf\xc3\xa9 \xe2\x82\xac";
    size_t n = capture_log(LC_LOG_TEXT, evil, out, sizeof out);
    CHECK(n > 0);
    CHECK(strchr(out, '\n') == out + n - 1); /* one line: the only newline ends it */
    CHECK(!strchr(out, '\r') && !strchr(out, '\x1b') && !strchr(out, '\x7f'));
    CHECK(strstr(out, "a\\x0aFAKE") != NULL);
    CHECK(strstr(out, "\\x1b[31mred\\x7f") != NULL);
    CHECK(strstr(out, "\\xc2\\x9b2J") != NULL); /* C1 CSI, as UTF-8 */
    CHECK(strstr(out, "\\xff\\xfe") != NULL);   /* not UTF-8 at all */
    CHECK(strstr(out, "caf\xc3\xa9 \xe2\x82\xac'") != NULL); /* real text stays readable */
    size_t controls = 0; /* control bytes in the text line, its final newline aside */
    for (size_t i = 0; i < n - 1; i++)
        controls += (unsigned char)out[i] < 0x20 || (unsigned char)out[i] == 0x7f;
    CHECK_EQ_INT(controls, 0);

    n = capture_log(LC_LOG_JSON, "q\"b\\s\n\x1b\xc2\x9b\xff", out, sizeof out);
    CHECK(n > 0 && strchr(out, '\n') == out + n - 1);
    CHECK(strstr(out, "q\\\"b\\\\s\\u000a\\u001b\\u00c2\\u009b\\u00ff'\"}") != NULL);
}

int main(int argc, char **argv)
{
    static const lc_test_case cases[] = {
        {"addr", test_addr},         {"xff", test_xff},         {"xfp", test_xfp},
        {"origin", test_origin},     {"iptab", test_iptab},     {"connmap", test_connmap},
        {"bucket", test_bucket},     {"log_escaping", test_log_escaping},
    };
    return lc_test_main(cases, sizeof cases / sizeof cases[0], argc, argv);
}
