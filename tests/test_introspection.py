"""SLOWLOG, LATENCY and MEMORY: replies and errors compared with a real Redis where they
are deterministic, the shape of what is measured where they are not."""

from __future__ import annotations

import re

import pytest

from tests.differential import compare
from tests.helpers import RawConnection


@pytest.fixture
def both(server, reference):
    """Our server and Redis; the introspection parameters back at their defaults after."""
    yield server, reference
    for port in (server.port, reference.port):
        with RawConnection(port) as connection:
            connection.call("CONFIG", "SET", "slowlog-log-slower-than", "10000", "slowlog-max-len", "128",
                            "latency-monitor-threshold", "0", "latency-tracking", "yes")
            connection.call("SLOWLOG", "RESET")
            connection.call("LATENCY", "RESET")


def test_help_and_errors_match_redis(both):
    server, reference = both
    compare(server.port, reference.port, """
        SLOWLOG HELP
        SLOWLOG GET x
        SLOWLOG GET -2
        SLOWLOG GET 1 2
        SLOWLOG NOSUCH
        SLOWLOG RESET
        LATENCY HELP
        LATENCY HISTORY nosuch
        LATENCY HISTORY
        LATENCY GRAPH nosuch
        LATENCY DOCTOR x
        LATENCY RESET
        LATENCY RESET a b
        LATENCY LATEST
        MEMORY HELP
        MEMORY USAGE nokey
        MEMORY USAGE
        SET k v
        MEMORY USAGE k samples
        MEMORY USAGE k samples x
        MEMORY USAGE k samples -1
        MEMORY USAGE k foo
        ~ MEMORY USAGE k
        ~ MEMORY USAGE k SAMPLES 0
        MEMORY PURGE
        ~ MEMORY STATS
        ~ MEMORY DOCTOR
        ~ MEMORY MALLOC-STATS
    """)


def _slowlog(port: int, script: list[list[str]]) -> list:
    """Run ``script`` with every call logged; the slow log after it, with what depends on
    the run (time, duration, client port) left out."""
    with RawConnection(port) as connection, RawConnection(port) as named:
        named.call("CLIENT", "SETNAME", "worker")
        connection.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
        connection.call("SLOWLOG", "RESET")
        for argv in script:
            named.call(*argv)
        connection.send_command("SLOWLOG", "GET", "-1")
        entries = connection.read()
        connection.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
    shapes = []
    for entry_id, at, micros, args, addr, name in entries:
        assert isinstance(entry_id, int) and at > 1_600_000_000 and micros >= 0
        assert re.fullmatch(rb"127\.0\.0\.1:\d+", addr)
        shapes.append((args, name))
    return shapes


def test_slowlog_entries_as_redis_shows_them(both):
    server, reference = both
    script = [
        ["SET", "key", "x" * 300],  # longer than 128 bytes: cut, saying how many more
        ["RPUSH", "list", *[str(i) for i in range(40)]],  # more than 32 arguments
        ["MULTI"], ["INCR", "n"], ["EXEC"],  # EXEC is skip_slowlog; what it ran is logged
        ["CONFIG", "SET", "masterauth", "secret"],  # a password is redacted
        ["CONFIG", "SET", "masterauth", ""],
    ]
    ours, theirs = _slowlog(server.port, script), _slowlog(reference.port, script)
    assert ours == theirs
    assert (
        [b"SET", b"key", b"x" * 128 + b"... (172 more bytes)"], b"worker") in ours
    assert ours[-1][0] == [b"SLOWLOG", b"RESET"]  # the oldest entry: the reset itself


