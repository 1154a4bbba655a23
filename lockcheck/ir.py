"""The transition system a spec denotes: a flat state vector, threads as graphs of atomic
steps, and named properties. Nothing here knows the syntax it came from, except spans."""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Iterator, Sequence
from typing import Literal

from .source import Span

Sort = Literal["bool", "int"]


# ---- expressions over the state vector `s` ----------------------------------------------

@dataclass(frozen=True)
class Lit:
    value: int
    sort: Sort


@dataclass(frozen=True)
class Var:
    """s[slot], a statically known slot."""

    slot: int
    sort: Sort


@dataclass(frozen=True)
class Load:
    """s[addr] for an address known only at run time; `candidates` are all it can be."""

    addr: "Expr"
    candidates: tuple[int, ...]
    sort: Sort


@dataclass(frozen=True)
class Un:
    op: str  # "!" | "-"
    arg: "Expr"
    sort: Sort


@dataclass(frozen=True)
class Bin:
    op: str  # + - * / % == != < <= > >= && || ->
    left: "Expr"
    right: "Expr"
    sort: Sort


@dataclass(frozen=True)
class Ite:
    cond: "Expr"
    then: "Expr"
    other: "Expr"
    sort: Sort


Expr = Lit | Var | Load | Un | Bin | Ite

TRUE = Lit(1, "bool")
FALSE = Lit(0, "bool")


def subexpressions(expr: Expr) -> Iterator[Expr]:
    """expr and everything inside it, without recursion (an expression may be deep)."""
    stack = [expr]
    while stack:
        e = stack.pop()
        yield e
        if isinstance(e, Load):
            stack.append(e.addr)
        elif isinstance(e, Un):
            stack.append(e.arg)
        elif isinstance(e, Bin):
            stack += [e.left, e.right]
        elif isinstance(e, Ite):
            stack += [e.cond, e.then, e.other]


def slots_read(expr: Expr) -> set[int]:
    """Every slot an expression may read (all candidates of a dynamic load)."""
    out: set[int] = set()
    for e in subexpressions(expr):
        if isinstance(e, Var):
            out.add(e.slot)
        elif isinstance(e, Load):
            out.update(e.candidates)
    return out


def _balanced(op: str, parts: Sequence[Expr]) -> Expr:
    """parts joined by op as a balanced tree, in their order: a conjunction over a 4096-element
    array is 12 deep, not 4096 (every consumer of the IR walks it recursively somewhere)."""
    layer = list(parts)
    while len(layer) > 1:
        paired = [Bin(op, layer[i], layer[i + 1], "bool") for i in range(0, len(layer) - 1, 2)]
        layer = paired + ([layer[-1]] if len(layer) % 2 else [])
    return layer[0]


def conj(parts: Sequence[Expr]) -> Expr:
    parts = [p for p in parts if p != TRUE]
    return _balanced("&&", parts) if parts else TRUE


def disj(parts: Sequence[Expr]) -> Expr:
    return _balanced("||", parts) if parts else Lit(0, "bool")


def implies(premise: Expr, conclusion: Expr) -> Expr:
    return conclusion if premise == TRUE else Bin("->", premise, conclusion, "bool")


def negate(expr: Expr) -> Expr:
    return Un("!", expr, "bool")


# ---- the state vector --------------------------------------------------------------------

SlotKind = Literal["bool", "int", "enum", "lock", "rw_writer", "rw_reader", "pc", "ref"]


@dataclass(frozen=True)
class Slot:
    name: str               # what a user reads: pages[1].locked, flusher.ok
    kind: SlotKind
    low: int                # the values the slot can take: low..high, or `values`
    high: int
    enum_names: tuple[str, ...] = ()
    thread: int = -1        # the owning thread of a pc or local slot; -1 for globals
    visible: bool = True    # shown in traces (hidden: loop counters, parameters, results)
    values: tuple[int, ...] = ()  # for refs: the addresses it can hold
    value_names: tuple[str, ...] = ()  # for refs: the object at each of those addresses
    lock_kind: str = ""     # for lock slots: lock | spinlock | rwlock
    of_thread: int = -1     # a global slot kept per thread (a waitqueue's place, an rwlock's reader flag): whose

    @property
    def sort(self) -> Sort:
        return "bool" if self.kind in ("bool", "rw_reader") else "int"

    def domain(self) -> tuple[int, ...]:
        return self.values if self.values else tuple(range(self.low, self.high + 1))


# ---- steps -------------------------------------------------------------------------------

CheckWhen = Literal["attempt", "exec", "post"]


@dataclass(frozen=True)
class Check:
    """A condition that must hold. `attempt`: whenever the thread stands before the step,
    enabled or not; `exec`: when the step runs, in the state before it; `post`: after it."""

    prop: str
    cond: Expr
    message: str
    span: Span
    when: CheckWhen


