/* config.c: every setting is a row of one table (name, type, where it lives, bounds,
 * default as text, mutability). Defaults, the config file, --flags and CONFIG SET all
 * go through config_apply, so a value is validated the same way wherever it comes from;
 * CONFIG GET renders from the same rows. */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "server/acl.h"
#include "server/aof.h"
#include "server/config.h"
#include "server/notify.h"
#include "server/server.h"
#include "storage/aof_rewrite.h"
#include "storage/evict.h"
#include "storage/hll.h"
#include "storage/lazyfree.h"
#include "storage/rdb.h"
#include "storage/stream.h"
#include "storage/t_hash.h"
#include "storage/t_set.h"
#include "storage/t_zset.h"
#include "storage/t_list.h"

typedef enum {
    CFG_INT,
    CFG_LL,
    CFG_MEM,
    CFG_BOOL,
    CFG_STR,
    CFG_ENUM,
    CFG_OCTAL,
    CFG_OBUF,
    CFG_SAVE,        /* "seconds changes" pairs */
    CFG_NOTIFY,      /* notify-keyspace-events flag letters */
    CFG_OOMVALS,     /* three integers in -2000..2000 */
    CFG_PERCENTILES, /* doubles in 0..100 */
    CFG_MEMPCT,      /* a memory value or "N%" */
    CFG_SIGFLAGS,    /* shutdown-on-sig*: default | [save|nosave] [now] [force] */
    CFG_REPLICAOF,   /* "host port" or "no one" */
    CFG_TITLE,       /* proc-title-template */
    CFG_DIR,         /* chdir, shown as the working directory */
    CFG_HOST,        /* a host name: letters, digits, '-' and '.' */
} cfg_type;

/* Row flags. CF_INERT: accepted, stored and reported, but respite does not act on it
 * (yet): a non-default value is named in the one start-up warning. The issue that
 * implements a setting gives it a server_config field and drops the flag.
 * CF_PROTECTED: CONFIG SET refuses it unless enable-protected-configs allows.
 * CF_MULTI: a config-file line may give several words (joined with spaces).
 * CF_ALIAS: another name for the row named by alias_of (filled in by config_init).
 * CF_HIDDEN: respite's own test and debugging aids: CONFIG GET answers them only by
 * their exact name, so CONFIG GET * lists what Redis 7.0 lists. */
enum { CF_INERT = 1, CF_PROTECTED = 2, CF_MULTI = 4, CF_ALIAS = 8, CF_HIDDEN = 16 };

typedef struct config_def {
    const char *name;
    cfg_type type;
    size_t off; /* offset into server_config, or NOSLOT: kept in config.c's slots */
    long long min, max;
    const char *def;
    int mutable;
    const char *const *enums;
    int flags;
    const char *alias_of;
} config_def;

static const char *const loglevels[] = {"debug", "verbose", "notice", "warning", NULL};
static const char *const policies[] = {"volatile-lru",   "volatile-lfu", "volatile-random",
                                       "volatile-ttl",   "allkeys-lru",  "allkeys-lfu",
                                       "allkeys-random", "noeviction",   NULL};

static const char *const supervised_modes[] = {"no", "upstart", "systemd", "auto", NULL};
static const char *const pubsub_defaults[] = {"allchannels", "resetchannels", NULL};
static const char *const fsync_modes[] = {"everysec", "always", "no", NULL};
static const char *const endpoint_types[] = {"ip", "hostname", "unknown-endpoint", NULL};
static const char *const no_yes_local[] = {"no", "yes", "local", NULL};
static const char *const oom_modes[] = {"no", "yes", "relative", "absolute", NULL};
static const char *const propagation_modes[] = {"ignore", "panic", "panic-on-replicas", NULL};
static const char *const diskless_load_modes[] = {"disabled", "on-empty-db", "swapdb", NULL};
static const char *const sanitize_modes[] = {"no", "yes", "clients", NULL};
static const char *const syslog_facilities[] = {"user",   "local0", "local1", "local2", "local3",
                                                "local4", "local5", "local6", "local7", NULL};
static const char *const tls_auth_modes[] = {"no", "yes", "optional", NULL};

#define OFF(f)  offsetof(server_config, f)
#define NOSLOT  ((size_t)-1)
#define LL_MAX  9223372036854775807LL
#define INT_MX  2147483647LL
#define LL_MIN  (-LL_MAX - 1)
#define INT_MN  (-2147483647LL - 1)
#define UINT_MX 4294967295LL
/* Settings respite stores but does not act on. */
#define INERT(name, type, lo, hi, def, mut)                                                                            \
    { name, type, NOSLOT, lo, hi, def, mut, NULL, CF_INERT, NULL }
#define INERT_BOOL(name, def, mut) INERT(name, CFG_BOOL, 0, 0, def, mut)
#define INERT_STR(name, def, mut)  INERT(name, CFG_STR, 0, 0, def, mut)
#define INERT_ENUM(name, def, mut, e)                                                                                  \
    { name, CFG_ENUM, NOSLOT, 0, 0, def, mut, e, CF_INERT, NULL }
#define ALIAS(name, target)                                                                                            \
    { name, CFG_STR, NOSLOT, 0, 0, NULL, 0, NULL, CF_ALIAS, target }

/* Every name redis-server 7.0's CONFIG GET * lists, with Redis's types, bounds,
 * defaults and CONFIG SET mutability (found by experiment against redis-server).
 * Where respite differs on purpose the row says so. */
