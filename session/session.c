/*
 * session.c — the bounded GUID → settings table. Linear search is deliberate: the table is at
 * most a few thousand entries and changes at human speed (connects, API calls), so a hash would
 * buy nothing but code. The store (store.c) persists it.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session_int.h"

void lc_sessions_config_default(lc_sessions_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_sessions = 1000;
    cfg->flush_delay_ms = 200;
    cfg->default_volume = 100;
}

int lc_session_volume_valid(double v)
{
    return v >= 0 && v <= LC_SESSION_VOLUME_MAX && v == (double)(int)v;
}

int lc_session_trim_valid(double v)
{
    return v >= -LC_SESSION_TRIM_MAX && v <= LC_SESSION_TRIM_MAX && v == (double)(int)v;
}

int lc_session_id_valid(const char *id)
{
    if (!id || strlen(id) != LC_SESSION_ID_LEN)
        return 0;
    for (int i = 0; i < LC_SESSION_ID_LEN; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? id[i] != '-' : lc_hex_value(id[i]) < 0)
            return 0;
    }
    return 1;
}

int lc_session_id_new(char out[LC_SESSION_ID_LEN + 1])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return LC_ERR_SYSTEM;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, LC_SESSION_ID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
             b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return 0;
}

int lc_session_id_canonical(char out[LC_SESSION_ID_LEN + 1], const char *id)
{
    if (!lc_session_id_valid(id))
        return LC_ERR_INVALID;
    for (int i = 0; i < LC_SESSION_ID_LEN; i++)
        out[i] = (char)(id[i] >= 'A' && id[i] <= 'F' ? id[i] - 'A' + 'a' : id[i]);
    out[LC_SESSION_ID_LEN] = '\0';
    return 0;
}

lc_session_info *lc_sessions_find_locked(lc_sessions *s, const char *id)
{
    char low[LC_SESSION_ID_LEN + 1];
    if (lc_session_id_canonical(low, id))
        return NULL;
    for (size_t i = 0; i < s->count; i++)
        if (!memcmp(s->tab[i].id, low, LC_SESSION_ID_LEN))
            return &s->tab[i];
    return NULL;
}

#define find lc_sessions_find_locked
#define emit lc_sessions_emit

void lc_sessions_emit(lc_sessions *s, lc_session_event ev, const lc_session_info *copy)
{
    if (s->on_event)
        s->on_event(s->user, ev, copy);
}

/* A session left or joined the group it names (if any): that group's members changed (lock
 * released). */
static void group_changed(lc_sessions *s, const lc_session_info *gone)
{
    lc_group_info g;
    if (gone->group[0] && lc_groups_get(s, gone->group, &g) == 0)
        lc_groups_emit(s, LC_GROUP_UPDATED, &g);
}

/* Removes tab[i] keeping creation order (lock held). */
static void remove_at(lc_sessions *s, size_t i)
{
    if (s->tab[i].persist)
        lc_store_mark_dirty(s);
    memmove(&s->tab[i], &s->tab[i + 1], (s->count - i - 1) * sizeof *s->tab);
    s->count--;
}

/*
 * Makes room for one more (lock held): evicts the disconnected session seen longest ago.
 * Returns 0 with *evicted filled if one was evicted, 1 if there was room, LC_ERR_FULL.
 */
static int make_room(lc_sessions *s, lc_session_info *evicted)
{
    if (s->count < s->cfg.max_sessions)
        return 1;
    size_t victim = SIZE_MAX;
    for (size_t i = 0; i < s->count; i++)
        if (!s->tab[i].connections && (victim == SIZE_MAX || s->tab[i].last_seen_ms < s->tab[victim].last_seen_ms))
            victim = i;
    if (victim == SIZE_MAX)
        return LC_ERR_FULL;
    *evicted = s->tab[victim];
    remove_at(s, victim);
    s->stats.evictions++;
    return 0;
}

static void settings_default(lc_sessions *s, lc_session_info *e)
{
    e->volume = s->cfg.default_volume;
    e->muted = false;
    e->latency_trim_ms = 0;
    e->name[0] = 0;
    e->stream[0] = 0;
}

