"""How the symbolic engines write a state in Z3: one term per slot, and the few operations
the encoding needs on them (an expression's value, a slot holding a constant, a write).

`IntCodec` keeps every int slot a Z3 Int and every expression goes through smt.to_z3, the
reference meaning. `BitCodec` is for bmc, whose queries Z3 then solves by bit-blasting them
to its SAT solver (measured: several times faster than the arithmetic solver on the specs'
unrollings): an int slot is the index of its value in the slot's domain, a bit-vector just
wide enough for that (1 bit for a page reference that can be one of two pages; a slot with
one possible value is a constant), and arithmetic runs on signed bit-vectors that widen at
each operation (a + b one bit wider than either, a * b as wide as both together), so no
intermediate value of an expression can wrap around. A value written to a slot outside its
domain is cut down to the slot's width: every such write is behind a failing `bounds` check,
which ends the path, so that state is never looked at. tests/test_symbolic.py checks both
codecs against the explicit engine's Python on every expression of the specs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import z3

from ... import ir
from ...ir import Bin, Ite, Lit, Load, Un, Var
from ...smt import domain_constraint, state_vars, to_z3


class IntCodec:
    """Ints as Z3 Ints: the reference meaning (smt.to_z3), for induction and pdr."""

    def __init__(self, model: ir.Model):
        self.model = model

    def state(self, tag: str) -> list[z3.ExprRef]:
        return state_vars(self.model, tag)

    def domain(self, xs: list[z3.ExprRef]) -> z3.BoolRef:
        return domain_constraint(self.model, xs)

    def predicate(self, e: ir.Expr, xs: list[z3.ExprRef]) -> z3.BoolRef:
        return to_z3(e, xs)

    def value(self, e: ir.Expr, xs: list[z3.ExprRef]) -> z3.ExprRef:
        return to_z3(e, xs)

    def is_(self, value: z3.ExprRef, c: int) -> z3.BoolRef:
        return value == c

    def write(self, slot: int, value: z3.ExprRef) -> z3.ExprRef:
        """`value` as slot `slot` holds it (a bool slot holds an int as `!= 0`, and the other way)."""
        if self.model.slots[slot].sort == "bool":
            return value != 0 if not z3.is_bool(value) else value
        return z3.If(value, z3.IntVal(1), z3.IntVal(0)) if z3.is_bool(value) else value

    def const(self, slot: int, c: int) -> z3.ExprRef:
        return z3.BoolVal(bool(c)) if self.model.slots[slot].sort == "bool" else z3.IntVal(c)

    def slot_is(self, xs: list[z3.ExprRef], slot: int, c: int) -> z3.BoolRef:
        x = xs[slot]
        return (x if c else z3.Not(x)) if z3.is_bool(x) else x == c

    def decode(self, slot: int, raw: int) -> int:
        return raw

    def is_constant(self, slot: int) -> bool:
        return False

    # the step selector: which macro-step (a position in StepShape.leaves) a step takes
    def selector(self, name: str) -> z3.ExprRef:
        return z3.Int(name)

    def sel_const(self, i: int) -> z3.ExprRef:
        return z3.IntVal(i)

    def sel_lt(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
        return a < b

    def sel_range(self, sel: z3.ExprRef, lo: int, hi: int) -> z3.BoolRef:
        """lo <= sel < hi"""
        return z3.And(sel >= lo, sel < hi)


# ---- bit-vectors -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Coded:
    """The value domain[idx]."""

    domain: tuple[int, ...]
    idx: z3.BitVecRef


@dataclass(frozen=True)
class _Num:
    """A signed value, wide enough that it never wrapped."""

    bv: z3.BitVecRef


_Value = Union[int, _Coded, _Num]   # an int: a constant


def _signed_bits(v: int) -> int:
    return max(v.bit_length(), (-v - 1).bit_length()) + 1 if v < 0 else v.bit_length() + 1


def _index_bits(n: int) -> int:
    return max(1, (n - 1).bit_length())


def _widen(bv: z3.BitVecRef, width: int) -> z3.BitVecRef:
    return z3.SignExt(width - bv.size(), bv) if bv.size() < width else bv


class BitCodec:
    """Int slots as bit-vector indices into their domains (see the module's docstring)."""

    def __init__(self, model: ir.Model, selectors: int):
        self.model = model
        self.domains: list[tuple[int, ...]] = [tuple(s.domain()) if s.sort == "int" else (0, 1) for s in model.slots]
        self.position: list[dict[int, int]] = [{v: i for i, v in enumerate(d)} for d in self.domains]
        self.sel_width = _index_bits(max(selectors, 1) + 1)

    # ---- state ----
    def is_constant(self, slot: int) -> bool:
        return self.model.slots[slot].sort == "int" and len(self.domains[slot]) == 1

    def state(self, tag: str) -> list[z3.ExprRef]:
        out: list[z3.ExprRef] = []
        for i, slot in enumerate(self.model.slots):
            name = f"{slot.name}#{i}{tag}"
            if slot.sort == "bool":
                out.append(z3.Bool(name))
            elif self.is_constant(i):
                out.append(z3.BitVecVal(0, 1))
            else:
                out.append(z3.BitVec(name, _index_bits(len(self.domains[i]))))
        return out

    def domain(self, xs: list[z3.ExprRef]) -> z3.BoolRef:
        parts = []
        for i, slot in enumerate(self.model.slots):
            n = len(self.domains[i])
            if slot.sort == "int" and n > 1 and n != 1 << xs[i].size():
                parts.append(z3.ULT(xs[i], n))
        return z3.And(parts) if parts else z3.BoolVal(True)

    def decode(self, slot: int, raw: int) -> int:
        if self.model.slots[slot].sort == "bool":
            return raw
        domain = self.domains[slot]
        return domain[raw] if raw < len(domain) else domain[0]

    def const(self, slot: int, c: int) -> z3.ExprRef:
        if self.model.slots[slot].sort == "bool":
            return z3.BoolVal(bool(c))
        return self._index(slot, c)

    def slot_is(self, xs: list[z3.ExprRef], slot: int, c: int) -> z3.BoolRef:
        x = xs[slot]
        if z3.is_bool(x):
            return x if c else z3.Not(x)
        return self.is_(_Coded(self.domains[slot], x), c)

    # ---- expressions ----
    def predicate(self, e: ir.Expr, xs: list[z3.ExprRef]) -> z3.BoolRef:
        out = self._term(e, xs)
        assert z3.is_bool(out), e
        return out

    def value(self, e: ir.Expr, xs: list[z3.ExprRef]) -> _Value | z3.BoolRef:
        return self._term(e, xs)

    def is_(self, value: _Value | z3.BoolRef, c: int) -> z3.BoolRef:
        if isinstance(value, int):
            return z3.BoolVal(value == c)
        if isinstance(value, _Coded):
            pos = self.position_in(value.domain, c)
            if pos is None:
                return z3.BoolVal(False)
            return z3.BoolVal(True) if len(value.domain) == 1 else value.idx == pos
        if isinstance(value, _Num):
            if _signed_bits(c) > value.bv.size():
                return z3.BoolVal(False)
            return value.bv == z3.BitVecVal(c, value.bv.size())
        return value if c else z3.Not(value)     # a Bool

    def position_in(self, domain: tuple[int, ...], c: int) -> int | None:
        for i, v in enumerate(domain):
            if v == c:
                return i
        return None

    def write(self, slot: int, value: _Value | z3.BoolRef) -> z3.ExprRef:
        if self.model.slots[slot].sort == "bool":
            return z3.Not(self.is_(value, 0)) if not z3.is_expr(value) or not z3.is_bool(value) else value
        if z3.is_expr(value) and z3.is_bool(value):
            return z3.If(value, self._index(slot, 1), self._index(slot, 0))
        domain = self.domains[slot]
        if len(domain) == 1:
            return z3.BitVecVal(0, 1)
        width = _index_bits(len(domain))
        if isinstance(value, int):
            return self._index(slot, value)
        if isinstance(value, _Coded) and value.domain == domain:
            return value.idx
        num = self._num(value)
        lo = domain[0]
        if domain == tuple(range(lo, lo + len(domain))):
            w = max(num.size(), _signed_bits(lo), width) + 1
            off = _widen(num, w) - z3.BitVecVal(lo, w) if lo else _widen(num, w)
            return z3.Extract(width - 1, 0, off)
        out: z3.BitVecRef = z3.BitVecVal(0, width)
        for i in range(len(domain) - 1, 0, -1):
            out = z3.If(self.is_(_Num(num), domain[i]), z3.BitVecVal(i, width), out)
        return out

    def number(self, value: _Value | z3.BoolRef) -> z3.BitVecRef:
        """An int value as a signed bit-vector (for tests and tools)."""
        return self._num(value)

    def _index(self, slot: int, c: int) -> z3.BitVecRef:
        domain = self.domains[slot]
        pos = self.position[slot].get(c, 0)   # a value outside the domain: behind a failing bounds check
        return z3.BitVecVal(pos, _index_bits(len(domain)) if len(domain) > 1 else 1)

    def _num(self, value: _Value) -> z3.BitVecRef:
        if isinstance(value, int):
            return z3.BitVecVal(value, _signed_bits(value))
        if isinstance(value, _Num):
            return value.bv
        if z3.is_expr(value) and z3.is_bool(value):
            return z3.If(value, z3.BitVecVal(1, 2), z3.BitVecVal(0, 2))
        domain, idx = value.domain, value.idx
        lo, hi = min(domain), max(domain)
        width = max(_signed_bits(lo), _signed_bits(hi))
        if len(domain) == 1:
            return z3.BitVecVal(domain[0], width)
        if domain == tuple(range(lo, lo + len(domain))):
            w = max(width, idx.size() + 1)
            out = z3.ZeroExt(w - idx.size(), idx)
            return out + z3.BitVecVal(lo, w) if lo else out
        out = z3.BitVecVal(domain[-1], width)
        for i in range(len(domain) - 2, -1, -1):
            out = z3.If(idx == i, z3.BitVecVal(domain[i], width), out)
        return out

    def _term(self, e: ir.Expr, xs: list[z3.ExprRef]) -> _Value | z3.BoolRef:
        if isinstance(e, Lit):
            return z3.BoolVal(bool(e.value)) if e.sort == "bool" else e.value
        if isinstance(e, Var):
            return self._slot(e.slot, xs)
        if isinstance(e, Load):
            addr = self._term(e.addr, xs)
            values = [self._slot(c, xs) for c in e.candidates]
            conds = [self.is_(addr, c) for c in e.candidates[:-1]]
            return self._choose(conds, values)
        if isinstance(e, Un):
            arg = self._term(e.arg, xs)
            if e.op == "!":
                return z3.Not(arg)
            if isinstance(arg, int):
                return -arg
            num = self._num(arg)
            return _Num(-_widen(num, num.size() + 1))
        if isinstance(e, Bin):
            return self._bin(e.op, self._term(e.left, xs), self._term(e.right, xs))
        if isinstance(e, Ite):
            return self._choose([self._term(e.cond, xs)], [self._term(e.then, xs), self._term(e.other, xs)])
        raise AssertionError(e)

    def _slot(self, slot: int, xs: list[z3.ExprRef]) -> _Value | z3.BoolRef:
        x = xs[slot]
        if z3.is_bool(x):
            return x
        domain = self.domains[slot]
        return domain[0] if len(domain) == 1 else _Coded(domain, x)

    def _choose(self, conds: list[z3.BoolRef], values: list) -> _Value | z3.BoolRef:
        """values[0] if conds[0], else values[1] if conds[1], ..., else values[-1]."""
        last = values[-1]
        if z3.is_expr(last) and z3.is_bool(last):
            out = last
            for c, v in zip(reversed(conds), reversed(values[:-1])):
                out = z3.If(c, v, out)
            return out
        if all(isinstance(v, int) for v in values) and len(set(values)) == 1:
            return values[0]
        coded = [v for v in values if isinstance(v, _Coded)]
        if len(coded) == len(values) and all(v.domain == coded[0].domain for v in coded):
            out_idx = last.idx
            for c, v in zip(reversed(conds), reversed(values[:-1])):
                out_idx = z3.If(c, v.idx, out_idx)
            return _Coded(last.domain, out_idx)
        nums = [self._num(v) for v in values]
        width = max(n.size() for n in nums)
        out_bv = _widen(nums[-1], width)
        for c, n in zip(reversed(conds), reversed(nums[:-1])):
            out_bv = z3.If(c, _widen(n, width), out_bv)
        return _Num(out_bv)

    def _bin(self, op: str, a, b) -> _Value | z3.BoolRef:
        if op == "&&":
            return z3.And(a, b)
        if op == "||":
            return z3.Or(a, b)
        if op == "->":
            return z3.Implies(a, b)
        if op in ("==", "!="):
            if z3.is_expr(a) and z3.is_bool(a):
                same = a == b
            elif isinstance(b, int):
                same = self.is_(a, b)
            elif isinstance(a, int):
                same = self.is_(b, a)
            elif isinstance(a, _Coded) and isinstance(b, _Coded) and a.domain == b.domain:
                same = a.idx == b.idx
            else:
                x, y = self._common(a, b)
                same = x == y
            return same if op == "==" else z3.Not(same)
        if isinstance(a, int) and isinstance(b, int) and op in ("+", "-", "*", "<", "<=", ">", ">="):
            return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
                    "<": lambda: z3.BoolVal(a < b), "<=": lambda: z3.BoolVal(a <= b),
                    ">": lambda: z3.BoolVal(a > b), ">=": lambda: z3.BoolVal(a >= b)}[op]()
        x, y = self._num(a), self._num(b)
        if op in ("<", "<=", ">", ">="):
            x, y = self._common(a, b)
            return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]   # signed comparisons
        if op in ("+", "-"):
            w = max(x.size(), y.size()) + 1
            x, y = _widen(x, w), _widen(y, w)
            return _Num(x + y if op == "+" else x - y)
        if op == "*":
            w = x.size() + y.size()
            return _Num(_widen(x, w) * _widen(y, w))
        if op == "/":   # bvsdiv truncates toward zero, as C does; one bit more for MIN / -1
            w = max(x.size() + 1, y.size())
            return _Num(_widen(x, w) / _widen(y, w))
        if op == "%":   # bvsrem: the sign of the dividend, as C's %
            w = max(x.size(), y.size())
            return _Num(z3.SRem(_widen(x, w), _widen(y, w)))
        raise AssertionError(op)

    def _common(self, a, b) -> tuple[z3.BitVecRef, z3.BitVecRef]:
        x, y = self._num(a), self._num(b)
        w = max(x.size(), y.size())
        return _widen(x, w), _widen(y, w)

    # ---- the step selector, unsigned ----
    def selector(self, name: str) -> z3.ExprRef:
        return z3.BitVec(name, self.sel_width)

    def sel_const(self, i: int) -> z3.ExprRef:
        return z3.BitVecVal(i, self.sel_width)

    def sel_lt(self, a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
        return z3.ULT(a, b)

    def sel_range(self, sel: z3.ExprRef, lo: int, hi: int) -> z3.BoolRef:
        parts = []
        if lo > 0:
            parts.append(z3.UGE(sel, lo))
        parts.append(z3.ULT(sel, hi))
        return z3.And(parts) if len(parts) > 1 else parts[0]


Codec = Union[IntCodec, BitCodec]
