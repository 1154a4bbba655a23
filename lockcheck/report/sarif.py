"""Results as SARIF 2.1.0, the format GitHub code scanning reads: one result per property
whose verdict is not the expected one, at the property's line (the invariant, the assert,
the requires/ensures), with the counterexample as a codeFlow that has one threadFlow per
thread. Steps keep their global order in `executionOrder`."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..result import PropertyResult, Result, Trace
from ..source import Span, valid_unicode
from .. import DISTRIBUTION
from ..resolve import models_dir
from .json_report import Run, breaking_steps, tool_version

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
MODELS = "LOCKCHECKMODELS"   # the models bundled with lockcheck, wherever the package is installed


class _Locator:
    """Paths as SARIF artifact locations: relative to the current directory (the repository
    root in CI) under %SRCROOT% when they are below it; the models bundled with lockcheck
    relative to their own base, LOCKCHECKMODELS (lockcheck's models/ at the release's tag);
    absolute file URIs otherwise."""

    def __init__(self, root: str | None = None):
        self.root = Path(root or os.getcwd()).resolve()
        self.models = models_dir().resolve()
        self.used_models = False

    def _place(self, path: str) -> tuple[str, str | None]:
        full = Path(path).resolve()   # spans are relative to the current directory, as given
        for base, base_id in ((self.root, SRCROOT), (self.models, MODELS)):
            if full.is_relative_to(base):
                return full.relative_to(base).as_posix(), base_id
        return full.as_uri(), None

    def uri(self, path: str) -> tuple[str, bool]:
        uri, base = self._place(path)
        return uri, base == SRCROOT

    def artifact(self, path: str) -> dict[str, Any]:
        uri, base = self._place(path)
        if base == MODELS:
            self.used_models = True
        return {"uri": uri, "uriBaseId": base} if base else {"uri": uri}

    def base_ids(self) -> dict[str, Any]:
        bases: dict[str, Any] = {SRCROOT: {"uri": self.root.as_uri() + "/",
                                           "description": {"text": "the current directory: the repository root"}}}
        if self.used_models and not self.models.is_relative_to(self.root):
            bases[MODELS] = {"uri": self.models.as_uri() + "/", "description": {
                "text": f"the models bundled with {DISTRIBUTION} {tool_version()}: the models/ folder of "
                        f"lockcheck's repository at tag v{tool_version()}"}}
        return bases

    def location(self, span: Span, message: str = "") -> dict[str, Any]:
        region: dict[str, Any] = {"startLine": max(span.line, 1), "startColumn": max(span.column, 1)}
        if span.end_line >= span.line and span.end_line:
            region["endLine"] = span.end_line
            if span.end_column and (span.end_line > span.line or span.end_column > span.column):
                region["endColumn"] = span.end_column
        loc: dict[str, Any] = {"physicalLocation": {"artifactLocation": self.artifact(span.path), "region": region}}
        if message:
            loc["message"] = {"text": message}
        return loc

    def inside(self, span: Span | None) -> bool:
        return span is not None and self.uri(span.path)[1]


def _rule_id(p: PropertyResult) -> str:
    return p.name


_BUILTIN_HELP = {
    "deadlock": "Some thread has not finished and no thread can move: each waits for a lock another holds, or "
                "awaits a condition nothing will make true. The code flow ends where each thread is stuck.",
    "lock_order": "Two locks are taken in both orders by different paths (A then B, and B then A): a potential "
                  "ABBA deadlock, as lockdep reports it, even when this exploration did not reach the deadlock. "
                  "Take the locks in one order everywhere, or drop the first before taking the second.",
    "double_acquire": "A thread acquires a lock it already holds: with a non-recursive kernel lock it deadlocks "
                      "against itself.",
    "release_unheld": "A thread releases a lock it does not hold.",
    "sleep_under_spinlock": "A thread sleeps (takes a sleeping lock, or waits) while holding a spinlock.",
    "exit_holding_lock": "A thread finishes its path still holding a lock: an unlock is missing on some path.",
    "bounds": "An int left its declared range, an index left its array, or a division by zero.",
    "assertion": "An assert without a label failed.",
}
_KIND_HELP = {
    "invariant": "The spec's invariant is false in a reachable state.",
    "lemma": "The spec's lemma is false in a reachable state.",
    "assertion": "The spec's assert fails on some interleaving.",
    "requires": "A proc is called where its requires condition is false.",
    "ensures": "A proc returns where its ensures condition is false.",
}


def _help(p: PropertyResult) -> dict[str, str]:
    what = _BUILTIN_HELP.get(p.name, "") if p.kind == "builtin" else _KIND_HELP.get(p.kind, "")
    if p.description:
        what += f" It says: {p.description}."
    how = ("The result's code flow is the shortest interleaving that breaks it, one thread flow per thread, "
           "steps numbered in the order they run. If the race is intended (the spec documents a bug), "
           f"say so in the spec: `expect violation {p.name};`. An alert for a property that holds but is "
           "expected to be violated means the race can no longer happen: update the `expect` line.")
    return {"text": f"{what} {how}".strip(),
            "markdown": f"**{p.kind} `{p.name}`**: {what}\n\n{how}"}


def _primary_span(result: Result, p: PropertyResult, loc: _Locator) -> Span:
    """The property's line when it is in the repository; else the step that broke it; else
    the spec's first line (a built-in check has no line of its own)."""
    candidates = [p.span]
    if p.trace is not None:
        candidates += [s.span for s in p.trace.steps if s.failed]
    candidates += [e.span for e in p.cycle]
    for span in candidates:
        if span is not None and loc.inside(span):
            return span
    expect = p.expect_span
    if expect is not None and loc.inside(expect):
        return expect   # a property of a bundled model: its expect line in the repository
    if p.trace is not None:   # else the step in the repository nearest the break
        breaking = min(breaking_steps(p.trace), default=len(p.trace.steps))
        inside = [i for i, s in enumerate(p.trace.steps) if loc.inside(s.span)]
        if inside:
            return p.trace.steps[max((i for i in inside if i <= breaking), default=inside[0])].span
    if loc.inside(Span(result.spec, 1, 1)):
        return Span(result.spec, 1, 1)
    return next((s for s in candidates if s is not None), None) or expect or Span(result.spec, 1, 1)


