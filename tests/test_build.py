"""The installation says whether its hot path is compiled, and tests refuse stale compiled code."""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from riskguard.build import HOT_PATH_MODULES, hot_path_build, hot_path_summary, is_stale
from riskguard.cli.app import app


def test_every_hot_path_module_is_reported_as_compiled_or_python() -> None:
    build = hot_path_build()
    assert tuple(build) == HOT_PATH_MODULES
    assert set(build.values()) <= {"compiled", "python"}


def test_version_names_how_the_hot_path_runs() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert hot_path_summary() in result.stdout


def test_a_source_edited_after_its_extension_was_built_is_stale(tmp_path: Path) -> None:
    extension = tmp_path / "engine.cpython-311-x86_64-linux-gnu.so"
    extension.write_bytes(b"")
    source = tmp_path / "engine.py"
    source.write_text("x = 1\n")
    os.utime(extension, (1_000_000.0, 1_000_000.0))
    os.utime(source, (1_000_060.0, 1_000_060.0))
    assert is_stale(extension)


def test_an_extension_built_after_its_source_is_not_stale(tmp_path: Path) -> None:
    extension = tmp_path / "engine.cpython-311-x86_64-linux-gnu.so"
    extension.write_bytes(b"")
    source = tmp_path / "engine.py"
    source.write_text("x = 1\n")
    os.utime(source, (1_000_000.0, 1_000_000.0))
    os.utime(extension, (1_000_060.0, 1_000_060.0))
    assert not is_stale(extension)


def test_a_shim_older_than_its_source_is_not_stale_when_the_shared_library_was_rebuilt(tmp_path: Path) -> None:
    extension = tmp_path / "engine.cpython-311-x86_64-linux-gnu.so"
    shared = tmp_path / "0123abcd__mypyc.cpython-311-x86_64-linux-gnu.so"
    source = tmp_path / "engine.py"
    for path in (extension, shared):
        path.write_bytes(b"")
    source.write_text("x = 1\n")
    os.utime(extension, (1_000_000.0, 1_000_000.0))
    os.utime(source, (1_000_030.0, 1_000_030.0))
    os.utime(shared, (1_000_060.0, 1_000_060.0))
    assert not is_stale(extension, shared)
    assert is_stale(extension)
