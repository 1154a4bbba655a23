"""The transition relation of a model as Z3 terms, shared by the bmc and induction engines.

A visible step is one edge of one thread followed by the chained edges (local steps, atomic
bodies) the same thread runs before it rests again, exactly as the explicit engine takes it.
Those macro-steps are enumerated once per model as a trie of edge paths (`StepShape`); for
one copy of the state variables the trie is expanded into terms (`Expansion`): when each
path completes, the state it leaves, and every check that can fail on the way. Expressions
go through a codec (codec.py): smt.to_z3, the reference meaning, for induction; bit-vector
indices for bmc.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import z3

from ... import ir
from ...errors import SpecError
from ...partial import known_after, peval
from .codec import BitCodec, Codec, IntCodec

MAX_TRIE_NODES = 200_000

CHECK_PROPS_ALWAYS = ("assertion", "double_acquire", "release_unheld", "sleep_under_spinlock",
                      "exit_holding_lock", "bounds")


@dataclass(frozen=True)
class MacroNode:
    """One edge of a macro-step; `parent` is the edge before it (-1: the visible first edge)."""

    index: int
    thread: int
    edge: ir.Edge
    parent: int
    leaf: bool      # the edge's target is a resting pc: the macro-step ends here


@dataclass(frozen=True)
class StepShape:
    """Every macro-step of a model, as a trie of edge paths."""

    nodes: tuple[MacroNode, ...]
    children: tuple[tuple[int, ...], ...]
    roots: tuple[int, ...]
    leaves: tuple[int, ...]            # the selector of a step is a position in this tuple

    def root_of(self, node: int) -> int:
        while self.nodes[node].parent >= 0:
            node = self.nodes[node].parent
        return node


def build_shape(model: ir.Model) -> StepShape:
    """Enumerate the macro-steps of every (non-init) thread. A loop inside a chain (a `for`
    in an atomic block) is unrolled as far as the values written along the path decide its
    condition; a chain that can come back to a pc with nothing known to have changed has a
    state-dependent length and is refused (SpecError)."""
    by_node: dict[tuple[int, int], list[ir.Edge]] = {}
    for edge in model.edges:
        by_node.setdefault((edge.thread, edge.src), []).append(edge)
    grower = _Grower(by_node, model.slots)
    roots: list[int] = []
    for thread in model.threads:
        for pc in range(thread.node_count):
            if pc not in thread.chained:
                for edge in by_node.get((thread.index, pc), []):
                    roots.append(grower.grow(thread, edge, -1, {}, frozenset()))
    nodes = grower.nodes
    leaves = tuple(n.index for n in nodes if n.leaf)
    return StepShape(tuple(nodes), tuple(tuple(c) for c in grower.children), tuple(roots), leaves)


def _in_domain(slot: ir.Slot, value: int) -> bool:
    if slot.sort == "bool":
        return value in (0, 1)
    return value in slot.values if slot.values else slot.low <= value <= slot.high


@dataclass
class _Grower:
    by_node: dict[tuple[int, int], list[ir.Edge]]
    slots: list[ir.Slot]
    nodes: list[MacroNode] = field(default_factory=list)
    children: list[list[int]] = field(default_factory=list)

    def grow(self, thread: ir.Thread, edge: ir.Edge, parent: int, known: dict[int, int],
             seen: frozenset[tuple[int, frozenset]]) -> int:
        if len(self.nodes) >= MAX_TRIE_NODES:
            raise SpecError(f"thread {thread.name} has more than {MAX_TRIE_NODES} ways through its atomic blocks "
                            "and local steps: too many for the symbolic engines (use --engine explicit)", edge.span)
        leaf = edge.dst not in thread.chained
        index = len(self.nodes)
        self.nodes.append(MacroNode(index, thread.index, edge, parent, leaf))
        self.children.append([])
        if leaf:
            return index
        after = known_after(edge, known)
        if any(not _in_domain(self.slots[slot], value) for slot, value in after.items()):
            return index  # a value out of its range: the bounds check ends this way here
        key = (edge.dst, frozenset(after.items()))
        if key in seen:
            text, span = thread.node_text.get(edge.dst, (edge.text, edge.span))
            raise SpecError(f"thread {thread.name} loops on local or atomic steps at '{text}' a number of times "
                            "that depends on the state; the symbolic engines cannot unroll such a loop "
                            "(use --engine explicit)", span)
        for nxt in self.by_node.get((thread.index, edge.dst), []):
            if nxt.guard is not None and peval(nxt.guard, after) == 0:
                continue  # the values written on the way decide this branch: it cannot be taken
            self.children[index].append(self.grow(thread, nxt, index, after, seen | {key}))
        return index


# ---- terms for one copy of the state -----------------------------------------------------

@dataclass(frozen=True)
class Fail:
    """A check that fails on some macro-step: `term` holds exactly when it does."""

    prop: str
    node: int
    key: tuple[int, int]   # (edge id, index in edge.checks): record.CheckKey
    fatal: bool
    term: z3.BoolRef


@dataclass
class Expansion:
    """The macro-steps from the state `pre`, as terms over it."""

    pre: list[z3.ExprRef]
    ok: dict[int, z3.BoolRef] = field(default_factory=dict)           # node -> its path completes
    post: dict[int, list[z3.ExprRef]] = field(default_factory=dict)   # leaf -> the state after it
    fails: list[Fail] = field(default_factory=list)
    # node -> the lock it takes, and the state it takes it in
    acquires: list[tuple[int, z3.ArithRef, list[z3.ExprRef]]] = field(default_factory=list)
    # node -> the shared slots its path (up to and including it) may read / write, and when
    reads: dict[int, dict[int, z3.BoolRef]] = field(default_factory=dict)
    writes: dict[int, dict[int, z3.BoolRef]] = field(default_factory=dict)

    def fails_of(self, prop: str) -> list[z3.BoolRef]:
        return [f.term for f in self.fails if f.prop == prop]

    def moves(self, shape: StepShape) -> z3.BoolRef:
        """Some thread can take a step, or a fatal check fails (that path ends, as a move)."""
        parts = [self.ok[leaf] for leaf in shape.leaves] + [f.term for f in self.fails if f.fatal]
        return z3.Or(parts) if parts else z3.BoolVal(False)


def apply_writes(codec: Codec, edge: ir.Edge, pc_slot: int, pre: list[z3.ExprRef]) -> list[z3.ExprRef]:
    """The state after the edge's writes (all values from `pre`) and its pc move."""
    values = [(w, codec.value(w.addr, pre), codec.value(w.value, pre)) for w in edge.writes]
    post = list(pre)
    for w, addr, value in values:
        if isinstance(w.addr, ir.Lit):
            post[w.addr.value] = codec.write(w.addr.value, value)
            continue
        for c in w.candidates:
            post[c] = z3.If(codec.is_(addr, c), codec.write(c, value), post[c])
    post[pc_slot] = codec.const(pc_slot, edge.dst)
    return post


