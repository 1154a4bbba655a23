"""The library's entry points: load a spec into a model, check it, build its state graph.
Never prints, never exits: the CLI does that."""
from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from . import accepted
from .engines.coverage import coverage_warnings
from .engines.errors import INTERRUPTED
from .engines.explicit import Found, SearchLimits, SearchProgress, check_frontier, default_max_memory
from .engines.system import TransitionSystem
from .engines.tracing import format_value
from .errors import Sources, SpecError
from .ir import Model
from .lower import build_model
from .resolve import load
from .result import LockOrderEdge, PropertyResult, Result, Stats, ViolationFound
from .syntax import UnreachedDecl

if TYPE_CHECKING:
    import networkx as nx


@dataclass
class Options:
    include_dirs: list[str] = field(default_factory=list)
    defines: dict[str, str] = field(default_factory=dict)
    max_states: int | None = None   # explicit: stop after this many states (None: no count limit)
    max_depth: int = 1_000_000
    fingerprints: bool = False      # kept for old command lines: the explicit engine always fingerprints
    engine: str = "explicit"        # explicit | bmc | induction | pdr | auto
    depth: int | None = None        # for bmc and induction (their defaults when None)
    timeout: float | None = None    # seconds: of the explicit search, and of Z3's time for bmc and induction
    max_memory: int | None = None   # bytes the explicit search may use (None: default_max_memory())
    more_candidates: bool = False   # induction: the costlier candidate shapes too
    reduction: bool = True          # explicit: partial-order reduction (same verdicts and traces, fewer states)
    symmetry: bool = True           # explicit: states up to interchangeable thread instances (likewise)
    properties: tuple[str, ...] = ()   # --property: check and report only these (empty: all)


def load_model(path: str, options: Options, sources: Sources) -> Model:
    """Parse, resolve, type-check and lower a spec (raises SpecError). Imports are searched
    beside the spec, in the -I folders, in the project's models/ folder, then in the models
    bundled with lockcheck."""
    return _load(path, options, sources)[0]


def _load(path: str, options: Options, sources: Sources) -> tuple[Model, list[UnreachedDecl]]:
    """The model, and the statements the spec says it leaves unreached (expect unreached)."""
    include_dirs = list(options.include_dirs)
    project = project_models_dir(path)
    if project is not None and all(Path(d).resolve() != project for d in include_dirs):
        include_dirs.append(str(project))
    modules = load(path, include_dirs, sources)
    model = build_model(path, modules, options.defines, sources)
    return model, accepted.declarations(modules)


def project_models_dir(spec: str) -> Path | None:
    """The project's own models/: the first models/ folder in the spec's folder or above it,
    looking no higher than the top of the git repository the spec is in (verify and diff
    both search it, so `specs/x.lk` finds `models/` at the repository root)."""
    folder = Path(spec).resolve().parent
    for d in (folder, *folder.parents):
        if (d / "models").is_dir():
            return (d / "models").resolve()
        if (d / ".git").exists():
            return None
    return None


def search_limits(options: Options) -> SearchLimits:
    memory = options.max_memory if options.max_memory is not None else default_max_memory()
    return SearchLimits(options.max_states, options.max_depth, memory, options.timeout, options.reduction,
                        options.symmetry)


def verify(path: str, options: Options, sources: Sources,
           progress: Callable[[SearchProgress], None] | None = None,
           on_violation: Callable[[ViolationFound], None] | None = None,
           on_step: Callable[[str], None] | None = None) -> Result:
    """Check a spec with the chosen engine. `auto` runs the explicit engine and, if a limit
    stops it before every verdict is known, k-induction for the properties left unknown
    (Result.engine `explicit+induction`; each property names the engine of its verdict).
    `on_violation`: told of each property's first violation as the explicit search finds it.
    `on_step`: told what a symbolic engine is doing (a depth, a k, a property), a line of text."""
    result = _verify(path, options, sources, progress, on_violation, on_step)
    if not result.stats.peak_memory_mb:
        result.stats.peak_memory_mb = peak_memory_mb()
    return result


def peak_memory_mb() -> float:
    """The process's peak resident memory so far, in MB (getrusage; 0.0 where it is unknown)."""
    try:
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except (ImportError, OSError):
        return 0.0
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)   # bytes on macOS, KB on Linux


def _verify(path: str, options: Options, sources: Sources, progress: Callable[[SearchProgress], None] | None,
            on_violation: Callable[[ViolationFound], None] | None,
            on_step: Callable[[str], None] | None = None) -> Result:
    model, unreached = _load(path, options, sources)
    if options.properties:
        model = replace(model, asked=_asked(model, options.properties))
    result = _check(model, unreached, options, progress, on_violation, on_step)
    if model.asked is not None:
        result.properties = [p for p in result.properties if p.name in model.asked]
        result.warnings.insert(0, "only the properties asked for were checked and reported (--property): "
                               + ", ".join(sorted(model.asked)))
    for p in result.properties:   # where the spec states what it expects (SARIF puts alerts there)
        if p.expect_span is None and (exp := model.expectations.get(p.name)) is not None:
            p.expect_span = exp.span
    return result


def _asked(model: Model, patterns: tuple[str, ...]) -> frozenset[str]:
    """The properties --property names: each a name or a shell-style pattern (`*.requires`)."""
    from fnmatch import fnmatchcase

    asked: set[str] = set()
    for pattern in patterns:
        matched = [name for name in model.properties if fnmatchcase(name, pattern)]
        if not matched:
            raise SpecError(f"--property {pattern}: {model.path} has no property of that name; its properties: "
                            + ", ".join(model.properties))
        asked.update(matched)
    return frozenset(asked)


