"""Protected mode decides from the peer's address and the default user. Only loopback
traffic is allowed on this machine, so the decision is tested directly, and the refusal
itself on a loopback connection is shown not to happen."""

from __future__ import annotations

import socket

from app.config import load_config
from app.server import PROTECTED_MODE_DENIED, is_loopback, refused_by_protected_mode
from app.state import ServerState
from tests.helpers import RawConnection, start_ours, wait_until


def test_loopback_addresses():
    assert is_loopback("127.0.0.1:5000") and is_loopback("127.3.2.1:1") and is_loopback("::1:6000")
    assert is_loopback("::ffff:127.0.0.1:7")
    assert not is_loopback("10.0.0.7:5000") and not is_loopback("192.168.1.2:1") and not is_loopback("::2:1")


def test_refused_only_without_a_password_and_with_protected_mode():
    state = ServerState(load_config([]))
    assert refused_by_protected_mode(state, "10.0.0.7:5000")
    assert not refused_by_protected_mode(state, "127.0.0.1:5000")
    state.config.set("requirepass", "secret")
    state.apply_config({"requirepass"})
    assert not refused_by_protected_mode(state, "10.0.0.7:5000")
    state.config.set("requirepass", "")
    state.apply_config({"requirepass"})
    state.config.set("protected-mode", "no")
    assert not refused_by_protected_mode(state, "10.0.0.7:5000")


def test_the_message_is_redis_own():
    assert PROTECTED_MODE_DENIED.startswith(b"-DENIED Redis is running in protected mode because protected mode")
    assert PROTECTED_MODE_DENIED.endswith(b"accepting connections from the outside.\r\n")


def test_loopback_clients_are_served():
    server = start_ours("--protected-mode", "yes")
    try:
        with RawConnection(server.port) as conn:
            assert conn.call("PING") == b"+PONG\r\n"
    finally:
        server.stop()


def test_a_client_past_the_query_buffer_limit_is_dropped():
    """client-query-buffer-limit (at least 1 MB): an unfinished command that grows past it
    ends the connection, and other clients go on."""
    server = start_ours("--client-query-buffer-limit", "1mb")
    try:
        with RawConnection(server.port) as greedy, RawConnection(server.port) as other:
            greedy.send(b"*2\r\n$4\r\nECHO\r\n$100000000\r\n")  # a 100 MB bulk, never sent whole
            chunk = b"x" * 65536
            try:
                for _ in range(64):  # 4 MB, past the limit
                    greedy.send(chunk)
            except OSError:
                pass  # the server closed it
            assert greedy.read_until_closed() == b""
            assert other.call("PING") == b"+PONG\r\n"
    finally:
        server.stop()


def test_config_set_port_rebinds_live():
    from tests.helpers import free_port

    server = start_ours()
    try:
        with RawConnection(server.port) as conn:
            new_port = free_port()
            assert conn.call("CONFIG", "SET", "port", new_port) == b"+OK\r\n"
            assert conn.call("PING") == b"+PONG\r\n"  # connections made before stay
            with RawConnection(new_port) as moved:
                assert moved.call("CONFIG", "GET", "port") == b"*2\r\n$4\r\nport\r\n$%d\r\n%d\r\n" % (
                    len(str(new_port)), new_port)
                taken = new_port
                # A port something else listens on: refused, nothing changed.
                with socket.create_server(("127.0.0.1", 0)) as blocker:
                    busy = blocker.getsockname()[1]
                    assert moved.call("CONFIG", "SET", "port", busy) == (
                        b"-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port\r\n")
                assert moved.call("CONFIG", "GET", "port").endswith(b"%d\r\n" % taken)
            wait_until(lambda: _refused(server.port), what="the old port to be closed")
    finally:
        server.stop()


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False
