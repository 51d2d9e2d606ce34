/* latency.c: the latency monitor and the LATENCY command, as Redis's latency.c. An
 * event class ("command", "fast-command", ...) keeps its last 160 samples, one per
 * second at most (a second's worst), plus its all-time maximum; samples are taken only
 * at or over latency-monitor-threshold milliseconds. LATENCY DOCTOR words its report,
 * and LATENCY GRAPH draws its sparkline, exactly as Redis does. LATENCY HISTOGRAM
 * reads the per-command histograms of latency-tracking (server/stats.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/histogram.h"
#include "common/xmalloc.h"
#include "server/server.h"

#define LATENCY_TS_LEN     160
#define LATENCY_GRAPH_COLS 80
#define MAX_EVENTS         32

typedef struct sample {
    long long time; /* unix seconds; 0 = empty slot */
    long long latency;
} sample;

typedef struct series {
    char *name;
    int idx; /* next slot to write */
    long long max;
    sample samples[LATENCY_TS_LEN];
} series;

static series *events[MAX_EVENTS]; /* in creation order */
static int nevents;

static series *find_event(const char *name, size_t len) {
    for (int i = 0; i < nevents; i++)
        if (strlen(events[i]->name) == len && !memcmp(events[i]->name, name, len)) return events[i];
    return NULL;
}

void latency_add_sample_if_needed(const char *event, long long latency_ms) {
    if (!server.cfg.latency_monitor_threshold || latency_ms < server.cfg.latency_monitor_threshold) return;
    series *ts = find_event(event, strlen(event));
    if (!ts) {
        if (nevents == MAX_EVENTS) return;
        ts = xcalloc(1, sizeof(*ts));
        ts->name = xstrdup(event);
        events[nevents++] = ts;
    }
    long long now = (long long)time(NULL);
    if (latency_ms > ts->max) ts->max = latency_ms;
    int prev = (ts->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
    if (ts->samples[prev].time == now) {
        if (latency_ms > ts->samples[prev].latency) ts->samples[prev].latency = latency_ms;
        return;
    }
    ts->samples[ts->idx].time = now;
    ts->samples[ts->idx].latency = latency_ms;
    ts->idx = (ts->idx + 1) % LATENCY_TS_LEN;
}

static void event_free(series *ts) {
    free(ts->name);
    free(ts);
}

void latency_free(void) {
    for (int i = 0; i < nevents; i++) event_free(events[i]);
    nevents = 0;
}

static series *event_arg(client *c) { return find_event(c->argv[2].ptr, c->argv[2].len); }

/* LATENCY LATEST: [event, time, latest latency, all-time max] per event. */
static void cmd_latency_latest(client *c) {
    reply_array(&c->out, nevents);
    for (int i = 0; i < nevents; i++) {
        series *ts = events[i];
        int last = (ts->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
        reply_array(&c->out, 4);
        reply_bulk_cstr(&c->out, ts->name);
        reply_int(&c->out, ts->samples[last].time);
        reply_int(&c->out, ts->samples[last].latency);
        reply_int(&c->out, ts->max);
    }
}

static void cmd_latency_history(client *c) {
    series *ts = event_arg(c);
    if (!ts) {
        reply_array(&c->out, 0);
        return;
    }
    long n = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++)
        if (ts->samples[j].time) n++;
    reply_array(&c->out, n);
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const sample *s = &ts->samples[(ts->idx + j) % LATENCY_TS_LEN];
        if (!s->time) continue;
        reply_array(&c->out, 2);
        reply_int(&c->out, s->time);
        reply_int(&c->out, s->latency);
    }
}

static void cmd_latency_reset(client *c) {
    long resets = 0;
    if (c->argc == 2) {
        resets = nevents;
        latency_free();
    } else {
        for (int a = 2; a < c->argc; a++) {
            for (int i = 0; i < nevents; i++) {
                if (strlen(events[i]->name) != c->argv[a].len ||
                    memcmp(events[i]->name, c->argv[a].ptr, c->argv[a].len))
                    continue;
                event_free(events[i]);
                memmove(&events[i], &events[i + 1], sizeof(events[0]) * (size_t)(nevents - i - 1));
                nevents--;
                resets++;
                break;
            }
        }
    }
    reply_int(&c->out, resets);
}

