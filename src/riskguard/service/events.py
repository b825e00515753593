"""Wakes the dashboard's server-sent-event streams when this process writes to the ledger; writes of
other processes (workers, hosts) are found by polling the ledger's version."""

from __future__ import annotations

import asyncio
import contextlib


class ChangeNotifier:
    """``notify()`` from any thread; ``await wait(timeout)`` in the event loop returns on the next
    notification or after ``timeout`` seconds, whichever comes first."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: set[asyncio.Event] = set()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop the streams run in (set at start-up)."""
        self._loop = loop

    def notify(self) -> None:
        """Wake every waiting stream (thread-safe)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop shut down between the check and the call
            loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        for waiter in self._waiters:
            waiter.set()

    async def wait(self, timeout: float) -> None:
        """Until the next notification or ``timeout`` seconds."""
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), timeout)
        finally:
            self._waiters.discard(waiter)
