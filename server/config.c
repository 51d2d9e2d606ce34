/* config.c: every setting is a row of one table (name, type, where it lives, bounds,
 * default as text, mutability). Defaults, the config file, --flags and CONFIG SET all
 * go through config_apply, so a value is validated the same way wherever it comes from;
 * CONFIG GET renders from the same rows. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/xmalloc.h"
#include "server/config.h"
#include "server/server.h"
#include "storage/evict.h"

typedef enum { CFG_INT, CFG_LL, CFG_MEM, CFG_BOOL, CFG_STR, CFG_ENUM, CFG_OCTAL, CFG_SPECIAL, CFG_OBUF } cfg_type;

typedef struct config_def {
    const char *name;
    cfg_type type;
    size_t off; /* offset into server_config */
    long long min, max;
    const char *def;
    int mutable;
    const char *const *enums;
} config_def;

static const char *const loglevels[] = {"debug", "verbose", "notice", "warning", NULL};
static const char *const policies[] = {"volatile-lru",   "volatile-lfu", "volatile-random",
                                       "volatile-ttl",   "allkeys-lru",  "allkeys-lfu",
                                       "allkeys-random", "noeviction",   NULL};

static const char *const supervised_modes[] = {"no", "upstart", "systemd", "auto", NULL};

#define OFF(f) offsetof(server_config, f)
#define LL_MAX 9223372036854775807LL
static const config_def configs[] = {
    {"bind", CFG_STR, OFF(bind), 0, 0, "127.0.0.1 -::1", 0, NULL},
    {"port", CFG_INT, OFF(port), 0, 65535, "6379", 0, NULL},
    {"unixsocket", CFG_STR, OFF(unixsocket), 0, 0, "", 0, NULL},
    {"unixsocketperm", CFG_OCTAL, OFF(unixsocketperm), 0, 0777, "0", 0, NULL},
    {"tcp-backlog", CFG_INT, OFF(tcp_backlog), 0, 65535, "511", 0, NULL},
    {"maxclients", CFG_INT, OFF(maxclients), 1, 1000000, "10000", 1, NULL},
    {"timeout", CFG_INT, OFF(timeout), 0, 2147483647, "0", 1, NULL},
    {"tcp-keepalive", CFG_INT, OFF(tcp_keepalive), 0, 2147483647, "300", 1, NULL},
    {"hz", CFG_INT, OFF(hz), 0, 2147483647, "10", 1, NULL}, /* clamped to 1..500 when used */
    {"databases", CFG_INT, OFF(databases), 1, 1000000, "16", 0, NULL},
    {"logfile", CFG_STR, OFF(logfile), 0, 0, "", 0, NULL},
    {"loglevel", CFG_ENUM, OFF(loglevel), 0, 0, "notice", 1, loglevels},
    {"requirepass", CFG_STR, OFF(requirepass), 0, 0, "", 1, NULL},
    {"proto-max-bulk-len", CFG_MEM, OFF(proto_max_bulk_len), 1024 * 1024, LL_MAX, "512mb", 1, NULL},
    {"client-query-buffer-limit", CFG_MEM, OFF(client_query_buffer_limit), 1024 * 1024, LL_MAX, "1gb", 1, NULL},
    {"maxmemory", CFG_MEM, OFF(maxmemory), 0, LL_MAX, "0", 1, NULL},
    {"maxmemory-policy", CFG_ENUM, OFF(maxmemory_policy), 0, 0, "noeviction", 1, policies},
    {"daemonize", CFG_BOOL, OFF(daemonize), 0, 0, "no", 0, NULL},
    {"pidfile", CFG_STR, OFF(pidfile), 0, 0, "", 0, NULL},
    {"dir", CFG_STR, OFF(dir), 0, 0, "", 0, NULL},
    {"supervised", CFG_ENUM, OFF(supervised), 0, 0, "no", 0, supervised_modes},
    {"save", CFG_SPECIAL, OFF(save), 0, 0, "", 1, NULL},
    {"appendonly", CFG_SPECIAL, OFF(appendonly), 0, 0, "no", 1, NULL},
    {"protected-mode", CFG_BOOL, OFF(protected_mode), 0, 0, "yes", 1, NULL},
    {"active-expire-effort", CFG_INT, OFF(active_expire_effort), 1, 10, "1", 1, NULL},
    {"activerehashing", CFG_BOOL, OFF(activerehashing), 0, 0, "yes", 1, NULL},
    {"slowlog-log-slower-than", CFG_LL, OFF(slowlog_log_slower_than), -1, LL_MAX, "10000", 1, NULL},
    {"slowlog-max-len", CFG_LL, OFF(slowlog_max_len), 0, LL_MAX, "128", 1, NULL},
    {"maxmemory-samples", CFG_INT, OFF(maxmemory_samples), 1, 2147483647, "5", 1,
     NULL}, /* storage caps what it samples */
    {"lfu-log-factor", CFG_INT, OFF(lfu_log_factor), 0, 2147483647, "10", 1, NULL},
    {"lfu-decay-time", CFG_INT, OFF(lfu_decay_time), 0, 2147483647, "1", 1, NULL},
    {"client-output-buffer-limit", CFG_OBUF, OFF(obuf_limits), 0, 0,
     "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", 1, NULL},
};
#define NCONFIGS (sizeof(configs) / sizeof(configs[0]))

