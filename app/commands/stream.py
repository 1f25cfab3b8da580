"""Stream commands: XADD, XRANGE, XREAD and the rest, and consumer groups (XGROUP,
XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO).

A stream is a `Stream` (app/store/stream.py); this module reads arguments, checks them
in the order Redis' t_stream.c does (so the same error wins), and announces changes as
t_stream.c does. An emptied stream stays in the keyspace, unlike a list.

Entry IDs
    Clients write ``<ms>-<seq>``; ``<ms>`` alone means sequence 0 as a start and the
    last possible sequence as an end, ``-`` and ``+`` the smallest and greatest IDs, and
    ``(`` before an ID excludes it from a range. XADD also takes ``*`` (the time now)
    and ``<ms>-*`` (the next sequence for that time). `parse_id` reads them all as
    Redis' streamGenericParseIDOrReply does, quirks included.

Blocking reads
    XREAD BLOCK and XREADGROUP BLOCK wait through `BlockedClients.wait`, like BLPOP, and
    ``$`` is resolved to the stream's last ID before waiting. A list waiter that gets
    nothing means no one behind it can get anything either, so serving a key stops at
    the first such waiter. Stream readers are not like that: each waits for IDs past
    its own point, or for its own group, so one that cannot be served must not hold up
    those behind it (Redis tries every reader of the key): they wait with
    ``competes=False``.
"""

from __future__ import annotations

import itertools
import re

from app.commands.arguments import SYNTAX_ERROR, c_string, integer, keyword, lookup_typed, text
from app.commands.list import timeout_seconds
from app.commands.registry import KeySpec, command, container
from app.numeric import parse_int
from app.propagation import propagate_as
from app.protocol import NULL_ARRAY, ReplyError
from app.store import events
from app.store.keyspace import now_ms
from app.store.stream import (
    MAX_ID,
    MIN_ID,
    UINT64_MAX,
    UNKNOWN,
    Consumer,
    ConsumerGroup,
    PendingEntry,
    Stream,
    decrement_id,
    format_id,
    increment_id,
)

INVALID_ID = "ERR Invalid stream ID specified as stream command argument"
NO_SUCH_KEY = "ERR no such key"
ID_TOO_SMALL = "ERR The ID specified in XADD is equal or smaller than the target stream top item"
# A reader blocked without COUNT is served at most this many entries (Redis 7.0).
BLOCKED_READ_COUNT = 1000
# XAUTOCLAIM's COUNT: at most LONG_MAX / 16, and Redis fails to allocate 16 bytes per
# COUNT beyond what any machine has (here: a terabyte).
MAX_AUTOCLAIM_COUNT = (2**63 - 1) // 16
AUTOCLAIM_ALLOCATION_LIMIT = 2**40 // 16


def _stream(name: str, **kwargs):
    kwargs["acl"] = "stream " + kwargs.get("acl", "")
    return command(name, group="stream", **kwargs)


def get_stream(db, key: bytes, read: bool = False) -> Stream | None:
    """The stream at ``key``, or None; WRONGTYPE for another type (``read``: a reading
    command's lookup, counted as a hit or a miss)."""
    return lookup_typed(db, key, Stream, read)


def _dirty(db, changes: int = 1) -> None:
    """Count changes for saving that Redis does not show to WATCH (group bookkeeping:
    t_stream.c bumps server.dirty there without signalModifiedKey)."""
    db.keyspace.dirty += changes


def _name(arg: bytes) -> str:
    """A key or group name as Redis prints it in an error (a C string: cut at NUL)."""
    return text(c_string(arg))


def _subcommand_error(client) -> ReplyError:
    """Redis' addReplySubcommandSyntaxError: the subcommand as typed, the command in capitals."""
    return ReplyError(f"ERR unknown subcommand or wrong number of arguments for '{_name(client.argv[1])[:128]}'. "
                      f"Try {_name(client.argv[0]).upper()} HELP.")


# --------------------------------------------------------------------------- IDs

_STRTOULL = re.compile(rb"[ \t\n\v\f\r]*([+-]?)([0-9]+)")


def _unsigned(part: bytes) -> int | None:
    """An unsigned 64-bit number as Redis' string2ull reads it: strictly, as a signed
    integer, first (a negative one is refused), else as C's strtoull, which allows
    blanks, a sign and leading zeros, and wraps a negative number around 2**64."""
    value = parse_int(part)
    if value is not None:
        return value if value >= 0 else None
    match = _STRTOULL.fullmatch(part)
    if match is None:
        return None
    sign, digits = match.groups()
    value = int(digits)
    if value > UINT64_MAX:
        return None
    return (-value) % 2**64 if sign == b"-" else value


def parse_id(arg: bytes, missing_seq: int = 0, strict: bool = False, auto_seq: bool = False):
    """An entry ID argument -> (ms, seq), or with ``auto_seq`` ((ms, seq), seq_given).

    ``-`` and ``+`` are the least and greatest IDs unless ``strict``; a missing sequence
    is ``missing_seq``; ``auto_seq`` allows XADD's ``<ms>-*``."""
    data = c_string(arg)  # Redis copies the argument into a C buffer
    if len(arg) > 127 or (strict and data in (b"-", b"+")):
        raise ReplyError(INVALID_ID)
    seq_given = True
    if data == b"-":
        entry_id = MIN_ID
    elif data == b"+":
        entry_id = MAX_ID
    else:
        ms_part, dash, seq_part = data.partition(b"-")
        ms = _unsigned(ms_part)
        if not dash:
            seq = missing_seq
        elif auto_seq and seq_part == b"*":
            seq, seq_given = 0, False
        else:
            seq = _unsigned(seq_part)
        if ms is None or seq is None:
            raise ReplyError(INVALID_ID)
        entry_id = (ms, seq)
    return (entry_id, seq_given) if auto_seq else entry_id


def _range_start(arg: bytes) -> tuple[int, int]:
    """A range's first ID: ``(`` excludes it, so the range starts one ID later."""
    if len(arg) > 1 and arg[:1] == b"(":
        entry_id = increment_id(parse_id(arg[1:], 0, strict=True))
        if entry_id is None:
            raise ReplyError("ERR invalid start ID for the interval")
        return entry_id
    return parse_id(arg, 0)


def _range_end(arg: bytes) -> tuple[int, int]:
    """A range's last ID: an incomplete one ends at its last sequence; ``(`` excludes it."""
    if len(arg) > 1 and arg[:1] == b"(":
        entry_id = decrement_id(parse_id(arg[1:], UINT64_MAX, strict=True))
        if entry_id is None:
            raise ReplyError("ERR invalid end ID for the interval")
        return entry_id
    return parse_id(arg, UINT64_MAX)


