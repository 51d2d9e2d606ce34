/* reply.c: the reply encoder. Every reply byte a connection sends is appended here, in
 * RESP2 or RESP3 as the reply_buf says, and read back out as iovecs for writev.
 *
 * Layout and invariants:
 *   - buf is malloc'ed (not zeroed) at the first append: a connection that only ever
 *     gets short replies keeps one page of it resident;
 *   - bytes go into the fixed buf while no overflow chunk exists; once one exists every
 *     new byte goes to the tail chunk (or a new chunk), so order is buf[sent..used) then
 *     each chunk's data[sent..used) from head to tail;
 *   - an append that does not fit fills what room is left, then spills into a chunk of
 *     at least REPLY_CHUNK_SIZE bytes (larger for a larger append);
 *   - reply_consume frees chunks once sent, and rewinds buf to empty once all of it was
 *     sent, so a connection that keeps up never allocates;
 *   - chunk_bytes is the unsent byte count held in chunks.
 * Frequent replies are string constants and headers are formatted on the stack with a
 * digit-pair table, so each reply is one or two appends. */
#include "common/xmalloc.h"
#include "protocol/reply.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

void reply_init(reply_buf *rb) {
    rb->buf = NULL;
    rb->cap = 0;
    rb->lent = 0;
    rb->used = 0;
    rb->sent = 0;
    rb->head = rb->tail = NULL;
    rb->chunk_bytes = 0;
    rb->resp = 2;
}

static void free_chunks(reply_buf *rb) {
    reply_chunk *c = rb->head;
    while (c) {
        reply_chunk *next = c->next;
        free(c);
        c = next;
    }
    rb->head = rb->tail = NULL;
    rb->chunk_bytes = 0;
}

void reply_free(reply_buf *rb) {
    free_chunks(rb);
    if (!rb->lent) free(rb->buf);
    rb->buf = NULL;
    rb->cap = 0;
    rb->lent = 0;
    rb->used = rb->sent = 0;
}

int reply_lend(reply_buf *rb, char *buf) {
    if (rb->buf || rb->head) return 0;
    rb->buf = buf;
    rb->cap = REPLY_BUF_SIZE;
    rb->lent = 1;
    rb->used = rb->sent = 0;
    return 1;
}

static void unlend(reply_buf *rb, int fit) {
    if (!rb->lent) return;
    char *own = NULL;
    size_t left = rb->used - rb->sent, cap = 0;
    if (left) {
        cap = fit ? (left + 63) & ~(size_t)63 : REPLY_BUF_SIZE;
        own = xmalloc(cap);
        memcpy(own, rb->buf + rb->sent, left);
    }
    rb->buf = own;
    rb->cap = cap;
    rb->lent = 0;
    rb->used = left;
    rb->sent = 0;
}

void reply_unlend(reply_buf *rb) { unlend(rb, 0); }
void reply_unlend_fit(reply_buf *rb) { unlend(rb, 1); }

void reply_release_idle(reply_buf *rb) {
    if (rb->lent || !rb->buf || rb->used != rb->sent) return;
    free(rb->buf);
    rb->buf = NULL;
    rb->cap = 0;
    rb->used = rb->sent = 0;
}

void reply_clear(reply_buf *rb) {
    free_chunks(rb);
    rb->used = rb->sent = 0;
}

size_t reply_pending(const reply_buf *rb) { return rb->used - rb->sent + rb->chunk_bytes; }

int reply_iov(const reply_buf *rb, struct iovec *iov, int max) {
    int n = 0;
    const reply_chunk *c;

    if (n < max && rb->used > rb->sent) {
        iov[n].iov_base = (char *)rb->buf + rb->sent;
        iov[n].iov_len = rb->used - rb->sent;
        n++;
    }
    for (c = rb->head; c && n < max; c = c->next) {
        if (c->used == c->sent) continue;
        iov[n].iov_base = (char *)c->data + c->sent;
        iov[n].iov_len = c->used - c->sent;
        n++;
    }
    return n;
}

void reply_consume(reply_buf *rb, size_t n) {
    size_t k = rb->used - rb->sent;

    if (k > n) k = n;
    rb->sent += k;
    n -= k;
    if (rb->sent == rb->used) rb->used = rb->sent = 0;
    while (n > 0 && rb->head) {
        reply_chunk *c = rb->head;
        k = c->used - c->sent;
        if (k > n) k = n;
        c->sent += k;
        n -= k;
        rb->chunk_bytes -= k;
        if (c->sent < c->used) break;
        rb->head = c->next;
        if (!rb->head) rb->tail = NULL;
        free(c);
    }
}

reply_mark reply_mark_get(const reply_buf *rb) {
    reply_mark m = {rb->used, rb->tail, rb->tail ? rb->tail->used : 0};
    return m;
}

