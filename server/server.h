/* server.h: what the server layer shares: the client (connection) structure, the
 * command table entry, the global server state, and the helpers command handlers use. */
#ifndef RESPITE_SERVER_H
#define RESPITE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "protocol/reply.h"
#include "protocol/resp_parse.h"
#include "storage/db.h"

#define RESPITE_VERSION      "0.1.0"
#define REDIS_COMPAT_VERSION "7.0.15"

struct event;
struct event_base;
struct client;

/* ---- commands ---- */

/* Command flags, as Redis names them in COMMAND INFO (server/command_table.c sets them
 * from Redis's table). Dispatch reads NO_AUTH, NO_MULTI, BLOCKING; maxmemory reads
 * DENYOOM; the rest are reported only. */
#define CMD_WRITE             (1u << 0) /* may modify the keyspace */
#define CMD_READONLY          (1u << 1)
#define CMD_DENYOOM           (1u << 2) /* may grow memory: refused over maxmemory */
#define CMD_ADMIN             (1u << 3)
#define CMD_PUBSUB            (1u << 4)
#define CMD_NOSCRIPT          (1u << 5)
#define CMD_BLOCKING          (1u << 6)
#define CMD_LOADING           (1u << 7)
#define CMD_STALE             (1u << 8)
#define CMD_FAST              (1u << 9)
#define CMD_NO_AUTH           (1u << 10) /* allowed before AUTH */
#define CMD_NO_MULTI          (1u << 11) /* not allowed inside MULTI (Redis's no-multi) */
#define CMD_ALLOW_BUSY        (1u << 12)
#define CMD_SKIP_MONITOR      (1u << 13)
#define CMD_SKIP_SLOWLOG      (1u << 14)
#define CMD_ASKING            (1u << 15)
#define CMD_NO_MANDATORY_KEYS (1u << 16)
#define CMD_NO_ASYNC_LOADING  (1u << 17)
#define CMD_MOVABLE_KEYS      (1u << 18) /* keys are not at fixed positions (Redis's movablekeys) */

typedef void command_proc(struct client *c);
struct command_meta;

/* A command as dispatch sees it, built at start-up from a binding (below) and its
 * metadata (server/command_table.c). arity: exact argc if >= 0, at least -arity if
 * negative (argv[0] counts; a subcommand's counts from the container's argv[0]).
 * first_key/last_key/step: key positions (last_key -1 = the last argument). A container
 * (CONFIG, CLIENT, ...) has a subcommand array ending with an entry whose name is NULL,
 * and proc NULL unless it also runs without a subcommand (COMMAND). */
typedef struct command {
    const char *name; /* lower case: "get", or "get" of "config|get" */
    command_proc *proc;
    int arity;
    uint32_t flags;
    int first_key, last_key, step;
    struct command *subcommands;
    const char *fullname; /* "get" or "config|get" */
    const struct command *parent;
    const struct command_meta *meta; /* what COMMAND INFO/DOCS report */
    long long calls, usec;           /* INFO commandstats */
    long long rejected_calls, failed_calls;
    struct histogram *latency; /* INFO latencystats (latency-tracking), from the first call */
    int acl_id;                /* index of meta in command_metas: its ACL bit (server/acl.c) */
} command;

/* What code says about a command: its name and handler, or its subcommands. Each
 * command file has a table of these ending with a zeroed entry. */
typedef struct command_binding {
    const char *name; /* lower case; a subcommand's is the bare subcommand ("get") */
    command_proc *proc;
    const struct command_binding *subcommands;
} command_binding;

/* CMD("get", cmd_get), or CMD("config", NULL, config_subcommands) for a container. */
#define CMD(...) CMD_ENTRY(__VA_ARGS__, NULL, NULL)
#define CMD_ENTRY(n, p, s, ...)                                                                                        \
    { n, p, s }

