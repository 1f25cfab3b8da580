"""The stream type: entries ordered by ID, and the consumer groups that read them.

An entry ID is two unsigned 64-bit numbers, milliseconds and a sequence number, written
``1526919030474-55``; here it is the tuple ``(ms, seq)``, which Python compares the way
Redis' ``streamCompareID`` does. Every new entry has an ID greater than any before it,
so a stream only ever grows at its tail.

Storage: nodes, as Redis keeps them
    Redis keeps a stream as a radix tree of *listpacks*, each holding up to
    ``stream-node-max-entries`` entries (100) or ``stream-node-max-bytes`` bytes (4096).
    Deleting an entry only marks it deleted (a tombstone) inside its listpack; a
    listpack goes away when its last live entry does. ``XTRIM ... MAXLEN ~ 1000`` and
    ``MINID ~`` remove only whole listpacks, so which entries survive an approximate
    trim depends on where those boundaries fall. To give the same answers, a `Stream`
    here is a list of `StreamNode` s cut exactly where Redis cuts its listpacks: each
    node counts its tombstones and the bytes its listpack would take
    (`listpack_entry_size`), without storing any listpack.

    A node keeps its live entries' IDs in two ``array('Q')`` (16 bytes an entry, no
    object per ID) and their fields and values as one tuple per entry
    ``(field, value, field, value...)``. Entries with the node's first fields share
    those field objects, as Redis' "same fields" flag saves repeating them, and when
    that is a single field the entry is just its value (the commonest shape of all,
    ``XADD s * field value``, then costs no tuple). Finding an ID is a bisection over
    the nodes' first IDs, then one inside the node: O(log n), for ranges, deletes and
    trims alike.

Consumer groups
    A group has a last delivered ID, a read counter, its consumers and its pending
    entries list (PEL): the entries delivered and not yet acknowledged, each a
    `PendingEntry` shared by the group's PEL and its consumer's. Redis keeps groups,
    consumers and PELs in radix trees, so they are listed in byte order of their
    names and IDs; here they are dicts, sorted when listed, and a PEL is a
    `PendingEntries`.
"""

from __future__ import annotations

import bisect
from array import array
from itertools import repeat
from operator import add, itemgetter

from app.numeric import parse_int

UINT64_MAX = 2**64 - 1
MIN_ID = (0, 0)
MAX_ID = (UINT64_MAX, UINT64_MAX)
# A group's read counter when it cannot be known (Redis: SCG_INVALID_ENTRIES_READ).
UNKNOWN = -1

# Listpack sizes (listpack.c): a header of 6 bytes and an end byte; Redis never lets one
# listpack pass 1 GB (STREAM_LISTPACK_MAX_SIZE).
LISTPACK_EMPTY_BYTES = 7
LISTPACK_MAX_SIZE = 1 << 30


def format_id(entry_id: tuple[int, int]) -> bytes:
    return b"%d-%d" % entry_id


def increment_id(entry_id: tuple[int, int]) -> tuple[int, int] | None:
    """The next ID (Redis: streamIncrID); None after the last possible one."""
    ms, seq = entry_id
    if seq < UINT64_MAX:
        return ms, seq + 1
    if ms < UINT64_MAX:
        return ms + 1, 0
    return None


def decrement_id(entry_id: tuple[int, int]) -> tuple[int, int] | None:
    """The previous ID (Redis: streamDecrID); None before 0-0."""
    ms, seq = entry_id
    if seq > 0:
        return ms, seq - 1
    if ms > 0:
        return ms - 1, UINT64_MAX
    return None


# --------------------------------------------------------------------------- listpack sizes


def integer_element_size(value: int) -> int:
    """Bytes of a listpack integer (lpEncodeIntegerGetType), with the one byte of
    back-length every element carries that short (for walking backwards)."""
    if 0 <= value <= 127:
        return 2
    if -4096 <= value <= 4095:
        return 3
    if -32768 <= value <= 32767:
        return 4
    if -8388608 <= value <= 8388607:
        return 5
    if -(2**31) <= value < 2**31:
        return 6
    return 10


def _with_backlen(size: int) -> int:
    """An element's encoding plus its back-length, which takes 1 to 5 bytes."""
    if size <= 127:
        return size + 1
    if size < 16383:
        return size + 2
    if size < 2097151:
        return size + 3
    if size < 268435455:
        return size + 4
    return size + 5


