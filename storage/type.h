/* type.h: the value-type descriptor. Every decision that depends on what a key holds
 * (TYPE's name, OBJECT ENCODING, freeing, memory accounting, COPY, and later RDB and
 * AOF rewrite) asks the key's descriptor; nothing outside a type's own files switches on
 * the type. A type is registered once, explicitly, by types_init; adding one is a
 * storage file defining its descriptor, a command file, and one line in types_init.
 *
 * Two kinds of values. Strings live inside the key's record (storage/db.c: "int",
 * "embstr", "raw" are record encodings), so db.c frees, measures and copies them with
 * the record and their free/memory/dup slots are NULL. Every other type is a pointer
 * held by the record and owned by it: db.c calls the descriptor's free when the key
 * goes, memory to account for it, dup to copy it. The slots about a value therefore take
 * the pointer; the slots about a key (encoding, persistence) take the record, so an
 * inline string fits them too.
 *
 * The persistence slots are NULL until the persistence work fills them; their contract
 * is fixed here so that work only writes the bodies. They speak Redis's RDB value
 * encoding (the body after the type byte and the key) and Redis's commands, through the
 * small writer/reader/emitter interfaces below: storage never sees a file or a socket. */
#ifndef RESPITE_TYPE_H
#define RESPITE_TYPE_H

#include <stddef.h>

#include "storage/db.h"

/* Where RDB bytes go: write(ctx, buf, len) stores all len bytes and returns 0, or -1
 * on an error (which the saver returns at once). */
typedef struct rdb_writer {
    int (*write)(void *ctx, const void *buf, size_t len);
    void *ctx;
} rdb_writer;

/* Where RDB bytes come from: read(ctx, buf, len) fills exactly len bytes and returns 0,
 * or -1 on an error or a short read (the loader gives up and reports corruption). */
typedef struct rdb_reader {
    int (*read)(void *ctx, void *buf, size_t len);
    void *ctx;
} rdb_reader;

/* Where AOF rewrite commands go: emit(ctx, argc, argv, lens) appends one command (argv
 * strings with their lengths; binary-safe, not NUL-terminated) and returns 0, or -1. */
typedef struct aof_emitter {
    int (*emit)(void *ctx, int argc, const char *const *argv, const size_t *lens);
    void *ctx;
} aof_emitter;

typedef struct value_type {
    const char *name; /* what TYPE and SCAN ... TYPE call it: "string", "stream" */
    int id;           /* OBJ_* (Redis's numbering); the record stores it */

    /* OBJECT ENCODING of the value record k holds ("int", "stream", ...). */
    const char *(*encoding)(const rkey *k);

    /* Pointer-held values only (NULL for strings, which live in the record). */
    void (*free)(void *value);
    /* Optional, for lazy freeing (storage/lazyfree.h): what freeing the value costs, in
     * allocations (Redis's lazyfreeGetFreeEffort; O(1) or close), and a step that frees
     * up to units allocations of it, returning 1 once the value is gone entirely. A type
     * without free_step is freed in one free call. */
    size_t (*free_effort)(const void *value);
    int (*free_step)(void *value, size_t units);
    /* Bytes the value holds, allocator blocks included where known. Called on every
     * lookup of the key (db.c caches the figure for maxmemory), so it must be O(1). */
    size_t (*memory)(const void *value);
    /* A deep copy sharing nothing with value (COPY): equal in every observable way. */
    void *(*dup)(const void *value);

    /* ---- persistence (NULL until filled) ---- */
    /* The RDB type byte k's value is saved under (it depends on the encoding for some
     * types, e.g. RDB_TYPE_STREAM_LISTPACKS_2 = 19 for a 7.0 stream). */
    int (*rdb_type)(const rkey *k);
    /* Write k's value in that RDB type's encoding (after the caller wrote the type byte
     * and the key). Returns 0, or -1 if w failed. */
    int (*rdb_save)(const rkey *k, rdb_writer *w);
    /* RDB type bytes this type loads, ending with -1 (the loader dispatches on them). */
    const int *rdb_load_types;
    /* Read a value of RDB type rdbtype from r and store it as key in d (the key is not
     * there: the loader checked). Returns the new record, or NULL on a read error or a
     * malformed value (nothing is stored then). The loader sets the expire afterwards. */
    rkey *(*rdb_load)(rdb_reader *r, int rdbtype, db *d, const char *key, size_t klen);
    /* Emit the commands that rebuild k's value under its key (XADD, XSETID, XGROUP
     * CREATE ... for a stream; SET for a string), without its expire (the rewriter adds
     * PEXPIREAT). Returns 0, or -1 if e failed. */
    int (*aof_rewrite)(const rkey *k, aof_emitter *e);

    /* ---- collections (NULL for strings and streams): what SORT reads and builds ----
     * Elements, the number of them in O(1). */
    size_t (*length)(const void *value);
    /* Call fn on every element in the value's own order (a list from head to tail, a
     * sorted set by ascending score, a set in its iteration order); the bytes are valid
     * during the call only. The value must not change meanwhile. */
    void (*elements)(const void *value, void (*fn)(void *priv, const char *e, size_t len), void *priv);
    /* A new value holding the n elements in that order (SORT ... STORE builds a list). */
    void *(*from_elements)(size_t n, const char *const *elems, const size_t *lens);
    /* Hashes: the value of field f, its length in *vlen (a number may be formatted into
     * tmp, UTIL_LLSTR_SIZE bytes), or NULL if absent (SORT's `pattern->field`). */
    const char *(*field)(const void *value, const char *f, size_t flen, size_t *vlen, char *tmp);
} value_type;

/* The descriptors of the built-in types (storage/db.c, storage/stream.c,
 * storage/t_hash.c, storage/t_set.c). */
extern const value_type string_type;
extern const value_type stream_type;
extern const value_type hash_type;
extern const value_type set_type;
extern const value_type zset_type;
extern const value_type list_type; /* storage/t_list.c */

/* Register every built-in type. Call once before any db holds a value: at server
 * start-up, and in unit tests and fuzzers that store values. */
void types_init(void);
/* Register t under t->id, replacing what was there (tests swap in fakes); returns the
 * descriptor it replaced, or NULL. */
const value_type *type_register(const value_type *t);
/* The descriptor registered for a type id, or NULL. */
const value_type *type_get(int id);
/* The descriptor of the value k holds; never NULL (an unregistered id gets a
 * placeholder named "unknown" with no slots). */
const value_type *type_of(const rkey *k);

#endif
