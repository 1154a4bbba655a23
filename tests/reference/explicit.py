"""The scalar reference engine for the differential tests (the explicit engine before the
frontier engine replaced it): breadth-first search over every interleaving, one state at a
time, each step a Python function generated per thread and pc (pycompile.py here). Nothing
in lockcheck/ uses it; tests compare the frontier engine and the transition system with it."""
from __future__ import annotations

import gc
import time
from array import array
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from lockcheck.engines.coverage import coverage, coverage_warnings
from lockcheck.engines.errors import LocalLoopError
from lockcheck.engines.tracing import Path, TraceBuilder, Violation
from lockcheck.ir import FATAL_CHECKS as FATAL
from lockcheck.ir import Model, Thread
from lockcheck.result import Result, Stats

from .pycompile import CheckKey, Program, compile_model

MAX_LOCAL_STEPS = 100_000
MAX_CANDIDATES = 10_000   # violations of one property kept at its smallest depth, to pick the best trace
PROGRESS_EVERY = 50_000   # states between progress reports


@dataclass
class Limits:
    max_states: int = 2_000_000
    max_depth: int = 1_000_000
    fingerprints: bool = False  # keep a 64-bit hash per state instead of the state itself


@dataclass(frozen=True)
class Candidate:
    """Where a violation was seen: a state (edge -1), or a step from a state that fails
    check `key` (or a chained step after it that fails `chain_key`, or, with neither, a step
    that completes: the acquisition that closes a lock-order cycle)."""

    state: int
    edge: int
    key: CheckKey | None
    chain_key: CheckKey | None


@dataclass(frozen=True)
class Progress:
    states: int
    queue: int
    depth: int
    seconds: float


class Switches:
    """For every state and every thread t: the fewest thread switches on a shortest path
    that reaches the state with a step of t, and that path's previous state. A dynamic
    program over the BFS layers, so among the shortest counterexamples the engine can print
    the one a reviewer reads most easily ("A does three things, then B does two")."""

    UNREACHED = 255

    def __init__(self, nthreads: int):
        self.n = nthreads
        self.cost = bytearray()      # [state * n + t]
        self.parent = array("i")     # previous state of that path
        self.last = bytearray()      # the thread that made the previous step (the parent's entry)
        self.via = array("i")        # the edge of the step
        self.depth = array("i")      # [state]
        self._u_cost: bytes | bytearray = b""
        self._u_best = 0
        self._u_arg = 0
        self._unreached = b"\xff" * nthreads
        self._zeros = bytes(nthreads)
        self._minus = array("i", [-1] * nthreads)

    def grow(self, depth: int) -> None:
        self.cost += self._unreached
        self.parent += self._minus
        self.last += self._zeros
        self.via += self._minus
        self.depth.append(depth)

    def start(self, state: int) -> None:
        self.cost[state * self.n:(state + 1) * self.n] = bytes(self.n)

    def expand(self, state: int) -> None:
        costs = self.cost[state * self.n:(state + 1) * self.n]
        best = min(costs)
        self._u_cost, self._u_best, self._u_arg = costs, best, costs.index(best)

    def step_cost(self, costs: bytes | bytearray, t: int) -> tuple[int, int]:
        """Switches after one more step of thread t, and the thread before it."""
        best = min(costs)
        if costs[t] <= best + 1:
            return costs[t], t
        return best + 1, costs.index(best)

    def reach(self, state: int, parent: int, t: int, edge: int) -> None:
        costs = self._u_cost
        if costs[t] <= self._u_best + 1:
            c, before = costs[t], t
        else:
            c, before = self._u_best + 1, self._u_arg
        k = state * self.n + t
        if c < self.cost[k]:
            self.cost[k] = c if c < 254 else 254
            self.parent[k] = parent
            self.last[k] = before
            self.via[k] = edge

    def of_state(self, state: int) -> tuple[int, int]:
        costs = self.cost[state * self.n:(state + 1) * self.n]
        best = min(costs)
        return best, costs.index(best)

    def of_step(self, state: int, t: int) -> tuple[int, int]:
        return self.step_cost(self.cost[state * self.n:(state + 1) * self.n], t)

    def walk(self, state: int, t: int) -> tuple[list[int], list[int]]:
        """The edges and the states (first to last) of the best path to (state, t)."""
        edges: list[int] = []
        ids = [state]
        while True:
            k = state * self.n + t
            if self.parent[k] < 0:
                break
            edges.append(self.via[k])
            state, t = self.parent[k], self.last[k]
            ids.append(state)
        edges.reverse()
        ids.reverse()
        return edges, ids


