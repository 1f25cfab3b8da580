"""List commands: pushes and pops at both ends, ranges, edits in the middle, moves from
one list to another, and the blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP).

A list is a `ListValue` (app/store/list.py). Redis never keeps an empty list: a command
that removes the last element deletes the key, so a list found in the keyspace always
has an element to give.

Every change is announced as Redis' t_list.c announces it (``db.notify``), and every
push tells the blocked clients (``db.signal_ready``): the dispatcher then serves them,
oldest first, before any other client runs (app/store/blocking.py).

Blocking
    A blocking command first does what its non-blocking twin does. With nothing to take,
    it waits, handing `BlockedClients.wait` an ``attempt`` function that a push runs
    later *for* the waiting client, in the pusher's thread, under the lock. So the
    attempt uses the waiter's own database, and never raises: by then the key may hold
    a string, which a waiting BLPOP passes over (Redis 7.0 keeps it blocked). Only
    BLMOVE answers an error then, when its destination holds another type, as Redis
    does. Inside MULTI nothing blocks: the command answers as if its time had run out.
"""

from __future__ import annotations

import math
import threading

from app.commands.arguments import SYNTAX_ERROR, integer, keyword, lookup_typed, mpop_arguments, positive, wrong_type
from app.commands.registry import KeySpec, command
from app.numeric import INF, INT64_MIN, parse_long_double, round_long_double
from app.protocol import NULL_ARRAY, ReplyError
from app.store import events
from app.store.list import ListValue

# The two ends of a list, named by the first letter of Redis' event names (lpush, rpop).
LEFT, RIGHT = "l", "r"

RANK_ZERO = (
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
    "or use negative to start from the end of the list"
)


def _list(name: str, **kwargs):
    kwargs["acl"] = "list " + kwargs.get("acl", "")
    return command(name, group="list", **kwargs)


def get_list(db, key: bytes, read: bool = False) -> ListValue | None:
    """The list at ``key``, or None; WRONGTYPE for another type (``read``: a reading
    command's lookup, counted as a hit or a miss)."""
    return lookup_typed(db, key, ListValue, read)


def _end(arg: bytes) -> str:
    """LEFT or RIGHT, in any case (LMOVE, LMPOP)."""
    word = keyword(arg)
    if word == b"LEFT":
        return LEFT
    if word == b"RIGHT":
        return RIGHT
    raise ReplyError(SYNTAX_ERROR)


def timeout_seconds(arg: bytes, milliseconds: bool = False) -> float | None:
    """How long a blocking command may wait, read from its timeout argument as Redis'
    getTimeoutFromObjectOrReply reads it; None for 0, which waits for ever.

    Seconds (BLPOP and the other list commands) are a C long double, multiplied by 1000
    and rounded up to whole milliseconds: 0.0001 waits 1 ms, while -0.0005 rounds up to
    0 and waits for ever. C turns a value past 64 bits ("inf", 1e30) into the most
    negative integer, so those are "negative" too. Milliseconds (XREAD BLOCK) are an
    integer. A wait longer than threads can sleep (about 292 years) is a wait for ever.
    """
    if milliseconds:
        ms = integer(arg, "ERR timeout is not an integer or out of range")
    else:
        seconds = parse_long_double(arg)
        if seconds is None:
            raise ReplyError("ERR timeout is not a float or out of range")
        product = seconds if seconds in (INF, -INF) else round_long_double(seconds * 1000)
        ms = -1 if product in (INF, -INF) else math.ceil(product)
        if ms >= 2**63:
            ms = -1  # what the C cast to long long makes of it: a negative number
    if ms < 0:
        raise ReplyError("ERR timeout is negative")
    if ms == 0 or ms / 1000 > threading.TIMEOUT_MAX:
        return None
    return ms / 1000


def _wait(client, keys, attempt, timeout: float | None):
    """Block until ``attempt(ready)`` gives something for one of ``keys`` (the client's database;
    a key named twice is waited on once)."""
    watched = [(client.db.index, key) for key in dict.fromkeys(keys)]
    return client.server.keyspace.blocked.wait(client, watched, attempt, timeout)


