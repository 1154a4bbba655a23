"""Results as JUnit XML, for CI systems that show test reports: a testsuite per spec, a
testcase per property. A property not as expected is a <failure> whose text is the text
trace; an unknown verdict (a limit stopped the search) is <skipped>; a spec that cannot be
loaded is a testsuite with one <error>."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import PurePath

from ..result import PropertyResult, Result
from .json_report import Run
from .text import render_violation


def _classname(spec: str) -> str:
    path = PurePath(spec)
    parts = [p for p in path.with_suffix("").parts if p not in ("/", ".", "..")]
    return ".".join(parts) or spec


def _testcase(suite: ET.Element, result: Result, p: PropertyResult, seconds: float) -> str:
    case = ET.SubElement(suite, "testcase", name=p.name, classname=_classname(result.spec), time=f"{seconds:.6f}")
    if p.span is not None:
        case.set("file", p.span.path)
        case.set("line", str(p.span.line))
    ok = p.as_expected
    if ok is None:
        ET.SubElement(case, "skipped", message=p.detail or f"unknown: stopped at {result.stats.limit or 'a limit'}")
        return "skipped"
    if ok is False:
        if p.verdict == "violated":
            fail = ET.SubElement(case, "failure", type="unexpected-violation",
                                 message=f"{p.name} violated, expected to hold: {p.message}")
            fail.text = render_violation(p, verbose=False)
        else:
            fail = ET.SubElement(case, "failure", type="unexpected-hold",
                                 message=f"{p.name} holds, but the spec expects a violation")
            fail.text = f"expect violation {p.name}; but no interleaving breaks it ({result.stats.states} states)"
        return "failure"
    if p.verdict == "violated":   # an expected violation: the trace, for whoever reads the report
        out = ET.SubElement(case, "system-out")
        out.text = render_violation(p, verbose=False)
    return "passed"


def junit_tree(run: Run) -> ET.Element:
    root = ET.Element("testsuites", name="lockcheck")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    seconds = 0.0
    for result in run.results:
        s = result.stats
        suite = ET.SubElement(root, "testsuite", name=result.spec)
        props = ET.SubElement(suite, "properties")
        for name, value in (("engine", result.engine), ("states", s.states), ("transitions", s.transitions),
                            ("max_depth", s.max_depth), ("limit", s.limit)):
            ET.SubElement(props, "property", name=name, value=str(value))
        each = s.seconds / max(len(result.properties), 1)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for p in result.properties:
            outcome = _testcase(suite, result, p, each)
            counts["tests"] += 1
            if outcome == "failure":
                counts["failures"] += 1
            elif outcome == "skipped":
                counts["skipped"] += 1
        if result.warnings:
            err = ET.SubElement(suite, "system-err")
            err.text = "\n".join(f"warning: {w}" for w in result.warnings)
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{s.seconds:.6f}")
        seconds += s.seconds
    for e in run.errors:
        suite = ET.SubElement(root, "testsuite", name=e.path, tests="1", failures="0", errors="1", skipped="0",
                              time="0")
        case = ET.SubElement(suite, "testcase", name="load", classname=_classname(e.path), time="0")
        first = e.message.splitlines()[0] if e.message else "error"
        error = ET.SubElement(case, "error", type="spec-error", message=first)
        error.text = e.message
        totals["tests"] += 1
        totals["errors"] += 1
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{seconds:.6f}")
    return root


# XML 1.0 has no way to write these, not even as character references
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """Characters XML cannot hold (control characters, lone surrogates) as escapes (\\x1b)."""
    return _NOT_XML.sub(lambda m: repr(m.group())[1:-1], text)


def _sanitise(tree: ET.Element) -> None:
    for element in tree.iter():
        if element.text:
            element.text = _xml_text(element.text)
        for key, value in element.attrib.items():
            element.set(key, _xml_text(value))


def render_junit(run: Run) -> str:
    tree = junit_tree(run)
    _sanitise(tree)   # messages, statements and file names come from the spec and the command line
    ET.indent(tree)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(tree, encoding="unicode") + "\n"
