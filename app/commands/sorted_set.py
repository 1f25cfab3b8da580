"""Sorted set commands: ZADD and friends, ranges by rank, score and lex, pops (and the
blocking BZPOPMIN, BZPOPMAX, BZMPOP), random members, and the set algebra of ZUNION,
ZINTER and ZDIFF.

A sorted set is a `SortedSet` (app/store/zset.py): a dict member -> score plus a skip
list in (score, member) order (app/store/skiplist.py). Redis never keeps an empty one:
a command that removes the last member deletes the key.

Scores
    A score is a C double. Arguments are read as Redis reads them (`parse_double`: no
    NaN, "inf" allowed, 1e400 refused), range ends as its zslParseRange reads them
    (strtod, so "(1.5" is exclusive and " 1" is allowed), and a score in a reply is a
    Python float, which the protocol writes as Redis 7.0 does: ``%.17g``, "inf", "-inf"
    (a bulk string in RESP2, a double in RESP3). An operation whose result is NaN
    (ZINCRBY of -inf on +inf) is refused; ZUNIONSTORE's sum of +inf and -inf is 0.

Replies with scores
    WITHSCORES answers a flat array in RESP2 (member, score, member, score...) and an
    array of [member, score] pairs in RESP3, so that a client keeps the order.

Blocking
    BZPOPMIN, BZPOPMAX and BZMPOP pop at once when they can; otherwise they wait through
    `BlockedClients.wait` (app/store/blocking.py) exactly as BLPOP does (see
    app/commands/list.py), and ZADD, ZINCRBY (and any command that creates a sorted set)
    wakes them with ``db.signal_ready``.
"""

from __future__ import annotations

import random

from app.commands.arguments import (
    NOT_FLOAT, SYNTAX_ERROR, c_string, integer, keyword, lookup_typed, mpop_arguments, paired_random_count, random_count,
    positive, random_picks, scan_cursor, scan_options, wrong_type,
)
from app.commands.list import timeout_seconds
from app.commands.registry import KeySpec, command
from app.numeric import parse_double, strtod
from app.protocol import NULL_ARRAY, ReplyError, format_double
from app.store import events
from app.store.zset import LEX_MAX, LEX_MIN, LexRange, Limits, ScoreRange, SortedSet

NAN_SCORE = "ERR resulting score is not a number (NaN)"
NOT_A_FLOAT_RANGE = "ERR min or max is not a float"
NOT_A_LEX_RANGE = "ERR min or max not valid string range item"


def _zset(name: str, **kwargs):
    kwargs["acl"] = "sortedset " + kwargs.get("acl", "")
    return command(name, group="sorted-set", **kwargs)


def get_zset(db, key: bytes, read: bool = False) -> SortedSet | None:
    """The sorted set at ``key``, or None; WRONGTYPE for another type (``read``: a reading
    command's lookup, counted as a hit or a miss)."""
    return lookup_typed(db, key, SortedSet, read)


def listpack_limits(client) -> Limits:
    """When a sorted set stops being a listpack (zset-max-listpack-entries / -value)."""
    values = client.server.config.values
    return Limits(values["zset-max-listpack-entries"], values["zset-max-listpack-value"])


def score_argument(arg: bytes, error: str = NOT_FLOAT) -> float:
    """A score, weight or coordinate (Redis: getDoubleFromObjectOrReply)."""
    value = parse_double(arg)
    if value is None:
        raise ReplyError(error)
    return value


def _range_end(arg: bytes) -> tuple[float, bool] | None:
    """One end of a score range, "(" for an exclusive one, as zslParseRange reads it:
    strtod up to the end of the C string, so blanks before the number, "" (0) and
    "1e400" (inf) pass; only NaN and trailing junk do not."""
    data = c_string(arg)
    exclusive = data[:1] == b"("
    if exclusive:
        data = data[1:]
    value, consumed, _erange = strtod(data)
    if consumed != len(data) or value != value:
        return None
    return value, exclusive


def score_range(low: bytes, high: bytes) -> ScoreRange:
    first, last = _range_end(low), _range_end(high)
    if first is None or last is None:
        raise ReplyError(NOT_A_FLOAT_RANGE)
    return ScoreRange(first[0], last[0], first[1], last[1])


def _lex_end(arg: bytes):
    """One end of a lex range: "-", "+", "(member" or "[member" (zslParseLexRangeItem)."""
    first = arg[:1]
    if first in (b"-", b"+"):
        if c_string(arg) != first:
            return None
        return (LEX_MIN if first == b"-" else LEX_MAX), True
    if first == b"(":
        return arg[1:], True
    if first == b"[":
        return arg[1:], False
    return None


def lex_range(low: bytes, high: bytes) -> LexRange:
    first, last = _lex_end(low), _lex_end(high)
    if first is None or last is None:
        raise ReplyError(NOT_A_LEX_RANGE)
    return LexRange(first[0], last[0], first[1], last[1])


