/*
 * test_platform_io.c — platform.h's paths, whole files and network helpers, written against the
 * platform layer and stdio only, so the same test runs on Linux (ctest) and, cross-built, under
 * Wine (tests/windows/wine_server_test.sh): the server's --web-root, --state-dir and store code
 * paths rest on these.
 *
 * LC_TEST_UTF8 must be set to "été" (UTF-8) in the environment: the test checks that it arrives
 * in the UTF-8 environment lc_plat_args_utf8 builds (on Windows from the UTF-16 originals).
 */
#include "lc_test.h"
#include "platform.h"

static char dir[512];

static void join(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s%c%s", dir, LC_PLAT_PATH_SEPS[0], name);
}

static void put(const char *name, const char *text)
{
    char p[600];
    join(p, sizeof p, name);
    FILE *f = fopen(p, "wb");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_kinds_and_access(void)
{
    char f[600], none[600], err[256] = "";
    put("a.txt", "hello");
    join(f, sizeof f, "a.txt");
    join(none, sizeof none, "missing");
    CHECK_EQ_INT(lc_plat_path_kind(dir), LC_PATH_DIR);
    CHECK_EQ_INT(lc_plat_path_kind(f), LC_PATH_FILE);
    CHECK_EQ_INT(lc_plat_path_kind(none), LC_PATH_NONE);
    CHECK_EQ_INT(lc_plat_path_kind(""), LC_PATH_NONE);
    CHECK_EQ_INT(lc_plat_path_access(f, LC_PATH_READ, err, sizeof err), 0);
    CHECK_EQ_INT(lc_plat_path_access(dir, LC_PATH_READ | LC_PATH_WRITE, err, sizeof err), 0);
    err[0] = '\0';
    CHECK_EQ_INT(lc_plat_path_access(none, LC_PATH_READ, err, sizeof err), LC_ERR_IO);
    CHECK(err[0] != '\0'); /* the reason is said */
}

static void test_read_file(void)
{
    char f[600], err[256] = "", *data = NULL;
    size_t len = 0;
    put("b.txt", "0123456789");
    join(f, sizeof f, "b.txt");
    CHECK_EQ_INT(lc_plat_read_file(f, 10, &data, &len, err, sizeof err), 0);
    CHECK_EQ_INT(len, 10);
    CHECK(data && !strcmp(data, "0123456789")); /* NUL after the bytes */
    free(data);
    data = NULL;
    CHECK_EQ_INT(lc_plat_read_file(f, 9, &data, &len, err, sizeof err), LC_ERR_LIMIT);
    CHECK(data == NULL);
    join(f, sizeof f, "nothing-here");
    CHECK_EQ_INT(lc_plat_read_file(f, 100, &data, &len, err, sizeof err), LC_ERR_NOT_FOUND);
    CHECK_EQ_INT(lc_plat_read_file(dir, 100, &data, &len, err, sizeof err), LC_ERR_NOT_FOUND);
    put("empty", "");
    join(f, sizeof f, "empty");
    CHECK_EQ_INT(lc_plat_read_file(f, 100, &data, &len, err, sizeof err), 0);
    CHECK_EQ_INT(len, 0);
    CHECK(data && data[0] == '\0');
    free(data);
}

static void test_realpath(void)
{
    char sub[600], dotted[700], f[600], err[256] = "";
    join(sub, sizeof sub, "sub");
    CHECK_EQ_INT(lc_plat_mkdirs(sub, err, sizeof err), 0);
    put("c.txt", "x");
    join(f, sizeof f, "c.txt");
    /* dir/sub/../c.txt and dir\c.txt (Windows: either separator) name one file */
    snprintf(dotted, sizeof dotted, "%s/sub/../c.txt", dir);
    char *a = lc_plat_realpath(f, err, sizeof err), *b = lc_plat_realpath(dotted, err, sizeof err);
    CHECK(a != NULL && b != NULL);
    if (a && b) {
        CHECK(!strcmp(a, b));
        CHECK(strstr(a, "..") == NULL);
        size_t n = strlen(a);
        CHECK(n > 6 && !strcmp(a + n - 5, "c.txt") && strchr(LC_PLAT_PATH_SEPS, a[n - 6]));
        fprintf(stderr, "   realpath: %s\n", a);
    }
    free(a);
    free(b);
    err[0] = '\0';
    join(f, sizeof f, "no-such-file");
    CHECK(lc_plat_realpath(f, err, sizeof err) == NULL);
    CHECK(err[0] != '\0');
}

static void test_rename(void)
{
    char from[600], to[600], err[256] = "", *data = NULL;
    size_t len;
    put("old", "new content");
    put("target", "stale");
    join(from, sizeof from, "old");
    join(to, sizeof to, "target");
    CHECK_EQ_INT(lc_plat_rename(from, to, err, sizeof err), 0); /* replaces */
    CHECK_EQ_INT(lc_plat_path_kind(from), LC_PATH_NONE);
    CHECK_EQ_INT(lc_plat_read_file(to, 100, &data, &len, err, sizeof err), 0);
    CHECK(data && !strcmp(data, "new content"));
    free(data);
    err[0] = '\0';
    CHECK_EQ_INT(lc_plat_rename(from, to, err, sizeof err), LC_ERR_IO); /* from is gone */
    CHECK(err[0] != '\0');
}

static void test_ip(void)
{
    uint8_t a[16];
    char buf[LC_PLAT_IP_STRLEN];
    CHECK_EQ_INT(lc_plat_ip_parse("192.168.1.20", a), 4);
    CHECK(a[0] == 192 && a[1] == 168 && a[2] == 1 && a[3] == 20);
    CHECK(!strcmp(lc_plat_ip_format(4, a, buf, sizeof buf), "192.168.1.20"));
    CHECK_EQ_INT(lc_plat_ip_parse("::1", a), 6);
    CHECK(a[15] == 1 && a[0] == 0);
    CHECK(!strcmp(lc_plat_ip_format(6, a, buf, sizeof buf), "::1"));
    CHECK_EQ_INT(lc_plat_ip_parse("fd00::a:b", a), 6);
    CHECK(!strcmp(lc_plat_ip_format(6, a, buf, sizeof buf), "fd00::a:b"));
    CHECK_EQ_INT(lc_plat_ip_parse("localhost", a), 0);
    CHECK_EQ_INT(lc_plat_ip_parse("1.2.3", a), 0);
    CHECK_EQ_INT(lc_plat_ip_parse("", a), 0);
    CHECK(!lc_plat_if_exists("no-such-interface-0"));
}

static int addrs_seen, addrs_bad, if_bad;
static void on_addr(void *user, const char *ip, const char *ifname)
{
    uint8_t a[16];
    unsigned index = 0;
    bool loopback = true;
    (void)user;
    addrs_seen++;
    if (lc_plat_ip_parse(ip, a) != 4 || !ifname || !*ifname)
        addrs_bad++;
    /* every address of ours names an interface, and a loopback one says so (mDNS's --bind) */
    if (lc_plat_if_index(ip, &index, &loopback) || index == 0 || loopback != (a[0] == 127))
        if_bad++;
    fprintf(stderr, "   address %s (%s)\n", ip, ifname ? ifname : "?");
}

static void test_addresses_and_limits(void)
{
    addrs_seen = addrs_bad = 0;
    CHECK_EQ_INT(lc_plat_ipv4_addrs(on_addr, NULL), 0);
    CHECK(addrs_seen >= 1); /* at least the loopback interface */
    CHECK_EQ_INT(addrs_bad, 0);
    CHECK_EQ_INT(if_bad, 0);
    unsigned index = 99;
    bool loopback = true;
    CHECK_EQ_INT(lc_plat_if_index("0.0.0.0", &index, &loopback), 0); /* every interface */
    CHECK(index == 0 && !loopback);
    CHECK_EQ_INT(lc_plat_if_index("::", &index, &loopback), 0);
    CHECK(index == 0 && !loopback);
    CHECK_EQ_INT(lc_plat_if_index("127.0.0.9", &index, &loopback), 0); /* lo serves 127/8 */
    CHECK(loopback);
    CHECK_EQ_INT(lc_plat_if_index("203.0.113.77", &index, &loopback), LC_ERR_NOT_FOUND);
    CHECK_EQ_INT(lc_plat_if_index("no-such-interface-0", &index, &loopback), LC_ERR_NOT_FOUND);
    unsigned now = 0;
    CHECK_EQ_INT(lc_plat_fd_limit(0, &now), 0);
    CHECK(now >= 64);
}

/* The durable write's file is private (the API token's file): POSIX mode 0600, Windows a
 * protected DACL for its owner, SYSTEM and Administrators — read back the way server/state.c
 * checks the token file. */
static void test_private_commit(void)
{
    char f[600], err[256] = "", buf[64];
    size_t len = 0;
    bool others = true;
    join(f, sizeof f, "secret");
    CHECK_EQ_INT(lc_plat_file_commit(f, "s3cret", 6, LC_FILE_CREATE_EXCL, err, sizeof err), 0);
    CHECK_EQ_INT(lc_plat_file_commit(f, "other", 5, LC_FILE_CREATE_EXCL, err, sizeof err),
                 LC_ERR_AGAIN);
    CHECK_EQ_INT(lc_plat_read_small_file(f, buf, sizeof buf, &len, &others, err, sizeof err), 0);
    CHECK(len == 6 && !strcmp(buf, "s3cret"));
    CHECK(!others);
}

static int g_argc;
static char **g_argv;
static void test_args_utf8(void)
{
    int argc = g_argc;
    char **argv = g_argv, **envp = NULL;
    CHECK_EQ_INT(lc_plat_args_utf8(&argc, &argv, &envp), 0);
    CHECK(argc >= 1 && argv && argv[0]);
    const char *found = NULL;
    for (char **e = envp; e && *e; e++)
        if (!strncmp(*e, "LC_TEST_UTF8=", 13))
            found = *e + 13;
    CHECK(found != NULL);
    CHECK(found && !strcmp(found, "\xc3\xa9t\xc3\xa9"));
}

int main(int argc, char **argv)
{
    char err[256];
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = getenv("TEMP");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    snprintf(dir, sizeof dir, "%s%clc-plat-io-%llu", tmp, LC_PLAT_PATH_SEPS[0],
             (unsigned long long)lc_plat_now_ns());
    if (lc_plat_mkdirs(dir, err, sizeof err)) {
        fprintf(stderr, "cannot create %s: %s\n", dir, err);
        return 1;
    }
    g_argc = argc;
    g_argv = argv;
    static const lc_test_case cases[] = {
        {"kinds_and_access", test_kinds_and_access},
        {"read_file", test_read_file},
        {"realpath", test_realpath},
        {"rename", test_rename},
        {"private_commit", test_private_commit},
        {"ip", test_ip},
        {"addresses_and_limits", test_addresses_and_limits},
        {"args_utf8", test_args_utf8},
    };
    int rc = lc_test_main(cases, sizeof cases / sizeof cases[0], argc, argv);
    if (rc == 0) { /* on a failure the files stay in dir to be looked at */
        static const char *names[] = {"a.txt", "b.txt", "empty", "c.txt", "target", "secret", "sub", ""};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            char p[600];
            join(p, sizeof p, names[i]);
            (void)remove(names[i][0] ? p : dir); /* Windows' remove() leaves the two folders */
        }
    }
    return rc;
}