static config_def configs[] = {
    /* Network. port and bind can change at run time in Redis; respite listens once. */
    {"bind", CFG_STR, OFF(bind), 0, 0, "127.0.0.1 -::1", 0, NULL, CF_MULTI, NULL},
    {"port", CFG_INT, OFF(port), 0, 65535, "6379", 0, NULL, 0, NULL},
    {"unixsocket", CFG_STR, OFF(unixsocket), 0, 0, "", 0, NULL, 0, NULL},
    {"unixsocketperm", CFG_OCTAL, OFF(unixsocketperm), 0, 0777, "0", 0, NULL, 0, NULL},
    {"tcp-backlog", CFG_INT, OFF(tcp_backlog), 0, INT_MX, "511", 0, NULL, 0, NULL},
    {"maxclients", CFG_INT, OFF(maxclients), 1, 1000000, "10000", 1, NULL, 0, NULL},
    {"timeout", CFG_INT, OFF(timeout), 0, INT_MX, "0", 1, NULL, 0, NULL},
    {"tcp-keepalive", CFG_INT, OFF(tcp_keepalive), 0, INT_MX, "300", 1, NULL, 0, NULL},
    {"protected-mode", CFG_BOOL, OFF(protected_mode), 0, 0, "yes", 1, NULL, 0, NULL},
    INERT_STR("bind-source-addr", "", 1),
    INERT("socket-mark-id", CFG_LL, 0, UINT_MX, "0", 0),
    /* Process. */
    {"daemonize", CFG_BOOL, OFF(daemonize), 0, 0, "no", 0, NULL, 0, NULL},
    {"pidfile", CFG_STR, OFF(pidfile), 0, 0, "", 0, NULL, 0, NULL},
    /* Append the propagation stream (server/propagate.h) to this file: a test aid. */
    {"propagation-log", CFG_STR, OFF(propagation_log), 0, 0, "", 0, NULL, CF_HIDDEN, NULL},
    {"supervised", CFG_ENUM, OFF(supervised), 0, 0, "no", 0, supervised_modes, 0, NULL},
    {"dir", CFG_DIR, NOSLOT, 0, 0, "", 1, NULL, CF_PROTECTED, NULL},
    {"hz", CFG_INT, OFF(hz), 0, INT_MX, "10", 1, NULL, 0, NULL}, /* clamped to 1..500 when used */
    {"databases", CFG_INT, OFF(databases), 1, 1000000, "16", 0, NULL, 0, NULL},
    INERT_BOOL("dynamic-hz", "yes", 1),
    INERT_BOOL("always-show-logo", "no", 0),
    INERT_BOOL("set-proc-title", "yes", 0),
    {"proc-title-template", CFG_TITLE, NOSLOT, 0, 0, "{title} {listen-addr} {server-mode}", 1, NULL, CF_INERT, NULL},
    INERT_BOOL("disable-thp", "yes", 0),
    INERT_ENUM("oom-score-adj", "no", 1, oom_modes),
    {"oom-score-adj-values", CFG_OOMVALS, NOSLOT, 0, 0, "0 200 800", 1, NULL, CF_INERT | CF_MULTI, NULL},
    INERT("io-threads", CFG_INT, 1, 128, "1", 0),
    INERT_BOOL("io-threads-do-reads", "no", 0),
    INERT_STR("server_cpulist", "", 0),
    INERT_STR("bio_cpulist", "", 0),
    INERT_STR("aof_rewrite_cpulist", "", 0),
    INERT_STR("bgsave_cpulist", "", 0),
    INERT_BOOL("jemalloc-bg-thread", "yes", 1),
    INERT_BOOL("crash-log-enabled", "yes", 1),
    INERT_BOOL("crash-memcheck-enabled", "yes", 1),
    INERT_STR("ignore-warnings", "", 1),
    {"shutdown-on-sigint", CFG_SIGFLAGS, OFF(shutdown_on_sigint), 0, 0, "default", 1, NULL, CF_MULTI, NULL},
    {"shutdown-on-sigterm", CFG_SIGFLAGS, OFF(shutdown_on_sigterm), 0, 0, "default", 1, NULL, CF_MULTI, NULL},
    INERT("shutdown-timeout", CFG_INT, 0, INT_MX, "10", 1),
    /* Logging. */
    {"logfile", CFG_STR, OFF(logfile), 0, 0, "", 0, NULL, 0, NULL},
    {"loglevel", CFG_ENUM, OFF(loglevel), 0, 0, "notice", 1, loglevels, 0, NULL},
    {"io-uring", CFG_BOOL, OFF(io_uring), 0, 0, "no", 0, NULL, CF_HIDDEN, NULL},
    {"syslog-enabled", CFG_BOOL, OFF(syslog_enabled), 0, 0, "no", 0, NULL, 0, NULL},
    {"syslog-ident", CFG_STR, OFF(syslog_ident), 0, 0, "redis", 0, NULL, 0, NULL},
    {"syslog-facility", CFG_ENUM, OFF(syslog_facility), 0, 0, "local0", 0, syslog_facilities, 0, NULL},
    {"slowlog-log-slower-than", CFG_LL, OFF(slowlog_log_slower_than), -1, LL_MAX, "10000", 1, NULL, 0, NULL},
    {"slowlog-max-len", CFG_LL, OFF(slowlog_max_len), 0, LL_MAX, "128", 1, NULL, 0, NULL},
    {"latency-monitor-threshold", CFG_LL, OFF(latency_monitor_threshold), 0, LL_MAX, "0", 1, NULL, 0, NULL},
    {"latency-tracking", CFG_BOOL, OFF(latency_tracking), 0, 0, "yes", 1, NULL, 0, NULL},
    {"latency-tracking-info-percentiles", CFG_PERCENTILES, OFF(latency_tracking_info_percentiles), 0, 0, "50 99 99.9",
     1, NULL, CF_MULTI, NULL},
    /* Security. */
    {"requirepass", CFG_STR, OFF(requirepass), 0, 0, "", 1, NULL, 0, NULL},
    {"aclfile", CFG_STR, OFF(aclfile), 0, 0, "", 0, NULL, 0, NULL},
    {"acllog-max-len", CFG_LL, OFF(acllog_max_len), 0, LL_MAX, "128", 1, NULL, 0, NULL},
    {"acl-pubsub-default", CFG_ENUM, OFF(acl_pubsub_default), 0, 0, "resetchannels", 1, pubsub_defaults, 0, NULL},
    {"enable-debug-command", CFG_ENUM, OFF(enable_debug_command), 0, 0, "no", 0, no_yes_local, 0, NULL},
    INERT_ENUM("enable-module-command", "no", 0, no_yes_local),
    {"enable-protected-configs", CFG_ENUM, NOSLOT, 0, 0, "no", 0, no_yes_local, 0, NULL},
    INERT_ENUM("sanitize-dump-payload", "no", 1, sanitize_modes),
    /* Clients and memory. */
    {"proto-max-bulk-len", CFG_MEM, OFF(proto_max_bulk_len), 1024 * 1024, LL_MAX, "512mb", 1, NULL, 0, NULL},
    {"client-query-buffer-limit", CFG_MEM, OFF(client_query_buffer_limit), 1024 * 1024, LL_MAX, "1gb", 1, NULL, 0,
     NULL},
    {"client-output-buffer-limit", CFG_OBUF, OFF(obuf_limits), 0, 0,
     "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", 1, NULL, CF_MULTI, NULL},
    {"maxmemory", CFG_MEM, OFF(maxmemory), 0, LL_MAX, "0", 1, NULL, 0, NULL},
    {"maxmemory-policy", CFG_ENUM, OFF(maxmemory_policy), 0, 0, "noeviction", 1, policies, 0, NULL},
    {"maxmemory-samples", CFG_INT, OFF(maxmemory_samples), 1, INT_MX, "5", 1, NULL, 0,
     NULL}, /* storage caps what it samples */
    INERT("maxmemory-eviction-tenacity", CFG_INT, 0, 100, "10", 1),
    {"maxmemory-clients", CFG_MEMPCT, NOSLOT, 0, LL_MAX, "0", 1, NULL, CF_INERT, NULL},
    {"lfu-log-factor", CFG_INT, OFF(lfu_log_factor), 0, INT_MX, "10", 1, NULL, 0, NULL},
    {"lfu-decay-time", CFG_INT, OFF(lfu_decay_time), 0, INT_MX, "1", 1, NULL, 0, NULL},
    {"active-expire-effort", CFG_INT, OFF(active_expire_effort), 1, 10, "1", 1, NULL, 0, NULL},
    {"activerehashing", CFG_BOOL, OFF(activerehashing), 0, 0, "yes", 1, NULL, 0, NULL},
    {"tracking-table-max-keys", CFG_LL, OFF(tracking_table_max_keys), 0, LL_MAX, "1000000", 1, NULL, 0, NULL},
    {"lazyfree-lazy-eviction", CFG_BOOL, OFF(lazyfree_lazy_eviction), 0, 0, "no", 1, NULL, 0, NULL},
    {"lazyfree-lazy-expire", CFG_BOOL, OFF(lazyfree_lazy_expire), 0, 0, "no", 1, NULL, 0, NULL},
    {"lazyfree-lazy-server-del", CFG_BOOL, OFF(lazyfree_lazy_server_del), 0, 0, "no", 1, NULL, 0, NULL},
    {"lazyfree-lazy-user-del", CFG_BOOL, OFF(lazyfree_lazy_user_del), 0, 0, "no", 1, NULL, 0, NULL},
    {"lazyfree-lazy-user-flush", CFG_BOOL, OFF(lazyfree_lazy_user_flush), 0, 0, "no", 1, NULL, 0, NULL},
    INERT_BOOL("activedefrag", "no", 1),
    INERT("active-defrag-ignore-bytes", CFG_MEM, 1, LL_MAX, "100mb", 1),
    INERT("active-defrag-threshold-lower", CFG_INT, 0, 1000, "10", 1),
    INERT("active-defrag-threshold-upper", CFG_INT, 0, 1000, "100", 1),
    INERT("active-defrag-cycle-min", CFG_INT, 1, 99, "1", 1),
    INERT("active-defrag-cycle-max", CFG_INT, 1, 99, "25", 1),
    INERT("active-defrag-max-scan-fields", CFG_LL, 1, LL_MAX, "1000", 1),
    /* Types. The stream block limits decide what approximate (~) trimming removes. */
    {"stream-node-max-bytes", CFG_MEM, OFF(stream_node_max_bytes), 0, LL_MAX, "4096", 1, NULL, 0, NULL},
    {"stream-node-max-entries", CFG_LL, OFF(stream_node_max_entries), 0, LL_MAX, "100", 1, NULL, 0, NULL},
    {"hash-max-listpack-entries", CFG_LL, OFF(hash_max_listpack_entries), 0, LL_MAX, "512", 1, NULL, 0, NULL},
    {"hash-max-listpack-value", CFG_MEM, OFF(hash_max_listpack_value), 0, LL_MAX, "64", 1, NULL, 0, NULL},
    {"list-max-listpack-size", CFG_INT, OFF(list_max_listpack_size), INT_MN, INT_MX, "-2", 1, NULL, 0, NULL},
    {"list-compress-depth", CFG_INT, OFF(list_compress_depth), 0, INT_MX, "0", 1, NULL, 0, NULL},
    {"set-max-intset-entries", CFG_LL, OFF(set_max_intset_entries), 0, LL_MAX, "512", 1, NULL, 0, NULL},
    {"zset-max-listpack-entries", CFG_LL, OFF(zset_max_listpack_entries), 0, LL_MAX, "128", 1, NULL, 0, NULL},
    {"zset-max-listpack-value", CFG_MEM, OFF(zset_max_listpack_value), 0, LL_MAX, "64", 1, NULL, 0, NULL},
    {"hll-sparse-max-bytes", CFG_MEM, OFF(hll_sparse_max_bytes), 0, LL_MAX, "3000", 1, NULL, 0, NULL},
    {"notify-keyspace-events", CFG_NOTIFY, NOSLOT, 0, 0, "", 1, NULL, 0, NULL},
    {"busy-reply-threshold", CFG_LL, OFF(busy_reply_threshold), 0, LL_MAX, "5000", 1, NULL, 0, NULL},
    /* Persistence: RDB snapshots (server/persist.c), on Redis's default schedule. */
    {"save", CFG_SAVE, OFF(save), 0, 0, "3600 1 300 100 60 10000", 1, NULL, CF_MULTI, NULL},
    {"dbfilename", CFG_STR, OFF(dbfilename), 0, 0, "dump.rdb", 1, NULL, CF_PROTECTED, NULL},
    {"stop-writes-on-bgsave-error", CFG_BOOL, OFF(stop_writes_on_bgsave_error), 0, 0, "yes", 1, NULL, 0, NULL},
    {"rdbcompression", CFG_BOOL, OFF(rdbcompression), 0, 0, "yes", 1, NULL, 0, NULL},
    {"rdbchecksum", CFG_BOOL, OFF(rdbchecksum), 0, 0, "yes", 0, NULL, 0, NULL},
    INERT_BOOL("rdb-del-sync-files", "no", 1),
    INERT_BOOL("rdb-save-incremental-fsync", "yes", 1),
    /* The append-only file (server/aof.c). */
    {"appendonly", CFG_BOOL, OFF(appendonly), 0, 0, "no", 1, NULL, 0, NULL},
    {"appendfilename", CFG_STR, OFF(appendfilename), 0, 0, "appendonly.aof", 0, NULL, 0, NULL},
    {"appenddirname", CFG_STR, OFF(appenddirname), 0, 0, "appendonlydir", 0, NULL, 0, NULL},
    {"appendfsync", CFG_ENUM, OFF(appendfsync), 0, 0, "everysec", 1, fsync_modes, 0, NULL},
    {"no-appendfsync-on-rewrite", CFG_BOOL, OFF(no_appendfsync_on_rewrite), 0, 0, "no", 1, NULL, 0, NULL},
    {"auto-aof-rewrite-percentage", CFG_INT, OFF(auto_aof_rewrite_percentage), 0, INT_MX, "100", 1, NULL, 0, NULL},
    {"auto-aof-rewrite-min-size", CFG_MEM, OFF(auto_aof_rewrite_min_size), 0, LL_MAX, "64mb", 1, NULL, 0, NULL},
    {"aof-load-truncated", CFG_BOOL, OFF(aof_load_truncated), 0, 0, "yes", 1, NULL, 0, NULL},
    {"aof-use-rdb-preamble", CFG_BOOL, OFF(aof_use_rdb_preamble), 0, 0, "yes", 1, NULL, 0, NULL},
    {"aof-timestamp-enabled", CFG_BOOL, OFF(aof_timestamp_enabled), 0, 0, "no", 1, NULL, 0, NULL},
    /* Microseconds a rewrite child sleeps after each key, as Redis's hidden setting: a
     * test aid. */
    {"rdb-key-save-delay", CFG_LL, OFF(rdb_key_save_delay), LL_MIN, LL_MAX, "0", 1, NULL, CF_HIDDEN, NULL},
    {"aof-disable-auto-gc", CFG_BOOL, OFF(aof_disable_auto_gc), 0, 0, "no", 1, NULL, 0, NULL},
    {"aof-rewrite-incremental-fsync", CFG_BOOL, OFF(aof_rewrite_incremental_fsync), 0, 0, "yes", 1, NULL, 0, NULL},
    /* Replication. */
    {"replicaof", CFG_REPLICAOF, NOSLOT, 0, 0, "", 0, NULL, CF_INERT | CF_MULTI, NULL},
    INERT_STR("masterauth", "", 1),
    INERT_STR("masteruser", "", 1),
    INERT_BOOL("replica-serve-stale-data", "yes", 1),
    INERT_BOOL("replica-read-only", "yes", 1),
    INERT_BOOL("replica-ignore-maxmemory", "yes", 1),
    INERT_BOOL("replica-lazy-flush", "no", 1),
    INERT_BOOL("replica-announced", "yes", 1),
    INERT_BOOL("replica-ignore-disk-write-errors", "no", 1),
    INERT("replica-priority", CFG_INT, 0, INT_MX, "100", 1),
    INERT_STR("replica-announce-ip", "", 1),
    INERT("replica-announce-port", CFG_INT, 0, 65535, "0", 1),
    INERT_BOOL("repl-diskless-sync", "yes", 1),
    INERT("repl-diskless-sync-delay", CFG_INT, 0, INT_MX, "5", 1),
    INERT("repl-diskless-sync-max-replicas", CFG_INT, 0, INT_MX, "0", 1),
    INERT_ENUM("repl-diskless-load", "disabled", 1, diskless_load_modes),
    INERT_BOOL("repl-disable-tcp-nodelay", "no", 1),
    INERT("repl-ping-replica-period", CFG_INT, 1, INT_MX, "10", 1),
    INERT("repl-timeout", CFG_INT, 1, INT_MX, "60", 1),
    INERT("repl-backlog-size", CFG_MEM, 1, LL_MAX, "1mb", 1),
    INERT("repl-backlog-ttl", CFG_LL, 0, LL_MAX, "3600", 1),
    INERT("min-replicas-to-write", CFG_INT, 0, INT_MX, "0", 1),
    INERT("min-replicas-max-lag", CFG_INT, 0, INT_MX, "10", 1),
    INERT_ENUM("propagation-error-behavior", "ignore", 1, propagation_modes),
    /* Cluster. */
    INERT_BOOL("cluster-enabled", "no", 0),
    INERT_STR("cluster-config-file", "nodes.conf", 0),
    INERT("cluster-port", CFG_INT, 0, 65535, "0", 0),
    INERT("cluster-node-timeout", CFG_LL, 0, LL_MAX, "15000", 1),
    INERT("cluster-migration-barrier", CFG_INT, 0, INT_MX, "1", 1),
    INERT("cluster-replica-validity-factor", CFG_INT, 0, INT_MX, "10", 1),
    INERT_BOOL("cluster-replica-no-failover", "no", 1),
    INERT_BOOL("cluster-require-full-coverage", "yes", 1),
    INERT_BOOL("cluster-allow-reads-when-down", "no", 1),
    INERT_BOOL("cluster-allow-pubsubshard-when-down", "yes", 1),
    INERT_BOOL("cluster-allow-replica-migration", "yes", 1),
    INERT_STR("cluster-announce-ip", "", 1),
    INERT("cluster-announce-hostname", CFG_HOST, 0, 0, "", 1),
    INERT("cluster-announce-port", CFG_INT, 0, 65535, "0", 1),
    INERT("cluster-announce-bus-port", CFG_INT, 0, 65535, "0", 1),
    INERT("cluster-announce-tls-port", CFG_INT, 0, 65535, "0", 1),
    INERT_ENUM("cluster-preferred-endpoint-type", "ip", 1, endpoint_types),
    INERT("cluster-link-sendbuf-limit", CFG_MEM, 0, LL_MAX, "0", 1),
    /* TLS. */
    INERT("tls-port", CFG_INT, 0, 65535, "0", 1),
    INERT_STR("tls-cert-file", "", 1),
    INERT_STR("tls-key-file", "", 1),
    INERT_STR("tls-key-file-pass", "", 1),
    INERT_STR("tls-client-cert-file", "", 1),
    INERT_STR("tls-client-key-file", "", 1),
    INERT_STR("tls-client-key-file-pass", "", 1),
    INERT_STR("tls-dh-params-file", "", 1),
    INERT_STR("tls-ca-cert-file", "", 1),
    INERT_STR("tls-ca-cert-dir", "", 1),
    INERT_STR("tls-protocols", "", 1),
    INERT_STR("tls-ciphers", "", 1),
    INERT_STR("tls-ciphersuites", "", 1),
    INERT_BOOL("tls-prefer-server-ciphers", "no", 1),
    INERT_BOOL("tls-session-caching", "yes", 1),
    INERT("tls-session-cache-size", CFG_INT, 0, INT_MX, "20480", 1),
    INERT("tls-session-cache-timeout", CFG_INT, 0, INT_MX, "300", 1),
    INERT_ENUM("tls-auth-clients", "yes", 1, tls_auth_modes),
    INERT_BOOL("tls-replication", "no", 1),
    INERT_BOOL("tls-cluster", "no", 1),
    /* Redis's older names, listed by CONFIG GET * as well. */
    ALIAS("hash-max-ziplist-entries", "hash-max-listpack-entries"),
    ALIAS("hash-max-ziplist-value", "hash-max-listpack-value"),
    ALIAS("list-max-ziplist-size", "list-max-listpack-size"),
    ALIAS("zset-max-ziplist-entries", "zset-max-listpack-entries"),
    ALIAS("zset-max-ziplist-value", "zset-max-listpack-value"),
    ALIAS("lua-time-limit", "busy-reply-threshold"),
    ALIAS("slaveof", "replicaof"),
    ALIAS("slave-serve-stale-data", "replica-serve-stale-data"),
    ALIAS("slave-read-only", "replica-read-only"),
    ALIAS("slave-ignore-maxmemory", "replica-ignore-maxmemory"),
    ALIAS("slave-lazy-flush", "replica-lazy-flush"),
    ALIAS("slave-priority", "replica-priority"),
    ALIAS("slave-announce-ip", "replica-announce-ip"),
    ALIAS("slave-announce-port", "replica-announce-port"),
    ALIAS("repl-ping-slave-period", "repl-ping-replica-period"),
    ALIAS("min-slaves-to-write", "min-replicas-to-write"),
    ALIAS("min-slaves-max-lag", "min-replicas-max-lag"),
    ALIAS("cluster-slave-validity-factor", "cluster-replica-validity-factor"),
    ALIAS("cluster-slave-no-failover", "cluster-replica-no-failover"),
};
#define NCONFIGS (sizeof(configs) / sizeof(configs[0]))

