#!/usr/bin/python3
"""test_zset.py: sorted sets, their blocking pops and SORT, differentially against Redis 7.0.

Fixed cases and seeded random sequences run on the server under test and on Debian's
redis-server (each case after a FLUSHALL, in RESP2 and RESP3) and every reply is
compared byte for byte: score formatting, lex ranges, LIMIT and negative indexes,
WITHSCORES shapes, errors, encodings and their thresholds, SORT. Replies that Redis
makes random (ZRANDMEMBER) are checked for shape and membership only; ZSCAN is compared
on listpack sets (one call returns everything in order).

Blocking cases (BZPOPMIN/BZPOPMAX/BZMPOP) run the same scenario on both servers and
compare what each client gets: woken by ZADD from another client, FIFO order, ZADD
inside MULTI, a key that becomes a string, a blocking pop inside MULTI, timeouts, a
client that disconnects while blocked. They wait on INFO's blocked_clients with a
deadline, never on a sleep. redis-py cases use pipelines and transactions.

Fixtures (server, oracle) from conftest.py; run with
`python3 -m pytest -q tests/integration/test_zset.py`.
"""
import os
import random
import shlex
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import diff_case, diff_random, eq, wait_until  # noqa: E402


SETUP = ("FLUSHALL", "CONFIG SET zset-max-listpack-entries 128", "CONFIG SET zset-max-listpack-value 64")


def as_steps(steps):
    """String steps split as a shell would ('' is an empty argument)."""
    return [tuple(shlex.split(s)) if isinstance(s, str) else tuple(s) for s in steps]


LONG = "x" * 70

