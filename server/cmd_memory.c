/* cmd_memory.c: MEMORY USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE and HELP, with Redis
 * 7.0's replies and error texts.
 *
 * MEMORY USAGE asks storage for the key's record (allocator block, table slots) and its
 * value's bytes as the value's type measures them (storage/type.h). The figure is
 * exact, not sampled: a type's memory is kept up to date as the value changes, so
 * SAMPLES is parsed and checked as Redis does, then has nothing to do. The key is found
 * as Redis's dictFind finds it: no lazy expiry, no hit or miss counted, no access
 * update; a key that is not there gets a null reply.
 * MEMORY PURGE asks the allocator to give free pages back to the system
 * (common/alloc.h) and replies +OK, whatever it managed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/xmalloc.h"
#include "server/server.h"

/* MEMORY USAGE key [SAMPLES count] */
static void cmd_memory_usage(client *c) {
    for (int j = 3; j < c->argc; j++) {
        if (arg_is(c, j, "samples") && j + 1 < c->argc) {
            long long samples;
            if (!arg_ll_or_reply(c, ++j, &samples)) return;
            if (samples < 0) {
                reply_syntax_error(c);
                return;
            }
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    rkey *k = db_peek(c->db, c->argv[2].ptr, c->argv[2].len);
    if (!k) {
        reply_null(&c->out);
        return;
    }
    reply_int(&c->out, (long long)db_key_memory(c->db, k));
}

static void cmd_memory_purge(client *c) {
    alloc_purge();
    reply_ok(&c->out);
}

static size_t rss_now(void) {
    long pages = 0, rss = 0;
    FILE *fp = fopen("/proc/self/statm", "r");
    if (fp) {
        if (fscanf(fp, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(fp);
    }
    return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}

/* What Redis's getMemoryOverheadData gathers, from respite's counters (the allocator's
 * figures: server_allocator_get). */
typedef struct mem_overview {
    size_t peak, total, startup, clients, overhead, keys, dataset, rss;
    double dataset_perc, peak_perc;
} mem_overview;

static mem_overview mem_overview_get(void) {
    mem_overview m = {0};
    server_memory_parts(&m.startup, &m.clients, &m.peak);
    m.total = server_used_memory();
    if (m.total > m.peak) m.peak = m.total;
    m.rss = rss_now();
    m.overhead = m.startup + m.clients;
    for (int i = 0; i < server.dbnum; i++) {
        size_t main, expires;
        db_table_overhead(server.dbs[i], &main, &expires);
        m.overhead += main + expires;
        m.keys += db_size(server.dbs[i]);
    }
    m.dataset = m.total > m.overhead ? m.total - m.overhead : 0;
    size_t net = m.total > m.startup ? m.total - m.startup : 0;
    m.dataset_perc = net ? (double)(float)((double)m.dataset * 100 / (double)net) : 0;
    m.peak_perc = m.peak ? (double)(float)((double)m.total * 100 / (double)m.peak) : 0;
    return m;
}

static void stat_int(client *c, const char *name, long long v) {
    reply_bulk_cstr(&c->out, name);
    reply_int(&c->out, v);
}

static void stat_double(client *c, const char *name, double v) {
    reply_bulk_cstr(&c->out, name);
    reply_double(&c->out, (double)(float)v);
}

static double ratio(size_t a, size_t b) { return b ? (double)a / (double)b : 0; }

static void cmd_memory_stats(client *c) {
    mem_overview m = mem_overview_get();
    int dbs_with_keys = 0;
    for (int i = 0; i < server.dbnum; i++)
        if (db_size(server.dbs[i])) dbs_with_keys++;
    reply_map(&c->out, 27 + dbs_with_keys);
    stat_int(c, "peak.allocated", (long long)m.peak);
    stat_int(c, "total.allocated", (long long)m.total);
    stat_int(c, "startup.allocated", (long long)m.startup);
    stat_int(c, "replication.backlog", 0);
    stat_int(c, "clients.slaves", 0);
    stat_int(c, "clients.normal", (long long)m.clients);
    stat_int(c, "cluster.links", 0);
    stat_int(c, "aof.buffer", 0);
    stat_int(c, "lua.caches", 0);
    stat_int(c, "functions.caches", 0);
    for (int i = 0; i < server.dbnum; i++) {
        if (!db_size(server.dbs[i])) continue;
        size_t main, expires;
        db_table_overhead(server.dbs[i], &main, &expires);
        char name[32];
        snprintf(name, sizeof(name), "db.%d", i);
        reply_bulk_cstr(&c->out, name);
        reply_map(&c->out, 3);
        stat_int(c, "overhead.hashtable.main", (long long)main);
        stat_int(c, "overhead.hashtable.expires", (long long)expires);
        stat_int(c, "overhead.hashtable.slot-to-keys", 0);
    }
    size_t net = m.total > m.startup ? m.total - m.startup : 0;
    stat_int(c, "overhead.total", (long long)m.overhead);
    stat_int(c, "keys.count", (long long)m.keys);
    stat_int(c, "keys.bytes-per-key", m.keys ? (long long)(net / m.keys) : 0);
    stat_int(c, "dataset.bytes", (long long)m.dataset);
    stat_double(c, "dataset.percentage", m.dataset_perc);
    stat_double(c, "peak.percentage", m.peak_perc);
    server_allocator_figures af;
    server_allocator_get(&af);
    stat_int(c, "allocator.allocated", (long long)af.allocated);
    stat_int(c, "allocator.active", (long long)af.active);
    stat_int(c, "allocator.resident", (long long)af.resident);
    stat_double(c, "allocator-fragmentation.ratio", af.frag_ratio);
    stat_int(c, "allocator-fragmentation.bytes", af.frag_bytes);
    stat_double(c, "allocator-rss.ratio", af.rss_ratio);
    stat_int(c, "allocator-rss.bytes", af.rss_bytes);
    stat_double(c, "rss-overhead.ratio", af.rss_overhead_ratio);
    stat_int(c, "rss-overhead.bytes", af.rss_overhead_bytes);
    stat_double(c, "fragmentation", ratio(m.rss, m.total));
    stat_int(c, "fragmentation.bytes", (long long)m.rss - (long long)m.total);
}

/* MEMORY DOCTOR, with Redis's words for the conditions respite can measure. */
static void cmd_memory_doctor(client *c) {
    mem_overview m = mem_overview_get();
    const char *report;
    char *built = NULL;
    if (m.total < 5 * 1024 * 1024) {
        report =
            "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in "
            "these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and "
            "I will be back to our programming as soon as I finished rebooting.\n";
    } else {
        int high_peak = (double)m.peak / (double)m.total > 1.5;
        double frag = ratio(m.rss, m.total);
        int high_frag = frag > 1.4 && m.rss > m.total && m.rss - m.total > (10u << 20);
        int big_clients = server.nclients > 0 && m.clients / (size_t)server.nclients > 1024 * 200;
        if (!high_peak && !high_frag && !big_clients) {
            report = "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on "
                     "this base.\n";
        } else {
            size_t cap = 4096, len = 0;
            built = xmalloc(cap);
            len += (size_t)snprintf(built + len, cap - len,
                                    "Sam, I detected a few issues in this Redis instance memory implants:\n\n");
            if (high_peak)
                len += (size_t)snprintf(
                    built + len, cap - len, "%s",
                    " * Peak memory: In the past this instance used more than 150% the memory that is currently "
                    "using. The allocator is normally not able to release memory after a peak, so you can expect to "
                    "see a big fragmentation ratio, however this is actually harmless and is only due to the memory "
                    "peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the "
                    "memory will be used as soon as you fill the Redis instance with more data. If the memory peak "
                    "was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, "
                    "otherwise the only other option is to shutdown and restart the instance.\n\n");
            if (high_frag)
                len += (size_t)snprintf(
                    built + len, cap - len,
                    " * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 "
                    "(this means that the Resident Set Size of the Redis process is much larger than the sum of the "
                    "logical allocations Redis performed). This problem is usually due either to a large peak memory "
                    "(check if there is a peak memory entry above in the report) or may result from a workload that "
                    "causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there "
                    "is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc "
                    "malloc. Note: The currently used allocator is \"%s\".\n\n",
                    alloc_name());
            if (big_clients)
                len += (size_t)snprintf(
                    built + len, cap - len, "%s",
                    " * Big client buffers: The clients output buffers in this instance are greater than 200K per "
                    "client (on average). This may result from different causes, like Pub/Sub clients subscribed to "
                    "channels bot not receiving data fast enough, so that data piles on the Redis instance output "
                    "buffer, or clients sending commands with large replies or very large sequences of commands in "
                    "the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it "
                    "causes problems in your instance, or to understand better why certain clients are using a big "
                    "amount of memory.\n\n");
            snprintf(built + len, cap - len, "I'm here to keep you safe, Sam. I want to help you.\n");
            report = built;
        }
    }
    reply_verbatim(&c->out, report, strlen(report), "txt");
    free(built);
}

/* jemalloc's report, or Redis's answer for an allocator without one (glibc, mimalloc). */
static void cmd_memory_malloc_stats(client *c) {
    static const char none[] = "Stats not supported for the current allocator";
    size_t len;
    char *text = alloc_stats_report(&len);
    if (text) reply_verbatim(&c->out, text, len, "txt");
    else reply_verbatim(&c->out, none, sizeof(none) - 1, "txt");
    free(text);
}

static void cmd_memory_help(client *c) {
    static const char *const help[] = {
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
    };
    reply_help(c, help, sizeof(help) / sizeof(help[0]));
}

// clang-format off
static const command_binding memory_subcommands[] = {
    CMD("doctor", cmd_memory_doctor),
    CMD("help", cmd_memory_help),
    CMD("malloc-stats", cmd_memory_malloc_stats),
    CMD("purge", cmd_memory_purge),
    CMD("stats", cmd_memory_stats),
    CMD("usage", cmd_memory_usage),
    {0},
};

const command_binding memory_commands[] = {
    CMD("memory", NULL, memory_subcommands),
    {0},
};
// clang-format on