/* A setting whose value is a secret (Redis's SENSITIVE_CONFIG): redacted from the slow log. */
static int config_is_secret(const config_def *d) { return d->off == OFF(requirepass); }
/* Storage of the rows with no server_config field (off == NOSLOT), by row index. */
typedef union {
    int i;
    long long ll;
    char *s;
} cfg_slot;
static cfg_slot slots[NCONFIGS];
/* Each row's default as CONFIG GET renders it, to tell which inert rows were changed. */
static char *rendered_defaults[NCONFIGS];

static const config_def *canonical(const config_def *d);

static char *slot_of(const config_def *d) {
    d = canonical(d);
    if (d->off == NOSLOT) return (char *)&slots[d - configs];
    return (char *)&server.cfg + d->off;
}

static const config_def *config_find(const char *name, size_t len) {
    for (size_t i = 0; i < NCONFIGS; i++)
        if (util_eqi(name, len, configs[i].name)) return &configs[i];
    return NULL;
}

static const config_def *canonical(const config_def *d) {
    if (!(d->flags & CF_ALIAS)) return d;
    return config_find(d->alias_of, strlen(d->alias_of));
}

/* Redis's memtoull: digits with an optional b/k/kb/m/mb/g/gb unit (case-insensitive);
 * no sign; no digits at all reads as 0, as in Redis. Returns 0 if not a memory value,
 * else 1 with *out set, or 2 when the number exceeds a long long. */
