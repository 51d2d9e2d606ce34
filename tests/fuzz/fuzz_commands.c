/* fuzz_commands.c: libFuzzer target for command execution: request bytes -> argv ->
 * process_command -> reply, against a real keyspace, with several clients.
 *
 * Input: what clients send, RESP2 multibulk or inline, parsed with resp_parse as
 * server/net.c does (a protocol error skips to the next line instead of closing, so
 * one broken command does not waste the rest). Commands whose name starts with '@'
 * steer the harness instead of reaching the server:
 *   @client N       later commands come from client N (0..3; created on first use)
 *   @clock +MS|-MS  move the clock (util_mstime/util_ustime are the harness's, see
 *   @clock =MS      CMakeLists.txt), so TTLs and stream ids see time pass or go back;
 *                   it stays within [0, 2^50] ms, as a wall clock does
 *   @timeout        fire the timeout timer of every blocked client (and end a
 *                   CLIENT PAUSE)
 *   @cron           what the server's periodic timer does: active expiry, rehash
 *                   steps, client timeouts and limits, eviction
 *   @fill N [TTLMS] N keys at once (see fill()), for what only big keyspaces reach
 * A blocked client's commands are dropped (the server would hold them); a command
 * held by CLIENT PAUSE runs when the pause ends, from the client's read callback.
 *
 * Oracles, besides ASan/UBSan:
 *   - every reply byte stream is well-formed RESP for the client's protocol (no RESP3
 *     types on a RESP2 connection; lengths, counts, integers, doubles consistent;
 *     error lines start with an upper-case code, except those a script wrote);
 *   - each command leaves exactly one reply on its client (none if it blocked or was
 *     held by a pause, at most one if it closes the connection; any number under CLIENT
 *     REPLY OFF/SKIP, whose ON inside EXEC keeps the replies after it); a blocked client
 *     gets exactly one reply when it is unblocked and nothing otherwise; other clients
 *     get nothing;
 *   - argv bytes are a private copy freed right after the command, so anything that
 *     keeps a pointer into them (instead of copying) is a use-after-free.
 * RESPITE_FUZZ_TRACE=1 in the environment prints each command and the replies it caused
 * (and lets the server's log through to stdout): run the binary on one input file to
 * see what it does.
 * State: every input starts from empty databases, default settings (except
 * proto-max-bulk-len, held at its 1 MB minimum so SETRANGE/LCS stay small), an empty
 * slowlog, only the default ACL user and an empty ACL LOG, fresh clients and a fixed
 * clock; at most MAX_STEPS commands per input. */
#include <event2/event.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "protocol/resp_parse.h"
#include "server/acl.h"
#include "server/config.h"
#include "server/net.h"
#include "server/propagate.h"
#include "server/script.h"
#include "server/server.h"
#include "storage/lazyfree.h"
#include "storage/type.h"

#define NCLIENTS      4
#define MAX_STEPS     256
#define CLOCK_START   1700000000000LL
#define FUZZ_MAX_BULK (1024 * 1024)

/* ASan defaults for this target (ASAN_OPTIONS overrides them): a 16 MB quarantine and
 * malloc fill of 256 bytes run it ~3 times faster than 256 MB / 4 KB, since 1 MB values
 * and 17 KB client structures otherwise keep touching fresh pages. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "quarantine_size_mb=16:max_malloc_fill_size=256"; }

/* ---- the clock (linked with --wrap) ---- */

static long long fake_ms = CLOCK_START;

long long __wrap_util_mstime(void);
long long __wrap_util_ustime(void);
long long __wrap_util_mstime(void) { return fake_ms; }
long long __wrap_util_ustime(void) { return fake_ms * 1000; }

/* ---- clients ---- */

static client *clients[NCLIENTS];
static int peers[NCLIENTS]; /* the other end of each client's socketpair */
static int was_blocked[NCLIENTS];
/* The client was under CLIENT REPLY OFF/SKIP when it blocked (or its command was held by
 * a pause): the reply it gets when served is dropped then, and the SKIP is used up. */
static int blocked_muted[NCLIENTS];
static int cur_muted; /* the running command's client had a CLIENT REPLY mode set */
/* The slot whose EXEC ran a queued CLIENT REPLY: OFF/SKIP inside the transaction drop the
 * replies after it but not EXEC's array header, so the output ends early, byte for byte
 * as redis-server 7.0.15's does (-1: none). */