_NUMBER_START = frozenset(b"-0123456789")
_FIRST_BYTE = itemgetter(slice(0, 1))


def string_element_size(data: bytes) -> int:
    """A string is stored as an integer when it reads as one exactly (lpStringToInt64)."""
    if data and data[0] in _NUMBER_START:
        value = parse_int(data)
        if value is not None:
            return integer_element_size(value)
    length = len(data)
    if length < 64:
        return length + 2
    return _with_backlen((2 if length < 4096 else 5) + length)


def _int64(value: int) -> int:
    """An unsigned 64-bit difference as C stores it in an int64_t (IDs' deltas)."""
    value &= UINT64_MAX
    return value - 2**64 if value >= 2**63 else value


def listpack_entry_size(entry_id, master_id, fields: tuple, same_fields: bool) -> int:
    """Bytes an entry adds to its listpack (streamAppendItem): flags, the ID as deltas
    from the node's first ID, the number of fields and the field names unless they are
    the node's own, the values, and the count of elements for walking backwards."""
    numfields = len(fields) // 2
    size = integer_element_size(2 if same_fields else 0)
    size += integer_element_size(_int64(entry_id[0] - master_id[0]))
    size += integer_element_size(_int64(entry_id[1] - master_id[1]))
    if same_fields:
        size += sum(string_element_size(value) for value in fields[1::2])
        elements = numfields + 3
    else:
        size += integer_element_size(numfields)
        size += sum(string_element_size(item) for item in fields)
        elements = 2 * numfields + 4
    return size + integer_element_size(elements)


# --------------------------------------------------------------------------- nodes


class StreamNode:
    """One of Redis' listpacks: consecutive entries, the first one's ID as its key.

    Only live entries are stored; ``deleted`` counts the tombstones Redis would still
    carry, and ``last`` is the last ID ever placed here, tombstone or not (MINID
    trimming reads it). ``size`` is the listpack's byte size less its two counters.
    An entry is its fields tuple, or only its value when its one field is the node's
    (`fields_between` gives tuples back).
    """

    __slots__ = ("master", "master_fields", "ms", "seq", "entries", "deleted", "last", "size")

    def __init__(self, master: tuple[int, int], fields: tuple):
        self.master = master
        self.master_fields = fields[0::2]
        self.ms = array("Q")
        self.seq = array("Q")
        self.entries: list[tuple | bytes] = []
        self.deleted = 0
        self.last = master
        # Header, then the master entry: field count, field names, a zero terminator.
        self.size = (LISTPACK_EMPTY_BYTES + integer_element_size(len(self.master_fields))
                     + sum(string_element_size(f) for f in self.master_fields) + integer_element_size(0))

    def __len__(self) -> int:
        return len(self.entries)

    def listpack_bytes(self) -> int:
        return self.size + integer_element_size(len(self.entries)) + integer_element_size(self.deleted)

    def add(self, entry_id: tuple[int, int], fields: tuple) -> None:
        same = fields[0::2] == self.master_fields
        self.size += listpack_entry_size(entry_id, self.master, fields, same)
        self.ms.append(entry_id[0])
        self.seq.append(entry_id[1])
        if same and len(fields) == 2:
            self.entries.append(fields[1])
        elif same:
            # Share the field name objects with the node, as Redis shares the names.
            shared = list(fields)
            shared[0::2] = self.master_fields
            self.entries.append(tuple(shared))
        else:
            self.entries.append(fields)
        self.last = entry_id

    def fields_between(self, low: int, high: int) -> list[tuple]:
        """The fields tuples of the entries at positions ``low`` to ``high - 1``."""
        items = self.entries[low:high]
        if len(self.master_fields) == 1:  # some entries may be bare values
            name = self.master_fields[0]
            items = [item if item.__class__ is tuple else (name, item) for item in items]
        return items

    def id_at(self, index: int) -> tuple[int, int]:
        return self.ms[index], self.seq[index]

    def first_at_or_after(self, entry_id: tuple[int, int]) -> int:
        """The index of the first entry with an ID >= ``entry_id`` (len(self) if none)."""
        ms, seq = entry_id
        low = bisect.bisect_left(self.ms, ms)
        high = bisect.bisect_right(self.ms, ms, low)
        return bisect.bisect_left(self.seq, seq, low, high)

    def first_after(self, entry_id: tuple[int, int]) -> int:
        """The index of the first entry with an ID > ``entry_id``."""
        ms, seq = entry_id
        low = bisect.bisect_left(self.ms, ms)
        high = bisect.bisect_right(self.ms, ms, low)
        return bisect.bisect_right(self.seq, seq, low, high)

    def remove_first(self, count: int) -> None:
        """Mark the first ``count`` live entries deleted."""
        del self.ms[:count], self.seq[:count], self.entries[:count]
        self.deleted += count

    def remove_at(self, index: int) -> None:
        del self.ms[index], self.seq[index], self.entries[index]
        self.deleted += 1

    def copy(self) -> StreamNode:
        twin = StreamNode.__new__(StreamNode)
        for name in StreamNode.__slots__:
            setattr(twin, name, getattr(self, name))
        twin.ms, twin.seq, twin.entries = array("Q", self.ms), array("Q", self.seq), list(self.entries)
        return twin


