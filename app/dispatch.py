"""From a parsed command to its reply: the one place every command passes through.

Like Redis' ``processCommand``, `execute` applies the rules that hold for every
command, from the declarations in the command table, before calling the handler:

1. look the command up (and its subcommand, for containers such as CONFIG);
2. check the number of arguments against its arity, and refuse a protected command
   (DEBUG, MODULE LOAD) unless ``enable-debug-command`` or ``enable-module-command``
   allows it;
3. refuse it with NOAUTH if the client must authenticate first and the command is not
   flagged ``no_auth``, and with NOPERM if the client's user may not run it on those
   keys and channels (app/acl.py; a user with every right costs one attribute test);
4. inside MULTI, refuse commands flagged ``no_multi`` and queue every other command
   (EXEC runs the queue); in RESP2 subscribed mode, refuse all but the few commands
   that mode allows. A refusal inside MULTI makes EXEC fail with EXECABORT;
5. run the handler holding the keyspace lock (`Command.call`), turning a raised
   `ReplyError` into the reply (and any other exception, which would be a bug, into an
   error reply and a log entry rather than a dead connection);
6. serve the clients blocked on keys the command made ready, before anyone else runs
   (app/store/blocking.py), and count the call for INFO commandstats and errorstats;
7. drop the reply if the client asked for silence with CLIENT REPLY OFF or SKIP
   (`Client.mute`), and queue it, still under the lock, if the client has an outbox
   (subscribers: app/outbox.py).

While ``maxmemory`` is set, keys are evicted before each command, under the lock, and a
command flagged ``denyoom`` is refused with OOM when nothing more may be evicted
(app/eviction.py).

Replication and persistence hook in here too, in the same generic way: a server that
cannot persist (MISCONF), a read-only replica, or a master short of good replicas
(``min-replicas-to-write``) refuses commands flagged ``write`` (step 3), and after step 5
whatever the command changed is handed to replicas and the append-only file
(app/propagation.py).
"""

from __future__ import annotations

from app import acl, monitor
from app.eviction import OOM
from app.client import Client
from app.commands import COMMANDS
from app.commands.arguments import c_string
from app.commands.registry import Command
from app.commands.transactions import abort_exec, discard_transaction
from app.cluster.routing import asking_spent, serves_here
from app.protocol import ENCODERS, NO_REPLY, ReplyError

NOAUTH = ReplyError("NOAUTH Authentication required.")
# Every command by its name in lower case and in upper case, as client libraries send
# it: the common lookup needs no `lower()` (any other spelling takes one).
SPELLINGS = {spelling: entry for name, entry in COMMANDS.items() for spelling in (name, name.upper())}


def _quoted_args(args: list[bytes]) -> str:
    """``'a' 'b' `` as Redis lists the first arguments of an unknown command (128 bytes)."""
    out = b""
    for arg in args:
        if len(out) >= 128:
            break
        out += b"'%s' " % c_string(arg)[: 128 - len(out)]
    return out.decode("utf-8", "surrogateescape")


def _text(arg: bytes) -> str:
    return c_string(arg)[:128].decode("utf-8", "surrogateescape")


def lookup(argv: list[bytes]) -> tuple[Command | None, int, ReplyError | None]:
    """Find the command (or subcommand) for ``argv``.

    Returns the command, where its arguments start, and the error that refuses it
    (unknown name, wrong number of arguments) or None.
    """
    entry = COMMANDS.get(argv[0].lower())
    if entry is None:
        return None, 0, ReplyError(
            f"ERR unknown command '{_text(argv[0])}', with args beginning with: {_quoted_args(argv[1:])}"
        )
    start = 1
    if entry.subcommands and len(argv) >= 2:
        sub = entry.subcommands.get(argv[1].lower())
        if sub is None:
            return None, 0, ReplyError(
                f"ERR unknown subcommand '{_text(argv[1])}'. Try {_text(argv[0]).upper()} HELP."
            )
        entry, start = sub, 2
    arity = entry.arity
    if (arity > 0 and len(argv) != arity) or len(argv) < -arity:
        return entry, start, ReplyError(f"ERR wrong number of arguments for '{entry.name}' command")
    return entry, start, None


