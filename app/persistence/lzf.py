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
    """Decode ``data``, which must produce exactly ``length`` bytes.

    A stream holds a chunk every few bytes, so the loop makes as few Python steps per
    chunk as it can: the end of the input is not checked chunk by chunk (a back
    reference cut short fails reading its next byte, and a literal run past the end
    leaves the position past it, which is checked once after the loop)."""
    out = bytearray()
    position, end = 0, len(data)
    try:
        while position < end:
            control = data[position]
            if control < 32:
                stop = position + control + 2
                out += data[position + 1:stop]
                position = stop
                continue
            run = (control >> 5) + 2
            if run == 9:  # 111OOOOO: the length goes on in the next byte
                position += 1
                run += data[position]
            start = len(out) - ((control & 0x1F) << 8 | data[position + 1]) - 1
            position += 2
            if start < 0:
                raise LZFError("back reference before the start of the output")
            if start + run <= len(out):
                out += out[start:start + run]
            else:
                # Overlapping: each copied byte may be one this reference has just written,
                # so the bytes from ``start`` repeat until ``run`` bytes are written.
                out += (out[start:] * (run // (len(out) - start) + 1))[:run]
            if len(out) > length:
                break
    except IndexError:
        raise LZFError("back reference cut short") from None
    if position > end:
        raise LZFError("literal run past the end of the compressed data")
    if len(out) != length:
        raise LZFError(f"decompressed to {len(out)} bytes, expected {length}")
    return bytes(out)


def compress(data: bytes, room: int | None = None) -> bytes | None:
    """Encode ``data`` exactly as liblzf's lzf_compress does (lzf_c.c, as Redis builds
    it: a 2^16-slot hash table of where each 3 bytes were last seen, VERY_FAST), so that
    our files and DUMP payloads are Redis' byte for byte. With ``room``, None when the
    output would not fit in that many bytes, as liblzf decides it (Redis gives it
    len - 4 and stores the string plainly when it does not fit).

    liblzf checks the room at every literal byte and every back reference, and once at
    the end. Its output only grows, by more than those checks' margins, so any early
    check that fails makes the last one fail too: checking only at the end gives the
    same answer, at the cost of finishing an incompressible input (nearly all of which
    it reads anyway, as incompressible output outgrows len - 4 only near the end)."""
    size = len(data)
    if not size:
        return b""
    if room is not None and room <= 0:
        return None
    out = bytearray()
    append = out.append
    table: dict[int, int] = {}  # slot -> position; an empty slot (0) is never a match
    get = table.get
    from_bytes = int.from_bytes
    literal_start = position = 0
    flush_at = MAX_LITERAL  # where the literal run in progress is full
    end = size - 2
    # IDX(h) of the 3 bytes at p is ((p[0] << 8 | p[1]) - (p[1] << 8 | p[2]) * 5) & 0xFFFF,
    # ``high`` and ``low`` below: a position's ``high`` is the ``low`` of the one before,
    # so the loop carries it over instead of reading those two bytes again.
    high = (data[0] << 8 | data[1]) if size > 1 else 0
    while position < end:
        low = data[position + 1] << 8 | data[position + 2]
        slot = (high - low * 5) & 0xFFFF
        ref = get(slot, 0)
        table[slot] = position
        # Both positions have this slot, so their first two bytes decide the third:
        # ``low`` follows from ``high`` and the slot (5 is invertible modulo 2^16).
        if not ref or data[ref] != data[position] or data[ref + 1] != data[position + 1] \
                or position - ref > MAX_OFFSET:
            position += 1
            high = low
            if position == flush_at:
                append(MAX_LITERAL - 1)
                out += data[literal_start:position]
                literal_start = position
                flush_at = position + MAX_LITERAL
            continue
        # The match's length, as liblzf counts it: up to ``longest`` (the bytes left but
        # two) and MAX_MATCH. When more than 16 bytes may match, liblzf first compares
        # the next 16 unrolled, so near the end of the input a match may run one or two
        # bytes past ``longest``. Unless so near the end, the first byte that differs is
        # found as the lowest set bit of the XOR of the two runs read as little-endian
        # numbers: a few steps at C speed instead of one per byte.
        longest = size - position - 2
        if longest > 18:
            diff = from_bytes(data[ref + 3:ref + 19], "little") ^ from_bytes(data[position + 3:position + 19], "little")
            if diff:
                length = 3 + (((diff & -diff).bit_length() - 1) >> 3)
            else:
                longest = min(longest, MAX_MATCH)
                diff = (from_bytes(data[ref + 19:ref + longest], "little")
                        ^ from_bytes(data[position + 19:position + longest], "little"))
                length = 19 + (((diff & -diff).bit_length() - 1) >> 3) if diff else longest
        else:
            if longest > 16:
                longest = 19  # the 16 unrolled compares, then the loop's first step
            length = 3
            while length < longest and data[ref + length] == data[position + length]:
                length += 1
        if position > literal_start:
            append(position - literal_start - 1)
            out += data[literal_start:position]
        offset = position - ref - 1
        if length < 9:
            append((offset >> 8) + ((length - 2) << 5))
        else:
            append((offset >> 8) + (7 << 5))
            append(length - 9)
        append(offset & 0xFF)
        position += length
        literal_start = position
        flush_at = position + MAX_LITERAL
        if position >= end:
            break
        # Remember the two positions before the next one, as VERY_FAST does.
        before = data[position - 2] << 8 | data[position - 1]
        high = data[position - 1] << 8 | data[position]
        table[(before - high * 5) & 0xFFFF] = position - 2
        low = data[position] << 8 | data[position + 1]
        table[(high - low * 5) & 0xFFFF] = position - 1
        high = low
    if room is not None and len(out) + 1 + position - literal_start + 3 > room:
        return None
    for run in range(literal_start, size, MAX_LITERAL):
        chunk = data[run:run + MAX_LITERAL]
        append(len(chunk) - 1)
        out += chunk
    return bytes(out)

