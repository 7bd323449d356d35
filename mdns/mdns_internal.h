/*
 * mdns_internal.h — what the two backends (mdns_avahi.c, mdns_win32.c) share with mdns.c.
 */
#ifndef LC_MDNS_INTERNAL_H
#define LC_MDNS_INTERNAL_H

#include "mdns.h"

#define LC_MDNS_LOG "mdns"

/* Where --bind says to advertise: *index = the interface (0 = every one). 0, or LC_ERR_INVALID
 * after logging why nothing will be advertised (loopback, or no interface has the address). */
int lc_mdns_bind_index(const char *bind, unsigned *index);

/* "_http._tcp, _loopcast._tcp" into buf, for the log line that says what is advertised. */
void lc_mdns_types(const lc_mdns_plan *plan, char *buf, size_t cap);

#endif
