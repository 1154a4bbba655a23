"""Syntax -> IR: type-checks statements and expressions while it inlines every call and
turns each thread into a graph of atomic steps over the flat state vector."""
from __future__ import annotations

from dataclasses import dataclass, field

from . import ir
from . import syntax as s
from .errors import Note, Sources, SpecError, did_you_mean
from .ir import FALSE, TRUE, Bin, Check, Edge, Ite, Lit, Load, Un, Var, Write, conj, implies, negate
from .parser import KEYWORDS
from .limits import MAX_STEPS
from .resolve import (MAX_SLOTS, Env, build_env, c_arith, const_int, count_quantified, default_values,
                      resolve_type)
from .source import Span
from .lktypes import ANY_INT, ArrayT, BoolT, EnumT, IntT, LockT, StructT, Type, is_scalar, same_kind, size_of

BUILTIN_PROPERTIES = {
    "deadlock": "some thread has not finished and none can move",
    "lock_order": "two locks are taken in both orders (a potential ABBA deadlock)",
    "double_acquire": "a thread acquires a lock it already holds",
    "release_unheld": "a thread releases a lock it does not hold",
    "sleep_under_spinlock": "a thread sleeps (acquires a sleeping lock or awaits) holding a spinlock",
    "exit_holding_lock": "a thread ends holding a lock",
    "bounds": "an int leaves its range, an index leaves its array, or a division by zero",
    "assertion": "an assert without a label fails",
}


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


def _fold(expr: ir.Expr) -> ir.Expr:
    if isinstance(expr, Bin) and isinstance(expr.left, Lit) and isinstance(expr.right, Lit) \
            and expr.op in ("+", "-", "*"):
        return Lit(c_arith(expr.op, expr.left.value, expr.right.value), "int")
    return expr


def _add(a: ir.Expr, b: ir.Expr) -> ir.Expr:
    if isinstance(b, Lit) and b.value == 0:
        return a
    if isinstance(a, Lit) and a.value == 0:
        return b
    return _fold(Bin("+", a, b, "int"))


def _mul(a: ir.Expr, k: int) -> ir.Expr:
    return a if k == 1 else _fold(Bin("*", a, Lit(k, "int"), "int"))