# --------------------------------------------------------------------------- the shared steps


def _push(db, key: bytes, items: ListValue | None, end: str, elements, counted: bool = True) -> ListValue:
    """Push ``elements`` at ``end`` of the list ``items`` at ``key``, creating it if None;
    announce it and wake the clients blocked on the key. Returns the list. Each element
    counts as a change for save points, unless not ``counted`` (LMOVE counts one move)."""
    changes = len(elements) if counted else 0
    if items is None:
        items = ListValue()
        db.set(key, items, changes=changes)  # a new key, announced as "new" before the push, as in Redis
    else:
        db.changed(key, changes)
    if end == LEFT:
        items.extendleft(elements)  # LPUSH k a b c gives c b a: each goes to the head in turn
    else:
        items.extend(elements)
    keyspace = db.keyspace
    if keyspace.notify_flags & events.LIST:  # the test `notify` makes, without its call
        db.notify(events.LIST, end + "push", key)
    if keyspace.blocked.count:  # somebody may wait for this key
        db.signal_ready(key)
    return items


def _pop(items: ListValue, end: str) -> bytes:
    return items.popleft() if end == LEFT else items.pop()


def _pop_many(items: ListValue, end: str, count: int) -> list[bytes]:
    """Up to ``count`` elements, in the order they leave the list (RPOP: last first)."""
    return [_pop(items, end) for _ in range(min(count, len(items)))]


def _removed(db, key: bytes, items: ListValue, end: str, popped: int = 1) -> None:
    """After a pop (Redis: listElementsRemoved): announce it, and delete an emptied list."""
    if db.keyspace.notify_flags & events.LIST:
        db.notify(events.LIST, end + "pop", key)
    _delete_if_empty(db, key, items, popped)


def _delete_if_empty(db, key: bytes, items: ListValue, changes: int) -> None:
    """Count ``changes`` to a list; if it is now empty, delete the key and announce "del"."""
    if items:
        db.changed(key, changes)
    else:
        db.delete(key, changes)
        db.notify(events.GENERIC, "del", key)


def _pop_first(db, keys, end: str, count: int | None, strict: bool):
    """Pop from the first of ``keys`` holding a list: [key, element], or with ``count``
    [key, [elements]] (LMPOP, BLMPOP); None when none of them holds one.

    ``strict`` answers WRONGTYPE for a key of another type met first, as the command
    itself does; a blocked client's attempt passes over such keys instead.
    """
    for key in keys:
        items = db.lookup(key)
        if items is None:
            continue
        if not isinstance(items, ListValue):
            if strict:
                raise wrong_type()
            continue
        popped = _pop(items, end) if count is None else _pop_many(items, end, count)
        _removed(db, key, items, end, 1 if count is None else len(popped))
        # Replicas are told which key it was: BLPOP becomes LPOP key, LMPOP LPOP key n.
        name = b"LPOP" if end == LEFT else b"RPOP"
        db.keyspace.propagation.replace([name, key] if count is None else [name, key, b"%d" % len(popped)])
        return [key, popped]
    return None


def _move(db, source: bytes, destination: bytes, from_end: str, to_end: str) -> bytes | None:
    """LMOVE: pop at ``from_end`` of one list, push at ``to_end`` of another (or the same)
    list; the element, or None if the source is empty. Redis announces the push to the
    destination before the pop from the source."""
    items = get_list(db, source)
    if items is None:
        return None
    target = get_list(db, destination)  # WRONGTYPE before anything moves
    element = _pop(items, from_end)
    _push(db, destination, target, to_end, (element,), counted=False)
    _removed(db, source, items, from_end)
    return element


def _clamp(start: int, end: int, length: int) -> tuple[int, int]:
    """Inclusive indexes ``start``..``end`` (negative ones count from the end) as Redis
    reads them for LRANGE and LTRIM, made a slice ``start:stop`` of the list; an empty
    range is (0, 0)."""
    if start < 0:
        start += length
    if end < 0:
        end += length
    start = max(start, 0)
    if start > end or start >= length:
        return 0, 0
    return start, min(end, length - 1) + 1


