/*
 * main.c — the loopcast binary: configuration, then the server object (server.c) does the rest.
 * Exit status: 0 after SIGTERM/SIGINT, 2 for a bad flag, value or source URI, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>

#include "capture.h"
#include "config.h"
#include "platform.h"
#include "server.h"

/*
 * Every listener is a socket. The usual soft RLIMIT_NOFILE (1024 under systemd and most shells)
 * would cap --max-listeners far below its 4096 default while the hard limit allows much more, so
 * set the soft limit to what the configured listeners, other connections and our own files need
 * (never above the hard limit), and say so when the hard limit is the ceiling. The server then
 * sizes lws's fd table to exactly this limit (server.c).
 */
static void raise_fd_limit(const lc_config *cfg)
{
    unsigned want = cfg->max_listeners + cfg->max_listeners / 4 + 256, now;
    /* Exactly `want`, lowering a huge inherited limit too: lws sizes its fd table to the limit
     * (server.c), and a container's 1M would cost megabytes for nothing. */
    if (lc_plat_fd_limit(want, &now) == 0 && now < want)
        lc_log(LC_LOG_WARN, "main",
               "open-file limit %u is below the %u that --max-listeners %u needs: raise "
               "the hard limit (ulimit -Hn, LimitNOFILE=) or lower --max-listeners",
               now, want, cfg->max_listeners);
}

int main(int argc, char **argv)
{
    lc_config cfg;
    char err[512];
    lc_server *srv = NULL;

    /* Before any thread exists, so every thread inherits the mask (see server.h). */
    lc_server_block_signals();

    char **envp = NULL;
    if (lc_plat_args_utf8(&argc, &argv, &envp)) {
        fprintf(stderr, "loopcast: cannot read the command line and environment as UTF-8\n");
        return 1;
    }
    if (lc_config_parse(&cfg, argc, argv, envp, err, sizeof err)) {
        fprintf(stderr, "loopcast: %s\n", err);
        return 2;
    }
    if (cfg.help) {
        lc_config_usage(stdout, "loopcast");
        return 0;
    }
    if (cfg.version) {
        printf("loopcast %s\n", LC_VERSION);
        return 0;
    }
    if (cfg.list_sources) {
        lc_capture_list_sources(stdout);
        return 0;
    }
    lc_log_set_format(cfg.log_format);
    raise_fd_limit(&cfg);

    int rc = lc_server_create(&srv, &cfg, err, sizeof err);
    if (rc) {
        lc_log(LC_LOG_ERROR, "main", "%s", err);
        /* A bad --source is a bad value like any other. */
        return rc == LC_ERR_URI || rc == LC_ERR_NO_BACKEND || rc == LC_ERR_FORMAT ||
                       rc == LC_ERR_INVALID
                   ? 2
                   : 1;
    }
    rc = lc_server_run(srv);
    lc_server_destroy(srv);
    return rc ? 1 : 0;
}
