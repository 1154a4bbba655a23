"""Explicit-state engine: breadth-first search over every interleaving, so the first
violation found of each property comes with a shortest counterexample."""
from __future__ import annotations

import time
from array import array
from dataclasses import dataclass, field

from ..ir import Model
from ..pycompile import Program
from ..result import LockOrderEdge, PropertyResult, Result, Stats
from .tracing import Path, TraceBuilder

MAX_LOCAL_STEPS = 100_000


class LocalLoopError(Exception):
    """A thread ran too many local steps in a row: an infinite loop on local variables."""

    def __init__(self, thread: str, text: str, span):
        super().__init__(f"thread {thread} loops forever on local variables at '{text}'")
        self.span = span


@dataclass
class Limits:
    max_states: int = 2_000_000
    max_depth: int = 1_000_000


@dataclass
class Violation:
    prop: str
    path: Path
    message: str


@dataclass
class Exploration:
    """The raw outcome of a search, before it is turned into a Result."""

    states: list[tuple]
    parent: array
    via: array
    violations: dict[str, Violation] = field(default_factory=dict)
    lock_edges: dict[tuple[int, int], tuple[int, int, int]] = field(default_factory=dict)  # -> (state, edge, thread)
    transitions: int = 0
    max_depth: int = 0
    limit: str = ""
    graph_edges: list[tuple[int, int, int]] | None = None
    executed_edges: set[int] = field(default_factory=set)