def _index(items: ListValue, index: int) -> int | None:
    """A position for LINDEX and LSET (negative: from the end), or None if outside."""
    if index < 0:
        index += len(items)
    return index if 0 <= index < len(items) else None


# --------------------------------------------------------------------------- push

_PUSH_COMPLEXITY = (
    "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."
)
_PUSH_KEYS = [KeySpec(1, "RW insert")]


@_list("lpush", arity=-3, flags="write denyoom fast", keys=_PUSH_KEYS, since="1.0.0",
       summary="Prepend one or multiple elements to a list", complexity=_PUSH_COMPLEXITY)
def lpush(client, key: bytes, *elements: bytes):
    return len(_push(client.db, key, get_list(client.db, key), LEFT, elements))


@_list("rpush", arity=-3, flags="write denyoom fast", keys=_PUSH_KEYS, since="1.0.0",
       summary="Append one or multiple elements to a list", complexity=_PUSH_COMPLEXITY)
def rpush(client, key: bytes, *elements: bytes):
    # The length before any blocked client takes an element: they are served afterwards.
    return len(_push(client.db, key, get_list(client.db, key), RIGHT, elements))


def _push_existing(client, key: bytes, end: str, elements) -> int:
    items = get_list(client.db, key)
    if items is None:
        return 0
    return len(_push(client.db, key, items, end, elements))


@_list("lpushx", arity=-3, flags="write denyoom fast", keys=_PUSH_KEYS, since="2.2.0",
       summary="Prepend an element to a list, only if the list exists", complexity=_PUSH_COMPLEXITY)
def lpushx(client, key: bytes, *elements: bytes):
    return _push_existing(client, key, LEFT, elements)


@_list("rpushx", arity=-3, flags="write denyoom fast", keys=_PUSH_KEYS, since="2.2.0",
       summary="Append an element to a list, only if the list exists", complexity=_PUSH_COMPLEXITY)
def rpushx(client, key: bytes, *elements: bytes):
    return _push_existing(client, key, RIGHT, elements)


# --------------------------------------------------------------------------- pop


def _pop_command(client, name: str, key: bytes, count_args: tuple[bytes, ...], end: str):
    """LPOP and RPOP: one element (a bulk string), or with a count an array of them."""
    if len(count_args) > 1:
        raise ReplyError(f"ERR wrong number of arguments for '{name}' command")
    count = positive(count_args[0]) if count_args else None
    db = client.db
    items = get_list(db, key)
    if items is None:
        return None if count is None else NULL_ARRAY
    if count == 0:
        return []
    popped = _pop(items, end) if count is None else _pop_many(items, end, count)
    _removed(db, key, items, end, 1 if count is None else len(popped))
    return popped


_POP_KEYS = [KeySpec(1, "RW access delete")]


@_list("lpop", arity=-2, flags="write fast", keys=_POP_KEYS, since="1.0.0",
       summary="Remove and get the first elements in a list",
       complexity="O(N) where N is the number of elements returned")
def lpop(client, key: bytes, *count: bytes):
    return _pop_command(client, "lpop", key, count, LEFT)


@_list("rpop", arity=-2, flags="write fast", keys=_POP_KEYS, since="1.0.0",
       summary="Remove and get the last elements in a list",
       complexity="O(N) where N is the number of elements returned")
def rpop(client, key: bytes, *count: bytes):
    return _pop_command(client, "rpop", key, count, RIGHT)


def _mpop_arguments(args: tuple[bytes, ...]) -> tuple[tuple[bytes, ...], str, int]:
    """``numkeys key [key ...] LEFT|RIGHT [COUNT count]`` -> (keys, end, count)."""
    keys, end, count = mpop_arguments(args, (b"LEFT", b"RIGHT"))
    return keys, LEFT if end == b"LEFT" else RIGHT, count


