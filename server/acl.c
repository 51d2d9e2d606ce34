/* acl.c: Redis 7.0's access control lists.
 *
 * A user has flags (on/off, nopass), SHA-256 password digests and one or more
 * selectors; the first is the root selector, the others come from "(...)" rules. A
 * command runs if any selector allows it. A selector holds a bitmap of allowed command
 * ids (every command and subcommand gets an id at start-up; the top bit stands for
 * commands that do not exist yet, which +@all grants and -@all takes away), the first
 * arguments allowed for commands whose bit is off ("+select|0"), key patterns with
 * read/write permissions and channel patterns.
 *
 * The hot path: a user whose root selector allows all commands, keys and channels has
 * ACL_USER_ALLOW_ALL in its fast word and dispatch tests only that. Otherwise a check
 * is a bit test, then key patterns only if the selector has no allkeys.
 *
 * GETUSER/LIST describe the command bitmap as Redis does: +@all or -@all, then each
 * category that brings the description closer, then single commands for the rest. Redis
 * walks commands in its hash table's order (which changes from run to run); respite
 * walks them sorted.
 *
 * Channels: PUBLISH/SPUBLISH's channel and (S|P)SUBSCRIBE's arguments are checked against
 * the channel rules as Redis does; when ACL SETUSER takes channels away from a user, its
 * clients holding subscriptions the new rules refuse are disconnected. */
#include "server/acl.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/sha256.h"
#include "common/xmalloc.h"
#include "server/command_table.h"
#include "server/net.h"
#include "server/pubsub.h"
#include "server/script.h"

#define ACL_BITS   1024 /* command ids; the last is the "future commands" bit */
#define FUTURE_BIT (ACL_BITS - 1)
#define WORDS      (ACL_BITS / 64)

enum { USER_ON = 1, USER_NOPASS = 2, USER_SANITIZE = 4, USER_SKIP_SANITIZE = 8 };
enum { SEL_ROOT = 1, SEL_ALLKEYS = 2, SEL_ALLCHANNELS = 4, SEL_ALLCOMMANDS = 8 };
enum { PERM_R = 1, PERM_W = 2, PERM_ALL = 3 };
enum { ACL_OK = 0, DENIED_CMD = 1, DENIED_KEY = 2, DENIED_AUTH = 3, DENIED_CHANNEL = 4 };
enum { CTX_TOPLEVEL, CTX_MULTI, CTX_LUA };

/* How a key pattern matches: most are a literal, a literal prefix and '*', or '*'. */
enum { PAT_GLOB, PAT_EXACT, PAT_PREFIX, PAT_ALL };

typedef struct key_pattern {
    char *pat;
    size_t len;
    size_t prefix; /* PAT_PREFIX: the literal part's length */
    int perm;      /* PERM_* */
    int kind;      /* PAT_* */
} key_pattern;

typedef struct first_arg {
    int id;
    char *arg;
    struct first_arg *next;
} first_arg;

typedef struct acl_selector {
    int flags; /* SEL_* */
    uint64_t allowed[WORDS];
    first_arg *firstargs; /* in the order added */
    key_pattern *keys;
    int nkeys;
    char **chans;
    int nchans;
} acl_selector;

acl_user *acl_default;
static acl_user **users; /* sorted by name (bytes) */
static int nusers;

/* Command ids are indexes into command_metas: every Redis command and subcommand, bound
 * to a handler here or not, so rules name the same commands as in Redis. */
static int ncmds;
static int *parent_of; /* by id: the container's id, or -1 */
static int **children; /* by id: the subcommands' ids */
static int *nchildren;

static int spec_perm(uint32_t f);
static int set_id = -1, bitfield_id = -1; /* the commands whose key flags depend on arguments */

static int meta_id(const command *cmd) { return cmd->acl_id; }

/* A command's keys when its one key spec is an index and a range (GET, SET, MSET, DEL):
 * checked without walking the specs. */
typedef struct key_plan {
    int8_t simple, variable;           /* variable: SET/BITFIELD, perm depends on arguments */
    int8_t first, lastkey, step, perm; /* lastkey >= 0: first + lastkey; < 0: argc + lastkey */
} key_plan;
static key_plan *plans; /* by id */
static const char *id_name(int id) { return command_metas[id].fullname; }
static uint32_t id_cats(int id) { return command_metas[id].acl_categories; }

static const char *const categories[] = {
    "keyspace", "read",   "write",       "set",       "sortedset",  "list",        "hash",
    "string",   "bitmap", "hyperloglog", "geo",       "stream",     "pubsub",      "admin",
    "fast",     "slow",   "blocking",    "dangerous", "connection", "transaction", "scripting",
};
#define NCATS ((int)(sizeof(categories) / sizeof(categories[0])))

/* ---- selectors ---- */

static int bit_get(const acl_selector *s, int id) { return (int)(s->allowed[id / 64] >> (id % 64) & 1); }

static void bit_set(acl_selector *s, int id, int on) {
    if (on) s->allowed[id / 64] |= 1ull << (id % 64);
    else {
        s->allowed[id / 64] &= ~(1ull << (id % 64));
        s->flags &= ~SEL_ALLCOMMANDS;
    }
}

static void firstargs_reset(acl_selector *s, int id) {
    for (first_arg **p = &s->firstargs; *p;) {
        first_arg *f = *p;
        if (id < 0 || f->id == id) {
            *p = f->next;
            free(f->arg);
            free(f);
        } else {
            p = &f->next;
        }
    }
}

static void keys_reset(acl_selector *s) {
    for (int i = 0; i < s->nkeys; i++) free(s->keys[i].pat);
    free(s->keys);
    s->keys = NULL;
    s->nkeys = 0;
}

static void chans_reset(acl_selector *s) {
    for (int i = 0; i < s->nchans; i++) free(s->chans[i]);
    free(s->chans);
    s->chans = NULL;
    s->nchans = 0;
}

static void selector_free(acl_selector *s) {
    firstargs_reset(s, -1);
    keys_reset(s);
    chans_reset(s);
}

static void selector_init(acl_selector *s, int flags) {
    memset(s, 0, sizeof(*s));
    s->flags = flags;
    if (!strcmp(server.cfg.acl_pubsub_default, "allchannels")) s->flags |= SEL_ALLCHANNELS;
}

static void selector_copy(acl_selector *dst, const acl_selector *src) {
    *dst = *src;
    dst->firstargs = NULL;
    first_arg **tail = &dst->firstargs;
    for (const first_arg *f = src->firstargs; f; f = f->next) {
        first_arg *n = xmalloc(sizeof(*n));
        n->id = f->id;
        n->arg = xstrdup(f->arg);
        n->next = NULL;
        *tail = n;
        tail = &n->next;
    }
    dst->keys = src->nkeys ? xmalloc(sizeof(key_pattern) * (size_t)src->nkeys) : NULL;
    for (int i = 0; i < src->nkeys; i++) {
        dst->keys[i] = src->keys[i];
        dst->keys[i].pat = xstrdup(src->keys[i].pat);
    }
    dst->chans = src->nchans ? xmalloc(sizeof(char *) * (size_t)src->nchans) : NULL;
    for (int i = 0; i < src->nchans; i++) dst->chans[i] = xstrdup(src->chans[i]);
}

/* Allow or deny cmd and all its subcommands, forgetting their allowed first args. */
static void change_perm(acl_selector *s, int id, int allow) {
    bit_set(s, id, allow);
    firstargs_reset(s, id);
    for (int i = 0; i < nchildren[id]; i++) change_perm(s, children[id][i], allow);
}

static void set_category(acl_selector *s, uint32_t cat, int allow) {
    for (int id = 0; id < ncmds; id++)
        if (id_cats(id) & cat) change_perm(s, id, allow);
}

static int category_bit(const char *name) {
    for (int i = 0; i < NCATS; i++)
        if (!strcasecmp(name, categories[i])) return i;
    return -1;
}

/* The id of a command by its original name ("get", "config|get", any case; renames do
 * not apply), or -1. */
static int lookup_original(const char *name) {
    char low[64];
    size_t n = strlen(name);
    if (n >= sizeof(low)) return -1;
    for (size_t i = 0; i <= n; i++) low[i] = (char)tolower((unsigned char)name[i]);
    const command_meta *m = command_meta_find(low);
    return m ? (int)(m - command_metas) : -1;
}

static int has_space(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (isspace((unsigned char)s[i]) || s[i] == 0) return 1;
    return 0;
}

static void pattern_classify(key_pattern *kp) {
    size_t lit = strcspn(kp->pat, "*?[\\");
    size_t stars = lit;
    while (stars < kp->len && kp->pat[stars] == '*') stars++;
    kp->prefix = lit;
    if (lit == kp->len) kp->kind = PAT_EXACT;
    else if (stars < kp->len) kp->kind = PAT_GLOB;
    else kp->kind = lit ? PAT_PREFIX : PAT_ALL;
}

