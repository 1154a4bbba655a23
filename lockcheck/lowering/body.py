"""One thread's body lowered: the parts put together."""
from __future__ import annotations

from .. import ir
from .. import syntax as s
from ..ir import Edge
from ..source import Span
from .calls import CallLowering
from .control import ControlLowering
from .exprs import ExprLowering
from .graph import StepGraph
from .locks import LockLowering
from .scopes import ScopeLowering
from .waitqueues import WaitqueueLowering


class BodyLowering(WaitqueueLowering, CallLowering, ControlLowering, LockLowering, ExprLowering, ScopeLowering, StepGraph):
    """Lowers one thread instance (or the init block): every call inlined, own pc and locals."""

    def lower_body(self, body: s.Block, span: Span) -> ir.Thread:
        entry = self.new_node()
        self.thread_exit = self.new_node()
        end = self.block(body, entry)
        self.edge(end, self.thread_exit, text="}", span=span, shown=False)
        done = self.new_node()
        checks = [] if self.is_init else self.exit_checks(span)
        self.atomic_nodes.discard(done)
        self.edge(self.thread_exit, done, text="end of thread", span=span, checks=checks, shown=False)
        for node, label_span in self.end_labels:
            # resting at an end label for good is the same as finishing there: no deadlock
            # waits on it, and nothing after it runs
            self.edge(node, done, text="end: rests here for good", span=label_span, force_step=True,
                      writes=self.resets(self.local_slots), branch="end state")
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
