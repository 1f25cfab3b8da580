"""Numbers as Redis reads and writes them: string2ll, and the x87 long double of INCRBYFLOAT."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.numeric import (
    INF, INT64_MAX, INT64_MIN, format_long_double, parse_double, parse_int, parse_long_double, round_long_double, strtod,
)
from app.protocol import encode_command
from tests.helpers import RawConnection

# --------------------------------------------------------------------------- parse_int


def string2ll(s: bytes) -> int | None:
    """A literal port of Redis' string2ll (util.c): the oracle for parse_int."""
    slen = len(s)
    if slen == 0 or slen >= 21:  # LONG_STR_SIZE
        return None
    if s == b"0":
        return 0
    p, negative = 0, False
    if s[0] == ord("-"):
        negative, p = True, 1
        if p == slen:
            return None
    if not ord("1") <= s[p] <= ord("9"):
        return None
    v = s[p] - ord("0")
    p += 1
    while p < slen and ord("0") <= s[p] <= ord("9"):
        v = v * 10 + s[p] - ord("0")
        if v > 2**64 - 1:  # ULLONG_MAX overflow
            return None
        p += 1
    if p < slen:
        return None
    if negative:
        return -v if v <= 2**63 else None
    return v if v <= INT64_MAX else None


@given(st.integers(min_value=INT64_MIN, max_value=INT64_MAX))
def test_parse_int_round_trips(n):
    assert parse_int(str(n).encode()) == n


@given(st.one_of(st.integers(max_value=INT64_MIN - 1), st.integers(min_value=INT64_MAX + 1)))
def test_parse_int_refuses_overflow(n):
    assert parse_int(str(n).encode()) is None


@given(st.integers(min_value=0, max_value=INT64_MAX), st.sampled_from([b"0", b"+", b" ", b"-0", b"00"]))
def test_parse_int_refuses_prefixes(n, prefix):
    assert parse_int(prefix + str(n).encode()) is None
    assert parse_int(str(n).encode() + b" ") is None


@pytest.mark.parametrize(
    "text, expected",
    [
        (b"0", 0), (b"-0", None), (b"", None), (b"-", None), (b"+1", None), (b" 1", None), (b"1 ", None),
        (b"01", None), (b"1_000", None), (b"1.0", None), (b"\xd9\xa1", None), (b"1\x00", None),
        (b"9223372036854775807", INT64_MAX), (b"9223372036854775808", None),
        (b"-9223372036854775808", INT64_MIN), (b"-9223372036854775809", None),
        (b"18446744073709551616", None), (b"-00000000000000000001", None),
    ],
)
def test_parse_int_cases(text, expected):
    assert string2ll(text) == expected
    assert parse_int(text) == expected


@given(st.lists(st.sampled_from(list(b"-+0123456789 x")), max_size=22).map(bytes))
def test_parse_int_agrees_with_string2ll(text):
    assert parse_int(text) == string2ll(text)


# --------------------------------------------------------------------------- long double

ULP_BITS = 64
MIN_QUANTUM = Fraction(1, 2**16445)  # the smallest subnormal
LDBL_MAX = Fraction(2**64 - 1) * 2 ** (16384 - 64)


def is_long_double(value: Fraction) -> bool:
    """Exactly representable: a 64-bit significand times a power of two, within range."""
    if value == 0:
        return True
    quantum = quantum_of(value)
    return abs(value) <= LDBL_MAX and (value / quantum).denominator == 1 and abs(value / quantum) < 2**64


def quantum_of(value: Fraction) -> Fraction:
    """The spacing of long doubles around ``value`` (its ulp)."""
    e = abs(value).numerator.bit_length() - abs(value).denominator.bit_length()
    if Fraction(2) ** e > abs(value):
        e -= 1
    return max(Fraction(2) ** (e - ULP_BITS + 1), MIN_QUANTUM)


FINITE = st.builds(
    lambda n, d, e: Fraction(n, d) * Fraction(2) ** e,
    st.integers(min_value=-(2**80), max_value=2**80),
    st.integers(min_value=1, max_value=2**80),
    st.integers(min_value=-16500, max_value=16300),
)


@settings(max_examples=300, deadline=None)
@given(FINITE)
def test_round_long_double_is_nearest_representable(value):
    rounded = round_long_double(value)
    if rounded in (INF, -INF):
        assert abs(value) > LDBL_MAX
        return
    assert is_long_double(rounded)
    assert round_long_double(rounded) == rounded
    if value:
        assert abs(rounded - value) <= quantum_of(value) / 2 or abs(rounded - value) <= quantum_of(rounded) / 2


@settings(max_examples=200, deadline=None)
@given(FINITE, FINITE)
def test_round_long_double_is_monotonic(a, b):
    low, high = sorted((a, b))
    assert round_long_double(low) <= round_long_double(high)


