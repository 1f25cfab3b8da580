"""Extreme numbers in every numeric argument, compared byte for byte with a real Redis.

tests/test_differential_fuzz.py throws random bytes at a few command groups; this file
aims at the arguments where a number is read: counts, indexes, offsets, lengths, sizes,
times, scores. Every registered command whose COMMAND DOCS arguments (app/commands/docs)
include an ``integer``, ``double`` or ``unix-time`` one is covered, so a new command is
covered as soon as its docs are generated. For each such argument a *template* is built:
the shortest call that reaches it (the optional blocks and the ``oneof`` branches on the
way to it, nothing else), on small keys of every type set up first, the other numbers
at harmless defaults. Then `VALUES` go in its place one after the other, C's limits and
what is not a number at all.

Each call runs on both servers after a fresh set-up (FLUSHALL, the keys of `SETUP`), and
every reply must be the same bytes: in RESP2 for all of them, and in RESP3 for those
Redis does not refuse (an error reads the same in both protocols, which halves the run).
Each reply must come within `REPLY_TIMEOUT` seconds: a call that hangs fails the test
with its name rather than hanging CI.

Some arguments the docs call strings are numbers (ZRANGE's start and stop, XADD's
threshold...): `NUMERIC_STRINGS` names them. Some calls need more than the shortest form
to get past a syntax check to the number (XADD LIMIT needs ``~``): `TEMPLATES` writes
those by hand, a number to vary written ``{default}``. `test_every_template_is_valid`
checks that each template, with its defaults, is a call Redis accepts, so no template
only ever tests a syntax error.

Where Redis itself never answers, `REDIS_NEVER_ANSWERS` lists the call and why; those run
on our server alone, which must answer them with an error, quickly.

Two more kinds of number are tried the same way: CONFIG SET of every numeric parameter
(whatever CONFIG GET shows as a number, memory sizes with their units too), each set
back at once; and the timeouts of the blocking commands on keys with nothing to take,
where an accepted timeout really blocks and CLIENT UNBLOCK releases the call.
"""

from __future__ import annotations

import importlib
import re
import resource
import select
import socket
from dataclasses import dataclass

from app.commands.arguments import RANDOM_PICKS_LIMIT
from app.commands.registry import all_commands
from app.protocol import ReplyParser, encode_command
from tests.differential import compare
from tests.helpers import RawConnection, wait_until

REPLY_TIMEOUT = 5.0  # seconds: far above any reply here, far below a CI timeout

INT64_MAX = 2**63 - 1

# 0, the signs, C's int, unsigned int and long limits, just past them, and what strtol,
# strtod and string2ll each read differently: blanks, signs, hexadecimal, exponents,
# infinities, NaN, an overflowing float, an empty string and a fraction.
VALUES = [
    b"0", b"-1", b"1",
    b"%d" % 2**31, b"%d" % -(2**31), b"%d" % 2**32, b"%d" % -(2**32),
    b"%d" % INT64_MAX, b"%d" % -INT64_MAX, b"%d" % -(2**63), b"%d" % 2**63, b"%d" % 2**64,
    b"inf", b"-inf", b"nan", b"1e400", b" 1", b"+1", b"-0", b"0x10", b"1e3", b"", b"1.5",
]
# And by command, limits of its own (one past them: a value just within would allocate
# the whole 512 MB on both servers).
EXTRA_VALUES = {
    "setrange": [b"536870912"],  # with one byte, past proto-max-bulk-len
    "setbit": [b"4294967296"],
    # Half a C long, where WITHSCORES stops; the count of the original report
    **dict.fromkeys(("srandmember", "zrandmember", "hrandfield"),
                    [b"-4611686018427387903", b"-4611686018427387904", b"4611686018427387904", b"-9223372036854770000"]),
}

# The keys every call starts from: one of each type, the sets, hashes and sorted sets
# with one member each so that random picks come out the same on both servers.
DUMP_OF_10 = b"\x00\xc0\n\n\x00n\x9fWE\x0e\xaec\xbb"  # DUMP of the string "10", Redis 7.0
SETUP = [
    [b"SET", b"str", b"10"],
    [b"RPUSH", b"list", b"a", b"b", b"c", b"a"],
    [b"HSET", b"hash", b"f", b"1"],
    [b"SADD", b"set", b"m"],
    [b"ZADD", b"zset", b"1", b"m"],
    [b"GEOADD", b"geo", b"13.361389", b"38.115556", b"m"],
    [b"PFADD", b"hll", b"a"],
    [b"XADD", b"stream", b"1-1", b"f", b"v"],
    [b"XADD", b"stream", b"2-1", b"f", b"v"],
    [b"XGROUP", b"CREATE", b"stream", b"g", b"0"],
    [b"XREADGROUP", b"GROUP", b"g", b"c", b"STREAMS", b"stream", b">"],  # two pending entries,
    # idle for 100 s: IDLE and min-idle-time values then select the same entries on both
    # servers, however long the calls take
    [b"XCLAIM", b"stream", b"g", b"c", b"0", b"1-1", b"2-1", b"IDLE", b"100000", b"JUSTID"],
    # A script for EVALSHA and a function for FCALL (neither is removed by FLUSHALL).
    [b"SCRIPT", b"LOAD", b"return(1)"],
    [b"FUNCTION", b"LOAD", b"REPLACE", b"#!lua name=extremes\nredis.register_function{function_name='extremes_f', "
                                       b"callback=function() return 1 end, flags={'no-writes'}}"],
]
KEY_OF_GROUP = {
    "string": b"str", "bitmap": b"str", "generic": b"str", "list": b"list", "hash": b"hash", "set": b"set",
    "sorted-set": b"zset", "geo": b"geo", "hyperloglog": b"hll", "stream": b"stream",
}
KEY_OF_COMMAND = {"sort": b"list", "sort_ro": b"list"}  # generic commands on another type

