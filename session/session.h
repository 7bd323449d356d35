/*
 * session.h — listener sessions by GUID, and their durable store.
 *
 * A session mirrors a WASAPI audio session: a GUID names it; its volume, mute and name persist
 * across reconnects and restarts unless it was created with persist = false (like
 * AUDCLNT_STREAMFLAGS_NOPERSIST), in which case it lives only while the server runs.
 *
 * The table is bounded (max_sessions). When a new session would exceed it, the disconnected
 * session seen longest ago is evicted and logged; if every session is connected the new one is
 * refused with LC_ERR_FULL. So clients inventing GUIDs can never grow memory or the file.
 *
 * Store: one JSON file, <state_dir>/sessions.json. Changes mark the table dirty; a writer thread
 * waits `flush_delay_ms` (coalescing a slider drag into one write), snapshots the table under the
 * lock, and writes temp file → fsync → rename → fsync(dir) outside it. So a kill -9 at any moment
 * leaves either the old or the new file, and every change acknowledged more than flush_delay +
 * one write earlier is on disk. A file that fails to parse is renamed aside
 * (sessions.json.corrupt-YYYYMMDDTHHMMSSZ), reported, and the table starts empty.
 *
 * Threading: every function may be called from any thread; one mutex guards the table. Nothing
 * here may be called from the capture thread's hot path (it never needs to).
 */
#ifndef LC_SESSION_H
#define LC_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LC_SESSION_ID_LEN 36   /* RFC 4122 text form, lower case: 8-4-4-4-12 */
#define LC_SESSION_NAME_MAX 64 /* bytes of UTF-8 */
#define LC_SESSION_VOLUME_MAX 100
#define LC_SESSION_TRIM_MAX 1000 /* |latency_trim_ms| */
#define LC_SESSION_STREAM_MAX 32 /* a stream's name: bytes of [A-Za-z0-9_.-] */
#define LC_GROUPS_MAX 64         /* groups (rooms) at once */
#define LC_GROUP_DELAY_MAX 3000  /* sync_delay_ms */
#define LC_GROUP_DELAY_DEFAULT 250

typedef struct lc_session_info {
    char id[LC_SESSION_ID_LEN + 1];
    char name[LC_SESSION_NAME_MAX + 1];
    int volume;          /* 0..100, perceptual: the page applies gain = (volume/100)^3 */
    bool muted;          /* enforced by the server: a muted session is sent no audio */
    int latency_trim_ms; /* -1000..1000: synchronized playback plays this much earlier, for a
                          * speaker with its own delay (Bluetooth: positive) */
    bool persist;        /* false: never written to disk */
    char stream[LC_SESSION_STREAM_MAX + 1]; /* the stream it chose, "" = the server's first; a
                                             * group's stream wins over it (lc_group_info) */
    char group[LC_SESSION_ID_LEN + 1];       /* the group it belongs to, "" = none; changed only
                                             * through the group (lc_groups_put/patch/delete) */
    int64_t created_ms;  /* Unix epoch milliseconds */
    int64_t last_seen_ms;/* last connect or disconnect, Unix epoch milliseconds */
    int connections;     /* open audio connections using this session now */
} lc_session_info;

/* Which fields of a change are present. */
typedef struct lc_session_patch {
    bool has_volume, has_muted, has_name, has_latency_trim, has_stream, has_group;
    int volume;
    bool muted;
    char name[LC_SESSION_NAME_MAX + 1];
    int latency_trim_ms;
    char stream[LC_SESSION_STREAM_MAX + 1]; /* a well-formed name; the caller checks it exists */
    char group[LC_SESSION_ID_LEN + 1];      /* join this group ("" = leave any): patch only */
} lc_session_patch;

/* A group (room): sessions that hear one stream, at a group volume, in sync with one delay.
 * Members are the sessions whose `group` is its id: a session is in at most one group. */
typedef struct lc_group_info {
    char id[LC_SESSION_ID_LEN + 1];
    char name[LC_SESSION_NAME_MAX + 1];
    char stream[LC_SESSION_STREAM_MAX + 1]; /* "" = the server's first */
    int volume;          /* 0..100: scales every member's gain (the same curve as a session's) */
    bool muted;          /* members are sent no audio */
    bool sync;           /* members play in step, sync_delay_ms after capture */
    int sync_delay_ms;   /* 0..LC_GROUP_DELAY_MAX, default LC_GROUP_DELAY_DEFAULT */
    size_t members;      /* sessions in it now (filled by the getters) */
} lc_group_info;

