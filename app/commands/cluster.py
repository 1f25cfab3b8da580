"""Cluster commands: CLUSTER and its subcommands, ASKING, READONLY, READWRITE.

A server started without ``cluster-enabled yes`` is a standalone server, and Redis
answers every one of these, once the dispatcher has checked the subcommand and its
number of arguments, with the same error. In cluster mode each subcommand has its
handler below, working on ``server.cluster`` (app/cluster/state.py), with Redis 7.0's
replies and errors (cluster.c: clusterCommand). The table declares each as Redis 7.0
does (arity, flags, ACL categories, docs). MIGRATE, which works in both modes, is with
the generic commands; the redirections (MOVED, ASK...) are app/cluster/routing.py's.

Changes to the node table are saved to nodes.conf and the cluster state recomputed
before the reply leaves (`ClusterState.before_sleep`), as Redis does before it sleeps.
"""

from __future__ import annotations

from app import log
from app.cluster import bus, failover, gossip
from app.cluster.bus import CLUSTER_SLOTS
from app.cluster.slots import key_slot
from app.cluster.state import TODO_SAVE_CONFIG, TODO_UPDATE_STATE
from app.commands.arguments import SYNTAX_ERROR, integer
from app.commands.registry import command, container
from app.protocol import ReplyError, Verbatim

CLUSTER_DISABLED = "ERR This instance has cluster support disabled"

container("cluster", group="cluster", since="3.0.0", summary="A container for cluster commands")

_ADMIN = "admin stale no_async_loading"
# name: arity, flags, ACL categories, tips, since, summary, complexity (Redis 7.0.15's COMMAND INFO and DOCS)
_SUBCOMMANDS = {
    "addslots": (-3, _ADMIN, "admin dangerous", "", "3.0.0", "Assign new hash slots to receiving node",
                 "O(N) where N is the total number of hash slot arguments"),
    "addslotsrange": (-4, _ADMIN, "admin dangerous", "", "7.0.0", "Assign new hash slots to receiving node",
                      "O(N) where N is the total number of the slots between the start slot and end slot "
                      "arguments."),
    "bumpepoch": (2, _ADMIN, "admin dangerous", "nondeterministic_output", "3.0.0",
                  "Advance the cluster config epoch", "O(1)"),
    "count-failure-reports": (3, "admin stale", "admin dangerous", "nondeterministic_output", "3.0.0",
                              "Return the number of failure reports active for a given node",
                              "O(N) where N is the number of failure reports"),
    "countkeysinslot": (3, "stale", "", "", "3.0.0", "Return the number of local keys in the specified hash slot",
                        "O(1)"),
    "delslots": (-3, _ADMIN, "admin dangerous", "", "3.0.0", "Set hash slots as unbound in receiving node",
                 "O(N) where N is the total number of hash slot arguments"),
    "delslotsrange": (-4, _ADMIN, "admin dangerous", "", "7.0.0", "Set hash slots as unbound in receiving node",
                      "O(N) where N is the total number of the slots between the start slot and end slot "
                      "arguments."),
    "failover": (-2, _ADMIN, "admin dangerous", "", "3.0.0",
                 "Forces a replica to perform a manual failover of its master.", "O(1)"),
    "flushslots": (2, _ADMIN, "admin dangerous", "", "3.0.0", "Delete a node's own slots information", "O(1)"),
    "forget": (3, _ADMIN, "admin dangerous", "", "3.0.0", "Remove a node from the nodes table", "O(1)"),
    "getkeysinslot": (4, "stale", "", "nondeterministic_output", "3.0.0",
                      "Return local key names in the specified hash slot",
                      "O(log(N)) where N is the number of requested keys"),
    "help": (2, "loading stale", "", "", "5.0.0", "Show helpful text about the different subcommands", "O(1)"),
    "info": (2, "stale", "", "nondeterministic_output", "3.0.0", "Provides info about Redis Cluster node state",
             "O(1)"),
    "keyslot": (3, "stale", "", "", "3.0.0", "Returns the hash slot of the specified key",
                "O(N) where N is the number of bytes in the key"),
    "links": (2, "stale", "", "nondeterministic_output", "7.0.0",
              "Returns a list of all TCP links to and from peer nodes in cluster",
              "O(N) where N is the total number of Cluster nodes"),
    "meet": (-4, _ADMIN, "admin dangerous", "", "3.0.0", "Force a node cluster to handshake with another node",
             "O(1)"),
    "myid": (2, "stale", "", "", "3.0.0", "Return the node id", "O(1)"),
    "nodes": (2, "stale", "", "nondeterministic_output", "3.0.0", "Get Cluster config for the node",
              "O(N) where N is the total number of Cluster nodes"),
    "replicas": (3, "admin stale", "admin dangerous", "nondeterministic_output", "5.0.0",
                 "List replica nodes of the specified master node", "O(1)"),
    "replicate": (3, _ADMIN, "admin dangerous", "", "3.0.0",
                  "Reconfigure a node as a replica of the specified master node", "O(1)"),
    "reset": (-2, "admin noscript stale", "admin dangerous", "", "3.0.0", "Reset a Redis Cluster node",
              "O(N) where N is the number of known nodes. The command may execute a FLUSHALL as a side effect."),
    "saveconfig": (2, _ADMIN, "admin dangerous", "", "3.0.0", "Forces the node to save cluster state on disk",
                   "O(1)"),
    "set-config-epoch": (3, _ADMIN, "admin dangerous", "", "3.0.0", "Set the configuration epoch in a new node",
                         "O(1)"),
    "setslot": (-4, _ADMIN, "admin dangerous", "", "3.0.0", "Bind a hash slot to a specific node", "O(1)"),
    "shards": (2, "stale", "", "nondeterministic_output", "7.0.0", "Get array of cluster slots to node mappings",
               "O(N) where N is the total number of cluster nodes"),
    "slaves": (3, "admin stale", "admin dangerous", "nondeterministic_output", "3.0.0",
               "List replica nodes of the specified master node", "O(1)"),
    "slots": (2, "stale", "", "nondeterministic_output", "3.0.0", "Get array of Cluster slot to node mappings",
              "O(N) where N is the total number of Cluster nodes"),
}


