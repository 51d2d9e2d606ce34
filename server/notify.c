/* notify.c: keyspace notifications (server/notify.h): the setting's letters as flags,
 * the two channels of one event built and published, and the events that storage
 * raises itself (a key created, expired or evicted) turned into notifications. */
#include "server/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/pubsub.h"
#include "storage/db.h"

int notify_classes;

static int notify_flags;     /* every bit the setting names */
static int storage_sub = -1; /* our db_subscribe handle while n, x or e is on */

/* Publish "<prefix><db>__:<name>" with msg. */
static void publish_on(const char *prefix, int dbid, const char *name, size_t nlen, const char *msg, size_t mlen) {
    char small[256];
    char head[48];
    int hl = snprintf(head, sizeof(head), "%s%d__:", prefix, dbid);
    size_t len = (size_t)hl + nlen;
    char *ch = len <= sizeof(small) ? small : xmalloc(len);
    memcpy(ch, head, (size_t)hl);
    memcpy(ch + hl, name, nlen);
    pubsub_publish(ch, len, msg, mlen);
    if (ch != small) free(ch);
}

void notify_publish(int type, const char *event, const char *key, size_t klen, int dbid) {
    (void)type;
    if (!pubsub_any()) return; /* nobody to tell: skip building the channels */
    size_t elen = strlen(event);
    if (notify_flags & NOTIFY_KEYSPACE) publish_on("__keyspace@", dbid, key, klen, event, elen);
    if (notify_flags & NOTIFY_KEYEVENT) publish_on("__keyevent@", dbid, event, elen, key, klen);
}

static void storage_event(void *priv, const db_event *ev) {
    (void)priv;
    switch (ev->type) {
        case DB_EV_NEW: notify_keyspace_event(NOTIFY_NEW, "new", ev->key, ev->klen, db_id(ev->d)); break;
        case DB_EV_EXPIRED: notify_keyspace_event(NOTIFY_EXPIRED, "expired", ev->key, ev->klen, db_id(ev->d)); break;
        case DB_EV_EVICTED: notify_keyspace_event(NOTIFY_EVICTED, "evicted", ev->key, ev->klen, db_id(ev->d)); break;
        default: break;
    }
}

static void key_missed(const db *d, const char *key, size_t klen) {
    notify_keyspace_event(NOTIFY_KEY_MISS, "keymiss", key, klen, db_id(d));
}

void notify_set_flags(const char *letters) {
    static const struct {
        char c;
        int flag;
    } map[] = {{'g', NOTIFY_GENERIC},  {'$', NOTIFY_STRING},   {'l', NOTIFY_LIST},    {'s', NOTIFY_SET},
               {'h', NOTIFY_HASH},     {'z', NOTIFY_ZSET},     {'x', NOTIFY_EXPIRED}, {'e', NOTIFY_EVICTED},
               {'t', NOTIFY_STREAM},   {'m', NOTIFY_KEY_MISS}, {'d', NOTIFY_MODULE},  {'n', NOTIFY_NEW},
               {'K', NOTIFY_KEYSPACE}, {'E', NOTIFY_KEYEVENT}};
    const int all = NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | NOTIFY_ZSET |
                    NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE;
    int f = 0;
    for (const char *p = letters; *p; p++) {
        if (*p == 'A') f |= all;
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
            if (map[i].c == *p) f |= map[i].flag;
    }
    notify_flags = f;
    notify_classes = f & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT) ? f & ~(NOTIFY_KEYSPACE | NOTIFY_KEYEVENT) : 0;
    db_miss_hook = notify_classes & NOTIFY_KEY_MISS ? key_missed : NULL;
    int want = (notify_classes & (NOTIFY_NEW | NOTIFY_EXPIRED | NOTIFY_EVICTED)) != 0;
    if (want && storage_sub < 0) storage_sub = db_subscribe(storage_event, NULL);
    else if (!want && storage_sub >= 0) {
        db_unsubscribe(storage_sub);
        storage_sub = -1;
    }
}
