"""Fuzzing the whole server: random and mutated RESP, sent by many clients at once.

Nothing here compares replies with Redis (tests/test_differential_fuzz.py does that for
a few command groups). The question is only whether bad or hostile input can hurt the
server or the other clients. After every example, and all along the concurrent runs:

- the server process is alive, and a fresh, clean connection gets +PONG to PING within
  `PING_BOUND` seconds (generous, to stay clear of a slow CI machine: bench/fuzz.py
  reports the real worst latency);
- no reply contains "internal error" (a handler raised something other than a
  ReplyError: app/commands/registry.py turns that into an error reply and a log entry);
- at the end, the server has printed no "Traceback" and no "Internal error".

A protocol error followed by the server closing the connection is the expected answer
to malformed input (Redis does the same), so it is never a failure.

What is generated:
- well-formed commands from a grammar built on the command table (`COMMANDS`,
  subcommands included): arguments drawn from small pools (a few key names, so that
  commands of every type collide on the same keys; small and huge integers; floats
  such as inf, nan and 1e309; empty, binary and keyword arguments), with the arity the
  table declares and now and then a wrong one; sent pipelined, in mixed case, as RESP
  or as inline commands, and cut at random byte boundaries across several sends;
- mutated pipelines: bytes flipped, inserted or deleted, truncated, `*`/`$` lengths
  replaced by negative, huge or mismatched ones, and hostile tails (unbalanced quotes,
  NUL bytes, lines longer than the inline limit);
- several clients at once, some hanging up in the middle of a command, and one that
  never reads the replies to a large pipeline of GETs of a big value.

The grammar leaves out what would stop or disturb the run rather than test it:
SHUTDOWN, DEBUG, MONITOR, REPLICAOF/SLAVEOF, SYNC/PSYNC, CLIENT KILL, CLIENT PAUSE, PFSELFTEST; CONFIG SET only
of the harmless parameters in `SAFE_CONFIG`; ACL SETUSER/DELUSER never of the default
user; blocking commands and WAIT only with timeouts of 10 to 100 ms; bit offsets and
negative RANDMEMBER counts never in the range that Redis accepts but would allocate
hundreds of megabytes for. The same grammar drives the long run, bench/fuzz.py, which
imports the pools and `SHAPES` from here.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.commands import COMMANDS
from app.protocol import encode_command
from tests.helpers import RawConnection, start_ours

PING_BOUND = 5.0  # seconds a clean client may wait for +PONG
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "350"))

# --------------------------------------------------------------------------- the grammar

# Commands that would end or derail the run instead of exercising the server, and
# PFSELFTEST: no arguments to fuzz, and a second of the server's time each.
EXCLUDED = {b"shutdown", b"debug", b"monitor", b"replicaof", b"slaveof", b"sync", b"psync", b"pfselftest"}
EXCLUDED_SUBCOMMANDS = {b"client|kill", b"client|pause"}
# Slow (they write the whole dataset; COMMAND DOCS and INFO without names take 50-120 ms) or undoing the others' work: drawn far less often than the rest.
RARE = {b"save", b"bgsave", b"bgrewriteaof", b"flushall", b"flushdb", b"command|docs", b"command|info"}

# CONFIG SET parameters that change behaviour without changing the rules of the run
# (not port, bind, dir, dbfilename, appendonly, maxclients, requirepass, save, maxmemory,
# timeouts, logging or buffer limits).
SAFE_CONFIG = tuple(
    name.encode()
    for name in (
        "hz activerehashing notify-keyspace-events hash-max-listpack-entries hash-max-listpack-value "
        "set-max-intset-entries zset-max-listpack-entries zset-max-listpack-value list-max-listpack-size "
        "list-compress-depth stream-node-max-entries stream-node-max-bytes hll-sparse-max-bytes "
        "slowlog-log-slower-than latency-monitor-threshold maxmemory-policy maxmemory-samples "
        "lazyfree-lazy-user-del lazyfree-lazy-user-flush lfu-log-factor lfu-decay-time acl-pubsub-default "
        "latency-tracking latency-tracking-info-percentiles rdbcompression rdbchecksum appendfsync"
    ).split()
)

POOLS: dict[str, tuple[bytes, ...]] = {
    "key": (b"a", b"b", b"c", b"{a}x", b"", b"\x00\xff"),
    "value": (b"", b"v", b"0", b"1", b"-1", b"1.5", b"hello world", b"\x00\r\n\xff", b"x" * 300,
              b"\"'\\", b"*1\r\n$4\r\nPING\r\n"),
    "int": (b"0", b"1", b"2", b"3", b"5", b"10", b"-1", b"-2", b"-5", b"100",
            b"2147483647", b"4294967295", b"4294967296", b"9223372036854775807", b"-9223372036854775808",
            b"9223372036854775808", b"-9223372036854775809", b"18446744073709551616", b"9999999999",
            b"1" + b"0" * 40, b"0x10", b"+5", b"-0", b"007", b" 1", b"1 ", b"1e3", b""),
    "float": (b"0.5", b"-0.0", b"3.14", b"inf", b"-inf", b"+inf", b"nan", b"-nan", b"1e309", b"-1e309",
              b"1e308", b"5e-324", b"1.", b".5", b"1e", b"(1", b"(inf", b"(-inf", b"0x1p3"),
    "word": (b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR", b"EX", b"PX", b"EXAT", b"PXAT", b"KEEPTTL", b"GET",
             b"PERSIST", b"WITHSCORES", b"WITHSCORE", b"LIMIT", b"COUNT", b"MATCH", b"TYPE", b"BYSCORE",
             b"BYLEX", b"REV", b"LEFT", b"RIGHT", b"BEFORE", b"AFTER", b"MIN", b"MAX", b"MAXLEN", b"MINID",
             b"~", b"=", b"*", b"$", b">", b"+", b"-", b"[a", b"(a", b"0-1", b"1-0", b"0-0", b"1-*",
             b"18446744073709551615-18446744073709551615", b"-1-1", b"STREAMS", b"GROUP", b"NOACK",
             b"MKSTREAM", b"ENTRIESREAD", b"IDLE", b"TIME", b"RETRYCOUNT", b"FORCE", b"JUSTID", b"LASTID",
             b"LEN", b"IDX", b"MINMATCHLEN", b"WITHMATCHLEN", b"STORE", b"STOREDIST", b"BY", b"ASC",
             b"DESC", b"ALPHA", b"WEIGHTS", b"AGGREGATE", b"SUM", b"FROMMEMBER", b"FROMLONLAT",
             b"BYRADIUS", b"BYBOX", b"M", b"KM", b"FT", b"WITHCOORD", b"WITHDIST", b"WITHHASH", b"ANY",
             b"OVERFLOW", b"WRAP", b"SAT", b"FAIL", b"INCRBY", b"SET", b"u8", b"i16", b"i64", b"u63",
             b"u64", b"#1", b"#0", b"BIT", b"BYTE", b"RANK", b"MAXLEN", b"FULL", b"CONSUMERS", b"ID",
             b"REPLACE", b"ABSTTL", b"FREQ", b"DB", b"COPY", b"SAMPLES", b"ASYNC", b"SYNC", b"RESET",
             b"ON", b"OFF", b"SKIP", b"YES", b"NO", b"NOW", b"TIMEOUT", b"ERROR", b"AND", b"OR",
             b"XOR", b"NOT", b"help", b"ch", b"nx"),
    "pattern": (b"*", b"a*", b"?", b"[a-c]", b"[^a]", b"[", b"\\", b"a\\", b"[a-", b"*" * 50,
                b"*a" * 30 + b"b", b"?" * 40, b"__key*__:*", b"[]", b"[!]"),
    "timeout": (b"0.01", b"0.01", b"0.02", b"0.1"),
    "timeout_ms": (b"10", b"10", b"20", b"100"),
    "side": (b"LEFT", b"RIGHT", b"left", b"middle"),
    "minmax": (b"MIN", b"MAX"),
    "id": (b"$", b">", b"0", b"0-0", b"+", b"1-1", b"999999999999-0", b"x"),
    "db": (b"0", b"1", b"15", b"16", b"-1", b"x"),
    "user": (b"alice", b"bob", b"", b"\xff"),
    "auth_user": (b"alice", b"bob", b"default", b"nobody"),
    "password": (b"pw", b"", b"secret", b"nopass"),
    "protover": (b"2", b"3", b"1", b"4", b"x"),
    "acl_rule": (b"on", b"off", b"nopass", b">pw", b"<pw", b">secret", b"resetpass", b"~*", b"~a*",
                 b"%R~*", b"%W~b", b"allkeys", b"resetkeys", b"&*", b"allchannels", b"resetchannels",
                 b"+@all", b"-@all", b"+get", b"-get", b"+@string", b"+@read", b"allcommands",
                 b"nocommands", b"reset", b"(~a* +set)", b"clearselectors", b"+config|get",
                 b"-client|kill", b"+nonexist", b"~", b">", b"#abc", b"+@nonexist", b"(", b"(~*"),
    "config_name": SAFE_CONFIG,
    "config_value": (b"0", b"1", b"2", b"5", b"64", b"128", b"-1", b"yes", b"no", b"allkeys-lru",
                     b"noeviction", b"volatile-ttl", b"allkeys-lfu", b"KEA", b"Ex", b"", b"1mb", b"abc",
                     b"99999999999999999999", b"50 99", b"everysec", b"always", b"resetchannels"),
}

# Where the generic grammar's integers could make Redis-legal but enormous values
# (SETBIT 4294967295 allocates 512 MB; SRANDMEMBER -9999999999 lists ten billion
# members): these commands draw their integers from a pool that stays clear of that.
BIG_ALLOCATION = {b"setbit", b"setrange", b"bitfield", b"srandmember", b"zrandmember", b"hrandfield"}
POOLS["safe_int"] = tuple(
    n for n in POOLS["int"] if n not in (b"2147483647", b"4294967295", b"9999999999")
)

# How generic arguments are drawn: pool name and weight.
GENERIC = (("key", 6), ("value", 3), ("int", 4), ("float", 2), ("word", 4), ("pattern", 1))

# Argument shapes for the commands the generic grammar would misuse: one tuple of slots
# per form; a slot is a pool name, a literal (bytes), or a pool name ending in "*" for
# zero to three more of the same.
SHAPES: dict[bytes, tuple[tuple, ...]] = {
    b"blpop": (("key", "key*", "timeout"),),
    b"brpop": (("key", "key*", "timeout"),),
    b"bzpopmin": (("key", "key*", "timeout"),),
    b"bzpopmax": (("key", "key*", "timeout"),),
    b"brpoplpush": (("key", "key", "timeout"),),
    b"blmove": (("key", "key", "side", "side", "timeout"),),
    b"blmpop": (("timeout", b"1", "key", "side"), ("timeout", b"2", "key", "key", "side", b"COUNT", "int"),
                ("timeout", "int", "key", "side")),
    b"bzmpop": (("timeout", b"1", "key", "minmax"), ("timeout", b"2", "key", "key", "minmax", b"COUNT", "int")),
    b"xread": ((b"COUNT", "int", b"BLOCK", "timeout_ms", b"STREAMS", "key", "id"),
               (b"BLOCK", "timeout_ms", b"STREAMS", "key", "key", "id", "id"), (b"STREAMS", "key", "id"),
               (b"STREAMS", "key", "key", "id")),
    b"xreadgroup": ((b"GROUP", "value", "value", b"BLOCK", "timeout_ms", b"STREAMS", "key", "id"),
                    (b"GROUP", "value", "value", b"COUNT", "int", b"NOACK", b"STREAMS", "key", "id"),
                    (b"GROUP", "value", "value", b"STREAMS", "key", "key", "id", "id")),
    b"wait": (("int", "timeout_ms"),),
    b"config|set": (("config_name", "config_value"), ("config_name", "config_value", "config_name", "config_value")),
    b"acl|setuser": (("user", "acl_rule*"), ("user", "acl_rule", "acl_rule", "acl_rule", "acl_rule*")),
    b"acl|deluser": (("user", "user*"),),
    b"acl|dryrun": (("user", "value", "key*"), ("auth_user", b"get", "key")),
    b"auth": (("password",), ("auth_user", "password")),
    b"hello": ((), ("protover",), ("protover", b"AUTH", "auth_user", "password"), ("protover", b"SETNAME", "value")),
    b"select": (("db",),),
    b"swapdb": (("db", "db"),),
    b"move": (("key", "db"),),
    b"copy": (("key", "key"), ("key", "key", b"DB", "db", b"REPLACE")),
}


def _grammar() -> list[tuple[bytes, bytes | None, int, int]]:
    """(command name, subcommand name or None, arguments after the name(s) at least,
    whether more may follow) for every command the fuzzer sends, each once, with the
    rare ones marked by a negative weight."""
    entries = []
    for name, command in sorted(COMMANDS.items()):
        if name in EXCLUDED:
            continue
        if command.subcommands:
            for sub, subcommand in sorted(command.subcommands.items()):
                if name + b"|" + sub not in EXCLUDED_SUBCOMMANDS:
                    entries.append((name, sub, abs(subcommand.arity) - 2, subcommand.arity < 0))
        else:
            entries.append((name, None, abs(command.arity) - 1, command.arity < 0))
    return entries


GRAMMAR = _grammar()
# Commands that wait (up to their 10-100 ms timeout) come a quarter as often as others,
# or they would set the pace of the whole run.
WAITING = {b"blpop", b"brpop", b"brpoplpush", b"blmove", b"blmpop", b"bzpopmin", b"bzpopmax", b"bzmpop",
           b"xread", b"xreadgroup", b"wait"}

def _full_name(entry) -> bytes:
    return entry[0] + b"|" + entry[1] if entry[1] else entry[0]


COMMON = [entry for entry in GRAMMAR if _full_name(entry) not in RARE for _ in range(1 if entry[0] in WAITING else 4)]
RARE_ENTRIES = [entry for entry in GRAMMAR if _full_name(entry) in RARE]

# Replacement lengths for mutated `*N` / `$N` lines.
BAD_LENGTHS = (b"-1", b"-2", b"0", b"2147483647", b"9999999999", b"536870912", b"536870913",
               b"18446744073709551616", b"", b"abc", b"1 ", b"+1", b"01", b"1048577", b"-9223372036854775808")
# Tails that end a pipeline badly.
HOSTILE_TAILS = (
    b'SET "abc\r\n', b"SET 'a\r\n", b'SET "a"b c\r\n', b"GET \"\\x4\"\r\n", b"\x00\x00\x00\r\n",
    b"PING\x00PING\r\n", b"*1\r\n$4\x00\r\nPING\r\n", b"x" * 70000, b"GET " + b"y" * 70000 + b"\r\n",
    b"*" + b"9" * 70000, b"*1\r\n$" + b"9" * 70000, b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$536870912\r\n" + b"z" * 5000,
    b"*2147483647\r\n", b"*1\r\n$-1\r\n", b"*1\r\n:1\r\n", b"\r\n\r\n\r\n", b"   \r\n", b'""\r\n',
    b"*-1\r\n*0\r\n", b"*1\r\n$4\r\nPING", b"*2\r\n$4\r\nECHO\r\n$3\r\nabcdefgh\r\n",
)
LENGTH_LINE = re.compile(rb"([*$])(-?\d+)\r\n")


def encode_inline(args: list[bytes]) -> bytes:
    """The command as an inline line, quoting what needs it (as redis-cli would)."""
    words = []
    for arg in args:
        if arg and all(33 <= b < 127 and b not in b"\"'\\" for b in arg):
            words.append(arg)
        else:
            words.append(b'"' + b"".join(b"\\x%02x" % b for b in arg) + b'"')
    return b" ".join(words) + b"\r\n"


# --------------------------------------------------------------------------- strategies


def pool(name: str):
    return st.sampled_from(POOLS[name])


def generic_argument(name: bytes):
    choices = []
    for pool_name, weight in GENERIC:
        if pool_name == "int" and name in BIG_ALLOCATION:
            pool_name = "safe_int"
        choices += [pool(pool_name)] * weight
    return st.one_of(*choices, st.binary(max_size=12))


def slot(item):
    if isinstance(item, bytes):
        return st.just([item])
    if item.endswith("*"):
        return st.lists(pool(item[:-1]), max_size=3)
    return pool(item).map(lambda value: [value])


def shaped_arguments(shape: tuple):
    return st.tuples(*(slot(item) for item in shape)).map(lambda parts: [arg for part in parts for arg in part])


def mixed_case(word: bytes):
    return st.sampled_from((word, word.upper(), word.capitalize()))


@st.composite
def command(draw) -> list[bytes]:
    """One well-formed command (the right arity in nine out of ten)."""
    name, sub, least, more = draw(st.sampled_from(COMMON) if draw(st.integers(0, 49)) else st.sampled_from(RARE_ENTRIES))
    key = name + b"|" + sub if sub else name
    head = [draw(mixed_case(name))] + ([draw(mixed_case(sub))] if sub else [])
    if key in SHAPES:
        return head + draw(st.sampled_from(SHAPES[key]).flatmap(shaped_arguments))
    if draw(st.integers(0, 9)) == 0:
        count = draw(st.integers(0, 6))
    else:
        count = least + (draw(st.integers(0, 4)) if more else 0)
    return head + draw(st.lists(generic_argument(name), min_size=count, max_size=count))


@st.composite
def pipeline(draw, max_commands: int = 12) -> bytes:
    """Commands encoded one after the other, as RESP or (one in eight) inline."""
    commands = draw(st.lists(command(), min_size=1, max_size=max_commands))
    inline = st.integers(0, 7)
    return b"".join(encode_inline(args) if not draw(inline) else encode_command(args) for args in commands)


@st.composite
def mutated(draw) -> bytes:
    """A pipeline with one to four mutations."""
    data = bytearray(draw(pipeline(max_commands=6)))
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(("flip", "insert", "delete", "truncate", "length", "tail")))
        at = draw(st.integers(0, len(data)))
        if operation == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif operation == "insert":
            data[at:at] = draw(st.one_of(st.sampled_from((b"\r\n", b"\x00", b"*", b"$", b"-1", b'"', b"'", b"\\", b"\n")),
                                         st.binary(min_size=1, max_size=8)))
        elif operation == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif operation == "truncate":
            del data[at:]
        elif operation == "length":
            lines = list(LENGTH_LINE.finditer(data))
            if lines:
                line = draw(st.sampled_from(lines))
                data[line.start(2) : line.end(2)] = draw(st.one_of(
                    st.sampled_from(BAD_LENGTHS), st.integers(-3, 3).map(lambda d, n=int(line.group(2)): b"%d" % (n + d))))
        else:
            data += draw(st.sampled_from(HOSTILE_TAILS))
    return bytes(data)


def splits(data: bytes):
    """``data`` cut at random byte boundaries into the pieces of several sends."""
    return st.lists(st.integers(0, len(data)), max_size=4).map(
        lambda cuts: [data[a:b] for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(data)]) if b > a])


fuzz_input = st.one_of(
    st.tuples(st.just("commands"), pipeline().flatmap(splits)),
    st.tuples(st.just("mutated"), mutated().flatmap(splits)),
    st.tuples(st.just("hang-up"), mutated().flatmap(splits)),
)


# --------------------------------------------------------------------------- running inputs

SENTINEL_COMMAND = b"fuzz-sentinel-7c1e"
# RESET takes the connection out of MULTI, subscribed mode, CLIENT REPLY OFF and RESP3;
# the unknown command then answers with an error naming itself, whatever the state.
SENTINEL = b"RESET\r\n" + SENTINEL_COMMAND + b"\r\n"


class InternalError(AssertionError):
    pass


# Bugs found by this fuzzer and not fixed yet: command name -> what goes wrong. Their
# internal errors are let through here, so the fuzzing goes on finding others; each has
# a strict xfail test below with its exact bytes, which starts to fail once it is fixed
# (then remove it from here).
KNOWN_BUGS: dict[str, str] = {}


def run_input(port: int, kind: str, pieces: list[bytes], quiet: float = 0.15, deadline: float = 3.0,
              check: bool = True) -> bytes:
    """Send ``pieces`` on a new connection and return what came back.

    "commands": ends with the sentinel and reads until it comes back (or the server
    hangs up); "mutated": the same, but stops after ``quiet`` seconds of silence, since a
    mutated length may leave the server waiting for bytes that never come; "hang-up":
    closes the connection as soon as the bytes are sent, maybe in mid-command. With
    ``check``, fails on a reply reporting an internal error not in `KNOWN_BUGS`."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=PING_BOUND)
    received = bytearray()
    try:
        try:
            for piece in pieces:
                sock.sendall(piece)
            if kind == "hang-up":
                return b""
            sock.sendall(SENTINEL)
        except OSError:  # the server already closed after a protocol error
            pass
        sock.settimeout(quiet if kind == "mutated" else deadline)
        ends = time.monotonic() + deadline
        while SENTINEL_COMMAND not in received and time.monotonic() < ends:
            try:
                data = sock.recv(65536)
            except (TimeoutError, socket.timeout):
                break
            except OSError:
                break
            if not data:
                break
            received += data
    finally:
        sock.close()
    if check:
        check_replies(bytes(received), b"".join(pieces))
    return bytes(received)


