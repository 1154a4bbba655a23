"""Source files and spans: where a piece of a spec came from, and how to show it."""
from __future__ import annotations

from dataclasses import dataclass, field

_SNIPPET_WIDTH = 100


@dataclass(frozen=True)
class SourceFile:
    path: str
    text: str
    _line_starts: tuple[int, ...] = field(default=(), compare=False, repr=False)

    @staticmethod
    def of(path: str, text: str) -> "SourceFile":
        starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                starts.append(i + 1)
        return SourceFile(path, text, tuple(starts))

    def line_text(self, line: int) -> str:
        if not 1 <= line <= len(self._line_starts):
            return ""
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        import bisect

        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1


@dataclass(frozen=True)
class Span:
    path: str
    line: int
    column: int
    end_line: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    @property
    def short(self) -> str:
        """file:line with the file's base name, for trace tables."""
        return f"{self.path.rsplit('/', 1)[-1]}:{self.line}"


def printable(text: str) -> str:
    """Text safe for a terminal and for every report: control characters (an ANSI escape's
    ESC among them), lone surrogates (a file name that is not UTF-8) and other unprintable
    characters as escapes (\\x1b, \\udcff); everything else as it is."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def valid_unicode(text: str) -> str:
    """Lone surrogates (from a file name that is not UTF-8) as U+FFFD, so the text can be
    written as UTF-8: for documents (JSON, SARIF) whose readers want the characters as they
    are, escapes aside."""
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)


def string_literal(literal: str) -> str:
    """The text of a string literal as written ("..."): C escapes decoded, other characters
    kept; a lone surrogate (\\udc80) becomes U+FFFD, so every report can encode the text."""
    import codecs

    decoded = codecs.decode(literal[1:-1].encode("latin-1", "backslashreplace"), "unicode_escape", errors="replace")
    return valid_unicode(decoded)


def printable_lines(text: str) -> str:
    """printable() for each line of a multi-line text, keeping the line breaks."""
    if text.isprintable():
        return text
    return "\n".join(printable(line) for line in text.split("\n"))


def snippet(source: SourceFile, span: Span) -> list[str]:
    """The source line of a span and a caret under its column, cut to a readable width."""
    text = source.line_text(span.line).expandtabs(1)
    column = max(span.column, 1)
    start = 0
    if len(text) > _SNIPPET_WIDTH:
        start = max(0, min(column - 1 - _SNIPPET_WIDTH // 2, len(text) - _SNIPPET_WIDTH))
        text = text[start : start + _SNIPPET_WIDTH]
    printable = "".join(ch if ch.isprintable() else "?" for ch in text)
    width = 1
    if span.end_line == span.line and span.end_column > span.column:
        width = min(span.end_column - span.column, _SNIPPET_WIDTH - (column - 1 - start))
    return ["  " + printable, "  " + " " * (column - 1 - start) + "^" * max(width, 1)]
