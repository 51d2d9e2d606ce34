/* pubsub.c: Redis 7.0's publish/subscribe: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their
 * UNSUBSCRIBEs, PUBLISH, SPUBLISH and PUBSUB.
 *
 * Three kinds of subscription (channel, pattern, shard channel) share one layout. The
 * server keeps, per kind, a dict of "topics" (a channel name or a pattern) that have at
 * least one subscriber, each with its subscribers in a doubly linked list in subscription
 * order; topics of a kind are also linked in creation order (patterns are matched in that
 * order). A client that subscribed keeps, per kind, its subscriptions linked in the order
 * it made them, indexed by a dict by topic name once it holds more than SMALL_SUBS. One
 * record (ps_sub) sits in all these places, so subscribing and unsubscribing are O(1) and
 * a publish walks only the channel's list and the patterns.
 *
 * A message is encoded once per publish and protocol (RESP3 only differs in the first
 * byte: '>' instead of '*') into the network layer's broadcast log, and each receiver
 * gets a reference to it (client_queue_bcast); the receivers are written once the current
 * event is done, so a burst of publishes costs one write per subscriber and no copy for
 * one that keeps up, and a subscriber that does not read only grows its own buffer until
 * client-output-buffer-limit pubsub drops it. */
#include "server/pubsub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "server/net.h"
#include "server/server.h"
#include "storage/dict.h"

typedef struct ps_sub ps_sub;

typedef struct ps_topic {
    dict_node node;               /* in topics[kind] */
    struct ps_topic *prev, *next; /* all topics of the kind, creation order */
    ps_sub *head, *tail;          /* subscribers, subscription order */
    long count;
    size_t len;
    char name[];
} ps_topic;

struct ps_sub {
    dict_node cnode;       /* in the client's dict of its kind */
    ps_sub *prev, *next;   /* the topic's subscribers */
    ps_sub *cprev, *cnext; /* the client's subscriptions */
    client *c;
    ps_topic *t;
};

/* A client's subscriptions: per kind, a list in subscription order, indexed by a dict
 * only past SMALL_SUBS (a short list is searched faster than a table is allocated, and
 * most clients hold a few). */
#define SMALL_SUBS 8
typedef struct pubsub_state {
    dict *subs[3]; /* NULL while the kind has at most SMALL_SUBS */
    ps_sub *head[3], *tail[3];
    long count[3];
} pubsub_state;

static dict topics[3];
static ps_topic *topic_head[3], *topic_tail[3];
static int inited;

static const char *topic_keyof(const dict_node *n, size_t *len) {
    const ps_topic *t = (const ps_topic *)n;
    *len = t->len;
    return t->name;
}

static const char *sub_keyof(const dict_node *n, size_t *len) {
    const ps_sub *s = (const ps_sub *)n;
    *len = s->t->len;
    return s->t->name;
}

static void pubsub_init(void) {
    for (int k = 0; k < 3; k++) dict_init(&topics[k], topic_keyof);
    inited = 1;
}

int pubsub_any(void) { return inited && (dict_size(&topics[0]) || dict_size(&topics[1]) || dict_size(&topics[2])); }

long pubsub_total(int kind) { return inited ? (long)dict_size(&topics[kind]) : 0; }

long pubsub_client_count(const client *c, int kind) { return c->ps ? c->ps->count[kind] : 0; }

static long client_total(const client *c) {
    return pubsub_client_count(c, 0) + pubsub_client_count(c, 1) + pubsub_client_count(c, 2);
}

static ps_sub *sub_find(const client *c, int kind, const char *name, size_t len) {
    if (!c->ps) return NULL;
    if (c->ps->subs[kind]) return (ps_sub *)dict_find(c->ps->subs[kind], name, len);
    for (ps_sub *s = c->ps->head[kind]; s; s = s->cnext)
        if (s->t->len == len && !memcmp(s->t->name, name, len)) return s;
    return NULL;
}