# String arguments, by name, then by command and name where it matters.
STRING_VALUES = {
    "member": b"m", "field": b"f", "value": b"v", "element": b"a", "pivot": b"a", "group": b"g",
    "groupname": b"g", "consumer": b"c", "id": b"1-1", "start": b"-", "end": b"+", "pattern": b"*",
    "serialized-value": DUMP_OF_10, "last-id": b"5-5", "encoding": b"u8", "connection-name": b"x",
}
COMMAND_STRING_VALUES = {
    "xadd": {"id_or_auto": b"3-1"},  # an explicit id: "*" would make replies differ by time
    "xread": {"id": b"0"},
    "xreadgroup": {"id": b"0"},
    "xgroup|create": {"groupname": b"g2", "id": b"0"},
    "xautoclaim": {"start": b"0"},
    "zrangebylex": {"min": b"-", "max": b"+"},
    "zrevrangebylex": {"max": b"+", "min": b"-"},
}

# Arguments the docs type as strings that Redis reads as numbers, with their defaults.
NUMERIC_STRINGS = {
    ("zrange", "start"): b"0", ("zrange", "stop"): b"-1",
    ("zrangestore", "min"): b"0", ("zrangestore", "max"): b"-1",
    ("xadd", "threshold"): b"5", ("xtrim", "threshold"): b"5",
    ("xclaim", "min-idle-time"): b"0", ("xautoclaim", "min-idle-time"): b"0",
}

# Defaults of the numbers not being varied: by command and name, then by name.
DEFAULTS = {
    "timeout": b"0.01", "numkeys": b"1", "bit": b"1", "port": b"0", "db": b"1", "index": b"1",
    "destination-db": b"1", "protover": b"2", "cursor": b"0",
}
COMMAND_DEFAULTS = {
    ("wait", "numreplicas"): b"0",  # no replica needed: answers at once
    ("wait", "timeout"): b"1",
    ("swapdb", "index1"): b"0",
    ("bitpos", "bit"): b"1",
    ("restore", "ttl"): b"0",
    ("restore", "frequency"): b"1",
    ("restore-asking", "ttl"): b"0",
    ("restore-asking", "frequency"): b"1",
    ("client|tracking", "client-id"): b"0",
    ("zrangebyscore", "min"): b"-inf", ("zrangebyscore", "max"): b"+inf",
    ("zrevrangebyscore", "max"): b"+inf", ("zrevrangebyscore", "min"): b"-inf",
    ("zcount", "min"): b"-inf", ("zcount", "max"): b"+inf",
    ("zremrangebyscore", "min"): b"-inf", ("zremrangebyscore", "max"): b"+inf",
    ("geoadd", "longitude"): b"13", ("geoadd", "latitude"): b"38",
}

