"""Transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH (Redis: multi.c).

MULTI puts the client in a state where the dispatcher (app/dispatch.py) queues its
commands instead of running them, answering ``+QUEUED``; EXEC then runs the queue while
holding the keyspace lock, so no other client's command runs in between: that is what
makes a transaction atomic here, as Redis' single thread does there.

A command refused while queueing (unknown, wrong arity, not allowed in MULTI) dooms the
transaction: EXEC answers EXECABORT and runs nothing. A command that fails while EXEC
runs it only fails in its own slot of the reply; the rest run.

EXEC's reply is usually one array value. Redis, though, writes it piece by piece: the
header, then each reply as its command finishes. That shows when something else reaches
the client meanwhile (a message it publishes to itself), when HELLO changes the protocol
halfway, or when CLIENT REPLY OFF silences the rest; for those EXEC writes the pieces to
the client's outbox itself (`_exec_streamed`).

WATCH is optimistic locking. Every change to a key goes through the keyspace
(`Database.set`, `delete`, `changed`...), which marks each client watching that key as
dirty (`Keyspace.touch`); EXEC of a dirty client runs nothing and answers a null array.
So does EXEC after a watched key has expired, as in Redis 7.0.
"""

from __future__ import annotations

from app import monitor
from app.commands.registry import KeySpec, command
from app.protocol import ENCODERS, NO_REPLY, NULL_ARRAY, ReplyError


def _transaction(name: str, **kwargs):
    return command(name, group="transactions", acl="transaction", **kwargs)


def discard_transaction(client) -> None:
    """Leave MULTI and forget every watched key (EXEC and DISCARD both do)."""
    client.multi = None
    client.multi_failed = False
    client.dirty_cas = False
    client.server.keyspace.unwatch_all(client)


@_transaction("multi", arity=1, flags="noscript loading stale fast allow_busy", since="1.2.0",
              summary="Mark the start of a transaction block")
def multi(client):
    if client.multi is not None:
        raise ReplyError("ERR MULTI calls can not be nested")
    client.multi = []
    return "OK"


@_transaction("exec", arity=1, flags="noscript loading stale skip_slowlog", since="1.2.0",
              summary="Execute all commands issued after MULTI",
              complexity="Depends on commands in the transaction")
def exec_(client):
    if client.multi is None:
        raise ReplyError("ERR EXEC without MULTI")
    keyspace = client.server.keyspace
    if client.multi_failed:  # checked first: EXECABORT even if a watched key changed too
        discard_transaction(client)
        raise ReplyError("EXECABORT Transaction discarded because of previous errors.")
    if client.dirty_cas or keyspace.watched_key_expired(client):
        discard_transaction(client)
        return NULL_ARRAY
    # As in Redis, the client stays in MULTI while its queue runs (CLIENT INFO inside
    # EXEC shows flags=x and multi=<queued>), but its watched keys are forgotten first.
    keyspace.unwatch_all(client)
    queued = client.multi
    client.in_exec = True  # blocking commands in the queue do not block
    keyspace.frozen_time = keyspace.now()  # no key expires halfway through
    # Replicas get the transaction's writes as one unit: the dispatcher sends them after
    # EXEC returns, in MULTI ... EXEC if there is more than one (app/propagation.py).
    propagation = keyspace.propagation
    propagation.in_transaction = True
    try:
        if _streamed(client, queued):
            return _exec_streamed(client, queued)
        server = client.server
        replies = []
        for entry, argv, start in queued:
            reply = _run_queued(client, entry, argv, start)
            if reply.__class__ is ReplyError:
                server.count_error(reply)  # INFO errorstats counts errors inside EXEC too
            replies.append(reply)
        return replies
    finally:
        client.in_exec = False
        keyspace.frozen_time = None
        propagation.in_transaction = False
        propagation.replace()  # the queued commands go out, not the word EXEC
        discard_transaction(client)


def _run_queued(client, entry, argv: list[bytes], start: int):
    """Run one queued command and note what it propagates, as the dispatcher would."""
    client.argv = argv  # as typed, for the errors that quote it
    server = client.server
    keyspace = server.keyspace
    dirty = keyspace.dirty
    if server.monitors and "skip_monitor" in entry.flags:
        monitor.feed(server, client, argv)  # EVAL: ahead of the commands its script runs
    reply = entry.call(client, argv[start:])
    if keyspace.propagation.enabled:
        keyspace.propagation.command_done(client.db.index, argv, keyspace.dirty > dirty)
    if server.monitors and not entry.flags & monitor.UNMONITORED:
        monitor.feed(server, client, argv)
    if client.tracking is not None:
        server.tracking.remember(client, entry, argv)
    return reply


