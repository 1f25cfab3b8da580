"""The differential harness: run the same commands against our server and a real Redis.

A *script* is text, one command per line, written as you would type it in redis-cli
(double quotes and escapes such as "\\x00" work). Each script runs on a fresh connection
after FLUSHALL, on both servers, once in RESP2 and once in RESP3, and every reply must be
byte for byte the same. A line may start with a marker when exact bytes cannot match:

    ~ CMD ...   compare only the reply's type (TIME, CLIENT ID, TTL of a fresh key...)
    = CMD ...   compare the replies with every array sorted, nested ones too (KEYS, SCAN:
                the same elements, in an order that depends on the hash table)
    ? CMD ...   run it on both but compare nothing (set-up whose reply is not the point)

Lines starting with # are comments. Later features add their scripts next to the
existing ones (tests/test_differential_*.py).
"""

from __future__ import annotations

from app.protocol import ReplyError, ReplyParser, split_inline
from tests.helpers import RawConnection


def parse_script(script: str) -> list[tuple[str, list[bytes], str]]:
    """Lines -> (mode, argv, the line itself); mode is "exact", "type", "sorted" or "ignore"."""
    steps = []
    for line in script.strip().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        mode = "exact"
        if line[:2] == "~ ":
            mode, line = "type", line[2:]
        elif line[:2] == "= ":
            mode, line = "sorted", line[2:]
        elif line[:2] == "? ":
            mode, line = "ignore", line[2:]
        argv = split_inline(line.encode("utf-8", "surrogateescape"))
        assert argv, f"unparsable line: {line!r}"
        steps.append((mode, argv, line))
    return steps


def run_script(port: int, steps, protocol: int) -> list[bytes]:
    with RawConnection(port, protocol) as connection:
        connection.call("FLUSHALL")
        connection.call("SELECT", "0")
        return [connection.call(*argv) for _mode, argv, _line in steps]


def unordered(reply: bytes):
    """A reply as a comparable value in which every array's elements are sorted.

    Each value keeps its Python class (list, SetReply, dict...), so an array and a set or
    a map still differ; errors become their text, since exceptions do not compare equal.
    """

    def canonical(value):
        if isinstance(value, list):
            return (type(value).__name__, tuple(sorted((canonical(item) for item in value), key=repr)))
        if isinstance(value, dict):
            items = ((canonical(key), canonical(item)) for key, item in value.items())
            return ("dict", tuple(sorted(items, key=repr)))
        if isinstance(value, ReplyError):
            return ("error", str(value))
        return (type(value).__name__, value)

    (value,) = ReplyParser().parse(reply)
    return canonical(value)


def compare(ours_port: int, reference_port: int, script: str) -> None:
    """Run ``script`` on both servers in RESP2 and RESP3; fail with every difference."""
    steps = parse_script(script)
    problems = []
    for protocol in (2, 3):
        mine = run_script(ours_port, steps, protocol)
        theirs = run_script(reference_port, steps, protocol)
        for (mode, _argv, line), got, want in zip(steps, mine, theirs):
            if mode == "exact" and got != want:
                problems.append(f"RESP{protocol} {line}\n   ours:  {got!r}\n   redis: {want!r}")
            elif mode == "sorted" and unordered(got) != unordered(want):
                problems.append(f"RESP{protocol} {line} (sorted)\n   ours:  {got!r}\n   redis: {want!r}")
            elif mode == "type" and got[:1] != want[:1]:
                problems.append(f"RESP{protocol} {line} (type only)\n   ours:  {got!r}\n   redis: {want!r}")
    assert not problems, "replies differ from Redis:\n" + "\n".join(problems)


def collect_notifications(port: int, steps, protocol: int, flags: str) -> list:
    """Run a script with keyspace notifications on (``flags``), and return every message a
    subscriber to all channels received meanwhile, in order.

    Notifications are published while the command runs, so once the script's last reply
    has arrived every message is already queued for the subscriber; a PING on the
    subscriber's connection then marks the end of them (its answer comes after them).
    """
    with RawConnection(port, protocol) as subscriber, RawConnection(port, protocol) as control:
        control.call("CONFIG", "SET", "notify-keyspace-events", flags)
        try:
            subscriber.call("PSUBSCRIBE", "*")
            run_script(port, steps, protocol)
            subscriber.send_command("PING")
            messages = []
            while True:
                value = subscriber.read()
                if value in ([b"pong", b""], "PONG"):
                    return messages
                messages.append(value)
        finally:
            control.call("CONFIG", "SET", "notify-keyspace-events", "")


def compare_notifications(ours_port: int, reference_port: int, script: str, flags: str = "KEA") -> None:
    """Run ``script`` on both servers, in RESP2 and RESP3, and require the same keyspace
    notifications, in the same order (the replies themselves are `compare`'s business)."""
    steps = parse_script(script)
    problems = []
    for protocol in (2, 3):
        mine = collect_notifications(ours_port, steps, protocol, flags)
        theirs = collect_notifications(reference_port, steps, protocol, flags)
        if mine != theirs:
            problems.append(f"RESP{protocol}\n   ours:  {mine!r}\n   redis: {theirs!r}")
    assert not problems, "notifications differ from Redis:\n" + "\n".join(problems)


def keyspace_counters(port: int, script: str) -> dict[str, int]:
    """INFO's keyspace_hits and keyspace_misses after running ``script`` from zero."""
    with RawConnection(port) as connection:
        connection.call("FLUSHALL")
        connection.call("CONFIG", "RESETSTAT")
        for _mode, argv, _line in parse_script(script):
            connection.call(*argv)
        info = connection.call("INFO", "stats").decode()
    return {name: int(info.split(f"\r\n{name}:")[1].split("\r\n")[0]) for name in ("keyspace_hits", "keyspace_misses")}


def compare_keyspace_counters(ours_port: int, reference_port: int, script: str) -> None:
    """Which lookups count as hits and misses: the same as Redis, and some of each."""
    ours, theirs = keyspace_counters(ours_port, script), keyspace_counters(reference_port, script)
    assert ours == theirs
    assert ours["keyspace_hits"] > 0 and ours["keyspace_misses"] > 0
