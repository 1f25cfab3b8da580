"""The skip list (app/store/skiplist.py) against the simplest model there is: a sorted
Python list of (score, member) pairs.

Hypothesis draws sequences of inserts, deletes and score updates from small alphabets
(so scores tie and members collide), then every query is checked against the model:
ranks, elements by rank, first and last in score and lex ranges, range deletes. After
every step the links themselves are checked: each level is sorted, every span equals the
number of level-0 steps it jumps, the backward pointers mirror the forward ones.
"""

from __future__ import annotations

import bisect
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from app.store.skiplist import MAX_LEVEL, SkipList, random_level
from app.store.zset import LEX_MAX, LEX_MIN, LexRange, ScoreRange

SCORES = st.sampled_from([-math.inf, -2.5, -1.0, 0.0, 1.0, 1.5, 2.0, 3.0, 1e300, math.inf])
MEMBERS = st.sampled_from([b"", b"a", b"aa", b"ab", b"b", b"\x00", b"\xff", b"c"])


def check_structure(skiplist: SkipList) -> list[tuple[float, bytes]]:
    """Assert every invariant of the links; return the pairs in level-0 order."""
    level0 = list(skiplist)
    position = {id(node): rank for rank, node in enumerate(level0, start=1)}
    position[id(skiplist.header)] = 0
    pairs = [(node.score, node.member) for node in level0]
    assert pairs == sorted(pairs)
    assert len(skiplist) == len(level0)
    assert skiplist.tail is (level0[-1] if level0 else None)
    assert 1 <= skiplist.level <= MAX_LEVEL
    for i in range(MAX_LEVEL):
        x = skiplist.header
        if i >= skiplist.level:
            assert x.forward[i] is None
            continue
        while x.forward[i] is not None:
            nxt = x.forward[i]
            assert x.span[i] == position[id(nxt)] - position[id(x)]
            x = nxt
        # A lane's last link leads nowhere and spans the nodes after it: an insert
        # there splits that span.
        assert x.span[i] == len(level0) - position[id(x)]
    previous = None
    for node in level0:
        assert node.backward is previous
        previous = node
    # The list's level is the highest any node has: no empty lanes on top.
    assert skiplist.level == 1 or skiplist.header.forward[skiplist.level - 1] is not None
    return pairs


class Model:
    """A sorted list of (score, member): the meaning of every skip list operation."""

    def __init__(self):
        self.pairs: list[tuple[float, bytes]] = []
        self.scores: dict[bytes, float] = {}

    def insert(self, score, member):
        bisect.insort(self.pairs, (score, member))
        self.scores[member] = score

    def delete(self, member):
        score = self.scores.pop(member)
        self.pairs.remove((score, member))
        return score


operation = st.one_of(
    st.tuples(st.just("insert"), SCORES, MEMBERS),
    st.tuples(st.just("delete"), SCORES, MEMBERS),
    st.tuples(st.just("update"), SCORES, MEMBERS),
    st.tuples(st.just("delete_range"), SCORES, SCORES),
    st.tuples(st.just("delete_ranks"), st.integers(0, 12), st.integers(0, 12)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(operation, max_size=60))
def test_operations_match_a_sorted_list(operations):
    skiplist, model = SkipList(), Model()
    for name, a, b in operations:
        if name == "insert" and b not in model.scores:
            node = skiplist.insert(a, b)
            assert (node.score, node.member) == (a, b)
            model.insert(a, b)
        elif name == "delete":
            if b in model.scores:
                score = model.delete(b)
                assert skiplist.delete(score, b)
            assert not skiplist.delete(a, b)  # gone, or never there
        elif name == "update" and b in model.scores:
            old = model.delete(b)
            node = skiplist.update_score(old, b, a)
            assert (node.score, node.member) == (a, b)
            model.insert(a, b)
        elif name == "delete_range":
            spec = ScoreRange(a, b)
            removed = [(n.score, n.member) for n in skiplist.delete_range(spec)]
            expected = [pair for pair in model.pairs if a <= pair[0] <= b]
            assert removed == expected
            for _score, member in expected:
                model.delete(member)
        elif name == "delete_ranks":
            start, stop = min(a, b), max(a, b)
            removed = [(n.score, n.member) for n in skiplist.delete_rank_range(start, stop)]
            expected = model.pairs[start : stop + 1]
            assert removed == expected
            for _score, member in expected:
                model.delete(member)
        assert check_structure(skiplist) == model.pairs


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(SCORES, MEMBERS), max_size=40), st.lists(operation, max_size=30))
def test_linked_in_one_pass_then_changed(pairs, operations):
    """A list linked from sorted pairs (as a loaded sorted set is) is one that inserts
    could have built: same links, spans and levels' meaning, and it changes alike."""
    model = Model()
    for score, member in pairs:
        if member not in model.scores:
            model.insert(score, member)
    skiplist = SkipList.from_sorted([(member, score) for score, member in model.pairs])
    assert check_structure(skiplist) == model.pairs
    for name, a, b in operations:
        if name == "insert" and b not in model.scores:
            skiplist.insert(a, b)
            model.insert(a, b)
        elif name == "delete" and b in model.scores:
            assert skiplist.delete(model.delete(b), b)
        elif name == "update" and b in model.scores:
            old = model.delete(b)
            skiplist.update_score(old, b, a)
            model.insert(a, b)
        elif name == "delete_ranks":
            start, stop = min(a, b), max(a, b)
            for node in skiplist.delete_rank_range(start, stop):
                model.delete(node.member)
        assert check_structure(skiplist) == model.pairs
        for rank, (score, member) in enumerate(model.pairs):
            assert skiplist.rank(score, member) == rank


