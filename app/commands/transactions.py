"""Transactions: MULTI, EXEC, DISCARD, WATCH and UNWATCH (Redis: multi.c).

MULTI puts the client in a state where the dispatcher (app/dispatch.py) queues its
commands instead of running them, answering ``+QUEUED``; EXEC then runs the queue while
holding the keyspace lock, so no other client's command runs in between: that is what
makes a transaction atomic here, as Redis' single thread does there.

A command refused while queueing (unknown, wrong arity, not allowed in MULTI) dooms the
transaction: EXEC answers EXECABORT and runs nothing. A command that fails while EXEC
runs it only fails in its own slot of the reply; the rest run.

WATCH is optimistic locking. Every change to a key goes through the keyspace
(`Database.set`, `delete`, `changed`...), which marks each client watching that key as
dirty (`Keyspace.touch`); EXEC of a dirty client runs nothing and answers a null array.
So does EXEC after a watched key has expired, as in Redis 7.0.
"""

from __future__ import annotations

from app.commands.registry import KeySpec, command
from app.protocol import NULL_ARRAY, ReplyError


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
    queued, failed = client.multi, client.multi_failed
    aborted = client.dirty_cas or client.server.keyspace.watched_key_expired(client)
    discard_transaction(client)
    if failed:
        raise ReplyError("EXECABORT Transaction discarded because of previous errors.")
    if aborted:
        return NULL_ARRAY
    server = client.server
    replies = []
    client.in_exec = True  # blocking commands in the queue do not block
    try:
        for entry, args in queued:
            reply = entry.call(client, args)
            if reply.__class__ is ReplyError:
                server.count_error(reply)  # INFO errorstats counts errors inside EXEC too
            replies.append(reply)
    finally:
        client.in_exec = False
    return replies


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