/* Inserts a new session (lock held, room made). */
static lc_session_info *insert(lc_sessions *s, const char *low_id, bool persist)
{
    lc_session_info *e = &s->tab[s->count++];
    memset(e, 0, sizeof *e);
    memcpy(e->id, low_id, LC_SESSION_ID_LEN + 1);
    settings_default(s, e);
    e->persist = persist;
    e->created_ms = e->last_seen_ms = lc_wall_ms();
    if (persist)
        lc_store_mark_dirty(s);
    return e;
}

/* Finds `id` or creates it, evicting if needed (lock held). */
static int find_or_create(lc_sessions *s, const char *id, bool persist, lc_session_info **out,
                          lc_session_info *evicted, bool *did_evict, bool *created)
{
    char low[LC_SESSION_ID_LEN + 1];
    *did_evict = *created = false;
    if (id && *id) {
        if (lc_session_id_canonical(low, id))
            return LC_ERR_INVALID;
        if ((*out = find(s, low)))
            return 0;
    } else if (lc_session_id_new(low) < 0) {
        return LC_ERR_SYSTEM;
    }
    int r = make_room(s, evicted);
    if (r < 0)
        return r;
    *did_evict = r == 0;
    *out = insert(s, low, persist);
    *created = true;
    return 0;
}

static void log_eviction(const lc_session_info *ev)
{
    lc_log(LC_LOG_WARN, "session", "session table full: evicted %s (\"%s\", last seen %lld ms ago)", ev->id,
           ev->name, (long long)(lc_wall_ms() - ev->last_seen_ms));
}

/* Ends a find-or-create under the lock: events go out only after the lock is released, so a
 * listener may call back into the table. Returns rc. */
static int unlock_and_notify(lc_sessions *s, int rc, const lc_session_info *evicted, lc_session_event ev,
                             const lc_session_info *out)
{
    lc_mutex_unlock(s->lock);
    if (evicted) {
        log_eviction(evicted);
        emit(s, LC_SESSION_REMOVED, evicted);
        group_changed(s, evicted);
    }
    if (rc == 0)
        emit(s, ev, out);
    return rc;
}

int lc_sessions_attach(lc_sessions *s, const char *id, bool persist, lc_session_info *out)
{
    lc_session_info *e, evicted;
    bool did_evict, created;
    lc_mutex_lock(s->lock);
    int rc = find_or_create(s, id, persist, &e, &evicted, &did_evict, &created);
    if (rc == 0) {
        e->connections++;
        e->last_seen_ms = lc_wall_ms();
        if (e->persist)
            lc_store_mark_dirty(s);
        *out = *e;
    }
    return unlock_and_notify(s, rc, did_evict ? &evicted : NULL, LC_SESSION_CONNECTED, out);
}

void lc_sessions_detach(lc_sessions *s, const char *id)
{
    lc_session_info copy;
    bool found = false;
    lc_mutex_lock(s->lock);
    lc_session_info *e = find(s, id);
    if (e) {
        if (e->connections > 0)
            e->connections--;
        e->last_seen_ms = lc_wall_ms();
        if (e->persist)
            lc_store_mark_dirty(s);
        copy = *e;
        found = true;
    }
    lc_mutex_unlock(s->lock);
    if (found)
        emit(s, LC_SESSION_DISCONNECTED, &copy);
}

int lc_sessions_get(lc_sessions *s, const char *id, lc_session_info *out)
{
    lc_mutex_lock(s->lock);
    lc_session_info *e = find(s, id);
    if (e)
        *out = *e;
    lc_mutex_unlock(s->lock);
    return e ? 0 : LC_ERR_NOT_FOUND;
}

size_t lc_sessions_list(lc_sessions *s, lc_session_info *out, size_t max)
{
    lc_mutex_lock(s->lock);
    size_t n = s->count;
    memcpy(out, s->tab, (n < max ? n : max) * sizeof *out);
    lc_mutex_unlock(s->lock);
    return n;
}

