"""Counterexamples as Mermaid sequence diagrams, which GitHub renders in markdown files,
issues and review comments: threads and the objects they touch are participants, each step
is a message from its thread to the object it changes (or reads), the step that breaks the
property is highlighted, and notes give where each thread ends up."""
from __future__ import annotations

import re

from ..result import PropertyResult, Result, Trace, TraceStep
from .bounded import Part, fit
from .json_report import breaking_steps

BREAK_COLOR = "rgba(255, 80, 80, 0.25)"


def escape(text: str) -> str:
    """Message text safe in a sequenceDiagram line: ';' ends a statement and '#' starts an
    entity in Mermaid, '<' '>' would be read as HTML."""
    out = text.replace("#", "#35;").replace(";", "#59;").replace("<", "#lt;").replace(">", "#gt;")
    return out.replace("\n", " ").replace("%%", "#37;#37;")


def object_of(name: str) -> str:
    """The object a variable belongs to: pages[0].locked -> pages[0]; writeback_done -> itself."""
    return name.split(".", 1)[0]


def _objects(trace: Trace) -> list[str]:
    seen: dict[str, None] = {}
    for step in trace.steps:
        for c in step.changes:
            if not c.local:
                seen.setdefault(object_of(c.name))
    for name, _ in trace.values:
        seen.setdefault(object_of(name))
    for ts in trace.final:
        for lock in ts.holds:
            seen.setdefault(object_of(lock))
    return list(seen)


def _mentions(text: str, obj: str) -> bool:
    return re.search(r"(?<![\w\]])" + re.escape(obj) + r"(?![\w\[])", text) is not None


def _targets(step: TraceStep, objects: list[str]) -> list[str]:
    changed = []
    for c in step.changes:
        if not c.local and object_of(c.name) not in changed:
            changed.append(object_of(c.name))
    if changed:
        return changed
    return [o for o in objects if _mentions(step.text, o)]


def _shown(trace: Trace, verbose: bool) -> list[int]:
    breaking = breaking_steps(trace)
    return [i for i, step in enumerate(trace.steps)
            if verbose or not step.local or step.failed or i in breaking]


def idle_threads(trace: Trace, prop: str = "", verbose: bool = False) -> list[str]:
    """Threads that take no step the diagram shows and hold no lock at the end: left out of
    the picture (the end-state table still lists them). In a deadlock every stuck thread
    is part of the story, so none is left out."""
    if prop == "deadlock":
        return []
    active = {trace.steps[i].thread for i in _shown(trace, verbose)}
    return [ts.thread for ts in trace.final if ts.thread not in active and not ts.holds]


def sequence_diagram(trace: Trace, prop: str = "", verbose: bool = False) -> str:
    idle = set(idle_threads(trace, prop, verbose))
    threads: list[str] = []
    for ts in trace.final:
        if ts.thread not in threads and ts.thread not in idle:
            threads.append(ts.thread)
    for step in trace.steps:
        if step.thread not in threads:
            threads.append(step.thread)
    candidates = _objects(trace)
    shown = _shown(trace, verbose)
    used = {o for i in shown for o in _targets(trace.steps[i], candidates)}
    objects = [o for o in candidates if o in used]   # an object no shown step touches is left out
    ids = {t: f"T{i}" for i, t in enumerate(threads)}
    oids = {o: f"O{i}" for i, o in enumerate(objects)}
    lines = ["sequenceDiagram"]
    if prop:
        lines.append("    title counterexample to " + re.sub(r"[#;<>%]", " ", prop))
    lines += [f"    participant {ids[t]} as {escape(t)}" for t in threads]
    lines += [f"    participant {oids[o]} as {escape(o)}" for o in objects]
    breaking = breaking_steps(trace)
    in_rect = False
    for i, step in enumerate(trace.steps):
        if step.local and not verbose and not step.failed and i not in breaking:
            continue
        me = ids[step.thread]
        targets = _targets(step, objects)
        to = oids[targets[0]] if targets else me
        text = step.text + (f" [{step.branch}]" if step.branch else "")
        label = (f"{step.number}. " if step.number is not None else "") + escape(text)
        changes = [f"{c.name}: {c.old} → {c.new}" for c in step.changes if verbose or not c.local]
        if changes:
            label += "<br/>" + "<br/>".join(escape(c) for c in changes)
        label += escape(f" ({step.span.short})")
        if i in breaking and not in_rect:
            lines.append(f"    rect {BREAK_COLOR}")
            in_rect = True
        elif i not in breaking and in_rect:
            lines.append("    end")
            in_rect = False
        lines.append(f"    {me}->>{to}: {label}")
        if step.failed:
            over = me if to == me else f"{me},{to}"
            lines.append(f"    Note over {over}: {escape('FAILS ' + step.failed)}")
        elif i == max(breaking):
            over = me if to == me else f"{me},{to}"
            summary = trace.summary if len(trace.summary) <= 120 else trace.summary[:117] + "..."
            lines.append(f"    Note over {over}: {escape('breaks it: ' + summary)}")
    if in_rect:
        lines.append("    end")
    for ts in trace.final:
        if (ts.status == "finished" and not ts.holds) or ts.thread in idle:
            continue
        text = ts.status if ts.status == "finished" else f"{ts.status} at {ts.at}"
        if ts.holds:
            text += f", holds {', '.join(ts.holds)}"
        lines.append(f"    Note over {ids[ts.thread]}: {escape(text)}")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(result: Result, verbose: bool = False) -> str:
    """A spec's results as markdown for a review comment: the verdict table, and each
    counterexample as a Mermaid sequence diagram with the state it ends in."""
    return fit(markdown_parts(result, verbose), None) + "\n"


