/* type.c: the registry of value types (storage/type.h): one slot per OBJ_* id, filled
 * by types_init. Looking a type up is an array index. */
#include "storage/type.h"

#include <stddef.h>

static const value_type *types[OBJ_TYPES];

static const char *unknown_encoding(const rkey *k) {
    (void)k;
    return "unknown";
}

/* What type_of returns for an id nobody registered (a test that skipped types_init). */
static const value_type unknown_type = {.name = "unknown", .id = -1, .encoding = unknown_encoding};

void types_init(void) {
    type_register(&string_type);
    type_register(&stream_type);
    type_register(&hash_type);
    type_register(&set_type);
    type_register(&zset_type);
    type_register(&list_type);
}

const value_type *type_register(const value_type *t) {
    const value_type *old = types[t->id];
    types[t->id] = t;
    return old;
}

const value_type *type_get(int id) { return id >= 0 && id < OBJ_TYPES ? types[id] : NULL; }

const value_type *type_of(const rkey *k) {
    const value_type *t = type_get(rkey_type(k));
    return t ? t : &unknown_type;
}
