"""test_taskqueue.py: a task queue on a stream consumer group, with a worker killed.

One producer process XADDs 10,000 tasks; four worker processes (redis-py) read them with
XREADGROUP ... BLOCK, "process" them and XACK them. Worker 0, after acknowledging a few
hundred tasks, reads one more batch and stops without acknowledging it; the test then
kills it with SIGKILL. The surviving workers reclaim its pending tasks with XAUTOCLAIM
(min-idle 500 ms) and acknowledge them. Every worker logs, per task, whether its XACK
removed a pending entry. At the end: each of the 10,000 tasks was acknowledged exactly
once by an XACK that returned 1 (so the set of acknowledged tasks is all of them), the
killed worker's unacknowledged tasks were delivered again, and XPENDING is empty.
"""
import multiprocessing as mp
import os
import select
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TestFailure, check, eq  # noqa: E402

import pytest  # noqa: E402

redis = pytest.importorskip("redis", reason="needs python3-redis (apt-get install python3-redis)")

NTASKS = 10000
NWORKERS = 4
STREAM, GROUP = "tasks", "workers"
VICTIM_ACKS = 300          # the victim acknowledges this many tasks before it stalls
MIN_IDLE_MS = 500          # XAUTOCLAIM's min-idle-time
DEADLINE_S = 90.0


def client(port):
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=30)


def producer(port):
    r = client(port)
    for base in range(0, NTASKS, 200):
        p = r.pipeline(transaction=False)
        for i in range(base, min(base + 200, NTASKS)):
            p.xadd(STREAM, {"task": str(i), "payload": "x" * (i % 50)})
        p.execute()
    r.set("producer:done", "1")


def process(fields):
    """The work: a checksum of the payload (deterministic, cheap)."""
    return sum(fields[b"payload"]) + int(fields[b"task"])


def ack_batch(r, entries, log, name):
    """Process and acknowledge entries; log "task ack-result" per entry."""
    if not entries:
        return 0
    p = r.pipeline(transaction=False)
    tasks = []
    for eid, fields in entries:
        if fields is None:        # entry deleted meanwhile (not in this test)
            continue
        process(fields)
        tasks.append(fields[b"task"].decode())
        p.xack(STREAM, GROUP, eid)
    results = p.execute()
    for t, res in zip(tasks, results):
        log.write("%s %d %s\n" % (t, res, name))
    log.flush()
    return len(tasks)


def worker(port, idx, logdir, stop, stalled):
    name = "w%d" % idx
    r = client(port)
    acked = 0
    last_claim = 0.0
    with open(os.path.join(logdir, name + ".log"), "w") as log:
        while not stop.is_set():
            if idx == 0 and acked >= VICTIM_ACKS:
                # the victim: read a batch, never acknowledge it, and wait to be killed
                got = r.xreadgroup(GROUP, name, {STREAM: ">"}, count=25, block=1000)
                if got and got[0][1]:
                    with open(os.path.join(logdir, "held"), "w") as held:
                        held.write(" ".join(f[b"task"].decode() for _, f in got[0][1]))
                    stalled.set()
                    while True:
                        signal.pause()
                continue
            got = r.xreadgroup(GROUP, name, {STREAM: ">"}, count=20, block=100)
            n = ack_batch(r, got[0][1] if got else [], log, name)
            acked += n
            now = time.monotonic()
            if idx != 0 and (n == 0 or now - last_claim > 0.25):
                last_claim = now
                cursor = "0-0"
                while True:
                    nxt, claimed = r.xautoclaim(STREAM, GROUP, name, MIN_IDLE_MS, cursor, count=100)[:2]
                    if claimed:
                        log.write("# claimed %d\n" % len(claimed))
                    acked += ack_batch(r, claimed, log, name)
                    cursor = nxt.decode() if isinstance(nxt, bytes) else nxt
                    if cursor == "0-0":
                        break


def wait_for(pred, deadline, what):
    end = time.monotonic() + deadline
    while not pred():
        if time.monotonic() > end:
            raise TestFailure("timed out after %.0fs waiting for %s" % (deadline, what))
        select.select([], [], [], 0.05)


def test_taskqueue_with_a_killed_worker(server):
    port = server.port
    r = client(port)
    r.flushall()
    r.xgroup_create(STREAM, GROUP, id="$", mkstream=True)
    logdir = tempfile.mkdtemp(prefix="respite-taskqueue-")
    stop, stalled = mp.Event(), mp.Event()
    prod = mp.Process(target=producer, args=(port,))
    workers = [mp.Process(target=worker, args=(port, i, logdir, stop, stalled)) for i in range(NWORKERS)]
    t0 = time.monotonic()
    try:
        for w in workers:
            w.start()
        prod.start()
        wait_for(stalled.is_set, DEADLINE_S, "the victim to hold unacknowledged tasks")
        held = open(os.path.join(logdir, "held")).read().split()
        check(held, "the victim holds no task")
        pend = r.xpending_range(STREAM, GROUP, "-", "+", 1000, consumername="w0")
        check(len(pend) >= len(held), "victim's PEL has %d entries, expected >= %d" % (len(pend), len(held)))
        os.kill(workers[0].pid, signal.SIGKILL)
        workers[0].join(10)
        eq(workers[0].exitcode, -signal.SIGKILL, "victim exit code")
        prod.join(DEADLINE_S)
        eq(prod.exitcode, 0, "producer exit code")

        def drained():
            g = [x for x in r.xinfo_groups(STREAM) if x["name"] == b"workers"][0]
            return g["pending"] == 0 and g["lag"] == 0 and r.xlen(STREAM) == NTASKS
        wait_for(drained, DEADLINE_S, "every task to be acknowledged")
    finally:
        stop.set()
        for w in workers[1:] + [prod]:
            w.join(15)
            if w.is_alive():
                w.kill()
                w.join()
    for w in workers[1:]:
        eq(w.exitcode, 0, "worker exit code")
    elapsed = time.monotonic() - t0

    acks = {}            # task -> number of XACKs that returned 1
    deliveries = {}      # task -> number of times it was processed
    claimed = 0
    for name in os.listdir(logdir):
        if not name.endswith(".log"):
            continue
        for line in open(os.path.join(logdir, name)):
            if line.startswith("# claimed"):
                claimed += int(line.split()[2])
                continue
            task, res, _ = line.split()
            deliveries[task] = deliveries.get(task, 0) + 1
            acks[task] = acks.get(task, 0) + int(res)
    want = {str(i) for i in range(NTASKS)}
    eq(set(acks), want, "set of processed tasks")
    eq({t for t, n in acks.items() if n >= 1}, want, "set of acknowledged tasks")
    twice = sorted((t for t, n in acks.items() if n > 1), key=int)
    check(not twice, "tasks whose XACK returned 1 more than once: %r" % twice[:10])
    for t in held:
        check(t in acks and acks[t] == 1, "held task %s not reclaimed and acknowledged" % t)
    check(claimed >= len(held), "XAUTOCLAIM reclaimed %d < %d held" % (claimed, len(held)))
    summary = r.xpending(STREAM, GROUP)
    eq(summary["pending"], 0, "XPENDING count")
    eq(r.xpending_range(STREAM, GROUP, "-", "+", 10), [], "XPENDING range")
    print("   %d tasks, %d held by the killed worker, %d reclaimed, %.1fs"
          % (NTASKS, len(held), claimed, elapsed), flush=True)
