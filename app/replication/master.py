"""The master's side of replication, and the replication state every server has.

A replica connects like any client and sends PSYNC. From then on its connection is fed
the replication stream: the master puts everything for it in the client's outbox
(app/outbox.py), whose writer thread sends it without ever making the master wait on a
slow replica; the replica's own thread goes on reading what it sends back (REPLCONF ACK).

A full resynchronisation (``+FULLRESYNC <replid> <offset>``) sends a snapshot of the
keyspace as an RDB file, then every write made since that snapshot. The snapshot is a
point-in-time view (app/persistence/cow.py: noted under the keyspace lock, copied key
by key only where clients change it meanwhile), serialized in a thread a batch of keys
at a time; writes made meanwhile wait in the replica's `pending` list and follow the
RDB, so the replica sees the keyspace at the snapshot and then each change after it,
exactly once.

The file goes out in one of two forms (Redis 7.0, replication.c):

* ``$<length>\r\n<file>``: the length comes first, so the whole file is made before any
  of it is sent. For replicas that did not say ``REPLCONF capa eof`` (the CodeCrafters
  tester's), and for all with ``repl-diskless-sync no``.
* ``$EOF:<40 random characters>\r\n<file><the same 40 characters>``: "diskless", the
  file sent as it is made. Replicas that arrive together share one snapshot: a
  `FullSync` waits ``repl-diskless-sync-delay`` seconds (or until
  ``repl-diskless-sync-max-replicas`` have come) before it starts, sending a newline
  each second so that they do not time out, and tells each +FULLRESYNC only then, with
  the offset of its snapshot. A replica finds the end of such a file by its last bytes,
  so nothing may follow them until it has loaded it: the stream waits for its first
  REPLCONF ACK.

The file records where the stream stands (`save_info`: the ID, the offset and the
database the stream is in); SAVE and BGSAVE record it too, so that a server restarted
from its file goes on from there (`restore`): a replica continues with +CONTINUE instead
of a new full resync, and a master lets its replicas do so.

Everything here is guarded by the keyspace lock, like the rest of the shared state.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
import time
from typing import Iterator

from app import log
from app.persistence import rdb
from app.persistence.cow import PointInTime
from app.protocol import encode_command
from app.replication.backlog import Backlog

GETACK = encode_command([b"REPLCONF", b"GETACK", b"*"])
PING = encode_command([b"PING"])
# The RDB file is not counted against client-output-buffer-limit (in Redis it never
# enters the replica's output buffer): only the stream is.
NO_LIMIT = (0, 0, 0)
# The file's bytes queued for a replica before the sync thread waits for it to read
# them, and the most read from the file at once.
QUEUED_FILE_LIMIT = 4 * 1024 * 1024
SEND_PIECE = 1024 * 1024


def new_replication_id() -> str:
    """40 random hex characters, like Redis' run id and replication id."""
    return secrets.token_hex(20)


class ReplicaLink:
    """A replica as its master sees it: its client, its state and what it acknowledged."""

    def __init__(self, client, listening_port: int, capabilities: set[bytes]):
        self.client = client
        self.listening_port = listening_port
        self.capabilities = capabilities
        self.state = "wait_bgsave"  # INFO's word, until the RDB is sent: then "online"
        self.announce = True  # +FULLRESYNC before the RDB (PSYNC; the old SYNC gets the RDB alone)
        self.snapshot_taken = False  # the snapshot of its RDB is made: later writes follow it
        self.pending: list[bytes] = []  # those writes, until the replica can take them
        self.stream_on_ack = False  # a diskless RDB was sent: the stream waits for its first ACK
        self.ack_offset = 0
        self.ack_time = time.monotonic()

    @property
    def ip(self) -> str:
        return self.client.addr.rsplit(":", 1)[0]

    def send(self, data: bytes, limits) -> bool:
        """Queue stream bytes for this replica; False if it is too far behind (the
        ``client-output-buffer-limit`` of replicas), and must be dropped. Before its
        snapshot is taken there is nothing to keep: the snapshot will hold the write."""
        if self.state == "online" and not self.stream_on_ack:
            return self.client.outbox.put(data, limits)
        if self.snapshot_taken:
            self.pending.append(data)
        return True

    def start_stream(self, limits) -> None:
        """The replica has its RDB: send what was written since the snapshot, and the
        stream from now on (Redis: replicaStartCommandStream)."""
        self.state = "online"
        self.stream_on_ack = False
        for data in self.pending:
            self.client.outbox.put(data, limits)
        self.pending = []