CASES = [
    ("zadd_options", [
        "ZADD z 1 a 2 b 3 c 1.1 d -inf e +inf f", "ZRANGE z 0 -1 WITHSCORES", "ZSCORE z d",
        "ZADD z NX XX 1 a", "ZADD z GT LT 1 a", "ZADD z GT NX 1 a", "ZADD z INCR 1 a 2 b", "ZADD z INCR 5 a",
        "ZADD z 1", "ZADD z x a", "ZADD z CH 5 a 6 b 7 new", "ZADD z XX CH 9 a 9 zz", "ZADD z NX 0 a 0 q",
        "ZADD z GT CH 1 a 100 b", "ZADD z LT CH 1 a 100 b", "ZADD z XX INCR 1 nope", "ZADD z NX INCR 1 a",
        "ZADD z GT INCR -1 a", "ZRANGE z 0 -1 WITHSCORES", "ZADD nokey XX 1 a", "EXISTS nokey",
        "ZINCRBY z inf a", "ZINCRBY z -inf a", "ZINCRBY z abc a", "ZINCRBY z 1.5 newm", "ZADD z nan a",
        "ZADD z 1e400 a", "ZADD z 0x10 a", "ZADD z ' 1' a", "ZCARD z", "ZCARD nokey"]),
    ("score_format", [
        "ZADD f 1.1 a 0.1 b 1e20 c 3.0 d -0 e 123456789.123 f 1e-300 g 9007199254740993 h",
        "ZRANGE f 0 -1 WITHSCORES", "ZSCAN f 0", "ZMSCORE f a b nope", "ZINCRBY f -0 e",
        ("ZADD", "fs", "-0", LONG), ("ZSCORE", "fs", LONG), "ZINCRBY fs 0.1 q", "ZINCRBY fs 0.2 q",
        "OBJECT ENCODING fs", "ZRANGE fs 0 -1 WITHSCORES"]),
    ("score_ranges", [
        "ZADD z 1 a 2 b 3 c 4 d 5 e 5 e2 6 f",
        "ZRANGEBYSCORE z (1 +inf WITHSCORES LIMIT 1 2", "ZREVRANGEBYSCORE z +inf (1 WITHSCORES LIMIT 1 2",
        "ZRANGEBYSCORE z -inf +inf LIMIT -1 2", "ZRANGEBYSCORE z -inf +inf LIMIT 0 -5",
        "ZRANGEBYSCORE z -inf +inf LIMIT 7 1", "ZRANGEBYSCORE z -inf +inf LIMIT 6 1", "ZRANGEBYSCORE z x 1",
        ("ZRANGEBYSCORE", "z", "", ""), "ZRANGEBYSCORE z ( (", "ZRANGEBYSCORE z 5 5", "ZRANGEBYSCORE z (5 5",
        "ZRANGEBYSCORE z 5 (5", "ZRANGEBYSCORE z 6 1", "ZRANGEBYSCORE z 0 10 REV", "ZRANGEBYSCORE z 0 10 LIMIT 1",
        "ZRANGEBYSCORE z 0 10 LIMIT a 1", "ZRANGEBYSCORE z 0 10 WITHSCORES WITHSCORES",
        "ZRANGE z (1 5 BYSCORE REV WITHSCORES", "ZRANGE z 5 (1 BYSCORE REV WITHSCORES",
        "ZRANGE z 5 (1 BYSCORE REV LIMIT 1 2", "ZRANGE z 0 1 LIMIT 0 1", "ZRANGE z - + BYLEX WITHSCORES",
        "ZRANGE z 0 -1 BYSCORE BYLEX", "ZRANGE z 0 -1 REV REV", "ZCOUNT z -inf +inf", "ZCOUNT z (1 (6",
        "ZCOUNT z 3 x", "ZCOUNT nokey 0 1", "ZREVRANGEBYSCORE z 5 1 LIMIT 0 2 WITHSCORES",
        "ZREVRANGEBYSCORE z (5 (1", "ZRANGEBYSCORE z -inf inf", "ZRANGEBYSCORE z -INF +Inf"]),
    ("rank_ranges", [
        "ZADD z 1 a 2 b 3 c 4 d 5 e", "ZRANGE z 0 -1", "ZRANGE z -2 -1 WITHSCORES", "ZRANGE z -100 100",
        "ZRANGE z 3 1", "ZRANGE z 5 10", "ZRANGE z 0 -1 REV WITHSCORES", "ZREVRANGE z 0 1 WITHSCORES",
        "ZREVRANGE z -1 -1", "ZREVRANGE z 1 -2", "ZRANGE z a 1", "ZRANGE nokey 0 -1", "ZREVRANGE z 0 1 REV",
        "ZRANK z c", "ZREVRANK z c", "ZRANK z nope", "ZRANK nokey a", "ZREMRANGEBYRANK z 5 10",
        "ZREMRANGEBYRANK z x 10", "ZREMRANGEBYRANK z -2 -1", "ZRANGE z 0 -1", "ZREMRANGEBYRANK z 0 -1",
        "EXISTS z"]),
    ("lex", [
        "ZADD l 0 a 0 b 0 c 0 d 0 e 0 ff 0 g 0 A 0 ''", "ZRANGEBYLEX l - +", "ZRANGEBYLEX l [b (e",
        "ZREVRANGEBYLEX l (e [b", "ZRANGEBYLEX l [b [e LIMIT 1 2", "ZREVRANGEBYLEX l + - LIMIT 2 3",
        "ZRANGEBYLEX l + -", "ZRANGEBYLEX l [f [fz", "ZRANGEBYLEX l (ff +", ("ZRANGEBYLEX", "l", "[", "(b"),
        "ZLEXCOUNT l - +", "ZLEXCOUNT l (a [c", "ZLEXCOUNT l a c", "ZLEXCOUNT l - -", "ZRANGEBYLEX l [a",
        "ZRANGEBYLEX l [b [e WITHSCORES", "ZRANGE l [b [e BYLEX REV", "ZRANGE l [e [b BYLEX REV LIMIT 0 2",
        "ZREMRANGEBYLEX l [b [c", "ZRANGE l 0 -1", "ZREMRANGEBYLEX l x y", "ZREMRANGEBYLEX l - +", "EXISTS l"]),
    ("remove_and_empty_keys", [
        "ZADD z 1 a 2 b 3 c", "ZREM z a nope", "ZREM z b c", "EXISTS z", "ZREM z a", "ZADD z 1 a 2 b",
        "ZREMRANGEBYSCORE z (1 2", "ZREMRANGEBYSCORE z -inf +inf", "EXISTS z", "ZREMRANGEBYSCORE z a b",
        "SET s x", "ZADD s 1 a", "ZREM s a", "ZSCORE s a", "ZRANGE s 0 -1", "ZCARD s", "ZPOPMIN s",
        "ZRANGEBYLEX s - +", "ZUNIONSTORE d 1 s", "ZINTERCARD 1 s", "TYPE s"]),
    ("pops", [
        "ZADD p 1 a 2 b 3 c 4 d", "ZPOPMIN p", "ZPOPMAX p 2", "ZPOPMIN p 0", "ZPOPMIN p -1", "ZPOPMIN p x",
        "ZPOPMIN p 1 2", "ZPOPMIN p 10", "EXISTS p", "ZPOPMIN nokey", "ZPOPMIN nokey 0", "ZMPOP 1 p MIN",
        "ZADD p 1 a 2 b 3 c 4 d", "ZMPOP 2 nokey p MAX COUNT 2", "ZMPOP 0 p MIN", "ZMPOP 2 p MIN",
        "ZMPOP 1 p foo", "ZMPOP 1 p MIN COUNT 0", "ZMPOP 1 p MIN COUNT 1 COUNT 1", "ZMPOP 1 p MIN COUNT",
        "ZMPOP x p MIN", "BZPOPMIN p 0", "BZPOPMAX p nokey 0", "BZMPOP 0.01 1 p MIN COUNT 5", "BZPOPMIN p -1",
        "BZPOPMIN p abc", "BZMPOP x 1 p MIN", "BZMPOP 0 0 p MIN", "SET s x", "BZPOPMIN s 0", "ZPOPMIN s 0",
        "ZMPOP 1 s MIN", "ZADD p 1 a", "BZPOPMIN s p 0", "BZPOPMIN nokey2 p 0", "BZPOPMIN p 0.01",
        "BZMPOP 0.01 1 p MAX", "BZPOPMIN p 1e400", "BZPOPMIN p inf"]),
    ("set_operations", [
        "ZADD a 1 x 2 y 3 z", "ZADD b 10 y 20 z 30 w", "ZUNION 2 a b WITHSCORES", "ZINTER 2 a b WITHSCORES",
        "ZDIFF 2 a b WITHSCORES", "ZDIFF 2 b a", "ZUNION 2 a b WEIGHTS 2 3 AGGREGATE MAX WITHSCORES",
        "ZINTER 2 a b AGGREGATE MIN WITHSCORES", "ZUNIONSTORE d 2 a b", "ZRANGE d 0 -1 WITHSCORES",
        "ZINTERSTORE d 2 a b WEIGHTS 1 0.5", "ZRANGE d 0 -1 WITHSCORES", "ZDIFFSTORE d 1 nokey", "EXISTS d",
        "ZINTERCARD 2 a b", "ZINTERCARD 2 a b LIMIT 1", "ZINTERCARD 2 a b LIMIT -1", "ZINTERCARD 0 a",
        "ZINTERCARD 2 a b WITHSCORES", "ZUNION 3 a b", "ZUNION 2 a b WEIGHTS 1", "ZUNION 2 a b WEIGHTS 1 x",
        "ZUNION 2 a b AGGREGATE avg", "ZUNION 0 a", "ZUNIONSTORE d 0 a", "ZUNIONSTORE d 2 a b WITHSCORES",
        "ZDIFF 2 a b WEIGHTS 1 2", "ZADD i 1 inf", "ZADD j -inf inf", "ZUNION 2 i j WITHSCORES",
        "ZADD i inf q", "ZADD j -inf q", "ZUNION 2 i j WITHSCORES", "ZINTER 2 i j WITHSCORES",
        "ZUNION 2 i j WEIGHTS 0 1 WITHSCORES", "ZINTER 2 a a WITHSCORES", "ZUNIONSTORE a 2 a b",
        "ZRANGE a 0 -1 WITHSCORES", "ZINTERSTORE a 2 a nokey", "EXISTS a", "ZUNION 2 b nokey WITHSCORES"]),
    ("rangestore", [
        "ZADD src 1 a 2 b 3 c 4 d", "ZRANGESTORE dst src 0 -1", "ZRANGE dst 0 -1 WITHSCORES",
        "ZRANGESTORE dst src 1 0 BYSCORE REV", "ZRANGESTORE dst src (4 1 BYSCORE REV LIMIT 1 1",
        "ZRANGE dst 0 -1 WITHSCORES", "ZRANGESTORE dst src 0 -1 WITHSCORES", "ZRANGESTORE dst src 5 10",
        "EXISTS dst", "ZRANGESTORE dst nokey 0 -1", "ZRANGESTORE dst src [a [c BYLEX", "ZRANGE dst 0 -1",
        "SET str v", "ZRANGESTORE str src 0 0", "TYPE str", "ZRANGESTORE dst str 0 0"]),
    ("zscan_small", [
        "ZADD a 1 x 2 y 3 z 1.5 xx", "ZSCAN a 0", "ZSCAN a 0 MATCH x* COUNT 1", "ZSCAN a x", "ZSCAN nokey 0",
        "ZSCAN a 0 COUNT 0", "ZSCAN a 0 TYPE zset", "ZSCAN a 0 MATCH", "ZSCAN a -1", "ZSCAN a 0 COUNT x"]),
    ("randmember_errors", [
        "ZADD a 1 x", "ZRANDMEMBER nokey", "ZRANDMEMBER nokey 5", "ZRANDMEMBER a 0", "ZRANDMEMBER a 1 2",
        "ZRANDMEMBER a x", "ZRANDMEMBER a -9223372036854775807 WITHSCORES", "ZRANDMEMBER a 5 WITHSCORES",
        "ZRANDMEMBER a 1", "ZRANDMEMBER a -3", "ZRANDMEMBER a"]),
    ("encodings", [
        "CONFIG SET zset-max-listpack-entries 4", "ZADD big 1 a 2 b 3 c 4 d", "OBJECT ENCODING big",
        "ZADD big 5 e", "OBJECT ENCODING big", "ZREM big a b c d", "OBJECT ENCODING big",
        "ZADD big2 1 a 2 b 3 c 4 d 5 e", "OBJECT ENCODING big2", "CONFIG SET zset-max-listpack-entries 128",
        "CONFIG SET zset-max-listpack-value 3", "ZADD v 1 abcd", "OBJECT ENCODING v", "ZADD v2 1 abc",
        "OBJECT ENCODING v2", "ZADD v2 1 abcd", "OBJECT ENCODING v2", "CONFIG GET zset-max-listpack-value",
        "CONFIG GET zset-max-ziplist-value", "CONFIG SET zset-max-ziplist-value 64",
        "CONFIG GET zset-max-listpack-value", "ZADD ls 1 a 2 b 3 c", "ZUNIONSTORE u 1 ls",
        "OBJECT ENCODING u", "CONFIG SET zset-max-listpack-entries 2", "ZUNIONSTORE u 1 ls",
        "OBJECT ENCODING u", "ZRANGESTORE u2 ls 0 -1", "OBJECT ENCODING u2", "ZRANGESTORE u3 ls 0 1",
        "OBJECT ENCODING u3", "ZADD ls 4 d", "OBJECT ENCODING ls", "COPY ls ls2", "OBJECT ENCODING ls2",
        "ZRANGE ls2 0 -1 WITHSCORES", "CONFIG SET zset-max-listpack-entries 0", "ZADD zero 1 a",
        "OBJECT ENCODING zero", "CONFIG SET zset-max-listpack-entries 128", "ZADD sk 1 a 2 b", "SORT sk",
        "OBJECT ENCODING sk", "TYPE sk", "TYPE nokey"]),
    ("keyspace", [
        "ZADD a 1 x 2 y", "RENAME a b", "ZRANGE b 0 -1 WITHSCORES", "EXISTS a", "COPY b c", "ZADD c 3 z",
        "ZCARD b", "ZCARD c", "MOVE c 1", "SELECT 1", "ZRANGE c 0 -1", "SELECT 0", "EXPIRE b 100", "TTL b",
        "ZADD b 5 q", "TTL b", "SCAN 0 TYPE zset", "SCAN 0 TYPE string", "PEXPIRE b 0", "EXISTS b",
        "ZADD t 1 a", "DEL t", "ZCARD t"]),
    ("sort", [
        "ZADD n 3 10 1 2 2 1.5 4 abc", "SORT n", "SORT n ALPHA", "SORT n ALPHA DESC LIMIT 1 2", "ZREM n abc",
        "SORT n DESC", "SORT n LIMIT 1 2", "SORT n LIMIT -1 2", "SORT n LIMIT 2 -1", "SORT n LIMIT 10 2",
        "SORT n BY nosort", "SORT n BY nosort DESC", "SORT n BY nosort LIMIT 1 2", "SORT n BY nosort DESC LIMIT 1 2",
        "SORT n BY fixed", "MSET w_10 3 w_1 1 w_2 2 w_1.5 0 o_10 ten o_1 one", "SORT n BY w_*",
        "SORT n BY w_* GET o_* GET #", "SORT n BY w_* DESC GET # GET o_*", "SORT n BY w_* ALPHA",
        "SORT n BY w_*->f", "SORT n GET o_* GET nokey", "SORT n GET o_", "SORT n GET #->f", "SORT n BY #",
        "SORT n foo", "SORT n LIMIT 1", "SORT n LIMIT x 1", "SORT_RO n STORE x", "SORT_RO n BY w_* GET o_*",
        "SORT nokey", "SORT nokey BY w_* GET #", "SORT nokey STORE x", "SET str x", "SORT str", "SORT_RO str",
        "SORT n LIMIT 0 0", "SORT n LIMIT 0 0 GET #", "ZADD e 1 '' 2 ' 3' 3 0x10 4 1e2", "SORT e", "SORT e DESC",
        "ZADD bad 1 1 2 x", "SORT bad", "SORT bad ALPHA", "SORT bad BY nosort", "SET w_x 1", "SORT bad BY w_*",
        "ZADD ties 1 b 1 a 1 c", "MSET t_a 5 t_b 5 t_c 1", "SORT ties BY t_*", "SORT ties BY t_* DESC",
        "SORT ties BY t_* LIMIT 0 2"]),
    # SORT over the other collections (lists and sets fill the descriptor's length and
    # elements slots, lists from_elements for STORE, hashes field for pattern->field).
    ("sort other types", [
        "RPUSH l 3 1 2 10 5", "SORT l", "SORT l DESC", "SORT l LIMIT 1 2", "SADD s c a b", "SORT s ALPHA",
        "SORT s BY nosort STORE out1", "LRANGE out1 0 -1", "TYPE out1", "HSET h_3 w 30 name three",
        "HSET h_1 w 10 name one", "HSET h_2 w 20 name two", "HSET h_10 w 5 name ten", "HSET h_5 w 50 name five",
        "SORT l BY h_*->w", "SORT l BY h_*->w GET # GET h_*->name", "SORT l BY h_*->w GET h_*->name STORE out2",
        "LRANGE out2 0 -1", "SORT l BY nosort GET h_*->missing", "SORT s STORE out3", "SORT s ALPHA STORE out3",
        "LRANGE out3 0 -1", "SORT_RO l BY h_*->w GET h_*->name", "SORT l BY h_*->w STORE l", "LRANGE l 0 -1",
        "SORT nokey STORE out4", "EXISTS out4", "ZADD z 1 x 2 y", "ZUNIONSTORE zu 2 z s",
        "ZRANGE zu 0 -1 WITHSCORES", "ZINTER 2 z s", "ZDIFF 2 s z WITHSCORES", "SORT h_1", "OBJECT ENCODING out2"]),
]


