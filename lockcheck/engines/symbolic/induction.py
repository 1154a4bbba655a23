"""k-induction. A property is proved when it holds in the first k-1 steps from the start
(the base case, the bmc search) and every k consecutive steps between states where all
properties not yet refuted hold lead to a state where it holds too (the step case).

The step case assumes, besides the spec's properties and lemmas, the candidate invariants of
strengthen.py; a Houdini loop drops each assumption some step case refutes until the rest is
inductive as a whole: all of it is then proved at once. Whatever is not proved up to the
depth is `unknown`, with the counterexample to induction: the states from which a step breaks
it, so the user sees which fact the proof lacks (and can write it as a lemma)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import z3

from ... import ir
from ...result import InductionCounterexample, Result, Stats, Trace
from .bmc import MAX_SIMPLE_PATH, BoundedSearch
from .encoding import Encoder, OutOfTime, fast_and, fast_or
from ..errors import LocalLoopError
from .strengthen import Candidate, CandidateSet, candidates, live_locals
from ..explicit.arrays import Array
from ..system import StepsFrom, TransitionSystem
from .shared import (Budget, ConcreteGoals, Goal, Outcome, Settings, Unrolling, goals_of, open_count,
                       own_property_warning, path_for, property_results, tools, trivially_safe)
from ..tracing import Path, TraceBuilder, format_value, position_texts

Item = Goal | Candidate
ALL = object()   # an item that any step may affect
NEARBY_STATES = 1000


@dataclass(frozen=True)
class Cti:
    """A counterexample to induction: k steps through states where every assumption holds,
    then the goal breaks."""

    k: int
    states: tuple[tuple, ...]
    edges: tuple[int, ...]


@dataclass
class StepCase:
    """Paths y0 .. yk from any resting state; one solver, extended as k grows."""

    enc: Encoder
    budget: Budget
    solver: z3.Solver = field(default_factory=z3.Solver)
    unroll: Unrolling = field(init=False)
    proved: list[Item] = field(default_factory=list)
    terms: dict[tuple[int, int], z3.BoolRef] = field(default_factory=dict)
    reads: dict[int, object] = field(default_factory=dict)
    simple: z3.BoolRef = field(default_factory=lambda: z3.FreshBool("simple_step"))

    def __post_init__(self) -> None:
        self.unroll = Unrolling(self.enc, "i")
        self.solver.add(self.unroll.add_state())
        y0 = self.unroll.xs[0]
        self.solver.add(self.enc.domain(y0), self.enc.resting(y0), self.enc.owners(y0))
        self.solver.set("smt.relevancy", 0)

    @property
    def k(self) -> int:
        return len(self.unroll.xs) - 1

    def extend(self) -> None:
        self.solver.add(self.unroll.add_state())
        k = self.k
        if k <= MAX_SIMPLE_PATH:
            for i in range(k):
                self.solver.add(z3.Implies(self.simple, self.enc.differ(self.unroll.xs[i], self.unroll.xs[k])))
        for item in self.proved:
            self.solver.add(self.good(item, k))

    def good(self, item: Item, i: int) -> z3.BoolRef:
        key = (id(item), i)
        term = self.terms.get(key)
        if term is None:
            if isinstance(item, Candidate):
                term = self.enc.codec.predicate(item.expr(self.enc.model), self.unroll.xs[i])
            else:
                term = z3.Not(self.unroll.bad(item, i))
            self.terms[key] = term
        return term

    def bad(self, item: Item, i: int) -> z3.BoolRef:
        key = (id(item), -1 - i)
        term = self.terms.get(key)
        if term is None:
            term = self.terms[key] = z3.Not(self.good(item, i))
        return term

    def prove(self, item: Item) -> None:
        self.proved.append(item)
        for i in range(self.k + 1):
            self.solver.add(self.good(item, i))

    def houdini(self, goals: list[Goal], cands: list[Candidate], judge: "Judge",
                by_family: bool = True) -> tuple[list[Goal], list[Candidate], dict[str, Cti]] | None:
        """The goals the step case at this k proves together with candidate invariants (all
        of `cands`, assumed from the start), those candidates, and a counterexample for
        each goal dropped (Houdini). Each query fixes the thread of the last step and asks
        only about what its writes can change; a drop weakens the assumptions, so every
        thread is asked again. None if Z3 ran out of time."""
        alive = list(goals)
        active = CandidateSet(self.enc.model, cands, by_family, judge.system)
        ctis: dict[str, Cti] = {}
        k = self.k
        groups = list(range(len(self.enc.model.threads)))
        pending = list(groups)
        while pending and alive:
            g = pending[0]
            items: list[Item] = [*alive, *active.items()]
            touched = [item for item in items if self.affected(item, g)]
            if not touched:
                pending.pop(0)
                continue
            self.solver.push()
            self.solver.add(fast_and([self.good(item, i) for item in items for i in range(k)]))
            self.solver.add(self.moves(g), fast_or([self.bad(item, k) for item in touched]))
            result = self.budget.check(self.solver, *self._simple())
            m = self.solver.model() if result == z3.sat else None
            self.solver.pop()
            if result == z3.unknown:
                return None
            if m is None:
                pending.pop(0)
                continue
            pending = [g] + [h for h in groups if h != g]
            states = self.unroll.states(m, k)
            broken_goals = judge.goals.broken(alive, states[-1])
            broken_cands = active.false_at(states[-1])
            if not broken_goals and not broken_cands:  # Python and Z3 disagree: Z3 decides
                broken_goals = {x.name for x in alive if z3.is_false(m.eval(self.good(x, k), model_completion=True))}
                broken_cands = [c for c in active.items()
                                if z3.is_false(m.eval(self.good(c, k), model_completion=True))]
            cti = Cti(k, tuple(states), tuple(self.unroll.edges(m, k)))
            ctis.update({name: cti for name in broken_goals})
            alive = [x for x in alive if x.name not in broken_goals]
            active.remove(active.with_family(broken_cands))
            judge.refute_nearby(alive, active, self.proved, states[-2])
        return alive, active.items(), ctis

    def moves(self, t: int) -> z3.BoolRef:
        """The last step is one of thread t's (its macro-steps are a run of selector values)."""
        lo, hi = self.enc.thread_leaves(t)
        return self.enc.codec.sel_range(self.unroll.sels[-1], lo, hi)

    def affected(self, item: Item, t: int) -> bool:
        """A step of thread t can change whether the item holds."""
        reads = self.reads.get(id(item))
        if reads is None:
            reads = self.reads[id(item)] = self._reads(item)
        return reads is ALL or bool(reads & self.enc.written_by(t))  # type: ignore[operator]

    def _reads(self, item: Item) -> frozenset[int] | object:
        model = self.enc.model
        if isinstance(item, Candidate):
            return frozenset(ir.slots_read(item.expr(model)))
        if item.form == "state" and item.name != "deadlock":
            cond = model.properties[item.name].cond
            assert cond is not None
            return frozenset(ir.slots_read(cond))
        return ALL

    def _simple(self) -> list[z3.BoolRef]:
        return [self.simple] if 2 <= self.k <= MAX_SIMPLE_PATH else []


