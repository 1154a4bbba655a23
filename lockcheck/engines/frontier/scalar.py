"""One state at a time through the frontier engine's own steps (Transitions.apply on a
one-row block), in the shape the trace builder replays: a function per thread and pc that
gives every edge's outcomes (failed checks, then the next state), chained steps not run on.
So a trace is rebuilt with the very semantics that found it, and no Python source is
generated for any spec."""
from __future__ import annotations

from typing import Callable

from .arrays import HASH, xp
from .steps import Batch, Transitions

Outcome = tuple[int, tuple | None, int | None]   # (edge id, next state or None, failed check id or None)


class ScalarProgram:
    def __init__(self, system: Transitions):
        self.system = system
        self.model = system.model
        self.chained = [t.chained for t in system.threads]
        self.check_keys = system.check_keys
        self._ids = {key: i for i, key in enumerate(system.check_keys)}
        self.node_fns = [_NodeFns(self, t) for t in range(len(system.threads))]

    def check_id(self, key: tuple[int, int]) -> int:
        return self._ids[key]

    def outcomes(self, t: int, pc: int, state: tuple) -> list[Outcome]:
        system = self.system
        g, i = system.group_of[t]
        edges = system.by_node[g].get(pc, [])
        if not edges:
            return []
        matrix = xp.zeros((1, system.width), dtype=system.dtype)
        matrix[0, :system.slots] = state
        from .evaluate import Rows

        zero = xp.zeros(1, dtype=xp.int64)
        rows = Rows(matrix, zero + i)
        out: list[Outcome] = []
        saved = bytes(system.coverage)
        for ce in edges:
            failures = system.new_failures()
            eid = int(ce.edge_ids[i])
            batch = Batch(matrix, xp.zeros(1, dtype=HASH), zero, zero + eid, zero, zero, zero + i)
            idx, new, _ = system.apply(ce, rows, batch, failures, None, zero)
            for checks in failures.check:
                out += [(eid, None, int(c)) for c in checks.tolist()]
            if len(idx):
                out.append((eid, tuple(int(v) for v in new[0, :system.slots]), None))
        system.coverage[:] = saved   # replaying is not running
        return out


class _NodeFns:
    """node_fns[t][pc] -> the outcome function of thread t at pc (None where it has no edges)."""

    def __init__(self, program: ScalarProgram, t: int):
        self.program = program
        self.t = t

    def __getitem__(self, pc: int) -> Callable[[tuple], list[Outcome]] | None:
        system = self.program.system
        if pc not in system.by_node[system.group_of[self.t][0]]:
            return None
        return lambda state: self.program.outcomes(self.t, pc, state)
