"""test_geo.py: the GEO commands (GEOADD, GEODIST, GEOHASH, GEOPOS, GEORADIUS,
GEORADIUSBYMEMBER and their _RO forms, GEOSEARCH, GEOSEARCHSTORE) differentially against
Redis 7.0: every reply byte for byte in RESP2 and RESP3, the stored geo sets read back
through the sorted-set commands (scores are Redis's 52-bit geohashes), error texts and
their order, the Mercator limits, the poles and the antimeridian, radius 0 and radii
wider than the Earth, every unit, COUNT [ANY], ASC/DESC, STORE/STOREDIST (an empty
result deletes the destination), WRONGTYPE and missing keys; then seeded random
sequences of points anywhere valid and searches around them.

Equal distances come out in Redis's order: a sequence of tie-heavy sets (many members
on a few positions) checks both of Redis's sorts (libc's qsort for a whole result, its
partial quicksort for a COUNT prefix).
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import diff_case, diff_random  # noqa: E402

CASES = []


def case(name, steps):
    CASES.append((name, steps))


SICILY = "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 12.758489 38.788135 edge1 " \
         "17.241510 38.788135 edge2"

case("basics", [
    SICILY, "ZRANGE Sicily 0 -1 WITHSCORES", "TYPE Sicily", "OBJECT ENCODING Sicily", "DUMP Sicily",
    "GEOPOS Sicily Palermo Catania NonExisting", "GEOPOS Sicily", "GEODIST Sicily Palermo Catania",
    "GEODIST Sicily Palermo Catania m", "GEODIST Sicily Palermo Catania km", "GEODIST Sicily Palermo Catania MI",
    "GEODIST Sicily Palermo Catania ft", "GEODIST Sicily Palermo nope", "GEODIST Sicily Palermo Palermo",
    "GEOHASH Sicily Palermo Catania edge1 nope", "GEOHASH Sicily",
    "GEORADIUS Sicily 15 37 200 km", "GEORADIUS Sicily 15 37 200 km WITHDIST", "GEORADIUS Sicily 15 37 200 km WITHCOORD",
    "GEORADIUS Sicily 15 37 200 km WITHHASH", "GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH ASC",
    "GEORADIUS Sicily 15 37 200 km WITHDIST DESC", "GEORADIUS Sicily 15 37 200 km COUNT 1",
    "GEORADIUS Sicily 15 37 200 km COUNT 1 DESC", "GEORADIUS Sicily 15 37 200 km COUNT 1 ANY",
    "GEORADIUS Sicily 15 37 200 km COUNT 3 ANY ASC", "GEORADIUS Sicily 15 37 200 km count 10 withdist",
    "GEORADIUS_RO Sicily 15 37 200 km WITHDIST ASC", "GEORADIUSBYMEMBER Sicily Palermo 200 km WITHDIST",
    "GEORADIUSBYMEMBER_RO Sicily Palermo 200 km WITHCOORD DESC", "GEORADIUSBYMEMBER Sicily Palermo 0 km",
    "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC", "GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 200 km",
    "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHCOORD WITHDIST",
    "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km DESC WITHHASH COUNT 2",
    "GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 10 10 mi", "GEOSEARCH Sicily BYBOX 400 400 km FROMLONLAT 15 37",
    "GEOSEARCH Sicily FROMMEMBER Palermo FROMMEMBER Catania BYRADIUS 100 km",
    "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC COUNT 3", "ZRANGE dst 0 -1 WITHSCORES",
    "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km STOREDIST", "ZRANGE dst 0 -1 WITHSCORES",
    "GEOPOS dst Palermo", "OBJECT ENCODING dst",
])
case("geoadd_options", [
    "GEOADD g 1 1 a 2 2 b", "GEOADD g 1 1 a", "GEOADD g CH 1 1 a 3 3 b", "GEOADD g NX 5 5 a 4 4 c",
    "GEOADD g XX 6 6 a 7 7 d", "GEOADD g XX CH 6 6 a 8 8 b", "GEOADD g CH XX 9 9 b", "GEOADD g nx ch 10 10 e",
    "GEOADD g NX XX 1 1 a", "GEOADD g XX NX CH 1 1 a", "GEOADD g CH CH CH", "GEOADD g CH 1 1", "GEOADD g 1 1 a 2",
    "GEOADD g GT 1 1 a", "GEOADD g INCR 1 1 a", "GEOADD nokey XX 1 1 a", "EXISTS nokey", "ZRANGE g 0 -1 WITHSCORES",
    "GEOADD g 1 1 a 2 2 a", "GEOPOS g a", "GEOADD g 1 1 ''", "GEOPOS g ''", ("GEOADD", "g", 1, 1, b"bin\x00\r\nm"),
    ("GEOPOS", "g", b"bin\x00\r\nm"), "GEOADD g 1 1 x 200 0 y", "GEOPOS g x", "GEOADD g 1 abc x", "GEOADD g nan 1 x",
    "GEOADD g 1 inf x", "GEOADD g ' 1' 1 x", "GEOADD g 1e1 1e-1 sci", "GEOPOS g sci", "GEOADD g 0x10 1 hex",
    "GEOADD", "GEOADD g", "GEOADD g 1 1", "ZCARD g",
])
case("limits", [
    "GEOADD w 180 85.05112878 ne -180 -85.05112878 sw 180 -85.05112878 se -180 85.05112878 nw 0 0 o",
    "GEOADD w 180.0000001 0 x", "GEOADD w -180.0000001 0 x", "GEOADD w 0 85.05112879 x", "GEOADD w 0 -85.05112879 x",
    "GEOADD w 0 90 x", "GEOADD w 0 -90 x", "GEOADD w 1e300 0 x", "GEOADD w 0 -1e-300 tiny",
    "ZRANGE w 0 -1 WITHSCORES", "GEOPOS w ne sw se nw o tiny", "GEOHASH w ne sw se nw o tiny",
    "GEODIST w ne sw", "GEODIST w ne nw km", "GEODIST w se sw mi", "GEODIST w o ne ft",
    "GEOADD w 179.999 10 east -179.999 10 west 179.5 -10 east2 -179.5 -10 west2",
    "GEORADIUS w 180 10 500 km WITHDIST ASC", "GEORADIUS w -180 10 500 km WITHDIST ASC",
    "GEORADIUS w 179.9999 10 1 km WITHDIST", "GEOSEARCH w FROMLONLAT 180 0 BYBOX 4000 4000 km WITHDIST ASC",
    "GEOSEARCH w FROMLONLAT -180 0 BYBOX 4000 4000 km WITHDIST DESC",
    "GEORADIUS w 0 85.05112878 1000 km WITHDIST ASC", "GEORADIUS w 0 -85.05112878 30000 km WITHDIST ASC",
    "GEORADIUS w 0 0 0 m", "GEORADIUS w 0 0 0 km WITHDIST", "GEORADIUSBYMEMBER w o 0 m WITHDIST",
    "GEORADIUS w 0 0 20000 km WITHDIST ASC", "GEORADIUS w 0 0 1e10 m WITHDIST DESC", "GEORADIUS w 0 0 inf m",
    "GEORADIUS w 0 0 1e308 km", "GEOSEARCH w FROMLONLAT 0 0 BYBOX 1e10 1e10 m ASC",
    "GEOSEARCH w FROMLONLAT 0 0 BYBOX 0 0 m WITHDIST", "GEOSEARCH w FROMMEMBER o BYBOX 0 1e10 m ASC",
    "GEOSEARCH w FROMMEMBER ne BYBOX 1e7 100 m ASC WITHDIST",
    "GEORADIUS w 80 80 5000 km WITHDIST ASC", "GEORADIUS w -80 -70 5000 km WITHDIST ASC",
    "GEORADIUS w 10 67 10000 km ASC", "GEORADIUS w 10 81 10000 km ASC",
])
case("units", [
    SICILY, "GEORADIUS Sicily 15 37 200000 m WITHDIST ASC", "GEORADIUS Sicily 15 37 124.3 mi WITHDIST ASC",
    "GEORADIUS Sicily 15 37 656168 ft WITHDIST ASC", "GEORADIUS Sicily 15 37 200 KM WITHDIST ASC",
    "GEORADIUS Sicily 15 37 200 Mi WITHDIST", "GEORADIUS Sicily 15 37 200 yd", "GEORADIUS Sicily 15 37 200 ''",
    "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 300 300 mi WITHDIST ASC",
    "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1e6 1e6 ft WITHDIST ASC", "GEODIST Sicily Palermo Catania KM",
    "GEODIST Sicily Palermo Catania yd", "GEODIST Sicily Palermo Catania km extra", "GEODIST nokey a b yd",
    "GEORADIUSBYMEMBER Sicily Palermo 100 mi STOREDIST sd", "ZRANGE sd 0 -1 WITHSCORES",
    "GEORADIUSBYMEMBER Sicily Palermo 100 ft STOREDIST sd", "EXISTS sd",
])
case("store", [
    SICILY, "SET sd x", "EXPIRE sd 1000", "GEORADIUS Sicily 15 37 200 km STORE sd", "TTL sd", "TYPE sd",
    "ZRANGE sd 0 -1 WITHSCORES", "GEORADIUS Sicily 15 37 200 km STOREDIST sd DESC COUNT 1", "ZRANGE sd 0 -1 WITHSCORES",
    "GEORADIUS Sicily 15 37 200 km STORE sd STOREDIST sd2", "EXISTS sd sd2", "ZRANGE sd2 0 -1 WITHSCORES",
    "GEORADIUS Sicily 15 37 200 km STOREDIST sd STORE sd3", "EXISTS sd3", "ZRANGE sd3 0 -1 WITHSCORES",
    "GEORADIUS Sicily 0 0 1 km STORE sd3", "EXISTS sd3", "GEORADIUS Sicily 0 0 1 km STORE sd3",
    "GEORADIUS nokey 0 0 1 km STORE sd2", "EXISTS sd2", "GEORADIUSBYMEMBER nokey x 1 km STORE sd", "EXISTS sd",
    "GEORADIUS Sicily 15 37 200 km STORE sd WITHDIST", "GEORADIUS Sicily 15 37 200 km WITHHASH STOREDIST sd",
    "GEORADIUS Sicily 15 37 200 km WITHCOORD STORE sd", "GEORADIUS Sicily 15 37 200 km STORE",
    "GEORADIUS_RO Sicily 15 37 200 km STORE sd", "GEORADIUSBYMEMBER_RO Sicily Palermo 200 km STOREDIST sd",
    "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE sd", "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST",
    "GEOSEARCHSTORE sd Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE x",
    "GEOSEARCHSTORE sd Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST",
    "GEOSEARCHSTORE sd Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHCOORD STOREDIST",
    "GEOSEARCHSTORE Sicily Sicily FROMMEMBER Palermo BYRADIUS 100 km", "ZRANGE Sicily 0 -1 WITHSCORES",
    "GEOSEARCHSTORE sd Sicily FROMLONLAT 0 0 BYRADIUS 1 m", "GEOSEARCHSTORE sd nokey FROMLONLAT 0 0 BYRADIUS 1 m",
    "GEOSEARCHSTORE sd nokey FROMMEMBER x BYRADIUS 1 m STOREDIST", "EXISTS sd",
])
case("search_errors", [
    SICILY, "GEORADIUS Sicily 15 37 200 km COUNT 0", "GEORADIUS Sicily 15 37 200 km COUNT -1",
    "GEORADIUS Sicily 15 37 200 km COUNT x", "GEORADIUS Sicily 15 37 200 km COUNT", "GEORADIUS Sicily 15 37 200 km ANY",
    "GEORADIUS Sicily 15 37 200 km ANY ASC", "GEORADIUS nokey 15 37 200 km ANY", "GEORADIUS Sicily 15 37 -1 km",
    "GEORADIUS Sicily 15 37 x km", "GEORADIUS Sicily 15 37 nan km", "GEORADIUS Sicily 200 37 1 km",
    "GEORADIUS Sicily x 37 1 km", "GEORADIUS Sicily 15 y 1 km", "GEORADIUS Sicily 15 37 1 km WITHFOO",
    "GEORADIUS Sicily 15 37 1 km BYBOX 1 1 km", "GEORADIUS Sicily 15 37 1 km FROMMEMBER Palermo",
    "GEORADIUS Sicily 15 37 1", "GEORADIUSBYMEMBER Sicily nope 1 km", "GEORADIUSBYMEMBER Sicily Palermo -1 km",
    "GEORADIUSBYMEMBER Sicily Palermo 1 yd", "GEORADIUSBYMEMBER nokey nope -1 yd", "GEORADIUSBYMEMBER nokey nope 1 km ANY",
    "GEORADIUSBYMEMBER nokey nope 1 km COUNT 0", "GEORADIUSBYMEMBER nokey nope 1 km WITHDIST",
    "GEOSEARCH Sicily BYRADIUS 1 km", "GEOSEARCH Sicily FROMLONLAT 15 37", "geosearch Sicily fromlonlat 15 37",
    "GeoSearch Sicily byradius 1 km", "GEOSEARCHSTORE d Sicily FROMLONLAT 15 37", "GEOSEARCHSTORE d Sicily BYBOX 1 1 km",
    "GEOSEARCH Sicily FROMMEMBER Palermo FROMLONLAT 15 37 BYRADIUS 1 km",
    "GEOSEARCH Sicily FROMLONLAT 15 37 FROMMEMBER Palermo BYRADIUS 1 km",
    "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km BYBOX 1 1 km", "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 km BYRADIUS 1 km",
    "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km BYRADIUS 2 km", "GEOSEARCH Sicily FROMMEMBER nope BYRADIUS 1 km",
    "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX -1 1 km", "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 -1 km",
    "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX x 1 km", "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 y km",
    "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 yd", "GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1",
    "GEOSEARCH Sicily FROMLONLAT 15 BYBOX 1 1 km", "GEOSEARCH Sicily FROMLONLAT 15 137 BYBOX 1 1 km",
    "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS -5 km", "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 5 km COUNT 0",
    "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 5 km ANY", "GEOSEARCH nokey FROMMEMBER x BYRADIUS 5 km",
    "GEOSEARCH nokey FROMMEMBER x", "GEOSEARCH nokey FROMLONLAT 500 0 BYRADIUS 5 km", "GEOSEARCH nokey BYRADIUS 5 km",
    "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 5 km STOREDIST", "GEORADIUS", "GEORADIUS Sicily 15 37 200",
    "GEORADIUSBYMEMBER Sicily Palermo 200", "GEOSEARCH Sicily", "GEOSEARCHSTORE d Sicily", "GEOPOS", "GEOHASH",
    "GEODIST Sicily a", "GEORADIUS_RO Sicily 15 37 200 km STOREDIST", "GEORADIUS Sicily 15 37 200 km ASC DESC",
    "GEORADIUS Sicily 15 37 200 km COUNT 1 COUNT 2", "GEORADIUS Sicily 15 37 200 km COUNT 99999999999999999999",
])
case("wrongtype_and_missing", [
    "SET s v", "GEOADD s 1 1 a", "GEOADD s 500 1 a", "GEOPOS s a", "GEODIST s a b", "GEODIST s a b yd",
    "GEOHASH s a", "GEORADIUS s 1 1 1 km", "GEORADIUS s 500 1 1 km", "GEORADIUSBYMEMBER s a 1 km",
    "GEORADIUS_RO s 1 1 1 km", "GEORADIUSBYMEMBER_RO s a -1 km", "GEOSEARCH s FROMLONLAT 1 1 BYRADIUS 1 km",
    "GEOSEARCHSTORE d s FROMLONLAT 1 1 BYRADIUS 1 km", "GEOSEARCH s FROMMEMBER a BYBOX 1 1 km",
    "RPUSH l a", "GEOADD l 1 1 a", "GEOSEARCH l FOO", "HSET h f v", "GEOPOS h f",
    "GEOADD g 1 1 a", "GEORADIUS g 1 1 1 km STORE s", "TYPE s", "GEOSEARCHSTORE l g FROMLONLAT 1 1 BYRADIUS 1 km",
    "TYPE l", "GEOPOS nokey a b", "GEOPOS nokey", "GEODIST nokey a b", "GEODIST nokey a b km", "GEOHASH nokey a b",
    "GEORADIUS nokey 0 0 1 km WITHDIST", "GEORADIUSBYMEMBER nokey a 1 km", "GEOSEARCH nokey FROMLONLAT 0 0 BYRADIUS 1 km",
    "GEOSEARCH nokey FROMMEMBER a BYBOX 1 1 km WITHDIST",
    "ZADD z 1 a -5 neg 1e30 big inf infi -inf ninf 4503599627370496 at52 -1e30 nbig 9223372036854775808 two63 "
    "18446744073709551616 two64 -9223372036854775808 ntwo63 1.8446744073709550e19 below64",
    "GEOPOS z a neg big infi ninf at52 nbig two63 two64 ntwo63 below64",
    "GEOHASH z a neg big infi ninf at52 nbig two63 two64 ntwo63 below64",
    "GEODIST z a neg", "GEORADIUS z 0 0 20000 km WITHHASH", "ZADD z 0.5 frac", "GEOPOS z frac",
])


def big_set():
    steps = []
    for block in range(3):
        args = ["GEOADD", "big"]
        for i in range(100):
            n = block * 100 + i
            args += ["%.6f" % (-179.5 + (n * 7.31) % 359), "%.6f" % (-84 + (n * 3.77) % 168), "m%d" % n]
        steps.append(tuple(args))
    return steps


case("encodings", [
    "GEOADD e 1 1 a", "OBJECT ENCODING e", ("GEOADD", "e", 2, 2, "x" * 65), "OBJECT ENCODING e",
    ("GEOADD", "n", 2, 2, "x" * 65), "OBJECT ENCODING n", "CONFIG SET zset-max-listpack-entries 3",
    "GEOADD f 1 1 a 2 2 b 3 3 c", "OBJECT ENCODING f", "GEOADD f 4 4 d", "OBJECT ENCODING f",
    "GEOADD f2 1 1 a 2 2 b 3 3 c 4 4 d", "OBJECT ENCODING f2", "GEOSEARCHSTORE s f FROMLONLAT 1 1 BYRADIUS 200 km",
    "OBJECT ENCODING s", "GEOSEARCHSTORE s f FROMLONLAT 1 1 BYRADIUS 2000 km", "OBJECT ENCODING s", "DUMP s",
    ("GEORADIUS", "e", 1, 1, 500, "km", "STORE", "s2"), "OBJECT ENCODING s2", "DUMP s2",
    "CONFIG SET zset-max-listpack-entries 128",
])
case("skiplist", big_set() + [
    "OBJECT ENCODING big", "ZCARD big", "GEORADIUS big 0 0 3000 km WITHDIST ASC", "GEORADIUS big 10 10 5000 km COUNT 7",
    "GEORADIUS big 10 10 5000 km COUNT 7 DESC WITHCOORD", "GEORADIUS big 10 10 5000 km COUNT 7 ANY",
    "GEOSEARCH big FROMMEMBER m5 BYBOX 6000 2000 km ASC WITHHASH",
    "GEOSEARCHSTORE bs big FROMMEMBER m5 BYBOX 6000 2000 km", "OBJECT ENCODING bs", "ZRANGE bs 0 -1 WITHSCORES",
    "GEOSEARCHSTORE bs big FROMMEMBER m5 BYRADIUS 20000 km STOREDIST", "OBJECT ENCODING bs", "ZCARD bs",
    "ZRANGE bs 0 4 WITHSCORES", "GEORADIUS big 0 0 50000 km COUNT 300 ASC", "DUMP big",
])


@pytest.mark.parametrize("steps", [s for _, s in CASES], ids=[n for n, _ in CASES])
def test_case(server, oracle, steps):
    diff_case(server, oracle, steps)


@pytest.mark.parametrize("steps", [s for n, s in CASES if n in ("basics", "limits", "store", "wrongtype_and_missing")],
                         ids=["basics", "limits", "store", "wrongtype_and_missing"])
def test_case_resp3(server, oracle, steps):
    diff_case(server, oracle, steps, resp3=True)


# ---------------------------------------------------------------- seeded random sequences

UNITS = ("m", "km", "mi", "ft")
UNIT_M = {"m": 1, "km": 1000, "mi": 1609.34, "ft": 0.3048}


def num(rng, v):
    """v as text in one of the forms a client might send."""
    return rng.choice(("%.6f" % v, "%.3f" % v, repr(v), "%.12g" % v))


def make_gen():
    """A generator of random steps whose points cluster around a centre that moves now
    and then (so that searches find something), anywhere on the valid plane."""
    state = {}
    return lambda rng: gen(rng, state)


def gen(rng, state):
    keys = ("g1", "g2")
    key = rng.choice(keys)
    members = ["p%d" % i for i in range(60)]
    centre = state.get("centre")
    if centre is None or rng.random() < 0.01:
        state["centre"] = centre = (rng.uniform(-180, 180), rng.uniform(-85.05, 85.05))

    def point():
        if rng.random() < 0.85:
            spread = rng.choice((0.01, 0.2, 2, 20))
            lon = max(-180.0, min(180.0, centre[0] + rng.uniform(-spread, spread)))
            lat = max(-85.05112878, min(85.05112878, centre[1] + rng.uniform(-spread, spread)))
            return lon, lat
        return rng.uniform(-180, 180), rng.uniform(-85.05112878, 85.05112878)

    def options(store_ok):
        groups = []
        for w in ("WITHDIST", "WITHCOORD", "WITHHASH"):
            if not store_ok and rng.random() < 0.5:
                groups.append([w])
        r = rng.random()
        if r < 0.3:
            groups.append(["ASC"])
        elif r < 0.5:
            groups.append(["DESC"])
        if rng.random() < 0.4:
            groups.append(["COUNT", str(rng.randint(1, 12))])
            if rng.random() < 0.3:
                groups.append(["ANY"])
        rng.shuffle(groups)
        return [w for g in groups for w in g]

    def member():
        added = state.setdefault("added", [])
        return rng.choice(added) if added and rng.random() < 0.85 else rng.choice(members)

    def radius():
        unit = rng.choice(UNITS)
        metres = 0 if rng.random() < 0.05 else 10 ** rng.uniform(3, 7.3)
        return [num(rng, metres / UNIT_M[unit]), unit]

    r = rng.random()
    if r < 0.3:
        args = ["GEOADD", key] + rng.choice(([], [], ["NX"], ["XX"], ["CH"], ["XX", "CH"]))
        for _ in range(rng.randint(1, 5)):
            lon, lat = point()
            m = rng.choice(members)
            state.setdefault("added", []).append(m)
            args += [num(rng, lon), num(rng, lat), m]
        return [tuple(args)]
    if r < 0.4:
        m = [member() for _ in range(rng.randint(1, 4))]
        return [tuple(["GEOPOS", key] + m), tuple(["GEOHASH", key] + m),
                ("GEODIST", key, m[0], member(), rng.choice(UNITS))]
    if r < 0.55:
        lon, lat = point()
        cmd = rng.choice(("GEORADIUS", "GEORADIUS_RO"))
        return [tuple([cmd, key, num(rng, lon), num(rng, lat)] + radius() + options(False))]
    if r < 0.65:
        cmd = rng.choice(("GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO"))
        return [tuple([cmd, key, member()] + radius() + options(False))]
    if r < 0.85:
        if rng.random() < 0.5:
            lon, lat = point()
            frm = ["FROMLONLAT", num(rng, lon), num(rng, lat)]
        else:
            frm = ["FROMMEMBER", member()]
        if rng.random() < 0.5:
            by = ["BYRADIUS"] + radius()
        else:
            unit = rng.choice(UNITS)
            by = ["BYBOX", num(rng, 10 ** rng.uniform(1, 7.3) / UNIT_M[unit]),
                  num(rng, 10 ** rng.uniform(1, 7.3) / UNIT_M[unit]), unit]
        if rng.random() < 0.3:
            st = ["STOREDIST"] if rng.random() < 0.5 else []
            return [tuple(["GEOSEARCHSTORE", "dst", key] + frm + by + options(True) + st),
                    ("ZRANGE", "dst", 0, -1, "WITHSCORES")]
        return [tuple(["GEOSEARCH", key] + frm + by + options(False))]
    if r < 0.95:
        lon, lat = point()
        st = [rng.choice(("STORE", "STOREDIST")), "dst"]
        return [tuple(["GEORADIUS", key, num(rng, lon), num(rng, lat)] + radius() + options(True) + st),
                ("ZRANGE", "dst", 0, -1, "WITHSCORES"), ("OBJECT", "ENCODING", "dst")]
    return [("ZREM", key, member()), ("ZRANGE", key, 0, -1, "WITHSCORES")]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random(server, oracle, seed):
    diff_random(server, oracle, seed, 800, make_gen())


@pytest.mark.parametrize("seed", [11, 12])
def test_random_resp3(server, oracle, seed):
    diff_random(server, oracle, seed, 500, make_gen(), resp3=True)


def gen_ties(rng):
    """A set of many members on a few positions, then searches with COUNT of every size."""
    n = rng.choice((5, 8, 30, 45, 100, 200))
    spots = [(rng.uniform(-1, 1), rng.uniform(-1, 1)) for _ in range(rng.randint(1, 6))]
    args = ["GEOADD", "t"]
    for i in range(n):
        lon, lat = rng.choice(spots)
        args += ["%.6f" % lon, "%.6f" % lat, "m%d" % i]
    steps = ["DEL t", tuple(args)]
    for _ in range(6):
        order = rng.choice(("ASC", "DESC", ""))
        count = ["COUNT", str(rng.randint(1, n + 2))] if rng.random() < 0.8 else []
        lon, lat = rng.choice(spots)
        steps.append(tuple(w for w in ["GEORADIUS", "t", "%.6f" % (lon + 0.01), "%.6f" % lat, "500", "km", order,
                                        "WITHDIST"] + count if w))
        steps.append(tuple(w for w in ["GEOSEARCH", "t", "FROMMEMBER", "m0", "BYBOX", "400", "400", "km", order]
                           + count if w))
    return steps


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_random_ties(server, oracle, seed):
    diff_random(server, oracle, seed, 400, gen_ties)
