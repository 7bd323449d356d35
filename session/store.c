/*
 * store.c — sessions.json: load at start, write atomically and coalesced from a writer thread.
 *
 * Why a thread: fsync takes milliseconds to seconds on a busy SD card; the lws service thread
 * must never wait for it, and the capture thread never comes near it. Why coalesce: a volume
 * slider drag is a hundred PATCHes in two seconds, and one write at the end says the same.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "session_int.h"

#define STORE_FILE "sessions.json"
#define STORE_MAX_BYTES (64u << 20) /* far above max_sessions × ~250 bytes; guards a bogus file */
#define RETRY_MS 1000u

int lc_utf8_name_valid(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max)
        return 0;
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p;
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || (size_t)(end - p) < len)
            return 0;
        if (len == 1 && (c < 0x20 || c == 0x7f))
            return 0;
        unsigned cp = len == 1 ? c : c & (0x7fu >> len);
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3fu);
        }
        /* overlong forms, surrogates and out-of-range code points are not UTF-8 */
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp < 0xa0))
            return 0;
        p += len;
    }
    return 1;
}

static int entry_from_json(const cJSON *o, lc_session_info *e)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *vol = cJSON_GetObjectItemCaseSensitive(o, "volume");
    const cJSON *muted = cJSON_GetObjectItemCaseSensitive(o, "muted");
    const cJSON *trim = cJSON_GetObjectItemCaseSensitive(o, "latency_trim_ms"); /* optional */
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(o, "stream");         /* optional */
    const cJSON *group = cJSON_GetObjectItemCaseSensitive(o, "group");           /* version 2 */
    const cJSON *created = cJSON_GetObjectItemCaseSensitive(o, "created");
    const cJSON *seen = cJSON_GetObjectItemCaseSensitive(o, "last_seen");
    if (!cJSON_IsString(id) || !lc_session_id_valid(id->valuestring) || !cJSON_IsNumber(vol) ||
        !lc_session_volume_valid(vol->valuedouble) || !cJSON_IsBool(muted))
        return LC_ERR_PARSE;
    if (name && (!cJSON_IsString(name) || !lc_utf8_name_valid(name->valuestring, LC_SESSION_NAME_MAX)))
        return LC_ERR_PARSE;
    if (trim && (!cJSON_IsNumber(trim) || !lc_session_trim_valid(trim->valuedouble)))
        return LC_ERR_PARSE;
    if (stream && (!cJSON_IsString(stream) || !lc_session_stream_name_valid(stream->valuestring)))
        return LC_ERR_PARSE;
    if (group && (!cJSON_IsString(group) || !lc_session_id_valid(group->valuestring)))
        return LC_ERR_PARSE;
    memset(e, 0, sizeof *e);
    if (stream)
        snprintf(e->stream, sizeof e->stream, "%s", stream->valuestring);
    if (group)
        lc_session_id_canonical(e->group, group->valuestring); /* valid: checked above */
    lc_session_id_canonical(e->id, id->valuestring); /* valid: checked above */
    if (name)
        snprintf(e->name, sizeof e->name, "%s", name->valuestring);
    e->volume = (int)vol->valuedouble;
    e->muted = cJSON_IsTrue(muted);
    e->latency_trim_ms = trim ? (int)trim->valuedouble : 0; /* absent: a file from before it */
    e->persist = true;
    /* timestamps are informative: a bad one becomes 0 rather than costing the settings */
    e->created_ms = cJSON_IsNumber(created) && created->valuedouble >= 0 && created->valuedouble < 1e15
                        ? (int64_t)created->valuedouble : 0;
    e->last_seen_ms = cJSON_IsNumber(seen) && seen->valuedouble >= 0 && seen->valuedouble < 1e15
                          ? (int64_t)seen->valuedouble : e->created_ms;
    return 0;
}

