/* aof.c: the append-only file (server/aof.h), as Redis 7.0 keeps it.
 *
 * Files. Everything lives in the appenddirname directory under dir: the manifest lists
 * one base file (type b), the incr files in order (type i) and history files waiting to
 * be deleted (type h), one "file <name> seq <n> type <t>" line each, base first. The
 * manifest is replaced atomically (written to a temp file, fsync'd, renamed, directory
 * fsync'd), so at any instant the files it names load to a consistent dataset.
 *
 * Appending. A propagation subscriber turns each propagated command into RESP (with
 * SELECT when the db changes) in aof_buf. The buffer is written to the last incr file
 * before any reply is sent (net.c), once per event-loop batch; a failed or short write is
 * cut back off the file (ftruncate to the last good size) and retried from the timer,
 * while write commands get -MISCONF; under appendfsync always a failed write or fsync
 * ends the process, as in Redis. Fsyncs under everysec, and closing replaced files, run
 * on one background thread.
 *
 * Rewriting. rewrite_start writes out the buffer, opens a new incr file and persists a
 * manifest naming it (so a crash from here on still loads: old base, old incrs, new
 * incr), then forks a child that writes the whole keyspace to temp-rewriteaof-bg-<pid>.aof
 * (an RDB preamble or commands). When the child succeeds, the temp file becomes the next
 * base, every incr file but the new one becomes history, the manifest is persisted, and
 * the history files are deleted. A failed or killed child leaves the manifest as it was.
 *
 * Turning the AOF on at run time (CONFIG SET appendonly yes) goes through a rewrite:
 * until the child finishes, commands go to a temporary incr file that becomes the first
 * incr file of the new manifest (AOF_WAIT_REWRITE). */
#include "server/aof.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "server/child.h"
#include "server/persist.h"
#include "server/propagate.h"
#include "server/server.h"
#include "storage/aof_rewrite.h"
#include "storage/rdb.h"

enum { AOF_OFF = 0, AOF_ON = 1, AOF_WAIT_REWRITE = 2 };

/* One file of the manifest. */
typedef struct aof_file {
    char *name;
    long long seq;
    char type; /* 'b', 'h', 'i' */
} aof_file;

typedef struct manifest {
    aof_file *base; /* NULL if none */
    aof_file *incr;
    int nincr;
    aof_file *hist;
    int nhist;
    long long base_seq, incr_seq; /* the highest used */
} manifest;

static size_t aof_buf_len;
size_t aof_unflushed;

static struct {
    int state;
    int fd; /* the incr file appended to, or -1 */
    char *buf;
    size_t cap;
    int sel_db;                /* db the incr file's reader has selected (-1: none yet) */
    long long current_size;    /* base + incr files (INFO aof_current_size) */
    long long rewrite_base;    /* current_size after the last rewrite or load (aof_base_size) */
    long long last_incr_size;  /* bytes written to the current incr file */
    long long last_fsync_ms;   /* when everysec last asked for an fsync */
    long long fsynced_size;    /* last_incr_size covered by the last fsync asked for */
    int write_ok, write_errno; /* aof_last_write_status */
    manifest am;
    int sub;                         /* propagation subscription, or -1 */
    long long cur_ts_sec;            /* the time of the last #TS: annotation written */
    long long flush_postponed_start; /* unix time the first postponed write waited from, or 0 */
    long long delayed_fsync;         /* INFO aof_delayed_fsync */
    int started;
    /* rewrites */
    int rewrite_scheduled;
    int child_rdb; /* the running rewrite child writes an RDB base */
    long long rewrite_start_ms;
    long long last_rewrite_sec; /* aof_last_rewrite_time_sec */
    int last_bgrewrite_ok;
    long long rewrites, consecutive_failures;
    long long last_failure_ms;
} aof = {.fd = -1, .sel_db = -1, .write_ok = 1, .sub = -1, .last_rewrite_sec = -1, .last_bgrewrite_ok = 1};

/* ------------------------------------------------------------------ fsync thread */

/* Jobs: fsync fd, or fsync and close it (a replaced incr file). Under everysec at most one
 * fsync is queued at a time; closes queue behind it so an fd is never closed while the
 * thread may still use it. */
typedef struct fs_job {
    int fd, close_after;
} fs_job;

#define FS_QUEUE 64
static struct {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fs_job q[FS_QUEUE];
    int head, n;
    int busy; /* a job is running */
    int quit, running;
    int err, err_no; /* the last fsync failed (aof_bio_fsync_status); err read without the lock */
    int inflight;    /* jobs queued or running, read without the lock */
    int fsyncs;      /* of them, fsyncs of the open incr file (not closes), read without the lock */
} fs = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void *fs_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&fs.mu);
    for (;;) {
        while (!fs.n && !fs.quit) pthread_cond_wait(&fs.cv, &fs.mu);
        if (!fs.n) break;
        fs_job j = fs.q[fs.head];
        fs.head = (fs.head + 1) % FS_QUEUE;
        fs.n--;
        fs.busy = 1;
        pthread_mutex_unlock(&fs.mu);
        int r = fdatasync(j.fd);
        int en = errno;
        if (j.close_after) close(j.fd);
        pthread_mutex_lock(&fs.mu);
        fs.busy = 0;
        __atomic_sub_fetch(&fs.inflight, 1, __ATOMIC_RELEASE);
        if (!j.close_after) __atomic_sub_fetch(&fs.fsyncs, 1, __ATOMIC_RELEASE);
        if (r < 0 && en != EBADF && en != EINVAL) {
            fs.err_no = en;
            __atomic_store_n(&fs.err, 1, __ATOMIC_RELEASE);
        } else if (r == 0) {
            __atomic_store_n(&fs.err, 0, __ATOMIC_RELEASE);
        }
        pthread_cond_broadcast(&fs.cv);
    }
    pthread_mutex_unlock(&fs.mu);
    return NULL;
}

static int fs_start(void) {
    if (fs.running) return 1;
    fs.quit = 0;
    if (pthread_create(&fs.th, NULL, fs_main, NULL) != 0) return 0;
    fs.running = 1;
    return 1;
}

static void fs_submit(int fd, int close_after) {
    if (!fs.running) {
        fdatasync(fd);
        if (close_after) close(fd);
        return;
    }
    pthread_mutex_lock(&fs.mu);
    while (fs.n == FS_QUEUE) pthread_cond_wait(&fs.cv, &fs.mu);
    fs.q[(fs.head + fs.n) % FS_QUEUE] = (fs_job){fd, close_after};
    fs.n++;
    __atomic_add_fetch(&fs.inflight, 1, __ATOMIC_RELEASE);
    if (!close_after) __atomic_add_fetch(&fs.fsyncs, 1, __ATOMIC_RELEASE);
    pthread_cond_signal(&fs.cv);
    pthread_mutex_unlock(&fs.mu);
}

/* Jobs queued or running (INFO aof_pending_bio_fsync). */
static int fs_pending(void) {
    pthread_mutex_lock(&fs.mu);
    int n = fs.n + fs.busy;
    pthread_mutex_unlock(&fs.mu);
    return n;
}

