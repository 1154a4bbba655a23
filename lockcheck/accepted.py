"""Statements a spec knowingly leaves unreached: `expect unreached TARGET, ... [in THREAD]
because "REASON";`. A target is a proc (the statements written in it) or "file.lk:LINE".
The explicit search's coverage moves the statements they name from `unreached` (what the
coverage warnings api.py writes afterwards name) to `accepted` (listed with the reason by
--coverage), so a spec whose every unreached statement is explained runs without a
warning, and a new warning means something. A line that names nothing left unreached is
itself a warning: the code changed under it."""
from __future__ import annotations

import re
from dataclasses import replace

from . import syntax as s
from .errors import SpecError, did_you_mean
from .result import Result, ThreadCoverage
from .source import Span

_LINE = re.compile(r"(?P<file>[^:]+\.lk):(?P<line>[1-9][0-9]*)")


def declarations(modules: list[s.Module]) -> list[s.UnreachedDecl]:
    """Every `expect unreached` line of the spec and its imports, checked against the names
    they use (raises SpecError)."""
    decls = [d for m in modules for d in m.decls if isinstance(d, s.UnreachedDecl)]
    if not decls:
        return []
    procs = {d.name for m in modules for d in m.decls if isinstance(d, s.ProcDecl)}
    threads = {d.name for m in modules for d in m.decls if isinstance(d, s.ThreadDecl)}
    for decl in decls:
        if not decl.reason.strip():
            raise SpecError("expect unreached needs a reason: because \"why this cannot run here\"", decl.span)
        if decl.thread is not None and decl.thread not in threads:
            raise SpecError(f"expect unreached ... in {decl.thread}: there is no thread '{decl.thread}'"
                            f"{did_you_mean(decl.thread, threads)}", decl.span)
        for target in decl.targets:
            if target.is_line and not _LINE.fullmatch(target.text):
                raise SpecError(f"expect unreached \"{target.text}\": give a proc's name or \"file.lk:LINE\"",
                                target.span)
            if not target.is_line and target.text not in procs:
                raise SpecError(f"expect unreached {target.text}: there is no proc '{target.text}'"
                                f"{did_you_mean(target.text, procs)}", target.span)
    return decls


def _matches(target: s.UnreachedTarget, text: str, span: Span) -> bool:
    if target.is_line:
        m = _LINE.fullmatch(target.text)
        assert m is not None
        file = m.group("file")
        return span.line == int(m.group("line")) and (span.path == file or span.path.endswith("/" + file))
    return text.startswith(target.text + ": ")


def apply(result: Result, decls: list[s.UnreachedDecl]) -> tuple[Result, list[str]]:
    """The result with the statements the spec accepts as unreached moved out of its
    coverage's `unreached`, and a warning for each target that named nothing. Left as it is
    when the search stopped at a limit (its coverage is partial) or kept no coverage."""
    if not decls or not result.coverage or result.stats.limit:
        return result, []
    used: set[tuple[int, int]] = set()    # (decl, target) pairs that named something
    coverage = []
    for cov in result.coverage:
        kept, accepted = [], list(cov.accepted)
        for text, span in cov.unreached:
            reason = _reason(decls, cov.thread, text, span, used)
            if reason is None:
                kept.append((text, span))
            else:
                accepted.append((text, span, reason))
        for text, span in cov.unused:
            _reason(decls, cov.thread, text, span, used)
        coverage.append(replace(cov, unreached=tuple(kept), accepted=tuple(accepted)))
    warnings = []
    for i, decl in enumerate(decls):
        for j, target in enumerate(decl.targets):
            if (i, j) not in used:
                shown = f'"{target.text}"' if target.is_line else target.text
                warnings.append(f"{target.span.short}: expect unreached {shown}"
                                + (f" in {decl.thread}" if decl.thread else "")
                                + ": every statement it names ran (or there is none): drop it from the line")
    return replace(result, coverage=coverage), warnings


def _reason(decls: list[s.UnreachedDecl], thread: str, text: str, span: Span,
            used: set[tuple[int, int]]) -> str | None:
    found = None
    for i, decl in enumerate(decls):
        if decl.thread is not None and decl.thread != thread:
            continue
        for j, target in enumerate(decl.targets):
            if _matches(target, text, span):
                used.add((i, j))
                found = found or decl.reason
    return found