/* The binding tables, all listed in server/commands.c. */
extern const command_binding string_commands[];  /* server/cmd_string.c */
extern const command_binding keys_commands[];    /* server/cmd_keys.c */
extern const command_binding conn_commands[];    /* server/cmd_conn.c */
extern const command_binding server_commands[];  /* server/cmd_server.c */
extern const command_binding multi_commands[];   /* server/multi.c */
extern const command_binding memory_commands[];  /* server/cmd_memory.c */
extern const command_binding stream_commands[];  /* server/cmd_stream.c */
extern const command_binding bitops_commands[];  /* server/cmd_bitops.c */
extern const command_binding hll_commands[];     /* server/cmd_hll.c */
extern const command_binding debug_commands[];   /* server/cmd_debug.c */
extern const command_binding latency_commands[]; /* server/latency.c */
extern const command_binding acl_commands[];     /* server/acl.c */
extern const command_binding hash_commands[];    /* server/cmd_hash.c */
extern const command_binding set_commands[];     /* server/cmd_set.c */
extern const command_binding zset_commands[];    /* server/cmd_zset.c */
extern const command_binding geo_commands[];     /* server/cmd_geo.c */
extern const command_binding sort_commands[];    /* server/cmd_sort.c */
extern const command_binding list_commands[];    /* server/cmd_list.c */
/* Scripting. */
extern const command_binding script_commands[];   /* server/script.c */
extern const command_binding function_commands[]; /* server/function.c */
extern const command_binding aof_commands[];      /* server/aof.c */
extern const command_binding persist_commands[];  /* server/persist.c */
extern const command_binding pubsub_commands[];   /* server/pubsub.c */
extern const command_binding monitor_commands[];  /* server/monitor.c */
/* Subcommand tables bound by server_commands. */
extern const command_binding command_subcommands[]; /* server/commands.c */
extern const command_binding config_subcommands[];  /* server/config.c */
extern const command_binding slowlog_subcommands[]; /* server/slowlog.c */
/* The binding tables commands_init reads, ending with NULL. */
extern const command_binding *const command_tables[];

/* COMMAND with no subcommand (server/commands.c). */
void cmd_command(struct client *c);

/* Where key spec ks finds keys in argv (Redis's getKeysUsingKeySpecs, one spec): 1 with
 * [*first, *last] by *step, 0 if its keyword is absent, 2 if its range holds zero keys,
 * -1 if the arguments do not fit it. Shared by COMMAND GETKEYS and the ACL check. */
struct command_key_spec;
int command_spec_range(const struct command_key_spec *ks, const resp_slice *argv, int argc, int *first, int *last,
                       int *step);
/* Find a command by name (case-insensitive); NULL if unknown. */
command *command_lookup(const char *name, size_t len);
/* Join every binding with its metadata; a binding without metadata is logged and the
 * process exits (a build that cannot answer COMMAND for a command must not start). */
void commands_init(void);
size_t commands_count(void);
/* rename-command from the config file (before commands_init, which applies it; "" as
 * the new name removes the command). */
void command_rename_later(const resp_slice *from, const resp_slice *to);
/* Visit every command and subcommand (INFO commandstats). */
void commands_foreach(void (*fn)(void *priv, const struct command *cmd), void *priv);
/* Stop the event loop and shut down gracefully (SIGTERM, SHUTDOWN). */
void server_request_shutdown(void);

/* ---- clients ---- */

#define CLIENT_CLOSE_AFTER_REPLY     (1u << 0) /* close once the output is written */
#define CLIENT_CLOSE_ASAP            (1u << 1) /* close at the end of this event */
#define CLIENT_MULTI                 (1u << 2) /* inside MULTI */
#define CLIENT_DIRTY_CAS             (1u << 3) /* a WATCHed key was touched */
#define CLIENT_DIRTY_EXEC            (1u << 4) /* a command failed to queue: EXEC aborts */
#define CLIENT_UNIX                  (1u << 5) /* connected over the Unix socket */
#define CLIENT_EXECUTING_EXEC        (1u << 6)
#define CLIENT_SCRIPT                (1u << 7)  /* the client scripts run their commands through */
#define CLIENT_AOF_HELD              (1u << 8)  /* replies wait for the AOF write (server/net.c) */
#define CLIENT_PUBSUB                (1u << 17) /* holds a subscription (RESP2: subscribed mode) */
#define CLIENT_MONITOR               (1u << 18) /* MONITOR (server/monitor.c) */
/* CLIENT TRACKING (server/tracking.c) */
#define CLIENT_TRACKING              (1u << 9)
#define CLIENT_TRACKING_BCAST        (1u << 10)
#define CLIENT_TRACKING_OPTIN        (1u << 11)
#define CLIENT_TRACKING_OPTOUT       (1u << 12)
#define CLIENT_TRACKING_NOLOOP       (1u << 13)
#define CLIENT_TRACKING_CACHING      (1u << 14) /* CLIENT CACHING given for the next command */
#define CLIENT_TRACKING_BROKEN_REDIR (1u << 15)
#define CLIENT_TRACKING_TARGET       (1u << 16) /* some client redirects its invalidations here */
#define CLIENT_URING_HELD            (1u << 19) /* replies wait for the iteration's io_uring send (server/net.c) */
/* CLIENT REPLY (server/dispatch.c: client_reply_begin/end): OFF drops every command
 * reply until ON; SKIP drops the current command's; SKIP_NEXT becomes SKIP when the
 * next command starts. */
