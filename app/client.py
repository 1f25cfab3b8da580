"""What the server knows about one connection, apart from its socket."""

from __future__ import annotations

import sys
import time
from operator import attrgetter
from typing import TYPE_CHECKING, Callable

from app.protocol import NO_REPLY, Push, Replies

if TYPE_CHECKING:
    from app.state import ServerState


def rare_state(name: str) -> property:
    """A property for one of the states that make a client or the server ``special``
    (see `Client.special`). Reading it reads the plain attribute ``_<name>``, through a
    C getter (no Python call); setting it, from any module, also recomputes the owner's
    ``special``, so that flag can never be stale."""
    private = "_" + name

    def set_value(owner, value) -> None:
        setattr(owner, private, value)
        # Most are set under the keyspace lock, but not all (`loading`, at start-up): if
        # another thread sets one meanwhile, the last flag stored must still be right,
        # so it is stored until it agrees with what it is computed from.
        while True:
            special = owner.in_rare_state()
            owner.special = special
            if owner.in_rare_state() == special:
                return

    return property(attrgetter(private), set_value)


class Client:
    """One connected client: its selected database, protocol version, name, flags.

    Commands receive the client as their first argument and reach the shared state
    through ``client.server``. The socket belongs to the connection thread
    (app/server.py); a client only holds ``close``, so that CLIENT KILL or SHUTDOWN can
    end it from another thread.

    ``special`` says whether the client is in any of the rare states below, each of
    which brings rules of its own to every command: not logged in, MULTI, subscribed,
    an outbox (pushes, a monitor's or a replica's feed), CLIENT REPLY OFF or SKIP,
    tracking, our master's link, NO-TOUCH, a monitor, a replica, ASKING (cluster mode).
    The dispatcher tests
    that one attribute instead of ten (app/dispatch.py); `rare_state` keeps it exact.
    """

    # Every attribute has a slot (set in __init__, whose comments say what each is for):
    # a slot is read at a fixed place in the object, where an object with more than 30
    # attributes keeps a dict that each read must search. The dispatcher reads a dozen of
    # them per command: 5-8% of a SET or GET in-process (bench/read_loop.py).
    # tests/test_slots.py checks that none is missing.
    __slots__ = (
        "_authenticated", "_replies_muted", "_is_master", "_no_touch", "_monitoring", "_asking", "_multi",
        "_outbox", "_tracking", "_replica", "_subscriptions", "server", "id", "addr", "laddr", "fd", "close",
        "db", "protocol", "name", "lib_name", "lib_ver", "user", "special", "created", "last_interaction",
        "last_command", "argv", "query_buffer", "input_bytes", "output_bytes", "no_evict", "readonly",
        "replica_port", "replica_ip", "replica_capa", "replica_rdb_only", "woff", "pending_invalidations",
        "reply_mode", "_skip_countdown", "close_after_reply", "multi_failed", "in_exec", "in_script",
        "watched", "dirty_cas", "blocked_ns", "waiter", "channels", "patterns", "shard_channels",
        "open_outbox", "__dict__"
    )

    authenticated = rare_state("authenticated")
    multi = rare_state("multi")
    subscriptions = rare_state("subscriptions")
    outbox = rare_state("outbox")
    replies_muted = rare_state("replies_muted")
    tracking = rare_state("tracking")
    is_master = rare_state("is_master")
    no_touch = rare_state("no_touch")
    monitoring = rare_state("monitoring")
    replica = rare_state("replica")
    asking = rare_state("asking")

    def __init__(self, server: ServerState, client_id: int, addr: str, laddr: str, fd: int, close: Callable[[], None]):
        # The rare states' own attributes, before the first of them is set below (each
        # setting reads them all).
        self._authenticated = self._replies_muted = self._is_master = self._no_touch = self._monitoring = False
        self._asking = False
        self._multi = self._outbox = self._tracking = self._replica = None
        self._subscriptions = 0
        self.server = server
        self.id = client_id
        self.addr = addr  # "ip:port" of the peer
        self.laddr = laddr  # "ip:port" of our end
        self.fd = fd
        self.close = close
        self.db = server.keyspace.databases[0]
        self.protocol = 2  # RESP version; HELLO 3 switches to RESP3
        self.name = b""
        self.lib_name = b""  # CLIENT SETINFO
        self.lib_ver = b""
        # Every connection starts as the default user (app/acl.py), logged in at once
        # only if that user is on and needs no password; AUTH and HELLO change both.
        self.user = server.users.default
        self.authenticated = self.user.logs_in_freely()
        self.created = time.monotonic()
        # The last read from it, on the keyspace's coarse clock (Unix seconds), as Redis
        # keeps it on its cached clock: a read costs no clock reading of its own.
        self.last_interaction = server.keyspace.clock
        self.last_command = "NULL"
        self.argv: list[bytes] = []  # the command running now, as received
        self.query_buffer = 0  # bytes received but not yet parsed, for CLIENT LIST
        self.input_bytes = 0  # read from and written to this client, for INFO
        self.output_bytes = 0
        self.no_evict = False
        # Cluster mode (app/cluster/routing.py): ASKING lets the next command use a slot
        # this node imports; READONLY lets a replica serve reads of its master's slots.
        self.asking = False
        self.readonly = False
        # Replication (app/replication/): a replica's link to its master runs the
        # master's commands as this flag says (no read-only refusal, nothing blocks,
        # expired keys left for the master's DEL); `replica` is set on a master for a
        # client that has become one of its replicas (PSYNC).
        self.is_master = False
        self.replica = None
        self.replica_port = 0  # REPLCONF listening-port, ip-address and capa, before PSYNC
        self.replica_ip: bytes | None = None
        self.replica_capa: set[bytes] = set()
        self.replica_rdb_only = False
        self.woff = 0  # the replication offset after this client's last command (WAIT)
        self.monitoring = False  # MONITOR (app/monitor.py): gets every command run, as text
        self.no_touch = False  # CLIENT NO-TOUCH: reads leave keys' access times alone
        # CLIENT TRACKING (app/tracking.py): the options while on (None: off), and the
        # invalidations of keys this client changed itself, sent after its reply.
        self.tracking = None
        self.pending_invalidations: list[bytes] = []
        # CLIENT REPLY: OFF silences every reply, SKIP the reply to the next command.
        self.reply_mode = b"ON"
        self.replies_muted = False  # checked for every command, so one flag for all modes
        self._skip_countdown = 0
        self.close_after_reply = False  # QUIT, or CLIENT KILL of ourselves
        # Transactions (app/commands/transactions.py): the queue while in MULTI (None
        # otherwise), whether a command was refused while queueing (EXEC then aborts),
        # the watched (db index, key) pairs, and whether one of them has changed.
        self.multi: list | None = None
        self.multi_failed = False
        self.in_exec = False  # running EXEC's queue: blocking commands do not block
        self.in_script = False  # a script of this client runs the command (app/scripting/run.py)
        self.watched: set[tuple[int, bytes]] = set()
        self.dirty_cas = False
        self.blocked_ns = 0  # how long the last blocking command waited (app/introspection.py)
        self.waiter = None  # the Waiter while blocked (BLPOP...), for CLIENT UNBLOCK
        # Pub/sub (app/pubsub.py): channels, patterns and shard channels subscribed to,
        # their total (non-zero is RESP2's subscribed mode), and the queue of messages
        # waiting to be written, made on the first subscription.
        self.channels: set[bytes] = set()
        self.patterns: set[bytes] = set()
        self.shard_channels: set[bytes] = set()
        self.subscriptions = 0
        self.outbox = None
        self.open_outbox: Callable | None = None  # makes this client's Outbox (app/server.py)

    def in_rare_state(self) -> bool:
        """Whether any of the rare states holds (what ``special`` says)."""
        return (not self._authenticated or self._multi is not None or self._subscriptions != 0
                or self._outbox is not None or self._replies_muted or self._tracking is not None or self._is_master
                or self._no_touch or self._monitoring or self._replica is not None or self._asking)

    def is_local(self) -> bool:
        """Connected over loopback: what ``enable-debug-command local`` and
        ``enable-module-command local`` allow (Redis: islocalClient)."""
        host = self.addr.rsplit(":", 1)[0]
        return host in ("127.0.0.1", "::1") or host.startswith("127.")

    def reset(self) -> None:
        """RESET: back to the state of a new connection (keeping its id and socket).
        Called with the keyspace lock held."""
        self.forget_state()
        self.db = self.server.keyspace.databases[0]
        self.protocol = 2
        self.name = b""
        self.user = self.server.users.default
        self.authenticated = self.user.logs_in_freely()
        self.no_evict = False
        self.no_touch = False
        self.asking = False
        self.readonly = False
        self.set_reply_mode(b"ON")

    def forget_state(self) -> None:
        """Leave MULTI, unwatch every key and unsubscribe from everything: what RESET and
        a closing connection do. Called with the keyspace lock held."""
        self.multi = None
        self.multi_failed = False
        self.dirty_cas = False
        if self.watched:
            self.server.keyspace.unwatch_all(self)
        if self.subscriptions:
            self.server.pubsub.unsubscribe_all(self)
        if self.replica is not None:
            self.server.replication.drop(self)
        if self.monitoring:
            self.monitoring = False
            self.server.monitors.remove(self)
        if self.tracking is not None:
            self.server.tracking.disable(self)

    def set_reply_mode(self, mode: bytes) -> None:
        """CLIENT REPLY ON, OFF or SKIP (the reply to the next command only)."""
        self.reply_mode = mode
        # SKIP mutes the reply of CLIENT REPLY SKIP itself and of the command after it.
        self._skip_countdown = 2 if mode == b"SKIP" else 0
        self.replies_muted = mode != b"ON"

    def mute(self, reply):
        """The reply to send while muted: nothing, until OFF is lifted or SKIP is spent.

        But for (un)subscribe confirmations: like messages, they are pushed, and Redis
        sends what it pushes whatever the reply mode (its CLIENT_PUSHING flag), in RESP2
        as in RESP3, or a client waiting for them would wait forever."""
        if self.reply_mode == b"SKIP":
            self._skip_countdown -= 1
            if self._skip_countdown == 0:
                self.set_reply_mode(b"ON")
        if reply.__class__ is Replies and reply and reply[0].__class__ is Push:
            return reply
        return NO_REPLY

    def flags(self) -> str:
        """The ``flags=`` field of CLIENT LIST, in Redis' order: O a monitor, S a replica
        of ours, M our master, P subscribed, x in MULTI,
        b blocked, d a watched key changed, e no-evict; N for none of them."""
        flags = ""
        if self.monitoring:
            flags += "O"
        elif self.replica is not None:
            flags += "S"
        if self.is_master:
            flags += "M"
        if self.subscriptions:
            flags += "P"
        if self.multi is not None:
            flags += "x"
        if self.waiter is not None:
            flags += "b"
        if self.dirty_cas:
            flags += "d"
        if self.no_evict:
            flags += "e"
        if self.no_touch:
            flags += "T"
        return flags or "N"

    def memory(self) -> dict[str, int]:
        """The memory fields of CLIENT LIST, from our own objects: the arguments of the
        command running or blocked now, the commands queued in MULTI, the replies
        waiting in the outbox; ``tot-mem`` adds the client object itself. Replies to a
        normal client are sent by its own thread as each read is done, so they are not
        held anywhere another client could see them (``obl`` stays 0: we have no fixed
        reply buffer, nor a free part of a query buffer for ``qbuf-free``)."""
        running = self.waiter is not None or self.server.current_client is self
        argv_mem = sum(map(sys.getsizeof, self.argv)) if running else 0
        multi_mem = 0
        if self.multi is not None:
            multi_mem = sum(sys.getsizeof(argv) + sum(map(sys.getsizeof, argv)) for _entry, argv, _start in self.multi)
        outbox = self.outbox
        omem = 0 if outbox is None else outbox.size
        own = sys.getsizeof(self)  # its slots included
        return {"argv-mem": argv_mem, "multi-mem": multi_mem, "oll": 0 if outbox is None else outbox.chunks(),
                "omem": omem, "tot-mem": own + self.query_buffer + argv_mem + multi_mem + omem}

    def info_line(self) -> str:
        """One line of CLIENT LIST / CLIENT INFO."""
        now = time.monotonic()
        memory = self.memory()
        fields = [
            ("id", self.id),
            ("addr", self.addr),
            ("laddr", self.laddr),
            ("fd", self.fd),
            ("name", self.name.decode("utf-8", "surrogateescape")),
            ("age", int(now - self.created)),
            ("idle", self.server.keyspace.clock - self.last_interaction),
            ("flags", self.flags()),
            ("db", self.db.index),
            ("sub", len(self.channels)),
            ("psub", len(self.patterns)),
            ("ssub", len(self.shard_channels)),
            ("multi", -1 if self.multi is None else len(self.multi)),
            ("watch", len(self.watched)),
            ("qbuf", self.query_buffer),
            ("qbuf-free", 0),
            ("argv-mem", memory["argv-mem"]),
            ("multi-mem", memory["multi-mem"]),
            ("rbs", 0),
            ("rbp", 0),
            ("obl", 0),
            ("oll", memory["oll"]),
            ("omem", memory["omem"]),
            ("tot-mem", memory["tot-mem"]),
            ("events", "rw" if memory["omem"] else "r"),
            ("cmd", self.last_command),
            ("user", self.user.name.decode("utf-8", "surrogateescape")),
            ("redir", -1 if self.tracking is None else self.tracking.redirect),
            ("resp", self.protocol),
            ("lib-name", self.lib_name.decode("utf-8", "surrogateescape")),
            ("lib-ver", self.lib_ver.decode("utf-8", "surrogateescape")),
        ]
        return " ".join(f"{key}={value}" for key, value in fields)
