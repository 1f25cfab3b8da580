"""Hash commands: fields and their values under one key (HSET, HGET, HINCRBY, HSCAN...).

A hash is a `HashValue` (app/store/hash.py), which also knows the encoding Redis would
give it. Redis creates a hash with its first field and deletes it with its last, so a
hash found in the keyspace always has a field. Every change is announced as Redis'
t_hash.c announces it: "hset" (HSET, HMSET, HSETNX), "hdel" then "del" when the last
field goes, "hincrby", "hincrbyfloat".
"""

from __future__ import annotations

from app.commands.arguments import (
    NOT_FLOAT, SYNTAX_ERROR, integer, keyword, lookup_typed, paired_random_count, random_count, random_picks,
    scan_cursor, scan_options,
)
from app.commands.registry import KeySpec, command
from app.numeric import INF, INT64_MAX, INT64_MIN, format_long_double, parse_int, parse_long_double, round_long_double
from app.propagation import propagate_as
from app.protocol import ReplyError
from app.store import events
from app.store.hash import HashValue


def _hash(name: str, **kwargs):
    kwargs["acl"] = "hash " + kwargs.get("acl", "")
    return command(name, group="hash", **kwargs)


def get_hash(db, key: bytes, read: bool = False) -> HashValue | None:
    """The hash at ``key``, or None; WRONGTYPE for another type (``read``: a reading
    command's lookup, counted as a hit or a miss)."""
    return lookup_typed(db, key, HashValue, read)


def _set_fields(client, key: bytes, value: HashValue | None, pairs) -> int:
    """Set ``pairs`` in the hash ``value`` at ``key`` (None: create it); count a change per
    pair, new or not, as Redis does, and return how many fields are new. The caller
    announces it."""
    config = client.server.config
    created = value is None
    if created:
        value = HashValue()
    added = value.update(pairs, config["hash-max-listpack-entries"], config["hash-max-listpack-value"])
    if created:
        client.db.set(key, value, changes=len(pairs))  # announced as "new" before the command's own event, as in Redis
    else:
        client.db.changed(key, len(pairs))
    return added


# --------------------------------------------------------------------------- set

_HSET_COMPLEXITY = ("O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is "
                    "called with multiple field/value pairs.")


def _hset(client, name: str, key: bytes, args: tuple[bytes, ...]) -> int:
    if len(args) % 2:
        raise ReplyError(f"ERR wrong number of arguments for '{name}' command")
    value = get_hash(client.db, key)
    added = _set_fields(client, key, value, list(zip(args[::2], args[1::2])))
    client.db.notify(events.HASH, "hset", key)
    return added


@_hash("hset", arity=-4, flags="write denyoom fast", keys=[KeySpec(1, "RW update")], since="2.0.0",
       summary="Set the string value of a hash field", complexity=_HSET_COMPLEXITY)
def hset(client, key: bytes, *args: bytes):
    return _hset(client, "hset", key, args)


@_hash("hmset", arity=-4, flags="write denyoom fast", keys=[KeySpec(1, "RW update")], since="2.0.0",
       summary="Set multiple hash fields to multiple values",
       complexity="O(N) where N is the number of fields being set.")
def hmset(client, key: bytes, *args: bytes):
    _hset(client, "hmset", key, args)
    return "OK"


@_hash("hsetnx", arity=4, flags="write denyoom fast", keys=[KeySpec(1, "RW insert")], since="2.0.0",
       summary="Set the value of a hash field, only if the field does not exist")
def hsetnx(client, key: bytes, field: bytes, new: bytes):
    value = get_hash(client.db, key)
    if value is not None and field in value.fields:
        return 0  # nothing changes: no event, and WATCH sees nothing
    _set_fields(client, key, value, [(field, new)])
    client.db.notify(events.HASH, "hset", key)
    return 1


# --------------------------------------------------------------------------- read


@_hash("hget", arity=3, flags="readonly fast", keys=[KeySpec(1, "RO access")], since="2.0.0",
       summary="Get the value of a hash field")
