"""Results as JSON: one versioned document for a whole run (every spec, every property),
described in docs/output.md and by SCHEMA below. Counterexample states follow Apalache's
Informal Trace Format (ITF)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..result import Change, InductionCounterexample, PropertyResult, Result, ThreadState, Trace
from ..source import Span, valid_unicode

FORMAT = "lockcheck-result"
VERSION = 1


@dataclass
class LoadError:
    """A spec that could not be checked (syntax, types, imports): exit code 2."""

    path: str
    message: str            # the diagnostic as printed: file:line:col: error: ... with the line and a caret
    span: Span | None = None


@dataclass
class Run:
    """Everything one `lockcheck verify` invocation produced, for the machine-readable formats."""

    results: list[Result] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    exit_code: int = 0


def tool_version() -> str:
    """The version of lockcheck running (the code's own, installed or not)."""
    from .. import __version__

    return __version__


def span_json(span: Span | None) -> dict[str, Any] | None:
    if span is None:
        return None
    return {"file": span.path, "line": span.line, "column": span.column,
            "end_line": span.end_line or span.line, "end_column": span.end_column or span.column}


_INT = re.compile(r"-?\d+")


def itf_value(text: str) -> Any:
    """A value as the trace prints it, as an ITF value: booleans and integers as JSON
    (integers beyond 2^53 as {"#bigint": ...}), anything else (enum members, lock states
    such as "held by flusher") as a string."""
    if text == "true":
        return True
    if text == "false":
        return False
    if _INT.fullmatch(text):
        value = int(text)
        return value if abs(value) < 2 ** 53 else {"#bigint": text}
    return text


def breaking_steps(trace: Trace) -> set[int]:
    """Indexes (into trace.steps) of the step that breaks the property: the step whose check
    fails, or, for a property of states (an invariant), the last numbered step with the steps
    that ran together with it."""
    failed = {i for i, s in enumerate(trace.steps) if s.failed}
    if failed:
        return failed
    last = max((i for i, s in enumerate(trace.steps) if s.number is not None), default=None)
    if last is None:
        return set()
    out = {last}
    for i in range(last + 1, len(trace.steps)):
        if trace.steps[i].number is not None:
            break
        out.add(i)
    return out


def itf_trace(trace: Trace, spec: str, prop: str) -> dict[str, Any]:
    """The counterexample as an ITF trace: state 0 before the first step, state i after
    numbered step i. The variables are those the trace changes and those the broken property
    reads (a trace names no others); each state gives every one of them. Values come from
    the data the engine recorded (Change.old_value/new_value, Trace.value_data); only a
    trace without them falls back to reading the printed text."""
    names: list[str] = []
    first: dict[str, Any] = {}
    for step in trace.steps:
        for c in step.changes:
            if c.name not in first:
                first[c.name] = _data(c.old_value, c.old)
                names.append(c.name)
    data = trace.value_data if len(trace.value_data) == len(trace.values) else (None,) * len(trace.values)
    end = {name: _data(value, text) for (name, text), value in zip(trace.values, data)}
    for name in end:
        if name not in first:
            names.append(name)
    current = {name: first.get(name, end.get(name, "")) for name in names}
    states = [_itf_state(0, current)]
    pending = False
    for step in trace.steps:
        if step.number is not None and pending:
            states.append(_itf_state(len(states), current))
        for c in step.changes:
            current[c.name] = _data(c.new_value, c.new)
        pending = True
    if pending:
        states.append(_itf_state(len(states), current))
    return {"#meta": {"format": "ITF", "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
                      "source": spec, "description": f"counterexample to {prop}"},
            "vars": names, "states": states}


def _data(value: Any, text: str) -> Any:
    """An ITF value: integers beyond 2^53 as {"#bigint": ...}."""
    if value is None:
        return itf_value(text)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2 ** 53:
        return {"#bigint": str(value)}
    return value


def _itf_state(index: int, values: dict[str, Any]) -> dict[str, Any]:
    return {"#meta": {"index": index}, **values}


def _change(c: Change) -> dict[str, Any]:
    return {"name": c.name, "old": c.old, "new": c.new, "local": c.local}


def _steps_json(trace: Trace) -> list[dict[str, Any]]:
    breaking = breaking_steps(trace)
    return [{"number": s.number, "thread": s.thread, "statement": s.text, "branch": s.branch,
             "location": span_json(s.span), "changes": [_change(c) for c in s.changes],
             "failed": s.failed, "local": s.local, "breaking": i in breaking}
            for i, s in enumerate(trace.steps)]


def _threads_json(threads: tuple[ThreadState, ...]) -> list[dict[str, Any]]:
    return [{"thread": t.thread, "status": t.status, "at": t.at, "location": span_json(t.span),
             "holds": list(t.holds), "waits_for": t.waits_for} for t in threads]


def _values_json(values: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in values]


def trace_json(trace: Trace, spec: str, prop: str) -> dict[str, Any]:
    return {
        "length": trace.length,
        "summary": trace.summary,
        "steps": _steps_json(trace),
        "final": _threads_json(trace.final),
        "values": _values_json(trace.values),
        "itf": itf_trace(trace, spec, prop),
    }


def cti_json(cti: InductionCounterexample) -> dict[str, Any]:
    return {"k": cti.k, "start": _threads_json(cti.start), "values": _values_json(cti.values),
            "steps": _steps_json(cti.trace), "final": _threads_json(cti.trace.final), "ending": cti.trace.summary}


def property_json(p: PropertyResult, spec: str) -> dict[str, Any]:
    return {
        "name": p.name, "kind": p.kind, "verdict": p.verdict, "expected": p.expected,
        "as_expected": p.as_expected, "location": span_json(p.span),
        "expect_location": span_json(p.expect_span), "description": p.description,
        "message": p.message, "engine": p.engine, "detail": p.detail,
        "cycle": [{"held": e.held, "acquired": e.acquired, "thread": e.thread, "location": span_json(e.span)}
                  for e in p.cycle],
        "trace": trace_json(p.trace, spec, p.name) if p.trace is not None else None,
        "counterexample_to_induction": cti_json(p.cti) if p.cti is not None else None,
    }


def result_json(result: Result) -> dict[str, Any]:
    s = result.stats
    return {
        "path": result.spec, "engine": result.engine, "exit_code": result.exit_code,
        "stats": {"states": s.states, "transitions": s.transitions, "max_depth": s.max_depth,
                  "seconds": round(s.seconds, 6), "limit": s.limit, "peak_memory_mb": s.peak_memory_mb,
                  "symmetry": list(s.symmetry)},
        "properties": [property_json(p, result.spec) for p in result.properties],
        "warnings": list(result.warnings),
        "coverage": [{"thread": c.thread, "statements": c.statements,
                      "unreached": [{"statement": text, "location": span_json(span)} for text, span in c.unreached],
                      "unused": [{"statement": text, "location": span_json(span)} for text, span in c.unused],
                      "accepted": [{"statement": text, "location": span_json(span), "reason": why}
                                   for text, span, why in c.accepted]}
                     for c in result.coverage],
    }


def run_json(run: Run) -> dict[str, Any]:
    return {
        "format": FORMAT, "version": VERSION,
        "tool": {"name": "lockcheck", "version": tool_version()},
        "exit_code": run.exit_code,
        "specs": [result_json(r) for r in run.results],
        "errors": [{"path": e.path, "message": e.message, "location": span_json(e.span)} for e in run.errors],
    }


def render_json(run: Run) -> str:
    return valid_unicode(json.dumps(run_json(run), indent=2, ensure_ascii=False)) + "\n"


# ---- the schema (JSON Schema 2020-12); docs/output.md explains each field ------------------

_LOCATION = {"type": ["object", "null"], "additionalProperties": False,
             "required": ["file", "line", "column", "end_line", "end_column"],
             "properties": {"file": {"type": "string"}, "line": {"type": "integer", "minimum": 1},
                            "column": {"type": "integer", "minimum": 1},
                            "end_line": {"type": "integer", "minimum": 1},
                            "end_column": {"type": "integer", "minimum": 1}}}

_STR = {"type": "string"}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required or list(props),
            "properties": props}


