/* log.c: log lines in redis-server's format ("pid:M dd Mon yyyy hh:mm:ss.mmm * text"),
 * filtered by loglevel, to stdout or the configured logfile, and also to syslog(3)
 * when syslog-enabled is yes (as Redis: ident, facility, a priority per level); and the
 * rate limit for lines that peers can make repeat. No caller logs a password or a
 * command's arguments: a log line holds names, addresses, counts and error texts only. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "server/server.h"

void log_msg(int level, const char *fmt, ...) {
    if (level < server.cfg.loglevel) return;
    static const char marks[] = ".-*#";
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char ts[64];
    size_t off = strftime(ts, sizeof(ts), "%d %b %Y %H:%M:%S.", &tm);
    snprintf(ts + off, sizeof(ts) - off, "%03d", (int)(tv.tv_usec / 1000));

    const char *path = server.cfg.logfile;
    FILE *fp = (path && path[0]) ? fopen(path, "a") : stdout;
    if (fp) {
        fprintf(fp, "%d:M %s %c %s\n", (int)getpid(), ts, marks[level & 3], msg);
        fflush(fp);
        if (fp != stdout) fclose(fp);
    }
    if (server.cfg.syslog_enabled) {
        static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARNING};
        syslog(prio[level & 3], "%s", msg);
    }
}

void log_open_syslog(void) {
    static const struct {
        const char *name;
        int facility;
    } facilities[] = {{"user", LOG_USER},     {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},
                      {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},
                      {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7}};
    if (!server.cfg.syslog_enabled) return;
    int facility = LOG_LOCAL0;
    for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
        if (!strcmp(server.cfg.syslog_facility, facilities[i].name)) facility = facilities[i].facility;
    openlog(server.cfg.syslog_ident, LOG_PID | LOG_NDELAY | LOG_NOWAIT, facility);
}

int log_ratelimit_pass(int level, log_limit *l, long long interval_ms) {
    if (level < server.cfg.loglevel) return 0;
    long long now = util_mstime();
    if (l->last_ms && now - l->last_ms < interval_ms && now >= l->last_ms) {
        l->suppressed++;
        return 0;
    }
    if (l->suppressed)
        log_msg(level, "(%lld similar log lines suppressed in the last %lld ms)", l->suppressed, now - l->last_ms);
    l->last_ms = now;
    l->suppressed = 0;
    return 1;
}
