/* commands.c: the command table. Each command file binds names to handlers in a table
 * (server.h's CMD); everything else about a command (arity, flags, key positions, and
 * what COMMAND INFO and COMMAND DOCS report) is data in server/command_table.c,
 * generated from Redis. At start-up the two are joined by full name into command
 * structs, indexed into one open-addressing hash by lower-case name, so dispatch is a
 * lower-casing copy and one probe. Also COMMAND itself and the small argument/reply
 * helpers handlers use. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/command_table.h"
#include "server/server.h"

const command_binding *const command_tables[] = {
    string_commands,  keys_commands,   conn_commands,   server_commands,  multi_commands,
    memory_commands,  stream_commands, bitops_commands, hll_commands,     debug_commands,
    latency_commands, acl_commands,    hash_commands,   set_commands,     zset_commands,
    geo_commands,     sort_commands,   list_commands,   script_commands,  function_commands,
    persist_commands, aof_commands,    pubsub_commands, monitor_commands, NULL,
};

#define CMD_HASH_SIZE 1024 /* power of two, well above the number of commands */
static struct {
    command *cmd;
    const char *name; /* the command's name, or its rename-command name */
    size_t len;
    uint64_t head; /* name_head(name) */
} cmd_hash[CMD_HASH_SIZE];
static command *cmd_all; /* every top-level command, sorted by name */
static size_t cmd_count;
/* rename-command: cmd_hidden[i] is set when cmd_all[i] was renamed to "" (COMMAND no
 * longer lists it); cmd_visible counts the others. */
static unsigned char *cmd_hidden;
static const char **cmd_alias; /* cmd_alias[i]: the name cmd_all[i] answers to, if renamed */
static size_t cmd_visible;
static char **renames; /* from, to pairs of the config file, applied by commands_init */
static size_t nrenames;

/* Hash of the ASCII-lower-cased name (command names are letters, digits, '-', '|'). */
static size_t name_hash(const char *s, size_t len) {
    size_t h = 5381;
    for (size_t i = 0; i < len; i++) h = h * 33 + ((unsigned char)s[i] | 0x20);
    return h & (CMD_HASH_SIZE - 1);
}

static inline unsigned char ascii_lower(unsigned char ch) { return (unsigned)(ch - 'A') < 26u ? ch | 0x20 : ch; }

/* The first 8 bytes of a name, ASCII-lower-cased, packed in one word: most names are
 * compared whole by one comparison of these. */
static uint64_t name_head(const char *s, size_t len) {
    uint64_t head = 0;
    for (size_t i = 0; i < len && i < 8; i++) head |= (uint64_t)ascii_lower((unsigned char)s[i]) << (8 * i);
    return head;
}

/* ASCII case-insensitive equality of two names of length len. */
static inline int name_eq(const char *a, const char *b, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x != y && ((x ^ y) != 0x20 || (unsigned)((x | 0x20) - 'a') >= 26u)) return 0;
    }
    return 1;
}

command *command_lookup(const char *name, size_t len) {
    if (len == 0 || len >= 32) return NULL;
    /* name_hash and name_head in one pass */
    size_t h = 5381, i = 0, n8 = len < 8 ? len : 8;
    uint64_t head = 0;
    for (; i < n8; i++) {
        unsigned ch = (unsigned char)name[i];
        h = h * 33 + (ch | 0x20);
        head |= (uint64_t)(ch | ((ch - 'A' < 26u) << 5)) << (8 * i);
    }
    for (; i < len; i++) h = h * 33 + ((unsigned char)name[i] | 0x20);
    for (h &= CMD_HASH_SIZE - 1;; h = (h + 1) & (CMD_HASH_SIZE - 1)) {
        command *c = cmd_hash[h].cmd;
        if (!c) return NULL;
        if (cmd_hash[h].head == head && cmd_hash[h].len == len &&
            (len <= 8 || name_eq(name + 8, cmd_hash[h].name + 8, len - 8)))
            return c;
    }
}

static int meta_cmp(const void *key, const void *elem) {
    return strcmp((const char *)key, ((const command_meta *)elem)->fullname);
}

const command_meta *command_meta_find(const char *fullname) {
    return bsearch(fullname, command_metas, command_metas_count, sizeof(command_metas[0]), meta_cmp);
}

