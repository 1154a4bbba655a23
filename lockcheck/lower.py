"""Syntax -> IR: type-checks statements and expressions while it inlines every call and
turns each thread into a graph of atomic steps over the flat state vector. One body's
lowering is in lowering/ (by job); this module owns the model being built and what is
not a body: properties, expectations, and the graph clean-up after every thread is in."""
from __future__ import annotations

from dataclasses import replace
from typing import Literal

from . import ir
from . import syntax as s
from .errors import Note, Sources, SpecError, did_you_mean
from .ir import Edge, conj
from .lowering.body import BodyLowering
from .lowering.waitqueues import waitqueue_use
from .resolve import MAX_SLOTS, Env, build_env, const_value
from .source import Span
from .lktypes import ArrayT, BoolT, IntT, StructT, Type, size_of

BUILTIN_PROPERTIES = {
    "deadlock": "some thread has not finished and none can move",
    "lock_order": "two locks are taken in both orders (a potential ABBA deadlock)",
    "double_acquire": "a thread acquires a lock it already holds",
    "release_unheld": "a thread releases a lock it does not hold",
    "sleep_under_spinlock": "a thread sleeps (acquires a sleeping lock or awaits) holding a spinlock",
    "exit_holding_lock": "a thread ends holding a lock",
    "bounds": "an int leaves its range, an index leaves its array, or a division by zero",
    "assertion": "an assert without a label fails",
    "bug": "a BUG_ON condition is true (the kernel would oops: that run ends there)",
    "use_after_free": "a thread touches a field, lock or flag of an object whose refcount is 0",
}
STEP_CHECKED_BUILTINS = frozenset({"bug", "use_after_free"})


class ModelBuilder:
    """Owns the growing state layout and edge list while threads are lowered."""

    def __init__(self, env: Env, sources: Sources):
        self.env = env
        self.sources = sources
        self.slots: list[ir.Slot] = list(env.slots)
        self.initial: list[int] = list(env.initial)
        self.global_count = len(self.slots)
        self.edges: list[Edge] = []
        self.locks = self._locks()
        self.assertions: dict[str, s.Assert] = {}
        self.checks_used: set[str] = set()   # the STEP_CHECKED_BUILTINS some step checks
        self.waitqueues = waitqueue_use(env.procs, [d.body for d, _ in env.threads], set(env.globals))

    def _locks(self) -> list[ir.LockInfo]:
        out: list[ir.LockInfo] = []
        for i, slot in enumerate(self.slots):
            if slot.kind == "lock":
                out.append(ir.LockInfo(slot.name, slot.lock_kind, i))
            elif slot.kind == "rw_writer":
                readers = tuple(range(i + 1, i + 1 + self.env.nthreads))
                out.append(ir.LockInfo(slot.name, "rwlock", i, readers))
        return out

    def new_slot(self, slot: ir.Slot, initial: int = 0) -> int:
        if len(self.slots) >= MAX_SLOTS:
            raise SpecError(f"the state has more than {MAX_SLOTS} variables")
        self.slots.append(slot)
        self.initial.append(initial)
        return len(self.slots) - 1

    def text_of(self, expr: s.Expr) -> str:
        sp = expr.span
        source = self.sources.files.get(sp.path)
        if source is None or sp.end_line == 0:
            return "?"
        if sp.end_line == sp.line:
            return source.line_text(sp.line)[sp.column - 1:sp.end_column - 1]
        lines = [source.line_text(sp.line)[sp.column - 1:]]
        lines += [source.line_text(n) for n in range(sp.line + 1, sp.end_line)]
        lines.append(source.line_text(sp.end_line)[:sp.end_column - 1])
        return " ".join(" ".join(lines).split())

    def object_name(self, addr: int, type_: Type) -> str:
        """The name a user knows the object of this type at this address by: pages[1]."""
        nthreads = self.env.nthreads
        for g in self.env.globals.values():
            name, base, t = g.name, g.base, g.type
            if not base <= addr < base + size_of(t, nthreads):
                continue
            while not (base == addr and t == type_):
                if isinstance(t, ArrayT):
                    stride = size_of(t.elem, nthreads)
                    k = (addr - base) // stride
                    name, base, t = f"{name}[{k}]", base + k * stride, t.elem
                elif isinstance(t, StructT):
                    off = base
                    for f in t.fields:
                        size = size_of(f.type, nthreads)
                        if off <= addr < off + size:
                            name, base, t = f"{name}.{f.name}", off, f.type
                            break
                        off += size
                    else:
                        break
                else:
                    break
            if base == addr and t == type_:
                return name
        return f"@{addr}"

    def array_position(self, addr: int, type_: Type) -> tuple[int, int, int] | None:
        """(base, stride, size) of the array whose element of this type sits at addr."""
        nthreads = self.env.nthreads
        for g in self.env.globals.values():
            base, t = g.base, g.type
            if not base <= addr < base + size_of(t, nthreads):
                continue
            while True:
                if isinstance(t, ArrayT):
                    stride = size_of(t.elem, nthreads)
                    k = (addr - base) // stride
                    if t.elem == type_ and base + k * stride == addr:
                        return base, stride, t.size
                    base, t = base + k * stride, t.elem
                elif isinstance(t, StructT):
                    f = next((f for f in t.fields if base + f.offset <= addr < base + f.offset
                              + size_of(f.type, nthreads)), None)
                    if f is None:
                        return None
                    base, t = base + f.offset, f.type
                else:
                    return None
        return None

    def note_assertion(self, prop: str, st: s.Assert) -> None:
        self.assertions.setdefault(prop, st)