def with_scores(client, nodes, scores: bool) -> list:
    """Members, or with ``scores`` a flat list (RESP2) or [member, score] pairs (RESP3)."""
    if not scores:
        return [node.member for node in nodes]
    if client.protocol == 2:
        reply = []
        for node in nodes:
            reply.append(node.member)
            reply.append(node.score)
        return reply
    return [[node.member, node.score] for node in nodes]


def _pairs_reply(client, pairs, scores: bool) -> list:
    """`with_scores` for (member, score) tuples."""
    if not scores:
        return [member for member, _score in pairs]
    if client.protocol == 2:
        return [item for pair in pairs for item in pair]
    return [list(pair) for pair in pairs]


def _removed(db, key: bytes, zset: SortedSet, event: str, changes: int) -> None:
    """After members were removed (``changes`` of them, counted for saving): announce
    ``event``, and delete an emptied set ("del")."""
    db.notify(events.ZSET, event, key)
    if zset:
        db.changed(key, changes)
    else:
        db.delete(key, changes)
        db.notify(events.GENERIC, "del", key)


def store_result(db, key: bytes, zset: SortedSet | None, event: str, changes: int = 1) -> int:
    """Store a computed sorted set at ``key`` (ZUNIONSTORE, ZRANGESTORE, GEOSEARCHSTORE...)
    and announce ``event``, counting ``changes`` for saving; an empty result deletes the
    key instead (one change). Returns its size."""
    if zset:
        db.set(key, zset, changes=changes)
        db.notify(events.ZSET, event, key)
        return len(zset)
    if db.delete(key):
        db.notify(events.GENERIC, "del", key)
    return 0


# --------------------------------------------------------------------------- ZADD, ZINCRBY

ADDED, UPDATED, UNCHANGED, SKIPPED = "added", "updated", "unchanged", "skipped"


def _add(zset: SortedSet, member: bytes, score: float, options: set, limits: Limits) -> tuple[str, float]:
    """One member of ZADD (Redis: zsetAdd): what happened, and the member's score after.

    ``options`` holds NX, XX, GT, LT, INCR. NX and XX skip existing or new members, GT and
    LT skip a score that would not rise or fall; INCR adds to the current score (0 for a
    new member) and may produce NaN (inf + -inf), which is an error.
    """
    current = zset.scores.get(member)
    if current is None:
        if b"XX" in options:
            return SKIPPED, score
        zset.insert(member, score, limits)
        return ADDED, score
    if b"NX" in options:
        return SKIPPED, score
    if b"INCR" in options:
        score += current
        if score != score:
            raise ReplyError(NAN_SCORE)
    if (b"LT" in options and score >= current) or (b"GT" in options and score <= current):
        return SKIPPED, score
    if score == current:
        return UNCHANGED, score
    zset.update(member, score)
    return UPDATED, score


ZADD_OPTIONS = (b"NX", b"XX", b"CH", b"INCR", b"GT", b"LT")


def zadd_pairs(client, key: bytes, options: set, pairs: list[tuple[float, bytes]]):
    """ZADD's work once its arguments are read (GEOADD comes here too): add or update
    each (score, member) pair, announce, and answer the count or, with INCR, the score."""
    db = client.db
    incr = b"INCR" in options
    zset = get_zset(db, key)
    created = zset is None
    limits = listpack_limits(client)
    if created:
        if b"XX" in options:
            return None if incr else 0
        # Redis picks the encoding of a new set from its first member only.
        zset = SortedSet(packed=limits.entries != 0 and len(pairs[0][1]) <= limits.value)
    added = updated = processed = 0
    score = 0.0
    for score, member in pairs:
        outcome, score = _add(zset, member, score, options, limits)
        if outcome == ADDED:
            added += 1
        elif outcome == UPDATED:
            updated += 1
        if outcome != SKIPPED:
            processed += 1
    if created:
        db.set(key, zset, changes=added + updated)  # announced as "new" before "zadd", as Redis' dbAdd
    elif added or updated:
        db.changed(key, added + updated)
    if added or updated:
        db.notify(events.ZSET, "zincr" if incr else "zadd", key)
        db.signal_ready(key)
    if incr:
        return score if processed else None
    return added + updated if b"CH" in options else added


_OPTION_LETTERS = frozenset(b"nNxXcCiIgGlL")  # how the options start: a score never does


def _zadd_command(client, key: bytes, args: tuple[bytes, ...], options: set):
    i = 0
    while i < len(args) and args[i][:1] and args[i][0] in _OPTION_LETTERS:
        word = keyword(args[i])
        if word not in ZADD_OPTIONS:
            break
        options.add(word)
        i += 1
    rest = args[i:]
    if not rest or len(rest) % 2:
        raise ReplyError(SYNTAX_ERROR)
    if b"NX" in options and b"XX" in options:
        raise ReplyError("ERR XX and NX options at the same time are not compatible")
    if (b"GT" in options or b"LT" in options) and b"NX" in options or (b"GT" in options and b"LT" in options):
        raise ReplyError("ERR GT, LT, and/or NX options at the same time are not compatible")
    if b"INCR" in options and len(rest) > 2:
        raise ReplyError("ERR INCR option supports a single increment-element pair")
    # Every score is read before anything changes: the command does all or nothing.
    pairs = [(score_argument(rest[j]), rest[j + 1]) for j in range(0, len(rest), 2)]
    return zadd_pairs(client, key, options, pairs)