/* Apply one rule to a selector (Redis's ACLSetSelector). 0 with errno set on error. */
static int selector_apply(acl_selector *s, const char *op, size_t len) {
    if (!strcasecmp(op, "allkeys") || !strcmp(op, "~*")) {
        s->flags |= SEL_ALLKEYS;
        keys_reset(s);
    } else if (!strcasecmp(op, "resetkeys")) {
        s->flags &= ~SEL_ALLKEYS;
        keys_reset(s);
    } else if (!strcasecmp(op, "allchannels") || !strcmp(op, "&*")) {
        s->flags |= SEL_ALLCHANNELS;
        chans_reset(s);
    } else if (!strcasecmp(op, "resetchannels")) {
        s->flags &= ~SEL_ALLCHANNELS;
        chans_reset(s);
    } else if (!strcasecmp(op, "allcommands") || !strcasecmp(op, "+@all")) {
        memset(s->allowed, 0xff, sizeof(s->allowed));
        s->flags |= SEL_ALLCOMMANDS;
        firstargs_reset(s, -1);
    } else if (!strcasecmp(op, "nocommands") || !strcasecmp(op, "-@all")) {
        memset(s->allowed, 0, sizeof(s->allowed));
        s->flags &= ~SEL_ALLCOMMANDS;
        firstargs_reset(s, -1);
    } else if (op[0] == '~' || op[0] == '%') {
        if (s->flags & SEL_ALLKEYS) {
            errno = EEXIST;
            return 0;
        }
        int perm = 0;
        size_t off = 1;
        if (op[0] == '%') {
            for (; off < len; off++) {
                int ch = toupper((unsigned char)op[off]);
                if (ch == 'R' && !(perm & PERM_R)) perm |= PERM_R;
                else if (ch == 'W' && !(perm & PERM_W)) perm |= PERM_W;
                else if (op[off] == '~' && perm) {
                    off++;
                    break;
                } else {
                    errno = EINVAL;
                    return 0;
                }
            }
        } else {
            perm = PERM_ALL;
        }
        if (has_space(op + off, len - off)) {
            errno = EINVAL;
            return 0;
        }
        for (int i = 0; i < s->nkeys; i++) {
            if (!strcmp(s->keys[i].pat, op + off)) {
                s->keys[i].perm |= perm;
                return 1;
            }
        }
        s->keys = xrealloc(s->keys, sizeof(key_pattern) * (size_t)(s->nkeys + 1));
        key_pattern *kp = &s->keys[s->nkeys++];
        kp->pat = xstrdup(op + off);
        kp->len = len - off;
        kp->perm = perm;
        pattern_classify(kp);
    } else if (op[0] == '&') {
        if (s->flags & SEL_ALLCHANNELS) {
            errno = EISDIR;
            return 0;
        }
        if (has_space(op + 1, len - 1)) {
            errno = EINVAL;
            return 0;
        }
        for (int i = 0; i < s->nchans; i++)
            if (!strcmp(s->chans[i], op + 1)) return 1;
        s->chans = xrealloc(s->chans, sizeof(char *) * (size_t)(s->nchans + 1));
        s->chans[s->nchans++] = xstrdup(op + 1);
    } else if ((op[0] == '+' || op[0] == '-') && op[1] == '@') {
        int bit = category_bit(op + 2);
        if (bit < 0) {
            errno = ENOENT;
            return 0;
        }
        set_category(s, 1u << bit, op[0] == '+');
    } else if (op[0] == '+' || op[0] == '-') {
        const char *bar = strrchr(op, '|');
        if (op[0] == '-' || !bar) {
            int id = lookup_original(op + 1);
            if (id < 0) {
                errno = ENOENT;
                return 0;
            }
            change_perm(s, id, op[0] == '+');
            return 1;
        }
        char *name = xstrndup(op + 1, (size_t)(bar - op - 1));
        int id = lookup_original(name);
        free(name);
        if (id < 0) {
            errno = ENOENT;
            return 0;
        }
        if (parent_of[id] >= 0) {
            errno = ECHILD;
            return 0;
        }
        if (!bar[1]) {
            errno = EINVAL;
            return 0;
        }
        if (nchildren[id]) {
            int sub = lookup_original(op + 1);
            if (sub < 0) {
                errno = ENOENT;
                return 0;
            }
            change_perm(s, sub, 1);
            return 1;
        }
        first_arg **tail = &s->firstargs;
        for (; *tail; tail = &(*tail)->next)
            if ((*tail)->id == id && !strcasecmp((*tail)->arg, bar + 1)) return 1;
        first_arg *f = xmalloc(sizeof(*f));
        f->id = id;
        f->arg = xstrdup(bar + 1);
        f->next = NULL;
        *tail = f;
    } else {
        errno = EINVAL;
        return 0;
    }
    return 1;
}

/* ---- users ---- */

static acl_user *user_new(const char *name) {
    acl_user *u = xcalloc(1, sizeof(*u));
    u->name = xstrdup(name);
    u->flags = 0; /* off */
    u->selectors = xmalloc(sizeof(acl_selector));
    selector_init(&u->selectors[0], SEL_ROOT);
    u->nselectors = 1;
    return u;
}

static void passwords_reset(acl_user *u) {
    for (int i = 0; i < u->npasswords; i++) free(u->passwords[i]);
    free(u->passwords);
    u->passwords = NULL;
    u->npasswords = 0;
}

static void selectors_clear(acl_user *u) {
    for (int i = 1; i < u->nselectors; i++) selector_free(&u->selectors[i]);
    u->nselectors = 1;
}

static void user_free_contents(acl_user *u) {
    passwords_reset(u);
    for (int i = 0; i < u->nselectors; i++) selector_free(&u->selectors[i]);
    free(u->selectors);
    free(u->name);
}

static acl_user *user_copy(const acl_user *src) {
    acl_user *u = xcalloc(1, sizeof(*u));
    u->name = xstrdup(src->name);
    u->flags = src->flags;
    u->npasswords = src->npasswords;
    u->passwords = src->npasswords ? xmalloc(sizeof(char *) * (size_t)src->npasswords) : NULL;
    for (int i = 0; i < src->npasswords; i++) u->passwords[i] = xstrdup(src->passwords[i]);
    u->nselectors = src->nselectors;
    u->selectors = xmalloc(sizeof(acl_selector) * (size_t)src->nselectors);
    for (int i = 0; i < src->nselectors; i++) selector_copy(&u->selectors[i], &src->selectors[i]);
    return u;
}

static void user_update_fast(acl_user *u) {
    const acl_selector *r = &u->selectors[0];
    int all = SEL_ALLCOMMANDS | SEL_ALLKEYS | SEL_ALLCHANNELS;
    u->fast = (r->flags & all) == all ? ACL_USER_ALLOW_ALL : 0;
}

/* Move src's contents (same name) into dst, which clients may point at; src is freed. */
static void user_replace(acl_user *dst, acl_user *src) {
    user_free_contents(dst);
    *dst = *src;
    free(src);
    user_update_fast(dst);
}

