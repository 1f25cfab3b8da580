"""LZF: hand-made streams decode as lzf_d.c decodes them, and anything round-trips."""

from __future__ import annotations

import pytest
from hypothesis import given
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
