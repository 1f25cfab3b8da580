"""The append-only file at work: loading it at start-up, appending every write, fsyncing
as ``appendfsync`` asks, and rewriting it (BGREWRITEAOF) the way Redis 7 does.

The file formats and the manifest are app/persistence/aof.py; this module opens files.

Appending
    The dispatcher hands every unit of writes to `AppendOnlyFile.append` under the
    keyspace lock (app/propagation.py). It is one ``os.write`` on an ``O_APPEND``
    descriptor: the bytes are in the kernel, not yet on disk, and the lock is released
    at once. Nothing is fsynced under the keyspace lock.

Group commit (``appendfsync always``)
    A reply may not leave before the writes it acknowledges are on disk. Two counters
    say how far that is: ``written`` (bytes appended so far, in every file) and
    ``synced`` (bytes known to be on disk). Before a connection sends its replies it
    calls `wait_synced`, which waits until ``synced`` reaches what ``written`` was when
    its commands had run. The first waiter to find no fsync running becomes the leader:
    it notes ``written``, fsyncs (holding no lock), sets ``synced`` and wakes everyone.
    Whoever arrived during that fsync is covered by the next one, so twenty clients
    writing at once share one or two fsyncs instead of making twenty. Redis gets the
    same effect from its event loop: one fsync in ``beforeSleep`` for every client
    served in that iteration.

``everysec`` and ``no``
    ``everysec``: the once-a-second cron thread fsyncs if anything was written, like
    Redis' background fsync job. ``no``: the kernel writes when it likes.

Rewriting (BGREWRITEAOF, and automatically as the files grow)
    Under the lock: a new incr file is opened and listed in the manifest, writes go
    there from now on (with a SELECT first), and a point-in-time view of the keyspace
    is taken (our fork: app/persistence/cow.py). A thread writes the view as the new
    base (an RDB, or commands when aof-use-rdb-preamble is no) to a temporary file, a
    batch of keys at a time, and fsyncs it. Then, under the lock
    again, the base is renamed into the directory and a manifest listing the new base
    and the new incr replaces the old one (temporary file, fsync, rename, fsync of the
    directory); the old base and incrs, now history, are deleted. A crash at any point
    leaves either the old manifest, whose files are all still there, or the new one.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from operator import itemgetter
from typing import Iterable, Iterator

from app import log
from app.persistence import aof, rdb
from app.persistence.aof import AOFError, AOFInfo, Manifest
from app.persistence.cow import PointInTime
from app.protocol import ReplyError, encode_command, format_double
from app.store.hash import HashValue
from app.store.list import ListValue
from app.store.stream import Stream, format_id
from app.store.zset import SortedSet

OFF, WAIT_REWRITE, ON = "off", "wait-rewrite", "on"  # Redis' aof_state
ITEMS_PER_COMMAND = 64  # Redis' AOF_REWRITE_ITEMS_PER_CMD
BASE_PIECE_KEYS = 4096  # keys of a command base joined into one piece of the file
REPLAY_BATCH = 1000  # commands replayed per hold of the keyspace lock
CANT_REWRITE = "ERR Can't execute an AOF background rewriting. Please check the server logs for more information."


class LoadFailed(Exception):
    """The AOF cannot be loaded; the server has logged why and must exit with 1."""


class AppendOnlyFile:
    """The AOF of one server: its manifest, the incr file open for appending, the fsync
    counters, and the rewrite in progress."""

    def __init__(self, state):
        self.state = state
        self.keyspace = state.keyspace
        self.config = state.config
        self.status = OFF
        self.always = False  # status is ON and appendfsync always: replies wait (server.py)
        self.manifest: Manifest | None = None
        self.fd: int | None = None  # the incr being appended to
        self.pending: list[bytes] = []  # appended, not yet written (see `append`)
        self.flush_sleep = 0  # DEBUG AOF-FLUSH-SLEEP: microseconds to stall before each write, for tests
        self.temp_incr_fd = False  # fd is the temporary incr of a first rewrite
        self.last_timestamp = 0  # the last #TS annotation written (aof-timestamp-enabled)
        # Group commit: see the module docstring. `retired` are descriptors of incr files
        # replaced by a newer one, fsynced and closed by the next sync round.
        self.cond = threading.Condition(threading.Lock())
        self.written = 0
        self.synced = 0
        self.syncing = False
        self.retired: list[int] = []
        # Sizes for INFO and automatic rewrites (Redis: aof_current_size,
        # aof_rewrite_base_size, aof_last_incr_size).
        self.current_size = 0
        self.base_size = 0
        self.incr_size = 0
        # Rewrites.
        self.rewriting = False
        self.rewrite_scheduled = False
        self.rewrite_started = 0.0
        self.generation = 0  # a rewrite whose generation is no longer current was cancelled
        self.last_rewrite_seconds = -1
        self.last_rewrite_ok = True
        self.rewrites = 0
        self.consecutive_failures = 0
        # Why appending fails now (strerror), until a write or an fsync succeeds again:
        # while either is set, writes are refused with MISCONF (ServerState.disk_error).
        self.write_error: str | None = None
        self.fsync_error: str | None = None

    # --------------------------------------------------------------- paths

    @property
    def directory(self) -> str:
        return os.path.join(self.config["dir"], self.config["appenddirname"])

    def _path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    @property
    def _filename(self) -> str:
        return self.config["appendfilename"]

    def manifest_path(self) -> str:
        return self._path(aof.manifest_name(self._filename))

    # --------------------------------------------------------------- start-up

    def upgrade_old_style(self) -> None:
        """Move a pre-7.0 AOF into the AOF directory, as Redis 7.0 does at start-up
        (aof.c, aofUpgradePrepare): before 7.0 the AOF was one file, ``appendfilename``
        in ``dir``. It becomes the base of seq 1 under its own name, and the manifest
        is written before the file moves, so that a crash in between is finished at the
        next start (the manifest then lists that base alone, missing from the
        directory). A directory whose manifest lists anything else is left alone, and
        so is an unreadable manifest (`load` says what is wrong with it). Raises
        LoadFailed after logging why, if it cannot be done."""
        old = os.path.join(self.config["dir"], self._filename)
        if not os.path.isfile(old):
            return
        if os.path.isdir(self.directory):
            try:
                with open(self.manifest_path(), "rb") as handle:
                    manifest = aof.parse_manifest(handle.read(), self.manifest_path())
            except FileNotFoundError:
                manifest = Manifest()
            except (OSError, AOFError):
                return
            half_done = (manifest.base is not None and manifest.base.name == self._filename and not manifest.incrs
                         and not os.path.exists(self._path(self._filename)))
            if (manifest.base is not None or manifest.incrs) and not half_done:
                return
        try:
            os.makedirs(self.directory, exist_ok=True)
        except OSError as error:
            log.warning(f"Can't open or create append-only dir {self.config['appenddirname']}: {error.strerror}")
            raise LoadFailed from None
        try:
            self._persist_manifest(Manifest(base=AOFInfo(self._filename, 1, aof.BASE)))
        except OSError as error:
            log.warning(f"Can't persist the AOF manifest {self.manifest_path()}: {error.strerror}")
            raise LoadFailed from None
        try:
            os.replace(old, self._path(self._filename))
        except OSError as error:
            log.warning(f"Error trying to rename the existing AOF to old AOF file {self._filename}: {error.strerror}")
            raise LoadFailed from None
        log.notice(f"Successfully migrated an old-style AOF file ({self._filename}) "
                   f"into the AOF directory ({self.config['appenddirname']}).")

    def load(self) -> None:
        """Load the AOF the manifest lists (appendonly yes, manifest present), then open
        its last incr for appending. Raises LoadFailed after logging why."""
        path = self.manifest_path()
        started = time.monotonic()
        try:
            with open(path, "rb") as handle:
                manifest = aof.parse_manifest(handle.read(), path)
        except (AOFError, OSError) as error:
            log.warning(f"Fatal error loading the AOF manifest {path}: {getattr(error, 'strerror', None) or error}")
            raise LoadFailed from None
        files = ([manifest.base] if manifest.base is not None else []) + manifest.incrs
        total = 0
        saved_deletes_expired = self.keyspace.deletes_expired
        # Redis expires nothing while loading: a command replayed must find the keys its
        # original found, even those whose deadline has since passed.
        self.keyspace.deletes_expired = False
        try:
            with rdb.collector_paused():
                for number, info in enumerate(files, 1):
                    total += self._load_file(info, last=number == len(files))
        finally:
            self.keyspace.deletes_expired = saved_deletes_expired
        with self.keyspace.lock:
            self.keyspace.dirty = 0
            self.manifest = manifest
            try:
                if manifest.current_incr is None:  # only a base: start an incr after it
                    self.manifest = aof.add_incr(manifest, self._filename)
                    log.notice(f"Creating AOF incr file {self.manifest.current_incr.name} on server start")
                    self._create_file(self.manifest.current_incr.name)
                    self._persist_manifest(self.manifest)
                fd = self._open_append(self.manifest.current_incr.name)
            except OSError as error:
                log.warning(f"Can't open the append-only file {self.manifest.current_incr.name}: {error.strerror}")
                raise LoadFailed from None
            self.current_size = self.base_size = total
            self.incr_size = os.fstat(fd).st_size
            self._start(fd)
        log.notice(f"DB loaded from append only file: {time.monotonic() - started:.3f} seconds")

    def _load_file(self, info: AOFInfo, last: bool) -> int:
        """Replay one base or incr file; its size after any truncation."""
        path = self._path(info.name)
        kind = "base" if info.kind == aof.BASE else "incr"
        started = time.monotonic()
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError as error:
            log.warning(f"The append log file {info.name} doesn't exist: {error.strerror}")
            return 0
        except OSError as error:
            log.warning(f"Fatal error: can't open the append log file {info.name} for reading: {error.strerror}")
            raise LoadFailed from None
        if not data:
            return 0
        start = 0  # where the commands start
        if aof.is_rdb_preamble(data):
            # A snapshot first: a base written with aof-use-rdb-preamble, or a pre-7.0
            # AOF (`upgrade_old_style` keeps its name), whose rewrites wrote a snapshot
            # to which the writes made since were appended as commands. Redis reads
            # commands after the snapshot in any base, and so do we.
            old_style = info.name == self._filename
            log.notice("Reading RDB preamble from AOF file..." if old_style else "Reading RDB base file on AOF loading...")
            codes: list[bytes] = []
            try:
                # now=0: a preamble's expired keys load too, as in Redis, for the
                # commands after it may touch them; active expiry deletes them later.
                keys, start = rdb.parse_prefix(data, self.config, 0, len(self.keyspace.databases),
                                               rdb.sanitize_on_load(self.config), codes)
                with self.keyspace.lock:
                    # The base comes first: no library is there yet (DEBUG LOADAOF
                    # empties them), so a name twice is an error, as in Redis.
                    rdb.install_functions(self.state.functions, codes, "APPEND")
                    for loaded in keys:
                        self.keyspace.databases[loaded.db].set(loaded.key, loaded.value, deadline=loaded.deadline)
            except rdb.RDBError as error:
                what = "the RDB preamble of the AOF file" if old_style else "the RDB base file"
                log.warning(f"Error reading {what} {info.name} ({error}), AOF loading aborted")
                raise LoadFailed from None
            if old_style:
                log.notice("Reading the remaining AOF tail...")
        try:
            commands, end, problem = aof.parse_commands(data, start, filename=info.name)
        except AOFError as error:
            log.warning(f"{error}. Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>")
            raise LoadFailed from None
        cut = _unfinished_multi(commands)
        if cut is not None:
            log.warning(aof.UNFINISHED_MULTI % info.name)
            end -= sum(len(encode_command(argv)) for argv in commands[cut:])
            commands = commands[:cut]
            problem = aof.TRUNCATED
        self._replay(commands, info.name)
        if problem is not None:
            if not last:
                log.warning(aof.TRUNCATED_NOT_LAST)
                raise LoadFailed
            for line in aof.truncation_messages(info.name, end, self.config["aof-load-truncated"]):
                log.warning(line)
            if not self.config["aof-load-truncated"]:
                raise LoadFailed
            try:
                os.truncate(path, end)
            except OSError as error:
                log.warning(f"Error truncating the AOF file {info.name}: {error.strerror}")
                raise LoadFailed from None
            data = data[:end]
        log.notice(f"DB loaded from {kind} file {info.name}: {time.monotonic() - started:.3f} seconds")
        return len(data)

    def _replay(self, commands: list[list[bytes]], filename: str) -> None:
        """Run ``commands`` as Redis' fake AOF client runs them: a client of its own per
        file, allowed everything, answering nobody.

        Redis' loader calls each command's function directly (``cmd->proc``), with
        none of the checks a client's command goes through: a command of the file
        goes straight to its handler too (not counted in INFO commandstats, as in
        Redis). The dispatcher still runs what needs more than that: a
        transaction (it queues what follows MULTI and runs it at EXEC), a command with
        the wrong number of arguments (it refuses it), and everything while someone
        listens for writes (replicas after DEBUG LOADAOF), so that they hear it.

        The keyspace lock is held for `REPLAY_BATCH` commands at a time, so that the
        clients of a long load are answered (LOADING) in between."""
        # Imported here: dispatch imports every command.
        from app.client import Client
        from app.dispatch import execute_locked, lookup

        state = self.state
        keyspace = self.keyspace
        client = Client(state, state.new_client_id(), "", "", -1, close=lambda: None)
        client.is_master = True  # never blocks, writes on a read-only replica, sees expired keys
        client.authenticated = True
        client.set_reply_mode(b"OFF")
        # A command name as written -> its entry, for commands without subcommands (a
        # file names few commands, spelled the same way each time).
        plain: dict[bytes, object] = {}
        for first in range(0, len(commands), REPLAY_BATCH):
            with keyspace.lock:
                # What the dispatcher sets for each command, and another client's command
                # may have changed since the last batch.
                keyspace.obeying_master = True
                keyspace.touching = True
                state.current_client = client
                for argv in commands[first:first + REPLAY_BATCH]:
                    entry = plain.get(argv[0])
                    if entry is None:
                        entry, _start, _refusal = lookup(argv)
                        if entry is None:
                            name = argv[0].decode("utf-8", "replace")
                            log.warning(aof.UNKNOWN_COMMAND % (name, filename))
                            raise LoadFailed
                        if entry.name in ("function|load", "function|restore"):
                            self._require_lua(filename)
                        if entry.subcommands or "|" in entry.name or entry.name in ("multi", "exec"):
                            execute_locked(client, argv)
                            continue
                        plain[argv[0]] = entry
                    arity = entry.arity
                    if (client.multi is not None or keyspace.propagation.enabled
                            or (arity > 0 and len(argv) != arity) or len(argv) < -arity):
                        execute_locked(client, argv)
                        continue
                    client.argv = argv
                    try:
                        entry.handler(client, *argv[1:])
                    except ReplyError:
                        pass  # answered to no one, as when it first ran
                    except Exception:  # noqa: BLE001 - a bug of ours: say so and go on, as for a client's command
                        log.warning(f"Internal error running '{entry.name}':\n{traceback.format_exc()}")
                if keyspace.blocked.ready:  # a push fed a key a client waits on (DEBUG LOADAOF)
                    keyspace.blocked.serve_ready()

    def _require_lua(self, filename: str) -> None:
        """A FUNCTION LOAD or RESTORE is about to be replayed: without Lua (the optional
        lupa package) it would fail unseen, replies being dropped, and the libraries
        would be lost. Stop loading instead, saying why."""
        try:
            self.state.functions.world()
        except ReplyError as error:
            log.warning(f"The AOF file {filename} holds function libraries, which cannot be loaded: "
                        f"{error.message.removeprefix('ERR ')}")
            raise LoadFailed from None

    def create(self) -> None:
        """appendonly yes with no manifest yet: the directory, an empty first incr and a
        manifest listing it. If an RDB was loaded, a base holding it comes first, as the
        rewrite Redis would start would make it, so the data survives the next restart."""
        name = aof.incr_name(self._filename, 1)
        with self.keyspace.lock:
            try:
                os.makedirs(self.directory, exist_ok=True)
                manifest = Manifest(incrs=[AOFInfo(name, 1, aof.INCR)])
                snapshot = rdb.live_snapshot(self.keyspace, self.state.functions)
                if snapshot.databases or snapshot.functions:
                    base = aof.base_name(self._filename, 1, self.config["aof-use-rdb-preamble"])
                    self._write_synced(self._path(base), self._base_pieces(snapshot))
                    manifest = Manifest(base=AOFInfo(base, 1, aof.BASE), incrs=manifest.incrs)
                self._create_file(name)
                self._persist_manifest(manifest)
                fd = self._open_append(name)
            except OSError as error:
                log.warning(f"Can't create the append-only file in {self.directory}: {error.strerror}")
                raise LoadFailed from None
            self.manifest = manifest
            self.current_size = self.base_size = self._size(manifest.base)
            self.incr_size = 0
            self._start(fd)

    def _start(self, fd: int, status: str = ON) -> None:
        """Append to ``fd`` from now on (the caller holds the keyspace lock)."""
        self._switch_fd(fd)
        self.status = status
        self.last_timestamp = 0
        propagation = self.keyspace.propagation
        propagation.aof_db = -1  # the first write of a new file says which database
        propagation.set_sinks(to_replicas=propagation.to_replicas, to_aof=self.append)
        self.apply_policy()

    def apply_policy(self) -> None:
        """Follow appendfsync (at start and after CONFIG SET)."""
        self.always = self.status != OFF and self.config["appendfsync"] == "always"

    # --------------------------------------------------------------- appending

    def append(self, data: bytes) -> None:
        """The propagation sink: one unit of writes, under the keyspace lock. It is kept
        until `flush`, which the connection calls once per read, before its replies go
        out (Redis writes its AOF buffer once per event loop, before replying): a
        pipeline of a hundred SETs costs one write(), not a hundred."""
        if self.config["aof-timestamp-enabled"]:
            now = int(time.time())
            if now > self.last_timestamp:
                self.last_timestamp = now
                data = b"#TS:%d\r\n" % now + data
        self.pending.append(data)

    def flush(self) -> None:
        """Write what `append` kept, in order; the caller holds the keyspace lock."""
        if not self.pending:
            return
        if self.flush_sleep:
            time.sleep(self.flush_sleep / 1_000_000)  # under the lock: everyone waits, as in Redis
        data = b"".join(self.pending)
        self.pending = []
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError as error:
            # What was not written is kept and tried again by the next flush (the cron's,
            # once a second, while MISCONF refuses clients' writes), as Redis keeps its
            # buffer: once the disk takes it, the file holds every command, in order.
            self.pending = [bytes(view)]
            self._count_written(len(data) - len(view))
            self._write_failed(error)
            return
        self._count_written(len(data))
        if self.write_error is not None:
            log.warning("AOF write error looks solved, Redis can write again.")
            self.write_error = None
            self.state.update_write_refusal()

    def _count_written(self, size: int) -> None:
        self.current_size += size
        self.incr_size += size
        self.written += size  # last: a sync round that reads it covers bytes really written

    def _write_failed(self, error: OSError) -> None:
        if self.config["appendfsync"] == "always":
            log.warning(f"Can't recover from AOF write error when the AOF fsync policy is 'always' "
                        f"({error.strerror}). Exiting...")
            os._exit(1)
        if self.write_error is None:
            log.warning(f"Error writing to the AOF file: {error.strerror}")
        self.write_error = error.strerror or str(error)
        self.state.update_write_refusal()

    def error(self) -> str | None:
        """Why the AOF cannot be written now, or None (always None while it is off)."""
        if self.status == OFF:
            return None
        return self.write_error or self.fsync_error

    # --------------------------------------------------------------- fsync

    def wait_synced(self) -> None:
        """Return once everything appended so far is on disk (appendfsync always).
        Called by a connection before it sends replies, holding no lock."""
        target = self.written
        if self.synced >= target:
            return
        with self.cond:
            while self.synced < target:
                if self.syncing:
                    self.cond.wait()
                else:
                    self._sync_round()

    def sync_now(self) -> None:
        """Fsync whatever is written and close retired files, waiting for a round in
        progress first (everysec, switching files, CONFIG SET appendonly no, shutdown)."""
        with self.cond:
            while self.syncing:
                self.cond.wait()
            self._sync_round()

    def _sync_round(self) -> None:
        """One fsync for every waiter: the caller holds ``cond`` and no round runs."""
        self.syncing = True
        upto = self.written
        retired, self.retired = self.retired, []
        fds = retired + ([self.fd] if self.fd is not None else [])
        self.cond.release()
        error = None
        try:
            for fd in fds:
                try:
                    os.fsync(fd)
                except OSError as failure:
                    error = failure
            for fd in retired:
                os.close(fd)
        finally:
            self.cond.acquire()
            self.syncing = False
            self.cond.notify_all()
        if error is None:
            self.synced = max(self.synced, upto)
            self.fsync_error = None  # the cron's update_write_refusal lifts MISCONF
            return
        if self.config["appendfsync"] == "always":
            log.warning(f"Can't persist AOF for fsync error when the AOF fsync policy is 'always': "
                        f"{error.strerror}. Exiting...")
            os._exit(1)
        log.warning(f"Error fsyncing the AOF file: {error.strerror}")
        # No keyspace lock here (this may run on a connection's thread holding ``cond``):
        # the cron's update_write_refusal, within a second, refuses writes with MISCONF.
        self.fsync_error = error.strerror or str(error)

    def _switch_fd(self, fd: int | None) -> None:
        """Append to ``fd`` instead; the old file is fsynced and closed by the next round.
        What was kept for the old file is written to it first."""
        self.flush()
        with self.cond:
            if self.fd is not None:
                self.retired.append(self.fd)
            self.fd = fd

    # --------------------------------------------------------------- the cron

    def start_cron(self, stop: threading.Event) -> None:
        threading.Thread(target=self._cron, args=(stop,), name="aof cron", daemon=True).start()

    def _cron(self, stop: threading.Event) -> None:
        """Once a second, as Redis' serverCron: the everysec fsync, files left to close,
        rewrites and saves that were scheduled, and the automatic rewrite."""
        while not stop.wait(1.0):
            if self.pending:
                with self.keyspace.lock:
                    self.flush()
            if self.retired or (self.status != OFF and self.config["appendfsync"] == "everysec"
                                and self.synced < self.written
                                and not (self.rewriting and self.config["no-appendfsync-on-rewrite"])):
                self.sync_now()
            with self.keyspace.lock:
                self.cron_tick()

    def cron_tick(self) -> None:
        """The scheduled and automatic work; the caller holds the keyspace lock."""
        self.flush()  # writes no connection flushed (active expiry's DELs), or a failed write's rest
        self.state.update_write_refusal()  # an fsync that failed or recovered since
        snapshots = self.state.snapshots
        if self.rewriting or snapshots.in_progress:
            return
        if self.rewrite_scheduled:
            self.start_rewrite()
        elif snapshots.scheduled:
            snapshots.scheduled = False
            snapshots.background_save()
        elif self.status == ON and self._growth_calls_for_rewrite():
            growth = self.current_size * 100 // max(self.base_size, 1) - 100
            log.notice(f"Starting automatic rewriting of AOF on {growth}% growth")
            self.start_rewrite()

    def _growth_calls_for_rewrite(self) -> bool:
        percentage = self.config["auto-aof-rewrite-percentage"]
        if not percentage or self.current_size <= self.config["auto-aof-rewrite-min-size"]:
            return False
        return self.current_size * 100 // max(self.base_size, 1) - 100 >= percentage

    # --------------------------------------------------------------- rewriting

    def start_rewrite(self) -> bool:
        """Begin a rewrite (the caller holds the keyspace lock and checked that none
        runs). False, logged, if it could not start."""
        self.rewrite_scheduled = False
        try:
            os.makedirs(self.directory, exist_ok=True)
            if self.manifest is None:
                self.manifest = self._manifest_on_disk()
            if self.status == ON:
                manifest = aof.add_incr(self.manifest, self._filename)
                fd = self._create_file(manifest.current_incr.name, keep_open=True)
                try:
                    self._persist_manifest(manifest)
                except OSError:
                    os.close(fd)
                    raise
                self.manifest = manifest
                self._switch_fd(fd)
            elif self.status == WAIT_REWRITE:
                fd = self._create_file(aof.temp_incr_name(self._filename), keep_open=True)
                self.temp_incr_fd = True
                self._start(fd, WAIT_REWRITE)
        except OSError as error:
            log.warning(f"Can't rewrite append only file in background: {error.strerror}")
            self.consecutive_failures += 1
            self.last_rewrite_ok = False
            return False
        self.keyspace.propagation.aof_db = -1
        self.last_timestamp = 0
        self.incr_size = 0
        snapshot = PointInTime(self.keyspace, self.state.functions.codes())
        self.generation += 1
        self.rewriting = True
        self.rewrite_started = time.monotonic()
        self.rewrites += 1
        threading.Thread(target=self._rewrite, args=(snapshot, self.generation), name="aof rewrite",
                         daemon=True).start()
        log.notice("Background append only file rewriting started")
        return True

    def _rewrite(self, snapshot: PointInTime, generation: int) -> None:
        """In a thread: write the new base to a temporary file from the point-in-time
        view taken when the rewrite began (while clients go on writing to the new incr
        file), then finish under the lock."""
        temporary = os.path.join(self.config["dir"], aof.temp_rewrite_name(os.getpid()))
        rdb_preamble = self.config["aof-use-rdb-preamble"]
        try:
            self._write_synced(temporary, self._base_pieces(rdb.Snapshot(snapshot.databases(), snapshot.functions),
                                                            rdb_preamble))
            error = None
        except OSError as failure:
            error = failure
        with self.keyspace.lock:
            snapshot.finish()
            self._rewrite_done(generation, temporary, rdb_preamble, error)

    def _rewrite_done(self, generation: int, temporary: str, rdb_preamble: bool, error: OSError | None) -> None:
        """Swap the new base in (Redis: backgroundRewriteDoneHandler); under the lock."""
        if generation != self.generation:  # cancelled by CONFIG SET appendonly no
            _remove(temporary)
            return
        self.rewriting = False
        self.last_rewrite_seconds = round(time.monotonic() - self.rewrite_started)
        if error is None:
            try:
                self._install_rewrite(temporary, rdb_preamble)
            except OSError as failure:
                error = failure
        if error is not None:
            _remove(temporary)
            log.warning(f"Background AOF rewrite failed: {error.strerror or error}")
            self.last_rewrite_ok = False
            self.consecutive_failures += 1
            if self.status == WAIT_REWRITE:  # try again from the cron, as Redis does
                self._drop_temp_incr()
                self.rewrite_scheduled = True
            return
        self.last_rewrite_ok = True
        self.consecutive_failures = 0
        log.notice("Background AOF rewrite terminated with success")

    def _install_rewrite(self, temporary: str, rdb_preamble: bool) -> None:
        manifest = self.manifest
        base_seq = manifest.next_base_seq
        base = aof.base_name(self._filename, base_seq, rdb_preamble)
        os.replace(temporary, self._path(base))
        if self.status == ON:
            incr = manifest.current_incr
            new = aof.rewrite_manifest(manifest, base, base_seq, incr.name, incr.seq)
        elif self.status == WAIT_REWRITE:
            seq = manifest.next_incr_seq
            name = aof.incr_name(self._filename, seq)
            os.replace(self._path(aof.temp_incr_name(self._filename)), self._path(name))
            new = aof.rewrite_manifest(manifest, base, base_seq, name, seq)
        else:  # BGREWRITEAOF with appendonly no: every incr is history
            history = [AOFInfo(i.name, i.seq, aof.HISTORY) for i in manifest.incrs]
            if manifest.base is not None:
                history.append(AOFInfo(manifest.base.name, manifest.base.seq, aof.HISTORY))
            new = Manifest(AOFInfo(base, base_seq, aof.BASE), history + manifest.history, [],
                           base_seq, manifest.curr_incr_file_seq)
        self._persist_manifest(new)
        self.manifest = new
        if self.status == WAIT_REWRITE:
            self.status = ON
            self.temp_incr_fd = False
            self.apply_policy()
        log.notice(f"Successfully renamed the temporary AOF base file {os.path.basename(temporary)} into {base}")
        if not self.config["aof-disable-auto-gc"] and new.history:
            for info in new.history:
                _remove(self._path(info.name))
                log.notice(f"Removing the history file {info.name} in the background")
            self.manifest = aof.drop_history(new)
            self._persist_manifest(self.manifest)
        base_file_size = self._size(self.manifest.base)
        self.current_size = self.base_size = base_file_size + self.incr_size

    def _base_pieces(self, snapshot: rdb.Snapshot, rdb_preamble: bool | None = None) -> Iterator[bytes]:
        """A base file of ``snapshot``, in pieces to write as they are made."""
        if rdb_preamble is None:
            rdb_preamble = self.config["aof-use-rdb-preamble"]
        if rdb_preamble:
            yield from rdb.dump_pieces(snapshot.databases, functions=snapshot.functions)
            return
        if self.config["aof-timestamp-enabled"]:
            yield b"#TS:%d\r\n" % int(time.time())
        yield from base_commands(snapshot)

    # --------------------------------------------------------------- CONFIG SET appendonly

    def enable(self) -> bool:
        """CONFIG SET appendonly yes: a rewrite writes the base, appending starts with it
        (Redis: startAppendOnly). The caller holds the lock. False if it cannot start."""
        if self.status != OFF:
            return True
        if self.rewriting:
            self._cancel_rewrite()
        self.status = WAIT_REWRITE
        if self.state.snapshots.in_progress:
            self.rewrite_scheduled = True
            return True
        if not self.start_rewrite():
            self.status = OFF
            return False
        return True

    def disable(self) -> None:
        """CONFIG SET appendonly no (Redis: stopAppendOnly); the caller holds the lock."""
        if self.status == OFF:
            return
        if self.rewriting:
            self._cancel_rewrite()
        if self.temp_incr_fd:
            self._drop_temp_incr()
        else:
            self._stop_appending()
        self.status = OFF
        self.rewrite_scheduled = False
        self.apply_policy()
        self.sync_now()

    def _stop_appending(self) -> None:
        propagation = self.keyspace.propagation
        propagation.set_sinks(to_replicas=propagation.to_replicas, to_aof=None)
        self._switch_fd(None)

    def _drop_temp_incr(self) -> None:
        self._stop_appending()
        self.temp_incr_fd = False
        self.sync_now()
        _remove(self._path(aof.temp_incr_name(self._filename)))

    def _cancel_rewrite(self) -> None:
        self.generation += 1  # its thread will find it cancelled and clean up
        self.rewriting = False
        log.notice("Killing running AOF rewrite")

    def shutdown(self) -> None:
        """SHUTDOWN and SIGTERM: everything appended goes to disk before the exit. The
        caller holds the keyspace lock, and keeps it until the process ends."""
        if self.rewriting:
            self._cancel_rewrite()
        if self.status != OFF:
            self._stop_appending()
        self.sync_now()

    # --------------------------------------------------------------- INFO

    def info(self) -> dict:
        """The aof_* fields of INFO persistence, in Redis 7.0's order."""
        fields = {
            "aof_enabled": int(self.status != OFF),
            "aof_rewrite_in_progress": int(self.rewriting),
            "aof_rewrite_scheduled": int(self.rewrite_scheduled),
            "aof_last_rewrite_time_sec": self.last_rewrite_seconds,
            "aof_current_rewrite_time_sec": round(time.monotonic() - self.rewrite_started) if self.rewriting else -1,
            "aof_last_bgrewrite_status": "ok" if self.last_rewrite_ok else "err",
            "aof_rewrites": self.rewrites,
            "aof_rewrites_consecutive_failures": self.consecutive_failures,
            "aof_last_write_status": "ok" if self.write_error is None and self.fsync_error is None else "err",
            "aof_last_cow_size": 0,
            "module_fork_in_progress": 0,
            "module_fork_last_cow_size": 0,
        }
        if self.status != OFF:
            fields.update(
                aof_current_size=self.current_size,
                aof_base_size=self.base_size,
                aof_pending_rewrite=int(self.rewrite_scheduled),
                aof_buffer_length=0,
                aof_pending_bio_fsync=int(self.syncing),
                aof_delayed_fsync=0,
            )
        return fields

    # --------------------------------------------------------------- files

    def _manifest_on_disk(self) -> Manifest:
        """The manifest a previous run left (so new files number after its files), or
        an empty one."""
        try:
            with open(self.manifest_path(), "rb") as handle:
                return aof.parse_manifest(handle.read(), self.manifest_path())
        except (OSError, AOFError):
            return Manifest()

    def _open_append(self, name: str) -> int:
        return os.open(self._path(name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _create_file(self, name: str, keep_open: bool = False) -> int | None:
        """A new, empty file (emptied if a crashed run left one of that name)."""
        fd = os.open(self._path(name), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o644)
        if keep_open:
            return fd
        os.close(fd)
        return None

    def _persist_manifest(self, manifest: Manifest) -> None:
        """Write the manifest atomically: temporary file, fsync, rename, fsync the directory."""
        temporary = self._path(aof.temp_manifest_name(self._filename))
        self._write_synced(temporary, aof.format_manifest(manifest).encode("utf-8", "surrogateescape"))
        os.replace(temporary, self.manifest_path())
        _fsync_directory(self.directory)

    def _write_synced(self, path: str, pieces: bytes | Iterable[bytes]) -> None:
        rdb.write_synced(path, pieces, self.config["aof-rewrite-incremental-fsync"])

    def _size(self, info: AOFInfo | None) -> int:
        if info is None:
            return 0
        try:
            return os.path.getsize(self._path(info.name))
        except OSError:
            return 0


def _unfinished_multi(commands: list[list[bytes]]) -> int | None:
    """The index of a MULTI whose EXEC never came, or None."""
    if b"multi" not in set(map(bytes.lower, map(itemgetter(0), commands))):  # the usual case, at C speed
        return None
    opened = None
    for index, argv in enumerate(commands):
        name = argv[0].lower()
        if name == b"multi":
            opened = index
        elif name in (b"exec", b"discard"):
            opened = None
    return opened


def _fsync_directory(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


# --------------------------------------------------------------------------- a base as commands


def base_commands(snapshot: rdb.Snapshot) -> Iterator[bytes]:
    """A base of commands that rebuild ``snapshot`` (aof-use-rdb-preamble no), as Redis'
    rewriteAppendOnlyFileRio writes it: a FUNCTION LOAD per library first, then a SELECT
    per database, one command per key (at most 64 elements each), then PEXPIREAT for
    keys with a deadline. In pieces of `BASE_PIECE_KEYS` keys, written as they come."""
    out = [encode_command([b"FUNCTION", b"LOAD", code]) for code in snapshot.functions]
    for index, data, expires in snapshot.databases:
        out.append(encode_command([b"SELECT", b"%d" % index]))
        for count, (key, value) in enumerate(data.items(), 1):
            for argv in _rebuild(key, value):
                out.append(encode_command(argv))
            deadline = expires.get(key)
            if deadline is not None:
                out.append(encode_command([b"PEXPIREAT", key, b"%d" % deadline]))
            if count % BASE_PIECE_KEYS == 0:
                yield b"".join(out)
                out.clear()
    yield b"".join(out)


def _batches(command: bytes, key: bytes, items: list[bytes], per_item: int = 1):
    step = ITEMS_PER_COMMAND * per_item
    for start in range(0, len(items), step):
        yield [command, key, *items[start:start + step]]


def _rebuild(key: bytes, value) -> list[list[bytes]]:
    if isinstance(value, (bytes, bytearray)):
        return [[b"SET", key, bytes(value)]]
    if isinstance(value, ListValue):
        return list(_batches(b"RPUSH", key, list(value)))
    if isinstance(value, HashValue):
        flat = [part for pair in value.fields.items() for part in pair]
        return list(_batches(b"HMSET", key, flat, 2))
    if isinstance(value, (SortedSet, rdb.FrozenSortedSet)):  # a snapshot keeps a sorted set's pairs
        pairs = value.pairs if isinstance(value, rdb.FrozenSortedSet) else value.scores.items()
        flat = [part for member, score in pairs for part in (format_double(score), member)]
        return list(_batches(b"ZADD", key, flat, 2))
    if isinstance(value, Stream):
        return _rebuild_stream(key, value)
    return list(_batches(b"SADD", key, list(value)))


def _rebuild_stream(key: bytes, stream: Stream) -> list[list[bytes]]:
    """Redis' rewriteStreamObject: the entries, the stream's IDs and counters, then each
    group with its consumers and their pending entries (XCLAIM ... FORCE JUSTID)."""
    commands = []
    entries = stream.range()
    if entries:
        for entry_id, fields in entries:
            commands.append([b"XADD", key, format_id(entry_id), *fields])
    else:  # an empty stream still exists: add an entry and trim it away at once
        commands.append([b"XADD", key, b"MAXLEN", b"0", format_id(stream.last_id), b"x", b"y"])
    commands.append([b"XSETID", key, format_id(stream.last_id), b"ENTRIESADDED", b"%d" % stream.entries_added,
                     b"MAXDELETEDID", format_id(stream.max_deleted_id)])
    for name, group in stream.groups.items():
        commands.append([b"XGROUP", b"CREATE", key, name, format_id(group.last_id),
                         b"ENTRIESREAD", b"%d" % group.entries_read])
        for consumer in group.consumers.values():
            mine = list(consumer.pending.ids_from())
            if not mine:
                commands.append([b"XGROUP", b"CREATECONSUMER", key, name, consumer.name])
            for entry_id in mine:
                pending = group.pending.get(entry_id)
                commands.append([b"XCLAIM", key, name, consumer.name, b"0", format_id(entry_id),
                                 b"TIME", b"%d" % pending.delivery_time, b"RETRYCOUNT", b"%d" % pending.delivery_count,
                                 b"JUSTID", b"FORCE"])
    return commands