@dataclass(frozen=True)
class Template:
    """The terms of one step, built once over the template states x0 -> x1 (selector sel0;
    sel1 picks the step after x1), for Unrolling to copy to each step by substitution: far
    cheaper than building them again for every copy of the state."""

    x0: list[z3.ExprRef]
    x1: list[z3.ExprRef]
    sel0: z3.ExprRef
    sel1: z3.ExprRef
    exp0: "Expansion"
    transition: z3.BoolRef      # x1 is the state after the step sel0 from x0
    order: z3.BoolRef           # the steps sel0 then sel1 are not two independent ones out of order


class OutOfTime(Exception):
    """--timeout ran out while Python was building terms (between Z3's checks)."""


class Encoder:
    """Builds the terms of a model's steps; holds nothing that changes after construction.
    `bits`: bit-vector slots (BitCodec), for a solver that bit-blasts; else Z3 Ints."""

    def __init__(self, model: ir.Model, shape: StepShape | None = None, bits: bool = False):
        self.model = model
        self.shape = shape or build_shape(model)
        self.bits = bits
        self.codec: Codec = BitCodec(self.model, len(self.shape.leaves)) if bits else IntCodec(self.model)
        self._template: Template | None = None
        self._touched: dict[tuple[int, str], tuple[Expansion, z3.ExprRef, dict[int, z3.BoolRef]]] = {}
        self.shared = frozenset(i for i, slot in enumerate(self.model.slots) if slot.thread < 0)
        self._written: dict[int, frozenset[int]] = {}
        self.overdue: Callable[[], bool] = lambda: False   # the engine's budget sets it: expand stops

    def thread_leaves(self, t: int) -> tuple[int, int]:
        """The selector values (lo, hi) of thread t's macro-steps: its leaves come in a run."""
        positions = [i for i, leaf in enumerate(self.shape.leaves) if self.shape.nodes[leaf].thread == t]
        return (positions[0], positions[-1] + 1) if positions else (0, 0)

    def written_by(self, t: int) -> frozenset[int]:
        """Every slot a step of thread t may write, its pc included."""
        cached = self._written.get(t)
        if cached is None:
            slots = {c for e in self.model.edges if e.thread == t for w in e.writes for c in w.candidates}
            cached = self._written[t] = frozenset(slots | {self.model.threads[t].pc_slot})
        return cached

    def template(self) -> Template:
        if self._template is None:
            x0, x1 = self.state("@T0"), self.state("@T1")
            sel0, sel1 = self.selector("step@T0"), self.selector("step@T1")
            exp0, exp1 = self.expand(x0), self.expand(x1)
            self._template = Template(x0, x1, sel0, sel1, exp0, fast_and(self.transition(exp0, x1, sel0)),
                                      self.independent_order(exp0, sel0, exp1, sel1))
        return self._template

    def selector(self, name: str) -> z3.ExprRef:
        """Which macro-step (a position in shape.leaves) a step takes."""
        return self.codec.selector(name)

    def solver(self) -> z3.Solver:
        """A solver for this encoding's terms: with bit-vector slots, Z3's incremental SAT
        solver (which bit-blasts); else the SMT solver."""
        if self.bits:
            return z3.SolverFor("QF_BV")
        solver = z3.Solver()
        solver.set("smt.relevancy", 0)   # measured: a third faster on the specs' unrollings
        return solver

    def state(self, tag: str) -> list[z3.ExprRef]:
        return self.codec.state(tag)

    def domain(self, xs: list[z3.ExprRef]) -> z3.BoolRef:
        return self.codec.domain(xs)

    def resting(self, xs: list[z3.ExprRef]) -> z3.BoolRef:
        """Every thread stands where it can rest (ir.resting_pcs: not inside a local chain or
        an atomic body, nor at a node number lowering left unused) and the init block, if
        any, has run."""
        parts: list[z3.BoolRef] = []
        for t in self.model.threads:
            parts.append(z3.Or([self.codec.slot_is(xs, t.pc_slot, pc) for pc in ir.resting_pcs(self.model, t)]))
        init = self.model.init_thread
        if init is not None:
            parts.append(self.codec.slot_is(xs, init.pc_slot, init.end))
        return z3.And(parts) if parts else z3.BoolVal(True)

    def owners(self, xs: list[z3.ExprRef]) -> z3.BoolRef:
        """A lock is free or held by a thread that takes locks: no step writes any other
        thread's number into a lock."""
        takers = sorted(t + 1 for t in ir.lock_takers(self.model))
        return z3.And([z3.Or([self.codec.slot_is(xs, c, v) for v in [0, *takers]])
                       for c, slot in enumerate(self.model.slots) if slot.kind in ("lock", "rw_writer")])

    def equals(self, xs: list[z3.ExprRef], state: tuple) -> z3.BoolRef:
        return z3.And([self.codec.slot_is(xs, j, int(v)) for j, v in enumerate(state)
                       if not self.codec.is_constant(j)])

    def expand(self, pre: list[z3.ExprRef]) -> Expansion:
        exp = Expansion(pre)
        shape, model = self.shape, self.model
        states: dict[int, list[z3.ExprRef]] = {}
        for node in shape.nodes:  # parents come before their children
            if self.overdue():    # a large model's terms take long to build: --timeout bounds it too
                raise OutOfTime
            thread = model.threads[node.thread]
            if node.parent < 0:
                before = pre
                reach: z3.BoolRef = self.codec.slot_is(pre, thread.pc_slot, node.edge.src)
            else:
                before = states[node.parent]
                reach = exp.ok[node.parent]
            after, ok = self._edge(exp, node, thread, before, reach)
            exp.ok[node.index] = ok
            self._footprint(exp, node, before, after)
            if node.leaf:
                exp.post[node.index] = after
            elif shape.children[node.index]:
                states[node.index] = after
            if node.edge.acquires is not None:
                exp.acquires.append((node.index, self.codec.value(node.edge.acquires, before), before))
        return exp

    def _edge(self, exp: Expansion, node: MacroNode, thread: ir.Thread, pre: list[z3.ExprRef],
              reach: z3.BoolRef) -> tuple[list[z3.ExprRef], z3.BoolRef]:
        """In the order the transition system evaluates them: attempt checks, guard, exec checks, writes, post
        checks; a failing fatal check ends the path (its edge does not complete)."""
        edge = node.edge
        phases = {w: [(i, c) for i, c in enumerate(edge.checks) if c.when == w] for w in ("attempt", "exec", "post")}

        def run(checks: list[tuple[int, ir.Check]], state: list[z3.ExprRef], reach: z3.BoolRef) -> z3.BoolRef:
            for i, c in checks:
                holds = self.codec.predicate(c.cond, state)
                fatal = c.prop in ir.FATAL_CHECKS
                exp.fails.append(Fail(c.prop, node.index, (edge.id, i), fatal, z3.And(reach, z3.Not(holds))))
                if fatal:
                    reach = z3.And(reach, holds)
            return reach

        reach = run(phases["attempt"], pre, reach)
        if edge.guard is not None and edge.guard != ir.TRUE:
            reach = z3.And(reach, self.codec.predicate(edge.guard, pre))
        reach = run(phases["exec"], pre, reach)
        post = apply_writes(self.codec, edge, thread.pc_slot, pre)
        reach = run(phases["post"], post, reach)
        return post, reach

    # ---- footprints: which shared slots a macro-step touches (for the interleaving order) ----
    def _footprint(self, exp: Expansion, node: MacroNode, pre: list[z3.ExprRef], post: list[z3.ExprRef]) -> None:
        edge = node.edge
        reads = dict(exp.reads.get(node.parent, {}))
        writes = dict(exp.writes.get(node.parent, {}))
        exprs = [(c.cond, post if c.when == "post" else pre) for c in edge.checks if c.prop in ir.FATAL_CHECKS]
        if edge.guard is not None:
            exprs.append((edge.guard, pre))
        for w in edge.writes:
            exprs += [(w.addr, pre), (w.value, pre)]
            if isinstance(w.addr, ir.Lit):
                _touch(writes, w.addr.value, z3.BoolVal(True), self.shared)
            else:
                addr = self.codec.value(w.addr, pre)
                for c in w.candidates:
                    _touch(writes, c, self.codec.is_(addr, c), self.shared)
        for expr, state in exprs:
            for slot, when in _reads(self.codec, expr, state):
                _touch(reads, slot, when, self.shared)
        exp.reads[node.index], exp.writes[node.index] = reads, writes

    def independent_order(self, first: Expansion, sel1: z3.ExprRef, second: Expansion,
                          sel2: z3.ExprRef) -> z3.BoolRef:
        """Two steps in a row by different threads that touch no shared slot in conflict could
        run the other way round to the same state: allow only the order with the lower thread
        first. Every state reachable in n steps stays reachable in n steps."""
        leaves = self.shape.leaves
        thread_of = [self.shape.nodes[leaf].thread for leaf in leaves]

        def touched(exp: Expansion, sel: z3.ExprRef, kind: str) -> dict[int, z3.BoolRef]:
            key = (id(exp), kind)   # each step is the first of one pair, the second of another
            cached = self._touched.get(key)
            if cached is not None and cached[0] is exp and cached[1].eq(sel):
                return cached[2]
            table = exp.reads if kind == "r" else exp.writes
            parts: dict[int, list[z3.BoolRef]] = {}
            for i, leaf in enumerate(leaves):
                for slot, when in table[leaf].items():
                    parts.setdefault(slot, []).append(z3.And(sel == self.codec.sel_const(i), when))
            out = {slot: z3.Or(ps) for slot, ps in parts.items()}
            self._touched[key] = (exp, sel, out)
            return out

        r1, w1 = touched(first, sel1, "r"), touched(first, sel1, "w")
        r2, w2 = touched(second, sel2, "r"), touched(second, sel2, "w")
        conflicts = []
        for slot, w in w1.items():
            other = [x for x in (r2.get(slot), w2.get(slot)) if x is not None]
            if other:
                conflicts.append(z3.And(w, z3.Or(other)))
        for slot, w in w2.items():
            if slot in r1:
                conflicts.append(z3.And(w, r1[slot]))
        t1 = _select(self.codec, sel1, thread_of)
        t2 = _select(self.codec, sel2, thread_of)
        return z3.Implies(self.codec.sel_lt(t2, t1), z3.Or(conflicts) if conflicts else z3.BoolVal(False))

    # ---- relations between two copies ----
    def transition(self, exp: Expansion, nxt: list[z3.ExprRef], sel: z3.ExprRef) -> list[z3.BoolRef]:
        """`nxt` is the state after the macro-step selected by `sel` (a leaf position)."""
        leaves = self.shape.leaves
        codec = self.codec
        picks = [sel == codec.sel_const(i) for i in range(len(leaves))]
        out: list[z3.BoolRef] = [codec.sel_range(sel, 0, len(leaves))]
        out += [z3.Implies(picks[i], exp.ok[leaf]) for i, leaf in enumerate(leaves)]
        for j, x in enumerate(exp.pre):
            if codec.is_constant(j):
                continue
            term = x
            for i, leaf in enumerate(leaves):
                v = exp.post[leaf][j]
                if not v.eq(x):
                    term = z3.If(picks[i], v, term)
            out.append(nxt[j] == term)
        return out

    def differ(self, a: list[z3.ExprRef], b: list[z3.ExprRef]) -> z3.BoolRef:
        """Some slot has another value in `a` than in `b`. Built through Z3's C API: the
        simple-path check asks O(L^2) of these, and z3py's operators cost 20x as much."""
        ctx = a[0].ctx
        ref = ctx.ref()
        parts = []
        for j, (x, y) in enumerate(zip(a, b)):
            if not self.codec.is_constant(j):
                term = z3.Z3_mk_distinct(ref, 2, (z3.Ast * 2)(x.as_ast(), y.as_ast()))
                z3.Z3_inc_ref(ref, term)   # else Z3 may free it before the Or holds it
                parts.append(term)
        if not parts:
            return z3.BoolVal(False, ctx)
        out = z3.BoolRef(z3.Z3_mk_or(ref, len(parts), (z3.Ast * len(parts))(*parts)), ctx)
        for term in parts:
            z3.Z3_dec_ref(ref, term)
        return out

    # ---- properties as predicates on a state ----
    def deadlock(self, exp: Expansion) -> z3.BoolRef:
        unfinished = [z3.Not(self.codec.slot_is(exp.pre, t.pc_slot, t.end)) for t in self.model.threads]
        return z3.And(z3.Not(exp.moves(self.shape)), z3.Or(unfinished))

    def nested_acquire(self, exp: Expansion) -> z3.BoolRef:
        """Some thread acquires a lock while it holds another (a lock-order edge)."""
        parts = []
        for node, addr, before in exp.acquires:
            t = self.shape.nodes[node].thread
            for lk in self.model.locks:
                held = self.held_by(before, lk, t)
                parts.append(z3.And(exp.ok[node], held, z3.Not(self.codec.is_(addr, lk.slot))))
        return z3.Or(parts) if parts else z3.BoolVal(False)

    def held_by(self, xs: list[z3.ExprRef], lk: ir.LockInfo, t: int) -> z3.BoolRef:
        held = self.codec.slot_is(xs, lk.slot, t + 1)
        if lk.reader_slots:
            held = z3.Or(held, xs[lk.reader_slots[t]])
        return held

    def check_properties(self) -> list[str]:
        """Every property a failing check can violate (the ones that have no check can't be)."""
        model = self.model
        return [name for name, p in model.properties.items()
                if p.kind in ("assertion", "requires", "ensures") or name in CHECK_PROPS_ALWAYS]


