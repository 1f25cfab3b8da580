"""A differential fuzzer: random short command sequences, run on our server and on Redis.

Hypothesis draws sequences of string, list and generic key commands from a grammar with small
alphabets (four key names, a few dozen values and numbers, and generated numbers), so
commands keep meeting each other's keys, and every reply must match Redis byte for byte.
After the sequence, the counters of INFO (keyspace hits, misses, expired keys, errors)
and every key of databases 0 and 1 are read back and compared too. A failing sequence
is shrunk and printed as script lines, ready to paste into tests/test_differential_*.py.
A second test matches random glob patterns against random key names (KEYS, SCAN MATCH).

The grammar avoids what two servers cannot agree on:
- Active expiry is off for the whole module (DEBUG SET-ACTIVE-EXPIRE 0), and deadlines
  are either long past (EXAT 1, EXPIRE -1) or at least 1000 seconds away, so a key never
  expires between two commands, and one stored already expired stays until a lookup.
- Relative deadlines differ by the milliseconds between the two servers' commands, so
  TTL and PTTL compare within a second, and so do EXPIRETIME and PEXPIRETIME when the
  deadline could be relative; absolute ones read back exactly. EXPIRE and PEXPIRE never
  take GT: two relative deadlines with the same amount compare by how much time passed
  in between.
- KEYS and SCAN list keys in hash-table order, so they compare sorted; SCAN only with
  cursor 0 and a COUNT that finishes in one call. No RANDOMKEY, no OBJECT IDLETIME.
- Blocking list commands never wait long: their timeouts are 1 ms or invalid, never 0
  (for ever). Redis ends a wait in its periodic cycle, so hz is raised on both servers
  for this module, to keep those milliseconds from becoming a tenth of a second.

Commands run interleaved (one on ours, the same on Redis) so that time moves alike on
both. FUZZ_EXAMPLES raises the number of examples for a deep local run:
    FUZZ_EXAMPLES=3000 python3 -m pytest -q tests/test_differential_fuzz.py
"""

from __future__ import annotations

import os
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.protocol import ReplyParser
from tests.differential import parse_script, unordered
from tests.helpers import RawConnection

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))

# --------------------------------------------------------------------------- alphabets

KEY_NAMES = (b"a", b"b", b"ab", b"")

# Deadlines: the year 3000 in seconds and in ms, and the furthest a relative amount of the
# grammar reaches (RELATIVE_SECONDS and RELATIVE_MS, apart from one huge value).
YEAR_3000 = 32503680000
YEAR_3000_MS = YEAR_3000 * 1000
HUGE_RELATIVE_MS = 9000000000000000000
RELATIVE_REACH_MS = 10**10


def as_bytes(strategy):
    return strategy.map(lambda value: str(value).encode())


def alphabet(good: tuple[bytes, ...], odd: tuple[bytes, ...], *generated):
    """Arguments that mostly work (three to one), so that sequences build up state, and
    now and then one from the ``generated`` strategies."""
    listed = st.sampled_from(good * 3 + odd)
    return st.one_of(listed, listed, *generated)


def joined(*parts):
    """Texts drawn from each strategy, one after the other, as bytes."""
    return st.tuples(*parts).map(lambda texts: "".join(texts).encode())


# Numbers as strtold and string2ll see them: signs, dots, exponents, and junk in between.
DIGITS = st.text("0123456789", max_size=4)
FLOAT_TEXT = st.one_of(
    joined(st.sampled_from(["", "-", "+"]), DIGITS, st.sampled_from(["", "."]), DIGITS,
           st.sampled_from(["", "e", "E", "e-", "e+"]), DIGITS),
    as_bytes(st.floats()),
    st.text("0123456789+-.eExXinfa ", max_size=6).map(str.encode),
)
INTEGER_TEXT = st.one_of(
    as_bytes(st.integers(-30, 30)),
    as_bytes(st.integers(-(2**64), 2**64)),
    st.text("0123456789+- ", max_size=5).map(str.encode),
)

