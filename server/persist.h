/* persist.h: RDB snapshots for the server (the file format is storage/rdb.h): SAVE,
 * BGSAVE [SCHEDULE] in a forked child (server/child.h), the save points, loading at
 * start-up, LASTSAVE, saving at SHUTDOWN/SIGTERM and after FLUSHALL as Redis 7.0 does,
 * DEBUG RELOAD, the MISCONF refusal after a failed background save, and the figures
 * INFO persistence shows. */
#ifndef RESPITE_PERSIST_H
#define RESPITE_PERSIST_H

#include <signal.h>

#include "server/server.h"

struct rdb_load_info;

/* What INFO persistence reports about RDB. */
typedef struct rdb_status {
    long long dirty_base;       /* storage_dirty at the last successful save */
    long long dirty_at_fork;    /* storage_dirty when the running BGSAVE forked */
    long long lastsave;         /* Unix seconds of the last successful save */
    long long lastbgsave_try;   /* Unix seconds of the last BGSAVE attempt */
    int lastbgsave_ok;          /* rdb_last_bgsave_status */
    long long last_bgsave_time; /* seconds the last BGSAVE took, -1 if none */
    long long saves;            /* rdb_saves */
    int bgsave_scheduled;       /* BGSAVE SCHEDULE waiting for the other child */
    int loading;
    long long last_load_keys_loaded, last_load_keys_expired;
    /* INFO's loading_* fields while loading */
    long long loading_start_time, loading_total_bytes, loading_loaded_bytes, loading_rdb_used_mem;
} rdb_status;
extern rdb_status rdb_stat;

/* Loading at start-up (RDB or AOF) serves the other clients as Redis 7.0 does: every
 * LOADING_SERVE_BYTES read (or LOADING_SERVE_COMMANDS AOF commands) the loader calls
 * persist_loading_serve, a net_serve_while_busy pass in which dispatch answers -LOADING
 * to commands not flagged `loading`. A shutdown asked for meanwhile (SHUTDOWN, SIGTERM)
 * makes it return 1: the loader stops, and start-up ends with persist_loading_shutdown
 * set. DEBUG RELOAD serves the others the same way during its load. */
#define LOADING_SERVE_BYTES    (2 * 1024 * 1024)
#define LOADING_SERVE_COMMANDS 1024
#define LOADING_ERR            "-LOADING Redis is loading the dataset in memory"
void persist_loading_begin(long long total_bytes);
void persist_loading_end(void);
int persist_loading_serve(void);
/* The rdb_load_info progress callback for start-up (progress_arg: bytes of earlier files). */
int persist_loading_progress(struct rdb_load_info *info, long long read_bytes);
/* Set by main while start-up loading may serve clients. */
extern int persist_loading_serves;
/* A SIGTERM/SIGINT caught while loading (main's handler sets it). */
extern volatile sig_atomic_t persist_loading_signal;
/* Start-up loading stopped for a shutdown: exit cleanly. */
extern int persist_loading_shutdown;
/* The loading_* lines of INFO persistence while loading, else "". */
int persist_info_loading(char *buf, size_t size);

/* The RDB lines of INFO persistence (loading .. rdb_last_load_keys_loaded), appended
 * to buf; returns the length written (snprintf's rules). */
int persist_info_rdb(char *buf, size_t size);

/* Load dbfilename from dir at start-up if it exists. Returns 0, or -1 after logging why
 * (the server must not start on a file it could not read). */
int persist_load_at_startup(void);

/* Save now, in the foreground (SAVE, SHUTDOWN, FLUSHALL). Returns 0 or -1 (logged). */
int persist_save(void);
/* Start a BGSAVE; returns 0, or -1 with errno (EBUSY: a child is active). */
int persist_bgsave(void);

/* Save points and scheduled BGSAVEs, from server_cron. */
void persist_cron(void);

/* Before exiting (SHUTDOWN [SAVE|NOSAVE], SIGTERM/SIGINT): kill a BGSAVE child and
 * remove its temp file, then save if asked (save > 0) or if save points are set and
 * not nosave. Returns 0, or -1 if the save failed (the server keeps running unless
 * force). */
int persist_prepare_shutdown(int save, int nosave, int force);

/* FLUSHALL's part: kill a BGSAVE child and, with save points set, save the emptied
 * dataset (Redis 7.0's flushAllDataAndResetRDB). */
void persist_after_flushall(void);

/* The MISCONF refusal: 1 if writes must be refused now for cmd (a write command, or
 * PING, as Redis) because the last background save failed and
 * stop-writes-on-bgsave-error is yes with save points set. */
int persist_refuses_write(const struct command *cmd);
#define PERSIST_MISCONF_ERR                                                                                            \
    "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands "      \
    "that may modify the data set are disabled, because this instance is configured to report errors during writes "   \
    "if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about "   \
    "the RDB error."

/* DEBUG RELOAD: save, empty every db, load the file again. Returns 0 or -1. */
int persist_debug_reload(client *c, int save, int flush);

/* The options the RDB writer gets from the settings (for an AOF's RDB preamble too). */
struct rdb_save_opts;
void persist_save_opts(struct rdb_save_opts *o, int aof_base);

#endif