# --------------------------------------------------------------------------- groups


class PendingEntry:
    """A delivered, unacknowledged entry (Redis: streamNACK): who has it, since when
    (Unix ms), and how many times it was delivered. ``consumer`` is None only for an
    entry XCLAIM FORCE creates, until it is given to the claiming consumer."""

    __slots__ = ("consumer", "delivery_time", "delivery_count")

    def __init__(self, consumer: Consumer | None, delivery_time: int, delivery_count: int = 1):
        self.consumer = consumer
        self.delivery_time = delivery_time
        self.delivery_count = delivery_count


class PendingEntries:
    """A pending entries list: entry IDs in order, each with its `PendingEntry`.

    New deliveries have the highest IDs, so adding is an append; acknowledgements come
    in any order, so a removed ID stays in the ordered list until half of it is stale,
    then the list is rebuilt: both are O(1) on average, where a sorted list would move
    every later ID on each removal.
    """

    __slots__ = ("entries", "_order", "_stale")

    def __init__(self):
        self.entries: dict[tuple[int, int], PendingEntry] = {}
        self._order: list[tuple[int, int]] = []
        self._stale = 0

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, entry_id) -> bool:
        return entry_id in self.entries

    def get(self, entry_id) -> PendingEntry | None:
        return self.entries.get(entry_id)

    def add(self, entry_id: tuple[int, int], pending: PendingEntry) -> None:
        if entry_id in self.entries:
            self.entries[entry_id] = pending
            return
        self.entries[entry_id] = pending
        order = self._order
        if not order or entry_id > order[-1]:
            order.append(entry_id)
            return
        position = bisect.bisect_left(order, entry_id)
        if order[position] == entry_id:  # a stale copy of this very ID: alive again
            self._stale -= 1
        else:
            order.insert(position, entry_id)

    def remove(self, entry_id: tuple[int, int]) -> PendingEntry | None:
        pending = self.entries.pop(entry_id, None)
        if pending is not None:
            self._stale += 1
            if self._stale > 32 and self._stale > len(self.entries):
                self._order = [i for i in self._order if i in self.entries]
                self._stale = 0
        return pending

    def ids_from(self, start: tuple[int, int] = MIN_ID, end: tuple[int, int] = MAX_ID):
        """The IDs from ``start`` to ``end`` (inclusive) in order. The caller may remove
        IDs meanwhile (a rebuild makes a new list; this one stays as it was), but must
        not add any."""
        order = self._order
        entries = self.entries
        for index in range(bisect.bisect_left(order, start), len(order)):
            entry_id = order[index]
            if entry_id > end:
                return
            if entry_id in entries:
                yield entry_id

    def first(self) -> tuple[int, int] | None:
        return next(self.ids_from(), None)

    def last(self) -> tuple[int, int] | None:
        entries = self.entries
        return next((i for i in reversed(self._order) if i in entries), None)


class Consumer:
    """A consumer of a group: its name, when it last did something (Unix ms), and the
    entries delivered to it and not yet acknowledged."""

    __slots__ = ("name", "seen_time", "pending")

    def __init__(self, name: bytes, now: int):
        self.name = name
        self.seen_time = now
        self.pending = PendingEntries()


