"""The lock-order graph (locks as nodes, an edge A -> B when some thread takes B while
holding A) as Graphviz DOT. Edges on a cycle, a potential ABBA deadlock, are red."""
from __future__ import annotations

from ..result import LockOrderEdge


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def cyclic_edges(edges: list[LockOrderEdge]) -> set[tuple[str, str]]:
    """The (held, acquired) pairs that lie on a cycle of the graph."""
    import networkx as nx

    graph = nx.DiGraph((e.held, e.acquired) for e in edges)
    on_cycle: set[tuple[str, str]] = set()
    for component in nx.strongly_connected_components(graph):
        if len(component) > 1:
            on_cycle |= {(a, b) for a, b in graph.subgraph(component).edges}
    return on_cycle


def locks_to_dot(edges: list[LockOrderEdge], locks: list[str] | None = None) -> str:
    bad = cyclic_edges(edges)
    lines = ["digraph lock_order {", "  rankdir=LR;", "  node [shape=box, style=rounded, fontname=monospace];",
             "  edge [fontname=monospace, fontsize=9];"]
    names = list(dict.fromkeys((locks or []) + [n for e in edges for n in (e.held, e.acquired)]))
    for name in names:
        lines.append(f"  {_quote(name)};")
    for e in edges:
        style = ", color=red, fontcolor=red, penwidth=2" if (e.held, e.acquired) in bad else ""
        label = f"{e.thread} ({e.span.short})"
        lines.append(f"  {_quote(e.held)} -> {_quote(e.acquired)} [label={_quote(label)}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
