"""Pub/sub compared with a real Redis: one connection's replies byte for byte, in RESP2
and RESP3 (tests/differential_streams.py reads however many replies each command
brings), then ordinary tests with several connections on our server.

Channel names are unique per test: a connection closed by one test may not be
unsubscribed yet when the next one publishes.
"""

from __future__ import annotations

import threading

import pytest
import redis

from app.protocol import ReplyParser
from tests.differential_streams import compare_steps, compare_streams, wait_for_no_subscribers, wait_until
from tests.helpers import RawConnection

TIMEOUT = 10  # seconds: a hang guard for redis-py calls



@pytest.fixture(autouse=True)
def quiet(request, server):
    """Every test here starts with nobody subscribed to anything, on both servers."""
    wait_for_no_subscribers(server.port)
    if "reference" in request.fixturenames:
        wait_for_no_subscribers(request.getfixturevalue("reference").port)


SCRIPTS = {
    "subscribe_and_counts": """
        SUBSCRIBE a b
        SUBSCRIBE a
        SUBSCRIBE c c
        PSUBSCRIBE p*
        PSUBSCRIBE p* q?
        SSUBSCRIBE s1
        SSUBSCRIBE s1 s2
        UNSUBSCRIBE a
        UNSUBSCRIBE a
        UNSUBSCRIBE nosuch
        PUNSUBSCRIBE q?
        PUNSUBSCRIBE nosuch
        SUNSUBSCRIBE s2
        SUNSUBSCRIBE nosuch
        = UNSUBSCRIBE
        PUNSUBSCRIBE
        SUNSUBSCRIBE
        PING
    """,
    "unsubscribe_with_nothing": """
        UNSUBSCRIBE
        PUNSUBSCRIBE
        SUNSUBSCRIBE
        UNSUBSCRIBE a b
        PUNSUBSCRIBE p*
        SUNSUBSCRIBE s
        PING
        SUBSCRIBE a
        PUNSUBSCRIBE
        SUNSUBSCRIBE
        UNSUBSCRIBE
        PING
    """,
    "unsubscribe_all_of_one_kind": """
        SUBSCRIBE a
        PSUBSCRIBE p
        SSUBSCRIBE s
        UNSUBSCRIBE
        PING
        PUNSUBSCRIBE
        PING
        SUNSUBSCRIBE
        PING
    """,
    "shard_channels_count_apart": """
        SSUBSCRIBE s1 s2
        SUBSCRIBE a
        SSUBSCRIBE s3
        PSUBSCRIBE p
        = SUNSUBSCRIBE
        PUNSUBSCRIBE
        UNSUBSCRIBE
    """,
    "ping_in_subscribed_mode": """
        SUBSCRIBE a
        PING
        PING hello
        PING ""
        PING a b
        UNSUBSCRIBE a
        PING
        PING hello
        PSUBSCRIBE p
        PING
        PUNSUBSCRIBE
        SSUBSCRIBE s
        PING x
        SUNSUBSCRIBE
    """,
    "commands_in_subscribed_mode": """
        SUBSCRIBE a
        SET k v
        GET k
        ECHO hi
        WATCH k
        UNWATCH
        PUBLISH a x
        PUBSUB NUMSUB a
        ~ CLIENT ID
        NOSUCHCOMMAND
        GET
        SUBSCRIBE
        QUIT x
    """,
    "transactions_refused_in_subscribed_mode": """
        SUBSCRIBE a
        MULTI
        DISCARD
        WATCH a
        UNSUBSCRIBE
        EXEC
    """,
    "hello_switches_subscribed_mode": """
        SUBSCRIBE a
        ~ HELLO 3
        GET k
        ~ HELLO 2
        GET k
        PING
        UNSUBSCRIBE
        PING
    """,
    "psubscribed_mode_too": """
        PSUBSCRIBE p*
        GET k
        SSUBSCRIBE s
        PUNSUBSCRIBE
        GET k
        SUNSUBSCRIBE
        GET k
    """,
    "reset_leaves_subscribed_mode": """
        SUBSCRIBE a b
        PSUBSCRIBE p*
        SSUBSCRIBE s
        RESET
        GET k
        PING
        PUBSUB NUMSUB a b
        PUBSUB NUMPAT
        PUBSUB SHARDNUMSUB s
    """,
    "publish_to_oneself": """
        SUBSCRIBE a
        PSUBSCRIBE *
        SSUBSCRIBE a
        PING
    """,
    "publish_counts": """
        PUBLISH nobody hello
        SPUBLISH nobody hello
        PUBLISH
        PUBLISH a
        PUBLISH a b c
        SPUBLISH a
        SPUBLISH a b c
    """,
    "pubsub_introspection": """
        SUBSCRIBE pi-a pi-b pi-c
        PSUBSCRIBE pi-* pi-?
        SSUBSCRIBE pi-s1 pi-s2
        UNSUBSCRIBE pi-c
    """,
    "arity_errors": """
        SUBSCRIBE
        PSUBSCRIBE
        SSUBSCRIBE
        PUBSUB
        PUBSUB NUMPAT x
        PUBSUB CHANNELS a b
        PUBSUB SHARDCHANNELS a b
        PUBSUB HELP x
        PUBSUB NOSUCH
        PUBSUB HELP
        pubsub numsub
        PUBSUB SHARDNUMSUB
    """,
    "binary_names": """
        SUBSCRIBE "a\\x00b" "\\xff" ""
        PSUBSCRIBE "p\\x00*"
        = UNSUBSCRIBE
        PUNSUBSCRIBE
    """,
}

