"""test_command_docs.py: COMMAND INFO, COMMAND DOCS and COMMAND LIST against the oracle.

For every command and subcommand the server under test has (its COMMAND LIST), the
COMMAND INFO and COMMAND DOCS replies must be Redis's bytes, in RESP2 and RESP3. The
one allowance is a container's subcommands (CONFIG, CLIENT, ...): Redis lists them in
its hash table's order, which changes from run to run, and lists ones respite lacks;
there both sides' subcommands are sorted by name and Redis's are cut down to the ones
respite has, and the rest of the reply must still match byte for byte. Commands Redis
7.0 lacks (CLIENT SETINFO, from 7.2) must still be described. COMMAND COUNT and COMMAND
LIST (with and without FILTERBY) must be Redis's, restricted to respite's commands.
Then what redis-cli 7 makes of it, on a pty: the hint it shows after each command's name
and HELP <command>, the same bytes as against redis-server.
"""

import fcntl
import os
import pty
import select
import shutil
import struct
import sys
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import TestFailure, check, eq  # noqa: E402

CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
NOT_IN_REDIS_70 = {b"client|setinfo"}


# ---------------------------------------------------------------- a RESP tree that
# keeps each node's bytes, so a part can be reordered and the whole compared as bytes

def parse(raw, pos=0):
    """(node, end): a node is (header line bytes, children) for an aggregate, or the
    scalar's raw bytes."""
    i = raw.index(b"\r\n", pos)
    head, t = raw[pos:i + 2], raw[pos:pos + 1]
    pos = i + 2
    if t in b"$=!":
        n = int(raw[pos - len(head) + 1:i])
        if n < 0:
            return head, pos
        return head + raw[pos:pos + n + 2], pos + n + 2
    if t in b"*~%>":
        n = int(raw[pos - len(head) + 1:i])
        if n < 0:
            return head, pos
        kids = []
        for _ in range(n * 2 if t == b"%" else n):
            k, pos = parse(raw, pos)
            kids.append(k)
        return (head, kids), pos
    return head, pos


def unparse(node):
    if isinstance(node, bytes):
        return node
    head, kids = node
    return head + b"".join(unparse(k) for k in kids)


def bulk_text(node):
    """The text of a bulk or simple string node."""
    if node.startswith(b"$"):
        return node[node.index(b"\r\n") + 2:-2]
    return node[1:-2]


def with_count(head, n):
    return head[:1] + b"%d\r\n" % n


def info_restrict(node, names):
    """A COMMAND INFO entry with its subcommands (element 9) sorted, keeping only names."""
    head, kids = node
    sub_head, subs = kids[9]
    if sub_head.startswith(b"*") and subs:
        subs = sorted((s for s in subs if bulk_text(s[1][0]) in names), key=lambda s: bulk_text(s[1][0]))
        kids = kids[:9] + [(with_count(sub_head, len(subs)), subs)]
    return (head, kids)


def docs_restrict(node, names):
    """A COMMAND DOCS value (a map, or its RESP2 array) with its "subcommands" pairs
    sorted, keeping only names."""
    head, kids = node
    kids = list(kids)
    for i in range(0, len(kids), 2):
        if bulk_text(kids[i]) == b"subcommands":
            sub_head, flat = kids[i + 1]
            pairs = sorted((p for p in zip(flat[::2], flat[1::2]) if bulk_text(p[0]) in names),
                           key=lambda p: bulk_text(p[0]))
            n = len(pairs) * (1 if sub_head.startswith(b"%") else 2)
            kids[i + 1] = (with_count(sub_head, n), [x for p in pairs for x in p])
    return (head, kids)


# ---------------------------------------------------------------- cases

def respite_names(server):
    with server.conn() as c:
        names = harness.decode(c.cmd("COMMAND", "LIST"))
    check(len(names) == len(set(names)), "COMMAND LIST repeats a name")
    return set(names)


def test_every_command_has_redis_info_and_docs(server, oracle):
    names = respite_names(server)
    check(len(names) > 100, "COMMAND LIST lists only %d commands and subcommands" % len(names))
    shared = names - NOT_IN_REDIS_70
    failures = []
    for proto in (2, 3):
        with server.conn() as t, oracle.conn() as o:
            t.cmd("HELLO", str(proto))
            o.cmd("HELLO", str(proto))
            for name in sorted(names):
                if name in NOT_IN_REDIS_70:
                    continue
                for what, restrict in (("INFO", info_restrict), ("DOCS", docs_restrict)):
                    got, want = t.cmd("COMMAND", what, name), o.cmd("COMMAND", what, name)
                    if got == want:
                        continue
                    g, w = parse(got)[0], parse(want)[0]
                    # INFO: an array of one entry; DOCS: a map of one name -> value.
                    idx = 0 if what == "INFO" else 1
                    if isinstance(g, tuple) and isinstance(w, tuple) and len(g[1]) == len(w[1]) == idx + 1:
                        g = (g[0], g[1][:idx] + [restrict(g[1][idx], shared)])
                        w = (w[0], w[1][:idx] + [restrict(w[1][idx], shared)])
                        if unparse(g) == unparse(w):
                            continue
                    failures.append("RESP%d COMMAND %s %s:\n  got  %r\n  want %r"
                                    % (proto, what, name.decode(), got[:600], want[:600]))
    if failures:
        raise TestFailure("%d mismatches; first ones:\n%s" % (len(failures), "\n".join(failures[:5])))


