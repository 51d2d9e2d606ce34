/* notify.h: keyspace notifications (the notify-keyspace-events setting). A change to a
 * key is published, as Redis 7.0 publishes it, on `__keyspace@<db>__:<key>` (message:
 * the event name) and `__keyevent@<db>__:<event>` (message: the key), when the event's
 * class and K or E are enabled.
 *
 * Commands name their events at the call site, one line after the change and before the
 * reply, where Redis's t_*.c put theirs ("set", "lpush", "del" when a collection empties,
 * ...). "new", "expired" and "evicted" come from storage's typed keyspace events
 * (storage/db.h), which this module subscribes to only while one of those classes is on.
 * With notifications off a call site costs one flag test. */
#ifndef RESPITE_NOTIFY_H
#define RESPITE_NOTIFY_H

#include <stddef.h>

/* Event classes (Redis's NOTIFY_* bits; the letters are the setting's). */
enum {
    NOTIFY_KEYSPACE = 1 << 0,  /* K */
    NOTIFY_KEYEVENT = 1 << 1,  /* E */
    NOTIFY_GENERIC = 1 << 2,   /* g */
    NOTIFY_STRING = 1 << 3,    /* $ */
    NOTIFY_LIST = 1 << 4,      /* l */
    NOTIFY_SET = 1 << 5,       /* s */
    NOTIFY_HASH = 1 << 6,      /* h */
    NOTIFY_ZSET = 1 << 7,      /* z */
    NOTIFY_EXPIRED = 1 << 8,   /* x */
    NOTIFY_EVICTED = 1 << 9,   /* e */
    NOTIFY_STREAM = 1 << 10,   /* t */
    NOTIFY_KEY_MISS = 1 << 11, /* m */
    NOTIFY_LOADED = 1 << 12,   /* module key loaded: never raised here */
    NOTIFY_MODULE = 1 << 13,   /* d */
    NOTIFY_NEW = 1 << 14,      /* n */
};

/* The classes that publish: the setting's class bits, or 0 when neither K nor E is on. */
extern int notify_classes;

/* Publish event for key in db dbid (call through notify_keyspace_event). */
void notify_publish(int type, const char *event, const char *key, size_t klen, int dbid);

/* Is any of these classes published? (Guard work done only to notify.) */
static inline int notify_wanted(int type) { return notify_classes & type; }

/* Publish event for key (ptr, len) in db dbid when its class is on. A macro, so that with
 * notifications off nothing but the flag test runs (not even the arguments). */
#define notify_keyspace_event(type, event, key, klen, dbid)                                                            \
    do {                                                                                                               \
        if (notify_classes & (type)) notify_publish((type), (event), (key), (klen), (dbid));                           \
    } while (0)

/* The common call site: the key is the command's argv[i], in the client's db. */
#define notify_arg(c, type, event, i)                                                                                  \
    notify_keyspace_event((type), (event), (c)->argv[i].ptr, (c)->argv[i].len, db_id((c)->db))

/* Parse the setting's letters as given (already validated; A with n keeps n, though
 * CONFIG GET shows only A) into the flags, and subscribe to or
 * leave storage's keyspace events as the n, x and e classes need. */
void notify_set_flags(const char *letters);

#endif
