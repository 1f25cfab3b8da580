"""The nodes a cluster node knows, and ``nodes.conf``, where it keeps them.

Every node keeps a table of every node of the cluster it has heard of, itself
included: its name (40 random hex characters, made once and kept for life), where it
listens, its role (master, or replica of which master), the slots it serves, its
config epoch, and what this node thinks of its health. CLUSTER NODES prints that
table, one line per node, and ``nodes.conf`` is the same lines plus a last one with
this node's epochs, rewritten (through a temporary file, then renamed) whenever the
table changes in a way that must survive a restart::

    <name> <ip>:<port>@<cport>[,<hostname>] <flags> <master or -> <ping sent> <pong received> <config epoch> <link> <slots>...
    07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@40004 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 1 connected
    67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@40002 master - 0 1426238316232 2 connected 5461-10922
    e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460 [5461-<-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
    vars currentEpoch 6 lastVoteEpoch 0

The flags are ``myself``, ``master``, ``slave``, ``fail?`` (this node cannot reach
it: PFAIL), ``fail`` (a majority of masters agreed), ``handshake`` (met, no answer yet,
its name still a guess), ``noaddr`` and ``nofailover``; ``noflags`` when none. The
times are Unix milliseconds. Only this node's own line shows its slots being migrated
(``[slot->-name]``) or imported (``[slot-<-name]``).

A node's slots are an int whose bit j is slot j (app/cluster/bus.py's masks): what
the bus carries, and unions and counts are one operation each.
"""

from __future__ import annotations

import os
import secrets
import time

from app.cluster.bus import (
    CLUSTER_NODE_FAIL,
    CLUSTER_NODE_HANDSHAKE,
    CLUSTER_NODE_MASTER,
    CLUSTER_NODE_MIGRATE_TO,
    CLUSTER_NODE_MYSELF,
    CLUSTER_NODE_NOADDR,
    CLUSTER_NODE_NOFAILOVER,
    CLUSTER_NODE_PFAIL,
    CLUSTER_NODE_SLAVE,
    NAME_LEN,
    mask_to_ranges,
    ranges_to_mask,
)

# representClusterNodeFlags' table, in its order.
FLAG_NAMES = (
    (CLUSTER_NODE_MYSELF, "myself"),
    (CLUSTER_NODE_MASTER, "master"),
    (CLUSTER_NODE_SLAVE, "slave"),
    (CLUSTER_NODE_PFAIL, "fail?"),
    (CLUSTER_NODE_FAIL, "fail"),
    (CLUSTER_NODE_HANDSHAKE, "handshake"),
    (CLUSTER_NODE_NOADDR, "noaddr"),
    (CLUSTER_NODE_NOFAILOVER, "nofailover"),
)
_FLAG_BY_NAME = {name: flag for flag, name in FLAG_NAMES}


class NodesConfError(ValueError):
    """A nodes.conf Redis would refuse to start with."""


def new_node_name() -> str:
    """A node's name: 40 random hex characters (Redis: getRandomHexChars)."""
    return secrets.token_hex(20)


def now_ms() -> int:
    return int(time.time() * 1000)