def test_commands_redis_lacks_are_described(server):
    if harness.is_oracle_under_test():
        raise harness.Skip("respite-only: the server under test is redis-server 7.0")
    with server.conn() as t:
        t.cmd("HELLO", "3")
        for name in NOT_IN_REDIS_70:
            info = harness.decode(t.cmd("COMMAND", "INFO", name))
            eq(info[0][0], name, "COMMAND INFO %s names it" % name.decode())
            docs = harness.decode(t.cmd("COMMAND", "DOCS", name))
            check(docs.get(name, {}).get(b"arguments"), "COMMAND DOCS %s has arguments: %r" % (name, docs))


def test_count_and_list_are_redis_restricted(server, oracle):
    names = respite_names(server)
    with server.conn() as t, oracle.conn() as o:
        t.cmd("HELLO", "3")
        redis_names = set(harness.decode(o.cmd("COMMAND", "LIST")))
        missing = names - redis_names - NOT_IN_REDIS_70
        check(not missing, "respite lists names Redis does not have: %r" % sorted(missing))
        top = [n for n in names if b"|" not in n]
        eq(harness.decode(t.cmd("COMMAND", "COUNT")), len(top), "COMMAND COUNT")
        eq(len(harness.decode(t.cmd("COMMAND"))), len(top), "COMMAND's entries")
        eq(len(harness.decode(t.cmd("COMMAND", "INFO"))), len(top), "COMMAND INFO's entries")
        eq(len(harness.decode(t.cmd("COMMAND", "DOCS"))), len(top), "COMMAND DOCS's entries")
        for args in (("ACLCAT", "string"), ("ACLCAT", "STREAM"), ("ACLCAT", "admin"), ("ACLCAT", "nosuch"),
                     ("PATTERN", "x*"), ("PATTERN", "config|*"), ("PATTERN", "*get*"), ("MODULE", "x")):
            got = harness.decode(t.cmd("COMMAND", "LIST", "FILTERBY", *args))
            want = harness.decode(o.cmd("COMMAND", "LIST", "FILTERBY", *args))
            eq(sorted(got), sorted(n for n in want if n in names), "COMMAND LIST FILTERBY %s %s" % args)
        for args in (("FILTERBY",), ("FILTERBY", "ACLCAT"), ("FILTERBY", "NOPE", "x"), ("X", "Y", "Z"),
                     ("FILTERBY", "PATTERN", "*", "extra")):
            eq(t.cmd("COMMAND", "LIST", *args), o.cmd("COMMAND", "LIST", *args), "COMMAND LIST %r" % (args,))


def test_unknown_names_and_mixed_lookups(server, oracle):
    with server.conn() as t, oracle.conn() as o:
        for args in (("INFO", "nosuch"), ("INFO", "get", "nosuch", "SET"), ("INFO", "config|nosuch"),
                     ("INFO", "get|x"), ("INFO", "CONFIG|GET"), ("DOCS", "nosuch"), ("DOCS", "GET", "nosuch", "mget"),
                     ("DOCS", "config|GET"), ("DOCS", "get|x"), ("INFO", "config|get|x")):
            for proto in ("2", "3"):
                t.cmd("HELLO", proto)
                o.cmd("HELLO", proto)
                eq(t.cmd("COMMAND", *args), o.cmd("COMMAND", *args), "RESP%s COMMAND %r" % (proto, args))


def test_getkeys_as_redis(server, oracle):
    # Keys found through the key specs (keywords, limits, subcommands), Redis's fallback
    # for XREAD, and Redis's order of checks (unknown command, no keys, arity, no fit).
    cases = ["set k v", "set k", "mset a 1 b 2", "mset a 1 b", "object encoding k", "object encoding", "object help",
             "xread streams a b 0 0", "xread COUNT 2 STREAMS a 0", "xread streams a b 0", "xread streams a",
             "xread block 0 streams a 0", "xread count 1 a 0", "xreadgroup group g c streams s 0",
             "xreadgroup group g c noack streams s t 0 0", "xreadgroup group g c streams s", "xinfo stream k",
             "xinfo help", "xgroup create k g $", "XGROUP CREATECONSUMER k g c", "config get x", "get a b",
             "time x", "lcs a b", "del a b c", "copy a b", "xadd s * f v", "watch a b", "client kill x", "getex k",
             "xgroup nosuch", "object nosuch k", "rename a b", "touch a", "xpending s g", "xclaim s g c 0 1",
             "xautoclaim s g c 0 0", "nosuch a b"]
    with server.conn() as t, oracle.conn() as o:
        for case in cases:
            eq(t.cmd("COMMAND", "GETKEYS", *case.split()), o.cmd("COMMAND", "GETKEYS", *case.split()),
               "COMMAND GETKEYS %s" % case)


