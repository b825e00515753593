"""The documentation is current and its examples run as written.

The reason table of docs/decision.md is the one the gate specs write. Every ```python block of
README.md and docs/*.md is executed; every ```bash block and every `$ ` line of a ```console block
that calls `riskguard` is run in a shell, from a scratch directory laid out like the repository's
(``src`` and ``../shared/data`` resolve), and must exit as documented (0, or 1 for a documented
veto/finding). A block that needs something the test machine does not have (network, a server,
installing the package) is preceded by ``<!-- docs-test: skip: REASON -->`` and skipped with that
reason; a python block that goes on from the page's previous runnable python block (its names) is
preceded by ``<!-- docs-test: continues -->`` and runs after that block, in its namespace (a shell
block: after the page's previous shell block, in the same directory). A command whose exit code 1 is
documented says so in a trailing ``# exit 1: ...`` comment.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.main import get_command

from riskguard import preset
from riskguard.cli.app import app
from riskguard.config import config_hash
from riskguard.gates.reason_table import with_reason_table

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SHARED = ROOT.parent / "shared"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
_BLOCK = re.compile(r"(?:<!-- docs-test: (?:skip: (?P<skip>[^>]*?)|(?P<continues>continues)) -->\n)?"
                    r"```(?P<lang>[\w-]*)\n(?P<code>.*?)```", re.S)


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    code: str
    skip: str | None
    continues: bool = False

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def _blocks(langs: tuple[str, ...]) -> list[Block]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for m in _BLOCK.finditer(text):
            if m.group("lang") in langs:
                found.append(Block(page.relative_to(ROOT).as_posix(), text[:m.start("code")].count("\n"),
                                   m.group("lang"), m.group("code"), m.group("skip"),
                                   m.group("continues") is not None))
    return found


def _commands(block: Block) -> list[str]:
    """The shell commands of a block: `$ ` lines of a console block, every line of a bash block;
    backslash continuations joined, comments and output lines dropped."""
    lines, current = [], ""
    for raw in block.code.splitlines():
        line = raw.rstrip()
        if block.lang == "console":
            if not current and not line.startswith("$ "):
                continue
            line = line.removeprefix("$ ") if not current else line
        if not line.strip() or (not current and line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        lines.append(current + line)
        current = ""
    return lines


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A working directory where the docs' relative paths resolve: ``src`` -> the repository's,
    ``../shared`` -> the shared data."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "src").symlink_to(ROOT / "src")
    if SHARED.is_dir():
        (tmp_path / "shared").symlink_to(SHARED)
    return work


PYTHON_BLOCKS = _blocks(("python",))
SHELL_BLOCKS = [b for b in _blocks(("bash", "console")) if any("riskguard" in c for c in _commands(b))]


def test_the_reason_table_of_the_decision_doc_is_the_one_the_gate_specs_write() -> None:
    text = (DOCS / "decision.md").read_text(encoding="utf-8")
    assert text == with_reason_table(text), (
        "docs/decision.md's reason table drifted from the gate specs: run "
        "`python -m riskguard.gates.reason_table docs/decision.md`")


def test_every_documented_code_block_has_a_language_and_untagged_blocks_are_none() -> None:
    untagged = [f"{p.relative_to(ROOT)}:{p.read_text()[:m.start()].count(chr(10)) + 1}"
                for p in PAGES for m in _BLOCK.finditer(p.read_text()) if not m.group("lang")]
    assert not untagged, f"tag these blocks (python, bash, console, json, yaml or text): {untagged}"


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[b.id for b in PYTHON_BLOCKS])
def test_python_example_runs_as_written(block: Block, scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if block.skip:
        pytest.skip(block.skip)
    monkeypatch.chdir(scratch)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for step in _chain(block):
        exec(compile(step.code, step.id, "exec"), namespace)


def _chain(block: Block) -> list[Block]:
    """``block`` after the blocks it continues from (the page's previous runnable python blocks)."""
    if not block.continues:
        return [block]
    kind = PYTHON_BLOCKS if block.lang == "python" else SHELL_BLOCKS
    earlier = [b for b in kind if b.page == block.page and b.line < block.line and not b.skip]
    assert earlier, f"{block.id} continues, but no runnable block of its kind comes before it"
    return [*_chain(earlier[-1]), block]


@pytest.mark.slow  # each command is a process of its own; `riskguard demo` replays a year
@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=[b.id for b in SHELL_BLOCKS])
def test_shell_example_runs_as_written(block: Block, scratch: Path) -> None:
    if block.skip:
        pytest.skip(block.skip)
    if "../shared/data" in block.code and not SHARED.is_dir():
        pytest.skip(f"shared data not found at {SHARED}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKGUARD_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "120"
    for command in [c for step in _chain(block) for c in _commands(step)]:
        done = subprocess.run(["bash", "-c", command], cwd=scratch, env=env, capture_output=True, text=True,
                              timeout=600, check=False)
        documented_finding = done.returncode == 1 and _finding_expected(block, command)
        assert done.returncode == 0 or documented_finding, (
            f"{block.id}: `{command}` exited {done.returncode}\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
        assert "Traceback" not in done.stderr, f"{block.id}: `{command}`\n{done.stderr[-1500:]}"


def _finding_expected(block: Block, command: str) -> bool:
    """Exit 1 is documented where the block shows a veto or a finding for this command."""
    after = block.code.split(command.split(" \\")[0][:60], 1)[-1]
    shown = after.split("\n$ ", 1)[0]
    return (any(word in shown for word in ("VETO", "echo $?\n1", "warning:")) or "intent_too_big" in command
            or "# exit 1" in command)


def test_the_config_hashes_shown_in_the_docs_are_current() -> None:
    current = {config_hash(preset(name)) for name in ("conservative", "moderate", "aggressive")}
    for page in PAGES:
        for shown in re.findall(r"config_hash ([0-9a-f]{16})\b", page.read_text(encoding="utf-8")):
            assert shown in current, f"{page.name} shows config_hash {shown}; the presets' are {sorted(current)}"


def test_every_command_help_shows_an_example() -> None:
    from typer.testing import CliRunner

    runner = CliRunner()
    missing = []

    def walk(command: object, argv: list[str]) -> None:
        result = runner.invoke(app, [*argv, "--help"], env={"COLUMNS": "200"})
        if result.exit_code != 0 or "Example" not in result.stdout:
            missing.append(" ".join(["riskguard", *argv]) or "riskguard")
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, [*argv, name])

    walk(get_command(app), [])
    assert not missing, f"--help without an example: {missing}"


def test_shell_commands_are_split_as_the_shell_would() -> None:
    block = Block("x", 1, "console", "$ riskguard a \\\n    --b c\nout\n$ riskguard d  # note\n", None)
    assert [shlex.split(c, comments=True) for c in _commands(block)] == [["riskguard", "a", "--b", "c"],
                                                                         ["riskguard", "d"]]