VALUES = alphabet(
    (b"v", b"", b"hello world", b"0", b"1", b"-1", b"10", b"9223372036854775807", b"-9223372036854775808",
     b"1.5", b"-2.5", b"0.1", b"1e3", b"\x00\xff\x01", b"x" * 44, b"ab" * 40, b"mynewtext", b"ohmytext"),
    (b" ", b"007", b"-0", b"+1", b" 1", b"1 ", b"9223372036854775808", b"12345678901234567890", b"3.0e-3",
     b"inf", b"nan", b".5", b"0x10", b"1e400", b"a\r\nb", b"nx", b"Get", b"y" * 45),
    INTEGER_TEXT,
    FLOAT_TEXT,
    st.text("abc", max_size=12).map(str.encode),
    st.binary(max_size=8),
)
INTEGERS = alphabet(
    (b"1", b"-1", b"0", b"10", b"-100", b"9223372036854775807", b"-9223372036854775808"),
    (b"007", b"+5", b" 1", b"", b"x", b"1.5", b"9223372036854775808"),
    INTEGER_TEXT,
)
FLOATS = alphabet(
    (b"0.1", b"1", b"-1.5", b"1e3", b"3.0e-3", b".5", b"-0", b"5e-18", b"1.7976931348623157e308"),
    (b"0x10", b"inf", b"nan", b"x", b"", b" 1"),
    FLOAT_TEXT,
)
RANGE_INDEXES = alphabet(
    (b"0", b"1", b"2", b"5", b"100", b"-1", b"-2", b"-100"),
    (b"9223372036854775807", b"-9223372036854775808", b"x", b"1.5"),
    as_bytes(st.integers(-50, 50)),
)
# Never 536870911 with data: that is a legal offset for a 512 MB string.
SETRANGE_OFFSETS = alphabet(
    (b"0", b"1", b"3", b"10", b"100"),
    (b"-1", b"536870912", b"9223372036854775807", b"x"),
    as_bytes(st.integers(0, 200)),
)
DB_INDEXES = alphabet((b"0", b"1", b"1"), (b"16", b"-1", b"x"))
PATTERNS = (b"*", b"a*", b"*b", b"?", b"??", b"[ab]", b"[^a]", b"[a-b]*", b"a?", b"\\a", b"", b"[", b"a[",
            b"*\\*", b"ab", b"nomatch")