# Calls written by hand, where the shortest form stops at a syntax check before the
# number (or the number is not in the docs at all). ``{text}`` is a number to vary,
# ``text`` its default. They replace the generated templates of their command.
TEMPLATES = {
    "eval": ["EVAL return(1) {0}", "EVAL return(1) {1} str"],
    "eval_ro": ["EVAL_RO return(1) {0}", "EVAL_RO return(1) {1} str"],
    "evalsha": ["EVALSHA 930269f31393d0be681588b6ab08dccee7d6bb67 {0}", "EVALSHA 930269f31393d0be681588b6ab08dccee7d6bb67 {1} str"],
    "evalsha_ro": ["EVALSHA_RO 930269f31393d0be681588b6ab08dccee7d6bb67 {0}", "EVALSHA_RO 930269f31393d0be681588b6ab08dccee7d6bb67 {1} str"],
    "fcall": ["FCALL extremes_f {0}", "FCALL extremes_f {1} str"],
    "fcall_ro": ["FCALL_RO extremes_f {0}", "FCALL_RO extremes_f {1} str"],
    "xadd": [
        "XADD stream MAXLEN {5} 3-1 f v",
        "XADD stream MAXLEN ~ {5} LIMIT {10} 3-1 f v",
        "XADD stream MINID {1} 3-1 f v",
        "XADD stream {3}-1 f v",
        "XADD stream 3-{1} f v",
    ],
    "xtrim": [
        "XTRIM stream MAXLEN {5}",
        "XTRIM stream MAXLEN ~ {5} LIMIT {10}",
        "XTRIM stream MINID {1}",
    ],
    "zrange": [
        "ZRANGE zset {0} {-1}",
        "ZRANGE zset {-inf} {+inf} BYSCORE LIMIT {0} {1}",
        "ZRANGE zset - + BYLEX LIMIT {0} {1}",
    ],
    "zrangestore": [
        "ZRANGESTORE dest zset {0} {-1}",
        "ZRANGESTORE dest zset {-inf} {+inf} BYSCORE LIMIT {0} {1}",
    ],
    "client|pause": ["CLIENT PAUSE {1} WRITE"],  # WRITE: CLIENT UNPAUSE still gets through
    "xsetid": [
        "XSETID stream 5-5 ENTRIESADDED {5}",
        "XSETID stream {5}-5",
    ],
    "xgroup|create": ["XGROUP CREATE stream g2 0 ENTRIESREAD {1}"],
    "xgroup|setid": ["XGROUP SETID stream g 0 ENTRIESREAD {1}"],
    "xclaim": [
        "XCLAIM stream g c {0} 1-1",
        "XCLAIM stream g c 0 1-1 IDLE {1}",
        "XCLAIM stream g c 0 1-1 TIME {1}",
        "XCLAIM stream g c 0 1-1 RETRYCOUNT {1}",
    ],
    "xpending": ["XPENDING stream g IDLE {0} - + {10}", "XPENDING stream g - + {10}", "XPENDING stream g {-} + 10"],
    "xrange": ["XRANGE stream - + COUNT {1}", "XRANGE stream {0} +", "XRANGE stream - {9}", "XRANGE stream ({1} +",
               "XRANGE stream {1}-0 +", "XRANGE stream 1-{0} +"],
    "xrevrange": ["XREVRANGE stream + - COUNT {1}", "XREVRANGE stream {9} -", "XREVRANGE stream + ({1}"],
    "xdel": ["XDEL stream {1}"],
    "zrangebyscore": [
        "ZRANGEBYSCORE zset {-inf} +inf", "ZRANGEBYSCORE zset -inf {+inf}", "ZRANGEBYSCORE zset ({0} +inf",
        "ZRANGEBYSCORE zset -inf ({2}", "ZRANGEBYSCORE zset -inf +inf LIMIT {0} 1", "ZRANGEBYSCORE zset -inf +inf LIMIT 0 {1}",
    ],
    "zcount": ["ZCOUNT zset {-inf} +inf", "ZCOUNT zset -inf {+inf}", "ZCOUNT zset ({0} +inf"],
    "bitcount": ["BITCOUNT str {0} -1", "BITCOUNT str 0 {-1}", "BITCOUNT str {0} -1 BIT", "BITCOUNT str 0 {-1} BIT"],
    "bitpos": ["BITPOS str {1}", "BITPOS str 1 {0}", "BITPOS str 1 0 {-1}", "BITPOS str 1 {0} -1 BIT",
               "BITPOS str 1 0 {-1} BIT"],
    "getex": ["GETEX str EX {1}", "GETEX str PX {1}", "GETEX str EXAT {1}", "GETEX str PXAT {1}"],
    "set": ["SET str v EX {1}", "SET str v PX {1}", "SET str v EXAT {1}", "SET str v PXAT {1}"],
    "restore": [
        f"RESTORE dest {{0}} {DUMP_OF_10.decode('latin-1')} IDLETIME {{1}}",
        f"RESTORE dest {{0}} {DUMP_OF_10.decode('latin-1')} FREQ {{1}}",
        f"RESTORE dest {{0}} {DUMP_OF_10.decode('latin-1')} ABSTTL",
    ],
    "restore-asking": [
        f"RESTORE-ASKING dest {{0}} {DUMP_OF_10.decode('latin-1')} IDLETIME {{1}}",
        f"RESTORE-ASKING dest {{0}} {DUMP_OF_10.decode('latin-1')} FREQ {{1}}",
    ],
    "bitfield": [
        "BITFIELD str GET u8 {0}",
        "BITFIELD str SET u8 {0} {1}",
        "BITFIELD str INCRBY u8 {0} {1}",
        "BITFIELD str INCRBY i64 0 {1}",
        "BITFIELD str OVERFLOW FAIL INCRBY u8 0 {1}",
        "BITFIELD str GET u8 #{0}",
    ],
    "bitfield_ro": ["BITFIELD_RO str GET u8 {0}", "BITFIELD_RO str GET i8 #{0}"],
    "lpos": ["LPOS list a RANK {1}", "LPOS list a COUNT {1}", "LPOS list a MAXLEN {1}", "LPOS list a RANK -1 MAXLEN {1}"],
    "sort": ["SORT list LIMIT {0} {1} ALPHA"],
    "sort_ro": ["SORT_RO list LIMIT {0} {1} ALPHA"],
    # On a missing key, Redis answers an empty array whatever the count: no picks to make.
    "srandmember": ["SRANDMEMBER set {1}", "SRANDMEMBER nokey {1}"],
    "zrandmember": ["ZRANDMEMBER zset {1}", "ZRANDMEMBER zset {1} WITHSCORES", "ZRANDMEMBER nokey {1} WITHSCORES"],
    "hrandfield": ["HRANDFIELD hash {1}", "HRANDFIELD hash {1} WITHVALUES", "HRANDFIELD nokey {1}"],
}

