"""One small pure function per gate, and the registry that orders them."""

from riskguard.gates.context import SIZE_TOLERANCE, GateContext
from riskguard.gates.registry import GATE_NAMES, GATES, SIZE_BOUND_GATES, GateFunction, GateSpec

__all__ = ["GATES", "GATE_NAMES", "SIZE_BOUND_GATES", "SIZE_TOLERANCE", "GateContext", "GateFunction",
           "GateSpec"]
