/* commands.c: the command table. Each command file exports a static table; at start-up
 * they are indexed into one open-addressing hash by lower-case name, so dispatch is a
 * lower-casing copy and one probe. The same metadata answers COMMAND (COUNT, INFO, DOCS,
 * LIST) and the central arity check. Also the small argument/reply helpers handlers use. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/server.h"

extern struct command stream_commands[] __attribute__((weak));

#define CMD_HASH_SIZE 1024 /* power of two, well above the number of commands */
static struct {
    command *cmd;
    size_t len;
} cmd_hash[CMD_HASH_SIZE];
static command **cmd_all; /* every top-level command, for COMMAND */
static size_t cmd_count;

/* Hash of the ASCII-lower-cased name (command names are letters, digits, '-', '|'). */
static size_t name_hash(const char *s, size_t len) {
    size_t h = 5381;
    for (size_t i = 0; i < len; i++) h = h * 33 + ((unsigned char)s[i] | 0x20);
    return h & (CMD_HASH_SIZE - 1);
}

command *command_lookup(const char *name, size_t len) {
    if (len == 0 || len >= 32) return NULL;
    for (size_t h = name_hash(name, len);; h = (h + 1) & (CMD_HASH_SIZE - 1)) {
        command *c = cmd_hash[h].cmd;
        if (!c) return NULL;
        if (cmd_hash[h].len == len && util_eqi(name, len, c->name)) return c;
    }
}

static void command_add(command *c) {
    size_t len = strlen(c->name);
    size_t h = name_hash(c->name, len);
    while (cmd_hash[h].cmd) h = (h + 1) & (CMD_HASH_SIZE - 1);
    cmd_hash[h].cmd = c;
    cmd_hash[h].len = len;
    cmd_all = xrealloc(cmd_all, sizeof(*cmd_all) * (cmd_count + 1));
    cmd_all[cmd_count++] = c;
    c->fullname = xstrdup(c->name);
    for (command *sub = (command *)c->subcommands; sub && sub->name; sub++) {
        sub->parent = c;
        sub->fullname = xmalloc(strlen(c->name) + strlen(sub->name) + 2);
        sprintf(sub->fullname, "%s|%s", c->name, sub->name);
    }
}

void commands_init(void) {
    struct command *tables[] = {string_commands, keys_commands,   conn_commands,  server_commands,
                                multi_commands,  memory_commands, stream_commands};
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (command *c = tables[t]; c && c->name; c++) command_add(c);
}

size_t commands_count(void) { return cmd_count; }