def _entries(found) -> list:
    """(id, fields) pairs as replies give them: [id, [field, value, ...]] each."""
    return [(b"%d-%d" % entry_id, fields) for entry_id, fields in found]


def _one_entry(stream: Stream, entry_id) -> tuple:
    return format_id(entry_id), stream.get(entry_id)


# --------------------------------------------------------------------------- XADD, XTRIM


class _TrimOptions:
    """What XADD and XTRIM were asked: a trimming strategy (MAXLEN or MINID, exact or
    with ``~``, and LIMIT), and for XADD NOMKSTREAM and the entry ID."""

    __slots__ = ("maxlen", "minid", "approx", "limit", "no_mkstream", "entry_id", "seq_given", "id_position",
                 "threshold_position")

    def __init__(self):
        self.maxlen = self.minid = self.entry_id = None
        self.approx = self.no_mkstream = False
        self.seq_given = True
        self.limit = 0
        self.id_position = 0
        self.threshold_position = 0  # of MAXLEN's or MINID's argument, to rewrite "~" trims

    @property
    def trims(self) -> bool:
        return self.maxlen is not None or self.minid is not None

    def trim(self, stream: Stream) -> int:
        return stream.trim(self.maxlen, self.minid, self.approx, self.limit)


# XADD key * ...: no options, the ID first (the common case, read in one test).
_NO_OPTIONS = _TrimOptions()


