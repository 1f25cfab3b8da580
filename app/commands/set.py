"""Set commands: members, random picks and pops, moves, and set algebra (SINTER, SUNION,
SDIFF and their STORE forms).

A set is a `SetValue` (app/store/set.py), which also knows whether Redis would keep it
as an intset or a hashtable: that decides OBJECT ENCODING and the order of replies (an
intset lists its members in numeric order). Redis never keeps an empty set, so a
command that removes the last member deletes the key, and a STORE command whose result
is empty deletes its destination.

Every change is announced as Redis' t_set.c announces it: "sadd", "srem", "spop" (then
"del" when the set is gone), SMOVE's "srem" on the source then "sadd" on the
destination, and "sinterstore", "sunionstore", "sdiffstore" (or "del" for an empty
result that replaced a key).
"""

from __future__ import annotations

from app.commands.arguments import (
    SYNTAX_ERROR, integer, keyword, lookup_typed, positive, random_count, random_picks, scan_cursor, scan_options,
    wrong_type,
)
from app.commands.registry import KeySpec, command
from app.propagation import propagate_as
from app.protocol import ReplyError, SetReply
from app.store import events
from app.store.set import SetValue, is_integer, set_of

# SPOP with a count rebuilds the set from the members it keeps when they are few: when
# five times what remains is no more than what is popped (Redis' SPOP_MOVE_STRATEGY_MUL).
SPOP_BATCH = 1024  # members per SREM that replicas are sent for one SPOP (as Redis batches them)
SPOP_REBUILD_FACTOR = 5


def _set(name: str, **kwargs):
    kwargs["acl"] = "set " + kwargs.get("acl", "")
    return command(name, group="set", **kwargs)


def get_set(db, key: bytes, read: bool = False) -> SetValue | None:
    """The set at ``key``, or None; WRONGTYPE for another type (``read``: a reading
    command's lookup, counted as a hit or a miss)."""
    return lookup_typed(db, key, SetValue, read)


def _max_intset(client) -> int:
    return client.server.config["set-max-intset-entries"]


def _removed(db, key: bytes, value: SetValue, event: str, changes: int = 1) -> None:
    """After members left the set (``changes`` of them, counted for saving): announce
    ``event``, and delete an emptied set."""
    db.notify(events.SET, event, key)
    if value:
        db.changed(key, changes)
    else:
        db.delete(key, changes)
        db.notify(events.GENERIC, "del", key)


# --------------------------------------------------------------------------- add, remove


@_set("sadd", arity=-3, flags="write denyoom fast", keys=[KeySpec(1, "RW insert")], since="1.0.0",
      summary="Add one or more members to a set",
      complexity="O(1) for each element added, so O(N) to add N elements when the command is called with "
                 "multiple arguments.")
def sadd(client, key: bytes, *members: bytes):
    db = client.db
    value = get_set(db, key)
    if value is None:
        value = set_of(members, _max_intset(client))
        added = len(value)
        db.set(key, value, changes=added)  # announced as "new" before "sadd", as in Redis
    else:
        added = value.add_members(members, _max_intset(client))
        if not added:
            return 0  # nothing changed: no event, and WATCH sees nothing
        db.changed(key, added)
    db.notify(events.SET, "sadd", key)
    return added


@_set("srem", arity=-3, flags="write fast", keys=[KeySpec(1, "RW delete")], since="1.0.0",
      summary="Remove one or more members from a set",
      complexity="O(N) where N is the number of members to be removed.")
def srem(client, key: bytes, *members: bytes):
    db = client.db
    value = get_set(db, key)
    if value is None:
        return 0
    removed = sum(value.remove(member) for member in members)
    if removed:
        _removed(db, key, value, "srem", removed)
    return removed


@_set("smove", arity=4, flags="write fast", keys=[KeySpec(1, "RW access delete"), KeySpec(2, "RW insert")],
      since="1.0.0", summary="Move a member from one set to another")
