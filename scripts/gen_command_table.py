#!/usr/bin/python3
"""gen_command_table.py: write server/command_table.c, the metadata of every Redis command.

Asks a redis-server (7.0, the oracle) for COMMAND INFO and COMMAND DOCS over RESP3 and
emits them as static C data: arity, flags, legacy key range, ACL categories, tips, key
specs, and the documentation (summary, since, group, complexity, doc flags, deprecation,
history, and the argument tree). respite binds handlers to names in code; commands_init
joins each binding with its entry here. Every Redis command is emitted, so binding a new
command needs only its binding line; COMMAND shows only what respite binds.

Usage: scripts/gen_command_table.py [--port PORT] [--out server/command_table.c]
Without --port, /usr/bin/redis-server is started on a free port and stopped afterwards.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Names in the order Redis replies with them; the generator checks each reply keeps it.
CMD_FLAGS = ["write", "readonly", "denyoom", "admin", "pubsub", "noscript", "blocking", "loading", "stale",
             "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth", "no_mandatory_keys", "no_async_loading",
             "no_multi", "movablekeys", "allow_busy"]
ACL_CATS = ["keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog",
            "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection",
            "transaction", "scripting"]
KS_FLAGS = ["RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key", "incomplete",
            "variable_flags"]
ARG_TYPES = ["string", "integer", "double", "key", "pattern", "unix-time", "pure-token", "oneof", "block"]
ARG_FLAGS = ["optional", "multiple", "multiple_token"]
DOC_FLAGS = ["deprecated", "syscmd"]


class Resp3:
    """A minimal RESP3 client that keeps each reply's type (map, set, simple...)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.sock.makefile("rb")

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self.read()

    def read(self):
        line = self.f.readline()[:-2]
        t, rest = chr(line[0]), line[1:]
        if t in "+-":
            return ("simple" if t == "+" else "error", rest.decode())
        if t == ":":
            return ("int", int(rest))
        if t == "$":
            return ("bulk", self.f.read(int(rest) + 2)[:-2].decode())
        if t == "_":
            return ("null", None)
        if t in "*~":
            return ("array" if t == "*" else "set", [self.read() for _ in range(int(rest))])
        if t == "%":
            return ("map", [(self.read(), self.read()) for _ in range(int(rest))])
        raise ValueError("unexpected RESP type %r" % t)


def as_map(reply):
    assert reply[0] == "map", reply
    return [(k[1], v) for k, v in reply[1]]


def ordered_subset(names, order, what):
    pos = [order.index(n) for n in names]  # ValueError: a name this script does not know
    assert pos == sorted(pos), "%s out of Redis's order: %r" % (what, names)
    return names


def c_str(s):
    if s is None:
        return "NULL"
    out = '"'
    for ch in s:
        if ch in '"\\':
            out += "\\" + ch
        elif ch == "\n":
            out += "\\n"
        elif ord(ch) < 32 or ord(ch) > 126:
            out += "\\x%02x" % ord(ch)
        else:
            out += ch
    return out + '"'


def ident(s):
    return "".join(ch if ch.isalnum() else "_" for ch in s)


def bits(names, prefix, mapping=None):
    if not names:
        return "0"
    return " | ".join(prefix + (mapping or {}).get(n, n.upper().replace("-", "_")) for n in names)


