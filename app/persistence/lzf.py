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
        start = len(out) - ((control & 0x1F) << 8) - data[position] - 1
        position += 1
        run += 2
        if start < 0:
            raise LZFError("back reference before the start of the output")
        if start + run <= len(out):
            out += out[start:start + run]
        else:
            # Overlapping: each copied byte may be one this reference has just written.
            for index in range(start, start + run):
                out.append(out[index])
        if len(out) > length:
            break
    if len(out) != length:
        raise LZFError(f"decompressed to {len(out)} bytes, expected {length}")
    return bytes(out)


def compress(data: bytes) -> bytes:
    """Encode ``data`` (greedy, remembering the last place each 3 bytes were seen, as
    lzf_c.c does with its hash table). The result may be longer than the input: callers
    keep whichever is shorter."""
    out = bytearray()
    last_seen: dict[bytes, int] = {}
    size = len(data)
    literal_start = position = 0

    def flush_literals(stop: int) -> None:
        for start in range(literal_start, stop, MAX_LITERAL):
            chunk = data[start:min(start + MAX_LITERAL, stop)]
            out.append(len(chunk) - 1)
            out.extend(chunk)

    while position < size - 2:
        triple = data[position:position + 3]
        match = last_seen.get(triple)
        last_seen[triple] = position
        if match is None or position - match > MAX_OFFSET:
            position += 1
            continue
        limit = min(MAX_MATCH, size - position)
        run = 3
        while run < limit and data[match + run] == data[position + run]:
            run += 1
        flush_literals(position)
        offset = position - match - 1
        if run - 2 < 7:
            out.append(((run - 2) << 5) | (offset >> 8))
        else:
            out.append((7 << 5) | (offset >> 8))
            out.append(run - 9)
        out.append(offset & 0xFF)
        position += run
        literal_start = position
    flush_literals(size)
    return bytes(out)
