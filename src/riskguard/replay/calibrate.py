"""``riskguard calibrate``: replay a grid of postures over the same data and signals, in parallel.

Grid file (YAML)::

    base: moderate                 # a preset name or a posture file (relative to the grid file)
    postures:                      # optional: whole postures to compare as they are
      - preset:moderate
      - ultra_conservative.yaml
    grid:                          # optional: dotted posture paths -> values; the cartesian product
      trade.max_trade_nav_pct: [0.10, 0.20]   # of these is applied to ``base``
      symbols.BTCUSDT.max_leverage: [2, 4]

Each posture is replayed with the real engine (and by default the ledger) in a worker process;
the result per posture is its return, max drawdown, pass rate, trades and the gate that binds
most often.
"""

from __future__ import annotations

import copy
import itertools
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from riskguard.config.errors import PostureError
from riskguard.config.loader import preset_data, validate_posture
from riskguard.config.preset_names import PRESETS
from riskguard.config.schema import Posture
from riskguard.examples import EXAMPLE_PREFIX, example_path
from riskguard.model.codec import encode_pretty
from riskguard.model.errors import InputValidationError
from riskguard.replay.market import MarketData
from riskguard.replay.metrics import summarize
from riskguard.replay.report import SYNTHETIC_BANNER, rounded
from riskguard.replay.runner import ReplayOptions, run_replay
from riskguard.replay.signals_file import FileSignal
from riskguard.replay.strategies import strategy_by_name

PRESET_PREFIX = "preset:"
_GRID_KEYS = frozenset({"base", "postures", "grid"})


@dataclass(frozen=True, slots=True)
class GridPoint:
    """One posture of the sweep: a label, the overrides that made it, and its validated data."""

    label: str
    overrides: dict[str, Any]
    data: dict[str, Any]


def _posture_data(ref: str, folder: Path, field: str) -> tuple[str, dict[str, Any]]:
    name = ref[len(PRESET_PREFIX):] if ref.startswith(PRESET_PREFIX) else ref
    if name in PRESETS:
        return name, preset_data(name)
    path = Path(ref) if Path(ref).is_absolute() else folder / ref
    if not path.is_file():
        raise InputValidationError(field, f"neither a preset ({', '.join(PRESETS)}) nor a posture file", ref)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputValidationError(field, f"{path} is not readable YAML: {exc}", ref) from None
    if not isinstance(data, dict):
        raise InputValidationError(field, f"{path} must hold a mapping", ref)
    return path.stem, data


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    *parents, leaf = dotted.split(".")
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise InputValidationError(f"grid.{dotted}", f"{part} is not a section", child)
        node = child
    node[leaf] = value


def _validated(data: dict[str, Any], source: str) -> None:
    try:
        validate_posture(copy.deepcopy(data), source)
    except PostureError as exc:
        problems = "; ".join(f"{f}: {m}" for f, m in exc.problems)
        raise InputValidationError(source, f"invalid posture: {problems}", None) from None


def load_grid(path: Path | str) -> list[GridPoint]:
    """The postures of a grid file, validated (errors name the grid file and the entry)."""
    try:
        file = example_path(str(path)) if str(path).startswith(EXAMPLE_PREFIX) else Path(path)
    except KeyError:
        raise InputValidationError(str(path), "no such example grid; try example:calibrate_grid") from None
    if not file.is_file():
        raise InputValidationError(str(file), "no such grid file", None)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputValidationError(str(file), f"not readable YAML: {exc}", None) from None
    if not isinstance(raw, dict):
        raise InputValidationError(str(file), "must be a mapping with base / postures / grid", None)
    unknown = sorted(set(raw) - _GRID_KEYS)
    if unknown:
        raise InputValidationError(f"{file}:{unknown[0]}", f"unknown key; known: {sorted(_GRID_KEYS)}", None)
    folder = file.parent
    points: list[GridPoint] = []
    postures = raw.get("postures") or []
    if not isinstance(postures, list):
        raise InputValidationError(f"{file}:postures", "must be a list of presets or posture files", postures)
    for i, ref in enumerate(postures):
        label, data = _posture_data(str(ref), folder, f"{file}:postures[{i}]")
        _validated(data, f"{file}:postures[{i}]")
        points.append(GridPoint(label, {}, data))
    grid = raw.get("grid") or {}
    if not isinstance(grid, dict):
        raise InputValidationError(f"{file}:grid", "must map dotted posture paths to lists of values", grid)
    if grid:
        base_label, base = _posture_data(str(raw.get("base", "moderate")), folder, f"{file}:base")
        keys = sorted(grid)
        for key in keys:
            if not isinstance(grid[key], list) or not grid[key]:
                raise InputValidationError(f"{file}:grid.{key}", "must be a non-empty list of values", grid[key])
        for values in itertools.product(*(grid[k] for k in keys)):
            overrides = dict(zip(keys, values, strict=True))
            data = copy.deepcopy(base)
            for key, value in overrides.items():
                _set_path(data, key, value)
            label = base_label + " with " + ", ".join(f"{k}={v}" for k, v in overrides.items())
            _validated(data, f"{file}:grid {label}")
            points.append(GridPoint(label, overrides, data))
    if not points:
        raise InputValidationError(str(file), "defines no posture (give postures and/or grid)", None)
    return points