@pytest.mark.parametrize("resp", [2, 3])
@pytest.mark.parametrize("steps", [s for _, s in CASES], ids=[n for n, _ in CASES])
def test_case(server, oracle, steps, resp):
    diff_case(server, oracle, as_steps(steps), setup=SETUP, resp3=resp == 3)


# ---------------------------------------------------------------- seeded random sequences

def random_steps(rng, n):
    keys = ["z1", "z2", "z3"]
    members = ["m%d" % i for i in range(24)] + [LONG]

    def score():
        r = rng.random()
        if r < 0.05:
            return rng.choice(["inf", "-inf"])
        if r < 0.6:
            return str(rng.randint(-5, 5))
        return repr(rng.randint(-500, 500) / rng.choice([2, 4, 10, 3]))

    def bound():
        b = rng.choice(["", "("]) + rng.choice([str(rng.randint(-6, 6)), "-inf", "+inf", repr(rng.randint(-9, 9) / 4)])
        return b

    def lexb():
        return rng.choice(["-", "+", "[" + rng.choice(members), "(" + rng.choice(members), "[m1", "(m"])

    steps = []
    for _ in range(n):
        k = rng.choice(keys)
        op = rng.randrange(30)
        m = rng.choice(members)
        if op < 6:
            args = ["ZADD", k] + rng.sample(["NX", "XX", "GT", "LT", "CH"], rng.randint(0, 2))
            for _ in range(rng.randint(1, 4)):
                args += [score(), rng.choice(members)]
        elif op == 6:
            args = ["ZINCRBY", k, score(), m]
        elif op == 7:
            args = ["ZADD", k, "INCR", score(), m]
        elif op == 8:
            args = ["ZREM", k] + rng.sample(members, rng.randint(1, 3))
        elif op == 9:
            args = ["ZRANGE", k, str(rng.randint(-8, 8)), str(rng.randint(-8, 8))] + rng.choice(
                [[], ["WITHSCORES"], ["REV"], ["REV", "WITHSCORES"]])
        elif op == 10:
            args = ["ZRANGEBYSCORE", k, bound(), bound()] + rng.choice(
                [[], ["WITHSCORES"], ["LIMIT", str(rng.randint(-1, 4)), str(rng.randint(-2, 4))]])
        elif op == 11:
            args = ["ZREVRANGEBYSCORE", k, bound(), bound()] + rng.choice(
                [[], ["WITHSCORES"], ["LIMIT", str(rng.randint(0, 4)), str(rng.randint(-1, 4))]])
        elif op == 12:
            args = ["ZRANGE", k, bound(), bound(), "BYSCORE"] + rng.choice(
                [[], ["REV"], ["REV", "LIMIT", "1", "2"], ["WITHSCORES"]])
        elif op == 13:
            args = ["ZCOUNT", k, bound(), bound()]
        elif op == 14:
            args = [rng.choice(["ZRANK", "ZREVRANK", "ZSCORE"]), k, m]
        elif op == 15:
            args = ["ZMSCORE", k] + rng.sample(members, 3)
        elif op == 16:
            args = [rng.choice(["ZPOPMIN", "ZPOPMAX"]), k] + rng.choice([[], [str(rng.randint(0, 3))]])
        elif op == 17:
            args = ["ZREMRANGEBYRANK", k, str(rng.randint(-5, 5)), str(rng.randint(-5, 5))]
        elif op == 18:
            args = ["ZREMRANGEBYSCORE", k, bound(), bound()]
        elif op == 19:
            op2 = rng.choice(["ZUNION", "ZINTER", "ZDIFF"])
            ks = rng.sample(keys, rng.randint(1, 3))
            args = [op2, str(len(ks))] + ks
            if op2 != "ZDIFF" and rng.random() < 0.5:
                args += ["WEIGHTS"] + [rng.choice(["1", "2", "0.5", "-1"]) for _ in ks]
            if op2 != "ZDIFF" and rng.random() < 0.5:
                args += ["AGGREGATE", rng.choice(["SUM", "MIN", "MAX"])]
            args += rng.choice([[], ["WITHSCORES"]])
        elif op == 20:
            op2 = rng.choice(["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"])
            ks = rng.sample(keys, rng.randint(1, 3))
            args = [op2, rng.choice(keys), str(len(ks))] + ks
        elif op == 21:
            args = ["ZINTERCARD", "2"] + rng.sample(keys, 2) + rng.choice([[], ["LIMIT", "1"]])
        elif op == 22:
            args = ["ZRANGESTORE", rng.choice(keys), k, str(rng.randint(-3, 3)), str(rng.randint(-3, 3))]
        elif op == 23:
            args = ["ZCARD", k]
        elif op == 24:
            args = ["OBJECT", "ENCODING", k]
        elif op == 25:
            args = ["ZMPOP", "2"] + rng.sample(keys, 2) + [rng.choice(["MIN", "MAX"]), "COUNT", str(rng.randint(1, 3))]
        elif op == 26:
            args = ["SORT", k] + rng.choice([[], ["DESC"], ["ALPHA"], ["ALPHA", "DESC", "LIMIT", "1", "3"],
                                             ["BY", "nosort"], ["BY", "nosort", "DESC", "LIMIT", "0", "2"]])
        elif op == 27:
            args = ["ZRANGE", k, "0", "-1", "WITHSCORES"]
        elif op == 28:
            args = ["ZREMRANGEBYSCORE", k, bound(), bound()]
        else:
            args = ["CONFIG", "SET", "zset-max-listpack-entries", str(rng.choice([2, 5, 128]))]
        steps.append(tuple(args))
    return steps


