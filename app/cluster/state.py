"""What a cluster node knows of its cluster (Redis: clusterState, ``server.cluster``).

`ClusterState` is made by app/main.py when ``cluster-enabled yes`` and hangs on the
server as ``server.cluster`` (None on a standalone server). It holds:

- the node table (name -> `ClusterNode`, this node included as ``myself``) and the
  owner of each of the 16384 slots, plus the slots this node is migrating to or
  importing from another (CLUSTER SETSLOT);
- the epochs: ``current_epoch``, the highest seen in the cluster, and each master's
  config epoch, which settles who owns a slot when two masters claim it (the higher
  wins); ``last_vote_epoch`` for elections;
- whether the cluster is usable from here (``state``: every slot served by a master
  that is not FAIL, when cluster-require-full-coverage says so, and a majority of the
  masters that serve slots reachable) and its ``size`` (masters serving slots);
- counters for CLUSTER INFO, and the keys of each slot (app/cluster/slot_keys.py).

Everything here runs under the keyspace lock: commands (app/commands/cluster.py), the
bus's messages (app/cluster/gossip.py) and the cron all take it first, so the table
changes as one piece, as Redis' single thread changes it.

Like Redis, changes ask for work "before sleeping" (`want`): rewriting nodes.conf,
recomputing ``state``, going on with an election. `before_sleep` does it once per
batch: after each bus message, each cron tick and each CLUSTER command, so that a batch
of changes costs one write of nodes.conf.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import os
import time

from app import log
from app.cluster import bus, routing
from app.cluster.bus import (
    CLUSTER_FAIL,
    CLUSTER_NODE_FAIL,
    CLUSTER_NODE_HANDSHAKE,
    CLUSTER_NODE_MASTER,
    CLUSTER_NODE_MEET,
    CLUSTER_NODE_MIGRATE_TO,
    CLUSTER_NODE_MYSELF,
    CLUSTER_NODE_NOFAILOVER,
    CLUSTER_NODE_PFAIL,
    CLUSTER_NODE_SLAVE,
    CLUSTER_OK,
    CLUSTERMSG_TYPE_COUNT,
    NAME_LEN,
)
from app.cluster.nodes import ClusterNode, NodesConfError, format_nodes_conf, new_node_name, now_ms, parse_nodes_conf, write_nodes_conf
from app.cluster.slot_keys import SlotKeys
from app.cluster.slots import SLOTS, key_slot

# cluster.h's timing constants.
FAIL_REPORT_VALIDITY_MULT = 2  # a failure report counts for 2 x node timeout
FAIL_UNDO_TIME_MULT = 2  # a FAIL master still serving its slots is cleared after 2 x node timeout
BLACKLIST_TTL = 60  # seconds a forgotten node may not come back through gossip
WRITABLE_DELAY = 2000  # a master waits this long after start before it says "ok"
MAX_REJOIN_DELAY = 5000  # and this long, at most, after leaving a minority partition
MIN_REJOIN_DELAY = 500
PORT_INCR = 10000  # the bus listens on port + 10000 unless cluster-port says otherwise

# What to do before sleeping (Redis: CLUSTER_TODO_*).
TODO_UPDATE_STATE = 1
TODO_SAVE_CONFIG = 2  # fsynced when an epoch changed (`save_config`)
TODO_HANDLE_FAILOVER = 4
TODO_HANDLE_MANUALFAILOVER = 8


class ClusterState:
    """This node's view of the cluster. See the module docstring."""

    def __init__(self, server):
        self.server = server
        self.config = server.config
        self.nodes: dict[str, ClusterNode] = {}
        self.myself: ClusterNode = None  # set by `load_or_create`
        self.slots: list[ClusterNode | None] = [None] * SLOTS
        self.migrating: dict[int, ClusterNode] = {}  # slot -> the node it moves to
        self.importing: dict[int, ClusterNode] = {}  # slot -> the node it comes from
        self.current_epoch = 0
        self.last_vote_epoch = 0
        self.state = CLUSTER_FAIL
        self.size = 1
        self.todo = 0
        self.blacklist: dict[str, float] = {}  # forgotten node -> until when (Unix seconds)
        self.messages_sent = [0] * CLUSTERMSG_TYPE_COUNT
        self.messages_received = [0] * CLUSTERMSG_TYPE_COUNT
        self.pfail_nodes = 0  # counted by each cron tick: PINGs gossip about all of them
        self.links_buffer_limit_exceeded = 0
        self.first_update_time = 0  # the first `update_state`: WRITABLE_DELAY runs from it
        self.among_minority_time = 0
        self.pings_sent = 0  # numbers each PING, so that a node is gossiped about once in it
        self.cron_iterations = 0
        # A replica's election (app/cluster/failover.py): when it may ask for votes,
        # how many it got, whether it asked, its rank among its master's replicas, the
        # epoch it asked in, and why it cannot fail over (logged now and then).
        self.failover_auth_time = 0
        self.failover_auth_count = 0
        self.failover_auth_sent = False
        self.failover_auth_rank = 0
        self.failover_auth_epoch = 0
        self.cant_failover_reason = 0
        self.last_cant_failover_log = 0.0
        # A manual failover (CLUSTER FAILOVER): until when; on the master, the replica
        # it paused writes for; on the replica, the paused master's offset to reach
        # (-1: not known yet) and whether the election may start.
        self.mf_end = 0
        self.mf_replica: ClusterNode | None = None
        self.mf_master_offset = -1
        self.mf_can_start = False
        self.config_path = os.path.join(self.config["dir"], self.config["cluster-config-file"])
        self.config_lock: int | None = None  # a descriptor of nodes.conf, locked (`lock_config`)
        self.synced_epochs = None  # the epochs nodes.conf held when last fsynced (`save_config`)
        self.drop_packet_filter = -1  # a bus message type to ignore (DEBUG DROP-CLUSTER-PACKET-FILTER)
        self.slot_keys = SlotKeys(server.keyspace)
        server.keyspace.slot_keys = self.slot_keys  # the keyspace tells it of every key
        self.bus = None  # the listener and its links (app/cluster/links.py), set by `start`

    # ------------------------------------------------------------------ start-up

    def load_or_create(self) -> None:
        """Load nodes.conf, or make this node anew (a fresh random name) and write it.
        Raises NodesConfError for a file Redis would refuse, OSError if it cannot be
        read or written."""
        self.lock_config()
        text = None
        try:
            with open(self.config_path, encoding="latin-1") as handle:
                text = handle.read()
        except FileNotFoundError:
            pass
        if text:
            conf = parse_nodes_conf(text)
            for node in conf.nodes:
                self.nodes[node.name] = node
                for slot in bus.mask_to_slots(node.slots):
                    self.slots[slot] = node
            self.myself = conf.myself
            self.current_epoch, self.last_vote_epoch = conf.current_epoch, conf.last_vote_epoch
            self.migrating = {slot: self.nodes[name] for slot, name in conf.migrating.items()}
            self.importing = {slot: self.nodes[name] for slot, name in conf.importing.items()}
            log.notice(f"Node configuration loaded, I'm {self.myself.name}")
        else:
            self.myself = ClusterNode(new_node_name(), CLUSTER_NODE_MYSELF | CLUSTER_NODE_MASTER)
            self.add_node(self.myself)
            log.notice(f"No cluster configuration found, I'm {self.myself.name}")
        self.update_myself_address()
        self.update_myself_flags()
        self.save_config()

    def announced_ports(self) -> tuple[int, int, int]:
        """(port, pport, cport) this node announces (Redis: deriveAnnouncedPorts);
        there is no TLS here, so pport is always 0."""
        config = self.config
        port = config["cluster-announce-port"] or config["port"]
        cport = config["cluster-announce-bus-port"] or config["cluster-port"] or config["port"] + PORT_INCR
        return port, 0, cport

    def bus_port(self) -> int:
        return self.config["cluster-port"] or self.config["port"] + PORT_INCR

    def update_myself_address(self) -> None:
        """Our ports, announced IP and hostname as configured now."""
        myself = self.myself
        myself.port, myself.pport, myself.cport = self.announced_ports()
        if self.config["cluster-announce-ip"]:
            myself.ip = self.config["cluster-announce-ip"]
        myself.hostname = self.config["cluster-announce-hostname"] or ""

    def update_myself_flags(self) -> None:
        """NOFAILOVER follows cluster-replica-no-failover."""
        before = self.myself.flags
        if self.config["cluster-replica-no-failover"]:
            self.myself.flags |= CLUSTER_NODE_NOFAILOVER
        else:
            self.myself.flags &= ~CLUSTER_NODE_NOFAILOVER
        if before != self.myself.flags:
            self.want(TODO_SAVE_CONFIG)

    def verify_with_data(self) -> bool:
        """After loading the dataset, as Redis' verifyClusterConfigWithData: a master
        takes the unassigned slots it has keys for, and sets the slots it has keys for
        but another node owns as importing from that node. False (the server must not
        start) if a master has keys in a database other than 0, which it could never
        serve."""
        if self.myself.is_replica:
            return True  # its data is its master's to decide
        if any(db.data for db in self.server.keyspace.databases[1:]):
            return False
        changed = False
        for slot in self.slot_keys.slots_with_keys():
            owner = self.slots[slot]
            if owner is self.myself or slot in self.importing:
                continue
            changed = True
            if owner is None:
                log.notice(f"I have keys for unassigned slot {slot}. Taking responsibility for it.")
                self.add_slot(self.myself, slot)
            else:
                log.notice(f"I have keys for slot {slot}, but the slot is assigned to another node. "
                           "Setting it to importing state.")
                self.importing[slot] = owner
        if changed:
            self.save_config()
        return True

    # ------------------------------------------------------------------ before sleeping

    def want(self, todo: int) -> None:
        """Ask for work before sleeping (Redis: clusterDoBeforeSleep)."""
        self.todo |= todo

    def before_sleep(self) -> None:
        """Do what changes asked for: go on with an election that may have its votes,
        recompute the state, save nodes.conf (Redis: clusterBeforeSleep)."""
        from app.cluster import failover  # it imports this module

        todo, self.todo = self.todo, 0
        if todo & TODO_HANDLE_MANUALFAILOVER:
            if self.myself.is_replica:
                failover.handle_manual_failover(self)
                failover.handle_replica_failover(self)
        elif todo & TODO_HANDLE_FAILOVER:
            failover.handle_replica_failover(self)
        if todo & TODO_UPDATE_STATE:
            self.update_state()
        if todo & TODO_SAVE_CONFIG:
            self.save_config_or_die()

    def nodes_conf_text(self) -> str:
        return format_nodes_conf(self.nodes.values(), self.myself, self.current_epoch, self.last_vote_epoch,
                                 self.migrating, self.importing)

    def save_config(self) -> None:
        """Write nodes.conf now, through a temporary file renamed over the old one.
        Raises OSError.

        It is fsynced first only when an epoch changed since the last fsync: the
        current epoch, the last vote's, or this node's config epoch. Those are what a
        node must never forget (a node that forgot its vote could vote twice in one
        epoch); Redis too fsyncs only such changes (CLUSTER_TODO_FSYNC_CONFIG). Slot
        moves are not: a reshard sets each slot on every master, and an fsync for each
        (milliseconds) made one slot cost 15 ms instead of Redis' 1."""
        self.todo &= ~TODO_SAVE_CONFIG
        epochs = (self.current_epoch, self.last_vote_epoch, self.myself.config_epoch)
        write_nodes_conf(self.config_path, self.nodes_conf_text(), sync=epochs != self.synced_epochs)
        self.synced_epochs = epochs
        self.lock_config()  # the file is a new one now: lock it in turn

    def lock_config(self) -> None:
        """Hold an exclusive lock on nodes.conf for as long as this process lives, so
        that a second node started on the same file refuses to start (Redis:
        clusterLockConfig) instead of both writing it. Saving replaces the file, so each
        save locks the new one and lets go of the old. Raises NodesConfError if another
        process holds it."""
        descriptor = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(descriptor)
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise NodesConfError(
                    f"Sorry, the cluster configuration file {self.config['cluster-config-file']} is already used by a "
                    "different Redis Cluster node. Please make sure that different nodes use different cluster "
                    "configuration files.") from None
            raise NodesConfError(f"Impossible to lock {self.config['cluster-config-file']}: {error.strerror}") from None
        self.release_config()
        self.config_lock = descriptor

    def release_config(self) -> None:
        """Let go of nodes.conf's lock (a process that ends lets go of it anyway)."""
        if self.config_lock is not None:
            os.close(self.config_lock)
            self.config_lock = None

    def save_config_or_die(self) -> None:
        """A node that cannot record its configuration must not go on (it could vote
        twice in one epoch after a restart): Redis exits, and so do we."""
        try:
            self.save_config()
        except OSError as error:
            log.warning(f"Fatal: can't update cluster config file: {error}")
            os._exit(1)

    # ------------------------------------------------------------------ the node table

    def lookup(self, name: bytes | str) -> ClusterNode | None:
        """The node of that name (Redis: clusterLookupNode)."""
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if len(name) != NAME_LEN:
            return None
        return self.nodes.get(name)

    def add_node(self, node: ClusterNode) -> None:
        self.nodes[node.name] = node

    def rename_node(self, node: ClusterNode, name: str) -> None:
        """A handshake node's random name becomes the one it says it has."""
        log.debug(f"Renaming node {node.name} into {name}")
        del self.nodes[node.name]
        node.name = name
        self.nodes[name] = node

    def del_node(self, node: ClusterNode) -> None:
        """Forget ``node`` (Redis: clusterDelNode): its slots become unassigned, its
        failure reports about others are dropped, its links closed."""
        for slot, other in list(self.importing.items()):
            if other is node:
                del self.importing[slot]
        for slot, other in list(self.migrating.items()):
            if other is node:
                del self.migrating[slot]
        for slot in bus.mask_to_slots(node.slots):
            self.del_slot(slot)
        for other in self.nodes.values():
            other.fail_reports.pop(node, None)
        self.free_node(node)

    def free_node(self, node: ClusterNode) -> None:
        """Unlink ``node`` from the table (Redis: freeClusterNode)."""
        for replica in node.replicas:
            replica.master = None
        if node.is_replica and node.master is not None:
            node.master.remove_replica(node)
        if self.nodes.get(node.name) is node:
            del self.nodes[node.name]
        if node.link is not None:
            self.free_link(node.link)
        if node.inbound_link is not None:
            self.free_link(node.inbound_link)

    def free_link(self, link) -> None:
        """Close a bus link and detach it from its node (Redis: freeClusterLink)."""
        node = link.node
        if node is not None:
            if node.link is link:
                node.link = None
            elif node.inbound_link is link:
                node.inbound_link = None
        link.close()

    def set_inbound_link(self, node: ClusterNode, link) -> None:
        """The node at the other end of an inbound link is known now."""
        if node.inbound_link is link:
            return
        if node.inbound_link is not None:
            # It reconnected before we noticed its old link closing.
            self.free_link(node.inbound_link)
        node.inbound_link = link
        link.node = node

    def blacklist_add(self, node: ClusterNode) -> None:
        self.blacklist_cleanup()
        self.blacklist[node.name] = time.time() + BLACKLIST_TTL

    def blacklisted(self, name: str) -> bool:
        self.blacklist_cleanup()
        return name in self.blacklist

    def blacklist_cleanup(self) -> None:
        now = time.time()
        for name, until in list(self.blacklist.items()):
            if until < now:
                del self.blacklist[name]

    def start_handshake(self, ip: str, port: int, cport: int) -> str:
        """CLUSTER MEET: add a node in handshake, with a random name until it answers
        (Redis: clusterStartHandshake). Returns "ok", "invalid" (not an IP address, or
        a port out of range) or "busy" (a handshake with that address is under way)."""
        try:
            normalized = str(ipaddress.ip_address(ip))
        except ValueError:
            return "invalid"
        if not (0 < port <= 65535 and 0 < cport <= 65535):
            return "invalid"
        for node in self.nodes.values():
            if node.in_handshake and node.ip.lower() == normalized and node.port == port and node.cport == cport:
                return "busy"
        node = ClusterNode(new_node_name(), CLUSTER_NODE_HANDSHAKE | CLUSTER_NODE_MEET, normalized, port, cport)
        self.add_node(node)
        return "ok"

    # ------------------------------------------------------------------ slots

    def add_slot(self, node: ClusterNode, slot: int) -> bool:
        if self.slots[slot] is not None:
            return False
        node.slots |= 1 << slot
        self.slots[slot] = node
        return True

    def del_slot(self, slot: int) -> bool:
        """Unassign a slot; a node of the shard that served it drops its shard channels."""
        node = self.slots[slot]
        if node is None:
            return False
        shard_master = node.master if node.is_replica and node.master is not None else node
        if self.myself is shard_master or self.myself in shard_master.replicas:
            self.remove_channels_in_slot(slot)
        node.slots &= ~(1 << slot)
        self.slots[slot] = None
        return True

    def del_node_slots(self, node: ClusterNode) -> int:
        """Unassign every slot of ``node``; return how many there were."""
        slots = list(bus.mask_to_slots(node.slots))
        for slot in slots:
            self.del_slot(slot)
        return len(slots)

    def close_all_slots(self) -> None:
        self.migrating.clear()
        self.importing.clear()

    def count_keys_in_slot(self, slot: int) -> int:
        return self.slot_keys.count(slot)

    def delete_keys_in_slot(self, slot: int) -> int:
        """Delete this node's keys of a slot it no longer serves (Redis 7.0:
        delKeysInSlot, which neither propagates nor notifies)."""
        db = self.server.keyspace.databases[0]
        keys = self.slot_keys.keys(slot)
        for key in keys:
            db.delete(key)
        return len(keys)

    def remove_channels_in_slot(self, slot: int) -> None:
        """Unsubscribe every client from the shard channels of a slot this shard lost,
        telling each (Redis: removeChannelsInSlot)."""
        pubsub = self.server.pubsub
        if not pubsub.shard_channels:
            return
        from app.protocol import ENCODERS, Push  # only needed when shard channels exist

        for channel in [name for name in pubsub.shard_channels if key_slot(name) == slot]:
            for client in list(pubsub.shard_channels.get(channel, ())):
                pubsub.sunsubscribe(client, channel)
                notice = Push([b"sunsubscribe", channel, len(client.shard_channels)])
                if client.outbox is not None:
                    client.outbox.put(ENCODERS[client.protocol].encode(notice), (0, 0, 0))

    # ------------------------------------------------------------------ roles

    def set_node_as_master(self, node: ClusterNode) -> None:
        """``node`` is a master now (Redis: clusterSetNodeAsMaster)."""
        if node.is_master:
            return
        if node.master is not None:
            node.master.remove_replica(node)
            if node is not self.myself:
                node.flags |= CLUSTER_NODE_MIGRATE_TO
        node.flags = (node.flags & ~CLUSTER_NODE_SLAVE) | CLUSTER_NODE_MASTER
        node.master = None
        self.want(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)

    def set_master(self, master: ClusterNode) -> None:
        """Make this node a replica of ``master`` and replicate from it (Redis:
        clusterSetMaster). This node serves no slots (the callers check)."""
        myself = self.myself
        if myself.is_master:
            myself.flags = (myself.flags & ~(CLUSTER_NODE_MASTER | CLUSTER_NODE_MIGRATE_TO)) | CLUSTER_NODE_SLAVE
            self.close_all_slots()
        elif myself.master is not None:
            myself.master.remove_replica(myself)
        myself.master = master
        master.add_replica(myself)
        self.replicate_from(master)
        self.reset_manual_failover()

    def reset_manual_failover(self) -> None:
        from app.cluster import failover

        failover.reset_manual_failover(self)

    def replicate_from(self, master: ClusterNode | None) -> None:
        """Start (or stop, with None) replicating, as REPLICAOF does (Redis:
        replicationSetMaster, replicationUnsetMaster)."""
        server = self.server
        if master is None:
            if server.role == "slave":
                server.replication.become_master()
            return
        target = (master.ip, master.port)
        if server.config["replicaof"] == target:
            return
        # A master turned replica tries to continue its own history from the new
        # master (Redis: replicationCacheMasterUsingMyself), as REPLICAOF does.
        server.replicate_from(target, continue_own_history=server.role == "master")

    def reset(self, hard: bool) -> None:
        """CLUSTER RESET (Redis: clusterReset): back to a lonely master without slots;
        HARD also zeroes the epochs and takes a new name."""
        myself = self.myself
        if myself.is_replica:
            self.set_node_as_master(myself)
            self.replicate_from(None)
            self.server.keyspace.flush_all()
        self.close_all_slots()
        self.reset_manual_failover()
        for slot in range(SLOTS):
            self.del_slot(slot)
        for node in list(self.nodes.values()):
            if node is not myself:
                self.del_node(node)
        if hard:
            self.current_epoch = self.last_vote_epoch = 0
            myself.config_epoch = 0
            log.warning("configEpoch set to 0 via CLUSTER RESET HARD")
            del self.nodes[myself.name]
            myself.name = new_node_name()
            self.add_node(myself)
            log.notice(f"Node hard reset, now I'm {myself.name}")
        self.want(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)

    # ------------------------------------------------------------------ epochs

    def max_epoch(self) -> int:
        """The greatest config epoch known, or the current epoch if greater."""
        return max([self.current_epoch] + [node.config_epoch for node in self.nodes.values()])

    def bump_epoch_without_consensus(self) -> bool:
        """Take a new config epoch unless ours is already the greatest (Redis:
        clusterBumpConfigEpochWithoutConsensus); True if it did."""
        myself = self.myself
        if myself.config_epoch != 0 and myself.config_epoch == self.max_epoch():
            return False
        self.current_epoch += 1
        myself.config_epoch = self.current_epoch
        self.want(TODO_SAVE_CONFIG)
        log.warning(f"New configEpoch set to {myself.config_epoch}")
        return True

    # ------------------------------------------------------------------ failure detection

    def node_timeout(self) -> int:
        return self.config["cluster-node-timeout"]

    def add_failure_report(self, failing: ClusterNode, sender: ClusterNode) -> bool:
        """``sender`` (a master) says ``failing`` is unreachable; True if it is new."""
        new = sender not in failing.fail_reports
        failing.fail_reports[sender] = now_ms()
        return new

    def del_failure_report(self, node: ClusterNode, sender: ClusterNode) -> bool:
        return node.fail_reports.pop(sender, None) is not None

    def failure_report_count(self, node: ClusterNode) -> int:
        return node.failure_report_count(now_ms(), self.node_timeout() * FAIL_REPORT_VALIDITY_MULT)

    def mark_failing_if_needed(self, node: ClusterNode) -> None:
        """PFAIL becomes FAIL once a majority of the masters (us included, if we are
        one) report the node unreachable; everyone is told (Redis:
        markNodeAsFailingIfNeeded)."""
        from app.cluster import gossip  # gossip imports this module

        if not node.timed_out or node.failed:
            return
        failures = self.failure_report_count(node) + (1 if self.myself.is_master else 0)
        if failures < self.size // 2 + 1:
            return
        log.notice(f"Marking node {node.name} as failing (quorum reached).")
        node.flags = (node.flags & ~CLUSTER_NODE_PFAIL) | CLUSTER_NODE_FAIL
        node.fail_time = now_ms()
        gossip.send_fail(self, node.name)
        self.want(TODO_UPDATE_STATE | TODO_SAVE_CONFIG)

    def clear_failure_if_needed(self, node: ClusterNode) -> None:
        """A FAIL node answers again (Redis: clearNodeFailureIfNeeded): a replica, or a
        master without slots, is cleared at once; a master still serving its slots
        after twice the node timeout (nobody failed it over) is cleared too."""
        if node.is_replica or node.slots == 0:
            log.notice(f"Clear FAIL state for node {node.name}: "
                       f"{'replica' if node.is_replica else 'master without slots'} is reachable again.")
            node.flags &= ~CLUSTER_NODE_FAIL
            self.want(TODO_UPDATE_STATE | TODO_SAVE_CONFIG)
        if node.is_master and node.slots and now_ms() - node.fail_time > self.node_timeout() * FAIL_UNDO_TIME_MULT:
            log.notice(f"Clear FAIL state for node {node.name}: is reachable again and nobody is serving its "
                       "slots after some time.")
            node.flags &= ~CLUSTER_NODE_FAIL
            self.want(TODO_UPDATE_STATE | TODO_SAVE_CONFIG)

    def update_state(self) -> None:
        """ok or fail, and the cluster's size (Redis: clusterUpdateState)."""
        self.todo &= ~TODO_UPDATE_STATE
        now = now_ms()
        if self.first_update_time == 0:
            self.first_update_time = now
        # A restarted master waits a little before accepting writes, giving the cluster
        # a chance to tell it that it was failed over meanwhile.
        if self.myself.is_master and self.state == CLUSTER_FAIL and now - self.first_update_time < WRITABLE_DELAY:
            return
        new_state = CLUSTER_OK
        # Every slot served by a master not FAIL. Asked of the masters, not of each of
        # the 16384 slots, in Python: a reshard recomputes this for each slot it moves.
        if self.config["cluster-require-full-coverage"] and (
                None in self.slots or any(node.failed for node in self.nodes.values() if node.slots)):
            new_state = CLUSTER_FAIL
        size = reachable = 0
        for node in self.nodes.values():
            if node.is_master and node.slots:
                size += 1
                if not node.flags & (CLUSTER_NODE_FAIL | CLUSTER_NODE_PFAIL):
                    reachable += 1
        self.size = size
        if reachable < size // 2 + 1:
            new_state = CLUSTER_FAIL
            self.among_minority_time = now
        if new_state != self.state:
            rejoin_delay = min(max(self.node_timeout(), MIN_REJOIN_DELAY), MAX_REJOIN_DELAY)
            if new_state == CLUSTER_OK and self.myself.is_master and now - self.among_minority_time < rejoin_delay:
                return
            log.warning(f"Cluster state changed: {'ok' if new_state == CLUSTER_OK else 'fail'}")
            self.state = new_state

    # ------------------------------------------------------------------ what others call

    def route(self, client, entry, argv: list[bytes]):
        """The redirection or refusal for a client's command, or None to run it here
        (app/cluster/routing.py). The dispatcher calls it for every command `serves_here`
        does not clear."""
        return routing.route(self, client, entry, argv)

    def propagate_publish(self, channel: bytes, message: bytes) -> None:
        """PUBLISH reaches the subscribers of every node of the cluster."""
        from app.cluster import gossip

        gossip.send_publish(self, channel, message, shard=False)

    def propagate_publish_shard(self, channel: bytes, message: bytes) -> None:
        """SPUBLISH reaches the other nodes of this shard (master and replicas)."""
        from app.cluster import gossip

        gossip.send_publish(self, channel, message, shard=True)

    def my_repl_offset(self) -> int:
        """Our replication offset, as a master or as a replica (the bus carries it)."""
        return self.server.replication.offset

    def shard_nodes(self, node: ClusterNode) -> list[ClusterNode]:
        """The master of ``node``'s shard, then its replicas (Redis:
        clusterGetNodesServingMySlots)."""
        master = node.master if node.is_replica and node.master is not None else node
        return [master, *master.replicas]

    def info_text(self) -> str:
        """CLUSTER INFO, fields in Redis' order."""
        assigned = ok = pfail = fail = 0
        for node in self.slots:
            if node is None:
                continue
            assigned += 1
            if node.failed:
                fail += 1
            elif node.timed_out:
                pfail += 1
            else:
                ok += 1
        myself = self.myself
        my_epoch = myself.master.config_epoch if myself.is_replica and myself.master else myself.config_epoch
        lines = [
            f"cluster_state:{'ok' if self.state == CLUSTER_OK else 'fail'}",
            f"cluster_slots_assigned:{assigned}",
            f"cluster_slots_ok:{ok}",
            f"cluster_slots_pfail:{pfail}",
            f"cluster_slots_fail:{fail}",
            f"cluster_known_nodes:{len(self.nodes)}",
            f"cluster_size:{self.size}",
            f"cluster_current_epoch:{self.current_epoch}",
            f"cluster_my_epoch:{my_epoch}",
        ]
        for direction, counts in (("sent", self.messages_sent), ("received", self.messages_received)):
            for message_type, count in enumerate(counts):
                if count:
                    lines.append(f"cluster_stats_messages_{bus.type_name(message_type)}_{direction}:{count}")
            lines.append(f"cluster_stats_messages_{direction}:{sum(counts)}")
        lines.append(f"total_cluster_links_buffer_limit_exceeded:{self.links_buffer_limit_exceeded}")
        return "\r\n".join(lines) + "\r\n"

    def nodes_text(self) -> str:
        """CLUSTER NODES: one line per node, handshakes included."""
        return "".join((node.description(self.migrating, self.importing) if node is self.myself
                        else node.description()) + "\n" for node in self.nodes.values())

    def preferred_endpoint(self, node: ClusterNode) -> str:
        """What clients are told to connect to (cluster-preferred-endpoint-type)."""
        kind = self.config["cluster-preferred-endpoint-type"]
        if kind == "ip":
            return node.ip
        if kind == "hostname":
            return node.hostname or "?"
        return "?"

    # ------------------------------------------------------------------ the bus

    def start(self) -> None:
        """Listen on the bus port (raises OSError if it is taken): done before clients
        are accepted, so that a node that cannot join its cluster does not start."""
        from app.cluster.links import Bus

        self.bus = Bus(self)
        self.bus.listen()

    def run(self) -> None:
        """Accept bus connections and start the cron, once the dataset is loaded."""
        self.bus.run()