def unknown_internal_errors(text: bytes) -> list[bytes]:
    """Lines of ``text`` reporting an internal error that is not already in `KNOWN_BUGS`."""
    return [name for name in re.findall(rb"nternal error running '([^']*)'", text)
            if name.decode(errors="replace") not in KNOWN_BUGS]


def check_replies(received: bytes, sent: bytes) -> None:
    unknown = unknown_internal_errors(received)
    if unknown:
        start = received.find(b"internal error")
        raise InternalError(f"internal error ({unknown[0]!r}) in reply to {sent!r}: ...{received[start - 200 : start + 300]!r}")


def ping_latency(port: int) -> float:
    """Seconds a fresh client waits for +PONG; fails beyond `PING_BOUND`."""
    started = time.monotonic()
    with RawConnection(port, timeout=PING_BOUND) as connection:
        connection.send(b"PING\r\n")
        assert connection.read_raw() == b"+PONG\r\n"
    elapsed = time.monotonic() - started
    assert elapsed < PING_BOUND, f"PING took {elapsed:.2f}s"
    return elapsed


def vm_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


class Fuzzed:
    """The server under fuzzing, with its output drained by a thread (a full pipe would
    block its logging, and with it the server)."""

    def __init__(self):
        self.process = start_ours("--loglevel", "warning", "--save", "")
        self.port = self.process.port
        self.pid = self.process.process.pid
        self.output = bytearray()
        self.drain = threading.Thread(target=self._drain, daemon=True)
        self.drain.start()

    def _drain(self) -> None:
        stream = self.process.process.stdout
        while chunk := stream.read1(65536):
            self.output += chunk

    def assert_healthy(self) -> float:
        assert self.process.process.poll() is None, f"server died: {self.log()}"
        return ping_latency(self.port)

    def log(self) -> str:
        return self.output.decode(errors="replace")

    def stop(self) -> str:
        if self.process.process.poll() is None:
            self.process.process.terminate()
            self.process.process.wait(10)
        self.drain.join(10)
        self.process.stop()
        return self.log()