static void fs_drain(void) {
    pthread_mutex_lock(&fs.mu);
    while (fs.n || fs.busy) pthread_cond_wait(&fs.cv, &fs.mu);
    pthread_mutex_unlock(&fs.mu);
}

static void fs_stop(void) {
    if (!fs.running) return;
    pthread_mutex_lock(&fs.mu);
    fs.quit = 1;
    pthread_cond_signal(&fs.cv);
    pthread_mutex_unlock(&fs.mu);
    pthread_join(fs.th, NULL);
    fs.running = 0;
}

/* ------------------------------------------------------------------ paths and files */

static const char *fsync_mode(void) { return server.cfg.appendfsync ? server.cfg.appendfsync : "everysec"; }
static int fsync_always(void) { return fsync_mode()[0] == 'a'; }
static int fsync_everysec(void) { return fsync_mode()[0] == 'e'; }

static char *dir_path(const char *name) {
    size_t n = strlen(server.cfg.appenddirname) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", server.cfg.appenddirname, name);
    return p;
}

static char *file_name(long long seq, const char *kind) {
    size_t n = strlen(server.cfg.appendfilename) + 64;
    char *p = xmalloc(n);
    snprintf(p, n, "%s.%lld.%s", server.cfg.appendfilename, seq, kind);
    return p;
}

static char *temp_incr_name(void) {
    size_t n = strlen(server.cfg.appendfilename) + 16;
    char *p = xmalloc(n);
    snprintf(p, n, "temp-%s.incr", server.cfg.appendfilename);
    return p;
}

static long long file_size(const char *name) {
    char *p = dir_path(name);
    struct stat st;
    long long sz = stat(p, &st) == 0 ? (long long)st.st_size : 0;
    free(p);
    return sz;
}

static int dir_create_if_missing(void) {
    if (mkdir(server.cfg.appenddirname, 0755) == 0 || errno == EEXIST) return 0;
    return -1;
}

static void fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
}

static int write_all(int fd, const char *p, size_t len, size_t *done) {
    *done = 0;
    while (*done < len) {
        ssize_t n = write(fd, p + *done, len - *done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) {
            errno = ENOSPC;
            return -1;
        }
        *done += (size_t)n;
    }
    return 0;
}

/* ------------------------------------------------------------------ the manifest */

static void file_free(aof_file *f) { free(f->name); }

static void manifest_free(manifest *m) {
    if (m->base) {
        file_free(m->base);
        free(m->base);
    }
    for (int i = 0; i < m->nincr; i++) file_free(&m->incr[i]);
    for (int i = 0; i < m->nhist; i++) file_free(&m->hist[i]);
    free(m->incr);
    free(m->hist);
    memset(m, 0, sizeof(*m));
}

static void manifest_dup(manifest *dst, const manifest *src) {
    memset(dst, 0, sizeof(*dst));
    if (src->base) {
        dst->base = xmalloc(sizeof(aof_file));
        *dst->base = (aof_file){xstrdup(src->base->name), src->base->seq, 'b'};
    }
    dst->incr = xmalloc(sizeof(aof_file) * (size_t)(src->nincr + 1));
    for (int i = 0; i < src->nincr; i++) dst->incr[i] = (aof_file){xstrdup(src->incr[i].name), src->incr[i].seq, 'i'};
    dst->nincr = src->nincr;
    dst->hist = xmalloc(sizeof(aof_file) * (size_t)(src->nhist + 1));
    for (int i = 0; i < src->nhist; i++) dst->hist[i] = (aof_file){xstrdup(src->hist[i].name), src->hist[i].seq, 'h'};
    dst->nhist = src->nhist;
    dst->base_seq = src->base_seq;
    dst->incr_seq = src->incr_seq;
}

static void add_incr(manifest *m, char *name, long long seq) {
    m->incr = xrealloc(m->incr, sizeof(aof_file) * (size_t)(m->nincr + 1));
    m->incr[m->nincr++] = (aof_file){name, seq, 'i'};
}

static void add_hist(manifest *m, char *name, long long seq) {
    m->hist = xrealloc(m->hist, sizeof(aof_file) * (size_t)(m->nhist + 1));
    m->hist[m->nhist++] = (aof_file){name, seq, 'h'};
}

/* A new base name in m (the old base becomes history); returns the name (m's). */
static const char *new_base(manifest *m, int rdb) {
    if (m->base) {
        add_hist(m, m->base->name, m->base->seq);
        free(m->base);
    }
    m->base = xmalloc(sizeof(aof_file));
    m->base_seq++;
    *m->base = (aof_file){file_name(m->base_seq, rdb ? "base.rdb" : "base.aof"), m->base_seq, 'b'};
    return m->base->name;
}

static const char *new_incr(manifest *m) {
    m->incr_seq++;
    add_incr(m, file_name(m->incr_seq, "incr.aof"), m->incr_seq);
    return m->incr[m->nincr - 1].name;
}

/* After a rewrite the incr files it covers become history: all of them but the one
 * being appended to (every one when the AOF is off). */
static void incr_to_history(manifest *m, int keep_last) {
    int keep = keep_last && m->nincr ? 1 : 0;
    for (int i = 0; i < m->nincr - keep; i++) add_hist(m, m->incr[i].name, m->incr[i].seq);
    if (keep) m->incr[0] = m->incr[m->nincr - 1];
    m->nincr = keep;
}

static char *manifest_text(const manifest *m, size_t *len) {
    size_t cap = 256, o = 0;
    char *t = xmalloc(cap);
    const aof_file *lists[3] = {m->base, m->hist, m->incr};
    int counts[3] = {m->base ? 1 : 0, m->nhist, m->nincr};
    for (int l = 0; l < 3; l++) {
        for (int i = 0; i < counts[l]; i++) {
            const aof_file *f = &lists[l][i];
            size_t need = strlen(f->name) + 64;
            if (o + need > cap) t = xrealloc(t, cap = (o + need) * 2);
            o += (size_t)snprintf(t + o, cap - o, "file %s seq %lld type %c\n", f->name, f->seq, f->type);
        }
    }
    *len = o;
    return t;
}

/* Write m as the manifest: a temp file, fsync, rename over, fsync the directory. */
static int manifest_persist(const manifest *m) {
    size_t n = strlen(server.cfg.appendfilename) + 32;
    char *name = xmalloc(n), *tmpname = xmalloc(n);
    snprintf(name, n, "%s.manifest", server.cfg.appendfilename);
    snprintf(tmpname, n, "temp-%s.manifest", server.cfg.appendfilename);
    char *path = dir_path(name), *tmp = dir_path(tmpname);
    size_t len, done;
    char *text = manifest_text(m, &len);
    int ok = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        log_warning("Can't open the AOF manifest file %s: %s", tmpname, strerror(errno));
    } else if (write_all(fd, text, len, &done) != 0) {
        log_warning("Error trying to write the temporary AOF manifest file %s: %s", tmpname, strerror(errno));
    } else if (fsync(fd) != 0) {
        log_warning("Fail to fsync the temp AOF file %s: %s.", tmpname, strerror(errno));
    } else if (rename(tmp, path) != 0) {
        log_warning("Error trying to rename the temporary AOF manifest file %s into %s: %s", tmpname, name,
                    strerror(errno));
    } else {
        fsync_dir(server.cfg.appenddirname);
        ok = 1;
    }
    if (fd >= 0) close(fd);
    if (!ok) unlink(tmp);
    free(text);
    free(name);
    free(tmpname);
    free(path);
    free(tmp);
    return ok;
}

