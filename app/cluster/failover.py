"""Replicas taking over from their masters (Redis cluster.c: clusterHandleSlaveFailover,
clusterSendFailoverAuthIfNeeded, the manual failover, clusterHandleSlaveMigration).

Elections
    When a master is FAIL, each of its replicas waits a little (500 ms, a random part of
    another 500, and a second per replica with a fresher replication offset than its
    own: the freshest usually goes first), then takes a new epoch (``current_epoch``+1)
    and asks every master for its vote (FAILOVER_AUTH_REQUEST). A master serving slots
    votes once per epoch (``last_vote_epoch``), for a replica whose master is FAIL, and
    at most once per failed master in twice the node timeout (FAILOVER_AUTH_ACK). The
    replica with the votes of a majority of the masters becomes master: it takes the
    election's epoch as its config epoch, claims its old master's slots, and tells
    everyone with a PONG; that greater config epoch wins the slots everywhere
    (app/cluster/gossip.py). An election not won within twice the node timeout (at
    least 2 s) is retried after as long again.

Manual failover (CLUSTER FAILOVER on a replica)
    The replica asks its master to stop writes (MFSTART); the master pauses its clients'
    writes and pings the replica, saying so (the PAUSED flag) with its replication
    offset; once the replica has processed the stream up to that offset, it runs an
    election at once, whose requests say FORCEACK (vote even though the master is up).
    FORCE skips the master (it may be down); TAKEOVER skips the election too: a config
    epoch taken without agreement, and the slots. All give up after 5 s.

Replica migration
    A master left without working replicas (an "orphan", that used to have some) gets
    one from the master with the most, if that one keeps at least
    cluster-migration-barrier: the replica with the smallest name among those moves.

Everything here runs under the keyspace lock, from the cron, the bus's messages or a
command, like the rest of the cluster.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace

from app import log
from app.cluster import gossip
from app.cluster.bus import (
    CLUSTER_NODE_FAIL,
    CLUSTER_NODE_MIGRATE_TO,
    CLUSTER_NODE_NOFAILOVER,
    CLUSTER_NODE_PFAIL,
    CLUSTER_OK,
    CLUSTERMSG_FLAG0_FORCEACK,
    CLUSTERMSG_TYPE_FAILOVER_AUTH_ACK,
    CLUSTERMSG_TYPE_FAILOVER_AUTH_REQUEST,
    CLUSTERMSG_TYPE_MFSTART,
    CLUSTERMSG_TYPE_PING,
    Message,
    mask_to_slots,
)
from app.cluster.nodes import now_ms
from app.cluster.state import (
    TODO_HANDLE_FAILOVER,
    TODO_HANDLE_MANUALFAILOVER,
    TODO_SAVE_CONFIG,
    TODO_UPDATE_STATE,
)

MF_TIMEOUT = 5000  # ms a manual failover may take (CLUSTER_MF_TIMEOUT)
MF_PAUSE_MULT = 2  # the master pauses writes for twice that, at most
REPLICA_MIGRATION_DELAY = 5000  # ms a master must stay orphaned before a replica moves to it
CANT_FAILOVER_RELOG_PERIOD = 10  # seconds between two "unable to failover" lines
PAUSE_PURPOSE = "cluster failover"  # ServerState.pause's purpose for a manual failover's pause

# Why a replica cannot fail over now (Redis: CLUSTER_CANT_FAILOVER_*), for the log.
CANT_NONE, CANT_DATA_AGE, CANT_WAITING_DELAY, CANT_EXPIRED, CANT_WAITING_VOTES = range(5)
_CANT_MESSAGES = {
    CANT_DATA_AGE: "Disconnected from master for longer than allowed. Please check the "
                   "'cluster-replica-validity-factor' configuration option.",
    CANT_WAITING_DELAY: "Waiting the delay before I can start a new failover.",
    CANT_EXPIRED: "Failover attempt expired.",
    CANT_WAITING_VOTES: "Waiting for votes, but majority still not reached.",
}


# --------------------------------------------------------------------------- votes


def vote_if_needed(cluster, node, header) -> None:
    """A replica asks for our vote (Redis: clusterSendFailoverAuthIfNeeded)."""
    myself = cluster.myself
    master = node.master
    if myself.is_replica or myself.slots == 0:
        return  # only masters serving slots vote: they make the quorum
    if header.current_epoch < cluster.current_epoch:
        log.warning(f"Failover auth denied to {node.name}: reqEpoch ({header.current_epoch}) < "
                    f"curEpoch({cluster.current_epoch})")
        return
    if cluster.last_vote_epoch == cluster.current_epoch:
        log.warning(f"Failover auth denied to {node.name}: already voted for epoch {cluster.current_epoch}")
        return
    force_ack = header.mflags & CLUSTERMSG_FLAG0_FORCEACK
    if node.is_master or master is None or (not master.failed and not force_ack):
        if node.is_master:
            reason = "it is a master node"
        elif master is None:
            reason = "I don't know its master"
        else:
            reason = "its master is up"
        log.warning(f"Failover auth denied to {node.name}: {reason}")
        return
    now = now_ms()
    timeout = cluster.node_timeout()
    if now - master.voted_time < timeout * 2:
        log.warning(f"Failover auth denied to {node.name}: can't vote about this master before "
                    f"{timeout * 2 - (now - master.voted_time)} milliseconds")
        return
    # Its claim must not be older than what we know of any of those slots.
    for slot in mask_to_slots(header.myslots):
        owner = cluster.slots[slot]
        if owner is not None and owner.config_epoch > header.config_epoch:
            log.warning(f"Failover auth denied to {node.name}: slot {slot} epoch ({owner.config_epoch}) > "
                        f"reqEpoch ({header.config_epoch})")
            return
    cluster.last_vote_epoch = cluster.current_epoch
    master.voted_time = now
    cluster.want(TODO_SAVE_CONFIG)
    _send(cluster, node.link, CLUSTERMSG_TYPE_FAILOVER_AUTH_ACK)
    log.warning(f"Failover auth granted to {node.name} for epoch {cluster.current_epoch}")


def vote_received(cluster, sender, header) -> None:
    """A master's vote for us, counted if it serves slots and knows our election's epoch."""
    if sender.is_master and sender.slots and header.current_epoch >= cluster.failover_auth_epoch:
        cluster.failover_auth_count += 1
        cluster.want(TODO_HANDLE_FAILOVER)  # maybe a quorum already: look before sleeping


def _send(cluster, link, message_type: int) -> None:
    """A message that is its header alone (the ACK of a vote, MFSTART)."""
    if link is not None:
        gossip.send(cluster, link, Message(gossip.header_for(cluster, message_type), None))


def _request_votes(cluster) -> None:
    """FAILOVER_AUTH_REQUEST to everyone; FORCEACK during a manual failover."""
    header = gossip.header_for(cluster, CLUSTERMSG_TYPE_FAILOVER_AUTH_REQUEST)
    if cluster.mf_end:
        header = replace(header, mflags=header.mflags | CLUSTERMSG_FLAG0_FORCEACK)
    gossip.broadcast(cluster, Message(header, None))


# --------------------------------------------------------------------------- elections


def _rank(cluster) -> int:
    """How many replicas of our master, able to fail over, have a fresher offset."""
    myself = cluster.myself
    master = myself.master
    if master is None:
        return 0
    offset = cluster.my_repl_offset()
    return sum(1 for replica in master.replicas
               if replica is not myself and not _cant_failover(replica) and replica.repl_offset > offset)


def _cant_failover(node) -> bool:
    return bool(node.flags & CLUSTER_NODE_NOFAILOVER)


def _data_age(cluster) -> int:
    """Milliseconds since we last heard from our master (or since its link broke)."""
    link = cluster.server.replication.link
    now = time.monotonic()
    if link is not None and link.up:
        return int((now - link.last_io) * 1000)
    if link is not None and link.down_since is not None:
        return int((now - link.down_since) * 1000)
    return int(time.time() * 1000)  # never connected: as old as Redis' repl_down_since of 0


def handle_replica_failover(cluster) -> None:
    """Run, or go on with, an election, if our master failed or a manual failover can
    start (Redis: clusterHandleSlaveFailover)."""
    myself = cluster.myself
    config = cluster.config
    now = now_ms()
    auth_age = now - cluster.failover_auth_time
    needed_quorum = cluster.size // 2 + 1
    manual = cluster.mf_end != 0 and cluster.mf_can_start
    cluster.todo &= ~TODO_HANDLE_FAILOVER
    timeout = cluster.node_timeout()
    auth_timeout = max(timeout * 2, 2000)
    auth_retry_time = auth_timeout * 2
    master = myself.master
    if (myself.is_master or master is None or (not master.failed and not manual)
            or (config["cluster-replica-no-failover"] and not manual) or master.slots == 0):
        cluster.cant_failover_reason = CANT_NONE
        return
    data_age = _data_age(cluster)
    if data_age > timeout:
        data_age -= timeout  # down for the node timeout at least: that is how it got FAIL
    factor = config["cluster-replica-validity-factor"]
    if factor and data_age > config["repl-ping-replica-period"] * 1000 + timeout * factor and not manual:
        _log_cant_failover(cluster, CANT_DATA_AGE)
        return
    if auth_age > auth_retry_time:
        # A new attempt: after a delay that lets the FAIL spread, more for staler replicas.
        cluster.failover_auth_time = now + 500 + random.randrange(500)
        cluster.failover_auth_count = 0
        cluster.failover_auth_sent = False
        cluster.failover_auth_rank = _rank(cluster)
        cluster.failover_auth_time += cluster.failover_auth_rank * 1000
        if cluster.mf_end:
            cluster.failover_auth_time = now
            cluster.failover_auth_rank = 0
            cluster.want(TODO_HANDLE_FAILOVER)
        log.notice(f"Start of election delayed for {cluster.failover_auth_time - now} milliseconds "
                   f"(rank #{cluster.failover_auth_rank}, offset {cluster.my_repl_offset()}).")
        gossip.broadcast_pong(cluster, local_replicas_only=True)  # our offset, to the other replicas
        return
    if not cluster.failover_auth_sent and not cluster.mf_end:
        rank = _rank(cluster)
        if rank > cluster.failover_auth_rank:
            added = (rank - cluster.failover_auth_rank) * 1000
            cluster.failover_auth_time += added
            cluster.failover_auth_rank = rank
            log.notice(f"Replica rank updated to #{rank}, added {added} milliseconds of delay.")
    if now < cluster.failover_auth_time:
        _log_cant_failover(cluster, CANT_WAITING_DELAY)
        return
    if auth_age > auth_timeout:
        _log_cant_failover(cluster, CANT_EXPIRED)
        return
    if not cluster.failover_auth_sent:
        cluster.current_epoch += 1
        cluster.failover_auth_epoch = cluster.current_epoch
        log.notice(f"Starting a failover election for epoch {cluster.current_epoch}.")
        _request_votes(cluster)
        cluster.failover_auth_sent = True
        cluster.want(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)
        return
    if cluster.failover_auth_count >= needed_quorum:
        log.notice("Failover election won: I'm the new master.")
        if myself.config_epoch < cluster.failover_auth_epoch:
            myself.config_epoch = cluster.failover_auth_epoch
            log.notice(f"configEpoch set to {myself.config_epoch} after successful failover")
        replace_master(cluster)
    else:
        _log_cant_failover(cluster, CANT_WAITING_VOTES)


def _log_cant_failover(cluster, reason: int) -> None:
    """Say why we cannot fail over: when the reason changes, or every 10 seconds, and
    only once the master has been down for a while (Redis: clusterLogCantFailover)."""
    now = time.time()
    if reason == cluster.cant_failover_reason and now - cluster.last_cant_failover_log < CANT_FAILOVER_RELOG_PERIOD:
        return
    cluster.cant_failover_reason = reason
    master = cluster.myself.master
    if master is not None and master.failed and now_ms() - master.fail_time < 5000:
        return  # too soon after the failure to be worth saying
    cluster.last_cant_failover_log = now
    log.notice(f"Currently unable to failover: {_CANT_MESSAGES[reason]}")


def replace_master(cluster) -> None:
    """Become master in our master's place, with its slots, and tell everyone (Redis:
    clusterFailoverReplaceYourMaster)."""
    myself = cluster.myself
    old_master = myself.master
    if myself.is_master or old_master is None:
        return
    cluster.set_node_as_master(myself)
    cluster.replicate_from(None)
    for slot in list(mask_to_slots(old_master.slots)):
        cluster.del_slot(slot)
        cluster.add_slot(myself, slot)
    cluster.update_state()
    cluster.save_config_or_die()
    gossip.broadcast_pong(cluster)
    reset_manual_failover(cluster)
    # This election is over: should we follow a master again soon, a new one starts
    # from scratch (Redis keeps its state, and could count these votes twice).
    cluster.failover_auth_time = cluster.failover_auth_count = 0
    cluster.failover_auth_sent = False


# --------------------------------------------------------------------------- manual failover


def reset_manual_failover(cluster) -> None:
    """No manual failover in progress any more; a master paused for one resumes writes."""
    if cluster.mf_replica is not None:
        cluster.server.unpause(PAUSE_PURPOSE)
    cluster.mf_end = 0
    cluster.mf_can_start = False
    cluster.mf_replica = None
    cluster.mf_master_offset = -1


def start_manual_failover(cluster, mode: bytes) -> None:
    """CLUSTER FAILOVER on this replica: "" asks the master to pause first, FORCE does
    not wait for it, TAKEOVER needs no election (the command checked the rest)."""
    reset_manual_failover(cluster)
    cluster.mf_end = now_ms() + MF_TIMEOUT
    if mode == b"takeover":
        log.warning("Taking over the master (user request).")
        cluster.bump_epoch_without_consensus()
        replace_master(cluster)
    elif mode == b"force":
        log.warning("Forced failover user request accepted.")
        cluster.mf_can_start = True
    else:
        log.warning("Manual failover user request accepted.")
        _send(cluster, cluster.myself.master.link, CLUSTERMSG_TYPE_MFSTART)


def manual_failover_requested(cluster, sender, link) -> None:
    """MFSTART from one of our replicas: pause writes, and ping it our offset."""
    if sender is None or sender.master is not cluster.myself:
        return
    reset_manual_failover(cluster)
    cluster.mf_end = now_ms() + MF_TIMEOUT
    cluster.mf_replica = sender
    cluster.server.pause(MF_TIMEOUT * MF_PAUSE_MULT, everything=False, purpose=PAUSE_PURPOSE)
    log.warning(f"Manual failover requested by replica {sender.name}.")
    gossip.send_ping(cluster, link, CLUSTERMSG_TYPE_PING)


def master_paused(cluster, sender) -> None:
    """Our master, paused for our manual failover, told us its offset."""
    if cluster.mf_end and cluster.myself.is_replica and cluster.myself.master is sender \
            and cluster.mf_master_offset == -1:
        cluster.mf_master_offset = sender.repl_offset
        cluster.want(TODO_HANDLE_MANUALFAILOVER)
        log.warning(f"Received replication offset for paused master manual failover: {cluster.mf_master_offset}")


def handle_manual_failover(cluster) -> None:
    """Start the election once we processed the stream up to the paused master's offset."""
    if cluster.mf_end == 0 or cluster.mf_can_start or cluster.mf_master_offset == -1:
        return
    if cluster.mf_master_offset == cluster.my_repl_offset():
        cluster.mf_can_start = True
        log.warning("All master replication stream processed, manual failover can start.")
        cluster.want(TODO_HANDLE_FAILOVER)
        return
    _log_cant_failover(cluster, CANT_WAITING_DELAY)


