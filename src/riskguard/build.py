"""How this installation runs its hot path: compiled to C by mypyc, or as pure Python.

``setup.py`` compiles :data:`HOT_PATH_MODULES` with mypyc unless ``RISKGUARD_PURE_PYTHON=1`` is set
at install time; behaviour is identical either way, the compiled build is faster. This module is
read by ``setup.py`` before riskguard's dependencies exist, so it imports only the standard library.
"""

from __future__ import annotations

import importlib
import importlib.machinery
from pathlib import Path

HOT_PATH_MODULES: tuple[str, ...] = (
    "riskguard.gates.context",
    "riskguard.gates.order_gates",
    "riskguard.gates.portfolio_gates",
    "riskguard.gates.registry",
    "riskguard.engine.engine",
    "riskguard.book.book",
    "riskguard.book.cvar",
    "riskguard.model.rounding",
    "riskguard.config.limits",
)
"""The modules every pre-trade decision runs through (gates, their context, the engine, the book,
the CVaR gate, step rounding, the compiled posture)."""

_MTIME_SLACK_S = 2.0


def _is_compiled(path: str | None) -> bool:
    return path is not None and path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def hot_path_build() -> dict[str, str]:
    """``{module: "compiled" | "python"}`` for each hot-path module as imported here."""
    return {name: "compiled" if _is_compiled(importlib.import_module(name).__file__) else "python"
            for name in HOT_PATH_MODULES}


def hot_path_summary() -> str:
    """One line for ``--version`` and the benchmarks: compiled, pure Python, or mixed."""
    kinds = set(hot_path_build().values())
    if kinds == {"compiled"}:
        return "hot path compiled with mypyc"
    if kinds == {"python"}:
        return "hot path in pure Python"
    return "hot path partly compiled"


def is_stale(extension: Path, shared: Path | None = None) -> bool:
    """True when the ``.py`` source beside a compiled ``extension`` is newer than its build (seconds of
    slack). mypyc puts the module's code in one ``shared`` library for the whole build and leaves a
    small shim per module that a rebuild may not rewrite, so the newer of the two dates the build."""
    source = extension.parent / (extension.name.split(".", 1)[0] + ".py")
    built = extension.stat().st_mtime
    if shared is not None and shared.exists():
        built = max(built, shared.stat().st_mtime)
    return source.exists() and source.stat().st_mtime > built + _MTIME_SLACK_S


def _shared_library() -> Path | None:
    """The newest mypyc shared library beside the installed ``riskguard`` package, if any."""
    package = importlib.import_module("riskguard").__file__
    if package is None:
        return None
    found = sorted(Path(package).parent.parent.glob("*__mypyc*"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def stale_compiled_modules() -> list[str]:
    """Hot-path modules whose source changed after the extension beside it was built (an editable
    install edited since ``pip install -e .``): the old compiled code is what runs."""
    stale = []
    shared = _shared_library()
    for name in HOT_PATH_MODULES:
        path = importlib.import_module(name).__file__
        if path is not None and _is_compiled(path) and is_stale(Path(path), shared):
            stale.append(name)
    return stale