static int by_last_seen_desc(const void *a, const void *b)
{
    const lc_session_info *x = a, *y = b;
    return (x->last_seen_ms < y->last_seen_ms) - (x->last_seen_ms > y->last_seen_ms);
}

static int by_created(const void *a, const void *b)
{
    const lc_session_info *x = a, *y = b;
    return (x->created_ms > y->created_ms) - (x->created_ms < y->created_ms);
}

/* The file's root, version 1 or 2 ({"version":N,"sessions":[...]}, 2 with "groups":[...]);
 * NULL with a message. */
static cJSON *parse_root(const char *json, size_t len, int *version, char *errbuf, size_t errlen)
{
    const char *end = NULL;
    /* cJSON_ParseWithOpts, never cJSON_GetErrorPtr: the latter is a global (not thread-safe) */
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        lc_errf(errbuf, errlen, "not valid JSON (near byte %zu)", end ? (size_t)(end - json) : (size_t)0);
        return NULL;
    }
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "sessions");
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(root, "groups");
    *version = cJSON_IsNumber(ver) ? (int)ver->valuedouble : 0;
    if (!cJSON_IsObject(root) || !cJSON_IsNumber(ver) || (ver->valuedouble != 1 && ver->valuedouble != 2) ||
        !cJSON_IsArray(arr) || (*version == 2 && groups && !cJSON_IsArray(groups))) {
        lc_errf(errbuf, errlen, "not a version 1 or 2 sessions file (needs {\"version\":1,\"sessions\":[...]}"
                " or {\"version\":2,\"sessions\":[...],\"groups\":[...]})");
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

static int group_from_json(const cJSON *o, lc_group_info *g)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(o, "stream");
    const cJSON *vol = cJSON_GetObjectItemCaseSensitive(o, "volume");
    const cJSON *muted = cJSON_GetObjectItemCaseSensitive(o, "muted");
    const cJSON *sync = cJSON_GetObjectItemCaseSensitive(o, "sync");
    const cJSON *delay = cJSON_GetObjectItemCaseSensitive(o, "sync_delay_ms");
    if (!cJSON_IsObject(o) || !cJSON_IsString(id) || !lc_session_id_valid(id->valuestring) ||
        !cJSON_IsString(name) || !lc_utf8_name_valid(name->valuestring, LC_SESSION_NAME_MAX) ||
        !cJSON_IsString(stream) || (stream->valuestring[0] && !lc_session_stream_name_valid(stream->valuestring)) ||
        !cJSON_IsNumber(vol) || !lc_session_volume_valid(vol->valuedouble) || !cJSON_IsBool(muted) ||
        !cJSON_IsBool(sync) || !cJSON_IsNumber(delay) || delay->valuedouble < 0 ||
        delay->valuedouble > LC_GROUP_DELAY_MAX || delay->valuedouble != (int)delay->valuedouble)
        return LC_ERR_PARSE;
    memset(g, 0, sizeof *g);
    lc_session_id_canonical(g->id, id->valuestring);
    snprintf(g->name, sizeof g->name, "%s", name->valuestring);
    snprintf(g->stream, sizeof g->stream, "%s", stream->valuestring);
    g->volume = (int)vol->valuedouble;
    g->muted = cJSON_IsTrue(muted);
    g->sync = cJSON_IsTrue(sync);
    g->sync_delay_ms = (int)delay->valuedouble;
    return 0;
}