class Emitter:
    def __init__(self):
        self.out = []
        self.counter = 0

    def arg_array(self, base, args):
        """Emit the arrays for args (children first); return the C name of the array."""
        entries = []
        for a in args:
            m = dict(as_map(a))
            keys = [k for k, _ in as_map(a)]
            ordered_subset(keys, ["name", "type", "key_spec_index", "token", "since", "deprecated_since", "flags",
                                  "arguments"], "argument fields")
            sub, nsub = "NULL", 0
            if "arguments" in m:
                sub = self.arg_array(base, m["arguments"][1])
                nsub = len(m["arguments"][1])
            flags = [x[1] for x in m["flags"][1]] if "flags" in m else []
            ordered_subset(flags, ARG_FLAGS, "argument flags")
            typ = m["type"][1]
            assert typ in ARG_TYPES, typ
            fields = [".name = %s" % c_str(m["name"][1]),
                      ".type = ARG_TYPE_%s" % typ.upper().replace("-", "_")]
            if "key_spec_index" in m:
                fields.append(".key_spec = %d" % (m["key_spec_index"][1] + 1))
            for k in ("token", "since", "deprecated_since"):
                if k in m:
                    fields.append(".%s = %s" % (k, c_str(m[k][1])))
            if flags:
                fields.append(".flags = %s" % bits(flags, "ARG_FLAG_"))
            if nsub:
                fields.append(".subargs = %s, .nsubargs = %d" % (sub, nsub))
            entries.append("{" + ", ".join(fields) + "}")
        self.counter += 1
        name = "args_%s_%d" % (base, self.counter)
        self.out.append("static const command_arg %s[] = {\n    %s,\n};\n" % (name, ",\n    ".join(entries)))
        return name

    def key_specs(self, base, specs):
        entries = []
        for ks in specs:
            m = dict(as_map(ks))
            ordered_subset([k for k, _ in as_map(ks)], ["notes", "flags", "begin_search", "find_keys"],
                           "key spec fields")
            flags = ordered_subset([x[1] for x in m["flags"][1]], KS_FLAGS, "key spec flags")
            bs = dict(as_map(m["begin_search"]))
            bss = dict(as_map(bs["spec"]))
            fk = dict(as_map(m["find_keys"]))
            fks = dict(as_map(fk["spec"]))
            fields = []
            if "notes" in m:
                fields.append(".notes = %s" % c_str(m["notes"][1]))
            fields.append(".flags = %s" % bits(flags, "KS_FLAG_"))
            bst = bs["type"][1]
            fields.append(".bs_type = KSPEC_BS_%s" % bst.upper())
            if bst == "index":
                fields.append(".bs_index = %d" % bss["index"][1])
            elif bst == "keyword":
                fields.append(".bs_keyword = %s, .bs_startfrom = %d" % (c_str(bss["keyword"][1]),
                                                                          bss["startfrom"][1]))
            else:
                assert bst == "unknown" and not bss
            fkt = fk["type"][1]
            fields.append(".fk_type = KSPEC_FK_%s" % fkt.upper())
            if fkt == "range":
                assert list(fks) == ["lastkey", "keystep", "limit"]
            elif fkt == "keynum":
                assert list(fks) == ["keynumidx", "firstkey", "keystep"]
            else:
                assert fkt == "unknown" and not fks
            if fks:
                fields.append(".fk = {%s}" % ", ".join(str(v[1]) for v in fks.values()))
            entries.append("{" + ", ".join(fields) + "}")
        name = "keyspecs_%s" % base
        self.out.append("static const command_key_spec %s[] = {\n    %s,\n};\n" % (name, ",\n    ".join(entries)))
        return name

    def strings(self, name, items):
        self.out.append("static const char *const %s[] = {%s};\n" % (name, ", ".join(c_str(s) for s in items)))
        return name


def _map(*kv):
    return ("map", [(("bulk", k), v) for k, v in kv])


def _bulk(s):
    return ("bulk", s)


def _set(*items):
    return ("set", list(items))


# Commands respite has that this Redis lacks, as Redis 7.2 describes them, in the shape of
# the replies above. redis-py 5 sends CLIENT SETINFO on connect.
EXTRA = {
    "client|setinfo": [
        ("array", [_bulk("client|setinfo"), ("int", -4),
                   _set(("simple", "noscript"), ("simple", "loading"), ("simple", "stale")),
                   ("int", 0), ("int", 0), ("int", 0),
                   _set(("simple", "@slow"), ("simple", "@connection")), _set(), _set(), _set()]),
        _map(("summary", _bulk("Set client or connection specific info.")), ("since", _bulk("7.2.0")),
             ("group", _bulk("connection")), ("complexity", _bulk("O(1)")),
             ("arguments", ("array", [_map(("name", _bulk("attr")), ("type", _bulk("oneof")),
                                           ("arguments", ("array", [
                                               _map(("name", _bulk("libname")), ("type", _bulk("string")),
                                                    ("token", _bulk("LIB-NAME"))),
                                               _map(("name", _bulk("libver")), ("type", _bulk("string")),
                                                    ("token", _bulk("LIB-VER")))])))])))],
}


def collect(info, docs):
    """fullname -> (info reply, docs map), subcommands included."""
    table = {}

    def walk_info(e):
        assert e[0] == "array" and len(e[1]) == 10, e
        table.setdefault(e[1][0][1], [None, None])[0] = e
        for s in e[1][9][1]:
            walk_info(s)

    def walk_docs(name, d):
        table.setdefault(name, [None, None])[1] = d
        for k, v in as_map(d):
            if k == "subcommands":
                for sk, sv in v[1]:
                    walk_docs(sk[1], sv)

    for e in info[1]:
        walk_info(e)
    for k, v in docs[1]:
        walk_docs(k[1], v)
    for name, entry in EXTRA.items():
        table.setdefault(name, entry)
    for name, (i, d) in table.items():
        assert i is not None and d is not None, "%s lacks INFO or DOCS" % name
    return table