static int parse_memory(const char *s, long long *out) {
    const char *u = s;
    if (*u == '-') return 0;
    while (isdigit((unsigned char)*u)) u++;
    unsigned long long mul;
    if (!*u || !strcasecmp(u, "b")) mul = 1;
    else if (!strcasecmp(u, "k")) mul = 1000;
    else if (!strcasecmp(u, "kb")) mul = 1024;
    else if (!strcasecmp(u, "m")) mul = 1000 * 1000;
    else if (!strcasecmp(u, "mb")) mul = 1024 * 1024;
    else if (!strcasecmp(u, "g")) mul = 1000ULL * 1000 * 1000;
    else if (!strcasecmp(u, "gb")) mul = 1024ULL * 1024 * 1024;
    else return 0;
    unsigned long long v = 0;
    int big = 0;
    for (const char *p = s; p < u; p++) {
        if (v > (unsigned long long)LL_MAX / 10) big = 1;
        v = v * 10 + (unsigned long long)(*p - '0');
        if (v > (unsigned long long)LL_MAX) big = 1;
    }
    if (big || v > (unsigned long long)LL_MAX / mul) return 2;
    *out = (long long)(v * mul);
    return 1;
}

static int full_strtoll(const char *s, long long *out) {
    char *end;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return *s && !*end && !errno;
}

/* client-output-buffer-limit: "<class> <hard> <soft> <soft-seconds>" repeated, class
 * normal, replica/slave or pubsub; all classes are validated before any is applied,
 * with Redis's three messages. */
static int parse_obuf_limits(const char *val, const char **err) {
    char *copy = xstrdup(val), *save = NULL;
    char *tok[64];
    int n = 0;
    for (char *t = strtok_r(copy, " ", &save); t && n < 64; t = strtok_r(NULL, " ", &save)) tok[n++] = t;
    struct obuf_limit lim[3];
    memcpy(lim, server.cfg.obuf_limits, sizeof(lim));
    *err = NULL;
    if (n == 0 || n % 4 != 0) *err = "Wrong number of arguments in buffer limit configuration.";
    for (int i = 0; !*err && i < n; i += 4) {
        int cls = !strcasecmp(tok[i], "normal")                                      ? 0
                  : (!strcasecmp(tok[i], "replica") || !strcasecmp(tok[i], "slave")) ? 1
                  : !strcasecmp(tok[i], "pubsub")                                    ? 2
                                                                                     : -1;
        long long hard, soft, secs;
        if (cls < 0) {
            *err = "Invalid client class specified in buffer limit configuration.";
        } else if (parse_memory(tok[i + 1], &hard) != 1 || parse_memory(tok[i + 2], &soft) != 1 ||
                   !full_strtoll(tok[i + 3], &secs) || secs < 0) {
            *err = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        } else {
            lim[cls].hard = hard;
            lim[cls].soft = soft;
            lim[cls].soft_seconds = secs;
        }
    }
    free(copy);
    if (*err) return 0;
    memcpy(server.cfg.obuf_limits, lim, sizeof(lim));
    return 1;
}

/* The words of a multi-word value, split on spaces (at most max; *n may exceed it). */
static char *split_words(const char *val, char **words, int max, int *n) {
    char *copy = xstrdup(val), *save = NULL;
    *n = 0;
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (*n < max) words[*n] = t;
        (*n)++;
    }
    return copy;
}

/* Growable text for rendered values. */
typedef struct {
    char *s;
    size_t len, cap;
} textbuf;

static void tb_add(textbuf *t, const char *s) {
    size_t n = strlen(s);
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = xrealloc(t->s, t->cap);
    }
    memcpy(t->s + t->len, s, n + 1);
    t->len += n;
}

static char *tb_finish(textbuf *t) { return t->s ? t->s : xstrdup(""); }

/* save: "seconds changes" pairs, seconds >= 1, changes >= 0. */
static char *norm_save(const char *val, const char **err) {
    char *w[256];
    int n;
    char *copy = split_words(val, w, 256, &n);
    textbuf t = {0};
    int ok = n % 2 == 0 && n <= 256;
    for (int i = 0; ok && i < n; i++) {
        long long v;
        char num[32];
        if (!full_strtoll(w[i], &v) || v < (i % 2 ? 0 : 1)) ok = 0;
        snprintf(num, sizeof(num), "%s%lld", i ? " " : "", v);
        tb_add(&t, num);
    }
    free(copy);
    if (!ok) {
        free(t.s);
        *err = "Invalid save parameters";
        return NULL;
    }
    return tb_finish(&t);
}

/* notify-keyspace-events: Redis's letters, shown in Redis's order (A stands for
 * g$lshzxetd; n and m are outside A). */
