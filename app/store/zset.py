"""The sorted set type: members with scores, kept in (score, member) order.

Like Redis' ``zset``, a sorted set is two structures holding the same members:

- ``scores``, a dict member -> score, answers ZSCORE and "is m a member?" in O(1);
- ``skiplist`` (app/store/skiplist.py) keeps the order, for ranges and ranks in O(log n).

The score objects are shared, so the second structure costs the nodes, not the scores.

Encoding
    Redis keeps a small sorted set in a *listpack* (one packed array, searched linearly)
    and converts it, one way, to the dict + skip list once it has more than
    ``zset-max-listpack-entries`` members (128) or a member longer than
    ``zset-max-listpack-value`` bytes (64). Here the representation is always the dict and
    the skip list; ``packed`` only remembers what Redis would use, because OBJECT ENCODING
    reports it, and because a listpack stores an integral score as an integer, which
    turns -0 into 0 (ZADD z -0 m; ZSCORE z m answers "0" for a small set, "-0" for a large
    one). Commands pass the thresholds in (`Limits`), read from the configuration when
    they run.
"""

from __future__ import annotations

import itertools
from operator import itemgetter, lt
from typing import NamedTuple

from app.store.skiplist import Node, SkipList


class Limits(NamedTuple):
    """zset-max-listpack-entries and zset-max-listpack-value, as a command reads them."""

    entries: int
    value: int


# --------------------------------------------------------------------------- ranges


class ScoreRange:
    """Scores between ``min`` and ``max``, each end inclusive or exclusive
    (ZRANGEBYSCORE z (1 5: 1 < score <= 5). Used by the skip list's range searches."""

    __slots__ = ("min", "max", "min_exclusive", "max_exclusive")

    def __init__(self, low: float, high: float, min_exclusive: bool = False, max_exclusive: bool = False):
        self.min, self.max = low, high
        self.min_exclusive, self.max_exclusive = min_exclusive, max_exclusive

    def empty(self) -> bool:
        return self.min > self.max or (self.min == self.max and (self.min_exclusive or self.max_exclusive))

    def gte_min(self, node: Node) -> bool:
        return node.score > self.min if self.min_exclusive else node.score >= self.min

    def lte_max(self, node: Node) -> bool:
        return node.score < self.max if self.max_exclusive else node.score <= self.max