@pytest.fixture(scope="module")
def fuzzed():
    server = Fuzzed()
    yield server
    server.stop()


def assert_clean_log(log: str) -> None:
    """No traceback in the server's output but those of the internal errors of `KNOWN_BUGS`."""
    names = re.findall(r"Internal error running '([^']*)'", log)
    assert [name for name in names if name not in KNOWN_BUGS] == [], log[-5000:]
    assert log.count("Traceback") == len(names), log[-5000:]


# --------------------------------------------------------------------------- tests

fuzz_settings = settings(max_examples=EXAMPLES, deadline=None, derandomize=False, database=None,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                HealthCheck.function_scoped_fixture])


@fuzz_settings
@given(data=fuzz_input)
def test_one_client_at_a_time(fuzzed, data):
    kind, pieces = data
    run_input(fuzzed.port, kind, pieces)
    fuzzed.assert_healthy()


@settings(fuzz_settings, max_examples=max(3, EXAMPLES // 40))
@given(script=st.lists(fuzz_input, min_size=36, max_size=36))
def test_many_clients_at_once(fuzzed, script):
    """Six clients run the same inputs at once, each starting at a different place,
    while a clean one PINGs every 50 ms. (One list shared out, rather than a list per
    client: hypothesis is much slower to build nested lists this large.)"""
    failures: list[BaseException] = []

    def client(start):
        try:
            for kind, pieces in script[start:] + script[:start]:
                run_input(fuzzed.port, kind, pieces)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=client, args=(start,)) for start in range(0, 36, 6)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        fuzzed.assert_healthy()
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    fuzzed.assert_healthy()


HOSTILE_LENGTHS = [
    pytest.param(b"*2147483647\r\n", id="huge-array"),
    pytest.param(b"*9999999999\r\n", id="array-past-int"),
    pytest.param(b"*1048576\r\n$4\r\nPING\r\n", id="array-at-limit"),
    pytest.param(b"*1\r\n$2147483647\r\n", id="bulk-past-limit"),
    pytest.param(b"*1\r\n$9999999999\r\n", id="bulk-past-int"),
    pytest.param(b"*2\r\n$3\r\nGET\r\n$536870912\r\n" + b"q" * 65536, id="bulk-at-limit-never-sent"),
    pytest.param(b"*1\r\n$-5\r\n", id="negative-bulk"),
    pytest.param(b"*-7\r\n*1\r\n$4\r\nPING\r\n", id="negative-array"),
    pytest.param(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nvalue-longer\r\n", id="bulk-shorter-than-data"),
    pytest.param(b'SET "unbalanced\r\n', id="inline-unbalanced"),
    pytest.param(b"GET " + b"n" * 70000, id="inline-too-long"),
    pytest.param(b"\x00" * 70000, id="nul-bytes"),
]


@pytest.mark.parametrize("data", HOSTILE_LENGTHS)
def test_hostile_lengths_on_many_connections(fuzzed, data):
    """Twenty connections send the same hostile bytes and stay open: the server keeps
    answering others, and each costs it at most a few megabytes."""
    before = vm_kib(fuzzed.pid)
    sockets = []
    try:
        for _ in range(20):
            sock = socket.create_connection(("127.0.0.1", fuzzed.port), timeout=PING_BOUND)
            sock.sendall(data)
            sockets.append(sock)
        fuzzed.assert_healthy()
        grown_mib = (vm_kib(fuzzed.pid) - before) / 1024
        assert grown_mib < 100, f"{grown_mib:.0f} MiB more after 20 connections sent {data[:40]!r}"
        time.sleep(0.2)
        for sock in sockets:
            sock.setblocking(False)
            try:
                reply = sock.recv(65536)
            except BlockingIOError:
                continue  # still waiting for the rest: fine
            check_replies(reply, data)
    finally:
        for sock in sockets:
            sock.close()
    fuzzed.assert_healthy()


BIG_VALUE = b"B" * 64 * 1024
# 2000 GETs of a 64 KB value in one 54 KB send: 125 MB of replies.
UNREAD_GETS = encode_command([b"GET", b"fuzz:big"]) * 2000


def test_never_reader_does_not_stall_others(fuzzed):
    """A client pipelines GETs of a big value and never reads: other clients still get
    their PONG at once, while it is stuck and after it hangs up."""
    with RawConnection(fuzzed.port) as setup:
        assert setup.call(b"SET", b"fuzz:big", BIG_VALUE) == b"+OK\r\n"
    with socket.create_connection(("127.0.0.1", fuzzed.port)) as reader:
        reader.sendall(UNREAD_GETS)
        worst = max(fuzzed.assert_healthy() for _ in range(20))
        assert worst < 1.0
    with RawConnection(fuzzed.port) as cleanup:
        cleanup.call(b"DEL", b"fuzz:big")
    fuzzed.assert_healthy()


def test_never_reader_memory_stays_within_output_buffer_limit():
    """With a normal-client output buffer limit of 8 MB (Redis then disconnects the
    client), a client that never reads costs the server far less than the 125 MB of
    replies it asked for."""
    server = start_ours("--loglevel", "warning", "--save", "", "--client-output-buffer-limit", "normal 8mb 4mb 1")
    try:
        with RawConnection(server.port) as setup:
            assert setup.call(b"SET", b"fuzz:big", BIG_VALUE) == b"+OK\r\n"
        pid = server.process.pid
        before = vm_kib(pid)
        with socket.create_connection(("127.0.0.1", server.port)) as reader:
            reader.sendall(UNREAD_GETS)
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and vm_kib(pid) - before < 64 * 1024:
                time.sleep(0.05)
            grown_mib = (vm_kib(pid) - before) / 1024
            assert ping_latency(server.port) < 1.0
        assert grown_mib < 64, f"the server grew by {grown_mib:.0f} MiB for a client that never reads"
    finally:
        server.stop()


@pytest.mark.parametrize("request_bytes", [
    pytest.param(b"*3\r\n$7\r\nCOMMAND\r\n$4\r\nINFO\r\n$1\r\n\xff\r\n", id="command-info"),
    pytest.param(b"*3\r\n$7\r\nCOMMAND\r\n$4\r\nDOCS\r\n$1\r\n\xff\r\n", id="command-docs"),
    pytest.param(b"*3\r\n$7\r\nLATENCY\r\n$9\r\nHISTOGRAM\r\n$1\r\n\xff\r\n", id="latency-histogram"),
])
def test_non_utf8_command_name_is_not_an_internal_error(fuzzed, request_bytes):
    with RawConnection(fuzzed.port) as connection:
        connection.send(request_bytes)
        assert b"internal error" not in connection.read_raw()


def test_acl_dryrun_denied_non_utf8_key_is_not_an_internal_error(fuzzed):
    with RawConnection(fuzzed.port) as connection:
        assert connection.call(b"ACL", b"SETUSER", b"fuzz-dryrun", b"on", b"+@all", b"~a*") == b"+OK\r\n"
        try:
            connection.send(b"*5\r\n$3\r\nACL\r\n$6\r\nDRYRUN\r\n$11\r\nfuzz-dryrun\r\n$3\r\nget\r\n$1\r\n\xff\r\n")
            assert b"internal error" not in connection.read_raw()
        finally:
            connection.call(b"ACL", b"DELUSER", b"fuzz-dryrun")


def test_huge_negative_random_count_is_refused_without_freezing_the_server(fuzzed):
    """A negative count asks for that many random picks, repeats allowed: Redis 7.0.15
    refuses -2**63, and past half a C long WITHSCORES, but starts on -9223372036854775807
    and never finishes. Ours refuses any past RANDOM_PICKS_LIMIT (app/commands/arguments.py)
    at once; tests/test_differential_extremes.py has every such call."""
    with RawConnection(fuzzed.port, timeout=PING_BOUND) as hostile, \
            RawConnection(fuzzed.port, timeout=PING_BOUND) as clean:
        hostile.call(b"ZADD", b"huge-count:z", b"1", b"m")
        hostile.call(b"SADD", b"huge-count:s", b"m")
        hostile.call(b"HSET", b"huge-count:h", b"f", b"v")
        for argv in ([b"ZRANDMEMBER", b"huge-count:z", b"-9223372036854775807"],
                     [b"ZRANDMEMBER", b"huge-count:z", b"-9223372036854770000", b"WITHSCORES"],
                     [b"SRANDMEMBER", b"huge-count:s", b"-9223372036854775807"],
                     [b"HRANDFIELD", b"huge-count:h", b"-4611686018427387903", b"WITHVALUES"]):
            assert hostile.call(*argv) == b"-ERR value is out of range\r\n", argv
        assert clean.call(b"PING") == b"+PONG\r\n"


def test_server_logged_no_traceback(fuzzed):
    """Last: nothing above made the server print a traceback or an internal error."""
    fuzzed.assert_healthy()
    assert_clean_log(fuzzed.log())


def test_config_set_of_non_utf8_numbers_is_a_parse_error(fuzzed):
    """Found by bench/fuzz.py: a numeric parameter given bytes that are not UTF-8."""
    with RawConnection(fuzzed.port) as connection:
        connection.send(b"*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$14\r\nlfu-log-factor\r\n$3\r\na\x9ab\r\n")
        assert connection.read_raw() == (b"-ERR CONFIG SET failed (possibly related to argument 'lfu-log-factor') - "
                                         b"argument couldn't be parsed into an integer\r\n")
