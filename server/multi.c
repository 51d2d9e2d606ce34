/* multi.c: MULTI/EXEC/DISCARD and optimistic locking with WATCH/UNWATCH.
 *
 * Queued commands keep private copies of their arguments (the query buffer moves on).
 * WATCH registers (db, key) -> clients in a keyindex and subscribes to storage's keyspace
 * events while anyone watches: every change to a watched key marks its watchers
 * CLIENT_DIRTY_CAS, so EXEC replies with a null array. A flush or swap touches, as Redis's
 * touchAllWatchedKeysInDb, only the watched keys that exist (in either db of a swap): a
 * WATCH of an absent key survives a FLUSHALL. */
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/acl.h"
#include "server/keyindex.h"
#include "server/server.h"

static keyindex watchers; /* (db, key) -> clients watching it */

static void mark_dirty(void *priv, kindex_entry *e) {
    (void)priv;
    for (kindex_node *n = e->head; n; n = n->next) n->c->flags |= CLIENT_DIRTY_CAS;
}

/* A flush or swap of ev->d (with ev->other): the watched keys alive in either db. */
static void mark_dirty_if_exists(void *priv, kindex_entry *e) {
    const db_event *ev = priv;
    db *dbs[2] = {ev->d, ev->other};
    for (int i = 0; i < 2 && dbs[i]; i++) {
        rkey *k = db_peek(dbs[i], e->key, e->klen);
        if (k && db_key_alive(dbs[i], k)) {
            mark_dirty(NULL, e);
            return;
        }
    }
}

static void watch_key_event(void *priv, const db_event *ev) {
    (void)priv;
    int dbid = db_id(ev->d);
    if (!ev->key) {
        keyindex_foreach_db(&watchers, dbid, mark_dirty_if_exists, (void *)ev);
        return;
    }
    kindex_entry *e = keyindex_find(&watchers, dbid, ev->key, ev->klen);
    if (e) mark_dirty(NULL, e);
}

static int watch_sub = -1; /* our db_subscribe handle while anyone watches */

static void watch_update_subscription(void) {
    if (watchers.count && watch_sub < 0) {
        watch_sub = db_subscribe(watch_key_event, NULL);
    } else if (!watchers.count && watch_sub >= 0) {
        db_unsubscribe(watch_sub);
        watch_sub = -1;
    }
}

static void watch_key(client *c, const char *key, size_t klen) {
    int dbid = db_id(c->db);
    for (kindex_node *w = c->watched; w; w = w->cnext)
        if (w->entry->dbid == dbid && w->entry->klen == klen && !memcmp(w->entry->key, key, klen)) return;
    /* A key already expired when watched is reclaimed now, before we listen: Redis
     * treats its later deletion as no change ("WATCH stale keys should not fail EXEC"). */
    db_lookup_write(c->db, key, klen);
    kindex_node *n = keyindex_add(&watchers, dbid, key, klen, c);
    n->cnext = c->watched;
    c->watched = n;
    watch_update_subscription();
}

static void unwatch_all(client *c) {
    kindex_node *w = c->watched, *next;
    for (; w; w = next) {
        next = w->cnext;
        keyindex_remove(&watchers, w);
    }
    c->watched = NULL;
    c->flags &= ~CLIENT_DIRTY_CAS;
    watch_update_subscription();
}

static void cmd_exec(client *c);

static void discard_transaction(client *c) {
    for (int i = 0; i < c->mcount; i++) free(c->mstate[i].argv);
    free(c->mstate);
    c->mstate = NULL;
    c->mcount = c->mcap = 0;
    c->flags &= ~(CLIENT_MULTI | CLIENT_DIRTY_EXEC | CLIENT_DIRTY_CAS);
    unwatch_all(c);
}

void multi_client_free(client *c) { discard_transaction(c); }

void multi_init(void) {}

/* Commands that run at once even inside MULTI. */
int multi_passthrough(const command *cmd) {
    return cmd->proc && (!strcmp(cmd->name, "exec") || !strcmp(cmd->name, "discard") || !strcmp(cmd->name, "multi") ||
                         !strcmp(cmd->name, "watch") || !strcmp(cmd->name, "quit") || !strcmp(cmd->name, "reset"));
}

/* Queue c's current command with a private copy of its arguments (one allocation). */
void multi_queue_command(client *c) {
    if (c->mcount == c->mcap) {
        c->mcap = c->mcap ? c->mcap * 2 : 4;
        c->mstate = xrealloc(c->mstate, sizeof(*c->mstate) * (size_t)c->mcap);
    }
    multi_cmd *m = &c->mstate[c->mcount++];
    m->cmd = c->cmd;
    m->argc = c->argc;
    m->argv = argv_dup(c->argv, c->argc);
    reply_simple(&c->out, "QUEUED");
}

int multi_is_exec(const command *cmd) { return cmd && cmd->proc == cmd_exec; }

/* EXEC rejected before it ran (arity, auth...): the transaction is discarded and the
 * reason given inside EXECABORT, as Redis's execCommandAbort. */
void multi_exec_abort(client *c, const char *msg) {
    discard_transaction(c);
    if (msg[0] == '-') msg++;
    reply_errorf(&c->out, "-EXECABORT Transaction discarded because of: %s", msg);
}

static void cmd_multi(client *c) {
    if (c->flags & CLIENT_MULTI) {
        reply_error(&c->out, "MULTI calls can not be nested");
        return;
    }
    c->flags |= CLIENT_MULTI;
    reply_ok(&c->out);
}

static void cmd_discard(client *c) {
    if (!(c->flags & CLIENT_MULTI)) {
        reply_error(&c->out, "DISCARD without MULTI");
        return;
    }
    discard_transaction(c);
    reply_ok(&c->out);
}

/* Has a watched key expired since it was watched? Redis aborts EXEC then too. */
static int watched_key_expired(client *c) {
    for (kindex_node *w = c->watched; w; w = w->cnext) {
        db *d = NULL;
        for (int i = 0; i < server.dbnum; i++)
            if (db_id(server.dbs[i]) == w->entry->dbid) d = server.dbs[i];
        if (d) db_lookup_write(d, w->entry->key, w->entry->klen); /* lazily expires: the event marks us */
    }
    return (c->flags & CLIENT_DIRTY_CAS) != 0;
}

static void cmd_exec(client *c) {
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
        if (!acl_exec_denied(c, c->mstate[i].cmd)) call_command(c, c->mstate[i].cmd);
    }
    c->flags &= ~CLIENT_EXECUTING_EXEC;
    c->argc = argc;
    c->argv = argv;
    c->cmd = self;
    discard_transaction(c);
}

static void cmd_watch(client *c) {
    if (c->flags & CLIENT_MULTI) {
        reply_error(&c->out, "WATCH inside MULTI is not allowed");
        return;
    }
    for (int i = 1; i < c->argc; i++) watch_key(c, c->argv[i].ptr, c->argv[i].len);
    reply_ok(&c->out);
}

static void cmd_unwatch(client *c) {
    unwatch_all(c);
    reply_ok(&c->out);
}

const command_binding multi_commands[] = {
    CMD("multi", cmd_multi), CMD("exec", cmd_exec),       CMD("discard", cmd_discard),
    CMD("watch", cmd_watch), CMD("unwatch", cmd_unwatch), {0},
};