/* Parse the manifest file. Returns 1 (m filled; empty if there is no manifest), or 0
 * after logging why it is unusable. */
static int manifest_load(manifest *m) {
    memset(m, 0, sizeof(*m));
    size_t n = strlen(server.cfg.appendfilename) + 32;
    char *name = xmalloc(n);
    snprintf(name, n, "%s.manifest", server.cfg.appendfilename);
    char *path = dir_path(name);
    FILE *fp = fopen(path, "r");
    free(path);
    if (!fp) {
        int en = errno;
        free(name);
        if (en == ENOENT) return 1;
        log_warning("Fatal error: can't open the AOF manifest %s for reading: %s", server.cfg.appendfilename,
                    strerror(en));
        return 0;
    }
    char line[1024 + 2];
    const char *err = NULL;
    int lines = 0;
    while (!err && fgets(line, sizeof(line), fp)) {
        size_t ll = strlen(line);
        if (ll == sizeof(line) - 1 && line[ll - 1] != '\n') {
            err = "The AOF manifest file contains too long line";
            break;
        }
        if (line[0] == '#') continue;
        while (ll && (line[ll - 1] == '\n' || line[ll - 1] == '\r')) line[--ll] = '\0';
        resp_slice args[16];
        int argc = resp_split_inline(line, ll, args, 16);
        if (argc == 0) continue;
        if (argc < 0 || argc > 16 || argc % 2) {
            err = "Invalid AOF manifest file format";
            break;
        }
        char *fname = NULL;
        long long seq = -1;
        char type = 0;
        for (int i = 0; i < argc; i += 2) {
            if (util_eqi(args[i].ptr, args[i].len, "file")) {
                free(fname);
                fname = xstrndup(args[i + 1].ptr, args[i + 1].len);
            } else if (util_eqi(args[i].ptr, args[i].len, "seq")) {
                if (!util_str2ll(args[i + 1].ptr, args[i + 1].len, &seq)) seq = -1;
            } else if (util_eqi(args[i].ptr, args[i].len, "type") && args[i + 1].len == 1) {
                type = args[i + 1].ptr[0];
            }
        }
        if (!fname || seq < 0 || (type != 'b' && type != 'h' && type != 'i') || strchr(fname, '/')) {
            free(fname);
            err = "Invalid AOF manifest file format";
            break;
        }
        lines++;
        if (type == 'b') {
            if (m->base) {
                free(fname);
                err = "Found duplicate base file information";
                break;
            }
            m->base = xmalloc(sizeof(aof_file));
            *m->base = (aof_file){fname, seq, 'b'};
            m->base_seq = seq;
        } else if (type == 'h') {
            add_hist(m, fname, seq);
        } else {
            if (seq <= m->incr_seq) {
                free(fname);
                err = "Found a non-monotonic sequence number";
                break;
            }
            add_incr(m, fname, seq);
            m->incr_seq = seq;
        }
    }
    fclose(fp);
    if (!err && !lines) err = "Found an empty AOF manifest";
    if (err) {
        log_warning("%s", err);
        manifest_free(m);
        free(name);
        return 0;
    }
    free(name);
    return 1;
}

/* Delete the history files (unless aof-disable-auto-gc) and persist the manifest. */
static void delete_history(void) {
    if (!aof.am.nhist || server.cfg.aof_disable_auto_gc) return;
    for (int i = 0; i < aof.am.nhist; i++) {
        char *p = dir_path(aof.am.hist[i].name);
        log_notice("Removing the history file %s in the background", aof.am.hist[i].name);
        unlink(p);
        free(p);
        file_free(&aof.am.hist[i]);
    }
    aof.am.nhist = 0;
    manifest_persist(&aof.am);
}

/* ------------------------------------------------------------------ appending */

static void buf_reserve(size_t more) {
    if (aof_buf_len + more <= aof.cap) return;
    size_t cap = aof.cap ? aof.cap * 2 : 16384;
    while (cap < aof_buf_len + more) cap *= 2;
    aof.buf = xrealloc(aof.buf, cap);
    aof.cap = cap;
}

