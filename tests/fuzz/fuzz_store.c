/*
 * libFuzzer: the sessions.json parser and the store around it (a file an operator or a crash may
 * have mangled). The input is the file.
 *
 * Besides what ASan/UBSan catch, every input must keep these promises (session.h, docs/server.md);
 * a broken one aborts, so libFuzzer reports the input and keeps it:
 *   1. lc_sessions_parse_store refuses with a message, or returns 0..max sessions that are all
 *      fit to serve: a valid GUID in canonical (lower-case) form, no id twice, volume 0..100, a
 *      name lc_session_patch_check accepts, persisted (only those are ever on disk), no
 *      connections, timestamps in [0, 1e15), in created order;
 *   2. a lowered limit keeps the most recently seen: with max 4 the result is part of the max-64
 *      one, and no session it dropped was seen later than one it kept;
 *   3. the store loads exactly what the parser returns: the input written as sessions.json and
 *      opened with lc_sessions_create gives the same sessions, and a file the parser refuses is
 *      moved aside byte for byte (sessions.json.corrupt-*), reported, and the table starts empty;
 *   4. a loaded store re-serializes and re-loads to the same sessions: a change and its undo make
 *      the writer write the table exactly once, and the file it writes parses back to the same
 *      sessions, every field equal;
 *   5. groups (version 2): lc_groups_parse_store refuses with a message or returns at most
 *      LC_GROUPS_MAX valid groups (canonical unique ids, values the API accepts); a file is
 *      loaded only when both parsers accept it, a session naming a group the file lacks loads in
 *      none, and the groups survive the round trip of 4.
 * 3 and 4 go through the real store (writer thread, temp file, fsync, rename) in a directory on
 * /dev/shm (/tmp where there is none). That costs ~2 ms an input (a thread started and joined, under ASan), 100x the parse,
 * so every input the parser accepts goes through it, but only one refused input in 16 (chosen by
 * a hash of its bytes, so a saved input replays the same way): refusals are most of what the
 * fuzzer generates, and past the parser the store treats them all alike (rename aside).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX 64
#define SMALL_MAX 4

#define MUST(cond)                                                                                 \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_store: broken invariant at line %d: %s\n", __LINE__, #cond);     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static bool same_session(const lc_session_info *a, const lc_session_info *b)
{
    return !strcmp(a->id, b->id) && !strcmp(a->name, b->name) && a->volume == b->volume &&
           a->muted == b->muted && a->persist == b->persist && a->created_ms == b->created_ms &&
           a->last_seen_ms == b->last_seen_ms && a->connections == b->connections &&
           a->latency_trim_ms == b->latency_trim_ms && !strcmp(a->stream, b->stream) &&
           !strcmp(a->group, b->group);
}

/* Invariant 5: the groups of a file. */
static int groups_checked(const uint8_t *data, size_t size, lc_group_info *out)
{
    char err[200] = "";
    int n = lc_groups_parse_store((const char *)data, size, out, LC_GROUPS_MAX, err, sizeof err);
    if (n < 0) {
        MUST(n == LC_ERR_PARSE && err[0] != '\0');
        return n;
    }
    MUST(n <= LC_GROUPS_MAX);
    for (int i = 0; i < n; i++) {
        const lc_group_info *g = &out[i];
        char low[LC_SESSION_ID_LEN + 1];
        MUST(lc_session_id_canonical(low, g->id) == 0 && !strcmp(low, g->id));
        for (int k = 0; k < i; k++)
            MUST(strcmp(out[k].id, g->id) != 0);
        lc_group_patch p = {.has_name = true, .has_volume = true, .volume = g->volume,
                            .has_sync_delay = true, .sync_delay_ms = g->sync_delay_ms,
                            .has_stream = g->stream[0] != '\0'};
        memcpy(p.name, g->name, sizeof p.name);
        memcpy(p.stream, g->stream, sizeof p.stream);
        MUST(lc_group_patch_check(&p, NULL, 0) == 0);
    }
    return n;
}

static bool same_groups(const lc_group_info *a, size_t na, const lc_group_info *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i].id, b[i].id) || strcmp(a[i].name, b[i].name) || strcmp(a[i].stream, b[i].stream) ||
            a[i].volume != b[i].volume || a[i].muted != b[i].muted || a[i].sync != b[i].sync ||
            a[i].sync_delay_ms != b[i].sync_delay_ms)
            return false;
    return true;
}

static const lc_session_info *find(const lc_session_info *t, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i].id, id))
            return &t[i];
    return NULL;
}