#define CLIENT_REPLY_OFF             (1u << 20)
#define CLIENT_REPLY_SKIP            (1u << 21)
#define CLIENT_REPLY_SKIP_NEXT       (1u << 22)
#define CLIENT_REPLY_ANY             (CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP | CLIENT_REPLY_SKIP_NEXT)
#define CLIENT_NO_EVICT              (1u << 23) /* CLIENT NO-EVICT ON: recorded only (no client eviction) */

typedef struct multi_cmd {
    command *cmd;
    int argc;
    resp_slice *argv; /* copies: the query buffer moves on while queued */
} multi_cmd;

typedef struct client {
    uint64_t id;
    int fd;
    uint32_t flags;
    struct event *ev_read, *ev_write;
    int write_armed;    /* ev_write is pending */
    int read_paused;    /* ev_read removed for backpressure */
    int blocked;        /* waiting in a blocking command: input is held */
    int resume_pending; /* client_resume activated the read callback */
    void *bstate;       /* blocking state, owned by the blocking command's module */

    /* input */
    char *qbuf;        /* query buffer */
    size_t qlen, qcap; /* bytes held / allocated */
    size_t qpeak;
    resp_parser parser;

    /* the command being executed */
    int argc;
    resp_slice *argv;
    command *cmd, *lastcmd;
    uint64_t redacted; /* argv indexes (bit i, i < 64) SLOWLOG must not show: client_redact_arg */

    /* output */
    reply_buf out;

    db *db; /* the SELECTed db */
    int authenticated;
    struct acl_user *user;     /* the default user until AUTH; NULL: internal, unrestricted */
    int resp;                  /* 2 or 3 */
    char *name;                /* CLIENT SETNAME, or NULL */
    char *lib_name, *lib_ver;  /* CLIENT SETINFO */
    char addr[64];             /* "ip:port" of the peer */
    char laddr[64];            /* "ip:port" of our end */
    long long ctime_ms;        /* connected at */
    long long obuf_soft_since; /* ms when output went over the soft limit, 0 if under */
    size_t mem_counted;        /* this client's part of the clients' memory total */
    long long last_interaction_ms;

    /* pub/sub (server/pubsub.c): NULL until the first subscription */
    struct pubsub_state *ps;
    struct tracking_state *ts; /* CLIENT TRACKING (server/tracking.c), from its first ON */
    /* output queued from outside the client's own batch, to be written (server/net.c) */
    struct client *wq_prev, *wq_next;
    int wq_queued;
    int bs_head, bs_tail; /* references into the broadcast log (server/net.c), 0 = none */
    size_t bs_bytes;

    /* MULTI/EXEC */
    multi_cmd *mstate;
    int mcount, mcap;
    struct kindex_node *watched; /* keys this client WATCHes (linked by cnext) */

    /* CLIENT REPLY OFF/SKIP: where the output stood when the current command began */
    reply_mark reply_mark;
    /* CLIENT PAUSE (server/pause.c): the command held until the pause ends (a copy),
     * and the FIFO of held clients */
    resp_slice *held_argv;
    int held_argc;
    struct client *held_prev, *held_next;

    struct client *prev, *next; /* all clients */
} client;

/* Reply helpers with Redis's texts. */
void reply_wrongtype(client *c);    /* -WRONGTYPE Operation against a key holding the wrong kind of value */
void reply_syntax_error(client *c); /* -ERR syntax error */
/* -ERR wrong number of arguments for '<fullname>' command */
void reply_arity_error(client *c);

/* A HELP subcommand's reply, as Redis's addReplyHelp: "<CMD> <subcommand> [<arg> [value]
 * [opt] ...]. Subcommands are:" (CMD is argv[0] upper-cased), the n lines, then HELP's
 * own entry. */