def hget(client, key: bytes, field: bytes):
    value = get_hash(client.db, key, read=True)
    return None if value is None else value.fields.get(field)


@_hash("hmget", arity=-3, flags="readonly fast", keys=[KeySpec(1, "RO access")], since="2.0.0",
       summary="Get the values of all the given hash fields",
       complexity="O(N) where N is the number of fields being requested.")
def hmget(client, key: bytes, *fields: bytes):
    value = get_hash(client.db, key, read=True)
    if value is None:
        return [None] * len(fields)
    return [value.fields.get(field) for field in fields]


_ALL_COMPLEXITY = "O(N) where N is the size of the hash."


@_hash("hgetall", arity=2, flags="readonly", keys=[KeySpec(1, "RO access")], since="2.0.0",
       tips="nondeterministic_output_order", summary="Get all the fields and values in a hash",
       complexity=_ALL_COMPLEXITY)
def hgetall(client, key: bytes):
    value = get_hash(client.db, key, read=True)
    # A copy: the reply is encoded after the lock is released (a map in RESP3).
    return {} if value is None else dict(value.fields)


@_hash("hkeys", arity=2, flags="readonly", keys=[KeySpec(1, "RO access")], since="2.0.0",
       tips="nondeterministic_output_order", summary="Get all the fields in a hash", complexity=_ALL_COMPLEXITY)
def hkeys(client, key: bytes):
    value = get_hash(client.db, key, read=True)
    return [] if value is None else list(value.fields)


@_hash("hvals", arity=2, flags="readonly", keys=[KeySpec(1, "RO access")], since="2.0.0",
       tips="nondeterministic_output_order", summary="Get all the values in a hash", complexity=_ALL_COMPLEXITY)
def hvals(client, key: bytes):
    value = get_hash(client.db, key, read=True)
    return [] if value is None else list(value.fields.values())


@_hash("hlen", arity=2, flags="readonly fast", keys=[KeySpec(1, "RO")], since="2.0.0",
       summary="Get the number of fields in a hash")
def hlen(client, key: bytes):
    value = get_hash(client.db, key, read=True)
    return 0 if value is None else len(value)


@_hash("hexists", arity=3, flags="readonly fast", keys=[KeySpec(1, "RO")], since="2.0.0",
       summary="Determine if a hash field exists")
def hexists(client, key: bytes, field: bytes):
    value = get_hash(client.db, key, read=True)
    return int(value is not None and field in value.fields)


@_hash("hstrlen", arity=3, flags="readonly fast", keys=[KeySpec(1, "RO")], since="3.2.0",
       summary="Get the length of the value of a hash field")
def hstrlen(client, key: bytes, field: bytes):
    value = get_hash(client.db, key, read=True)
    return 0 if value is None else len(value.fields.get(field, b""))


# --------------------------------------------------------------------------- delete


@_hash("hdel", arity=-3, flags="write fast", keys=[KeySpec(1, "RW delete")], since="2.0.0",
       summary="Delete one or more hash fields",
       complexity="O(N) where N is the number of fields to be removed.")
def hdel(client, key: bytes, *fields: bytes):
    db = client.db
    value = get_hash(db, key)
    if value is None:
        return 0
    deleted = sum(value.delete(field) for field in fields)
    if deleted:
        db.notify(events.HASH, "hdel", key)
        if value.fields:
            db.changed(key, deleted)
        else:
            db.delete(key, deleted)
            db.notify(events.GENERIC, "del", key)
    return deleted


# --------------------------------------------------------------------------- counters

_COUNTER_KEYS = [KeySpec(1, "RW access update")]


@_hash("hincrby", arity=4, flags="write denyoom fast", keys=_COUNTER_KEYS, since="2.0.0",
       summary="Increment the integer value of a hash field by the given number")
