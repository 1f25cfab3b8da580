"""Bitmap commands (SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO) compared
byte for byte with a real Redis, with their notifications and change counts; and the
range arithmetic compared with a naive model of bits on random strings (hypothesis).

Scripts that change the configuration restore it on their last lines: both servers are
shared by the whole session.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.commands.bitmap import bit_count, bit_operation, bit_position, fit_field, read_field, write_field
from tests.differential import compare, compare_notifications
from tests.test_differential_change_counts import changes_per_command

SCRIPTS = {
    "setbit_getbit": """
        SETBIT k 7 1
        GET k
        SETBIT k 7 1
        SETBIT k 7 0
        GET k
        SETBIT k 100 1
        GET k
        STRLEN k
        GETBIT k 100
        GETBIT k 99
        GETBIT k 1000000
        GETBIT nokey 5
        SET s "\\xff\\x00"
        GETBIT s 0
        GETBIT s 7
        GETBIT s 8
        SETBIT s 8 1
        GET s
        APPEND s "x"
        SETBIT s 23 1
        GET s
        SETRANGE s 0 "a"
        GET s
        SET n 12345
        SETBIT n 0 1
        GET n
        SET t v PXAT 32503680000000
        SETBIT t 100 1
        PEXPIRETIME t
    """,
    "setbit_errors": """
        SETBIT k -1 1
        SETBIT k abc 1
        SETBIT k 1.5 1
        SETBIT k 4294967296 1
        SETBIT k 0 2
        SETBIT k 0 -1
        SETBIT k 0 x
        SETBIT k -1 x
        SETBIT k 0 ""
        GETBIT k -1
        GETBIT k x
        GETBIT k 4294967295
        LPUSH l a
        SETBIT l 0 1
        GETBIT l 0
        SETBIT l -1 1
        SETBIT l 0 5
        SETBIT k
        GETBIT k
        GETBIT k 1 2
        EXISTS k
    """,
    "setbit_limit": """
        CONFIG SET proto-max-bulk-len 1048576
        SETBIT k 8388607 1
        STRLEN k
        SETBIT k 8388608 1
        GETBIT k 8388608
        BITFIELD k SET u8 8388600 1
        BITFIELD k SET u8 8388608 1
        BITFIELD k GET u8 #1048575
        BITFIELD k GET u8 #1048576
        CONFIG SET proto-max-bulk-len 536870912
    """,
    "bitcount": """
        SET k "foobar"
        BITCOUNT k
        BITCOUNT k 0 0
        BITCOUNT k 1 1
        BITCOUNT k 1 -1
        BITCOUNT k -2 -1
        BITCOUNT k -1 -2
        BITCOUNT k 0 -100
        BITCOUNT k -100 -100
        BITCOUNT k 4 100
        BITCOUNT k 10 20
        BITCOUNT k 5 30 BIT
        BITCOUNT k 5 30 bit
        BITCOUNT k 0 0 BYTE
        BITCOUNT k -5 -1 BIT
        BITCOUNT k 0 47 BIT
        BITCOUNT k 3 3 BIT
        BITCOUNT k 1 0 BIT
        BITCOUNT k 0 1000 BIT
        BITCOUNT nokey
        BITCOUNT nokey 0 1
        BITCOUNT nokey a b
        BITCOUNT nokey 0
        BITCOUNT k 0
        BITCOUNT k a 1
        BITCOUNT k 0 b
        BITCOUNT k 0 1 WORD
        BITCOUNT k 0 1 BIT extra
        BITCOUNT k 0 1 BYTE BIT
        SET empty ""
        BITCOUNT empty
        BITCOUNT empty 0 -1
        BITCOUNT empty 0 -1 BIT
        SET num 1234
        BITCOUNT num
        LPUSH l a
        BITCOUNT l
        BITCOUNT l 0 1
        BITCOUNT
    """,
    "bitpos": """
        SET k "\\xff\\xf0\\x00"
        BITPOS k 0
        BITPOS k 1
        BITPOS k 0 1
        BITPOS k 1 2
        BITPOS k 0 2 -1
        BITPOS k 1 2 -1
        BITPOS k 0 0 0
        BITPOS k 0 -1
        BITPOS k 1 -100
        BITPOS k 0 8 11 BIT
        BITPOS k 0 8 15 BIT
        BITPOS k 1 12 23 BIT
        BITPOS k 0 3 BIT
        BITPOS k 0 0 7 bit
        BITPOS k 0 0 7 BYTE
        BITPOS k 1 5 3 BIT
        BITPOS k 0 100
        BITPOS k 0 -5 -1 BIT
        SET ones "\\xff\\xff"
        BITPOS ones 0
        BITPOS ones 0 0
        BITPOS ones 0 0 -1
        BITPOS ones 0 0 -1 BIT
        BITPOS ones 0 3 BIT
        BITPOS ones 1 2
        SET zeros "\\x00\\x00"
        BITPOS zeros 1
        BITPOS zeros 0
        BITPOS zeros 1 0 -1 BIT
        BITPOS nokey 0
        BITPOS nokey 1
        BITPOS nokey 1 x
        BITPOS nokey 2
        SET empty ""
        BITPOS empty 0
        BITPOS empty 1
        BITPOS k 2
        BITPOS k x
        BITPOS k -1
        BITPOS k 0 x
        BITPOS k 0 0 x
        BITPOS k 0 0 1 WORD
        BITPOS k 0 0 x WORD
        BITPOS k 0 0 1 BIT more
        LPUSH l a
        BITPOS l 0
        BITPOS l 2
        BITPOS k
    """,
    "bitop": """
        SET a "\\xff\\x0f"
        SET b "\\xf0"
        SET c "abc"
        BITOP AND d a b
        GET d
        BITOP OR d a b
        GET d
        BITOP XOR d a b c
        GET d
        BITOP NOT d a
        GET d
        BITOP and d a nokey
        GET d
        BITOP or d nokey a
        GET d
        BITOP AND d nokey nokey2
        EXISTS d
        BITOP NOT d nokey
        SET e ""
        BITOP OR d e
        EXISTS d
        BITOP NOT d a b
        BITOP NAND d a b
        BITOP ANDX d a
        LPUSH l x
        BITOP AND d a l
        BITOP AND l a
        TYPE l
        SET d x PXAT 32503680000000
        BITOP OR d a
        PEXPIRETIME d
        BITOP AND d
        BITOP AND
        SET num 255
        BITOP NOT d num
        GET d
    """,
    "bitfield": """
        BITFIELD k SET u8 0 255
        GET k
        BITFIELD k GET u8 0 GET i8 0 GET u4 0 GET i4 4 GET u1 7
        BITFIELD k SET i8 #1 -100 GET i8 #1 GET u8 8
        BITFIELD k INCRBY u2 100 1 OVERFLOW SAT incrby u2 102 1
        BITFIELD k GET u2 100 GET u2 102
        BITFIELD k INCRBY u2 100 5
        BITFIELD k OVERFLOW WRAP INCRBY i8 0 200 OVERFLOW SAT INCRBY i8 0 -1000 OVERFLOW FAIL INCRBY i8 0 -1
        BITFIELD k OVERFLOW FAIL SET u8 0 256 SET u8 0 255 INCRBY u8 0 1
        BITFIELD k OVERFLOW SAT SET u8 0 -1 SET i8 0 200 SET i8 0 -200
        BITFIELD k OVERFLOW WRAP SET u8 0 -1 SET i8 0 200 SET u8 0 300
        BITFIELD k SET i64 0 -9223372036854775808 GET i64 0 GET u63 0 GET u63 1
        BITFIELD k OVERFLOW WRAP INCRBY i64 0 -1 GET i64 0
        BITFIELD k OVERFLOW SAT INCRBY i64 0 -9223372036854775808 INCRBY i64 0 9223372036854775807 INCRBY i64 0 1
        BITFIELD k OVERFLOW FAIL INCRBY i64 0 1 INCRBY u63 0 9223372036854775807
        BITFIELD k SET u63 3 9223372036854775807 GET u63 3 OVERFLOW WRAP INCRBY u63 3 2
        BITFIELD k SET i5 13 100 GET i5 13 SET u7 1 -3 GET u7 1
        GET k
        BITFIELD k GET u8 1000
        BITFIELD nokey GET u8 0 GET i64 100
        EXISTS nokey
        BITFIELD nokey
        BITFIELD k
        BITFIELD new INCRBY i16 #3 7
        GET new
        BITFIELD_RO k GET u8 0 GET i16 #1
        BITFIELD_RO nokey GET u8 0
        BITFIELD_RO k
        BITFIELD_RO k GET u8 0 SET u8 0 1
        BITFIELD_RO k INCRBY u8 0 1
        BITFIELD_RO k GET x8 0
        BITFIELD_RO k OVERFLOW SAT
        SET t v PXAT 32503680000000
        BITFIELD t SET u8 100 1
        PEXPIRETIME t
    """,
    "bitfield_errors": """
        BITFIELD k GET
        BITFIELD k GET u8
        BITFIELD k SET u8 0
        BITFIELD k INCRBY u8 0
        BITFIELD k OVERFLOW
        BITFIELD k OVERFLOW BAD GET u8 0
        BITFIELD k FOO u8 0
        BITFIELD k GET u64 0
        BITFIELD k GET i65 0
        BITFIELD k GET i0 0
        BITFIELD k GET u0 0
        BITFIELD k GET U8 0
        BITFIELD k GET I8 0
        BITFIELD k GET 8 0
        BITFIELD k GET u 0
        BITFIELD k GET u-1 0
        BITFIELD k GET ux 0
        BITFIELD k GET u8 -1
        BITFIELD k GET u8 x
        BITFIELD k GET u8 #-1
        BITFIELD k GET u8 #x
        BITFIELD k GET u8 ##1
        BITFIELD k GET u8 #
        BITFIELD k SET u8 0 x
        BITFIELD k SET u8 0 1.5
        BITFIELD k INCRBY u8 0 99999999999999999999
        BITFIELD k GET u8 #1152921504606846976
        BITFIELD k SET u8 0 1 GET u99 0
        EXISTS k
        LPUSH l a
        BITFIELD l GET u8 0
        BITFIELD l SET u8 0 1
        BITFIELD l GET u8 x
        BITFIELD_RO l GET u8 0
        BITFIELD_RO l SET u8 0 1
        BITFIELD
        BITFIELD_RO
    """,
    "watch_sees_only_real_changes": """
        SET k "\\x80"
        WATCH k
        SETBIT k 0 1
        BITFIELD k SET u8 0 128 INCRBY u4 0 0
        MULTI
        PING
        EXEC
        WATCH k
        SETBIT k 1 0
        SETBIT k 1 1
        MULTI
        PING
        EXEC
        WATCH k
        BITFIELD k SET u8 0 1
        MULTI
        PING
        EXEC
        GET k
    """,
    "bitmaps_are_strings": """
        SETBIT k 0 1
        SETBIT k 15 1
        GET k
        APPEND k "\\xff"
        BITCOUNT k
        GETRANGE k 0 1
        SETRANGE k 0 "\\x00"
        BITPOS k 1
        INCR k
        TYPE k
        OBJECT ENCODING k
        SET m 0
        SETBIT m 6 1
        GET m
        INCR m
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_matches_redis(server, reference, name):
    compare(server.port, reference.port, SCRIPTS[name])