@dataclass
class Exploration:
    """The raw outcome of a search, before it is turned into a Result."""

    states: list[tuple]          # by id; empty with fingerprints (see `roots`, `hashes`)
    parent: array
    via: array
    roots: dict[int, tuple] = field(default_factory=dict)  # id -> initial state
    hashes: array | None = None  # id -> fingerprint, with fingerprints
    count: int = 0
    switches: Switches | None = None  # with full states: the fewest-switch shortest paths
    compact: bool = False        # states are stored as bytes (every slot's values fit in 0..255)

    def state(self, i: int) -> tuple:
        s = self.states[i]
        return tuple(s) if self.compact else s
    found: dict[str, tuple[int, list[Candidate]]] = field(default_factory=dict)  # prop -> (depth, where)
    violations: dict[str, Violation] = field(default_factory=dict)
    lock_edges: dict[tuple[int, int], tuple[int, int, int]] = field(default_factory=dict)  # -> (state, edge, thread)
    transitions: int = 0
    max_depth: int = 0
    limit: str = ""
    graph_edges: list[tuple[int, int, int]] | None = None


# what one step of a thread can end in: a resting state, or a failed check (its key), and the
# edges run on the way (to the state; before the check)
Ending = tuple[tuple | None, CheckKey | None, tuple[int, ...]]


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
    def run_chain(self, t: int, state: tuple, ex: Exploration | None = None, sid: int = -1,
                  ran: tuple[int, ...] = ()) -> list[Ending]:
        """Finish thread t's local/atomic steps from `state` (reached by running the edges
        `ran`): every resting state it can reach, and every check that fails on the way (a
        fatal one ends that way)."""
        program = self.program
        chained = program.chained[t]
        fns = program.node_fns[t]
        pc_slot = self.thread(t).pc_slot
        out: list[Ending] = []
        stack = [(state, 0, ran)]
        while stack:
            st, steps, before = stack.pop()
            pc = st[pc_slot]
            if pc not in chained:
                out.append((st, None, before))
                continue
            if steps > MAX_LOCAL_STEPS:
                text, span = self.thread(t).node_text.get(pc, ("?", None))
                raise LocalLoopError(self.thread(t).name, text, span)
            fn = fns[pc]
            if fn is None:
                continue
            for eid, ns, chk, more in fn(st):
                if chk is not None:
                    out.append((None, program.check_keys[chk], before + more))
                    continue
                if ex is not None and eid in program.acquires:
                    self.note_lock_order(ex, st, sid, t, eid, program.acquires[eid](st))
                stack.append((ns, steps + 1, before + more))
        return out

    def mark_ran(self, ran: tuple[int, ...]) -> None:
        """A step ended (at rest, or failing a fatal check): the edges it ran are covered."""
        coverage = self.program.coverage
        for e in ran:
            coverage[e] = 1

    def initial_states(self) -> tuple[list[tuple], list[Violation]]:
        states = [self.model.initial]
        violations: list[Violation] = []
        order = ([len(self.threads)] if self.model.init_thread else []) + list(range(len(self.threads)))
        for t in order:
            nxt: list[tuple] = []
            for st in states:
                for ns, key, ran in self.run_chain(t, st):
                    if ns is None:
                        assert key is not None
                        prop = self.program.checks[self.program.check_id(key)][1].prop
                        violations.append(Violation(prop, Path(self.model.initial, (), None, key)))
                        if prop in FATAL:
                            self.mark_ran(ran)
                    else:
                        nxt.append(ns)
                        self.mark_ran(ran)
            states = list(dict.fromkeys(nxt))
        return states, violations

    def explore(self, progress: Callable[[Progress], None] | None = None) -> Exploration:
        """Every reachable state, breadth first. States hold no reference cycles, so the cyclic
        garbage collector is paused: it would only rescan millions of tuples again and again."""
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._explore(progress)
        finally:
            if was_enabled:
                gc.enable()

    def _explore(self, progress: Callable[[Progress], None] | None) -> Exploration:
        program = self.program
        node_fns, chained, pcs, ends = program.node_fns, program.chained, self.pcs, self.ends
        acquires, check_keys = program.acquires, program.check_keys
        check_props = [c.prop for _, c in program.checks]
        fatal = program.fatal
        invariants, inv_names = program.invariants, program.invariant_names
        nthreads = len(self.threads)
        thread_range = range(nthreads)
        max_states, max_depth = self.limits.max_states, self.limits.max_depth
        program.coverage[:] = bytes(len(program.coverage))
        mark_ran = self.mark_ran

        fingerprints = self.limits.fingerprints
        # Full states are kept as bytes when every value fits in one: a fifth of the memory
        compact = not fingerprints and all(0 <= s.low and s.high <= 255 for s in self.model.slots)
        initial, init_violations = self.initial_states()
        states: list = []              # full states by id (tuples, or bytes when compact)
        index: dict = {}               # full states: state -> id
        seen: set[int] = set()          # fingerprints: hashes only
        hashes = array("q") if fingerprints else None
        parent = array("i")  # id of the state each state was first reached from (-1: initial)
        via = array("i")     # the visible edge that reached it
        queue: deque[tuple[tuple, int, int]] = deque()  # (state, id, depth): the frontier
        ex = Exploration(states, parent, via, hashes=hashes, graph_edges=[] if self.record_graph else None,
                         compact=compact)
        switches = None if fingerprints else Switches(nthreads)
        sw_depth = switches.depth if switches is not None else array("i")  # read only with switches
        ex.switches = switches
        found = ex.found
        for v in init_violations:
            ex.violations.setdefault(v.prop, v)
        graph = ex.graph_edges

        def add(ns: tuple, sid: int, eid: int, d: int) -> int:
            i = ex.count
            ex.count += 1
            if hashes is not None:
                hashes.append(hash(ns))
            else:
                key = bytes(ns) if compact else ns
                index[key] = i
                states.append(key)
                switches.grow(d)  # type: ignore[union-attr]
            queue.append((ns, i, d))
            parent.append(sid)
            via.append(eid)
            if d > ex.max_depth:
                ex.max_depth = d
            for k in invariants(ns):
                note(inv_names[k], d, Candidate(i, -1, None, None))
            return i

        def note(prop: str, d: int, candidate: Candidate) -> None:
            """A violation at depth d (in steps): keep every one at the smallest depth."""
            have = found.get(prop)
            if have is None or d < have[0]:
                found[prop] = (d, [candidate])
            elif d == have[0] and len(have[1]) < MAX_CANDIDATES:
                have[1].append(candidate)

        def failed(sid: int, d: int, eid: int, key: CheckKey, prop: str) -> None:
            if key[0] == eid:
                note(prop, d + 1, Candidate(sid, eid, key, None))
            else:
                note(prop, d + 1, Candidate(sid, eid, None, key))

        for st in initial:
            if (bytes(st) if compact else st) not in index and hash(st) not in seen:
                seen.add(hash(st))
                ex.roots[ex.count] = st
                i = add(st, -1, -1, 0)
                if switches is not None:
                    switches.start(i)

        transitions = 0
        next_report = PROGRESS_EVERY
        started = time.perf_counter()
        while queue:
            s, sid, d = queue.popleft()
            if d >= max_depth:
                ex.limit = f"--max-depth {max_depth}"
                continue
            if progress is not None and ex.count >= next_report:
                next_report = ex.count + PROGRESS_EVERY
                progress(Progress(ex.count, len(queue), d, time.perf_counter() - started))
            if switches is not None:
                switches.expand(sid)
            moved = False
            for t in thread_range:
                fn = node_fns[t][s[pcs[t]]]
                if fn is None:
                    continue
                for eid, ns, chk, ran in fn(s):
                    if chk is not None:
                        failed(sid, d, eid, check_keys[chk], check_props[chk])
                        if fatal[chk]:
                            moved = True
                            mark_ran(ran)
                        continue
                    if eid in acquires:
                        self.note_lock_order(ex, s, sid, t, eid, acquires[eid](s))
                    if ns[pcs[t]] in chained[t]:
                        endings = self.run_chain(t, ns, ex, sid, ran)
                    else:
                        endings = [(ns, None, ran)]
                    for fs, key, ran in endings:
                        if fs is None:
                            assert key is not None
                            prop = check_props[program.check_id(key)]
                            failed(sid, d, eid, key, prop)
                            if prop in FATAL:
                                moved = True
                                mark_ran(ran)
                            continue
                        moved = True
                        mark_ran(ran)
                        transitions += 1
                        if fingerprints:
                            h = hash(fs)
                            if h in seen:
                                continue
                            seen.add(h)
                            j = None
                        else:
                            j = index.get(bytes(fs) if compact else fs)
                        if j is None:
                            if ex.count >= max_states:
                                ex.limit = f"--max-states {max_states}"
                                queue.clear()
                                break
                            j = add(fs, sid, eid, d + 1)
                            if switches is not None:
                                switches.reach(j, sid, t, eid)
                        elif switches is not None and sw_depth[j] == d + 1:
                            switches.reach(j, sid, t, eid)
                        if graph is not None:
                            graph.append((sid, j, eid))
            if not moved and any(s[pcs[t]] != ends[t] for t in thread_range):
                note("deadlock", d, Candidate(sid, -1, None, None))
        ex.transitions = transitions
        for prop, (_, candidates) in found.items():
            if prop not in ex.violations:
                ex.violations[prop] = Violation(prop, self.best_path(ex, candidates))
        return ex

    def best_path(self, ex: Exploration, candidates: list[Candidate]) -> Path:
        """Among violations at the same (smallest) depth, the one whose path switches threads
        least; ties go to the one found first. Without full states (fingerprints), the first."""
        sw = ex.switches
        if sw is None:
            return self.path_to_candidate(ex, candidates[0])
        best: tuple[int, int, Candidate, int] | None = None
        for order, c in enumerate(candidates):
            if c.edge < 0:
                cost, t = sw.of_state(c.state)
            else:
                cost, t = sw.of_step(c.state, self.model.edges[c.edge].thread)
            if best is None or (cost, order) < (best[0], best[1]):
                best = (cost, order, c, t)
        assert best is not None
        _, _, c, t = best
        edges, ids = sw.walk(c.state, t)
        last = (c.edge, c.key) if c.edge >= 0 else None
        return Path(ex.state(ids[0]), tuple(edges), last, c.chain_key, tuple(ex.state(k) for k in ids))

    def path_to_candidate(self, ex: Exploration, c: Candidate) -> Path:
        if c.edge < 0:
            return self.path_to(ex, c.state)
        return self.path_to(ex, c.state, (c.edge, c.key), c.chain_key)

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
        return Path(ex.state(i), tuple(edges), last, chain_fail, tuple(ex.state(k) for k in ids))

    def note_lock_order(self, ex: Exploration, s: tuple, sid: int, t: int, eid: int, addr: int) -> None:
        me = t + 1
        for slot, readers in self.lock_slots:
            if slot == addr:
                continue
            if s[slot] == me or (readers and s[readers[t]]):
                key = (slot, addr)
                if key not in ex.lock_edges:
                    ex.lock_edges[key] = (sid, eid, t)




def check_explicit(program: Program | Model, limits: Limits | None = None,
                   progress: Callable[[Progress], None] | None = None) -> tuple[Result, Exploration]:
    """The reference engine's result (a model is compiled first)."""
    if isinstance(program, Model):
        program = compile_model(program)
    limits = limits or Limits()
    started = time.perf_counter()
    explorer = Explorer(program, limits)
    ex = explorer.explore(progress)
    seconds = time.perf_counter() - started
    builder = TraceBuilder(program.model, explorer)
    results = builder.property_results(ex)
    stats = Stats(ex.count, ex.transitions, ex.max_depth, seconds, ex.limit)
    result = Result(program.model.path, "explicit", results, stats,
                    coverage=coverage(program.model, program.coverage))
    if not ex.limit:
        result.warnings += coverage_warnings(result.coverage)
    return result, ex


__all__ = ["Explorer", "Limits", "check_explicit", "LocalLoopError", "Exploration"]
