"""``RiskClient``: riskguard's HTTP service with the in-process gate's calls and return shapes."""

from riskguard.client.client import SERVICE_UNAVAILABLE, RiskClient, RiskServiceError

__all__ = ["SERVICE_UNAVAILABLE", "RiskClient", "RiskServiceError"]