@dataclass(frozen=True)
class Write:
    addr: Expr              # Lit for a static slot
    value: Expr
    candidates: tuple[int, ...]


@dataclass(frozen=True)
class Edge:
    id: int
    thread: int
    src: int
    dst: int
    guard: Expr | None      # the step is enabled only when this holds
    checks: tuple[Check, ...]
    writes: tuple[Write, ...]  # all values are computed in the state before the step
    text: str               # the statement as written
    span: Span
    context: tuple[str, ...]   # the procs it was inlined from, outermost first
    local: bool             # touches only its thread's locals: runs together with the step before
    shown: bool             # a statement a user wrote (bookkeeping is not shown in traces)
    acquires: Expr | None = None  # address of a lock this step acquires (for lock order)
    branch: str = ""        # which way a condition went: "true", "false", "branch 2"
    refs: tuple[tuple[str, int], ...] = ()  # names bound to objects here, and the slot holding each
    returns_from: str = ""  # the step that ends a call (and stores its result): the proc it leaves

    @property
    def shown_text(self) -> str:
        """The statement as traces and thread positions show it: a return step says so, or a
        thread about to leave a_ops_writepage would read as about to call it."""
        return f"return from {self.returns_from}: {self.text}" if self.returns_from else self.text


# A failed check in one of these leaves no meaningful next state, so that path ends there;
# any other failed check is reported and the step still runs, so every property's verdict
# covers every reachable state.
FATAL_CHECKS = frozenset({"bounds", "double_acquire", "release_unheld",
                          "bug"})  # a BUG_ON: the kernel oopses there


@dataclass(frozen=True)
class Thread:
    index: int
    name: str
    pc_slot: int
    entry: int
    end: int                # the pc of a finished thread
    node_count: int
    chained: frozenset[int]  # pcs where the thread never rests: local steps and atomic bodies
    atomic_nodes: frozenset[int]
    node_text: dict[int, tuple[str, Span]]  # what the thread is about to do at a pc
    local_slots: tuple[int, ...]
    group: str = ""          # the thread declaration it is an instance of (`w` for w[0], w[1], ...)
    instance: int = 0        # its `self`


@dataclass(frozen=True)
class ArrayLayout:
    """A global array: element k's slots are base + k * stride .. base + (k + 1) * stride - 1,
    each element laid out alike."""

    name: str
    base: int
    count: int
    stride: int

    def element(self, k: int) -> range:
        return range(self.base + k * self.stride, self.base + (k + 1) * self.stride)


@dataclass(frozen=True)
class Property:
    name: str
    kind: Literal["invariant", "lemma", "assertion", "requires", "ensures", "builtin"]
    span: Span | None
    cond: Expr | None = None  # for invariants and lemmas
    description: str = ""


@dataclass(frozen=True)
class Expectation:
    prop: str
    verdict: Literal["holds", "violation"]
    span: Span


@dataclass(frozen=True)
class LockInfo:
    name: str
    kind: str               # lock | spinlock | rwlock
    slot: int               # owner slot (writer slot for rwlocks)
    reader_slots: tuple[int, ...] = ()


@dataclass
class Model:
    path: str
    slots: list[Slot]
    initial: tuple[int, ...]
    threads: list[Thread]
    edges: list[Edge]
    properties: dict[str, Property]
    expectations: dict[str, Expectation]
    locks: list[LockInfo]
    init_edges: list[Edge] = field(default_factory=list)   # the init block, run atomically
    init_thread: Thread | None = None
    consts: dict[str, int] = field(default_factory=dict)
    arrays: list[ArrayLayout] = field(default_factory=list)
    asked: frozenset[str] | None = None   # --property: the properties to check and report (None: all)

    def is_asked(self, name: str) -> bool:
        return self.asked is None or name in self.asked

    def edges_from(self, thread: int, pc: int) -> list[Edge]:
        return [e for e in self.edges if e.thread == thread and e.src == pc]

    @property
    def invariants(self) -> list[Property]:
        return [p for p in self.properties.values() if p.kind in ("invariant", "lemma")]


def resting_pcs(model: Model, thread: Thread) -> list[int]:
    """The pcs a thread can rest at between steps: where a step can end, its entry and its
    end, but not inside a local chain or an atomic body."""
    pcs = {e.dst for e in model.edges if e.thread == thread.index} | {thread.entry, thread.end}
    return sorted(pc for pc in pcs if pc not in thread.chained)


def lock_takers(model: Model) -> set[int]:
    """The threads that ever write their own number into a lock (acquire, try_acquire)."""
    locks = {c for c, slot in enumerate(model.slots) if slot.kind in ("lock", "rw_writer")}
    return {e.thread for e in model.edges for w in e.writes
            if isinstance(w.value, Lit) and w.value.value == e.thread + 1 and locks & set(w.candidates)}
