"""Explicit-state engine: breadth-first search over every interleaving, so the first
violation found of each property comes with a shortest counterexample."""
from __future__ import annotations

import time
from array import array
from collections import deque
from dataclasses import dataclass, field

from ..ir import FATAL_CHECKS as FATAL
from ..ir import Model, Thread
from ..pycompile import CheckKey, Program
from ..result import Result, Stats
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
    fingerprints: bool = False  # keep a 64-bit hash per state instead of the state itself


@dataclass
class Violation:
    prop: str
    path: Path


@dataclass
class Exploration:
    """The raw outcome of a search, before it is turned into a Result."""

    states: list[tuple]          # by id; empty with fingerprints (see `roots`, `hashes`)
    parent: array
    via: array
    roots: dict[int, tuple] = field(default_factory=dict)  # id -> initial state
    hashes: array | None = None  # id -> fingerprint, with fingerprints
    count: int = 0
    violations: dict[str, Violation] = field(default_factory=dict)
    lock_edges: dict[tuple[int, int], tuple[int, int, int]] = field(default_factory=dict)  # -> (state, edge, thread)
    transitions: int = 0
    max_depth: int = 0
    limit: str = ""
    graph_edges: list[tuple[int, int, int]] | None = None


# what one step of a thread can end in: a resting state, or a failed check (its key and prop)
Ending = tuple[tuple | None, CheckKey | None]


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

    def thread(self, t: int) -> Thread:
        if t < len(self.threads):
            return self.threads[t]
        assert self.model.init_thread is not None
        return self.model.init_thread

    # ---- local chains: steps that run together with the step before them ----
    def run_chain(self, t: int, state: tuple, ex: Exploration | None = None, sid: int = -1) -> list[Ending]:
        """Finish thread t's local/atomic steps from `state`: every resting state it can reach,
        and every check that fails on the way (a fatal one ends that way)."""
        program = self.program
        chained = program.chained[t]
        fns = program.node_fns[t]
        pc_slot = self.thread(t).pc_slot
        out: list[Ending] = []
        stack = [(state, 0)]
        while stack:
            st, steps = stack.pop()
            pc = st[pc_slot]
            if pc not in chained:
                out.append((st, None))
                continue
            if steps > MAX_LOCAL_STEPS:
                text, span = self.thread(t).node_text.get(pc, ("?", None))
                raise LocalLoopError(self.thread(t).name, text, span)
            fn = fns[pc]
            if fn is None:
                continue
            for eid, ns, chk in fn(st):
                if chk is not None:
                    out.append((None, program.check_keys[chk]))
                    continue
                if ex is not None and eid in program.acquires:
                    self.note_lock_order(ex, st, sid, t, eid, program.acquires[eid](st))
                stack.append((ns, steps + 1))
        return out

    def initial_states(self) -> tuple[list[tuple], list[Violation]]:
        states = [self.model.initial]
        violations: list[Violation] = []
        order = ([len(self.threads)] if self.model.init_thread else []) + list(range(len(self.threads)))
        for t in order:
            nxt: list[tuple] = []
            for st in states:
                for ns, key in self.run_chain(t, st):
                    if ns is None:
                        assert key is not None
                        prop = self.program.checks[self.program.check_id(key)][1].prop
                        violations.append(Violation(prop, Path(self.model.initial, (), None, key)))
                    else:
                        nxt.append(ns)
            states = list(dict.fromkeys(nxt))
        return states, violations

    def explore(self) -> Exploration:
        program = self.program
        node_fns, chained, pcs, ends = program.node_fns, program.chained, self.pcs, self.ends
        acquires, check_keys = program.acquires, program.check_keys
        check_props = [c.prop for _, c in program.checks]
        fatal = program.fatal
        invariants, inv_names = program.invariants, program.invariant_names
        thread_range = range(len(self.threads))
        max_states, max_depth = self.limits.max_states, self.limits.max_depth

        fingerprints = self.limits.fingerprints
        initial, init_violations = self.initial_states()
        states: list[tuple] = []
        index: dict[tuple, int] = {}   # full states: state -> id
        seen: set[int] = set()          # fingerprints: hashes only
        hashes = array("q") if fingerprints else None
        parent = array("i")  # id of the state each state was first reached from (-1: initial)
        via = array("i")     # the visible edge that reached it
        queue: deque[tuple[tuple, int, int]] = deque()  # (state, id, depth): the frontier
        ex = Exploration(states, parent, via, hashes=hashes, graph_edges=[] if self.record_graph else None)
        violations = ex.violations
        for v in init_violations:
            violations.setdefault(v.prop, v)
        graph = ex.graph_edges

        def add(ns: tuple, sid: int, eid: int, d: int) -> int:
            i = ex.count
            ex.count += 1
            if hashes is not None:
                hashes.append(hash(ns))
            else:
                index[ns] = i
                states.append(ns)
            queue.append((ns, i, d))
            parent.append(sid)
            via.append(eid)
            if d > ex.max_depth:
                ex.max_depth = d
            for k in invariants(ns):
                name = inv_names[k]
                if name not in violations:
                    violations[name] = Violation(name, self.path_to(ex, i))
            return i

        def failed(sid: int, eid: int, key: CheckKey, prop: str) -> None:
            if prop not in violations:
                if key[0] == eid:
                    violations[prop] = Violation(prop, self.path_to(ex, sid, (eid, key)))
                else:
                    violations[prop] = Violation(prop, self.path_to(ex, sid, (eid, None), key))

        for st in initial:
            if st not in index and hash(st) not in seen:
                seen.add(hash(st))
                ex.roots[ex.count] = st
                add(st, -1, -1, 0)

        transitions = 0
        while queue:
            s, sid, d = queue.popleft()
            if d >= max_depth:
                ex.limit = f"--max-depth {max_depth}"
                continue
            moved = False
            for t in thread_range:
                fn = node_fns[t][s[pcs[t]]]
                if fn is None:
                    continue
                for eid, ns, chk in fn(s):
                    if chk is not None:
                        failed(sid, eid, check_keys[chk], check_props[chk])
                        if fatal[chk]:
                            moved = True
                        continue
                    if eid in acquires:
                        self.note_lock_order(ex, s, sid, t, eid, acquires[eid](s))
                    if ns[pcs[t]] in chained[t]:
                        endings = self.run_chain(t, ns, ex, sid)
                    else:
                        endings = [(ns, None)]
                    for fs, key in endings:
                        if fs is None:
                            assert key is not None
                            prop = check_props[program.check_id(key)]
                            failed(sid, eid, key, prop)
                            if prop in FATAL:
                                moved = True
                            continue
                        moved = True
                        transitions += 1
                        if fingerprints:
                            h = hash(fs)
                            if h in seen:
                                continue
                            seen.add(h)
                            j = None
                        else:
                            j = index.get(fs)
                        if j is None:
                            if ex.count >= max_states:
                                ex.limit = f"--max-states {max_states}"
                                queue.clear()
                                break
                            j = add(fs, sid, eid, d + 1)
                        if graph is not None:
                            graph.append((sid, j, eid))
            if not moved and "deadlock" not in violations:
                if any(s[pcs[t]] != ends[t] for t in thread_range):
                    violations["deadlock"] = Violation("deadlock", self.path_to(ex, sid))
        ex.transitions = transitions
        return ex

    def path_to(self, ex: Exploration, sid: int, last: tuple[int, CheckKey | None] | None = None,
                chain_fail: CheckKey | None = None) -> Path:
        """The visible edges from an initial state to state sid (then `last`, if given)."""
        edges: list[int] = []
        ids = [sid]
        i = sid
        while ex.parent[i] >= 0:
            edges.append(ex.via[i])
            i = ex.parent[i]
            ids.append(i)
        edges.reverse()
        ids.reverse()
        if ex.hashes is not None:
            return Path(ex.roots[i], tuple(edges), last, chain_fail, (),
                        tuple(ex.hashes[k] for k in ids))
        return Path(ex.states[i], tuple(edges), last, chain_fail, tuple(ex.states[k] for k in ids))

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
    builder = TraceBuilder(program.model, explorer)
    results = builder.property_results(ex)
    stats = Stats(ex.count, ex.transitions, ex.max_depth, seconds, ex.limit)
    return Result(program.model.path, "explicit", results, stats), ex


__all__ = ["Explorer", "Limits", "check_explicit", "LocalLoopError", "Exploration"]