# Run after the call, to leave the connection as it found it ({protocol}: 2 or 3).
CLEANUP = {
    "client|pause": ["CLIENT UNPAUSE"],
    "client|tracking": ["CLIENT TRACKING off"],
    "hello": ["HELLO {protocol}"],
    "select": ["SELECT 0"],
}

# Replies that may differ between the servers in content but not in kind, compared by
# type only when Redis accepts the call (its errors are still compared exactly): random
# output, times, ids of connections, and the SCAN family, whose cursors are each
# server's own (a cursor other than 0 means something different to each).
TYPE_ONLY = {
    "acl|genpass", "acl|log", "client|list", "memory|usage", "slowlog|get", "client|kill", "hello",
    "scan", "hscan", "sscan", "zscan",
}
MASKED_INTEGERS = {"xpending", "xinfo|stream"}  # idle and seen times, in ms: integers compared as ":#"

# Templates Redis refuses even with their defaults, and why that is still a test.
REFUSED_TEMPLATES = {
    "client|tracking": "no id names a client to redirect to, so every number is refused: how is what is compared",
    "failover": "no replica is connected: the arguments are read and refused first, then the call",
}

# Commands with numeric arguments left out, and why.
LEFT_OUT = {
    "psync": "turns the connection into a replica's link",
    "replicaof": "would make the server a replica of whatever the port names",
    "slaveof": "would make the server a replica of whatever the port names",
    "migrate": "would send keys to whatever the port names (tests/test_migrate.py tries its numbers)",
    # A standalone server (the reference is one) refuses every cluster subcommand before
    # it reads a number; tests/test_cluster_*.py try them on cluster nodes.
    **{f"cluster|{name}": "cluster mode only" for name in (
        "meet", "set-config-epoch", "addslots", "delslots", "addslotsrange", "delslotsrange", "setslot",
        "countkeysinslot", "getkeysinslot")},
}

# Calls that Redis 7.0.15 never answers: a negative count asks for that many random
# picks, repeats allowed, and Redis writes the reply pick after pick, growing until it is
# killed or dies of memory (2**31 picks are already tens of GB of reply). It refuses only
# -2**63, and with WITHSCORES/WITHVALUES what is past half a C long. These would take
# the shared reference down, so they run on ours alone, which answers "-ERR value is out
# of range" past RANDOM_PICKS_LIMIT (2**27) picks: see app/commands/arguments.py.
HUGE_NEGATIVE_COUNTS = ("-2147483648", "-4294967296", "-4611686018427387903")
REDIS_NEVER_ANSWERS = {
    *(f"{call} {count}" for call in ("SRANDMEMBER set", "ZRANDMEMBER zset", "HRANDFIELD hash")
      for count in (*HUGE_NEGATIVE_COUNTS, "-4611686018427387904", "-9223372036854770000", "-9223372036854775807")),
    *(f"{call} {count} {pairs}" for call, pairs in (("ZRANDMEMBER zset", "WITHSCORES"), ("HRANDFIELD hash", "WITHVALUES"))
      for count in HUGE_NEGATIVE_COUNTS),
}
NEVER_ANSWERED_REPLY = b"-ERR value is out of range\r\n"
# Just past the limit, for ours alone (Redis would serve it, in minutes and gigabytes).
PAST_THE_LIMIT = [
    [b"SRANDMEMBER", b"set", b"%d" % -(RANDOM_PICKS_LIMIT + 1)],
    [b"ZRANDMEMBER", b"zset", b"%d" % -(RANDOM_PICKS_LIMIT + 1), b"WITHSCORES"],
    [b"HRANDFIELD", b"hash", b"%d" % -(RANDOM_PICKS_LIMIT + 1)],
]


@dataclass(frozen=True)
class Case:
    command: str  # the command's full name: "client|pause"
    argv: tuple[bytes, ...]
    template: str  # the template, for messages
    cleanup: tuple[tuple[bytes, ...], ...] = ()  # calls after it, before `CLEANUP`'s

    @property
    def line(self) -> str:
        return " ".join(arg.decode("latin-1") if arg else '""' for arg in self.argv)