def generate(table, version):
    em = Emitter()
    metas = []
    for full in sorted(table):
        inf, doc = table[full]
        base = ident(full)
        v = inf[1]
        flags = ordered_subset([x[1] for x in v[2][1]], CMD_FLAGS, "%s flags" % full)
        acl = ordered_subset([x[1].lstrip("@") for x in v[6][1]], ACL_CATS, "%s ACL categories" % full)
        tips = [x[1] for x in v[7][1]]
        specs = v[8][1]
        d = dict(as_map(doc))
        ordered_subset([k for k, _ in as_map(doc)],
                       ["summary", "since", "group", "complexity", "doc_flags", "deprecated_since", "replaced_by",
                        "history", "arguments", "subcommands"], "%s doc fields" % full)
        fields = [".fullname = %s" % c_str(full), ".arity = %d" % v[1][1],
                  ".flags = %s" % bits(flags, "CMD_", {"movablekeys": "MOVABLE_KEYS"}),
                  ".first_key = %d, .last_key = %d, .step = %d" % (v[3][1], v[4][1], v[5][1]),
                  ".acl_categories = %s" % bits(acl, "ACL_CAT_")]
        if tips:
            fields.append(".tips = %s, .ntips = %d" % (em.strings("tips_" + base, tips), len(tips)))
        if specs:
            fields.append(".key_specs = %s, .nkey_specs = %d" % (em.key_specs(base, specs), len(specs)))
        for k in ("summary", "since", "group", "complexity", "deprecated_since", "replaced_by"):
            if k in d:
                fields.append(".%s = %s" % (k, c_str(d[k][1])))
        if "doc_flags" in d:
            fields.append(".doc_flags = %s" % bits(ordered_subset([x[1] for x in d["doc_flags"][1]], DOC_FLAGS,
                                                                  "doc flags"), "DOC_FLAG_"))
        if "history" in d:
            hist = [s[1] for entry in d["history"][1] for s in entry[1]]
            fields.append(".history = %s, .nhistory = %d" % (em.strings("history_" + base, hist), len(hist) // 2))
        if "arguments" in d:
            fields.append(".args = %s, .nargs = %d" % (em.arg_array(base, d["arguments"][1]),
                                                       len(d["arguments"][1])))
        metas.append("    {" + ", ".join(fields) + "}")
    head = ("/* command_table.c: the metadata of every Redis %s command and subcommand, sorted by\n"
            " * full name: what COMMAND INFO and COMMAND DOCS report. Generated by\n"
            " * scripts/gen_command_table.py from a running redis-server; do not edit by hand. */\n"
            "#include \"server/command_table.h\"\n\n" % version)
    body = "\n".join(em.out)
    tail = ("\nconst command_meta command_metas[] = {\n%s,\n};\n\n"
            "const size_t command_metas_count = sizeof(command_metas) / sizeof(command_metas[0]);\n"
            % ",\n".join(metas))
    return head + "// clang-format off\n" + body + tail + "// clang-format on\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, help="a running redis-server (default: start one)")
    ap.add_argument("--out", default=os.path.join(ROOT, "server", "command_table.c"))
    opts = ap.parse_args()
    proc, tmp = None, None
    port = opts.port
    if not port:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        tmp = tempfile.mkdtemp()
        proc = subprocess.Popen([shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(port),
                                 "--save", "", "--appendonly", "no", "--dir", tmp],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    sys.exit("redis-server did not start")
                time.sleep(0.05)
    try:
        r = Resp3(port)
        hello = dict(as_map(r.cmd("HELLO", "3")))
        version = hello["version"][1]
        table = collect(r.cmd("COMMAND"), r.cmd("COMMAND", "DOCS"))
    finally:
        if proc:
            proc.terminate()
            proc.wait()
            shutil.rmtree(tmp, ignore_errors=True)
    with open(opts.out, "w") as f:
        f.write(generate(table, version))
    print("%s: %d commands and subcommands from Redis %s" % (opts.out, len(table), version))


if __name__ == "__main__":
    main()
