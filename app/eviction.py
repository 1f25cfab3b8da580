"""maxmemory: when the data outgrows it, evict keys by the configured policy, or refuse writes.

As Redis' ``performEvictions`` (evict.c), the dispatcher calls `Eviction.perform` before
every command while ``maxmemory`` is set. If the memory in use is over the limit, keys
are deleted one at a time, each chosen by ``maxmemory-policy``, until it is under again:

* ``allkeys-random`` / ``volatile-random``: any key / any key with a deadline;
* ``allkeys-lru`` / ``volatile-lru``: the one idle longest, ``allkeys-lfu`` /
  ``volatile-lfu``: the one used least often (app/store/memory.py), ``volatile-ttl``: the
  one closest to its deadline. Like Redis, these do not search every key: each round
  samples ``maxmemory-samples`` keys per database into a pool of the 16 best candidates
  seen so far, and evicts the best of the pool;
* ``noeviction``: nothing is evicted.

An evicted key is gone as if deleted: watchers and tracking clients are told, the
``evicted`` keyspace event is published, and replicas and the AOF get a DEL (UNLINK
with ``lazyfree-lazy-eviction``). If nothing can be evicted the memory stays over the
limit, and the dispatcher refuses commands flagged ``denyoom`` with Redis' OOM error.
One call evicts for at most the time ``maxmemory-eviction-tenacity`` allows; the rest
waits for the next command or the next cron tick, as Redis' eviction timer.

Memory in use is `used_memory`: the resident set at start-up plus the estimated size
of every key, which the keyspace keeps while maxmemory is set (see app/store/memory.py
for why it is an estimate). A replica leaves eviction to its master
(``replica-ignore-maxmemory``), and nothing is evicted while CLIENT PAUSE holds the
dataset still or while the dataset loads.
"""

from __future__ import annotations

import random
import time

from app.protocol import ReplyError
from app.store import events
from app.store.memory import lfu_counter

OOM = ReplyError("OOM command not allowed when used memory > 'maxmemory'.")
POOL_SIZE = 16  # Redis' EVPOOL_SIZE


def time_limit(tenacity: int) -> float:
    """Seconds one call may spend evicting (Redis: evictionTimeLimitUs)."""
    if tenacity <= 10:
        return 50e-6 * tenacity  # 500 µs by default
    if tenacity < 100:
        return 500e-6 * 1.15 ** (tenacity - 10)
    return float("inf")


