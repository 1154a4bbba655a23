"""Calls: a proc inlined at its call site (arguments bound, contracts checked, the result
stored)."""
from __future__ import annotations

from .. import ir
from .. import syntax as s
from ..errors import Note, SpecError, did_you_mean
from ..ir import Check, Lit, Var, Write
from ..resolve import resolve_type
from ..lktypes import BoolT, Type, is_scalar, same_kind
from .places import Place, ValueBinding, RefBinding, Frame
from .state import LoweringState
from .waitqueues import WAITQUEUE_CALLS


class CallLowering(LoweringState):
    """Calls inlined at their call site."""

    def stmt_CallStmt(self, st: s.CallStmt, src: int) -> int:
        return self.call(st.call, src, None, st)

    def call(self, c: s.Call, src: int, target: s.Expr | None, st: s.Stmt) -> int:
        proc = self.env.procs.get(c.name)
        if proc is None and c.name in WAITQUEUE_CALLS:
            return self.waitqueue_call(c, src, target, st)
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
        if self.does_nothing(proc, result_type, arg_checks, args, st):
            return src
        exit_ = self.new_node()
        self.context.append(c.name)
        frame = Frame(proc, exit_, None, result_type)
        self.frames.append(frame)
        saved_scopes, saved_locals, saved_loops = self.scopes, self.scope_locals, self.loops
        self.scopes, self.scope_locals, self.loops = [{}], [[]], []
        writes: list[Write] = []
        for param, ptype, arg_value, vtype in args:
            if isinstance(arg_value, Place):
                slot = self.new_local(param.name, ptype, visible=False, values=arg_value.candidates)
                self.bind(param.name, RefBinding(slot, ptype, arg_value.candidates), param.span)
                writes.append(Write(Lit(slot, "int"), arg_value.addr, (slot,)))
            else:
                slot = self.new_local(param.name, ptype, visible=False)
                self.bind(param.name, ValueBinding(slot, ptype), param.span)
                writes.append(Write(Lit(slot, "int"), arg_value, (slot,)))
                arg_checks += self.range_checks(ptype, arg_value, vtype, st.span,
                                                f"argument '{param.name}' of {c.name}")
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

    def does_nothing(self, proc: s.ProcDecl, result_type: Type | None, arg_checks: list[Check],
                     args: list[tuple[s.Param, Type, ir.Expr | Place, Type]], st: s.Stmt) -> bool:
        """A call of a proc with an empty body, no contract and no result, whose arguments
        need no check, changes nothing: it is no step (a model's default hook, such as
        ->invalidatepage on a page with no private data)."""
        if proc.body.body or proc.contracts or result_type is not None or arg_checks:
            return False
        return not any(self.range_checks(ptype, value, vtype, st.span)
                       for _, ptype, value, vtype in args if not isinstance(value, Place))

    def contract_checks(self, proc: s.ProcDecl, kind: str, when: ir.CheckWhen) -> list[Check]:
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
            out.append(Check(prop, cond, f"{kind} {text}", contract.cond.span, when))
        return out
