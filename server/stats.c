/* stats.c: error and latency statistics. Every error reply is counted by its code (the
 * word after '-', or ERR) for INFO errorstats and total_error_replies; a command refused
 * before it ran counts as rejected, one whose run replied an error as failed (as
 * Redis: errors replied by commands run inside EXEC count for those commands, not for
 * EXEC). With latency-tracking on, each command's run times go into its own histogram
 * (common/histogram.h, allocated at its first call) for INFO latencystats and LATENCY
 * HISTOGRAM; with it off, nothing is recorded. */
#include <stdlib.h>
#include <string.h>

#include "common/histogram.h"
#include "common/xmalloc.h"
#include "server/server.h"

#define ERRORSTATS_MAX 128 /* distinct codes tracked, as Redis */

static struct errorstat {
    char code[32];
    long long count;
} errors[ERRORSTATS_MAX];
static int nerrors;
static long long prev_error_replies; /* total_error_replies when the last command ended */
static int call_depth;               /* EXEC runs commands inside its own call */

static void count_error(const char *msg, size_t n) {
    server.stat_total_error_replies++;
    const char *code = "ERR";
    size_t len = 3;
    if (n && msg[0] == '-') {
        const char *sp = memchr(msg, ' ', n < 32 ? n : 32);
        if (sp) {
            code = msg + 1;
            len = (size_t)(sp - msg) - 1;
        }
    }
    int i = 0, cmp = 1;
    for (; i < nerrors; i++) {
        cmp = strncmp(errors[i].code, code, len);
        if (cmp == 0 && errors[i].code[len]) cmp = 1;
        if (cmp >= 0) break;
    }
    if (i < nerrors && cmp == 0) {
        errors[i].count++;
        return;
    }
    if (nerrors == ERRORSTATS_MAX) return;
    memmove(&errors[i + 1], &errors[i], sizeof(errors[0]) * (size_t)(nerrors - i));
    nerrors++;
    memcpy(errors[i].code, code, len);
    errors[i].code[len] = '\0';
    errors[i].count = 1;
}

void stats_init(void) { reply_error_hook = count_error; }

void stats_rejected(command *cmd) {
    if (cmd) cmd->rejected_calls++;
    prev_error_replies = server.stat_total_error_replies;
}

/* Errors replied outside any command (a protocol error, a refused connection) are not
 * the next command's: a top-level call starts from the count as it is. */
void stats_call_begin(void) {
    if (call_depth++ == 0) prev_error_replies = server.stat_total_error_replies;
}

void stats_after_call(client *c, command *cmd, long long duration_us) {
    call_depth--;
    if (server.stat_total_error_replies != prev_error_replies) {
        cmd->failed_calls++;
        prev_error_replies = server.stat_total_error_replies;
    }
    if (c->blocked) return; /* counted when it is served */
    if (server.cfg.latency_tracking) {
        if (!cmd->latency) cmd->latency = xcalloc(1, sizeof(histogram));
        histogram_record(cmd->latency, duration_us * 1000);
    }
    if (server.cfg.latency_monitor_threshold && duration_us / 1000 >= server.cfg.latency_monitor_threshold)
        latency_add_sample_if_needed(cmd->flags & CMD_FAST ? "fast-command" : "command", duration_us / 1000);
}

static void reset_command(void *priv, const command *cmd) {
    (void)priv;
    command *m = (command *)cmd;
    m->calls = m->usec = m->rejected_calls = m->failed_calls = 0;
    free(m->latency);
    m->latency = NULL;
}

void stats_reset(void) {
    nerrors = 0;
    server.stat_total_error_replies = prev_error_replies = 0;
    commands_foreach(reset_command, NULL);
}

void stats_foreach_error(void (*fn)(void *priv, const char *code, long long count), void *priv) {
    for (int i = 0; i < nerrors; i++) fn(priv, errors[i].code, errors[i].count);
}
