"""test_pubsub.py: pub/sub, MONITOR and client tracking.

Differential cases run the same multi-connection scripts against respite and
redis-server and compare, step by step, the exact bytes each connection received. A
step is (conn, command...); after it, every live connection not inside MULTI is synced
with a PING (allowed in RESP2 subscribed mode and harmless elsewhere), so everything the
server sent it before that PING is read and attributed to the step. Client ids, ports
and MONITOR timestamps are masked ("{id0}", "{c1}", "TS"). Replies whose order Redis
leaves to its hash tables (no-argument UNSUBSCRIBE, PUBSUB CHANNELS, several patterns
matching one message) are compared in "sorted" steps as a multiset of replies.

Also: redis-py pub/sub (sync and asyncio), ordering under pipelining, a slow subscriber
dropped at client-output-buffer-limit pubsub while publisher and bystander latency stay
near their baseline, tracking-table-max-keys, and ACL channel rules.
"""

import asyncio
import os
import random
import re
import socket
import statistics
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import encode  # noqa: E402

import redis  # noqa: E402

TS = re.compile(rb"\+\d{10}\.\d{6} ")
PONGS = (b"+PONG\r\n", b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")


class Session:
    """N raw connections to one server, for differential scripts."""

    def __init__(self, srv, n):
        self.conns = [srv.conn() for _ in range(n)]
        self.ids = [int(c.call("CLIENT", "ID")) for c in self.conns]
        self.ports = [c.sock.getsockname()[1] for c in self.conns]
        self.dead = [False] * n
        self.multi = [False] * n

    def _id(self, m):
        n = int(m.group(2))
        return m.group(1) + (b"{id%d}" % self.ids.index(n) if n in self.ids else m.group(2))

    def mask(self, raw, ids_reply=False):
        raw = TS.sub(b"+TS ", raw)
        for i, p in enumerate(self.ports):
            raw = raw.replace(b"127.0.0.1:%d" % p, b"{c%d}" % i)
        raw = re.sub(rb"((?:^|[ \n])id=|redirect\r\n:|\$2\r\nid\r\n:|redir-broken\r\n:|redir=)(\d+)", self._id, raw)
        if ids_reply:
            raw = re.sub(rb"^(:)(\d+)", self._id, raw)
        return raw

    def expand(self, args):
        out = []
        for a in args:
            if isinstance(a, str) and a.startswith("{id") and a.endswith("}"):
                a = str(self.ids[int(a[3:-1])])
            out.append(a)
        return out

    def drain(self, i, until_pong, ids_reply=False, sender=False, pongs=1):
        """Replies on connection i: up to the sync PONG, or the one reply expected."""
        c, got = self.conns[i], []
        try:
            if until_pong:
                if sender:  # the command is done (and what it queued for later with it) before the PING
                    c.has_pending(2.0)
                c.send(encode("PING"))
                while True:
                    r = c.reply()
                    if r in PONGS:
                        pongs -= 1
                        if not pongs:
                            break
                    got.append(self.mask(r, ids_reply))
            else:
                got.append(self.mask(c.reply(), ids_reply))
        except (harness.ConnectionClosed, OSError):
            self.dead[i] = True
            got.append(b"CLOSED")
        return got

    def step(self, i, args):
        word = args[0].upper() if isinstance(args[0], str) else ""
        self.conns[i].send(encode(*self.expand(args)))
        out = {}
        in_multi = self.multi[i]
        if word == "MULTI":
            self.multi[i] = True
        elif word in ("EXEC", "DISCARD", "RESET"):
            self.multi[i] = False
        # The sender first: a reply inside MULTI is exactly one (QUEUED), else sync.
        ids_reply = word == "CLIENT" and str(args[1]).upper() in ("ID", "GETREDIR")
        out[i] = self.drain(i, not (in_multi or self.multi[i]) or word in ("EXEC", "DISCARD"), ids_reply, True,
                            2 if word == "PING" and len(args) == 1 and not in_multi else 1)
        if word in ("QUIT",):
            self.dead[i] = True
        for j in range(len(self.conns)):
            if j != i and not self.dead[j] and not self.multi[j]:
                out[j] = self.drain(j, True)
        return out

    def close(self):
        for c in self.conns:
            c.close()


def _unordered(r):
    """A reply whose order Redis leaves to its hash tables: unsubscribe-all replies lose
    their counts (which depend on that order); a flat array is sorted."""
    if r == b"CLOSED":
        return r
    v = harness.decode(r)
    if isinstance(v, list) and len(v) == 3 and v[0] in (b"unsubscribe", b"punsubscribe", b"sunsubscribe"):
        return repr(v[:2]).encode()
    if isinstance(v, list) and all(isinstance(x, bytes) for x in v):
        return repr(sorted(v)).encode()
    return r


def run_script(srv, nconn, steps):
    s = Session(srv, nconn)
    log = []
    try:
        for st in steps:
            sort = st[0] == "sorted"
            if sort:
                st = st[1:]
            out = s.step(st[0], list(st[1:]))
            if sort:
                out = {k: sorted(_unordered(r) for r in v) for k, v in out.items()}
            log.append((st, out))
    finally:
        s.close()
    return log


def diff_script(server, oracle, nconn, steps):
    mine = run_script(server, nconn, steps)
    ref = run_script(oracle, nconn, steps)
    for (st, a), (_, b) in zip(mine, ref):
        assert a == b, "step %r:\n respite: %r\n redis:   %r" % (st, a, b)


# ---------------------------------------------------------------- fixed cases

CASES = [
    ("subscribe_publish", [
        (0, "SUBSCRIBE", "a", "b"), (0, "SUBSCRIBE", "a"), (1, "PUBLISH", "a", "hello"),
        (1, "PUBLISH", "zz", "nobody"), (0, "UNSUBSCRIBE", "b", "nosuch"), (1, "PUBLISH", "b", "x"),
        (0, "UNSUBSCRIBE"), (0, "UNSUBSCRIBE"), (0, "GET", "k"),
    ]),
    ("subscribed_mode_errors", [
        (0, "SUBSCRIBE", "c"), (0, "GET", "k"), (0, "SET", "k", "v"), (0, "CLIENT", "LIST"),
        (0, "PING"), (0, "PING", "msg"), (0, "NOSUCHCMD"), (0, "SUBSCRIBE"), (0, "MULTI"),
        (0, "PSUBSCRIBE", "p*"), (0, "PUNSUBSCRIBE", "p*"), (0, "SSUBSCRIBE", "s"), (0, "SUNSUBSCRIBE"),
        (0, "UNSUBSCRIBE", "c"), (0, "GET", "k"), (0, "SSUBSCRIBE", "s1"), (0, "GET", "k"),
        (0, "RESET"), (0, "GET", "k"),
    ]),
    ("patterns", [
        (0, "PSUBSCRIBE", "news.*", "h?llo", "x[ab]c", "esc\\*"),
        (1, "PUBLISH", "news.today", "1"), (1, "PUBLISH", "hello", "2"), (1, "PUBLISH", "hallo", "3"),
        (1, "PUBLISH", "xac", "4"), (1, "PUBLISH", "xcc", "5"), (1, "PUBLISH", "esc*", "6"), (1, "PUBLISH", "escx", "7"),
        (1, "PUBSUB", "NUMPAT"), (2, "PSUBSCRIBE", "news.*"), (1, "PUBSUB", "NUMPAT"),
        (0, "PUNSUBSCRIBE", "h?llo"), (1, "PUBLISH", "hello", "8"), (0, "PUNSUBSCRIBE"), (2, "PUNSUBSCRIBE"),
        (1, "PUBSUB", "NUMPAT"),
    ]),
    ("many_subscriptions_one_client", [
        (0, "SUBSCRIBE", *["ch%d" % i for i in range(20)]), (0, "PSUBSCRIBE", *["p%d*" % i for i in range(12)]),
        (0, "SUBSCRIBE", "ch3", "ch19", "new"), (1, "PUBLISH", "ch7", "m"), ("sorted", 1, "PUBLISH", "p11x", "m"),
        (0, "UNSUBSCRIBE", *["ch%d" % i for i in range(0, 20, 2)]), (1, "PUBLISH", "ch8", "gone"),
        (1, "PUBLISH", "ch9", "kept"), (1, "PUBSUB", "NUMSUB", "ch8", "ch9", "new"),
        (0, "PUNSUBSCRIBE", "p0*", "p5*", "nosuch"), (1, "PUBSUB", "NUMPAT"), (1, "PUBLISH", "p5", "gone"),
        (0, "PUNSUBSCRIBE"), ("sorted", 0, "UNSUBSCRIBE"), (1, "PUBSUB", "NUMSUB", "ch9"),
    ]),
    ("channel_and_pattern_same_client", [
        (0, "SUBSCRIBE", "ch"), (0, "PSUBSCRIBE", "c*"), (1, "PUBLISH", "ch", "m"),
        (1, "SUBSCRIBE", "ch"), (2, "PUBLISH", "ch", "m2"), (0, "PUNSUBSCRIBE", "c*"), (2, "PUBLISH", "ch", "m3"),
    ]),
    ("pubsub_introspection", [
        (0, "SUBSCRIBE", "a1"), (1, "SUBSCRIBE", "a1", "b1"), (0, "PSUBSCRIBE", "a*"),
        (2, "PUBSUB", "NUMSUB"), (2, "PUBSUB", "NUMSUB", "a1", "b1", "c1"), (2, "PUBSUB", "NUMPAT"),
        ("sorted", 2, "PUBSUB", "CHANNELS"), (2, "PUBSUB", "CHANNELS", "b*"), (2, "PUBSUB", "CHANNELS", "a1", "x"),
        (2, "PUBSUB", "HELP"), (2, "PUBSUB", "NOSUCH"), (2, "PUBSUB", "NUMPAT", "x"), (2, "PUBSUB"),
        (2, "PUBSUB", "SHARDCHANNELS"), (2, "PUBSUB", "SHARDNUMSUB", "a1"), (2, "INFO", "NOSUCHSECTION"),
    ]),
    ("sharded", [
        (0, "SSUBSCRIBE", "s1", "s2"), (0, "SUBSCRIBE", "g1"), (1, "SPUBLISH", "s1", "m"), (1, "PUBLISH", "s1", "m"),
        (1, "SPUBLISH", "g1", "m"), ("sorted", 1, "PUBSUB", "SHARDCHANNELS"), (1, "PUBSUB", "SHARDCHANNELS", "*2"),
        (1, "PUBSUB", "SHARDNUMSUB", "s1", "s3"), (0, "SUNSUBSCRIBE", "s1"), (0, "SUNSUBSCRIBE"), (0, "SUNSUBSCRIBE"),
        (0, "UNSUBSCRIBE"), (0, "GET", "k"), (1, "MULTI"), (1, "SSUBSCRIBE", "z"), (1, "SUBSCRIBE", "z"), (1, "EXEC"),
    ]),
    ("resp3_push", [
        (0, "HELLO", "3"), (0, "SUBSCRIBE", "r3"), (0, "PSUBSCRIBE", "r*"), (0, "SET", "k", "v"), (0, "GET", "k"),
        (1, "PUBLISH", "r3", "m"), (0, "PUBLISH", "r3", "self"), (0, "PING"), (0, "SSUBSCRIBE", "s"),
        (0, "SPUBLISH", "s", "own"), (0, "UNSUBSCRIBE"), (0, "PUNSUBSCRIBE"), (0, "SUNSUBSCRIBE"), (0, "PING"),
        (0, "UNSUBSCRIBE"), (0, "PUNSUBSCRIBE", "none"), (1, "SUBSCRIBE", "r3"), (0, "PUBSUB", "NUMSUB", "r3", "x"),
        (0, "PUBSUB", "CHANNELS"), (0, "PUBSUB", "NUMPAT"), (0, "PUBSUB", "SHARDNUMSUB", "s"), (0, "PUBSUB", "HELP"),
    ]),
    ("resp3_resp2_mix", [
        (0, "HELLO", "3"), (0, "SUBSCRIBE", "m"), (1, "SUBSCRIBE", "m"), (2, "PUBLISH", "m", "both"),
        (1, "HELLO", "3"), (2, "PUBLISH", "m", "again"), (1, "HELLO", "2"), (1, "GET", "x"),
    ]),
    ("disconnect_and_reset_cleanup", [
        (0, "SUBSCRIBE", "d1", "d2"), (0, "PSUBSCRIBE", "d*"), (1, "SUBSCRIBE", "d1"),
        (2, "PUBSUB", "NUMSUB", "d1", "d2"), (0, "QUIT"), (2, "PUBSUB", "NUMSUB", "d1", "d2"), (2, "PUBSUB", "NUMPAT"),
        (1, "RESET"), (2, "PUBSUB", "NUMSUB", "d1"), (2, "PUBLISH", "d1", "none"),
        (1, "SUBSCRIBE", "k1"), (2, "CLIENT", "KILL", "ID", "{id1}"), (2, "PUBSUB", "NUMSUB", "k1"),
    ]),
    ("client_list_and_info", [
        (0, "SUBSCRIBE", "i1", "i2"), (0, "PSUBSCRIBE", "p1"), (0, "SSUBSCRIBE", "s1"),
        (1, "CLIENT", "KILL", "TYPE", "pubsub", "SKIPME", "yes"), (1, "PUBSUB", "NUMSUB", "i1"),
        (2, "SUBSCRIBE", "i3"), (1, "CLIENT", "KILL", "TYPE", "normal", "ID", "{id2}"),
        (1, "CLIENT", "KILL", "TYPE", "pubsub", "ID", "{id2}"), (1, "PUBSUB", "NUMSUB", "i3"),
    ]),
    ("acl_channels", [
        (1, "ACL", "SETUSER", "ps", "on", "nopass", "+@all", "~*", "resetchannels", "&news.*", "&chat"),
        (0, "AUTH", "ps", "x"), (0, "PUBLISH", "other", "m"), (0, "PUBLISH", "news.1", "m"),
        (0, "PSUBSCRIBE", "news"), (0, "PSUBSCRIBE", "news.*"), (0, "SUBSCRIBE", "chat", "nope"),
        (0, "SSUBSCRIBE", "nope"), (0, "SUBSCRIBE", "chat", "news.x"), (0, "UNSUBSCRIBE", "nope"),
        (1, "ACL", "DRYRUN", "ps", "PUBLISH", "x", "y"), (1, "ACL", "DRYRUN", "ps", "SUBSCRIBE", "chat"),
        (1, "ACL", "SETUSER", "ps", "&more"), (1, "PUBSUB", "NUMSUB", "chat"),
        (1, "ACL", "SETUSER", "ps", "resetchannels", "&chat", "&news.*", "&other"), (1, "PUBSUB", "NUMSUB", "chat"),
        (1, "ACL", "SETUSER", "ps", "resetchannels", "&chat"), (1, "PUBSUB", "NUMSUB", "chat"),
        (1, "ACL", "SETUSER", "ps2", "on", "nopass", "+@all", "resetchannels", "&x"), (2, "AUTH", "ps2", "x"),
        (2, "SUBSCRIBE", "x"), (1, "ACL", "SETUSER", "ps2", "allchannels"), (1, "PUBSUB", "NUMSUB", "x"),
        (1, "ACL", "SETUSER", "ps2", "resetchannels"), (1, "PUBSUB", "NUMSUB", "x"),
    ]),
    ("monitor", [
        (0, "MONITOR"), (1, "SET", "k", "a\x01\"\\ \n\t b\xff"), (1, "SELECT", "3"), (1, "GET", "k"),
        (1, "CONFIG", "GET", "maxmemory"), (1, "AUTH", "secret"), (1, "AUTH", "u", "secret"),
        (1, "HELLO", "2", "AUTH", "default", "pw"), (1, "MULTI"), (1, "SET", "a", "1"), (1, "INCR", "a"),
        (1, "EXEC"), (1, "NOSUCH"), (1, "GET"), (1, "SET", "n", "123"), (0, "MONITOR"), (0, "GET", "k"),
        (1, "MULTI"), (1, "MONITOR"), (1, "EXEC"), (1, "BLPOP", "q", "0.01"), (1, "CLIENT", "ID"), (1, "DEBUG", "x"),
        (2, "MONITOR"), (1, "PUBLISH", "ch", "m"), (2, "RESET"), (1, "ECHO", "after reset"), (0, "QUIT"),
        (1, "PING"),
    ]),
    ("monitor_scripts", [
        (0, "MONITOR"), (1, "EVAL", "redis.call('set', KEYS[1], 'v') return redis.call('get', KEYS[1])", "1", "sk"),
        (1, "SELECT", "2"), (1, "EVAL", "return redis.call('publish', 'ch', ARGV[1])", "0", "a\"b"),
        (1, "EVAL", "return redis.pcall('subscribe', 'x')", "0"), (2, "SUBSCRIBE", "ch"),
        (1, "EVAL", "return redis.call('publish', 'ch', 'from lua')", "0"),
        (1, "FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function(k, a) "
                                "return redis.call('incr', k[1]) end)"),
        (1, "FCALL", "f", "1", "cnt"),
    ]),
    ("tracking_redirect_resp2", [
        (2, "SUBSCRIBE", "__redis__:invalidate"), (0, "CLIENT", "TRACKING", "on", "REDIRECT", "{id2}"),
        (0, "CLIENT", "GETREDIR"), (0, "CLIENT", "TRACKINGINFO"), (0, "GET", "k"), (0, "MGET", "k", "j", "k"),
        (1, "SET", "k", "1"), (1, "SET", "j", "1"), (1, "SET", "k", "2"), (0, "GET", "k"), (0, "SET", "k", "3"),
        (0, "GET", "k"), (1, "FLUSHALL"), (0, "GET", "e"), (1, "SET", "e", "v", "PX", "1"), (0, "GET", "h"),
        (1, "HSET", "h", "f", "v"), (0, "EXISTS", "h"), (1, "DEL", "h"), (0, "TYPE", "r1"), (1, "SET", "r1", "x"),
        (0, "GET", "r1"), (1, "RENAME", "r1", "r2"), (0, "CLIENT", "TRACKING", "off"), (0, "CLIENT", "GETREDIR"),
        (0, "CLIENT", "TRACKING", "on", "REDIRECT", "{id2}"), (0, "GET", "z"), (2, "QUIT"), (1, "SET", "z", "1"),
        (0, "CLIENT", "TRACKINGINFO"),
    ]),
    ("tracking_resp3", [
        (0, "HELLO", "3"), (0, "CLIENT", "TRACKING", "on"), (0, "GET", "x"), (0, "SET", "x", "1"), (0, "GET", "x"),
        (1, "DEL", "x"), (0, "GET", "y"), (0, "MULTI"), (0, "GET", "y"), (0, "SET", "y", "2"), (0, "GET", "y"),
        (0, "EXEC"), (0, "GET", "y"), (1, "FLUSHDB"), (0, "GET", "y"), (0, "FLUSHALL"), (0, "CLIENT", "TRACKINGINFO"),
        (0, "CLIENT", "TRACKING", "on", "NOLOOP"), (0, "GET", "n"), (0, "SET", "n", "1"), (1, "SET", "n", "2"),
        (1, "INFO", "NOSUCH"), (0, "HGETALL", "hh"), (0, "SUBSCRIBE", "ch"), (1, "HSET", "hh", "a", "b"),
        (0, "CLIENT", "TRACKING", "on"), (0, "EVAL", "return redis.call('get', KEYS[1])", "1", "s1"),
        (0, "EVAL_RO", "return redis.call('get', KEYS[1])", "1", "s2"), (0, "EVAL", "return 1", "1", "s3"),
        (1, "MSET", "s1", "1", "s2", "2", "s3", "3"),
        (0, "EVAL", "redis.call('get', KEYS[1]) return redis.call('set', KEYS[1], 'x')", "1", "s4"),
    ]),
    ("tracking_bcast", [
        (0, "HELLO", "3"), (0, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a", "PREFIX", "b"),
        (1, "MSET", "a1", "1", "b2", "2", "c3", "3", "a0", "0"), (1, "SET", "a1", "x"), (0, "SET", "b9", "own"),
        (0, "CLIENT", "TRACKINGINFO"), (0, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "ab"),
        (0, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x", "PREFIX", "xy"),
        (0, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "c"), (0, "CLIENT", "TRACKINGINFO"),
        (0, "CLIENT", "TRACKING", "on"), (0, "CLIENT", "TRACKING", "off"),
        (0, "CLIENT", "TRACKING", "on", "BCAST", "NOLOOP"), (0, "SET", "self", "1"), (1, "SET", "other", "1"),
        (2, "SUBSCRIBE", "x"), (1, "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "p", "REDIRECT", "{id2}"),
        (0, "SET", "p1", "v"), (1, "INFO", "NOSUCH"),
    ]),
    ("tracking_optin_optout_errors", [
        (0, "HELLO", "3"), (0, "CLIENT", "CACHING", "yes"), (0, "CLIENT", "TRACKING", "on", "OPTIN"),
        (0, "GET", "o1"), (0, "CLIENT", "CACHING", "yes"), (0, "GET", "o2"), (0, "GET", "o3"),
        (0, "CLIENT", "CACHING", "yes"), (0, "CLIENT", "ID"), (0, "GET", "o4"),
        (1, "MSET", "o1", "1", "o2", "2", "o3", "3", "o4", "4"), (0, "CLIENT", "CACHING", "no"),
        (0, "CLIENT", "CACHING", "maybe"), (0, "CLIENT", "TRACKING", "on", "OPTOUT"), (0, "CLIENT", "TRACKINGINFO"),
        (0, "CLIENT", "TRACKING", "off"), (0, "CLIENT", "TRACKING", "on", "OPTOUT"), (0, "CLIENT", "CACHING", "no"),
        (0, "CLIENT", "TRACKINGINFO"), (0, "GET", "p1"), (0, "GET", "p2"), (1, "MSET", "p1", "1", "p2", "2"),
        (0, "CLIENT", "TRACKING", "on", "PREFIX", "a"), (0, "CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"),
        (0, "CLIENT", "TRACKING", "on", "BCAST", "OPTIN"), (0, "CLIENT", "TRACKING", "maybe"),
        (0, "CLIENT", "TRACKING", "on", "REDIRECT", "99999"), (0, "CLIENT", "TRACKING", "on", "REDIRECT", "x"),
        (0, "CLIENT", "TRACKING", "on", "REDIRECT", "{id1}", "REDIRECT", "{id1}"), (0, "CLIENT", "TRACKING", "on", "junk"),
        (0, "CLIENT", "TRACKING"), (0, "CLIENT", "GETREDIR", "x"), (0, "CLIENT", "TRACKINGINFO", "x"),
        (0, "CLIENT", "CACHING"), (0, "RESET"), (0, "CLIENT", "TRACKINGINFO"),
    ]),
]


@pytest.mark.parametrize("steps", [s for _, s in CASES], ids=[n for n, _ in CASES])
def test_case(server, oracle, steps):
    diff_script(server, oracle, 3, steps)


def gen_random(rng, n):
    chans = ["c1", "c2", "c3", "news.a", "news.b"]
    pats = ["c*", "news.*", "*", "c[12]", "n?ws.a"]
    steps = []
    for _ in range(n):
        i = rng.randrange(3)
        r = rng.random()
        if r < 0.2:
            steps.append((i, "SUBSCRIBE", *rng.sample(chans, rng.randint(1, 3))))
        elif r < 0.32:
            steps.append((i, "PSUBSCRIBE", *rng.sample(pats, rng.randint(1, 2))))
        elif r < 0.42:
            k = rng.randint(0, 2)
            steps.append(("sorted", i, "UNSUBSCRIBE", *rng.sample(chans, k)))
        elif r < 0.5:
            steps.append(("sorted", i, "PUNSUBSCRIBE", *rng.sample(pats, rng.randint(0, 1))))
        elif r < 0.8:
            steps.append(("sorted", i, "PUBLISH", rng.choice(chans), "m%d" % rng.randrange(100)))
        elif r < 0.85:
            steps.append((i, "SSUBSCRIBE", rng.choice(chans)))
        elif r < 0.9:
            steps.append((i, "SPUBLISH", rng.choice(chans), "s"))
        elif r < 0.94:
            steps.append((i, "HELLO", rng.choice(["2", "3"])))
        elif r < 0.97:
            steps.append((i, "PUBSUB", "NUMSUB", *chans))
        else:
            steps.append((i, "PUBSUB", "NUMPAT"))
    return steps


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random(server, oracle, seed):
    diff_script(server, oracle, 3, gen_random(random.Random(seed), 60))


# ---------------------------------------------------------------- ordering, limits

def test_publish_order_pipelined(server):
    sub = server.conn()
    sub.cmd("SUBSCRIBE", "ord")
    psub = server.conn()
    psub.cmd("PSUBSCRIBE", "o*")
    pub = server.conn()
    n = 2000
    pub.send(b"".join(encode("PUBLISH", "ord", "m%d" % i) for i in range(n)))
    for i in range(n):
        assert pub.reply() == b":2\r\n"
    for i in range(n):
        assert sub.reply() == encode("message", "ord", "m%d" % i).replace(b"*3", b"*3", 1)
        assert psub.reply() == b"*4\r\n$8\r\npmessage\r\n$2\r\no*\r\n$3\r\nord\r\n" + encode("m%d" % i)[4:]


def _ping_latency(c, n=50):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        assert c.cmd("PING") == b"+PONG\r\n"
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def test_slow_subscriber_dropped(make_server):
    """A subscriber that never reads is dropped at the pubsub hard limit; the publisher,
    a subscriber that reads and a bystander see latencies near their baseline."""
    srv = make_server()
    ctl = srv.conn()
    assert ctl.cmd("CONFIG", "SET", "client-output-buffer-limit", "pubsub 4mb 2mb 60") == b"+OK\r\n"
    slow = socket.create_connection(("127.0.0.1", srv.port))
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.sendall(encode("SUBSCRIBE", "flood"))
    fast = srv.conn()
    fast.cmd("SUBSCRIBE", "flood")
    got = [0]
    stop = threading.Event()

    def reader():
        try:
            while not stop.is_set():
                if fast.has_pending(0.05):
                    fast.reply()
                    got[0] += 1
        except (harness.ConnectionClosed, OSError):
            pass

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    by = srv.conn()
    deadline = time.monotonic() + 10
    while ctl.call("PUBSUB", "NUMSUB", "flood")[1] != 2:
        assert time.monotonic() < deadline
    base = _ping_latency(by)
    pub = srv.conn()
    base_pub = statistics.median(_timed_publish(pub, b"x" * 10, 50))
    payload = b"p" * 65536
    lat = []
    deadline = time.monotonic() + 30
    while ctl.call("PUBSUB", "NUMSUB", "flood")[1] == 2:
        assert time.monotonic() < deadline, "slow subscriber never dropped"
        lat += _timed_publish(pub, payload, 8)
    during = _ping_latency(by)
    sent = 50 + len(lat)
    deadline = time.monotonic() + 20
    while got[0] < sent and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    th.join(5)
    assert got[0] == sent, "the reading subscriber got %d of %d messages" % (got[0], sent)
    if not harness.is_oracle_under_test():  # Debian's 7.0.15 INFO lacks the field
        assert "client_output_buffer_limit_disconnections:1\r\n" in ctl.call("INFO", "stats").decode()
    # Dropped near the limit: 4 MB is 64 messages, plus what the socket buffers took.
    assert len(lat) < 64 * 4, "dropped far beyond the limit (%d messages)" % len(lat)
    limit = max(20 * base, 0.02)
    assert during < limit, "bystander PING %.2f ms vs baseline %.2f ms" % (during * 1e3, base * 1e3)
    pub_med = statistics.median(lat)
    assert pub_med < max(50 * base_pub, 0.03), "PUBLISH median %.2f ms vs baseline %.2f ms" % (
        pub_med * 1e3, base_pub * 1e3)
    slow.close()


def _timed_publish(c, payload, n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = c.cmd("PUBLISH", "flood", payload)
        out.append(time.perf_counter() - t)
        assert r[:1] == b":"
    return out


def test_slow_subscriber_soft_limit(make_server):
    srv = make_server()
    ctl = srv.conn()
    assert ctl.cmd("CONFIG", "SET", "client-output-buffer-limit", "pubsub 64mb 256kb 1") == b"+OK\r\n"
    slow = socket.create_connection(("127.0.0.1", srv.port))
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.sendall(encode("SUBSCRIBE", "soft"))
    deadline = time.monotonic() + 10
    while ctl.call("PUBSUB", "NUMSUB", "soft")[1] != 1:
        assert time.monotonic() < deadline
    for _ in range(160):  # 10 MB: more than the kernel's socket buffers take
        ctl.cmd("PUBLISH", "soft", b"s" * 65536)
    assert ctl.call("PUBSUB", "NUMSUB", "soft")[1] == 1  # over soft, not for long yet
    deadline = time.monotonic() + 10
    while ctl.call("PUBSUB", "NUMSUB", "soft")[1] == 1:
        assert time.monotonic() < deadline, "soft limit never enforced"
        time.sleep(0.05)
    slow.close()


def test_idle_subscribers_not_timed_out(make_server):
    srv = make_server(args=["--timeout", "1"])
    sub = srv.conn()
    sub.cmd("SUBSCRIBE", "idle")
    plain = srv.conn()
    plain.cmd("PING")
    closed, _ = plain.wait_closed(10)
    assert closed
    assert srv.conn().cmd("PUBLISH", "idle", "still") == b":1\r\n"


def test_tracking_table_max_keys(server):
    c = server.conn()
    c.cmd("HELLO", "3")
    c.cmd("CLIENT", "TRACKING", "on")
    ctl = server.conn()
    assert ctl.cmd("CONFIG", "SET", "tracking-table-max-keys", "2") == b"+OK\r\n"
    try:
        # The limit is applied before each command: GET t3 and GET t4 each evict one.
        c.send(b"".join(encode("GET", k) for k in ("t1", "t2", "t3", "t4")))
        got = [c.reply() for _ in range(6)]
        pushes = [p for p in got if p.startswith(b">2\r\n$10\r\ninvalidate\r\n*1\r\n")]
        assert len(pushes) == 2 and got.count(b"_\r\n") == 4, got
        ctl.cmd("PING")
        info = ctl.call("INFO", "stats").decode()
        assert "tracking_total_keys:2" in info, info
    finally:
        ctl.cmd("CONFIG", "SET", "tracking-table-max-keys", "1000000")
        c.cmd("CLIENT", "TRACKING", "off")


def test_info_counts(server):
    a = server.conn()
    a.cmd("SUBSCRIBE", "q1", "q2")
    a.cmd("PSUBSCRIBE", "q*")
    a.cmd("SSUBSCRIBE", "s")
    info = server.conn().call("INFO", "stats").decode()
    assert "pubsub_channels:2\r\n" in info and "pubsub_patterns:1\r\n" in info
    assert "pubsubshard_channels:1\r\n" in info
    line = server.conn().call("CLIENT", "LIST", "TYPE", "pubsub").decode()
    assert "sub=2 psub=1 ssub=1" in line and "flags=P" in line
    a.close()


# ---------------------------------------------------------------- redis-py

def _client(srv, **kw):
    return redis.Redis(host="127.0.0.1", port=srv.port, **kw)


def _get(p, timeout=5.0, ignore_sub=True):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        m = p.get_message(ignore_subscribe_messages=ignore_sub, timeout=0.1)
        if m:
            return m
    raise AssertionError("no message within %.1fs" % timeout)


def test_redis_py_get_message_and_patterns(server):
    r = _client(server)
    p = r.pubsub()
    p.subscribe("rp1")
    p.psubscribe("rp*")
    assert _get(p, ignore_sub=False)["type"] == "subscribe"
    assert _get(p, ignore_sub=False)["type"] == "psubscribe"
    assert r.publish("rp1", "hello") == 2
    m1, m2 = _get(p), _get(p)
    assert (m1["type"], m1["channel"], m1["data"]) == ("message", b"rp1", b"hello")
    assert (m2["type"], m2["pattern"], m2["channel"]) == ("pmessage", b"rp*", b"rp1")
    assert r.pubsub_numsub("rp1") == [(b"rp1", 1)]
    assert r.pubsub_numpat() == 1
    assert r.pubsub_channels() == [b"rp1"]
    p.unsubscribe("rp1")
    p.punsubscribe()
    p.close()


def test_redis_py_listen_and_handlers(server):
    r = _client(server)
    p = r.pubsub(ignore_subscribe_messages=True)
    p.subscribe("lst")
    for i in range(3):
        r.publish("lst", "m%d" % i)
    r.publish("lst", "stop")
    got = []
    for m in p.listen():
        if m["type"] != "message":
            continue
        if m["data"] == b"stop":
            break
        got.append(m["data"])
    assert got == [b"m0", b"m1", b"m2"]
    p.close()


def test_redis_py_run_in_thread(server):
    r = _client(server)
    p = r.pubsub()
    seen = []
    ev = threading.Event()

    def handler(m):
        seen.append(m["data"])
        if len(seen) == 5:
            ev.set()

    p.psubscribe(**{"thr.*": handler})
    t = p.run_in_thread(sleep_time=0.01, daemon=True)
    try:
        deadline = time.monotonic() + 5
        while r.pubsub_numpat() != 1:
            assert time.monotonic() < deadline
        for i in range(5):
            r.publish("thr.%d" % i, str(i))
        assert ev.wait(5)
        assert seen == [b"0", b"1", b"2", b"3", b"4"]
    finally:
        t.stop()
        t.join(5)
        p.close()


def test_redis_py_health_check_ping(server):
    r = _client(server, health_check_interval=1)
    p = r.pubsub()
    p.subscribe("hc")
    _get(p, ignore_sub=False)
    time.sleep(1.2)  # let the health check come due: the next read PINGs in subscribed mode
    r.publish("hc", "after")
    m = _get(p)
    assert m["data"] == b"after"
    time.sleep(1.2)
    r.publish("hc", "again")
    assert _get(p)["data"] == b"again"
    p.close()


def test_redis_py_asyncio(server):
    import redis.asyncio as aredis

    async def main():
        r = aredis.Redis(host="127.0.0.1", port=server.port)
        p = r.pubsub()
        await p.subscribe("as1")
        await p.psubscribe("as*")
        for _ in range(2):
            m = await p.get_message(timeout=2)
            assert m and m["type"] in ("subscribe", "psubscribe")
        assert await r.publish("as1", "x") == 2
        got = []
        end = time.monotonic() + 5
        while len(got) < 2 and time.monotonic() < end:
            m = await p.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if m:
                got.append((m["type"], m["data"]))
        assert got == [("message", b"x"), ("pmessage", b"x")]
        await p.unsubscribe()
        await p.punsubscribe()
        await p.close()
        await r.close()

    asyncio.run(main())


def test_tracking_resp2_redirect_with_redis_py(server):
    r = _client(server)
    inv = r.pubsub()
    inv.subscribe("__redis__:invalidate")
    _get(inv, ignore_sub=False)
    ids = [int(cl["id"]) for cl in r.client_list() if cl["cmd"] == "subscribe"]
    assert len(ids) == 1
    c = _client(server, single_connection_client=True)
    c.execute_command("CLIENT", "TRACKING", "on", "REDIRECT", ids[0])
    c.get("cached")
    r.set("cached", "1")
    m = _get(inv)
    assert m["channel"] == b"__redis__:invalidate" and m["data"] == [b"cached"]
    inv.close()
    c.close()


def test_big_messages_partial_writes_keep_order(server):
    """Messages bigger than the socket takes at once: the unsent rest of one, and the
    messages after it, must reach a slow reader whole and in order (RESP2 and RESP3)."""
    subs = []
    for proto in (2, 3):
        c = server.conn()
        if proto == 3:
            c.cmd("HELLO", "3")
        c.cmd("SUBSCRIBE", "big")
        subs.append((proto, c))
    pub = server.conn()
    n, size = 40, 300000  # 12 MB a subscriber: more than the socket buffers take
    for i in range(n):
        assert pub.cmd("PUBLISH", "big", (b"%06d" % i) * (size // 6)) == b":2\r\n"
    for proto, c in subs:
        for i in range(n):
            body = encode("message", "big", (b"%06d" % i) * (size // 6))
            if proto == 3:
                body = b">" + body[1:]
            assert c.reply() == body, "message %d (RESP%d)" % (i, proto)
        c.close()


def _ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback (::1) on this machine")
def test_ipv6_peer_addresses_in_brackets(make_server, make_oracle):
    """A client over ::1 appears as [::1]:port in CLIENT INFO (addr, laddr) and in MONITOR
    lines, as Redis's anetFormatAddr writes it; IPv4 peers stay ip:port."""
    shapes = {}
    for name, make in (("respite", make_server), ("redis", make_oracle)):
        srv = make(args=["--bind", "127.0.0.1 ::1"])
        mon = harness.Conn(srv.port, host="::1")
        assert mon.cmd("MONITOR") == b"+OK\r\n"
        c = harness.Conn(srv.port, host="::1")
        info = c.cmd("CLIENT", "INFO").decode()
        c.cmd("SET", "k", "v")
        assert '"CLIENT" "INFO"' in mon.reply().decode()
        line = mon.reply().decode()
        v4 = harness.Conn(srv.port)
        info4 = v4.cmd("CLIENT", "INFO").decode()
        fields = dict(f.split("=", 1) for f in info.split() if "=" in f)
        fields4 = dict(f.split("=", 1) for f in info4.split() if "=" in f)
        shapes[name] = (re.sub(r"\d+", "N", fields["addr"]), re.sub(r"\d+", "N", fields["laddr"]),
                        re.sub(r"\d+", "N", line.split('"')[0]), re.sub(r"\d+", "N", fields4["addr"]))
        assert line.endswith(' "SET" "k" "v"\r\n'), line
        assert (" %s]" % fields["addr"]) in line, (fields["addr"], line)
        for x in (mon, c, v4):
            x.close()
    assert shapes["respite"] == shapes["redis"], shapes
    assert shapes["respite"][0] == "[::N]:N" and shapes["respite"][3] == "N.N.N.N:N", shapes
