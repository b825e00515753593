"""``riskguard config``: init, validate, show, diff and explain postures."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from riskguard.cli import output
from riskguard.cli.inputs import DEFAULT_PRESET
from riskguard.cli.output import ExitCode, InputFileError
from riskguard.config.preset_names import PRESETS, REFERENCE_NAV_USDT

# The rest of the posture machinery is imported by each command, not for `riskguard --help`.

config_app = typer.Typer(
    name="config",
    help="Create, validate, show, compare and explain risk postures.\n\n"
         "A posture is a YAML/JSON/TOML file or a shipped preset (preset:NAME). RISKGUARD_* environment "
         "variables override settings, e.g. RISKGUARD_TRADE__MAX_TRADE_NAV_PCT=0.18.",
    epilog="Examples: riskguard config init --preset moderate my.yaml; riskguard config explain my.yaml; "
           "riskguard config diff preset:moderate my.yaml",
    no_args_is_help=True,
)

PostureArgument = Annotated[str | None, typer.Argument(
    help="Posture file (.yaml/.json/.toml) or preset:NAME.", show_default=False)]
PresetOption = Annotated[str | None, typer.Option(
    "--preset", help=f"Shipped preset: {', '.join(PRESETS)}.", show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

_INIT_HEADER = """\
# riskguard posture, created by `riskguard config init --preset {preset}`.
# Every threshold, its value and the gate that enforces it: `riskguard config explain {path}`.
# Check your edits with `riskguard config validate {path}`; any RISKGUARD_* environment variable
# (e.g. RISKGUARD_TRADE__MAX_TRADE_NAV_PCT=0.18) overrides the matching setting at load time.
# Fractions are of NAV (0.20 = 20 %), times in seconds, amounts in USDT.

"""


@config_app.command(epilog="Example: riskguard config init --preset moderate my_posture.yaml")
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the posture.")] = Path("riskguard.yaml"),
    preset_name: Annotated[str, typer.Option("--preset", help=f"Starting point: {', '.join(PRESETS)}.")]
    = DEFAULT_PRESET,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Write a commented posture YAML, copied from a shipped preset, to edit and load with --posture."""
    from riskguard.config.hashing import config_hash
    from riskguard.config.loader import load_config

    with output.bad_input_exits():
        if preset_name not in PRESETS:
            raise InputFileError("--preset", f"unknown preset {preset_name!r}; choose one of {', '.join(PRESETS)}")
        if path.exists() and not force:
            raise InputFileError(str(path), "already exists; pass --force to overwrite it")
        text = _INIT_HEADER.format(preset=preset_name, path=path) + _preset_text(preset_name)
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputFileError(str(path), f"cannot write: {exc}") from None
        posture = load_config(path, environ={})
    if as_json:
        output.echo_json({"path": str(path), "preset": preset_name, "config_hash": config_hash(posture)})
        return
    output.stdout().print(f"wrote {path} (preset {preset_name}, config_hash {config_hash(posture)})", markup=False,
                          soft_wrap=True)


def _preset_text(name: str) -> str:
    return resources.files("riskguard.config").joinpath("presets", f"{name}.yaml").read_text(encoding="utf-8")


@config_app.command(epilog="Examples: riskguard config validate my_posture.yaml; "
                           "riskguard config validate my_posture.yaml --strict --nav 10000 --json\n\n"
                           "Exit codes: 0 valid (warnings are printed), 1 valid but --strict and a cap can never "
                           "bind, 2 invalid.")