def test_help_subcommands_use_redis_shape(server, oracle):
    # Every HELP reply has Redis's header, naming the command as typed but upper-cased,
    # and Redis's HELP footer. Where respite has all of Redis's subcommands the reply is
    # Redis's bytes; COMMAND and CLIENT list only the subcommands respite has.
    with server.conn() as t, oracle.conn() as o:
        for cmd in ("config", "xinfo", "xgroup", "object", "slowlog", "memory", "XiNfO"):
            eq(t.cmd(cmd, "help"), o.cmd(cmd, "help"), "%s HELP" % cmd)
        for cmd in ("command", "client", "CoMmAnD"):
            lines = harness.decode(t.cmd(cmd, "help"))
            eq(lines[0], cmd.upper().encode() + b" <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
               "%s HELP header" % cmd)
            eq(lines[-2:], [b"HELP", b"    Prints this help."], "%s HELP footer" % cmd)


class CliSession:
    """redis-cli on a wide xterm pty: what it shows while a line is typed."""

    def __init__(self, port):
        self.prompt = b"127.0.0.1:%d> " % port
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ["TERM"] = "xterm"
            os.execv(CLI, [CLI, "-p", str(port), "-h", "127.0.0.1"])
        # A width of 0 would make linenoise ask the terminal; wide, so no hint is cut.
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 1000, 0, 0))
        self.seen = b""
        self.expect(self.prompt)

    def expect(self, needle, deadline=10.0):
        """Read until needle appears; return what came before it and drop both."""
        end = time.monotonic() + deadline
        while needle not in self.seen:
            left = end - time.monotonic()
            check(left > 0, "redis-cli never printed %r; screen so far: %r" % (needle, self.seen[-600:]))
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:
                    chunk = b""
                check(chunk, "redis-cli exited; screen: %r" % self.seen[-600:])
                self.seen += chunk
        i = self.seen.index(needle)
        before, self.seen = self.seen[:i], self.seen[i + len(needle):]
        return before

    def hint(self, text):
        """The hint shown after typing text (as linenoise draws it, colours included)."""
        os.write(self.fd, text)
        # Each keystroke redraws the line, ending with the cursor put after the input.
        last = self.expect(b"\r\x1b[%dC" % (len(self.prompt) + len(text)))
        line = last[last.rindex(self.prompt + text) + len(self.prompt) + len(text):]
        os.write(self.fd, b"\x15")  # Ctrl-U: clear the line
        self.expect(b"\r\x1b[0K" + self.prompt + b"\r\x1b[%dC" % len(self.prompt))
        return line

    def run(self, line):
        """What redis-cli prints for a line entered, up to its next prompt."""
        os.write(self.fd, line + b"\r")
        self.expect(b"\r\n")
        return self.expect(self.prompt)

    def close(self):
        os.write(self.fd, b"quit\r")
        try:
            end = time.monotonic() + 10
            while time.monotonic() < end:  # until redis-cli closes the terminal
                r, _, _ = select.select([self.fd], [], [], 0.5)
                if r and not os.read(self.fd, 65536):
                    break
        except OSError:
            pass
        os.close(self.fd)
        os.waitpid(self.pid, 0)


def test_redis_cli_hints_and_help(server, oracle):
    # What redis-cli 7 builds from COMMAND DOCS: the argument hint shown after a command
    # name and a space, and HELP <command>, for every command and subcommand respite
    # has. HELP <container> lists every subcommand, so it is compared only where respite
    # has all of Redis's.
    harness.need_program(CLI, "redis-tools")
    names = respite_names(server) - NOT_IN_REDIS_70
    with oracle.conn() as o:
        redis_names = set(harness.decode(o.cmd("COMMAND", "LIST")))
    partial = {n for n in names if any(m.startswith(n + b"|") and m not in names for m in redis_names)}
    # containers with a subcommand Redis 7.0 lacks (CLIENT SETINFO) list one more in HELP
    extended = {n.split(b"|")[0] for n in NOT_IN_REDIS_70 if b"|" in n}
    lines = sorted(n.replace(b"|", b" ").upper() for n in names)
    check(b"SET" in lines and b"CLIENT KILL" in lines, "the commands to type: %r" % lines)
    shown = {}
    for srv in (server, oracle):
        cli = CliSession(srv.port)
        try:
            shown[srv] = [(cli.hint(line + b" "), cli.run(b"HELP " + line)) for line in lines]
        finally:
            cli.close()
    failures = []
    for line, got, want in zip(lines, shown[server], shown[oracle]):
        if line.lower() in partial or line.lower() in extended:
            got, want = got[0], want[0]
        if got != want:
            failures.append("%s: got %r, want %r" % (line.decode(), got, want))
    set_hint, set_help = shown[server][lines.index(b"SET")]
    check(b"key value [NX|XX] [GET]" in set_hint, "the hint after SET: %r" % set_hint)
    check(b"summary:" in set_help, "HELP SET: %r" % set_help)
    if not harness.is_oracle_under_test():
        check(b"command" in partial, "containers respite has only part of: %r" % partial)
    if failures:
        raise TestFailure("%d differ from redis-server:\n%s" % (len(failures), "\n".join(failures[:5])))