# --------------------------------------------------------------------------- templates


def documented_arguments(entry) -> list[dict]:
    module = importlib.import_module(f"app.commands.docs.{entry.group.replace('-', '_')}")
    return module.DOCS.get(entry.name, {}).get("arguments", [])


def is_numeric(name: str, argument: dict) -> bool:
    return argument["type"] in ("integer", "double", "unix-time") or (name, argument["name"]) in NUMERIC_STRINGS


def numeric_arguments(name: str, arguments: list[dict]):
    for argument in arguments:
        if is_numeric(name, argument):
            yield argument
        yield from numeric_arguments(name, argument.get("arguments", []))


def contains(argument: dict, target: dict) -> bool:
    return argument is target or any(contains(child, target) for child in argument.get("arguments", []))


def generated_template(entry, target: dict) -> list:
    """The shortest call of ``entry`` that reaches the numeric argument ``target``: a
    list of words, the one to vary being a one-element tuple holding its default."""
    name = entry.name
    strings = {**STRING_VALUES, **COMMAND_STRING_VALUES.get(name, {})}
    key = KEY_OF_COMMAND.get(name, KEY_OF_GROUP.get(entry.group, b"str"))

    def words(argument: dict) -> list:
        out = [argument["token"].encode()] if argument.get("token") else []
        kind, arg_name = argument["type"], argument["name"]
        if kind == "pure-token":
            return out
        if is_numeric(name, argument):
            default = default_of(name, argument)
            return out + [(default,) if argument is target else default]
        if arg_name in strings and kind in ("string", "pattern", "oneof"):
            return out + [strings[arg_name]]
        if kind == "oneof":
            chosen = next((alt for alt in argument["arguments"] if contains(alt, target)), argument["arguments"][0])
            return out + words(chosen)
        if kind == "block":
            return out + sequence(argument["arguments"])
        if kind == "key":
            if name in COMMAND_STRING_VALUES and arg_name in COMMAND_STRING_VALUES[name]:
                return out + [COMMAND_STRING_VALUES[name][arg_name]]
            return out + [b"dest" if any(part in arg_name for part in ("dest", "dst", "newkey")) else key]
        return out + [b"x"]

    def sequence(arguments: list[dict]) -> list:
        out = []
        for argument in arguments:
            if "optional" in argument.get("flags", "") and not contains(argument, target):
                continue
            out += words(argument)
        return out

    prefix = [part.encode() for part in name.split("|")]
    return prefix + sequence(documented_arguments(entry))


def default_of(name: str, argument: dict) -> bytes:
    arg_name = argument["name"]
    if (name, arg_name) in COMMAND_DEFAULTS:
        return COMMAND_DEFAULTS[(name, arg_name)]
    if (name, arg_name) in NUMERIC_STRINGS:
        return NUMERIC_STRINGS[(name, arg_name)]
    return DEFAULTS.get(arg_name, b"1")


def written_templates(text: str) -> list[list]:
    """A hand-written template -> one template per ``{default}`` in it."""
    words = text.encode("latin-1").split(b" ")
    slots = [i for i, word in enumerate(words) if b"{" in word]
    templates = []
    for slot in slots:
        template = []
        for i, word in enumerate(words):
            if b"{" in word:
                head, _, rest = word.partition(b"{")
                inside, _, tail = rest.partition(b"}")
                template.append((head, inside, tail) if i == slot else head + inside + tail)
            else:
                template.append(word)
        templates.append(template)
    return templates


def templates_of(entry) -> list[list]:
    """Every template of one command: a list of words in which one is the slot, as a
    tuple (prefix, default, suffix) or (default,)."""
    if entry.name in TEMPLATES:
        return [t for text in TEMPLATES[entry.name] for t in written_templates(text)]
    arguments = documented_arguments(entry)
    return [generated_template(entry, target) for target in numeric_arguments(entry.name, arguments)]


def fill(template: list, value: bytes | None) -> tuple[bytes, ...]:
    """The call with ``value`` in the slot (its default when None)."""
    out = []
    for word in template:
        if isinstance(word, tuple):
            head, default, tail = word if len(word) == 3 else (b"", word[0], b"")
            word = head + (default if value is None else value) + tail
        out.append(word)
    return tuple(out)


def describe(template: list) -> str:
    words = []
    for word in template:
        if isinstance(word, tuple):
            head, default, tail = word if len(word) == 3 else (b"", word[0], b"")
            word = head + b"<" + default + b">" + tail
        words.append(word.decode("latin-1"))
    return " ".join(words)


def covered_commands():
    """(entry, templates) for every command with a numeric argument, but `LEFT_OUT`."""
    for entry in all_commands():
        if entry.handler is None or entry.name in LEFT_OUT:
            continue
        templates = templates_of(entry)
        if templates:
            yield entry, templates