/* A setting whose value is a secret (Redis's SENSITIVE_CONFIG): redacted from the slow log. */
static int config_is_secret(const config_def *d) { return d->off == OFF(requirepass); }

static const config_def *config_find(const char *name, size_t len) {
    for (size_t i = 0; i < NCONFIGS; i++)
        if (util_eqi(name, len, configs[i].name)) return &configs[i];
    return NULL;
}

/* Redis's memtoull: a number with an optional k/kb/m/mb/g/gb unit (case-insensitive). */
static int parse_memory(const char *s, long long *out) {
    const char *u = s;
    while (*u && (isdigit((unsigned char)*u) || (u == s && *u == '-'))) u++;
    long long mul;
    if (!*u) mul = 1;
    else if (!strcasecmp(u, "b")) mul = 1;
    else if (!strcasecmp(u, "k")) mul = 1000;
    else if (!strcasecmp(u, "kb")) mul = 1024;
    else if (!strcasecmp(u, "m")) mul = 1000 * 1000;
    else if (!strcasecmp(u, "mb")) mul = 1024 * 1024;
    else if (!strcasecmp(u, "g")) mul = 1000LL * 1000 * 1000;
    else if (!strcasecmp(u, "gb")) mul = 1024LL * 1024 * 1024;
    else return 0;
    long long v;
    if (!util_str2ll(s, (size_t)(u - s), &v) || v < 0) return 0;
    if (v > LL_MAX / mul) return 0;
    *out = v * mul;
    return 1;
}

/* client-output-buffer-limit: "<class> <hard> <soft> <soft-seconds>" repeated, class
 * normal, replica/slave or pubsub; all classes are validated before any is applied. */
static int parse_obuf_limits(const char *val, const char **err) {
    char *copy = xstrdup(val), *save = NULL;
    char *tok[64];
    int n = 0;
    for (char *t = strtok_r(copy, " ", &save); t && n < 64; t = strtok_r(NULL, " ", &save)) tok[n++] = t;
    struct obuf_limit lim[3];
    memcpy(lim, server.cfg.obuf_limits, sizeof(lim));
    int ok = n > 0 && n % 4 == 0;
    for (int i = 0; ok && i < n; i += 4) {
        int cls = !strcasecmp(tok[i], "normal")                                      ? 0
                  : (!strcasecmp(tok[i], "replica") || !strcasecmp(tok[i], "slave")) ? 1
                  : !strcasecmp(tok[i], "pubsub")                                    ? 2
                                                                                     : -1;
        long long hard, soft, secs;
        if (cls < 0 || !parse_memory(tok[i + 1], &hard) || !parse_memory(tok[i + 2], &soft) ||
            !util_str2ll(tok[i + 3], strlen(tok[i + 3]), &secs) || secs < 0) {
            ok = 0;
            break;
        }
        lim[cls].hard = hard;
        lim[cls].soft = soft;
        lim[cls].soft_seconds = secs;
    }
    free(copy);
    if (!ok) {
        *err = "Wrong number of arguments in buffer limit configuration.";
        return 0;
    }
    memcpy(server.cfg.obuf_limits, lim, sizeof(lim));
    return 1;
}

