"""Unbounded proofs that need no lemma: PDR/IC3 by Z3's Spacer on Constrained Horn Clauses.

The clauses come from the same encoding as bmc's (bit-vector slots, BitCodec: measured, Spacer
proves on them what it could not finish in minutes on Z3 Ints), sliced per property to its
cone of influence (cone.py): one predicate Inv over the cone's slots, a clause for the
initial states, one clause for the steps (Inv(x) and one of the macro-steps that may change
the cone takes x to x' imply Inv(x')), and per property a clause Inv(x) and bad(x) imply Err.
Spacer either finds an inductive invariant that rules Err out (the property holds at every
depth: its invariant is printed as the proof, in slot names), or finds Err reachable: the
property is violated, and bmc, which then must find it, searches for the shortest
counterexample so that the trace is the explicit engine's. A shallow bmc search runs first:
shallow violations come cheaper from bmc than from Spacer.

The steps reset a thread's locals it will not read again (strengthen.live_locals) to their
initial values, so that stale values do not multiply the states Spacer must cover; no check,
guard or property reads them before they are written, so what is reachable otherwise is
unchanged, and the invariant describes the states with those locals reset.

Seeded facts. Before Spacer, the cheap rounds of k-induction's Houdini loop run at k=1
(strengthen.py's candidates `thread T at pc -> atom`, no user lemma): the candidates it keeps
are inductive together (with the properties it proves alongside) and true in every initial
state, so they are *proved* invariants of the whole model, true in every reachable state
(and with dead locals reset too: a fact at pc reads only the locals live there; a spec's
invariant or lemma it proves is seeded as well, and the locals those read are never reset).
Only those facts are seeded, never a candidate Houdini did not keep. The clauses of a cone get every
fact that reads only slots of the cone, on both sides of the step clause and in each
property's clause: Inv(x) and F(x) and step(x, x') and F(x') imply Inv(x'); Inv(x) and F(x)
and bad(x) imply Err. Sound: every projection of a reachable state satisfies F (the fact reads
only kept slots), so every step of the model between reachable states is still one of the
clause's ways, and the slice still over-approximates the model's runs (cone.py). Spacer's
invariant is then inductive only together with the facts: the printed proof is the
invariant and the facts it relied on (an unsat core), which the proof needs as a whole.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import networkx as nx
import z3

from typing import TYPE_CHECKING

from ... import ir
from ...result import InductionCounterexample, Result, Stats
from .bmc import BoundedSearch
from .clauses import ClausePrinter
from .cone import SlotReader, StepTerms, cone_of, describe, kept_steps, step_terms
from .encoding import Encoder, fast_and, fast_or
from .strengthen import Candidate, live_locals
from ..system import TransitionSystem
from .shared import (Budget, Goal, LockWitness, Outcome, Settings, bad_term, goals_of, own_property_warning,
                     property_results, tools, trivially_safe)

if TYPE_CHECKING:
    from .induction import Induction

SHALLOW_DEPTH = 8         # bmc first, this deep
SEED_SHARE = 0.6          # of --timeout, at most, for the Houdini loop that proves the seeded facts
CORE_MS = 5_000           # for the query that finds which seeded facts a proof relied on
MAX_TRACE_DEPTH = 2000    # how deep bmc looks for the trace of a property Spacer found reachable


@dataclass
class Proof:
    """An inductive invariant: clauses over slot names, all true in every reachable state."""

    clauses: list[str]
    sliced: str = ""    # the cone of influence it was proved on (cone.describe)
    facts: list[str] = field(default_factory=list)   # the seeded facts the invariant is inductive with
    seeded: int = 0     # how many seeded facts the clauses had
    by_seeding: bool = False   # proved by the seeding rounds themselves (with `seeded` candidates): Spacer not asked

    def text(self) -> str:
        if self.by_seeding:
            return ("proved (pdr): by k-induction at k=1 in the Houdini rounds that seed Spacer's clauses, together "
                    f"with the {self.seeded} candidate invariant(s) they proved (Spacer was not asked)")
        head = f"proved (pdr): an inductive invariant of {len(self.clauses)} clause(s)"
        if self.seeded:
            head += (f", together with {len(self.facts)} of the {self.seeded} seeded facts (invariants proved by "
                     "k-induction's Houdini loop at k=1)")
        if self.sliced:
            head += f"\n({self.sliced})"
        out = head
        if self.clauses:
            out += ("\n(every clause holds in every reachable state, with dead locals read as their initial values):"
                    + "".join(f"\n  {c}" for c in self.clauses))
        if self.facts:
            out += "\nwith the seeded facts:" + "".join(f"\n  {f}" for f in self.facts)
        return out


@dataclass(frozen=True)
class Fact:
    """A seeded fact: a candidate invariant k-induction's Houdini loop proved (module docstring)."""

    text: str
    term: z3.BoolRef           # over the template state x0
    reads: frozenset[int]