class Eviction:
    """The maxmemory policy at work over one keyspace."""

    def __init__(self, server):
        self.server = server
        self.keyspace = server.keyspace
        self.pool: list[tuple[float, int, bytes]] = []  # (score, db index, key), best last
        self.next_db = 0  # random policies visit the databases in turn, as Redis
        self.running = False  # the last call stopped at its time limit with memory still over
        self.exceeded_since: float | None = None  # INFO current_eviction_exceeded_time
        self.exceeded_total = 0.0
        # Key lists to sample from, per database: a dict offers no random access, so a
        # snapshot of its keys is taken and drawn from until it has served its size.
        self._snapshots: dict[int, tuple[list[bytes], list[int]]] = {}

    def used_memory(self) -> int:
        return self.server.introspection.startup_rss + self.keyspace.dataset_bytes

    def perform(self) -> bool:
        """Evict until used memory is under maxmemory; False if it stays over it because
        nothing (more) may be evicted, which refuses ``denyoom`` commands. Runs under the
        keyspace lock."""
        server, keyspace = self.server, self.keyspace
        if server.loading or server.pause_end or (server.config["replicaof"] and
                                                  server.config["replica-ignore-maxmemory"]):
            return True
        maxmemory = server.config["maxmemory"]
        if self.used_memory() <= maxmemory:
            self._exceeded(False)
            return True
        self._exceeded(True)
        policy = server.config["maxmemory-policy"]
        if policy == "noeviction":
            return False
        started = time.monotonic()
        limit = time_limit(server.config["maxmemory-eviction-tenacity"])
        evicted = 0
        self.running = False
        while self.used_memory() > maxmemory:
            found = self._random_key(policy) if policy.endswith("random") else self._best_key(policy)
            if found is None:
                return False  # nothing left that this policy may evict
            self._evict(*found)
            evicted += 1
            if evicted % 16 == 0 and time.monotonic() - started > limit:
                self.running = True  # carry on at the next command or cron tick
                break
        elapsed_ms = int((time.monotonic() - started) * 1000)
        server.introspection.add_latency_sample("eviction-cycle", elapsed_ms)
        if self.used_memory() <= maxmemory:
            self._exceeded(False)
        return True

    def _exceeded(self, now_over: bool) -> None:
        if now_over and self.exceeded_since is None:
            self.exceeded_since = time.monotonic()
        elif not now_over and self.exceeded_since is not None:
            self.exceeded_total += time.monotonic() - self.exceeded_since
            self.exceeded_since = None

    def exceeded_ms(self, total: bool) -> int:
        """INFO stats: how long used memory has been over maxmemory, in all (``total``)
        or in the stretch going on now."""
        current = time.monotonic() - self.exceeded_since if self.exceeded_since is not None else 0.0
        return int(1000 * (current + (self.exceeded_total if total else 0.0)))

    def _evict(self, index: int, key: bytes) -> None:
        """Delete ``key`` as Redis evicts it: not a change for save points, but seen by
        watchers, tracking clients, keyspace events, replicas and the AOF."""
        keyspace = self.keyspace
        db = keyspace.databases[index]
        if not db.delete(key, changes=0):
            return  # it had expired: deleted (and propagated) as an expiry instead
        keyspace.evicted_keys += 1
        db.notify(events.EVICTED, "evicted", key)
        command = b"UNLINK" if self.server.config["lazyfree-lazy-eviction"] else b"DEL"
        keyspace.propagation.also(index, [command, key])
        keyspace.propagation.flush()  # each on its own, as active expiry's DELs

    # --- choosing a key

    def _random_key(self, policy: str) -> tuple[int, bytes] | None:
        """A random key (with a deadline, for volatile-random), from the databases in turn."""
        databases = self.keyspace.databases
        for _ in range(len(databases)):
            db = databases[self.next_db]
            self.next_db = (self.next_db + 1) % len(databases)
            keys = self._sample(db, 1, volatile=policy.startswith("volatile"))
            if keys:
                return db.index, keys[0]
        return None

    def _best_key(self, policy: str) -> tuple[int, bytes] | None:
        """Fill the pool from samples of every database, then take its best candidate
        that still exists (Redis: evictionPoolPopulate and the loop after it)."""
        volatile = policy.startswith("volatile")
        keyspace = self.keyspace
        while True:
            for db in keyspace.databases:
                for key in self._sample(db, self.server.config["maxmemory-samples"], volatile):
                    self._offer(self._score(policy, db, key), db.index, key)
            while self.pool:
                _score, index, key = self.pool.pop()
                db = keyspace.databases[index]
                if key in (db.expires if volatile else db.data):
                    return index, key
            if not any((db.expires if volatile else db.data) for db in keyspace.databases):
                return None

    def _offer(self, score: float, index: int, key: bytes) -> None:
        pool = self.pool
        if any(entry[1] == index and entry[2] == key for entry in pool):
            return
        if len(pool) == POOL_SIZE and score <= pool[0][0]:
            return
        pool.append((score, index, key))
        pool.sort(key=lambda entry: entry[0])
        if len(pool) > POOL_SIZE:
            del pool[0]

    def _score(self, policy: str, db, key: bytes) -> float:
        """Higher is evicted first: idle seconds (LRU), 255 minus the LFU counter, or
        the nearness of the deadline (TTL)."""
        keyspace = self.keyspace
        if policy.endswith("lru"):
            return keyspace.clock - db.access.get(key, keyspace.clock)
        if policy.endswith("lfu"):
            return 255 - lfu_counter(db.access.get(key, 0), keyspace.lfu_decay_time)
        return -db.expires[key]  # volatile-ttl

    def _sample(self, db, count: int, volatile: bool) -> list[bytes]:
        """Up to ``count`` random keys of ``db`` (keys with deadlines for ``volatile``)."""
        if volatile:
            return db.sample_expiring(count)
        data = db.data
        if not data:
            return []
        for fresh in (False, True):  # a stale snapshot (its keys deleted since) is replaced
            snapshot, draws = self._snapshots.get(db.index, (None, [0]))
            if fresh or snapshot is None or draws[0] <= 0:
                snapshot, draws = list(data), [len(data)]
                self._snapshots[db.index] = snapshot, draws
            found = []
            for _ in range(4 * count):
                key = snapshot[random.randrange(len(snapshot))]
                draws[0] -= 1
                if key in data:
                    found.append(key)
                    if len(found) == count:
                        break
            if found:
                return found
        return []