static char *norm_notify(const char *val, const char **err) {
    static const char classes[] = "g$lshzxetdn";
    int set[128] = {0};
    for (const char *p = val; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == 'A') {
            for (const char *a = "g$lshzxetd"; *a; a++) set[(int)*a] = 1;
        } else if (c < 128 && strchr("g$lshzxetdnKEm", c)) {
            set[c] = 1;
        } else {
            *err = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
            return NULL;
        }
    }
    char out[32];
    size_t o = 0;
    int all = 1;
    for (const char *a = "g$lshzxetd"; *a; a++) all &= set[(int)*a];
    if (all) out[o++] = 'A';
    else
        for (const char *a = classes; *a; a++)
            if (set[(int)*a]) out[o++] = *a;
    if (set['K']) out[o++] = 'K';
    if (set['E']) out[o++] = 'E';
    if (set['m']) out[o++] = 'm';
    out[o] = '\0';
    return xstrdup(out);
}

static char *norm_oomvals(const char *val, const char **err) {
    char *w[3];
    int n;
    char *copy = split_words(val, w, 3, &n);
    long long v[3];
    int ok = n == 3;
    if (!ok) *err = "wrong number of arguments";
    for (int i = 0; ok && i < 3; i++) {
        if (!full_strtoll(w[i], &v[i]) || v[i] < -2000 || v[i] > 2000) {
            *err = "Invalid oom-score-adj-values, elements must be between -2000 and 2000.";
            ok = 0;
        }
    }
    free(copy);
    if (!ok) return NULL;
    char out[64];
    snprintf(out, sizeof(out), "%lld %lld %lld", v[0], v[1], v[2]);
    return xstrdup(out);
}

static char *norm_percentiles(const char *val, const char **err) {
    char *w[256];
    int n;
    char *copy = split_words(val, w, 256, &n);
    textbuf t = {0};
    int ok = 1;
    for (int i = 0; ok && i < n && i < 256; i++) {
        char *end;
        errno = 0;
        double d = strtod(w[i], &end);
        if (*end || errno) {
            *err = "Invalid latency-tracking-info-percentiles parameters";
            ok = 0;
        } else if (d < 0.0 || d > 100.0) {
            *err = "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]";
            ok = 0;
        } else {
            char num[64];
            snprintf(num, sizeof(num), "%f", d);
            char *dot = strchr(num, '.');
            if (dot) {
                char *z = num + strlen(num) - 1;
                while (z > dot && *z == '0') *z-- = '\0';
                if (z == dot) *z = '\0';
            }
            if (i) tb_add(&t, " ");
            tb_add(&t, num);
        }
    }
    free(copy);
    if (!ok) {
        free(t.s);
        return NULL;
    }
    return tb_finish(&t);
}

static char *norm_mempct(const char *val, const char **err) {
    size_t len = strlen(val);
    char out[32];
    if (len && val[len - 1] == '%') {
        long long pct;
        if (!util_str2ll(val, len - 1, &pct) || pct < 0) {
            *err = "argument must be a memory or percent value";
            return NULL;
        }
        if (pct > 100) {
            *err = "percentage argument must be less or equal to 100";
            return NULL;
        }
        snprintf(out, sizeof(out), pct ? "%lld%%" : "%lld", pct);
        return xstrdup(out);
    }
    long long v;
    if (parse_memory(val, &v) != 1) {
        *err = "argument must be a memory or percent value";
        return NULL;
    }
    snprintf(out, sizeof(out), "%lld", v);
    return xstrdup(out);
}

static char *norm_sigflags(const char *val, const char **err) {
    static const char *const names[] = {"save", "nosave", "now", "force"};
    char *w[16];
    int n, set[4] = {0};
    char *copy = split_words(val, w, 16, &n);
    int ok = n > 0 && n <= 16;
    for (int i = 0; ok && i < n; i++) {
        int k = -1;
        for (int j = 0; j < 4; j++)
            if (!strcasecmp(w[i], names[j])) k = j;
        if (k >= 0) set[k] = 1;
        else if (strcasecmp(w[i], "default")) ok = 0;
    }
    free(copy);
    if (!ok) {
        *err = "argument(s) must be one of the following: default, save, nosave, now, force";
        return NULL;
    }
    if (set[0] && set[1]) {
        *err = "shutdown options SAVE and NOSAVE can't be used simultaneously";
        return NULL;
    }
    textbuf t = {0};
    for (int j = 0; j < 4; j++) {
        if (!set[j]) continue;
        if (t.len) tb_add(&t, " ");
        tb_add(&t, names[j]);
    }
    if (!t.len) tb_add(&t, "default");
    return tb_finish(&t);
}

static char *norm_replicaof(const char *val, const char **err) {
    char *w[2];
    int n;
    char *copy = split_words(val, w, 2, &n);
    char *out = NULL;
    long long port;
    if (n != 2) *err = "wrong number of arguments";
    else if (!strcasecmp(w[0], "no") && !strcasecmp(w[1], "one")) out = xstrdup("");
    else if (!full_strtoll(w[1], &port) || port < 0 || port > 65535) *err = "Invalid master port";
    else out = xstrdup(val);
    free(copy);
    return out;
}

/* proc-title-template: {variables} Redis knows, {{ and }} for braces; it must not
 * expand to nothing (Redis expands it with an empty title to check). */
static char *norm_title(const char *val, const char **err) {
    static const char *const vars[] = {"title",    "listen-addr", "server-mode", "port",
                                       "tls-port", "unixsocket",  "config-file"};
    int nonempty = 0, ok = 1;
    for (const char *p = val; *p && ok; p++) {
        if (*p == '{' && p[1] == '{') {
            nonempty = 1;
            p++;
        } else if (*p == '{') {
            const char *close = strchr(p, '}');
            if (!close) {
                ok = 0;
                break;
            }
            size_t len = (size_t)(close - p - 1);
            int k = -1;
            for (int j = 0; j < 7; j++)
                if (strlen(vars[j]) == len && !strncmp(p + 1, vars[j], len)) k = j;
            if (k < 0) ok = 0;
            /* title, server-mode, unixsocket and config-file may expand to "". */
            else if (k == 1 || k == 3 || k == 4 || (k == 5 && server.cfg.unixsocket && server.cfg.unixsocket[0]) ||
                     (k == 6 && server.configfile))
                nonempty = 1;
            p = close;
        } else if (*p == '}' && p[1] == '}') {
            nonempty = 1;
            p++;
        } else if (*p != ' ') {
            nonempty = 1;
        }
    }
    if (!ok || !nonempty) {
        *err = "template format is invalid or contains unknown variables";
        return NULL;
    }
    return xstrdup(val);
}

static int config_apply_value(const config_def *d, const char *val, const char **err);

/* Set one setting from its text value. Returns 1, or 0 with *err set to the reason
 * (Redis's wording, without the argument name). Settings storage acts on but cannot
 * see in server.cfg are copied there (evict_cfg, lazyfree_cfg, the stream block limits). */
static int config_apply(const config_def *d, const char *val, const char **err) {
    if (!config_apply_value(canonical(d), val, err)) return 0;
    if (canonical(d)->off == OFF(appendonly) && !aof_set_enabled(server.cfg.appendonly, err)) return 0;
    if (canonical(d)->off == OFF(requirepass)) acl_requirepass_changed();
    if (canonical(d)->type == CFG_NOTIFY) notify_set_flags(val); /* not the shown text: "An" shows as "A" */
    int policy = evict_policy_from_name(server.cfg.maxmemory_policy);
    evict_cfg.maxmemory = server.cfg.maxmemory;
    evict_cfg.policy = policy < 0 ? EVICT_NOEVICTION : policy;
    evict_cfg.samples = server.cfg.maxmemory_samples;
    evict_cfg.lfu_log_factor = server.cfg.lfu_log_factor;
    evict_cfg.lfu_decay_time = server.cfg.lfu_decay_time;
    stream_node_max_entries = (size_t)server.cfg.stream_node_max_entries;
    stream_node_max_bytes = (size_t)server.cfg.stream_node_max_bytes;
    lazyfree_cfg.lazy_eviction = server.cfg.lazyfree_lazy_eviction;
    lazyfree_cfg.lazy_expire = server.cfg.lazyfree_lazy_expire;
    lazyfree_cfg.lazy_server_del = server.cfg.lazyfree_lazy_server_del;
    hll_sparse_max_bytes = (size_t)server.cfg.hll_sparse_max_bytes;
    hash_max_listpack_entries = (size_t)server.cfg.hash_max_listpack_entries;
    hash_max_listpack_value = (size_t)server.cfg.hash_max_listpack_value;
    set_max_intset_entries = (size_t)server.cfg.set_max_intset_entries;
    zset_max_listpack_entries = (size_t)server.cfg.zset_max_listpack_entries;
    zset_max_listpack_value = (size_t)server.cfg.zset_max_listpack_value;
    list_fill = server.cfg.list_max_listpack_size;
    list_compress_depth = server.cfg.list_compress_depth;
    aof_rewrite_key_delay_us = server.cfg.rdb_key_save_delay;
    rdb_compress = server.cfg.rdbcompression;
    return 1;
}

