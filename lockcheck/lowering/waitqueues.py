"""Waitqueues with the kernel's shape (include/linux/wait.h, kernel/wait.c): a waitqueue
holds, per thread, whether it is on the queue (waiting, or waiting exclusively). The
built-in calls below lower to ordinary steps over those slots:

- prepare_to_wait(wq) / prepare_to_wait_exclusive(wq): put this thread on the queue (one step)
- schedule(wq) / io_schedule(wq): sleep until no longer on the queue (a woken thread, or one
  that never queued, goes on at once), like schedule() after set_current_state()
- finish_wait(wq): take this thread off the queue (one step)
- wake_up(wq): every non-exclusive waiter and one exclusive waiter (any one) are woken
  (taken off the queue, as autoremove_wake_function does), in one step
- wake_up_all(wq): every waiter is woken
- abort_exclusive_wait(wq): leave the queue; a thread already woken passes the wakeup on
  (wake_up) instead, so an exclusive wakeup is not lost (kernel/wait.c, since 2.6.29)
- wait_event(wq, cond): the macro: loop { prepare_to_wait and test cond in one step (true:
  finish_wait, done); schedule; }

Nothing is remembered for a wakeup nobody waits for, so a condition set without wake_up
(a lost wakeup) leaves a sleeper asleep: a deadlock, unless it sleeps at an end label."""
from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Iterator

from .. import ir
from .. import syntax as s
from ..errors import SpecError
from ..ir import Bin, Ite, Lit, Write, conj, negate
from ..lktypes import WaitqueueT
from ..resolve import thread_name
from .places import Place, addr_add
from .state import LoweringState

WAITQUEUE_CALLS = frozenset({"prepare_to_wait", "prepare_to_wait_exclusive", "schedule", "io_schedule",
                             "finish_wait", "wake_up", "wake_up_all", "wait_event", "abort_exclusive_wait"})
NOT_WAITING, WAITING, WAITING_EXCLUSIVE = 0, 1, 2