def lex_steps(rng, n):
    """Lex commands on a set whose scores are all 0 (where lex ranges are defined)."""
    members = ["", "a", "aa", "ab", "b", "ba", "c", "cz", "d", "\xff", "A", "m", "mm"]

    def lb():
        return rng.choice(["-", "+", "[" + rng.choice(members), "(" + rng.choice(members)])

    steps = []
    for _ in range(n):
        op = rng.randrange(7)
        if op < 2:
            steps.append(("ZADD", "lx", "0", rng.choice(members)))
        elif op == 2:
            steps.append(("ZRANGEBYLEX", "lx", lb(), lb()) + rng.choice(
                [(), ("LIMIT", str(rng.randint(-1, 3)), str(rng.randint(-1, 3)))]))
        elif op == 3:
            steps.append(("ZREVRANGEBYLEX", "lx", lb(), lb()) + rng.choice([(), ("LIMIT", "1", "2")]))
        elif op == 4:
            steps.append(("ZLEXCOUNT", "lx", lb(), lb()))
        elif op == 5:
            steps.append(("ZREMRANGEBYLEX", "lx", lb(), lb()))
        else:
            steps.append(("ZRANGE", "lx", lb(), lb(), "BYLEX") + rng.choice([(), ("REV",), ("REV", "LIMIT", "0", "2")]))
    return steps