static int valid_hash(const char *h, size_t len) {
    if (len != 64) return 0;
    for (size_t i = 0; i < 64; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'))) return 0;
    return 1;
}

static void password_add(acl_user *u, const char *hex) {
    for (int i = 0; i < u->npasswords; i++)
        if (!strcmp(u->passwords[i], hex)) return;
    u->passwords = xrealloc(u->passwords, sizeof(char *) * (size_t)(u->npasswords + 1));
    u->passwords[u->npasswords++] = xstrdup(hex);
}

static int password_del(acl_user *u, const char *hex) {
    for (int i = 0; i < u->npasswords; i++) {
        if (strcmp(u->passwords[i], hex)) continue;
        free(u->passwords[i]);
        memmove(u->passwords + i, u->passwords + i + 1, sizeof(char *) * (size_t)(u->npasswords - i - 1));
        u->npasswords--;
        return 1;
    }
    errno = ENODEV;
    return 0;
}

static int user_apply(acl_user *u, const char *op, size_t len);

/* "(rule rule ...)": a new selector. */
static int selector_add(acl_user *u, const char *op, size_t len) {
    acl_selector s;
    selector_init(&s, 0);
    char *inner = xstrndup(op + 1, len - 2);
    resp_slice words[256];
    int n = resp_split_inline(inner, strlen(inner), words, 256);
    int ok = n >= 0 && n <= 256;
    if (!ok) errno = EINVAL;
    for (int i = 0; ok && i < n; i++) {
        char *w = xstrndup(words[i].ptr, words[i].len);
        ok = selector_apply(&s, w, words[i].len);
        free(w);
    }
    free(inner);
    if (!ok) {
        selector_free(&s);
        return 0;
    }
    u->selectors = xrealloc(u->selectors, sizeof(acl_selector) * (size_t)(u->nselectors + 1));
    u->selectors[u->nselectors++] = s;
    return 1;
}

/* Apply one rule to a user (Redis's ACLSetUser). 0 with errno set on error. */
static int user_apply(acl_user *u, const char *op, size_t len) {
    char hex[65];
    if (!len) return 1;
    if (!strcasecmp(op, "on")) u->flags |= USER_ON;
    else if (!strcasecmp(op, "off")) u->flags &= ~USER_ON;
    else if (!strcasecmp(op, "skip-sanitize-payload")) u->flags = (u->flags & ~USER_SANITIZE) | USER_SKIP_SANITIZE;
    else if (!strcasecmp(op, "sanitize-payload")) u->flags = (u->flags & ~USER_SKIP_SANITIZE) | USER_SANITIZE;
    else if (!strcasecmp(op, "nopass")) {
        u->flags |= USER_NOPASS;
        passwords_reset(u);
    } else if (!strcasecmp(op, "resetpass")) {
        u->flags &= ~USER_NOPASS;
        passwords_reset(u);
    } else if (op[0] == '>' || op[0] == '<') {
        sha256_hex(op + 1, len - 1, hex);
        if (op[0] == '<') return password_del(u, hex);
        password_add(u, hex);
        u->flags &= ~USER_NOPASS;
    } else if (op[0] == '#' || op[0] == '!') {
        if (!valid_hash(op + 1, len - 1)) {
            errno = EBADMSG;
            return 0;
        }
        if (op[0] == '!') return password_del(u, op + 1);
        password_add(u, op + 1);
        u->flags &= ~USER_NOPASS;
    } else if (op[0] == '(' && op[len - 1] == ')') {
        return selector_add(u, op, len);
    } else if (!strcasecmp(op, "clearselectors")) {
        selectors_clear(u);
    } else if (!strcasecmp(op, "reset")) {
        user_apply(u, "resetpass", 9);
        user_apply(u, "resetkeys", 9);
        user_apply(u, "resetchannels", 13);
        if (!strcmp(server.cfg.acl_pubsub_default, "allchannels")) user_apply(u, "allchannels", 11);
        user_apply(u, "off", 3);
        user_apply(u, "sanitize-payload", 16);
        user_apply(u, "clearselectors", 14);
        user_apply(u, "-@all", 5);
    } else {
        return selector_apply(&u->selectors[0], op, len);
    }
    return 1;
}

static const char *apply_error(void) {
    switch (errno) {
        case ENOENT: return "Unknown command or category name in ACL";
        case EINVAL: return "Syntax error";
        case EEXIST:
            return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any "
                   "effect. Try 'resetkeys' to start with an empty list of patterns";
        case EISDIR:
            return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have "
                   "any effect. Try 'resetchannels' to start with an empty list of channels";
        case ENODEV: return "The password you are trying to remove from the user does not exist";
        case EBADMSG:
            return "The password hash must be exactly 64 characters and contain only lowercase hexadecimal "
                   "characters";
        case EALREADY: return "Duplicate user found. A user can only be defined once in config files";
        case ECHILD: return "Allowing first-arg of a subcommand is not supported";
        default: return "Wrong format";
    }
}

static int user_index(const char *name, size_t len, int *at) {
    int lo = 0, hi = nusers;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        size_t ml = strlen(users[mid]->name);
        int c = memcmp(users[mid]->name, name, ml < len ? ml : len);
        if (!c) c = ml < len ? -1 : ml > len;
        if (!c) {
            *at = mid;
            return 1;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *at = lo;
    return 0;
}

acl_user *acl_find_user(const char *name, size_t len) {
    int at;
    return user_index(name, len, &at) ? users[at] : NULL;
}

static void users_insert(acl_user *u) {
    int at;
    user_index(u->name, strlen(u->name), &at);
    users = xrealloc(users, sizeof(acl_user *) * (size_t)(nusers + 1));
    memmove(users + at + 1, users + at, sizeof(acl_user *) * (size_t)(nusers - at));
    users[at] = u;
    nusers++;
}

/* A copy of len bytes with a NUL after them (passwords may hold NUL bytes). */
static char *bytes_dup(const char *p, size_t len) {
    char *d = xmalloc(len + 1);
    memcpy(d, p, len);
    d[len] = '\0';
    return d;
}

/* Merge "(a" "b)" arguments into one "(a b)" rule as Redis's ACLMergeSelectorArguments.
 * Returns the number of rules (*out, their lengths in *lens), or -1 with *bad the
 * argument whose '(' is unmatched. */
static int merge_rules(const resp_slice *args, int n, char ***out, size_t **lens, int *bad) {
    char **rules = xmalloc(sizeof(char *) * (size_t)(n ? n : 1));
    size_t *len = xmalloc(sizeof(size_t) * (size_t)(n ? n : 1));
    int k = 0;
    char *open = NULL;
    size_t ol = 0;
    int open_at = -1;
    for (int i = 0; i < n; i++) {
        const resp_slice *a = &args[i];
        if (open) {
            open = xrealloc(open, ol + a->len + 2);
            open[ol] = ' ';
            memcpy(open + ol + 1, a->ptr, a->len);
            ol += 1 + a->len;
            open[ol] = '\0';
            if (a->len && a->ptr[a->len - 1] == ')') {
                len[k] = ol;
                rules[k++] = open;
                open = NULL;
            }
        } else if (a->len && a->ptr[0] == '(' && a->ptr[a->len - 1] != ')') {
            open = bytes_dup(a->ptr, a->len);
            ol = a->len;
            open_at = i;
        } else {
            len[k] = a->len;
            rules[k++] = bytes_dup(a->ptr, a->len);
        }
    }
    if (open) {
        free(open);
        for (int i = 0; i < k; i++) free(rules[i]);
        free(rules);
        free(len);
        *bad = open_at;
        return -1;
    }
    *out = rules;
    *lens = len;
    return k;
}

static void free_rules(char **rules, size_t *lens, int n) {
    for (int i = 0; i < n; i++) free(rules[i]);
    free(rules);
    free(lens);
}

/* ---- pub/sub clients that lose their channels ---- */

static int channel_allowed(char *const *rules, int n, const char *ch, size_t len, int is_pattern);

typedef struct chan_list {
    char **v;
    int n;
} chan_list;

static int sub_refused(void *priv, const char *name, size_t len) {
    const chan_list *l = priv;
    return !channel_allowed(l->v, l->n, name, len, 0);
}

static int pattern_refused(void *priv, const char *name, size_t len) {
    const chan_list *l = priv;
    return !channel_allowed(l->v, l->n, name, len, 1);
}

static client *setuser_caller; /* the client running ACL SETUSER, if any */

/* Redis's ACLKillPubsubClientsIfNeeded: nu replaces old; unless a selector of nu allows
 * all channels or nu keeps every channel rule old had, the clients of old holding a
 * subscription nu's rules (all selectors' together) refuse are disconnected. */
static void kill_pubsub_clients_if_needed(const acl_user *nu, const acl_user *old) {
    if (!pubsub_any()) return;
    chan_list up = {NULL, 0};
    for (int i = 0; i < nu->nselectors; i++) {
        const acl_selector *sel = &nu->selectors[i];
        if (sel->flags & SEL_ALLCHANNELS) {
            free(up.v);
            return;
        }
        up.v = xrealloc(up.v, sizeof(char *) * (size_t)(up.n + sel->nchans + 1));
        for (int j = 0; j < sel->nchans; j++) up.v[up.n++] = sel->chans[j];
    }
    int superset = 1;
    for (int i = 0; i < old->nselectors && superset; i++) {
        const acl_selector *sel = &old->selectors[i];
        if (sel->flags & SEL_ALLCHANNELS) superset = 0; /* Redis lists it as "*", which nu lacks */
        for (int j = 0; j < sel->nchans && superset; j++) {
            int found = 0;
            for (int k = 0; k < up.n && !found; k++) found = !strcmp(up.v[k], sel->chans[j]);
            superset = found;
        }
    }
    if (!superset) {
        for (client *c = server.clients; c; c = c->next) {
            if (c->user != old || !(c->flags & CLIENT_PUBSUB)) continue;
            if (pubsub_client_foreach(c, PUBSUB_PATTERN, pattern_refused, &up) ||
                pubsub_client_foreach(c, PUBSUB_CHANNEL, sub_refused, &up) ||
                pubsub_client_foreach(c, PUBSUB_SHARD, sub_refused, &up)) {
                if (c == setuser_caller) c->flags |= CLIENT_CLOSE_AFTER_REPLY;
                else client_close_async(c);
            }
        }
    }
    free(up.v);
}

/* Apply rules to a copy of u (or a new user) and, if all apply, make them current.
 * Returns NULL or an error text in buf. */
static const char *setuser(const char *name, const resp_slice *args, int n, char *buf, size_t size) {
    char **rules;
    size_t *lens;
    int bad;
    int k = merge_rules(args, n, &rules, &lens, &bad);
    if (k < 0) {
        snprintf(buf, size, "Unmatched parenthesis in acl selector starting at '%.*s'.", (int)args[bad].len,
                 args[bad].ptr);
        return buf;
    }
    acl_user *old = acl_find_user(name, strlen(name));
    acl_user *u = old ? user_copy(old) : user_new(name);
    for (int i = 0; i < k; i++) {
        if (!user_apply(u, rules[i], lens[i])) {
            snprintf(buf, size, "Error in ACL SETUSER modifier '%s': %s", rules[i], apply_error());
            free_rules(rules, lens, k);
            user_free_contents(u);
            free(u);
            return buf;
        }
    }
    free_rules(rules, lens, k);
    if (old) {
        kill_pubsub_clients_if_needed(u, old);
        user_replace(old, u);
    } else {
        user_update_fast(u);
        users_insert(u);
    }
    return NULL;
}

/* ---- describing users ---- */

typedef struct textbuf {
    char *s;
    size_t len, cap;
} textbuf;

static void tb_addn(textbuf *t, const char *s, size_t n) {
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = xrealloc(t->s, t->cap);
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void tb_add(textbuf *t, const char *s) { tb_addn(t, s, strlen(s)); }

static char *tb_take(textbuf *t) {
    if (!t->s) return xstrdup("");
    if (t->len && t->s[t->len - 1] == ' ') t->s[--t->len] = '\0';
    return t->s;
}

static void count_category(const acl_selector *s, uint32_t cat, int *on, int *off) {
    *on = *off = 0;
    for (int id = 0; id < ncmds; id++) {
        if (!(id_cats(id) & cat)) continue;
        if (bit_get(s, id)) (*on)++;
        else (*off)++;
    }
}

static void describe_singles(const acl_selector *s, acl_selector *fake, textbuf *t, int id) {
    int userbit = bit_get(s, id), fakebit = bit_get(fake, id);
    if (userbit != fakebit) {
        tb_add(t, userbit ? "+" : "-");
        tb_add(t, id_name(id));
        tb_add(t, " ");
        change_perm(fake, id, userbit);
    }
    for (int i = 0; i < nchildren[id]; i++) describe_singles(s, fake, t, children[id][i]);
    if (userbit) return;
    for (const first_arg *f = s->firstargs; f; f = f->next) {
        if (f->id != id) continue;
        tb_add(t, "+");
        tb_add(t, id_name(id));
        tb_add(t, "|");
        tb_add(t, f->arg);
        tb_add(t, " ");
    }
}

/* The command rules of a selector, as Redis's ACLDescribeSelectorCommandRules. */
static void describe_commands(const acl_selector *s, textbuf *t) {
    acl_selector fake, temp;
    selector_init(&fake, 0);
    selector_init(&temp, 0);
    int additive = !bit_get(s, FUTURE_BIT);
    tb_add(t, additive ? "-@all " : "+@all ");
    selector_apply(&fake, additive ? "-@all" : "+@all", 5);
    memcpy(temp.allowed, s->allowed, sizeof(s->allowed));
    /* Greedily, the category that most agrees with the bitmap and differs least. */
    char applied[NCATS] = {0};
    for (;;) {
        int best = -1, mindiff = 1 << 30, maxsame = 0;
        for (int j = 0; j < NCATS; j++) {
            if (applied[j]) continue;
            int on, off;
            count_category(&temp, 1u << j, &on, &off);
            int diff = additive ? off : on, same = additive ? on : off;
            if (same > diff && (diff < mindiff || (diff == mindiff && same > maxsame))) {
                best = j;
                mindiff = diff;
                maxsame = same;
            }
        }
        if (best < 0) break;
        set_category(&fake, 1u << best, additive);
        set_category(&temp, 1u << best, !additive);
        tb_add(t, additive ? "+@" : "-@");
        tb_add(t, categories[best]);
        tb_add(t, " ");
        applied[best] = 1;
    }
    for (int id = 0; id < ncmds; id++)
        if (parent_of[id] < 0) describe_singles(s, &fake, t, id);
    selector_free(&fake);
    selector_free(&temp);
}

static void describe_keys(const acl_selector *s, textbuf *t) {
    if (s->flags & SEL_ALLKEYS) {
        tb_add(t, "~* ");
        return;
    }
    for (int i = 0; i < s->nkeys; i++) {
        tb_add(t, s->keys[i].perm == PERM_ALL ? "~" : s->keys[i].perm == PERM_R ? "%R~" : "%W~");
        tb_add(t, s->keys[i].pat);
        tb_add(t, " ");
    }
}

static void describe_channels(const acl_selector *s, textbuf *t, int reset_word) {
    if (s->flags & SEL_ALLCHANNELS) {
        tb_add(t, "&* ");
        return;
    }
    if (reset_word) tb_add(t, "resetchannels ");
    for (int i = 0; i < s->nchans; i++) {
        tb_add(t, "&");
        tb_add(t, s->chans[i]);
        tb_add(t, " ");
    }
}

static void describe_selector(const acl_selector *s, textbuf *t) {
    describe_keys(s, t);
    describe_channels(s, t, 1);
    describe_commands(s, t);
}

static void describe_flags(const acl_user *u, textbuf *t) {
    tb_add(t, u->flags & USER_ON ? "on " : "off ");
    if (u->flags & USER_NOPASS) tb_add(t, "nopass ");
    if (u->flags & USER_SKIP_SANITIZE) tb_add(t, "skip-sanitize-payload ");
    if (u->flags & USER_SANITIZE) tb_add(t, "sanitize-payload ");
}

/* "on nopass ~* &* +@all" as ACL LIST shows after the name (caller frees). */
static char *describe_user(const acl_user *u) {
    textbuf t = {0};
    describe_flags(u, &t);
    for (int i = 0; i < u->npasswords; i++) {
        tb_add(&t, "#");
        tb_add(&t, u->passwords[i]);
        tb_add(&t, " ");
    }
    describe_selector(&u->selectors[0], &t);
    for (int i = 1; i < u->nselectors; i++) {
        textbuf st = {0};
        describe_selector(&u->selectors[i], &st);
        char *sd = tb_take(&st);
        tb_add(&t, "(");
        tb_add(&t, sd);
        tb_add(&t, ") ");
        free(sd);
    }
    return tb_take(&t);
}

/* ---- checking ---- */

typedef struct key_ref {
    int pos;
    int perm; /* PERM_* the command needs on it */
} key_ref;

static int spec_perm(uint32_t f) {
    int p = 0;
    if (f & KS_FLAG_ACCESS) p |= PERM_R;
    if (f & (KS_FLAG_INSERT | KS_FLAG_DELETE | KS_FLAG_UPDATE)) p |= PERM_W;
    return p;
}

/* The permissions SET and BITFIELD need, which depend on their arguments. */
static inline int variable_perm(const command *cmd, const resp_slice *argv, int argc, int perm) {
    int id = meta_id(cmd);
    if (id == set_id) {
        for (int i = 3; i < argc; i++)
            if (util_eqi(argv[i].ptr, argv[i].len, "get")) return PERM_R | PERM_W;
        return PERM_W;
    }
    if (id == bitfield_id) {
        for (int i = 2; i < argc; i++)
            if (util_eqi(argv[i].ptr, argv[i].len, "set") || util_eqi(argv[i].ptr, argv[i].len, "incrby"))
                return PERM_R | PERM_W;
        return PERM_R;
    }
    return perm;
}

/* The keys of a command with the permissions each needs, by its key specs (Redis's
 * getKeysUsingKeySpecs). Arguments that do not fit a spec give no keys: the command
 * then fails on its own syntax. */
static int command_keys(const command *cmd, const resp_slice *argv, int argc, key_ref *out) {
    const command_meta *m = cmd->meta;
    int n = 0;
    for (int j = 0; j < m->nkey_specs; j++) {
        const command_key_spec *ks = &m->key_specs[j];
        if (ks->flags & KS_FLAG_NOT_KEY) continue;
        int first, last, step;
        int r = command_spec_range(ks, argv, argc, &first, &last, &step);
        if (r == 0 || r == 2) continue; /* keyword absent, or zero keys */
        if (r != 1) return 0;
        int perm = spec_perm(ks->flags);
        if (ks->flags & KS_FLAG_VARIABLE_FLAGS) perm = variable_perm(cmd, argv, argc, perm);
        for (int i = first; i <= last && n < argc; i += step) {
            out[n].pos = i;
            out[n++].perm = perm;
        }
    }
    return n;
}

static inline __attribute__((always_inline)) int key_allowed(const acl_selector *s, const resp_slice *key, int perm) {
    for (int i = 0; i < s->nkeys; i++) {
        if ((s->keys[i].perm & perm) != perm) continue;
        const key_pattern *kp = &s->keys[i];
        switch (kp->kind) {
            case PAT_ALL: return 1;
            case PAT_EXACT:
                if (key->len == kp->len && !memcmp(key->ptr, kp->pat, kp->len)) return 1;
                break;
            case PAT_PREFIX:
                if (key->len >= kp->prefix && !memcmp(key->ptr, kp->pat, kp->prefix)) return 1;
                break;
            default:
                if (util_stringmatch(kp->pat, kp->len, key->ptr, key->len, 0)) return 1;
        }
    }
    return 0;
}

/* The command's keys, found once for all selectors; small commands need no allocation. */
typedef struct key_cache {
    int init, n;
    key_ref *refs;
    key_ref local[16];
} key_cache;

/* Channel arguments of the commands Redis checks them for (its CMD_CHANNEL_PUBLISH and
 * _SUBSCRIBE flags), by command id: CHAN_FIRST only argv[1], CHAN_ALL argv[1..], CHAN_PATTERNS
 * argv[1..] as patterns (matched literally against the rules). */
enum { CHAN_NONE = 0, CHAN_FIRST = 1, CHAN_ALL = 2, CHAN_PATTERNS = 3 };
static unsigned char *chan_kind;

/* Redis's ACLCheckChannelAgainstList: a channel must match a rule (glob); a pattern must
 * equal one. */
static int channel_allowed(char *const *rules, int n, const char *ch, size_t len, int is_pattern) {
    for (int i = 0; i < n; i++) {
        size_t rl = strlen(rules[i]);
        if (is_pattern ? (rl == len && !memcmp(rules[i], ch, len)) : util_stringmatch(rules[i], rl, ch, len, 0))
            return 1;
    }
    return 0;
}

static int selector_check_channels(const acl_selector *s, int id, const resp_slice *argv, int argc, int *errpos) {
    int kind = chan_kind ? chan_kind[id] : CHAN_NONE;
    if (kind == CHAN_NONE || (s->flags & SEL_ALLCHANNELS)) return ACL_OK;
    int last = kind == CHAN_FIRST ? (argc > 1 ? 1 : 0) : argc - 1;
    for (int i = 1; i <= last; i++) {
        if (!channel_allowed(s->chans, s->nchans, argv[i].ptr, argv[i].len, kind == CHAN_PATTERNS)) {
            *errpos = i;
            return DENIED_CHANNEL;
        }
    }
    return ACL_OK;
}

static int selector_check_keys(const acl_selector *s, const command *cmd, const resp_slice *argv, int argc, int *errpos,
                               key_cache *kc);

static int selector_check(const acl_selector *s, const command *cmd, const resp_slice *argv, int argc, int *errpos,
                          key_cache *kc) {
    int r = selector_check_keys(s, cmd, argv, argc, errpos, kc);
    if (r != ACL_OK) return r;
    return selector_check_channels(s, meta_id(cmd), argv, argc, errpos);
}

static int selector_check_keys(const acl_selector *s, const command *cmd, const resp_slice *argv, int argc, int *errpos,
                               key_cache *kc) {
    int id = meta_id(cmd);
    if (!(s->flags & SEL_ALLCOMMANDS) && !(cmd->flags & CMD_NO_AUTH) && !bit_get(s, id)) {
        int idx = cmd->parent ? 2 : 1;
        const first_arg *f = s->firstargs;
        for (; f && argc > idx; f = f->next)
            if (f->id == id && util_eqi(argv[idx].ptr, argv[idx].len, f->arg)) break;
        if (!f || argc <= idx) return DENIED_CMD;
    }
    if (s->flags & SEL_ALLKEYS) return ACL_OK;
    const key_plan *kp = &plans[id];
    if (kp->simple) {
        int first = kp->first, last = kp->lastkey >= 0 ? first + kp->lastkey : argc + kp->lastkey;
        if (last >= argc || last < first || first >= argc) return ACL_OK; /* no keys (as command_keys) */
        int perm = kp->variable ? variable_perm(cmd, argv, argc, kp->perm) : kp->perm;
        for (int i = first; i <= last; i += kp->step) {
            if (!key_allowed(s, &argv[i], perm)) {
                *errpos = i;
                return DENIED_KEY;
            }
        }
        return ACL_OK;
    }
    if (cmd->meta->nkey_specs) {
        if (!kc->init) {
            kc->refs = argc <= 16 ? kc->local : xmalloc(sizeof(key_ref) * (size_t)argc);
            kc->n = command_keys(cmd, argv, argc, kc->refs);
            kc->init = 1;
        }
        for (int i = 0; i < kc->n; i++) {
            if (!key_allowed(s, &argv[kc->refs[i].pos], kc->refs[i].perm)) {
                *errpos = kc->refs[i].pos;
                return DENIED_KEY;
            }
        }
    }
    return ACL_OK;
}

/* Redis's ACLCheckAllUserCommandPerm: ACL_OK if some selector allows it; else the
 * "most relevant" denial and the argument it is about. */
static int user_check(const acl_user *u, const command *cmd, const resp_slice *argv, int argc, int *errpos) {
    int relevant = DENIED_CMD, last_idx = 0;
    key_cache kc;
    kc.init = 0;
    kc.refs = NULL;
    for (int i = 0; i < u->nselectors; i++) {
        int idx = 0;
        int r = selector_check(&u->selectors[i], cmd, argv, argc, &idx, &kc);
        if (r == ACL_OK) {
            if (kc.refs != kc.local) free(kc.refs);
            return ACL_OK;
        }
        if (r > relevant || (r == relevant && idx > last_idx)) {
            relevant = r;
            last_idx = idx;
        }
    }
    if (kc.refs != kc.local) free(kc.refs);
    *errpos = last_idx;
    return relevant;
}

/* ---- ACL LOG ---- */

typedef struct log_entry {
    long long count;
    int reason, context;
    char *object, *username, *cinfo;
    size_t olen, ulen;
    long long ctime;
} log_entry;

static log_entry *acl_log; /* newest first */
static int nlog;

static long long log_max_len(void) { return server.cfg.acllog_max_len; }

static void log_entry_free(log_entry *e) {
    free(e->object);
    free(e->username);
    free(e->cinfo);
}

static char *client_info_dup(client *c) {
    char line[2048];
    int n = client_info_line(c, line, sizeof(line));
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof(line)) n = sizeof(line) - 1;
    return xstrndup(line, (size_t)n);
}

static void log_add(client *c, int reason, const char *object, size_t olen, const char *user, size_t ulen) {
    client *shown = c->flags & CLIENT_SCRIPT && script_caller() ? script_caller() : c; /* as Redis: the caller */
    int context = c->flags & CLIENT_SCRIPT                                          ? CTX_LUA
                  : (c->flags & CLIENT_MULTI) || (c->flags & CLIENT_EXECUTING_EXEC) ? CTX_MULTI
                                                                                    : CTX_TOPLEVEL;
    long long now = util_mstime();
    for (int i = 0; i < nlog && i < 10; i++) {
        log_entry *e = &acl_log[i];
        if (e->reason != reason || e->context != context || now - e->ctime > 60000) continue;
        if (e->olen != olen || memcmp(e->object, object, olen) || e->ulen != ulen || memcmp(e->username, user, ulen))
            continue;
        log_entry m = *e;
        memmove(acl_log + 1, acl_log, sizeof(log_entry) * (size_t)i);
        free(m.cinfo);
        m.cinfo = client_info_dup(shown);
        m.ctime = now;
        m.count++;
        acl_log[0] = m;
        return;
    }
    if (log_max_len() <= 0) return;
    log_entry e = {1,    reason, context, xstrndup(object, olen), xstrndup(user, ulen), client_info_dup(shown),
                   olen, ulen,   now};
    acl_log = xrealloc(acl_log, sizeof(log_entry) * (size_t)(nlog + 1));
    memmove(acl_log + 1, acl_log, sizeof(log_entry) * (size_t)nlog);
    acl_log[0] = e;
    nlog++;
    while (nlog > log_max_len()) log_entry_free(&acl_log[--nlog]);
}

static void log_denial(client *c, const command *cmd, int reason, int errpos) {
    const char *u = c->user->name;
    if (reason == DENIED_CMD) log_add(c, reason, cmd->fullname, strlen(cmd->fullname), u, strlen(u));
    else log_add(c, reason, c->argv[errpos].ptr, c->argv[errpos].len, u, strlen(u));
}

/* The common case without the general machinery: one selector that allows the command
 * by its bit, and fixed key positions. 1 if allowed; 0 means "ask user_check". */
static int quick_allow(const acl_user *u, const command *cmd, const resp_slice *argv, int argc) {
    const acl_selector *s = u->selectors;
    int id = cmd->acl_id;
    if (u->nselectors != 1 || !((s->flags & SEL_ALLCOMMANDS) || bit_get(s, id))) return 0;
    if (chan_kind && chan_kind[id] && !(s->flags & SEL_ALLCHANNELS)) return 0;
    if (s->flags & SEL_ALLKEYS) return 1;
    const key_plan *kp = &plans[id];
    if (!kp->simple) return 0;
    int first = kp->first, last = kp->lastkey >= 0 ? first + kp->lastkey : argc + kp->lastkey;
    if (last >= argc || last < first || first >= argc) return 0;
    int perm = kp->variable ? variable_perm(cmd, argv, argc, kp->perm) : kp->perm;
    for (int i = first; i <= last; i += kp->step)
        if (!key_allowed(s, &argv[i], perm)) return 0;
    return 1;
}

const char *acl_check_slow(client *c, const command *cmd) {
    if (quick_allow(c->user, cmd, c->argv, c->argc)) return NULL;
    int errpos = 0;
    int r = user_check(c->user, cmd, c->argv, c->argc, &errpos);
    if (r == ACL_OK) return NULL;
    log_denial(c, cmd, r, errpos);
    static char msg[256];
    if (r == DENIED_CMD)
        snprintf(msg, sizeof(msg), "-NOPERM this user has no permissions to run the '%s' command", cmd->fullname);
    else if (r == DENIED_KEY)
        snprintf(msg, sizeof(msg), "-NOPERM this user has no permissions to access one of the keys used as arguments");
    else
        snprintf(msg, sizeof(msg),
                 "-NOPERM this user has no permissions to access one of the channels used as arguments");
    return msg;
}

int acl_exec_denied(client *c, const command *cmd) {
    if (!c->user || (c->user->fast & ACL_USER_ALLOW_ALL)) return 0;
    int errpos = 0;
    int r = user_check(c->user, cmd, c->argv, c->argc, &errpos);
    if (r == ACL_OK) return 0;
    log_denial(c, cmd, r, errpos);
    const char *reason = r == DENIED_CMD   ? "no permission to execute the command or subcommand"
                         : r == DENIED_KEY ? "no permission to touch the specified keys"
                                           : "no permission to access one of the channels used as arguments";
    reply_errorf(&c->out,
                 "-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. "
                 "This command is no longer allowed for the following reason: %s",
                 reason);
    return 1;
}

/* ---- authentication ---- */

/* Constant-time equality of two 64-digit hex digests. */
static int digest_eq(const char *a, const char *b) {
    unsigned char d = 0;
    for (int i = 0; i < 64; i++) d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

int acl_authenticate(client *c, const resp_slice *user, const resp_slice *pass) {
    acl_user *u = acl_find_user(user->ptr, user->len);
    int ok = 0;
    if (u && (u->flags & USER_ON)) {
        if (u->flags & USER_NOPASS) {
            ok = 1;
        } else {
            char hex[65];
            sha256_hex(pass->ptr, pass->len, hex);
            for (int i = 0; i < u->npasswords; i++) ok |= digest_eq(hex, u->passwords[i]);
        }
    }
    if (ok) {
        c->user = u;
        c->authenticated = 1;
        return 1;
    }
    log_add(c, DENIED_AUTH, c->argv[0].ptr, c->argv[0].len, user->ptr, user->len);
    return 0;
}

int acl_user_nopass(const acl_user *u) { return (u->flags & USER_NOPASS) != 0; }

int acl_default_autoauth(void) { return (acl_default->flags & (USER_ON | USER_NOPASS)) == (USER_ON | USER_NOPASS); }

/* ---- start-up and configuration ---- */

static char **config_lines; /* "user" lines of the config file, for acl_init */
static int nconfig_lines;

const char *acl_config_user(const resp_slice *args, int n) {
    if (n < 2) return "wrong number of arguments";
    textbuf t = {0};
    for (int i = 1; i < n; i++) {
        if (i > 1) tb_add(&t, " ");
        /* quoted so acl_init splits it back into the same words */
        tb_add(&t, "\"");
        for (size_t k = 0; k < args[i].len; k++) {
            char ch = args[i].ptr[k];
            if (ch == '"' || ch == '\\') tb_addn(&t, "\\", 1);
            tb_addn(&t, &ch, 1);
        }
        tb_add(&t, "\"");
    }
    config_lines = xrealloc(config_lines, sizeof(char *) * (size_t)(nconfig_lines + 1));
    config_lines[nconfig_lines++] = t.s;
    return NULL;
}

void acl_requirepass_changed(void) {
    if (!acl_default) return;
    user_apply(acl_default, "resetpass", 9);
    const char *p = server.cfg.requirepass;
    if (p && p[0]) {
        char hex[65];
        sha256_hex(p, strlen(p), hex);
        password_add(acl_default, hex);
    } else {
        user_apply(acl_default, "nopass", 6);
    }
}

static void default_user_reset(acl_user *u) {
    user_apply(u, "+@all", 5);
    user_apply(u, "~*", 2);
    user_apply(u, "&*", 2);
    user_apply(u, "on", 2);
    user_apply(u, "nopass", 6);
}

static void errf(textbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errf(textbuf *t, const char *fmt, ...) {
    char b[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof(b), fmt, ap);
    va_end(ap);
    tb_add(t, b);
}

/* One "user name rules..." line of the config file (path NULL) or the aclfile into the
 * user set being built; errors are appended to errs with Redis's texts. */
static void load_line(char *line, const char *path, int linenum, int *default_seen, textbuf *errs) {
    resp_slice args[1024];
    int n = resp_split_inline(line, strlen(line), args, 1024);
    if (n < 0 || n > 1024) {
        errf(errs, "%s:%d: unbalanced quotes in acl line. ", path ? path : "config", linenum);
        return;
    }
    if (n < 2 || args[0].len != 4 || memcmp(args[0].ptr, "user", 4)) {
        errf(errs, "%s:%d should start with user keyword followed by the username. ", path ? path : "config", linenum);
        return;
    }
    if (has_space(args[1].ptr, args[1].len)) {
        errf(errs, "'%s:%d: username '%.*s' contains invalid characters. ", path ? path : "config", linenum,
             (int)args[1].len, args[1].ptr);
        return;
    }
    char *name = xstrndup(args[1].ptr, args[1].len);
    acl_user *u = acl_find_user(name, strlen(name));
    if (u && (u != acl_default || *default_seen)) {
        errf(errs, "WARNING: Duplicate user '%s' found on line %d. ", name, linenum);
        free(name);
        return;
    }
    if (u == acl_default) {
        *default_seen = 1;
        /* the config file resets the default user; the aclfile defines it afresh */
        user_apply(u, "reset", 5);
        if (path) u->flags = 0;
    } else {
        u = user_new(name);
        users_insert(u);
    }
    char **rules;
    size_t *lens;
    int bad;
    int k = merge_rules(args + 2, n - 2, &rules, &lens, &bad);
    if (k < 0) {
        errf(errs, "%s:%d: Unmatched parenthesis in selector definition.", path ? path : "config", linenum);
    } else {
        for (int i = 0; i < k; i++) {
            if (user_apply(u, rules[i], lens[i])) continue;
            if (path)
                errf(errs, "%s:%d: Error in applying operation '%s': %s. ", path, linenum, rules[i], apply_error());
            else errf(errs, "Error loading ACL rule '%s' for the user named '%s': %s", rules[i], name, apply_error());
        }
        free_rules(rules, lens, k);
    }
    user_update_fast(u);
    free(name);
}

static void users_free_all(int keep_default) {
    for (int i = 0; i < nusers; i++) {
        if (users[i] == acl_default && keep_default) continue;
        user_free_contents(users[i]);
        free(users[i]);
    }
    free(users);
    users = NULL;
    nusers = 0;
    if (keep_default && acl_default) users_insert(acl_default);
}

/* Read the aclfile into the user set, replacing it (Redis's ACLLoadFromFile). On error
 * the previous users are kept and the errors are in the returned string (caller frees). */
static char *load_file(const char *path) {
    FILE *fp = fopen(path, "r");
    if (!fp) {
        textbuf t = {0};
        char b[512];
        snprintf(b, sizeof(b), "Error loading ACLs, opening file '%s': %s", path, strerror(errno));
        tb_add(&t, b);
        return t.s;
    }
    /* Keep the current set to roll back to. */
    acl_user **saved = users;
    int nsaved = nusers;
    acl_user *saved_default = user_copy(acl_default);
    users = NULL;
    nusers = 0;
    users_insert(acl_default);
    user_apply(acl_default, "reset", 5);
    acl_default->flags = 0;
    default_user_reset(acl_default);
    textbuf errs = {0};
    char line[65536];
    int linenum = 0, default_seen = 0;
    while (fgets(line, sizeof(line), fp)) {
        linenum++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
            line[--len] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) continue;
        load_line(p, path, linenum, &default_seen, &errs);
    }
    fclose(fp);
    if (errs.s) {
        tb_add(&errs, "WARNING: ACL errors detected, no change to the previously active ACL rules was performed");
        users_free_all(1);
        free(users);
        users = saved;
        nusers = nsaved;
        user_replace(acl_default, saved_default);
        return errs.s;
    }
    /* The new set stands: the old users go, and their clients are disconnected. */
    for (int i = 0; i < nsaved; i++) {
        if (saved[i] == acl_default) continue;
        for (client *o = server.clients; o; o = o->next)
            if (o->user == saved[i]) {
                o->user = acl_default;
                client_close_async(o);
            }
        user_free_contents(saved[i]);
        free(saved[i]);
    }
    free(saved);
    user_free_contents(saved_default);
    free(saved_default);
    return NULL;
}

static const char *aclfile(void) { return server.cfg.aclfile && server.cfg.aclfile[0] ? server.cfg.aclfile : NULL; }

static void ids_free(void) {
    free(plans);
    plans = NULL;
    free(chan_kind);
    chan_kind = NULL;
    for (int id = 0; id < ncmds; id++) free(children[id]);
    free(children);
    free(nchildren);
    free(parent_of);
    children = NULL;
    nchildren = parent_of = NULL;
    ncmds = 0;
}

static void ids_init(void) {
    ids_free();
    ncmds = (int)command_metas_count;
    if (ncmds >= FUTURE_BIT) {
        log_warning("More commands than the ACL bitmap holds");
        exit(1);
    }
    parent_of = xmalloc(sizeof(int) * (size_t)ncmds);
    nchildren = xcalloc((size_t)ncmds, sizeof(int));
    children = xcalloc((size_t)ncmds, sizeof(int *));
    set_id = lookup_original("set");
    bitfield_id = lookup_original("bitfield");
    plans = xcalloc((size_t)ncmds, sizeof(key_plan));
    free(chan_kind);
    chan_kind = xcalloc((size_t)ncmds, 1);
    static const struct {
        const char *name;
        unsigned char kind;
    } chan_cmds[] = {{"publish", CHAN_FIRST},
                     {"spublish", CHAN_FIRST},
                     {"subscribe", CHAN_ALL},
                     {"ssubscribe", CHAN_ALL},
                     {"psubscribe", CHAN_PATTERNS}};
    for (size_t i = 0; i < sizeof(chan_cmds) / sizeof(chan_cmds[0]); i++) {
        int id = lookup_original(chan_cmds[i].name);
        if (id >= 0) chan_kind[id] = chan_cmds[i].kind;
    }
    for (int id = 0; id < ncmds; id++) {
        const command_meta *m = &command_metas[id];
        const command_key_spec *ks = m->key_specs;
        if (m->nkey_specs != 1 || (ks->flags & KS_FLAG_NOT_KEY) || ks->bs_type != KSPEC_BS_INDEX ||
            ks->fk_type != KSPEC_FK_RANGE || ks->fk[2] != 0 || ks->fk[1] < 1 || ks->bs_index > 100 ||
            ks->fk[0] < -100 || ks->fk[0] > 100 || ks->fk[1] > 100)
            continue;
        plans[id] = (key_plan){1,
                               (ks->flags & KS_FLAG_VARIABLE_FLAGS) != 0,
                               (int8_t)ks->bs_index,
                               (int8_t)ks->fk[0],
                               (int8_t)ks->fk[1],
                               (int8_t)spec_perm(ks->flags)};
    }
    for (int id = 0; id < ncmds; id++) {
        const char *bar = strchr(id_name(id), '|');
        parent_of[id] = -1;
        if (!bar) continue;
        char *pname = xstrndup(id_name(id), (size_t)(bar - id_name(id)));
        int p = lookup_original(pname);
        free(pname);
        if (p < 0) continue;
        parent_of[id] = p;
        children[p] = xrealloc(children[p], sizeof(int) * (size_t)(nchildren[p] + 1));
        children[p][nchildren[p]++] = id;
    }
}

int acl_init(void) {
    ids_init();
    acl_default = user_new("default");
    default_user_reset(acl_default);
    user_update_fast(acl_default);
    users_insert(acl_default);
    acl_requirepass_changed();
    if (nconfig_lines && aclfile()) {
        log_warning("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path "
                    "is invalid. This setup is very likely to lead to configuration errors and security holes, "
                    "please define either an ACL file or declare users directly in your redis.conf, but not both.");
        return 0;
    }
    int default_seen = 0;
    textbuf errs = {0};
    for (int i = 0; i < nconfig_lines && !errs.s; i++) {
        size_t l = strlen(config_lines[i]);
        char *line = xmalloc(l + 6);
        memcpy(line, "user ", 5);
        memcpy(line + 5, config_lines[i], l + 1);
        load_line(line, NULL, i + 1, &default_seen, &errs);
        free(line);
    }
    if (errs.s) {
        log_warning("%s", errs.s);
        free(errs.s);
        return 0;
    }
    if (aclfile()) {
        char *err = load_file(aclfile());
        if (err) {
            log_warning("Aborting Redis startup because of ACL errors: %s", err);
            free(err);
            return 0;
        }
    }
    for (int i = 0; i < nusers; i++) user_update_fast(users[i]);
    return 1;
}

void acl_free(void) {
    for (int i = 0; i < nlog; i++) log_entry_free(&acl_log[i]);
    free(acl_log);
    acl_log = NULL;
    nlog = 0;
    users_free_all(0);
    acl_default = NULL;
    for (int i = 0; i < nconfig_lines; i++) free(config_lines[i]);
    free(config_lines);
    config_lines = NULL;
    nconfig_lines = 0;
    ids_free();
}

/* ---- the ACL command ---- */

/* Redis's text for a subcommand given too many arguments. */
static void reply_sub_arity(client *c) {
    reply_errorf(&c->out, "unknown subcommand or wrong number of arguments for '%.*s'. Try ACL HELP.",
                 (int)c->argv[1].len, c->argv[1].ptr);
}

static void cmd_acl_setuser(client *c) {
    for (int i = 2; i < c->argc; i++) client_redact_arg(c, i);
    if (has_space(c->argv[2].ptr, c->argv[2].len)) {
        reply_error(&c->out, "Usernames can't contain spaces or null characters");
        return;
    }
    char *name = arg_dup(c, 2);
    char buf[1024];
    setuser_caller = c;
    const char *err = setuser(name, c->argv + 3, c->argc - 3, buf, sizeof(buf));
    setuser_caller = NULL;
    free(name);
    if (err) reply_error(&c->out, err);
    else reply_ok(&c->out);
}

static void reply_selector(client *c, const acl_selector *s, int root) {
    textbuf t = {0};
    if (!root) { reply_map(&c->out, 3); }
    reply_bulk_cstr(&c->out, "commands");
    describe_commands(s, &t);
    char *d = tb_take(&t);
    reply_bulk_cstr(&c->out, d);
    free(d);
    reply_bulk_cstr(&c->out, "keys");
    t = (textbuf){0};
    describe_keys(s, &t);
    d = tb_take(&t);
    reply_bulk_cstr(&c->out, d);
    free(d);
    reply_bulk_cstr(&c->out, "channels");
    t = (textbuf){0};
    describe_channels(s, &t, 0);
    d = tb_take(&t);
    reply_bulk_cstr(&c->out, d);
    free(d);
}

static void cmd_acl_getuser(client *c) {
    acl_user *u = acl_find_user(c->argv[2].ptr, c->argv[2].len);
    if (!u) {
        reply_null(&c->out);
        return;
    }
    reply_map(&c->out, 6);
    reply_bulk_cstr(&c->out, "flags");
    const char *flags[4];
    int nf = 0;
    flags[nf++] = u->flags & USER_ON ? "on" : "off";
    if (u->flags & USER_NOPASS) flags[nf++] = "nopass";
    if (u->flags & USER_SKIP_SANITIZE) flags[nf++] = "skip-sanitize-payload";
    if (u->flags & USER_SANITIZE) flags[nf++] = "sanitize-payload";
    reply_set(&c->out, nf);
    for (int i = 0; i < nf; i++) reply_bulk_cstr(&c->out, flags[i]);
    reply_bulk_cstr(&c->out, "passwords");
    reply_array(&c->out, u->npasswords);
    for (int i = 0; i < u->npasswords; i++) reply_bulk_cstr(&c->out, u->passwords[i]);
    reply_selector(c, &u->selectors[0], 1);
    reply_bulk_cstr(&c->out, "selectors");
    reply_array(&c->out, u->nselectors - 1);
    for (int i = 1; i < u->nselectors; i++) reply_selector(c, &u->selectors[i], 0);
}

static void cmd_acl_deluser(client *c) {
    for (int i = 2; i < c->argc; i++) {
        if (c->argv[i].len == 7 && !memcmp(c->argv[i].ptr, "default", 7)) {
            reply_error(&c->out, "The 'default' user cannot be removed");
            return;
        }
    }
    long long deleted = 0;
    for (int i = 2; i < c->argc; i++) {
        int at;
        if (!user_index(c->argv[i].ptr, c->argv[i].len, &at)) continue;
        acl_user *u = users[at];
        memmove(users + at, users + at + 1, sizeof(acl_user *) * (size_t)(nusers - at - 1));
        nusers--;
        for (client *o = server.clients; o; o = o->next) {
            if (o->user != u) continue;
            o->user = acl_default;
            if (o == c) c->flags |= CLIENT_CLOSE_AFTER_REPLY;
            else client_close_async(o);
        }
        user_free_contents(u);
        free(u);
        deleted++;
    }
    reply_int(&c->out, deleted);
}

static void cmd_acl_list(client *c) {
    reply_array(&c->out, nusers);
    for (int i = 0; i < nusers; i++) {
        char *d = describe_user(users[i]);
        textbuf t = {0};
        tb_add(&t, "user ");
        tb_add(&t, users[i]->name);
        tb_add(&t, " ");
        tb_add(&t, d);
        reply_bulk(&c->out, t.s, t.len);
        free(t.s);
        free(d);
    }
}

static void cmd_acl_users(client *c) {
    reply_array(&c->out, nusers);
    for (int i = 0; i < nusers; i++) reply_bulk_cstr(&c->out, users[i]->name);
}

static void cmd_acl_whoami(client *c) { reply_bulk_cstr(&c->out, c->user ? c->user->name : "default"); }

static void cmd_acl_cat(client *c) {
    if (c->argc == 2) {
        reply_array(&c->out, NCATS);
        for (int i = 0; i < NCATS; i++) reply_bulk_cstr(&c->out, categories[i]);
        return;
    }
    if (c->argc != 3) {
        reply_sub_arity(c);
        return;
    }
    char *name = arg_dup(c, 2);
    int bit = category_bit(name);
    free(name);
    if (bit < 0) {
        reply_errorf(&c->out, "Unknown category '%.*s'", (int)c->argv[2].len, c->argv[2].ptr);
        return;
    }
    long n = 0;
    for (int id = 0; id < ncmds; id++) n += (id_cats(id) >> bit) & 1;
    reply_array(&c->out, n);
    for (int id = 0; id < ncmds; id++)
        if (id_cats(id) >> bit & 1) reply_bulk_cstr(&c->out, id_name(id));
}

static void cmd_acl_genpass(client *c) {
    long long bits = 256;
    if (c->argc > 3) {
        reply_sub_arity(c);
        return;
    }
    if (c->argc == 3 && !arg_ll_or_reply(c, 2, &bits)) return;
    if (bits <= 0 || bits > 4096) {
        reply_error(&c->out, "ACL GENPASS argument must be the number of bits for the output password, a positive "
                             "number up to 4096");
        return;
    }
    size_t chars = (size_t)((bits + 3) / 4);
    unsigned char raw[512];
    size_t nraw = (chars + 1) / 2;
    int fd = open("/dev/urandom", O_RDONLY);
    ssize_t got = fd >= 0 ? read(fd, raw, nraw) : -1;
    if (fd >= 0) close(fd);
    if (got != (ssize_t)nraw)
        for (size_t i = 0; i < nraw; i++) raw[i] = (unsigned char)random();
    static const char hex[] = "0123456789abcdef";
    char out[1025];
    for (size_t i = 0; i < chars; i++) out[i] = hex[i % 2 ? raw[i / 2] & 15 : raw[i / 2] >> 4];
    reply_bulk(&c->out, out, chars);
}

int acl_dryrun(const char *user, size_t ulen, const resp_slice *argv, int argc, char *msg, size_t size) {
    acl_user *u = acl_find_user(user, ulen);
    if (!u) {
        snprintf(msg, size, "User '%.*s' not found", (int)ulen, user);
        return -1;
    }
    command *cmd = argc ? command_lookup(argv[0].ptr, argv[0].len) : NULL;
    if (cmd && cmd->subcommands && argc >= 2) {
        command *sub = NULL;
        for (command *s = cmd->subcommands; s->name && !sub; s++)
            if (util_eqi(argv[1].ptr, argv[1].len, s->name)) sub = s;
        cmd = sub;
    }
    if (!cmd) {
        snprintf(msg, size, "Command '%.*s' not found", argc ? (int)argv[0].len : 0, argc ? argv[0].ptr : "");
        return -1;
    }
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
        snprintf(msg, size, "wrong number of arguments for '%s' command", cmd->fullname);
        return -1;
    }
    int errpos = 0;
    int r = user_check(u, cmd, argv, argc, &errpos);
    if (r == ACL_OK) return 0;
    if (r == DENIED_CMD) snprintf(msg, size, "This user has no permissions to run the '%s' command", cmd->fullname);
    else
        snprintf(msg, size, "This user has no permissions to access the '%.*s' %s", (int)argv[errpos].len,
                 argv[errpos].ptr, r == DENIED_KEY ? "key" : "channel");
    return 1;
}

static void cmd_acl_dryrun(client *c) {
    char msg[512];
    int r = acl_dryrun(c->argv[2].ptr, c->argv[2].len, c->argv + 3, c->argc - 3, msg, sizeof(msg));
    if (r < 0) reply_error(&c->out, msg);
    else if (r > 0) reply_bulk_cstr(&c->out, msg);
    else reply_ok(&c->out);
}

const char *acl_setuser(const char *name, const resp_slice *rules, int n) {
    static char buf[1024];
    return setuser(name, rules, n, buf, sizeof(buf));
}

char *acl_describe(const char *name) {
    acl_user *u = acl_find_user(name, strlen(name));
    return u ? describe_user(u) : NULL;
}

static void cmd_acl_log(client *c) {
    long long count = 10;
    if (c->argc > 3) {
        reply_sub_arity(c);
        return;
    }
    if (c->argc == 3) {
        if (arg_is(c, 2, "reset")) {
            for (int i = 0; i < nlog; i++) log_entry_free(&acl_log[i]);
            nlog = 0;
            reply_ok(&c->out);
            return;
        }
        if (!arg_ll_or_reply(c, 2, &count)) return;
        if (count < 0) count = 0;
    }
    if (count > nlog) count = nlog;
    long long now = util_mstime();
    reply_array(&c->out, (long)count);
    static const char *const reasons[] = {"unknown", "command", "key", "auth", "channel"};
    for (long long i = 0; i < count; i++) {
        const log_entry *e = &acl_log[i];
        reply_map(&c->out, 7);
        reply_bulk_cstr(&c->out, "count");
        reply_int(&c->out, e->count);
        reply_bulk_cstr(&c->out, "reason");
        reply_bulk_cstr(&c->out, reasons[e->reason]);
        reply_bulk_cstr(&c->out, "context");
        reply_bulk_cstr(&c->out, e->context == CTX_LUA ? "lua" : e->context == CTX_MULTI ? "multi" : "toplevel");
        reply_bulk_cstr(&c->out, "object");
        reply_bulk(&c->out, e->object, e->olen);
        reply_bulk_cstr(&c->out, "username");
        reply_bulk(&c->out, e->username, e->ulen);
        reply_bulk_cstr(&c->out, "age-seconds");
        reply_double(&c->out, (double)(now - e->ctime) / 1000);
        reply_bulk_cstr(&c->out, "client-info");
        reply_bulk_cstr(&c->out, e->cinfo);
    }
}

static const char *const no_aclfile =
    "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER "
    "command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store "
    "users in the Redis configuration.";

static void cmd_acl_load(client *c) {
    if (!aclfile()) {
        reply_error(&c->out, no_aclfile);
        return;
    }
    char *err = load_file(aclfile());
    if (err) {
        reply_error(&c->out, err);
        free(err);
        return;
    }
    for (int i = 0; i < nusers; i++) user_update_fast(users[i]);
    reply_ok(&c->out);
}

static void cmd_acl_save(client *c) {
    if (!aclfile()) {
        reply_error(&c->out, no_aclfile);
        return;
    }
    textbuf t = {0};
    for (int i = 0; i < nusers; i++) {
        char *d = describe_user(users[i]);
        tb_add(&t, "user ");
        tb_add(&t, users[i]->name);
        tb_add(&t, " ");
        tb_add(&t, d);
        tb_add(&t, "\n");
        free(d);
    }
    size_t plen = strlen(aclfile());
    char *tmp = xmalloc(plen + 32);
    snprintf(tmp, plen + 32, "%s.tmp-%d", aclfile(), (int)getpid());
    FILE *fp = fopen(tmp, "w");
    int ok = fp && (!t.len || fwrite(t.s, 1, t.len, fp) == t.len);
    if (fp && fclose(fp) != 0) ok = 0;
    if (ok && rename(tmp, aclfile()) != 0) ok = 0;
    if (!ok) unlink(tmp);
    free(tmp);
    free(t.s);
    if (ok) reply_ok(&c->out);
    else
        reply_error(&c->out, "There was an error trying to save the ACLs. Please check the server logs for more "
                             "information");
}

static void cmd_acl_help(client *c) {
    static const char *const lines[] = {
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
    };
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

// clang-format off
const command_binding acl_subcommands[] = {
    CMD("cat", cmd_acl_cat),
    CMD("deluser", cmd_acl_deluser),
    CMD("dryrun", cmd_acl_dryrun),
    CMD("genpass", cmd_acl_genpass),
    CMD("getuser", cmd_acl_getuser),
    CMD("help", cmd_acl_help),
    CMD("list", cmd_acl_list),
    CMD("load", cmd_acl_load),
    CMD("log", cmd_acl_log),
    CMD("save", cmd_acl_save),
    CMD("setuser", cmd_acl_setuser),
    CMD("users", cmd_acl_users),
    CMD("whoami", cmd_acl_whoami),
    {0},
};
// clang-format on

const command_binding acl_commands[] = {
    CMD("acl", NULL, acl_subcommands),
    {0},
};