# Relative amounts are 1000 seconds or more: nothing expires during a sequence. They stay
# within RELATIVE_REACH_MS, but for HUGE_RELATIVE_MS, so that `could_be_relative` knows them.
RELATIVE_SECONDS = alphabet(
    (b"1000", b"100000", b"0", b"-1"),
    (b"abc", b"1.5", b"", b"+1000", b"9223372036854775", b"9223372036854775807", b"-9223372036854775"),
    as_bytes(st.integers(1000, RELATIVE_REACH_MS // 1000)),
    as_bytes(st.integers(-(2**63), 0)),
)
RELATIVE_MS = alphabet(
    (b"100000000", b"5000000000", b"0", b"-5"),
    (b"x", b"9223372036854775807", str(HUGE_RELATIVE_MS).encode()),
    as_bytes(st.integers(10**6, RELATIVE_REACH_MS)),
    as_bytes(st.integers(-(2**63), 0)),
)
# Absolute deadlines are far in the future or before 2020, never near now.
ABSOLUTE_SECONDS = alphabet(
    (b"32503680000", b"32503680001", b"32503680005", b"1"),
    (b"0", b"-1", b"9223372036854775", b"9223372036854776", b"x"),
    as_bytes(st.integers(YEAR_3000, YEAR_3000 + 10**4)),
    as_bytes(st.integers(-(2**64), 1577836800)),
    as_bytes(st.integers(YEAR_3000, 2**64)),
)
ABSOLUTE_MS = alphabet(
    (b"32503680000000", b"32503680000123", b"32503680000500", b"32503680001000", b"32503680004999", b"1"),
    (b"0", b"-1", b"9223372036854775807", b"9223372036854775808", b"1.5"),
    as_bytes(st.integers(YEAR_3000_MS, YEAR_3000_MS + 10**7)),
    as_bytes(st.integers(-(2**64), 1577836800000)),
    as_bytes(st.integers(YEAR_3000_MS, 2**64)),
)


def could_be_relative(deadline_ms: int) -> bool:
    """Whether a deadline may have come from a relative amount, so that it differs by
    the milliseconds between the two servers' commands (a minute of slack either way)."""
    now = int(time.time() * 1000)
    return any(now - 60000 <= deadline_ms - base <= now + RELATIVE_REACH_MS + 60000 for base in (0, HUGE_RELATIVE_MS))


# --------------------------------------------------------------------------- the grammar


def word(name: str):
    """An option word in any mix of cases (it shrinks to lower case), now and then with
    bytes after a NUL, which Redis' C string comparisons do not see."""
    cased = st.lists(st.booleans(), min_size=len(name), max_size=len(name)).map(
        lambda upper: "".join(c.upper() if u else c.lower() for c, u in zip(name, upper)).encode()
    )
    return st.tuples(cased, st.sampled_from((b"",) * 9 + (b"\x00junk",))).map(b"".join)


def one(values):
    """A strategy for one argument, from an alphabet strategy or a tuple of values."""
    strategy = values if isinstance(values, st.SearchStrategy) else st.sampled_from(values)
    return strategy.map(lambda value: [value])


KEY = one(KEY_NAMES)
VALUE = one(VALUES)
JUNK = one((b"FOO", b"PERSIST", b"KEEPTTL", b"1"))


def option(name: str, *arguments):
    """An option word followed by arguments drawn from the given alphabets."""
    return st.tuples(word(name), *arguments).map(list)


def options(*choices, max_size: int = 4):
    return st.lists(st.one_of(*choices), max_size=max_size).map(lambda parts: [arg for part in parts for arg in part])


def key_lists(min_size: int = 1, max_size: int = 4):
    return st.lists(st.sampled_from(KEY_NAMES), min_size=min_size, max_size=max_size)


def pairs(max_size: int = 3):
    return st.lists(st.tuples(st.sampled_from(KEY_NAMES), VALUES), min_size=1, max_size=max_size).map(
        lambda items: [arg for item in items for arg in item]
    )


def cmd(name: bytes, *parts):
    """A command: its name, then each part (a strategy for a list of arguments)."""
    return st.tuples(*parts).map(lambda drawn: [name, *(arg for part in drawn for arg in part)])


def flag(name: str):
    return word(name).map(lambda w: [w])


RELATIVE_EXPIRY = (option("EX", RELATIVE_SECONDS), option("PX", RELATIVE_MS))
ABSOLUTE_EXPIRY = (option("EXAT", ABSOLUTE_SECONDS), option("PXAT", ABSOLUTE_MS))
SET_OPTIONS = options(flag("NX"), flag("XX"), flag("GET"), flag("KEEPTTL"), *RELATIVE_EXPIRY, *ABSOLUTE_EXPIRY, JUNK)
GETEX_OPTIONS = options(flag("PERSIST"), *RELATIVE_EXPIRY, *ABSOLUTE_EXPIRY, JUNK, max_size=2)
MIN_MATCH_LENGTHS = st.sampled_from((b"0", b"1", b"3", b"-1", b"x"))
LCS_OPTIONS = options(
    flag("LEN"), flag("IDX"), flag("WITHMATCHLEN"), option("MINMATCHLEN", MIN_MATCH_LENGTHS), max_size=3
)
# GT is only for absolute deadlines (see the module's docstring).
RELATIVE_EXPIRE_FLAGS = options(flag("NX"), flag("XX"), flag("LT"), JUNK, max_size=2)
ABSOLUTE_EXPIRE_FLAGS = options(flag("NX"), flag("XX"), flag("GT"), flag("LT"), JUNK, max_size=2)
COPY_OPTIONS = options(flag("REPLACE"), option("DB", DB_INDEXES), JUNK, max_size=2)
TYPE_NAMES = st.one_of(word("string"), word("none"), word("list"))
SCAN_OPTIONS = options(option("MATCH", st.sampled_from(PATTERNS)), option("TYPE", TYPE_NAMES), max_size=2)
NOTHING = st.just([])

# Lists: few distinct elements, so that LREM, LPOS and LINSERT find matches.
ELEMENTS = alphabet((b"a", b"b", b"c", b"1", b""), (b"x" * 50, b"\x00"), st.binary(max_size=3))
ELEMENT = one(ELEMENTS)
ELEMENT_LISTS = st.lists(ELEMENTS, min_size=1, max_size=4)
POP_COUNTS = alphabet((b"0", b"1", b"2", b"5"), (b"-1", b"x", b"9223372036854775807", b"9223372036854775808"))
LREM_COUNTS = alphabet((b"0", b"1", b"2", b"-1", b"-2"), (b"x", b"-9223372036854775808"))
LPOS_OPTIONS = options(
    option("RANK", st.sampled_from((b"1", b"2", b"-1", b"-2", b"0", b"x", b"-9223372036854775808"))),
    option("COUNT", POP_COUNTS), option("MAXLEN", POP_COUNTS), JUNK, max_size=3,
)
ENDS = st.one_of(word("LEFT"), word("RIGHT"), st.just(b"UP")).map(lambda end: [end])
# Never 0, nor anything that rounds to it: that would wait for ever.
TIMEOUTS = one((b"0.001",) * 6 + (b"-1", b"x", b"inf", b"1e400", b""))


def numkeys_and_keys():
    """LMPOP's ``numkeys key...``: mostly the right count, now and then a wrong one."""
    return st.tuples(key_lists(), st.sampled_from((0,) * 6 + (1, -1))).map(
        lambda drawn: [b"%d" % (len(drawn[0]) + drawn[1]), *drawn[0]]
    )


MPOP_COUNT = options(option("COUNT", POP_COUNTS), max_size=1)
LIST_COMMANDS = (
    cmd(b"LPUSH", KEY, ELEMENT_LISTS),
    cmd(b"RPUSH", KEY, ELEMENT_LISTS),
    cmd(b"LPUSHX", KEY, ELEMENT_LISTS),
    cmd(b"RPUSHX", KEY, ELEMENT_LISTS),
    cmd(b"LPOP", KEY),
    cmd(b"RPOP", KEY, one(POP_COUNTS)),
    cmd(b"LPOP", KEY, one(POP_COUNTS)),
    cmd(b"LLEN", KEY),
    cmd(b"LRANGE", KEY, one(RANGE_INDEXES), one(RANGE_INDEXES)),
    cmd(b"LINDEX", KEY, one(RANGE_INDEXES)),
    cmd(b"LSET", KEY, one(RANGE_INDEXES), ELEMENT),
    cmd(b"LINSERT", KEY, one((b"BEFORE", b"AFTER", b"after", b"MIDDLE")), ELEMENT, ELEMENT),
    cmd(b"LREM", KEY, one(LREM_COUNTS), ELEMENT),
    cmd(b"LTRIM", KEY, one(RANGE_INDEXES), one(RANGE_INDEXES)),
    cmd(b"LPOS", KEY, ELEMENT, LPOS_OPTIONS),
    cmd(b"LMOVE", KEY, KEY, ENDS, ENDS),
    cmd(b"RPOPLPUSH", KEY, KEY),
    cmd(b"LMPOP", numkeys_and_keys(), ENDS, MPOP_COUNT),
    cmd(b"BLPOP", key_lists(), TIMEOUTS),
    cmd(b"BRPOP", key_lists(), TIMEOUTS),
    cmd(b"BLMOVE", KEY, KEY, ENDS, ENDS, TIMEOUTS),
    cmd(b"BRPOPLPUSH", KEY, KEY, TIMEOUTS),
    cmd(b"BLMPOP", TIMEOUTS, numkeys_and_keys(), ENDS, MPOP_COUNT),
)

COMMANDS = st.one_of(
    cmd(b"SET", KEY, VALUE, SET_OPTIONS),
    # A key stored already expired, which only a lookup deletes.
    cmd(b"SET", KEY, VALUE, option("PXAT", st.sampled_from((b"1", b"1577836800000")))),
    cmd(b"GET", KEY),
    cmd(b"GETEX", KEY, GETEX_OPTIONS),
    cmd(b"GETDEL", KEY),
    cmd(b"GETSET", KEY, VALUE),
    cmd(b"MGET", key_lists()),
    cmd(b"MSET", pairs()),
    cmd(b"MSETNX", pairs()),
    cmd(b"SETNX", KEY, VALUE),
    cmd(b"SETEX", KEY, one(RELATIVE_SECONDS), VALUE),
    cmd(b"PSETEX", KEY, one(RELATIVE_MS), VALUE),
    cmd(b"APPEND", KEY, VALUE),
    cmd(b"STRLEN", KEY),
    cmd(b"GETRANGE", KEY, one(RANGE_INDEXES), one(RANGE_INDEXES)),
    cmd(b"SETRANGE", KEY, one(SETRANGE_OFFSETS), VALUE),
    cmd(b"INCR", KEY),
    cmd(b"DECR", KEY),
    cmd(b"INCRBY", KEY, one(INTEGERS)),
    cmd(b"DECRBY", KEY, one(INTEGERS)),
    cmd(b"INCRBYFLOAT", KEY, one(FLOATS)),
    cmd(b"LCS", KEY, KEY, LCS_OPTIONS),
    cmd(b"DEL", key_lists()),
    cmd(b"UNLINK", key_lists()),
    cmd(b"EXISTS", key_lists()),
    cmd(b"TOUCH", key_lists()),
    cmd(b"TYPE", KEY),
    cmd(b"RENAME", KEY, KEY),
    cmd(b"RENAMENX", KEY, KEY),
    cmd(b"COPY", KEY, KEY, COPY_OPTIONS),
    cmd(b"MOVE", KEY, one(DB_INDEXES)),
    cmd(b"EXPIRE", KEY, one(RELATIVE_SECONDS), RELATIVE_EXPIRE_FLAGS),
    cmd(b"PEXPIRE", KEY, one(RELATIVE_MS), RELATIVE_EXPIRE_FLAGS),
    cmd(b"EXPIREAT", KEY, one(ABSOLUTE_SECONDS), ABSOLUTE_EXPIRE_FLAGS),
    cmd(b"PEXPIREAT", KEY, one(ABSOLUTE_MS), ABSOLUTE_EXPIRE_FLAGS),
    cmd(b"PERSIST", KEY),
    cmd(b"TTL", KEY),
    cmd(b"PTTL", KEY),
    cmd(b"EXPIRETIME", KEY),
    cmd(b"PEXPIRETIME", KEY),
    cmd(b"OBJECT", one((b"ENCODING",)), KEY),
    cmd(b"DBSIZE", NOTHING),
    cmd(b"SELECT", one((b"0", b"1"))),
    cmd(b"KEYS", one(PATTERNS)),
    cmd(b"SCAN", one((b"0",)), SCAN_OPTIONS, one((b"COUNT",)), one((b"1000",))),
    *LIST_COMMANDS,
)


def _mutate(argv_and_how):
    """Now and then a wrong arity: the last argument dropped, or one too many."""
    argv, how = argv_and_how
    if how == "drop" and len(argv) > 1:
        return argv[:-1]
    if how == "extra":
        return [*argv, b"extra"]
    return argv


# "keep" comes first, so that shrinking prefers the well-formed command.
COMMAND = st.tuples(COMMANDS, st.sampled_from(["keep"] * 18 + ["drop", "extra"])).map(_mutate)
SEQUENCES = st.lists(COMMAND, min_size=1, max_size=15)

# --------------------------------------------------------------------------- comparing

TTL_UNITS_MS = {b"TTL": 1000, b"PTTL": 1, b"EXPIRETIME": 1000, b"PEXPIRETIME": 1}


def script_line(argv: list[bytes]) -> str:
    """A command as a script line for tests/differential.py (escapes in double quotes)."""
    def quoted(arg: bytes) -> str:
        if arg and all(33 <= b < 127 and b not in b"\"'\\" for b in arg):
            return arg.decode()
        return '"' + "".join(chr(b) if 32 <= b < 127 and b not in b"\"'\\" else f"\\x{b:02x}" for b in arg) + '"'

    return " ".join(quoted(arg) for arg in argv)


def _value(reply: bytes):
    (value,) = ReplyParser().parse(reply)
    return value


# INFO stats fields that count what the commands did (since CONFIG RESETSTAT); the rest
# of the section is times, sizes and byte counts.
COUNTERS = ("keyspace_hits", "keyspace_misses", "expired_keys", "total_error_replies")


def counters(reply: bytes) -> dict[str, bytes]:
    """The COUNTERS of an INFO reply, read from its bytes (RESP3 sends a verbatim string)."""
    return {name: re.search(rb"\r\n%s:(\d+)\r\n" % name.encode(), reply).group(1) for name in COUNTERS}


def same(argv: list[bytes], ours: bytes, theirs: bytes) -> bool:
    """Whether two replies to ``argv`` agree, as far as a deterministic test can tell."""
    name = argv[0]
    if argv == [b"INFO", b"stats"]:
        return counters(ours) == counters(theirs)
    if name in (b"KEYS", b"SCAN"):
        return unordered(ours) == unordered(theirs)
    if name in TTL_UNITS_MS and ours != theirs:
        mine, want = _value(ours), _value(theirs)
        if not (isinstance(mine, int) and isinstance(want, int)) or min(mine, want) < 0:
            return False  # -1 and -2, and errors, are exact
        unit = TTL_UNITS_MS[name]
        if name.endswith(b"EXPIRETIME") and not could_be_relative(mine * unit):
            return False  # an absolute deadline reads back exactly
        return abs(mine - want) * unit <= 1000  # a second apart at most
    return ours == theirs


# After the sequence, every key in both databases is read back: a difference that no
# command of the sequence happened to show (a lost deadline, an encoding) shows here.
READ_BACK = ([b"GET"], [b"PEXPIRETIME"], [b"OBJECT", b"ENCODING"])


def _final_state() -> list[list[bytes]]:
    commands = [[b"INFO", b"stats"], [b"INFO", b"errorstats"]]
    for db in (b"0", b"1"):
        commands += [[b"SELECT", db], [b"DBSIZE"]]
        commands += [[*read, key] for key in KEY_NAMES for read in READ_BACK]
        commands += [[b"LRANGE", key, b"0", b"-1"] for key in KEY_NAMES]
    return commands


FINAL_STATE = _final_state()


def run_both(ours_port: int, reference_port: int, sequence, protocol: int) -> None:
    with RawConnection(ours_port, protocol) as ours, RawConnection(reference_port, protocol) as theirs:
        for connection in (ours, theirs):
            connection.call("FLUSHALL")
            connection.call("CONFIG", "RESETSTAT")
            connection.call("SELECT", "0")
        transcript = []

        def check(argv: list[bytes]) -> None:
            mine, want = ours.call(*argv), theirs.call(*argv)
            transcript.append(script_line(argv))
            if not same(argv, mine, want):
                pytest.fail(
                    f"RESP{protocol}: replies differ from Redis after\n    "
                    + "\n    ".join(transcript)
                    + f"\n   ours:  {mine!r}\n   redis: {want!r}"
                )

        for argv in sequence:
            check(argv)
        transcript.append("# the final state:")
        for argv in FINAL_STATE:
            check(argv)


@pytest.fixture(scope="module")
def no_active_expiry(server, reference):
    """Active expiry off on both servers for this module, back on afterwards: keys stored
    already expired must stay until a lookup deletes them, on both alike."""
    ports = (server.port, reference.port)
    for port in ports:
        with RawConnection(port) as connection:
            assert connection.call("DEBUG", "SET-ACTIVE-EXPIRE", "0") == b"+OK\r\n"
            assert connection.call("CONFIG", "SET", "hz", "500") == b"+OK\r\n"  # see the docstring
    yield ports
    for port in ports:
        with RawConnection(port) as connection:
            connection.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
            connection.call("CONFIG", "SET", "hz", "10")


@settings(max_examples=EXAMPLES, deadline=None)
@given(sequence=SEQUENCES, resp3=st.booleans())
def test_random_sequences_match_redis(no_active_expiry, sequence, resp3):
    ours_port, reference_port = no_active_expiry
    run_both(ours_port, reference_port, sequence, 2)
    if resp3:
        run_both(ours_port, reference_port, sequence, 3)


# KEYS and SCAN MATCH with random patterns over random key names, both made of the bytes
# that mean something in a pattern, and of a few that do not.
GLOB_BYTES = b"ab*?[]^-\\\x00\xff"


def glob_text(max_size: int):
    return st.binary(max_size=max_size).map(lambda raw: bytes(GLOB_BYTES[b % len(GLOB_BYTES)] for b in raw))


@settings(max_examples=EXAMPLES, deadline=None)
@given(names=st.lists(glob_text(4), min_size=1, max_size=8, unique=True),
       patterns=st.lists(glob_text(7), min_size=1, max_size=5))
def test_random_globs_match_redis(no_active_expiry, names, patterns):
    ours_port, reference_port = no_active_expiry
    sequence = [[b"MSET", *(arg for name in names for arg in (name, b"v"))]]
    for pattern in patterns:
        sequence += [[b"KEYS", pattern], [b"SCAN", b"0", b"MATCH", pattern, b"COUNT", b"1000"]]
    run_both(ours_port, reference_port, sequence, 2)


def test_script_lines_read_back():
    """A failure's script lines parse back into the same arguments."""
    argv = [b"SET", b"", b"a b", b"\x00\xff\"'\\", b"Nx"]
    ((_mode, parsed, _line),) = parse_script(script_line(argv))
    assert parsed == argv


def test_deadline_comparison():
    """Deadlines that may be relative compare within a second, the others exactly."""
    soon = int(time.time() * 1000) + 1000000
    assert same([b"TTL", b"a"], b":999\r\n", b":1000\r\n")
    assert same([b"PEXPIRETIME", b"a"], b":%d\r\n" % (soon + 1), b":%d\r\n" % soon)
    assert same([b"EXPIRETIME", b"a"], b":%d\r\n" % (soon // 1000 + 1), b":%d\r\n" % (soon // 1000))
    assert not same([b"TTL", b"a"], b":-1\r\n", b":1000\r\n")
    assert not same([b"PTTL", b"a"], b":1\r\n", b":2000\r\n")
    assert not same([b"TTL", b"a"], b"-ERR x\r\n", b":1\r\n")
    assert not same([b"PEXPIRETIME", b"a"], b":32503680000001\r\n", b":32503680000000\r\n")
    assert not same([b"EXPIRETIME", b"a"], b":32503680001\r\n", b":32503680000\r\n")
    assert not same([b"PEXPIRETIME", b"a"], b":1500000000001\r\n", b":1500000000000\r\n")