static int range_error(const config_def *d, const char **err) {
    static char errbuf[128];
    snprintf(errbuf, sizeof(errbuf),
             d->type == CFG_OCTAL ? "argument must be between %llo and %llo inclusive"
                                  : "argument must be between %lld and %lld inclusive",
             d->min, d->max);
    *err = errbuf;
    return 0;
}

static int config_apply_value(const config_def *d, const char *val, const char **err) {
    char *slot = slot_of(d);
    static char errbuf[256];
    char *text = NULL;
    switch (d->type) {
        case CFG_INT:
        case CFG_OCTAL:
        case CFG_LL: {
            long long v;
            char *end;
            if (d->type == CFG_OCTAL) {
                errno = 0;
                v = strtoll(val, &end, 8);
                if (!*val || *end || errno) {
                    *err = "argument couldn't be parsed as an octal number";
                    return 0;
                }
            } else if (!util_str2ll(val, strlen(val), &v)) {
                *err = "argument couldn't be parsed into an integer";
                return 0;
            }
            if (v < d->min || v > d->max) return range_error(d, err);
            if (d->off == OFF(hz)) v = v < 1 ? 1 : v > 500 ? 500 : v; /* Redis stores it clamped */
            if (d->type == CFG_LL) *(long long *)slot = v;
            else *(int *)slot = (int)v;
            return 1;
        }
        case CFG_OBUF: return !val[0] || parse_obuf_limits(val, err); /* "" changes nothing */
        case CFG_MEM: {
            long long v = 0;
            int r = parse_memory(val, &v);
            if (!r) {
                *err = "argument must be a memory value";
                return 0;
            }
            if (r == 2 || v < d->min || v > d->max) return range_error(d, err);
            if (!strcmp(d->name, "repl-backlog-size") && v < 16384) v = 16384; /* Redis's floor */
            *(long long *)slot = v;
            return 1;
        }
        case CFG_BOOL:
            if (!strcasecmp(val, "yes")) *(int *)slot = 1;
            else if (!strcasecmp(val, "no")) *(int *)slot = 0;
            else {
                *err = "argument must be 'yes' or 'no'";
                return 0;
            }
            return 1;
        case CFG_ENUM: {
            for (int i = 0; d->enums[i]; i++) {
                if (!strcasecmp(val, d->enums[i])) {
                    if (d->off == OFF(loglevel)) server.cfg.loglevel = i;
                    else *(const char **)slot = d->enums[i];
                    return 1;
                }
            }
            size_t o = (size_t)snprintf(errbuf, sizeof(errbuf), "argument(s) must be one of the following: ");
            for (int i = 0; d->enums[i] && o < sizeof(errbuf); i++)
                o += (size_t)snprintf(errbuf + o, sizeof(errbuf) - o, "%s%s", i ? ", " : "", d->enums[i]);
            *err = errbuf;
            return 0;
        }
        case CFG_DIR:
            /* "" (respite's default) stays in the working directory. */
            if (val[0] && chdir(val) != 0) {
                snprintf(errbuf, sizeof(errbuf), "%s", strerror(errno));
                *err = errbuf;
                return 0;
            }
            return 1;
        case CFG_SAVE: text = norm_save(val, err); break;
        case CFG_NOTIFY: text = norm_notify(val, err); break;
        case CFG_OOMVALS: text = norm_oomvals(val, err); break;
        case CFG_PERCENTILES: text = norm_percentiles(val, err); break;
        case CFG_MEMPCT: text = norm_mempct(val, err); break;
        case CFG_SIGFLAGS: text = norm_sigflags(val, err); break;
        case CFG_REPLICAOF: text = norm_replicaof(val, err); break;
        case CFG_TITLE: text = norm_title(val, err); break;
        case CFG_HOST:
            for (const char *p = val; *p; p++) {
                if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.') {
                    *err = "Hostnames may only contain alphanumeric characters, hyphens or dots";
                    return 0;
                }
            }
            __attribute__((fallthrough));
        case CFG_STR:
            if (d->off == OFF(dbfilename) && strchr(val, '/')) {
                *err = "dbfilename can't be a path, just a filename";
                return 0;
            }
            text = xstrdup(val);
            break;
    }
    if (!text) return 0;
    char **s = (char **)slot;
    free(*s);
    *s = text;
    return 1;
}

/* The text CONFIG GET shows for a setting. */
static const char *config_render(const config_def *d, char *buf, size_t size) {
    d = canonical(d);
    char *slot = slot_of(d);
    switch (d->type) {
        case CFG_INT: snprintf(buf, size, "%d", *(int *)slot); return buf;
        case CFG_OCTAL: snprintf(buf, size, "%o", *(int *)slot); return buf;
        case CFG_MEM:
        case CFG_LL: snprintf(buf, size, "%lld", *(long long *)slot); return buf;
        case CFG_OBUF: {
            const struct obuf_limit *l = server.cfg.obuf_limits;
            snprintf(buf, size, "normal %lld %lld %lld slave %lld %lld %lld pubsub %lld %lld %lld", l[0].hard,
                     l[0].soft, l[0].soft_seconds, l[1].hard, l[1].soft, l[1].soft_seconds, l[2].hard, l[2].soft,
                     l[2].soft_seconds);
            return buf;
        }
        case CFG_BOOL: return *(int *)slot ? "yes" : "no";
        case CFG_ENUM:
            if (d->off == OFF(loglevel)) return loglevels[server.cfg.loglevel];
            return *(char **)slot;
        case CFG_DIR: return getcwd(buf, size) ? buf : "";
        default: {
            const char *s = *(char **)slot;
            return s ? s : "";
        }
    }
}

/* enable-protected-configs: "yes" or "local" lets CONFIG SET change dir and dbfilename
 * (respite does not tell local connections apart). */
static int protected_configs_allowed(void) {
    const config_def *d = config_find("enable-protected-configs", 24);
    return strcmp(*(char **)slot_of(d), "no") != 0;
}

void config_init(void) {
    for (size_t i = 0; i < NCONFIGS; i++) {
        config_def *d = &configs[i];
        if (d->flags & CF_ALIAS) {
            const config_def *t = canonical(d);
            d->type = t->type;
            d->min = t->min;
            d->max = t->max;
            d->def = t->def;
            d->mutable = t->mutable;
            d->enums = t->enums;
            d->flags = (t->flags & ~CF_ALIAS) | CF_ALIAS;
            continue;
        }
        const char *err;
        config_apply(d, d->def, &err);
        char buf[512];
        free(rendered_defaults[i]); /* config_init runs again between fuzz inputs */
        rendered_defaults[i] = xstrdup(config_render(d, buf, sizeof(buf)));
    }
}

void config_log_inert(void) {
    char list[4096];
    size_t o = 0;
    list[0] = '\0';
    for (size_t i = 0; i < NCONFIGS; i++) {
        const config_def *d = &configs[i];
        if (!(d->flags & CF_INERT) || (d->flags & CF_ALIAS)) continue;
        char buf[512];
        if (!strcmp(config_render(d, buf, sizeof(buf)), rendered_defaults[i])) continue;
        if (o < sizeof(list)) o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "", d->name);
    }
    if (o) log_warning("Settings respite accepts but does not act on: %s", list);
}

static void fatal_config(int linenum, const char *line, const char *msg) {
    fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (respite %s, Redis %s compatible) ***\n", RESPITE_VERSION,
            REDIS_COMPAT_VERSION);
    fprintf(stderr, "Reading the configuration file, at line %d\n", linenum);
    fprintf(stderr, ">>> '%s'\n%s\n", line, msg);
}

static int config_load_file(const char *path, int depth);

