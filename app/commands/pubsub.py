"""Pub/sub commands: SUBSCRIBE and its relatives, PUBLISH, SPUBLISH and PUBSUB.

The subscriptions themselves live in app/pubsub.py. A (un)subscribe command answers
once per channel, each answer carrying how many subscriptions the client has after that
one, so these handlers return `Replies`, several replies in a row. In RESP2 they are
arrays and the client is in subscribed mode while it has any subscription (the
dispatcher then refuses most commands); in RESP3 they are push frames and nothing is
refused.
"""

from __future__ import annotations

from app.commands.registry import KeySpec, command, container
from app.glob import compile_glob
from app.protocol import Push, ReplyError, Replies


def _pubsub(name: str, **kwargs):
    return command(name, group="pubsub", **kwargs)


def _count(client) -> int:
    """Channels plus patterns: what (P)(UN)SUBSCRIBE replies count."""
    return len(client.channels) + len(client.patterns)


def _shard_count(client) -> int:
    return len(client.shard_channels)


def _subscribe_each(client, kind: bytes, names: tuple[bytes, ...], add, count) -> Replies:
    """Subscribe to each name in turn, answering with the count after each one."""
    replies = Replies()
    for name in names:
        add(client, name)
        replies.append(Push([kind, name, count(client)]))
    return replies


def _unsubscribe_each(client, kind: bytes, names: tuple[bytes, ...], current: set, remove, count) -> Replies:
    """Unsubscribe from each name (all of them if none is given); with nothing to
    unsubscribe from, still answer once, with a null name."""
    names = names or tuple(current)
    if not names:
        return Replies([Push([kind, None, count(client)])])
    replies = Replies()
    for name in names:
        remove(client, name)
        replies.append(Push([kind, name, count(client)]))
    return replies


_SUBSCRIBE_FLAGS = "pubsub noscript loading stale"
_SHARD_KEYS = [KeySpec(1, "not_key", last=-1)]


@_pubsub("subscribe", arity=-2, flags=_SUBSCRIBE_FLAGS, since="2.0.0",
         summary="Listen for messages published to the given channels",
         complexity="O(N) where N is the number of channels to subscribe to.")
def subscribe(client, *channels: bytes):
    return _subscribe_each(client, b"subscribe", channels, client.server.pubsub.subscribe, _count)


@_pubsub("unsubscribe", arity=-1, flags=_SUBSCRIBE_FLAGS, since="2.0.0",
         summary="Stop listening for messages posted to the given channels",
         complexity="O(N) where N is the number of clients already subscribed to a channel.")
def unsubscribe(client, *channels: bytes):
    return _unsubscribe_each(client, b"unsubscribe", channels, client.channels,
                             client.server.pubsub.unsubscribe, _count)


@_pubsub("psubscribe", arity=-2, flags=_SUBSCRIBE_FLAGS, since="2.0.0",
         summary="Listen for messages published to channels matching the given patterns",
         complexity="O(N) where N is the number of patterns the client is already subscribed to.")
def psubscribe(client, *patterns: bytes):
    return _subscribe_each(client, b"psubscribe", patterns, client.server.pubsub.psubscribe, _count)


@_pubsub("punsubscribe", arity=-1, flags=_SUBSCRIBE_FLAGS, since="2.0.0",
         summary="Stop listening for messages posted to channels matching the given patterns",
         complexity="O(N+M) where N is the number of patterns the client is already subscribed and M is the "
                    "number of total patterns subscribed in the system (by any client).")
def punsubscribe(client, *patterns: bytes):
    return _unsubscribe_each(client, b"punsubscribe", patterns, client.patterns,
                             client.server.pubsub.punsubscribe, _count)


@_pubsub("ssubscribe", arity=-2, flags=_SUBSCRIBE_FLAGS, keys=_SHARD_KEYS, since="7.0.0",
         summary="Listen for messages published to the given shard channels",
         complexity="O(N) where N is the number of shard channels to subscribe to.")
