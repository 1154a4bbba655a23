"""Results as text for a terminal or a review comment: a verdict table, then each
counterexample as a table of steps and the state it ends in. Control characters from a spec
(an ANSI escape in a string, say) are shown escaped, never sent to the terminal."""
from __future__ import annotations

from tabulate import tabulate

from ..result import LockOrderEdge, PropertyResult, Result, Trace
from ..source import printable, printable_lines


def _expect_cell(p: PropertyResult) -> str:
    ok = p.as_expected
    mark = "ok" if ok else ("UNEXPECTED" if ok is False else "?")
    return f"{p.expected or 'holds'} ({mark})"


def render_coverage(result: Result) -> str:
    lines = ["statements that never ran:"]
    for cov in result.coverage:
        lines.append(f"  {cov.thread}: {len(cov.unreached)} of {cov.statements}")
        for text, span in cov.unreached:
            lines.append(f"    {span.short:<24} {text}")
    accepted = [(cov.thread, text, span, why) for cov in result.coverage for text, span, why in cov.accepted]
    if accepted:
        lines.append("statements the spec expects to leave unreached (expect unreached):")
        for thread, text, span, why in accepted:
            lines.append(f"  {thread}: {span.short:<24} {text}  -- {why}")
    unused = [(cov.thread, text, span) for cov in result.coverage for text, span in cov.unused]
    if unused:
        lines.append("statements this spec cannot run (its constant arguments and never-written fields rule them out):")
        for thread, text, span in unused:
            lines.append(f"  {thread}: {span.short:<24} {text}")
    return printable_lines("\n".join(lines))


def render_result(result: Result, verbose: bool = False, coverage: bool = False, quiet: bool = False) -> str:
    """The spec's report. quiet (-q, for gates): only what is not as expected (properties,
    their counterexamples, warnings, a limit); "" when everything is."""
    if quiet:
        return _render_unexpected(result, verbose)
    out: list[str] = [f"== {result.spec} ({result.engine} engine)"]
    shown = [p for p in result.properties
             if verbose or p.kind in ("invariant", "lemma", "assertion") or p.expected or p.verdict != "holds"]
    shown = shown or list(result.properties)   # only built-in checks that hold (--property deadlock): a row each
    quiet_names = [p.name for p in result.properties if p not in shown]
    rows = [[p.name, p.kind, p.summary, _expect_cell(p)] for p in shown]
    out.append(tabulate(rows, headers=["property", "kind", "verdict", "expected"], tablefmt="simple"))
    if quiet_names:
        out.append(f"also checked, no violation: {', '.join(quiet_names)}")
    hidden = []
    for p in result.properties:
        if p.verdict == "violated":
            out.append("")
            out.append(render_violation(p, verbose))
        elif p.verdict == "unknown" and p.detail and p.expected and p.engine == "explicit":
            out.append(f"{p.name}: {p.detail}")
        elif p.explanation and (verbose or p.expected or p.kind != "builtin"):
            out.append("")   # a symbolic engine's explanation (k-induction: the counterexample to induction)
            out.append(f"-- {p.name}: {p.detail}")
        elif p.explanation:
            hidden.append(p.name)
    if hidden:
        out.append("")
        what = "inductive invariants" if result.engine == "pdr" else "counterexamples to induction"
        out.append(f"(-v shows the {what} of {', '.join(hidden)})")
    for w in result.warnings:
        if not (coverage and "never ran" in w):
            out.append(f"warning: {w}")
    if coverage:
        out.append(render_coverage(result))
    s = result.stats
    line = result.search_summary
    if s.states and s.seconds > 0 and result.engine == "explicit":   # auto's time includes Z3's
        line += f" ({s.states / s.seconds:,.0f} states/s)"
    out.append("")
    out.append(line)
    if s.limit:
        out.append(f"stopped at {s.limit}: properties not violated so far are unknown")
    return printable_lines("\n".join(out))


