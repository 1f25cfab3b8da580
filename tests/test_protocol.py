"""RESP: the request parser, inline splitting, reply encoding and parsing.

Pure unit and property tests, plus protocol errors compared byte for byte with a real
Redis through raw sockets.
"""

from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.protocol import (
    ENCODERS,
    INLINE_MAX_SIZE,
    NO_REPLY,
    NULL_ARRAY,
    BigNumber,
    DoubleText,
    ProtocolError,
    Push,
    ReplyError,
    ReplyParser,
    RequestParser,
    SetReply,
    Verbatim,
    encode_command,
    encode_reply,
    format_double,
    split_inline,
)
from tests.helpers import RawConnection

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def feed(chunks, parser: RequestParser | None = None):
    """Feed ``chunks`` one by one; stop at the first protocol error like the server does."""
    parser = parser or RequestParser()
    commands = []
    for chunk in chunks:
        got, error = parser.parse(chunk)
        commands += got
        if error is not None:
            return commands, error
    return commands, None


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(set(c % (len(data) + 1) for c in cuts)), len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


# --------------------------------------------------------------------------- request parser


def test_array_of_bulk_strings():
    assert feed([b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n"]) == ([[b"ECHO", b"hi"]], None)


def test_bulk_strings_are_binary_safe():
    value = b"\r\n\x00*$\xff"
    assert feed([encode_command([b"SET", b"k", value])]) == ([[b"SET", b"k", value]], None)
    assert feed([b"*1\r\n$0\r\n\r\n"]) == ([[b""]], None)


def test_inline_commands():
    assert feed([b"PING\r\n", b"ECHO hi\n", b'SET "a b" \'c d\'\r\n']) == (
        [[b"PING"], [b"ECHO", b"hi"], [b"SET", b"a b", b"c d"]],
        None,
    )


def test_inline_command_waits_for_its_newline():
    parser = RequestParser()
    assert parser.parse(b"PING") == ([], None)
    assert parser.parse(b"\r") == ([], None)
    assert parser.pending == 5
    assert parser.parse(b"\n") == ([[b"PING"]], None)
    assert parser.pending == 0


def test_empty_arrays_and_empty_lines_are_ignored():
    assert feed([b"*0\r\n*-1\r\n\r\n\n   \r\n\t\n*1\r\n$4\r\nPING\r\n"]) == ([[b"PING"]], None)


def test_pipeline_mixing_both_forms():
    data = b"PING\r\n*1\r\n$4\r\nPING\r\nECHO a\r\n*2\r\n$4\r\nECHO\r\n$1\r\nb\r\n"
    assert feed([data]) == ([[b"PING"], [b"PING"], [b"ECHO", b"a"], [b"ECHO", b"b"]], None)


def test_crlf_after_a_bulk_string_is_not_checked():
    # Redis skips two bytes after the body, and only looks for '\r' in count lines.
    assert feed([b"*1\r\n$4\r\nPINGxx*1\r\n$4\rxPING\r\n"]) == ([[b"PING"], [b"PING"]], None)


def test_large_bulk_string_in_small_pieces():
    value = bytes(range(256)) * 4096  # 1 MiB
    data = encode_command([b"SET", b"key", value]) + b"PING\r\n"
    value_start = data.index(value)
    parser = RequestParser()
    commands = []
    for received in range(1000, len(data) + 1000, 1000):
        got, error = parser.parse(data[received - 1000 : received])
        assert error is None
        commands += got
        if value_start < received < value_start + len(value):
            # Inside the value, the header is consumed and only the value's bytes wait.
            assert commands == [] and parser.pending == received - value_start
    assert commands == [[b"SET", b"key", value], [b"PING"]]
    assert parser.pending == 0


def test_a_long_count_line_is_fine_once_complete():
    # Redis only refuses a long line when no '\r' has arrived; with the '\r' at the very
    # end it waits for the '\n' and then judges the number.
    count = b"*" + b"1" * (INLINE_MAX_SIZE + 10)
    commands, error = feed([count + b"\r", b"\n"])
    assert commands == [] and error.reply.message == "ERR Protocol error: invalid multibulk length"
    bulk = b"*1\r\n$" + b"1" * (INLINE_MAX_SIZE + 10)
    commands, error = feed([bulk + b"\r", b"\n"])
    assert commands == [] and error.reply.message == "ERR Protocol error: invalid bulk length"


def test_nul_byte_hides_the_end_of_a_line():
    # Redis finds line ends with strchr(), which stops at a NUL byte: the line never ends.
    for data in (b"PING\x00\r\n", b"*1\x00\r\n", b"*1\r\n$4\x00\r\nPING\r\n", b"*1\r\n\x00$4\r\n"):
        parser = RequestParser()
        assert parser.parse(data) == ([], None), data
        assert parser.parse(b"PING\r\n") == ([], None), data
    # ...until the buffer is too big.
    commands, error = feed([b"PING\x00\r\n", b"x" * INLINE_MAX_SIZE])
    assert commands == [] and error.reply.message == "ERR Protocol error: too big inline request"
    # A NUL inside a bulk string, or after the line end, is just data.
    assert feed([b"*1\r\n$1\r\n\x00\r\nPING\r\n\x00"]) == ([[b"\x00"], [b"PING"]], None)


def test_commands_before_an_error_are_returned():
    commands, error = feed([b"*1\r\n$4\r\nPING\r\nECHO a\r\n*bad\r\n*1\r\n$4\r\nPING\r\n"])
    assert commands == [[b"PING"], [b"ECHO", b"a"]]
    assert error.reply.message == "ERR Protocol error: invalid multibulk length"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"*x\r\n", "invalid multibulk length"),
        (b"*\r\n", "invalid multibulk length"),
        (b"*-0\r\n", "invalid multibulk length"),
        (b"*01\r\n", "invalid multibulk length"),
        (b"*2147483648\r\n", "invalid multibulk length"),
        (b"*1\r\n+PING\r\n", "expected '$', got '+'"),
        (b"*1\r\n$-1\r\n", "invalid bulk length"),
        (b"*1\r\n$01\r\n", "invalid bulk length"),
        (b"*1\r\n$\r\n", "invalid bulk length"),
        (b"*1\r\n$+4\r\nPING\r\n", "invalid bulk length"),
        (b"*1\r\n$536870913\r\n", "invalid bulk length"),
        (b'PING "a\r\n', "unbalanced quotes in request"),
        (b"PING 'a'b\r\n", "unbalanced quotes in request"),
        (b"x" * (INLINE_MAX_SIZE + 1), "too big inline request"),
        (b"*" + b"1" * INLINE_MAX_SIZE, "too big mbulk count string"),
        (b"*1\r\n$" + b"1" * INLINE_MAX_SIZE, "too big bulk count string"),
    ],
)
def test_protocol_error_messages(data, message):
    commands, error = feed([data])
    assert commands == []
    assert isinstance(error, ProtocolError)
    assert error.reply.message == "ERR Protocol error: " + message


