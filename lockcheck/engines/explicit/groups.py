"""Thread groups: the threads of a thread array (`thread bio_end[NPAGES]`) run the same
code on different slots. Their edges are merged into one edge per position whose
expressions say, where the instances differ, which slot (VarI) or value (LitI) each one
uses, so a frontier is stepped once for the whole group instead of once per thread."""
from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from ... import ir


@dataclass(frozen=True)
class VarI:
    """s[slots[i]] for instance i of the group."""

    slots: tuple[int, ...]
    sort: ir.Sort


@dataclass(frozen=True)
class LitI:
    """values[i] for instance i of the group."""

    values: tuple[int, ...]
    sort: ir.Sort


class Mismatch(Exception):
    """The instances' code differs in shape: they are not a group."""


def merge(exprs: list[ir.Expr]) -> object:
    """One expression for all instances (recursion as deep as the expressions, which the
    language bounds at 200 levels)."""
    first = exprs[0]
    if any(type(e) is not type(first) for e in exprs):
        raise Mismatch
    # every e has first's type (checked above): the casts say so to the type checker. The
    # merged parts may be VarI/LitI, not IR, hence the arg-type ignores on the IR nodes.
    if isinstance(first, ir.Lit):
        values = tuple(e.value for e in cast("list[ir.Lit]", exprs))
        return first if len(set(values)) == 1 else LitI(values, first.sort)
    if isinstance(first, ir.Var):
        slots = tuple(e.slot for e in cast("list[ir.Var]", exprs))
        return first if len(set(slots)) == 1 else VarI(slots, first.sort)
    if isinstance(first, ir.Load):
        loads = cast("list[ir.Load]", exprs)
        candidates = tuple(sorted({c for e in loads for c in e.candidates}))
        return ir.Load(merge([e.addr for e in loads]), candidates, first.sort)  # type: ignore[arg-type]
    if isinstance(first, ir.Un):
        uns = cast("list[ir.Un]", exprs)
        if any(e.op != first.op for e in uns):
            raise Mismatch
        return ir.Un(first.op, merge([e.arg for e in uns]), first.sort)  # type: ignore[arg-type]
    if isinstance(first, ir.Bin):
        bins = cast("list[ir.Bin]", exprs)
        if any(e.op != first.op for e in bins):
            raise Mismatch
        return ir.Bin(first.op, merge([e.left for e in bins]), merge([e.right for e in bins]),  # type: ignore[arg-type]
                      first.sort)
    if isinstance(first, ir.Ite):
        ites = cast("list[ir.Ite]", exprs)
        return ir.Ite(merge([e.cond for e in ites]), merge([e.then for e in ites]),  # type: ignore[arg-type]
                      merge([e.other for e in ites]), first.sort)  # type: ignore[arg-type]
    raise Mismatch


def thread_groups(model: ir.Model) -> list[list[int]]:
    """The model's threads in groups of instances of one thread array (a thread on its own
    is a group of one), each group in thread order, groups by their first thread."""
    by_name: dict[str, list[int]] = {}
    for t in model.threads:
        by_name.setdefault(t.group, []).append(t.index)
    groups: list[list[int]] = []
    for members in by_name.values():
        if len(members) > 1 and _same_shape(model, members):
            groups.append(members)
        else:
            groups += [[t] for t in members]
    return sorted(groups)


def _same_shape(model: ir.Model, members: list[int]) -> bool:
    threads = [model.threads[t] for t in members]
    a = threads[0]
    if any((t.entry, t.end, t.node_count, t.chained, t.atomic_nodes) != (a.entry, a.end, a.node_count, a.chained,
                                                                           a.atomic_nodes) for t in threads):
        return False
    nodes = [_nodes(model, t) for t in members]
    if any(set(n) != set(nodes[0]) for n in nodes):
        return False
    try:
        for pc in nodes[0]:
            edges = [n[pc] for n in nodes]
            if any(len(es) != len(edges[0]) for es in edges):
                return False
            for k in range(len(edges[0])):
                merge_edge([es[k] for es in edges])
    except Mismatch:
        return False
    return True


def _nodes(model: ir.Model, t: int) -> dict[int, list[ir.Edge]]:
    out: dict[int, list[ir.Edge]] = {}
    for e in model.edges:
        if e.thread == t:
            out.setdefault(e.src, []).append(e)
    return out


@dataclass(frozen=True)
class MergedEdge:
    """The edge at one position of every instance: the expressions merged, the writes'
    static slots per instance."""

    edges: tuple[ir.Edge, ...]
    guard: object | None
    checks: tuple[object, ...]           # merged conditions, in edge.checks order
    writes: tuple[tuple[tuple[int, ...] | None, object, object], ...]  # (static slots, or None; addr; value)
    acquires: object | None


def merge_edge(edges: list[ir.Edge]) -> MergedEdge:
    a = edges[0]
    for e in edges:
        if (e.dst, e.src, e.local, len(e.checks), len(e.writes), e.acquires is None, e.guard is None) != (
                a.dst, a.src, a.local, len(a.checks), len(a.writes), a.acquires is None, a.guard is None):
            raise Mismatch
        if any((c.prop, c.when) != (d.prop, d.when) for c, d in zip(e.checks, a.checks)):
            raise Mismatch
        if any(isinstance(w.addr, ir.Lit) != isinstance(v.addr, ir.Lit) for w, v in zip(e.writes, a.writes)):
            raise Mismatch
    guard = merge([e.guard for e in edges]) if a.guard is not None else None  # type: ignore[misc]
    checks = tuple(merge([e.checks[k].cond for e in edges]) for k in range(len(a.checks)))
    writes: list[tuple[tuple[int, ...] | None, object, object]] = []
    for k, w in enumerate(a.writes):
        value = merge([e.writes[k].value for e in edges])
        if isinstance(w.addr, ir.Lit):
            writes.append((tuple(e.writes[k].addr.value for e in edges), None, value))  # type: ignore[union-attr]
        else:
            writes.append((None, merge([e.writes[k].addr for e in edges]), value))
    acquires = merge([e.acquires for e in edges]) if a.acquires is not None else None  # type: ignore[misc]
    return MergedEdge(tuple(edges), guard, checks, tuple(writes), acquires)
