"""The replica's side: one thread that follows the master.

    replica                                   master
       | PING                                   |
       |--------------------------------------->|  +PONG
       | REPLCONF listening-port <our port>     |
       |--------------------------------------->|  +OK
       | REPLCONF capa eof capa psync2          |
       |--------------------------------------->|  +OK
       | PSYNC ? -1   (or PSYNC <replid> <next offset> to continue)
       |--------------------------------------->|
       |   (newlines, while it waits for more replicas)
       |   +FULLRESYNC <replid> <offset>        |
       |   $<length>\r\n<RDB file>              |  (or +CONTINUE, then the missed bytes)
       |   or $EOF:<mark>\r\n<RDB file><mark>   |
       |<---------------------------------------|
       | REPLCONF ACK <offset>  (after an $EOF: file: the master waits for it)
       |--------------------------------------->|
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

The RDB file comes with its length first, or "diskless", as it is made, ended by the
random mark announced before it ("capa eof" says we can read that). What is done with
it is ``repl-diskless-load`` (Redis 7.0: readSyncBulkPayload): ``disabled`` receives
the whole file while the old data is still served, then replaces the data with it;
``on-empty-db`` loads it "from the socket" when there is no key to lose: the data is
flushed first and clients are answered LOADING until it is in; ``swapdb`` keeps serving
the old data until the new one is whole (answering LOADING meanwhile only if the master
has another history), and keeps it if the transfer fails. The file is held in memory in
every case (`rdb.parse` takes the whole file).

When the link breaks, the thread reconnects (once a second, as Redis' replicationCron)
and asks to continue from where it stopped.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Iterator

from app import log
from app.client import Client
from app.persistence import rdb
from app.protocol import ReplyError, RequestParser, encode_command
from app.quoting import sds_repr
from app.store.keyspace import now_ms

RETRY_SECONDS = 1.0
READ_SIZE = 64 * 1024
MARK_SIZE = 40  # the random end mark of an $EOF: transfer (Redis: RDB_EOF_MARK_SIZE)
# Redis replicas send REPLCONF ACK every second so that their master knows they are
# alive. A replica under test must answer GETACK with exactly one ACK, so the periodic
# ones start only once the link has been up for a while; except after a file sent as
# it was made ($EOF:, which no tester sends): a diskless Redis master starts the stream
# at an ACK, and misses the one sent at the end of the file when that one comes before
# it has noticed the transfer is over, so that the stream would wait ACK_AFTER_SECONDS.
ACK_EVERY_SECONDS = 1.0
ACK_AFTER_SECONDS = 5.0


class LinkError(Exception):
    """The master said something we cannot go on from."""


class _Reader:
    """Buffered reads from the master's socket: lines, the RDB file in pieces, and what
    is left over for the command parser."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = bytearray()  # grows in place: a big RDB file is not copied per read

    def _fill(self) -> None:
        data = self.sock.recv(READ_SIZE)
        if not data:
            raise ConnectionError("the master closed the connection")
        self.buffer += data

    def line(self) -> bytes:
        """The next line, without its ending: "\n", a "\r" before it dropped (Redis:
        syncReadLine). A lone "\n" is an empty line: a master's keep-alive."""
        while b"\n" not in self.buffer:
            self._fill()
        end = self.buffer.index(b"\n")
        line = bytes(self.buffer[:end]).removesuffix(b"\r")
        del self.buffer[:end + 1]
        return line

    def some(self, most: int) -> bytes:
        """What the buffer holds (or the next read brings), up to ``most`` bytes."""
        if not self.buffer:
            self._fill()
        data = bytes(self.buffer[:most])
        del self.buffer[:most]
        return data

    def unread(self, data: bytes) -> None:
        self.buffer[:0] = data

    def rest(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


class MasterLink:
    """The connection to our master, run by its own thread until `stop`."""

    def __init__(self, server, host: str, port: int, continue_from_own_history: bool):
        self.server = server
        self.host = host
        self.port = port
        self.state = "connect"  # connect, connecting, handshake, sync, connected (ROLE's words)
        self.sock: socket.socket | None = None
        self.stopped = threading.Event()
        self.last_io = time.monotonic()
        self.down_since: float | None = None  # when an established link broke
        # INFO's master_sync_* while a file comes in: its size (-1 until its header
        # says, 0 for the $EOF: form, which does not say), and what was read of it.
        self.transfer_size = -1
        self.transfer_read = 0
        self.diskless_sync = False  # the last full sync's file came as $EOF:<mark>
        self.client: Client | None = None
        # PSYNC asks to continue (our replid, offset + 1) when we have a history to
        # continue: after a broken link, a master turned replica (Redis caches itself
        # as the master then), or a restart from an RDB file that recorded where we
        # were (`Replication.restore`). A fresh server asks for everything: PSYNC ? -1.
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
                self.server.replication.stream_db = self.client.db.index
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
        self.state = "handshake"
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
        # eof: we can read an RDB file sent as it is made ($EOF:); psync2: +CONTINUE may
        # name a new replication ID.
        self._send("REPLCONF", "capa", "eof", "capa", "psync2")
        self._expect(reader, "REPLCONF capa", tolerate_errors=True)
        self.diskless_sync = False
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
                if replication.backlog is None:  # restarted from an RDB file: none yet
                    replication.create_backlog()
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
        """Receive the master's RDB file and make its data ours, as
        ``repl-diskless-load`` says (see the module's docstring)."""
        log.notice(f"Full resync from master: {replid}:{offset}")
        self.state = "sync"
        self.transfer_size, self.transfer_read = -1, 0
        self.can_continue = False  # if this fails, the next try starts over (Redis drops its cached master)
        server = self.server
        header = reader.line()
        while not header:  # keep-alive newlines before the payload
            header = reader.line()
        if header.startswith(b"-"):
            raise LinkError(f"MASTER aborted replication with an error: {header[1:].decode(errors='replace')}")
        if not header.startswith(b"$"):
            raise LinkError(f"Bad protocol from MASTER, the first byte is not '$': {header[:40]!r}")
        plan = self._load_plan()
        # Loading from the socket, Redis answers LOADING meanwhile, unless it keeps the
        # old data to serve: a swap that goes on with the same history.
        loading = plan == "socket" or plan == "swap" and replid != server.replication.replid
        with server.keyspace.lock:
            self._check_current()
            if plan == "socket":
                self._flush_before_loading()
            if loading:
                server.loading = True
        try:
            keys, codes, aux = self._receive_rdb(reader, header, "to disk" if plan == "disk" else "to parser")
            with server.keyspace.lock:
                self._check_current()
                self._replace_dataset(keys, codes, aux, plan)
                self._start_history(replid, offset)
        finally:
            if loading:
                with server.keyspace.lock:
                    server.loading = False
        log.notice("MASTER <-> REPLICA sync: Finished with success")
        if header.startswith(b"$EOF:"):
            self._ack()  # the master waits for it before it sends the stream
            self.diskless_sync = True  # and acknowledgements every second from now on

    def _load_plan(self) -> str:
        """How the file is loaded (Redis: useDisklessLoad): "disk", received whole, then
        put in place of our data (Redis writes it to a file first); "socket", loaded as
        it comes into a keyspace flushed first, when that loses no key; "swap", loaded
        beside our data, which it replaces once whole."""
        mode = self.server.config["repl-diskless-load"]
        if mode == "swapdb":
            return "swap"
        if mode == "on-empty-db" and not any(len(db) for db in self.server.keyspace.databases):
            return "socket"
        return "disk"

    def _flush_before_loading(self) -> None:
        """Loading "from the socket" into an empty keyspace: what is left goes first
        (the libraries), and our replicas, who had another history."""
        log.notice("MASTER <-> REPLICA sync: Flushing old data")
        self.server.replication.disconnect_replicas()
        self.server.keyspace.flush_all()
        self.server.functions.flush()

    def _receive_rdb(self, reader: _Reader, header: bytes, where: str) -> tuple[list, list[bytes], dict]:
        """Read the RDB file that ``header`` announces, and parse it: its keys, its
        libraries' code and its AUX fields."""
        if header.startswith(b"$EOF:") and len(header) >= 5 + MARK_SIZE:
            log.notice(f"MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF {where}")
            self.transfer_size = 0
            pieces = self._until_mark(reader, header[5:5 + MARK_SIZE])
        else:
            try:
                size = int(header[1:])
            except ValueError:
                raise LinkError(f"Bad protocol from MASTER, not a length: {header[:40]!r}") from None
            log.notice(f"MASTER <-> REPLICA sync: receiving {size} bytes from master {where}")
            self.transfer_size = size
            pieces = self._exactly(reader, size)
        payload = b"".join(pieces)  # the one place to hand pieces to a parser that took them
        log.notice("MASTER <-> REPLICA sync: Loading DB in memory")
        config, keyspace = self.server.config, self.server.keyspace
        codes: list[bytes] = []
        aux: dict[bytes, bytes] = {}
        keys = rdb.parse(payload, config, now_ms(), len(keyspace.databases), rdb.sanitize_on_load(config), codes, aux)
        return keys, codes, aux

    def _exactly(self, reader: _Reader, size: int) -> Iterator[bytes]:
        """The ``$<length>`` form: ``size`` bytes, as they arrive."""
        while size:
            piece = reader.some(size)
            size -= len(piece)
            self.transfer_read += len(piece)
            self.last_io = time.monotonic()
            yield piece

    def _until_mark(self, reader: _Reader, mark: bytes) -> Iterator[bytes]:
        """The ``$EOF:`` form: everything up to ``mark``, as it arrives. The last bytes
        of a piece are held back until the next one: the mark may be cut in two."""
        held = b""
        while True:
            piece = reader.some(READ_SIZE)
            self.transfer_read += len(piece)
            data = held + piece
            self.last_io = time.monotonic()
            end = data.find(mark)
            if end >= 0:
                reader.unread(data[end + len(mark):])
                yield data[:end]
                return
            cut = max(0, len(data) - len(mark) + 1)
            held = data[cut:]
            yield data[:cut]

    def _replace_dataset(self, keys: list, codes: list[bytes], aux: dict[bytes, bytes], plan: str) -> None:
        """The master's data, libraries and keys, replaces ours (the caller holds the lock)."""
        server = self.server
        keyspace = server.keyspace
        # The master's libraries replace ours, as its keys do. First, for they may fail
        # to load (no lupa here): the link is then retried, nothing changed.
        rdb.install_functions(server.functions, codes, "FLUSH")
        if plan == "swap":
            log.notice("MASTER <-> REPLICA sync: Swapping active DB with loaded DB")
        elif plan == "disk":
            log.notice("MASTER <-> REPLICA sync: Flushing old data")
        keyspace.flush_all()
        rdb.install(keyspace, keys)
        # The stream goes on in the database the file names (Redis: repl-stream-db).
        try:
            stream_db = int(aux.get(b"repl-stream-db", b"0"))
        except ValueError:
            stream_db = 0
        server.replication.stream_db = stream_db if 0 <= stream_db < len(keyspace.databases) else 0
        if server.aof.status != "off":
            # The AOF starts afresh from the new dataset, as Redis restarts it.
            server.aof.disable()
            server.aof.enable()

    def _start_history(self, replid: str, offset: int) -> None:
        """After a full resync, our history is the master's from ``offset``."""
        replication = self.server.replication
        # Our replicas had another history: they must resync too.
        replication.disconnect_replicas()
        replication.replid = replid
        replication.replid2 = "0" * 40
        replication.second_offset = -1
        replication.offset = offset
        # A backlog of our own, from here: our replicas can continue from us.
        replication.backlog = None
        replication.create_backlog()

    # --- the stream

    def _apply_stream(self, reader: _Reader) -> None:
        server = self.server
        keyspace = server.keyspace
        client = Client(server, server.new_client_id(), f"{self.host}:{self.port}", "", -1, close=lambda: None)
        client.is_master = True
        client.authenticated = True
        # Replies are made, then dropped here (a replica never answers its master), so
        # that an error can be logged as Redis logs it.
        client.db = keyspace.databases[server.replication.stream_db]
        with keyspace.lock:
            self._check_current()
            self.client = client
            self.state = "connected"
        log.notice("MASTER <-> REPLICA sync: link up")
        from app.dispatch import execute_locked, lookup  # here, not at import: dispatch imports the commands

        parser = RequestParser(max_bulk_len=2**63)
        data = reader.rest()
        up_since = time.monotonic()
        last_ack = up_since
        acks_after = 0.0 if self.diskless_sync else ACK_AFTER_SECONDS
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
                            reply = execute_locked(client, argv)
                            if reply.__class__ is ReplyError:
                                self._master_command_failed(reply, lookup(argv)[0])
                        self._forward(encoded)
                if server.aof.pending:  # what this read changed goes to our own AOF
                    with keyspace.lock:
                        server.aof.flush()
                if error is not None:
                    raise LinkError(f"protocol error from master: {error}")
            now = time.monotonic()
            if now - up_since >= acks_after and now - last_ack >= ACK_EVERY_SECONDS:
                self._ack()
                last_ack = now
            try:
                data = self.sock.recv(READ_SIZE)
            except socket.timeout:
                silent_for += ACK_EVERY_SECONDS
                if silent_for >= server.config["repl-timeout"]:
                    raise LinkError("MASTER timeout: no data nor PING received...") from None
                data = b""
                continue
            if not data:
                raise ConnectionError("the master closed the connection")

    def _master_command_failed(self, error: ReplyError, entry) -> None:
        """A command of the stream failed here, where it had succeeded on the master:
        the two datasets may differ from now on. Redis logs it loudly and counts it
        (afterErrorReply: INFO stats unexpected_error_replies), then goes on."""
        replication = self.server.replication
        replication.unexpected_error_replies += 1
        # Redis logs the text of an error made with addReplyError without the "ERR "
        # the reply gets, and an error kept whole (WRONGTYPE...) with its "-".
        message = error.message
        text = message.removeprefix("ERR ") if message.startswith("ERR ") else "-" + message
        name = entry.name if entry is not None else "<unknown>"
        log.warning(f"== CRITICAL == This replica is sending an error to its master: '{text[:4096]}' "
                    f"after processing the command '{name}'")
        backlog = replication.backlog
        if backlog is not None and backlog.histlen:  # what led there (showLatestBacklog)
            log.warning(f"Latest backlog is: '{sds_repr(backlog.tail(256))}'")

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
