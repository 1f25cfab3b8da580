"""Bitmap commands: a string seen as an array of bits (SETBIT, BITCOUNT, BITOP...) or of
packed integers (BITFIELD).

A bitmap is not a type of its own: it is the string value, so GET, APPEND and SETRANGE
see the same bytes. Bit 0 is the most significant bit of byte 0, as in Redis. Writes
turn the value into a bytearray (if it is not one already) and change it in place, as
SETRANGE does, so a million SETBITs do not copy the string a million times.

The range arithmetic (`bit_count`, `bit_position`, `bit_operation`) is kept in pure
functions over bytes, which the property tests compare with a naive model.
"""

from __future__ import annotations

from app.commands.arguments import SYNTAX_ERROR, c_string, integer, keyword
from app.commands.registry import KeySpec, command
from app.commands.string import get_string
from app.numeric import parse_int
from app.protocol import ReplyError
from app.store import events

BAD_OFFSET = "ERR bit offset is not an integer or out of range"
BAD_BIT = "ERR bit is not an integer or out of range"
BAD_TYPE = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."


def _bitmap(name: str, **kwargs):
    kwargs["acl"] = "bitmap " + kwargs.get("acl", "")
    return command(name, group="bitmap", **kwargs)


# --------------------------------------------------------------------------- pure functions


def _popcount(data) -> int:
    # One big integer and one bit_count: far faster than a loop over the bytes.
    return int.from_bytes(data, "big").bit_count()


def resolve_range(length: int, start: int, end: int) -> tuple[int, int]:
    """Negative indexes counted from ``length``, then clamped to the string as Redis does
    (start may still end up past end: an empty range)."""
    if start < 0:
        start += length
    if end < 0:
        end += length
    start, end = max(start, 0), max(end, 0)
    return start, min(end, length - 1)


def bit_count(data, start: int | None = None, end: int | None = None, in_bits: bool = False) -> int:
    """BITCOUNT: set bits of ``data`` between ``start`` and ``end`` included (bytes, or bits
    with ``in_bits``), negative indexes from the end; the whole string without a range."""
    if start is None:
        return _popcount(data)
    total = len(data) * 8 if in_bits else len(data)
    if start < 0 and end < 0 and start > end:
        return 0
    start, end = resolve_range(total, start, end)
    if start > end:
        return 0
    if not in_bits:
        return _popcount(data[start : end + 1])
    # The bytes holding the range, then the bits outside it shifted or masked away.
    number = int.from_bytes(data[start >> 3 : (end >> 3) + 1], "big")
    number >>= 7 - (end & 7)
    return (number & ((1 << (end - start + 1)) - 1)).bit_count()


def bit_position(data, bit: int, start: int | None = None, end: int | None = None, in_bits: bool = False) -> int:
    """BITPOS: the first bit equal to ``bit`` in the range, as an offset from the string's
    start, or -1. Looking for a 0 without an explicit end, the string counts as padded
    with zeros on the right, so a run of 1s answers the bit just past the range."""
    end_given = end is not None
    total = len(data) * 8 if in_bits else len(data)
    if start is None:
        start, end = 0, len(data) - 1
    else:
        if end is None:
            end = total - 1
        start, end = resolve_range(total, start, end)
    if start > end:
        return -1
    first_bit, last_bit = (start, end) if in_bits else (start * 8, end * 8 + 7)
    width = last_bit - first_bit + 1
    number = int.from_bytes(data[first_bit >> 3 : (last_bit >> 3) + 1], "big")
    number = (number >> (7 - (last_bit & 7))) & ((1 << width) - 1)
    if bit == 0:
        number ^= (1 << width) - 1  # look for a 1 in the complement
    if number:
        return first_bit + width - number.bit_length()
    if bit == 1 or end_given:
        return -1
    return ((last_bit >> 3) + 1) * 8  # the first (padding) bit after the last byte


