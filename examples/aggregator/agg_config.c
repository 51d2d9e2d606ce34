/* agg_config.c: reads the aggregator's configuration file.
 *
 * One setting per line, "name value...", '#' starts a comment:
 *   listen 127.0.0.1:8080          cache 127.0.0.1:6379
 *   ttl_ms 300000                  supplier_timeout_ms 5000
 *   claim_margin_ms 2000           reconnect_ms 250
 *   cache_timeout_ms 1000
 *   supplier NAME URL [TIMEOUT_MS] (one line per supplier, in display order) */
#include "agg_config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/http.h>

#include "agg_util.h"

int agg_config_hostport(const char *s, char *host, int hostsize, int *port) {
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || colon - s >= hostsize) return -1;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p <= 0 || p > 65535) return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (int)p;
    return 0;
}

static int parse_ms(const char *v, long *out) {
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n <= 0) return -1;
    *out = n;
    return 0;
}

static int parse_supplier(agg_config *cfg, char *args, const char **err) {
    if (cfg->nsuppliers >= AGG_MAX_SUPPLIERS) {
        *err = "too many suppliers";
        return -1;
    }
    agg_supplier_cfg *s = &cfg->suppliers[cfg->nsuppliers];
    memset(s, 0, sizeof(*s));
    char *save = NULL;
    char *name = strtok_r(args, " \t", &save);
    char *url = strtok_r(NULL, " \t", &save);
    char *timeout = strtok_r(NULL, " \t", &save);
    if (name == NULL || url == NULL || strlen(name) > AGG_NAME_MAX) {
        *err = "supplier needs NAME URL [TIMEOUT_MS]";
        return -1;
    }
    for (const char *c = name; *c; c++) {
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_') {
            *err = "supplier names use letters, digits, '-' and '_'";
            return -1;
        }
    }
    for (int i = 0; i < cfg->nsuppliers; i++) {
        if (strcmp(cfg->suppliers[i].name, name) == 0) {
            *err = "duplicate supplier name";
            return -1;
        }
    }
    struct evhttp_uri *u = evhttp_uri_parse(url);
    const char *scheme = u ? evhttp_uri_get_scheme(u) : NULL;
    const char *host = u ? evhttp_uri_get_host(u) : NULL;
    if (u == NULL || scheme == NULL || strcmp(scheme, "http") != 0 || host == NULL || strlen(host) >= sizeof(s->host) ||
        strlen(url) >= sizeof(s->url)) {
        if (u) evhttp_uri_free(u);
        *err = "supplier URL must be http://HOST[:PORT][/PATH]";
        return -1;
    }
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->url, sizeof(s->url), "%s", url);
    snprintf(s->host, sizeof(s->host), "%s", host);
    s->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
    const char *path = evhttp_uri_get_path(u);
    snprintf(s->path, sizeof(s->path), "%s", path ? path : "");
    size_t pl = strlen(s->path);
    while (pl > 0 && s->path[pl - 1] == '/') s->path[--pl] = '\0';
    evhttp_uri_free(u);
    s->timeout_ms = 0;
    if (timeout && parse_ms(timeout, &s->timeout_ms) != 0) {
        *err = "supplier timeout must be a positive number of milliseconds";
        return -1;
    }
    cfg->nsuppliers++;
    return 0;
}