def test_inline_size_limit_is_strictly_greater_than():
    assert feed([b"x" * INLINE_MAX_SIZE]) == ([], None)
    assert feed([b"*" + b"1" * (INLINE_MAX_SIZE - 1)]) == ([], None)


def test_expected_dollar_error_keeps_the_raw_byte():
    _commands, error = feed([b"*1\r\n\xff\r\n"])
    assert encode_reply(error.reply) == b"-ERR Protocol error: expected '$', got '\xff'\r\n"


def test_max_bulk_len_is_configurable():
    parser = RequestParser(max_bulk_len=3)
    assert parser.parse(b"*1\r\n$3\r\nabc\r\n") == ([[b"abc"]], None)
    commands, error = parser.parse(b"*1\r\n$4\r\nabcd\r\n")
    assert commands == [] and error.reply.message == "ERR Protocol error: invalid bulk length"


# Random commands: binary arguments go in arrays, plain words may go inline.
WORD = st.binary(min_size=1, max_size=8).filter(lambda w: not any(c in w for c in b" \t\r\n\x0b\x0c\x00\"'"))
ARRAY_COMMAND = st.lists(st.binary(max_size=40), min_size=1, max_size=5).map(lambda args: (args, encode_command(args)))
INLINE_COMMAND = st.lists(WORD.filter(lambda w: w[:1] != b"*"), min_size=1, max_size=5).map(
    lambda args: (args, b" ".join(args) + b"\r\n")
)
COMMANDS = st.lists(st.one_of(ARRAY_COMMAND, INLINE_COMMAND), min_size=1, max_size=8)


