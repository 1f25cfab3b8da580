"""CRC-64/Jones, the checksum Redis puts at the end of an RDB file and a DUMP payload.

Reflected (bits are taken least significant first), polynomial 0xad93d23594c935a9,
initial value 0 and no final xor, as Redis' crc64.c. Table-driven: one lookup per byte
instead of eight shifts, which is what makes a pure-Python CRC bearable.
"""

from __future__ import annotations

POLY = 0xAD93D23594C935A9
# A reflected CRC shifts right, so it uses the polynomial with its bits reversed.
_REFLECTED_POLY = int(f"{POLY:064b}"[::-1], 2)


def _make_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _REFLECTED_POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


TABLE = _make_table()


def crc64(data: bytes, crc: int = 0) -> int:
    """The CRC of ``data``, continuing from ``crc`` (so a file can be summed in pieces)."""
    table = TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc
