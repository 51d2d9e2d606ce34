/* main.c: start-up and shut-down of respite-server, and the periodic timer.
 * Start-up: settings (defaults, config file, --flags), daemonizing if asked, the fd
 * limit, the databases,
 * the command table, the listeners, the dataset (RDB or AOF: clients connecting
 * meanwhile are served -LOADING, and SIGTERM/SIGINT stop the load and exit), the timer
 * and signal events; then the loop.
 * The timer runs hz times a second: it refreshes the cached clock and runs server_cron
 * (server/cron.c).
 * SIGTERM/SIGINT (or SHUTDOWN) end the loop after the current callback; clients are
 * then closed and everything freed in reverse order. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "server/acl.h"
#include "server/aof.h"
#include "server/child.h"
#include "server/config.h"
#include "server/net.h"
#include "server/persist.h"
#include "server/propagate.h"
#include "server/script.h"
#include "server/server.h"
#include "server/tracking.h"
#include "server/supervise.h"
#include "storage/evict.h"
#include "storage/type.h"

static struct event *timer_event, *sigterm_event, *sigint_event;

/* SIGTERM/SIGINT while the dataset loads: the loader's serve pass acts on it. */
static void loading_signal(int sig) { persist_loading_signal = sig; }

static void signal_cb(evutil_socket_t sig, short what, void *arg) {
    (void)what;
    (void)arg;
    log_warning("Received %s scheduling shutdown...", sig == SIGINT ? "SIGINT" : "SIGTERM");
    /* shutdown-on-sigterm / shutdown-on-sigint: save, nosave, force (now: no replicas) */
    const char *flags = sig == SIGINT ? server.cfg.shutdown_on_sigint : server.cfg.shutdown_on_sigterm;
    int save = 0, nosave = 0, force = 0;
    for (const char *p = flags ? flags : ""; *p;) {
        size_t n = strcspn(p, " ");
        if (n == 4 && !strncmp(p, "save", 4)) save = 1;
        else if (n == 6 && !strncmp(p, "nosave", 6)) nosave = 1;
        else if (n == 5 && !strncmp(p, "force", 5)) force = 1;
        p += n;
        while (*p == ' ') p++;
    }
    /* As Redis 7.0: a refused shutdown is logged by persist_prepare_shutdown, and the
     * server keeps running. */
    log_warning("User requested shutdown...");
    if (persist_prepare_shutdown(save, nosave, force) < 0) return;
    server_request_shutdown();
}

/* The effective timer frequency: hz clamped to 1..500, as Redis does. */
static int effective_hz(void) { return server.cfg.hz < 1 ? 1 : server.cfg.hz > 500 ? 500 : server.cfg.hz; }

static void timer_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    server.mstime_cached = util_mstime();
    storage_now_ms = server.mstime_cached;

    server_cron();

    struct timeval tv = {0, 1000000 / effective_hz()};
    evtimer_add(timer_event, &tv);
}

#define DEFAULT_PIDFILE "/var/run/redis.pid"

/* Into the background as Redis does: the parent exits at once, the child leads a new
 * session with its standard streams on /dev/null. */
static void daemonize(void) {
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "Could not fork into the background: %s\n", strerror(errno));
        exit(1);
    }
    if (pid > 0) _exit(0);
    setsid();
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO) close(fd);
    }
}

static void seed_randomness(void) {
    uint8_t seed[16 + 20];
    int fd = open("/dev/urandom", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, seed, sizeof(seed)) : -1;
    if (fd >= 0) close(fd);
    if (n != (ssize_t)sizeof(seed)) {
        long long t = util_ustime() ^ (long long)getpid() << 20;
        for (size_t i = 0; i < sizeof(seed); i++) seed[i] = (uint8_t)(t >> (8 * (i % 8))) ^ (uint8_t)(i * 131);
    }
    util_hash_seed(seed);
    srandom((unsigned)(seed[0] | seed[1] << 8 | seed[2] << 16 | (unsigned)seed[3] << 24));
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 20; i++) {
        server.run_id[2 * i] = (uint8_t)hex[seed[16 + i] >> 4];
        server.run_id[2 * i + 1] = (uint8_t)hex[seed[16 + i] & 15];
    }
    server.run_id[40] = 0;
}

static void shutdown_cleanup(void) {
    child_kill();
    child_free();
    net_close_listeners();
    net_free_queued();
    tracking_free();
    while (server.clients) client_free(server.clients);
    pause_end(); /* its timer */
    aof_shutdown();
    slowlog_free();
    latency_free();
    script_free_all();
    function_free_all();
    for (int i = 0; i < server.dbnum; i++) db_destroy(server.dbs[i]);
    free(server.dbs);
    server_cron_free();
    struct event *events[] = {timer_event, sigterm_event, sigint_event};
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++)
        if (events[i]) event_free(events[i]); /* start-up may have failed before some */
    event_base_free(server.base);
    if (server.cfg.pidfile && server.cfg.pidfile[0]) unlink(server.cfg.pidfile);
    propagate_log_close();
}