@pytest.mark.parametrize("seed", range(6))
def test_random_sequences(server, oracle, seed):
    diff_random(server, oracle, seed, 400, lambda rng: random_steps(rng, 50), setup=SETUP, resp3=seed % 2 == 1)


@pytest.mark.parametrize("seed", range(3))
def test_random_lex(server, oracle, seed):
    diff_random(server, oracle, 100 + seed, 300, lambda rng: lex_steps(rng, 50), setup=SETUP, resp3=seed % 2 == 1)


def test_random_large_skiplist(server, oracle):
    """A few thousand members (skiplist) with ranges and removals at random ranks."""
    rng = random.Random(7)
    steps = []
    for i in range(0, 3000, 100):
        args = ["ZADD", "big"]
        for j in range(i, i + 100):
            args += [str(rng.randint(0, 500)), "member:%d" % j]
        steps.append(tuple(args))
    for _ in range(300):
        op = rng.randrange(6)
        if op == 0:
            steps.append(("ZRANK", "big", "member:%d" % rng.randrange(3100)))
        elif op == 1:
            lo = rng.randint(-3000, 3000)
            steps.append(("ZRANGE", "big", str(lo), str(lo + rng.randint(0, 5)), "WITHSCORES"))
        elif op == 2:
            a = rng.randint(0, 500)
            steps.append(("ZRANGEBYSCORE", "big", "(%d" % a, str(a + 2), "LIMIT", str(rng.randint(0, 3)), "5"))
        elif op == 3:
            steps.append(("ZREMRANGEBYRANK", "big", str(rng.randint(0, 2000)), str(rng.randint(0, 2000))))
        elif op == 4:
            steps.append(("ZADD", "big", str(rng.randint(0, 500)), "member:%d" % rng.randrange(3100)))
        else:
            steps.append(("ZCOUNT", "big", str(rng.randint(0, 300)), "(%d" % rng.randint(200, 500)))
    steps.append(("ZCARD", "big"))
    steps.append(("OBJECT", "ENCODING", "big"))
    diff_case(server, oracle, steps, setup=SETUP)


