"""redis-cli 7 builds its typing hints from COMMAND DOCS: driven in a pseudo-terminal, it
shows them against our server as it does against Redis."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import struct
import subprocess
import termios
import time

import pytest

from tests.helpers import start_ours

pytestmark = pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli is not installed")


def _screen_after_typing(port: int, typed: bytes, expected: bytes, timeout: float = 10.0) -> bytes:
    """Type into an interactive redis-cli and return what it drew, once ``expected``
    appears (or the time is up)."""
    controller, terminal = pty.openpty()
    # A terminal 200 columns wide, so that the whole hint fits on the line.
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
    process = subprocess.Popen(["redis-cli", "-p", str(port)], stdin=terminal, stdout=terminal, stderr=terminal,
                               env={**os.environ, "TERM": "xterm"}, close_fds=True)
    os.close(terminal)
    screen = b""
    try:
        deadline = time.monotonic() + timeout
        typed_yet = False
        while time.monotonic() < deadline and expected not in screen:
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(controller, 4096)
                except OSError:
                    break
                screen += chunk
                # linenoise asks the terminal where the cursor is: answer like a terminal.
                for _ in range(chunk.count(b"\x1b[6n")):
                    os.write(controller, b"\x1b[1;200R")
            if not typed_yet and b"> " in screen:  # the prompt: redis-cli has read COMMAND DOCS
                os.write(controller, typed)
                typed_yet = True
    finally:
        process.kill()
        process.wait()
        os.close(controller)
    return screen


def test_set_shows_its_argument_hint():
    server = start_ours()
    try:
        screen = _screen_after_typing(server.port, b"SET k v ", b"[NX|XX]")
        assert b"[NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]" \
            in screen
    finally:
        server.stop()