int lc_groups_parse_store(const char *json, size_t len, lc_group_info *out, size_t max,
                          char *errbuf, size_t errlen)
{
    int version;
    cJSON *root = parse_root(json, len, &version, errbuf, errlen);
    if (!root)
        return LC_ERR_PARSE;
    const cJSON *arr = version == 2 ? cJSON_GetObjectItemCaseSensitive(root, "groups") : NULL, *it;
    size_t n = 0;
    int rc = 0;
    cJSON_ArrayForEach(it, arr)
    {
        if (n == max) {
            lc_errf(errbuf, errlen, "more than %zu groups", max);
            rc = LC_ERR_PARSE;
            break;
        }
        if (group_from_json(it, &out[n]) < 0) {
            lc_errf(errbuf, errlen, "group entry %zu is malformed", n);
            rc = LC_ERR_PARSE;
            break;
        }
        for (size_t k = 0; k < n && !rc; k++)
            if (!strcmp(out[k].id, out[n].id)) {
                lc_errf(errbuf, errlen, "group %s appears twice", out[n].id);
                rc = LC_ERR_PARSE;
            }
        n++;
    }
    cJSON_Delete(root);
    return rc ? rc : (int)n;
}

int lc_sessions_parse_store(const char *json, size_t len, lc_session_info *out, size_t max,
                            char *errbuf, size_t errlen)
{
    int rc = LC_ERR_PARSE, version;
    lc_session_info *all = NULL;
    cJSON *root = parse_root(json, len, &version, errbuf, errlen);
    if (!root)
        goto fail;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "sessions");
    int total = cJSON_GetArraySize(arr);
    all = calloc(total > 0 ? (size_t)total : 1, sizeof *all);
    if (!all) {
        rc = LC_ERR_NOMEM;
        goto fail;
    }
    size_t n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsObject(it) || entry_from_json(it, &all[n]) < 0) {
            lc_errf(errbuf, errlen, "session entry %zu is malformed", n);
            goto fail;
        }
        for (size_t k = 0; k < n; k++)
            if (!memcmp(all[k].id, all[n].id, LC_SESSION_ID_LEN)) {
                lc_errf(errbuf, errlen, "session %s appears twice", all[n].id);
                goto fail;
            }
        n++;
    }
    if (n > max) {
        /* the limit was lowered since the file was written: keep the most recently seen */
        qsort(all, n, sizeof *all, by_last_seen_desc);
        n = max;
    }
    qsort(all, n, sizeof *all, by_created);
    memcpy(out, all, n * sizeof *out);
    rc = (int)n;
fail:
    free(all);
    cJSON_Delete(root);
    return rc;
}

static char *store_path(const lc_sessions *s, const char *suffix)
{
    size_t n = strlen(s->state_dir) + sizeof STORE_FILE + strlen(suffix) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%c%s%s", s->state_dir, LC_PLAT_PATH_SEPS[0], STORE_FILE, suffix);
    return p;
}

/* Keeps the evidence: sessions.json → sessions.json.corrupt-20261121T193059Z. */
static void move_aside(lc_sessions *s, const char *path, const char *why, char *errbuf, size_t errlen)
{
    char suffix[48], *aside, reason[256] = "";
    lc_plat_tm tm = {1970, 1, 1, 0, 0, 0};
    (void)lc_plat_gmtime(lc_plat_wall_ns() / 1000000000, &tm);
    snprintf(suffix, sizeof suffix, ".corrupt-%04d%02d%02dT%02d%02d%02dZ", tm.year, tm.mon,
             tm.mday, tm.hour, tm.min, tm.sec);
    if (!(aside = store_path(s, suffix)))
        return;
    if (lc_plat_rename(path, aside, reason, sizeof reason) == 0)
        lc_errf(errbuf, errlen, "%s: %s; moved aside to %s, starting with no sessions", path, why, aside);
    else
        lc_errf(errbuf, errlen, "%s: %s; could not move it aside (%s), starting with no sessions and "
                "not overwriting it until it is moved", path, why, reason);
    lc_log(LC_LOG_ERROR, "store", "%s", errbuf ? errbuf : why);
    free(aside);
}