def _trim_options(client, args: tuple[bytes, ...], xadd: bool) -> _TrimOptions:
    """Read XADD's or XTRIM's options (arguments after the key), as Redis'
    streamParseAddOrTrimArgsOrReply; for XADD, up to the ID, whose position is kept."""
    if xadd and args[0] == b"*":
        return _NO_OPTIONS
    options = _TrimOptions()
    limit_given = False
    i = 0
    while i < len(args):
        more = len(args) - 1 - i
        word = keyword(args[i])
        if xadd and c_string(args[i]) == b"*":
            break
        if word in (b"MAXLEN", b"MINID") and more:
            if options.trims:
                raise ReplyError("ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
            options.approx = False
            marker = c_string(args[i + 1])
            if more >= 2 and marker in (b"~", b"="):
                options.approx = marker == b"~"
                i += 1
            options.threshold_position = i + 1
            if word == b"MAXLEN":
                options.maxlen = integer(args[i + 1])
                if options.maxlen < 0:
                    raise ReplyError("ERR The MAXLEN argument must be >= 0.")
            else:
                options.minid = parse_id(args[i + 1], strict=True)
            i += 1
        elif word == b"LIMIT" and more:
            options.limit = integer(args[i + 1])
            if options.limit < 0:
                raise ReplyError("ERR The LIMIT argument must be >= 0.")
            limit_given = True
            i += 1
        elif xadd and word == b"NOMKSTREAM":
            options.no_mkstream = True
        elif xadd:
            options.entry_id, options.seq_given = parse_id(args[i], strict=True, auto_seq=True)
            break
        else:
            raise ReplyError(SYNTAX_ERROR)
        i += 1
    options.id_position = i
    if options.limit and not options.trims:
        raise ReplyError("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
    if not xadd and not options.trims:
        raise ReplyError("ERR syntax error, XTRIM must be called with a trimming strategy")
    if client.is_master:
        # A "~" trim reaches replicas and the AOF rewritten as exact ("="), LIMIT kept:
        # they trim exactly that, with no limit (Redis: mustObeyClient).
        options.limit = 0
    elif limit_given:
        if not options.approx:
            raise ReplyError("ERR syntax error, LIMIT cannot be used without the special ~ option")
    elif options.approx:
        # Without LIMIT, "~" removes at most about 100 nodes' worth per call.
        limit = 100 * client.server.config["stream-node-max-entries"]
        options.limit = 10000 if limit <= 0 else min(limit, 1000000)
    else:
        options.limit = 0
    return options


def _new_entry_id(stream: Stream, options: _TrimOptions) -> tuple[int, int]:
    """The ID XADD gives the new entry; an error unless it exceeds the last one."""
    given = options.entry_id
    if given is None:
        entry_id = stream.next_id(now_ms())
    elif options.seq_given:
        entry_id = given
    elif given[0] == stream.last_id[0]:  # <ms>-*: the next sequence of that time
        if stream.last_id[1] == UINT64_MAX:
            # Redis 7.0 fails here without saying why, and XADD reports its other error.
            raise ReplyError("ERR Elements are too large to be stored")
        entry_id = (given[0], stream.last_id[1] + 1)
    else:
        entry_id = (given[0], 0)
    if entry_id is None or entry_id <= stream.last_id:
        raise ReplyError(ID_TOO_SMALL)
    return entry_id


@_stream("xadd", arity=-5, flags="write denyoom fast", tips="nondeterministic_output",
         keys=[KeySpec(1, "RW update", notes="UPDATE instead of INSERT because of the optional trimming feature")],
         since="5.0.0", summary="Appends a new entry to a stream",
         complexity="O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.")
def xadd(client, key: bytes, *args: bytes):
    options = _trim_options(client, args, xadd=True)
    fields = args[options.id_position + 1:]
    if len(fields) < 2 or len(fields) % 2:
        raise ReplyError("ERR wrong number of arguments for 'xadd' command")
    if options.entry_id == MIN_ID and options.seq_given:
        raise ReplyError("ERR The ID specified in XADD must be greater than 0-0")
    db = client.db
    stream = get_stream(db, key)
    if stream is None:
        if options.no_mkstream:
            return None
        stream = Stream()
        db.set(key, stream, changes=0)  # announced as "new", as Redis' dbAdd does; the entry counts below
    if stream.last_id == MAX_ID:
        raise ReplyError("ERR The stream has exhausted the last possible ID, unable to add more items")
    entry_id = _new_entry_id(stream, options)
    config = client.server.config
    stream.append(entry_id, fields, config["stream-node-max-bytes"], config["stream-node-max-entries"])
    db.notify(events.STREAM, "xadd", key)
    if options.trims and options.trim(stream):
        db.notify(events.STREAM, "xtrim", key)
    db.changed(key)
    db.signal_ready(key)
    if options.entry_id is None or not options.seq_given or options.approx:  # "*", "<ms>-*" or "~"
        _propagate_exactly(client, b"XADD", key, args, options, stream, entry_id)
    return format_id(entry_id)


def _propagate_exactly(client, name: bytes, key: bytes, args, options: _TrimOptions, stream: Stream,
                       entry_id=None) -> None:
    """Replicas and the AOF get what XADD or XTRIM did, not what it was asked: the ID it
    chose for ``*`` or ``<ms>-*``, and a ``~`` trim made exact (``=``, with the length
    it left or the first ID it kept), so that they end with the same entries."""
    args = list(args)
    if entry_id is not None and (options.entry_id is None or not options.seq_given):
        args[options.id_position] = format_id(entry_id)
    if options.approx:
        args[options.threshold_position - 1] = b"="
        if options.maxlen is not None:
            args[options.threshold_position] = b"%d" % len(stream)
        else:
            args[options.threshold_position] = format_id(stream.first_id if len(stream) else MAX_ID)  # as Redis' edge ID
    propagate_as(client, [name, key, *args])


@_stream("xtrim", arity=-4, flags="write", keys=[KeySpec(1, "RW delete")], tips="nondeterministic_output",
         since="5.0.0", summary="Trims the stream to (approximately if '~' is passed) a certain size",
         complexity="O(N), with N being the number of evicted entries. Constant times are very small however, "
                    "since entries are organized in macro nodes containing multiple entries that can be released "
                    "with a single deallocation.")
def xtrim(client, key: bytes, *args: bytes):
    options = _trim_options(client, args, xadd=False)
    db = client.db
    stream = get_stream(db, key)
    if stream is None:
        return 0
    deleted = options.trim(stream)
    if deleted:
        db.notify(events.STREAM, "xtrim", key)
        db.changed(key, deleted)
        if options.approx:
            _propagate_exactly(client, b"XTRIM", key, args, options, stream)
    return deleted


# --------------------------------------------------------------------------- XDEL, XLEN, XSETID


@_stream("xdel", arity=-3, flags="write fast", keys=[KeySpec(1, "RW delete")], since="5.0.0",
         summary="Removes the specified entries from the stream. Returns the number of items actually deleted, "
                 "that may be different from the number of IDs passed in case certain IDs do not exist.",
         complexity="O(1) for each single item to delete in the stream, regardless of the stream size.")
def xdel(client, key: bytes, *ids: bytes):
    db = client.db
    stream = get_stream(db, key)
    if stream is None:
        return 0  # before the IDs are read, as in Redis
    entry_ids = [parse_id(arg, strict=True) for arg in ids]  # all or nothing
    deleted = sum(stream.delete(entry_id) for entry_id in entry_ids)
    if deleted:
        db.changed(key)
        db.notify(events.STREAM, "xdel", key)
        _dirty(db, deleted - 1)
    return deleted


@_stream("xlen", arity=2, flags="readonly fast", keys=[KeySpec(1, "RO")], since="5.0.0",
         summary="Return the number of entries in a stream")
def xlen(client, key: bytes):
    stream = get_stream(client.db, key, read=True)
    return 0 if stream is None else stream.length


@_stream("xsetid", arity=-3, flags="write denyoom fast", keys=[KeySpec(1, "RW update")], since="5.0.0",
         summary="An internal command for replicating stream values")
def xsetid(client, key: bytes, last: bytes, *options: bytes):
    last_id = parse_id(last, strict=True)
    entries_added, max_deleted = -1, MIN_ID
    i = 0
    while i < len(options):
        word = keyword(options[i])
        if word == b"ENTRIESADDED" and i + 1 < len(options):
            entries_added = integer(options[i + 1])
            if entries_added < 0:
                raise ReplyError("ERR entries_added must be positive")
        elif word == b"MAXDELETEDID" and i + 1 < len(options):
            max_deleted = parse_id(options[i + 1], strict=True)
            if last_id < max_deleted:
                raise ReplyError("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
        else:
            raise ReplyError(SYNTAX_ERROR)
        i += 2
    db = client.db
    stream = get_stream(db, key)
    if stream is None:
        raise ReplyError(NO_SUCH_KEY)
    if stream.length:
        if last_id < stream.last_entry_id():
            raise ReplyError("ERR The ID specified in XSETID is smaller than the target stream top item")
        if entries_added != -1 and stream.length > entries_added:
            raise ReplyError("ERR The entries_added specified in XSETID is smaller than the target stream length")
    stream.last_id = last_id
    if entries_added != -1:
        stream.entries_added = entries_added
    if max_deleted != MIN_ID:
        stream.max_deleted_id = max_deleted
    _dirty(db)  # Redis 7.0 does not signal this change to WATCH
    db.notify(events.STREAM, "xsetid", key)
    return "OK"


# --------------------------------------------------------------------------- XRANGE, XREVRANGE


def _range(client, key: bytes, start: bytes, end: bytes, options: tuple[bytes, ...], reverse: bool):
    first, last = _range_start(start), _range_end(end)
    count = None
    i = 0
    while i < len(options):
        if keyword(options[i]) == b"COUNT" and i + 1 < len(options):
            count = max(integer(options[i + 1]), 0)
            i += 2
        else:
            raise ReplyError(SYNTAX_ERROR)
    stream = get_stream(client.db, key, read=True)
    if stream is None:
        return []
    if count == 0:
        return NULL_ARRAY  # COUNT 0 (or negative) answers a null array, as in Redis
    return _entries(stream.range(first, last, count or 0, reverse))


_RANGE_COMPLEXITY = ("O(N) with N being the number of elements being returned. If N is constant (e.g. always "
                     "asking for the first 10 elements with COUNT), you can consider it O(1).")


@_stream("xrange", arity=-4, flags="readonly", keys=[KeySpec(1, "RO access")], since="5.0.0",
         summary="Return a range of elements in a stream, with IDs matching the specified IDs interval",
         complexity=_RANGE_COMPLEXITY)
def xrange(client, key: bytes, start: bytes, end: bytes, *options: bytes):
    return _range(client, key, start, end, options, reverse=False)


@_stream("xrevrange", arity=-4, flags="readonly", keys=[KeySpec(1, "RO access")], since="5.0.0",
         summary="Return a range of elements in a stream, with IDs matching the specified IDs interval, in "
                 "reverse order (from greater to smaller IDs) compared to XRANGE",
         complexity=_RANGE_COMPLEXITY.replace("being returned", "returned"))
def xrevrange(client, key: bytes, end: bytes, start: bytes, *options: bytes):
    return _range(client, key, start, end, options, reverse=True)


# --------------------------------------------------------------------------- reading for groups


def _has_tombstones_from(stream: Stream, start: tuple[int, int]) -> bool:
    """Whether an entry at or after ``start`` was deleted (streamRangeHasTombstones):
    then a group's read counter cannot simply count on."""
    deleted = stream.max_deleted_id
    if not stream.length or deleted == MIN_ID or stream.first_id > deleted:
        return False
    return start <= deleted


def entries_read_at(stream: Stream, entry_id: tuple[int, int]) -> int:
    """How many entries were ever added up to ``entry_id``, when the counters tell
    (streamEstimateDistanceFromFirstEverEntry); `UNKNOWN` otherwise."""
    if not stream.entries_added:
        return 0
    if not stream.length and entry_id <= stream.last_id:
        return stream.entries_added
    if entry_id == stream.last_id:
        return stream.entries_added
    if entry_id > stream.last_id:
        return UNKNOWN
    if stream.max_deleted_id == MIN_ID or stream.max_deleted_id < stream.first_id:
        if entry_id < stream.first_id:
            return stream.entries_added - stream.length
        if entry_id == stream.first_id:
            return stream.entries_added - stream.length + 1
    return UNKNOWN


def group_lag(stream: Stream, group) -> int | None:
    """Entries the group has yet to read (XINFO's lag); None when it cannot be told."""
    if not stream.entries_added:
        return 0
    if group.entries_read != UNKNOWN and not _has_tombstones_from(stream, group.last_id):
        return stream.entries_added - group.entries_read
    entries_read = entries_read_at(stream, group.last_id)
    return None if entries_read == UNKNOWN else stream.entries_added - entries_read


def _consumer(db, key: bytes, group, name: bytes, now: int) -> Consumer:
    """The group's consumer ``name``, created (and announced) if new; seen now."""
    consumer = group.consumers.get(name)
    if consumer is None:
        consumer = group.consumers[name] = Consumer(name, now)
        db.notify(events.STREAM, "xgroup-createconsumer", key)
        _dirty(db)
    consumer.seen_time = now
    return consumer


def _deliver(stream: Stream, group, consumer: Consumer, start, count: int, noack: bool, now: int,
             key: bytes = b"", group_name: bytes = b"", ops: list | None = None) -> list:
    """New entries from ``start`` for a consumer (streamReplyWithRange with a group):
    the group's last ID and read counter move on, and each entry joins the pending
    lists, taken from whoever had it, unless NOACK. What replicas must do to match is
    appended to ``ops``: an XCLAIM per entry, or with NOACK the group's new last ID."""
    found = stream.range(start, MAX_ID, count)
    for entry_id, _fields in found:
        if entry_id > group.last_id:
            if group.entries_read != UNKNOWN and not _has_tombstones_from(stream, entry_id):
                group.entries_read += 1
            elif stream.entries_added:
                group.entries_read = entries_read_at(stream, entry_id)
            group.last_id = entry_id
        if noack:
            continue
        pending = group.pending.get(entry_id)
        if pending is None:
            pending = PendingEntry(consumer, now)
            group.pending.add(entry_id, pending)
        else:  # delivered before (XGROUP SETID moved back): it changes hands
            pending.consumer.pending.remove(entry_id)
            pending.consumer, pending.delivery_time, pending.delivery_count = consumer, now, 1
        consumer.pending.add(entry_id, pending)
        if ops is not None:
            ops.append(_xclaim_command(key, group_name, group, entry_id, pending))
    if noack and found and ops is not None:
        ops.append(_setid_command(key, group_name, group))
    return _entries(found)


def _setid_command(key: bytes, group_name: bytes, group) -> list[bytes]:
    """The XGROUP SETID that gives a replica the group's last ID and read counter."""
    return [b"XGROUP", b"SETID", key, group_name, format_id(group.last_id), b"ENTRIESREAD", b"%d" % group.entries_read]


def _xclaim_command(key: bytes, group_name: bytes, group, entry_id, pending: PendingEntry) -> list[bytes]:
    """The XCLAIM that gives a replica this pending entry exactly as we have it
    (Redis: streamPropagateXCLAIM); FORCE creates it, JUSTID leaves its count alone."""
    return [b"XCLAIM", key, group_name, pending.consumer.name, b"0", format_id(entry_id),
            b"TIME", b"%d" % pending.delivery_time, b"RETRYCOUNT", b"%d" % pending.delivery_count,
            b"FORCE", b"JUSTID", b"LASTID", format_id(group.last_id)]


def _history(stream: Stream, consumer: Consumer, start, count: int, now: int) -> list:
    """The consumer's own pending entries from ``start``: each delivered once more; an
    entry deleted since is listed with a null instead of its fields."""
    reply = []
    for entry_id in consumer.pending.ids_from(start):
        if count and len(reply) == count:
            break
        fields = stream.get(entry_id)
        if fields is None:
            reply.append((format_id(entry_id), NULL_ARRAY))
            continue
        pending = consumer.pending.get(entry_id)
        pending.delivery_time = now
        pending.delivery_count += 1
        reply.append((format_id(entry_id), fields))
    return reply


def _streams_reply(client, served: list[tuple[bytes, list]]):
    """XREAD's answer: [[key, entries], ...] in RESP2, a map of key to entries in RESP3."""
    if client.protocol == 2:
        return [[key, entries] for key, entries in served]
    return dict(served)


# --------------------------------------------------------------------------- XREAD, XREADGROUP


def _block(client, keys: list[bytes], attempt, timeout: float | None):
    """Wait until ``attempt(key)`` answers for one of ``keys``. Readers do not compete:
    one that cannot be served does not hold up those behind it."""
    db = client.db

    def attempt_for(ready):
        if ready is None:
            return None  # the command already found nothing to read
        return attempt(ready[1])

    watched = [(db.index, key) for key in keys]
    return client.server.keyspace.blocked.wait(client, watched, attempt_for, timeout, competes=False)


class _ReadArguments:
    """XREAD's and XREADGROUP's options, keys and IDs."""

    __slots__ = ("block", "timeout", "count", "group", "consumer", "noack", "keys", "ids")

    def __init__(self):
        self.block = self.noack = False
        self.timeout = None
        self.count = 0
        self.group = self.consumer = None
        self.keys: list[bytes] = []
        self.ids: list[bytes] = []


def _read_arguments(args: tuple[bytes, ...], xreadgroup: bool) -> _ReadArguments:
    parsed = _ReadArguments()
    streams_at = None
    i = 0
    while i < len(args):
        more = len(args) - i - 1
        word = keyword(args[i])
        if word == b"BLOCK" and more:
            i += 1
            parsed.block, parsed.timeout = True, timeout_seconds(args[i], milliseconds=True)
        elif word == b"COUNT" and more:
            i += 1
            parsed.count = max(integer(args[i]), 0)
        elif word == b"STREAMS" and more:
            streams_at = i + 1
            if (len(args) - streams_at) % 2:
                raise ReplyError("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be "
                                 "specified.")
            break
        elif word == b"GROUP" and more >= 2:
            if not xreadgroup:
                raise ReplyError("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
            parsed.group, parsed.consumer = args[i + 1], args[i + 2]
            i += 2
        elif word == b"NOACK":
            if not xreadgroup:
                raise ReplyError("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
            parsed.noack = True
        else:
            raise ReplyError(SYNTAX_ERROR)
        i += 1
    if streams_at is None:
        raise ReplyError(SYNTAX_ERROR)
    if xreadgroup and parsed.group is None:
        raise ReplyError("ERR Missing GROUP option for XREADGROUP")
    half = (len(args) - streams_at) // 2
    parsed.keys = list(args[streams_at:streams_at + half])
    parsed.ids = list(args[streams_at + half:])
    return parsed


def _read(client, args: tuple[bytes, ...], xreadgroup: bool):
    """XREAD and XREADGROUP (Redis' xreadCommand serves both)."""
    parsed = _read_arguments(args, xreadgroup)
    if parsed.block and client.in_script:  # a script cannot wait, and Redis says so
        name = client.argv[0].decode("utf-8", "surrogateescape")
        raise ReplyError(f"ERR {name} command is not allowed with BLOCK option from scripts")
    db = client.db
    # Resolve every ID first, against the streams as they are now ("$" included).
    after: list[tuple[int, int] | None] = []  # None: XREADGROUP's ">"
    groups = []
    for key, arg in zip(parsed.keys, parsed.ids):
        stream = get_stream(db, key, read=True)
        if xreadgroup:
            group = None if stream is None else stream.groups.get(parsed.group)
            if group is None:
                raise ReplyError(f"NOGROUP No such key '{_name(key)}' or consumer group '{_name(parsed.group)}' in "
                                 "XREADGROUP with GROUP option")
            groups.append(group)
        word = c_string(arg)
        if word == b"$":
            if xreadgroup:
                raise ReplyError("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the "
                                 "history of this consumer by specifying a proper ID, or use the > ID to get new "
                                 "messages. The $ ID would just return an empty result set.")
            after.append(MIN_ID if stream is None else stream.last_id)
        elif word == b">":
            if not xreadgroup:
                raise ReplyError("ERR The > ID can be specified only when calling XREADGROUP using the GROUP "
                                 "<group> <consumer> option.")
            after.append(None)
        else:
            entry_id = parse_id(arg, strict=True)
            # Redis marks ">" with the greatest ID, so that ID written out means ">" too.
            after.append(None if xreadgroup and entry_id == MAX_ID else entry_id)
    now = now_ms()
    served = []
    ops: list[list[bytes]] = []  # what replicas are sent instead of XREADGROUP
    for i, key in enumerate(parsed.keys):
        stream = db.lookup_read(key)  # Redis looks each key up a second time here
        if stream is None:
            continue
        start = after[i]
        if xreadgroup:
            # The consumer comes to be when it is served (Redis 7.0), not before.
            group = groups[i]
            if start is not None:  # an ID, not ">": the consumer's own history
                consumer = _consumer(db, key, group, parsed.consumer, now)
                start = increment_id(start) or MIN_ID
                served.append((key, _history(stream, consumer, start, parsed.count, now)))
                _dirty(db)
            elif stream.length and stream.last_entry_id() > group.last_id:
                if parsed.noack and parsed.consumer not in group.consumers:
                    ops.append([b"XGROUP", b"CREATECONSUMER", key, parsed.group, parsed.consumer])
                consumer = _consumer(db, key, group, parsed.consumer, now)
                start = increment_id(group.last_id)
                served.append((key, _deliver(stream, group, consumer, start, parsed.count, parsed.noack, now,
                                             key, parsed.group, ops)))
                _dirty(db)
        elif stream.length and stream.last_entry_id() > start:
            served.append((key, _entries(stream.range(increment_id(start), MAX_ID, parsed.count))))
    if xreadgroup:
        # Reading one's history changes delivery counts but sends nothing, as in Redis.
        propagate_as(client, *ops)
    if served:
        return _streams_reply(client, served)
    if not parsed.block:
        return NULL_ARRAY
    count = parsed.count or BLOCKED_READ_COUNT
    waited = {}  # key -> the ID to read after; a key named twice keeps its first ID
    for key, start in zip(parsed.keys, after):
        waited.setdefault(key, start)

    def attempt(key: bytes):
        stream = db.lookup(key)
        if xreadgroup:
            return _serve_group_reader(client, db, key, stream, parsed, count)
        if not isinstance(stream, Stream) or stream.last_id <= waited[key]:
            return None
        return _streams_reply(client, [(key, _entries(stream.range(increment_id(waited[key]), MAX_ID, count)))])

    return NULL_ARRAY if (result := _block(client, list(waited), attempt, parsed.timeout)) is None else result


def _serve_group_reader(client, db, key: bytes, stream, parsed: _ReadArguments, count: int):
    """What a blocked XREADGROUP gets when ``key`` is signalled: new entries, or an
    error once the stream or the group is gone, or None to keep waiting."""
    if not isinstance(stream, Stream):
        return ReplyError("UNBLOCKED the stream key no longer exists")
    group = stream.groups.get(parsed.group)
    if group is None:
        return ReplyError("NOGROUP the consumer group this client was blocked on no longer exists")
    if stream.last_id <= group.last_id:
        return None
    now = now_ms()
    ops: list[list[bytes]] = []
    if parsed.noack and parsed.consumer not in group.consumers:
        ops.append([b"XGROUP", b"CREATECONSUMER", key, parsed.group, parsed.consumer])
    consumer = _consumer(db, key, group, parsed.consumer, now)
    # Served after waiting, the read itself counts no change (Redis' serveClientsBlockedOnStreamKey).
    entries = _deliver(stream, group, consumer, increment_id(group.last_id), count, parsed.noack, now, key,
                       parsed.group, ops)
    db.keyspace.propagation.replace(*ops)
    return _streams_reply(client, [(key, entries)])


_XREAD_KEYS = [KeySpec(1, "RO access", last=-1, keyword="STREAMS", limit=2)]


@_stream("xread", arity=-4, flags="readonly blocking movablekeys", keys=_XREAD_KEYS, since="5.0.0",
         summary="Return never seen elements in multiple streams, with IDs greater than the ones reported by the "
                 "caller for each stream. Can block.",
         complexity="For each stream mentioned: O(N) with N being the number of elements being returned, it means "
                    "that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay "
                    "O(M) time in order to serve the M clients blocked on the stream getting new data.")
def xread(client, *args: bytes):
    return _read(client, args, xreadgroup=False)


@_stream("xreadgroup", arity=-7, flags="write blocking movablekeys",
         keys=[KeySpec(4, "RO access", last=-1, keyword="STREAMS", limit=2)], since="5.0.0",
         summary="Return new entries from a stream using a consumer group, or access the history of the pending "
                 "entries for a given consumer. Can block.",
         complexity="For each stream mentioned: O(M) with M being the number of elements returned. If M is constant "
                    "(e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the "
                    "other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients "
                    "blocked on the stream getting new data.")
def xreadgroup(client, *args: bytes):
    return _read(client, args, xreadgroup=True)


# --------------------------------------------------------------------------- XGROUP

container("xgroup", group="stream", since="5.0.0", summary="A container for consumer groups commands")


def _xgroup(name: str, **kwargs):
    return command(name, parent="xgroup", group="stream", acl="stream", **kwargs)


def _group_options(client, options: tuple[bytes, ...], create: bool) -> tuple[bool, int]:
    """CREATE's MKSTREAM and ENTRIESREAD, SETID's ENTRIESREAD -> (mkstream, entries read)."""
    mkstream, entries_read = False, UNKNOWN
    i = 0
    while i < len(options):
        word = keyword(options[i])
        if create and word == b"MKSTREAM":
            mkstream = True
            i += 1
        elif word == b"ENTRIESREAD" and i + 1 < len(options):
            entries_read = integer(options[i + 1])
            if entries_read < 0 and entries_read != UNKNOWN:
                raise ReplyError("ERR value for ENTRIESREAD must be positive or -1")
            i += 2
        else:
            raise _subcommand_error(client)
    return mkstream, entries_read


def _group_stream(db, key: bytes, must_exist: bool = True) -> Stream | None:
    stream = get_stream(db, key)
    if stream is None and must_exist:
        raise ReplyError("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to "
                         "use the MKSTREAM option to create an empty stream automatically.")
    return stream


def _existing_group(stream: Stream, key: bytes, name: bytes):
    group = stream.groups.get(name)
    if group is None:
        raise ReplyError(f"NOGROUP No such consumer group '{_name(name)}' for key name '{_name(key)}'")
    return group


@_xgroup("create", arity=-5, flags="write denyoom", keys=[KeySpec(2, "RW insert")], since="5.0.0",
         summary="Create a consumer group.")
def xgroup_create(client, key: bytes, name: bytes, start: bytes, *options: bytes):
    mkstream, entries_read = _group_options(client, options, create=True)
    db = client.db
    stream = _group_stream(db, key, must_exist=not mkstream)
    if len(options) > 3:
        raise _subcommand_error(client)
    if c_string(start) == b"$":
        last_id = MIN_ID if stream is None else stream.last_id
    else:
        last_id = parse_id(start, strict=True)
    if stream is None:
        stream = Stream()
        db.set(key, stream, changes=0)  # MKSTREAM: only the group counts, as in Redis
    if name in stream.groups:
        raise ReplyError("BUSYGROUP Consumer Group name already exists")
    stream.groups[name] = ConsumerGroup(last_id, entries_read)
    _dirty(db)
    db.notify(events.STREAM, "xgroup-create", key)
    return "OK"


@_xgroup("setid", arity=-5, flags="write", keys=[KeySpec(2, "RW update")], since="5.0.0",
         summary="Set a consumer group to an arbitrary last delivered ID value.")
def xgroup_setid(client, key: bytes, name: bytes, start: bytes, *options: bytes):
    _mkstream, entries_read = _group_options(client, options, create=False)
    db = client.db
    stream = _group_stream(db, key)
    group = _existing_group(stream, key, name)
    if len(options) not in (0, 2):
        raise _subcommand_error(client)
    group.last_id = stream.last_id if c_string(start) == b"$" else parse_id(start)
    group.entries_read = entries_read
    _dirty(db)
    db.notify(events.STREAM, "xgroup-setid", key)
    return "OK"


@_xgroup("destroy", arity=4, flags="write", keys=[KeySpec(2, "RW delete")], since="5.0.0",
         summary="Destroy a consumer group.",
         complexity="O(N) where N is the number of entries in the group's pending entries list (PEL).")
def xgroup_destroy(client, key: bytes, name: bytes):
    db = client.db
    stream = _group_stream(db, key)
    if stream.groups.pop(name, None) is None:
        return 0
    _dirty(db)
    db.notify(events.STREAM, "xgroup-destroy", key)
    db.signal_ready(key)  # its blocked readers get a NOGROUP error
    return 1


@_xgroup("createconsumer", arity=5, flags="write denyoom", keys=[KeySpec(2, "RW insert")], since="6.2.0",
         summary="Create a consumer in a consumer group.")
def xgroup_createconsumer(client, key: bytes, name: bytes, consumer: bytes):
    db = client.db
    group = _existing_group(_group_stream(db, key), key, name)
    if consumer in group.consumers:
        return 0
    _consumer(db, key, group, consumer, now_ms())
    return 1


@_xgroup("delconsumer", arity=5, flags="write", keys=[KeySpec(2, "RW delete")], since="5.0.0",
         summary="Delete a consumer from a consumer group.")
def xgroup_delconsumer(client, key: bytes, name: bytes, consumer: bytes):
    db = client.db
    group = _existing_group(_group_stream(db, key), key, name)
    gone = group.consumers.pop(consumer, None)
    if gone is None:
        return 0
    for entry_id in gone.pending.ids_from():
        group.pending.remove(entry_id)
    _dirty(db)
    db.notify(events.STREAM, "xgroup-delconsumer", key)
    return len(gone.pending)


@_xgroup("help", arity=2, flags="loading stale", since="5.0.0",
         summary="Show helpful text about the different subcommands")
def xgroup_help(client):
    return [
        "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
        "HELP",
        "    Prints this help.",
    ]


# --------------------------------------------------------------------------- XACK, XPENDING


def _read_group(db, key: bytes, name: bytes):
    """The group ``name`` of the stream at ``key`` (looked up as a read), or None."""
    stream = get_stream(db, key, read=True)
    return stream, (None if stream is None else stream.groups.get(name))


def _no_key_or_group(key: bytes, name: bytes) -> ReplyError:
    return ReplyError(f"NOGROUP No such key '{_name(key)}' or consumer group '{_name(name)}'")


@_stream("xack", arity=-4, flags="write fast", keys=[KeySpec(1, "RW update")], since="5.0.0",
         summary="Marks a pending message as correctly processed, effectively removing it from the pending entries "
                 "list of the consumer group. Return value of the command is the number of messages successfully "
                 "acknowledged, that is, the IDs we were actually able to resolve in the PEL.",
         complexity="O(1) for each message ID processed.")
def xack(client, key: bytes, name: bytes, *ids: bytes):
    db = client.db
    _stream_value, group = _read_group(db, key, name)
    if group is None:
        return 0  # nothing to acknowledge, before the IDs are read
    acknowledged = 0
    for entry_id in [parse_id(arg, strict=True) for arg in ids]:  # all or nothing
        pending = group.pending.remove(entry_id)
        if pending is not None:
            pending.consumer.pending.remove(entry_id)
            acknowledged += 1
    _dirty(db, acknowledged)
    return acknowledged


@_stream("xpending", arity=-3, flags="readonly", keys=[KeySpec(1, "RO access")], tips="nondeterministic_output",
         since="5.0.0",
         summary="Return information and entries from a stream consumer group pending entries list, that are "
                 "messages fetched but never acknowledged.",
         complexity="O(N) with N being the number of elements returned, so asking for a small fixed number of "
                    "entries per call is O(1). O(M), where M is the total number of entries scanned when used with "
                    "the IDLE filter. When the command returns just the summary and the list of consumers is small, "
                    "it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.")
def xpending(client, key: bytes, name: bytes, *args: bytes):
    if args and not 3 <= len(args) <= 6:
        raise ReplyError(SYNTAX_ERROR)
    min_idle = 0
    if args:
        if keyword(args[0]) == b"IDLE":
            min_idle = integer(args[1])
            if len(args) < 5:
                raise ReplyError(SYNTAX_ERROR)  # IDLE needs start, end and count after it
            args = args[2:]
        count = max(integer(args[2]), 0)  # the count first, as Redis reads it
        start, end = _range_start(args[0]), _range_end(args[1])
        consumer_name = args[3] if len(args) > 3 else None
    stream, group = _read_group(client.db, key, name)
    if group is None:
        raise _no_key_or_group(key, name)
    if not args:
        first = group.pending.first()
        if first is None:
            return [0, None, None, NULL_ARRAY]
        owners = [[c.name, b"%d" % len(c.pending)] for c in group.sorted_consumers() if c.pending]
        return [len(group.pending), format_id(first), format_id(group.pending.last()), owners]
    pending_list = group.pending
    if consumer_name is not None:
        consumer = group.consumers.get(consumer_name)
        if consumer is None:
            return []
        pending_list = consumer.pending
    now = now_ms()
    reply = []
    for entry_id in pending_list.ids_from(start, end):
        if len(reply) == count:
            break
        pending = pending_list.get(entry_id)
        idle = now - pending.delivery_time
        if min_idle and idle < min_idle:
            continue
        reply.append([format_id(entry_id), pending.consumer.name, max(idle, 0), pending.delivery_count])
    return reply


# --------------------------------------------------------------------------- XCLAIM, XAUTOCLAIM


def _claim(group, consumer: Consumer, entry_id, pending: PendingEntry) -> None:
    """Give ``pending`` to ``consumer`` (from its owner, if it has one)."""
    if pending.consumer is not consumer:
        if pending.consumer is not None:
            pending.consumer.pending.remove(entry_id)
        consumer.pending.add(entry_id, pending)
        pending.consumer = consumer


def _forget_deleted(group, entry_id) -> None:
    """Drop from the PELs an entry that no longer exists in the stream."""
    pending = group.pending.remove(entry_id)
    if pending is not None and pending.consumer is not None:
        pending.consumer.pending.remove(entry_id)


@_stream("xclaim", arity=-6, flags="write fast", keys=[KeySpec(1, "RW update")], tips="nondeterministic_output",
         since="5.0.0",
         summary="Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered "
                 "to the specified consumer.",
         complexity="O(log N) with N being the number of messages in the PEL of the consumer group.")
def xclaim(client, key: bytes, name: bytes, consumer_name: bytes, min_idle_arg: bytes, *args: bytes):
    db = client.db
    stream, group = _read_group(db, key, name)
    if group is None:
        raise _no_key_or_group(key, name)
    min_idle = max(integer(min_idle_arg, "ERR Invalid min-idle-time argument for XCLAIM"), 0)
    ids = []
    for arg in args:  # IDs up to the first argument that is not one; options follow
        try:
            ids.append(parse_id(arg, strict=True))
        except ReplyError:
            break
    now = now_ms()
    delivery_time = retry_count = None
    force = justid = False
    last_id = MIN_ID
    i = len(ids)
    while i < len(args):
        more = len(args) - 1 - i
        word = keyword(args[i])
        if word == b"FORCE":
            force = True
        elif word == b"JUSTID":
            justid = True
        elif word == b"IDLE" and more:
            i += 1
            delivery_time = now - integer(args[i], "ERR Invalid IDLE option argument for XCLAIM")
        elif word == b"TIME" and more:
            i += 1
            delivery_time = integer(args[i], "ERR Invalid TIME option argument for XCLAIM")
        elif word == b"RETRYCOUNT" and more:
            i += 1
            retry_count = integer(args[i], "ERR Invalid RETRYCOUNT option argument for XCLAIM")
        elif word == b"LASTID" and more:
            i += 1
            last_id = parse_id(args[i], strict=True)
        else:
            raise ReplyError(f"ERR Unrecognized XCLAIM option '{_name(args[i])}'")
        i += 1
    ops: list[list[bytes]] = []  # what replicas are sent: an XCLAIM per entry that changed
    moved_last_id = last_id > group.last_id
    if moved_last_id:
        group.last_id = last_id
        _dirty(db)
    if delivery_time is None or not 0 <= delivery_time <= now:
        delivery_time = now  # a time in the future, or none given: now
    consumer = None  # created on the first claim, as in Redis 7.0
    claimed = []
    for entry_id in ids:
        pending = group.pending.get(entry_id)
        if stream.get(entry_id) is None:  # deleted from the stream: forget it
            if pending is not None:
                if pending.consumer is not None:
                    ops.append(_xclaim_command(key, name, group, entry_id, pending))
                _forget_deleted(group, entry_id)
                _dirty(db)
            continue
        if pending is None:
            if not force:
                continue
            pending = PendingEntry(None, now)
            group.pending.add(entry_id, pending)
        if pending.consumer is not None and min_idle and now - pending.delivery_time < min_idle:
            continue
        if consumer is None:
            consumer = _consumer(db, key, group, consumer_name, now)
        _claim(group, consumer, entry_id, pending)
        pending.delivery_time = delivery_time
        if retry_count is not None and retry_count >= 0:
            pending.delivery_count = retry_count
        elif not justid:
            pending.delivery_count += 1
        claimed.append(format_id(entry_id) if justid else _one_entry(stream, entry_id))
        ops.append(_xclaim_command(key, name, group, entry_id, pending))
        _dirty(db)
    if moved_last_id and not ops:  # LASTID alone: the group's new last ID
        ops.append(_setid_command(key, name, group))
    propagate_as(client, *ops)
    return claimed


@_stream("xautoclaim", arity=-6, flags="write fast", keys=[KeySpec(1, "RW delete")], tips="nondeterministic_output",
         since="6.2.0",
         summary="Changes (or acquires) ownership of messages in a consumer group, as if the messages were "
                 "delivered to the specified consumer.",
         complexity="O(1) if COUNT is small.")
def xautoclaim(client, key: bytes, name: bytes, consumer_name: bytes, min_idle_arg: bytes, start_arg: bytes,
               *options: bytes):
    min_idle = max(integer(min_idle_arg, "ERR Invalid min-idle-time argument for XAUTOCLAIM"), 0)
    start = _range_start(start_arg)
    count, justid = 100, False
    i = 0
    while i < len(options):
        word = keyword(options[i])
        if word == b"COUNT" and i + 1 < len(options):
            count = integer(options[i + 1], "ERR COUNT must be > 0")
            if not 1 <= count <= MAX_AUTOCLAIM_COUNT:
                raise ReplyError("ERR COUNT must be > 0")
            i += 1
        elif word == b"JUSTID":
            justid = True
        else:
            raise ReplyError(SYNTAX_ERROR)
        i += 1
    db = client.db
    stream, group = _read_group(db, key, name)
    if group is None:
        raise _no_key_or_group(key, name)
    if count > AUTOCLAIM_ALLOCATION_LIMIT:
        # Redis allocates room for COUNT deleted IDs up front, which a huge COUNT fails.
        raise ReplyError("ERR Insufficient memory, failed allocating transient memory, COUNT too high.")
    now = now_ms()
    consumer = None
    attempts = count * 10
    claimed, deleted = [], []
    ops: list[list[bytes]] = []  # an XCLAIM per entry, as Redis propagates XAUTOCLAIM
    scan = group.pending.ids_from(start)
    next_id = None
    for entry_id in scan:
        if not (attempts and count):
            next_id = entry_id
            break
        attempts -= 1
        pending = group.pending.get(entry_id)
        if stream.get(entry_id) is None:  # deleted from the stream: forget it, and say so
            if pending.consumer is not None:
                ops.append(_xclaim_command(key, name, group, entry_id, pending))
            _forget_deleted(group, entry_id)
            deleted.append(format_id(entry_id))
            count -= 1
            _dirty(db)
            continue
        if min_idle and now - pending.delivery_time < min_idle:
            continue
        if consumer is None:
            consumer = _consumer(db, key, group, consumer_name, now)
        _claim(group, consumer, entry_id, pending)
        pending.delivery_time = now
        if not justid:
            pending.delivery_count += 1
        claimed.append(format_id(entry_id) if justid else _one_entry(stream, entry_id))
        ops.append(_xclaim_command(key, name, group, entry_id, pending))
        count -= 1
        _dirty(db)
    propagate_as(client, *ops)
    # The next call's start: the first pending entry not looked at, or 0-0 at the end.
    return [format_id(next_id or MIN_ID), claimed, deleted]


# --------------------------------------------------------------------------- XINFO

container("xinfo", group="stream", since="5.0.0", summary="A container for stream introspection commands")


def _xinfo(name: str, **kwargs):
    return command(name, parent="xinfo", group="stream", acl="stream", **kwargs)


_XINFO_KEYS = [KeySpec(2, "RO access")]


def _info_stream(db, key: bytes) -> Stream:
    stream = get_stream(db, key, read=True)
    if stream is None:
        raise ReplyError(NO_SUCH_KEY)
    return stream


@_xinfo("stream", arity=-3, flags="readonly", keys=_XINFO_KEYS, since="5.0.0",
        summary="Get information about a stream")
def xinfo_stream(client, key: bytes, *options: bytes):
    stream = _info_stream(client.db, key)
    full, count = bool(options), 10
    if options:
        if len(options) not in (1, 3) or keyword(options[0]) != b"FULL":
            raise _subcommand_error(client)
        if len(options) == 3:
            if keyword(options[1]) != b"COUNT":
                raise _subcommand_error(client)
            count = integer(options[2])
            if count < 0:
                count = 10
    reply = {
        b"length": stream.length,
        b"radix-tree-keys": len(stream.nodes),
        b"radix-tree-nodes": stream.radix_tree_nodes(),
        b"last-generated-id": format_id(stream.last_id),
        b"max-deleted-entry-id": format_id(stream.max_deleted_id),
        b"entries-added": stream.entries_added,
        b"recorded-first-entry-id": format_id(stream.first_id),
    }
    if not full:
        first, last = stream.first_entry_id(), stream.last_entry_id()
        reply[b"groups"] = len(stream.groups)
        reply[b"first-entry"] = None if first is None else _one_entry(stream, first)
        reply[b"last-entry"] = None if last is None else _one_entry(stream, last)
        return reply
    reply[b"entries"] = _entries(stream.range(count=count))
    reply[b"groups"] = [_full_group(stream, name, count) for name in sorted(stream.groups)]
    return reply


def _full_group(stream: Stream, name: bytes, count: int) -> dict:
    """One group in XINFO STREAM FULL, with at most ``count`` pending entries (0: all)."""

    def limited(ids):
        return itertools.islice(ids, count) if count else ids

    group = stream.groups[name]
    pending = [[format_id(entry_id), nack.consumer.name, nack.delivery_time, nack.delivery_count]
               for entry_id in limited(group.pending.ids_from()) for nack in (group.pending.get(entry_id),)]
    consumers = []
    for consumer in group.sorted_consumers():
        own = [[format_id(entry_id), nack.delivery_time, nack.delivery_count]
               for entry_id in limited(consumer.pending.ids_from()) for nack in (consumer.pending.get(entry_id),)]
        consumers.append({b"name": consumer.name, b"seen-time": consumer.seen_time,
                          b"pel-count": len(consumer.pending), b"pending": own})
    return {
        b"name": name,
        b"last-delivered-id": format_id(group.last_id),
        b"entries-read": None if group.entries_read == UNKNOWN else group.entries_read,
        b"lag": group_lag(stream, group),
        b"pel-count": len(group.pending),
        b"pending": pending,
        b"consumers": consumers,
    }


@_xinfo("groups", arity=3, flags="readonly", keys=_XINFO_KEYS, since="5.0.0",
        summary="List the consumer groups of a stream")
def xinfo_groups(client, key: bytes):
    stream = _info_stream(client.db, key)
    reply = []
    for name in sorted(stream.groups):
        group = stream.groups[name]
        reply.append({
            b"name": name,
            b"consumers": len(group.consumers),
            b"pending": len(group.pending),
            b"last-delivered-id": format_id(group.last_id),
            b"entries-read": None if group.entries_read == UNKNOWN else group.entries_read,
            b"lag": group_lag(stream, group),
        })
    return reply


@_xinfo("consumers", arity=4, flags="readonly", keys=_XINFO_KEYS, tips="nondeterministic_output", since="5.0.0",
        summary="List the consumers in a consumer group")
def xinfo_consumers(client, key: bytes, name: bytes):
    stream = _info_stream(client.db, key)
    group = stream.groups.get(name)
    if group is None:
        raise ReplyError(f"NOGROUP No such consumer group '{_name(name)}' for key name '{_name(key)}'")
    now = now_ms()
    return [{b"name": consumer.name, b"pending": len(consumer.pending), b"idle": max(now - consumer.seen_time, 0)}
            for consumer in group.sorted_consumers()]


@_xinfo("help", arity=2, flags="loading stale", since="5.0.0",
        summary="Show helpful text about the different subcommands")
def xinfo_help(client):
    return [
        "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
        "HELP",
        "    Prints this help.",
    ]
