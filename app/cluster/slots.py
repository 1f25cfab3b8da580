"""Hash slots: which of the 16384 slots a key belongs to (Redis: keyHashSlot).

A cluster splits the keyspace into 16384 slots and gives each to one master. A key's
slot is the CRC16 of the key, modulo 16384, so every client and every node computes
it alike without asking anyone. The CRC is CRC-16/XMODEM (polynomial 0x1021, start
0), which is what the standard library's `binascii.crc_hqx` computes, in C.

Hash tags let keys share a slot on purpose: if the key holds a ``{`` followed later by
a ``}`` with at least one byte between them, only those bytes are hashed, so
``{user1000}.following`` and ``{user1000}.followers`` land together and a command may
use both. Only the first ``{`` counts, and the first ``}`` after it; an empty tag
(``foo{}{bar}``) means the whole key is hashed.
"""

from __future__ import annotations

from binascii import crc_hqx

SLOTS = 16384


def key_slot(key: bytes) -> int:
    """The slot of ``key``, hash tags considered."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1:end]
    return crc_hqx(key, 0) & (SLOTS - 1)
