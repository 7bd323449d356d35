/* bench.h — the subcommands of `loopcast-bench`, one file each. */
#ifndef LC_BENCH_H
#define LC_BENCH_H

/* `loopcast-bench listeners ...`: N WebSocket listeners against a running server. */
int lc_bench_listeners(int argc, char **argv);
/* `loopcast-bench bare ...`: the reference fan-out loop (one thread, epoll) listeners measure. */
int lc_bench_bare(int argc, char **argv);

#endif
