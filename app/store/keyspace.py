"""The keyspace: numbered databases of typed values, their deadlines, and the one lock.

Locking
    Every connection has its own thread, and they all share this data. One lock guards
    all of it (`Keyspace.lock`): a command runs from start to end holding it, so each
    command is atomic, as in single-threaded Redis, and no data structure needs a lock of
    its own. Python's GIL already lets only one thread run Python code at a time, so
    finer locks would buy little speed and cost a great deal of reasoning. The lock is a
    plain ``threading.Lock``, not re-entrant: code that runs under it must never try to
    take it again. Commands that wait for a key (BLPOP, XREAD BLOCK) wait on a
    ``threading.Condition`` built on this same lock, which releases it while they sleep
    (`app/store/blocking.py` tells who wakes whom).

Values
    A string is stored as ``bytes``, or as ``bytearray`` once APPEND or SETRANGE has
    changed it in place (so repeated appends do not copy the whole value each time), or
    as `UnencodedString` when Redis would not have stored it as an integer (OBJECT
    ENCODING tells). Other types are objects whose class names their Redis type.

Expiry
    Deadlines (Unix time in milliseconds) live in a map of their own, beside the data, as
    in Redis. A key past its deadline is deleted when it is next looked up (lazy expiry)
    and by `Keyspace.active_expire_cycle`, which a background thread runs ten times a
    second: it samples keys that have deadlines at random and deletes the expired ones,
    repeating while many of the sample had expired, so memory does not fill with keys
    nobody reads again. Random sampling needs a list: `Database` keeps the keys with
    deadlines in a list as well, removing by swapping with the last element.

Access times and memory
    Each key's last access (OBJECT IDLETIME, LRU eviction) is kept in a map beside the
    data, in seconds of a coarse clock; under an LFU policy the same map holds Redis'
    LFU counters instead (app/store/memory.py). While maxmemory is set, a third map holds
    each key's estimated size, updated by every write (`Database.account`), and the
    keyspace their total, which app/eviction.py compares with maxmemory.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from typing import Callable

from app.propagation import Propagation
from app.store import events
from app.store.blocking import BlockedClients
from app.store.memory import entry_size, lfu_new, lfu_touched

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"

# Active expiry, as in Redis' activeExpireCycle: keys sampled per round, the share of
# expired keys in a sample that makes another round worth it, and how long one cycle may
# hold the lock in total (a quarter of the 100 ms period).
EXPIRE_SAMPLE = 20
EXPIRE_REPEAT_IF_STALE = 0.10
EXPIRE_CYCLE_SECONDS = 0.025
EXPIRE_YIELD_SECONDS = 0.002  # how long a cycle may keep clients waiting for the lock
EXPIRE_YIELD_PAUSE = 0.0001  # and the pause that lets them in
EXPIRE_CATCH_UP_SECONDS = 0.005  # the pause before the next cycle when one ran out of time


# SCAN cursors are (snapshot id) * SCAN_POSITIONS + (position in the snapshot).
SCAN_POSITIONS = 2**32
SCAN_SNAPSHOTS = 16  # snapshots kept per database for scans in progress


def now_ms() -> int:
    return int(time.time() * 1000)


class UnencodedString(bytes):
    """A string Redis keeps as it was made, never as an integer: INCRBYFLOAT's "12" is
    an embstr where SET's "12" is an int (OBJECT ENCODING, OBJECT REFCOUNT)."""

    __slots__ = ()


