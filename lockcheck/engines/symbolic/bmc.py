"""Bounded model checking: the transition relation unrolled in one incremental Z3 solver,
trace length 0, 1, 2, ... K, so the first violation found of each property is a shortest one,
as long (in visible steps) as the explicit engine's. If no simple path (all states distinct)
of some length L exists, every reachable state has been seen and the search is complete.

The properties are asked of the unrolling alone; the simple-path constraints (a quadratic
number of them) live in a second solver over the same terms, asked at lengths 1, 2, 4, 8, ...
and at the last length searched only: on the specs they made every query of the first solver
several times slower, and a loop-free path longer than the depth almost always exists. check_bmc writes slots as
bit-vectors for Z3's SAT solver (codec.BitCodec); induction's base case uses Z3 Ints."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import networkx as nx
import z3

from ... import ir
from ...ir import Model
from ...result import Result, Stats
from .encoding import Encoder, OutOfTime
from ..system import TransitionSystem
from .shared import (Budget, Goal, LockWitness, Outcome, Settings, Unrolling, goals_of, open_count,
                       has_lock_order_risk, own_property_warning, path_for, property_results, tools,
                       trivially_safe)
from ..tracing import Path

MAX_SIMPLE_PATH = 200   # the completeness check costs O(L^2) constraints: not beyond this length


@dataclass
class BoundedSearch:
    """The incremental search from the initial states. `searched`: the longest trace length
    fully searched; `found`: the first (shortest) violation of each goal and its length."""

    enc: Encoder
    system: TransitionSystem
    budget: Budget
    goals: list[Goal]
    lock_pairs: bool = False
    solver: z3.Solver = field(init=False)
    paths: z3.Solver = field(init=False)    # the unrolling and the simple-path constraints
    found: dict[str, tuple[Path, int]] = field(default_factory=dict)
    searched: int = -1
    exhausted: bool = False
    lock_edges: dict[tuple[int, int], LockWitness] = field(default_factory=dict)
    unroll: Unrolling = field(init=False)
    queries: int = 0
    path_terms: list[z3.BoolRef] = field(default_factory=list)   # what `paths` has not been given yet
    progress: Callable[[str], None] | None = None                 # told of each depth searched
    simple_upto: int = 0                                          # `paths` has them for states 0..this

    def __post_init__(self) -> None:
        self.solver, self.paths = self.enc.solver(), self.enc.solver()
        self.unroll = Unrolling(self.enc, "b")
        initial, init_violations = self.system.initial_states()
        for v in init_violations:
            self.found.setdefault(v.prop, (v.path, 0))
        self._add(self.unroll.add_state())
        self._add([z3.Or([self.enc.equals(self.unroll.xs[0], s) for s in initial])])

    def _add(self, terms: list[z3.BoolRef]) -> None:
        self.solver.add(terms)
        self.path_terms += terms

    def open_goals(self) -> list[Goal]:
        return [g for g in self.goals if g.name not in self.found]

    def run(self, depth: int, engine: str = "bmc") -> None:
        for length in range(self.searched + 1, depth + 1):
            if self.progress is not None:
                self.progress(f"{engine}: depth {length} of {depth}, {open_count(len(self.open_goals()))}")
            if self.exhausted or not self.search(length, last=length == depth):
                return

    def search(self, length: int, last: bool = False) -> bool:
        """Round `length`: the states `length` steps from the start are bad, or a step from one
        fails a check (a trace one step longer) or takes a lock while holding another. A
        failing step need not lead anywhere, so it is asked of the last state. False if Z3
        ran out of time. The completeness check runs at powers of two and at the `last` length."""
        while len(self.unroll.xs) <= length:
            self._add(self.unroll.add_state())
        if not self._query(length):
            return False
        if 1 <= length <= MAX_SIMPLE_PATH and (last or length & (length - 1) == 0):
            result = self._simple_path(length)
            if result == z3.unknown:
                return False
            self.exhausted = result == z3.unsat
        self.searched = length
        return True

    def _simple_path(self, length: int) -> z3.CheckSatResult:
        """Is there a path of `length` steps from an initial state through distinct states?"""
        self.paths.add(self.path_terms)
        self.path_terms = []
        xs = self.unroll.xs
        for k in range(self.simple_upto + 1, length + 1):
            self.paths.add([self.enc.differ(xs[i], xs[k]) for i in range(k)])
        self.simple_upto = max(self.simple_upto, length)
        self.queries += 1
        return self.budget.check(self.paths)

    def _query(self, depth: int) -> bool:
        pending: list[tuple[Goal | None, z3.BoolRef]] = []
        for g in self.open_goals():
            term = self.unroll.bad(g, depth)
            if not z3.is_false(term):
                pending.append((g, term))
        while True:
            lock_term = self._lock_edge_term(depth)
            terms = [t for _, t in pending] + ([lock_term] if lock_term is not None else [])
            if not terms:
                return True
            lit = z3.FreshBool("query")
            self.solver.add(z3.Implies(lit, z3.Or(terms)))
            self.queries += 1
            result = self.budget.check(self.solver, lit)
            if result == z3.unknown:
                return False
            if result == z3.unsat:   # proved for this depth: a fact that prunes the deeper searches
                self.solver.add([z3.Not(t) for _, t in pending])
                return True
            m = self.solver.model()
            states, edges = self.unroll.states(m, depth), self.unroll.edges(m, depth)
            for goal, t in pending:
                if goal is not None and z3.is_true(m.eval(t, model_completion=True)):
                    self.found[goal.name] = (self._path(goal, states, edges), depth + goal.offset)
            if lock_term is not None and z3.is_true(m.eval(lock_term, model_completion=True)):
                new = [w for w in self._concrete_lock_edges(states, edges)
                       if (w.held, w.acquired) not in self.lock_edges]
                for w in new:
                    self.lock_edges[(w.held, w.acquired)] = w
                if not new:  # taken only on a way the explicit engine does not note: stop asking
                    self.lock_pairs = False
            pending = [(g, t) for g, t in pending if g is None or g.name not in self.found]

    def _path(self, goal: Goal, states: list[tuple], edges: list[int]) -> Path:
        if goal.form == "nesting":
            return Path(states[0], tuple(edges), None, None, tuple(states))
        return path_for(self.system, goal, states, edges)

    # ---- lock order: which lock is taken while which is held, up to the depth ----
    def _lock_edge_term(self, depth: int) -> z3.BoolRef | None:
        """A step from the state takes a lock while holding another, in a pair not seen yet."""
        if not self.lock_pairs:
            return None
        exp = self.enc.template().exp0
        locks = self.enc.model.locks
        parts = []
        for node, addr, before in exp.acquires:
            if self.budget.overdue():   # building the term is the slow part with many locks
                return z3.BoolVal(True)     # asked next, and the check says the time is up
            shape_node = self.enc.shape.nodes[node]
            t, named = shape_node.thread, shape_node.edge.acquires
            takeable = [lk for lk in locks if not isinstance(named, ir.Lit) or lk.slot == named.value]
            for held in locks:
                for taken in takeable:
                    if held.slot != taken.slot and (held.slot, taken.slot) not in self.lock_edges:
                        parts.append(z3.And(exp.ok[node], self.enc.held_by(before, held, t),
                                            self.enc.codec.is_(addr, taken.slot)))
        return self.unroll.at(z3.Or(parts), depth) if parts else None

    def _concrete_lock_edges(self, states: list[tuple], edges: list[int]) -> list[LockWitness]:
        """The lock-order edges of the steps from the last state, as the explicit engine notes
        them: the first step taking each pair (its first edge: replay starts it, its chain may
        take the lock)."""
        out: dict[tuple[int, int], LockWitness] = {}
        for a in self.system.step_from(states[-1]).acquisitions:
            if (a.held, a.taken) not in out:
                out[(a.held, a.taken)] = LockWitness(a.held, a.taken, a.thread, a.edge, tuple(states), tuple(edges))
        return list(out.values())

    def lock_cycle(self) -> bool:
        graph = nx.DiGraph()
        graph.add_edges_from(self.lock_edges)
        try:
            nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            return False
        return True


def check_bmc(model: Model, settings: Settings) -> Result:
    settings.validate()
    started = time.perf_counter()
    budget = Budget(settings.timeout)
    enc = Encoder(model, bits=True)
    enc.overdue = budget.overdue
    system, builder, _ = tools(model)
    goals = [g for g in goals_of(enc) if not trivially_safe(enc, g)]
    search = BoundedSearch(enc, system, budget, goals,
                           lock_pairs=has_lock_order_risk(model) and model.is_asked("lock_order"),
                           progress=settings.progress)
    try:
        search.run(settings.depth)
    except OutOfTime:   # building the next depth's terms: what the checks before found stands
        budget.ran_out = True
    results = property_results(builder, {n: p for n, (p, _) in search.found.items()},
                               _lock_witnesses(search), _outcomes(model, search, goals, budget), "bmc",
                               {n: f"violated in {k} steps (a shortest counterexample)"
                                for n, (_, k) in search.found.items()})
    for r in results:
        if r.name == "lock_order" and r.verdict == "violated":
            r.detail = f"a lock-order cycle among the acquisitions within depth {search.searched}"
    stats = Stats(0, 0, max(search.searched, 0), time.perf_counter() - started, budget.limit())
    return Result(model.path, "bmc", results, stats, own_property_warning(model))


def _lock_witnesses(search: BoundedSearch) -> list[LockWitness]:
    """The witnesses of a lock-order cycle, if the edges found so far make one."""
    return list(search.lock_edges.values()) if search.lock_cycle() else []


def _outcomes(model: Model, search: BoundedSearch, goals: list[Goal], budget: Budget) -> dict[str, Outcome]:
    out: dict[str, Outcome] = {}
    checked = {g.name for g in goals}
    for name in model.properties:
        if name == "lock_order":
            if not search.lock_pairs:
                out[name] = Outcome("holds", "no lock can be taken while another is held", "bmc")
            else:
                open_ = _open(search, budget)
                out[name] = Outcome(open_.verdict, open_.detail.replace("no violation", "no lock-order cycle"), "bmc")
        elif name not in checked:
            out[name] = Outcome("holds", "no step of the spec can fail it", "bmc")
        else:
            out[name] = _open(search, budget)
    return out


def _open(search: BoundedSearch, budget: Budget) -> Outcome:
    if search.exhausted:
        return Outcome("holds", f"every reachable state is within depth {search.searched - 1}, all searched", "bmc")
    detail = f"no violation up to depth {search.searched}" if search.searched >= 0 else "nothing searched"
    if budget.stopped:
        detail += f" ({budget.why()} at depth {search.searched + 1})"
    return Outcome("unknown", detail, "bmc")
