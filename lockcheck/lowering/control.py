"""Statements and control flow: blocks, assignments, await, assert, if, while, for,
break/continue/return, choose, atomic."""
from __future__ import annotations

from .. import ir
from .. import syntax as s
from ..errors import SpecError
from ..ir import Bin, Check, Lit, Var, Write, negate
from ..resolve import const_int, resolve_type
from ..limits import MAX_INT_VALUES
from ..lktypes import ArrayT, IntT, is_scalar, same_kind, size_of
from .places import ValueBinding, RefBinding, Binding, Loop, Place, addr_add, addr_mul
from .state import LoweringState


class ControlLowering(LoweringState):
    """Statements and their control flow."""

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
        mark = len(self.b.edges)
        self.edge(src, then_entry, text=st.text, span=st.span, guard=cond, checks=checks, branch="true")
        self.edge(src, else_entry, text=st.text, span=st.span, guard=negate(cond), checks=checks, branch="false")
        then_end = self.block(st.then, then_entry)
        else_end = self.stmt(st.other, else_entry) if st.other is not None else else_entry
        dst = self.new_node()
        if not checks and len(self.b.edges) == mark + 2 and then_end == then_entry and else_end == else_entry:
            # both branches do nothing (a call of an empty default hook): the test decides
            # nothing either, so it is no step
            del self.b.edges[mark:]
            del self.edge_ids[-2:]
            self.edge(src, dst, text=st.text, span=st.span, shown=False)
            return dst
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
            if high - low >= MAX_INT_VALUES:   # its counter is an int[low..high]
                raise SpecError(f"the loop runs over {low}..{high}, wider than the int range limit "
                                f"({MAX_INT_VALUES:,} values)", st.domain.span)
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
                return addr_add(arr.addr, addr_mul(k, stride))
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
            checks = self.take_obligations("exec") + self.range_checks(frame.result_type, value, vtype, st.span,
                                                                             f"result of {frame.proc.name}")
            writes.append(Write(Lit(frame.result_slot, "int"), value, (frame.result_slot,)))
        elif frame.result_slot is not None:
            raise SpecError(f"proc '{frame.proc.name}' must return a {frame.result_type}", st.span)
        self.edge(src, frame.exit, text=st.text, span=st.span, writes=writes, checks=checks)
        return self.new_node()

    def stmt_Choose(self, st: s.Choose, src: int) -> int:
        dst = self.new_node()
        for i, branch in enumerate(st.branches):
            entry = self.new_node()
            guard: ir.Expr | None = None
            checks: list[Check] = []
            text, body = "choose", branch
            if branch.body and isinstance(branch.body[0], s.When):
                # a guarded branch (Promela's `:: guard -> ...`): the choice is enabled only
                # when its guard holds, and choosing and testing are one step
                when = branch.body[0]
                guard, checks = self.condition(when.cond)
                checks += self.spin_free(when.span, "a guarded choice (it waits)")
                text = f"choose {when.text}"
                body = s.Block(branch.span, branch.text, branch.body[1:])
            self.edge(src, entry, text=text, span=branch.span, force_step=True, guard=guard, checks=checks,
                      branch=f"branch {i + 1} of {len(st.branches)}")
            end = self.block(body, entry)
            self.edge(end, dst, text="}", span=branch.span, shown=False)
        return dst

    def stmt_ChooseIn(self, st: s.ChooseIn, src: int) -> int:
        """One step per element k, each binding the name to element k (guarded by the body's
        leading `when`, read on element k itself); the body once, through the reference. The
        steps differ only in the element, so renaming the elements maps them onto each other
        (lockcheck/symmetry.py's object symmetry)."""
        arr = self.place(st.domain)
        if not isinstance(arr.type, ArrayT):
            raise SpecError(f"'choose ... in' picks from an array, not {arr.type}", st.domain.span)
        size, elem = arr.type.size, arr.type.elem
        stride = size_of(elem, self.env.nthreads)
        self.scopes.append({})
        self.scope_locals.append([])
        cands = tuple(sorted({c + k * stride for c in arr.candidates for k in range(size)}))
        self.choosing += 1
        ref = self.new_local(st.var, elem, visible=False, values=cands)
        body, when = st.body, None
        if body.body and isinstance(body.body[0], s.When):
            when = body.body[0]
            body = s.Block(body.span, body.text, body.body[1:])
        entry = self.new_node()
        for k in range(size):
            addr = addr_add(arr.addr, Lit(k * stride, "int"))
            guard: ir.Expr | None = None
            checks: list[Check] = []
            text = st.text
            if when is not None:
                self.scopes.append({})
                self.bind(st.var, Place(addr, elem, tuple(c + k * stride for c in arr.candidates)), st.span)
                guard, checks = self.condition(when.cond)
                checks += self.spin_free(when.span, "a guarded choice (it waits)")
                self.scopes.pop()
                text = f"{st.text} {when.text}"
            self.edge(src, entry, text=text, span=st.span, force_step=True, guard=guard, checks=checks,
                      writes=[Write(Lit(ref, "int"), addr, (ref,))], branch=f"element {k} of {size}")
        self.bind(st.var, RefBinding(ref, elem, cands), st.span)
        end = self.block(body, entry)
        self.choosing -= 1
        dst = self.new_node()
        self.edge(end, dst, text="}", span=st.span, writes=self.resets(self.scope_locals[-1]), shown=False)
        self.scope_locals.pop()
        self.scopes.pop()
        return dst

    def stmt_When(self, st: s.When, src: int) -> int:
        raise SpecError("'when' is a guard of a choose branch: it must be the branch's first statement", st.span)

    def stmt_BugOn(self, st: s.BugOn, src: int) -> int:
        cond, t = self.expr(st.cond)
        self.want_bool(t, st.cond)
        message = st.message or f"BUG_ON({self.b.text_of(st.cond)})"
        self.b.checks_used.add("bug")
        checks = self.take_obligations("exec") + [Check("bug", negate(cond), message, st.span, "exec")]
        dst = self.new_node()
        self.edge(src, dst, text=st.text, span=st.span, checks=checks)
        return dst

    def stmt_EndLabel(self, st: s.EndLabel, src: int) -> int:
        if self.is_init:
            raise SpecError("an end label is only meaningful in a thread", st.span)
        self.end_labels.append((src, st.span))
        return self.stmt(st.body, src)

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