# Scripts that also need the messages a connection publishes to itself, and the PUBSUB
# view of its own subscriptions (no other client uses these channel names).
SELF_SCRIPTS = {
    "publish_to_oneself_resp3": """
        SUBSCRIBE a
        PSUBSCRIBE a*
        SSUBSCRIBE a
        PUBLISH a hello
        PUBLISH ab hi
        SPUBLISH a shard
        PUBLISH b nothing
        PUBSUB NUMSUB a b
        PUBSUB NUMPAT
        PUBSUB SHARDNUMSUB a
        = PUBSUB CHANNELS
        = PUBSUB SHARDCHANNELS
        = UNSUBSCRIBE
        PUNSUBSCRIBE
        SUNSUBSCRIBE
        PUBLISH a after
    """,
    "introspection_of_oneself_resp3": """
        SUBSCRIBE intro-a intro-b intro-c
        PSUBSCRIBE intro-* intro-?
        SSUBSCRIBE intro-s1 intro-s2
        = PUBSUB CHANNELS intro-*
        PUBSUB CHANNELS intro-a
        PUBSUB CHANNELS intro-x*
        = PUBSUB SHARDCHANNELS intro-*
        PUBSUB SHARDCHANNELS intro-s1
        PUBSUB NUMSUB intro-a intro-x intro-a
        PUBSUB SHARDNUMSUB intro-s1 intro-x
        PUBSUB NUMPAT
        = UNSUBSCRIBE
        = PUNSUBSCRIBE
        = SUNSUBSCRIBE
        PUBSUB NUMPAT
        PUBSUB CHANNELS intro-*
    """,
}

RESP2_ONLY = {"transactions_refused_in_subscribed_mode"}

EXEC_REFUSED = """
    SUBSCRIBE a
    EXEC
    EXEC x
    UNSUBSCRIBE
    EXEC
"""