@dataclass(frozen=True)
class ProvedFact:
    """A state predicate k-induction's Houdini rounds proved: a candidate they kept, or one of
    the spec's invariants or lemmas they proved alongside."""

    text: str
    expr: ir.Expr
    candidate: bool = True     # False: one of the spec's own invariants or lemmas


@dataclass
class Seeding:
    """What the Houdini rounds proved, and whether they all finished in their time."""

    facts: list[ProvedFact]
    finished: bool
    seconds: float | None      # the time they had (None: no limit)
    run: "Induction | None" = None

    def proved_goals(self) -> set[str]:
        """The properties the rounds proved themselves (k-induction at k=1)."""
        return set(self.run.proved) if self.run is not None else set()

    def why_not(self, name: str) -> tuple[str, InductionCounterexample] | None:
        """For a property the rounds did not prove: the counterexample to induction that
        refuted it there, the state a lemma would have to rule out."""
        from .induction import render_cti
        run = self.run
        if run is None or name in run.proved or name not in run.ctis:
            return None
        goal = next(g for g in run.goals if g.name == name)
        text, shown = render_cti(run.builder, run.system, goal, run.ctis[name])
        return f"k-induction at k=1 with the seeded facts does not prove it either: {text}", shown

    def warning(self) -> str | None:
        if self.finished:
            return None
        return (f"pdr: k-induction's Houdini rounds, which prove the facts seeded into Spacer's clauses, did not all "
                f"finish in their {self.seconds:.1f} s ({SEED_SHARE:.0%} of --timeout): Spacer ran with "
                f"{len(self.facts)} facts, fewer than they would prove; a larger --timeout seeds more")


def proved_facts(model: ir.Model, seconds: float | None) -> Seeding:
    """The candidate invariants the cheap rounds of k-induction's Houdini loop prove at k=1
    (within `seconds`: a round cut short proves none of its own)."""
    from .induction import Induction     # induction imports bmc as pdr does; late, to keep pdr's import light
    run = Induction(model, Settings(depth=1, timeout=seconds))
    _, step = run.run()
    facts: list[ProvedFact] = []
    for item in step.proved:
        if isinstance(item, Candidate):
            facts.append(ProvedFact(item.text, item.expr(model)))
        elif item.form == "state" and item.name != "deadlock":
            cond = model.properties[item.name].cond
            assert cond is not None
            facts.append(ProvedFact(f"{item.name} (the spec's own, proved by k-induction at k=1)", cond, False))
    return Seeding(facts, not run.budget.ran_out, seconds, run)


