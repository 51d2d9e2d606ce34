/* resp_parse.c: the incremental request parser, RESP2 multibulk and inline, parsing in
 * place in the caller's query buffer.
 *
 * Behaviour is Redis 7.0's processMultibulkBuffer/processInlineBuffer, quirks included,
 * because clients can observe it:
 *   - a request whose first byte is '*' is multibulk, anything else is inline;
 *   - header lines ("*<n>", "$<n>") end at the first '\r'; the byte after it is skipped
 *     unchecked, as are the two bytes after each bulk's data;
 *   - Redis searches with strchr on a NUL-terminated buffer, so a NUL byte before the
 *     line end hides it: the request then waits for more input until the 64 KiB limit
 *     turns it into a "too big ..." error. We reproduce that;
 *   - the 64 KiB limits apply only while no line end has been found; they are measured
 *     from the start of the unfinished line to the end of the data received.
 *
 * Invariants while a multibulk command is incomplete (kind == '*'):
 *   - pos is the offset of the next unparsed byte (a "$" header when bulklen == -1, the
 *     bulk's data otherwise); every byte before pos is parsed and never looked at again;
 *   - scan >= pos is how far the search for the current header's '\r' has got, so bytes
 *     arriving one at a time are each examined once;
 *   - mb_left == 0 means the "*<n>" line itself has not been parsed yet;
 *   - off/lens hold the argc complete arguments as offsets from the command start, so
 *     the caller may move the buffer; argv is filled only when the command completes.
 * Inline commands are parsed in one go once their '\n' is present; only scan persists. */
#include "common/xmalloc.h"
#include "protocol/resp_parse.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* Make room for at least n arguments. */
static void parser_grow(resp_parser *p, size_t n) {
    size_t cap = p->cap ? (size_t)p->cap : 8;
    if (n <= (size_t)p->cap) return;
    while (cap < n) cap *= 2;
    if (cap > INT_MAX) cap = INT_MAX;
    p->off = xrealloc(p->off, cap * sizeof *p->off);
    p->lens = xrealloc(p->lens, cap * sizeof *p->lens);
    p->argv = xrealloc(p->argv, cap * sizeof *p->argv);
    if (p->ext) {
        p->ext = xrealloc(p->ext, cap * sizeof *p->ext);
        memset(p->ext + p->cap, 0, (cap - (size_t)p->cap) * sizeof *p->ext);
    }
    p->cap = (int)cap;
}

/* Free the big-bulk buffers the parser still owns. */
static void parser_free_big(resp_parser *p) {
    if (p->ext)
        for (int i = 0; i < p->cap; i++) {
            free(p->ext[i]);
            p->ext[i] = NULL;
        }
    free(p->big);
    p->big = NULL;
    p->big_fill = 0;
    p->ext_bytes = 0;
}

void resp_parser_init(resp_parser *p, long long max_bulk) {
    memset(p, 0, sizeof *p);
    p->bulklen = -1;
    p->max_bulk = max_bulk;
}

void resp_parser_free(resp_parser *p) {
    parser_free_big(p);
    free(p->ext);
    p->ext = NULL;
    free(p->off);
    free(p->lens);
    free(p->argv);
    p->off = NULL;
    p->lens = NULL;
    p->argv = NULL;
    p->cap = 0;
    resp_parser_reset(p);
}

void resp_parser_reset(resp_parser *p) {
    if (p->ext_bytes) parser_free_big(p);
    /* Like Redis, which frees argv after each command, do not hold on to the room a
     * huge command needed. */
    if (p->cap > 1024) {
        free(p->ext);
        p->ext = NULL;
        free(p->off);
        free(p->lens);
        free(p->argv);
        p->off = NULL;
        p->lens = NULL;
        p->argv = NULL;
        p->cap = 0;
    }
    p->kind = 0;
    p->mb_left = 0;
    p->bulklen = -1;
    p->pos = 0;
    p->scan = 0;
    p->argc = 0;
    p->err = NULL;
}

