"""IR expressions evaluated over a whole block of states at once: each expression is
turned once into a flat postfix program (no Python source, no recursion, so an expression
of any size or depth evaluates), run over the rows of a state matrix."""
from __future__ import annotations

from typing import Union

from ... import ir
from .arrays import VALUE, Array, cells, get_cells, xp
from .groups import LitI, VarI

Value = Union[Array, int]

# opcodes of the postfix program
_LIT, _VAR, _LOAD, _UN, _BIN, _ITE, _VARI, _LITI = range(8)


class Rows:
    """A block of states (a row each) and the columns read from it so far, as 64-bit
    integers, so an edge's guard, checks and writes read each slot once."""

    def __init__(self, matrix: Array, inst: Array | None = None):
        """`inst`: for the rows of a thread group, the instance each row steps (VarI, LitI)."""
        self.matrix = matrix
        self.inst = inst
        self.count = matrix.shape[0]
        self.columns: dict[int, Array] = {}
        self.inst_columns: dict[int, Array] = {}
        self.masks: dict[int, Array] = {}
        self._index: Array | None = None

    def guard(self, expr: "ArrayExpr", negated: bool) -> Array:
        """A guard's value per row; the negation of one evaluated before reuses it."""
        key = id(expr)
        m = self.masks.get(key)
        if m is None:
            m = expr.mask(self)
            self.masks[key] = m
        return ~m if negated else m

    def column(self, slot: int) -> Array:
        col = self.columns.get(slot)
        if col is None:
            col = self.matrix[:, slot].astype(VALUE)
            self.columns[slot] = col
        return col

    def instance_column(self, slots: Array) -> Array:
        """s[slots[inst]] per row: the slot each row's instance reads."""
        col = self.inst_columns.get(id(slots))
        if col is None:
            if self._index is None:
                self._index = xp.arange(self.count)
            col = get_cells(self.matrix, cells(self.matrix, self._index, slots[self.inst])).astype(VALUE)
            self.inst_columns[id(slots)] = col
        return col

    def gather(self, addr: Value, safe: bool) -> Array:
        width = self.matrix.shape[1]
        if not isinstance(addr, xp.ndarray):
            return self.column(min(max(int(addr), 0), width - 1))
        if self._index is None:
            self._index = xp.arange(self.count)
        # an address out of the state can only be read where a check before it failed or a
        # branch not taken: any slot will do there
        at: Array = addr if safe else xp.minimum(xp.maximum(addr, 0), width - 1)
        return get_cells(self.matrix, cells(self.matrix, self._index, at)).astype(VALUE)


def _cdiv(a: Value, b: Value) -> Value:
    """C division (towards zero); a zero divisor gives 0 where a bounds check has failed."""
    safe = xp.where(xp.equal(b, 0), 1, b)
    q = xp.floor_divide(xp.abs(a), xp.abs(safe))
    return xp.where(xp.equal(xp.greater_equal(a, 0), xp.greater_equal(safe, 0)), q, -q)


def _cmod(a: Value, b: Value) -> Value:
    safe = xp.where(xp.equal(b, 0), 1, b)
    return a - safe * _cdiv(a, safe)


_BINARY = {
    "+": xp.add, "-": xp.subtract, "*": xp.multiply, "/": _cdiv, "%": _cmod,
    "==": xp.equal, "!=": xp.not_equal, "<": xp.less, "<=": xp.less_equal, ">": xp.greater,
    ">=": xp.greater_equal, "&&": xp.logical_and, "||": xp.logical_or,
    "->": lambda a, b: xp.logical_or(xp.logical_not(a), b),
}


def slot_ranges(model: ir.Model, width: int) -> list[tuple[int, int]]:
    """The values each column can hold (padding columns hold 0)."""
    out = []
    for s in model.slots:
        values = s.values or (s.low, s.high)
        out.append((min(values + (s.low,)), max(values + (s.high,))))
    for t in list(model.threads) + ([model.init_thread] if model.init_thread else []):
        low, high = out[t.pc_slot]
        out[t.pc_slot] = (min(low, 0), max(high, t.node_count))
    return out + [(0, 0)] * (width - len(out))


def _interval(e: ir.Expr, ranges: list[tuple[int, int]], budget: list[int]) -> tuple[int, int] | None:
    """Bounds on an address expression's value, or None when they are not easily known."""
    budget[0] -= 1
    if budget[0] < 0:
        return None
    if isinstance(e, ir.Lit):
        return e.value, e.value
    if isinstance(e, ir.Var):
        return ranges[e.slot] if e.slot < len(ranges) else None
    if isinstance(e, VarI):
        if any(s >= len(ranges) for s in e.slots):
            return None
        return min(ranges[s][0] for s in e.slots), max(ranges[s][1] for s in e.slots)
    if isinstance(e, LitI):
        return min(e.values), max(e.values)
    if isinstance(e, ir.Load):
        spans = [ranges[c] for c in e.candidates if c < len(ranges)]
        if not spans or len(spans) < len(e.candidates):
            return None
        return min(a for a, _ in spans), max(b for _, b in spans)
    if isinstance(e, ir.Bin) and e.op in ("+", "-", "*"):
        a, b = _interval(e.left, ranges, budget), _interval(e.right, ranges, budget)
        if a is None or b is None:
            return None
        if e.op == "+":
            return a[0] + b[0], a[1] + b[1]
        if e.op == "-":
            return a[0] - b[1], a[1] - b[0]
        products = [x * y for x in a for y in b]
        return min(products), max(products)
    if isinstance(e, ir.Ite):
        a, b = _interval(e.then, ranges, budget), _interval(e.other, ranges, budget)
        if a is None or b is None:
            return None
        return min(a[0], b[0]), max(a[1], b[1])
    return None


