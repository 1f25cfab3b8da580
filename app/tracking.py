"""Client-side caching: CLIENT TRACKING, and the invalidation messages it asks for.

A client that turns tracking on may keep the values it reads in a cache of its own; the
server promises to tell it when one of those keys changes, so the cache never serves a
stale value. Redis 7 has two modes (tracking.c):

* default: the server remembers which keys each tracking client read (the key names
  only, in every database), and when one changes it tells those clients, once: the
  key is forgotten until they read it again;
* BCAST: the client names key prefixes instead, and hears about every change to a key
  with one of them, read or not.

The message is ``invalidate`` with the keys (a null for "everything": FLUSHALL,
FLUSHDB), sent as a RESP3 push to the client itself, or, with ``REDIRECT <id>``, to
another connection, which in RESP2 receives it as a pub/sub message on the channel
``__redis__:invalidate``. NOLOOP spares a client the news of its own writes; OPTIN and
OPTOUT make tracking depend on CLIENT CACHING YES/NO sent before the read.

The keyspace calls `Tracking.invalidate` for every changed key, but only while some
client tracks (``Keyspace.tracking_active``): otherwise a write pays one attribute
test. The dispatcher calls `remember` after a read command of a tracking client. All of
it runs under the keyspace lock. Messages reach clients through their outboxes, like
pub/sub messages (app/outbox.py); the client that made the change hears about it after
its own reply, as in Redis 7.
"""

from __future__ import annotations

from app.protocol import ENCODERS, Push

CHANNEL = b"__redis__:invalidate"


# Read-only commands that track nothing themselves: their scripts' reads do (`remember`).
_SCRIPTS_READ_ONLY = frozenset({"eval_ro", "evalsha_ro", "fcall_ro"})

class ClientTracking:
    """One client's tracking options (CLIENT TRACKING ... and CLIENT CACHING)."""

    __slots__ = ("redirect", "bcast", "prefixes", "optin", "optout", "noloop", "caching")

    def __init__(self, redirect: int, bcast: bool, prefixes: list[bytes], optin: bool, optout: bool, noloop: bool):
        self.redirect = redirect  # 0: the client itself
        self.bcast = bcast
        self.prefixes = prefixes
        self.optin = optin
        self.optout = optout
        self.noloop = noloop
        self.caching: bool | None = None  # CLIENT CACHING YES/NO for the next command only

    def wants(self) -> bool:
        """Whether the keys of the command running now are to be remembered."""
        if self.bcast:
            return False
        if self.optin:
            return self.caching is True
        if self.optout:
            return self.caching is not False
        return True


class Tracking:
    """Who tracks which keys (default mode) and which prefixes (BCAST mode)."""

    def __init__(self, server):
        self.server = server
        self.keys: dict[bytes, set[int]] = {}  # key -> ids of the clients that read it
        self.prefixes: dict[bytes, set[int]] = {}  # prefix -> ids of BCAST clients
        self.clients: set[int] = set()  # ids of every client with tracking on

    def enable(self, client, options: ClientTracking) -> None:
        client.tracking = options
        self.clients.add(client.id)
        for prefix in options.prefixes:
            self.prefixes.setdefault(prefix, set()).add(client.id)
        if client.outbox is None and client.open_outbox is not None:
            client.outbox = client.open_outbox()  # pushes arrive between replies
        self.server.keyspace.tracking_active = True

    def disable(self, client) -> None:
        options = client.tracking
        if options is None:
            return
        client.tracking = None
        self.clients.discard(client.id)
        for prefix in options.prefixes:
            holders = self.prefixes.get(prefix)
            if holders is not None:
                holders.discard(client.id)
                if not holders:
                    del self.prefixes[prefix]
        # Keys it read stay in the table until they change: Redis forgets them lazily too.
        self.server.keyspace.tracking_active = bool(self.clients)

    def remember(self, client, entry, argv: list[bytes], reader=None) -> None:
        """A command of a tracking client ran (on its own or in EXEC): if it read keys
        and the client's mode wants them, it hears when they change.

        A script's reads count as Redis counts them: a read-only command the script
        runs (``reader``) makes the client track the keys its EVAL or FCALL named,
        whatever the script read; EVAL_RO and FCALL_RO themselves track nothing."""
        if reader is None and ("readonly" not in entry.flags or entry.name in _SCRIPTS_READ_ONLY):
            return
        if reader is not None and "readonly" not in reader.flags or not client.tracking.wants():
            return
        from app.commands.keyspecs import keys_of  # the command modules import this one

        for key, _flags in keys_of(entry, argv):
            self.keys.setdefault(key, set()).add(client.id)

    # --- invalidation

    def invalidate(self, key: bytes) -> None:
        """``key`` changed: tell every client that read it, and every BCAST client
        with a prefix of it."""
        server = self.server
        author = server.current_client
        readers = self.keys.pop(key, ())
        for client_id in readers:
            self._tell(server.clients.get(client_id), [key], author)
        if self.prefixes:
            for prefix, holders in self.prefixes.items():
                if key.startswith(prefix):
                    for client_id in holders:
                        self._tell(server.clients.get(client_id), [key], author)

    def invalidate_all(self) -> None:
        """FLUSHDB and FLUSHALL: every tracking client drops its whole cache."""
        self.keys = {}
        author = self.server.current_client
        for client_id in list(self.clients):
            self._tell(self.server.clients.get(client_id), None, author)

    def _tell(self, client, keys: list[bytes] | None, author) -> None:
        if client is None or client.tracking is None:
            return
        options = client.tracking
        if options.noloop and client is author:
            return
        target = client
        if options.redirect:
            target = self.server.clients.get(options.redirect)
            if target is None:
                return  # the redirect went away ("broken_redirect")
        if target.protocol >= 3:
            message = Push([b"invalidate", keys])
        elif options.redirect and CHANNEL in target.channels:
            message = [b"message", CHANNEL, keys]
        else:
            return  # RESP2 without a redirect: no way to tell it, as in Redis
        data = ENCODERS[target.protocol].encode(message)
        if target is author:
            target.pending_invalidations.append(data)  # after its own reply
        elif target.outbox is not None:
            target.outbox.put(data, self.server.config["client-output-buffer-limit"]["normal"])
