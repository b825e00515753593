"""Packing old decisions on a background thread of the process that writes them.

Every segment's worth of reserves this process commits (``ledger.decision_segments``),
its thread packs the account's decisions older than ``pack_after_s`` (wall clock) into segments.
LZMA releases the GIL while it compresses, and compression runs outside any write transaction, so
the reserve path neither waits for it nor holds the account lock during it; the thread's own write
(one segment row, its decisions marked) is a short transaction like any other writer's.
A failure is logged and retried at the next wake: packing only saves space, it never blocks a
decision, and a decision not yet packed reads the same.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from riskguard.ledger.commit_thread import CommitTriggeredThread

log = logging.getLogger("riskguard.ledger")

_IDLE_S = 60.0  # a thread with nothing to do for this long ends (the next wake starts another)


class PackingThread(CommitTriggeredThread):
    """Calls ``pack()`` on a thread of whichever process commits, every ``every`` commits."""

    def __init__(self, pack: Callable[[], int], every: int) -> None:
        super().__init__("riskguard-decision-packing", every)
        self.pack = pack

    def _run(self, wake: threading.Event) -> None:
        while wake.wait(_IDLE_S) and not self._stop:
            wake.clear()
            try:
                self.pack()
            except Exception:  # packing only saves space: never let it take the process down
                log.warning("packing old decisions failed; retried after the next %d reserves", self.every,
                            exc_info=True)