static int binding_cmp(const void *a, const void *b) {
    return strcmp((*(const command_binding *const *)a)->name, (*(const command_binding *const *)b)->name);
}

/* The bindings of a zero-terminated table (or of all tables), sorted by name; *n set. */
static const command_binding **bindings_sorted(const command_binding *const *tables, size_t *n) {
    *n = 0;
    for (size_t t = 0; tables[t]; t++)
        for (const command_binding *b = tables[t]; b->name; b++) (*n)++;
    const command_binding **v = xmalloc(sizeof(*v) * (*n ? *n : 1));
    size_t k = 0;
    for (size_t t = 0; tables[t]; t++)
        for (const command_binding *b = tables[t]; b->name; b++) v[k++] = b;
    qsort(v, *n, sizeof(*v), binding_cmp);
    return v;
}

static void fatal_binding(const char *what, const char *fullname) {
    log_warning("Command '%s' %s: bind it once, and regenerate server/command_table.c with "
                "scripts/gen_command_table.py if Redis has it",
                fullname, what);
    exit(1);
}

/* Fill cmd from binding b and the metadata of fullname (exits if there is none). */
static void command_fill(command *cmd, const command_binding *b, const char *fullname, const command *parent) {
    const command_meta *m = command_meta_find(fullname);
    if (!m) fatal_binding("has no metadata", fullname);
    cmd->name = b->name;
    cmd->proc = b->proc;
    cmd->arity = m->arity;
    cmd->flags = m->flags;
    cmd->first_key = m->first_key;
    cmd->last_key = m->last_key;
    cmd->step = m->step;
    cmd->fullname = m->fullname;
    cmd->parent = parent;
    cmd->meta = m;
    cmd->acl_id = (int)(m - command_metas);
    if (!b->subcommands) return;
    const command_binding *tables[] = {b->subcommands, NULL};
    size_t n;
    const command_binding **subs = bindings_sorted(tables, &n);
    cmd->subcommands = xcalloc(n + 1, sizeof(command));
    for (size_t i = 0; i < n; i++) {
        char full[64];
        snprintf(full, sizeof(full), "%s|%s", b->name, subs[i]->name);
        if (i && !strcmp(subs[i]->name, subs[i - 1]->name)) fatal_binding("is bound twice", full);
        if (subs[i]->subcommands) fatal_binding("nests subcommands", full);
        command_fill(&cmd->subcommands[i], subs[i], full, cmd);
    }
    free(subs);
}

/* Index every command not hidden under its current name. */
static void hash_build(void) {
    memset(cmd_hash, 0, sizeof(cmd_hash));
    for (size_t i = 0; i < cmd_count; i++) {
        if (cmd_hidden[i]) continue;
        command *c = &cmd_all[i];
        const char *name = cmd_alias[i] ? cmd_alias[i] : c->name;
        size_t len = strlen(name);
        size_t h = name_hash(name, len);
        while (cmd_hash[h].cmd) h = (h + 1) & (CMD_HASH_SIZE - 1);
        cmd_hash[h].cmd = c;
        cmd_hash[h].name = name;
        cmd_hash[h].len = len;
        cmd_hash[h].head = name_head(name, len);
    }
}

/* rename-command as Redis applies it: the command answers to the new name only ("" hides
 * it); COMMAND still reports its original name; ACL rules use original names. */
static void apply_renames(void) {
    for (size_t r = 0; r < nrenames; r += 2) {
        command *c = command_lookup(renames[r], strlen(renames[r]));
        if (!c) {
            log_warning("Fatal config error: No such command in rename-command: '%s'", renames[r]);
            exit(1);
        }
        if (renames[r + 1][0] && command_lookup(renames[r + 1], strlen(renames[r + 1]))) {
            log_warning("Fatal config error: Target command name already exists in rename-command: '%s'",
                        renames[r + 1]);
            exit(1);
        }
        size_t i = (size_t)(c - cmd_all);
        if (!renames[r + 1][0]) {
            cmd_hidden[i] = 1;
            cmd_visible--;
        } else {
            cmd_alias[i] = renames[r + 1];
        }
        hash_build();
    }
}