def test_random_large_tree(server, oracle):
    """The large encoding's tree several levels deep: one set loaded in descending score
    order, one run of 3,000 equal scores (lex ranges over many leaves); score updates
    small (a member keeps its place) and large, removals by rank, score and lex ranges,
    pops at both ends, reverse ranges, copies."""
    rng = random.Random(11)
    steps = []
    for i in range(8000, 0, -200):
        args = ["ZADD", "big"]
        for j in range(i, i - 200, -1):
            args += [str(j * 10), "m:%d" % j]
        steps.append(tuple(args))
    words = ["".join(rng.choice("abc") for _ in range(rng.randint(1, 9))) for _ in range(3000)]
    for i in range(0, 3000, 300):
        args = ["ZADD", "lex"]
        for w in words[i:i + 300]:
            args += ["0", w]
        steps.append(tuple(args))

    def lexb():
        r = rng.random()
        if r < 0.05:
            return rng.choice(["-", "+"])
        return rng.choice("[(") + "".join(rng.choice("abc") for _ in range(rng.randint(0, 5)))

    for _ in range(400):
        op = rng.randrange(14)
        m = "m:%d" % rng.randint(1, 8100)
        if op == 0:
            steps.append(("ZINCRBY", "big", str(rng.choice([1, -1, 3])), m))
        elif op == 1:
            steps.append(("ZINCRBY", "big", str(rng.randint(-40000, 40000)), m))
        elif op == 2:
            steps.append((rng.choice(["ZRANK", "ZREVRANK"]), "big", m))
        elif op == 3:
            lo = rng.randint(-8000, 8000)
            steps.append((rng.choice(["ZRANGE", "ZREVRANGE"]), "big", str(lo), str(lo + rng.randint(0, 4)),
                          "WITHSCORES"))
        elif op == 4:
            a = rng.randint(0, 80000)
            steps.append(("ZREVRANGEBYSCORE", "big", str(a + 500), "(%d" % a, "LIMIT", str(rng.randint(0, 9)), "4"))
        elif op == 5:
            lo = rng.randint(0, 7000)
            steps.append(("ZREMRANGEBYRANK", "big", str(lo), str(lo + rng.randint(0, 150))))
        elif op == 6:
            a = rng.randint(0, 80000)
            steps.append(("ZREMRANGEBYSCORE", "big", str(a), str(a + rng.randint(0, 900))))
        elif op == 7:
            steps.append((rng.choice(["ZPOPMIN", "ZPOPMAX"]), "big", str(rng.randint(1, 70))))
        elif op == 8:
            steps.append(("ZRANGEBYLEX", "lex", lexb(), lexb(), "LIMIT", str(rng.randint(0, 50)), "5"))
        elif op == 9:
            steps.append(("ZLEXCOUNT", "lex", lexb(), lexb()))
        elif op == 10:
            steps.append(("ZREMRANGEBYLEX", "lex", lexb(), lexb()))
            steps.append(("ZCARD", "lex"))
        elif op == 11:
            w = rng.choice(words)
            steps.append((rng.choice(["ZRANK", "ZREVRANK", "ZREM"]), "lex", w))
        elif op == 12:
            steps.append(("ZADD", "big", str(rng.randint(0, 80000)), m))
        else:
            steps.append(("COPY", "big", "c", "REPLACE"))
            lo = rng.randint(0, 7000)
            steps.append(("ZRANGE", "c", str(lo), str(lo + 3), "WITHSCORES"))
    steps += [("ZCARD", "big"), ("ZCOUNT", "big", "-inf", "+inf"), ("ZLEXCOUNT", "lex", "-", "+"),
              ("OBJECT", "ENCODING", "big")]
    diff_case(server, oracle, steps, setup=SETUP)
    c = server.conn()
    got = c.call("ZRANGE", "big", "0", "-1", "WITHSCORES")
    c.close()
    o = oracle.conn()
    eq(got, o.call("ZRANGE", "big", "0", "-1", "WITHSCORES"), "whole set at the end")
    o.close()

