/* t_list.h: the storage side of Redis lists: a sequence of binary-safe elements with
 * O(1) pushes and pops at both ends and index access that walks only a node's bytes.
 * No replies, no argv: server/cmd_list.c builds LPUSH ... BLMPOP on this API.
 *
 * Indexes are 0-based from the head; callers turn Redis's negative indexes into these.
 * A value read out of a list (list_val) is either bytes pointing into the list or an
 * integer (elements that are canonical decimal integers are stored as numbers) or packed
 * hex digits; such pointers are valid until the list is next changed (an iterator's, until
 * it moves to another node or is released: a compressed node is read from its copy). */
#ifndef RESPITE_T_LIST_H
#define RESPITE_T_LIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct list list;

typedef struct list_val {
    const unsigned char *pre; /* the element is pre[0..prelen) followed by p[0..len) */
    size_t prelen;
    const unsigned char *p; /* bytes, or NULL if the element is the integer v */
    size_t len;
    long long v;
    int hex; /* packed text of len characters at p: 1 hex a-f, 2 hex A-F (two a byte), 3 base64url (six bits each) */
} list_val;

/* Room list_val_str needs for an element stored as prefix + rest or as an integer. */
#define LIST_VAL_TMP 336

enum { LIST_HEAD = 0, LIST_TAIL = 1 };

/* Node size limit: Redis's list-max-listpack-size (positive: elements per node;
 * -1..-5: 4, 8, 16, 32, 64 KB per node in Redis, of which respite's denser nodes use
 * half). Read when a node is filled; set from the server's config. */
extern int list_fill;

/* Redis's list-compress-depth: nodes further than this many from either end are kept
 * LZF-compressed (0: none). A list takes the value in force when it is created. */
extern int list_compress_depth;

list *list_new(void);
void list_free(list *l);
list *list_dup(const list *l);
size_t list_len(const list *l);
/* Bytes held, allocator blocks' sizes as requested; O(1). */
size_t list_memory(const list *l);
/* Number of nodes (OBJECT ENCODING/DEBUG views and tests). */
size_t list_nodes(const list *l);
/* Number of nodes held compressed (tests). */
size_t list_compressed_nodes(const list *l);

void list_push(list *l, int where, const char *p, size_t len);

/* Element at index i (0 <= i < len) into out; O(1) at either end. A pop is
 * list_index of 0 or len-1, then list_delete_range of that one element. */
void list_index(const list *l, size_t i, list_val *out);
/* Replace element i (0 <= i < len). */
void list_set(list *l, size_t i, const char *p, size_t len);
/* Insert before element i (i == len appends). */
void list_insert_at(list *l, size_t i, const char *p, size_t len);
/* Remove count elements starting at index i (i + count <= len); O(1) for one element
 * at either end. */
void list_delete_range(list *l, size_t i, size_t count);

/* Does the element equal these bytes? */
int list_val_eq(const list_val *v, const char *p, size_t len);
/* The element's bytes: contiguous in the list, or assembled into tmp (LIST_VAL_TMP
 * bytes) for an integer, a prefixed or a hex-packed element. */
const char *list_val_str(const list_val *v, char *tmp, size_t *len);

/* Iteration from index i towards the tail (dir LIST_TAIL) or the head (LIST_HEAD).
 * The list must not change while an iterator is in use. */
typedef struct list_iter {
    const list *l;
    int dir;
    uint32_t node;    /* position in the node array */
    uint32_t off;     /* byte offset in the node (forward) */
    uint32_t ent;     /* entry index in the node */
    uint32_t pending; /* the node moved: load it on the next call */
    uint32_t *offs;   /* backward: entry offsets of the current node */
    uint32_t offs_cap;
    size_t left;     /* elements still to visit */
    const void *cur; /* the node read: the list's own, or dec */
    void *dec;       /* decompressed copy of a compressed node */
    size_t dec_cap;
} list_iter;

void list_iter_init(list_iter *it, const list *l, size_t i, int dir);
/* Next element into out; 0 when done. */
int list_iter_next(list_iter *it, list_val *out);
void list_iter_release(list_iter *it);

/* Internal consistency check for tests: 1 if every count and size agrees. */
int list_check(const list *l);

#endif