def all_cases() -> tuple[list[Case], list[Case]]:
    """(cases for both servers, cases for ours alone: `REDIS_NEVER_ANSWERS`)."""
    shared, ours_alone = [], []
    for entry, templates in covered_commands():
        for template in templates:
            for value in VALUES + EXTRA_VALUES.get(entry.name, []):
                case = Case(entry.name, fill(template, value), describe(template))
                (ours_alone if case.line in REDIS_NEVER_ANSWERS else shared).append(case)
    return shared, ours_alone


# --------------------------------------------------------------------------- running


class Session:
    """One connection running cases, each after a fresh set-up, pipelined in batches."""

    BATCH = 40

    def __init__(self, port: int, protocol: int):
        self.protocol = protocol
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=REPLY_TIMEOUT)
        self.parser = ReplyParser()
        self.pending: list[bytes] = []
        if protocol == 3:
            self.sock.sendall(encode_command([b"HELLO", b"3"]))
            self.next_reply("HELLO 3")

    def next_reply(self, what: str) -> bytes:
        while not self.pending:
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                raise AssertionError(f"no reply within {REPLY_TIMEOUT}s (RESP{self.protocol}): {what}") from None
            if not data:
                raise AssertionError(f"the server closed the connection (RESP{self.protocol}): {what}")
            self.pending.extend(raw for _value, raw in self.parser.parse_raw(data))
        return self.pending.pop(0)

    def run(self, cases: list[Case]) -> list[bytes]:
        replies = []
        for start in range(0, len(cases), self.BATCH):
            batch = cases[start : start + self.BATCH]
            commands, counts = [], []
            for case in batch:
                steps = [[b"SELECT", b"0"], [b"FLUSHALL"], *SETUP, list(case.argv), *map(list, case.cleanup)]
                steps += [line.format(protocol=self.protocol).encode().split() for line in CLEANUP.get(case.command, ())]
                commands.append(b"".join(encode_command(step) for step in steps))
                counts.append((len(SETUP) + 2, len(steps) - len(SETUP) - 3))
            self.sock.sendall(b"".join(commands))
            for case, (before, after) in zip(batch, counts):
                for _ in range(before):
                    self.next_reply(f"the set-up before {case.line}")
                replies.append(self.next_reply(case.line))
                for _ in range(after):
                    self.next_reply(f"the clean-up after {case.line}")
        return replies

    def close(self):
        self.sock.close()


def run_cases(port: int, protocol: int, cases: list[Case]) -> list[bytes]:
    session = Session(port, protocol)
    try:
        return session.run(cases)
    finally:
        session.close()


def differences(cases: list[Case], ours: list[bytes], theirs: list[bytes], protocol: int) -> list[str]:
    problems = []
    for case, got, want in zip(cases, ours, theirs):
        if got == want:
            continue
        if case.command in TYPE_ONLY and got[:1] == want[:1] and want[:1] != b"-":
            continue
        if case.command in MASKED_INTEGERS and mask_integers(got) == mask_integers(want):
            continue
        problems.append(f"RESP{protocol} {case.line}   [{case.template}]\n   ours:  {got!r}\n   redis: {want!r}")
    return problems


def mask_integers(reply: bytes) -> bytes:
    return re.sub(rb"(^|\n):-?\d+\r", rb"\1:#\r", reply)


def is_error(reply: bytes) -> bool:
    return reply[:1] == b"-"


# --------------------------------------------------------------------------- tests


def test_every_command_with_a_numeric_argument_is_covered():
    """Each command whose docs name a number has templates, or says why it has none."""
    missing = []
    for entry in all_commands():
        if entry.handler is None or entry.name in LEFT_OUT:
            continue
        documented = list(numeric_arguments(entry.name, documented_arguments(entry)))
        if documented and not templates_of(entry):
            missing.append(entry.name)
    assert not missing
    names = {entry.name for entry, _templates in covered_commands()}
    assert {"zrandmember", "srandmember", "hrandfield", "setrange", "xadd", "client|pause"} <= names
    assert len(names) > 100


def test_every_template_is_valid(server, reference):
    """With its defaults, every template is a call Redis accepts (so the values put in
    its slot test the number, not a syntax error elsewhere), and ours does too."""
    cases = [Case(entry.name, fill(template, None), describe(template))
             for entry, templates in covered_commands() for template in templates]
    theirs = run_cases(reference.port, 2, cases)
    refused = [f"{case.line}: {reply!r}" for case, reply in zip(cases, theirs)
               if is_error(reply) and case.command not in REFUSED_TEMPLATES]
    assert not refused, "templates Redis refuses:\n" + "\n".join(refused)
    ours = run_cases(server.port, 2, cases)
    problems = differences(cases, ours, theirs, 2)
    assert not problems, "replies differ from Redis:\n" + "\n".join(problems)