/* Subscribe c to name; returns 1 if it was not subscribed already. */
static int sub_add(client *c, int kind, const char *name, size_t len) {
    if (!inited) pubsub_init();
    if (!c->ps) c->ps = xcalloc(1, sizeof(pubsub_state));
    pubsub_state *ps = c->ps;
    if (sub_find(c, kind, name, len)) return 0;
    uint64_t h = dict_hash(name, len);
    ps_topic *t = (ps_topic *)dict_find_h(&topics[kind], name, len, h);
    if (!t) {
        t = xmalloc(sizeof(*t) + len);
        memset(t, 0, sizeof(*t));
        t->len = len;
        memcpy(t->name, name, len);
        dict_add_h(&topics[kind], &t->node, h);
        t->prev = topic_tail[kind];
        if (t->prev) t->prev->next = t;
        else topic_head[kind] = t;
        topic_tail[kind] = t;
    }
    ps_sub *s = xmalloc(sizeof(*s));
    s->c = c;
    s->t = t;
    s->next = NULL;
    s->prev = t->tail;
    if (s->prev) s->prev->next = s;
    else t->head = s;
    t->tail = s;
    t->count++;
    s->cnext = NULL;
    s->cprev = ps->tail[kind];
    if (s->cprev) s->cprev->cnext = s;
    else ps->head[kind] = s;
    ps->tail[kind] = s;
    ps->count[kind]++;
    if (ps->subs[kind]) {
        dict_add_h(ps->subs[kind], &s->cnode, h);
    } else if (ps->count[kind] > SMALL_SUBS) {
        ps->subs[kind] = xmalloc(sizeof(dict));
        dict_init(ps->subs[kind], sub_keyof);
        for (ps_sub *o = ps->head[kind]; o; o = o->cnext) dict_add(ps->subs[kind], &o->cnode);
    }
    return 1;
}

/* Unlink s everywhere and free it (and its topic if it was the last subscriber). */
static void sub_remove(int kind, ps_sub *s) {
    pubsub_state *ps = s->c->ps;
    ps_topic *t = s->t;
    if (ps->subs[kind]) dict_unlink(ps->subs[kind], t->name, t->len);
    ps->count[kind]--;
    if (s->cprev) s->cprev->cnext = s->cnext;
    else ps->head[kind] = s->cnext;
    if (s->cnext) s->cnext->cprev = s->cprev;
    else ps->tail[kind] = s->cprev;
    if (s->prev) s->prev->next = s->next;
    else t->head = s->next;
    if (s->next) s->next->prev = s->prev;
    else t->tail = s->prev;
    free(s);
    if (--t->count == 0) {
        dict_unlink(&topics[kind], t->name, t->len);
        if (t->prev) t->prev->next = t->next;
        else topic_head[kind] = t->next;
        if (t->next) t->next->prev = t->prev;
        else topic_tail[kind] = t->prev;
        free(t);
    }
}

void pubsub_client_free(client *c) {
    if (!c->ps) return;
    for (int k = 0; k < 3; k++) {
        while (c->ps->head[k]) sub_remove(k, c->ps->head[k]);
        if (c->ps->subs[k]) {
            dict_release(c->ps->subs[k]);
            free(c->ps->subs[k]);
        }
    }
    free(c->ps);
    c->ps = NULL;
    c->flags &= ~CLIENT_PUBSUB;
}

int pubsub_client_foreach(const client *c, int kind, int (*fn)(void *priv, const char *name, size_t len), void *priv) {
    if (!c->ps) return 0;
    for (ps_sub *s = c->ps->head[kind]; s; s = s->cnext) {
        int r = fn(priv, s->t->name, s->t->len);
        if (r) return r;
    }
    return 0;
}

/* ---- replies ---- */

static const char *const sub_words[3] = {"subscribe", "psubscribe", "ssubscribe"};
static const char *const unsub_words[3] = {"unsubscribe", "punsubscribe", "sunsubscribe"};