def _select(codec: Codec, sel: z3.ExprRef, values: list[int]) -> z3.ExprRef:
    """values[sel] as a term of the selector's sort, for values that come in runs (the leaves
    of one thread)."""
    term = codec.sel_const(values[-1])
    for i in range(len(values) - 2, -1, -1):
        if values[i] != values[i + 1]:
            term = z3.If(codec.sel_lt(sel, codec.sel_const(i + 1)), codec.sel_const(values[i]), term)
    return term


def _touch(table: dict[int, z3.BoolRef], slot: int, when: z3.BoolRef, shared: frozenset[int]) -> None:
    if slot not in shared:
        return
    old = table.get(slot)
    table[slot] = when if old is None or z3.is_true(when) else (old if z3.is_true(old) else z3.Or(old, when))


def _reads(codec: Codec, expr: ir.Expr, state: list[z3.ExprRef]) -> list[tuple[int, z3.BoolRef]]:
    """Every slot `expr` reads in `state`, with the condition under which it reads it."""
    out: list[tuple[int, z3.BoolRef]] = []
    for e in ir.subexpressions(expr):
        if isinstance(e, ir.Var):
            out.append((e.slot, z3.BoolVal(True)))
        elif isinstance(e, ir.Load):
            addr = codec.value(e.addr, state)
            out += [(c, codec.is_(addr, c)) for c in e.candidates]
    return out