def test_extreme_values_get_the_replies_redis_gives(server, reference):
    shared, _ours_alone = all_cases()
    theirs = run_cases(reference.port, 2, shared)
    ours = run_cases(server.port, 2, shared)
    problems = differences(shared, ours, theirs, 2)
    # An error is the same in both protocols: RESP3 only for what Redis accepted.
    accepted = [case for case, reply in zip(shared, theirs) if not is_error(reply)]
    assert len(accepted) > 100
    theirs3 = run_cases(reference.port, 3, accepted)
    ours3 = run_cases(server.port, 3, accepted)
    problems += differences(accepted, ours3, theirs3, 3)
    assert not problems, f"{len(problems)} replies differ from Redis:\n" + "\n".join(problems)


def test_calls_redis_never_answers_get_an_error_from_ours(server):
    """`REDIS_NEVER_ANSWERS`: run on ours alone, each must be refused at once."""
    _shared, ours_alone = all_cases()
    assert {case.line for case in ours_alone} == REDIS_NEVER_ANSWERS  # each listed call is generated
    ours_alone += [Case(argv[0].decode().lower(), tuple(argv), "past the limit") for argv in PAST_THE_LIMIT]
    for protocol in (2, 3):
        replies = run_cases(server.port, protocol, ours_alone)
        wrong = [f"{case.line}: {reply!r}" for case, reply in zip(ours_alone, replies) if reply != NEVER_ANSWERED_REPLY]
        assert not wrong, "\n".join(wrong)



# --------------------------------------------------------------------------- CONFIG SET

# Numeric parameters not set here: the listening ports, which would move the server.
CONFIG_LEFT_OUT = {b"port", b"tls-port"}
# What memory parameters read besides plain numbers: units, either case, and overflow.
MEMORY_VALUES = [b"1k", b"1kb", b"1GB", b"-1gb", b"1mb ", b"8589934592gb", b"17179869184gb", b"1.5gb", b"gb"]
# maxclients past the open files limit: Redis lowers the limit it tries 16 at a time,
# one system call each, from what is asked down to what it has, and answers "try with
# N" at the end. From 2**31 that is 134 million calls: minutes in which it answers no
# one. Ours finds the same N in a few calls (app/open_files.py), so it runs alone.
CONFIG_REDIS_NEVER_ANSWERS = {b"maxclients": [b"%d" % 2**31]}


