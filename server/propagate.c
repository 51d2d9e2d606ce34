/* propagate.c: the propagation stream (server/propagate.h): the per-call frames handlers
 * rewrite through, the queue of what one top-level call propagates, DEL for keys removed
 * by expiry or eviction, the subscribers, and the propagation-log writer.
 *
 * Frames. propagate_call pushes a frame on the C stack for each command it runs (EXEC
 * runs its queued commands inside its own frame), so a rewrite applies to the command
 * being executed, never to an enclosing EXEC. When a command returns, its argv (or the
 * replacement) joins the queue if storage_dirty moved (or it forced propagation) and it
 * did not prevent it. Commands added by propagate_add and the DELs of expired or
 * evicted keys join the queue as they happen, so they precede the command that caused
 * them, as in Redis 7.0. When the outermost frame returns the queue goes out: inside
 * MULTI/EXEC if the outermost command was EXEC or the queue holds more than one
 * command. Outside any command (active expiry, eviction on the timer or before a
 * command runs) each DEL goes out at once. */
#include "server/propagate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/server.h"
#include "storage/lazyfree.h"

int propagate_on;

/* --- subscribers --- */

typedef struct prop_sub {
    propagate_fn *fn; /* NULL: a free slot */
    void *priv;
} prop_sub;

static prop_sub *subs;
static int nsub_slots, nsubs;
static int key_sub = -1; /* our keyspace-event subscription while propagation is on */

static void prop_key_event(void *priv, const db_event *ev);

int propagate_subscribe(propagate_fn *fn, void *priv) {
    int h = 0;
    while (h < nsub_slots && subs[h].fn) h++;
    if (h == nsub_slots) {
        int n = nsub_slots ? nsub_slots * 2 : 2;
        subs = xrealloc(subs, sizeof(*subs) * (size_t)n);
        memset(subs + nsub_slots, 0, sizeof(*subs) * (size_t)(n - nsub_slots));
        nsub_slots = n;
    }
    subs[h] = (prop_sub){fn, priv};
    if (!nsubs++) key_sub = db_subscribe_removals(prop_key_event, NULL);
    propagate_on = 1;
    return h;
}

void propagate_unsubscribe(int h) {
    if (h < 0 || h >= nsub_slots || !subs[h].fn) return;
    subs[h].fn = NULL;
    if (!--nsubs) {
        db_unsubscribe(key_sub);
        key_sub = -1;
        propagate_on = 0;
    }
}

static void emit(int dbid, int argc, const resp_slice *argv) {
    for (int h = 0; h < nsub_slots; h++)
        if (subs[h].fn) subs[h].fn(subs[h].priv, dbid, argc, argv);
}

/* --- the queue of one top-level call --- */

typedef struct prop_op {
    int dbid, argc;
    resp_slice *argv; /* argv_dup: one allocation */
} prop_op;

static prop_op *ops;
static int nops, opcap;

typedef struct prop_frame {
    struct prop_frame *up;
    int prevent, force;
    int argc;
    resp_slice *argv; /* the replacement (argv_dup), or NULL */
} prop_frame;

static prop_frame *cur; /* the command being executed, NULL outside any */

static void flush(int exec) {
    if (!nops) return;
    int wrap = exec || nops > 1;
    /* As Redis 7.0.15: MULTI in the first command's db (its SELECT goes before MULTI),
     * EXEC in the last one's (so no SELECT comes between the last command and EXEC). */
    int exec_db = ops[nops - 1].dbid;
    if (wrap) emit(ops[0].dbid, 1, &PROP_STR("MULTI"));
    for (int i = 0; i < nops; i++) {
        emit(ops[i].dbid, ops[i].argc, ops[i].argv);
        free(ops[i].argv);
    }
    if (wrap) emit(exec_db, 1, &PROP_STR("EXEC"));
    nops = 0;
}

/* Queue an op that owns argv (an argv_dup). */
static void queue_op(int dbid, int argc, resp_slice *argv) {
    if (nops == opcap) {
        opcap = opcap ? opcap * 2 : 8;
        ops = xrealloc(ops, sizeof(*ops) * (size_t)opcap);
    }
    ops[nops++] = (prop_op){dbid, argc, argv};
}