void commands_init(void) {
    size_t n;
    const command_binding **v = bindings_sorted(command_tables, &n);
    cmd_all = xcalloc(n, sizeof(command));
    cmd_count = n;
    for (size_t i = 0; i < n; i++) {
        if (i && !strcmp(v[i]->name, v[i - 1]->name)) fatal_binding("is bound twice", v[i]->name);
        command *c = &cmd_all[i];
        command_fill(c, v[i], v[i]->name, NULL);
    }
    free(v);
    free(cmd_hidden);
    cmd_hidden = xcalloc(n ? n : 1, 1);
    free(cmd_alias);
    cmd_alias = xcalloc(n ? n : 1, sizeof(*cmd_alias));
    cmd_visible = n;
    hash_build();
    apply_renames();
}

void command_rename_later(const resp_slice *from, const resp_slice *to) {
    renames = xrealloc(renames, sizeof(char *) * (nrenames + 2));
    renames[nrenames++] = xstrndup(from->ptr, from->len);
    renames[nrenames++] = xstrndup(to->ptr, to->len);
}

size_t commands_count(void) { return cmd_count; }

void commands_foreach(void (*fn)(void *priv, const command *cmd), void *priv) {
    for (size_t i = 0; i < cmd_count; i++) {
        fn(priv, &cmd_all[i]);
        for (const command *s = cmd_all[i].subcommands; s && s->name; s++) fn(priv, s);
    }
}

/* ---- helpers for handlers ---- */

void reply_wrongtype(client *c) {
    reply_error(&c->out, "-WRONGTYPE Operation against a key holding the wrong kind of value");
}

void reply_syntax_error(client *c) { reply_error(&c->out, "syntax error"); }

void reply_arity_error(client *c) {
    reply_errorf(&c->out, "wrong number of arguments for '%s' command", c->cmd ? c->cmd->fullname : "unknown");
}

int arg_is(const client *c, int i, const char *s) { return util_eqi(c->argv[i].ptr, c->argv[i].len, s); }

int arg_ll_or_reply_msg(client *c, int i, long long *out, const char *msg) {
    if (util_str2ll(c->argv[i].ptr, c->argv[i].len, out)) return 1;
    reply_error(&c->out, msg);
    return 0;
}

int arg_ll_or_reply(client *c, int i, long long *out) {
    return arg_ll_or_reply_msg(c, i, out, "value is not an integer or out of range");
}

int arg_ld_or_reply(client *c, int i, long double *out) {
    if (util_str2ld(c->argv[i].ptr, c->argv[i].len, out)) return 1;
    reply_error(&c->out, "value is not a valid float");
    return 0;
}

resp_slice *argv_dup(const resp_slice *argv, int argc) {
    size_t bytes = sizeof(resp_slice) * (size_t)argc;
    for (int i = 0; i < argc; i++) bytes += argv[i].len;
    resp_slice *copy = xmalloc(bytes ? bytes : 1);
    char *p = (char *)(copy + argc);
    for (int i = 0; i < argc; i++) {
        memcpy(p, argv[i].ptr, argv[i].len);
        copy[i].ptr = p;
        copy[i].len = argv[i].len;
        p += argv[i].len;
    }
    return copy;
}

char *arg_dup(const client *c, int i) {
    char *s = xmalloc(c->argv[i].len + 1);
    memcpy(s, c->argv[i].ptr, c->argv[i].len);
    s[c->argv[i].len] = '\0';
    return s;
}

