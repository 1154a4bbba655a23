"""The library's entry points: load a spec into a model, check it, build its state graph.
Never prints, never exits: the CLI does that."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable

from .engines.explicit import Explorer, Limits, Progress, check_explicit
from .engines.tracing import format_value
from .errors import Sources
from .ir import Model
from .lower import build_model
from .pycompile import Program, compile_model
from .resolve import load
from .result import LockOrderEdge, Result

if TYPE_CHECKING:
    import networkx as nx


@dataclass
class Options:
    include_dirs: list[str] = field(default_factory=list)
    defines: dict[str, str] = field(default_factory=dict)
    max_states: int = 2_000_000
    max_depth: int = 1_000_000
    fingerprints: bool = False
    engine: str = "explicit"        # explicit | bmc | induction | pdr | auto
    depth: int | None = None        # for bmc and induction (their defaults when None)
    timeout: float | None = None    # seconds of Z3 time for bmc and induction
    more_candidates: bool = False   # induction: the costlier candidate shapes too


def load_model(path: str, options: Options, sources: Sources) -> Model:
    """Parse, resolve, type-check and lower a spec (raises SpecError)."""
    modules = load(path, options.include_dirs, sources)
    return build_model(path, modules, options.defines, sources)


def verify(path: str, options: Options, sources: Sources,
           progress: Callable[[Progress], None] | None = None) -> Result:
    """Check a spec with the chosen engine. `auto` runs the explicit engine and, if a limit
    stops it before every verdict is known, k-induction for the properties left unknown
    (Result.engine `explicit+induction`; each property names the engine of its verdict)."""
    model = load_model(path, options, sources)
    program = compile_model(model)
    if options.engine in ("bmc", "induction", "pdr"):
        return _symbolic(program, options)
    result, _ = check_explicit(program, Limits(options.max_states, options.max_depth, options.fingerprints),
                               progress)
    if options.engine == "auto" and result.exit_code == 3:
        return _merge_auto(result, _symbolic(program, replace(options, engine="induction")))
    return result


def _merge_auto(explicit: Result, symbolic: Result) -> Result:
    """The explicit engine's verdicts where it reached one (its violations keep their
    traces), the symbolic engine's for the properties a limit left unknown."""
    theirs = {p.name: p for p in symbolic.properties}
    merged = [theirs.get(p.name, p) if p.verdict == "unknown" else p for p in explicit.properties]
    warnings = [f"the explicit engine stopped at {explicit.stats.limit}; {symbolic.engine} answered for the "
                "properties it left unknown"] + explicit.warnings + symbolic.warnings
    # the states are the explicit engine's; the time is both engines'
    stats = replace(explicit.stats, seconds=explicit.stats.seconds + symbolic.stats.seconds,
                    limit=symbolic.stats.limit)
    return Result(explicit.spec, f"explicit+{symbolic.engine}", merged, stats, warnings, explicit.coverage)


def _symbolic(program: Program, options: Options) -> Result:
    from .engines.bmc import check_bmc  # Z3 is loaded only when a symbolic engine runs
    from .engines.induction import check_induction
    from .engines.symbolic import DEFAULT_BMC_DEPTH, DEFAULT_INDUCTION_DEPTH, Settings

    if options.engine == "pdr":
        from .engines.pdr import check_pdr
        return check_pdr(program, Settings(options.depth or DEFAULT_BMC_DEPTH, options.timeout))
    if options.engine == "bmc":
        return check_bmc(program, Settings(options.depth or DEFAULT_BMC_DEPTH, options.timeout))
    return check_induction(program, Settings(options.depth or DEFAULT_INDUCTION_DEPTH, options.timeout,
                                             options.more_candidates))


def verify_lock_order(path: str, options: Options, sources: Sources,
                      progress: Callable[[Progress], None] | None = None) -> tuple[Result, list[LockOrderEdge]]:
    """Verify (explicit engine), and also return the lock-order graph the exploration saw:
    one edge per (lock held, lock acquired) pair, with the first step that took it in that order."""
    model = load_model(path, options, sources)
    program = compile_model(model)
    result, ex = check_explicit(program, Limits(options.max_states, options.max_depth, options.fingerprints),
                                progress)
    names: dict[int, str] = {}
    for info in model.locks:
        names[info.slot] = info.name
        for slot in info.reader_slots:
            names.setdefault(slot, info.name)
    edges = []
    for (held, acquired), (_, eid, t) in sorted(ex.lock_edges.items()):
        edge = model.edges[eid]
        edges.append(LockOrderEdge(names.get(held, model.slots[held].name),
                                   names.get(acquired, model.slots[acquired].name),
                                   model.threads[t].name, edge.span))
    return result, edges


def state_graph(path: str, options: Options, sources: Sources) -> tuple[nx.DiGraph, bool]:
    """The reachable state graph: nodes are states, edges are steps labelled with thread,
    statement and line. The flag says whether a limit cut the graph short."""
    model = load_model(path, options, sources)
    program = compile_model(model)
    explorer = Explorer(program, Limits(options.max_states, options.max_depth), record_graph=True)
    ex = explorer.explore()
    import networkx as nx  # imported here: it takes a tenth of a second to load

    graph = nx.DiGraph()
    for i in range(ex.count):
        graph.add_node(i, label=describe_state(model, ex.state(i)), initial=ex.parent[i] < 0)
    for src, dst, eid in ex.graph_edges or []:
        edge = model.edges[eid]
        thread = model.threads[edge.thread].name
        text = f"{edge.context[-1]}: {edge.text}" if edge.context else edge.text
        label = f"{thread}: {text}" + (f" [{edge.branch}]" if edge.branch else "") + f" ({edge.span.short})"
        graph.add_edge(src, dst, label=label, thread=thread, line=edge.span.line)
    return graph, bool(ex.limit)


def describe_state(model: Model, state: tuple) -> str:
    parts = []
    for t in model.threads:
        pc = state[t.pc_slot]
        at = "done" if pc == t.end else t.node_text.get(pc, ("?", None))[0]
        parts.append(f"{t.name} @ {at}")
    for i, slot in enumerate(model.slots):
        if slot.thread < 0 and slot.kind != "rw_reader":
            parts.append(f"{slot.name}={format_value(model, i, state[i])}")
    return "\n".join(parts)


__all__ = ["Options", "load_model", "verify", "verify_lock_order", "state_graph", "describe_state", "Program"]
