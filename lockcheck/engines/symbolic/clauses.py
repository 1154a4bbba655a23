"""Spacer's invariant in the spec's terms. Spacer writes a slot's value as bits of its
position in the slot's domain (`Extract(1, 1, writer.pc#index) == 1`); each part of a clause
that reads one slot is evaluated at every value of the slot and printed as the values it
allows (`writer at 'unlock_page: ...' or 'the end'`, `i <= 1`, `p != pages[1]`), the parts of
one `||` or `&&` over the same slot merged into one."""
from __future__ import annotations

from dataclasses import dataclass, field

import z3

from ... import ir
from ..tracing import format_value, position_texts
from .codec import BitCodec
from .encoding import Encoder

SHOWN_DOMAIN = 256   # a slot with more values than this is left in Z3's notation


@dataclass
class ClausePrinter:
    """Prints the clauses of one invariant of Spacer's, whose bound variables stand for the
    slots `slot_of` names (the module's docstring says how)."""

    enc: Encoder
    slot_of: dict[int, int]          # bound variable index -> slot
    sort_of: dict[int, z3.SortRef]
    positions: dict[int, dict[int, str]] = field(default_factory=dict)   # thread -> pc -> its text
    bound: list[z3.ExprRef] = field(default_factory=list)                # the bound variables, by index
    # _one_slot's answers by term id, each with its term (kept alive, so that its id is not reused)
    single: dict[int, tuple[z3.ExprRef, tuple[int, frozenset[int]] | None]] = field(default_factory=dict)

    def show(self, e: z3.ExprRef, top: bool = True) -> str:
        one = self._one_slot(e)
        if one is not None:
            return self._allowed(*one)
        if z3.is_not(e):
            inner = e.arg(0)
            text = self.show(inner, False)
            if z3.is_eq(inner) and not z3.is_bool(inner.arg(0)) and " = " in text:   # two slots compared
                return text.replace(" = ", " != ", 1)
            return "!" + text
        if z3.is_and(e) or z3.is_or(e):
            conjunction = z3.is_and(e)
            allowed: dict[int, frozenset[int]] = {}
            shown: list[str | int] = []     # a text, or a variable whose merged values go there
            for c in e.children():
                single = self._one_slot(c)
                if single is None:
                    shown.append(self.show(c, False))
                    continue
                v, values = single
                if v not in allowed:
                    shown.append(v)
                    allowed[v] = values
                else:
                    allowed[v] = allowed[v] & values if conjunction else allowed[v] | values
            neutral, absorbing = ("true", "false") if conjunction else ("false", "true")
            parts = [self._allowed(x, allowed[x]) if isinstance(x, int) else x for x in shown]
            if absorbing in parts:
                return absorbing
            parts = [x for x in parts if x != neutral] or [neutral]
            joined = (" && " if conjunction else " || ").join(parts)
            return joined if top or len(parts) == 1 else f"({joined})"
        if z3.is_eq(e) and z3.is_bool(e.arg(0)):
            return f"({self.show(e.arg(0), False)}) == ({self.show(e.arg(1), False)})"
        if z3.is_eq(e) and all(z3.is_var(a) and z3.get_var_index(a) in self.slot_of for a in e.children()):
            a, b = (self.slot_of[z3.get_var_index(x)] for x in e.children())
            codec = self.enc.codec
            if isinstance(codec, BitCodec) and codec.domains[a] == codec.domains[b]:   # equal positions, equal values
                return f"{self.enc.model.slots[a].name} = {self.enc.model.slots[b].name}"
        return self._raw(e)

    # ---- a part that reads one slot: the positions in its domain where it holds ----
    def _one_slot(self, e: z3.ExprRef) -> tuple[int, frozenset[int]] | None:
        """(variable, the positions of its domain where `e` holds) if `e` reads one slot
        (once per subterm: show asks again of each part it does not print as one slot)."""
        key = e.get_id()
        if key not in self.single:
            self.single[key] = (e, self._evaluate(e))
        return self.single[key][1]

    def _evaluate(self, e: z3.ExprRef) -> tuple[int, frozenset[int]] | None:
        found: set[int] = set()
        seen: set[int] = set()

        def walk(x: z3.ExprRef) -> None:
            if x.get_id() in seen:
                return
            seen.add(x.get_id())
            if z3.is_var(x):
                found.add(z3.get_var_index(x))
            for c in x.children():
                walk(c)

        walk(e)
        if len(found) != 1:
            return None
        v = found.pop()
        size = self._size(v)
        if size is None:
            return None
        sort = self.sort_of[v]
        if not self.bound:
            self.bound = [z3.Var(i, self.sort_of.get(i, z3.BoolSort())) for i in range(max(self.slot_of) + 1)]
        holds = set()
        for position in range(size):
            value = z3.BoolVal(bool(position)) if z3.is_bool(z3.Var(v, sort)) else z3.BitVecVal(position, sort.size())
            over = list(self.bound)
            over[v] = value
            result = z3.simplify(z3.substitute_vars(e, *over))
            if not (z3.is_true(result) or z3.is_false(result)):
                return None
            if z3.is_true(result):
                holds.add(position)
        return v, frozenset(holds)

    def _size(self, v: int) -> int | None:
        sort = self.sort_of.get(v)
        if sort is None or v not in self.slot_of:
            return None
        if z3.is_bool(z3.Var(v, sort)):
            return 2
        codec = self.enc.codec
        if not isinstance(codec, BitCodec) or not z3.is_bv_sort(sort):
            return None
        n = len(codec.domains[self.slot_of[v]])
        return n if n <= SHOWN_DOMAIN else None

    def _allowed(self, v: int, positions: frozenset[int]) -> str:
        """The values of the slot behind variable v at these positions of its domain, as a condition."""
        model, j = self.enc.model, self.slot_of[v]
        name = model.slots[j].name
        size = self._size(v) or 0
        if z3.is_bool(z3.Var(v, self.sort_of[v])):
            return {frozenset(): "false", frozenset({1}): name, frozenset({0}): "!" + name}.get(positions, "true")
        domain = self.enc.codec.domains[j] if isinstance(self.enc.codec, BitCodec) else ()
        thread = next((t for t in model.threads if t.pc_slot == j), None)
        where = self._positions(thread) if thread is not None else {}
        # a pc where the thread never rests (inside an atomic block, a local step) is never the value
        cares = [i for i in range(size) if thread is None or domain[i] in where]
        values = [domain[i] for i in cares if i in positions]
        others = [domain[i] for i in cares if i not in positions]
        if not values:
            return "false"
        if not others:
            return "true"
        if thread is not None:
            def at(pcs: list[int]) -> str:
                return " or ".join(f"'{where[pc]}'" for pc in pcs)
            if len(values) <= len(others):
                return f"{thread.name} at {at(values)}"
            return f"{thread.name} not at {at(others)}"

        def shown(vs: list[int]) -> str:
            return ", ".join(format_value(model, j, x) for x in vs)
        ordered = model.slots[j].kind == "int" and list(domain) == sorted(domain)
        if len(values) == 1:
            return f"{name} = {shown(values)}"
        if len(others) == 1:
            return f"{name} != {shown(others)}"
        if ordered and values == list(domain[:len(values)]):
            return f"{name} <= {values[-1]}"
        if ordered and values == list(domain[size - len(values):size]):
            return f"{name} >= {values[0]}"
        if len(values) <= len(others):
            return f"{name} in {{{shown(values)}}}"
        return f"{name} not in {{{shown(others)}}}"

    def _positions(self, thread: ir.Thread) -> dict[int, str]:
        texts = self.positions.get(thread.index)
        if texts is None:
            texts = self.positions[thread.index] = position_texts(self.enc.model, thread)
        return texts

    def _raw(self, e: z3.ExprRef) -> str:
        """Z3's notation for what the printer does not know, the slots named (`#index`: the
        position of the slot's value in its domain, as the encoding holds it)."""
        top = max(self.slot_of) + 1 if self.slot_of else 0
        named = [z3.Const(f"{self.enc.model.slots[self.slot_of[i]].name}#index", self.sort_of[i])
                 if i in self.slot_of else z3.Bool(f"v{i}") for i in range(top)]
        return " ".join(str(z3.substitute_vars(e, *named)).split())   # Z3 breaks long lines