def _subcommand(name: str):
    """Register the decorated handler as CLUSTER <name>, declared as in Redis 7.0."""
    arity, flags, acl, tips, since, summary, complexity = _SUBCOMMANDS[name]
    return command(name, parent="cluster", group="cluster", arity=arity, flags=flags, acl=acl, tips=tips,
                   since=since, summary=summary, complexity=complexity)


def _cluster(client):
    """The cluster state, or the standalone server's one answer (Redis checks
    cluster_enabled first thing in clusterCommand, askingCommand, readonlyCommand...)."""
    cluster = getattr(client.server, "cluster", None)
    if cluster is None:
        raise ReplyError(CLUSTER_DISABLED)
    return cluster


def _done(cluster, todo: int):
    """Ask for the state update and nodes.conf save, do them, and answer OK."""
    cluster.want(todo)
    cluster.before_sleep()
    return "OK"


def _syntax_error_for(client) -> ReplyError:
    """A subcommand given a number of arguments it never takes (Redis:
    addReplySubcommandSyntaxError), quoting it as typed."""
    typed = client.argv[1].decode("utf-8", "surrogateescape")[:128]
    return ReplyError(f"ERR unknown subcommand or wrong number of arguments for '{typed}'. Try CLUSTER HELP.")


def _slot(arg: bytes) -> int:
    """A slot argument (Redis: getSlotOrReply)."""
    try:
        slot = integer(arg)
    except ReplyError:
        slot = -1
    if not 0 <= slot < CLUSTER_SLOTS:
        raise ReplyError("ERR Invalid or out of range slot")
    return slot


def _node_named(cluster, name: bytes, error: str = "ERR Unknown node {}"):
    node = cluster.lookup(name)
    if node is None:
        raise ReplyError(error.format(name.decode("utf-8", "surrogateescape")))
    return node


