/* net.h: listeners, client connections, the read/parse/execute/write cycle. */
#ifndef RESPITE_NET_H
#define RESPITE_NET_H

#include <stddef.h>
#include <sys/socket.h>

struct client;

/* Open the TCP listeners (bind/port) and the Unix socket. Returns 0 on failure. */
int net_listen(void);
void net_close_listeners(void);
void net_close_idle_clients(void);
/* "ip:port" of a socket address. */
void net_format_addr(const struct sockaddr_storage *ss, char *buf, size_t size);
/* Close a client from outside its own callbacks (CLIENT KILL, limits). */
void client_close_async(struct client *c);
/* Run the parsed command in c->argc/argv (server/dispatch.c). */
void process_command(struct client *c);
/* Called as a client is freed, for modules keeping per-client state (blocking). */
extern void (*client_free_hook)(struct client *c);

#endif
