"""IR -> Python, for the scalar reference engine (explicit.py here): each thread's steps at
each pc compiled once into one Python function over the state tuple. The source is generated
from the checked IR only; no user text reaches it except as numbers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, cast

from lockcheck import ir
from lockcheck.ir import Bin, Check, Edge, Ite, Lit, Load, Un, Var

# outcome of one edge: (edge id, next state or None, failed check id or None, the edges this
# call ran on the way to that state, or before that failed check)
Outcome = tuple[int, tuple | None, int | None, tuple[int, ...]]
NodeFn = Callable[[tuple], list[Outcome]]


def _cdiv(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _cmod(a: int, b: int) -> int:
    return a - b * _cdiv(a, b)


_RUNTIME = {"_cdiv": _cdiv, "_cmod": _cmod}

_PYOP = {"+": "+", "-": "-", "*": "*", "==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
         "&&": "and", "||": "or"}


def pyexpr(e: ir.Expr, s: str = "s") -> str:
    if isinstance(e, Lit):
        return ("True" if e.value else "False") if e.sort == "bool" else str(e.value)
    if isinstance(e, Var):
        return f"{s}[{e.slot}]"
    if isinstance(e, Load):
        return f"{s}[{pyexpr(e.addr, s)}]"
    if isinstance(e, Un):
        return f"(not {pyexpr(e.arg, s)})" if e.op == "!" else f"(-{pyexpr(e.arg, s)})"
    if isinstance(e, Bin):
        a, b = pyexpr(e.left, s), pyexpr(e.right, s)
        if e.op == "/":
            return f"_cdiv({a}, {b})"
        if e.op == "%":
            return f"_cmod({a}, {b})"
        if e.op == "->":
            return f"((not {a}) or {b})"
        return f"({a} {_PYOP[e.op]} {b})"
    if isinstance(e, Ite):
        return f"({pyexpr(e.then, s)} if {pyexpr(e.cond, s)} else {pyexpr(e.other, s)})"
    raise AssertionError(e)


def compile_expr(e: ir.Expr) -> Callable[[tuple], int | bool]:
    """One IR expression as a Python function of the state (for tests and tools)."""
    namespace: dict[str, object] = dict(_RUNTIME)
    exec(compile(f"def f(s):\n    return {pyexpr(e)}\n", "<lockcheck expr>", "exec"), namespace)
    return namespace["f"]  # type: ignore[return-value]


CheckKey = tuple[int, int]  # (edge id, index of the check in edge.checks): the same in every Program


@dataclass
class Program:
    """The compiled model: node functions per thread and pc, invariants, lock-order hooks.

    With `inline_chains`, a node function also runs the local and atomic steps that follow
    each step (what the engine would otherwise do step by step), so one call yields resting
    states; an outcome's failed check may then belong to one of those following edges."""

    model: ir.Model
    node_fns: list[list[NodeFn | None]]       # [thread][pc]
    chained: list[frozenset[int]]
    checks: list[tuple[Edge, Check]]          # check id -> where it is
    fatal: list[bool]                         # check id -> does a failure end the path
    check_keys: list[CheckKey]                # check id -> its key
    invariants: Callable[[tuple], tuple[int, ...]]
    invariant_names: list[str]
    acquires: dict[int, Callable[[tuple], int]]  # edge id -> address of the lock it takes
    source: str
    inline_chains: bool
    coverage: bytearray                       # edge id -> 1 once a step that ran it has ended (the engine marks it)

    def check_id(self, key: CheckKey) -> int:
        return self.check_keys.index(key)


INLINE_BUDGET = 64  # chained edges inlined after one step before the engine takes over


def compile_model(model: ir.Model, inline_chains: bool = True) -> Program:
    threads = list(model.threads) + ([model.init_thread] if model.init_thread else [])
    gen = _Codegen(model, threads, inline_chains)
    lines: list[str] = []
    names: dict[tuple[int, int], str] = {}
    for (t, pc) in sorted(gen.by_node):
        fname = f"n_{t}_{pc}"
        names[(t, pc)] = fname
        lines += gen.node_function(fname, t, pc)
    acquire_names: dict[int, str] = {}
    for edge in model.edges:
        if edge.acquires is not None:
            acquire_names[edge.id] = f"acq_{edge.id}"
            lines.append(f"def acq_{edge.id}(s):\n    return {pyexpr(edge.acquires)}\n")
    invariants = model.invariants
    conds = [pyexpr(p.cond) for p in invariants if p.cond is not None]
    lines.append("def invariants(s):")
    if conds:
        lines.append(f"    if {' and '.join(f'({c})' for c in conds)}:")
        lines.append("        return ()")
        lines.append("    return tuple(i for i, ok in enumerate((" + ", ".join(conds) + ",)) if not ok)")
    else:
        lines.append("    return ()")
    source = "\n".join(lines) + "\n"
    coverage = bytearray(len(model.edges))
    namespace: dict[str, object] = dict(_RUNTIME)
    exec(compile(source, f"<lockcheck model {model.path}>", "exec"), namespace)  # generated from the IR only
    node_fns: list[list[NodeFn | None]] = []
    for t, thread in enumerate(threads):
        row: list[NodeFn | None] = [None] * thread.node_count
        for pc in range(thread.node_count):
            if (t, pc) in names:
                row[pc] = cast(NodeFn, namespace[names[(t, pc)]])
        node_fns.append(row)
    return Program(
        model=model,
        node_fns=node_fns,
        chained=[th.chained for th in threads],
        checks=gen.checks,
        fatal=[c.prop in ir.FATAL_CHECKS for _, c in gen.checks],
        check_keys=gen.keys,
        invariants=namespace["invariants"],  # type: ignore[arg-type]
        invariant_names=[p.name for p in invariants],
        acquires={eid: namespace[n] for eid, n in acquire_names.items()},  # type: ignore[misc]
        source=source,
        inline_chains=inline_chains,
        coverage=coverage,
    )