@_zset("zadd", arity=-4, flags="write denyoom fast", keys=[KeySpec(1, "RW update")], since="1.2.0",
       summary="Add one or more members to a sorted set, or update its score if it already exists",
       complexity="O(log(N)) for each item added, where N is the number of elements in the sorted set.")
def zadd(client, key: bytes, *args: bytes):
    return _zadd_command(client, key, args, set())


@_zset("zincrby", arity=4, flags="write denyoom fast", keys=[KeySpec(1, "RW access update")], since="1.2.0",
       summary="Increment the score of a member in a sorted set",
       complexity="O(log(N)) where N is the number of elements in the sorted set.")
def zincrby(client, key: bytes, increment: bytes, member: bytes):
    # ZADD's parser, INCR preset: so "ZINCRBY z nx m" is a syntax error, as in Redis.
    return _zadd_command(client, key, (increment, member), {b"INCR"})


# --------------------------------------------------------------------------- single members


@_zset("zrem", arity=-3, flags="write fast", keys=[KeySpec(1, "RW delete")], since="1.2.0",
       summary="Remove one or more members from a sorted set",
       complexity="O(M*log(N)) with N being the number of elements in the sorted set and M the number of "
                  "elements to be removed.")
def zrem(client, key: bytes, *members: bytes):
    db = client.db
    zset = get_zset(db, key)
    if zset is None:
        return 0
    deleted = 0
    for member in members:
        deleted += zset.remove(member)
        if not zset:
            break
    if deleted:
        _removed(db, key, zset, "zrem", deleted)
    return deleted


@_zset("zcard", arity=2, flags="readonly fast", keys=[KeySpec(1, "RO")], since="1.2.0",
       summary="Get the number of members in a sorted set")
def zcard(client, key: bytes):
    zset = get_zset(client.db, key, read=True)
    return 0 if zset is None else len(zset)


@_zset("zscore", arity=3, flags="readonly fast", keys=[KeySpec(1, "RO access")], since="1.2.0",
       summary="Get the score associated with the given member in a sorted set")
def zscore(client, key: bytes, member: bytes):
    zset = get_zset(client.db, key, read=True)
    return None if zset is None else zset.score(member)


@_zset("zmscore", arity=-3, flags="readonly fast", keys=[KeySpec(1, "RO access")], since="6.2.0",
       summary="Get the score associated with the given members in a sorted set",
       complexity="O(N) where N is the number of members being requested.")
def zmscore(client, key: bytes, *members: bytes):
    zset = get_zset(client.db, key, read=True)
    if zset is None:
        return [None] * len(members)
    return [zset.score(member) for member in members]


def _rank(client, key: bytes, member: bytes, reverse: bool):
    zset = get_zset(client.db, key, read=True)
    return None if zset is None else zset.rank(member, reverse)


@_zset("zrank", arity=3, flags="readonly fast", keys=[KeySpec(1, "RO access")], since="2.0.0",
       summary="Determine the index of a member in a sorted set", complexity="O(log(N))")
def zrank(client, key: bytes, member: bytes):
    return _rank(client, key, member, reverse=False)


@_zset("zrevrank", arity=3, flags="readonly fast", keys=[KeySpec(1, "RO access")], since="2.0.0",
       summary="Determine the index of a member in a sorted set, with scores ordered from high to low",
       complexity="O(log(N))")
def zrevrank(client, key: bytes, member: bytes):
    return _rank(client, key, member, reverse=True)


# --------------------------------------------------------------------------- counting


@_zset("zcount", arity=4, flags="readonly fast", keys=[KeySpec(1, "RO access")], since="2.0.0",
       summary="Count the members in a sorted set with scores within the given values",
       complexity="O(log(N)) with N being the number of elements in the sorted set.")
def zcount(client, key: bytes, low: bytes, high: bytes):
    spec = score_range(low, high)  # before the lookup, as in Redis
    zset = get_zset(client.db, key, read=True)
    return 0 if zset is None else zset.count_in_range(spec)


@_zset("zlexcount", arity=4, flags="readonly fast", keys=[KeySpec(1, "RO access")], since="2.8.9",
       summary="Count the number of members in a sorted set between a given lexicographical range",
       complexity="O(log(N)) with N being the number of elements in the sorted set.")
def zlexcount(client, key: bytes, low: bytes, high: bytes):
    spec = lex_range(low, high)
    zset = get_zset(client.db, key, read=True)
    return 0 if zset is None else zset.count_in_range(spec)


# --------------------------------------------------------------------------- ranges

BY_RANK, BY_SCORE, BY_LEX = "rank", "score", "lex"


def _clamp(start: int, stop: int, length: int) -> tuple[int, int] | None:
    """Inclusive ranks (negative ones count from the end) clamped as Redis does for
    ZRANGE and ZREMRANGEBYRANK; None for an empty range."""
    if start < 0:
        start += length
    if stop < 0:
        stop += length
    start = max(start, 0)
    if start > stop or start >= length:
        return None
    return start, min(stop, length - 1)