# --------------------------------------------------------------------------- the node table


@_subcommand("help")
def cluster_help(client):
    _cluster(client)
    return [
        "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ADDSLOTS <slot> [<slot> ...]",
        "    Assign slots to current node.",
        "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Assign slots which are between <start-slot> and <end-slot> to current node.",
        "BUMPEPOCH",
        "    Advance the cluster config epoch.",
        "COUNT-FAILURE-REPORTS <node-id>",
        "    Return number of failure reports for <node-id>.",
        "COUNTKEYSINSLOT <slot>",
        "    Return the number of keys in <slot>.",
        "DELSLOTS <slot> [<slot> ...]",
        "    Delete slots information from current node.",
        "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
        "FAILOVER [FORCE|TAKEOVER]",
        "    Promote current replica node to being a master.",
        "FORGET <node-id>",
        "    Remove a node from the cluster.",
        "GETKEYSINSLOT <slot> <count>",
        "    Return key names stored by current node in a slot.",
        "FLUSHSLOTS",
        "    Delete current node own slots information.",
        "INFO",
        "    Return information about the cluster.",
        "KEYSLOT <key>",
        "    Return the hash slot for <key>.",
        "MEET <ip> <port> [<bus-port>]",
        "    Connect nodes into a working cluster.",
        "MYID",
        "    Return the node id.",
        "NODES",
        "    Return cluster configuration seen by node. Output format:",
        "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
        "REPLICATE <node-id>",
        "    Configure current node as replica to <node-id>.",
        "RESET [HARD|SOFT]",
        "    Reset current node (default: soft).",
        "SET-CONFIG-EPOCH <epoch>",
        "    Set config epoch of current node.",
        "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
        "    Set slot state.",
        "REPLICAS <node-id>",
        "    Return <node-id> replicas.",
        "SAVECONFIG",
        "    Force saving cluster configuration on disk.",
        "SLOTS",
        "    Return information about slots range mappings. Each range is made of:",
        "    start, end, master and replicas IP addresses, ports and ids",
        "SHARDS",
        "    Return information about slot range mappings and the nodes associated with them.",
        "LINKS",
        "    Return information about all network links between this node and its peers.",
        "    Output format is an array where each array element is a map containing attributes of a link",
        "HELP",
        "    Prints this help.",
    ]


@_subcommand("info")
def cluster_info(client):
    return Verbatim(_cluster(client).info_text())


@_subcommand("myid")
def cluster_myid(client):
    return _cluster(client).myself.name.encode()


@_subcommand("nodes")
def cluster_nodes(client):
    return Verbatim(_cluster(client).nodes_text())


@_subcommand("meet")
def cluster_meet(client, ip: bytes, port: bytes, *rest: bytes):
    """CLUSTER MEET ip port [bus-port]: start a handshake; the cron connects."""
    cluster = _cluster(client)
    if len(rest) > 1:
        raise _syntax_error_for(client)
    port_number = integer(port, f"ERR Invalid TCP base port specified: {port.decode('utf-8', 'replace')}")
    bus_port = port_number + 10000
    if rest:
        bus_port = integer(rest[0], f"ERR Invalid TCP bus port specified: {rest[0].decode('utf-8', 'replace')}")
    if cluster.start_handshake(ip.decode("latin-1"), port_number, bus_port) == "invalid":
        raise ReplyError(f"ERR Invalid node address specified: {ip.decode('utf-8', 'replace')}:"
                         f"{port.decode('utf-8', 'replace')}")
    return _done(cluster, 0)


@_subcommand("forget")
def cluster_forget(client, name: bytes):
    """Forget a node; gossip will not bring it back for a minute (the blacklist)."""
    cluster = _cluster(client)
    node = _node_named(cluster, name)
    if node is cluster.myself:
        raise ReplyError("ERR I tried hard but I can't forget myself...")
    if cluster.myself.is_replica and cluster.myself.master is node:
        raise ReplyError("ERR Can't forget my master!")
    cluster.blacklist_add(node)
    cluster.del_node(node)
    return _done(cluster, TODO_UPDATE_STATE | TODO_SAVE_CONFIG)