def check_manual_failover_timeout(cluster) -> None:
    if cluster.mf_end and cluster.mf_end < now_ms():
        log.warning("Manual failover timed out.")
        reset_manual_failover(cluster)


# --------------------------------------------------------------------------- replica migration


def working_replicas(node) -> int:
    return sum(1 for replica in node.replicas if not replica.failed)


def handle_replica_migration(cluster, max_replicas: int) -> None:
    """Move to an orphaned master if we are the replica to spare (Redis:
    clusterHandleSlaveMigration)."""
    myself = cluster.myself
    master = myself.master
    if cluster.state != CLUSTER_OK or master is None:
        return
    ok = sum(1 for replica in master.replicas if not replica.flags & (CLUSTER_NODE_FAIL | CLUSTER_NODE_PFAIL))
    if ok <= cluster.config["cluster-migration-barrier"]:
        return
    target = None
    candidate = myself
    now = now_ms()
    for node in cluster.nodes.values():
        replicas_ok = working_replicas(node) if node.is_master else 0
        orphaned = node.is_master and not node.failed and node.flags & CLUSTER_NODE_MIGRATE_TO and replicas_ok == 0
        if orphaned:
            if target is None and node.slots:
                target = node
            if not node.orphaned_time:
                node.orphaned_time = now
        else:
            node.orphaned_time = 0
        if replicas_ok == max_replicas:
            for replica in node.replicas:
                if replica.name < candidate.name:
                    candidate = replica
    if target is not None and candidate is myself and now - target.orphaned_time > REPLICA_MIGRATION_DELAY:
        log.notice(f"Migrating to orphaned master {target.name}")
        cluster.set_master(target)