static int cut_exec_slot = -1;
/* A client that subscribed, monitors or tracks keys in this input: pushes come to it
 * from other clients' commands and its own commands may answer with several replies (or
 * none), so only the well-formedness of its output is checked. */
static int pushed[NCLIENTS];
static const char *cur_cmd; /* for failure messages */
static int trace;           /* RESPITE_FUZZ_TRACE=1: print commands and replies */

static void fail(const char *what, int slot, const char *bytes, size_t len) {
    fprintf(stderr, "fuzz_commands: %s (client %d, after command '%s')\n", what, slot, cur_cmd ? cur_cmd : "?");
    if (bytes) {
        fprintf(stderr, "reply bytes (%zu): ", len);
        for (size_t i = 0; i < len && i < 2048; i++) {
            unsigned char ch = (unsigned char)bytes[i];
            if (ch >= 32 && ch < 127) fputc(ch, stderr);
            else fprintf(stderr, "\\x%02x", ch);
        }
        fputc('\n', stderr);
    }
    abort();
}

static void client_read_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    client *c = arg;
    c->resume_pending = 0;             /* client_resume: the server would continue with held input */
    if (c->held_argv && !c->blocked) { /* the pause that held its command is over */
        server.mstime_cached = fake_ms;
        pause_run_held(c);
        server_client_memory(c, 0);
    }
}

static int slot_of(const client *c) {
    for (int i = 0; i < NCLIENTS; i++)
        if (clients[i] == c) return i;
    return -1;
}

static void free_slot(int slot) {
    client_free(clients[slot]);
    close(peers[slot]);
    clients[slot] = NULL;
    was_blocked[slot] = 0;
    pushed[slot] = 0;
}

static void client_write_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    client *c = arg;
    int slot = slot_of(c);
    if (slot >= 0 && (c->flags & CLIENT_CLOSE_ASAP)) free_slot(slot); /* client_close_async */
}

/* As net.c's client_create, with the harness's callbacks. */
static client *client_get(int slot) {
    int sv[2];
    client *c;
    if (clients[slot]) return clients[slot];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
        perror("socketpair");
        abort();
    }
    c = calloc(1, sizeof(*c));
    c->id = ++server.next_client_id;
    c->fd = sv[0];
    peers[slot] = sv[1];
    c->resp = 2;
    reply_init(&c->out);
    resp_parser_init(&c->parser, server.cfg.proto_max_bulk_len);
    c->db = server.dbs[0];
    c->user = acl_default;
    c->authenticated = acl_default_autoauth();
    c->ctime_ms = c->last_interaction_ms = fake_ms;
    c->ev_read = event_new(server.base, c->fd, EV_READ | EV_PERSIST, client_read_cb, c);
    c->ev_write = event_new(server.base, c->fd, EV_WRITE | EV_PERSIST, client_write_cb, c);
    snprintf(c->addr, sizeof(c->addr), "127.0.0.1:%d", 50000 + slot);
    snprintf(c->laddr, sizeof(c->laddr), "127.0.0.1:6379");
    c->next = server.clients;
    if (server.clients) server.clients->prev = c;
    server.clients = c;
    server.nclients++;
    server.stat_numconnections++;
    clients[slot] = c;
    was_blocked[slot] = 0;
    pushed[slot] = 0;
    return c;
}

/* Forget slots whose client was freed by server code (idle timeout). */
static void reconcile(void) {
    for (int i = 0; i < NCLIENTS; i++) {
        client *o;
        if (!clients[i]) continue;
        for (o = server.clients; o && o != clients[i]; o = o->next) {}
        if (!o) {
            close(peers[i]);
            clients[i] = NULL;
            was_blocked[i] = 0;
            pushed[i] = 0;
        }
    }
}

/* ---- reply checking ---- */

typedef struct reader {
    const char *p;
    size_t len, pos;
    int resp; /* 2, 3, or 0 when the output switched protocol (both accepted) */
    /* A subscribed RESP2 client that is a tracking redirect target: Redis 7.0 sends it the
     * flush invalidation's null in the tracking client's protocol ("_" for RESP3) */
    int resp3_null_ok;
} reader;

