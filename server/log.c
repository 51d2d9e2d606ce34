/* log.c: log lines in redis-server's format ("pid:M dd Mon yyyy hh:mm:ss.mmm * text"),
 * filtered by loglevel, to stdout or the configured logfile. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
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
    if (!fp) return;
    fprintf(fp, "%d:M %s %c %s\n", (int)getpid(), ts, marks[level & 3], msg);
    fflush(fp);
    if (fp != stdout) fclose(fp);
}