_ITF_VALUE = {"anyOf": [{"type": "boolean"}, {"type": "integer"}, {"type": "string"},
                        _obj({"#bigint": {"type": "string", "pattern": "^-?[0-9]+$"}})]}

_STEPS = {"type": "array", "items": _obj({
    "number": {"type": ["integer", "null"], "minimum": 1}, "thread": _STR, "statement": _STR, "branch": _STR,
    "location": _LOCATION,
    "changes": {"type": "array", "items": _obj({"name": _STR, "old": _STR, "new": _STR,
                                                "local": {"type": "boolean"}})},
    "failed": _STR, "local": {"type": "boolean"}, "breaking": {"type": "boolean"}})}
_THREADS = {"type": "array", "items": _obj({
    "thread": _STR, "status": {"enum": ["finished", "blocked", "ready"]}, "at": _STR, "location": _LOCATION,
    "holds": {"type": "array", "items": _STR}, "waits_for": _STR})}
_VALUES = {"type": "array", "items": _obj({"name": _STR, "value": _STR})}

_CTI = _obj({"k": {"type": "integer", "minimum": 1}, "start": _THREADS, "values": _VALUES, "steps": _STEPS,
             "final": _THREADS, "ending": _STR})

_TRACE = _obj({
    "length": {"type": "integer", "minimum": 0},
    "summary": _STR,
    "steps": _STEPS,
    "final": _THREADS,
    "values": _VALUES,
    "itf": {"type": "object", "required": ["#meta", "vars", "states"],
            "properties": {"#meta": {"type": "object"}, "vars": {"type": "array", "items": _STR},
                           "states": {"type": "array", "minItems": 1, "items": {
                               "type": "object", "required": ["#meta"],
                               "properties": {"#meta": _obj({"index": {"type": "integer", "minimum": 0}})},
                               "additionalProperties": _ITF_VALUE}}}},
})

