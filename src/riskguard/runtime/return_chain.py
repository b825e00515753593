"""The CVaR return set a process's next decision refers to, stored as a change to its previous one.

A replay (or a bot) feeds each symbol's return window every bar; between two decisions the window
usually slid by a bar. ``ReturnChain`` stores the new set as a delta of the last one it stored
(riskguard.ledger.return_sets) when each symbol's new window is exactly the old one with its first
``k`` returns dropped and new ones appended (compared bit for bit, so that a replay feeds exactly
the data the decision saw), and as a full set otherwise, and at least every
``RETURN_KEYFRAME_EVERY`` sets.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from riskguard.ledger.return_sets import RETURN_KEYFRAME_EVERY, ReturnSetStore
from riskguard.model.codec import encode

FloatArray = npt.NDArray[np.float64]


class ReturnChain:
    """This process's last stored return set, and the arrays it holds."""

    def __init__(self, keyframe_every: int = RETURN_KEYFRAME_EVERY) -> None:
        self.keyframe_every = keyframe_every
        self._hash: str | None = None
        self._arrays: dict[str, FloatArray] = {}
        self._depth = 0

    def reference(self, store: ReturnSetStore, arrays: dict[str, FloatArray]) -> str | None:
        """The hash of the return set ``arrays`` (symbol -> returns, oldest first, symbol order), stored
        in ``store`` as a delta of the previous one when exact; None for no returns at all."""
        if not arrays:
            return None
        delta = self._delta(arrays)
        if delta is None:
            self._hash = store.store_return_set(encode({s: a.tolist() for s, a in arrays.items()}))
            self._depth = 0
        else:
            assert self._hash is not None
            self._hash = store.store_return_delta(self._hash, *delta)
            self._depth += 1
        self._arrays = dict(arrays)
        return self._hash

    def _delta(self, arrays: dict[str, FloatArray]) -> tuple[dict[str, int], dict[str, list[float]]] | None:
        old = self._arrays
        if self._hash is None or self._depth + 1 >= self.keyframe_every or list(old) != list(arrays):
            return None
        dropped: dict[str, int] = {}
        appended: dict[str, list[float]] = {}
        for symbol, new in arrays.items():
            slide = _slide(old[symbol], new)
            if slide is None:
                return None
            dropped[symbol] = slide
            appended[symbol] = new[old[symbol].size - slide:].tolist()
        return dropped, appended


def _slide(old: FloatArray, new: FloatArray) -> int | None:
    """The ``k`` such that ``new`` is ``old[k:]`` followed by new returns (bitwise, at least one of
    ``old`` kept), else None. The candidates are where ``new``'s first return sits in ``old``."""
    if old.size == 0 or new.size == 0:
        return None
    first = new[:1].view(np.uint64)[0]
    for k in np.flatnonzero(old.view(np.uint64) == first).tolist():
        kept = old.size - k
        if kept <= new.size and old[k:].tobytes() == new[:kept].tobytes():
            return int(k)
    return None