/* ---- text output ---- */

typedef struct text {
    char *p;
    size_t len, cap;
} text;

static void text_add(text *t, const char *s, size_t n) {
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->p = xrealloc(t->p, t->cap);
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void text_cstr(text *t, const char *s) { text_add(t, s, strlen(s)); }

static void text_printf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_printf(text *t, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0) text_add(t, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Redis's sparkline (sparkline.c), filled, linear, 4 rows: each column a sample, its
 * label (how long ago) written downwards under a blank line. */
typedef struct spark {
    long long value;
    char label[16];
} spark;

static void sparkline_range(text *t, const spark *s, int len, long long min, long long max, int rows) {
    static const char fill[] = "_o#";
    const int charset_len = 3, label_margin_top = 1;
    double relmax = (double)(max - min);
    if (relmax == 0) relmax = 1;
    int steps = charset_len * rows;
    char *chars = xmalloc((size_t)len);
    for (int row = 0;; row++) {
        int loop = 0;
        memset(chars, ' ', (size_t)len);
        for (int j = 0; j < len; j++) {
            double relval = (double)(s[j].value - min);
            int step = (int)((int)(relval * steps) / relmax);
            if (step < 0) step = 0;
            if (step >= steps) step = steps - 1;
            if (row < rows) {
                int charidx = step - (rows - row - 1) * charset_len;
                loop = 1;
                if (charidx >= 0 && charidx < charset_len) chars[j] = fill[charidx];
                else if (charidx >= charset_len) chars[j] = '|';
            } else {
                if (row - rows < label_margin_top) {
                    loop = 1;
                    break;
                }
                int label_char = row - rows - label_margin_top;
                if ((int)strlen(s[j].label) > label_char) {
                    loop = 1;
                    chars[j] = s[j].label[label_char];
                }
            }
        }
        if (!loop) break;
        text_add(t, chars, (size_t)len);
        text_add(t, "\n", 1);
    }
    free(chars);
}

static void cmd_latency_graph(client *c) {
    series *ts = event_arg(c);
    if (!ts) {
        reply_errorf(&c->out, "No samples available for event '%.*s'", (int)c->argv[2].len, c->argv[2].ptr);
        return;
    }
    spark s[LATENCY_TS_LEN];
    int n = 0;
    long long min = 0, max = 0, now = (long long)time(NULL);
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const sample *x = &ts->samples[(ts->idx + j) % LATENCY_TS_LEN];
        if (!x->time) continue;
        if (n == 0) min = max = x->latency;
        else {
            if (x->latency > max) max = x->latency;
            if (x->latency < min) min = x->latency;
        }
        int elapsed = (int)(now - x->time);
        if (elapsed < 60) snprintf(s[n].label, sizeof(s[n].label), "%ds", elapsed);
        else if (elapsed < 3600) snprintf(s[n].label, sizeof(s[n].label), "%dm", elapsed / 60);
        else if (elapsed < 3600 * 24) snprintf(s[n].label, sizeof(s[n].label), "%dh", elapsed / 3600);
        else snprintf(s[n].label, sizeof(s[n].label), "%dd", elapsed / (3600 * 24));
        s[n++].value = x->latency;
    }
    text t = {0};
    text_printf(&t, "%s - high %llu ms, low %llu ms (all time high %llu ms)\n", ts->name, (unsigned long long)max,
                (unsigned long long)min, (unsigned long long)ts->max);
    for (int j = 0; j < LATENCY_GRAPH_COLS; j++) text_add(&t, "-", 1);
    text_add(&t, "\n", 1);
    for (int j = 0; j < n; j += LATENCY_GRAPH_COLS) {
        if (j) text_add(&t, "\n", 1);
        sparkline_range(&t, s + j, n - j < LATENCY_GRAPH_COLS ? n - j : LATENCY_GRAPH_COLS, min, max, 4);
    }
    reply_verbatim(&c->out, t.p ? t.p : "", t.len, "txt");
    free(t.p);
}

/* What Redis's analyzeLatencyForEvent computes over the samples held. */
typedef struct event_stats {
    long long all_time_high, avg, min, max, mad, period;
    int samples;
} event_stats;

static event_stats analyze(const series *ts) {
    event_stats ls = {0};
    ls.all_time_high = ts->max;
    long long sum = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const sample *x = &ts->samples[j];
        if (!x->time) continue;
        ls.samples++;
        if (ls.samples == 1) ls.min = ls.max = x->latency;
        else {
            if (ls.min > x->latency) ls.min = x->latency;
            if (ls.max < x->latency) ls.max = x->latency;
        }
        sum += x->latency;
        if (ls.period == 0 || x->time < ls.period) ls.period = x->time;
    }
    if (ls.samples) {
        ls.avg = sum / ls.samples;
        ls.period = (long long)time(NULL) - ls.period;
        if (ls.period == 0) ls.period = 1;
    }
    sum = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const sample *x = &ts->samples[j];
        if (!x->time) continue;
        long long d = ls.avg - x->latency;
        sum += d < 0 ? -d : d;
    }
    if (ls.samples) ls.mad = sum / ls.samples;
    return ls;
}