def copy_value(value):
    """An independent copy of a stored value, for COPY (immutable bytes can be shared)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray):
        return bytearray(value)
    return value.copy()


def type_name(value) -> str:
    """The name TYPE reports for a stored value."""
    if isinstance(value, (bytes, bytearray)):
        return "string"
    return value.TYPE_NAME


class Database:
    """One numbered database (SELECT n): keys to values, keys to deadlines."""

    __slots__ = ("index", "keyspace", "data", "expires", "access", "sizes", "_expiring", "_slot", "_scans")

    def __init__(self, index: int, keyspace: Keyspace):
        self.index = index
        self.keyspace = keyspace
        self.data: dict[bytes, object] = {}
        self.expires: dict[bytes, int] = {}  # key -> deadline, Unix time in ms
        self.access: dict[bytes, int] = {}  # key -> last access, Unix seconds (or LFU counter)
        self.sizes: dict[bytes, int] = {}  # key -> estimated bytes, while maxmemory is set
        self._expiring: list[bytes] = []  # the keys of `expires`, for random sampling
        self._slot: dict[bytes, int] = {}  # key -> its index in `_expiring`
        self._scans: dict[int, list[bytes]] = {}  # SCAN snapshots by id, oldest first

    def __len__(self) -> int:
        return len(self.data)

    # --- lookups: every read goes through one of these, so expiry is never forgotten

    def lookup(self, key: bytes, touch: bool = True):
        """The value at ``key``, or None. Deletes the key if its deadline has passed.

        ``touch`` records the access for OBJECT IDLETIME; commands that only inspect a
        key (TYPE, EXISTS, TTL, OBJECT) pass False, as in Redis.
        """
        value = self.data.get(key)
        if value is None:
            return None
        deadline = self.expires.get(key)
        if deadline is not None and deadline <= self.keyspace.now():
            keyspace = self.keyspace
            if keyspace.deletes_expired:
                self._expire(key)
                return None
            # A replica never deletes a key itself: it waits for its master's DEL. Until
            # then its clients see the key as gone, and its master's commands see it as
            # the master does (Redis: expireIfNeeded on a replica).
            if not keyspace.obeying_master:
                return None
        keyspace = self.keyspace
        if keyspace.snapshots and value.__class__ is not bytes:
            self._keep(key, copy=True)  # the caller may change this container in place
        if touch and keyspace.touching:
            if keyspace.lfu:
                self.access[key] = lfu_touched(self.access[key], keyspace.lfu_log_factor, keyspace.lfu_decay_time)
            else:
                self.access[key] = keyspace.clock
        return value

    def lookup_read(self, key: bytes, touch: bool = True, notify: bool = True):
        """`lookup` for a reading command: counts keyspace hits and misses (INFO stats),
        and announces a miss to those who listen for ``keymiss`` events (unless
        ``notify`` is False: OBJECT counts a miss but does not announce it, as in Redis)."""
        value = self.lookup(key, touch)
        keyspace = self.keyspace
        if value is None:
            keyspace.misses += 1
            if notify:
                self.notify(events.KEY_MISS, "keymiss", key)
        else:
            keyspace.hits += 1
        return value

    def exists(self, key: bytes) -> bool:
        return self.lookup(key, touch=False) is not None

    # --- changes: every write goes through one of these, so every change is counted

    def set(self, key: bytes, value, keep_ttl: bool = False, deadline: int | None = None, changes: int = 1) -> None:
        """Store ``value`` at ``key``; an overwrite forgets the old deadline unless ``keep_ttl``.
        ``changes`` is how many changes it counts as for save points (LPUSH of three
        elements onto a new key: three, as in Redis).

        A ``deadline`` given here is stored even if it has passed, as SET ... PXAT does in
        Redis: the key still counts in DBSIZE until a lookup or active expiry deletes it.
        """
        # Redis' setKey looks the key up before it overwrites it, so an old value past
        # its deadline is expired first and counted in expired_keys (MSET, SETEX, RENAME).
        keyspace = self.keyspace
        if keyspace.snapshots:
            self._keep(key, copy=False)
        old_deadline = self.expires.get(key)
        if old_deadline is not None and old_deadline <= keyspace.now() and keyspace.deletes_expired:
            self._expire(key)
            old_deadline = None  # gone with the key
        data = self.data
        # Only asked when someone listens for "new" events: a SET pays no extra lookup.
        announce_new = keyspace.notify_flags & events.NEW and key not in data
        data[key] = value
        if keyspace.slot_keys is not None:  # cluster mode: the keys of each slot
            keyspace.slot_keys.added(self.index, key)
        if keyspace.lfu:  # an overwritten key keeps its counter, as in Redis' dbOverwrite
            self.access.setdefault(key, lfu_new())
        else:
            self.access[key] = keyspace.clock
        if keyspace.accounting:
            self.account(key, value)
        if deadline is not None:
            self._store_deadline(key, deadline)
        elif not keep_ttl and old_deadline is not None:  # what `key in self.expires` says, without a lookup
            self._forget_deadline(key)
        keyspace.dirty += changes
        if keyspace.watched:
            keyspace.touch(self.index, key)
        if keyspace.tracking_active:  # CLIENT TRACKING (app/tracking.py)
            keyspace.tracking.invalidate(key)
        if keyspace.blocked.count:
            # As Redis' dbAdd and dbOverwrite: RENAME, COPY or MOVE can feed a BLPOP, and a
            # stream replaced by another value ends a blocked XREADGROUP.
            self.signal_ready(key)
        if announce_new:
            self.notify(events.NEW, "new", key)

    def set_loaded(self, keys: list[bytes], values: list, deadlines: list[tuple[bytes, int]]) -> bool:
        """Store keys read from a file (`rdb.install`) as `set` would, one dict update
        for all of them instead of a call per key, provided this database is empty and
        nothing `set` tells of a change is listening: no snapshot, WATCH, tracking,
        blocked client or "new" key event, no memory accounting, no cluster. False (and
        nothing done) otherwise: the caller then sets them one by one."""
        keyspace = self.keyspace
        if (self.data or keyspace.snapshots or keyspace.watched or keyspace.tracking_active or keyspace.blocked.count
                or keyspace.notify_flags & events.NEW or keyspace.accounting or keyspace.slot_keys is not None):
            return False
        data = dict(zip(keys, values))  # empty before: the new dicts replace the old, as `clear` does
        if len(data) != len(keys):  # a key twice (a damaged file): `set` knows what to keep
            return False
        self.data = data
        self.access = dict.fromkeys(keys, lfu_new() if keyspace.lfu else keyspace.clock)
        for key, deadline in deadlines:
            self._store_deadline(key, deadline)
        keyspace.dirty += len(keys)
        return True

    def delete(self, key: bytes, changes: int = 1) -> bool:
        """Delete ``key``; True if it existed (and had not expired). ``changes`` as in `set`."""
        if self.lookup(key, touch=False) is None:
            return False
        if self.keyspace.snapshots:
            self._keep(key, copy=False)
        del self.data[key]
        del self.access[key]
        if key in self.expires:
            self._forget_deadline(key)
        if self.keyspace.slot_keys is not None:
            self.keyspace.slot_keys.removed(self.index, key)
        self.changed(key, changes)
        if self.keyspace.blocked.count:
            self.signal_ready(key)  # a stream deleted under a blocked XREADGROUP ends it
        return True

    def signal_ready(self, key: bytes) -> None:
        """``key`` may now have what a blocked client waits for (see app/store/blocking.py)."""
        self.keyspace.blocked.signal_ready((self.index, key))

    def changed(self, key: bytes, changes: int = 1) -> None:
        """Record a change to ``key``: counted for saving (``changes`` of them: LREM
        removing five elements counts five, as in Redis; zero still counts for WATCH), and
        seen by every client that WATCHes it (Redis: ``signalModifiedKey``). Changes made
        in place (APPEND, LPUSH on an existing list) call this directly; `set` and
        `delete` call it themselves."""
        keyspace = self.keyspace
        keyspace.dirty += changes
        if keyspace.watched:
            keyspace.touch(self.index, key)
        if keyspace.tracking_active:  # CLIENT TRACKING (app/tracking.py)
            keyspace.tracking.invalidate(key)
        if keyspace.accounting:
            self.account(key, self.data.get(key))

    def account(self, key: bytes, value) -> None:
        """maxmemory's bookkeeping: ``key`` now holds ``value`` (None: it is gone). A
        container is estimated from a sample of its elements, so this costs O(1)."""
        old = self.sizes.pop(key, 0)
        new = 0
        if value is not None:
            new = self.sizes[key] = entry_size(key, value)
        self.keyspace.dataset_bytes += new - old

    def notify(self, event_class: int, event: str, key: bytes) -> None:
        """Announce ``event`` on ``key`` if its class is enabled (app/store/events.py)."""
        keyspace = self.keyspace
        if keyspace.notify_flags & event_class:
            keyspace.publish_event(self.index, event, key)

    def clear(self) -> int:
        """Delete every key; return how many there were. Clients watching a key that
        existed see the change."""
        if self.keyspace.watched:
            self.keyspace.touch_database(self)
        if self.keyspace.tracking_active:  # tracking clients drop their whole cache
            self.keyspace.tracking.invalidate_all()
        count = len(self.data)
        self.keyspace.dataset_bytes -= sum(self.sizes.values())
        self.data = {}
        self.expires = {}
        self.access = {}
        self.sizes = {}
        self._expiring = []
        self._slot = {}
        if self.keyspace.slot_keys is not None:
            self.keyspace.slot_keys.flushed(self.index)
        self.keyspace.dirty += count
        if self.keyspace.blocked.count:
            # As Redis' signalFlushedDb: a stream flushed under a blocked XREADGROUP
            # ends its wait with UNBLOCKED (the waiters' attempts find the key gone).
            self.keyspace.signal_waited_keys(self.index)
        return count

    # --- deadlines

    def deadline(self, key: bytes) -> int | None:
        """The key's deadline in Unix ms, or None if it has none (the key must exist)."""
        return self.expires.get(key)

    def set_deadline(self, key: bytes, deadline_ms: int) -> bool:
        """Give an existing key a deadline; one in the past deletes the key at once.
        Returns False if it did, so the caller can announce "del" instead of "expire"."""
        if deadline_ms <= self.keyspace.now():
            self.delete(key)
            return False
        self._store_deadline(key, deadline_ms)
        self.changed(key)
        return True

    def persist(self, key: bytes) -> bool:
        """Remove the key's deadline; True if it had one."""
        if key not in self.expires:
            return False
        self._forget_deadline(key)
        self.changed(key)
        return True

    def _keep(self, key: bytes, copy: bool) -> None:
        """``key`` is about to change: every snapshot being written keeps it as it is
        (app/persistence/cow.py). Called only while one runs."""
        for snapshot in self.keyspace.snapshots:
            snapshot.keep(self.data, self.expires, key, copy)

    def _store_deadline(self, key: bytes, deadline_ms: int) -> None:
        if self.keyspace.snapshots:
            self._keep(key, copy=False)
        if key not in self.expires:
            self._slot[key] = len(self._expiring)
            self._expiring.append(key)
        self.expires[key] = deadline_ms

    def _forget_deadline(self, key: bytes) -> None:
        if self.keyspace.snapshots:
            self._keep(key, copy=False)
        del self.expires[key]
        index = self._slot.pop(key)
        last = self._expiring.pop()
        if last != key:  # move the last key into the hole
            self._expiring[index] = last
            self._slot[last] = index

    def _expire(self, key: bytes) -> None:
        """Delete a key whose deadline has passed. Not a change the client made, so it
        does not count for save points; replicas and the AOF get a DEL of it, ahead of
        the command that found it (Redis: deleteExpiredKeyAndPropagate)."""
        if self.keyspace.snapshots:
            self._keep(key, copy=False)
        del self.data[key]
        del self.access[key]
        self._forget_deadline(key)
        keyspace = self.keyspace
        if keyspace.slot_keys is not None:
            keyspace.slot_keys.removed(self.index, key)
        if keyspace.accounting:
            self.account(key, None)
        keyspace.expired_keys += 1
        self.notify(events.EXPIRED, "expired", key)
        if keyspace.watched:
            keyspace.touch(self.index, key)
        if keyspace.tracking_active:
            keyspace.tracking.invalidate(key)
        keyspace.propagation.also(self.index, [b"DEL", key])

    def sample_expiring(self, count: int) -> list[bytes]:
        """Up to ``count`` random keys that have deadlines (volatile-* eviction)."""
        keys = self._expiring
        return [keys[random.randrange(len(keys))] for _ in range(min(count, len(keys)))]

    def expire_sample(self, now: int, sample: int) -> tuple[int, int]:
        """Check up to ``sample`` random keys with deadlines; return (checked, expired)."""
        keys = self._expiring
        checked = min(sample, len(keys))
        expired = 0
        for _ in range(checked):
            key = keys[random.randrange(len(keys))]
            if self.expires[key] <= now:
                self._expire(key)
                self.keyspace.propagation.flush()  # each DEL on its own, as Redis sends them
                expired += 1
                if not keys:
                    break
        return checked, expired

    # --- iteration

    def random_key(self) -> bytes | None:
        """A random live key, or None if the database is empty.

        A dict offers no random access, so this lists the keys: O(N), where Redis is O(1).
        A key found to have expired is deleted and another tried, as in Redis.
        """
        keys = list(self.data)
        while keys:
            index = random.randrange(len(keys))
            key = keys[index]
            if self.lookup(key, touch=False) is not None:
                return key
            keys[index] = keys[-1]
            keys.pop()
        return None

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """One step of SCAN: examine about ``count`` keys from ``cursor``; return the next
        cursor (0 when done) and the keys seen that are still stored. Expired ones are
        among them: SCAN filters by pattern and type before it expires keys, as Redis does.

        Redis walks its hash table in an order that survives rehashing. A Python dict
        offers no such position, so the first call takes a snapshot of the key names
        and the cursor encodes (snapshot id, position). Every key present for the whole
        scan is in the snapshot and so returned exactly once; keys deleted meanwhile are
        skipped. The few most recent snapshots are kept; a cursor whose snapshot was
        dropped resumes at the same position in a fresh one.
        """
        snapshot_id, position = divmod(cursor, SCAN_POSITIONS)
        keys = self._scans.get(snapshot_id) if cursor else None
        if keys is None:
            if not self.data:
                return 0, []
            keys = list(self.data)
            snapshot_id = self.keyspace.new_scan_id()
            self._scans[snapshot_id] = keys
            while len(self._scans) > SCAN_SNAPSHOTS:
                del self._scans[next(iter(self._scans))]
        batch = keys[position : position + count]
        position += len(batch)
        data = self.data
        found = [key for key in batch if key in data]
        if position >= len(keys):
            self._scans.pop(snapshot_id, None)
            return 0, found
        return snapshot_id * SCAN_POSITIONS + position, found