@dataclass
class Judge:
    """Goals and candidates on concrete states, by the transition system: cheaper than
    asking Z3's model, and able to look at the states around a counterexample the solver
    found."""

    system: TransitionSystem
    nearby: int = NEARBY_STATES
    goals: ConcreteGoals = field(init=False)

    def __post_init__(self) -> None:
        self.goals = ConcreteGoals(self.system)

    def refute_nearby(self, goals: list[Goal], cands: CandidateSet, proved: list[Item], start: tuple) -> None:
        """`start` satisfies every assumption (it is the solver's premise state): so does any
        state found from it through states that satisfy them all, and a candidate false in a
        successor of such a state is not inductive: drop it. Goals are left to the solver,
        whose counterexamples are the ones worth showing. Breadth first, a level at a time."""
        level, seen, expanded = [start], {start}, 0
        while level and expanded < self.nearby and len(cands):
            level = level[:self.nearby - expanded]
            try:
                steps = self.system.steps_from(level)
            except LocalLoopError:
                return
            nexts: list[tuple] = []
            assumed = self._assumed(goals, cands, self.system.matrix(level))
            for state, out, ok in zip(level, steps, assumed.tolist()):
                if state != start and not (ok and self._steps_hold(goals, state, out)):
                    continue
                expanded += 1
                nexts += [s for _, s in out.successors]
            if nexts:
                dead = cands.false_in(self.system.matrix(nexts))
                if dead:
                    cands.remove(cands.with_family(dead))
            level = []
            for nxt in nexts:
                if nxt not in seen:
                    seen.add(nxt)
                    level.append(nxt)

    def _assumed(self, goals: list[Goal], cands: CandidateSet, matrix: Array) -> Array:
        """Per row: every candidate and every goal that is a state invariant holds there."""
        ok = cands.holding_rows(matrix)
        for g in goals:
            if g.form == "state" and g.name != "deadlock":
                ok &= self.goals.invariant(g.name).rows(matrix)
        return ok

    def _steps_hold(self, goals: list[Goal], state: tuple, steps: StepsFrom) -> bool:
        """Every goal about the steps from `state` holds there (`steps`: those steps, taken)."""
        for g in goals:
            if g.form == "state" and g.name != "deadlock":
                continue
            if g.form == "step":
                if any(f.prop == g.name for f in steps.failures):
                    return False
            elif g.form == "nesting":
                if steps.acquisitions:
                    return False
            elif not steps.moved and any(state[t.pc_slot] != t.end for t in self.system.model.threads):
                return False
        return True