size_t resp_parser_memory(const resp_parser *p) {
    return (size_t)p->cap * (sizeof *p->off + sizeof *p->lens + sizeof *p->argv + (p->ext ? sizeof *p->ext : 0)) +
           p->ext_bytes;
}

size_t resp_parser_big_wanted(const resp_parser *p) {
    if (p->kind != '*' || p->big || p->bulklen < RESP_BIG_ARG) return 0;
    return (size_t)p->bulklen + 2;
}

size_t resp_parser_big_start(resp_parser *p, char *buf, size_t data_off, const char *cmd, size_t len) {
    size_t have = len - p->pos; /* < bulklen + 2, or the bulk would be complete */
    memcpy(buf + data_off, cmd + p->pos, have);
    p->big = buf;
    p->big_off = data_off;
    p->big_fill = have;
    p->ext_bytes += data_off + (size_t)p->bulklen + 2;
    p->scan = p->pos;
    return p->pos;
}

char *resp_parser_big_room(resp_parser *p, size_t *room) {
    if (!p->big) return NULL;
    *room = (size_t)p->bulklen + 2 - p->big_fill;
    return *room ? p->big + p->big_off + p->big_fill : NULL;
}

void resp_parser_big_filled(resp_parser *p, size_t n) { p->big_fill += n; }

char *resp_parser_take_arg(resp_parser *p, int i) {
    if (!p->ext || i < 0 || i >= p->argc || !p->ext[i]) return NULL;
    char *b = p->ext[i];
    p->ext[i] = NULL;
    p->ext_bytes -= p->off[i] + p->lens[i] + 2;
    return b;
}

static ssize_t parse_error(resp_parser *p, const char *msg) {
    p->err = msg;
    return -1;
}

/* Find the byte ch in buf[p->scan..len) as Redis's strchr would: a NUL before it hides
 * it. Returns its offset (and leaves scan there), or -1 if it is not (yet) visible, with
 * scan advanced past everything examined (or left on the blocking NUL). */
static ssize_t find_line_end(resp_parser *p, const char *buf, size_t len, int ch) {
    size_t from = p->scan;
    const char *hit, *nul;
    size_t end;

    if (from >= len) return -1;
    if (buf[from] == '\0') return -1; /* stuck behind a NUL, as Redis is */
    /* Header lines are short: a plain loop beats two memchr calls. */
    for (end = from; end < len && end - from < 32; end++) {
        if (buf[end] == ch) {
            p->scan = end;
            return (ssize_t)end;
        }
        if (buf[end] == '\0') {
            p->scan = end;
            return -1;
        }
    }
    from = end;
    if (from >= len) {
        p->scan = len;
        return -1;
    }
    hit = memchr(buf + from, ch, len - from);
    end = hit ? (size_t)(hit - buf) : len;
    nul = memchr(buf + from, '\0', end - from);
    if (nul) {
        p->scan = (size_t)(nul - buf);
        return -1;
    }
    p->scan = end;
    return hit ? (ssize_t)end : -1;
}

/* The common header: digits then '\r' right after buf[from] (the '*' or '$'), all
 * present. Returns the '\r' offset and the value, or -1 when anything is unusual (no
 * digits, a leading zero, '-', more than 17 digits, data not all there), so the caller
 * falls back to the general path with Redis's exact semantics. */
static ssize_t fast_header(const char *buf, size_t from, size_t len, long long *out) {
    size_t i = from + 1;
    long long v = 0;
    if (i + 1 < len && buf[i] == '0' && buf[i + 1] == '\r') { /* "0" itself */
        *out = 0;
        return (ssize_t)(i + 1);
    }
    if (i >= len || buf[i] < '1' || buf[i] > '9') return -1;
    while (i < len && i - from <= 17 && (unsigned)(buf[i] - '0') < 10u) v = v * 10 + (buf[i++] - '0');
    if (i >= len || buf[i] != '\r' || i - from > 17) return -1;
    *out = v;
    return (ssize_t)i;
}