void reply_help(client *c, const char *const *lines, size_t n) {
    char head[96];
    int l = (int)(c->argv[0].len < 32 ? c->argv[0].len : 32);
    for (int i = 0; i < l; i++) head[i] = (char)toupper((unsigned char)c->argv[0].ptr[i]);
    snprintf(head + l, sizeof(head) - (size_t)l, " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    reply_array(&c->out, (long)n + 3);
    reply_simple(&c->out, head);
    for (size_t i = 0; i < n; i++) reply_simple(&c->out, lines[i]);
    reply_simple(&c->out, "HELP");
    reply_simple(&c->out, "    Prints this help.");
}

/* ---- COMMAND ---- */

/* Names in the order Redis lists them. */
static const struct {
    uint32_t flag;
    const char *name;
} flag_names[] = {
    {CMD_WRITE, "write"},
    {CMD_READONLY, "readonly"},
    {CMD_DENYOOM, "denyoom"},
    {CMD_ADMIN, "admin"},
    {CMD_PUBSUB, "pubsub"},
    {CMD_NOSCRIPT, "noscript"},
    {CMD_BLOCKING, "blocking"},
    {CMD_LOADING, "loading"},
    {CMD_STALE, "stale"},
    {CMD_SKIP_MONITOR, "skip_monitor"},
    {CMD_SKIP_SLOWLOG, "skip_slowlog"},
    {CMD_ASKING, "asking"},
    {CMD_FAST, "fast"},
    {CMD_NO_AUTH, "no_auth"},
    {CMD_NO_MANDATORY_KEYS, "no_mandatory_keys"},
    {CMD_NO_ASYNC_LOADING, "no_async_loading"},
    {CMD_NO_MULTI, "no_multi"},
    {CMD_MOVABLE_KEYS, "movablekeys"},
    {CMD_ALLOW_BUSY, "allow_busy"},
};
/* Indexed by bit number. */
static const char *const acl_names[] = {
    "@keyspace", "@read",   "@write",       "@set",       "@sortedset",  "@list",        "@hash",
    "@string",   "@bitmap", "@hyperloglog", "@geo",       "@stream",     "@pubsub",      "@admin",
    "@fast",     "@slow",   "@blocking",    "@dangerous", "@connection", "@transaction", "@scripting",
};
static const char *const ks_flag_names[] = {"RO",     "RW",     "OW",      "RM",         "access",        "update",
                                            "insert", "delete", "not_key", "incomplete", "variable_flags"};
static const char *const arg_type_names[] = {"string",    "integer",    "double", "key",  "pattern",
                                             "unix-time", "pure-token", "oneof",  "block"};
static const char *const arg_flag_names[] = {"optional", "multiple", "multiple_token"};
static const char *const doc_flag_names[] = {"deprecated", "syscmd"};

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* A set of the names of the bits set in bits (names[i] for bit i), as status replies. */
static void reply_bit_names(client *c, uint32_t bits, const char *const *names, size_t n) {
    long count = 0;
    for (size_t i = 0; i < n; i++)
        if (bits & (1u << i)) count++;
    reply_set(&c->out, count);
    for (size_t i = 0; i < n; i++)
        if (bits & (1u << i)) reply_simple(&c->out, names[i]);
}

static long subcommand_count(const command *cmd) {
    long n = 0;
    for (const command *s = cmd->subcommands; s && s->name; s++) n++;
    return n;
}

static void reply_key_spec(client *c, const command_key_spec *ks) {
    reply_map(&c->out, ks->notes ? 4 : 3);
    if (ks->notes) {
        reply_bulk_cstr(&c->out, "notes");
        reply_bulk_cstr(&c->out, ks->notes);
    }
    reply_bulk_cstr(&c->out, "flags");
    reply_bit_names(c, ks->flags, ks_flag_names, NELEMS(ks_flag_names));
    reply_bulk_cstr(&c->out, "begin_search");
    reply_map(&c->out, 2);
    reply_bulk_cstr(&c->out, "type");
    if (ks->bs_type == KSPEC_BS_INDEX) {
        reply_bulk_cstr(&c->out, "index");
        reply_bulk_cstr(&c->out, "spec");
        reply_map(&c->out, 1);
        reply_bulk_cstr(&c->out, "index");
        reply_int(&c->out, ks->bs_index);
    } else if (ks->bs_type == KSPEC_BS_KEYWORD) {
        reply_bulk_cstr(&c->out, "keyword");
        reply_bulk_cstr(&c->out, "spec");
        reply_map(&c->out, 2);
        reply_bulk_cstr(&c->out, "keyword");
        reply_bulk_cstr(&c->out, ks->bs_keyword);
        reply_bulk_cstr(&c->out, "startfrom");
        reply_int(&c->out, ks->bs_startfrom);
    } else {
        reply_bulk_cstr(&c->out, "unknown");
        reply_bulk_cstr(&c->out, "spec");
        reply_map(&c->out, 0);
    }
    reply_bulk_cstr(&c->out, "find_keys");
    reply_map(&c->out, 2);
    reply_bulk_cstr(&c->out, "type");
    static const char *const range[] = {"lastkey", "keystep", "limit"};
    static const char *const keynum[] = {"keynumidx", "firstkey", "keystep"};
    const char *const *names = NULL;
    if (ks->fk_type == KSPEC_FK_RANGE) {
        reply_bulk_cstr(&c->out, "range");
        names = range;
    } else if (ks->fk_type == KSPEC_FK_KEYNUM) {
        reply_bulk_cstr(&c->out, "keynum");
        names = keynum;
    } else {
        reply_bulk_cstr(&c->out, "unknown");
    }
    reply_bulk_cstr(&c->out, "spec");
    reply_map(&c->out, names ? 3 : 0);
    for (int i = 0; names && i < 3; i++) {
        reply_bulk_cstr(&c->out, names[i]);
        reply_int(&c->out, ks->fk[i]);
    }
}

/* One command's COMMAND INFO entry, as Redis's addReplyCommandInfo. */
static void reply_command_info(client *c, const command *cmd) {
    const command_meta *m = cmd->meta;
    reply_array(&c->out, 10);
    reply_bulk_cstr(&c->out, cmd->fullname);
    reply_int(&c->out, cmd->arity);
    long nf = 0;
    for (size_t i = 0; i < NELEMS(flag_names); i++)
        if (cmd->flags & flag_names[i].flag) nf++;
    reply_set(&c->out, nf);
    for (size_t i = 0; i < NELEMS(flag_names); i++)
        if (cmd->flags & flag_names[i].flag) reply_simple(&c->out, flag_names[i].name);
    reply_int(&c->out, cmd->first_key);
    reply_int(&c->out, cmd->last_key);
    reply_int(&c->out, cmd->step);
    reply_bit_names(c, m->acl_categories, acl_names, NELEMS(acl_names));
    reply_set(&c->out, m->ntips);
    for (int i = 0; i < m->ntips; i++) reply_bulk_cstr(&c->out, m->tips[i]);
    reply_set(&c->out, m->nkey_specs);
    for (int i = 0; i < m->nkey_specs; i++) reply_key_spec(c, &m->key_specs[i]);
    if (!cmd->subcommands) {
        reply_set(&c->out, 0);
        return;
    }
    reply_array(&c->out, subcommand_count(cmd));
    for (const command *s = cmd->subcommands; s->name; s++) reply_command_info(c, s);
}

static void reply_args(client *c, const command_arg *args, int n) {
    reply_array(&c->out, n);
    for (int i = 0; i < n; i++) {
        const command_arg *a = &args[i];
        long fields = 2 + (a->key_spec != 0) + (a->token != NULL) + (a->since != NULL) + (a->deprecated_since != NULL) +
                      (a->flags != 0) + (a->nsubargs != 0);
        reply_map(&c->out, fields);
        reply_bulk_cstr(&c->out, "name");
        reply_bulk_cstr(&c->out, a->name);
        reply_bulk_cstr(&c->out, "type");
        reply_bulk_cstr(&c->out, arg_type_names[a->type]);
        if (a->key_spec) {
            reply_bulk_cstr(&c->out, "key_spec_index");
            reply_int(&c->out, a->key_spec - 1);
        }
        const char *const strs[][2] = {
            {"token", a->token}, {"since", a->since}, {"deprecated_since", a->deprecated_since}};
        for (size_t k = 0; k < NELEMS(strs); k++) {
            if (!strs[k][1]) continue;
            reply_bulk_cstr(&c->out, strs[k][0]);
            reply_bulk_cstr(&c->out, strs[k][1]);
        }
        if (a->flags) {
            reply_bulk_cstr(&c->out, "flags");
            reply_bit_names(c, a->flags, arg_flag_names, NELEMS(arg_flag_names));
        }
        if (a->nsubargs) {
            reply_bulk_cstr(&c->out, "arguments");
            reply_args(c, a->subargs, a->nsubargs);
        }
    }
}

/* One command's COMMAND DOCS value (the caller replied its name), as Redis's
 * addReplyCommandDocs. */
static void reply_command_docs(client *c, const command *cmd) {
    const command_meta *m = cmd->meta;
    const char *const strs[][2] = {
        {"summary", m->summary}, {"since", m->since}, {"group", m->group}, {"complexity", m->complexity}};
    const char *const deprecation[][2] = {{"deprecated_since", m->deprecated_since}, {"replaced_by", m->replaced_by}};
    long fields = (m->doc_flags != 0) + (m->nhistory != 0) + (m->nargs != 0) + (cmd->subcommands != NULL);
    for (size_t k = 0; k < NELEMS(strs); k++) fields += strs[k][1] != NULL;
    for (size_t k = 0; k < NELEMS(deprecation); k++) fields += deprecation[k][1] != NULL;
    reply_map(&c->out, fields);
    for (size_t k = 0; k < NELEMS(strs); k++) {
        if (!strs[k][1]) continue;
        reply_bulk_cstr(&c->out, strs[k][0]);
        reply_bulk_cstr(&c->out, strs[k][1]);
    }
    if (m->doc_flags) {
        reply_bulk_cstr(&c->out, "doc_flags");
        reply_bit_names(c, m->doc_flags, doc_flag_names, NELEMS(doc_flag_names));
    }
    for (size_t k = 0; k < NELEMS(deprecation); k++) {
        if (!deprecation[k][1]) continue;
        reply_bulk_cstr(&c->out, deprecation[k][0]);
        reply_bulk_cstr(&c->out, deprecation[k][1]);
    }
    if (m->nhistory) {
        reply_bulk_cstr(&c->out, "history");
        reply_set(&c->out, m->nhistory);
        for (int i = 0; i < m->nhistory; i++) {
            reply_array(&c->out, 2);
            reply_bulk_cstr(&c->out, m->history[2 * i]);
            reply_bulk_cstr(&c->out, m->history[2 * i + 1]);
        }
    }
    if (m->nargs) {
        reply_bulk_cstr(&c->out, "arguments");
        reply_args(c, m->args, m->nargs);
    }
    if (cmd->subcommands) {
        reply_bulk_cstr(&c->out, "subcommands");
        reply_map(&c->out, subcommand_count(cmd));
        for (const command *s = cmd->subcommands; s->name; s++) {
            reply_bulk_cstr(&c->out, s->fullname);
            reply_command_docs(c, s);
        }
    }
}

/* Find "name" or "container|sub" as COMMAND INFO/DOCS accept. */
static const command *command_lookup_fullname(const char *name, size_t len) {
    const char *bar = memchr(name, '|', len);
    if (!bar) return command_lookup(name, len);
    const command *parent = command_lookup(name, (size_t)(bar - name));
    if (!parent) return NULL;
    for (const command *s = parent->subcommands; s && s->name; s++)
        if (util_eqi(bar + 1, len - (size_t)(bar - name) - 1, s->name)) return s;
    return NULL;
}

void cmd_command(client *c) {
    reply_array(&c->out, (long)cmd_visible);
    for (size_t i = 0; i < cmd_count; i++)
        if (!cmd_hidden[i]) reply_command_info(c, &cmd_all[i]);
}

static void cmd_command_count(client *c) { reply_int(&c->out, (long long)cmd_visible); }

/* COMMAND LIST's filter, as Redis's shouldFilterFromCommandList: 1 to leave cmd out. */
enum { LIST_ALL, LIST_MODULE, LIST_ACLCAT, LIST_PATTERN };
static int list_skips(const client *c, int filter, uint32_t aclcat, const command *cmd) {
    switch (filter) {
        case LIST_MODULE: return 1; /* no module commands here */
        case LIST_ACLCAT: return !(cmd->meta->acl_categories & aclcat);
        case LIST_PATTERN:
            return !util_stringmatch(c->argv[4].ptr, c->argv[4].len, cmd->fullname, strlen(cmd->fullname), 1);
        default: return 0;
    }
}

/* Every command and subcommand the filter keeps; emit 0 counts them, 1 replies them. */
static long command_list_names(client *c, int filter, uint32_t aclcat, int emit) {
    long n = 0;
    for (size_t i = 0; i < cmd_count; i++) {
        const command *cmd = &cmd_all[i];
        if (cmd_hidden[i]) continue;
        if (!list_skips(c, filter, aclcat, cmd)) {
            n++;
            if (emit) reply_bulk_cstr(&c->out, cmd->fullname);
        }
        for (const command *s = cmd->subcommands; s && s->name; s++) {
            if (list_skips(c, filter, aclcat, s)) continue;
            n++;
            if (emit) reply_bulk_cstr(&c->out, s->fullname);
        }
    }
    return n;
}

static void cmd_command_list(client *c) {
    int filter = LIST_ALL;
    uint32_t aclcat = 0;
    if (c->argc == 5 && arg_is(c, 2, "filterby")) {
        if (arg_is(c, 3, "module")) filter = LIST_MODULE;
        else if (arg_is(c, 3, "aclcat")) filter = LIST_ACLCAT;
        else if (arg_is(c, 3, "pattern")) filter = LIST_PATTERN;
    }
    if (c->argc != 2 && filter == LIST_ALL) {
        reply_syntax_error(c);
        return;
    }
    if (filter == LIST_ACLCAT) /* an unknown category lists nothing */
        for (size_t i = 0; i < NELEMS(acl_names); i++)
            if (util_eqi(c->argv[4].ptr, c->argv[4].len, acl_names[i] + 1)) aclcat = 1u << i;
    if (filter == LIST_ACLCAT && !aclcat) filter = LIST_MODULE;
    reply_array(&c->out, command_list_names(c, filter, aclcat, 0));
    command_list_names(c, filter, aclcat, 1);
}

static void cmd_command_info(client *c) {
    if (c->argc == 2) {
        cmd_command(c);
        return;
    }
    reply_array(&c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        const command *cmd = command_lookup_fullname(c->argv[i].ptr, c->argv[i].len);
        if (cmd) reply_command_info(c, cmd);
        else reply_null(&c->out); /* Redis's addReplyNull: $-1 in RESP2 */
    }
}

static void cmd_command_docs(client *c) {
    if (c->argc == 2) {
        reply_map(&c->out, (long)cmd_visible);
        for (size_t i = 0; i < cmd_count; i++) {
            if (cmd_hidden[i]) continue;
            reply_bulk_cstr(&c->out, cmd_all[i].fullname);
            reply_command_docs(c, &cmd_all[i]);
        }
        return;
    }
    long n = 0;
    for (int i = 2; i < c->argc; i++) n += command_lookup_fullname(c->argv[i].ptr, c->argv[i].len) != NULL;
    reply_map(&c->out, n);
    for (int i = 2; i < c->argc; i++) {
        const command *cmd = command_lookup_fullname(c->argv[i].ptr, c->argv[i].len);
        if (!cmd) continue;
        reply_bulk_cstr(&c->out, cmd->fullname);
        reply_command_docs(c, cmd);
    }
}
int command_spec_range(const command_key_spec *ks, const resp_slice *argv, int argc, int *firstp, int *lastp,
                       int *stepp) {
    int first = 0, last, step;
    if (ks->bs_type == KSPEC_BS_INDEX) {
        first = ks->bs_index;
    } else if (ks->bs_type == KSPEC_BS_KEYWORD) {
        int from = ks->bs_startfrom > 0 ? ks->bs_startfrom : argc + ks->bs_startfrom;
        int to = ks->bs_startfrom > 0 ? argc - 1 : 1;
        for (int i = from; i != to; i = from <= to ? i + 1 : i - 1) {
            if (i >= argc || i < 1) break;
            if (util_eqi(argv[i].ptr, argv[i].len, ks->bs_keyword)) {
                first = i + 1;
                break;
            }
        }
        if (!first) return 0;
    } else {
        return -1;
    }
    if (ks->fk_type == KSPEC_FK_RANGE) {
        step = ks->fk[1];
        if (ks->fk[0] >= 0) last = first + ks->fk[0];
        else if (!ks->fk[2]) last = argc + ks->fk[0];
        else last = first + ((argc - first) / ks->fk[2] + ks->fk[0]);
    } else if (ks->fk_type == KSPEC_FK_KEYNUM) {
        long long numkeys;
        step = ks->fk[2];
        if (ks->fk[0] >= argc - first) return -1;
        const resp_slice *num = &argv[first + ks->fk[0]];
        if (!util_str2ll(num->ptr, num->len, &numkeys) || numkeys < 0 || numkeys > argc) return -1;
        first += ks->fk[1];
        last = first + (int)numkeys - 1;
    } else {
        return -1;
    }
    if (last >= argc || last < first || first >= argc || step < 1) return last == first - 1 ? 2 : -1;
    *firstp = first;
    *lastp = last;
    *stepp = step;
    return 1;
}

/* The argv positions of cmd's keys found through its key specs, as Redis's
 * getKeysUsingKeySpecs: the count (0 if a keyword is absent), or -1 if the arguments
 * do not fit a spec. pos has room for argc entries. */
static int keys_by_specs(const command_meta *m, const resp_slice *argv, int argc, int *pos) {
    int n = 0;
    for (int j = 0; j < m->nkey_specs; j++) {
        const command_key_spec *ks = &m->key_specs[j];
        if (ks->flags & KS_FLAG_NOT_KEY) continue;
        int first, last, step;
        int r = command_spec_range(ks, argv, argc, &first, &last, &step);
        if (r == 0) continue;
        if (r != 1) return -1;
        for (int i = first; i <= last && n < argc; i += step) pos[n++] = i;
    }
    return n;
}

/* XREAD's and XREADGROUP's keys when their spec does not fit (Redis's xreadGetKeys). */
static int keys_xread(const resp_slice *argv, int argc, int *pos) {
    int streams = -1;
    for (int i = 1; i < argc; i++) {
        const resp_slice *a = &argv[i];
        if (util_eqi(a->ptr, a->len, "block") || util_eqi(a->ptr, a->len, "count")) {
            i++;
        } else if (util_eqi(a->ptr, a->len, "group")) {
            i += 2;
        } else if (util_eqi(a->ptr, a->len, "noack")) {
            continue;
        } else {
            if (util_eqi(a->ptr, a->len, "streams")) streams = i;
            break;
        }
    }
    int num = argc - streams - 1;
    if (streams == -1 || num == 0 || num % 2 != 0) return 0;
    for (int i = 0; i < num / 2; i++) pos[i] = streams + 1 + i;
    return num / 2;
}

/* COMMAND GETKEYS, as Redis's getKeysSubcommandImpl. */
static void cmd_command_getkeys(client *c) {
    const resp_slice *argv = c->argv + 2;
    int argc = c->argc - 2;
    const command *cmd = command_lookup(argv[0].ptr, argv[0].len);
    if (cmd && cmd->subcommands && argc > 1) {
        const command *sub = NULL;
        for (const command *s = cmd->subcommands; s->name && !sub; s++)
            if (util_eqi(argv[1].ptr, argv[1].len, s->name)) sub = s;
        cmd = sub;
    }
    if (!cmd) {
        reply_error(&c->out, "Invalid command specified");
        return;
    }
    int haskeys = 0;
    for (int j = 0; j < cmd->meta->nkey_specs; j++) haskeys |= !(cmd->meta->key_specs[j].flags & KS_FLAG_NOT_KEY);
    if (!haskeys) {
        reply_error(&c->out, "The command has no key arguments");
        return;
    }
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
        reply_error(&c->out, "Invalid number of arguments specified for command");
        return;
    }
    int *pos = xmalloc(sizeof(int) * (size_t)argc);
    int n = keys_by_specs(cmd->meta, argv, argc, pos);
    if (n <= 0 && (!strcmp(cmd->fullname, "xread") || !strcmp(cmd->fullname, "xreadgroup")))
        n = keys_xread(argv, argc, pos);
    if (n <= 0 && (cmd->flags & CMD_NO_MANDATORY_KEYS)) {
        reply_array(&c->out, 0);
    } else if (n <= 0) {
        reply_error(&c->out, "Invalid arguments specified for command");
    } else {
        reply_array(&c->out, n);
        for (int i = 0; i < n; i++) reply_bulk(&c->out, argv[pos[i]].ptr, argv[pos[i]].len);
    }
    free(pos);
}

static void cmd_command_help(client *c) {
    static const char *const lines[] = {
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
    };
    reply_help(c, lines, NELEMS(lines));
}

const command_binding command_subcommands[] = {
    CMD("count", cmd_command_count),
    CMD("list", cmd_command_list),
    CMD("info", cmd_command_info),
    CMD("docs", cmd_command_docs),
    CMD("getkeys", cmd_command_getkeys),
    CMD("help", cmd_command_help),
    {0},
};
