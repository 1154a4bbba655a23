"""The explicit engine over whole frontiers (numpy): see search.py."""
from __future__ import annotations

import os
import time
from typing import Callable

from ...ir import Model, Thread
from ...result import Result, Stats
from ..coverage import coverage
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
    seconds = time.perf_counter() - started
    builder = TraceBuilder(model, _Paths(search), search.state_hash, TransitionSystem(model, search.system))
    results = builder.property_results(found)
    per_state = found.stored_bytes / found.count if found.count else 0.0
    stats = Stats(found.count, found.transitions, found.max_depth, seconds, found.limit, bytes_per_state=per_state)
    result = Result(model.path, "explicit", results, stats, coverage=coverage(model, found.coverage))
    return result, found


__all__ = ["check_frontier", "SearchLimits", "SearchProgress", "Found", "default_max_memory", "resident_bytes"]