@dataclass
class Induction:
    """The whole run: base case and step case side by side, k = 1 .. depth."""

    model: ir.Model
    settings: Settings
    use_candidates: bool = True
    budget: Budget = field(init=False)
    enc: Encoder = field(init=False)
    system: TransitionSystem = field(init=False)
    builder: TraceBuilder = field(init=False)
    goals: list[Goal] = field(init=False)
    proved: dict[str, int] = field(default_factory=dict)    # goal -> the k that proved it
    ctis: dict[str, Cti] = field(default_factory=dict)
    aux_proved: int = 0
    aux_tried: int = 0
    reached: int = 0        # the last k whose step case finished a Houdini round
    trying: int = 0         # the k being tried (where a timeout stops it)

    def __post_init__(self) -> None:
        self.budget = Budget(self.settings.timeout)
        self.enc = Encoder(self.model)
        self.enc.overdue = self.budget.overdue
        self.system, self.builder, _ = tools(self.model)
        self.goals = [g for g in goals_of(self.enc, with_nesting=True, lemmas=True)
                      if not trivially_safe(self.enc, g)]

    def run(self) -> tuple[BoundedSearch, StepCase]:
        base = BoundedSearch(self.enc, self.system, self.budget, self.goals)
        step = StepCase(self.enc, self.budget)
        try:
            self._rounds(base, step)
        except OutOfTime:   # while building terms: what the checks before found and proved stands
            self.budget.ran_out = True
        return base, step

    def _rounds(self, base: BoundedSearch, step: StepCase) -> None:
        more = self.settings.more_candidates
        pool = candidates(self.system, more=more, stop=self.budget.overdue) if self.use_candidates else []
        self.aux_tried = len(pool)
        # Candidates are tried at k = 1 only, where their base case is the initial states
        # (all of them sampled). The cheap ones first: what they prove is then a fact for
        # the lock facts' round, which is slower and may run out of time; with
        # --more-candidates a third round brings the costlier shapes, and the literals
        # dropped before, which may hold together with them.
        rounds = [[c for c in pool if c.stage == 0], [c for c in pool if c.stage == 1]]
        if more:
            rounds.append([c for c in pool if c.stage in (0, 2)])
        rounds = [r for r in rounds if r] or [[]]
        judge = Judge(self.system)
        for k in range(1, self.settings.depth + 1):
            self.trying = k
            self.settings.tell(f"induction: k={k} of {self.settings.depth}, {open_count(len(self._open(base)))}")
            base.run(k - 1)
            if base.searched < k - 1 or not self._open(base):
                break
            step.extend()
            for cands in (rounds if k == 1 else [[]]):
                open_ = self._open(base)
                if not open_:
                    return
                # the third round drops a fact thread by thread: the threads of an array are
                # not symmetric to the flusher that visits their pages in order
                outcome = step.houdini(open_, [c for c in cands if c not in step.proved], judge,
                                       by_family=all(c.stage < 2 for c in cands))
                if outcome is None:
                    return
                kept, used, ctis = outcome
                self.reached = k
                self.ctis.update(ctis)
                for goal in kept:
                    step.prove(goal)
                for candidate in used:
                    step.prove(candidate)
                self.proved.update({g.name: k for g in kept})
                self.aux_proved += len(used)
        return

    def _open(self, base: BoundedSearch) -> list[Goal]:
        return [g for g in self.goals if g.name not in base.found and g.name not in self.proved]


def check_induction(model: ir.Model, settings: Settings, use_candidates: bool = True) -> Result:
    settings.validate()
    started = time.perf_counter()
    run = Induction(model, settings, use_candidates)
    base, step = run.run()
    found = {n: p for n, (p, _) in base.found.items() if n != "lock_order"}
    results = property_results(run.builder, found, [], _outcomes(run, base), "induction",
                               {n: f"violated in {k} steps (found by the base case: a shortest counterexample)"
                                for n, (_, k) in base.found.items()})
    stats = Stats(0, 0, run.reached, time.perf_counter() - started, run.budget.limit())
    warnings = own_property_warning(model)
    if run.aux_proved:
        warnings.append(f"the step case used {run.aux_proved} of {run.aux_tried} candidate invariants "
                        "about where threads stand, proved along with the properties")
    return Result(model.path, "induction", results, stats, warnings)