def maxclients_values() -> list[bytes]:
    """Just within and just past the open files limit the servers inherit from us (Redis
    keeps 32 files for itself): the second is refused, with the number to try."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > 2**31:
        return []
    return [b"%d" % (hard - 32), b"%d" % (hard - 31)]


def numeric_parameters(port: int) -> dict[bytes, bytes]:
    """Every parameter whose value is a number, with that value (memory sizes included:
    CONFIG GET shows them in bytes)."""
    session = Session(port, 2)
    try:
        session.sock.sendall(encode_command([b"CONFIG", b"GET", b"*"]))
        (reply,) = ReplyParser().parse(session.next_reply("CONFIG GET *"))
    finally:
        session.close()
    values = dict(zip(reply[::2], reply[1::2]))
    return {name: value for name, value in values.items() if re.fullmatch(rb"-?\d+", value)}


def config_cases(parameters: dict[bytes, bytes], never_answered: bool = False) -> list[Case]:
    """CONFIG SET of each value, each followed by setting the parameter back; with
    ``never_answered``, those of `CONFIG_REDIS_NEVER_ANSWERS`, and only those."""
    cases = []
    for name, original in sorted(parameters.items()):
        if name in CONFIG_LEFT_OUT:
            continue
        values = VALUES + MEMORY_VALUES + (maxclients_values() if name == b"maxclients" else [])
        for value in values:
            if never_answered == (value in CONFIG_REDIS_NEVER_ANSWERS.get(name, ())):
                cases.append(Case("config|set", (b"CONFIG", b"SET", name, value), f"CONFIG SET {name.decode()} <n>",
                                  cleanup=((b"CONFIG", b"SET", name, original),)))
    return cases


def test_config_set_of_extreme_numbers_gets_the_replies_redis_gives(server, reference):
    theirs_parameters, ours_parameters = numeric_parameters(reference.port), numeric_parameters(server.port)
    assert set(ours_parameters) == set(theirs_parameters) and len(theirs_parameters) > 50
    # Each server is set back to its own value (its port, say, differs).
    theirs_cases, ours_cases = config_cases(theirs_parameters), config_cases(ours_parameters)
    theirs, ours = run_cases(reference.port, 2, theirs_cases), run_cases(server.port, 2, ours_cases)
    problems = differences(theirs_cases, ours, theirs, 2)
    assert not problems, f"{len(problems)} replies differ from Redis:\n" + "\n".join(problems)
    assert numeric_parameters(server.port) == ours_parameters  # every one set back


def test_config_set_redis_never_answers_is_answered_by_ours(server):
    """`CONFIG_REDIS_NEVER_ANSWERS`, on ours alone: an answer, within the time limit; the
    refusal Redis would give in the end, unless this process may open files without
    limit."""
    parameters = numeric_parameters(server.port)
    cases = config_cases(parameters, never_answered=True)
    assert [case.argv[2:] for case in cases] == [(b"maxclients", b"%d" % 2**31)]
    (reply,) = run_cases(server.port, 2, cases)
    refusal = (b"-ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating system is not "
               b"able to handle the specified number of clients, try with ")
    assert reply.startswith(refusal) or reply == b"+OK\r\n"
    assert numeric_parameters(server.port) == parameters


# --------------------------------------------------------------------------- blocking for real

# Blocking calls on keys with nothing to take, so that a timeout Redis accepts really
# blocks: the deadline computed from it must not overflow or crash. Each is released by
# CLIENT UNBLOCK as soon as the server counts it blocked, so no value is waited out.
BLOCKING_SETUP = [[b"XGROUP", b"CREATE", b"stream", b"g", b"$", b"MKSTREAM"]]
BLOCKING_TEMPLATES = [
    "BLPOP nolist {0}", "BRPOP nolist {0}", "BLMOVE nolist dest LEFT LEFT {0}", "BRPOPLPUSH nolist dest {0}",
    "BLMPOP {0} 1 nolist LEFT", "BZPOPMIN nozset {0}", "BZPOPMAX nozset {0}", "BZMPOP {0} 1 nozset MIN",
    "XREAD BLOCK {0} STREAMS stream $", "XREADGROUP GROUP g c BLOCK {0} STREAMS stream >",
]


def blocked_clients(connection) -> int:
    info = connection.call(b"INFO", b"clients").decode()
    return int(info.split("blocked_clients:")[1].split("\r\n")[0])


def run_blocking(port: int, protocol: int, calls: list[tuple[bytes, ...]]) -> list[tuple[bytes, bytes]]:
    """Each call on a fresh set-up: (its reply, CLIENT UNBLOCK's reply or b"" if it
    answered without blocking). Whether a timeout of a millisecond or so ran out before
    CLIENT UNBLOCK came is chance: only the first is the same on both servers."""
    results = []
    with RawConnection(port, protocol, timeout=REPLY_TIMEOUT) as caller, \
            RawConnection(port, timeout=REPLY_TIMEOUT) as control:
        caller_id = int(caller.call(b"CLIENT", b"ID")[1:-2])
        for argv in calls:
            control.call(b"FLUSHALL")
            for step in BLOCKING_SETUP:
                control.call(*step)
            caller.send_command(*argv)
            line = " ".join(arg.decode("latin-1") for arg in argv)
            answered_or_blocked = wait_until(
                lambda: select.select([caller.sock], [], [], 0)[0] or blocked_clients(control),
                timeout=REPLY_TIMEOUT, what=f"a reply to, or the blocking of, {line}")
            unblocked = b"" if answered_or_blocked == [caller.sock] else control.call(b"CLIENT", b"UNBLOCK", caller_id)
            try:
                results.append((caller.read_raw(), unblocked))
            except socket.timeout:
                raise AssertionError(f"no reply within {REPLY_TIMEOUT}s after CLIENT UNBLOCK: {line}") from None
    return results


def test_blocking_with_extreme_timeouts_gets_the_replies_redis_gives(server, reference):
    calls = [fill(template, value) for text in BLOCKING_TEMPLATES for template in written_templates(text)
             for value in VALUES]
    problems = []
    for protocol in (2, 3):
        theirs, ours = run_blocking(reference.port, protocol, calls), run_blocking(server.port, protocol, calls)
        problems += [f"RESP{protocol} {b' '.join(argv)!r}\n   ours:  {got!r}\n   redis: {want!r}"
                     for argv, (got, _), (want, _) in zip(calls, ours, theirs) if got != want]
        assert any(unblocked for _reply, unblocked in theirs)  # some did block
    assert not problems, f"{len(problems)} replies differ from Redis:\n" + "\n".join(problems)


# --------------------------------------------------------------------------- proto-max-bulk-len


def test_size_limits_follow_proto_max_bulk_len(server, reference):
    """The largest string is proto-max-bulk-len, whatever makes it: at 1 MB, one byte
    more is refused (SETRANGE, APPEND, SETBIT's and BITFIELD's offsets), one less is not."""
    compare(server.port, reference.port, """
        CONFIG SET proto-max-bulk-len 1mb
        SETRANGE k 1048575 x
        SETRANGE k 1048576 x
        SETRANGE k2 1048570 xxxxxxx
        APPEND k y
        STRLEN k
        GETRANGE k 1048575 -1000000000000
        GETRANGE k -9223372036854775808 9223372036854775807
        SETBIT k3 8388607 1
        SETBIT k3 8388608 1
        BITFIELD k3 SET u8 8388600 1
        BITFIELD k3 SET u8 8388601 1
        BITFIELD k3 GET u8 8388601 GET u8 9223372036854775807
        STRLEN k3
        CONFIG SET proto-max-bulk-len 512mb
    """)