static char *put_len(char *p, char prefix, size_t n) {
    *p++ = prefix;
    if (n < 10) {
        *p++ = (char)('0' + n);
    } else if (n < 100) {
        *p++ = (char)('0' + n / 10);
        *p++ = (char)('0' + n % 10);
    } else {
        char tmp[UTIL_LLSTR_SIZE];
        int l = util_ll2str(tmp, (long long)n);
        memcpy(p, tmp, (size_t)l);
        p += l;
    }
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

/* Each argument is checked for room as it goes: one pass over argv. */
static void append_command(int argc, const resp_slice *argv) {
    size_t start = aof_buf_len;
    if (aof.cap - aof_buf_len < 32) buf_reserve(32);
    char *p = put_len(aof.buf + aof_buf_len, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        size_t len = argv[i].len;
        if ((size_t)(aof.buf + aof.cap - p) < len + 32) {
            aof_buf_len = (size_t)(p - aof.buf);
            buf_reserve(len + 32);
            p = aof.buf + aof_buf_len;
        }
        p = put_len(p, '$', len);
        memcpy(p, argv[i].ptr, len);
        p += len;
        *p++ = '\r';
        *p++ = '\n';
    }
    aof_buf_len = (size_t)(p - aof.buf);
    aof_unflushed += aof_buf_len - start;
}

/* The propagation subscriber. While a runtime enable waits for its rewrite, commands
 * go to the temporary incr file only once the child has forked (before that, the
 * snapshot the child will take holds them). */
static void aof_feed(void *priv, int dbid, int argc, const resp_slice *argv) {
    (void)priv;
    if (aof.fd < 0) return;
    if (server.cfg.aof_timestamp_enabled) { /* Redis's genAofTimestampAnnotationIfNeeded */
        long long now = util_ustime() / 1000000;
        if (aof.cur_ts_sec < now) {
            aof.cur_ts_sec = now;
            buf_reserve(32);
            int n = snprintf(aof.buf + aof_buf_len, 32, "#TS:%lld\r\n", now);
            aof_buf_len += (size_t)n;
            aof_unflushed += (size_t)n;
        }
    }
    if (dbid >= 0 && dbid != aof.sel_db) {
        char num[UTIL_LLSTR_SIZE];
        int n = util_ll2str(num, dbid);
        resp_slice sel[2] = {PROP_STR("SELECT"), {num, (size_t)n}};
        append_command(2, sel);
        aof.sel_db = dbid;
    }
    append_command(argc, argv);
}

static void maybe_bg_fsync(void) {
    if (!fsync_everysec() || aof.fd < 0 || aof.fsynced_size == aof.last_incr_size) return;
    if (server.cfg.no_appendfsync_on_rewrite && child_active() != CHILD_NONE) return;
    long long now = server.mstime_cached;
    if (now - aof.last_fsync_ms < 1000) return;
    if (__atomic_load_n(&fs.inflight, __ATOMIC_ACQUIRE)) return; /* the last one is still running */
    fs_submit(aof.fd, 0);
    aof.fsynced_size = aof.last_incr_size;
    aof.last_fsync_ms = now;
}

/* Write the buffer to the incr file. A short write is cut off the file again so the file
 * never ends in half a command; the buffer is kept for the next try. */
static void aof_write(void) {
    aof_unflushed = 0;
    if (!aof_buf_len || aof.fd < 0) return;
    size_t done;
    int r = write_all(aof.fd, aof.buf, aof_buf_len, &done);
    aof.flush_postponed_start = 0; /* as Redis: any write attempt ends a postponement */
    if (r != 0) {
        int en = errno;
        if (done > 0) {
            if (ftruncate(aof.fd, (off_t)aof.last_incr_size) == -1) {
                log_warning("Could not remove short write from the append-only file.  Redis may refuse to load the "
                            "AOF the next time it starts.  ftruncate: %s",
                            strerror(errno));
                /* What reached the file stays there: drop it from the buffer. */
                memmove(aof.buf, aof.buf + done, aof_buf_len - done);
                aof_buf_len -= done;
                aof.last_incr_size += (long long)done;
                aof.current_size += (long long)done;
            } else {
                lseek(aof.fd, 0, SEEK_END);
            }
        }
        if (aof.write_ok) log_warning("Error writing to the AOF file: %s", strerror(en));
        aof.write_ok = 0;
        aof.write_errno = en;
        if (fsync_always()) {
            log_warning("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
            exit(1);
        }
        return;
    }
    if (!aof.write_ok) {
        log_warning("AOF write error looks solved, Redis can write again.");
        aof.write_ok = 1;
    }
    aof.last_incr_size += (long long)done;
    aof.current_size += (long long)done;
    aof_buf_len = 0;
    if (aof.cap > 4 * 1024 * 1024) {
        free(aof.buf);
        aof.buf = NULL;
        aof.cap = 0;
    }
    if (fsync_always()) {
        if (fdatasync(aof.fd) != 0) {
            log_warning("Can't persist AOF for fsync error when the AOF fsync policy is 'always': %s. Exiting...",
                        strerror(errno));
            exit(1);
        }
        aof.fsynced_size = aof.last_incr_size;
    } else {
        maybe_bg_fsync();
    }
}

/* Redis's flushAppendOnlyFile(0): under everysec, while a background fsync of the incr
 * file is still running (closing a replaced file does not count, as in Redis) the write
 * is postponed (the replies go out meanwhile), for up to 2 s, after
 * which it is written anyway and counted in aof_delayed_fsync. */
static void aof_flush(void) {
    if (fsync_everysec() && aof_buf_len && __atomic_load_n(&fs.fsyncs, __ATOMIC_ACQUIRE)) {
        long long now = util_ustime() / 1000000;
        if (!aof.flush_postponed_start || now - aof.flush_postponed_start < 2) {
            if (!aof.flush_postponed_start) aof.flush_postponed_start = now;
            aof_unflushed = 0;
            return;
        }
        aof.delayed_fsync++;
        log_notice("Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without "
                   "waiting for fsync to complete, this may slow down Redis.");
    }
    aof_write();
}

void aof_flush_for_replies(void) {
    if (aof.fd < 0) {
        aof_buf_len = aof_unflushed = 0;
        return;
    }
    aof_flush();
}

const char *aof_write_error(void) {
    if (aof.state == AOF_OFF || (aof.write_ok && !__atomic_load_n(&fs.err, __ATOMIC_ACQUIRE))) return NULL;
    int en;
    if (!aof.write_ok) en = aof.write_errno;
    else {
        pthread_mutex_lock(&fs.mu);
        en = fs.err ? fs.err_no : 0;
        pthread_mutex_unlock(&fs.mu);
        if (!en) return NULL;
    }
    static char msg[256];
    snprintf(msg, sizeof(msg), "-MISCONF Errors writing to the AOF file: %s", strerror(en));
    return msg;
}

/* Switch appending to a newly opened incr file (the old one is fsync'd and closed in
 * the background). */
static void switch_fd(int fd) {
    if (aof.fd >= 0) fs_submit(aof.fd, 1);
    aof.fd = fd;
    aof.sel_db = -1;
    aof.last_incr_size = 0;
    aof.fsynced_size = 0;
}

/* ------------------------------------------------------------------ writing a base */

/* A buffered file writer for the rewrite (fsync every 4 MB with
 * aof-rewrite-incremental-fsync, as Redis's rio autosync). */
typedef struct fwriter {
    int fd;
    char buf[65536];
    size_t len;
    long long written, since_sync;
    int err;
} fwriter;

static int fw_flush(fwriter *w) {
    size_t done;
    if (w->len && write_all(w->fd, w->buf, w->len, &done) != 0) {
        w->err = 1;
        return -1;
    }
    w->written += (long long)w->len;
    w->since_sync += (long long)w->len;
    w->len = 0;
    if (server.cfg.aof_rewrite_incremental_fsync && w->since_sync >= 4 * 1024 * 1024) {
        fdatasync(w->fd);
        w->since_sync = 0;
    }
    return 0;
}

static int fw_write(void *ctx, const void *p, size_t n) {
    fwriter *w = ctx;
    if (w->err) return -1;
    if (w->len + n > sizeof(w->buf)) {
        if (fw_flush(w) != 0) return -1;
        if (n > sizeof(w->buf)) {
            size_t done;
            if (write_all(w->fd, p, n, &done) != 0) {
                w->err = 1;
                return -1;
            }
            w->written += (long long)n;
            return 0;
        }
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    return 0;
}

static int fw_len(fwriter *w, char prefix, size_t n) {
    char tmp[UTIL_LLSTR_SIZE + 4];
    char *e = put_len(tmp, prefix, n);
    return fw_write(w, tmp, (size_t)(e - tmp));
}

static int fw_emit(void *ctx, int argc, const char *const *argv, const size_t *lens) {
    fwriter *w = ctx;
    if (fw_len(w, '*', (size_t)argc) != 0) return -1;
    for (int i = 0; i < argc; i++) {
        if (fw_len(w, '$', lens[i]) != 0 || fw_write(w, argv[i], lens[i]) != 0 || fw_write(w, "\r\n", 2) != 0)
            return -1;
    }
    return 0;
}

/* Whether the next base is an RDB file (aof-use-rdb-preamble) or commands. */
static int base_is_rdb(void) { return server.cfg.aof_use_rdb_preamble; }

/* Write the whole keyspace to path (a temp file, fsync'd): an RDB file marked aof-base,
 * or commands. Returns 0 or -1 (logged). */
static int write_base(const char *path, int rdb) {
    fwriter *w = xcalloc(1, sizeof(*w));
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (w->fd < 0) {
        log_warning("Opening the temp file for AOF rewrite in rewriteAppendOnlyFile(): %s", strerror(errno));
        free(w);
        return -1;
    }
    int r;
    if (rdb) {
        rdb_save_opts o;
        persist_save_opts(&o, 1);
        r = rdb_save_fd(w->fd, server.dbs, server.dbnum, &o);
    } else {
        aof_emitter e = {fw_emit, w};
        r = 0;
        if (server.cfg.aof_timestamp_enabled) {
            char ts[32];
            aof.cur_ts_sec = util_ustime() / 1000000; /* as Redis: a base written at start-up counts */
            int n = snprintf(ts, sizeof(ts), "#TS:%lld\r\n", aof.cur_ts_sec);
            r = fw_write(w, ts, (size_t)n);
        }
        if (r == 0) r = aof_rewrite_keyspace(server.dbs, server.dbnum, util_mstime(), &e);
        if (r == 0) r = fw_flush(w);
    }
    if (r == 0 && fsync(w->fd) != 0) r = -1;
    if (r != 0) log_warning("Write error writing append only file on disk: %s", strerror(errno));
    close(w->fd);
    free(w);
    if (r != 0) unlink(path);
    return r;
}

/* In the forked child; arg says whether the base is an RDB file. */
static int rewrite_child(void *arg) {
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "temp-rewriteaof-bg-%d.aof", (int)getpid());
    if (write_base(tmp, arg != NULL) != 0) return 1;
    log_notice("Successfully created the temporary AOF base file %s", tmp);
    return 0;
}

/* ------------------------------------------------------------------ rewrites */

static void rewrite_done(const child_result *r, void *priv);

/* Open the next incr file for appending and persist a manifest naming it (Redis's
 * openNewIncrAofForAppend). In AOF_WAIT_REWRITE the file is the temporary incr file and
 * the manifest is left alone. Nothing changes on failure. */
static int open_new_incr(void) {
    if (aof.state == AOF_OFF) return 1;
    manifest tm;
    manifest_dup(&tm, &aof.am);
    char *tname = aof.state == AOF_WAIT_REWRITE ? temp_incr_name() : NULL;
    const char *name = tname ? tname : new_incr(&tm);
    char *path = dir_path(name);
    int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT | O_APPEND, 0644);
    free(path);
    if (fd < 0) {
        log_warning("Can't open the append-only file %s: %s", name, strerror(errno));
        free(tname);
        manifest_free(&tm);
        return 0;
    }
    if (!tname && !manifest_persist(&tm)) {
        close(fd);
        char *p = dir_path(name);
        unlink(p);
        free(p);
        manifest_free(&tm);
        return 0;
    }
    log_notice("Creating AOF incr file %s on background rewrite", name);
    free(tname);
    switch_fd(fd);
    manifest_free(&aof.am);
    aof.am = tm;
    return 1;
}

/* Redis's rewriteAppendOnlyFileBackground. Returns 1 if the child started. */
static int rewrite_start(void) {
    if (child_active() != CHILD_NONE) return 0;
    if (dir_create_if_missing() != 0) {
        log_warning("Can't open or create append-only dir %s: %s", server.cfg.appenddirname, strerror(errno));
        aof.last_bgrewrite_ok = 0;
        return 0;
    }
    aof_write(); /* what is buffered belongs to the files the new base replaces */
    if (!open_new_incr()) {
        aof.last_bgrewrite_ok = 0;
        return 0;
    }
    aof.rewrites++;
    aof.child_rdb = base_is_rdb();
    pid_t pid = child_start(CHILD_AOF, rewrite_child, aof.child_rdb ? (void *)1 : NULL, rewrite_done, NULL);
    if (pid < 0) {
        log_warning("Can't rewrite append only file in background: fork: %s", strerror(errno));
        aof.last_bgrewrite_ok = 0;
        return 0;
    }
    log_notice("Background append only file rewriting started by pid %ld", (long)pid);
    aof.rewrite_scheduled = 0;
    aof.rewrite_start_ms = util_mstime();
    return 1;
}

static void rewrite_failed(void) {
    aof.last_bgrewrite_ok = 0;
    aof.consecutive_failures++;
    aof.last_failure_ms = util_mstime();
    if (aof.state == AOF_WAIT_REWRITE) aof.rewrite_scheduled = 1; /* the AOF still needs its base */
}

/* Redis's backgroundRewriteDoneHandler. */
static void rewrite_done(const child_result *r, void *priv) {
    (void)priv;
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "temp-rewriteaof-bg-%d.aof", (int)r->pid);
    aof.last_rewrite_sec = (util_mstime() - aof.rewrite_start_ms) / 1000;
    aof.rewrite_start_ms = 0;
    if (r->bysignal || r->exitcode != 0) {
        if (r->bysignal && r->bysignal != SIGUSR1)
            log_warning("Background AOF rewrite terminated by signal %d", r->bysignal);
        else if (!r->bysignal) log_warning("Background AOF rewrite terminated with error");
        unlink(tmp);
        rewrite_failed();
        return;
    }
    log_notice("Background AOF rewrite terminated with success");
    manifest tm;
    manifest_dup(&tm, &aof.am);
    const char *base = new_base(&tm, aof.child_rdb);
    char *bpath = dir_path(base);
    if (rename(tmp, bpath) != 0) {
        log_warning("Error trying to rename the temporary AOF base file %s into %s: %s", tmp, base, strerror(errno));
        free(bpath);
        unlink(tmp);
        manifest_free(&tm);
        rewrite_failed();
        return;
    }
    free(bpath);
    log_notice("Successfully renamed the temporary AOF base file %s into %s", tmp, base);
    char *tincr = NULL;
    if (aof.state == AOF_WAIT_REWRITE) {
        tincr = temp_incr_name();
        const char *incr = new_incr(&tm);
        char *from = dir_path(tincr), *to = dir_path(incr);
        int ok = rename(from, to) == 0;
        if (!ok)
            log_warning("Error trying to rename the temporary AOF incr file %s into %s: %s", tincr, incr,
                        strerror(errno));
        else log_notice("Successfully renamed the temporary AOF incr file %s into %s", tincr, incr);
        free(from);
        free(to);
        if (!ok) {
            char *p = dir_path(base);
            unlink(p);
            free(p);
            free(tincr);
            manifest_free(&tm);
            rewrite_failed();
            return;
        }
    }
    incr_to_history(&tm, aof.fd >= 0);
    if (!manifest_persist(&tm)) {
        /* The old manifest still names the old files, which are all there. */
        free(tincr);
        manifest_free(&tm);
        rewrite_failed();
        return;
    }
    free(tincr);
    manifest_free(&aof.am);
    aof.am = tm;
    aof.current_size = file_size(base) + aof.last_incr_size;
    aof.rewrite_base = aof.current_size;
    delete_history();
    aof.last_bgrewrite_ok = 1;
    aof.consecutive_failures = 0;
    if (aof.state == AOF_WAIT_REWRITE) aof.state = AOF_ON;
    log_notice("Background AOF rewrite finished successfully");
}

