"""Several proxy processes on one listening socket, so `apishield proxy` uses every core.

One interpreter serves one core, so `apishield proxy --workers N` binds the socket once and forks
N processes that accept on it (the kernel spreads connections across them). Each builds its own
guard after the fork, since threads do not survive one. Rate limits, blocks and detector state
must then be shared, or each process would enforce its own limits: the CLI requires
`state.backend: redis` for more than one worker.

The parent only supervises. SIGINT or SIGTERM is passed to every worker, which stops accepting,
finishes what is in flight and drains its guard; the parent waits for all of them. A worker that
dies on its own is logged and started again, at most `MAX_RESTARTS` times a minute, so a worker
that cannot start does not spin.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import time
from collections import deque
from collections.abc import Callable
from types import FrameType

log = logging.getLogger("apishield.proxy")

MAX_RESTARTS = 5
"""Restarts of dead workers allowed within a minute; past it the proxy stops."""


class Workers:
    def __init__(self, count: int, sock: socket.socket, serve: Callable[[socket.socket], int]):
        """`serve` runs in each worker on the shared socket and returns its exit status."""
        self.count = count
        self.sock = sock
        self.serve = serve
        self.pids: dict[int, int] = {}
        """pid -> worker number."""
        self._stopping = False
        self._restarts: deque[float] = deque()

    def run(self) -> int:
        """Start the workers and supervise them until a signal stops them all; 0 when every
        worker stopped cleanly."""
        for number in range(self.count):
            self._fork(number)
        previous = {s: signal.signal(s, self._stop) for s in (signal.SIGINT, signal.SIGTERM)}
        status = 0
        try:
            while self.pids:
                try:
                    pid, code = os.wait()
                except ChildProcessError:
                    break
                except InterruptedError:
                    continue
                if pid not in self.pids:
                    continue
                number = self.pids.pop(pid)
                exit_code = os.waitstatus_to_exitcode(code)
                if self._stopping:
                    status = status or (exit_code if exit_code > 0 else 0)
                elif not self._restart(number, pid, exit_code):
                    status = 1
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return status

    def _fork(self, number: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker: serve, then leave without running the parent's clean-up
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                code = self.serve(self.sock)
            except BaseException:
                log.exception("proxy worker %d failed", number)
            finally:
                os._exit(code)
        self.pids[pid] = number

    def _restart(self, number: int, pid: int, exit_code: int) -> bool:
        now = time.monotonic()
        while self._restarts and now - self._restarts[0] > 60:
            self._restarts.popleft()
        if len(self._restarts) >= MAX_RESTARTS:
            log.error("proxy worker %d (pid %d) exited with %d; too many restarts, stopping",
                      number, pid, exit_code)  # fmt: skip
            self._stop(signal.SIGTERM, None)
            return False
        self._restarts.append(now)
        log.warning("proxy worker %d (pid %d) exited with %d; starting it again",
                    number, pid, exit_code)  # fmt: skip
        time.sleep(1.0)
        if not self._stopping:
            self._fork(number)
        return True

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        """Pass SIGTERM on: a graceful stop. (Ctrl+C also reaches the workers as SIGINT from the
        terminal; a second SIGINT would stop them at once, so the parent never sends one.)"""
        self._stopping = True
        for pid in list(self.pids):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
