"""redis-cli's modes against our server: --bigkeys, --memkeys, --scan, --stat, --latency,
--latency-history, --pipe (monitor, --rdb and --replica are in tests/test_monitor.py and
tests/test_replication.py). Each runs redis-cli as a subprocess and checks its output."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import redis

from tests.helpers import start_ours

pytestmark = pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli is not installed")


@pytest.fixture(scope="module")
def filled():
    server = start_ours()
    client = redis.Redis(port=server.port)
    for i in range(3):
        client.rpush(f"list{i}", *"abc"[: i + 1])
        client.hset(f"hash{i}", mapping={f"f{j}": "v" for j in range(i + 1)})
        client.sadd(f"set{i}", *range(i + 1))
        client.zadd(f"zset{i}", {f"m{j}": j for j in range(i + 1)})
        client.xadd(f"stream{i}", {"a": "1"})
        client.set(f"string{i}", "x" * (i + 1))
    yield server
    server.stop()


def _cli(port: int, *args: str, stdin: bytes = b"", seconds: float = 20) -> str:
    done = subprocess.run(["stdbuf", "-oL", "redis-cli", "-p", str(port), *args], input=stdin,
                          capture_output=True, timeout=seconds)
    return done.stdout.decode(errors="replace")


def _cli_for_a_while(port: int, *args: str, seconds: float = 2.5) -> str:
    """A mode that never ends by itself (--stat, --latency): run it, stop it, read it."""
    process = subprocess.Popen(["stdbuf", "-oL", "redis-cli", "-p", str(port), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output, _ = process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.terminate()
        output, _ = process.communicate()
    return output.decode(errors="replace")


def test_bigkeys(filled):
    output = _cli(filled.port, "--bigkeys")
    assert "Biggest   list found '\"list2\"' has 3 items" in output
    assert "Biggest   hash found '\"hash2\"' has 3 fields" in output
    assert "Biggest   zset found '\"zset2\"' has 3 members" in output
    assert "Biggest string found '\"string2\"' has 3 bytes" in output
    assert "3 streams with 3 entries" in output


def test_memkeys(filled):
    output = _cli(filled.port, "--memkeys")
    for kind in ("lists", "hashs", "strings", "streams", "sets", "zsets"):
        assert f"3 {kind} with " in output


def test_scan_with_a_pattern(filled):
    assert sorted(_cli(filled.port, "--scan", "--pattern", "list*").split()) == ["list0", "list1", "list2"]


def test_stat(filled):
    lines = _cli_for_a_while(filled.port, "--stat", "-i", "0.5").splitlines()
    assert lines[0].startswith("------- data ------")
    keys = lines[2].split()[0]
    assert keys == "18"


def test_latency(filled):
    # Without a terminal, --latency prints "min max avg samples" when stopped.
    words = _cli_for_a_while(filled.port, "--latency").split()
    assert len(words) == 4 and int(words[3]) > 0


def test_latency_history(filled):
    # Without a terminal: "min max avg samples" after each sample, and a "-- 1.00 seconds
    # range" line closing each interval, after which the figures start again.
    output = _cli_for_a_while(filled.port, "--latency-history", "-i", "1", seconds=3.5).split("\n")
    assert sum("seconds range" in line for line in output) >= 2
    samples = [line.split() for line in output if line and "range" not in line]
    assert samples and all(len(words) == 4 and int(words[3]) > 0 for words in samples)


def test_pipe_mass_insertion(filled):
    commands = b"".join(b"SET pipe:%d %d\r\n" % (i, i) for i in range(1000)) + b"INCR pipe:7\r\n"
    output = _cli(filled.port, "--pipe", stdin=commands)
    assert "errors: 0, replies: 1001" in output
    assert redis.Redis(port=filled.port).get("pipe:7") == b"8"