def called_names(node: object) -> Iterator[str]:
    """The names of every call in a syntax tree."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, s.Call):
            yield n.name
        if isinstance(n, (list, tuple)):
            stack.extend(n)
        elif is_dataclass(n) and not isinstance(n, type):
            stack.extend(getattr(n, f.name) for f in fields(n))


class WaitqueueLowering(LoweringState):
    """The waitqueue built-ins, lowered to steps over a waitqueue's per-thread slots."""

    def waitqueue_call(self, c: s.Call, src: int, target: s.Expr | None, st: s.Stmt) -> int:
        if target is not None:
            raise SpecError(f"{c.name}() returns no result", c.span)
        if self.is_init:
            raise SpecError("waitqueues cannot be used in an init block", c.span)
        want = 2 if c.name == "wait_event" else 1
        if len(c.args) != want:
            shape = "(wq, condition)" if want == 2 else "(wq)"
            raise SpecError(f"{c.name} takes {want} argument(s): {c.name}{shape}", c.span)
        wq = self.place(c.args[0])
        if not isinstance(wq.type, WaitqueueT):
            raise SpecError(f"{c.name}() needs a waitqueue, not {wq.type}", c.args[0].span)
        pre = self.take_obligations("attempt")
        if c.name == "wait_event":
            return self.wait_event(wq, c.args[1], src, st, pre)
        dst = self.new_node()
        mine = self.waiter(wq, self.index)
        if c.name in ("prepare_to_wait", "prepare_to_wait_exclusive", "finish_wait"):
            value = {"prepare_to_wait": WAITING, "prepare_to_wait_exclusive": WAITING_EXCLUSIVE}.get(c.name,
                                                                                                     NOT_WAITING)
            self.edge(src, dst, text=st.text, span=st.span, checks=pre, force_step=True,
                      writes=[self.set_waiter(wq, self.index, value)])
        elif c.name in ("schedule", "io_schedule"):
            self.edge(src, dst, text=st.text, span=st.span, force_step=True,
                      guard=Bin("==", mine, Lit(NOT_WAITING, "int"), "bool"),
                      checks=pre + self.spin_free(st.span, f"{c.name}()"))
        elif c.name == "abort_exclusive_wait":
            woken = Bin("==", mine, Lit(NOT_WAITING, "int"), "bool")
            self.edge(src, dst, text=st.text, span=st.span, checks=pre, force_step=True, guard=negate(woken),
                      writes=[self.set_waiter(wq, self.index, NOT_WAITING)], branch="still queued")
            self.wake_up(wq, src, dst, st, pre, guard=woken, branch="woken: wakes the next")
        elif c.name == "wake_up_all":
            self.edge(src, dst, text=st.text, span=st.span, checks=pre, force_step=True,
                      writes=[self.set_waiter(wq, t, NOT_WAITING) for t in range(self.env.nthreads)])
        else:
            self.wake_up(wq, src, dst, st, pre)
        return dst

    def waiter(self, wq: Place, thread: int) -> ir.Expr:
        return self.read_slot(wq, thread)

    def set_waiter(self, wq: Place, thread: int, value: int | ir.Expr) -> Write:
        v = Lit(value, "int") if isinstance(value, int) else value
        return Write(self.slot_addr(wq, thread), v, tuple(c + thread for c in wq.candidates))

    def slot_addr(self, wq: Place, thread: int) -> ir.Expr:
        return addr_add(wq.addr, Lit(thread, "int"))

    def wake_up(self, wq: Place, src: int, dst: int, st: s.Stmt, pre: list[ir.Check],
                guard: ir.Expr | None = None, branch: str = "") -> None:
        """Non-exclusive waiters all woken; of the exclusive ones, any one (the kernel takes the
        first in queue order; the model does not keep the order)."""
        n = self.env.nthreads

        def wake_shared(skip: int) -> list[Write]:
            out = []
            for t in range(n):
                if t == skip:
                    continue
                w = self.waiter(wq, t)
                out.append(self.set_waiter(wq, t, Ite(Bin("==", w, Lit(WAITING, "int"), "bool"),
                                                      Lit(NOT_WAITING, "int"), w, "int")))
            return out

        first = [guard] if guard is not None else []
        prefix = f"{branch}, " if branch else ""
        if not self.b.uses_exclusive_waits:
            self.edge(src, dst, text=st.text, span=st.span, checks=pre, force_step=True, writes=wake_shared(-1),
                      guard=guard, branch=branch)
            return
        exclusive = [Bin("==", self.waiter(wq, t), Lit(WAITING_EXCLUSIVE, "int"), "bool") for t in range(n)]
        self.edge(src, dst, text=st.text, span=st.span, checks=pre, force_step=True, writes=wake_shared(-1),
                  guard=conj(first + [negate(x) for x in exclusive]), branch=prefix + "no exclusive waiter")
        for t in range(n):
            self.edge(src, dst, text=st.text, span=st.span, checks=pre, force_step=True,
                      guard=conj(first + [exclusive[t]]), writes=wake_shared(t) + [self.set_waiter(wq, t, NOT_WAITING)],
                      branch=f"{prefix}wakes {thread_name(self.env, t)}")

    def wait_event(self, wq: Place, cond_expr: s.Expr, src: int, st: s.Stmt, pre: list[ir.Check]) -> int:
        """include/linux/wait.h: wait_event(wq, condition): if (condition) break; then
        for (;;) { prepare_to_wait(&wq, &wait, TASK_UNINTERRUPTIBLE); if (condition) break;
        schedule(); } finish_wait(&wq, &wait);
        Lowered as: a step that queues and tests (true: off the queue again, done; false: on
        the queue), and a step that sleeps until woken, then again. The macro's first test and
        the queueing before the second are folded into that one step: a test has no effect of
        its own, and whatever runs between queueing and testing (a wake_up) only makes the
        schedule() after a false test return at once, to queue and test again."""
        done, sleep = self.new_node(), self.new_node()
        cond, checks = self.condition(cond_expr)
        text = self.b.text_of(cond_expr)
        self.edge(src, done, text=f"wait_event: if ({text})", span=st.span, guard=cond, checks=pre + checks,
                  branch="true", force_step=True, writes=[self.set_waiter(wq, self.index, NOT_WAITING)])
        self.edge(src, sleep, text=f"wait_event: prepare_to_wait; if ({text})", span=st.span, guard=negate(cond),
                  checks=pre + checks, branch="false", force_step=True,
                  writes=[self.set_waiter(wq, self.index, WAITING)])
        self.edge(sleep, src, text="wait_event: schedule", span=st.span, force_step=True,
                  guard=Bin("==", self.waiter(wq, self.index), Lit(NOT_WAITING, "int"), "bool"),
                  checks=self.spin_free(st.span, "wait_event"))
        return done