@_subcommand("replicate")
def cluster_replicate(client, name: bytes):
    """Become a replica of a master (an empty master without slots, or a replica)."""
    cluster = _cluster(client)
    node = _node_named(cluster, name)
    myself = cluster.myself
    if node is myself:
        raise ReplyError("ERR Can't replicate myself")
    if node.is_replica:
        raise ReplyError("ERR I can only replicate a master, not a replica.")
    if myself.is_master and (myself.slots or client.server.keyspace.databases[0].data):
        raise ReplyError("ERR To set a master the node must be empty and without assigned slots.")
    cluster.set_master(node)
    return _done(cluster, TODO_UPDATE_STATE | TODO_SAVE_CONFIG)


def _replicas(client, name: bytes):
    cluster = _cluster(client)
    node = _node_named(cluster, name)
    if node.is_replica:
        raise ReplyError("ERR The specified node is not a master")
    return [replica.description().encode("latin-1") for replica in node.replicas]


@_subcommand("replicas")
def cluster_replicas(client, name: bytes):
    return _replicas(client, name)


@_subcommand("slaves")
def cluster_slaves(client, name: bytes):
    return _replicas(client, name)


@_subcommand("count-failure-reports")
def cluster_count_failure_reports(client, name: bytes):
    cluster = _cluster(client)
    return cluster.failure_report_count(_node_named(cluster, name))


@_subcommand("reset")
def cluster_reset(client, *args: bytes):
    """CLUSTER RESET [HARD|SOFT]: forget every node and slot (a master must be empty)."""
    cluster = _cluster(client)
    if len(args) > 1:
        raise _syntax_error_for(client)
    hard = False
    if args:
        mode = args[0].lower()
        if mode not in (b"hard", b"soft"):
            raise ReplyError(SYNTAX_ERROR)
        hard = mode == b"hard"
    if cluster.myself.is_master and client.db.data:
        raise ReplyError("ERR CLUSTER RESET can't be called with master nodes containing keys")
    cluster.reset(hard)
    return _done(cluster, 0)


@_subcommand("saveconfig")
def cluster_saveconfig(client):
    cluster = _cluster(client)
    try:
        cluster.save_config()
    except OSError as error:
        raise ReplyError(f"ERR error saving the cluster node config: {error.strerror}") from None
    return "OK"


# --------------------------------------------------------------------------- epochs


@_subcommand("set-config-epoch")
def cluster_set_config_epoch(client, epoch_arg: bytes):
    """Give a new node its config epoch (redis-cli --cluster create gives each master
    a different one, so that no collision needs resolving)."""
    cluster = _cluster(client)
    epoch = integer(epoch_arg)
    if epoch < 0:
        raise ReplyError(f"ERR Invalid config epoch specified: {epoch}")
    if len(cluster.nodes) > 1:
        raise ReplyError("ERR The user can assign a config epoch only when the node does not know any other node.")
    if cluster.myself.config_epoch != 0:
        raise ReplyError("ERR Node config epoch is already non-zero")
    cluster.myself.config_epoch = epoch
    log.warning(f"configEpoch set to {epoch} via CLUSTER SET-CONFIG-EPOCH")
    cluster.current_epoch = max(cluster.current_epoch, epoch)
    return _done(cluster, TODO_UPDATE_STATE | TODO_SAVE_CONFIG)


@_subcommand("bumpepoch")
def cluster_bumpepoch(client):
    cluster = _cluster(client)
    bumped = cluster.bump_epoch_without_consensus()
    cluster.before_sleep()
    return f"{'BUMPED' if bumped else 'STILL'} {cluster.myself.config_epoch}"


# --------------------------------------------------------------------------- slots


