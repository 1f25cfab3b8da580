"""LZF: hand-made streams decode as lzf_d.c decodes them, and anything round-trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.persistence import lzf


def test_literal_and_short_reference():
    # "abc" as a literal run, then copy 3 bytes from 3 back.
    assert lzf.decompress(b"\x02abc\x20\x02", 6) == b"abcabc"


def test_overlapping_reference():
    # "a", then 9 bytes from 1 back: each copied byte is one just written.
    assert lzf.decompress(b"\x00a\xe0\x00\x00", 10) == b"a" * 10


def test_long_reference_length_byte():
    data = b"xyz" * 100
    packed = lzf.compress(data)
    assert len(packed) < 20
    assert lzf.decompress(packed, len(data)) == data


@pytest.mark.parametrize("stream, length", [
    (b"\x05ab", 6),  # literal run past the end
    (b"\x00a\x20", 4),  # reference without its offset byte
    (b"\x20\x00", 3),  # reference before any output
    (b"\x02abc", 4),  # shorter than promised
    (b"\x02abc\x20\x02", 4),  # longer than promised
])
def test_corrupt_streams_are_refused(stream, length):
    with pytest.raises(lzf.LZFError):
        lzf.decompress(stream, length)


@given(st.binary(max_size=3000))
def test_round_trip_random(data):
    assert lzf.decompress(lzf.compress(data), len(data)) == data


@given(st.lists(st.sampled_from([b"a", b"ab", b"hello ", b"\x00", b"xyzzy" * 7]), max_size=400))
def test_round_trip_repetitive(parts):
    data = b"".join(parts)
    packed = lzf.compress(data)
    assert lzf.decompress(packed, len(data)) == data
    if len(data) > 200:
        assert len(packed) < len(data)


def test_far_offsets_stay_in_range():
    data = bytes(range(256)) * 64  # repeats 256 bytes back, and also 8192+ back
    assert lzf.decompress(lzf.compress(data), len(data)) == data


def _reference_compress(data: bytes, room: int | None = None) -> bytes | None:
    """lzf_c.c transcribed step for step (VERY_FAST, a zeroed 2^16-slot table, the room
    checked where liblzf checks it, the match compared a byte at a time): slow, plain,
    and the yardstick for `lzf.compress`, whose shortcuts must not change one byte."""
    size = len(data)
    out_end = float("inf") if room is None else room
    if not size or out_end <= 0:
        return b"" if not size else None
    table = [0] * 65536
    out = bytearray([0])  # op starts one past a reserved run header
    lit = ip = 0

    def slot(at: int) -> int:
        return ((data[at] << 8 | data[at + 1]) - (data[at + 1] << 8 | data[at + 2]) * 5) & 0xFFFF

    while ip < size - 2:
        h = slot(ip)
        ref = table[h]
        table[h] = ip
        off = ip - ref - 1
        if off < 8192 and ref > 0 and data[ref:ref + 3] == data[ip:ip + 3]:
            length = 2
            maxlen = min(size - ip - length, 264)
            if len(out) + 3 + 1 >= out_end and len(out) - (not lit) + 3 + 1 >= out_end:
                return None
            out[-lit - 1] = (lit - 1) & 0xFF  # stop the run...
            if not lit:
                del out[-1]  # ...or take back its header if it is empty
            unrolled_all = False
            if maxlen > 16:
                for _ in range(16):
                    length += 1
                    if data[ref + length] != data[ip + length]:
                        break
                else:
                    unrolled_all = True
            if maxlen <= 16 or unrolled_all:
                length += 1
                while length < maxlen and data[ref + length] == data[ip + length]:
                    length += 1
            length -= 2
            ip += 1
            if length < 7:
                out.append((off >> 8) + (length << 5))
            else:
                out += bytes([(off >> 8) + (7 << 5), length - 7])
            out += bytes([off & 0xFF, 0])  # the offset, and the next run's header
            lit = 0
            ip += length + 1
            if ip >= size - 2:
                break
            for back in (2, 1):
                table[slot(ip - back)] = ip - back
        else:
            if len(out) >= out_end:
                return None
            lit += 1
            out.append(data[ip])
            ip += 1
            if lit == 32:
                out[-lit - 1] = lit - 1
                lit = 0
                out.append(0)
    if len(out) + 3 > out_end:
        return None
    while ip < size:
        lit += 1
        out.append(data[ip])
        ip += 1
        if lit == 32:
            out[-lit - 1] = lit - 1
            lit = 0
            out.append(0)
    out[-lit - 1] = (lit - 1) & 0xFF
    if not lit:
        del out[-1]
    return bytes(out)


_SHAPES = (st.binary(max_size=600)
           | st.lists(st.sampled_from([b"a", b"ab", b"hello ", b"\x00", b"xyzzy" * 7, b"q" * 300, b"element:1"]),
                      max_size=200).map(b"".join)
           | st.tuples(st.binary(min_size=1, max_size=40), st.integers(1, 400)).map(lambda t: t[0] * t[1])
           | st.binary(min_size=8200, max_size=8300).map(lambda block: block + block[:300]))  # offsets near 8192


@settings(max_examples=300, deadline=None)
@given(_SHAPES, st.integers(-3, 40))
def test_compress_is_liblzf_byte_for_byte(data, slack):
    # Redis' room (len - 4), and others round it, where liblzf gives up or just fits.
    for room in (None, len(data) - 4, len(data) - slack):
        assert lzf.compress(data, room) == _reference_compress(data, room)