/* After 3 failures in a row, automatic rewrites wait 1 minute, doubling up to 1 hour
 * (Redis's aofRewriteLimited). */
static int rewrite_limited(void) {
    if (aof.consecutive_failures < 3) return 0;
    long long n = aof.consecutive_failures - 3;
    long long delay = 60000LL << (n > 6 ? 6 : n);
    if (delay > 3600000) delay = 3600000;
    return util_mstime() - aof.last_failure_ms < delay;
}

static void cmd_bgrewriteaof(client *c) {
    if (!aof.started) { /* a harness that never ran aof_init (the command fuzzer) */
        reply_error(&c->out, "Can't execute an AOF background rewriting. Please check the server logs for more "
                             "information.");
    } else if (child_active() == CHILD_AOF) {
        reply_error(&c->out, "Background append only file rewriting already in progress");
    } else if (child_active() != CHILD_NONE || (c->flags & CLIENT_EXECUTING_EXEC)) {
        aof.rewrite_scheduled = 1;
        aof.consecutive_failures = 0;
        reply_simple(&c->out, "Background append only file rewriting scheduled");
    } else if (rewrite_start()) {
        reply_simple(&c->out, "Background append only file rewriting started");
    } else {
        reply_error(&c->out, "Can't execute an AOF background rewriting. Please check the server logs for more "
                             "information.");
    }
}

