"""Results as one self-contained HTML page (no network: styles and the one small script are
inline): per spec the verdict table, per violated property a swimlane diagram of the
counterexample (a lane per thread, a row per step, the state changes of each step), the
breaking step marked, and the state each thread ends in (blocked where, holding what)."""
from __future__ import annotations

import re
from html import escape as _esc

from ..result import PropertyResult, Result, Trace
from .json_report import Run, breaking_steps, tool_version
from .mermaid import idle_threads

_CSS = """
:root { --bad: #c62828; --bad-bg: #fdecea; --ok: #2e7d32; --ok-bg: #e8f5e9; --warn: #8d6e00; --warn-bg: #fff8e1;
        --line: #d0d7de; --muted: #57606a; --lane: #f6f8fa; --mono: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1f2328; margin: 0; background: #fff; }
header.top { padding: 14px 24px; border-bottom: 1px solid var(--line); background: #f6f8fa; display: flex; gap: 16px; align-items: baseline; }
header.top h1 { font-size: 18px; margin: 0; }
header.top .totals { color: var(--muted); }
main { padding: 8px 24px 40px; }
section.spec { margin-top: 22px; }
section.spec > h2 { font-size: 17px; font-family: var(--mono); margin: 0 0 8px; display: flex; gap: 10px; align-items: center; }
.badge { font: 600 11px/1 system-ui, sans-serif; padding: 4px 7px; border-radius: 10px; text-transform: uppercase; letter-spacing: .03em; white-space: nowrap; }
.badge.ok { color: var(--ok); background: var(--ok-bg); }
.badge.bad { color: #fff; background: var(--bad); }
.badge.unknown { color: var(--warn); background: var(--warn-bg); }
table { border-collapse: collapse; }
table.verdicts td, table.verdicts th { border-bottom: 1px solid var(--line); padding: 3px 12px 3px 0; text-align: left; }
table.verdicts td.name { font-family: var(--mono); }
tr.unexpected td { color: var(--bad); font-weight: 600; }
.stats, .muted { color: var(--muted); font-size: 12.5px; }
.warning { color: var(--warn); font-size: 12.5px; }
details.cti { margin: 8px 0; } details.cti summary { cursor: pointer; font-family: var(--mono); }
details.cti pre { background: var(--warn-bg); padding: 10px; border-radius: 6px; overflow-x: auto; font-size: 12px; }
.error pre { color: var(--bad); background: var(--bad-bg); padding: 10px; border-radius: 6px; overflow-x: auto; }
article.violation { margin: 18px 0 28px; border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
article.violation.unexpected { border-color: var(--bad); box-shadow: 0 0 0 1px var(--bad); }
article.violation > header { padding: 10px 14px; background: #f6f8fa; border-bottom: 1px solid var(--line); }
article.violation.unexpected > header { background: var(--bad-bg); }
article.violation h3 { margin: 0 0 4px; font-size: 15px; display: flex; gap: 10px; align-items: center; }
article.violation h3 code { font-size: 15px; }
.message { font-family: var(--mono); font-size: 12.5px; margin: 0; white-space: pre-wrap; }
.controls { font-size: 12.5px; color: var(--muted); padding: 6px 14px; border-bottom: 1px solid var(--line); }
.scroll { overflow-x: auto; }
table.trace { width: 100%; font-size: 12.5px; }
table.trace th { position: sticky; top: 0; background: #fff; border-bottom: 2px solid var(--line); padding: 6px 8px; text-align: left; font-family: var(--mono); font-size: 12.5px; }
table.trace td { padding: 4px 8px; vertical-align: top; border-bottom: 1px solid #eef1f4; }
table.trace td.lane, table.trace th.lane-head { border-left: 1px solid var(--line); min-width: 150px; }
table.trace td.lane { background: var(--lane); background-clip: padding-box; }
table.trace td.num { color: var(--muted); text-align: right; width: 3em; font-variant-numeric: tabular-nums; }
table.trace td.lane.active { background: hsl(var(--hue) 85% 95%); border-left: 4px solid hsl(var(--hue) 60% 45%); }
table.trace th.lane-head { border-top: 4px solid hsl(var(--hue) 60% 45%); }
tr.merged td { border-bottom-color: transparent; }
tr.merged td.lane.active { border-left-style: dotted; }
.stmt { font-family: var(--mono); white-space: pre-wrap; word-break: break-word; }
.proc { color: var(--muted); }
.branch { font: 600 11px system-ui, sans-serif; color: #6639ba; margin-left: 6px; }
.where { color: var(--muted); font-size: 11.5px; font-family: var(--mono); }
td.changes { font-family: var(--mono); min-width: 260px; }
td.changes ul { margin: 0; padding: 0; list-style: none; }
td.changes li.local { color: var(--muted); }
.old { color: var(--muted); text-decoration: line-through; }
.new { font-weight: 600; }
tr.merged td.num { color: transparent; }
tr.local { display: none; }
table.trace.show-local tr.local { display: table-row; opacity: .65; }
tr.breaking td { background: var(--bad-bg); }
tr.breaking td.num { color: var(--bad); font-weight: 700; }
tr.breaking td.num::before { content: "\\25B6  "; }
table.trace tr.breaking td.lane.active { background: #ffd7d5; border-left: 4px solid var(--bad); }
.fails { display: inline-block; margin-top: 3px; font: 700 11px system-ui, sans-serif; color: #fff; background: var(--bad); padding: 2px 6px; border-radius: 4px; }
tr.final td { border-top: 2px solid var(--line); background: #fff; }
table.trace tr.final td.lane { background: #fff; }
.status { font: 700 11px system-ui, sans-serif; text-transform: uppercase; padding: 2px 6px; border-radius: 4px; }
.status.blocked { color: #fff; background: #9a6700; }
.status.ready { color: #0969da; background: #ddf4ff; }
.status.finished { color: var(--ok); background: var(--ok-bg); }
.holds { margin-top: 3px; font-family: var(--mono); }
.holds b { color: #9a6700; }
nav.toc { margin: 16px 0 8px; } nav.toc h2 { font-size: 15px; margin: 0 0 6px; }
nav.toc ol { margin: 0; padding-left: 22px; font-family: var(--mono); font-size: 13px; } nav.toc li { margin: 2px 0; }
nav.toc a.unexpected { color: var(--bad); font-weight: 600; }
a.self { color: inherit; text-decoration: none; } a.self:hover { text-decoration: underline; }
.idle { padding: 4px 14px; }
.values { padding: 8px 14px; font-family: var(--mono); font-size: 12px; color: var(--muted); border-top: 1px solid var(--line); }
"""

