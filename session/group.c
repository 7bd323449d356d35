/*
 * group.c — groups (rooms) of sessions: a stream, a group volume and mute, and whether the
 * members play in step with which delay. Like Snapcast's groups, a session is in at most one:
 * membership is the session's own `group` field, so "at most one" needs no checking and a
 * group's member list is a scan of the table (at most --max-sessions entries, changed at human
 * speed). Groups live in a small fixed array beside the table, under the same lock, and are
 * persisted in the same file (store.c, version 2).
 */
#include "session_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lc_sessions_on_group_event(lc_sessions *s, lc_group_event_fn fn, void *user)
{
    s->on_group_event = fn;
    s->group_user = user;
}

void lc_groups_emit(lc_sessions *s, lc_group_event ev, const lc_group_info *g)
{
    if (s->on_group_event)
        s->on_group_event(s->group_user, ev, g);
}

void lc_group_defaults(lc_group_info *g)
{
    g->name[0] = '\0';
    g->stream[0] = '\0';
    g->volume = LC_SESSION_VOLUME_MAX;
    g->muted = false;
    g->sync = true;
    g->sync_delay_ms = LC_GROUP_DELAY_DEFAULT;
}

int lc_group_patch_check(const lc_group_patch *p, char *errbuf, size_t errlen)
{
    if (p->has_volume && (p->volume < 0 || p->volume > LC_SESSION_VOLUME_MAX)) {
        lc_errf(errbuf, errlen, "volume must be an integer from 0 to 100");
        return LC_ERR_INVALID;
    }
    if (p->has_sync_delay && (p->sync_delay_ms < 0 || p->sync_delay_ms > LC_GROUP_DELAY_MAX)) {
        lc_errf(errbuf, errlen, "sync_delay_ms must be an integer from 0 to %d", LC_GROUP_DELAY_MAX);
        return LC_ERR_INVALID;
    }
    if (p->has_name && !lc_utf8_name_valid(p->name, LC_SESSION_NAME_MAX)) {
        lc_errf(errbuf, errlen, "name must be valid UTF-8 of at most %d bytes without control "
                "characters", LC_SESSION_NAME_MAX);
        return LC_ERR_INVALID;
    }
    if (p->has_stream && !lc_session_stream_name_valid(p->stream)) {
        lc_errf(errbuf, errlen, "stream must name a stream (letters, digits, '_', '.', '-')");
        return LC_ERR_INVALID;
    }
    for (size_t i = 0; p->has_sessions && i < p->n_sessions; i++)
        if (!lc_session_id_valid(p->sessions[i])) {
            lc_errf(errbuf, errlen, "sessions[%zu] is not a session id (a GUID)", i);
            return LC_ERR_INVALID;
        }
    return 0;
}

lc_group_info *lc_groups_find_locked(lc_sessions *s, const char *id)
{
    char low[LC_SESSION_ID_LEN + 1];
    if (lc_session_id_canonical(low, id))
        return NULL;
    for (size_t i = 0; i < s->n_groups; i++)
        if (!memcmp(s->groups[i].id, low, LC_SESSION_ID_LEN))
            return &s->groups[i];
    return NULL;
}

#define gfind lc_groups_find_locked

/* A copy of `g` with its member count (lock held). */
static void copy_out(lc_sessions *s, const lc_group_info *g, lc_group_info *out)
{
    *out = *g;
    out->members = 0;
    for (size_t i = 0; i < s->count; i++)
        out->members += !strcmp(s->tab[i].group, g->id);
}

int lc_groups_get(lc_sessions *s, const char *id, lc_group_info *out)
{
    lc_mutex_lock(s->lock);
    lc_group_info *g = gfind(s, id);
    if (g)
        copy_out(s, g, out);
    lc_mutex_unlock(s->lock);
    return g ? 0 : LC_ERR_NOT_FOUND;
}

size_t lc_groups_list(lc_sessions *s, lc_group_info *out, size_t max)
{
    lc_mutex_lock(s->lock);
    size_t n = s->n_groups;
    for (size_t i = 0; i < n && i < max; i++)
        copy_out(s, &s->groups[i], &out[i]);
    lc_mutex_unlock(s->lock);
    return n;
}