const command_binding aof_commands[] = {
    CMD("bgrewriteaof", cmd_bgrewriteaof),
    {0},
};

/* ------------------------------------------------------------------ on and off */

static int start_appending(void) {
    if (aof.sub < 0) aof.sub = propagate_subscribe(aof_feed, NULL);
    return fs_start();
}

int aof_set_enabled(int on, const char **err) {
    if (!aof.started) return 1; /* start-up: aof_init acts on the setting */
    if (on && aof.state == AOF_OFF) {
        if (!fs_start()) {
            *err = "Unable to turn on AOF. Check server logs.";
            return 0;
        }
        aof.state = AOF_WAIT_REWRITE;
        if (child_active() != CHILD_NONE && child_active() != CHILD_AOF) {
            aof.rewrite_scheduled = 1;
            log_warning("AOF was enabled but there is already another background operation. An AOF background was "
                        "scheduled to start when possible.");
        } else {
            if (child_active() == CHILD_AOF) {
                log_warning("AOF was enabled but there is already an AOF rewriting in background. Stopping "
                            "background AOF and starting a rewrite now.");
                child_kill();
                aof.state = AOF_WAIT_REWRITE;
                aof.rewrite_scheduled = 0;
            }
            if (!rewrite_start()) {
                aof.state = AOF_OFF;
                log_warning("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. "
                            "Check the above logs for more info about the error.");
                *err = "Unable to turn on AOF. Check server logs.";
                return 0;
            }
        }
        aof.last_fsync_ms = util_mstime();
        start_appending();
    } else if (!on && aof.state != AOF_OFF) {
        aof_write();
        if (aof.fd >= 0) {
            fdatasync(aof.fd);
            fs_submit(aof.fd, 1);
        }
        aof.fd = -1;
        aof.sel_db = -1;
        aof_buf_len = aof_unflushed = 0;
        if (child_active() == CHILD_AOF) {
            log_notice("Killing running AOF rewrite child: %ld", (long)child_pid());
            child_kill();
        }
        aof.state = AOF_OFF;
        aof.rewrite_scheduled = 0;
        aof.write_ok = 1;
        if (aof.sub >= 0) propagate_unsubscribe(aof.sub);
        aof.sub = -1;
    }
    return 1;
}

/* ------------------------------------------------------------------ loading */

enum { LOAD_OK, LOAD_EMPTY, LOAD_TRUNCATED, LOAD_FAILED };

/* The client loaded commands run on: internal (no ACL), its replies dropped. */
static client *fake_client(void) {
    client *c = xcalloc(1, sizeof(*c));
    c->fd = -1;
    c->resp = 2;
    reply_init(&c->out);
    c->db = server.dbs[0];
    c->authenticated = 1;
    c->user = NULL;
    return c;
}

static command *lookup(int argc, resp_slice *argv) {
    command *cmd = command_lookup(argv[0].ptr, argv[0].len);
    if (cmd && cmd->subcommands) {
        if (argc < 2) return cmd->proc ? cmd : NULL;
        for (command *s = cmd->subcommands; s->name; s++)
            if (util_eqi(argv[1].ptr, argv[1].len, s->name)) return s;
        return NULL;
    }
    return cmd;
}

static void run(client *c, command *cmd, int argc, resp_slice *argv) {
    c->argc = argc;
    c->argv = argv;
    c->cmd = cmd;
    server.mstime_cached = storage_now_ms = util_mstime();
    cmd->proc(c);
    reply_clear(&c->out);
    c->argc = 0;
    c->argv = NULL;
}

/* One command of the file: 1, 0 at a clean end of file, -1 truncated, -2 malformed. The
 * arguments are in *args (argc of them), reusing the buffers. */
/* Bytes read_command has consumed (ftell costs a system call per command). */
static long rd_pos;

static char *rd_line(char *buf, int size, FILE *fp) {
    char *r = fgets(buf, size, fp);
    if (r) rd_pos += (long)strlen(buf);
    return r;
}

static int read_command(FILE *fp, int *argc, resp_slice **argv, int *cap, char **bytes, size_t *bcap) {
    char line[128];
    for (;;) {
        if (!rd_line(line, sizeof(line), fp)) return feof(fp) ? 0 : -1;
        if (line[0] == '#') { /* an annotation (Redis's #TS:): skip the rest of the line */
            while (!strchr(line, '\n'))
                if (!rd_line(line, sizeof(line), fp)) return -1;
            continue;
        }
        break;
    }
    if (line[0] != '*') return -2;
    size_t ll = strlen(line);
    if (ll < 3 || line[ll - 1] != '\n') return feof(fp) ? -1 : -2;
    long long n;
    if (!util_str2ll(line + 1, ll - 3, &n) || line[ll - 2] != '\r') return -2;
    if (n < 1 || n > 1024 * 1024) return -2;
    if (n > *cap) {
        *cap = (int)n;
        *argv = xrealloc(*argv, sizeof(resp_slice) * (size_t)n);
    }
    size_t *offs = xmalloc(sizeof(size_t) * (size_t)n);
    size_t used = 0;
    int r = 1;
    for (long long i = 0; i < n && r == 1; i++) {
        if (!rd_line(line, sizeof(line), fp)) {
            r = -1;
            break;
        }
        ll = strlen(line);
        if (line[0] != '$') {
            r = -2;
            break;
        }
        if (line[ll - 1] != '\n') {
            r = feof(fp) ? -1 : -2;
            break;
        }
        long long len;
        if (ll < 4 || line[ll - 2] != '\r' || !util_str2ll(line + 1, ll - 3, &len) || len < 0 ||
            len > server.cfg.proto_max_bulk_len) {
            r = -2;
            break;
        }
        if (used + (size_t)len + 2 > *bcap) {
            *bcap = (used + (size_t)len + 2) * 2;
            *bytes = xrealloc(*bytes, *bcap);
        }
        size_t got = fread(*bytes + used, 1, (size_t)len + 2, fp);
        rd_pos += (long)got;
        if (got != (size_t)len + 2) {
            r = -1;
            break;
        }
        if ((*bytes)[used + (size_t)len] != '\r' || (*bytes)[used + (size_t)len + 1] != '\n') {
            r = -2;
            break;
        }
        offs[i] = used;
        (*argv)[i].len = (size_t)len;
        used += (size_t)len + 2;
    }
    if (r == 1) {
        for (long long i = 0; i < n; i++) (*argv)[i].ptr = *bytes + offs[i];
        *argc = (int)n;
    }
    free(offs);
    return r;
}