def _inside(addr: ir.Expr, ranges: list[tuple[int, int]] | None) -> bool:
    """Whether an address always falls inside the state, whatever values its slots hold."""
    if ranges is None:
        return False
    bounds = _interval(addr, ranges, [64])
    return bounds is not None and 0 <= bounds[0] and bounds[1] < len(ranges)


def _flatten(e: ir.Bin) -> list[ir.Expr]:
    """The operands of a chain of one associative operator (a && b && c ...), in order."""
    out: list[ir.Expr] = []
    stack: list[ir.Expr] = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, ir.Bin) and x.op == e.op:
            stack += [x.right, x.left]
        else:
            out.append(x)
    return out


class ArrayExpr:
    """One expression as a postfix program; calling it on Rows gives a value per row (or
    one scalar when the expression reads no state)."""

    def __init__(self, expr: ir.Expr, ranges: list[tuple[int, int]] | None = None, address: bool = False):
        """`ranges`: the values each slot can hold, to tell which dynamic addresses always
        fall inside the state (`address`: this expression is one, of a store)."""
        self.code: list[tuple[int, object]] = []
        tasks: list[tuple[bool, object]] = [(False, expr)]   # (is an instruction, payload)
        while tasks:
            is_code, item = tasks.pop()
            if is_code:
                self.code.append(item)  # type: ignore[arg-type]
                continue
            e = item
            if isinstance(e, ir.Lit):
                self.code.append((_LIT, int(e.value)))
            elif isinstance(e, ir.Var):
                self.code.append((_VAR, e.slot))
            elif isinstance(e, ir.Load):
                tasks += [(True, (_LOAD, _inside(e.addr, ranges))), (False, e.addr)]
            elif isinstance(e, ir.Un):
                tasks += [(True, (_UN, e.op)), (False, e.arg)]
            elif isinstance(e, ir.Bin):
                fn = _BINARY[e.op]
                operands = _flatten(e) if e.op in ("&&", "||", "+") else [e.left, e.right]
                later: list[tuple[bool, object]] = []
                for x in operands[1:]:
                    later += [(False, x), (True, (_BIN, fn))]
                tasks += list(reversed(later)) + [(False, operands[0])]
            elif isinstance(e, ir.Ite):
                tasks += [(True, (_ITE, None)), (False, e.other), (False, e.then), (False, e.cond)]
            elif isinstance(e, VarI):
                self.code.append((_VARI, xp.asarray(e.slots, dtype=xp.int64)))
            elif isinstance(e, LitI):
                self.code.append((_LITI, xp.asarray(e.values, dtype=VALUE)))
            else:  # pragma: no cover
                raise AssertionError(e)
        self.constant = all(op == _LIT for op, _ in self.code)
        self.const = int(self(Rows(xp.zeros((1, 0), dtype=VALUE)))) if self.constant else 0
        self.safe = address and _inside(expr, ranges)

    def __call__(self, rows: Rows) -> Value:
        stack: list[Value] = []
        push, pop = stack.append, stack.pop
        for op, arg in self.code:
            if op == _VAR:
                push(rows.column(arg))  # type: ignore[arg-type]
            elif op == _LIT:
                push(arg)  # type: ignore[arg-type]
            elif op == _BIN:
                b = pop()
                push(arg(pop(), b))  # type: ignore[operator]
            elif op == _UN:
                a = pop()
                push(xp.logical_not(a) if arg == "!" else xp.negative(a))
            elif op == _LOAD:
                push(rows.gather(pop(), arg))  # type: ignore[arg-type]
            elif op == _VARI:
                push(rows.instance_column(arg))  # type: ignore[arg-type]
            elif op == _LITI:
                push(arg[rows.inst])  # type: ignore[index]
            else:
                other, then, cond = pop(), pop(), pop()
                push(xp.where(cond, then, other))
        return stack[0]

    def mask(self, rows: Rows) -> Array:
        """The value as a boolean per row."""
        v = self(rows)
        if isinstance(v, xp.ndarray) and v.shape == (rows.count,):
            return v.astype(bool, copy=False)
        return xp.full(rows.count, bool(v))

    def values(self, rows: Rows) -> Array:
        v = self(rows)
        if isinstance(v, xp.ndarray) and v.shape == (rows.count,):
            return v
        return xp.full(rows.count, int(v), dtype=VALUE)

    def scalar(self, state: tuple) -> int:
        """The value in one state (replay, tools)."""
        matrix = xp.asarray([state], dtype=VALUE)
        return int(self.values(Rows(matrix))[0])