def test_notifications_match_redis(server, reference):
    compare_notifications(server.port, reference.port, """
        SETBIT k 3 1
        SETBIT k 3 1
        SETBIT k 100 0
        SETBIT k -1 1
        BITFIELD k SET u8 0 1 INCRBY u8 0 1
        BITFIELD k GET u8 0
        BITFIELD k OVERFLOW FAIL INCRBY u8 0 1000
        BITFIELD_RO k GET u8 0
        BITFIELD new SET u4 0 1
        SET a "\\x0f"
        BITOP AND d k a
        BITOP NOT d a
        BITOP OR d nokey
        BITOP OR d nokey
        GETBIT k 3
        BITCOUNT k
        BITPOS k 1
    """)


def test_change_counts_match_redis(server, reference):
    """What each write adds to rdb_changes_since_last_save, as in Redis."""
    script = """
        SETBIT k 3 1
        SETBIT k 3 1
        SETBIT k 100 0
        SETBIT k 100 0
        SETBIT new 0 0
        BITFIELD k SET u8 0 2
        BITFIELD k SET u8 0 2 SET u8 0 3 INCRBY u8 0 0
        BITFIELD k OVERFLOW FAIL INCRBY u8 0 1000 SET u8 0 3
        BITFIELD k3 SET u8 0 0
        BITFIELD k3 SET u8 0 0
        BITFIELD k3 SET u8 16 0 SET u8 0 0
        SETBIT k -1 1
        BITFIELD k SET u8 0 1 INCRBY u8 0 1 GET u8 0
        BITFIELD k GET u8 0
        BITFIELD k OVERFLOW FAIL INCRBY u8 0 1000
        BITFIELD k2 SET u8 0 1
        BITFIELD k3
        BITOP AND d k nokey
        BITOP OR d k
        BITOP OR d nokey
        BITOP OR d nokey
        GETBIT k 3
    """
    assert changes_per_command(server.port, script) == changes_per_command(reference.port, script)


