"""The explicit engine over whole frontiers (numpy): see search.py."""
from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import Callable, Iterable

from ...ir import Model, Thread
from ...result import Result, Stats
from ..coverage import coverage
from ..errors import INTERRUPTED
from ...symmetry import lock_pairs_closed
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
                  symmetry=tuple(sym.describe() for sym in search.symmetries))
    result = Result(model.path, "explicit", results, stats, coverage=coverage(model, found.coverage))
    if short:
        result.warnings.append(short)
    return result, found


def _exact_findings(search: FrontierSearch, found: Found, limits: SearchLimits,
                    progress: Callable[[SearchProgress], None] | None,
                    on_violation: Callable[[str, int], None] | None = None
                    ) -> tuple[Found, FrontierSearch, str]:
    """The first search keeps no fewest-switch paths (they would be most of its memory)
    and, with partial-order reduction or up to symmetry, finds every violation but not by the
    shortest path. When it found a violation, search again without either and with the fewest-switch
    paths, only until every one is found again (each at its own smallest depth, no deeper
    than the first search found it), and take that search's violations: the shortest,
    fewest-switch traces. With reduction or symmetry, take its lock-order pairs too (their first steps,
    in its order) and trace by it. A warning if that search stopped short. Counts, depth,
    coverage and limit stay the first search's; the stored bytes are both searches'."""
    # the first depth whose states the reduction cut (above it the search was the full one);
    # under symmetry any: its states are fingerprinted by class, the second search's are not
    cut = 0 if search.system.merged else search.first_cut
    # up to object symmetry, the full search's pairs are the orbits of those taken
    taken = lock_pairs_closed(search.symmetries, set(found.lock_edges)) if search.system.merged \
        else set(found.lock_edges)
    reduced = cut is not None and bool(found.violations or _has_cycle(taken)) \
        and (search.system.merged or search.finding_depth() > cut)
    if not reduced and not search.found_at:   # nothing to weigh by switches
        return found, search, ""
    depth = search.finding_depth() if reduced else search.violation_depth()
    pairs = taken if reduced else set()

    def tell(prop: str, at: int) -> None:   # at its smallest depth, unless told already
        if on_violation is not None and prop not in search.told:
            search.told.add(prop)
            on_violation(prop, at)
    exact = FrontierSearch(search.model, replace(limits, reduction=False, symmetry=False, max_depth=depth), progress,
                           on_violation=tell if on_violation is not None else None,
                           until=(set(found.violations), pairs), switches=True)
    again = exact.run()
    stored = found.stored_bytes + again.stored_bytes
    # the same search up to the same --max-states (no reduction: the same states in the same order)
    same_cut = not reduced and again.limit == found.limit and again.limit.startswith("--max-states")
    if again.limit and not again.limit.startswith("--max-depth") and not same_cut:
        # stopped short: the first search's verdicts and paths stand (with reduction maybe
        # longer; without, as short but maybe with more switches); an interrupt stops the
        # whole check (exit 3), as it would have stopped one search
        stopped = replace(found, limit=found.limit or (INTERRUPTED if again.limit == INTERRUPTED else ""),
                          stored_bytes=stored)
        shown = ("those of the search with partial-order reduction or symmetry, maybe longer" if reduced else
                 "as short, but maybe with more thread switches")
        return stopped, search, (f"{again.limit} stopped the search for the shortest, fewest-switch "
                                 f"counterexamples: the ones shown are {shown}")
    violations = {**found.violations, **again.violations}
    if not reduced:
        return replace(found, violations=violations, stored_bytes=stored), search, ""
    return replace(found, violations=violations, lock_edges=again.lock_edges, stored_bytes=stored), exact, ""


def _has_cycle(edges: Iterable[tuple[int, int]]) -> bool:
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
