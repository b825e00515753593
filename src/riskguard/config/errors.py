"""Posture loading errors that name the file and every offending field."""

from __future__ import annotations

from pydantic import ValidationError

from riskguard.model.errors import RiskguardError


class PostureError(RiskguardError):
    """A posture file or override is malformed. ``problems`` holds (field path, message) pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {field}: {message}" for field, message in problems)
        super().__init__(f"invalid posture {source}:\n{lines}")

    @classmethod
    def from_validation(cls, source: str, error: ValidationError) -> PostureError:
        """Translate pydantic's errors into dotted field paths with the offending input."""
        problems = []
        for item in error.errors():
            path = ".".join(str(p) for p in item["loc"]) or "(root)"
            message = item["msg"]
            if ("input" in item and item["type"] not in ("missing",) and item["input"] is not None
                    and not isinstance(item["input"], dict)):
                message = f"{message} (got {item['input']!r})"
            problems.append((path, message))
        return cls(source, problems)
