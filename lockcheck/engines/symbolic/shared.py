"""What the symbolic engines (bmc, induction, pdr) share: their settings, the properties
they check as predicates on a state, the Z3 time budget, and turning a solver's model into
a Path of the transition system (system.py) so that the same TraceBuilder and reporter show
it as the explicit engine's."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Literal

import z3

from ...errors import SpecError
from ...ir import Model, Thread
from ...result import InductionCounterexample, PropertyResult
from .encoding import Encoder, Expansion, StepShape, concrete
from ..record import CheckKey, Found, Path, Violation
from ..system import StateExpr, TransitionSystem
from ..tracing import TraceBuilder

MAX_DEPTH = 10_000
DEFAULT_BMC_DEPTH = 30
DEFAULT_INDUCTION_DEPTH = 4

GoalForm = Literal["state", "step", "nesting"]


@dataclass(frozen=True)
class Settings:
    depth: int = DEFAULT_BMC_DEPTH
    timeout: float | None = None     # seconds for all of Z3's work in one run
    more_candidates: bool = False    # induction: a third round with the costlier candidate shapes
    progress: Callable[[str], None] | None = None   # told what the engine is doing, a line of text

    def tell(self, text: str) -> None:
        if self.progress is not None:
            self.progress(text)

    def validate(self) -> None:
        if self.depth < 1:
            raise SpecError(f"--depth must be at least 1, not {self.depth}")
        if self.depth > MAX_DEPTH:
            raise SpecError(f"--depth {self.depth} is too deep for the symbolic engines (at most {MAX_DEPTH})")
        if self.timeout is not None and self.timeout <= 0:
            raise SpecError(f"--timeout must be positive, not {self.timeout:g}")


def open_count(n: int) -> str:
    """For progress lines: `1 property open`, `14 properties open`."""
    return f"{n} {'property' if n == 1 else 'properties'} open"


@dataclass(frozen=True)
class Goal:
    """A property as a predicate on one state. `state`: bad in that state (invariants,
    lemmas, deadlock): a trace to it has as many steps as the state's depth. `step`: some
    step from that state fails one of the property's checks: one step more. `nesting`:
    some step from that state acquires a lock while holding another (for lock_order)."""

    name: str
    form: GoalForm

    @property
    def offset(self) -> int:
        return 0 if self.form == "state" else 1


def goals_of(enc: Encoder, with_nesting: bool = False, lemmas: bool = False) -> list[Goal]:
    """The properties to search or prove, as goals: those asked for (--property; all by
    default), and with `lemmas` every lemma too (k-induction assumes what it proves)."""
    model = enc.model
    out = [Goal(p.name, "state") for p in model.invariants if p.cond is not None]
    out += [Goal(name, "step") for name in enc.check_properties()]
    out.append(Goal("deadlock", "state"))
    if with_nesting and has_lock_order_risk(model):
        out.append(Goal("lock_order", "nesting"))
    kinds = {name: p.kind for name, p in model.properties.items()}
    return [g for g in out if model.is_asked(g.name) or (lemmas and kinds.get(g.name) == "lemma")]


def has_lock_order_risk(model) -> bool:
    return len(model.locks) > 1 and any(e.acquires is not None for e in model.edges)


def bad_term(enc: Encoder, goal: Goal, exp: Expansion) -> z3.BoolRef:
    """The goal is broken at (or by a step from) the state `exp` was expanded from."""
    if goal.form == "nesting":
        return enc.nested_acquire(exp)
    if goal.form == "step":
        fails = exp.fails_of(goal.name)
        return z3.Or(fails) if fails else z3.BoolVal(False)
    if goal.name == "deadlock":
        return enc.deadlock(exp)
    cond = enc.model.properties[goal.name].cond
    assert cond is not None
    return z3.Not(enc.codec.predicate(cond, exp.pre))


def trivially_safe(enc: Encoder, goal: Goal) -> bool:
    """No check of this property exists anywhere in the model: nothing can fail it."""
    return goal.form == "step" and not any(c.prop == goal.name for e in enc.model.edges for c in e.checks)


# ---- time --------------------------------------------------------------------------------

@dataclass
class Budget:
    """Z3's time budget: each check gets what is left of --timeout. `ran_out`: the time is
    up; `gave_up`: Z3 answered unknown for another reason (nonlinear arithmetic, say)."""

    seconds: float | None
    started: float = field(default_factory=time.perf_counter)
    ran_out: bool = False
    gave_up: str = ""

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def left_ms(self) -> int | None:
        if self.seconds is None:
            return None
        return int((self.seconds - self.elapsed()) * 1000)

    def overdue(self) -> bool:
        """The time is up (for the Python phases between Z3's checks)."""
        ms = self.left_ms()
        return ms is not None and ms <= 0

    def check(self, solver: z3.Solver, *assumptions: z3.BoolRef) -> z3.CheckSatResult:
        ms = self.left_ms()
        if ms is not None:
            if ms <= 0:
                self.ran_out = True
                return z3.unknown
            solver.set("timeout", ms)
        result = solver.check(*assumptions)
        if result == z3.unknown:
            reason = solver.reason_unknown()
            if "canceled" in reason and (self.seconds is None or (self.left_ms() or 0) > 1000):
                # Ctrl-C (or SIGTERM) during the check: Z3 took the signal; stop as Python would have
                raise KeyboardInterrupt
            if self.seconds is not None and ("timeout" in reason or "canceled" in reason or (self.left_ms() or 0) <= 0):
                self.ran_out = True
            else:
                self.gave_up = reason or "unknown"
        return result

    @property
    def stopped(self) -> bool:
        return self.ran_out or bool(self.gave_up)

    def limit(self) -> str:
        """What stopped the run, for Stats.limit ("" if nothing did)."""
        if self.ran_out:
            return f"--timeout {self.seconds:g}"
        return f"Z3 giving up ({self.gave_up})" if self.gave_up else ""

    def why(self) -> str:
        return "--timeout stopped Z3" if self.ran_out else f"Z3 gave up ({self.gave_up})"

# ---- from a solver's model to the explicit engine's Path ---------------------------------

@dataclass
class Unrolling:
    """Copies of the state x0..xn with the step selectors between them."""

    enc: Encoder
    tag: str
    xs: list[list[z3.ExprRef]] = field(default_factory=list)
    sels: list[z3.ExprRef] = field(default_factory=list)
    reduce: bool = True     # only one order of two independent steps in a row
    _pairs: dict[int, tuple[int, tuple]] = field(default_factory=dict)
    _bad: dict[str, z3.BoolRef] = field(default_factory=dict)

    def add_state(self) -> list[z3.BoolRef]:
        """A new last state; returns the constraints tying it to the one before."""
        k = len(self.xs)
        self.xs.append(self.enc.state(f"@{self.tag}{k}"))
        if k == 0:
            return []
        self.sels.append(self.enc.selector(f"step@{self.tag}{k - 1}"))
        tmpl = self.enc.template()
        cons = [self.at(tmpl.transition, k - 1)]
        if k > 1 and self.reduce:
            cons.append(self.at(tmpl.order, k - 2))
        return cons

    def at(self, term: z3.ExprRef, i: int) -> z3.ExprRef:
        """A term over the template (Encoder.template) copied to the step from state i:
        x0 -> xs[i], sel0 -> sels[i], x1 -> xs[i+1], sel1 -> sels[i+1], as far as they exist."""
        have = len(self.xs) + len(self.sels)
        cached = self._pairs.get(i)
        if cached is None or cached[0] != have:
            tmpl, codec = self.enc.template(), self.enc.codec
            pairs = []
            for template, xs in ((tmpl.x0, i), (tmpl.x1, i + 1)):
                if xs < len(self.xs):
                    pairs += [(t, x) for j, (t, x) in enumerate(zip(template, self.xs[xs])) if not codec.is_constant(j)]
            for template, n in ((tmpl.sel0, i), (tmpl.sel1, i + 1)):
                if n < len(self.sels):
                    pairs.append((template, self.sels[n]))
            src = (z3.Ast * len(pairs))(*[a.as_ast() for a, _ in pairs])
            dst = (z3.Ast * len(pairs))(*[b.as_ast() for _, b in pairs])
            cached = self._pairs[i] = (have, (len(pairs), src, dst))
        n, src, dst = cached[1]   # through the C API: z3.substitute checks each pair's sorts in Python
        ctx = term.ctx
        return z3.z3._to_expr_ref(z3.Z3_substitute(ctx.ref(), term.as_ast(), n, src, dst), ctx)

    def bad(self, goal: "Goal", i: int) -> z3.BoolRef:
        """The goal is broken at (or by a step from) state i."""
        term = self._bad.get(goal.name)
        if term is None:
            term = self._bad[goal.name] = bad_term(self.enc, goal, self.enc.template().exp0)
        return term if z3.is_false(term) else self.at(term, i)

    def states(self, m: z3.ModelRef, upto: int) -> list[tuple]:
        return [concrete(m, x, self.enc.codec) for x in self.xs[:upto + 1]]

    def edges(self, m: z3.ModelRef, upto: int) -> list[int]:
        shape: StepShape = self.enc.shape
        out = []
        for sel in self.sels[:upto]:
            leaf = shape.leaves[m.eval(sel, model_completion=True).as_long()]
            out.append(shape.nodes[shape.root_of(leaf)].edge.id)
        return out


def step_failure(system: TransitionSystem, state: tuple, prop: str
                 ) -> tuple[tuple[int, CheckKey | None], CheckKey | None] | None:
    """The first step from `state` that fails a check of `prop`, in the explicit engine's
    order: (edge, key) for the step's own check, or (edge, None) and the key of a check of
    a chained edge after it."""
    for f in system.step_from(state).failures:
        if f.prop == prop:
            return f.ending
    return None


def path_for(system: TransitionSystem, goal: Goal, states: list[tuple], edges: list[int]) -> Path:
    if goal.form == "state":
        return Path(states[0], tuple(edges), None, None, tuple(states))
    found = step_failure(system, states[-1], goal.name)
    if found is None:
        raise AssertionError(f"the solver's step failing {goal.name} does not replay")
    last, chain_fail = found
    return Path(states[0], tuple(edges), last, chain_fail, tuple(states))


# ---- results -----------------------------------------------------------------------------

@dataclass(frozen=True)
class LockWitness:
    """A lock-order edge: `thread` takes lock slot `acquired` holding `held`, by `edge`,
    after the steps `edges` through `states`."""

    held: int
    acquired: int
    thread: int
    edge: int
    states: tuple[tuple, ...]
    edges: tuple[int, ...]


class Witnesses:
    """The paths a symbolic search found, as the trace builder asks a search for them: each
    path's states chained by parent, so a lock-order edge points at the state it was seen in."""

    def __init__(self, system: TransitionSystem):
        self.system = system
        self.states: list[tuple] = []
        self.parent: list[int] = []
        self.via: list[int] = []

    def thread(self, t: int) -> Thread:
        return self.system.thread(t)

    def add(self, states: tuple[tuple, ...], edges: tuple[int, ...]) -> int:
        """Put one path in; the index of its last state."""
        sid = -1
        for k, state in enumerate(states):
            self.states.append(state)
            self.parent.append(sid)
            self.via.append(edges[k - 1] if k else -1)
            sid = len(self.states) - 1
        return sid

    def path_to(self, found: object, sid: int, last: tuple[int, CheckKey | None] | None = None) -> Path:
        edges: list[int] = []
        ids = [sid]
        while self.parent[ids[-1]] >= 0:
            edges.append(self.via[ids[-1]])
            ids.append(self.parent[ids[-1]])
        edges.reverse()
        ids.reverse()
        return Path(self.states[ids[0]], tuple(edges), last, None, tuple(self.states[k] for k in ids))


def tools(model: Model) -> tuple[TransitionSystem, TraceBuilder, Witnesses]:
    system = TransitionSystem(model)
    witnesses = Witnesses(system)
    return system, TraceBuilder(model, witnesses, system=system), witnesses


@dataclass(frozen=True)
class Outcome:
    """A symbolic engine's word on one property that it did not find violated."""

    verdict: str
    detail: str
    engine: str
    cti: InductionCounterexample | None = None


def property_results(builder: TraceBuilder, violations: dict[str, Path], lock_edges: list[LockWitness],
                     others: dict[str, Outcome], engine: str, violated_detail: dict[str, str]) -> list[PropertyResult]:
    """The explicit engine's results (wording, traces, lock-order cycles) for what the
    symbolic search found, with every other property given its symbolic verdict."""
    found = Found()
    witnesses = builder.explorer
    assert isinstance(witnesses, Witnesses)
    for name, path in violations.items():
        found.violations[name] = Violation(name, path)
    for w in sorted(lock_edges, key=lambda w: len(w.edges)):
        if (w.held, w.acquired) not in found.lock_edges:
            found.lock_edges[(w.held, w.acquired)] = (witnesses.add(w.states, w.edges), w.edge, w.thread)
    results = builder.property_results(found)
    for r in results:
        r.engine = engine
        if r.verdict == "violated":
            r.detail = violated_detail.get(r.name, "")
            continue
        outcome = others.get(r.name, Outcome("unknown", "not checked by this engine", engine))
        r.verdict, r.detail, r.engine = outcome.verdict, outcome.detail, outcome.engine  # type: ignore[assignment]
        r.cti = outcome.cti
    return results


def own_property_warning(model: Model) -> list[str]:
    kinds = {p.kind for p in model.properties.values()}
    if kinds <= {"builtin"}:
        return ["the spec declares no property of its own (invariant, lemma, assert, requires, ensures): "
                "only the built-in checks were run"]
    return []


# ---- goals on concrete states (to refute assumptions without asking Z3) ------------------

@dataclass
class ConcreteGoals:
    """Whether a goal is broken at a concrete state, by the transition system."""

    system: TransitionSystem
    invariants: dict[str, StateExpr] = field(default_factory=dict)

    def broken(self, goals: list[Goal], state: tuple) -> set[str]:
        """The goals broken at `state`, with one look at its steps."""
        out = {g.name for g in goals if g.form == "state" and g.name != "deadlock" and self.bad(g, state)}
        if any(g.form != "state" or g.name == "deadlock" for g in goals):
            steps = self.system.step_from(state)
            failing = {f.prop for f in steps.failures}
            for g in goals:
                if g.form == "step" and g.name in failing:
                    out.add(g.name)
                elif g.form == "nesting" and steps.acquisitions:
                    out.add(g.name)
                elif g.name == "deadlock" and not steps.moved and self._unfinished(state):
                    out.add(g.name)
        return out

    def bad(self, goal: Goal, state: tuple) -> bool:
        if goal.form == "state" and goal.name != "deadlock":
            return not self.invariant(goal.name)(state)
        return bool(self.broken([goal], state))

    def invariant(self, name: str) -> StateExpr:
        fn = self.invariants.get(name)
        if fn is None:
            cond = self.system.model.properties[name].cond
            assert cond is not None
            fn = self.invariants[name] = self.system.evaluate(cond)
        return fn

    def _unfinished(self, state: tuple) -> bool:
        return any(state[t.pc_slot] != t.end for t in self.system.model.threads)