/* Set while a command that runs scripts (or EXEC, which may) is checked: a script's
 * {err=...} table becomes an error line of any text, and its {big_number=...} a big
 * number line of any text, as on Redis ("-e", "-", "(abc"). */
static int script_errors;

/* The line at pos (without CRLF); 0 if there is no CRLF or the line holds CR or LF. */
static int read_line(reader *r, const char **line, size_t *n) {
    size_t i;
    for (i = r->pos; i + 1 < r->len; i++) {
        if (r->p[i] == '\r') {
            if (r->p[i + 1] != '\n') return 0;
            *line = r->p + r->pos;
            *n = i - r->pos;
            r->pos = i + 2;
            return 1;
        }
        if (r->p[i] == '\n') return 0;
    }
    return 0;
}

static int read_count(reader *r, long long *v, int allow_minus1) {
    const char *line;
    size_t n;
    if (!read_line(r, &line, &n) || !util_str2ll(line, n, v)) return 0;
    return *v >= 0 || (allow_minus1 && *v == -1);
}

static int read_value(reader *r, int depth);

static int read_elements(reader *r, long long n, int depth) {
    for (long long i = 0; i < n; i++)
        if (!read_value(r, depth + 1)) return 0;
    return 1;
}

static int read_blob(reader *r, long long len) {
    if ((unsigned long long)len > r->len - r->pos || r->len - r->pos - (size_t)len < 2) return 0;
    r->pos += (size_t)len;
    if (r->p[r->pos] != '\r' || r->p[r->pos + 1] != '\n') return 0;
    r->pos += 2;
    return 1;
}

static int read_value(reader *r, int depth) {
    const char *line;
    size_t n, i;
    long long v;
    /* a script's reply nests as deep as Lua's stack allows (a table that holds itself) */
    if (depth > 16384 || r->pos >= r->len) return 0;
    char type = r->p[r->pos++];
    if (r->resp == 2 && !strchr("+-:$*", type) && !(type == '_' && r->resp3_null_ok)) return 0;
    switch (type) {
        case '+': return read_line(r, &line, &n);
        case '-':
            /* An error code: upper-case letters, then a space or the end. */
            if (!read_line(r, &line, &n)) return 0;
            if (script_errors) return 1;
            if (n == 0) return 0;
            for (i = 0; i < n && line[i] != ' '; i++)
                if (line[i] < 'A' || line[i] > 'Z') return 0;
            return i > 0;
        case ':': return read_line(r, &line, &n) && util_str2ll(line, n, &v);
        case '$':
            if (!read_count(r, &v, r->resp != 3)) return 0;
            return v == -1 || read_blob(r, v);
        case '*':
            if (!read_count(r, &v, r->resp != 3)) return 0;
            return v == -1 || read_elements(r, v, depth);
        case '_': return read_line(r, &line, &n) && n == 0;
        case ',': {
            double d;
            if (!read_line(r, &line, &n) || n == 0) return 0;
            if ((n == 3 && !memcmp(line, "inf", 3)) || (n == 4 && !memcmp(line, "-inf", 4)) ||
                (n == 3 && !memcmp(line, "nan", 3)))
                return 1;
            return util_str2d(line, n, &d);
        }
        case '#': return read_line(r, &line, &n) && n == 1 && (line[0] == 't' || line[0] == 'f');
        case '(':
            /* A script's {big_number=...} goes out as its text (CR and LF made spaces), digits
             * or not, as on Redis */
            if (!read_line(r, &line, &n)) return 0;
            if (script_errors) return 1;
            if (n == 0) return 0;
            for (i = line[0] == '-' ? 1 : 0; i < n; i++)
                if (line[i] < '0' || line[i] > '9') return 0;
            return 1;
        case '!': return read_count(r, &v, 0) && read_blob(r, v);
        case '=':
            if (!read_count(r, &v, 0) || v < 4 || r->len - r->pos < 4 || r->p[r->pos + 3] != ':') return 0;
            return read_blob(r, v);
        case '%':
        case '|':
            if (!read_count(r, &v, 0) || v > LLONG_MAX / 2 || !read_elements(r, 2 * v, depth)) return 0;
            return type == '%' || read_value(r, depth + 1); /* an attribute precedes a value */
        case '~':
        case '>': return read_count(r, &v, 0) && read_elements(r, v, depth);
        default: return 0;
    }
}