def concrete(model_: z3.ModelRef, xs: list[z3.ExprRef], codec: Codec) -> tuple:
    """The values of state variables in a model (0 / false for one the model leaves free, as
    model completion would)."""
    ctx = model_.ctx.ref()
    out = []
    for j, x in enumerate(xs):   # through the C API: the Python wrappers cost more than the lookups
        if codec.is_constant(j):
            out.append(codec.decode(j, 0))
            continue
        decl = z3.Z3_get_app_decl(ctx, x.as_ast())
        v = z3.Z3_model_get_const_interp(ctx, model_.model, decl)
        if not v:
            out.append(0)
        elif z3.is_bool(x):
            out.append(1 if z3.Z3_get_bool_value(ctx, v) == z3.Z3_L_TRUE else 0)
        else:
            out.append(codec.decode(j, int(z3.Z3_get_numeral_string(ctx, v))))
    return tuple(out)


def fast_or(terms: list[z3.BoolRef]) -> z3.BoolRef:
    """z3.Or without the Python API's per-argument checks (all terms are Booleans of one context)."""
    if not terms:
        return z3.BoolVal(False)
    ctx = terms[0].ctx
    args = (z3.Ast * len(terms))(*[t.as_ast() for t in terms])
    return z3.BoolRef(z3.Z3_mk_or(ctx.ref(), len(terms), args), ctx)


def fast_and(terms: list[z3.BoolRef]) -> z3.BoolRef:
    if not terms:
        return z3.BoolVal(True)
    ctx = terms[0].ctx
    args = (z3.Ast * len(terms))(*[t.as_ast() for t in terms])
    return z3.BoolRef(z3.Z3_mk_and(ctx.ref(), len(terms), args), ctx)
