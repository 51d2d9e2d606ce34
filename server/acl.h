/* acl.h: users and their permissions (Redis 7.0's ACL): who a client is, what it may
 * run and touch, the ACL command, AUTH's user check and the ACL LOG. */
#ifndef RESPITE_ACL_H
#define RESPITE_ACL_H

#include <stddef.h>

#include "server/server.h"

/* An acl_user's fast word: set while its root selector allows every command, key and
 * channel, so dispatch skips the check with one test. */
#define ACL_USER_ALLOW_ALL 1u

typedef struct acl_user {
    unsigned fast; /* ACL_USER_ALLOW_ALL */
    char *name;
    int flags;        /* USER_* in acl.c */
    char **passwords; /* SHA-256 hex digests, in the order added */
    int npasswords;
    struct acl_selector *selectors; /* [0] is the root selector */
    int nselectors;
} acl_user;

/* A client with no user (an internal one) may run anything, as in Redis.
 * The "default" user: new connections are this user (authenticated if it is on and
 * nopass). Never NULL after acl_init. */
extern acl_user *acl_default;

/* After commands_init and the config: number the commands, create the default user
 * (requirepass as its password), apply the config file's user lines, then aclfile.
 * Returns 0 after logging the reason the server cannot start. */
int acl_init(void);
/* A config-file `user` line (args[0] is "user"), kept until acl_init. Returns NULL or
 * the error text. */
const char *acl_config_user(const resp_slice *args, int n);
/* requirepass changed: the default user's password follows it, as in Redis. */
void acl_requirepass_changed(void);

/* Is c allowed to run cmd (c->argv)? NULL if so; else the NOPERM error text, and the
 * denial is in the ACL LOG. */
const char *acl_check_slow(client *c, const command *cmd);
static inline const char *acl_check_command(client *c, const command *cmd) {
    if (!c->user || (c->user->fast & ACL_USER_ALLOW_ALL)) return NULL; /* no user: internal, unrestricted */
    return acl_check_slow(c, cmd);
}
/* EXEC's re-check of a queued command: 1 (after replying Redis's NOPERM text) if the
 * user's rules no longer allow it. */
int acl_exec_denied(client *c, const command *cmd);

/* AUTH/HELLO AUTH: 1 and c becomes the user if the pair is right and the user on;
 * otherwise 0, logged. Passwords are compared in constant time. */
int acl_authenticate(client *c, const resp_slice *user, const resp_slice *pass);
/* Is a new connection authenticated from the start (the default user on and nopass)? */
int acl_default_autoauth(void);
int acl_user_nopass(const acl_user *u);
/* The user named so, or NULL (CLIENT KILL USER). */
acl_user *acl_find_user(const char *name, size_t len);

/* ACL SETUSER without a client: NULL, or the error text (a static buffer). */
const char *acl_setuser(const char *name, const resp_slice *rules, int n);
/* A user as ACL LIST shows it after "user <name> " (caller frees), or NULL. */
char *acl_describe(const char *name);
/* ACL DRYRUN: 0 if the user may run argv; 1 if not, msg the reason; -1 if the user or
 * command is unknown or the arity wrong, msg the error. */
int acl_dryrun(const char *user, size_t ulen, const resp_slice *argv, int argc, char *msg, size_t size);

extern const command_binding acl_subcommands[];

/* Free everything (shutdown, leak checks). */
void acl_free(void);

#endif
