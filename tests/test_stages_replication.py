"""CodeCrafters "Replication" extension, one test per stage, as the tester drives it.

As a master, our server is talked to by fake replicas: raw sockets that do the
handshake and then read the replication stream byte for byte. As a replica, it connects
to a fake master: a listening socket in this test that reads the handshake, sends
+FULLRESYNC, the tester's empty RDB and commands, and reads the ACKs.
"""

from __future__ import annotations

import base64
import re
import socket
import time

import pytest

from app.config import Config
from app.persistence import rdb
from app.protocol import RequestParser, encode_command
from tests.helpers import RawConnection, free_port, start_ours, wait_until

# The empty RDB file the tester sends as a fake master (version 11, written by 7.2).
EMPTY_RDB = base64.b64decode(
    "UkVESVMwMDEx+glyZWRpcy12ZXIFNy4yLjD6CnJlZGlzLWJpdHPAQPoFY3RpbWXCbQi8ZfoIdXNlZC1tZW3CsMQQAPoIYW9mLWJhc2XAAP/wbjv+wP9aog=="
)
GETACK = encode_command([b"REPLCONF", b"GETACK", b"*"])


def command(*args) -> bytes:
    return encode_command([a if isinstance(a, bytes) else str(a).encode() for a in args])


class Peer:
    """One end of a replication link: reads RESP commands or raw bytes, sends bytes."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.sock.settimeout(10)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("peer closed the connection")
        self.buffer += data

    def read_command(self) -> list[bytes]:
        """The next command the other side sent (it sends RESP arrays)."""
        while True:
            parser = RequestParser()
            commands, error = parser.parse(self.buffer)
            assert error is None
            if commands:
                consumed = len(encode_command(commands[0]))
                self.buffer = self.buffer[consumed:]
                return commands[0]
            self._fill()

    def read_exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self._fill()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def read_line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def close(self) -> None:
        self.sock.close()


# --------------------------------------------------------------------------- our server as a master


def handshake_as_replica(port: int, capa: tuple[str, ...] = ("psync2",)) -> tuple[Peer, bytes, bytes]:
    """Connect to our master as the tester's fake replica does (REPLCONF capa psync2:
    without "eof" the RDB comes at once, in the `$<len>` form); return the link, the
    FULLRESYNC line and the RDB payload (read as `$<len>\\r\\n<bytes>`, no CRLF after)."""
    peer = Peer(socket.create_connection(("127.0.0.1", port)))
    peer.send(command("PING"))
    assert peer.read_line() == b"+PONG"
    peer.send(command("REPLCONF", "listening-port", "6380"))
    assert peer.read_line() == b"+OK"
    capa_args = [word for name in capa for word in ("capa", name)]
    peer.send(command("REPLCONF", *capa_args))
    assert peer.read_line() == b"+OK"
    peer.send(command("PSYNC", "?", "-1"))
    resync = peer.read_line()
    header = peer.read_line()
    assert header.startswith(b"$")
    payload = peer.read_exactly(int(header[1:]))
    return peer, resync, payload


@pytest.fixture
def master():
    server = start_ours()
    yield server
    server.stop()


def test_bw1_configure_listening_port():
    port = free_port()
    server = start_ours(port=port)
    try:
        with RawConnection(port) as conn:
            assert conn.call("PING") == b"+PONG\r\n"
    finally:
        server.stop()


def _info_replication(port: int) -> dict[str, str]:
    with RawConnection(port) as conn:
        conn.send_command("INFO", "replication")
        text = conn.read()
    return dict(line.split(":", 1) for line in text.decode().split("\r\n") if ":" in line)


def test_ye5_info_replication_says_master(master):
    assert _info_replication(master.port)["role"] == "master"


def test_xc1_replication_id_and_offset(master):
    info = _info_replication(master.port)
    assert re.fullmatch(r"[0-9a-zA-Z]{40}", info["master_replid"])
    assert info["master_repl_offset"] == "0"


def test_fj0_vm3_master_answers_the_handshake(master):
    peer, resync, _payload = handshake_as_replica(master.port)
    replid = _info_replication(master.port)["master_replid"]
    assert resync == b"+FULLRESYNC %s 0" % replid.encode()
    peer.close()


def test_cf8_empty_rdb_transfer_without_trailing_crlf(master):
    peer, _resync, payload = handshake_as_replica(master.port)
    assert rdb.parse(payload, Config(), now=0) == []  # a valid, empty RDB file
    # What follows the RDB is the stream itself: no CRLF in between.
    with RawConnection(master.port) as client:
        assert client.call("SET", "foo", "1") == b"+OK\r\n"
    assert peer.read_exactly(len(command("SET", "foo", "1"))) == command("SET", "foo", "1")
    peer.close()


def test_zn8_single_replica_propagation(master):
    peer, _resync, _payload = handshake_as_replica(master.port)
    with RawConnection(master.port) as client:
        for key, value in (("foo", 1), ("bar", 2), ("baz", 3)):
            assert client.call("SET", key, value) == b"+OK\r\n"
        assert client.call("GET", "foo") == b"$1\r\n1\r\n"  # reads are not propagated
        assert client.call("ECHO", "hi") == b"$2\r\nhi\r\n"
        assert client.call("SET", "last", "x") == b"+OK\r\n"
    expected = [[b"SET", b"foo", b"1"], [b"SET", b"bar", b"2"], [b"SET", b"baz", b"3"], [b"SET", b"last", b"x"]]
    assert [peer.read_command() for _ in expected] == expected
    peer.close()


def test_hd5_multi_replica_propagation(master):
    peers = [handshake_as_replica(master.port)[0] for _ in range(3)]
    with RawConnection(master.port) as client:
        assert client.call("SET", "foo", "1") == b"+OK\r\n"
        assert client.call("SET", "bar", "2") == b"+OK\r\n"
    for peer in peers:
        assert peer.read_command() == [b"SET", b"foo", b"1"]
        assert peer.read_command() == [b"SET", b"bar", b"2"]
        peer.close()


def test_my8_wait_with_no_replicas_answers_at_once(master):
    with RawConnection(master.port) as client:
        # A timeout of a minute: if WAIT blocked, the 10 s socket timeout would fail the test.
        assert client.call("WAIT", "0", "60000") == b":0\r\n"


def test_tu8_wait_with_no_writes_counts_every_replica(master):
    peers = [handshake_as_replica(master.port)[0] for _ in range(3)]
    with RawConnection(master.port) as client:
        assert client.call("WAIT", "3", "60000") == b":3\r\n"
    for peer in peers:
        peer.close()


def test_na2_wait_after_writes_asks_for_acks_and_counts_them(master):
    peers = [handshake_as_replica(master.port)[0] for _ in range(3)]
    with RawConnection(master.port) as client:
        assert client.call("SET", "foo", "123") == b"+OK\r\n"
        assert client.call("SET", "bar", "456") == b"+OK\r\n"
        started = time.monotonic()
        client.send_command("WAIT", "3", "500")
        offset = 0
        for peer in peers:
            assert peer.read_command() == [b"SET", b"foo", b"123"]
            assert peer.read_command() == [b"SET", b"bar", b"456"]
            assert peer.read_command() == [b"REPLCONF", b"GETACK", b"*"]
        offset = len(command("SET", "foo", "123")) + len(command("SET", "bar", "456"))
        for peer in peers[:2]:  # the third never answers
            peer.send(command("REPLCONF", "ACK", offset))
        assert client.read_raw() == b":2\r\n"
        assert time.monotonic() - started >= 0.5  # it waited for the third until the timeout
        # Enough acknowledgements end WAIT at once: 2 of them are in already.
        assert client.call("WAIT", "2", "60000") == b":2\r\n"
    for peer in peers:
        peer.close()


def test_wait_returns_as_soon_as_enough_replicas_acknowledged(master):
    peers = [handshake_as_replica(master.port)[0] for _ in range(2)]
    with RawConnection(master.port) as client:
        assert client.call("INCR", "n") == b":1\r\n"
        client.send_command("WAIT", "2", "0")  # 0: no timeout at all
        for peer in peers:
            assert peer.read_command() == [b"INCR", b"n"]
            assert peer.read_command() == [b"REPLCONF", b"GETACK", b"*"]
            peer.send(command("REPLCONF", "ACK", len(command("INCR", "n"))))
        assert client.read_raw() == b":2\r\n"
    for peer in peers:
        peer.close()


# --------------------------------------------------------------------------- our server as a replica


class FakeMaster:
    """A listening socket that plays the tester's master."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.port = self.listener.getsockname()[1]

    def accept(self) -> Peer:
        sock, _address = self.listener.accept()
        return Peer(sock)

    def handshake(self, replica_port: int) -> Peer:
        """Expect the replica's handshake, answer it, and leave the link open."""
        peer = self.accept()
        assert peer.read_command() == [b"PING"]
        peer.send(b"+PONG\r\n")
        assert peer.read_command() == [b"REPLCONF", b"listening-port", str(replica_port).encode()]
        peer.send(b"+OK\r\n")
        # As Redis: both capabilities at once (the tester takes one or two).
        assert peer.read_command() == [b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]
        peer.send(b"+OK\r\n")
        assert peer.read_command() == [b"PSYNC", b"?", b"-1"]
        return peer

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def fake_master():
    fake = FakeMaster()
    yield fake
    fake.close()


