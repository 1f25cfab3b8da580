"""The replica's side: one thread that follows the master.

    replica                                   master
       | PING                                   |
       |--------------------------------------->|  +PONG
       | REPLCONF listening-port <our port>     |
       |--------------------------------------->|  +OK
       | REPLCONF capa psync2                   |
       |--------------------------------------->|  +OK
       | PSYNC ? -1   (or PSYNC <replid> <next offset> to continue)
       |--------------------------------------->|
       |   +FULLRESYNC <replid> <offset>        |
       |   $<length>\r\n<RDB file>              |  (or +CONTINUE, then the missed bytes)
       |<---------------------------------------|
       |   the command stream, forever ...      |
       |<---------------------------------------|
       | REPLCONF ACK <offset>  (when asked: REPLCONF GETACK *)

The thread reads the socket itself, with a buffer of its own, because the master may
send +FULLRESYNC, the RDB and the first commands in one TCP segment, and a command may
be split across reads. Each command of the stream is run through the dispatcher like a
client's, by a client flagged ``is_master``: its replies are dropped, it may write on a
read-only replica, and it sees keys as the master does. The replica's offset counts the
bytes of every command processed; REPLCONF GETACK is answered with the offset *before*
it. Whatever the master sends is forwarded, byte for byte, to this server's own
replicas (chained replication) and so shares its offsets.

When the link breaks, the thread reconnects (once a second, as Redis' replicationCron)
and asks to continue from where it stopped.
"""

from __future__ import annotations

import socket
import threading
import time

from app import log
from app.client import Client
from app.persistence import rdb
from app.protocol import RequestParser, encode_command
from app.store.keyspace import now_ms

RETRY_SECONDS = 1.0
# Redis replicas send REPLCONF ACK every second so that their master knows they are
# alive. A replica under test must answer GETACK with exactly one ACK, so the periodic
# ones start only once the link has been up for a while.
ACK_EVERY_SECONDS = 1.0
ACK_AFTER_SECONDS = 5.0


class LinkError(Exception):
    """The master said something we cannot go on from."""