def _check(model: Model, unreached: list[UnreachedDecl], options: Options,
           progress: Callable[[SearchProgress], None] | None,
           on_violation: Callable[[ViolationFound], None] | None,
           on_step: Callable[[str], None] | None = None) -> Result:
    if options.engine in ("bmc", "induction", "pdr"):
        return _symbolic_or_interrupted(model, options, on_step)
    result, _ = _explicit(model, unreached, options, progress, on_violation)
    if options.engine == "auto" and result.exit_code == 3 and result.stats.limit != INTERRUPTED:
        return _merge_auto(result, _symbolic_or_interrupted(model, replace(options, engine="induction"), on_step))
    return result


def _explicit(model: Model, unreached: list[UnreachedDecl], options: Options,
              progress: Callable[[SearchProgress], None] | None,
              on_violation: Callable[[ViolationFound], None] | None = None) -> tuple[Result, Found]:
    """The explicit engine's result with the statements the spec accepts as unreached moved
    out of its coverage; then, once, a warning per thread whose statements never ran (after a
    search that ran to its end: a partial one's coverage says nothing)."""
    told = None
    if on_violation is not None:
        def told(prop: str, depth: int, tell: Callable[[ViolationFound], None] = on_violation) -> None:
            exp = model.expectations.get(prop)
            tell(ViolationFound(model.path, prop, depth, exp is not None and exp.verdict == "violation"))
    result, found = check_frontier(model, search_limits(options), progress, told)
    result, stale = accepted.apply(result, unreached)
    if not found.limit:
        result.warnings += coverage_warnings(result.coverage)
    result.warnings += stale
    return result, found


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


def _symbolic_or_interrupted(model: Model, options: Options, on_step: Callable[[str], None] | None = None) -> Result:
    """A symbolic engine's result; stopped by Ctrl-C or SIGTERM, what it had found: Z3 itself
    turns an interrupt during a check into 'canceled', and one between checks leaves every
    property unknown."""
    started = time.perf_counter()
    try:
        try:
            result = _symbolic(model, options, on_step)
        except ctypes.ArgumentError as err:
            # an interrupt while ctypes converts an argument of a Z3 call arrives wrapped in this
            if "KeyboardInterrupt" not in str(err):
                raise
            raise KeyboardInterrupt from err
    except KeyboardInterrupt:
        properties = [PropertyResult(name, prop.kind, "unknown",
                                     exp.verdict if (exp := model.expectations.get(name)) else None,
                                     prop.span, prop.description, engine=options.engine,
                                     detail=f"{INTERRUPTED} stopped {options.engine} before a verdict")
                      for name, prop in model.properties.items()]
        return Result(model.path, options.engine, properties,
                      Stats(seconds=time.perf_counter() - started, limit=INTERRUPTED))
    if result.stats.limit == "Z3 giving up (canceled)":   # no --timeout: only an interrupt cancels
        result.stats.limit = INTERRUPTED
    return result


def _symbolic(model: Model, options: Options, on_step: Callable[[str], None] | None = None) -> Result:
    from .engines.symbolic.bmc import check_bmc  # Z3 is loaded only when a symbolic engine runs
    from .engines.symbolic.induction import check_induction
    from .engines.symbolic.shared import DEFAULT_BMC_DEPTH, DEFAULT_INDUCTION_DEPTH, Settings

    if options.engine == "pdr":
        from .engines.symbolic.pdr import check_pdr
        return check_pdr(model, Settings(options.depth or DEFAULT_BMC_DEPTH, options.timeout, progress=on_step))
    if options.engine == "bmc":
        return check_bmc(model, Settings(options.depth or DEFAULT_BMC_DEPTH, options.timeout, progress=on_step))
    return check_induction(model, Settings(options.depth or DEFAULT_INDUCTION_DEPTH, options.timeout,
                                             options.more_candidates, progress=on_step))


def verify_lock_order(path: str, options: Options, sources: Sources,
                      progress: Callable[[SearchProgress], None] | None = None
                      ) -> tuple[Result, list[LockOrderEdge]]:
    """Verify (explicit engine), and also return the lock-order graph the exploration saw:
    one edge per (lock held, lock acquired) pair, with the first step that took it in that order."""
    model, unreached = _load(path, options, sources)
    # without reduction or symmetry: the first step taking each pair is the one of the full search's order
    result, ex = _explicit(model, unreached, replace(options, reduction=False, symmetry=False), progress)
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
    reached = TransitionSystem(model).reach(options.max_states or 5_000, options.max_depth, graph=True)
    import networkx as nx  # imported here: it takes a tenth of a second to load

    graph = nx.DiGraph()
    for i, state in enumerate(reached.states):
        graph.add_node(i, label=describe_state(model, state), initial=reached.parent[i] < 0)
    for src, dst, eid in reached.graph or []:
        edge = model.edges[eid]
        thread = model.threads[edge.thread].name
        text = f"{edge.context[-1]}: {edge.text}" if edge.context else edge.text
        label = f"{thread}: {text}" + (f" [{edge.branch}]" if edge.branch else "") + f" ({edge.span.short})"
        graph.add_edge(src, dst, label=label, thread=thread, line=edge.span.line)
    return graph, bool(reached.limit)


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


__all__ = ["Options", "load_model", "verify", "verify_lock_order", "state_graph", "describe_state"]
