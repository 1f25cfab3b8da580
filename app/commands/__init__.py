"""Commands, one module per Redis command group; importing them fills the table."""

from app.commands import acl, bitmap, cluster, connection, debug, generic, geo, hash, hyperloglog, introspection, list, lolwut, module, pubsub, replication, scripting, server, set, sorted_set, stream, string, transactions  # noqa: F401  (registration)
from app.commands.registry import COMMANDS

__all__ = ["COMMANDS"]