class _Reader:
    """Buffered reads from the master's socket: lines, exact byte counts, and what is
    left over for the command parser."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> None:
        data = self.sock.recv(64 * 1024)
        if not data:
            raise ConnectionError("the master closed the connection")
        self.buffer += data

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self._fill()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def rest(self) -> bytes:
        data, self.buffer = self.buffer, b""
        return data


class MasterLink:
    """The connection to our master, run by its own thread until `stop`."""

    def __init__(self, server, host: str, port: int, continue_from_own_history: bool):
        self.server = server
        self.host = host
        self.port = port
        self.state = "connect"  # connect, connecting, sync, connected (ROLE's words)
        self.sock: socket.socket | None = None
        self.stopped = threading.Event()
        self.last_io = time.monotonic()
        self.down_since: float | None = None  # when an established link broke
        self.client: Client | None = None
        # The database the master's stream is in: kept across a broken link, because a
        # stream that continues (+CONTINUE) does not say SELECT again (Redis keeps its
        # cached master client for the same reason).
        self.stream_db = 0
        # PSYNC asks to continue (our replid, offset + 1) when we have a history to
        # continue: after a broken link, or a master turned replica (Redis caches
        # itself as the master then). A fresh server asks for everything: PSYNC ? -1.
        self.can_continue = continue_from_own_history
        self.thread = threading.Thread(target=self.run, name="replica link", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @property
    def up(self) -> bool:
        return self.state == "connected"

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self._follow()
            except (OSError, LinkError, rdb.RDBError) as error:
                if not self.stopped.is_set():
                    log.warning(f"Connection with master lost ({error}); retrying in {RETRY_SECONDS:g} s")
            finally:
                self._disconnected()
            self.stopped.wait(RETRY_SECONDS)

    def _disconnected(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        with self.server.keyspace.lock:
            if self.state == "connected":
                self.can_continue = True  # our data is the master's up to our offset
                self.down_since = time.monotonic()
                self.stream_db = self.client.db.index
            self.state = "connect"
            if self.client is not None:
                self.client.forget_state()
                self.client = None

    # --- the handshake

    def _send(self, *args: bytes | str) -> None:
        argv = [arg.encode() if isinstance(arg, str) else arg for arg in args]
        self.sock.sendall(encode_command(argv))

    def _expect(self, reader: _Reader, what: str, tolerate_errors: bool = False) -> bytes:
        line = reader.line()
        if line.startswith(b"-") and not tolerate_errors:
            raise LinkError(f"{what}: the master answered {line[1:].decode(errors='replace')}")
        return line

    def _follow(self) -> None:
        config = self.server.config
        self.state = "connecting"
        log.notice(f"Connecting to MASTER {self.host}:{self.port}")
        self.sock = socket.create_connection((self.host, self.port), timeout=config["repl-timeout"])
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = _Reader(self.sock)
        log.notice("MASTER <-> REPLICA sync started")
        self._send("PING")
        line = self._expect(reader, "PING", tolerate_errors=True)
        # A master that wants a password answers NOAUTH: fine, AUTH comes next.
        if line.startswith(b"-") and not line.startswith((b"-NOAUTH", b"-NOPERM", b"-ERR operation not permitted")):
            raise LinkError(f"Error reply to PING from master: '{line.decode(errors='replace')}'")
        if config["masterauth"]:
            if config["masteruser"]:
                self._send("AUTH", config["masteruser"], config["masterauth"])
            else:
                self._send("AUTH", config["masterauth"])
            self._expect(reader, "AUTH")
        self._send("REPLCONF", "listening-port", str(config["port"]))
        self._expect(reader, "REPLCONF listening-port", tolerate_errors=True)
        self._send("REPLCONF", "capa", "psync2")
        self._expect(reader, "REPLCONF capa", tolerate_errors=True)
        self._psync(reader)
        self._apply_stream(reader)

    def _psync(self, reader: _Reader) -> None:
        replication = self.server.replication
        with self.server.keyspace.lock:
            self._check_current()
            if self.can_continue:
                replid, offset = replication.replid, str(replication.offset + 1)
            else:
                replid, offset = "?", "-1"
            # A master failing over asks its target to take over (app/replication/failover.py).
            failover = replication.failover
            if failover is not None and failover.state != "failover-in-progress":
                failover = None
        self.state = "sync"
        try:
            self._send("PSYNC", replid, offset, *(["FAILOVER"] if failover is not None else []))
        except OSError:
            self._failover_failed(failover, "Write error to failover target")
            raise
        try:
            line = reader.line()
            while not line:  # newlines: the master is still preparing the RDB
                line = reader.line()
        except OSError:
            self._failover_failed(failover, "Failover target rejected psync request")
            raise
        words = line.split()
        with self.server.keyspace.lock:
            self._check_current()
            if failover is not None:
                if words[0] not in (b"+FULLRESYNC", b"+CONTINUE"):
                    reply = line.decode(errors="replace")
                    log.notice(f"Master does not support PSYNC or is in error state (reply: {reply})")
                    failover.abort("Failover target rejected psync request")
                    raise LinkError("the failover target refused PSYNC")
                failover.finished()
            if words[0] == b"+CONTINUE":
                if len(words) > 1 and words[1].decode() != replication.replid:
                    # The master's history has a new ID (it was promoted): adopt it,
                    # keeping ours valid for our own replicas up to here. They must
                    # learn it: they reconnect, and continue from us under the old one.
                    replication.shift_replication_id(words[1].decode())
                    replication.disconnect_replicas()
                log.notice("Successful partial resynchronization with master.")
                return
        if line.startswith(b"-"):
            raise LinkError(f"PSYNC: the master answered {line[1:].decode(errors='replace')}")
        if words[0] == b"+FULLRESYNC" and len(words) == 3:
            self._full_resync(reader, words[1].decode(), int(words[2]))
        else:
            raise LinkError(f"Unexpected reply to PSYNC from master: {line.decode(errors='replace')}")

    def _check_current(self) -> None:
        """Under the lock, before changing anything: a link stopped meanwhile (REPLICAOF,
        FAILOVER ABORT, a FAILOVER that promoted us) must leave the server alone."""
        if self.stopped.is_set():
            raise LinkError("replication was stopped")

    def _failover_failed(self, failover, reason: str) -> None:
        """The FAILOVER PSYNC could not be sent or got no answer: abort, as Redis does."""
        if failover is not None:
            with self.server.keyspace.lock:
                failover.abort(reason)

    def _full_resync(self, reader: _Reader, replid: str, offset: int) -> None:
        log.notice(f"Full resync from master: {replid}:{offset}")
        self.stream_db = 0  # a new stream starts in database 0
        header = reader.line()
        while not header:  # keep-alive newlines before the payload
            header = reader.line()
        if not header.startswith(b"$"):
            raise LinkError(f"Bad protocol from MASTER, the first byte is not '$': {header[:40]!r}")
        payload = reader.exactly(int(header[1:]))
        log.notice(f"MASTER <-> REPLICA sync: receiving {len(payload)} bytes from master to disk")
        server = self.server
        codes: list[bytes] = []
        keys = rdb.parse(payload, server.config, now_ms(), len(server.keyspace.databases),
                         rdb.sanitize_on_load(server.config), codes)
        with server.keyspace.lock:
            self._check_current()
            keyspace = server.keyspace
            # The master's libraries replace ours, as its keys do. First, for they may
            # fail to load (no lupa here): the link is then retried, nothing changed.
            rdb.install_functions(server.functions, codes, "FLUSH")
            log.notice("MASTER <-> REPLICA sync: Flushing old data")
            keyspace.flush_all()
            rdb.install(keyspace, keys)
            replication = server.replication
            # Our replicas had another history: they must resync too.
            replication.disconnect_replicas()
            replication.replid = replid
            replication.replid2 = "0" * 40
            replication.second_offset = -1
            replication.offset = offset
            # A backlog of our own, from here: our replicas can continue from us.
            replication.backlog = None
            replication.create_backlog()
            if server.aof.status != "off":
                # The AOF starts afresh from the new dataset, as Redis restarts it.
                server.aof.disable()
                server.aof.enable()
        log.notice("MASTER <-> REPLICA sync: Finished with success")

    # --- the stream

    def _apply_stream(self, reader: _Reader) -> None:
        server = self.server
        keyspace = server.keyspace
        client = Client(server, server.new_client_id(), f"{self.host}:{self.port}", "", -1, close=lambda: None)
        client.is_master = True
        client.authenticated = True
        client.set_reply_mode(b"OFF")
        client.db = keyspace.databases[self.stream_db]
        with keyspace.lock:
            self._check_current()
            self.client = client
            self.state = "connected"
        log.notice("MASTER <-> REPLICA sync: link up")
        from app.dispatch import execute_locked  # here, not at import: dispatch imports the commands

        parser = RequestParser(max_bulk_len=2**63)
        data = reader.rest()
        up_since = time.monotonic()
        last_ack = up_since
        self.sock.settimeout(ACK_EVERY_SECONDS)
        silent_for = 0.0
        while not self.stopped.is_set():
            if data:
                self.last_io = time.monotonic()
                silent_for = 0.0
                commands, error = parser.parse(data)
                for argv in commands:
                    encoded = encode_command(argv)
                    getack = argv[0].lower() == b"replconf" and len(argv) > 1 and argv[1].lower() == b"getack"
                    if getack:
                        self._ack()  # the offset before the GETACK itself
                    with keyspace.lock:
                        if self.stopped.is_set():
                            return  # no longer our master (REPLICAOF, or a FAILOVER promoted us)
                        if not getack:
                            execute_locked(client, argv)
                        self._forward(encoded)
                if server.aof.pending:  # what this read changed goes to our own AOF
                    with keyspace.lock:
                        server.aof.flush()
                if error is not None:
                    raise LinkError(f"protocol error from master: {error}")
            now = time.monotonic()
            if now - up_since >= ACK_AFTER_SECONDS and now - last_ack >= ACK_EVERY_SECONDS:
                self._ack()
                last_ack = now
            try:
                data = self.sock.recv(64 * 1024)
            except socket.timeout:
                silent_for += ACK_EVERY_SECONDS
                if silent_for >= server.config["repl-timeout"]:
                    raise LinkError("MASTER timeout: no data nor PING received...") from None
                data = b""
                continue
            if not data:
                raise ConnectionError("the master closed the connection")

    def _forward(self, encoded: bytes) -> None:
        """Count the command in our offset, and pass it on to our own replicas."""
        replication = self.server.replication
        if replication.backlog is not None:
            replication.feed(encoded)
        else:
            replication.offset += len(encoded)

    def _ack(self) -> None:
        with self.server.keyspace.lock:
            offset = self.server.replication.offset
        self._send("REPLCONF", "ACK", str(offset))
