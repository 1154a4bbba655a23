"""lockcheck: a model checker for locking races in kernel code paths.

The Python API, for notebooks and scripts (the command line is `lockcheck`)::

    import lockcheck

    result = lockcheck.verify("specs/ext4.lk", defines={"NPAGES": 3})
    result.exit_code                      # 0, 1 or 3, as `lockcheck verify` would exit
    for p in result.properties:           # every property, built-in checks included
        print(p.name, p.verdict, p.as_expected)
        if p.trace:                       # the shortest counterexample
            print(p.trace.length, p.trace.summary)

A spec that does not load raises `SpecError`; its str() is the diagnostic as the command
line prints it (`file:line:col: error: ...`, the source line and a caret) and its
`diagnostic` the same as data. docs/output.md describes every field of `Result`.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

from .api import Options, describe_state, load_model, state_graph
from .engines.explicit import SearchProgress as Progress
from .errors import SpecError
from .result import (Change, InductionCounterexample, LockOrderEdge, PropertyResult, Result, Stats,
                     ThreadCoverage, ThreadState, Trace, TraceStep, ViolationFound)

__version__ = "0.1.0"
DISTRIBUTION = "kernel-lockcheck"   # the name on the package index (pip install kernel-lockcheck)

__all__ = [
    "verify", "Options", "load_model", "state_graph", "describe_state", "SpecError",
    "Result", "PropertyResult", "Stats", "Trace", "TraceStep", "Change", "ThreadState", "ThreadCoverage",
    "LockOrderEdge", "InductionCounterexample", "Progress", "ViolationFound", "__version__", "DISTRIBUTION",
]


def verify(spec: str | os.PathLike[str], *, defines: Mapping[str, int | bool | str] | None = None,
           include_dirs: Sequence[str | os.PathLike[str]] = (), engine: str = "explicit",
           max_states: int | None = None, max_depth: int = 1_000_000, depth: int | None = None,
           timeout: float | None = None, fingerprints: bool = False, more_candidates: bool = False,
           progress: Callable[[Progress], None] | None = None, options: Options | None = None,
           max_memory: int | None = None,
           on_violation: Callable[[ViolationFound], None] | None = None, reduction: bool = True) -> Result:
    """Check one spec, as `lockcheck verify SPEC` does, and return its Result.

    - `defines` overrides the spec's consts (`-D`): `{"NPAGES": 4, "WAIT": False}`.
    - `include_dirs` are searched for imports after the spec's own folder (`-I`); a project
      `models/` folder and the bundled models come after them, as for the command line.
    - `engine`: `explicit` (default), `bmc`, `induction` or `auto`; `depth` and `timeout`
      are bmc's and induction's (docs/language.md, Engines).
    - `max_states`, `max_depth`, `max_memory` (bytes; default half of the machine's memory)
      and `timeout` (seconds, also for the explicit search): a search they stop has
      `stats.limit` set and its open verdicts `unknown` (exit_code 3).
    - `reduction`: partial-order reduction in the explicit search (the same verdicts and
      traces; `stats.states` counts the states it explored); False explores every interleaving.
    - `progress` is called now and then during an explicit search with a `Progress`.
    - `on_violation` is called with a `ViolationFound` (spec, prop, depth, expected) as soon
      as an explicit search finds a property's first violation; its trace is in the Result.
    - `options`: an `Options` instead of the keywords (the keywords are then ignored).

    Raises SpecError for a spec that does not parse, resolve or type-check."""
    from .api import verify as _verify
    from .engines.errors import LocalLoopError
    from .errors import Diagnostic, Sources, format_diagnostic

    if options is None:
        options = Options(include_dirs=[os.fspath(d) for d in include_dirs],
                          defines={k: _define_text(v) for k, v in (defines or {}).items()},
                          max_states=max_states, max_depth=max_depth, fingerprints=fingerprints,
                          max_memory=max_memory,
                          engine=engine, depth=depth, timeout=timeout, more_candidates=more_candidates,
                          reduction=reduction)
    if options.engine not in ("explicit", "bmc", "induction", "auto"):
        raise SpecError(f"engine must be explicit, bmc, induction or auto, not '{options.engine}'")
    sources = Sources()
    try:
        return _verify(os.fspath(spec), options, sources, progress, on_violation)
    except SpecError as err:
        err.args = (format_diagnostic(err.diagnostic, sources),)
        raise
    except LocalLoopError as err:
        error = SpecError(str(err), err.span)
        error.args = (format_diagnostic(Diagnostic(str(err), err.span), sources),)
        raise error from None


def _define_text(value: int | bool | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
