"""Per-property cone-of-influence slices of the Horn clauses pdr gives Spacer.

The cone of a property is the smallest set C of slots such that the property's bad term
reads only slots of C, and every macro-step that may change a slot of C reads only slots of
C in its enabling condition (pc, guards, fatal checks on its path) and in the values and
addresses it writes into C. It is computed on the Z3 terms of the steps themselves
(after simplification), so a chain of local or atomic edges counts what its whole path
reads, including what earlier edges of the chain wrote.

The slice over C keeps Inv over the slots of C only. A step that may change a slot of C
becomes a clause from Inv(x|C) to Inv(its result restricted to C) under its own enabling
condition; a step that changes no slot of C (its thread's pc is not in C, or it only loops
on its pc) leaves Inv(x|C) as it was and is dropped. The initial states are projected on C.

Why a proof on the slice is a proof on the model: the slice over-approximates what the
model's runs do to the slots it keeps. Project any run of the model on C. Its first state
is a projected initial state. A step that changes no slot of C is a stutter of the
projection. A step that changes some has its clause in the slice, whose terms are the
model's own: in the clause a slot outside C is a free variable (any value), so the
model's step, with the values the dropped slots really had, is one of the ways the clause
can go, and it takes the projection to the next projection. Every projection of a
reachable state is therefore reachable in the slice, and the bad term, read the same way,
is broken only if some value of the dropped slots breaks it: if no reachable state of the
slice is bad, none of the model is. The closure above is what keeps the slice precise (the
kept steps read no dropped slot, so none of them is more often enabled than in the model:
a run of the slice even lifts to one of the model), not what makes it sound; pdr trusts no
counterexample from it all the same: bmc must find the violation on the full model, or
the property is unknown.
"""
from __future__ import annotations

from dataclasses import dataclass

import z3

from ... import ir
from .encoding import Encoder, Expansion


@dataclass(frozen=True)
class StepTerms:
    """One macro-step (a leaf of the step shape) as Horn-clause terms over the template state."""

    leaf: int
    ok: z3.BoolRef                     # the step can run from the state and complete
    writes: dict[int, z3.ExprRef]      # slot -> its value after the step, for every slot the step may change
    reads: frozenset[int]              # the slots `ok` reads
    value_reads: dict[int, frozenset[int]]   # slot written -> the slots its new value reads


class SlotReader:
    """The slots a term over the template state reads (its free constants)."""

    def __init__(self, xs: list[z3.ExprRef]):
        self.slot_of = {x.get_id(): j for j, x in enumerate(xs) if z3.is_const(x) and not z3.is_bv_value(x)
                        and not z3.is_true(x) and not z3.is_false(x)}

    def __call__(self, term: z3.ExprRef) -> frozenset[int]:
        out: set[int] = set()
        seen: set[int] = set()
        stack = [term]
        while stack:
            e = stack.pop()
            key = e.get_id()
            if key in seen:
                continue
            seen.add(key)
            j = self.slot_of.get(key)
            if j is not None:
                out.add(j)
            elif z3.is_app(e):
                stack.extend(e.children())
        return frozenset(out)


def step_terms(enc: Encoder, exp: Expansion, post_of: dict[int, list[z3.ExprRef]]) -> list[StepTerms]:
    """Every macro-step's enabling condition and the slots it may change (`post_of`: each
    leaf's state after it, as the clauses use it)."""
    shape, model = enc.shape, enc.model
    read = SlotReader(exp.pre)
    out: list[StepTerms] = []
    for leaf in shape.leaves:
        node = shape.nodes[leaf]
        pc = model.threads[node.thread].pc_slot
        stays = shape.nodes[shape.root_of(leaf)].edge.src == node.edge.dst   # the step ends where it began
        ok = z3.simplify(exp.ok[leaf])
        writes: dict[int, z3.ExprRef] = {}
        for j, v in enumerate(post_of[leaf]):
            if enc.codec.is_constant(j) or v.eq(exp.pre[j]) or (j == pc and stays):
                continue
            v = z3.simplify(v)
            if not v.eq(exp.pre[j]):
                writes[j] = v
        out.append(StepTerms(leaf, ok, writes, read(ok), {j: read(v) for j, v in writes.items()}))
    return out


def cone_of(steps: list[StepTerms], seed: frozenset[int]) -> frozenset[int]:
    """The smallest superset of `seed` closed under: a step that may change a slot of it adds
    what its enabling condition reads and what the value it writes there reads."""
    writers: dict[int, list[StepTerms]] = {}
    for s in steps:
        for j in s.writes:
            writers.setdefault(j, []).append(s)
    cone = set(seed)
    work = list(seed)
    taken: set[int] = set()     # steps whose enabling condition is already in
    while work:
        j = work.pop()
        for s in writers.get(j, ()):
            new = s.value_reads[j] if s.leaf in taken else s.value_reads[j] | s.reads
            taken.add(s.leaf)
            for k in new - cone:
                cone.add(k)
                work.append(k)
    return frozenset(cone)


def kept_steps(steps: list[StepTerms], cone: frozenset[int]) -> list[StepTerms]:
    """The steps of the slice: those that may change a slot of the cone."""
    return [s for s in steps if not cone.isdisjoint(s.writes)]


def describe(model: ir.Model, cone: frozenset[int], slots: int, kept: int, steps: int) -> str:
    """`slots`: how many the whole state has (constants left out), `steps`: macro-steps."""
    threads = sum(1 for t in model.threads if t.pc_slot in cone)
    return (f"on its cone of influence: {len(cone)} of {slots} slots, {threads} of "
            f"{len(model.threads)} threads' positions, {kept} of {steps} steps")
