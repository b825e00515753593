"""The base of every posture section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Base of every posture section: unknown keys are errors (a typo must not drop a guard)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
