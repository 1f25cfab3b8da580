"""Cluster commands: CLUSTER and its subcommands, ASKING, READONLY, READWRITE.

A server started without ``cluster-enabled yes`` is a standalone server, and Redis
answers every one of these, once the dispatcher has checked the subcommand and its
number of arguments, with the same error: the table below declares each as Redis 7.0
does (arity, flags, ACL categories, docs), and they share that one answer. Cluster
mode, with its node table and bus, is being built in app/cluster/ (issue 21);
MIGRATE, which works without it, is with the generic commands.
"""

from __future__ import annotations

from app.commands.registry import command, container
from app.protocol import ReplyError

CLUSTER_DISABLED = "ERR This instance has cluster support disabled"

container("cluster", group="cluster", since="3.0.0", summary="A container for cluster commands")

_ADMIN = "admin stale no_async_loading"
# name, arity, flags, ACL categories, tips, since, summary, complexity (Redis 7.0.15's COMMAND INFO and DOCS)
_SUBCOMMANDS = [
    ("addslots", -3, _ADMIN, "admin dangerous", "", "3.0.0", "Assign new hash slots to receiving node",
     "O(N) where N is the total number of hash slot arguments"),
    ("addslotsrange", -4, _ADMIN, "admin dangerous", "", "7.0.0", "Assign new hash slots to receiving node",
     "O(N) where N is the total number of the slots between the start slot and end slot arguments."),
    ("bumpepoch", 2, _ADMIN, "admin dangerous", "nondeterministic_output", "3.0.0",
     "Advance the cluster config epoch", "O(1)"),
    ("count-failure-reports", 3, "admin stale", "admin dangerous", "nondeterministic_output", "3.0.0",
     "Return the number of failure reports active for a given node",
     "O(N) where N is the number of failure reports"),
    ("countkeysinslot", 3, "stale", "", "", "3.0.0", "Return the number of local keys in the specified hash slot",
     "O(1)"),
    ("delslots", -3, _ADMIN, "admin dangerous", "", "3.0.0", "Set hash slots as unbound in receiving node",
     "O(N) where N is the total number of hash slot arguments"),
    ("delslotsrange", -4, _ADMIN, "admin dangerous", "", "7.0.0", "Set hash slots as unbound in receiving node",
     "O(N) where N is the total number of the slots between the start slot and end slot arguments."),
    ("failover", -2, _ADMIN, "admin dangerous", "", "3.0.0",
     "Forces a replica to perform a manual failover of its master.", "O(1)"),
    ("flushslots", 2, _ADMIN, "admin dangerous", "", "3.0.0", "Delete a node's own slots information", "O(1)"),
    ("forget", 3, _ADMIN, "admin dangerous", "", "3.0.0", "Remove a node from the nodes table", "O(1)"),
    ("getkeysinslot", 4, "stale", "", "nondeterministic_output", "3.0.0",
     "Return local key names in the specified hash slot", "O(log(N)) where N is the number of requested keys"),
    ("help", 2, "loading stale", "", "", "5.0.0", "Show helpful text about the different subcommands", "O(1)"),
    ("info", 2, "stale", "", "nondeterministic_output", "3.0.0", "Provides info about Redis Cluster node state",
     "O(1)"),
    ("keyslot", 3, "stale", "", "", "3.0.0", "Returns the hash slot of the specified key",
     "O(N) where N is the number of bytes in the key"),
    ("links", 2, "stale", "", "nondeterministic_output", "7.0.0",
     "Returns a list of all TCP links to and from peer nodes in cluster",
     "O(N) where N is the total number of Cluster nodes"),
    ("meet", -4, _ADMIN, "admin dangerous", "", "3.0.0", "Force a node cluster to handshake with another node",
     "O(1)"),
    ("myid", 2, "stale", "", "", "3.0.0", "Return the node id", "O(1)"),
    ("nodes", 2, "stale", "", "nondeterministic_output", "3.0.0", "Get Cluster config for the node",
     "O(N) where N is the total number of Cluster nodes"),
    ("replicas", 3, "admin stale", "admin dangerous", "nondeterministic_output", "5.0.0",
     "List replica nodes of the specified master node", "O(1)"),
    ("replicate", 3, _ADMIN, "admin dangerous", "", "3.0.0",
     "Reconfigure a node as a replica of the specified master node", "O(1)"),
    ("reset", -2, "admin noscript stale", "admin dangerous", "", "3.0.0", "Reset a Redis Cluster node",
     "O(N) where N is the number of known nodes. The command may execute a FLUSHALL as a side effect."),
    ("saveconfig", 2, _ADMIN, "admin dangerous", "", "3.0.0", "Forces the node to save cluster state on disk",
     "O(1)"),
    ("set-config-epoch", 3, _ADMIN, "admin dangerous", "", "3.0.0",
     "Set the configuration epoch in a new node", "O(1)"),
    ("setslot", -4, _ADMIN, "admin dangerous", "", "3.0.0", "Bind a hash slot to a specific node", "O(1)"),
    ("shards", 2, "stale", "", "nondeterministic_output", "7.0.0", "Get array of cluster slots to node mappings",
     "O(N) where N is the total number of cluster nodes"),
    ("slaves", 3, "admin stale", "admin dangerous", "nondeterministic_output", "3.0.0",
     "List replica nodes of the specified master node", "O(1)"),
    ("slots", 2, "stale", "", "nondeterministic_output", "3.0.0", "Get array of Cluster slot to node mappings",
     "O(N) where N is the total number of Cluster nodes"),
]


def cluster_disabled(client, *_args: bytes):
    """What a standalone server answers to every cluster command (Redis checks
    cluster_enabled first thing in clusterCommand, askingCommand, readonlyCommand...)."""
    raise ReplyError(CLUSTER_DISABLED)


for _name, _arity, _flags, _acl, _tips, _since, _summary, _complexity in _SUBCOMMANDS:
    command(_name, parent="cluster", group="cluster", arity=_arity, flags=_flags, acl=_acl, tips=_tips,
            since=_since, summary=_summary, complexity=_complexity)(cluster_disabled)


@command("asking", arity=1, flags="fast", acl="connection", group="cluster", since="3.0.0",
         summary="Sent by cluster clients after an -ASK redirect")
def asking(client):
    raise ReplyError(CLUSTER_DISABLED)


@command("readonly", arity=1, flags="loading stale fast", acl="connection", group="cluster", since="3.0.0",
         summary="Enables read queries for a connection to a cluster replica node")
def readonly(client):
    raise ReplyError(CLUSTER_DISABLED)


@command("readwrite", arity=1, flags="loading stale fast", acl="connection", group="cluster", since="3.0.0",
         summary="Disables read queries for a connection to a cluster replica node")
def readwrite(client):
    raise ReplyError(CLUSTER_DISABLED)
