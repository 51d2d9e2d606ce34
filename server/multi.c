/* multi.c: MULTI/EXEC/DISCARD and optimistic locking with WATCH/UNWATCH.
 *
 * Queued commands keep private copies of their arguments (the query buffer moves on).
 * WATCH registers (db, key) -> clients in a small chained hash; storage calls
 * db_touch_hook on every change to a key, and the hook marks every watcher
 * CLIENT_DIRTY_CAS, so EXEC replies with a null array. The hook is installed only
 * while someone watches, so the write path pays nothing otherwise. */
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

typedef struct watch_entry {
    struct watch_entry *next;
    int dbid;
    client **clients;
    int n, cap;
    size_t klen;
    char key[];
} watch_entry;

typedef struct watched_key {
    struct watched_key *next;
    watch_entry *e;
} watched_key;

static watch_entry **wtable;
static size_t wsize, wcount;   /* buckets (power of two), entries */

static size_t wbucket(int dbid, const char *key, size_t klen) {
    return (util_hash(key, klen) ^ (uint64_t)dbid * 0x9E3779B97F4A7C15ULL) & (wsize - 1);
}

static void watch_hook_update(void) { db_touch_hook = wcount ? multi_touch : NULL; }

static void wtable_grow(void) {
    size_t nsize = wsize ? wsize * 2 : 64;
    watch_entry **nt = calloc(nsize, sizeof(*nt));
    for (size_t i = 0; i < wsize; i++) {
        watch_entry *e = wtable[i], *next;
        for (; e; e = next) {
            next = e->next;
            size_t b = (util_hash(e->key, e->klen) ^ (uint64_t)e->dbid * 0x9E3779B97F4A7C15ULL) & (nsize - 1);
            e->next = nt[b];
            nt[b] = e;
        }
    }
    free(wtable);
    wtable = nt;
    wsize = nsize;
}

static watch_entry *wfind(int dbid, const char *key, size_t klen) {
    if (!wsize) return NULL;
    for (watch_entry *e = wtable[wbucket(dbid, key, klen)]; e; e = e->next)
        if (e->dbid == dbid && e->klen == klen && !memcmp(e->key, key, klen)) return e;
    return NULL;
}

static void mark_dirty(watch_entry *e) {
    for (int i = 0; i < e->n; i++) e->clients[i]->flags |= CLIENT_DIRTY_CAS;
}

void multi_touch(int dbid, const char *key, size_t klen) {
    if (!wcount) return;
    if (key) {
        watch_entry *e = wfind(dbid, key, klen);
        if (e) mark_dirty(e);
        return;
    }
    for (size_t i = 0; i < wsize; i++)
        for (watch_entry *e = wtable[i]; e; e = e->next)
            if (e->dbid == dbid) mark_dirty(e);
}

static void watch_key(client *c, const char *key, size_t klen) {
    int dbid = db_id(c->db);
    for (watched_key *w = c->watched; w; w = w->next)
        if (w->e->dbid == dbid && w->e->klen == klen && !memcmp(w->e->key, key, klen)) return;
    watch_entry *e = wfind(dbid, key, klen);
    if (!e) {
        if (wcount >= wsize) wtable_grow();
        e = calloc(1, sizeof(*e) + klen);
        e->dbid = dbid;
        e->klen = klen;
        memcpy(e->key, key, klen);
        size_t b = wbucket(dbid, key, klen);
        e->next = wtable[b];
        wtable[b] = e;
        wcount++;
    }
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 2;
        e->clients = realloc(e->clients, sizeof(*e->clients) * (size_t)e->cap);
    }
    e->clients[e->n++] = c;
    watched_key *w = malloc(sizeof(*w));
    w->e = e;
    w->next = c->watched;
    c->watched = w;
    watch_hook_update();
}

static void unwatch_all(client *c) {
    watched_key *w = c->watched, *next;
    for (; w; w = next) {
        next = w->next;
        watch_entry *e = w->e;
        for (int i = 0; i < e->n; i++) {
            if (e->clients[i] == c) {
                e->clients[i] = e->clients[--e->n];
                break;
            }
        }
        if (e->n == 0) {
            watch_entry **pp = &wtable[wbucket(e->dbid, e->key, e->klen)];
            while (*pp != e) pp = &(*pp)->next;
            *pp = e->next;
            free(e->clients);
            free(e);
            wcount--;
        }
        free(w);
    }
    c->watched = NULL;
    c->flags &= ~CLIENT_DIRTY_CAS;
    watch_hook_update();
}

static void discard_transaction(client *c) {
    for (int i = 0; i < c->mcount; i++) free(c->mstate[i].argv);
    free(c->mstate);
    c->mstate = NULL;
    c->mcount = c->mcap = 0;
    c->flags &= ~(CLIENT_MULTI | CLIENT_DIRTY_EXEC | CLIENT_DIRTY_CAS);
    unwatch_all(c);
}

void multi_client_free(client *c) { discard_transaction(c); }

void multi_init(void) { db_touch_hook = NULL; }

