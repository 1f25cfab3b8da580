"""The Pub/Sub stages of the CodeCrafters tester, one test each, in raw RESP as it speaks
it (see tests/test_stages_base.py)."""

from __future__ import annotations

import pytest

from tests.differential_streams import wait_for_no_subscribers
from tests.helpers import RawConnection
from tests.test_stages_transactions import send


@pytest.fixture(autouse=True)
def quiet(server):
    """PUBLISH counts every receiver: start where nobody is subscribed to anything."""
    wait_for_no_subscribers(server.port)


def bulks(*words: str) -> bytes:
    """An array of bulk strings (an integer for an int), as Redis encodes a pub/sub reply."""
    out = b"*%d\r\n" % len(words)
    for word in words:
        if isinstance(word, int):
            out += b":%d\r\n" % word
        else:
            out += b"$%d\r\n%s\r\n" % (len(word), word.encode())
    return out


def test_mx3_subscribe_to_a_channel(server):
    """SUBSCRIBE answers ["subscribe", channel, subscription count]."""
    with RawConnection(server.port) as client:
        assert send(client, "SUBSCRIBE", "mx3-foo") == bulks("subscribe", "mx3-foo", 1)


def test_zc8_subscribe_to_multiple_channels(server):
    """One reply per channel, the count growing per client; subscribing again to the
    same channel does not count it twice."""
    with RawConnection(server.port) as first, RawConnection(server.port) as second:
        assert send(first, "SUBSCRIBE", "zc8-a") == bulks("subscribe", "zc8-a", 1)
        first.send(b"*3\r\n$9\r\nSUBSCRIBE\r\n$5\r\nzc8-b\r\n$5\r\nzc8-c\r\n")
        assert first.read_raw() == bulks("subscribe", "zc8-b", 2)
        assert first.read_raw() == bulks("subscribe", "zc8-c", 3)
        for count, channel in enumerate(["zc8-a", "zc8-d", "zc8-e", "zc8-f"], start=1):
            assert send(second, "SUBSCRIBE", channel) == bulks("subscribe", channel, count)
        assert send(first, "SUBSCRIBE", "zc8-a") == bulks("subscribe", "zc8-a", 3)


def test_aw8_enter_subscribed_mode(server):
    """In subscribed mode other commands are refused, naming the command."""
    with RawConnection(server.port) as client:
        assert send(client, "SUBSCRIBE", "aw8-foo") == bulks("subscribe", "aw8-foo", 1)
        allowed = b"only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        assert send(client, "SET", "k", "v") == b"-ERR Can't execute 'set': " + allowed + b"\r\n"
        assert send(client, "GET", "k") == b"-ERR Can't execute 'get': " + allowed + b"\r\n"
        assert send(client, "ECHO", "hi") == b"-ERR Can't execute 'echo': " + allowed + b"\r\n"
        assert send(client, "SUBSCRIBE", "aw8-bar") == bulks("subscribe", "aw8-bar", 2)


def test_lf1_ping_in_subscribed_mode(server):
    """PING in subscribed mode answers ["pong", ""]; another client's PING is +PONG."""
    with RawConnection(server.port) as client, RawConnection(server.port) as other:
        assert send(client, "SUBSCRIBE", "lf1-foo") == bulks("subscribe", "lf1-foo", 1)
        assert send(client, "PING") == bulks("pong", "")
        assert send(other, "PING") == b"+PONG\r\n"


def test_hf2_publish_a_message(server):
    """PUBLISH answers how many clients received the message."""
    with RawConnection(server.port) as publisher:
        subscribers = [RawConnection(server.port) for _ in range(3)]
        try:
            for index, subscriber in enumerate(subscribers):
                channel = "hf2-foo" if index < 2 else "hf2-bar"
                assert send(subscriber, "SUBSCRIBE", channel) == bulks("subscribe", channel, 1)
            assert send(publisher, "PUBLISH", "hf2-foo", "hi") == b":2\r\n"
            assert send(publisher, "PUBLISH", "hf2-bar", "hi") == b":1\r\n"
            assert send(publisher, "PUBLISH", "hf2-nobody", "hi") == b":0\r\n"
        finally:
            for subscriber in subscribers:
                subscriber.close()


def test_dn4_deliver_messages(server):
    """Each subscriber receives ["message", channel, payload]; others get nothing."""
    with RawConnection(server.port) as publisher, RawConnection(server.port) as a, \
            RawConnection(server.port) as b:
        assert send(a, "SUBSCRIBE", "dn4-foo") == bulks("subscribe", "dn4-foo", 1)
        assert send(b, "SUBSCRIBE", "dn4-bar") == bulks("subscribe", "dn4-bar", 1)
        assert send(publisher, "PUBLISH", "dn4-foo", "hello") == b":1\r\n"
        assert send(publisher, "PUBLISH", "dn4-bar", "world") == b":1\r\n"
        assert a.read_raw() == bulks("message", "dn4-foo", "hello")
        assert b.read_raw() == bulks("message", "dn4-bar", "world")
        # Nothing else was waiting for either: the next reply is their PING's.
        assert send(a, "PING") == bulks("pong", "")
        assert send(b, "PING") == bulks("pong", "")


def test_ze9_unsubscribe(server):
    """UNSUBSCRIBE answers ["unsubscribe", channel, remaining]; no more messages come from
    that channel, and with none left the client leaves subscribed mode."""
    with RawConnection(server.port) as publisher, RawConnection(server.port) as client:
        assert send(client, "SUBSCRIBE", "ze9-foo") == bulks("subscribe", "ze9-foo", 1)
        assert send(client, "SUBSCRIBE", "ze9-bar") == bulks("subscribe", "ze9-bar", 2)
        assert send(client, "UNSUBSCRIBE", "ze9-foo") == bulks("unsubscribe", "ze9-foo", 1)
        assert send(publisher, "PUBLISH", "ze9-foo", "lost") == b":0\r\n"
        assert send(publisher, "PUBLISH", "ze9-bar", "kept") == b":1\r\n"
        assert client.read_raw() == bulks("message", "ze9-bar", "kept")
        assert send(client, "UNSUBSCRIBE", "ze9-bar") == bulks("unsubscribe", "ze9-bar", 0)
        assert send(client, "UNSUBSCRIBE", "ze9-never") == bulks("unsubscribe", "ze9-never", 0)
        assert send(client, "PING") == b"+PONG\r\n"
