/*
 * main.c — the loopcast binary: configuration, then the server object (server.c) does the rest.
 * Exit status: 0 after a stop request (SIGTERM/SIGINT; Windows: Ctrl+C, close, logoff,
 * shutdown, service stop), 2 for a bad flag, value or source URI, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The server itself: what a console run and a Windows service run alike. Its exit status. */
static int serve(void *user)
{
    const lc_config *cfg = user;
    char err[512];
    lc_server *srv = NULL;
    raise_fd_limit(cfg);
    int rc = lc_server_create(&srv, cfg, err, sizeof err);
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

/* --service install|uninstall|run. install hands the service every other option given. */
static int service(const lc_config *cfg, int argc, char **argv)
{
    char err[1024], warn[512];
    int rc;
    if (cfg->service == LC_SERVICE_RUN) {
        rc = lc_plat_service_run("loopcast", serve, (void *)cfg, err, sizeof err);
        if (rc < 0)
            fprintf(stderr, "loopcast: %s\n", err);
        return rc < 0 ? (rc == LC_ERR_UNSUPPORTED ? 2 : 1) : rc;
    }
    if (cfg->service == LC_SERVICE_UNINSTALL) {
        rc = lc_plat_service_uninstall("loopcast", err, sizeof err);
        if (rc)
            fprintf(stderr, "loopcast: --service uninstall: %s\n", err);
        else
            printf("loopcast: service stopped and removed, with its firewall rule; its state "
                   "folder %%ProgramData%%\\loopcast is kept\n");
        return rc ? (rc == LC_ERR_UNSUPPORTED ? 2 : 1) : 0;
    }
    char **args = calloc((size_t)argc, sizeof *args);
    int n = 0;
    if (!args)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--service"))
            i++; /* and its value */
        else if (strncmp(argv[i], "--service=", 10))
            args[n++] = argv[i];
    }
    rc = lc_plat_service_install("loopcast", "loopcast audio streaming",
                                 "Streams what this PC plays to browsers on the network "
                                 "(Opus over WebSocket).",
                                 args, n, cfg->port, warn, sizeof warn, err, sizeof err);
    free(args);
    if (rc) {
        fprintf(stderr, "loopcast: --service install: %s\n", err);
        return rc == LC_ERR_UNSUPPORTED ? 2 : 1;
    }
    if (warn[0])
        fprintf(stderr, "loopcast: warning: %s\n", warn);
    printf("loopcast: service 'loopcast' installed and started (account LocalService, starts "
           "with Windows); state and api-token in %%ProgramData%%\\loopcast, log in "
           "%%ProgramData%%\\loopcast\\loopcast.log; listeners open http://<this PC>:%u/\n",
           cfg->port);
    return 0;
}

int main(int argc, char **argv)
{
    lc_config cfg;
    char err[512];

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
    if (cfg.service != LC_SERVICE_NONE)
        return service(&cfg, argc, argv);
    return serve(&cfg);
}