@FAST
@given(COMMANDS, st.lists(st.integers(min_value=0), max_size=20))
def test_pipeline_in_any_pieces_gives_the_same_commands(commands, cuts):
    data = b"".join(encoded for _args, encoded in commands)
    expected = [args for args, _encoded in commands]
    assert feed([data]) == (expected, None)
    assert feed(split_at(data, cuts)) == (expected, None)


@FAST
@given(COMMANDS)
def test_pipeline_byte_by_byte(commands):
    data = b"".join(encoded for _args, encoded in commands)
    parser = RequestParser()
    assert feed([data[i : i + 1] for i in range(len(data))], parser) == ([a for a, _e in commands], None)
    assert parser.pending == 0


# Bytes that mean something to the parser, so random input reaches every branch.
PROTOCOL_BYTES = st.lists(
    st.sampled_from([b"*", b"$", b"\r\n", b"\r", b"\n", b"\x00", b"-", b"0", b"1", b"2", b"9", b"+", b" ", b'"', b"'",
                     b"\\", b"x", b"a", b"\xff", b"*1\r\n", b"$1\r\n", b"*2\r\n", b"$0\r\n"]),
    max_size=60,
).map(b"".join)


def _describe(result):
    commands, error = result
    return commands, None if error is None else error.reply.message


@settings(max_examples=500, deadline=1000)  # a generous per-example bound: the parser never hangs
@given(st.one_of(st.binary(max_size=300), PROTOCOL_BYTES), st.lists(st.integers(min_value=0), max_size=10))
def test_random_bytes_never_raise_and_pieces_do_not_matter(data, cuts):
    commands, error = RequestParser().parse(data)
    assert isinstance(commands, list) and all(isinstance(a, list) and a for a in commands)
    assert all(isinstance(arg, bytes) for argv in commands for arg in argv)
    assert error is None or isinstance(error, ProtocolError)
    assert _describe(feed(split_at(data, cuts))) == _describe((commands, error))


# Pipelines as clients send them, with arguments that hold CRLFs, and damaged tails.
CRLF_ARGS = st.lists(st.sampled_from([b"", b"a", b"\r\n", b"$1", b"*2", b"\r", b"\n", b"x\r\ny", b"SET"]),
                     min_size=1, max_size=4).map(encode_command)
PIPELINES = st.tuples(st.lists(st.one_of(CRLF_ARGS, ARRAY_COMMAND.map(lambda c: c[1])), max_size=8).map(b"".join),
                      PROTOCOL_BYTES).map(b"".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(PIPELINES, PROTOCOL_BYTES, st.binary(max_size=100)))
def test_the_fast_path_agrees_with_the_exact_parser(data):
    """`_split_arrays` may only take what `_parse` would have parsed the same way."""
    with mock.patch("app.protocol._split_arrays", lambda data, commands: 0):
        exact = RequestParser()
        expected = _describe(exact.parse(data)), exact.pending
    fast = RequestParser()
    assert (_describe(fast.parse(data)), fast.pending) == expected


# --------------------------------------------------------------------------- against Redis


def exchange(port: int, data: bytes) -> bytes:
    """Everything the server sends after ``data``, until it closes the connection."""
    with RawConnection(port) as connection:
        connection.send(data)
        return connection.read_until_closed()


