/* pubsub.h: publish/subscribe (channels, patterns, shard channels): the subscription
 * tables, message delivery, and what other modules ask about a client's subscriptions
 * (dispatch's subscribed mode, CLIENT LIST, INFO, ACL). */
#ifndef RESPITE_PUBSUB_H
#define RESPITE_PUBSUB_H

#include <stddef.h>

struct client;

/* Deliver msg on channel to every subscriber of it and of matching patterns (in Redis's
 * order); returns receivers. */
long pubsub_publish(const char *channel, size_t chlen, const char *msg, size_t msglen);
/* The same for a shard channel (SPUBLISH): its subscribers only. */
long pubsub_spublish(const char *channel, size_t chlen, const char *msg, size_t msglen);

/* Subscription kinds. */
enum { PUBSUB_CHANNEL = 0, PUBSUB_PATTERN = 1, PUBSUB_SHARD = 2 };

/* How many subscriptions of a kind c holds (CLIENT LIST's sub/psub/ssub). */
long pubsub_client_count(const struct client *c, int kind);
/* Channels with subscribers / distinct patterns (INFO's pubsub_channels/patterns). */
long pubsub_total(int kind);
/* Drop every subscription of c (disconnect, RESET), sending nothing. */
void pubsub_client_free(struct client *c);
/* Visit c's subscriptions of a kind in subscription order until fn returns nonzero;
 * returns that value (ACL: does a client still have the right to what it holds?). */
int pubsub_client_foreach(const struct client *c, int kind, int (*fn)(void *priv, const char *name, size_t len),
                          void *priv);
/* Does any client subscribe to anything? */
int pubsub_any(void);

#endif
