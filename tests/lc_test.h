/*
 * lc_test.h — the one tiny test harness every C test uses. A test binary is a list of
 * functions; each failed CHECK prints file:line and the expression, and the binary exits non-zero
 * if any check failed. ctest runs the binaries and prints its own pass/fail summary.
 */
#ifndef LC_TEST_H
#define LC_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int lc_test_failures;
static int lc_test_checks;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        lc_test_checks++;                                                                      \
        if (!(cond)) {                                                                         \
            lc_test_failures++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);           \
        }                                                                                      \
    } while (0)

/* Like CHECK but prints both values (as doubles) and a context message. */
#define CHECK_NEAR(a, b, tol, ...)                                                             \
    do {                                                                                       \
        lc_test_checks++;                                                                      \
        double lc_a_ = (double)(a), lc_b_ = (double)(b);                                       \
        if (!(fabs(lc_a_ - lc_b_) <= (double)(tol))) {                                         \
            lc_test_failures++;                                                                \
            fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %g, %s = %g, tol %g: ", __FILE__,  \
                    __LINE__, #a, lc_a_, #b, lc_b_, (double)(tol));                            \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
        }                                                                                      \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                     \
    do {                                                                                       \
        lc_test_checks++;                                                                      \
        long long lc_a_ = (long long)(a), lc_b_ = (long long)(b);                              \
        if (lc_a_ != lc_b_) {                                                                  \
            lc_test_failures++;                                                                \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s = %lld, %s = %lld\n", __FILE__,        \
                    __LINE__, #a, lc_a_, #b, lc_b_);                                           \
        }                                                                                      \
    } while (0)

typedef struct {
    const char *name;
    void (*fn)(void);
} lc_test_case;

/* Runs all cases (or only those named in argv) and returns the exit status. */
static inline int lc_test_main(const lc_test_case *cases, size_t n, int argc, char **argv)
{
    int ran = 0;
    for (size_t i = 0; i < n; i++) {
        int selected = argc < 2;
        for (int a = 1; a < argc; a++)
            if (!strcmp(argv[a], cases[i].name))
                selected = 1;
        if (!selected)
            continue;
        int before = lc_test_failures;
        fprintf(stderr, "-- %s\n", cases[i].name);
        cases[i].fn();
        fprintf(stderr, "   %s\n", lc_test_failures == before ? "ok" : "FAILED");
        ran++;
    }
    fprintf(stderr, "%d cases, %d checks, %d failed\n", ran, lc_test_checks, lc_test_failures);
    if (ran == 0) {
        fprintf(stderr, "no test case matched\n");
        return 1;
    }
    return lc_test_failures ? 1 : 0;
}

#ifndef _WIN32
/* lc_test_main inside a fresh directory /tmp/lc-test-TAG-XXXXXX (its path in dir[64]), removed
 * with everything in it afterwards; a failure to create or remove it fails the run. POSIX only
 * (mkdtemp, rm -rf): the tests built for Windows make their folders through lc_platform. */
static inline int lc_test_main_in_tmpdir(const lc_test_case *cases, size_t n, int argc,
                                         char **argv, char dir[64], const char *tag)
{
    snprintf(dir, 64, "/tmp/lc-test-%.30s-XXXXXX", tag);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    int rc = lc_test_main(cases, n, argc, argv);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) != 0 ? 1 : rc;
}
#endif

#define LC_TEST_MAIN(...)                                                                      \
    int main(int argc, char **argv)                                                            \
    {                                                                                          \
        static const lc_test_case cases_[] = {__VA_ARGS__};                                    \
        return lc_test_main(cases_, sizeof cases_ / sizeof cases_[0], argc, argv);             \
    }
#define TEST(fn) {#fn, fn}

#endif
