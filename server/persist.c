/* persist.c: RDB snapshots for the server (server/persist.h), as Redis 7.0 takes them.
 * A save writes temp-<pid>.rdb in dir (the working directory: `dir` chdirs), fsyncs it,
 * renames it over dbfilename and fsyncs the directory, so dbfilename is always either
 * the previous file or the new one whole. BGSAVE runs the same in a forked child
 * (server/child.h) on the copy-on-write image while the loop keeps serving; the parent
 * learns the outcome when it reaps the child. A failed background save (a write error,
 * a full disk, a killed child) sets rdb_last_bgsave_status:err, and while that lasts,
 * with save points set and stop-writes-on-bgsave-error yes, write commands get MISCONF.
 *
 * "Changes since the last save" is storage_dirty minus its value at the last
 * successful save (for a BGSAVE, its value when the child forked). */
#include "server/persist.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "server/aof.h"
#include "server/child.h"
#include "server/net.h"
#include "server/notify.h"
#include "server/propagate.h"
#include "server/script.h"
#include "storage/evict.h"
#include "storage/rdb.h"

rdb_status rdb_stat = {.lastbgsave_ok = 1, .last_bgsave_time = -1};

/* The RDB format's access to function libraries (storage/rdb.h): set before main runs,
 * since every RDB writer and reader in this program (SAVE, BGSAVE, the AOF preamble,
 * loading) must carry them. A library in a file replaces one of the same name. */
static const char *load_function(const char *code, size_t len, char *err, size_t errsize) {
    return function_load_code(code, len, 1, err, errsize);
}

__attribute__((constructor)) static void persist_function_hooks(void) {
    rdb_functions_foreach = function_foreach_code;
    rdb_function_load = load_function;
}

#define BGSAVE_RETRY_DELAY 5 /* seconds before a save point retries after a failure */

/* The last successful save, or the start-up time before any (as Redis). */
static long long last_save_time(void) { return rdb_stat.lastsave ? rdb_stat.lastsave : server.start_ms / 1000; }

static const char *dbfilename(void) {
    return server.cfg.dbfilename && server.cfg.dbfilename[0] ? server.cfg.dbfilename : "dump.rdb";
}

void persist_save_opts(rdb_save_opts *o, int aof_base) {
    o->checksum = server.cfg.rdbchecksum;
    o->aof_base = aof_base;
    o->ctime = (long long)time(NULL);
    o->used_mem = (long long)server_used_memory();
    o->redis_ver = REDIS_COMPAT_VERSION;
}

/* Write the dataset to temp-<pid>.rdb and rename it over dbfilename. In a child, its
 * own pid names the temp file, as Redis. Returns 0 or -1 (logged). */