def hincrby(client, key: bytes, field: bytes, increment: bytes):
    amount = integer(increment)  # before the key is looked at
    value = get_hash(client.db, key)
    old = None if value is None else value.fields.get(field)
    current = 0 if old is None else parse_int(old)
    if current is None:
        raise ReplyError("ERR hash value is not an integer")
    total = current + amount
    if not INT64_MIN <= total <= INT64_MAX:
        raise ReplyError("ERR increment or decrement would overflow")
    _set_fields(client, key, value, [(field, b"%d" % total)])
    client.db.notify(events.HASH, "hincrby", key)
    return total


@_hash("hincrbyfloat", arity=4, flags="write denyoom fast", keys=_COUNTER_KEYS, since="2.6.0",
       summary="Increment the float value of a hash field by the given amount")
def hincrbyfloat(client, key: bytes, field: bytes, increment: bytes):
    # Redis computes in long double, as INCRBYFLOAT does (app/numeric.py).
    amount = parse_long_double(increment)
    if amount is None:
        raise ReplyError(NOT_FLOAT)
    if amount in (INF, -INF):
        raise ReplyError("ERR value is NaN or Infinity")
    value = get_hash(client.db, key)
    old = None if value is None else value.fields.get(field)
    current = 0 if old is None else parse_long_double(old)
    if current is None:
        raise ReplyError("ERR hash value is not a float")
    total = current if current in (INF, -INF) else round_long_double(current + amount)
    if total in (INF, -INF):
        raise ReplyError("ERR increment would produce NaN or Infinity")
    result = format_long_double(total)
    _set_fields(client, key, value, [(field, result)])
    client.db.notify(events.HASH, "hincrbyfloat", key)
    propagate_as(client, [b"HSET", key, field, result])  # the rounded sum, not the increment
    return result


# --------------------------------------------------------------------------- random fields


@_hash("hrandfield", arity=-2, flags="readonly", keys=[KeySpec(1, "RO access")], since="6.2.0",
       tips="nondeterministic_output", summary="Get one or multiple random fields from a hash",
       complexity="O(N) where N is the number of fields returned")
def hrandfield(client, key: bytes, *options: bytes):
    if not options:
        value = get_hash(client.db, key, read=True)
        return None if value is None else value.random_field()
    count = random_count(options[0])
    with_values = len(options) == 2
    if len(options) > 2 or (with_values and keyword(options[1]) != b"WITHVALUES"):
        raise ReplyError(SYNTAX_ERROR)
    if with_values:
        paired_random_count(count)  # the reply would hold 2 * count strings
    value = get_hash(client.db, key, read=True)
    if value is None or count == 0:
        return []
    if count < 0:
        fields = value.random_fields(random_picks(count))  # repeats allowed
    elif count >= len(value):
        fields = list(value.fields)  # the whole hash, in its order
    else:
        fields = value.distinct_fields(count)
    if not with_values:
        return fields
    # RESP3 pairs each field with its value; RESP2 has them in one flat array.
    if client.protocol == 3:
        return [[field, value.fields[field]] for field in fields]
    reply = []
    for field in fields:
        reply += (field, value.fields[field])
    return reply


# --------------------------------------------------------------------------- HSCAN


@_hash("hscan", arity=-3, flags="readonly", keys=[KeySpec(1, "RO access")], since="2.8.0",
       tips="nondeterministic_output", summary="Incrementally iterate hash fields and associated values",
       complexity="O(1) for every call. O(N) for a complete iteration, including enough command calls for the "
                  "cursor to return back to 0. N is the number of elements inside the collection..")
def hscan(client, key: bytes, cursor: bytes, *options: bytes):
    position = scan_cursor(cursor)  # before the key; the options after it, as in Redis
    value = get_hash(client.db, key, read=True)
    if value is None:
        return [b"0", []]
    count, pattern = scan_options(options)
    next_position, fields = value.scan(position, count)
    reply = []
    for field in fields:
        if pattern is None or pattern.match(field):
            reply += (field, value.fields[field])
    return [b"%d" % next_position, reply]
