"""IR -> Python: each thread's steps at each pc compiled once into one Python function over
the state tuple, so the explicit engine never walks an AST per state. The source is generated
from the checked IR only; no user text reaches it except as numbers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import ir
from .ir import Bin, Check, Edge, Ite, Lit, Load, Un, Var

# outcome of one edge: (edge id, next state or None, failed check id or None)
Outcome = tuple[int, tuple | None, int | None]
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


@dataclass
class Program:
    """The compiled model: node functions per thread and pc, invariants, lock-order hooks."""

    model: ir.Model
    node_fns: list[list[NodeFn | None]]       # [thread][pc]
    chained: list[frozenset[int]]
    checks: list[tuple[Edge, Check]]          # check id -> where it is
    fatal: list[bool]                         # check id -> does a failure end the path
    invariants: Callable[[tuple], tuple[int, ...]]
    invariant_names: list[str]
    acquires: dict[int, Callable[[tuple], int]]  # edge id -> address of the lock it takes
    source: str


def compile_model(model: ir.Model) -> Program:
    lines: list[str] = []
    checks: list[tuple[Edge, Check]] = []
    threads = list(model.threads) + ([model.init_thread] if model.init_thread else [])
    by_node: dict[tuple[int, int], list[Edge]] = {}
    for edge in model.edges:
        by_node.setdefault((edge.thread, edge.src), []).append(edge)
    names: dict[tuple[int, int], str] = {}
    for (t, pc), edges in sorted(by_node.items()):
        fname = f"n_{t}_{pc}"
        names[(t, pc)] = fname
        pc_slot = threads[t].pc_slot
        lines.append(f"def {fname}(s):")
        lines.append("    out = []")
        for edge in edges:
            lines += ["    " + x for x in _edge_code(edge, pc_slot, checks)]
        lines.append("    return out")
        lines.append("")
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
    namespace: dict[str, object] = dict(_RUNTIME)
    exec(compile(source, f"<lockcheck model {model.path}>", "exec"), namespace)  # generated from the IR only
    node_fns: list[list[NodeFn | None]] = []
    for t, thread in enumerate(threads):
        row: list[NodeFn | None] = [None] * thread.node_count
        for pc in range(thread.node_count):
            if (t, pc) in names:
                row[pc] = namespace[names[(t, pc)]]  # type: ignore[assignment]
        node_fns.append(row)
    return Program(
        model=model,
        node_fns=node_fns,
        chained=[th.chained for th in threads],
        checks=checks,
        fatal=[c.prop in ir.FATAL_CHECKS for _, c in checks],
        invariants=namespace["invariants"],  # type: ignore[arg-type]
        invariant_names=[p.name for p in invariants],
        acquires={eid: namespace[n] for eid, n in acquire_names.items()},  # type: ignore[misc]
        source=source,
    )


def _edge_code(edge: Edge, pc_slot: int, checks: list[tuple[Edge, Check]]) -> list[str]:
    """Nested ifs: attempt checks, guard, exec checks, writes, post checks."""
    def check_id(c: Check) -> int:
        checks.append((edge, c))
        return len(checks) - 1

    attempt = [c for c in edge.checks if c.when == "attempt"]
    exec_ = [c for c in edge.checks if c.when == "exec"]
    post = [c for c in edge.checks if c.when == "post"]
    code: list[str] = [f"# edge {edge.id}: {edge.text[:60]!r} line {edge.span.line}".replace("\n", " ")]
    indent = ""

    def fail_branch(c: Check, var: str = "s") -> None:
        nonlocal indent
        code.append(f"{indent}if not ({pyexpr(c.cond, var)}):")
        code.append(f"{indent}    out.append(({edge.id}, None, {check_id(c)}))")
        if c.prop in ir.FATAL_CHECKS:
            code.append(f"{indent}else:")
            indent += "    "

    for c in attempt:
        fail_branch(c)
    if edge.guard is not None and edge.guard != ir.TRUE:
        code.append(f"{indent}if {pyexpr(edge.guard)}:")
        indent += "    "
    for c in exec_:
        fail_branch(c)
    values = [(pyexpr(w.addr), pyexpr(w.value)) for w in edge.writes]
    for i, (_, value) in enumerate(values):
        code.append(f"{indent}v{i} = {value}")
    code.append(f"{indent}n = list(s)")
    for i, (addr, _) in enumerate(values):
        code.append(f"{indent}n[{addr}] = v{i}")
    code.append(f"{indent}n[{pc_slot}] = {edge.dst}")
    code.append(f"{indent}n = tuple(n)")
    for c in post:
        fail_branch(c, "n")
    code.append(f"{indent}out.append(({edge.id}, n, None))")
    return code