def build_model(path: str, modules: list[s.Module], overrides: dict[str, str], sources: Sources) -> ir.Model:
    """The transition system of a loaded spec. Raises SpecError on any error in it."""
    env = build_env(modules, overrides)
    if not env.threads:
        raise SpecError("the spec declares no thread (add `thread NAME { ... }`)", Span(path, 1, 1))
    builder = ModelBuilder(env, sources)
    threads: list[ir.Thread] = []
    index = 0
    for decl, count in env.threads:
        for k in range(count):
            name = decl.name if decl.count is None else f"{decl.name}[{k}]"
            lowering = BodyLowering(builder, index, name, k, IntT(0, count - 1))
            thread = _finish_pc(builder, lowering.lower_body(decl.body, decl.span))
            threads.append(replace(thread, group=decl.name, instance=k))
            index += 1
    init_thread = None
    if len(env.inits) > 1:
        raise SpecError("only one init block is allowed", env.inits[1].span,
                        (Note(env.inits[0].span, "the first one is here"),))
    if env.inits:
        lowering = BodyLowering(builder, index, "init", 0, IntT(0, 0), is_init=True)
        init_thread = _finish_pc(builder, lowering.lower_body(env.inits[0].body, env.inits[0].span))
    properties = _properties(builder, env)
    expectations = _expectations(env, properties)
    consts = {name: c.value for name, c in env.consts.items()}
    edges, all_threads = _without_jumps(builder.edges, threads + ([init_thread] if init_thread else []))
    for th in all_threads:
        builder.initial[th.pc_slot] = th.entry
    if init_thread is not None:
        threads, init_thread = all_threads[:-1], all_threads[-1]
    else:
        threads = all_threads
    model = ir.Model(path, builder.slots, tuple(builder.initial), threads, edges, properties,
                     expectations, builder.locks, init_thread=init_thread, consts=consts,
                     arrays=[ir.ArrayLayout(g.name, g.base, g.type.size, size_of(g.type.elem, env.nthreads))
                             for g in env.globals.values() if isinstance(g.type, ArrayT)])
    return model