class ClusterNode:
    """One node of the table (Redis: clusterNode). Times are Unix milliseconds."""

    def __init__(self, name: str, flags: int, ip: str = "", port: int = 0, cport: int = 0):
        self.name = name
        self.flags = flags
        self.ip = ip  # "" until known (a fresh node does not know its own address)
        self.port = port
        self.cport = cport
        self.pport = 0
        self.hostname = ""
        self.config_epoch = 0
        self.slots = 0  # a mask: the slots it serves
        self.master: ClusterNode | None = None  # for a replica
        self.replicas: list[ClusterNode] = []  # for a master, sorted by name
        self.ping_sent = 0  # 0 when no ping waits for its pong
        self.pong_received = 0
        self.data_received = 0  # anything at all from it (a busy node may be slow to PONG)
        self.fail_time = 0  # when it was flagged FAIL
        self.voted_time = 0  # when we last voted for one of its replicas
        self.repl_offset = 0  # what it last told of its replication offset
        self.repl_offset_time = 0
        self.orphaned_time = 0  # since when it is a master without working replicas
        self.ctime = now_ms()  # made at: a handshake that never completes is dropped
        self.fail_reports: dict[ClusterNode, int] = {}  # master -> when it said this node is unreachable
        self.link = None  # our outbound bus link to it (app/cluster/links.py)
        self.inbound_link = None  # its bus link to us
        self.last_in_ping_gossip = 0  # the PING that last gossiped about it (one mention per PING)

    def __repr__(self) -> str:
        return f"<ClusterNode {self.name[:8]} {self.ip}:{self.port} {self.flag_text()}>"

    # --- what it is

    @property
    def is_myself(self) -> bool:
        return bool(self.flags & CLUSTER_NODE_MYSELF)

    @property
    def is_master(self) -> bool:
        return bool(self.flags & CLUSTER_NODE_MASTER)

    @property
    def is_replica(self) -> bool:
        return bool(self.flags & CLUSTER_NODE_SLAVE)

    @property
    def in_handshake(self) -> bool:
        return bool(self.flags & CLUSTER_NODE_HANDSHAKE)

    @property
    def has_address(self) -> bool:
        return not self.flags & CLUSTER_NODE_NOADDR

    @property
    def failed(self) -> bool:
        return bool(self.flags & CLUSTER_NODE_FAIL)

    @property
    def timed_out(self) -> bool:
        return bool(self.flags & CLUSTER_NODE_PFAIL)

    @property
    def epoch(self) -> int:
        """Its config epoch, or its master's for a replica (what CLUSTER NODES shows)."""
        if self.is_replica and self.master is not None:
            return self.master.config_epoch
        return self.config_epoch

    @property
    def slot_count(self) -> int:
        return self.slots.bit_count()

    def flag_text(self) -> str:
        names = [name for flag, name in FLAG_NAMES if self.flags & flag]
        return ",".join(names) if names else "noflags"

    def address_text(self) -> str:
        """``ip:port@cport``, then ``,hostname`` if it announces one."""
        text = f"{self.ip}:{self.port}@{self.cport}"
        return f"{text},{self.hostname}" if self.hostname else text

    # --- replicas (Redis: clusterNodeAddSlave, clusterNodeRemoveSlave)

    def add_replica(self, replica: ClusterNode) -> None:
        """Record ``replica`` as ours; a master that has had replicas may receive a
        migrating one later (MIGRATE_TO)."""
        if replica not in self.replicas:
            self.replicas.append(replica)
            self.replicas.sort(key=lambda node: node.name)
        self.flags |= CLUSTER_NODE_MIGRATE_TO

    def remove_replica(self, replica: ClusterNode) -> None:
        if replica in self.replicas:
            self.replicas.remove(replica)
        if not self.replicas:
            self.flags &= ~CLUSTER_NODE_MIGRATE_TO

    def failure_report_count(self, now: int, validity: int) -> int:
        """Reports younger than ``validity`` ms, after dropping the older ones."""
        for reporter, when in list(self.fail_reports.items()):
            if now - when > validity:
                del self.fail_reports[reporter]
        return len(self.fail_reports)

    def description(self, migrating: dict[int, ClusterNode] | None = None,
                    importing: dict[int, ClusterNode] | None = None) -> str:
        """Its CLUSTER NODES line (Redis: clusterGenNodeDescription). ``migrating`` and
        ``importing`` (slot -> node) are given for this node's own line only, and listed
        together in slot order."""
        master = self.master.name if self.master is not None else "-"
        link = "connected" if self.link is not None or self.is_myself else "disconnected"
        parts = [self.name, self.address_text(), self.flag_text(), master, str(self.ping_sent),
                 str(self.pong_received), str(self.epoch), link]
        for start, end in mask_to_ranges(self.slots):
            parts.append(str(start) if start == end else f"{start}-{end}")
        if migrating or importing:
            for slot in sorted({**(importing or {}), **(migrating or {})}):
                if migrating and slot in migrating:
                    parts.append(f"[{slot}->-{migrating[slot].name}]")
                else:
                    parts.append(f"[{slot}-<-{importing[slot].name}]")
        return " ".join(parts)


# --------------------------------------------------------------------------- nodes.conf


class NodesConf:
    """What nodes.conf holds: the nodes, the epochs, and the slots this node was
    migrating or importing when it was written (slot -> node name)."""

    def __init__(self):
        self.nodes: list[ClusterNode] = []
        self.myself: ClusterNode | None = None
        self.current_epoch = 0
        self.last_vote_epoch = 0
        self.migrating: dict[int, str] = {}
        self.importing: dict[int, str] = {}


def _corrupted(line: str) -> NodesConfError:
    return NodesConfError(f"Unrecoverable error: corrupted cluster config file \"{line}\".")