size_t lc_sessions_count(lc_sessions *s)
{
    lc_mutex_lock(s->lock);
    size_t n = s->count;
    lc_mutex_unlock(s->lock);
    return n;
}

int lc_session_patch_check(const lc_session_patch *p, char *errbuf, size_t errlen)
{
    if (p->has_volume && (p->volume < 0 || p->volume > LC_SESSION_VOLUME_MAX)) {
        lc_errf(errbuf, errlen, "volume must be an integer from 0 to 100");
        return LC_ERR_INVALID;
    }
    if (p->has_latency_trim && !lc_session_trim_valid(p->latency_trim_ms)) {
        lc_errf(errbuf, errlen, "latency_trim_ms must be an integer from -1000 to 1000");
        return LC_ERR_INVALID;
    }
    if (p->has_name && !lc_utf8_name_valid(p->name, LC_SESSION_NAME_MAX)) {
        lc_errf(errbuf, errlen, "name must be valid UTF-8 of at most %d bytes without control characters",
                LC_SESSION_NAME_MAX);
        return LC_ERR_INVALID;
    }
    if (p->has_stream && !lc_session_stream_name_valid(p->stream)) {
        lc_errf(errbuf, errlen, "stream must name a stream (letters, digits, '_', '.', '-')");
        return LC_ERR_INVALID;
    }
    return 0;
}

int lc_session_stream_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > LC_SESSION_STREAM_MAX)
        return 0;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '.' || *c == '-'))
            return 0;
    return 1;
}

/* Applies the present fields; returns 1 if anything changed (lock held). */
static int apply(lc_sessions *s, lc_session_info *e, const lc_session_patch *p)
{
    int changed = 0;
    if (p->has_volume && e->volume != p->volume)
        e->volume = p->volume, changed = 1;
    if (p->has_muted && e->muted != p->muted)
        e->muted = p->muted, changed = 1;
    if (p->has_latency_trim && e->latency_trim_ms != p->latency_trim_ms)
        e->latency_trim_ms = p->latency_trim_ms, changed = 1;
    if (p->has_name && strcmp(e->name, p->name)) {
        snprintf(e->name, sizeof e->name, "%s", p->name);
        changed = 1;
    }
    if (p->has_stream && strcmp(e->stream, p->stream)) {
        snprintf(e->stream, sizeof e->stream, "%s", p->stream);
        changed = 1;
    }
    if (changed && e->persist)
        lc_store_mark_dirty(s);
    return changed;
}

int lc_sessions_patch(lc_sessions *s, const char *id, const lc_session_patch *p, lc_session_info *out)
{
    if (lc_session_patch_check(p, NULL, 0) < 0)
        return LC_ERR_INVALID;
    lc_mutex_lock(s->lock);
    lc_session_info *e = find(s, id);
    int changed = 0, rc = e ? 0 : LC_ERR_NOT_FOUND;
    char was[LC_SESSION_ID_LEN + 1] = "";
    if (!rc && p->has_group && p->group[0] && !lc_groups_find_locked(s, p->group))
        rc = LC_ERR_INVALID; /* no such group */
    else if (!rc && p->has_stream && (p->has_group ? p->group[0] : e->group[0]))
        rc = LC_ERR_STATE; /* in a group: the group's stream wins */
    if (!rc) {
        changed = apply(s, e, p);
        if (p->has_group && strcmp(e->group, p->group)) {
            memcpy(was, e->group, sizeof was);
            if (p->group[0])
                lc_session_id_canonical(e->group, p->group); /* checked to exist above */
            else
                e->group[0] = '\0';
            if (e->persist)
                lc_store_mark_dirty(s);
            changed = 1;
            if (!was[0])
                snprintf(was, sizeof was, "-"); /* joined from none: only the new group changed */
        }
        *out = *e;
    }
    lc_mutex_unlock(s->lock);
    if (rc)
        return rc;
    if (changed)
        emit(s, LC_SESSION_UPDATED, out);
    if (was[0]) { /* the group it left and the one it joined each changed members */
        lc_session_info left = *out;
        snprintf(left.group, sizeof left.group, "%s", was[0] == '-' ? "" : was);
        group_changed(s, &left);
        group_changed(s, out);
    }
    return 0;
}

