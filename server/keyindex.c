/* keyindex.c: a chained hash of (db, key) entries, each with a doubly linked FIFO of
 * client nodes, so adding at the tail and removing any node are O(1). The table doubles
 * when entries outnumber buckets; entries are freed as soon as their list empties. */
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "common/util.h"
#include "server/keyindex.h"

static size_t bucket_of(size_t size, int dbid, const char *key, size_t klen) {
    return (util_hash(key, klen) ^ ((uint64_t)(unsigned)dbid * 0x9E3779B97F4A7C15ULL)) & (size - 1);
}

static void keyindex_grow(keyindex *ix) {
    size_t nsize = ix->size ? ix->size * 2 : 64;
    kindex_entry **nt = xcalloc(nsize, sizeof(*nt));
    for (size_t i = 0; i < ix->size; i++) {
        kindex_entry *e = ix->table[i], *next;
        for (; e; e = next) {
            next = e->next;
            size_t b = bucket_of(nsize, e->dbid, e->key, e->klen);
            e->next = nt[b];
            nt[b] = e;
        }
    }
    free(ix->table);
    ix->table = nt;
    ix->size = nsize;
}

kindex_entry *keyindex_find(const keyindex *ix, int dbid, const char *key, size_t klen) {
    if (!ix->count) return NULL;
    for (kindex_entry *e = ix->table[bucket_of(ix->size, dbid, key, klen)]; e; e = e->next)
        if (e->dbid == dbid && e->klen == klen && !memcmp(e->key, key, klen)) return e;
    return NULL;
}

kindex_node *keyindex_add(keyindex *ix, int dbid, const char *key, size_t klen, struct client *c) {
    kindex_entry *e = keyindex_find(ix, dbid, key, klen);
    if (!e) {
        if (ix->count >= ix->size) keyindex_grow(ix);
        e = xcalloc(1, sizeof(*e) + klen);
        e->dbid = dbid;
        e->klen = klen;
        memcpy(e->key, key, klen);
        size_t b = bucket_of(ix->size, dbid, key, klen);
        e->next = ix->table[b];
        ix->table[b] = e;
        ix->count++;
    }
    kindex_node *n = xcalloc(1, sizeof(*n));
    n->entry = e;
    n->c = c;
    n->prev = e->tail;
    if (e->tail) e->tail->next = n;
    else e->head = n;
    e->tail = n;
    e->n++;
    return n;
}

void keyindex_remove(keyindex *ix, kindex_node *n) {
    kindex_entry *e = n->entry;
    if (n->prev) n->prev->next = n->next;
    else e->head = n->next;
    if (n->next) n->next->prev = n->prev;
    else e->tail = n->prev;
    e->n--;
    free(n);
    keyindex_drop_if_empty(ix, e);
}

/* Free an entry that has no nodes (after its owner cleared its flag). */
void keyindex_drop_if_empty(keyindex *ix, kindex_entry *e) {
    if (e->n || e->flag) return;
    kindex_entry **pp = &ix->table[bucket_of(ix->size, e->dbid, e->key, e->klen)];
    while (*pp != e) pp = &(*pp)->next;
    *pp = e->next;
    free(e);
    ix->count--;
}

void keyindex_foreach_db(const keyindex *ix, int dbid, void (*fn)(void *priv, kindex_entry *e), void *priv) {
    for (size_t i = 0; i < ix->size; i++)
        for (kindex_entry *e = ix->table[i]; e; e = e->next)
            if (e->dbid == dbid) fn(priv, e);
}

void keyindex_free(keyindex *ix) {
    for (size_t i = 0; i < ix->size; i++) {
        kindex_entry *e = ix->table[i], *next;
        for (; e; e = next) {
            next = e->next;
            kindex_node *n = e->head, *nn;
            for (; n; n = nn) {
                nn = n->next;
                free(n);
            }
            free(e);
        }
    }
    free(ix->table);
    ix->table = NULL;
    ix->size = ix->count = 0;
}
