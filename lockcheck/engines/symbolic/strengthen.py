"""Candidate invariants for k-induction. A spec's lemmas can only speak of global state, but
most proofs of a locking protocol need facts about where threads stand ("while truncate is
past its await on page p, p is not under writeback"). So the induction engine also tries
simple facts, keeps those no sampled reachable state refutes, and lets the Houdini loop
(induction.py) drop those that are not inductive: what survives is proved. The facts are
`thread T at pc -> atom`, where the atom is one literal over a place T's facts may speak of
there: a global its steps name, a live local, a field of an object a live reference of T
points to (`!p.writeback`, `p.locked == T`), or two live references being equal.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator

from ... import ir
from ..explicit.arrays import Array, first_occurrences, xp
from ..explicit.evaluate import ArrayExpr, Rows
from ..system import TransitionSystem
from ..tracing import format_value, position_texts

MAX_SMALL_DOMAIN = 6
SAMPLE_BFS_STATES = 20_000
SAMPLE_WALKS = 60
SAMPLE_WALK_STEPS = 4_000
SAMPLE_WALK_IDLE = 50     # the walks stop after this many steps in a row that find no new state


@dataclass(frozen=True)
class Candidate:
    """`thread at pc -> atom`."""

    index: int
    thread: int
    pc: int
    atom: ir.Expr
    text: str
    family: str = ""       # the same fact of every thread of one `thread NAME[K]`
    stage: int = 0         # its round, cheap first: 1 the locks a thread may hold, 2 --more-candidates

    def expr(self, model: ir.Model) -> ir.Expr:
        pc_slot = model.threads[self.thread].pc_slot
        return ir.implies(ir.Bin("==", ir.Var(pc_slot, "int"), ir.Lit(self.pc, "int"), "bool"), self.atom)


@dataclass(frozen=True)
class Place:
    """Something a thread reads or writes: a fixed slot, or a slot picked by an address."""

    addr: ir.Expr
    candidates: tuple[int, ...]
    sort: ir.Sort

    def read(self) -> ir.Expr:
        if isinstance(self.addr, ir.Lit):
            return ir.Var(self.addr.value, self.sort)
        return ir.Load(self.addr, self.candidates, self.sort)


def _places(model: ir.Model, thread: ir.Thread, live: set[int]) -> list[Place]:
    """The places a thread's facts at a pc may speak of: the globals its steps name directly,
    its live scalar locals, and every field of every object a live reference can point to."""
    out: dict[object, Place] = {}
    for slot in sorted(_globals_named(model, thread) | {r for r in live if model.slots[r].kind != "ref"}):
        out[slot] = Place(ir.Lit(slot, "int"), (slot,), model.slots[slot].sort)
    for r in sorted(live):
        info = model.slots[r]
        if info.kind != "ref":
            continue
        for off in _fields(model, info):
            cands = tuple(v + off for v in info.values)
            addr = ir.Var(r, "int") if off == 0 else ir.Bin("+", ir.Var(r, "int"), ir.Lit(off, "int"), "int")
            out.setdefault((r, off), Place(addr, cands, model.slots[cands[0]].sort))
    pcs = {t.pc_slot for t in model.threads}
    return [p for p in out.values()
            if not (set(p.candidates) & pcs) and model.slots[p.candidates[0]].kind != "ref"
            and all(model.slots[c].thread in (-1, thread.index) for c in p.candidates)]


def _globals_named(model: ir.Model, thread: ir.Thread) -> set[int]:
    out: set[int] = set()
    for edge in model.edges:
        if edge.thread == thread.index:
            for e in _exprs(edge):
                out |= _direct_slots(e)
            out |= {w.addr.value for w in edge.writes if isinstance(w.addr, ir.Lit)}
    return {s for s in out if model.slots[s].thread < 0}


def _exprs(edge: ir.Edge, when: str = "any") -> list[ir.Expr]:
    """What an edge reads: `before` it (guard, checks, the writes' values and addresses),
    `after` its writes (its `post` checks), or `any`."""
    before = [c.cond for c in edge.checks if c.when != "post"] + [w.value for w in edge.writes]
    before += [w.addr for w in edge.writes] + ([edge.guard] if edge.guard is not None else [])
    after = [c.cond for c in edge.checks if c.when == "post"]
    return before if when == "before" else after if when == "after" else before + after


def _reads(edge: ir.Edge, when: str) -> set[int]:
    return set().union(*(ir.slots_read(x) for x in _exprs(edge, when)))


def live_locals(model: ir.Model, thread: ir.Thread) -> dict[int, set[int]]:
    """For each pc, the thread's locals that may be read before they are next written."""
    local = set(thread.local_slots)
    edges = [e for e in model.edges if e.thread == thread.index]
    kills = {e.id: {w.addr.value for w in e.writes if isinstance(w.addr, ir.Lit)} & local for e in edges}
    reads = {e.id: (_reads(e, "before") | (_reads(e, "after") - kills[e.id])) & local for e in edges}
    live: dict[int, set[int]] = {pc: set() for pc in range(thread.node_count)}
    changed = True
    while changed:
        changed = False
        for e in edges:
            new = reads[e.id] | (live[e.dst] - kills[e.id])
            if not new <= live[e.src]:
                live[e.src] |= new
                changed = True
    return live


def _direct_slots(e: ir.Expr) -> set[int]:
    """Slots an expression names directly (not through an address)."""
    return {x.slot for x in ir.subexpressions(e) if isinstance(x, ir.Var)}


def _fields(model: ir.Model, ref: ir.Slot) -> list[int]:
    """The offsets of the scalar fields every object the reference can name has (from the
    slots' names: pages[1].writeback is field `writeback` of pages[1])."""
    common: set[str] | None = None
    offsets: dict[str, int] = {}
    for value, name in zip(ref.values, ref.value_names):
        fields = {}
        for k in range(value, len(model.slots)):
            sname = model.slots[k].name
            if k != value and not sname.startswith(name + "."):
                break
            if sname.startswith(name + "."):
                fields[sname[len(name) + 1:]] = k - value
        common = set(fields) if common is None else common & set(fields)
        offsets.update(fields)
    return sorted({offsets[f] for f in common or ()})


def _atoms(model: ir.Model, place: Place, me: int) -> list[ir.Expr]:
    """Literals over one place: both polarities of a bool, owner facts of a lock, each value
    of a small int."""
    value = place.read()
    slots = [model.slots[c] for c in place.candidates]
    if place.sort == "bool":
        return [value, ir.negate(value)]
    if all(s.kind in ("lock", "rw_writer") for s in slots):
        return [ir.Bin("==", value, ir.Lit(me, "int"), "bool"), ir.Bin("==", value, ir.Lit(0, "int"), "bool")]
    domain = sorted({v for s in slots for v in s.domain()})
    if len(domain) <= MAX_SMALL_DOMAIN:
        return [ir.Bin("==", value, ir.Lit(v, "int"), "bool") for v in domain]
    return []


def _field(model: ir.Model, slot: int) -> str:
    return model.slots[slot].name.split(".", 1)[-1]


def _tested_fields(model: ir.Model, thread: ir.Thread) -> set[str]:
    """The fields a thread's guards and checks read (`await p.io_pending`, `assert p.in_cache`)."""
    out: set[str] = set()
    for edge in model.edges:
        if edge.thread == thread.index:
            for e in [c.cond for c in edge.checks] + ([edge.guard] if edge.guard is not None else []):
                out |= {_field(model, s) for s in ir.slots_read(e) if model.slots[s].thread < 0}
    return out


def _implications(model: ir.Model, tested: set[str], places: list[Place]) -> list[ir.Expr]:
    """`a -> b` for two literals over fields the thread tests (`tested`) of one object a live
    reference names (`p.io_pending -> p.writeback`)."""
    by_ref: dict[int, list[Place]] = {}
    for p in places:
        refs = ir.slots_read(p.addr)
        if (not isinstance(p.addr, ir.Lit) and p.sort == "bool" and len(refs) == 1
                and _field(model, p.candidates[0]) in tested):
            by_ref.setdefault(next(iter(refs)), []).append(p)
    out: list[ir.Expr] = []
    for group in by_ref.values():
        for i, x in enumerate(group):
            for y in group[i + 1:]:
                for a in (x.read(), ir.negate(x.read())):
                    for b in (y.read(), ir.negate(y.read())):
                        out.append(ir.implies(a, b))
    return out


def _ranges(model: ir.Model, live: set[int]) -> list[ir.Expr]:
    """What holds of every object of an array before, or after, the one a live reference
    names: `forall q after p: !q.writeback` (the pages a loop has not reached yet)."""
    out: list[ir.Expr] = []
    for r in sorted(live):
        info = model.slots[r]
        if info.kind != "ref" or len(info.values) < 2:
            continue
        for off in _fields(model, info):
            if model.slots[info.values[0] + off].sort != "bool":
                continue
            for op in ("<", ">"):
                for positive in (True, False):
                    parts = []
                    for v in info.values:
                        lit: ir.Expr = ir.Var(v + off, "bool")
                        parts.append(ir.implies(ir.Bin(op, ir.Var(r, "int"), ir.Lit(v, "int"), "bool"),
                                                lit if positive else ir.negate(lit)))
                    out.append(ir.conj(parts))
    return out


def _counters(model: ir.Model, live: set[int]) -> list[ir.Expr]:
    """A loop's index and its reference agree: `i == k + d -> r == the k-th object` (d is 0
    or 1, as the index is bumped before or after the body)."""
    out: list[ir.Expr] = []
    ints = [c for c in sorted(live) if model.slots[c].kind == "int"]
    refs = [r for r in sorted(live) if model.slots[r].kind == "ref" and len(model.slots[r].values) > 1]
    for c in ints:
        for r in refs:
            values = model.slots[r].values
            for d in (0, 1):
                out.append(ir.conj([ir.implies(ir.Bin("==", ir.Var(c, "int"), ir.Lit(k + d, "int"), "bool"),
                                               ir.Bin("==", ir.Var(r, "int"), ir.Lit(v, "int"), "bool"))
                                    for k, v in enumerate(values)]))
    return out


def _guards_into(model: ir.Model, thread: ir.Thread) -> dict[int, list[ir.Expr]]:
    """For each pc, the conditions a thread last tested on its way there (`await p.io_pending
    || writeback_done`, a branch of an `if`): often they still hold."""
    out: dict[int, list[ir.Expr]] = {}
    for e in model.edges:
        if e.thread == thread.index and e.guard is not None and not e.writes:
            out.setdefault(e.dst, []).append(e.guard)
    return out


def _locks_held(model: ir.Model, thread: ir.Thread, places: list[Place]) -> list[ir.Expr]:
    """Which locks a thread that takes locks can hold here: for every lock of the model,
    `held by me -> one of my live references names it` (`not held by me` when none can), as
    one fact: without it a step case may start with a thread holding the lock of a page it
    is long done with."""
    me = ir.Lit(thread.index + 1, "int")
    out: list[ir.Expr] = []
    for c, slot in enumerate(model.slots):
        if slot.kind not in ("lock", "rw_writer") or slot.thread >= 0:
            continue
        names = [ir.Bin("==", p.addr, ir.Lit(c, "int"), "bool") for p in places
                 if not isinstance(p.addr, ir.Lit) and c in p.candidates]
        mine = ir.Bin("==", ir.Var(c, "int"), me, "bool")
        out.append(ir.implies(mine, ir.disj(names)) if names else ir.negate(mine))
    return [ir.conj(out)] if out else []


def _text(model: ir.Model, e: ir.Expr) -> str:
    """A candidate fact as the proofs show it: a lock's holder, a reference's object and an
    enum's member by name (`pages[0].locked = held by truncate`, not `== 1`)."""
    if isinstance(e, ir.Var):
        return model.slots[e.slot].name
    if isinstance(e, ir.Load):
        names = sorted({model.slots[c].name for c in e.candidates})
        if len(names) == 1:
            return names[0]
        return f"[{_text(model, e.addr)}]" if len(names) > 3 else "|".join(names) + "(by address)"
    if isinstance(e, ir.Lit):
        return str(e.value)
    if isinstance(e, ir.Un):
        return f"!{_text(model, e.arg)}" if e.op == "!" else f"-{_text(model, e.arg)}"
    if isinstance(e, ir.Bin):
        if e.op in ("==", "!="):
            for a, b in ((e.left, e.right), (e.right, e.left)):
                slot = _the_slot(a)
                if slot is not None and isinstance(b, ir.Lit) and model.slots[slot].kind in _NAMED_KINDS:
                    shown = format_value(model, slot, b.value)
                    return f"{model.slots[slot].name} {'=' if e.op == '==' else '!='} {shown}"
        return f"{_text(model, e.left)} {e.op} {_text(model, e.right)}"
    return "?"


_NAMED_KINDS = ("lock", "rw_writer", "ref", "enum")   # values format_value names


def _the_slot(e: ir.Expr) -> int | None:
    """The one slot `e` reads as a value: a variable, or a load that can reach one slot only."""
    if isinstance(e, ir.Var):
        return e.slot
    if isinstance(e, ir.Load) and len(set(e.candidates)) == 1:
        return e.candidates[0]
    return None


def _ref_pairs(model: ir.Model, live: set[int]) -> list[ir.Expr]:
    """`a == b` for two live references that can name the same object."""
    refs = [i for i in sorted(live) if model.slots[i].kind == "ref"]
    return [ir.Bin("==", ir.Var(a, "int"), ir.Var(b, "int"), "bool")
            for k, a in enumerate(refs) for b in refs[k + 1:]
            if set(model.slots[a].values) & set(model.slots[b].values)]


def thread_candidates(model: ir.Model, aliases: dict[tuple[int, int], dict[int, int]] | None = None,
                      start: int = 0, more: bool = False, stop: Callable[[], bool] = lambda: False
                      ) -> list[Candidate]:
    """Facts about where each thread stands. Without `aliases`: which live references are
    equal. With them (pc -> ref -> the reference it is known equal to): everything else,
    said of one reference per group of equal ones; `more`: the costlier shapes too. When
    `stop()` (the time is up), the ones made so far: fewer candidates only prove less."""
    out: list[Candidate] = []
    takers = ir.lock_takers(model)
    for thread in model.threads:
        live = live_locals(model, thread)
        costly = _CostlyShapes(model, thread, takers) if more else None
        where = position_texts(model, thread)
        for pc in ir.resting_pcs(model, thread):
            if stop():
                return out
            held: list[ir.Expr] = []
            extra: list[ir.Expr] = []
            if aliases is None:
                atoms = _ref_pairs(model, live[pc])
            else:
                same = aliases.get((thread.index, pc), {})
                reps = {r for r in live[pc] if r not in same}
                places = _places(model, thread, reps)
                atoms = [a for p in places for a in _atoms(model, p, thread.index + 1)]
                atoms += [ir.Bin("==", ir.Var(r, "int"), ir.Var(rep, "int"), "bool") for r, rep in sorted(same.items())]
                if thread.index in takers:
                    held = _locks_held(model, thread, places)
                if costly is not None:
                    extra = costly.at(pc, live[pc], reps, places)
            staged = [(a, 0) for a in atoms] + [(a, 1) for a in held] + [(a, 2) for a in extra]
            at = where[pc]
            family = thread.group
            for a, stage in staged:
                out.append(Candidate(start + len(out), thread.index, pc, a,
                                     f"{thread.name} at '{at}' -> {_text(model, a)}",
                                     f"{family}@{pc}: {_shape(model, a, thread.index + 1)}", stage))
    return out


class _CostlyShapes:
    """The shapes --more-candidates adds, for one thread: the guard it last passed, a loop
    index agreeing with its reference, the array elements before or after a reference, and,
    for a thread that takes no lock (an I/O completion), `a -> b` between two fields it
    tests. What depends only on the thread is worked out once."""

    def __init__(self, model: ir.Model, thread: ir.Thread, takers: set[int]):
        self.model = model
        self.guards = _guards_into(model, thread)
        self.tested = _tested_fields(model, thread) if thread.index not in takers else None

    def at(self, pc: int, live: set[int], reps: set[int], places: list[Place]) -> list[ir.Expr]:
        out = self.guards.get(pc, []) + _counters(self.model, live) + _ranges(self.model, reps)
        if self.tested is not None:
            out += _implications(self.model, self.tested, places)
        return out


def _shape(model: ir.Model, e: ir.Expr, me: int) -> str:
    """An atom with its thread's own names and indices left out: equal for the same fact of
    two threads of one array."""
    if isinstance(e, ir.Var):
        info = model.slots[e.slot]
        name = info.name.split(".", 1)[1] if info.thread >= 0 else info.name
        return re.sub(r"\[\d+\]", "[]", name)
    if isinstance(e, ir.Load):
        return f"*({_shape(model, e.addr, me)})"
    if isinstance(e, ir.Lit):
        return "me" if e.value == me and e.sort == "int" else str(e.value)
    if isinstance(e, ir.Un):
        return f"{e.op}{_shape(model, e.arg, me)}"
    if isinstance(e, ir.Bin):
        return f"({_shape(model, e.left, me)} {e.op} {_shape(model, e.right, me)})"
    return "?"


# ---- filtering by reachable states -------------------------------------------------------

def sample_states(system: TransitionSystem, seed: int = 0, stop: Callable[[], bool] = lambda: False) -> Array:
    """Reachable states (a matrix, each once): every initial state (the base case of k = 1),
    a breadth-first prefix of the state space, then random runs, all stepped together, that
    reach deep states the prefix does not."""
    initial, _, _ = system.initial_matrix()
    reached = system.reach(SAMPLE_BFS_STATES, stop=stop)
    parts = [initial, system.matrix(reached.states)]
    seen = set(system.hashes(parts[1]).tolist())
    rng = xp.random.default_rng(seed)
    walkers = initial[rng.integers(len(initial), size=SAMPLE_WALKS)] if len(initial) else initial
    idle = 0
    for _ in range(SAMPLE_WALK_STEPS):
        if not len(walkers) or idle >= SAMPLE_WALK_IDLE or stop():
            break
        steps = system.expand(walkers, locks=False)
        counts = xp.bincount(steps.parent, minlength=len(walkers))
        going = xp.nonzero(counts)[0]
        if not len(going):
            break
        first = xp.cumsum(counts) - counts      # the successors come grouped by walker, in order
        pick = first[going] + (rng.random(len(going)) * counts[going]).astype(xp.int64)
        walkers = steps.rows[pick]
        hashes = steps.hashes[pick].tolist()
        new = [h for h in hashes if h not in seen]
        idle = 0 if new else idle + 1
        seen.update(new)
        parts.append(walkers)
    samples = xp.concatenate(parts)
    first, _ = first_occurrences(system.hashes(samples))
    return samples[first]


class CandidateSet:
    """Candidates grouped by the (thread, pc) their premise names, so asking which
    candidates a state refutes evaluates only those of the pcs its threads stand at."""

    def __init__(self, model: ir.Model, cands: list[Candidate] = (), by_family: bool = True,  # type: ignore[assignment]
                 system: TransitionSystem | None = None):
        self.model = model
        self.system = system or TransitionSystem(model)
        self.by_family = by_family
        self.groups: dict[tuple[int, int], list[Candidate]] = {}
        self.compiled: dict[int, ArrayExpr] = {}     # candidate index -> its atom
        self.add(list(cands))

    def __len__(self) -> int:
        return sum(len(g) for g in self.groups.values())

    def items(self) -> list[Candidate]:
        return [c for g in self.groups.values() for c in g]

    def add(self, cands: list[Candidate]) -> None:
        for c in cands:
            self.groups.setdefault((c.thread, c.pc), []).append(c)

    def remove(self, cands: list[Candidate]) -> None:
        gone = {c.index for c in cands}
        for key in {(c.thread, c.pc) for c in cands}:
            self.groups[key] = [c for c in self.groups.get(key, []) if c.index not in gone]

    def with_family(self, cands: list[Candidate]) -> list[Candidate]:
        """The candidates and the same facts of the other threads of their thread arrays."""
        if not self.by_family:
            return cands
        families = {c.family for c in cands if c.family}
        return cands + [c for c in self.items() if c.family in families and c not in cands]

    def false_at(self, state: tuple) -> list[Candidate]:
        return self.false_in(self.system.matrix([state]))

    def _by_place(self, matrix: Array) -> Iterator[tuple[list[Candidate], Array]]:
        """For each (thread, pc) some row of `matrix` stands at: its candidates, and those rows."""
        for t, thread in enumerate(self.model.threads):
            pcs = matrix[:, thread.pc_slot]
            for pc in xp.unique(pcs).tolist():
                group = self.groups.get((t, pc))
                if group:
                    yield group, xp.nonzero(pcs == pc)[0]

    def false_in(self, matrix: Array) -> list[Candidate]:
        """The candidates some row of `matrix` refutes."""
        out: list[Candidate] = []
        for group, where in self._by_place(matrix):
            rows = Rows(matrix[where])
            out += [c for c in group if not self._atom(c).mask(rows).all()]
        return out

    def holding_rows(self, matrix: Array) -> Array:
        """Per row of `matrix`: every candidate holds there."""
        ok = xp.ones(matrix.shape[0], dtype=bool)
        for group, where in self._by_place(matrix):
            rows = Rows(matrix[where])
            held = xp.ones(len(where), dtype=bool)
            for c in group:
                held &= self._atom(c).mask(rows)
            ok[where[~held]] = False
        return ok

    def _atom(self, c: Candidate) -> ArrayExpr:
        fn = self.compiled.get(c.index)
        if fn is None:
            fn = self.compiled[c.index] = ArrayExpr(c.atom)
        return fn


def candidates(system: TransitionSystem, seed: int = 0, more: bool = False,
               stop: Callable[[], bool] = lambda: False) -> list[Candidate]:
    """Every candidate that the initial states and the sampled reachable states satisfy
    (those made before `stop()`, the time being up, says so)."""
    model = system.model
    samples = sample_states(system, seed, stop)
    equal = _survivors(system, thread_candidates(model, stop=stop), samples)
    aliases: dict[tuple[int, int], dict[int, int]] = {}
    for c in equal:
        a, b = sorted(ir.slots_read(c.atom))
        group = aliases.setdefault((c.thread, c.pc), {})
        root = group.get(a, a)
        if b not in group and root != b:
            group[b] = root
    return _survivors(system, thread_candidates(model, aliases, more=more, stop=stop), samples)


def _survivors(system: TransitionSystem, cands: list[Candidate], samples: Array) -> list[Candidate]:
    alive = CandidateSet(system.model, cands, system=system)
    alive.remove(alive.false_in(samples))
    return alive.items()
