/* session_int.h — what session.c and store.c share; not part of the public interface. */
#ifndef LC_SESSION_INT_H
#define LC_SESSION_INT_H

#include "platform.h"
#include "session.h"

struct lc_sessions {
    lc_sessions_config cfg;
    char *state_dir; /* owned copy, NULL if not persisting */
    lc_session_event_fn on_event;
    void *user;
    lc_group_event_fn on_group_event; /* set before sharing (lc_sessions_on_group_event) */
    void *group_user;

    lc_mutex *lock;                 /* guards everything below */
    lc_cond *wake;                  /* writer: something to write or stop */
    lc_cond *written;               /* flushers: a write finished */
    lc_session_info *tab;           /* cfg.max_sessions slots, `count` used */
    size_t count;
    lc_group_info groups[LC_GROUPS_MAX]; /* `n_groups` used, creation order; `members` unused */
    size_t n_groups;
    uint64_t change_gen;            /* bumped by every change to a persisted field */
    uint64_t written_gen;           /* change_gen of the last write attempt that finished */
    uint64_t dirty_since_ns;        /* lc_now_ns() of the first unwritten change, 0 if clean */
    int last_write_rc;
    bool stop, flush_now;
    lc_sessions_stats stats;

    lc_thread *writer;              /* the store writer thread (only if state_dir) */
    bool writer_started;
    char *snap;                     /* writer thread only: the text of the last write, reused */
    size_t snap_cap;
};

/* session.c: what group.c needs of the table (lock held) */
lc_session_info *lc_sessions_find_locked(lc_sessions *s, const char *id);
void lc_sessions_emit(lc_sessions *s, lc_session_event ev, const lc_session_info *copy);
/* group.c: the group with that id (lock held), or NULL. */
lc_group_info *lc_groups_find_locked(lc_sessions *s, const char *id);
/* group.c: tells the group listener (lock released). */
void lc_groups_emit(lc_sessions *s, lc_group_event ev, const lc_group_info *g);

/* store.c */
int lc_store_load(lc_sessions *s, char *errbuf, size_t errlen);
int lc_store_start(lc_sessions *s);
void lc_store_stop(lc_sessions *s);
/* Marks the table changed (lock held). */
void lc_store_mark_dirty(lc_sessions *s);
/* 1 if `s` is valid UTF-8 of at most `max` bytes with no control characters. */
int lc_utf8_name_valid(const char *s, size_t max);

#endif