def _run_point(point: GridPoint, market: MarketData, strategy_names: Sequence[str], leverage: float | None,
               file_signals: Sequence[FileSignal], options: ReplayOptions) -> dict[str, Any]:
    posture: Posture = validate_posture(copy.deepcopy(point.data), point.label)
    strategies = [strategy_by_name(n, leverage=leverage) for n in strategy_names]
    result = run_replay(posture, market, strategies=strategies, file_signals=file_signals, options=options)
    s = summarize(result)
    return {"label": point.label, "posture": posture.name, "config_hash": result.config_hash,
            "overrides": point.overrides, "total_return": s.total_return, "max_drawdown": s.max_drawdown,
            "sharpe": s.sharpe, "pass_rate": s.pass_rate, "trades": s.trades, "decisions": s.decisions,
            "approved": s.approved, "resized": s.resized, "binding_gate": s.binding_gate,
            "vetoes_by_reason": s.vetoes_by_reason}


def calibrate(points: Sequence[GridPoint], market: MarketData, *, strategy_names: Sequence[str] = (),
              leverage: float | None = None, file_signals: Sequence[FileSignal] = (),
              options: ReplayOptions | None = None, workers: int = 1,
              progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    """Replay every grid point; rows come back in grid order whatever the completion order."""
    opts = options or ReplayOptions()
    rows: dict[int, dict[str, Any]] = {}
    total = len(points)
    if workers <= 1 or total == 1:
        for i, point in enumerate(points):
            rows[i] = _run_point(point, market, strategy_names, leverage, file_signals, opts)
            if progress is not None:
                progress(i + 1, total)
    else:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(_run_point, p, market, strategy_names, leverage, file_signals, opts): i
                       for i, p in enumerate(points)}
            for done, future in enumerate(as_completed(futures), start=1):
                rows[futures[future]] = future.result()
                if progress is not None:
                    progress(done, total)
    return [rows[i] for i in range(total)]


def calibrate_json(rows: Sequence[dict[str, Any]], market: MarketData) -> str:
    """Deterministic JSON of the sweep (sorted keys, fixed rounding)."""
    data: dict[str, Any] = {"report": "riskguard calibrate", "synthetic": market.synthetic,
                            "data": market.description, "postures": list(rows)}
    if market.synthetic:
        data["warning"] = SYNTHETIC_BANNER
    return encode_pretty(rounded(data), sort_keys=True) + "\n"


def calibrate_plot(rows: Sequence[dict[str, Any]], market: MarketData, path: Path) -> None:
    """Return and pass rate against max drawdown, one point per posture (PNG)."""
    import matplotlib.pyplot as plt

    fig = calibrate_figure(rows, market)
    fig.savefig(path, format="png", dpi=96, metadata={"Software": None})
    plt.close(fig)


def calibrate_figure(rows: Sequence[dict[str, Any]], market: MarketData) -> Any:
    """The matplotlib figure of :func:`calibrate_plot`: two panels, each point numbered as its row
    of the terminal table, and a legend naming every numbered posture."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    legend_rows = len(rows) if len(rows) > 6 else (len(rows) + 1) // 2
    height = 4.2 + 0.2 * legend_rows
    fig, axes = plt.subplots(1, 2, figsize=(11, height))
    tag = " (SYNTHETIC DATA)" if market.synthetic else ""
    palette = plt.get_cmap("tab20")
    for ax, key, label in ((axes[0], "total_return", "return (%)"), (axes[1], "pass_rate", "pass rate (%)")):
        for i, row in enumerate(rows):
            x = row["max_drawdown"] * 100.0
            y = (row[key] or 0.0) * 100.0
            # The number beside each point is the row number of the terminal table and the legend.
            ax.scatter([x], [y], color=palette(i % 20), label=f"{i + 1}: {row['label']}")
            ax.annotate(str(i + 1), (x, y), fontsize=8, xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("max drawdown (%)")
        ax.set_ylabel(label)
        ax.set_title(f"{label} vs max drawdown{tag}")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=1 if len(rows) > 6 else 2, fontsize=8,
               title="postures", frameon=False)
    fig.tight_layout(rect=(0.0, (0.4 + 0.2 * legend_rows) / height, 1.0, 1.0))
    return fig