def test_linked_in_one_pass_draws_levels_as_inserts_do():
    skiplist = SkipList.from_sorted((b"m%06d" % i, 1.0) for i in range(40000))
    levels = [len(node.forward) for node in skiplist]
    assert 0.72 < levels.count(1) / len(levels) < 0.78
    assert skiplist.level == max(levels) > 5
    check_structure(skiplist)


def build(pairs) -> tuple[SkipList, Model]:
    skiplist, model = SkipList(), Model()
    for score, member in pairs:
        if member not in model.scores:
            skiplist.insert(score, member)
            model.insert(score, member)
    return skiplist, model


PAIRS = st.lists(st.tuples(SCORES, MEMBERS), max_size=40)


@settings(max_examples=200, deadline=None)
@given(PAIRS)
def test_rank_and_element_by_rank(pairs):
    skiplist, model = build(pairs)
    for rank, (score, member) in enumerate(model.pairs):
        assert skiplist.rank(score, member) == rank
        node = skiplist.by_rank(rank)
        assert (node.score, node.member) == (score, member)
    assert skiplist.by_rank(len(model.pairs)) is None
    assert skiplist.rank(0.5, b"missing") is None
    for score, member in model.pairs:
        assert skiplist.rank(7.0, member) is None  # 7.0 is never a score here


ENDS = st.tuples(SCORES, st.booleans())


@settings(max_examples=300, deadline=None)
@given(PAIRS, ENDS, ENDS)
def test_first_and_last_in_a_score_range(pairs, low, high):
    skiplist, model = build(pairs)
    spec = ScoreRange(low[0], high[0], low[1], high[1])

    def inside(score):
        above = score > spec.min if spec.min_exclusive else score >= spec.min
        below = score < spec.max if spec.max_exclusive else score <= spec.max
        return above and below

    expected = [pair for pair in model.pairs if inside(pair[0])]
    first, last = skiplist.first_in_range(spec), skiplist.last_in_range(spec)
    assert (first.score, first.member) == expected[0] if expected else first is None
    assert (last.score, last.member) == expected[-1] if expected else last is None


LEX_ENDS = st.one_of(st.just(LEX_MIN), st.just(LEX_MAX), MEMBERS)


@settings(max_examples=300, deadline=None)
@given(st.lists(MEMBERS, max_size=20), LEX_ENDS, st.booleans(), LEX_ENDS, st.booleans())
def test_first_and_last_in_a_lex_range(members, low, low_exclusive, high, high_exclusive):
    """Every score the same, as ZRANGEBYLEX expects; "-" and "+" as either end."""
    skiplist, model = build((0.0, member) for member in members)
    if low in (LEX_MIN, LEX_MAX):
        low_exclusive = True
    if high in (LEX_MIN, LEX_MAX):
        high_exclusive = True
    spec = LexRange(low, high, low_exclusive, high_exclusive)
    rank = {LEX_MIN: 0, LEX_MAX: 2}

    def key(end):  # "-" below every string, "+" above
        return (rank[end], b"") if end in rank else (1, end)

    def inside(member):
        above = key(member) > key(low) if low_exclusive else key(member) >= key(low)
        below = key(member) < key(high) if high_exclusive else key(member) <= key(high)
        return above and below

    expected = [member for _score, member in model.pairs if inside(member)]
    first, last = skiplist.first_in_range(spec), skiplist.last_in_range(spec)
    assert (first.member if first else None) == (expected[0] if expected else None)
    assert (last.member if last else None) == (expected[-1] if expected else None)
    removed = [node.member for node in skiplist.delete_range(spec)]
    assert removed == expected
    check_structure(skiplist)


def test_a_thousand_members_in_random_order():
    """Large enough for several levels: ranks, deletes and updates stay consistent."""
    import random

    rng = random.Random(7)
    skiplist, model = SkipList(), Model()
    members = [b"m%04d" % i for i in range(1000)]
    rng.shuffle(members)
    for member in members:
        score = float(rng.randrange(100))
        skiplist.insert(score, member)
        model.insert(score, member)
    assert skiplist.level > 2
    for member in members[:300]:
        skiplist.delete(model.delete(member), member)
    for member in members[300:500]:
        old = model.delete(member)
        new = float(rng.randrange(100))
        skiplist.update_score(old, member, new)
        model.insert(new, member)
    assert check_structure(skiplist) == model.pairs
    for rank in range(0, 700, 37):
        score, member = model.pairs[rank]
        assert skiplist.rank(score, member) == rank
        assert skiplist.by_rank(rank).member == member


def test_levels_follow_the_quarter_distribution():
    """About 3/4 of the nodes have one level, 3/16 two..., as in Redis (ZSKIPLIST_P)."""
    levels = [random_level() for _ in range(40000)]
    share = levels.count(1) / len(levels)
    assert 0.72 < share < 0.78
    assert max(levels) <= MAX_LEVEL