_JS = """
document.querySelectorAll('input.toggle-local').forEach(function (box) {
  box.addEventListener('change', function () {
    document.getElementById(box.dataset.table).classList.toggle('show-local', box.checked);
  });
});
"""


_HUES = (210, 140, 275, 35, 180, 300, 95, 245)


def e(text: object) -> str:
    return _esc(str(text), quote=True)


def _badge(p: PropertyResult) -> str:
    ok = p.as_expected
    if ok is None:
        return '<span class="badge unknown">unknown</span>'
    if ok:
        return '<span class="badge ok">as expected</span>'
    return '<span class="badge bad">unexpected</span>'


def _stmt(text: str, branch: str) -> str:
    proc, sep, rest = text.partition(": ")
    body = f'<span class="proc">{e(proc)}:</span> {e(rest)}' if sep and " " not in proc else e(text)
    if branch:
        body += f'<span class="branch">{e(branch)}</span>'
    return f'<div class="stmt">{body}</div>'


def _trace_table(trace: Trace, prop: str, table_id: str) -> str:
    idle = set(idle_threads(trace, prop, verbose=True))   # no step, no lock: named below the table instead
    lanes: list[str] = []
    for ts in trace.final:
        if ts.thread not in lanes and ts.thread not in idle:
            lanes.append(ts.thread)
    for s in trace.steps:
        if s.thread not in lanes:
            lanes.append(s.thread)
    hue = {t: _HUES[i % len(_HUES)] for i, t in enumerate(lanes)}   # a colour per thread; red marks the break
    head = "".join(f'<th class="lane-head" data-lane="{e(t)}" style="--hue: {hue[t]}">{e(t)}</th>' for t in lanes)
    rows = []
    breaking = breaking_steps(trace)
    for i, s in enumerate(trace.steps):
        classes = ["step"]
        if s.number is None:
            classes.append("merged")
        if s.local and i not in breaking:
            classes.append("local")
        if i in breaking:
            classes.append("breaking")
        cells = []
        for t in lanes:
            if t == s.thread:
                inner = _stmt(s.text, s.branch) + f'<div class="where">{e(s.span.short)}</div>'
                if s.failed:
                    inner += f'<div class="fails">FAILS {e(s.failed)}</div>'
                elif i == max(breaking):
                    inner += f'<div class="fails">breaks {e(prop)}</div>'
                cells.append(f'<td class="lane active" data-lane="{e(t)}" style="--hue: {hue[t]}">{inner}</td>')
            else:
                cells.append(f'<td class="lane" data-lane="{e(t)}"></td>')
        changes = "".join(
            f'<li class="{"local" if c.local else "shared"}" data-var="{e(c.name)}">{e(c.name)}: '
            f'<span class="old">{e(c.old)}</span> → <span class="new">{e(c.new)}</span></li>'
            for c in s.changes)
        number = "" if s.number is None else str(s.number)
        attrs = f' data-step="{number}"' if number else ""
        rows.append(f'<tr class="{" ".join(classes)}" data-row="{i}"{attrs} data-thread="{e(s.thread)}">'
                    f'<td class="num">{number}</td>{"".join(cells)}<td class="changes"><ul>{changes}</ul></td></tr>')
    final_cells = []
    by_thread = {ts.thread: ts for ts in trace.final}
    for t in lanes:
        final_state = by_thread.get(t)
        if final_state is None:
            final_cells.append(f'<td class="lane" data-lane="{e(t)}"></td>')
            continue
        ts = final_state
        inner = f'<span class="status {e(ts.status)}">{e(ts.status)}</span>'
        if ts.status != "finished":
            inner += f'<div class="stmt">at {e(ts.at)}</div>'
            if ts.span is not None:
                inner += f'<div class="where">{e(ts.span.short)}</div>'
        if ts.holds:
            inner += f'<div class="holds">holds <b>{e(", ".join(ts.holds))}</b></div>'
        final_cells.append(f'<td class="lane end" data-lane="{e(t)}" data-status="{e(ts.status)}">{inner}</td>')
    rows.append(f'<tr class="final"><td class="num">end</td>{"".join(final_cells)}<td class="changes"></td></tr>')
    idle_note = ""
    if idle:
        idle_note = ('<div class="idle muted">took no step (not drawn): '
                     + ", ".join(f'<span data-idle="{e(ts.thread)}">{e(ts.thread)} ({e(ts.status)}'
                                 + (f" at {e(ts.at)}" if ts.status != "finished" else "") + ")</span>"
                                 for ts in trace.final if ts.thread in idle) + "</div>")
    return (idle_note + f'<div class="scroll"><table class="trace" id="{table_id}" data-property="{e(prop)}" '
            f'data-lanes="{len(lanes)}"><thead><tr><th class="num">step</th>{head}<th>changes</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def anchor(index: int, prop: str = "") -> str:
    """The id of spec number `index` in the page, or of one of its violations."""
    return f"spec-{index}" + (f"-{re.sub(r'[^A-Za-z0-9_.-]', '_', prop)}" if prop else "")


def _violation(p: PropertyResult, table_id: str, index: int = 0) -> str:
    unexpected = p.as_expected is False
    out = [f'<article class="violation{" unexpected" if unexpected else ""}" id="{anchor(index, p.name)}" '
           f'data-property="{e(p.name)}" '
           f'data-expected="{e(p.expected or "holds")}">',
           f'<header><h3><code>{e(p.name)}</code> violated {_badge(p)}</h3>',
           f'<p class="message">{e(p.message)}</p>']
    for edge in p.cycle:
        out.append(f'<p class="message">{e(edge.span.short)}: {e(edge.thread)} takes {e(edge.acquired)} '
                   f'while holding {e(edge.held)}</p>')
    if p.span is not None:
        out.append(f'<div class="where">{e(p.kind)} at {e(str(p.span))}</div>')
    out.append("</header>")
    if p.trace is not None:
        t = p.trace
        hidden = sum(1 for s in t.steps if s.local and not s.failed)
        out.append(f'<div class="controls">shortest counterexample, <b>{t.length}</b> steps'
                   + (f' &middot; <label><input type="checkbox" class="toggle-local" data-table="{table_id}"> '
                      f'show {hidden} thread-local steps</label>' if hidden else "") + "</div>")
        out.append(_trace_table(t, p.name, table_id))
        if t.values:
            out.append('<div class="values">values at the end: '
                       + ", ".join(f"{e(n)} = <b>{e(v)}</b>" for n, v in t.values) + "</div>")
    out.append("</article>")
    return "\n".join(out)


def _spec_section(result: Result, index: int) -> str:
    unexpected = [p for p in result.properties if p.as_expected is False]
    unknown = [p for p in result.properties if p.as_expected is None]
    badge = ('<span class="badge bad">unexpected</span>' if unexpected else
             '<span class="badge unknown">unknown</span>' if unknown else '<span class="badge ok">as expected</span>')
    out = [f'<section class="spec" id="{anchor(index)}" data-spec="{e(result.spec)}" data-exit="{result.exit_code}">',
           f'<h2><a class="self" href="#{anchor(index)}">{e(result.spec)}</a> {badge}</h2>',
           '<table class="verdicts"><thead><tr><th>property</th><th>kind</th><th>verdict</th><th>expected</th>'
           '<th></th></tr></thead><tbody>']
    quiet = []
    for p in result.properties:
        if not (p.kind in ("invariant", "lemma", "assertion") or p.expected or p.verdict != "holds"):
            quiet.append(p.name)
            continue
        cls = ' class="unexpected"' if p.as_expected is False else ""
        name = (f'<a href="#{anchor(index, p.name)}">{e(p.name)}</a>' if p.verdict == "violated" and p.trace
                else e(p.name))
        out.append(f'<tr{cls} data-property="{e(p.name)}"><td class="name">{name}</td><td>{e(p.kind)}</td>'
                   f'<td>{e(p.summary)}</td><td>{e(p.expected or "holds")}</td><td>{_badge(p)}</td></tr>')
    out.append("</tbody></table>")
    if quiet:
        out.append(f'<p class="muted">also checked, no violation: {e(", ".join(quiet))}</p>')
    s = result.stats
    out.append(f'<p class="stats">{e(result.search_summary)}, {e(result.engine)} engine'
               + (f' &middot; <b>stopped at {e(s.limit)}</b>' if s.limit else "") + "</p>")
    for w in result.warnings:
        out.append(f'<p class="warning">warning: {e(w)}</p>')
    # unexpected violations first: they are why someone opened the page
    ordered = sorted((p for p in result.properties if p.verdict == "violated"), key=lambda p: p.as_expected is not False)
    for k, p in enumerate(ordered):
        out.append(_violation(p, f"trace-{index}-{k}", index))
    for p in result.properties:
        if p.explanation:   # why k-induction did not prove it: the counterexample to induction
            out.append(f'<details class="cti" data-property="{e(p.name)}"><summary>{e(p.name)}: '
                       f'{e(p.detail.splitlines()[0])}</summary><pre>{e(p.explanation)}</pre></details>')
    out.append("</section>")
    return "\n".join(out)


def _contents(run: Run) -> str:
    """A table of contents: each spec (errors and unexpected verdicts first, as a reader
    looks for them), its verdict, and links to its violations."""
    items = [f'<li class="bad"><a href="#error-{k}">{e(err.path)}</a> <span class="badge bad">error</span></li>'
             for k, err in enumerate(run.errors)]
    order = sorted(range(len(run.results)), key=lambda i: {1: 0, 3: 1, 0: 2}.get(run.results[i].exit_code, 0))
    for i in order:
        r = run.results[i]
        badge = ('<span class="badge bad">unexpected</span>' if r.exit_code == 1 else
                 '<span class="badge unknown">unknown</span>' if r.exit_code == 3 else
                 '<span class="badge ok">as expected</span>')
        links = ", ".join(f'<a class="{"unexpected" if p.as_expected is False else "expected"}" '
                          f'href="#{anchor(i, p.name)}">{e(p.name)}</a>'
                          for p in r.properties if p.verdict == "violated" and p.trace)
        items.append(f'<li><a href="#{anchor(i)}">{e(r.spec)}</a> {badge}'
                     + (f' <span class="muted">violated: {links}</span>' if links else "") + "</li>")
    return f'<nav class="toc"><h2>Contents</h2><ol>{"".join(items)}</ol></nav>'


def render_html(run: Run, title: str = "") -> str:
    specs = len(run.results) + len(run.errors)
    bad = sum(1 for r in run.results for p in r.properties if p.as_expected is False)
    title = title or ("lockcheck: " + (run.results[0].spec if len(run.results) == 1 and not run.errors
                                       else f"{specs} specs"))
    verdict = ("every expectation met" if run.exit_code == 0 else
               f"{bad} unexpected verdict{'s' if bad != 1 else ''}" if run.exit_code == 1 else
               "spec errors" if run.exit_code == 2 else "stopped at a limit")
    body = [f'<header class="top"><h1>lockcheck</h1><span class="totals">{specs} spec{"s" if specs != 1 else ""} '
            f'&middot; <span data-exit="{run.exit_code}">{e(verdict)}</span> &middot; exit {run.exit_code}</span>'
            f'<span class="muted">lockcheck {e(tool_version())}</span></header>', "<main>"]
    if specs > 1:
        body.append(_contents(run))
    for k, err in enumerate(run.errors):
        body.append(f'<section class="spec error" id="error-{k}" data-spec="{e(err.path)}"><h2>{e(err.path)} '
                    f'<span class="badge bad">error</span></h2><pre>{e(err.message)}</pre></section>')
    for i, result in enumerate(run.results):
        body.append(_spec_section(result, i))
    body.append("</main>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{e(title)}</title><style>{_CSS}</style></head>\n<body>\n" + "\n".join(body)
            + f"\n<script>{_JS}</script>\n</body></html>\n")
