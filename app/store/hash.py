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
That index is made the first time it is wanted, not when the hash converts: a big hash
loaded from a file, or copied, may never be asked for a random field.

Fields and values are the ``bytes`` the client sent (or that HINCRBY made), never
changed in place, so replies can hold the very objects the hash holds.
"""

from __future__ import annotations

import random
from itertools import chain, islice

from app.store.set import MemberList


class HashValue:
    """A Redis hash. Redis never stores an empty one: the command that deletes the last
    field deletes the key."""

    __slots__ = ("fields", "hashtable", "_index")
    TYPE_NAME = "hash"  # what TYPE answers

    def __init__(self):
        self.fields: dict[bytes, bytes] = {}
        self.hashtable = False  # what Redis would use: a listpack until it converts, for good
        self._index: MemberList | None = None  # see `index`

    @classmethod
    def built(cls, flat: list[bytes], max_entries: int, max_value: int) -> HashValue:
        """A new hash of ``flat``: field, value, field, value... (as a file lists them),
        encoded as one HSET of them all would encode it (`update`), without a tuple per
        pair."""
        value = cls()
        value.fields = dict(zip(flat[0::2], flat[1::2]))
        value.hashtable = len(value.fields) > max_entries or max(map(len, flat), default=0) > max_value
        return value

    def __len__(self) -> int:
        return len(self.fields)

    def encoding(self) -> str:
        return "hashtable" if self.hashtable else "listpack"

    @property
    def index(self) -> MemberList | None:
        """The fields again, for random picks and HSCAN, once a hashtable (None for a
        listpack); made from the fields when first wanted, then kept up to date."""
        if self._index is None and self.hashtable:
            self._index = MemberList(self.fields)
        return self._index

    def copy(self) -> HashValue:
        """An independent hash with the same fields and encoding (COPY)."""
        twin = HashValue()
        twin.fields = dict(self.fields)
        twin.hashtable = self.hashtable
        return twin

    # --- changes

    def update(self, pairs: list[tuple[bytes, bytes]], max_entries: int, max_value: int) -> int:
        """Set each (field, value) of ``pairs``; return how many fields are new.

        Converts to a hashtable as Redis does: if any field or value of ``pairs`` is
        longer than ``max_value`` (hashTypeTryConversion, hashTypeSet), or once there
        are more than ``max_entries`` fields, which an update of an existing field checks
        too (so lowering the limit takes effect at the next write). Whether before or
        after the fields are set, converting only flags the hash (`index` is made later,
        from the fields), so the check runs after, at C speed.
        """
        fields = self.fields
        before = len(fields)
        index = self._index
        if index is not None:
            for field, _value in pairs:
                if field not in fields:
                    index.add(field)
        fields.update(pairs)
        if not self.hashtable and (len(fields) > max_entries
                                   or max(map(len, chain.from_iterable(pairs)), default=0) > max_value):
            self.hashtable = True
        return len(fields) - before

    def delete(self, field: bytes) -> bool:
        """Delete ``field``; False if there was none."""
        if self.fields.pop(field, None) is None:
            return False
        if self._index is not None:
            self._index.remove(field)
        return True

    # --- random picks (HRANDFIELD)

    def random_field(self) -> bytes:
        if self.hashtable:
            return self.index.random()
        return next(islice(self.fields, random.randrange(len(self.fields)), None))

    def random_fields(self, count: int) -> list[bytes]:
        """``count`` fields picked independently: the same one may come back."""
        if self.hashtable:
            return self.index.choices(count)
        return random.choices(list(self.fields), k=count)

    def distinct_fields(self, count: int) -> list[bytes]:
        """``count`` different fields (fewer than there are), in Redis' order: from a
        listpack asked for a third or less of its fields, the sample keeps the listpack's
        order (lpRandomPairsUnique); otherwise the order is random."""
        if self.hashtable:
            return self.index.sample(count)
        names = list(self.fields)
        if count * 3 > len(names):
            return random.sample(names, count)
        return [names[i] for i in sorted(random.sample(range(len(names)), count))]

    # --- HSCAN

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """One step of HSCAN: the next cursor and the fields seen. A listpack is returned
        whole, with cursor 0, whatever the cursor and count, as Redis does."""
        if not self.hashtable:
            return 0, list(self.fields)
        return self.index.scan(cursor, count)
