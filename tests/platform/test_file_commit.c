/*
 * test_file_commit.c — lc_plat_file_commit, the one durable write (the session store replaces
 * sessions.json with it, the API token is created with it): replace, create-exclusive, the new
 * file's mode, no temp file left on success or failure, and the failing call named; and the state
 * directory's other primitives: mkdir -p, the one-holder lock, a small file read, the default.
 */
#include "lc_test.h"
#include "platform.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static char *slurp(const char *path)
{
    static char buf[256];
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Entries in `dir` other than the names given (NULL-terminated). */
static int others(const char *keep1, const char *keep2)
{
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            (!keep1 || strcmp(e->d_name, keep1)) && (!keep2 || strcmp(e->d_name, keep2)))
            n++;
    if (d)
        closedir(d);
    return n;
}

static void replace(void)
{
    char path[128], err[256] = "";
    snprintf(path, sizeof path, "%s/a.json", dir);
    CHECK_EQ_INT(lc_plat_file_commit(path, "one\n", 4, LC_FILE_REPLACE, err, sizeof err), 0);
    CHECK(slurp(path) && !strcmp(slurp(path), "one\n"));
    CHECK_EQ_INT(lc_plat_file_commit(path, "two!\n", 5, LC_FILE_REPLACE, err, sizeof err), 0);
    CHECK(slurp(path) && !strcmp(slurp(path), "two!\n"));
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK_EQ_INT(others("a.json", NULL), 0); /* no temp file left */
    CHECK_EQ_INT(lc_plat_file_commit(path, "", 0, LC_FILE_REPLACE, err, sizeof err), 0);
    CHECK(slurp(path) && !strcmp(slurp(path), ""));
}

static void create_exclusive(void)
{
    char path[128], err[256] = "";
    snprintf(path, sizeof path, "%s/token", dir);
    CHECK_EQ_INT(lc_plat_file_commit(path, "first\n", 6, LC_FILE_CREATE_EXCL, err, sizeof err), 0);
    /* a second creator loses and the first content stays */
    CHECK_EQ_INT(lc_plat_file_commit(path, "second\n", 7, LC_FILE_CREATE_EXCL, err, sizeof err),
                 LC_ERR_AGAIN);
    CHECK(strstr(err, "token") && strstr(err, "link"));
    CHECK(slurp(path) && !strcmp(slurp(path), "first\n"));
    CHECK_EQ_INT(others("a.json", "token"), 0);
}

static void failures_name_the_call(void)
{
    char path[160], err[256] = "";
    /* the directory does not exist: the temp file cannot be opened */
    snprintf(path, sizeof path, "%s/missing/x.json", dir);
    CHECK_EQ_INT(lc_plat_file_commit(path, "x", 1, LC_FILE_REPLACE, err, sizeof err), LC_ERR_IO);
    CHECK(strstr(err, "open") && strstr(err, "missing") && strstr(err, "No such file"));
    /* a directory in the way: written and flushed, but the rename fails; nothing is left */
    snprintf(path, sizeof path, "%s/busy", dir);
    CHECK(mkdir(path, 0700) == 0);
    CHECK_EQ_INT(lc_plat_file_commit(path, "x", 1, LC_FILE_REPLACE, err, sizeof err), LC_ERR_IO);
    CHECK(strstr(err, "rename") && strstr(err, "busy"));
    CHECK_EQ_INT(others("a.json", "token") - 1, 0); /* only "busy" itself */
    rmdir(path);
}

static void state_dir_primitives(void)
{
    char path[160], err[256] = "", buf[64];
    size_t len = 0;
    bool shared = true;
    /* mkdir -p, private */
    snprintf(path, sizeof path, "%s/state/a/b", dir);
    CHECK_EQ_INT(lc_plat_mkdirs(path, err, sizeof err), 0);
    CHECK_EQ_INT(lc_plat_mkdirs(path, err, sizeof err), 0); /* again: already there is fine */
    struct stat st;
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
    /* one holder of a lock; a second (another open of the file) is refused until it is gone */
    snprintf(path, sizeof path, "%s/state/lock", dir);
    lc_plat_lock *a = NULL, *b = NULL;
    CHECK_EQ_INT(lc_plat_lock_file(path, &a, err, sizeof err), 0);
    CHECK_EQ_INT(lc_plat_lock_file(path, &b, err, sizeof err), LC_ERR_STATE);
    CHECK(b == NULL && strstr(err, "locked by another process"));
    lc_plat_unlock(a);
    CHECK_EQ_INT(lc_plat_lock_file(path, &b, err, sizeof err), 0);
    lc_plat_unlock(b);
    /* a small file: missing, then its content, then who may read it */
    snprintf(path, sizeof path, "%s/state/token", dir);
    CHECK_EQ_INT(lc_plat_read_small_file(path, buf, sizeof buf, &len, &shared, err, sizeof err),
                 LC_ERR_NOT_FOUND);
    CHECK_EQ_INT(lc_plat_file_commit(path, "abc\n", 4, LC_FILE_CREATE_EXCL, err, sizeof err), 0);
    CHECK_EQ_INT(lc_plat_read_small_file(path, buf, sizeof buf, &len, &shared, err, sizeof err), 0);
    CHECK(len == 4 && !strcmp(buf, "abc\n") && !shared);
    CHECK(chmod(path, 0644) == 0);
    CHECK_EQ_INT(lc_plat_read_small_file(path, buf, sizeof buf, &len, &shared, err, sizeof err), 0);
    CHECK(shared);
    /* the default: XDG_STATE_HOME if absolute, else HOME; neither is an answer too */
    setenv("XDG_STATE_HOME", "/x/state", 1);
    CHECK(lc_plat_state_dir_default(buf, sizeof buf, false) == 0 &&
          !strcmp(buf, "/x/state/loopcast"));
    setenv("XDG_STATE_HOME", "relative", 1);
    setenv("HOME", "/home/u", 1);
    CHECK(lc_plat_state_dir_default(buf, sizeof buf, false) == 0 &&
          !strcmp(buf, "/home/u/.local/state/loopcast"));
    unsetenv("XDG_STATE_HOME");
    unsetenv("HOME");
    CHECK_EQ_INT(lc_plat_state_dir_default(buf, sizeof buf, false), LC_ERR_NOT_FOUND);
}

int main(int argc, char **argv)
{
    static const lc_test_case cases[] = {TEST(replace), TEST(create_exclusive),
                                         TEST(failures_name_the_call), TEST(state_dir_primitives)};
    return lc_test_main_in_tmpdir(cases, sizeof cases / sizeof cases[0], argc, argv, dir, "commit");
}