@_list("lmpop", arity=-4, flags="write movablekeys", keys=[KeySpec(1, "RW access delete", keynum=True)],
       since="7.0.0", summary="Pop elements from a list",
       complexity="O(N+M) where N is the number of provided keys and M is the number of elements returned.")
def lmpop(client, *args: bytes):
    keys, end, count = _mpop_arguments(args)
    popped = _pop_first(client.db, keys, end, count, strict=True)
    return NULL_ARRAY if popped is None else popped


# --------------------------------------------------------------------------- read


@_list("llen", arity=2, flags="readonly fast", keys=[KeySpec(1, "RO")], since="1.0.0",
       summary="Get the length of a list")
def llen(client, key: bytes):
    items = get_list(client.db, key, read=True)
    return 0 if items is None else len(items)


@_list("lrange", arity=4, flags="readonly", keys=[KeySpec(1, "RO access")], since="1.0.0",
       summary="Get a range of elements from a list",
       complexity="O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end "
                  "(HEAD or TAIL) for large lists; and N is the number of elements in the specified range.")
def lrange(client, key: bytes, start: bytes, end: bytes):
    first, last = integer(start), integer(end)  # before the lookup, as in Redis
    items = get_list(client.db, key, read=True)
    if items is None:
        return []
    return items.range(*_clamp(first, last, len(items)))


@_list("lindex", arity=3, flags="readonly", keys=[KeySpec(1, "RO access")], since="1.0.0",
       summary="Get an element from a list by its index",
       complexity="O(N) where N is the number of elements to traverse to get to the element at index. "
                  "This makes asking for the first or the last element of the list O(1).")
def lindex(client, key: bytes, index: bytes):
    items = get_list(client.db, key, read=True)
    if items is None:
        return None  # before the index is read: LINDEX nokey x is nil
    position = _index(items, integer(index))
    return None if position is None else items[position]


@_list("lpos", arity=-3, flags="readonly", keys=[KeySpec(1, "RO access")], since="6.0.6",
       summary="Return the index of matching elements on a list",
       complexity="O(N) where N is the number of elements in the list, for the average case. When searching for "
                  "elements near the head or the tail of the list, or when the MAXLEN option is provided, the "
                  "command may run in constant time.")
def lpos(client, key: bytes, element: bytes, *options: bytes):
    rank, count, maxlen = 1, None, 0
    for i in range(0, len(options), 2):
        option = keyword(options[i])
        if i + 1 >= len(options):
            raise ReplyError(SYNTAX_ERROR)
        value = options[i + 1]
        if option == b"RANK":
            rank = integer(value)
            if rank == 0:
                raise ReplyError(RANK_ZERO)
        elif option == b"COUNT":
            count = positive(value, "ERR COUNT can't be negative")
        elif option == b"MAXLEN":
            maxlen = positive(value, "ERR MAXLEN can't be negative")
        else:
            raise ReplyError(SYNTAX_ERROR)
    items = get_list(client.db, key, read=True)
    if items is None:
        return None if count is None else []
    from_tail = rank < 0
    skip = abs(rank) - 1  # matches to pass over before the first one reported
    if rank == INT64_MIN:
        # C negates -2**63 back to itself, so every match is past the rank, and the
        # COUNT test overflows and never stops the search: Redis reports every match.
        skip, count = 0, (None if count is None else 0)
    wanted = 1 if count is None else count or len(items)
    length = len(items)
    scan = enumerate(reversed(items) if from_tail else items)
    found = []
    for steps, item in scan:
        if maxlen and steps >= maxlen:
            break
        if item != element:
            continue
        if skip:
            skip -= 1
            continue
        found.append(length - 1 - steps if from_tail else steps)
        if len(found) == wanted:
            break
    if count is None:
        return found[0] if found else None
    return found


# --------------------------------------------------------------------------- edit in place


@_list("lset", arity=4, flags="write denyoom", keys=[KeySpec(1, "RW update")], since="1.0.0",
       summary="Set the value of an element in a list by its index",
       complexity="O(N) where N is the length of the list. Setting either the first or the last element of the "
                  "list is O(1).")