/* Fill argv from the offsets; returns the command's length. */
static ssize_t multibulk_done(resp_parser *p, char *buf) {
    int i;
    for (i = 0; i < p->argc; i++) {
        p->argv[i].ptr = (p->ext && p->ext[i] ? p->ext[i] : buf) + p->off[i];
        p->argv[i].len = p->lens[i];
    }
    return (ssize_t)p->pos;
}

/* A protocol length at buf[i] (just after the '*' or '$'): 1-9 digits without a leading
 * zero (or "0" alone) ending in '\r' with the byte after it present. Returns the offset
 * after that byte, or 0 if anything is unusual or missing (the general path decides). */
static inline size_t fast_len(const char *buf, size_t i, size_t len, long long *out) {
    size_t stop = i + 9 < len ? i + 9 : len;
    long long v;
    if (i + 3 < len) { /* one or two digits, the usual lengths */
        unsigned d0 = (unsigned)((unsigned char)buf[i] - '0'), d1 = (unsigned)((unsigned char)buf[i + 1] - '0');
        if (d0 < 10u && buf[i + 1] == '\r') {
            *out = d0;
            return i + 3;
        }
        if (d0 - 1u < 9u && d1 < 10u && buf[i + 2] == '\r') {
            *out = d0 * 10 + d1;
            return i + 4;
        }
    }
    if (i >= len) return 0;
    if ((unsigned)(buf[i] - '1') < 9u) {
        v = buf[i++] - '0';
        while (i < stop && (unsigned)(buf[i] - '0') < 10u) v = v * 10 + (buf[i++] - '0');
    } else if (buf[i] == '0') {
        v = 0;
        i++;
    } else {
        return 0;
    }
    if (i + 1 >= len || buf[i] != '\r') return 0;
    *out = v;
    return i + 2;
}

/* A whole multibulk command present in buf, every header in its plain form: parsed in
 * one pass with argv filled directly. Returns its length, or 0 to leave it to the
 * general path (incomplete, unusual, an error, or over the limits), which starts over. */
static ssize_t parse_multibulk_fast(resp_parser *p, char *buf, size_t len) {
    long long n, bl;
    size_t pos = fast_len(buf, 1, len, &n);
    if (!pos || n <= 0 || n > 1024 || (p->unauth && n > RESP_UNAUTH_MAX_ARGS)) return 0;
    if (n > p->cap) parser_grow(p, (size_t)n);
    resp_slice *argv = p->argv;
    for (long long a = 0; a < n; a++) {
        if (pos >= len || buf[pos] != '$') return 0;
        pos = fast_len(buf, pos + 1, len, &bl);
        if (!pos || bl > p->max_bulk || (p->unauth && bl > RESP_UNAUTH_MAX_BULK) || len - pos < (size_t)bl + 2)
            return 0;
        argv[a].ptr = buf + pos;
        argv[a].len = (size_t)bl;
        pos += (size_t)bl + 2;
    }
    p->argc = (int)n;
    p->pos = p->scan = pos;
    return (ssize_t)pos;
}

