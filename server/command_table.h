/* command_table.h: the shape of the command metadata in server/command_table.c (generated
 * by scripts/gen_command_table.py from Redis): everything COMMAND INFO and COMMAND DOCS
 * report about a command. Handlers are bound to names elsewhere (server/commands.h);
 * commands_init joins the two by full name ("get", "config|get"). Every enumeration
 * and bit set below is in the order Redis lists its names. */
#ifndef RESPITE_COMMAND_TABLE_H
#define RESPITE_COMMAND_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "server/server.h"

/* ACL categories (COMMAND INFO's seventh field). */
#define ACL_CAT_KEYSPACE    (1u << 0)
#define ACL_CAT_READ        (1u << 1)
#define ACL_CAT_WRITE       (1u << 2)
#define ACL_CAT_SET         (1u << 3)
#define ACL_CAT_SORTEDSET   (1u << 4)
#define ACL_CAT_LIST        (1u << 5)
#define ACL_CAT_HASH        (1u << 6)
#define ACL_CAT_STRING      (1u << 7)
#define ACL_CAT_BITMAP      (1u << 8)
#define ACL_CAT_HYPERLOGLOG (1u << 9)
#define ACL_CAT_GEO         (1u << 10)
#define ACL_CAT_STREAM      (1u << 11)
#define ACL_CAT_PUBSUB      (1u << 12)
#define ACL_CAT_ADMIN       (1u << 13)
#define ACL_CAT_FAST        (1u << 14)
#define ACL_CAT_SLOW        (1u << 15)
#define ACL_CAT_BLOCKING    (1u << 16)
#define ACL_CAT_DANGEROUS   (1u << 17)
#define ACL_CAT_CONNECTION  (1u << 18)
#define ACL_CAT_TRANSACTION (1u << 19)
#define ACL_CAT_SCRIPTING   (1u << 20)

/* Key spec flags. */
#define KS_FLAG_RO             (1u << 0)
#define KS_FLAG_RW             (1u << 1)
#define KS_FLAG_OW             (1u << 2)
#define KS_FLAG_RM             (1u << 3)
#define KS_FLAG_ACCESS         (1u << 4)
#define KS_FLAG_UPDATE         (1u << 5)
#define KS_FLAG_INSERT         (1u << 6)
#define KS_FLAG_DELETE         (1u << 7)
#define KS_FLAG_NOT_KEY        (1u << 8)
#define KS_FLAG_INCOMPLETE     (1u << 9)
#define KS_FLAG_VARIABLE_FLAGS (1u << 10)

enum { KSPEC_BS_UNKNOWN, KSPEC_BS_INDEX, KSPEC_BS_KEYWORD };
enum { KSPEC_FK_UNKNOWN, KSPEC_FK_RANGE, KSPEC_FK_KEYNUM };

/* Where a command's keys are: begin_search finds the first, find_keys the rest. */
typedef struct command_key_spec {
    const char *notes; /* or NULL */
    uint32_t flags;    /* KS_FLAG_* */
    uint8_t bs_type, fk_type;
    int bs_index;           /* KSPEC_BS_INDEX */
    const char *bs_keyword; /* KSPEC_BS_KEYWORD */
    int bs_startfrom;       /* KSPEC_BS_KEYWORD */
    int fk[3];              /* range: lastkey, keystep, limit; keynum: keynumidx, firstkey, keystep */
} command_key_spec;

enum {
    ARG_TYPE_STRING,
    ARG_TYPE_INTEGER,
    ARG_TYPE_DOUBLE,
    ARG_TYPE_KEY,
    ARG_TYPE_PATTERN,
    ARG_TYPE_UNIX_TIME,
    ARG_TYPE_PURE_TOKEN,
    ARG_TYPE_ONEOF,
    ARG_TYPE_BLOCK,
};

#define ARG_FLAG_OPTIONAL       (1u << 0)
#define ARG_FLAG_MULTIPLE       (1u << 1)
#define ARG_FLAG_MULTIPLE_TOKEN (1u << 2)

#define DOC_FLAG_DEPRECATED (1u << 0)
#define DOC_FLAG_SYSCMD     (1u << 1)

/* One argument of COMMAND DOCS; oneof and block arguments have sub-arguments. */
typedef struct command_arg {
    const char *name;
    const char *token, *since, *deprecated_since; /* or NULL */
    const struct command_arg *subargs;
    uint8_t type;     /* ARG_TYPE_* */
    uint8_t flags;    /* ARG_FLAG_* */
    uint8_t key_spec; /* 1 + the index of its key spec; 0 if not a key */
    uint8_t nsubargs;
} command_arg;

typedef struct command_meta {
    const char *fullname; /* "get", "config|get" */
    int arity;
    uint32_t flags; /* CMD_* */
    int first_key, last_key, step;
    uint32_t acl_categories; /* ACL_CAT_* */
    const char *const *tips;
    const command_key_spec *key_specs;
    const char *summary, *since, *group, *complexity, *deprecated_since, *replaced_by; /* or NULL */
    const char *const *history; /* nhistory pairs: version, what changed */
    const command_arg *args;
    uint8_t ntips, nkey_specs, doc_flags, nhistory, nargs;
} command_meta;

/* Sorted by fullname (strcmp). */
extern const command_meta command_metas[];
extern const size_t command_metas_count;

/* The metadata of "get" or "config|get" (exact, lower case), or NULL (server/commands.c). */
const command_meta *command_meta_find(const char *fullname);

#endif