int lc_store_load(lc_sessions *s, char *errbuf, size_t errlen)
{
    char why[256] = "", *buf = NULL, *path;
    size_t size = 0;
    if (lc_plat_mkdirs(s->state_dir, why, sizeof why)) {
        lc_errf(errbuf, errlen, "cannot create state dir %s: %s", s->state_dir, why);
        return LC_ERR_IO;
    }
    if (!(path = store_path(s, "")))
        return LC_ERR_NOMEM;
    int rc = lc_plat_read_file(path, STORE_MAX_BYTES, &buf, &size, why, sizeof why);
    if (rc == LC_ERR_NOMEM) {
        free(path);
        return rc;
    }
    if (rc == LC_ERR_NOT_FOUND && lc_plat_path_kind(path) == LC_PATH_NONE) {
        free(path); /* the first start */
        return 0;
    }
    if (rc == LC_ERR_NOT_FOUND)
        snprintf(why, sizeof why, "not a regular file");
    else if (rc == LC_ERR_LIMIT)
        snprintf(why, sizeof why, "larger than %u bytes", STORE_MAX_BYTES);
    if (rc)
        goto corrupt;
    int n = lc_sessions_parse_store(buf, size, s->tab, s->cfg.max_sessions, why, sizeof why);
    if (n < 0)
        goto corrupt;
    int ng = lc_groups_parse_store(buf, size, s->groups, LC_GROUPS_MAX, why, sizeof why);
    if (ng < 0)
        goto corrupt;
    s->n_groups = (size_t)ng;
    /* a session naming a group the file lacks (edited by hand) is simply in none */
    for (int i = 0; i < n; i++) {
        bool known = false;
        for (int k = 0; k < ng && !known; k++)
            known = !strcmp(s->tab[i].group, s->groups[k].id);
        if (!known)
            s->tab[i].group[0] = '\0';
    }
    s->count = (size_t)n;
    s->stats.loaded = (uint64_t)n;
    lc_log(LC_LOG_INFO, "store", "loaded %d sessions and %d groups from %s", n, ng, path);
    free(buf);
    free(path);
    return 0;
corrupt:
    free(buf);
    move_aside(s, path, why, errbuf, errlen);
    free(path);
    return 0;
}

/*
 * Serialises the persisted sessions (lock held) into s->snap, a buffer only the writer thread
 * uses and keeps from one write to the next: the same compact JSON cJSON_PrintUnformatted gave
 * (the loader still parses it with cJSON), written straight from the table.
 *
 * Why not a cJSON tree: building one cost ~13 small allocations (~850 bytes) per session, a
 * printer buffer doubled by realloc, and all of it freed again, up to five times a second, on the
 * writer thread's own glibc arena. glibc kept what that churn touched: the arena's resident size
 * rose in steps, 340 → 732 → 1412 → 2024 kB by 1,000 sessions (tests/soak/store_arena.c), and by
 * up to 2.8 MB within 30 s in a 10-minute soak — the soak's RSS steps (docs/reliability.md).
 * Now a write allocates nothing once the buffer has reached the text's size (it grows with 25 %
 * headroom, never shrinks): the writer's memory is that one buffer, of which the text's pages
 * (~150 bytes per persisted session, at most --max-sessions of them) are resident, and the lock
 * is held for a copy instead of a tree build.
 * Returns the text's length, or -1 (out of memory).
 */
#define SNAP_ENTRY_MAX (sizeof "{\"id\":\"\",\"name\":\"\",\"volume\":,\"muted\":false,\"latency_trim_ms\":," \
                        "\"created\":,\"last_seen\":,\"stream\":\"\",\"group\":\"\"},"                  \
                        + 2 * LC_SESSION_ID_LEN + 6 * LC_SESSION_NAME_MAX + LC_SESSION_STREAM_MAX + 4 * 20)
#define SNAP_GROUP_MAX (sizeof "{\"id\":\"\",\"name\":\"\",\"stream\":\"\",\"volume\":,\"muted\":false," \
                        "\"sync\":false,\"sync_delay_ms\":},"                                        \
                        + LC_SESSION_ID_LEN + 6 * LC_SESSION_NAME_MAX + LC_SESSION_STREAM_MAX + 2 * 20)