/* The count a (un)subscribe reply carries: channels and patterns together, shard
 * channels on their own (as Redis). */
static long reply_count(const client *c, int kind) {
    return kind == PUBSUB_SHARD ? pubsub_client_count(c, PUBSUB_SHARD)
                                : pubsub_client_count(c, PUBSUB_CHANNEL) + pubsub_client_count(c, PUBSUB_PATTERN);
}

static void reply_sub_event(client *c, const char *word, const char *name, size_t len, long count) {
    int mode = c->flags & CLIENT_REPLY_ANY;
    if (mode) client_push_begin(c);
    reply_push(&c->out, 3);
    reply_bulk_cstr(&c->out, word);
    if (name) reply_bulk(&c->out, name, len);
    else reply_null(&c->out);
    reply_int(&c->out, count);
    if (mode) client_push_end(c);
}

static void subscribe_generic(client *c, int kind) {
    for (int i = 1; i < c->argc; i++) {
        sub_add(c, kind, c->argv[i].ptr, c->argv[i].len);
        reply_sub_event(c, sub_words[kind], c->argv[i].ptr, c->argv[i].len, reply_count(c, kind));
    }
    c->flags |= CLIENT_PUBSUB;
}

/* Unsubscribe s (or, with s NULL, the named topic c may not hold) and reply for it. */
static void unsubscribe_one(client *c, int kind, const char *name, size_t len) {
    ps_sub *s = sub_find(c, kind, name, len);
    if (s) sub_remove(kind, s);
    reply_sub_event(c, unsub_words[kind], name, len, reply_count(c, kind));
}

static void unsubscribe_generic(client *c, int kind) {
    if (c->argc == 1) {
        if (!c->ps || !c->ps->head[kind]) {
            reply_sub_event(c, unsub_words[kind], NULL, 0, reply_count(c, kind));
        } else {
            while (c->ps->head[kind]) {
                ps_sub *s = c->ps->head[kind];
                ps_topic *t = s->t;
                /* The reply names the topic, which may go with the subscription. */
                size_t len = t->len;
                char small[128];
                char *name = len <= sizeof(small) ? small : xmalloc(len);
                memcpy(name, t->name, len);
                sub_remove(kind, s);
                reply_sub_event(c, unsub_words[kind], name, len, reply_count(c, kind));
                if (name != small) free(name);
            }
        }
    } else {
        for (int i = 1; i < c->argc; i++) unsubscribe_one(c, kind, c->argv[i].ptr, c->argv[i].len);
    }
    if (client_total(c) == 0) c->flags &= ~CLIENT_PUBSUB;
}

static void cmd_subscribe(client *c) { subscribe_generic(c, PUBSUB_CHANNEL); }
static void cmd_psubscribe(client *c) { subscribe_generic(c, PUBSUB_PATTERN); }
static void cmd_unsubscribe(client *c) { unsubscribe_generic(c, PUBSUB_CHANNEL); }
static void cmd_punsubscribe(client *c) { unsubscribe_generic(c, PUBSUB_PATTERN); }
static void cmd_sunsubscribe(client *c) { unsubscribe_generic(c, PUBSUB_SHARD); }

