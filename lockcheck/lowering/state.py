"""The state shared by the parts of a body's lowering (lowering/*.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ir
from ..source import Span
from ..lktypes import IntT
from .places import Place, ConstBinding, Binding, Frame, Loop

if TYPE_CHECKING:
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

    thread_exit = -1
    in_ensures = False