@dataclass
class Horn:
    """The clauses of a model sliced to one cone of influence (cone.py), in one Spacer
    instance queried once for each property with that cone."""

    enc: Encoder
    initial: list[tuple]
    steps: list[StepTerms]
    cone: frozenset[int]
    number: int = 0
    seeds: list[Fact] = field(default_factory=list)    # every seeded fact: those of the cone are used
    fp: z3.Fixedpoint = field(init=False)
    facts: list[Fact] = field(init=False)     # the seeded facts that read only slots of the cone
    step: z3.BoolRef = field(init=False)      # some kept step takes x0 to x1
    inv: z3.FuncDeclRef = field(init=False)
    keep: list[int] = field(init=False)      # the slots Inv ranges over: the cone's
    kept: int = field(init=False)            # how many steps the slice has
    query_ms: int = 120_000                  # Spacer's time for one property
    queries: int = 0

    def __post_init__(self) -> None:
        enc = self.enc
        tmpl = enc.template()
        x0, x1 = tmpl.x0, tmpl.x1
        self.keep = sorted(self.cone)
        self.inv = z3.Function(f"Inv{self.number}", *[x0[j].sort() for j in self.keep], z3.BoolSort())
        self.fp = z3.Fixedpoint()
        self.fp.set(engine="spacer")
        self.fp.register_relation(self.inv)
        self.fp.declare_var(*self.args(x0), *self.args(x1))
        starts = sorted({tuple(s[j] for j in self.keep) for s in self.initial})
        self.fp.rule(self.app(x0), fast_or([fast_and([enc.codec.slot_is(x0, j, int(v)) for j, v in zip(self.keep, s)])
                                            for s in starts]))
        kept = kept_steps(self.steps, self.cone)
        self.kept = len(kept)
        self.facts = [f for f in self.seeds if f.reads <= self.cone]
        # one clause for all steps (x1 is the state after one of them), not one per step:
        # measured on ext4.lk at NPAGES=1, Spacer proves no_remove_under_writeback in 2.7 s
        # so, and not in 20 s with a clause per step
        self.step = fast_or([fast_and([s.ok, *[x1[j] == s.writes.get(j, x0[j]) for j in self.keep]]) for s in kept])
        if kept:
            self.fp.rule(self.app(x1), [self.app(x0), *self.known(x0), self.step, *self.known(x1)])

    def known(self, xs: list[z3.ExprRef]) -> list[z3.BoolRef]:
        """The cone's seeded facts over the state xs (x0 or x1 of the template)."""
        x0 = self.enc.template().x0
        if xs is x0:
            return [f.term for f in self.facts]
        pairs = [(x0[j], xs[j]) for j in self.keep]
        return [z3.substitute(f.term, *pairs) for f in self.facts]

    def args(self, xs: list[z3.ExprRef]) -> list[z3.ExprRef]:
        return [xs[j] for j in self.keep]

    def app(self, xs: list[z3.ExprRef]) -> z3.BoolRef:
        return self.inv(*self.args(xs))

    def query(self, goal: Goal, bad: z3.BoolRef, budget: Budget, share: int = 1, alone: bool = True
              ) -> tuple[z3.CheckSatResult, Proof | None, str]:
        """unsat: the goal can never be broken (with the invariant); sat: it can; unknown
        with Z3's reason. `share`: the goals still to ask, this one included: under --timeout
        each gets an equal part of what is left, so that one hard goal cannot starve the rest.
        `alone`: the run asks Spacer about no other goal."""
        tmpl = self.enc.template()
        self.queries += 1
        err = z3.Function(f"Err{self.queries}", z3.BoolSort())
        self.fp.register_relation(err)
        self.fp.rule(err(), [self.app(tmpl.x0), *self.known(tmpl.x0), bad])
        ms = budget.left_ms()
        if ms is not None and ms <= 0:
            budget.ran_out = True
            return z3.unknown, None, "timeout"
        limit = min(max(ms // max(share, 1), 1), self.query_ms) if ms is not None else self.query_ms
        self.fp.set(timeout=limit)
        try:
            result = self.fp.query(err())
        except z3.Z3Exception as err_:   # a timeout comes as 'canceled'
            if ms is not None and (budget.left_ms() or 0) <= 0:
                budget.ran_out = True
                return z3.unknown, None, "timeout"
            return z3.unknown, None, _unfinished(limit, limit < self.query_ms, err_, goal.name, alone)
        if result == z3.unsat:
            return result, self.proof(bad, min(CORE_MS, max(limit // 2, 1))), ""
        if result == z3.unknown:
            reason = self.fp.reason_unknown()
            if budget.seconds is not None and ("timeout" in reason or "canceled" in reason or (budget.left_ms() or 0) <= 0):
                budget.ran_out = True
            return result, None, f"Spacer gave up ({reason})"
        return result, None, ""

    def proof(self, bad: z3.BoolRef, core_ms: int = CORE_MS) -> Proof:
        definition = _definition(self.fp.get_answer(), self.inv)
        if definition is None:
            return Proof(["(Spacer returned no invariant for the state)"], facts=[f.text for f in self.facts],
                         seeded=len(self.facts))
        positions, body = definition
        tmpl = self.enc.template()
        printer = ClausePrinter(self.enc, {v: self.keep[p] for v, p in positions.items()},
                           {v: tmpl.x0[self.keep[p]].sort() for v, p in positions.items()})
        parts = body.children() if z3.is_and(body) else [body]
        used = self.relied_on(positions, body, bad, core_ms) if self.facts else []
        # a clause true at every place a thread can rest says nothing about a reachable state
        shown = [printer.show(p) for p in parts if not z3.is_true(p)]
        return Proof([c for c in shown if c != "true"], facts=[f.text for f in used], seeded=len(self.facts))

    def relied_on(self, positions: dict[int, int], body: z3.ExprRef, bad: z3.BoolRef, ms: int) -> list[Fact]:
        """The seeded facts Spacer's invariant needs (an unsat core of: it rules bad out and
        every step keeps it, given the facts); all of the cone's if Z3 does not say in time."""
        tmpl = self.enc.template()
        top = max(positions) + 1 if positions else 0
        over0 = [tmpl.x0[self.keep[positions[i]]] if i in positions else z3.Bool(f"unused{i}") for i in range(top)]
        over1 = [tmpl.x1[self.keep[positions[i]]] if i in positions else z3.Bool(f"unused{i}") for i in range(top)]
        inv0, inv1 = z3.substitute_vars(body, *over0), z3.substitute_vars(body, *over1)
        marks = [z3.Bool(f"seeded{i}") for i in range(len(self.facts))]
        after = self.known(tmpl.x1)
        solver = z3.Solver()
        solver.set(timeout=ms)
        solver.add(inv0, z3.Or(bad, z3.And(self.step, z3.Not(inv1))))
        for m, f, f1 in zip(marks, self.facts, after):
            solver.add(z3.Implies(m, z3.And(f.term, f1)))
        if solver.check(*marks) != z3.unsat:
            return list(self.facts)
        core = {str(m) for m in solver.unsat_core()}
        return [f for m, f in zip(marks, self.facts) if str(m) in core]


def _unfinished(limit_ms: int, shared: bool, err: z3.Z3Exception, name: str, alone: bool) -> str:
    """Why Spacer has no answer: the time it had, and what might give it one (`alone`: no
    other property shares the time)."""
    text = err.value.decode(errors="replace") if isinstance(err.value, bytes) else str(err.value)
    head = f"Spacer did not finish in {limit_ms / 1000:.1f} s"
    if not shared:
        head += ", its limit per property (a lemma may prove it)"
    elif alone:
        head += ", what was left of --timeout (a larger --timeout or a lemma may prove it)"
    else:
        head += (f", this property's share of --timeout (a larger --timeout, --property {name} to give it "
                 "the whole time, or a lemma may prove it)")
    return head if text == "canceled" else f"{head}; Z3: {text}"


def _definition(answer: z3.ExprRef, inv: z3.FuncDeclRef) -> tuple[dict[int, int], z3.ExprRef] | None:
    """Inv's interpretation in Spacer's answer: (bound variable index -> argument position,
    the formula)."""
    parts = answer.children() if z3.is_and(answer) else [answer]
    for part in parts:
        if not z3.is_quantifier(part):
            continue
        body = part.body()
        if z3.is_eq(body) and z3.is_app(body.arg(0)) and body.arg(0).decl().eq(inv):
            args = body.arg(0).children()
            if all(z3.is_var(a) for a in args):
                return {z3.get_var_index(a): i for i, a in enumerate(args)}, body.arg(1)
    return None


@dataclass
class Slices:
    """The Horn clauses of a model, one Spacer instance per distinct cone of influence
    (cone.py), made when a property first needs it. `sliced=False`: one instance over every
    slot for all properties (the clauses as they were before slicing, for comparison)."""

    enc: Encoder
    system: TransitionSystem
    sliced: bool = True
    seeds: list[ProvedFact] = field(default_factory=list)   # proved facts (proved_facts) to seed the clauses with
    steps: list[StepTerms] = field(init=False)
    facts: list[Fact] = field(init=False)
    initial: list[tuple] = field(init=False)
    everything: frozenset[int] = field(init=False)    # every slot that is not a constant
    horns: dict[frozenset[int], Horn] = field(default_factory=dict)
    _bad: dict[str, z3.BoolRef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        enc, model = self.enc, self.enc.model
        exp = enc.template().exp0
        read_by_props = set().union(*[ir.slots_read(p.cond) for p in model.invariants if p.cond is not None])
        live = {t.index: live_locals(model, t) for t in model.threads}
        posts: dict[int, list[z3.ExprRef]] = {}
        for leaf in enc.shape.leaves:
            node = enc.shape.nodes[leaf]
            thread = model.threads[node.thread]
            post = list(exp.post[leaf])
            alive = live[thread.index].get(node.edge.dst, set())
            for j in thread.local_slots:
                if j != thread.pc_slot and j not in alive and j not in read_by_props:
                    post[j] = enc.codec.const(j, model.initial[j])
            posts[leaf] = post
        self.steps = step_terms(enc, exp, posts)
        self.initial, _ = self.system.initial_states()
        self.everything = frozenset(j for j in range(len(model.slots)) if not enc.codec.is_constant(j))
        x0 = enc.template().x0
        read = SlotReader(x0)
        self.facts = []
        for c in self.seeds:
            term = z3.simplify(enc.codec.predicate(c.expr, x0))
            if not z3.is_true(term):
                self.facts.append(Fact(c.text, term, read(term)))

    def bad(self, goal: Goal) -> z3.BoolRef:
        term = self._bad.get(goal.name)
        if term is None:
            term = self._bad[goal.name] = z3.simplify(bad_term(self.enc, goal, self.enc.template().exp0))
        return term

    def cone(self, goal: Goal) -> frozenset[int]:
        if not self.sliced:
            return self.everything
        return cone_of(self.steps, SlotReader(self.enc.template().x0)(self.bad(goal)))

    def horn(self, cone: frozenset[int]) -> Horn:
        horn = self.horns.get(cone)
        if horn is None:
            horn = self.horns[cone] = Horn(self.enc, self.initial, self.steps, cone, len(self.horns), self.facts)
        return horn

    def describe(self, horn: Horn) -> str:
        if not self.sliced:
            return ""
        return describe(self.enc.model, horn.cone, len(self.everything), horn.kept, len(self.steps))


@dataclass
class LockCycle:
    """Every edge of a lock-order cycle is reachable (the shallow bmc search met it, or
    Spacer found it reachable): bmc must show each edge, going on from `search`."""

    cycle: list[tuple[int, int]]
    search: BoundedSearch
    searched: int = -1

    def text(self, model: ir.Model) -> str:
        return f"each edge of the lock-order cycle {_cycle_text(model, self.cycle)} is reachable"

    def witnesses(self, enc: Encoder, system: TransitionSystem, budget: Budget) -> list[LockWitness]:
        """bmc's witnesses of a lock-order cycle (its shortest edges), or none if it met none."""
        search = self.search
        while search.lock_pairs and not search.lock_cycle() and not search.exhausted:
            if search.searched >= MAX_TRACE_DEPTH or not search.search(search.searched + 1):
                break
        self.searched = max(search.searched, 0)
        return list(search.lock_edges.values()) if search.lock_cycle() else []


def _lock_names(model: ir.Model) -> dict[int, str]:
    return {lk.slot: lk.name for lk in model.locks}


def _edge_text(model: ir.Model, edge: tuple[int, int]) -> str:
    names = _lock_names(model)
    return f"{names[edge[0]]} -> {names[edge[1]]}"


def _cycle_text(model: ir.Model, cycle: list[tuple[int, int]]) -> str:
    names = _lock_names(model)
    return " -> ".join([names[a] for a, _ in cycle] + [names[cycle[0][0]]])


@dataclass
class LockOrder:
    """lock_order when locks are taken nested: a lock-order edge (held, taken) is some step
    taking lock `taken` while its thread holds `held`; lock_order fails when those edges make
    a cycle. The edges a shallow bmc search meets are taken; Spacer is asked, edge by edge,
    about the other edges of a cycle among those not yet ruled out: one it proves never taken (on its own cone) leaves the graph; once no cycle is
    left, lock_order holds. A cycle of edges all found reachable is a LockCycle (bmc must
    then find it); an edge Spacer does not decide leaves lock_order unknown."""

    slices: Slices
    budget: Budget
    alone: bool = False   # no other property shares Spacer's time in this run

    def pairs(self) -> dict[tuple[int, int], z3.BoolRef] | None:
        """Every (held, taken) a step may make, as the term 'a step from the state makes it'
        (the lock-order edges the explicit engine notes: an edge that completes, from the
        state before it); None if --timeout ran out while building them (many locks)."""
        enc = self.slices.enc
        exp, locks = enc.template().exp0, enc.model.locks
        parts: dict[tuple[int, int], list[z3.BoolRef]] = {}
        for node, addr, before in exp.acquires:
            if self.budget.overdue():
                self.budget.ran_out = True
                return None
            shape_node = enc.shape.nodes[node]
            t, named = shape_node.thread, shape_node.edge.acquires
            for taken in locks:
                if isinstance(named, ir.Lit) and named.value != taken.slot:
                    continue
                for held in locks:
                    if held.slot != taken.slot:
                        parts.setdefault((held.slot, taken.slot), []).append(
                            z3.And(exp.ok[node], enc.held_by(before, held, t), enc.codec.is_(addr, taken.slot)))
        out = {pair: z3.simplify(fast_or(ps)) for pair, ps in parts.items()}
        return {pair: term for pair, term in out.items() if not z3.is_false(term)}

    def decide(self) -> Outcome | LockCycle:
        model = self.slices.enc.model
        pairs = self.pairs()
        if pairs is None:
            return Outcome("unknown", f"locks are taken nested; {self.budget.why()} before the lock-order edges "
                           "were asked about (pdr)", "pdr")
        read = SlotReader(self.slices.enc.template().x0)
        # the edges a shallow bmc search meets need no Spacer query (nor, in a cycle, a second search)
        search = BoundedSearch(self.slices.enc, self.slices.system, self.budget, [], lock_pairs=True)
        search.run(SHALLOW_DEPTH)
        taken = [e for e in search.lock_edges if e in pairs]
        open_ = set(pairs) - set(taken)
        never: list[tuple[int, int]] = []
        while True:
            graph = nx.DiGraph()
            graph.add_edges_from(open_ | set(taken))
            try:
                cycle = [(a, b) for a, b in nx.find_cycle(graph)]
            except nx.NetworkXNoCycle:
                return Outcome("holds", self._proof(model, pairs, taken, never), "pdr")
            unasked = [e for e in cycle if e in open_]
            if not unasked:
                return LockCycle(cycle, search)
            edge = unasked[0]
            horn = self.slices.horn(cone_of(self.slices.steps, read(pairs[edge])) if self.slices.sliced
                                    else self.slices.everything)
            result, _, reason = horn.query(Goal("lock_order", "nesting"), pairs[edge], self.budget, len(unasked),
                                           alone=self.alone)
            open_.discard(edge)
            if result == z3.unsat:
                never.append(edge)
            elif result == z3.sat:
                taken.append(edge)
            else:
                why = self.budget.why() if self.budget.ran_out else reason
                return Outcome("unknown", f"locks are taken nested, and the lock-order edge {_edge_text(model, edge)} "
                               f"(on the cycle {_cycle_text(model, cycle)}) is not decided: {why} (pdr)", "pdr")

    def _proof(self, model: ir.Model, pairs: dict, taken: list[tuple[int, int]], never: list[tuple[int, int]]) -> str:
        head = (f"proved (pdr): no lock-order cycle: of the {len(pairs)} ways a step may take a lock while its "
                f"thread holds another, Spacer proved {len(never)} never taken (each by an inductive invariant on "
                f"its cone of influence), and the others make no cycle")
        lines = [f"never taken: {', '.join(_edge_text(model, e) for e in never)}"] if never else []
        if taken:
            lines.append(f"taken: {', '.join(_edge_text(model, e) for e in taken)}")
        return head + "".join(f"\n  {line}" for line in lines)


def check_pdr(model: ir.Model, settings: Settings, sliced: bool = True, seeded: bool = True) -> Result:
    """`sliced`: each property on its cone of influence (cone.py); False for one instance
    over the whole state (to compare). `seeded`: the clauses constrained by the facts
    k-induction's Houdini loop proves (module docstring); False for Spacer alone."""
    settings.validate()
    started = time.perf_counter()
    budget = Budget(settings.timeout)
    enc = Encoder(model, bits=True)
    system, builder, _ = tools(model)
    goals = [g for g in goals_of(enc, with_nesting=True) if not trivially_safe(enc, g)]
    search = BoundedSearch(enc, system, budget, goals, progress=settings.progress)
    search.run(SHALLOW_DEPTH, "pdr: the shallow bmc search")
    proofs: dict[str, Proof] = {}
    unknown: dict[str, str] = {}
    lock_order: Outcome | LockCycle | None = None    # when locks are taken nested: what the pairs say
    # a lock taken while another is held is not yet a lock-order cycle: no violation
    reachable: list[Goal] = [g for g in goals if g.form == "nesting" and search.found.pop(g.name, None) is not None]
    seeds: list[ProvedFact] = []
    seeding: Seeding | None = None
    warnings = own_property_warning(model)
    if seeded and not search.exhausted:
        settings.tell("pdr: k-induction's Houdini rounds at k=1 (the facts to seed the clauses with)")
        left = budget.left_ms()
        seeding = proved_facts(model, None if left is None else max(left, 0) / 1000 * SEED_SHARE)
        seeds = seeding.facts
        warnings += [w for w in [seeding.warning()] if w]
    slices = Slices(enc, system, sliced, seeds) if not search.exhausted or reachable else None
    asked: list[Goal] = []    # the properties Spacer is asked about, one query each
    if slices is not None and not search.exhausted:
        settled = seeding.proved_goals() if seeding is not None else set()
        candidates_kept = sum(1 for f in seeds if f.candidate)
        for name in settled:
            proofs[name] = Proof([], seeded=candidates_kept, by_seeding=True)
        cones = {g.name: slices.cone(g) for g in goals
                 if g.name not in search.found and g not in reachable and g.name not in settled}
        # the smallest cones first: they are the likeliest proofs, and what they leave of the
        # time goes to the rest
        asked = sorted((g for g in goals if g.name in cones), key=lambda g: len(cones[g.name]))
        pairs_later = int(any(g.form == "nesting" for g in goals))   # a share kept for lock_order's pairs
        alone = len(asked) + pairs_later == 1     # no other property shares Spacer's time
        for i, goal in enumerate(asked):
            settings.tell(f"pdr: Spacer on {goal.name} ({i + 1} of {len(asked)})")
            horn = slices.horn(cones[goal.name])
            result, proof, reason = horn.query(goal, slices.bad(goal), budget, len(asked) - i + pairs_later,
                                               alone=alone)
            if result == z3.unsat:
                assert proof is not None
                proof.sliced = slices.describe(horn)
                proofs[goal.name] = proof
            elif result == z3.sat:
                reachable.append(goal)
            else:
                unknown[goal.name] = f"not proved: {budget.why()} (pdr)" if budget.ran_out else f"not proved: {reason}"
    if slices is not None and any(g.form == "nesting" for g in reachable):
        # even when bmc has searched every state: it did not look for lock-order cycles
        lock_order = LockOrder(slices, budget, alone=not asked).decide()
    # the trace of what Spacer found reachable: bmc must meet it, at its shortest depth
    wanted = [g for g in reachable if g.form != "nesting"]
    search.goals = wanted
    while search.open_goals() and search.searched < MAX_TRACE_DEPTH and not search.exhausted:
        if not search.search(search.searched + 1):
            break
    found = {n: p for n, (p, _) in search.found.items()}
    outcomes = _outcomes(model, goals, search, proofs, unknown, reachable, budget)
    if seeding is not None:
        for name, outcome in outcomes.items():
            why = seeding.why_not(name) if outcome.verdict == "unknown" and name in unknown else None
            if why is not None:
                outcomes[name] = replace(outcome, detail=f"{outcome.detail}\n{why[0]}", cti=why[1])
    witnesses: list[LockWitness] = []
    if isinstance(lock_order, LockCycle):
        witnesses = lock_order.witnesses(enc, system, budget)
        if not witnesses:
            lock_order = Outcome("unknown", f"{lock_order.text(model)} (Spacer), but bmc met no such cycle up to depth "
                                 f"{lock_order.searched}" + (f" ({budget.why()})" if budget.stopped else ""), "pdr")
    if isinstance(lock_order, Outcome):
        outcomes["lock_order"] = lock_order
    results = property_results(builder, found, witnesses, outcomes, "pdr",
                               {n: f"violated in {k} steps (a shortest counterexample, by bmc)"
                                for n, (_, k) in search.found.items()})
    for r in results:
        if r.name == "lock_order" and r.verdict == "violated" and isinstance(lock_order, LockCycle):
            r.detail = f"{lock_order.text(model)}; bmc found each, within depth {lock_order.searched}"
    stats = Stats(0, 0, max(search.searched, 0), time.perf_counter() - started, budget.limit())
    return Result(model.path, "pdr", results, stats, warnings)


def _outcomes(model: ir.Model, goals: list[Goal], search: BoundedSearch, proofs: dict[str, Proof],
              unknown: dict[str, str], reachable: list[Goal], budget: Budget) -> dict[str, Outcome]:
    out: dict[str, Outcome] = {}
    names = {g.name for g in goals}
    reached = {g.name for g in reachable}
    for name in model.properties:
        if name in proofs:
            detail = proofs[name].text()
            if name == "lock_order":
                detail = detail.replace("proved (pdr):", "proved (pdr): no lock is ever taken while another is held;", 1)
            out[name] = Outcome("holds", detail, "pdr")
        elif name not in names:
            why = "no lock can be taken while another is held" if name == "lock_order" else "no step of the spec can fail it"
            out[name] = Outcome("holds", why, "pdr")
        elif search.exhausted and name not in search.found:
            out[name] = Outcome("holds", f"every reachable state is within depth {search.searched - 1}, "
                                "all searched (bmc)", "pdr")
        elif name == "lock_order" and name in reached:   # unless the pairs decide it (LockOrder)
            out[name] = Outcome("unknown", "locks are taken nested; pdr could not ask about the lock-order edges "
                                f"one by one ({budget.why() if budget.stopped else 'every state searched'})", "pdr")
        elif name in reached:
            detail = f"Spacer found it reachable, but bmc met no violation up to depth {search.searched}"
            if budget.stopped:
                detail += f" ({budget.why()})"
            out[name] = Outcome("unknown", detail, "pdr")
        else:
            out[name] = Outcome("unknown", unknown.get(name, "not proved (pdr)"), "pdr")
    return out