def _render_unexpected(result: Result, verbose: bool) -> str:
    odd = [p for p in result.properties if p.as_expected is not True]
    if not odd and not result.warnings and not result.stats.limit:
        return ""
    out = [f"== {result.spec} ({result.engine} engine)"]
    if odd:
        rows = [[p.name, p.kind, p.summary, _expect_cell(p)] for p in odd]
        out.append(tabulate(rows, headers=["property", "kind", "verdict", "expected"], tablefmt="simple"))
    for p in odd:
        if p.verdict == "violated":
            out += ["", render_violation(p, verbose)]
    out += [f"warning: {w}" for w in result.warnings]
    if result.stats.limit:
        out.append(f"stopped at {result.stats.limit}: properties not violated so far are unknown")
    return printable_lines("\n".join(out))


def summary_line(results: list[Result], errors: int = 0, seconds: float | None = None) -> str:
    """One line for the end of a run of several specs (and of every -q run)."""
    props = [p for r in results for p in r.properties]
    unexpected = [(r.spec, p.name) for r in results for p in r.properties if p.as_expected is False]
    unknown = sum(1 for p in props if p.as_expected is None)
    expected_violations = sum(1 for p in props if p.as_expected and p.verdict == "violated")
    specs = len(results) + errors
    head = f"lockcheck: {specs} spec{'s' if specs != 1 else ''}, {len(props)} properties: "
    parts = []
    if unexpected:
        names = "; ".join(f"{spec}: {name}" for spec, name in unexpected[:5])
        more = f"; {len(unexpected) - 5} more" if len(unexpected) > 5 else ""
        parts.append(f"{len(unexpected)} UNEXPECTED ({names}{more})")
    if unknown:
        parts.append(f"{unknown} unknown")
    if errors:
        parts.append(f"{errors} spec{'s' if errors != 1 else ''} with errors")
    warned = sum(1 for r in results if r.warnings)
    if not parts:
        parts.append(f"every expectation met ({expected_violations} expected violation"
                     f"{'s' if expected_violations != 1 else ''})")
    if warned:
        parts.append(f"warnings in {warned} spec{'s' if warned != 1 else ''}")
    tail = f", {seconds:.1f} s" if seconds is not None else ""
    return printable(head + ", ".join(parts) + tail)


def render_violation(p: PropertyResult, verbose: bool = False) -> str:
    head = f"-- {p.name} violated"
    if p.expected == "violation":
        head += " (as expected)"
    else:
        head += " (UNEXPECTED)"
    lines = [head, f"   {p.message}"]
    for edge in p.cycle:
        lines.append(f"   {edge.span}: {edge.thread} takes {edge.acquired} while holding {edge.held}")
    if p.trace is not None:
        lines.append(render_trace(p.trace, verbose))
    cycle = list(p.cycle) if p.cycle else (deadlock_cycle(p.trace) if p.name == "deadlock" and p.trace else [])
    if cycle:
        lines += ["", "   as lockdep would print it:", _indent(render_lockdep(cycle, deadlock=not p.cycle), "   ")]
    return printable_lines("\n".join(lines))


def deadlock_cycle(trace: Trace) -> list[LockOrderEdge]:
    """The deadlock as a lock-order cycle, when it is one: each blocked thread waits to
    acquire a lock that the next one holds (ThreadState.waits_for and holds, as the engine
    recorded them). Empty when some thread waits for something else (an await, a lock
    nobody holds)."""
    from ..source import Span

    holder = {lock: ts for ts in trace.final for lock in ts.holds}
    waiting = {ts.thread: ts for ts in trace.final
               if ts.status == "blocked" and ts.waits_for in holder and ts.holds
               and holder[ts.waits_for].thread != ts.thread}
    for start in waiting:   # follow thread -> the holder of the lock it waits for, back to start
        chain, thread = [], start
        while thread in waiting and thread not in chain:
            chain.append(thread)
            thread = holder[waiting[thread].waits_for].thread
        if thread == start and len(chain) >= 2:
            wanted = {waiting[t].waits_for for t in chain}
            edges = []
            for t in chain:
                ts = waiting[t]
                held = next(lock for lock in ts.holds if lock in wanted)   # the one the next thread waits for
                edges.append(LockOrderEdge(held, ts.waits_for, t, ts.span or Span("?", 1, 1)))
            # edges[i]: thread i holds edges[i].held and wants edges[i].acquired (held by thread i+1)
            return edges[1:] + edges[:1]
    return []


