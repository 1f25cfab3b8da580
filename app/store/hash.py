"""The hash type: a dict of fields to values, and the encoding Redis would give it.

Redis 7.0 keeps a small hash as a ``listpack``, one packed array of field, value, field,
value... in insertion order, and converts it to a ``hashtable``, for good, once it holds
more than ``hash-max-listpack-entries`` fields or is given a field or value longer than
``hash-max-listpack-value`` bytes. A Python dict also keeps insertion order, and an
update leaves a field in its place, as the listpack does, so HGETALL of a small hash
lists the fields in Redis' order.

A listpack is walked from its start, so Redis' HRANDFIELD on one is O(N); on a hash
table it picks a bucket in O(1). A hash that has become a hashtable therefore also
keeps its fields in a `MemberList` (a list plus positions, like a set's members), for
random picks and HSCAN cursors; a listpack hash has none, and is walked, as in Redis.

Fields and values are the ``bytes`` the client sent (or that HINCRBY made), never
changed in place, so replies can hold the very objects the hash holds.
"""

from __future__ import annotations

import random
from itertools import islice

from app.store.set import MemberList


class HashValue:
    """A Redis hash. Redis never stores an empty one: the command that deletes the last
    field deletes the key."""

    __slots__ = ("fields", "index")
    TYPE_NAME = "hash"  # what TYPE answers

    def __init__(self):
        self.fields: dict[bytes, bytes] = {}
        self.index: MemberList | None = None  # the fields again, once a hashtable

    def __len__(self) -> int:
        return len(self.fields)

    def encoding(self) -> str:
        return "listpack" if self.index is None else "hashtable"

    def copy(self) -> HashValue:
        """An independent hash with the same fields and encoding (COPY)."""
        twin = HashValue()
        twin.fields = dict(self.fields)
        if self.index is not None:
            twin.index = MemberList(twin.fields)
        return twin

    # --- changes

    def update(self, pairs, max_entries: int, max_value: int) -> int:
        """Set each (field, value) of ``pairs``; return how many fields are new.

        Converts to a hashtable as Redis does: before setting, if any field or value is
        longer than ``max_value`` (hashTypeTryConversion, hashTypeSet); after, if there
        are more than ``max_entries`` fields, which an update of an existing field checks
        too (so lowering the limit takes effect at the next write).
        """
        fields = self.fields
        if self.index is None:
            for field, value in pairs:
                if len(field) > max_value or len(value) > max_value:
                    self._convert()
                    break
        if self.index is not None:
            for field, _value in pairs:
                if field not in fields:
                    self.index.add(field)
        before = len(fields)
        fields.update(pairs)
        if self.index is None and len(fields) > max_entries:
            self._convert()
        return len(fields) - before

    def delete(self, field: bytes) -> bool:
        """Delete ``field``; False if there was none."""
        if self.fields.pop(field, None) is None:
            return False
        if self.index is not None:
            self.index.remove(field)
        return True

    def _convert(self) -> None:
        self.index = MemberList(self.fields)

    # --- random picks (HRANDFIELD)

    def random_field(self) -> bytes:
        if self.index is not None:
            return self.index.random()
        return next(islice(self.fields, random.randrange(len(self.fields)), None))

    def random_fields(self, count: int) -> list[bytes]:
        """``count`` fields picked independently: the same one may come back."""
        if self.index is not None:
            return self.index.choices(count)
        return random.choices(list(self.fields), k=count)

    def distinct_fields(self, count: int) -> list[bytes]:
        """``count`` different fields (fewer than there are), in Redis' order: from a
        listpack asked for a third or less of its fields, the sample keeps the listpack's
        order (lpRandomPairsUnique); otherwise the order is random."""
        if self.index is not None:
            return self.index.sample(count)
        names = list(self.fields)
        if count * 3 > len(names):
            return random.sample(names, count)
        return [names[i] for i in sorted(random.sample(range(len(names)), count))]

    # --- HSCAN

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """One step of HSCAN: the next cursor and the fields seen. A listpack is returned
        whole, with cursor 0, whatever the cursor and count, as Redis does."""
        if self.index is None:
            return 0, list(self.fields)
        return self.index.scan(cursor, count)