class Explorer:
    def __init__(self, program: Program, limits: Limits, record_graph: bool = False):
        self.program = program
        self.model: Model = program.model
        self.limits = limits
        self.record_graph = record_graph
        self.threads = self.model.threads
        self.pcs = [t.pc_slot for t in self.threads]
        self.ends = [t.end for t in self.threads]
        self.lock_slots = [(lk.slot, lk.reader_slots) for lk in self.model.locks]

    # ---- local chains: steps that run together with the step before them ----
    def run_chain(self, t: int, state: tuple) -> list[tuple[tuple | None, int, int]]:
        """Finish thread t's local/atomic steps. Returns (state, -1, -1) per way it can end up
        resting, or (None, edge, check) for a check that failed on the way."""
        chained = self.program.chained[t]
        fns = self.program.node_fns[t]
        pc_slot = self.pcs[t] if t < len(self.pcs) else self.model.init_thread.pc_slot  # type: ignore[union-attr]
        out: list[tuple[tuple | None, int, int]] = []
        stack = [(state, 0)]
        while stack:
            st, steps = stack.pop()
            pc = st[pc_slot]
            if pc not in chained:
                out.append((st, -1, -1))
                continue
            if steps > MAX_LOCAL_STEPS:
                text, span = self._thread(t).node_text.get(pc, ("?", None))
                raise LocalLoopError(self._thread(t).name, text, span)
            fn = fns[pc]
            if fn is None:
                continue
            for eid, ns, chk in fn(st):
                if chk is not None:
                    out.append((None, eid, chk))
                else:
                    stack.append((ns, steps + 1))  # type: ignore[arg-type]
        return out

    def _thread(self, t: int):
        return self.threads[t] if t < len(self.threads) else self.model.init_thread

    def initial_states(self) -> tuple[list[tuple], list[Violation]]:
        states = [self.model.initial]
        violations: list[Violation] = []
        order = ([len(self.threads)] if self.model.init_thread else []) + list(range(len(self.threads)))
        for t in order:
            nxt: list[tuple] = []
            for st in states:
                for ns, eid, chk in self.run_chain(t, st):
                    if ns is None:
                        edge, check = self.program.checks[chk]
                        violations.append(Violation(check.prop, Path(self.model.initial, (), (eid, chk)),
                                                    check.message))
                    else:
                        nxt.append(ns)
            states = list(dict.fromkeys(nxt))
        return states, violations

    def explore(self) -> Exploration:
        program, model = self.program, self.model
        node_fns, chained, pcs, ends = program.node_fns, program.chained, self.pcs, self.ends
        acquires = program.acquires
        check_props = [c.prop for _, c in program.checks]
        fatal = program.fatal
        invariants, inv_names = program.invariants, program.invariant_names
        nthreads = len(self.threads)
        thread_range = range(nthreads)
        max_states, max_depth = self.limits.max_states, self.limits.max_depth

        initial, init_violations = self.initial_states()
        states: list[tuple] = []
        index: dict[tuple, int] = {}
        parent = array("q")
        via = array("q")
        depth = array("l")
        ex = Exploration(states, parent, via, graph_edges=[] if self.record_graph else None)
        for v in init_violations:
            ex.violations.setdefault(v.prop, v)
        violations = ex.violations
        graph = ex.graph_edges
        executed = ex.executed_edges

        def add(ns: tuple, sid: int, eid: int, d: int) -> int:
            i = len(states)
            index[ns] = i
            states.append(ns)
            parent.append(sid)
            via.append(eid)
            depth.append(d)
            bad = invariants(ns)
            for k in bad:
                name = inv_names[k]
                if name not in violations:
                    violations[name] = Violation(name, self.path_to(ex, i), "")
            return i

        for st in initial:
            if st not in index:
                add(st, -1, -1, 0)

        transitions = 0
        head = 0
        while head < len(states):
            s = states[head]
            sid = head
            head += 1
            d = depth[sid]
            if d >= max_depth:
                ex.limit = f"--max-depth {max_depth}"
                continue
            moved = False
            for t in thread_range:
                fn = node_fns[t][s[pcs[t]]]
                if fn is None:
                    continue
                outs = fn(s)
                for eid, ns, chk in outs:
                    if chk is not None:
                        prop = check_props[chk]
                        if prop not in violations:
                            violations[prop] = Violation(prop, self.path_to(ex, sid, (eid, chk)), "")
                        if fatal[chk]:
                            moved = True
                        continue
                    executed.add(eid)
                    if eid in acquires:
                        self.note_lock_order(ex, s, sid, t, eid, acquires[eid](s))
                    if ns[pcs[t]] in chained[t]:
                        ends_up = self.run_chain(t, ns)
                    else:
                        ends_up = [(ns, -1, -1)]
                    for fs, ceid, cchk in ends_up:
                        if fs is None:
                            prop = check_props[cchk]
                            if prop not in violations:
                                violations[prop] = Violation(prop, self.path_to(ex, sid, (eid, -1), (ceid, cchk)), "")
                            if fatal[cchk]:
                                moved = True
                            continue
                        moved = True
                        transitions += 1
                        j = index.get(fs)
                        if j is None:
                            if len(states) >= max_states:
                                ex.limit = f"--max-states {max_states}"
                                head = len(states)
                                break
                            j = add(fs, sid, eid, d + 1)
                        if graph is not None:
                            graph.append((sid, j, eid))
            if not moved and "deadlock" not in violations:
                if any(s[pcs[t]] != ends[t] for t in thread_range):
                    violations["deadlock"] = Violation("deadlock", self.path_to(ex, sid), "")
        ex.transitions = transitions
        ex.max_depth = max(depth) if len(depth) else 0
        return ex

    def path_to(self, ex: Exploration, sid: int, *last: tuple[int, int]) -> Path:
        """The visible edges from an initial state to state sid (then `last`, if given)."""
        edges: list[int] = []
        ids = [sid]
        i = sid
        while ex.parent[i] >= 0:
            edges.append(ex.via[i])
            i = ex.parent[i]
            ids.append(i)
        edges.reverse()
        states = tuple(ex.states[k] for k in reversed(ids))
        return Path(ex.states[i], tuple(edges), last[0] if last else None, last[1] if len(last) > 1 else None,
                    states)

    def note_lock_order(self, ex: Exploration, s: tuple, sid: int, t: int, eid: int, addr: int) -> None:
        me = t + 1
        for slot, readers in self.lock_slots:
            if slot == addr:
                continue
            if s[slot] == me or (readers and s[readers[t]]):
                key = (slot, addr)
                if key not in ex.lock_edges:
                    ex.lock_edges[key] = (sid, eid, t)


def check_explicit(program: Program, limits: Limits) -> tuple[Result, Exploration]:
    started = time.perf_counter()
    explorer = Explorer(program, limits)
    ex = explorer.explore()
    seconds = time.perf_counter() - started
    builder = TraceBuilder(program, explorer)
    results = builder.property_results(ex)
    stats = Stats(len(ex.states), ex.transitions, ex.max_depth, seconds, ex.limit)
    return Result(program.model.path, "explicit", results, stats), ex


__all__ = ["Explorer", "Limits", "check_explicit", "LocalLoopError", "LockOrderEdge", "PropertyResult"]