def _without_jumps(edges: list[Edge], threads: list[ir.Thread]) -> tuple[list[Edge], list[ir.Thread]]:
    """Drop the edges that only move the pc (the end of a block, of a branch, of a loop
    body): their source node becomes an alias of their target. Fewer chained steps per
    visible step, the same transition system."""
    from collections import Counter

    leaving = Counter((e.thread, e.src) for e in edges)
    alias: dict[tuple[int, int], int] = {}
    for e in edges:
        if (e.local and e.guard is None and not e.writes and not e.checks and e.acquires is None
                and leaving[(e.thread, e.src)] == 1 and e.src != e.dst):
            alias[(e.thread, e.src)] = e.dst

    def resolve(t: int, node: int) -> int:
        seen: set[int] = set()
        while (t, node) in alias and node not in seen:
            seen.add(node)
            node = alias[(t, node)]
        return node

    kept: list[Edge] = []
    for e in edges:
        if (e.thread, e.src) in alias:
            continue
        kept.append(replace(e, id=len(kept), src=resolve(e.thread, e.src), dst=resolve(e.thread, e.dst)))
    out_threads: list[ir.Thread] = []
    for th in threads:
        t = th.index
        atomic = frozenset(n for n in th.atomic_nodes if (t, n) not in alias)
        out: dict[int, list[Edge]] = {}
        for e in kept:
            if e.thread == t:
                out.setdefault(e.src, []).append(e)
        chained = {n for n, es in out.items() if all(e.local for e in es)} | atomic
        chained.discard(th.end)
        node_text = {n: v for n, v in th.node_text.items() if (t, n) not in alias}
        out_threads.append(replace(th, entry=resolve(t, th.entry), chained=frozenset(chained),
                                   atomic_nodes=atomic, node_text=node_text))
    return kept, out_threads


def _finish_pc(builder: ModelBuilder, thread: ir.Thread) -> ir.Thread:

    slot = builder.slots[thread.pc_slot]
    builder.slots[thread.pc_slot] = replace(slot, high=thread.node_count - 1)
    builder.initial[thread.pc_slot] = thread.entry
    return thread


def _properties(builder: ModelBuilder, env: Env) -> dict[str, ir.Property]:
    props: dict[str, ir.Property] = {}
    context = BodyLowering.__new__(BodyLowering)
    BodyLowering.__init__(context, builder, -1, "invariant", 0, IntT(0, 0), expr_only=True)
    for inv in env.invariants:
        cond, t = context.expr(inv.cond)
        context.want_bool(t, inv.cond)
        guards = [c for c, _, _, prop in context.obligations if prop == "bounds"]
        context.obligations = []
        props[inv.name] = ir.Property(inv.name, "lemma" if inv.lemma else "invariant", inv.span,
                                      conj(guards + [cond]), builder.text_of(inv.cond))
    for name, st in builder.assertions.items():
        if name == "assertion":
            continue
        if name in env.declared_at:
            raise SpecError(f"assert label '{name}' is already the name of something else", st.span,
                            (Note(env.declared_at[name], "declared here"),))
        props[name] = ir.Property(name, "assertion", st.span, None, st.text)
    contract_kinds: tuple[Literal["requires", "ensures"], ...] = ("requires", "ensures")
    for proc in env.procs.values():
        for kind in contract_kinds:
            conds = [c for c in proc.contracts if c.kind == kind]
            if conds:
                text = " && ".join(builder.text_of(c.cond) for c in conds)
                props[f"{proc.name}.{kind}"] = ir.Property(f"{proc.name}.{kind}", kind, conds[0].cond.span, None,
                                                           text)
    for name, description in BUILTIN_PROPERTIES.items():
        if name in STEP_CHECKED_BUILTINS and name not in builder.checks_used:
            continue  # only a spec with a BUG_ON (or a refcount) has these
        if name in props:
            raise SpecError(f"'{name}' is the name of a built-in check", props[name].span)
        # a check of its own kind to the engines: they find every property a failing step can
        # violate among the assertions
        props[name] = ir.Property(name, "assertion" if name in STEP_CHECKED_BUILTINS else "builtin", None, None,
                                  description)
    return props


def _expectations(env: Env, props: dict[str, ir.Property]) -> dict[str, ir.Expectation]:
    out: dict[str, ir.Expectation] = {}
    for exp in env.expects:
        if exp.when is not None:
            applies, type_ = const_value(env, exp.when)
            if not isinstance(type_, BoolT):
                raise SpecError(f"the condition after 'when' must be a constant bool, not {type_}", exp.when.span)
            if not applies:
                continue
        if exp.prop not in props:
            raise SpecError(f"expect names no property '{exp.prop}'{did_you_mean(exp.prop, set(props))}",
                            exp.prop_span)
        if exp.prop in out:
            raise SpecError(f"'{exp.prop}' has two expect lines that apply", exp.span, (Note(out[exp.prop].span, "first here"),))
        out[exp.prop] = ir.Expectation(exp.prop, exp.verdict, exp.span)  # type: ignore[arg-type]
    return out
