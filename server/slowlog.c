/* slowlog.c: SLOWLOG GET/LEN/RESET/HELP. Commands that ran for at least
 * slowlog-log-slower-than microseconds are kept, newest first, in a list capped at
 * slowlog-max-len; arguments are trimmed as Redis trims them (32 arguments, 128 bytes
 * each, with a note of what was left out); arguments the command marked secret
 * (client_redact_arg: passwords) are stored as "(redacted)", never as given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/server.h"

#define SLOWLOG_MAX_ARGC   32
#define SLOWLOG_MAX_STRING 128

typedef struct slowlog_entry {
    struct slowlog_entry *next, *prev;
    long long id, time, duration;
    int argc;
    resp_slice *argv; /* one allocation with the bytes */
    char *addr, *name;
} slowlog_entry;

static slowlog_entry *head, *tail; /* newest first */
static long long entry_id;
static long len;

static void entry_free(slowlog_entry *e) {
    free(e->argv);
    free(e->addr);
    free(e->name);
    free(e);
}

static void trim_to(long max) {
    while (len > max && tail) {
        slowlog_entry *e = tail;
        tail = e->prev;
        if (tail) tail->next = NULL;
        else head = NULL;
        entry_free(e);
        len--;
    }
}

void client_redact_arg(client *c, int i) {
    if (i >= 0 && i < 64) c->redacted |= 1ull << i;
}

static int is_redacted(const client *c, int i) { return i < 64 && (c->redacted >> i & 1); }

void slowlog_push(client *c, int argc, const resp_slice *argv, long long duration) {
    if (server.cfg.slowlog_log_slower_than < 0 || duration < server.cfg.slowlog_log_slower_than) return;
    if (server.cfg.slowlog_max_len <= 0) return;
    static const char redacted[] = "(redacted)";
    slowlog_entry *e = xcalloc(1, sizeof(*e));
    int n = argc > SLOWLOG_MAX_ARGC ? SLOWLOG_MAX_ARGC : argc;
    char notes[SLOWLOG_MAX_ARGC][64];
    size_t bytes = sizeof(resp_slice) * (size_t)n;
    for (int i = 0; i < n; i++) {
        notes[i][0] = '\0';
        if (n < argc && i == n - 1) snprintf(notes[i], sizeof(notes[i]), "... (%d more arguments)", argc - n + 1);
        else if (argv[i].len > SLOWLOG_MAX_STRING && !is_redacted(c, i))
            snprintf(notes[i], sizeof(notes[i]), "... (%zu more bytes)", argv[i].len - SLOWLOG_MAX_STRING);
        bytes += SLOWLOG_MAX_STRING + strlen(notes[i]);
    }
    e->argv = xmalloc(bytes);
    char *p = (char *)(e->argv + n);
    for (int i = 0; i < n; i++) {
        size_t l;
        if (n < argc && i == n - 1) {
            l = strlen(notes[i]);
            memcpy(p, notes[i], l);
        } else if (is_redacted(c, i)) {
            l = sizeof(redacted) - 1;
            memcpy(p, redacted, l);
        } else {
            size_t keep = argv[i].len > SLOWLOG_MAX_STRING ? SLOWLOG_MAX_STRING : argv[i].len;
            memcpy(p, argv[i].ptr, keep);
            size_t nl = strlen(notes[i]);
            memcpy(p + keep, notes[i], nl);
            l = keep + nl;
        }
        e->argv[i].ptr = p;
        e->argv[i].len = l;
        p += l;
    }
    e->argc = n;
    e->id = entry_id++;
    e->time = util_mstime() / 1000;
    e->duration = duration;
    e->addr = xstrdup(c->addr);
    e->name = xstrdup(c->name ? c->name : "");
    e->next = head;
    if (head) head->prev = e;
    else tail = e;
    head = e;
    len++;
    trim_to(server.cfg.slowlog_max_len);
}

static void cmd_slowlog_get(client *c) {
    long long count = 10;
    if (c->argc == 3) {
        if (!util_str2ll(c->argv[2].ptr, c->argv[2].len, &count) || count < -1) {
            reply_error(&c->out, "count should be greater than or equal to -1");
            return;
        }
        if (count == -1) count = len;
    }
    if (count > len) count = len;
    reply_array(&c->out, (long)count);
    slowlog_entry *e = head;
    for (long long i = 0; i < count && e; i++, e = e->next) {
        reply_array(&c->out, 6);
        reply_int(&c->out, e->id);
        reply_int(&c->out, e->time);
        reply_int(&c->out, e->duration);
        reply_array(&c->out, e->argc);
        for (int j = 0; j < e->argc; j++) reply_bulk(&c->out, e->argv[j].ptr, e->argv[j].len);
        reply_bulk_cstr(&c->out, e->addr);
        reply_bulk_cstr(&c->out, e->name);
    }
}

static void cmd_slowlog_len(client *c) { reply_int(&c->out, len); }

static void cmd_slowlog_reset(client *c) {
    trim_to(0);
    reply_ok(&c->out);
}

static void cmd_slowlog_help(client *c) {
    static const char *const lines[] = {
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
    };
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

void slowlog_free(void) { trim_to(0); }

const command_binding slowlog_subcommands[] = {
    CMD("get", cmd_slowlog_get),
    CMD("len", cmd_slowlog_len),
    CMD("reset", cmd_slowlog_reset),
    CMD("help", cmd_slowlog_help),
    {0},
};
