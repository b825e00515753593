"""Imports run only downward: every module of src/riskguard against the layer table of
docs/architecture.md (the table is the specification; this test reads it)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "riskguard"
TABLE = ROOT / "docs" / "architecture.md"
_ROW = re.compile(r"^\| (\d+) \|([^|]+)\|([^|]*)\|")
_PACKAGE = re.compile(r"`riskguard\.(\w+)`")


def _layer_table() -> tuple[dict[str, int], dict[str, set[str]]]:
    """package -> layer, and package -> same-layer packages it may import, from the doc's table."""
    layers: dict[str, int] = {}
    sideways: dict[str, set[str]] = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match is None:
            continue
        allowed = set(_PACKAGE.findall(match.group(3)))
        for package in _PACKAGE.findall(match.group(2)):
            layers[package] = int(match.group(1))
            sideways[package] = allowed
    return layers, sideways


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every absolute import of riskguard in ``path``, in functions too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names if alias.name.startswith("riskguard")]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: relative import; write the absolute module"
            if node.module is not None and node.module.startswith("riskguard"):
                found.append((node.lineno, node.module, [alias.name for alias in node.names]))
    return found


def _package_of(path: Path) -> str:
    parts = path.relative_to(SOURCE).with_suffix("").parts
    return parts[0]


def _violations() -> list[str]:
    layers, sideways = _layer_table()
    problems = []
    for path in sorted(SOURCE.rglob("*.py")):
        if path.parent == SOURCE and path.name == "__init__.py":
            continue  # the public face of the package sits above every layer
        package = _package_of(path)
        if package not in layers:
            problems.append(f"{path.relative_to(ROOT)}: package riskguard.{package} has no row in {TABLE.name}")
            continue
        for line, module, names in _imports(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if module == "riskguard":
                if names != ["__version__"]:
                    problems.append(f"{where}: imports {names} from the top-level package (only __version__)")
                continue
            target = module.split(".")[1]
            if target == package:
                continue
            if target not in layers:
                problems.append(f"{where}: imports riskguard.{target}, which has no row in {TABLE.name}")
            elif layers[target] > layers[package]:
                problems.append(f"{where}: riskguard.{package} (layer {layers[package]}) imports {module} "
                                f"(layer {layers[target]}): up")
            elif layers[target] == layers[package] and target not in sideways[package]:
                problems.append(f"{where}: riskguard.{package} imports {module} sideways (layer "
                                f"{layers[target]}), which its row does not allow")
    return problems


def test_the_layer_table_places_every_package_of_the_shared_architecture() -> None:
    layers, _ = _layer_table()
    expected = {"model": 0, "config": 0, "math": 1, "book": 2, "gates": 2, "sizing": 2, "policy": 2, "exits": 2,
                "engine": 3, "ledger": 3, "exchange": 3, "runtime": 4, "monitor": 5, "replay": 5, "service": 6,
                "client": 6, "integrations": 6, "cli": 6}
    assert {name: layers.get(name) for name in expected} == expected


def test_every_import_under_src_runs_down_the_layers() -> None:
    assert _violations() == []


def test_the_ledger_imports_nothing_of_the_engine() -> None:
    for path in (SOURCE / "ledger").rglob("*.py"):
        assert [m for _, m, _ in _imports(path) if m.startswith(("riskguard.engine", "riskguard.runtime"))] == [], path


def test_upward_and_sideways_imports_are_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk itself can fail: a ledger module importing the runtime (up, inside a function) or
    the engine (sideways) is named, an allowed sideways import is not."""
    fake = tmp_path / "src" / "riskguard"
    (fake / "ledger").mkdir(parents=True)
    (fake / "ledger" / "bad.py").write_text("import riskguard.engine\n"
                                            "def f() -> None:\n    from riskguard.runtime.gate import RiskGate\n")
    (fake / "gates").mkdir()
    (fake / "gates" / "ok.py").write_text("from riskguard.book.book import Book\nfrom riskguard.sizing import x\n")
    monkeypatch.setitem(globals(), "SOURCE", fake)
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    problems = _violations()
    assert any("ledger/bad.py:1" in p and "sideways" in p for p in problems), problems
    assert any("ledger/bad.py:3" in p and "up" in p for p in problems), problems
    assert any("gates/ok.py:2" in p and "sideways" in p for p in problems), problems
    assert not any("gates/ok.py:1" in p for p in problems), problems