void reply_truncate(reply_buf *rb, const reply_mark *m) {
    reply_chunk *c = m->tail ? m->tail->next : rb->head;
    while (c) {
        reply_chunk *next = c->next;
        rb->chunk_bytes -= c->used - c->sent;
        free(c);
        c = next;
    }
    if (m->tail) {
        rb->chunk_bytes -= m->tail->used - m->tail_used;
        m->tail->used = m->tail_used;
        m->tail->next = NULL;
        rb->tail = m->tail;
    } else {
        rb->head = rb->tail = NULL;
        rb->used = m->used;
    }
}

static reply_chunk *new_chunk(reply_buf *rb, size_t need) {
    size_t size = need > REPLY_CHUNK_SIZE ? need : REPLY_CHUNK_SIZE;
    reply_chunk *c = xmalloc(sizeof *c + size);
    c->next = NULL;
    c->used = c->sent = 0;
    c->size = size;
    if (rb->tail) rb->tail->next = c;
    else rb->head = c;
    rb->tail = c;
    return c;
}

/* The slow path of append: fill the buffer's or tail chunk's room, then a new chunk. */
static void append_slow(reply_buf *rb, const char *p, size_t n) {
    reply_chunk *c;
    size_t room;

    if (!rb->head) {
        if (!rb->buf) {
            rb->buf = xmalloc(REPLY_BUF_SIZE);
            rb->cap = REPLY_BUF_SIZE;
        }
        room = rb->cap - rb->used;
        if (room > n) room = n;
        memcpy(rb->buf + rb->used, p, room);
        rb->used += room;
        p += room;
        n -= room;
    } else {
        c = rb->tail;
        room = c->size - c->used;
        if (room > n) room = n;
        memcpy(c->data + c->used, p, room);
        c->used += room;
        rb->chunk_bytes += room;
        p += room;
        n -= room;
    }
    if (n == 0) return;
    c = new_chunk(rb, n);
    memcpy(c->data, p, n);
    c->used = n;
    rb->chunk_bytes += n;
}

static inline void append(reply_buf *rb, const char *p, size_t n) {
    if (!rb->head && rb->cap - rb->used >= n && rb->cap) {
        memcpy(rb->buf + rb->used, p, n);
        rb->used += n;
        return;
    }
    append_slow(rb, p, n);
}

#define APPEND_LIT(rb, s) append((rb), (s), sizeof(s) - 1)

/* "00010203...99": two digits at a time. */
static const char digit_pairs[201] =
    "0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849"
    "5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

/* Write "<prefix><v>\r\n" into out (at least 24 bytes); returns its length. */
static size_t fmt_header(char *out, char prefix, long long v) {
    char tmp[24];
    char *end = tmp + sizeof tmp, *q = end;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    size_t n;

    *--q = '\n';
    *--q = '\r';
    while (u >= 100) {
        unsigned i = (unsigned)(u % 100) * 2;
        u /= 100;
        *--q = digit_pairs[i + 1];
        *--q = digit_pairs[i];
    }
    if (u >= 10) {
        unsigned i = (unsigned)u * 2;
        *--q = digit_pairs[i + 1];
        *--q = digit_pairs[i];
    } else {
        *--q = (char)('0' + u);
    }
    if (v < 0) *--q = '-';
    out[0] = prefix;
    n = (size_t)(end - q);
    memcpy(out + 1, q, n);
    return n + 1;
}

static void header(reply_buf *rb, char prefix, long long v) {
    char out[32];
    append(rb, out, fmt_header(out, prefix, v));
}

void reply_raw(reply_buf *rb, const char *p, size_t n) { append(rb, p, n); }

void reply_ok(reply_buf *rb) { APPEND_LIT(rb, "+OK\r\n"); }

void reply_simple_len(reply_buf *rb, const char *s, size_t n) {
    char stack[128];
    if (n + 3 <= sizeof stack) {
        stack[0] = '+';
        memcpy(stack + 1, s, n);
        memcpy(stack + 1 + n, "\r\n", 2);
        append(rb, stack, n + 3);
        return;
    }
    APPEND_LIT(rb, "+");
    append(rb, s, n);
    APPEND_LIT(rb, "\r\n");
}

void reply_simple(reply_buf *rb, const char *s) { reply_simple_len(rb, s, strlen(s)); }

/* Append msg with CR and LF turned into spaces. */
static void append_sanitized(reply_buf *rb, const char *msg, size_t n) {
    while (n > 0) {
        size_t run = 0;
        while (run < n && msg[run] != '\r' && msg[run] != '\n') run++;
        append(rb, msg, run);
        msg += run;
        n -= run;
        if (n > 0) {
            APPEND_LIT(rb, " ");
            msg++;
            n--;
        }
    }
}

void (*reply_error_hook)(const char *msg, size_t n);

void reply_error_len(reply_buf *rb, const char *msg, size_t n) {
    if (reply_error_hook) reply_error_hook(msg, n);
    if (n == 0 || msg[0] != '-') APPEND_LIT(rb, "-ERR ");
    append_sanitized(rb, msg, n);
    APPEND_LIT(rb, "\r\n");
}