def smove(client, source: bytes, destination: bytes, member: bytes):
    db = client.db
    # Both are looked up first, but a missing source answers 0 before any type is checked.
    origin, target = db.lookup(source), db.lookup(destination)
    if origin is None:
        return 0
    if not isinstance(origin, SetValue) or not (target is None or isinstance(target, SetValue)):
        raise wrong_type()
    if origin is target:
        return int(member in origin)
    if not origin.remove(member):
        return 0
    _removed(db, source, origin, "srem")
    if target is None:
        db.set(destination, set_of([member], _max_intset(client)))
    elif target.add_members([member], _max_intset(client)):
        db.changed(destination)
    else:
        return 1  # it was in both: it only left the source
    db.notify(events.SET, "sadd", destination)
    return 1


# --------------------------------------------------------------------------- read


@_set("smembers", arity=2, flags="readonly", keys=[KeySpec(1, "RO access")], since="1.0.0",
      tips="nondeterministic_output_order", summary="Get all the members in a set",
      complexity="O(N) where N is the set cardinality.")
def smembers(client, key: bytes):
    value = get_set(client.db, key, read=True)
    return SetReply() if value is None else SetReply(value.ordered())


@_set("sismember", arity=3, flags="readonly fast", keys=[KeySpec(1, "RO")], since="1.0.0",
      summary="Determine if a given value is a member of a set")
def sismember(client, key: bytes, member: bytes):
    value = get_set(client.db, key, read=True)
    return int(value is not None and member in value)


@_set("smismember", arity=-3, flags="readonly fast", keys=[KeySpec(1, "RO access")], since="6.2.0",
      summary="Returns the membership associated with the given elements for a set",
      complexity="O(N) where N is the number of elements being checked for membership")
def smismember(client, key: bytes, *members: bytes):
    value = get_set(client.db, key, read=True)
    if value is None:
        return [0] * len(members)
    return [int(member in value) for member in members]


@_set("scard", arity=2, flags="readonly fast", keys=[KeySpec(1, "RO")], since="1.0.0",
      summary="Get the number of members in a set")
def scard(client, key: bytes):
    value = get_set(client.db, key, read=True)
    return 0 if value is None else len(value)


# --------------------------------------------------------------------------- random members


@_set("spop", arity=-2, flags="write fast", keys=[KeySpec(1, "RW access delete")], since="1.0.0",
      tips="nondeterministic_output", summary="Remove and return one or multiple random members from a set",
      complexity="Without the count argument O(1), otherwise O(N) where N is the value of the passed count.")
def spop(client, key: bytes, *options: bytes):
    if len(options) > 1:
        raise ReplyError(SYNTAX_ERROR)
    count = None
    if options:
        count = positive(options[0])
    db = client.db
    value = get_set(db, key)
    if value is None:
        return None if count is None else SetReply()
    if count is None:
        member = value.random()
        value.remove(member)
        _removed(db, key, value, "spop")
        propagate_as(client, [b"SREM", key, member])  # what was picked at random
        return member
    if count == 0:
        return SetReply()
    return SetReply(_pop_many(client, key, value, count))


def _pop_many(client, key: bytes, value: SetValue, count: int) -> list[bytes]:
    """SPOP with a count of 1 or more, as Redis' three cases do it."""
    db = client.db
    remaining = len(value) - count
    if remaining <= 0:
        popped = value.ordered()  # the whole set, in its order
        value.clear()
        propagate_as(client, [b"DEL", key])
    elif remaining * SPOP_REBUILD_FACTOR > count:
        popped = value.sample(count)
        for member in popped:
            value.remove(member)
    else:
        # Few remain: Redis picks those, builds a new set of them, and answers with the
        # rest in the old set's order; the new set's encoding starts afresh (a hashtable
        # left with a few integers becomes an intset).
        kept = set(value.sample(remaining))
        popped = [member for member in value.ordered() if member not in kept]
        for member in popped:
            value.remove(member)
        value.reencode(_max_intset(client))
    if remaining > 0:  # replicas remove the members picked here
        propagate_as(client, *([b"SREM", key, *popped[i : i + SPOP_BATCH]] for i in range(0, len(popped), SPOP_BATCH)))
    _removed(db, key, value, "spop", len(popped))
    return popped


