/* resp_parse.h: an incremental parser for client requests, RESP2 multibulk and inline,
 * that parses in place: arguments are (pointer, length) slices into the caller's query
 * buffer, copied only if the caller stores them. */
#ifndef RESPITE_RESP_PARSE_H
#define RESPITE_RESP_PARSE_H

#include <stddef.h>
#include <sys/types.h>

#define RESP_INLINE_MAX       (64 * 1024)           /* PROTO_INLINE_MAX_SIZE */
#define RESP_DEFAULT_MAX_BULK (512LL * 1024 * 1024) /* proto-max-bulk-len */
/* A bulk at least this long (Redis's PROTO_MBULK_BIG_ARG) may be received into a buffer
 * of its own, exactly sized, that the command can keep (resp_parser_big_*). */
#define RESP_BIG_ARG          (32 * 1024)
/* What a client that has not authenticated may send (Redis's limits): more arguments or
 * a longer bulk ends the connection, so it cannot make the server hold its input. */
#define RESP_UNAUTH_MAX_ARGS  10
#define RESP_UNAUTH_MAX_BULK  16384

/* One argument: ptr points into the buffer given to resp_parse (not NUL-terminated). */
typedef struct resp_slice {
    char *ptr;
    size_t len;
} resp_slice;

/* Parser state; lives on the connection so a command may arrive split at any byte.
 * While a command is incomplete the state keeps offsets relative to the command's first
 * byte, so the caller may move the unparsed tail of its buffer between calls. */
typedef struct resp_parser {
    int kind;           /* 0: nothing parsed of this command yet, '*': multibulk, 'i': inline */
    long long mb_left;  /* multibulk: bulk arguments still to read */
    long long bulklen;  /* multibulk: length of the bulk being read, -1 while reading its $ header */
    size_t pos;         /* where parsing resumes, relative to the command start */
    int argc;           /* arguments complete so far / of the complete command */
    int cap;            /* capacity of off/lens/argv (and ext once allocated) */
    size_t *off;        /* argument offsets relative to the command start, or to ext[i] */
    char **ext;         /* NULL, or per argument its own buffer (a big bulk) or NULL */
    char *big;          /* the big bulk being received into its own buffer, or NULL */
    size_t big_off;     /* where its data starts in big */
    size_t big_fill;    /* bytes of it (data, then CRLF) received so far */
    size_t ext_bytes;   /* bytes allocated for big and the ext buffers still held */
    size_t *lens;       /* argument lengths */
    resp_slice *argv;   /* valid after resp_parse returned > 0: argc slices */
    long long max_bulk; /* proto-max-bulk-len */
    int unauth;         /* set by the caller: the client has not authenticated (RESP_UNAUTH_*) */
    const char *err;    /* after -1: Redis's error text, e.g. "Protocol error: invalid bulk length" */
    size_t scan;        /* where the search for the current line's end resumes (relative) */
    char errbuf[48];    /* storage for err when it is formatted ("expected '$', got 'x'") */
} resp_parser;

void resp_parser_init(resp_parser *p, long long max_bulk);
void resp_parser_free(resp_parser *p);
/* Forget any partial command (after a complete one was handled, or on RESET). */
void resp_parser_reset(resp_parser *p);
/* Bytes the parser holds: argument tables and big-bulk buffers (counted in the
 * client's memory). */
size_t resp_parser_memory(const resp_parser *p);

/* Big bulks. After resp_parse returned 0, resp_parser_big_wanted is the size (data +
 * CRLF) of a bulk of at least RESP_BIG_ARG bytes that has begun and has no buffer of its
 * own yet, else 0. resp_parser_big_start gives it buf (malloc'd, owned by the parser from
 * then on; data_off bytes of room, then the wanted size): the bulk's bytes already in the
 * command's buffer cmd[0..len) move there, and the return value is the length the caller
 * keeps of cmd (the bytes before the bulk). Further bytes of the bulk go to
 * resp_parser_big_room (which says how many more it takes) and are reported with
 * resp_parser_big_filled; then resp_parse carries on as before, with the same cmd.
 * The argument's slice then points into that buffer, valid until reset, unless the
 * command takes the buffer with resp_parser_take_arg (it then owns and frees it). */
size_t resp_parser_big_wanted(const resp_parser *p);
size_t resp_parser_big_start(resp_parser *p, char *buf, size_t data_off, const char *cmd, size_t len);
char *resp_parser_big_room(resp_parser *p, size_t *room);
void resp_parser_big_filled(resp_parser *p, size_t n);
/* The buffer of argument i if it has one of its own (the caller now owns it: argv[i]
 * points into it), else NULL. */
char *resp_parser_take_arg(resp_parser *p, int i);

/* Parse one command from buf[0..len), where buf starts at the first byte of the command
 * (the first unconsumed byte of the query buffer). buf is writable: inline arguments
 * with quotes/escapes are unescaped in place.
 * Returns:
 *   > 0  the command is complete and occupied that many bytes; p->argc and p->argv hold
 *        it (argc may be 0 for an empty line or "*0": skip it). The slices point into buf
 *        and stay valid until buf is changed. Call resp_parser_reset before the next one.
 *   0    more input is needed; call again with the same start and more bytes.
 *   -1   protocol error; p->err is Redis's text (without the "-ERR " prefix). The caller
 *        replies with it and closes the connection after the reply.
 * Semantics follow Redis 7's processMultibulkBuffer/processInlineBuffer: "*<n>\r\n" with
 * n <= 0 is an empty command; n > INT_MAX is "invalid multibulk length"; a bulk length
 * < 0 or > max_bulk is "invalid bulk length"; a header line over 64 KiB without CRLF is
 * "too big mbulk count string"/"too big bulk count string"; an inline line over 64 KiB
 * is "too big inline request"; unbalanced quotes are "unbalanced quotes in request";
 * a non-'$' where a bulk header is expected is "expected '$', got '%c'". While unauth is
 * set, a multibulk count over RESP_UNAUTH_MAX_ARGS is "unauthenticated multibulk length"
 * and a bulk length over RESP_UNAUTH_MAX_BULK "unauthenticated bulk length" (checked
 * after the invalid-length checks, as Redis does). */
ssize_t resp_parse(resp_parser *p, char *buf, size_t len);

/* Split an inline line in place with the rules of Redis's sdssplitargs (spaces, "double
 * quotes" with \n \r \t \b \a \\ \" \xHH escapes, 'single quotes' with \' only; a closing
 * quote must be followed by a space or the end). line[0..len) is rewritten in place.
 * Fills up to max slices into out. Returns the number of arguments (may exceed max: call
 * again with more room), or -1 for unbalanced quotes; in both of those cases line is left
 * untouched. Like sdssplitargs on a C string, a NUL byte ends the line. */
int resp_split_inline(char *line, size_t len, resp_slice *out, int max);

#endif