def _replica_of(fake: FakeMaster, two_words: bool = False):
    port = free_port()
    if two_words:
        return start_ours("--replicaof", "localhost", str(fake.port), port=port), port
    return start_ours("--replicaof", f"localhost {fake.port}", port=port), port


def _full_resync(peer: Peer, then: bytes = b"") -> None:
    """+FULLRESYNC, the RDB and ``then``, in one TCP segment, as a fast master may."""
    replid = b"75cd7bc10c49047e0d163660f3b90625b1af31dc"
    peer.send(b"+FULLRESYNC %s 0\r\n$%d\r\n%s%s" % (replid, len(EMPTY_RDB), EMPTY_RDB, then))


def test_hc6_info_replication_on_a_replica_says_slave(fake_master):
    replica, port = _replica_of(fake_master)
    try:
        info = _info_replication(port)
        assert info["role"] == "slave"
        assert info["master_host"] == "localhost"
        assert info["master_port"] == str(fake_master.port)
    finally:
        replica.stop()


@pytest.mark.parametrize("two_words", [False, True], ids=["quoted", "two-words"])
def test_gl7_eh4_ju6_replica_sends_the_handshake(fake_master, two_words):
    replica, port = _replica_of(fake_master, two_words)
    try:
        peer = fake_master.handshake(port)  # PING, REPLCONF listening-port, capa eof capa psync2, PSYNC ? -1
        peer.close()
    finally:
        replica.stop()