# What a replica's or a monitor's own connection may not run (Redis: processCommand).
KEYSPACE_FLAGS = frozenset({"readonly", "write", "may_replicate"})
# Commands that run at once inside MULTI instead of being queued (Redis: processCommand).
RUN_INSIDE_MULTI = frozenset({"exec", "discard", "multi", "watch", "quit", "reset"})
# The only commands a RESP2 client may send while subscribed to something.
SUBSCRIBED_MODE_COMMANDS = frozenset(
    {"ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe", "punsubscribe", "quit", "reset"}
)


def _refusal_in_state(client: Client, entry: Command) -> ReplyError | None:
    """The errors of the rare states, checked in Redis' order: a replica's or a
    monitor's connection touching keys, a command flagged ``no_multi`` inside MULTI, then
    anything but (P|S)(UN)SUBSCRIBE, PING, QUIT and RESET in RESP2 subscribed mode (RESP3
    has no such mode: its messages are push frames)."""
    if (client.monitoring or client.replica is not None) and entry.flags & KEYSPACE_FLAGS:
        return ReplyError("ERR Replica can't interact with the keyspace")
    if client.multi is not None and "no_multi" in entry.flags:
        return ReplyError("ERR Command not allowed inside a transaction")
    if client.subscriptions and client.protocol == 2 and entry.name.split("|")[0] not in SUBSCRIBED_MODE_COMMANDS:
        return ReplyError(
            f"ERR Can't execute '{entry.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
            "are allowed in this context"
        )
    return None


def _protected_allowed(client: Client, parameter: str) -> bool:
    """Whether ``enable-debug-command`` or ``enable-module-command`` lets this client run
    the protected command: ``yes``, or ``local`` and a loopback connection."""
    allowed = client.server.config[parameter]
    return allowed == "yes" or (allowed == "local" and client.is_local())


def _protected_refusal(entry: Command) -> ReplyError:
    return ReplyError(
        f"ERR {entry.name.partition('|')[0].upper()} command not allowed. If the {entry.protected} option is set "
        'to "local", you can run it from a local connection, otherwise you need to set this option in the '
        "configuration file, and then restart the server."
    )


def _queued_flags(client: Client):
    """The flags of each command the client queued in MULTI, as EXEC will run them (an
    EVAL's from its script): the refusals that hold for such a command hold for EXEC."""
    return (queued.flags_for(client, argv) for queued, argv, _start in client.multi)


def _refused_write(client: Client, entry: Command, argv: list[bytes]) -> ReplyError | None:
    """``server.write_refusal`` holds for commands flagged ``write``, for an EXEC that
    queued one (so a transaction queued before the state changed is refused whole, with
    EXECABORT, as Redis counts such an EXEC as a write), and, while it is MISCONF, for
    PING too, as Redis' processCommand says."""
    refusal = client.server.write_refusal
    if "write" in entry.flags_for(client, argv):
        return refusal
    if entry.name == "exec" and client.multi and any("write" in flags for flags in _queued_flags(client)):
        return refusal
    if entry.name == "ping" and refusal.message.startswith("MISCONF"):
        return refusal
    return None


MASTERDOWN = ReplyError("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")


def _stale_refusal(client: Client, entry: Command, argv: list[bytes]) -> ReplyError | None:
    """On a replica cut from its master that must not serve stale data, only commands
    flagged ``stale`` run (INFO, REPLICAOF, CONFIG...): an EXEC only if all it queued
    are, and a script only if its shebang says ``allow-stale`` (Redis: processCommand)."""
    if "stale" not in entry.flags_for(client, argv):
        return MASTERDOWN
    if entry.name == "exec" and client.multi and any("stale" not in flags for flags in _queued_flags(client)):
        return MASTERDOWN
    return None


def _oom_refusal(client: Client, entry: Command, argv: list[bytes]) -> ReplyError | None:
    """Over maxmemory, Redis refuses commands flagged ``denyoom``, an EXEC that
    queued one, and anything queued inside MULTI (but EXEC, DISCARD, QUIT and RESET)."""
    if "denyoom" in entry.flags_for(client, argv):
        return OOM
    if client.multi is not None:
        if entry.name == "exec":
            return OOM if any("denyoom" in flags for flags in _queued_flags(client)) else None
        if entry.name not in ("discard", "quit", "reset"):
            return OOM
    return None


