"""The server log, in Redis' format: ``pid:M 21 Nov 2026 20:03:19.123 * message``."""

from __future__ import annotations

import os
import sys
import time

_LEVELS = {"debug": 0, "verbose": 1, "notice": 2, "warning": 3}
_MARKS = {0: ".", 1: "-", 2: "*", 3: "#"}

threshold = _LEVELS["notice"]
stream = sys.stdout
role = "M"


def configure(level: str, logfile: str) -> None:
    """Apply ``loglevel`` and ``logfile`` (empty: standard output)."""
    global threshold, stream
    threshold = _LEVELS[level]
    if logfile:
        stream = open(logfile, "a", buffering=1)


def _write(level: int, message: str) -> None:
    if level < threshold:
        return
    now = time.time()
    stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(now)) + ".%03d" % (now % 1 * 1000)
    try:
        stream.write(f"{os.getpid()}:{role} {stamp} {_MARKS[level]} {message}\n")
        stream.flush()
    except (OSError, ValueError):
        pass  # a closed stdout must never take the server down


def debug(message: str) -> None:
    _write(0, message)


def verbose(message: str) -> None:
    _write(1, message)


def notice(message: str) -> None:
    _write(2, message)


def warning(message: str) -> None:
    _write(3, message)
