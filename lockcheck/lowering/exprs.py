"""Expressions: places (variables, fields, elements) and values, type-checked, with the
bounds obligations an expression raises (an index, a division)."""
from __future__ import annotations

from .. import ir
from .. import syntax as s
from ..errors import SpecError, did_you_mean
from ..ir import FALSE, TRUE, Bin, Check, Ite, Lit, Load, Un, Var, Write, conj, implies, negate
from ..resolve import c_arith, const_int, count_quantified
from ..source import Span
from ..lktypes import ANY_INT, ArrayT, BoolT, FieldInfo, IntT, RefcountT, StructT, Type, is_scalar, same_kind, size_of
from .places import Place, ValueBinding, RefBinding, ConstBinding, Binding, addr_add, addr_mul
from .state import LoweringState


class ExprLowering(LoweringState):
    """Places and values of expressions, with their bounds obligations."""

    def oblige(self, cond: ir.Expr, message: str, span: Span, prop: str = "bounds") -> None:
        self.obligations.append((implies(conj(list(self.path)), cond), message, span, prop))

    def take_obligations(self, when: ir.CheckWhen) -> list[Check]:
        out = [Check(prop, c, m, sp, when) for c, m, sp, prop in self.obligations if c != TRUE]
        self.obligations = []
        return out

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
            self.oblige_alive(base, f, e)
            return Place(addr_add(base.addr, Lit(off, "int")), f.type, tuple(c + off for c in base.candidates))
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
                            f"index out of bounds 0..{size - 1}: {self.b.text_of(e.index)} in "
                            f"{self.b.text_of(e.base)}[{self.b.text_of(e.index)}]", e.index.span)
                ks = range(size)
            addr = addr_add(base.addr, addr_mul(idx, stride))
            cands = tuple(sorted({c + k * stride for c in base.candidates for k in ks}))
            return Place(addr, base.type.elem, cands)
        raise SpecError("expected a variable, a field or an array element here", e.span)

    def oblige_alive(self, base: Place, f: FieldInfo, e: s.Field) -> None:
        """A field of a struct with a refcount, other than the count, may only be touched while
        the count is above 0 (a thread's access; invariants read freed objects freely)."""
        assert isinstance(base.type, StructT)
        count = next((x for x in base.type.fields if isinstance(x.type, RefcountT)), None)
        if count is None or count.name == f.name or self.me is None:
            return
        alive = Bin("!=", self.read(Place(addr_add(base.addr, Lit(count.offset, "int")), count.type,
                                          tuple(c + count.offset for c in base.candidates))), Lit(0, "int"), "bool")
        self.b.checks_used.add("use_after_free")
        self.oblige(alive, f"use after free: {self.b.text_of(e)} of a {base.type.name} whose {count.name} is 0", e.span,
                    "use_after_free")

    def offset_of(self, struct: StructT, name: str) -> int:
        off = 0
        for f in struct.fields:
            if f.name == name:
                return off
            off += size_of(f.type, self.env.nthreads)
        raise AssertionError(name)

    def read(self, p: Place) -> ir.Expr:
        sort: ir.Sort = "bool" if isinstance(p.type, BoolT) else "int"
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
        if isinstance(e, s.HeldBy):
            return self.held_by_thread(e), BoolT()
        if isinstance(e, s.IndexOf):
            return self.index_of(e)
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
        bindings: list[Binding | Place] = []
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
                addr = addr_add(arr.addr, Lit(k * stride, "int"))
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

    def index_of(self, e: s.IndexOf) -> tuple[ir.Expr, Type]:
        p = self.place(e.arg)
        where = {self.b.array_position(c, p.type) for c in p.candidates}
        if None in where or len(where) != 1:
            raise SpecError("index_of() needs an element of an array (p in `for p in pages`, pages[i])", e.arg.span)
        base, stride, size = where.pop()  # type: ignore[misc]
        if isinstance(p.addr, Lit):
            k = (p.addr.value - base) // stride
            return Lit(k, "int"), IntT(k, k)
        offset = Bin("-", p.addr, Lit(base, "int"), "int")
        return (offset if stride == 1 else Bin("/", offset, Lit(stride, "int"), "int")), IntT(0, size - 1)

    def element_binding(self, addr: ir.Expr, elem: Type, cands: tuple[int, ...]) -> Binding | Place:
        """A quantifier's name for an array element."""
        if isinstance(addr, Lit) and is_scalar(elem):
            return ValueBinding(addr.value, elem)
        return Place(addr, elem, cands)

    def want_bool(self, t: Type, e: s.Expr) -> None:
        if not isinstance(t, BoolT):
            raise SpecError(f"expected a bool here, not {t}", e.span)

    def want_int(self, t: Type, e: s.Expr) -> None:
        if not isinstance(t, IntT):
            raise SpecError(f"expected an integer here, not {t}", e.span)


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
        checks += self.range_checks(p.type, value, vtype, span, f"value of {self.b.text_of(target)}")
        return Write(p.addr, value, p.candidates), checks

    def range_checks(self, target: Type, value: ir.Expr, vtype: Type, span: Span, what: str = "value") -> list[Check]:
        if not isinstance(target, IntT) or not isinstance(vtype, IntT):
            return []
        if target.low <= vtype.low and vtype.high <= target.high:
            return []
        cond = Bin("&&", Bin(">=", value, Lit(target.low, "int"), "bool"),
                   Bin("<=", value, Lit(target.high, "int"), "bool"), "bool")
        if isinstance(value, Lit) and not target.low <= value.value <= target.high:
            raise SpecError(f"{value.value} is outside {target}", span)
        return [Check("bounds", cond, f"{what} outside {target}", span, "exec")]