# Commands after which the rest of EXEC's reply is not what one array value encodes: a
# subscription makes messages published meanwhile arrive in the middle of the reply,
# HELLO changes the protocol of the replies after its own, CLIENT REPLY silences them.
_STREAMED = frozenset({"subscribe", "psubscribe", "ssubscribe", "hello", "client|reply"})


def _streamed(client, queued) -> bool:
    """Whether EXEC must write its reply piece by piece, as Redis does: the client has an
    outbox (a message published to itself lands between two replies), or will get one."""
    if client.outbox is not None:
        return True
    return client.open_outbox is not None and any(entry.name in _STREAMED for entry, _argv, _start in queued)


def _exec_streamed(client, queued):
    """Run the queue writing each reply to the client's outbox as soon as it is made,
    after the array header, as Redis' EXEC does: whatever else reaches the client
    meanwhile (its own messages) lands between them, each reply is encoded in the
    protocol of its moment (HELLO), and CLIENT REPLY OFF silences what follows it."""
    server = client.server
    if client.outbox is None:
        client.outbox = client.open_outbox()  # from now on everything for it is queued
    outbox = client.outbox
    # Muted from the start: CLIENT REPLY OFF, or SKIP whose skipped reply is this EXEC.
    muted_from_start = client.replies_muted

    def write(data: bytes) -> None:
        if outbox.closed:
            return  # disconnected as too slow: nothing more for it
        kind = "pubsub" if client.subscriptions else "normal"
        if not outbox.put(data, server.config["client-output-buffer-limit"][kind]):
            server.pubsub.disconnect_slow(client)

    if not muted_from_start:
        write(b"*%d\r\n" % len(queued))
    for entry, argv, start in queued:
        reply = _run_queued(client, entry, argv, start)
        if reply.__class__ is ReplyError:
            server.count_error(reply)
        mode = client.reply_mode
        if entry.name == "client|reply" and mode != b"ON":
            continue  # CLIENT REPLY OFF and SKIP answer nothing
        # SKIP set inside EXEC skips the command after EXEC, as in Redis; OFF is at once.
        if mode == b"OFF" or (mode == b"SKIP" and muted_from_start):
            continue
        write(ENCODERS[client.protocol].encode(reply))
    return NO_REPLY


def abort_exec(client, error: ReplyError) -> ReplyError:
    """The reply to an EXEC that the dispatcher refuses (wrong number of arguments, NOAUTH,
    RESP2 subscribed mode), in MULTI or not: Redis (execCommandAbort) discards the
    transaction, forgetting the watched keys, and answers EXECABORT quoting the refusal
    without its ERR prefix."""
    discard_transaction(client)
    message = error.message
    if message.startswith("ERR "):
        message = message[4:]
    return ReplyError(f"EXECABORT Transaction discarded because of: {message}")


@_transaction("discard", arity=1, flags="noscript loading stale fast allow_busy", since="2.0.0",
              summary="Discard all commands issued after MULTI", complexity="O(N), when N is the number of queued commands")
def discard(client):
    if client.multi is None:
        raise ReplyError("ERR DISCARD without MULTI")
    discard_transaction(client)
    return "OK"


@_transaction("watch", arity=-2, flags="noscript loading stale fast allow_busy", keys=[KeySpec(1, "RO", last=-1)],
              since="2.2.0", summary="Watch the given keys to determine execution of the MULTI/EXEC block",
              complexity="O(1) for every key.")
def watch(client, *keys: bytes):
    if client.multi is not None:
        raise ReplyError("ERR WATCH inside MULTI is not allowed")
    if client.dirty_cas:
        return "OK"  # a watched key already changed: EXEC will fail whatever else is watched
    keyspace = client.server.keyspace
    for key in keys:
        keyspace.watch(client, client.db, key)
    return "OK"


@_transaction("unwatch", arity=1, flags="noscript loading stale fast allow_busy", since="2.2.0",
              summary="Forget about all watched keys")
def unwatch(client):
    client.server.keyspace.unwatch_all(client)
    client.dirty_cas = False
    return "OK"
