"""The Lists stages of the CodeCrafters tester, one test each, in raw RESP as it speaks it
(see tests/test_stages_base.py).

The blocking stages use several connections; a test learns that a client is blocked from
INFO's blocked_clients (`wait_until_blocked`), never by sleeping.
"""

from __future__ import annotations

import time

from tests.helpers import RawConnection
from tests.test_lists_blocking import wait_until_blocked


def cmd(*words: str) -> bytes:
    """A command as the tester sends it: an array of bulk strings."""
    out = b"*%d\r\n" % len(words)
    for word in words:
        out += b"$%d\r\n%s\r\n" % (len(word), word.encode())
    return out


def bulks(*words: str) -> bytes:
    """The reply Redis gives for an array of bulk strings."""
    return b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w.encode()) for w in words)


def send(connection: RawConnection, *words: str) -> bytes:
    connection.send(cmd(*words))
    return connection.read_raw()


def test_mh6_create_a_list(raw):
    """RPUSH to a missing key creates a list and answers its length."""
    raw.send(b"*3\r\n$5\r\nRPUSH\r\n$10\r\nlist_key_1\r\n$3\r\nfoo\r\n")
    assert raw.read_raw() == b":1\r\n"
    assert send(raw, "TYPE", "list_key_1") == b"+list\r\n"


def test_tn7_append_an_element(raw):
    """RPUSH to an existing list appends and answers the new length."""
    assert send(raw, "RPUSH", "fruits", "apple") == b":1\r\n"
    assert send(raw, "RPUSH", "fruits", "banana") == b":2\r\n"
    assert send(raw, "RPUSH", "fruits", "cherry") == b":3\r\n"
    assert send(raw, "LRANGE", "fruits", "0", "-1") == bulks("apple", "banana", "cherry")


def test_lx4_append_multiple_elements(raw):
    """RPUSH with several elements appends them in order."""
    assert send(raw, "RPUSH", "fruits", "apple", "banana") == b":2\r\n"
    assert send(raw, "RPUSH", "fruits", "cherry", "grape", "mango") == b":5\r\n"
    assert send(raw, "LRANGE", "fruits", "0", "-1") == bulks("apple", "banana", "cherry", "grape", "mango")


def test_sf6_lrange_positive_indexes(raw):
    """LRANGE start stop, both inclusive; past the end is cut, start > stop is empty."""
    assert send(raw, "RPUSH", "letters", "a", "b", "c", "d", "e") == b":5\r\n"
    raw.send(b"*4\r\n$6\r\nLRANGE\r\n$7\r\nletters\r\n$1\r\n0\r\n$1\r\n1\r\n")
    assert raw.read_raw() == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    assert send(raw, "LRANGE", "letters", "2", "4") == bulks("c", "d", "e")
    assert send(raw, "LRANGE", "letters", "3", "100") == bulks("d", "e")
    assert send(raw, "LRANGE", "letters", "3", "1") == b"*0\r\n"
    assert send(raw, "LRANGE", "letters", "5", "6") == b"*0\r\n"
    assert send(raw, "LRANGE", "missing", "0", "1") == b"*0\r\n"


def test_ri1_lrange_negative_indexes(raw):
    """Negative indexes count from the end; below the start they mean the start."""
    assert send(raw, "RPUSH", "letters", "a", "b", "c", "d", "e") == b":5\r\n"
    assert send(raw, "LRANGE", "letters", "-2", "-1") == bulks("d", "e")
    assert send(raw, "LRANGE", "letters", "0", "-3") == bulks("a", "b", "c")
    assert send(raw, "LRANGE", "letters", "-6", "1") == bulks("a", "b")
    assert send(raw, "LRANGE", "letters", "-1", "-2") == b"*0\r\n"


def test_gu5_prepend_elements(raw):
    """LPUSH puts each element at the head in turn: LPUSH k a b c gives c b a."""
    assert send(raw, "LPUSH", "fruits", "cherry") == b":1\r\n"
    assert send(raw, "LPUSH", "fruits", "banana", "apple") == b":3\r\n"
    assert send(raw, "LRANGE", "fruits", "0", "-1") == bulks("apple", "banana", "cherry")


def test_fv6_query_list_length(raw):
    """LLEN answers the length, 0 for a missing key."""
    assert send(raw, "RPUSH", "fruits", "apple", "banana", "cherry", "grape") == b":4\r\n"
    raw.send(b"*2\r\n$4\r\nLLEN\r\n$6\r\nfruits\r\n")
    assert raw.read_raw() == b":4\r\n"
    assert send(raw, "LLEN", "missing") == b":0\r\n"


def test_ef1_remove_an_element(raw):
    """LPOP removes and answers the first element; nil when there is none."""
    assert send(raw, "RPUSH", "fruits", "apple", "banana") == b":2\r\n"
    assert send(raw, "LPOP", "fruits") == b"$5\r\napple\r\n"
    assert send(raw, "LRANGE", "fruits", "0", "-1") == bulks("banana")
    assert send(raw, "LPOP", "fruits") == b"$6\r\nbanana\r\n"
    assert send(raw, "LPOP", "fruits") == b"$-1\r\n"
    assert send(raw, "EXISTS", "fruits") == b":0\r\n"  # an emptied list is deleted


def test_jp1_remove_multiple_elements(raw):
    """LPOP key count answers an array of up to count elements."""
    assert send(raw, "RPUSH", "fruits", "a", "b", "c", "d") == b":4\r\n"
    assert send(raw, "LPOP", "fruits", "2") == bulks("a", "b")
    assert send(raw, "LRANGE", "fruits", "0", "-1") == bulks("c", "d")
    assert send(raw, "LPOP", "fruits", "5") == bulks("c", "d")
    assert send(raw, "LPOP", "fruits", "2") == b"*-1\r\n"


def test_ec3_blocking_retrieval(server):
    """BLPOP key 0 waits for ever; a push serves the client that blocked first, the
    pusher's reply counts the pushed element, and the second client keeps waiting."""
    with RawConnection(server.port) as control, RawConnection(server.port) as first, \
            RawConnection(server.port) as second:
        control.call("DEL", "queue")
        first.send(cmd("BLPOP", "queue", "0"))
        wait_until_blocked(control, 1)
        second.send(cmd("BLPOP", "queue", "0"))
        wait_until_blocked(control, 2)
        assert send(control, "RPUSH", "queue", "pear") == b":1\r\n"
        assert first.read_raw() == bulks("queue", "pear")
        wait_until_blocked(control, 1)  # the second client still waits
        assert send(control, "LLEN", "queue") == b":0\r\n"
        assert send(control, "RPUSH", "queue", "plum") == b":1\r\n"
        assert second.read_raw() == bulks("queue", "plum")


def test_xj7_blocking_retrieval_with_timeout(server):
    """BLPOP key 0.1 answers a null array once 0.1 s has passed with nothing pushed, and
    the element when a push comes first."""
    with RawConnection(server.port) as control, RawConnection(server.port) as client:
        control.call("DEL", "xj7")
        started = time.monotonic()
        assert send(client, "BLPOP", "xj7", "0.1") == b"*-1\r\n"
        assert time.monotonic() - started >= 0.09  # it did wait, as the stage requires
        client.send(cmd("BLPOP", "xj7", "0.4"))
        wait_until_blocked(control, 1)
        assert send(control, "RPUSH", "xj7", "fig") == b":1\r\n"
        assert client.read_raw() == bulks("xj7", "fig")
