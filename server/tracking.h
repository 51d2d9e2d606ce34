/* tracking.h: client-side caching (CLIENT TRACKING): the CLIENT subcommands, the hooks
 * dispatch calls around each command, and what INFO and CLIENT LIST report. */
#ifndef RESPITE_TRACKING_H
#define RESPITE_TRACKING_H

#include "server/server.h"

/* CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO (bound in server/cmd_conn.c). */
void cmd_client_tracking(client *c);
void cmd_client_caching(client *c);
void cmd_client_getredir(client *c);
void cmd_client_trackinginfo(client *c);

/* Around every call_command: enter before the handler, exit after it (remembers a
 * read-only command's keys; at the top level, sends the invalidations held for the
 * caller until after its reply). */
void tracking_call_enter(client *c);
void tracking_call_exit(client *c, const command *cmd);
/* tracking-table-max-keys: invalidate random keys while over it (before each command and
 * from the timer). */
void tracking_limit_keys(void);
/* Disconnect / RESET. */
void tracking_client_free(client *c);
void tracking_reset(client *c);
/* CLIENT LIST's redir= (-1 when not tracking). */
long long tracking_redirect_of(const client *c);
/* Clients with tracking on (INFO tracking_clients). */
extern long tracking_clients;
/* INFO tracking_total_keys, _items, _prefixes. */
void tracking_stats(long *keys, long long *items, long *prefixes);
int tracking_active(void);
void tracking_free(void); /* shutdown */

#endif
