/* aof_rewrite.h: the commands that rebuild a value (the value-type descriptors'
 * aof_rewrite slot, storage/type.h) and a whole keyspace, as Redis 7.0's
 * rewriteAppendOnlyFileRio writes an AOF-format base file. */
#ifndef RESPITE_AOF_REWRITE_H
#define RESPITE_AOF_REWRITE_H

#include "storage/type.h"

/* Elements per RPUSH/SADD/ZADD/HMSET command, as Redis's AOF_REWRITE_ITEMS_PER_CMD. */
#define AOF_REWRITE_ITEMS_PER_CMD 64

/* Microseconds to sleep after each key (the hidden rdb-key-save-delay setting, as
 * Redis's: lets tests catch a rewrite child in the act). */
extern long long aof_rewrite_key_delay_us;

/* The descriptors' aof_rewrite slots. */
int string_aof_rewrite(const rkey *k, aof_emitter *e);
int list_aof_rewrite(const rkey *k, aof_emitter *e);
int set_aof_rewrite(const rkey *k, aof_emitter *e);
int zset_aof_rewrite(const rkey *k, aof_emitter *e);
int hash_aof_rewrite(const rkey *k, aof_emitter *e);
int stream_aof_rewrite(const rkey *k, aof_emitter *e);

/* Every live key of the n dbs (those expired at now_ms are left out): SELECT for each
 * db that has keys, the value's commands, then PEXPIREAT for a key with a TTL. Returns
 * 0, or -1 as soon as e fails (or a type has no aof_rewrite). */
int aof_rewrite_keyspace(db *const *dbs, int n, long long now_ms, aof_emitter *e);

#endif
