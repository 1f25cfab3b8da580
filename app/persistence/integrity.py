"""Deep integrity checks of packed values: what sanitize-dump-payload turns on.

Redis keeps small collections as packed blobs (listpack, intset, ziplist, zipmap) and
loads them from an RDB file or a RESTORE payload nearly as they are. Every load checks
a blob's frame: a listpack's byte count against its size, its end byte, an intset's
width and count against its size (rdb.py does those *shallow* checks as it reads).
The *deep* checks here look at every entry, as Redis' lpValidateIntegrity,
intsetValidateIntegrity, lpPairsValidateIntegrityAndDups and
streamValidateListpackIntegrity do, so that a hand-made payload cannot plant a value
that misbehaves later (an entry whose back-length lies breaks reverse iteration, a
hash with a field twice cannot be converted to a table...).

They cost a second walk over every blob, so they run only when asked: with
sanitize-dump-payload yes, and with "clients" for a RESTORE sent by a normal client
(rdb.py and commands/generic.py decide). Ziplists and zipmaps, found only in files of
Redis before 7.0, are always checked in full, as Redis does: rdb.py's readers do it.

Each check answers True or False, as Redis' do; the caller raises with Redis' message.
"""

from __future__ import annotations

LISTPACK_HEADER_SIZE = 6  # total bytes (4), element count (2)
LISTPACK_END = 0xFF
LISTPACK_UNKNOWN_COUNT = 65535  # the count no longer fits: readers must walk
STREAM_ITEM_FLAG_SAMEFIELDS = 2

# Listpack encodings whose size is in their first byte alone: 16, 24, 32 and 64-bit
# integers. 0xF5 to 0xFE are no encoding at all.
_FIXED_SIZES = {0xF1: 3, 0xF2: 4, 0xF3: 5, 0xF4: 9}


def backlen_size(size: int) -> int:
    """How many bytes a listpack entry's back-length takes, for an entry of ``size``."""
    if size <= 127:
        return 1
    if size < 16383:
        return 2
    if size < 2097151:
        return 3
    if size < 268435455:
        return 4
    return 5


def listpack_entries(data: bytes) -> int | None:
    """How many entries a listpack holds if every one is well formed, else None.

    lpValidateNext's walk: each entry has a known encoding, lies inside the blob, and
    its back-length (read backwards, as LRANGE with negative indexes does) equals its
    size; the first end byte met is the blob's last byte. The caller has checked the
    frame (size and end byte) already.
    """
    end = len(data) - 1  # the end byte: every entry must stop before it
    position = LISTPACK_HEADER_SIZE
    count = 0
    while data[position] != LISTPACK_END:
        size = _entry_size(data, position, end)
        if size is None:
            return None
        following = position + size + backlen_size(size)
        if following > end or _back_length(data, following - 1) != size:
            return None
        position = following
        count += 1
    return count if position == end else None


def listpack_valid(data: bytes) -> bool:
    """lpValidateIntegrity with deep on: every entry well formed, and as many of them as
    the header says, unless it says "unknown"."""
    count = listpack_entries(data)
    header = data[4] | data[5] << 8
    return count is not None and header in (count, LISTPACK_UNKNOWN_COUNT)


def _entry_size(data: bytes, position: int, end: int) -> int | None:
    """An entry's size without its back-length (lpCurrentEncodedSizeUnsafe), or None for
    an unknown encoding or a length that runs into the end byte. ``position`` is before
    ``end``, so a one-byte header can always be read."""
    first = data[position]
    if first < 0x80:  # 7-bit unsigned integer
        return 1
    if first < 0xC0:  # string of up to 63 bytes
        return 1 + (first & 0x3F)
    if first < 0xE0:  # 13-bit signed integer
        return 2
    if first < 0xF0:  # string of up to 4095 bytes: a second length byte
        if position + 2 > end:
            return None
        return 2 + ((first & 0x0F) << 8 | data[position + 1])
    if first == 0xF0:  # long string: a 32-bit length
        if position + 5 > end:
            return None
        return 5 + int.from_bytes(data[position + 1:position + 5], "little")
    return _FIXED_SIZES.get(first)


def _back_length(data: bytes, last: int) -> int:
    """lpDecodeBacklen: 7 bits a byte from ``last`` backwards while the high bit says
    another byte follows; -1 past five bytes, which no entry needs."""
    value = shift = 0
    while True:
        byte = data[last]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value
        shift += 7
        last -= 1
        if shift > 28:
            return -1


def pairs_valid(flat: list[bytes]) -> bool:
    """A hash's or sorted set's entries (field, value, field, value...): an even number,
    and no field twice (the callback of lpPairsValidateIntegrityAndDups)."""
    fields = flat[0::2]
    return len(flat) % 2 == 0 and len(set(fields)) == len(fields)


def strictly_ascending(numbers) -> bool:
    """An intset's members: sorted, with no member twice (intsetValidateIntegrity)."""
    return all(a < b for a, b in zip(numbers, numbers[1:]))


def stream_node_valid(numbers: list[int | None]) -> bool:
    """streamValidateListpackIntegrity's walk over one stream node's entries, each given
    as the integer it reads as (None: not an integer).

    The master entry comes first: live count, deleted count, the number of master
    fields, their names, a 0. Then live + deleted entries, each: flags, the ID's ms and
    seq (relative to the node's key), then either its own field count and field-value
    pairs or, with SAMEFIELDS, one value per master field; last the entry's element
    count, for walking backwards. Nothing may follow the last entry.
    """
    if len(numbers) < 3 or None in numbers[:3]:
        return False
    live, deleted, master_fields = numbers[:3]
    position = 3 + max(master_fields, 0)
    if position >= len(numbers) or numbers[position] != 0:
        return False
    position += 1
    remaining = live + deleted
    if remaining < 0:  # Redis counts down until it runs out of entries
        return False
    for _ in range(remaining):
        head = numbers[position:position + 3]  # flags, ms, seq
        if len(head) < 3 or None in head:
            return False
        position += 3
        if head[0] & STREAM_ITEM_FLAG_SAMEFIELDS:
            fields, extra = master_fields, 3
        else:
            if position >= len(numbers) or numbers[position] is None:
                return False
            fields = numbers[position]
            position += 1 + max(fields, 0)  # the count, then the field names
            extra = 3 + fields + 1
        position += max(fields, 0)  # the values
        if position >= len(numbers) or numbers[position] != fields + extra:
            return False
        position += 1
    return position == len(numbers)
