"""CLIENT TRACKING: the options, errors and invalidation messages, compared with a real
Redis connection by connection (RESP3 pushes, RESP2 redirection to __redis__:invalidate,
BCAST prefixes, NOLOOP, OPTIN/OPTOUT, flushes)."""

from __future__ import annotations

import pytest

from tests.differential import compare
from tests.helpers import RawConnection, redis_server_path, start_ours, start_reference

OPTIONS = """
    CLIENT TRACKINGINFO
    CLIENT GETREDIR
    CLIENT CACHING yes
    CLIENT TRACKING x
    CLIENT TRACKING on redirect abc
    CLIENT TRACKING on redirect 99999
    CLIENT TRACKING on prefix a
    CLIENT TRACKING on bcast optin
    CLIENT TRACKING on optin optout
    CLIENT TRACKING on bcast prefix ab prefix a
    CLIENT TRACKING on foo
    CLIENT TRACKING on redirect
    CLIENT TRACKING on optin
    CLIENT TRACKINGINFO
    CLIENT CACHING maybe
    CLIENT CACHING no
    CLIENT CACHING yes
    CLIENT TRACKINGINFO
    CLIENT TRACKING on optout
    CLIENT TRACKING on bcast
    CLIENT TRACKING off
    CLIENT TRACKING on bcast prefix a: prefix b: noloop
    CLIENT TRACKINGINFO
    CLIENT GETREDIR
    CLIENT TRACKING off
    CLIENT TRACKINGINFO
"""


def test_options_and_errors_match_redis(server, reference):
    compare(server.port, reference.port, OPTIONS)


def _session(port: int) -> list[bytes]:
    """Two clients: a tracking one (RESP3) and a writer; every byte the tracker gets."""
    got = []
    with RawConnection(port, protocol=3) as tracker, RawConnection(port) as writer:

        def drain():  # the tracker's pending pushes, then PING's reply, as bytes
            tracker.send_command("PING")
            while True:
                raw = tracker.read_raw()
                got.append(raw)
                if raw == b"+PONG\r\n":
                    return

        writer.call("FLUSHALL")
        got.append(tracker.call("CLIENT", "TRACKING", "on"))
        got.append(tracker.call("GET", "a"))
        got.append(tracker.call("MGET", "b", "c"))
        writer.call("SET", "a", "1")
        drain()
        writer.call("MSET", "b", "1", "c", "1", "d", "1")  # d was never read: nothing
        drain()
        writer.call("SET", "a", "2")  # a was forgotten after its invalidation
        drain()
        got.append(tracker.call("GET", "a"))
        got.append(tracker.call("SET", "a", "3"))  # its own write: after the reply
        drain()
        got.append(tracker.call("GET", "a"))
        writer.call("FLUSHDB")
        drain()
        got.append(tracker.call("CLIENT", "TRACKING", "off"))
        got.append(tracker.call("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "user:", "NOLOOP"))
        writer.call("SET", "user:1", "x")
        writer.call("SET", "other", "x")
        writer.call("INCR", "user:2")
        got.append(tracker.call("SET", "user:3", "x"))  # NOLOOP: not told of its own
        drain()
        got.append(tracker.call("CLIENT", "TRACKING", "off"))
        got.append(tracker.call("CLIENT", "TRACKING", "on", "OPTIN"))
        got.append(tracker.call("GET", "p"))
        got.append(tracker.call("CLIENT", "CACHING", "yes"))
        got.append(tracker.call("GET", "q"))
        writer.call("MSET", "p", "1", "q", "1")
        drain()
    return got


def _redirected(port: int) -> list[bytes]:
    """RESP2: invalidations go to another connection, subscribed to __redis__:invalidate."""
    got = []
    with RawConnection(port) as sink, RawConnection(port) as tracker, RawConnection(port) as writer:
        sink_id = int(sink.call("CLIENT", "ID")[1:-2])
        got.append(sink.call("SUBSCRIBE", "__redis__:invalidate"))
        got.append(tracker.call("CLIENT", "TRACKING", "on", "REDIRECT", sink_id))
        got.append(tracker.call("CLIENT", "GETREDIR").replace(str(sink_id).encode(), b"<id>"))
        got.append(tracker.call("GET", "r"))
        writer.call("SET", "r", "1")
        got.append(sink.read_raw())
        writer.call("FLUSHALL")
        got.append(sink.read_raw())
    return got


@pytest.mark.skipif(redis_server_path() is None, reason="redis-server is not installed")
def test_invalidations_match_redis(tmp_path):
    ours = start_ours()
    reference = start_reference(cwd=str(tmp_path))
    try:
        assert _session(ours.port) == _session(reference.port)
        assert _redirected(ours.port) == _redirected(reference.port)
    finally:
        ours.stop()
        reference.stop()