static int is_push_command(const char *name) {
    static const char *const names[] = {"subscribe",    "psubscribe",   "ssubscribe", "unsubscribe",
                                        "punsubscribe", "sunsubscribe", "monitor"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (util_eqi(name, strlen(name), names[i])) return 1;
    return 0;
}

/* Check slot's pending output, count its top-level replies, then drop it. */
static long check_replies(int slot, int resp_before) {
    client *c = clients[slot];
    struct iovec iov[64];
    size_t len = reply_pending(&c->out), off = 0;
    char *bytes = malloc(len ? len : 1);
    long count = 0;
    /* Gather through the same iovec path the server writes from. */
    while (off < len) {
        int n = reply_iov(&c->out, iov, 64);
        size_t got = 0;
        if (n <= 0) fail("reply_iov returned nothing while bytes are pending", slot, NULL, 0);
        for (int i = 0; i < n && off < len; i++) {
            size_t take = iov[i].iov_len < len - off ? iov[i].iov_len : len - off;
            memcpy(bytes + off, iov[i].iov_base, take);
            off += take;
            got += take;
        }
        reply_consume(&c->out, got);
    }
    if (reply_pending(&c->out)) fail("output left after consuming all of it", slot, NULL, 0);
    if (trace && len) {
        fprintf(stderr, "  [%d] ", slot);
        for (size_t i = 0; i < len && i < 400; i++) {
            unsigned char ch = (unsigned char)bytes[i];
            if (ch >= 32 && ch < 127) fputc(ch, stderr);
            else if (ch == '\r') fputs("\\r", stderr);
            else if (ch == '\n') fputs("\\n", stderr);
            else fprintf(stderr, "\\x%02x", ch);
        }
        fputs(len > 400 ? "...\n" : "\n", stderr);
    }
    /* HELLO inside MULTI switches the protocol in the middle of EXEC's reply, as in
     * Redis (resp_before is 0 then): either protocol's forms are accepted. */
    reader r = {bytes, len, 0, c->out.resp == resp_before ? (c->out.resp == 3 ? 3 : 2) : 0,
                (c->flags & CLIENT_PUBSUB) != 0};
    while (r.pos < r.len) {
        if (!read_value(&r, 0)) {
            if (slot == cut_exec_slot) break;
            fail("malformed reply", slot, bytes, len);
        }
        count++;
    }
    reply_clear(&c->out);
    free(bytes);
    return count;
}

/* After a step: the client that ran a command (cur, or -1) and everyone else. */
static void check_all(int cur, int closing_before, int resp_before) {
    for (int i = 0; i < NCLIENTS; i++) {
        client *c = clients[i];
        if (!c) continue;
        if (c->bs_head) client_bcast_materialize(c); /* pub/sub output still in the broadcast log */
        if (c->flags & (CLIENT_PUBSUB | CLIENT_MONITOR | CLIENT_TRACKING)) pushed[i] = 1;
        if (i == cur && cur_cmd && is_push_command(cur_cmd)) pushed[i] = 1;
        long n = check_replies(i, i == cur ? resp_before : c->out.resp);
        /* CLIENT REPLY OFF/SKIP drop replies (an ON inside EXEC keeps the replies after
         * it, without EXEC's header): only their format is checked then */
        int muted = (c->flags & CLIENT_REPLY_ANY) || (i == cur && cur_muted);
        if (c->held_argv && !c->blocked) {
            /* released by the end of a pause, its held command runs from the loop: still
             * waiting until then */
            if (n != 0) fail("a client got a reply for a command it did not send", i, NULL, 0);
            continue;
        }
        if (pushed[i] || (muted && (i == cur || was_blocked[i])) || (was_blocked[i] && blocked_muted[i])) {
            /* only the format: pushes and multi-reply (un)subscribes, CLIENT REPLY */
        } else if (i == cur) {
            int closing = (c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP)) && !closing_before;
            if (c->blocked ? n != 0 : closing ? n > 1 : n != 1)
                fail(n == 0 ? "command left no reply" : "command left more than one reply", i, NULL, 0);
        } else if (was_blocked[i] && !c->blocked) {
            if (n != 1) fail("unblocked client did not get exactly one reply", i, NULL, 0);
        } else if (n != 0) {
            fail("a client got a reply for a command it did not send", i, NULL, 0);
        }
        if (c->blocked && !was_blocked[i]) blocked_muted[i] = muted;
        was_blocked[i] = c->blocked;
    }
}

