/* cmd_server.c: server commands: INFO, TIME, SHUTDOWN, LASTSAVE, and the COMMAND and
 * CONFIG containers (their subcommands live in commands.c and config.c); the memory
 * figure maxmemory is enforced on (eviction itself is storage/evict.c). */
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/alloc.h"
#include "common/histogram.h"
#include "common/xmalloc.h"
#include "server/aof.h"
#include "server/config.h"
#include "server/net.h"
#include "server/script.h"
#include "server/persist.h"
#include "server/pubsub.h"
#include "server/server.h"
#include "server/tracking.h"
#include "storage/evict.h"
#include "storage/lazyfree.h"

/* A growable text buffer for INFO. */
typedef struct text {
    char *p;
    size_t len, cap;
} text;

static void text_printf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_printf(text *t, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = t->cap * 2 + (size_t)(n > 0 ? n : 0) + 256;
        t->p = xrealloc(t->p, t->cap);
    }
}

static size_t rss_bytes(void) {
    long pages = 0, rss = 0;
    FILE *fp = fopen("/proc/self/statm", "r");
    if (fp) {
        if (fscanf(fp, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(fp);
    }
    return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}

static void human_bytes(char *buf, size_t size, double n) {
    const char *units = "BKMGTP";
    int u = 0;
    while (n >= 1024 && u < 5) {
        n /= 1024;
        u++;
    }
    if (u == 0) snprintf(buf, size, "%.0fB", n);
    else snprintf(buf, size, "%.2f%c", n, units[u]);
}

/* ---- memory as maxmemory counts it ----
 * used = start-up baseline + keyspace + clients. The keyspace part is a counter kept by
 * storage (malloc_usable_size of every record, plus the allocator's header, tables and
 * the sizes of pointer-held values as their types measure them), exact at every command. Clients' buffers are a running total: each
 * client recounts its own after every read batch and write (server_client_memory), so
 * idle clients cost nothing; INFO recounts them all. mallinfo2() would count everything
 * but walks the allocator's free lists: tens of milliseconds on a fragmented heap. */

#define EVICT_BUDGET_US 500 /* per call, as Redis's default maxmemory-eviction-tenacity */

static size_t mem_baseline; /* allocated at start-up outside the keyspace */
static size_t mem_clients;  /* sum of the clients' mem_counted */
static size_t mem_peak;

void server_memory_init(void) {
    size_t total = alloc_allocated(), keyspace = evict_storage_bytes(server.dbs, server.dbnum);
    mem_baseline = total > keyspace ? total - keyspace : 0;
}

static size_t client_memory(const client *c) {
    size_t n = sizeof(*c) + client_own_buffers(c) + c->out.chunk_bytes + (size_t)c->argc * sizeof(resp_slice);
    for (int i = 0; i < c->mcount; i++) n += sizeof(multi_cmd) + (size_t)c->mstate[i].argc * sizeof(resp_slice);
    return n;
}

void server_client_memory(client *c, int gone) {
    size_t n = gone ? 0 : client_memory(c);
    mem_clients = mem_clients - c->mem_counted + n;
    c->mem_counted = n;
}

void server_memory_parts(size_t *startup, size_t *clients, size_t *peak) {
    server_memory_refresh();
    *startup = mem_baseline;
    *clients = mem_clients;
    server_used_memory();
    *peak = mem_peak;
}

void server_memory_refresh(void) {
    for (client *c = server.clients; c; c = c->next) server_client_memory(c, 0);
}

/* Values and keyspaces waiting to be freed lazily count until they are freed (as in
 * Redis), but not for maxmemory, as Redis lets commands through while lazyfree runs. */
size_t server_used_memory(void) {
    size_t used = mem_baseline + mem_clients + evict_storage_bytes(server.dbs, server.dbnum) + lazyfree_pending_bytes();
    if (used > mem_peak) mem_peak = used;
    return used;
}

/* Eviction left unfinished by a budget-limited call goes on in slices, one per loop
 * iteration, as Redis's evictionTimeProc: a zero-delay one-shot event that schedules
 * itself again while there is more to do. libevent frees a pending one-shot event with
 * the base. */
static int evict_slices_scheduled;

static void evict_slice_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
    evict_slices_scheduled = 0;
    server_evict_cron();
}

static int evict_now(void) {
    if (pause_mode != PAUSE_OFF) return EVICT_OK; /* as Redis: the dataset stays as it is while paused */
    int r = evict_perform(server.dbs, server.dbnum, mem_baseline + mem_clients, EVICT_BUDGET_US);
    if (r == EVICT_RUNNING && !evict_slices_scheduled && server.base) {
        struct timeval zero = {0, 0};
        if (event_base_once(server.base, -1, EV_TIMEOUT, evict_slice_cb, NULL, &zero) == 0) evict_slices_scheduled = 1;
    }
    return r;
}

int server_oom_refuses(client *c, const command *cmd) {
    uint32_t flags = cmd->flags;
    if (c->flags & CLIENT_MULTI) {
        if (multi_is_exec(cmd)) {
            for (int i = 0; i < c->mcount; i++) flags |= c->mstate[i].cmd->flags;
        } else if (!multi_passthrough(cmd->parent ? cmd->parent : cmd)) {
            flags |= CMD_DENYOOM; /* queueing takes memory too, as Redis */
        }
    }
    if (!(flags & CMD_DENYOOM)) return 0;
    return evict_now() == EVICT_FAIL;
}

int server_out_of_memory(void) { return server.cfg.maxmemory && evict_now() == EVICT_FAIL; }

void server_evict_cron(void) {
    server_used_memory(); /* keeps used_memory_peak */
    if (server.cfg.maxmemory && evict_cfg.policy != EVICT_NOEVICTION) evict_now();
}

static void info_server(text *t) {
    struct utsname un;
    uname(&un);
    long long uptime = (server.mstime_cached - server.start_ms) / 1000;
    text_printf(t,
                "# Server\r\nredis_version:%s\r\nrespite_version:%s\r\nredis_git_sha1:00000000\r\n"
                "redis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:%s %s %s\r\n"
                "arch_bits:%d\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:libevent\r\n"
                "atomicvar_api:c11-builtin\r\n"
                "gcc_version:%d.%d.%d\r\nprocess_id:%d\r\nprocess_supervised:no\r\nrun_id:%s\r\ntcp_port:%d\r\n"
                "server_time_usec:%lld\r\nuptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\nhz:%d\r\n"
                "configured_hz:%d\r\nlru_clock:%lld\r\nexecutable:%s\r\nconfig_file:%s\r\nio_threads_active:0\r\n",
                REDIS_COMPAT_VERSION, RESPITE_VERSION, un.sysname, un.release, un.machine, (int)sizeof(long) * 8,
#ifdef __GNUC__
                __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#else
                0, 0, 0,
#endif
                server.pid, (const char *)server.run_id, server.cfg.port, util_ustime(), uptime, uptime / 86400,
                server.cfg.hz, server.cfg.hz, (server.mstime_cached / 1000) & ((1 << 24) - 1),
                server.executable ? server.executable : "", server.configfile ? server.configfile : "");
}

static void info_clients(text *t) {
    int blocked = 0, in_timeout_table = 0;
    size_t maxin = 0, maxout = 0;
    for (client *c = server.clients; c; c = c->next) {
        if (c->blocked) blocked++;
        if (c->blocked && !c->held_argv) in_timeout_table++; /* held by a pause: not timed */
        if (c->qcap > maxin) maxin = c->qcap;
        if (reply_pending(&c->out) > maxout) maxout = reply_pending(&c->out);
    }
    text_printf(t,
                "# Clients\r\nconnected_clients:%d\r\ncluster_connections:0\r\nmaxclients:%d\r\n"
                "client_recent_max_input_buffer:%zu\r\nclient_recent_max_output_buffer:%zu\r\n"
                "blocked_clients:%d\r\ntracking_clients:%ld\r\nclients_in_timeout_table:%d\r\n",
                server.nclients, server.cfg.maxclients, maxin, maxout, blocked, tracking_clients, in_timeout_table);
}

/* The allocator's figures as Redis reports them: where the allocator keeps none (glibc,
 * mimalloc) Redis's fallbacks, resident = RSS, active = resident, allocated = used
 * memory; and the ratios between them and RSS. */
void server_allocator_get(server_allocator_figures *f) {
    alloc_stats as;
    alloc_get_stats(&as);
    size_t rss = rss_bytes();
    f->allocated = as.allocated ? as.allocated : server_used_memory();
    f->resident = as.resident ? as.resident : rss;
    f->active = as.active ? as.active : f->resident;
    f->frag_ratio = f->allocated ? (double)f->active / (double)f->allocated : 0;
    f->frag_bytes = (long long)f->active - (long long)f->allocated;
    f->rss_ratio = f->active ? (double)f->resident / (double)f->active : 0;
    f->rss_bytes = (long long)f->resident - (long long)f->active;
    f->rss_overhead_ratio = f->resident ? (double)rss / (double)f->resident : 0;
    f->rss_overhead_bytes = (long long)rss - (long long)f->resident;
}

static void info_memory(text *t) {
    server_memory_refresh();
    size_t used = server_used_memory();
    size_t rss = rss_bytes();
    size_t dataset = 0;
    for (int i = 0; i < server.dbnum; i++) dataset += db_memory(server.dbs[i]);
    size_t overhead = used > dataset ? used - dataset : 0;
    size_t net = used > mem_baseline ? used - mem_baseline : 0;
    size_t sysmem = (size_t)sysconf(_SC_PHYS_PAGES) * (size_t)sysconf(_SC_PAGESIZE);
    char h_used[32], h_rss[32], h_peak[32], h_sys[32], h_max[32];
    human_bytes(h_used, sizeof(h_used), (double)used);
    human_bytes(h_rss, sizeof(h_rss), (double)rss);
    human_bytes(h_peak, sizeof(h_peak), (double)mem_peak);
    human_bytes(h_sys, sizeof(h_sys), (double)sysmem);
    human_bytes(h_max, sizeof(h_max), (double)server.cfg.maxmemory);
    server_allocator_figures af;
    server_allocator_get(&af);
    text_printf(t,
                "# Memory\r\nused_memory:%zu\r\nused_memory_human:%s\r\nused_memory_rss:%zu\r\n"
                "used_memory_rss_human:%s\r\nused_memory_peak:%zu\r\nused_memory_peak_human:%s\r\n"
                "used_memory_peak_perc:%.2f%%\r\nused_memory_overhead:%zu\r\nused_memory_startup:%zu\r\n"
                "used_memory_dataset:%zu\r\nused_memory_dataset_perc:%.2f%%\r\nallocator_allocated:%zu\r\n"
                "allocator_active:%zu\r\nallocator_resident:%zu\r\n",
                used, h_used, rss, h_rss, mem_peak, h_peak, mem_peak ? (double)used * 100 / (double)mem_peak : 0.0,
                overhead, mem_baseline, dataset, net ? (double)dataset * 100 / (double)net : 0.0, af.allocated,
                af.active, af.resident);
    /* Scripting, as Redis 7.0 names it: the EVAL and function Lua heaps (vm), and what
     * the cached scripts and libraries hold besides (scripts). */
    size_t vm_eval = script_eval_vm_memory(), vm_fn = function_vm_memory();
    size_t sc_eval = script_eval_cache_memory(), sc_fn = function_cache_memory();
    char h_lua[32], h_vm[32], h_scripts[32];
    human_bytes(h_lua, sizeof(h_lua), (double)vm_eval);
    human_bytes(h_vm, sizeof(h_vm), (double)(vm_eval + vm_fn));
    human_bytes(h_scripts, sizeof(h_scripts), (double)(sc_eval + sc_fn));
    text_printf(t,
                "total_system_memory:%zu\r\ntotal_system_memory_human:%s\r\nused_memory_lua:%zu\r\n"
                "used_memory_vm_eval:%zu\r\nused_memory_lua_human:%s\r\nused_memory_scripts_eval:%zu\r\n"
                "number_of_cached_scripts:%zu\r\nnumber_of_functions:%zu\r\nnumber_of_libraries:%zu\r\n"
                "used_memory_vm_functions:%zu\r\nused_memory_vm_total:%zu\r\nused_memory_vm_total_human:%s\r\n"
                "used_memory_functions:%zu\r\nused_memory_scripts:%zu\r\nused_memory_scripts_human:%s\r\n",
                sysmem, h_sys, vm_eval, vm_eval, h_lua, sc_eval, script_eval_count(), function_count(),
                function_library_count(), vm_fn, vm_eval + vm_fn, h_vm, sc_fn, sc_eval + sc_fn, h_scripts);
    text_printf(t,
                "maxmemory:%lld\r\nmaxmemory_human:%s\r\nmaxmemory_policy:%s\r\nallocator_frag_ratio:%.2f\r\n"
                "allocator_frag_bytes:%lld\r\nallocator_rss_ratio:%.2f\r\nallocator_rss_bytes:%lld\r\n"
                "rss_overhead_ratio:%.2f\r\nrss_overhead_bytes:%lld\r\nmem_fragmentation_ratio:%.2f\r\n"
                "mem_fragmentation_bytes:%lld\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\n"
                "mem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\nmem_clients_normal:%zu\r\n"
                "mem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:%s\r\nactive_defrag_running:0\r\n"
                "lazyfree_pending_objects:%zu\r\nlazyfreed_objects:%lld\r\n",
                server.cfg.maxmemory, h_max, server.cfg.maxmemory_policy ? server.cfg.maxmemory_policy : "noeviction",
                af.frag_ratio, af.frag_bytes, af.rss_ratio, af.rss_bytes, af.rss_overhead_ratio, af.rss_overhead_bytes,
                used ? (double)rss / (double)used : 0.0, (long long)rss - (long long)used, mem_clients, alloc_name(),
                lazyfree_pending_objects(), lazyfree_freed_objects());
}

static void info_persistence(text *t) {
    char rdb[1024], aof_fields[1024], aof_tail[512], loading[512];
    persist_info_rdb(rdb, sizeof(rdb));
    aof_info(aof_fields, sizeof(aof_fields));
    aof_info_tail(aof_tail, sizeof(aof_tail));
    persist_info_loading(loading, sizeof(loading));
    text_printf(t, "# Persistence\r\n%s%smodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n%s%s", rdb,
                aof_fields, aof_tail, loading);
}

/* Redis's Stats fields in its order; what a server without replication, forks,
 * defragmentation, tracking or I/O threads keeps at zero is zero. */
static void info_stats(text *t) {
    long tk_keys, tk_prefixes;
    long long tk_items;
    tracking_stats(&tk_keys, &tk_items, &tk_prefixes);
    text_printf(t,
                "# Stats\r\ntotal_connections_received:%lld\r\ntotal_commands_processed:%lld\r\n"
                "instantaneous_ops_per_sec:%lld\r\ntotal_net_input_bytes:%lld\r\ntotal_net_output_bytes:%lld\r\n"
                "total_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:%.2f\r\n"
                "instantaneous_output_kbps:%.2f\r\ninstantaneous_input_repl_kbps:0.00\r\n"
                "instantaneous_output_repl_kbps:0.00\r\nrejected_connections:%lld\r\nsync_full:0\r\n"
                "sync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:%lld\r\nexpired_stale_perc:0.00\r\n"
                "expired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:0\r\nevicted_keys:%lld\r\n"
                "evicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\n"
                "keyspace_hits:%lld\r\nkeyspace_misses:%lld\r\npubsub_channels:%ld\r\npubsub_patterns:%ld\r\n"
                "pubsubshard_channels:%ld\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\n"
                "slave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\n"
                "active_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\n"
                "current_active_defrag_time:0\r\ntracking_total_keys:%ld\r\ntracking_total_items:%lld\r\n"
                "tracking_total_prefixes:%ld\r\nunexpected_error_replies:0\r\ntotal_error_replies:%lld\r\n"
                "dump_payload_sanitizations:0\r\ntotal_reads_processed:%lld\r\ntotal_writes_processed:%lld\r\n"
                "io_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\n"
                "reply_buffer_expands:0\r\n"
                "client_query_buffer_limit_disconnections:%lld\r\nclient_output_buffer_limit_disconnections:%lld\r\n",
                server.stat_numconnections, server.stat_numcommands, server.instantaneous_ops,
                server.stat_net_input_bytes, server.stat_net_output_bytes, server.instantaneous_input_kbps,
                server.instantaneous_output_kbps, server.stat_rejected_conn, storage_stat.expired_keys,
                evict_stat_evicted_keys, storage_stat.keyspace_hits, storage_stat.keyspace_misses,
                pubsub_total(PUBSUB_CHANNEL), pubsub_total(PUBSUB_PATTERN), pubsub_total(PUBSUB_SHARD), tk_keys,
                tk_items, tk_prefixes, server.stat_total_error_replies, server.stat_total_reads,
                server.stat_total_writes, server.stat_client_qbuf_limit_disconnections,
                server.stat_client_outbuf_limit_disconnections);
}

static void info_replication(text *t) {
    text_printf(t,
                "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n"
                "master_replid:%s\r\nmaster_replid2:0000000000000000000000000000000000000000\r\n"
                "master_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\n"
                "repl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
                (const char *)server.run_id);
}

static void info_cpu(text *t) {
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    /* One thread: the main thread's time is the process's. */
    text_printf(t,
                "# CPU\r\nused_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\nused_cpu_sys_children:%ld.%06ld\r\n"
                "used_cpu_user_children:%ld.%06ld\r\nused_cpu_sys_main_thread:%ld.%06ld\r\n"
                "used_cpu_user_main_thread:%ld.%06ld\r\n",
                (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec, (long)self.ru_utime.tv_sec,
                (long)self.ru_utime.tv_usec, (long)children.ru_stime.tv_sec, (long)children.ru_stime.tv_usec,
                (long)children.ru_utime.tv_sec, (long)children.ru_utime.tv_usec, (long)self.ru_stime.tv_sec,
                (long)self.ru_stime.tv_usec, (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec);
}

static void commandstat_line(void *priv, const command *cmd) {
    text *t = priv;
    if (cmd->calls || cmd->rejected_calls || cmd->failed_calls)
        text_printf(t, "cmdstat_%s:calls=%lld,usec=%lld,usec_per_call=%.2f,rejected_calls=%lld,failed_calls=%lld\r\n",
                    cmd->fullname, cmd->calls, cmd->usec, cmd->calls ? (double)cmd->usec / (double)cmd->calls : 0.0,
                    cmd->rejected_calls, cmd->failed_calls);
}

static void errorstat_line(void *priv, const char *code, long long count) {
    text_printf(priv, "errorstat_%s:count=%lld\r\n", code, count);
}

static void info_errorstats(text *t) {
    text_printf(t, "# Errorstats\r\n");
    stats_foreach_error(errorstat_line, t);
}

/* A percentile as Redis prints it in the key: "%f" without trailing zeros ("99.9"). */
static void percentile_name(char *buf, size_t size, double p) {
    snprintf(buf, size, "%f", p);
    char *dot = strchr(buf, '.');
    if (!dot) return;
    char *z = buf + strlen(buf) - 1;
    while (z > dot && *z == '0') *z-- = '\0';
    if (z == dot) *z = '\0';
}

static void latencystat_line(void *priv, const command *cmd) {
    text *t = priv;
    if (!cmd->latency) return;
    text_printf(t, "latency_percentiles_usec_%s:", cmd->fullname);
    const char *p = server.cfg.latency_tracking_info_percentiles ? server.cfg.latency_tracking_info_percentiles : "";
    for (int first = 1; *p;) {
        char *end;
        double pct = strtod(p, &end);
        if (end == p) break;
        char name[64];
        percentile_name(name, sizeof(name), pct);
        text_printf(t, "%sp%s=%.3f", first ? "" : ",", name, (double)histogram_percentile(cmd->latency, pct) / 1000.0);
        first = 0;
        p = end;
        while (*p == ' ') p++;
    }
    text_printf(t, "\r\n");
}

static void info_latencystats(text *t) {
    text_printf(t, "# Latencystats\r\n");
    commands_foreach(latencystat_line, t);
}

static void info_commandstats(text *t) {
    text_printf(t, "# Commandstats\r\n");
    commands_foreach(commandstat_line, t);
}

static void info_keyspace(text *t) {
    text_printf(t, "# Keyspace\r\n");
    for (int i = 0; i < server.dbnum; i++) {
        size_t keys = db_size(server.dbs[i]);
        if (!keys) continue;
        text_printf(t, "db%d:keys=%zu,expires=%zu,avg_ttl=%lld\r\n", i, keys, db_expires_size(server.dbs[i]),
                    db_avg_ttl(server.dbs[i]));
    }
}

/* What a server without modules or cluster mode says (clients probe INFO cluster). */
static void info_modules(text *t) { text_printf(t, "# Modules\r\n"); }
static void info_cluster(text *t) { text_printf(t, "# Cluster\r\ncluster_enabled:0\r\n"); }

static const struct {
    const char *name;
    void (*fn)(text *t);
    int in_default;
} info_sections[] = {
    {"server", info_server, 1},
    {"clients", info_clients, 1},
    {"memory", info_memory, 1},
    {"persistence", info_persistence, 1},
    {"stats", info_stats, 1},
    {"replication", info_replication, 1},
    {"cpu", info_cpu, 1},
    {"modules", info_modules, 1},
    {"commandstats", info_commandstats, 0},
    {"errorstats", info_errorstats, 1},
    {"latencystats", info_latencystats, 0},
    {"cluster", info_cluster, 1},
    {"keyspace", info_keyspace, 1},
};
#define NSECTIONS (sizeof(info_sections) / sizeof(info_sections[0]))

static void cmd_info(client *c) {
    int want[NSECTIONS] = {0};
    if (c->argc == 1) {
        for (size_t i = 0; i < NSECTIONS; i++) want[i] = info_sections[i].in_default;
    }
    for (int a = 1; a < c->argc; a++) {
        if (arg_is(c, a, "all") || arg_is(c, a, "everything")) {
            for (size_t i = 0; i < NSECTIONS; i++) want[i] = 1;
        } else if (arg_is(c, a, "default")) {
            for (size_t i = 0; i < NSECTIONS; i++) want[i] |= info_sections[i].in_default;
        } else {
            for (size_t i = 0; i < NSECTIONS; i++)
                if (arg_is(c, a, info_sections[i].name)) want[i] = 1;
        }
    }
    text t = {xmalloc(4096), 0, 4096};
    for (size_t i = 0; i < NSECTIONS; i++) {
        if (!want[i]) continue;
        if (t.len) text_printf(&t, "\r\n");
        info_sections[i].fn(&t);
    }
    reply_verbatim(&c->out, t.p, t.len, "txt");
    free(t.p);
}

static void cmd_time(client *c) {
    long long us = util_ustime();
    reply_array(&c->out, 2);
    reply_bulk_ll(&c->out, us / 1000000);
    reply_bulk_ll(&c->out, us % 1000000);
}

static void cmd_shutdown(client *c) {
    int save = 0, nosave = 0, abort_ = 0, others = 0, force = 0;
    for (int i = 1; i < c->argc; i++) {
        if (arg_is(c, i, "nosave")) nosave = 1;
        else if (arg_is(c, i, "save")) save = 1;
        else if (arg_is(c, i, "abort")) abort_ = 1;
        else if (arg_is(c, i, "force")) force = others = 1;
        else if (arg_is(c, i, "now")) others = 1;
        else {
            reply_syntax_error(c);
            return;
        }
    }
    /* As Redis: SAVE with NOSAVE, or ABORT with anything else, is a syntax error. */
    if ((save && nosave) || (abort_ && (save || nosave || others))) {
        reply_syntax_error(c);
        return;
    }
    if (abort_) {
        reply_error(&c->out, "No shutdown in progress.");
        return;
    }
    /* As Redis: during a busy script only SHUTDOWN NOSAVE, which stops the script. */
    if (script_busy()) {
        if (!nosave) {
            reply_error(&c->out,
                        "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
            return;
        }
        script_abort_for_shutdown();
    }
    /* As Redis: a half-loaded dataset is never saved. */
    if (rdb_stat.loading) {
        save = 0;
        nosave = 1;
    }
    log_warning("User requested shutdown...");
    if (persist_prepare_shutdown(save, nosave, force) < 0) {
        reply_error(&c->out, "Errors trying to SHUTDOWN. Check logs.");
        return;
    }
    server.shutdown_asap = 1;
    server_request_shutdown();
    /* Redis sends no reply on success: the connection just closes. */
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

const command_binding server_commands[] = {
    CMD("info", cmd_info),
    CMD("time", cmd_time),
    CMD("shutdown", cmd_shutdown),
    CMD("command", cmd_command, command_subcommands),
    CMD("slowlog", NULL, slowlog_subcommands),
    CMD("config", NULL, config_subcommands),
    {0},
};
