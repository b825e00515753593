"""SQLite WAL checkpoints on a background thread, off the reserve() path.

SQLite copies its write-ahead log back into the database file (a checkpoint) from inside the
commit that grows the log past ``wal_autocheckpoint`` pages, and with ``synchronous=NORMAL`` that
checkpoint fsyncs the log and the database: 5-25 ms on the development VM, every ~100 reserves
(each stores ~20 kB), inside the account lock, about a quarter of the reserve time in the bench.
Here the process's reserve connection commits only, and every ``every`` commits a thread of the
process runs a PASSIVE checkpoint on its own connection: PASSIVE never waits for (nor blocks)
writers or readers, and the thread sleeps in the fsyncs without the GIL, so the I/O overlaps
with the next reserves. Durability is unchanged: a commit is in the log when it returns, and
a crash at any point of a checkpoint leaves the log to be replayed by the next opener.

The reserve connection keeps an automatic checkpoint at a larger size as a backstop (the log
stays bounded when the thread cannot keep up, or when other processes keep writing so that no
checkpoint ever catches up with the end of the log and SQLite cannot restart it from the top).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Any

from riskguard.ledger.commit_thread import CommitTriggeredThread

log = logging.getLogger("riskguard.ledger")

BACKSTOP_PAGES = 10_000
"""``wal_autocheckpoint`` of the reserve connection (pages of 4 kB): ~40 MB of log at most."""
_IDLE_S = 30.0  # a thread with nothing to do for this long closes its connection and ends


class WalCheckpointer(CommitTriggeredThread):
    """Checkpoints the WAL of the SQLite file ``path`` every ``every`` commits, on a thread of
    whichever process commits (a thread does not survive fork: the child starts its own)."""

    def __init__(self, path: str, every: int = 64) -> None:
        super().__init__("riskguard-wal-checkpoint", every)
        self.path = path
        self.checkpoints = 0  # completed by the thread (for tests and curiosity)

    def configure(self, dbapi_connection: Any) -> None:
        """Move the automatic checkpoint of the committing connection to the backstop size."""
        dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")

    def _run(self, wake: threading.Event) -> None:
        try:
            connection = sqlite3.connect(self.path, timeout=1.0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            log.debug("WAL checkpoint thread could not connect; the backstop checkpoint remains", exc_info=True)
            return
        try:
            connection.execute("PRAGMA synchronous=NORMAL")
            while wake.wait(_IDLE_S) and not self._stop:
                wake.clear()
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error:
                    # Another checkpointer is running, or the file is busy: the next wake retries.
                    log.debug("WAL checkpoint skipped", exc_info=True)
        finally:
            connection.close()
