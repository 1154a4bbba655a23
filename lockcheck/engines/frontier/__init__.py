"""The explicit engine over whole frontiers (numpy): see search.py."""
from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import Callable

from ...ir import Model, Thread
from ...result import Result, Stats
from ..coverage import coverage, coverage_warnings
from ..record import CheckKey, Found, Path
from ..tracing import TraceBuilder
from .scalar import ScalarProgram
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
                   progress: Callable[[SearchProgress], None] | None = None) -> tuple[Result, Found]:
    started = time.perf_counter()
    search = FrontierSearch(model, limits, progress)
    found = search.run()
    found, traced = _exact_findings(search, found, limits, progress)
    seconds = time.perf_counter() - started
    builder = TraceBuilder(model, _Paths(traced), traced.state_hash,
                           ScalarProgram(traced.system))  # type: ignore[arg-type]
    results = builder.property_results(found)
    per_state = found.stored_bytes / found.count if found.count else 0.0
    stats = Stats(found.count, found.transitions, found.max_depth, seconds, found.limit, bytes_per_state=per_state)
    result = Result(model.path, "explicit", results, stats, coverage=coverage(model, found.coverage))
    if not found.limit:
        result.warnings += coverage_warnings(result.coverage)
    return result, found


def _exact_findings(search: FrontierSearch, found: Found, limits: SearchLimits,
                    progress: Callable[[SearchProgress], None] | None) -> tuple[Found, FrontierSearch]:
    """A search with partial-order reduction finds every violation, but not by the
    shortest, fewest-switch path: when it found one, search again without reduction, as
    deep as its findings (every one of which that search then finds at its own smallest
    depth), and take that search's violations and lock-order pairs (their first steps,
    in its order), and the search to trace them by. Counts, depth, coverage and limit stay
    the reduced search's."""
    if search.first_cut is None or not (found.violations or _has_cycle(found.lock_edges)):
        return found, search
    depth = search.finding_depth()
    if depth <= search.first_cut:   # no state was cut above that depth: this search was the full one there
        return found, search
    exact = FrontierSearch(search.model, replace(limits, reduction=False, max_depth=depth), progress)
    again = exact.run()
    if again.limit and not again.limit.startswith("--max-depth"):
        return found, search    # stopped short: the reduced search's own paths stand
    return replace(found, violations={**found.violations, **again.violations}, lock_edges=again.lock_edges), exact


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
