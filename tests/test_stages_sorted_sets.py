"""The Sorted Sets stages of the CodeCrafters tester, one test each, in raw RESP as it
speaks it (see tests/test_stages_base.py)."""

from __future__ import annotations

from tests.test_stages_lists import bulks, cmd, send


def test_ct1_create_a_sorted_set(raw):
    """ZADD to a missing key creates a sorted set and counts the new member."""
    raw.send(b"*4\r\n$4\r\nZADD\r\n$6\r\nzset_1\r\n$3\r\n100\r\n$3\r\nfoo\r\n")
    assert raw.read_raw() == b":1\r\n"
    assert send(raw, "TYPE", "zset_1") == b"+zset\r\n"


def test_hf1_add_members(raw):
    """A new member counts 1; an existing one only has its score updated and counts 0."""
    assert send(raw, "ZADD", "racers", "20.0", "alice") == b":1\r\n"
    assert send(raw, "ZADD", "racers", "30.1", "bob") == b":1\r\n"
    assert send(raw, "ZADD", "racers", "25", "alice") == b":0\r\n"
    assert send(raw, "ZSCORE", "racers", "alice") == b"$2\r\n25\r\n"
    assert send(raw, "ZCARD", "racers") == b":2\r\n"


def test_lg6_retrieve_member_rank(raw):
    """ZRANK orders by score, ties by member bytes; nil for a missing member or key."""
    assert send(raw, "ZADD", "z", "100", "foo", "100", "bar", "20.5", "baz", "30.1", "caz", "40.2", "paz") == b":5\r\n"
    assert send(raw, "ZRANK", "z", "baz") == b":0\r\n"
    assert send(raw, "ZRANK", "z", "caz") == b":1\r\n"
    assert send(raw, "ZRANK", "z", "paz") == b":2\r\n"
    assert send(raw, "ZRANK", "z", "bar") == b":3\r\n"  # "bar" < "foo" at the same score
    assert send(raw, "ZRANK", "z", "foo") == b":4\r\n"
    assert send(raw, "ZRANK", "z", "missing") == b"$-1\r\n"
    assert send(raw, "ZRANK", "missing_key", "foo") == b"$-1\r\n"


def test_ic1_list_sorted_set_members(raw):
    """ZRANGE start stop with positive indexes, clamped like LRANGE."""
    assert send(raw, "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e") == b":5\r\n"
    raw.send(cmd("ZRANGE", "z", "0", "2"))
    assert raw.read_raw() == bulks("a", "b", "c")
    assert send(raw, "ZRANGE", "z", "3", "100") == bulks("d", "e")
    assert send(raw, "ZRANGE", "z", "3", "1") == b"*0\r\n"
    assert send(raw, "ZRANGE", "z", "5", "6") == b"*0\r\n"
    assert send(raw, "ZRANGE", "missing", "0", "1") == b"*0\r\n"


def test_bj4_zrange_with_negative_indexes(raw):
    """Negative indexes count from the end; below the start they mean the start."""
    assert send(raw, "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e") == b":5\r\n"
    assert send(raw, "ZRANGE", "z", "-2", "-1") == bulks("d", "e")
    assert send(raw, "ZRANGE", "z", "0", "-3") == bulks("a", "b", "c")
    assert send(raw, "ZRANGE", "z", "-10", "1") == bulks("a", "b")
    assert send(raw, "ZRANGE", "z", "-1", "-2") == b"*0\r\n"


def test_kn4_count_sorted_set_members(raw):
    """ZCARD answers the number of members, 0 for a missing key."""
    assert send(raw, "ZADD", "z", "1.5", "a", "2.5", "b") == b":2\r\n"
    assert send(raw, "ZCARD", "z") == b":2\r\n"
    assert send(raw, "ZADD", "z", "3", "c") == b":1\r\n"
    assert send(raw, "ZCARD", "z") == b":3\r\n"
    assert send(raw, "ZCARD", "missing") == b":0\r\n"


def test_gd7_retrieve_member_score(raw):
    """ZSCORE answers the score as a bulk string (Redis 7.0: %.17g), nil when missing."""
    assert send(raw, "ZADD", "z", "24.34", "a", "1.5", "b", "7", "c") == b":3\r\n"
    assert send(raw, "ZSCORE", "z", "a") == b"$5\r\n24.34\r\n"
    assert send(raw, "ZADD", "z", "1.1", "d") == b":1\r\n"
    assert send(raw, "ZSCORE", "z", "d") == b"$18\r\n1.1000000000000001\r\n"  # %.17g, as Redis 7.0 prints it
    assert send(raw, "ZSCORE", "z", "b") == b"$3\r\n1.5\r\n"
    assert send(raw, "ZSCORE", "z", "c") == b"$1\r\n7\r\n"
    assert send(raw, "ZADD", "z", "8.5", "c") == b":0\r\n"
    assert send(raw, "ZSCORE", "z", "c") == b"$3\r\n8.5\r\n"
    assert send(raw, "ZSCORE", "z", "missing") == b"$-1\r\n"
    assert send(raw, "ZSCORE", "missing", "a") == b"$-1\r\n"


def test_sq7_remove_a_member(raw):
    """ZREM counts the members removed; ZRANGE no longer lists them."""
    assert send(raw, "ZADD", "z", "1", "a", "2", "b", "3", "c") == b":3\r\n"
    assert send(raw, "ZREM", "z", "b") == b":1\r\n"
    assert send(raw, "ZREM", "z", "b") == b":0\r\n"
    assert send(raw, "ZREM", "z", "missing") == b":0\r\n"
    assert send(raw, "ZRANGE", "z", "0", "-1") == bulks("a", "c")
    assert send(raw, "ZCARD", "z") == b":2\r\n"
