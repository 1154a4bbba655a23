"""The state graph as Graphviz DOT text."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import networkx as nx


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: "nx.DiGraph") -> str:
    lines = ["digraph states {", "  node [shape=box, fontname=monospace, fontsize=9];",
             "  edge [fontname=monospace, fontsize=8];"]
    for node, data in graph.nodes(data=True):
        extra = ", style=bold" if data.get("initial") else ""
        lines.append(f"  s{node} [label={_quote(data.get('label', str(node)))}{extra}];")
    for a, b, data in graph.edges(data=True):
        lines.append(f"  s{a} -> s{b} [label={_quote(data.get('label', ''))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_dot(graph: "nx.DiGraph", path: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        out.write(to_dot(graph))