class ConsumerGroup:
    """A consumer group: the last ID it delivered, how many entries it has read in all
    (``entries_read``, `UNKNOWN` when that cannot be told), its PEL and consumers."""

    __slots__ = ("last_id", "entries_read", "pending", "consumers")

    def __init__(self, last_id: tuple[int, int], entries_read: int):
        self.last_id = last_id
        self.entries_read = entries_read
        self.pending = PendingEntries()
        self.consumers: dict[bytes, Consumer] = {}

    def sorted_consumers(self) -> list[Consumer]:
        """The consumers in byte order of their names, as Redis' radix tree lists them."""
        return [self.consumers[name] for name in sorted(self.consumers)]

    def copy(self) -> ConsumerGroup:
        twin = ConsumerGroup(self.last_id, self.entries_read)
        for name, consumer in self.consumers.items():
            twin.consumers[name] = Consumer(name, consumer.seen_time)
        for entry_id in self.pending.ids_from():
            pending = self.pending.get(entry_id)
            owner = None if pending.consumer is None else twin.consumers[pending.consumer.name]
            copied = PendingEntry(owner, pending.delivery_time, pending.delivery_count)
            twin.pending.add(entry_id, copied)
            if owner is not None:
                owner.pending.add(entry_id, copied)
        return twin


# --------------------------------------------------------------------------- the stream


