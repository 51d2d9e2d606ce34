/* monitor.c: MONITOR, as Redis 7.0's replicationFeedMonitors: after each command runs
 * (not admin or skip_monitor ones, not a blocked command's re-run; scripts calls before
 * they run, so their commands, shown as "[db lua]", follow them), every monitor gets
 * "+<sec>.<usec> [<db> <addr>] \"arg\" ..." with the arguments quoted as Redis's
 * sdscatrepr and secrets (client_redact_arg) shown as "(redacted)". The line is built
 * once and appended to each monitor's output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/xmalloc.h"
#include "server/net.h"
#include "server/server.h"

static client **monitors;
static int nmonitors, monitors_cap;

int monitor_count(void) { return nmonitors; }

void monitor_client_free(client *c) {
    if (!(c->flags & CLIENT_MONITOR)) return;
    for (int i = 0; i < nmonitors; i++) {
        if (monitors[i] != c) continue;
        memmove(monitors + i, monitors + i + 1, sizeof(client *) * (size_t)(nmonitors - i - 1));
        nmonitors--;
        break;
    }
    c->flags &= ~CLIENT_MONITOR;
    if (!nmonitors) {
        free(monitors);
        monitors = NULL;
        monitors_cap = 0;
    }
}

typedef struct linebuf {
    char *p;
    size_t len, cap;
} linebuf;

static void lb_add(linebuf *b, const char *s, size_t n) {
    if (b->len + n > b->cap) {
        while (b->len + n > b->cap) b->cap = b->cap ? b->cap * 2 : 256;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* Redis's sdscatrepr. */
static void lb_repr(linebuf *b, const char *s, size_t n) {
    lb_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[8];
        switch (ch) {
            case '\\': lb_add(b, "\\\\", 2); break;
            case '"': lb_add(b, "\\\"", 2); break;
            case '\n': lb_add(b, "\\n", 2); break;
            case '\r': lb_add(b, "\\r", 2); break;
            case '\t': lb_add(b, "\\t", 2); break;
            case '\a': lb_add(b, "\\a", 2); break;
            case '\b': lb_add(b, "\\b", 2); break;
            default:
                if (ch >= 0x20 && ch < 0x7f) {
                    lb_add(b, (const char *)&ch, 1);
                } else {
                    snprintf(esc, sizeof(esc), "\\x%02x", ch);
                    lb_add(b, esc, 4);
                }
        }
    }
    lb_add(b, "\"", 1);
}

static void feed(client *c, int argc, const resp_slice *argv);

void monitor_feed(client *c, const command *cmd, int argc, const resp_slice *argv) {
    if (cmd->flags & (CMD_SKIP_MONITOR | CMD_ADMIN)) return;
    if (blocking_is_retry(c)) return;
    feed(c, argc, argv);
}

/* EVAL, EVALSHA, FCALL and their _RO forms are skip_monitor, but Redis feeds them itself
 * before they run (whether they then fail or not), so the commands their script runs
 * follow them. */
void monitor_feed_script_call(client *c, const command *cmd) {
    static const char *const names[] = {"eval", "eval_ro", "evalsha", "evalsha_ro", "fcall", "fcall_ro"};
    if (cmd->parent) return;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strcmp(cmd->name, names[i])) {
            feed(c, c->argc, c->argv);
            return;
        }
    }
}

static void feed(client *c, int argc, const resp_slice *argv) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    char head[256];
    int h;
    if (c->flags & CLIENT_SCRIPT)
        h = snprintf(head, sizeof(head), "+%ld.%06ld [%d lua] ", (long)tv.tv_sec, (long)tv.tv_usec, db_id(c->db));
    else if (c->flags & CLIENT_UNIX)
        h = snprintf(head, sizeof(head), "+%ld.%06ld [%d unix:%s] ", (long)tv.tv_sec, (long)tv.tv_usec, db_id(c->db),
                     server.cfg.unixsocket);
    else
        h = snprintf(head, sizeof(head), "+%ld.%06ld [%d %s] ", (long)tv.tv_sec, (long)tv.tv_usec, db_id(c->db),
                     c->addr);
    if (h < 0 || (size_t)h >= sizeof(head)) h = (int)strlen(head);
    linebuf b = {NULL, 0, 0};
    lb_add(&b, head, (size_t)h);
    for (int j = 0; j < argc; j++) {
        if (j < 64 && (c->redacted & (1ull << j))) lb_repr(&b, "(redacted)", 10);
        else lb_repr(&b, argv[j].ptr, argv[j].len);
        if (j != argc - 1) lb_add(&b, " ", 1);
    }
    lb_add(&b, "\r\n", 2);
    size_t off = net_bcast_add(b.p, b.len);
    for (int i = 0; i < nmonitors; i++) {
        client *m = monitors[i];
        if (m->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) continue;
        client_queue_bcast(m, off, b.len);
    }
    free(b.p);
}

static void cmd_monitor(client *c) {
    if (c->flags & CLIENT_EXECUTING_EXEC) {
        reply_error(&c->out, "MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    if (c->flags & CLIENT_MONITOR) return; /* already monitoring: no reply, as Redis */
    if (nmonitors == monitors_cap) {
        monitors_cap = monitors_cap ? monitors_cap * 2 : 4;
        monitors = xrealloc(monitors, sizeof(client *) * (size_t)monitors_cap);
    }
    monitors[nmonitors++] = c;
    c->flags |= CLIENT_MONITOR;
    reply_ok(&c->out);
}

const command_binding monitor_commands[] = {
    CMD("monitor", cmd_monitor),
    {0},
};