/* A name as a JSON string's contents, escaped as cJSON does it; names are validated UTF-8 without
 * control characters (lc_utf8_name_valid), but the escape is total anyway: ≤ 6 bytes a byte. */
static char *put_escaped(char *o, const char *name)
{
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *o++ = '\\';
            *o++ = (char)*c;
        } else if (*c < 0x20) {
            o += sprintf(o, "\\u%04x", *c);
        } else {
            *o++ = (char)*c;
        }
    }
    return o;
}
static long snapshot(lc_sessions *s)
{
    size_t persisted = 0;
    for (size_t i = 0; i < s->count; i++)
        persisted += s->tab[i].persist;
    size_t need = sizeof "{\"version\":1,\"sessions\":[],\"groups\":[]}\n" + persisted * SNAP_ENTRY_MAX +
                  s->n_groups * SNAP_GROUP_MAX;
    if (need > s->snap_cap) {
        /* grow with headroom: a table that gains a session per write reallocates now and then */
        size_t cap = need + need / 4;
        char *b = realloc(s->snap, cap);
        if (!b)
            return -1;
        s->snap = b;
        s->snap_cap = cap;
    }
    char *o = s->snap;
    /* Version 1 while there are no groups: an older loopcast (a rollback) still reads it, and
     * ignores the sessions' "stream" field. */
    o += sprintf(o, "{\"version\":%d,\"sessions\":[", s->n_groups ? 2 : 1);
    bool first = true;
    for (size_t i = 0; i < s->count; i++) {
        const lc_session_info *e = &s->tab[i];
        if (!e->persist)
            continue;
        o += sprintf(o, "%s{\"id\":\"%s\",\"name\":\"", first ? "" : ",", e->id);
        first = false;
        o = put_escaped(o, e->name);
        o += sprintf(o, "\",\"volume\":%d,\"muted\":%s,\"latency_trim_ms\":%d,\"created\":%lld,"
                        "\"last_seen\":%lld",
                     e->volume, e->muted ? "true" : "false", e->latency_trim_ms, (long long)e->created_ms,
                     (long long)e->last_seen_ms);
        /* stream names are [A-Za-z0-9_.-] and ids hex: nothing to escape */
        if (e->stream[0])
            o += sprintf(o, ",\"stream\":\"%s\"", e->stream);
        if (e->group[0])
            o += sprintf(o, ",\"group\":\"%s\"", e->group);
        *o++ = '}';
    }
    o += sprintf(o, "]");
    if (s->n_groups) {
        o += sprintf(o, ",\"groups\":[");
        for (size_t i = 0; i < s->n_groups; i++) {
            const lc_group_info *g = &s->groups[i];
            o += sprintf(o, "%s{\"id\":\"%s\",\"name\":\"", i ? "," : "", g->id);
            o = put_escaped(o, g->name);
            o += sprintf(o, "\",\"stream\":\"%s\",\"volume\":%d,\"muted\":%s,\"sync\":%s,"
                            "\"sync_delay_ms\":%d}",
                         g->stream, g->volume, g->muted ? "true" : "false", g->sync ? "true" : "false",
                         g->sync_delay_ms);
        }
        o += sprintf(o, "]");
    }
    o += sprintf(o, "}\n");
    return (long)(o - s->snap);
}

/* The old file or the new one, never half of one (lc_plat_file_commit: temp → fsync → rename →
 * fsync(dir)). `txt` ends with its newline (snapshot). */
static int write_atomic(lc_sessions *s, const char *txt, size_t len, char *err, size_t errlen)
{
    char *path = store_path(s, "");
    if (!path)
        return LC_ERR_NOMEM;
    int rc = lc_plat_file_commit(path, txt, len, LC_FILE_REPLACE, err, errlen);
    free(path);
    return rc == LC_ERR_LIMIT ? LC_ERR_IO : rc;
}