def validate(
    path: Annotated[str, typer.Argument(help="Posture file (.yaml/.json/.toml) or preset:NAME.")],
    strict: Annotated[bool, typer.Option(
        "--strict", help="Treat a warning (a cap that can never bind) as a finding: exit 1.")] = False,
    nav: Annotated[float, typer.Option(
        "--nav", min=1.0, max=1e15, help="NAV (USDT) at which count caps such as max_open_positions are judged.")]
    = REFERENCE_NAV_USDT,
    as_json: JsonOption = False,
) -> None:
    """Check a posture; list every problem (field path and message) and exit 2 if there are any. Warn
    about every cap that can never bind because other caps stop first (e.g. max_open_positions: 999)."""
    from riskguard.cli.inputs import posture_from_ref
    from riskguard.config.binding import unbindable_caps
    from riskguard.config.errors import PostureError
    from riskguard.config.hashing import config_hash

    try:
        posture = posture_from_ref(path)
    except PostureError as exc:
        if as_json:
            output.echo_json({"source": path, "valid": False, "config_hash": None, "warnings": [],
                              "errors": [{"field": f, "message": m} for f, m in exc.problems]})
            raise typer.Exit(int(ExitCode.BAD_INPUT)) from None
        console = output.stderr()
        console.print(f"error: invalid posture {exc.source}:", markup=False, highlight=False, soft_wrap=True)
        for field, message in exc.problems:
            console.print(f"  {field}: {message}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(int(ExitCode.BAD_INPUT)) from None
    warnings = unbindable_caps(posture, nav)
    digest = config_hash(posture)
    if as_json:
        output.echo_json({"source": path, "valid": True, "config_hash": digest, "posture": posture.name,
                          "warnings": [{"field": w.field, "value": w.value, "message": w.reason} for w in warnings],
                          "errors": []})
    else:
        for warning in warnings:
            output.stderr().print(f"warning: {warning.line()}", markup=False, highlight=False, soft_wrap=True)
        output.stdout().print(f"valid: {path} (posture {posture.name}, config_hash {digest})"
                              + (f"; {len(warnings)} warning(s)" if warnings else ""),
                              markup=False, soft_wrap=True)
    if strict and warnings:
        raise typer.Exit(int(ExitCode.NEGATIVE))


@config_app.command(epilog="Examples: riskguard config show --preset moderate\n\n"
                           "RISKGUARD_TRADE__MAX_TRADE_NAV_PCT=0.18 riskguard config show my_posture.yaml --json")
def show(
    path: PostureArgument = None,
    preset_name: PresetOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the effective posture (defaults filled in, RISKGUARD_* overrides applied) and its config_hash."""
    import yaml

    from riskguard.cli.inputs import resolve_posture
    from riskguard.config.hashing import config_hash

    with output.bad_input_exits():
        posture = resolve_posture(preset_name, path)
    data = posture.model_dump(mode="json")
    digest = config_hash(posture)
    if as_json:
        output.echo_json({"config_hash": digest, "posture": data})
        return
    typer.echo(f"# posture {posture.name}  config_hash {digest}")
    typer.echo(yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100).rstrip())


@config_app.command(epilog="Example: riskguard config diff preset:moderate preset:aggressive\n\n"
                           "Exit codes: 0 identical, 1 different, 2 bad input.")
def diff(
    left: Annotated[str, typer.Argument(help="First posture: a file or preset:NAME.")],
    right: Annotated[str, typer.Argument(help="Second posture: a file or preset:NAME.")],
    as_json: JsonOption = False,
) -> None:
    """List every setting that differs between two postures."""
    from riskguard.cli.inputs import posture_from_ref
    from riskguard.config.compare import diff as diff_postures
    from riskguard.config.hashing import config_hash

    with output.bad_input_exits():
        a, b = posture_from_ref(left), posture_from_ref(right)
    changes = diff_postures(a, b)
    if as_json:
        output.echo_json({"left": {"source": left, "config_hash": config_hash(a)},
                          "right": {"source": right, "config_hash": config_hash(b)},
                          "changes": [{"path": c.path, "left": c.left, "right": c.right} for c in changes]})
    elif not changes:
        output.stdout().print(f"identical: {left} and {right} (config_hash {config_hash(a)})", markup=False,
                              soft_wrap=True)
    else:
        table = Table(title=f"{len(changes)} settings differ", title_justify="left")
        table.add_column("setting", overflow="fold")
        table.add_column(f"{left} ({config_hash(a)})", overflow="fold")
        table.add_column(f"{right} ({config_hash(b)})", overflow="fold")
        for change in changes:
            table.add_row(change.path, output.cell(change.left), output.cell(change.right))
        output.stdout().print(table)
    raise typer.Exit(int(ExitCode.NEGATIVE if changes else ExitCode.OK))


@config_app.command(epilog="Examples: riskguard config explain --preset moderate\n\n"
                           "riskguard config explain my_posture.yaml --json")
def explain(
    path: PostureArgument = None,
    preset_name: PresetOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every setting: its dotted path, its value, the gate that enforces it and what it means."""
    from riskguard.cli.inputs import resolve_posture
    from riskguard.config.hashing import config_hash
    from riskguard.gates.explain import explain as explain_posture

    with output.bad_input_exits():
        posture = resolve_posture(preset_name, path)
    rows = explain_posture(posture)
    if as_json:
        output.echo_json({"posture": posture.name, "config_hash": config_hash(posture),
                          "settings": [{"path": r.path, "value": r.value, "gate": r.gate,
                                        "description": r.description} for r in rows]})
        return
    table = Table(title=f"posture {posture.name}  config_hash {config_hash(posture)}", title_justify="left")
    for name in ("setting", "value", "gate", "description"):
        table.add_column(name, overflow="fold")
    for r in rows:
        table.add_row(r.path, output.cell(r.value), r.gate or "-", r.description)
    output.stdout().print(table)