static int config_apply_value(const config_def *d, const char *val, const char **err);

/* Set one setting from its text value. Returns 1, or 0 with *err set to the reason
 * (Redis's wording, without the argument name). Eviction settings are also copied to
 * storage (evict_cfg), which cannot see server.cfg. */
static int config_apply(const config_def *d, const char *val, const char **err) {
    if (!config_apply_value(d, val, err)) return 0;
    int policy = evict_policy_from_name(server.cfg.maxmemory_policy);
    evict_cfg.maxmemory = server.cfg.maxmemory;
    evict_cfg.policy = policy < 0 ? EVICT_NOEVICTION : policy;
    evict_cfg.samples = server.cfg.maxmemory_samples;
    evict_cfg.lfu_log_factor = server.cfg.lfu_log_factor;
    evict_cfg.lfu_decay_time = server.cfg.lfu_decay_time;
    return 1;
}

static int config_apply_value(const config_def *d, const char *val, const char **err) {
    char *base = (char *)&server.cfg;
    static char errbuf[256];
    switch (d->type) {
        case CFG_INT:
        case CFG_OCTAL: {
            long long v;
            char *end;
            if (d->type == CFG_OCTAL) {
                errno = 0;
                v = strtoll(val, &end, 8);
                if (!*val || *end || errno) {
                    *err = "argument couldn't be parsed into an integer";
                    return 0;
                }
            } else if (!util_str2ll(val, strlen(val), &v)) {
                *err = "argument couldn't be parsed into an integer";
                return 0;
            }
            if (v < d->min || v > d->max) {
                snprintf(errbuf, sizeof(errbuf), "argument must be between %lld and %lld inclusive", d->min, d->max);
                *err = errbuf;
                return 0;
            }
            *(int *)(base + d->off) = (int)v;
            return 1;
        }
        case CFG_LL: {
            long long v;
            if (!util_str2ll(val, strlen(val), &v)) {
                *err = "argument couldn't be parsed into an integer";
                return 0;
            }
            if (v < d->min || v > d->max) {
                snprintf(errbuf, sizeof(errbuf), "argument must be between %lld and %lld inclusive", d->min, d->max);
                *err = errbuf;
                return 0;
            }
            *(long long *)(base + d->off) = v;
            return 1;
        }
        case CFG_OBUF: return parse_obuf_limits(val, err);
        case CFG_MEM: {
            long long v;
            if (!parse_memory(val, &v)) {
                *err = "argument must be a memory value";
                return 0;
            }
            if (v < d->min || v > d->max) {
                snprintf(errbuf, sizeof(errbuf), "argument must be between %lld and %lld inclusive", d->min, d->max);
                *err = errbuf;
                return 0;
            }
            *(long long *)(base + d->off) = v;
            return 1;
        }
        case CFG_BOOL:
            if (!strcasecmp(val, "yes")) *(int *)(base + d->off) = 1;
            else if (!strcasecmp(val, "no")) *(int *)(base + d->off) = 0;
            else {
                *err = "argument must be 'yes' or 'no'";
                return 0;
            }
            if (d->off == OFF(daemonize) && *(int *)(base + d->off)) {
                *err = "respite does not daemonize; run it under a supervisor";
                *(int *)(base + d->off) = 0;
                return 0;
            }
            return 1;
        case CFG_ENUM: {
            for (int i = 0; d->enums[i]; i++) {
                if (!strcasecmp(val, d->enums[i])) {
                    if (d->off == OFF(loglevel)) server.cfg.loglevel = i;
                    else *(char **)(base + d->off) = (char *)d->enums[i];
                    return 1;
                }
            }
            size_t o = (size_t)snprintf(errbuf, sizeof(errbuf), "argument(s) must be one of the following: ");
            for (int i = 0; d->enums[i] && o < sizeof(errbuf); i++)
                o += (size_t)snprintf(errbuf + o, sizeof(errbuf) - o, "%s%s", i ? ", " : "", d->enums[i]);
            *err = errbuf;
            return 0;
        }
        case CFG_SPECIAL:
            /* No persistence: "save" accepts any schedule text but nothing is ever saved;
         * "appendonly" can only be "no". */
            if (d->off == OFF(appendonly)) {
                if (!strcasecmp(val, "no")) return 1;
                *err = strcasecmp(val, "yes") ? "argument must be 'yes' or 'no'"
                                              : "respite has no persistence: appendonly must be 'no'";
                return 0;
            }
            __attribute__((fallthrough)); /* save is stored as text */
        case CFG_STR: {
            char **slot = (char **)(base + d->off);
            free(*slot);
            *slot = xstrdup(val);
            return 1;
        }
    }
    return 0;
}