def ssubscribe(client, *channels: bytes):
    if client.in_exec:  # unlike (P)SUBSCRIBE, Redis 7.0 spares it no backward compatibility
        raise ReplyError("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
    return _subscribe_each(client, b"ssubscribe", channels, client.server.pubsub.ssubscribe, _shard_count)


@_pubsub("sunsubscribe", arity=-1, flags=_SUBSCRIBE_FLAGS, keys=_SHARD_KEYS, since="7.0.0",
         summary="Stop listening for messages posted to the given shard channels",
         complexity="O(N) where N is the number of clients already subscribed to a shard channel.")
def sunsubscribe(client, *channels: bytes):
    return _unsubscribe_each(client, b"sunsubscribe", channels, client.shard_channels,
                             client.server.pubsub.sunsubscribe, _shard_count)


@_pubsub("publish", arity=3, flags="pubsub loading stale fast", since="2.0.0",
         summary="Post a message to a channel",
         complexity="O(N+M) where N is the number of clients subscribed to the receiving channel and M is the "
                    "total number of subscribed patterns (by any client).")
def publish(client, channel: bytes, message: bytes):
    server = client.server
    if server.cluster is not None:
        server.cluster.propagate_publish(channel, message)  # every node of the cluster, over the bus
    else:
        # Replicas publish it to their own subscribers too; the AOF does not keep it.
        server.keyspace.propagation.to_replicas_only(client.db.index, client.argv)
    return server.pubsub.publish(channel, message)


@_pubsub("spublish", arity=3, flags="pubsub loading stale fast", keys=[KeySpec(1, "not_key")], since="7.0.0",
         summary="Post a message to a shard channel",
         complexity="O(N) where N is the number of clients subscribed to the receiving shard channel.")
def spublish(client, channel: bytes, message: bytes):
    server = client.server
    if server.cluster is not None:
        server.cluster.propagate_publish_shard(channel, message)  # the other nodes of this shard
    else:
        server.keyspace.propagation.to_replicas_only(client.db.index, client.argv)
    return server.pubsub.spublish(channel, message)


# --------------------------------------------------------------------------- PUBSUB

container("pubsub", group="pubsub", since="2.8.0", summary="A container for Pub/Sub commands")


def _introspect(name: str, **kwargs):
    return command(name, parent="pubsub", group="pubsub", flags=kwargs.pop("flags", "pubsub loading stale"), **kwargs)


def _matching(names, args: tuple[bytes, ...], subcommand: str) -> list[bytes]:
    if len(args) > 1:
        raise ReplyError(f"ERR unknown subcommand or wrong number of arguments for '{subcommand}'. Try PUBSUB HELP.")
    if not args:
        return list(names)
    glob = compile_glob(args[0])
    return [name for name in names if glob.match(name)]


@_introspect("channels", arity=-2, since="2.8.0", summary="List active channels",
             complexity="O(N) where N is the number of active channels, and assuming constant time pattern "
                        "matching (relatively short channels and patterns)")
def pubsub_channels(client, *pattern: bytes):
    return _matching(client.server.pubsub.channels, pattern, "CHANNELS")


@_introspect("shardchannels", arity=-2, since="7.0.0", summary="List active shard channels",
             complexity="O(N) where N is the number of active shard channels, and assuming constant time pattern "
                        "matching (relatively short shard channels).")
def pubsub_shardchannels(client, *pattern: bytes):
    return _matching(client.server.pubsub.shard_channels, pattern, "SHARDCHANNELS")


@_introspect("numsub", arity=-2, since="2.8.0", summary="Get the count of subscribers for channels",
             complexity="O(N) for the NUMSUB subcommand, where N is the number of requested channels")
def pubsub_numsub(client, *channels: bytes):
    registry = client.server.pubsub.channels
    return [item for channel in channels for item in (channel, len(registry.get(channel, ())))]


@_introspect("shardnumsub", arity=-2, since="7.0.0", summary="Get the count of subscribers for shard channels",
             complexity="O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels")
def pubsub_shardnumsub(client, *channels: bytes):
    registry = client.server.pubsub.shard_channels
    return [item for channel in channels for item in (channel, len(registry.get(channel, ())))]


@_introspect("numpat", arity=2, since="2.8.0", summary="Get the count of unique patterns pattern subscriptions")
def pubsub_numpat(client):
    return len(client.server.pubsub.patterns)


@_introspect("help", arity=2, flags="loading stale", since="6.2.0",
             summary="Show helpful text about the different subcommands")
def pubsub_help(client):
    return [
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    ]

