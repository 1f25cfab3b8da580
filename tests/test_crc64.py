"""CRC-64/Jones as Redis computes it (crc64.c's own test vectors)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from app.persistence.crc64 import Crc64Stream, crc64


def test_check_value():
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA


def test_pieces_sum_like_the_whole():
    text = (b"This is a long string to test the crc64 function. It contains many words "
            b"and characters.")
    assert crc64(text) == crc64(text[40:], crc64(text[:40]))


def test_empty_and_continuation():
    assert crc64(b"") == 0
    assert crc64(b"6789", crc64(b"12345")) == 0xE9C6D914C4B8D9CA


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 3_000_000), max_size=6), st.integers(0, 2**32))
def test_a_stream_of_pieces_sums_like_the_whole(sizes, seed):
    """`Crc64Stream`, fed pieces of any sizes (a file written a batch of keys at a time),
    gives the CRC of their concatenation, across its 8 MB blocks (a small block here)."""
    randbytes = random.Random(seed).randbytes
    pieces = [randbytes(size) for size in sizes]
    summed = Crc64Stream()
    summed.BLOCK = 1_000_000  # several blocks and a tail, without 8 MB pieces
    for piece in pieces:
        summed.update(piece)
    assert summed.digest() == crc64(b"".join(pieces))
