"""Package attributes imported on first use (PEP 562), for packages whose ``__init__`` re-exports.

``riskguard --help`` imports every CLI command module, and importing any submodule runs its package's
``__init__``: eager re-exports there would load pydantic, pandas, SQLAlchemy and the engine into
commands that use none of them. A package lists ``{name: home module}`` and gets a ``__getattr__``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``name`` from ``homes[name]`` on first use
    and caches it in the package's namespace."""
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        namespace[name] = value
        return value

    return __getattr__
