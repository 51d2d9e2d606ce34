/* reply.h: the one place replies are encoded. A reply_buf is a connection's output: a
 * fixed buffer (allocated at the first reply, so idle connections hold little) plus a
 * list of overflow chunks, read out as iovecs for one writev per
 * batch. It knows the connection's RESP version (2 or 3) and encodes accordingly. */
#ifndef RESPITE_REPLY_H
#define RESPITE_REPLY_H

#include <stddef.h>
#include <sys/uio.h>

#define REPLY_BUF_SIZE   (16 * 1024) /* the fixed buffer */
#define REPLY_CHUNK_SIZE (16 * 1024) /* minimum size of an overflow chunk */

typedef struct reply_chunk {
    struct reply_chunk *next;
    size_t used; /* bytes written into data */
    size_t sent; /* bytes of data already consumed by reply_consume */
    size_t size; /* capacity of data */
    char data[];
} reply_chunk;

typedef struct reply_buf {
    char *buf;   /* REPLY_BUF_SIZE bytes once the first reply came, or NULL */
    size_t cap;  /* 0 or REPLY_BUF_SIZE (less after reply_unlend_fit) */
    int lent;    /* buf is the caller's (reply_lend), not ours to free */
    size_t used; /* bytes written into buf */
    size_t sent; /* bytes of buf already consumed */
    reply_chunk *head, *tail;
    size_t chunk_bytes; /* unsent bytes held in chunks (for output limits) */
    int resp;           /* 2 or 3 */
} reply_buf;

void reply_init(reply_buf *rb);  /* RESP2, empty */
void reply_free(reply_buf *rb);  /* frees buf and chunks; rb may be re-inited */
void reply_clear(reply_buf *rb); /* drop everything unsent */

/* Lend rb a buffer of REPLY_BUF_SIZE bytes to reply into while it has none and nothing
 * is pending (a server shares one among its connections for the length of a read
 * batch). Returns 1 if rb took it. reply_unlend gives it back, moving any unsent bytes
 * into a buffer of rb's own; reply_free never frees a lent buffer. */
int reply_lend(reply_buf *rb, char *buf);
void reply_unlend(reply_buf *rb);
/* reply_unlend into a buffer just big enough for the unsent bytes (later replies go on
 * in chunks): for replies held a moment, where allocating and freeing REPLY_BUF_SIZE
 * bytes would cost more than the rest of the command. */
void reply_unlend_fit(reply_buf *rb);
/* Free rb's own buffer if nothing is pending in it (an idle connection holds none). */
void reply_release_idle(reply_buf *rb);

/* Bytes written but not yet consumed. */
size_t reply_pending(const reply_buf *rb);
/* Fill up to max iovecs with the unsent bytes in order; returns how many were filled. */
int reply_iov(const reply_buf *rb, struct iovec *iov, int max);
/* Mark n bytes as sent (after a successful writev); frees emptied chunks and resets
 * the fixed buffer once it is all sent. */
void reply_consume(reply_buf *rb, size_t n);

/* A position in rb's output, to drop what was appended after it (CLIENT REPLY OFF/SKIP).
 * Valid while nothing of rb is consumed, unlent or freed in between. */
typedef struct reply_mark {
    size_t used;
    reply_chunk *tail;
    size_t tail_used;
} reply_mark;
reply_mark reply_mark_get(const reply_buf *rb);
void reply_truncate(reply_buf *rb, const reply_mark *m);

/* Raw protocol bytes, appended verbatim. */
void reply_raw(reply_buf *rb, const char *p, size_t n);

/* Simple replies. */
void reply_ok(reply_buf *rb);                    /* +OK */
void reply_simple(reply_buf *rb, const char *s); /* +s (s without CRLF) */
void reply_simple_len(reply_buf *rb, const char *s, size_t n);
/* Errors as Redis's addReplyError: if msg starts with '-' it is sent as is ("-WRONGTYPE
 * ..."), otherwise "-ERR " is prepended. CR/LF inside msg become spaces. */
void reply_error(reply_buf *rb, const char *msg);
void reply_error_len(reply_buf *rb, const char *msg, size_t n);
void reply_errorf(reply_buf *rb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Called with every error reply's message as given (before "-ERR " is added): the
 * server counts errors by their code (INFO errorstats). NULL: nothing is called. */
extern void (*reply_error_hook)(const char *msg, size_t n);

void reply_int(reply_buf *rb, long long v); /* :v */
void reply_bulk(reply_buf *rb, const void *p, size_t n);
void reply_bulk_cstr(reply_buf *rb, const char *s);
void reply_bulk_ll(reply_buf *rb, long long v); /* bulk of v's decimal text */
void reply_null(reply_buf *rb);                 /* RESP2 $-1 ; RESP3 _ */
void reply_null_array(reply_buf *rb);           /* RESP2 *-1 ; RESP3 _ */
void reply_array(reply_buf *rb, long n);        /* *n */
void reply_map(reply_buf *rb, long n);          /* RESP2 *(2n) ; RESP3 %n (n pairs) */
void reply_set(reply_buf *rb, long n);          /* RESP2 *n ; RESP3 ~n */
void reply_push(reply_buf *rb, long n);         /* RESP2 *n ; RESP3 >n */
void reply_double(reply_buf *rb, double d);     /* RESP2 bulk "%.17g" ; RESP3 ,d */
void reply_bool(reply_buf *rb, int b);          /* RESP2 :1/:0 ; RESP3 #t/#f */
/* Verbatim string (e.g. INFO, CLIENT LIST): RESP3 "=len\r\ntxt:..." with a 3-letter
 * format such as "txt"; RESP2 a plain bulk. */
void reply_verbatim(reply_buf *rb, const char *p, size_t n, const char *fmt3);
/* Bulk whose length is not known when it starts: reply_bulk_reserve appends the header
 * for n bytes and returns where to write them (n bytes, then the CRLF is added). */
char *reply_bulk_reserve(reply_buf *rb, size_t n);

#endif
