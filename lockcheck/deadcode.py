"""Statements a spec cannot run whatever the interleaving: those behind a condition that is
constant given the values the spec passes (`write_cache_page(p, false)` never takes the
`sync_all` path). Coverage reports them apart from the statements no interleaving happened
to run, which are the ones worth a warning.

A forward constant propagation over each thread's own locals, plus the globals no step and
no init block ever writes (they keep their initial value: `p.delalloc` in a spec whose pages
are never delalloc); other globals are unknown, as other threads write them. Sound: an edge
is called dead only when its source is unreachable or its guard is false under constants;
anything the analysis cannot decide counts as reachable."""
from __future__ import annotations

from . import ir
from .partial import Known, known_after, peval


def _targets(w: ir.Write) -> tuple[int, ...]:
    return (w.addr.value,) if isinstance(w.addr, ir.Lit) else w.candidates


def _join(a: Known, b: Known) -> Known:
    return {k: v for k, v in a.items() if b.get(k) == v}


def dead_edges(model: ir.Model) -> set[int]:
    """The ids of the edges no run of the spec can take."""
    dead: set[int] = set()
    written = {c for e in model.edges + model.init_edges for w in e.writes for c in _targets(w)}
    fixed = {i: model.initial[i] for i, slot in enumerate(model.slots)
             if slot.thread < 0 and slot.kind != "pc" and i not in written}
    for thread in model.threads:
        locals_ = set(thread.local_slots)
        edges = [e for e in model.edges if e.thread == thread.index]
        out: dict[int, list[ir.Edge]] = {}
        for e in edges:
            out.setdefault(e.src, []).append(e)
        facts: dict[int, Known] = {thread.entry: dict(fixed)}
        work = [thread.entry]
        taken: set[int] = set()
        while work:
            node = work.pop()
            known = facts[node]
            for e in out.get(node, []):
                if e.guard is not None and peval(e.guard, known) == 0:
                    continue
                taken.add(e.id)
                # only the thread's own locals and the never-written globals stay known
                after = {k: v for k, v in known_after(e, known).items() if k in locals_ or k in fixed}
                old = facts.get(e.dst)
                new = after if old is None else _join(old, after)
                if old is None or new != old:
                    facts[e.dst] = new
                    work.append(e.dst)
        dead |= {e.id for e in edges if e.id not in taken}
    return dead