def _check_assignments(cluster, chosen: set[int], delete: bool, start: int, end: int) -> None:
    """Each slot must be free (to add) or assigned (to delete), and named once."""
    for slot in range(start, end + 1):
        if delete and cluster.slots[slot] is None:
            raise ReplyError(f"ERR Slot {slot} is already unassigned")
        if not delete and cluster.slots[slot] is not None:
            raise ReplyError(f"ERR Slot {slot} is already busy")
        if slot in chosen:
            raise ReplyError(f"ERR Slot {slot} specified multiple times")
        chosen.add(slot)


def _update_slots(cluster, chosen: set[int], delete: bool):
    """Add the slots to this node, or unassign them; an importing slot becomes ours."""
    for slot in sorted(chosen):
        cluster.importing.pop(slot, None)
        if delete:
            cluster.del_slot(slot)
        else:
            cluster.add_slot(cluster.myself, slot)
    return _done(cluster, TODO_UPDATE_STATE | TODO_SAVE_CONFIG)


def _slots_command(client, args: tuple[bytes, ...], delete: bool):
    cluster = _cluster(client)
    slots = [_slot(arg) for arg in args]  # all parsed before any is checked, as in Redis
    chosen: set[int] = set()
    for slot in slots:
        _check_assignments(cluster, chosen, delete, slot, slot)
    return _update_slots(cluster, chosen, delete)


def _slot_ranges_command(client, args: tuple[bytes, ...], delete: bool):
    cluster = _cluster(client)
    if len(args) % 2:
        raise ReplyError(f"ERR wrong number of arguments for '{client.argv[0].decode().lower()}|"
                         f"{client.argv[1].decode().lower()}' command")
    chosen: set[int] = set()
    for start_arg, end_arg in zip(args[::2], args[1::2]):
        start, end = _slot(start_arg), _slot(end_arg)
        if start > end:
            raise ReplyError(f"ERR start slot number {start} is greater than end slot number {end}")
        _check_assignments(cluster, chosen, delete, start, end)
    return _update_slots(cluster, chosen, delete)


@_subcommand("addslots")
def cluster_addslots(client, *slots: bytes):
    return _slots_command(client, slots, delete=False)


@_subcommand("delslots")
def cluster_delslots(client, *slots: bytes):
    return _slots_command(client, slots, delete=True)


@_subcommand("addslotsrange")
def cluster_addslotsrange(client, *ranges: bytes):
    return _slot_ranges_command(client, ranges, delete=False)


@_subcommand("delslotsrange")
def cluster_delslotsrange(client, *ranges: bytes):
    return _slot_ranges_command(client, ranges, delete=True)


@_subcommand("flushslots")
def cluster_flushslots(client):
    """Unassign every slot of this node, which must hold no keys."""
    cluster = _cluster(client)
    if client.server.keyspace.databases[0].data:
        raise ReplyError("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.")
    cluster.del_node_slots(cluster.myself)
    return _done(cluster, TODO_UPDATE_STATE | TODO_SAVE_CONFIG)


@_subcommand("setslot")
def cluster_setslot(client, slot_arg: bytes, action: bytes, *rest: bytes):
    """CLUSTER SETSLOT slot MIGRATING|IMPORTING node, STABLE, or NODE node: the steps of
    moving a slot (redis-cli --cluster reshard sends them)."""
    cluster = _cluster(client)
    myself = cluster.myself
    if myself.is_replica:
        raise ReplyError("ERR Please use SETSLOT only with masters.")
    slot = _slot(slot_arg)
    action = action.lower()
    if action == b"migrating" and len(rest) == 1:
        if cluster.slots[slot] is not myself:
            raise ReplyError(f"ERR I'm not the owner of hash slot {slot}")
        node = _node_named(cluster, rest[0], "ERR I don't know about node {}")
        if node.is_replica:
            raise ReplyError("ERR Target node is not a master")
        cluster.migrating[slot] = node
    elif action == b"importing" and len(rest) == 1:
        if cluster.slots[slot] is myself:
            raise ReplyError(f"ERR I'm already the owner of hash slot {slot}")
        node = _node_named(cluster, rest[0], "ERR I don't know about node {}")
        if node.is_replica:
            raise ReplyError("ERR Target node is not a master")
        cluster.importing[slot] = node
    elif action == b"stable" and not rest:
        cluster.importing.pop(slot, None)
        cluster.migrating.pop(slot, None)
    elif action == b"node" and len(rest) == 1:
        _setslot_node(cluster, slot, _node_named(cluster, rest[0]))
    else:
        raise ReplyError("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")
    return _done(cluster, TODO_SAVE_CONFIG | TODO_UPDATE_STATE)