typedef struct lc_group_patch {
    bool has_name, has_stream, has_volume, has_muted, has_sync, has_sync_delay, has_sessions;
    char name[LC_SESSION_NAME_MAX + 1];
    char stream[LC_SESSION_STREAM_MAX + 1]; /* well-formed; the caller checks it exists */
    int volume;
    bool muted, sync;
    int sync_delay_ms;
    /* has_sessions: the whole member list (the caller's array); a listed session in another
     * group moves here, a member not listed leaves */
    const char (*sessions)[LC_SESSION_ID_LEN + 1];
    size_t n_sessions;
} lc_group_patch;

typedef enum { LC_GROUP_CREATED, LC_GROUP_UPDATED, LC_GROUP_REMOVED } lc_group_event;
/* Called with the table lock released, on the thread that made the change. */
typedef void (*lc_group_event_fn)(void *user, lc_group_event ev, const lc_group_info *g);

typedef struct lc_sessions_config {
    const char *state_dir;  /* NULL: nothing is persisted */
    size_t max_sessions;    /* default 1000 */
    unsigned flush_delay_ms;/* default 200 */
    int default_volume;     /* default 100 */
} lc_sessions_config;

typedef struct lc_sessions lc_sessions;

/* Why a session event fired (for the events socket). */
typedef enum {
    LC_SESSION_CONNECTED,
    LC_SESSION_DISCONNECTED,
    LC_SESSION_UPDATED,
    LC_SESSION_REMOVED, /* deleted through the API or evicted */
} lc_session_event;

/* Called with the table lock released, on the thread that made the change. */
typedef void (*lc_session_event_fn)(void *user, lc_session_event ev, const lc_session_info *s);

void lc_sessions_config_default(lc_sessions_config *cfg);

/*
 * Creates the table, loads <state_dir>/sessions.json if present (a corrupt file is moved aside
 * and reported, the table starts empty) and starts the writer thread. errbuf says what happened
 * to a corrupt file even on success (empty if nothing to report). Fails only for an unusable
 * state_dir (cannot be created) or out of memory.
 */
int lc_sessions_create(lc_sessions **out, const lc_sessions_config *cfg, lc_session_event_fn on_event,
                       void *user, char *errbuf, size_t errlen);
/* Flushes pending changes, stops the writer thread, frees. NULL is a no-op. */
void lc_sessions_destroy(lc_sessions *s);

/* 1 if `id` is a well-formed RFC 4122 GUID (any case, hyphenated). */
int lc_session_id_valid(const char *id);
/* 1 if `v` is a volume a session may hold: an integer from 0 to LC_SESSION_VOLUME_MAX (the API
 * and the store file take the same values). */
int lc_session_volume_valid(double v);
/* 1 if `v` is a latency trim a session may hold: an integer from -LC_SESSION_TRIM_MAX to
 * LC_SESSION_TRIM_MAX ms (API and store file alike). */
int lc_session_trim_valid(double v);
/* The canonical form of a valid `id` (GUIDs compare case-insensitively; loopcast stores, sends
 * and compares them lower case) into `out`: 0, or LC_ERR_INVALID when `id` is not a GUID. */
int lc_session_id_canonical(char out[LC_SESSION_ID_LEN + 1], const char *id);
/* Writes a new random v4 GUID (OpenSSL RAND_bytes), lower case, NUL-terminated. */
int lc_session_id_new(char out[LC_SESSION_ID_LEN + 1]);

/*
 * A listener connects. `id` NULL or "" → a new session with a new GUID. A known id → that
 * session (its settings come back in *out). An unknown well-formed id → a new session with that
 * id. Malformed id → LC_ERR_INVALID. Table full of connected sessions → LC_ERR_FULL.
 * `persist` applies only when the session is created here.
 */
int lc_sessions_attach(lc_sessions *s, const char *id, bool persist, lc_session_info *out);
/* A listener's connection closed (the session stays). */
void lc_sessions_detach(lc_sessions *s, const char *id);

int lc_sessions_get(lc_sessions *s, const char *id, lc_session_info *out);
/* Copies up to `max` sessions into out (oldest created first); returns the total count. */
size_t lc_sessions_list(lc_sessions *s, lc_session_info *out, size_t max);
size_t lc_sessions_count(lc_sessions *s);

