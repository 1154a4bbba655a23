"""What names mean inside a body (places in the state vector, bindings, frames, loops) and
address arithmetic that folds constants."""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import ir
from .. import syntax as s
from ..ir import Bin, Lit
from ..resolve import c_arith
from ..lktypes import Type


# ---- what names mean inside a body ---------------------------------------------------------

@dataclass(frozen=True)
class Place:
    """An object in the state vector: its address, its type, the addresses it can be."""

    addr: ir.Expr
    type: Type
    candidates: tuple[int, ...]


@dataclass(frozen=True)
class ValueBinding:
    slot: int
    type: Type


@dataclass(frozen=True)
class RefBinding:
    slot: int
    type: Type
    candidates: tuple[int, ...]


@dataclass(frozen=True)
class ConstBinding:
    value: int
    type: Type


Binding = ValueBinding | RefBinding | ConstBinding


@dataclass
class Frame:
    proc: s.ProcDecl
    exit: int
    result_slot: int | None
    result_type: Type | None
    locals: list[int] = field(default_factory=list)


@dataclass
class Loop:
    break_to: int
    continue_to: int
    break_from: int     # a break resets the locals of scopes from this depth on
    continue_from: int  # and a continue those from this depth on


def fold(expr: ir.Expr) -> ir.Expr:
    if isinstance(expr, Bin) and isinstance(expr.left, Lit) and isinstance(expr.right, Lit) \
            and expr.op in ("+", "-", "*"):
        return Lit(c_arith(expr.op, expr.left.value, expr.right.value), "int")
    return expr


def addr_add(a: ir.Expr, b: ir.Expr) -> ir.Expr:
    if isinstance(b, Lit) and b.value == 0:
        return a
    if isinstance(a, Lit) and a.value == 0:
        return b
    return fold(Bin("+", a, b, "int"))


def addr_mul(a: ir.Expr, k: int) -> ir.Expr:
    return a if k == 1 else fold(Bin("*", a, Lit(k, "int"), "int"))
