"""What cannot be compared byte for byte with Redis: random picks and scan cursors.

ZRANDMEMBER must pick uniformly (Redis' own tests check the distribution with a
chi-square test), with or without repetition; ZSCAN of a large sorted set must return
every member present for the whole scan, whatever COUNT, while members come and go.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.helpers import RawConnection

MEMBERS = [b"m%02d" % i for i in range(20)]


def members_of(reply: bytes, step: int = 1) -> list[bytes]:
    """The bulk strings of a flat array reply (every ``step``-th one)."""
    lines = reply.split(b"\r\n")
    return [lines[i] for i in range(2, len(lines) - 1, 2)][::step]


@pytest.fixture
def zset20(server):
    with RawConnection(server.port) as connection:
        connection.call("FLUSHALL")
        args = [word for i, member in enumerate(MEMBERS) for word in (str(i), member)]
        assert connection.call("ZADD", "z", *args) == b":20\r\n"
        yield connection


def chi_square(counts: Counter, expected: float) -> float:
    return sum((counts[member] - expected) ** 2 / expected for member in MEMBERS)


# With 19 degrees of freedom, chi-square exceeds 50 with probability about 1e-4.
CHI_SQUARE_LIMIT = 50


def test_picks_with_repetition_are_uniform(zset20):
    counts = Counter(members_of(zset20.call("ZRANDMEMBER", "z", "-20000")))
    assert sum(counts.values()) == 20000
    assert chi_square(counts, 1000) < CHI_SQUARE_LIMIT


def test_single_picks_are_uniform(zset20):
    zset20.send(b"ZRANDMEMBER z\r\n" * 4000)
    counts = Counter(zset20.read_raw().split(b"\r\n")[1] for _ in range(4000))
    assert set(counts) <= set(MEMBERS)
    assert chi_square(counts, 200) < CHI_SQUARE_LIMIT


def test_distinct_picks_are_distinct_and_uniform(zset20):
    counts = Counter()
    for count in (5, 15):  # below and above a third of the set: Redis' two strategies
        zset20.send(b"ZRANDMEMBER z %d\r\n" % count * 1000)
        for _ in range(1000):
            picked = members_of(zset20.read_raw())
            assert len(picked) == len(set(picked)) == count
            counts.update(picked)
    assert chi_square(counts, 20000 / 20) < CHI_SQUARE_LIMIT


def test_picks_with_scores_pair_each_member_with_its_score(zset20):
    reply = members_of(zset20.call("ZRANDMEMBER", "z", "-50", "WITHSCORES"))
    for member, score in zip(reply[::2], reply[1::2]):
        assert int(score) == MEMBERS.index(member)


@pytest.mark.parametrize("count", [1, 7, 100])
def test_a_full_zscan_returns_every_member_present_throughout(server, reference, count):
    """On both servers: 300 members (a skip list), a scan that adds and removes members
    between its calls returns each member that stayed, and nothing that never existed."""
    for port in (server.port, reference.port):
        with RawConnection(port) as connection:
            connection.call("FLUSHALL")
            args = [word for i in range(300) for word in (str(i), b"k%03d" % i)]
            connection.call("ZADD", "z", *args)
            cursor, seen, step = b"0", [], 0
            while True:
                reply = connection.call("ZSCAN", "z", cursor, "COUNT", count)
                lines = reply.split(b"\r\n")
                cursor = lines[2]
                seen += [lines[i] for i in range(5, len(lines) - 1, 4)]
                step += 1
                connection.call("ZREM", "z", b"k%03d" % (step % 300))  # some go...
                connection.call("ZADD", "z", "1", b"new%d" % step)  # ...some come
                if cursor == b"0":
                    break
            stayed = {b"k%03d" % i for i in range(300)} - {b"k%03d" % (s % 300) for s in range(1, step + 1)}
            assert stayed <= set(seen)
            assert set(seen) <= {b"k%03d" % i for i in range(300)} | {b"new%d" % s for s in range(1, step + 1)}