# --------------------------------------------------------------------------- the model


def model_bits(data: bytes) -> list[int]:
    return [(byte >> (7 - i)) & 1 for byte in data for i in range(8)]


def model_range(length: int, start: int, end: int) -> range:
    """Redis' range rules, written out plainly."""
    start = max(start + length if start < 0 else start, 0)
    end = max(end + length if end < 0 else end, 0)
    return range(start, min(end, length - 1) + 1)


def model_count(data: bytes, start, end, in_bits: bool) -> int:
    bits = model_bits(data)
    if start is None:
        return sum(bits)
    if start < 0 and end < 0 and start > end:
        return 0
    if in_bits:
        return sum(bits[i] for i in model_range(len(bits), start, end))
    return sum(sum(model_bits(data[i : i + 1])) for i in model_range(len(data), start, end))


def model_position(data: bytes, bit: int, start, end, in_bits: bool) -> int:
    bits = model_bits(data)
    unit = 1 if in_bits else 8
    if start is None:
        span = model_range(len(data), 0, len(data) - 1)
    else:
        total = len(bits) if in_bits else len(data)
        span = model_range(total, start, total - 1 if end is None else end)
    if not span:
        return -1
    positions = range(span.start * unit, (span.stop - 1) * unit + unit)
    for i in positions:
        if bits[i] == bit:
            return i
    if bit == 1 or end is not None:
        return -1
    return -(-positions.stop // 8) * 8  # the padding bit after the range's last byte


indexes = st.integers(min_value=-70, max_value=70)


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=9), start=indexes, end=indexes, in_bits=st.booleans(), whole=st.booleans())
def test_bit_count_matches_model(data, start, end, in_bits, whole):
    if whole:
        start = end = None
        in_bits = False
    assert bit_count(data, start, end, in_bits) == model_count(data, start, end, in_bits)


