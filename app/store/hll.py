"""HyperLogLog exactly as Redis stores it (hyperloglog.c), so the bytes are interchangeable.

A HyperLogLog is a string value: a 16-byte header, then the registers.

    header: "HYLL" | encoding (0 dense, 1 sparse) | 3 unused bytes | cached cardinality,
            8 bytes little endian; the top bit of the last byte set means "stale"

There are 16384 registers (the low 14 bits of an element's hash pick one), each holding
the longest run of trailing zeros seen, plus one, in the other 50 bits (1 to 51).

Dense: 16384 registers of 6 bits, packed little endian (register i is bits 6i to 6i+5
of the little-endian number the 12288 bytes make), 12304 bytes in all.

Sparse: run-length opcodes, for HyperLogLogs that are mostly empty:

    00xxxxxx            ZERO: xxxxxx+1 registers at 0 (1-64)
    01xxxxxx yyyyyyyy   XZERO: 14-bit length+1 registers at 0 (1-16384)
    1vvvvvxx            VAL: xx+1 registers (1-4) at vvvvv+1 (1-32)

A sparse HyperLogLog is edited in place by the same steps as Redis (split the opcode
covering the register, then merge neighbouring VALs), because the result depends on
the order of the edits: rebuilding a canonical encoding would give different bytes.
It becomes dense when a register exceeds 32 or when it would outgrow
``hll-sparse-max-bytes``.
"""

from __future__ import annotations

import math
import re
import struct
from bisect import bisect_right
from itertools import accumulate

HEADER_SIZE = 16
P = 14  # index bits
Q = 64 - P  # bits left to count zeros in
REGISTERS = 1 << P
DENSE_SIZE = HEADER_SIZE + REGISTERS * 6 // 8
DENSE, SPARSE = 0, 1
MAGIC = b"HYLL"
ALPHA_INF = 0.721347520444481703680  # 0.5 / ln(2)

SPARSE_VAL_MAX_VALUE = 32
SPARSE_VAL_MAX_LEN = 4
SPARSE_ZERO_MAX_LEN = 64
SPARSE_XZERO_MAX_LEN = 16384

_MASK64 = (1 << 64) - 1
_M = 0xC6A4A7935BD1E995
_WORDS = struct.Struct("<Q")  # the 8-byte words MurmurHash reads, little endian as on x86


def murmurhash64a(data: bytes, seed: int = 0xADC83B19) -> int:
    """MurmurHash2, 64-bit version A, reading 8-byte words little endian (as Redis on x86)."""
    length = len(data)
    h = (seed ^ (length * _M)) & _MASK64
    whole = length - (length & 7)
    for (k,) in _WORDS.iter_unpack(data[:whole]):
        k = (k * _M) & _MASK64
        k ^= k >> 47
        k = (k * _M) & _MASK64
        h ^= k
        h = (h * _M) & _MASK64
    if length & 7:
        h ^= int.from_bytes(data[whole:], "little")
        h = (h * _M) & _MASK64
    h ^= h >> 47
    h = (h * _M) & _MASK64
    return h ^ (h >> 47)


def pattern(element: bytes) -> tuple[int, int]:
    """(register, value) for ``element``: the low 14 bits of its hash pick the register;
    the value is 1 + the number of trailing zeros of the 50 bits left (bit 50 is set, so
    the value is at most 51)."""
    h = murmurhash64a(element)
    rest = (h >> P) | (1 << Q)
    return h & (REGISTERS - 1), (rest & -rest).bit_length()


# --------------------------------------------------------------------------- header


def new_sparse() -> bytearray:
    """An empty HyperLogLog: sparse, one XZERO opcode covering all 16384 registers."""
    value = bytearray(MAGIC + bytes([SPARSE]) + bytes(11))
    for start in range(0, REGISTERS, SPARSE_XZERO_MAX_LEN):
        value += _xzero(min(SPARSE_XZERO_MAX_LEN, REGISTERS - start))
    return value


def is_valid(value) -> bool:
    """What Redis checks before treating a string as a HyperLogLog (isHLLObjectOrReply);
    the sparse opcodes themselves are only checked when they are read."""
    if len(value) < HEADER_SIZE or value[:4] != MAGIC or value[4] > SPARSE:
        return False
    return value[4] == SPARSE or len(value) == DENSE_SIZE


def cached_count(value) -> int | None:
    """The cardinality cached in the header, or None when it is stale."""
    if value[15] & 0x80:
        return None
    return int.from_bytes(value[8:16], "little")


def store_count(value: bytearray, count: int) -> None:
    value[8:16] = count.to_bytes(8, "little")


def invalidate(value: bytearray) -> None:
    value[15] |= 0x80


# --------------------------------------------------------------------------- dense


def dense_get(value, index: int) -> int:
    byte, shift = HEADER_SIZE + index * 6 // 8, index * 6 & 7
    word = value[byte] | (value[byte + 1] << 8 if byte + 1 < len(value) else 0)
    return (word >> shift) & 63


