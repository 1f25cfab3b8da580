"""Replication commands: REPLCONF, PSYNC, SYNC, WAIT, REPLICAOF (SLAVEOF), FAILOVER and ROLE.

The machinery is in app/replication/: these handlers only read their arguments and
call it. Every handler runs with the keyspace lock held, like every command.
"""

from __future__ import annotations

from app import log
from app.commands.arguments import SYNTAX_ERROR, c_string, integer, keyword, text
from app.commands.list import timeout_seconds
from app.commands.registry import command
from app.protocol import NO_REPLY, ReplyError
from app.replication import failover as failovers


def _server_command(name: str, **kwargs):
    return command(name, group="server", **kwargs)


@_server_command("replconf", arity=-1, flags="admin noscript loading stale allow_busy", since="3.0.0",
                 summary="An internal command for configuring the replication stream")
def replconf(client, *args: bytes):
    if len(args) % 2:
        raise ReplyError(SYNTAX_ERROR)
    replication = client.server.replication
    for option, value in zip(args[::2], args[1::2]):
        option = option.lower()
        if option == b"listening-port":
            client.replica_port = integer(value)
        elif option == b"ip-address":
            client.replica_ip = value
        elif option == b"capa":
            client.replica_capa.add(value.lower())
        elif option == b"rdb-only":
            # redis-cli --rdb: the snapshot only, no stream after it.
            flag = integer(value)
            if flag not in (0, 1):
                raise ReplyError("ERR value is out of range, value must between 0 and 1")
            client.replica_rdb_only = bool(flag)
        elif option == b"rdb-filter-only":
            # Which parts of the RDB to leave out: "" or "functions" (we have none).
            for word in value.split():
                if word.lower() != b"functions":
                    raise ReplyError(f"ERR Unsupported rdb-filter-only option: {text(word)}")
        elif option == b"ack":
            # A replica's acknowledgement is never answered (Redis: replconfCommand).
            if client.replica is not None:
                replication.acknowledged(client.replica, integer(value))
            return NO_REPLY
        elif option == b"getack":
            return NO_REPLY  # only a master asks this, and the replica link answers it
        else:
            raise ReplyError(f"ERR Unrecognized REPLCONF option: {text(option)}")
    return "OK"


def _check_master_link(client) -> None:
    """No replica attaches during a FAILOVER; a replica serves replicas of its own only
    while its own master link is up."""
    replication = client.server.replication
    if replication.failover is not None:
        raise ReplyError("NOMASTERLINK Can't SYNC while failing over")
    link = replication.link
    if link is not None and not link.up:
        raise ReplyError("NOMASTERLINK Can't SYNC while not connected with my master")


@_server_command("psync", arity=-3, flags="admin noscript no_async_loading no_multi", since="2.8.0",
                 summary="Internal command used for replication", complexity="")
def psync(client, replid: bytes, offset: bytes, *rest: bytes):
    if client.replica is not None:
        return NO_REPLY  # already a replica: Redis ignores a second PSYNC
    if rest and rest[0].lower() == b"failover":  # our master hands its role to us
        failovers.accept_request(client, replid)
    _check_master_link(client)
    replication = client.server.replication
    wanted = integer(offset)
    if replid != b"?" and replication.can_continue(replid.decode("ascii", "replace"), wanted):
        replication.attach(client, wanted)
    else:
        if replid != b"?":
            replication.sync_partial_err += 1  # asked to continue, but cannot
        replication.attach(client, None)
    return NO_REPLY  # the answer went into the replica's outbox, ahead of the stream


@_server_command("sync", arity=1, flags="admin noscript no_async_loading no_multi", since="1.0.0",
                 summary="Internal command used for replication", complexity="")
def sync(client):
    """The protocol before PSYNC: the RDB then the stream, with no +FULLRESYNC line."""
    if client.replica is not None:
        return NO_REPLY
    _check_master_link(client)
    client.server.replication.attach(client, None, announce=False)
    return NO_REPLY


@command("wait", arity=3, flags="noscript", acl="connection", group="generic", since="3.0.0",
         tips="request_policy:all_shards response_policy:agg_min",
         summary="Wait for the synchronous replication of all the write commands sent in the context of the "
                 "current connection")
def wait(client, numreplicas: bytes, timeout: bytes):
    server = client.server
    if server.role == "slave":
        raise ReplyError("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a "
                         "replica is configured to be writable (which is not the default) writes to replicas are "
                         "just local and are not propagated.")
    wanted = integer(numreplicas)
    seconds = timeout_seconds(timeout, milliseconds=True)
    replication = server.replication
    target = client.woff  # the stream offset after this client's last command
    acked = replication.count_acked(target)
    if acked >= wanted or client.in_exec:
        return acked
    replication.request_acks()

    def enough(_key):
        count = replication.count_acked(target)
        return count if count >= wanted else None

    # A blocked client like BLPOP's (app/store/blocking.py), woken by each ACK: counted
    # in blocked_clients, ended by CLIENT UNBLOCK (as a timeout) or by a hang-up. The
    # keyspace lock is free meanwhile, and WAIT itself propagates nothing.
    acked = server.keyspace.blocked.wait(client, [], enough, seconds, competes=False, condition=replication.acks)
    return acked if acked is not None else replication.count_acked(target)


