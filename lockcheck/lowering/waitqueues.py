"""Waitqueues with the kernel's shape (include/linux/wait.h, kernel/wait.c): a waitqueue
holds, per thread, whether it is on the queue, and where: not waiting (0), waiting (1), or
waiting exclusively with k exclusive waiters ahead of it (2 + k). The built-in calls below
lower to ordinary steps over those slots:

- prepare_to_wait(wq): on the queue, non-exclusive (__add_wait_queue: at the head)
- prepare_to_wait_exclusive(wq): on the queue behind every exclusive waiter
  (__add_wait_queue_tail); a thread already on the queue keeps its place (list_empty test)
- schedule(wq) / io_schedule(wq): sleep until no longer on the queue (a woken thread, or one
  that never queued, goes on at once), like schedule() after set_current_state()
- finish_wait(wq): take this thread off the queue (one step); those behind it move up
- wake_up(wq): every non-exclusive waiter and the first exclusive waiter are woken (taken
  off the queue, as autoremove_wake_function does), in one step: __wake_up_common walks the
  list from its head, where the non-exclusive waiters are, and stops after the first
  exclusive one it woke
- wake_up_all(wq): every waiter is woken
- abort_exclusive_wait(wq): leave the queue; a thread already woken passes the wakeup on
  (wake_up) instead, so an exclusive wakeup is not lost (kernel/wait.c, since 2.6.29)
- wait_event(wq, cond): the macro: loop { prepare_to_wait and test cond in one step (true:
  finish_wait, done); schedule; }

Nothing is remembered for a wakeup nobody waits for, so a condition set without wake_up
(a lost wakeup) leaves a sleeper asleep: a deadlock, unless it sleeps at an end label."""
from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from typing import Iterator

from .. import ir
from .. import syntax as s
from ..errors import SpecError
from ..ir import Bin, Ite, Lit, Write, conj, negate
from ..lktypes import WaitqueueT
from .places import Place, addr_add
from .state import LoweringState

WAITQUEUE_CALLS = frozenset({"prepare_to_wait", "prepare_to_wait_exclusive", "schedule", "io_schedule",
                             "finish_wait", "wake_up", "wake_up_all", "wait_event", "abort_exclusive_wait"})
NOT_WAITING, WAITING, WAITING_EXCLUSIVE = 0, 1, 2   # WAITING_EXCLUSIVE + k: k exclusive waiters ahead


def _cmp(op: str, e: ir.Expr, value: int) -> ir.Expr:
    return Bin(op, e, Lit(value, "int"), "bool")


