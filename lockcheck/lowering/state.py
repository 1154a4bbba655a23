"""The state shared by the parts of a body's lowering (lowering/*.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ir
from ..source import Span
from ..lktypes import IntT
from .places import Place, ConstBinding, Binding, Frame, Loop

if TYPE_CHECKING:
    from .. import syntax as s
    from ..ir import Check, Write
    from ..lktypes import Type
    from ..lower import ModelBuilder


class LoweringState:
    """What every part of a body's lowering shares: the builder, the thread, its graph so far,
    the scopes, frames and loops it is inside."""

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
        self.obligations: list[tuple[ir.Expr, str, Span, str]] = []  # (cond, message, span, property)
        self.end_labels: list[tuple[int, Span]] = []  # nodes where the thread may rest for good
        self.edge_ids: list[int] = []
        # inside `choose p in A`: a reference made here names no element (-1) until it is
        # bound, so that renaming A's elements leaves it as it is (lockcheck/symmetry.py)
        self.choosing = 0

    thread_exit = -1
    in_ensures = False

    if TYPE_CHECKING:
        # What one part calls in another: BodyLowering puts the parts together, so each is
        # defined in a sibling (named on the right). Declared here, for mypy only, so that such
        # calls are checked against these signatures and each definition against its line here.
        def new_node(self) -> int: ...  # graph.py
        def new_local(self, name: str, type_: Type, visible: bool, values: tuple[int, ...] = ()) -> int: ...
        def edge(self, src: int, dst: int, *, text: str, span: Span, guard: ir.Expr | None = None,
                 checks: list[Check] | None = None, writes: list[Write] | None = None, shown: bool = True,
                 force_step: bool = False, acquires: ir.Expr | None = None, branch: str = "",
                 names_from: list[dict[str, tuple[Binding | Place, list[int]]]] | None = None,
                 returns_from: str = "") -> None: ...
        def resets(self, slots: list[int]) -> list[Write]: ...
        def lookup(self, name: str, span: Span) -> Binding | Place: ...  # scopes.py
        def bind(self, name: str, binding: Binding | Place, span: Span) -> None: ...
        def locals_from(self, depth: int) -> list[int]: ...
        def take_obligations(self, when: ir.CheckWhen) -> list[Check]: ...  # exprs.py
        def place(self, e: s.Expr) -> Place: ...
        def expr(self, e: s.Expr) -> tuple[ir.Expr, Type]: ...
        def want_bool(self, t: Type, e: s.Expr) -> None: ...
        def condition(self, e: s.Expr) -> tuple[ir.Expr, list[Check]]: ...
        def store(self, target: s.Expr, value: ir.Expr, vtype: Type, span: Span) -> tuple[Write, list[Check]]: ...
        def range_checks(self, target: Type, value: ir.Expr, vtype: Type, span: Span,
                         what: str = "value") -> list[Check]: ...
        def lock_query(self, e: s.LockQuery) -> ir.Expr: ...  # locks.py
        def held_by_thread(self, e: s.HeldBy) -> ir.Expr: ...
        def read_slot(self, p: Place, offset: int, sort: ir.Sort = "int") -> ir.Expr: ...
        def spin_free(self, span: Span, what: str) -> list[Check]: ...
        def try_acquire(self, rhs: s.TryAcquire, target: s.Expr, src: int, st: s.Stmt) -> int: ...
        def block(self, blk: s.Block, src: int) -> int: ...  # control.py
        def call(self, c: s.Call, src: int, target: s.Expr | None, st: s.Stmt) -> int: ...  # calls.py
        def waitqueue_call(self, c: s.Call, src: int, target: s.Expr | None, st: s.Stmt) -> int: ...  # waitqueues.py