@_set("srandmember", arity=-2, flags="readonly", keys=[KeySpec(1, "RO access")], since="1.0.0",
      tips="nondeterministic_output", summary="Get one or multiple random members from a set",
      complexity="Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed "
                 "count.")
def srandmember(client, key: bytes, *options: bytes):
    if len(options) > 1:
        raise ReplyError(SYNTAX_ERROR)
    if not options:
        value = get_set(client.db, key, read=True)
        return None if value is None else value.random()
    count = random_count(options[0])
    value = get_set(client.db, key, read=True)
    if value is None or count == 0:
        return []
    if count < 0:
        return value.choices(random_picks(count))  # repeats allowed
    if count >= len(value):
        return value.ordered()
    return value.sample(count)


# --------------------------------------------------------------------------- set algebra


def _sets(db, keys) -> list[SetValue | None]:
    """The sets at ``keys`` (None for a missing key), each lookup counted as a read; the
    first key of another type stops it with WRONGTYPE."""
    return [get_set(db, key, read=True) for key in keys]


def _intersection(sets: list[SetValue | None]) -> list[bytes]:
    """The members every set has, in the order of the smallest set (Redis walks it, so an
    intset's come out sorted); empty if a key was missing."""
    if not sets or None in sets:
        return []
    by_size = sorted(sets, key=len)  # stable, as glibc's qsort (a merge sort) is
    smallest = by_size[0]
    if len(by_size) == 1:
        return smallest.ordered()
    common = smallest.positions.keys()
    for other in by_size[1:]:
        common = other.positions.keys() & common  # walks the smaller side, in C
    if smallest.intset:
        return sorted(common, key=int)
    return list(common)


def _union(sets: list[SetValue | None]) -> set[bytes]:
    members: set[bytes] = set()
    for value in sets:
        if value is not None:
            members.update(value.positions)
    return members


def _difference(sets: list[SetValue | None]) -> set[bytes]:
    first = sets[0]
    if first is None:
        return set()
    members = set(first.positions)
    for value in sets[1:]:
        if value is not None and members:
            members.difference_update(value.positions)
    return members


def _in_redis_order(client, members) -> list[bytes]:
    """A computed set as Redis replies with it: it builds the result as a set first, so
    one that would be an intset comes out sorted."""
    if len(members) <= _max_intset(client) and all(map(is_integer, members)):
        return sorted(members, key=int)
    return list(members)


def _store(client, destination: bytes, members, event: str) -> int:
    """Replace ``destination`` with a set of ``members``, or delete it if there are none."""
    db = client.db
    if not members:
        if db.delete(destination):
            db.notify(events.GENERIC, "del", destination)
        return 0
    db.set(destination, set_of(members, _max_intset(client)))
    db.notify(events.SET, event, destination)
    return len(members)


_ALGEBRA_KEYS = [KeySpec(1, "RO access", last=-1)]
_INTER_COMPLEXITY = "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."
_UNION_COMPLEXITY = "O(N) where N is the total number of elements in all given sets."


@_set("sinter", arity=-2, flags="readonly", keys=_ALGEBRA_KEYS, since="1.0.0",
      tips="nondeterministic_output_order", summary="Intersect multiple sets", complexity=_INTER_COMPLEXITY)
def sinter(client, *keys: bytes):
    return SetReply(_intersection(_sets(client.db, keys)))