static ssize_t parse_multibulk(resp_parser *p, char *buf, size_t len) {
    ssize_t cr;
    long long ll;

    if (p->mb_left == 0) {
        ssize_t done = parse_multibulk_fast(p, buf, len);
        if (done) return done;
        cr = fast_header(buf, 0, len, &ll);
        if (cr < 0) {
            cr = find_line_end(p, buf, len, '\r');
            if (cr < 0) {
                if (len > RESP_INLINE_MAX) return parse_error(p, "Protocol error: too big mbulk count string");
                return 0;
            }
            if ((size_t)cr + 2 > len) return 0; /* the byte after '\r' has not arrived */
            if (!util_str2ll(buf + 1, (size_t)cr - 1, &ll) || ll > INT_MAX)
                return parse_error(p, "Protocol error: invalid multibulk length");
        } else if ((size_t)cr + 2 > len) {
            return 0;
        } else if (ll > INT_MAX) {
            return parse_error(p, "Protocol error: invalid multibulk length");
        }
        if (p->unauth && ll > RESP_UNAUTH_MAX_ARGS)
            return parse_error(p, "Protocol error: unauthenticated multibulk length");
        p->pos = p->scan = (size_t)cr + 2;
        if (ll <= 0) {
            p->argc = 0;
            return (ssize_t)p->pos;
        }
        p->mb_left = ll;
        p->bulklen = -1;
        parser_grow(p, ll < 1024 ? (size_t)ll : 1024);
    }

    while (p->mb_left > 0) {
        if (p->bulklen == -1 && p->pos < len && buf[p->pos] == '$' && (cr = fast_header(buf, p->pos, len, &ll)) >= 0 &&
            (size_t)cr + 2 <= len) {
            if (ll > p->max_bulk) return parse_error(p, "Protocol error: invalid bulk length");
            if (p->unauth && ll > RESP_UNAUTH_MAX_BULK)
                return parse_error(p, "Protocol error: unauthenticated bulk length");
            p->pos = p->scan = (size_t)cr + 2;
            p->bulklen = ll;
        }
        if (p->bulklen == -1) {
            cr = find_line_end(p, buf, len, '\r');
            if (cr < 0) {
                if (len - p->pos > RESP_INLINE_MAX) return parse_error(p, "Protocol error: too big bulk count string");
                return 0;
            }
            if ((size_t)cr + 2 > len) return 0;
            if (buf[p->pos] != '$') {
                char got = buf[p->pos];
                /* Redis's addReplyErrorFormat turns CR/LF into spaces. */
                if (got == '\r' || got == '\n') got = ' ';
                snprintf(p->errbuf, sizeof p->errbuf, "Protocol error: expected '$', got '%c'", got);
                return parse_error(p, p->errbuf);
            }
            if (!util_str2ll(buf + p->pos + 1, (size_t)cr - p->pos - 1, &ll) || ll < 0 || ll > p->max_bulk)
                return parse_error(p, "Protocol error: invalid bulk length");
            if (p->unauth && ll > RESP_UNAUTH_MAX_BULK)
                return parse_error(p, "Protocol error: unauthenticated bulk length");
            p->pos = p->scan = (size_t)cr + 2;
            p->bulklen = ll;
        }
        if (p->big) { /* a big bulk received into its own buffer; pos stays before it */
            if (p->big_fill < (size_t)p->bulklen + 2) return 0;
            if (p->argc == p->cap) parser_grow(p, (size_t)p->argc + 1);
            if (!p->ext) p->ext = xcalloc((size_t)p->cap, sizeof *p->ext);
            p->ext[p->argc] = p->big;
            p->off[p->argc] = p->big_off;
            p->lens[p->argc] = (size_t)p->bulklen;
            p->argc++;
            p->big = NULL;
            p->big_fill = 0;
            p->scan = p->pos;
            p->bulklen = -1;
            p->mb_left--;
            continue;
        }
        if ((unsigned long long)(len - p->pos) < (unsigned long long)p->bulklen + 2) return 0;
        if (p->argc == p->cap) parser_grow(p, (size_t)p->argc + 1);
        p->off[p->argc] = p->pos;
        p->lens[p->argc] = (size_t)p->bulklen;
        p->argc++;
        p->pos += (size_t)p->bulklen + 2;
        p->scan = p->pos;
        p->bulklen = -1;
        p->mb_left--;
    }
    return multibulk_done(p, buf);
}

static ssize_t parse_inline(resp_parser *p, char *buf, size_t len) {
    ssize_t nl = find_line_end(p, buf, len, '\n');
    size_t linelen;
    int n;

    if (nl < 0) {
        if (len > RESP_INLINE_MAX) return parse_error(p, "Protocol error: too big inline request");
        return 0;
    }
    linelen = (size_t)nl;
    if (linelen > 0 && buf[linelen - 1] == '\r') linelen--;
    n = resp_split_inline(buf, linelen, p->argv, p->cap);
    if (n > p->cap) {
        parser_grow(p, (size_t)n);
        n = resp_split_inline(buf, linelen, p->argv, p->cap);
    }
    if (n < 0) return parse_error(p, "Protocol error: unbalanced quotes in request");
    p->argc = n;
    p->pos = (size_t)nl + 1;
    return (ssize_t)p->pos;
}

