/* rdb.h: Redis 7.0's RDB file format (version 10), what redis-server 7.0.15 writes and
 * reads: the whole-file saver and loader (header, aux fields, SELECTDB, RESIZEDB,
 * expires, EOF and the CRC-64), the DUMP/RESTORE payload (one value, the 2-byte RDB
 * version and the CRC-64), and the encoding primitives the value types' persistence
 * slots (storage/type.h) use to write and read themselves: lengths, strings (integer
 * encoded or LZF-compressed as Redis chooses), binary doubles, and the compact blobs
 * Redis stores collections in (listpacks, which are written; ziplists and intsets,
 * which older files and small sets hold and which are read and checked).
 *
 * Format code only: files are file descriptors handed in by the caller; no settings
 * are read here (rdb_compress is set by the server). Every reader checks what it reads:
 * a corrupt or truncated file or payload is refused with a message, never trusted. */
#ifndef RESPITE_RDB_H
#define RESPITE_RDB_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "storage/db.h"
#include "storage/type.h"

#define RDB_VERSION 10

/* Value type bytes (Redis's RDB_TYPE_*). */
enum {
    RDB_TYPE_STRING = 0,
    RDB_TYPE_LIST = 1,
    RDB_TYPE_SET = 2,
    RDB_TYPE_ZSET = 3,
    RDB_TYPE_HASH = 4,
    RDB_TYPE_ZSET_2 = 5,
    RDB_TYPE_MODULE = 6,
    RDB_TYPE_MODULE_2 = 7,
    RDB_TYPE_HASH_ZIPMAP = 9,
    RDB_TYPE_LIST_ZIPLIST = 10,
    RDB_TYPE_SET_INTSET = 11,
    RDB_TYPE_ZSET_ZIPLIST = 12,
    RDB_TYPE_HASH_ZIPLIST = 13,
    RDB_TYPE_LIST_QUICKLIST = 14,
    RDB_TYPE_STREAM_LISTPACKS = 15,
    RDB_TYPE_HASH_LISTPACK = 16,
    RDB_TYPE_ZSET_LISTPACK = 17,
    RDB_TYPE_LIST_QUICKLIST_2 = 18,
    RDB_TYPE_STREAM_LISTPACKS_2 = 19,
};

/* Opcodes (Redis's RDB_OPCODE_*). */
enum {
    RDB_OPCODE_FUNCTION2 = 245,
    RDB_OPCODE_FUNCTION_PRE_GA = 246,
    RDB_OPCODE_MODULE_AUX = 247,
    RDB_OPCODE_IDLE = 248,
    RDB_OPCODE_FREQ = 249,
    RDB_OPCODE_AUX = 250,
    RDB_OPCODE_RESIZEDB = 251,
    RDB_OPCODE_EXPIRETIME_MS = 252,
    RDB_OPCODE_EXPIRETIME = 253,
    RDB_OPCODE_SELECTDB = 254,
    RDB_OPCODE_EOF = 255,
};

/* rdbcompression: strings longer than 20 bytes are LZF-compressed when it saves bytes. */
extern int rdb_compress;

/* Function libraries live in the server (server/function.c), which storage cannot call:
 * the server sets these. Saving writes each library's code as RDB_OPCODE_FUNCTION2;
 * loading registers each (NULL: skipped and counted in functions_skipped). */
extern void (*rdb_functions_foreach)(void (*fn)(void *priv, const char *code, size_t len), void *priv);
extern const char *(*rdb_function_load)(const char *code, size_t len, char *err, size_t errsize);

/* ---- encoding primitives (each returns 0, or -1 when the writer/reader failed or the
 * data read is malformed) ---- */
int rdb_write_raw(rdb_writer *w, const void *p, size_t len);
int rdb_save_u8(rdb_writer *w, unsigned v);
int rdb_save_len(rdb_writer *w, uint64_t len);
/* A string as Redis's rdbSaveRawString: integer-encoded when it is a canonical integer
 * of at most 11 characters that fits 32 bits, LZF-compressed when rdb_compress and it
 * is longer than 20 bytes and compresses, raw otherwise. */
