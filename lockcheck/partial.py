"""Partial evaluation of IR expressions over the slots whose values are known: what the
symbolic encoding uses to cut branches the values written on the way decide, and what
deadcode.py uses to find statements a spec's constants rule out."""
from __future__ import annotations

from . import ir

Known = dict[int, int]   # slot -> value; a slot absent is unknown


def _cdiv(a: int, b: int) -> int:
    """C division: towards zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _cmod(a: int, b: int) -> int:
    return a - b * _cdiv(a, b)


def peval(e: ir.Expr, known: Known) -> int | None:
    """The value of `e` if the known slots decide it, else None."""
    if isinstance(e, ir.Lit):
        return e.value
    if isinstance(e, ir.Var):
        return known.get(e.slot)
    if isinstance(e, ir.Load):
        addr = peval(e.addr, known)
        if addr is not None:
            return known.get(addr)
        values = {known.get(c) for c in e.candidates}   # every slot it may read holds one value
        return values.pop() if len(values) == 1 else None
    if isinstance(e, ir.Un):
        a = peval(e.arg, known)
        return None if a is None else (int(not a) if e.op == "!" else -a)
    if isinstance(e, ir.Ite):
        c = peval(e.cond, known)
        return None if c is None else peval(e.then if c else e.other, known)
    if isinstance(e, ir.Bin):
        a, b = peval(e.left, known), peval(e.right, known)
        if e.op == "&&" and (a == 0 or b == 0):   # one known side can decide it
            return 0
        if e.op == "||" and ((a is not None and a != 0) or (b is not None and b != 0)):
            return 1
        if e.op == "->" and (a == 0 or (b is not None and b != 0)):
            return 1
        if a is None or b is None:
            return None
        return _arith(e.op, a, b)
    return None


def _arith(op: str, a: int, b: int) -> int | None:
    if op in ("/", "%"):
        return None if b == 0 else (_cdiv(a, b) if op == "/" else _cmod(a, b))
    table = {"+": a + b, "-": a - b, "*": a * b, "==": int(a == b), "!=": int(a != b), "<": int(a < b),
             "<=": int(a <= b), ">": int(a > b), ">=": int(a >= b), "&&": int(bool(a) and bool(b)),
             "||": int(bool(a) or bool(b)), "->": int((not a) or bool(b))}
    return table.get(op)


def known_after(edge: ir.Edge, known: Known) -> Known:
    """The slots whose values are known after the edge, from the values known before it
    (all of its writes are computed in the state before it)."""
    values = [(w, peval(w.addr, known), peval(w.value, known)) for w in edge.writes]
    out = dict(known)
    for w, addr, value in values:
        if addr is not None and value is not None:
            out[addr] = value
        else:
            for c in w.candidates:
                out.pop(c, None)
    return out
