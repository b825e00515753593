"""A stable identity for a posture: equal settings give equal hashes, whatever the file format."""

from __future__ import annotations

import hashlib

from riskguard.config.schema import Posture
from riskguard.model.codec import encode_canonical


def canonical_json(posture: Posture) -> str:
    """Sorted-key JSON of every setting, defaults included."""
    return encode_canonical(posture.model_dump(mode="json"))


def config_hash(posture: Posture) -> str:
    """First 16 hex digits of SHA-256 over the canonical JSON."""
    return hashlib.sha256(canonical_json(posture).encode()).hexdigest()[:16]
