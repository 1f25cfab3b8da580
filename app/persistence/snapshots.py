"""SAVE and BGSAVE: when the keyspace was last written to the RDB file, and how.

SAVE writes while holding the keyspace lock, so every client waits, as Redis' SAVE
blocks its one thread. BGSAVE takes a point-in-time view of the keyspace (Redis forks,
and the child sees the memory as it was at that instant): a `PointInTime`
(app/persistence/cow.py) notes the keys as they are and keeps aside, from then on, each
one a client changes before the writer thread has written it. The thread serializes and
writes while commands go on, taking the lock only for a moment per chunk of keys: the
file is the keyspace at one instant, never a mixture, and nothing is copied whole.

The ``save`` points make BGSAVE automatic: once a second the cron (Redis' serverCron)
starts one when, for any point "M N", at least N changes were made and more than M
seconds passed since the last successful save. After a failed BGSAVE it tries again
only after `RETRY_DELAY` seconds, so a full disk is not hammered every second.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from typing import Callable

from app import log
from app.persistence import rdb
from app.persistence.cow import PointInTime

RETRY_DELAY = 5  # CONFIG_BGSAVE_RETRY_DELAY: seconds before retrying a failed BGSAVE


def due_save_point(points: list[tuple[int, int]], dirty: int, now: int, last_save: int,
                   last_try: int, last_ok: bool) -> tuple[int, int] | None:
    """The save point (seconds, changes) that calls for a BGSAVE now, if any (serverCron)."""
    if not last_ok and now - last_try <= RETRY_DELAY:
        return None
    for seconds, changes in points:
        if dirty >= changes and now - last_save > seconds:
            return seconds, changes
    return None


class Snapshots:
    """The RDB file's state for LASTSAVE and INFO persistence, and the save in progress."""

    def __init__(self, keyspace, config, status_changed: Callable[[], None] = lambda: None):
        self.keyspace = keyspace
        self.config = config
        # The server's function libraries (app/scripting/functions.py), saved with the
        # keys. The server makes them after its Snapshots: main.py hands them over.
        self.functions = None
        # The replication state to record in the file (app/replication/master.py:
        # `Replication.save_info`), asked for when the snapshot is taken, so that a
        # server restarted from the file goes on from there. Set by the replication.
        self.save_info: Callable[[], dict[bytes, bytes]] = dict
        # Called, under the keyspace lock, when a save's success or failure may change
        # whether writes are refused (stop-writes-on-bgsave-error: ServerState.update_write_refusal).
        self.status_changed = status_changed
        self.last_save = int(time.time())  # Redis counts start-up as a save
        self.last_bgsave_ok = True
        self.last_bgsave_try = 0  # Unix time the last BGSAVE started
        self.last_bgsave_seconds = -1
        self.bgsave_started: float | None = None  # monotonic time, while one runs
        self.scheduled = False  # BGSAVE SCHEDULE while an AOF rewrite ran: the AOF cron starts it
        self._thread: threading.Thread | None = None

    @property
    def in_progress(self) -> bool:
        return self.bgsave_started is not None

    # The background save writes a temporary file of its own, so that SAVE at SHUTDOWN
    # can run beside it, and SHUTDOWN can remove it (Redis kills the child and removes
    # its temp-<child pid>.rdb).
    @property
    def background_temporary(self) -> str:
        return f"temp-{os.getpid()}-bgsave.rdb"

    def _write(self, snapshot: rdb.Snapshot, temporary: str, aux: dict[bytes, bytes]) -> None:
        config = self.config
        pieces = rdb.dump_pieces(snapshot.databases, config["rdbcompression"], config["rdbchecksum"],
                                 config["list-max-listpack-size"], snapshot.functions, aux)
        rdb.write_file(rdb.rdb_path(config), pieces, os.path.join(config["dir"], temporary),
                       config["rdb-save-incremental-fsync"])

    def save(self) -> bool:
        """SAVE: write now; the caller holds the keyspace lock. False if it failed."""
        try:
            self._write(rdb.live_snapshot(self.keyspace, self.functions), f"temp-{os.getpid()}.rdb", self.save_info())
        except OSError as error:
            log.warning(f"Failed saving the DB: {error.strerror or error}")
            return False
        self.keyspace.dirty = 0
        self.last_save = int(time.time())
        self.last_bgsave_ok = True  # as rdbSave: a good save clears a failed BGSAVE
        self.status_changed()
        log.notice("DB saved on disk")
        return True

    def background_save(self) -> None:
        """BGSAVE: a point-in-time view now (the caller holds the keyspace lock), written
        in a thread."""
        snapshot = PointInTime(self.keyspace, self.functions.codes())
        aux = self.save_info()
        dirty_at_snapshot = self.keyspace.dirty
        self.bgsave_started = time.monotonic()
        self.last_bgsave_try = int(time.time())
        self._thread = threading.Thread(target=self._background, args=(snapshot, aux, dirty_at_snapshot),
                                        name="bgsave", daemon=True)
        self._thread.start()
        log.notice("Background saving started")

    def _background(self, snapshot: PointInTime, aux: dict[bytes, bytes], dirty_at_snapshot: int) -> None:
        try:
            self._write(rdb.Snapshot(snapshot.databases(), snapshot.functions), self.background_temporary, aux)
            ok = True
        except OSError as error:
            log.warning(f"Failed saving the DB in the background: {error.strerror or error}")
            ok = False
        except Exception:  # a bug of ours: say so; the snapshot must still end below
            log.warning(f"Failed saving the DB in the background:\n{traceback.format_exc()}")
            ok = False
        with self.keyspace.lock:
            snapshot.finish()
            if ok:
                # Changes made while the copy was written are still unsaved.
                self.keyspace.dirty = max(0, self.keyspace.dirty - dirty_at_snapshot)
                self.last_save = int(time.time())
                log.notice("Background saving terminated with success")
            self.last_bgsave_ok = ok
            self.last_bgsave_seconds = round(time.monotonic() - self.bgsave_started)
            self.bgsave_started = None
            self.status_changed()

    # --------------------------------------------------------------- save points

    def start_cron(self, stop: threading.Event, other_save_running: Callable[[], bool]) -> None:
        """Check the save points once a second; ``other_save_running`` tells whether an
        AOF rewrite is under way (Redis runs one child at a time)."""
        threading.Thread(target=self._cron, args=(stop, other_save_running), name="rdb cron", daemon=True).start()

    def _cron(self, stop: threading.Event, other_save_running: Callable[[], bool]) -> None:
        while not stop.wait(1.0):
            with self.keyspace.lock:
                if self.in_progress or other_save_running():
                    continue
                point = due_save_point(self.config["save"], self.keyspace.dirty, int(time.time()),
                                       self.last_save, self.last_bgsave_try, self.last_bgsave_ok)
                if point is not None:
                    log.notice(f"{point[1]} changes in {point[0]} seconds. Saving...")
                    self.background_save()

    def remove_background_temporary(self) -> None:
        """SHUTDOWN while a BGSAVE runs: the process ends with it, so its file goes too."""
        if self.in_progress:
            log.warning("There is a child saving an .rdb. Killing it!")
            try:
                os.remove(os.path.join(self.config["dir"], self.background_temporary))
            except OSError:
                pass