def render_lockdep(cycle: list[LockOrderEdge], deadlock: bool = False) -> str:
    """A lock-order cycle in the shape of the kernel's lockdep report (kernel/locking/
    lockdep.c: print_circular_bug_header, print_circular_lock_scenario): the task closing
    the cycle, the lock it holds, the existing dependency chain in reverse order, and the
    CPU0/CPU1 scenario. cycle[i].acquired is cycle[i+1].held; the last edge closes it."""
    last = cycle[-1]
    title = "possible circular locking dependency detected"
    rule = "=" * (len(title) + 9)
    doing = "is trying to acquire lock" if not deadlock else "is blocked acquiring lock"
    out = [rule, f"WARNING: {title}", "-" * len(rule),
           f"{last.thread} {doing}:", f" ({last.acquired}), at: {_site(last)}", "",
           "but task is already holding lock:", f" ({last.held})", "",
           "which lock already depends on the new lock.", "", "",
           "the existing dependency chain (in reverse order) is:", ""]
    for j in range(len(cycle) - 1, 0, -1):
        edge = cycle[j - 1]
        out += [f"-> #{j} ({edge.acquired}):", f"       {_site(edge)}, {edge.thread} holding {edge.held}", ""]
    out += [f"-> #0 ({last.acquired}):", f"       {_site(last)}, {last.thread} holding {last.held}", ""]
    out += ["other info that might help us debug this:", ""]
    if len(cycle) > 2:
        chain = " --> ".join(f"{e.acquired}" for e in cycle[:-1])
        out += ["Chain exists of:", f"  {last.acquired} --> {chain}", ""]
    target, parent, source = last.held, cycle[0].held, last.acquired
    if len(cycle) == 2:
        parent = cycle[0].held
    width = 31
    out += [" Possible unsafe locking scenario:", "",
            f"       {'CPU0':<{width - 7}}CPU1", f"       {'----':<{width - 7}}----",
            f"  lock({target});",
            f"{'':<{width}}lock({parent});",
            f"{'':<{width}}lock({target});",
            f"  lock({source});", "",
            " *** DEADLOCK ***" + ("" if deadlock else " (possible: this interleaving need not reach it)")]
    return "\n".join(out)


def _site(edge: LockOrderEdge) -> str:
    return edge.span.short


def render_trace(trace: Trace, verbose: bool = False) -> str:
    """One row per step; steps and changes local to a thread are detail, shown with verbose."""
    rows = []
    for step in trace.steps:
        if step.local and not verbose and not step.failed:
            continue
        text = step.text + (f"  [{step.branch}]" if step.branch else "")
        changes = "\n".join(f"{c.name}: {c.old} -> {c.new}" for c in step.changes if verbose or not c.local)
        if step.failed:
            changes = (changes + "\n" if changes else "") + f"FAILS {step.failed}"
        rows.append(["" if step.number is None else step.number, step.thread, text, step.span.short, changes])
    if rows:
        table = tabulate(rows, headers=["step", "thread", "statement", "where", "changes"], tablefmt="simple")
        steps = f"{trace.length} step" + ("" if trace.length == 1 else "s")
        lines = ["", f"   shortest counterexample, {steps}:", _indent(table, "   ")]
    else:
        lines = ["", "   the initial state already breaks it (0 steps)"]
    if trace.values:
        lines += ["", "   values at the end: " + ", ".join(f"{name} = {value}" for name, value in trace.values)]
    lines += ["", "   state at the end:"]
    final = []
    for ts in trace.final:
        where = ""
        if ts.status != "finished":
            where = f"at {ts.at}" + (f" ({ts.span.short})" if ts.span else "")
            if ts.waits_for and ts.waits_for not in ts.at:   # the statement computes which lock
                where += f", waiting for {ts.waits_for}"
        final.append([ts.thread, ts.status, where, ", ".join(ts.holds) or "-"])
    lines.append(_indent(tabulate(final, headers=["thread", "status", "where", "holds"], tablefmt="simple"), "   "))
    return printable_lines("\n".join(lines))


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())