int rdb_save_string(rdb_writer *w, const char *s, size_t len);
/* An integer as a string (Redis's rdbSaveLongLongAsStringObject). */
int rdb_save_ll_string(rdb_writer *w, long long v);
int rdb_save_double(rdb_writer *w, double v); /* 8 bytes, little-endian IEEE (ZSET_2) */
int rdb_save_ms(rdb_writer *w, long long ms); /* 8 bytes, little-endian */
int rdb_read_raw(rdb_reader *r, void *p, size_t len);
int rdb_load_u8(rdb_reader *r, unsigned char *v);
int rdb_load_len(rdb_reader *r, uint64_t *len); /* a plain length (an encoded string's marker is an error) */
/* A string in any of its encodings, as a malloc'd buffer with a NUL after len bytes
 * (the caller frees it); NULL on error. An integer-encoded one comes back formatted. */
char *rdb_load_string(rdb_reader *r, size_t *len);
/* The same into buf when it fits (cap bytes, the NUL included): returns buf then, else a
 * malloc'd buffer as above (the caller frees what is not buf). */
char *rdb_load_string_buf(rdb_reader *r, char *buf, size_t cap, size_t *len);
int rdb_load_double(rdb_reader *r, double *v);
int rdb_load_ms(rdb_reader *r, long long *ms);
/* The old text-encoded double (RDB_TYPE_ZSET): a length byte then "%.17g" text, with
 * 253/254/255 for nan/+inf/-inf. */
int rdb_load_double_text(rdb_reader *r, double *v);

/* ---- listpacks (Redis 7.0's compact encoding: hashes, sorted sets, list nodes,
 * stream nodes) ---- */
typedef struct lp_builder {
    unsigned char *buf;
    size_t len, cap;
    size_t count;
} lp_builder;
void lpb_init(lp_builder *b);
/* Append an element: stored as an integer when it is a canonical one, as Redis does. */
void lpb_add(lp_builder *b, const char *s, size_t len);
void lpb_add_int(lp_builder *b, long long v);
/* Bytes the listpack would take now (header and terminator included). */
size_t lpb_size(const lp_builder *b);
/* Bytes lpb_add would append for this element. */
size_t lpb_entry_size(const char *s, size_t len);
/* Finish: header and terminator written; the buffer (b->buf, b->len) is the caller's. */
void lpb_finish(lp_builder *b);
void lpb_free(lp_builder *b);

/* Reading a listpack, ziplist or intset blob that came from a file: each entry is
 * checked against the blob's bounds and encodings. */
typedef struct blob_iter {
    const unsigned char *p, *start, *end;
    size_t count; /* entries read so far */
    size_t declared;
    int kind; /* BLOB_LISTPACK, BLOB_ZIPLIST, BLOB_INTSET */
    unsigned isenc;
    char num[UTIL_LLSTR_SIZE];
} blob_iter;
enum { BLOB_LISTPACK = 1, BLOB_ZIPLIST, BLOB_INTSET };
/* Check the header; returns 0, or -1 if the blob is malformed. */
int blob_iter_init(blob_iter *it, int kind, const unsigned char *p, size_t len);
/* The next element as bytes (integers formatted into it->num): 1, 0 at the end (the
 * declared count is checked then), -1 if malformed. */
int blob_iter_next(blob_iter *it, const char **s, size_t *len);
/* Entries in the blob's header (may be a lower bound for a long listpack). */
size_t blob_declared(const blob_iter *it);

/* ---- whole files ---- */
typedef struct rdb_save_opts {
    int checksum;          /* rdbchecksum: the CRC-64, or 0 in its place */
    int aof_base;          /* aux aof-base (an AOF's RDB preamble) */
    long long ctime;       /* aux ctime, Unix seconds */
    long long used_mem;    /* aux used-mem */
    const char *redis_ver; /* aux redis-ver */
} rdb_save_opts;
/* Write an RDB file of the n dbs to fd (through a buffer; fd's offset moves to its end).
 * Returns 0, or -1 with errno from the failed write. Does not fsync. */
int rdb_save_fd(int fd, db *const *dbs, int n, const rdb_save_opts *o);

