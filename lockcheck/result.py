"""What a check returns: a verdict per property, counterexample traces, statistics.
Plain data, shared by every engine and every reporter."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .source import Span

Verdict = Literal["holds", "violated", "unknown"]


Value = bool | int | str   # a variable's value as data: bool, int, or the name of an enum member / lock state


@dataclass(frozen=True)
class Change:
    name: str
    old: str
    new: str
    local: bool = False     # a thread's own variable, not shared state
    old_value: Value | None = None   # old and new as data (None: only the text is known)
    new_value: Value | None = None


@dataclass(frozen=True)
class TraceStep:
    number: int | None      # None: ran together with the numbered step before it
    thread: str
    text: str               # the statement as written (with the proc it is in)
    span: Span
    branch: str = ""
    changes: tuple[Change, ...] = ()
    failed: str = ""        # the check this step breaks, if any
    local: bool = False     # touches only its thread's own variables (detail, hidden by default)


@dataclass(frozen=True)
class ThreadState:
    thread: str
    status: Literal["finished", "blocked", "ready"]
    at: str = ""            # the statement it stands before
    span: Span | None = None
    holds: tuple[str, ...] = ()
    waits_for: str = ""     # blocked acquiring this lock ("" when blocked on something else, or not blocked)


@dataclass(frozen=True)
class Trace:
    steps: tuple[TraceStep, ...]
    final: tuple[ThreadState, ...]
    summary: str            # one line: what broke where
    values: tuple[tuple[str, str], ...] = ()  # the variables the broken property reads, at the end
    value_data: tuple[Value, ...] = ()        # the same values as data, in the same order (or empty)

    @property
    def length(self) -> int:
        return sum(1 for s in self.steps if s.number is not None)


@dataclass(frozen=True)
class InductionCounterexample:
    """Why k-induction did not prove a property: k steps from a state where every assumed
    property holds (it need not be reachable) to one where this property breaks."""

    k: int
    start: tuple[ThreadState, ...]           # where each thread stands in the first state
    values: tuple[tuple[str, str], ...]      # every global in the first state
    trace: Trace                             # the steps, and the state they end in


@dataclass(frozen=True)
class LockOrderEdge:
    held: str
    acquired: str
    thread: str
    span: Span


@dataclass
class PropertyResult:
    name: str
    kind: str
    verdict: Verdict
    expected: Literal["holds", "violation"] | None
    span: Span | None
    description: str = ""
    message: str = ""
    trace: Trace | None = None
    engine: str = "explicit"
    detail: str = ""         # e.g. "no violation up to depth 20", "proved (k=3)"
    cycle: tuple[LockOrderEdge, ...] = ()
    cti: InductionCounterexample | None = None   # induction's unknown: the same as the detail's text
    expect_span: Span | None = None   # the spec's `expect holds|violation NAME;` line, if it has one

    @property
    def summary(self) -> str:
        """The verdict with what it means when a symbolic engine gave it ("unknown (no
        violation up to depth 30)", "holds (proved (k=1))")."""
        if self.engine != "explicit" and self.detail and self.verdict != "violated":
            return f"{self.verdict} ({self.detail.splitlines()[0]})"
        return self.verdict

    @property
    def explanation(self) -> str:
        """A symbolic engine's longer account of its verdict (k-induction: the counterexample
        to induction; pdr: the inductive invariant), or ""."""
        if self.verdict == "violated" or "\n" not in self.detail:
            return ""
        return self.detail.split("\n", 1)[1]

    @property
    def as_expected(self) -> bool | None:
        """True/False when the verdict is definite; None when unknown."""
        if self.verdict == "unknown":
            return None
        wanted = self.expected or "holds"
        return (self.verdict == "violated") == (wanted == "violation")


@dataclass(frozen=True)
class ViolationFound:
    """A property's first violation, told while the search goes on (the explicit engine):
    its counterexample comes with the Result at the end."""

    spec: str
    prop: str
    depth: int              # steps from the start: the length of the shortest counterexample
    expected: bool          # the spec says `expect violation` for it


@dataclass
class Stats:
    states: int = 0
    transitions: int = 0
    max_depth: int = 0
    seconds: float = 0.0
    limit: str = ""          # which limit stopped the run, if any
    peak_memory_mb: float = 0.0
    bytes_per_state: float = 0.0   # what the explicit search keeps per state, all told (0: not measured)
    symmetry: tuple[str, ...] = ()  # the interchangeable thread instances it counted states up to


@dataclass(frozen=True)
class ThreadCoverage:
    """Statements of one thread that never ran in the whole exploration."""

    thread: str
    statements: int                          # statements the thread has (shown ones)
    unreached: tuple[tuple[str, Span], ...]  # (statement as written, where)
    unused: tuple[tuple[str, Span], ...] = ()  # never ran and cannot: the spec's constants rule them out
    accepted: tuple[tuple[str, Span, str], ...] = ()  # never ran, as the spec expects: (statement, where, reason)


@dataclass
class Result:
    spec: str
    engine: str
    properties: list[PropertyResult]
    stats: Stats
    warnings: list[str] = field(default_factory=list)
    coverage: list[ThreadCoverage] = field(default_factory=list)  # filled by the explicit engine

    @property
    def search_summary(self) -> str:
        """How far the search went: states for the explicit engine, the depth Z3 reached for
        bmc and induction (they enumerate no states)."""
        s = self.stats
        if self.engine == "pdr":
            return f"pdr: bmc depth {s.max_depth} for the traces, {s.seconds:.2f} s"
        if self.engine in ("bmc", "induction"):
            return f"{self.engine}: {'k up to' if self.engine == 'induction' else 'depth'} {s.max_depth}, {s.seconds:.2f} s"
        stored = f", {s.bytes_per_state:.0f} bytes/state" if s.bytes_per_state else ""
        up_to = f" (up to the symmetry of {'; '.join(s.symmetry)})" if s.symmetry else ""
        return (f"{s.states} states{up_to}, {s.transitions} transitions, max depth {s.max_depth}, "
                f"{s.seconds:.2f} s{stored}")

    @property
    def exit_code(self) -> int:
        """0 every property as expected, 1 one is not, 3 a limit left some unknown."""
        if any(p.as_expected is False for p in self.properties):
            return 1
        if any(p.as_expected is None for p in self.properties):
            return 3
        return 0
