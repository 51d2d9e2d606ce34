#!/usr/bin/python3
"""bench/bits/run.py: CPU per request of the bitmap and HyperLogLog commands, respite
against redis-server in the same run (redis-benchmark custom commands, -P 16 and -P 1;
server CPU from /proc/PID/stat utime+stime). Usage: bench/bits/run.py [requests]"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "integration"))
import harness  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
TCK = os.sysconf("SC_CLK_TCK")
WORKLOADS = [
    # __rand_int__ is zero-padded, which an offset may not be: random keys instead
    ("SETBIT new keys", ["SETBIT", "bm:__rand_int__", "100", "1"]),
    ("SETBIT 125KB string", ["SETBIT", "bm", "999999", "1"]),
    ("GETBIT", ["GETBIT", "bm", "999999"]),
    ("BITCOUNT 1KB range", ["BITCOUNT", "bm", "0", "1023"]),
    ("BITCOUNT whole 125KB", ["BITCOUNT", "bm"]),
    ("BITFIELD INCRBY", ["BITFIELD", "bf", "INCRBY", "u8", "#100", "1"]),
    ("PFADD", ["PFADD", "hll", "__rand_int__"]),
    ("PFADD sparse (new key each)", ["PFADD", "s:__rand_int__", "a", "b", "c"]),
    ("PFCOUNT (cached)", ["PFCOUNT", "hll"]),
    ("PFCOUNT 2 keys (union)", ["PFCOUNT", "hll", "hll2"]),
]


def cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TCK


def bench(srv, cmd, pipeline, n):
    c0 = cpu(srv.proc.pid)
    out = subprocess.run(["redis-benchmark", "-p", str(srv.port), "-c", "50", "-n", str(n), "-P", str(pipeline),
                          "-r", "1000000", "-q"] + cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout
    c1 = cpu(srv.proc.pid)
    rps = out.decode().replace("\r", "\n").strip().split("\n")[-1]
    return (c1 - c0) / n * 1e6, rps


def main():
    r = harness.Server(binary=os.path.abspath(os.environ.get("RESPITE_SERVER", "build/respite-server")))
    r.start()
    o = harness.oracle()
    try:
        for s in (r, o):
            with s.conn() as c:
                c.call("FLUSHALL")
                c.call("SETBIT", "bm", "1000000", "1")
                c.call("PFADD", "hll2", *["x%d" % i for i in range(5000)])
        print("| command | -P | respite us/req | redis us/req | ratio |")
        print("|---|---|---|---|---|")
        for pipeline in (16, 1):
            n = N if pipeline == 16 else N // 2
            for name, cmd in WORKLOADS:
                res = [bench(s, cmd, pipeline, n)[0] for s in (r, o)]
                print("| %s | %d | %.2f | %.2f | %.2f |" % (name, pipeline, res[0], res[1], res[0] / res[1]))
                sys.stdout.flush()
    finally:
        r.stop()
        o.stop()


if __name__ == "__main__":
    main()