/* The text CONFIG GET shows for a setting. */
static const char *config_render(const config_def *d, char *buf, size_t size) {
    char *base = (char *)&server.cfg;
    switch (d->type) {
        case CFG_INT: snprintf(buf, size, "%d", *(int *)(base + d->off)); return buf;
        case CFG_OCTAL: snprintf(buf, size, "%o", *(int *)(base + d->off)); return buf;
        case CFG_MEM:
        case CFG_LL: snprintf(buf, size, "%lld", *(long long *)(base + d->off)); return buf;
        case CFG_OBUF: {
            const struct obuf_limit *l = server.cfg.obuf_limits;
            snprintf(buf, size, "normal %lld %lld %lld slave %lld %lld %lld pubsub %lld %lld %lld", l[0].hard,
                     l[0].soft, l[0].soft_seconds, l[1].hard, l[1].soft, l[1].soft_seconds, l[2].hard, l[2].soft,
                     l[2].soft_seconds);
            return buf;
        }
        case CFG_BOOL: return *(int *)(base + d->off) ? "yes" : "no";
        case CFG_ENUM:
            if (d->off == OFF(loglevel)) return loglevels[server.cfg.loglevel];
            return *(char **)(base + d->off);
        case CFG_SPECIAL:
            if (d->off == OFF(appendonly)) return "no";
            __attribute__((fallthrough));
        case CFG_STR: {
            const char *s = *(char **)(base + d->off);
            return s ? s : "";
        }
    }
    return "";
}

void config_init(void) {
    for (size_t i = 0; i < NCONFIGS; i++) {
        const char *err;
        config_apply(&configs[i], configs[i].def, &err);
    }
}

static void fatal_config(int linenum, const char *line, const char *msg) {
    fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (respite %s, Redis %s compatible) ***\n", RESPITE_VERSION,
            REDIS_COMPAT_VERSION);
    fprintf(stderr, "Reading the configuration file, at line %d\n", linenum);
    fprintf(stderr, ">>> '%s'\n%s\n", line, msg);
}

/* Apply config text: one "name value..." directive per line, sdssplitargs quoting. */
static int config_load_text(char *text) {
    int linenum = 0;
    /* Every line counts, empty ones too, so the numbers in errors are Redis's. */
    for (char *line = text, *nl; line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        linenum++;
        while (isspace((unsigned char)*line)) line++;
        size_t len = strlen(line);
        while (len && isspace((unsigned char)line[len - 1])) line[--len] = '\0';
        if (!len || line[0] == '#') continue;
        char *copy = xstrdup(line);
        resp_slice args[64];
        int n = resp_split_inline(line, len, args, 64);
        if (n < 0) {
            fatal_config(linenum, copy, "Unbalanced quotes in configuration line");
            free(copy);
            return 0;
        }
        if (n == 0) {
            free(copy);
            continue;
        }
        if (n > 64) {
            fatal_config(linenum, copy, "Too many arguments");
            free(copy);
            return 0;
        }
        const config_def *d = config_find(args[0].ptr, args[0].len);
        if (!d || (n != 2 && d->off != OFF(save) && d->off != OFF(bind) && d->type != CFG_OBUF)) {
            fatal_config(linenum, copy, "Bad directive or wrong number of arguments");
            free(copy);
            return 0;
        }
        /* Multi-word values (save 900 1, bind a b) are joined with spaces. */
        char val[4096];
        size_t o = 0;
        for (int i = 1; i < n && o < sizeof(val); i++)
            o += (size_t)snprintf(val + o, sizeof(val) - o, "%s%.*s", i > 1 ? " " : "", (int)args[i].len, args[i].ptr);
        const char *err;
        if (!config_apply(d, val, &err)) {
            fatal_config(linenum, copy, err);
            free(copy);
            return 0;
        }
        free(copy);
    }
    return 1;
}

