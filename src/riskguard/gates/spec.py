"""A gate's declaration: everything the engine, ``config explain`` and the docs know about it."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from riskguard.gates.context import GateContext
from riskguard.model.decision import GateCheck
from riskguard.model.enums import Severity

GateFunction = Callable[[GateContext], GateCheck]


@dataclass(frozen=True, slots=True)
class GateSpec:
    """One gate, declared once.

    ``reason`` is its stable reason code; ``check`` its body; ``size_bound`` whether it reports a
    headroom that takes part in ``max_notional_allowed`` and resize-to-fit; ``exempt_when_reducing``
    whether an order that only reduces an open position of its strategy passes it whatever it
    observes (the engine applies this, the body does not know); ``severity`` its default severity
    and ``may_be_soft`` whether a posture may choose it (``gates.soft``); ``reads`` the posture
    fields it reads (dotted paths, ``*`` for any key of a keyed section). Its one-line description
    is the first paragraph of the body's docstring.
    """

    reason: str
    check: GateFunction
    reads: tuple[str, ...] = ()
    size_bound: bool = False
    exempt_when_reducing: bool = False
    severity: Severity = Severity.HARD
    may_be_soft: bool = False

    @property
    def description(self) -> str:
        """The first paragraph of the body's docstring, on one line."""
        doc = inspect.getdoc(self.check) or ""
        return " ".join(doc.split("\n\n", 1)[0].split())

    def reads_path(self, path: str) -> bool:
        """Whether this gate reads the posture setting at dotted ``path`` (e.g.
        ``symbols.BTCUSDT.max_nav_pct`` matches ``symbols.*.max_nav_pct``)."""
        parts = path.split(".")
        for pattern in self.reads:
            wanted = pattern.split(".")
            if len(wanted) == len(parts) and all(w in ("*", p) for w, p in zip(wanted, parts, strict=True)):
                return True
        return False
