/* keyindex.h: (db, key) -> FIFO list of clients. WATCH uses it to find the watchers of a
 * touched key; blocking reads use it to find, in arrival order, the clients waiting on a
 * key. Entries exist only while they have clients. */
#ifndef RESPITE_KEYINDEX_H
#define RESPITE_KEYINDEX_H

#include <stddef.h>

struct client;

typedef struct kindex_node {
    struct kindex_node *prev, *next; /* in the entry's FIFO */
    struct kindex_entry *entry;
    struct client *c;
    struct kindex_node *cnext; /* free for the owner: e.g. a client's own list */
} kindex_node;

typedef struct kindex_entry {
    struct kindex_entry *next; /* hash chain */
    kindex_node *head, *tail;
    size_t n;
    int dbid;
    int flag;                   /* free for the owner: e.g. "queued as ready" */
    struct kindex_entry *rnext; /* free for the owner: e.g. the ready queue */
    size_t klen;
    char key[];
} kindex_entry;

typedef struct keyindex {
    kindex_entry **table;
    size_t size, count; /* buckets (power of two), entries */
} keyindex;

kindex_entry *keyindex_find(const keyindex *ix, int dbid, const char *key, size_t klen);
/* Append c at the tail of (dbid, key)'s list; returns its node. */
kindex_node *keyindex_add(keyindex *ix, int dbid, const char *key, size_t klen, struct client *c);
/* Unlink and free a node; its entry is freed too once empty, unless the entry's flag is
 * set (then the owner calls keyindex_drop_if_empty after clearing it). */
void keyindex_remove(keyindex *ix, kindex_node *n);
void keyindex_drop_if_empty(keyindex *ix, kindex_entry *e);
/* Call fn for every entry of db dbid. fn must not add or remove nodes. */
void keyindex_foreach_db(const keyindex *ix, int dbid, void (*fn)(void *priv, kindex_entry *e), void *priv);
void keyindex_free(keyindex *ix);

#endif