def _message(p: PropertyResult) -> str:
    if p.verdict == "violated":
        text = f"{p.name} is violated, but the spec expects it to hold. {p.message}".strip()
        if p.trace is not None:
            text += f" Shortest counterexample: {p.trace.length} steps (see the code flow, one thread flow per thread)."
        return text
    return (f"{p.name} holds, but the spec expects a violation (expect violation {p.name}): "
            f"the race it documents can no longer happen, or the spec stopped modelling it.")


def _code_flow(trace: Trace, loc: _Locator) -> dict[str, Any]:
    flows: dict[str, list[dict[str, Any]]] = {}
    for order, step in enumerate(trace.steps, start=1):
        text = step.text + (f" [{step.branch}]" if step.branch else "")
        if step.number is not None:
            text = f"{step.number}. {text}"
        changes = [f"{c.name}: {c.old} -> {c.new}" for c in step.changes]
        if changes:
            text += " (" + "; ".join(changes) + ")"
        if step.failed:
            text += f" FAILS {step.failed}"
        tfl: dict[str, Any] = {"location": loc.location(step.span, text), "executionOrder": order,
                               "importance": "essential" if (step.failed or not step.local) else "unimportant"}
        if step.changes:
            tfl["state"] = {c.name: {"text": c.new} for c in step.changes}
        if step.failed:
            tfl["kinds"] = ["exception"]
        flows.setdefault(step.thread, []).append(tfl)
    order = len(trace.steps)
    for ts in trace.final:   # where each unfinished thread stands at the end
        if ts.status == "finished" or ts.span is None:
            continue
        order += 1
        held = f", holding {', '.join(ts.holds)}" if ts.holds else ""
        waiting = f", waiting for {ts.waits_for}" if ts.waits_for else ""
        flows.setdefault(ts.thread, []).append({
            "location": loc.location(ts.span, f"at the end: {ts.status} at {ts.at}{waiting}{held}"),
            "executionOrder": order, "importance": "important", "kinds": ["exit"]})
    return {"message": {"text": trace.summary or "counterexample"},
            "threadFlows": [{"id": thread, "message": {"text": f"thread {thread}"}, "locations": locations}
                            for thread, locations in flows.items()]}


