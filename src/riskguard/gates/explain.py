"""List every setting of a posture with its value, the gates that read it (from their specs) and
its description (from the posture schema)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from riskguard.config.schema import Posture
from riskguard.gates.registry import GATES


@dataclass(frozen=True, slots=True)
class ThresholdExplanation:
    """One setting: dotted path, value, the gates that read it (comma separated; None for settings
    no gate reads), description."""

    path: str
    value: Any
    gate: str | None
    description: str


def _walk(model: BaseModel, prefix: str) -> list[ThresholdExplanation]:
    rows: list[ThresholdExplanation] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        path = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            rows.extend(_walk(value, path + "."))
        elif isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
            for key, sub in value.items():
                rows.extend(_walk(sub, f"{path}.{key}."))
        else:
            readers = ", ".join(g.reason for g in GATES if g.reads_path(path))
            rows.append(ThresholdExplanation(path, value, readers or None, info.description or ""))
    return rows


def explain(posture: Posture) -> list[ThresholdExplanation]:
    """Every setting of the posture in schema order."""
    return _walk(posture, "")
