"""Coverage from any explicit search: per thread (instances of a thread array together),
the statements no step ran, and the warning that says so."""
from __future__ import annotations

from ..deadcode import dead_edges
from ..ir import Model
from ..result import ThreadCoverage
from ..source import Span


def coverage(model: Model, covered: bytearray) -> list[ThreadCoverage]:
    """Per thread (instances of a thread array together), the statements no step ran.
    A statement counts as run if it ran at any of its call sites or on any branch; one that
    no run can reach (deadcode.py: behind a condition the spec's constant arguments decide)
    is listed apart, as unused."""
    dead = dead_edges(model)
    groups: dict[str, dict[tuple[str, int, int], tuple[str, Span, bool, bool]]] = {}
    for edge in model.edges:
        if not edge.shown or edge.thread >= len(model.threads):
            continue
        group = model.threads[edge.thread].group
        where = (edge.span.path, edge.span.line, edge.span.column)
        text = f"{edge.context[-1]}: {edge.text}" if edge.context else edge.text
        ran, unusable = bool(covered[edge.id]), edge.id in dead
        known = groups.setdefault(group, {}).get(where)
        if known is not None:
            ran, unusable = ran or known[2], unusable and known[3]
        groups[group][where] = (text, edge.span, ran, unusable)
    out = []
    for group, statements in groups.items():
        unreached = tuple((text, span) for text, span, ran, unusable in statements.values() if not ran and not unusable)
        unused = tuple((text, span) for text, span, ran, unusable in statements.values() if not ran and unusable)
        out.append(ThreadCoverage(group, len(statements), unreached, unused))
    return out


def coverage_warnings(covered: list[ThreadCoverage]) -> list[str]:
    """One warning per thread with statements that never ran (and no reason given): api.py
    writes them once, after the spec's `expect unreached` lines are applied."""
    out = []
    for cov in covered:
        if cov.unreached:
            first = ", ".join(f"{text} ({span.short})" for text, span in cov.unreached[:2])
            more = f" and {len(cov.unreached) - 2} more" if len(cov.unreached) > 2 else ""
            out.append(f"{cov.thread}: {len(cov.unreached)} of {cov.statements} statements never ran: {first}{more} "
                       f"(--coverage lists them)")
    return out
