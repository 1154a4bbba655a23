"""The explicit engine over whole frontiers (numpy): see search.py."""
from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import Callable

from ...ir import Model, Thread
from ...result import Result, Stats
from ..coverage import coverage
from ..errors import INTERRUPTED
from ..record import CheckKey, Found, Path
from .search import FrontierSearch, SearchLimits, SearchProgress, resident_bytes


def default_max_memory() -> int | None:
    """Half of the machine's memory (None where it cannot be told)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (OSError, ValueError, AttributeError):
        return None


class _Paths:
    """What the trace builder asks of a search: threads by number, first-discovery paths."""

    def __init__(self, search: FrontierSearch):
        self.search = search
        self.model = search.model

    def thread(self, t: int) -> Thread:
        if t < len(self.model.threads):
            return self.model.threads[t]
        assert self.model.init_thread is not None
        return self.model.init_thread

    def path_to(self, found: Found, sid: int, last: tuple[int, CheckKey | None] | None = None) -> Path:
        return self.search.path_to(sid, last)


def check_frontier(model: Model, limits: SearchLimits,
                   progress: Callable[[SearchProgress], None] | None = None,
                   on_violation: Callable[[str, int], None] | None = None) -> tuple[Result, Found]:
    """`on_violation(prop, depth)`: called once per property as soon as the search finds it violated."""
    from ..system import TransitionSystem   # here: the system is built on this package's steps
    from ..tracing import TraceBuilder

    started = time.perf_counter()
    search = FrontierSearch(model, limits, progress, on_violation=on_violation)
    found = search.run()
    found, traced, short = _exact_findings(search, found, limits, progress, on_violation)
    if on_violation is not None:   # what no search could tell at its smallest depth
        for prop, violation in found.violations.items():
            if prop not in search.told:
                path = violation.path
                on_violation(prop, len(path.edges) + (path.last is not None))
    seconds = time.perf_counter() - started
    builder = TraceBuilder(model, _Paths(traced), traced.state_hash, TransitionSystem(model, traced.system))
    results = builder.property_results(found)
    per_state = found.stored_bytes / found.count if found.count else 0.0
    stats = Stats(found.count, found.transitions, found.max_depth, seconds, found.limit, bytes_per_state=per_state,
                  symmetry=tuple(sym.describe(model) for sym in search.symmetries))
    result = Result(model.path, "explicit", results, stats, coverage=coverage(model, found.coverage))
    if short:
        result.warnings.append(short)
    return result, found


def _exact_findings(search: FrontierSearch, found: Found, limits: SearchLimits,
                    progress: Callable[[SearchProgress], None] | None,
                    on_violation: Callable[[str, int], None] | None = None
                    ) -> tuple[Found, FrontierSearch, str]:
    """A search with partial-order reduction or up to symmetry finds every violation, but not
    by the shortest, fewest-switch path: when it found one, search again without either until
    it has found them all (each at its own smallest depth; no deeper than this search found
    them), and take that search's violations and lock-order pairs (their first steps,
    in its order), the search to trace them by, and a warning if that search stopped short.
    Counts, depth, coverage and limit stay the reduced search's."""
    # the first depth whose states the reduction cut or the symmetry merged (0: any)
    cut = 0 if search.system.merged else search.first_cut
    if cut is None or not (found.violations or _has_cycle(found.lock_edges)):
        return found, search, ""
    depth = search.finding_depth()
    if depth <= cut:   # no state was cut above that depth: this search was the full one there
        return found, search, ""

    def tell(prop: str, at: int) -> None:   # at its smallest depth, unless told already
        if on_violation is not None and prop not in search.told:
            search.told.add(prop)
            on_violation(prop, at)
    exact = FrontierSearch(search.model, replace(limits, reduction=False, symmetry=False, max_depth=depth), progress,
                           on_violation=tell if on_violation is not None else None,
                           until=(set(found.violations), set(found.lock_edges)))
    again = exact.run()
    if again.limit and not again.limit.startswith("--max-depth"):
        # stopped short: the reduced search's verdicts and paths stand, its paths maybe longer;
        # an interrupt stops the whole check (exit 3), as it would have stopped one search
        stopped = replace(found, limit=found.limit or (INTERRUPTED if again.limit == INTERRUPTED else ""))
        return stopped, search, (f"{again.limit} stopped the search for the shortest counterexamples: the "
                                 "ones shown are those of the search with partial-order reduction, maybe longer")
    return replace(found, violations={**found.violations, **again.violations}, lock_edges=again.lock_edges), exact, ""


def _has_cycle(edges: dict[tuple[int, int], tuple[int, int, int]]) -> bool:
    graph: dict[int, list[int]] = {}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
    state: dict[int, int] = {}   # 1 on the path, 2 done

    def visit(v: int) -> bool:
        state[v] = 1
        for w in graph.get(v, ()):
            if state.get(w) == 1 or (w not in state and visit(w)):
                return True
        state[v] = 2
        return False
    return any(v not in state and visit(v) for v in list(graph))


__all__ = ["check_frontier", "SearchLimits", "SearchProgress", "Found", "default_max_memory", "resident_bytes"]