def _fingerprint(result: Result, p: PropertyResult) -> str:
    key = f"{result.spec}\0{p.name}\0{p.verdict}".encode("utf-8", "surrogateescape")
    return hashlib.sha256(key).hexdigest()[:32]


def sarif_log(run: Run, root: str | None = None) -> dict[str, Any]:
    loc = _Locator(root)
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    artifacts: dict[str, dict[str, Any]] = {}
    for result in run.results:
        artifacts.setdefault(result.spec, {"location": loc.artifact(result.spec), "roles": ["analysisTarget"]})
        for p in result.properties:
            if p.as_expected is not False:
                continue
            rid = _rule_id(p)
            if rid not in rules:
                rules[rid] = {"id": rid, "name": rid.replace(".", "_"),
                              "shortDescription": {"text": f"{p.kind} {p.name}"},
                              "fullDescription": {"text": p.description or p.message or f"{p.kind} {p.name}"},
                              "help": _help(p),
                              "defaultConfiguration": {"level": "error"},
                              "properties": {"kind": p.kind, "tags": ["lockcheck", "concurrency", p.kind]}}
            span = _primary_span(result, p, loc)
            entry: dict[str, Any] = {
                "ruleId": rid, "ruleIndex": list(rules).index(rid), "level": "error", "kind": "fail",
                "message": {"text": _message(p)},
                "locations": [loc.location(span)],
                "partialFingerprints": {"lockcheckProperty/v1": _fingerprint(result, p)},
                "properties": {"spec": loc.uri(result.spec)[0], "verdict": p.verdict,
                               "expected": p.expected or "holds", "engine": p.engine},
            }
            related = []
            if p.span is not None and p.span != span:
                related.append(loc.location(p.span, f"{p.kind} {p.name}"))
            for edge in p.cycle:
                related.append(loc.location(edge.span, f"{edge.thread} takes {edge.acquired} while holding {edge.held}"))
            if related:
                for i, r in enumerate(related):
                    r["id"] = i
                entry["relatedLocations"] = related
            if p.trace is not None:
                entry["codeFlows"] = [_code_flow(p.trace, loc)]
            results.append(entry)
    notifications = []
    for e in run.errors:
        note: dict[str, Any] = {"level": "error", "message": {"text": e.message}}
        if e.span is not None:
            note["locations"] = [loc.location(e.span)]
        notifications.append(note)
    for result in run.results:
        unknown = [p for p in result.properties if p.verdict == "unknown"]
        if result.stats.limit:
            notifications.append({"level": "warning", "message": {
                "text": f"{result.spec}: stopped at {result.stats.limit}; properties not violated so far are unknown"}})
        elif unknown:   # bmc and induction: no limit stopped them, their verdicts are open
            notifications.append({"level": "warning", "message": {
                "text": f"{result.spec}: {result.engine} left {len(unknown)} "
                        f"propert{'y' if len(unknown) == 1 else 'ies'} unknown: "
                        + "; ".join(f"{p.name} {p.summary}" for p in unknown)}})
    invocation: dict[str, Any] = {"executionSuccessful": run.exit_code in (0, 1),
                                  "exitCode": run.exit_code}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "lockcheck", "version": tool_version(), "semanticVersion": tool_version(),
                                "rules": list(rules.values())}},
            "originalUriBaseIds": loc.base_ids(),
            "artifacts": list(artifacts.values()),
            "invocations": [invocation],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def render_sarif(run: Run, root: str | None = None) -> str:
    # a file name that is not UTF-8: its URI is percent-encoded, its lone surrogates in messages are U+FFFD
    return valid_unicode(json.dumps(sarif_log(run, root), indent=2, ensure_ascii=False)) + "\n"
