/* agg_entry.c: merging, the cached text form and the JSON rendering of a search's state.
 *
 * Invariant: an entry holds at most one offer per hotel id, the cheapest seen (ties to
 * the lower supplier index), so merging the same answers in any order gives the same
 * entry; rendering sorts by (price, id), so every reader of one entry shows the same
 * table. */
#include "agg_entry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

static const char *const status_names[] = {"pending", "ok", "failed", "timeout"};

const char *agg_status_name(int status) {
    return (status >= 0 && status <= AGG_TIMEOUT) ? status_names[status] : "pending";
}

void agg_entry_init(agg_entry *e, int nsuppliers) {
    memset(e, 0, sizeof(*e));
    e->nsuppliers = nsuppliers;
}

void agg_entry_free(agg_entry *e) {
    free(e->offers);
    e->offers = NULL;
    e->n = e->cap = 0;
}

int agg_entry_merge_offer(agg_entry *e, const agg_offer *o) {
    for (size_t i = 0; i < e->n; i++) {
        agg_offer *k = &e->offers[i];
        if (strcmp(k->id, o->id) != 0) continue;
        if (o->price_cents < k->price_cents || (o->price_cents == k->price_cents && o->supplier < k->supplier)) {
            *k = *o;
            return 1;
        }
        return 0;
    }
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 32;
        agg_offer *grown = realloc(e->offers, cap * sizeof(*grown));
        if (grown == NULL) return 0;
        e->offers = grown;
        e->cap = cap;
    }
    e->offers[e->n++] = *o;
    return 1;
}

/* Split one line into up to max TAB-separated fields (pointers into line, NULs
 * written). Returns the number of fields. */
static int split_tabs(char *line, char **fields, int max) {
    int n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *tab = strchr(p, '\t');
        if (tab == NULL || n == max) break;
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

static int valid_id(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(((agg_offer *)0)->id)) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
              *s == '_'))
            return 0;
    return 1;
}

static int parse_price(const char *s, long *out) {
    if (*s == '\0' || strlen(s) > 12) return 0;
    long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 1;
}

static int fill_offer(agg_offer *o, const char *id, const char *price, const char *name, int supplier) {
    if (!valid_id(id) || !parse_price(price, &o->price_cents)) return 0;
    size_t nl = strlen(name);
    if (nl == 0 || nl >= sizeof(o->name)) return 0;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (*c < 0x20 || *c == 0x7f) return 0;
    snprintf(o->id, sizeof(o->id), "%s", id);
    memcpy(o->name, name, nl + 1);
    o->supplier = supplier;
    return 1;
}

/* Call fn on every '\n'-terminated (or final) line of data, as a writable C string. */
static void for_each_line(const char *data, size_t len, void (*fn)(char *, void *), void *arg) {
    char *copy = malloc(len + 1);
    if (copy == NULL) return;
    memcpy(copy, data, len);
    copy[len] = '\0';
    char *p = copy;
    while (*p) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = '\0';
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r') p[l - 1] = '\0';
        fn(p, arg);
        if (nl == NULL) break;
        p = nl + 1;
    }
    free(copy);
}

typedef struct body_ctx {
    agg_entry *e;
    int idx, count;
} body_ctx;

static void body_line(char *line, void *arg) {
    body_ctx *bc = arg;
    char *f[3];
    agg_offer o;
    if (split_tabs(line, f, 3) == 3 && fill_offer(&o, f[0], f[1], f[2], bc->idx)) {
        agg_entry_merge_offer(bc->e, &o);
        bc->count++;
    }
}

int agg_entry_add_supplier_body(agg_entry *e, int idx, const char *body, size_t len) {
    body_ctx bc = {e, idx, 0};
    for_each_line(body, len, body_line, &bc);
    e->status[idx] = AGG_OK;
    return bc.count;
}

int agg_entry_merge(agg_entry *dst, const agg_entry *src) {
    int changed = 0;
    for (int i = 0; i < dst->nsuppliers && i < src->nsuppliers; i++)
        if (dst->status[i] == AGG_PENDING && src->status[i] != AGG_PENDING) {
            dst->status[i] = src->status[i];
            changed = 1;
        }
    for (size_t i = 0; i < src->n; i++) changed |= agg_entry_merge_offer(dst, &src->offers[i]);
    return changed;
}

int agg_entry_answered(const agg_entry *e) {
    int n = 0;
    for (int i = 0; i < e->nsuppliers; i++) n += e->status[i] != AGG_PENDING;
    return n;
}

int agg_entry_complete(const agg_entry *e) { return agg_entry_answered(e) == e->nsuppliers; }

