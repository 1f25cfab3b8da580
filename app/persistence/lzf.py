"""LZF, the compression Redis applies to long strings in RDB files (lzf_c.c, lzf_d.c).

The compressed stream is a series of chunks, each starting with a control byte:

- ``000LLLLL``: a literal run of L+1 bytes (1 to 32) that follow;
- ``LLLOOOOO OOOOOOOO``: a back reference: copy L+2 bytes (3 to 8) from O+1 bytes
  behind the end of the output so far (O up to 8191);
- ``111OOOOO LLLLLLLL OOOOOOOO``: the same with a length of L+9 (up to 264).

A reference may overlap the bytes it produces ("abababab" is "ab" and one reference).
"""

from __future__ import annotations

MAX_LITERAL = 32
MAX_OFFSET = 1 << 13  # offsets are 13 bits
MAX_MATCH = 264  # 7 + 255 + 2


class LZFError(ValueError):
    """Compressed data that does not decode to the promised length."""


def decompress(data: bytes, length: int) -> bytes:
    """Decode ``data``, which must produce exactly ``length`` bytes."""
    out = bytearray()
    position, end = 0, len(data)
    while position < end:
        control = data[position]
        position += 1
        if control < 32:
            run = control + 1
            if position + run > end:
                raise LZFError("literal run past the end of the compressed data")
            out += data[position:position + run]
            position += run
            continue
        run = control >> 5
        if run == 7:
            if position >= end:
                raise LZFError("back reference cut short")
            run += data[position]
            position += 1
        if position >= end:
            raise LZFError("back reference cut short")
        distance = ((control & 0x1F) << 8) + data[position] + 1
        position += 1
        run += 2
        start = len(out) - distance
        if start < 0:
            raise LZFError("back reference before the start of the output")
        if run <= distance:
            out += out[start:start + run]
        else:
            # Overlapping: each copied byte may be one this reference has just written,
            # so the last ``distance`` bytes repeat until ``run`` bytes are written.
            out += (out[start:] * (run // distance + 1))[:run]
        if len(out) > length:
            break
    if len(out) != length:
        raise LZFError(f"decompressed to {len(out)} bytes, expected {length}")
    return bytes(out)


def compress(data: bytes, room: int | None = None) -> bytes | None:
    """Encode ``data`` exactly as liblzf's lzf_compress does (lzf_c.c, as Redis builds
    it: a 2^16-slot hash table of where each 3 bytes were last seen, VERY_FAST), so that
    our files and DUMP payloads are Redis' byte for byte. With ``room``, None when the
    output would not fit in that many bytes, with liblzf's own conservative checks
    (Redis gives it len - 4 and stores the string plainly when it does not fit)."""
    size = len(data)
    limit = float("inf") if room is None else room
    if not size:
        return b""
    if limit <= 0:
        return None
    out = bytearray()
    table: dict[int, int] = {}  # slot -> position; an empty slot (0) is never a match
    literal_start = position = 0
    end = size - 2
    # IDX(h) of the 3 bytes at p is ((p[0] << 8 | p[1]) - (p[1] << 8 | p[2]) * 5) & 0xFFFF,
    # ``high`` and ``low`` below: a position's ``high`` is the ``low`` of the one before,
    # so the loop carries it over instead of reading those two bytes again.
    high = (data[0] << 8 | data[1]) if size > 1 else 0
    while position < end:
        low = data[position + 1] << 8 | data[position + 2]
        key = (high - low * 5) & 0xFFFF
        ref = table.get(key, 0)
        table[key] = position
        offset = position - ref - 1
        literals = position - literal_start
        if (ref > 0 and offset < MAX_OFFSET and data[ref + 2] == data[position + 2]
                and data[ref] == data[position] and data[ref + 1] == data[position + 1]):
            reserved = len(out) + 1 + literals  # liblzf's op: a run's header is reserved ahead
            if reserved + 4 >= limit and reserved - (not literals) + 4 >= limit:
                return None
            longest = min(size - position - 2, MAX_MATCH)
            length = 3
            # liblzf compares 16 bytes unrolled before its loop when more may match.
            unrolled = 16 if longest > 16 else 0
            while unrolled and data[ref + length] == data[position + length]:
                unrolled -= 1
                length += 1
            if not unrolled or longest <= 16:
                while length < longest and data[ref + length] == data[position + length]:
                    length += 1
            if literals:  # fewer than MAX_LITERAL: a full run is written as soon as there is one
                out.append(literals - 1)
                out += data[literal_start:position]
            if length - 2 < 7:
                out.append((offset >> 8) + ((length - 2) << 5))
            else:
                out.append((offset >> 8) + (7 << 5))
                out.append(length - 9)
            out.append(offset & 0xFF)
            position += length
            literal_start = position
            if position >= end:
                break
            # Remember the two positions before the next one, as VERY_FAST does.
            before = data[position - 2] << 8 | data[position - 1]
            high = data[position - 1] << 8 | data[position]
            table[(before - high * 5) & 0xFFFF] = position - 2
            low = data[position] << 8 | data[position + 1]
            table[(high - low * 5) & 0xFFFF] = position - 1
            high = low
        else:
            if len(out) + 1 + literals >= limit:
                return None
            position += 1
            high = low
            if position - literal_start == MAX_LITERAL:
                out.append(MAX_LITERAL - 1)
                out += data[literal_start:position]
                literal_start = position
    if len(out) + 1 + position - literal_start + 3 > limit:
        return None
    _literal_runs(out, data, literal_start, size)
    return bytes(out)


def _literal_runs(out: bytearray, data: bytes, start: int, stop: int) -> None:
    for run in range(start, stop, MAX_LITERAL):
        chunk = data[run:min(run + MAX_LITERAL, stop)]
        out.append(len(chunk) - 1)
        out += chunk