void reply_error(reply_buf *rb, const char *msg) { reply_error_len(rb, msg, strlen(msg)); }

void reply_errorf(reply_buf *rb, const char *fmt, ...) {
    char stack[512];
    char *s = stack;
    va_list ap;
    int n;
    size_t len;

    va_start(ap, fmt);
    n = vsnprintf(stack, sizeof stack, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof stack) {
        s = xmalloc((size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    len = (size_t)n;
    /* As Redis's addReplyErrorFormat: trim CR/LF at both ends, map the rest. */
    {
        char *b = s;
        while (len > 0 && (b[len - 1] == '\r' || b[len - 1] == '\n')) len--;
        while (len > 0 && (*b == '\r' || *b == '\n')) {
            b++;
            len--;
        }
        reply_error_len(rb, b, len);
    }
    if (s != stack) free(s);
}

void reply_int(reply_buf *rb, long long v) {
    if (v == 0) APPEND_LIT(rb, ":0\r\n");
    else if (v == 1) APPEND_LIT(rb, ":1\r\n");
    else header(rb, ':', v);
}

void reply_bulk(reply_buf *rb, const void *p, size_t n) {
    char out[32];
    size_t h = fmt_header(out, '$', (long long)n);

    if (!rb->head && rb->cap - rb->used >= h + n + 2) {
        char *d = rb->buf + rb->used;
        memcpy(d, out, h);
        memcpy(d + h, p, n);
        memcpy(d + h + n, "\r\n", 2);
        rb->used += h + n + 2;
        return;
    }
    append(rb, out, h);
    append(rb, p, n);
    APPEND_LIT(rb, "\r\n");
}

void reply_bulk_cstr(reply_buf *rb, const char *s) { reply_bulk(rb, s, strlen(s)); }

void reply_bulk_ll(reply_buf *rb, long long v) {
    char digits[UTIL_LLSTR_SIZE];
    int n = util_ll2str(digits, v);
    reply_bulk(rb, digits, (size_t)n);
}

void reply_null(reply_buf *rb) {
    if (rb->resp >= 3) APPEND_LIT(rb, "_\r\n");
    else APPEND_LIT(rb, "$-1\r\n");
}

void reply_null_array(reply_buf *rb) {
    if (rb->resp >= 3) APPEND_LIT(rb, "_\r\n");
    else APPEND_LIT(rb, "*-1\r\n");
}

void reply_array(reply_buf *rb, long n) {
    if (n == 0) APPEND_LIT(rb, "*0\r\n");
    else header(rb, '*', n);
}

void reply_map(reply_buf *rb, long n) {
    if (rb->resp >= 3) header(rb, '%', n);
    else header(rb, '*', 2LL * n);
}

void reply_set(reply_buf *rb, long n) { header(rb, rb->resp >= 3 ? '~' : '*', n); }

void reply_push(reply_buf *rb, long n) { header(rb, rb->resp >= 3 ? '>' : '*', n); }

void reply_double(reply_buf *rb, double d) {
    char txt[64];
    int n = util_d2str(txt, sizeof txt, d);

    if (rb->resp >= 3) {
        char out[72];
        out[0] = ',';
        memcpy(out + 1, txt, (size_t)n);
        memcpy(out + 1 + n, "\r\n", 2);
        append(rb, out, (size_t)n + 3);
    } else {
        reply_bulk(rb, txt, (size_t)n);
    }
}

void reply_bool(reply_buf *rb, int b) {
    if (rb->resp >= 3) {
        if (b) APPEND_LIT(rb, "#t\r\n");
        else APPEND_LIT(rb, "#f\r\n");
    } else {
        if (b) APPEND_LIT(rb, ":1\r\n");
        else APPEND_LIT(rb, ":0\r\n");
    }
}

void reply_verbatim(reply_buf *rb, const char *p, size_t n, const char *fmt3) {
    char out[40];
    size_t h;
    int i;

    if (rb->resp < 3) {
        reply_bulk(rb, p, n);
        return;
    }
    /* As Redis's addReplyVerbatim: the format is padded with spaces to 3 bytes. */
    h = fmt_header(out, '=', (long long)(n + 4));
    for (i = 0; i < 3; i++) { out[h + (size_t)i] = (fmt3 && *fmt3) ? *fmt3++ : ' '; }
    out[h + 3] = ':';
    append(rb, out, h + 4);
    append(rb, p, n);
    APPEND_LIT(rb, "\r\n");
}

char *reply_bulk_reserve(reply_buf *rb, size_t n) {
    reply_chunk *c;
    char *d;

    header(rb, '$', (long long)n);
    if (!rb->head && rb->cap - rb->used >= n + 2) {
        d = rb->buf + rb->used;
        rb->used += n + 2;
    } else {
        c = rb->tail;
        if (!c || c->size - c->used < n + 2) c = new_chunk(rb, n + 2);
        d = c->data + c->used;
        c->used += n + 2;
        rb->chunk_bytes += n + 2;
    }
    memcpy(d + n, "\r\n", 2);
    return d;
}