def bit_operation(operation: bytes, sources: list) -> bytes:
    """BITOP: AND, OR, XOR or NOT of ``sources``, the shorter ones padded with zero bytes."""
    length = max(map(len, sources))
    numbers = [int.from_bytes(bytes(source).ljust(length, b"\0"), "big") for source in sources]
    if operation == b"NOT":
        result = ~numbers[0] & ((1 << (8 * length)) - 1)
    else:
        result = numbers[0]
        for number in numbers[1:]:
            if operation == b"AND":
                result &= number
            elif operation == b"OR":
                result |= number
            else:
                result ^= number
    return result.to_bytes(length, "big")


# --------------------------------------------------------------------------- arguments


def bit_offset(client, arg: bytes, bits: int = 0) -> int:
    """A bit offset, below proto-max-bulk-len bytes. With ``bits`` (BITFIELD), "#n" means
    the n-th field of that width."""
    by_field = bits > 0 and arg[:1] == b"#"
    value = parse_int(arg[1:] if by_field else arg)
    if value is None:
        raise ReplyError(BAD_OFFSET)
    if by_field:
        # The product is an int64 in C: wrap it the same way, so the check below agrees.
        value = (value * bits + 2**63) % 2**64 - 2**63
    if value < 0 or (value >> 3) >= client.server.config["proto-max-bulk-len"]:
        raise ReplyError(BAD_OFFSET)
    return value


def _range_unit(arg: bytes) -> bool:
    """BYTE or BIT (True): the unit of BITCOUNT's and BITPOS's range."""
    unit = keyword(arg)
    if unit not in (b"BIT", b"BYTE"):
        raise ReplyError(SYNTAX_ERROR)
    return unit == b"BIT"


def writable_string(client, key: bytes, last_bit: int) -> tuple[bytearray, bool]:
    """The string at ``key`` as a bytearray at least long enough for ``last_bit`` (zeros
    for a missing key), and whether it was created or grown: then every write counts as a
    change, even one that leaves its bits as they were.

    A string that is not yet a bytearray comes back as a copy, which `keep` stores only
    if something changes: replacing the value otherwise would be a change WATCH sees,
    where Redis changes nothing. As in Redis' lookupStringForBitCommand, no change is
    counted here: the caller counts its own."""
    value = get_string(client.db, key, read=False)
    size = (last_bit >> 3) + 1
    if value is None:
        return bytearray(size), True
    if not isinstance(value, bytearray):
        value = bytearray(value)
    if len(value) >= size:
        return value, False
    value.extend(bytes(size - len(value)))
    return value, True


def keep(db, key: bytes, value: bytearray) -> None:
    """Store ``value`` at ``key`` (same TTL) unless it is already the stored object."""
    if db.lookup(key, touch=False) is not value:
        db.set(key, value, keep_ttl=True, changes=0)


# --------------------------------------------------------------------------- SETBIT GETBIT


@_bitmap("setbit", arity=4, flags="write denyoom", keys=[KeySpec(1, "RW access update")], since="2.2.0",
         summary="Sets or clears the bit at offset in the string value stored at key")
def setbit(client, key: bytes, offset_arg: bytes, value_arg: bytes):
    offset = bit_offset(client, offset_arg)
    on = integer(value_arg, BAD_BIT)
    if on not in (0, 1):
        raise ReplyError(BAD_BIT)
    value, grown = writable_string(client, key, offset)
    byte, mask = offset >> 3, 0x80 >> (offset & 7)
    old = value[byte] & mask
    # Only a real change is counted and announced: a new or longer string, or a new bit.
    if grown or bool(old) != bool(on):
        value[byte] = (value[byte] | mask) if on else (value[byte] & ~mask)
        keep(client.db, key, value)
        client.db.changed(key)
        client.db.notify(events.STRING, "setbit", key)
    return 1 if old else 0


@_bitmap("getbit", arity=3, flags="readonly fast", keys=[KeySpec(1, "RO access")], since="2.2.0",
         summary="Returns the bit value at offset in the string value stored at key")
