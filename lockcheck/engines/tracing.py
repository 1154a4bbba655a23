"""Counterexamples: replays a path of steps (record.Path) one edge at a time and describes
each step (thread, statement, location, what changed) and the state it ends in."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from typing import Callable

from .. import ir
from ..ir import Edge, Model
from ..result import Change, LockOrderEdge, PropertyResult, ThreadState, Trace, TraceStep
from .record import CheckKey, Path, Paths, Verdicts, Violation
from .system import TransitionSystem

__all__ = ["CheckKey", "Path", "Violation", "TraceBuilder", "format_value", "bind_names", "position_texts"]


def format_value(model: Model, slot: int, value: int) -> str:
    info = model.slots[slot]
    if info.kind in ("bool", "rw_reader"):
        return "true" if value else "false"
    if info.kind == "enum":
        return info.enum_names[value] if 0 <= value < len(info.enum_names) else str(value)
    if info.kind in ("lock", "rw_writer"):
        return "free" if value == 0 else f"held by {model.threads[value - 1].name}"
    if info.kind == "ref" and value in info.values:
        return info.value_names[info.values.index(value)]
    return str(value)


def position_texts(model: Model, thread: ir.Thread) -> dict[int, str]:
    """What `thread` is about to do at each pc where it rests, for proofs and lemmas: the
    statement; where the same text stands at another of its pcs too, its file:line, and
    where that is not enough either (unlock_page's release, inlined at several call sites)
    the procs it was inlined from, then a number; `the end` for a finished thread."""
    context = {e.src: e.context for e in reversed(model.edges) if e.thread == thread.index}
    pcs = [pc for pc in ir.resting_pcs(model, thread) if pc != thread.end]
    texts = {pc: thread.node_text.get(pc, ("?", None)) for pc in pcs}
    same_text = Counter(text for text, _ in texts.values())
    same_place = Counter(texts.values())
    out: dict[int, str] = {}
    for pc, (text, span) in texts.items():
        shown = text
        if same_text[text] > 1 and span is not None:
            callers = context.get(pc, ())[:-1]
            inlined = f", in {' > '.join(callers)}" if same_place[(text, span)] > 1 and callers else ""
            shown = f"{text} ({span.short}{inlined})"
        out[pc] = shown
    # still alike (one proc inlined twice into the same caller): numbered in pc order
    alike = Counter(out.values())
    seen: Counter[str] = Counter()
    for pc in sorted(out):
        if alike[out[pc]] > 1:
            seen[out[pc]] += 1
            out[pc] = f"{out[pc]} #{seen[out[pc]]}"
    out[thread.end] = "the end"
    return out


def data_value(model: Model, slot: int, value: int) -> bool | int | str:
    """A value as data for machine-readable reports: bools and ints as themselves, enum
    members, lock states and references by the name format_value prints."""
    kind = model.slots[slot].kind
    if kind in ("bool", "rw_reader"):
        return bool(value)
    if kind in ("enum", "lock", "rw_writer", "ref"):
        return format_value(model, slot, value)
    return int(value)


def bind_names(model: Model, edge: Edge, state: tuple) -> str:
    """The statement with each name bound to an object replaced by that object: a reader of
    `acquire p.locked` wants to know which page."""
    text = name_objects(model, edge, state, edge.shown_text)
    return f"{edge.context[-1]}: {text}" if edge.context else text


def name_objects(model: Model, edge: Edge, state: tuple, text: str, indices: bool = True) -> str:
    """`text` with each name the edge binds to an object (a ref parameter p) replaced by the
    object it points to in `state` (pages[0]), likewise a hidden parameter or loop counter
    by its value, and a local the state tables show by its value where it is an index
    (swp_vector[k] -> swp_vector[0]; `k = index_of(p)` keeps its k), unless not `indices`
    (a bounds message says which index went out of bounds: `i in a[i]`)."""
    for name, slot in edge.refs:
        shown = format_value(model, slot, state[slot])
        word = re.compile(rf"(?<![\w.]){re.escape(name)}\b")
        if model.slots[slot].visible and not model.slots[slot].value_names:
            if indices:   # inside an index: a[k] -> a[1], a[k + 1] -> a[2]
                text = _INDEX.sub(lambda m: f"[{_folded(word.sub(lambda _: shown, m.group(1)))}]", text)
        else:
            text = word.sub(lambda _: shown, text)
    return text


_INDEX = re.compile(r"\[([^\[\]]*)\]")
_SUM = re.compile(r"\s*-?\d+(\s*[-+]\s*\d+)*\s*")


def _folded(index: str) -> str:
    """An index of integers added and subtracted, as its value; any other text as it is."""
    if not _SUM.fullmatch(index):
        return index
    terms = re.findall(r"([-+]?)\s*(\d+)", index.replace(" ", ""))
    return str(sum(-int(n) if sign == "-" else int(n) for sign, n in terms))


class TraceBuilder:
    """Replays paths one edge at a time (TransitionSystem.outcomes), so every statement
    that ran shows as a row."""

    def __init__(self, model: Model, explorer: Paths, state_hash: Callable[[tuple], int] | None = None,
                 system: TransitionSystem | None = None):
        """`state_hash`: how the search fingerprinted the states of a Path's `hashes` (the
        system's fingerprints when not given); `system`: the model's transition system, built
        when not given."""
        self.model = model
        self.explorer = explorer
        self._system = system
        self._state_hash = state_hash

    @property
    def system(self) -> TransitionSystem:
        if self._system is None:
            self._system = TransitionSystem(self.model)
        return self._system

    def state_hash(self, state: tuple) -> int:
        return self._state_hash(state) if self._state_hash is not None else self.system.state_hash(state)

    def _outcomes(self, t: int, state: tuple) -> list[tuple[int, tuple | None, int | None]]:
        return self.system.outcomes(t, state[self.system.thread(t).pc_slot], state)

    # ---- replay ----
    def _chain_to(self, t: int, state: tuple, target: tuple | int | None
                  ) -> tuple[list[tuple[Edge, tuple, tuple]], tuple]:
        """The chained edges that take `state` to `target` (any resting state if None)."""
        chained = self.system.chained[t]
        pc_slot = self.explorer.thread(t).pc_slot
        stack: list[tuple[tuple, list[tuple[Edge, tuple, tuple]]]] = [(state, [])]
        while stack:
            st, done = stack.pop()
            if st[pc_slot] not in chained:
                if target is None or st == target or self.state_hash(st) == target:
                    return done, st
                continue
            for eid, ns, chk in self._outcomes(t, st):
                if ns is not None and len(done) < 100_000:
                    stack.append((ns, done + [(self.model.edges[eid], st, ns)]))
        raise AssertionError("replay lost its way")

    def _chain_fail(self, t: int, state: tuple, key: CheckKey) -> list[tuple[Edge, tuple, tuple]]:
        fail = (key[0], self.system.check_id(key))
        chained = self.system.chained[t]
        pc_slot = self.explorer.thread(t).pc_slot
        stack: list[tuple[tuple, list[tuple[Edge, tuple, tuple]]]] = [(state, [])]
        while stack:
            st, done = stack.pop()
            if st[pc_slot] not in chained:
                continue
            for eid, ns, chk in self._outcomes(t, st):
                if (eid, chk) == fail:
                    return done + [(self.model.edges[eid], st, st)]
                if ns is not None:
                    stack.append((ns, done + [(self.model.edges[eid], st, ns)]))
        raise AssertionError("replay could not find the failing check")

    def replay(self, path: Path) -> tuple[list[TraceStep], tuple, str]:
        steps: list[TraceStep] = []
        failed_message = ""
        state = path.start
        if path.chain_fail is not None and not path.edges and path.last is None:
            t = self.model.edges[path.chain_fail[0]].thread
            done = self._chain_fail(t, state, path.chain_fail)
            self._rows(steps, done, number=None)
            steps = self._fail_last(steps, path.chain_fail, done[-1][1])
            return steps, done[-1][1], self._message(path.chain_fail, done[-1][1])
        number = 0
        plan = list(path.edges)
        targets: list[tuple | int | None] = list(path.states[1:]) or list(path.hashes[1:]) or [None] * len(plan)
        for k, eid in enumerate(plan):
            edge = self.model.edges[eid]
            number += 1
            ns = self._apply(edge, state)
            done, rest = self._chain_to(edge.thread, ns, targets[k] if k < len(targets) else None)
            self._rows(steps, [(edge, state, ns)] + done, number)
            state = rest
        if path.last is not None:
            eid, key = path.last
            edge = self.model.edges[eid]
            number += 1
            if key is not None:
                self._rows(steps, [(edge, state, state)], number)
                steps = self._fail_last(steps, key, state)
                failed_message = self._message(key, state)
            else:
                ns = self._apply(edge, state)
                if path.chain_fail is not None:
                    done = self._chain_fail(edge.thread, ns, path.chain_fail)
                    self._rows(steps, [(edge, state, ns)] + done, number)
                    steps = self._fail_last(steps, path.chain_fail, done[-1][1])
                    failed_message = self._message(path.chain_fail, done[-1][1])
                    state = done[-1][1]  # where the failing statement stands
                else:
                    done, rest = self._chain_to(edge.thread, ns, None)
                    self._rows(steps, [(edge, state, ns)] + done, number)
                    state = rest
        return steps, state, failed_message

    def _apply(self, edge: Edge, state: tuple) -> tuple:
        for eid, ns, chk in self.system.outcomes(edge.thread, edge.src, state):
            if eid == edge.id and ns is not None:
                return ns
        raise AssertionError(f"edge {edge.id} is not enabled in replay")

    def _rows(self, steps: list[TraceStep], executed: list[tuple[Edge, tuple, tuple]], number: int | None) -> None:
        first = True
        for edge, before, after in executed:
            changes = self._changes(before, after)
            if not edge.shown:
                if changes and steps:
                    last = steps[-1]
                    steps[-1] = TraceStep(last.number, last.thread, last.text, last.span, last.branch,
                                          last.changes + changes, last.failed, last.local)
                continue
            steps.append(TraceStep(number if first else None, self.explorer.thread(edge.thread).name,
                                   bind_names(self.model, edge, before), edge.span, edge.branch, changes,
                                   local=edge.local and not first))
            first = False

    def _changes(self, before: tuple, after: tuple) -> tuple[Change, ...]:
        out = []
        for i, (a, b) in enumerate(zip(before, after)):
            if a != b and self.model.slots[i].visible:
                out.append(Change(self.model.slots[i].name, format_value(self.model, i, a),
                                  format_value(self.model, i, b), self.model.slots[i].thread >= 0,
                                  data_value(self.model, i, a), data_value(self.model, i, b)))
        return tuple(out)

    def _fail_last(self, steps: list[TraceStep], key: CheckKey, before: tuple) -> list[TraceStep]:
        """Mark the step that fails the check; a hidden one (a call whose requires fails, a
        return whose ensures fails) gets a row of its own, as written at the call."""
        edge = self.model.edges[key[0]]
        check = edge.checks[key[1]]
        failed = f"{check.prop}: {self._message(key, before, where=False)}"
        if edge.shown and steps:
            last = steps[-1]
            steps[-1] = TraceStep(last.number, last.thread, last.text, last.span, last.branch, (), failed,
                                  last.local)
        else:
            call_site = replace(edge, context=edge.context[:-1]) if check.prop.endswith(".requires") else edge
            steps.append(TraceStep(None, self.explorer.thread(edge.thread).name,
                                   bind_names(self.model, call_site, before), edge.span, edge.branch, (), failed))
        return steps

    def _message(self, key: CheckKey, state: tuple, where: bool = True) -> str:
        """A failed check's message, with the objects its names stood for in `state` (the
        state the check failed in): 'use after free: pages[0].wb_wait of a page ...'."""
        edge = self.model.edges[key[0]]
        check = edge.checks[key[1]]
        text = name_objects(self.model, edge, state, check.message, indices=False)
        return f"{text} ({check.span.short})" if where else text

    # ---- the state a trace ends in ----
    def final_state(self, state: tuple) -> tuple[ThreadState, ...]:
        """Where each thread stands, what it holds, and whether it can move: `ready` if it
        has a step that runs to its end (through its local steps and atomic body) or fails a
        fatal check, else `blocked`."""
        moving = self.system.step_from(state).moved_threads(self.model)
        out = []
        for t, thread in enumerate(self.model.threads):
            holds = tuple(lk.name for lk in self.model.locks
                          if state[lk.slot] == t + 1 or (lk.reader_slots and state[lk.reader_slots[t]]))
            pc = state[thread.pc_slot]
            if pc == thread.end:
                out.append(ThreadState(thread.name, "finished", holds=holds))
                continue
            text, span = thread.node_text.get(pc, ("?", None))
            leaving = self.model.edges_from(t, pc)
            if leaving:
                text = bind_names(self.model, leaving[0], state)
            status = "ready" if t in moving else "blocked"
            waits = self._lock_wanted(leaving, state) if status == "blocked" else ""
            out.append(ThreadState(thread.name, status, text, span, holds, waits))  # type: ignore[arg-type]
        return tuple(out)

    def _lock_wanted(self, leaving: list[ir.Edge], state: tuple) -> str:
        """The lock a blocked thread's next step acquires, or "" (it awaits something else)."""
        from .explicit.evaluate import ArrayExpr  # here: frontier imports this module

        names = {lk.slot: lk.name for lk in self.model.locks}
        return next((names.get(ArrayExpr(e.acquires).scalar(state), "") for e in leaving if e.acquires is not None), "")

    # ---- results ----
    def trace_for(self, path: Path, summary: str, reads: ir.Expr | None = None) -> tuple[Trace, str]:
        steps, end, failed = self.replay(path)
        values: tuple[tuple[str, str], ...] = ()
        data: tuple[bool | int | str, ...] = ()
        if reads is not None:
            read = [i for i in sorted(ir.slots_read(reads)) if self.model.slots[i].visible]
            values = tuple((self.model.slots[i].name, format_value(self.model, i, end[i])) for i in read)
            data = tuple(data_value(self.model, i, end[i]) for i in read)
        return Trace(tuple(steps), self.final_state(end), summary or failed, values, data), failed

    def property_results(self, ex: Verdicts) -> list[PropertyResult]:
        """Verdicts and traces from a search's record (the scalar engine's Exploration has
        the same fields)."""
        model = self.model
        results: list[PropertyResult] = []
        cycle = self._lock_cycle(ex)
        for name, prop in model.properties.items():
            exp = model.expectations.get(name)
            expected = exp.verdict if exp else None
            r = PropertyResult(name, prop.kind, "holds", expected, prop.span, prop.description)
            violation = ex.violations.get(name)
            if violation is not None:
                r.verdict = "violated"
                summary = ""
                if prop.kind in ("invariant", "lemma"):
                    summary = f"invariant {name} is false: {prop.description}"
                elif name == "deadlock":
                    summary = "deadlock: no thread can move and not all have finished"
                r.trace, failed = self.trace_for(violation.path, summary, prop.cond)
                r.message = summary or failed
            elif name == "lock_order" and cycle:
                r.verdict = "violated"
                edges, path = cycle
                r.cycle = edges
                r.message = "lock order cycle: " + "; ".join(
                    f"{e.thread} takes {e.acquired} while holding {e.held} ({e.span.short})" for e in edges)
                r.trace, _ = self.trace_for(path, r.message)
            elif ex.limit:
                r.verdict = "unknown"
                r.detail = f"no violation in the states explored before {ex.limit} stopped the search"
            results.append(r)
        return results

    def _lock_cycle(self, ex: Verdicts) -> tuple[tuple[LockOrderEdge, ...], Path] | None:
        if not ex.lock_edges:
            return None
        import networkx as nx  # imported here: it takes a tenth of a second to load

        graph = nx.DiGraph()
        graph.add_edges_from(ex.lock_edges)
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            return None
        names = {lk.slot: lk.name for lk in self.model.locks}
        edges = []
        latest = max(cycle, key=lambda e: ex.lock_edges[(e[0], e[1])][0])
        for a, b in cycle:
            sid, eid, t = ex.lock_edges[(a, b)]
            edges.append(LockOrderEdge(names[a], names[b], self.model.threads[t].name, self.model.edges[eid].span))
        sid, eid, _ = ex.lock_edges[(latest[0], latest[1])]
        path = self.explorer.path_to(ex, sid, (eid, None))
        return tuple(edges), path