void reply_help(client *c, const char *const *lines, size_t n);

/* Argument helpers. */
int arg_is(const client *c, int i, const char *lowercase_or_any_case); /* case-insensitive equality */
/* Parse argv[i] as a long long; on failure reply "-ERR value is not an integer or out
 * of range" and return 0. */
int arg_ll_or_reply(client *c, int i, long long *out);
/* Same, with a custom error message on failure (reply_error semantics). */
int arg_ll_or_reply_msg(client *c, int i, long long *out, const char *msg);
/* Parse argv[i] as a long double; "-ERR value is not a valid float" on failure. */
int arg_ld_or_reply(client *c, int i, long double *out);

/* SCAN's cursor argument argv[i], parsed as Redis's parseScanCursorOrReply; replies
 * "-ERR invalid cursor" and returns 0 if it is not one (server/cmd_keys.c). */
int scan_parse_cursor(client *c, int i, unsigned long *cursor);
/* HSCAN/SSCAN's options from argv[first] on: COUNT (default 10, >= 1) and MATCH (*pat
 * NULL when absent or "*"). Replies the error and returns 0 on bad input. */
int scan_collection_options_or_reply(client *c, int first, long long *count, const char **pat, size_t *patlen);
/* The reply of a collection SCAN on a missing key: cursor 0, no elements. */
void scan_reply_empty(client *c);

/* A private copy of an argument vector, slices and bytes in one allocation (one free):
 * for commands that outlive the query buffer (MULTI queue, blocked clients). */
resp_slice *argv_dup(const resp_slice *argv, int argc);
/* Store argv[val_i] as the string value of key argv[key_i] (db_set_string's flags),
 * taking over the argument's own buffer when it arrived in one (a big bulk), so a big
 * value is stored without a copy. argv[val_i] then points into the stored value. */
rkey *arg_store_string(client *c, int key_i, int val_i, int flags);
/* A copy of argv[i] as a NUL-terminated string (caller frees). */
char *arg_dup(const client *c, int i);

/* ---- the server ---- */

typedef struct server_config {
    char *bind; /* space-separated addresses */
    int port;
    char *unixsocket;
    int unixsocketperm;
    int tcp_backlog;
    int maxclients;
    int timeout; /* idle seconds, 0 = never */
    int tcp_keepalive;
    int hz;
    int databases;
    char *logfile;     /* "" = stdout */
    int loglevel;      /* LOG_DEBUG .. LOG_WARNING */
    char *requirepass; /* NULL = none; the default user's password (server/acl.c) */
    char *aclfile;     /* "" = none */
    long long acllog_max_len;
    char *acl_pubsub_default; /* "allchannels" or "resetchannels" */
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    long long maxmemory;
    char *maxmemory_policy;
    int daemonize; /* fork into the background at start-up */
    char *pidfile;
    char *propagation_log; /* "" = none; else a file the propagation stream is appended to */
    char *dir;
    char *save; /* "seconds changes" pairs: the save points (server/persist.c) */
    char *dbfilename;
    int rdbcompression, rdbchecksum, stop_writes_on_bgsave_error;
    char *shutdown_on_sigterm, *shutdown_on_sigint; /* "default" or words of save nosave now force */
    char *supervised;                               /* no, upstart, systemd, auto (server/supervise.c) */
    int protected_mode;
    int active_expire_effort; /* 1..10 */
    int activerehashing;
    int lazyfree_lazy_eviction, lazyfree_lazy_expire, lazyfree_lazy_server_del; /* copied to lazyfree_cfg */
    int lazyfree_lazy_user_del, lazyfree_lazy_user_flush;
    long long slowlog_log_slower_than; /* microseconds; < 0 disables */
    long long slowlog_max_len;
    long long busy_reply_threshold;          /* ms a script runs before others get -BUSY (server/script.c) */
    long long latency_monitor_threshold;     /* ms; 0 = LATENCY records nothing */
    int latency_tracking;                    /* INFO latencystats histograms */
    char *latency_tracking_info_percentiles; /* "50 99 99.9" */
    const char *enable_debug_command;        /* no, yes, local */
    int maxmemory_samples;
    int lfu_log_factor;
    int lfu_decay_time; /* minutes */
    int io_uring;       /* replies of a loop turn go out in one io_uring_enter (server/net.c) */
    int syslog_enabled; /* log lines also go to syslog(3) */
    char *syslog_ident;
    char *syslog_facility;             /* "user", "local0".."local7" */
    long long stream_node_max_entries; /* copied to storage (stream.h) */
    long long stream_node_max_bytes;
    long long hll_sparse_max_bytes; /* copied to storage (hll.h) */
    long long hash_max_listpack_entries, hash_max_listpack_value, set_max_intset_entries;
    long long zset_max_listpack_entries, zset_max_listpack_value; /* copied to storage (t_zset.h) */
    int list_max_listpack_size; /* node size of lists (storage/t_list.h's list_fill) */
    int list_compress_depth;    /* accepted and shown; nodes are not compressed */
    /* The append-only file (server/aof.c). */
    int appendonly;
    char *appendfilename, *appenddirname;
    const char *appendfsync; /* "always", "everysec", "no" */
    int no_appendfsync_on_rewrite;
    int auto_aof_rewrite_percentage;
    long long auto_aof_rewrite_min_size;
    int aof_load_truncated, aof_use_rdb_preamble, aof_disable_auto_gc, aof_rewrite_incremental_fsync;
    int aof_timestamp_enabled;    /* #TS:<unix time> annotations in the AOF (server/aof.c) */
    long long rdb_key_save_delay; /* hidden: microseconds per key in a rewrite child */
    /* client-output-buffer-limit for normal, replica, pubsub clients (only normal
     * clients exist here; the others are kept for CONFIG GET). */
    struct obuf_limit {
        long long hard, soft;
        long long soft_seconds;
    } obuf_limits[3];
    long long tracking_table_max_keys; /* 0 = no limit */
} server_config;