class Keyspace:
    """All databases, the lock that guards them, and the counters INFO reports."""

    # A slot for every attribute, as `Client` has, for the same reason: every read and
    # write reads several (tests/test_slots.py checks that none is missing).
    __slots__ = (
        "lock", "propagation", "blocked", "deletes_expired", "obeying_master", "touching", "tracking",
        "tracking_active", "databases", "dirty", "expired_keys", "evicted_keys", "hits", "misses",
        "active_expiry", "expiry_behind", "frozen_time", "notify_flags", "publish_event", "watched", "clock",
        "_scan_ids", "accounting", "dataset_bytes", "lfu", "lfu_log_factor", "lfu_decay_time", "snapshots",
        "switch_interval", "slot_keys", "__dict__"
    )

    def __init__(self, databases: int = 16):
        self.lock = threading.Lock()
        # Where writes go once they are made: replicas and the AOF (app/propagation.py).
        self.propagation = Propagation()
        self.blocked = BlockedClients(self.lock, self.propagation)
        # A master deletes keys whose deadline passed; a replica waits for its master's
        # DEL (see Database.lookup), except while it runs its master's commands.
        self.deletes_expired = True
        self.obeying_master = False
        self.touching = True  # False while a CLIENT NO-TOUCH client reads: access times stay
        # CLIENT TRACKING (app/tracking.py, given by the server): told of every changed
        # key while some client tracks; one test of `tracking_active` otherwise.
        self.tracking = None
        self.tracking_active = False
        self.databases = [Database(i, self) for i in range(databases)]
        self.dirty = 0  # changes since the last save (rdb_changes_since_last_save)
        self.expired_keys = 0
        self.evicted_keys = 0
        self.hits = 0
        self.misses = 0
        self.active_expiry = True  # DEBUG SET-ACTIVE-EXPIRE 0 turns it off, for tests
        self.expiry_behind = False  # the last active expiry cycle ran out of time
        # While EXEC runs, the time at which keys expire stands still, as in Redis, so a
        # key cannot expire between two commands of one transaction.
        self.frozen_time: int | None = None
        # Keyspace notifications: the enabled classes (notify-keyspace-events), and how to
        # publish one, which the server supplies (pub/sub is not the keyspace's business).
        self.notify_flags = 0
        self.publish_event: Callable[[int, str, bytes], None] = lambda db, event, key: None
        # WATCH: (db index, key) -> the clients watching it, each with whether the key was
        # already logically expired when watched (Redis 7.0 tells the two apart).
        self.watched: dict[tuple[int, bytes], dict] = {}
        # A coarse clock for access times, ticked by the expiry thread, so that a
        # lookup stores an int instead of asking the system for the time.
        self.clock = int(time.time())
        self._scan_ids = itertools.count(1)
        # maxmemory (app/eviction.py): while it is set, every key's size is estimated and
        # summed here; `lfu` says the access map holds LFU counters (an LFU policy).
        self.accounting = False
        self.dataset_bytes = 0
        self.lfu = False
        self.lfu_log_factor = 10
        self.lfu_decay_time = 1
        # Snapshots being written (BGSAVE...): each keeps the keys that change before it
        # has written them (app/persistence/cow.py). Empty, as it almost always is, it
        # costs a write one test.
        self.snapshots: list = []
        self.switch_interval = 0.005  # Python's, put back when the last snapshot ends (cow.py)
        # Cluster mode: the keys of each hash slot (app/cluster/slot_keys.py), told of
        # every key added or removed; None on a standalone server.
        self.slot_keys = None

    def now(self) -> int:
        """Unix time in ms for expiry decisions: the clock, unless EXEC froze it."""
        return self.frozen_time or now_ms()

    # --- WATCH (Redis: multi.c, touchWatchedKey and touchAllWatchedKeysInDb)

    def touch(self, index: int, key: bytes) -> None:
        """``key`` of database ``index`` changed: abort the transactions watching it.

        A key that had already expired (but not been deleted) when it was watched, and is
        now deleted, has not logically changed: that watch only forgets the flag.
        """
        watchers = self.watched.get((index, key))
        if not watchers:
            return
        for client, expired in list(watchers.items()):
            if expired and key not in self.databases[index].data:
                watchers[client] = False
                continue
            client.dirty_cas = True
            self.unwatch_all(client)  # nothing it watches matters any more

    def touch_database(self, db: Database, replaced_with: Database | None = None) -> None:
        """Database ``db`` is about to be emptied (FLUSHDB, FLUSHALL) or to get the keys
        of ``replaced_with`` (SWAPDB): every watched key in it that exists before or
        after changes. An expired key going away, or staying expired, is no change."""
        now = self.now()

        def expired_in(other: Database, key: bytes) -> bool:
            deadline = other.expires.get(key)
            return deadline is not None and deadline <= now

        for (index, key), watchers in list(self.watched.items()):
            if index != db.index:
                continue
            existed = key in db.data
            will_exist = replaced_with is not None and key in replaced_with.data
            if not (existed or will_exist):
                continue
            for client, expired in list(watchers.items()):
                if expired:
                    if not will_exist:
                        watchers[client] = False  # an expired key deleted: no logical change
                        continue
                    if expired_in(replaced_with, key):
                        continue  # expired before, expired after
                elif not existed and expired_in(replaced_with, key):
                    watchers[client] = True  # missing before, logically missing after
                    continue
                client.dirty_cas = True
                self.unwatch_all(client)

    def swap(self, first: int, second: int) -> None:
        """SWAPDB: exchange the contents of two databases. Clients stay on their database
        number and see the other contents; watchers and blocked clients are told."""
        a, b = self.databases[first], self.databases[second]
        if self.watched:
            self.touch_database(a, b)
            self.touch_database(b, a)
        for name in ("data", "expires", "access", "sizes", "_expiring", "_slot", "_scans"):
            contents = getattr(a, name)
            setattr(a, name, getattr(b, name))
            setattr(b, name, contents)
        if self.slot_keys is not None:
            self.slot_keys.swapped(first, second)
        # A client blocked on a key of either database may be served from what is there
        # now, or, blocked on a stream that is gone, ended with UNBLOCKED.
        self.signal_waited_keys(first, second)

    def signal_waited_keys(self, *indexes: int) -> None:
        """Every key some client waits on in these databases may have changed (FLUSHDB,
        FLUSHALL, SWAPDB): each waiter tries again after the command (app/store/blocking.py)."""
        for index, key in self.blocked.waited_keys():
            if index in indexes:
                self.blocked.signal_ready((index, key))

    def watch(self, client, db: Database, key: bytes) -> None:
        """WATCH ``key`` for ``client`` (once; watching it again changes nothing)."""
        entry = (db.index, key)
        if entry in client.watched:
            return
        deadline = db.expires.get(key)
        expired = key in db.data and deadline is not None and deadline <= self.now()
        client.watched.add(entry)
        self.watched.setdefault(entry, {})[client] = expired

    def unwatch_all(self, client) -> None:
        for entry in client.watched:
            watchers = self.watched.get(entry)
            if watchers is not None:
                watchers.pop(client, None)
                if not watchers:
                    del self.watched[entry]
        client.watched = set()

    def watched_key_expired(self, client) -> bool:
        """Whether a watched key has expired since WATCH (EXEC then fails, as in 7.0)."""
        now = self.now()
        for index, key in client.watched:
            if self.watched[(index, key)][client]:
                continue  # it had expired already when watched
            db = self.databases[index]
            deadline = db.expires.get(key)
            if key in db.data and deadline is not None and deadline <= now:
                return True
        return False

    def start_accounting(self) -> None:
        """maxmemory was set: estimate every key once, then keep the estimates with each
        write (O(keys) once, under the lock)."""
        self.dataset_bytes = 0
        for db in self.databases:
            db.sizes = {key: entry_size(key, value) for key, value in db.data.items()}
            self.dataset_bytes += sum(db.sizes.values())
        self.accounting = True

    def stop_accounting(self) -> None:
        self.accounting = False
        self.dataset_bytes = 0
        for db in self.databases:
            db.sizes = {}

    def new_scan_id(self) -> int:
        return next(self._scan_ids) % 2**31 or 1

    def flush_all(self) -> int:
        return sum(db.clear() for db in self.databases)

    def active_expire_cycle(self) -> int:
        """Delete expired keys found by sampling; return how many. Takes the lock itself.

        The lock is released between rounds, and every 2 ms the thread pauses for
        0.1 ms, so that clients never wait long behind it.
        """
        started = yielded = time.monotonic()
        total = 0
        for db in self.databases:
            while True:
                with self.lock:
                    checked, expired = db.expire_sample(now_ms(), EXPIRE_SAMPLE)
                total += expired
                now = time.monotonic()
                if now - yielded >= EXPIRE_YIELD_SECONDS:
                    # Releasing the lock is not enough: this thread still holds the GIL
                    # and takes the lock back before a waiting client even wakes, which
                    # then waits out the whole cycle. A short sleep hands both over.
                    time.sleep(EXPIRE_YIELD_PAUSE)
                    yielded = time.monotonic()
                if checked == 0 or expired <= checked * EXPIRE_REPEAT_IF_STALE:
                    break
                if now - started > EXPIRE_CYCLE_SECONDS:
                    self.expiry_behind = True
                    return total
        self.expiry_behind = False
        return total

    def run_active_expiry(self, stop: threading.Event, period: Callable[[], float]) -> None:
        """Body of the background expiry thread: a cycle every ``period()`` seconds (1/hz).

        While cycles run out of time with expired keys left, the next one starts 5 ms
        later instead of a whole period, so most of the time goes to reclaiming memory
        (Redis adds fast cycles between its event loop's iterations for the same reason)
        while clients still get the lock between every two rounds of 20 keys."""
        while not stop.wait(EXPIRE_CATCH_UP_SECONDS if self.expiry_behind else period()):
            self.clock = int(time.time())
            if self.active_expiry and self.deletes_expired:
                self.active_expire_cycle()
