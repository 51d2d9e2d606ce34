"""test_fuzz.py: a short libFuzzer run of every fuzz target (tests/fuzz/run.sh).

When clang and its fuzzer runtime are installed, runs tests/fuzz/run.sh with
RESPITE_FUZZ_SECONDS seconds per target (default 30) in its own build tree
(<build>/fuzz, or RESPITE_FUZZ_BUILD) and checks that it exits 0: the regression
inputs replay clean and no target finds a crash, leak, sanitizer report or broken
reply. Without clang it is skipped, saying what is missing.
"""
import glob
import os
import re
import shutil
import subprocess
import time

import pytest

SOURCE = os.environ.get("RESPITE_SOURCE_DIR") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("RESPITE_BUILD_DIR") or os.path.join(SOURCE, "build")
SECONDS = int(os.environ.get("RESPITE_FUZZ_SECONDS", "30"))


def fuzzer_runtime():
    """Is clang's libFuzzer runtime installed (libclang-rt-*-dev)?"""
    pats = ["/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a",
            "/usr/lib/llvm-*/lib/clang/*/lib/*/libclang_rt.fuzzer.a",
            "/usr/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a"]
    return any(glob.glob(p) for p in pats)


def test_fuzz_targets():
    if not shutil.which("clang") or not fuzzer_runtime():
        pytest.skip("needs clang and its libFuzzer runtime for the fuzz targets "
                    "(apt-get install clang libclang-rt-14-dev)")
    env = dict(os.environ)
    env.setdefault("RESPITE_FUZZ_BUILD", os.path.join(BUILD, "fuzz"))
    cmd = ["sh", os.path.join(SOURCE, "tests", "fuzz", "run.sh"), str(SECONDS)]
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=600 - 30, stdin=subprocess.DEVNULL, env=env)
        rc, out = r.returncode, r.stdout
    except subprocess.TimeoutExpired as e:
        rc = "timeout"
        out = e.stdout if isinstance(e.stdout, str) else (e.stdout or b"").decode(errors="replace")
    took = time.monotonic() - t0
    counts = re.findall(r"^(fuzz_\w+): (\d+) executions", out, re.M)
    ran = {name for name, _ in counts}
    assert rc == 0 and {"fuzz_resp", "fuzz_commands", "fuzz_rdb"} <= ran, \
        "tests/fuzz/run.sh %d (%.1f s): exit %s\n%s" % (SECONDS, took, rc, out[-6000:])
    for name, n in counts:
        print("     %s: %s executions" % (name, n))
