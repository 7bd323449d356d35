/*
 * mdns_avahi.c — mdns.h on Linux: the services are published by the system's avahi-daemon, which
 * we reach over the D-Bus system bus with libavahi-client.
 *
 * Threads. Every Avahi call runs on the thread of an AvahiThreadedPoll that this module owns:
 * lc_mdns_start only creates the poll, arms a zero timeout (connect_cb) and starts the thread, so
 * the D-Bus round trips (connect, version check, add services, commit: each blocks until the
 * daemon answers) never happen on the caller's thread, the lws service loop. The callbacks below
 * run on that thread with the poll's lock held; lc_mdns_stop stops and joins the thread before it
 * touches anything, so no field needs a lock of its own (each says who owns it).
 *
 * The daemon's life, which we do not control:
 *   - no system bus at all (a container): avahi_client_new fails; we say so once and try again
 *     now and then (1 s, doubling to 60 s), in case the bus comes up after us at boot;
 *   - a bus but no avahi-daemon: AVAHI_CLIENT_NO_FAIL gives a client in CONNECTING that turns
 *     RUNNING by itself when the daemon claims its bus name; we say so once and wait;
 *   - the daemon stops or restarts: AVAHI_CLIENT_FAILURE / AVAHI_ERR_DISCONNECTED; the client is
 *     dead, so a new one is made (NO_FAIL again: it waits for the daemon) — in a timeout, not
 *     inside the failing client's own callback, which avahi is still running;
 *   - the daemon changes the host name (S_REGISTERING, S_COLLISION): our entries are reset and
 *     published again once it is RUNNING;
 *   - another host already uses our instance name: avahi_alternative_service_name, publish again.
 * Stopping closes the D-Bus connection; the daemon then frees our entry group and sends goodbye
 * packets (TTL 0), so browsers forget us at once. Closing needs no answer from the daemon; only a
 * call the poll thread is in the middle of (a daemon that hangs mid-answer) can hold the stop, for
 * at most libdbus's call timeout (25 s).
 */
#include "mdns_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/strlst.h>
#include <avahi-common/thread-watch.h>
#include <avahi-common/timeval.h>

#include "common.h"

#define RETRY_MIN_S 1
#define RETRY_MAX_S 60

struct lc_mdns {
    /* Immutable after lc_mdns_start (read by the avahi thread). */
    lc_mdns_plan plan;       /* plan.name is the first choice; `name` below is the one in use */
    AvahiIfIndex ifindex;    /* --bind's interface, or AVAHI_IF_UNSPEC */
    AvahiThreadedPoll *poll;
    const AvahiPoll *api;

    /* Avahi thread only (its callbacks, run with the poll's lock held); lc_mdns_stop reads them
     * after avahi_threaded_poll_stop has joined that thread. */
    AvahiClient *client;     /* NULL between a failure and the next connect_cb */
    AvahiEntryGroup *group;  /* belongs to client; freed with it */
    char *name;              /* instance name in use (avahi_strdup; changes on a collision) */
    AvahiTimeout *connect;   /* (re)connects: at start, after a failure, to retry */
    unsigned retry_s;
    bool said_unreachable;   /* the "not reachable" line was logged for this outage */
    bool advertising;        /* the group reached ESTABLISHED since the last outage */
};

static void client_cb(AvahiClient *c, AvahiClientState state, void *user);

/* Once per outage, however many retries and state changes it takes. */
static void unreachable(lc_mdns *m, const char *why)
{
    m->advertising = false;
    if (m->said_unreachable)
        return;
    m->said_unreachable = true;
    lc_log(LC_LOG_WARN, LC_MDNS_LOG, "mDNS: avahi-daemon not reachable (%s); not advertising",
           why);
}

static void schedule_connect(lc_mdns *m, unsigned delay_s)
{
    struct timeval tv;
    avahi_elapse_time(&tv, delay_s * 1000u, 0);
    m->api->timeout_update(m->connect, &tv);
}

static void group_cb(AvahiEntryGroup *g, AvahiEntryGroupState state, void *user);

