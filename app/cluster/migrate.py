"""MIGRATE's side of the wire: connections to other servers, kept for the next MIGRATE.

MIGRATE moves keys to another server (redis-cli --cluster reshard calls it for every
batch of keys of a slot): the source serializes each key as DUMP does and sends
RESTORE (RESTORE-ASKING in a cluster) to the target, pipelined, then deletes each key
the target acknowledged. Redis does all of it synchronously, its event loop stopped
until the target answers or the command's timeout passes; here the keyspace lock is
held the same way, so no client sees a key in between (gone here, not yet there).

Connections are cached by "host:port" (Redis' migrateGetSocket): at most 64, each
closed after 10 seconds unused, with the database last selected on it, so that a
reshard's thousands of MIGRATEs pay for one connect and one SELECT.

::

    source                                   target
      [AUTH [user] pass]         ------>
      [SELECT db]                ------>       (only when the cached one differs)
      RESTORE k1 ttl payload [REPLACE]  ---->
      RESTORE k2 ttl payload [REPLACE]  ---->
                                 <------     [+OK] [+OK] +OK +OK   (one line each)
      DEL k1 k2 (here, then to replicas and the AOF)
"""

from __future__ import annotations

import random
import socket
import time

# MIGRATE's options that take arguments, and how many (AUTH password, AUTH2 username
# password): what COMMAND GETKEYS steps over, and what the slow log and MONITOR redact.
CREDENTIAL_OPTIONS = {b"auth": 1, b"auth2": 2}
CACHE_SIZE = 64  # MIGRATE_SOCKET_CACHE_ITEMS
CACHE_TTL = 10  # MIGRATE_SOCKET_CACHE_TTL, seconds
LINE_LIMIT = 1024  # Redis reads each reply line into a 1024-byte buffer


class TargetIOError(Exception):
    """The target could not be written to, or did not answer in time. ``timed_out``
    says which: Redis retries once on a fresh connection unless it was a timeout."""

    def __init__(self, writing: bool, timed_out: bool):
        super().__init__("writing" if writing else "reading")
        self.writing = writing
        self.timed_out = timed_out


class CachedConnection:
    """A connection to a target, and what was selected on it (-1: nothing known)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.last_db = -1
        self.last_use = time.monotonic()
        self._buffer = b""

    def send(self, data: bytes, timeout: float) -> None:
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(data)
        except OSError as error:
            raise TargetIOError(writing=True, timed_out=isinstance(error, TimeoutError)) from None

    def read_line(self, timeout: float) -> bytes:
        """One reply line without its CRLF (Redis' syncReadLine, which keeps at most
        1023 bytes of it)."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TargetIOError(writing=False, timed_out=True)
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except OSError as error:
                raise TargetIOError(writing=False, timed_out=isinstance(error, TimeoutError)) from None
            if not data:
                raise TargetIOError(writing=False, timed_out=False)
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.removesuffix(b"\r")[:LINE_LIMIT - 1]

    def close(self) -> None:
        self.sock.close()


class MigrateConnections:
    """The cache of connections to MIGRATE's targets (INFO stats migrate_cached_sockets).
    Guarded by the keyspace lock, which MIGRATE holds."""

    def __init__(self):
        self._cached: dict[str, CachedConnection] = {}

    def __len__(self) -> int:
        self.close_idle()
        return len(self._cached)

    def get(self, host: str, port: int, timeout: float) -> CachedConnection | None:
        """The cached connection to ``host:port``, or a new one; None if it cannot be
        made within ``timeout`` seconds (`TargetIOError` if it is refused)."""
        self.close_idle()
        name = f"{host}:{port}"
        cached = self._cached.get(name)
        if cached is not None:
            cached.last_use = time.monotonic()
            return cached
        if len(self._cached) >= CACHE_SIZE:  # full: drop one at random, as Redis does
            self._cached.pop(random.choice(list(self._cached))).close()
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except ConnectionRefusedError:
            # Redis connects without blocking and waits for the socket to be writable,
            # which a refused one is: the error shows when it writes.
            raise TargetIOError(writing=True, timed_out=False) from None
        except (OSError, ValueError, OverflowError):
            return None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cached = self._cached[name] = CachedConnection(sock)
        return cached

    def close(self, host: str, port: int) -> None:
        cached = self._cached.pop(f"{host}:{port}", None)
        if cached is not None:
            cached.close()

    def close_idle(self) -> None:
        """Close what was not used for `CACHE_TTL` seconds (Redis' cron does it each
        second; here each use of the cache does, which no one can tell apart)."""
        now = time.monotonic()
        for name in [name for name, cached in self._cached.items() if now - cached.last_use > CACHE_TTL]:
            self._cached.pop(name).close()