def lset(client, key: bytes, index: bytes, element: bytes):
    db = client.db
    items = get_list(db, key)
    if items is None:
        raise ReplyError("ERR no such key")  # before the index is read, as in Redis
    position = _index(items, integer(index))
    if position is None:
        raise ReplyError("ERR index out of range")
    items[position] = element
    db.changed(key)
    db.notify(events.LIST, "lset", key)
    return "OK"


@_list("linsert", arity=5, flags="write denyoom", keys=[KeySpec(1, "RW insert")], since="2.2.0",
       summary="Insert an element before or after another element in a list",
       complexity="O(N) where N is the number of elements to traverse before seeing the value pivot. This means "
                  "that inserting somewhere on the left end on the list (head) can be considered O(1) and "
                  "inserting somewhere on the right end (tail) is O(N).")
def linsert(client, key: bytes, where: bytes, pivot: bytes, element: bytes):
    where = keyword(where)
    if where not in (b"BEFORE", b"AFTER"):
        raise ReplyError(SYNTAX_ERROR)
    db = client.db
    items = get_list(db, key)
    if items is None:
        return 0
    try:
        position = items.index(pivot)
    except ValueError:
        return -1  # no such pivot
    items.insert(position + (where == b"AFTER"), element)
    db.changed(key)
    db.notify(events.LIST, "linsert", key)
    return len(items)


@_list("lrem", arity=4, flags="write", keys=[KeySpec(1, "RW delete")], since="1.0.0",
       summary="Remove elements from a list",
       complexity="O(N+M) where N is the length of the list and M is the number of elements removed.")
def lrem(client, key: bytes, count: bytes, element: bytes):
    limit = integer(count)
    db = client.db
    items = get_list(db, key)
    if items is None:
        return 0
    removed = items.remove_equal(element, limit)
    if removed:
        db.notify(events.LIST, "lrem", key)
        _delete_if_empty(db, key, items, removed)
    return removed


@_list("ltrim", arity=4, flags="write", keys=[KeySpec(1, "RW delete")], since="1.0.0",
       summary="Trim a list to the specified range",
       complexity="O(N) where N is the number of elements to be removed by the operation.")
def ltrim(client, key: bytes, start: bytes, end: bytes):
    first, last = integer(start), integer(end)
    db = client.db
    items = get_list(db, key)
    if items is None:
        return "OK"
    keep_from, keep_to = _clamp(first, last, len(items))
    removed = len(items) - (keep_to - keep_from)
    # Pop from each end what falls outside: O(removed), like Redis' quicklistDelRange.
    for _ in range(len(items) - keep_to):
        items.pop()
    for _ in range(keep_from):
        items.popleft()
    db.notify(events.LIST, "ltrim", key)  # even when nothing was trimmed, as in Redis
    _delete_if_empty(db, key, items, removed)
    return "OK"


# --------------------------------------------------------------------------- move

_MOVE_KEYS = [KeySpec(1, "RW access delete"), KeySpec(2, "RW insert")]


@_list("lmove", arity=5, flags="write denyoom", keys=_MOVE_KEYS, since="6.2.0",
       summary="Pop an element from a list, push it to another list and return it")
def lmove(client, source: bytes, destination: bytes, wherefrom: bytes, whereto: bytes):
    return _move(client.db, source, destination, _end(wherefrom), _end(whereto))


@_list("rpoplpush", arity=3, flags="write denyoom", keys=_MOVE_KEYS, since="1.2.0",
       summary="Remove the last element in a list, prepend it to another list and return it")
def rpoplpush(client, source: bytes, destination: bytes):
    return _move(client.db, source, destination, RIGHT, LEFT)


# --------------------------------------------------------------------------- blocking


def _blocking_pop(client, keys, end: str, count: int | None, timeout: float | None):
    """BLPOP, BRPOP (``count`` None) and BLMPOP: pop now, or wait for a push."""
    db = client.db
    popped = _pop_first(db, keys, end, count, strict=True)
    if popped is None:
        # Served from the key that was fed (``ready``), or the first with a list at first.
        popped = _wait(client, keys, lambda ready: _pop_first(db, keys if ready is None else [ready[1]], end, count,
                                                                strict=False), timeout)
    return NULL_ARRAY if popped is None else popped