def test_zrandmember_shapes(server):
    c = server.conn()
    c.call("FLUSHALL")
    c.call("ZADD", "r", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")
    members = {b"a", b"b", b"c", b"d", b"e"}
    eq(c.call("ZRANDMEMBER", "r", "10"), [b"e", b"d", b"c", b"b", b"a"], "whole set, highest first (as Redis)")
    for _ in range(20):
        got = c.call("ZRANDMEMBER", "r", "3")
        eq(len(got), 3, "count")
        eq(len(set(got)), 3, "distinct")
        assert set(got) <= members
        got = c.call("ZRANDMEMBER", "r", "-8")
        eq(len(got), 8, "negative count repeats")
        assert set(got) <= members
        assert c.call("ZRANDMEMBER", "r") in members
    got = c.call("ZRANDMEMBER", "r", "2", "WITHSCORES")
    eq(len(got), 4, "flat pairs")
    c.call("HELLO", "3")
    raw = c.cmd("ZRANDMEMBER", "r", "2", "WITHSCORES")
    assert raw.startswith(b"*2\r\n*2\r\n$1\r\n"), raw
    c.close()


def test_zscan_large(server):
    """ZSCAN over a skiplist set returns every member (with its score) by the end."""
    c = server.conn()
    c.call("FLUSHALL")
    for i in range(0, 1000, 100):
        args = ["ZADD", "big"]
        for j in range(i, i + 100):
            args += [str(j / 4), "m%d" % j]
        c.call(*args)
    seen, cursor = {}, b"0"
    while True:
        cursor, items = c.call("ZSCAN", "big", cursor, "COUNT", "50")
        for k in range(0, len(items), 2):
            seen[items[k]] = items[k + 1]
        if cursor == b"0":
            break
    eq(len(seen), 1000, "members seen")
    eq(seen[b"m3"], b"0.75", "score text")
    c.close()


# ---------------------------------------------------------------- blocking

def blocked_clients(c):
    for line in c.call("INFO", "clients").decode().split("\r\n"):
        if line.startswith("blocked_clients:"):
            return int(line.split(":")[1])
    return -1


def wait_blocked(ctl, n):
    wait_until(lambda: blocked_clients(ctl) == n, 10, "blocked_clients == %d" % n)


def send(c, *args):
    c.send(harness.encode(*args))


def blocking_scenario(srv):
    """The transcript of what the clients get; run on both servers and compared."""
    out = []
    ctl, a, b = srv.conn(), srv.conn(), srv.conn()
    ctl.cmd("FLUSHALL")
    # woken by ZADD from another client, FIFO: the first blocked is served first
    send(a, "BZPOPMIN", "k", "0")
    wait_blocked(ctl, 1)
    send(b, "BZPOPMIN", "k", "k2", "0")
    wait_blocked(ctl, 2)
    out += [ctl.cmd("ZADD", "k", "1", "x"), a.reply()]
    wait_blocked(ctl, 1)
    out += [ctl.cmd("ZADD", "k", "2", "y", "3", "z"), b.reply(), ctl.cmd("ZRANGE", "k", "0", "-1")]
    # BZPOPMAX and BZMPOP with COUNT
    send(a, "BZPOPMAX", "m", "0")
    wait_blocked(ctl, 1)
    send(b, "BZMPOP", "0", "2", "m0", "m", "MIN", "COUNT", "5")
    wait_blocked(ctl, 2)
    out += [ctl.cmd("ZADD", "m", "1", "a", "2", "b", "3", "c", "4", "d"), a.reply(), b.reply(), ctl.cmd("EXISTS", "m")]
    # a push inside MULTI serves blocked clients after the whole transaction
    send(a, "BZPOPMIN", "t", "0")
    wait_blocked(ctl, 1)
    out += [ctl.cmd("MULTI"), ctl.cmd("ZADD", "t", "1", "x"), ctl.cmd("ZREM", "t", "x"), ctl.cmd("ZADD", "t", "5", "y"),
            ctl.cmd("EXEC"), a.reply()]
    # a key that becomes a string or is deleted wakes nobody wrongly
    send(a, "BZPOPMIN", "s", "0")
    wait_blocked(ctl, 1)
    out += [ctl.cmd("SET", "s", "x"), ctl.cmd("DEL", "s"), ctl.cmd("ZADD", "s", "1", "a"), ctl.cmd("ZREM", "s", "a")]
    out.append(blocked_clients(ctl))
    out += [ctl.cmd("ZADD", "s", "7", "q"), a.reply()]
    # a blocking pop inside MULTI does not block
    out += [ctl.cmd("MULTI"), ctl.cmd("BZPOPMIN", "nokey", "0"), ctl.cmd("BZMPOP", "0", "1", "nokey", "MIN"),
            ctl.cmd("BZPOPMAX", "nokey", "1.5"), ctl.cmd("EXEC")]
    # timeouts (doubles)
    t0 = time.monotonic()
    out.append(ctl.cmd("BZPOPMIN", "nokey", "0.2"))
    out.append(time.monotonic() - t0 >= 0.15)
    out.append(ctl.cmd("BZMPOP", "0.05", "1", "nokey", "MAX"))
    # a client that disconnects while blocked leaves nothing behind
    d = srv.conn()
    send(d, "BZPOPMIN", "q", "0")
    wait_blocked(ctl, 1)
    d.close()
    wait_blocked(ctl, 0)
    out += [ctl.cmd("ZADD", "q", "1", "a"), ctl.cmd("ZCARD", "q")]
    # killed while blocked
    e = srv.conn()
    eid = e.call("CLIENT", "ID")
    send(e, "BZPOPMIN", "q2", "0")
    wait_blocked(ctl, 1)
    out.append(ctl.cmd("CLIENT", "KILL", "ID", str(eid)))
    e.close()
    wait_blocked(ctl, 0)
    out += [ctl.cmd("ZADD", "q2", "1", "a"), ctl.cmd("ZCARD", "q2")]
    # RESP3 shapes
    ctl.cmd("HELLO", "3")
    send(a, "HELLO", "3")
    a.reply()
    send(a, "BZPOPMIN", "r3", "0")
    wait_blocked(ctl, 1)
    out += [ctl.cmd("ZADD", "r3", "1.5", "a"), a.reply(), ctl.cmd("BZPOPMIN", "nokey", "0.01")]
    for c in (ctl, a, b):
        c.close()
    return out


def test_blocking_against_redis(server, oracle):
    got, want = blocking_scenario(server), blocking_scenario(oracle)
    for i, (g, w) in enumerate(zip(got, want)):
        eq(g, w, "blocking transcript item %d" % i)
    eq(len(got), len(want), "transcript length")


def test_blocking_fifo_many(server):
    ctl = server.conn()
    ctl.cmd("FLUSHALL")
    clients = [server.conn() for _ in range(5)]
    for i, c in enumerate(clients):
        send(c, "BZPOPMIN", "f", "0")
        wait_blocked(ctl, i + 1)
    ctl.cmd("ZADD", "f", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")
    got = [c.reply() for c in clients]
    eq(got, [b"*3\r\n$1\r\nf\r\n$1\r\n%s\r\n$1\r\n%d\r\n" % (m, i + 1) for i, m in enumerate([b"a", b"b", b"c", b"d", b"e"])],
       "served in blocking order, same turn")
    eq(ctl.call("EXISTS", "f"), 0, "all popped")
    for c in clients:
        c.close()
    ctl.close()


# ---------------------------------------------------------------- redis-py

def test_redis_py(server):
    try:
        import redis
    except ImportError:
        pytest.skip("needs python3-redis")
    r = redis.Redis(port=server.port, decode_responses=True)
    r.flushall()
    eq(r.zadd("lb", {"alice": 10, "bob": 20.5, "carol": 15}), 3, "zadd")
    eq(r.zrange("lb", 0, -1, withscores=True), [("alice", 10.0), ("carol", 15.0), ("bob", 20.5)], "zrange")
    eq(r.zrevrange("lb", 0, 0), ["bob"], "zrevrange")
    eq(r.zincrby("lb", 5, "alice"), 15.0, "zincrby")
    eq(r.zrangebyscore("lb", "(15", "+inf"), ["bob"], "zrangebyscore")
    eq(r.zscore("lb", "bob"), 20.5, "zscore")
    eq(r.zrank("lb", "bob"), 2, "zrank")
    eq(r.zcount("lb", 15, 15), 2, "zcount")
    eq(r.zadd("lb", {"dave": 1}, nx=True), 1, "zadd nx")
    eq(r.zpopmin("lb"), [("dave", 1.0)], "zpopmin")
    eq(r.bzpopmin("lb", timeout=1), ("lb", "alice", 15.0), "bzpopmin")
    eq(r.bzpopmin("nothere", timeout=0.1), None, "bzpopmin timeout")
    p = r.pipeline(transaction=False)
    p.zadd("tasks", {"t1": 100, "t2": 50})
    p.zrangebyscore("tasks", 0, 75)
    p.zremrangebyscore("tasks", 0, 75)
    p.zcard("tasks")
    eq(p.execute(), [2, ["t2"], 1, 1], "pipeline")
    with r.pipeline() as tx:
        tx.zadd("ac", {"apple": 0, "apricot": 0, "banana": 0})
        tx.zrangebylex("ac", "[ap", "[ap\xff")
        tx.zinterstore("both", ["ac", "tasks"])
        eq(tx.execute(), [3, ["apple", "apricot"], 0], "transaction")
    eq(r.zunionstore("u", {"ac": 1, "tasks": 2}), 4, "zunionstore weights")
    eq(r.zrange("u", 0, -1, withscores=True)[-1], ("t1", 200.0), "weighted score")
    eq(r.sort("u", alpha=True, desc=True, start=0, num=2), ["t1", "banana"], "sort")
    r3 = redis.Redis(port=server.port, protocol=3, decode_responses=True) if "protocol" in \
        redis.Redis.__init__.__code__.co_varnames else None
    if r3 is not None:
        eq(r3.zscore("u", "t1"), 200.0, "RESP3 zscore")


def watch_transcript(srv):
    a, b = srv.conn(), srv.conn()
    a.cmd("FLUSHALL")
    a.cmd("ZADD", "w", "1", "x")
    out = []
    for change in [("ZADD", "w", "2", "y"), ("ZADD", "w", "1", "x"), ("ZINCRBY", "w", "0", "x"), ("ZREM", "w", "nope"),
                   ("ZADD", "w", "GT", "0", "x"), ("ZADD", "w", "XX", "5", "nope"), ("ZREMRANGEBYRANK", "w", "5", "6"),
                   ("ZPOPMIN", "w", "0"), ("ZADD", "w", "INCR", "0", "x"), ("ZRANGESTORE", "w2", "nokey", "0", "-1"),
                   ("ZINTERSTORE", "w2", "1", "w"), ("ZRANGESTORE", "w2", "nokey", "0", "-1"),
                   ("ZREM", "w", "x"), ("ZPOPMIN", "w")]:
        a.cmd("WATCH", "w", "w2")
        b.cmd(*change)
        a.cmd("MULTI")
        a.cmd("PING")
        out.append((change, a.cmd("EXEC")))
    a.close()
    b.close()
    return out


def test_watch(server, oracle):
    for got, want in zip(watch_transcript(server), watch_transcript(oracle)):
        eq(got, want, "EXEC after a change")


def test_memory_usage(server):
    c = server.conn()
    c.call("FLUSHALL")
    c.call("ZADD", "m", "1", "a")
    small = c.call("MEMORY", "USAGE", "m")
    args = ["ZADD", "m"]
    for i in range(500):
        args += [str(i), "member-%d" % i]
    c.call(*args)
    big = c.call("MEMORY", "USAGE", "m")
    assert small > 0 and big > small * 10, (small, big)
    eq(c.call("OBJECT", "ENCODING", "m"), b"skiplist", "encoding")
    c.close()

