"""Start servers as subprocesses on free ports, and talk to them in raw RESP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.protocol import ReplyParser, encode_command  # noqa: E402

START_TIMEOUT = 10.0

# Set by tests/test_platform_run.py for the pytest it starts: every server then runs in
# this one folder, as the CodeCrafters platform starts every stage in the repository's
# folder, so that whatever one stage's server leaves there, the next one meets.
PLATFORM_FOLDER = os.environ.get("PYREDIS_PLATFORM_FOLDER") or None
# What the platform starts (after .codecrafters/compile.sh), and what a learner does.
PROGRAM = ROOT / (".codecrafters/run.sh" if PLATFORM_FOLDER is not None else "your_program.sh")


def wait_until(condition, timeout: float = 10.0, what: str = "condition", interval: float = 0.005):
    """Poll ``condition`` until it returns something true, and return that; fail after
    ``timeout`` seconds. For states only visible from outside (a client blocked, a
    subscriber gone), never as a stand-in for a sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def free_port() -> int:
    """A TCP port nobody listens on now (never 6379/6380: those belong to the tester)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, timeout: float = START_TIMEOUT) -> float:
    """Wait until something accepts on ``port``; return how long it took."""
    started = time.monotonic()
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return time.monotonic() - started
        except OSError:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}") from None
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"nothing listening on {port} after {timeout}s") from None
            time.sleep(0.01)


class ServerProcess:
    """A server running as a child process, stopped by `stop` (or as a context manager)."""

    def __init__(self, argv: list[str], port: int, cwd: str | None = None, scratch: str | None = None,
                 env: dict | None = None, own_session: bool = False):
        self.port = port
        self.argv = argv
        self.cwd = cwd  # the working directory, which is also the default `dir`
        self.scratch = scratch  # a directory of its own, removed by `stop`
        self.process = subprocess.Popen(
            argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            # Benchmarks start servers as daemons run, in a session of their own: the
            # kernel schedules by session here (autogroup), and a server sharing
            # redis-benchmark's session would get half a core.
            start_new_session=own_session,
        )
        self.startup_seconds = wait_for_port(port, self.process)

    def raw(self, protocol: int = 2) -> RawConnection:
        return RawConnection(self.port, protocol)

    def stop(self) -> str:
        """Terminate the server and return what it printed."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
        return self.process.stdout.read().decode(errors="replace")

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()


def start_ours(*args: str, port: int | None = None, cwd: str | None = None, config_file: str | None = None,
               env: dict | None = None, own_session: bool = False) -> ServerProcess:
    """Our server on a free port; a config file, like redis-server's, comes first.

    Without ``cwd`` it runs in a temporary directory of its own, so that no file a test
    asks it to write (SAVE, a save point) reaches the next server started, nor the
    checkout. In a platform run, every server runs in the one shared folder instead."""
    port = port or free_port()
    leading = [config_file] if config_file else []
    scratch = None
    if PLATFORM_FOLDER is not None:
        cwd = PLATFORM_FOLDER
    elif cwd is None:
        cwd = scratch = tempfile.mkdtemp(prefix="ours-")
    if PLATFORM_FOLDER is None:
        args = _no_sync_delay(args)
    return ServerProcess([str(PROGRAM), *leading, "--port", str(port), *args], port, cwd, scratch, env, own_session)


def _no_sync_delay(args) -> tuple[str, ...]:
    """A master waits ``repl-diskless-sync-delay`` (5 s by default, in Redis too) for more
    replicas to share a diskless full sync; the tests attach their replicas one at a
    time, so the servers they start, ours and Redis alike, skip that wait unless the test
    sets the delay itself (tests/test_replication_diskless.py tries the default)."""
    if "--repl-diskless-sync-delay" in args:
        return tuple(args)
    return ("--repl-diskless-sync-delay", "0", *args)


def redis_server_path() -> str | None:
    return shutil.which("redis-server")


def start_reference(*args: str, cwd: str, own_session: bool = False) -> ServerProcess:
    """A real redis-server with persistence off, for differential tests."""
    port = free_port()
    argv = [redis_server_path(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", cwd, *_no_sync_delay(args)]
    return ServerProcess(argv, port, cwd, own_session=own_session)


class RawConnection:
    """A plain socket speaking RESP, for tests that care about exact bytes."""

    def __init__(self, port: int, protocol: int = 2, timeout: float = 10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.parser = ReplyParser()
        self.pending: list[tuple[object, bytes]] = []
        if protocol == 3:
            self.call(b"HELLO", b"3")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_command(self, *args) -> None:
        self.send(encode_command([a if isinstance(a, bytes) else str(a).encode() for a in args]))

    def read_raw(self) -> bytes:
        """The exact bytes of the next reply."""
        return self._next()[1]

    def read(self):
        """The next reply as a value."""
        return self._next()[0]

    def _next(self) -> tuple[object, bytes]:
        while not self.pending:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            self.pending.extend(self.parser.parse_raw(data))
        return self.pending.pop(0)

    def call(self, *args) -> bytes:
        self.send_command(*args)
        return self.read_raw()

    def read_until_closed(self) -> bytes:
        chunks = []
        while True:
            data = self.sock.recv(65536)
            if not data:
                return b"".join(chunks)
            chunks.append(data)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


class FakeSocket:
    """A connected socket for `serve`: hands out the prepared reads, keeps what is sent."""

    def __init__(self, reads):
        self.reads = iter(reads)
        self.sent = []

    def recv(self, _size):
        return next(self.reads, b"")

    def sendall(self, data):
        self.sent.append(data)

    def setsockopt(self, *_args):
        pass

    def settimeout(self, _timeout):
        pass

    def getpeername(self):
        return ("127.0.0.1", 50000)

    def getsockname(self):
        return ("127.0.0.1", 6379)

    def fileno(self):
        return -1


def serve(state, reads):
    """Run a connection's loop (app/server.py) in-process over ``reads``, on a fake socket
    that hands them out then reports end of file; what it sent, and its client."""
    import types

    from app.server import Connection

    connection = object.__new__(Connection)  # what socketserver builds, without its loop
    connection.request = FakeSocket(reads)
    connection.server = types.SimpleNamespace(state=state)
    connection.setup()
    connection.handle()
    return b"".join(connection.request.sent), connection.client
