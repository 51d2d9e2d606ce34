/* agg_config.h: the aggregator's configuration file and command-line overrides. */
#ifndef AGG_CONFIG_H
#define AGG_CONFIG_H

#define AGG_MAX_SUPPLIERS 16
#define AGG_NAME_MAX      31

typedef struct agg_supplier_cfg {
    char name[AGG_NAME_MAX + 1];
    char url[256]; /* as written, for logs */
    char host[128];
    int port;
    char path[128]; /* base path, "" or "/prefix" without trailing '/' */
    long timeout_ms;
} agg_supplier_cfg;

enum { AGG_PUBSUB_CACHE = 0, AGG_PUBSUB_SERVER, AGG_PUBSUB_OFF };

typedef struct agg_config {
    char listen_host[64];
    int listen_port;
    char cache_host[64];
    int cache_port;
    long ttl_ms;              /* how long a search's prices are kept and shown */
    long supplier_timeout_ms; /* default per-supplier timeout */
    long claim_margin_ms;     /* lease = longest supplier timeout + this */
    long reconnect_ms;        /* delay between cache reconnection attempts */
    long cache_timeout_ms;    /* a request the cache has not answered by then is degraded */
    int pubsub;               /* AGG_PUBSUB_*: where entry changes are published */
    char pubsub_host[64];     /* AGG_PUBSUB_SERVER: a server other than the cache */
    int pubsub_port;
    long live_recheck_ms; /* a live page's search is read again this often while subscribed */
    long live_watch_ms;   /* ... and this often without a subscription (pubsub off or down) */
    int nsuppliers;
    agg_supplier_cfg suppliers[AGG_MAX_SUPPLIERS];
    char fingerprint[17]; /* hash of the supplier names: part of every cache key */
    char owner_id[96];    /* written in leases: host:pid:port */
} agg_config;

/* Load path into cfg (defaults first). Returns 0, or -1 after printing the problem. */
int agg_config_load(agg_config *cfg, const char *path);
/* Derive fingerprint and owner_id once the overrides are applied. */
void agg_config_finish(agg_config *cfg);
/* The lease length: longest supplier timeout plus the margin. */
long agg_config_lease_ms(const agg_config *cfg);
/* Parse "HOST:PORT". Returns 0 or -1. */
int agg_config_hostport(const char *s, char *host, int hostsize, int *port);

#endif
