"""The control-flow graph of one thread: nodes, its local slots, and edges (each step knows
whether it touches only the thread's locals, so it can run with the step before it)."""
from __future__ import annotations

import re

from .. import ir
from ..ir import Check, Edge, Lit, Write
from ..errors import SpecError
from ..limits import MAX_STEPS
from ..resolve import default_values
from ..source import Span
from ..lktypes import BoolT, EnumT, IntT, Type
from .places import Place, ValueBinding, RefBinding, Binding
from .state import LoweringState

SELF_WORD = re.compile(r"(?<![\w.])self\b")


class StepGraph(LoweringState):
    """A thread's nodes, local slots and edges."""

    def new_node(self) -> int:
        n = self.nodes
        self.nodes += 1
        if self.atomic_depth:
            self.atomic_nodes.add(n)
        return n

    def new_local(self, name: str, type_: Type, visible: bool, values: tuple[int, ...] = ()) -> int:
        label = ".".join([self.name] + self.context[-1:] + [name])
        if values:
            names = tuple(self.b.object_name(v, type_) for v in values)
            if self.choosing:
                values, names = (-1, *values), ("none", *names)
            slot = ir.Slot(label, "ref", min(values), max(values), thread=self.index, visible=visible,
                           values=values, value_names=names)
        elif isinstance(type_, BoolT):
            slot = ir.Slot(label, "bool", 0, 1, thread=self.index, visible=visible)
        elif isinstance(type_, IntT):
            slot = ir.Slot(label, "int", type_.low, type_.high, thread=self.index, visible=visible)
        elif isinstance(type_, EnumT):
            slot = ir.Slot(label, "enum", 0, len(type_.members) - 1, type_.members, self.index, visible)
        else:
            raise AssertionError(type_)
        index = self.b.new_slot(slot, self.default_of(type_, values))
        self.local_slots.append(index)
        if self.scope_locals:
            self.scope_locals[-1].append(index)
        if self.frames:
            self.frames[-1].locals.append(index)
        return index

    def default_of(self, type_: Type, values: tuple[int, ...] = ()) -> int:
        if values:
            return values[0]
        return default_values(self.env, type_, None, Span("", 0, 0))[0]

    def is_local(self, expr: ir.Expr) -> bool:
        return ir.slots_read(expr) <= self.my_locals

    @property
    def my_locals(self) -> set[int]:
        return set(self.local_slots)

    def edge(self, src: int, dst: int, *, text: str, span: Span, guard: ir.Expr | None = None,
             checks: list[Check] | None = None, writes: list[Write] | None = None, shown: bool = True,
             force_step: bool = False, acquires: ir.Expr | None = None, branch: str = "",
             names_from: list[dict[str, tuple[Binding | Place, list[int]]]] | None = None,
             returns_from: str = "") -> None:
        checks = checks or []
        writes = writes or []
        text = self.with_self(text)
        mine = self.my_locals
        reads: set[int] = set()
        for e in ([guard] if guard is not None else []) + [w.value for w in writes] + [w.addr for w in writes]:
            reads |= ir.slots_read(e)
        if shown:
            for c in checks:
                reads |= ir.slots_read(c.cond)
        targets = {c for w in writes for c in w.candidates}
        local = not force_step and reads <= mine and targets <= mine
        # names a trace shows by their value: references (p -> pages[1]), the hidden values
        # of parameters and loop counters (i -> 1), and a visible local as an index
        # (swp_vector[k] -> swp_vector[0]; tracing.name_objects tells these apart)
        refs: dict[str, int] = {}
        for scope in (self.scopes if names_from is None else names_from):
            for name, (binding, _) in scope.items():
                if isinstance(binding, RefBinding) or (
                        isinstance(binding, ValueBinding) and binding.slot in self.local_slots):
                    refs[name] = binding.slot
                else:
                    refs.pop(name, None)
        if len(self.b.edges) >= MAX_STEPS:   # calls are inlined: each call site copies its proc's steps
            raise SpecError(f"more than {MAX_STEPS:,} steps, with every call inlined (the steps limit)", span)
        edge = Edge(len(self.b.edges), self.index, src, dst, guard, tuple(checks), tuple(writes), text, span,
                    tuple(self.context), local, shown or not local, acquires, branch, tuple(refs.items()),
                    returns_from)
        self.b.edges.append(edge)
        self.edge_ids.append(edge.id)
        self.node_text.setdefault(src, (self._contextual(edge.shown_text), span))

    def with_self(self, text: str) -> str:
        """The statement as this thread instance runs it: `pages[self]` in bio_end[1] is
        pages[1] (outside string literals)."""
        if self.is_init or self.me is None or "self" not in text:
            return text
        parts = text.split('"')
        parts[::2] = [SELF_WORD.sub(str(self.self_binding.value), x) for x in parts[::2]]
        return '"'.join(parts)

    def _contextual(self, text: str) -> str:
        return f"{self.context[-1]}: {text}" if self.context else text

    def resets(self, slots: list[int]) -> list[Write]:
        return [Write(Lit(x, "int"), Lit(self.b.initial[x], self.b.slots[x].sort), (x,)) for x in slots]