int config_load(int argc, char **argv) {
    size_t cap = 4096, len = 0;
    char *text = xmalloc(cap);
    text[0] = '\0';
#define APPEND(s, n)                                                                                                   \
    do {                                                                                                               \
        while (len + (n) + 2 >= cap) text = xrealloc(text, cap *= 2);                                                  \
        memcpy(text + len, (s), (n));                                                                                  \
        len += (n);                                                                                                    \
        text[len] = '\0';                                                                                              \
    } while (0)
    int i = 1;
    if (argc > 1 && strncmp(argv[1], "--", 2) != 0) {
        FILE *fp = fopen(argv[1], "r");
        if (!fp) {
            fprintf(stderr, "Fatal error, can't open config file '%s': %s\n", argv[1], strerror(errno));
            free(text);
            return 0;
        }
        server.configfile = realpath(argv[1], NULL);
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) APPEND(buf, n);
        fclose(fp);
        i = 2;
    }
    /* --name value value ... becomes the directive "name value value" on a line of its
     * own after the file, with one empty line between as Redis appends "\n" + options
     * (so the line numbers of errors match); values are quoted so that empty strings
     * (--save '') survive the split. */
    for (; i < argc; i++) {
        if (!strncmp(argv[i], "--", 2)) {
            APPEND("\n", 1);
            APPEND(argv[i] + 2, strlen(argv[i] + 2));
        } else {
            APPEND(" \"", 2);
            for (const char *p = argv[i]; *p; p++) {
                if (*p == '"' || *p == '\\') APPEND("\\", 1);
                APPEND(p, 1);
            }
            APPEND("\"", 1);
        }
    }
#undef APPEND
    int ok = config_load_text(text);
    free(text);
    return ok;
}

/* ---- CONFIG GET / SET / RESETSTAT / REWRITE / HELP ---- */

static void config_get_command(client *c) {
    const config_def *hit[NCONFIGS];
    size_t n = 0;
    for (size_t i = 0; i < NCONFIGS; i++) {
        for (int a = 2; a < c->argc; a++) {
            if (util_stringmatch(c->argv[a].ptr, c->argv[a].len, configs[i].name, strlen(configs[i].name), 1)) {
                hit[n++] = &configs[i];
                break;
            }
        }
    }
    reply_map(&c->out, (long)n);
    char buf[256];
    for (size_t i = 0; i < n; i++) {
        reply_bulk_cstr(&c->out, hit[i]->name);
        reply_bulk_cstr(&c->out, config_render(hit[i], buf, sizeof(buf)));
    }
}

/* Make room for maxclients connections plus CONFIG_MIN_RESERVED_FDS descriptors, as
 * Redis's adjustOpenFilesLimit: raise the open-files limit, and where the system
 * refuses, lower maxclients to what the limit allows, with Redis's warnings. Returns 0
 * if even that is impossible (a limit of 32 or less). */