void agg_entry_serialize(const agg_entry *e, const agg_config *cfg, struct evbuffer *out) {
    evbuffer_add(out, "v1\n", 3);
    for (int i = 0; i < e->nsuppliers; i++)
        if (e->status[i] != AGG_PENDING)
            evbuffer_add_printf(out, "s\t%s\t%s\n", cfg->suppliers[i].name, agg_status_name(e->status[i]));
    for (size_t i = 0; i < e->n; i++) {
        const agg_offer *o = &e->offers[i];
        evbuffer_add_printf(out, "h\t%s\t%ld\t%s\t%s\n", o->id, o->price_cents, cfg->suppliers[o->supplier].name,
                            o->name);
    }
}

static int supplier_index(const agg_config *cfg, const char *name) {
    for (int i = 0; i < cfg->nsuppliers; i++)
        if (strcmp(cfg->suppliers[i].name, name) == 0) return i;
    return -1;
}

typedef struct parse_ctx {
    agg_entry *e;
    const agg_config *cfg;
} parse_ctx;

static void entry_line(char *line, void *arg) {
    parse_ctx *pc = arg;
    char *f[5];
    int n = split_tabs(line, f, 5);
    if (n == 3 && strcmp(f[0], "s") == 0) {
        int idx = supplier_index(pc->cfg, f[1]);
        if (idx < 0) return;
        for (int st = AGG_OK; st <= AGG_TIMEOUT; st++)
            if (strcmp(f[2], status_names[st]) == 0) pc->e->status[idx] = (unsigned char)st;
    } else if (n == 5 && strcmp(f[0], "h") == 0) {
        int idx = supplier_index(pc->cfg, f[3]);
        agg_offer o;
        if (idx >= 0 && fill_offer(&o, f[1], f[2], f[4], idx)) agg_entry_merge_offer(pc->e, &o);
    }
}

int agg_entry_parse(agg_entry *e, const agg_config *cfg, const char *data, size_t len) {
    if (len < 3 || memcmp(data, "v1\n", 3) != 0) return -1;
    parse_ctx pc = {e, cfg};
    for_each_line(data + 3, len - 3, entry_line, &pc);
    return 0;
}

static int offer_cmp(const void *a, const void *b) {
    const agg_offer *x = a, *y = b;
    if (x->price_cents != y->price_cents) return x->price_cents < y->price_cents ? -1 : 1;
    return strcmp(x->id, y->id);
}

void agg_entry_render(agg_entry *e, const agg_config *cfg, const agg_search_params *p, int degraded,
                      struct evbuffer *out) {
    if (e->n > 1) qsort(e->offers, e->n, sizeof(*e->offers), offer_cmp);
    evbuffer_add_printf(out, "{\"search\":{\"destination\":");
    agg_json_cstr(out, p->destination);
    evbuffer_add_printf(out,
                        ",\"checkin\":\"%s\",\"checkout\":\"%s\",\"guests\":%d,\"nights\":%d},"
                        "\"is_completed\":%s,\"degraded\":%s,\"answered\":%d,\"total\":%d,"
                        "\"suppliers\":{",
                        p->checkin, p->checkout, p->guests, p->nights, agg_entry_complete(e) ? "true" : "false",
                        degraded ? "true" : "false", agg_entry_answered(e), e->nsuppliers);
    for (int i = 0; i < e->nsuppliers; i++) {
        if (i) evbuffer_add(out, ",", 1);
        agg_json_cstr(out, cfg->suppliers[i].name);
        evbuffer_add_printf(out, ":\"%s\"", agg_status_name(e->status[i]));
    }
    size_t shown = (p->limit > 0 && (size_t)p->limit < e->n) ? (size_t)p->limit : e->n;
    evbuffer_add_printf(out, "},\"hotel_count\":%zu,\"hotels\":[", e->n);
    for (size_t i = 0; i < shown; i++) {
        const agg_offer *o = &e->offers[i];
        evbuffer_add_printf(out, "%s{\"id\":\"%s\",\"name\":", i ? "," : "", o->id);
        agg_json_cstr(out, o->name);
        evbuffer_add_printf(out,
                            ",\"price\":%ld.%02ld,\"price_cents\":%ld,\"currency\":\"EUR\","
                            "\"supplier\":",
                            o->price_cents / 100, o->price_cents % 100, o->price_cents);
        agg_json_cstr(out, cfg->suppliers[o->supplier].name);
        evbuffer_add(out, "}", 1);
    }
    evbuffer_add_printf(out, "]}\n");
}