# Sizes are such that the error can only trigger after the server has read every byte:
# closing a socket with unread input sends RST, which could swallow the reply.
DIFFERENTIAL_CASES = {
    "bad_count": b"*x\r\n",
    "empty_count": b"*\r\n",
    "minus_zero_count": b"*-0\r\n",
    "count_over_int_max": b"*2147483648\r\n",
    "not_a_bulk": b"*1\r\n+PING\r\n",
    "raw_byte_in_message": b"*1\r\n\xff\r\n",
    "newline_in_message": b"*1\r\n\r\n",
    "negative_bulk_length": b"*1\r\n$-1\r\n",
    "leading_zero_bulk_length": b"*1\r\n$01\r\n",
    "blank_bulk_length": b"*1\r\n$ 4\r\nPING\r\n",
    "bulk_over_proto_max_bulk_len": b"*1\r\n$536870913\r\n",
    "unbalanced_double_quote": b'PING "a\r\n',
    "text_after_closing_quote": b"PING 'a'b\r\n",
    "answered_then_error": b"*1\r\n$4\r\nPING\r\n*bad\r\n",
    "inline_answered_then_error": b"PING\r\nECHO 'x\r\n",
    "empty_arrays_then_error": b"*0\r\n*-1\r\n\r\nPING\r\n*1\r\n$x\r\n",
    "inline_too_big": b"A" * (INLINE_MAX_SIZE + 1),
    "count_line_too_big": b"*" + b"1" * INLINE_MAX_SIZE,
    "bulk_count_line_too_big": b"*1\r\n$" + b"1" * INLINE_MAX_SIZE,
    "nul_in_inline_line": b"PING\x00\r\n".ljust(INLINE_MAX_SIZE + 1, b"x"),
    "nul_in_count_line": b"*1\x00\r\n".ljust(INLINE_MAX_SIZE + 1, b"x"),
    "nul_in_bulk_count_line": b"*1\r\n" + b"$4\x00\r\nPING\r\n".ljust(INLINE_MAX_SIZE + 1, b"x"),
    "nul_before_dollar": b"*1\r\n" + b"\x00$4\r\n".ljust(INLINE_MAX_SIZE + 1, b"x"),
}


@pytest.mark.parametrize("name", DIFFERENTIAL_CASES)
def test_protocol_errors_match_redis(server, reference, name):
    data = DIFFERENTIAL_CASES[name]
    theirs = exchange(reference.port, data)
    assert theirs.startswith((b"+PONG", b"-ERR Protocol error")), theirs  # the case means what it says
    assert exchange(server.port, data) == theirs


# --------------------------------------------------------------------------- split_inline

_C_SPACE = b" \t\n\v\f\r"
_C_HEX = b"0123456789abcdefABCDEF"


def sdssplitargs(line: bytes) -> list[bytes] | None:
    """A literal port of Redis' sdssplitargs (sds.c): the oracle for split_inline."""
    s = line + b"\x00"  # the C string's terminator; an embedded NUL ends it too
    p = 0
    vector = []
    while True:
        while s[p] and s[p] in _C_SPACE:
            p += 1
        if not s[p]:
            return vector
        inq = insq = done = False
        current = bytearray()
        while not done:
            c = s[p]
            if inq:
                if c == ord("\\") and s[p + 1] == ord("x") and s[p + 2] in _C_HEX and s[p + 3] in _C_HEX:
                    current.append(int(s[p + 2 : p + 4], 16))
                    p += 3
                elif c == ord("\\") and s[p + 1]:
                    p += 1
                    current.append({ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}.get(s[p], s[p]))
                elif c == ord('"'):
                    if s[p + 1] and s[p + 1] not in _C_SPACE:
                        return None
                    done = True
                elif not c:
                    return None
                else:
                    current.append(c)
            elif insq:
                if c == ord("\\") and s[p + 1] == ord("'"):
                    p += 1
                    current.append(ord("'"))
                elif c == ord("'"):
                    if s[p + 1] and s[p + 1] not in _C_SPACE:
                        return None
                    done = True
                elif not c:
                    return None
                else:
                    current.append(c)
            elif c in b" \n\r\t\x00":
                done = True
            elif c == ord('"'):
                inq = True
            elif c == ord("'"):
                insq = True
            else:
                current.append(c)
            if s[p]:
                p += 1
        vector.append(bytes(current))


@pytest.mark.parametrize(
    "line, expected",
    [
        (b"", []),
        (b"  \t ", []),
        (b"SET a b", [b"SET", b"a", b"b"]),
        (b'"a b" \'c d\'', [b"a b", b"c d"]),
        (b'"\\x41\\x4g\\n\\r\\t\\b\\a\\z\\""', [b'Ax4g\n\r\t\b\az"']),
        (b"'it\\'s' '\\n'", [b"it's", b"\\n"]),
        (b'a"b c"', [b"ab c"]),
        (b'"a"b', None),
        (b'"a', None),
        (b"'a", None),
        (b'""', [b""]),
        (b'"a"\x0bb', [b"a", b"b"]),
        (b"a\x0bb\x0cc", [b"a\x0bb\x0cc"]),
        (b"a\x00b", [b"a"]),
        (b'"a\x00b"', None),
    ],
)
def test_split_inline_cases(line, expected):
    assert sdssplitargs(line) == expected
    assert split_inline(line) == expected