typedef struct server_state {
    struct event_base *base;
    server_config cfg;
    db **dbs;
    int dbnum;
    client *clients; /* list head */
    int nclients;
    uint64_t next_client_id;
    long long start_ms;
    long long mstime_cached; /* refreshed by the timer and per event */
    int shutdown_asap;
    char *configfile;
    char *executable;
    int pid;
    uint8_t run_id[41];
    /* stats */
    long long stat_numcommands;
    long long stat_total_error_replies;
    long long stat_numconnections;
    long long stat_rejected_conn;
    long long stat_client_outbuf_limit_disconnections;
    long long stat_client_qbuf_limit_disconnections;
    long long stat_net_input_bytes;
    long long stat_net_output_bytes;
    long long stat_total_reads, stat_total_writes; /* read and write calls that moved bytes */
    long long stat_expired_keys_prev;
    long long ops_sample_time, ops_sample_count;
    long long instantaneous_ops;
    long long ops_sample_net_in, ops_sample_net_out;
    double instantaneous_input_kbps, instantaneous_output_kbps;
    /* MULTI bookkeeping: dbid -> watched keys (server/multi.c) */
    void *watch_index;
    int watching_clients;
    int active_expire_disabled; /* DEBUG SET-ACTIVE-EXPIRE 0 */
} server_state;

extern server_state server;

/* Logging (server/log.c). */
enum { LOG_DEBUG_LVL = 0, LOG_VERBOSE_LVL = 1, LOG_NOTICE_LVL = 2, LOG_WARNING_LVL = 3 };
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* openlog(3) with syslog-ident and syslog-facility when syslog-enabled is yes. */
void log_open_syslog(void);
#define log_debug(...)   log_msg(LOG_DEBUG_LVL, __VA_ARGS__)
#define log_verbose(...) log_msg(LOG_VERBOSE_LVL, __VA_ARGS__)
#define log_notice(...)  log_msg(LOG_NOTICE_LVL, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING_LVL, __VA_ARGS__)
/* A line a peer can make the server repeat (accept errors, refused connections, clients
 * dropped for their limits) goes out at most once per interval_ms from each call site;
 * the next one that passes is preceded by the count of those suppressed meanwhile. */
typedef struct log_limit {
    long long last_ms;
    long long suppressed;
} log_limit;
int log_ratelimit_pass(int level, log_limit *l, long long interval_ms);
#define log_ratelimited(level, interval_ms, ...)                                                                       \
    do {                                                                                                               \
        static log_limit log_limit_;                                                                                   \
        if (log_ratelimit_pass((level), &log_limit_, (interval_ms))) log_msg((level), __VA_ARGS__);                    \
    } while (0)