void lc_store_mark_dirty(lc_sessions *s)
{
    s->change_gen++;
    if (!s->dirty_since_ns)
        s->dirty_since_ns = lc_now_ns();
    if (s->writer_started)
        lc_cond_signal(s->wake);
}

static void writer_main(void *arg)
{
    lc_sessions *s = arg;
    unsigned delay = s->cfg.flush_delay_ms;
    lc_mutex_lock(s->lock);
    for (;;) {
        while (!s->stop && !s->flush_now && s->written_gen == s->change_gen)
            lc_cond_wait(s->wake, s->lock);
        if (s->written_gen == s->change_gen) {
            s->flush_now = false;
            lc_cond_broadcast(s->written);
            if (s->stop)
                break;
            continue;
        }
        /* coalesce: wait until the first unwritten change is `delay` old (unless told to hurry) */
        /* a monotonic deadline (lc_cond_wait_until): a wall-clock step cannot stall writes */
        uint64_t deadline = s->dirty_since_ns +
                            (uint64_t)(s->last_write_rc < 0 ? RETRY_MS : delay) * 1000000u;
        while (!s->stop && !s->flush_now && lc_cond_wait_until(s->wake, s->lock, deadline) == 0)
            ;
        uint64_t gen = s->change_gen;
        long len = snapshot(s); /* into s->snap: this thread's alone, so written unlocked */
        s->dirty_since_ns = 0;
        lc_mutex_unlock(s->lock);

        char err[160] = "";
        int rc = len >= 0 ? write_atomic(s, s->snap, (size_t)len, err, sizeof err) : LC_ERR_NOMEM;
        if (len < 0)
            snprintf(err, sizeof err, "out of memory serialising sessions");

        lc_mutex_lock(s->lock);
        s->last_write_rc = rc;
        if (rc == 0) {
            s->written_gen = gen;
            s->stats.writes++;
            s->stats.last_error[0] = 0;
        } else {
            s->stats.write_failures++;
            snprintf(s->stats.last_error, sizeof s->stats.last_error, "%s", err);
            lc_log(LC_LOG_ERROR, "store", "writing sessions failed, retrying in %u ms: %s", RETRY_MS, err);
            if (!s->dirty_since_ns)
                s->dirty_since_ns = lc_now_ns();
            if (s->stop) {
                lc_cond_broadcast(s->written);
                break; /* shutting down: one last attempt was made, give up */
            }
        }
        s->flush_now = false;
        lc_cond_broadcast(s->written);
    }
    lc_mutex_unlock(s->lock);
}

int lc_store_start(lc_sessions *s)
{
    s->written_gen = s->change_gen;
    if (lc_thread_create(&s->writer, writer_main, s) != 0)
        return LC_ERR_SYSTEM;
    s->writer_started = true;
    return 0;
}

int lc_sessions_flush(lc_sessions *s)
{
    if (!s->writer_started)
        return 0;
    lc_mutex_lock(s->lock);
    uint64_t target = s->change_gen;
    int rc = 0;
    while (s->written_gen < target) {
        uint64_t attempts = s->stats.writes + s->stats.write_failures;
        s->flush_now = true;
        lc_cond_signal(s->wake);
        while (s->stats.writes + s->stats.write_failures == attempts)
            lc_cond_wait(s->written, s->lock);
        if (s->written_gen < target && s->last_write_rc < 0) {
            rc = s->last_write_rc; /* the disk refused: report it, the writer keeps retrying */
            break;
        }
    }
    lc_mutex_unlock(s->lock);
    return rc;
}

void lc_store_stop(lc_sessions *s)
{
    if (!s->writer_started)
        return;
    lc_mutex_lock(s->lock);
    s->stop = true;
    lc_cond_signal(s->wake);
    lc_mutex_unlock(s->lock);
    lc_thread_join(s->writer);
    s->writer = NULL;
    s->writer_started = false;
    free(s->snap);
    s->snap = NULL;
    s->snap_cap = 0;
}