class BodyLowering:
    """Lowers one thread instance (or the init block): every call inlined, own pc and locals."""

    def __init__(self, builder: "ModelBuilder", index: int, name: str, self_value: int, self_type: IntT,
                 is_init: bool = False, expr_only: bool = False):
        self.b = builder
        self.env = builder.env
        self.index = index
        self.name = name
        self.me: int | None = None if expr_only else index + 1
        self.is_init = is_init
        self.self_binding = ConstBinding(self_value, self_type)
        self.pc_slot = -1 if expr_only else builder.new_slot(
            ir.Slot(f"{name}.pc", "pc", 0, 0, thread=index, visible=False))
        self.local_slots: list[int] = []
        self.nodes = 0
        self.atomic_depth = 1 if is_init else 0
        self.atomic_nodes: set[int] = set()
        self.node_text: dict[int, tuple[str, Span]] = {}
        self.scopes: list[dict[str, tuple[Binding | Place, list[int]]]] = []
        self.scope_locals: list[list[int]] = []
        self.frames: list[Frame] = []
        self.loops: list[Loop] = []
        self.context: list[str] = []
        self.path: list[ir.Expr] = []
        self.obligations: list[tuple[ir.Expr, str, Span]] = []
        self.edge_ids: list[int] = []

    # ---- nodes, slots and edges ----
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
        mine = self.my_locals
        reads: set[int] = set()
        for e in ([guard] if guard is not None else []) + [w.value for w in writes] + [w.addr for w in writes]:
            reads |= ir.slots_read(e)
        if shown:
            for c in checks:
                reads |= ir.slots_read(c.cond)
        targets = {c for w in writes for c in w.candidates}
        local = not force_step and reads <= mine and targets <= mine
        # names a trace shows by their value: references (p -> pages[1]) and the hidden
        # values of parameters and loop counters (i -> 1)
        refs: dict[str, int] = {}
        for scope in (self.scopes if names_from is None else names_from):
            for name, (binding, _) in scope.items():
                if isinstance(binding, RefBinding) or (
                        isinstance(binding, ValueBinding) and binding.slot in self.local_slots
                        and not self.b.slots[binding.slot].visible):
                    refs[name] = binding.slot  # type: ignore[union-attr]
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

    def _contextual(self, text: str) -> str:
        return f"{self.context[-1]}: {text}" if self.context else text

    # ---- obligations (bounds) gathered while lowering an expression ----
    def oblige(self, cond: ir.Expr, message: str, span: Span) -> None:
        self.obligations.append((implies(conj(list(self.path)), cond), message, span))

    def take_obligations(self, when: str) -> list[Check]:
        out = [Check("bounds", c, m, sp, when) for c, m, sp in self.obligations if c != TRUE]
        self.obligations = []
        return out

    # ---- scopes ----
    def lookup(self, name: str, span: Span) -> Binding | Place:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name][0]
        env = self.env
        if name in env.consts:
            c = env.consts[name]
            return ConstBinding(c.value, c.type)
        if name in env.enum_members:
            enum, index = env.enum_members[name]
            return ConstBinding(index, enum)
        if name in env.globals:
            g = env.globals[name]
            if is_scalar(g.type):
                return ValueBinding(g.base, g.type)
            return Place(Lit(g.base, "int"), g.type, (g.base,))
        visible = {n for scope in self.scopes for n in scope} | set(env.consts) | set(env.enum_members) \
            | set(env.globals)
        extra = ""
        if name in env.procs:
            extra = f" ('{name}' is a proc: call it as a statement)"
        raise SpecError(f"unknown name '{name}'{did_you_mean(name, visible)}{extra}", span)

    def bind(self, name: str, binding: Binding | Place, span: Span) -> None:
        if name in KEYWORDS:
            raise SpecError(f"'{name}' is a keyword and cannot be a name", span)
        if name in self.scopes[-1]:
            raise SpecError(f"'{name}' is already declared in this block", span)
        self.scopes[-1][name] = (binding, [])

    # ---- expressions ----
    def place(self, e: s.Expr) -> Place:
        if isinstance(e, s.Name):
            b = self.lookup(e.name, e.span)
            if isinstance(b, Place):
                return b
            if isinstance(b, RefBinding):
                return Place(Var(b.slot, "int"), b.type, b.candidates)
            if isinstance(b, ValueBinding):
                return Place(Lit(b.slot, "int"), b.type, (b.slot,))
            raise SpecError(f"'{e.name}' is a constant, not a variable", e.span)
        if isinstance(e, s.Field):
            base = self.place(e.base)
            if not isinstance(base.type, StructT):
                raise SpecError(f"{base.type} has no fields ('.{e.name}')", e.span)
            f = base.type.field(e.name)
            if f is None:
                names = {x.name for x in base.type.fields}
                raise SpecError(f"struct {base.type.name} has no field '{e.name}'{did_you_mean(e.name, names)}",
                                e.span)
            off = self.offset_of(base.type, e.name)
            return Place(_add(base.addr, Lit(off, "int")), f.type, tuple(c + off for c in base.candidates))
        if isinstance(e, s.Index):
            base = self.place(e.base)
            if not isinstance(base.type, ArrayT):
                raise SpecError(f"{base.type} is not an array", e.base.span)
            idx, itype = self.expr(e.index)
            if not isinstance(itype, IntT):
                raise SpecError(f"an index must be an integer, not {itype}", e.index.span)
            size = base.type.size
            stride = size_of(base.type.elem, self.env.nthreads)
            if isinstance(idx, Lit):
                if not 0 <= idx.value < size:
                    raise SpecError(f"index {idx.value} is outside 0..{size - 1}", e.index.span)
                ks: range | list[int] = [idx.value]
            else:
                self.oblige(Bin("&&", Bin(">=", idx, Lit(0, "int"), "bool"),
                                Bin("<", idx, Lit(size, "int"), "bool"), "bool"),
                            f"index out of bounds 0..{size - 1}", e.index.span)
                ks = range(size)
            addr = _add(base.addr, _mul(idx, stride))
            cands = tuple(sorted({c + k * stride for c in base.candidates for k in ks}))
            return Place(addr, base.type.elem, cands)
        raise SpecError("expected a variable, a field or an array element here", e.span)

    def offset_of(self, struct: StructT, name: str) -> int:
        off = 0
        for f in struct.fields:
            if f.name == name:
                return off
            off += size_of(f.type, self.env.nthreads)
        raise AssertionError(name)

    def read(self, p: Place) -> ir.Expr:
        sort = "bool" if isinstance(p.type, BoolT) else "int"
        if isinstance(p.addr, Lit):
            return Var(p.addr.value, sort)
        return Load(p.addr, p.candidates, sort)

    def expr(self, e: s.Expr) -> tuple[ir.Expr, Type]:
        if isinstance(e, s.Number):
            return Lit(e.value, "int"), IntT(e.value, e.value)
        if isinstance(e, s.BoolLit):
            return (TRUE if e.value else FALSE), BoolT()
        if isinstance(e, s.SelfRef):
            if self.is_init:
                raise SpecError("'self' is only meaningful inside a thread", e.span)
            return Lit(self.self_binding.value, "int"), self.self_binding.type
        if isinstance(e, s.ResultRef):
            frame = self.frames[-1] if self.frames else None
            if frame is None or frame.result_slot is None or not self.in_ensures:
                raise SpecError("'result' is only meaningful in the ensures of a proc with a result", e.span)
            assert frame.result_type is not None
            return Var(frame.result_slot, "bool" if isinstance(frame.result_type, BoolT) else "int"), \
                frame.result_type
        if isinstance(e, s.Name):
            b = self.lookup(e.name, e.span)
            if isinstance(b, ConstBinding):
                return Lit(b.value, "bool" if isinstance(b.type, BoolT) else "int"), b.type
            if isinstance(b, ValueBinding):
                return Var(b.slot, "bool" if isinstance(b.type, BoolT) else "int"), b.type
        if isinstance(e, (s.Name, s.Field, s.Index)):
            p = self.place(e)
            if not is_scalar(p.type):
                raise SpecError(f"a {p.type} is not a value here", e.span)
            return self.read(p), p.type
        if isinstance(e, s.Unary):
            arg, t = self.expr(e.arg)
            if e.op == "!":
                self.want_bool(t, e.arg)
                return Un("!", arg, "bool"), BoolT()
            self.want_int(t, e.arg)
            if isinstance(arg, Lit):
                return Lit(-arg.value, "int"), IntT(-arg.value, -arg.value)
            return Un("-", arg, "int"), ANY_INT
        if isinstance(e, s.Binary):
            return self.binary(e)
        if isinstance(e, s.Cond):
            test, tt = self.expr(e.test)
            self.want_bool(tt, e.test)
            self.path.append(test)
            then, t1 = self.expr(e.then)
            self.path[-1] = negate(test)
            other, t2 = self.expr(e.other)
            self.path.pop()
            if not same_kind(t1, t2):
                raise SpecError(f"the two sides of '?:' differ: {t1} and {t2}", e.span)
            rtype = ANY_INT if isinstance(t1, IntT) else t1
            return Ite(test, then, other, then.sort), rtype
        if isinstance(e, s.Quantifier):
            return self.quantifier(e)
        if isinstance(e, s.LockQuery):
            return self.lock_query(e), BoolT()
        if isinstance(e, s.Range):
            raise SpecError("a range is only allowed after 'in'", e.span)
        raise SpecError("unexpected expression", e.span)

    def binary(self, e: s.Binary) -> tuple[ir.Expr, Type]:
        op = e.op
        left, lt = self.expr(e.left)
        if op in ("&&", "||", "->"):
            self.want_bool(lt, e.left)
            self.path.append(negate(left) if op == "||" else left)
            right, rt = self.expr(e.right)
            self.path.pop()
            self.want_bool(rt, e.right)
            return Bin(op, left, right, "bool"), BoolT()
        right, rt = self.expr(e.right)
        if op in ("+", "-", "*", "/", "%"):
            self.want_int(lt, e.left)
            self.want_int(rt, e.right)
            if op in ("/", "%"):
                if isinstance(right, Lit) and right.value == 0:
                    raise SpecError("division by zero", e.right.span)
                if not isinstance(right, Lit):
                    self.oblige(Bin("!=", right, Lit(0, "int"), "bool"), "division by zero", e.right.span)
            if isinstance(left, Lit) and isinstance(right, Lit):
                v = c_arith(op, left.value, right.value)
                return Lit(v, "int"), IntT(v, v)
            return Bin(op, left, right, "int"), ANY_INT
        if op in ("<", "<=", ">", ">="):
            self.want_int(lt, e.left)
            self.want_int(rt, e.right)
            return Bin(op, left, right, "bool"), BoolT()
        if not same_kind(lt, rt):
            raise SpecError(f"cannot compare {lt} with {rt}", e.span)
        return Bin(op, left, right, "bool"), BoolT()

    def quantifier(self, e: s.Quantifier) -> tuple[ir.Expr, Type]:
        bindings: list[Binding] = []
        if isinstance(e.domain, s.Range):
            low = const_int(self.env, e.domain.low, "a quantifier bound")
            high = const_int(self.env, e.domain.high, "a quantifier bound")
            count_quantified(self.env, high - low + 1, e.span)
            bindings = [ConstBinding(v, IntT(low, high)) for v in range(low, high + 1)]
        else:
            arr = self.place(e.domain)
            if not isinstance(arr.type, ArrayT):
                raise SpecError(f"'{e.kind}' ranges over an array or a range lo..hi, not {arr.type}", e.domain.span)
            stride = size_of(arr.type.elem, self.env.nthreads)
            count_quantified(self.env, arr.type.size, e.span)
            for k in range(arr.type.size):
                addr = _add(arr.addr, Lit(k * stride, "int"))
                bindings.append(self.element_binding(addr, arr.type.elem, tuple(c + k * stride for c in arr.candidates)))
        parts: list[ir.Expr] = []
        pushed = 0
        for binding in bindings:
            self.scopes.append({e.var: (binding, [])})
            body, bt = self.expr(e.body)
            self.scopes.pop()
            self.want_bool(bt, e.body)
            parts.append(body if e.kind == "forall" else negate(body))
            self.path.append(parts[-1])
            pushed += 1
        del self.path[len(self.path) - pushed:]
        whole = conj(parts)
        return (whole if e.kind == "forall" else negate(whole)), BoolT()

    def element_binding(self, addr: ir.Expr, elem: Type, cands: tuple[int, ...]) -> Binding | Place:
        """A quantifier's name for an array element."""
        if isinstance(addr, Lit) and is_scalar(elem):
            return ValueBinding(addr.value, elem)
        return Place(addr, elem, cands)

    def lock_query(self, e: s.LockQuery) -> ir.Expr:
        p = self.lock_place(e.lock)
        if e.kind == "held":
            if self.is_init or self.me is None:
                raise SpecError("held() needs a thread; in an invariant use locked()", e.span)
            return self.held_by(p, self.me)
        kind = p.type.kind  # type: ignore[union-attr]
        if kind == "rwlock":
            parts = [Bin("!=", self.read_slot(p, 0), Lit(0, "int"), "bool")] + \
                [self.read_slot(p, 1 + t, "bool") for t in range(self.env.nthreads)]
            out = parts[0]
            for x in parts[1:]:
                out = Bin("||", out, x, "bool")
            return out
        return Bin("!=", self.read_slot(p, 0), Lit(0, "int"), "bool")

    def held_by(self, p: Place, me: int) -> ir.Expr:
        writer = Bin("==", self.read_slot(p, 0), Lit(me, "int"), "bool")
        if p.type.kind == "rwlock":  # type: ignore[union-attr]
            return Bin("||", writer, self.read_slot(p, me, "bool"), "bool")
        return writer

    def read_slot(self, p: Place, offset: int, sort: ir.Sort = "int") -> ir.Expr:
        addr = _add(p.addr, Lit(offset, "int"))
        if isinstance(addr, Lit):
            return Var(addr.value, sort)
        return Load(addr, tuple(c + offset for c in p.candidates), sort)

    def lock_place(self, e: s.Expr) -> Place:
        p = self.place(e)
        if not isinstance(p.type, LockT):
            raise SpecError(f"expected a lock here, not {p.type}", e.span)
        return p

    def want_bool(self, t: Type, e: s.Expr) -> None:
        if not isinstance(t, BoolT):
            raise SpecError(f"expected a bool here, not {t}", e.span)

    def want_int(self, t: Type, e: s.Expr) -> None:
        if not isinstance(t, IntT):
            raise SpecError(f"expected an integer here, not {t}", e.span)

    in_ensures = False

    # ---- condition lowering for statements ----
    def condition(self, e: s.Expr) -> tuple[ir.Expr, list[Check]]:
        cond, t = self.expr(e)
        self.want_bool(t, e)
        return cond, self.take_obligations("attempt")

    def store(self, target: s.Expr, value: ir.Expr, vtype: Type, span: Span) -> tuple[Write, list[Check]]:
        p = self.place(target)
        if not is_scalar(p.type):
            raise SpecError(f"cannot assign to a {p.type}", target.span)
        if not same_kind(p.type, vtype):
            raise SpecError(f"cannot assign a {vtype} to a {p.type}", span)
        checks = self.take_obligations("exec")
        checks += self.range_checks(p.type, value, vtype, span)
        return Write(p.addr, value, p.candidates), checks

    def range_checks(self, target: Type, value: ir.Expr, vtype: Type, span: Span) -> list[Check]:
        if not isinstance(target, IntT) or not isinstance(vtype, IntT):
            return []
        if target.low <= vtype.low and vtype.high <= target.high:
            return []
        cond = Bin("&&", Bin(">=", value, Lit(target.low, "int"), "bool"),
                   Bin("<=", value, Lit(target.high, "int"), "bool"), "bool")
        if isinstance(value, Lit) and not target.low <= value.value <= target.high:
            raise SpecError(f"{value.value} is outside {target}", span)
        return [Check("bounds", cond, f"value outside {target}", span, "exec")]

    def spin_free(self, span: Span, what: str) -> list[Check]:
        spins = [lk for lk in self.b.locks if lk.kind == "spinlock"]
        if not spins:
            return []
        cond = conj([Bin("!=", Var(lk.slot, "int"), Lit(self.me, "int"), "bool") for lk in spins])
        return [Check("sleep_under_spinlock", cond, f"{what} while holding a spinlock", span, "attempt")]

    # ---- statements ----
    def block(self, blk: s.Block, src: int) -> int:
        self.scopes.append({})
        self.scope_locals.append([])
        node = src
        for st in blk.body:
            node = self.stmt(st, node)
        declared = self.scope_locals.pop()
        self.scopes.pop()
        if declared:
            after = self.new_node()
            self.edge(node, after, text="}", span=blk.span, writes=self.resets(declared), shown=False)
            node = after
        return node

    def resets(self, slots: list[int]) -> list[Write]:
        return [Write(Lit(x, "int"), Lit(self.b.initial[x], self.b.slots[x].sort), (x,)) for x in slots]

    def stmt(self, st: s.Stmt, src: int) -> int:
        method = getattr(self, "stmt_" + type(st).__name__)
        return method(st, src)

    def stmt_Block(self, st: s.Block, src: int) -> int:
        return self.block(st, src)

    def stmt_Skip(self, st: s.Skip, src: int) -> int:
        dst = self.new_node()
        self.edge(src, dst, text="skip", span=st.span, force_step=True)
        return dst

    def stmt_LocalDecl(self, st: s.LocalDecl, src: int) -> int:
        type_ = resolve_type(self.env, st.type)
        if not is_scalar(type_):
            raise SpecError(f"a local variable must be bool, int or an enum, not {type_}", st.type.span)
        slot = self.new_local(st.name, type_, visible=True)
        target = s.Name(st.span, st.name)
        if st.init is None:
            self.bind(st.name, ValueBinding(slot, type_), st.span)
            dst = self.new_node()
            self.edge(src, dst, text=st.text, span=st.span, writes=self.resets([slot]), shown=False)
            return dst
        # the initialiser is evaluated before the name exists
        dst = self.assign_rhs(target, st.init, src, st, bind=(st.name, ValueBinding(slot, type_)))
        return dst

    def stmt_Assign(self, st: s.Assign, src: int) -> int:
        return self.assign_rhs(st.target, st.value, src, st)

    def assign_rhs(self, target: s.Expr, rhs: s.Rhs, src: int, st: s.Stmt,
                   bind: tuple[str, Binding] | None = None) -> int:
        def declare() -> None:
            if bind is not None:
                self.bind(bind[0], bind[1], st.span)

        if isinstance(rhs, s.Call):
            proc = self.env.procs.get(rhs.name)
            if proc is not None and proc.result is None:
                raise SpecError(f"proc '{rhs.name}' returns no result", rhs.span)
            declare()
            return self.call(rhs, src, target, st)
        if isinstance(rhs, s.TryAcquire):
            declare()
            return self.try_acquire(rhs, target, src, st)
        value, vtype = self.expr(rhs)
        pre = self.take_obligations("exec")
        declare()
        write, checks = self.store(target, value, vtype, st.span)
        dst = self.new_node()
        self.edge(src, dst, text=st.text, span=st.span, writes=[write], checks=pre + checks)
        return dst

    def try_acquire(self, rhs: s.TryAcquire, target: s.Expr, src: int, st: s.Stmt) -> int:
        p = self.lock_place(rhs.lock)
        pre = self.take_obligations("attempt")
        free = self.lock_free_cond(p)
        w_true, c1 = self.store(target, TRUE, BoolT(), st.span)
        w_false, _ = self.store(target, FALSE, BoolT(), st.span)
        dst = self.new_node()
        self.edge(src, dst, text=st.text, span=st.span, guard=free, checks=pre + c1, force_step=True,
                  writes=[w_true, self.lock_write(p, self.me)], branch="got it")
        self.edge(src, dst, text=st.text, span=st.span, guard=negate(free), checks=pre + c1, force_step=True,
                  writes=[w_false], branch="busy")
        return dst

    def lock_free_cond(self, p: Place) -> ir.Expr:
        writer_free = Bin("==", self.read_slot(p, 0), Lit(0, "int"), "bool")
        if p.type.kind != "rwlock":  # type: ignore[union-attr]
            return writer_free
        readers = [negate(self.read_slot(p, 1 + t, "bool")) for t in range(self.env.nthreads)]
        return conj([writer_free] + readers)

    def lock_write(self, p: Place, value: int, offset: int = 0) -> Write:
        addr = _add(p.addr, Lit(offset, "int"))
        sort: ir.Sort = "bool" if offset else "int"
        return Write(addr, Lit(value, sort), tuple(c + offset for c in p.candidates))

    def stmt_LockStmt(self, st: s.LockStmt, src: int) -> int:
        if self.is_init:
            raise SpecError("locks cannot be used in an init block", st.span)
        p = self.lock_place(st.lock)
        kind = p.type.kind  # type: ignore[union-attr]
        pre = self.take_obligations("attempt")
        dst = self.new_node()
        name = "acquire" if st.op in ("acquire", "acquire_read") else "release"
        if st.op.endswith("_read") and kind != "rwlock":
            raise SpecError(f"{st.op} needs an rwlock, not a {kind}", st.span)
        mine = self.held_by(p, self.me)
        if name == "acquire":
            checks = pre + [Check("double_acquire", negate(mine), "acquires a lock it already holds", st.span,
                                  "attempt")]
            if kind != "spinlock":
                checks += self.spin_free(st.span, f"{st.op} of a sleeping lock")
            if st.op == "acquire_read":
                guard = Bin("==", self.read_slot(p, 0), Lit(0, "int"), "bool")
                write = self.lock_write(p, 1, self.me)
            else:
                guard = self.lock_free_cond(p)
                write = self.lock_write(p, self.me)
            self.edge(src, dst, text=st.text, span=st.span, guard=guard, checks=checks, writes=[write],
                      force_step=True, acquires=p.addr)
            return dst
        if st.op == "release_read":
            held = self.read_slot(p, self.me, "bool")
            write = self.lock_write(p, 0, self.me)
        else:
            held = Bin("==", self.read_slot(p, 0), Lit(self.me, "int"), "bool")
            write = self.lock_write(p, 0)
        checks = pre + [Check("release_unheld", held, f"{st.op} of a lock this thread does not hold", st.span,
                              "exec")]
        self.edge(src, dst, text=st.text, span=st.span, checks=checks, writes=[write], force_step=True)
        return dst

    def stmt_Await(self, st: s.Await, src: int) -> int:
        cond, checks = self.condition(st.cond)
        dst = self.new_node()
        self.edge(src, dst, text=st.text, span=st.span, guard=cond,
                  checks=checks + self.spin_free(st.span, "await"), force_step=True)
        return dst

    def stmt_Assert(self, st: s.Assert, src: int) -> int:
        cond, t = self.expr(st.cond)
        self.want_bool(t, st.cond)
        prop = st.label or "assertion"
        self.b.note_assertion(prop, st)
        message = st.message or f"assert {self.b.text_of(st.cond)}"
        checks = self.take_obligations("exec") + [Check(prop, cond, message, st.span, "exec")]
        dst = self.new_node()
        self.edge(src, dst, text=st.text, span=st.span, checks=checks)
        return dst

    def stmt_If(self, st: s.If, src: int) -> int:
        cond, checks = self.condition(st.cond)
        then_entry, else_entry = self.new_node(), self.new_node()
        self.edge(src, then_entry, text=st.text, span=st.span, guard=cond, checks=checks, branch="true")
        self.edge(src, else_entry, text=st.text, span=st.span, guard=negate(cond), checks=checks, branch="false")
        then_end = self.block(st.then, then_entry)
        else_end = self.stmt(st.other, else_entry) if st.other is not None else else_entry
        dst = self.new_node()
        self.edge(then_end, dst, text="}", span=st.span, shown=False)
        self.edge(else_end, dst, text="}", span=st.span, shown=False)
        return dst

    def stmt_While(self, st: s.While, src: int) -> int:
        cond, checks = self.condition(st.cond)
        body_entry, exit_ = self.new_node(), self.new_node()
        self.edge(src, body_entry, text=st.text, span=st.span, guard=cond, checks=checks, branch="true")
        self.edge(src, exit_, text=st.text, span=st.span, guard=negate(cond), checks=checks, branch="false")
        self.loops.append(Loop(exit_, src, len(self.scope_locals), len(self.scope_locals)))
        end = self.block(st.body, body_entry)
        self.loops.pop()
        self.edge(end, src, text="}", span=st.span, shown=False)
        return exit_

    def stmt_For(self, st: s.For, src: int) -> int:
        self.scopes.append({})
        self.scope_locals.append([])
        if isinstance(st.domain, s.Range):
            low = const_int(self.env, st.domain.low, "a loop bound")
            high = const_int(self.env, st.domain.high, "a loop bound")
            if low > high:
                self.scope_locals.pop()
                self.scopes.pop()
                return src
            var = self.new_local(st.var, IntT(low, high), visible=False)
            self.bind(st.var, ValueBinding(var, IntT(low, high)), st.span)
            counter = var
            first = [Write(Lit(var, "int"), Lit(low, "int"), (var,))]
            step = [Write(Lit(var, "int"), Bin("+", Var(var, "int"), Lit(1, "int"), "int"), (var,))]
            last = Lit(high, "int")
        else:
            arr = self.place(st.domain)
            if not isinstance(arr.type, ArrayT):
                raise SpecError(f"'for' runs over an array or a range lo..hi, not {arr.type}", st.domain.span)
            size, elem = arr.type.size, arr.type.elem
            stride = size_of(elem, self.env.nthreads)
            counter = self.new_local(f"{st.var}#", IntT(0, size - 1), visible=False)
            cands = tuple(sorted({c + k * stride for c in arr.candidates for k in range(size)}))
            ref = self.new_local(st.var, elem, visible=False, values=cands)
            self.bind(st.var, RefBinding(ref, elem, cands), st.span)
            def elem_addr(k: ir.Expr) -> ir.Expr:
                return _add(arr.addr, _mul(k, stride))
            first = [Write(Lit(counter, "int"), Lit(0, "int"), (counter,)),
                     Write(Lit(ref, "int"), elem_addr(Lit(0, "int")), (ref,))]
            nxt = Bin("+", Var(counter, "int"), Lit(1, "int"), "int")
            step = [Write(Lit(counter, "int"), nxt, (counter,)), Write(Lit(ref, "int"), elem_addr(nxt), (ref,))]
            last = Lit(size - 1, "int")
        loop_slots = list(self.scope_locals[-1])
        body_entry, next_, exit_ = self.new_node(), self.new_node(), self.new_node()
        self.edge(src, body_entry, text=st.text, span=st.span, writes=first, shown=False)
        self.loops.append(Loop(exit_, next_, len(self.scope_locals) - 1, len(self.scope_locals)))
        end = self.block(st.body, body_entry)
        self.loops.pop()
        self.edge(end, next_, text="}", span=st.span, shown=False)
        more = Bin("<", Var(counter, "int"), last, "bool")
        self.edge(next_, body_entry, text=st.text, span=st.span, guard=more, writes=step, shown=False)
        self.edge(next_, exit_, text=st.text, span=st.span, guard=negate(more), writes=self.resets(loop_slots),
                  shown=False)
        self.scope_locals.pop()
        self.scopes.pop()
        return exit_

    def stmt_Break(self, st: s.Break, src: int) -> int:
        if not self.loops:
            raise SpecError("'break' outside a loop", st.span)
        loop = self.loops[-1]
        self.edge(src, loop.break_to, text="break", span=st.span, shown=False,
                  writes=self.resets(self.locals_from(loop.break_from)))
        return self.new_node()

    def stmt_Continue(self, st: s.Continue, src: int) -> int:
        if not self.loops:
            raise SpecError("'continue' outside a loop", st.span)
        loop = self.loops[-1]
        self.edge(src, loop.continue_to, text="continue", span=st.span, shown=False,
                  writes=self.resets(self.locals_from(loop.continue_from)))
        return self.new_node()

    def locals_from(self, depth: int) -> list[int]:
        return [x for scope in self.scope_locals[depth:] for x in scope]

    def stmt_Return(self, st: s.Return, src: int) -> int:
        if not self.frames:
            if st.value is not None:
                raise SpecError("a thread returns no value", st.value.span)
            self.edge(src, self.thread_exit, text="return", span=st.span, shown=False)
            return self.new_node()
        frame = self.frames[-1]
        writes: list[Write] = []
        checks: list[Check] = []
        if st.value is not None:
            if frame.result_slot is None:
                raise SpecError(f"proc '{frame.proc.name}' returns no result", st.value.span)
            value, vtype = self.expr(st.value)
            assert frame.result_type is not None
            if not same_kind(frame.result_type, vtype):
                raise SpecError(f"returns a {vtype}, but '{frame.proc.name}' returns {frame.result_type}", st.span)
            checks = self.take_obligations("exec") + self.range_checks(frame.result_type, value, vtype, st.span)
            writes.append(Write(Lit(frame.result_slot, "int"), value, (frame.result_slot,)))
        elif frame.result_slot is not None:
            raise SpecError(f"proc '{frame.proc.name}' must return a {frame.result_type}", st.span)
        self.edge(src, frame.exit, text=st.text, span=st.span, writes=writes, checks=checks)
        return self.new_node()

    def stmt_Choose(self, st: s.Choose, src: int) -> int:
        dst = self.new_node()
        for i, branch in enumerate(st.branches):
            entry = self.new_node()
            self.edge(src, entry, text="choose", span=branch.span, force_step=True,
                      branch=f"branch {i + 1} of {len(st.branches)}")
            end = self.block(branch, entry)
            self.edge(end, dst, text="}", span=branch.span, shown=False)
        return dst

    def stmt_Atomic(self, st: s.Atomic, src: int) -> int:
        self.atomic_depth += 1
        entry = self.new_node()
        self.atomic_depth -= 1
        self.edge(src, entry, text="atomic {", span=st.span, force_step=True)
        self.atomic_depth += 1
        end = self.block(st.body, entry)
        self.atomic_depth -= 1
        dst = self.new_node()
        self.edge(end, dst, text="}", span=st.span, shown=False)
        return dst

    def stmt_CallStmt(self, st: s.CallStmt, src: int) -> int:
        return self.call(st.call, src, None, st)

    # ---- calls ----
    def call(self, c: s.Call, src: int, target: s.Expr | None, st: s.Stmt) -> int:
        proc = self.env.procs.get(c.name)
        if proc is None:
            known = set(self.env.procs)
            hint = " (try_acquire, acquire and release are statements)" if c.name in (
                "try_acquire", "acquire", "release") else ""
            raise SpecError(f"unknown proc '{c.name}'{did_you_mean(c.name, known)}{hint}", c.span)
        if any(f.proc.name == c.name for f in self.frames):
            chain = " -> ".join([f.proc.name for f in self.frames] + [c.name])
            raise SpecError(f"recursive call ({chain}): procs are inlined and cannot recurse", c.span,
                            (Note(proc.span, f"'{c.name}' is declared here"),))
        if len(self.frames) > 32:
            raise SpecError("calls nested more than 32 deep", c.span)
        if len(c.args) != len(proc.params):
            raise SpecError(f"'{c.name}' takes {len(proc.params)} argument(s), not {len(c.args)}", c.span,
                            (Note(proc.span, f"'{c.name}' is declared here"),))
        # evaluate arguments in the caller's scope
        args: list[tuple[s.Param, Type, ir.Expr | Place, Type]] = []
        for param, arg in zip(proc.params, c.args):
            ptype = resolve_type(self.env, param.type)
            if is_scalar(ptype):
                value, vtype = self.expr(arg)
                if not same_kind(ptype, vtype):
                    raise SpecError(f"argument '{param.name}' of '{c.name}' is a {ptype}, not a {vtype}", arg.span)
                args.append((param, ptype, value, vtype))
            else:
                p = self.place(arg)
                if p.type != ptype:
                    raise SpecError(f"argument '{param.name}' of '{c.name}' is a {ptype}, not a {p.type}", arg.span)
                args.append((param, ptype, p, p.type))
        arg_checks = self.take_obligations("exec")
        result_type = resolve_type(self.env, proc.result) if proc.result is not None else None
        if result_type is not None and not is_scalar(result_type):
            raise SpecError("a proc returns bool, int or an enum", proc.result.span)  # type: ignore[union-attr]
        exit_ = self.new_node()
        self.context.append(c.name)
        frame = Frame(proc, exit_, None, result_type)
        self.frames.append(frame)
        saved_scopes, saved_locals, saved_loops = self.scopes, self.scope_locals, self.loops
        self.scopes, self.scope_locals, self.loops = [{}], [[]], []
        writes: list[Write] = []
        for param, ptype, value, vtype in args:
            if isinstance(value, Place):
                slot = self.new_local(param.name, ptype, visible=False, values=value.candidates)
                self.bind(param.name, RefBinding(slot, ptype, value.candidates), param.span)
                writes.append(Write(Lit(slot, "int"), value.addr, (slot,)))
            else:
                slot = self.new_local(param.name, ptype, visible=False)
                self.bind(param.name, ValueBinding(slot, ptype), param.span)
                writes.append(Write(Lit(slot, "int"), value, (slot,)))
                arg_checks += self.range_checks(ptype, value, vtype, st.span)
        if result_type is not None:
            frame.result_slot = self.new_local("result", result_type, visible=False)
            frame.result_type = result_type
        requires = self.contract_checks(proc, "requires", "post")
        entry = self.new_node()
        self.edge(src, entry, text=st.text, span=c.span, writes=writes, checks=arg_checks + requires, shown=False,
                  names_from=saved_scopes)
        end = self.block(proc.body, entry)
        self.edge(end, exit_, text="}", span=proc.body.span, shown=False)
        ensures = self.contract_checks(proc, "ensures", "exec")
        self.scopes, self.scope_locals, self.loops = saved_scopes, saved_locals, saved_loops
        self.frames.pop()
        self.context.pop()
        dst = self.new_node()
        ret_writes: list[Write] = []
        checks = list(ensures)
        if target is not None:
            assert frame.result_slot is not None and result_type is not None
            value = Var(frame.result_slot, "bool" if isinstance(result_type, BoolT) else "int")
            write, store_checks = self.store(target, value, result_type, st.span)
            ret_writes.append(write)
            checks += store_checks
        ret_writes += self.resets(frame.locals)
        self.edge(exit_, dst, text=st.text, span=st.span, writes=ret_writes, checks=checks,
                  shown=target is not None, returns_from=c.name)
        return dst

    def contract_checks(self, proc: s.ProcDecl, kind: str, when: str) -> list[Check]:
        out: list[Check] = []
        for contract in proc.contracts:
            if contract.kind != kind:
                continue
            self.in_ensures = kind == "ensures"
            cond, t = self.expr(contract.cond)
            self.in_ensures = False
            self.want_bool(t, contract.cond)
            prop = f"{proc.name}.{kind}"
            text = self.b.text_of(contract.cond)
            out += self.take_obligations(when)
            out.append(Check(prop, cond, f"{kind} {text}", contract.cond.span, when))  # type: ignore[arg-type]
        return out

    # ---- a whole thread ----
    thread_exit = -1

    def lower_body(self, body: s.Block, span: Span) -> ir.Thread:
        entry = self.new_node()
        self.thread_exit = self.new_node()
        end = self.block(body, entry)
        self.edge(end, self.thread_exit, text="}", span=span, shown=False)
        done = self.new_node()
        checks = [] if self.is_init else self.exit_checks(span)
        self.atomic_nodes.discard(done)
        self.edge(self.thread_exit, done, text="end of thread", span=span, checks=checks, shown=False)
        mine = {e for e in self.edge_ids}
        out_edges: dict[int, list[Edge]] = {}
        for eid in mine:
            e = self.b.edges[eid]
            out_edges.setdefault(e.src, []).append(e)
        chained = {n for n, es in out_edges.items() if all(e.local for e in es)}
        chained |= self.atomic_nodes
        chained.discard(done)
        return ir.Thread(self.index, self.name, self.pc_slot, entry, done, self.nodes, frozenset(chained),
                         frozenset(self.atomic_nodes), dict(self.node_text), tuple(self.local_slots))

    def exit_checks(self, span: Span) -> list[Check]:
        out: list[Check] = []
        for lk in self.b.locks:
            held = [Bin("!=", Var(lk.slot, "int"), Lit(self.me, "int"), "bool")]
            if lk.reader_slots:
                held.append(negate(Var(lk.reader_slots[self.index], "bool")))
            out.append(Check("exit_holding_lock", conj(held), f"ends holding {lk.name}", span, "exec"))
        return out