/* Run deferred work (client_close_async, client_resume), as the loop would next. */
static void run_deferred(void) {
    if (event_base_get_num_events(server.base, EVENT_BASE_COUNT_ACTIVE) > 0)
        event_base_loop(server.base, EVLOOP_NONBLOCK);
    reconcile();
}

/* ---- harness commands ---- */

static struct event *due[64];
static int ndue;

static int collect_timer(const struct event_base *base, const struct event *ev, void *arg) {
    (void)base;
    (void)arg;
    if (event_get_fd(ev) == -1 && slot_of(event_get_callback_arg(ev)) >= 0 && ndue < 64)
        due[ndue++] = (struct event *)ev;
    return 0;
}

static void fire_timeouts(void) {
    pause_end(); /* a CLIENT PAUSE's timer too */
    ndue = 0;
    event_base_foreach_event(server.base, collect_timer, NULL);
    for (int i = 0; i < ndue; i++) event_active(due[i], EV_TIMEOUT, 1);
    run_deferred();
    check_all(-1, 0, 0);
}

static void cron(void) {
    server.mstime_cached = fake_ms;
    storage_now_ms = fake_ms;
    server_cron();
    reconcile();
    check_all(-1, 0, 0);
}

/* @fill N [TTLMS]: N keys "fill:<i>" (value "<i>") in the client's db straight through
 * storage, with a TTL of (i % TTLMS) + 1 ms if TTLMS > 0: big tables, rehashing, the
 * expires array's growth and shrinking, sampling expiry, SCAN over many buckets. */
static void fill(int slot, int n, const resp_slice *ttlarg) {
    client *c = client_get(slot);
    long long ttl = 0;
    char key[32], val[24];
    if (ttlarg) util_str2ll(ttlarg->ptr, ttlarg->len, &ttl);
    if (n < 0) n = 0;
    if (n > 34000) n = 34000; /* just past the expires array's 256 KB mmap threshold */
    storage_now_ms = fake_ms;
    for (int i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof(key), "fill:%d", i), vl = snprintf(val, sizeof(val), "%d", i);
        rkey *k = db_set_string(c->db, key, (size_t)kl, val, (size_t)vl, 0);
        if (ttl > 0) db_set_expire(c->db, k, fake_ms + i % ttl + 1);
    }
}

static int harness_command(int *cur, const resp_slice *argv, int argc) {
    char arg[32];
    if (argc >= 2 && argv[1].len < sizeof(arg)) {
        memcpy(arg, argv[1].ptr, argv[1].len);
        arg[argv[1].len] = '\0';
    } else {
        arg[0] = '\0';
    }
    if (util_eqi(argv[0].ptr, argv[0].len, "@client")) {
        *cur = (int)((unsigned)atoi(arg) % NCLIENTS);
    } else if (util_eqi(argv[0].ptr, argv[0].len, "@clock")) {
        long long v = strtoll(arg[0] == '=' || arg[0] == '+' ? arg + 1 : arg, NULL, 10);
        if (arg[0] == '=') fake_ms = v;
        else if (v > -(1LL << 50) && v < (1LL << 50)) fake_ms += v;
        /* The wall clock it stands for is never before 1970 (nor past year 37,000). */
        if (fake_ms < 0) fake_ms = 0;
        if (fake_ms > (1LL << 50)) fake_ms = 1LL << 50;
    } else if (util_eqi(argv[0].ptr, argv[0].len, "@timeout")) {
        fire_timeouts();
    } else if (util_eqi(argv[0].ptr, argv[0].len, "@cron")) {
        cron();
    } else if (util_eqi(argv[0].ptr, argv[0].len, "@fill")) {
        fill(*cur, atoi(arg), argc >= 3 ? &argv[2] : NULL);
    }
    return 0;
}

/* ---- one command ---- */

/* RESPITE_FUZZ_SKIP_KNOWN=1: do not run inputs of bugs already reported (each has a
 * regress_ input in the corpus), so a long run can look for others. Remove an entry
 * once its bug is fixed. */