class Stream:
    """A Redis stream: its entries in nodes, its counters and its consumer groups.

    Besides the entries, a stream remembers the last ID it generated (``last_id``, which
    XSETID may move past the last entry), how many entries were ever added, the
    greatest ID ever deleted by XDEL and the first entry's ID (``first_id``): XINFO
    reports them, and they let a group's lag be computed without counting.
    Unlike an emptied list, an emptied stream stays in the keyspace.
    """

    __slots__ = ("nodes", "_keys", "length", "last_id", "first_id", "max_deleted_id", "entries_added", "groups",
                 "_radix_nodes")
    TYPE_NAME = "stream"

    def __init__(self):
        self.nodes: list[StreamNode] = []
        self._keys: list[tuple[int, int]] = []  # each node's first ID, for bisection
        self.length = 0
        self.last_id = MIN_ID
        self.first_id = MIN_ID
        self.max_deleted_id = MIN_ID
        self.entries_added = 0
        self.groups: dict[bytes, ConsumerGroup] = {}
        self._radix_nodes: int | None = None  # cached for XINFO; None when stale

    def __len__(self) -> int:
        return self.length

    def encoding(self) -> str:
        return "stream"

    def copy(self) -> Stream:
        """An independent stream with the same entries, counters and groups (COPY)."""
        twin = Stream()
        twin.nodes = [node.copy() for node in self.nodes]
        twin._keys = list(self._keys)
        for name in ("length", "last_id", "first_id", "max_deleted_id", "entries_added"):
            setattr(twin, name, getattr(self, name))
        twin.groups = {name: group.copy() for name, group in self.groups.items()}
        return twin

    # --- adding

    def next_id(self, now: int) -> tuple[int, int] | None:
        """The ID for ``*`` (streamNextID): the time, or the last ID plus one when the
        clock has not passed the last ID's time (so IDs grow even if the clock goes
        back); None once the last possible ID is used."""
        if now > self.last_id[0]:
            return now, 0
        return increment_id(self.last_id)

    def append(self, entry_id: tuple[int, int], fields: tuple, max_bytes: int, max_entries: int) -> None:
        """Add an entry at the tail; ``entry_id`` must be greater than ``last_id``.

        A new node starts where Redis starts a new listpack: when the tail one plus the
        new fields' bytes would reach ``max_bytes``, or it holds ``max_entries`` entries
        counting tombstones (0: no limit).
        """
        tail = self.nodes[-1] if self.nodes else None
        if tail is not None:
            limit = max_bytes if 0 < max_bytes <= LISTPACK_MAX_SIZE else LISTPACK_MAX_SIZE
            if tail.listpack_bytes() + sum(map(len, fields)) >= limit:
                tail = None
            elif max_entries and len(tail) + tail.deleted >= max_entries:
                tail = None
        if tail is None:
            tail = StreamNode(entry_id, fields)
            self.nodes.append(tail)
            self._keys.append(entry_id)
            self._radix_nodes = None
        tail.add(entry_id, fields)
        self.length += 1
        self.entries_added += 1
        self.last_id = entry_id
        if self.length == 1:
            self.first_id = entry_id

    def append_values(self, name: bytes, ms: list[int], seq: list[int], values: list[bytes], max_bytes: int,
                      max_entries: int) -> None:
        """`append` of entries of one field each, all named ``name``, with IDs ``ms[i]-seq[i]``
        (ascending, above ``last_id``): the commonest stream, as a file's node is loaded.

        The nodes come out as `append` would cut and fill them, in a loop that works out
        sizes inline instead of making `append`'s calls per entry. An entry meeting a tail
        node with other master fields goes through `append`."""
        limit = max_bytes if 0 < max_bytes <= LISTPACK_MAX_SIZE else LISTPACK_MAX_SIZE
        if max(map(len, values), default=0) < 64 and _NUMBER_START.isdisjoint(b"".join(map(_FIRST_BYTE, values))):
            sizes = list(map(add, map(len, values), repeat(2)))  # no integer, no long string: at C speed
        else:
            sizes = list(map(string_element_size, values))
        done = 0
        while done < len(values):
            tail = self.nodes[-1] if self.nodes else None
            if tail is not None and tail.master_fields != (name,):
                self.append((ms[done], seq[done]), (name, values[done]), max_bytes, max_entries)
                done += 1
                continue
            filled = done if tail is None else self._fill(tail, name, ms, seq, values, sizes, done, limit, max_entries)
            if filled == done:  # no tail, or a full one
                tail = StreamNode((ms[done], seq[done]), (name, values[done]))
                self.nodes.append(tail)
                self._keys.append(tail.master)
                self._radix_nodes = None
                filled = self._fill(tail, name, ms, seq, values, sizes, done, limit, max_entries)
            done = filled

    def _fill(self, node: StreamNode, name: bytes, ms: list[int], seq: list[int], values: list[bytes],
              sizes: list[int], start: int, limit: int, max_entries: int) -> int:
        """`append_values`' entries from ``start`` added to ``node``, whose master fields
        are just ``name``, until it is full as `append` sees it; where they stopped.

        Each entry is then stored as its bare value, and takes in Redis' listpack its
        flags and count (small integers, 2 bytes each), its two ID differences and its
        value (``sizes``)."""
        master_ms, master_seq = node.master
        size, count, deleted = node.size, len(node.entries), node.deleted
        # What `append` adds to the size to see whether an entry fits: the deleted
        # counter's bytes (the live one's changes) and the fields' lengths.
        added = integer_element_size(deleted) + len(name)
        end = start
        while end < len(values):
            if count and (size + (2 if count < 128 else integer_element_size(count)) + added + len(values[end])
                          >= limit or max_entries and count + deleted >= max_entries):
                break
            ms_difference = ms[end] - master_ms
            seq_difference = seq[end] - master_seq
            size += (4 + sizes[end] + (2 if 0 <= ms_difference < 128 else integer_element_size(_int64(ms_difference)))
                     + (2 if 0 <= seq_difference < 128 else integer_element_size(_int64(seq_difference))))
            count += 1
            end += 1
        if end == start:
            return start
        node.ms.extend(ms[start:end])
        node.seq.extend(seq[start:end])
        node.entries += values[start:end]
        node.size = size
        node.last = (ms[end - 1], seq[end - 1])
        if not self.length:
            self.first_id = (ms[start], seq[start])
        self.length += end - start
        self.entries_added += end - start
        self.last_id = node.last
        return end

    # --- reading

    def _node_index(self, entry_id: tuple[int, int]) -> int:
        """The index of the node that would hold ``entry_id`` (-1: before every node)."""
        return bisect.bisect_right(self._keys, entry_id) - 1

    def range(self, start=MIN_ID, end=MAX_ID, count: int = 0, reverse: bool = False) -> list:
        """Entries with start <= ID <= end as (id, fields), in ID order or reversed; at
        most ``count`` of them unless it is 0.

        Each node's part of the range is found by bisection and taken as slices, so the
        entries are gathered by C loops, not one Python step each."""
        found: list = []
        if start > end or not self.nodes:
            return found
        nodes = self.nodes
        if reverse:
            index = self._node_index(end)
            step = -1
        else:
            index = max(self._node_index(start), 0)
            step = 1
        while 0 <= index < len(nodes):
            node = nodes[index]
            low, high = node.first_at_or_after(start), node.first_after(end)
            if count:
                room = count - len(found)
                low, high = (max(low, high - room), high) if reverse else (low, min(high, low + room))
            ids = zip(node.ms[low:high], node.seq[low:high])
            part = zip(ids, node.fields_between(low, high))
            found.extend(reversed(list(part)) if reverse else part)
            if count and len(found) >= count:
                break
            # The range goes on in the next node only if it ran to this node's edge.
            if (high < len(node)) if not reverse else (low > 0):
                break
            index += step
        return found

    def get(self, entry_id: tuple[int, int]) -> tuple | None:
        """The fields of the live entry ``entry_id``, or None."""
        index = self._node_index(entry_id)
        if index < 0:
            return None
        node = self.nodes[index]
        position = node.first_at_or_after(entry_id)
        if position < len(node) and node.id_at(position) == entry_id:
            return node.fields_between(position, position + 1)[0]
        return None

    def first_entry_id(self) -> tuple[int, int] | None:
        for node in self.nodes:
            if node.entries:
                return node.id_at(0)
        return None

    def last_entry_id(self) -> tuple[int, int] | None:
        """The last live entry's ID (streamLastValidID), which may be below ``last_id``."""
        for node in reversed(self.nodes):
            if node.entries:
                return node.id_at(len(node) - 1)
        return None

    # --- removing

    def _drop_node(self, index: int) -> None:
        del self.nodes[index], self._keys[index]
        self._radix_nodes = None

    def delete(self, entry_id: tuple[int, int]) -> bool:
        """XDEL one entry: False if there is no such live entry. A node whose last live
        entry goes is dropped, tombstones and all, as Redis frees the listpack."""
        index = self._node_index(entry_id)
        if index < 0:
            return False
        node = self.nodes[index]
        position = node.first_at_or_after(entry_id)
        if position == len(node) or node.id_at(position) != entry_id:
            return False
        if len(node) == 1:
            self._drop_node(index)
        else:
            node.remove_at(position)
        self.length -= 1
        if entry_id > self.max_deleted_id:
            self.max_deleted_id = entry_id
        if self.length == 0:
            self.first_id = MIN_ID
        elif entry_id == self.first_id:
            self.first_id = self.first_entry_id()
        return True

    def trim(self, maxlen: int | None = None, minid: tuple[int, int] | None = None, approx: bool = False,
             limit: int = 0) -> int:
        """Remove entries from the head (streamTrim) until at most ``maxlen`` remain, or
        none below ``minid``; return how many went.

        Whole nodes go first. ``approx`` stops at the first node that cannot go whole;
        otherwise that node loses its first entries. ``limit`` (approximate trimming
        only, 0: none) caps the entries removed, counting whole nodes.
        """
        deleted = 0
        while self.nodes:
            if maxlen is not None and self.length <= maxlen:
                break
            node = self.nodes[0]
            live = len(node)
            if limit and deleted + live > limit:
                break
            whole = self.length - live >= maxlen if maxlen is not None else node.last < minid
            if whole:
                self._drop_node(0)
                self.length -= live
                deleted += live
                continue
            if approx:
                break
            if maxlen is not None:
                remove = self.length - maxlen
            else:
                remove = node.first_at_or_after(minid)
            node.remove_first(remove)
            self.length -= remove
            deleted += remove
            break
        if self.length == 0:
            self.first_id = MIN_ID
        elif deleted:
            self.first_id = self.first_entry_id()
        return deleted

    # --- introspection

    def radix_tree_nodes(self) -> int:
        """The node count of Redis' radix tree over the nodes' 16-byte keys (XINFO's
        radix-tree-nodes): a compressed trie, one tree node per branch, per branch's
        child, per run of shared bytes and per key, as rax.c keeps it."""
        if self._radix_nodes is None:
            keys = [ms.to_bytes(8, "big") + seq.to_bytes(8, "big") for ms, seq in self._keys]
            self._radix_nodes = _trie_nodes(keys, 0, len(keys), 0) if keys else 1
        return self._radix_nodes


def _trie_nodes(keys: list[bytes], low: int, high: int, depth: int) -> int:
    """Nodes of the compressed trie holding keys[low:high] (sorted, 16 bytes each, the
    same up to ``depth``), counted from the node at ``depth``."""
    if depth == 16:
        return 1  # the key itself
    first, last = keys[low], keys[high - 1]
    if first[depth] == last[depth]:
        shared = depth
        while shared < 16 and first[shared] == last[shared]:
            shared += 1
        return 1 + _trie_nodes(keys, low, high, shared)  # a compressed node, then its child
    count = 1  # a branching node, then one child per distinct next byte
    while low < high:
        byte = keys[low][depth]
        end = low + 1
        while end < high and keys[end][depth] == byte:
            end += 1
        count += _trie_nodes(keys, low, end, depth + 1)
        low = end
    return count