static void cmd_ssubscribe(client *c) {
    if (c->flags & CLIENT_EXECUTING_EXEC) {
        reply_error(&c->out, "SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
        return;
    }
    subscribe_generic(c, PUBSUB_SHARD);
}

/* ---- delivery ---- */

/* A message being built: "*N\r\n" + parts, in a stack buffer when small. */
typedef struct msgbuf {
    char *p;
    size_t len, cap;
    char local[512];
} msgbuf;

static void mb_init(msgbuf *m) {
    m->p = m->local;
    m->len = 0;
    m->cap = sizeof(m->local);
}

static void mb_add(msgbuf *m, const char *p, size_t n) {
    if (m->len + n > m->cap) {
        size_t cap = m->cap * 2;
        while (cap < m->len + n) cap *= 2;
        if (m->p == m->local) {
            m->p = xmalloc(cap);
            memcpy(m->p, m->local, m->len);
        } else {
            m->p = xrealloc(m->p, cap);
        }
        m->cap = cap;
    }
    memcpy(m->p + m->len, p, n);
    m->len += n;
}

static void mb_bulk(msgbuf *m, const char *p, size_t n) {
    char hdr[32];
    int h = snprintf(hdr, sizeof(hdr), "$%zu\r\n", n);
    mb_add(m, hdr, (size_t)h);
    mb_add(m, p, n);
    mb_add(m, "\r\n", 2);
}

static void mb_free(msgbuf *m) {
    if (m->p != m->local) free(m->p);
}

/* One message as its receivers get it, stored once in the broadcast log per protocol
 * (head starts with '*'; RESP3 receivers get '>' instead, stored on first need). */
typedef struct encoded {
    const msgbuf *head, *tail;
    size_t off[2], len;
    int have[2];
} encoded;

static void deliver(client *c, encoded *e) {
    if (c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) return; /* as Redis: no more output */
    int v = c->resp >= 3;
    if (!e->have[v]) {
        msgbuf m;
        mb_init(&m);
        mb_add(&m, v ? ">" : "*", 1);
        mb_add(&m, e->head->p + 1, e->head->len - 1);
        mb_add(&m, e->tail->p, e->tail->len);
        e->off[v] = net_bcast_add(m.p, m.len);
        e->len = m.len;
        e->have[v] = 1;
        mb_free(&m);
    }
    client_queue_bcast(c, e->off[v], e->len);
}

static void deliver_all(ps_topic *t, const msgbuf *head, const msgbuf *tail, long *receivers) {
    encoded e = {head, tail, {0, 0}, 0, {0, 0}};
    for (ps_sub *s = t->head; s; s = s->next) {
        deliver(s->c, &e);
        (*receivers)++;
    }
}

static long publish_kind(int kind, const char *channel, size_t chlen, const char *msg, size_t msglen) {
    static const char msg_head[] = "*3\r\n$7\r\nmessage\r\n";
    static const char smsg_head[] = "*3\r\n$8\r\nsmessage\r\n";
    long receivers = 0;
    if (!inited) return 0;
    msgbuf head, tail;
    mb_init(&tail);
    mb_bulk(&tail, channel, chlen);
    mb_bulk(&tail, msg, msglen);
    ps_topic *t = (ps_topic *)dict_find(&topics[kind], channel, chlen);
    if (t) {
        mb_init(&head);
        if (kind == PUBSUB_SHARD) mb_add(&head, smsg_head, sizeof(smsg_head) - 1);
        else mb_add(&head, msg_head, sizeof(msg_head) - 1);
        deliver_all(t, &head, &tail, &receivers);
        mb_free(&head);
    }
    if (kind == PUBSUB_CHANNEL) {
        for (ps_topic *p = topic_head[PUBSUB_PATTERN]; p; p = p->next) {
            if (!util_stringmatch(p->name, p->len, channel, chlen, 0)) continue;
            mb_init(&head);
            mb_add(&head, "*4\r\n$8\r\npmessage\r\n", 18);
            mb_bulk(&head, p->name, p->len);
            deliver_all(p, &head, &tail, &receivers);
            mb_free(&head);
        }
    }
    mb_free(&tail);
    return receivers;
}

long pubsub_publish(const char *channel, size_t chlen, const char *msg, size_t msglen) {
    return publish_kind(PUBSUB_CHANNEL, channel, chlen, msg, msglen);
}

long pubsub_spublish(const char *channel, size_t chlen, const char *msg, size_t msglen) {
    return publish_kind(PUBSUB_SHARD, channel, chlen, msg, msglen);
}

static void cmd_publish(client *c) {
    reply_int(&c->out, pubsub_publish(c->argv[1].ptr, c->argv[1].len, c->argv[2].ptr, c->argv[2].len));
}

static void cmd_spublish(client *c) {
    reply_int(&c->out, pubsub_spublish(c->argv[1].ptr, c->argv[1].len, c->argv[2].ptr, c->argv[2].len));
}

/* ---- PUBSUB ---- */

static void channels_generic(client *c, int kind) {
    const char *pat = c->argc == 3 ? c->argv[2].ptr : NULL;
    size_t plen = pat ? c->argv[2].len : 0;
    long n = 0;
    if (inited)
        for (ps_topic *t = topic_head[kind]; t; t = t->next)
            if (!pat || util_stringmatch(pat, plen, t->name, t->len, 0)) n++;
    reply_array(&c->out, n);
    if (inited)
        for (ps_topic *t = topic_head[kind]; t; t = t->next)
            if (!pat || util_stringmatch(pat, plen, t->name, t->len, 0)) reply_bulk(&c->out, t->name, t->len);
}

static void numsub_generic(client *c, int kind) {
    reply_array(&c->out, 2 * (long)(c->argc - 2)); /* an array even in RESP3, as Redis 7.0 */
    for (int i = 2; i < c->argc; i++) {
        ps_topic *t = inited ? (ps_topic *)dict_find(&topics[kind], c->argv[i].ptr, c->argv[i].len) : NULL;
        reply_bulk(&c->out, c->argv[i].ptr, c->argv[i].len);
        reply_int(&c->out, t ? t->count : 0);
    }
}

/* Redis's addReplySubcommandSyntaxError. */
static int pubsub_argc_ok_or_reply(client *c, int max) {
    if (c->argc <= max) return 1;
    reply_errorf(&c->out, "unknown subcommand or wrong number of arguments for '%.*s'. Try PUBSUB HELP.",
                 (int)(c->argv[1].len < 128 ? c->argv[1].len : 128), c->argv[1].ptr);
    return 0;
}

static void cmd_pubsub_channels(client *c) {
    if (pubsub_argc_ok_or_reply(c, 3)) channels_generic(c, PUBSUB_CHANNEL);
}

static void cmd_pubsub_shardchannels(client *c) {
    if (pubsub_argc_ok_or_reply(c, 3)) channels_generic(c, PUBSUB_SHARD);
}

static void cmd_pubsub_numsub(client *c) { numsub_generic(c, PUBSUB_CHANNEL); }
static void cmd_pubsub_shardnumsub(client *c) { numsub_generic(c, PUBSUB_SHARD); }
static void cmd_pubsub_numpat(client *c) { reply_int(&c->out, pubsub_total(PUBSUB_PATTERN)); }

static void cmd_pubsub_help(client *c) {
    static const char *const lines[] = {
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
    };
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

static const command_binding pubsub_subcommands[] = {
    CMD("channels", cmd_pubsub_channels),
    CMD("numsub", cmd_pubsub_numsub),
    CMD("numpat", cmd_pubsub_numpat),
    CMD("shardchannels", cmd_pubsub_shardchannels),
    CMD("shardnumsub", cmd_pubsub_shardnumsub),
    CMD("help", cmd_pubsub_help),
    {0},
};

const command_binding pubsub_commands[] = {
    CMD("subscribe", cmd_subscribe),
    CMD("unsubscribe", cmd_unsubscribe),
    CMD("psubscribe", cmd_psubscribe),
    CMD("punsubscribe", cmd_punsubscribe),
    CMD("ssubscribe", cmd_ssubscribe),
    CMD("sunsubscribe", cmd_sunsubscribe),
    CMD("publish", cmd_publish),
    CMD("spublish", cmd_spublish),
    CMD("pubsub", NULL, pubsub_subcommands),
    {0},
};