def render_markdown_run(results: list[Result], verbose: bool = False, max_chars: int | None = None) -> str:
    """Every spec's markdown, at most max_chars characters: the diagrams of expected
    violations are left out first, then those of unexpected ones (last first), each leaving
    a line that says so; the verdict tables are always kept."""
    parts = [part for r in results for part in markdown_parts(r, verbose) + [Part("")]]
    return fit(parts, None if max_chars is None else max_chars - 1) + "\n"


def markdown_parts(result: Result, verbose: bool = False) -> list[Part]:
    out = [f"### {result.spec} ({result.engine} engine)", "",
           "| property | kind | verdict | expected |", "|---|---|---|---|"]
    for p in result.properties:
        if not (verbose or p.kind in ("invariant", "lemma", "assertion") or p.expected or p.verdict != "holds"):
            continue
        ok = p.as_expected
        mark = "ok" if ok else ("**UNEXPECTED**" if ok is False else "?")
        out.append(f"| {_cell(p.name)} | {p.kind} | {_cell(p.summary)} | {p.expected or 'holds'} ({mark}) |")
    parts = [Part("\n".join(out))]
    for p in result.properties:
        if p.verdict == "violated":
            how = "as expected" if p.expected == "violation" else "UNEXPECTED"
            left_out = (f"\n#### {p.name} violated ({how})\n\n(counterexample left out to keep this comment "
                        f"short; `lockcheck verify --trace mermaid {result.spec}` shows it)")
            parts.append(Part("\n" + _violation_markdown(p, verbose), omitted=left_out,
                              keep=1 if p.as_expected is False else 0))
    s = result.stats
    parts.append(Part("\n" + result.search_summary + (f"; stopped at {s.limit}" if s.limit else "")))
    return parts


def _violation_markdown(p: PropertyResult, verbose: bool) -> str:
    how = "as expected" if p.expected == "violation" else "UNEXPECTED"
    out = [f"#### {p.name} violated ({how})", "", _cell(p.message)]
    for edge in p.cycle:
        out.append(f"- `{edge.span.short}`: {edge.thread} takes {edge.acquired} while holding {edge.held}")
    if p.trace is not None:
        idle = idle_threads(p.trace, p.name, verbose)
        left_out = f" ({', '.join(idle)}: no step, left out of the diagram)" if idle else ""
        out += ["", f"Shortest counterexample, {p.trace.length} steps{left_out}:", "", "```mermaid",
                sequence_diagram(p.trace, p.name, verbose).rstrip("\n"), "```"]
        if p.trace.values:
            out += ["", "Values at the end: " + ", ".join(f"`{n} = {v}`" for n, v in p.trace.values)]
        out += ["", "| thread | status | where | holds |", "|---|---|---|---|"]
        for ts in p.trace.final:
            where = "" if ts.status == "finished" else f"`{ts.at}`" + (f" ({ts.span.short})" if ts.span else "")
            out.append(f"| {_cell(ts.thread)} | {ts.status} | {_cell(where)} | {_cell(', '.join(ts.holds) or '-')} |")
    return "\n".join(out)