int main(int argc, char **argv) {
    /* No glibc fastbins: freed small blocks are coalesced as they are freed. With them,
     * a mass expiry or FLUSHALL leaves a million fastbin chunks that the next large
     * malloc consolidates in one go (a 200 ms stall seen in bench/expiry). */
    mallopt(M_MXFAST, 0);
    if (argc == 2 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
        printf("respite-server v=%s (Redis %s compatible)\n", RESPITE_VERSION, REDIS_COMPAT_VERSION);
        return 0;
    }
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("Usage: respite-server [/path/to/respite.conf] [--setting value ...]\n"
               "       respite-server -v or --version\n"
               "       respite-server -h or --help\n"
               "Examples:\n  respite-server --port 7777\n  respite-server /etc/respite.conf --loglevel verbose\n"
               "Stop it with SIGTERM or SIGINT (Ctrl-C) or redis-cli SHUTDOWN. Log lines go to stdout, or to\n"
               "the file named by --logfile.\n\n");
        config_print_help(stdout);
        return 0;
    }
    config_init();
    if (!config_load(argc, argv)) return 1;
    log_open_syslog();
    supervise_init(server.cfg.supervised);
    /* As Redis: a service manager's supervision wins over daemonize; a daemon without
     * a pidfile setting writes Redis's default one. */
    int background = server.cfg.daemonize && !supervise_active();
    if (background) {
        daemonize();
        if (!server.cfg.pidfile || !server.cfg.pidfile[0]) {
            free(server.cfg.pidfile);
            server.cfg.pidfile = xstrdup(DEFAULT_PIDFILE);
        }
    }
    config_log_inert();
    server.executable = realpath(argv[0], NULL);
    server.pid = (int)getpid();
    server.start_ms = server.mstime_cached = util_mstime();
    storage_now_ms = server.start_ms;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN); /* as Redis: a closed terminal does not end the server */
    seed_randomness();
    if (!config_adjust_open_files_limit()) return 1;

    server.base = event_base_new();
    if (!server.base) {
        fprintf(stderr, "Could not initialise the event loop\n");
        return 1;
    }
    server.dbnum = server.cfg.databases;
    types_init();
    server.dbs = xcalloc((size_t)server.dbnum, sizeof(db *));
    for (int i = 0; i < server.dbnum; i++) server.dbs[i] = db_create(i);
    commands_init();
    stats_init();
    if (!acl_init()) return 1;
    multi_init();
    server_memory_init();
    if (server.cfg.propagation_log && server.cfg.propagation_log[0] &&
        !propagate_log_open(server.cfg.propagation_log)) {
        fprintf(stderr, "Can't open the propagation log '%s'\n", server.cfg.propagation_log);
        shutdown_cleanup();
        return 1;
    }

    /* As Redis 7.0, the listeners open before the dataset loads: clients connecting
     * meanwhile get -LOADING (server/persist.h). */
    net_uring_init();
    if (!net_listen()) {
        shutdown_cleanup();
        return 1;
    }
    if (server.cfg.pidfile && server.cfg.pidfile[0]) {
        FILE *fp = fopen(server.cfg.pidfile, "w");
        if (fp) {
            fprintf(fp, "%d\n", server.pid);
            fclose(fp);
        }
    }
    /* With appendonly yes the dataset comes from the AOF, as in Redis. */
    struct sigaction sa = {0}, old_term, old_int;
    sa.sa_handler = loading_signal;
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);
    persist_loading_serves = 1;
    int loaded = (server.cfg.appendonly || persist_load_at_startup() == 0) && aof_init();
    persist_loading_serves = 0;
    if (!loaded || persist_loading_signal) {
        if (persist_loading_signal && !persist_loading_shutdown) {
            log_warning("Received shutdown signal during loading, scheduling shutdown.");
            log_warning("User requested shutdown...");
            persist_loading_shutdown = 1;
        }
        if (persist_loading_shutdown) log_warning("respite is now ready to exit, bye bye...");
        shutdown_cleanup();
        return persist_loading_shutdown ? 0 : 1;
    }
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
    if (server.cfg.appendonly) {
        rdb_stat.lastsave = (long long)time(NULL);
        rdb_stat.dirty_base = storage_dirty;
    }
    timer_event = evtimer_new(server.base, timer_cb, NULL);
    if (!timer_event || !server_cron_init() || !child_init()) {
        fprintf(stderr, "Could not create the timer events\n");
        shutdown_cleanup();
        return 1;
    }
    struct timeval tv = {0, 1000000 / effective_hz()};
    evtimer_add(timer_event, &tv);
    sigterm_event = evsignal_new(server.base, SIGTERM, signal_cb, NULL);
    sigint_event = evsignal_new(server.base, SIGINT, signal_cb, NULL);
    event_add(sigterm_event, NULL);
    event_add(sigint_event, NULL);

    log_notice("respite %s (Redis %s compatible) started, pid=%d, port=%d", RESPITE_VERSION, REDIS_COMPAT_VERSION,
               server.pid, server.cfg.port);
    log_notice("Ready to accept connections");
    supervise_ready();
    event_base_dispatch(server.base);

    supervise_stopping();
    log_warning("respite is now ready to exit, bye bye...");
    shutdown_cleanup();
    return 0;
}
