"""Which node serves a client's command, and the error that says so (Redis:
getNodeByQuery and clusterRedirectClient).

In cluster mode the dispatcher asks `route` about every command of a normal client
(not our master's stream), right after the ACL check, before MULTI queues it and before
EXEC runs the queue; the common command, with no key or one key of a slot served here,
is told apart first by `serves_here`, in a few tests. The keys come from the command table's key specs
(app/commands/keyspecs.py); all of them must hash to one slot, and then:

- nobody serves that slot: ``CLUSTERDOWN Hash slot not served``;
- the cluster is down (app/cluster/state.py's ``state``): ``CLUSTERDOWN The cluster is
  down``, unless cluster-allow-reads-when-down lets reads through (writes then get
  ``... and only accepts read commands``); shard channels follow
  cluster-allow-pubsubshard-when-down instead;
- we serve it but are migrating it (CLUSTER SETSLOT MIGRATING): keys we still have are
  served here; if none of the keys is here, ``ASK <slot> <host>:<port>`` sends the
  client to the target, for this one command; if only some are, ``TRYAGAIN``;
- we are importing it: only after ASKING (or for RESTORE-ASKING) is it served here, and
  a command on several keys not all here yet gets ``TRYAGAIN``;
- a replica serves reads of its master's slots to a client that sent READONLY (and
  shard channel commands to anyone);
- another node serves it: ``MOVED <slot> <host>:<port>``.

A command without keys runs wherever it is sent. So does everything while a MIGRATE
moves keys of an open slot. The channel of SPUBLISH, SSUBSCRIBE and SUNSUBSCRIBE counts
as a key (their key specs say ``not_key``: not a key of the keyspace, but it routes).

The ASKING flag lasts one command, or a whole transaction when MULTI follows it: the
dispatcher clears it after any other command that ends outside MULTI (`asking_spent`),
as Redis' resetClient does.
"""

from __future__ import annotations

from app.cluster.bus import CLUSTER_OK
from app.cluster.slots import key_slot
from app.protocol import ReplyError

CROSSSLOT = ReplyError("CROSSSLOT Keys in request don't hash to the same slot")
TRYAGAIN = ReplyError("TRYAGAIN Multiple keys request during rehashing of slot")
DOWN = ReplyError("CLUSTERDOWN The cluster is down")
DOWN_READ_ONLY = ReplyError("CLUSTERDOWN The cluster is down and only accepts read commands")
UNBOUND = ReplyError("CLUSTERDOWN Hash slot not served")

SHARD_CHANNEL_COMMANDS = frozenset({"ssubscribe", "sunsubscribe", "spublish"})


def _keys_of(entry, argv):
    """app/commands/keyspecs.py's `keys_of`, imported on first use (the command table
    it reads imports the cluster commands, which import this state's package)."""
    global _keys_of
    from app.commands.keyspecs import keys_of

    _keys_of = keys_of
    return keys_of(entry, argv)


def _stored(db, key: bytes) -> bool:
    """Whether ``key`` is here and not expired, without touching it: this only looks
    (Redis looks with LOOKUP_NOTOUCH | LOOKUP_NOSTATS | LOOKUP_NONOTIFY)."""
    if key not in db.data:
        return False
    deadline = db.expires.get(key)
    return deadline is None or deadline > db.keyspace.now()


def route(cluster, client, entry, argv: list[bytes]) -> ReplyError | None:
    """The error that redirects or refuses this command, or None to run it here."""
    asking = client.asking  # the dispatcher clears it after the command (`asking_spent`)
    if client.is_master:
        return None
    if entry.name == "exec":
        if client.multi is None:
            return None  # EXEC without MULTI: its own error
        commands = [(queued, queued_argv) for queued, queued_argv, _start in client.multi]
    elif not entry.key_specs:
        return None
    else:
        commands = [(entry, argv)]
    shard_channels = entry.name in SHARD_CHANNEL_COMMANDS
    myself = cluster.myself
    db = cluster.server.keyspace.databases[0]
    first_key = owner = None
    slot = 0
    migrating = importing = multiple_keys = False
    missing = existing = 0
    for command, command_argv in commands:
        for key, _flags in _keys_of(command, command_argv):
            this_slot = key_slot(key)
            if first_key is None:
                first_key, slot = key, this_slot
                owner = cluster.slots[slot]
                if owner is None:
                    return UNBOUND
                if owner is myself and slot in cluster.migrating:
                    migrating = True
                elif slot in cluster.importing:
                    importing = True
            elif key != first_key:
                if this_slot != slot:
                    return CROSSSLOT
                multiple_keys = True
            if (migrating or importing) and not shard_channels and not _stored(db, key):
                missing += 1
            else:
                existing += 1
    if owner is None:
        return None  # no key at all: served here
    if cluster.state != CLUSTER_OK:
        if shard_channels:
            if not cluster.config["cluster-allow-pubsubshard-when-down"]:
                return DOWN
        elif not cluster.config["cluster-allow-reads-when-down"]:
            return DOWN
        elif _writes(client, entry, argv):
            return DOWN_READ_ONLY
    if (migrating or importing) and entry.name == "migrate":
        return None  # MIGRATE moves the keys of an open slot, from here
    if migrating and missing:
        if existing:
            return TRYAGAIN
        return _redirect(cluster, "ASK", slot, cluster.migrating[slot])
    if importing and (asking or "asking" in entry.flags):
        if multiple_keys and missing:
            return TRYAGAIN
        return None
    if (client.readonly or shard_channels) and not _writes(client, entry, argv) \
            and myself.is_replica and myself.master is owner:
        return None
    if owner is not myself:
        return _redirect(cluster, "MOVED", slot, owner)
    return None


