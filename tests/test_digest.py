"""DEBUG DIGEST's algorithm (app/digest.py) on values built directly.

The expected digests were given by Redis 7.0.15 for the same values (DEBUG DIGEST-VALUE
and DEBUG DIGEST); tests/test_differential_debug.py compares whole keyspaces live.
"""

from __future__ import annotations

from app.digest import EMPTY, dataset_digest, hex_digest, mix, value_digest, xor
from app.store.hash import HashValue
from app.store.list import ListValue
from app.store.set import set_of
from app.store.stream import Stream
from app.store.zset import Limits, SortedSet

LIMITS = Limits(128, 64)


def _zset(pairs, limits: Limits = LIMITS) -> SortedSet:
    zset = SortedSet()
    for member, score in pairs:
        zset.insert(member, score, limits)
    return zset


def _hash(pairs) -> HashValue:
    value = HashValue()
    value.update(pairs, 128, 64)
    return value


def _stream() -> Stream:
    stream = Stream()
    stream.append((1, 1), (b"f", b"v", b"g", b"w"), 4096, 100)
    stream.append((2, 5), (b"a", b"b"), 4096, 100)
    return stream


# key -> (value, has a deadline, Redis 7.0.15's DEBUG DIGEST-VALUE)
REDIS_VALUES = {
    b"s": (b"hello", False, "36b23a1456b2dce2c3ed252c456761301dba8060"),
    b"l": (ListValue([b"a", b"b", b"c"]), False, "8bf72d812571eea9b927f3c11beb0c4165a6ff89"),
    b"i": (set_of([b"1", b"2", b"3"], 512), False, "2a462a3f51a1db89738ebbeef0c47ce1bbc85246"),
    b"t": (set_of([b"a", b"b", b"c"], 512), False, "593c2414786d75446e97f4ea5d4b731f3313da72"),
    # ZADD z 1 a 2.5 b 0.1 c -0 d inf e: scores written %.17g ("0.10000000000000001")
    b"z": (_zset([(b"a", 1.0), (b"b", 2.5), (b"c", 0.1), (b"d", -0.0), (b"e", float("inf"))]), False,
           "2b75193f8a440ffa22739b4ab2e178232230e197"),
    b"h": (_hash([(b"f", b"v"), (b"g", b"w")]), False, "d127864ed50239662bf61bafc9bda63c17da5b37"),
    b"x": (_stream(), False, "aa7798e490722215b86d551420dd12b5c665ae04"),
    b"e": (b"v", True, "311b17018163335616e089f6b951c82c477335ac"),  # SET e v PX 100000
}


def test_each_type_digests_as_redis():
    for key, (value, has_deadline, expected) in REDIS_VALUES.items():
        assert hex_digest(value_digest(value, has_deadline)) == expected, key


def test_the_whole_keyspace_digests_as_redis():
    data = {key: value for key, (value, _deadline, _expected) in REDIS_VALUES.items()}
    expires = {key: 1 for key, (_value, has_deadline, _expected) in REDIS_VALUES.items() if has_deadline}
    assert hex_digest(dataset_digest([(0, data, expires)])) == "594259c7e4e70aaa5f2359712821af1f31ca93f2"


def test_an_empty_keyspace_is_forty_zeros():
    assert hex_digest(dataset_digest([(0, {}, {}), (1, {}, {})])) == EMPTY == "0" * 40


def test_key_order_and_member_order_do_not_matter():
    first = {b"a": b"1", b"b": set_of([b"x", b"y", b"z"], 512)}
    second = {b"b": set_of([b"z", b"x", b"y"], 512), b"a": b"1"}
    assert dataset_digest([(0, first, {})]) == dataset_digest([(0, second, {})])
    assert value_digest(_hash([(b"f", b"1"), (b"g", b"2")]), False) == \
        value_digest(_hash([(b"g", b"2"), (b"f", b"1")]), False)


def test_list_order_matters_and_so_does_where_bytes_are_cut():
    assert value_digest(ListValue([b"a", b"b"]), False) != value_digest(ListValue([b"b", b"a"]), False)
    assert value_digest(ListValue([b"fo", b"obar"]), False) != value_digest(ListValue([b"foo", b"bar"]), False)


def test_the_database_number_and_a_deadline_count():
    data = {b"k": b"v"}
    assert dataset_digest([(0, data, {})]) != dataset_digest([(1, data, {})])
    assert dataset_digest([(0, data, {})]) != dataset_digest([(0, data, {b"k": 123})])
    # Only whether there is a deadline, not when: a replica agrees with its master.
    assert dataset_digest([(0, data, {b"k": 1})]) == dataset_digest([(0, data, {b"k": 2})])


def test_a_string_is_the_same_however_it_is_held():
    assert value_digest(b"abc", False) == value_digest(bytearray(b"abc"), False)


def test_a_sorted_set_score_is_its_printed_form():
    # -0 is kept by a skip list (printed "-0") and made 0 by a listpack (printed "0").
    packed = _zset([(b"m", -0.0)])
    unpacked = _zset([(b"m", -0.0)], Limits(0, 64))
    assert not unpacked.packed
    assert value_digest(packed, False) == value_digest(_zset([(b"m", 0.0)]), False)
    assert value_digest(packed, False) != value_digest(unpacked, False)


def test_xor_and_mix_are_redis_steps():
    # xorDigest is order-free and its own inverse; mixDigest is neither.
    assert xor(xor(0, b"a"), b"b") == xor(xor(0, b"b"), b"a")
    assert xor(xor(0, b"a"), b"a") == 0
    assert mix(mix(0, b"a"), b"b") != mix(mix(0, b"b"), b"a")
