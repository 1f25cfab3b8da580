"""Serving other clients while a script runs too long (Redis: BUSY, SCRIPT KILL).

A script holds the keyspace lock from start to end, so every other client's thread
waits for the lock while it runs. Redis, single-threaded, does the same, with one
exception: past ``busy-reply-threshold`` milliseconds it starts answering other
clients again from inside the script (processEventsWhileBlocked), so they learn why
they wait: everything but the few commands flagged ``allow_busy`` (SCRIPT KILL,
FUNCTION KILL, SHUTDOWN NOSAVE, MULTI...) gets ``BUSY``.

Here the same happens by hand-over. A connection's thread that cannot get the lock
looks, every `POLL_SECONDS`, whether a script has become busy (`ServerState.busy_script`).
If so it hands its command (or, for a new connection, its registration) to
`BusyScript.submit` and waits; the script's thread,
from the Lua hook it runs every 100,000 instructions (app/scripting/eval.py), calls
`BusyScript.serve`, which runs each handed-over command through the dispatcher,
still holding the lock. The dispatcher answers BUSY or, for SCRIPT KILL, marks the
script to be stopped at its next hook. When the script ends, commands not served yet
go back to their threads, which take the lock as usual.
"""

from __future__ import annotations

import threading
from collections import deque

POLL_SECONDS = 0.05  # how often a waiting thread looks whether the script became busy


NOT_SERVED = object()  # what `submit` says when the script ended before serving the request


class _Request:
    __slots__ = ("work", "result", "done", "taken")

    def __init__(self, work):
        self.work = work
        self.result = NOT_SERVED
        self.done = threading.Event()
        self.taken = False


class BusyScript:
    """The hand-over between the busy script's thread and the clients waiting."""

    def __init__(self, server):
        self.server = server
        self._lock = threading.Lock()  # guards `requests` and each request's `taken`
        self.requests: deque[_Request] = deque()

    def start(self, run) -> None:
        self.server.busy_script = run

    def end(self) -> None:
        self.server.busy_script = None

    def refusal(self):
        """The error for a command that may not run while the script is busy."""
        from app.protocol import ReplyError

        run = self.server.busy_script
        kill = "SCRIPT KILL" if run is None or run.kind == "script" else "FUNCTION KILL"
        return ReplyError(f"BUSY Redis is busy running a script. You can only call {kill} or SHUTDOWN NOSAVE.")

    def submit(self, work):
        """From a client's thread, without the keyspace lock: have the busy script's
        thread call ``work()`` (with the lock); its result, or `NOT_SERVED` if the
        script ended first (then do the work as usual)."""
        request = _Request(work)
        with self._lock:
            self.requests.append(request)
        while not request.done.wait(POLL_SECONDS):
            if self.server.busy_script is None:
                with self._lock:
                    if not request.taken:
                        self.requests.remove(request)
                        return NOT_SERVED
        return request.result

    def command(self, client, argv: list[bytes]):
        """`submit` a command: the dispatcher runs it in the script's thread."""
        from app.dispatch import execute_locked

        server = self.server
        keyspace = server.keyspace

        def work():
            # The dispatcher sets these for the command it runs: they are the script's.
            saved = server.current_client, keyspace.obeying_master, keyspace.touching
            try:
                return execute_locked(client, argv)
            finally:
                server.current_client, keyspace.obeying_master, keyspace.touching = saved

        return self.submit(work)

    def serve(self) -> None:
        """From the script's thread, holding the lock: do the work handed over."""
        while True:
            with self._lock:
                if not self.requests:
                    return
                request = self.requests.popleft()
                request.taken = True
            try:
                request.result = request.work()
            finally:
                request.done.set()