void commands_foreach(void (*fn)(void *priv, const command *cmd), void *priv) {
    for (size_t i = 0; i < cmd_count; i++) {
        fn(priv, cmd_all[i]);
        for (const command *s = cmd_all[i]->subcommands; s && s->name; s++) fn(priv, s);
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

/* ---- COMMAND ---- */

static const struct {
    uint32_t flag;
    const char *name;
} flag_names[] = {
    {CMD_WRITE, "write"},           {CMD_READONLY, "readonly"},
    {CMD_DENYOOM, "denyoom"},       {CMD_ADMIN, "admin"},
    {CMD_PUBSUB, "pubsub"},         {CMD_NOSCRIPT, "noscript"},
    {CMD_BLOCKING, "blocking"},     {CMD_LOADING, "loading"},
    {CMD_STALE, "stale"},           {CMD_FAST, "fast"},
    {CMD_NO_AUTH, "no_auth"},       {CMD_NO_MULTI, "no_multi"},
    {CMD_ALLOW_BUSY, "allow_busy"}, {CMD_MAY_REPLICATE, "may_replicate"},
};

/* ACL categories derived from the group and flags, as Redis 7 lists them. */
static void reply_categories(client *c, const command *cmd) {
    const char *cats[8];
    int n = 0;
    if (cmd->flags & CMD_WRITE) cats[n++] = "@write";
    if (cmd->flags & CMD_READONLY) cats[n++] = "@read";
    if (cmd->group && strcmp(cmd->group, "generic") == 0) cats[n++] = "@keyspace";
    else if (cmd->group && strcmp(cmd->group, "transactions") == 0) cats[n++] = "@transaction";
    else if (cmd->group && strcmp(cmd->group, "server") != 0) {
        static char buf[6][32];
        snprintf(buf[n], sizeof(buf[n]), "@%s", cmd->group);
        cats[n] = buf[n];
        n++;
    }
    if (cmd->flags & CMD_ADMIN) cats[n++] = "@admin";
    if (cmd->flags & CMD_FAST) cats[n++] = "@fast";
    else cats[n++] = "@slow";
    if (cmd->flags & CMD_BLOCKING) cats[n++] = "@blocking";
    reply_set(&c->out, n);
    for (int i = 0; i < n; i++) reply_simple(&c->out, cats[i]);
}

static void reply_command_info(client *c, const command *cmd) {
    int subs = 0;
    for (const command *s = cmd->subcommands; s && s->name; s++) subs++;
    reply_array(&c->out, 10);
    reply_bulk_cstr(&c->out, cmd->fullname);
    reply_int(&c->out, cmd->arity);
    int nf = 0;
    for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
        if (cmd->flags & flag_names[i].flag) nf++;
    reply_set(&c->out, nf);
    for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
        if (cmd->flags & flag_names[i].flag) reply_simple(&c->out, flag_names[i].name);
    reply_int(&c->out, cmd->first_key);
    reply_int(&c->out, cmd->last_key);
    reply_int(&c->out, cmd->step);
    reply_categories(c, cmd);
    reply_set(&c->out, 0);   /* tips */
    reply_array(&c->out, 0); /* key specs */
    reply_array(&c->out, subs);
    for (const command *s = cmd->subcommands; s && s->name; s++) reply_command_info(c, s);
}

static void reply_command_docs(client *c, const command *cmd) {
    int subs = 0;
    for (const command *s = cmd->subcommands; s && s->name; s++) subs++;
    reply_bulk_cstr(&c->out, cmd->fullname);
    reply_map(&c->out, subs ? 4 : 3);
    reply_bulk_cstr(&c->out, "summary");
    reply_bulk_cstr(&c->out, cmd->summary ? cmd->summary : "");
    reply_bulk_cstr(&c->out, "since");
    reply_bulk_cstr(&c->out, cmd->since ? cmd->since : "1.0.0");
    reply_bulk_cstr(&c->out, "group");
    reply_bulk_cstr(&c->out, cmd->group ? cmd->group : "server");
    if (subs) {
        reply_bulk_cstr(&c->out, "subcommands");
        reply_map(&c->out, subs);
        for (const command *s = cmd->subcommands; s && s->name; s++) reply_command_docs(c, s);
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

void command_command(client *c) {
    reply_array(&c->out, (long)cmd_count);
    for (size_t i = 0; i < cmd_count; i++) reply_command_info(c, cmd_all[i]);
}

static void command_count_command(client *c) { reply_int(&c->out, (long long)cmd_count); }

static void command_list_command(client *c) {
    if (c->argc != 2) {
        /* FILTERBY MODULE|ACLCAT|PATTERN: only PATTERN means anything here. */
        if (c->argc == 5 && arg_is(c, 2, "filterby") && arg_is(c, 3, "pattern")) {
            size_t n = 0;
            for (size_t i = 0; i < cmd_count; i++)
                if (util_stringmatch(c->argv[4].ptr, c->argv[4].len, cmd_all[i]->name, strlen(cmd_all[i]->name), 1))
                    n++;
            reply_array(&c->out, (long)n);
            for (size_t i = 0; i < cmd_count; i++)
                if (util_stringmatch(c->argv[4].ptr, c->argv[4].len, cmd_all[i]->name, strlen(cmd_all[i]->name), 1))
                    reply_bulk_cstr(&c->out, cmd_all[i]->name);
            return;
        }
        if (c->argc == 5 && arg_is(c, 2, "filterby") && (arg_is(c, 3, "module") || arg_is(c, 3, "aclcat"))) {
            reply_array(&c->out, 0);
            return;
        }
        reply_syntax_error(c);
        return;
    }
    reply_array(&c->out, (long)cmd_count);
    for (size_t i = 0; i < cmd_count; i++) reply_bulk_cstr(&c->out, cmd_all[i]->name);
}

static void command_info_command(client *c) {
    if (c->argc == 2) {
        command_command(c);
        return;
    }
    reply_array(&c->out, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        const command *cmd = command_lookup_fullname(c->argv[i].ptr, c->argv[i].len);
        if (cmd) reply_command_info(c, cmd);
        else reply_null(&c->out); /* Redis's addReplyNull: $-1 in RESP2 */
    }
}

static void command_docs_command(client *c) {
    if (c->argc == 2) {
        reply_map(&c->out, (long)cmd_count);
        for (size_t i = 0; i < cmd_count; i++) reply_command_docs(c, cmd_all[i]);
        return;
    }
    const command *found[64];
    int n = 0;
    for (int i = 2; i < c->argc && n < 64; i++) {
        const command *cmd = command_lookup_fullname(c->argv[i].ptr, c->argv[i].len);
        if (cmd) found[n++] = cmd;
    }
    reply_map(&c->out, n);
    for (int i = 0; i < n; i++) reply_command_docs(c, found[i]);
}

static void command_getkeys_command(client *c) {
    const command *cmd = command_lookup(c->argv[2].ptr, c->argv[2].len);
    if (!cmd) {
        reply_error(&c->out, "Invalid command specified");
        return;
    }
    int argc = c->argc - 2;
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
        reply_error(&c->out, "Invalid number of arguments specified for command");
        return;
    }
    if (cmd->first_key <= 0) {
        reply_error(&c->out, "The command has no key arguments");
        return;
    }
    int last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
    int n = 0;
    for (int i = cmd->first_key; i <= last && i < argc; i += cmd->step) n++;
    reply_array(&c->out, n);
    for (int i = cmd->first_key; i <= last && i < argc; i += cmd->step)
        reply_bulk(&c->out, c->argv[2 + i].ptr, c->argv[2 + i].len);
}

static void command_help_command(client *c) {
    static const char *lines[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
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
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof(lines) / sizeof(lines[0]);
    reply_array(&c->out, (long)n);
    for (size_t i = 0; i < n; i++) reply_simple(&c->out, lines[i]);
}

#define CMDF (CMD_LOADING | CMD_STALE)
struct command command_subcommands[] = {
    {"count", command_count_command, 2, CMDF, 0, 0, 0, "server", "Returns a count of commands.", "2.8.13", NULL, NULL,
     NULL, 0, 0},
    {"list", command_list_command, -2, CMDF, 0, 0, 0, "server", "Returns a list of command names.", "7.0.0", NULL, NULL,
     NULL, 0, 0},
    {"info", command_info_command, -2, CMDF, 0, 0, 0, "server",
     "Returns information about one, multiple or all commands.", "2.8.13", NULL, NULL, NULL, 0, 0},
    {"docs", command_docs_command, -2, CMDF, 0, 0, 0, "server",
     "Returns documentary information about one, multiple or all commands.", "7.0.0", NULL, NULL, NULL, 0, 0},
    {"getkeys", command_getkeys_command, -4, CMDF, 0, 0, 0, "server",
     "Extracts the key names from an arbitrary command.", "2.8.13", NULL, NULL, NULL, 0, 0},
    {"help", command_help_command, 2, CMDF, 0, 0, 0, "server", "Returns helpful text about the different subcommands.",
     "5.0.0", NULL, NULL, NULL, 0, 0},
    {0},
};