/* The same sessions, in any order (ids are unique, so equal counts + every one found = equal). */
static bool same_set(const lc_session_info *a, size_t na, const lc_session_info *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        const lc_session_info *o = find(b, nb, a[i].id);
        if (!o || !same_session(&a[i], o))
            return false;
    }
    return true;
}

/* Invariant 1: a refusal says why; a success is in bounds, canonical and in order. */
static int parse_checked(const uint8_t *data, size_t size, lc_session_info *out, size_t max)
{
    char err[200] = "";
    int n = lc_sessions_parse_store((const char *)data, size, out, max, err, sizeof err);
    if (n < 0) {
        MUST(n == LC_ERR_PARSE || n == LC_ERR_NOMEM);
        MUST(err[0] != '\0');
        return n;
    }
    MUST((size_t)n <= max);
    for (int i = 0; i < n; i++) {
        const lc_session_info *e = &out[i];
        MUST(memchr(e->id, '\0', sizeof e->id) == e->id + LC_SESSION_ID_LEN);
        MUST(lc_session_id_valid(e->id));
        for (int k = 0; k < LC_SESSION_ID_LEN; k++)
            MUST(!(e->id[k] >= 'A' && e->id[k] <= 'F'));
        for (int k = 0; k < i; k++)
            MUST(strcmp(out[k].id, e->id) != 0);
        MUST(e->volume >= 0 && e->volume <= LC_SESSION_VOLUME_MAX);
        MUST(memchr(e->name, '\0', sizeof e->name) != NULL);
        lc_session_patch p = {.has_volume = true, .volume = e->volume, .has_name = true};
        memcpy(p.name, e->name, sizeof p.name);
        MUST(lc_session_patch_check(&p, NULL, 0) == 0);
        MUST(e->persist && e->connections == 0);
        MUST(e->created_ms >= 0 && e->created_ms < 1000000000000000LL);
        MUST(e->last_seen_ms >= 0 && e->last_seen_ms < 1000000000000000LL);
        MUST(i == 0 || out[i - 1].created_ms <= e->created_ms);
    }
    return n;
}

/* Empties the state directory between inputs. */
static void clear_dir(const char *dir)
{
    DIR *d = opendir(dir);
    MUST(d != NULL);
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            MUST(unlink(p) == 0);
        }
    closedir(d);
}

/* The whole file `name` in dir (malloc'd, *len set), NULL if it does not exist. */
static uint8_t *slurp(const char *dir, const char *name, size_t *len)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    MUST(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    MUST(n >= 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)n + 1);
    MUST(buf != NULL);
    MUST(fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* The one sessions.json.corrupt-* file in dir (its name copied into out), or 0 if none. */
static int corrupt_name(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    MUST(d != NULL);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "sessions.json.corrupt-", 22)) {
            snprintf(out, cap, "%s", e->d_name);
            found++;
        }
    closedir(d);
    MUST(found <= 1);
    return found;
}

static char state_dir[64]; /* the state directory, created once, removed at exit */

static void remove_dir(void)
{
    clear_dir(state_dir);
    rmdir(state_dir);
}

/* FNV-1a: which refused inputs also go through the store. */
static uint32_t hash(const uint8_t *data, size_t size)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    return h;
}