def _outcomes(run: Induction, base: BoundedSearch) -> dict[str, Outcome]:
    out: dict[str, Outcome] = {}
    goal_names = {g.name for g in run.goals}
    for name in run.model.properties:
        if name in run.proved:
            detail = f"proved (k={run.proved[name]})"
            if name == "lock_order":
                detail += ": no lock is ever taken while another is held"
            out[name] = Outcome("holds", detail, "induction")
        elif name == "lock_order" and name not in goal_names:
            out[name] = Outcome("holds", "no lock can be taken while another is held", "induction")
        elif name == "lock_order" and name in base.found:
            out[name] = Outcome("unknown", "locks are taken nested; induction proves lock_order only when no lock "
                                "is taken while another is held (use --engine explicit or bmc)", "induction")
        elif name not in goal_names:
            out[name] = Outcome("holds", "no step of the spec can fail it", "induction")
        else:
            detail, cti = _not_proved(run, name)
            out[name] = Outcome("unknown", detail, "induction", cti)
    return out


def _not_proved(run: Induction, name: str) -> tuple[str, InductionCounterexample | None]:
    if run.budget.stopped:
        head = f"not proved: {run.budget.why()} (k={max(run.trying, 1)})"
    else:
        head = f"not proved by k-induction up to k={run.reached}"
    cti = run.ctis.get(name)
    if cti is None:
        return head, None
    goal = next(g for g in run.goals if g.name == name)
    text, shown = render_cti(run.builder, run.system, goal, cti)
    return head + "\n" + text, shown


def render_cti(builder: TraceBuilder, system: TransitionSystem, goal: Goal,
               cti: Cti) -> tuple[str, InductionCounterexample]:
    """The counterexample to induction as text (the first state in full, each step with
    what it changes, and how the property breaks at the end) and as data for the reports."""
    model = builder.model
    lines = [f"counterexample to induction: {cti.k} step(s) from a state where every assumed property holds "
             "(it need not be reachable); a lemma that rules out this first state would help:"]
    lines += ["  " + line for line in describe(model, cti.states[0])]
    path = Path(cti.states[0], cti.edges, None, None, cti.states)
    if goal.form == "step":
        try:
            path = path_for(system, goal, list(cti.states), list(cti.edges))
        except AssertionError:
            pass
    steps, end, failed = builder.replay(path)
    for st in steps:
        if st.number is None and not st.changes and not st.failed:
            continue
        mark = f"{st.number}." if st.number is not None else "  "
        change = ", ".join(f"{c.name}: {c.old} -> {c.new}" for c in st.changes)
        tail = f"  [{st.failed}]" if st.failed else ""
        lines.append(f"  step {mark} {st.thread}: {st.text} ({st.span.short}){'  ' + change if change else ''}{tail}")
    if goal.form == "state":
        lines.append(f"  and then {goal.name} is false" if goal.name != "deadlock" else
                     "  and then no thread can move")
    elif goal.form == "nesting":
        lines.append("  and then a step takes a lock while its thread holds another")
    start = cti.states[0]
    values = tuple((slot.name, format_value(model, i, start[i])) for i, slot in enumerate(model.slots)
                   if slot.thread < 0 and slot.visible and slot.kind != "rw_reader")
    ending = lines[-1].strip() if goal.form != "step" else failed
    shown = InductionCounterexample(cti.k, builder.final_state(start), values,
                                    Trace(tuple(steps), builder.final_state(end), ending))
    return "\n".join(lines), shown


def describe(model: ir.Model, state: tuple) -> list[str]:
    """Where each thread stands (with the locals it will still read) and the value of every
    global, grouped by object."""
    lines = []
    for t in model.threads:
        pc = state[t.pc_slot]
        where = position_texts(model, t).get(pc) or t.node_text.get(pc, ("?", None))[0]
        at = "finished" if pc == t.end else f"at '{where}'"
        live = live_locals(model, t).get(pc, set())
        own = ", ".join(f"{model.slots[i].name.split('.', 1)[-1]}={format_value(model, i, state[i])}"
                        for i in sorted(live) if model.slots[i].visible or model.slots[i].kind == "ref")
        lines.append(f"{t.name} {at}" + (f" ({own})" if own else ""))
    groups: dict[str, list[str]] = {}
    for i, slot in enumerate(model.slots):
        if slot.thread < 0 and slot.visible and slot.kind != "rw_reader":
            obj, _, fld = slot.name.rpartition(".")
            groups.setdefault(obj or slot.name, []).append(
                f"{fld}={format_value(model, i, state[i])}" if obj else format_value(model, i, state[i]))
    for obj, values in groups.items():
        lines.append(f"{obj}: {', '.join(values)}")
    return lines
