"""The keys of each hash slot, kept beside the keyspace (Redis 7.0: slots_to_keys).

A cluster node must answer CLUSTER COUNTKEYSINSLOT and GETKEYSINSLOT (what
``redis-cli --cluster reshard`` asks, slot after slot, to move keys), refuse to give a
slot away while it still holds keys of it, and delete the keys of a slot it lost. A scan
of the whole keyspace for each would cost O(keys) per slot; instead the keyspace tells
this index of every key that appears or goes (`added`, `removed`), and of whole
databases emptied or swapped (`flushed`, `swapped`), and each slot keeps its keys in an
insertion-ordered dict.

Only database 0 is indexed: a cluster node has no other (SELECT, SWAPDB and MOVE to
another database are refused in cluster mode, as in Redis). Every method runs under
the keyspace lock, like the change that calls it.
"""

from __future__ import annotations

from app.cluster.slots import SLOTS, key_slot


class SlotKeys:
    """Slot -> the keys of database 0 in it, oldest first."""

    def __init__(self, keyspace):
        self.keyspace = keyspace
        self.by_slot: list[dict[bytes, None] | None] = [None] * SLOTS
        self.rebuild()

    # --- what the keyspace calls

    def added(self, db: int, key: bytes) -> None:
        """``key`` is stored now (a new key, or one overwritten: then nothing changes)."""
        if db:
            return
        slot = key_slot(key)
        keys = self.by_slot[slot]
        if keys is None:
            self.by_slot[slot] = {key: None}
        elif key not in keys:
            keys[key] = None

    def removed(self, db: int, key: bytes) -> None:
        """``key`` was deleted, or expired."""
        if db:
            return
        slot = key_slot(key)
        keys = self.by_slot[slot]
        if keys is not None:
            keys.pop(key, None)
            if not keys:
                self.by_slot[slot] = None

    def flushed(self, db: int) -> None:
        """Database ``db`` was emptied (FLUSHDB, FLUSHALL, a full resync)."""
        if not db:
            self.by_slot = [None] * SLOTS

    def swapped(self, first: int, second: int) -> None:
        """SWAPDB: database 0 holds other keys now."""
        if 0 in (first, second):
            self.rebuild()

    def rebuild(self) -> None:
        """Index database 0 from scratch (at start-up, or after a SWAPDB)."""
        self.by_slot = [None] * SLOTS
        for key in self.keyspace.databases[0].data:
            self.added(0, key)

    # --- what the cluster asks

    def count(self, slot: int) -> int:
        keys = self.by_slot[slot]
        return 0 if keys is None else len(keys)

    def keys(self, slot: int, count: int | None = None) -> list[bytes]:
        """Up to ``count`` keys of the slot, newest first, as Redis lists them (it adds
        each new key at the head of the slot's list)."""
        keys = self.by_slot[slot]
        if keys is None:
            return []
        found = []
        for key in reversed(keys):
            if count is not None and len(found) >= count:
                break
            found.append(key)
        return found

    def slots_with_keys(self) -> list[int]:
        return [slot for slot, keys in enumerate(self.by_slot) if keys]
