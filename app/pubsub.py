"""Pub/sub: who is subscribed to what, and delivering a published message to them.

Three kinds of subscription, as in Redis 7: channels (SUBSCRIBE), glob patterns over
channel names (PSUBSCRIBE) and shard channels (SSUBSCRIBE; one shard here, since there
is no cluster). `PubSub` maps each to its subscribers, in the order they subscribed,
and each `Client` keeps the reverse (``client.channels``...), so that a client leaving
costs only its own subscriptions. A client's first subscription gives it an outbox.

Every method runs with the keyspace lock held, like a command. Delivering never writes
to a socket: the message is encoded once per protocol version (an array in RESP2, a push
frame in RESP3) and appended to each subscriber's `Outbox` (app/outbox.py), which the
outbox writer thread writes out. A subscriber whose queue passes the ``pubsub`` output limit is
disconnected, as Redis does, and the publisher never waits for anyone.
"""

from __future__ import annotations

from app import log
from app.glob import compile_glob
from app.protocol import ENCODERS, Push
from app.store.events import KEYEVENT, KEYSPACE


class PubSub:
    def __init__(self, server):
        self.server = server
        # name -> {client: None}: a dict is an insertion-ordered set.
        self.channels: dict[bytes, dict] = {}
        self.patterns: dict[bytes, dict] = {}
        self.shard_channels: dict[bytes, dict] = {}
        self._globs: dict[bytes, object] = {}  # pattern -> its compiled glob

    # --- subscribing (each returns whether the subscription is new)

    def subscribe(self, client, channel: bytes) -> bool:
        return self._add(client, client.channels, self.channels, channel)

    def psubscribe(self, client, pattern: bytes) -> bool:
        added = self._add(client, client.patterns, self.patterns, pattern)
        if added and pattern not in self._globs:
            self._globs[pattern] = compile_glob(pattern)
        return added

    def ssubscribe(self, client, channel: bytes) -> bool:
        return self._add(client, client.shard_channels, self.shard_channels, channel)

    def unsubscribe(self, client, channel: bytes) -> bool:
        return self._remove(client, client.channels, self.channels, channel)

    def punsubscribe(self, client, pattern: bytes) -> bool:
        removed = self._remove(client, client.patterns, self.patterns, pattern)
        if removed and pattern not in self.patterns:
            del self._globs[pattern]
        return removed

    def sunsubscribe(self, client, channel: bytes) -> bool:
        return self._remove(client, client.shard_channels, self.shard_channels, channel)

    def unsubscribe_all(self, client) -> None:
        """Drop every subscription of a client (RESET, or its connection closing)."""
        for channel in list(client.channels):
            self.unsubscribe(client, channel)
        for pattern in list(client.patterns):
            self.punsubscribe(client, pattern)
        for channel in list(client.shard_channels):
            self.sunsubscribe(client, channel)

    def _add(self, client, own: set, registry: dict, name: bytes) -> bool:
        if name in own:
            return False
        if client.outbox is None:
            client.outbox = client.open_outbox()  # from now on everything for it is queued
        own.add(name)
        registry.setdefault(name, {})[client] = None
        client.subscriptions += 1
        return True

    def _remove(self, client, own: set, registry: dict, name: bytes) -> bool:
        if name not in own:
            return False
        own.discard(name)
        subscribers = registry[name]
        del subscribers[client]
        if not subscribers:
            del registry[name]
        client.subscriptions -= 1
        return True

    # --- publishing

    def publish(self, channel: bytes, message: bytes) -> int:
        """Deliver to the channel's subscribers, then to matching patterns'; return how
        many deliveries were made (a client reached twice counts twice, as in Redis)."""
        receivers = 0
        subscribers = self.channels.get(channel)
        if subscribers:
            receivers += self._deliver(subscribers, [b"message", channel, message])
        if self.patterns:
            for pattern, clients in list(self.patterns.items()):
                glob = self._globs.get(pattern)  # gone if a slow subscriber was just dropped
                if glob is not None and glob.match(channel):
                    receivers += self._deliver(clients, [b"pmessage", pattern, channel, message])
        return receivers

    def spublish(self, channel: bytes, message: bytes) -> int:
        subscribers = self.shard_channels.get(channel)
        return self._deliver(subscribers, [b"smessage", channel, message]) if subscribers else 0

    def publish_event(self, db: int, event: str, key: bytes) -> None:
        """A keyspace notification (app/store/events.py), on the channels its flags ask for."""
        flags = self.server.keyspace.notify_flags
        name = event.encode()
        if flags & KEYSPACE:
            self.publish(b"__keyspace@%d__:%s" % (db, key), name)
        if flags & KEYEVENT:
            self.publish(b"__keyevent@%d__:%s" % (db, name), key)

    def _deliver(self, clients: dict, message: list) -> int:
        encoded = {}  # protocol version -> bytes: each encoding made once, then shared
        limits = self.server.config["client-output-buffer-limit"]["pubsub"]
        count = 0
        for client in list(clients):
            data = encoded.get(client.protocol)
            if data is None:
                data = encoded[client.protocol] = ENCODERS[client.protocol].encode(Push(message))
            if not client.outbox.put(data, limits):
                self.disconnect_slow(client)
            count += 1
        return count

    def disconnect_slow(self, client) -> None:
        """Close a client whose queue passed its output limit (its messages are dropped).

        Once only: an outbox already closed (this client is being disconnected, or its
        peer is gone) refuses every later put, and each would land here again."""
        if client.outbox.closed:
            return
        log.warning(
            f"Client id={client.id} addr={client.addr} scheduled to be closed ASAP for overcoming of "
            "output buffer limits."
        )
        client.outbox.close()
        self.unsubscribe_all(client)  # it gets nothing more while its thread winds down
        client.close()