def _range(client, args: tuple[bytes, ...], kind: str | None, reverse: bool | None, destination: bytes | None = None):
    """ZRANGE and its older forms, and ZRANGESTORE (Redis: zrangeGenericCommand).

    ``args`` is ``key min max [options]``; ``kind`` and ``reverse`` are fixed by the older
    commands (ZRANGEBYSCORE...) and None for ZRANGE, whose BYSCORE, BYLEX and REV choose
    them. With a ``destination`` the result is stored there instead (ZRANGESTORE).
    """
    key, low, high = args[0], args[1], args[2]
    store = destination is not None
    scores, offset, limit = False, 0, -1
    limited = False
    options = args[3:]
    i = 0
    while i < len(options):
        word = keyword(options[i])
        left = len(options) - i - 1
        if not store and word == b"WITHSCORES":
            scores = True
        elif word == b"LIMIT" and left >= 2:
            offset, limit = integer(options[i + 1]), integer(options[i + 2])
            limited = True
            i += 2
        elif reverse is None and word == b"REV":
            reverse = True
        elif kind is None and word == b"BYLEX":
            kind = BY_LEX
        elif kind is None and word == b"BYSCORE":
            kind = BY_SCORE
        else:
            raise ReplyError(SYNTAX_ERROR)
        i += 1
    reverse = bool(reverse)
    kind = kind or BY_RANK
    if limited and kind == BY_RANK:
        raise ReplyError("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    if scores and kind == BY_LEX:
        raise ReplyError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    if reverse and kind != BY_RANK:
        low, high = high, low  # given as max min
    if kind == BY_RANK:
        spec = (integer(low), integer(high))
    elif kind == BY_SCORE:
        spec = score_range(low, high)
    else:
        spec = lex_range(low, high)

    db = client.db
    zset = get_zset(db, key, read=True)
    if zset is None:
        nodes = []
    elif kind == BY_RANK:
        ranks = _clamp(spec[0], spec[1], len(zset))
        nodes = [] if ranks is None else zset.by_rank(ranks[0], ranks[1], reverse)
    elif kind == BY_SCORE and offset > 0 and offset >= len(zset):
        nodes = []
    elif offset < 0:
        nodes = []  # Redis' "while (offset--)" walks off the end of the set
    else:
        nodes = zset.in_range(spec, offset, limit, reverse)

    if store:
        # Redis sizes the new set by the length of a range by rank, known in advance (a
        # range by score or lex counts as 0), then adds the members one by one.
        limits = listpack_limits(client)
        result = SortedSet(packed=(len(nodes) if kind == BY_RANK else 0) <= limits.entries)
        for node in nodes:
            result.insert(node.member, node.score, limits)
        return store_result(db, destination, result, "zrangestore")
    return with_scores(client, nodes, scores)


_RANGE_KEYS = [KeySpec(1, "RO access")]
_RANGE_COMPLEXITY = ("O(log(N)+M) with N being the number of elements in the sorted set and M the number of "
                     "elements returned.")
_RANGE_BY_COMPLEXITY = ("O(log(N)+M) with N being the number of elements in the sorted set and M the number of "
                        "elements being returned. If M is constant (e.g. always asking for the first 10 elements "
                        "with LIMIT), you can consider it O(log(N)).")


@_zset("zrange", arity=-4, flags="readonly", keys=_RANGE_KEYS, since="1.2.0",
       summary="Return a range of members in a sorted set", complexity=_RANGE_COMPLEXITY)
def zrange(client, *args: bytes):
    return _range(client, args, None, None)


@_zset("zrangestore", arity=-5, flags="write denyoom", keys=[KeySpec(1, "OW update"), KeySpec(2, "RO access")],
       since="6.2.0", summary="Store a range of members from sorted set into another key",
       complexity="O(log(N)+M) with N being the number of elements in the sorted set and M the number of "
                  "elements stored into the destination key.")
def zrangestore(client, destination: bytes, *args: bytes):
    return _range(client, args, None, None, destination)


@_zset("zrevrange", arity=-4, flags="readonly", keys=_RANGE_KEYS, since="1.2.0",
       summary="Return a range of members in a sorted set, by index, with scores ordered from high to low",
       complexity=_RANGE_COMPLEXITY)
def zrevrange(client, *args: bytes):
    return _range(client, args, BY_RANK, True)


@_zset("zrangebyscore", arity=-4, flags="readonly", keys=_RANGE_KEYS, since="1.0.5",
       summary="Return a range of members in a sorted set, by score", complexity=_RANGE_BY_COMPLEXITY)
def zrangebyscore(client, *args: bytes):
    return _range(client, args, BY_SCORE, False)


@_zset("zrevrangebyscore", arity=-4, flags="readonly", keys=_RANGE_KEYS, since="2.2.0",
       summary="Return a range of members in a sorted set, by score, with scores ordered from high to low",
       complexity=_RANGE_BY_COMPLEXITY)
def zrevrangebyscore(client, *args: bytes):
    return _range(client, args, BY_SCORE, True)


@_zset("zrangebylex", arity=-4, flags="readonly", keys=_RANGE_KEYS, since="2.8.9",
       summary="Return a range of members in a sorted set, by lexicographical range", complexity=_RANGE_BY_COMPLEXITY)
def zrangebylex(client, *args: bytes):
    return _range(client, args, BY_LEX, False)


@_zset("zrevrangebylex", arity=-4, flags="readonly", keys=_RANGE_KEYS, since="2.8.9",
       summary="Return a range of members in a sorted set, by lexicographical range, ordered from higher to "
               "lower strings.", complexity=_RANGE_BY_COMPLEXITY)
def zrevrangebylex(client, *args: bytes):
    return _range(client, args, BY_LEX, True)


# --------------------------------------------------------------------------- removing ranges


def _remove_range(client, key: bytes, kind: str, low: bytes, high: bytes) -> int:
    """ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX: the range is read first."""
    if kind == BY_RANK:
        spec = (integer(low), integer(high))
    elif kind == BY_SCORE:
        spec = score_range(low, high)
    else:
        spec = lex_range(low, high)
    db = client.db
    zset = get_zset(db, key)
    if zset is None:
        return 0
    if kind == BY_RANK:
        ranks = _clamp(spec[0], spec[1], len(zset))
        if ranks is None:
            return 0
        deleted = zset.remove_rank_range(*ranks)
    else:
        deleted = zset.remove_range(spec)
    if deleted:
        _removed(db, key, zset, "zremrangeby" + kind, deleted)
    return deleted


_REMOVE_COMPLEXITY = ("O(log(N)+M) with N being the number of elements in the sorted set and M the number of "
                      "elements removed by the operation.")


@_zset("zremrangebyrank", arity=4, flags="write", keys=[KeySpec(1, "RW delete")], since="2.0.0",
       summary="Remove all members in a sorted set within the given indexes", complexity=_REMOVE_COMPLEXITY)
def zremrangebyrank(client, key: bytes, start: bytes, stop: bytes):
    return _remove_range(client, key, BY_RANK, start, stop)


@_zset("zremrangebyscore", arity=4, flags="write", keys=[KeySpec(1, "RW delete")], since="1.2.0",
       summary="Remove all members in a sorted set within the given scores", complexity=_REMOVE_COMPLEXITY)
def zremrangebyscore(client, key: bytes, low: bytes, high: bytes):
    return _remove_range(client, key, BY_SCORE, low, high)


@_zset("zremrangebylex", arity=4, flags="write", keys=[KeySpec(1, "RW delete")], since="2.8.9",
       summary="Remove all members in a sorted set between the given lexicographical range",
       complexity=_REMOVE_COMPLEXITY)
def zremrangebylex(client, key: bytes, low: bytes, high: bytes):
    return _remove_range(client, key, BY_LEX, low, high)


# --------------------------------------------------------------------------- pops


def _pop(db, key: bytes, zset: SortedSet, highest: bool, count: int) -> list:
    """Pop up to ``count`` members from one end; announce it (once) and delete an
    emptied set. Returns the popped nodes (member, score), in the order they left."""
    popped = [zset.pop(highest) for _ in range(min(count, len(zset)))]
    _removed(db, key, zset, "zpopmax" if highest else "zpopmin", len(popped))
    return popped


def _pop_first(db, keys, highest: bool, count: int, strict: bool, counted: bool = True):
    """Pop from the first of ``keys`` holding a sorted set: (key, nodes), or None.

    ``strict`` answers WRONGTYPE for a key of another type met first, as the command
    does; a blocked client's attempt passes over such keys instead. Replicas are sent
    ZPOPMIN/ZPOPMAX of that key, with the number popped if ``counted`` (ZMPOP, BZMPOP)."""
    for key in keys:
        zset = db.lookup(key)
        if zset is None:
            continue
        if not isinstance(zset, SortedSet):
            if strict:
                raise wrong_type()
            continue
        nodes = _pop(db, key, zset, highest, count)
        name = b"ZPOPMAX" if highest else b"ZPOPMIN"
        db.keyspace.propagation.replace([name, key, b"%d" % len(nodes)] if counted else [name, key])
        return key, nodes
    return None


def _pop_command(client, key: bytes, count_args: tuple[bytes, ...], highest: bool):
    """ZPOPMIN and ZPOPMAX: [member, score], or with a count every popped pair (flat in
    RESP2, nested in RESP3)."""
    if len(count_args) > 1:
        raise ReplyError(SYNTAX_ERROR)
    count = positive(count_args[0]) if count_args else None
    db = client.db
    zset = get_zset(db, key)
    if zset is None or count == 0:
        return []
    nodes = _pop(db, key, zset, highest, count or 1)
    if count is None:
        return [nodes[0].member, nodes[0].score]
    return with_scores(client, nodes, True)


_POP_KEYS = [KeySpec(1, "RW access delete")]
_POP_COMPLEXITY = "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of " \
                  "elements popped."


@_zset("zpopmin", arity=-2, flags="write fast", keys=_POP_KEYS, since="5.0.0",
       summary="Remove and return members with the lowest scores in a sorted set", complexity=_POP_COMPLEXITY)
def zpopmin(client, key: bytes, *count: bytes):
    return _pop_command(client, key, count, highest=False)


@_zset("zpopmax", arity=-2, flags="write fast", keys=_POP_KEYS, since="5.0.0",
       summary="Remove and return members with the highest scores in a sorted set", complexity=_POP_COMPLEXITY)
def zpopmax(client, key: bytes, *count: bytes):
    return _pop_command(client, key, count, highest=True)


def _mpop_arguments(args: tuple[bytes, ...]) -> tuple[tuple[bytes, ...], bool, int]:
    """``numkeys key [key ...] MIN|MAX [COUNT count]`` -> (keys, highest, count)."""
    keys, end, count = mpop_arguments(args, (b"MIN", b"MAX"))
    return keys, end == b"MAX", count


def _mpop_reply(popped) -> list:
    key, nodes = popped
    return [key, [[node.member, node.score] for node in nodes]]


@_zset("zmpop", arity=-4, flags="write movablekeys", keys=[KeySpec(1, "RW access delete", keynum=True)],
       since="7.0.0", summary="Remove and return members with scores in a sorted set",
       complexity="O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in "
                  "the sorted set, and M being the number of elements popped.")
def zmpop(client, *args: bytes):
    keys, highest, count = _mpop_arguments(args)
    popped = _pop_first(client.db, keys, highest, count, strict=True)
    return NULL_ARRAY if popped is None else _mpop_reply(popped)


def _blocking_pop(client, keys, highest: bool, count: int, timeout: float | None, counted: bool = True):
    """Pop now from the first key with a sorted set, or wait until one is fed; None
    when the time runs out (or at once inside MULTI)."""
    db = client.db
    popped = _pop_first(db, keys, highest, count, strict=True, counted=counted)
    if popped is not None:
        return popped

    def attempt(ready):
        # Run by the feeding client's thread for this one: the fed key, or any at first.
        return _pop_first(db, keys if ready is None else [ready[1]], highest, count, strict=False, counted=counted)

    watched = [(db.index, key) for key in dict.fromkeys(keys)]
    return client.server.keyspace.blocked.wait(client, watched, attempt, timeout)


def _bzpop(client, args: tuple[bytes, ...], highest: bool):
    timeout = timeout_seconds(args[-1])  # before the keys are looked at
    popped = _blocking_pop(client, args[:-1], highest, 1, timeout, counted=False)
    if popped is None:
        return NULL_ARRAY
    key, (node,) = popped
    return [key, node.member, node.score]


_BZPOP_KEYS = [KeySpec(1, "RW access delete", last=-2)]


@_zset("bzpopmin", arity=-3, flags="write noscript blocking fast", keys=_BZPOP_KEYS, since="5.0.0",
       summary="Remove and return the member with the lowest score from one or more sorted sets, or block until "
               "one is available",
       complexity="O(log(N)) with N being the number of elements in the sorted set.")
def bzpopmin(client, *args: bytes):
    return _bzpop(client, args, highest=False)


@_zset("bzpopmax", arity=-3, flags="write noscript blocking fast", keys=_BZPOP_KEYS, since="5.0.0",
       summary="Remove and return the member with the highest score from one or more sorted sets, or block until "
               "one is available",
       complexity="O(log(N)) with N being the number of elements in the sorted set.")
def bzpopmax(client, *args: bytes):
    return _bzpop(client, args, highest=True)


@_zset("bzmpop", arity=-5, flags="write blocking movablekeys", keys=[KeySpec(2, "RW access delete", keynum=True)],
       since="7.0.0", summary="Remove and return members with scores in a sorted set or block until one is available",
       complexity="O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in "
                  "the sorted set, and M being the number of elements popped.")
def bzmpop(client, timeout: bytes, *args: bytes):
    keys, highest, count = _mpop_arguments(args)  # before the timeout, as in Redis
    popped = _blocking_pop(client, keys, highest, count, timeout_seconds(timeout))
    return NULL_ARRAY if popped is None else _mpop_reply(popped)


# --------------------------------------------------------------------------- random members

@_zset("zrandmember", arity=-2, flags="readonly", keys=[KeySpec(1, "RO access")], tips="nondeterministic_output",
       since="6.2.0", summary="Get one or multiple random elements from a sorted set",
       complexity="O(N) where N is the number of elements returned")
def zrandmember(client, key: bytes, *args: bytes):
    """A uniformly random member; with a count, that many distinct ones (all of them if
    the count passes the size), or with a negative count that many independent picks.

    A random rank in the skip list is a uniform pick in O(log n) (`SortedSet.node_at`),
    so no call copies the set, where a dict alone would need O(n) per pick."""
    if not args:
        zset = get_zset(client.db, key, read=True)
        if zset is None:
            return None
        return zset.node_at(random.randrange(len(zset))).member
    wanted = random_count(args[0])
    if len(args) > 2 or (len(args) == 2 and keyword(args[1]) != b"WITHSCORES"):
        raise ReplyError(SYNTAX_ERROR)
    scores = len(args) == 2
    if scores:
        paired_random_count(wanted)
    zset = get_zset(client.db, key, read=True)
    if zset is None or wanted == 0:
        return []
    size = len(zset)
    if wanted < 0 or wanted == 1:
        picks = random_picks(wanted) if wanted < 0 else 1
        if picks > size:  # cheaper to take every node once, then pick among them
            nodes = random.choices(zset.by_rank(0, size - 1), k=picks)
        else:
            nodes = [zset.node_at(random.randrange(size)) for _ in range(picks)]
    elif wanted >= size:
        # The whole set, as Redis iterates it: from the highest score down.
        nodes = zset.by_rank(0, size - 1, reverse=True)
    else:
        nodes = [zset.node_at(rank) for rank in random.sample(range(size), wanted)]
    return with_scores(client, nodes, scores)


# --------------------------------------------------------------------------- union, intersection, difference

UNION, INTER, DIFF = "union", "inter", "diff"


def _source_scores(value) -> dict:
    """The members of a ZUNION/ZINTER/ZDIFF input and their scores: a plain set counts
    as a sorted set whose every score is 1."""
    if isinstance(value, SortedSet):
        return value.scores
    return dict.fromkeys(value, 1.0)


def _aggregate(aggregate: bytes, current: float, value: float) -> float:
    if aggregate == b"SUM":
        total = current + value
        return 0.0 if total != total else total  # inf + -inf: 0 by convention
    if aggregate == b"MIN":
        return value if value < current else current
    return value if value > current else current


def _weighted(score: float, weight: float) -> float:
    product = weight * score
    return 0.0 if product != product else product  # inf * 0


def _set_operation(client, operation: str, name: str, args: tuple[bytes, ...], destination: bytes | None = None,
                   cardinality_only: bool = False):
    """ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD (Redis:
    zunionInterDiffGenericCommand). ``args``: ``numkeys key [key ...] [options]``."""
    count = integer(args[0])
    if count < 1:
        raise ReplyError(f"ERR at least 1 input key is needed for '{name}' command")
    if count > len(args) - 1:
        raise ReplyError(SYNTAX_ERROR)
    db = client.db
    keys = args[1 : count + 1]
    sources = []
    for key in keys:
        value = db.lookup_read(key)
        if value is not None and not isinstance(value, SortedSet) and getattr(value, "TYPE_NAME", None) != "set":
            raise wrong_type()
        sources.append(value)
    weights = [1.0] * count
    aggregate, scores, limit = b"SUM", False, 0
    options = args[count + 1 :]
    i = 0
    while i < len(options):
        word = keyword(options[i])
        left = len(options) - i
        if operation != DIFF and not cardinality_only and left >= count + 1 and word == b"WEIGHTS":
            weights = [score_argument(arg, "ERR weight value is not a float") for arg in options[i + 1 : i + 1 + count]]
            i += count + 1
        elif operation != DIFF and not cardinality_only and left >= 2 and word == b"AGGREGATE":
            aggregate = keyword(options[i + 1])
            if aggregate not in (b"SUM", b"MIN", b"MAX"):
                raise ReplyError(SYNTAX_ERROR)
            i += 2
        elif destination is None and not cardinality_only and word == b"WITHSCORES":
            scores = True
            i += 1
        elif cardinality_only and left >= 2 and word == b"LIMIT":
            limit = integer(options[i + 1], "ERR LIMIT can't be negative")
            if limit < 0:
                raise ReplyError("ERR LIMIT can't be negative")
            i += 2
        else:
            raise ReplyError(SYNTAX_ERROR)

    inputs = [(_source_scores(value) if value is not None else {}, weight, value)
              for value, weight in zip(sources, weights)]
    if operation != DIFF:
        inputs.sort(key=lambda entry: len(entry[0]))  # smallest first, as Redis orders them (stably)
    result: dict[bytes, float] = {}
    if operation == INTER:
        if inputs[0][0]:
            smallest, weight, value = inputs[0]
            found = 0
            for member, score in smallest.items():
                total = _weighted(score, weight)
                for other, other_weight, other_value in inputs[1:]:
                    if other_value is value and value is not None:
                        total = _aggregate(aggregate, total, score * other_weight)
                    elif member in other:
                        total = _aggregate(aggregate, total, other[member] * other_weight)
                    else:
                        break
                else:
                    if cardinality_only:
                        found += 1
                        if limit and found >= limit:
                            break
                    else:
                        result[member] = total
            if cardinality_only:
                return found
    elif operation == UNION:
        for members, weight, _value in inputs:
            for member, score in members.items():
                score = _weighted(score, weight)
                current = result.get(member)
                result[member] = score if current is None else _aggregate(aggregate, current, score)
    else:
        first, _weight, value = inputs[0]
        if not any(other_value is value and value is not None for _m, _w, other_value in inputs[1:]):
            others = [members for members, _w, _v in inputs[1:]]
            result = {member: score for member, score in first.items()
                      if not any(member in other for other in others)}
    if cardinality_only:
        return 0

    pairs = sorted(result.items(), key=lambda pair: (pair[1], pair[0]))
    if destination is not None:
        stored = SortedSet.built(pairs, listpack_limits(client)) if pairs else None
        return store_result(db, destination, stored, "z" + operation + "store")
    return _pairs_reply(client, pairs, scores)


_SOURCE_KEYS = [KeySpec(1, "RO access", keynum=True)]
_STORE_KEYS = [KeySpec(1, "OW update"), KeySpec(2, "RO access", keynum=True)]
_UNION_COMPLEXITY = ("O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the "
                     "number of elements in the resulting sorted set.")
_INTER_COMPLEXITY = ("O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of "
                     "input sorted sets and M being the number of elements in the resulting sorted set.")
_DIFF_COMPLEXITY = ("O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the "
                    "size of the first set, and K is the size of the result set.")


@_zset("zunion", arity=-3, flags="readonly movablekeys", keys=_SOURCE_KEYS, since="6.2.0",
       summary="Add multiple sorted sets", complexity=_UNION_COMPLEXITY)
def zunion(client, *args: bytes):
    return _set_operation(client, UNION, "zunion", args)


@_zset("zinter", arity=-3, flags="readonly movablekeys", keys=_SOURCE_KEYS, since="6.2.0",
       summary="Intersect multiple sorted sets", complexity=_INTER_COMPLEXITY)
def zinter(client, *args: bytes):
    return _set_operation(client, INTER, "zinter", args)


@_zset("zdiff", arity=-3, flags="readonly movablekeys", keys=_SOURCE_KEYS, since="6.2.0",
       summary="Subtract multiple sorted sets", complexity=_DIFF_COMPLEXITY)
def zdiff(client, *args: bytes):
    return _set_operation(client, DIFF, "zdiff", args)


@_zset("zintercard", arity=-3, flags="readonly movablekeys", keys=_SOURCE_KEYS, since="7.0.0",
       summary="Intersect multiple sorted sets and return the cardinality of the result",
       complexity="O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted "
                  "sets.")
def zintercard(client, *args: bytes):
    return _set_operation(client, INTER, "zintercard", args, cardinality_only=True)


@_zset("zunionstore", arity=-4, flags="write denyoom movablekeys", keys=_STORE_KEYS, since="2.0.0",
       summary="Add multiple sorted sets and store the resulting sorted set in a new key",
       complexity="O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the "
                  "number of elements in the resulting sorted set.")
def zunionstore(client, destination: bytes, *args: bytes):
    return _set_operation(client, UNION, "zunionstore", args, destination)


@_zset("zinterstore", arity=-4, flags="write denyoom movablekeys", keys=_STORE_KEYS, since="2.0.0",
       summary="Intersect multiple sorted sets and store the resulting sorted set in a new key",
       complexity=_INTER_COMPLEXITY)
def zinterstore(client, destination: bytes, *args: bytes):
    return _set_operation(client, INTER, "zinterstore", args, destination)


@_zset("zdiffstore", arity=-4, flags="write denyoom movablekeys", keys=_STORE_KEYS, since="6.2.0",
       summary="Subtract multiple sorted sets and store the resulting sorted set in a new key",
       complexity=_DIFF_COMPLEXITY)
def zdiffstore(client, destination: bytes, *args: bytes):
    return _set_operation(client, DIFF, "zdiffstore", args, destination)


# --------------------------------------------------------------------------- ZSCAN

_LLONG_HALF = float(2**63 // 2)  # (double)(LLONG_MAX/2): past it a listpack keeps a score as text


def _packed_score_text(score: float) -> bytes:
    """A score as a listpack holds it, which is what ZSCAN of a small set returns: an
    integral score within LLONG_MAX/2 as an integer ("100000000000000000", where ZSCORE
    says "1e+17"), any other as Redis' d2string writes it."""
    if -_LLONG_HALF <= score <= _LLONG_HALF and score == int(score):
        return b"%d" % int(score)
    if score in (float("inf"), float("-inf")):
        return b"inf" if score > 0 else b"-inf"
    return b"%.17g" % score


@_zset("zscan", arity=-3, flags="readonly", keys=[KeySpec(1, "RO access")], tips="nondeterministic_output",
       since="2.8.0", summary="Incrementally iterate sorted sets elements and associated scores",
       complexity="O(1) for every call. O(N) for a complete iteration, including enough command calls for the "
                  "cursor to return back to 0. N is the number of elements inside the collection..")
def zscan(client, key: bytes, cursor: bytes, *options: bytes):
    position = scan_cursor(cursor)  # before the key; the options after it, as in Redis
    zset = get_zset(client.db, key, read=True)
    if zset is None:
        return [b"0", []]
    count, glob = scan_options(options)
    if zset.packed:
        # Redis returns a listpack whole, in order, whatever COUNT says.
        next_cursor, members = 0, [node.member for node in zset.skiplist]
        score_text = _packed_score_text
    else:
        next_cursor, members = zset.scan(position, count)
        score_text = format_double  # as Redis' %.17Lg of the dict's double
    if glob is not None:
        members = [member for member in members if glob.match(member)]
    reply = []
    scores = zset.scores
    for member in members:
        score = scores[member]
        reply.append(member)
        reply.append(score_text(score))
    return [b"%d" % next_cursor, reply]
