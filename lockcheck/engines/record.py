"""What a search found, whichever engine searched: paths to violations and the record the
reporter turns into verdicts and traces. Engines fill it; tracing.py reads it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..ir import Thread

CheckKey = tuple[int, int]  # (edge id, index of the check in that edge)


@dataclass(frozen=True)
class Path:
    """How to reach a violation: from `start`, the visible edges in order; then optionally
    `last` = (edge, failing check or None when the step completes), and `chain_fail`, a
    check failing among the local steps after it (or, with no edges, in the initial ones)."""

    start: tuple
    edges: tuple[int, ...]
    last: tuple[int, CheckKey | None] | None = None
    chain_fail: CheckKey | None = None
    states: tuple[tuple, ...] = ()  # the resting states along the way, start first
    hashes: tuple[int, ...] = ()    # or only their fingerprints


@dataclass
class Violation:
    prop: str
    path: Path


@dataclass
class Found:
    """The neutral record of a search: violations with paths, lock-order edges (held slot,
    taken slot) -> (state, edge, thread) of the first step seen taking them in that order,
    which statements ran, the counts, and the limit that stopped it ("" if none)."""

    violations: dict[str, Violation] = field(default_factory=dict)
    lock_edges: dict[tuple[int, int], tuple[int, int, int]] = field(default_factory=dict)
    coverage: bytearray = field(default_factory=bytearray)
    count: int = 0
    transitions: int = 0
    max_depth: int = 0
    limit: str = ""
    stored_bytes: int = 0     # what the search keeps for its states, all told


class Paths(Protocol):
    """What the trace builder asks of the search that produced a record."""

    def thread(self, t: int) -> Thread: ...

    def path_to(self, found, sid: int, last: tuple[int, CheckKey | None] | None = None) -> Path: ...