class FullSync:
    """One RDB file for one or more replicas (Redis: a BGSAVE for replication). A
    diskless one gathers the replicas that come within ``repl-diskless-sync-delay``."""

    def __init__(self, diskless: bool):
        self.diskless = diskless
        self.links: list[ReplicaLink] = []
        self.opened = time.monotonic()


class Replication:
    """ID, offset, backlog and replicas: what INFO replication and ROLE report."""

    def __init__(self, server):
        self.server = server
        self.keyspace = server.keyspace
        self.replid = new_replication_id()
        self.replid2 = "0" * 40  # the ID this server had before (a promoted replica)
        self.second_offset = -1  # up to where replid2 is valid for PSYNC
        self.offset = 0  # master_repl_offset: bytes of stream so far
        self.backlog: Backlog | None = None
        self.replicas: list[ReplicaLink] = []
        # WAIT sleeps on this until enough replicas acknowledged; REPLCONF ACK wakes it.
        self.acks = threading.Condition(server.keyspace.lock)
        self.getack_offset = -1  # the offset at which GETACK was last sent
        self.link = None  # the MasterLink (app/replication/replica.py) while a replica
        # A replica's side: the database its master's stream is in. Kept while the link
        # is down, and in the RDB file across a restart, because a stream that continues
        # (+CONTINUE) does not say SELECT again (Redis keeps it in its cached master).
        self.stream_db = 0
        # Start-up loaded an RDB file that said where replication stood (`restore`).
        self.loaded_history = False
        self.next_sync: FullSync | None = None  # the diskless FullSync gathering replicas
        self.failover = None  # the FAILOVER under way (app/replication/failover.py)
        # INFO stats: full resyncs served, and partial ones accepted or refused.
        self.sync_full = 0
        self.sync_partial_ok = 0
        self.sync_partial_err = 0
        # INFO stats: commands of our master's stream that failed here (replica.py).
        self.unexpected_error_replies = 0
        server.snapshots.save_info = self.save_info  # SAVE and BGSAVE record where we stand

    # --- the stream

    def feed(self, data: bytes) -> None:
        """Append stream bytes: to the backlog, and to every replica."""
        self.offset += len(data)
        self.backlog.append(data)
        if self.replicas:
            limits = self.server.config["client-output-buffer-limit"]["slave"]
            for replica in list(self.replicas):
                if not replica.send(data, limits):
                    log.warning(f"Client {replica.client.addr} scheduled to be closed ASAP for overcoming of "
                                "output buffer limits.")
                    self.drop(replica.client)

    def create_backlog(self) -> None:
        """Made when the first replica attaches, and kept (as in Redis): from then on
        every write is recorded, so that replicas can resync partially."""
        if self.backlog is None:
            self.backlog = Backlog(self.server.config["repl-backlog-size"], self.offset + 1)
            self.update_sinks()

    def update_sinks(self) -> None:
        """Tell the propagation step where writes go. A replica forwards its master's
        stream byte for byte (see replica.py), so its own commands feed no replica."""
        to_replicas = self.feed if self.backlog is not None and self.link is None else None
        propagation = self.keyspace.propagation
        propagation.set_sinks(to_replicas=to_replicas, to_aof=propagation.to_aof)

    # --- PSYNC

    def can_continue(self, replid: str, offset: int) -> bool:
        """Whether a replica asking for ``offset`` of ``replid`` can continue from the
        backlog (Redis: masterTryPartialResynchronization)."""
        if self.backlog is None:
            return False
        if replid != self.replid and not (replid == self.replid2 and offset <= self.second_offset):
            return False
        return self.backlog.holds(offset)

    def attach(self, client, offset: int | None, announce: bool = True) -> None:
        """Make ``client`` a replica: +CONTINUE from ``offset`` if given, otherwise a full
        resync (announced with +FULLRESYNC, except to the old SYNC). The caller holds
        the lock; the client gets an outbox now."""
        if self.backlog is None:
            self.create_backlog()
            # Nobody has read the stream yet: it may start in database 0, where a
            # replica starts, with no SELECT (Redis always sends one; 0 needs none).
            self.keyspace.propagation.replicas_db = 0
        link = ReplicaLink(client, client.replica_port, client.replica_capa)
        client.replica = link
        if client.outbox is None:
            client.outbox = client.open_outbox()
        client.set_reply_mode(b"OFF")  # a master never answers its replicas' commands
        self.replicas.append(link)
        limits = self.server.config["client-output-buffer-limit"]["slave"]
        if offset is not None:
            self.sync_partial_ok += 1
            log.notice(f"Partial resynchronization request from {client.addr} accepted. Sending "
                       f"{self.offset + 1 - offset} bytes of backlog starting from offset {offset}.")
            link.state = "online"
            self.server.update_write_refusal()
            client.outbox.put(b"+CONTINUE %s\r\n" % self.replid.encode(), limits)
            client.outbox.put(self.backlog.read_from(offset), limits)
            return
        self.sync_full += 1
        log.notice(f"Full resync requested by replica {client.addr}")
        link.announce = announce
        self._join_full_sync(link)

    # --- full resynchronisation

    def _join_full_sync(self, link: ReplicaLink) -> None:
        """Give ``link`` its RDB file: at once in the ``$<length>`` form, or in the
        diskless one with the replicas that come within the delay (Redis: syncCommand
        and replicationCron)."""
        config = self.server.config
        if not (config["repl-diskless-sync"] and b"eof" in link.capabilities):
            sync = FullSync(diskless=False)
            sync.links.append(link)
            self._start(sync)
            return
        sync = self.next_sync
        delay = config["repl-diskless-sync-delay"]
        if sync is None:
            sync = self.next_sync = FullSync(diskless=True)
            if delay:
                log.notice("Delay next BGSAVE for diskless SYNC")
                threading.Thread(target=self._gather, args=(sync,), name="replica sync delay", daemon=True).start()
        sync.links.append(link)
        enough = config["repl-diskless-sync-max-replicas"]
        if not delay or enough and len(sync.links) >= enough:
            self._start(sync)

    def _gather(self, sync: FullSync) -> None:
        """Let more replicas join ``sync`` for ``repl-diskless-sync-delay`` seconds, then
        start it. Meanwhile a newline each second tells them we are alive: a replica
        waiting for +FULLRESYNC takes an empty line for a keep-alive."""
        config = self.server.config
        while True:
            time.sleep(min(1.0, max(0.0, sync.opened + config["repl-diskless-sync-delay"] - time.monotonic())))
            with self.keyspace.lock:
                if self.next_sync is not sync:
                    return  # started already: enough replicas came
                if time.monotonic() >= sync.opened + config["repl-diskless-sync-delay"]:
                    self._start(sync)
                    return
                for link in sync.links:
                    link.client.outbox.put(b"\n", NO_LIMIT)

    def _start(self, sync: FullSync) -> None:
        """Take the snapshot for the replicas of ``sync`` still here, tell each
        +FULLRESYNC with its offset, and send the file in a thread (the caller holds
        the lock)."""
        if self.next_sync is sync:
            self.next_sync = None
        links = [link for link in sync.links if link in self.replicas]
        if not links:
            return
        if sync.diskless:
            log.notice("Starting BGSAVE for SYNC with target: replicas sockets")
        aux = self.save_info()  # before the SELECT below: the database the stream is in now
        limits = self.server.config["client-output-buffer-limit"]["slave"]
        for link in links:
            link.snapshot_taken = True
            if link.announce:
                link.client.outbox.put(b"+FULLRESYNC %s %d\r\n" % (self.replid.encode(), self.offset), limits)
        # The replicas start in the database the file names (repl-stream-db), or in 0 if
        # they ignore it, as the tester does. If the stream is elsewhere, the next
        # write must carry a SELECT, for them. Redis sends one after every full sync;
        # after a diskless one we do too, for redis-cli --replica takes whatever comes
        # first after its file for the answer to its REPLCONF ACK.
        propagation = self.keyspace.propagation
        if sync.diskless or propagation.replicas_db != 0:
            propagation.replicas_db = -1
        snapshot = PointInTime(self.keyspace, self.server.functions.codes())
        threading.Thread(target=self._send_snapshot, args=(sync.diskless, links, snapshot, aux),
                         name="replica sync", daemon=True).start()

    def _send_snapshot(self, diskless: bool, links: list[ReplicaLink], snapshot: PointInTime,
                       aux: dict[bytes, bytes]) -> None:
        """Serialize the snapshot, function libraries included, a batch of keys at a
        time, and send it to ``links`` in the form asked for; then they take the
        stream. The point-in-time view ends when the file is made, whatever happens."""
        try:
            if diskless:
                self._send_diskless(links, snapshot, aux)
            else:
                self._send_from_disk(links, snapshot, aux)
        except OSError as error:  # the temporary file could not be written (a full disk)
            log.warning(f"Background transfer error: {error.strerror or error}. Dropping the replicas waiting for it.")
            with self.keyspace.lock:
                for link in links:
                    if link in self.replicas:
                        self.drop(link.client)
        finally:
            with self.keyspace.lock:
                snapshot.finish()

    def _send_diskless(self, links: list[ReplicaLink], snapshot: PointInTime, aux: dict[bytes, bytes]) -> None:
        """``$EOF:<mark>``, the file as it is made, then the mark: nothing of the file
        waits for the rest of it."""
        mark = secrets.token_hex(20).encode()
        self._to_each(links, b"$EOF:%s\r\n" % mark)
        for piece in self._rdb_pieces(snapshot, aux):
            if not self._to_each(links, piece):
                return  # every replica of this sync is gone: stop making the file
        self._finish_transfer(links, mark, diskless=True)

    def _send_from_disk(self, links: list[ReplicaLink], snapshot: PointInTime, aux: dict[bytes, bytes]) -> None:
        """``$<length>``: the length goes first, so the file is made whole before it is
        sent, as Redis makes it on disk. Into a file with no name (it vanishes when
        closed, or if the process dies), not into memory: a million keys' file is tens
        of megabytes, which the server would hold twice while replicas read it."""
        with tempfile.TemporaryFile(dir=self.server.config["dir"]) as file:
            for piece in self._rdb_pieces(snapshot, aux):
                file.write(piece)
            length = file.tell()
            file.seek(0)
            self._to_each(links, b"$%d\r\n" % length)
            sent = 0
            while sent < length:
                piece = file.read(min(SEND_PIECE, length - sent))
                sent += len(piece)
                if sent == length:  # no CRLF after it: it is not a bulk string
                    self._finish_transfer(links, piece, diskless=False)
                elif not self._to_each(links, piece):
                    return

    def _rdb_pieces(self, snapshot: PointInTime, aux: dict[bytes, bytes]) -> Iterator[bytes]:
        """The RDB file of ``snapshot``, in the pieces `rdb.dump_pieces` makes."""
        config = self.server.config
        return rdb.dump_pieces(snapshot.databases(), config["rdbcompression"], config["rdbchecksum"],
                               config["list-max-listpack-size"], snapshot.functions, aux)

    def _to_each(self, links: list[ReplicaLink], data: bytes) -> bool:
        """Queue a piece of the file for those of ``links`` still here; False if none
        is. Then wait while any of them has more than `QUEUED_FILE_LIMIT` bytes still
        to send: the file is made no faster than the slowest replica reads it, so it
        never piles up in memory (Redis' child writes to the socket and blocks)."""
        with self.keyspace.lock:  # outboxes are filled under the lock, in order
            here = [link for link in links if link in self.replicas]
            for link in here:
                link.client.outbox.put(data, NO_LIMIT)
        while here and any(link.client.outbox.size > QUEUED_FILE_LIMIT and not link.client.outbox.closed
                           for link in here):
            time.sleep(0.005)  # the outbox's writer thread sends meanwhile; it signals nobody
        return bool(here)

    def _finish_transfer(self, links: list[ReplicaLink], end: bytes, diskless: bool) -> None:
        """The end of the file, and the replicas are online: at once, under the lock, so
        that no write of the stream can come between."""
        with self.keyspace.lock:
            for link in links:
                if link in self.replicas:  # not gone meanwhile
                    link.client.outbox.put(end, NO_LIMIT)
                    self._transferred(link, diskless)

    def _transferred(self, link: ReplicaLink, diskless: bool) -> None:
        """``link`` has its whole RDB file: it is online (the caller holds the lock)."""
        address = link.client.addr
        if link.client.replica_rdb_only:  # redis-cli --rdb: that was all it wanted
            self.replicas.remove(link)
            return
        if diskless:
            log.notice(f"Streamed RDB transfer with replica {address} succeeded (socket). "
                       "Waiting for REPLCONF ACK from replica to enable streaming")
            link.state = "online"
            link.stream_on_ack = True
        else:
            link.start_stream(self.server.config["client-output-buffer-limit"]["slave"])
        self.server.update_write_refusal()
        self.acks.notify_all()  # WAIT counts the replicas online
        log.notice(f"Synchronization with replica {address} succeeded")

    def drop(self, client) -> None:
        """Forget a replica (its connection closed, or it fell too far behind)."""
        link = client.replica
        if self.next_sync is not None and link in self.next_sync.links:
            self.next_sync.links.remove(link)  # no longer one of those waiting
        if link in self.replicas:
            self.replicas.remove(link)
            log.notice(f"Connection with replica {client.addr} lost.")
        client.replica = None
        client.close()
        self.server.update_write_refusal()
        self.acks.notify_all()

    # --- acknowledgements and WAIT

    def acknowledged(self, link: ReplicaLink, offset: int) -> None:
        """REPLCONF ACK: the replica has processed the stream up to ``offset``. The first
        after a diskless RDB says it has loaded it: the stream can follow."""
        link.ack_offset = max(link.ack_offset, offset)
        link.ack_time = time.monotonic()
        if link.stream_on_ack:
            link.start_stream(self.server.config["client-output-buffer-limit"]["slave"])
        self.acks.notify_all()

    def good_replicas(self, max_lag: int) -> int:
        """Replicas online that acknowledged within ``max_lag`` seconds
        (min-replicas-to-write; Redis: refreshGoodSlavesCount)."""
        now = time.monotonic()
        return sum(1 for link in self.replicas if link.state == "online" and now - link.ack_time <= max_lag)

    def count_acked(self, offset: int) -> int:
        return sum(1 for link in self.replicas if link.state == "online" and link.ack_offset >= offset)

    def request_acks(self) -> None:
        """Ask every replica for its offset (REPLCONF GETACK *), once per stretch of
        writes: several WAITs after the same writes share one request."""
        if self.replicas and self.getack_offset != self.offset:
            self.feed(GETACK)
            self.getack_offset = self.offset

    def ping_replicas(self) -> None:
        """Every ``repl-ping-replica-period`` seconds: a PING through the stream, so that
        replicas (whose ``repl-timeout`` counts silence) know the master is alive."""
        if self.replicas and self.link is None and not self._failover_pause():
            self.feed(PING)

    def _failover_pause(self) -> bool:
        """A FAILOVER with a TIMEOUT, or a cluster's manual failover (CLUSTER FAILOVER),
        holds the stream still while writes are paused: not even a PING then, as in
        Redis (its replicationCron)."""
        if not self.server.pause_end:
            return False
        cluster = self.server.cluster
        return (self.failover is not None and self.failover.timed) or (cluster is not None and cluster.mf_end != 0)

    @property
    def failover_state(self) -> str:
        """INFO's master_failover_state."""
        return "no-failover" if self.failover is None else self.failover.state

    # --- what an RDB file records

    def save_info(self) -> dict[bytes, bytes]:
        """The AUX fields an RDB file made now records about replication (Redis:
        rdbPopulateSaveInfo): the ID, the offset, and the database the stream is in,
        so that whoever loads the file can go on from there. Nothing for a master
        that nobody follows (it has no backlog), nor for a replica with no history yet."""
        stream_db = self._stream_db_now()
        if stream_db is None:
            return {}
        return {b"repl-stream-db": b"%d" % stream_db, b"repl-id": self.replid.encode(),
                b"repl-offset": b"%d" % self.offset}

    def _stream_db_now(self) -> int | None:
        link = self.link
        if link is None:
            if self.backlog is None:
                return None
            db = self.keyspace.propagation.replicas_db
            return 0 if db == -1 else db  # -1: the next write says SELECT anyway
        if link.up:
            return link.client.db.index
        return self.stream_db if link.can_continue else None

    def restore(self, aux: dict[bytes, bytes]) -> None:
        """Start-up loaded an RDB file with these AUX fields: go on from the replication
        state they record (Redis: loadDataFromDisk). A replica takes the ID and offset
        as its own and asks its master to continue from there (`loaded_history`), in
        the database the stream was in. A master keeps them as its previous history
        (replid2), with an empty backlog from there, so that its replicas continue."""
        try:
            replid = aux[b"repl-id"].decode("ascii")
            offset = int(aux[b"repl-offset"])
            stream_db = int(aux[b"repl-stream-db"])
        except (KeyError, ValueError):
            return
        # Older versions could write -1 for the database: such a file cannot be trusted.
        if len(replid) != 40 or offset < 0 or not 0 <= stream_db < len(self.keyspace.databases):
            return
        if self.server.config["replicaof"]:
            log.notice("Before turning into a replica, using my own master parameters to synthesize a cached "
                       "master: I may be able to synchronize with the new master with just a partial transfer.")
            self.replid, self.offset, self.stream_db = replid, offset, stream_db
            self.loaded_history = True
            return
        self.replid2, self.second_offset, self.offset = replid, offset + 1, offset
        if offset:  # Redis drops a backlog that would start at 0: nothing to continue
            self.create_backlog()

    # --- role changes

    def shift_replication_id(self, new_id: str | None = None) -> None:
        """A replica becomes a master: a new history starts here, and the old ID stays
        valid (replid2) up to this offset, so its own replicas can still continue. A
        replica whose master was promoted takes that master's ``new_id`` the same way."""
        self.replid2 = self.replid
        self.second_offset = self.offset + 1
        if new_id is not None:
            self.replid = new_id
            log.warning(f"Master replication ID changed to {new_id}")
            return
        self.replid = new_replication_id()
        log.warning(f"Setting secondary replication ID to {self.replid2}, valid up to offset: {self.second_offset}. "
                    f"New replication ID is {self.replid}")

    def become_master(self) -> None:
        """Stop following our master and start a history of our own (Redis:
        replicationUnsetMaster): REPLICAOF NO ONE, the target of a FAILOVER, a FAILOVER
        aborted after this server turned replica. Our replicas must learn the new ID:
        they reconnect, and continue from the backlog under the old one (replid2). Our
        own writes start with a SELECT."""
        self.server.replicate_from(None, False)
        self.shift_replication_id()
        self.disconnect_replicas()
        self.keyspace.propagation.replicas_db = -1

    def disconnect_replicas(self) -> None:
        for link in list(self.replicas):
            self.drop(link.client)
