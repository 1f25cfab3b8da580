"""The replication backlog: the tail of the replication stream, kept for partial resyncs.

Every byte sent to replicas has an offset: the master's ``master_repl_offset`` counts
them all since the replication ID was made. A replica that reconnects says which offset
it needs next (PSYNC <replid> <offset>); if the backlog still holds that byte, the
master answers +CONTINUE and sends the rest from there.

Redis keeps the backlog as a list of blocks (7.0: a shared replication buffer) and so do
we: a deque of the chunks as they were fed, dropping whole chunks from the front once
the rest still holds ``size`` bytes. Appending is O(1) and never copies the history.
"""

from __future__ import annotations

from collections import deque

MIN_SIZE = 16 * 1024  # Redis' CONFIG_REPL_BACKLOG_MIN_SIZE: a smaller repl-backlog-size counts as this


class Backlog:
    def __init__(self, size: int, start_offset: int):
        self.size = max(size, MIN_SIZE)
        self._chunks: deque[bytes] = deque()
        self.histlen = 0  # bytes held
        self.first_offset = start_offset  # offset of the first byte held (Redis counts from 1)

    def append(self, data: bytes) -> None:
        self._chunks.append(data)
        self.histlen += len(data)
        # Keep at least `size` bytes: drop a chunk only if what remains is enough.
        while len(self._chunks) > 1 and self.histlen - len(self._chunks[0]) >= self.size:
            dropped = self._chunks.popleft()
            self.histlen -= len(dropped)
            self.first_offset += len(dropped)

    def resize(self, size: int) -> None:
        self.size = max(size, MIN_SIZE)
        self.append(b"")  # trims to the new size

    def holds(self, offset: int) -> bool:
        """Whether the byte at ``offset`` (or the end of the stream) is still here."""
        return self.first_offset <= offset <= self.first_offset + self.histlen

    def tail(self, count: int) -> bytes:
        """The last ``count`` bytes held (fewer if it holds fewer)."""
        return self.read_from(max(self.first_offset, self.first_offset + self.histlen - count))

    def read_from(self, offset: int) -> bytes:
        """Everything from ``offset`` to the end of the stream (`holds` must be true)."""
        skip = offset - self.first_offset
        out = []
        for chunk in self._chunks:
            if skip >= len(chunk):
                skip -= len(chunk)
                continue
            out.append(chunk[skip:] if skip else chunk)
            skip = 0
        return b"".join(out)
