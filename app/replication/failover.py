"""FAILOVER: a master hands its role to one of its replicas without losing a write.

    old master                                   target replica
      FAILOVER [TO host port] [TIMEOUT ms]
      -> waiting-for-sync: client writes paused (the stream stops growing); wait
         until the target's REPLCONF ACK equals our offset (any replica's, without TO)
      -> failover-in-progress: become a replica of the target, keeping our history
         and our replicas
         PSYNC <our replid> <offset + 1> FAILOVER  ---->  same replid as mine? then
                                                         become a master (a new ID,
                                                         ours valid as its replid2)
                                <----  +CONTINUE <its new replid>
      -> no-failover: writes resume (and, on a replica now, are refused READONLY)

Nothing sends REPLCONF GETACK meanwhile, as in Redis: it would add to the stream that
the target must catch up with. Replicas acknowledge by themselves every second (ours
after their first seconds, see app/replication/replica.py).

A TIMEOUT ends the wait: the failover is aborted and writes resume, or with FORCE the
master fails over anyway, and the target continues from where it was (or resyncs the
old master fully). A target that refuses the FAILOVER PSYNC (or does not answer it)
aborts the failover too, and so does FAILOVER ABORT at any time: writes resume, and a
server that had already turned replica is a master again, under a new replication ID
(its replicas continue from the backlog under the old one). Other trouble reaching the
target leaves the failover in progress, retrying, as in Redis. This is Redis 7.0's
failoverCommand, updateFailoverStatus and abortFailover (replication.c); here the wait
is a thread of its own, woken by every acknowledgement and every replica that leaves.

Everything here runs with the keyspace lock held.
"""

from __future__ import annotations

import threading
import time

from app import log
from app.protocol import ReplyError

WAITING = "waiting-for-sync"
IN_PROGRESS = "failover-in-progress"


class Failover:
    """One FAILOVER, from the command until it succeeds or is aborted."""

    def __init__(self, server, target: tuple[str, int] | None, timeout_ms: int, force: bool):
        self.server = server
        self.replication = server.replication
        self.target = target  # None: the first replica found in sync
        self.deadline = time.monotonic() + timeout_ms / 1000 if timeout_ms else None
        self.force = force
        self.state = WAITING

    def start(self) -> None:
        if self.target is None:
            log.notice("FAILOVER requested to any replica.")
        else:
            log.notice(f"FAILOVER requested to {self.target[0]}:{self.target[1]}.")
        self.replication.failover = self
        self.server.pause(None, everything=False, purpose="failover")
        threading.Thread(target=self._wait_for_sync, name="failover", daemon=True).start()

    @property
    def timed(self) -> bool:
        """Whether a TIMEOUT was given (the master then stops PINGing its replicas)."""
        return self.deadline is not None

    # --- waiting-for-sync

    def _wait_for_sync(self) -> None:
        replication = self.replication
        with self.server.keyspace.lock:
            while replication.failover is self and self.state == WAITING:
                self._update()
                if replication.failover is self and self.state == WAITING:
                    remaining = None if self.deadline is None else max(self.deadline - time.monotonic(), 0)
                    replication.acks.wait(remaining)  # an ACK, a replica gone, ABORT

    def _update(self) -> None:
        """Redis' updateFailoverStatus: time out, or fail over once the target is in sync."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            if self.force:
                log.notice(f"FAILOVER to {self.target[0]}:{self.target[1]} time out exceeded, failing over.")
                self._fail_over()
            else:
                self.abort("Replica never caught up before timeout")
            return
        offset = self.replication.offset
        if self.target is not None:
            link = find_replica(self.replication, *self.target)
        else:
            link = next((link for link in self.replication.replicas if link.ack_offset == offset), None)
            if link is not None:
                self.target = (replica_address(link), link.listening_port)
        if link is not None and link.ack_offset == offset:
            log.notice(f"Failover target {self.target[0]}:{self.target[1]} is synced, failing over.")
            self._fail_over()

    def _fail_over(self) -> None:
        """Become a replica of the target; the link asks it for PSYNC ... FAILOVER."""
        self.state = IN_PROGRESS
        self.server.replicate_from(self.target, continue_own_history=True, keep_replicas=True)

    # --- the end

    def finished(self) -> None:
        """The target answered the FAILOVER PSYNC (+CONTINUE, or +FULLRESYNC)."""
        self._clear()

    def abort(self, reason: str) -> None:
        if self.replication.failover is not self:
            return  # over already (FAILOVER ABORT and a refused PSYNC at once)
        if self.target is None:
            log.notice(f"FAILOVER to any replica aborted: {reason}")
        else:
            log.notice(f"FAILOVER to {self.target[0]}:{self.target[1]} aborted: {reason}")
        if self.state == IN_PROGRESS:
            self.replication.become_master()
        self._clear()

    def _clear(self) -> None:
        if self.replication.failover is self:
            self.replication.failover = None
        self.server.unpause("failover")
        self.replication.acks.notify_all()  # the waiting thread, if any, ends


def replica_address(link) -> str:
    """The address a replica is known by: the one it announced, or its peer address."""
    announced = link.client.replica_ip
    return announced.decode("utf-8", "replace") if announced else link.ip


def find_replica(replication, host: str, port: int):
    """The replica at ``host`` (compared without case, as Redis) and listening ``port``."""
    for link in replication.replicas:
        if replica_address(link).lower() == host.lower() and link.listening_port == port:
            return link
    return None


def start(client, target: tuple[str, int] | None, timeout_ms: int, force: bool) -> None:
    """FAILOVER's checks after its arguments were read, in Redis' order, then start."""
    server = client.server
    replication = server.replication
    if replication.failover is not None:
        raise ReplyError("ERR FAILOVER already in progress.")
    if server.role == "slave":
        raise ReplyError("ERR FAILOVER is not valid when server is a replica.")
    if not replication.replicas:
        raise ReplyError("ERR FAILOVER requires connected replicas.")
    if force and (not timeout_ms or target is None):
        raise ReplyError("ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
    if target is not None:
        link = find_replica(replication, *target)
        if link is None:
            raise ReplyError("ERR FAILOVER target HOST and PORT is not a replica.")
        if link.state != "online":
            raise ReplyError("ERR FAILOVER target replica is not online.")
    Failover(server, target, timeout_ms, force).start()


def abort(client) -> None:
    """FAILOVER ABORT."""
    failover = client.server.replication.failover
    if failover is None:
        raise ReplyError("ERR No failover in progress.")
    failover.abort("Failover manually aborted")


def accept_request(client, replid: bytes) -> None:
    """PSYNC <replid> <offset> FAILOVER, received by the target: promote ourselves if
    the old master shares our history (the PSYNC then continues as any other)."""
    server = client.server
    replication = server.replication
    wanted = replid.decode("utf-8", "replace")
    log.warning(f"Failover request received for replid {wanted}.")
    if server.role != "slave":
        raise ReplyError("ERR PSYNC FAILOVER can't be sent to a master.")
    if wanted.lower() != replication.replid.lower():
        raise ReplyError("ERR PSYNC FAILOVER replid must match my replid.")
    replication.become_master()
    log.notice(f"MASTER MODE enabled (failover request from '{client.info_line()}')")