def getbit(client, key: bytes, offset_arg: bytes):
    offset = bit_offset(client, offset_arg)
    value = get_string(client.db, key)
    if value is None or offset >> 3 >= len(value):
        return 0
    return 1 if value[offset >> 3] & (0x80 >> (offset & 7)) else 0


# --------------------------------------------------------------------------- BITCOUNT BITPOS


@_bitmap("bitcount", arity=-2, flags="readonly", keys=[KeySpec(1, "RO access")], since="2.6.0",
         summary="Count set bits in a string", complexity="O(N)")
def bitcount(client, key: bytes, *args: bytes):
    value = get_string(client.db, key)
    if value is None:
        return 0  # before the arguments are read: BITCOUNT nokey junk is 0
    if not args:
        return bit_count(value)
    if len(args) not in (2, 3):
        raise ReplyError(SYNTAX_ERROR)
    start, end = integer(args[0]), integer(args[1])
    in_bits = len(args) == 3 and _range_unit(args[2])
    return bit_count(value, start, end, in_bits)


@_bitmap("bitpos", arity=-3, flags="readonly", keys=[KeySpec(1, "RO access")], since="2.8.7",
         summary="Find first bit set or clear in a string", complexity="O(N)")
def bitpos(client, key: bytes, bit_arg: bytes, *args: bytes):
    bit = integer(bit_arg)
    if bit not in (0, 1):
        raise ReplyError("ERR The bit argument must be 1 or 0.")
    value = get_string(client.db, key)
    if value is None:
        # A missing key is an endless run of zeros.
        return -1 if bit else 0
    if not args:
        return bit_position(value, bit)
    if len(args) > 3:
        raise ReplyError(SYNTAX_ERROR)
    start = integer(args[0])
    in_bits = len(args) == 3 and _range_unit(args[2])  # read before the end, as Redis does
    end = integer(args[1]) if len(args) >= 2 else None
    return bit_position(value, bit, start, end, in_bits)


# --------------------------------------------------------------------------- BITOP


@_bitmap("bitop", arity=-4, flags="write denyoom",
         keys=[KeySpec(2, "OW update"), KeySpec(3, "RO access", last=-1)], since="2.6.0",
         summary="Perform bitwise operations between strings", complexity="O(N)")
def bitop(client, operation_arg: bytes, destination: bytes, *keys: bytes):
    operation = keyword(operation_arg)
    if operation not in (b"AND", b"OR", b"XOR", b"NOT"):
        raise ReplyError(SYNTAX_ERROR)
    if operation == b"NOT" and len(keys) != 1:
        raise ReplyError("ERR BITOP NOT must be called with a single source key.")
    db = client.db
    sources = [get_string(db, key) or b"" for key in keys]
    if not any(sources):
        # An empty result is no string at all: the destination is deleted.
        if db.delete(destination):
            db.notify(events.GENERIC, "del", destination)
        return 0
    result = bit_operation(operation, sources)
    db.set(destination, result)
    db.notify(events.STRING, "set", destination)
    return len(result)


# --------------------------------------------------------------------------- BITFIELD


def _field_type(arg: bytes) -> tuple[bool, int]:
    """(signed, bits) from "i8", "u16"...: i1 to i64, u1 to u63 (a u64 would not fit the
    signed 64-bit integer of the reply)."""
    signed = arg[:1] == b"i"
    bits = parse_int(c_string(arg[1:])) if arg[:1] in (b"i", b"u") else None
    if bits is None or bits < 1 or bits > (64 if signed else 63):
        raise ReplyError(BAD_TYPE)
    return signed, bits


def read_field(data, offset: int, bits: int, signed: bool) -> int:
    """The ``bits``-wide integer at bit ``offset``, zeros past the end of ``data``."""
    first, last = offset >> 3, (offset + bits - 1) >> 3
    chunk = bytes(data[first : last + 1]).ljust(last - first + 1, b"\0")
    number = (int.from_bytes(chunk, "big") >> (7 - ((offset + bits - 1) & 7))) & ((1 << bits) - 1)
    if signed and number >> (bits - 1):
        number -= 1 << bits
    return number