int lc_sessions_put(lc_sessions *s, const char *id, const lc_session_patch *p, bool persist,
                    lc_session_info *out, bool *created)
{
    if (!id || !lc_session_id_valid(id) || lc_session_patch_check(p, NULL, 0) < 0)
        return LC_ERR_INVALID;
    lc_session_info *e, evicted;
    bool did_evict;
    lc_mutex_lock(s->lock);
    int rc = find_or_create(s, id, persist, &e, &evicted, &did_evict, created);
    if (rc == 0 && p->has_stream && e->group[0])
        rc = LC_ERR_STATE; /* in a group (so not just created): the group's stream wins */
    if (rc == 0) {
        lc_session_info before = *e;
        settings_default(s, e); /* PUT replaces: absent fields return to their defaults */
        apply(s, e, p);
        if (e->persist && (before.volume != e->volume || before.muted != e->muted ||
                           before.latency_trim_ms != e->latency_trim_ms || strcmp(before.name, e->name) ||
                           strcmp(before.stream, e->stream)))
            lc_store_mark_dirty(s);
        *out = *e;
    }
    return unlock_and_notify(s, rc, did_evict ? &evicted : NULL, LC_SESSION_UPDATED, out);
}

int lc_sessions_delete(lc_sessions *s, const char *id)
{
    lc_session_info copy;
    lc_mutex_lock(s->lock);
    lc_session_info *e = find(s, id);
    if (e) {
        copy = *e;
        remove_at(s, (size_t)(e - s->tab));
    }
    lc_mutex_unlock(s->lock);
    if (!e)
        return LC_ERR_NOT_FOUND;
    emit(s, LC_SESSION_REMOVED, &copy);
    group_changed(s, &copy);
    return 0;
}

void lc_sessions_get_stats(lc_sessions *s, lc_sessions_stats *out)
{
    lc_mutex_lock(s->lock);
    *out = s->stats;
    lc_mutex_unlock(s->lock);
}

int lc_sessions_create(lc_sessions **out, const lc_sessions_config *cfg, lc_session_event_fn on_event,
                       void *user, char *errbuf, size_t errlen)
{
    lc_sessions *s = calloc(1, sizeof *s);
    if (!s)
        return LC_ERR_NOMEM;
    lc_errf(errbuf, errlen, "%s", "");
    s->cfg = *cfg;
    if (!s->cfg.max_sessions)
        s->cfg.max_sessions = 1000;
    s->on_event = on_event;
    s->user = user;
    int rc = LC_ERR_NOMEM;
    if (!(s->tab = calloc(s->cfg.max_sessions, sizeof *s->tab)))
        goto fail;
    if (cfg->state_dir && !(s->state_dir = strdup(cfg->state_dir)))
        goto fail;
    if ((rc = lc_mutex_create(&s->lock, LC_MUTEX_PLAIN)) < 0 || (rc = lc_cond_create(&s->wake)) < 0 ||
        (rc = lc_cond_create(&s->written)) < 0)
        goto fail_sync;
    if (s->state_dir) {
        if ((rc = lc_store_load(s, errbuf, errlen)) < 0)
            goto fail_sync;
        if ((rc = lc_store_start(s)) < 0)
            goto fail_sync;
    }
    *out = s;
    return 0;
fail_sync:
    lc_cond_destroy(s->written);
    lc_cond_destroy(s->wake);
    lc_mutex_destroy(s->lock);
fail:
    free(s->state_dir);
    free(s->tab);
    free(s);
    return rc;
}

void lc_sessions_destroy(lc_sessions *s)
{
    if (!s)
        return;
    lc_store_stop(s);
    lc_cond_destroy(s->written);
    lc_cond_destroy(s->wake);
    lc_mutex_destroy(s->lock);
    free(s->state_dir);
    free(s->tab);
    free(s);
}
