"""The stream of writes: what the append-only file records and what replicas receive.

Redis does not send its replicas (or its AOF) the commands clients typed. It sends what
those commands *did*, as commands that give the same result when run again, on another
machine, later (see ../shared/WRITES.md; Redis: ``call()``, ``alsoPropagate`` and
``propagatePendingCommands``):

* a command is propagated only if it changed something: the dispatcher compares the
  keyspace's change counter before and after the handler, so a SET NX that did nothing,
  or a read, costs one integer comparison and sends nothing;
* a command whose effect depends on when or where it runs is replaced by its effect: the
  handler calls `Propagation.replace` (SET EX 10 becomes SET PXAT <ms>, SPOP becomes
  SREM, BLPOP becomes LPOP, XADD * gets its ID...);
* a key found expired while a command runs is deleted with a DEL that goes *before* the
  command (`also`): a replica never expires keys itself, it waits for that DEL;
* what one command (or one EXEC) sends goes out as one unit: wrapped in MULTI ... EXEC
  when it is more than one command, with a SELECT in front when the database differs
  from the one the stream is in.

Each unit is encoded once, as RESP, and handed to every sink in the same order: the
replication backlog and replicas (app/replication/master.py) and the AOF. With no sink,
nothing is collected at all.

All of this runs under the keyspace lock, one command at a time, which is why the
pending list can be shared by the whole server.
"""

from __future__ import annotations

from typing import Callable

from app.protocol import encode_command  # the AOF and replicas get commands as clients send them

# Where an entry goes, as Redis' PROPAGATE_AOF and PROPAGATE_REPL (a script may choose:
# redis.set_repl).
AOF = 1
REPLICAS = 2
EVERYWHERE = AOF | REPLICAS

MULTI = b"*1\r\n$5\r\nMULTI\r\n"
EXEC = b"*1\r\n$4\r\nEXEC\r\n"


class Propagation:
    """Collects the writes of the command running now and sends them out as one unit."""

    def __init__(self):
        # Sinks take the encoded bytes of a whole unit. `to_replicas` is the replication
        # feed; `to_aof` the append-only file. Either may be None.
        self.to_replicas: Callable[[bytes], None] | None = None
        self.to_aof: Callable[[bytes], None] | None = None
        self.enabled = False  # some sink is set: the only test a write pays when none is
        # (db index, argv, where it goes: AOF | REPLICAS) of the current unit.
        self.pending: list[tuple[int, list[bytes], int]] = []
        self.replacement: list[list[bytes]] | None = None  # set by a handler: `replace`
        self.in_transaction = False  # EXEC is running: its writes form one unit
        # The database each stream is in; -1 forces a SELECT before the next command.
        # The AOF and the replicas are separate streams that may start at different
        # times (a replica attaching, an AOF rewrite), so each has its own.
        self.replicas_db = -1
        self.aof_db = -1

    def set_sinks(self, to_replicas=None, to_aof=None) -> None:
        self.to_replicas = to_replicas
        self.to_aof = to_aof
        self.enabled = to_replicas is not None or to_aof is not None

    # --- called by handlers

    def replace(self, *commands: list[bytes]) -> None:
        """Propagate ``commands`` instead of the command as the client sent it (none at
        all: nothing is propagated). Cheap to call with no sink."""
        if self.enabled:
            self.replacement = list(commands)

    def also(self, db_index: int, argv: list[bytes]) -> None:
        """Propagate ``argv`` as part of the current unit, ahead of the command itself
        (the DEL of a key found expired)."""
        if self.enabled:
            self.pending.append((db_index, argv, EVERYWHERE))

    def to_replicas_only(self, db_index: int, argv: list[bytes]) -> None:
        """Send ``argv`` to replicas although it changed nothing, and not to the AOF:
        PUBLISH, so that a replica's subscribers get the message too (Redis:
        forceCommandPropagation with PROPAGATE_REPL)."""
        if self.to_replicas is not None:
            self.pending.append((db_index, argv, REPLICAS))

    # --- called by the dispatcher, EXEC and the blocked-client server

    def command_done(self, db_index: int, argv: list[bytes] | None, changed: bool, targets: int = EVERYWHERE) -> None:
        """A command returned: queue what it propagates, if it changed anything (to
        ``targets``: a script may send its writes to the AOF or the replicas alone)."""
        replacement, self.replacement = self.replacement, None
        if not changed or not targets:
            return
        if replacement is not None:
            self.pending.extend((db_index, command, targets) for command in replacement)
        elif argv is not None:
            self.pending.append((db_index, argv, targets))

    def flush(self) -> None:
        """Send the pending unit to every sink (one command alone, several in MULTI/EXEC)."""
        pending = self.pending
        if not pending or self.in_transaction:
            return
        self.pending = []
        if self.to_replicas is not None:
            sent = [entry for entry in pending if entry[2] & REPLICAS]
            if sent:
                self.replicas_db, data = _encode_unit(sent, self.replicas_db)
                self.to_replicas(data)
        if self.to_aof is not None:
            recorded = [entry for entry in pending if entry[2] & AOF]
            if recorded:
                self.aof_db, data = _encode_unit(recorded, self.aof_db)
                self.to_aof(data)


def _encode_unit(pending: list[tuple[int, list[bytes], int]], stream_db: int) -> tuple[int, bytes]:
    """The bytes of one unit for a stream now in ``stream_db``, and the database it
    ends in: one command alone, several in MULTI ... EXEC. The SELECT goes before
    MULTI, as Redis writes it."""
    wrap = len(pending) > 1
    parts = []
    first_db = pending[0][0]
    if wrap:
        if first_db != stream_db:
            parts.append(encode_command([b"SELECT", b"%d" % first_db]))
            stream_db = first_db
        parts.append(MULTI)
    for db_index, argv, _targets in pending:
        if db_index != stream_db:
            parts.append(encode_command([b"SELECT", b"%d" % db_index]))
            stream_db = db_index
        parts.append(encode_command(argv))
    if wrap:
        parts.append(EXEC)
    return stream_db, b"".join(parts)


def propagate_as(client, *commands: list[bytes]) -> None:
    """For handlers: replicas and the AOF get ``commands`` instead of the command the
    client sent (see `Propagation.replace`)."""
    client.db.keyspace.propagation.replace(*commands)
