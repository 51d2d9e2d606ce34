/* net.h: listeners, client connections, the read/parse/execute/write cycle. */
#ifndef RESPITE_NET_H
#define RESPITE_NET_H

#include <stddef.h>
#include <sys/socket.h>

struct client;

/* Open the TCP listeners (bind/port) and the Unix socket. Returns 0 on failure. */
int net_listen(void);
void net_uring_init(void); /* io-uring yes: probe io_uring, or log once and write directly */
void net_close_listeners(void);
/* Timeouts and output-limit checks, from the periodic timer. */
void net_clients_cron(void);
/* Is the peer on the loopback interface (or a Unix socket)? */
int net_is_loopback(const struct sockaddr_storage *ss);
/* Would protected mode refuse this peer now (protected-mode yes, no password,
 * not loopback)? */
int net_protected_mode_denies(const struct sockaddr_storage *peer);
/* "ip:port" of a socket address. */
void net_format_addr(const struct sockaddr_storage *ss, char *buf, size_t size);
/* Close a client from outside its own callbacks (CLIENT KILL, limits). */
void client_close_async(struct client *c);
/* Output was appended to c from outside its own batch (a published message): write it
 * once the current event is done; closes c at its output limit. */
void client_output_queued(struct client *c);
void net_free_queued(void); /* shutdown */
/* Broadcast output (one copy of a message for all its receivers, written when the event
 * is done): net_bcast_add stores bytes and returns their offset, valid until then;
 * client_queue_bcast gives c a reference to them. Output for c from outside its batch
 * that is not in the log goes through client_append_async, and anything about to append
 * to c directly calls client_bcast_materialize first if c->bs_head (keeps the order). */
size_t net_bcast_add(const char *p, size_t n);
void client_queue_bcast(struct client *c, size_t off, size_t len);
void client_append_async(struct client *c, const char *p, size_t n);
void client_bcast_materialize(struct client *c);
/* The client whose input is being processed now, or NULL. */
struct client *net_running(void);
/* Continue with a client's pending input and output after it was unblocked (deferred
 * to its read callback, so no command runs inside another). */
void client_resume(struct client *c);
/* Bytes of query and reply buffer c holds of its own (not the shared ones it may be
 * using for the current batch). */
size_t client_own_buffers(const struct client *c);
/* Bytes of unprocessed input c holds (a big bulk's own buffer included), and the room
 * left for more (CLIENT LIST's qbuf and qbuf-free). */
size_t client_query_len(const struct client *c);
size_t client_query_free(const struct client *c);
/* While one long job holds the loop, accept and serve every connection but running's,
 * once, without waiting. Two jobs call it: a script past busy-reply-threshold
 * (server/script.c's hook; running is its caller), whose other clients dispatch
 * refuses -BUSY unless the command may run then (CMD_ALLOW_BUSY); and loading at
 * start-up (server/persist.h; running is NULL), refused -LOADING unless flagged
 * CMD_LOADING. */
void net_serve_while_busy(struct client *running);
/* Run the parsed command in c->argc/argv (server/dispatch.c). */
void process_command(struct client *c);

#endif