/* Adds every planned service to the (empty) group under m->name and commits it. A name the
 * daemon already knows locally comes back as AVAHI_ERR_COLLISION at once: rename and retry. */
static void publish(lc_mdns *m)
{
    int err = 0;
    if (!m->group && !(m->group = avahi_entry_group_new(m->client, group_cb, m))) {
        err = avahi_client_errno(m->client);
        goto fail;
    }
    if (!avahi_entry_group_is_empty(m->group))
        return;
    for (size_t i = 0; i < m->plan.n; i++) {
        const lc_mdns_service *s = &m->plan.svc[i];
        AvahiStringList *txt = NULL;
        for (size_t t = s->n_txt; t-- > 0;) /* _add prepends: go backwards to keep the order */
            txt = avahi_string_list_add(txt, s->txt[t]);
        err = avahi_entry_group_add_service_strlst(m->group, m->ifindex, AVAHI_PROTO_UNSPEC, 0,
                                                   m->name, s->type, NULL, NULL, s->port, txt);
        avahi_string_list_free(txt);
        if (err == AVAHI_ERR_COLLISION) {
            char *alt = avahi_alternative_service_name(m->name);
            lc_log(LC_LOG_WARN, LC_MDNS_LOG, "mDNS: the name '%s' is taken; using '%s'", m->name,
                   alt ? alt : "?");
            if (!alt) {
                err = AVAHI_ERR_NO_MEMORY;
                goto fail;
            }
            avahi_free(m->name);
            m->name = alt;
            avahi_entry_group_reset(m->group);
            publish(m); /* each collision makes a new name, so this ends */
            return;
        }
        if (err < 0)
            goto fail;
    }
    err = avahi_entry_group_commit(m->group);
    if (err < 0)
        goto fail;
    return;
fail:
    lc_log(LC_LOG_ERROR, LC_MDNS_LOG, "mDNS: cannot publish '%s': %s; not advertising", m->name,
           avahi_strerror(err));
}

static void group_cb(AvahiEntryGroup *g, AvahiEntryGroupState state, void *user)
{
    lc_mdns *m = user;
    char types[160];
    m->group = g; /* may run inside avahi_entry_group_new, before it returned g to us */
    switch (state) {
    case AVAHI_ENTRY_GROUP_ESTABLISHED:
        m->advertising = true;
        m->said_unreachable = false;
        lc_mdns_types(&m->plan, types, sizeof types);
        lc_log(LC_LOG_INFO, LC_MDNS_LOG, "mDNS: advertising '%s' (%s)", m->name, types);
        break;
    case AVAHI_ENTRY_GROUP_COLLISION: {
        /* another host probed the name first: take the next one, "loopcast on HOST #2" */
        char *alt = avahi_alternative_service_name(m->name);
        if (!alt)
            break;
        lc_log(LC_LOG_WARN, LC_MDNS_LOG, "mDNS: another host uses '%s'; using '%s'", m->name,
               alt);
        avahi_free(m->name);
        m->name = alt;
        avahi_entry_group_reset(g);
        publish(m);
        break;
    }
    case AVAHI_ENTRY_GROUP_FAILURE:
        lc_log(LC_LOG_ERROR, LC_MDNS_LOG, "mDNS: publishing '%s' failed: %s", m->name,
               avahi_strerror(avahi_client_errno(avahi_entry_group_get_client(g))));
        break;
    case AVAHI_ENTRY_GROUP_UNCOMMITED:
    case AVAHI_ENTRY_GROUP_REGISTERING:
        break;
    }
}