def dense_store(value: bytearray, index: int, count: int) -> None:
    """Set register ``index`` to ``count`` (0 to 63), lower or higher, leaving its
    neighbours alone (HLL_DENSE_SET_REGISTER)."""
    byte, shift = HEADER_SIZE + index * 6 // 8, index * 6 & 7
    value[byte] = (value[byte] & ~(63 << shift) & 0xFF) | ((count << shift) & 0xFF)
    if shift > 2:  # the register spills into the next byte
        value[byte + 1] = (value[byte + 1] & ~(63 >> (8 - shift))) | (count >> (8 - shift))


def dense_set(value: bytearray, index: int, count: int) -> int:
    """Raise register ``index`` to ``count``: 1 if it grew, 0 if it was already as high."""
    if count <= dense_get(value, index):
        return 0
    dense_store(value, index, count)
    return 1


def dense_registers(value) -> list[int]:
    """All 16384 registers of a dense HyperLogLog; three bytes hold four registers."""
    body = bytes(value[HEADER_SIZE:DENSE_SIZE])
    registers = []
    extend = registers.extend
    for b0, b1, b2 in zip(body[0::3], body[1::3], body[2::3]):
        extend((b0 & 63, (b0 >> 6) | ((b1 & 15) << 2), (b1 >> 4) | ((b2 & 3) << 4), b2 >> 2))
    return registers


# --------------------------------------------------------------------------- sparse


def _xzero(length: int) -> bytes:
    return bytes((((length - 1) >> 8) | 0x40, (length - 1) & 0xFF))


def _val(value: int, length: int) -> int:
    return ((value - 1) << 2 | (length - 1)) | 0x80


def _opcode(value, p: int) -> tuple[int, int, int]:
    """(kind, registers covered, bytes taken) of the opcode at ``p``; kind is 0 ZERO,
    1 XZERO, 2 VAL. An XZERO cut short at the end counts its missing byte as 0."""
    op = value[p]
    if op & 0x80:
        return 2, (op & 3) + 1, 1
    if op & 0x40:
        low = value[p + 1] if p + 1 < len(value) else 0
        return 1, (((op & 0x3F) << 8) | low) + 1, 2
    return 0, (op & 0x3F) + 1, 1


def sparse_registers(value) -> list[int] | None:
    """All registers of a sparse HyperLogLog, or None if the opcodes do not cover exactly
    16384 registers (a corrupted value)."""
    registers = []
    p, end = HEADER_SIZE, len(value)
    while p < end:
        kind, length, size = _opcode(value, p)
        if kind == 2:
            if len(registers) + length > REGISTERS:
                return None
            registers.extend([((value[p] >> 2) & 31) + 1] * length)
        else:
            registers.extend([0] * length)
        p += size
    return registers if len(registers) == REGISTERS else None


def _zero_run(length: int) -> bytes:
    return _xzero(length) if length > SPARSE_ZERO_MAX_LEN else bytes((length - 1,))


# How many registers each one-byte opcode (ZERO or VAL) covers. XZERO opcodes, the only
# ones whose first byte is from 0x40 to 0x7F, are read apart and never looked up here.
_ONE_BYTE_SPANS = bytes((op & 3) + 1 if op & 0x80 else (op & 0x3F) + 1 for op in range(256))
# The opcodes cut into runs: an XZERO (its second byte may be missing at the end of a
# corrupted value) or not, then up to 128 one-byte opcodes.
_OPCODE_RUNS = re.compile(rb"[\x40-\x7f][\x00-\xff]?[^\x40-\x7f]{0,128}|[^\x40-\x7f]{1,128}")


def _find_opcode(value, index: int) -> tuple[int, int, int | None] | None:
    """Step 1 of hllSparseSet: (position, first register, position of the opcode before)
    of the opcode covering register ``index``, or None if the opcodes end first.

    Redis walks the opcodes one by one, and a sparse value near ``hll-sparse-max-bytes``
    holds a thousand or more: in Python that walk was most of the cost of PFADD. Here a
    regular expression cuts the opcodes into runs, and the one-byte opcodes of a run are
    walked at C speed: their spans come from a table (``translate``), they are skipped
    together by their ``sum``, and in the run covering the register ``accumulate`` and
    ``bisect`` find the opcode."""
    first, prev = 0, None
    all_spans = value.translate(_ONE_BYTE_SPANS)
    for run in _OPCODE_RUNS.finditer(value, HEADER_SIZE):
        p, stop = run.span()
        op = value[p]
        if 0x40 <= op < 0x80:  # an XZERO first
            span = ((op & 0x3F) << 8 | (value[p + 1] if p + 1 < stop else 0)) + 1
            if index < first + span:
                return p, first, prev
            first, prev, p = first + span, p, p + 2
            if p >= stop:
                continue
        spans = all_spans[p:stop]
        total = sum(spans)
        if index < first + total:
            covered = list(accumulate(spans))
            i = bisect_right(covered, index - first)
            if i:
                return p + i, first + covered[i - 1], p + i - 1
            return p, first, prev
        first, prev = first + total, stop - 1
    return None


