"""String commands: SET and GET and their relatives, counters, ranges and LCS."""

from __future__ import annotations

from fractions import Fraction

from app.commands.arguments import NOT_FLOAT, NOT_INTEGER, SYNTAX_ERROR, integer, keyword, wrong_type
from app.commands.registry import KeySpec, command
from app.numeric import INF, INT64_MAX, INT64_MIN, format_long_double, parse_int, parse_long_double, round_long_double
from app.propagation import propagate_as
from app.protocol import ReplyError
from app.store import events
from app.store.keyspace import UnencodedString, now_ms

STRING_TYPES = (bytes, bytearray)


def _string(name: str, **kwargs):
    kwargs["acl"] = "string " + kwargs.get("acl", "")
    return command(name, group="string", **kwargs)


def get_string(db, key: bytes, read: bool = True):
    """The string at ``key`` (bytes, bytearray or UnencodedString), None if missing;
    WRONGTYPE otherwise."""
    value = db.lookup_read(key) if read else db.lookup(key)
    if value is None or isinstance(value, STRING_TYPES):
        return value
    raise wrong_type()


def snapshot(value):
    """A string (or None) as a reply: plain bytes, since the encoder dispatches on the
    exact type, and a copy of a bytearray, since replies are encoded after the lock is
    released, when another client's APPEND could already be changing it."""
    return value if value is None or value.__class__ is bytes else bytes(value)


def _check_length(client, length: int) -> None:
    if length > client.server.config["proto-max-bulk-len"]:
        raise ReplyError("ERR string exceeds maximum allowed size (proto-max-bulk-len)")


# --------------------------------------------------------------------------- SET and friends