static int skip_known;

static int known_bug(const resp_slice *argv, int argc) {
    /* No open findings (regress_client_kill_odd_args was fixed). */
    (void)argv;
    (void)argc;
    return 0;
}

/* Work Redis itself leaves unbounded by design: SRANDMEMBER, HRANDFIELD and ZRANDMEMBER
 * with a negative count reply |count| elements (repeats allowed) however small the
 * collection, as Redis 7.0 does; a count of billions is a long reply, not a bug to find.
 * Such inputs are not run past RANDOM_COUNT_MAX. */
#define RANDOM_COUNT_MAX 100000
static int unbounded_by_design(const resp_slice *argv, int argc) {
    long long n;
    if (argc < 3) return 0;
    if (!util_eqi(argv[0].ptr, argv[0].len, "srandmember") && !util_eqi(argv[0].ptr, argv[0].len, "hrandfield") &&
        !util_eqi(argv[0].ptr, argv[0].len, "zrandmember"))
        return 0;
    return util_str2ll(argv[2].ptr, argv[2].len, &n) && (n < -RANDOM_COUNT_MAX || n > RANDOM_COUNT_MAX);
}

/* BGSAVE forks (a child per input would swamp the machine), and save points set by
 * CONFIG SET save would fork from @cron: neither is run. SAVE, DUMP and RESTORE are;
 * files go to the temporary directory init_once moved to. */
static int forks(const resp_slice *argv, int argc) {
    if (util_eqi(argv[0].ptr, argv[0].len, "bgsave")) return 1;
    if (!util_eqi(argv[0].ptr, argv[0].len, "config")) return 0;
    for (int i = 1; i < argc; i++)
        if (util_eqi(argv[i].ptr, argv[i].len, "save")) return 1;
    return 0;
}

static void run_command(int slot, const resp_slice *argv, int argc) {
    client *c = client_get(slot);
    size_t bytes = sizeof(resp_slice) * (size_t)argc;
    char name[40];
    if (c->blocked) return; /* the server holds a blocked client's input */
    if (skip_known && known_bug(argv, argc)) return;
    if (unbounded_by_design(argv, argc)) return;
    if (forks(argv, argc)) return;

    /* A private copy, freed right after the command. */
    for (int i = 0; i < argc; i++) bytes += argv[i].len;
    resp_slice *copy = malloc(bytes);
    char *p = (char *)(copy + argc);
    for (int i = 0; i < argc; i++) {
        memcpy(p, argv[i].ptr, argv[i].len);
        copy[i].ptr = p;
        copy[i].len = argv[i].len;
        p += argv[i].len;
    }
    snprintf(name, sizeof(name), "%.*s", (int)(argv[0].len < 32 ? argv[0].len : 32), argv[0].ptr);
    cur_cmd = name;
    script_errors = 0;
    static const char *const scripting[] = {"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro", "exec"};
    for (size_t i = 0; i < sizeof(scripting) / sizeof(scripting[0]); i++)
        if (util_eqi(argv[0].ptr, argv[0].len, scripting[i])) script_errors = 1;

    int closing_before = (c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP)) != 0;
    cur_muted = (c->flags & CLIENT_REPLY_ANY) != 0;
    int resp_before = c->out.resp;
    /* A HELLO queued in MULTI switches the protocol in the middle of EXEC's reply. */
    cut_exec_slot = -1;
    if ((c->flags & CLIENT_MULTI) && util_eqi(argv[0].ptr, argv[0].len, "exec"))
        for (int i = 0; i < c->mcount; i++) {
            const multi_cmd *q = &c->mstate[i];
            if (q->cmd && !strcmp(q->cmd->name, "hello")) resp_before = 0;
            if (q->cmd && !strcmp(q->cmd->fullname, "client|reply")) cut_exec_slot = slot;
        }
    server.mstime_cached = fake_ms;
    c->argc = argc;
    c->argv = copy;
    process_command(c);
    server_client_memory(c, 0); /* as net.c does after a read batch */
    c->argc = 0;
    c->argv = NULL;
    free(copy);

    /* Keep the harness bounded and alive whatever CONFIG SET did. */
    if (server.cfg.proto_max_bulk_len > FUZZ_MAX_BULK) server.cfg.proto_max_bulk_len = FUZZ_MAX_BULK;
    server.shutdown_asap = 0;

    check_all(slot, closing_before, resp_before);
    run_deferred();
    if (clients[slot] && (clients[slot]->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP)))
        free_slot(slot); /* the server closes it once the reply is written */
    check_all(-1, 0, 0);
    cut_exec_slot = -1;
    cur_cmd = NULL;
}