def sparse_set(value: bytearray, index: int, count: int, max_bytes: int) -> int:
    """Raise register ``index`` of a sparse HyperLogLog to ``count``, in place, as Redis'
    hllSparseSet: 1 if it changed, 0 if not, -1 if the value is corrupted. The value
    becomes dense when ``count`` is too big for a VAL opcode or when it would grow past
    ``max_bytes``."""
    if count > SPARSE_VAL_MAX_VALUE:
        return _promote_and_set(value, index, count)
    # Step 1: find the opcode covering the register.
    found = _find_opcode(value, index)
    if found is None:
        return -1
    p, first, prev = found
    kind, span, size = _opcode(value, p)
    # Step 2: the easy cases, changed in place.
    if kind == 2:
        old = ((value[p] >> 2) & 31) + 1
        if old >= count:
            return 0
        if span == 1:
            value[p] = _val(count, 1)
            _merge_values(value, prev)
            return 1
    if kind == 0 and span == 1:
        value[p] = _val(count, 1)
        _merge_values(value, prev)
        return 1
    # Step 3: split the opcode into up to three: before, the register, after.
    last = first + span - 1
    sequence = bytearray()
    if kind == 2:
        old = ((value[p] >> 2) & 31) + 1
        if index != first:
            sequence.append(_val(old, index - first))
        sequence.append(_val(count, 1))
        if index != last:
            sequence.append(_val(old, last - index))
    else:
        if index != first:
            sequence += _zero_run(index - first)
        sequence.append(_val(count, 1))
        if index != last:
            sequence += _zero_run(last - index)
    growth = len(sequence) - size
    if growth > 0 and len(value) + growth > max_bytes:
        return _promote_and_set(value, index, count)
    value[p : p + size] = sequence
    _merge_values(value, prev)
    return 1


def _merge_values(value: bytearray, prev: int | None) -> None:
    """Step 4 of hllSparseSet: from the opcode before the edit, over at most five
    opcodes, merge two neighbouring VALs of the same value if their runs fit in one."""
    p = HEADER_SIZE if prev is None else prev
    scan = 5
    while p < len(value) and scan:
        scan -= 1
        op = value[p]
        if not op & 0x80:
            p += 2 if op & 0x40 else 1
            continue
        if p + 1 < len(value) and value[p + 1] & 0x80:
            v1, v2 = (op >> 2) & 31, (value[p + 1] >> 2) & 31
            length = (op & 3) + (value[p + 1] & 3) + 2
            if v1 == v2 and length <= SPARSE_VAL_MAX_LEN:
                value[p : p + 2] = bytes((_val(v1 + 1, length),))
                continue  # try to merge the result with the next one
        p += 1
    invalidate(value)


def to_dense(value: bytearray) -> bool:
    """Turn a sparse HyperLogLog dense, in place (the header, cached count included, is
    kept); False if the sparse value is corrupted. A dense one is left as it is."""
    if value[4] == DENSE:
        return True
    registers = sparse_registers(value)
    if registers is None:
        return False
    dense = bytearray(value[:HEADER_SIZE]) + bytearray(DENSE_SIZE - HEADER_SIZE)
    dense[4] = DENSE
    for index, register in enumerate(registers):
        if register:
            dense_set(dense, index, register)
    value[:] = dense
    return True


def _promote_and_set(value: bytearray, index: int, count: int) -> int:
    if not to_dense(value):
        return -1
    return dense_set(value, index, count)


def add(value: bytearray, element: bytes, max_bytes: int) -> int:
    """PFADD of one element: 1 if a register grew, 0 if not, -1 if the value is corrupted."""
    index, count = pattern(element)
    if value[4] == DENSE:
        return dense_set(value, index, count)
    return sparse_set(value, index, count, max_bytes)


def registers(value) -> list[int] | None:
    """The registers of either encoding (None: a corrupted sparse value)."""
    return dense_registers(value) if value[4] == DENSE else sparse_registers(value)


def decode_sparse(value) -> str:
    """PFDEBUG DECODE: the opcodes as text, "z:len", "Z:len" and "v:value,len"."""
    words = []
    p = HEADER_SIZE
    while p < len(value):
        kind, length, size = _opcode(value, p)
        if kind == 2:
            words.append(f"v:{((value[p] >> 2) & 31) + 1},{length}")
        else:
            words.append(f"{'zZ'[kind]}:{length}")
        p += size
    return " ".join(words)


# --------------------------------------------------------------------------- estimate


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if previous == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y, z = 1.0, 1 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= (1 - x) ** 2 * y
        if previous == z:
            return z / 3


def estimate(histogram: list[int]) -> int:
    """The cardinality from the registers' histogram (how many registers hold each value),
    with Ertl's improved estimator, in the same double arithmetic as Redis 7."""
    m = float(REGISTERS)
    z = m * _tau((m - histogram[Q + 1]) / m)
    for j in range(Q, 0, -1):
        z += histogram[j]
        z *= 0.5
    z += m * _sigma(histogram[0] / m)
    e = ALPHA_INF * m * m / z
    whole = math.floor(e)
    return int(whole) + (1 if e - whole >= 0.5 else 0)  # llroundl: halves away from zero


def count(register_values: list[int]) -> int:
    histogram = [0] * 64
    for register in register_values:
        histogram[register] += 1
    return estimate(histogram)
