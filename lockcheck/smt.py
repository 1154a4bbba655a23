"""IR expressions -> Z3 terms: the reference meaning of every invariant, guard and check."""
from __future__ import annotations

import z3

from . import ir
from .ir import Bin, Ite, Lit, Load, Un, Var


def state_vars(model: ir.Model, suffix: str = "") -> list[z3.ExprRef]:
    """One Z3 constant per slot of the state vector."""
    out: list[z3.ExprRef] = []
    for i, slot in enumerate(model.slots):
        name = f"{slot.name}#{i}{suffix}"
        out.append(z3.Bool(name) if slot.sort == "bool" else z3.Int(name))
    return out


def domain_constraint(model: ir.Model, vars_: list[z3.ExprRef]) -> z3.BoolRef:
    """Every slot within the values its type allows."""
    parts = []
    for slot, v in zip(model.slots, vars_):
        if slot.sort == "bool":
            continue
        if slot.values:
            parts.append(z3.Or([v == x for x in slot.values]))
        else:
            parts.append(z3.And(v >= slot.low, v <= slot.high))
    return z3.And(parts) if parts else z3.BoolVal(True)


def _cdiv(a: z3.ArithRef, b: z3.ArithRef) -> z3.ArithRef:
    # Z3's integer division is Euclidean; C truncates toward zero.
    q = z3.If(a >= 0, z3.If(b > 0, a / b, -(a / -b)), z3.If(b > 0, -((-a) / b), (-a) / (-b)))
    return q


def to_z3(e: ir.Expr, vars_: list[z3.ExprRef]) -> z3.ExprRef:
    if isinstance(e, Lit):
        return z3.BoolVal(bool(e.value)) if e.sort == "bool" else z3.IntVal(e.value)
    if isinstance(e, Var):
        return vars_[e.slot]
    if isinstance(e, Load):
        addr = to_z3(e.addr, vars_)
        out = vars_[e.candidates[-1]]
        for c in reversed(e.candidates[:-1]):
            out = z3.If(addr == c, vars_[c], out)
        return out
    if isinstance(e, Un):
        arg = to_z3(e.arg, vars_)
        return z3.Not(arg) if e.op == "!" else -arg
    if isinstance(e, Bin):
        a, b = to_z3(e.left, vars_), to_z3(e.right, vars_)
        op = e.op
        if op == "&&":
            return z3.And(a, b)
        if op == "||":
            return z3.Or(a, b)
        if op == "->":
            return z3.Implies(a, b)
        if op == "/":
            return _cdiv(a, b)
        if op == "%":
            return a - b * _cdiv(a, b)
        return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "==": lambda: a == b,
                "!=": lambda: a != b, "<": lambda: a < b, "<=": lambda: a <= b, ">": lambda: a > b,
                ">=": lambda: a >= b}[op]()
    if isinstance(e, Ite):
        return z3.If(to_z3(e.cond, vars_), to_z3(e.then, vars_), to_z3(e.other, vars_))
    raise AssertionError(e)


def concrete_state(model: ir.Model, vars_: list[z3.ExprRef], state: tuple) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
    """A substitution that fixes every state variable to its value in `state`."""
    return [(v, z3.BoolVal(bool(x)) if slot.sort == "bool" else z3.IntVal(int(x)))
            for v, x, slot in zip(vars_, state, model.slots)]


def value_in(term: z3.ExprRef, substitution: list[tuple[z3.ExprRef, z3.ExprRef]]) -> int:
    """The value Z3 gives a term once every state variable is fixed (bools as 0/1)."""
    value = z3.simplify(z3.substitute(term, *substitution) if substitution else term)
    if z3.is_true(value):
        return 1
    if z3.is_false(value):
        return 0
    return value.as_long()  # type: ignore[attr-defined]
