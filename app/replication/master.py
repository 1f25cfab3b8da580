"""The master's side of replication, and the replication state every server has.

A replica connects like any client and sends PSYNC. From then on its connection is fed
the replication stream: the master puts everything for it in the client's outbox
(app/outbox.py), whose writer thread sends it without ever making the master wait on a
slow replica; the replica's own thread goes on reading what it sends back (REPLCONF ACK).

A full resynchronisation (``+FULLRESYNC <replid> <offset>``) sends a snapshot of the
keyspace as an RDB file, then every write made since that snapshot. The snapshot is
copied under the keyspace lock, as BGSAVE copies it (app/persistence/snapshots.py), and
serialized in a thread; writes made meanwhile wait in the replica's `pending` list and
follow the RDB, so the replica sees the keyspace at the snapshot and then each change
after it, exactly once.

Everything here is guarded by the keyspace lock, like the rest of the shared state.
"""

from __future__ import annotations

import secrets
import threading
import time

from app import log
from app.persistence import rdb
from app.protocol import encode_command
from app.replication.backlog import Backlog

GETACK = encode_command([b"REPLCONF", b"GETACK", b"*"])
PING = encode_command([b"PING"])


def new_replication_id() -> str:
    """40 random hex characters, like Redis' run id and replication id."""
    return secrets.token_hex(20)


class ReplicaLink:
    """A replica as its master sees it: its client, its state and what it acknowledged."""

    def __init__(self, client, listening_port: int, capabilities: set[bytes]):
        self.client = client
        self.listening_port = listening_port
        self.capabilities = capabilities
        self.state = "wait_bgsave"  # then "online" once the RDB is queued
        self.pending: list[bytes] = []  # the stream, while the RDB is being made
        self.ack_offset = 0
        self.ack_time = time.monotonic()

    @property
    def ip(self) -> str:
        return self.client.addr.rsplit(":", 1)[0]

    def send(self, data: bytes, limits) -> bool:
        """Queue stream bytes for this replica; False if it is too far behind (the
        ``client-output-buffer-limit`` of replicas), and must be dropped."""
        if self.state != "online":
            self.pending.append(data)
            return True
        return self.client.outbox.put(data, limits)


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
        self.failover = None  # the FAILOVER under way (app/replication/failover.py)
        # INFO stats: full resyncs served, and partial ones accepted or refused.
        self.sync_full = 0
        self.sync_partial_ok = 0
        self.sync_partial_err = 0

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
        new_backlog = self.backlog is None  # the stream starts now: no reader is elsewhere
        self.create_backlog()
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
        if announce:
            client.outbox.put(b"+FULLRESYNC %s %d\r\n" % (self.replid.encode(), self.offset), limits)
        # The new replica starts in database 0. If the stream is elsewhere, the next
        # write must carry a SELECT, for it (Redis always sends one; 0 needs none).
        propagation = self.keyspace.propagation
        if propagation.replicas_db != 0:
            propagation.replicas_db = 0 if new_backlog else -1
        snapshot = rdb.take_snapshot(self.keyspace, self.server.functions)
        threading.Thread(target=self._send_snapshot, args=(link, snapshot), name="replica sync", daemon=True).start()

    def _send_snapshot(self, link: ReplicaLink, snapshot: rdb.Snapshot) -> None:
        """Serialize the snapshot, function libraries included (without the lock), then
        queue it and what was written since, and let the replica receive the stream
        directly."""
        config = self.server.config
        payload = rdb.dump(snapshot.databases, config["rdbcompression"], config["rdbchecksum"],
                           config["list-max-listpack-size"], snapshot.functions)
        with self.keyspace.lock:
            if link not in self.replicas:
                return  # it went away meanwhile
            limits = self.server.config["client-output-buffer-limit"]["slave"]
            outbox = link.client.outbox
            outbox.put(b"$%d\r\n" % len(payload), limits)
            outbox.put(payload, limits)  # no CRLF after it: it is not a bulk string
            if link.client.replica_rdb_only:  # redis-cli --rdb: that was all it wanted
                self.replicas.remove(link)
                return
            for data in link.pending:
                outbox.put(data, limits)
            link.pending = []
            link.state = "online"
            self.server.update_write_refusal()
            log.notice(f"Synchronization with replica {link.client.addr} succeeded")

    def drop(self, client) -> None:
        """Forget a replica (its connection closed, or it fell too far behind)."""
        link = client.replica
        if link in self.replicas:
            self.replicas.remove(link)
            log.notice(f"Connection with replica {client.addr} lost.")
        client.replica = None
        client.close()
        self.server.update_write_refusal()
        self.acks.notify_all()

    # --- acknowledgements and WAIT

    def acknowledged(self, link: ReplicaLink, offset: int) -> None:
        """REPLCONF ACK: the replica has processed the stream up to ``offset``."""
        link.ack_offset = max(link.ack_offset, offset)
        link.ack_time = time.monotonic()
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
        """A FAILOVER with a TIMEOUT holds the stream still while writes are paused: not
        even a PING then, as in Redis (its replicationCron)."""
        return self.failover is not None and self.failover.timed and bool(self.server.pause_end)

    @property
    def failover_state(self) -> str:
        """INFO's master_failover_state."""
        return "no-failover" if self.failover is None else self.failover.state

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
