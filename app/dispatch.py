"""From a parsed command to its reply: the one place every command passes through.

Like Redis' ``processCommand``, `execute` applies the rules that hold for every
command, from the declarations in the command table, before calling the handler:

1. look the command up (and its subcommand, for containers such as CONFIG);
2. check the number of arguments against its arity;
3. refuse it with NOAUTH if the client must authenticate first and the command is not
   flagged ``no_auth``;
4. run the handler holding the keyspace lock, turning a raised `ReplyError` into the
   reply (and any other exception, which would be a bug, into an error reply and a
   log entry rather than a dead connection);
5. serve the clients blocked on keys the command made ready, before anyone else runs
   (app/store/blocking.py), and count the call for INFO commandstats and errorstats;
6. drop the reply if the client asked for silence with CLIENT REPLY OFF or SKIP
   (`Client.mute`).

Later features hook in here, in the same generic way: MULTI queues instead of running,
subscribed mode and replica read-only mode refuse by flag, and writes are propagated to
replicas and the append-only file after step 4.
"""

from __future__ import annotations

import traceback
from time import perf_counter_ns

from app import log
from app.client import Client
from app.commands import COMMANDS
from app.commands.arguments import c_string
from app.commands.registry import Command
from app.protocol import ReplyError

NOAUTH = ReplyError("NOAUTH Authentication required.")


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


def execute(client: Client, argv: list[bytes]):
    """Run one command for ``client`` and return its reply value."""
    entry, start, refusal = lookup(argv)
    if refusal is None and not client.authenticated and not entry.no_auth:
        refusal = NOAUTH
    server = client.server
    with server.keyspace.lock:
        if refusal is not None:
            if entry is not None:
                entry.stats.rejected_calls += 1
            reply = refusal
        else:
            client.last_command = entry.name
            server.commands_processed += 1
            started = perf_counter_ns()
            try:
                reply = entry.handler(client, *argv[start:])
            except ReplyError as error:
                reply = error
            except Exception as error:  # a bug of ours: say so, log it, keep serving
                log.warning(f"Internal error running '{entry.name}':\n{traceback.format_exc()}")
                reply = ReplyError(f"ERR internal error running '{entry.name}': {error!r}")
            entry.stats.record(perf_counter_ns() - started, reply.__class__ is ReplyError)
            blocked = server.keyspace.blocked
            if blocked.ready:  # the command fed keys that clients are blocked on
                blocked.serve_ready()
        if reply.__class__ is ReplyError:
            server.count_error(reply)
    if client.replies_muted:  # CLIENT REPLY OFF or SKIP
        reply = client.mute(reply)
    return reply