/* One CLIENT LIST line for c, without newline (snprintf's result) (server/cmd_conn.c). */
int client_info_line(client *c, char *buf, size_t size);

/* Execute argv on c, as the dispatcher does (also used by EXEC). */
void call_command(client *c, command *cmd);
/* Around each run of one client's commands (1 before, 0 after): inside it, a command's
 * start time is the previous command's end, which saves a clock read (server/dispatch.c). */
void call_clock_chain(int on);
/* Disconnect a client now (from outside its own event handling use CLIENT_CLOSE_ASAP). */
void client_free(client *c);
/* Select db index id for c; returns 0 if out of range. */
int client_select_db(client *c, int id);

/* The periodic work (server/cron.c): run hz times a second, after refreshing
 * server.mstime_cached and storage_now_ms. server_cron_init (0 on failure) lets active
 * expiry go on in slices between ticks while it has work left; server_cron_free undoes it. */
void server_cron(void);
int server_cron_init(void);
void server_cron_free(void);

/* maxmemory (server/cmd_server.c, eviction itself in storage/evict.c). */
/* Bytes as maxmemory counts them: the keyspace (exact, a counter), clients' buffers (as
 * each client last recounted them) and what the process held at start-up. */
size_t server_used_memory(void);
/* Take the start-up baseline (once, before clients) / recount every client (INFO). */
void server_memory_init(void);
void server_memory_refresh(void);
/* allocator_* of INFO memory and MEMORY STATS (Redis's fallbacks where the allocator
 * keeps no statistics), and the fragmentation figures derived from them and the RSS. */
typedef struct server_allocator_figures {
    size_t allocated, active, resident;
    double frag_ratio, rss_ratio, rss_overhead_ratio;
    long long frag_bytes, rss_bytes, rss_overhead_bytes;
} server_allocator_figures;
void server_allocator_get(server_allocator_figures *f);
/* The parts MEMORY STATS reports: start-up baseline, clients' buffers, the peak. */
void server_memory_parts(size_t *startup, size_t *clients, size_t *peak);
/* Recount c's buffers into the clients' total; gone: c is being freed, count it out. */
void server_client_memory(client *c, int gone);
/* With maxmemory set, before running or queueing cmd: evict as the policy says; returns
 * 1 if the command must be refused with OOM (as Redis's processCommand decides). */
int server_oom_refuses(client *c, const command *cmd);
/* Evict as the policy says; 1 if memory is still over maxmemory (Redis's
 * pre_command_oom_state: scripts refuse deny-oom commands then). */
int server_out_of_memory(void);
/* Evict in the background while over the limit (timer; Redis's evictionTimeProc). */
void server_evict_cron(void);

/* Error and latency statistics (server/stats.c). stats_init installs the error-reply
 * counter; dispatch calls stats_rejected when it refuses a command (cmd may be NULL),
 * stats_call_begin before a handler runs and stats_after_call after it ran for
 * duration_us. */
void stats_init(void);
void stats_rejected(command *cmd);
void stats_call_begin(void);
void stats_after_call(client *c, command *cmd, long long duration_us);
/* CONFIG RESETSTAT: error counts, per-command counters and histograms. */
void stats_reset(void);
/* Visit the error codes counted so far, in code order (INFO errorstats). */
void stats_foreach_error(void (*fn)(void *priv, const char *code, long long count), void *priv);

/* DEBUG refused by enable-debug-command for c (server/cmd_debug.c)? */
int debug_refused(const client *c, const command *cmd);

/* The latency monitor (server/latency.c): record a latency_ms sample of an event
 * ("command", "fast-command", ...) if it is at or over latency-monitor-threshold. */
void latency_add_sample_if_needed(const char *event, long long latency_ms);
void latency_free(void);

/* SLOWLOG (server/slowlog.c): record a command that took duration microseconds. */
void slowlog_push(client *c, int argc, const resp_slice *argv, long long duration);
/* A handler marks an argument that holds a secret (a password): the slow log shows it
 * as "(redacted)", as Redis's redactClientCommandArgument. Cleared before each command. */
void client_redact_arg(client *c, int i);
void slowlog_free(void);

