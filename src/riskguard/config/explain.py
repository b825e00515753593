"""List every threshold of a posture with its value and the gate that enforces it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from riskguard.config.schema import Posture


@dataclass(frozen=True, slots=True)
class ThresholdExplanation:
    """One setting: dotted path, value, enforcing gate (None for non-gate settings), description."""

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
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            gate = extra.get("gate")
            rows.append(ThresholdExplanation(path, value, str(gate) if gate else None, info.description or ""))
    return rows


def explain(posture: Posture) -> list[ThresholdExplanation]:
    """Every setting of the posture in schema order."""
    return _walk(posture, "")