SPLIT_ALPHABET = st.sampled_from(list(b"\"'\\x0aFf9nq \t\x0b\x0c\x00\r\n"))


@settings(max_examples=1000, deadline=None)
@given(st.lists(SPLIT_ALPHABET, max_size=30).map(bytes))
def test_split_inline_agrees_with_sdssplitargs(line):
    assert split_inline(line) == sdssplitargs(line)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40))
def test_split_inline_agrees_with_sdssplitargs_on_any_bytes(line):
    assert split_inline(line) == sdssplitargs(line)


# --------------------------------------------------------------------------- encoder

ENCODINGS = [
    ("OK", b"+OK\r\n", b"+OK\r\n"),
    ("QUEUED", b"+QUEUED\r\n", b"+QUEUED\r\n"),
    (ReplyError("ERR bad\r\nthing"), b"-ERR bad  thing\r\n", b"-ERR bad  thing\r\n"),
    (0, b":0\r\n", b":0\r\n"),
    (-1, b":-1\r\n", b":-1\r\n"),
    (1024, b":1024\r\n", b":1024\r\n"),
    (-(2**63), b":-9223372036854775808\r\n", b":-9223372036854775808\r\n"),
    (b"foo", b"$3\r\nfoo\r\n", b"$3\r\nfoo\r\n"),
    (b"", b"$0\r\n\r\n", b"$0\r\n\r\n"),
    (bytearray(b"\r\n"), b"$2\r\n\r\n\r\n", b"$2\r\n\r\n\r\n"),
    (None, b"$-1\r\n", b"_\r\n"),
    (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),
    ([], b"*0\r\n", b"*0\r\n"),
    ([b"a", 1, None], b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n", b"*3\r\n$1\r\na\r\n:1\r\n_\r\n"),
    ((b"a",), b"*1\r\n$1\r\na\r\n", b"*1\r\n$1\r\na\r\n"),
    ({b"k": 1, b"j": [2]}, b"*4\r\n$1\r\nk\r\n:1\r\n$1\r\nj\r\n*1\r\n:2\r\n", b"%2\r\n$1\r\nk\r\n:1\r\n$1\r\nj\r\n*1\r\n:2\r\n"),
    (SetReply([b"a"]), b"*1\r\n$1\r\na\r\n", b"~1\r\n$1\r\na\r\n"),
    (Push([b"message", b"c"]), b"*2\r\n$7\r\nmessage\r\n$1\r\nc\r\n", b">2\r\n$7\r\nmessage\r\n$1\r\nc\r\n"),
    (1.5, b"$3\r\n1.5\r\n", b",1.5\r\n"),
    (0.1, b"$19\r\n0.10000000000000001\r\n", b",0.10000000000000001\r\n"),
    (float("inf"), b"$3\r\ninf\r\n", b",inf\r\n"),
    (float("-inf"), b"$4\r\n-inf\r\n", b",-inf\r\n"),
    (True, b":1\r\n", b"#t\r\n"),
    (False, b":0\r\n", b"#f\r\n"),
    (Verbatim("a\r\nb"), b"$4\r\na\r\nb\r\n", b"=8\r\ntxt:a\r\nb\r\n"),
    (BigNumber(2**70), b"$22\r\n1180591620717411303424\r\n", b"(1180591620717411303424\r\n"),
    (NO_REPLY, b"", b""),
]


@pytest.mark.parametrize("value, resp2, resp3", ENCODINGS, ids=[repr(v)[:30] for v, _a, _b in ENCODINGS])
def test_encoding_of_every_type(value, resp2, resp3):
    assert encode_reply(value, 2) == resp2
    assert encode_reply(value, 3) == resp3


def test_format_double():
    assert format_double(float("nan")) == b"nan"
    assert format_double(-0.0) == b"-0"
    assert format_double(1e300) == b"1.0000000000000001e+300"
    assert format_double(3.0) == b"3"


def test_encode_command():
    assert encode_command([b"GET", b""]) == b"*2\r\n$3\r\nGET\r\n$0\r\n\r\n"


# Random reply values and what they read back as, by protocol version.
SIMPLE_TEXT = st.text(st.characters(exclude_characters="\r\n", exclude_categories=("Cs",)), max_size=10)
SCALARS = st.one_of(
    SIMPLE_TEXT,
    st.text(max_size=10).map(ReplyError),
    st.integers(),
    st.booleans(),
    st.binary(max_size=10),
    st.binary(max_size=10).map(bytearray),
    st.none(),
    st.just(NULL_ARRAY),
    st.floats(allow_nan=False),
    st.text(max_size=10).map(Verbatim),
    st.integers().map(BigNumber),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.lists(children, max_size=4).map(SetReply),
        st.lists(children, max_size=4).map(Push),
        st.dictionaries(st.one_of(st.binary(max_size=5), SIMPLE_TEXT), children, max_size=4),
    ),
    max_leaves=20,
)