/* ---- set-up and per-input reset ---- */

/* The propagation stream is on for every input, so every handler's rewrite runs: each
 * propagated command must be one the server knows, with an arity it accepts, for a db
 * that exists (MULTI and EXEC too: they carry their first and last command's db); its
 * bytes are read (a dangling argv is caught). */
static void check_propagated(void *priv, int dbid, int argc, const resp_slice *argv) {
    (void)priv;
    if (argc < 1 || dbid < 0 || dbid >= server.dbnum) abort();
    command *cmd = command_lookup(argv[0].ptr, argv[0].len);
    if (!cmd) abort();
    if (cmd->subcommands) {
        const command *sub = NULL;
        for (const command *s = cmd->subcommands; argc >= 2 && s->name && !sub; s++)
            if (util_eqi(argv[1].ptr, argv[1].len, s->name)) sub = s;
        if (!sub) abort();
        cmd = (command *)sub;
    }
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) abort();
    for (int i = 0; i < argc; i++) /* ASan checks the whole range memchr reads */
        if (argv[i].len && !memchr(argv[i].ptr, argv[i].ptr[argv[i].len - 1], argv[i].len)) abort();
}

static void init_once(void) {
    uint8_t seed[16] = {0x72, 0x65, 0x73, 0x70, 0x69, 0x74, 0x65, 0x66, 0x75, 0x7a, 0x7a, 1, 2, 3, 4, 5};
    trace = getenv("RESPITE_FUZZ_TRACE") != NULL;
    skip_known = getenv("RESPITE_FUZZ_SKIP_KNOWN") != NULL;
    if (!trace && !freopen("/dev/null", "w", stdout)) abort(); /* server log lines */
    signal(SIGPIPE, SIG_IGN);
    char tmpl[] = "/tmp/fuzz_commands-XXXXXX";
    if (!mkdtemp(tmpl) || chdir(tmpl) != 0) abort(); /* SAVE's dump.rdb and temp files */
    config_init();
    server.cfg.save[0] = '\0'; /* no save points (Redis's default schedule would fork from @cron) */
    server.pid = (int)getpid();
    server.start_ms = server.mstime_cached = fake_ms;
    storage_now_ms = fake_ms;
    util_hash_seed(seed);
    srandom(1);
    memset(server.run_id, '0', 40);
    server.run_id[40] = 0;
    server.base = event_base_new();
    if (!server.base) abort();
    server.dbnum = server.cfg.databases;
    types_init();
    server.dbs = calloc((size_t)server.dbnum, sizeof(db *));
    for (int i = 0; i < server.dbnum; i++) server.dbs[i] = db_create(i);
    commands_init();
    if (!acl_init()) abort();
    multi_init();
    server_memory_init();
    propagate_subscribe(check_propagated, NULL);
}

static void reset_state(void) {
    for (int i = 0; i < NCLIENTS; i++)
        if (clients[i]) free_slot(i);
    pause_end();
    for (int i = 0; i < server.dbnum; i++) db_flush(server.dbs[i]);
    lazyfree_drain(); /* FLUSHALL ASYNC, UNLINK: what the loop would free later is freed now */
    slowlog_free();
    latency_free();
    script_free_all(); /* the script cache and the function libraries, and their Lua states */
    function_free_all();
    stats_reset();
    config_init();
    server.cfg.save[0] = '\0';
    acl_free(); /* users, the ACL LOG */
    if (!acl_init()) abort();
    server.cfg.proto_max_bulk_len = FUZZ_MAX_BULK;
    script_hook_budget = 5; /* the fake clock never makes a script busy: bound loops */
    server.next_client_id = 0;
    server.shutdown_asap = 0;
    fake_ms = CLOCK_START;
    server.mstime_cached = fake_ms;
    storage_now_ms = fake_ms;
}

