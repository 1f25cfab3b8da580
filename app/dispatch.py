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
   (app/store/blocking.py);
6. drop the reply if the client asked for silence with CLIENT REPLY OFF or SKIP
   (`Client.mute`).

Later features hook in here, in the same generic way: MULTI queues instead of running,
subscribed mode and replica read-only mode refuse by flag, and writes are propagated to
replicas and the append-only file after step 4.
"""

from __future__ import annotations

import traceback

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


def lookup(argv: list[bytes]) -> tuple[Command | ReplyError, int]:
    """Find the command (or subcommand) for ``argv``; return it and where its arguments start."""
    entry = COMMANDS.get(argv[0].lower())
    if entry is None:
        return ReplyError(
            f"ERR unknown command '{_text(argv[0])}', with args beginning with: {_quoted_args(argv[1:])}"
        ), 0
    if entry.subcommands and len(argv) >= 2:
        sub = entry.subcommands.get(argv[1].lower())
        if sub is None:
            return ReplyError(
                f"ERR unknown subcommand '{_text(argv[1])}'. Try {_text(argv[0]).upper()} HELP."
            ), 0
        entry, start = sub, 2
    else:
        start = 1
    arity = entry.arity
    if (arity > 0 and len(argv) != arity) or len(argv) < -arity:
        return ReplyError(f"ERR wrong number of arguments for '{entry.name}' command"), 0
    return entry, start


def execute(client: Client, argv: list[bytes]):
    """Run one command for ``client`` and return its reply value."""
    entry, start = lookup(argv)
    if entry.__class__ is ReplyError:
        reply = entry
    elif not client.authenticated and not entry.no_auth:
        reply = NOAUTH
    else:
        server = client.server
        client.last_command = entry.name
        with server.keyspace.lock:
            server.commands_processed += 1
            try:
                reply = entry.handler(client, *argv[start:])
            except ReplyError as error:
                reply = error
            except Exception as error:  # a bug of ours: say so, log it, keep serving
                log.warning(f"Internal error running '{entry.name}':\n{traceback.format_exc()}")
                reply = ReplyError(f"ERR internal error running '{entry.name}': {error!r}")
            blocked = server.keyspace.blocked
            if blocked.ready:  # the command fed keys that clients are blocked on
                blocked.serve_ready()
    if client.replies_muted:  # CLIENT REPLY OFF or SKIP
        reply = client.mute(reply)
    return reply