/* Validates then applies: volume 0..100, name ≤ 64 bytes of valid UTF-8 without control
 * characters. LC_ERR_INVALID (nothing changed; also a group that does not exist),
 * LC_ERR_NOT_FOUND, or LC_ERR_STATE (a stream for a session that is, or would be, grouped). */
int lc_sessions_patch(lc_sessions *s, const char *id, const lc_session_patch *p, lc_session_info *out);
/* Creates the session if unknown (persist as given) or replaces its settings: fields absent
 * from `p` get defaults. *created says which. */
int lc_sessions_put(lc_sessions *s, const char *id, const lc_session_patch *p, bool persist,
                    lc_session_info *out, bool *created);
/* Forgets a session (LC_ERR_NOT_FOUND if unknown). The caller disconnects its listeners. */
int lc_sessions_delete(lc_sessions *s, const char *id);

/* Checks a patch without applying it (name/volume rules above). */
int lc_session_patch_check(const lc_session_patch *p, char *errbuf, size_t errlen);
/* 1 if `name` is a well-formed stream name (1..32 bytes of [A-Za-z0-9_.-]). */
int lc_session_stream_name_valid(const char *name);

/*
 * Groups (group.c). A change of `stream` on a grouped session (patch or put) is refused with
 * LC_ERR_STATE: the group's stream wins. Every membership change also emits LC_SESSION_UPDATED
 * for each session whose `group` changed; a group that gained or lost members emits
 * LC_GROUP_UPDATED. Deleting a session removes it from its group.
 */
/* Set once, before the table is shared between threads (the server does it at creation). */
void lc_sessions_on_group_event(lc_sessions *s, lc_group_event_fn fn, void *user);
void lc_group_defaults(lc_group_info *g);
/* Checks a patch's values (not whether its sessions exist). LC_ERR_INVALID with a message. */
int lc_group_patch_check(const lc_group_patch *p, char *errbuf, size_t errlen);
int lc_groups_get(lc_sessions *s, const char *id, lc_group_info *out);
/* Copies up to `max` groups (creation order); returns the total count. */
size_t lc_groups_list(lc_sessions *s, lc_group_info *out, size_t max);
/* The member ids of group `id` into out[0..max) (creation order of the sessions); returns the
 * member count, or LC_ERR_NOT_FOUND. */
int lc_groups_members(lc_sessions *s, const char *id, char (*out)[LC_SESSION_ID_LEN + 1],
                      size_t max);
/* Creates (`id` NULL: a new GUID) or replaces (absent fields: defaults). LC_ERR_INVALID with a
 * message (bad value, or a listed session that does not exist), LC_ERR_FULL (LC_GROUPS_MAX). */
int lc_groups_put(lc_sessions *s, const char *id, const lc_group_patch *p, lc_group_info *out,
                  bool *created, char *errbuf, size_t errlen);
/* The present fields only. LC_ERR_NOT_FOUND, or LC_ERR_INVALID with a message. */
int lc_groups_patch(lc_sessions *s, const char *id, const lc_group_patch *p, lc_group_info *out,
                    char *errbuf, size_t errlen);
/* Forgets a group; its members become ungrouped. LC_ERR_NOT_FOUND if unknown. */
int lc_groups_delete(lc_sessions *s, const char *id);
/* A session and, when it is in one, its group, read together (one lock): *grouped says which. */
int lc_sessions_view(lc_sessions *s, const char *id, lc_session_info *sess, lc_group_info *grp,
                     bool *grouped);

/* Writes pending changes now and waits for the write. Returns the write's result. */
int lc_sessions_flush(lc_sessions *s);

typedef struct lc_sessions_stats {
    uint64_t writes, write_failures, evictions, loaded;
    char last_error[160]; /* last store error, "" if the last write succeeded */
} lc_sessions_stats;
void lc_sessions_get_stats(lc_sessions *s, lc_sessions_stats *out);

/* The store file format, exposed for the fuzzer and tests: parses `len` bytes of JSON into at
 * most `max` sessions. Returns the count or LC_ERR_PARSE with a message. Version 1 (sessions
 * only) and version 2 (sessions and groups) are read; a file without groups is written as
 * version 1, so an older loopcast still reads it. */
int lc_sessions_parse_store(const char *json, size_t len, lc_session_info *out, size_t max,
                            char *errbuf, size_t errlen);
/* The groups of a store file (none in version 1): the count or LC_ERR_PARSE with a message. */
int lc_groups_parse_store(const char *json, size_t len, lc_group_info *out, size_t max,
                          char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