def expire_deadline(name: str, amount: bytes, unit_ms: int, absolute: bool) -> int:
    """The deadline in Unix ms for EX/PX/EXAT/PXAT ``amount``, checked as Redis does."""
    value = integer(amount)
    invalid = ReplyError(f"ERR invalid expire time in '{name}' command")
    if value <= 0 or (unit_ms == 1000 and value > INT64_MAX // 1000):
        raise invalid
    value *= unit_ms
    if not absolute:
        value += now_ms()
    if value > INT64_MAX:
        raise invalid
    return value


_EXPIRE_UNITS = {b"EX": (1000, False), b"PX": (1, False), b"EXAT": (1000, True), b"PXAT": (1, True)}


def parse_set_options(options: tuple[bytes, ...], allowed: tuple[bytes, ...]):
    """Read SET / GETEX options; return (flags, expiry): (EX|PX|EXAT|PXAT, amount) or None.

    Options may repeat (the last expiry wins) but not contradict each other: NX with
    XX, two kinds of expiry, or an expiry with KEEPTTL or PERSIST is a syntax error.
    The amount is checked later, by `option_deadline`: GETEX looks the key up first.
    """
    flags: set[bytes] = set()
    expiry: tuple[bytes, bytes] | None = None
    i = 0
    while i < len(options):
        option = keyword(options[i])
        if option not in allowed:
            raise ReplyError(SYNTAX_ERROR)
        if option in _EXPIRE_UNITS:
            if i + 1 >= len(options) or b"KEEPTTL" in flags or b"PERSIST" in flags:
                raise ReplyError(SYNTAX_ERROR)
            if expiry is not None and expiry[0] != option:
                raise ReplyError(SYNTAX_ERROR)
            expiry = (option, options[i + 1])
            i += 2
            continue
        conflicts = {b"NX": b"XX", b"XX": b"NX"}.get(option)
        if conflicts in flags or (option in (b"KEEPTTL", b"PERSIST") and expiry is not None):
            raise ReplyError(SYNTAX_ERROR)
        flags.add(option)
        i += 1
    return flags, expiry


def option_deadline(name: str, expiry: tuple[bytes, bytes] | None) -> int | None:
    """The deadline an expiry from `parse_set_options` asks for, or None."""
    if expiry is None:
        return None
    unit_ms, absolute = _EXPIRE_UNITS[expiry[0]]
    return expire_deadline(name, expiry[1], unit_ms, absolute)


def announce_set(db, key: bytes, deadline: int | None = None) -> None:
    """The notifications of every SET-like command: "set", then "expire" if it gave a deadline."""
    db.notify(events.STRING, "set", key)
    if deadline is not None:
        db.notify(events.GENERIC, "expire", key)


_SET_OPTIONS = (b"NX", b"XX", b"GET", b"KEEPTTL", b"EX", b"PX", b"EXAT", b"PXAT")


@_string("set", arity=-3, flags="write denyoom",
         keys=[KeySpec(1, "RW access update variable_flags", notes="RW and ACCESS due to the optional `GET` argument")],
         since="1.0.0", summary="Set the string value of a key")
def set_(client, key: bytes, value: bytes, *options: bytes):
    db = client.db
    if not options:  # SET key value, what clients send most: the steps below without options
        db.lookup(key)  # as Redis' lookupKeyWrite: a key past its deadline expires, LFU counts the access
        db.set(key, value)
        db.notify(events.STRING, "set", key)
        return "OK"
    flags, expiry = parse_set_options(options, _SET_OPTIONS)
    deadline = option_deadline("set", expiry)
    old = None
    if b"GET" in flags:
        old = get_string(db, key)
        exists = old is not None
    else:
        exists = db.lookup(key) is not None
    if (b"NX" in flags and exists) or (b"XX" in flags and not exists):
        return snapshot(old) if b"GET" in flags else None
    # A deadline already past is stored all the same (see Database.set).
    db.set(key, value, keep_ttl=b"KEEPTTL" in flags, deadline=deadline)
    announce_set(db, key, deadline)
    if deadline is not None:  # replicas agree on when; Redis rewrites a PXAT too (its options dropped)
        propagate_as(client, [b"SET", key, value, b"PXAT", b"%d" % deadline])
    return snapshot(old) if b"GET" in flags else "OK"


@_string("get", arity=2, flags="readonly fast", keys=[KeySpec(1, "RO access")], since="1.0.0",
         summary="Get the value of a key")
def get(client, key: bytes):
    value = client.db.lookup_read(key)
    if value is None or value.__class__ is bytes:
        return value  # most GETs: two tests, not `get_string`'s and `snapshot`'s calls
    if isinstance(value, STRING_TYPES):
        return bytes(value)  # a copy: see `snapshot`
    raise wrong_type()


@_string("getex", arity=-2, flags="write fast",
         keys=[KeySpec(1, "RW access update", notes="RW and UPDATE because it changes the TTL")],
         since="6.2.0", summary="Get the value of a key and optionally set its expiration")
def getex(client, key: bytes, *options: bytes):
    flags, expiry = parse_set_options(options, (b"EX", b"PX", b"EXAT", b"PXAT", b"PERSIST"))
    db = client.db
    value = get_string(db, key)
    if value is None:
        return None  # before the expiry is checked: GETEX missing EX 0 is nil
    deadline = option_deadline("getex", expiry)
    if deadline is not None:
        kept = db.set_deadline(key, deadline)  # one already past deletes the key
        db.notify(events.GENERIC, "expire" if kept else "del", key)
        propagate_as(client, [b"PEXPIREAT", key, b"%d" % deadline] if kept else [b"DEL", key])
    elif b"PERSIST" in flags and db.persist(key):
        db.notify(events.GENERIC, "persist", key)
        propagate_as(client, [b"PERSIST", key])
    return snapshot(value)


@_string("getdel", arity=2, flags="write fast", keys=[KeySpec(1, "RW access delete")], since="6.2.0",
         summary="Get the value of a key and delete the key")
def getdel(client, key: bytes):
    db = client.db
    value = get_string(db, key)
    if value is not None:
        db.delete(key)
        db.notify(events.GENERIC, "del", key)
        propagate_as(client, [b"DEL", key])
    return snapshot(value)


@_string("getset", arity=3, flags="write denyoom fast", keys=[KeySpec(1, "RW access update")], since="1.0.0",
         summary="Set the string value of a key and return its old value")
def getset(client, key: bytes, value: bytes):
    db = client.db
    old = get_string(db, key)
    db.set(key, value)
    announce_set(db, key)
    return snapshot(old)


@_string("mget", arity=-2, flags="readonly fast", keys=[KeySpec(1, "RO access", last=-1)], since="1.0.0",
         tips="request_policy:multi_shard", summary="Get the values of all the given keys",
         complexity="O(N) where N is the number of keys to retrieve.")
def mget(client, *keys: bytes):
    lookup = client.db.lookup_read
    # A key of another type reads as nil here, not as an error.
    return [snapshot(value) if isinstance(value, STRING_TYPES) else None for value in map(lookup, keys)]


def _pairs(name: str, args: tuple[bytes, ...]):
    if len(args) % 2:
        raise ReplyError(f"ERR wrong number of arguments for '{name}' command")
    return zip(args[::2], args[1::2])


@_string("mset", arity=-3, flags="write denyoom", keys=[KeySpec(1, "OW update", last=-1, step=2)], since="1.0.1",
         tips="request_policy:multi_shard response_policy:all_succeeded",
         summary="Set multiple keys to multiple values",
         complexity="O(N) where N is the number of keys to set.")
def mset(client, *args: bytes):
    db = client.db
    for key, value in _pairs("mset", args):
        db.set(key, value)
        announce_set(db, key)
    return "OK"


@_string("msetnx", arity=-3, flags="write denyoom", keys=[KeySpec(1, "OW insert", last=-1, step=2)], since="1.0.1",
         tips="request_policy:multi_shard response_policy:agg_min",
         summary="Set multiple keys to multiple values, only if none of the keys exist",
         complexity="O(N) where N is the number of keys to set.")
def msetnx(client, *args: bytes):
    pairs = list(_pairs("msetnx", args))
    db = client.db
    if any(db.exists(key) for key, _ in pairs):
        return 0
    for key, value in pairs:
        db.set(key, value)
        announce_set(db, key)
    return 1


@_string("setnx", arity=3, flags="write denyoom fast", keys=[KeySpec(1, "OW insert")], since="1.0.0",
         summary="Set the value of a key, only if the key does not exist")
def setnx(client, key: bytes, value: bytes):
    db = client.db
    if db.lookup(key) is not None:
        return 0
    db.set(key, value)
    announce_set(db, key)
    return 1


@_string("setex", arity=4, flags="write denyoom", keys=[KeySpec(1, "OW update")], since="2.0.0",
         summary="Set the value and expiration of a key")
def setex(client, key: bytes, seconds: bytes, value: bytes):
    deadline = expire_deadline("setex", seconds, 1000, absolute=False)
    client.db.set(key, value, deadline=deadline)
    announce_set(client.db, key, deadline)
    propagate_as(client, [b"SET", key, value, b"PXAT", b"%d" % deadline])
    return "OK"


@_string("psetex", arity=4, flags="write denyoom", keys=[KeySpec(1, "OW update")], since="2.6.0",
         summary="Set the value and expiration in milliseconds of a key")
def psetex(client, key: bytes, milliseconds: bytes, value: bytes):
    deadline = expire_deadline("psetex", milliseconds, 1, absolute=False)
    client.db.set(key, value, deadline=deadline)
    announce_set(client.db, key, deadline)
    propagate_as(client, [b"SET", key, value, b"PXAT", b"%d" % deadline])
    return "OK"


# --------------------------------------------------------------------------- in-place edits


@_string("append", arity=3, flags="write denyoom fast", keys=[KeySpec(1, "RW insert")], since="2.0.0",
         summary="Append a value to a key",
         complexity="O(1). The amortized time complexity is O(1) assuming the appended value is small and the "
                    "already present value is of any size, since the dynamic string library used by Redis will "
                    "double the free space available on every reallocation.")
def append(client, key: bytes, suffix: bytes):
    db = client.db
    value = get_string(db, key, read=False)
    if value is None:
        db.set(key, suffix)
        db.notify(events.STRING, "append", key)
        return len(suffix)
    _check_length(client, len(value) + len(suffix))
    if not isinstance(value, bytearray):
        # A bytearray grows in place, so a thousand appends do not copy the value a
        # thousand times; the key keeps its TTL.
        value = bytearray(value)
        db.set(key, value, keep_ttl=True)
    value += suffix
    db.changed(key)
    db.notify(events.STRING, "append", key)  # even for an empty suffix, as in Redis
    return len(value)


@_string("strlen", arity=2, flags="readonly fast", keys=[KeySpec(1, "RO")], since="2.2.0",
         summary="Get the length of the value stored in a key")
def strlen(client, key: bytes):
    value = get_string(client.db, key)
    return 0 if value is None else len(value)


_GETRANGE_COMPLEXITY = ("O(N) where N is the length of the returned string. The complexity is ultimately determined by "
                        "the returned length, but because creating a substring from an existing string is very cheap, "
                        "it can be considered O(1) for small strings.")


# SUBSTR is GETRANGE's name before Redis 2.0, still answered (deprecated): one function,
# two entries in the table, so each keeps its own COMMAND INFO, DOCS and commandstats.
@_string("substr", arity=4, flags="readonly", keys=[KeySpec(1, "RO access")], since="1.0.0",
         summary="Get a substring of the string stored at a key", complexity=_GETRANGE_COMPLEXITY)
@_string("getrange", arity=4, flags="readonly", keys=[KeySpec(1, "RO access")], since="2.4.0",
         summary="Get a substring of the string stored at a key", complexity=_GETRANGE_COMPLEXITY)
def getrange(client, key: bytes, start_arg: bytes, end_arg: bytes):
    start, end = integer(start_arg), integer(end_arg)
    value = get_string(client.db, key)
    if value is None:
        return b""
    length = len(value)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start = max(length + start, 0)
    if end < 0:
        end = max(length + end, 0)
    end = min(end, length - 1)
    if start > end or length == 0:
        return b""
    return bytes(value[start : end + 1])


@_string("setrange", arity=4, flags="write denyoom", keys=[KeySpec(1, "RW update")], since="2.2.0",
         summary="Overwrite part of a string at key starting at the specified offset",
         complexity="O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.")
def setrange(client, key: bytes, offset_arg: bytes, data: bytes):
    offset = integer(offset_arg)
    if offset < 0:
        raise ReplyError("ERR offset is out of range")
    db = client.db
    value = get_string(db, key, read=False)
    if value is None:
        if not data:
            return 0
        _check_length(client, offset + len(data))
        value = bytearray(offset + len(data))
        db.set(key, value)
    else:
        if not data:
            return len(value)
        _check_length(client, offset + len(data))
        if not isinstance(value, bytearray):
            value = bytearray(value)
            db.set(key, value, keep_ttl=True)
    if len(value) < offset:
        value.extend(bytes(offset - len(value)))  # the gap is filled with zero bytes
    value[offset : offset + len(data)] = data
    db.changed(key)
    db.notify(events.STRING, "setrange", key)
    return len(value)


# --------------------------------------------------------------------------- counters


def _add_to_integer(client, key: bytes, increment: int) -> int:
    db = client.db
    value = db.lookup(key)  # `get_string(read=False)`, unrolled: INCR is a hot command
    if value is None:
        current = 0
    elif value.__class__ is bytes:
        current = parse_int(value)
    elif isinstance(value, STRING_TYPES):
        current = parse_int(bytes(value))
    else:
        raise wrong_type()
    if current is None:
        raise ReplyError(NOT_INTEGER)
    result = current + increment
    if not INT64_MIN <= result <= INT64_MAX:
        raise ReplyError("ERR increment or decrement would overflow")
    db.set(key, b"%d" % result, keep_ttl=True)
    if db.keyspace.notify_flags & events.STRING:
        db.notify(events.STRING, "incrby", key)  # INCR, DECR and DECRBY too
    return result


_COUNTER_KEYS = [KeySpec(1, "RW access update")]


@_string("incr", arity=2, flags="write denyoom fast", keys=_COUNTER_KEYS, since="1.0.0",
         summary="Increment the integer value of a key by one")
def incr(client, key: bytes):
    return _add_to_integer(client, key, 1)


@_string("decr", arity=2, flags="write denyoom fast", keys=_COUNTER_KEYS, since="1.0.0",
         summary="Decrement the integer value of a key by one")
def decr(client, key: bytes):
    return _add_to_integer(client, key, -1)


@_string("incrby", arity=3, flags="write denyoom fast", keys=_COUNTER_KEYS, since="1.0.0",
         summary="Increment the integer value of a key by the given amount")
def incrby(client, key: bytes, increment: bytes):
    return _add_to_integer(client, key, integer(increment))


@_string("decrby", arity=3, flags="write denyoom fast", keys=_COUNTER_KEYS, since="1.0.0",
         summary="Decrement the integer value of a key by the given number")
def decrby(client, key: bytes, decrement: bytes):
    amount = integer(decrement)
    if amount == INT64_MIN:
        raise ReplyError("ERR decrement would overflow")  # -INT64_MIN does not fit
    return _add_to_integer(client, key, -amount)


@_string("incrbyfloat", arity=3, flags="write denyoom fast", keys=_COUNTER_KEYS, since="2.6.0",
         summary="Increment the float value of a key by the given amount")
def incrbyfloat(client, key: bytes, increment: bytes):
    db = client.db
    value = get_string(db, key, read=False)
    current = Fraction(0) if value is None else parse_long_double(bytes(value))
    amount = parse_long_double(increment)
    if current is None or amount is None:
        raise ReplyError(NOT_FLOAT)
    if INF in (current, amount, -current, -amount):
        raise ReplyError("ERR increment would produce NaN or Infinity")
    total = round_long_double(current + amount)  # the sum, rounded as the x87 FPU does
    if total in (INF, -INF):
        raise ReplyError("ERR increment would produce NaN or Infinity")
    result = format_long_double(total)
    db.set(key, UnencodedString(result), keep_ttl=True)
    db.notify(events.STRING, "incrbyfloat", key)
    # The sum is rounded here: replicas are sent the result, not the increment.
    propagate_as(client, [b"SET", key, result, b"KEEPTTL"])
    return result


# --------------------------------------------------------------------------- LCS


def lcs_rows(a: bytes, b: bytes) -> list[int]:
    """Bit-parallel LCS table (Allison-Dix / Hyyro): row i as one integer of len(b) bits.

    Bit j of row i is 0 where the LCS length grows between columns j and j+1, so
    LCS(a[:i], b[:j]) = j - (number of 1 bits among the lowest j bits of row i). One row
    costs a handful of big-integer operations instead of len(b) Python steps.
    """
    matches: dict[int, int] = {}
    for j, byte in enumerate(b):
        matches[byte] = matches.get(byte, 0) | (1 << j)
    mask = (1 << len(b)) - 1
    row = mask
    rows = [row]
    for byte in a:
        u = row & matches.get(byte, 0)
        row = ((row + u) | (row - u)) & mask
        rows.append(row)
    return rows


def lcs_length(rows: list[int], i: int, j: int) -> int:
    return j - (rows[i] & ((1 << j) - 1)).bit_count()


@_string("lcs", arity=-3, flags="readonly", keys=[KeySpec(1, "RO access", last=1)], since="7.0.0",
         summary="Find longest common substring",
         complexity="O(N*M) where N and M are the lengths of s1 and s2, respectively")
def lcs(client, key1: bytes, key2: bytes, *options: bytes):
    db = client.db
    first, second = db.lookup_read(key1), db.lookup_read(key2)
    if any(v is not None and not isinstance(v, STRING_TYPES) for v in (first, second)):
        raise ReplyError("ERR The specified keys must contain string values")
    a, b = bytes(first or b""), bytes(second or b"")
    want_idx = want_len = with_match_len = False
    min_match_len = 0
    i = 0
    while i < len(options):
        option = keyword(options[i])
        if option == b"IDX":
            want_idx = True
        elif option == b"LEN":
            want_len = True
        elif option == b"WITHMATCHLEN":
            with_match_len = True
        elif option == b"MINMATCHLEN" and i + 1 < len(options):
            min_match_len = max(integer(options[i + 1]), 0)
            i += 1
        else:
            raise ReplyError(SYNTAX_ERROR)
        i += 1
    if want_idx and want_len:
        raise ReplyError("ERR If you want both the length and indexes, please just use IDX.")
    if (len(a) + 1) * (len(b) + 1) * 4 > client.server.config["proto-max-bulk-len"]:
        raise ReplyError("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
    rows = lcs_rows(a, b)
    total = lcs_length(rows, len(a), len(b))
    if want_len:
        return total
    # Walk back from the end exactly as Redis does, so ties resolve the same way.
    result = bytearray(total)
    matches = []
    unset = len(a)
    a_start, a_end, b_start, b_end = unset, 0, 0, 0
    idx, i, j = total, len(a), len(b)
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result[idx - 1] = a[i - 1]
            if a_start == unset:
                a_start = a_end = i - 1
                b_start = b_end = j - 1
            elif a_start == i and b_start == j:
                a_start -= 1
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            idx, i, j = idx - 1, i - 1, j - 1
        else:
            if lcs_length(rows, i - 1, j) > lcs_length(rows, i, j - 1):
                i -= 1
            else:
                j -= 1
            if a_start != unset:
                emit = True
        if emit:
            length = a_end - a_start + 1
            if want_idx and (min_match_len == 0 or length >= min_match_len):
                match = [[a_start, a_end], [b_start, b_end]]
                if with_match_len:
                    match.append(length)
                matches.append(match)
            a_start = unset
    if want_idx:
        return {b"matches": matches, b"len": total}
    return bytes(result)