#define CONFIG_MIN_RESERVED_FDS 32
int config_adjust_open_files_limit(void) {
    struct rlimit limit;
    rlim_t maxfiles = (rlim_t)server.cfg.maxclients + CONFIG_MIN_RESERVED_FDS;
    if (getrlimit(RLIMIT_NOFILE, &limit) == -1) {
        log_warning("Unable to obtain the current NOFILE limit (%s), assuming 1024 and setting the max clients "
                    "configuration accordingly.",
                    strerror(errno));
        server.cfg.maxclients = 1024 - CONFIG_MIN_RESERVED_FDS;
        return 1;
    }
    rlim_t oldlimit = limit.rlim_cur, oldmax = limit.rlim_max;
    if (oldlimit >= maxfiles) return 1;
    rlim_t best = maxfiles;
    int setrlimit_error = 0;
    /* Try the wanted limit, then less and less, 16 at a time (Redis's steps); the hard
     * limit is only ever raised. */
    while (best > oldlimit) {
        limit.rlim_cur = best;
        limit.rlim_max = oldmax != RLIM_INFINITY && best > oldmax ? best : oldmax;
        if (setrlimit(RLIMIT_NOFILE, &limit) != -1) break;
        setrlimit_error = errno;
        if (best < 16) {
            best = oldlimit;
            break;
        }
        best -= 16;
    }
    if (best < oldlimit) best = oldlimit;
    if (best < maxfiles) {
        int old_maxclients = server.cfg.maxclients;
        if (best <= CONFIG_MIN_RESERVED_FDS) {
            log_warning("Your current 'ulimit -n' of %llu is not enough for the server to start. Please increase your "
                        "open file limit to at least %llu. Exiting.",
                        (unsigned long long)oldlimit, (unsigned long long)maxfiles);
            return 0;
        }
        server.cfg.maxclients = (int)(best - CONFIG_MIN_RESERVED_FDS);
        log_warning("You requested maxclients of %d requiring at least %llu max file descriptors.", old_maxclients,
                    (unsigned long long)maxfiles);
        log_warning("Server can't set maximum open files to %llu because of OS error: %s.",
                    (unsigned long long)maxfiles, strerror(setrlimit_error));
        log_warning("Current maximum open files is %llu. maxclients has been reduced to %d to compensate for low "
                    "ulimit. If you need higher maxclients increase 'ulimit -n'.",
                    (unsigned long long)best, server.cfg.maxclients);
    } else {
        log_notice("Increased maximum number of open files to %llu (it was originally set to %llu).",
                   (unsigned long long)maxfiles, (unsigned long long)oldlimit);
    }
    return 1;
}

/* Put back the values saved before a failed CONFIG SET, last applied first. */
static void config_restore(const config_def **defs, char **saved, int n) {
    for (int i = n - 1; i >= 0; i--) {
        const char *err;
        config_apply(defs[i], saved[i], &err);
    }
}

/* CONFIG SET is all or nothing, as in Redis: names are checked first, then every value
 * is applied in order, then what needs the system's consent (maxclients' descriptors) is
 * checked; on any failure every setting goes back to the value it had. Errors name the
 * first argument that failed, with Redis's texts. */