def test_round_long_double_cases():
    assert round_long_double(Fraction(1, 10)) == Fraction(0xCCCCCCCCCCCCCCCD, 2**67)
    assert round_long_double(Fraction(2**64 + 1)) == 2**64  # a tie goes to the even significand
    assert round_long_double(Fraction(2**64 + 3)) == 2**64 + 4
    assert round_long_double(LDBL_MAX) == LDBL_MAX
    assert round_long_double(LDBL_MAX + Fraction(2) ** (16384 - 66)) == LDBL_MAX  # below half an ulp
    assert round_long_double(LDBL_MAX + Fraction(2) ** (16384 - 65)) == INF  # the tie rounds up to 2**16384
    assert round_long_double(-MIN_QUANTUM / 2) == 0  # a tie with zero, which is even
    assert round_long_double(MIN_QUANTUM * 3 / 4) == MIN_QUANTUM


@pytest.mark.parametrize(
    "text, expected",
    [
        (b"1", Fraction(1)),
        (b"+.5", Fraction(1, 2)),
        (b"-5.", Fraction(-5)),
        (b"00012", Fraction(12)),
        (b"1e+0", Fraction(1)),
        (b"1.5e-1", round_long_double(Fraction(15, 100))),
        (b"0x1p-2", Fraction(1, 4)),
        (b"0X1.8P+1", Fraction(3)),
        (b"0x.8", Fraction(1, 2)),
        (b"0e99999999999999999999", Fraction(0)),
        (b"-0", Fraction(0)),
        (b"inf", INF),
        (b"-Infinity", -INF),
        (b"0x1p-16445", MIN_QUANTUM),
        (b"1." + b"0" * 5117, Fraction(1)),  # 5119 characters: the longest accepted
        (b"1." + b"0" * 5118, None),
        (b"", None), (b" 1", None), (b"1 ", None), (b"nan", None), (b"0x", None), (b"0x.p1", None),
        (b"1e", None), (b".", None), (b"1_0", None), (b"infinit", None), (b"1\x00", None),
        (b"1.2e4932", None),  # overflow
        (b"1e-4952", None),  # underflows to zero
        (b"0x1p-16446", None),  # a tie with zero, which wins
        (b"1" * 5000, None),  # overflow, with more digits than Python converts at once
        (b"1e" + b"9" * 5000, None),
        (b"1e-" + b"9" * 5000, None),
    ],
)
def test_parse_long_double_cases(text, expected):
    assert parse_long_double(text) == expected


def test_parse_long_double_with_thousands_of_digits():
    assert format_long_double(parse_long_double(b"0." + b"0" * 4400 + b"1")) == b"0"
    assert format_long_double(parse_long_double(b"9" * 4000 + b"." + b"9" * 1000)) == (
        format_long_double(round_long_double(Fraction(10) ** 4000))
    )
    assert len(format_long_double(parse_long_double(b"1e4900"))) == 4901


@pytest.mark.parametrize(
    "value, expected",
    [
        (Fraction(0), b"0"),
        (Fraction(3, 2), b"1.5"),
        (Fraction(-1, 10**20), b"0"),  # "-0" becomes "0"
        (Fraction(1, 2**18), b"0.00000381469726562"),  # ...625: a tie, to the even digit
        (Fraction(3, 2**18), b"0.00001144409179688"),  # ...6875: odd, up
        (round_long_double(Fraction(3, 10)), b"0.3"),
        (Fraction(10**4000), b"1" + b"0" * 4000),
        (Fraction(-(2**63)), b"-9223372036854775808"),
    ],
)
def test_format_long_double_cases(value, expected):
    assert format_long_double(value) == expected


def test_incrbyfloat_point_one_three_times():
    tenth = parse_long_double(b"0.1")
    total = round_long_double(round_long_double(tenth + tenth) + tenth)
    assert format_long_double(total) == b"0.3"


LONG_DOUBLES = FINITE.map(round_long_double).filter(lambda v: v not in (INF, -INF))
HUMAN = re.compile(rb"-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?")


@settings(max_examples=300, deadline=None)
@given(LONG_DOUBLES)
def test_format_long_double_properties(value):
    text = format_long_double(value)
    assert HUMAN.fullmatch(text) and text != b"-0"
    # %.17Lf: within half a unit of the 17th decimal, trailing zeros dropped.
    assert abs(Fraction(Decimal(text.decode())) - value) <= Fraction(1, 2 * 10**17)
    assert text.startswith(b"-") == (value < 0 and text != b"0")
    if value.denominator == 1:
        assert Fraction(Decimal(text.decode())) == value  # integers are exact


# --------------------------------------------------------------------------- against Redis

KEY = b"test_numeric:incrbyfloat"


@pytest.fixture
def connections(server, reference):
    ours, theirs = RawConnection(server.port), RawConnection(reference.port)
    yield ours, theirs
    ours.close()
    theirs.close()