def _replicaof(client, host: bytes, port: bytes):
    server = client.server
    if server.cluster is not None:
        raise ReplyError("ERR REPLICAOF not allowed in cluster mode.")  # CLUSTER REPLICATE says whom to follow
    if server.replication.failover is not None:
        raise ReplyError("ERR REPLICAOF not allowed while failing over.")
    if host.lower() == b"no" and port.lower() == b"one":
        if server.role == "slave":
            server.replication.become_master()
            log.notice(f"MASTER MODE enabled (user request from '{client.addr}')")
        return "OK"
    if client.replica is not None:
        raise ReplyError("ERR Command is not valid when client is a replica.")
    port_number = integer(port, "ERR Invalid master port")
    if port_number < 0 or port_number > 65535:
        raise ReplyError("ERR Invalid master port")
    master = (host.decode("utf-8", "replace"), port_number)
    if server.config["replicaof"] == master:
        return "OK Already connected to specified master"
    was_master = server.role == "master"
    # A master turned replica tries to continue its own history from the new master
    # (Redis: replicationCacheMasterUsingMyself).
    server.replicate_from(master, continue_own_history=was_master)
    log.notice(f"REPLICAOF {master[0]}:{master[1]} enabled (user request from '{client.info_line()}')")
    return "OK"


@_server_command("replicaof", arity=3, flags="admin noscript stale no_async_loading", since="5.0.0",
                 summary="Make the server a replica of another instance, or promote it as master.")
def replicaof(client, host: bytes, port: bytes):
    return _replicaof(client, host, port)


@_server_command("slaveof", arity=3, flags="admin noscript stale no_async_loading", since="1.0.0",
                 summary="Make the server a replica of another instance, or promote it as master.")
def slaveof(client, host: bytes, port: bytes):
    return _replicaof(client, host, port)


@_server_command("failover", arity=-1, flags="admin noscript stale", since="6.2.0",
                 summary="Start a coordinated failover between this server and one of its replicas.")
def failover(client, *args: bytes):
    """FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds]: the arguments are
    read as Redis reads them (each at most once, ABORT only alone), then
    app/replication/failover.py checks the state and starts."""
    if len(args) == 1 and keyword(args[0]) == b"ABORT":
        failovers.abort(client)
        return "OK"
    timeout_ms, force, target = 0, False, None
    index = 0
    while index < len(args):
        word = keyword(args[index])
        if word == b"TIMEOUT" and index + 1 < len(args) and not timeout_ms:
            timeout_ms = integer(args[index + 1])
            if timeout_ms <= 0:
                raise ReplyError("ERR FAILOVER timeout must be greater than 0")
            index += 2
        elif word == b"TO" and index + 2 < len(args) and target is None:
            target = (c_string(args[index + 1]).decode("utf-8", "surrogateescape"), integer(args[index + 2]))
            index += 3
        elif word == b"FORCE" and not force:
            force = True
            index += 1
        else:
            raise ReplyError(SYNTAX_ERROR)
    failovers.start(client, target, timeout_ms, force)
    return "OK"


@_server_command("role", arity=1, flags="noscript loading stale fast", acl="admin dangerous", since="2.8.12",
                 summary="Return the role of the instance in the context of replication")
def role(client):
    server = client.server
    replication = server.replication
    if server.role == "slave":
        host, port = server.config["replicaof"]
        link = replication.link
        state = link.state if link is not None else "connect"
        offset = replication.offset if link is not None and link.up else -1
        return [b"slave", host.encode(), port, state.encode(), offset]
    replicas = [
        [link.ip.encode(), str(link.listening_port).encode(), str(link.ack_offset).encode()]
        for link in replication.replicas
        if link.state == "online"
    ]
    return [b"master", replication.offset, replicas]


@_server_command("monitor", arity=1, flags="admin noscript loading stale", since="1.0.0",
                 summary="Listen for all requests received by the server in real time", complexity="")
def monitor(client):
    """From now on the client receives every command the server runs (app/monitor.py).
    Redis keeps it in replication.c: a monitor is a kind of replica, fed text."""
    if client.monitoring or client.replica is not None:
        return NO_REPLY  # already one: ignored, as in Redis
    if client.outbox is None:
        client.outbox = client.open_outbox()
    client.monitoring = True
    client.server.monitors.append(client)
    return "OK"