typedef struct rdb_load_info {
    long long now_ms;       /* keys whose expire is before this are not loaded */
    int verify_checksum;    /* rdbchecksum */
    long long keys_loaded;  /* out */
    long long keys_expired; /* out */
    int aof_base;           /* out: the file said aof-base 1 */
    int functions_skipped;  /* out: FUNCTION payloads skipped (respite has no functions) */
    long long used_mem;     /* out: the file's aux used-mem, once read */
    /* Called each time about progress_bytes more of the file were read, with the bytes
     * consumed so far (keys_loaded/keys_expired are current); nonzero stops the load (-1,
     * aborted set). progress_arg is the caller's. */
    int (*progress)(struct rdb_load_info *info, long long read_bytes);
    long long progress_bytes;
    void *progress_arg;
    int aborted;   /* out */
    char err[512]; /* out: why loading failed */
} rdb_load_info;
/* Load an RDB file from fd into the n dbs (keys already there are a duplicate-key
 * error). fd's offset is left just past the file's checksum (an AOF's preamble is
 * followed by commands). Returns 0, or -1 with info->err set; the dbs may then hold
 * part of the file. */
int rdb_load_fd(int fd, db *const *dbs, int n, rdb_load_info *info);

/* ---- DUMP / RESTORE ---- */
/* DUMP's payload for k (type byte, value, 2-byte RDB version, CRC-64), malloc'd. */
char *rdb_dump_payload(const rkey *k, size_t *len);
/* 1 if the payload's version (<= ours) and CRC are right (Redis's verifyDumpPayload). */
int rdb_payload_verify(const char *p, size_t len);
/* Store the payload's value as key in d (the key must not exist); NULL if the value is
 * malformed (nothing stored). The caller verified the payload. */
rkey *rdb_restore_payload(db *d, const char *key, size_t klen, const char *p, size_t len);

/* FUNCTION DUMP's payload: each library (rdb_functions_foreach) as RDB_OPCODE_FUNCTION2
 * and its code, then the footer, malloc'd. */
char *rdb_dump_functions(size_t *len);
/* Hand each library's code in a FUNCTION RESTORE payload (verified by the caller) to
 * load, which returns 0, or -1 after filling err. Returns 0, or -1 with Redis's error
 * text (without "ERR ") in err when load failed or the payload is malformed. Reads the
 * FUNCTION2 opcode and the 7.0 release candidates' format. */
typedef int (*rdb_function_cb)(void *priv, const char *code, size_t len, char *err, size_t errsize);
int rdb_restore_functions(const char *p, size_t len, rdb_function_cb load, void *priv, char *err, size_t errsize);

/* The collection types' persistence slots (storage/rdb_types.c), for their descriptors. */
int hash_rdb_type(const rkey *k);
int hash_rdb_save(const rkey *k, rdb_writer *w);
rkey *hash_rdb_load(rdb_reader *r, int rdbtype, db *d, const char *key, size_t klen);
int set_rdb_type(const rkey *k);
int set_rdb_save(const rkey *k, rdb_writer *w);
rkey *set_rdb_load(rdb_reader *r, int rdbtype, db *d, const char *key, size_t klen);
int zset_rdb_type(const rkey *k);
int zset_rdb_save(const rkey *k, rdb_writer *w);
rkey *zset_rdb_load(rdb_reader *r, int rdbtype, db *d, const char *key, size_t klen);
int list_rdb_type(const rkey *k);
int list_rdb_save(const rkey *k, rdb_writer *w);
rkey *list_rdb_load(rdb_reader *r, int rdbtype, db *d, const char *key, size_t klen);
extern const int hash_rdb_types[], set_rdb_types[], zset_rdb_types[], list_rdb_types[];

/* Set k's access field from an RDB IDLE (seconds) or FREQ value (-1: absent) when the
 * eviction policy keeps that kind (RESTORE's IDLETIME/FREQ too). */
void rdb_set_access(rkey *k, long long idle_s, long long freq);

/* Used by the loader and the value types: the descriptor that loads rdbtype, or NULL. */
const value_type *rdb_type_loader(int rdbtype);

#endif
