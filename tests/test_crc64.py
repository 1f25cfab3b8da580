"""CRC-64/Jones as Redis computes it (crc64.c's own test vectors)."""

from __future__ import annotations

from app.persistence.crc64 import crc64


def test_check_value():
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA


def test_pieces_sum_like_the_whole():
    text = (b"This is a long string to test the crc64 function. It contains many words "
            b"and characters.")
    assert crc64(text) == crc64(text[40:], crc64(text[:40]))


def test_empty_and_continuation():
    assert crc64(b"") == 0
    assert crc64(b"6789", crc64(b"12345")) == 0xE9C6D914C4B8D9CA