static lc_sessions *open_store(const char *dir, char *err, size_t errlen)
{
    lc_sessions_config cfg;
    lc_sessions_config_default(&cfg);
    cfg.state_dir = dir;
    cfg.max_sessions = MAX;
    lc_sessions *s = NULL;
    MUST(lc_sessions_create(&s, &cfg, NULL, NULL, err, errlen) == 0);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lc_session_info parsed[MAX], small[SMALL_MAX], loaded[MAX], again[MAX];
    static lc_group_info groups[LC_GROUPS_MAX], lgroups[LC_GROUPS_MAX], agroups[LC_GROUPS_MAX];
    if (!state_dir[0]) {
        /* tmpfs where there is one (fsync and rename cost nothing there), else /tmp */
        snprintf(state_dir, sizeof state_dir, "/dev/shm/lc-fuzz-store-XXXXXX");
        if (!mkdtemp(state_dir)) {
            snprintf(state_dir, sizeof state_dir, "/tmp/lc-fuzz-store-XXXXXX");
            MUST(mkdtemp(state_dir) != NULL);
        }
        /* Every corrupt input is logged as an error by the store: millions of lines. The
         * invariants below check what those lines would report. */
        lc_log_set_level((lc_log_level)(LC_LOG_ERROR + 1));
        atexit(remove_dir);
    }

    int n = parse_checked(data, size, parsed, MAX);
    int ng = groups_checked(data, size, groups);
    bool file_ok = n >= 0 && ng >= 0;

    /* 2: a lowered limit. Only comparable when the file holds no more than MAX sessions (the
     * max-64 result is then the whole file). */
    int k = parse_checked(data, size, small, SMALL_MAX);
    MUST((n < 0) == (k < 0));
    if (n >= 0 && n < MAX) {
        MUST(k == (n < SMALL_MAX ? n : SMALL_MAX));
        int64_t oldest_kept = INT64_MAX;
        for (int i = 0; i < k; i++) {
            const lc_session_info *e = find(parsed, (size_t)n, small[i].id);
            MUST(e && same_session(e, &small[i]));
            if (e->last_seen_ms < oldest_kept)
                oldest_kept = e->last_seen_ms;
        }
        for (int i = 0; i < n; i++)
            if (!find(small, (size_t)k, parsed[i].id))
                MUST(parsed[i].last_seen_ms <= oldest_kept);
    }

    /* 3: the store loads what the parser returns, or moves the file aside untouched. */
    if (!file_ok && hash(data, size) % 16)
        return 0;
    clear_dir(state_dir);
    char path[128];
    snprintf(path, sizeof path, "%s/sessions.json", state_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    MUST(fd >= 0);
    MUST(size == 0 || write(fd, data, size) == (ssize_t)size);
    close(fd);
    char err[512] = "";
    lc_sessions *s = open_store(state_dir, err, sizeof err);
    size_t count = lc_sessions_list(s, loaded, MAX);
    char aside[256];
    if (!file_ok) {
        MUST(count == 0);
        MUST(strstr(err, "moved aside") != NULL);
        MUST(corrupt_name(state_dir, aside, sizeof aside) == 1);
        size_t len = 0;
        uint8_t *kept = slurp(state_dir, aside, &len);
        MUST(kept && len == size && (size == 0 || !memcmp(kept, data, size)));
        free(kept);
        MUST(slurp(state_dir, "sessions.json", &len) == NULL);
        lc_sessions_destroy(s);
        return 0;
    }
    MUST(err[0] == '\0' && corrupt_name(state_dir, aside, sizeof aside) == 0);
    for (int i = 0; i < n; i++) { /* a group the file lacks: the session is in none */
        bool known = false;
        for (int g = 0; g < ng && !known; g++)
            known = !strcmp(parsed[i].group, groups[g].id);
        if (!known)
            parsed[i].group[0] = '\0';
    }
    MUST(same_set(parsed, (size_t)n, loaded, count));
    size_t lg = lc_groups_list(s, lgroups, LC_GROUPS_MAX);
    MUST(same_groups(groups, (size_t)ng, lgroups, lg));

    /* 4: make the writer write the table unchanged (a change and its undo), then re-load it. */
    lc_session_info x;
    if (count) {
        lc_session_patch flip = {.has_muted = true, .muted = !loaded[0].muted};
        lc_session_patch back = {.has_muted = true, .muted = loaded[0].muted};
        MUST(lc_sessions_patch(s, loaded[0].id, &flip, &x) == 0);
        MUST(lc_sessions_patch(s, loaded[0].id, &back, &x) == 0);
    } else {
        static const char tmp_id[] = "00000000-0000-4000-8000-000000000000";
        lc_session_patch none = {.has_volume = false};
        bool created = false;
        MUST(lc_sessions_put(s, tmp_id, &none, true, &x, &created) == 0 && created);
        MUST(lc_sessions_delete(s, tmp_id) == 0);
    }
    MUST(lc_sessions_flush(s) == 0);
    lc_sessions_stats st;
    lc_sessions_get_stats(s, &st);
    MUST(st.writes == 1 && st.write_failures == 0);
    lc_sessions_destroy(s);

    size_t len = 0;
    uint8_t *written = slurp(state_dir, "sessions.json", &len);
    MUST(written != NULL);
    int m = parse_checked(written, len, again, MAX);
    if (m < 0 || !same_set(loaded, count, again, (size_t)m))
        fprintf(stderr, "fuzz_store: the store wrote %.*s\n", (int)len, (const char *)written);
    MUST(m >= 0 && same_set(loaded, count, again, (size_t)m));
    int ag = groups_checked(written, len, agroups);
    MUST(ag >= 0 && same_groups(lgroups, lg, agroups, (size_t)ag));
    free(written);
    return 0;
}