int agg_config_load(agg_config *cfg, const char *path) {
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->listen_host, sizeof(cfg->listen_host), "127.0.0.1");
    cfg->listen_port = 8080;
    snprintf(cfg->cache_host, sizeof(cfg->cache_host), "127.0.0.1");
    cfg->cache_port = 6379;
    cfg->ttl_ms = 300000;
    cfg->supplier_timeout_ms = 5000;
    cfg->claim_margin_ms = 2000;
    cfg->reconnect_ms = 250;
    cfg->cache_timeout_ms = 1000;
    cfg->pubsub = AGG_PUBSUB_CACHE;
    cfg->live_recheck_ms = 1000;
    cfg->live_watch_ms = 100;

    FILE *f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    char line[1024];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *save = NULL;
        char *name = strtok_r(line, " \t\r\n", &save);
        if (name == NULL) continue;
        char *rest = strtok_r(NULL, "\r\n", &save);
        while (rest && (*rest == ' ' || *rest == '\t')) rest++;
        for (size_t n = rest ? strlen(rest) : 0; n > 0 && (rest[n - 1] == ' ' || rest[n - 1] == '\t'); n--)
            rest[n - 1] = '\0';
        const char *err = NULL;
        if (rest == NULL || *rest == '\0') {
            err = "missing value";
        } else if (strcmp(name, "listen") == 0) {
            if (agg_config_hostport(rest, cfg->listen_host, sizeof(cfg->listen_host), &cfg->listen_port) != 0)
                err = "listen needs HOST:PORT";
        } else if (strcmp(name, "cache") == 0) {
            if (agg_config_hostport(rest, cfg->cache_host, sizeof(cfg->cache_host), &cfg->cache_port) != 0)
                err = "cache needs HOST:PORT";
        } else if (strcmp(name, "ttl_ms") == 0) {
            if (parse_ms(rest, &cfg->ttl_ms) != 0) err = "bad ttl_ms";
        } else if (strcmp(name, "supplier_timeout_ms") == 0) {
            if (parse_ms(rest, &cfg->supplier_timeout_ms) != 0) err = "bad supplier_timeout_ms";
        } else if (strcmp(name, "claim_margin_ms") == 0) {
            if (parse_ms(rest, &cfg->claim_margin_ms) != 0) err = "bad claim_margin_ms";
        } else if (strcmp(name, "reconnect_ms") == 0) {
            if (parse_ms(rest, &cfg->reconnect_ms) != 0) err = "bad reconnect_ms";
        } else if (strcmp(name, "cache_timeout_ms") == 0) {
            if (parse_ms(rest, &cfg->cache_timeout_ms) != 0) err = "bad cache_timeout_ms";
        } else if (strcmp(name, "pubsub") == 0) {
            if (strcmp(rest, "cache") == 0) cfg->pubsub = AGG_PUBSUB_CACHE;
            else if (strcmp(rest, "off") == 0) cfg->pubsub = AGG_PUBSUB_OFF;
            else if (agg_config_hostport(rest, cfg->pubsub_host, sizeof(cfg->pubsub_host), &cfg->pubsub_port) == 0)
                cfg->pubsub = AGG_PUBSUB_SERVER;
            else err = "pubsub needs cache, off or HOST:PORT";
        } else if (strcmp(name, "live_recheck_ms") == 0) {
            if (parse_ms(rest, &cfg->live_recheck_ms) != 0) err = "bad live_recheck_ms";
        } else if (strcmp(name, "live_watch_ms") == 0) {
            if (parse_ms(rest, &cfg->live_watch_ms) != 0) err = "bad live_watch_ms";
        } else if (strcmp(name, "supplier") == 0) {
            parse_supplier(cfg, rest, &err);
        } else {
            err = "unknown setting";
        }
        if (err) {
            fprintf(stderr, "%s:%d: %s: %s\n", path, lineno, name, err);
            rc = -1;
        }
    }
    fclose(f);
    if (rc == 0 && cfg->nsuppliers == 0) {
        fprintf(stderr, "%s: no supplier configured\n", path);
        rc = -1;
    }
    for (int i = 0; i < cfg->nsuppliers; i++)
        if (cfg->suppliers[i].timeout_ms == 0) cfg->suppliers[i].timeout_ms = cfg->supplier_timeout_ms;
    /* An entry that expires before its fan-out can end would be created again and
     * again, each time asking every supplier anew, and never complete. */
    if (rc == 0 && cfg->ttl_ms < agg_config_lease_ms(cfg)) {
        fprintf(stderr,
                "%s: ttl_ms %ld is shorter than a search can take (%ld ms: the longest "
                "supplier timeout plus claim_margin_ms)\n",
                path, cfg->ttl_ms, agg_config_lease_ms(cfg));
        rc = -1;
    }
    return rc;
}

void agg_config_finish(agg_config *cfg) {
    uint64_t h = agg_fnv1a("suppliers", 9);
    for (int i = 0; i < cfg->nsuppliers; i++)
        h = agg_fnv1a_more(h, cfg->suppliers[i].name, strlen(cfg->suppliers[i].name) + 1);
    snprintf(cfg->fingerprint, sizeof(cfg->fingerprint), "%08x", (unsigned)(h ^ (h >> 32)));
    char host[64] = "localhost";
    gethostname(host, sizeof(host) - 1);
    snprintf(cfg->owner_id, sizeof(cfg->owner_id), "%s:%d:%d", host, (int)getpid(), cfg->listen_port);
}

long agg_config_lease_ms(const agg_config *cfg) {
    long longest = 0;
    for (int i = 0; i < cfg->nsuppliers; i++)
        if (cfg->suppliers[i].timeout_ms > longest) longest = cfg->suppliers[i].timeout_ms;
    return longest + cfg->claim_margin_ms;
}