class ModelBuilder:
    """Owns the growing state layout and edge list while threads are lowered."""

    def __init__(self, env: Env, sources: Sources):
        self.env = env
        self.sources = sources
        self.slots: list[ir.Slot] = list(env.slots)
        self.initial: list[int] = list(env.initial)
        self.global_count = len(self.slots)
        self.edges: list[Edge] = []
        self.locks = self._locks()
        self.assertions: dict[str, s.Assert] = {}

    def _locks(self) -> list[ir.LockInfo]:
        out: list[ir.LockInfo] = []
        for i, slot in enumerate(self.slots):
            if slot.kind == "lock":
                out.append(ir.LockInfo(slot.name, slot.lock_kind, i))
            elif slot.kind == "rw_writer":
                readers = tuple(range(i + 1, i + 1 + self.env.nthreads))
                out.append(ir.LockInfo(slot.name, "rwlock", i, readers))
        return out

    def new_slot(self, slot: ir.Slot, initial: int = 0) -> int:
        if len(self.slots) >= MAX_SLOTS:
            raise SpecError(f"the state has more than {MAX_SLOTS} variables")
        self.slots.append(slot)
        self.initial.append(initial)
        return len(self.slots) - 1

    def text_of(self, expr: s.Expr) -> str:
        sp = expr.span
        source = self.sources.files.get(sp.path)
        if source is None or sp.end_line == 0:
            return "?"
        if sp.end_line == sp.line:
            return source.line_text(sp.line)[sp.column - 1:sp.end_column - 1]
        return " ".join(source.line_text(sp.line)[sp.column - 1:].split())

    def object_name(self, addr: int, type_: Type) -> str:
        """The name a user knows the object of this type at this address by: pages[1]."""
        nthreads = self.env.nthreads
        for g in self.env.globals.values():
            name, base, t = g.name, g.base, g.type
            if not base <= addr < base + size_of(t, nthreads):
                continue
            while not (base == addr and t == type_):
                if isinstance(t, ArrayT):
                    stride = size_of(t.elem, nthreads)
                    k = (addr - base) // stride
                    name, base, t = f"{name}[{k}]", base + k * stride, t.elem
                elif isinstance(t, StructT):
                    off = base
                    for f in t.fields:
                        size = size_of(f.type, nthreads)
                        if off <= addr < off + size:
                            name, base, t = f"{name}.{f.name}", off, f.type
                            break
                        off += size
                    else:
                        break
                else:
                    break
            if base == addr and t == type_:
                return name
        return f"@{addr}"

    def note_assertion(self, prop: str, st: s.Assert) -> None:
        self.assertions.setdefault(prop, st)