def _setslot_node(cluster, slot: int, node) -> None:
    """CLUSTER SETSLOT slot NODE node: the last step of a move, sent to both sides."""
    myself = cluster.myself
    if node.is_replica:
        raise ReplyError("ERR Target node is not a master")
    keys = cluster.count_keys_in_slot(slot)
    if cluster.slots[slot] is myself and node is not myself and keys:
        raise ReplyError(f"ERR Can't assign hashslot {slot} to a different node while I still hold keys for this "
                         "hash slot.")
    if keys == 0:
        cluster.migrating.pop(slot, None)  # nothing left to migrate
    slot_was_mine = cluster.slots[slot] is myself
    cluster.del_slot(slot)
    cluster.add_slot(node, slot)
    if slot_was_mine and node is not myself and myself.slots == 0 \
            and cluster.config["cluster-allow-replica-migration"]:
        # A master that gave its last slot away follows the node that took it.
        log.warning(f"Configuration change detected. Reconfiguring myself as a replica of {node.name}")
        cluster.set_master(node)
        cluster.want(TODO_SAVE_CONFIG | TODO_UPDATE_STATE)
    if node is myself and slot in cluster.importing:
        # The slot was moved by hand: a new config epoch lets our claim win everywhere.
        if cluster.bump_epoch_without_consensus():
            log.warning(f"configEpoch updated after importing slot {slot}")
        del cluster.importing[slot]
        gossip.broadcast_pong(cluster)


@_subcommand("keyslot")
def cluster_keyslot(client, key: bytes):
    _cluster(client)
    return key_slot(key)


@_subcommand("countkeysinslot")
def cluster_countkeysinslot(client, slot_arg: bytes):
    cluster = _cluster(client)
    slot = integer(slot_arg)
    if not 0 <= slot < CLUSTER_SLOTS:
        raise ReplyError("ERR Invalid slot")
    return cluster.count_keys_in_slot(slot)


@_subcommand("getkeysinslot")
def cluster_getkeysinslot(client, slot_arg: bytes, count_arg: bytes):
    cluster = _cluster(client)
    slot, count = integer(slot_arg), integer(count_arg)
    if not 0 <= slot < CLUSTER_SLOTS or count < 0:
        raise ReplyError("ERR Invalid slot or number of keys")
    return cluster.slot_keys.keys(slot, count)


# --------------------------------------------------------------------------- topology replies


def _node_for_slots(cluster, node) -> list:
    """One node of CLUSTER SLOTS: endpoint, port, name, then the other endpoints."""
    kind = cluster.config["cluster-preferred-endpoint-type"]
    endpoint = {"ip": node.ip.encode(), "hostname": (node.hostname or "?").encode()}.get(kind)
    extra = {}
    if kind != "ip":
        extra[b"ip"] = node.ip.encode()
    if kind != "hostname" and node.hostname:
        extra[b"hostname"] = node.hostname.encode()
    return [endpoint, node.port, node.name.encode(), extra]


@_subcommand("slots")
def cluster_slots(client):
    """Each run of slots with one owner: start, end, the master, its replicas not FAIL."""
    cluster = _cluster(client)
    reply = []
    owner, start = None, 0
    for slot in range(CLUSTER_SLOTS + 1):
        node = cluster.slots[slot] if slot < CLUSTER_SLOTS else None
        if node is owner:
            continue
        if owner is not None:
            entry = [start, slot - 1, _node_for_slots(cluster, owner)]
            entry += [_node_for_slots(cluster, replica) for replica in owner.replicas if not replica.failed]
            reply.append(entry)
        owner, start = node, slot
    return reply


