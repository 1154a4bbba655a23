"""Locks: held()/locked(), acquire, release, try_acquire, the spinlock sleep check and the
checks at a thread's end."""
from __future__ import annotations

from .. import ir
from .. import syntax as s
from ..errors import SpecError, did_you_mean
from ..resolve import const_int
from ..ir import FALSE, TRUE, Bin, Check, Lit, Load, Var, Write, conj, negate
from ..source import Span
from ..lktypes import BoolT, LockT
from .places import Place, addr_add
from .state import LoweringState


class LockLowering(LoweringState):
    """Lock queries, lock statements and the lock checks."""

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

    def held_by_thread(self, e: s.HeldBy) -> ir.Expr:
        """held_by(l, T) or held_by(l, T[k]): thread T (or T[k]) holds l; usable in invariants."""
        p = self.lock_place(e.lock)
        index = 0
        for decl, count in self.env.threads:
            if decl.name == e.thread:
                k = 0
                if e.index is not None:
                    k = const_int(self.env, e.index, "a thread index")
                    if not 0 <= k < count:
                        raise SpecError(f"{e.thread}[{k}]: the thread array has {count} threads", e.index.span)
                elif decl.count is not None:
                    raise SpecError(f"'{e.thread}' is an array of threads: say which one, {e.thread}[k]", e.span)
                return self.held_by(p, index + k + 1)
            index += count
        names = {decl.name for decl, _ in self.env.threads}
        raise SpecError(f"held_by(): no thread '{e.thread}'{did_you_mean(e.thread, names)}", e.span)

    def held_by(self, p: Place, me: int) -> ir.Expr:
        writer = Bin("==", self.read_slot(p, 0), Lit(me, "int"), "bool")
        if p.type.kind == "rwlock":  # type: ignore[union-attr]
            return Bin("||", writer, self.read_slot(p, me, "bool"), "bool")
        return writer

    def read_slot(self, p: Place, offset: int, sort: ir.Sort = "int") -> ir.Expr:
        addr = addr_add(p.addr, Lit(offset, "int"))
        if isinstance(addr, Lit):
            return Var(addr.value, sort)
        return Load(addr, tuple(c + offset for c in p.candidates), sort)

    def lock_place(self, e: s.Expr) -> Place:
        p = self.place(e)
        if not isinstance(p.type, LockT):
            raise SpecError(f"expected a lock here, not {p.type}", e.span)
        return p

    def spin_free(self, span: Span, what: str) -> list[Check]:
        spins = [lk for lk in self.b.locks if lk.kind == "spinlock"]
        if not spins:
            return []
        assert self.me is not None  # a statement's check: only an expression-only lowering has no thread
        cond = conj([Bin("!=", Var(lk.slot, "int"), Lit(self.me, "int"), "bool") for lk in spins])
        return [Check("sleep_under_spinlock", cond, f"{what} while holding a spinlock", span, "attempt")]

    def try_acquire(self, rhs: s.TryAcquire, target: s.Expr, src: int, st: s.Stmt) -> int:
        assert self.me is not None  # a statement: only an expression-only lowering has no thread
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
        addr = addr_add(p.addr, Lit(offset, "int"))
        sort: ir.Sort = "bool" if offset else "int"
        return Write(addr, Lit(value, sort), tuple(c + offset for c in p.candidates))

    def stmt_LockStmt(self, st: s.LockStmt, src: int) -> int:
        if self.is_init:
            raise SpecError("locks cannot be used in an init block", st.span)
        assert self.me is not None  # a statement: only an expression-only lowering has no thread
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
            guard: ir.Expr
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

    def exit_checks(self, span: Span) -> list[Check]:
        assert self.me is not None  # the end of a thread
        out: list[Check] = []
        for lk in self.b.locks:
            held: list[ir.Expr] = [Bin("!=", Var(lk.slot, "int"), Lit(self.me, "int"), "bool")]
            if lk.reader_slots:
                held.append(negate(Var(lk.reader_slots[self.index], "bool")))
            out.append(Check("exit_holding_lock", conj(held), f"ends holding {lk.name}", span, "exec"))
        return out