def build_model(path: str, modules: list[s.Module], overrides: dict[str, str], sources: Sources) -> ir.Model:
    """The transition system of a loaded spec. Raises SpecError on any error in it."""
    env = build_env(modules, overrides)
    if not env.threads:
        raise SpecError("the spec declares no thread (add `thread NAME { ... }`)", Span(path, 1, 1))
    builder = ModelBuilder(env, sources)
    threads: list[ir.Thread] = []
    index = 0
    for decl, count in env.threads:
        for k in range(count):
            name = decl.name if decl.count is None else f"{decl.name}[{k}]"
            lowering = BodyLowering(builder, index, name, k, IntT(0, count - 1))
            threads.append(_finish_pc(builder, lowering.lower_body(decl.body, decl.span)))
            index += 1
    init_thread = None
    if len(env.inits) > 1:
        raise SpecError("only one init block is allowed", env.inits[1].span,
                        (Note(env.inits[0].span, "the first one is here"),))
    if env.inits:
        lowering = BodyLowering(builder, index, "init", 0, IntT(0, 0), is_init=True)
        init_thread = _finish_pc(builder, lowering.lower_body(env.inits[0].body, env.inits[0].span))
    properties = _properties(builder, env)
    expectations = _expectations(env, properties)
    consts = {name: c.value for name, c in env.consts.items()}
    edges, all_threads = _without_jumps(builder.edges, threads + ([init_thread] if init_thread else []))
    for th in all_threads:
        builder.initial[th.pc_slot] = th.entry
    if init_thread is not None:
        threads, init_thread = all_threads[:-1], all_threads[-1]
    else:
        threads = all_threads
    model = ir.Model(path, builder.slots, tuple(builder.initial), threads, edges, properties,
                     expectations, builder.locks, init_thread=init_thread, consts=consts)
    return model


