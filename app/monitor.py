"""MONITOR: every command the server runs, as a line of text, to the clients watching.

Redis feeds its monitors from ``call()``, after a command ran (replicationFeedMonitors):
the time, the database and the client's address, then each argument quoted::

    +1700000000.123456 [0 127.0.0.1:53122] "SET" "fruit" "mango"

The dispatcher calls `feed` for every command it runs (EXEC for each queued command,
then for EXEC itself), except commands flagged ``admin`` (CONFIG, CLIENT LIST...), and
only when someone monitors: with no monitor the cost is one test of an empty list.
A monitor gets its lines through its outbox (app/outbox.py), like a subscriber its
messages, so a slow monitor never delays the client whose command it watches.
Passwords never appear: they are redacted as in the slow log (`introspection.redacted`).
"""

from __future__ import annotations

import time

from app.introspection import redacted
from app.quoting import sds_repr

# Commands not shown after they ran: ``admin`` ones are too sensitive, and
# ``skip_monitor`` ones (EVAL, FCALL) are shown before, ahead of the commands they run.
UNMONITORED = frozenset({"admin", "skip_monitor"})


def line(client, argv: list[bytes], now: float, origin: str | None = None) -> bytes:
    """One MONITOR line, as RESP's simple string (it never holds CR or LF: they are escaped).
    ``origin`` replaces "<db> <address>" ("0 lua" for a command a script ran)."""
    if origin is None:
        origin = f"{client.db.index} {client.addr}"
    words = " ".join(sds_repr(arg) for arg in redacted(argv))
    return f"+{now:.6f} [{origin}] {words}\r\n".encode("utf-8", "surrogateescape")


def feed(server, client, argv: list[bytes], origin: str | None = None) -> None:
    """Send the command ``client`` just ran to every monitor (the keyspace lock is held)."""
    data = line(client, argv, time.time(), origin)
    for monitor in server.monitors:
        monitor.outbox.put(data, (0, 0, 0))  # the normal class: no limit, as Redis' monitors
