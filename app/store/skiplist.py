"""A skip list with span counts: the ordered half of a sorted set (Redis: t_zset.c, zskiplist).

A sorted set must answer two kinds of question fast: "what is the score of m?" (a dict
answers that) and "which members are in this range, and where does m rank?" (that needs
order). Redis keeps the order in a skip list, William Pugh's structure: a linked list of
nodes sorted by (score, member), where each node also has a random number of extra
"express lanes" that skip over many nodes at once::

    level 2   H ------------------------------------> c --------------------------> None
    level 1   H ----------------> b ----------------> c ----------> e ------------> None
    level 0   H ------> a ------> b ------> c ------> d ----------> e ------------> None
                      (1, a)    (1, b)    (2, c)    (5, d)        (9, e)

A node reaches level k with probability 1/4**k, so a lane at level k skips about 4**k nodes,
and a search, which runs along the highest lane until the next step would overshoot and
then drops a level, visits O(log n) nodes. Unlike a balanced tree, nothing is ever
rebalanced: inserting a node only links it into the lanes it has.

Span counts
    Each link also records how many level-0 steps it jumps (its *span*). Adding up the
    spans of the links taken during a search gives the rank of the node reached, so
    ZRANK and "the 1000th element" (ZRANGE 1000 1000) are O(log n) too. The header's
    links count the step onto the first node, so ranks counted that way start at 1; this
    module's public methods speak 0-based ranks, as ZRANK does.

Order
    Nodes are ordered by score, then by member bytes (``bytes`` compare exactly like C's
    memcmp followed by length, as Redis' sdscmp does). Scores are never NaN: the commands
    refuse it before it gets here. A backward pointer at level 0 makes the list walkable
    from the tail (ZREVRANGE, ZPOPMAX).

Ranges
    The range methods take any object with ``gte_min(node)``, ``lte_max(node)`` and
    ``empty()`` (`ScoreRange` and `LexRange` in app/store/zset.py), so one search serves
    ZRANGEBYSCORE and ZRANGEBYLEX alike, as Redis' twin functions do.
"""

from __future__ import annotations

from random import random

MAX_LEVEL = 32  # ZSKIPLIST_MAXLEVEL: enough for 4**32 elements
P = 0.25  # ZSKIPLIST_P: the chance that a node reaching level k also reaches level k+1


class Node:
    """One member: its score, and at each of its levels the next node and the link's span.

    ``forward[i]`` and ``span[i]`` are Redis' ``level[i].forward`` and ``level[i].span``.
    """

    __slots__ = ("score", "member", "backward", "forward", "span")

    def __init__(self, level: int, score: float, member: bytes | None):
        self.score = score
        self.member = member
        self.backward: Node | None = None  # the previous node at level 0 (None for the first)
        self.forward: list[Node | None] = [None] * level
        self.span = [0] * level

    def __repr__(self) -> str:
        return f"Node({self.score!r}, {self.member!r}, level={len(self.forward)})"


def random_level() -> int:
    """A level for a new node: 1, 2, 3... with probability 3/4, 3/16, 3/64..."""
    level = 1
    while random() < P and level < MAX_LEVEL:
        level += 1
    return level