def execute(client: Client, argv: list[bytes]):
    """Run one command for ``client`` and return its reply value."""
    with client.server.keyspace.lock:
        return execute_locked(client, argv)


def execute_locked(client: Client, argv: list[bytes]):
    """`execute`, for a caller that holds the keyspace lock already: a connection's
    thread takes it once for all the commands of one read, so pipelined commands run
    back to back instead of handing the lock (and the GIL) to another thread between
    each two (see `Connection.run_commands`).

    Almost every command is a known one without subcommands, with as many arguments as
    it takes, from a client in none of the rare states (`Client.special`: MULTI,
    subscribed, not logged in...) and allowed everything by ACL, on a server in none of
    its own (`ServerState.special`: writes refused, loading, CLIENT PAUSE, maxmemory...)
    with no monitor; in cluster mode, with no key or one key of a slot served here and
    not being moved (`serves_here`). Such a command costs a handful of tests before it
    runs, and one after; anything else goes through `_apply_rules` and `_after_call`,
    which apply every rule in Redis' order."""
    entry = SPELLINGS.get(argv[0]) or COMMANDS.get(argv[0].lower())
    server = client.server
    keyspace = server.keyspace
    if (entry is None or entry.subcommands or entry.protected is not None
            or not (len(argv) == entry.arity or -len(argv) <= entry.arity < 0)  # the arity (see `lookup`)
            or client.special or server.special or server.monitors or not client.user.unrestricted
            or (server.cluster is not None and not serves_here(server.cluster, entry, argv))):
        entry, start, reply = _apply_rules(client, argv)
        if reply is not None:
            return reply  # refused, or queued in MULTI
    else:
        start = 1
        client.last_command = entry.name  # CLIENT LIST cmd=
        keyspace.obeying_master = False  # as `_apply_rules` sets them for a client that is not special
        keyspace.touching = True
        server.current_client = client
    client.argv = argv  # for the few errors that quote a word as the client typed it
    dirty = keyspace.dirty
    if server.monitors and "skip_monitor" in entry.flags:
        monitor.feed(server, client, argv)  # EVAL: before the commands its script runs
    reply = entry.call(client, argv[start:])
    propagation = keyspace.propagation
    if propagation.enabled:  # replicas or an AOF: send what changed
        changed = keyspace.dirty > dirty  # not "!=": SAVE sets it back to 0, as in Redis
        propagation.command_done(client.db.index, argv, changed)
        propagation.flush()
        if changed:
            client.woff = server.replication.offset  # what WAIT waits for
    blocked = keyspace.blocked
    if blocked.ready:  # the command fed keys that clients are blocked on
        blocked.serve_ready()
    if reply.__class__ is ReplyError:
        server.count_error(reply)
    if client.special or server.monitors:
        reply = _after_call(client, entry, argv, reply)
    return reply


