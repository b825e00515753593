"""A background thread woken every N commits of this process: the plumbing shared by the WAL
checkpoints (``ledger.walcheckpoint``) and the packing of old decisions (``ledger.packing_thread``)."""

from __future__ import annotations

import os
import threading


class CommitTriggeredThread:
    """Runs :meth:`_run` on a daemon thread named ``name``, woken every ``every`` commits counted by
    :meth:`committed`. The thread belongs to the process that started it (a thread does not survive
    fork: the child starts its own at its first wake)."""

    def __init__(self, name: str, every: int) -> None:
        self.name = name
        self.every = every
        self._commits = 0
        self._thread: threading.Thread | None = None
        self._pid = -1
        self._wake = threading.Event()
        self._stop = False

    def committed(self) -> None:
        """Count a commit; every ``every``-th wakes the thread (after the account lock is released)."""
        self._commits += 1
        if self._commits < self.every:
            return
        self._commits = 0
        thread = self._thread
        if thread is None or self._pid != os.getpid() or not thread.is_alive():
            self._start()
        self._wake.set()

    def _start(self) -> None:
        self._pid = os.getpid()
        self._wake = threading.Event()  # an inherited Event may hold the parent's internal lock
        self._stop = False
        self._thread = threading.Thread(target=self._run, args=(self._wake,), name=self.name, daemon=True)
        self._thread.start()

    def _run(self, wake: threading.Event) -> None:
        """The thread's loop: wait for ``wake`` (clearing it), work, until :meth:`close` sets ``_stop``."""
        raise NotImplementedError

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop this process's thread (waits up to ``timeout_s`` for running work to finish)."""
        thread = self._thread
        self._thread = None
        if thread is not None and self._pid == os.getpid() and thread.is_alive():
            self._stop = True
            self._wake.set()
            thread.join(timeout=timeout_s)
