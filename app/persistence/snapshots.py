"""SAVE and BGSAVE: when the keyspace was last written to the RDB file, and how.

SAVE writes while holding the keyspace lock, so every client waits, as Redis' SAVE
blocks its one thread. BGSAVE copies the keyspace under the lock (Redis forks, and the
child sees the memory as it was at that instant; a copy is our fork), then serializes
and writes the copy in a thread while commands go on: the file is the keyspace at one
instant, never a mixture.
"""

from __future__ import annotations

import threading
import time

from app import log
from app.persistence import rdb


class Snapshots:
    """The RDB file's state for LASTSAVE and INFO persistence, and the save in progress."""

    def __init__(self, keyspace, config):
        self.keyspace = keyspace
        self.config = config
        self.last_save = int(time.time())  # Redis counts start-up as a save
        self.last_bgsave_ok = True
        self.last_bgsave_seconds = -1
        self.bgsave_started: float | None = None  # monotonic time, while one runs
        self.scheduled = False  # BGSAVE SCHEDULE while an AOF rewrite ran: the AOF cron starts it
        self._thread: threading.Thread | None = None

    @property
    def in_progress(self) -> bool:
        return self.bgsave_started is not None

    def _write(self, snapshot) -> None:
        rdb.write_file(rdb.rdb_path(self.config), rdb.dump(snapshot))

    def save(self) -> bool:
        """SAVE: write now; the caller holds the keyspace lock. False if it failed."""
        try:
            self._write(rdb.take_snapshot(self.keyspace))
        except OSError as error:
            log.warning(f"Failed saving the DB: {error.strerror or error}")
            return False
        self.keyspace.dirty = 0
        self.last_save = int(time.time())
        log.notice("DB saved on disk")
        return True

    def background_save(self) -> None:
        """BGSAVE: copy now (the caller holds the keyspace lock), write in a thread."""
        snapshot = rdb.take_snapshot(self.keyspace)
        dirty_at_snapshot = self.keyspace.dirty
        self.bgsave_started = time.monotonic()
        self._thread = threading.Thread(target=self._background, args=(snapshot, dirty_at_snapshot),
                                        name="bgsave", daemon=True)
        self._thread.start()
        log.notice("Background saving started")

    def _background(self, snapshot, dirty_at_snapshot: int) -> None:
        try:
            self._write(snapshot)
            ok = True
        except OSError as error:
            log.warning(f"Failed saving the DB in the background: {error.strerror or error}")
            ok = False
        with self.keyspace.lock:
            if ok:
                # Changes made while the copy was written are still unsaved.
                self.keyspace.dirty = max(0, self.keyspace.dirty - dirty_at_snapshot)
                self.last_save = int(time.time())
                log.notice("Background saving terminated with success")
            self.last_bgsave_ok = ok
            self.last_bgsave_seconds = round(time.monotonic() - self.bgsave_started)
            self.bgsave_started = None