def _apply_rules(client: Client, argv: list[bytes]):
    """The rules `execute_locked` skips in the common case, in Redis' order: returns
    the command, where its arguments start, and None to run it, or the reply to send
    instead, for a command refused or queued in MULTI."""
    entry, start, refusal = lookup(argv)
    if refusal is None and entry.protected is not None and not _protected_allowed(client, entry.protected):
        refusal = _protected_refusal(entry)  # before authentication, as in Redis
    if refusal is None and not client.authenticated and not entry.no_auth:
        refusal = NOAUTH
    if refusal is None and not client.user.unrestricted:  # ACL rules (app/acl.py)
        refusal = acl.check(client, entry, argv)
    server = client.server
    redirected = False
    if refusal is None and server.cluster is not None:  # MOVED, ASK, CROSSSLOT... (app/cluster/routing.py)
        refusal = server.cluster.route(client, entry, argv)
        redirected = refusal is not None
    if refusal is None and server.write_refusal is not None and not client.is_master:
        refusal = _refused_write(client, entry, argv)  # MISCONF, READONLY on a replica, NOREPLICAS
    if refusal is None and server.refuses_stale and not client.is_master and server.master_link_down():
        refusal = _stale_refusal(client, entry, argv)  # replica-serve-stale-data no
    if refusal is None and server.loading and "loading" not in entry.flags and not client.is_master:
        refusal = ReplyError("LOADING Redis is loading the dataset in memory")  # the AOF's client replays
    if refusal is None and server.busy_script is not None and "allow_busy" not in entry.flags:
        refusal = server.busy.refusal()  # a script runs too long: only SCRIPT KILL and the like
    client.last_command = entry.name if entry is not None else "NULL"  # CLIENT LIST cmd=
    if server.pause_end and refusal is None:  # CLIENT PAUSE: wait, the lock released
        server.hold_while_paused(client, entry)
        if server.cluster is not None:  # a manual failover moved our slots meanwhile: MOVED
            refusal = server.cluster.route(client, entry, argv)
            redirected = refusal is not None
        if refusal is None and server.write_refusal is not None and not client.is_master:
            refusal = _refused_write(client, entry, argv)  # a FAILOVER made this server a replica meanwhile
    server.keyspace.obeying_master = client.is_master  # a replica's master sees expired keys
    server.keyspace.touching = not client.no_touch or entry is None or entry.name == "touch"
    server.current_client = client
    if server.maxmemory and refusal is None and not client.is_master and not server.eviction.perform():
        refusal = _oom_refusal(client, entry, argv)  # over maxmemory with nothing to evict
    if refusal is None and (client.multi is not None or client.subscriptions or client.outbox is not None):
        refusal = _refusal_in_state(client, entry)
        if refusal is None and client.multi is not None and entry.name not in RUN_INSIDE_MULTI:
            if not (client.dirty_cas or client.multi_failed):  # no use queueing for a doomed EXEC
                client.multi.append((entry, argv, start))  # EXEC runs it (app/commands/transactions.py)
            return entry, start, _delivered(client, "QUEUED")
    if refusal is None:
        return entry, start, None
    if entry is not None:
        entry.stats.rejected_calls += 1
    if client.multi is not None:
        client.multi_failed = True  # EXEC will answer EXECABORT
    # A refused EXEC still ends the transaction, quoting why (Redis: execCommandAbort);
    # one redirected elsewhere ends it too, answering the redirection itself.
    if redirected and entry.name == "exec":
        discard_transaction(client)
        reply = refusal
    else:
        reply = abort_exec(client, refusal) if entry is not None and entry.name == "exec" else refusal
    if reply.__class__ is ReplyError:
        server.count_error(reply)
    if client.asking:
        asking_spent(client, entry)
    return entry, start, _delivered(client, reply)


def _after_call(client: Client, entry: Command, argv: list[bytes], reply):
    """What follows a command run by a special client, or while someone monitors: its
    reply muted or queued (`_delivered`), the command shown to the monitors, the keys it
    read remembered for tracking."""
    reply = _delivered(client, reply)
    server = client.server
    if server.monitors and not entry.flags & monitor.UNMONITORED:
        monitor.feed(server, client, argv)  # after the reply, as Redis: a monitor's own PING
    if client.tracking is not None:
        _track(client, entry, argv)
    if client.asking:
        asking_spent(client, entry)
    return reply


def _delivered(client: Client, reply):
    """The reply as the connection sends it: nothing under CLIENT REPLY OFF or SKIP,
    and, for a client with an outbox (a subscriber...), nothing either, as the reply
    joins that queue here, under the lock, in order with the messages published to it
    (app/outbox.py)."""
    if client.replies_muted:
        reply = client.mute(reply)
    if client.outbox is not None:
        queue_reply(client, reply)
        reply = NO_REPLY
    return reply


def _track(client: Client, entry: Command, argv: list[bytes]) -> None:
    """After a command of a tracking client (app/tracking.py): remember the keys a read
    command read, send the invalidations of its own writes after its reply, and let a
    CLIENT CACHING lapse once the command after it has run."""
    client.server.tracking.remember(client, entry, argv)
    if entry.name != "client|caching":
        client.tracking.caching = None
    if client.pending_invalidations:
        for data in client.pending_invalidations:
            client.outbox.put(data, client.server.config["client-output-buffer-limit"]["normal"])
        client.pending_invalidations = []


def queue_reply(client: Client, reply) -> None:
    """Append a reply to the client's outbox; disconnect it if that passes its limit."""
    if reply is NO_REPLY:
        return
    server = client.server
    kind = "pubsub" if client.subscriptions else "normal"
    if not client.outbox.put(ENCODERS[client.protocol].encode(reply), server.config["client-output-buffer-limit"][kind]):
        server.pubsub.disconnect_slow(client)