def incrbyfloat(connection: RawConnection, increments: list[bytes]) -> list[bytes]:
    """Add ``increments`` to a fresh key one by one; every reply, then the stored value."""
    commands = [[b"DEL", KEY]] + [[b"INCRBYFLOAT", KEY, inc] for inc in increments] + [[b"GET", KEY]]
    connection.send(b"".join(encode_command(c) for c in commands))
    return [connection.read_raw() for _ in commands][1:]


def assert_same_as_redis(connections, increments: list[bytes]) -> None:
    ours, theirs = connections
    assert incrbyfloat(ours, increments) == incrbyfloat(theirs, increments), increments


EXPLICIT = [
    b"0.1", b"0.000003814697265625", b"0.000011444091796875", b"1.18973149535723176502e4932", b"1.19e4932",
    b"3.6e-4951", b"1e-4951", b"1e-4952", b"-1e-20", b"0x1p-16445", b"0x1p-16446", b"0x1.8p-16446", b"inf",
    b"-inf", b"nan", b"0x", b"1e", b"0x.p1", b" 1", b"1 ", b"+1", b"+.5", b"-.5e-3", b"5.", b".", b"00012",
    b"1e+0", b"0X1P+3", b"infinity", b"18446744073709551616.5", b"9223372036854775807", b"-0", b"0e9999999999",
    b"1." + b"0" * 5117, b"1." + b"0" * 5118, b"1" * 5000, b"0." + b"0" * 4400 + b"1", b"1e4900",
    b"9" * 4000 + b"." + b"9" * 1000, b"1e" + b"9" * 5000, b"1_0", b"1,5", b"\xd9\xa1",
]


@pytest.mark.parametrize("text", EXPLICIT, ids=[t[:24].decode("latin-1") for t in EXPLICIT])
def test_incrbyfloat_explicit_cases_match_redis(connections, text):
    assert_same_as_redis(connections, [text])


def test_incrbyfloat_sums_match_redis(connections):
    assert_same_as_redis(connections, [b"0.1"] * 10)
    assert_same_as_redis(connections, [b"1e4932", b"1e4932"])  # the sum overflows
    assert_same_as_redis(connections, [b"5.0e3", b"-5.0e3", b"-0"])
    assert_same_as_redis(connections, [b"10.5", b"0x1p-70", b"-10.5"])


FLOAT_TEXT = st.builds(
    lambda x, way, digits: {
        "repr": repr(x),
        "e": "%.*e" % (digits, x),
        "f": "%.*f" % (digits, x),
        "g": "%.*g" % (digits, x),
        "hex": x.hex(),
    }[way].encode(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["repr", "e", "f", "g", "hex"]),
    st.integers(min_value=0, max_value=30),
)
DECIMAL_TEXT = st.builds(
    lambda sign, whole, fraction, exponent: sign + whole + fraction + exponent,
    st.sampled_from([b"", b"-", b"+"]),
    st.text("0123456789", max_size=45).map(str.encode),
    st.one_of(st.just(b""), st.text("0123456789", max_size=45).map(lambda d: b"." + d.encode())),
    st.one_of(
        st.just(b""),
        st.builds(lambda e, n: b"%s%d" % (e, n), st.sampled_from([b"e", b"E", b"e+"]), st.integers(-40, 40)),
        st.builds(lambda n: b"e%d" % n, st.integers(-4970, 4950)),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(FLOAT_TEXT, DECIMAL_TEXT), min_size=1, max_size=3))
def test_incrbyfloat_random_numbers_match_redis(connections, increments):
    assert_same_as_redis(connections, increments)


# --------------------------------------------------------------------------- strtod, parse_double (scores)


@pytest.mark.parametrize(
    "text, value, consumed, erange",
    [
        (b"1.5", 1.5, 3, False), (b"  -2e3x", -2000.0, 6, False), (b"0x1p4", 16.0, 5, False),
        (b"0x", 0.0, 1, False), (b"1e", 1.0, 1, False), (b"Infinity", INF, 8, False), (b"-inf", -INF, 4, False),
        (b"1e400", INF, 5, True), (b"1e-400", 0.0, 6, True), (b"", 0.0, 0, False), (b"  x", 0.0, 0, False),
        (b".5", 0.5, 2, False), (b"5.", 5.0, 2, False), (b"1_0", 1.0, 1, False),
    ],
)
def test_strtod_reads_what_c_reads(text, value, consumed, erange):
    assert strtod(text) == (value, consumed, erange)


@pytest.mark.parametrize("text", [b"", b" 1", b"1 ", b"nan", b"1e400", b"-1e400", b"1e-400", b"0x", b"1_0", b"1\x002", b"++1"])
def test_parse_double_refuses_what_redis_refuses(text):
    assert parse_double(text) is None


@settings(max_examples=500, deadline=None)
@given(st.floats(allow_nan=False))
def test_parse_double_reads_every_double_back(value):
    for text in (repr(value).encode(), b"%.17g" % value, float.hex(value).encode()):
        assert parse_double(text) == value