class _Infinity:
    """The "-" and "+" of ZRANGEBYLEX: below and above every string."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


LEX_MIN = _Infinity("-")
LEX_MAX = _Infinity("+")


def _lex_compare(a, b) -> int:
    """Compare two range ends or members, "-" and "+" included (Redis' sdscmplex)."""
    if a is b:
        return 0
    if a is LEX_MIN or b is LEX_MAX:
        return -1
    if a is LEX_MAX or b is LEX_MIN:
        return 1
    return (a > b) - (a < b)


class LexRange:
    """Members between two strings (ZRANGEBYLEX z [a (c), compared as bytes. Meaningful
    when every score is the same, since the skip list is ordered by score first."""

    __slots__ = ("min", "max", "min_exclusive", "max_exclusive")

    def __init__(self, low, high, min_exclusive: bool, max_exclusive: bool):
        self.min, self.max = low, high
        self.min_exclusive, self.max_exclusive = min_exclusive, max_exclusive

    def empty(self) -> bool:
        order = _lex_compare(self.min, self.max)
        return order > 0 or (order == 0 and (self.min_exclusive or self.max_exclusive))

    def gte_min(self, node: Node) -> bool:
        order = _lex_compare(node.member, self.min)
        return order > 0 if self.min_exclusive else order >= 0

    def lte_max(self, node: Node) -> bool:
        order = _lex_compare(node.member, self.max)
        return order < 0 if self.max_exclusive else order <= 0


# --------------------------------------------------------------------------- the value

# SCAN cursors of a large sorted set: (snapshot id) * SCAN_POSITIONS + (position in it).
SCAN_POSITIONS = 2**32
SCAN_SNAPSHOTS = 4  # snapshots kept per sorted set for scans in progress
_scan_ids = itertools.count(1)
_MEMBER, _SCORE = itemgetter(0), itemgetter(1)  # of a (member, score) pair
_SCORE_THEN_MEMBER = itemgetter(1, 0)  # the skip list's order, for (member, score) pairs


class SortedSet:
    """A Redis sorted set. Redis never stores an empty one: the command that removes the
    last member deletes the key."""

    __slots__ = ("scores", "skiplist", "packed", "_scans")
    TYPE_NAME = "zset"  # what TYPE answers

    def __init__(self, packed: bool = True):
        self.scores: dict[bytes, float] = {}
        self.skiplist = SkipList()
        self.packed = packed  # what Redis would use: a listpack (True) or a skip list
        self._scans: dict[int, list[bytes]] | None = None

    def __len__(self) -> int:
        return len(self.scores)

    def __contains__(self, member: bytes) -> bool:
        return member in self.scores

    def encoding(self) -> str:
        """OBJECT ENCODING."""
        return "listpack" if self.packed else "skiplist"

    def copy(self) -> SortedSet:
        """An independent sorted set with the same members and encoding (COPY): the
        nodes are already in order, so the copy is linked in one pass."""
        twin = SortedSet(self.packed)
        twin.skiplist = SkipList.from_sorted((node.member, node.score) for node in self.skiplist)
        twin.scores = dict(self.scores)
        return twin

    @classmethod
    def built(cls, pairs, limits: Limits) -> SortedSet:
        """A new sorted set of (member, score) pairs (each member once), encoded as
        Redis encodes a result it stores (ZUNIONSTORE, GEOSEARCHSTORE...): built as a
        skip list, then packed if small enough (zsetConvertToListpackIfNeeded).

        The pairs are put in order first, then the skip list is linked in one pass
        (`from_columns`)."""
        pairs = list(pairs)
        return cls.from_columns(list(map(_MEMBER, pairs)), list(map(_SCORE, pairs)), limits)

    @classmethod
    def from_columns(cls, members: list[bytes], scores: list[float], limits: Limits) -> SortedSet:
        """`built` of ``members`` and their ``scores`` (lists this may reorder), as a file
        holds them.

        They often come in order, or in reverse (a file lists them highest first): when
        the scores then strictly rise, that is checked at C speed and they need no sort
        (a sort by (score, member) makes a tuple per pair and compares those)."""
        zset = cls(packed=False)
        zset.scores = table = dict(zip(members, scores))
        if len(table) < len(members):  # a member twice (a file the caller refuses): once, with its last score
            members, scores = list(table), list(table.values())
        if len(scores) > 1 and scores[0] > scores[-1]:
            members.reverse()
            scores.reverse()
        if all(map(lt, scores, itertools.islice(scores, 1, None))):
            ordered = zip(members, scores)
        else:  # ties, or out of order
            ordered = sorted(zip(members, scores), key=_SCORE_THEN_MEMBER)
        zset.skiplist = SkipList.from_sorted(ordered)
        if len(table) <= limits.entries and max(map(len, members), default=0) <= limits.value:
            zset._pack()
        return zset

    def _pack(self) -> None:
        """Become a listpack: -0 scores become 0 (a listpack stores them as integers)."""
        self.packed = True
        for node in self.skiplist:
            if node.score == 0.0:
                node.score = 0.0
                self.scores[node.member] = 0.0

    # --------------------------------------------------------------------------- members

    def score(self, member: bytes) -> float | None:
        return self.scores.get(member)

    def insert(self, member: bytes, score: float, limits: Limits) -> None:
        """Add a new member. A small set turns into a skip list first if this member would
        make it too long or is itself too long (Redis checks before inserting)."""
        if self.packed:
            if len(self.scores) + 1 > limits.entries or len(member) > limits.value:
                self.packed = False
            elif score == 0.0:
                score = 0.0  # -0 is stored as the integer 0
        self.scores[member] = score
        self.skiplist.insert(score, member)

    def update(self, member: bytes, score: float) -> None:
        """Give an existing member a new, different score."""
        if self.packed and score == 0.0:
            score = 0.0
        old = self.scores[member]
        self.skiplist.update_score(old, member, score)
        self.scores[member] = score

    def remove(self, member: bytes) -> bool:
        score = self.scores.pop(member, None)
        if score is None:
            return False
        self.skiplist.delete(score, member)
        return True

    def rank(self, member: bytes, reverse: bool = False) -> int | None:
        """0-based rank by ascending score (or descending with ``reverse``), or None."""
        score = self.scores.get(member)
        if score is None:
            return None
        rank = self.skiplist.rank(score, member)
        return len(self.scores) - 1 - rank if reverse else rank

    def pop(self, highest: bool) -> Node:
        """Remove and return the node with the lowest (or highest) score."""
        node = self.skiplist.tail if highest else self.skiplist.first()
        del self.scores[node.member]
        self.skiplist.delete(node.score, node.member)
        return node

    # --------------------------------------------------------------------------- ranges

    def by_rank(self, start: int, stop: int, reverse: bool = False) -> list[Node]:
        """The nodes of ranks ``start`` to ``stop`` inclusive (0 <= start <= stop < len),
        counted from the highest score with ``reverse``; one search, then a walk."""
        skiplist = self.skiplist
        found = []
        append = found.append
        if reverse:
            node = skiplist.tail if start == 0 else skiplist.by_rank(len(self.scores) - 1 - start)
            for _ in range(stop - start + 1):
                append(node)
                node = node.backward
        else:
            node = skiplist.first() if start == 0 else skiplist.by_rank(start)
            for _ in range(stop - start + 1):
                append(node)
                node = node.forward[0]
        return found

    # Redis answers range queries on a listpack by walking it from one end, and on a skip
    # list by descending its lanes. For a range by score, or by lex when every score is
    # the same (the only case ZRANGEBYLEX documents), both give the same answer. For a
    # lex range over unequal scores the members are not in lex order, the two walks stop
    # in different places, and Redis' answers depend on the encoding: so do ours.

    def first_in(self, spec) -> Node | None:
        """The first node inside ``spec`` (Redis: zzlFirstInRange / zslFirstInRange and
        their lex twins)."""
        skiplist = self.skiplist
        if not self.packed:
            return skiplist.first_in_range(spec)
        if not skiplist.overlaps(spec):
            return None
        node = skiplist.first()
        while node is not None:
            if spec.gte_min(node):
                return node if spec.lte_max(node) else None
            node = node.forward[0]
        return None

    def last_in(self, spec) -> Node | None:
        """The last node inside ``spec``."""
        skiplist = self.skiplist
        if not self.packed:
            return skiplist.last_in_range(spec)
        if not skiplist.overlaps(spec):
            return None
        node = skiplist.tail
        while node is not None:
            if spec.lte_max(node):
                return node if spec.gte_min(node) else None
            node = node.backward
        return None

    def in_range(self, spec, offset: int = 0, limit: int = -1, reverse: bool = False) -> list[Node]:
        """The nodes inside ``spec`` (a ScoreRange or LexRange), in order (reversed with
        ``reverse``), skipping ``offset`` of them and keeping at most ``limit`` (a
        negative limit keeps all), as ZRANGEBYSCORE ... LIMIT reads them."""
        node = self.last_in(spec) if reverse else self.first_in(spec)
        while node is not None and offset:
            node = node.backward if reverse else node.forward[0]
            offset -= 1
        found = []
        inside = spec.gte_min if reverse else spec.lte_max
        while node is not None and limit != 0 and inside(node):
            found.append(node)
            limit -= 1
            node = node.backward if reverse else node.forward[0]
        return found

    def count_in_range(self, spec) -> int:
        """How many nodes are inside ``spec`` (ZCOUNT, ZLEXCOUNT): a walk from the first
        for a listpack, the difference of two ranks for a skip list."""
        first = self.first_in(spec)
        if first is None:
            return 0
        if self.packed:
            count = 0
            while first is not None and spec.lte_max(first):
                count += 1
                first = first.forward[0]
            return count
        skiplist = self.skiplist
        length = len(skiplist)
        count = length - skiplist.rank(first.score, first.member)
        last = skiplist.last_in_range(spec)
        if last is not None:
            count -= length - 1 - skiplist.rank(last.score, last.member)
        return count

    def remove_range(self, spec) -> int:
        """Remove the members inside ``spec``; return how many."""
        if self.packed:
            # Redis: from the first node in range, delete while still inside it.
            node = self.first_in(spec)
            removed = []
            while node is not None and spec.lte_max(node):
                removed.append(node)
                node = node.forward[0]
            for node in removed:
                self.skiplist.delete(node.score, node.member)
        else:
            removed = self.skiplist.delete_range(spec)
        for node in removed:
            del self.scores[node.member]
        return len(removed)

    def remove_rank_range(self, start: int, stop: int) -> int:
        """Remove the members of ranks ``start`` to ``stop`` inclusive; return how many."""
        removed = self.skiplist.delete_rank_range(start, stop)
        for node in removed:
            del self.scores[node.member]
        return len(removed)

    def node_at(self, rank: int) -> Node:
        """The node at 0-based ``rank``: with a random rank, a uniformly random member in
        O(log n), which a dict alone cannot give (ZRANDMEMBER)."""
        return self.skiplist.by_rank(rank)

    # --------------------------------------------------------------------------- scan

    def scan(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """One step of ZSCAN over a large sorted set: about ``count`` members from
        ``cursor``; the next cursor (0 when done) and the members still present.

        Redis walks its dict in an order that survives rehashing; a Python dict has no
        such position, so, as the keyspace's SCAN does (app/store/keyspace.py), the first
        call takes a snapshot of the members and the cursor encodes (snapshot, position).
        Every member present for the whole scan is returned exactly once.
        """
        snapshot_id, position = divmod(cursor, SCAN_POSITIONS)
        scans = self._scans
        members = scans.get(snapshot_id) if scans and cursor else None
        if members is None:
            members = list(self.scores)
            snapshot_id = next(_scan_ids) % 2**31 or 1
            if scans is None:
                scans = self._scans = {}
            scans[snapshot_id] = members
            while len(scans) > SCAN_SNAPSHOTS:
                del scans[next(iter(scans))]
        batch = members[position : position + count]
        position += len(batch)
        scores = self.scores
        found = [member for member in batch if member in scores]
        if position >= len(members):
            scans.pop(snapshot_id, None)
            return 0, found
        return snapshot_id * SCAN_POSITIONS + position, found
