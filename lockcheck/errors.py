"""Diagnostics: every user error is one of these, raised as SpecError."""
from __future__ import annotations

from dataclasses import dataclass, field

from .source import SourceFile, Span, printable, snippet


@dataclass(frozen=True)
class Note:
    span: Span
    message: str


@dataclass(frozen=True)
class Diagnostic:
    message: str
    span: Span | None = None
    notes: tuple[Note, ...] = ()


class SpecError(Exception):
    """The spec or the command is wrong (exit code 2)."""

    def __init__(self, message: str, span: Span | None = None, notes: tuple[Note, ...] = ()):
        super().__init__(message)
        self.diagnostic = Diagnostic(message, span, notes)


@dataclass
class Sources:
    """Every file read for a run, by path, so diagnostics can show source lines."""

    files: dict[str, SourceFile] = field(default_factory=dict)

    def add(self, source: SourceFile) -> None:
        self.files[source.path] = source


def format_diagnostic(diag: Diagnostic, sources: Sources, severity: str = "error") -> str:
    lines: list[str] = []
    where = f"{diag.span}: " if diag.span else "lockcheck: "
    lines.append(printable(f"{where}{severity}: {diag.message}"))
    if diag.span and _shows(diag.span.path, sources):
        lines.extend(snippet(sources.files[diag.span.path], diag.span))
    for note in diag.notes:
        lines.append(printable(f"{note.span}: note: {note.message}"))
        if _shows(note.span.path, sources):
            lines.extend(snippet(sources.files[note.span.path], note.span))
    return "\n".join(lines)


def _shows(path: str, sources: Sources) -> bool:
    """Source lines are shown from .lk files only: `lockcheck check /etc/passwd` says where
    the syntax error is without printing the file's first line."""
    return path in sources.files and path.endswith(".lk")


def did_you_mean(name: str, candidates: list[str] | set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
