/*
 * tls.h — what TLS needs beyond lws's own options: the certificate and key checked before lws
 * sees them (one clear line instead of an OpenSSL error stack), and the plain-HTTP redirect
 * listener (--redirect-port). The lws context itself is still made in server.c.
 */
#ifndef LC_SERVER_TLS_H
#define LC_SERVER_TLS_H

#include <libwebsockets.h>
#include <stddef.h>

#include "config.h"

/*
 * Loads --tls-cert and --tls-key the way lws will and checks they belong together. Returns 0,
 * or LC_ERR_INVALID with one line naming the flag, the file and the cause (no PEM certificate,
 * an encrypted key, a key of another certificate, ...). Logs the certificate's names, expiry
 * and SHA-256 fingerprint (what a browser's trust prompt shows), and warns when it has expired.
 */
int lc_tls_check_files(const char *cert, const char *key, char *errbuf, size_t errlen);

/*
 * Adds the vhost "redirect" to `ctx`: plain HTTP on cfg->redirect_port (same --bind), where
 * every request is answered 308 to https://<Host without port>:<cfg->port><path>?<query>.
 * `cfg` must outlive the context. Returns 0 or LC_ERR_IO (the port is taken, ...) with errbuf.
 */
int lc_tls_redirect_start(struct lws_context *ctx, const lc_config *cfg, char *errbuf,
                          size_t errlen);

/*
 * The redirect target, pure (tests and the fuzz target call it): `host` is the Host header as
 * sent, `path` the decoded request path, `query` the decoded query fragments joined by '&'
 * (NULL = none). Every byte outside the URL-safe set is percent-encoded. Returns the length
 * written to out, or -1 when the Host is not a hostname, IPv4 or [IPv6] literal with an
 * optional :port (or out is too small).
 */
int lc_tls_redirect_location(const char *host, const char *path, const char *const *query,
                             size_t n_query, int https_port, char *out, size_t cap);

#endif