def test_slowlog_thresholds_and_length(both):
    server, _ = both
    with server.raw() as connection:
        connection.call("SLOWLOG", "RESET")
        connection.call("SET", "fast", "1")  # far below 10 ms
        connection.call("DEBUG", "SLEEP", "0.02")  # above it
        connection.send_command("SLOWLOG", "GET")
        (entry,) = connection.read()
        assert entry[3] == [b"DEBUG", b"SLEEP", b"0.02"] and entry[2] >= 20_000
        connection.call("CONFIG", "SET", "slowlog-log-slower-than", "-1")
        connection.call("DEBUG", "SLEEP", "0.02")
        assert connection.call("SLOWLOG", "LEN") == b":1\r\n"  # off: nothing more
        connection.call("CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "3")
        for _ in range(5):
            connection.call("PING")
        assert connection.call("SLOWLOG", "LEN") == b":3\r\n"


def test_time_spent_blocked_is_not_slow(both):
    server, _ = both
    with server.raw() as connection:
        connection.call("SLOWLOG", "RESET")
        assert connection.call("BLPOP", "nothing-here", "0.05") == b"*-1\r\n"  # waited 50 ms
        assert connection.call("SLOWLOG", "LEN") == b":0\r\n"  # 50 ms waiting, not 10 ms of work


def test_latency_monitor_records_slow_commands_as_redis_names_them(both):
    results = []
    for process in both:
        with process.raw() as connection:
            connection.call("LATENCY", "RESET")
            connection.call("CONFIG", "SET", "latency-monitor-threshold", "10")
            connection.call("DEBUG", "SLEEP", "0.03")
            connection.send_command("LATENCY", "LATEST")
            latest = connection.read()
            connection.send_command("LATENCY", "HISTORY", "command")
            history = connection.read()
            graph = connection.call("LATENCY", "GRAPH", "command")
            reset = connection.call("LATENCY", "RESET", "command", "nosuch")
        (event,) = latest
        assert event[0] == b"command" and event[2] >= 30 and event[3] >= event[2]
        assert len(history) == 1 and history[0][1] == event[2]
        assert graph.startswith(b"$") and graph.count(b"\n") > 2
        results.append((event[0], reset))
    assert results[0] == results[1] == (b"command", b":1\r\n")


def test_latency_histogram_and_info_latencystats(both):
    names = []
    for process in both:
        with process.raw(3) as connection:  # RESP3: the maps arrive as dicts
            connection.call("CONFIG", "RESETSTAT")
            for _ in range(3):
                connection.call("SET", "a", "1")
            connection.send_command("LATENCY", "HISTOGRAM", "set", "nosuch")
            histogram = connection.read()
            assert list(histogram) == [b"set"]
            assert histogram[b"set"][b"calls"] == 3
            buckets = histogram[b"set"][b"histogram_usec"]
            assert list(buckets) == sorted(buckets) and list(buckets.values())[-1] == 3
            info = connection.call("INFO", "latencystats").decode()
            assert "# Latencystats" in info
            assert "latency_percentiles_usec_set:" not in connection.call("INFO").decode()  # not by default
            line = re.search(r"latency_percentiles_usec_set:(.*)\r\n", info).group(1)
            assert re.fullmatch(r"p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}", line)
            names.append(sorted(re.findall(r"latency_percentiles_usec_([^:]+):", info)))
            connection.call("CONFIG", "SET", "latency-tracking", "no")
            assert "latency_percentiles_usec" not in connection.call("INFO", "latencystats").decode()
    assert names[0] == names[1]


def test_memory_usage_follows_the_value(r):
    r.set("small", "x")
    r.set("big", "x" * 100_000)
    small, big = r.memory_usage("small"), r.memory_usage("big")
    assert 0 < small < 200
    assert 100_000 < big < 100_000 + 300
    r.rpush("list", *[b"y" * 1000] * 2000)
    sampled, exact = r.memory_usage("list"), r.memory_usage("list", samples=0)
    assert 2_000_000 < exact < 2_300_000
    assert abs(sampled - exact) < exact * 0.05  # identical elements: sampling is close
    r.zadd("zset", {f"member{i}": i for i in range(1000)})
    r.hset("hash", mapping={f"f{i}": "v" * 100 for i in range(1000)})
    assert r.memory_usage("zset", samples=0) > 1000 * 50
    assert r.memory_usage("hash", samples=0) > 1000 * 100


def test_info_memory_reports_the_process(r):
    info = r.info("memory")
    assert info["used_memory"] > 1_000_000 and info["used_memory_rss"] == info["used_memory"]
    assert info["used_memory_peak"] >= info["used_memory"] * 0.9
    assert info["used_memory_startup"] > 0 and info["total_system_memory"] > info["used_memory"]
    stats = r.memory_stats()
    assert stats["keys.count"] == 0 and stats["total.allocated"] > 0
