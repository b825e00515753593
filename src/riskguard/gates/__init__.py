"""One small pure function per gate, each declared once by its spec, and their one evaluation."""

from riskguard.gates.context import GateContext
from riskguard.gates.registry import GATE_NAMES, GATES, SIZE_BOUND_GATES, evaluate, gate
from riskguard.gates.result import SIZE_TOLERANCE
from riskguard.gates.spec import GateFunction, GateSpec

__all__ = ["GATES", "GATE_NAMES", "SIZE_BOUND_GATES", "SIZE_TOLERANCE", "GateContext", "GateFunction",
           "GateSpec", "evaluate", "gate"]
