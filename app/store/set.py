"""The set type: members in a list, and a dict from each member to its place in it.

Redis answers SRANDMEMBER and SPOP in O(1): an intset is an array, and its hash table
can pick a random bucket. A Python ``set`` cannot give a random element without walking
it, so `MemberList` keeps the members in a list, for random picks by index, and a dict
of their positions, for membership in O(1). Removing swaps the last member into the
hole, so every change stays O(1) too. The dict's keys view also does set algebra in C
(``a.keys() & b.keys()``), which SINTER, SUNION and SDIFF use.

Encodings
    Redis 7.0 keeps a set as an ``intset`` (a sorted array of integers) while every
    member is an integer as ``string2ll`` reads it (no "01", no " 1", no "-0") and there
    are at most ``set-max-intset-entries`` of them; past that it becomes a ``hashtable``
    for good. Here the members are stored the same way whatever the encoding, and the
    ``intset`` flag records what Redis would report, because OBJECT ENCODING, and the
    order of replies, depend on it: an intset lists its members in numeric order, a hash
    table in an order of its own (which tests compare sorted).

Members are the ``bytes`` the client sent; bytes never change, so replies can hold the
very objects the set holds.
"""

from __future__ import annotations

import random

from app.numeric import parse_int


def is_integer(member: bytes) -> bool:
    """Whether Redis would store ``member`` in an intset (string2ll accepts it)."""
    return parse_int(member) is not None


class MemberList:
    """Distinct byte strings with O(1) add, remove, membership and uniform random pick.

    Also the index a hashtable-encoded hash keeps of its fields (app/store/hash.py).
    """

    __slots__ = ("positions", "members")

    def __init__(self, members=()):
        # As adding them one by one would, at C speed.
        self.members: list[bytes] = list(members)
        self.positions: dict[bytes, int] = dict(zip(self.members, range(len(self.members))))  # member -> its index
        if len(self.positions) != len(self.members):  # a member twice: the first keeps its place
            self.members = list(dict.fromkeys(self.members))
            self.positions = dict(zip(self.members, range(len(self.members))))

    def __len__(self) -> int:
        return len(self.members)

    def __contains__(self, member: bytes) -> bool:
        return member in self.positions

    def __iter__(self):
        """The members in no particular order (`SetValue.ordered` gives Redis' order)."""
        return iter(self.members)

    def add(self, member: bytes) -> bool:
        """Add ``member``; False if it was there already."""
        positions = self.positions
        if member in positions:
            return False
        positions[member] = len(self.members)
        self.members.append(member)
        return True

    def remove(self, member: bytes) -> bool:
        """Remove ``member``; False if it was not there. The last member fills the hole."""
        index = self.positions.pop(member, None)
        if index is None:
            return False
        last = self.members.pop()
        if index < len(self.members):
            self.members[index] = last
            self.positions[last] = index
        return True

    def clear(self) -> None:
        self.positions.clear()
        self.members.clear()

    def random(self) -> bytes:
        """One member, each with the same chance (the list must not be empty)."""
        return self.members[random.randrange(len(self.members))]

    def sample(self, count: int) -> list[bytes]:
        """``count`` distinct members (count < len), in random order."""
        return random.sample(self.members, count)

    def choices(self, count: int) -> list[bytes]:
        """``count`` members picked independently: the same one may come back."""
        return random.choices(self.members, k=count)

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """One step of SSCAN or HSCAN: about ``count`` members and the next cursor.

        The walk goes from the end of the list towards its start, and the cursor is the
        index it has reached (0 starts at the end; 0 again when done). Adding appends at
        the end, where the walk has been; removing moves the last member, also where the
        walk has been, into the hole. So a member present from the first call to the last
        is never moved past the walk: it is returned at least once, as SCAN promises, and
        no state is kept between calls.
        """
        position = len(self.members) if cursor == 0 else min(cursor, len(self.members))
        start = max(0, position - count)
        return start, self.members[start:position][::-1]


class SetValue(MemberList):
    """A Redis set. Redis never stores an empty one: the command that removes the last
    member deletes the key."""

    __slots__ = ("intset",)
    TYPE_NAME = "set"  # what TYPE answers

    def __init__(self, members=()):
        super().__init__(members)
        self.intset = True  # until a member that is not an integer, or one too many, arrives

    def encoding(self) -> str:
        return "intset" if self.intset else "hashtable"

    def copy(self) -> SetValue:
        """An independent set with the same members and encoding (COPY)."""
        twin = SetValue()
        twin.positions = dict(self.positions)
        twin.members = list(self.members)
        twin.intset = self.intset
        return twin

    def add_members(self, members, max_intset: int) -> int:
        """Add ``members``; return how many were new. An intset given a non-integer, or
        grown past ``max_intset`` members, becomes a hashtable for good (setTypeAdd)."""
        added = [member for member in members if self.add(member)]
        if self.intset and added and (len(self.members) > max_intset or not all(map(is_integer, added))):
            self.intset = False
        return len(added)

    def reencode(self, max_intset: int) -> None:
        """The encoding of a set built afresh from these members (SPOP's rebuild)."""
        self.intset = len(self.members) <= max_intset and all(map(is_integer, self.members))

    def ordered(self) -> list[bytes]:
        """Every member, in the order Redis lists them: numeric for an intset (which is
        sorted), any order for a hashtable."""
        if self.intset:
            return sorted(self.members, key=int)
        return list(self.members)

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """One step of SSCAN. An intset is returned whole, with cursor 0, as Redis does."""
        if self.intset:
            return 0, self.ordered()
        return super().scan(cursor, count)


def set_of(members, max_intset: int) -> SetValue:
    """A new set of ``members``, encoded as Redis encodes a set built by adding them one
    by one: an intset if they are all integers and few enough."""
    value = SetValue(members)
    value.reencode(max_intset)
    return value