static void client_cb(AvahiClient *c, AvahiClientState state, void *user)
{
    lc_mdns *m = user;
    m->client = c; /* the first call comes from inside avahi_client_new */
    switch (state) {
    case AVAHI_CLIENT_S_RUNNING:
        m->retry_s = RETRY_MIN_S;
        publish(m);
        break;
    case AVAHI_CLIENT_S_COLLISION:
    case AVAHI_CLIENT_S_REGISTERING:
        /* the daemon is renaming the host: our records name the old one; publish again once
         * it is RUNNING */
        if (m->group)
            avahi_entry_group_reset(m->group);
        break;
    case AVAHI_CLIENT_CONNECTING:
        unreachable(m, avahi_strerror(AVAHI_ERR_NO_DAEMON));
        break;
    case AVAHI_CLIENT_FAILURE: {
        int err = avahi_client_errno(c);
        if (m->advertising) { /* a daemon restart: say it in its own words, once */
            lc_log(LC_LOG_WARN, LC_MDNS_LOG, "mDNS: lost avahi-daemon (%s); advertising again "
                   "when it is back", avahi_strerror(err));
            m->said_unreachable = true;
        }
        unreachable(m, avahi_strerror(err));
        /* Replaced in connect_cb: avahi is still inside this client's dispatch. */
        schedule_connect(m, 0);
        break;
    }
    }
}

static void connect_cb(AvahiTimeout *t, void *user)
{
    lc_mdns *m = user;
    int err = 0;
    m->api->timeout_update(t, NULL); /* disarmed until someone schedules it again */
    if (m->client) {
        avahi_client_free(m->client); /* frees its group too */
        m->client = NULL;
        m->group = NULL;
    }
    AvahiClient *c = avahi_client_new(m->api, AVAHI_CLIENT_NO_FAIL, client_cb, m, &err);
    if (c) {
        m->client = c;
        return;
    }
    /* No system bus (or it refused us): nothing will tell us when it comes, so poll for it. The
     * failed client is freed already: forget whatever its callback stored. */
    m->client = NULL;
    m->group = NULL;
    unreachable(m, avahi_strerror(err));
    schedule_connect(m, m->retry_s);
    m->retry_s = m->retry_s * 2 > RETRY_MAX_S ? RETRY_MAX_S : m->retry_s * 2;
}

int lc_mdns_start(lc_mdns **out, const lc_mdns_params *p)
{
    unsigned index;
    int rc;
    lc_mdns *m = NULL;

    *out = NULL;
    rc = lc_mdns_bind_index(p->bind, &index);
    if (rc)
        return rc; /* said why */
    rc = LC_ERR_NOMEM;
    m = calloc(1, sizeof *m);
    if (!m)
        goto fail;
    lc_mdns_plan_make(p, &m->plan);
    m->ifindex = index ? (AvahiIfIndex)index : AVAHI_IF_UNSPEC;
    m->retry_s = RETRY_MIN_S;
    m->name = avahi_strdup(m->plan.name);
    if (!m->name || !(m->poll = avahi_threaded_poll_new()))
        goto fail;
    m->api = avahi_threaded_poll_get(m->poll);
    /* The poll's thread does not run yet: arming its timeout needs no lock. */
    struct timeval now;
    avahi_elapse_time(&now, 0, 0);
    m->connect = m->api->timeout_new(m->api, &now, connect_cb, m);
    if (!m->connect)
        goto fail;
    if (avahi_threaded_poll_start(m->poll) < 0) {
        rc = LC_ERR_SYSTEM;
        goto fail;
    }
    *out = m;
    return 0;
fail:
    lc_log(LC_LOG_ERROR, LC_MDNS_LOG, "mDNS: cannot start: %s; not advertising", lc_strerror(rc));
    if (m && m->poll)
        avahi_threaded_poll_free(m->poll); /* frees the timeout too */
    if (m)
        avahi_free(m->name);
    free(m);
    return rc;
}

void lc_mdns_stop(lc_mdns *m)
{
    if (!m)
        return;
    avahi_threaded_poll_stop(m->poll); /* joins the thread: its fields are ours now */
    if (m->client)
        avahi_client_free(m->client); /* closes the bus first: no round trip to wait for */
    if (m->advertising)
        lc_log(LC_LOG_INFO, LC_MDNS_LOG, "mDNS: '%s' withdrawn", m->name);
    avahi_threaded_poll_free(m->poll);
    avahi_free(m->name);
    free(m);
}