def write_field(data: bytearray, offset: int, bits: int, number: int) -> None:
    """Store the low ``bits`` of ``number`` at bit ``offset`` (``data`` is long enough)."""
    first, last = offset >> 3, (offset + bits - 1) >> 3
    shift = 7 - ((offset + bits - 1) & 7)
    mask = ((1 << bits) - 1) << shift
    current = int.from_bytes(data[first : last + 1], "big")
    current = (current & ~mask) | ((number << shift) & mask)
    data[first : last + 1] = current.to_bytes(last - first + 1, "big")


def fit_field(number: int, bits: int, signed: bool, overflow: bytes) -> int | None:
    """``number`` made to fit the field: wrapped, saturated, or None (FAIL) when out of range."""
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if low <= number <= high:
        return number
    if overflow == b"FAIL":
        return None
    if overflow == b"SAT":
        return high if number > high else low
    return (number - low) % (1 << bits) + low


def _bitfield(client, key: bytes, args: tuple[bytes, ...], read_only_command: bool):
    operations = []  # (opcode, signed, bits, offset, argument, overflow)
    overflow = b"WRAP"
    writes = False
    last_bit = 0
    i = 0
    while i < len(args):
        name, remaining = keyword(args[i]), len(args) - i - 1
        if name == b"OVERFLOW" and remaining >= 1:
            overflow = keyword(args[i + 1])
            if overflow not in (b"WRAP", b"SAT", b"FAIL"):
                raise ReplyError("ERR Invalid OVERFLOW type specified")
            i += 2
            continue
        if not ((name == b"GET" and remaining >= 2) or (name in (b"SET", b"INCRBY") and remaining >= 3)):
            raise ReplyError(SYNTAX_ERROR)
        signed, bits = _field_type(args[i + 1])
        offset = bit_offset(client, args[i + 2], bits)
        argument = 0
        if name != b"GET":
            writes = True
            last_bit = max(last_bit, offset + bits - 1)
            argument = integer(args[i + 3])
        operations.append((name, signed, bits, offset, argument, overflow))
        i += 3 if name == b"GET" else 4
    db = client.db
    if not writes:
        value = get_string(db, key)
    elif read_only_command:
        raise ReplyError("ERR BITFIELD_RO only supports the GET subcommand")
    else:
        value, grown = writable_string(client, key, last_bit)
    replies = []
    changes = 0  # writes that changed the string (any write, if it was created or grown)
    for name, signed, bits, offset, argument, overflow in operations:
        if value is None:
            replies.append(0)
            continue
        old = read_field(value, offset, bits, signed)
        if name == b"GET":
            replies.append(old)
            continue
        if name == b"SET":
            if not signed:
                argument %= 2**64  # a negative value is a huge one to an unsigned field
            new = fit_field(argument, bits, signed, overflow)
            reply = old
        else:
            new = reply = fit_field(old + argument, bits, signed, overflow)
        if new is None:
            replies.append(None)  # FAIL: nothing written
        else:
            write_field(value, offset, bits, new)
            replies.append(reply)
            changes += grown or new != old
    if changes:
        keep(db, key, value)
        db.changed(key, changes)
        db.notify(events.STRING, "setbit", key)
    return replies


@_bitmap("bitfield", arity=-2, flags="write denyoom",
         keys=[KeySpec(1, "RW access update variable_flags", notes="This command allows both access and modification of the key")],
         since="3.2.0", summary="Perform arbitrary bitfield integer operations on strings",
         complexity="O(1) for each subcommand specified")
def bitfield(client, key: bytes, *args: bytes):
    return _bitfield(client, key, args, read_only_command=False)


@_bitmap("bitfield_ro", arity=-2, flags="readonly fast", keys=[KeySpec(1, "RO access")], since="6.0.0",
         summary="Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
         complexity="O(1) for each subcommand specified")
def bitfield_ro(client, key: bytes, *args: bytes):
    return _bitfield(client, key, args, read_only_command=True)
