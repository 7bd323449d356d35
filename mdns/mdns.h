/*
 * mdns.h — telling the local network that loopcast is here (mDNS / DNS-SD), so a phone can find
 * the player without anyone typing an address (issue 13).
 *
 * What is advertised (lc_mdns_plan_make), all under one instance name, "loopcast on HOST":
 *   plain HTTP   _http._tcp  on the port, TXT path=/
 *                _loopcast._tcp on the port, TXT path=/ api=/api/v1 version=V tls=0
 *   with TLS     _https._tcp on the port, TXT path=/
 *                _loopcast._tcp on the port, TXT ... tls=1
 *                _http._tcp on the redirect port (when there is one), TXT path=/
 * _http/_https are what browsers and "find devices" apps look for; _loopcast is ours, for future
 * clients that want the API without guessing.
 *
 * Backends, one compiled per OS (mdns/CMakeLists.txt), as in platform/:
 *   Linux    mdns_avahi.c: the system's avahi-daemon over D-Bus (libavahi-client), driven by
 *            Avahi's threaded poll: its own thread does every D-Bus round trip, so nothing here
 *            ever blocks the caller (the lws service thread). A daemon that is absent, stops or
 *            restarts is waited for and the services are published again when it is back; a
 *            name taken by another host is replaced by Avahi's alternative ("... #2").
 *   Windows  mdns_win32.c: DnsServiceRegister (dnsapi.dll, Windows 10 1809+), looked up at run
 *            time so the .exe still starts on older Windows (and under Wine, which lacks it).
 *
 * Nothing here is fatal: when advertising is impossible the module says why in one log line
 * ("mDNS: ...; not advertising") and the server goes on serving.
 */
#ifndef LC_MDNS_H
#define LC_MDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lc_error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the server is: enough to say where it is. Strings are copied by lc_mdns_start. */
typedef struct lc_mdns_params {
    const char *host;     /* this machine's name (lc_plat_hostname); "" or NULL: "loopcast" */
    const char *version;  /* the server's version, for TXT version= */
    const char *bind;     /* --bind: an address or interface name; NULL = every interface */
    int port;             /* the page's port (HTTPS when tls) */
    bool tls;             /* the port speaks HTTPS */
    int redirect_port;    /* with tls: plain-HTTP port that redirects to HTTPS; 0 = none */
} lc_mdns_params;

#define LC_MDNS_NAME_MAX 63 /* an instance name is one DNS label: at most 63 bytes */
#define LC_MDNS_MAX_SERVICES 3
#define LC_MDNS_MAX_TXT 4
#define LC_MDNS_TXT_MAX 64

typedef struct lc_mdns_service {
    const char *type; /* "_http._tcp", "_https._tcp", "_loopcast._tcp" (static strings) */
    uint16_t port;
    size_t n_txt;
    char txt[LC_MDNS_MAX_TXT][LC_MDNS_TXT_MAX]; /* "key=value" */
} lc_mdns_service;

/* The services to publish: the same for every backend, and testable without a network. */
typedef struct lc_mdns_plan {
    char name[LC_MDNS_NAME_MAX + 1]; /* "loopcast on HOST", cut on a UTF-8 boundary */
    size_t n;
    lc_mdns_service svc[LC_MDNS_MAX_SERVICES];
} lc_mdns_plan;

void lc_mdns_plan_make(const lc_mdns_params *p, lc_mdns_plan *out);

typedef struct lc_mdns lc_mdns;

/*
 * Starts advertising in the background and returns at once: 0 with *out set when the backend
 * runs (advertising now, or as soon as the daemon is reachable: it logs which). Otherwise
 * *out = NULL, one line has been logged saying why nothing is advertised, and the error is
 * LC_ERR_UNSUPPORTED (no mDNS service on this system: Windows before 10 1809, Wine),
 * LC_ERR_INVALID (bound to loopback or to an address no interface has: nobody on the network
 * could use what we would announce), LC_ERR_NOMEM or LC_ERR_SYSTEM.
 */
int lc_mdns_start(lc_mdns **out, const lc_mdns_params *p);

/* Withdraws the services (the daemon sends goodbye packets, so browsers drop them at once) and
 * frees everything; no callback runs after it returns. Call from the thread that started it.
 * It waits for no answer, only for a call already under way (Linux: at most libdbus's 25 s call
 * timeout, should avahi-daemon hang mid-answer; Windows: 2 s for DnsServiceDeRegister's
 * answers). NULL is a no-op. */
void lc_mdns_stop(lc_mdns *m);

#ifdef __cplusplus
}
#endif
#endif