def test_yg4_replica_processes_the_stream_silently(fake_master):
    replica, port = _replica_of(fake_master)
    try:
        peer = fake_master.handshake(port)
        _full_resync(peer, command("SET", "foo", "123") + command("SET", "bar", "456") + command("SET", "baz", "789"))
        with RawConnection(port) as client:
            wait_until(lambda: client.call("GET", "baz") == b"$3\r\n789\r\n", what="the stream applied")
            assert client.call("GET", "foo") == b"$3\r\n123\r\n"
            assert client.call("GET", "bar") == b"$3\r\n456\r\n"
        # Nothing was answered to the master: the next bytes it gets answer the GETACK.
        peer.send(GETACK)
        expected_offset = 3 * len(command("SET", "foo", "123"))
        assert peer.read_command() == [b"REPLCONF", b"ACK", str(expected_offset).encode()]
        peer.close()
    finally:
        replica.stop()


def test_xv6_ack_with_no_commands_is_zero(fake_master):
    replica, port = _replica_of(fake_master)
    try:
        peer = fake_master.handshake(port)
        _full_resync(peer, GETACK)  # right after the RDB, in the same segment
        assert peer.read_command() == [b"REPLCONF", b"ACK", b"0"]
        peer.close()
    finally:
        replica.stop()


def test_yd3_ack_counts_the_bytes_processed_before_getack(fake_master):
    replica, port = _replica_of(fake_master)
    try:
        peer = fake_master.handshake(port)
        _full_resync(peer)
        peer.send(GETACK)
        assert peer.read_command() == [b"REPLCONF", b"ACK", b"0"]
        offset = len(GETACK)
        peer.send(command("PING"))
        peer.send(GETACK)
        offset += len(command("PING"))
        assert peer.read_command() == [b"REPLCONF", b"ACK", str(offset).encode()]
        offset += len(GETACK)
        # A command split across two segments counts once it is whole.
        set_command = command("SET", "foo", "1")
        peer.send(set_command[:7])
        peer.send(set_command[7:] + command("SET", "bar", "2") + GETACK)
        offset += len(set_command) + len(command("SET", "bar", "2"))
        assert peer.read_command() == [b"REPLCONF", b"ACK", str(offset).encode()]
        with RawConnection(port) as client:
            assert client.call("GET", "bar") == b"$1\r\n2\r\n"
        peer.close()
    finally:
        replica.stop()
