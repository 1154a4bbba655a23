"""Results as text for a terminal or a review comment: a verdict table, then each
counterexample as a table of steps and the state it ends in."""
from __future__ import annotations

from tabulate import tabulate

from ..result import PropertyResult, Result, Trace


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
    unused = [(cov.thread, text, span) for cov in result.coverage for text, span in cov.unused]
    if unused:
        lines.append("statements this spec cannot run (its constant arguments and never-written fields rule them out):")
        for thread, text, span in unused:
            lines.append(f"  {thread}: {span.short:<24} {text}")
    return "\n".join(lines)


def render_result(result: Result, verbose: bool = False, coverage: bool = False) -> str:
    out: list[str] = [f"== {result.spec} ({result.engine} engine)"]
    shown = [p for p in result.properties
             if verbose or p.kind in ("invariant", "lemma", "assertion") or p.expected or p.verdict != "holds"]
    quiet = [p.name for p in result.properties if p not in shown]
    rows = [[p.name, p.kind, p.summary, _expect_cell(p)] for p in shown]
    out.append(tabulate(rows, headers=["property", "kind", "verdict", "expected"], tablefmt="simple"))
    if quiet:
        out.append(f"also checked, no violation: {', '.join(quiet)}")
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
    return "\n".join(out)


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
    return "\n".join(lines)


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
        lines = ["", "   shortest counterexample, " + f"{trace.length} steps:", _indent(table, "   ")]
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
        final.append([ts.thread, ts.status, where, ", ".join(ts.holds) or "-"])
    lines.append(_indent(tabulate(final, headers=["thread", "status", "where", "holds"], tablefmt="simple"), "   "))
    return "\n".join(lines)


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())
