"""lockcheck: a model checker for locking races in kernel code paths."""
from .api import Options, describe_state, load_model, state_graph, verify
from .errors import SpecError
from .result import PropertyResult, Result, Stats, Trace, TraceStep

__all__ = ["Options", "load_model", "verify", "state_graph", "describe_state", "SpecError", "Result",
           "PropertyResult", "Stats", "Trace", "TraceStep"]
__version__ = "0.1.0"