def _without_jumps(edges: list[Edge], threads: list[ir.Thread]) -> tuple[list[Edge], list[ir.Thread]]:
    """Drop the edges that only move the pc (the end of a block, of a branch, of a loop
    body): their source node becomes an alias of their target. Fewer chained steps per
    visible step, the same transition system."""
    from collections import Counter
    from dataclasses import replace

    leaving = Counter((e.thread, e.src) for e in edges)
    alias: dict[tuple[int, int], int] = {}
    for e in edges:
        if (e.local and e.guard is None and not e.writes and not e.checks and e.acquires is None
                and leaving[(e.thread, e.src)] == 1 and e.src != e.dst):
            alias[(e.thread, e.src)] = e.dst

    def resolve(t: int, node: int) -> int:
        seen: set[int] = set()
        while (t, node) in alias and node not in seen:
            seen.add(node)
            node = alias[(t, node)]
        return node

    kept: list[Edge] = []
    for e in edges:
        if (e.thread, e.src) in alias:
            continue
        kept.append(replace(e, id=len(kept), src=resolve(e.thread, e.src), dst=resolve(e.thread, e.dst)))
    out_threads: list[ir.Thread] = []
    for th in threads:
        t = th.index
        atomic = frozenset(n for n in th.atomic_nodes if (t, n) not in alias)
        out: dict[int, list[Edge]] = {}
        for e in kept:
            if e.thread == t:
                out.setdefault(e.src, []).append(e)
        chained = {n for n, es in out.items() if all(e.local for e in es)} | atomic
        chained.discard(th.end)
        node_text = {n: v for n, v in th.node_text.items() if (t, n) not in alias}
        out_threads.append(replace(th, entry=resolve(t, th.entry), chained=frozenset(chained),
                                   atomic_nodes=atomic, node_text=node_text))
    return kept, out_threads