def expected_value(value, protocol: int):
    """What ReplyParser gives back for ``value`` (RESP2 flattens the RESP3-only types)."""
    if isinstance(value, ReplyError):
        return ReplyError(value.message.replace("\r", " ").replace("\n", " "))
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, dict):
        if protocol == 3:
            return {k: expected_value(v, 3) for k, v in value.items()}
        return [expected_value(x, 2) for pair in value.items() for x in pair]
    if isinstance(value, (SetReply, Push)) and protocol == 3:
        return type(value)(expected_value(x, 3) for x in value)
    if isinstance(value, (list, tuple)):
        return [expected_value(x, protocol) for x in value]
    if protocol == 3:
        return None if value is NULL_ARRAY else value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return format_double(value)
    if isinstance(value, Verbatim):
        return value.encode()
    if isinstance(value, BigNumber):
        return b"%d" % value
    return value


def tagged(value):
    """``value`` with every type made explicit, so 1 != True and errors compare by message."""
    if isinstance(value, ReplyError):
        return ("ReplyError", value.message)
    if isinstance(value, dict):
        return ("dict", [(tagged(k), tagged(v)) for k, v in value.items()])
    if isinstance(value, list):
        return (type(value).__name__, [tagged(x) for x in value])
    return (type(value).__name__, value)


@settings(max_examples=300, deadline=None)
@given(VALUES, st.sampled_from([2, 3]), st.lists(st.integers(min_value=0), max_size=5))
def test_encoder_and_reply_parser_round_trip(value, protocol, cuts):
    data = encode_reply(value, protocol)
    parser = ReplyParser()
    replies = [reply for chunk in split_at(data, cuts) for reply in parser.parse_raw(chunk)]
    assert len(replies) == 1
    decoded, raw = replies[0]
    assert raw == data
    assert tagged(decoded) == tagged(expected_value(value, protocol))


def test_reply_parser_keeps_incomplete_replies():
    parser = ReplyParser()
    assert parser.parse(b"*2\r\n$3\r\nfoo\r\n$3\r\nba") == []
    assert parser.parse(b"r\r\n:1\r\n+O") == [[b"foo", b"bar"], 1]
    assert parser.parse(b"K\r\n") == ["OK"]


@pytest.mark.parametrize(
    "data, protocol",
    [
        (b"-ERR Protocol error: expected '$', got '\xff'\r\n", 2),
        (b"+caf\xe9\r\n", 2),  # a Lua script may return any status bytes
        (b"=8\r\ntxt:\xff\r\n\x00\r\n", 3),
    ],
)
def test_reply_parser_keeps_bytes_that_are_not_utf8(data, protocol):
    [value] = ReplyParser().parse(data)
    assert encode_reply(value, protocol) == data


_REPLY_ITEMS = st.one_of(
    st.binary(max_size=20),
    st.none(),
    st.integers(-(2**63), 2**63 - 1),
    st.text(alphabet="abcXYZ", max_size=5),
    st.lists(st.binary(max_size=5), max_size=3),
    st.builds(DoubleText, st.sampled_from([b"1.5", b"-0.25"])),
)


@given(st.lists(_REPLY_ITEMS, max_size=8), st.sampled_from([2, 3]))
def test_arrays_of_bulk_strings_take_a_fast_path_with_the_same_bytes(items, protocol):
    encoder = ENCODERS[protocol]
    general = b"*%d\r\n" % len(items) + b"".join(encoder.encode(item) for item in items)
    assert encoder.encode(items) == general