/* save lines add up while a file is read (the first one replaces the default), as in
 * Redis. Like Redis, the end of an included file ends "reading": a save line after an
 * include replaces the schedule, as CONFIG SET does. */
static int reading_config, save_lines;

/* One directive of the config text (args[0] is its name). Returns 0 after reporting
 * a fatal error. */
static int config_directive(int linenum, const char *line, resp_slice *args, int n, int depth) {
    if (util_eqi(args[0].ptr, args[0].len, "include") && n == 2) {
        char *path = xstrndup(args[1].ptr, args[1].len);
        int ok = config_load_file(path, depth + 1);
        free(path);
        return ok;
    }
    if (util_eqi(args[0].ptr, args[0].len, "rename-command") && n == 3) {
        command_rename_later(&args[1], &args[2]);
        return 1;
    }
    if (util_eqi(args[0].ptr, args[0].len, "user")) {
        const char *err = acl_config_user(args, n);
        if (err) {
            fatal_config(linenum, line, err);
            return 0;
        }
        return 1;
    }
    const config_def *d = config_find(args[0].ptr, args[0].len);
    if (!d) {
        fatal_config(linenum, line, "Bad directive or wrong number of arguments");
        return 0;
    }
    if (n < 2 || (n != 2 && !(d->flags & CF_MULTI))) {
        fatal_config(linenum, line, "wrong number of arguments");
        return 0;
    }
    /* Multi-word values (save 900 1, bind a b) are joined with spaces; a second save
     * line adds to the first, as in Redis. */
    char val[8192];
    size_t o = 0;
    val[0] = '\0';
    if (canonical(d)->type == CFG_SAVE) {
        if (reading_config && save_lines++ && server.cfg.save[0] && args[1].len)
            o += (size_t)snprintf(val, sizeof(val), "%s ", server.cfg.save);
    }
    for (int i = 1; i < n && o < sizeof(val); i++)
        o += (size_t)snprintf(val + o, sizeof(val) - o, "%s%.*s", i > 1 ? " " : "", (int)args[i].len, args[i].ptr);
    const char *err;
    if (!config_apply(d, val, &err)) {
        fatal_config(linenum, line, err);
        return 0;
    }
    return 1;
}

/* Apply config text: one "name value..." directive per line, sdssplitargs quoting. */
static int config_load_text(char *text, int depth) {
    int linenum = 0;
    reading_config = 1;
    /* Every line counts, empty ones too, so the numbers in errors are Redis's. */
    for (char *line = text, *nl; line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        linenum++;
        while (isspace((unsigned char)*line)) line++;
        size_t len = strlen(line);
        while (len && isspace((unsigned char)line[len - 1])) line[--len] = '\0';
        if (!len || line[0] == '#') continue;
        char *copy = xstrdup(line);
        resp_slice args[64];
        int n = resp_split_inline(line, len, args, 64);
        int ok = 1;
        if (n < 0) {
            fatal_config(linenum, copy, "Unbalanced quotes in configuration line");
            ok = 0;
        } else if (n > 64) {
            fatal_config(linenum, copy, "Too many arguments");
            ok = 0;
        } else if (n > 0) {
            ok = config_directive(linenum, copy, args, n, depth);
        }
        free(copy);
        if (!ok) return 0;
    }
    reading_config = 0;
    return 1;
}

static int read_whole_file(const char *path, char **out) {
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "Fatal error, can't open config file '%s': %s\n", path, strerror(errno));
        return 0;
    }
    size_t cap = 4096, len = 0, n;
    char *text = xmalloc(cap);
    while ((n = fread(text + len, 1, cap - len - 1, fp)) > 0) {
        len += n;
        if (cap - len - 1 == 0) text = xrealloc(text, cap *= 2);
    }
    fclose(fp);
    text[len] = '\0';
    *out = text;
    return 1;
}

/* include: another file's directives at that point (nested, paths relative to the
 * working directory, glob patterns as in Redis 7: each match in order, none is fine). */
static int config_load_file(const char *path, int depth) {
    if (depth > 16) {
        fprintf(stderr, "Fatal error, config files included more than 16 levels deep at '%s'\n", path);
        return 0;
    }
    glob_t g;
    int ok = 1;
    if (strpbrk(path, "*?[")) {
        if (glob(path, 0, NULL, &g) != 0) return 1; /* no match: nothing to read, as Redis */
        for (size_t i = 0; ok && i < g.gl_pathc; i++) {
            char *text = NULL;
            ok = read_whole_file(g.gl_pathv[i], &text) && config_load_text(text, depth);
            free(text);
        }
        globfree(&g);
        return ok;
    }
    char *text = NULL;
    ok = read_whole_file(path, &text) && config_load_text(text, depth);
    free(text);
    return ok;
}

int config_load(int argc, char **argv) {
    size_t cap = 4096, len = 0;
    char *text = xmalloc(cap);
    text[0] = '\0';
#define APPEND(s, n)                                                                                                   \
    do {                                                                                                               \
        while (len + (n) + 2 >= cap) text = xrealloc(text, cap *= 2);                                                  \
        memcpy(text + len, (s), (n));                                                                                  \
        len += (n);                                                                                                    \
        text[len] = '\0';                                                                                              \
    } while (0)
    int i = 1;
    if (argc > 1 && strncmp(argv[1], "--", 2) != 0) {
        char *file;
        if (!read_whole_file(argv[1], &file)) {
            free(text);
            return 0;
        }
        server.configfile = realpath(argv[1], NULL);
        APPEND(file, strlen(file));
        free(file);
        i = 2;
    }
    /* --name value value ... becomes the directive "name value value" on a line of its
     * own after the file, with one empty line between as Redis appends "\n" + options
     * (so the line numbers of errors match); values are quoted so that empty strings
     * (--save '') survive the split. */
    for (; i < argc; i++) {
        if (!strncmp(argv[i], "--", 2)) {
            APPEND("\n", 1);
            APPEND(argv[i] + 2, strlen(argv[i] + 2));
        } else {
            APPEND(" \"", 2);
            for (const char *p = argv[i]; *p; p++) {
                if (*p == '"' || *p == '\\') APPEND("\\", 1);
                APPEND(p, 1);
            }
            APPEND("\"", 1);
        }
    }
#undef APPEND
    int ok = config_load_text(text, 0);
    free(text);
    return ok;
}

/* ---- CONFIG GET / SET / RESETSTAT / REWRITE / HELP ---- */

/* As Redis 7.0: an argument without glob characters is looked up directly (aliases
 * too) and answered under the name as the client spelt it; a pattern matches every
 * name. A setting appears once however many arguments match it. */
static void cmd_config_get(client *c) {
    const config_def *hit[NCONFIGS];
    const resp_slice *as[NCONFIGS]; /* the argument to echo, or NULL for the table's name */
    size_t n = 0;
    for (int a = 2; a < c->argc; a++) {
        const resp_slice *arg = &c->argv[a];
        int glob =
            memchr(arg->ptr, '*', arg->len) || memchr(arg->ptr, '?', arg->len) || memchr(arg->ptr, '[', arg->len);
        for (size_t i = 0; i < NCONFIGS; i++) {
            const config_def *d = &configs[i];
            if (glob ? (d->flags & CF_HIDDEN) || !util_stringmatch(arg->ptr, arg->len, d->name, strlen(d->name), 1)
                     : !util_eqi(arg->ptr, arg->len, d->name))
                continue;
            size_t j = 0;
            while (j < n && hit[j] != d) j++;
            if (j == n && n < NCONFIGS) {
                hit[n] = d;
                as[n++] = glob ? NULL : arg;
            }
        }
    }
    reply_map(&c->out, (long)n);
    char buf[512];
    for (size_t i = 0; i < n; i++) {
        if (as[i]) reply_bulk(&c->out, as[i]->ptr, as[i]->len);
        else reply_bulk_cstr(&c->out, hit[i]->name);
        reply_bulk_cstr(&c->out, config_render(hit[i], buf, sizeof(buf)));
    }
}

/* Make room for maxclients connections plus CONFIG_MIN_RESERVED_FDS descriptors, as
 * Redis's adjustOpenFilesLimit: raise the open-files limit, and where the system
 * refuses, lower maxclients to what the limit allows, with Redis's warnings. Returns 0
 * if even that is impossible (a limit of 32 or less). */