def _shard_node(cluster, node) -> dict:
    """One node of CLUSTER SHARDS."""
    reply = {b"id": node.name.encode()}
    if node.port:
        reply[b"port"] = node.port
    reply[b"ip"] = node.ip.encode()
    reply[b"endpoint"] = cluster.preferred_endpoint(node).encode()
    if node.hostname:
        reply[b"hostname"] = node.hostname.encode()
    offset = cluster.my_repl_offset() if node.is_myself else node.repl_offset
    reply[b"role"] = b"replica" if node.is_replica else b"master"
    reply[b"replication-offset"] = offset
    if node.failed:
        health = b"fail"
    elif node.is_replica and offset == 0:
        health = b"loading"
    else:
        health = b"online"
    reply[b"health"] = health
    return reply


@_subcommand("shards")
def cluster_shards(client):
    """Each master (with or without slots): its slot ranges, then its shard's nodes."""
    cluster = _cluster(client)
    reply = []
    for node in cluster.nodes.values():
        if not node.is_master:
            continue
        ranges = [bound for start, end in bus.mask_to_ranges(node.slots) for bound in (start, end)]
        reply.append({b"slots": ranges,
                      b"nodes": [_shard_node(cluster, member) for member in cluster.shard_nodes(node)]})
    return reply


@_subcommand("links")
def cluster_links(client):
    """Every link to and from a known node, with its send queue."""
    cluster = _cluster(client)
    reply = []
    for node in cluster.nodes.values():
        for link in (node.link, node.inbound_link):
            if link is None:
                continue
            reply.append({b"direction": b"from" if link.inbound else b"to", b"node": node.name.encode(),
                          b"create-time": link.ctime, b"events": link.events().encode(),
                          b"send-buffer-allocated": link.peak, b"send-buffer-used": link.queued})
    return reply


# --------------------------------------------------------------------------- failover


@_subcommand("failover")
def cluster_failover(client, *args: bytes):
    """CLUSTER FAILOVER [FORCE|TAKEOVER] on a replica: take over from its master, with
    the master's agreement (default), without it (FORCE: an election all the same), or
    without an election (TAKEOVER). app/cluster/failover.py does the rest."""
    cluster = _cluster(client)
    if len(args) > 1:
        raise _syntax_error_for(client)
    mode = args[0].lower() if args else b""
    if mode not in (b"", b"force", b"takeover"):
        raise ReplyError(SYNTAX_ERROR)
    myself = cluster.myself
    if myself.is_master:
        raise ReplyError("ERR You should send CLUSTER FAILOVER to a replica")
    if myself.master is None:
        raise ReplyError("ERR I'm a replica but my master is unknown to me")
    if not mode and (myself.master.failed or myself.master.link is None):
        raise ReplyError("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE")
    failover.start_manual_failover(cluster, mode)
    cluster.before_sleep()
    return "OK"


# --------------------------------------------------------------------------- per client


@command("asking", arity=1, flags="fast", acl="connection", group="cluster", since="3.0.0",
         summary="Sent by cluster clients after an -ASK redirect")
def asking(client):
    """The next command may use a slot this node is importing."""
    _cluster(client)
    client.asking = True
    return "OK"


@command("readonly", arity=1, flags="loading stale fast", acl="connection", group="cluster", since="3.0.0",
         summary="Enables read queries for a connection to a cluster replica node")
def readonly(client):
    """Reads of the master's slots are served by this replica, not redirected."""
    _cluster(client)
    client.readonly = True
    return "OK"


@command("readwrite", arity=1, flags="loading stale fast", acl="connection", group="cluster", since="3.0.0",
         summary="Disables read queries for a connection to a cluster replica node")
def readwrite(client):
    _cluster(client)
    client.readonly = False
    return "OK"