/* Commands that run at once even inside MULTI. */
int multi_passthrough(const command *cmd) {
    return cmd->proc && (!strcmp(cmd->name, "exec") || !strcmp(cmd->name, "discard") || !strcmp(cmd->name, "multi") ||
                         !strcmp(cmd->name, "watch") || !strcmp(cmd->name, "quit") || !strcmp(cmd->name, "reset"));
}

/* Queue c's current command with a private copy of its arguments (one allocation). */
void multi_queue_command(client *c) {
    if (c->mcount == c->mcap) {
        c->mcap = c->mcap ? c->mcap * 2 : 4;
        c->mstate = realloc(c->mstate, sizeof(*c->mstate) * (size_t)c->mcap);
    }
    size_t bytes = sizeof(resp_slice) * (size_t)c->argc;
    for (int i = 0; i < c->argc; i++) bytes += c->argv[i].len;
    resp_slice *argv = malloc(bytes ? bytes : 1);
    char *p = (char *)(argv + c->argc);
    for (int i = 0; i < c->argc; i++) {
        memcpy(p, c->argv[i].ptr, c->argv[i].len);
        argv[i].ptr = p;
        argv[i].len = c->argv[i].len;
        p += c->argv[i].len;
    }
    multi_cmd *m = &c->mstate[c->mcount++];
    m->cmd = c->cmd;
    m->argc = c->argc;
    m->argv = argv;
    reply_simple(&c->out, "QUEUED");
}

static void multi_command(client *c) {
    if (c->flags & CLIENT_MULTI) {
        reply_error(&c->out, "MULTI calls can not be nested");
        return;
    }
    c->flags |= CLIENT_MULTI;
    reply_ok(&c->out);
}

static void discard_command(client *c) {
    if (!(c->flags & CLIENT_MULTI)) {
        reply_error(&c->out, "DISCARD without MULTI");
        return;
    }
    discard_transaction(c);
    reply_ok(&c->out);
}

/* Has a watched key expired since it was watched? Redis aborts EXEC then too. */
static int watched_key_expired(client *c) {
    for (watched_key *w = c->watched; w; w = w->next) {
        db *d = NULL;
        for (int i = 0; i < server.dbnum; i++)
            if (db_id(server.dbs[i]) == w->e->dbid) d = server.dbs[i];
        if (d) db_lookup_write(d, w->e->key, w->e->klen);   /* lazily expires: the hook marks us */
    }
    return (c->flags & CLIENT_DIRTY_CAS) != 0;
}

static void exec_command(client *c) {
    if (!(c->flags & CLIENT_MULTI)) {
        reply_error(&c->out, "EXEC without MULTI");
        return;
    }
    if (c->flags & CLIENT_DIRTY_EXEC) {
        reply_error(&c->out, "-EXECABORT Transaction discarded because of previous errors.");
        discard_transaction(c);
        return;
    }
    if ((c->flags & CLIENT_DIRTY_CAS) || watched_key_expired(c)) {
        reply_null_array(&c->out);
        discard_transaction(c);
        return;
    }
    unwatch_all(c);
    int argc = c->argc;
    resp_slice *argv = c->argv;
    command *self = c->cmd;
    c->flags |= CLIENT_EXECUTING_EXEC;
    reply_array(&c->out, c->mcount);
    for (int i = 0; i < c->mcount; i++) {
        c->argc = c->mstate[i].argc;
        c->argv = c->mstate[i].argv;
        storage_now_ms = util_mstime();
        call_command(c, c->mstate[i].cmd);
    }
    c->flags &= ~CLIENT_EXECUTING_EXEC;
    c->argc = argc;
    c->argv = argv;
    c->cmd = self;
    discard_transaction(c);
}

static void watch_command(client *c) {
    if (c->flags & CLIENT_MULTI) {
        reply_error(&c->out, "WATCH inside MULTI is not allowed");
        return;
    }
    for (int i = 1; i < c->argc; i++) watch_key(c, c->argv[i].ptr, c->argv[i].len);
    reply_ok(&c->out);
}

static void unwatch_command(client *c) {
    unwatch_all(c);
    reply_ok(&c->out);
}

#define TXF (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY)
struct command multi_commands[] = {
    {"multi", multi_command, 1, TXF, 0, 0, 0, "transactions", "Starts a transaction.", "1.2.0", NULL, NULL, NULL, 0, 0},
    {"exec", exec_command, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "transactions",
     "Executes all commands in a transaction.", "1.2.0", NULL, NULL, NULL, 0, 0},
    {"discard", discard_command, 1, TXF, 0, 0, 0, "transactions", "Discards a transaction.", "2.0.0", NULL, NULL, NULL, 0, 0},
    {"watch", watch_command, -2, TXF, 1, -1, 1, "transactions",
     "Monitors changes to keys to determine the execution of a transaction.", "2.2.0", NULL, NULL, NULL, 0, 0},
    {"unwatch", unwatch_command, 1, TXF, 0, 0, 0, "transactions",
     "Forgets about watched keys of a transaction.", "2.2.0", NULL, NULL, NULL, 0, 0},
    {0},
};