#define CONFIG_MIN_RESERVED_FDS 32
int config_adjust_open_files_limit(void) {
    struct rlimit limit;
    rlim_t maxfiles = (rlim_t)server.cfg.maxclients + CONFIG_MIN_RESERVED_FDS;
    if (getrlimit(RLIMIT_NOFILE, &limit) == -1) {
        log_warning("Unable to obtain the current NOFILE limit (%s), assuming 1024 and setting the max clients "
                    "configuration accordingly.",
                    strerror(errno));
        server.cfg.maxclients = 1024 - CONFIG_MIN_RESERVED_FDS;
        return 1;
    }
    rlim_t oldlimit = limit.rlim_cur, oldmax = limit.rlim_max;
    if (oldlimit >= maxfiles) return 1;
    rlim_t best = maxfiles;
    int setrlimit_error = 0;
    /* Try the wanted limit, then less and less, 16 at a time (Redis's steps); the hard
     * limit is only ever raised. */
    while (best > oldlimit) {
        limit.rlim_cur = best;
        limit.rlim_max = oldmax != RLIM_INFINITY && best > oldmax ? best : oldmax;
        if (setrlimit(RLIMIT_NOFILE, &limit) != -1) break;
        setrlimit_error = errno;
        if (best < 16) {
            best = oldlimit;
            break;
        }
        best -= 16;
    }
    if (best < oldlimit) best = oldlimit;
    if (best < maxfiles) {
        int old_maxclients = server.cfg.maxclients;
        if (best <= CONFIG_MIN_RESERVED_FDS) {
            log_warning("Your current 'ulimit -n' of %llu is not enough for the server to start. Please increase your "
                        "open file limit to at least %llu. Exiting.",
                        (unsigned long long)oldlimit, (unsigned long long)maxfiles);
            return 0;
        }
        server.cfg.maxclients = (int)(best - CONFIG_MIN_RESERVED_FDS);
        log_warning("You requested maxclients of %d requiring at least %llu max file descriptors.", old_maxclients,
                    (unsigned long long)maxfiles);
        log_warning("Server can't set maximum open files to %llu because of OS error: %s.",
                    (unsigned long long)maxfiles, strerror(setrlimit_error));
        log_warning("Current maximum open files is %llu. maxclients has been reduced to %d to compensate for low "
                    "ulimit. If you need higher maxclients increase 'ulimit -n'.",
                    (unsigned long long)best, server.cfg.maxclients);
    } else {
        log_notice("Increased maximum number of open files to %llu (it was originally set to %llu).",
                   (unsigned long long)maxfiles, (unsigned long long)oldlimit);
    }
    return 1;
}

/* Put back the values saved before a failed CONFIG SET, last applied first. */
static void config_restore(const config_def **defs, char **saved, int n) {
    for (int i = n - 1; i >= 0; i--) {
        const char *err;
        config_apply(defs[i], saved[i], &err);
    }
}

/* CONFIG SET is all or nothing, as in Redis: names are checked first, then every value
 * is applied in order, then what needs the system's consent (maxclients' descriptors) is
 * checked; on any failure every setting goes back to the value it had. Errors name the
 * first argument that failed, with Redis's texts. */
static void cmd_config_set(client *c) {
    if (c->argc % 2) {
        reply_arity_error(c);
        return;
    }
    int npairs = (c->argc - 2) / 2;
    const config_def *defs[NCONFIGS];
    /* Secrets are redacted whatever else is wrong with the command (Redis looks at every
     * name before it reports the first bad one). */
    for (int i = 0; i < npairs; i++) {
        const config_def *d = config_find(c->argv[2 + 2 * i].ptr, c->argv[2 + 2 * i].len);
        if (d && config_is_secret(d)) client_redact_arg(c, 3 + 2 * i);
    }
    /* Validate names first, as Redis does, so nothing is applied on a bad name. */
    for (int i = 0; i < npairs; i++) {
        resp_slice *name = &c->argv[2 + 2 * i];
        const config_def *d = config_find(name->ptr, name->len);
        if (!d) {
            reply_errorf(&c->out, "Unknown option or number of arguments for CONFIG SET - '%.*s'", (int)name->len,
                         name->ptr);
            return;
        }
        if (!d->mutable) {
            reply_errorf(&c->out,
                         "CONFIG SET failed (possibly related to argument '%.*s') - can't set immutable config",
                         (int)name->len, name->ptr);
            return;
        }
        if ((d->flags & CF_PROTECTED) && !protected_configs_allowed()) {
            reply_errorf(&c->out,
                         "CONFIG SET failed (possibly related to argument '%.*s') - can't set protected config",
                         (int)name->len, name->ptr);
            return;
        }
        for (int j = 0; j < i; j++) {
            if (defs[j] == d) {
                reply_errorf(&c->out, "CONFIG SET failed (possibly related to argument '%.*s') - duplicate parameter",
                             (int)name->len, name->ptr);
                return;
            }
        }
        if (i < (int)NCONFIGS) defs[i] = d;
    }
    char *saved[NCONFIGS];
    char buf[256];
    const char *err = NULL;
    int applied = 0, failed = -1;
    for (int i = 0; i < npairs; i++) saved[i] = xstrdup(config_render(defs[i], buf, sizeof(buf)));
    for (; applied < npairs; applied++) {
        char *val = arg_dup(c, 3 + 2 * applied);
        int ok = config_apply(defs[applied], val, &err);
        free(val);
        if (!ok) {
            failed = applied;
            break;
        }
    }
    if (failed < 0) {
        for (int i = 0; i < npairs; i++) {
            if (defs[i]->off != OFF(maxclients)) continue;
            int wanted = server.cfg.maxclients;
            if (!config_adjust_open_files_limit() || server.cfg.maxclients != wanted) {
                static char msg[128];
                snprintf(msg, sizeof(msg),
                         "The operating system is not able to handle the specified number of clients, try with %d",
                         server.cfg.maxclients);
                log_warning("Failed applying new configuration. Possibly related to new maxclients setting. "
                            "Restoring previous settings.");
                err = msg;
                failed = i;
            }
        }
    }
    if (failed >= 0) {
        config_restore(defs, saved, applied);
        reply_errorf(&c->out, "CONFIG SET failed (possibly related to argument '%s') - %s", defs[failed]->name, err);
    } else {
        reply_ok(&c->out);
    }
    for (int i = 0; i < npairs; i++) free(saved[i]);
}

static void cmd_config_resetstat(client *c) {
    server.stat_numcommands = 0;
    server.stat_numconnections = 0;
    server.stat_rejected_conn = 0;
    server.stat_net_input_bytes = 0;
    server.stat_net_output_bytes = 0;
    storage_stat.expired_keys = 0;
    lazyfree_reset_stats();
    storage_stat.keyspace_hits = 0;
    storage_stat.keyspace_misses = 0;
    evict_stat_evicted_keys = 0;
    stats_reset();
    reply_ok(&c->out);
}

static void cmd_config_rewrite(client *c) { reply_error(&c->out, "The server is running without a config file"); }

static void cmd_config_help(client *c) {
    static const char *const lines[] = {
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
    };
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

// clang-format off
const command_binding config_subcommands[] = {
    CMD("get", cmd_config_get),
    CMD("set", cmd_config_set),
    CMD("resetstat", cmd_config_resetstat),
    CMD("rewrite", cmd_config_rewrite),
    CMD("help", cmd_config_help),
    {0},
};
// clang-format on

void config_print_help(FILE *out) {
    fprintf(out, "Settings (redis.conf names; give them as --name value, or in the config file):\n");
    for (size_t i = 0; i < NCONFIGS; i++) {
        const config_def *d = &configs[i];
        const char *def = canonical(d)->def;
        if (d->flags & CF_ALIAS) {
            fprintf(out, "  --%-26s default %s  (another name for %s)\n", d->name, def[0] ? def : "\"\"", d->alias_of);
            continue;
        }
        if (d->enums && d->type == CFG_ENUM) {
            fprintf(out, "  --%-26s default %s%s%s  (one of:", d->name, def[0] ? def : "\"\"",
                    d->mutable ? ", CONFIG SET" : "", d->flags & CF_INERT ? ", not acted on" : "");
            for (int e = 0; d->enums[e]; e++) fprintf(out, " %s", d->enums[e]);
            fprintf(out, ")\n");
        } else {
            fprintf(out, "  --%-26s default %s%s%s\n", d->name, def[0] ? def : "\"\"", d->mutable ? ", CONFIG SET" : "",
                    d->flags & CF_INERT ? ", not acted on" : "");
        }
    }
}
