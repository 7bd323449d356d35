/*
 * main.c — the loopcast binary: configuration, then the server object (server.c) does the rest.
 * Exit status: 0 after SIGTERM/SIGINT, 2 for a bad flag, value or source URI, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "capture.h"
#include "config.h"
#include "server.h"

extern char **environ;

int main(int argc, char **argv)
{
    lc_config cfg;
    char err[512];
    lc_server *srv = NULL;

    /* Before any thread exists, so every thread inherits the mask (see server.h). */
    lc_server_block_signals();

    if (lc_config_parse(&cfg, argc, argv, environ, err, sizeof err)) {
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