class SkipList:
    """Nodes in (score, member) order; see the module docstring. Every member appears at
    most once: the caller (app/store/zset.py) checks its dict before inserting."""

    __slots__ = ("header", "tail", "length", "level")

    def __init__(self):
        self.header = Node(MAX_LEVEL, 0.0, None)  # not an element: the start of every lane
        self.tail: Node | None = None
        self.length = 0
        self.level = 1  # the highest level any node has now

    def __len__(self) -> int:
        return self.length

    def first(self) -> Node | None:
        return self.header.forward[0]

    def __iter__(self):
        """Nodes from the lowest score to the highest."""
        node = self.header.forward[0]
        while node is not None:
            yield node
            node = node.forward[0]

    # --------------------------------------------------------------------------- search

    def _predecessors(self, score: float, member: bytes) -> list[Node]:
        """For each level, the last node before (score, member): the links an insert or a
        delete at that place must change (Redis' ``update`` array)."""
        update = [self.header] * self.level
        x = self.header
        for i in range(self.level - 1, -1, -1):
            nxt = x.forward[i]
            while nxt is not None and (nxt.score < score or (nxt.score == score and nxt.member < member)):
                x = nxt
                nxt = x.forward[i]
            update[i] = x
        return update

    # --------------------------------------------------------------------------- insert, delete

    def insert(self, score: float, member: bytes) -> Node:
        """Add ``member`` (not yet in the list) with ``score``; return its node."""
        level_now = self.level
        update = [self.header] * MAX_LEVEL
        # rank[i]: how many nodes lie before update[i], so that the spans of the new
        # links can be worked out from the ranks.
        rank = [0] * MAX_LEVEL
        x = self.header
        for i in range(level_now - 1, -1, -1):
            rank[i] = 0 if i == level_now - 1 else rank[i + 1]
            nxt = x.forward[i]
            while nxt is not None and (nxt.score < score or (nxt.score == score and nxt.member < member)):
                rank[i] += x.span[i]
                x = nxt
                nxt = x.forward[i]
            update[i] = x
        level = random_level()
        if level > level_now:
            # New lanes start at the header and, for now, jump over the whole list.
            for i in range(level_now, level):
                self.header.span[i] = self.length
            self.level = level
        node = Node(level, score, member)
        before = rank[0]  # the new node's 0-based rank
        for i in range(level):
            previous = update[i]
            node.forward[i] = previous.forward[i]
            previous.forward[i] = node
            # The old link from `previous` is split in two around the new node.
            node.span[i] = previous.span[i] - (before - rank[i])
            previous.span[i] = before - rank[i] + 1
        for i in range(level, level_now):
            update[i].span[i] += 1  # higher links now jump over one more node
        node.backward = None if update[0] is self.header else update[0]
        if node.forward[0] is not None:
            node.forward[0].backward = node
        else:
            self.tail = node
        self.length += 1
        return node

    @classmethod
    def from_sorted(cls, pairs) -> SkipList:
        """A skip list of (member, score) pairs already in (score, member) order, each
        member once, linked in one pass instead of an `insert` per pair, each of which
        would search from the top lane.

        Each node's level is drawn as `insert` draws it, so the list is one `insert`
        could have built. Walking in order, the last node linked so far on each lane is
        the one the next node of that level links from, and the span of that link is the
        difference of their ranks; a lane's last link, which leads nowhere, spans the
        nodes after it (none on lane 0), as `insert` keeps it."""
        skiplist = cls()
        header = skiplist.header
        last = [header] * MAX_LEVEL  # on each lane, the last node linked so far
        last_rank = [0] * MAX_LEVEL  # and its 1-based rank (the header's is 0)
        previous = header  # the last node linked on lane 0, which every node is on
        rank = 0
        top = 1
        new_node = Node.__new__  # its attributes are set here: no __init__ per node
        for member, score in pairs:
            rank += 1
            node = new_node(Node)
            node.score = score
            node.member = member
            node.backward = previous
            previous.forward[0] = node
            previous.span[0] = 1
            if random() >= P:  # level 1, three nodes in four: lane 0 is all there is to link
                node.forward = [None]
                node.span = [0]
            else:
                level = 2
                while random() < P and level < MAX_LEVEL:
                    level += 1
                node.forward = [None] * level
                node.span = [0] * level
                top = max(top, level)
                lane = 1
                while lane < level:
                    before = last[lane]
                    before.forward[lane] = node
                    before.span[lane] = rank - last_rank[lane]
                    last[lane] = node
                    last_rank[lane] = rank
                    lane += 1
            previous = node
        if rank:
            header.forward[0].backward = None  # the first node has no previous one
            skiplist.tail = previous
        previous.span[0] = 0
        for lane in range(1, top):
            last[lane].span[lane] = rank - last_rank[lane]
        skiplist.length = rank
        skiplist.level = top
        return skiplist

    def _unlink(self, node: Node, update: list[Node]) -> None:
        """Take ``node`` out of every lane (``update``: its predecessors, as found by a search)."""
        for i in range(self.level):
            previous = update[i]
            if previous.forward[i] is node:
                previous.span[i] += node.span[i] - 1
                previous.forward[i] = node.forward[i]
            else:
                previous.span[i] -= 1  # this lane passes above the node: one node fewer below
        if node.forward[0] is not None:
            node.forward[0].backward = node.backward
        else:
            self.tail = node.backward
        header = self.header
        while self.level > 1 and header.forward[self.level - 1] is None:
            self.level -= 1
        self.length -= 1

    def delete(self, score: float, member: bytes) -> bool:
        """Remove the node of (score, member); False if there is none."""
        update = self._predecessors(score, member)
        node = update[0].forward[0]
        if node is not None and node.score == score and node.member == member:
            self._unlink(node, update)
            return True
        return False

    def update_score(self, score: float, member: bytes, new_score: float) -> Node:
        """Change the score of (score, member), which must be in the list; return its node.

        If the node stays between the same neighbours, only its score changes (no search
        beyond the first, no relinking), as in Redis' zslUpdateScore; otherwise it moves.
        """
        update = self._predecessors(score, member)
        node = update[0].forward[0]
        assert node is not None and node.score == score and node.member == member
        previous, following = node.backward, node.forward[0]
        if (previous is None or previous.score < new_score) and (following is None or following.score > new_score):
            node.score = new_score
            return node
        self._unlink(node, update)
        return self.insert(new_score, member)

    # --------------------------------------------------------------------------- ranks

    def rank(self, score: float, member: bytes) -> int | None:
        """The 0-based rank of (score, member), or None if it is not in the list."""
        traversed = 0
        x = self.header
        for i in range(self.level - 1, -1, -1):
            nxt = x.forward[i]
            while nxt is not None and (nxt.score < score or (nxt.score == score and nxt.member <= member)):
                traversed += x.span[i]
                x = nxt
                nxt = x.forward[i]
            if x is not self.header and x.member == member and x.score == score:
                return traversed - 1
        return None

    def by_rank(self, rank: int) -> Node | None:
        """The node at 0-based ``rank``, or None past the end."""
        target = rank + 1  # spans count from the header, which is rank 0 of this count
        traversed = 0
        x = self.header
        for i in range(self.level - 1, -1, -1):
            nxt = x.forward[i]
            while nxt is not None and traversed + x.span[i] <= target:
                traversed += x.span[i]
                x = nxt
                nxt = x.forward[i]
            if traversed == target:
                return x
        return None

    # --------------------------------------------------------------------------- ranges

    def overlaps(self, spec) -> bool:
        """Whether any node can be in range ``spec``: a quick look at both ends first."""
        if spec.empty() or self.tail is None:
            return False
        return spec.gte_min(self.tail) and spec.lte_max(self.header.forward[0])

    def first_in_range(self, spec) -> Node | None:
        """The first node inside ``spec`` (a ScoreRange or LexRange), or None."""
        if not self.overlaps(spec):
            return None
        x = self.header
        for i in range(self.level - 1, -1, -1):
            nxt = x.forward[i]
            while nxt is not None and not spec.gte_min(nxt):  # run while still below the range
                x = nxt
                nxt = x.forward[i]
        x = x.forward[0]
        return x if x is not None and spec.lte_max(x) else None

    def last_in_range(self, spec) -> Node | None:
        """The last node inside ``spec``, or None."""
        if not self.overlaps(spec):
            return None
        x = self.header
        for i in range(self.level - 1, -1, -1):
            nxt = x.forward[i]
            while nxt is not None and spec.lte_max(nxt):  # run while still inside or below it
                x = nxt
                nxt = x.forward[i]
        return x if x is not self.header and spec.gte_min(x) else None

    def delete_range(self, spec) -> list[Node]:
        """Remove every node inside ``spec``; return them, in order."""
        update = [self.header] * self.level
        x = self.header
        for i in range(self.level - 1, -1, -1):
            nxt = x.forward[i]
            while nxt is not None and not spec.gte_min(nxt):
                x = nxt
                nxt = x.forward[i]
            update[i] = x
        removed = []
        x = x.forward[0]
        while x is not None and spec.lte_max(x):
            following = x.forward[0]
            self._unlink(x, update)
            removed.append(x)
            x = following
        return removed

    def delete_rank_range(self, start: int, stop: int) -> list[Node]:
        """Remove the nodes of 0-based ranks ``start`` to ``stop`` inclusive; return them."""
        update = [self.header] * self.level
        traversed = 0
        x = self.header
        for i in range(self.level - 1, -1, -1):
            nxt = x.forward[i]
            while nxt is not None and traversed + x.span[i] <= start:
                traversed += x.span[i]
                x = nxt
                nxt = x.forward[i]
            update[i] = x
        removed = []
        x = x.forward[0]
        while x is not None and traversed <= stop:
            following = x.forward[0]
            self._unlink(x, update)
            removed.append(x)
            traversed += 1
            x = following
        return removed