ssize_t resp_parse(resp_parser *p, char *buf, size_t len) {
    if (p->kind == 0) {
        if (len == 0) return 0;
        p->kind = buf[0] == '*' ? '*' : 'i';
        p->pos = p->scan = 0;
        p->argc = 0;
        p->mb_left = 0;
        p->bulklen = -1;
    }
    if (p->kind == '*') return parse_multibulk(p, buf, len);
    return parse_inline(p, buf, len);
}

/* ---- sdssplitargs ----
 * One pass of Redis's sdssplitargs over line[0..len). With out == NULL it only counts
 * and validates; otherwise it unescapes in place (the write cursor never passes the
 * read cursor) and records the slices. Returns the argument count or -1. */

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int split_pass(char *line, size_t len, resp_slice *out) {
    size_t r = 0, w = 0;
    int argc = 0;
#define CH(i) ((i) < len ? (unsigned char)line[(i)] : 0)
#define EMIT(b)                                                                                                        \
    do {                                                                                                               \
        char b_ = (char)(b);                                                                                           \
        if (out) line[w] = b_;                                                                                         \
        w++;                                                                                                           \
    } while (0)

    for (;;) {
        size_t start;
        int inq = 0, insq = 0, done = 0;

        while (r < len && isspace((unsigned char)line[r])) r++;
        if (r >= len) return argc;
        start = w;
        while (!done) {
            int c = CH(r);
            if (inq) {
                if (c == '\\' && CH(r + 1) == 'x' && hexval(CH(r + 2)) >= 0 && hexval(CH(r + 3)) >= 0) {
                    EMIT(hexval(CH(r + 2)) * 16 + hexval(CH(r + 3)));
                    r += 3;
                } else if (c == '\\' && CH(r + 1)) {
                    int e;
                    r++;
                    switch (CH(r)) {
                        case 'n': e = '\n'; break;
                        case 'r': e = '\r'; break;
                        case 't': e = '\t'; break;
                        case 'b': e = '\b'; break;
                        case 'a': e = '\a'; break;
                        default: e = CH(r); break;
                    }
                    EMIT(e);
                } else if (c == '"') {
                    /* a closing quote must be followed by a space or the end */
                    if (CH(r + 1) && !isspace(CH(r + 1))) return -1;
                    done = 1;
                } else if (!c) {
                    return -1; /* unterminated quotes */
                } else {
                    EMIT(c);
                }
            } else if (insq) {
                if (c == '\\' && CH(r + 1) == '\'') {
                    r++;
                    EMIT('\'');
                } else if (c == '\'') {
                    if (CH(r + 1) && !isspace(CH(r + 1))) return -1;
                    done = 1;
                } else if (!c) {
                    return -1;
                } else {
                    EMIT(c);
                }
            } else {
                switch (c) {
                    case ' ':
                    case '\n':
                    case '\r':
                    case '\t':
                    case '\0': done = 1; break;
                    case '"': inq = 1; break;
                    case '\'': insq = 1; break;
                    default: EMIT(c); break;
                }
            }
            if (CH(r)) r++;
        }
        if (out) {
            out[argc].ptr = line + start;
            out[argc].len = w - start;
        }
        if (argc == INT_MAX) return -1;
        argc++;
    }
#undef CH
#undef EMIT
}

int resp_split_inline(char *line, size_t len, resp_slice *out, int max) {
    int n;
    const char *nul = memchr(line, '\0', len);

    if (nul) len = (size_t)(nul - line); /* sdssplitargs sees a C string */
    n = split_pass(line, len, NULL);
    if (n < 0 || n > max) return n;
    return split_pass(line, len, out);
}
