"""Text that must fit a size limit (a review comment holds at most 65,536 characters): the
report is a list of parts, some of them detail (a counterexample) that can be left out,
the least important and last first, each leaving a one-line note; the summary parts are always kept. Only if the
summary alone is too long are lines cut from its middle, the last part kept whole."""
from __future__ import annotations

from dataclasses import dataclass

REVIEW_COMMENT_LIMIT = 65_536


@dataclass(frozen=True)
class Part:
    text: str
    omitted: str = ""     # the line that replaces a detail part when it is left out ("" = always kept)
    keep: int = 0         # detail parts with a lower keep are left out first


def fit(parts: list[Part], max_chars: int | None, joiner: str = "\n") -> str:
    """The parts joined, at most max_chars characters long (None: no limit)."""
    shown = [p.text for p in parts]
    if max_chars is None or len(joiner.join(shown)) <= max_chars:
        return joiner.join(shown)
    droppable = sorted((i for i, p in enumerate(parts) if p.omitted), key=lambda i: (parts[i].keep, -i))
    for i in droppable:
        shown[i] = parts[i].omitted
        if len(joiner.join(shown)) <= max_chars:
            return joiner.join(shown)
    return _cut(shown, max_chars, joiner)


def _cut(shown: list[str], max_chars: int, joiner: str) -> str:
    """Keep the first lines and the last part whole; say how many lines were cut between."""
    last = shown[-1] if shown else ""
    head_lines = joiner.join(shown[:-1]).split("\n")
    budget = max_chars - len(last) - 2 * len(joiner) - 80
    kept: list[str] = []
    used = 0
    for line in head_lines:
        if used + len(line) + 1 > budget:
            break
        kept.append(line)
        used += len(line) + 1
    cut = len(head_lines) - len(kept)
    note = f"... ({cut} more lines cut to stay under {max_chars:,} characters)"
    text = "\n".join(kept) + joiner + note + joiner + last
    return text if len(text) <= max_chars else text[: max_chars - 1] + "\n"