@settings(max_examples=600, deadline=None)
@given(data=st.binary(min_size=1, max_size=9), bit=st.integers(0, 1), start=indexes, end=indexes,
       in_bits=st.booleans(), form=st.sampled_from(["whole", "start", "start_end"]))
def test_bit_position_matches_model(data, bit, start, end, in_bits, form):
    if form == "whole":
        start = end = None
        in_bits = False
    elif form == "start":
        end = None
        in_bits = False  # BIT needs an explicit end in the command
    assert bit_position(data, bit, start, end, in_bits) == model_position(data, bit, start, end, in_bits)


@settings(max_examples=300, deadline=None)
@given(sources=st.lists(st.binary(max_size=6), min_size=1, max_size=4),
       operation=st.sampled_from([b"AND", b"OR", b"XOR", b"NOT"]))
def test_bit_operation_matches_model(sources, operation):
    if operation == b"NOT":
        sources = sources[:1]
    length = max(map(len, sources))
    if length == 0:
        return  # BITOP deletes the destination instead: no operation runs
    padded = [s.ljust(length, b"\0") for s in sources]
    expected = bytearray(padded[0])
    for i in range(length):
        for other in padded[1:]:
            if operation == b"AND":
                expected[i] &= other[i]
            elif operation == b"OR":
                expected[i] |= other[i]
            else:
                expected[i] ^= other[i]
        if operation == b"NOT":
            expected[i] ^= 0xFF
    assert bit_operation(operation, sources) == bytes(expected)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(min_size=10, max_size=10), offset=st.integers(0, 15), bits=st.integers(1, 64),
       signed=st.booleans(), number=st.integers(-(2**64), 2**64))
def test_fields_read_back_what_was_written(data, offset, bits, signed, number):
    if not signed and bits == 64:
        bits = 63
    value = bytearray(data)
    fitted = fit_field(number, bits, signed, b"WRAP")
    write_field(value, offset, bits, fitted)
    assert read_field(value, offset, bits, signed) == fitted
    # The bits around the field are untouched.
    before, after = model_bits(data), model_bits(bytes(value))
    assert before[:offset] == after[:offset] and before[offset + bits :] == after[offset + bits :]