/* MULTI/WATCH (server/multi.c); WATCH subscribes to keyspace events while anyone watches. */
void multi_init(void);
void multi_client_free(client *c); /* discard queued commands and unwatch */
/* Queue c's current command (inside MULTI). */
void multi_queue_command(client *c);
/* Is cmd one that runs at once inside MULTI (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET)? */
int multi_passthrough(const command *cmd);
int multi_is_exec(const command *cmd);
/* EXEC rejected before it ran: discard the transaction and reply EXECABORT with msg. */
void multi_exec_abort(client *c, const char *msg);

/* MONITOR (server/monitor.c): how many clients monitor; feed them a command that ran
 * (argv as called, c->redacted honoured); drop c from the monitors (RESET, disconnect). */
int monitor_count(void);
void monitor_feed(client *c, const command *cmd, int argc, const resp_slice *argv);
void monitor_feed_script_call(client *c, const command *cmd); /* before EVAL/FCALL & co run */
void monitor_client_free(client *c);

/* Blocking commands (server/blocking.c). */
/* Block c on keys (in c's db) until one of them changes or timeout_ms (absolute, 0 =
 * forever) passes. The current argv is copied; when a key changes, the command is run
 * again from the copy: if it replies, the client is unblocked; if it calls
 * block_for_keys again, it keeps waiting in its place. On timeout the client gets a
 * null array. Inside EXEC nothing blocks: the null array is sent at once.
 * pool_arg, if not 0, is the argv index of the name of the pool the client is served
 * from (XREADGROUP's group): when one client of a pool finds nothing on a changed key,
 * the others of that pool waiting on it are not re-run for that change. */
void block_for_keys(client *c, const resp_slice *keys, int nkeys, long long timeout_ms, int pool_arg);
/* Is c being re-run because a key it waits on changed? */
int blocking_is_retry(const client *c);
/* During a re-run: the key whose change it serves (its bytes, valid for the re-run),
 * else NULL. Commands that Redis 7.0 serves from the ready key itself (BLPOP & co,
 * BZPOPMIN & co) look at that key only. */
const char *blocking_ready_key(const client *c, size_t *len);
/* During a re-run that found nothing on the ready key and blocks again: the other
 * waiters on that key whose command is of the same group (COMMAND's group: "list",
 * "sorted-set") would find nothing either and are not re-run for this change. */
void blocking_drained(client *c);
/* Queue the clients waiting on (dbid, key) to be re-run (XGROUP DESTROY: no key event). */
void blocking_touch(int dbid, const char *key, size_t klen);
int blocking_active(void);
/* Serve the clients whose keys changed (after each command). */
void blocking_handle_ready(void);
void blocking_client_free(client *c);
int blocking_count(void);
/* CLIENT UNBLOCK: end the wait of c, blocked on keys, as its timeout would (error NULL)
 * or with that error reply. Returns 0 if c is not waiting on keys. */
int blocking_unblock(client *c, const char *error);

/* CLIENT REPLY modes around a command (server/dispatch.c): begin notes where c's output
 * stands (turning SKIP_NEXT into SKIP); end drops what the command replied while OFF or
 * SKIP and ends a SKIP. Called only while c->flags has a CLIENT_REPLY_ANY bit. */
void client_reply_begin(client *c);
void client_reply_end(client *c);
/* Around a push appended to c's output (Pub/Sub and tracking messages, (un)subscribe
 * confirmations): CLIENT REPLY does not drop those, as Redis 7.0's CLIENT_PUSHING. Only
 * needed while a command of c runs (net_running() == c). */
void client_push_begin(client *c);
void client_push_end(client *c);

/* CLIENT PAUSE (server/pause.c). pause_mode is PAUSE_OFF unless a pause is on: the
 * dispatcher tests it once per command. pause_holds says whether the command c is about
 * to run waits (ALL: every command; WRITE: writes and what may replicate: PUBLISH,
 * PFCOUNT, scripts not declared no-writes, EXEC of any of these); pause_hold keeps a
 * copy of it and holds c's input until the pause ends, when held clients continue in the
 * order they were held. */
enum { PAUSE_OFF, PAUSE_WRITE, PAUSE_ALL };
extern int pause_mode;
void pause_start(long long end_ms, int mode); /* extends: the later end, the stricter mode */
void pause_end(void);                         /* CLIENT UNPAUSE, the timer */
int pause_holds(const client *c, const command *cmd);
void pause_hold(client *c);
/* Run c's held command (from its input processing, once the pause is over). */
void pause_run_held(client *c);
void pause_client_free(client *c);

#endif