/* Load one file of commands (Redis's loadSingleAppendOnlyFile). last: the last file of
 * the manifest, the only one a torn tail may be cut from. */
/* Bytes of the files loaded before this one (INFO's loading_loaded_bytes). */
static long long loaded_files_bytes;

static int load_commands(const char *name, FILE *fp, int last) {
    client *c = fake_client();
    int argc = 0, cap = 0;
    resp_slice *argv = NULL;
    char *bytes = NULL;
    size_t bcap = 0;
    /* A transaction is held until its EXEC: cut off without it, it never happened. */
    multi_cmd *queued = NULL;
    int nq = 0, qcap = 0, in_multi = 0;
    rd_pos = ftell(fp);
    long valid_up_to = rd_pos, valid_before_multi = valid_up_to;
    int ret = LOAD_OK, r;
    long long ncommands = 0;
    void (*hook)(const char *, size_t) = reply_error_hook;
    reply_error_hook = NULL;
    while ((r = read_command(fp, &argc, &argv, &cap, &bytes, &bcap)) == 1) {
        command *cmd = lookup(argc, argv);
        if (!cmd) {
            log_warning("Unknown command '%.*s' reading the append only file %s",
                        (int)(argv[0].len > 128 ? 128 : argv[0].len), argv[0].ptr, name);
            ret = LOAD_FAILED;
            goto done;
        }
        if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
            log_warning("Bad file format reading the append only file %s: make a backup of your AOF file, then use "
                        "./redis-check-aof --fix <filename.manifest>",
                        name);
            ret = LOAD_FAILED;
            goto done;
        }
        if (util_eqi(argv[0].ptr, argv[0].len, "multi")) {
            in_multi = 1;
            valid_before_multi = valid_up_to;
        } else if (util_eqi(argv[0].ptr, argv[0].len, "exec")) {
            for (int i = 0; i < nq; i++) {
                run(c, queued[i].cmd, queued[i].argc, queued[i].argv);
                free(queued[i].argv);
            }
            nq = 0;
            in_multi = 0;
        } else if (in_multi) {
            if (nq == qcap) {
                qcap = qcap ? qcap * 2 : 16;
                queued = xrealloc(queued, sizeof(*queued) * (size_t)qcap);
            }
            queued[nq++] = (multi_cmd){cmd, argc, argv_dup(argv, argc)};
        } else {
            run(c, cmd, argc, argv);
        }
        valid_up_to = rd_pos;
        if (++ncommands % LOADING_SERVE_COMMANDS == 0) {
            rdb_stat.loading_loaded_bytes = loaded_files_bytes + rd_pos;
            if (persist_loading_serve()) {
                ret = LOAD_FAILED;
                goto done;
            }
        }
    }
    if (r == -2) {
        log_warning("Bad file format reading the append only file %s: make a backup of your AOF file, then use "
                    "./redis-check-aof --fix <filename.manifest>",
                    name);
        ret = LOAD_FAILED;
        goto done;
    }
    if (r == 0 && !in_multi) goto done;
    /* A torn tail: the file ends inside a command or a transaction. */
    if (r == 0 && in_multi) log_warning("Revert incomplete MULTI/EXEC transaction in AOF file %s", name);
    if (in_multi) valid_up_to = valid_before_multi;
    if (!last) {
        log_warning("Fatal error: the truncated file is not the last file");
        ret = LOAD_FAILED;
        goto done;
    }
    if (server.cfg.aof_load_truncated) {
        log_warning("!!! Warning: short read while loading the AOF file %s!!!", name);
        log_warning("!!! Truncating the AOF %s at offset %ld !!!", name, valid_up_to);
        char *p = dir_path(name);
        int t = truncate(p, (off_t)valid_up_to);
        free(p);
        if (t == 0) {
            log_warning("AOF %s loaded anyway because aof-load-truncated is enabled", name);
            ret = LOAD_TRUNCATED;
            goto done;
        }
        log_warning("Error truncating the AOF file %s: %s", name, strerror(errno));
    }
    log_warning("Unexpected end of file reading the append only file %s. You can: 1) Make a backup of your AOF file, "
                "then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the "
                "'aof-load-truncated' configuration option to yes and restart the server.",
                name);
    ret = LOAD_FAILED;
done:
    reply_error_hook = hook;
    for (int i = 0; i < nq; i++) free(queued[i].argv);
    free(queued);
    free(argv);
    free(bytes);
    reply_free(&c->out);
    free(c);
    return ret;
}

static int load_file(const char *name, int last) {
    char *path = dir_path(name);
    FILE *fp = fopen(path, "r");
    free(path);
    if (!fp) {
        log_warning("Fatal error: can't open the append log file %s for reading: %s", name, strerror(errno));
        return LOAD_FAILED;
    }
    struct stat st;
    if (fstat(fileno(fp), &st) == 0 && st.st_size == 0) {
        fclose(fp);
        return LOAD_EMPTY;
    }
    char sig[5];
    int ret = LOAD_OK;
    if (fread(sig, 1, 5, fp) == 5 && !memcmp(sig, "REDIS", 5)) {
        /* An RDB preamble (a base file), then possibly commands. */
        log_notice("Reading RDB base file on AOF loading...");
        rdb_load_info info;
        memset(&info, 0, sizeof(info));
        info.now_ms = util_mstime();
        info.verify_checksum = server.cfg.rdbchecksum;
        info.progress = persist_loading_progress;
        info.progress_bytes = LOADING_SERVE_BYTES;
        info.progress_arg = &loaded_files_bytes;
        int fd = fileno(fp);
        long long dirty = storage_dirty;
        if (lseek(fd, 0, SEEK_SET) != 0 || rdb_load_fd(fd, server.dbs, server.dbnum, &info) != 0) {
            if (!info.aborted) log_warning("Bad file format reading the append only file %s: %s", name, info.err);
            ret = LOAD_FAILED;
        } else {
            storage_dirty = dirty;
            log_notice("Reading the remaining AOF tail...");
            if (fseek(fp, lseek(fd, 0, SEEK_CUR), SEEK_SET) != 0) ret = LOAD_FAILED;
        }
    } else {
        rewind(fp);
    }
    if (ret == LOAD_OK) ret = load_commands(name, fp, last);
    fclose(fp);
    return ret;
}

/* Redis's loadAppendOnlyFiles. Returns 1 (loaded, or nothing to load) or 0. */
static long long files_size(void);
static int load_all_files(void);

static int load_all(void) {
    if (!aof.am.base && !aof.am.nincr) return 1;
    persist_loading_begin(files_size());
    loaded_files_bytes = 0;
    int ok = load_all_files();
    persist_loading_end();
    return ok;
}

