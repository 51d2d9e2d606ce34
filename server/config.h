/* config.h: settings in redis.conf syntax, from a file, from --flags, and through
 * CONFIG GET/SET at run time. One table describes every setting. */
#ifndef RESPITE_CONFIG_H
#define RESPITE_CONFIG_H

#include <stdio.h>

#include "server/server.h"

/* Fill server.cfg with defaults. */
void config_init(void);
/* Apply a config file then command-line flags as redis-server does
 * (`respite-server [file] [--name value ...]`). On error prints Redis-style fatal
 * message to stderr and returns 0. */
int config_load(int argc, char **argv);

/* Raise the open-files limit for maxclients, or lower maxclients to fit it (logging
 * Redis's warnings). Returns 0 if the limit is too low to run at all. */
int config_adjust_open_files_limit(void);
/* Log one warning naming the settings given a non-default value that respite accepts
 * but does not act on (replication, persistence, ...). */
void config_log_inert(void);

/* Every setting with its default and whether CONFIG SET can change it (--help). */
void config_print_help(FILE *out);

#endif