_PROPERTY = _obj({
    "name": _STR,
    "kind": {"enum": ["invariant", "lemma", "assertion", "requires", "ensures", "builtin"]},
    "verdict": {"enum": ["holds", "violated", "unknown"]},
    "expected": {"enum": ["holds", "violation", None]},
    "as_expected": {"type": ["boolean", "null"]},
    "location": _LOCATION, "expect_location": _LOCATION, "description": _STR, "message": _STR, "engine": _STR,
    "detail": _STR, "cycle": {"type": "array", "items": _obj({"held": _STR, "acquired": _STR, "thread": _STR,
                                              "location": _LOCATION})},
    "trace": {"anyOf": [{"type": "null"}, _TRACE]},
    "counterexample_to_induction": {"anyOf": [{"type": "null"}, _CTI]},
})

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://lockcheck.invalid/schema/lockcheck-result-1.json",
    "title": "lockcheck verify --format json, version 1",
    **_obj({
        "format": {"const": FORMAT},
        "version": {"const": VERSION},
        "tool": _obj({"name": {"const": "lockcheck"}, "version": _STR}),
        "exit_code": {"enum": [0, 1, 2, 3]},
        "specs": {"type": "array", "items": _obj({
            "path": _STR, "engine": _STR, "exit_code": {"enum": [0, 1, 3]},
            "stats": _obj({"states": {"type": "integer", "minimum": 0},
                           "transitions": {"type": "integer", "minimum": 0},
                           "max_depth": {"type": "integer", "minimum": 0},
                           "seconds": {"type": "number", "minimum": 0}, "limit": _STR,
                           "peak_memory_mb": {"type": "number", "minimum": 0},
                           "symmetry": {"type": "array", "items": _STR}}),
            "properties": {"type": "array", "items": _PROPERTY},
            "warnings": {"type": "array", "items": _STR},
            "coverage": {"type": "array", "items": _obj({
                "thread": _STR, "statements": {"type": "integer", "minimum": 0},
                "unreached": {"type": "array", "items": _obj({"statement": _STR, "location": _LOCATION})},
                "unused": {"type": "array", "items": _obj({"statement": _STR, "location": _LOCATION})},
                "accepted": {"type": "array", "items": _obj({"statement": _STR, "location": _LOCATION,
                                                             "reason": _STR})}})},
        })},
        "errors": {"type": "array", "items": _obj({"path": _STR, "message": _STR, "location": _LOCATION})},
    }),
}