int lc_groups_members(lc_sessions *s, const char *id, char (*out)[LC_SESSION_ID_LEN + 1],
                      size_t max)
{
    lc_mutex_lock(s->lock);
    lc_group_info *g = gfind(s, id);
    int n = 0;
    for (size_t i = 0; g && i < s->count; i++)
        if (!strcmp(s->tab[i].group, g->id)) {
            if ((size_t)n < max)
                memcpy(out[n], s->tab[i].id, LC_SESSION_ID_LEN + 1);
            n++;
        }
    lc_mutex_unlock(s->lock);
    return g ? n : LC_ERR_NOT_FOUND;
}

int lc_sessions_view(lc_sessions *s, const char *id, lc_session_info *sess, lc_group_info *grp,
                     bool *grouped)
{
    lc_mutex_lock(s->lock);
    lc_session_info *e = lc_sessions_find_locked(s, id);
    lc_group_info *g = e && e->group[0] ? gfind(s, e->group) : NULL;
    if (e)
        *sess = *e;
    if (g)
        copy_out(s, g, grp);
    *grouped = g != NULL;
    lc_mutex_unlock(s->lock);
    return e ? 0 : LC_ERR_NOT_FOUND;
}

/* Sessions and groups a change touched, told after the unlock. */
typedef struct changes {
    lc_session_info *sess; /* sessions whose `group` changed */
    size_t n_sess;
    char gids[LC_GROUPS_MAX][LC_SESSION_ID_LEN + 1]; /* other groups that lost members */
    size_t n_gids;
} changes;

static void note_group(changes *c, const char *gid, const char *self)
{
    if (!gid[0] || !strcmp(gid, self))
        return;
    for (size_t i = 0; i < c->n_gids; i++)
        if (!strcmp(c->gids[i], gid))
            return;
    if (c->n_gids < LC_GROUPS_MAX)
        memcpy(c->gids[c->n_gids++], gid, LC_SESSION_ID_LEN + 1);
}

/* Sets session e's group to `gid` ("" = none), noting the change (lock held). */
static void set_group(lc_sessions *s, changes *c, lc_session_info *e, const char *gid,
                      const char *self)
{
    if (!strcmp(e->group, gid))
        return;
    note_group(c, e->group, self);
    snprintf(e->group, sizeof e->group, "%s", gid);
    if (e->persist)
        lc_store_mark_dirty(s);
    c->sess[c->n_sess++] = *e; /* room: c->sess has s->count slots */
}

/* The member list becomes exactly p->sessions (lock held; checked to exist). */
static void set_members(lc_sessions *s, changes *c, const lc_group_patch *p, const char *gid)
{
    for (size_t i = 0; i < s->count; i++) {
        lc_session_info *e = &s->tab[i];
        bool listed = false;
        char low[LC_SESSION_ID_LEN + 1];
        for (size_t k = 0; k < p->n_sessions && !listed; k++)
            listed = !lc_session_id_canonical(low, p->sessions[k]) && !strcmp(low, e->id);
        if (listed)
            set_group(s, c, e, gid, gid);
        else if (!strcmp(e->group, gid))
            set_group(s, c, e, "", gid);
    }
}

static void apply(lc_sessions *s, lc_group_info *g, const lc_group_patch *p)
{
    if (p->has_name)
        snprintf(g->name, sizeof g->name, "%s", p->name);
    if (p->has_stream)
        snprintf(g->stream, sizeof g->stream, "%s", p->stream);
    if (p->has_volume)
        g->volume = p->volume;
    if (p->has_muted)
        g->muted = p->muted;
    if (p->has_sync)
        g->sync = p->sync;
    if (p->has_sync_delay)
        g->sync_delay_ms = p->sync_delay_ms;
    lc_store_mark_dirty(s);
}

/* After the unlock: each moved session, the other groups that lost members, then this one. */
static void tell(lc_sessions *s, changes *c, lc_group_event ev, const lc_group_info *g)
{
    for (size_t i = 0; i < c->n_sess; i++)
        lc_sessions_emit(s, LC_SESSION_UPDATED, &c->sess[i]);
    for (size_t i = 0; i < c->n_gids; i++) {
        lc_group_info other;
        if (lc_groups_get(s, c->gids[i], &other) == 0)
            lc_groups_emit(s, LC_GROUP_UPDATED, &other);
    }
    if (g)
        lc_groups_emit(s, ev, g);
    free(c->sess);
}

