"""A stable identity for a posture: equal settings give equal hashes, whatever the file format."""

from __future__ import annotations

import hashlib

from riskguard.config.schema import Posture
from riskguard.model.codec import encode_canonical

# Operational settings that never change a decision (alerts, kill switch, recovery, reconciliation): left
# out so that adding or tuning them keeps every stored decision's hash, and its replay.
_NOT_DECIDING = {"monitor", "reconcile"}


def canonical_json(posture: Posture) -> str:
    """Sorted-key JSON of every setting that can change a decision, defaults included."""
    return encode_canonical(posture.model_dump(mode="json", exclude=_NOT_DECIDING))


def config_hash(posture: Posture) -> str:
    """First 16 hex digits of SHA-256 over the canonical JSON."""
    return hashlib.sha256(canonical_json(posture).encode()).hexdigest()[:16]
