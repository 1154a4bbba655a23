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
from .pycompile import _cdiv, _cmod

Consts = dict[int, int]   # slot -> value; a slot absent is unknown


def _eval(e: ir.Expr, env: Consts) -> int | None:
    """The value of `e` if the known slots decide it, else None."""
    if isinstance(e, ir.Lit):
        return e.value
    if isinstance(e, ir.Var):
        return env.get(e.slot)
    if isinstance(e, ir.Load):   # known when every slot it may read holds the same known value
        values = {env.get(c) for c in e.candidates}
        return values.pop() if len(values) == 1 else None
    if isinstance(e, ir.Un):
        a = _eval(e.arg, env)
        if a is None:
            return None
        return int(not a) if e.op == "!" else -a
    if isinstance(e, ir.Ite):
        c = _eval(e.cond, env)
        if c is None:
            return None
        return _eval(e.then if c else e.other, env)
    if isinstance(e, ir.Bin):
        return _eval_bin(e, env)
    return None


def _eval_bin(e: ir.Bin, env: Consts) -> int | None:
    a = _eval(e.left, env)
    if e.op in ("&&", "||", "->"):   # one known side can decide it
        b = _eval(e.right, env)
        if e.op == "&&":
            if a == 0 or b == 0:
                return 0
            return None if a is None or b is None else 1
        first = a if e.op == "||" else (None if a is None else int(not a))   # p -> q is !p || q
        if first or b:
            return 1
        return None if first is None or b is None else 0
    b = _eval(e.right, env)
    if a is None or b is None:
        return None
    ops = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
           "/": lambda: _cdiv(a, b) if b else None, "%": lambda: _cmod(a, b) if b else None,
           "==": lambda: int(a == b), "!=": lambda: int(a != b), "<": lambda: int(a < b),
           "<=": lambda: int(a <= b), ">": lambda: int(a > b), ">=": lambda: int(a >= b)}
    fn = ops.get(e.op)
    return fn() if fn else None


def _targets(w: ir.Write) -> tuple[int, ...]:
    return (w.addr.value,) if isinstance(w.addr, ir.Lit) else w.candidates


def _join(a: Consts, b: Consts) -> Consts:
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
        facts: dict[int, Consts] = {thread.entry: dict(fixed)}
        work = [thread.entry]
        taken: set[int] = set()
        while work:
            node = work.pop()
            env = facts[node]
            for e in out.get(node, []):
                if e.guard is not None and _eval(e.guard, env) == 0:
                    continue
                taken.add(e.id)
                after = dict(env)
                for w in e.writes:   # all computed in the state before the step
                    if isinstance(w.addr, ir.Lit) and w.addr.value in locals_:
                        value = _eval(w.value, env)
                        if value is None:
                            after.pop(w.addr.value, None)
                        else:
                            after[w.addr.value] = value
                    elif not isinstance(w.addr, ir.Lit):
                        for c in w.candidates:
                            after.pop(c, None)
                old = facts.get(e.dst)
                new = after if old is None else _join(old, after)
                if old is None or new != old:
                    facts[e.dst] = new
                    work.append(e.dst)
        dead |= {e.id for e in edges if e.id not in taken}
    return dead
