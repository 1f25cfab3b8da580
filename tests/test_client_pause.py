"""CLIENT PAUSE and UNPAUSE: errors as Redis gives them, and who is held."""

from __future__ import annotations

from tests.differential import compare
from tests.helpers import RawConnection, start_ours, wait_until

ERRORS = """
    CLIENT PAUSE
    CLIENT PAUSE x
    CLIENT PAUSE -1
    CLIENT PAUSE 10 foo
    CLIENT PAUSE 10 write x
    CLIENT PAUSE 0 write
    CLIENT UNPAUSE x
    CLIENT UNPAUSE
"""


def test_errors_match_redis(server, reference):
    compare(server.port, reference.port, ERRORS)


def _held_on(watcher: RawConnection, name: bytes) -> bool:
    """A client named ``name`` has sent its command and waits (CLIENT LIST cmd=)."""
    listing = watcher.call("CLIENT", "LIST")
    return any(b"name=" + name + b" " in line and b"cmd=set" in line for line in listing.split(b"\n"))


def test_write_pause_holds_writes_until_unpause():
    server = start_ours()
    try:
        with RawConnection(server.port) as admin, RawConnection(server.port) as writer:
            writer.call("CLIENT", "SETNAME", "writer")
            assert admin.call("CLIENT", "PAUSE", "60000", "WRITE") == b"+OK\r\n"
            writer.send_command("SET", "k", "v")
            wait_until(lambda: _held_on(admin, b"writer"), what="the SET to be held")
            assert admin.call("GET", "k") == b"$-1\r\n"  # reads go on; the write waits
            assert admin.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
            assert writer.read_raw() == b"+OK\r\n"
            assert admin.call("GET", "k") == b"$1\r\nv\r\n"
    finally:
        server.stop()


def test_all_pause_ends_by_itself():
    server = start_ours()
    try:
        with RawConnection(server.port) as admin, RawConnection(server.port) as other:
            assert admin.call("CLIENT", "PAUSE", "300", "ALL") == b"+OK\r\n"
            # Even a PING waits, as in Redis, until the 300 ms are over.
            assert other.call("PING") == b"+PONG\r\n"
            assert admin.call("SET", "k", "v") == b"+OK\r\n"
    finally:
        server.stop()


def test_no_touch_leaves_idle_time_alone():
    """CLIENT NO-TOUCH (Redis 7.2): reads keep a key's idle time; TOUCH still resets it."""
    server = start_ours()
    try:
        with RawConnection(server.port) as conn:
            assert conn.call("SET", "k", "v") == b"+OK\r\n"
            assert conn.call("CLIENT", "NO-TOUCH", "maybe") == b"-ERR syntax error\r\n"
            assert conn.call("CLIENT", "NO-TOUCH", "on") == b"+OK\r\n"
            assert b"flags=T" in conn.call("CLIENT", "INFO")
            wait_until(lambda: conn.call("OBJECT", "IDLETIME", "k") != b":0\r\n", what="the key to become idle")
            idle = conn.call("OBJECT", "IDLETIME", "k")
            assert conn.call("GET", "k") == b"$1\r\nv\r\n"
            assert conn.call("OBJECT", "IDLETIME", "k") != b":0\r\n" and idle != b":0\r\n"
            assert conn.call("TOUCH", "k") == b":1\r\n"
            assert conn.call("OBJECT", "IDLETIME", "k") == b":0\r\n"
            assert conn.call("CLIENT", "NO-TOUCH", "off") == b"+OK\r\n"
    finally:
        server.stop()