static void config_set_command(client *c) {
    if (c->argc % 2) {
        reply_arity_error(c);
        return;
    }
    int npairs = (c->argc - 2) / 2;
    const config_def *defs[NCONFIGS];
    /* Secrets are redacted whatever else is wrong with the command (Redis looks at every
     * name before it reports the first bad one). */
    for (int i = 0; i < npairs; i++) {
        const config_def *d = config_find(c->argv[2 + 2 * i].ptr, c->argv[2 + 2 * i].len);
        if (d && config_is_secret(d)) client_redact_arg(c, 3 + 2 * i);
    }
    /* Validate names first, as Redis does, so nothing is applied on a bad name. */
    for (int i = 0; i < npairs; i++) {
        resp_slice *name = &c->argv[2 + 2 * i];
        const config_def *d = config_find(name->ptr, name->len);
        if (!d) {
            reply_errorf(&c->out, "Unknown option or number of arguments for CONFIG SET - '%.*s'", (int)name->len,
                         name->ptr);
            return;
        }
        if (!d->mutable) {
            reply_errorf(&c->out,
                         "CONFIG SET failed (possibly related to argument '%.*s') - can't set immutable config",
                         (int)name->len, name->ptr);
            return;
        }
        for (int j = 0; j < i; j++) {
            if (defs[j] == d) {
                reply_errorf(&c->out, "CONFIG SET failed (possibly related to argument '%.*s') - duplicate parameter",
                             (int)name->len, name->ptr);
                return;
            }
        }
        if (i < (int)NCONFIGS) defs[i] = d;
    }
    char *saved[NCONFIGS];
    char buf[256];
    const char *err = NULL;
    int applied = 0, failed = -1;
    for (int i = 0; i < npairs; i++) saved[i] = xstrdup(config_render(defs[i], buf, sizeof(buf)));
    for (; applied < npairs; applied++) {
        char *val = arg_dup(c, 3 + 2 * applied);
        int ok = config_apply(defs[applied], val, &err);
        free(val);
        if (!ok) {
            failed = applied;
            break;
        }
    }
    if (failed < 0) {
        for (int i = 0; i < npairs; i++) {
            if (defs[i]->off != OFF(maxclients)) continue;
            int wanted = server.cfg.maxclients;
            if (!config_adjust_open_files_limit() || server.cfg.maxclients != wanted) {
                static char msg[128];
                snprintf(msg, sizeof(msg),
                         "The operating system is not able to handle the specified number of clients, try with %d",
                         server.cfg.maxclients);
                log_warning("Failed applying new configuration. Possibly related to new maxclients setting. "
                            "Restoring previous settings.");
                err = msg;
                failed = i;
            }
        }
    }
    if (failed >= 0) {
        config_restore(defs, saved, applied);
        reply_errorf(&c->out, "CONFIG SET failed (possibly related to argument '%s') - %s", defs[failed]->name, err);
    } else {
        reply_ok(&c->out);
    }
    for (int i = 0; i < npairs; i++) free(saved[i]);
}

static void config_resetstat_command(client *c) {
    server.stat_numcommands = 0;
    server.stat_numconnections = 0;
    server.stat_rejected_conn = 0;
    server.stat_net_input_bytes = 0;
    server.stat_net_output_bytes = 0;
    storage_stat.expired_keys = 0;
    storage_stat.keyspace_hits = 0;
    storage_stat.keyspace_misses = 0;
    evict_stat_evicted_keys = 0;
    reply_ok(&c->out);
}

static void config_rewrite_command(client *c) { reply_error(&c->out, "The server is running without a config file"); }

static void config_help_command(client *c) {
    static const char *lines[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof(lines) / sizeof(lines[0]);
    reply_array(&c->out, (long)n);
    for (size_t i = 0; i < n; i++) reply_simple(&c->out, lines[i]);
}

struct command config_subcommands[] = {
    {"get", config_get_command, -3, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "server",
     "Returns the effective values of configuration parameters.", "2.0.0", NULL, NULL, NULL, 0, 0},
    {"set", config_set_command, -4, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "server",
     "Sets configuration parameters in-flight.", "2.0.0", NULL, NULL, NULL, 0, 0},
    {"resetstat", config_resetstat_command, 2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "server",
     "Resets the server's statistics.", "2.0.0", NULL, NULL, NULL, 0, 0},
    {"rewrite", config_rewrite_command, 2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "server",
     "Persists the effective configuration to file.", "2.8.0", NULL, NULL, NULL, 0, 0},
    {"help", config_help_command, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "server",
     "Returns helpful text about the different subcommands.", "5.0.0", NULL, NULL, NULL, 0, 0},
    {0},
};

void config_print_help(FILE *out) {
    fprintf(out, "Settings (redis.conf names; give them as --name value, or in the config file):\n");
    for (size_t i = 0; i < NCONFIGS; i++) {
        const config_def *d = &configs[i];
        const char *def = d->def;
        if (d->enums && d->type == CFG_ENUM) {
            fprintf(out, "  --%-26s default %s%s  (one of:", d->name, def[0] ? def : "\"\"",
                    d->mutable ? ", CONFIG SET" : "");
            for (int e = 0; d->enums[e]; e++) fprintf(out, " %s", d->enums[e]);
            fprintf(out, ")\n");
        } else {
            fprintf(out, "  --%-26s default %s%s\n", d->name, def[0] ? def : "\"\"", d->mutable ? ", CONFIG SET" : "");
        }
    }
}