def parse_nodes_conf(text: str) -> NodesConf:
    """Read nodes.conf (Redis: clusterLoadConfig). A master named by a replica before
    its own line, or never described, gets a placeholder node, which gossip will fill
    in. As in Redis, the times saved are not restored: a node with a ping pending or a
    pong seen gets the current time; a node flagged ``fail`` failed now. A slot claimed
    twice stays with the first node that claims it."""
    conf = NodesConf()
    by_name: dict[str, ClusterNode] = {}
    claimed = 0
    now = now_ms()

    def node_named(name: str) -> ClusterNode:
        node = by_name.get(name)
        if node is None:
            node = by_name[name] = ClusterNode(name, 0)
            conf.nodes.append(node)
        return node

    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0].lower() == "vars":
            if len(words) % 2 == 0:
                raise _corrupted(line)
            for name, value in zip(words[1::2], words[2::2]):
                if name.lower() == "currentepoch":
                    conf.current_epoch = _number(value)
                elif name.lower() == "lastvoteepoch":
                    conf.last_vote_epoch = _number(value)
            continue
        if len(words) < 8 or len(words[0]) != NAME_LEN:
            raise _corrupted(line)
        name, address, flag_text, master, ping_sent, pong_received, epoch, _link = words[:8]
        node = node_named(name)
        try:
            address, _, hostname = address.partition(",")
            host_port, _, cport = address.partition("@")
            ip, colon, port = host_port.rpartition(":")
            if not colon:
                raise ValueError(address)
            node.ip, node.port = ip, int(port)
            node.cport = int(cport) if cport else node.port + 10000
            node.hostname = hostname
            for word in flag_text.split(","):
                if word == "noflags":
                    continue
                flag = _FLAG_BY_NAME.get(word)
                if flag is None:
                    raise NodesConfError(f"Unknown flag in redis cluster config file: {word}")
                node.flags |= flag
            if node.flags & CLUSTER_NODE_FAIL:
                node.fail_time = now
            if node.flags & CLUSTER_NODE_MYSELF:
                if conf.myself is not None:
                    raise _corrupted(line)
                conf.myself = node
            if master != "-":
                node.master = node_named(master)
                node.master.add_replica(node)
            node.ping_sent = now if _number(ping_sent) else 0
            node.pong_received = now if _number(pong_received) else 0
            node.config_epoch = _number(epoch)
            ranges = []
            for word in words[8:]:
                if word.startswith("["):  # [slot->-name] migrating, [slot-<-name] importing
                    inner = word[1:-1]
                    if "->-" in inner:
                        slot, other = inner.split("->-")
                        conf.migrating[int(slot)] = other
                    else:
                        slot, other = inner.split("-<-")
                        conf.importing[int(slot)] = other
                    node_named(other)
                    continue
                start, _, end = word.partition("-")
                ranges.append((int(start), int(end or start)))
            mask = ranges_to_mask(ranges) & ~claimed
            node.slots |= mask
            claimed |= mask
        except ValueError:
            raise _corrupted(line) from None
    if conf.myself is None:
        raise NodesConfError("Unrecoverable error: corrupted cluster config file: no node is flagged myself.")
    # Something that should never happen, but a hand-edited file may say so: a current
    # epoch below a config epoch (Redis: clusterGetMaxEpoch at load).
    conf.current_epoch = max([conf.current_epoch] + [node.config_epoch for node in conf.nodes])
    return conf


def _number(text: str) -> int:
    """A number as C's strtoull/atoi read it: leading digits, 0 when there are none."""
    digits = ""
    for char in text:
        if not char.isdigit():
            break
        digits += char
    return int(digits) if digits else 0


def format_nodes_conf(nodes, myself: ClusterNode, current_epoch: int, last_vote_epoch: int,
                      migrating: dict[int, ClusterNode], importing: dict[int, ClusterNode]) -> str:
    """nodes.conf's text (Redis: clusterSaveConfig): every node but those still in
    handshake, one CLUSTER NODES line each, then the epochs."""
    lines = [node.description(migrating, importing) if node is myself else node.description()
             for node in nodes if not node.in_handshake]
    lines.append(f"vars currentEpoch {current_epoch} lastVoteEpoch {last_vote_epoch}")
    return "\n".join(lines) + "\n"


def write_nodes_conf(path: str, text: str, sync: bool = True) -> None:
    """Replace nodes.conf whole, or leave the old one: a temporary file, then a rename.
    With ``sync``, the file is on disk before it replaces the old one, so a crash
    leaves one whole or the other. Without, a crash may lose the change (the old file
    may come back), which only changes that can be learnt again from the cluster afford."""
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="latin-1") as handle:
        handle.write(text)
        if sync:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(temporary, path)
