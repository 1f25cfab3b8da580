"""The state shared by every connection: what Redis keeps in its global ``server``."""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import threading
import time

from app import acl, log
from app.acl import Users
from app.client import Client, rare_state
from app.cluster.migrate import MigrateConnections
from app.config import Config
from app.eviction import Eviction
from app.introspection import NEVER, Introspection
from app.outbox import OutboxWriter
from app.persistence.aof_file import AppendOnlyFile
from app.persistence.snapshots import Snapshots
from app.protocol import ReplyError
from app.pubsub import PubSub
from app.tracking import Tracking
from app.replication.backlog import MIN_SIZE as backlog_min_size
from app.replication.master import Replication, new_replication_id
from app.scripting.busy import BusyScript
from app.scripting.engine import Scripting
from app.scripting.functions import Functions
from app.store.keyspace import Keyspace

READONLY = ReplyError("READONLY You can't write against a read only replica.")
MISCONF_RDB = ReplyError(
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. "
    "Commands that may modify the data set are disabled, because this instance is configured to report errors "
    "during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs "
    "for details about the RDB error."
)
NOREPLICAS = ReplyError("NOREPLICAS Not enough good replicas to write.")

REDIS_VERSION = "7.0.15"  # the Redis release whose behaviour we reproduce


class ServerState:
    """Configuration, keyspace, connected clients and statistics.

    The client registry and the counters are guarded by the keyspace lock like
    everything else that commands touch.

    ``special`` says whether the server is in any of the rare states below, each of
    which brings rules of its own to every command: writes refused (MISCONF, READONLY,
    NOREPLICAS), a replica that must not serve stale data, loading, a busy script,
    CLIENT PAUSE, maxmemory set. The dispatcher tests that one attribute instead of six,
    as it does `Client.special` (app/client.py), which `rare_state` keeps exact.
    """

    # A slot for every attribute, as `Client` has, for the same reason: the dispatcher
    # reads several per command (tests/test_slots.py checks that none is missing).
    __slots__ = (
        "_write_refusal", "_busy_script", "_refuses_stale", "_loading", "_pause_end", "_maxmemory", "config",
        "config_file", "keyspace", "pubsub", "users", "_outbox_writer", "_writer_lock", "snapshots", "aof",
        "started", "run_id", "executable", "clients", "monitors", "listeners", "tracking", "current_client",
        "scripting", "functions", "migrate_connections", "cluster", "busy", "special", "pause_all", "pauses",
        "unpaused", "_client_ids", "shutdown_requested", "shutdown_signalled", "replication", "introspection",
        "eviction", "slow_call_ns", "closed_input_bytes", "closed_output_bytes", "connections_received",
        "commands_processed", "rejected_connections", "net_bytes_at_reset", "error_replies", "idle_timeout",
        "max_bulk_len", "query_buffer_limit", "output_limit", "__dict__"
    )

    write_refusal = rare_state("write_refusal")
    refuses_stale = rare_state("refuses_stale")
    loading = rare_state("loading")
    busy_script = rare_state("busy_script")
    pause_end = rare_state("pause_end")
    maxmemory = rare_state("maxmemory")

    def __init__(self, config: Config, config_file: str = ""):
        # The rare states' own attributes, before the first of them is set below (each
        # setting reads them all).
        self._write_refusal = self._busy_script = None
        self._refuses_stale = self._loading = False
        self._pause_end = 0.0
        self._maxmemory = 0
        self.config = config
        self.config_file = config_file
        self.keyspace = Keyspace(config["databases"])
        self.pubsub = PubSub(self)
        self.users = Users()  # ACL users (app/acl.py); requirepass reaches them in apply_config
        self._outbox_writer: OutboxWriter | None = None
        self._writer_lock = threading.Lock()
        self.keyspace.publish_event = self.pubsub.publish_event
        self.snapshots = Snapshots(self.keyspace, config, self.update_write_refusal)  # SAVE, BGSAVE, LASTSAVE
        self.aof = AppendOnlyFile(self)  # loaded or created by main.py, then fed by propagation
        self.started = time.time()
        self.run_id = new_replication_id()
        self.executable = os.path.abspath(sys.argv[0]) if sys.argv else ""
        self.clients: dict[int, Client] = {}
        self.monitors: list[Client] = []  # clients that sent MONITOR (app/monitor.py)
        self.listeners: list = []  # the listening sockets (app/server.py), set by main
        self.tracking = Tracking(self)  # CLIENT TRACKING (app/tracking.py)
        self.keyspace.tracking = self.tracking
        self.current_client: Client | None = None  # whose command runs now (NOLOOP)
        self.scripting = Scripting(self)  # EVAL's scripts (app/scripting/), Lua loaded on first use
        self.functions = Functions(self)  # FUNCTION LOAD's libraries, part of the dataset
        self.migrate_connections = MigrateConnections()  # MIGRATE's targets (app/cluster/migrate.py)
        self.cluster = None  # cluster mode's state (app/cluster/state.py), set by app/main.py
        self.snapshots.functions = self.functions  # SAVE and BGSAVE write the libraries too
        self.busy = BusyScript(self)
        self.busy_script = None  # the script past busy-reply-threshold: others hear BUSY
        # CLIENT PAUSE: until when (monotonic seconds; 0 when not paused), and whether
        # every command is held or only writes. Held clients wait on `unpaused`.
        # Each purpose ("client", "failover") keeps its own pause in `pauses`; these
        # two say the one in force.
        self.pause_end = 0.0
        self.pause_all = False
        self.pauses: dict[str, tuple[float, bool]] = {}
        self.unpaused = threading.Condition(self.keyspace.lock)
        self._client_ids = itertools.count(1)
        self.shutdown_requested = threading.Event()  # set as the process ends: crons stop
        self.shutdown_signalled = threading.Event()  # SIGTERM or SIGINT: the main thread shuts down
        self.loading = False  # the dataset is loading: commands not flagged `loading` are refused
        # Replication (app/replication/): ID, offset, backlog, replicas, and the link to
        # our master when we are a replica (started by `start_replication`).
        self.replication = Replication(self)
        # The slow log and latency monitor (app/introspection.py); every command's
        # duration is compared with slow_call_ns, kept up to date by apply_config.
        self.introspection = Introspection()
        self.eviction = Eviction(self)  # maxmemory (app/eviction.py)
        self.slow_call_ns = NEVER
        self.write_refusal: ReplyError | None = None  # what refuses client writes now (dispatch.py)
        self.closed_input_bytes = 0  # bytes read from and written to clients now gone
        self.closed_output_bytes = 0
        self.reset_stats()
        self.apply_config()

    def in_rare_state(self) -> bool:
        """Whether any of the rare states holds (what ``special`` says)."""
        return (self._write_refusal is not None or self._refuses_stale or self._loading
                or self._busy_script is not None or self._pause_end != 0 or self._maxmemory != 0)

    def outbox_writer(self) -> OutboxWriter:
        """The thread that writes subscribers' queues, started with the first subscriber."""
        with self._writer_lock:
            if self._outbox_writer is None:
                self._outbox_writer = OutboxWriter()
            return self._outbox_writer

    def apply_config(self, changed: set[str] | None = None) -> None:
        """Act on parameters that were set: copy those that hot paths read into plain
        attributes, and pass requirepass on to the default user. ``changed`` names what a
        CONFIG SET set (None at start-up: everything)."""
        self.keyspace.notify_flags = self.config["notify-keyspace-events"]
        self.slow_call_ns = self.introspection.configure(self.config)
        # What a connection's thread consults on every read (app/server.py): attributes,
        # not look-ups of the configuration each time.
        self.idle_timeout = self.config["timeout"] or None  # seconds; None: never
        self.max_bulk_len = self.config["proto-max-bulk-len"]
        self.query_buffer_limit = self.config["client-query-buffer-limit"]
        self.output_limit = self.config["client-output-buffer-limit"]["normal"]  # (hard, soft, seconds)
        self.update_write_refusal()
        # A replica told not to serve stale data refuses most commands while its link is
        # down (MASTERDOWN): one attribute the dispatcher tests, false everywhere else.
        self.refuses_stale = bool(self.config["replicaof"]) and not self.config["replica-serve-stale-data"]
        if changed is not None and "repl-backlog-size" in changed:
            # Redis' resizeReplicationBacklog keeps at least 16 kB, and CONFIG GET shows it.
            self.config.values["repl-backlog-size"] = max(self.config["repl-backlog-size"], backlog_min_size)
        backlog = self.replication.backlog
        if backlog is not None:
            backlog.resize(self.config["repl-backlog-size"])
        acl.PUBSUB_DEFAULT["all"] = self.config["acl-pubsub-default"] == "allchannels"
        if changed is None or "requirepass" in changed:  # even to the same text, as Redis
            self.users.follow_requirepass(self.config["requirepass"])
        if changed is not None and "appendonly" in changed:
            if not self.config["appendonly"]:
                self.aof.disable()
            elif not self.aof.enable():
                self.config.values["appendonly"] = False
                raise ReplyError("ERR CONFIG SET failed (possibly related to argument 'appendonly') - "
                                 "Unable to turn on AOF. Check server logs.")
        self.aof.apply_policy()
        self.apply_maxmemory(changed)

    def apply_maxmemory(self, changed: set[str] | None) -> None:
        """maxmemory and its policy: keep key sizes only while there is a limit, LFU
        counters only under an LFU policy, and evict at once when CONFIG SET lowers the
        limit below what is used, as Redis does."""
        config, keyspace = self.config, self.keyspace
        keyspace.lfu = config["maxmemory-policy"].endswith("lfu")
        keyspace.lfu_log_factor = config["lfu-log-factor"]
        keyspace.lfu_decay_time = config["lfu-decay-time"]
        maxmemory = config["maxmemory"]
        if maxmemory and not keyspace.accounting:
            keyspace.start_accounting()
        elif not maxmemory and keyspace.accounting:
            keyspace.stop_accounting()
        self.maxmemory = maxmemory  # what the dispatcher tests, once per command
        if changed is not None and "maxmemory" in changed and maxmemory:
            if self.eviction.used_memory() > maxmemory:
                log.warning(f"WARNING: the new maxmemory value set via CONFIG SET ({maxmemory}) is smaller than the "
                            f"current memory usage ({self.eviction.used_memory()}). This will result in key eviction "
                            "and/or the inability to accept new write commands depending on the maxmemory-policy.")
            self.eviction.perform()

    def reset_stats(self) -> None:
        """CONFIG RESETSTAT: zero the counters INFO reports (commands keep their own)."""
        self.connections_received = 0
        self.commands_processed = 0
        self.rejected_connections = 0
        # Bytes read and written: live clients keep their own counts, which only their
        # own thread writes (the hot path needs no lock), so a reset never zeroes them,
        # which could lose an increment made at that instant by a thread running at once
        # (free-threaded Python): it notes the totals so far, and INFO subtracts them.
        self.net_bytes_at_reset = self._net_bytes_total()
        self.error_replies: dict[str, int] = {}  # error code (ERR, WRONGTYPE...) -> count
        self.keyspace.expired_keys = 0
        self.keyspace.evicted_keys = 0
        self.keyspace.hits = 0
        self.keyspace.misses = 0

    @property
    def role(self) -> str:
        return "slave" if self.config["replicaof"] else "master"

    # --- listening sockets

    def rebind(self, port: int, bind: str) -> None:
        """CONFIG SET port or bind: listen on the new addresses, then stop listening on
        the old ones; connections already made stay. Raises OSError, with nothing
        changed, if the new addresses cannot be bound."""
        from app.server import open_listeners, start_listener  # the server module imports this one

        fresh = open_listeners(self, port, bind)  # raises before anything changes
        old, self.listeners = self.listeners, fresh
        for listener in fresh:
            start_listener(listener)
        for listener in old:
            # shutdown() waits for the accept loop, which may be this very thread's
            # caller only through a command: accept threads never hold the lock.
            threading.Thread(target=_close_listener, args=(listener,), daemon=True).start()

    # --- CLIENT PAUSE

    def pause(self, milliseconds: int | None, everything: bool, purpose: str = "client") -> None:
        """CLIENT PAUSE: hold clients' commands (all of them, or writes only) until the
        time is up or CLIENT UNPAUSE. A longer or stronger pause wins over a weaker one,
        as in Redis. Keys stop expiring meanwhile, so that the dataset stays still (what
        a failover needs): reads see expired keys as gone but nothing is deleted.

        FAILOVER pauses writes for its own ``purpose``, with no end (None): as in Redis
        7.0, each purpose has its own pause, so CLIENT UNPAUSE never ends a failover's."""
        end = float("inf") if milliseconds is None else time.monotonic() + milliseconds / 1000
        old_end, old_all = self.pauses.get(purpose, (0.0, False))
        self.pauses[purpose] = (max(old_end, end), old_all or everything)
        self._pause_in_force()

    def unpause(self, purpose: str = "client") -> None:
        """A pause is over: wake every held client; the pauses of other purposes still
        hold them, or expiry resumes (on a master)."""
        self.pauses.pop(purpose, None)
        now = time.monotonic()
        self.pauses = {name: pause for name, pause in self.pauses.items() if pause[0] > now}
        self._pause_in_force()
        self.unpaused.notify_all()

    def _pause_in_force(self) -> None:
        """The strictest pause (ALL over WRITE) until the latest end of that kind
        (Redis: updateClientPauseTypeAndEndTime)."""
        self.pause_all = any(everything for _end, everything in self.pauses.values())
        self.pause_end = max((end for end, everything in self.pauses.values() if everything == self.pause_all),
                             default=0.0)
        self.update_expiry()

    def update_expiry(self) -> None:
        """Whether this server deletes keys whose deadline passed: not as a replica (it
        waits for its master's DELs), nor during CLIENT PAUSE (the dataset stays still)."""
        self.keyspace.deletes_expired = not self.config["replicaof"] and not self.pause_end

    def hold_while_paused(self, client, entry) -> None:
        """Wait here (the keyspace lock released) while a pause holds this command:
        every command of a normal client in ALL mode, writes in WRITE mode (EXEC counts
        as a write if it queued one). Replicas and our master are never held."""
        while self.pause_end:
            remaining = self.pause_end - time.monotonic()
            if remaining <= 0:
                self.unpause()  # a FAILOVER's pause may still hold
                continue
            if client.replica is not None or client.is_master:
                return
            if not self.pause_all and not _writes(client, entry):
                return
            self.unpaused.wait(None if remaining == float("inf") else remaining)

    def update_write_refusal(self) -> None:
        """Whether clients' writes are refused, and with which error, in Redis' order:
        MISCONF while the data cannot be persisted (a failed BGSAVE with save points and
        ``stop-writes-on-bgsave-error``, or a failed AOF write or fsync); READONLY on a
        read-only replica; NOREPLICAS on a master with fewer replicas that acknowledged
        within ``min-replicas-max-lag`` seconds than ``min-replicas-to-write``. Kept as
        one attribute, so a write pays one test; refreshed every second by the
        replication cron, whenever a replica comes or goes, and whenever a save or an
        AOF write fails or recovers."""
        config = self.config
        refusal = self.disk_error()
        if refusal is None and config["replicaof"]:
            refusal = READONLY if config["replica-read-only"] else None
        elif refusal is None and config["min-replicas-to-write"] and config["min-replicas-max-lag"]:
            good = self.replication.good_replicas(config["min-replicas-max-lag"])
            refusal = NOREPLICAS if good < config["min-replicas-to-write"] else None
        self.write_refusal = refusal

    def master_link_down(self) -> bool:
        """A replica whose link to its master is not up (syncing or disconnected)."""
        link = self.replication.link
        return link is None or not link.up

    def disk_error(self) -> ReplyError | None:
        """MISCONF, when writes would not reach the disk (Redis:
        writeCommandsDeniedByDiskError); PING gets it too."""
        config = self.config
        if config["stop-writes-on-bgsave-error"] and config["save"] and not self.snapshots.last_bgsave_ok:
            return MISCONF_RDB
        aof_error = self.aof.error()
        if aof_error is not None:
            return ReplyError(f"MISCONF Errors writing to the AOF file: {aof_error}")
        return None

    def replicate_from(self, master: tuple[str, int] | None, continue_own_history: bool,
                       keep_replicas: bool = False) -> None:
        """Become a replica of ``master`` (host, port), or a master again (None): what
        --replicaof at start-up and REPLICAOF at run time do. The caller holds the lock.
        A FAILOVER keeps its replicas (``keep_replicas``): they can continue from us
        once we follow the new master (the link disconnects them if the ID changes)."""
        from app.replication.replica import MasterLink  # only replicas need it: keep start-up light

        replication = self.replication
        if replication.link is not None:
            replication.link.stop()
            replication.link = None
        self.config.values["replicaof"] = master
        log.role = "S" if master else "M"  # the log line's role letter, as Redis writes it
        self.update_expiry()
        if master is not None:
            if not keep_replicas:
                replication.disconnect_replicas()  # they follow our new history from scratch
            replication.link = MasterLink(self, master[0], master[1], continue_own_history)
            replication.link.start()
        replication.update_sinks()
        self.apply_config({"replicaof"})

    def shut_down(self, save: bool | None = None, force: bool = False) -> bool:
        """SHUTDOWN and SIGTERM, as Redis' prepareForShutdown: save the RDB file when
        save points are set (``save`` None) or SAVE was given (True), never with NOSAVE
        (False) nor while loading (the keyspace is half there); then put the AOF on disk
        and end the process. The caller holds the keyspace lock, and the process ends
        holding it, as Redis exits inside the command: nothing runs after the final save.

        Returns False, after logging why, only if the save failed without ``force``: the
        server then goes on serving, as Redis does."""
        if self.prepare_for_shutdown(save, force):
            os._exit(0)
        return False

    def prepare_for_shutdown(self, save: bool | None = None, force: bool = False) -> bool:
        """All that `shut_down` does before the process ends (Redis: prepareForShutdown),
        which DEBUG RESTART does too before it starts the server again; False if the
        save failed without ``force``."""
        if self.loading:
            save = False
        if save or (save is None and self.config["save"]):
            log.notice("Saving the final RDB snapshot before exiting.")
            if not self.snapshots.save():
                if not force:
                    log.warning("Error trying to save the DB, can't exit.")
                    log.warning("Errors trying to shut down the server. Check the logs for more information.")
                    return False
                log.warning("Error trying to save the DB. Exit anyway.")
        self.snapshots.remove_background_temporary()
        self.aof.shutdown()
        self.shutdown_requested.set()
        if self.config["pidfile"]:
            log.notice("Removing the pid file.")
            with contextlib.suppress(OSError):
                os.remove(self.config["pidfile"])
        log.warning("Redis is now ready to exit, bye bye...")
        return True

    def count_error(self, error: ReplyError) -> None:
        """Count an error reply by its code, the first word (INFO errorstats)."""
        code = error.message.split(" ", 1)[0]
        self.error_replies[code] = self.error_replies.get(code, 0) + 1

    def net_bytes(self) -> tuple[int, int]:
        """Bytes read from and written to clients since the last reset (INFO's
        total_net_*_bytes)."""
        total_in, total_out = self._net_bytes_total()
        reset_in, reset_out = self.net_bytes_at_reset
        return total_in - reset_in, total_out - reset_out

    def _net_bytes_total(self) -> tuple[int, int]:
        clients = list(self.clients.values())
        return (self.closed_input_bytes + sum(c.input_bytes for c in clients),
                self.closed_output_bytes + sum(c.output_bytes for c in clients))

    def new_client_id(self) -> int:
        return next(self._client_ids)


def _writes(client, entry) -> bool:
    """Whether a command writes, for CLIENT PAUSE WRITE (EXEC: if it queued a write)."""
    if entry.name == "exec" and client.multi:
        return any("write" in queued.flags for queued, _argv, _start in client.multi)
    return "write" in entry.flags


def _close_listener(listener) -> None:
    listener.shutdown()
    listener.server_close()