@_set("sintercard", arity=-3, flags="readonly movablekeys", keys=[KeySpec(1, "RO access", keynum=True)],
      since="7.0.0", summary="Intersect multiple sets and return the cardinality of the result",
      complexity=_INTER_COMPLEXITY)
def sintercard(client, numkeys: bytes, *args: bytes):
    count = integer(numkeys, "ERR numkeys should be greater than 0")
    if count < 1:
        raise ReplyError("ERR numkeys should be greater than 0")
    if count > len(args):
        raise ReplyError("ERR Number of keys can't be greater than number of args")
    keys, options = args[:count], args[count:]
    limit = 0  # no limit
    for i in range(0, len(options), 2):
        if keyword(options[i]) != b"LIMIT" or i + 1 >= len(options):
            raise ReplyError(SYNTAX_ERROR)
        limit = integer(options[i + 1], "ERR LIMIT can't be negative")
        if limit < 0:
            raise ReplyError("ERR LIMIT can't be negative")
    size = len(_intersection(_sets(client.db, keys)))
    return min(size, limit) if limit else size


@_set("sinterstore", arity=-3, flags="write denyoom",
      keys=[KeySpec(1, "RW update"), KeySpec(2, "RO access", last=-1)], since="1.0.0",
      summary="Intersect multiple sets and store the resulting set in a key", complexity=_INTER_COMPLEXITY)
def sinterstore(client, destination: bytes, *keys: bytes):
    return _store(client, destination, _intersection(_sets(client.db, keys)), "sinterstore")


@_set("sunion", arity=-2, flags="readonly", keys=_ALGEBRA_KEYS, since="1.0.0",
      tips="nondeterministic_output_order", summary="Add multiple sets", complexity=_UNION_COMPLEXITY)
def sunion(client, *keys: bytes):
    return SetReply(_in_redis_order(client, _union(_sets(client.db, keys))))


@_set("sunionstore", arity=-3, flags="write denyoom",
      keys=[KeySpec(1, "OW update"), KeySpec(2, "RO access", last=-1)], since="1.0.0",
      summary="Add multiple sets and store the resulting set in a key", complexity=_UNION_COMPLEXITY)
def sunionstore(client, destination: bytes, *keys: bytes):
    return _store(client, destination, _union(_sets(client.db, keys)), "sunionstore")


@_set("sdiff", arity=-2, flags="readonly", keys=_ALGEBRA_KEYS, since="1.0.0",
      tips="nondeterministic_output_order", summary="Subtract multiple sets", complexity=_UNION_COMPLEXITY)
def sdiff(client, *keys: bytes):
    return SetReply(_in_redis_order(client, _difference(_sets(client.db, keys))))


@_set("sdiffstore", arity=-3, flags="write denyoom",
      keys=[KeySpec(1, "OW update"), KeySpec(2, "RO access", last=-1)], since="1.0.0",
      summary="Subtract multiple sets and store the resulting set in a key", complexity=_UNION_COMPLEXITY)
def sdiffstore(client, destination: bytes, *keys: bytes):
    return _store(client, destination, _difference(_sets(client.db, keys)), "sdiffstore")


# --------------------------------------------------------------------------- SSCAN


@_set("sscan", arity=-3, flags="readonly", keys=[KeySpec(1, "RO access")], since="2.8.0",
      tips="nondeterministic_output", summary="Incrementally iterate Set elements",
      complexity="O(1) for every call. O(N) for a complete iteration, including enough command calls for the "
                 "cursor to return back to 0. N is the number of elements inside the collection..")
def sscan(client, key: bytes, cursor: bytes, *options: bytes):
    position = scan_cursor(cursor)  # before the key; the options after it, as in Redis
    value = get_set(client.db, key, read=True)
    if value is None:
        return [b"0", []]
    count, pattern = scan_options(options)
    next_position, members = value.scan(position, count)
    if pattern is not None:
        members = [member for member in members if pattern.match(member)]
    return [b"%d" % next_position, members]
