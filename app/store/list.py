"""The list type: a double-ended queue of byte strings.

Redis stores a list as a quicklist: a doubly linked list of small packed arrays, so
pushing or popping at either end is O(1), and reaching an element in the middle walks
from the nearer end. Python's `collections.deque` has the same shape (a doubly linked
list of 64-slot blocks, written in C) and the same costs, so a list is a deque with the
few things the rest of the server asks of a stored value: its type name, its encoding
and a copy.

Elements are the ``bytes`` the client sent. Bytes never change, so a reply can hold
the very objects the list holds, and a range is a new Python list of them: replies are
encoded after the keyspace lock is released, when other clients may already be
changing the deque itself.
"""

from __future__ import annotations

from collections import deque
from itertools import islice


class ListValue(deque):
    """A Redis list. Redis never stores an empty one: the command that removes the last
    element deletes the key, so every list in the keyspace has at least one element."""

    __slots__ = ()
    TYPE_NAME = "list"  # what TYPE answers

    def encoding(self) -> str:
        """OBJECT ENCODING: Redis 7.0 keeps every list, however small, as a quicklist."""
        return "quicklist"

    def copy(self) -> ListValue:
        """An independent list with the same elements (COPY); the bytes are shared."""
        return ListValue(self)

    def range(self, start: int, stop: int) -> list[bytes]:
        """The elements at positions ``start`` to ``stop - 1`` (0 <= start <= stop <= len).

        Like a quicklist iterator, walk from the nearer end: the last ten elements of a
        million are ten steps from the tail, not a million from the head.
        """
        length = len(self)
        if start > length - stop:
            return list(islice(reversed(self), length - stop, length - start))[::-1]
        return list(islice(self, start, stop))

    def remove_equal(self, element: bytes, count: int) -> int:
        """LREM: remove the first ``count`` elements equal to ``element`` (the last
        ``-count`` ones if negative, all of them if 0); return how many went.

        One pass that keeps the others, so removing many costs O(N), not O(N) each.
        """
        from_tail = count < 0
        limit = abs(count) or len(self)
        kept = []
        removed = 0
        for item in reversed(self) if from_tail else self:
            if removed < limit and item == element:
                removed += 1
            else:
                kept.append(item)
        if removed:
            if from_tail:
                kept.reverse()
            self.clear()
            self.extend(kept)
        return removed