static int save_file(void) {
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "temp-%d.rdb", (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        char cwd[1024];
        log_warning("Failed opening the temp RDB file %s (in server root dir %s) for saving: %s", tmp,
                    getcwd(cwd, sizeof(cwd)) ? cwd : "unknown", strerror(errno));
        return -1;
    }
    rdb_save_opts o;
    persist_save_opts(&o, 0);
    if (rdb_save_fd(fd, server.dbs, server.dbnum, &o) < 0 || fsync(fd) < 0) {
        log_warning("Write error saving DB on disk: %s", strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (close(fd) < 0) {
        log_warning("Write error saving DB on disk: %s", strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, dbfilename()) < 0) {
        char cwd[1024];
        log_warning("Error moving temp DB file %s on the final destination %s (in server root dir %s): %s", tmp,
                    dbfilename(), getcwd(cwd, sizeof(cwd)) ? cwd : "unknown", strerror(errno));
        unlink(tmp);
        return -1;
    }
    int dfd = open(".", O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int persist_save(void) {
    if (child_active() == CHILD_RDB) {
        log_warning("Background save already in progress");
        return -1;
    }
    long long start = util_monotonic_us();
    rdb_stat.saves++;
    if (save_file() < 0) return -1;
    log_notice("DB saved on disk");
    (void)start;
    rdb_stat.dirty_base = storage_dirty;
    rdb_stat.lastsave = (long long)time(NULL);
    rdb_stat.lastbgsave_ok = 1;
    return 0;
}

static int bgsave_child(void *arg) {
    (void)arg;
    if (save_file() < 0) return 1;
    log_notice("DB saved on disk");
    return 0;
}

static void remove_temp_file(pid_t pid) {
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "temp-%d.rdb", (int)pid);
    unlink(tmp);
}

static void bgsave_done(const child_result *r, void *priv) {
    (void)priv;
    if (!r->bysignal && r->exitcode == 0) {
        log_notice("Background saving terminated with success");
        rdb_stat.dirty_base = rdb_stat.dirty_at_fork;
        rdb_stat.lastsave = (long long)time(NULL);
        rdb_stat.lastbgsave_ok = 1;
    } else if (!r->bysignal) {
        log_warning("Background saving error");
        rdb_stat.lastbgsave_ok = 0;
    } else {
        log_warning("Background saving terminated by signal %d", r->bysignal);
        remove_temp_file(r->pid);
        /* SIGUSR1 is ours (child_kill): not an error, as Redis */
        if (r->bysignal != SIGUSR1) rdb_stat.lastbgsave_ok = 0;
    }
    rdb_stat.last_bgsave_time = r->duration_ms / 1000;
}

int persist_bgsave(void) {
    if (child_active() != CHILD_NONE) {
        errno = EBUSY;
        return -1;
    }
    rdb_stat.dirty_at_fork = storage_dirty;
    rdb_stat.lastbgsave_try = (long long)time(NULL);
    pid_t pid = child_start(CHILD_RDB, bgsave_child, NULL, bgsave_done, NULL);
    if (pid < 0) {
        int e = errno;
        rdb_stat.lastbgsave_ok = 0;
        log_warning("Can't save in background: fork: %s", strerror(e));
        errno = e;
        return -1;
    }
    rdb_stat.saves++;
    rdb_stat.bgsave_scheduled = 0;
    log_notice("Background saving started by pid %d", (int)pid);
    return 0;
}

/* Is some save point reached: at least `changes` changes and more than `seconds`
 * seconds since the last save? */
static int save_point_reached(long long now) {
    const char *p = server.cfg.save;
    long long dirty = storage_dirty - rdb_stat.dirty_base;
    while (p && *p) {
        char *end;
        long long secs = strtoll(p, &end, 10);
        if (end == p) break;
        long long changes = strtoll(end, &end, 10);
        p = end;
        if (dirty >= changes && now - last_save_time() > secs &&
            (now - rdb_stat.lastbgsave_try > BGSAVE_RETRY_DELAY || rdb_stat.lastbgsave_ok)) {
            log_notice("%lld changes in %lld seconds. Saving...", changes, secs);
            return 1;
        }
    }
    return 0;
}

void persist_cron(void) {
    if (child_active() != CHILD_NONE) return;
    long long now = (long long)time(NULL);
    if (rdb_stat.bgsave_scheduled ||
        (server.cfg.save && server.cfg.save[0] && storage_dirty != rdb_stat.dirty_base && save_point_reached(now))) {
        if (rdb_stat.bgsave_scheduled && now - rdb_stat.lastbgsave_try <= BGSAVE_RETRY_DELAY && !rdb_stat.lastbgsave_ok)
            return;
        persist_bgsave();
    }
}

static void kill_rdb_child(void) {
    if (child_active() != CHILD_RDB) return;
    pid_t pid = child_pid();
    log_warning("There is a child saving an .rdb. Killing it!");
    child_kill();
    remove_temp_file(pid);
}

int persist_prepare_shutdown(int save, int nosave, int force) {
    kill_rdb_child();
    if (aof_prepare_shutdown(force) < 0) goto error;
    int points = server.cfg.save && server.cfg.save[0];
    if ((points && !nosave) || save) {
        log_notice("Saving the final RDB snapshot before exiting.");
        if (persist_save() < 0) {
            if (force) {
                log_warning("Error trying to save the DB. Exit anyway.");
                return 0;
            }
            log_warning("Error trying to save the DB, can't exit.");
            goto error;
        }
    }
    return 0;
error:
    log_warning("Errors trying to shut down the server. Check the logs for more information.");
    return -1;
}

void persist_after_flushall(void) {
    kill_rdb_child();
    if (server.cfg.save && server.cfg.save[0]) {
        persist_save();
        storage_dirty++; /* as Redis: the FLUSHALL itself counts as a change after the save */
    }
}

int persist_refuses_write(const struct command *cmd) {
    if (rdb_stat.lastbgsave_ok || !server.cfg.stop_writes_on_bgsave_error || !server.cfg.save || !server.cfg.save[0])
        return 0;
    return (cmd->flags & CMD_WRITE) || !strcmp(cmd->fullname, "ping");
}

int persist_loading_serves;
volatile sig_atomic_t persist_loading_signal;
int persist_loading_shutdown;
static client *loading_caller; /* DEBUG RELOAD's client, not served during its load */

void persist_loading_begin(long long total_bytes) {
    rdb_stat.loading = 1;
    rdb_stat.loading_start_time = (long long)time(NULL);
    rdb_stat.loading_total_bytes = total_bytes;
    rdb_stat.loading_loaded_bytes = rdb_stat.loading_rdb_used_mem = 0;
    rdb_stat.last_load_keys_loaded = rdb_stat.last_load_keys_expired = 0;
}

void persist_loading_end(void) { rdb_stat.loading = 0; }

int persist_loading_serve(void) {
    if (!persist_loading_serves) return 0;
    if (persist_loading_shutdown) return 1;
    server.mstime_cached = storage_now_ms = util_mstime();
    net_serve_while_busy(loading_caller);
    if (persist_loading_signal && !server.shutdown_asap) {
        /* As Redis 7.0: the dataset is half read, so never saved. */
        log_warning("Received shutdown signal during loading, scheduling shutdown.");
        log_warning("User requested shutdown...");
        if (persist_prepare_shutdown(0, 1, 0) == 0) server.shutdown_asap = 1;
        persist_loading_signal = 0;
    }
    if (server.shutdown_asap) persist_loading_shutdown = 1;
    return persist_loading_shutdown;
}

int persist_loading_progress(rdb_load_info *info, long long read_bytes) {
    long long before = info->progress_arg ? *(long long *)info->progress_arg : 0;
    rdb_stat.loading_loaded_bytes = before + read_bytes;
    if (info->used_mem) rdb_stat.loading_rdb_used_mem = info->used_mem;
    /* as Redis, INFO's last-load key counts follow the load */
    rdb_stat.last_load_keys_loaded = info->keys_loaded;
    rdb_stat.last_load_keys_expired = info->keys_expired;
    return persist_loading_serve();
}

int persist_info_loading(char *buf, size_t size) {
    buf[0] = '\0';
    if (!rdb_stat.loading) return 0;
    /* Redis's figures: a fake 1 s ETA in the first second */
    long long loaded = rdb_stat.loading_loaded_bytes, total = rdb_stat.loading_total_bytes;
    double perc = total ? (double)loaded / (double)total * 100 : 0;
    long long remaining = total - loaded;
    long long elapsed = (long long)time(NULL) - rdb_stat.loading_start_time;
    long long eta = elapsed == 0 ? 1 : elapsed * remaining / (loaded + 1);
    return snprintf(buf, size,
                    "loading_start_time:%lld\r\nloading_total_bytes:%lld\r\nloading_rdb_used_mem:%lld\r\n"
                    "loading_loaded_bytes:%lld\r\nloading_loaded_perc:%.2f\r\nloading_eta_seconds:%lld\r\n",
                    rdb_stat.loading_start_time, total, rdb_stat.loading_rdb_used_mem, loaded, perc, eta);
}

static int load_file(int must_exist) {
    const char *name = dbfilename();
    int fd = open(name, O_RDONLY);
    if (fd < 0) {
        if (errno == ENOENT && !must_exist) return 0;
        log_warning("Fatal error loading the DB: %s. Exiting.", strerror(errno));
        return -1;
    }
    rdb_load_info info;
    memset(&info, 0, sizeof(info));
    info.now_ms = util_mstime();
    info.verify_checksum = server.cfg.rdbchecksum;
    long long start = util_monotonic_us();
    long long dirty = storage_dirty;
    struct stat st;
    persist_loading_begin(fstat(fd, &st) == 0 ? (long long)st.st_size : 0);
    info.progress = persist_loading_progress;
    info.progress_bytes = LOADING_SERVE_BYTES;
    int rc = rdb_load_fd(fd, server.dbs, server.dbnum, &info);
    persist_loading_end();
    close(fd);
    storage_dirty = dirty;
    if (info.aborted) return -1;
    if (rc < 0) {
        log_warning("Fatal error loading the RDB file %s: %s", name, info.err);
        return -1;
    }
    if (info.functions_skipped)
        log_warning("The RDB file holds %d function libraries: respite has no FUNCTION support, they were skipped",
                    info.functions_skipped);
    rdb_stat.last_load_keys_loaded = info.keys_loaded;
    rdb_stat.last_load_keys_expired = info.keys_expired;
    log_notice("Done loading RDB, keys loaded: %lld, keys expired: %lld.", info.keys_loaded, info.keys_expired);
    log_notice("DB loaded from disk: %.3f seconds", (double)(util_monotonic_us() - start) / 1e6);
    return 0;
}

int persist_load_at_startup(void) {
    rdb_stat.lastsave = (long long)time(NULL);
    rdb_stat.dirty_base = storage_dirty;
    return load_file(0);
}

int persist_debug_reload(client *c, int save, int flush) {
    if (save && persist_save() < 0) return -1;
    if (flush)
        for (int i = 0; i < server.dbnum; i++) db_flush(server.dbs[i]);
    /* As Redis, the others are served (-LOADING) meanwhile, c excepted. */
    loading_caller = c;
    persist_loading_serves = 1;
    int rc = load_file(1);
    persist_loading_serves = 0;
    loading_caller = NULL;
    if (rc < 0) return -1;
    rdb_stat.dirty_base = storage_dirty;
    return 0;
}

int persist_info_rdb(char *buf, size_t size) {
    int bg = child_active() == CHILD_RDB;
    long long cur = bg ? (util_monotonic_us() / 1000 - child_start_ms()) / 1000 : -1;
    return snprintf(buf, size,
                    "loading:%d\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\n"
                    "current_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\n"
                    "current_save_keys_total:0\r\nrdb_changes_since_last_save:%lld\r\nrdb_bgsave_in_progress:%d\r\n"
                    "rdb_last_save_time:%lld\r\nrdb_last_bgsave_status:%s\r\nrdb_last_bgsave_time_sec:%lld\r\n"
                    "rdb_current_bgsave_time_sec:%lld\r\nrdb_saves:%lld\r\nrdb_last_cow_size:0\r\n"
                    "rdb_last_load_keys_expired:%lld\r\nrdb_last_load_keys_loaded:%lld\r\n",
                    rdb_stat.loading, storage_dirty - rdb_stat.dirty_base, bg, last_save_time(),
                    rdb_stat.lastbgsave_ok ? "ok" : "err", rdb_stat.last_bgsave_time, cur, rdb_stat.saves,
                    rdb_stat.last_load_keys_expired, rdb_stat.last_load_keys_loaded);
}

/* ---- commands ---- */

static void cmd_save(client *c) {
    if (child_active() == CHILD_RDB) {
        reply_error(&c->out, "Background save already in progress");
        return;
    }
    if (persist_save() == 0) reply_ok(&c->out);
    else reply_error(&c->out, "-ERR");
}

static void cmd_bgsave(client *c) {
    int schedule = 0;
    if (c->argc > 1) {
        if (c->argc == 2 && arg_is(c, 1, "schedule")) schedule = 1;
        else {
            reply_syntax_error(c);
            return;
        }
    }
    if (child_active() == CHILD_RDB) {
        reply_error(&c->out, "Background save already in progress");
    } else if (child_active() != CHILD_NONE) {
        if (schedule) {
            rdb_stat.bgsave_scheduled = 1;
            reply_simple(&c->out, "Background saving scheduled");
        } else {
            reply_error(&c->out, "Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE "
                                 "in order to schedule a BGSAVE whenever possible.");
        }
    } else if (persist_bgsave() == 0) {
        reply_simple(&c->out, "Background saving started");
    } else {
        reply_error(&c->out, "-ERR");
    }
}

static void cmd_lastsave(client *c) { reply_int(&c->out, last_save_time()); }

/* DUMP key: Redis's payload (the value's RDB encoding, RDB version 10, CRC-64), or nil. */
static void cmd_dump(client *c) {
    rkey *k = db_lookup_read(c->db, c->argv[1].ptr, c->argv[1].len);
    if (!k) {
        reply_null(&c->out);
        return;
    }
    size_t len;
    char *p = rdb_dump_payload(k, &len);
    if (!p) {
        reply_error(&c->out, "-ERR");
        return;
    }
    reply_bulk(&c->out, p, len);
    free(p);
}

/* RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f], checks in Redis's
 * order and with its texts. */
static void cmd_restore(client *c) {
    int replace = 0, absttl = 0;
    long long idle = -1, freq = -1, ttl;
    for (int j = 4; j < c->argc; j++) {
        int more = c->argc - j - 1;
        if (arg_is(c, j, "replace")) replace = 1;
        else if (arg_is(c, j, "absttl")) absttl = 1;
        else if (arg_is(c, j, "idletime") && more >= 1 && freq == -1) {
            if (!arg_ll_or_reply(c, j + 1, &idle)) return;
            if (idle < 0) {
                reply_error(&c->out, "Invalid IDLETIME value, must be >= 0");
                return;
            }
            j++;
        } else if (arg_is(c, j, "freq") && more >= 1 && idle == -1) {
            if (!arg_ll_or_reply(c, j + 1, &freq)) return;
            if (freq < 0 || freq > 255) {
                reply_error(&c->out, "Invalid FREQ value, must be >= 0 and <= 255");
                return;
            }
            j++;
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    const char *key = c->argv[1].ptr;
    size_t klen = c->argv[1].len;
    if (!replace && db_lookup_write(c->db, key, klen)) {
        reply_error(&c->out, "-BUSYKEY Target key name already exists.");
        return;
    }
    if (!arg_ll_or_reply(c, 2, &ttl)) return;
    if (ttl < 0) {
        reply_error(&c->out, "Invalid TTL value, must be >= 0");
        return;
    }
    const char *p = c->argv[3].ptr;
    size_t len = c->argv[3].len;
    if (!rdb_payload_verify(p, len)) {
        reply_error(&c->out, "DUMP payload version or checksum are wrong");
        return;
    }
    /* load into a scratch db first: a malformed payload must leave the key alone */
    static db *scratch;
    if (!scratch) scratch = db_create(-1);
    rkey *k = rdb_restore_payload(scratch, key, klen, p, len);
    if (!k) {
        db_flush(scratch);
        reply_error(&c->out, "Bad data format");
        return;
    }
    int deleted = replace ? db_delete(c->db, key, klen) : 0;
    if (ttl && !absttl) ttl += storage_now_ms;
    if (ttl && ttl <= storage_now_ms) {
        db_flush(scratch);
        if (deleted && propagate_wanted()) {
            resp_slice del[2] = {{(char *)"DEL", 3}, c->argv[1]};
            propagate_replace(c, 2, del);
        }
        if (deleted) notify_keyspace_event(NOTIFY_GENERIC, "del", key, klen, db_id(c->db));
        reply_ok(&c->out);
        return;
    }
    rkey *nk = db_copy(c->db, k, key, klen);
    db_flush(scratch);
    if (!nk) {
        reply_error(&c->out, "Bad data format");
        return;
    }
    if (ttl) nk = db_set_expire(c->db, nk, ttl);
    if (ttl && !absttl && propagate_wanted()) {
        /* replayed later, a relative TTL would land elsewhere: absolute, as expiry is */
        char buf[UTIL_LLSTR_SIZE];
        int n = util_ll2str(buf, ttl);
        resp_slice *av = xmalloc(sizeof(*av) * (size_t)(c->argc + 1));
        memcpy(av, c->argv, sizeof(*av) * (size_t)c->argc);
        av[2] = (resp_slice){buf, (size_t)n};
        av[c->argc] = PROP_STR("ABSTTL");
        propagate_replace(c, c->argc + 1, av);
        free(av);
    }
    if (freq >= 0 && evict_lfu_mode()) rdb_set_access(nk, -1, freq);
    else if (idle >= 0 && !evict_lfu_mode()) {
        long long ticks = idle * 1000 / EVICT_LRU_RES_MS;
        rkey_set_access(nk, (uint32_t)(((long long)evict_lru_clock() - ticks) & EVICT_LRU_MAX));
    }
    notify_keyspace_event(NOTIFY_GENERIC, "restore", key, klen, db_id(c->db));
    reply_ok(&c->out);
}

const command_binding persist_commands[] = {
    CMD("save", cmd_save), CMD("bgsave", cmd_bgsave),   CMD("lastsave", cmd_lastsave),
    CMD("dump", cmd_dump), CMD("restore", cmd_restore), {0},
};