/* Every listed session exists (lock held); LC_ERR_INVALID naming the first that does not. */
static int check_members(lc_sessions *s, const lc_group_patch *p, char *errbuf, size_t errlen)
{
    for (size_t k = 0; p->has_sessions && k < p->n_sessions; k++)
        if (!lc_sessions_find_locked(s, p->sessions[k])) {
            lc_errf(errbuf, errlen, "sessions[%zu]: no session %.36s", k, p->sessions[k]);
            return LC_ERR_INVALID;
        }
    return 0;
}

/* put (replace = true) and patch share this: validate, then change, then tell. */
static int change(lc_sessions *s, const char *id, const lc_group_patch *p, bool replace,
                  lc_group_info *out, bool *created, char *errbuf, size_t errlen)
{
    char low[LC_SESSION_ID_LEN + 1];
    int rc = lc_group_patch_check(p, errbuf, errlen);
    if (rc)
        return rc;
    if (id ? lc_session_id_canonical(low, id) : lc_session_id_new(low)) {
        lc_errf(errbuf, errlen, "group id must be a GUID");
        return LC_ERR_INVALID;
    }
    changes c = {0};
    lc_mutex_lock(s->lock);
    if (!(c.sess = malloc((s->count ? s->count : 1) * sizeof *c.sess))) {
        lc_mutex_unlock(s->lock);
        return LC_ERR_NOMEM;
    }
    lc_group_info *g = gfind(s, low);
    bool is_new = !g;
    if (!g && !replace)
        rc = LC_ERR_NOT_FOUND;
    else if (!g && s->n_groups == LC_GROUPS_MAX) {
        lc_errf(errbuf, errlen, "there are already %d groups", LC_GROUPS_MAX);
        rc = LC_ERR_FULL;
    } else
        rc = check_members(s, p, errbuf, errlen);
    if (!rc) {
        if (is_new) {
            g = &s->groups[s->n_groups++];
            memset(g, 0, sizeof *g);
            memcpy(g->id, low, sizeof g->id);
        }
        if (replace)
            lc_group_defaults(g);
        apply(s, g, p);
        if (p->has_sessions || replace) {
            lc_group_patch members = *p;
            if (!p->has_sessions)
                members.n_sessions = 0; /* PUT without sessions: an empty group */
            set_members(s, &c, &members, g->id);
        }
        copy_out(s, g, out);
    }
    lc_mutex_unlock(s->lock);
    if (rc) {
        free(c.sess);
        return rc;
    }
    if (created)
        *created = is_new;
    tell(s, &c, is_new ? LC_GROUP_CREATED : LC_GROUP_UPDATED, out);
    return 0;
}

int lc_groups_put(lc_sessions *s, const char *id, const lc_group_patch *p, lc_group_info *out,
                  bool *created, char *errbuf, size_t errlen)
{
    return change(s, id, p, true, out, created, errbuf, errlen);
}

int lc_groups_patch(lc_sessions *s, const char *id, const lc_group_patch *p, lc_group_info *out,
                    char *errbuf, size_t errlen)
{
    return change(s, id, p, false, out, NULL, errbuf, errlen);
}

int lc_groups_delete(lc_sessions *s, const char *id)
{
    changes c = {0};
    lc_group_info gone;
    lc_mutex_lock(s->lock);
    lc_group_info *g = gfind(s, id);
    if (g && !(c.sess = malloc((s->count ? s->count : 1) * sizeof *c.sess))) {
        lc_mutex_unlock(s->lock);
        return LC_ERR_NOMEM;
    }
    if (g) {
        copy_out(s, g, &gone);
        for (size_t i = 0; i < s->count; i++)
            if (!strcmp(s->tab[i].group, g->id))
                set_group(s, &c, &s->tab[i], "", g->id);
        gone.members = 0;
        size_t at = (size_t)(g - s->groups);
        memmove(g, g + 1, (s->n_groups - at - 1) * sizeof *g);
        s->n_groups--;
        lc_store_mark_dirty(s);
    }
    lc_mutex_unlock(s->lock);
    if (!g)
        return LC_ERR_NOT_FOUND;
    tell(s, &c, LC_GROUP_REMOVED, &gone);
    return 0;
}
