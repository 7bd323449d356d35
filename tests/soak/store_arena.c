/*
 * store_arena.c — how much memory the session store's writer thread keeps, without a server.
 *
 *   cc -O2 -o /tmp/store_arena tests/soak/store_arena.c -Isession -Icommon \
 *      build/session/liblc_session.a build/common/liblc_common.a build/platform/liblc_platform.a \
 *      $(pkg-config --libs libcjson) -lcrypto -lpthread
 *   /tmp/store_arena [SESSIONS 1000] [CHANGES_PER_SESSION 3]
 *
 * Grows a store (--max-sessions 100000, in a temp dir) one new session at a time (9 in 10
 * persisted); after each, CHANGES_PER_SESSION PATCHes of volume/name on a pool of 16 sessions,
 * each followed by lc_sessions_flush (one write). Every 100 sessions it prints the resident size
 * of the glibc thread arenas (anonymous mappings on a 64 MiB boundary: only the store's writer
 * thread allocates outside the main arena here) and the process's RssAnon. The soak's RSS steps
 * came from there (docs/reliability.md, "What the RSS steps were"). Linux + glibc only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

static void rss(long *arena_kb, long *anon_kb)
{
    char line[512], perms[8], dev[16], name[256];
    unsigned long a, b, off, ino;
    long v;
    int in_arena = 0;
    FILE *f = fopen("/proc/self/smaps", "r");
    *arena_kb = *anon_kb = 0;
    while (f && fgets(line, sizeof line, f)) {
        name[0] = 0;
        int k = sscanf(line, "%lx-%lx %7s %lx %15s %lu %255s", &a, &b, perms, &off, dev, &ino, name);
        if (k >= 6) {
            in_arena = k == 6 && a % (64ul << 20) == 0; /* unnamed, 64 MiB aligned: a thread arena */
            continue;
        }
        if (in_arena && sscanf(line, "Rss: %ld kB", &v) == 1)
            *arena_kb += v;
    }
    if (f)
        fclose(f);
    f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        sscanf(line, "RssAnon: %ld", anon_kb);
    if (f)
        fclose(f);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000, per = argc > 2 ? atoi(argv[2]) : 3;
    char dir[] = "/tmp/store_arena.XXXXXX", err[256];
    if (!mkdtemp(dir))
        return 1;
    lc_sessions_config cfg;
    lc_sessions_config_default(&cfg);
    cfg.state_dir = dir;
    cfg.max_sessions = 100000;
    lc_sessions *s;
    if (lc_sessions_create(&s, &cfg, NULL, NULL, err, sizeof err)) {
        fprintf(stderr, "store_arena: %s\n", err);
        return 1;
    }
    char pool[16][LC_SESSION_ID_LEN + 1];
    lc_session_info info, out;
    for (int i = 0; i < 16; i++) {
        lc_sessions_attach(s, NULL, true, &info);
        memcpy(pool[i], info.id, sizeof pool[i]);
    }
    long arena, anon, peak = 0;
    srand(1);
    for (int i = 0; i < n; i++) {
        lc_sessions_attach(s, NULL, i % 10 != 0, &info);
        lc_sessions_detach(s, info.id);
        for (int k = 0; k < per; k++) {
            lc_session_patch p = {.has_volume = true, .volume = rand() % 101};
            if (k % 2) {
                p.has_volume = false;
                p.has_name = true;
                snprintf(p.name, sizeof p.name, "name \"%d\" \\ \xc3\xa9", rand());
            }
            lc_sessions_patch(s, pool[rand() % 16], &p, &out);
            lc_sessions_flush(s);
        }
        if ((i + 1) % 100 == 0) {
            rss(&arena, &anon);
            peak = arena > peak ? arena : peak;
            printf("sessions %5zu  writer arena RSS %5ld kB  RssAnon %5ld kB\n", lc_sessions_count(s), arena, anon);
            fflush(stdout);
        }
    }
    lc_sessions_destroy(s);
    printf("peak writer arena RSS %ld kB\n", peak);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) != 0;
}