_BLOCKING_POP_KEYS = [KeySpec(1, "RW access delete", last=-2)]
_BLOCKING_POP_COMPLEXITY = "O(N) where N is the number of provided keys."


@_list("blpop", arity=-3, flags="write noscript blocking", keys=_BLOCKING_POP_KEYS, since="2.0.0",
       summary="Remove and get the first element in a list, or block until one is available",
       complexity=_BLOCKING_POP_COMPLEXITY)
def blpop(client, *args: bytes):
    timeout = timeout_seconds(args[-1])  # before the keys are looked at
    return _blocking_pop(client, args[:-1], LEFT, None, timeout)


@_list("brpop", arity=-3, flags="write noscript blocking", keys=_BLOCKING_POP_KEYS, since="2.0.0",
       summary="Remove and get the last element in a list, or block until one is available",
       complexity=_BLOCKING_POP_COMPLEXITY)
def brpop(client, *args: bytes):
    timeout = timeout_seconds(args[-1])
    return _blocking_pop(client, args[:-1], RIGHT, None, timeout)


@_list("blmpop", arity=-5, flags="write blocking movablekeys", keys=[KeySpec(2, "RW access delete", keynum=True)],
       since="7.0.0", summary="Pop elements from a list, or block until one is available",
       complexity="O(N+M) where N is the number of provided keys and M is the number of elements returned.")
def blmpop(client, timeout: bytes, *args: bytes):
    keys, end, count = _mpop_arguments(args)  # before the timeout, as in Redis
    return _blocking_pop(client, keys, end, count, timeout_seconds(timeout))


def _blocking_move(client, source: bytes, destination: bytes, from_end: str, to_end: str, timeout: float | None,
                   propagated: list[bytes]):
    """BLMOVE and BRPOPLPUSH: LMOVE now if the source has elements, or wait for a push.
    Replicas are sent ``propagated``, the command's non-blocking form."""
    db = client.db
    propagation = db.keyspace.propagation
    if get_list(db, source) is not None:
        moved = _move(db, source, destination, from_end, to_end)
        propagation.replace(propagated)
        return moved

    def attempt(_ready):
        if not isinstance(db.lookup(source), ListValue):
            return None
        try:
            moved = _move(db, source, destination, from_end, to_end)
        except ReplyError as error:
            return error  # the destination holds another type: the waiter gets WRONGTYPE
        propagation.replace(propagated)
        return moved

    moved = _wait(client, [source], attempt, timeout)
    if moved is None:
        # Inside MULTI the answer is a nil string; once a wait has run out, a nil array.
        return None if client.in_exec else NULL_ARRAY
    return moved


_BLOCKING_MOVE_KEYS = [KeySpec(1, "RW access delete"), KeySpec(2, "RW insert")]


@_list("blmove", arity=6, flags="write denyoom noscript blocking", keys=_BLOCKING_MOVE_KEYS, since="6.2.0",
       summary="Pop an element from a list, push it to another list and return it; or block until one is available")
def blmove(client, source: bytes, destination: bytes, wherefrom: bytes, whereto: bytes, timeout: bytes):
    from_end, to_end = _end(wherefrom), _end(whereto)
    return _blocking_move(client, source, destination, from_end, to_end, timeout_seconds(timeout),
                          [b"LMOVE", source, destination, wherefrom, whereto])


@_list("brpoplpush", arity=4, flags="write denyoom noscript blocking", keys=_BLOCKING_MOVE_KEYS, since="2.2.0",
       summary="Pop an element from a list, push it to another list and return it; or block until one is available")
def brpoplpush(client, source: bytes, destination: bytes, timeout: bytes):
    return _blocking_move(client, source, destination, RIGHT, LEFT, timeout_seconds(timeout),
                          [b"RPOPLPUSH", source, destination])