static int load_all_files(void) {
    int total = (aof.am.base ? 1 : 0) + aof.am.nincr;
    long long t0 = util_mstime();
    int idx = 0;
    if (aof.am.base) {
        long long s = util_mstime();
        int r = load_file(aof.am.base->name, ++idx == total);
        if (r == LOAD_FAILED) return 0;
        loaded_files_bytes += file_size(aof.am.base->name);
        log_notice("DB loaded from base file %s: %.3f seconds", aof.am.base->name, (double)(util_mstime() - s) / 1000);
    }
    for (int i = 0; i < aof.am.nincr; i++) {
        long long s = util_mstime();
        int r = load_file(aof.am.incr[i].name, ++idx == total);
        if (r == LOAD_FAILED) return 0;
        loaded_files_bytes += file_size(aof.am.incr[i].name);
        log_notice("DB loaded from incr file %s: %.3f seconds", aof.am.incr[i].name,
                   (double)(util_mstime() - s) / 1000);
    }
    log_notice("DB loaded from append only file: %.3f seconds", (double)(util_mstime() - t0) / 1000);
    return 1;
}

static long long files_size(void) {
    long long sz = aof.am.base ? file_size(aof.am.base->name) : 0;
    for (int i = 0; i < aof.am.nincr; i++) sz += file_size(aof.am.incr[i].name);
    return sz;
}

/* Write the base file in this process (start-up with no AOF yet: the dataset is empty
 * or what was loaded), as Redis's rewriteAppendOnlyFile. */
static int create_base_now(manifest *m) {
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "temp-rewriteaof-%d.aof", (int)getpid());
    int rdb = base_is_rdb();
    if (write_base(tmp, rdb) != 0) return 0;
    const char *base = new_base(m, rdb);
    char *path = dir_path(base);
    int ok = rename(tmp, path) == 0;
    if (!ok) log_warning("Error moving temp append only file on the final destination: %s", strerror(errno));
    free(path);
    if (!ok) unlink(tmp);
    else log_notice("Creating AOF base file %s on server start", base);
    return ok;
}

int aof_init(void) {
    if (strchr(server.cfg.appendfilename, '/') || !server.cfg.appendfilename[0]) {
        log_warning("appendfilename can't be a path, just a filename");
        return 0;
    }
    if (strchr(server.cfg.appenddirname, '/') || !server.cfg.appenddirname[0]) {
        log_warning("appenddirname can't be a path, just a dir name");
        return 0;
    }
    aof.started = 1;
    if (!manifest_load(&aof.am)) return 0;
    if (!server.cfg.appendonly) return 1;
    aof.state = AOF_ON;
    if (!load_all()) return 0;
    if (dir_create_if_missing() != 0) {
        log_warning("Can't open or create append-only dir %s: %s", server.cfg.appenddirname, strerror(errno));
        return 0;
    }
    if (!aof.am.base && !aof.am.nincr && !create_base_now(&aof.am)) return 0;
    int created = !aof.am.nincr;
    const char *name = created ? new_incr(&aof.am) : aof.am.incr[aof.am.nincr - 1].name;
    char *path = dir_path(name);
    aof.fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    free(path);
    if (aof.fd < 0) {
        log_warning("Can't open the append-only file %s: %s", name, strerror(errno));
        return 0;
    }
    if (!manifest_persist(&aof.am)) return 0;
    aof.last_incr_size = aof.fsynced_size = file_size(name);
    aof.current_size = aof.rewrite_base = files_size();
    aof.last_fsync_ms = util_mstime();
    log_notice("%s AOF incr file %s on server start", created ? "Creating" : "Opening", name);
    delete_history();
    if (!start_appending()) {
        log_warning("Can't start the AOF fsync thread");
        return 0;
    }
    return 1;
}

int aof_prepare_shutdown(int force) {
    if (aof.state == AOF_OFF || child_active() != CHILD_AOF) return 0;
    if (aof.state == AOF_WAIT_REWRITE) {
        if (!force) {
            log_warning("Writing initial AOF, can't exit.");
            return -1;
        }
        log_warning("Writing initial AOF. Exit anyway.");
    }
    log_warning("There is a child rewriting the AOF. Killing it!");
    child_kill();
    return 0;
}

void aof_shutdown(void) {
    if (aof.state != AOF_OFF && aof.fd >= 0) {
        aof_write();
        log_notice("Calling fsync() on the AOF file.");
        if (fdatasync(aof.fd) != 0) log_warning("Fail to fsync the AOF file: %s", strerror(errno));
    }
    fs_drain();
    fs_stop();
    if (aof.fd >= 0) close(aof.fd);
    aof.fd = -1;
    if (aof.sub >= 0) propagate_unsubscribe(aof.sub);
    aof.sub = -1;
    free(aof.buf);
    aof.buf = NULL;
    aof.cap = aof_buf_len = aof_unflushed = 0;
    manifest_free(&aof.am);
}

void aof_cron(void) {
    if (aof.state == AOF_OFF && !aof.rewrite_scheduled) return;
    if (aof.fd >= 0 && (!aof.write_ok || aof_buf_len)) aof_flush(); /* a postponed or failed write */
    maybe_bg_fsync();
    if (child_active() != CHILD_NONE) return;
    if (aof.rewrite_scheduled && !rewrite_limited()) {
        rewrite_start();
        return;
    }
    long long perc = server.cfg.auto_aof_rewrite_percentage;
    if (aof.state == AOF_ON && perc && aof.current_size > server.cfg.auto_aof_rewrite_min_size) {
        long long base = aof.rewrite_base ? aof.rewrite_base : 1;
        long long growth = aof.current_size * 100 / base - 100;
        if (growth >= perc && !rewrite_limited()) {
            log_notice("Starting automatic rewriting of AOF on %lld%% growth", growth);
            rewrite_start();
        }
    }
}

void aof_info(char *buf, size_t size) {
    long long cur = aof.rewrite_start_ms ? (util_mstime() - aof.rewrite_start_ms) / 1000 : -1;
    snprintf(buf, size,
             "aof_enabled:%d\r\naof_rewrite_in_progress:%d\r\naof_rewrite_scheduled:%d\r\n"
             "aof_last_rewrite_time_sec:%lld\r\naof_current_rewrite_time_sec:%lld\r\naof_last_bgrewrite_status:%s\r\n"
             "aof_rewrites:%lld\r\naof_rewrites_consecutive_failures:%lld\r\naof_last_write_status:%s\r\n"
             "aof_last_cow_size:0\r\n",
             aof.state != AOF_OFF, child_active() == CHILD_AOF, aof.rewrite_scheduled, aof.last_rewrite_sec, cur,
             aof.last_bgrewrite_ok ? "ok" : "err", aof.rewrites, aof.consecutive_failures,
             aof_write_error() ? "err" : "ok");
}

void aof_info_tail(char *buf, size_t size) {
    buf[0] = '\0';
    if (aof.state == AOF_OFF) return;
    snprintf(buf, size,
             "aof_current_size:%lld\r\naof_base_size:%lld\r\naof_pending_rewrite:%d\r\naof_buffer_length:%zu\r\n"
             "aof_pending_bio_fsync:%d\r\naof_delayed_fsync:%lld\r\n",
             aof.current_size, aof.rewrite_base, aof.rewrite_scheduled, aof_buf_len, fs_pending(), aof.delayed_fsync);
}