/* LATENCY DOCTOR, with Redis's words for the events respite records (command and
 * fast-command). */
static void cmd_latency_doctor(client *c) {
    text t = {0};
    if (!server.cfg.latency_monitor_threshold && !nevents) {
        text_cstr(&t,
                  "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may "
                  "use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't "
                  "in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n");
    } else if (!nevents) {
        text_cstr(&t,
                  "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the "
                  "slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things "
                  "over.\n");
    } else {
        int slowlog_enabled = 0, slowlog_tuning = 0, slowlog_inspect = 0, large_objects = 0, scheduler = 0, advices = 0;
        text_cstr(&t, "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, "
                      "do you Dave?\n\n");
        for (int i = 0; i < nevents; i++) {
            event_stats ls = analyze(events[i]);
            text_printf(&t,
                        "%d. %s: %d latency spikes (average %llums, mean deviation %llums, period %.2f sec). Worst all "
                        "time event %llums.",
                        i + 1, events[i]->name, ls.samples, (unsigned long long)ls.avg, (unsigned long long)ls.mad,
                        (double)ls.period / ls.samples, (unsigned long long)events[i]->max);
            if (!strcmp(events[i]->name, "command")) {
                if (server.cfg.slowlog_log_slower_than < 0 || server.cfg.slowlog_max_len == 0) {
                    slowlog_enabled = 1;
                    advices++;
                } else if (server.cfg.slowlog_log_slower_than / 1000 > server.cfg.latency_monitor_threshold) {
                    slowlog_tuning = 1;
                    advices++;
                }
                slowlog_inspect = large_objects = 1;
                advices += 2;
            }
            if (!strcmp(events[i]->name, "fast-command")) {
                scheduler = 1;
                advices++;
            }
            text_cstr(&t, "\n");
        }
        if (!advices) {
            text_cstr(&t,
                      "\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the "
                      "Redis community to get some help, providing this report in your help request.\n");
        } else {
            text_cstr(&t, "\nI have a few advices for you:\n\n");
            unsigned long long want = (unsigned long long)server.cfg.latency_monitor_threshold * 1000;
            if (slowlog_enabled)
                text_printf(
                    &t,
                    "- There are latency issues with potentially slow commands you are using. Try to enable "
                    "the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than %llu'. If "
                    "the Slow log is disabled Redis is not able to log slow commands execution for you.\n",
                    want);
            if (slowlog_tuning)
                text_printf(&t,
                            "- Your current Slow Log configuration only logs events that are slower than your "
                            "configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than "
                            "%llu'.\n",
                            want);
            if (slowlog_inspect)
                text_cstr(&t,
                          "- Check your Slow Log to understand what are the commands you are running which are too "
                          "slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
            if (scheduler)
                text_cstr(
                    &t, "- The system is slow to execute Redis code paths not containing system calls. This usually "
                        "means the system does not provide Redis CPU time to run for long periods. You should try "
                        "to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running "
                        "other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  "
                        "4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your "
                        "system.\n  5) Check if the problem is allocator-related by recompiling Redis with "
                        "MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
            if (large_objects)
                text_cstr(&t,
                          "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking "
                          "operation. If you have very large objects that are often deleted, expired, or evicted, "
                          "try to fragment those objects into multiple smaller objects.\n");
        }
    }
    reply_verbatim(&c->out, t.p, t.len, "txt");
    free(t.p);
}

/* One command's cumulative distribution, as Redis's fillCommandCDF: buckets at powers
 * of two from 1024 ns, each reported (in microseconds) when its count grew. */
static void histogram_reply(client *c, const command *cmd) {
    const histogram *h = cmd->latency;
    reply_bulk_cstr(&c->out, cmd->fullname);
    reply_map(&c->out, 2);
    reply_bulk_cstr(&c->out, "calls");
    reply_int(&c->out, (long long)h->total);
    reply_bulk_cstr(&c->out, "histogram_usec");
    long long keys[64], counts[64];
    int n = 0;
    uint64_t prev = 0;
    for (uint64_t level = 1024; n < 64; level *= 2) {
        int b = 64 - __builtin_clzll(level | 255) - 8;
        int idx = ((b + 1) << 7) + (int)(level >> b) - 128;
        if (idx >= HIST_COUNTS) break;
        uint64_t cum = 0;
        for (int i = 0; i <= idx; i++) cum += h->counts[i];
        if (cum > prev) {
            keys[n] = (long long)((((level >> b) << b) + ((uint64_t)1 << b) - 1) / 1000);
            counts[n++] = (long long)cum;
        }
        prev = cum;
        if (cum >= h->total) break;
    }
    reply_map(&c->out, n);
    for (int i = 0; i < n; i++) {
        reply_int(&c->out, keys[i]);
        reply_int(&c->out, counts[i]);
    }
}

typedef struct hist_walk {
    client *c;
    long n;
    int count_only;
} hist_walk;

static void histogram_visit(void *priv, const command *cmd) {
    hist_walk *w = priv;
    if (!cmd->latency) return;
    w->n++;
    if (!w->count_only) histogram_reply(w->c, cmd);
}

static void cmd_latency_histogram(client *c) {
    if (c->argc == 2) {
        hist_walk w = {c, 0, 1};
        commands_foreach(histogram_visit, &w);
        reply_map(&c->out, w.n);
        w.count_only = 0;
        commands_foreach(histogram_visit, &w);
        return;
    }
    /* Named commands ("get", "config|get", or a container for all its subcommands);
     * unknown names and commands without a histogram are left out. */
    command *found[256];
    int n = 0;
    for (int a = 2; a < c->argc && n < 256; a++) {
        const char *name = c->argv[a].ptr;
        size_t len = c->argv[a].len;
        const char *bar = memchr(name, '|', len);
        command *cmd = command_lookup(name, bar ? (size_t)(bar - name) : len);
        if (cmd && bar) {
            command *sub = NULL;
            for (command *s = cmd->subcommands; s && s->name; s++)
                if (util_eqi(bar + 1, len - (size_t)(bar - name) - 1, s->name)) sub = s;
            cmd = sub;
        }
        if (!cmd) continue;
        if (cmd->latency) found[n++] = cmd;
        for (command *s = cmd->subcommands; s && s->name && n < 256; s++)
            if (s->latency) found[n++] = s;
    }
    reply_map(&c->out, n);
    for (int i = 0; i < n; i++) histogram_reply(c, found[i]);
}

static void cmd_latency_help(client *c) {
    static const char *const help[] = {
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        // clang-format off
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        // clang-format on
        "    If no commands are specified then all histograms are replied.",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

// clang-format off
static const command_binding latency_subcommands[] = {
    CMD("doctor", cmd_latency_doctor),
    CMD("graph", cmd_latency_graph),
    CMD("help", cmd_latency_help),
    CMD("histogram", cmd_latency_histogram),
    CMD("history", cmd_latency_history),
    CMD("latest", cmd_latency_latest),
    CMD("reset", cmd_latency_reset),
    {0},
};

const command_binding latency_commands[] = {
    CMD("latency", NULL, latency_subcommands),
    {0},
};
// clang-format on