def asking_spent(client, entry) -> None:
    """After a command (run or refused): ASKING is spent, unless it was ASKING itself or
    a transaction is open (MULTI keeps it until EXEC or DISCARD)."""
    if client.multi is None and (entry is None or entry.name != "asking"):
        client.asking = False


def serves_here(cluster, entry, argv: list[bytes]) -> bool:
    """Whether `route` would surely run this command here, answered without reading
    its key specs: the common case of a command that names no key, or one key
    (``Command.single_key``) of a slot this node serves and is not moving away, the
    cluster being up. False sends the command through `route` itself."""
    position = entry.single_key
    if position is None:
        return False
    if position < 0:
        return True  # no key: served wherever it is sent
    if position >= len(argv) or cluster.state != CLUSTER_OK:
        return False
    slot = key_slot(argv[position])
    return cluster.slots[slot] is cluster.myself and slot not in cluster.migrating


def _writes(client, entry, argv: list[bytes]) -> bool:
    """Whether the command writes: for EXEC, whether anything it queued does."""
    if entry.name == "exec" and client.multi:
        return any("write" in queued.flags_for(client, queued_argv) for queued, queued_argv, _start in client.multi)
    return "write" in entry.flags_for(client, argv)


def _redirect(cluster, kind: str, slot: int, node) -> ReplyError:
    return ReplyError(f"{kind} {slot} {cluster.preferred_endpoint(node)}:{node.port}")


NON_LOCAL = "ERR Script attempted to access a non local key in a cluster node"
CROSS_SLOT_SCRIPT = "ERR Script attempted to access keys that do not hash to the same slot"


def script_refusal(cluster, run, entry, argv: list[bytes]) -> str | None:
    """Why a script may not run this command here (Redis: scriptVerifyClusterState),
    or None. Its keys must be served here, as a client's would be, and, unless the
    script is an old-style one (no shebang) or says ``allow-cross-slot-keys``, in the
    slot of the keys it declared, or of the first key it touched when it declared none.
    ``run`` (app/scripting/run.py) keeps that slot."""
    client = run.client
    if client.is_master:
        return None  # our master's stream, or the AOF: obeyed whatever the slots
    refusal = route(cluster, client, entry, argv)  # the caller's ASKING and READONLY hold for its script
    if refusal is not None:
        if refusal is DOWN_READ_ONLY:
            return "ERR Script attempted to execute a write command while the cluster is down and readonly"
        if refusal is DOWN:
            return "ERR Script attempted to execute a command while the cluster is down"
        return NON_LOCAL  # MOVED, ASK, TRYAGAIN, CROSSSLOT, a slot nobody serves
    if run.flags is None or "allow-cross-slot-keys" in run.flags:
        return None
    for key, _flags in _keys_of(entry, argv):
        slot = key_slot(key)
        if run.slot is None:
            run.slot = slot
        elif run.slot != slot:
            return CROSS_SLOT_SCRIPT
        break  # `route` saw that the others share its slot
    return None


def declared_slot(entry, argv: list[bytes]) -> int | None:
    """The slot of the keys a command names (`route` saw they share one), None without keys."""
    for key, _flags in _keys_of(entry, argv):
        return key_slot(key)
    return None


def redirect_blocked(cluster) -> None:
    """End the wait of clients blocked on keys this node no longer serves, or on any
    key while the cluster is down, with the error that says where to go (Redis:
    clusterRedirectBlockedClientIfNeeded, from its clients' cron). A write that would
    wake them may never come here: the slot's keys are written elsewhere now. Our
    cron (app/cluster/gossip.py) calls this ten times a second while anyone is blocked.
    WAIT, which waits for replicas and names no key, is left alone."""
    from app.commands import COMMANDS  # here: the command table imports this package

    myself = cluster.myself
    for waiter in cluster.server.keyspace.blocked.waiters():
        if waiter.cancelled or not waiter.keys:
            continue
        if cluster.state != CLUSTER_OK:
            waiter.cancel(DOWN)  # even if reads are allowed: the write it waits for cannot come
            continue
        _db, key = waiter.keys[0]  # all in one slot: the command was routed
        slot = key_slot(key)
        owner = cluster.slots[slot]
        client = waiter.client
        if client.readonly and myself.is_replica and myself.master is owner \
                and "write" not in COMMANDS[client.last_command.encode()].flags:
            continue  # a replica serving its master's slot to a READONLY client
        if owner is not myself and slot not in cluster.importing:
            waiter.cancel(UNBOUND if owner is None else _redirect(cluster, "MOVED", slot, owner))
