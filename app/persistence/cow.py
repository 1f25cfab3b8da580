"""A point-in-time view of the keyspace that costs no copy: copy-on-write by key.

Redis forks for BGSAVE: the child sees memory as it was at the fork, and the kernel
copies a page only when the parent writes to it. We cannot fork a threaded Python
server, and copying the whole keyspace under the lock stops every client for as long
as the copy takes (and doubles the memory). So the snapshot copies *keys* instead of
pages, and only those that change while it is being written (the idea of Dragonfly's
versioned snapshots):

1. At its start, under the lock, the snapshot notes each database's dicts and the list
   of their keys: a fast copy of references, the instant the file will show.
2. A writer about to change a key (``Database.set``, ``delete``, an expiry, a new
   deadline, or a lookup that may change a list or a hash in place) first calls
   `PointInTime.keep`, which puts the key's value and deadline as they are now aside,
   unless they were put aside already. Strings are immutable: keeping one is keeping
   a reference. Containers are copied, once per key.
3. The writer thread walks the list of keys a chunk at a time, each chunk under the
   lock for a moment: a key put aside gives its kept value, any other key its value in
   the dict, unchanged since the start (anything that changed it would have kept it
   first). Containers are copied in that moment, serialized after it.

FLUSHALL and SWAPDB replace or exchange whole dicts; the snapshot holds the dicts it
started with, so they stay as they were, and keys are kept per dict, not per database
number. Keys created after the start are not in the list, so they are not in the file.

::

    BGSAVE at t0:   keys [a b c d e]     kept {}
    t1 SET b x      keys [a b c d e]     kept {b: old b}       (b's old value put aside)
    walker          a (dict)  b (kept)  c (dict) ...           every value as at t0
    t2 SET a y      a already written: kept {a: ...} too, never read (a few wasted copies,
                    not a wrong file)

The keyspace asks for this only while a snapshot runs (``Keyspace.snapshots`` is
empty otherwise): one test of an empty list per write the rest of the time.
"""

from __future__ import annotations

import sys

from app.store.keyspace import copy_value
from app.store.zset import SortedSet

CHUNK_KEYS = 512  # keys read per hold of the lock: short enough that no client waits long
# While a snapshot is written, its thread serializes without a pause, and a client's
# thread must take the GIL from it (and from the thread sending the file to a replica):
# Python makes a waiting thread wait a whole switch interval (5 ms by default) before
# the holder lets go, once per contender. A shorter interval while any snapshot runs
# halved the worst PING during a full sync of a million keys (35-42 ms -> 17-22 ms:
# `bench/snapshot_pauses.py --resync --real-replica`); the default comes back after.
SNAPSHOT_SWITCH_INTERVAL = 0.001


class _Part:
    """One database's dicts as the snapshot started, and what was put aside since."""

    __slots__ = ("index", "data", "expires", "keys", "expires_count", "kept")

    def __init__(self, index: int, data: dict, expires: dict):
        self.index = index
        self.data = data
        self.expires = expires
        self.keys = list(data)
        self.expires_count = len(expires)
        self.kept: dict[bytes, tuple[object, int | None]] = {}


class PointInTime:
    """The keyspace at the instant this was made (the caller holds the lock), readable
    later, a chunk of keys at a time, while clients go on writing."""

    def __init__(self, keyspace, functions=()):
        self.keyspace = keyspace
        self.functions = list(functions)  # the libraries' code: a few small bytes objects
        self.parts = [_Part(db.index, db.data, db.expires) for db in keyspace.databases if db.data]
        self._by_dict = {id(part.data): part for part in self.parts}
        if not keyspace.snapshots:
            keyspace.switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(SNAPSHOT_SWITCH_INTERVAL)
        keyspace.snapshots.append(self)

    def keep(self, data: dict, expires: dict, key: bytes, copy: bool) -> None:
        """``key`` of the dict ``data`` is about to change: put its value and deadline
        aside, as they are now, if the snapshot may still need them. ``copy`` for a
        change made in place (the caller may change a container it looks up)."""
        part = self._by_dict.get(id(data))
        if part is None or key in part.kept:
            return
        value = data.get(key)
        if value is None:
            return  # created after the snapshot started: not in it
        part.kept[key] = (copy_value(value) if copy else value, expires.get(key))

    def databases(self) -> list[tuple[int, _Items, _Deadlines]]:
        """What `rdb.dump` writes: (index, key -> value, key -> deadline) per database,
        each read lazily, a chunk at a time under the keyspace lock."""
        views = []
        for part in self.parts:
            deadlines = _Deadlines(part.expires_count)
            views.append((part.index, _Items(self.keyspace.lock, part, deadlines), deadlines))
        return views

    def finish(self) -> None:
        """The file is written: writers stop putting values aside (the caller holds the lock)."""
        snapshots = self.keyspace.snapshots
        if self in snapshots:
            snapshots.remove(self)
            if not snapshots:
                sys.setswitchinterval(self.keyspace.switch_interval)
        for part in self.parts:
            part.kept = {}


class _Deadlines:
    """The deadlines of the keys handed to `rdb.dump` and not yet written, for its
    ``expires.get`` (it may take several chunks of keys before it asks): each is asked
    for once, and forgotten then."""

    __slots__ = ("count", "pending")

    def __init__(self, count: int):
        self.count = count
        self.pending: dict[bytes, int] = {}

    def __len__(self) -> int:
        return self.count

    def get(self, key: bytes, default=None):
        return self.pending.pop(key, default)


class _Items:
    """A database's keys and values as the snapshot started, for `rdb.dump`'s
    ``data.items()``."""

    __slots__ = ("lock", "part", "deadlines")

    def __init__(self, lock, part: _Part, deadlines: _Deadlines):
        self.lock = lock
        self.part = part
        self.deadlines = deadlines

    def __len__(self) -> int:
        return len(self.part.keys)

    def items(self):
        part = self.part
        keys, data, expires, kept = part.keys, part.data, part.expires, part.kept
        for start in range(0, len(keys), CHUNK_KEYS):
            chunk = []
            deadlines = {}
            with self.lock:
                for key in keys[start:start + CHUNK_KEYS]:
                    saved = kept.pop(key, None)
                    if saved is not None:
                        value, deadline = saved
                    else:
                        value, deadline = data[key], expires.get(key)
                        if value.__class__ is not bytes:
                            # Still the live value: what is written must not change
                            # once the lock is let go.
                            value = _frozen(value)
                    chunk.append((key, value))
                    if deadline is not None:
                        deadlines[key] = deadline
            self.deadlines.pending.update(deadlines)
            yield from chunk


def _frozen(value):
    """A copy of a live container to serialize outside the lock (a sorted set as its
    pairs in order, as `rdb.take_snapshot` does: cheaper than a second skip list)."""
    if value.__class__ is SortedSet:
        from app.persistence.rdb import FrozenSortedSet

        return FrozenSortedSet(value)
    return copy_value(value)