/* ---- structure-aware mutations ----
 * Half of the mutations work on words and lines of the (mostly inline) text, which
 * byte-level mutations rarely manage: drop or repeat an argument, drop, repeat or
 * move a command. The other half are libFuzzer's own (with the dictionary). */

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

static int is_sep(uint8_t ch) { return ch == ' ' || ch == '\r' || ch == '\n'; }

/* The n-th (mod count) span of bytes not containing any of the stop bytes; 0 if none. */
static int pick_span(const uint8_t *d, size_t size, unsigned n, int lines, size_t *from, size_t *to) {
    size_t count = 0, i = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t k = 0, want = pass ? n % count : 0;
        for (i = 0; i < size;) {
            while (i < size && (lines ? (d[i] == '\n') : is_sep(d[i]))) i++;
            if (i >= size) break;
            size_t a = i;
            while (i < size && !(lines ? (d[i] == '\n') : is_sep(d[i]))) i++;
            if (lines && i < size) i++; /* a line keeps its newline */
            if (pass && k == want) {
                *from = a;
                *to = i;
                return 1;
            }
            k++;
        }
        count = k;
        if (!count) return 0;
    }
    return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
    unsigned r = seed * 2654435761u;
    size_t a, b, c, d;
    int op = (int)(r % 10);
    r /= 10;
    if (op >= 5 || size == 0) return LLVMFuzzerMutate(data, size, max_size);
    int lines = op >= 2;
    if (!pick_span(data, size, r, lines, &a, &b)) return LLVMFuzzerMutate(data, size, max_size);
    switch (op) {
        case 0: /* drop a word (and the space before it) */
        case 2: /* drop a line */
            if (!lines && a > 0 && data[a - 1] == ' ') a--;
            memmove(data + a, data + b, size - b);
            return size - (b - a);
        case 1: /* repeat a word */
        case 3: /* repeat a line */
            if (size + (b - a) + 1 > max_size) return LLVMFuzzerMutate(data, size, max_size);
            memmove(data + b + (b - a) + !lines, data + b, size - b);
            if (!lines) data[b] = ' ';
            memmove(data + b + !lines, data + a, b - a);
            return size + (b - a) + !lines;
        default: { /* move a line before another one */
            uint8_t *tmp;
            if (!pick_span(data, size, r / 7 + 1, 1, &c, &d) || c == a) return LLVMFuzzerMutate(data, size, max_size);
            tmp = malloc(b - a);
            memcpy(tmp, data + a, b - a);
            memmove(data + a, data + b, size - b); /* cut */
            size -= b - a;
            if (c > a) c -= b - a;
            memmove(data + c + (b - a), data + c, size - c);
            memcpy(data + c, tmp, b - a);
            free(tmp);
            return size + (b - a);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int inited;
    resp_parser parser;
    size_t start = 0;
    int cur = 0, steps = 0;
    char *buf;

    if (!inited) {
        init_once();
        inited = 1;
    }
    buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    resp_parser_init(&parser, FUZZ_MAX_BULK);
    while (start < size && steps < MAX_STEPS) {
        /* the pre-AUTH limits, as net.c sets them (a client not made yet starts as
         * client_get makes it) */
        parser.unauth = clients[cur] ? !clients[cur]->authenticated : !acl_default_autoauth();
        ssize_t n = resp_parse(&parser, buf + start, size - start);
        if (n == 0) break;
        if (n < 0) { /* resynchronise after the next newline */
            char *nl = memchr(buf + start, '\n', size - start);
            if (!nl) break;
            start = (size_t)(nl - buf) + 1;
            resp_parser_reset(&parser);
            continue;
        }
        if (parser.argc > 0) {
            steps++;
            if (trace) {
                fprintf(stderr, "%d>", cur);
                for (int i = 0; i < parser.argc; i++)
                    fprintf(stderr, " %.*s", (int)(parser.argv[i].len < 60 ? parser.argv[i].len : 60),
                            parser.argv[i].ptr);
                fputc('\n', stderr);
            }
            if (parser.argv[0].len && parser.argv[0].ptr[0] == '@') harness_command(&cur, parser.argv, parser.argc);
            else run_command(cur, parser.argv, parser.argc);
        }
        start += (size_t)n;
        resp_parser_reset(&parser);
    }
    resp_parser_free(&parser);
    free(buf);
    reset_state();
    return 0;
}