# Sent in one go, every byte compared (tests/differential_streams.py): a transaction
# would queue the PING that ends each step.
STREAMS = {
    # (Un)subscribe confirmations are pushed, like messages: Redis sends them whatever
    # the reply mode, in RESP2 too, while every other reply is muted.
    "subscribing_with_replies_off": """
        CLIENT REPLY OFF
        SUBSCRIBE ro1 ro2
        PING
        GET x
        PSUBSCRIBE ro*
        SSUBSCRIBE ros
        PUBLISH ro1 to-myself
        UNSUBSCRIBE ro1
        PUNSUBSCRIBE
        SUNSUBSCRIBE
        UNSUBSCRIBE
        PING
        CLIENT REPLY ON
    """,
    "subscribing_after_reply_skip": """
        CLIENT REPLY SKIP
        SUBSCRIBE rs1
        PING
        UNSUBSCRIBE
        CLIENT REPLY SKIP
        PING
        PING
    """,
    "transaction_of_a_subscriber": """
        SUBSCRIBE st
        SET k v
        GET k
        ECHO hi
        PING
        PING hi
        MULTI
        PUBLISH st inside
        GET k
        PING
        EXEC
        UNSUBSCRIBE st
    """,
    "shard_subscribe_refused_inside_a_transaction": """
        MULTI
        SSUBSCRIBE ss1
        PSUBSCRIBE ss-p
        SUBSCRIBE ss-c
        EXEC
        RESET
    """,
    "subscribe_inside_a_transaction": """
        MULTI
        SUBSCRIBE st2 st3
        PUBLISH st2 m
        PING
        EXEC
        PING
        UNSUBSCRIBE st3
        UNSUBSCRIBE st2
        PING
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_matches_redis(server, reference, name):
    compare_steps(server.port, reference.port, SCRIPTS[name], protocols=(2,) if name in RESP2_ONLY else (2, 3))


def test_exec_refused_in_subscribed_mode_matches_redis(server, reference):
    compare_steps(server.port, reference.port, EXEC_REFUSED, protocols=(2,))


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_streams_match_redis(server, reference, name):
    # RESP2 refuses the transaction of a subscriber (EXEC_REFUSED shows how).
    protocols = (3,) if name == "transaction_of_a_subscriber" else (2, 3)
    compare_streams(server.port, reference.port, STREAMS[name], protocols)


@pytest.mark.parametrize("name", sorted(SELF_SCRIPTS))
def test_resp3_matches_redis(server, reference, name):
    """In RESP3 a subscriber may run any command, PUBLISH to its own channels included:
    the message push comes before PUBLISH's reply."""
    compare_steps(server.port, reference.port, SELF_SCRIPTS[name], protocols=(3,))


# --------------------------------------------------------------------------- several clients

def parse(raw: bytes):
    (value,) = ReplyParser().parse(raw)
    return value


def _deliveries(port: int) -> list:
    """Who receives what, in which order, with channel and pattern subscriptions mixed."""
    with RawConnection(port) as chan, RawConnection(port, 3) as pat, RawConnection(port) as both, \
            RawConnection(port) as publisher:
        chan.call("SUBSCRIBE", "dl-news", "dl-sport")
        pat.call("PSUBSCRIBE", "dl-*")
        both.call("SUBSCRIBE", "dl-news")
        both.send_command("PSUBSCRIBE", "dl-n*", "dl-*")
        both.read(), both.read()
        seen = [publisher.call("PUBLISH", "dl-news", "one"),
                publisher.call("PUBLISH", "dl-sport", "two"),
                publisher.call("PUBLISH", "dl-other", "three"),
                publisher.call("SPUBLISH", "dl-news", "shard")]
        chan.read()  # the second SUBSCRIBE reply
        for connection, count in ((chan, 2), (pat, 3), (both, 5)):
            seen.append([connection.read() for _ in range(count)])
        return seen


def test_message_and_pmessage_delivery_match_redis(server, reference):
    """Channel subscribers get a message before pattern subscribers get a pmessage; a
    client matched by its channel and two patterns gets three copies and counts three
    times; shard channels are a separate namespace. (Between two patterns matching the
    same message Redis follows hash order, which varies between runs: compared sorted.)"""
    ours, theirs = _deliveries(server.port), _deliveries(reference.port)
    assert ours[:4] == theirs[:4] == [b":5\r\n", b":3\r\n", b":2\r\n", b":0\r\n"]
    assert ours[4:6] == theirs[4:6]
    assert sorted(ours[6]) == sorted(theirs[6])
    assert ours[6][0] == [b"message", b"dl-news", b"one"]
    assert sorted(ours[6][1:3]) == [[b"pmessage", b"dl-*", b"dl-news", b"one"],
                                    [b"pmessage", b"dl-n*", b"dl-news", b"one"]]
    assert ours[6][3:] == [[b"pmessage", b"dl-*", b"dl-sport", b"two"], [b"pmessage", b"dl-*", b"dl-other", b"three"]]


def _introspection(port: int) -> list[bytes]:
    with RawConnection(port) as a, RawConnection(port) as b, RawConnection(port) as observer:
        a.send_command("SUBSCRIBE", "in-x", "in-y")
        a.read(), a.read()
        b.call("SUBSCRIBE", "in-x")
        a.call("PSUBSCRIBE", "in-*")
        b.call("PSUBSCRIBE", "in-*")
        b.call("SSUBSCRIBE", "in-s")
        seen = [observer.call("PUBSUB", "NUMSUB", "in-x", "in-y", "in-z"),
                observer.call("PUBSUB", "SHARDNUMSUB", "in-s", "in-x"),
                observer.call("PUBSUB", "CHANNELS", "in-x"),
                sorted(parse(observer.call("PUBSUB", "CHANNELS", "in-?"))),
                observer.call("PUBSUB", "SHARDCHANNELS", "in-*"),
                observer.call("PUBLISH", "in-x", "m")]
        seen.append([b.read(), b.read()])  # the message, then the pmessage
        assert b.call("UNSUBSCRIBE", "in-x") == b"*3\r\n$11\r\nunsubscribe\r\n$4\r\nin-x\r\n:1\r\n"
        seen.append(observer.call("PUBSUB", "NUMSUB", "in-x"))
        seen.append(observer.call("PUBLISH", "in-x", "m"))
        return seen


def test_pubsub_introspection_with_other_clients_matches_redis(server, reference):
    """NUMSUB counts the subscribers of each channel (patterns apart), CHANNELS and
    SHARDCHANNELS list active ones, and PUBLISH counts every delivery."""
    ours = _introspection(server.port)
    theirs = _introspection(reference.port)
    assert ours == theirs
    assert ours[0] == b"*6\r\n$4\r\nin-x\r\n:2\r\n$4\r\nin-y\r\n:1\r\n$4\r\nin-z\r\n:0\r\n"
    assert ours[3] == [b"in-x", b"in-y"]
    assert ours[5] == b":4\r\n"


def test_numpat_counts_unique_patterns(server, reference):
    """Two clients on the same pattern make one pattern for NUMPAT, as in Redis 7.0."""
    for port in (server.port, reference.port):
        with RawConnection(port) as a, RawConnection(port) as b, RawConnection(port) as observer:
            before = int(observer.call("PUBSUB", "NUMPAT")[1:-2])
            a.call("PSUBSCRIBE", "np-*")
            b.call("PSUBSCRIBE", "np-*")
            assert observer.call("PUBSUB", "NUMPAT") == b":%d\r\n" % (before + 1)
            a.call("PUNSUBSCRIBE", "np-*")
            assert observer.call("PUBSUB", "NUMPAT") == b":%d\r\n" % (before + 1)
            b.call("PUNSUBSCRIBE", "np-*")
            assert observer.call("PUBSUB", "NUMPAT") == b":%d\r\n" % before


def test_messages_arrive_in_publish_order(server):
    """A thousand messages from two publishers arrive in the order PUBLISH ran, each
    publisher's own ones in its order."""
    with RawConnection(server.port) as subscriber, RawConnection(server.port) as p1, \
            RawConnection(server.port) as p2:
        subscriber.call("SUBSCRIBE", "order")
        for i in range(500):
            p1.send_command("PUBLISH", "order", f"a{i}")
            p2.send_command("PUBLISH", "order", f"b{i}")
        for _ in range(500):
            assert p1.read() == 1
            assert p2.read() == 1
        received = [subscriber.read()[2].decode() for _ in range(1000)]
        assert [m for m in received if m[0] == "a"] == [f"a{i}" for i in range(500)]
        assert [m for m in received if m[0] == "b"] == [f"b{i}" for i in range(500)]


def test_unsubscribe_stops_delivery(server):
    """After UNSUBSCRIBE and PUNSUBSCRIBE nothing more arrives from those."""
    with RawConnection(server.port) as subscriber, RawConnection(server.port) as publisher:
        subscriber.call("SUBSCRIBE", "us-a", "us-keep")
        subscriber.read()
        subscriber.call("PSUBSCRIBE", "us-p*")
        subscriber.call("UNSUBSCRIBE", "us-a")
        subscriber.call("PUNSUBSCRIBE", "us-p*")
        assert publisher.call("PUBLISH", "us-a", "x") == b":0\r\n"
        assert publisher.call("PUBLISH", "us-pz", "x") == b":0\r\n"
        assert publisher.call("PUBLISH", "us-keep", "last") == b":1\r\n"
        assert subscriber.read() == [b"message", b"us-keep", b"last"]  # nothing before it


def test_a_closed_subscriber_is_removed(server):
    """A subscriber that hangs up is unsubscribed: NUMSUB drops to 0 and PUBLISH counts
    nobody."""
    with RawConnection(server.port) as observer:
        subscriber = RawConnection(server.port)
        subscriber.call("SUBSCRIBE", "closing")
        subscriber.call("PSUBSCRIBE", "closing*")
        assert observer.call("PUBSUB", "NUMSUB", "closing") == b"*2\r\n$7\r\nclosing\r\n:1\r\n"
        subscriber.close()
        wait_until(lambda: observer.call("PUBSUB", "NUMSUB", "closing").endswith(b":0\r\n"), what="NUMSUB 0")
        wait_until(lambda: observer.call("PUBLISH", "closing", "x") == b":0\r\n", what="no pattern receiver")


def test_resp2_and_resp3_subscribers_get_their_own_encoding(server):
    """The same message reaches a RESP2 subscriber as an array and a RESP3 one as a push."""
    with RawConnection(server.port) as two, RawConnection(server.port, 3) as three, \
            RawConnection(server.port) as publisher:
        two.call("SUBSCRIBE", "enc")
        assert three.call("SUBSCRIBE", "enc") == b">3\r\n$9\r\nsubscribe\r\n$3\r\nenc\r\n:1\r\n"
        assert publisher.call("PUBLISH", "enc", "hi") == b":2\r\n"
        assert two.read_raw() == b"*3\r\n$7\r\nmessage\r\n$3\r\nenc\r\n$2\r\nhi\r\n"
        assert three.read_raw() == b">3\r\n$7\r\nmessage\r\n$3\r\nenc\r\n$2\r\nhi\r\n"


def test_redis_py_pubsub_round_trip(server):
    """redis-py's PubSub object, in RESP2 and RESP3, sees what it subscribed to."""
    for protocol in (2, 3):
        client = redis.Redis(socket_timeout=TIMEOUT, port=server.port, protocol=protocol)
        pubsub = client.pubsub()
        pubsub.subscribe(f"py-{protocol}")
        assert pubsub.get_message(timeout=5)["type"] == "subscribe"
        assert client.publish(f"py-{protocol}", "hello") == 1
        message = pubsub.get_message(timeout=5)
        assert message["type"] == "message" and message["data"] == b"hello"
        pubsub.close()
        client.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_replies_and_messages_interleave_intact(server, protocol):
    """A subscriber pipelining its own commands while another client publishes to it gets
    every reply and every message, each stream in order, none torn apart."""
    count = 2000
    with RawConnection(server.port, protocol) as subscriber, RawConnection(server.port) as publisher:
        subscriber.call("SUBSCRIBE", f"mix-{protocol}")

        def publish() -> None:
            for i in range(count):
                publisher.send_command("PUBLISH", f"mix-{protocol}", f"m{i}")
            for _ in range(count):
                assert publisher.read() == 1

        thread = threading.Thread(target=publish, daemon=True)
        thread.start()
        for i in range(count):
            subscriber.send_command("PING", f"p{i}")
        pongs, messages = [], []
        while len(pongs) < count or len(messages) < count:
            value = subscriber.read()
            if value[0] == b"message":
                messages.append(value[2])
            else:
                pongs.append(value[1] if protocol == 2 else value)
        thread.join(10)
        assert not thread.is_alive()
        assert pongs == [b"p%d" % i for i in range(count)]
        assert messages == [b"m%d" % i for i in range(count)]