def calls_in(node: object) -> Iterator[s.Call]:
    """Every call in a syntax tree."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, s.Call):
            yield n
        if isinstance(n, (list, tuple)):
            stack.extend(n)
        elif is_dataclass(n) and not isinstance(n, type):
            stack.extend(getattr(n, f.name) for f in fields(n))


QUEUEING_CALLS = frozenset({"prepare_to_wait", "prepare_to_wait_exclusive", "wait_event"})


@dataclass(frozen=True)
class WaitqueueUse:
    """What the threads can do with waitqueues, from the calls their bodies can reach:
    whether any waits exclusively, and the waitqueues anybody queues on, by the name of the
    global or struct field (None: a waitqueue passed by a name the analysis cannot follow,
    so every waitqueue counts as used)."""

    exclusive: bool
    queued: frozenset[str] | None
    global_names: frozenset[str]

    def may_have_waiters(self, wq_expr: s.Expr) -> bool:
        name = self.name_of(wq_expr)
        return self.queued is None or name is None or name in self.queued

    def name_of(self, e: s.Expr) -> str | None:
        """The global or field a waitqueue expression names, if the analysis can tell."""
        name = _queue_name(e)
        return None if isinstance(e, s.Name) and name not in self.global_names else name


def _queue_name(e: s.Expr) -> str | None:
    if isinstance(e, s.Field):
        return e.name
    if isinstance(e, s.Name):
        return e.name
    if isinstance(e, s.Index):
        return _queue_name(e.base)
    return None


def waitqueue_use(procs: dict[str, s.ProcDecl], thread_bodies: list[s.Block], global_names: set[str]) -> WaitqueueUse:
    reached: set[str] = set()
    calls: list[s.Call] = []
    todo = [b for b in thread_bodies]
    while todo:
        for c in calls_in(todo.pop()):
            calls.append(c)
            if c.name in procs and c.name not in reached:
                reached.add(c.name)
                todo.append(procs[c.name].body)
    exclusive = any(c.name == "prepare_to_wait_exclusive" and c.name not in procs for c in calls)
    use = WaitqueueUse(exclusive, frozenset(), frozenset(global_names))
    queued: set[str] | None = set()
    for c in calls:
        if c.name in QUEUEING_CALLS and c.name not in procs and c.args:
            name = use.name_of(c.args[0])
            if name is None or queued is None:
                queued = None
            else:
                queued.add(name)
    return WaitqueueUse(exclusive, None if queued is None else frozenset(queued), use.global_names)


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
            writes = {"prepare_to_wait": self.queue_shared, "prepare_to_wait_exclusive": self.queue_exclusive,
                      "finish_wait": self.dequeue}[c.name](wq)
            self.edge(src, dst, text=st.text, span=st.span, checks=pre, force_step=True, writes=writes)
        elif c.name in ("schedule", "io_schedule"):
            self.edge(src, dst, text=st.text, span=st.span, force_step=True,
                      guard=Bin("==", mine, Lit(NOT_WAITING, "int"), "bool"),
                      checks=pre + self.spin_free(st.span, f"{c.name}()"))
        elif c.name == "abort_exclusive_wait":
            woken = Bin("==", mine, Lit(NOT_WAITING, "int"), "bool")
            self.edge(src, dst, text=st.text, span=st.span, checks=pre, force_step=True, guard=negate(woken),
                      writes=self.dequeue(wq), branch="still queued")
            self.edge(src, dst, text=st.text, span=st.span, checks=pre, force_step=True, guard=woken,
                      writes=self.wake_up_writes(wq), branch="woken: wakes the next")
        elif c.name == "wake_up_all":
            self.edge(src, dst, text=st.text, span=st.span, checks=pre, force_step=True,
                      writes=[self.set_waiter(wq, t, NOT_WAITING) for t in range(self.env.nthreads)])
        elif not self.b.waitqueues.may_have_waiters(c.args[0]):
            # nobody ever queues on this waitqueue: the wakeup changes nothing, a local step
            # (its checks, such as use_after_free of the page it names, still run)
            self.edge(src, dst, text=st.text, span=st.span, checks=pre, shown=False)
        else:
            self.edge(src, dst, text=st.text, span=st.span, checks=pre, force_step=True,
                      writes=self.wake_up_writes(wq))
        return dst

    def waiter(self, wq: Place, thread: int) -> ir.Expr:
        return self.read_slot(wq, thread)

    def set_waiter(self, wq: Place, thread: int, value: int | ir.Expr) -> Write:
        v = Lit(value, "int") if isinstance(value, int) else value
        return Write(self.slot_addr(wq, thread), v, tuple(c + thread for c in wq.candidates))

    def slot_addr(self, wq: Place, thread: int) -> ir.Expr:
        return addr_add(wq.addr, Lit(thread, "int"))

    def others(self) -> list[int]:
        return [t for t in range(self.env.nthreads) if t != self.index]

    def move_up_behind(self, wq: Place, leaving: ir.Expr) -> list[Write]:
        """The exclusive waiters behind one that leaves (`leaving` is its old slot value)
        move up one place: list_del_init keeps the order of the rest."""
        if not self.b.waitqueues.exclusive:
            return []
        out = []
        for t in self.others():
            w = self.waiter(wq, t)
            behind = conj([_cmp(">=", leaving, WAITING_EXCLUSIVE), Bin(">", w, leaving, "bool")])
            out.append(self.set_waiter(wq, t, Ite(behind, Bin("-", w, Lit(1, "int"), "int"), w, "int")))
        return out

    def dequeue(self, wq: Place) -> list[Write]:
        """finish_wait: off the queue (list_del_init)."""
        return [self.set_waiter(wq, self.index, NOT_WAITING)] + self.move_up_behind(wq, self.waiter(wq, self.index))

    def queue_shared(self, wq: Place) -> list[Write]:
        """prepare_to_wait: wait->flags &= ~WQ_FLAG_EXCLUSIVE; if (list_empty(&wait->task_list))
        __add_wait_queue(q, wait), at the head. A thread queued exclusively that calls it
        stops being exclusive; the model counts it among the waiters at the head."""
        return [self.set_waiter(wq, self.index, WAITING)] + self.move_up_behind(wq, self.waiter(wq, self.index))

    def queue_exclusive(self, wq: Place) -> list[Write]:
        """prepare_to_wait_exclusive: wait->flags |= WQ_FLAG_EXCLUSIVE; if
        (list_empty(&wait->task_list)) __add_wait_queue_tail(q, wait): behind every exclusive
        waiter. A thread already on the queue stays where it is (a non-exclusive one, at the
        head, is then the first exclusive waiter)."""
        mine = self.waiter(wq, self.index)
        ahead: ir.Expr = Lit(0, "int")
        for t in self.others():
            ahead = Bin("+", ahead, Ite(_cmp(">=", self.waiter(wq, t), WAITING_EXCLUSIVE), Lit(1, "int"),
                                        Lit(0, "int"), "int"), "int")
        tail = Bin("+", Lit(WAITING_EXCLUSIVE, "int"), ahead, "int")
        first = _cmp("==", mine, WAITING)
        writes = [self.set_waiter(wq, self.index, Ite(_cmp("==", mine, NOT_WAITING), tail,
                                                      Ite(first, Lit(WAITING_EXCLUSIVE, "int"), mine, "int"), "int"))]
        for t in self.others():
            w = self.waiter(wq, t)
            shift = conj([first, _cmp(">=", w, WAITING_EXCLUSIVE)])
            writes.append(self.set_waiter(wq, t, Ite(shift, Bin("+", w, Lit(1, "int"), "int"), w, "int")))
        return writes

    def wake_up_writes(self, wq: Place) -> list[Write]:
        """include/linux/wait.h: wake_up(x) = __wake_up(x, TASK_NORMAL, 1, NULL), kernel/sched.c:
        __wake_up_common walks the queue from its head: every non-exclusive waiter is woken,
        and the walk stops after the first exclusive one (nr_exclusive = 1); each woken entry
        leaves the queue (autoremove_wake_function). The exclusive waiters behind it move up."""
        out = []
        for t in range(self.env.nthreads):
            w = self.waiter(wq, t)
            if not self.b.waitqueues.exclusive:
                out.append(self.set_waiter(wq, t, Ite(_cmp("==", w, WAITING), Lit(NOT_WAITING, "int"), w, "int")))
                continue
            woken = Bin("||", _cmp("==", w, WAITING), _cmp("==", w, WAITING_EXCLUSIVE), "bool")
            behind = Ite(_cmp(">", w, WAITING_EXCLUSIVE), Bin("-", w, Lit(1, "int"), "int"), w, "int")
            out.append(self.set_waiter(wq, t, Ite(woken, Lit(NOT_WAITING, "int"), behind, "int")))
        return out

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
                  branch="true", force_step=True, writes=self.dequeue(wq))
        self.edge(src, sleep, text=f"wait_event: prepare_to_wait; if ({text})", span=st.span, guard=negate(cond),
                  checks=pre + checks, branch="false", force_step=True,
                  writes=self.queue_shared(wq))
        self.edge(sleep, src, text="wait_event: schedule", span=st.span, force_step=True,
                  guard=Bin("==", self.waiter(wq, self.index), Lit(NOT_WAITING, "int"), "bool"),
                  checks=self.spin_free(st.span, "wait_event"))
        return done