void propagate_add(int dbid, int argc, const resp_slice *argv) {
    if (!propagate_on) return;
    queue_op(dbid, argc, argv_dup(argv, argc));
    if (!cur) flush(0);
}

static void prop_key_event(void *priv, const db_event *ev) {
    (void)priv;
    if (ev->type != DB_EV_EXPIRED && ev->type != DB_EV_EVICTED) return;
    /* As Redis 7.0's propagateDeletion: UNLINK where the removal itself was lazy. */
    int lazy = ev->type == DB_EV_EXPIRED ? lazyfree_cfg.lazy_expire : lazyfree_cfg.lazy_eviction;
    resp_slice argv[2] = {lazy ? PROP_STR("UNLINK") : PROP_STR("DEL"), {(char *)ev->key, ev->klen}};
    propagate_add(db_id(ev->d), 2, argv);
}

/* --- rewriting the current command --- */

void propagate_replace(client *c, int argc, const resp_slice *argv) {
    (void)c;
    if (!cur) return;
    resp_slice *copy = argv_dup(argv, argc);
    free(cur->argv);
    cur->argv = copy;
    cur->argc = argc;
}

void propagate_rewrite_arg(client *c, int i, const char *p, size_t len) {
    if (!cur) return;
    int argc = cur->argv ? cur->argc : c->argc;
    const resp_slice *base = cur->argv ? cur->argv : c->argv;
    if (i < 0 || i >= argc) return;
    resp_slice small[16], *v = argc <= 16 ? small : xmalloc(sizeof(*v) * (size_t)argc);
    memcpy(v, base, sizeof(*v) * (size_t)argc);
    v[i] = (resp_slice){(char *)p, len};
    propagate_replace(c, argc, v);
    if (v != small) free(v);
}

void propagate_prevent(client *c) {
    (void)c;
    if (cur) cur->prevent = 1;
}

void propagate_force(client *c) {
    (void)c;
    if (cur) cur->force = 1;
}

static int suppressed;

void propagate_suppress(int on) { suppressed = on; }

void propagate_call(client *c, command *cmd) {
    prop_frame f = {cur, suppressed, 0, 0, NULL};
    int dbid = db_id(c->db);
    long long dirty = storage_dirty;
    cur = &f;
    cmd->proc(c);
    cur = f.up;
    int exec = multi_is_exec(cmd);
    if (!exec && !f.prevent && (f.force || storage_dirty != dirty)) {
        if (!cur && !nops) { /* alone: out at once, with no copy */
            if (!f.argv) {
                emit(dbid, c->argc, c->argv);
                return;
            }
            emit(dbid, f.argc, f.argv);
            free(f.argv);
            return;
        }
        if (f.argv) queue_op(dbid, f.argc, f.argv); /* already a private copy */
        else queue_op(dbid, c->argc, argv_dup(c->argv, c->argc));
    } else if (f.argv) {
        free(f.argv);
    }
    if (!cur) flush(exec);
}

/* --- the propagation log --- */

static FILE *log_fp;
static int log_db = -1; /* the db the log's reader has selected */
static int log_sub = -1;

static void log_command(FILE *fp, int argc, const resp_slice *argv) {
    fprintf(fp, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        fprintf(fp, "$%zu\r\n", argv[i].len);
        fwrite(argv[i].ptr, 1, argv[i].len, fp);
        fputs("\r\n", fp);
    }
}

static void log_write(void *priv, int dbid, int argc, const resp_slice *argv) {
    FILE *fp = priv;
    if (dbid >= 0 && dbid != log_db) {
        char num[16];
        int n = snprintf(num, sizeof(num), "%d", dbid);
        resp_slice sel[2] = {PROP_STR("SELECT"), {num, (size_t)n}};
        log_command(fp, 2, sel);
        log_db = dbid;
    }
    log_command(fp, argc, argv);
    fflush(fp);
}

int propagate_log_open(const char *path) {
    propagate_log_close();
    log_fp = fopen(path, "a");
    if (!log_fp) return 0;
    log_db = -1;
    log_sub = propagate_subscribe(log_write, log_fp);
    return 1;
}

void propagate_log_close(void) {
    if (!log_fp) return;
    propagate_unsubscribe(log_sub);
    fclose(log_fp);
    log_fp = NULL;
    log_sub = -1;
}