def _finish_pc(builder: ModelBuilder, thread: ir.Thread) -> ir.Thread:
    from dataclasses import replace

    slot = builder.slots[thread.pc_slot]
    builder.slots[thread.pc_slot] = replace(slot, high=thread.node_count - 1)
    builder.initial[thread.pc_slot] = thread.entry
    return thread


def _properties(builder: ModelBuilder, env: Env) -> dict[str, ir.Property]:
    props: dict[str, ir.Property] = {}
    context = BodyLowering.__new__(BodyLowering)
    BodyLowering.__init__(context, builder, -1, "invariant", 0, IntT(0, 0), expr_only=True)
    for inv in env.invariants:
        cond, t = context.expr(inv.cond)
        context.want_bool(t, inv.cond)
        guards = [c for c, _, _ in context.obligations]
        context.obligations = []
        kind = "lemma" if inv.lemma else "invariant"
        props[inv.name] = ir.Property(inv.name, kind, inv.span, conj(guards + [cond]), builder.text_of(inv.cond))
    for name, st in builder.assertions.items():
        if name == "assertion":
            continue
        if name in env.declared_at:
            raise SpecError(f"assert label '{name}' is already the name of something else", st.span,
                            (Note(env.declared_at[name], "declared here"),))
        props[name] = ir.Property(name, "assertion", st.span, None, st.text)
    for proc in env.procs.values():
        for kind in ("requires", "ensures"):
            conds = [c for c in proc.contracts if c.kind == kind]
            if conds:
                text = " && ".join(builder.text_of(c.cond) for c in conds)
                props[f"{proc.name}.{kind}"] = ir.Property(f"{proc.name}.{kind}", kind, conds[0].cond.span, None,
                                                           text)
    for name, description in BUILTIN_PROPERTIES.items():
        if name in props:
            raise SpecError(f"'{name}' is the name of a built-in check", props[name].span)
        props[name] = ir.Property(name, "builtin", None, None, description)
    return props


def _expectations(env: Env, props: dict[str, ir.Property]) -> dict[str, ir.Expectation]:
    out: dict[str, ir.Expectation] = {}
    for exp in env.expects:
        if exp.prop not in props:
            raise SpecError(f"expect names no property '{exp.prop}'{did_you_mean(exp.prop, set(props))}",
                            exp.prop_span)
        if exp.prop in out:
            raise SpecError(f"'{exp.prop}' has two expect lines", exp.span, (Note(out[exp.prop].span, "first here"),))
        out[exp.prop] = ir.Expectation(exp.prop, exp.verdict, exp.span)  # type: ignore[arg-type]
    return out