def _exclusive_pair(edges: list[Edge]) -> bool:
    """Two edges of a condition: `g` and `!g`, nothing checked before the guard."""
    if len(edges) != 2 or any(c.when == "attempt" for e in edges for c in e.checks):
        return False
    a, b = edges
    return a.guard is not None and b.guard == ir.negate(a.guard)


class _Codegen:
    """Writes one Python function per (thread, pc): nested ifs for checks and guards, the
    writes, and (inline_chains) the local steps that follow, until the thread rests."""

    def __init__(self, model: ir.Model, threads: list[ir.Thread], inline_chains: bool):
        self.model = model
        self.threads = threads
        self.inline = inline_chains
        self.checks: list[tuple[Edge, Check]] = []
        self.keys: list[CheckKey] = []
        self.by_node: dict[tuple[int, int], list[Edge]] = {}
        for edge in model.edges:
            self.by_node.setdefault((edge.thread, edge.src), []).append(edge)
        self.lines: list[str] = []
        self.fresh = 0

    def check_id(self, edge: Edge, check: Check) -> int:
        key = (edge.id, next(i for i, c in enumerate(edge.checks) if c is check))  # not ==: a deep compare
        self.checks.append((edge, check))
        self.keys.append(key)
        return len(self.checks) - 1

    def node_function(self, fname: str, t: int, pc: int) -> list[str]:
        self.lines = [f"def {fname}(s):", "    out = []"]
        self.fresh = 0
        budget = [INLINE_BUDGET]
        for edge in self.by_node[(t, pc)]:
            self.edge(edge, edge.id, "s", False, 1, frozenset([pc]), budget, guarded=False, ran=())
        self.lines += ["    return out", ""]
        return self.lines

    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def edge(self, edge: Edge, root: int, var: str, owned: bool, indent: int, visited: frozenset[int],
             budget: list[int], guarded: bool, ran: tuple[int, ...]) -> None:
        """Code for one edge from state `var` (a tuple, or a list this path owns); `ran`: the
        edges this path ran before it."""
        checks = edge.checks

        def fail(c: Check, v: str) -> None:
            nonlocal indent
            self.emit(indent, f"if not ({pyexpr(c.cond, v)}):")
            self.emit(indent + 1, f"out.append(({root}, None, {self.check_id(edge, c)}, {ran!r}))")
            if c.prop in ir.FATAL_CHECKS:
                self.emit(indent, "else:")
                indent += 1

        for c in checks:
            if c.when == "attempt":
                fail(c, var)
        if not guarded and edge.guard is not None and edge.guard != ir.TRUE:
            self.emit(indent, f"if {pyexpr(edge.guard, var)}:")
            indent += 1
        for c in checks:
            if c.when == "exec":
                fail(c, var)
        values = [(pyexpr(w.addr, var), pyexpr(w.value, var)) for w in edge.writes]
        self.fresh += 1
        out = f"n{self.fresh}"
        for i, (_, value) in enumerate(values):
            self.emit(indent, f"v{self.fresh}_{i} = {value}")
        self.emit(indent, f"{out} = {var}" if owned else f"{out} = list({var})")
        for i, (addr, _) in enumerate(values):
            self.emit(indent, f"{out}[{addr}] = v{self.fresh}_{i}")
        thread = self.threads[edge.thread]
        self.emit(indent, f"{out}[{thread.pc_slot}] = {edge.dst}")
        for c in checks:
            if c.when == "post":
                fail(c, out)
        self.follow(edge, root, out, indent, visited, budget, ran + (edge.id,))

    def follow(self, edge: Edge, root: int, var: str, indent: int, visited: frozenset[int],
               budget: list[int], ran: tuple[int, ...]) -> None:
        """After a step: run the chained edges at the destination inline, or rest (or leave
        the rest of the chain to the engine)."""
        t, dst = edge.thread, edge.dst
        nexts = self.by_node.get((t, dst), [])
        can_inline = (self.inline and dst in self.threads[t].chained and dst not in visited and nexts
                      and budget[0] >= len(nexts) and all(e.acquires is None for e in nexts))
        if not can_inline:
            self.emit(indent, f"out.append(({root}, tuple({var}), None, {ran!r}))")
            return
        budget[0] -= len(nexts)
        seen = visited | {dst}
        if len(nexts) == 1:
            self.edge(nexts[0], root, var, True, indent, seen, budget, guarded=False, ran=ran)
        elif _exclusive_pair(nexts):
            self.emit(indent, f"if {pyexpr(nexts[0].guard, var)}:")  # type: ignore[arg-type]
            self.edge(nexts[0], root, var, True, indent + 1, seen, budget, guarded=True, ran=ran)
            self.emit(indent, "else:")
            self.edge(nexts[1], root, var, True, indent + 1, seen, budget, guarded=True, ran=ran)
        else:
            for e in nexts:
                self.edge(e, root, var, False, indent, seen, budget, guarded=False, ran=ran)
